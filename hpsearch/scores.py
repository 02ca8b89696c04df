"""GenomeScores: every genome's trainings, by shared seed index, and the statistics over them.

A genome's fitness is not one training's score but a statistic over its trainings: mean, n,
s.d., and which shared seeds (hpsearch.noise.shared_seed) they used. trials.csv keeps one row
per training (with its `seed_index`); this is the genome-level view of the same numbers, the
table genomes.csv, SearchResult.genomes and `hpsearch show` read. Genomes are numbered in the
order of their first training (`genome_id`), so the numbering is the same after a resume.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .noise import pooled_noise


class GenomeScores:
    """The scores of every genome's trainings: {genome id: {seed index: fitness}}.

    Fitness is higher-is-better, -inf for a failed training; a genome with a failed training
    has mean -inf (a genome that fails on some seeds is not a genome to choose)."""

    def __init__(self) -> None:
        self.keys: list[tuple] = []  # genome id -> key
        self.ids: dict[tuple, int] = {}
        self.scores: list[dict[int, float]] = []
        self.first_trial: list[int] = []  # genome id -> the trial id of its first training
        self.trial_ids: list[dict[int, int]] = []  # genome id -> {seed index: trial id}

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: tuple, seed_index: int, fitness: float, trial_id: int) -> int:
        """Record a training; the genome's id. Training a genome twice on one seed index is
        a bug (the evaluation cache answers such a request)."""
        genome = self.ids.get(key)
        if genome is None:
            genome = self.ids[key] = len(self.keys)
            self.keys.append(key)
            self.scores.append({})
            self.first_trial.append(trial_id)
            self.trial_ids.append({})
        if seed_index in self.scores[genome]:
            raise ValueError(f"genome {genome} was already trained on seed index {seed_index}")
        self.scores[genome][seed_index] = float(fitness)
        self.trial_ids[genome][seed_index] = trial_id
        return genome

    def n(self, genome: int) -> int:
        return len(self.scores[genome])

    def mean(self, genome: int) -> float:
        values = list(self.scores[genome].values())
        return -math.inf if any(not math.isfinite(v) for v in values) else float(np.mean(values))

    def sd(self, genome: int) -> float:
        values = np.array(list(self.scores[genome].values()))
        return float(values.std(ddof=1)) if values.size >= 2 and np.all(np.isfinite(values)) else math.nan

    def seed_indices(self, genome: int) -> list[int]:
        return sorted(self.scores[genome])

    def next_free_index(self) -> int:
        """A seed index no genome has been trained on (fresh for every genome)."""
        return 1 + max((max(s) for s in self.scores if s), default=-1)

    def noise(self) -> tuple[float, int]:
        """One training's seed noise, pooled over the genomes trained more than once
        (noise.pooled_noise), and its degrees of freedom; (nan, 0) before any repeat."""
        return pooled_noise([list(s.values()) for s in self.scores
                             if len(s) >= 2 and all(math.isfinite(v) for v in s.values())])

    def spread(self) -> float:
        """How much the best genomes differ: the s.d. of the first-training scores of the best
        quarter of the genomes (four at least), the noise in it. The noise is judged against
        this, not against the spread of all genomes: failed and diverged ones (0.1 on a
        10-class task) would make any noise look small beside them, while the choice is made
        among the best."""
        firsts = sorted((s[min(s)] for s in self.scores if s and math.isfinite(s[min(s)])), reverse=True)
        best = firsts[:max(4, len(firsts) // 4)]
        return float(np.std(best, ddof=1)) if len(best) >= 2 else math.nan

    def ranked(self, eligible: Iterable[int] | None = None, shrink: bool = False) -> list[int]:
        """Genome ids by mean (shrink: by shrunk_means), best first; equal: more trainings,
        then the earlier."""
        ids = range(len(self.keys)) if eligible is None else eligible
        value = self.shrunk_means() if shrink else [self.mean(g) for g in range(len(self.keys))]
        return sorted(ids, key=lambda g: (-value[g], -self.n(g), g))

    def shrunk_means(self) -> list[float]:
        """Each genome's mean pulled toward the mean of all genomes, the more the fewer its
        trainings: the empirical-Bayes estimate of its true score, m + (mean - m) * tau^2 /
        (tau^2 + noise^2 / n), where tau^2 is the variance of true scores between genomes
        (that of their means less the noise's share). The highest of many one-training
        means is mostly luck; this is what keeps a genome trained once on a lucky seed from
        out-ranking one whose mean over eight trainings is known (the raw means before any
        repeat, when the noise is not known)."""
        means = [self.mean(g) for g in range(len(self.keys))]
        sd, _ = self.noise()
        finite = [g for g, m in enumerate(means) if math.isfinite(m)]
        if not math.isfinite(sd) or len(finite) < 3:
            return means
        m = np.array([means[g] for g in finite])
        n = np.array([self.n(g) for g in finite])
        between = float(m.var(ddof=1) - sd ** 2 * np.mean(1.0 / n))
        tau2 = max(between, 1e-3 * float(m.var(ddof=1)), 1e-12)
        center = float(m.mean())
        weight = tau2 / (tau2 + sd ** 2 / n)
        out = list(means)
        for g, value in zip(finite, center + (m - center) * weight):
            out[g] = float(value)
        return out

    def rows(self, names: list[str], gene_cells: Any, status: Mapping[int, str] | None = None,
             incumbent: int | None = None) -> list[dict[str, Any]]:
        """The genomes table (genomes.csv): one row per genome, its genes and statistics."""
        status = status or {}
        rows = []
        for genome, key in enumerate(self.keys):
            rows.append({"genome_id": genome, **gene_cells(dict(zip(names, key))), "n": self.n(genome),
                         "mean": self.mean(genome), "sd": self.sd(genome),
                         "seed_indices": ";".join(str(k) for k in self.seed_indices(genome)),
                         "first_trial": self.first_trial[genome], "race": status.get(genome, ""),
                         "incumbent": genome == incumbent})
        return rows
