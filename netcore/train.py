"""The training loop: epochs of shuffled mini-batches, validation, early stopping, budgets.

fit() never raises on a numerical blow-up: a non-finite loss or weight ends training at once
with History.status == "diverged". Everything random comes from the Generator passed in.
"""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._types import Array, MetricFn, Seed
from .metrics import default_metric, get_metric
from .network import MLP
from .optim import SGD

# Batches between optimizer.flush_subnormal_velocities() calls: an element's velocity spends
# at most this many steps subnormal (instead of ~150 at momentum 0.9), for three passes over
# the velocities (~1-2 % of a batch-8 step of 784-256-128-10); also after each epoch.
FLUSH_EVERY = 16

# Why a run stopped. "completed" ran every epoch; the others stopped early.
STATUSES = ("completed", "early_stopped", "stopped", "time_budget", "diverged")


@dataclass
class History:
    """Per-epoch record of a training run (lists indexed by epoch, 0-based)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    status: str = "completed"
    reason: str = ""
    best_epoch: int | None = None
    metric: str = ""
    # The batch loss above which the run counts as diverged (set by the first batch).
    divergence_limit: float = math.inf

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "train_loss": list(self.train_loss), "val_loss": list(self.val_loss),
            "val_metric": list(self.val_metric), "learning_rate": list(self.learning_rate),
            "seconds": list(self.seconds), "status": self.status, "reason": self.reason,
            "best_epoch": self.best_epoch, "metric": self.metric,
            "divergence_limit": self.divergence_limit,
        }


def check_array(name: str, A: ArrayLike, dtype: DTypeLike, ndim: int = 2) -> Array:
    """A as a C-contiguous array of `dtype` (copied only when needed), checked for shape and NaN."""
    A = np.asarray(A)
    if A.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {A.dtype}")
    if A.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {A.shape}")
    if A.shape[0] == 0 or A.size == 0:
        raise ValueError(f"{name} is empty (shape {A.shape})")
    A = np.ascontiguousarray(A, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        # A finite sum proves every element finite, without a bool array the size of A;
        # only a sum that overflowed (or real NaN/inf) needs the element-wise look.
        suspicious = not np.isfinite(A.sum())
    if suspicious and not np.isfinite(A).all():
        bad = np.flatnonzero(~np.isfinite(A).reshape(A.shape[0], -1).all(axis=1))
        raise ValueError(f"{name} contains NaN or infinity in {bad.size} row(s), first at row {bad[0]}")
    return A


def check_data(model: MLP, X: ArrayLike, Y: ArrayLike, name: str = "X") -> tuple[Array, Array]:
    X = check_array(name, X, model.dtype)
    Y = check_array("Y" if name == "X" else "Y_val", Y, model.dtype)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"{name} has {X.shape[0]} samples but its targets have {Y.shape[0]}")
    if X.shape[1] != model.layer_sizes[0]:
        raise ValueError(f"{name} has {X.shape[1]} features but the model expects {model.layer_sizes[0]}")
    if Y.shape[1] != model.layer_sizes[-1]:
        raise ValueError(
            f"targets have {Y.shape[1]} columns but the model has {model.layer_sizes[-1]} outputs")
    model.head.check_targets(Y)
    return X, Y


def _all_finite(arrays: Iterable[Array]) -> bool:
    # A finite sum proves every element finite in one pass and no temporary; only a sum that
    # overflowed (or real NaN/inf) needs the element-wise look.
    return all(np.isfinite(np.add.reduce(a, axis=None)) or np.isfinite(a).all() for a in arrays)


def evaluate(model: MLP, X: Array, Y: Array, metric: MetricFn) -> tuple[float, float]:
    """(loss, metric) of the model on (X, Y)."""
    P, loss = model.forward_with_loss(X, Y)
    return loss, metric(Y, P)


def fit(model: MLP, optimizer: SGD, X: ArrayLike, Y: ArrayLike, *, epochs: int, batch_size: int,
        rng: Seed = None, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        metric: str | MetricFn | None = None, early_stopping_patience: int | None = None,
        monitor: str = "val_loss", min_delta: float = 0.0,
        callback: Callable[[History], object] | None = None, time_budget: float | None = None,
        divergence_factor: float = 1e4, history: History | None = None) -> History:
    """Train `model` with `optimizer` on targets Y (2-D, one row per sample of X).

    Args:
        model: the network to train, in place.
        optimizer: the SGD optimiser over ``model.params``.
        X: inputs, one row per sample.
        Y: targets, 2-D, one row per sample of X (one-hot for a softmax head).
        epochs: passes over the data.
        batch_size: samples per update, from 1 (online) to len(X) (full batch; larger is
            clamped).
        rng: the seed (or Generator) of the shuffle order.
        validation_data: (X_val, Y_val), scored after every epoch with `metric` (higher is
            better; a name from netcore.metrics or a callable (Y, P) -> float).
        metric: see validation_data.
        early_stopping_patience: stop after that many epochs without improving `monitor`
            by more than min_delta, and restore the best weights.
        monitor: "val_loss" or "val_metric", what early stopping watches.
        min_delta: the least change that counts as an improvement.
        callback: called as callback(history) after each epoch; a true result stops training
            (status "stopped"), which is how a search prunes a hopeless trial.
        time_budget: seconds; training stops after the batch that exceeds it.
        divergence_factor: a batch loss above this multiple of the first batch's loss counts
            as diverged, like a non-finite loss or weight: bounded-output heads (softmax) can
            blow up their weights to 1e9 and beyond while the loss stays finite.
        history: the History of a completed earlier call with this model and optimiser (left
            as that call left them), the same data, batch_size and rng seed: training goes on
            from its last epoch up to `epochs`, appending to it, with the shuffle order,
            learning rate and divergence limit that run had reached, so the result is exactly
            that of one call with `epochs` (which is how a search continues a promoted trial
            instead of retraining it). Not with early stopping, whose restored weights are
            not the run's last.

    Returns:
        The History: per-epoch losses and scores, and how the training ended (status
        "completed", "early_stopped", "time_budget", "stopped" or "diverged").
    """
    _check_settings(epochs, batch_size, monitor, time_budget, early_stopping_patience,
                    validation_data is not None, history)
    X, Y = check_data(model, X, Y)
    validation = None if validation_data is None else check_data(model, *validation_data, name="X_val")
    metric_name = metric if isinstance(metric, str) else getattr(metric, "__name__", "")
    metric_fn = get_metric(metric or default_metric(model.head))
    if history is None:
        history = History(metric=metric_name or default_metric(model.head))
    run = _Run.start(history, X.shape[0], min(int(batch_size), X.shape[0]), np.random.default_rng(rng),
                     validation is not None, monitor, time_budget, divergence_factor)

    # Overflow inside a diverging run is expected and handled through the status below.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(history.epochs_run, epochs):
            epoch_start = time.perf_counter()
            history.learning_rate.append(optimizer.start_epoch(epoch))
            loss_sum, seen, out_of_time = _train_epoch(model, optimizer, X, Y, run, history, epoch)
            _record_epoch(model, history, epoch, loss_sum, seen, validation, metric_fn, epoch_start)
            if history.diverged or _should_stop(model, history, run, epoch, out_of_time, callback,
                                                early_stopping_patience, min_delta):
                break

    if run.best_params is not None and history.status != "diverged":
        model.set_params(run.best_params)
    if validation is None and not history.diverged:
        history.best_epoch = history.epochs_run - 1
    return history


def _check_settings(epochs: int, batch_size: int, monitor: str, time_budget: float | None,
                    early_stopping_patience: int | None, validates: bool, history: History | None) -> None:
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if monitor not in ("val_loss", "val_metric"):
        raise ValueError(f"monitor must be 'val_loss' or 'val_metric', got {monitor!r}")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if early_stopping_patience is not None and early_stopping_patience < 1:
        raise ValueError(f"early_stopping_patience must be >= 1, got {early_stopping_patience!r}")
    if early_stopping_patience is not None and not validates:
        raise ValueError("early stopping needs validation_data")
    if history is not None:
        if history.status != "completed":
            raise ValueError(f"only a completed run can be continued, this one is {history.status}")
        if early_stopping_patience is not None:
            raise ValueError("a run with early stopping cannot be continued: its weights are "
                             "the best epoch's, not the last epoch's")
        if epochs < history.epochs_run:
            raise ValueError(f"epochs ({epochs}) is below the {history.epochs_run} the run already trained")


@dataclass
class _Run:
    """What fit carries from epoch to epoch besides the History."""

    batch_size: int
    order: NDArray[np.intp] | None  # the sample order, shuffled in place every epoch; None: full batch
    rng: np.random.Generator
    validates: bool
    monitor: str
    time_budget: float | None
    deadline: float | None  # perf_counter() time past which training stops
    divergence_factor: float
    best_score: float = math.inf
    best_params: list[Array] | None = None
    since_best: int = 0

    @classmethod
    def start(cls, history: History, n: int, batch_size: int, rng: np.random.Generator, validates: bool,
              monitor: str, time_budget: float | None, divergence_factor: float) -> "_Run":
        """The state at history's end: a fresh run, or one continued after its last epoch."""
        order = None if batch_size == n else np.arange(n)
        if order is not None:
            for _ in range(history.epochs_run):  # the order is shuffled in place: replay the earlier epochs'
                rng.shuffle(order)
        run = cls(batch_size, order, rng, validates, monitor, time_budget, None, divergence_factor)
        if history.epochs_run and validates and history.best_epoch is not None:
            best = history.best_epoch
            run.best_score = history.val_loss[best] if monitor == "val_loss" else -history.val_metric[best]
            run.since_best = history.epochs_run - 1 - best
        if time_budget is not None:
            run.deadline = time.perf_counter() + time_budget
        return run


