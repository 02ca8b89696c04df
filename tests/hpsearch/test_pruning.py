"""hpsearch.pruning: the Reporter hook that lets any objective's training loop report per-epoch
scores and be stopped by the [fidelity] pruner, and that the MLP objective uses too."""

import functools
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hpsearch
from hpsearch import Fidelity, GeneticSearch
from hpsearch.objective import Capabilities
from hpsearch.pruning import Reporter, prune_reason

from .objectives import curve_space, learning_curve

REPO = Path(__file__).resolve().parents[2]


# Module level, so that worker processes import them (pickled by reference).
def reported_curve(params, seed, reporter=None):
    """learning_curve's scores, reported epoch by epoch through the hook."""
    reporter = reporter or Reporter()
    ceiling = 1 / (1 + (math.log10(params["x"]) + 2) ** 2 + 10 * (params["y"] - 0.7) ** 2)
    for epoch in range(1, params["epochs"] + 1):
        if reporter.report(epoch, ceiling * (1 - math.exp(-(0.2 + params["y"]) * epoch))):
            break
    return reporter.result()


def slow_reported_curve(params, seed, reporter=None):
    import time

    time.sleep(0.02)
    return reported_curve(params, seed, reporter)


def own_dict_curve(params, seed, reporter=None):
    """Stops when the reporter says so, but returns a dict of its own (no status)."""
    result = reported_curve(params, seed, reporter)
    return {"fitness": result["fitness"], "curve": result["curve"], "epochs_run": result["epochs_run"]}


def search(objective=reported_curve, fidelity=None, **settings):
    fidelity = fidelity or Fidelity(rungs=3, pruner="median", min_trials=3)
    settings = {"population": 9, "generations": 4, "seed": 2, "quiet": True, "n_jobs": 1, **settings}
    return GeneticSearch(curve_space(), objective, fidelity=fidelity, **settings)


# -- the reporter -----------------------------------------------------------------------------
def test_the_reporter_stops_a_run_below_the_threshold_of_its_latest_epoch():
    reporter = Reporter([math.nan, 0.5, 0.7])
    assert reporter.report(1, 0.1) is False                      # NaN: not judged
    assert reporter.report(2, 0.5) is False                      # equal is not below
    assert reporter.report(3, 0.6) is True and reporter.should_stop()
    assert reporter.reason == "pruned after epoch 3: validation score 0.6 < 0.7"
    assert reporter.result() == {"fitness": 0.6, "status": "pruned", "reason": reporter.reason, "epochs_run": 3,
                                 "curve": {"val_metric": [0.1, 0.5, 0.6]}}
    assert reporter.report(4, 0.0) is False                      # past the known epochs
    never = Reporter()
    assert not any(never.report(epoch, -1.0) for epoch in range(1, 5))
    assert never.result(fitness=2.0, n_params=7) == {
        "fitness": 2.0, "status": "ok", "reason": "", "epochs_run": 4, "curve": {"val_metric": [-1.0] * 4},
        "n_params": 7}


def test_the_reporter_records_other_metrics_and_checks_its_calls():
    reporter = Reporter()
    reporter.report(1, 0.5, val_loss=1.5)
    reporter.report(2, 0.6, val_loss=1.2)
    assert reporter.curve == {"val_metric": [0.5, 0.6], "val_loss": [1.5, 1.2]}
    with pytest.raises(ValueError, match=r"report: epoch 2 after 2 reported; report each epoch once, in order, "
                                         r"counting from 1"):
        reporter.report(2, 0.7, val_loss=1.0)
    with pytest.raises(ValueError, match="report the same metrics every epoch"):
        reporter.report(3, 0.7)
    with pytest.raises(ValueError, match="report: epoch 0 after 0"):
        Reporter().report(0, 0.5)
    with pytest.raises(ValueError, match="no epoch was reported"):
        Reporter().result()
    copy = pickle.loads(pickle.dumps(reporter))  # sent to worker processes
    assert copy.curve == reporter.curve and copy.thresholds == reporter.thresholds


def test_objectives_that_name_a_reporter_get_one():
    def reports(objective):
        return Capabilities.of(objective).reporter

    assert reports(reported_curve) and reports(learning_curve)
    assert reports(hpsearch.MLPObjective.__call__)
    assert not reports(lambda params, seed, **options: {"fitness": 0.0})  # a catch-all declares nothing
    assert not reports(lambda params, seed: {"fitness": 0.0})
    assert reports(functools.partial(reported_curve, seed=0))


def test_an_own_dict_below_the_threshold_is_marked_pruned():
    assert prune_reason({"val_metric": [0.9, 0.2]}, [0.5, 0.5]).startswith("pruned after epoch 2")
    for kept in ({"val_metric": [0.9, 0.6]}, {"val_metric": []}, {}, None, {"val_metric": ["x"]}):
        assert prune_reason(kept, [0.5, 0.5]) == ""


