"""Mini-batch SGD with momentum, Nesterov momentum, L2 weight decay and LR schedules.

The optimiser owns its velocities and updates the parameter arrays in place; the model never
sees it. Update rule (the form scikit-learn and Sutskever et al. use), with g the gradient
(plus weight_decay * W for weights) and lr the scheduled learning rate:

    v <- momentum * v - lr * g
    W <- W + v                            (classical)
    W <- W + momentum * v - lr * g        (Nesterov)

Gradient buffers are scaled in place: the caller recomputes them before every step.

fit does not call step(): SGD.fused_update() has the backward pass write each layer's
gradient product straight into the velocities (v <- v - lr * A^T delta inside the matrix
product), or, without momentum, into the parameters themselves; the parameters then take
one axpy pass p <- p + v. The decay v <- momentum * v costs no pass of its own: the buffers
hold v * scale, and each step divides the scale by the momentum instead of multiplying every
velocity (the step's product and p's update are scaled to match), until the scale is settled
back into the buffers, every FLUSH_EVERY batches with the subnormal flush. The same rule,
rounded differently: the product is scaled and added inside BLAS (often as one fused
multiply-add) instead of rounding lr * g first.
"""

import math
import operator
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeAlias, TypedDict

import numpy as np
from scipy.linalg import get_blas_funcs

from ._types import Array
from .backprop import SinkLayers
from .flat import flat_view, runs

# The most FusedSGD lets the velocities' scale grow (1 / momentum per step) before settling
# it: far from float32's range for any velocity short of a divergence.
MAX_VELOCITY_SCALE = 2.0**20

