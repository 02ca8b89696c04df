"""The search engine's own cost, and its parallel speedup, measured side by side.

1. Overhead per evaluation: 1,000 evaluations of a trivial objective over the default
   six-gene space, for hpsearch's plain GA (in memory, and writing its results directory after
   every generation), the default search with its model, and Optuna (RandomSampler and
   TPESampler, in-memory storage) when it is installed.
2. Growth: the overhead per evaluation with the results directory at 1,000 and at 10,000
   evaluations (population 50, a 30-epoch curve per trial). Saving appends what each
   generation added, so the two should be within 1.5x of each other; rewriting every file
   after every generation made the cost grow with the number of trials so far.
3. Parallel speedup: the same GA search with the built-in digits MLP objective at n_jobs = 1
   and n_jobs = 2 (and more where the machine has the cores), worker pool started beforehand.

    python benchmarks/bench_engine.py            # full
    python benchmarks/bench_engine.py --quick    # smoke run
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import trivial, warm_worker
from hpsearch import GeneticSearch, default_space, load_dataset, scale_splits, split_dataset
from hpsearch.strategies import GeneticBreeding


def hpsearch_overhead(n, out_dir=None, objective=trivial, population=20):
    start = time.perf_counter()
    result = GeneticSearch(default_space(), objective, population=population, generations=10**6,
                           max_evaluations=n, n_jobs=1, in_process=True, seed=0, quiet=True, out_dir=out_dir,
                           breeding=GeneticBreeding()).run()
    evaluations = int((~result.trials["cached"]).sum())
    return (time.perf_counter() - start) / evaluations, evaluations


def trivial_with_curve(params, seed):
    """The trivial objective with a 30-epoch learning curve, as an MLP trial reports one."""
    fitness = trivial(params, seed)["fitness"]
    return {"fitness": fitness, "curve": {"val_metric": [fitness] * 30, "train_loss": [1.0] * 30}}


def model_overhead(n):
    """Per evaluation, the default search (model on, settings from the budget) in memory."""
    start = time.perf_counter()
    result = GeneticSearch(default_space(), trivial, max_evaluations=n, n_jobs=1, in_process=True, seed=0,
                           quiet=True).run()
    return (time.perf_counter() - start) / int((~result.trials["cached"]).sum())


def growth(sizes=(1000, 10000)):
    """Per-evaluation overhead with the results directory, for each number of evaluations."""
    per_eval = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            per_eval[n], _ = hpsearch_overhead(n, os.path.join(tmp, "run"), trivial_with_curve, population=50)
    return per_eval


def optuna_overhead(n, sampler_name):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}
    sampler = samplers[sampler_name](seed=0)

    def objective(trial):
        depth = trial.suggest_int("n_layers", 1, 4)
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1.0, log=True),
            "momentum": trial.suggest_float("momentum", 0.0, 0.99),
            "hidden_sizes": [trial.suggest_int(f"units_{i}", 8, 1024, log=True) for i in range(depth)],
            "batch_size": 2 ** trial.suggest_int("log2_batch_size", 3, 10),
            "epochs": trial.suggest_int("epochs", 2, 50),
            "init": trial.suggest_categorical("init", ["zeros", "normal", "uniform", "xavier_normal",
                                                       "xavier_uniform", "he_normal", "he_uniform",
                                                       "lecun_normal"]),
        }
        return trivial(params, 0)["fitness"]

    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n)
    return (time.perf_counter() - start) / n


def _gemm_task(_):
    import numpy as np
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
        for _ in range(300):
            a @ a


def machine_ceiling(n_jobs_list, tasks=8):
    """Speedup of identical single-threaded GEMM tasks: what the cores themselves allow
    (shared caches, memory bandwidth and clock limits included), with no search involved."""
    times = {}
    for n_jobs in n_jobs_list:
        Parallel(n_jobs=n_jobs)(delayed(_gemm_task)(i) for i in range(n_jobs))  # warm
        start = time.perf_counter()
        Parallel(n_jobs=n_jobs)(delayed(_gemm_task)(i) for i in range(tasks * max(n_jobs_list)))
        times[n_jobs] = time.perf_counter() - start
    return {n: times[1] / t for n, t in times.items()}


def speedup(n_jobs_list, population, generations):
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    times = {}
    for n_jobs in n_jobs_list:
        if n_jobs > 1:  # start and warm the worker pool outside the timing, as a long search would
            Parallel(n_jobs=n_jobs)(delayed(warm_worker)(i) for i in range(2 * n_jobs))
        start = time.perf_counter()
        result = GeneticSearch(default_space(), splits, population=population, generations=generations,
                               n_jobs=n_jobs, seed=0, quiet=True).run()
        times[n_jobs] = time.perf_counter() - start
        evaluations = int((~result.trials["cached"]).sum())
    return times, evaluations


def report(evaluations=1000, population=16, generations=4, quick=False, emit=print):
    """Run both measurements; emit (and return) the report's lines."""
    lines = []

    def say(line):
        lines.append(line)
        emit(line)

    say(f"1. engine overhead per evaluation, trivial objective, {evaluations} evaluations")
    per_eval, n = hpsearch_overhead(evaluations)
    say(f"   hpsearch GA, in memory                 {per_eval * 1e3:7.3f} ms  ({n} evaluations)")
    with tempfile.TemporaryDirectory() as tmp:
        per_eval_disk, _ = hpsearch_overhead(evaluations, out_dir=os.path.join(tmp, "run"))
    say(f"   hpsearch GA, results dir + checkpoint  {per_eval_disk * 1e3:7.3f} ms")
    with_model = model_overhead(evaluations)
    say(f"   hpsearch default (model on), in memory {with_model * 1e3:7.3f} ms")
    try:
        for sampler in ("random", "tpe"):
            theirs = optuna_overhead(evaluations, sampler)
            say(f"   optuna {sampler:6s} sampler, in memory     {theirs * 1e3:7.3f} ms  "
                f"(hpsearch / optuna = {per_eval / theirs:.2f}; with the model {with_model / theirs:.2f})")
    except ImportError:
        say("   skipped: optuna (not installed; pip install '.[bench]')")

    sizes = (100, 1000) if quick else (1000, 10000)
    say("2. growth: overhead per evaluation with the results directory, population 50, 30-epoch curves")
    per_eval = growth(sizes)
    for n, seconds in per_eval.items():
        say(f"   {n:6d} evaluations  {seconds * 1e3:7.3f} ms")
    ratio = per_eval[sizes[1]] / per_eval[sizes[0]]
    say(f"   {sizes[1]} / {sizes[0]} = {ratio:.2f}x  (target: within 1.5x)")

    cores = os.cpu_count() or 1
    n_jobs_list = [n for n in (1, 2, 4, 8, 16) if n <= cores]
    say(f"3. parallel speedup, digits MLP objective, population {population}, "
        f"{generations} generations, {cores} cores")
    times, n_evaluations = speedup(n_jobs_list, population, generations)
    ceiling = machine_ceiling(n_jobs_list, tasks=2 if quick else 8)
    for n_jobs, seconds in times.items():
        search_speedup = times[1] / seconds
        say(f"   n_jobs={n_jobs:<3d} {seconds:8.2f} s  {n_evaluations / seconds:6.2f} evaluations/s  "
            f"speedup {search_speedup:.2f}x  (machine ceiling {ceiling[n_jobs]:.2f}x: "
            f"{search_speedup / ceiling[n_jobs]:.0%} of it)")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.evaluations, args.population, args.generations = 100, 4, 0
    report(args.evaluations, args.population, args.generations, args.quick)


if __name__ == "__main__":
    main()
