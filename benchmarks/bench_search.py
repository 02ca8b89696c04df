"""Search quality side by side: our GA against random search, Optuna and sklearn-genetic-opt.

Every method searches the same space, on the same data splits, with the same netcore
training objective (identical parameters train identically in every method: the training
seed is derived from the parameters), for the same number of evaluations, over several
seeds. Reported per method: the best validation score after 20/30/60/150 evaluations
(mean ± std over seeds; and paired with TPE on the same seeds: mean ± standard error, the
difference and the seeds won), the test score of the final best, wall time and
evaluations/s, and plots of best-so-far against evaluations and wall time.

    python benchmarks/bench_search.py                          # digits, 20/30/60/150 evaluations, 5 seeds
    python benchmarks/bench_search.py --datasets digits fashion-mnist-10k --seeds 5
    python benchmarks/bench_search.py --quick                  # smoke run (CI)

Outputs: benchmarks/results/search_<dataset>_evaluations.csv, ..._summary.csv, ..._.png, and
benchmarks/RESULTS.md (generated from every summary CSV present).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATASETS, RESULTS, benchmark_space, make_objective, paired_table, summarise, write_results_md
from hpsearch import trial_seed
from search_methods import BUDGET_AWARE, METHODS, available_methods

BUDGETS = (20, 30, 60, 150)


def run_one(method, dataset, budgets, seed):
    """One method on one data set and seed. The best after k evaluations, for each budget k:
    read off one run of the largest budget, or, for a method whose settings follow its budget
    (the default GA), from a run of k evaluations of its own."""
    space, objective = benchmark_space(dataset), make_objective(dataset)
    largest = max(budgets)
    run = METHODS[method](space, objective, largest, seed)
    test = objective.test_score(run.best_params, trial_seed(seed, space.key(run.best_params)))
    rows = pd.DataFrame(run.evaluations)
    rows["best_so_far"] = rows["fitness"].cummax()
    rows = rows.assign(dataset=dataset, method=method, seed=seed)
    summary = {"dataset": dataset, "method": method, "seed": seed, "evaluations": len(rows),
               "best_validation": run.best_fitness, "test": test["test_metric"],
               "seconds": run.seconds, "evaluations_per_s": len(rows) / run.seconds,
               "failures": int((~np.isfinite(rows["fitness"])).sum())}
    for k in sorted(budgets):
        if method in BUDGET_AWARE and k < largest:
            summary[f"best_at_{k}"] = METHODS[method](space, objective, k, seed).best_fitness
        else:
            summary[f"best_at_{k}"] = rows["best_so_far"].iloc[min(k, len(rows)) - 1]
    return rows.drop(columns=["params"]), summary


def _band(axis, x, curves, label, color=None):
    """Mean line and ± std band over the rows of `curves` (seeds), NaN where no seed has a value."""
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(curves).sum(axis=0) > 0
        mean = np.where(valid, np.nanmean(np.where(valid, curves, 0), axis=0), np.nan)
        std = np.where(valid, np.nanstd(np.where(valid, curves, 0), axis=0), np.nan)
    line, = axis.plot(x, mean, label=label, color=color)
    axis.fill_between(x, mean - std, mean + std, alpha=0.15, color=line.get_color())
    return line.get_color(), mean


def _step_values(times, values, grid):
    """Best-so-far of one run, read at every grid time (NaN before its first evaluation)."""
    index = np.searchsorted(times, grid, side="right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)], np.nan)


def draw(evaluations, dataset, path):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), dpi=110, layout="constrained")
    by_evaluation, by_time = figure.subplots(1, 2, sharey=True)
    elapsed = evaluations["elapsed"]
    grid = np.geomspace(max(elapsed[elapsed > 0].min(), 1e-3), elapsed.max(), 300)
    settled = []  # mean curves after the first ten evaluations, for the y range
    for method, group in evaluations.groupby("method", sort=False):
        runs = [run.sort_values("evaluation") for _, run in group.groupby("seed")]
        best = [run["best_so_far"].replace(-np.inf, np.nan).to_numpy() for run in runs]
        length = max(len(b) for b in best)
        padded = np.array([np.pad(b, (0, length - len(b)), constant_values=np.nan) for b in best])
        color, mean = _band(by_evaluation, np.arange(1, length + 1), padded, method)
        settled.append(mean[9:])
        on_grid = np.array([_step_values(run["elapsed"].to_numpy(), b, grid) for run, b in zip(runs, best)])
        _band(by_time, grid, on_grid, method, color)
    by_evaluation.set(xlabel="evaluations (trainings)", ylabel="best validation score so far",
                      title=f"{dataset}: best so far, mean ± std over seeds")
    by_time.set(xlabel="wall time (s, one core per run, log scale)", title="against wall time",
                xscale="log")
    settled = np.concatenate(settled)
    if np.isfinite(settled).any():  # the differences that matter are in the last few percent
        by_evaluation.set_ylim(np.nanmin(settled) - 0.01, np.nanmax(settled) + 0.005)
    for axis in (by_evaluation, by_time):
        axis.grid(alpha=0.3)
    by_evaluation.legend(loc="lower right")
    figure.savefig(path)


def _merge(path, new, methods):
    """`new` rows together with those of other methods already in the CSV at `path`."""
    if not path.exists():
        return new
    old = pd.read_csv(path)
    return pd.concat([old[~old["method"].isin(methods)], new], ignore_index=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=DATASETS)
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS),
                        help="report the best after each of these numbers of evaluations")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1 (check on unseen seeds)")
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--n-jobs", type=int, default=2, help="runs in parallel (one core each)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 evaluations, 1 seed")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--append", action="store_true",
                        help="keep the other methods' rows already in the result CSVs (run the "
                             "methods of one data set in several sittings)")
    parser.add_argument("--no-engine", action="store_true",
                        help="skip the engine overhead and parallel speedup measurements")
    args = parser.parse_args()
    if args.quick:
        args.budgets, args.seeds = [4, 6], 1

    methods, skipped = available_methods()
    for name, reason in skipped.items():
        print(f"skipped: {name} ({reason})")
    methods = [m for m in (args.methods or methods) if m in methods]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    for dataset in args.datasets:
        jobs = [(m, s) for s in range(args.first_seed, args.first_seed + args.seeds) for m in methods]
        start = time.perf_counter()
        runs = Parallel(n_jobs=args.n_jobs)(
            delayed(run_one)(method, dataset, args.budgets, seed) for method, seed in jobs)
        evaluations = pd.concat([rows for rows, _ in runs], ignore_index=True)
        summary = pd.DataFrame([s for _, s in runs])
        tag = "quick" if args.quick else dataset
        if args.append:
            evaluations, summary = (_merge(out / f"search_{tag}_{name}.csv", new, methods)
                                    for name, new in (("evaluations", evaluations), ("summary", summary)))
        evaluations.to_csv(out / f"search_{tag}_evaluations.csv", index=False)
        summary.to_csv(out / f"search_{tag}_summary.csv", index=False)
        draw(evaluations, dataset, out / f"search_{tag}.png")
        print(f"\n{dataset}: {max(args.budgets)} evaluations x {args.seeds} seeds, "
              f"{time.perf_counter() - start:.0f} s")
        print(summarise(summary).to_string())
        print(paired_table(summary).to_string(index=False))
    engine = []
    if not args.no_engine:
        import bench_engine

        print("\nengine (benchmarks/bench_engine.py):")
        engine = bench_engine.report(quick=args.quick) if not args.quick else \
            bench_engine.report(evaluations=100, population=4, generations=0, quick=True)
    if out == RESULTS and not args.quick:
        write_results_md(engine)


if __name__ == "__main__":
    main()
