"""PopulationBasedTraining: a population trains in steps; the worst copy the best and explore.

Synchronous population-based training (Jaderberg et al., 2017) with this project's parts. A
population of members, each a genome of the space and the weights of its network, trains
`epochs_per_step` epochs per step, in parallel through the Evaluator. After every step the
members in the bottom `quantile` (and every member whose training failed) *exploit*: each
copies the weights, momentum and hyperparameters of a member drawn from the top quantile, and
then *explores*: the GA's mutation operator perturbs the copied hyperparameters. The genes
in FIXED_GENES shape the weights or the run as a whole, so they are copied, never perturbed.

Workers receive plain dicts: the member's params, the weights file to start from (none at
step 0) and the file to write. A member's training seed is derived from the master seed, the
member and the step, and every decision comes from one Generator spawned from the master
seed, so results are the same for any n_jobs. After every step the whole state (Generator,
members, their weight files, the tables) is checkpointed: a search killed at any moment
resumes from its last complete step and ends exactly as an uninterrupted run would.
"""

import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import results
from .evaluate import Evaluator, MLPObjective, trial_seed
from .evolve import population_statistics
from .operators import mutate
from .results import METRIC_COLUMNS, PBT_LEADING_COLUMNS as LEADING_COLUMNS, PBT_TRAILING_COLUMNS as TRAILING_COLUMNS
from .search import ( GeneticSearch, SearchError, _objective_identity, _plain,
                     settings_difference)
from .space import Space

# Genes never explored: architecture and initialisation decide the weights' shapes and meaning,
# lr_schedule runs over the whole training, and epochs is set by steps x epochs_per_step.
FIXED_GENES = ("hidden_sizes", "init", "activation", "lr_schedule", "epochs")
WEIGHTS_DIR = Path("pbt") / "weights"


