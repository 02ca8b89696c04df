"""Evaluating batches of trials in parallel: loky worker processes, threads, or Dask.

Each trial runs through trial.run_trial, so a batch's outcomes are the same whichever
backend runs it, in whatever order and however many at once.

Isolation: with the "loky" backend every trial runs in a worker process, even with one job,
so nothing an objective does (sys.exit, KeyboardInterrupt, os._exit, a segfault, the OOM
killer) can end the search: it becomes that trial's failure. Parallel(in_process=True) runs
one job's trials in the search's own process instead, a little faster and without that
protection; the "threading" backend is always in process (threads cannot be isolated).

An evaluator that ends by an exception (KeyboardInterrupt, the SIGTERM of a cluster's time
limit) kills its worker processes at once instead of letting them train on, and removes its
temporary copy of the data. A search killed outright (SIGKILL) cannot: its workers notice
within a second that their parent is gone and exit, and the data copy it left is removed by
the next evaluator to start on this machine.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed, wait
from typing import Any

from joblib import Parallel, delayed

from . import numerics
from .errors import UserError
from .logs import logger
from .settings import BACKENDS  # noqa: F401  (re-exported: where trials can run)
from .trial import WORST_FITNESS, effective_n_jobs, run_trial

__all__ = ["BACKENDS", "Evaluator", "effective_n_jobs", "remove_stale_data_dirs"]


# The temporary copy of the data an evaluator memory-maps for its workers: hpsearch-data-
# <the owner's pid>-<random>, in the temporary folder.
DATA_DIR_PREFIX = "hpsearch-data-"
DATA_DIR = re.compile(re.escape(DATA_DIR_PREFIX) + r"(\d+)-[A-Za-z0-9_]+")
# Thread pool sizes of the numerical libraries, set in the workers' environment as joblib's
# loky backend does (each worker's share of the cores, unless set here already).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# Seconds an idle worker process waits for the next trial before it exits (joblib's default).
IDLE_WORKER_SECONDS = 300


def _indexed_trial(index, objective, task, timeout, blas_threads, interruptible=False):
    params, seed, *options = task  # a task is (params, seed) or (params, seed, options)
    outcome = run_trial(objective, params, seed, timeout, blas_threads, *options, interruptible=interruptible)
    outcome["numerics"] = numerics.current().record()  # taken off again by Evaluator.evaluate
    return index, outcome


def remove_stale_data_dirs(folder: str | None = None) -> list[str]:
    """Remove the temporary data copies in `folder` (the temporary folder by default) whose
    owner process no longer runs: directories named hpsearch-data-<pid>-*, owned by this
    user, whose pid is not a live process. Never a link (nor anything a link points to),
    never another name. Returns the paths removed."""
    folder = tempfile.gettempdir() if folder is None else folder
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = DATA_DIR.fullmatch(name)
        if not match:
            continue
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _running(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)  # rmtree does not follow links inside either
        removed.append(path)
    return removed


def _running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # PermissionError: it runs, as another user
    return True


def _exit_with(search_pid):
    """Worker initializer: end this worker within a second of the search process's death.
    A search killed outright (SIGKILL, the OOM killer) cannot stop its workers itself, and
    loky's would otherwise go on training, then idle for IDLE_WORKER_SECONDS."""
    import threading
    import time

    def watch():
        while os.getppid() == search_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="hpsearch-exit-with-search", daemon=True).start()


def _kill_workers(pool):
    """Kill the worker processes of a loky executor at once (running trials included) and
    remove joblib's temporary files of it."""
    if pool is None:
        return
    try:
        pool.terminate(kill_workers=True)
    except Exception:  # already shut down or broken: its workers are gone or going
        pass


class ObjectiveNotPicklable(ValueError):
    """The objective cannot be sent to worker processes."""


