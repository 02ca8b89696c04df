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
An objective learns of them through the hpsearch.pruning.Reporter it is given (its
`reporter` argument: any training loop can use it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import checks
from .pruning import Reporter, prune_reason
from .status import SCORED_STATUSES, Status
from .strategies.base import Training

if TYPE_CHECKING:
    from .budget import Spending
    from .objective import Capabilities
    from .outcome import Outcome, Trainer
    from .space import Space

PRUNERS = ("none", "median", "percentile")


@dataclass(frozen=True)
class Fidelity:
    """Successive-halving and pruning settings (rungs=1 with pruner="none": a plain GA).

    A frozen dataclass, checked when it is made; the [fidelity] table of a TOML config reads
    into it.

    Attributes:
        rungs: training budgets per genome, the last being its full `epochs` gene.
        reduction_factor: each rung trains reduction_factor times the epochs of the one
            below and keeps the best 1/reduction_factor of its trainings for the next.
        pruner: "none", "median" or "percentile" (below `percentile` of the earlier runs).
            Off by default: alongside rungs, the runs that reach an epoch past rung 0 were
            all promoted, so a median of them stops half of each rung's promoted trainings,
            on top of the rungs' own selection (measured in benchmarks/README.md). It suits
            rungs=1, or a low percentile.
        percentile: the "percentile" pruner's threshold, in percent of the earlier runs.
        warmup_epochs: epochs a run always gets before the pruner judges it.
        min_trials: earlier runs that must have reached an epoch before it is judged.
    """

    rungs: int = 3
    reduction_factor: float = 3.0
    pruner: str = "none"
    percentile: float = 50.0
    warmup_epochs: int = 1
    min_trials: int = 5

    def __post_init__(self) -> None:
        checks.integer("rungs", self.rungs, minimum=1, maximum=checks.MAX_RUNGS)
        if not checks.number("reduction_factor", self.reduction_factor) > 1:
            raise ValueError(f"reduction_factor: must be > 1, got {self.reduction_factor!r}")
        if self.reduction_factor > checks.MAX_REDUCTION_FACTOR:
            raise ValueError(f"reduction_factor: must be <= {checks.MAX_REDUCTION_FACTOR}, "
                             f"got {self.reduction_factor!r}")
        checks.choice("pruner", self.pruner, PRUNERS)
        checks.in_range("percentile", self.percentile, 0, 100, "()")
        # A percentile other than the median's 50 with another pruner would be silently unused.
        if self.percentile != 50 and self.pruner != "percentile":
            raise ValueError(f"percentile: only used with pruner = 'percentile', not {self.pruner!r}")
        checks.integer("warmup_epochs", self.warmup_epochs, minimum=0)
        checks.integer("min_trials", self.min_trials, minimum=0)

    @property
    def active(self) -> bool:
        return self.rungs > 1 or self.pruner != "none"

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    def rung_epochs(self, epochs: int) -> list[int]:
        """Epochs trained at each rung for a genome whose epochs gene is `epochs`: increasing,
        the last equal to `epochs`; rungs that would repeat a budget are dropped."""
        budgets: list[int] = []
        for rung in range(self.rungs):
            budget = max(1, round(epochs / self.reduction_factor ** (self.rungs - 1 - rung)))
            if not budgets or budget > budgets[-1]:
                budgets.append(budget)
        budgets[-1] = epochs
        return budgets

    def n_promoted(self, n: int) -> int:
        """How many of n trainings that completed a rung rank high enough to go on."""
        return max(1, math.floor(n / self.reduction_factor)) if n else 0

    def promotions(self, scores: Sequence[float], earlier: Sequence[float] = ()) -> list[int]:
        """Indices of `scores` (this batch's trainings that completed a rung below their last)
        that go on to the next rung: those among the best n_promoted of them and the
        `earlier` trainings that completed the same rung (ASHA's rule: as the population
        improves, more of a generation goes on; earlier scores win ties)."""
        pool = [(-s, 0, k) for k, s in enumerate(earlier)] + [(-s, 1, j) for j, s in enumerate(scores)]
        best = sorted(pool)[:self.n_promoted(len(pool))]
        return sorted(j for _, new, j in best if new)

    def thresholds(self, curves: Sequence[Sequence[float]]) -> list[float]:
        """Per epoch (index 0 = epoch 1), the score a run must reach not to be pruned there:
        the pruner's percentile of the validation scores that the runs in `curves` (lists of
        per-epoch scores) had at that epoch; NaN where nothing is judged."""
        if self.pruner == "none":
            return []
        longest = max((len(curve) for curve in curves), default=0)
        thresholds: list[float] = []
        for epoch in range(longest):
            scores = [c[epoch] for c in curves if len(c) > epoch and math.isfinite(c[epoch])]
            judged = epoch >= self.warmup_epochs and len(scores) >= max(self.min_trials, 1)
            thresholds.append(float(np.percentile(scores, self.percentile)) if judged else math.nan)
        return thresholds


def check_space(space: Space) -> None:
    if "epochs" not in space.names:
        raise ValueError("multi-fidelity search needs an 'epochs' gene in the space "
                         "(each genome's largest training budget)")


class SuccessiveHalving(Training):
    """How the multi-fidelity GA turns a generation's new genomes into trainings.

    Every genome trains at rung 0; after each rung, those with a higher one go on if their
    score ranks among the best n_promoted of all trainings that completed that rung
    (Fidelity.promotions). A promoted training continues from the weights its rung reached
    where the objective can do so exactly (keep_state= and resume=, as MLPObjective for
    most settings), else it is retrained from scratch; either way the result is that of a
    run from scratch. Parents are chosen on the rung-0 score every genome has; only fully
    trained genomes may become the best or an elite.
    """

    def __init__(self, fidelity: Fidelity, space: Space, capabilities: Capabilities) -> None:
        check_space(space)
        # The hook of hpsearch.pruning: a Reporter per training.
        self.reports = capabilities.reporter
        if fidelity.pruner != "none" and not self.reports:
            raise ValueError(f"the {fidelity.pruner} pruner needs an objective that takes reporter= "
                             "(hpsearch.pruning; the built-in MLP objective does)")
        self.fidelity = fidelity
        self.continues = capabilities.continues

    def first_cost(self, genome: Mapping[str, Any]) -> int:
        """Epochs a genome's first training (rung 0) trains at most."""
        return self.fidelity.rung_epochs(int(genome["epochs"]))[0]

    def selection(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[bool], list[float]]:
        """(eligible, screening) for GeneticAlgorithm.tell, from the genomes' rows."""
        return [row["status"] == Status.OK for row in rows], [row["rung0_score"] for row in rows]

    def train(self, trainer: Trainer, tasks: Sequence[tuple[dict[str, Any], int]], progress: Any,
              rows: Iterable[Mapping[str, Any]], curves: Callable[[], Mapping[int, Mapping[str, Any]]],
              spending: Spending) -> list[Outcome]:
        """The Outcome per task: that of its last training, with the genome's rung-0 score
        and the earlier trainings in `earlier`. rows and curves: the trials so far (for the
        field each rung competes with, and the pruner's thresholds); spending: the budgets,
        which pay for promotions, the better-scoring first."""
        fidelity = self.fidelity
        budgets = [fidelity.rung_epochs(int(params["epochs"])) for params, _ in tasks]
        earlier = self._rung_scores(rows)
        trainings: list[list[Outcome]] = [[] for _ in tasks]
        states: dict[int, Any] = {}  # task index -> the state its last training reached (for the next rung)
        alive, rung = list(range(len(tasks))), 0
        while alive:
            options: dict[str, Any] = {}
            thresholds: list[float] = []
            if fidelity.pruner != "none":
                # Thresholds from trainings finished before this batch: the same for any n_jobs.
                finished = [c["val_metric"] for c in curves().values() if "val_metric" in c]
                finished += [o.curve["val_metric"] for done in trainings for o in done
                             if o.curve and "val_metric" in o.curve]
                thresholds = fidelity.thresholds(finished)
            batch = []
            for i in alive:
                task_options = dict(options)
                if self.reports:  # one per training: it records that training's curve
                    task_options["reporter"] = Reporter(thresholds)
                if self.continues:
                    task_options.update(keep_state=rung + 1 < len(budgets[i]), resume=states.pop(i, None))
                batch.append(({**tasks[i][0], "epochs": budgets[i][rung]}, tasks[i][1], task_options))
            if rung:
                progress.total += len(batch)
            for i, outcome in zip(alive, trainer.train(batch, on_result=lambda j, o: progress.update())):
                reason = prune_reason(outcome.curve, thresholds) if outcome.status == Status.OK else ""
                if reason:  # the objective returned a dict of its own after the reporter said stop
                    outcome = outcome.replace(status=Status.PRUNED, reason=reason)
                if outcome.state is not None:
                    states[i] = outcome.state
                trainings[i].append(outcome.replace(state=None, rung=rung))
            completed = [i for i in alive if rung + 1 < len(budgets[i]) and trainings[i][-1].status == Status.OK]
            scores = [trainings[i][-1].fitness for i in completed]
            promoted = [completed[j] for j in fidelity.promotions(scores, earlier.get(rung, []))]
            pool = len(earlier.get(rung, [])) + len(completed)
            unaffordable = self._unaffordable(promoted, trainings, states, budgets, rung + 1, spending)
            for i in completed:
                if i in promoted and i not in unaffordable:
                    trainings[i][-1] = trainings[i][-1].replace(status=Status.PROMOTED)
                elif i in promoted:
                    trainings[i][-1] = trainings[i][-1].replace(status=Status.PRUNED, reason=(
                        f"not promoted past rung {rung}: the {unaffordable[i]} budget is spent"))
                else:
                    trainings[i][-1] = trainings[i][-1].replace(status=Status.PRUNED, reason=(
                        f"not promoted past rung {rung} (not in the best "
                        f"{fidelity.n_promoted(pool)} of {pool} trainings at that rung)"))
            promoted = [i for i in promoted if i not in unaffordable]
            states = {i: states[i] for i in promoted if i in states}
            alive, rung = promoted, rung + 1
        return [done[-1].replace(rung0_score=done[0].fitness, earlier=tuple(done[:-1])) for done in trainings]

    @staticmethod
    def _unaffordable(promoted, trainings, states, budgets, rung, spending):
        """{task: the budget it exceeds} for the promoted tasks whose training at `rung` the
        budgets cannot pay for after this generation's trainings so far; the better-scoring
        ones are paid for first."""
        done = [o for runs in trainings for o in runs]
        trainings_left, epochs_left = spending.left(len(done), sum(o.epochs_trained for o in done))
        unaffordable = {}
        for i in sorted(promoted, key=lambda i: -trainings[i][-1].fitness):
            cost = budgets[i][rung] - (budgets[i][rung - 1] if i in states else 0)
            if trainings_left < 1:
                unaffordable[i] = "max_evaluations"
            elif cost > epochs_left:
                unaffordable[i] = "max_training_epochs"
                spending.epochs_spent = True
            else:
                trainings_left, epochs_left = trainings_left - 1, epochs_left - cost
        return unaffordable

    def _rung_scores(self, rows):
        """{rung: validation scores} of the earlier trainings that completed a rung below
        their genome's last (the field a new training at that rung competes with)."""
        scores = {}
        for row in rows:
            if row["cached"] or row.get("rung") is None or row["status"] not in SCORED_STATUSES:
                continue
            budgets = self.fidelity.rung_epochs(int(row["epochs"]))
            if row["rung"] + 1 < len(budgets) and row["epochs_run"] == budgets[row["rung"]]:
                scores.setdefault(row["rung"], []).append(row["fitness"])
        return scores
