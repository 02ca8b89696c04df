"""One training step's forward and backward pass, over buffers allocated once per batch size.

At the batch sizes searches pick (8-32 rows), a step's matrix products take ~100-200 us and
every other NumPy call costs ~1-2 us of overhead whatever its size, so this step makes as few
calls as the arithmetic allows, allocates nothing, and keeps every array it touches (views,
transposes, the 1/n scale) ready in per-batch-size plans instead of rebuilding them.

Forward: Z = A W + b, A' = f(Z); output delta (P - Y) / n; delta of the layer below
(delta W^T) * f'(A). The gradient products, weight A^T delta and bias 1^T delta (a
matrix-vector product: ~3x faster than a column sum), are written by BLAS gemm/gemv as
C <- alpha * product + beta * C into targets a GradientSink names: the model's gradient
buffers (alpha 1, beta 0), or an optimiser's velocities or the parameters themselves
(netcore.optim.SGD.fused_update), so that the update needs no pass of its own over the
gradients. A layer's products are written after the delta below it is computed from its
weights, so a sink may update the weights in place.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import get_blas_funcs

from ._types import Array
from .activations import ACTIVATIONS, DERIVATIVES, SCRATCH_DTYPES
from .losses import Workspace

if TYPE_CHECKING:
    from .network import MLP

# Per layer, first layer first: (weight target, bias target, weight beta, bias beta).
SinkLayers = Sequence[tuple[Array, Array, float, float]]


class GradientSink(Protocol):
    """Where a backward pass writes the gradient products: for each layer, weight target <-
    alpha * A^T delta + weight beta * weight target, and the bias target alike. Targets are
    C-contiguous arrays of the parameters' shapes and dtype, written in place. begin() runs
    after the loss, before the first product; end() after the last."""

    alpha: float
    layers: SinkLayers

    def begin(self) -> None: ...

    def end(self) -> None: ...


class _ModelGradients:
    """The plain gradient of the mean loss, into the model's gradient buffers."""

    alpha = 1.0

    def __init__(self, model: "MLP") -> None:
        self.layers: SinkLayers = [(W, b, 0.0, 0.0) for W, b in zip(model.weight_grads, model.bias_grads)]

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass


class _Plan(NamedTuple):
    """Everything one step over `rows` samples touches, as ready-made views."""

    hidden: list[tuple[Array, Array, Array]]  # (W, b, Z) of each hidden layer
    output: tuple[Array, Array, Array]  # (W, b, Z) of the output layer
    output_delta: Array
    # Top layer down to the second: (layer index, A_prev^T, W^T, delta buffer of the layer
    # below, A_prev, the same delta buffer transposed, the derivative's scratch).
    backward: list[tuple[int, Array, Array, Array, Array, Array, Array]]
    ones: Array
    scale: np.floating  # 1 / rows in the model's dtype
    head_work: Workspace  # the head's buffers for `rows`


