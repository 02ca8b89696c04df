"""TOML experiment configs: read, validate, write back, and turn into a GeneticSearch.

One TOML file describes one experiment (see docs/CONFIG.md for every key)::

    config = load_config("experiments/digits.toml")   # every problem is a ConfigError
    search = build_search(config, n_jobs=2)             # loads and splits the data
    result = search.run()

Everything is checked before anything runs, and every problem is a :class:`ConfigError`
whose message is one line starting with the key path, e.g.
``search.elitism: must be < search.population (16), got 16``.

Relative paths (``out_dir``, ``dataset.path``, ``dataset.data_dir``) are relative to the
current working directory, not to the config file, so that ``runs/digits`` means the same
thing whether the config lives in ``experiments/`` or in a results directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import inspect
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from . import datasets, results
from .datasets import load_dataset, scale_splits, split_dataset, whole_data_splits
from .evaluate import BACKENDS, MLP_DEFAULTS, MLPObjective
from .evolve import ALGORITHMS, SELECTIONS
from .fidelity import PRUNERS, Fidelity
from .pareto import OBJECTIVES
from .pbt import PopulationBasedTraining
from .search import GeneticSearch
from .space import ConstantGene, FloatGene, Space, default_space

__all__ = [
    "BudgetConfig",
    "Config",
    "ConfigError",
    "DatasetConfig",
    "ObjectiveConfig",
    "ParallelConfig",
    "SearchConfig",
    "apply_overrides",
    "build_search",
    "load_config",
    "load_splits",
    "parse_config",
    "write_config",
]

# hpsearch.datasets.SCALING_METHODS plus "auto": "fixed" for data with a known value range
# (pixels), else "standard". Which one is only known once the data set is loaded, so the
# config keeps the rule, not its result.
SCALINGS = ("auto", "fixed", "minmax", "standard", "none")
TASK_METRICS = {"classification": ("accuracy",), "regression": ("neg_mse", "r2")}
# Built-in loaders without a `task` option whose data are regression targets; listed so that
# the metric can be checked before the data are loaded.
REGRESSION_DATASETS = ("regression",)

DATASET_KEYS = ("name", "val_fraction", "test_fraction", "stratify", "split_seed", "scaling", "holdout")
# Loader parameters that a config cannot set: `name` is taken by the registry name.
_HIDDEN_LOADER_PARAMETERS = ("name",)


class ConfigError(ValueError):
    """A config (or the data it names) is unusable; the message is one line starting with
    the key path, e.g. ``budget.time_limit: must be > 0, got -5``."""


# ---------------------------------------------------------------- the config


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    stratify: bool = True
    split_seed: int | None = None  # None: the master seed (and follows a --seed override)
    scaling: str = "auto"
    holdout: bool = True  # False: train, validate and test on all rows (toy problems like XOR)
    options: dict = field(default_factory=dict)  # passed to the loader as keyword arguments

    @property
    def task(self) -> str:
        """The task ("classification" or "regression") as far as it is known without loading."""
        return _dataset_task(self.name, self.options)


@dataclass(frozen=True)
class ObjectiveConfig:
    metric: str = "accuracy"
    early_stopping_patience: int | None = None


@dataclass(frozen=True)
class SearchConfig:
    mode: str = "ga"  # "pbt": population-based training (hpsearch.pbt)
    algorithm: str = "ga"
    population: int = 16
    generations: int = 10
    crossover_prob: float = 0.7
    mutation_prob: float = 0.4
    tournament_size: int = 3
    elitism: int = 2
    selection: str = "generational"
    mutation_indpb: float = 0.3
    mutation_scale: float = 0.15
    crossover_eta: float = 15.0
    initial_size: int | None = None  # None: population
    objectives: tuple = ()  # empty: the single-objective GA; 2 or more names: NSGA-II
    warm_start: tuple = ()  # genome dicts, layer sizes as tuples
    steps: int = 10  # steps, epochs_per_step and quantile: mode "pbt" only
    epochs_per_step: int = 2
    quantile: float = 0.25


# Multi-fidelity evaluation is off unless a [fidelity] table turns it on.
NO_FIDELITY = Fidelity(rungs=1, pruner="none")


@dataclass(frozen=True)
class BudgetConfig:
    max_evaluations: int | None = None
    max_training_epochs: int | None = None
    time_limit: float | None = None
    patience: int | None = None
    target_fitness: float | None = None


@dataclass(frozen=True)
class ParallelConfig:
    n_jobs: int = -1
    timeout: float | None = None
    blas_threads: int = 1
    backend: str = "loky"
    scheduler: str | None = None  # backend "dask" only: an address, or "local" (the default)


@dataclass(frozen=True)
class Config:
    dataset: DatasetConfig
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    fidelity: Fidelity = NO_FIDELITY
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    seed: int = 0
    out_dir: Path | None = None  # None: results are kept in memory only
    space: Space = field(default_factory=default_space)
    # Where the config was read from; not part of the experiment, so not compared.
    source: Path | None = field(default=None, compare=False)

    @property
    def split_seed(self) -> int:
        """The seed of the train/validation/test split actually used."""
        return self.seed if self.dataset.split_seed is None else self.dataset.split_seed

    def to_dict(self) -> dict[str, Any]:
        """The effective config, every default filled in, ready for TOML (no None values)."""
        dataset = {key: getattr(self.dataset, key) for key in DATASET_KEYS}
        search = dataclasses.asdict(self.search)
        search["warm_start"] = [_toml_genome(genome) for genome in self.search.warm_start]
        search["objectives"] = list(self.search.objectives)
        for key in GA_ONLY_KEYS if self.search.mode == "pbt" else PBT_KEYS:
            search.pop(key, None)
        table = {
            "seed": self.seed,
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "dataset": {**dataset, **self.dataset.options},
            "objective": dataclasses.asdict(self.objective),
            "search": search,
            "budget": dataclasses.asdict(self.budget),
            **({"fidelity": dataclasses.asdict(self.fidelity)} if self.search.mode != "pbt" else {}),
            "parallel": dataclasses.asdict(self.parallel),
            "space": self.space.to_config(),
        }
        return _without_none(table)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    return value


def _toml_genome(genome: Mapping[str, Any]) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value for name, value in genome.items()}


# ---------------------------------------------------------------- reading and writing


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
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_config(table, source=path)


def write_config(config: Config, path: str | os.PathLike) -> None:
    """Write the effective config (``config.to_dict()``) as TOML, atomically."""
    text = "# hpsearch experiment config; every default filled in\n" + tomli_w.dumps(config.to_dict())
    results.write_atomic(path, lambda f: f.write(text.encode()))


# ---------------------------------------------------------------- checking values


def _show(value: Any) -> str:
    """A value as the message's 'got ...' part, spelled as in TOML where that differs."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _close_match(word: str, candidates) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return close[0] if close else None


