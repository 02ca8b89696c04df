"""Fold racing for GeneticSearchCV: the cross-validation folds are the instances a candidate
races the incumbent on (irace's races; Optuna's WilcoxonPruner over instances), so an
unpromising candidate stops after a few folds instead of fitting all of them.

A candidate's folds are fitted in order. After each of its first folds from `min_folds` on
(never after the last: by then it has cost all its fits), it is compared, paired on the
folds both ran, with the incumbent: the candidate with the best mean cross-validated score
of the refit metric among those that ran every fold. It is dropped when the upper one-sided
`confidence` bound of its mean paired difference is below zero (noise.clearly_worse).

Why a paired test with a pooled variance rather than a per-candidate paired t-test: after
two folds a paired t-test has one degree of freedom (its 99% quantile is 31.8) and drops
nothing, which is where racing saves the most. The fold-to-fold spread of paired differences
is much the same for every candidate (the folds' difficulty cancels in a difference), so it
is pooled from the differences between every complete candidate and the incumbent
(noise.pooled_noise; (C - 1)(K - 1) degrees of freedom for C complete candidates and K
folds), and the bound uses Student's t quantile for those degrees of freedom. Where no
other candidate is complete there is no estimate and nobody is dropped.

The race (incumbent, its fold scores, the pooled spread, the bound) is fixed when a
generation's batch is dispatched, from the trials finished before it, and travels to the
workers as a plain dict: drop decisions do not depend on n_jobs, nor on a resume.

Budget: every fold's fit counts. Under racing, GeneticSearchCV's max_evaluations (full
cross-validations) becomes a budget of max_evaluations x K fits, which the engine keeps as
its training-epochs budget (FoldRacing charges a candidate its K fits before it runs and
then only the folds it ran: trials.csv's `epochs_trained`), so the folds a dropped candidate
did not run pay for more candidates, in the last generation too (a search whose planner
stopped at a candidate that did not fit goes on where the refunds pay for one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from . import checks
from .noise import clearly_worse, paired_differences, pooled_noise
from .status import Status
from .strategies.base import Training

if TYPE_CHECKING:
    from .budget import Spending
    from .outcome import Outcome, Trainer

__all__ = ["FoldRace", "FoldRacing", "race_budget", "race_settings", "race_verdict", "start_race"]


@dataclass(frozen=True)
class FoldRace:
    """GeneticSearchCV's fold-racing settings (its `racing`: True means FoldRace()).

    min_folds: folds every candidate runs before it can be dropped (racing is active only
        with more folds than that: by default from 3 folds on).
    confidence: one-sided level of the bound that must lie below zero for a drop (per
        look; a candidate is looked at after each of folds min_folds .. K-1).
    """

    min_folds: int = 2
    confidence: float = 0.99

    def __post_init__(self) -> None:
        checks.integer("racing.min_folds", self.min_folds, minimum=1)
        checks.in_range("racing.confidence", self.confidence, 0.5, 1, "()")

    def active(self, n_splits: int) -> bool:
        return n_splits > self.min_folds

    def to_config(self) -> dict[str, Any]:
        return asdict(self)


def race_settings(racing: Any) -> FoldRace | None:
    """GeneticSearchCV's `racing` argument read: None where racing is off."""
    if racing is False or racing is None:
        return None
    if racing is True:
        return FoldRace()
    if isinstance(racing, FoldRace):
        return racing
    if isinstance(racing, Mapping):
        checks.known_keys("racing", racing, [f.name for f in fields(FoldRace)])
        return FoldRace(**racing)
    raise ValueError(f"racing: True, False, a dict of FoldRace's fields or a FoldRace, got {racing!r}")


def race_budget(max_evaluations: int | None, budget: Any, n_splits: int) -> dict[str, int]:
    """The engine's budgets under racing: max_evaluations full cross-validations become as
    many fits (training epochs, one per fold) and at most that many candidates."""
    # Another type of budget is refused by the search's own check, with its own message.
    given = dict(budget) if isinstance(budget, Mapping) else {}
    if is_dataclass(budget) and not isinstance(budget, type):
        given = asdict(budget)
    if given.get("max_training_epochs") is not None:
        raise ValueError("budget.max_training_epochs: under fold racing GeneticSearchCV counts fits with it "
                         "(max_evaluations x folds); set max_evaluations instead, or racing=False")
    candidates = max_evaluations if max_evaluations is not None else given.get("max_evaluations")
    if candidates is None:
        return {}
    fits = checks.integer("max_evaluations", candidates, minimum=1) * n_splits
    return {"max_evaluations": fits, "max_training_epochs": fits}


