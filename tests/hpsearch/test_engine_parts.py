"""The redesigned engine's parts on their own: settings, budget accounting, the checkpoint
journal and the appended tables."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpsearch import GeneticSearch, SearchError
from hpsearch.budget import Spending
from hpsearch.checkpoint import FORMAT, CheckpointError, Journal, decode, dumps
from hpsearch.results import CsvLog, TrialsTable, format_cell, load
from hpsearch.settings import GA, PBT, Budget, Parallel, gather

from .objectives import bowl, toy_space


# -- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, fields, message", [
    (GA, {"population": 1}, "population: must be >= 2, got 1"),
    (GA, {"population": 4, "elitism": 4}, r"elitism: must be < population \(4\), got 4"),
    (GA, {"population": "8"}, "population: expected an integer, got '8'"),
    (GA, {"selection": "tournament"}, "selection: unknown value 'tournament'"),
    (GA, {"initial_size": 3, "population": 4}, r"initial_size: must be >= population \(4\), got 3"),
    (GA, {"mutation_indpb": 0}, r"mutation_indpb: must be in \(0, 1\], got 0"),
    (GA, {"objectives": ["val_metric"]}, "objectives: NSGA-II needs at least 2 objectives"),
    (Budget, {"max_evaluations": 0}, "max_evaluations: must be >= 1, got 0"),
    (Budget, {"time_limit": -1}, "time_limit: must be > 0, got -1"),
    (Budget, {"target_fitness": math.nan}, "target_fitness: must be finite"),
    (Parallel, {"n_jobs": 0}, r"n_jobs: must not be 0 \(-1 = all cores\)"),
    (Parallel, {"scheduler": "tcp://h:1"}, "scheduler: only used with backend = 'dask'"),
    (Parallel, {"backend": "spark"}, "backend: unknown value 'spark'"),
    (PBT, {"quantile": 0.6}, r"quantile: must be in \(0, 0.5\], got 0.6"),
    (PBT, {"steps": 0}, "steps: must be >= 1, got 0"),
])
def test_a_bad_setting_is_one_line_naming_the_field(cls, fields, message):
    with pytest.raises(ValueError, match=message) as error:
        cls(**fields)
    assert "\n" not in str(error.value)


def test_settings_are_frozen_and_their_defaults_are_the_configs():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GA().population = 4
    assert GA(objectives=["val_metric", "n_params"]).objectives == ("val_metric", "n_params")
    assert GA(objectives=None).objectives == ()
    assert (GA().resolved(Budget()).population, Parallel().n_jobs) == (16, -1)
    assert GA().resolved(Budget(max_evaluations=60)).population == 10  # 8 new genomes a generation


def test_fields_given_one_by_one_land_in_their_settings_object():
    groups = {"ga": (GA, GA(population=6)), "budget": (Budget, None), "parallel": (Parallel, {"n_jobs": 1})}
    built = gather(groups, {"elitism": 1, "max_evaluations": 30, "timeout": 5.0})
    assert built["ga"] == GA(population=6, elitism=1)
    assert built["budget"] == Budget(max_evaluations=30)
    assert built["parallel"] == Parallel(n_jobs=1, timeout=5.0)
    with pytest.raises(TypeError, match=r"unknown setting 'max_evaluation' \(did you mean 'max_evaluations'\?\)"):
        gather(groups, {"max_evaluation": 3})
    with pytest.raises(TypeError, match="ga: expected hpsearch.GA, got Budget"):
        gather({"ga": (GA, Budget())}, {})


def test_the_search_takes_settings_whole_or_field_by_field(tmp_path):
    whole = GeneticSearch(toy_space(), bowl, ga=GA(population=6, generations=2),
                          budget=Budget(max_evaluations=10), parallel=Parallel(n_jobs=1), quiet=True).run()
    fields = GeneticSearch(toy_space(), bowl, population=6, generations=2, max_evaluations=10,
                           n_jobs=1, quiet=True).run()
    pd.testing.assert_frame_equal(whole.trials.drop(columns="seconds"), fields.trials.drop(columns="seconds"))


# -- budget -----------------------------------------------------------------------------------
def test_spending_reports_what_is_left_and_the_first_budget_that_ends_the_run():
    spending = Spending(Budget(max_evaluations=10, max_training_epochs=100, patience=2), generations=5)
    assert spending.left() == (10, 100) and spending.stop_reason() is None
    spending.end_generation(0, trainings=4, epochs=40, best_fitness=0.5, improved=True, elapsed=1.0)
    assert spending.left(trainings=1, epochs=10) == (5, 50)
    spending.end_generation(1, trainings=4, epochs=40, best_fitness=0.4, improved=False, elapsed=2.0)
    assert spending.best_fitness == 0.5 and spending.since_improvement == 1
    spending.end_generation(2, trainings=2, epochs=10, best_fitness=0.5, improved=False, elapsed=3.0)
    assert spending.stop_reason() == "max_evaluations (10)"
    again = Spending(spending.budget, 5)
    again.load_state(spending.state())
    assert again.state() == spending.state()
    assert Spending(Budget(), generations=3, unit="steps").stop_reason() is None


# -- the checkpoint journal -------------------------------------------------------------------
def test_the_journal_appends_only_what_is_new_and_replays_it(tmp_path):
    journal = Journal(tmp_path)
    assert journal.read() is None
    journal.start({"seed": 0})
    rows = []
    sizes = []
    for generation in range(3):
        rows += [{"fitness": float(k)} for k in range(100)]
        journal.save({"generation": generation}, {"rows": rows})
        sizes.append(journal.path.stat().st_size)
    # Each record holds one generation's rows: the journal grows by about the same each time.
    assert sizes[2] - sizes[1] == pytest.approx(sizes[1] - sizes[0], rel=0.05)
    settings_, snapshot, logs = Journal(tmp_path).read()
    assert settings_ == {"seed": 0} and snapshot == {"generation": 2} and logs["rows"] == rows


def test_a_record_cut_short_by_a_crash_is_dropped_and_the_journal_goes_on(tmp_path):
    journal = Journal(tmp_path)
    journal.start({"seed": 0})
    journal.save({"generation": 0}, {"rows": [1, 2]})
    whole = journal.path.read_bytes()
    journal.save({"generation": 1}, {"rows": [1, 2, 3]})
    journal.path.write_bytes(journal.path.read_bytes()[:-7])  # killed mid-write
    again = Journal(tmp_path)
    assert again.read() == ({"seed": 0}, {"generation": 0}, {"rows": [1, 2]})
    assert journal.path.read_bytes() == whole  # the damaged tail is cut off
    again.save({"generation": 1}, {"rows": [1, 2, 9]})
    assert Journal(tmp_path).read()[1:] == ({"generation": 1}, {"rows": [1, 2, 9]})


def test_a_checkpoint_of_another_format_is_refused_in_one_line(tmp_path):
    (tmp_path / "checkpoint.jsonl").write_text('{"format": "hpsearch-checkpoint-2", "settings": {}}\n')
    with pytest.raises(CheckpointError, match=f"written by another version of hpsearch .*reads {FORMAT}"):
        Journal(tmp_path).read()
    (tmp_path / "trials.csv").write_text("trial_id\n")
    with pytest.raises(SearchError, match="cannot resume"):
        GeneticSearch(toy_space(), bowl, n_jobs=1, out_dir=tmp_path, quiet=True).run()


@given(st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    | st.dictionaries(st.integers() | st.tuples(st.integers(), st.text(max_size=3)), inner, max_size=3),
    max_leaves=20))
def test_the_journal_codec_gives_back_what_it_was_given(value):
    back = decode(dumps(value))
    assert repr(back) == repr(value)  # repr: NaN != NaN, and tuples must stay tuples


def test_the_journal_refuses_objects_it_cannot_write_as_data(tmp_path):
    journal = Journal(tmp_path)
    journal.start({"seed": 0})
    with pytest.raises(TypeError, match="plain data only, not ndarray"):
        journal.save({"weights": np.zeros(3)}, {})
    with pytest.raises(TypeError, match="plain data only, not set"):
        journal.save({}, {"rows": [{1, 2}]})



# -- appended tables ---------------------------------------------------------------------------
cells = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=5),
                  st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.dictionaries(st.sampled_from("abcd"), cells, max_size=4), max_size=4),
                min_size=1, max_size=5))
def test_appending_in_chunks_reads_back_as_the_whole_table(tmp_path_factory, chunks):
    path = tmp_path_factory.mktemp("log") / "table.csv"
    log = CsvLog(path, columns=["a"])
    for chunk in chunks:
        log.extend(chunk)
    expected = log.frame()
    if not expected.columns.size:
        return
    whole = path.with_name("whole.csv")
    expected.to_csv(whole, index=False)
    # Cells may differ in spelling only where pandas writes an integer of a float column as
    # 3.0 and an appended row writes 3: read back, the tables are equal.
    pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(whole), check_exact=True)


def test_cells_are_written_as_pandas_writes_them():
    assert [format_cell(v) for v in (None, math.nan, True, np.int64(3), 0.1, 1e-05, -math.inf, "a,b")] == \
        ["", "", "True", "3", "0.1", "1e-05", "-inf", "a,b"]


def test_a_new_column_rewrites_the_table_and_trials_keep_their_column_order(tmp_path):
    table = TrialsTable(tmp_path / "trials.csv", genes=["x", "n_layers"])
    table.extend([{"trial_id": 0, "status": "ok", "fitness": 1.0, "x": 0.5, "n_layers": 2, "seed": 7}])
    table.extend([{"trial_id": 1, "status": "ok", "fitness": 2.0, "x": 0.1, "n_layers": 1, "seed": 8,
                   "n_params": 10, "custom": "z", "val_metric": 2.0}])
    assert list(pd.read_csv(tmp_path / "trials.csv").columns) == [
        "trial_id", "status", "fitness", "x", "n_layers", "val_metric", "n_params", "custom", "seed"]
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 2


def test_saving_a_generation_appends_to_the_results_files(tmp_path):
    search = GeneticSearch(toy_space(), bowl, population=6, generations=1, n_jobs=1,
                           out_dir=tmp_path, quiet=True)
    search.run()
    before = (tmp_path / "trials.csv").read_bytes()
    GeneticSearch(toy_space(), bowl, population=6, generations=3, n_jobs=1,
                  out_dir=tmp_path, quiet=True).run()
    after = (tmp_path / "trials.csv").read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    assert load(tmp_path).trials["trial_id"].tolist() == list(range(len(load(tmp_path).trials)))
