"""Output heads: an output activation paired with the loss it is trained with.

A head knows its loss value and the loss gradient with respect to the output layer's
pre-activation Z (the "output delta"). For the matched pairs (softmax + cross-entropy,
sigmoid + binary cross-entropy, identity + squared error) that gradient is simply P - Y.

Targets Y are always 2-D float arrays of the output's shape (one-hot rows for softmax).
Losses are means over samples; squared error is 0.5 * sum over outputs, so that its
gradient is exactly P - Y per sample.
"""

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from ._types import Array
from .activations import ACTIVATIONS

# Buffers a head's loss_and_delta may reuse across the steps of one batch size.
Workspace: TypeAlias = tuple[NDArray[Any], ...]


def _clip_probabilities(P: Array) -> Array:
    eps = np.finfo(P.dtype).eps
    return np.clip(P, eps, 1 - eps)


class Head:
    """An output activation and its loss; subclasses define value and delta."""

    name: str = ""
    activation: str = ""
    is_classifier: bool = False

    def activate(self, Z: Array) -> Array:
        return ACTIVATIONS[self.activation](Z)

    def value(self, Y: Array, P: Array) -> float:
        """Mean loss over the samples of targets Y and outputs P."""
        raise NotImplementedError

    def activate_with_loss(self, Z: Array, Y: Array) -> float:
        """Activate the output pre-activations Z in place; return the mean loss against Y.

        Subclasses compute the loss from Z where that is exact and cheaper (log-softmax,
        softplus), so a diverging run shows its true, growing loss instead of a clipped one.
        """
        return self.value(Y, self.activate(Z))

    def delta(self, Y: Array, P: Array, out: Array) -> Array:
        """Write dLoss_i/dZ for each sample i (not divided by n) into `out`; return it."""
        raise NotImplementedError

    def workspace(self, rows: int, outputs: int, dtype: np.dtype) -> Workspace:
        """Buffers that loss_and_delta may use for batches of `rows` (a training step keeps
        one per batch size: heads are shared, so they keep none themselves)."""
        return ()

    def loss_and_delta(self, Z: Array, Y: Array, out: Array, scale: np.floating,
                       work: Workspace | None = None) -> float:
        """A training step's output work: activate Z in place, write scale * dLoss_i/dZ into
        `out` (scale = 1/n makes the gradients batch means), and return the mean loss.
        `work`: what workspace() returned for Z's shape (made afresh when None)."""
        loss = self.activate_with_loss(Z, Y)
        self.delta(Y, Z, out=out)
        out *= scale
        return loss

    def check_targets(self, Y: Array) -> None:
        """Raise ValueError if Y cannot be a target of this head."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(Head):
    name = "softmax_cross_entropy"
    activation = "softmax"
    is_classifier = True

    def value(self, Y: Array, P: Array) -> float:
        return float(-np.sum(Y * np.log(_clip_probabilities(P))) / P.shape[0])

    def activate_with_loss(self, Z: Array, Y: Array) -> float:
        # log softmax(z)_k = z_k - max(z) - log(sum(exp(z - max(z)))): exact, never overflows.
        Z -= Z.max(axis=1, keepdims=True)
        target_logits = np.sum(Y * Z)
        np.exp(Z, out=Z)
        norms = Z.sum(axis=1, keepdims=True)
        Z /= norms
        return float((np.sum(np.log(norms)) - target_logits) / Z.shape[0])

    def delta(self, Y: Array, P: Array, out: Array) -> Array:
        return np.subtract(P, Y, out=out)

    def workspace(self, rows: int, outputs: int, dtype: np.dtype) -> Workspace:
        norms = np.empty((rows, 1), dtype=dtype)
        return (np.arange(0, rows * outputs, outputs), np.empty(rows, dtype=np.intp),
                np.empty((rows, 1), dtype=dtype), norms, norms.reshape(rows), np.ones(outputs, dtype=dtype))

    def loss_and_delta(self, Z: Array, Y: Array, out: Array, scale: np.floating,
                       work: Workspace | None = None) -> float:
        # activate_with_loss and delta fused, as bare ufunc and BLAS calls into `work`. Per
        # row, the max is the entry argmax finds and the sum a matrix-vector product: NumPy's
        # max and sum reductions over short rows (10 outputs) cost ~0.25 us a row; argmax and
        # BLAS run at vector speed.
        rows, outputs = Z.shape
        row_starts, index, row_max, norms, norms_flat, ones = work or self.workspace(rows, outputs, Z.dtype)
        np.argmax(Z, axis=1, out=index)
        index += row_starts
        Z.reshape(-1).take(index, out=row_max.reshape(-1), mode="clip")
        np.subtract(Z, row_max, out=Z)
        target_logits = np.vdot(Y, Z)  # sum(Y * Z) as one BLAS dot product
        np.exp(Z, out=Z)
        np.matmul(Z, ones, out=norms_flat)
        np.divide(Z, norms, out=Z)
        loss = (np.add.reduce(np.log(norms_flat, out=norms_flat), axis=None) - target_logits) / rows
        np.subtract(Z, Y, out=out)
        out *= scale
        return float(loss)

    def check_targets(self, Y: Array) -> None:
        if Y.shape[1] < 2:
            raise ValueError("softmax_cross_entropy needs at least 2 outputs (one-hot targets)")
        if np.any((Y != 0) & (Y != 1)) or not np.all(Y.sum(axis=1) == 1):
            raise ValueError("softmax_cross_entropy targets must be one-hot rows of 0 and 1")


class SigmoidBinaryCrossEntropy(Head):
    name = "sigmoid_binary_cross_entropy"
    activation = "sigmoid"
    is_classifier = True

    def value(self, Y: Array, P: Array) -> float:
        P = _clip_probabilities(P)
        return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log1p(-P)) / P.shape[0])

    def activate_with_loss(self, Z: Array, Y: Array) -> float:
        # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, with softplus = logaddexp(0, z).
        loss = np.sum(np.logaddexp(0, Z)) - np.sum(Y * Z)
        self.activate(Z)
        return float(loss / Z.shape[0])

    def delta(self, Y: Array, P: Array, out: Array) -> Array:
        return np.subtract(P, Y, out=out)

    def check_targets(self, Y: Array) -> None:
        if np.any((Y != 0) & (Y != 1)):
            raise ValueError("sigmoid_binary_cross_entropy targets must be 0 or 1")


class IdentitySquaredError(Head):
    name = "identity_mse"
    activation = "identity"

    def value(self, Y: Array, P: Array) -> float:
        diff = P - Y
        return float(0.5 * np.sum(diff * diff) / P.shape[0])

    def delta(self, Y: Array, P: Array, out: Array) -> Array:
        return np.subtract(P, Y, out=out)


class SigmoidSquaredError(IdentitySquaredError):
    """Sigmoid outputs trained on squared error, as in the classic XOR tutorials."""

    name = "sigmoid_mse"
    activation = "sigmoid"

    def delta(self, Y: Array, P: Array, out: Array) -> Array:
        np.subtract(P, Y, out=out)
        out *= P
        out *= 1 - P
        return out

    def check_targets(self, Y: Array) -> None:
        if np.any((Y < 0) | (Y > 1)):
            raise ValueError("sigmoid_mse targets must lie in [0, 1]")


HEADS: dict[str, Head] = {
    head.name: head
    for head in (SoftmaxCrossEntropy(), SigmoidBinaryCrossEntropy(), IdentitySquaredError(),
                 SigmoidSquaredError())
}


def get_head(name: str | Head) -> Head:
    if isinstance(name, Head):
        return name
    try:
        return HEADS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown output head {name!r}; valid: {', '.join(sorted(HEADS))}") from None