# One update: (params, grads, velocities or None, scratch or None, [(params, grads, scratch)
# slices that take weight decay]); a flat group covers every parameter at once.
_Group: TypeAlias = tuple[Array, Array, Array | None, Array | None, list[tuple[Array, Array, Array]]]


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

    Parameters that tile one flat buffer (an MLP's do, see netcore.flat), with gradients laid
    out the same way, are updated in one pass per operation over the whole buffer; any other
    arrays one at a time. Both do the same element-wise arithmetic.
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
        self._tiling = flat_view(self.params)
        needs_scratch = bool(self.weight_decay or (self.momentum and self.nesterov))
        self._flat_velocities, self.velocities = self._like_params() if self.momentum else (None, [])
        self._flat_scratch, self._scratch = self._like_params() if needs_scratch else (None, [])
        self._flush_buffers: list[tuple[Array, Array]] = []  # (velocities, their mask)
        # The velocity buffers hold v * _velocity_scale (FusedSGD); settle_velocities() makes it 1.
        self._velocity_scale = 1.0
        self._bound_grads: tuple[Array, ...] = ()
        self._groups: list[_Group] = []

    def _like_params(self) -> tuple[Array | None, list[Array]]:
        """Zeroed arrays shaped like the parameters, tiling one buffer the same way if they do:
        (that buffer or None, the arrays)."""
        if self._tiling is None:
            return None, [np.zeros_like(p) for p in self.params]
        flat, offsets = self._tiling
        buffer = np.zeros_like(flat)
        return buffer, [buffer[offset:offset + p.size].reshape(p.shape) for p, offset in zip(self.params, offsets)]

    def start_epoch(self, epoch: int) -> float:
        """Set the learning rate for `epoch` (0-based) from the schedule; return it."""
        self.current_learning_rate = self.learning_rate * self.schedule.factor(epoch)
        return self.current_learning_rate

    def step(self, grads: Sequence[Array]) -> None:
        """Update the parameters in place from `grads` (scaled in place: recompute them before
        the next step). Called with the same gradient arrays every time, as fit does, it reuses
        the plan it made for them."""
        if len(grads) != len(self._bound_grads) or not all(map(operator.is_, grads, self._bound_grads)):
            self._groups = self._plan(grads)
            self._bound_grads = tuple(grads)
        self.settle_velocities()
        lr, mu, decay, nesterov = self.current_learning_rate, self.momentum, self.weight_decay, self.nesterov
        for p, g, v, scratch, decayed in self._groups:
            for p_part, g_part, scratch_part in decayed:
                g_part += np.multiply(p_part, decay, out=scratch_part)
            g *= lr
            if v is None:
                p -= g
                continue
            v *= mu
            v -= g
            if nesterov:
                p += np.multiply(v, mu, out=scratch)
                p -= g
            else:
                p += v

    def _plan(self, grads: Sequence[Array]) -> list[_Group]:
        """(param, grad, velocity, scratch, weight-decayed parts) to update, one flat group or
        one group per array."""
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradient arrays, got {len(grads)}")
        nothing: list[Array | None] = [None] * len(self.params)
        velocities = self.velocities or nothing
        scratch = self._scratch or nothing
        decays = self.decay_mask if self.weight_decay else [False] * len(self.params)
        tiled = flat_view(grads) if self._tiling is not None else None
        if self._tiling is None or tiled is None or tiled[1] != self._tiling[1] or any(
                g.shape != p.shape for g, p in zip(grads, self.params)):
            return [(p, g, v, s, [(p, g, s)] if decay and s is not None else [])
                    for p, g, v, s, decay in zip(self.params, grads, velocities, scratch, decays)]
        (flat, offsets), flat_grads, flat_s = self._tiling, tiled[0], self._flat_scratch
        decayed = [(flat[start:stop], flat_grads[start:stop], flat_s[start:stop])
                   for start, stop in runs(offsets, [p.size for p in self.params], decays)
                   if flat_s is not None]  # weight decay always has scratch
        return [(flat, flat_grads, self._flat_velocities, flat_s, decayed)]

    def fused_update(self, weights: Sequence[Array], biases: Sequence[Array]) -> "FusedSGD | None":
        """This optimiser's update as the GradientSink of a backward pass (netcore.backprop)
        over layers with these weights and biases, or None unless they are exactly its
        parameters, in the order W0, b0, W1, b1, ..., tiling one buffer (an MLP's params)."""
        layers = [p for pair in zip(weights, biases) for p in pair]
        if (self._tiling is None or len(layers) != len(self.params)
                or not all(map(operator.is_, layers, self.params))):
            return None
        return FusedSGD(self)

    def flush_subnormal_velocities(self) -> None:
        """Round every velocity in the subnormal range (0 < |v| < the dtype's smallest normal
        number) to a zero of its sign: the value its decay v <- momentum * v reaches anyway.

        Weights whose gradient is zero (dead ReLU units, inputs that are almost always 0) have
        velocities that decay geometrically through the subnormal range, where every
        floating-point operation on them takes a microcode assist, ~100x slower: on the
        digits data at batch 8 over half the velocities sat there and the update ran twice as
        slowly. A parameter p is untouched by this unless |p| < 2**-102 (float32; 2**-970
        for float64): above that, p + v == p for any subnormal v."""
        if not self.velocities:
            return
        self.settle_velocities()
        if not self._flush_buffers:
            velocities = self.velocities if self._flat_velocities is None else [self._flat_velocities]
            self._flush_buffers = [(v, np.empty_like(v)) for v in velocities]
        for v, mask in self._flush_buffers:
            # A float 0/1 mask (not bool) keeps the multiply a plain float loop.
            np.greater_equal(np.abs(v, out=mask), np.finfo(v.dtype).smallest_normal, out=mask)
            np.multiply(v, mask, out=v)  # x * 0 keeps the sign of x: a zero of v's sign

    def settle_velocities(self) -> None:
        """Make `velocities` hold the velocities themselves, not FusedSGD's scaled form.
        fit leaves them settled after every epoch; step(), state() and the flush settle first."""
        if self._velocity_scale == 1.0:
            return
        for v in self.velocities if self._flat_velocities is None else [self._flat_velocities]:
            np.divide(v, self._velocity_scale, out=v)
        self._velocity_scale = 1.0

    def state(self) -> OptimizerState:
        """The momentum buffers and current learning rate, to resume training with load_state."""
        self.settle_velocities()
        return {"velocities": [v.copy() for v in self.velocities],
                "current_learning_rate": self.current_learning_rate}

    def load_state(self, state: OptimizerState) -> None:
        """Restore what state() returned."""
        self._velocity_scale = 1.0
        for v, saved in zip(self.velocities, state["velocities"]):
            np.copyto(v, saved)
        self.current_learning_rate = state["current_learning_rate"]


class FusedSGD:
    """SGD's update written by the backward pass's gradient products (see the module
    docstring): a GradientSink whose targets depend on the optimiser's settings, taken
    afresh whenever its learning rate changes.

    - momentum: the buffers hold u = v * scale; begin() scale <- scale / mu (which is
      v <- mu * v) and u <- u - scale * lr * wd * p where decayed; the products add
      -scale * lr * grad into u; end() p <- p + u / scale. The scale is settled (u <- u /
      scale, one pass) with every flush, or first where it would pass MAX_VELOCITY_SCALE.
    - Nesterov: the products write s = -lr * grad into scratch; end() s <- s - lr * wd * p
      where decayed, v <- mu * v + s, p <- p + mu * v + s.
    - no momentum: the products write p <- (1 - lr * wd) * p - lr * grad (wd 0 where not
      decayed) straight into the parameters.
    """

    def __init__(self, sgd: SGD) -> None:
        assert sgd._tiling is not None
        self.sgd = sgd
        self.flat = sgd._tiling[0]
        # Empty where the settings need none.
        none = self.flat[:0]
        self.velocity = none if sgd._flat_velocities is None else sgd._flat_velocities
        self.scratch = none if sgd._flat_scratch is None else sgd._flat_scratch
        sizes = [p.size for p in sgd.params]
        decays = sgd.decay_mask if sgd.weight_decay else [False] * len(sgd.params)
        self.decayed = runs(sgd._tiling[1], sizes, decays)
        self._decays = decays
        self._axpy, self._scal = get_blas_funcs(("axpy", "scal"), dtype=self.flat.dtype)
        self.alpha = 0.0
        self.layers: SinkLayers = []
        self._rate: float | None = None  # the learning rate alpha and layers were made for

    def _targets(self, rate: float) -> SinkLayers:
        sgd = self.sgd
        if sgd.momentum:
            arrays = sgd._scratch if sgd.nesterov else sgd.velocities
            betas = [0.0 if sgd.nesterov else 1.0] * len(arrays)
        else:
            arrays = sgd.params
            betas = [1.0 - rate * sgd.weight_decay if decay else 1.0 for decay in self._decays]
        return [(arrays[i], arrays[i + 1], betas[i], betas[i + 1]) for i in range(0, len(arrays), 2)]

    def begin(self) -> None:
        sgd = self.sgd
        rate = sgd.current_learning_rate
        if rate != self._rate:
            self.alpha, self.layers, self._rate = -rate, self._targets(rate), rate
        if not sgd.momentum or sgd.nesterov:
            return
        scale = sgd._velocity_scale / sgd.momentum
        if scale > MAX_VELOCITY_SCALE:
            sgd.settle_velocities()
            scale = 1.0 / sgd.momentum
        sgd._velocity_scale = scale
        self.alpha = -rate * scale
        u, p, axpy = self.velocity, self.flat, self._axpy
        for start, stop in self.decayed:
            axpy(p[start:stop], u[start:stop], a=self.alpha * sgd.weight_decay)

    def end(self) -> None:
        sgd = self.sgd
        if not sgd.momentum:
            return
        v, p, axpy = self.velocity, self.flat, self._axpy
        if not sgd.nesterov:
            axpy(v, p, a=1.0 / sgd._velocity_scale)
            return
        s = self.scratch
        for start, stop in self.decayed:
            axpy(p[start:stop], s[start:stop], a=self.alpha * sgd.weight_decay)
        self._scal(sgd.momentum, v)
        axpy(s, v)
        axpy(v, p, a=sgd.momentum)
        axpy(s, p)
