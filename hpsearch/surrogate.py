"""The model of model-assisted breeding: a tree ensemble that predicts a genome's score.

It screens the candidates of hpsearch.strategies.model_assisted (the default breeding).

The model learns ranks, not raw scores (a normal-score transform, as a Gaussian copula):
what matters is which genomes are better, and a few failures or outliers cannot stretch the
scale. With multi-fidelity search it learns the rung-0 score that every genome has.
The model is fitted in the main process, so results are the same for any n_jobs and after a resume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

from .genes import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from .space import Space

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
