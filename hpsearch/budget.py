"""Budget accounting: what a search has spent, what is left, and why it stopped.

Trainings and epochs are charged before they run (a training's cost is its epochs, known
from its genome), so max_evaluations and max_training_epochs are never exceeded: a training
that does not fit in what is left ends the search instead.
"""

from __future__ import annotations

import math
from typing import Any

from .settings import Budget

# The counters a checkpoint keeps (all plain numbers).
_COUNTERS = ("generation", "evaluations", "epochs_trained", "epochs_spent", "elapsed",
             "since_improvement", "best_fitness")


class Spending:
    """What a run has spent against its Budget and its number of generations (steps; None:
    no limit)."""

    def __init__(self, budget: Budget, generations: int | None, unit: str = "generations") -> None:
        self.budget = budget
        self.generations = generations
        self.unit = unit
        self.generation = -1  # the last complete generation
        self.evaluations = 0
        self.epochs_trained = 0
        self.epochs_spent = False  # a training did not fit in what max_training_epochs left
        self.elapsed = 0.0
        self.since_improvement = 0
        self.best_fitness = -math.inf

    def left(self, trainings: int = 0, epochs: int = 0) -> tuple[float, float]:
        """(trainings, epochs) the budgets leave after those spent so far and `trainings`
        and `epochs` more (inf where unbounded)."""
        budget = self.budget
        trainings_left = (math.inf if budget.max_evaluations is None
                          else budget.max_evaluations - self.evaluations - trainings)
        epochs_left = (math.inf if budget.max_training_epochs is None
                       else budget.max_training_epochs - self.epochs_trained - epochs)
        return trainings_left, epochs_left

    def end_generation(self, generation: int, trainings: int, epochs: int, best_fitness: float,
                       improved: bool, elapsed: float) -> None:
        self.generation = generation
        self.evaluations += trainings
        self.epochs_trained += epochs
        self.since_improvement = 0 if improved else self.since_improvement + 1
        self.best_fitness = max(best_fitness, self.best_fitness)
        self.elapsed = elapsed

    def endless(self, trainings: int) -> str | None:
        """Why the search would never end, after a generation of `trainings` trainings, or None:
        max_training_epochs is its only budget and no training so far counted an epoch (the
        objective reports none and the space has no epochs gene)."""
        budget = self.budget
        if (budget.max_training_epochs is None or not trainings or self.epochs_trained
                or budget.max_evaluations is not None or budget.time_limit is not None or self.generations is not None):
            return None
        return ("max_training_epochs: the trainings report no epochs (an `epochs_run` metric) and the space has no "
                "`epochs` gene, and no other budget is set: the search would never end; report epochs_run, or set "
                "max_evaluations or time_limit")

    def stop_reason(self) -> str | None:
        """Why the run stops now, or None while every budget has something left."""
        budget = self.budget
        if self.generations is not None and self.generation + (self.unit == "steps") >= self.generations:
            return f"{self.unit} ({self.generations})"
        if budget.max_evaluations is not None and self.evaluations >= budget.max_evaluations:
            return f"max_evaluations ({budget.max_evaluations})"
        if budget.max_training_epochs is not None and (self.epochs_trained >= budget.max_training_epochs
                                                       or self.epochs_spent):
            return f"max_training_epochs ({budget.max_training_epochs})"
        if budget.time_limit is not None and self.elapsed >= budget.time_limit:
            return f"time_limit ({budget.time_limit:g} s)"
        if budget.patience is not None and self.since_improvement >= budget.patience:
            return f"patience ({budget.patience} generations without improvement)"
        if budget.target_fitness is not None and self.best_fitness >= budget.target_fitness:
            return f"target_fitness ({budget.target_fitness:g})"
        return None

    def progress(self) -> tuple[str, float | None]:
        """("generation 3/10, evaluations 32/60" or the like, the fraction of the budget spent,
        by the budget nearest its end; None when no budget bounds the run). patience and
        target_fitness may end a run sooner: the fraction is of the most it can take."""
        budget, parts, fractions = self.budget, [], []
        if self.generations is not None:
            done = self.generation + (self.unit == "generations")
            total = self.generations + (self.unit == "generations")
            parts.append(f"{self.unit[:-1]} {self.generation}/{self.generations}")
            fractions.append(done / total if total else 1.0)
        else:
            parts.append(f"{self.unit[:-1]} {self.generation}")
        for name, spent in (("evaluations", self.evaluations), ("training epochs", self.epochs_trained)):
            limit = budget.max_evaluations if name == "evaluations" else budget.max_training_epochs
            if limit is not None:
                parts.append(f"{name} {spent}/{limit}")
                fractions.append(spent / limit)
        if budget.time_limit is not None:
            fractions.append(self.elapsed / budget.time_limit)
        return ", ".join(parts), (min(1.0, max(fractions)) if fractions else None)

    def state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COUNTERS}

    def load_state(self, state: dict[str, Any]) -> None:
        for name in _COUNTERS:
            setattr(self, name, state[name])
