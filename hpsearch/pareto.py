"""Multi-objective search: objective names, Pareto fronts, the knee point, hypervolume.

Plain NumPy on tables of objective values (one row per trial, one column per objective).
NSGA-II's selection itself (non-dominated sorting, crowding) is DEAP's, in evolve.py; this
module only reports on what the search found.

Values are kept in their natural units and directions; `weights` (+1 maximise, -1 minimise,
as DEAP's Fitness weights) say which way is better. A failed trial gets the worst value of
every objective (-inf maximised, +inf minimised), so every successful trial dominates it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import did_you_mean
from .results import PARETO, CsvLog, plain_genome
from .status import Status
from .strategies.base import Ranking

if TYPE_CHECKING:
    from .outcome import Outcome

# Objective name -> weight. "val_metric" is the trial's fitness (the validation score);
# the others are metrics the MLP objective reports. train_seconds and latency are measured
# times: a run's choices then depend on the machine's load, unlike the other two.
OBJECTIVES = {"val_metric": 1.0, "train_seconds": -1.0, "n_params": -1.0, "latency": -1.0}


def check_objectives(objectives: Sequence[str] | None) -> tuple[str, ...] | None:
    """The objectives as a tuple, or None (single-objective search) for None or empty.
    Raises ValueError naming the problem."""
    if objectives is None or (isinstance(objectives, (list, tuple)) and not objectives):
        return None
    if isinstance(objectives, str) or not isinstance(objectives, (list, tuple)):
        raise ValueError(f"expected a list of objective names, got {objectives!r}")
    for name in objectives:
        if not isinstance(name, str) or name not in OBJECTIVES:
            hint = did_you_mean(name, OBJECTIVES)
            raise ValueError(f"unknown objective {name!r} ({hint + '; ' if hint else ''}"
                             f"valid: {', '.join(OBJECTIVES)})")
    duplicates = sorted({name for name in objectives if objectives.count(name) > 1})
    if duplicates:
        raise ValueError(f"objective {duplicates[0]!r} is listed twice")
    if len(objectives) < 2:
        raise ValueError(f"NSGA-II needs at least 2 objectives, got {len(objectives)} "
                         f"(leave objectives out for the single-objective GA)")
    return tuple(objectives)


def weights(objectives: Iterable[str]) -> tuple[float, ...]:
    return tuple(OBJECTIVES[name] for name in objectives)


def worst_values(objectives: Iterable[str]) -> tuple[float, ...]:
    return tuple(-math.inf * OBJECTIVES[name] for name in objectives)


def missing_metrics(outcome: Mapping[str, Any], objectives: Iterable[str]) -> list[str]:
    """Objectives (other than val_metric, which is the fitness) that a successful outcome
    does not report as a finite number."""
    return [name for name in objectives if name != "val_metric" and not _finite_number(outcome.get(name))]


def _finite_number(value):
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(value))


def objective_values(record: Mapping[str, Any], objectives: Iterable[str]) -> tuple[float, ...]:
    """The objective values of a trial (an outcome or a trials-table row)."""
    if record["status"] != "ok":
        return worst_values(objectives)
    return tuple(float(record["fitness"] if name == "val_metric" else record[name]) for name in objectives)


def objective_columns(rows: Sequence[Mapping[str, Any]], objectives: Sequence[str]) -> dict[str, float]:
    """Each objective's mean and s.d. over a genome's trainings (trials rows), as genomes.csv's
    `<objective>_mean` and `<objective>_sd`: a failed training makes the mean the worst value
    (a genome that fails on some seeds is not one to choose) and the s.d. NaN, as does n = 1."""
    values = np.array([objective_values(row, objectives) for row in rows], dtype=float).reshape(len(rows), -1)
    columns: dict[str, float] = {}
    for i, (name, worst) in enumerate(zip(objectives, worst_values(objectives))):
        column = values[:, i]
        finite = bool(column.size) and bool(np.isfinite(column).all())
        columns[f"{name}_mean"] = float(column.mean()) if finite else worst
        columns[f"{name}_sd"] = float(column.std(ddof=1)) if finite and column.size >= 2 else math.nan
    return columns


def _gains(values, weights):
    """Values oriented so that higher is better in every column."""
    return np.asarray(values, dtype=float).reshape(len(values), -1) * np.asarray(weights, dtype=float)


def nondominated(values: Sequence[Sequence[float]] | np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Boolean mask of the rows that no other row dominates (equal rows all stay)."""
    gains = _gains(values, weights)
    at_least = (gains[:, None, :] >= gains[None, :, :]).all(axis=2)  # [j, i]: j >= i everywhere
    better = (gains[:, None, :] > gains[None, :, :]).any(axis=2)
    return ~(at_least & better).any(axis=0)


