"""Model-assisted breeding: a tree ensemble screens many offspring, the best few are trained.

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

The model learns ranks, not raw scores (a normal-score transform, as a Gaussian copula):
what matters is which genomes are better, and a few failures or outliers cannot stretch the
scale. With multi-fidelity search it learns the rung-0 score that every genome has.
Everything random comes from the GA's Generator, and the model is fitted in the main
process, so results are the same for any n_jobs and after a resume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

from .evolve import make_individual
from .genes import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from .operators import mutate
from .space import Space

CANDIDATES = 32  # candidates per offspring slot
DRAWN_EVERY = 2  # one candidate pool in this many is drawn from the good trials, not bred
GOOD_SHARE = 0.25  # the good trials: this share of the finished ones (at least 3), best first
RANDOM_EVERY = 8  # one slot in this many keeps an unscreened child
MIN_TRIALS = 6  # finished trials the model needs before it screens anything
TREES = 50
BOOTSTRAP_MAX = 256  # trials each tree is fitted on at most: a long search's fits stay fast


# Interactions of SGD's genes that no single gene shows: a tree splits on one feature at a
# time, so an interaction given as a feature of its own is learned from far fewer trials
# (fashion-test-3k, benchmarks/README.md). Each is added when the space has its genes as numbers.
SGD_FEATURES: tuple[tuple[tuple[str, str], Callable[[float, float], float]], ...] = (
    # the step that momentum amounts to: lr / (1 - momentum)
    (("learning_rate", "momentum"), lambda rate, momentum: math.log(max(rate, 1e-12) / max(1 - momentum, 1e-3))),
    # updates per training sample
    (("epochs", "batch_size"), lambda epochs, batch: math.log(max(epochs, 1e-12) / max(batch, 1))),
    # the step per sample of a batch (the linear scaling rule keeps it constant)
    (("learning_rate", "batch_size"), lambda rate, batch: math.log(max(rate, 1e-12) / max(batch, 1))),
)


class GenomeEncoder:
    """Genome -> feature vector: numbers on their search scale in [0, 1] (log genes in log
    space), categories one-hot, a layer list as depth and the (log) sizes of its first and
    last layer and their geometric mean; then the SGD_FEATURES whose genes the space has."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self._known: dict[tuple, list[float]] = {}  # genome key -> features: each encoded once
        self._derived = [(names, feature) for names, feature in SGD_FEATURES
                         if all(name in space and isinstance(space[name], (FloatGene, IntGene)) for name in names)]

    def __call__(self, genomes: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = []
        for genome in genomes:
            key = self.space.key(genome)
            if key not in self._known:
                self._known[key] = self._encode(genome)
            rows.append(self._known[key])
        # float32: what the forest computes in (its predictions are the same either way).
        return np.array(rows, dtype=np.float32).reshape(len(rows), -1)

    def _encode(self, genome: Mapping[str, Any]) -> list[float]:
        features: list[float] = []
        for gene in self.space:
            value = genome[gene.name]
            if isinstance(gene, (FloatGene, IntGene)):
                features.append(gene.to_unit(value))
            elif isinstance(gene, CategoricalGene):
                index = gene.index(value)
                features += [float(index == k) for k in range(len(gene.choices))]
            elif isinstance(gene, LayersGene):
                mean = math.exp(sum(math.log(size) for size in value) / len(value)) if value else gene.low
                features += [gene.depth_to_unit(len(value)), gene.size_to_unit(value[0] if value else gene.low),
                             gene.size_to_unit(value[-1] if value else gene.low),
                             gene.size_to_unit(min(max(round(mean), gene.low), gene.high))]
            elif not isinstance(gene, ConstantGene):
                features.append(gene.to_unit(value))
        features += [feature(*(genome[name] for name in names)) for names, feature in self._derived]
        return features


def normal_scores(fitness: np.ndarray) -> np.ndarray:
    """Fitnesses as normal scores of their ranks (ties share one; -inf ranks lowest)."""
    ranks = rankdata(np.where(np.isfinite(fitness), fitness, -np.inf), method="average")
    return norm.ppf((ranks - 0.5) / len(ranks))


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    gain = mean - best
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, gain / std, 0.0)
    return np.where(std > 0, gain * norm.cdf(z) + std * norm.pdf(z), np.maximum(gain, 0.0))


