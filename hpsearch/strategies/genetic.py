"""The plain genetic algorithm's breeding: the GA's own offspring, as they are bred."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Breeding, History, Proposal, register_breeding


@register_breeding("ga")
@dataclass(frozen=True)
class GeneticBreeding(Breeding):
    """Tournament selection, type-aware crossover and mutation (hpsearch.evolve), every
    child trained; NSGA-II's breeding when the search has several objectives. See
    ModelAssisted for the default, which screens many such children with a model."""

    initial_design: str = "random"

    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        return history.parents.offspring(n, rng)