def _train_epoch(model: MLP, optimizer: SGD, X: Array, Y: Array, run: _Run, history: History,
                 epoch: int) -> tuple[float, int, bool]:
    """One pass over the data in mini-batches: (sum of batch losses x rows, rows seen, out of
    time). A diverging batch sets history's status and ends the epoch."""
    n, batch_size, order = X.shape[0], run.batch_size, run.order
    step = model.training_step(batch_size)
    # The update rides on the gradient products (optim.FusedSGD) where the optimiser's
    # parameters are the model's; otherwise gradients first, then optimizer.step().
    fused = optimizer.fused_update(model.weights, model.biases)
    gather, forward, backward = step.gather, step.forward, step.backward
    sink, update, grads = fused or step.gradients, optimizer.step, model.grads
    # After every FLUSH_EVERY-th batch of an epoch and after its last (epochs of fewer batches,
    # full batch): fixed places, so that a continued run flushes where one long run does.
    flush, flush_period = optimizer.flush_subnormal_velocities, FLUSH_EVERY * batch_size
    if order is not None:
        run.rng.shuffle(order)
    loss_limit, deadline = history.divergence_limit, run.deadline
    loss_sum, seen = 0.0, 0
    for start in range(0, n, batch_size):
        xb, yb = (X, Y) if order is None else gather(X, Y, order[start:start + batch_size])
        loss = forward(xb, yb)
        if not (math.isfinite(loss) and loss <= loss_limit):
            history.status = "diverged"
            what = "non-finite" if not math.isfinite(loss) else f"exploded ({loss:.3g})"
            history.reason = f"training loss {what} in epoch {epoch + 1}"
            break
        if loss_limit == math.inf:
            loss_limit = run.divergence_factor * max(loss, cast(float, np.finfo(model.dtype).tiny))
            history.divergence_limit = loss_limit
        backward(sink)
        if fused is None:
            update(grads)
        if (start + batch_size) % flush_period == 0:
            flush()
        rows = xb.shape[0]
        loss_sum += loss * rows
        seen += rows
        if deadline is not None and time.perf_counter() > deadline:
            flush()  # leaves the velocities settled (optim.FusedSGD), as every epoch's end does
            return loss_sum, seen, True
    flush()
    return loss_sum, seen, False


