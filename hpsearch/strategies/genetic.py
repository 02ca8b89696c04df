"""The plain genetic algorithm's breeding: the GA's own offspring, as they are bred, and a
share of explorers (hpsearch.strategies.exploration)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .base import Breeding, History, Proposal, register_breeding
from .exploration import check_settings, dead_categories, explorer_slots, explorers, scored, without_dead


@register_breeding("ga")
@dataclass(frozen=True)
class GeneticBreeding(Breeding):
    """Tournament selection, type-aware crossover and mutation (hpsearch.evolve), every
    child trained; NSGA-II's breeding when the search has several objectives. See
    ModelAssisted for the default, which screens many such children with a model.

    explore_share: of each generation's slots, the share given to explorers (the draw
    farthest from every trained genome); dead_after, dead_quantile: when a category counts
    as dead and is no longer bred (see hpsearch.strategies.exploration). Under NSGA-II
    neither applies: crowding distance keeps its front spread, and a choice that scores low
    may still be on the Pareto front.
    `GeneticBreeding(explore_share=0, dead_after=0)` is the GA without either."""

    initial_design: str = "random"
    explore_share: float = 0.2
    dead_after: int = 3
    dead_quantile: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_settings(self.explore_share, self.dead_after, self.dead_quantile)

    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        space = history.space
        # NSGA-II keeps its front spread by crowding distance, and a choice that scores low
        # may be on the front: neither rule applies to several objectives.
        several_objectives = getattr(history.parents, "multi_objective", False)
        dead = {} if several_objectives else dead_categories(space, *scored(history), self.dead_after,
                                                             self.dead_quantile)
        n_explore = 0 if several_objectives else explorer_slots(n, self.explore_share)
        bred = history.parents.offspring(n - n_explore, rng)
        if dead:
            bred = [dataclasses.replace(child, genome=without_dead(space, child.genome, dead, rng)) for child in bred]
        return bred + explorers(n_explore, history, dead, rng, avoid=[child.genome for child in bred])
