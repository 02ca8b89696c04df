"""Evaluating batches of trials in parallel: joblib (loky processes or threads) or Dask.

Each trial runs through trial.run_trial, so a batch's outcomes are the same whichever
backend runs it, in whatever order and however many at once.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from joblib import Parallel, delayed

from .trial import WORST_FITNESS, effective_n_jobs, run_trial

__all__ = ["BACKENDS", "Evaluator", "effective_n_jobs"]

# joblib's process and thread backends, or a Dask cluster (hpsearch.cluster).
BACKENDS = ("loky", "threading", "dask")


def _indexed_trial(index, objective, task, timeout, blas_threads):
    params, seed, *options = task  # a task is (params, seed) or (params, seed, options)
    return index, run_trial(objective, params, seed, timeout, blas_threads, *options)


class Evaluator:
    """Evaluates batches of (params, seed) in parallel through joblib, isolating failures.

    Use as a context manager: the worker pool and the memory-mapped data live for the whole
    search. A worker process that dies (os._exit, segfault, OOM kill) breaks joblib's batch;
    the trials it left unfinished are then re-run one at a time, so only the one that kills
    its worker again is recorded as failed.

    backend "dask" runs the trials on a Dask cluster instead (hpsearch.cluster): `scheduler`
    is its address ("tcp://host:8786") or "local" for an in-process LocalCluster of n_jobs
    single-threaded worker processes.
    """

    def __init__(self, objective: Callable[..., Any], n_jobs: int | None = 1,
                 timeout: float | None = None, blas_threads: int = 1, backend: str = "loky",
                 scheduler: str | None = None) -> None:
        self.objective = objective
        self.n_jobs = effective_n_jobs(n_jobs)
        self.timeout = timeout
        # Workers x BLAS threads must not exceed the cores, or they fight over them (on a Dask
        # cluster each worker applies this rule to its own machine).
        self.blas_threads = max(1, min(int(blas_threads), (os.cpu_count() or 1) // self.n_jobs))
        self.backend = backend
        self._tmpdir: str | None = None
        self._cluster = None
        if backend == "dask":
            try:
                from .cluster import DaskCluster  # dask is an optional extra
            except ImportError as error:
                raise ValueError(f"backend 'dask' needs dask.distributed ({error}); "
                                 f"pip install 'hpsearch[dask]'") from None
            self._cluster = DaskCluster(objective, scheduler or "local", n_jobs=n_jobs,
                                        timeout=timeout, blas_threads=blas_threads)
        elif scheduler is not None:
            raise ValueError(f"scheduler is only used with backend 'dask', not {backend!r}")

    def __enter__(self) -> Evaluator:
        if self._cluster is not None:
            self._cluster.start()
        elif self.n_jobs > 1 and self.backend != "threading" and hasattr(self.objective, "memmap"):
            self._tmpdir = tempfile.mkdtemp(prefix="hpsearch-data-")
            self.objective.memmap(self._tmpdir)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._cluster is not None:
            self._cluster.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _parallel(self, n_jobs):
        # One task per dispatch: trials last from milliseconds to minutes, and joblib's
        # automatic batching would group quick ones ahead of a slow one on one worker.
        return Parallel(n_jobs=n_jobs, backend=self.backend, batch_size=1,
                        return_as="generator_unordered")

    def _dispatch_order(self, tasks):
        """Longest first (by the objective's cost estimate, if it has one): the generation
        then ends with short trials filling the gaps instead of one long trial alone."""
        cost = getattr(self.objective, "cost", None)
        if cost is None:
            return list(range(len(tasks)))
        return sorted(range(len(tasks)), key=lambda i: -cost(tasks[i][0]))

    def evaluate(self, tasks: Sequence[tuple], on_result: Callable[[int, dict], Any] | None = None,
                 ) -> list[dict[str, Any]]:
        """Outcomes for tasks [(params, seed), ...], in task order.

        on_result(index, outcome) is called as each one finishes (for progress and journals).
        """
        if not tasks:  # joblib refuses a pool of 0 workers
            return []
        outcomes: list[Any] = [None] * len(tasks)  # each filled in as its trial finishes

        def collect(results):
            for index, outcome in results:
                outcomes[index] = outcome
                if on_result:
                    on_result(index, outcome)

        def calls(indices):
            return (delayed(_indexed_trial)(i, self.objective, tasks[i], self.timeout,
                                            self.blas_threads) for i in indices)

        if self._cluster is not None:
            collect(self._cluster.run(tasks, self._dispatch_order(tasks)))
            return outcomes
        if self.n_jobs == 1:
            collect(_indexed_trial(i, self.objective, tasks[i], self.timeout, self.blas_threads)
                    for i in range(len(tasks)))
            return outcomes
        try:
            collect(self._parallel(min(self.n_jobs, len(tasks)))(calls(self._dispatch_order(tasks))))
        except Exception as error:
            if not _is_worker_death(error):
                raise
            for i in [i for i, outcome in enumerate(outcomes) if outcome is None]:
                try:  # alone in a fresh worker: a second death is this trial's own doing
                    collect(self._parallel(2)(calls([i])))
                except Exception as again:
                    if not _is_worker_death(again):
                        raise
                    outcome = {"status": "failed", "fitness": WORST_FITNESS, "seconds": math.nan,
                               "reason": f"worker process died: {again}".splitlines()[0]}
                    collect([(i, outcome)])
        return outcomes


def _is_worker_death(error):
    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    return isinstance(error, (TerminatedWorkerError, BrokenProcessPool))