# -- in a search ------------------------------------------------------------------------------
def test_a_reporting_objective_is_pruned_and_its_curves_recorded(assert_same_results):
    result = search(generations=5).run()
    trials, curves = result.trials, result.curves
    by_pruner = trials[trials["reason"].str.startswith("pruned after epoch")]
    assert len(by_pruner) >= 3 and (by_pruner["status"] == "pruned").all()
    assert (by_pruner["epochs_run"] < by_pruner["epochs"]).all()
    assert {"ok", "promoted", "pruned"} <= set(trials["status"])
    trained = trials[~trials["cached"]]
    lengths = curves.groupby("trial_id")["epoch"].max()
    assert (lengths.loc[trained["trial_id"]].to_numpy() == trained["epochs_run"].to_numpy()).all()
    # The same scores from an objective that says "pruned" in a dict of its own, without the
    # reporter's reason: the same trials but for the reason.
    assert_same_results(result, search(learning_curve, generations=5).run(), ignore=("reason",))


def test_an_objective_returning_its_own_dict_is_marked_pruned(assert_same_results):
    own = search(own_dict_curve).run()
    assert_same_results(own, search().run())


def test_a_pruning_search_needs_an_objective_that_can_be_pruned():
    with pytest.raises(ValueError, match="needs an objective that takes reporter="):
        search(lambda params, seed: {"fitness": 0.0})
    search(lambda params, seed, reporter=None: {"fitness": 0.0})


def test_without_a_pruner_the_reporter_only_records(assert_same_results):
    result = search(fidelity=Fidelity(rungs=3, pruner="none")).run()
    assert not result.trials["reason"].str.startswith("pruned after").any()
    assert set(result.curves["trial_id"]) == set(result.trials.loc[~result.trials["cached"], "trial_id"])
    plain = GeneticSearch(curve_space(), reported_curve, population=6, generations=1, seed=0, quiet=True,
                          n_jobs=1).run()
    assert (plain.trials["status"] == "ok").all() and len(plain.curves)  # no fidelity: reporter=None


def test_a_reporting_search_is_identical_for_any_n_jobs(assert_same_results):
    runs = [search(n_jobs=n, generations=3).run() for n in (1, 2)]
    assert_same_results(runs[1], runs[0])
    assert runs[0].best == runs[1].best


def test_a_resumed_reporting_search_equals_an_uninterrupted_one(tmp_path, assert_same_results):
    search(out_dir=tmp_path / "split", generations=2).run()
    resumed = search(out_dir=tmp_path / "split", generations=4).run()  # more generations: a budget
    whole = search(out_dir=tmp_path / "whole", generations=4).run()
    assert_same_results(resumed, whole)
    assert "pruned" in set(whole.trials["status"])


@pytest.mark.slow
def test_a_reporting_search_resumed_after_sigkill_equals_an_uninterrupted_run(tmp_path, kill_and_resume,
                                                                             assert_same_results):
    run = functools.partial(GeneticSearch, curve_space(), slow_reported_curve, population=8, generations=6,
                            seed=5, n_jobs=2, quiet=True, fidelity=Fidelity(pruner="median", min_trials=3))
    interrupted, resumed = kill_and_resume(run, tmp_path / "killed", rows=3, n_jobs=1)
    assert not interrupted.finished
    whole = run(n_jobs=1, out_dir=tmp_path / "whole").run()
    assert_same_results(resumed, whole)


# -- the MLP objective uses the same hook -----------------------------------------------------
def test_the_mlp_objective_reports_to_a_reporter(digits_splits):
    objective = hpsearch.MLPObjective(digits_splits)
    params = {"learning_rate": 0.05, "momentum": 0.9, "hidden_sizes": (16,), "batch_size": 64,
              "epochs": 6, "init": "he_uniform"}
    curve = objective(params, seed=0)["curve"]["val_metric"]
    thresholds = [math.nan, curve[1], curve[2] + 1e-3]
    reporter = Reporter(thresholds)
    hooked = objective(params, seed=0, reporter=reporter)
    assert hooked["status"] == "pruned" and hooked["reason"].startswith("pruned after epoch 3")
    assert hooked["curve"]["val_metric"] == curve[:3] and reporter.curve["val_metric"] == curve[:3]
    # A resumed run reports its earlier epochs too, so thresholds index the whole run.
    short = objective({**params, "epochs": 2}, seed=0, keep_state=True)
    reporter = Reporter([math.nan, math.nan, curve[2] + 1e-3])
    resumed = objective(params, seed=0, resume=short["state"], reporter=reporter)
    assert resumed["status"] == "pruned" and resumed["epochs_run"] == 3 and reporter.epochs == 3


# -- the example ------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_sgd_pruning_example_runs(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "experiments" / "sgd_pruning.py"), "--out-dir",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pruned (" in done.stdout and "best: validation accuracy" in done.stdout
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert (trials["status"] == "pruned").sum() > 0 and (trials["status"] == "ok").sum() > 0
