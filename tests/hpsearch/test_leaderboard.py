"""One order of the top trials for hpsearch show, report.html and the plots."""

import math

import pandas as pd

from hpsearch.formatting import fmt, format_cell
from hpsearch.leaderboard import top_trials

TRIALS = pd.DataFrame({
    "trial_id": [0, 1, 2, 3, 4, 5, 6, 7],
    "status": ["ok", "ok", "pruned", "failed", "ok", "promoted", "ok", "ok"],
    "cached": [False, False, False, False, True, False, False, False],
    "fitness": [0.5, 0.9, 0.95, math.nan, 0.9, 0.7, 0.9, 0.6],
    "lr": [0.1, 0.2, 0.3, 0.4, 0.2, 0.5, 0.6, 0.2],
})


def ids(frame):
    return list(frame["trial_id"])


def test_full_trainings_first_then_stopped_early_then_unscored():
    # 0.9 three times: by trial_id; the pruned 0.95 after every full training
    assert ids(top_trials(TRIALS)) == [1, 4, 6, 7, 0, 2, 5, 3]
    assert ids(top_trials(TRIALS, 3)) == [1, 4, 6]


def test_the_best_trial_goes_first_whatever_its_fitness():
    assert ids(top_trials(TRIALS, 3, best_id=7)) == [7, 1, 4]


def test_show_keeps_full_trainings_once_per_genome():
    shown = top_trials(TRIALS, None, best_id=4, full_only=True, skip_cached=True, distinct=["lr"])
    # 4 is cached but the best: kept; 1 and 7 have its lr: dropped; the pruned and failed left out
    assert ids(shown) == [4, 6, 0]


def test_an_empty_or_bare_table():
    assert top_trials(TRIALS.iloc[:0], 5).empty
    bare = pd.DataFrame({"trial_id": [0, 1], "fitness": [0.1, 0.2]})
    assert ids(top_trials(bare, 5, skip_cached=True, distinct=["absent"])) == [1, 0]


def test_values_as_text():
    assert [fmt(v) for v in (None, math.nan, True, 3, 2.0, 0.000123456, [256, 128], (0.5, "a"), {"a": 1.5})] == \
        ["", "", "True", "3", "2", "0.0001235", "256-128", "0.5, a", "a=1.5"]
    assert [format_cell(v) for v in (None, math.nan, 0.1, 2.0)] == ["", "", "0.1", "2.0"]
