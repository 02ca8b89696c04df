"""AskTellSearch: the genetic search driven by the caller's own training loop; the same
trials as GeneticSearch, in any telling order, with checkpoint and resume."""

import math
import time

import pandas as pd
import pytest

import hpsearch
from hpsearch import GeneticSearch
from hpsearch.ask_tell import AskTellSearch, Trial
from hpsearch.callbacks import Callback

from .objectives import bowl, toy_space

SAME = ["trial_id", "generation", "status", "fitness", "cached", "x", "y", "n", "c", "layers", "seed", "parents",
        "operator", "noise"]
SETTINGS = {"population": 6, "max_evaluations": 30, "seed": 5, "quiet": True}


def loop(search, order=lambda trials: trials):
    with search:
        while not search.finished:
            for trial in order(search.ask()):
                search.tell(trial, bowl(trial.params, trial.seed))
    return search.result()


def test_the_same_trials_as_genetic_search_whatever_the_telling_order(tmp_path):
    engine = GeneticSearch(toy_space(), bowl, n_jobs=1, **SETTINGS).run()
    asked = loop(AskTellSearch(toy_space(), **SETTINGS))
    backwards = loop(AskTellSearch(toy_space(), **SETTINGS, out_dir=tmp_path / "run"), order=lambda t: t[::-1])
    pd.testing.assert_frame_equal(engine.trials[SAME], asked.trials[SAME])
    pd.testing.assert_frame_equal(engine.trials[SAME], backwards.trials[SAME])
    assert engine.best_params == asked.best_params == backwards.best_params
    loaded = hpsearch.load(tmp_path / "run")  # a results directory like any other
    assert loaded.finished and loaded.best_params == engine.best_params
    assert loaded.best["stop_reason"].startswith("max_evaluations")


def test_resume_after_a_crash_mid_generation_asks_the_same_trials_again(tmp_path):
    out = tmp_path / "run"
    first = AskTellSearch(toy_space(), **SETTINGS, out_dir=out)
    with first:
        for trial in first.ask():  # generation 0, complete: saved
            first.tell(trial, bowl(trial.params, trial.seed))
        half = first.ask()  # generation 1: two told, then the process "dies"
        for trial in half[:2]:
            first.tell(trial, bowl(trial.params, trial.seed))
    second = AskTellSearch(toy_space(), **SETTINGS, out_dir=out)
    with second:
        again = second.ask()
        assert again == half  # same parameters and seeds
        for trial in again:
            second.tell(trial, bowl(trial.params, trial.seed))
    resumed = loop(AskTellSearch(toy_space(), **SETTINGS, out_dir=out))
    whole = loop(AskTellSearch(toy_space(), **SETTINGS))
    pd.testing.assert_frame_equal(whole.trials[SAME], resumed.trials[SAME])
    with pytest.raises(hpsearch.SearchError, match="cannot resume, the settings differ.*name"):
        AskTellSearch(toy_space(), **SETTINGS, out_dir=out, name="another model").open()


def test_failures_losses_and_misuse():
    search = AskTellSearch(toy_space(), population=4, max_evaluations=8, seed=0, quiet=True, direction="minimize")
    trials = search.ask()
    with pytest.raises(RuntimeError, match="await tell"):
        search.ask()
    search.tell(trials[0], error="CUDA out of memory")
    search.tell(trials[1], ZeroDivisionError("division by zero"))
    with pytest.raises(ValueError, match="was told already"):
        search.tell(trials[1], 1.0)
    with pytest.raises(ValueError, match="not one this search is waiting for"):
        search.tell(Trial(0, 2, {"x": 1.0}, 3), 1.0)
    with pytest.raises(ValueError, match="give the trial's score"):
        search.tell(trials[2])
    with pytest.raises(TypeError, match="a number, a dict or an exception, got str"):
        search.tell(trials[2], "0.5")
    search.tell(trials[2], {"fitness": 0.25, "accuracy": 0.9})
    time.sleep(0.2)
    rows_told_after = 0.2
    search.tell(trials[3], 0.5)
    assert search.generations.rows[-1]["seconds"] >= rows_told_after  # from ask() to the last tell()
    rows = search.trials.rows
    assert [row["status"] for row in rows] == ["failed", "failed", "ok", "ok"]
    assert rows[0]["reason"] == "CUDA out of memory" and rows[1]["reason"] == "ZeroDivisionError: division by zero"
    assert rows[2]["value"] == 0.25 and rows[2]["fitness"] == -0.25 and rows[2]["accuracy"] == 0.9
    assert search.best_so_far() == -0.25
    search.stop()
    assert search.finished and search.ask() == [] and search.result().best["stop_reason"] == "stopped by the caller"
    assert search.result().best["value"] == 0.25
    search.close()
    with pytest.raises(ValueError, match="fidelity"):
        AskTellSearch(toy_space(), fidelity={"min_epochs": 1})


def test_callbacks_run_per_trial_and_generation_and_can_stop():
    class StopAfterFirst(Callback):
        seen = 0

        def on_trial(self, trial, search):
            self.seen += 1

        def on_generation(self, generation, search):
            return True

    callback = StopAfterFirst()
    result = loop(AskTellSearch(toy_space(), population=4, max_evaluations=40, seed=0, quiet=True,
                                callbacks=[callback]))
    # The stop ends the breeding; the reserve then confirms the chosen genome (3 trainings,
    # population 4's share of 40 too small for a final race beyond them).
    trainings = len(result.trials)
    assert callback.seen == trainings and 4 < trainings <= 4 + 6
    assert result.best["stop_reason"] == "callback StopAfterFirst" and math.isfinite(result.best_score)
    assert result.best["validation"]["n"] == 3
