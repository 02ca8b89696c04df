"""The multilayer perceptron: parameters, forward pass and backpropagation.

The model knows nothing of optimisers or training loops. It exposes its parameters and
gradient buffers as two parallel lists (W0, b0, W1, b1, ...) that an optimiser updates in
place. Both are views of one flat buffer each, laid out alike (all weights, then all biases),
so that an optimiser can update everything in a few whole-buffer passes (netcore.flat).
The backward pass and its work buffers live in netcore.backprop.
"""

import json
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._types import Array, FloatDType, PathLike, Seed
from .activations import ACTIVATIONS, check_hidden_activation
from .backprop import TrainingStep
from .flat import pack
from .init import get_initializer
from .losses import Head, get_head

DTYPES: dict[str, type[np.floating[Any]]] = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype: DTypeLike) -> FloatDType:
    """The NumPy dtype of a float32 or float64 name or dtype (else ValueError)."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return np.dtype(DTYPES[name])


class MLP:
    """A dense feed-forward network: ``a[l+1] = f(a[l] @ W[l] + b[l])``, any depth.

    Args:
        layer_sizes: (n_inputs, hidden..., n_outputs).
        activation: the hidden layers' activation, a name of netcore.HIDDEN_ACTIVATIONS.
        head: the output head (activation + loss), a name of netcore.HEADS or a Head.
        init: the weight initialisation, a name of netcore.INITIALIZERS.
        rng: a seed or np.random.Generator for the initial weights.
        dtype: the floats of the weights and activations (float32 by default).
    """

    def __init__(self, layer_sizes: Iterable[int], activation: str = "relu",
                 head: str | Head = "softmax_cross_entropy", init: str = "he_uniform", rng: Seed = None,
                 dtype: DTypeLike = np.float32) -> None:
        layer_sizes = tuple(layer_sizes)
        if len(layer_sizes) < 2:
            raise ValueError(f"layer_sizes needs at least an input and an output size, got {layer_sizes}")
        for size in layer_sizes:
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ValueError(f"layer sizes must be positive integers, got {layer_sizes}")
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.activation = check_hidden_activation(activation)
        self.head = get_head(head)
        self.init = init
        self.dtype = as_dtype(dtype)
        initializer = get_initializer(init)
        rng = np.random.default_rng(rng)

        self._pack([initializer(fan_in, fan_out, rng, self.dtype)
                    for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])],
                   [np.zeros(fan_out, dtype=self.dtype) for fan_out in self.layer_sizes[1:]])

    def _pack(self, weights: Sequence[Array], biases: Sequence[Array]) -> None:
        """Parameters (copies of these values) and zeroed gradients, each in one flat buffer."""
        shapes = [W.shape for W in weights] + [b.shape for b in biases]
        _, params = pack(shapes, self.dtype)
        _, grads = pack(shapes, self.dtype)
        for p, value in zip(params, [*weights, *biases]):
            np.copyto(p, value)
        n = len(weights)
        self.weights, self.biases = params[:n], params[n:]
        self.weight_grads, self.bias_grads = grads[:n], grads[n:]
        self._step: TrainingStep | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The work buffers are rebuilt on demand; views pickle as separate arrays.
        return {**self.__dict__, "_step": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pack(self.weights, self.biases)

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def params(self) -> list[Array]:
        """Parameters in update order (W0, b0, W1, b1, ...); the arrays themselves, not copies."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    @property
    def grads(self) -> list[Array]:
        """Gradient buffers, in the same order as `params`."""
        return [g for pair in zip(self.weight_grads, self.bias_grads) for g in pair]

    @property
    def param_is_weight(self) -> list[bool]:
        """True for weight matrices, False for biases (weight decay applies to weights only)."""
        return [is_weight for _ in self.weights for is_weight in (True, False)]

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)

    def get_params(self) -> list[Array]:
        """A copy of every parameter, for snapshots (early stopping, checkpoints)."""
        return [p.copy() for p in self.params]

    def set_params(self, values: Sequence[ArrayLike]) -> None:
        """Copy `values` into the existing parameter arrays, keeping optimiser references valid."""
        params = self.params
        if len(values) != len(params):
            raise ValueError(f"expected {len(params)} parameter arrays, got {len(values)}")
        for p, v in zip(params, values):
            if np.shape(v) != p.shape:
                raise ValueError(f"parameter shape {np.shape(v)} does not match {p.shape}")
            np.copyto(p, v, casting="same_kind")

    def training_step(self, capacity: int) -> TrainingStep:
        """The forward/backward pass for batches of up to `capacity` rows (netcore.backprop),
        kept and reused while it is large enough."""
        if self._step is None or self._step.capacity < capacity:
            self._step = TrainingStep(self, capacity)
        return self._step

    @overload
    def _forward_into(self, X: Array, outputs: list[Array], Y: None = None) -> Array: ...

    @overload
    def _forward_into(self, X: Array, outputs: list[Array], Y: Array) -> tuple[Array, float]: ...

    def _forward_into(self, X: Array, outputs: list[Array],
                      Y: Array | None = None) -> Array | tuple[Array, float]:
        """Run the layers into `outputs`; return the network output, and the loss if Y is given."""
        hidden = ACTIVATIONS[self.activation]
        A = X
        for W, b, Z in zip(self.weights, self.biases, outputs[:-1]):
            np.matmul(A, W, out=Z)
            Z += b
            A = hidden(Z)
        Z = outputs[-1]
        np.matmul(A, self.weights[-1], out=Z)
        Z += self.biases[-1]
        if Y is None:
            return self.head.activate(Z)
        return Z, self.head.activate_with_loss(Z, Y)

    def forward(self, X: ArrayLike) -> Array:
        """Network outputs for X (a new array; the training buffers are left alone)."""
        X = np.asarray(X, dtype=self.dtype)
        return self._forward_into(X, self._new_outputs(X.shape[0]))

    def forward_with_loss(self, X: ArrayLike, Y: ArrayLike) -> tuple[Array, float]:
        """(outputs, mean loss) for X against targets Y, the loss computed as in training."""
        X = np.asarray(X, dtype=self.dtype)
        return self._forward_into(X, self._new_outputs(X.shape[0]), np.asarray(Y, dtype=self.dtype))

    def _new_outputs(self, n_samples: int) -> list[Array]:
        return [np.empty((n_samples, size), dtype=self.dtype) for size in self.layer_sizes[1:]]

    def loss_and_grads(self, X: Array, Y: Array) -> float:
        """One forward and backward pass over the batch (X, Y).

        Fills `grads` with the gradient of the mean loss and returns that loss. X and Y must
        already be arrays of the model's dtype (the training loop converts once, not per batch).
        """
        return self.training_step(X.shape[0])(X, Y)

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (JSON-friendly)."""
        return {
            "layer_sizes": list(self.layer_sizes),
            "activation": self.activation,
            "head": self.head.name,
            "init": self.init,
            "dtype": self.dtype.name,
        }

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (f"MLP({sizes}, activation={self.activation!r}, head={self.head.name!r}, "
                f"dtype={self.dtype.name})")


def save_model(model: MLP, path: PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Write the model's architecture, parameters and optional JSON-able metadata to .npz."""
    # Any: numpy's savez stub takes **kwds as arrays but also has a bool keyword, allow_pickle.
    arrays: dict[str, Any] = {f"param_{i}": p for i, p in enumerate(model.params)}
    header = {"format": "netcore-mlp", "version": 1, "config": model.config(),
              "metadata": metadata or {}}
    with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz" to the name
        np.savez(f, header=np.array(json.dumps(header)), **arrays)


def load_model(path: PathLike) -> tuple[MLP, dict[str, Any]]:
    """(model, metadata) from a file written by save_model."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            params = [data[f"param_{i}"] for i in range(2 * (len(header["config"]["layer_sizes"]) - 1))]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a netcore model file ({error})") from None
    if header.get("format") != "netcore-mlp":
        raise ValueError(f"{path}: not a netcore model file (format {header.get('format')!r})")
    model = MLP(rng=0, **header["config"])
    model.set_params(params)
    return model, header["metadata"]
