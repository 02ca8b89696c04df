"""Seeded, stratified train/validation/test splits (:func:`split_dataset`), scaling with
statistics from the train split only (:func:`scale_splits`), and seeded stratified subsets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .base import Dataset, suggest


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
        f"dataset {dataset_name!r}: {what} has {int(bad.sum())} NaN/inf values "
        f"in {int(rows.sum())} rows, {where}"
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
    fractions = [("train", 1.0), ("validation", val_fraction), ("test", test_fraction)]
    wanted = [split for split, fraction in fractions if fraction > 0]
    if stratify:
        # Split each class separately with rounded counts, so each split's
        # class counts are within one sample of the exact proportions, and at
        # least one sample per class and split (which can shift very small
        # classes a little further from the proportions).
        groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
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
                    f"dataset {dataset_name!r}: class {shown} has only {n} samples; "
                    f"each class needs at least "
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
    train, val, test = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, val, test


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
    X_test, y_test = dataset.X_test, dataset.y_test  # the official test split: both or neither
    if X_test is not None:
        test_fraction = 0.0
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1 to leave training data, "
            f"got {val_fraction + test_fraction}"
        )
    _check_finite(dataset.X, "X", dataset.name, dataset.feature_names)
    _check_finite(dataset.y, "y", dataset.name)
    if X_test is not None and y_test is not None:
        _check_finite(X_test, "X_test", dataset.name, dataset.feature_names)
        _check_finite(y_test, "y_test", dataset.name)
    if len(dataset.y) == 0:
        raise ValueError(f"dataset {dataset.name!r} is empty")

    rng = np.random.default_rng(seed)
    stratify = stratify and dataset.task == "classification"
    train, val, test = _split_indices(
        dataset.y, val_fraction, test_fraction, rng, stratify, dataset.class_names, dataset.name
    )
    if X_test is None or y_test is None:
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
            f"unknown scaling method {method!r}; {suggest(method, SCALING_METHODS)}"
            f"valid: {', '.join(SCALING_METHODS)}"
        )
    if splits.scaling is not None and method != "none":
        raise ValueError(
            f"splits are already scaled ({splits.scaling.method}); scale the unscaled splits instead"
        )
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
                f"dataset {splits.name!r} has no known value range; "
                f"pass value_range=(lo, hi) for 'fixed' scaling"
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