class ForestModel:
    """A random forest over encoded genomes: mean and spread of its trees' predictions."""

    def __init__(self, encoder: GenomeEncoder, seed: int) -> None:
        self.encoder = encoder
        self.seed = seed

    def fit(self, genomes: Sequence[Mapping[str, Any]], fitness: np.ndarray) -> ForestModel:
        self.scores = normal_scores(fitness)
        finite = np.isfinite(fitness)
        order = np.argsort(self.scores[finite])
        # For reporting predictions as fitnesses: normal score -> observed fitness.
        self._score_axis, self._fitness_axis = self.scores[finite][order], fitness[finite][order]
        self.forest = self._forest(max_samples=min(len(genomes), BOOTSTRAP_MAX))
        self.forest.fit(self.encoder(genomes), self.scores)
        return self

    def _forest(self, max_samples: int) -> Any:
        from sklearn.ensemble import RandomForestRegressor  # scikit-learn loads only when used

        return RandomForestRegressor(n_estimators=TREES, min_samples_leaf=2, max_features=0.8,
                                     max_samples=max_samples, random_state=self.seed, n_jobs=1)

    def predict(self, genomes: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        X = self.encoder(genomes)
        per_tree = np.stack([tree.predict(X, check_input=False) for tree in self.forest.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def as_fitness(self, scores: np.ndarray) -> np.ndarray:
        """Predicted normal scores as fitnesses, by the observed fitness at that score."""
        if not len(self._score_axis):
            return np.full(len(scores), math.nan)
        return np.interp(scores, self._score_axis, self._fitness_axis)


class ModelAssistedBreeding:
    """The loop's breeding strategy with the model (see the module docstring).
    PlainBreeding (search.py) is the GA without it."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.encoder = GenomeEncoder(space)
        self._categories = [gene for gene in space if isinstance(gene, CategoricalGene)]

    def breed(self, ga: Any, history: list[tuple[tuple, dict[str, Any]]]) -> list[Any]:
        """The next generation's offspring. history: (genome key, outcome) of every genome
        trained so far, in order."""
        scored = [(key, outcome) for key, outcome in history if "fitness" in outcome]
        if sum(math.isfinite(o["fitness"]) for _, o in scored) < MIN_TRIALS:
            return ga.breed()
        genomes = [dict(zip(self.space.names, key)) for key, _ in scored]
        fitness = np.array([o.get("rung0_score", o["fitness"]) for _, o in scored], dtype=float)
        model = ForestModel(self.encoder, seed=int(ga.rng.integers(2**31))).fit(genomes, fitness)
        # All pools bred, then every DRAWN_EVERY-th replaced: the order of random draws that
        # benchmarks/README.md measured (breeding only the kept half would change every run).
        pools = [ga.breed() for _ in range(CANDIDATES)]
        n_good = max(3, math.ceil(GOOD_SHARE * len(genomes)))
        good = [genomes[int(i)] for i in np.argsort(-model.scores, kind="stable")[:n_good]]
        dead = self._dead_categories(genomes, fitness)
        for p in range(0, CANDIDATES, DRAWN_EVERY):
            pools[p] = [self._drawn(good, dead, ga) for _ in pools[p]]
        # Every distinct child predicted at once; the slots then look their children up.
        index: dict[tuple, int] = {}
        children: list[Any] = []
        for pool in pools:
            for child in pool:
                if index.setdefault(self.space.key(child), len(children)) == len(children):
                    children.append(child)
        all_mean, all_std = model.predict(children)
        seen = {key for key, _ in scored}
        chosen, best = [], float(model.scores.max())
        for slot in range(len(pools[0])):
            candidates, keys = [], []
            for pool in pools:
                key = self.space.key(pool[slot])
                if key not in seen and key not in keys:
                    candidates.append(pool[slot])
                    keys.append(key)
            if not candidates:  # every child repeats a trained genome: the cache answers
                candidates, keys = [pools[0][slot]], [self.space.key(pools[0][slot])]
            rows = [index[key] for key in keys]
            mean, std = all_mean[rows], all_std[rows]
            if (slot + 1) % RANDOM_EVERY == 0:
                pick = 0
            else:
                pick = int(np.argmax(expected_improvement(mean, std, best)))
            child = candidates[pick]
            child.predicted = float(model.as_fitness(mean[pick:pick + 1])[0])
            chosen.append(child)
            seen.add(keys[pick])
        return chosen

    def _drawn(self, good: Sequence[Mapping[str, Any]], dead: Mapping[str, set], ga: Any) -> Any:
        """A candidate from the good trials' marginals: each gene's value from a random good
        genome, then the GA's mutation (so that values between and beside them come up too),
        except that a category in `dead` (every trial with it failed) keeps the good value."""
        mixed = {name: good[int(ga.rng.integers(len(good)))][name] for name in self.space.names}
        genome = mutate(self.space, mixed, ga.rng, indpb=ga.mutation_indpb, scale=ga.mutation_scale)
        for name, values in dead.items():
            if genome[name] in values:
                genome[name] = mixed[name]
        return make_individual(genome, operator="drawn", weights=ga.weights)

    def _dead_categories(self, genomes: Sequence[Mapping[str, Any]], fitness: np.ndarray) -> dict[str, set]:
        """Per categorical gene, the choices tried whose every trial failed (no finite score)."""
        dead = {}
        for gene in self._categories:
            tried = {genome[gene.name] for genome in genomes}
            alive = {genome[gene.name] for genome, value in zip(genomes, fitness) if math.isfinite(value)}
            dead[gene.name] = tried - alive
        return dead
