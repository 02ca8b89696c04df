"""Smoke runs of the benchmark scripts: every available contestant produces rows."""

import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_retrain_benchmark_quick_mode_runs_every_method_within_budget_resumes_and_repeats(tmp_path):
    from noisy_methods import DEFAULT_METHODS, available_methods

    available, skipped = available_methods()
    command = [sys.executable, str(REPO / "benchmarks" / "bench_retrain.py"), "--quick", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for name in DEFAULT_METHODS:
        if name in skipped:
            assert f"skipped: {name} ({skipped[name]})" in done.stdout
    rows = pd.concat([pd.read_csv(f) for f in sorted(tmp_path.glob("digits/*/*/seed-0.csv"))])
    expected = {m for m in DEFAULT_METHODS if m in available}
    assert {"ga", "ga-v2", "random"} <= expected
    for mode, budget, rounds in (("serial", 8, 8), ("rounds", 24, 3)):
        mine = rows[rows["mode"] == mode]
        assert set(mine["method"]) == expected and (mine.groupby("method").size() == 2).all()  # 2 retrainings
        assert (mine["trainings"] <= budget).all() and (mine["rounds"] <= rounds).all()
        assert (mine["trainings"] >= budget // 2).all()  # no method idles through its budget
    assert rows[["validation", "test"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (rows["training_seed"] >= 777_000).all() and rows["training_seed"].nunique() == 2  # shared by all
    timing = ["search_seconds", "retrain_seconds", "training_seconds"]
    assert "Paired differences of the retrained means" in done.stdout and "| ga | ga-v2 | 1 |" in done.stdout
    assert (tmp_path / "summary_digits.csv").is_file()
    # Resumable: a second run finds every result written and only reports them.
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "done:" not in again.stdout
    assert again.stdout.split("### ", 1)[1] == done.stdout.split("### ", 1)[1]
    # The same tables from one worker instead of two (SMAC3 included: its workers hash strings
    # with PYTHONHASHSEED=0).
    alone = tmp_path / "alone"
    once = subprocess.run([*command[:-1], str(alone), "--n-jobs", "1"], capture_output=True, text=True, timeout=600)
    assert once.returncode == 0, once.stderr[-2000:]
    for path in sorted(tmp_path.glob("digits/*/*/seed-0.csv")):
        pd.testing.assert_frame_equal(pd.read_csv(path).drop(columns=timing),
                                      pd.read_csv(alone / path.relative_to(tmp_path)).drop(columns=timing))


def _greedy(space, objective, budget, seed, batch=1):
    """A cheat: one training over the budget."""
    import noisy_methods

    params = space.sample(np.random.default_rng(seed))
    for k in range(budget + 1):
        objective(params, k)
    return noisy_methods.Choice("greedy", params, 0.5, budget + 1, budget + 1)


def _miscounting(space, objective, budget, seed, batch=1):
    """A cheat: trains its budget and says it used less."""
    import noisy_methods

    params = space.sample(np.random.default_rng(seed))
    for k in range(budget):
        objective(params, k)
    return noisy_methods.Choice("miscounting", params, 0.5, budget - 1, budget - 1)


def test_retrain_benchmark_refuses_a_method_over_its_budget_or_miscounting(tmp_path, monkeypatch):
    import bench_retrain
    import noisy_methods

    monkeypatch.setitem(noisy_methods.METHODS, "greedy", _greedy)
    monkeypatch.setitem(noisy_methods.METHODS, "miscounting", _miscounting)
    with pytest.raises(bench_retrain.BudgetError, match="greedy: 4 trainings in 4 rounds, over the budget of 3"):
        bench_retrain.run_job("digits", "serial", 3, "greedy", 0, 2, tmp_path, quick=True)
    with pytest.raises(bench_retrain.BudgetError, match="miscounting: reported 2 trainings, made 3"):
        bench_retrain.run_job("digits", "serial", 3, "miscounting", 0, 2, tmp_path, quick=True)
    assert not list(tmp_path.rglob("*.csv"))
    # an honest run of the same shape is written, with its retrainings
    path = bench_retrain.run_job("digits", "rounds", 16, "random", 0, 2, tmp_path, quick=True, label="random-v1")
    assert path == tmp_path / "digits" / "rounds-16" / "random-v1" / "seed-0.csv"  # --label's name
    table = bench_retrain.read_results(path)
    assert (table["method"] == "random-v1").all()
    assert list(table["retrain"]) == [0, 1] and (table["rounds"] == 2).all() and (table["trainings"] == 16).all()
    # its trainings timed (the search's own time is the rest) and the engine that made it named
    assert (0 < table["training_seconds"]).all() and (table["training_seconds"] < table["search_seconds"]).all()
    assert (table["engine"] == bench_retrain.engine_digest()).all()


def retrain_rows(method, seed, score, engine):
    """A bench_retrain job's CSV rows (digits, serial, budget 60): 5 retrainings scoring `score`."""
    return pd.DataFrame([{"task": "digits", "mode": "serial", "budget": 60, "method": method, "seed": seed,
                          "reported": 0.9, "trainings": 60, "rounds": 60, "search_seconds": 2.0,
                          "training_seconds": 1.5, "engine": engine, "retrain": k, "validation": score,
                          "test": score, "retrain_seconds": 0.1} for k in range(5)])


def test_retrain_benchmark_refuses_to_skip_ga_results_of_another_engine(tmp_path, capsys, monkeypatch):
    """A `ga` file from an older engine would otherwise be skipped and reported under today's name."""
    import bench_retrain

    command = ["--tasks", "digits", "--methods", "ga", "random", "--budgets", "60", "--modes", "serial",
               "--seeds", "1", "--out", str(tmp_path), "--report-only"]
    rows = retrain_rows("ga", 0, 0.8, engine="0123456789ab")
    path = bench_retrain.job_path(tmp_path, "digits", "serial", 60, "ga", 0)
    path.parent.mkdir(parents=True)
    for made_by in ("0123456789ab", None):  # another engine's, or one that did not record it
        rows.drop(columns=[] if made_by else ["engine"]).to_csv(path, index=False)
        with pytest.raises(SystemExit, match=r"1 `ga` results were made by another hpsearch .*seed-0.csv"):
            bench_retrain.main(command)
    bench_retrain.main([*command, "--keep-stale"])  # kept on request, and reported
    assert "| ga | 1 | 0.9000 ± nan | 0.8000 ± nan |" in capsys.readouterr().out
    # the installed engine's own results are simply reported, even where its hex digest reads as a number
    for digest in (bench_retrain.engine_digest(), "429e90080694", "000123456789"):
        monkeypatch.setattr(bench_retrain, "engine_digest", lambda digest=digest: digest)
        rows.assign(engine=digest).to_csv(path, index=False)
        bench_retrain.main(command)
        assert "| ga | 1 |" in capsys.readouterr().out


def test_retrain_benchmark_report_pairs_every_method_with_every_other():
    import bench_retrain

    rows = []
    for task, shift in (("a", 0.0), ("b", 0.01)):
        for seed in range(4):
            for method, level in (("m1", 0.80), ("m2", 0.79), ("m3", 0.81)):
                for k in range(5):
                    rows.append({"task": task, "mode": "serial", "budget": 60, "method": method, "seed": seed,
                                 "reported": level + 0.02, "trainings": 60, "rounds": 60, "search_seconds": 1.0,
                                 "retrain": k, "validation": level + shift + 0.001 * seed, "test": level + shift,
                                 "retrain_seconds": 0.1})
    table = bench_retrain.per_seed(pd.DataFrame(rows))
    assert np.allclose(table["optimism"], 0.02 - table["task"].map({"a": 0.0, "b": 0.01}) - 0.001 * table["seed"])
    pairs = bench_retrain.paired(table, ["m1", "m2", "m3"])
    assert list(zip(pairs["a"], pairs["b"])) == [("m1", "m2"), ("m1", "m3"), ("m2", "m3")]
    assert np.allclose(pairs["test_mean"], [0.01, -0.01, -0.02]) and (pairs["seeds"] == 8).all()
    assert list(pairs["test_won"]) == [8, 0, 0] and list(pairs["test_lost"]) == [0, 8, 8]
    text = "\n".join(bench_retrain.report_lines(table))
    assert "### a: 60 trainings, serial, 4 seeds (5 retrainings each)" in text
    assert "### pooled over a, b: 60 trainings, serial, 8 seeds" in text
    assert "| m1 | m2 | 8 | +0.0100 ± 0.0000 (8/0/0) |" in text
    # the methods' table pairs each with the reference; the method's own seconds per training
    # are its search's less its trainings' (unknown for results written before they were timed)
    text = "\n".join(bench_retrain.report_lines(table, reference="m2"))
    assert "| m1 | 8 | 0.8200 ± 0.0000 | 0.8065 ± 0.0019 | 0.8050 ± 0.0019 | 0.0135 ± 0.0019 " \
           "| +0.0100 ± 0.0000 (8/0/0) | 60 | 60 | 1.0 | — |" in text
    assert "| m2 | 8 | 0.8100 ± 0.0000 | 0.7965 ± 0.0019 | 0.7950 ± 0.0019 | 0.0135 ± 0.0019 | — |" in text
    timed = bench_retrain.per_seed(pd.DataFrame(rows).assign(training_seconds=0.4))
    assert np.allclose(timed["overhead"], 0.6 / 60)
    assert "| 60 | 60 | 1.0 | 0.010 |" in "\n".join(bench_retrain.report_lines(timed))


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


def test_retrain_report_of_given_seeds_leaves_the_others_out(tmp_path, capsys):
    """A later held-out round (seeds 1100 on) is reported beside, not mixed with, an earlier one."""
    import bench_retrain

    for seed, test in ((0, 0.8), (5, 0.6)):
        path = bench_retrain.job_path(tmp_path, "digits", "serial", 60, "random", seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        retrain_rows("random", seed, test, engine="").to_csv(path, index=False)
    command = ["--tasks", "digits", "--methods", "random", "--budgets", "60", "--modes", "serial", "--out",
               str(tmp_path), "--report-only"]
    bench_retrain.main([*command, "--first-seed", "5", "--seeds", "1"])
    assert "| random | 1 | 0.9000 ± nan | 0.6000 ± nan |" in capsys.readouterr().out
    assert (tmp_path / "summary_digits_seeds-5-5.csv").exists()
    bench_retrain.main(command)  # no seeds given: every file present
    assert "| random | 2 | 0.9000 ± 0.0000 | 0.7000 ± 0.1000 |" in capsys.readouterr().out


def test_netcore_floor_loop_updates_only_when_asked_and_stays_finite():
    import bench_netcore

    X, y = bench_netcore.make_data(64)
    Y = np.eye(bench_netcore.LAYERS[-1], dtype=np.float32)[y]
    for update in (True, False):
        run, model = bench_netcore.floor_epoch(X, Y, 8, gather=True, update=update)
        before = [p.copy() for p in model.params]
        run()
        changed = [not np.array_equal(p, q) for p, q in zip(model.params, before)]
        # the weights take the products' update (the biases have no product in the floor)
        assert changed[0::2] == [update] * 3 and not any(changed[1::2])
        assert all(np.isfinite(p).all() for p in model.params)


def test_netcore_ceiling_quick_mode_prints_every_share():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_netcore.py"), "--ceiling", "--quick"],
                          capture_output=True, text=True, timeout=300, check=True)
    row = next(line for line in done.stdout.splitlines() if line.startswith("| 128 |"))
    shares = [float(cell.strip().rstrip("%")) for cell in row.strip("|").split("|")[2:]]
    assert len(shares) == 4 and all(0 < share < 200 for share in shares)
