"""MLPClassifier and MLPRegressor in scikit-learn's conventions, over netcore's functional API.

Hyperparameters are stored verbatim by __init__ and only checked in fit; fitted state carries
a trailing underscore (model_, history_, classes_, status_, ...). Both estimators pass
scikit-learn's own estimator checks (tests/netcore/test_estimators.py).
"""

import warnings
from collections.abc import Sequence
from typing import Any, Self, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._types import Array, PathLike
from .network import MLP, as_dtype, load_model, save_model
from .optim import SGD, make_schedule
from .train import History, fit

# What random_state takes: None (fresh entropy), an int seed, a Generator or a RandomState.
RandomStateLike: TypeAlias = int | np.random.Generator | np.random.RandomState | None


def _seeds(random_state: RandomStateLike, n: int) -> list[int]:
    """n independent integer seeds from random_state (None, int, Generator or RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(2**31)
    if isinstance(random_state, np.random.Generator):
        return [int(s) for s in random_state.integers(2**63, size=n)]
    return [int(s.generate_state(1, np.uint64)[0]) for s in np.random.SeedSequence(random_state).spawn(n)]


class _BaseMLP(BaseEstimator):
    _head = ""

    def __init__(self, hidden_sizes: int | Sequence[int] = (100,), activation: str = "relu",
                 init: str = "he_uniform", learning_rate: float = 0.01, momentum: float = 0.9,
                 nesterov: bool = False, batch_size: int = 32, epochs: int = 50, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", early_stopping: bool = False,
                 validation_fraction: float = 0.1, patience: int = 5, time_budget: float | None = None,
                 dtype: str = "float32", random_state: RandomStateLike = None) -> None:
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.init = init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_budget = time_budget
        self.dtype = dtype
        self.random_state = random_state

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes: tuple[Any, ...] = ((self.hidden_sizes,) if np.isscalar(self.hidden_sizes)
                                  else tuple(cast(Sequence[int], self.hidden_sizes)))
        if any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1 for s in sizes):
            raise ValueError(f"hidden_sizes must be positive integers, got {self.hidden_sizes!r}")
        return sizes

    def _fit_targets(self, X: Array, Y: Array, head: str,
                     stratify: NDArray[np.integer[Any]] | None = None) -> Self:
        """Build and train the network on 2-D targets Y; set the fitted attributes."""
        init_seed, split_seed, shuffle_seed = _seeds(self.random_state, 3)
        validation_data = None
        if self.early_stopping:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
            if stratify is not None and np.bincount(stratify).min() < 2:
                stratify = None
            X, X_val, Y, Y_val = train_test_split(X, Y, test_size=self.validation_fraction,
                                                  random_state=split_seed % 2**32, stratify=stratify)
            validation_data = (X_val, Y_val)
        model = MLP((X.shape[1], *self._hidden_sizes(), Y.shape[1]), activation=self.activation,
                    head=head, init=self.init, rng=init_seed, dtype=self.dtype)
        optimizer = SGD(model.params, learning_rate=self.learning_rate, momentum=self.momentum,
                        nesterov=self.nesterov, weight_decay=self.weight_decay,
                        decay_mask=model.param_is_weight,
                        schedule=make_schedule(self.lr_schedule, self.epochs))
        self.history_ = fit(model, optimizer, X, Y, epochs=self.epochs, batch_size=self.batch_size,
                            rng=shuffle_seed, validation_data=validation_data,
                            early_stopping_patience=self.patience if self.early_stopping else None,
                            time_budget=self.time_budget)
        self.model_ = model
        self.status_ = self.history_.status
        self.n_iter_ = self.history_.epochs_run
        self.loss_ = self.history_.train_loss[-1]
        if self.status_ == "diverged":
            warnings.warn(f"{type(self).__name__} diverged: {self.history_.reason}; lower the "
                          "learning rate", ConvergenceWarning, stacklevel=3)
        return self

    def _validate_X(self, X: ArrayLike) -> Array:
        check_is_fitted(self, "model_")
        validated: Array = validate_data(self, X, reset=False, dtype=self.model_.dtype)
        return validated

    def save(self, path: PathLike) -> None:
        """Write the fitted estimator to an .npz file (no pickle); read it back with load()."""
        check_is_fitted(self, "model_")
        fitted = {"n_features_in_": self.n_features_in_, "status_": self.status_,
                  "n_iter_": self.n_iter_, "loss_": self.loss_, "history_": self.history_.as_dict()}
        fitted.update(self._fitted_metadata())
        params = self.get_params()
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None  # a Generator cannot be stored; the weights are
        metadata = {"estimator": type(self).__name__, "params": params, "fitted": fitted}
        save_model(self.model_, path, metadata)

    def _fitted_metadata(self) -> dict[str, Any]:
        return {}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier: softmax + cross-entropy, or sigmoid + binary
    cross-entropy with one output unit when there are exactly two classes.

    A scikit-learn estimator: ``MLPClassifier(hidden_sizes=(64,), random_state=0).fit(X, y)``.

    Args:
        hidden_sizes: units per hidden layer (an int for one layer).
        activation: the hidden layers' activation, a name of netcore.HIDDEN_ACTIVATIONS.
        init: the weight initialisation, a name of netcore.INITIALIZERS.
        learning_rate: SGD's step size.
        momentum: SGD's momentum (0: plain SGD).
        nesterov: Nesterov momentum.
        batch_size: samples per update.
        epochs: passes over the training data.
        weight_decay: L2 penalty on the weights (not the biases).
        lr_schedule: how the learning rate changes over the epochs, a name of
            netcore.SCHEDULES.
        early_stopping: hold out validation_fraction of the data, stop after `patience`
            epochs without a lower validation loss and keep the best weights.
        validation_fraction: the held-out share, with early_stopping.
        patience: epochs without improvement, with early_stopping.
        time_budget: seconds of training at most (None: no limit).
        dtype: "float32" or "float64", the network's floats.
        random_state: None (fresh entropy), an int seed, a Generator or a RandomState: the
            initial weights, the validation split and the shuffle order derive from it.

    Attributes:
        classes_: the class labels, in sorted order.
        model_: the trained netcore.MLP.
        history_: the netcore.History of the training.
        status_: how the training ended (History.status; "diverged" also warns).
        n_iter_: epochs run.
        loss_: the last epoch's training loss.
        n_features_in_: features seen in fit.
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train on features X (n_samples, n_features) and class labels y; returns self."""
        X, y = cast(tuple[Array, NDArray[Any]], validate_data(self, X, y, dtype=as_dtype(self.dtype)))
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"MLPClassifier needs at least 2 classes in y, got 1 class ({self.classes_[0]!r})")
        if len(self.classes_) == 2:
            head, Y = "sigmoid_binary_cross_entropy", labels[:, None].astype(X.dtype)
        else:
            head, Y = "softmax_cross_entropy", np.eye(len(self.classes_), dtype=X.dtype)[labels]
        return self._fit_targets(X, Y, head, stratify=labels)

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities, one column per class of ``classes_``."""
        X = self._validate_X(X)
        P = self.model_.forward(X)
        if P.shape[1] == 1:
            return np.hstack([1 - P, P])
        return P

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of each row of X."""
        P = self.predict_proba(X)
        labels: NDArray[Any] = self.classes_[np.argmax(P, axis=1)]
        return labels

    def _fitted_metadata(self) -> dict[str, Any]:
        return {"classes_": self.classes_.tolist()}


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor: identity outputs and mean squared error.

    A scikit-learn estimator: ``MLPRegressor(hidden_sizes=(64,), random_state=0).fit(X, y)``;
    y may have several columns. It takes MLPClassifier's arguments (hidden_sizes through
    random_state, the same defaults) and one more, and has its fitted attributes but
    ``classes_``, and two more.

    Args:
        scale_targets: train on standardised targets (mean 0, std 1 per output, from the
            training data) and map predictions back. SGD's learning rate then means the same
            thing whatever the targets' units; without it, targets in the hundreds make
            lr=0.01 diverge.

    Attributes:
        target_mean_: the targets' means (0 without scale_targets).
        target_scale_: the targets' standard deviations (1 without scale_targets).
    """

    def __init__(self, hidden_sizes: int | Sequence[int] = (100,), activation: str = "relu",
                 init: str = "he_uniform", learning_rate: float = 0.01, momentum: float = 0.9,
                 nesterov: bool = False, batch_size: int = 32, epochs: int = 50, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", early_stopping: bool = False,
                 validation_fraction: float = 0.1, patience: int = 5, time_budget: float | None = None,
                 dtype: str = "float32", random_state: RandomStateLike = None,
                 scale_targets: bool = True) -> None:
        super().__init__(hidden_sizes=hidden_sizes, activation=activation, init=init,
                         learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
                         batch_size=batch_size, epochs=epochs, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         time_budget=time_budget, dtype=dtype, random_state=random_state)
        self.scale_targets = scale_targets

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train on features X (n_samples, n_features) and targets y (one column or
        several); returns self."""
        X, y = cast(tuple[Array, NDArray[Any]],
                    validate_data(self, X, y, dtype=as_dtype(self.dtype), multi_output=True, y_numeric=True))
        self._y_ndim = y.ndim
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        self.target_mean_ = Y.mean(axis=0) if self.scale_targets else np.zeros(Y.shape[1])
        std = Y.std(axis=0) if self.scale_targets else np.ones(Y.shape[1])
        self.target_scale_ = np.where(std > 0, std, 1.0)
        Y = ((Y - self.target_mean_) / self.target_scale_).astype(X.dtype)
        return self._fit_targets(X, Y, "identity_mse")

    def predict(self, X: ArrayLike) -> Array:
        """Predicted targets (float64), shaped as the y given to fit."""
        X = self._validate_X(X)
        # float64, as scikit-learn expects of regressors, also for a float32 network.
        P = self.model_.forward(X) * self.target_scale_ + self.target_mean_
        return P[:, 0] if self._y_ndim == 1 else P

    def _fitted_metadata(self) -> dict[str, Any]:
        return {"_y_ndim": self._y_ndim, "target_mean_": self.target_mean_.tolist(),
                "target_scale_": self.target_scale_.tolist()}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


ESTIMATORS: dict[str, type[MLPClassifier] | type[MLPRegressor]] = {
    "MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def load(path: PathLike) -> MLPClassifier | MLPRegressor:
    """Read back an estimator written by MLPClassifier.save or MLPRegressor.save.

    Args:
        path: the .npz file (read without pickle).

    Returns:
        The fitted MLPClassifier or MLPRegressor, predicting as the saved one did.

    Raises:
        ValueError: the file holds a bare netcore model (read it with netcore.load_model).
    """
    model, metadata = load_model(path)
    if metadata.get("estimator") not in ESTIMATORS:
        raise ValueError(f"{path}: holds a bare netcore model, not an estimator; use netcore.load_model")
    estimator = ESTIMATORS[metadata["estimator"]](**metadata["params"])
    fitted = dict(metadata["fitted"])
    for name in ("classes_", "target_mean_", "target_scale_"):
        if name in fitted:
            fitted[name] = np.asarray(fitted[name])
    fitted["history_"] = History(**fitted["history_"])
    for name, value in fitted.items():
        setattr(estimator, name, value)
    estimator.model_ = model
    return estimator
