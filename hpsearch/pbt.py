"""PopulationBasedTraining: a population trains in steps; the worst copy the best and explore.

Synchronous population-based training (Jaderberg et al., 2017) with this project's parts. A
population of members, each a genome of the space and the weights of its network, trains
`epochs_per_step` epochs per step, in parallel through the Evaluator. After every step the
members in the bottom `quantile` (and every member whose training failed) *exploit*: each
copies the weights, momentum and hyperparameters of a member drawn from the top quantile, and
then *explores*: the GA's mutation operator perturbs the copied hyperparameters. The genes
in mlp.ARCHITECTURE_GENES shape the weights or the run as a whole, so they are copied, never perturbed.

Workers receive plain dicts: the member's params, the weights file to start from (none at
step 0) and the file to write. A member's training seed is derived from the master seed, the
member and the step, and every decision comes from one Generator spawned from the master
seed, so results are the same for any n_jobs. After every step the state (Generator,
members, their weight files, the new table rows) is checkpointed: a search killed at any moment
resumes from its last complete step and ends exactly as an uninterrupted run would.
"""

import contextlib
import dataclasses
import math
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import netcore

from . import results
from .budget import Spending
from .evaluate import Evaluator
from .evolve import population_statistics, rank_key
from .mlp import ARCHITECTURE_GENES, MLPObjective
from .objective import Capabilities, check_space, identity
from .operators import mutate
from .results import gene_cells, plain_genome
from .run import Run
from .settings import PBT, Budget, Parallel, gather
from .space import Space
from .trial import trial_seed

WEIGHTS_DIR = Path("pbt") / "weights"
WEIGHTS_FILE = re.compile(r"member-\d+-step-\d+\.npz")


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


