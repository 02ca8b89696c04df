"""Your own data: a CSV file or a NumPy .npz file, named by a ``path`` option."""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .base import TASKS, Dataset, errors_naming, first_non_integer, register_dataset, suggest

_YOUR_FILE = "your file (path=...)"


def _label_array(values, where: str | os.PathLike, what: str) -> np.ndarray:
    """Labels checked for what would silently become wrong classes: a float target such as
    0.5/1.7 (one class per value), NaN, complex numbers; integer-valued floats become ints."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{where}: {what} must be 1-D (one label per row), got shape {values.shape}")
    if values.dtype.kind == "c":
        raise ValueError(
            f"{where}: {what} has complex labels (dtype {values.dtype}); classes must be integers or strings"
        )
    if values.dtype.kind == "f":
        row = first_non_integer(values)
        if row is not None:
            raise ValueError(
                f"{where}: {what} has label {values[row]} at row {row}, which is not an integer; classification "
                f"labels must be integers or strings (for a numeric target use task = 'regression')"
            )
        if values.size and np.abs(values).max() < 2**53:
            values = values.astype(np.int64)  # class names "1", not "1.0"
    return values


def _encode_labels(
    y, where: str | os.PathLike, what: str, y_test=None, what_test: str = ""
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Classification labels of any kind (strings; integers such as 1/2, -1/1 or 0/50000) as
    codes 0..k-1 over y's sorted classes, the original values kept as class names.

    The codes, not the raw numbers, size the network's output layer: labels {0, 50000} are
    2 classes, not 50001. ``y_test`` gets the same codes; a label in it that y never has is
    an error, as no classifier trained on y could predict it.
    """
    y = _label_array(y, where, what)
    labels = y if y_test is None else np.concatenate([y, _label_array(y_test, where, what_test)])
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:  # a mix of e.g. strings and numbers cannot be sorted
        raise ValueError(f"{where}: labels cannot be sorted into classes ({exc})") from None
    codes = codes.reshape(-1).astype(np.int64)
    in_train = np.zeros(len(classes), dtype=bool)
    in_train[codes[: len(y)]] = True
    unseen = ~in_train[codes[len(y) :]]
    if unseen.any():
        row = int(np.argmax(unseen))
        label = classes[codes[len(y) + row]].item()
        raise ValueError(
            f"{where}: {what_test} has label {label!r} (at row {row}, {int(unseen.sum())} rows in all) "
            f"that {what} never has; a classifier trained on {what} cannot predict it"
        )
    test_codes = codes[len(y) :] if y_test is not None else None
    return codes[: len(y)], test_codes, tuple(str(c) for c in classes)


@register_dataset("csv", where=_YOUR_FILE)
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
    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {TASKS}, got {task!r}")
    with errors_naming(path, name or path.stem):
        return _load_csv(path, label, features, task, name or path.stem, read_csv_options)


def _load_csv(path: Path, label: str, features, task: str, name: str, read_csv_options: dict) -> Dataset:
    import pandas as pd

    try:
        frame = pd.read_csv(path, **read_csv_options)
    except ValueError as exc:  # pandas' parser and decoding errors, which do not name the file
        raise ValueError(f"{path}: cannot read as CSV ({' '.join(str(exc).split())})") from None
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if label not in columns:
        raise ValueError(
            f"{path}: label column {label!r} not found; "
            f"{suggest(label, columns)}columns are: {', '.join(columns)}"
        )
    if features is None:
        features = [c for c in columns if c != label]
    else:
        features = [str(f) for f in features]
        for column in features:
            if column not in columns:
                raise ValueError(
                    f"{path}: feature column {column!r} not found; "
                    f"{suggest(column, columns)}columns are: {', '.join(columns)}"
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
        y, _, class_names = _encode_labels(labels.to_numpy(), path, f"label column {label!r}")
    else:
        if not pd.api.types.is_numeric_dtype(labels):
            raise ValueError(
                f"{path}: regression target column {label!r} is not numeric (dtype {labels.dtype})"
            )
        y, class_names = labels.to_numpy(dtype=np.float64), None
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=task,
        class_names=class_names,
        feature_names=tuple(features),
        source=str(path),
    )