def _record_epoch(model: MLP, history: History, epoch: int, loss_sum: float, seen: int,
                  validation: tuple[Array, Array] | None, metric: MetricFn, epoch_start: float) -> None:
    """Append the epoch's training loss, validation scores and duration to history."""
    if history.status != "diverged" and not _all_finite(model.weights):
        history.status = "diverged"
        history.reason = f"non-finite weights after epoch {epoch + 1}"
    history.train_loss.append(loss_sum / seen if seen and not history.diverged else math.nan)
    if validation is not None and not history.diverged:
        val_loss, val_metric = evaluate(model, *validation, metric)
        history.val_loss.append(val_loss)
        history.val_metric.append(val_metric)
    elif validation is not None:
        history.val_loss.append(math.nan)
        history.val_metric.append(math.nan)
    history.seconds.append(time.perf_counter() - epoch_start)


def _should_stop(model: MLP, history: History, run: _Run, epoch: int, out_of_time: bool,
                 callback: Callable[[History], object] | None, early_stopping_patience: int | None,
                 min_delta: float) -> bool:
    """Whether training ends after this (non-diverged) epoch, with history's status saying why;
    tracks the best epoch (and its weights, under early stopping)."""
    if run.validates:
        monitor = run.monitor
        score = history.val_loss[-1] if monitor == "val_loss" else -history.val_metric[-1]
        if not math.isfinite(score):
            history.status = "diverged"
            history.reason = f"non-finite validation {monitor[4:]} after epoch {epoch + 1}"
            return True
        if score < run.best_score - min_delta:
            run.best_score, run.since_best, history.best_epoch = score, 0, epoch
            if early_stopping_patience is not None:
                run.best_params = model.get_params()
        else:
            run.since_best += 1
        if early_stopping_patience is not None and run.since_best >= early_stopping_patience:
            history.status = "early_stopped"
            history.reason = f"no {monitor} improvement for {run.since_best} epochs"
            return True
    if out_of_time:
        history.status = "time_budget"
        history.reason = f"time budget of {run.time_budget:g} s reached in epoch {epoch + 1}"
        return True
    if callback is not None and callback(history):
        history.status = "stopped"
        history.reason = f"stopped by callback after epoch {epoch + 1}"
        return True
    return False
