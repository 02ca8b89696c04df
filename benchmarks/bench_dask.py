"""The Dask backend against loky, side by side on one machine (a LocalCluster on loopback).

1. Overhead per evaluation: the same GA search of a trivial objective (default six-gene
   space), 2 workers each: loky's warm process pool, and a running 2-worker LocalCluster
   reached by its address, as a remote cluster would be (every trial a task and a round trip
   through the scheduler). Also in-process (n_jobs=1) for reference, and the seconds that
   starting and stopping a "local" cluster add to a search.
2. Speedup: a digits MLP search (the built-in objective) at n_jobs=1 (in-process) and on the
   running 2-worker LocalCluster, with loky at n_jobs=2 beside it.

    python benchmarks/bench_dask.py            # full (~3 min on 2 cores)
    python benchmarks/bench_dask.py --quick    # smoke run
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import trivial, warm_worker
from hpsearch import GeneticSearch, default_space, load_dataset, scale_splits, split_dataset


def timed_search(objective, evaluations=None, population=20, generations=10**6, **parallel):
    start = time.perf_counter()
    result = GeneticSearch(default_space(), objective, population=population, generations=generations,
                           max_evaluations=evaluations, seed=0, quiet=True, **parallel).run()
    return time.perf_counter() - start, int((~result.trials["cached"]).sum()), result


def report(evaluations=500, population=16, generations=4, emit=print):
    """Run both measurements; emit (and return) the report's lines."""
    from distributed import LocalCluster

    lines = []

    def say(line):
        lines.append(line)
        emit(line)

    load = os.getloadavg()[0]
    say(f"{os.cpu_count()} cores, load average {load:.2f} at the start")
    Parallel(n_jobs=2)(delayed(warm_worker)(i) for i in range(4))  # loky's pool, warm
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        # n_jobs=-1: one trial in flight per worker thread (n_jobs caps them on a remote cluster).
        dask = {"backend": "dask", "scheduler": cluster.scheduler_address, "n_jobs": -1}
        timed_search(trivial, 40, **dask)  # imports hpsearch on the workers

        say(f"1. overhead per evaluation, trivial objective, {evaluations} evaluations, 2 workers")
        seconds, n, _ = timed_search(trivial, evaluations, n_jobs=1, in_process=True)
        in_process = seconds / n
        say(f"   in-process (n_jobs=1)            {in_process * 1e3:7.3f} ms")
        seconds, n, _ = timed_search(trivial, evaluations, n_jobs=2)
        loky = seconds / n
        say(f"   loky, n_jobs=2                   {loky * 1e3:7.3f} ms")
        seconds, n, _ = timed_search(trivial, evaluations, **dask)
        per_dask = seconds / n
        say(f"   dask, 2-worker LocalCluster      {per_dask * 1e3:7.3f} ms  "
            f"(dask / loky = {per_dask / loky:.2f})")
        start = time.perf_counter()
        timed_search(trivial, 4, population=4, n_jobs=2, backend="dask", scheduler="local")
        say(f"   scheduler = \"local\": starting and stopping the cluster adds "
            f"{time.perf_counter() - start:.1f} s per search")

        say(f"2. speedup, digits MLP objective, population {population}, {generations} generations")
        splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
        times = {}
        for name, parallel in (("in-process, n_jobs=1", {"n_jobs": 1, "in_process": True}),
                               ("loky, n_jobs=2", {"n_jobs": 2}), ("dask, 2-worker LocalCluster", dask)):
            times[name], n, result = timed_search(splits, population=population, generations=generations,
                                                  **parallel)
            say(f"   {name:28s} {times[name]:7.2f} s  {n / times[name]:6.2f} evaluations/s  "
                f"speedup {times['in-process, n_jobs=1'] / times[name]:.2f}x  "
                f"(best {result.best_score:.4f})")
        ratio = times["dask, 2-worker LocalCluster"] / times["loky, n_jobs=2"]
        say(f"   dask / loky time = {ratio:.2f}")
    say(f"load average {os.getloadavg()[0]:.2f} at the end")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=500)
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.evaluations, args.population, args.generations = 60, 4, 0
    report(args.evaluations, args.population, args.generations)


if __name__ == "__main__":
    main()
