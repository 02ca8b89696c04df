"""Racing: which genomes earn more trainings, and which one the search chooses.

One training's validation score is partly luck (its seed), so the genome with the best
single training is mostly the luckiest one. This selection compares genomes on shared seeds
(common random numbers: the k-th training of every genome uses the k-th shared seed) and
spends trainings where they decide something (SMAC's intensification, irace's races):

    incumbent     the genome the search would choose now. It gets `min_incumbent` trainings,
                  and one more whenever a challenger finishes a race against it (up to
                  max_trainings), so the more it is challenged the better it is known.
    challengers   each generation, up to `challengers` genomes trained once (the best by
                  their paired difference to the incumbent on seed 0, elites first) that are
                  not clearly worse enter a race: they train on the incumbent's seeds,
                  doubling 1 -> 2 -> 4 ... one step per generation (a generation's race
                  trainings take at most half of its population - elitism slots, the
                  new genomes the rest, so it stays one parallel batch; a step left over
                  runs in the next generation), and are dropped as soon as the
                  paired difference is clearly negative (noise.clearly_worse, z = `z`, with
                  the seed noise measured over the run). One that matches every seed of the
                  incumbent with a higher mean replaces it.
    final race    a share of the budget (`final_share`) is kept for the end: the best
                  `final_size` genomes by mean train on the seeds they lack, and the best
                  mean wins (irace's post-selection).
    confirmation  the winner trains `confirm` more times on seeds nobody used: the score
                  reported is their mean with a confidence interval, trainings that took
                  no part in choosing it (hpsearch.noise.estimate).

noise "auto" measures the seed noise from the repeats; where it is negligible next to the
spread between genomes (a deterministic objective: the incumbent's second training equals
its first) no more trainings are spent on it, and the reserve goes back to the search. An
objective that declares itself deterministic (objective.Capabilities) is not probed at all.
noise "none" turns racing off: one training per genome, the best single training chosen.

NSGA-II (confirm_only) has no single fitness to race on: its genomes are trained once and
ranked by Pareto fronts, and the knee of the front (the genome it chooses) is confirmed:
search, then confirmation, then done, the reserve only the confirmation's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import checks
from ..noise import clearly_worse, noise_is_negligible, paired_differences
from ..scores import GenomeScores

NOISE_MODES = ("auto", "none")

# Race statuses of a genome (genomes.csv's `race`): in a race, dropped by the paired test,
# finished its race without beating the incumbent, or beat it.
RACING, DROPPED, LOST, WON = "racing", "dropped", "lost", "won"


@dataclass(frozen=True)
class Racing:
    """Settings of the noise-aware selection (a config's [racing] table; GeneticSearch's `racing`).

    Attributes:
        noise: "auto" (race on shared seeds, measure the noise, stop spending on it where
            negligible; NSGA-II: no races, its knee confirmed) or "none" (one training per
            genome; the best single training, or NSGA-II's knee, wins).
        min_incumbent: trainings the incumbent gets before it is raced.
        max_trainings: the most trainings one genome gets during the search.
        challengers: genomes that enter a race per generation at most.
        z: how sure the paired test must be to drop a challenger (its mean difference
            plus z standard errors below zero; 1.0 is about 84 % one-sided).
        final_share: the share of max_evaluations kept for the final race and the
            confirmation (of max_training_epochs and time_limit too, where set).
        final_size: genomes in the final race.
        confirm: fresh trainings of the winner for the reported score (>= 2: an interval).
        negligible_ratio: noise below this times the spread between genomes is negligible.
        confidence: of the reported interval.
    """

    noise: str = "auto"
    min_incumbent: int = 2
    max_trainings: int = 8
    challengers: int = 2
    z: float = 1.0
    final_share: float = 0.15
    final_size: int = 3
    confirm: int = 3
    negligible_ratio: float = 0.05
    confidence: float = 0.95

    def __post_init__(self) -> None:
        checks.choice("noise", self.noise, NOISE_MODES)
        for name in ("min_incumbent", "max_trainings", "challengers", "final_size"):
            checks.integer(name, getattr(self, name), minimum=1)
        checks.integer("confirm", self.confirm, minimum=2)  # an interval needs two trainings
        checks.integer("min_incumbent", self.min_incumbent, maximum=self.max_trainings)
        checks.in_range("z", self.z, 0, 5, "(]")
        checks.in_range("final_share", self.final_share, 0, 0.9, "[)")
        checks.in_range("negligible_ratio", self.negligible_ratio, 0, 1, "()")
        checks.in_range("confidence", self.confidence, 0, 1, "()")

    @property
    def active(self) -> bool:
        return self.noise != "none"

    def reserve(self, trainings: int | None, confirm_only: bool = False) -> int:
        """Trainings kept for the final race and the confirmation, of a search of about
        `trainings` (max_evaluations, or what the generations budget makes; None: unknown):
        final_share of them, at least the confirmation, at most what the final race can use
        (every finalist up to max_trainings) and half the search; the confirmation's alone
        where that would leave the final race fewer trainings than finalists. confirm_only (NSGA-II):
        the confirmation's alone, at most half the search."""
        if not self.active:
            return 0
        if confirm_only:
            return self.confirm if trainings is None else min(self.confirm, trainings // 2)
        if trainings is None:
            return self.confirm + self.final_size * 2
        most = self.confirm + self.final_size * self.max_trainings
        reserve = min(max(self.confirm, round(self.final_share * trainings)), max(trainings // 2, self.confirm), most)
        # a final race of fewer trainings than finalists decides nothing: those go to the search
        return reserve if reserve - self.confirm >= self.final_size else self.confirm

    def to_config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# Phases of a racing search: breeding generations, then the final race, then the
# confirmation trainings, then done.
SEARCH, FINAL, CONFIRM, DONE = "search", "final race", "confirmation", "done"


class Races:
    """The state of the races over a search's GenomeScores: the incumbent, each genome's
    race status, whether the noise was found negligible, and the phase. Every decision is
    a function of the scores and this state, which the checkpoint keeps (snapshot/load).
    deterministic: the objective declares that its seed changes nothing (no noise to measure).
    confirm_only: NSGA-II's: no races and no final race; the knee is confirmed (enter_confirm)."""

    def __init__(self, settings: Racing, deterministic: bool = False, confirm_only: bool = False) -> None:
        self.settings = settings
        self.deterministic = deterministic
        self.confirm_only = confirm_only
        self.incumbent: int | None = None
        self.status: dict[int, str] = {}
        self.negligible = not settings.active or deterministic
        self.phase = SEARCH
        self.winner: int | None = None
        self.stop_reason: str | None = None  # what ended the breeding generations
        self.finalists: list[int] = []
        self.pending_incumbent = False  # a race ended: the incumbent earns a training
        self.last_chosen: int | None = None  # the chosen genome after the last generation
        self.confirm_from: int | None = None  # the confirmation's first seed index
        # the budget the breeding generations ended under (Phases.budget_numbers): a finished
        # search breeds on only when resumed with a larger one, not to spend what the final
        # race and the confirmation left over
        self.ended_under: dict[str, Any] | None = None

    # -- during the search ---------------------------------------------------------------
    def racing(self) -> bool:
        return self.settings.active and not self.negligible

    def plan(self, scores: GenomeScores) -> list[tuple[int, int]]:
        """The race trainings of the next generation: (genome id, seed index), the incumbent's
        first (up to min_incumbent, or one more after a race ended), then each racing
        challenger's next step on the incumbent's seeds. A function of the state: the same
        after a resume."""
        if not self.racing() or self.incumbent is None:
            return []
        s, tasks = self.settings, []
        incumbent = self.incumbent
        have = scores.seed_indices(incumbent)
        wanted = max(s.min_incumbent, len(have) + self.pending_incumbent)
        tasks += [(incumbent, k) for k in _missing(have, min(wanted, s.max_trainings))]
        targets = scores.seed_indices(incumbent)
        for genome in sorted(g for g, state in self.status.items() if state == RACING):
            own = set(scores.seed_indices(genome))
            wanted = min(2 * len(own), len(targets), s.max_trainings)
            lacking = [k for k in targets if k not in own][:max(0, wanted - len(own))]
            tasks += [(genome, k) for k in lacking]
        return tasks

    def update(self, scores: GenomeScores) -> None:
        """After a generation's trainings: measure the noise, settle races, crown, admit."""
        if not self.settings.active or self.confirm_only:
            return
        self.pending_incumbent = False  # earned last generation, trained in this one
        if self.incumbent is None:
            ranked = scores.ranked(shrink=True)
            if not ranked or not math.isfinite(scores.mean(ranked[0])):
                return
            self.incumbent = ranked[0]
        sd, dof = scores.noise()
        if not self.negligible and noise_is_negligible(sd, dof, scores.spread(), self.settings.negligible_ratio):
            self.negligible = True
            self.status = {g: state for g, state in self.status.items() if state != RACING}
        if not self.racing():
            self.incumbent = scores.ranked()[0]  # one training decides: there is no noise
            return
        self.pending_incumbent = self._settle(scores, sd) > 0
        self._admit(scores, sd)

    def _settle(self, scores: GenomeScores, sd: float) -> int:
        """Drop, crown or end the challengers whose race step came in; how many ended."""
        ended = 0
        for genome in sorted(g for g, state in self.status.items() if state == RACING):
            incumbent = self.incumbent
            assert incumbent is not None
            theirs = scores.scores[incumbent]
            d = paired_differences(scores.scores[genome], theirs)
            if not np.isfinite(d).all() or clearly_worse(d, sd, self.settings.z):
                self.status[genome], ended = DROPPED, ended + 1
            elif len(d) >= min(len(theirs), self.settings.max_trainings):
                ended += 1
                if d.sum() > 0:
                    self.status[genome] = WON
                    self.incumbent = genome
                else:
                    self.status[genome] = LOST
        return ended

    def _admit(self, scores: GenomeScores, sd: float) -> None:
        """New challengers: genomes trained once, not yet raced, whose score is not clearly
        below the incumbent's mean (by z standard errors of the difference of one training
        and a mean of n_incumbent), the best first. Against the mean, not the incumbent's
        own first training: that one was chosen for being high."""
        incumbent = self.incumbent
        assert incumbent is not None
        mean, n = scores.mean(incumbent), scores.n(incumbent)
        margin = self.settings.z * sd * math.sqrt(1 + 1 / n) if math.isfinite(sd) else math.inf
        candidates = []
        for genome in range(len(scores)):
            if genome == incumbent or genome in self.status or scores.n(genome) != 1:
                continue
            score = next(iter(scores.scores[genome].values()))
            if math.isfinite(score) and score - mean + margin >= 0:
                candidates.append((-score, genome))
        for _, genome in sorted(candidates)[:self.settings.challengers]:
            self.status[genome] = RACING

    # -- the end -------------------------------------------------------------------------
    def enter_final(self, scores: GenomeScores, reason: str) -> None:
        """The breeding generations ended (by `reason`): the finalists are the best
        final_size genomes by mean, the incumbent always among them."""
        ranked = [g for g in scores.ranked(shrink=True) if math.isfinite(scores.mean(g))]
        finalists = ranked[:self.settings.final_size]
        if self.incumbent is not None and self.incumbent not in finalists and finalists:
            finalists[-1] = self.incumbent
        self.finalists, self.stop_reason, self.phase = finalists, reason, FINAL
        self.status = {g: state for g, state in self.status.items() if state != RACING}

    def enter_confirm(self, winner: int, scores: GenomeScores, reason: str) -> None:
        """The breeding generations ended (by `reason`) and no final race follows (NSGA-II):
        `winner`, the genome chosen on its trainings so far, is confirmed next."""
        self.winner, self.stop_reason, self.phase = winner, reason, CONFIRM
        self.confirm_from = scores.next_free_index()

    def final_plan(self, scores: GenomeScores, trainings: int) -> list[tuple[int, int]]:
        """The final race: the finalists train, in turns, on the lowest seed indices they
        lack (the incumbent's first, so that they are compared paired), `trainings` in all."""
        lacking = {g: _missing(scores.seed_indices(g), trainings + scores.n(g)) for g in self.finalists}
        tasks: list[tuple[int, int]] = []
        for turn in range(trainings):
            for genome in self.finalists:
                if len(tasks) < trainings:
                    tasks.append((genome, lacking[genome][turn]))
        return tasks

    def end_phase(self, scores: GenomeScores) -> None:
        """After the final race: the finalist with the best mean wins (the confirmation is
        next); after the confirmation: done."""
        if self.phase == FINAL:
            self.winner = scores.ranked(self.finalists, shrink=True)[0] if self.finalists else self.incumbent
            self.phase, self.confirm_from = CONFIRM, scores.next_free_index()
        elif self.phase == CONFIRM:
            self.phase = DONE

    def reopen(self) -> None:
        """A finished search resumed with a larger budget breeds on (its final race and
        confirmation trainings stay, as trainings of their genomes)."""
        self.phase, self.winner, self.stop_reason, self.finalists, self.confirm_from = SEARCH, None, None, [], None
        self.ended_under = None

    def fresh(self, genome: int, scores: GenomeScores) -> list[int]:
        """The seed indices of `genome`'s confirmation trainings: those that took no part in
        choosing it (none before the confirmation)."""
        if self.phase not in (CONFIRM, DONE) or genome != self.winner or self.confirm_from is None:
            return []
        return [k for k in scores.seed_indices(genome) if k >= self.confirm_from]

    def skip_phase(self, scores: GenomeScores) -> str | None:
        """The budget left nothing for this phase: go on to the next; the stop reason once
        done (None while a phase is left)."""
        self.end_phase(scores)
        return self.stop_reason if self.phase == DONE else None

    def choose(self, scores: GenomeScores) -> int | None:
        """The genome the search chooses now: the incumbent while racing, the best mean of
        the finalists after the final race, the best single training without noise."""
        if not scores.ranked():
            return None
        if self.phase in (CONFIRM, DONE) and self.winner is not None:
            return self.winner
        if not self.racing():
            return scores.ranked()[0]
        return self.incumbent if self.incumbent is not None else scores.ranked()[0]

    def confirm_plan(self, scores: GenomeScores, trainings: int) -> list[tuple[int, int]]:
        """The winner's confirmation trainings on seeds no genome was trained on."""
        winner = self.winner
        if winner is None:
            return []
        first = scores.next_free_index() if self.confirm_from is None else self.confirm_from
        return [(winner, first + k) for k in range(trainings)]

    # -- the checkpoint ------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"incumbent": self.incumbent, "status": [[g, s] for g, s in sorted(self.status.items())],
                "negligible": self.negligible, "phase": self.phase, "winner": self.winner,
                "pending_incumbent": self.pending_incumbent, "finalists": list(self.finalists),
                "stop_reason": self.stop_reason, "last_chosen": self.last_chosen, "confirm_from": self.confirm_from,
                "ended_under": self.ended_under}

    def load(self, snapshot: Mapping[str, Any]) -> None:
        self.incumbent = snapshot["incumbent"]
        self.status = {int(g): s for g, s in snapshot["status"]}
        self.negligible = snapshot["negligible"]
        self.phase = snapshot["phase"]
        self.winner = snapshot["winner"]
        self.pending_incumbent = snapshot["pending_incumbent"]
        self.finalists = list(snapshot["finalists"])
        self.stop_reason = snapshot["stop_reason"]
        self.last_chosen = snapshot["last_chosen"]
        self.confirm_from = snapshot["confirm_from"]
        self.ended_under = snapshot.get("ended_under")  # absent from checkpoints written before it


def _missing(have: list[int], n: int) -> list[int]:
    """The lowest seed indices not in `have`, enough to bring it to n."""
    taken, k = set(have), 0
    out: list[int] = []
    while len(taken) + len(out) < n:
        if k not in taken:
            out.append(k)
        k += 1
    return out


def check_racing(selection: Any) -> Racing:
    """GeneticSearch's `racing` checked against the search (None: the default, noise "auto":
    racing on one fitness; NSGA-II's knee confirmed). Raises TypeError starting with "racing"."""
    if selection is None:
        return Racing()
    if not isinstance(selection, Racing):
        raise TypeError(f"racing: expected an hpsearch.strategies.Racing, got {type(selection).__name__}")
    return selection