def _positive_integer(name, value, minimum=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class _StepTrainer:
    """The Evaluator's objective in PBT: one task dict -> objective.train_step(...)."""

    def __init__(self, objective):
        self.objective = objective

    def memmap(self, directory):
        if hasattr(self.objective, "memmap"):
            self.objective.memmap(directory)

    def __call__(self, task, seed):
        return self.objective.train_step(task["params"], seed, first_epoch=task["first_epoch"],
                                         epochs=task["epochs"], load=task["load"], save=task["save"])


class PopulationBasedTraining:
    """Population-based training of `objective`'s models over hyperparameters from `space`.

    objective: data splits (hpsearch.datasets.Splits) for the built-in MLP objective, or an
        object with MLPObjective's train_step(params, seed, *, first_epoch, epochs, load, save)
        -> metrics dict (and optionally state_test_score(params, path) for the test score).
    population: members training side by side; steps: rounds of training; epochs_per_step:
        epochs per round, so every member trains steps x epochs_per_step epochs (an `epochs`
        gene in the space is not used).
    quantile: the bottom and top fraction of the population (at least one member each) that
        exploit and are copied after every step; in (0, 0.5].
    mutation_indpb, mutation_scale: the GA's mutation (hpsearch.operators.mutate) as the
        explore step, applied to the searchable genes not in FIXED_GENES.
    time_limit (seconds): stop after the step that exceeds it. out_dir, n_jobs, timeout,
    blas_threads, backend, scheduler, seed, quiet and config as in GeneticSearch (workers on
    other machines need out_dir on a file system they share: the weight files live there).
    """

    def __init__(self, space, objective, *, population=8, steps=10, epochs_per_step=2, quantile=0.25,
                 mutation_indpb=0.3, mutation_scale=0.15, time_limit=None, n_jobs=1, timeout=None,
                 blas_threads=1, backend="loky", scheduler=None, seed=0, out_dir=None, quiet=False,
                 config=None):
        if not callable(objective) and not hasattr(objective, "train_step"):
            objective = MLPObjective(objective, task=getattr(objective, "task", "classification"))
        if not hasattr(objective, "train_step"):
            raise ValueError("objective: population-based training needs an objective with a "
                             "train_step method (MLPObjective or data splits)")
        if hasattr(objective, "check_params"):
            objective.check_params(space.names)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.population = _positive_integer("population", population, minimum=2)
        self.steps = _positive_integer("steps", steps)
        self.epochs_per_step = _positive_integer("epochs_per_step", epochs_per_step)
        if not (isinstance(quantile, (int, float)) and 0 < quantile <= 0.5):
            raise ValueError(f"quantile must be in (0, 0.5], got {quantile!r}")
        if not 0 <= mutation_indpb <= 1:
            raise ValueError(f"mutation_indpb must be in [0, 1], got {mutation_indpb!r}")
        if not mutation_scale > 0:
            raise ValueError(f"mutation_scale must be > 0, got {mutation_scale!r}")
        for name, value in (("time_limit", time_limit), ("timeout", timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.space = Space([gene for gene in space if gene.name != "epochs"]) if "epochs" in space else space
        explored = [gene for gene in self.space if gene.searchable and gene.name not in FIXED_GENES]
        self.explore_space = Space(explored) if explored else None
        self.objective = objective
        self.quantile = float(quantile)
        self.n_exploit = max(1, int(self.quantile * self.population))
        self.mutation_indpb, self.mutation_scale = mutation_indpb, mutation_scale
        self.time_limit = time_limit
        self.n_jobs, self.timeout, self.blas_threads = n_jobs, timeout, blas_threads
        self.backend, self.scheduler = backend, scheduler
        self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.quiet = quiet
        self.config = config

    @property
    def total_epochs(self):
        return self.steps * self.epochs_per_step

    @property
    def generation(self):
        """The last complete step (the command line reports it as a generation)."""
        return self.step

    def effective_config(self):
        """The config.toml written into a new results directory."""
        if self.config is not None:  # with the space as trained: an epochs gene is left out
            return {**self.config, "space": self.space.to_config()}
        search = {"mode": "pbt", "population": self.population, "steps": self.steps,
                  "epochs_per_step": self.epochs_per_step, "quantile": self.quantile,
                  "mutation_indpb": self.mutation_indpb, "mutation_scale": self.mutation_scale}
        parallel = {"n_jobs": self.n_jobs, "timeout": self.timeout, "blas_threads": self.blas_threads,
                    "backend": self.backend, "scheduler": self.scheduler}
        objective = {"metric": self.objective.metric} if hasattr(self.objective, "metric") else {}
        return {"seed": self.seed, "objective": objective, "search": search,
                "budget": {"time_limit": self.time_limit} if self.time_limit is not None else {},
                "parallel": {k: v for k, v in parallel.items() if v is not None},
                "space": self.space.to_config()}

    def settings(self):
        """Everything that decides the trials: resume requires equality (not steps, n_jobs)."""
        return {"mode": "pbt", "space": self.space.to_config(), "population": self.population,
                "epochs_per_step": self.epochs_per_step, "quantile": self.quantile,
                "mutation_indpb": self.mutation_indpb, "mutation_scale": self.mutation_scale,
                "seed": self.seed, "timeout": self.timeout,
                "objective": _objective_identity(self.objective)}

    # -- state ------------------------------------------------------------------------
    def _fresh_state(self):
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        self.step = -1
        self.members = []  # per member: params, fitness, trial_id, weights (a file name or None)
        self.rows = []
        self.curves = {}
        self.generation_rows = []
        self.lineage_rows = []
        self.elapsed = 0.0
        self.best_fitness = -math.inf
        self.final = None

    _STATE = ("step", "members", "rows", "curves", "generation_rows", "lineage_rows", "elapsed",
              "best_fitness", "final")

    def _state(self):
        return {"settings": self.settings(), "rng": self.rng.bit_generator.state,
                **{name: getattr(self, name) for name in self._STATE}}

    def _restore(self, state):
        differences = settings_difference(state["settings"], self.settings())
        if differences:
            raise SearchError(f"{self.out_dir}: cannot resume, the settings differ from the "
                              f"checkpoint's: {'; '.join(differences)}")
        self._fresh_state()
        self.rng.bit_generator.state = state["rng"]
        for name in self._STATE:
            setattr(self, name, state[name])

    # The GA's checks of the results directory and trials-table cells apply unchanged.
    _open_out_dir = GeneticSearch._open_out_dir
    _resume_or_start = GeneticSearch._resume_or_start
    _gene_columns = GeneticSearch._gene_columns

    def _remove_unused_weights(self, weights_dir):
        """Delete weight files no member uses: earlier steps', and those of a step that was
        interrupted before its checkpoint (it is rerun)."""
        used = {member["weights"] for member in self.members}
        for path in weights_dir.glob("*"):
            if path.name not in used:
                path.unlink(missing_ok=True)

    # -- the loop ---------------------------------------------------------------------
    def run(self):
        """Run (or resume) the training to its last step; return a SearchResult."""
        self._resume_or_start()
        with tempfile.TemporaryDirectory(prefix="hpsearch-pbt-") as scratch:
            weights_dir = (self.out_dir if self.out_dir is not None else Path(scratch)) / WEIGHTS_DIR
            weights_dir.mkdir(parents=True, exist_ok=True)
            self._remove_unused_weights(weights_dir)
            started = time.perf_counter() - self.elapsed
            with Evaluator(_StepTrainer(self.objective), n_jobs=self.n_jobs, timeout=self.timeout,
                           blas_threads=self.blas_threads, backend=self.backend,
                           scheduler=self.scheduler) as evaluator:
                while (reason := self.stop_reason()) is None:
                    self._step(evaluator, self.step + 1, weights_dir, started)
                    self._remove_unused_weights(weights_dir)
            self._finish(reason, weights_dir)
        return self.result()

    def stop_reason(self):
        if self.step + 1 >= self.steps:
            return f"steps ({self.steps})"
        if self.time_limit is not None and self.elapsed >= self.time_limit:
            return f"time_limit ({self.time_limit:g} s)"
        return None

    def _plan(self, step):
        """Per member: the params to train with, the trial and weights it continues from,
        the member it copied (exploit) and the operator."""
        if step == 0:
            return [{"params": self.space.sample(self.rng), "parent": None, "copied_from": None,
                     "operator": "init", "weights": None} for _ in range(self.population)]
        fitness = [member["fitness"] for member in self.members]
        ranked = sorted(range(self.population), key=lambda m: (-fitness[m], m))
        top = [m for m in ranked[:self.n_exploit] if math.isfinite(fitness[m])]
        bottom = set(ranked[-self.n_exploit:]) | {m for m in ranked if not math.isfinite(fitness[m])}
        plan = []
        for m, member in enumerate(self.members):
            if m not in bottom:
                plan.append({"params": member["params"], "parent": member["trial_id"], "copied_from": None,
                             "operator": "continue", "weights": member["weights"]})
                continue
            d = top[int(self.rng.integers(len(top)))]
            donor = self.members[d]
            plan.append({"params": self._explore(donor["params"]), "parent": donor["trial_id"],
                         "copied_from": d,
                         "operator": "exploit+explore" if self.explore_space else "exploit",
                         "weights": donor["weights"]})
        return plan

    def _explore(self, params):
        if self.explore_space is None:
            return dict(params)
        changed = mutate(self.explore_space, {name: params[name] for name in self.explore_space.names},
                         self.rng, indpb=self.mutation_indpb, scale=self.mutation_scale)
        return {name: changed.get(name, value) for name, value in params.items()}

    def _step(self, evaluator, step, weights_dir, started):
        step_start = time.perf_counter()
        plan = self._plan(step)
        tasks = []
        for m, entry in enumerate(plan):
            task = {"params": {**entry["params"], "epochs": self.total_epochs}, "member": m, "step": step,
                    "first_epoch": step * self.epochs_per_step, "epochs": self.epochs_per_step,
                    "load": None if entry["weights"] is None else str(weights_dir / entry["weights"]),
                    "save": str(weights_dir / f"member-{m}-step-{step}.npz")}
            tasks.append((task, trial_seed(self.seed, ("pbt", m, step))))
        bar = tqdm(total=len(tasks), desc=f"step {step}", leave=False,
                   disable=True if self.quiet else None, unit="member")
        try:
            outcomes = evaluator.evaluate(tasks, on_result=lambda i, outcome: bar.update())
        finally:
            bar.close()

        members, failures = [], 0
        for m, (entry, (task, seed), outcome) in enumerate(zip(plan, tasks, outcomes)):
            outcome = dict(outcome)
            trial_id = len(self.rows)
            curve = outcome.pop("curve", None)
            if curve:
                self.curves[trial_id] = {k: list(v) for k, v in curve.items()}
            ok = outcome["status"] == "ok"
            failures += not ok
            self.rows.append(self._row(trial_id, step, m, entry, outcome, seed))
            self.lineage_rows.append({"step": step, "member": m, "copied_from": entry["copied_from"],
                                      "trial_id": trial_id, "fitness": outcome["fitness"]})
            members.append({"params": entry["params"], "fitness": outcome["fitness"], "trial_id": trial_id,
                            "weights": Path(task["save"]).name if ok else None})
        self.members = members
        self.step = step
        fitnesses = [member["fitness"] for member in members]
        self.best_fitness = max(self.best_fitness, max(fitnesses))
        self.elapsed = time.perf_counter() - started
        stats = population_statistics(fitnesses)
        seconds = time.perf_counter() - step_start
        exploited = sum(entry["copied_from"] is not None for entry in plan)
        self.generation_rows.append({
            "generation": step, **stats, "best_so_far": self.best_fitness,
            "diversity": self.space.diversity([member["params"] for member in members]),
            "evaluations": len(tasks), "cached": 0, "failures": failures, "exploited": exploited,
            "evaluations_total": len(self.rows), "epochs_total": (step + 1) * self.epochs_per_step,
            "seconds": seconds, "elapsed": self.elapsed,
        })
        if not self.quiet:
            tqdm.write(f"step {step:3d}  best {stats['max']:.4f}  mean {stats['mean']:.4f}  "
                       f"exploited {exploited}  failed {failures}  ({seconds:.1f} s)")
        if failures == len(members):
            self._save()
            first = self.rows[-len(members)]
            raise SearchError(f"all {len(members)} members failed in step {step}, stopping "
                              f"(trial {first['trial_id']}: {first['reason']})")
        self._save()

    def _row(self, trial_id, step, member, entry, outcome, seed):
        metrics = {k: v for k, v in outcome.items()
                   if k not in ("status", "fitness", "reason", "seconds") and np.isscalar(v)}
        return {
            "trial_id": trial_id, "generation": step, "member": member, "status": outcome["status"],
            "fitness": outcome["fitness"], "cached": False, **self._gene_columns(entry["params"]),
            **metrics, "epochs_total": (step + 1) * self.epochs_per_step, "seed": seed,
            "seconds": outcome.get("seconds", math.nan),
            "parents": "" if entry["parent"] is None else str(entry["parent"]),
            "operator": entry["operator"], "copied_from": entry["copied_from"],
            "reason": outcome.get("reason", ""),
        }

    # -- results ----------------------------------------------------------------------
    def _best_member(self):
        """Index of the best member after the last step (lowest index among equals), or None."""
        if not self.members:
            return None
        best = max(range(self.population), key=lambda m: (self.members[m]["fitness"], -m))
        return best if math.isfinite(self.members[best]["fitness"]) else None

    def _best_record(self):
        m = self._best_member()
        if m is None:
            return {}
        member = self.members[m]
        row = self.rows[member["trial_id"]]
        return {"trial_id": member["trial_id"], "generation": row["generation"], "member": m,
                "fitness": member["fitness"], "params": {k: _plain(v) for k, v in member["params"].items()},
                "seed": row["seed"], "epochs_total": row["epochs_total"], "weights": member["weights"]}

    def _finish(self, reason, weights_dir):
        record = self._best_record()
        if self.final is None or self.final.get("trial_id") != record.get("trial_id"):
            test = {}
            data = getattr(self.objective, "data", None)
            if record and hasattr(self.objective, "state_test_score") and (data is None or "X_test" in data):
                test = self.objective.state_test_score(record["params"], weights_dir / record["weights"])
            self.final = {**record, **test}
        self.final["stop_reason"] = reason
        self._save(finished=True)
        if not self.quiet and self.final.get("params"):
            test = self.final.get("test_metric")
            tqdm.write(f"stopped: {reason}; best member {self.final['member']} fitness "
                       f"{self.final['fitness']:.4f}" + (f", test {test:.4f}" if test is not None else ""))

    def _best_json(self, finished):
        best = dict(self.final) if finished and self.final else self._best_record()
        return {**best, "finished": finished, "mode": "pbt", "generations": self.step + 1,
                "evaluations": len(self.rows), "trials": len(self.rows), "seed": best.get("seed"),
                "master_seed": self.seed}

    def schedule_frame(self):
        """The best member's history: per step, the trial it trained in, which member that
        was, its operator (and whom it copied), its hyperparameters and its fitness, found by
        walking the trials' parents back from the best trial to step 0."""
        m = self._best_member()
        if m is None:
            return pd.DataFrame(columns=["step", "trial_id", "member", "operator", "copied_from", "fitness"])
        chain, trial_id = [], self.members[m]["trial_id"]
        while trial_id is not None:
            row = self.rows[trial_id]
            chain.append(row)
            trial_id = int(row["parents"]) if row["parents"] else None
        genes = list(self._gene_columns(self.members[m]["params"]))
        columns = ["generation", "trial_id", "member", "operator", "copied_from", "fitness", *genes,
                   "epochs_total"]
        frame = pd.DataFrame([{k: row[k] for k in columns} for row in reversed(chain)])
        return frame.rename(columns={"generation": "step"}).astype({"copied_from": "Int64"})

    def lineage_frame(self):
        frame = pd.DataFrame(self.lineage_rows,
                             columns=["step", "member", "copied_from", "trial_id", "fitness"])
        return frame.astype({"copied_from": "Int64"})  # member numbers, empty where none was copied

    def trials_frame(self):
        frame = pd.DataFrame(self.rows)
        if frame.empty:
            return frame
        genes = list(self._gene_columns(self.members[0]["params"] if self.members else {}))
        rest = [c for c in frame.columns if c not in LEADING_COLUMNS + TRAILING_COLUMNS + genes]
        metrics = [c for c in METRIC_COLUMNS if c in rest] + [c for c in rest if c not in METRIC_COLUMNS]
        return frame[LEADING_COLUMNS + genes + metrics + TRAILING_COLUMNS].astype({"copied_from": "Int64"})

    def _save(self, finished=False):
        if self.out_dir is None:
            return
        results.write_csv(self.out_dir / results.TRIALS, self.trials_frame())
        results.write_csv(self.out_dir / results.GENERATIONS, pd.DataFrame(self.generation_rows))
        results.write_csv(self.out_dir / results.CURVES, results.curves_frame(self.curves))
        results.write_csv(self.out_dir / results.PBT_SCHEDULE, self.schedule_frame())
        results.write_csv(self.out_dir / results.PBT_LINEAGE, self.lineage_frame())
        results.write_json(self.out_dir / results.BEST, self._best_json(finished))
        results.write_checkpoint(self.out_dir, self._state())

    def result(self):
        return results.SearchResult(trials=self.trials_frame(), generations=pd.DataFrame(self.generation_rows),
                                    curves=results.curves_frame(self.curves),
                                    best=self._best_json(finished=self.final is not None),
                                    out_dir=self.out_dir, schedule=self.schedule_frame(),
                                    lineage=self.lineage_frame())
