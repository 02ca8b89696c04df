"""Smoke runs of the benchmark scripts: every available contestant produces rows."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # benchmark smoke runs

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def test_search_benchmark_quick_mode_gives_rows_for_every_method(tmp_path):
    from search_methods import available_methods

    methods, skipped = available_methods()
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_search.py"), "--quick", "--no-engine",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in skipped:
        assert f"skipped: {name}" in done.stdout
    summary = pd.read_csv(tmp_path / "search_quick_summary.csv")
    evaluations = pd.read_csv(tmp_path / "search_quick_evaluations.csv")
    assert set(summary["method"]) == set(methods) and {"ga", "random"} <= set(methods)
    for method in methods:
        rows = evaluations[evaluations["method"] == method]
        assert len(rows) >= 5 and rows["best_so_far"].is_monotonic_increasing
    assert (summary["test"].between(0, 1)).all()
    assert (tmp_path / "search_quick.png").stat().st_size > 5000


def test_multiobjective_benchmark_gives_both_methods_a_front_at_the_same_budget():
    import importlib.util

    import bench_multiobjective

    for method in bench_multiobjective.METHODS:
        if method.startswith("optuna") and importlib.util.find_spec("optuna") is None:
            continue  # the script reports it as skipped
        run = bench_multiobjective.one_run(method, seed=0, budget=12, population=4)
        assert run["trainings"] == 12 and 1 <= run["front_size"] <= 12
        assert 0 < run["hypervolume"] < 1 and 0.1 < run["best_accuracy"] <= 1


def test_fidelity_benchmark_runs_both_searches_on_one_budget_rule():
    import bench_fidelity
    from hpsearch import Fidelity

    plain, fast, control = bench_fidelity.run_pair(
        "digits", seed=0, evaluations=12, fraction=0.4, population=4,
        fidelity=Fidelity(rungs=3, pruner="median"), initial_size=6, control=True)
    assert plain["trainings"] == 12 and plain["full_trainings"] >= 10  # some may diverge
    assert control["method"] == "plain GA, initial_size 6" and control["trainings"] == 12
    assert int(0.4 * plain["epochs"]) - 20 < fast["epochs"] <= int(0.4 * plain["epochs"])
    assert fast["trainings"] > fast["full_trainings"] >= 1
    assert 0.5 < fast["best_validation"] <= 1 and 0.5 < plain["best_validation"] <= 1
    # the plain GA is deterministic: its row may be taken from an earlier run
    again = bench_fidelity.run_pair("digits", seed=0, evaluations=12, fraction=0.4, population=4,
                                    fidelity=Fidelity(rungs=3, pruner="median"), plain_row=plain,
                                    initial_size=6)
    assert again[0] is plain and {k: v for k, v in again[1].items() if k != "seconds"} == {
        k: v for k, v in fast.items() if k != "seconds"}
    lines = "\n".join(bench_fidelity.report(pd.DataFrame([plain, fast, control])))
    assert "multi-fidelity against plain GA: " in lines and "| plain GA |" in lines
    assert "multi-fidelity against plain GA, initial_size 6: " in lines


def test_retrain_benchmark_scores_each_best_genome_again_with_new_training_seeds(tmp_path):
    import bench_retrain

    bench_retrain.main(["--quick", "--methods", "ga", "random", "--out", str(tmp_path)])
    table = pd.read_csv(tmp_path / "retrained_quick.csv")
    assert sorted(table["method"]) == ["ga", "random"] and (table["seed"] == 0).all()
    assert table[["found", "validation", "test"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (table["noise"] >= 0).all()
    # seeded from the run's seed, not from global state: the same run twice, the same table
    again = tmp_path / "again"
    bench_retrain.main(["--quick", "--methods", "ga", "random", "--out", str(again)])
    pd.testing.assert_frame_equal(table, pd.read_csv(again / "retrained_quick.csv"))


def test_numerics_benchmark_compares_native_and_portable_trainings():
    from hpsearch.numerics import portable_unavailable

    if portable_unavailable():
        pytest.skip(portable_unavailable())
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_numerics.py"), "--quick"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("batch") and len(lines) == 5
    assert lines[-1].startswith("portable: ") and lines[-1].endswith("(portable)")