def _hint(word: str, candidates) -> str:
    close = _close_match(word, candidates)
    return f"did you mean {close!r}?" if close else ""


def _unknown(path: str, what: str, word: str, candidates) -> ConfigError:
    hint = _hint(word, candidates)
    valid = ", ".join(candidates)
    return ConfigError(f"{path}: {what} ({hint}; valid: {valid})" if hint else f"{path}: {what} (valid: {valid})")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(path: str, value: Any, minimum: int | None = None) -> int:
    if not _is_integer(value):
        raise ConfigError(f"{path}: expected an integer, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{path}: must be >= {minimum}, got {value}")
    return value


def _number(path: str, value: Any) -> float:
    if not _is_number(value):
        raise ConfigError(f"{path}: expected a number, got {_show(value)}")
    if not math.isfinite(value):
        raise ConfigError(f"{path}: must be finite, got {value!r}")
    return float(value)


def _positive(path: str, value: Any) -> float:
    number = _number(path, value)
    if not number > 0:
        raise ConfigError(f"{path}: must be > 0, got {value!r}")
    return number


def _in_range(path: str, value: Any, low: float, high: float, closed: str = "[]") -> float:
    """A number in an interval; closed says which ends belong to it, e.g. "(]"."""
    number = _number(path, value)
    above = number >= low if closed[0] == "[" else number > low
    below = number <= high if closed[1] == "]" else number < high
    if not (above and below):
        raise ConfigError(f"{path}: must be in {closed[0]}{low:g}, {high:g}{closed[1]}, got {value!r}")
    return number


