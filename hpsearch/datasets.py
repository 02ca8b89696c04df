"""Data sets for the hyperparameter search and for netcore's tests.

Every loader returns a :class:`Dataset`: features are float32 arrays of shape
(n_samples, n_features); classification labels are int64 in 0..k-1 with the
class names kept in ``class_names``; regression targets are float32.

Loaders are reached by name through :func:`load_dataset`::

    load_dataset("digits")
    load_dataset("fashion-mnist", n_train=10_000, seed=0)
    load_dataset("csv", path="iris.csv", label="species")

Where the MNIST-style IDX files are looked for, in order:

1. the ``data_dir`` option (authoritative: if it lacks the files, that is an
   error, nothing else is tried);
2. ``$HPSEARCH_DATA/<name>``, then ``$HPSEARCH_DATA`` itself;
3. for fashion-mnist, Debian's ``dataset-fashion-mnist`` package location;
4. the cache, ``$XDG_CACHE_HOME/hpsearch/<name>`` (default
   ``~/.cache/hpsearch/<name>``);
5. otherwise the files are downloaded into the cache, each checked against
   the MD5 that torchvision lists for it (``download=False`` turns this off).

Note that MNIST and Fashion-MNIST use the same file names, so a directory
holding one of them directly (not in a ``<name>`` subdirectory) cannot tell
which it is; prefer ``$HPSEARCH_DATA/mnist`` and ``$HPSEARCH_DATA/fashion-mnist``.

:func:`split_dataset` makes seeded, stratified train/validation/test splits
and :func:`scale_splits` scales them with statistics from the train split only.
"""

from __future__ import annotations

import dataclasses
import difflib
import gzip
import hashlib
import http.client
import inspect
import math
import os
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "Dataset",
    "DatasetLocation",
    "DownloadError",
    "Scaling",
    "Splits",
    "SCALING_METHODS",
    "available_datasets",
    "dataset_locations",
    "load_csv",
    "whole_data_splits",
    "register_dataset",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_gender",
    "load_mnist",
    "load_npz",
    "load_regression",
    "load_synthetic",
    "load_xor",
    "read_idx",
    "scale_splits",
    "split_dataset",
    "stratified_subset",
]

TASKS = ("classification", "regression")


