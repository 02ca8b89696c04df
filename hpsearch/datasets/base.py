"""The Dataset container and the registry that reaches loaders by name."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import checks

TASKS = ("classification", "regression")


class DownloadError(RuntimeError):
    """A data set could not be fetched, or what was fetched failed its checksum."""


def suggest(word: str, choices: Iterable) -> str:
    """"did you mean 'x'? " (with the trailing space, to put before a list of valid
    choices in a message) for the choice closest to word, or "" when none is close."""
    hint = checks.did_you_mean(word, choices, cutoff=0.5)
    return f"{hint} " if hint else ""


def first_non_integer(values: np.ndarray) -> int | None:
    """The index of the first value of a float array that is not a whole number (NaN and
    inf included), or None when all are."""
    finite = np.isfinite(values)
    not_integer = ~finite
    not_integer[finite] = values[finite] != np.round(values[finite])
    return int(np.argmax(not_integer)) if not_integer.any() else None


@contextmanager
def errors_naming(source: str | os.PathLike, dataset_name: str | None = None) -> Iterator[None]:
    """Make the errors raised inside name the file (or directory) ``source``.

    A Dataset's own messages start with ``dataset 'name': ``; for data read from a file the
    file is what the user can go and fix, so it replaces that prefix. A MemoryError (a huge
    or hostile file) becomes a one-line ValueError too, instead of a traceback.
    """
    try:
        yield
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ValueError(f"{source}: not enough memory to load it{detail}") from None
    except ValueError as exc:
        prefix = f"dataset {dataset_name!r}: "
        if dataset_name is None or not str(exc).startswith(prefix):
            raise
        raise ValueError(f"{source}: {str(exc).removeprefix(prefix)}") from None


# --------------------------------------------------------------------------
# The Dataset container
# --------------------------------------------------------------------------


@dataclass
class Dataset:
    """Features and targets of one data set.

    ``X_test``/``y_test`` hold the source's official test split (fashion-mnist,
    mnist, or an npz file that has one) and are None otherwise.
    ``value_range`` is the known fixed range of the raw features (pixels:
    (0, 255) for MNIST, (0, 16) for digits), used by ``scale_splits(...,
    "fixed")``; None when the features have no natural range.
    ``source`` says where the data came from (a path, or a description).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    class_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    value_range: tuple[float, float] | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"dataset {self.name!r}: task must be one of {TASKS}, got {self.task!r}")
        if (self.X_test is None) != (self.y_test is None):
            raise ValueError(f"dataset {self.name!r}: X_test and y_test must both be given or both be None")
        self.X, self.y = self._coerce(self.X, self.y, "")
        if self.X_test is not None:
            self.X_test, self.y_test = self._coerce(self.X_test, self.y_test, "_test")
            if self.X_test.shape[1] != self.X.shape[1]:
                raise ValueError(
                    f"dataset {self.name!r}: X has {self.X.shape[1]} features "
                    f"but X_test has {self.X_test.shape[1]}"
                )
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
            if self.task != "classification":
                raise ValueError(f"dataset {self.name!r}: class_names only make sense for classification")
            for labels in (self.y, self.y_test):
                if labels is not None and labels.size and labels.max() >= len(self.class_names):
                    raise ValueError(
                        f"dataset {self.name!r}: label {labels.max()} but only "
                        f"{len(self.class_names)} class names"
                    )
        if self.feature_names is not None:
            self.feature_names = tuple(str(f) for f in self.feature_names)
            if len(self.feature_names) != self.X.shape[1]:
                raise ValueError(
                    f"dataset {self.name!r}: {len(self.feature_names)} feature names "
                    f"for {self.X.shape[1]} features"
                )
        if self.task == "classification" and self.y.size:
            # Caught here, not after a whole generation of trials has failed on it.
            present = np.unique(self.y)
            if len(present) < 2:
                label = int(present[0])
                shown = self.class_names[label] if self.class_names is not None else str(label)
                raise ValueError(
                    f"dataset {self.name!r}: classification needs at least 2 classes, found 1: {shown!r} "
                    f"(all {len(self.y)} labels in y)"
                )

    def _coerce(self, X, y, suffix: str) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(
                f"dataset {self.name!r}: X{suffix} must be 2-D (n_samples, n_features), got shape {X.shape}"
            )
        if y.ndim != 1:
            raise ValueError(f"dataset {self.name!r}: y{suffix} must be 1-D, got shape {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"dataset {self.name!r}: X{suffix} has {len(X)} rows but y{suffix} has {len(y)}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"dataset {self.name!r}: X{suffix} must be numeric, got dtype {X.dtype}")
        X = self._float32(X, f"X{suffix}")
        if self.task == "regression":
            return X, self._float32(y, f"y{suffix}")
        if np.issubdtype(y.dtype, np.floating):
            # Integer-valued floats (e.g. labels read back from a float array) are
            # fine; anything else is a regression target given to a classifier.
            bad = first_non_integer(y)
            if bad is not None:
                raise ValueError(
                    f"dataset {self.name!r}: classification labels y{suffix} must be integers, "
                    f"found {y[bad]} at row {bad}"
                )
        elif not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
            raise ValueError(
                f"dataset {self.name!r}: classification labels y{suffix} must be integers 0..k-1, "
                f"got dtype {y.dtype}"
            )
        y = np.ascontiguousarray(y, dtype=np.int64)
        if y.size and y.min() < 0:
            bad = int(np.argmax(y < 0))
            raise ValueError(f"dataset {self.name!r}: labels must be >= 0, found {y[bad]} at row {bad}")
        return X, y

    def _float32(self, array: np.ndarray, what: str) -> np.ndarray:
        """``array`` as contiguous float32, refusing what that conversion would silently change:
        imaginary parts (dropped) and finite values beyond float32's range (they become inf,
        which would later be reported as if the file held inf)."""
        if np.iscomplexobj(array):
            raise ValueError(
                f"dataset {self.name!r}: {what} is complex (dtype {array.dtype}); only real numbers can be used"
            )
        if array.dtype.kind == "f" and array.dtype.itemsize > 4:
            limit = np.finfo(np.float32).max
            finite = np.isfinite(array)
            if array.max(where=finite, initial=0) > limit or array.min(where=finite, initial=0) < -limit:
                too_large = finite & (np.abs(array) > limit)
                first = np.unravel_index(int(np.argmax(too_large)), array.shape)
                where = f"row {first[0]}"
                if array.ndim == 2:
                    names = self.feature_names
                    column = f" ({names[first[1]]!r})" if names is not None and len(names) == array.shape[1] else ""
                    where += f", column {first[1]}{column}"
                raise ValueError(
                    f"dataset {self.name!r}: {what} has {int(too_large.sum())} values too large for float32 "
                    f"(beyond +-{limit:.4g}, they would overflow to inf), first {array[first]:g} at {where}"
                )
        return np.ascontiguousarray(array, dtype=np.float32)

    @property
    def n_classes(self) -> int | None:
        """Number of classes (from class_names if known), None for regression."""
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        labels = self.y if self.y_test is None else np.concatenate([self.y, self.y_test])
        return int(labels.max()) + 1 if labels.size else 0


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

