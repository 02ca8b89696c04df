"""Smoke runs of the benchmark scripts: every available contestant produces rows."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

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
