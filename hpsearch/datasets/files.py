"""Your own data: a CSV file or a NumPy .npz file, named by a ``path`` option."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import TASKS, Dataset, register_dataset, suggest

_YOUR_FILE = "your file (path=...)"


def _encode_labels(values: np.ndarray, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary labels (strings, ints such as 1/2 or -1/1) to 0..k-1 in sorted order."""
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:  # a mix of e.g. strings and numbers cannot be sorted
        raise ValueError(f"{where}: labels cannot be sorted into classes ({exc})") from None
    return codes.reshape(-1).astype(np.int64), tuple(str(c) for c in classes)


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
    import pandas as pd

    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {TASKS}, got {task!r}")
    frame = pd.read_csv(path, **read_csv_options)
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
        y, class_names = _encode_labels(labels.to_numpy(), str(path))
    else:
        if not pd.api.types.is_numeric_dtype(labels):
            raise ValueError(
                f"{path}: regression target column {label!r} is not numeric (dtype {labels.dtype})"
            )
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
                raise ValueError(
                    f"{path}: no array {key!r}; {suggest(key, keys)}arrays are: {', '.join(keys)}"
                )
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
        class_names=None if class_names is None else tuple(class_names),
        X_test=X_test,
        y_test=y_test,
        source=str(path),
    )