class PopulationBasedTraining(Run):
    """Population-based training of `objective`'s models over hyperparameters from `space`.

    Args:
        space: the genes searched (hpsearch.Space).
        objective: data splits (hpsearch.datasets.Splits) for the built-in MLP objective, or
            an object with MLPObjective's ``train_step(params, seed, *, first_epoch, epochs,
            load, save)`` -> metrics dict (and optionally ``state_test_score(params, path)``
            for the test score).
        pbt: hpsearch.PBT (population, steps, epochs_per_step, quantile, mutation_indpb,
            mutation_scale; every member trains steps x epochs_per_step epochs, so an
            `epochs` gene in the space is not used), or its fields one by one as keyword
            arguments. The explore step perturbs the searchable genes not in
            mlp.ARCHITECTURE_GENES.
        budget: only time_limit applies (stop after the step that exceeds it).
        parallel: as in GeneticSearch (workers on other machines need out_dir on a file
            system they share: the weight files live there).
        seed: the master seed, as in GeneticSearch.
        out_dir: the results directory, as in GeneticSearch.
        quiet: no progress output.
        config: the config to save as out_dir/config.toml, as in GeneticSearch.
    """

    leading_columns = results.PBT_LEADING_COLUMNS
    trailing_columns = results.PBT_TRAILING_COLUMNS
    best_json_extra = {"mode": "pbt"}

    def __init__(self, space: Space, objective: Any, *, pbt: PBT | dict[str, Any] | None = None,
                 budget: Budget | dict[str, Any] | None = None, parallel: Parallel | dict[str, Any] | None = None,
                 seed: int = 0, out_dir: Any = None, quiet: bool = False, config: dict[str, Any] | None = None,
                 **settings: Any) -> None:
        chosen = gather({"pbt": (PBT, pbt), "budget": (Budget, budget), "parallel": (Parallel, parallel)},
                        settings)
        if not callable(objective) and not hasattr(objective, "train_step"):
            objective = MLPObjective(objective, task=getattr(objective, "task", "classification"))
        if not Capabilities.of(objective).steps:
            raise ValueError("objective: population-based training needs an objective with a "
                             "train_step method (MLPObjective or data splits)")
        check_space(objective, space)
        super().__init__(objective, seed=seed, out_dir=out_dir, quiet=quiet, config=config)
        self.pbt, self.budget, self.parallel = chosen["pbt"], chosen["budget"], chosen["parallel"]
        unused = [k for k, v in dataclasses.asdict(self.budget).items() if v is not None and k != "time_limit"]
        if unused:
            raise ValueError(f"{unused[0]}: not a budget of population-based training "
                             "(its budgets are steps and time_limit)")
        self.space = Space([gene for gene in space if gene.name != "epochs"]) if "epochs" in space else space
        explored = [gene for gene in self.space if gene.searchable and gene.name not in ARCHITECTURE_GENES]
        self.explore_space = Space(explored) if explored else None
        self.n_exploit = max(1, int(self.pbt.quantile * self.pbt.population))

    def effective_config(self) -> dict[str, Any]:
        """The config.toml written into a new results directory."""
        if self.config is not None:  # with the space as trained: an epochs gene is left out
            return {**self.config, "space": self.space.to_config()}
        return {"seed": self.seed, "objective": self._objective_config(),
                "search": {"mode": "pbt", **dataclasses.asdict(self.pbt)},
                "budget": dataclasses.asdict(self.budget), "parallel": dataclasses.asdict(self.parallel),
                "space": self.space.to_config()}

    def resume_settings(self) -> dict[str, Any]:
        """Everything that decides the trials: resume requires equality (not steps, n_jobs)."""
        pbt = {k: v for k, v in dataclasses.asdict(self.pbt).items() if k != "steps"}
        return {"mode": "pbt", "space": self.space.to_config(), "pbt": pbt, "seed": self.seed,
                "timeout": self.parallel.timeout, "objective": identity(self.objective)}

    # -- state ------------------------------------------------------------------------
    def _fresh_state(self):
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        self.spending = Spending(self.budget, self.pbt.steps, unit="steps")
        self._new_tables(self.space.columns())
        self.trials.dtypes = {"copied_from": "Int64"}
        self.members = []  # per member: params, fitness, trial_id, weights (a file name or None)
        path = None if self.out_dir is None else self.out_dir / results.PBT_LINEAGE
        self.lineage = results.CsvLog(path, columns=["step", "member", "copied_from", "trial_id", "fitness"])
        self.lineage.dtypes = {"copied_from": "Int64"}  # member numbers, empty where none was copied

    def _snapshot(self):
        return {"rng": self.rng.bit_generator.state, "members": self.members}

    def _load_snapshot(self, snapshot, logs):
        self.rng.bit_generator.state = snapshot["rng"]
        self.members = snapshot["members"]
        for member in self.members:  # a file name this run wrote, never a path elsewhere
            if member["weights"] is not None and not WEIGHTS_FILE.fullmatch(str(member["weights"])):
                raise ValueError(f"member weights {member['weights']!r} is not a weights file name")
        self.lineage.add(logs.get("lineage_rows", []))

    def _logs(self):
        return {"lineage_rows": self.lineage.rows}

    def _appended_tables(self):
        return [*super()._appended_tables(), self.lineage]

    def _rewritten_tables(self):
        return {results.PBT_SCHEDULE: self.schedule_frame()}

    def result_tables(self) -> dict[str, pd.DataFrame]:
        return {"schedule": self.schedule_frame(), "lineage": self.lineage.frame()}

    def _remove_unused_weights(self):
        """Delete weight files no member uses: earlier steps', and those of a step that was
        interrupted before its checkpoint (it is rerun)."""
        used = {member["weights"] for member in self.members}
        for path in self.weights_dir.glob("member-*-step-*.npz"):
            if path.name not in used:
                path.unlink(missing_ok=True)  # a link itself, never what it points to

    # -- the loop ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(self):
        with tempfile.TemporaryDirectory(prefix="hpsearch-pbt-") as scratch:
            self.weights_dir = (self.out_dir if self.out_dir is not None else Path(scratch)) / WEIGHTS_DIR
            if self.out_dir is not None:  # checked again: links may have been planted since the start
                results.refuse_links(self.out_dir, ("pbt", str(WEIGHTS_DIR)))
            self.weights_dir.mkdir(parents=True, exist_ok=True)
            self._remove_unused_weights()
            with Evaluator(_StepTrainer(self.objective), **dataclasses.asdict(self.parallel)) as evaluator:
                yield evaluator

    def _plan(self, step):
        """Per member: the params to train with, the trial and weights it continues from,
        the member it copied (exploit) and the operator."""
        if step == 0:
            return [{"params": self.space.sample(self.rng), "parent": None, "copied_from": None,
                     "operator": "init", "weights": None} for _ in range(self.pbt.population)]
        fitness = [member["fitness"] for member in self.members]
        ranked = sorted(range(self.pbt.population), key=lambda m: (-fitness[m], m))
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
                         self.rng, indpb=self.pbt.mutation_indpb, scale=self.pbt.mutation_scale)
        return {name: changed.get(name, value) for name, value in params.items()}

    def _step(self, evaluator):
        step = self.spending.generation + 1
        step_start = time.perf_counter()
        plan = self._plan(step)
        epochs_per_step = self.pbt.epochs_per_step
        tasks = []
        for m, entry in enumerate(plan):
            task = {"params": {**entry["params"], "epochs": self.pbt.total_epochs}, "member": m, "step": step,
                    "first_epoch": step * epochs_per_step, "epochs": epochs_per_step,
                    "load": None if entry["weights"] is None else str(self.weights_dir / entry["weights"]),
                    "save": str(self.weights_dir / f"member-{m}-step-{step}.npz")}
            tasks.append((task, trial_seed(self.seed, ("pbt", m, step))))
        progress = tqdm(total=len(tasks), desc=f"step {step}", leave=False,
                        disable=True if self.quiet else None, unit="member")
        try:
            outcomes = evaluator.evaluate(tasks, on_result=lambda i, outcome: progress.update())
        finally:
            progress.close()

        members, failures = [], 0
        for m, (entry, (task, seed), outcome) in enumerate(zip(plan, tasks, outcomes)):
            outcome = dict(outcome)
            trial_id = len(self.trials.rows)
            self.add_curve(trial_id, outcome.pop("curve", None))
            ok = outcome["status"] == "ok"
            failures += not ok
            self.trials.add([self._row(trial_id, step, m, entry, outcome, seed)])
            self.lineage.add([{"step": step, "member": m, "copied_from": entry["copied_from"],
                               "trial_id": trial_id, "fitness": outcome["fitness"]}])
            members.append({"params": entry["params"], "fitness": outcome["fitness"], "trial_id": trial_id,
                            "weights": Path(task["save"]).name if ok else None})
        self.members = members
        fitnesses = [member["fitness"] for member in members]
        spending = self.spending
        spending.end_generation(step, len(tasks), len(tasks) * epochs_per_step, max(fitnesses),
                                max(fitnesses) > spending.best_fitness,
                                elapsed=time.perf_counter() - self._started)
        stats = population_statistics(fitnesses)
        seconds = time.perf_counter() - step_start
        exploited = sum(entry["copied_from"] is not None for entry in plan)
        self.generations.add([{
            "generation": step, **stats, "best_so_far": spending.best_fitness,
            "diversity": self.space.diversity([member["params"] for member in members]),
            "evaluations": len(tasks), "cached": 0, "failures": failures, "exploited": exploited,
            "evaluations_total": len(self.trials.rows), "epochs_total": (step + 1) * epochs_per_step,
            "seconds": seconds, "elapsed": spending.elapsed,
        }])
        self.log_progress(f"best {stats['max']:.4f}  mean {stats['mean']:.4f}  exploited {exploited}  "
                          f"failed {failures}  ({seconds:.1f} s)")
        self._save()
        self._remove_unused_weights()
        self._check_not_all_failed(self.trials.rows[-len(members):], "members", f" in step {step}")

    def _row(self, trial_id, step, member, entry, outcome, seed):
        return {
            "trial_id": trial_id, "generation": step, "member": member, "status": outcome["status"],
            "fitness": outcome["fitness"], "cached": False, **gene_cells(self.space, entry["params"]),
            **results.metric_cells(outcome), "epochs_total": (step + 1) * self.pbt.epochs_per_step,
            "seed": seed, "seconds": outcome.get("seconds", math.nan),
            "parents": "" if entry["parent"] is None else str(entry["parent"]),
            "operator": entry["operator"], "copied_from": entry["copied_from"],
            "reason": outcome.get("reason", ""), "worker": outcome.get("worker", ""),
        }

    # -- results ----------------------------------------------------------------------
    def _best_member(self):
        """Index of the best member after the last step, or None. Of equal fitnesses, the
        member with fewer parameters (n_params, where the objective reports it), then the
        lower validation loss, then the earlier trial (the lower member index): rank_key."""
        if not self.members:
            return None
        rows = self.trials.rows
        best = max(range(self.pbt.population),
                   key=lambda m: rank_key(self.members[m]["fitness"], rows[self.members[m]["trial_id"]]))
        return best if math.isfinite(self.members[best]["fitness"]) else None

    def _best_record(self):
        m = self._best_member()
        if m is None:
            return {}
        member = self.members[m]
        row = self.trials.rows[member["trial_id"]]
        return {"trial_id": member["trial_id"], "generation": row["generation"], "member": m,
                "fitness": member["fitness"], "params": plain_genome(member["params"]),
                "seed": row["seed"], "epochs_total": row["epochs_total"], "weights": member["weights"]}

    def _test_scores(self, record):
        """The best member's test scores (data with a test split) and, with an out_dir, its
        network as out_dir's best_model.npz (named in best.json's "model"), as the GA saves
        its best; the model's history is the member's lineage, step after step."""
        state = self.weights_dir / record["weights"]
        scores = self.objective.state_test_score(record["params"], state) if self.capabilities.test_split else {}
        if self.out_dir is None or not self.capabilities.saves_model:
            return scores
        curves = self.curves_by_trial()
        lineage = [curves.get(int(trial_id), {}) for trial_id in self.schedule_frame()["trial_id"]]
        history = netcore.History(**{name: [value for curve in lineage for value in curve.get(name, [])]
                                     for name in ("train_loss", "val_loss", "val_metric")},
                                  metric=getattr(self.objective, "metric", ""))
        results.save_atomic(self.out_dir / results.BEST_MODEL,
                            lambda path: self.objective.save_state_model(record["params"], state, path, history))
        return {**scores, "model": results.BEST_MODEL}

    def schedule_frame(self) -> pd.DataFrame:
        """The best member's history: per step, the trial it trained in, which member that
        was, its operator (and whom it copied), its hyperparameters and its fitness, found by
        walking the trials' parents back from the best trial to step 0."""
        m = self._best_member()
        if m is None:
            return pd.DataFrame(columns=["step", "trial_id", "member", "operator", "copied_from", "fitness"])
        chain, trial_id = [], self.members[m]["trial_id"]
        while trial_id is not None:
            row = self.trials.rows[trial_id]
            chain.append(row)
            trial_id = int(row["parents"]) if row["parents"] else None
        genes = list(gene_cells(self.space, self.members[m]["params"]))
        columns = ["generation", "trial_id", "member", "operator", "copied_from", "fitness", *genes,
                   "epochs_total"]
        frame = pd.DataFrame([{k: row[k] for k in columns} for row in reversed(chain)])
        return frame.rename(columns={"generation": "step"}).astype({"copied_from": "Int64"})
