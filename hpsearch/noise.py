"""Seed noise: shared training seeds, estimates with their intervals, paired comparisons.

One training's score moves from seed to seed (on fashion-mnist-5k by 0.014-0.019 s.d.), so a
genome's fitness is a statistic over its trainings, and two genomes are compared on the
trainings they share. Common random numbers make that comparison paired: the k-th training
of every genome uses shared_seed(master_seed, k), so the k-th trainings of two genomes differ
only by the genomes (SMAC's shared seeds; irace's instances).

Pure functions of numbers, no state: the racing selection (strategies/racing.py) and
GeneticSearchCV's fold races are built on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .trial import trial_seed


def shared_seed(master_seed: int, index: int) -> int:
    """The training seed of every genome's `index`-th training under `master_seed` (common
    random numbers: genomes trained on the same index are compared paired)."""
    if index < 0:
        raise ValueError(f"seed index must be >= 0, not {index}")
    return trial_seed(master_seed, ("shared seed", int(index)))


@dataclass(frozen=True)
class Estimate:
    """A mean over n trainings with its two-sided confidence interval (Student's t; none for
    n = 1). sd is the trainings' sample standard deviation (0 for n = 1)."""

    mean: float
    sd: float
    n: int
    low: float
    high: float
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def describe(self, digits: int = 4) -> str:
        """'0.9123 ± 0.0061 (95% CI, mean of 5 trainings)', or the single training's score."""
        if self.n == 1:
            return f"{self.mean:.{digits}f} (1 training, no interval)"
        return (f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f} "
                f"({self.confidence:.0%} CI, mean of {self.n} trainings)")

    def record(self) -> dict[str, float | int]:
        """The plain dict best.json keeps."""
        return {"mean": self.mean, "sd": self.sd, "n": self.n, "ci_low": self.low, "ci_high": self.high,
                "confidence": self.confidence}


def estimate(values: Iterable[float], confidence: float = 0.95) -> Estimate:
    """The mean of `values` (finite numbers, at least one) with its t interval."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"estimate: needs one or more finite scores, got {x.tolist()}")
    if not 0 < confidence < 1:
        raise ValueError(f"estimate: confidence must be in (0, 1), not {confidence}")
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, 0.0, 1, math.nan, math.nan, confidence)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return Estimate(mean, sd, int(x.size), mean - half, mean + half, confidence)


def paired_differences(a: Mapping[int, float], b: Mapping[int, float]) -> np.ndarray:
    """a's score minus b's on every seed index both were trained on, in index order."""
    common = sorted(set(a) & set(b))
    return np.array([a[k] - b[k] for k in common], dtype=float)


def pooled_noise(groups: Iterable[Sequence[float]]) -> tuple[float, int]:
    """(the pooled within-group standard deviation, its degrees of freedom) of groups of
    scores, each one genome's trainings: the seed noise of one training. Groups of one
    score add nothing; (nan, 0) where no group has two."""
    squares, dof = 0.0, 0
    for group in groups:
        x = np.asarray(group, dtype=float)
        if x.size >= 2:
            squares += float(((x - x.mean()) ** 2).sum())
            dof += x.size - 1
    return (math.sqrt(squares / dof), dof) if dof else (math.nan, 0)


def clearly_worse(differences: Sequence[float] | np.ndarray, noise_sd: float, z: float) -> bool:
    """Whether a challenger is worse than the genome it is compared to beyond the noise:
    the upper z-bound of its mean paired difference is below zero.

    differences: challenger minus the other, per shared seed. noise_sd: one training's seed
    noise (pooled_noise), so that the test works from the first shared seed on, where a
    Wilcoxon or t test on two pairs can reject nothing; a paired difference of independent
    trainings has sd sqrt(2) * noise_sd, and shared seeds only make it smaller, so the test
    errs on the side of keeping a challenger. An unknown noise (nan) drops nobody."""
    d = np.asarray(differences, dtype=float)
    if d.size == 0 or not math.isfinite(noise_sd):
        return False
    return float(d.mean()) + z * math.sqrt(2.0) * noise_sd / math.sqrt(d.size) < 0


def noise_is_negligible(noise_sd: float, dof: int, spread: float, ratio: float) -> bool:
    """Whether seed noise can be ignored: even its 95 % upper confidence bound (chi-square,
    from `dof` degrees of freedom) is below `ratio` times the spread between genomes. A
    deterministic objective (repeats identical: noise 0) is negligible from one repeat on;
    a noisy one needs five repeats or more, and a small bound, so that a few close pairs of
    scores, which happen by chance, do not turn racing off."""
    if not math.isfinite(noise_sd) or dof < 1:
        return False
    if noise_sd == 0.0:
        return True
    if dof < 5:  # a few close pairs happen by chance
        return False
    upper = noise_sd * math.sqrt(dof / float(stats.chi2.ppf(0.05, dof)))
    return math.isfinite(spread) and upper < ratio * spread