class DownloadError(RuntimeError):
    """A data set could not be fetched, or what was fetched failed its checksum."""


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
                    f"dataset {self.name!r}: X has {self.X.shape[1]} features but X_test has {self.X_test.shape[1]}"
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
                    f"dataset {self.name!r}: {len(self.feature_names)} feature names for {self.X.shape[1]} features"
                )

    def _coerce(self, X, y, suffix: str) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"dataset {self.name!r}: X{suffix} must be 2-D (n_samples, n_features), got shape {X.shape}")
        if y.ndim != 1:
            raise ValueError(f"dataset {self.name!r}: y{suffix} must be 1-D, got shape {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"dataset {self.name!r}: X{suffix} has {len(X)} rows but y{suffix} has {len(y)}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"dataset {self.name!r}: X{suffix} must be numeric, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.task == "regression":
            return X, np.ascontiguousarray(y, dtype=np.float32)
        if np.issubdtype(y.dtype, np.floating):
            # Integer-valued floats (e.g. labels read back from a float array) are
            # fine; anything else is a regression target given to a classifier.
            finite = np.isfinite(y)
            not_integer = ~finite
            not_integer[finite] = y[finite] != np.round(y[finite])
            if not_integer.any():
                bad = int(np.argmax(not_integer))
                raise ValueError(
                    f"dataset {self.name!r}: classification labels y{suffix} must be integers, "
                    f"found {y[bad]} at row {bad}"
                )
        elif not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
            raise ValueError(
                f"dataset {self.name!r}: classification labels y{suffix} must be integers 0..k-1, got dtype {y.dtype}"
            )
        y = np.ascontiguousarray(y, dtype=np.int64)
        if y.size and y.min() < 0:
            bad = int(np.argmax(y < 0))
            raise ValueError(f"dataset {self.name!r}: labels must be >= 0, found {y[bad]} at row {bad}")
        return X, y

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

_LOADERS: dict[str, Callable[..., Dataset]] = {}


def register_dataset(name: str):
    """Decorator: make a loader ``f(**options) -> Dataset`` available as ``name`` (in
    configs, ``load_dataset`` and ``hpsearch datasets``). Its keyword parameters become the
    data set's options in a config's ``[dataset]`` table."""

    def decorator(func):
        _LOADERS[name] = func
        return func

    return decorator


_register = register_dataset


def available_datasets() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`, in registration order."""
    return tuple(_LOADERS)


def load_dataset(name: str, **options) -> Dataset:
    """Load the data set registered as ``name``, passing ``options`` to its loader.

    Unknown names and unknown options raise ValueError with the valid choices.
    """
    if name not in _LOADERS:
        valid = ", ".join(_LOADERS)
        guess = difflib.get_close_matches(name, list(_LOADERS), n=1, cutoff=0.5)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise ValueError(f"unknown dataset {name!r}; {hint}valid names: {valid}")
    loader = _LOADERS[name]
    parameters = inspect.signature(loader).parameters.values()
    accepted = [p.name for p in parameters if p.kind != p.VAR_KEYWORD]
    # A loader taking **options (csv: pandas.read_csv's) checks them itself.
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters)
    for option in [] if takes_any else options:
        if option not in accepted:
            guess = difflib.get_close_matches(option, accepted, n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            raise ValueError(
                f"dataset {name!r} has no option {option!r}; {hint}valid options: {', '.join(accepted) or '(none)'}"
            )
    return loader(**options)


# --------------------------------------------------------------------------
# Small built-in and generated data sets
# --------------------------------------------------------------------------


@_register("digits")
def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 samples, 64 features, pixel values 0..16)."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return Dataset(
        name="digits",
        X=bunch.data,
        y=bunch.target,
        task="classification",
        class_names=tuple(str(t) for t in bunch.target_names),
        feature_names=tuple(bunch.feature_names),
        value_range=(0.0, 16.0),
        source="bundled with scikit-learn",
    )


@_register("xor")
def load_xor() -> Dataset:
    """The four XOR points; label = x1 XOR x2."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return Dataset(
        name="xor",
        X=X,
        y=y,
        task="classification",
        class_names=("0", "1"),
        feature_names=("x1", "x2"),
        value_range=(0.0, 1.0),
        source="built in",
    )


# Weight (lb) and height (in) of the four people in the tutorial.
_GENDER_ROWS = (
    ("Alice", 133.0, 65.0, 1),
    ("Bob", 160.0, 72.0, 0),
    ("Charlie", 152.0, 70.0, 0),
    ("Diana", 120.0, 60.0, 1),
)
_GENDER_SHIFT = (135.0, 66.0)


@_register("gender")
def load_gender(shifted: bool = True) -> Dataset:
    """Weight/height -> gender toy data from Victor Zhou's tutorial.

    Source: Victor Zhou, "Machine Learning for Beginners: An Introduction to
    Neural Networks" (2019), https://victorzhou.com/blog/intro-to-neural-networks/
    The tutorial's table: Alice 133 lb / 65 in (F), Bob 160 / 72 (M),
    Charlie 152 / 70 (M), Diana 120 / 60 (F). It shifts weight by -135 and
    height by -66 "to make the numbers look nice" (so Alice becomes (-2, -1)),
    and encodes Male as 0 and Female as 1; both conventions are kept here.
    ``shifted=False`` gives the raw pounds and inches.
    """
    X = np.array([[w, h] for _, w, h, _ in _GENDER_ROWS], dtype=np.float32)
    if shifted:
        X = X - np.array(_GENDER_SHIFT, dtype=np.float32)
        feature_names = ("weight_minus_135_lb", "height_minus_66_in")
    else:
        feature_names = ("weight_lb", "height_in")
    return Dataset(
        name="gender",
        X=X,
        y=np.array([label for *_, label in _GENDER_ROWS], dtype=np.int64),
        task="classification",
        class_names=("male", "female"),
        feature_names=feature_names,
        source="Victor Zhou, Machine Learning for Beginners: An Introduction to Neural Networks",
    )


@_register("synthetic")
def load_synthetic(
    n_samples: int = 500,
    n_features: int = 20,
    n_classes: int = 3,
    n_informative: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Seeded ``sklearn.datasets.make_classification`` data.

    ``n_informative`` defaults to the smallest count make_classification
    accepts for ``n_classes`` (it needs 2 * n_classes <= 2 ** n_informative with
    its two clusters per class), at least 2, capped at ``n_features``.
    """
    from sklearn.datasets import make_classification

    if n_informative is None:
        n_informative = min(n_features, max(2, math.ceil(math.log2(2 * n_classes))))
    # Up to two redundant features (make_classification's default) when there is room.
    n_redundant = max(0, min(2, n_features - n_informative))
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=n_redundant,
        n_classes=n_classes,
        random_state=seed,
    )
    return Dataset(
        name="synthetic",
        X=X,
        y=y,
        task="classification",
        class_names=tuple(str(k) for k in range(n_classes)),
        feature_names=tuple(f"x{j}" for j in range(n_features)),
        source=f"sklearn make_classification(seed={seed})",
    )


@_register("regression")
def load_regression(
    n_samples: int = 500,
    n_features: int = 10,
    n_informative: int | None = None,
    noise: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Seeded ``sklearn.datasets.make_regression`` data with one float32 target."""
    from sklearn.datasets import make_regression

    if n_informative is None:
        n_informative = n_features
    X, y = make_regression(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        noise=noise,
        random_state=seed,
    )
    return Dataset(
        name="regression",
        X=X,
        y=y,
        task="regression",
        feature_names=tuple(f"x{j}" for j in range(n_features)),
        source=f"sklearn make_regression(seed={seed})",
    )


# --------------------------------------------------------------------------
# User data: CSV and NPZ
# --------------------------------------------------------------------------


def _encode_labels(values: np.ndarray, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary labels (strings, ints such as 1/2 or -1/1) to 0..k-1 in sorted order."""
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:  # a mix of e.g. strings and numbers cannot be sorted
        raise ValueError(f"{where}: labels cannot be sorted into classes ({exc})") from None
    return codes.reshape(-1).astype(np.int64), tuple(str(c) for c in classes)


def _did_you_mean(word: str, choices) -> str:
    guess = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.5)
    return f"did you mean {guess[0]!r}? " if guess else ""


@_register("csv")
def load_csv(
    path: str | os.PathLike,
    label: str,
    features: list[str] | tuple[str, ...] | None = None,
    task: str = "classification",
    name: str | None = None,
    **read_csv_options,
) -> Dataset:
    """A CSV file read with pandas: ``label`` is the target column.

    ``features`` picks the feature columns (default: all other columns); they
    must be numeric. For classification, labels of any kind (strings, or
    integers not in 0..k-1) are mapped to 0..k-1 in sorted order and the
    original values kept in ``class_names``. Extra keyword options go to
    ``pandas.read_csv`` (e.g. ``sep=";"``).
    """
    import pandas as pd

    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {TASKS}, got {task!r}")
    frame = pd.read_csv(path, **read_csv_options)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if label not in columns:
        raise ValueError(
            f"{path}: label column {label!r} not found; {_did_you_mean(label, columns)}columns are: {', '.join(columns)}"
        )
    if features is None:
        features = [c for c in columns if c != label]
    else:
        features = [str(f) for f in features]
        for column in features:
            if column not in columns:
                raise ValueError(
                    f"{path}: feature column {column!r} not found; "
                    f"{_did_you_mean(column, columns)}columns are: {', '.join(columns)}"
                )
        if label in features:
            raise ValueError(f"{path}: the label column {label!r} is also listed as a feature")
    if not features:
        raise ValueError(f"{path}: no feature columns besides the label {label!r}")
    for column in features:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            example = frame[column].dropna()
            example = f", e.g. value {example.iloc[0]!r}" if len(example) else ""
            raise ValueError(
                f"{path}: feature column {column!r} is not numeric (dtype {frame[column].dtype}{example}); "
                f"encode it as numbers or leave it out with features=[...]"
            )
    X = frame[features].to_numpy(dtype=np.float64, na_value=np.nan)
    labels = frame[label]
    missing = labels.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{path}: label column {label!r} has {int(missing.sum())} missing values, "
            f"first at data row {int(np.argmax(missing))}"
        )
    if task == "classification":
        y, class_names = _encode_labels(labels.to_numpy(), str(path))
    else:
        if not pd.api.types.is_numeric_dtype(labels):
            raise ValueError(f"{path}: regression target column {label!r} is not numeric (dtype {labels.dtype})")
        y, class_names = labels.to_numpy(dtype=np.float64), None
    return Dataset(
        name=name or path.stem,
        X=X,
        y=y,
        task=task,
        class_names=class_names,
        feature_names=tuple(features),
        source=str(path),
    )


@_register("npz")
def load_npz(
    path: str | os.PathLike,
    x_key: str = "X",
    y_key: str = "y",
    task: str = "classification",
    class_names: list[str] | tuple[str, ...] | None = None,
    name: str | None = None,
    x_test_key: str = "X_test",
    y_test_key: str = "y_test",
) -> Dataset:
    """A NumPy ``.npz`` file with arrays ``X`` and ``y`` (key names configurable).

    If the file also holds ``X_test`` and ``y_test`` they become the official
    test split. Classification labels that are not integers 0..k-1 (strings,
    or integers like -1/1) are mapped to 0..k-1 in sorted order, with the
    original values as class names unless ``class_names`` is given.
    """
    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {TASKS}, got {task!r}")
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.files)
        for key in (x_key, y_key):
            if key not in keys:
                raise ValueError(f"{path}: no array {key!r}; {_did_you_mean(key, keys)}arrays are: {', '.join(keys)}")
        X, y = archive[x_key], archive[y_key]
        has_test = x_test_key in keys and y_test_key in keys
        X_test = archive[x_test_key] if has_test else None
        y_test = archive[y_test_key] if has_test else None
    if task == "classification":
        labels = y if y_test is None else np.concatenate([y, y_test])
        if np.issubdtype(labels.dtype, np.integer) and labels.size and labels.min() >= 0:
            # Already class codes: keep them, so an absent class does not shift the others.
            if class_names is None:
                class_names = tuple(str(k) for k in range(int(labels.max()) + 1))
        else:
            if class_names is not None:
                raise ValueError(f"{path}: class_names can only be given for integer labels 0..k-1")
            # Encode train and test together so a code means the same class in both.
            codes, class_names = _encode_labels(labels, str(path))
            y, y_test = codes[: len(y)], (codes[len(y) :] if y_test is not None else None)
    return Dataset(
        name=name or path.stem,
        X=X,
        y=y,
        task=task,
        class_names=class_names,
        X_test=X_test,
        y_test=y_test,
        source=str(path),
    )


# --------------------------------------------------------------------------
# IDX files (MNIST, Fashion-MNIST)
# --------------------------------------------------------------------------

# IDX dtype codes (third byte of the magic number); multi-byte types are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_LABELS_MAGIC = 0x00000801  # uint8, 1-D
IDX_IMAGES_MAGIC = 0x00000803  # uint8, 3-D


def _read_maybe_gzip(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    # The content decides, not the name: mirrors and packagers sometimes
    # decompress files and keep the .gz name, or the other way round.
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) into a NumPy array.

    The magic number is two zero bytes, a dtype code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
    dimensions; then one big-endian uint32 per dimension, then the data.
    ``expected_magic`` (e.g. ``IDX_IMAGES_MAGIC``) rejects any other magic.
    Problems raise a one-line ValueError naming the file.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(data)} bytes, too short for the 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or (expected_magic is not None and magic != expected_magic):
        expected = f"0x{expected_magic:08X}" if expected_magic is not None else "0x0000TTNN (two zero bytes, dtype code, ndim)"
        raise ValueError(f"{path}: wrong magic number 0x{magic:08X}, expected {expected}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unsupported IDX dtype code 0x{code:02X} (supported: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{path}: truncated IDX file: header needs {header_len} bytes for {ndim} dimensions, file has {len(data)}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected_bytes = math.prod(shape) * dtype.itemsize
    found_bytes = len(data) - header_len
    if found_bytes < expected_bytes:
        raise ValueError(
            f"{path}: truncated IDX file: dimensions {shape} promise {expected_bytes} data bytes, found {found_bytes}"
        )
    if found_bytes > expected_bytes:
        raise ValueError(
            f"{path}: trailing garbage: {found_bytes - expected_bytes} bytes after the {expected_bytes} data bytes "
            f"that dimensions {shape} promise"
        )
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class _IdxSource:
    name: str
    url: str
    url_env: str
    md5: dict[str, str]
    class_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()


IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# MD5s of the .gz files as distributed, from torchvision's datasets/mnist.py
# (Fashion-MNIST's also appear in its README). Debian's dataset-fashion-mnist
# package does NOT match them byte for byte: its build strips the gzip header's
# file name and resets the mtime to the package date; the compressed data are
# unchanged (putting back the original header reproduces these MD5s, see the
# tests). That is why only downloads are checked, not files found on disk.
_SOURCES = {
    "mnist": _IdxSource(
        name="mnist",
        url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        url_env="HPSEARCH_MNIST_URL",
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": _IdxSource(
        name="fashion-mnist",
        url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        url_env="HPSEARCH_FASHION_MNIST_URL",
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
}

DOWNLOAD_TIMEOUT_S = 60.0


def _cache_dir(name: str) -> Path:
    # Per the XDG spec an empty or relative XDG_CACHE_HOME is ignored.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "hpsearch" / name


def _idx_paths_in(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory`` (each raw or .gz), or None if any is missing."""
    found = {}
    for key, base in IDX_FILES.items():
        for candidate in (directory / f"{base}.gz", directory / base):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _candidate_dirs(source: _IdxSource) -> list[Path]:
    """Where to look for ``source``'s files, in order (without an explicit data_dir)."""
    dirs = []
    env = os.environ.get("HPSEARCH_DATA", "")
    if env:
        # The per-name subdirectory first: MNIST and Fashion-MNIST share file
        # names, so files directly in $HPSEARCH_DATA could be either.
        dirs += [Path(env) / source.name, Path(env)]
    dirs += [Path(d) for d in source.system_dirs]
    dirs.append(_cache_dir(source.name))
    return dirs


def _find_idx_files(source: _IdxSource) -> dict[str, Path] | None:
    for directory in _candidate_dirs(source):
        found = _idx_paths_in(directory)
        if found is not None:
            return found
    return None


def _download_url(source: _IdxSource, url: str | None) -> str:
    base = url or os.environ.get(source.url_env) or source.url
    return base if base.endswith("/") else base + "/"


def _download_file(url: str, target: Path, md5: str) -> None:
    """Fetch ``url`` to ``target``, renaming into place only once the MD5 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name in the same directory, so the final rename is atomic and
    # an interrupted or bad download never looks like a usable file.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise DownloadError(
                f"checksum mismatch for {url}: md5 {digest.hexdigest()}, expected {md5}; "
                f"the file was not saved to {target.parent}"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _download_idx_files(source: _IdxSource, url: str | None) -> dict[str, Path]:
    cache = _cache_dir(source.name)
    base_url = _download_url(source, url)
    for base in IDX_FILES.values():
        filename = f"{base}.gz"
        if (cache / filename).is_file() or (cache / base).is_file():
            continue  # kept from an earlier, partly successful download
        file_url = base_url + filename
        try:
            _download_file(file_url, cache / filename, source.md5[filename])
        except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
            reason = getattr(exc, "reason", None) or exc
            raise DownloadError(
                f"cannot download {source.name} from {file_url} ({reason}); put the four IDX files "
                f"({', '.join(f'{b}.gz' for b in IDX_FILES.values())}) in {cache} or in a directory "
                f"named by HPSEARCH_DATA (or pass data_dir=...), or set {source.url_env} to a reachable mirror"
            ) from None
    found = _idx_paths_in(cache)
    assert found is not None, "all four files were just downloaded"
    return found


def _locate_idx_files(
    source: _IdxSource, data_dir: str | os.PathLike | None, url: str | None, download: bool
) -> dict[str, Path]:
    if data_dir is not None:
        found = _idx_paths_in(Path(data_dir))
        if found is None:
            missing = [b for b in IDX_FILES.values() if not (Path(data_dir) / b).is_file()
                       and not (Path(data_dir) / f"{b}.gz").is_file()]
            raise FileNotFoundError(
                f"{source.name}: data_dir {data_dir} lacks {', '.join(missing)} (raw or .gz)"
            )
        return found
    found = _find_idx_files(source)
    if found is not None:
        return found
    if not download:
        where = ", ".join(str(d) for d in _candidate_dirs(source))
        raise FileNotFoundError(
            f"{source.name}: IDX files not found (looked in {where}) and download=False; "
            f"put them in one of those directories or set HPSEARCH_DATA"
        )
    return _download_idx_files(source, url)


def stratified_subset(y: np.ndarray, n: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Sorted indices of a seeded subset of ``n`` rows keeping class proportions.

    Each class gets its share of ``n`` rounded down, and the rows left over go
    to the classes with the largest remainders (ties: lower label first).
    """
    y = np.asarray(y)
    if not 0 < n <= len(y):
        raise ValueError(f"subset size must be in 1..{len(y)}, got {n}")
    if n == len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    ideal = counts * n / len(y)
    take = np.floor(ideal).astype(int)
    order = np.lexsort((classes, -(ideal - take)))  # largest remainder first
    take[order[: n - take.sum()]] += 1
    chosen = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def _check_labels(labels: np.ndarray, n_classes: int, path: Path) -> None:
    bad = labels >= n_classes
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"{path}: labels out of range: {int(bad.sum())} labels outside 0..{n_classes - 1}, "
            f"first {int(labels[first])} at index {first}"
        )


def _load_idx_dataset(
    name: str,
    data_dir: str | os.PathLike | None,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    url: str | None,
    download: bool,
) -> Dataset:
    source = _SOURCES[name]
    paths = _locate_idx_files(source, data_dir, url, download)
    k = len(source.class_names)
    arrays = {}
    for split in ("train", "test"):
        images = read_idx(paths[f"{split}_images"], expected_magic=IDX_IMAGES_MAGIC)
        labels = read_idx(paths[f"{split}_labels"], expected_magic=IDX_LABELS_MAGIC)
        if len(images) != len(labels):
            raise ValueError(
                f"{name}: {paths[f'{split}_images']} has {len(images)} images but "
                f"{paths[f'{split}_labels']} has {len(labels)} labels"
            )
        _check_labels(labels, k, paths[f"{split}_labels"])
        limit = n_train if split == "train" else n_test
        if limit is not None:
            # Subsetting before the float32 conversion keeps peak memory low.
            keep = stratified_subset(labels, limit, seed)
            images, labels = images[keep], labels[keep]
        image_shape = images.shape[1:]
        arrays[split] = (images.reshape(len(images), -1), labels)
    rows, cols = image_shape
    # Same naming as scikit-learn's digits, row-major like the flattened images.
    feature_names = tuple(f"pixel_{r}_{c}" for r in range(rows) for c in range(cols))
    return Dataset(
        name=name,
        X=arrays["train"][0],
        y=arrays["train"][1],
        task="classification",
        class_names=source.class_names,
        feature_names=feature_names,
        X_test=arrays["test"][0],
        y_test=arrays["test"][1],
        value_range=(0.0, 255.0),
        source=str(paths["train_images"].parent),
    )


@_register("fashion-mnist")
def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    url: str | None = None,
    download: bool = True,
) -> Dataset:
    """Fashion-MNIST: 60000 + 10000 28x28 images, raw pixels 0..255 as float32, 10 classes.

    ``n_train``/``n_test`` take a seeded stratified subset of either split.
    ``url`` (or ``$HPSEARCH_FASHION_MNIST_URL``) replaces the download address.
    See the module docstring for where the files are looked for.
    """
    return _load_idx_dataset("fashion-mnist", data_dir, n_train, n_test, seed, url, download)


@_register("mnist")
def load_mnist(
    data_dir: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    url: str | None = None,
    download: bool = True,
) -> Dataset:
    """MNIST digits: 60000 + 10000 28x28 images, raw pixels 0..255 as float32.

    Downloads by default from the ossci-datasets mirror that torchvision uses
    (yann.lecun.com is unreliable); ``url`` or ``$HPSEARCH_MNIST_URL``
    replaces it. Other options as for :func:`load_fashion_mnist`.
    """
    return _load_idx_dataset("mnist", data_dir, n_train, n_test, seed, url, download)


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
    for name in _LOADERS:
        if name in _SOURCES:
            source = _SOURCES[name]
            found = _find_idx_files(source)
            if found is not None:
                rows.append(DatasetLocation(name, True, str(found["train_images"].parent)))
            else:
                rows.append(DatasetLocation(name, False, f"download on first use ({_download_url(source, None)})"))
        elif name == "digits":
            rows.append(DatasetLocation(name, True, "bundled with scikit-learn"))
        elif name in ("synthetic", "regression"):
            rows.append(DatasetLocation(name, True, "generated by scikit-learn from a seed"))
        elif name in ("csv", "npz"):
            rows.append(DatasetLocation(name, True, "your file (path=...)"))
        else:
            rows.append(DatasetLocation(name, True, "built in"))
    return rows


# --------------------------------------------------------------------------
# Splits and scaling
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scaling:
    """A fitted feature scaling: ``X_scaled = (X - offset) / scale``."""

    method: str
    offset: np.ndarray
    scale: np.ndarray

    def apply(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=np.float32) - self.offset) / self.scale).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Splits:
    """Train/validation/test arrays plus what is needed to interpret them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    name: str = ""
    class_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    value_range: tuple[float, float] | None = None
    scaling: Scaling | None = None

    @property
    def n_classes(self) -> int | None:
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        return int(max(y.max() for y in (self.y_train, self.y_val, self.y_test) if y.size) + 1)


def _check_finite(array: np.ndarray, what: str, dataset_name: str, feature_names=None) -> None:
    bad = ~np.isfinite(array)
    if not bad.any():
        return
    rows = bad.any(axis=1) if bad.ndim == 2 else bad
    first_row = int(np.argmax(rows))
    where = f"first at row {first_row}"
    if bad.ndim == 2:
        column = int(np.argmax(bad[first_row]))
        label = f" ({feature_names[column]!r})" if feature_names is not None else ""
        where += f", column {column}{label}"
    raise ValueError(
        f"dataset {dataset_name!r}: {what} has {int(bad.sum())} NaN/inf values in {int(rows.sum())} rows, {where}"
    )


def _split_indices(
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    rng: np.random.Generator,
    stratify: bool,
    class_names,
    dataset_name: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test); test is empty when test_fraction is 0."""
    wanted = [("train", 1.0), ("validation", val_fraction), ("test", test_fraction)]
    wanted = [s for s, f in wanted if f > 0]
    if stratify:
        # Split each class separately with rounded counts, so each split's
        # class counts are within one sample of the exact proportions, and at
        # least one sample per class and split (which can shift very small
        # classes a little further from the proportions).
        groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    parts = ([], [], [])
    for members in groups:
        n = len(members)
        n_val, n_test = round(n * val_fraction), round(n * test_fraction)
        if stratify:
            n_val = max(n_val, 1) if val_fraction > 0 else 0
            n_test = max(n_test, 1) if test_fraction > 0 else 0
        if n - n_val - n_test < 1 or (val_fraction > 0 and n_val < 1) or (test_fraction > 0 and n_test < 1):
            if stratify:
                label = int(y[members[0]])
                shown = f"{class_names[label]!r} (label {label})" if class_names else f"{label}"
                raise ValueError(
                    f"dataset {dataset_name!r}: class {shown} has only {n} samples; each class needs at least "
                    f"{len(wanted)} to appear in every split ({', '.join(wanted)}) with these fractions"
                )
            raise ValueError(
                f"dataset {dataset_name!r}: {n} samples are too few for splits {', '.join(wanted)} "
                f"with val_fraction={val_fraction}, test_fraction={test_fraction}"
            )
        shuffled = rng.permutation(members)
        parts[1].append(shuffled[:n_val])
        parts[2].append(shuffled[n_val : n_val + n_test])
        parts[0].append(shuffled[n_val + n_test :])
    # Shuffle within each split so that rows are not grouped by class.
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def whole_data_splits(dataset: Dataset) -> Splits:
    """Every row in all three splits, for toy problems whose points are the whole task (XOR):
    the scores then measure fitting, not generalisation."""
    if dataset.X_test is not None:
        raise ValueError(f"dataset {dataset.name!r} has an official test split; keep holdout = true")
    return Splits(
        X_train=dataset.X, y_train=dataset.y, X_val=dataset.X, y_val=dataset.y,
        X_test=dataset.X, y_test=dataset.y, task=dataset.task, name=dataset.name,
        class_names=dataset.class_names, feature_names=dataset.feature_names,
        value_range=dataset.value_range,
    )


def split_dataset(
    dataset: Dataset,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int | np.random.Generator = 0,
    stratify: bool = True,
) -> Splits:
    """Seeded train/validation/test split.

    Fractions are of the whole data set. When the data set has an official
    test split (fashion-mnist, mnist) that becomes the test split,
    ``test_fraction`` is ignored, and ``val_fraction`` is taken from the
    official train split. Classification splits are stratified (unless
    ``stratify=False``): every class appears in every split, with class counts
    within one sample of the exact proportions. Same seed, same split.
    """
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
            raise ValueError(f"{label} must be in [0, 1), got {value!r}")
    has_official_test = dataset.X_test is not None
    if has_official_test:
        test_fraction = 0.0
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1 to leave training data, got {val_fraction + test_fraction}"
        )
    _check_finite(dataset.X, "X", dataset.name, dataset.feature_names)
    _check_finite(dataset.y, "y", dataset.name)
    if has_official_test:
        _check_finite(dataset.X_test, "X_test", dataset.name, dataset.feature_names)
        _check_finite(dataset.y_test, "y_test", dataset.name)
    if len(dataset.y) == 0:
        raise ValueError(f"dataset {dataset.name!r} is empty")

    rng = np.random.default_rng(seed)
    stratify = stratify and dataset.task == "classification"
    train, val, test = _split_indices(
        dataset.y, val_fraction, test_fraction, rng, stratify, dataset.class_names, dataset.name
    )
    if has_official_test:
        X_test, y_test = dataset.X_test, dataset.y_test
    else:
        X_test, y_test = dataset.X[test], dataset.y[test]
    return Splits(
        X_train=dataset.X[train],
        y_train=dataset.y[train],
        X_val=dataset.X[val],
        y_val=dataset.y[val],
        X_test=X_test,
        y_test=y_test,
        task=dataset.task,
        name=dataset.name,
        class_names=dataset.class_names,
        feature_names=dataset.feature_names,
        value_range=dataset.value_range,
    )


SCALING_METHODS = ("none", "minmax", "standard", "fixed")


def scale_splits(
    splits: Splits,
    method: str = "minmax",
    value_range: tuple[float, float] | None = None,
) -> Splits:
    """Scale all three feature arrays with parameters fitted on the train split only.

    - ``"minmax"``: per column to [0, 1] on train; validation and test values
      may fall outside. Constant columns are shifted to 0, not divided.
    - ``"standard"``: per column mean 0, std 1 on train; zero-std columns are
      shifted to 0, not divided (as scikit-learn's scalers do).
    - ``"fixed"``: ``(X - lo) / (hi - lo)`` with the data's known range
      ``value_range`` (default: the data set's, e.g. (0, 255) for MNIST
      pixels, (0, 16) for digits). This is the usual choice for images:
      per-pixel min/max from train turns the always-black border pixels into
      constant columns and a rare bright pixel in validation into values far
      above 1, whereas x / 255 treats every pixel alike.
    - ``"none"``: unchanged.

    Results are float32; the fitted ``Scaling`` is kept in ``splits.scaling``
    so that new data can be transformed the same way.
    """
    if method not in SCALING_METHODS:
        raise ValueError(
            f"unknown scaling method {method!r}; {_did_you_mean(method, SCALING_METHODS)}"
            f"valid: {', '.join(SCALING_METHODS)}"
        )
    if splits.scaling is not None and method != "none":
        raise ValueError(f"splits are already scaled ({splits.scaling.method}); scale the unscaled splits instead")
    n_features = splits.X_train.shape[1]
    train = splits.X_train.astype(np.float64)
    if method != "none" and len(train) == 0:
        raise ValueError("cannot fit a scaling on an empty train split")
    if method == "none":
        offset, scale = np.zeros(n_features), np.ones(n_features)
    elif method == "minmax":
        offset = train.min(axis=0)
        scale = train.max(axis=0) - offset
    elif method == "standard":
        offset = train.mean(axis=0)
        scale = train.std(axis=0)
    else:
        value_range = value_range if value_range is not None else splits.value_range
        if value_range is None:
            raise ValueError(
                f"dataset {splits.name!r} has no known value range; pass value_range=(lo, hi) for 'fixed' scaling"
            )
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise ValueError(f"value_range must have hi > lo, got {value_range}")
        offset, scale = np.full(n_features, lo), np.full(n_features, hi - lo)
    # Constant columns keep scale 1: no division by zero, and train values become 0.
    scale = np.where(scale > 0, scale, 1.0)
    scaling = Scaling(method, offset.astype(np.float32), scale.astype(np.float32))
    return dataclasses.replace(
        splits,
        X_train=scaling.apply(splits.X_train),
        X_val=scaling.apply(splits.X_val),
        X_test=scaling.apply(splits.X_test),
        scaling=scaling if method != "none" else None,
    )