@register_dataset("npz", where=_YOUR_FILE)
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
    test split. Classification labels of any kind (strings, or integers like
    -1/1 or 0/50000) are mapped to 0..k-1 in the sorted order of ``y``'s
    values, which become the class names; a ``y_test`` label absent from ``y``
    is an error. With ``class_names`` given, the labels must instead be
    integers 0..len(class_names)-1 and are kept as they are.
    """
    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {TASKS}, got {task!r}")
    with errors_naming(path, name or path.stem):
        X, y, X_test, y_test = _read_npz(path, x_key, y_key, x_test_key, y_test_key)
        if task == "classification" and class_names is None:
            y, y_test, class_names = _encode_labels(y, path, f"array {y_key!r}", y_test, f"array {y_test_key!r}")
        return Dataset(
            name=name or path.stem,
            X=X,
            y=y,
            task=task,
            class_names=None if class_names is None else tuple(class_names),
            X_test=X_test,
            y_test=y_test,
            source=str(path),
        )


_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
_NPY_MAGIC = b"\x93NUMPY"


def _read_npz(
    path: Path, x_key: str, y_key: str, x_test_key: str, y_test_key: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """X, y, X_test, y_test (the test ones None when absent); every problem a one-line error."""
    with open(path, "rb") as fh:
        start = fh.read(6)
    if start == _NPY_MAGIC:
        raise ValueError(
            f"{path}: a single .npy array, not an .npz archive; save one with np.savez(path, X=..., y=...)"
        )
    if start[:4] not in _ZIP_MAGICS:
        raise ValueError(f"{path}: not an .npz archive (those are zip files, made by np.savez)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: corrupt .npz archive ({exc})") from None
    with archive:
        keys = list(archive.files)
        for key in (x_key, y_key):
            if key not in keys:
                raise ValueError(f"{path}: no array {key!r}; {suggest(key, keys)}arrays are: {', '.join(keys)}")
        if (x_test_key in keys) != (y_test_key in keys):
            has, lacks = (x_test_key, y_test_key) if x_test_key in keys else (y_test_key, x_test_key)
            raise ValueError(f"{path}: has {has!r} but no {lacks!r}; a test split needs both")

        has_test = x_test_key in keys
        X, y = _npz_array(archive, x_key, path), _npz_array(archive, y_key, path)
        if not has_test:
            return X, y, None, None
        return X, y, _npz_array(archive, x_test_key, path), _npz_array(archive, y_test_key, path)


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        shape, declared, available = _npy_sizes(archive.zip, f"{key}.npy", path)
        if declared <= available:
            return archive[key]
        problem = f"its header declares shape {shape}, {declared} bytes, but the archive holds {available}"
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error) as exc:
        problem = " ".join(str(exc).split())
    raise ValueError(f"{path}: cannot read array {key!r} ({problem})")


def _npy_sizes(archive: zipfile.ZipFile, member: str, path: Path) -> tuple[tuple[int, ...], int, int]:
    """(shape, data bytes it implies, data bytes there are) of an .npy file in the archive.

    NumPy allocates what the header declares before it reads any data, so a header
    edited to claim 10**12 rows must be caught here, from the sizes alone.
    """
    if member not in archive.namelist():
        raise ValueError("not .npy data")  # NumPy would hand back its raw bytes, however many
    info = archive.getinfo(member)
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        available = info.file_size - stream.tell()
    if info.compress_type == zipfile.ZIP_STORED:  # stored data must fit in the file itself
        available = min(available, path.stat().st_size)
    return shape, math.prod(shape) * dtype.itemsize, available