def _boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {_show(value)}")
    return value


def _string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected a string, got {_show(value)}")
    if not value:
        raise ConfigError(f"{path}: must not be empty")
    return value


def _choice(path: str, value: Any, choices) -> str:
    _string(path, value)
    if value not in choices:
        raise _unknown(path, f"unknown value {value!r}", value, choices)
    return value


def _table(path: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a table, got {_show(value)}")
    return value


def _check_keys(path: str, table: Mapping, allowed) -> None:
    for key in table:
        if key not in allowed:
            hint = _hint(key, allowed)
            raise ConfigError(f"{path}.{key}: unknown key ({hint})" if hint
                              else f"{path}.{key}: unknown key (valid: {', '.join(allowed)})")


# ---------------------------------------------------------------- sections

_SECTION_KEYS = {
    "objective": tuple(f.name for f in dataclasses.fields(ObjectiveConfig)),
    "search": tuple(f.name for f in dataclasses.fields(SearchConfig)),
    "budget": tuple(f.name for f in dataclasses.fields(BudgetConfig)),
    "fidelity": tuple(f.name for f in dataclasses.fields(Fidelity)),
    "parallel": tuple(f.name for f in dataclasses.fields(ParallelConfig)),
}
TOP_LEVEL_KEYS = ("seed", "out_dir")
TABLES = ("dataset", "objective", "search", "budget", "fidelity", "parallel", "space")


def parse_config(mapping: Mapping[str, Any], source: str | os.PathLike | None = None) -> Config:
    """Validate a TOML-like mapping (as tomllib returns it) and build a Config.

    ``source`` is the file it came from: ``out_dir`` defaults to ``runs/<its stem>``;
    without a source there is no default results directory.
    """
    source = Path(source) if source is not None else None
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"config: expected a table, got {_show(mapping)}")
    _check_top_level(mapping)
    seed = _integer("seed", mapping.get("seed", 0), minimum=0)
    if "out_dir" in mapping:
        out_dir = Path(_string("out_dir", mapping["out_dir"]))
    else:
        out_dir = Path("runs") / source.stem if source is not None else None
    dataset = _parse_dataset(_table("dataset", mapping["dataset"]) if "dataset" in mapping else {})
    objective = _parse_objective(_table("objective", mapping.get("objective", {})), dataset)
    space = _parse_space(mapping["space"]) if "space" in mapping else default_space()
    search = _parse_search(_table("search", mapping.get("search", {})), space)
    budget = _parse_budget(_table("budget", mapping.get("budget", {})))
    _check_mode_keys(mapping.get("search", {}), mapping.get("budget", {}), search.mode)
    fidelity = _parse_fidelity(_table("fidelity", mapping.get("fidelity", {})), space)
    if search.mode == "pbt" and "fidelity" in mapping:
        raise ConfigError("fidelity: not used when search.mode = 'pbt' (PBT trains in steps of its own)")
    parallel = _parse_parallel(_table("parallel", mapping.get("parallel", {})))
    return Config(dataset=dataset, objective=objective, search=search, budget=budget,
                  fidelity=fidelity, parallel=parallel, seed=seed, out_dir=out_dir, space=space, source=source)


def _check_top_level(mapping: Mapping) -> None:
    for key, value in mapping.items():
        if key in TOP_LEVEL_KEYS or key in TABLES:
            continue
        # A section key written above the first [table] header lands at the top level.
        home = [section for section, keys in _SECTION_KEYS.items() if key in keys]
        if key in DATASET_KEYS:
            home = ["dataset"]
        if home:
            raise ConfigError(f"{key}: unknown top-level key (it belongs in [{home[0]}])")
        what = "table" if isinstance(value, Mapping) else "key"
        hint = _hint(key, TABLES if what == "table" else TOP_LEVEL_KEYS + TABLES)
        valid = ", ".join(TOP_LEVEL_KEYS + TABLES)
        raise ConfigError(f"{key}: unknown {what} ({hint})" if hint else f"{key}: unknown {what} (valid: {valid})")


