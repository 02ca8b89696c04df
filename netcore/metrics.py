"""Scores computed from 2-D targets Y and network outputs P; higher is better for all."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._types import Array, MetricFn
from .losses import Head


def predicted_classes(P: Array) -> NDArray[np.integer[Any]]:
    """Class indices from outputs: argmax of several outputs, threshold 0.5 of a single one."""
    if P.shape[1] == 1:
        return (P[:, 0] > 0.5).astype(np.int64)
    classes: NDArray[np.integer[Any]] = P.argmax(axis=1)
    return classes


def accuracy(Y: Array, P: Array) -> float:
    return float(np.mean(predicted_classes(Y) == predicted_classes(P)))


def neg_mse(Y: Array, P: Array) -> float:
    diff = P - Y
    return -float(np.mean(diff * diff))


def r2(Y: Array, P: Array) -> float:
    """Coefficient of determination averaged over outputs (scikit-learn's 'uniform_average')."""
    residual = np.sum((Y - P) ** 2, axis=0, dtype=np.float64)
    total = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0, dtype=np.float64)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
    return float(scores.mean())


METRICS: dict[str, MetricFn] = {"accuracy": accuracy, "neg_mse": neg_mse, "r2": r2}


def get_metric(name: str | MetricFn) -> MetricFn:
    if callable(name):
        return name
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(sorted(METRICS))}") from None


def default_metric(head: Head) -> str:
    return "accuracy" if head.is_classifier else "neg_mse"