# What `hpsearch datasets` shows for a data set: a fixed description (always available),
# or a function that checks now, without downloading, returning (available, where).
Where = str | Callable[[], tuple[bool, str]]

_LOADERS: dict[str, Callable[..., Dataset]] = {}
_WHERE: dict[str, Where] = {}


def register_dataset(name: str, where: Where = "built in") -> Callable:
    """Decorator: make a loader ``f(**options) -> Dataset`` available as ``name`` (in
    configs, ``load_dataset`` and ``hpsearch datasets``). Its keyword parameters become the
    data set's options in a config's ``[dataset]`` table. ``where`` is what ``hpsearch
    datasets`` lists for it: a description, or a function returning (available, where)."""

    def decorator(func):
        _LOADERS[name] = func
        _WHERE[name] = where
        return func

    return decorator


def available_datasets() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`, in registration order."""
    return tuple(_LOADERS)


def dataset_loader(name: str) -> Callable[..., Dataset]:
    """The loader registered as ``name`` (its signature lists the data set's options).

    An unknown name raises ValueError with the valid names.
    """
    if name not in _LOADERS:
        valid = ", ".join(_LOADERS)
        raise ValueError(f"unknown dataset {name!r}; {suggest(name, _LOADERS)}valid names: {valid}")
    return _LOADERS[name]


def load_dataset(name: str, **options) -> Dataset:
    """Load the data set registered as ``name``, passing ``options`` to its loader.

    Unknown names and unknown options raise ValueError with the valid choices.
    """
    loader = dataset_loader(name)
    parameters = inspect.signature(loader).parameters.values()
    accepted = [p.name for p in parameters if p.kind != p.VAR_KEYWORD]
    # A loader taking **options (csv: pandas.read_csv's) checks them itself.
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters)
    for option in [] if takes_any else options:
        if option not in accepted:
            raise ValueError(
                f"dataset {name!r} has no option {option!r}; {suggest(option, accepted)}"
                f"valid options: {', '.join(accepted) or '(none)'}"
            )
    return loader(**options)


class DatasetLocation(NamedTuple):
    name: str
    available: bool
    where: str


def dataset_locations() -> list[DatasetLocation]:
    """One row per registered data set: whether it can be loaded now, and from where.

    Never downloads anything; IDX data sets not found locally read
    "download on first use (<url>)".
    """
    rows = []
    for name, where in _WHERE.items():
        available, text = where() if callable(where) else (True, where)
        rows.append(DatasetLocation(name, available, text))
    return rows
