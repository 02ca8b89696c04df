"""Turning hyperparameter dicts into scores: the MLP objective, trial seeds, parallel batches.

This is the only module that calls netcore. Workers receive plain dicts and integer seeds and
return plain dicts ("outcomes"); a trial's result depends on nothing else, so it is the same
whichever process runs it and however many run at once.
"""

import ctypes
import hashlib
import math
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import ThreadpoolController

import netcore

from .fidelity import below_threshold

# Trial statuses; every one but "ok" and "pruned" (stopped early by the multi-fidelity
# search: its fitness is the score it had reached) gets the worst fitness.
STATUSES = ("ok", "failed", "diverged", "timeout", "pruned")
SCORED_STATUSES = ("ok", "pruned")
WORST_FITNESS = -math.inf

# Timed forward passes over the validation set per latency measurement.
LATENCY_REPEATS = 3

# Hyperparameters the built-in objective understands, with the values used when the search
# space leaves one out.
MLP_DEFAULTS = {
    "learning_rate": 0.01,
    "momentum": 0.9,
    "nesterov": False,
    "hidden_sizes": (100,),
    "activation": "relu",
    "init": "he_uniform",
    "batch_size": 32,
    "epochs": 20,
    "weight_decay": 0.0,
    "lr_schedule": "constant",
}


