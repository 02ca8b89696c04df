"""Reading a TOML config and checking it key by key.

This module checks what only a TOML file can get wrong: tables where values belong and the
reverse, unknown keys (with a did-you-mean hint), keys of the other search mode, warm-start
genomes against the space, space genes the MLP does not have ([dataset] against the data
set's loader: dataset.py). The values themselves are checked by the settings objects built
from them (hpsearch.settings, hpsearch.Fidelity); their ValueError, "population: must be
>= 2, got 1", becomes a ConfigError naming the table, "search.population: ...".
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import checks
from ..evolve import check_searchable
from ..fidelity import Fidelity, check_space
from ..genes import ConstantGene, FloatGene
from ..mlp import MLP_DEFAULTS, default_space
from ..mlp import check_space as check_mlp_space
from ..settings import DIRECTIONS, GA, PBT, Budget, Parallel, field_names
from ..space import Space
from ..strategies import Breeding, breeding_from_config, check_breeding
from ..strategies.racing import Racing, check_racing
from .dataset import parse_dataset
from .schema import (
    DATASET_KEYS,
    GA_ONLY_BUDGETS,
    GA_ONLY_KEYS,
    MODES,
    MOVED_SEARCH_KEYS,
    PBT_ONLY_KEYS,
    SEARCH_KEYS,
    SINGLE_FIDELITY,
    SPACE_MODES,
    TABLES,
    TASK_METRICS,
    TOP_LEVEL_KEYS,
    Config,
    ConfigError,
    DatasetConfig,
    ObjectiveConfig,
    extend_default,
)

# The keys of each table with a fixed set of them ([dataset] also takes loader options).
TABLE_KEYS = {
    "objective": field_names(ObjectiveConfig),
    "search": SEARCH_KEYS,
    "budget": field_names(Budget),
    "fidelity": field_names(Fidelity),
    "parallel": field_names(Parallel),
    "racing": field_names(Racing),
}


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a TOML config file; every problem is a one-line ConfigError."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text "
                          f"({error.reason} at byte {error.start})") from None
    return parse_config(table, source=path)


def parse_config(mapping: Mapping[str, Any], source: str | os.PathLike | None = None) -> Config:
    """Validate a TOML-like mapping (as tomllib returns it) and build a Config.

    ``source`` is the file it came from: ``out_dir`` defaults to ``runs/<its stem>``;
    without a source there is no default results directory.
    """
    source = Path(source) if source is not None else None
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"config: expected a table, got {checks.show(mapping)}")
    _check_top_level(mapping)
    seed = checks.integer("seed", mapping.get("seed", 0), minimum=0, error=ConfigError)
    out_dir: Path | None
    if "out_dir" in mapping:
        out_dir = Path(checks.string("out_dir", mapping["out_dir"], error=ConfigError))
    else:
        out_dir = Path("runs") / source.stem if source is not None else None
    tables = {name: _table(name, mapping.get(name, {})) for name in TABLES if name != "space"}
    dataset = parse_dataset(tables["dataset"])
    objective = _parse_objective(tables["objective"], dataset)
    search = tables["search"]
    for key in search:
        if key in MOVED_SEARCH_KEYS:
            raise ConfigError(f"search.{key}: moved: use {MOVED_SEARCH_KEYS[key]}")
    checks.known_keys("search", search, SEARCH_KEYS, error=ConfigError)
    space_mode = checks.choice("search.space", search.get("space", SPACE_MODES[0]), SPACE_MODES, error=ConfigError)
    space, defaulted = _parse_space(mapping.get("space"), space_mode)
    mode = checks.choice("search.mode", search.get("mode", MODES[0]), MODES, error=ConfigError)
    _check_mode_keys(search, tables["budget"], mode)
    if mode == "pbt":
        for table in ("fidelity", "breeding", "racing"):
            if table in mapping:
                raise ConfigError(f"{table}: not used when search.mode = 'pbt' (PBT trains in steps of its own)")
    fields = {key: value for key, value in search.items() if key not in ("mode", "space", "warm_start")}
    ga = make_settings(GA, "search", fields) if mode == "ga" else GA()
    pbt = make_settings(PBT, "search", fields) if mode == "pbt" else PBT()
    budget = make_settings(Budget, "budget", tables["budget"])
    try:  # "auto" settings resolved as the search will: a bad combination is an error now
        resolved = ga.resolved(budget)
    except ValueError as error:
        raise ConfigError(f"search.{error}") from None
    ga = dataclasses.replace(ga, warm_start=_parse_warm_start(search.get("warm_start", []), space, resolved,
                                                              defaulted))
    breeding = _parse_breeding(tables["breeding"], ga.objectives, space)
    racing = _parse_racing(tables["racing"])
    fidelity = _parse_fidelity(tables["fidelity"], space)
    parallel = make_settings(Parallel, "parallel", tables["parallel"])
    return Config(dataset=dataset, objective=objective, mode=mode, ga=ga, breeding=breeding,
                  racing=racing, pbt=pbt,
                  budget=budget, parallel=parallel, fidelity=fidelity, seed=seed, out_dir=out_dir,
                  space=space, source=source)


def make_settings(cls: type, table: str, values: Mapping[str, Any]) -> Any:
    """cls(**values) for a settings dataclass written as the TOML table `table`; its
    ValueError becomes a ConfigError whose key path starts with the table."""
    checks.known_keys(table, values, field_names(cls), error=ConfigError)
    try:
        settings = cls(**values)
    except ValueError as error:
        message = str(error)
        if message.split(":")[0] in field_names(cls):
            raise ConfigError(f"{table}.{message}") from None
        raise ConfigError(f"{table}: {message}") from None
    # TOML writes 60.0 as 60 if the user does: an integer given for a float field is stored
    # as a float (after the checks, whose messages quote the value as written).
    hints = typing.get_type_hints(cls)
    floats = {key: float(value) for key, value in values.items()
              if checks.is_integer(value) and _expects_float(hints[key])}
    return dataclasses.replace(settings, **floats) if floats else settings


def _expects_float(hint: Any) -> bool:
    return hint is float or (typing.get_origin(hint) in (typing.Union, types.UnionType)
                             and float in typing.get_args(hint))


def _table(path: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a table, got {checks.show(value)}")
    return value


def _check_top_level(mapping: Mapping) -> None:
    for key, value in mapping.items():
        if key in TOP_LEVEL_KEYS or key in TABLES:
            continue
        # A table's key written above the first [table] header lands at the top level.
        home = [table for table, keys in TABLE_KEYS.items() if key in keys]
        if key in DATASET_KEYS:
            home = ["dataset"]
        if home:
            raise ConfigError(f"{key}: unknown top-level key (it belongs in [{home[0]}])")
        path = checks.key_path("", key)
        if isinstance(value, Mapping):
            raise checks.unknown(path, "unknown table", key, TABLES, error=ConfigError)
        raise checks.unknown(path, "unknown key", key, TOP_LEVEL_KEYS + TABLES, error=ConfigError)


def _check_mode_keys(search: Mapping, budget: Mapping, mode: str) -> None:
    if mode == "pbt":
        for key in GA_ONLY_KEYS:
            if key in search:
                raise ConfigError(f"search.{key}: not used when search.mode = 'pbt' "
                                  f"(it has population, steps, epochs_per_step, quantile, mutation_*)")
        for key in GA_ONLY_BUDGETS:
            if key in budget:
                raise ConfigError(f"budget.{key}: not used when search.mode = 'pbt' "
                                  f"(its budgets are search.steps and budget.time_limit)")
        return
    for key in PBT_ONLY_KEYS:
        if key in search:
            raise ConfigError(f"search.{key}: only used when search.mode = 'pbt' (got mode {mode!r})")


# ---------------------------------------------------------------- [search] and [fidelity]


def _parse_warm_start(value: Any, space: Space, ga: GA, defaulted: tuple[str, ...] = ()) -> tuple[dict, ...]:
    """The warm-start genomes; a gene the space took from the default space (`defaulted`)
    may be left out of one and gets the MLP's default value (what the MLP would use without
    the gene)."""
    path = "search.warm_start"
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected an array of tables, got {checks.show(value)}")
    try:  # the GA's own rule, checked here before any data are loaded
        ga.check_warm_start(len(value))
    except ValueError as error:
        raise ConfigError(f"search.{error}") from None
    return tuple(_parse_genome(f"{path}[{i}]", entry, space, defaulted) for i, entry in enumerate(value))


def _parse_genome(path: str, entry: Any, space: Space, defaulted: tuple[str, ...] = ()) -> dict[str, Any]:
    _table(path, entry)
    for name in entry:
        if name not in space:
            raise checks.unknown(checks.key_path(path, name), "unknown gene", name, space.names, error=ConfigError)
    entry = {**{name: MLP_DEFAULTS[name] for name in defaulted if name not in entry}, **entry}
    missing = [name for name in space.names if name not in entry]
    if missing:
        raise ConfigError(f"{path}: missing gene{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(repr(name) for name in missing)}")
    genome = {}
    for gene in space:
        value = entry[gene.name]
        # TOML has arrays, not tuples, and writes 1.0 as 1 if the user does.
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(gene, FloatGene) and checks.is_integer(value):
            value = float(value)
        if isinstance(gene, ConstantGene) and isinstance(gene.value, float) and checks.is_integer(value):
            value = float(value)
        try:
            gene.validate(value)
        except ValueError as error:
            problem = str(error).removeprefix(f"{gene.name}: ")
            raise ConfigError(f"{path}.{gene.name}: {problem}") from None
        genome[gene.name] = value
    return genome


def _parse_breeding(table: Mapping, objectives: tuple[str, ...], space: Space) -> Breeding:
    try:
        return check_breeding(breeding_from_config(table, objectives), objectives, space)
    except (TypeError, ValueError) as error:
        message = str(error)
        raise ConfigError(message if message.startswith("breeding") else f"breeding.{message}") from None


def _parse_racing(table: Mapping) -> Racing:
    return check_racing(make_settings(Racing, "racing", table) if table else None)


def _parse_fidelity(table: Mapping, space: Space) -> Fidelity:
    # Keys left out keep SINGLE_FIDELITY's values: a table turns on only what it names.
    fidelity = make_settings(Fidelity, "fidelity", {**dataclasses.asdict(SINGLE_FIDELITY), **table})
    try:  # SuccessiveHalving's rule, checked here before any data are loaded
        if fidelity.active:
            check_space(space)
    except ValueError as error:
        raise ConfigError(f"fidelity: {error}") from None
    return fidelity


# ---------------------------------------------------------------- [objective] and [space]


def _parse_objective(table: Mapping, dataset: DatasetConfig) -> ObjectiveConfig:
    checks.known_keys("objective", table, TABLE_KEYS["objective"], error=ConfigError)
    metric = checks.string("objective.metric", table.get("metric", TASK_METRICS[dataset.task][0]),
                           error=ConfigError)
    check_metric("objective.metric", metric, dataset.task)
    patience = table.get("early_stopping_patience")
    if patience is not None:
        patience = checks.integer("objective.early_stopping_patience", patience, minimum=1, error=ConfigError)
    direction = checks.choice("objective.direction", table.get("direction", DIRECTIONS[0]), DIRECTIONS,
                              error=ConfigError)
    if direction != DIRECTIONS[0]:  # every metric of the MLP objective is higher-is-better
        raise ConfigError(f"objective.direction: the metric {metric!r} is higher-is-better, so {direction!r} would "
                          f"search for the worst models ('minimize' is for custom objectives from Python)")
    return ObjectiveConfig(metric=metric, early_stopping_patience=patience, direction=direction)


def check_metric(path: str, metric: str, task: str) -> None:
    valid = TASK_METRICS[task]
    if metric in valid:
        return
    if any(metric in metrics for metrics in TASK_METRICS.values()):
        raise ConfigError(f"{path}: {metric!r} is not a {task} metric (valid: {', '.join(valid)})")
    raise checks.unknown(path, f"unknown metric {metric!r}", metric, valid, error=ConfigError)


def _parse_space(table: Any, mode: str) -> tuple[Space, tuple[str, ...]]:
    """The search space and the names of the genes it took from the default space. mode
    (search.space): "extend", the genes of [space] override the default space's genes of the
    same name or are added to them; "replace", [space] is the whole space."""
    if mode == "extend" and (table is None or (isinstance(table, Mapping) and not table)):
        space = default_space()
    elif table is None:
        raise ConfigError("space: missing: search.space = 'replace' searches only the genes of [space]")
    else:
        try:
            space = Space.from_config(table)
        except ValueError as error:
            message = str(error)
            raise ConfigError(message if message.startswith("space") else f"space: {message}") from None
    try:  # every gene against what the MLP objective can use
        check_mlp_space(space)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    given = space.names if table else ()
    if mode == "extend":
        space = extend_default(space)
    try:
        check_searchable(space)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return space, tuple(name for name in space.names if name not in given)
