"""Running trials on a Dask cluster: a scheduler's address, or an in-process LocalCluster.

The objective (with the training data it holds) is scattered to every worker once; each task
then carries only a params dict and a seed, and returns run_trial's plain outcome dict. At
most one trial per worker thread is in flight, so a worker that dies takes only the trials it
was running with it. Such a trial is re-run by the scheduler on another worker up to its
`distributed.scheduler.allowed-failures` times (3 by default; 0 on the local cluster). If it
still has not finished, it runs once more, alone on the cluster once every other trial of the
generation is done: a worker dying again is then its own doing, and it is recorded as failed.
So worker loss never changes a trial's outcome, and the search equals a local run.

Dask's active memory manager drops replicas that no queued task needs (its ReduceReplicas
policy, on by default), so between generations it would undo the broadcast and each worker
would fetch and unpickle the data again. The local cluster runs without that policy; on a
cluster of your own, set `distributed.scheduler.active-memory-manager.policies: []` on the
scheduler to get the same (results do not depend on it, only the traffic does).

Imported only when the "dask" backend is chosen: dask[distributed] is an optional extra.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import dask
from distributed import Client, KilledWorker, LocalCluster, as_completed, get_worker
from distributed.client import FutureCancelledError
from distributed.comm import get_address_host

from . import numerics
from .trial import WORST_FITNESS, effective_n_jobs, run_trial

# The scheduler setting that keeps the broadcast objective on every worker (see above).
KEEP_REPLICAS: dict[str, Any] = {"distributed.scheduler.active-memory-manager.policies": []}
WORKER_DIED = "worker process died on every attempt (Dask KilledWorker)"
# A trial's worker died too often, or (cancelled) the last worker holding the scattered
# objective died before the trial started: either way it is re-run.
LOST = (KilledWorker, FutureCancelledError)


def _trial_on_worker(objective, params, seed, timeout, blas_threads, host_threads, options=None):
    """run_trial on a Dask worker, its BLAS threads capped so that every trial thread on this
    machine (host_threads: worker threads per host, from the scheduler) gets its share of the
    cores and no more."""
    worker = get_worker()
    threads = host_threads.get(get_address_host(worker.address), worker.state.nthreads)
    blas_threads = max(1, min(blas_threads, (os.cpu_count() or 1) // threads))
    outcome = run_trial(objective, params, seed, timeout, blas_threads, options)
    outcome["numerics"] = numerics.current().record()  # taken off by the Evaluator
    return outcome


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ with `env` added, for the processes started meanwhile."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Where the local cluster's dashboard listens: loopback only (it has no login, and shows and
# can stop the work), on a free port; see DaskCluster.
LOCAL_DASHBOARD = "127.0.0.1:0"


class DaskCluster:
    """Trials on the Dask cluster at `scheduler` ("tcp://host:8786", or "local": a LocalCluster
    of n_jobs single-threaded worker processes on loopback, started and stopped here).

    n_jobs caps the trials in flight on a remote cluster (negative: one per worker thread).
    dashboard_address: where the local cluster's dashboard listens (Dask's "host:port"; None
    turns it off). Loopback by default: its scheduler, workers and dashboard are reachable
    from this machine only (the dashboard has no login); use an SSH tunnel to see it from
    elsewhere, or pass "0.0.0.0:8787" knowingly.
    env: environment variables the local cluster's worker processes start with (the kernel
    variables of hpsearch.numerics); a cluster of your own starts its workers itself.
    """

    def __init__(self, objective: Callable[..., Any], scheduler: str, n_jobs: int | None = -1,
                 timeout: float | None = None, blas_threads: int = 1,
                 dashboard_address: str | None = LOCAL_DASHBOARD, env: dict[str, str] | None = None) -> None:
        self.objective = objective
        self.env = dict(env or {})
        self.dashboard_address = dashboard_address
        self.scheduler = scheduler
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.blas_threads = int(blas_threads)
        self.client: Any = None
        self._local: Any = None
        self._scattered: Any = None

    def start(self) -> None:
        if self.scheduler == "local":
            # Processes, not threads: trials hold the GIL between NumPy calls. The kernel
            # variables must be there before a worker loads NumPy: its nanny and every worker
            # it starts inherit them from this environment.
            with dask.config.set(KEEP_REPLICAS), _environment(self.env):
                self._local = LocalCluster(n_workers=effective_n_jobs(self.n_jobs), threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=self.dashboard_address,
                                           silence_logs=logging.ERROR,
                                           scheduler_kwargs={"allowed_failures": 0})
            self.client = Client(self._local)
        else:
            try:
                self.client = Client(self.scheduler, timeout=30)
            except OSError as error:
                raise ConnectionError(f"cannot connect to the Dask scheduler at {self.scheduler}: "
                                      f"{str(error).splitlines()[0]}") from None
        self._scattered = None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def _objective_future(self):
        # Scattered once; again only if every worker holding it was lost.
        if self._scattered is None or self._scattered.status != "finished":
            self._scattered = self.client.scatter(self.objective, broadcast=True, hash=False)
        return self._scattered

    def _layout(self):
        """(trials to keep in flight, worker threads per host), waiting for a first worker."""
        threads = self.client.nthreads()  # {worker address: threads}
        if not threads:
            self.client.wait_for_workers(1)
            threads = self.client.nthreads()
        host_threads = {}
        for address, n in threads.items():
            host = get_address_host(address)
            host_threads[host] = host_threads.get(host, 0) + n
        slots = sum(host_threads.values())
        if self._local is None and self.n_jobs > 0:
            slots = min(slots, self.n_jobs)
        return max(1, slots), host_threads

    def run(self, tasks: Sequence[tuple[Any, ...]], order: Iterable[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (index, outcome) for tasks [(params, seed), ...] as they finish, started in
        `order` (indices into tasks)."""
        if not tasks:
            return
        slots, host_threads = self._layout()

        def submit(i):
            params, seed, *options = tasks[i]  # options: see trial.run_trial
            return self.client.submit(_trial_on_worker, self._objective_future(), params, seed,
                                      self.timeout, self.blas_threads, host_threads, *options,
                                      pure=False)

        waiting = iter(order)
        running = as_completed(loop=self.client.loop)  # not the default client's: the user may have another
        index_of: dict[Any, int] = {}

        def submit_next():
            i = next(waiting, None)
            if i is not None:
                future = submit(i)
                index_of[future.key] = i
                running.add(future)

        for _ in range(slots):
            submit_next()
        orphans = []
        for future in running:
            i = index_of.pop(future.key)
            try:
                outcome = future.result()
            except LOST:
                orphans.append(i)
            else:
                yield i, outcome
            submit_next()
        for i in orphans:  # alone on the cluster: a death now is this trial's own doing
            try:
                yield i, submit(i).result()
            except LOST:
                yield i, {"status": "failed", "fitness": WORST_FITNESS, "seconds": float("nan"),
                          "reason": WORKER_DIED, "worker": ""}