class TrainingStep:
    """Loss and gradients of `model` for batches of up to `capacity` rows.

    step.gather(X, Y, indices) copies those rows into the step's own input buffers and
    returns them; step(X_batch, Y_batch) runs the forward and backward pass, leaves the
    gradient of the mean loss in model.grads and returns that loss. The same in two halves:
    loss = step.forward(X_batch, Y_batch), then step.backward(sink) writes the gradient
    products where `sink` says (fit looks at the loss in between). The model's parameters
    may change in place between calls (the plans hold views of them, not copies); arrays put
    in their place need a new step."""

    def __init__(self, model: "MLP", capacity: int) -> None:
        dtype, sizes = model.dtype, model.layer_sizes
        self.model = model
        self.capacity = capacity
        self._gathered: dict[int, tuple[Array, Array]] = {}  # rows -> input, target buffers
        self.outputs = [np.empty((capacity, size), dtype=dtype) for size in sizes[1:]]
        self.deltas = [np.empty_like(Z) for Z in self.outputs]
        scratch_dtype = SCRATCH_DTYPES.get(model.activation, dtype)
        self._scratch = [np.empty(Z.shape, dtype=scratch_dtype) for Z in self.outputs[:-1]]
        self._ones = np.ones(capacity, dtype=dtype)
        self._plans: dict[int, _Plan] = {}
        self._hidden = ACTIVATIONS[model.activation]
        self._derivative = DERIVATIVES[model.activation]
        self._head = model.head
        self._gemm, self._gemv = get_blas_funcs(("gemm", "gemv"), dtype=dtype)
        self.gradients: GradientSink = _ModelGradients(model)
        self._forwarded: tuple[_Plan, Array] | None = None

    def _plan(self, rows: int) -> _Plan:
        if not 0 < rows <= self.capacity:
            raise ValueError(f"a batch of {rows} rows does not fit this step's {self.capacity}")
        model = self.model
        outputs = [Z[:rows] for Z in self.outputs]
        deltas = [D[:rows] for D in self.deltas]
        layers = list(zip(model.weights, model.biases, outputs))
        backward = [(i, outputs[i - 1].T, model.weights[i].T, deltas[i - 1], outputs[i - 1], deltas[i - 1].T,
                     self._scratch[i - 1][:rows]) for i in range(model.n_layers - 1, 0, -1)]
        plan = _Plan(layers[:-1], layers[-1], deltas[-1], backward, self._ones[:rows],
                     model.dtype.type(1.0 / rows), self._head.workspace(rows, model.layer_sizes[-1], model.dtype))
        self._plans[rows] = plan
        return plan

    def gather(self, X: Array, Y: Array, indices: NDArray[np.intp]) -> tuple[Array, Array]:
        """Rows `indices` of X and Y, copied into this step's buffers (views of them returned)."""
        buffers = self._gathered.get(len(indices)) or self._gather_buffers(len(indices), X, Y)
        # mode="clip" (the indices are valid) skips the bounds pass that makes out= buffered.
        X.take(indices, axis=0, out=buffers[0], mode="clip")
        Y.take(indices, axis=0, out=buffers[1], mode="clip")
        return buffers

    def _gather_buffers(self, rows: int, X: Array, Y: Array) -> tuple[Array, Array]:
        # Allocated on the first gather only: a full-batch run never gathers.
        if not 0 < rows <= self.capacity:
            raise ValueError(f"a batch of {rows} rows does not fit this step's {self.capacity}")
        if not self._gathered:
            self._inputs = np.empty((self.capacity, X.shape[1]), dtype=self.model.dtype)
            self._targets = np.empty((self.capacity, Y.shape[1]), dtype=self.model.dtype)
        self._gathered[rows] = (self._inputs[:rows], self._targets[:rows])
        return self._gathered[rows]

    def __call__(self, X: Array, Y: Array) -> float:
        loss = self.forward(X, Y)
        self.backward(self.gradients)
        return loss

    def forward(self, X: Array, Y: Array) -> float:
        """The forward pass and the output delta of the batch (X, Y); its mean loss."""
        plan = self._plans.get(X.shape[0]) or self._plan(X.shape[0])
        matmul, hidden = np.matmul, self._hidden
        A = X
        for W, b, Z in plan.hidden:
            matmul(A, W, out=Z)
            Z += b
            A = hidden(Z)
        W, b, Z = plan.output
        matmul(A, W, out=Z)
        Z += b
        self._forwarded = plan, X
        return self._head.loss_and_delta(Z, Y, plan.output_delta, plan.scale, plan.head_work)

    def backward(self, sink: GradientSink) -> None:
        """The backward pass of the last forward(), its gradient products written into `sink`."""
        if self._forwarded is None:
            raise RuntimeError("backward() needs a forward() first")
        plan, X = self._forwarded
        self._forwarded = None
        gemm, gemv, derivative, matmul, ones = self._gemm, self._gemv, self._derivative, np.matmul, plan.ones
        sink.begin()
        alpha, targets = sink.alpha, sink.layers
        delta = plan.output_delta
        delta_T = delta.T
        # Column-major BLAS sees a C-ordered matrix as its transpose: target^T <- alpha *
        # delta^T A_prev + beta * target^T is target <- alpha * A_prev^T delta + beta * target.
        for i, A_prev_T, W_T, delta_below, A_prev, delta_below_T, scratch in plan.backward:
            matmul(delta, W_T, out=delta_below)  # before the sink may change W
            weight_target, bias_target, weight_beta, bias_beta = targets[i]
            gemm(alpha, delta_T, A_prev_T, weight_beta, weight_target.T, trans_b=1, overwrite_c=1)
            gemv(alpha, delta_T, ones, bias_beta, bias_target, overwrite_y=1)
            delta = derivative(A_prev, delta_below, scratch)
            delta_T = delta_below_T
        weight_target, bias_target, weight_beta, bias_beta = targets[0]
        gemm(alpha, delta_T, X.T, weight_beta, weight_target.T, trans_b=1, overwrite_c=1)
        gemv(alpha, delta_T, ones, bias_beta, bias_target, overwrite_y=1)
        sink.end()
