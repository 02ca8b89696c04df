"""BestFitness: the best of a single-objective search (pareto.ParetoFront is NSGA-II's)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..results import plain_genome
from .base import Ranking

if TYPE_CHECKING:
    from ..outcome import Outcome


class BestFitness(Ranking):
    """What counts as the best in the single-objective GA: the best genome trained in full
    (the GA's hall of fame). See pareto.ParetoFront for the multi-objective counterpart.

    Of trials with equal fitness the best is the one with fewer parameters (``n_params``,
    where the objective reports it), then the lower validation loss (``val_loss``), then the
    earlier trial (evolve.rank_key; the hall of fame keeps that order).

    direction "minimize": the fitness is -value (outcome.as_fitness); best.json then also holds the
    objective's own number, ``value``, and ``direction``."""

    def __init__(self, direction: str = "maximize") -> None:
        self.direction = direction

    def value(self, outcome: Outcome) -> float:
        return outcome.fitness

    def check(self, outcome: Outcome) -> Outcome:
        return outcome

    def update(self, generation: int, evaluated: Iterable[Any], rows: Sequence[Mapping[str, Any]], ga: Any,
               best_fitness: float) -> tuple[float, bool]:
        best = ga.best()
        fitness = best.fitness.values[0] if best is not None else -math.inf
        return max(fitness, best_fitness), fitness > best_fitness

    def best_record(self, rows: Sequence[Mapping[str, Any]], ga: Any) -> dict[str, Any]:
        best = ga.best()
        if best is None or not math.isfinite(best.fitness.values[0]):
            return {}
        row = rows[best.trial_id]
        fitness = best.fitness.values[0]
        minimized = {"value": -fitness, "direction": self.direction} if self.direction == "minimize" else {}
        return {"trial_id": best.trial_id, "generation": row["generation"], "fitness": fitness, **minimized,
                "params": plain_genome(best), "seed": row["seed"]}
