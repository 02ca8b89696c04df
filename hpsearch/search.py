"""GeneticSearch: the evolution loop, in DEAP's style.

Each generation: the breeding strategy proposes genomes, the loop plans which of them to
train within the budgets (the rest come from the evaluation cache), trains the new ones as
one batch, records a trials row per genome, tells the GA, saves. The questions on which
searches differ are answered by strategy objects (hpsearch.strategies), so the loop has no
modes:

    breeding  which genomes to train: ModelAssisted (the default), GeneticBreeding (the
              plain GA), RandomSearch, CMAES, or any registered Breeding
    training  how new genomes become trainings: WholeTraining (one full training each) or
              fidelity.SuccessiveHalving (rungs of growing budgets)
    ranking   what counts as the best: BestFitness (the GA's hall of fame) or
              pareto.ParetoFront (NSGA-II: the knee of the Pareto front)

One master seed decides everything: the GA's Generator is spawned from it, and each trial's
training seed is derived from it and the trial's parameters (trial.trial_seed). After every
generation the checkpoint journal gets what changed (run.Run), so a search killed at any
moment resumes from its last complete generation and ends as an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from . import checks, results
from .budget import Spending
from .callbacks import CallbackList
from .diversity import diversity_columns
from .evaluate import Evaluator
from .evolve import GeneticAlgorithm, population_statistics
from .fidelity import Fidelity, SuccessiveHalving
from .genes import LayersGene
from .mlp import MLPObjective
from .objective import check_space, identity
from .outcome import Outcome, Trainer
from .pareto import ParetoFront
from .results import gene_cells, plain_genome
from .run import Run, SearchError
from .settings import DIRECTIONS, GA, Budget, Parallel, gather
from .space import Space
from .strategies import BestFitness, Breeding, History, WholeTraining, check_breeding, default_breeding
from .trial import trial_seed

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["GeneticSearch", "SearchError"]


class GeneticSearch(Run):
    """Evolve hyperparameters of `objective` over `space`; run() returns a SearchResult.

    Args:
        space: the genes searched (hpsearch.Space).
        objective: a callable (params: dict, seed: int) -> metrics dict with a "fitness"
            (higher is better; optional "status", "reason", other metrics and a "curve" of
            per-epoch lists), or a plain number, which is the fitness; or data splits
            (hpsearch.datasets.Splits) for the built-in MLP objective (hpsearch.objective
            documents the contract).
        ga: hpsearch.GA (or a dict of its fields): how the genetic algorithm breeds, and its
            warm start. ga.objectives with two or more names makes it NSGA-II: the best is
            then the knee of the Pareto front of all trials, and out_dir also gets pareto.csv
            and fronts.csv.
        budget: hpsearch.Budget (or a dict of its fields): what ends the search.
        parallel: hpsearch.Parallel (or a dict of its fields): where and how trials run.
        fidelity: hpsearch.Fidelity (or a dict of its fields) for multi-fidelity evaluation:
            successive-halving rungs up to each genome's `epochs` gene and a per-epoch
            pruner. Every training is then a row of the trials table with its rung; status
            "ok" means trained for the full `epochs`, "promoted" went on to the next rung,
            "pruned" was stopped by the pruner or not promoted.
        breeding: which genomes to train, an hpsearch.strategies.Breeding: ModelAssisted()
            (the default for one fitness), GeneticBreeding() (the plain GA; NSGA-II's
            default), RandomSearch(), CMAES(), or one of your own (docs/EXTENDING.md).
        seed: the master seed; every random choice and every trial's training seed derive
            from it, so a search is reproduced exactly whatever n_jobs is.
        out_dir: where results, plots and the checkpoint live; a checkpoint found there with
            the same settings is resumed (budgets and parallel settings may differ, nothing
            else). Its config.toml holds the search's own settings, or the `config`
            attribute where one is set before run() (the command line sets its TOML config).
        quiet: no progress output.
        direction: "maximize" (the default) or "minimize": the objective's fitness (or
            number) is then a loss. The search maximises fitness = -value: trials.csv's
            `fitness` is -value and its `value` column the objective's own number; best.json
            adds `value` and `direction`; generations.csv, budget.target_fitness and
            SearchResult.best_score are on the fitness scale (-value); a [fidelity] pruner
            still reads the curves' val_metric as higher-is-better. Not for the MLP
            objective (its metrics are higher-is-better) nor NSGA-II (its objectives have
            directions of their own).
        callbacks: called after each trial and generation (hpsearch.callbacks); not a
            setting, so a resume may use others.
        **settings: any field of GA, Budget or Parallel on its own, as in
            ``GeneticSearch(space, objective, population=8, max_evaluations=60)``.
    """

    def __init__(self, space: Space, objective: Any, *, ga: GA | dict | None = None,
                 budget: Budget | dict | None = None, parallel: Parallel | dict | None = None,
                 fidelity: Fidelity | dict | None = None, breeding: Breeding | None = None, seed: int = 0,
                 out_dir: Any = None, quiet: bool = False, direction: str = "maximize",
                 callbacks: Iterable[Any] | None = (), **settings: Any) -> None:
        chosen = gather({"ga": (GA, ga), "budget": (Budget, budget), "parallel": (Parallel, parallel)},
                        settings)
        self.direction = checks.choice("direction", direction, DIRECTIONS)
        if not callable(objective):
            objective = MLPObjective(objective, task=getattr(objective, "task", "classification"))
        check_space(objective, space)
        super().__init__(objective, seed=seed, out_dir=out_dir, quiet=quiet)
        self.space = space
        self.budget, self.parallel = chosen["budget"], chosen["parallel"]
        self.ga_requested = chosen["ga"]  # as given: None (automatic) follows the budget, also on resume
        self.ga_resolved = self.ga_requested.resolved(self.budget)
        if self.direction == "minimize":
            if self.capabilities.higher_is_better_only:
                raise ValueError(f"direction: the objective's metric {objective.metric!r} is higher-is-better; "
                                 f"'minimize' is for objectives that return a loss")
            if self.ga_resolved.objectives:
                raise ValueError("direction: 'minimize' is for the single fitness; NSGA-II's objectives "
                                 "have directions of their own")
        self.fidelity = Fidelity(**fidelity) if isinstance(fidelity, dict) else fidelity
        if self.fidelity is not None and not self.fidelity.active:
            self.fidelity = None
        self.training = (SuccessiveHalving(self.fidelity, space, self.capabilities) if self.fidelity
                         else WholeTraining())
        objectives = self.ga_resolved.objectives
        self.breeding = check_breeding(default_breeding(objectives) if breeding is None else breeding,
                                       objectives, space)
        self.callbacks = CallbackList(callbacks)
        self._new_ga()  # checks the warm start now, not at run()

    def _new_ga(self):
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        return GeneticAlgorithm(self.space, rng, self.ga_resolved, warm_start=self.ga_resolved.warm_start,
                                trial_row=lambda trial_id: self.trials.rows[trial_id])  # ties: evolve.rank_key

    def effective_config(self) -> dict[str, Any]:
        """The config.toml written into a new results directory (results.write_config leaves
        unset values out: TOML has no null)."""
        if self.config is not None:
            return self.config
        search = {k: v for k, v in dataclasses.asdict(self.ga_requested).items() if v is not None and v != ()}
        search["warm_start"] = [plain_genome(g) for g in self.ga_requested.warm_start]
        if "objectives" in search:
            search["objectives"] = list(search["objectives"])
        objective = {**self._objective_config(),
                     **({"direction": self.direction} if self.direction == "minimize" else {})}
        return {"seed": self.seed, "objective": objective, "search": search, "breeding": self.breeding.to_config(),
                "budget": dataclasses.asdict(self.budget), "parallel": dataclasses.asdict(self.parallel),
                **({"fidelity": self.fidelity.to_config()} if self.fidelity else {}),
                "space": self.space.to_config()}

    def resume_settings(self) -> dict[str, Any]:
        """Everything that decides which trials the search makes: resume requires equality
        (the number of generations is a budget and may change)."""
        ga = {k: v for k, v in dataclasses.asdict(self.ga_requested).items() if k not in ("generations", "warm_start")}
        return {"space": self.space.to_config(), "ga": ga, "breeding": self.breeding.to_config(), "seed": self.seed,
                "warm_start": [plain_genome(g) for g in self.ga_requested.warm_start],
                "timeout": self.parallel.timeout, "objective": identity(self.objective),
                **({"fidelity": self.fidelity.to_config()} if self.fidelity else {}),
                **({"direction": self.direction} if self.direction == "minimize" else {})}

    # -- state --------------------------------------------------------------------------
    def _fresh_state(self):
        self.ga = self._new_ga()
        self.spending = Spending(self.budget, self.ga_resolved.generations)
        self._new_tables(self.space.columns())
        # Every genome trained, in order, as (genome key, outcome): the checkpoint journals it,
        # breeding strategies learn from it; outcome_by_key looks a genome up in it.
        self.trained: list[tuple[tuple, dict[str, Any]]] = []
        self.outcome_by_key: dict[tuple, dict[str, Any]] = {}
        objectives = self.ga_resolved.objectives
        fronts = None if self.out_dir is None else self.out_dir / results.FRONTS
        self.ranking = ParetoFront(objectives, fronts) if objectives else BestFitness(self.direction)

    def _snapshot(self):
        return {"ga": self.ga.state(), **self.ranking.snapshot()}

    def _load_snapshot(self, snapshot, logs):
        self.callbacks.resumed(self.final)
        self.ga.load_state(snapshot["ga"])
        self.trained = logs.get("cache", [])
        self.outcome_by_key = dict(self.trained)
        self.ranking.load(snapshot, logs)

    def _logs(self):
        return {"cache": self.trained, **self.ranking.logs()}

    def _appended_tables(self):
        return [*super()._appended_tables(), *self.ranking.appended_tables()]

    def _rewritten_tables(self):
        return self.ranking.rewritten_tables(self.trials.rows, self._gene_cells)

    def result_tables(self) -> dict[str, pd.DataFrame]:
        # Layer sizes as tuples, as in the trials table and as load() reads pareto.csv back.
        layers = [gene.name for gene in self.space if isinstance(gene, LayersGene)]
        return {name: results.typed_trials(frame, layers)
                for name, frame in self.ranking.result_tables(self.trials.rows, self._gene_cells).items()}

    def _gene_cells(self, genome):
        return gene_cells(self.space, genome)

    # -- the loop -----------------------------------------------------------------------
    def stop_reason(self) -> str | None:
        return self.callbacks.stop_reason or super().stop_reason()

    @contextlib.contextmanager
    def _session(self):
        with Evaluator(self.objective, **dataclasses.asdict(self.parallel)) as evaluator:
            yield Trainer(evaluator, self.direction)

    def _step(self, trainer):
        generation = self.spending.generation + 1
        self._generation(trainer, self._breed(generation), generation)

    def _breed(self, generation):
        """The individuals of `generation`: the breeding's initial sample, then its proposals."""
        ga, rng = self.ga, self.ga.rng
        if generation == 0:
            return ga.initial(self.breeding.initial(ga.n_initial, self.space, rng))
        # A genome's last trials row is its only one that is neither a cached repeat nor a
        # rung it was promoted from; those rows are in the order it was trained.
        trial_ids = [row["trial_id"] for row in self.trials.rows
                     if not row["cached"] and row["status"] != "promoted"]
        history = History(self.space, self.trained, trial_ids, parents=ga)
        return ga.individuals(self.breeding.propose(ga.n_offspring, history, rng))

    def _plan(self, individuals):
        """Which individuals to train, which to take from the cache, which to drop: those past
        max_evaluations, and from the first whose (first) training would take the epochs
        trained past max_training_epochs on (the search then ends with this generation)."""
        plan, tasks, first_in_batch = [], [], {}
        trainings_left, epochs_left = self.spending.left()
        for individual in individuals:
            if individual.fitness.valid:
                continue
            key = self.space.key(individual)
            if key in self.outcome_by_key or key in first_in_batch:
                plan.append((individual, key, None))
            elif len(tasks) < trainings_left and not self.spending.epochs_spent:
                cost = self.training.first_cost(individual)
                if cost > epochs_left:
                    self.spending.epochs_spent = True
                    continue
                epochs_left -= cost
                first_in_batch[key] = len(tasks)
                tasks.append((dict(individual), trial_seed(self.seed, key)))
                plan.append((individual, key, first_in_batch[key]))
        return plan, tasks

    def _generation(self, trainer, individuals, generation, started=None):
        gen_start = time.perf_counter() if started is None else started  # ask/tell: when asked
        first_row = len(self.trials.rows)
        plan, tasks = self._plan(individuals)
        progress = tqdm(total=len(tasks), desc=f"generation {generation}", leave=False,
                        disable=True if self.quiet else None, unit="trial")
        try:
            outcomes = self.training.train(trainer, tasks, progress, self.trials.rows,
                                           self.curves_by_trial, self.spending)
        finally:
            progress.close()

        evaluated, fitnesses, trial_ids = [], [], []
        new_failures = trainings = epochs = 0
        for individual, key, task_index in plan:
            cached = task_index is None
            seed = tasks[task_index][1] if not cached else trial_seed(self.seed, key)
            if cached:
                outcome = Outcome.from_record(self.outcome_by_key[key])
            else:
                outcome = outcomes[task_index]
                for earlier in outcome.earlier:
                    self._add_row(generation, individual, earlier, seed)
                    trainings, epochs = trainings + 1, epochs + earlier.epochs_trained
                outcome = self.ranking.check(outcome)
                self.outcome_by_key[key] = outcome.record()
                self.trained.append((key, self.outcome_by_key[key]))
                new_failures += not outcome.status.scored
                trainings, epochs = trainings + 1, epochs + outcome.epochs_trained
            trial_ids.append(self._add_row(generation, individual, outcome, seed, cached))
            evaluated.append(individual)
            fitnesses.append(self.ranking.value(outcome))
        rows = self.trials.rows
        eligible, screening = self.training.selection([rows[t] for t in trial_ids])
        self.ga.tell(evaluated, fitnesses, trial_ids, eligible=eligible, screening=screening)
        population = self.ga.advance([i for i in individuals if i.fitness.valid])

        best_fitness, improved = self.ranking.update(generation, evaluated, rows, self.ga,
                                                     self.spending.best_fitness)
        self.spending.end_generation(generation, trainings, epochs, best_fitness, improved,
                                     elapsed=time.perf_counter() - self._started)
        # The statistics are of the validation score (NSGA-II's fitnesses are tuples).
        stats = population_statistics([rows[i.trial_id]["fitness"] for i in population])
        seconds = time.perf_counter() - gen_start
        spending = self.spending
        self.generations.add([{
            "generation": generation, **stats, "best_so_far": spending.best_fitness,
            "diversity": self.space.diversity(population), "evaluations": trainings,
            "cached": len(plan) - len(tasks), "failures": new_failures,
            "evaluations_total": spending.evaluations, "epochs": epochs,
            "epochs_total": spending.epochs_trained, "seconds": seconds, "elapsed": spending.elapsed,
            **diversity_columns(self.space, evaluated),  # per gene, of the genomes this generation trained
        }])
        rate = trainings / seconds if seconds > 0 else math.inf
        self.log_progress(f"best {spending.best_fitness:.4f}  mean {stats['mean']:.4f}  trained {trainings} "
                          f"({rate:.2f}/s)  cached {len(plan) - len(tasks)}  failed {new_failures}")
        self._save()
        self.callbacks.after_generation(self, rows[first_row:], self.generations.rows[-1])
        self._check_not_all_failed(rows, "trials")

    def _add_row(self, generation, individual, outcome: Outcome, seed, cached=False):
        """Append a trials-table row (and the learning curve) for one outcome; its trial_id."""
        trial_id = len(self.trials.rows)
        if not cached:
            self.add_curve(trial_id, outcome.curve)
        metrics = outcome.cells()
        if "epochs_run" in metrics:
            metrics.setdefault("epochs_trained", metrics["epochs_run"])
        if individual.predicted is not None and not cached and (outcome.rung or 0) == 0:
            metrics["predicted"] = individual.predicted  # the score the model expected
        self.trials.add([{
            "trial_id": trial_id, "generation": generation, "status": outcome.status.value,
            "fitness": outcome.fitness, "cached": cached, **self._gene_cells(individual),
            **metrics, "seed": seed, "seconds": 0.0 if cached else outcome.seconds,
            "parents": ";".join(str(p) for p in individual.parents if p is not None),
            "operator": individual.operator, "reason": outcome.reason,
            "worker": "" if cached else outcome.worker,
        }])
        return trial_id

    # -- the result ---------------------------------------------------------------------
    def _best_record(self):
        return self.ranking.best_record(self.trials.rows, self.ga)

    def _test_scores(self, record):
        """The best trial's test scores (objectives with a test_score and a test split); the
        built-in MLP objective also saves the model it retrains for them, as out_dir's
        best_model.npz, named in best.json's "model"."""
        objective = self.objective
        saves = self.capabilities.saves_model and self.out_dir is not None
        if not (self.capabilities.test_split or saves):
            return {}
        if not saves:
            test = objective.test_score(record["params"], record["seed"])
            return {k: v for k, v in test.items() if k != "status"}
        test = {}

        def save(path):
            test.update(objective.test_score(record["params"], record["seed"], save=path))

        results.save_atomic(self.out_dir / results.BEST_MODEL, save)
        return {**{k: v for k, v in test.items() if k != "status"}, "model": results.BEST_MODEL}