def _fold_scores(row: Mapping[str, Any], metric: str, n_splits: int) -> list[float] | None:
    """A trials row's test scores of `metric`, fold by fold, where it ran every fold and all
    of them fitted and scored; None otherwise."""
    if row["cached"] or row["status"] != Status.OK or row.get("failed_splits"):
        return None
    scores = [row.get(f"split{k}_test_{metric}") for k in range(n_splits)]
    if not all(isinstance(s, (int, float)) and math.isfinite(s) for s in scores):
        return None
    return [float(s) for s in scores]  # type: ignore[arg-type]


def start_race(rows: Iterable[Mapping[str, Any]], metric: str, n_splits: int,
               settings: FoldRace) -> dict[str, Any] | None:
    """The race a batch's candidates run, from the trials finished before it (a plain dict
    for the workers), or None while there is no incumbent or no estimate of the noise."""
    complete = [(row["trial_id"], scores) for row in rows
                if (scores := _fold_scores(row, metric, n_splits)) is not None]
    if not complete:
        return None
    # The best mean; the earlier trial on ties.
    incumbent, best = max(complete, key=lambda item: (float(np.mean(item[1])), -item[0]))
    folds = dict(enumerate(best))
    spread, dof = pooled_noise(paired_differences(dict(enumerate(scores)), folds).tolist()
                               for trial_id, scores in complete if trial_id != incumbent)
    if dof == 0:
        return None
    return {"incumbent": int(incumbent), "scores": best, "mean": float(np.mean(best)), "spread": spread,
            "dof": dof, "min_folds": settings.min_folds, "confidence": settings.confidence,
            "t": float(stats.t.ppf(settings.confidence, dof))}


def race_verdict(scores: Sequence[float], race: Mapping[str, Any]) -> tuple[str, float]:
    """(why the candidate is dropped, its estimated full-CV mean) after the folds it ran
    (`scores`, in fold order), or ("", nan) while it goes on. The estimate is the
    incumbent's mean plus the mean paired difference: unlike the mean of the folds run, it
    does not depend on which folds those were."""
    n, folds = len(scores), len(race["scores"])
    if n < race["min_folds"] or n >= folds:
        return "", math.nan
    differences = paired_differences(dict(enumerate(scores)), dict(enumerate(race["scores"])))
    # clearly_worse's bound is z * sqrt(2) * noise / sqrt(n): the spread of a difference is sqrt(2) * noise.
    if not clearly_worse(differences.tolist(), race["spread"] / math.sqrt(2.0), race["t"]):
        return "", math.nan
    mean, bound = float(differences.mean()), float(race["t"] * race["spread"] / math.sqrt(n))
    return (f"dropped after {n} of {folds} folds by the fold race: {mean:+.4g} below trial "
            f"{race['incumbent']} on the folds both ran (upper {race['confidence']:.0%} bound "
            f"{mean + bound:+.4g})"), race["mean"] + mean


class FoldRacing(Training):
    """How GeneticSearchCV's candidates are cross-validated under fold racing: each is
    charged its n_splits fits before it runs (the engine's epochs budget counts fits), runs
    its folds racing the incumbent of the trials before the batch, and is charged the folds
    it ran; the search goes on while what is left pays for another candidate. Only
    candidates that ran every fold may become the best or an elite."""

    def __init__(self, settings: FoldRace, n_splits: int, metric: Callable[[Sequence[Mapping[str, Any]]], str]):
        self.settings, self.n_splits, self.metric = settings, n_splits, metric

    def first_cost(self, genome: Mapping[str, Any]) -> int:
        return self.n_splits

    def selection(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[bool], None]:
        return [row["status"] == Status.OK for row in rows], None

    def train(self, trainer: Trainer, tasks: Sequence[tuple[dict[str, Any], int]], progress: Any,
              rows: Iterable[Mapping[str, Any]], curves: Callable[[], Mapping[int, Mapping[str, Any]]],
              spending: Spending) -> list[Outcome]:
        rows = list(rows)
        race = start_race(rows, self.metric(rows), self.n_splits, self.settings) if rows else None
        batch = [(params, seed, {"race": race}) for params, seed in tasks]
        outcomes = trainer.train(batch, on_result=lambda i, outcome: progress.update())
        outcomes = [o.replace(metrics={**o.metrics, "epochs_trained": int(o.metrics.get("folds_run", self.n_splits))})
                    for o in outcomes]
        # The planner stopped at a candidate whose n_splits fits did not fit; where the folds
        # this batch's dropped candidates skipped pay for one, the search goes on.
        if spending.epochs_spent and spending.left(0, sum(o.epochs_trained for o in outcomes))[1] >= self.n_splits:
            spending.epochs_spent = False
        return outcomes
