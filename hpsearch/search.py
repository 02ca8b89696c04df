"""GeneticSearch: the evolution loop, evaluation cache, budgets, results and resume.

One master seed decides everything: the GA's Generator is spawned from it, and each trial's
training seed is derived from it and the trial's parameters (evaluate.trial_seed). After
every generation the whole state is checkpointed, so a search killed at any moment resumes
from its last complete generation and ends exactly as an uninterrupted run would.
"""

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import results
from .evaluate import Evaluator, MLPObjective, trial_seed
from .evolve import GeneticAlgorithm, population_statistics

# Trial-table columns before the genes and after them; metric columns go in between.
LEADING_COLUMNS = ["trial_id", "generation", "status", "fitness", "cached"]
TRAILING_COLUMNS = ["seed", "seconds", "parents", "operator", "reason"]
METRIC_COLUMNS = ["val_metric", "val_loss", "train_loss", "epochs_run"]


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


class GeneticSearch:
    """Evolve hyperparameters of `objective` over `space`.

    objective: a callable (params: dict, seed: int) -> metrics dict with a "fitness" (higher
        is better; optional "status", "reason", other metrics and a "curve" of per-epoch
        lists), or data splits (hpsearch.datasets.Splits) for the built-in MLP objective.
    generations: breeding generations after the initial population (DEAP's ngen).
    Budgets (any that is set can end the search): generations, max_evaluations, time_limit
    (seconds), patience (generations without improvement), target_fitness.
    out_dir: where results, plots and the checkpoint live; a checkpoint found there with the
    same settings is resumed (budgets and n_jobs may differ, nothing else).
    config: the effective experiment config to save as out_dir/config.toml (the command line
    passes its TOML config); by default the search's own settings are saved there.
    """

    def __init__(self, space, objective, *, population=20, generations=10, crossover_prob=0.7,
                 mutation_prob=0.4, tournament_size=3, elitism=2, selection="generational",
                 algorithm="ga", mutation_indpb=0.3, mutation_scale=0.15, crossover_eta=15.0,
                 warm_start=(), max_evaluations=None, time_limit=None, patience=None,
                 target_fitness=None, n_jobs=1, timeout=None, blas_threads=1, seed=0,
                 out_dir=None, quiet=False, config=None):
        if not callable(objective):
            objective = MLPObjective(objective, task=getattr(objective, "task", "classification"))
        if hasattr(objective, "check_params"):
            objective.check_params(space.names)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not isinstance(generations, (int, np.integer)) or generations < 0:
            raise ValueError(f"generations must be a non-negative integer, got {generations!r}")
        for name, value in (("max_evaluations", max_evaluations), ("time_limit", time_limit),
                            ("patience", patience), ("timeout", timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.space = space
        self.objective = objective
        self.seed = int(seed)
        self.ga_settings = {
            "population_size": population, "crossover_prob": crossover_prob,
            "mutation_prob": mutation_prob, "tournament_size": tournament_size,
            "elitism": elitism, "selection": selection, "algorithm": algorithm,
            "mutation_indpb": mutation_indpb, "mutation_scale": mutation_scale,
            "crossover_eta": crossover_eta,
        }
        self.warm_start = [dict(g) for g in warm_start]
        self._new_ga()  # validates the GA settings now, not at run()
        self.generations = int(generations)
        self.max_evaluations = max_evaluations
        self.time_limit = time_limit
        self.patience = patience
        self.target_fitness = target_fitness
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.blas_threads = blas_threads
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.quiet = quiet
        self.config = config

    def _new_ga(self):
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        return GeneticAlgorithm(self.space, rng, warm_start=self.warm_start, **self.ga_settings)

    def effective_config(self):
        """The config.toml written into a new results directory (TOML has no null: unset
        values are left out)."""
        if self.config is not None:
            return self.config
        budget = {"max_evaluations": self.max_evaluations, "time_limit": self.time_limit,
                  "patience": self.patience, "target_fitness": self.target_fitness}
        parallel = {"n_jobs": self.n_jobs, "timeout": self.timeout, "blas_threads": self.blas_threads}
        search = {"generations": self.generations, **self.ga_settings,
                  "warm_start": [{k: _plain(v) for k, v in g.items()} for g in self.warm_start]}
        search["population"] = search.pop("population_size")
        objective = {"metric": self.objective.metric} if hasattr(self.objective, "metric") else {}
        return {"seed": self.seed, "objective": objective, "search": search,
                "budget": {k: v for k, v in budget.items() if v is not None},
                "parallel": {k: v for k, v in parallel.items() if v is not None},
                "space": self.space.to_config()}

    def settings(self):
        """Everything that decides which trials the search makes: resume requires equality."""
        return {"space": self.space.to_config(), "ga": dict(self.ga_settings), "seed": self.seed,
                "warm_start": [{k: _plain(v) for k, v in g.items()} for g in self.warm_start],
                "timeout": self.timeout, "objective": _objective_identity(self.objective)}

    # -- state ------------------------------------------------------------------------
    def _fresh_state(self):
        self.ga = self._new_ga()
        self.generation = -1
        self.cache = {}
        self.rows = []
        self.curves = {}
        self.generation_rows = []
        self.evaluations = 0
        self.elapsed = 0.0
        self.since_improvement = 0
        self.best_fitness = -math.inf
        self.final = None

    def _state(self):
        return {"settings": self.settings(), "ga": self.ga.state(), "generation": self.generation,
                "cache": self.cache, "rows": self.rows, "curves": self.curves,
                "generation_rows": self.generation_rows, "evaluations": self.evaluations,
                "elapsed": self.elapsed, "since_improvement": self.since_improvement,
                "best_fitness": self.best_fitness, "final": self.final}

    def _restore(self, state):
        differences = settings_difference(state["settings"], self.settings())
        if differences:
            raise SearchError(f"{self.out_dir}: cannot resume, the settings differ from the "
                              f"checkpoint's: {'; '.join(differences)}")
        self._fresh_state()
        self.ga.load_state(state["ga"])
        for name in ("generation", "cache", "rows", "curves", "generation_rows", "evaluations",
                     "elapsed", "since_improvement", "best_fitness", "final"):
            setattr(self, name, state[name])

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

    # -- the loop ---------------------------------------------------------------------
    def run(self):
        """Run (or resume) the search to the end of its budgets; return a SearchResult."""
        state = self._open_out_dir()
        self._fresh_state()
        if state is not None:
            self._restore(state)
        elif self.out_dir is not None:
            results.write_config(self.out_dir / results.CONFIG, self.effective_config())
        started = time.perf_counter() - self.elapsed
        with Evaluator(self.objective, n_jobs=self.n_jobs, timeout=self.timeout,
                       blas_threads=self.blas_threads) as evaluator:
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
        if self.time_limit is not None and self.elapsed >= self.time_limit:
            return f"time_limit ({self.time_limit:g} s)"
        if self.patience is not None and self.since_improvement >= self.patience:
            return f"patience ({self.patience} generations without improvement)"
        if self.target_fitness is not None and self.best_fitness >= self.target_fitness:
            return f"target_fitness ({self.target_fitness:g})"
        return None

    def _plan(self, individuals):
        """Which individuals to train, which to take from the cache, which to drop (budget)."""
        plan, tasks, first_in_batch = [], [], {}
        budget = math.inf if self.max_evaluations is None else self.max_evaluations - self.evaluations
        for individual in individuals:
            if individual.fitness.valid:
                continue
            key = self.space.key(individual)
            if key in self.cache or key in first_in_batch:
                plan.append((individual, key, None))
            elif len(tasks) < budget:
                first_in_batch[key] = len(tasks)
                tasks.append((dict(individual), trial_seed(self.seed, key)))
                plan.append((individual, key, first_in_batch[key]))
        return plan, tasks

    def _generation(self, evaluator, individuals, generation, started):
        gen_start = time.perf_counter()
        plan, tasks = self._plan(individuals)
        bar = tqdm(total=len(tasks), desc=f"generation {generation}", leave=False,
                   disable=True if self.quiet else None, unit="trial")
        try:
            outcomes = evaluator.evaluate(tasks, on_result=lambda i, outcome: bar.update())
        finally:
            bar.close()

        evaluated, fitnesses, trial_ids = [], [], []
        new_failures = 0
        for individual, key, task_index in plan:
            trial_id = len(self.rows)
            cached = task_index is None
            if cached:
                outcome = self.cache[key]
            else:
                outcome = dict(outcomes[task_index])
                curve = outcome.pop("curve", None)
                if curve:
                    self.curves[trial_id] = {k: list(v) for k, v in curve.items()}
                self.cache[key] = outcome
                new_failures += outcome["status"] != "ok"
            self.rows.append(self._row(trial_id, generation, individual, outcome, cached,
                                       seed=tasks[task_index][1] if not cached else trial_seed(self.seed, key)))
            evaluated.append(individual)
            fitnesses.append(outcome["fitness"])
            trial_ids.append(trial_id)
        self.ga.tell(evaluated, fitnesses, trial_ids)
        kept = [i for i in individuals if i.fitness.valid]
        population = self.ga.advance(kept)

        self.generation = generation
        self.evaluations += len(tasks)
        best = self.ga.best()
        best_fitness = best.fitness.values[0] if best is not None else -math.inf
        self.since_improvement = 0 if best_fitness > self.best_fitness else self.since_improvement + 1
        self.best_fitness = max(best_fitness, self.best_fitness)
        self.elapsed = time.perf_counter() - started
        stats = population_statistics([i.fitness.values[0] for i in population])
        seconds = time.perf_counter() - gen_start
        self.generation_rows.append({
            "generation": generation, **stats, "best_so_far": self.best_fitness,
            "diversity": self.space.diversity(population), "evaluations": len(tasks),
            "cached": len(plan) - len(tasks), "failures": new_failures,
            "evaluations_total": self.evaluations, "seconds": seconds, "elapsed": self.elapsed,
        })
        if not self.quiet:
            rate = len(tasks) / seconds if seconds > 0 else math.inf
            tqdm.write(f"generation {generation:3d}  best {self.best_fitness:.4f}  "
                       f"mean {stats['mean']:.4f}  evaluations {len(tasks)} ({rate:.2f}/s)  "
                       f"cached {len(plan) - len(tasks)}  failed {new_failures}")
        self._save()
        if not any(row["status"] == "ok" for row in self.rows):
            first = self.rows[0] if self.rows else {"trial_id": None, "reason": "no trials"}
            raise SearchError(f"all {len(self.rows)} trials failed, stopping "
                              f"(trial {first['trial_id']}: {first['reason']})")

    def _gene_columns(self, individual):
        """Gene values as table cells: numbers and names as they are, layer lists as text."""
        row = self.space.row(individual)
        for name, value in individual.items():
            if isinstance(value, (int, float, str, bool)):
                row[name] = value
        return row

    def _row(self, trial_id, generation, individual, outcome, cached, seed):
        metrics = {k: v for k, v in outcome.items()
                   if k not in ("status", "fitness", "reason", "seconds") and np.isscalar(v)}
        return {
            "trial_id": trial_id, "generation": generation, "status": outcome["status"],
            "fitness": outcome["fitness"], "cached": cached, **self._gene_columns(individual),
            **metrics, "seed": seed, "seconds": 0.0 if cached else outcome.get("seconds", math.nan),
            "parents": ";".join(str(p) for p in individual.parents if p is not None),
            "operator": individual.operator, "reason": outcome.get("reason", ""),
        }

    # -- results ----------------------------------------------------------------------
    def _best_record(self):
        best = self.ga.best()
        if best is None or not math.isfinite(best.fitness.values[0]):
            return {}
        row = self.rows[best.trial_id]
        return {"trial_id": best.trial_id, "generation": row["generation"],
                "fitness": best.fitness.values[0], "params": {k: _plain(v) for k, v in best.items()},
                "seed": row["seed"]}

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
        results.write_checkpoint(self.out_dir, self._state())

    def trials_frame(self):
        frame = pd.DataFrame(self.rows)
        if frame.empty:
            return frame
        genes = [c for c in frame.columns if c not in LEADING_COLUMNS + TRAILING_COLUMNS]
        metrics = [c for c in METRIC_COLUMNS if c in genes]
        genes = [c for c in genes if c not in metrics]
        return frame[LEADING_COLUMNS + genes + metrics + TRAILING_COLUMNS]

    def result(self):
        return results.SearchResult(trials=self.trials_frame(),
                                    generations=pd.DataFrame(self.generation_rows),
                                    curves=results.curves_frame(self.curves),
                                    best=self._best_json(finished=self.final is not None),
                                    out_dir=self.out_dir)

