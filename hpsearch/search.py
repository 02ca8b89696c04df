"""GeneticSearch: the evolution loop, evaluation cache, budgets, results and resume.

One master seed decides everything: the GA's Generator is spawned from it, and each trial's
training seed is derived from it and the trial's parameters (evaluate.trial_seed). After
every generation the whole state is checkpointed, so a search killed at any moment resumes
from its last complete generation and ends exactly as an uninterrupted run would.
"""

import inspect
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import pareto, results
from .evaluate import WORST_FITNESS, Evaluator, MLPObjective, trial_seed
from .evolve import GeneticAlgorithm, population_statistics
from .fidelity import Fidelity
from .results import LEADING_COLUMNS, METRIC_COLUMNS, TRAILING_COLUMNS



class SearchError(RuntimeError):
    """The search cannot go on (every trial failed, or a results directory conflicts)."""


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def settings_difference(old, new):
    """'key: old -> new' for every setting that differs (nested keys joined by dots)."""
    old, new = _flatten(old), _flatten(new)
    return [f"{key}: {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}"
            for key in sorted(set(old) | set(new)) if old.get(key, "<unset>") != new.get(key, "<unset>")]


def _objective_identity(objective):
    """The objective's fingerprint() if it has one, else its importable name."""
    if hasattr(objective, "fingerprint"):
        return objective.fingerprint()
    name = getattr(objective, "__qualname__", type(objective).__qualname__)
    return f"{getattr(objective, '__module__', type(objective).__module__)}.{name}"


