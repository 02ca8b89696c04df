"""Random search as a breeding strategy: every genome a fresh draw from the space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Breeding, History, Proposal, register_breeding


@register_breeding("random")
@dataclass(frozen=True)
class RandomSearch(Breeding):
    """Independent draws from the space, the GA's selection only keeping the population for
    the statistics: the baseline every search method should beat (Bergstra and Bengio 2012)."""

    initial_design: str = "random"

    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        return [Proposal(history.space.sample(rng), operator="random") for _ in range(n)]
