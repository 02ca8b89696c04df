"""Multi-fidelity evaluation for the GA: successive-halving rungs and a per-epoch pruner.

A generation's new genomes are first trained for a fraction of their `epochs` gene (rung 0);
those whose score is in the best 1/reduction_factor of all trainings that completed rung 0
so far (this generation's and earlier ones) are trained again for more epochs (rung 1), and
so on up to the full `epochs` at the last rung. A promoted training continues from the
weights, momentum and history its rung reached (sent back with its result, so any worker can
go on with it), or, where the objective cannot continue a run exactly, retrains from scratch
with the genome's own seed: either way a rung's result is exactly what a plain search would
get for that many epochs.

The pruner stops a training run after an epoch where its validation score falls below a
percentile of the earlier runs' scores at that same epoch. "Earlier" means finished before
the batch began (earlier rungs and generations): the thresholds are fixed when the batch is
dispatched, so pruning decisions do not depend on n_jobs or on which trial finished first.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

PRUNERS = ("none", "median", "percentile")


@dataclass(frozen=True)
class Fidelity:
    """Successive-halving and pruning settings (rungs=1 with pruner="none": a plain GA).

    rungs: training budgets per genome, the last being its full `epochs` gene.
    reduction_factor: each rung trains reduction_factor times the epochs of the one below
        and keeps the best 1/reduction_factor of its trainings for the next.
    pruner: "none", "median" or "percentile" (below `percentile` of the earlier runs). Off by
        default: alongside rungs, the runs that reach an epoch past rung 0 were all promoted,
        so a median of them stops half of each rung's promoted trainings, on top of the
        rungs' own selection (measured in benchmarks/README.md). It suits rungs=1, or a low
        percentile.
    warmup_epochs: epochs a run always gets before the pruner judges it.
    min_trials: earlier runs that must have reached an epoch before it is judged.
    """

    rungs: int = 3
    reduction_factor: float = 3.0
    pruner: str = "none"
    percentile: float = 50.0
    warmup_epochs: int = 1
    min_trials: int = 5

    def __post_init__(self):
        if not isinstance(self.rungs, int) or isinstance(self.rungs, bool) or self.rungs < 1:
            raise ValueError(f"rungs must be an integer >= 1, got {self.rungs!r}")
        if not self.reduction_factor > 1:
            raise ValueError(f"reduction_factor must be > 1, got {self.reduction_factor!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        if not 0 < self.percentile < 100:
            raise ValueError(f"percentile must be in (0, 100), got {self.percentile!r}")
        if self.pruner == "median" and self.percentile != 50.0:
            raise ValueError("percentile is for pruner='percentile'; the median pruner uses 50")
        for name in ("warmup_epochs", "min_trials"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    @property
    def active(self):
        return self.rungs > 1 or self.pruner != "none"

    def to_config(self):
        return asdict(self)

    def rung_epochs(self, epochs):
        """Epochs trained at each rung for a genome whose epochs gene is `epochs`: increasing,
        the last equal to `epochs`; rungs that would repeat a budget are dropped."""
        budgets = []
        for rung in range(self.rungs):
            budget = max(1, round(epochs / self.reduction_factor ** (self.rungs - 1 - rung)))
            if not budgets or budget > budgets[-1]:
                budgets.append(budget)
        budgets[-1] = epochs
        return budgets

    def n_promoted(self, n):
        """How many of n trainings that completed a rung rank high enough to go on."""
        return max(1, math.floor(n / self.reduction_factor)) if n else 0

    def promotions(self, scores, earlier=()):
        """Indices of `scores` (this batch's trainings that completed a rung below their last)
        that go on to the next rung: those among the best n_promoted of them and the
        `earlier` trainings that completed the same rung (ASHA's rule: as the population
        improves, more of a generation goes on; earlier scores win ties)."""
        pool = [(-s, 0, k) for k, s in enumerate(earlier)] + [(-s, 1, j) for j, s in enumerate(scores)]
        best = sorted(pool)[:self.n_promoted(len(pool))]
        return sorted(j for _, new, j in best if new)

    def thresholds(self, curves):
        """Per epoch (index 0 = epoch 1), the score a run must reach not to be pruned there:
        the pruner's percentile of the validation scores that the runs in `curves` (lists of
        per-epoch scores) had at that epoch; NaN where nothing is judged."""
        if self.pruner == "none":
            return []
        longest = max((len(curve) for curve in curves), default=0)
        thresholds = []
        for epoch in range(longest):
            scores = [c[epoch] for c in curves if len(c) > epoch and math.isfinite(c[epoch])]
            judged = epoch >= self.warmup_epochs and len(scores) >= max(self.min_trials, 1)
            thresholds.append(float(np.percentile(scores, self.percentile)) if judged else math.nan)
        return thresholds


def below_threshold(scores, thresholds):
    """Whether the run whose per-epoch validation scores are `scores` is pruned after its
    latest epoch (for netcore.fit's callback)."""
    epoch = len(scores) - 1
    return epoch < len(thresholds) and scores[epoch] < thresholds[epoch]
