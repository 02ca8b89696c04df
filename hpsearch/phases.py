"""The phases of a racing search, and what each may spend.

A search that races genomes on shared seeds (strategies.racing) runs in phases: breeding
generations, then the final race, then the confirmation trainings. The breeding generations
get the budget less the reserve of the last two (Racing.final_share of max_evaluations,
max_training_epochs and time_limit; of the last two, at least `confirm` times the longest
training so far, so that the confirmation fits); the last two spend the reserve, the final
race no more than leaves the confirmation its share. GeneticSearch takes
these methods as a mixin: they read its races, scores, budget and spending.

NSGA-II (Races.confirm_only) has no final race: its breeding generations end, the knee of
the Pareto front trains `confirm` more times on fresh seeds, and the reserve is those
trainings alone: `confirm` of max_evaluations, `confirm` times the longest training so far
(in epochs and in seconds) of max_training_epochs and time_limit.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from .chosen import chosen_record, knee_record
from .pareto import objective_columns
from .strategies.racing import CONFIRM, DONE, FINAL, SEARCH

if TYPE_CHECKING:
    import pandas as pd


class Plan(NamedTuple):
    """A generation's trainings: `tasks` [(params, seed)], the new genomes' first (n_new of
    them), then the races'. new: (individual, key, its task index or None: from the cache);
    races: (key, seed index) of each race training, in task order after the new ones."""

    new: list[tuple[Any, tuple, int | None]]
    races: list[tuple[tuple, int]]
    tasks: list[tuple[dict[str, Any], int]]
    n_new: int


class Lineage(NamedTuple):
    """What a trials row says of a training that is not a new genome's (a race's)."""

    genome: dict[str, Any]
    parents: tuple[int, ...]
    operator: str
    predicted: None = None


class Phases:
    """GeneticSearch's phases (see the module docstring)."""

    races: Any
    scores: Any
    racing: Any
    budget: Any
    spending: Any
    callbacks: Any
    space: Any
    _gene_cells: Any
    ga: Any
    ranking: Any
    trials: Any
    direction: str

    def _main_budget(self):
        """The budget of the breeding generations: the full one, less the final race's and
        the confirmation's reserve while racing is on (NSGA-II: the confirmation's alone)."""
        budget, races = self.budget, self.races
        if not (races.phase == SEARCH and races.racing()):
            return budget
        evaluations = None if budget.max_evaluations is None else (
            budget.max_evaluations - self.racing.reserve(budget.max_evaluations, races.confirm_only))
        share = 0.0 if races.confirm_only else self.racing.final_share

        def kept(limit: float, column: str) -> float:  # the share, and at least what the confirmation needs
            return max(limit * share, self.racing.confirm * self._longest(column))

        epochs = None if budget.max_training_epochs is None else int(
            budget.max_training_epochs - kept(budget.max_training_epochs, "epochs_trained"))
        seconds = None if budget.time_limit is None else budget.time_limit - kept(budget.time_limit, "seconds")
        return dataclasses.replace(budget, max_evaluations=evaluations, max_training_epochs=epochs,
                                   time_limit=seconds)

    def _longest(self, column: str, genomes: list[int] | None = None) -> float:
        """The most any training so far (of `genomes`, where given) took, in trials.csv's
        `column` (0 before any)."""
        rows = (self.trials.rows if genomes is None else
                [self.trials.rows[t] for g in genomes for t in self.scores.trial_ids[g].values()])
        values = [row.get(column) for row in rows if not row["cached"]]
        return max((v for v in values if isinstance(v, (int, float)) and math.isfinite(v)), default=0)

    def stop_reason(self) -> str | None:
        races = self.races
        self.spending.budget = self._main_budget()
        reason = self.callbacks.stop_reason or super().stop_reason()  # type: ignore[misc]
        if races.phase == DONE and reason is None and races.ended_under != self.budget_numbers():
            races.reopen()  # resumed with a larger budget: breed on
            self.spending.budget = self._main_budget()
            reason = self.callbacks.stop_reason or super().stop_reason()  # type: ignore[misc]
        if races.phase == SEARCH and reason is not None and races.racing() and self.scores.ranked():
            races.ended_under = self.budget_numbers()
            if not races.confirm_only:
                races.enter_final(self.scores, self._full_budget_reason(reason))  # the reserve is spent next
            elif (knee := self._knee_genome()) is not None:
                races.enter_confirm(knee, self.scores, self._full_budget_reason(reason))
            self.spending.budget = self.budget
        if races.phase in (FINAL, CONFIRM):
            return None if self._phase_trainings() > 0 else races.skip_phase(self.scores)
        return races.stop_reason if races.phase == DONE and races.stop_reason else reason

    def budget_numbers(self) -> dict[str, Any]:
        """The full budget and the generations limit: a finished search resumed with others
        (a larger budget) breeds on."""
        return {**dataclasses.asdict(self.budget), "generations": self.spending.generations}

    def _full_budget_reason(self, reason: str) -> str:
        """A stop reason of the breeding generations' budget in the terms of the whole one:
        "max_evaluations (60: 51, then 9 kept for the final race and the confirmation)"."""
        main, full = self.spending.budget, self.budget
        for name in ("max_evaluations", "max_training_epochs", "time_limit"):
            if reason.startswith(name) and getattr(main, name) != getattr(full, name):
                unit = " s" if name == "time_limit" else ""
                kept = "the confirmation" if self.races.confirm_only else "the final race and the confirmation"
                return (f"{name} ({getattr(full, name):g}{unit}: {getattr(main, name):g}{unit} for the search, "
                        f"the rest kept for {kept})")
        return reason

    def _planned_trainings(self) -> int | None:
        """About how many trainings the search makes: max_evaluations, else what the
        generations budget makes (generation 0, then the offspring of each generation)."""
        budget = self.budget
        if budget.max_evaluations is not None:
            return int(budget.max_evaluations)
        generations = self.spending.generations
        if generations is None or budget.time_limit is not None or budget.max_training_epochs is not None:
            return None  # another budget may end it long before the generations do
        return int(self.ga.initial_size + generations * self.ga.n_offspring)

    def _phase_trainings(self) -> int:
        """Trainings the final race or the confirmation gets: its share of the reserve, within
        what the budget leaves."""
        left, epochs_left = self.spending.left()
        s = self.racing
        if self.races.phase == FINAL:
            wanted = min(s.reserve(self._planned_trainings()) - s.confirm, left - s.confirm)
            # the confirmation's epochs and seconds stay for it: each of its trainings may take
            # as long as the longest finalist training
            limit = self.budget.time_limit
            seconds_left = math.inf if limit is None else limit - self.spending.elapsed
            for remaining, column in ((epochs_left, "epochs_trained"), (seconds_left, "seconds")):
                longest = self._longest(column, self.races.finalists)
                if math.isfinite(remaining) and longest > 0:
                    wanted = min(wanted, math.floor(remaining / longest) - s.confirm)
            return int(wanted) if wanted >= s.final_size else 0  # fewer than one per finalist decide nothing
        return int(max(0, min(s.confirm, left)))

    def _race_plan(self):
        races, scores = self.races, self.scores
        if races.phase == FINAL:
            return races.final_plan(scores, self._phase_trainings())
        if races.phase == CONFIRM:
            return races.confirm_plan(scores, self._phase_trainings())
        # at most half a generation's trainings (the rest breed new genomes): a race step cut
        # off here is planned again in the next generation
        return races.plan(scores)[:max(1, self.ga.n_offspring // 2)]

    def genomes_frame(self) -> pd.DataFrame:
        """The genome-level view of trials.csv: one row per genome with the mean, n, s.d. and
        seed indices of its trainings and its race status (genomes.csv)."""
        import pandas as pd

        multi = self.ga.multi_objective
        chosen = self._knee_genome() if multi else self.races.choose(self.scores)
        rows = self.scores.rows(self.space.names, self._gene_cells, self.races.status, chosen)
        columns = ["genome_id", *self.space.columns(), "n", "mean", "sd", "seed_indices", "first_trial", "race",
                   "incumbent"]
        if multi:  # each objective's mean and s.d. over the genome's trainings
            objectives = self.ranking.objectives
            for row, trials in zip(rows, self.scores.trial_ids):
                row.update(objective_columns([self.trials.rows[t] for t in trials.values()], objectives))
            columns += [f"{name}_{stat}" for name in objectives for stat in ("mean", "sd")]
        return pd.DataFrame(rows, columns=columns)

    def _knee_genome(self) -> int | None:
        """The genome of the knee of the Pareto front (NSGA-II's choice; None: no front)."""
        knee = self.ranking.knee(self.trials.rows)
        return None if knee is None else self.scores.ids.get(self.space.key(knee[0]["params"]))

    def _racing_one_fitness(self) -> bool:
        """Whether the chosen genome is the best mean of one fitness (racing on, not NSGA-II)."""
        return self.racing.active and not self.races.confirm_only

    def _best_record(self):
        """best.json's record of the chosen genome (chosen.py): the best single training
        without noise, the knee of the front with its confirmation for NSGA-II."""
        if not self.racing.active:
            record = self.ranking.best_record(self.trials.rows, self.ga)
            if record and not self.ga.multi_objective:
                record["summary"] = (f"score {record['fitness']:.4f}, its one training, the best of them all "
                                     f"(noise = 'none': the best of many noisy trainings is optimistic)")
            return record
        if self.races.confirm_only:
            front = self.ranking.best_record(self.trials.rows, self.ga)
            return knee_record(front, self._knee_genome(), self.scores, self.races, self.racing, self.trials.rows)
        return chosen_record(self.scores, self.races, self.racing, self.trials.rows, self.space.names,
                             self.direction)

    def _fitness_by_genome(self):
        return {key: self.scores.mean(genome) for genome, key in enumerate(self.scores.keys)}

    def _chosen_fitness(self):
        """(the chosen genome's mean, whether the choice changed this generation)."""
        genome = self.races.choose(self.scores)
        if genome is None:
            return -math.inf, False
        changed = genome != self.races.last_chosen
        self.races.last_chosen = genome
        return self.scores.mean(genome), changed

