"""One training step's forward and backward pass, over buffers allocated once per batch size.

At the batch sizes searches pick (8-32 rows), a step's matrix products take ~100-200 us and
every other NumPy call costs ~1-2 us of overhead whatever its size, so this step makes as few
calls as the arithmetic allows, allocates nothing, and keeps every array it touches (views,
transposes, the 1/n scale) ready in per-batch-size plans instead of rebuilding them.

The arithmetic is exactly what the per-layer formulas say, in the same order and rounding:
forward Z = A W + b, A' = f(Z); output delta (P - Y) / n; weight gradient A^T delta; bias
gradient 1^T delta (a BLAS matrix-vector product: ~3x faster than a column sum); delta of the
layer below (delta W^T) * f'(A).
"""

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._types import Array
from .activations import ACTIVATIONS, DERIVATIVES

if TYPE_CHECKING:
    from .network import MLP


class _Plan(NamedTuple):
    """Everything one step over `rows` samples touches, as ready-made views."""

    hidden: list[tuple[Array, Array, Array]]  # (W, b, Z) of each hidden layer
    output: tuple[Array, Array, Array]  # (W, b, Z) of the output layer
    output_delta: Array
    # Top layer down to the second: (A_prev^T, weight grad, bias grad, W^T, delta buffer of
    # the layer below, A_prev); then the first layer's (weight grad, bias grad).
    backward: list[tuple[Array, Array, Array, Array, Array, Array]]
    first: tuple[Array, Array]
    ones: Array
    scale: np.floating  # 1 / rows in the model's dtype


class TrainingStep:
    """Loss and gradients of `model` for batches of up to `capacity` rows.

    step.gather(X, Y, indices) copies those rows into the step's own input buffers and
    returns them; step(X_batch, Y_batch) runs the forward and backward pass, leaves the
    gradient of the mean loss in model.grads and returns that loss. The model's parameters
    may change in place between calls (the plans hold views of them, not copies); arrays put
    in their place need a new step."""

    def __init__(self, model: "MLP", capacity: int) -> None:
        dtype, sizes = model.dtype, model.layer_sizes
        self.model = model
        self.capacity = capacity
        self._gathered: dict[int, tuple[Array, Array]] = {}  # rows -> input, target buffers
        self.outputs = [np.empty((capacity, size), dtype=dtype) for size in sizes[1:]]
        self.deltas = [np.empty_like(Z) for Z in self.outputs]
        self._ones = np.ones(capacity, dtype=dtype)
        self._plans: dict[int, _Plan] = {}
        self._hidden = ACTIVATIONS[model.activation]
        self._derivative = DERIVATIVES[model.activation]
        self._head = model.head

    def _plan(self, rows: int) -> _Plan:
        if not 0 < rows <= self.capacity:
            raise ValueError(f"a batch of {rows} rows does not fit this step's {self.capacity}")
        model = self.model
        outputs = [Z[:rows] for Z in self.outputs]
        deltas = [D[:rows] for D in self.deltas]
        layers = list(zip(model.weights, model.biases, outputs))
        backward = [(outputs[i - 1].T, model.weight_grads[i], model.bias_grads[i], model.weights[i].T,
                     deltas[i - 1], outputs[i - 1]) for i in range(model.n_layers - 1, 0, -1)]
        plan = _Plan(layers[:-1], layers[-1], deltas[-1], backward,
                     (model.weight_grads[0], model.bias_grads[0]), self._ones[:rows],
                     model.dtype.type(1.0 / rows))
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
        loss = self._head.loss_and_delta(Z, Y, plan.output_delta, plan.scale)

        derivative, ones = self._derivative, plan.ones
        delta = plan.output_delta
        for A_prev_T, weight_grad, bias_grad, W_T, delta_below, A_prev in plan.backward:
            matmul(A_prev_T, delta, out=weight_grad)
            matmul(ones, delta, out=bias_grad)
            delta = derivative(A_prev, matmul(delta, W_T, out=delta_below))
        weight_grad, bias_grad = plan.first
        matmul(X.T, delta, out=weight_grad)
        matmul(ones, delta, out=bias_grad)
        return loss
