"""Model-assisted breeding (the default): a tree ensemble screens many offspring, the best few
are trained.

Each generation after the first, every offspring slot gets `CANDIDATES` candidates: half of
them children bred by the GA's own operators (tournaments, crossover, mutation), half drawn
from the good trials so far (each gene's value from a random one of the best quarter, as an
estimation-of-distribution algorithm or TPE samples the good trials' marginals, then lightly
mutated). A random forest fitted on every finished trial predicts each candidate's score,
and the slot keeps the one with the highest expected improvement (the forest's per-tree
spread is its uncertainty). The bred children carry the population's combinations of genes;
the drawn ones keep the search near what worked while the population drifts. One slot in
eight keeps its first candidate unscreened (a drawn one), so the model's blind spots still
get samples; candidates equal to a trained genome, or to one already chosen, are skipped.
Failed, diverged and timed-out trials teach the model as the worst scores, so dead regions
(a diverging learning rate, an init that never trains) are avoided after a few examples.
Besides the genes, the model sees the interactions of SGD's genes that matter (the step
momentum amounts to, updates per sample, the step per sample) when the space has them.

Exploration (hpsearch.strategies.exploration): `explore_share` of the slots are explorers,
the draw from the space farthest from every trained genome among those the model does not
confidently place below the median trial; a category whose trials are all clearly worse
(`dead_after`, `dead_quantile`) is no longer proposed. Without them the candidates drawn
from the good quarter and the model's expected improvement pull the same way and the
population collapses on one layer shape (issue 24).

The model itself (encoding, random forest, expected improvement) is hpsearch.surrogate.
Everything random comes from the rng propose() is given (the GA's Generator), so results are
the same for any n_jobs and after a resume.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..genes import CategoricalGene
from ..space import Space
from ..surrogate import ForestModel, GenomeEncoder, expected_improvement
from .base import Breeding, History, Proposal, register_breeding
from .exploration import check_settings, dead_categories, explorer_slots, explorers, scored, without_dead

CANDIDATES = 32  # candidates per offspring slot
DRAWN_EVERY = 2  # one candidate pool in this many is drawn from the good trials, not bred
GOOD_SHARE = 0.25  # the good trials: this share of the finished ones (at least 3), best first
RANDOM_EVERY = 8  # one slot in this many keeps an unscreened child
MIN_TRIALS = 6  # finished trials the model needs before it screens anything


@register_breeding("model_assisted")
@dataclass(frozen=True)
class ModelAssisted(Breeding):
    """The default breeding of the single-objective search (see the module docstring);
    GeneticBreeding is the GA without the model."""

    single_objective: ClassVar[bool] = True
    initial_design: str = "latin_hypercube"
    explore_share: float = 0.2  # of each generation's slots: explorers (0: none)
    dead_after: int = 3  # genomes with a category before it can be dead (0: never)
    dead_quantile: float = 0.1  # dead: best score below this quantile of the other categories'
    # The genome encoder of the space searched: it remembers each genome's features, so a
    # long search encodes each trained genome once.
    _encoders: dict[int, GenomeEncoder] = field(default_factory=dict, init=False, compare=False, repr=False)

    def _encoder(self, space: Space) -> GenomeEncoder:
        encoder = self._encoders.get(id(space))
        if encoder is None or encoder.space is not space:
            self._encoders.clear()
            encoder = self._encoders[id(space)] = GenomeEncoder(space)
        return encoder

    def __post_init__(self) -> None:
        super().__post_init__()
        check_settings(self.explore_share, self.dead_after, self.dead_quantile)

    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        space, parents = history.space, history.parents
        genomes, fitness = scored(history)
        dead = dead_categories(space, genomes, fitness, self.dead_after, self.dead_quantile)
        n_explore = explorer_slots(n, self.explore_share)
        if np.isfinite(fitness).sum() < MIN_TRIALS:
            bred = [_alive(space, child, dead, rng) for child in parents.offspring(n - n_explore, rng)]
            return bred + explorers(n_explore, history, dead, rng, avoid=[child.genome for child in bred])
        model = ForestModel(self._encoder(space), seed=int(rng.integers(2**31))).fit(genomes, fitness)
        chosen = self._screened(n - n_explore, history, genomes, fitness, model, dead, rng)
        found = explorers(n_explore, history, dead, rng, plausible=lambda draws: _upper_bound(model, draws),
                          avoid=[proposal.genome for proposal in chosen])
        if found:
            mean, _ = model.predict([proposal.genome for proposal in found])
            found = [dataclasses.replace(proposal, predicted=float(value))
                     for proposal, value in zip(found, model.as_fitness(mean))]
        return chosen + found

    def _screened(self, n: int, history: History, genomes: list[dict[str, Any]], fitness: np.ndarray,
                  model: ForestModel, dead: Mapping[str, set], rng: np.random.Generator) -> list[Proposal]:
        """n slots, each the candidate of highest expected improvement of its pool."""
        if n == 0:
            return []
        space, parents = history.space, history.parents
        # All pools bred, then every DRAWN_EVERY-th replaced: the order of random draws that
        # benchmarks/README.md measured (breeding only the kept half would change every run).
        pools = [parents.offspring(n, rng) for _ in range(CANDIDATES)]
        n_good = max(3, math.ceil(GOOD_SHARE * len(genomes)))
        good = [genomes[int(i)] for i in np.argsort(-model.scores, kind="stable")[:n_good]]
        failed = _dead_categories(space, genomes, fitness)
        for p in range(0, CANDIDATES, DRAWN_EVERY):
            pools[p] = [_drawn(space, good, failed, parents, rng) for _ in pools[p]]
        if dead:
            pools = [[_alive(space, child, dead, rng) for child in pool] for pool in pools]
        # Every distinct child predicted at once; the slots then look their children up.
        index: dict[tuple, int] = {}
        children: list[dict[str, Any]] = []
        for pool in pools:
            for child in pool:
                if index.setdefault(space.key(child.genome), len(children)) == len(children):
                    children.append(child.genome)
        all_mean, all_std = model.predict(children)
        seen = {key for key, outcome in history.trained if "fitness" in outcome}
        chosen, best = [], float(model.scores.max())
        for slot in range(len(pools[0])):
            candidates: list[Proposal] = []
            keys: list[tuple] = []
            for pool in pools:
                key = space.key(pool[slot].genome)
                if key not in seen and key not in keys:
                    candidates.append(pool[slot])
                    keys.append(key)
            if not candidates:  # every child repeats a trained genome: the cache answers
                candidates, keys = [pools[0][slot]], [space.key(pools[0][slot].genome)]
            rows = [index[key] for key in keys]
            mean, std = all_mean[rows], all_std[rows]
            if (slot + 1) % RANDOM_EVERY == 0:
                pick = 0
            else:
                pick = int(np.argmax(expected_improvement(mean, std, best)))
            predicted = float(model.as_fitness(mean[pick:pick + 1])[0])
            chosen.append(dataclasses.replace(candidates[pick], predicted=predicted))
            seen.add(keys[pick])
        return chosen


def _alive(space: Space, proposal: Proposal, dead: Mapping[str, set], rng: np.random.Generator) -> Proposal:
    """The proposal with its dead categories (if any) replaced by live ones."""
    if not dead:
        return proposal
    return dataclasses.replace(proposal, genome=without_dead(space, proposal.genome, dead, rng))


def _upper_bound(model: ForestModel, draws: list[dict[str, Any]]) -> np.ndarray:
    """The model's optimistic score of each draw (its mean plus its trees' spread, on the
    normal-score scale, where the median trial is 0): below 0 it is confidently worse."""
    mean, std = model.predict(draws)
    return mean + std


def _drawn(space: Space, good: Sequence[Mapping[str, Any]], dead: Mapping[str, set], parents: Any,
           rng: np.random.Generator) -> Proposal:
    """A candidate from the good trials' marginals: each gene's value from a random good
    genome, then the GA's mutation (so that values between and beside them come up too),
    except that a category in `dead` (every trial with it failed) keeps the good value."""
    mixed = {name: good[int(rng.integers(len(good)))][name] for name in space.names}
    genome = parents.mutate(mixed, rng)
    for name, values in dead.items():
        if genome[name] in values:
            genome[name] = mixed[name]
    return Proposal(genome, operator="drawn")


def _dead_categories(space: Space, genomes: Sequence[Mapping[str, Any]], fitness: np.ndarray) -> dict[str, set]:
    """Per categorical gene, the choices tried whose every trial failed (no finite score)."""
    dead = {}
    for gene in space:
        if isinstance(gene, CategoricalGene):
            tried = {genome[gene.name] for genome in genomes}
            alive = {genome[gene.name] for genome, value in zip(genomes, fitness) if math.isfinite(value)}
            dead[gene.name] = tried - alive
    return dead