def _parse_dataset(table: Mapping) -> DatasetConfig:
    if "name" not in table:
        raise ConfigError("dataset: missing required key 'name'")
    name = _string("dataset.name", table["name"])
    names = datasets.available_datasets()
    if name not in names:
        raise _unknown("dataset.name", f"unknown data set {name!r}", name, names)
    val_fraction = _in_range("dataset.val_fraction", table.get("val_fraction", 0.15), 0, 1, "()")
    test_fraction = _in_range("dataset.test_fraction", table.get("test_fraction", 0.15), 0, 1, "()")
    if val_fraction + test_fraction >= 1:
        raise ConfigError(f"dataset.test_fraction: val_fraction + test_fraction must be < 1, "
                          f"got {val_fraction:g} + {test_fraction:g}")
    stratify = _boolean("dataset.stratify", table.get("stratify", True))
    split_seed = table.get("split_seed")
    if split_seed is not None:
        split_seed = _integer("dataset.split_seed", split_seed, minimum=0)
    scaling = _choice("dataset.scaling", table.get("scaling", "auto"), SCALINGS)
    holdout = _boolean("dataset.holdout", table.get("holdout", True))
    options = {key: value for key, value in table.items() if key not in DATASET_KEYS}
    _check_loader_options(name, options)
    return DatasetConfig(name=name, val_fraction=val_fraction, test_fraction=test_fraction,
                         stratify=stratify, split_seed=split_seed, scaling=scaling, holdout=holdout,
                         options=options)


def _loader_parameters(name: str) -> tuple[dict[str, inspect.Parameter], bool]:
    """(named options of the loader, whether it also takes **options)."""
    parameters = inspect.signature(datasets._LOADERS[name]).parameters
    named = {key: p for key, p in parameters.items()
             if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and key not in _HIDDEN_LOADER_PARAMETERS}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    return named, takes_any


def _check_loader_options(name: str, options: Mapping) -> None:
    named, takes_any = _loader_parameters(name)
    for key in options:
        if key in named:
            continue
        guess = _close_match(key, DATASET_KEYS + tuple(named))
        # A loader taking **options (csv: pandas.read_csv's) gets other keys as they are,
        # but a near miss of a named option is almost surely a typo.
        if takes_any and guess is None:
            continue
        if guess in DATASET_KEYS:
            raise ConfigError(f"dataset.{key}: unknown key (did you mean {guess!r}?)")
        if guess is not None:
            raise ConfigError(f"dataset.{key}: unknown option of data set {name!r} (did you mean {guess!r}?)")
        valid = ", ".join(DATASET_KEYS + tuple(named))
        raise ConfigError(f"dataset.{key}: unknown option of data set {name!r} (valid: {valid})")
    for key, parameter in named.items():
        if parameter.default is inspect.Parameter.empty and key not in options:
            raise ConfigError(f"dataset: missing required key {key!r} for data set {name!r}")
    hints = _loader_type_hints(name)
    for key, value in options.items():
        if key in hints:
            _check_option_type(f"dataset.{key}", value, hints[key])
    if "task" in options:
        _choice("dataset.task", options["task"], datasets.TASKS)


