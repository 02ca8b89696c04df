"""Outcome: one training's result as the engine handles it, typed, never changed in place.

Workers return plain dicts (trial.run_trial); Trainer runs a batch of trainings through the
Evaluator and reads each result as an Outcome on the fitness scale (higher is better). From
then on the engine makes new Outcomes (dataclasses.replace) rather than editing dicts: a
rung that went on becomes one with status PROMOTED, a genome's last rung carries the earlier
ones in `earlier`. The evaluation cache and the checkpoint keep record(), a plain dict, and
Outcome.from_record reads one back; trials.csv's metric cells are cells().
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .status import Status

if TYPE_CHECKING:
    from .evaluate import Evaluator

# What an outcome dict holds besides the objective's own metrics.
_FIELDS = ("status", "fitness", "reason", "seconds", "worker", "curve", "state", "value", "rung", "rung0_score")


@dataclass(frozen=True)
class Outcome:
    """One training's result.

    status, fitness (higher is better; -inf where the status has no score), reason (why the
        status is not "ok").
    metrics: the objective's other results in the order it gave them (val_loss, n_params,
        epochs_run, ...): trials.csv's metric columns, where they are single values.
    curve: per-epoch lists (curves.csv); state: what the training reached, for a training
        that goes on from it (the next rung); seconds, worker: its time and where it ran.
    value: the objective's own number under direction "minimize" (fitness is -value; NaN
        where it gave none); None otherwise.
    rung: its rung under successive halving; rung0_score: the score the genome had at rung
        0 (on its last rung's outcome); earlier: the genome's trainings at the rungs below.
    """

    status: Status
    fitness: float
    reason: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    curve: Mapping[str, Sequence[Any]] | None = None
    state: Any = None
    seconds: float = math.nan
    worker: str = ""
    value: float | None = None
    rung: int | None = None
    rung0_score: float | None = None
    earlier: tuple[Outcome, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Outcome:
        """An Outcome from a plain dict: a worker's result, or a record() kept in the cache."""
        known = {name: record[name] for name in _FIELDS if name in record}
        return cls(**{**known, "status": Status(record["status"]), "reason": record.get("reason", ""),
                      "metrics": {k: v for k, v in record.items() if k not in _FIELDS}})

    def record(self) -> dict[str, Any]:
        """The plain dict the evaluation cache keeps (and the checkpoint journals): all but
        the curve, the state and the earlier rungs."""
        return {"status": self.status.value, "fitness": self.fitness, "reason": self.reason, **self.metrics,
                "seconds": self.seconds, "worker": self.worker, **self._engine_cells()}

    def _engine_cells(self) -> dict[str, Any]:
        """value, rung and rung0_score, where it has them (what the engine added)."""
        return {name: getattr(self, name) for name in ("value", "rung", "rung0_score")
                if getattr(self, name) is not None}

    def cells(self) -> dict[str, Any]:
        """Its metric cells in trials.csv: the single-valued metrics, then value, rung and
        rung0_score where it has them."""
        return {**{k: v for k, v in self.metrics.items() if np.isscalar(v)}, **self._engine_cells()}

    @property
    def epochs_trained(self) -> int:
        """Epochs this training ran: fewer than its epochs_run where it went on from an
        earlier one."""
        return self.metrics.get("epochs_trained", self.metrics.get("epochs_run", 0))

    def replace(self, **changes: Any) -> Outcome:
        return dataclasses.replace(self, **changes)


def with_cost(outcome: Outcome, genome: Mapping[str, Any]) -> Outcome:
    """The outcome with the epochs it cost: those it reports (epochs_run, epochs_trained), else
    its genome's `epochs` gene, which the budget charged before it ran (an objective that
    reports no epochs would otherwise never spend max_training_epochs)."""
    if "epochs_trained" in outcome.metrics or "epochs_run" in outcome.metrics or "epochs" not in genome:
        return outcome
    return outcome.replace(metrics={**outcome.metrics, "epochs_trained": int(genome["epochs"])})


def as_fitness(outcome: Outcome, direction: str) -> Outcome:
    """The outcome on the fitness scale: unchanged for direction "maximize"; for "minimize"
    fitness -value, the objective's number kept as `value` (NaN and fitness -inf where the
    status has no score), so that the whole engine (selection, the surrogate, rungs,
    statistics, patience, target_fitness) goes on maximising fitness."""
    if direction != "minimize":
        return outcome
    if outcome.status.scored:
        return outcome.replace(value=outcome.fitness, fitness=-outcome.fitness)
    return outcome.replace(value=math.nan, fitness=-math.inf)


class Trainer:
    """Runs batches of trainings through an Evaluator and reads their results as Outcomes
    on the fitness scale of the search's `direction`."""

    def __init__(self, evaluator: Evaluator, direction: str = "maximize") -> None:
        self.evaluator = evaluator
        self.direction = direction
        self.environments = evaluator.environments  # where the trainings ran (hpsearch.numerics)

    def train(self, tasks: Sequence[tuple], on_result: Callable[[int, Outcome], Any] | None = None) -> list[Outcome]:
        """One Outcome per task ((params, seed) or (params, seed, options)), in order;
        on_result(index, outcome) as each arrives."""
        outcomes: dict[int, Outcome] = {}

        def read(index: int, result: dict[str, Any]) -> None:
            outcomes[index] = as_fitness(Outcome.from_record(result), self.direction)
            if on_result is not None:
                on_result(index, outcomes[index])

        self.evaluator.evaluate(tasks, on_result=read)  # calls read for every task
        return [outcomes[i] for i in range(len(tasks))]
