"""Running one trial safely: its seed, a time limit, a BLAS thread cap, and an outcome dict.

run_trial never raises: an objective's exception (SystemExit and KeyboardInterrupt raised by
the objective too), a timeout or a malformed result becomes an outcome with a status, so one
bad trial cannot end a search. The one exception: run in the search's own process and main
thread (interruptible=True), a KeyboardInterrupt ends the search, since it may be Ctrl-C or the
search's SIGTERM handler rather than the objective's doing. Workers receive plain dicts and
integer seeds and return plain dicts ("outcomes"); a trial's result depends on nothing else,
so it is the same whichever process runs it and however many run at once.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from .status import OBJECTIVE_STATUSES, SCORED_STATUSES

# The fitness of a training without a score (hpsearch.status.FAILED_STATUSES).
WORST_FITNESS = -math.inf


def trial_seed(master_seed: int, key: Any) -> int:
    """The training seed of the hyperparameters with canonical `key`, under `master_seed`.

    Derived from the parameters rather than from the trial's position, so equal parameters
    always train identically (a cache hit is exactly a re-run) and order never matters.
    """
    digest = hashlib.sha256(repr((int(master_seed), key)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1



class TrialTimeout(BaseException):
    """A trial ran past its timeout. A BaseException, like KeyboardInterrupt, so that an
    objective's `except Exception` does not swallow it."""


class _Expiry:
    """What an alarm knows: whether it went off (a trial that caught TrialTimeout and
    returned a result all the same still ran out of time)."""

    fired = False


# After the first TrialTimeout, an alarm raises it again every so often (an objective that
# catches and ignores it is stopped at the next one), never more than once a second.
REPEAT_SECONDS = 1.0


@contextmanager
def _alarm(seconds):
    """Raise TrialTimeout in this thread after `seconds`, and again every REPEAT_SECONDS
    until the block ends; yields an _Expiry."""
    expiry = _Expiry()
    if not seconds:
        yield expiry
        return
    if threading.current_thread() is not threading.main_thread():
        with _thread_alarm(seconds, expiry):
            yield expiry
        return

    live = [True]

    def expire(signum, frame):
        if live[0]:
            expiry.fired = True
            raise TrialTimeout(f"exceeded the {seconds:g} s timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, min(seconds, REPEAT_SECONDS))
    try:
        yield expiry
    finally:
        while live[0]:  # an alarm at the start of this block must not leave the timer running
            try:
                live[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            except TrialTimeout:
                live[0] = True
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _thread_alarm(seconds, expiry):
    """SIGALRM reaches only the main thread; in a worker thread (the threading backend, a Dask
    worker) a timer raises TrialTimeout in it as an asynchronous exception instead. Python
    delivers it between bytecodes, so a long NumPy call or sleep finishes first."""
    target = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    disarmed = threading.Event()

    def expire():
        wait = seconds
        while not disarmed.wait(wait):
            with lock:
                if disarmed.is_set():
                    return
                expiry.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(TrialTimeout))
            wait = min(seconds, REPEAT_SECONDS)

    timer = threading.Thread(target=expire, name="hpsearch-trial-timeout", daemon=True)
    timer.start()
    try:
        yield
    finally:
        with lock:
            disarmed.set()
        # One that fired but was not delivered yet must not hit the caller's next lines.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)


_controller = None


def _blas_limit(threads):
    # Finding the BLAS libraries scans the process's memory map (~5 ms): do it once per process.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")


def worker_name() -> str:
    """host:pid of this process, recorded with every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_trial(objective: Callable[..., Any], params: Mapping[str, Any], seed: int,
              timeout: float | None = None, blas_threads: int = 1,
              options: Mapping[str, Any] | None = None, interruptible: bool = False) -> dict[str, Any]:
    """Evaluate one parameter dict; never raises. Returns a plain outcome dict.

    options: extra keyword arguments for this call of the objective (the multi-fidelity
    search passes its pruning thresholds so).
    interruptible: let a KeyboardInterrupt through (the search runs this trial in its own
    process and main thread, where one may be Ctrl-C or a SIGTERM handler's). Otherwise
    (a worker process or thread) it is the objective's own, and the trial fails."""
    start = time.perf_counter()
    try:
        with _blas_limit(blas_threads), _alarm(timeout) as expiry:
            metrics = objective(dict(params), seed, **(options or {}))
        # Returned after the alarm went off: the objective caught TrialTimeout.
        outcome = _timed_out(timeout) if expiry.fired else _check_metrics(metrics)
    except TrialTimeout:
        outcome = _timed_out(timeout)
    except KeyboardInterrupt as error:
        if interruptible:
            raise
        outcome = _failed(error)
    except BaseException as error:  # an objective's bug, even sys.exit(), must not end the search
        outcome = _failed(error)
    outcome["seconds"] = time.perf_counter() - start
    outcome["worker"] = worker_name()
    if outcome["status"] not in SCORED_STATUSES:
        outcome["fitness"] = WORST_FITNESS
    return outcome


def _timed_out(timeout):
    return {"status": "timeout", "reason": f"exceeded the {timeout:g} s timeout"}


def _failed(error):
    message = str(error)
    name = type(error).__name__
    return {"status": "failed", "reason": f"{name}: {message}" if message else name}


def _check_metrics(metrics):
    # A plain number (not a bool, which is no score) is the fitness.
    if isinstance(metrics, (int, float, np.integer, np.floating)) and not isinstance(metrics, (bool, np.bool_)):
        metrics = {"fitness": metrics}
    if not isinstance(metrics, dict):
        return {"status": "failed",
                "reason": f"objective returned {type(metrics).__name__}, not a dict or a number"}
    outcome = dict(metrics)
    status = outcome.setdefault("status", "ok")
    if status not in OBJECTIVE_STATUSES:
        return {"status": "failed", "reason": f"objective returned unknown status {status!r}"}
    outcome.setdefault("reason", "")
    if status in SCORED_STATUSES:
        fitness = outcome.get("fitness")
        if not isinstance(fitness, (int, float, np.integer, np.floating)) or isinstance(fitness, bool):
            return {"status": "failed", "reason": f"objective returned fitness {fitness!r}, not a number"}
        if not math.isfinite(fitness):
            return {"status": "failed", "reason": f"objective returned non-finite fitness {fitness}"}
        outcome["fitness"] = float(fitness)
    return outcome


def effective_n_jobs(n_jobs: int | None) -> int:
    """Worker count for joblib-style n_jobs: None or 0 -> 1, -1 -> all cores, -2 -> all but one."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else int(n_jobs)
