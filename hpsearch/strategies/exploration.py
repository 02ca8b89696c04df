"""What keeps a breeding exploring: dead categories learned from the history, and a share of
each generation drawn to fill the space where it has been least sampled.

Issue 24 showed the default GA converging prematurely: from generation 2 on it trained a
handful of layer shapes, and `zeros` and `normal` init, whose every trial scored ~0.1, were
still trained 2-10 times per run. Two rules push back, used by ModelAssisted and
GeneticBreeding (their fields name the settings):

    dead categories   a choice of a categorical gene tried on at least `after` genomes,
                      whose best score is below the `quantile` of the other choices' scores
                      (failures count as the lowest score), is not drawn again: a proposal
                      holding it gets another choice (without_dead). The best choice is never
                      dead, so every gene keeps one.
    explorers         a share of each generation's slots takes, of many independent draws
                      from the space (dead choices left out), the one that fills the widest
                      gaps: per gene the distance to the nearest value trained so far (on
                      the gene's unit scale; an untried category counts 1/2), summed over
                      the genes. Space filling where the search has not been. Where a model screens the
                      candidates, only draws it does not confidently place below the median
                      trial (mean + one spread below it) may be taken: exploring goes on until
                      the evidence says otherwise.

A genome's record counts once, whatever its number of trainings ("n", where the record has
it): repeated trainings of one genome are one piece of evidence about its category.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import checks
from ..genes import CategoricalGene, LayersGene
from ..space import Space
from .base import History, Proposal

EXPLORE_DRAWS = 64  # draws from the space an exploring slot chooses among


def check_settings(explore_share: float, dead_after: int, dead_quantile: float) -> None:
    """One-line errors naming the [breeding] key."""
    checks.in_range("explore_share", explore_share, 0, 1)
    checks.integer("dead_after", dead_after, minimum=0)
    checks.in_range("dead_quantile", dead_quantile, 0, 1, "()")


def explorer_slots(n: int, share: float) -> int:
    """How many of n slots explore: share x n rounded half up (0 for share 0)."""
    return min(n, math.floor(share * n + 0.5)) if share > 0 else 0


def scored(history: History) -> tuple[list[dict[str, Any]], np.ndarray]:
    """(genomes, fitness) of every trained genome with a score record (-inf: failed); under
    successive halving the rung-0 score, which every genome has."""
    genomes, fitness = [], []
    for key, outcome in history.trained:
        if "fitness" in outcome:
            genomes.append(dict(zip(history.space.names, key)))
            fitness.append(outcome.get("rung0_score", outcome["fitness"]))
    return genomes, np.array(fitness, dtype=float)


def dead_categories(space: Space, genomes: Sequence[Mapping[str, Any]], fitness: np.ndarray, after: int,
                    quantile: float) -> dict[str, set]:
    """Per categorical gene, the choices clearly worse than the others (module docstring):
    tried on >= `after` genomes (0: none is ever dead), best score below the `quantile` of
    the finite scores of the genomes with another choice."""
    dead: dict[str, set] = {}
    if after < 1:
        return dead
    fitness = np.where(np.isfinite(fitness), fitness, -np.inf)
    for gene in space:
        if not isinstance(gene, CategoricalGene) or not gene.searchable:
            continue
        index = np.array([gene.index(genome[gene.name]) for genome in genomes], dtype=int)
        found: set[int] = set()
        # Judged against the choices still alive, until no more dies: two dead choices (zeros
        # and normal init) would otherwise pull the other's bar down and shelter it.
        while True:
            before = len(found)
            for k in range(len(gene.choices)):
                if k in found:
                    continue
                mine = fitness[index == k]
                others = fitness[~np.isin(index, [k, *found]) & np.isfinite(fitness)]
                if len(mine) >= after and len(others) and mine.max() < np.quantile(others, quantile):
                    found.add(k)
            if len(found) == before:
                break
        if found:
            dead[gene.name] = {gene.choices[k] for k in found}
    return dead


def without_dead(space: Space, genome: Mapping[str, Any], dead: Mapping[str, set], rng: np.random.Generator,
                 fallback: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The genome with each dead choice replaced: by fallback's value where that is alive,
    else by a uniform draw from the gene's live choices."""
    genome = dict(genome)
    for name, values in dead.items():
        if _is_in(genome[name], values):
            if fallback is not None and not _is_in(fallback[name], values):
                genome[name] = fallback[name]
            else:
                alive = [choice for choice in space[name].choices if not _is_in(choice, values)]  # type: ignore[attr-defined]
                genome[name] = alive[int(rng.integers(len(alive)))]
    return genome


def _is_in(value: Any, values: set) -> bool:
    # 1, 1.0 and True are equal in a set; a categorical gene keeps them apart by type.
    return any(value is choice or (type(value) is type(choice) and value == choice) for choice in values)


def unit_matrix(space: Space, genomes: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Genomes as rows of positions in [0, 1]: numbers on their search scale, a category
    one-hot at 1/2 (a different choice is a distance of 1), layers as depth and the mean
    size; only searchable genes."""
    columns = []
    for gene in space:
        if not gene.searchable:
            continue
        values = [genome[gene.name] for genome in genomes]
        if isinstance(gene, CategoricalGene):
            index = np.array([gene.index(value) for value in values], dtype=int)
            columns += [0.5 * (index == k) for k in range(len(gene.choices))]
        elif isinstance(gene, LayersGene):
            columns.append(np.array([gene.depth_to_unit(len(layers)) for layers in values]))
            columns.append(np.array([sum(gene.size_to_unit(s) for s in layers) / len(layers) for layers in values]))
        else:
            columns.append(np.array([gene.to_unit(value) for value in values], dtype=float))
    return np.stack(columns, axis=1) if columns else np.zeros((len(genomes), 0))


def explorers(n: int, history: History, dead: Mapping[str, set], rng: np.random.Generator,
              plausible: Callable[[list[dict[str, Any]]], np.ndarray] | None = None,
              avoid: Sequence[Mapping[str, Any]] = ()) -> list[Proposal]:
    """n exploring proposals (operator "explore"): for each, EXPLORE_DRAWS draws from the
    space without dead choices, of which the one with the widest gaps (module docstring) to
    the trained genomes, those in `avoid` and the explorers already chosen. plausible(draws): a score per draw, of
    which only draws scoring >= 0 may be taken (the highest-scoring draw where none does)."""
    space = history.space
    known = [*history.genomes(), *avoid]
    taken = unit_matrix(space, known) if known else None
    proposals: list[Proposal] = []
    for _ in range(n):
        draws = [without_dead(space, space.sample(rng), dead, rng) for _ in range(EXPLORE_DRAWS)]
        units = unit_matrix(space, draws)
        if taken is None or not len(taken):
            distance = np.zeros(len(draws))
        else:
            # Per gene the gap to the nearest trained value, summed: the largest gaps of each
            # gene's own range fill first. (The nearest whole genome would send explorers to
            # the corners of the space, extreme in every gene at once.)
            distance = np.abs(units[:, None, :] - taken[None, :, :]).min(axis=1).sum(axis=1)
        allowed = np.ones(len(draws), dtype=bool)
        if plausible is not None:
            score = plausible(draws)
            allowed = score >= 0 if (score >= 0).any() else score == score.max()
        pick = int(np.argmax(np.where(allowed, distance, -np.inf)))
        proposals.append(Proposal(draws[pick], operator="explore"))
        taken = units[pick:pick + 1] if taken is None else np.vstack([taken, units[pick:pick + 1]])
    return proposals