def normalised_gains(values: Sequence[Sequence[float]] | np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Each objective scaled to [0, 1] over the rows, 1 the best; a constant column is all 1."""
    gains = _gains(values, weights)
    low, high = gains.min(axis=0), gains.max(axis=0)
    span = high - low
    unit = np.ones_like(gains)
    np.divide(gains - low, span, out=unit, where=span > 0)
    return unit


def knee_index(values: Sequence[Sequence[float]] | np.ndarray, weights: Sequence[float]) -> int:
    """Index of the knee of a front (rows of finite objective values, none dominated).

    After scaling every objective to [0, 1] over the front (1 the best): with two
    objectives, the point farthest beyond the straight line through the two extremes (the
    best point of each objective), towards the ideal point (1, 1) -- where giving up a
    little of one objective stops buying much of the other; with three or more, or when
    no point lies beyond that line (a straight or concave front), the point closest to
    the ideal point. Ties go to the point closer to the ideal, then to the earlier row.
    """
    unit = normalised_gains(values, weights)
    n, m = unit.shape
    to_ideal = np.sqrt(((1.0 - unit) ** 2).sum(axis=1))
    beyond = np.zeros(n)
    if m == 2:
        # The extremes: best in one objective, the better in the other among its equals.
        a = np.lexsort((-unit[:, 1], -unit[:, 0]))[0]
        b = np.lexsort((-unit[:, 0], -unit[:, 1]))[0]
        direction = unit[b] - unit[a]
        if direction.any():
            normal = np.array([direction[1], -direction[0]]) / np.hypot(*direction)
            if normal @ (np.ones(2) - unit[a]) < 0:
                normal = -normal
            # Points on or behind the line (a straight or concave front) do not count as
            # bends; rounding must not make one of them a knee either.
            beyond = np.maximum((unit - unit[a]) @ normal, 0.0)
            beyond[beyond < 1e-9] = 0.0
    return int(np.lexsort((np.arange(n), to_ideal, -beyond))[0])


def hypervolume(values: Sequence[Sequence[float]] | np.ndarray, weights: Sequence[float],
                reference: Sequence[float]) -> float:
    """Area dominated by the rows and bounded by the reference point (two objectives).

    reference: the worst values that still count, one per objective; rows not strictly
    better than it in both objectives add nothing.
    """
    gains = _gains(values, weights)
    if gains.shape[1] != 2:
        raise ValueError(f"hypervolume is implemented for 2 objectives, got {gains.shape[1]}")
    ref = np.asarray(reference, dtype=float) * np.asarray(weights, dtype=float)
    gains = gains[(gains > ref).all(axis=1)]
    volume, top = 0.0, ref[1]
    # Sweep from the best in the first objective down; each row adds the strip it lifts.
    for g0, g1 in gains[np.lexsort((-gains[:, 1], -gains[:, 0]))]:
        if g1 > top:
            volume += (g0 - ref[0]) * (g1 - top)
            top = g1
    return float(volume)


class ParetoFront(Ranking):
    """What counts as the best in an NSGA-II search: the Pareto front of every successful
    trial so far (cached repeats left out), its knee reported as the best; patience
    restarts whenever the front changes. Writes pareto.csv (the front, knee marked) and
    fronts.csv (the front after every generation).

    The single-objective counterpart is strategies.BestFitness; both are the loop's
    strategies.Ranking.
    """

    def __init__(self, objectives: Iterable[str], fronts_path: str | os.PathLike[str] | None = None) -> None:
        self.objectives = tuple(objectives)
        self.weights = weights(self.objectives)
        self.front: list[dict[str, Any]] = []  # [{"trial_id", "params"}]
        self.fronts = CsvLog(fronts_path, columns=["generation", "trial_id", *self.objectives])

    def value(self, outcome: Outcome) -> tuple[float, ...]:
        """The GA's fitness of an outcome: its tuple of objective values."""
        return objective_values(outcome.record(), self.objectives)

    def check(self, outcome: Outcome) -> Outcome:
        """A successful trial that does not report an objective's metric has failed."""
        missing = missing_metrics(outcome.metrics, self.objectives)
        if missing and outcome.status == "ok":
            return outcome.replace(status=Status.FAILED, fitness=-math.inf,
                                   reason=f"objective returned no finite {', '.join(missing)}")
        return outcome

    def update(self, generation: int, evaluated: Iterable[Any], rows: Sequence[Mapping[str, Any]], ga: Any,
               best_fitness: float) -> tuple[float, bool]:
        """After a generation: (best validation score so far, whether the front changed)."""
        candidates = list(self.front)
        for individual in evaluated:
            row = rows[individual.trial_id]
            if row["status"] == "ok" and not row["cached"]:
                candidates.append({"trial_id": individual.trial_id, "params": dict(individual)})
                best_fitness = max(best_fitness, row["fitness"])
        front = candidates
        if candidates:
            keep = nondominated(self._values(candidates, rows), self.weights)
            front = [entry for entry, kept in zip(candidates, keep) if kept]
        changed = [e["trial_id"] for e in front] != [e["trial_id"] for e in self.front]
        self.front = front
        self.fronts.add({"generation": generation, "trial_id": entry["trial_id"],
                         **dict(zip(self.objectives, values))}
                        for entry, values in zip(front, self._values(front, rows)))
        return best_fitness, changed

    def _values(self, entries, rows):
        return [objective_values(rows[e["trial_id"]], self.objectives) for e in entries]

    def knee(self, rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], tuple[float, ...]] | None:
        """The front's knee ({"trial_id", "params"}) and its objective values; None: no front."""
        if not self.front:
            return None
        values = self._values(self.front, rows)
        i = knee_index(values, self.weights)
        return self.front[i], values[i]

    def best_record(self, rows: Sequence[Mapping[str, Any]], ga: Any) -> dict[str, Any]:
        """The knee of the front so far."""
        found = self.knee(rows)
        if found is None:
            return {}
        (knee, values), row = found, rows[found[0]["trial_id"]]
        return {"trial_id": knee["trial_id"], "generation": row["generation"], "fitness": row["fitness"],
                "params": plain_genome(knee["params"]), "seed": row["seed"], "knee": True,
                "front_size": len(self.front), "objectives": dict(zip(self.objectives, values))}

    def pareto_frame(self, rows: Sequence[Mapping[str, Any]],
                     gene_cells: Callable[[Mapping[str, Any]], dict[str, Any]]) -> pd.DataFrame:
        """pareto.csv: the front, its knee marked, with the genes."""
        knee = self.best_record(rows, None).get("trial_id")
        return pd.DataFrame([{"trial_id": entry["trial_id"], "generation": rows[entry["trial_id"]]["generation"],
                              "knee": entry["trial_id"] == knee, **dict(zip(self.objectives, values)),
                              **gene_cells(entry["params"])}
                             for entry, values in zip(self.front, self._values(self.front, rows))])

    def appended_tables(self) -> list[CsvLog]:
        """Tables appended to at every save."""
        return [self.fronts]

    def rewritten_tables(self, rows: Sequence[Mapping[str, Any]],
                         gene_cells: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, pd.DataFrame]:
        """Tables rewritten whole at every save: {file name: frame}."""
        return {PARETO: self.pareto_frame(rows, gene_cells)}

    def result_tables(self, rows: Sequence[Mapping[str, Any]],
                      gene_cells: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, pd.DataFrame]:
        return {"pareto": self.pareto_frame(rows, gene_cells), "fronts": self.fronts.frame()}

    def logs(self) -> dict[str, list[Any]]:
        return {"front_rows": self.fronts.rows}

    def snapshot(self) -> dict[str, Any]:
        return {"front": self.front}

    def load(self, snapshot: Mapping[str, Any], logs: Mapping[str, list[Any]]) -> None:
        self.front = snapshot["front"]
        self.fronts.add(logs.get("front_rows", []))

