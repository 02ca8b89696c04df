"""cv_results_ of GeneticSearchCV, laid out as scikit-learn's BaseSearchCV lays them out, from
the search's trials table (so a resumed search has them too)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata

__all__ = ["cv_results", "metric_names"]

_TEST = re.compile(r"split0_test_(.+)")


def metric_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metrics the rows hold (split0_test_<name>), in the scorer's order; "score" for one."""
    names: list[str] = []
    for row in rows:
        names += [m.group(1) for key in row if (m := _TEST.fullmatch(key)) and m.group(1) not in names]
    return names or ["score"]


def param_arrays(candidates: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """param_<name> masked arrays, as scikit-learn lays them out (object dtype for strings,
    None and sequences)."""
    values: dict[str, dict[int, Any]] = defaultdict(dict)
    for index, params in enumerate(candidates):
        for name, value in params.items():
            values[f"param_{name}"][index] = value
    arrays = {}
    for key, by_index in values.items():
        listed = list(by_index.values())
        try:
            probe = np.array(listed)
        except ValueError:
            dtype = np.dtype(object)
        else:
            dtype = probe.dtype if probe.dtype.kind not in "UO" and probe.ndim == 1 else np.dtype(object)
        array = MaskedArray(np.empty(len(candidates), dtype=dtype), mask=True)
        for index, value in by_index.items():
            array[index] = value
        arrays[key] = array
    return arrays


def ranks(means: np.ndarray) -> np.ndarray:
    """rank_test_<metric>: 1 is the best; NaN means tie with the worst (scikit-learn's rule)."""
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


def cv_results(rows: Sequence[Mapping[str, Any]], candidates: Sequence[Mapping[str, Any]], n_splits: int,
               train_scores: bool) -> dict[str, Any]:
    """The cv_results_ dict of the candidates cross-validated (rows: their trials rows)."""

    def column(name: str) -> np.ndarray:
        cells = [[row.get(f"split{k}_{name}") for k in range(n_splits)] for row in rows]
        return np.array([[math.nan if cell is None else cell for cell in line] for line in cells],
                        dtype=np.float64).reshape(len(rows), n_splits)

    results: dict[str, Any] = {}
    for name in ("fit_time", "score_time"):
        times = column(name)
        results[f"mean_{name}"] = times.mean(axis=1)
        results[f"std_{name}"] = times.std(axis=1)
    results.update(param_arrays(candidates))
    results["params"] = list(candidates)
    for metric in metric_names(rows):
        for kind in ("test", "train") if train_scores else ("test",):
            scores = column(f"{kind}_{metric}")
            for k in range(n_splits):
                results[f"split{k}_{kind}_{metric}"] = scores[:, k]
            means = scores.mean(axis=1)
            results[f"mean_{kind}_{metric}"] = means
            results[f"std_{kind}_{metric}"] = scores.std(axis=1)
            if kind == "test":
                results[f"rank_test_{metric}"] = ranks(means)
    results["trial_id"] = np.array([row["trial_id"] for row in rows], dtype=np.int64)
    results["generation"] = np.array([row["generation"] for row in rows], dtype=np.int64)
    return results
