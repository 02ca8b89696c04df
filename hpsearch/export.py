"""Export a results directory to other tools: every trial into an Optuna study.

    from hpsearch.export import to_optuna
    name = to_optuna("runs/digits", "sqlite:///digits.db")      # or: hpsearch export runs/digits --optuna ...
    study = optuna.load_study(study_name=name, storage="sqlite:///digits.db")
    optuna.visualization.plot_param_importances(study)           # or optuna-dashboard sqlite:///digits.db

Optuna is an optional dependency (pip install 'hpsearch[optuna]'). How trials map:

- Parameters and distributions come from the [space] table of config.toml. A float gene is a
  FloatDistribution (log where the gene is); an int gene an IntDistribution with its step
  (Optuna has no log scale with a step > 1: such a gene is exported without log); a
  power_of_two int gene an IntDistribution(low, high, log=True), which holds its powers of two
  and keeps them ordered as numbers (a categorical would lose the order in Optuna's plots);
  a categorical gene a CategoricalDistribution of its choices. A layers gene (hidden_sizes)
  becomes its depth, n_layers (the trials.csv column: <gene>_n_layers where a space has
  several), and one IntDistribution per layer, <gene>_1, <gene>_2, ... (conditional
  parameters: a trial has as many as its layers); the sizes as a list are also a user
  attribute named after the gene. Constant genes are user attributes, not parameters.
- Values: the fitness, direction "maximize"; a search with direction "minimize" exports its
  `value` column (the objective's own number) with direction "minimize". A multi-objective
  (NSGA-II) search exports one value per objective with its direction (val_metric is the
  fitness; n_params, train_seconds, latency are minimised).
- States: "ok" is COMPLETE; "pruned" and "promoted" (a multi-fidelity training stopped early,
  or cut short at a rung below its genome's last, so never the best) are PRUNED, with the
  value they reached; "failed", "diverged" and "timeout" are FAIL, without a value.
- User attributes: every other trials.csv cell (trial_id, generation, status, reason, seed,
  operator, parents as a list of trial ids, cached, rung, epochs_run, val_loss, n_params, ...;
  empty cells left out). Intermediate values: the trial's validation score per epoch
  (curves.csv's val_metric; higher is better whatever the study's direction).
- The study's user attributes: the results directory and best.json's trial_id
  (hpsearch_best_trial_id). Optuna's own best_trial is the best COMPLETE value; among equal
  values it may pick another trial than hpsearch's tie rule (fewer parameters first).

Trials are added in trial_id order, so Optuna's trial numbers equal the trial ids. Population-
based training's results (members and steps, not trials of a space) are not exported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import results
from .errors import UserError
from .genes import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from .space import Space

__all__ = ["distributions", "optuna_params", "to_optuna"]

# Directions of NSGA-II's objectives (hpsearch.pareto.OBJECTIVES, not imported: its module
# loads the result tables' machinery only).
_MAXIMISED = ("val_metric",)
_STATES = {"ok": "COMPLETE", "pruned": "PRUNED", "promoted": "PRUNED"}  # every other status: FAIL


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UserError("exporting to Optuna needs the optuna package: pip install 'hpsearch[optuna]'") from None
    return optuna


def _layer_names(space: Space, gene: LayersGene) -> tuple[str, list[str]]:
    """(depth parameter, per-layer size parameters) of a layers gene."""
    depth = space.columns()[space.columns().index(gene.name) + 1]  # n_layers or <gene>_n_layers
    return depth, [f"{gene.name}_{i}" for i in range(1, gene.max_layers + 1)]


def distributions(space: Space) -> dict[str, Any]:
    """{Optuna parameter name: its distribution} for every parameter a trial of `space` may
    have (a layers gene's per-layer sizes are conditional: a trial has as many as its layers)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, Any] = {}
    for gene in space:
        if isinstance(gene, FloatGene):
            found[gene.name] = FloatDistribution(gene.low, gene.high, log=gene.log)
        elif isinstance(gene, IntGene) and gene.power_of_two:
            found[gene.name] = IntDistribution(gene.low, gene.high, log=True)
        elif isinstance(gene, IntGene):
            found[gene.name] = IntDistribution(gene.low, gene.grid_high, log=gene.log and gene.step == 1,
                                               step=gene.step)
        elif isinstance(gene, CategoricalGene):
            found[gene.name] = CategoricalDistribution(gene.choices)
        elif isinstance(gene, LayersGene):
            depth, sizes = _layer_names(space, gene)
            found[depth] = IntDistribution(gene.min_layers, gene.max_layers)
            for name in sizes:
                found[name] = IntDistribution(gene.low, gene.high, log=gene.log)
        elif not isinstance(gene, ConstantGene):
            raise UserError(f"space.{gene.name}: a {gene.kind} gene has no Optuna distribution")
    clashes = sorted(set(found) & {gene.name for gene in space if gene.name not in found})
    if clashes:
        raise UserError(f"space.{clashes[0]}: clashes with a parameter of a layers gene exported to Optuna")
    return found


def optuna_params(space: Space, genome: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Optuna params, user attributes) of a genome: constant genes and each layers gene's
    list of sizes are user attributes."""
    params: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for gene in space:
        value = genome[gene.name]
        if isinstance(gene, ConstantGene):
            attrs[gene.name] = results.plain(value)
        elif isinstance(gene, LayersGene):
            depth, sizes = _layer_names(space, gene)
            params[depth] = len(value)
            params.update({name: int(size) for name, size in zip(sizes, value)})
            attrs[gene.name] = [int(size) for size in value]
        else:
            params[gene.name] = results.plain(value)
    return params, attrs


def _cell(column: str, text: str) -> Any:
    """A trials.csv cell as a user attribute (JSON): a number, a bool, a list of parents, text."""
    if column == "parents":
        return list(results.parent_ids(text))
    if column in ("status", "reason", "operator", "worker"):
        return text
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _directions(config: Mapping[str, Any], best: Mapping[str, Any]) -> tuple[list[str], list[str] | None]:
    """(study directions, NSGA-II's objective names or None)."""
    objectives = list(results.config_table(config, "search").get("objectives") or [])
    if len(objectives) >= 2:
        return ["maximize" if name in _MAXIMISED else "minimize" for name in objectives], objectives
    direction = best.get("direction") or results.config_table(config, "objective").get("direction") or "maximize"
    if direction not in ("maximize", "minimize"):
        raise UserError(f"best.json: unknown direction {direction!r}")
    return [direction], None


def _values(row: Mapping[str, str], directions: list[str], objectives: list[str] | None) -> list[float]:
    if objectives is not None:
        return [_number(row.get("fitness" if name == "val_metric" else name, "")) for name in objectives]
    return [_number(row.get("value" if directions[0] == "minimize" else "fitness", ""))]


def _frozen_trials(out_dir: Path, space: Space, directions: list[str], objectives: list[str] | None) -> list[Any]:
    optuna = _optuna()
    from optuna.trial import TrialState

    known = distributions(space)
    trials = results.read_table(out_dir / results.TRIALS, dtype=str, keep_default_na=False)
    # Numbers exactly as written.
    curves = results.read_table(out_dir / results.CURVES, dtype=str, keep_default_na=False)
    intermediate: dict[int, dict[int, float]] = {}
    if "val_metric" in curves:
        for trial_id, epoch, score in zip(curves["trial_id"], curves["epoch"], curves["val_metric"]):
            intermediate.setdefault(int(trial_id), {})[int(epoch)] = _number(score)
    skip = set(space.columns())  # genes and depths: params, or user attributes as values
    frozen = []
    for row in sorted(trials.to_dict("records"), key=lambda r: int(r["trial_id"])):
        try:
            genome = space.parse_row(row)
        except ValueError as error:
            raise UserError(f"trials.csv: trial {row['trial_id']}: {error}") from None
        params, attrs = optuna_params(space, genome)
        attrs.update({column: _cell(column, text) for column, text in row.items()
                      if column not in skip and text != ""})
        state = getattr(TrialState, _STATES.get(row.get("status", ""), "FAIL"))
        values: list[float] | None = _values(row, directions, objectives)
        finite = all(math.isfinite(v) for v in values or ())
        if state == TrialState.COMPLETE and not finite:  # scored, but no number for an objective
            state = TrialState.FAIL
        if state == TrialState.FAIL or not finite:
            values = None
        frozen.append(optuna.trial.create_trial(
            state=state, values=values, params=params,
            distributions={name: known[name] for name in params}, user_attrs=attrs,
            intermediate_values=intermediate.get(int(row["trial_id"]), {})))
    return frozen


def to_optuna(out_dir: str | os.PathLike[str], storage_url: str, study_name: str | None = None, *,
              replace: bool = False) -> str:
    """Write every trial of results directory `out_dir` into a new Optuna study in storage
    `storage_url` (an RDB URL such as sqlite:///FILE.db) and return the study's name: by
    default the directory's name. An existing study of that name is refused (replace=True
    deletes it first). User errors raise UserError (a ValueError) with a one-line message."""
    optuna = _optuna()
    out_dir = Path(out_dir)
    result = results.load(out_dir)  # ValueError: not a results directory
    config = results.read_config(out_dir)
    if results.config_table(config, "search").get("mode") == "pbt" or "member" in result.trials:
        raise UserError(f"{out_dir}: population-based training results have members and steps, not "
                         f"trials of a space: not exported to Optuna")
    table = config.get("space")
    if not isinstance(table, Mapping) or not table:
        raise UserError(f"{out_dir}: config.toml has no [space] table, which the parameters' distributions "
                         f"come from")
    try:
        space = Space.from_config(table)
    except (ValueError, TypeError) as error:
        raise UserError(f"{out_dir}/config.toml: {error}") from None
    directions, objectives = _directions(config, result.best)
    frozen = _frozen_trials(out_dir, space, directions, objectives)
    name = study_name if study_name is not None else out_dir.resolve().name
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"study name: must be a non-empty string, got {name!r}")

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        try:
            storage = optuna.storages.get_storage(storage_url)
        except Exception as error:  # a malformed URL, a missing driver or folder, ...
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UserError(f"storage {storage_url!r}: cannot open it ({message})") from None
        existing = optuna.get_all_study_names(storage)
        if name in existing and not replace:
            raise UserError(f"study {name!r} already exists in {storage_url} (choose another study name)")
        if name in existing:
            optuna.delete_study(study_name=name, storage=storage)
        study = optuna.create_study(storage=storage, study_name=name, directions=directions)
        study.set_user_attr("hpsearch_results", str(out_dir.resolve()))
        if "trial_id" in result.best:
            study.set_user_attr("hpsearch_best_trial_id", int(result.best["trial_id"]))
        study.add_trials(frozen)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return name