def trial_seed(master_seed, key):
    """The training seed of the hyperparameters with canonical `key`, under `master_seed`.

    Derived from the parameters rather than from the trial's position, so equal parameters
    always train identically (a cache hit is exactly a re-run) and order never matters.
    """
    digest = hashlib.sha256(repr((int(master_seed), key)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class MLPObjective:
    """Train a netcore MLP with given hyperparameters on the training split and score it on
    the validation split: accuracy for classification, negative MSE for regression.

    splits: an object with X_train, y_train, X_val, y_val, X_test, y_test (float32 features;
    integer class labels 0..k-1 or float targets). The test split is only read by test_score.
    """

    def __init__(self, splits, task="classification", metric=None, early_stopping_patience=None,
                 time_budget=None):
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.task = task
        self.metric = metric or ("accuracy" if task == "classification" else "neg_mse")
        netcore.metrics.get_metric(self.metric)
        self.early_stopping_patience = early_stopping_patience
        self.time_budget = time_budget
        if task == "classification":
            self.n_outputs = int(max(splits.y_train.max(), splits.y_val.max())) + 1
        else:
            self.n_outputs = 1 if np.ndim(splits.y_train) == 1 else splits.y_train.shape[1]
        self.data = {}
        for part in ("train", "val", "test"):
            X, y = getattr(splits, f"X_{part}"), getattr(splits, f"y_{part}")
            if X is not None:
                self.data[f"X_{part}"] = np.ascontiguousarray(X, dtype=np.float32)
                self.data[f"Y_{part}"] = self._targets(y)

    def _targets(self, y):
        if self.task == "classification":
            if self.n_outputs == 2:
                return np.asarray(y, dtype=np.float32).reshape(-1, 1)
            return np.eye(self.n_outputs, dtype=np.float32)[np.asarray(y, dtype=np.int64)]
        return np.asarray(y, dtype=np.float32).reshape(len(y), -1)

    @property
    def head(self):
        if self.task == "regression":
            return "identity_mse"
        return "sigmoid_binary_cross_entropy" if self.n_outputs == 2 else "softmax_cross_entropy"

    def check_params(self, names):
        """Raise ValueError for hyperparameter names this objective does not use."""
        unknown = sorted(set(names) - set(MLP_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)} for the MLP objective; "
                             f"valid: {', '.join(sorted(MLP_DEFAULTS))}")

    def fingerprint(self):
        """Identity of this objective for resume checks: settings and a hash of the data."""
        digest = hashlib.sha256()
        for name in sorted(self.data):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.data[name]).data)
        return {"kind": "mlp", "task": self.task, "metric": self.metric,
                "early_stopping_patience": self.early_stopping_patience,
                "time_budget": self.time_budget, "data_sha256": digest.hexdigest()}

    def memmap(self, directory):
        """Store the arrays as .npy files in `directory` and use read-only memory maps of them,
        so worker processes receive a file name instead of a pickled copy of the data."""
        for name, array in self.data.items():
            path = os.path.join(directory, f"{name}.npy")
            np.save(path, array)
            self.data[name] = np.load(path, mmap_mode="r")

    def cost(self, params):
        """Relative training cost of params: multiply-adds per epoch plus per-batch overhead."""
        p = {**MLP_DEFAULTS, **params}
        sizes = (self.data["X_train"].shape[1], *p["hidden_sizes"], self.n_outputs)
        n = self.data["X_train"].shape[0]
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        batches = -(-n // p["batch_size"])
        return p["epochs"] * (n * weights + batches * 20_000)

    def _model_and_optimizer(self, p, init_seed, first_epoch=0):
        """A fresh MLP (weights drawn from init_seed) and its SGD for full params `p`; the
        learning-rate schedule runs over p["epochs"] epochs, starting at `first_epoch`."""
        sizes = (self.data["X_train"].shape[1], *p["hidden_sizes"], self.data["Y_train"].shape[1])
        model = netcore.MLP(sizes, activation=p["activation"], head=self.head, init=p["init"],
                            rng=np.random.default_rng(init_seed))
        schedule = netcore.make_schedule(p["lr_schedule"], p["epochs"])
        if first_epoch:
            schedule = _ShiftedSchedule(schedule, first_epoch)
        optimizer = netcore.SGD(model.params, learning_rate=p["learning_rate"], momentum=p["momentum"],
                                nesterov=p["nesterov"], weight_decay=p["weight_decay"],
                                decay_mask=model.param_is_weight, schedule=schedule)
        return model, optimizer

    def train(self, params, seed, X_val=None, Y_val=None, callback=None):
        """(model, history) of one training run with `params`, seeded by `seed`."""
        model, _, history = self._train(params, seed, X_val, Y_val, callback)
        return model, history

    def _train(self, params, seed, X_val=None, Y_val=None, callback=None, resume=None):
        self.check_params(params)
        p = {**MLP_DEFAULTS, **params}
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        X, Y = self.data["X_train"], self.data["Y_train"]
        model, optimizer = self._model_and_optimizer(p, init_seed)
        history = None
        if resume is not None:
            model.set_params(resume["params"])
            optimizer.load_state({"velocities": resume["velocities"],
                                  "current_learning_rate": optimizer.current_learning_rate})
            history = netcore.History(**{k: list(v) if isinstance(v, list) else v
                                         for k, v in resume["history"].items()})
        validation = (self.data["X_val"], self.data["Y_val"]) if X_val is None else (X_val, Y_val)
        history = netcore.fit(model, optimizer, X, Y, epochs=p["epochs"], batch_size=p["batch_size"],
                              rng=np.random.default_rng(shuffle_seed), validation_data=validation,
                              metric=self.metric, early_stopping_patience=self.early_stopping_patience,
                              callback=callback, time_budget=self.time_budget, history=history)
        return model, optimizer, history

    def continuable(self, params):
        """Whether a run of params can be continued to more epochs exactly as a longer run
        from scratch: not under early stopping (the kept weights are the best epoch's) nor
        with a learning-rate schedule stretched over the run's length (cosine)."""
        return self.early_stopping_patience is None and {**MLP_DEFAULTS, **params}["lr_schedule"] != "cosine"

    def __call__(self, params, seed, prune_below=None, resume=None, keep_state=False):
        """Train and score params. prune_below: per-epoch validation scores (index 0 = epoch 1;
        NaN: not judged) under which training stops with status "pruned".

        keep_state: where the run completed and is continuable(), return its weights, momentum
            velocities and history under "state" (how multi-fidelity search continues a
            promoted genome instead of retraining it).
        resume: such a state of a shorter run with the same params but "epochs" and the same
            seed; training goes on from it to params["epochs"]. The result equals a run from
            scratch; its "epochs_trained" counts only the epochs this call trained.
        """
        callback = None
        if prune_below:
            def callback(history):
                return below_threshold(history.val_metric, prune_below)
        if resume is not None and not self.continuable(params):
            raise ValueError("this run cannot be continued (early stopping or a cosine schedule)")
        first_epoch = len(resume["history"]["train_loss"]) if resume is not None else 0
        start = time.perf_counter()
        model, optimizer, history = self._train(params, seed, callback=callback, resume=resume)
        train_seconds = time.perf_counter() - start
        status = {"diverged": "diverged", "time_budget": "timeout", "stopped": "pruned"}.get(history.status, "ok")
        best = history.best_epoch if history.best_epoch is not None else history.epochs_run - 1
        # The restored weights are those of the best epoch under early stopping, else the last.
        epoch = best if self.early_stopping_patience is not None else history.epochs_run - 1
        return {
            "fitness": history.val_metric[epoch] if status in SCORED_STATUSES else WORST_FITNESS,
            "status": status,
            "reason": (f"pruned after epoch {history.epochs_run}: validation score "
                       f"{history.val_metric[-1]:.4g} < {prune_below[history.epochs_run - 1]:.4g}"
                       if status == "pruned" else history.reason if status != "ok" else ""),
            "val_metric": history.val_metric[epoch],
            "val_loss": history.val_loss[epoch],
            "train_loss": history.train_loss[epoch],
            "epochs_run": history.epochs_run,
            "epochs_trained": history.epochs_run - first_epoch,
            # Objectives for multi-objective search; the two times are measurements, so
            # they vary from run to run and with the machine's load.
            "n_params": model.n_params,
            "train_seconds": train_seconds,
            "latency": self.latency(model),
            "curve": {"train_loss": history.train_loss, "val_loss": history.val_loss,
                      "val_metric": history.val_metric},
            **({"state": {"params": model.params, "velocities": optimizer.velocities,
                          "history": history.as_dict()}}
               if keep_state and history.status == "completed" and self.continuable(params) else {}),
        }

    def latency(self, model):
        """Inference seconds per sample over the validation set, the best of a few passes
        (the minimum is the least disturbed by other work on the machine)."""
        X = self.data["X_val"]
        times = []
        for _ in range(LATENCY_REPEATS):
            start = time.perf_counter()
            model.forward(X)
            times.append(time.perf_counter() - start)
        return min(times) / len(X)

    def test_score(self, params, seed):
        """Retrain exactly as in the search and score the model on the test split."""
        if "X_test" not in self.data:
            raise ValueError("this objective's data has no test split")
        model, history = self.train(params, seed)
        P, loss = model.forward_with_loss(self.data["X_test"], self.data["Y_test"])
        metric = netcore.metrics.get_metric(self.metric)
        return {"test_metric": metric(self.data["Y_test"], P), "test_loss": loss,
                "status": history.status}

    def train_step(self, params, seed, *, first_epoch, epochs, load=None, save=None):
        """Train `epochs` more epochs from the state in file `load` (None: fresh weights from
        `seed`) and write the weights and momentum velocities reached to file `save` (unless
        training failed). For population-based training: the hyperparameters may differ from
        those the state was trained with, except the ones that shape the weights.

        params["epochs"] is the whole run's length (lr_schedule continues from `first_epoch`);
        the fitness is the last epoch's validation score (no early stopping within a step).
        """
        self.check_params(params)
        p = {**MLP_DEFAULTS, **params}
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        model, optimizer = self._model_and_optimizer(p, init_seed, first_epoch)
        if load is not None:
            netcore.load_training_state(load, model, optimizer)
        history = netcore.fit(model, optimizer, self.data["X_train"], self.data["Y_train"], epochs=epochs,
                              batch_size=p["batch_size"], rng=np.random.default_rng(shuffle_seed),
                              validation_data=(self.data["X_val"], self.data["Y_val"]),
                              metric=self.metric, time_budget=self.time_budget)
        status = {"diverged": "diverged", "time_budget": "timeout"}.get(history.status, "ok")
        if status == "ok" and save is not None:
            netcore.save_training_state(save, model, optimizer)
        return {"fitness": history.val_metric[-1] if status == "ok" else WORST_FITNESS,
                "status": status, "reason": history.reason if status != "ok" else "",
                "val_metric": history.val_metric[-1], "val_loss": history.val_loss[-1],
                "train_loss": history.train_loss[-1], "epochs_run": history.epochs_run,
                "curve": {"train_loss": history.train_loss, "val_loss": history.val_loss,
                          "val_metric": history.val_metric}}

    def state_test_score(self, params, path):
        """Score the weights that train_step saved in file `path` on the test split."""
        if "X_test" not in self.data:
            raise ValueError("this objective's data has no test split")
        model, optimizer = self._model_and_optimizer({**MLP_DEFAULTS, **params}, 0)
        netcore.load_training_state(path, model, optimizer)
        P, loss = model.forward_with_loss(self.data["X_test"], self.data["Y_test"])
        metric = netcore.metrics.get_metric(self.metric)
        return {"test_metric": metric(self.data["Y_test"], P), "test_loss": loss}


class _ShiftedSchedule:
    """A learning-rate schedule seen from `offset` epochs into the run: fit counts the epochs
    of each call from 0, a run continued in steps does not."""

    def __init__(self, schedule, offset):
        self.schedule, self.offset = schedule, offset

    def factor(self, epoch):
        return self.schedule.factor(self.offset + epoch)


class TrialTimeout(Exception):
    pass


@contextmanager
def _alarm(seconds):
    """Raise TrialTimeout in this thread after `seconds`."""
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _thread_alarm(seconds):
            yield
        return

    def expire(signum, frame):
        raise TrialTimeout(f"exceeded the {seconds:g} s timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _thread_alarm(seconds):
    """SIGALRM reaches only the main thread; in a worker thread (the threading backend, a Dask
    worker) a timer raises TrialTimeout in it as an asynchronous exception instead. Python
    delivers it between bytecodes, so a long NumPy call or sleep finishes first."""
    target = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    armed = [True]

    def expire():
        with lock:
            if armed[0]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(TrialTimeout))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            armed[0] = False
        timer.cancel()
        # One that fired but was not delivered yet must not hit the caller's next lines.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)


_controller = None


def _blas_limit(threads):
    # Finding the BLAS libraries scans the process's memory map (~5 ms): do it once per process.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")


def worker_name():
    """host:pid of this process, recorded with every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_trial(objective, params, seed, timeout=None, blas_threads=1, options=None):
    """Evaluate one parameter dict; never raises. Returns a plain outcome dict.

    options: extra keyword arguments for this call of the objective (the multi-fidelity
    search passes its pruning thresholds so)."""
    start = time.perf_counter()
    try:
        with _blas_limit(blas_threads), _alarm(timeout):
            metrics = objective(dict(params), seed, **(options or {}))
        outcome = _check_metrics(metrics)
    except TrialTimeout:
        outcome = {"status": "timeout", "reason": f"exceeded the {timeout:g} s timeout"}
    except Exception as error:  # an objective's bug must not end the search
        outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
    outcome["seconds"] = time.perf_counter() - start
    outcome["worker"] = worker_name()
    if outcome["status"] not in SCORED_STATUSES:
        outcome["fitness"] = WORST_FITNESS
    return outcome


def _check_metrics(metrics):
    if not isinstance(metrics, dict):
        return {"status": "failed", "reason": f"objective returned {type(metrics).__name__}, not a dict"}
    outcome = dict(metrics)
    status = outcome.setdefault("status", "ok")
    if status not in STATUSES:
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


def _indexed_trial(index, objective, task, timeout, blas_threads):
    params, seed, *options = task  # a task is (params, seed) or (params, seed, options)
    return index, run_trial(objective, params, seed, timeout, blas_threads, *options)


def effective_n_jobs(n_jobs):
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else int(n_jobs)


BACKENDS = ("loky", "threading", "dask")


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

    def __init__(self, objective, n_jobs=1, timeout=None, blas_threads=1, backend="loky",
                 scheduler=None):
        self.objective = objective
        self.n_jobs = effective_n_jobs(n_jobs)
        self.timeout = timeout
        # Workers x BLAS threads must not exceed the cores, or they fight over them (on a Dask
        # cluster each worker applies this rule to its own machine).
        self.blas_threads = max(1, min(int(blas_threads), (os.cpu_count() or 1) // self.n_jobs))
        self.backend = backend
        self._tmpdir = None
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

    def __enter__(self):
        if self._cluster is not None:
            self._cluster.start()
        elif self.n_jobs > 1 and self.backend != "threading" and hasattr(self.objective, "memmap"):
            self._tmpdir = tempfile.mkdtemp(prefix="hpsearch-data-")
            self.objective.memmap(self._tmpdir)
        return self

    def __exit__(self, *exc):
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

    def evaluate(self, tasks, on_result=None):
        """Outcomes for tasks [(params, seed), ...], in task order.

        on_result(index, outcome) is called as each one finishes (for progress and journals).
        """
        outcomes = [None] * len(tasks)

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