class Evaluator:
    """Evaluates batches of (params, seed) in parallel, isolating failures.

    Use as a context manager: the worker pool and the memory-mapped data live for the whole
    search; leaving it by an exception kills the workers (see the module docstring).

    backend "loky": each trial runs in one of n_jobs worker processes (one job too, unless
    in_process: then in this process). A worker process that dies (os._exit, segfault, OOM
    kill) fails the trials it was running and those queued behind it; they are re-run one at
    a time in a fresh worker, so only one that kills its worker again is recorded as failed.
    backend "threading": n_jobs threads of this process (no isolation).
    backend "dask" runs the trials on a Dask cluster instead (hpsearch.cluster): `scheduler`
    is its address ("tcp://host:8786") or "local" for an in-process LocalCluster of n_jobs
    single-threaded worker processes.

    numerics "portable" starts the worker processes with the portable kernels (hpsearch.
    numerics) and checks that every training ran with them; trials in this process (threading,
    in_process) need it started so. "native" lets each process use its CPU's own, and warns
    once if the trainings ran in more than one numeric environment (a mixed cluster).
    `environments` holds the environments the trainings ran in, as records, first seen first.
    """

    def __init__(self, objective: Callable[..., Any], n_jobs: int | None = 1,
                 timeout: float | None = None, blas_threads: int = 1, backend: str = "loky",
                 scheduler: str | None = None, in_process: bool = False, numerics: str = "native") -> None:
        self.objective = objective
        self.n_jobs = effective_n_jobs(n_jobs)
        self.timeout = timeout
        # Workers x BLAS threads must not exceed the cores, or they fight over them (on a Dask
        # cluster each worker applies this rule to its own machine).
        self.blas_threads = max(1, min(int(blas_threads), (os.cpu_count() or 1) // self.n_jobs))
        self.backend = backend
        # Trials in worker processes of this machine (loky), rather than in this process
        # (in_process with one job) or its threads.
        self.isolated = backend == "loky" and not (in_process and self.n_jobs == 1)
        self._tmpdir: str | None = None
        self._cluster = None
        self._pool: Any = None  # the loky executor the last batch ran on
        self.numerics = numerics
        self._kernel_env = _numerics_env(numerics, in_this_process=not self.isolated and backend != "dask")
        self.environments: list[dict[str, Any]] = []
        if backend == "dask":
            try:
                from .cluster import DaskCluster  # dask is an optional extra
            except ImportError as error:
                raise ValueError(f"backend 'dask' needs dask.distributed ({error}); "
                                 f"pip install 'hpsearch[dask]'") from None
            self._cluster = DaskCluster(objective, scheduler or "local", n_jobs=n_jobs,
                                        timeout=timeout, blas_threads=blas_threads, env=self._kernel_env)
        elif scheduler is not None:
            raise ValueError(f"scheduler is only used with backend 'dask', not {backend!r}")

    def __enter__(self) -> Evaluator:
        remove_stale_data_dirs()
        if self._cluster is not None:
            self._cluster.start()
        elif self.isolated and hasattr(self.objective, "memmap"):
            self._tmpdir = tempfile.mkdtemp(prefix=f"{DATA_DIR_PREFIX}{os.getpid()}-")
            try:
                self.objective.memmap(self._tmpdir)
            except BaseException:
                self.__exit__()
                raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc and exc[0] is not None:  # interrupted: stop the trials still running
                _kill_workers(self._pool)
                self._pool = None
            if self._cluster is not None:
                self._cluster.close()
        finally:
            if self._tmpdir:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def _threads(self, n_jobs):
        # One task per dispatch: trials last from milliseconds to minutes, and joblib's
        # automatic batching would group quick ones ahead of a slow one on one worker.
        return Parallel(n_jobs=n_jobs, backend="threading", batch_size=1, return_as="generator_unordered")

    def _workers(self, n_workers):
        """The loky executor of n_workers processes (kept warm between batches; a fresh one
        after a worker died). joblib's, so that the memory-mapped data reach the workers as
        file names, and large arrays of other objectives are memory-mapped too."""
        from joblib.executor import get_memmapping_executor

        threads = str(max(1, (os.cpu_count() or 1) // n_workers))
        env = {**{name: os.environ.get(name, threads) for name in THREAD_VARIABLES}, **self._kernel_env}
        self._pool = get_memmapping_executor(n_workers, timeout=IDLE_WORKER_SECONDS, env=env,
                                             initializer=_exit_with, initargs=(os.getpid(),))
        return self._pool

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
        An exception here (from on_result, or a KeyboardInterrupt) kills the running trials.
        """
        if not tasks:  # joblib refuses a pool of 0 workers
            return []
        outcomes: list[Any] = [None] * len(tasks)  # each filled in as its trial finishes

        def collect(results):
            for index, outcome in results:
                self._check_environment(outcome)
                outcomes[index] = outcome
                if on_result:
                    on_result(index, outcome)

        if self._cluster is not None:
            collect(self._cluster.run(tasks, self._dispatch_order(tasks)))
        elif self.isolated:
            try:
                self._in_workers(tasks, collect)
            except ObjectiveNotPicklable:
                raise
            except BaseException:
                _kill_workers(self._pool)
                self._pool = None
                raise
        elif self.n_jobs == 1:  # in this process: Ctrl-C (a KeyboardInterrupt) stops the search
            collect(_indexed_trial(i, self.objective, tasks[i], self.timeout, self.blas_threads,
                                   interruptible=True) for i in range(len(tasks)))
        else:
            results = self._threads(min(self.n_jobs, len(tasks)))(
                delayed(_indexed_trial)(i, self.objective, tasks[i], self.timeout, self.blas_threads)
                for i in self._dispatch_order(tasks))
            try:
                collect(results)
            finally:
                results.close()  # interrupted: joblib dispatches no more
        return outcomes

    def _check_environment(self, outcome: dict[str, Any]) -> None:
        """Take the numeric environment off a trial's outcome and keep it (a worker that died
        reports none); in the portable mode refuse a training that ran with other kernels."""
        record = outcome.pop("numerics", None)
        if record is None or record in self.environments:
            return
        environment = numerics.NumericEnvironment.from_record(record)
        if self.numerics == "portable" and not numerics.runs_portable_kernels(environment):
            where = f" on {outcome['worker']}" if outcome.get("worker") else ""
            raise numerics.EnvironmentMismatch(
                f"numerics 'portable': a training{where} ran with {environment.describe()}; start that "
                f"process with the variables `hpsearch numerics --export` prints")
        self.environments.append(record)
        lines = numerics.describe_all(self.environments)
        if len(lines) == 2 and environment.describe() == lines[1]:  # once, when a second one appears
            logger.warning("trainings ran in %d numeric environments (%s): which worker trains which "
                           "genome changes the last bits of the results; numerics = 'portable' makes "
                           "them identical", len(lines), " | ".join(lines))

    def _in_workers(self, tasks, collect):
        n_workers = min(self.n_jobs, len(tasks))

        def run(indices):
            """Submit the tasks at `indices` (started in that order); collect those that
            finish, return those whose worker died (theirs or another's: all in flight fail)."""
            pool = self._workers(n_workers)
            futures = [pool.submit(_indexed_trial, i, self.objective, tasks[i], self.timeout, self.blas_threads)
                       for i in indices]
            index_of = {future: i for future, i in zip(futures, indices)}
            lost = []
            for future in as_completed(futures):
                try:
                    result = future.result()
                except pickle.PicklingError as error:
                    wait(futures)  # they fail as fast; the workers stay as they are
                    raise ObjectiveNotPicklable(
                        f"cannot send the objective to a worker process ({_last_line(error)}); make it "
                        f"picklable (e.g. a module-level function or class), or with n_jobs = 1 run the "
                        f"trials in this process: in_process = true") from error
                except Exception as error:
                    if not _is_worker_death(error):
                        raise
                    lost.append((index_of[future], error))
                else:
                    collect([result])
            return sorted(lost, key=lambda item: item[0])

        for i, _ in run(self._dispatch_order(tasks)):
            lost = run([i])  # alone in a fresh worker: a second death is this trial's own doing
            if lost:
                reason = f"worker process died: {lost[0][1]}".splitlines()[0]
                collect([(i, {"status": "failed", "fitness": WORST_FITNESS, "seconds": math.nan,
                              "reason": reason, "worker": ""})])


def _numerics_env(mode: str, in_this_process: bool) -> dict[str, str]:
    """The kernel variables for the workers of `mode`; for trials in this process, a check
    that it was started with them (NumPy and BLAS chose their kernels when they loaded)."""
    env = numerics.check_mode(mode)
    if not env or numerics.runs_portable_kernels(numerics.current()):
        return env
    if in_this_process:
        raise UserError("numerics: 'portable' with trials in this process (backend 'threading' or "
                         "in_process) needs it started with the variables `hpsearch numerics --export` "
                         "prints; or run the trials in worker processes")
    logger.warning("numerics 'portable': the trainings run with the portable kernels, this process does "
                   "not (its own arithmetic, the model's screening, may round otherwise on another CPU); "
                   "start it with the variables `hpsearch numerics --export` prints to pin it too")
    return env


def _last_line(error):
    """The innermost error's line of a pickling error (loky chains the feeder's traceback)."""
    text = str(error.__cause__ or error)
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() != '"""']
    return lines[-1] if lines else type(error).__name__


def _is_worker_death(error):
    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    return isinstance(error, (TerminatedWorkerError, BrokenProcessPool))