def _plain(value):
    """JSON-friendly copy of a parameter value (tuples of layer sizes become lists)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _accepts(objective, **options):
    """Whether objective(params, seed, **options) is a valid call."""
    try:
        inspect.signature(objective).bind({}, 0, **options)
    except (TypeError, ValueError):
        return False
    return True


def _check_fidelity(fidelity, space, objective):
    if "epochs" not in space.names:
        raise ValueError("multi-fidelity search needs an 'epochs' gene in the space "
                         "(each genome's largest training budget)")
    if fidelity.pruner != "none" and not _accepts(objective, prune_below=[]):
        raise ValueError(f"the {fidelity.pruner} pruner needs an objective that accepts "
                         "prune_below= (the built-in MLP objective does)")


def _epochs_trained(outcome):
    """Epochs one training ran: fewer than its epochs_run where it continued an earlier one."""
    return outcome.get("epochs_trained", outcome.get("epochs_run", 0))


class GeneticSearch:
    """Evolve hyperparameters of `objective` over `space`.

    objective: a callable (params: dict, seed: int) -> metrics dict with a "fitness" (higher
        is better; optional "status", "reason", other metrics and a "curve" of per-epoch
        lists), or data splits (hpsearch.datasets.Splits) for the built-in MLP objective.
    generations: breeding generations after the initial population (DEAP's ngen).
    Budgets (any that is set can end the search): generations, max_evaluations (trainings),
    max_training_epochs (epochs trained, summed over trainings; each training is charged its
    `epochs` gene up front, so neither count is ever exceeded), time_limit (seconds),
    patience (generations without improvement), target_fitness.
    fidelity: hpsearch.Fidelity (or a dict of its fields) for multi-fidelity evaluation:
        successive-halving rungs up to each genome's `epochs` gene and a per-epoch pruner
        (see hpsearch.fidelity). Every training is a row of the trials table with its rung;
        status "ok" then means trained for the full `epochs`, "promoted" went on to the next
        rung, "pruned" was stopped by the pruner or not promoted. Parents are chosen on the
        rung-0 score (rung0_score); only fully trained genomes can be the best or an elite.
        A promoted training continues from the state of its rung when the objective can
        (MLPObjective without early stopping or a cosine schedule), else it is retrained.
    objectives: None for the single-objective GA on fitness, or two or more of
        hpsearch.pareto.OBJECTIVES ("val_metric" = fitness, maximised; "train_seconds",
        "n_params", "latency" = metrics the objective reports, minimised) for NSGA-II. The
        result's best is then the knee of the Pareto front of all trials (pareto.knee_index),
        and out_dir also gets pareto.csv and fronts.csv. Patience then counts generations in
        which that front did not change; target_fitness still applies to fitness.
    out_dir: where results, plots and the checkpoint live; a checkpoint found there with the
    same settings is resumed (budgets and n_jobs may differ, nothing else).
    backend: "loky" (worker processes), "threading", or "dask" with `scheduler` (an address
    like "tcp://host:8786", or "local" for an in-process LocalCluster of n_jobs workers);
    like n_jobs it does not change the results, so a search may resume under another.
    config: the effective experiment config to save as out_dir/config.toml (the command line
    passes its TOML config); by default the search's own settings are saved there.
    """

    def __init__(self, space, objective, *, population=20, generations=10, crossover_prob=0.7,
                 mutation_prob=0.4, tournament_size=3, elitism=2, selection="generational",
                 algorithm="ga", mutation_indpb=0.3, mutation_scale=0.15, crossover_eta=15.0, objectives=None,
                 initial_size=None, fidelity=None, warm_start=(), max_evaluations=None,
                 max_training_epochs=None, time_limit=None, patience=None,
                 target_fitness=None, n_jobs=1, timeout=None, blas_threads=1, backend="loky",
                 scheduler=None, seed=0, out_dir=None, quiet=False, config=None):
        if not callable(objective):
            objective = MLPObjective(objective, task=getattr(objective, "task", "classification"))
        if hasattr(objective, "check_params"):
            objective.check_params(space.names)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not isinstance(generations, (int, np.integer)) or generations < 0:
            raise ValueError(f"generations must be a non-negative integer, got {generations!r}")
        for name, value in (("max_evaluations", max_evaluations), ("time_limit", time_limit),
                            ("max_training_epochs", max_training_epochs),
                            ("patience", patience), ("timeout", timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.space = space
        self.objective = objective
        self.seed = int(seed)
        try:
            self.objectives = pareto.check_objectives(objectives)
        except ValueError as error:
            raise ValueError(f"objectives: {error}") from None
        self.ga_settings = {
            "population_size": population, "crossover_prob": crossover_prob,
            "mutation_prob": mutation_prob, "tournament_size": tournament_size,
            "elitism": elitism, "selection": selection, "algorithm": algorithm,
            "mutation_indpb": mutation_indpb, "mutation_scale": mutation_scale,
            "crossover_eta": crossover_eta, "initial_size": initial_size,
        }
        self.fidelity = Fidelity(**fidelity) if isinstance(fidelity, dict) else fidelity
        if self.fidelity is not None and not self.fidelity.active:
            self.fidelity = None
        if self.fidelity is not None:
            _check_fidelity(self.fidelity, space, objective)
        self.warm_start = [dict(g) for g in warm_start]
        self._new_ga()  # validates the GA settings now, not at run()
        self.generations = int(generations)
        self.max_evaluations = max_evaluations
        self.max_training_epochs = max_training_epochs
        self.time_limit = time_limit
        self.patience = patience
        self.target_fitness = target_fitness
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.blas_threads = blas_threads
        self.backend = backend
        self.scheduler = scheduler
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.quiet = quiet
        self.config = config

    def _new_ga(self):
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        weights = pareto.weights(self.objectives) if self.objectives else None
        return GeneticAlgorithm(self.space, rng, warm_start=self.warm_start, weights=weights, **self.ga_settings)

    def effective_config(self):
        """The config.toml written into a new results directory (TOML has no null: unset
        values are left out)."""
        if self.config is not None:
            return self.config
        budget = {"max_evaluations": self.max_evaluations,
                  "max_training_epochs": self.max_training_epochs, "time_limit": self.time_limit,
                  "patience": self.patience, "target_fitness": self.target_fitness}
        parallel = {"n_jobs": self.n_jobs, "timeout": self.timeout, "blas_threads": self.blas_threads,
                    "backend": self.backend, "scheduler": self.scheduler}
        ga_settings = {k: v for k, v in self.ga_settings.items() if v is not None}
        search = {"generations": self.generations, **ga_settings,
                  "warm_start": [{k: _plain(v) for k, v in g.items()} for g in self.warm_start]}
        search["population"] = search.pop("population_size")
        if self.objectives:
            search["objectives"] = list(self.objectives)
        fidelity = {"fidelity": self.fidelity.to_config()} if self.fidelity else {}
        objective = {"metric": self.objective.metric} if hasattr(self.objective, "metric") else {}
        return {"seed": self.seed, "objective": objective, "search": search,
                "budget": {k: v for k, v in budget.items() if v is not None},
                "parallel": {k: v for k, v in parallel.items() if v is not None}, **fidelity,
                "space": self.space.to_config()}

    def settings(self):
        """Everything that decides which trials the search makes: resume requires equality."""
        return {"space": self.space.to_config(), "ga": dict(self.ga_settings), "seed": self.seed,
                "warm_start": [{k: _plain(v) for k, v in g.items()} for g in self.warm_start],
                "timeout": self.timeout, "objective": _objective_identity(self.objective),
                **({"objectives": list(self.objectives)} if self.objectives else {}),
                **({"fidelity": self.fidelity.to_config()} if self.fidelity else {})}

    # -- state ------------------------------------------------------------------------
    def _fresh_state(self):
        self.ga = self._new_ga()
        self.generation = -1
        self.cache = {}
        self.rows = []
        self.curves = {}
        self.generation_rows = []
        self.evaluations = 0
        self.epochs_trained = 0
        self.epochs_spent = False  # a training did not fit in what max_training_epochs left
        self.elapsed = 0.0
        self.since_improvement = 0
        self.best_fitness = -math.inf
        self.final = None
        self.front = []  # NSGA-II: [{"trial_id", "params"}] of the Pareto front so far
        self.front_rows = []  # fronts.csv

    def _state(self):
        return {"settings": self.settings(), "ga": self.ga.state(), "generation": self.generation,
                "cache": self.cache, "rows": self.rows, "curves": self.curves,
                "generation_rows": self.generation_rows, "evaluations": self.evaluations,
                "epochs_trained": self.epochs_trained, "epochs_spent": self.epochs_spent,
                "elapsed": self.elapsed, "since_improvement": self.since_improvement,
                "best_fitness": self.best_fitness, "final": self.final, "front": self.front,
                "front_rows": self.front_rows}

    def _restore(self, state):
        differences = settings_difference(state["settings"], self.settings())
        if differences:
            raise SearchError(f"{self.out_dir}: cannot resume, the settings differ from the "
                              f"checkpoint's: {'; '.join(differences)}")
        self._fresh_state()
        self.ga.load_state(state["ga"])
        for name in ("generation", "cache", "rows", "curves", "generation_rows", "evaluations",
                     "epochs_trained", "elapsed", "since_improvement", "best_fitness", "final"):
            setattr(self, name, state[name])
        self.front, self.front_rows = state.get("front", []), state.get("front_rows", [])
        self.epochs_spent = state.get("epochs_spent", False)

    def _open_out_dir(self):
        if self.out_dir is None:
            return None
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise SearchError(f"{self.out_dir}: exists and is not a directory")
        if self.out_dir.is_dir() and any(self.out_dir.iterdir()) and not results.is_results_dir(self.out_dir):
            raise SearchError(f"{self.out_dir}: exists, is not empty and is not an hpsearch results directory")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        results.remove_stale_temporaries(self.out_dir)
        return results.read_checkpoint(self.out_dir)

    def _resume_or_start(self):
        """Restore the checkpoint in out_dir, or start afresh (writing config.toml there)."""
        state = self._open_out_dir()
        self._fresh_state()
        if state is not None:
            self._restore(state)
        elif self.out_dir is not None:
            results.write_config(self.out_dir / results.CONFIG, self.effective_config())

    # -- the loop ---------------------------------------------------------------------
    def run(self):
        """Run (or resume) the search to the end of its budgets; return a SearchResult."""
        self._resume_or_start()
        started = time.perf_counter() - self.elapsed
        with Evaluator(self.objective, n_jobs=self.n_jobs, timeout=self.timeout,
                       blas_threads=self.blas_threads, backend=self.backend,
                       scheduler=self.scheduler) as evaluator:
            if self.generation < 0:
                self._generation(evaluator, self.ga.initial(), 0, started)
            while (reason := self.stop_reason()) is None:
                self._generation(evaluator, self.ga.breed(), self.generation + 1, started)
        self._finish(reason)
        return self.result()

    def stop_reason(self):
        if self.generation >= self.generations:
            return f"generations ({self.generations})"
        if self.max_evaluations is not None and self.evaluations >= self.max_evaluations:
            return f"max_evaluations ({self.max_evaluations})"
        if self.max_training_epochs is not None and (self.epochs_trained >= self.max_training_epochs
                                                     or self.epochs_spent):
            return f"max_training_epochs ({self.max_training_epochs})"
        if self.time_limit is not None and self.elapsed >= self.time_limit:
            return f"time_limit ({self.time_limit:g} s)"
        if self.patience is not None and self.since_improvement >= self.patience:
            return f"patience ({self.patience} generations without improvement)"
        if self.target_fitness is not None and self.best_fitness >= self.target_fitness:
            return f"target_fitness ({self.target_fitness:g})"
        return None

    def _plan(self, individuals):
        """Which individuals to train, which to take from the cache, which to drop: those past
        max_evaluations, and from the first whose (first) training would take the epochs
        trained past max_training_epochs on (the search then ends with this generation)."""
        plan, tasks, first_in_batch = [], [], {}
        trainings_left, epochs_left = self._budget_left()
        for individual in individuals:
            if individual.fitness.valid:
                continue
            key = self.space.key(individual)
            if key in self.cache or key in first_in_batch:
                plan.append((individual, key, None))
            elif len(tasks) < trainings_left and not self.epochs_spent:
                cost = self._first_training_epochs(individual)
                if cost > epochs_left:
                    self.epochs_spent = True
                    continue
                epochs_left -= cost
                first_in_batch[key] = len(tasks)
                tasks.append((dict(individual), trial_seed(self.seed, key)))
                plan.append((individual, key, first_in_batch[key]))
        return plan, tasks

    def _budget_left(self, trainings=0, epochs=0):
        """(trainings, epochs) the budgets leave after those counted so far and `trainings`
        and `epochs` more (inf where unbounded)."""
        trainings_left = (math.inf if self.max_evaluations is None
                          else self.max_evaluations - self.evaluations - trainings)
        epochs_left = (math.inf if self.max_training_epochs is None
                       else self.max_training_epochs - self.epochs_trained - epochs)
        return trainings_left, epochs_left

    def _first_training_epochs(self, individual):
        """Epochs a genome's first training will train at most (0 where the space has no
        epochs gene: such epochs are only counted after the fact)."""
        if "epochs" not in individual:
            return 0
        epochs = int(individual["epochs"])
        return self.fidelity.rung_epochs(epochs)[0] if self.fidelity else epochs

    def _generation(self, evaluator, individuals, generation, started):
        gen_start = time.perf_counter()
        plan, tasks = self._plan(individuals)
        bar = tqdm(total=len(tasks), desc=f"generation {generation}", leave=False,
                   disable=True if self.quiet else None, unit="trial")
        try:
            if self.fidelity is None:
                outcomes = evaluator.evaluate(tasks, on_result=lambda i, outcome: bar.update())
            else:
                outcomes = self._evaluate_rungs(evaluator, tasks, bar)
        finally:
            bar.close()

        evaluated, fitnesses, trial_ids = [], [], []
        new_failures = trainings = epochs = 0
        for individual, key, task_index in plan:
            cached = task_index is None
            seed = tasks[task_index][1] if not cached else trial_seed(self.seed, key)
            if cached:
                outcome = self.cache[key]
            else:
                outcome = dict(outcomes[task_index])
                if self.fidelity:
                    first = (outcome.get("earlier_rungs") or [outcome])[0]
                    outcome["rung0_score"] = first["fitness"]
                for earlier in outcome.pop("earlier_rungs", ()):
                    self._add_row(generation, individual, dict(earlier), seed)
                    trainings, epochs = trainings + 1, epochs + _epochs_trained(earlier)
                self._check_objective_metrics(outcome)
                self.cache[key] = {k: v for k, v in outcome.items() if k != "curve"}
                new_failures += outcome["status"] not in ("ok", "pruned")
                trainings, epochs = trainings + 1, epochs + _epochs_trained(outcome)
            trial_id = self._add_row(generation, individual, dict(outcome), seed, cached)
            evaluated.append(individual)
            fitnesses.append(pareto.objective_values(outcome, self.objectives) if self.objectives
                             else outcome["fitness"])
            trial_ids.append(trial_id)
        # Multi-fidelity: only fully trained genomes may become the best or an elite, and
        # parents are chosen on the rung-0 score that every genome has.
        eligible = [self.rows[t]["status"] == "ok" for t in trial_ids] if self.fidelity else None
        screening = [self.rows[t]["rung0_score"] for t in trial_ids] if self.fidelity else None
        self.ga.tell(evaluated, fitnesses, trial_ids, eligible=eligible, screening=screening)
        kept = [i for i in individuals if i.fitness.valid]
        population = self.ga.advance(kept)

        self.generation = generation
        self.evaluations += trainings
        self.epochs_trained += epochs
        best = self.ga.best()
        best_fitness = best.fitness.values[0] if best is not None else -math.inf
        self.since_improvement = 0 if best_fitness > self.best_fitness else self.since_improvement + 1
        self.best_fitness = max(best_fitness, self.best_fitness)
        if self.objectives:
            self._update_front(generation, evaluated)
        self.elapsed = time.perf_counter() - started
        # NSGA-II fitnesses are tuples of objectives: the statistics are of the validation score.
        stats = population_statistics([self.rows[i.trial_id]["fitness"] if self.objectives
                                       else i.fitness.values[0] for i in population])
        seconds = time.perf_counter() - gen_start
        self.generation_rows.append({
            "generation": generation, **stats, "best_so_far": self.best_fitness,
            "diversity": self.space.diversity(population), "evaluations": trainings,
            "cached": len(plan) - len(tasks), "failures": new_failures,
            "evaluations_total": self.evaluations, "epochs": epochs,
            "epochs_total": self.epochs_trained, "seconds": seconds, "elapsed": self.elapsed,
        })
        if not self.quiet:
            rate = trainings / seconds if seconds > 0 else math.inf
            tqdm.write(f"generation {generation:3d}  best {self.best_fitness:.4f}  "
                       f"mean {stats['mean']:.4f}  evaluations {trainings} ({rate:.2f}/s)  "
                       f"cached {len(plan) - len(tasks)}  failed {new_failures}")
        self._save()
        if not any(math.isfinite(row["fitness"]) for row in self.rows):
            first = self.rows[0] if self.rows else {"trial_id": None, "reason": "no trials"}
            raise SearchError(f"all {len(self.rows)} trials failed, stopping "
                              f"(trial {first['trial_id']}: {first['reason']})")

    def _add_row(self, generation, individual, outcome, seed, cached=False):
        """Append a trials-table row (and the learning curve) for one outcome; its trial_id."""
        trial_id = len(self.rows)
        curve = outcome.pop("curve", None)
        if curve and not cached:
            self.curves[trial_id] = {k: list(v) for k, v in curve.items()}
        self.rows.append(self._row(trial_id, generation, individual, outcome, cached, seed=seed))
        return trial_id

    def _evaluate_rungs(self, evaluator, tasks, bar):
        """Successive halving over a generation's tasks: every task trains at rung 0; after each
        rung, those with a higher one go on if their score ranks among the best n_promoted of
        all trainings that completed that rung (Fidelity.promotions). A promoted training
        continues from the weights its rung reached where the objective can do so exactly
        (keep_state= and resume=, as MLPObjective for most settings), else it is retrained
        from scratch; either way the result is that of a run from scratch. The outcome per
        task is that of its last training, the earlier ones listed under "earlier_rungs"."""
        budgets = [self.fidelity.rung_epochs(int(params["epochs"])) for params, _ in tasks]
        continues = _accepts(self.objective, keep_state=True, resume=None)
        earlier = self._rung_scores()
        trainings = [[] for _ in tasks]
        states = {}  # task index -> the state its last training reached (for the next rung)
        alive, rung = list(range(len(tasks))), 0
        while alive:
            # Thresholds from trainings finished before this batch: the same for any n_jobs.
            curves = [c["val_metric"] for c in self.curves.values() if "val_metric" in c]
            curves += [o["curve"]["val_metric"] for done in trainings for o in done
                       if "val_metric" in o.get("curve", {})]
            options = {"prune_below": self.fidelity.thresholds(curves)} if self.fidelity.pruner != "none" else {}
            batch = []
            for i in alive:
                task_options = dict(options)
                if continues:
                    task_options.update(keep_state=rung + 1 < len(budgets[i]), resume=states.pop(i, None))
                batch.append(({**tasks[i][0], "epochs": budgets[i][rung]}, tasks[i][1], task_options))
            if rung:
                bar.total += len(batch)
            for i, outcome in zip(alive, evaluator.evaluate(batch, on_result=lambda j, o: bar.update())):
                if "state" in outcome:
                    states[i] = outcome.pop("state")
                trainings[i].append({**outcome, "rung": rung})
            completed = [i for i in alive if rung + 1 < len(budgets[i]) and trainings[i][-1]["status"] == "ok"]
            scores = [trainings[i][-1]["fitness"] for i in completed]
            promoted = [completed[j] for j in self.fidelity.promotions(scores, earlier.get(rung, []))]
            pool = len(earlier.get(rung, [])) + len(completed)
            unaffordable = self._unaffordable(promoted, trainings, states, budgets, rung + 1)
            for i in completed:
                if i in promoted and i not in unaffordable:
                    trainings[i][-1]["status"] = "promoted"
                elif i in promoted:
                    trainings[i][-1].update(status="pruned", reason=(
                        f"not promoted past rung {rung}: the {unaffordable[i]} budget is spent"))
                else:
                    trainings[i][-1].update(status="pruned", reason=(
                        f"not promoted past rung {rung} (not in the best "
                        f"{self.fidelity.n_promoted(pool)} of {pool} trainings at that rung)"))
            promoted = [i for i in promoted if i not in unaffordable]
            states = {i: states[i] for i in promoted if i in states}
            alive, rung = promoted, rung + 1
        return [{**done[-1], "earlier_rungs": done[:-1]} for done in trainings]

    def _unaffordable(self, promoted, trainings, states, budgets, rung):
        """{task: the budget it exceeds} for the promoted tasks whose training at `rung` the
        budgets cannot pay for after this generation's trainings so far; the better-scoring
        ones are paid for first."""
        done = [o for runs in trainings for o in runs]
        trainings_left, epochs_left = self._budget_left(len(done), sum(map(_epochs_trained, done)))
        unaffordable = {}
        for i in sorted(promoted, key=lambda i: -trainings[i][-1]["fitness"]):
            cost = budgets[i][rung] - (budgets[i][rung - 1] if i in states else 0)
            if trainings_left < 1:
                unaffordable[i] = "max_evaluations"
            elif cost > epochs_left:
                unaffordable[i] = "max_training_epochs"
                self.epochs_spent = True
            else:
                trainings_left, epochs_left = trainings_left - 1, epochs_left - cost
        return unaffordable

    def _rung_scores(self):
        """{rung: validation scores} of the earlier trainings that completed a rung below
        their genome's last (the field a new training at that rung competes with)."""
        scores = {}
        for row in self.rows:
            if row["cached"] or row.get("rung") is None or row["status"] not in ("ok", "promoted", "pruned"):
                continue
            budgets = self.fidelity.rung_epochs(int(row["epochs"]))
            if row["rung"] + 1 < len(budgets) and row["epochs_run"] == budgets[row["rung"]]:
                scores.setdefault(row["rung"], []).append(row["fitness"])
        return scores

    def _check_objective_metrics(self, outcome):
        """A successful trial that does not report an objective's metric has failed."""
        missing = pareto.missing_metrics(outcome, self.objectives) if self.objectives else []
        if missing and outcome["status"] == "ok":
            outcome.update(status="failed", fitness=WORST_FITNESS,
                           reason=f"objective returned no finite {', '.join(missing)}")

    def _update_front(self, generation, evaluated):
        """NSGA-II bookkeeping after a generation: the Pareto front of every successful
        trial so far (cached repeats left out), one fronts.csv block per generation; the
        best validation score; patience restarts whenever the front changes."""
        candidates = list(self.front)
        for individual in evaluated:
            row = self.rows[individual.trial_id]
            if row["status"] == "ok" and not row["cached"]:
                candidates.append({"trial_id": individual.trial_id, "params": dict(individual)})
                self.best_fitness = max(self.best_fitness, row["fitness"])
        front = candidates
        if candidates:
            keep = pareto.nondominated(self._front_values(candidates), pareto.weights(self.objectives))
            front = [entry for entry, kept in zip(candidates, keep) if kept]
        if [e["trial_id"] for e in front] != [e["trial_id"] for e in self.front]:
            self.since_improvement = 0
        self.front = front
        self.front_rows += [{"generation": generation, "trial_id": entry["trial_id"],
                             **dict(zip(self.objectives, values))}
                            for entry, values in zip(front, self._front_values(front))]

    def _front_values(self, entries):
        return [pareto.objective_values(self.rows[e["trial_id"]], self.objectives) for e in entries]

    def _gene_columns(self, individual):
        """Gene values as table cells: numbers and names as they are, layer lists as text."""
        row = self.space.row(individual)
        for name, value in individual.items():
            if isinstance(value, (int, float, str, bool)):
                row[name] = value
        return row

    def _row(self, trial_id, generation, individual, outcome, cached, seed):
        metrics = {k: v for k, v in outcome.items()
                   if k not in ("status", "fitness", "reason", "seconds", "worker") and np.isscalar(v)}
        if "epochs_run" in metrics:
            metrics.setdefault("epochs_trained", metrics["epochs_run"])
        return {
            "trial_id": trial_id, "generation": generation, "status": outcome["status"],
            "fitness": outcome["fitness"], "cached": cached, **self._gene_columns(individual),
            **metrics, "seed": seed, "seconds": 0.0 if cached else outcome.get("seconds", math.nan),
            "parents": ";".join(str(p) for p in individual.parents if p is not None),
            "operator": individual.operator, "reason": outcome.get("reason", ""),
            "worker": "" if cached else outcome.get("worker", ""),
        }

    # -- results ----------------------------------------------------------------------
    def _best_record(self):
        if self.objectives:
            return self._knee_record()
        best = self.ga.best()
        if best is None or not math.isfinite(best.fitness.values[0]):
            return {}
        row = self.rows[best.trial_id]
        return {"trial_id": best.trial_id, "generation": row["generation"],
                "fitness": best.fitness.values[0], "params": {k: _plain(v) for k, v in best.items()},
                "seed": row["seed"]}

    def _knee_record(self):
        """The knee of the Pareto front so far (NSGA-II's reported best)."""
        if not self.front:
            return {}
        values = self._front_values(self.front)
        i = pareto.knee_index(values, pareto.weights(self.objectives))
        knee, row = self.front[i], self.rows[self.front[i]["trial_id"]]
        return {"trial_id": knee["trial_id"], "generation": row["generation"], "fitness": row["fitness"],
                "params": {k: _plain(v) for k, v in knee["params"].items()}, "seed": row["seed"],
                "knee": True, "front_size": len(self.front),
                "objectives": dict(zip(self.objectives, values[i]))}

    def pareto_frame(self):
        """pareto.csv: the Pareto front of all trials, its knee marked, with the genes."""
        if not self.objectives:
            return pd.DataFrame()
        knee = self._knee_record().get("trial_id")
        return pd.DataFrame([{"trial_id": entry["trial_id"], "generation": self.rows[entry["trial_id"]]["generation"],
                              "knee": entry["trial_id"] == knee, **dict(zip(self.objectives, values)),
                              **self._gene_columns(entry["params"])}
                             for entry, values in zip(self.front, self._front_values(self.front))])

    def fronts_frame(self):
        """fronts.csv: the Pareto front of all trials so far, after every generation."""
        if not self.objectives:
            return pd.DataFrame()
        return pd.DataFrame(self.front_rows, columns=["generation", "trial_id", *self.objectives])

    def _finish(self, reason):
        record = self._best_record()
        if self.final is None or self.final.get("trial_id") != record.get("trial_id"):
            test = {}
            if record and hasattr(self.objective, "test_score") and self._has_test_split():
                test = self.objective.test_score(record["params"], record["seed"])
            self.final = {**record, **{k: v for k, v in test.items() if k != "status"}}
        self.final["stop_reason"] = reason
        self._save(finished=True)
        if not self.quiet and self.final.get("params"):
            test = self.final.get("test_metric")
            tqdm.write(f"stopped: {reason}; best fitness {self.final['fitness']:.4f} "
                       f"(trial {self.final['trial_id']})" + (f", test {test:.4f}" if test is not None else ""))

    def _has_test_split(self):
        data = getattr(self.objective, "data", None)
        return data is None or "X_test" in data

    def _best_json(self, finished):
        best = dict(self.final) if finished and self.final else self._best_record()
        return {**best, "finished": finished, "generations": self.generation + 1,
                "evaluations": self.evaluations, "trials": len(self.rows), "seed": best.get("seed"),
                "master_seed": self.seed}

    def _save(self, finished=False):
        if self.out_dir is None:
            return
        results.write_csv(self.out_dir / results.TRIALS, self.trials_frame())
        results.write_csv(self.out_dir / results.GENERATIONS, pd.DataFrame(self.generation_rows))
        results.write_csv(self.out_dir / results.CURVES, results.curves_frame(self.curves))
        results.write_json(self.out_dir / results.BEST, self._best_json(finished))
        if self.objectives:
            results.write_csv(self.out_dir / results.PARETO, self.pareto_frame())
            results.write_csv(self.out_dir / results.FRONTS, self.fronts_frame())
        results.write_checkpoint(self.out_dir, self._state())

    def trials_frame(self):
        frame = pd.DataFrame(self.rows)
        if frame.empty:
            return frame
        genes = [c for c in frame.columns if c not in LEADING_COLUMNS + TRAILING_COLUMNS]
        metrics = [c for c in METRIC_COLUMNS if c in genes]
        genes = [c for c in genes if c not in metrics]
        # Rows checkpointed before a column existed (worker) lack it.
        trailing = [c for c in TRAILING_COLUMNS if c in frame.columns]
        return frame[LEADING_COLUMNS + genes + metrics + trailing]

    def result(self):
        return results.SearchResult(trials=self.trials_frame(),
                                    generations=pd.DataFrame(self.generation_rows),
                                    curves=results.curves_frame(self.curves),
                                    best=self._best_json(finished=self.final is not None),
                                    pareto=self.pareto_frame(), fronts=self.fronts_frame(),
                                    out_dir=self.out_dir)

