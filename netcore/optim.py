"""Mini-batch SGD with momentum, Nesterov momentum, L2 weight decay and LR schedules.

The optimiser owns its velocities and updates the parameter arrays in place; the model never
sees it. Update rule (the form scikit-learn and Sutskever et al. use), with g the gradient
(plus weight_decay * W for weights) and lr the scheduled learning rate:

    v <- momentum * v - lr * g
    W <- W + v                            (classical)
    W <- W + momentum * v - lr * g        (Nesterov)

Gradient buffers are scaled in place: the caller recomputes them before every step.
"""

import math
from collections.abc import Iterable, Sequence
from typing import Protocol, TypedDict

import numpy as np

from ._types import Array


class Schedule(Protocol):
    """A learning-rate schedule: the factor that multiplies the base rate in each epoch."""

    name: str

    def factor(self, epoch: int) -> float:
        """The factor for `epoch` (0-based)."""
        ...


class OptimizerState(TypedDict):
    """What SGD.state returns and SGD.load_state takes."""

    velocities: list[Array]
    current_learning_rate: float


class ConstantLR:
    name = "constant"

    def factor(self, epoch: int) -> float:
        return 1.0


class StepLR:
    """Multiply the learning rate by `gamma` every `step_size` epochs."""

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1) -> None:
        if not (isinstance(step_size, (int, np.integer)) and step_size >= 1):
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def factor(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class CosineLR:
    """Cosine decay from the full rate at epoch 0 to min_factor * rate at the last epoch."""

    name = "cosine"

    def __init__(self, epochs: int, min_factor: float = 0.0) -> None:
        if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
            raise ValueError(f"cosine schedule needs epochs >= 1, got {epochs!r}")
        if not 0 <= min_factor <= 1:
            raise ValueError(f"min_factor must be in [0, 1], got {min_factor!r}")
        self.epochs, self.min_factor = int(epochs), float(min_factor)

    def factor(self, epoch: int) -> float:
        progress = min(epoch / max(self.epochs - 1, 1), 1.0)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine")


def make_schedule(name: str, epochs: int, step_size: int = 10, gamma: float = 0.1,
                  min_factor: float = 0.0) -> Schedule:
    if name == "constant":
        return ConstantLR()
    if name == "step":
        return StepLR(step_size, gamma)
    if name == "cosine":
        return CosineLR(epochs, min_factor)
    raise ValueError(f"unknown learning-rate schedule {name!r}; valid: {', '.join(SCHEDULES)}")


def _check_number(name: str, value: float, low: float, high: float = math.inf,
                  low_open: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if high == math.inf else f" and <= {high}"
        raise ValueError(f"{name} must be a finite number {bound}{upper}, got {value!r}")
    return float(value)


class SGD:
    """Stochastic gradient descent, in place on the parameter arrays, with optional
    (Nesterov) momentum, decoupled-from-nothing L2 weight decay and a learning-rate schedule.

    Args:
        params: the arrays to update (an MLP's ``params``), changed in place by step().
        learning_rate: the base step size (> 0); the schedule scales it per epoch.
        momentum: in [0, 1]; 0 is plain SGD.
        nesterov: Nesterov's look-ahead momentum.
        weight_decay: L2 penalty added to the gradients of the masked parameters.
        decay_mask: one bool per parameter, whether it decays (default: the weight
            matrices, not the bias vectors).
        schedule: the learning-rate schedule (make_schedule); default constant.
    """

    def __init__(self, params: Iterable[Array], learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, decay_mask: Iterable[bool] | None = None,
                 schedule: Schedule | None = None) -> None:
        self.params = list(params)
        self.learning_rate = _check_number("learning_rate", learning_rate, 0, low_open=True)
        self.momentum = _check_number("momentum", momentum, 0, 1)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0)
        self.nesterov = bool(nesterov)
        if decay_mask is None:
            decay_mask = [p.ndim > 1 for p in self.params]
        self.decay_mask = list(decay_mask)
        self.schedule = schedule or ConstantLR()
        self.current_learning_rate = self.learning_rate
        self.velocities = [np.zeros_like(p) for p in self.params] if self.momentum else []
        needs_scratch = self.weight_decay or (self.momentum and self.nesterov)
        self._scratch = [np.empty_like(p) for p in self.params] if needs_scratch else []

    def start_epoch(self, epoch: int) -> float:
        """Set the learning rate for `epoch` (0-based) from the schedule; return it."""
        self.current_learning_rate = self.learning_rate * self.schedule.factor(epoch)
        return self.current_learning_rate

    def step(self, grads: Sequence[Array]) -> None:
        """Update the parameters from their gradients (one per parameter; changed in place)."""
        lr = self.current_learning_rate
        mu = self.momentum
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.weight_decay and self.decay_mask[i]:
                scratch = np.multiply(p, self.weight_decay, out=self._scratch[i])
                g += scratch
            g *= lr
            if not mu:
                p -= g
                continue
            v = self.velocities[i]
            v *= mu
            v -= g
            if self.nesterov:
                p += np.multiply(v, mu, out=self._scratch[i])
                p -= g
            else:
                p += v

    def state(self) -> OptimizerState:
        """The momentum buffers and current learning rate, to resume training with load_state."""
        return {"velocities": [v.copy() for v in self.velocities],
                "current_learning_rate": self.current_learning_rate}

    def load_state(self, state: OptimizerState) -> None:
        """Restore what state() returned."""
        for v, saved in zip(self.velocities, state["velocities"]):
            np.copyto(v, saved)
        self.current_learning_rate = state["current_learning_rate"]
