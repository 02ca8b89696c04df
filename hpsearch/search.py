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

One master seed decides everything: the GA's Generator is spawned from it, and the k-th
training of every genome uses the k-th shared seed derived from it (noise.shared_seed), which
racing (strategies/racing.py) compares genomes on. After every
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
from .chosen import test_scores
from .diversity import diversity_columns
from .evaluate import Evaluator
from .evolve import GeneticAlgorithm, population_statistics
from .fidelity import Fidelity, SuccessiveHalving
from .genes import LayersGene
from .mlp import MLPObjective
from .noise import shared_seed
from .objective import check_space, identity
from .outcome import Outcome, Trainer, with_cost
from .pareto import ParetoFront
from .phases import Lineage, Phases, Plan
from .results import gene_cells, plain_genome
from .run import Run, SearchError
from .scores import GenomeScores
from .settings import DIRECTIONS, GA, Budget, Parallel, gather
from .space import Space
from .status import Status
from .strategies import BestFitness, Breeding, History, WholeTraining, check_breeding, default_breeding
from .strategies.racing import CONFIRM, FINAL, SEARCH, Races, Racing, check_racing

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["GeneticSearch", "SearchError"]


class GeneticSearch(Phases, Run):
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
                 fidelity: Fidelity | dict | None = None, breeding: Breeding | None = None,
                 racing: Racing | None = None, seed: int = 0,
                 out_dir: Any = None, quiet: bool = False, direction: str = "maximize",
                 callbacks: Iterable[Any] | None = (), **settings: Any) -> None:
        if isinstance(settings.get("selection"), Racing):
            raise TypeError("selection: is the GA's population selection ('generational'); a Racing goes in racing=")
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
        self.racing = check_racing(racing)
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
                "racing": self.racing.to_config(), "budget": dataclasses.asdict(self.budget),
                "parallel": dataclasses.asdict(self.parallel),
                **({"fidelity": self.fidelity.to_config()} if self.fidelity else {}),
                "space": self.space.to_config()}

    def resume_settings(self) -> dict[str, Any]:
        """Everything that decides which trials the search makes: resume requires equality
        (the number of generations is a budget and may change)."""
        ga = {k: v for k, v in dataclasses.asdict(self.ga_requested).items() if k not in ("generations", "warm_start")}
        return {"space": self.space.to_config(), "ga": ga, "breeding": self.breeding.to_config(),
                "racing": self.racing.to_config(), "seed": self.seed,
                "warm_start": [plain_genome(g) for g in self.ga_requested.warm_start],
                "timeout": self.parallel.timeout, "objective": identity(self.objective),
                **({"fidelity": self.fidelity.to_config()} if self.fidelity else {}),
                **({"direction": self.direction} if self.direction == "minimize" else {})}

    # -- state --------------------------------------------------------------------------
    def _fresh_state(self):
        self.ga = self._new_ga()
        self.spending = Spending(self.budget, self.ga_resolved.generations)
        self._new_tables(self.space.columns())
        # Every training, in order, as (genome key, outcome record, seed index, trial id): the
        # checkpoint journals it; scores holds the statistics over a genome's trainings, and
        # outcome_by_key each genome's first training (what a repeated proposal is answered by).
        self.trained: list[tuple[tuple, dict[str, Any], int, int]] = []
        self.outcome_by_key: dict[tuple, dict[str, Any]] = {}
        self.scores = GenomeScores()
        objectives = self.ga_resolved.objectives
        self.races = Races(self.racing, self.capabilities.deterministic, confirm_only=bool(objectives))
        fronts = None if self.out_dir is None else self.out_dir / results.FRONTS
        self.ranking = ParetoFront(objectives, fronts) if objectives else BestFitness(self.direction)

    def _snapshot(self):
        return {"ga": self.ga.state(), "races": self.races.snapshot(), **self.ranking.snapshot()}

    def _load_snapshot(self, snapshot, logs):
        self.callbacks.resumed(self.final)
        self.ga.load_state(snapshot["ga"])
        self.trained = logs.get("trainings", [])
        for key, record, seed_index, trial_id in self.trained:
            self._remember(key, record, seed_index, trial_id)
        self.races.load(snapshot["races"])
        self.ranking.load(snapshot, logs)

    def _remember(self, key, record, seed_index, trial_id):
        """Take a training into the cache and the genome statistics (a rung a genome went on
        from, or was stopped at, is not a training of the whole genome)."""
        if seed_index == 0:
            self.outcome_by_key[key] = record
        if record["status"] not in (Status.PROMOTED, Status.PRUNED):
            self.scores.add(key, seed_index, record["fitness"], trial_id)

    def _logs(self):
        return {"trainings": self.trained, **self.ranking.logs()}

    def _appended_tables(self):
        return [*super()._appended_tables(), *self.ranking.appended_tables()]

    def _rewritten_tables(self):
        tables = self.ranking.rewritten_tables(self.trials.rows, self._gene_cells)
        return {**tables, results.GENOMES: self.genomes_frame()}

    def result_tables(self) -> dict[str, pd.DataFrame]:
        # Layer sizes as tuples, as in the trials table and as load() reads pareto.csv back.
        layers = [gene.name for gene in self.space if isinstance(gene, LayersGene)]
        tables = {name: results.typed_trials(frame, layers)
                  for name, frame in self.ranking.result_tables(self.trials.rows, self._gene_cells).items()}
        return {**tables, "genomes": results.typed_trials(self.genomes_frame(), layers)}

    def _gene_cells(self, genome):
        return gene_cells(self.space, genome)

    # -- the loop -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(self):
        with Evaluator(self.objective, **dataclasses.asdict(self.parallel)) as evaluator:
            self._trainer = Trainer(evaluator, self.direction)
            yield self._trainer

    def _step(self, trainer):
        generation = self.spending.generation + 1
        self._generation(trainer, self._breed(generation), generation)

    def _breed(self, generation):
        """The individuals of `generation`: the breeding's initial sample, then its proposals
        (none in the final race and the confirmation)."""
        ga, rng = self.ga, self.ga.rng
        if generation == 0:
            return ga.initial(self.breeding.initial(ga.n_initial, self.space, rng))
        if self.races.phase in (FINAL, CONFIRM):
            return []
        # A generation is one batch of population - elitism trainings, its races included, so
        # that n_jobs parallel workers train it in one round, not a full one and a nearly empty one.
        n = ga.n_offspring - len(self._race_plan())
        if n <= 0:
            return []
        # Each genome once, in the order first trained, its fitness the mean of its trainings.
        genomes, trial_ids = [], []
        for key, record, seed_index, trial_id in self.trained:
            if seed_index == 0:
                genome = self.scores.ids.get(key)
                stats = {} if genome is None else {"fitness": self.scores.mean(genome), "n": self.scores.n(genome)}
                genomes.append((key, {**record, **stats}))
                trial_ids.append(trial_id)
        history = History(self.space, genomes, trial_ids, parents=ga)
        return ga.individuals(self.breeding.propose(n, history, rng))

    def _plan(self, individuals):
        """The generation's trainings: the races' (they were promised), then the new genomes;
        the rest of the individuals come from the cache or are dropped: those past
        max_evaluations, and from the first whose (first) training would take the epochs
        trained past max_training_epochs on (the search then ends with this generation)."""
        self.stop_reason()  # the budget of this phase
        new, tasks, first_in_batch = [], [], {}
        trainings_left, epochs_left = self.spending.left()
        races = []
        for genome, seed_index in self._race_plan():
            key = self.scores.keys[genome]
            params = dict(zip(self.space.names, key))
            cost = int(params.get("epochs", 0))
            if len(races) >= trainings_left or cost > epochs_left:
                break
            epochs_left -= cost
            races.append((key, seed_index))
        trainings_left -= len(races)
        for individual in individuals:
            if individual.fitness.valid:
                continue
            key = self.space.key(individual)
            if key in self.outcome_by_key or key in first_in_batch:
                new.append((individual, key, None))
            elif len(tasks) < trainings_left and not self.spending.epochs_spent:
                cost = self.training.first_cost(individual)
                if cost > epochs_left:
                    self.spending.epochs_spent = True
                    continue
                epochs_left -= cost
                first_in_batch[key] = len(tasks)
                tasks.append((dict(individual), shared_seed(self.seed, 0)))
                new.append((individual, key, first_in_batch[key]))
        race_tasks = [(dict(zip(self.space.names, key)), shared_seed(self.seed, k)) for key, k in races]
        return Plan(new, races, tasks + race_tasks, len(tasks))

    def _train(self, trainer, plan, progress):
        """The plan's outcomes in task order: in one batch, except that a multi-fidelity
        search's new genomes climb their rungs and the race trainings are whole ones."""
        rows, curves, spending = self.trials.rows, self.curves_by_trial, self.spending
        if isinstance(self.training, WholeTraining) or plan.n_new == len(plan.tasks):
            return self.training.train(trainer, plan.tasks, progress, rows, curves, spending)
        first = self.training.train(trainer, plan.tasks[:plan.n_new], progress, rows, curves, spending)
        return first + trainer.train(plan.tasks[plan.n_new:], on_result=lambda i, outcome: progress.update())

    def _generation(self, trainer, individuals, generation, started=None):
        gen_start = time.perf_counter() if started is None else started  # ask/tell: when asked
        first_row = len(self.trials.rows)
        phase = self.races.phase
        plan = self._plan(individuals)
        progress = tqdm(total=len(plan.tasks), desc=f"generation {generation}", leave=False,
                        disable=True if self.quiet else None, unit="trial")
        try:
            outcomes = self._train(trainer, plan, progress)
        finally:
            progress.close()

        evaluated, trial_ids, keys = [], [], []
        new_failures = trainings = epochs = 0
        first_seed = shared_seed(self.seed, 0)
        for individual, key, task_index in plan.new:
            cached = task_index is None
            if cached:
                outcome = Outcome.from_record(self.outcome_by_key[key])
            else:
                outcome = with_cost(outcomes[task_index], individual)
                for earlier in outcome.earlier:
                    self._add_row(generation, individual, earlier, first_seed, 0)
                    trainings, epochs = trainings + 1, epochs + earlier.epochs_trained
                outcome = self.ranking.check(outcome)
                new_failures += not outcome.status.scored
                trainings, epochs = trainings + 1, epochs + outcome.epochs_trained
            trial_id = self._add_row(generation, individual, outcome, first_seed, 0, cached)
            if not cached:
                self._record(key, outcome, 0, trial_id)
            trial_ids.append(trial_id)
            evaluated.append(individual)
            keys.append(key)
        operator = {SEARCH: "race", FINAL: "final race", CONFIRM: "confirmation"}.get(phase, "race")
        for (key, seed_index), outcome in zip(plan.races, outcomes[plan.n_new:]):
            genome = self.scores.ids[key]
            lineage = Lineage(dict(zip(self.space.names, key)), (self.scores.first_trial[genome],), operator)
            outcome = self.ranking.check(with_cost(outcome, lineage.genome))
            trial_id = self._add_row(generation, lineage, outcome, shared_seed(self.seed, seed_index), seed_index)
            self._record(key, outcome, seed_index, trial_id)
            new_failures += not outcome.status.scored
            trainings, epochs = trainings + 1, epochs + outcome.epochs_trained
        if phase == SEARCH:
            self.races.update(self.scores)
        else:
            self.races.end_phase(self.scores)

        rows = self.trials.rows
        if evaluated:
            eligible, screening = self.training.selection([rows[t] for t in trial_ids])
            self.ga.tell(evaluated, [self._fitness(key, rows[t]) for key, t in zip(keys, trial_ids)], trial_ids,
                         eligible=eligible, screening=screening)
            population = self.ga.advance([i for i in individuals if i.fitness.valid])
        else:
            population = self.ga.population
        if plan.races and not self.ga.multi_objective:
            self.ga.refresh(self._fitness_by_genome())

        best_fitness, improved = self.ranking.update(generation, evaluated, rows, self.ga,
                                                     self.spending.best_fitness)
        if self._racing_one_fitness():
            best_fitness, improved = self._chosen_fitness()
        self.spending.end_generation(generation, trainings, epochs, best_fitness, improved,
                                     elapsed=time.perf_counter() - self._started)
        if self._racing_one_fitness():
            self.spending.best_fitness = best_fitness  # the chosen genome's mean: it may fall as it is retrained
        # The statistics are of the validation score (NSGA-II's fitnesses are tuples).
        stats = population_statistics([rows[i.trial_id]["fitness"] for i in population])
        seconds = time.perf_counter() - gen_start
        spending = self.spending
        noise_sd, _ = self.scores.noise()
        self.generations.add([{
            "generation": generation, "phase": phase, **stats, "best_so_far": spending.best_fitness,
            "diversity": self.space.diversity(population) if population else math.nan, "evaluations": trainings,
            "re_evaluations": len(plan.races), "cached": len(plan.new) - plan.n_new, "failures": new_failures,
            "evaluations_total": spending.evaluations, "epochs": epochs,
            "epochs_total": spending.epochs_trained, "noise_sd": noise_sd, "seconds": seconds,
            "elapsed": spending.elapsed,
            **diversity_columns(self.space, evaluated),  # of the new genomes (NaN in the final phases)
        }])
        rate = trainings / seconds if seconds > 0 else math.inf
        label = "" if phase == SEARCH else f"{phase}: "
        self.log_progress(f"{label}best {spending.best_fitness:.4f}  mean {stats['mean']:.4f}  trained {trainings} "
                          f"({rate:.2f}/s)  re-evaluated {len(plan.races)}  cached {len(plan.new) - plan.n_new}  "
                          f"failed {new_failures}")
        self._save()
        self.callbacks.after_generation(self, rows[first_row:], self.generations.rows[-1])
        self._check_not_all_failed(rows, "trials")
        if endless := spending.endless(trainings):
            raise SearchError(endless)

    def _record(self, key, outcome, seed_index, trial_id):
        record = outcome.record()
        self.trained.append((key, record, seed_index, trial_id))
        self._remember(key, record, seed_index, trial_id)

    def _fitness(self, key, row):
        """The GA's fitness of a genome: the mean of its trainings (NSGA-II: its objectives)."""
        genome = self.scores.ids.get(key)
        if self.ga.multi_objective or genome is None or not self.racing.active:
            return self.ranking.value(Outcome.from_record(self.outcome_by_key[key]))
        return self.scores.mean(genome)

    def _add_row(self, generation, individual, outcome: Outcome, seed, seed_index, cached=False):
        """Append a trials-table row (and the learning curve) for one training; its trial_id.
        individual: a DEAP individual (a new genome) or a Lineage (a race training)."""
        trial_id = len(self.trials.rows)
        genome = individual.genome if isinstance(individual, Lineage) else individual
        if not cached:
            self.add_curve(trial_id, outcome.curve)
        metrics = outcome.cells()
        if "epochs_run" in metrics:
            metrics.setdefault("epochs_trained", metrics["epochs_run"])
        if individual.predicted is not None and not cached and (outcome.rung or 0) == 0:
            metrics["predicted"] = individual.predicted  # the score the model expected
        self.trials.add([{
            "trial_id": trial_id, "generation": generation, "status": outcome.status.value,
            "fitness": outcome.fitness, "cached": cached, **self._gene_cells(genome),
            **metrics, "seed": seed, "seed_index": seed_index, "seconds": 0.0 if cached else outcome.seconds,
            "parents": ";".join(str(p) for p in individual.parents if p is not None),
            "operator": individual.operator, "reason": outcome.reason,
            "worker": "" if cached else outcome.worker,
        }])
        return trial_id

    # -- the result ---------------------------------------------------------------------
    def _test_scores(self, record):
        """The chosen genome's test scores (objectives with a test split), the model saved
        (chosen.test_scores)."""
        return test_scores(self.objective, self.capabilities, self.out_dir, record, self.racing.confidence)