def _loader_type_hints(name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(datasets._LOADERS[name])
    except Exception:  # an annotation that cannot be evaluated: leave the checking to the loader
        return {}


def _expected_kinds(hint: Any) -> list[str] | None:
    """What TOML values an annotation accepts ("integer", "number", "string", "boolean",
    "array"), or None when it says nothing checkable."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = []
        for arm in typing.get_args(hint):
            if arm is type(None):
                continue  # TOML has no null: an option is either given or left out
            arm_kinds = _expected_kinds(arm)
            if arm_kinds is None:
                return None
            kinds += [kind for kind in arm_kinds if kind not in kinds]
        return kinds
    if hint is bool:
        return ["boolean"]
    if hint is int:
        return ["integer"]
    if hint is float:
        return ["number"]
    if hint is str or hint is os.PathLike or typing.get_origin(hint) is os.PathLike:
        return ["string"]
    if hint in (list, tuple) or typing.get_origin(hint) in (list, tuple):
        return ["array"]
    return None


_KIND_TESTS = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
}
_KIND_WORDS = {"boolean": "true or false", "integer": "an integer", "number": "a number",
               "string": "a string", "array": "an array"}


def _check_option_type(path: str, value: Any, hint: Any) -> None:
    kinds = _expected_kinds(hint)
    if kinds and not any(_KIND_TESTS[kind](value) for kind in kinds):
        expected = " or ".join(_KIND_WORDS[kind] for kind in kinds)
        raise ConfigError(f"{path}: expected {expected}, got {_show(value)}")


def _dataset_task(name: str, options: Mapping) -> str:
    parameters = inspect.signature(datasets._LOADERS[name]).parameters
    if "task" in parameters:
        return options.get("task", parameters["task"].default)
    return "regression" if name in REGRESSION_DATASETS else "classification"


def _parse_objective(table: Mapping, dataset: DatasetConfig) -> ObjectiveConfig:
    _check_keys("objective", table, _SECTION_KEYS["objective"])
    valid = TASK_METRICS[dataset.task]
    metric = table.get("metric", valid[0])
    _string("objective.metric", metric)
    _check_metric("objective.metric", metric, dataset.task)
    patience = table.get("early_stopping_patience")
    if patience is not None:
        patience = _integer("objective.early_stopping_patience", patience, minimum=1)
    return ObjectiveConfig(metric=metric, early_stopping_patience=patience)


def _check_metric(path: str, metric: str, task: str) -> None:
    valid = TASK_METRICS[task]
    if metric in valid:
        return
    if any(metric in metrics for metrics in TASK_METRICS.values()):
        raise ConfigError(f"{path}: {metric!r} is not a {task} metric (valid: {', '.join(valid)})")
    all_metrics = tuple(m for metrics in TASK_METRICS.values() for m in metrics)
    hint = _hint(metric, all_metrics)
    raise ConfigError(f"{path}: unknown metric {metric!r} ({hint + '; ' if hint else ''}valid: {', '.join(valid)})")


def _parse_space(table: Any) -> Space:
    try:
        space = Space.from_config(table)
    except ValueError as error:
        message = str(error)
        raise ConfigError(message if message.startswith("space") else f"space: {message}") from None
    for name in space.names:
        if name not in MLP_DEFAULTS:
            raise _unknown(f"space.{name}", "not a hyperparameter of the MLP", name, sorted(MLP_DEFAULTS))
    return space


def _parse_search(table: Mapping, space: Space) -> SearchConfig:
    _check_keys("search", table, _SECTION_KEYS["search"])
    defaults = SearchConfig()

    def get(key):
        return table.get(key, getattr(defaults, key))

    population = _integer("search.population", get("population"), minimum=2)
    elitism = _integer("search.elitism", get("elitism"), minimum=0)
    if elitism >= population and table.get("mode") != "pbt":  # PBT has no elites
        raise ConfigError(f"search.elitism: must be < search.population ({population}), got {elitism}")
    return SearchConfig(
        algorithm=_choice("search.algorithm", get("algorithm"), ALGORITHMS),
        population=population,
        generations=_integer("search.generations", get("generations"), minimum=0),
        crossover_prob=_in_range("search.crossover_prob", get("crossover_prob"), 0, 1),
        mutation_prob=_in_range("search.mutation_prob", get("mutation_prob"), 0, 1),
        tournament_size=_integer("search.tournament_size", get("tournament_size"), minimum=1),
        elitism=elitism,
        selection=_choice("search.selection", get("selection"), SELECTIONS),
        mutation_indpb=_in_range("search.mutation_indpb", get("mutation_indpb"), 0, 1, "(]"),
        mutation_scale=_positive("search.mutation_scale", get("mutation_scale")),
        crossover_eta=_positive("search.crossover_eta", get("crossover_eta")),
        initial_size=_initial_size(table.get("initial_size"), population),
        objectives=_parse_objectives(table.get("objectives", [])),
        warm_start=_parse_warm_start(table.get("warm_start", []), space, population),
        mode=_choice("search.mode", get("mode"), MODES),
        steps=_integer("search.steps", get("steps"), minimum=1),
        epochs_per_step=_integer("search.epochs_per_step", get("epochs_per_step"), minimum=1),
        quantile=_in_range("search.quantile", get("quantile"), 0, 0.5, "(]"),
    )


def _initial_size(value: Any, population: int) -> int | None:
    if value is None:
        return None
    size = _integer("search.initial_size", value, minimum=1)
    if size < population:
        raise ConfigError(f"search.initial_size: must be >= search.population ({population}), got {size}")
    return size


MODES = ("ga", "pbt")
# Keys of one mode only: given with the other, they would do nothing, so they are an error.
PBT_KEYS = ("steps", "epochs_per_step", "quantile")
GA_ONLY_KEYS = ("algorithm", "generations", "crossover_prob", "mutation_prob", "tournament_size",
                "elitism", "selection", "crossover_eta", "initial_size", "objectives", "warm_start")
GA_ONLY_BUDGETS = ("max_evaluations", "max_training_epochs", "patience", "target_fitness")


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
    for key in PBT_KEYS:
        if key in search:
            raise ConfigError(f"search.{key}: only used when search.mode = 'pbt' (got mode {mode!r})")


def _parse_objectives(value: Any) -> tuple[str, ...]:
    path = "search.objectives"
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected an array of objective names, got {_show(value)}")
    for i, name in enumerate(value):
        _string(f"{path}[{i}]", name)
        if name not in OBJECTIVES:
            raise _unknown(f"{path}[{i}]", f"unknown objective {name!r}", name, tuple(OBJECTIVES))
        if name in value[:i]:
            raise ConfigError(f"{path}[{i}]: objective {name!r} is listed twice")
    if len(value) == 1:
        raise ConfigError(f"{path}: NSGA-II needs at least 2 objectives, got 1 "
                          f"(leave the key out for the single-objective GA)")
    return tuple(value)


def _parse_warm_start(value: Any, space: Space, population: int) -> tuple[dict, ...]:
    path = "search.warm_start"
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected an array of tables, got {_show(value)}")
    if len(value) > population:
        raise ConfigError(f"{path}: {len(value)} genomes exceed search.population ({population})")
    return tuple(_parse_genome(f"{path}[{i}]", entry, space) for i, entry in enumerate(value))


def _parse_genome(path: str, entry: Any, space: Space) -> dict[str, Any]:
    _table(path, entry)
    for name in entry:
        if name not in space:
            raise _unknown(f"{path}.{name}", "unknown gene", name, space.names)
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
        if isinstance(gene, FloatGene) and _is_integer(value):
            value = float(value)
        if isinstance(gene, ConstantGene) and isinstance(gene.value, float) and _is_integer(value):
            value = float(value)
        try:
            gene.validate(value)
        except ValueError as error:
            problem = str(error).removeprefix(f"{gene.name}: ")
            raise ConfigError(f"{path}.{gene.name}: {problem}") from None
        genome[gene.name] = value
    return genome


def _parse_fidelity(table: Mapping, space: Space) -> Fidelity:
    _check_keys("fidelity", table, _SECTION_KEYS["fidelity"])
    defaults = NO_FIDELITY

    def get(key):
        return table.get(key, getattr(defaults, key))

    pruner = _choice("fidelity.pruner", get("pruner"), PRUNERS)
    percentile = _in_range("fidelity.percentile", get("percentile"), 0, 100, "()")
    if percentile != 50 and pruner != "percentile":
        raise ConfigError(f"fidelity.percentile: only used with fidelity.pruner = 'percentile' "
                          f"(got {pruner!r}; the median pruner uses 50)")
    reduction_factor = _number("fidelity.reduction_factor", get("reduction_factor"))
    if not reduction_factor > 1:
        raise ConfigError(f"fidelity.reduction_factor: must be > 1, got {_show(reduction_factor)}")
    fidelity = Fidelity(
        rungs=_integer("fidelity.rungs", get("rungs"), minimum=1),
        reduction_factor=reduction_factor, pruner=pruner, percentile=percentile,
        warmup_epochs=_integer("fidelity.warmup_epochs", get("warmup_epochs"), minimum=0),
        min_trials=_integer("fidelity.min_trials", get("min_trials"), minimum=0))
    if (fidelity.rungs > 1 or fidelity.pruner != "none") and "epochs" not in space.names:
        raise ConfigError("fidelity: multi-fidelity search needs an 'epochs' gene in [space] "
                          "(each genome's largest training budget)")
    return fidelity


def _parse_budget(table: Mapping) -> BudgetConfig:
    _check_keys("budget", table, _SECTION_KEYS["budget"])
    budget = {}
    if "max_evaluations" in table:
        budget["max_evaluations"] = _integer("budget.max_evaluations", table["max_evaluations"], minimum=1)
    if "max_training_epochs" in table:
        budget["max_training_epochs"] = _integer("budget.max_training_epochs",
                                                 table["max_training_epochs"], minimum=1)
    if "time_limit" in table:
        budget["time_limit"] = _positive("budget.time_limit", table["time_limit"])
    if "patience" in table:
        budget["patience"] = _integer("budget.patience", table["patience"], minimum=1)
    if "target_fitness" in table:
        budget["target_fitness"] = _number("budget.target_fitness", table["target_fitness"])
    return BudgetConfig(**budget)


def _parse_parallel(table: Mapping) -> ParallelConfig:
    _check_keys("parallel", table, _SECTION_KEYS["parallel"])
    timeout = table.get("timeout")
    backend, scheduler = _backend(table.get("backend", "loky"), table.get("scheduler"))
    return ParallelConfig(
        n_jobs=_n_jobs("parallel.n_jobs", table.get("n_jobs", -1)),
        timeout=None if timeout is None else _positive("parallel.timeout", timeout),
        blas_threads=_integer("parallel.blas_threads", table.get("blas_threads", 1), minimum=1),
        backend=backend, scheduler=scheduler,
    )


# A Dask scheduler address as `dask scheduler` prints it: tcp://10.0.0.5:8786, tls://host:8786.
_SCHEDULER_ADDRESS = re.compile(r"[a-z]+://(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):\d+")


def _backend(backend: Any, scheduler: Any) -> tuple[str, str | None]:
    """(backend, scheduler) checked together; "dask" without a scheduler means "local"."""
    _choice("parallel.backend", backend, BACKENDS)
    if backend != "dask":
        if scheduler is not None:
            raise ConfigError(f"parallel.scheduler: only used with backend = 'dask', not {backend!r}")
        return backend, None
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError("parallel.backend: 'dask' needs dask.distributed, which is not installed "
                          "(pip install 'hpsearch[dask]')")
    scheduler = "local" if scheduler is None else _string("parallel.scheduler", scheduler)
    if scheduler != "local" and not _SCHEDULER_ADDRESS.fullmatch(scheduler):
        raise ConfigError(f"parallel.scheduler: expected 'local' or an address like "
                          f"'tcp://host:8786', got {scheduler!r}")
    return backend, scheduler


def _n_jobs(path: str, value: Any) -> int:
    if _integer(path, value) == 0:
        raise ConfigError(f"{path}: must not be 0 (-1 = all cores), got 0")
    return value


# ---------------------------------------------------------------- running it


def apply_overrides(config: Config, *, out_dir: str | os.PathLike | None = None,
                    n_jobs: int | None = None, seed: int | None = None, backend: str | None = None,
                    scheduler: str | None = None) -> Config:
    """The config with command-line overrides (None: keep the config's value).

    A seed override also moves the data split unless ``dataset.split_seed`` was given
    explicitly: the split follows the master seed by default. A scheduler implies backend
    "dask"; another backend drops the config's scheduler.
    """
    changes = {}
    if out_dir is not None:
        changes["out_dir"] = Path(_string("out_dir", str(out_dir)))
    if seed is not None:
        changes["seed"] = _integer("seed", seed, minimum=0)
    parallel = config.parallel
    if n_jobs is not None:
        parallel = dataclasses.replace(parallel, n_jobs=_n_jobs("parallel.n_jobs", n_jobs))
    if backend is not None or scheduler is not None:
        backend = backend or ("dask" if scheduler is not None else parallel.backend)
        if scheduler is None and backend == parallel.backend:
            scheduler = parallel.scheduler
        backend, scheduler = _backend(backend, scheduler)
        parallel = dataclasses.replace(parallel, backend=backend, scheduler=scheduler)
    if parallel != config.parallel:
        changes["parallel"] = parallel
    return dataclasses.replace(config, **changes)


def load_splits(config: Config):
    """Load, split and scale the config's data set (hpsearch.datasets.Splits)."""
    spec = config.dataset
    named, takes_any = _loader_parameters(spec.name)
    for key, kind in (("path", "file"), ("data_dir", "directory")):
        value = spec.options.get(key)
        if isinstance(value, str) and not Path(value).exists():
            raise ConfigError(f"dataset.{key}: no such {kind}: {value}")
    # Errors a user can cause through the data (bad files, a download that fails); a
    # TypeError only from a loader passing unknown options on (pandas.read_csv).
    data_errors = (ValueError, OSError, datasets.DownloadError) + ((TypeError,) if takes_any else ())
    try:
        dataset = load_dataset(spec.name, **spec.options)
    except data_errors as error:
        raise ConfigError(_dataset_message(error)) from None
    _check_metric("objective.metric", config.objective.metric, dataset.task)
    try:
        if spec.holdout:
            splits = split_dataset(dataset, val_fraction=spec.val_fraction,
                                   test_fraction=spec.test_fraction, seed=config.split_seed,
                                   stratify=spec.stratify)
        else:
            splits = whole_data_splits(dataset)
    except ValueError as error:
        raise ConfigError(_dataset_message(error)) from None
    scaling = spec.scaling
    if scaling == "auto":
        scaling = "fixed" if dataset.value_range is not None else "standard"
    elif scaling == "fixed" and dataset.value_range is None:
        raise ConfigError(f"dataset.scaling: 'fixed' needs a known value range and data set "
                          f"{spec.name!r} has none (use 'minmax' or 'standard')")
    return scale_splits(splits, scaling)


def _dataset_message(error: Exception) -> str:
    """One line naming [dataset]: loader and split messages start with a path or
    "dataset 'x': ", which the key path replaces."""
    message = " ".join(str(error).split()) or type(error).__name__
    if message.startswith(("dataset.", "dataset:")):
        return message
    return "dataset: " + re.sub(r"^dataset '[^']*': ", "", message)


def build_search(config: Config, *, out_dir: str | os.PathLike | None = None, n_jobs: int | None = None,
                 seed: int | None = None, backend: str | None = None, scheduler: str | None = None,
                 quiet: bool = False) -> GeneticSearch:
    """A GeneticSearch for the config: loads, splits and scales the data, builds the MLP
    objective. Overrides (None: keep the config's) are applied as by apply_overrides; the
    effective config is handed to the search, which saves it as out_dir/config.toml."""
    config = apply_overrides(config, out_dir=out_dir, n_jobs=n_jobs, seed=seed, backend=backend,
                             scheduler=scheduler)
    splits = load_splits(config)
    objective = MLPObjective(splits, task=splits.task, metric=config.objective.metric,
                             early_stopping_patience=config.objective.early_stopping_patience)
    search, budget, parallel = config.search, config.budget, config.parallel
    if search.mode == "pbt":
        return PopulationBasedTraining(
            config.space, objective, population=search.population, steps=search.steps,
            epochs_per_step=search.epochs_per_step, quantile=search.quantile,
            mutation_indpb=search.mutation_indpb, mutation_scale=search.mutation_scale,
            time_limit=budget.time_limit, n_jobs=parallel.n_jobs, timeout=parallel.timeout,
            blas_threads=parallel.blas_threads, backend=parallel.backend, scheduler=parallel.scheduler,
            seed=config.seed, out_dir=config.out_dir, quiet=quiet, config=config.to_dict())
    return GeneticSearch(
        config.space, objective,
        population=search.population, generations=search.generations,
        crossover_prob=search.crossover_prob, mutation_prob=search.mutation_prob,
        tournament_size=search.tournament_size, elitism=search.elitism, selection=search.selection,
        algorithm=search.algorithm, mutation_indpb=search.mutation_indpb,
        mutation_scale=search.mutation_scale, crossover_eta=search.crossover_eta,
        initial_size=search.initial_size, objectives=list(search.objectives) or None,
        warm_start=[dict(genome) for genome in search.warm_start],
        fidelity=config.fidelity,
        max_evaluations=budget.max_evaluations, max_training_epochs=budget.max_training_epochs,
        time_limit=budget.time_limit, patience=budget.patience, target_fitness=budget.target_fitness,
        n_jobs=parallel.n_jobs, timeout=parallel.timeout, blas_threads=parallel.blas_threads,
        backend=parallel.backend, scheduler=parallel.scheduler,
        seed=config.seed, out_dir=config.out_dir, quiet=quiet, config=config.to_dict(),
    )
