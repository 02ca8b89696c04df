"""Per-epoch reporting and pruning for any objective: the hook behind `[fidelity]`.

An objective that takes a `reporter` argument gets, under multi-fidelity search
(GeneticSearch(..., fidelity=Fidelity(...))), a Reporter for each training: it calls
reporter.report(epoch, score) after every epoch and stops when that returns True (the
pruner's threshold for this epoch was not met), then returns reporter.result(). The
reporter records the learning curve (curves.csv), and the trial gets status "pruned" with
the score it had reached. Rungs set params["epochs"] to each rung's budget; the pruner's
thresholds (percentiles of earlier runs' scores at each epoch) come with the reporter, fixed
when the batch is dispatched, so results do not depend on n_jobs. The built-in MLP objective
uses the same hook.

    from hpsearch.pruning import Reporter

    def objective(params, seed, reporter=None):
        reporter = reporter or Reporter()   # a plain search or a direct call passes none
        model = make_model(params, seed)
        for epoch in range(1, params["epochs"] + 1):
            train_one_epoch(model)
            if reporter.report(epoch, validation_accuracy(model)):   # higher is better
                break                                                # pruned: stop training
        return reporter.result(n_params=model.size)   # fitness: the last score reported

    GeneticSearch(space, objective, fidelity=Fidelity(rungs=3, pruner="median"))

The score is higher-is-better, as the pruner compares it with earlier runs (report -loss for
a loss). Keyword metrics given to report (report(epoch, acc, val_loss=...)) are recorded in
the curve too. An objective may return a dict of its own instead of reporter.result(): the
search then marks it "pruned" where its curve["val_metric"] ended below its epoch's
threshold. Naming the `reporter` parameter is how an objective declares it reports
(hpsearch.objective.Capabilities); a **kwargs catch-all declares nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Reporter", "prune_reason"]


class Reporter:
    """Collects one training's per-epoch validation scores and says when to stop.

    thresholds: per epoch (index 0 = epoch 1), the score a run must reach not to be pruned
    there; NaN (or no entry) where nothing is judged. Reporter() never stops a run.
    A plain object that pickles: the search makes one per training, with the thresholds of
    its batch, and sends it to whichever worker runs the training.
    """

    def __init__(self, thresholds: Sequence[float] = ()) -> None:
        self.thresholds = [float(t) for t in thresholds]
        self.scores: list[float] = []
        self.metrics: dict[str, list[Any]] = {}

    def __repr__(self) -> str:
        return f"Reporter({len(self.scores)} epochs reported, {len(self.thresholds)} thresholds)"

    @property
    def epochs(self) -> int:
        """Epochs reported so far."""
        return len(self.scores)

    def report(self, epoch: int, score: float, **metrics: Any) -> bool:
        """Record the validation score (higher is better) after `epoch` (1, 2, ... in order)
        and any other per-epoch metrics (the same names every epoch); True where the run
        should stop now (should_stop())."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch != len(self.scores) + 1:
            raise ValueError(f"report: epoch {epoch!r} after {len(self.scores)} reported; report each epoch "
                             f"once, in order, counting from 1")
        if self.scores and set(metrics) != set(self.metrics):
            raise ValueError(f"report: metrics {sorted(metrics)} at epoch {epoch}, {sorted(self.metrics)} before; "
                             f"report the same metrics every epoch")
        if "val_metric" in metrics:
            raise ValueError("report: val_metric is the score itself, the second argument")
        self.scores.append(float(score))
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(value)
        return self.should_stop()

    def threshold(self, epoch: int) -> float:
        """The score epoch `epoch` must reach (NaN where it is not judged)."""
        return self.thresholds[epoch - 1] if 1 <= epoch <= len(self.thresholds) else math.nan

    def should_stop(self) -> bool:
        """Whether the latest epoch's score fell below that epoch's threshold (a run judged
        at its latest epoch, as the pruner judges it; NaN scores are never below)."""
        return bool(self.scores) and self.scores[-1] < self.threshold(len(self.scores))

    @property
    def reason(self) -> str:
        """Why the run is pruned ("" where it is not)."""
        if not self.should_stop():
            return ""
        epoch = len(self.scores)
        return (f"pruned after epoch {epoch}: validation score {self.scores[-1]:.4g} "
                f"< {self.threshold(epoch):.4g}")

    @property
    def curve(self) -> dict[str, list[Any]]:
        """The learning curve so far, as an outcome's "curve": val_metric and the other metrics."""
        return {"val_metric": list(self.scores), **{name: list(values) for name, values in self.metrics.items()}}

    def result(self, fitness: float | None = None, **metrics: Any) -> dict[str, Any]:
        """The objective's return value: fitness (by default the last score reported),
        status "pruned" (with its reason) where should_stop(), else "ok"; the curve,
        epochs_run and `metrics`."""
        if fitness is None:
            if not self.scores:
                raise ValueError("result: no epoch was reported; pass fitness=")
            fitness = self.scores[-1]
        status = "pruned" if self.should_stop() else "ok"
        return {"fitness": fitness, "status": status, "reason": self.reason, "epochs_run": len(self.scores),
                "curve": self.curve, **metrics}


def prune_reason(curve: Mapping[str, Any] | None, thresholds: Sequence[float]) -> str:
    """Why a run whose curve's val_metric ended below the threshold of its last epoch is
    pruned ("" where it is not): for an objective that returned a dict of its own after the
    reporter told it to stop, whose status then becomes "pruned"."""
    scores = curve.get("val_metric") if isinstance(curve, Mapping) else None
    if not isinstance(scores, Sequence) or not scores:
        return ""
    reporter = Reporter(thresholds)
    try:
        reporter.scores = [float(score) for score in scores]
    except (TypeError, ValueError):
        return ""
    return reporter.reason
