"""WholeTraining: each new genome trained once, for all its epochs (fidelity.SuccessiveHalving
is the multi-fidelity counterpart)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .base import Training

if TYPE_CHECKING:
    from ..budget import Spending
    from ..outcome import Outcome, Trainer


class WholeTraining(Training):
    """Each new genome is trained once, for all its epochs."""

    def first_cost(self, genome: Mapping[str, Any]) -> int:
        """Epochs its training will train at most (0 where the space has no epochs gene:
        such epochs are only counted after the fact)."""
        return int(genome["epochs"]) if "epochs" in genome else 0

    def selection(self, rows: Sequence[Mapping[str, Any]]) -> tuple[None, None]:
        return None, None  # every genome may be the best; parents chosen on fitness

    def train(self, trainer: Trainer, tasks: Sequence[tuple[dict[str, Any], int]], progress: Any,
              rows: Iterable[Mapping[str, Any]], curves: Callable[[], Mapping[int, Mapping[str, Any]]],
              spending: Spending) -> list[Outcome]:
        return trainer.train(tasks, on_result=lambda i, outcome: progress.update())
