"""cv_results_ of GeneticSearchCV, laid out as scikit-learn's BaseSearchCV lays them out, from
the search's trials table (so a resumed search has them too).

Under fold racing (hpsearch.cv_racing) a candidate dropped after a few folds keeps the scores
of the folds it ran, NaN for those it skipped (scikit-learn's error_score convention), and
its mean and std over the folds it ran; `folds_run` says how many that was and `dropped`
whether it was dropped, and every rank puts it after every candidate that ran all folds."""

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


def ranks(means: np.ndarray, dropped: np.ndarray | None = None) -> np.ndarray:
    """rank_test_<metric>: 1 is the best; NaN means tie with the worst (scikit-learn's rule);
    candidates dropped by the fold race come after all others with a mean."""
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    if dropped is not None and dropped.any():
        # Shift the dropped below the lowest mean but keep their order; NaN stays below them.
        shift = np.nanmax(means) - np.nanmin(means) + 1
        filled = np.where(dropped & ~np.isnan(means), means - shift, filled)
        filled = np.where(np.isnan(means), np.nanmin(filled) - 1, filled)
    return rankdata(-filled, method="min").astype(np.int32)


def _folds_run(row: Mapping[str, Any], n_splits: int) -> int:
    value = row.get("folds_run")
    return int(value) if isinstance(value, (int, float, np.number)) and math.isfinite(value) else n_splits


def _mean_std(values: np.ndarray, ran: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the mean and std of the folds it ran (every fold where nothing was dropped)."""
    if ran.all():
        return values.mean(axis=1), values.std(axis=1)
    kept = np.where(ran, values, 0.0)
    counts = ran.sum(axis=1)
    means = kept.sum(axis=1) / counts
    spread = np.where(ran, values - means[:, None], 0.0)
    return means, np.sqrt((spread ** 2).sum(axis=1) / counts)


def cv_results(rows: Sequence[Mapping[str, Any]], candidates: Sequence[Mapping[str, Any]], n_splits: int,
               train_scores: bool, raced: bool = False) -> dict[str, Any]:
    """The cv_results_ dict of the candidates cross-validated (rows: their trials rows);
    raced: the search raced candidates on folds (folds_run and dropped columns)."""

    def column(name: str) -> np.ndarray:
        cells = [[row.get(f"split{k}_{name}") for k in range(n_splits)] for row in rows]
        return np.array([[math.nan if cell is None else cell for cell in line] for line in cells],
                        dtype=np.float64).reshape(len(rows), n_splits)

    folds_run = np.array([_folds_run(row, n_splits) for row in rows], dtype=np.int64)
    ran = np.arange(n_splits)[None, :] < folds_run[:, None]
    dropped = np.array([row["status"] == "pruned" for row in rows], dtype=bool)
    results: dict[str, Any] = {}
    for name in ("fit_time", "score_time"):
        means, spread = _mean_std(column(name), ran)
        results[f"mean_{name}"], results[f"std_{name}"] = means, spread
    results.update(param_arrays(candidates))
    results["params"] = list(candidates)
    for metric in metric_names(rows):
        for kind in ("test", "train") if train_scores else ("test",):
            scores = column(f"{kind}_{metric}")
            for k in range(n_splits):
                results[f"split{k}_{kind}_{metric}"] = scores[:, k]
            means, spread = _mean_std(scores, ran)
            results[f"mean_{kind}_{metric}"], results[f"std_{kind}_{metric}"] = means, spread
            if kind == "test":
                results[f"rank_test_{metric}"] = ranks(means, dropped)
    results["trial_id"] = np.array([row["trial_id"] for row in rows], dtype=np.int64)
    results["generation"] = np.array([row["generation"] for row in rows], dtype=np.int64)
    if raced:
        results["folds_run"], results["dropped"] = folds_run, dropped
    return results
