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
from .evaluate import MLP_DEFAULTS, MLPObjective
from .evolve import ALGORITHMS, SELECTIONS
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
    warm_start: tuple = ()  # genome dicts, layer sizes as tuples


@dataclass(frozen=True)
class BudgetConfig:
    max_evaluations: int | None = None
    time_limit: float | None = None
    patience: int | None = None
    target_fitness: float | None = None


@dataclass(frozen=True)
class ParallelConfig:
    n_jobs: int = -1
    timeout: float | None = None
    blas_threads: int = 1


@dataclass(frozen=True)
class Config:
    dataset: DatasetConfig
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
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
        table = {
            "seed": self.seed,
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "dataset": {**dataset, **self.dataset.options},
            "objective": dataclasses.asdict(self.objective),
            "search": search,
            "budget": dataclasses.asdict(self.budget),
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
    "parallel": tuple(f.name for f in dataclasses.fields(ParallelConfig)),
}
TOP_LEVEL_KEYS = ("seed", "out_dir")
TABLES = ("dataset", "objective", "search", "budget", "parallel", "space")


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
    parallel = _parse_parallel(_table("parallel", mapping.get("parallel", {})))
    return Config(dataset=dataset, objective=objective, search=search, budget=budget,
                  parallel=parallel, seed=seed, out_dir=out_dir, space=space, source=source)


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
    if elitism >= population:
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
        warm_start=_parse_warm_start(table.get("warm_start", []), space, population),
    )


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


def _parse_budget(table: Mapping) -> BudgetConfig:
    _check_keys("budget", table, _SECTION_KEYS["budget"])
    budget = {}
    if "max_evaluations" in table:
        budget["max_evaluations"] = _integer("budget.max_evaluations", table["max_evaluations"], minimum=1)
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
    return ParallelConfig(
        n_jobs=_n_jobs("parallel.n_jobs", table.get("n_jobs", -1)),
        timeout=None if timeout is None else _positive("parallel.timeout", timeout),
        blas_threads=_integer("parallel.blas_threads", table.get("blas_threads", 1), minimum=1),
    )


def _n_jobs(path: str, value: Any) -> int:
    if _integer(path, value) == 0:
        raise ConfigError(f"{path}: must not be 0 (-1 = all cores), got 0")
    return value


# ---------------------------------------------------------------- running it


def apply_overrides(config: Config, *, out_dir: str | os.PathLike | None = None,
                    n_jobs: int | None = None, seed: int | None = None) -> Config:
    """The config with command-line overrides (None: keep the config's value).

    A seed override also moves the data split unless ``dataset.split_seed`` was given
    explicitly: the split follows the master seed by default.
    """
    changes = {}
    if out_dir is not None:
        changes["out_dir"] = Path(_string("out_dir", str(out_dir)))
    if seed is not None:
        changes["seed"] = _integer("seed", seed, minimum=0)
    if n_jobs is not None:
        changes["parallel"] = dataclasses.replace(config.parallel, n_jobs=_n_jobs("parallel.n_jobs", n_jobs))
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
                 seed: int | None = None, quiet: bool = False) -> GeneticSearch:
    """A GeneticSearch for the config: loads, splits and scales the data, builds the MLP
    objective. Overrides (None: keep the config's) are applied as by apply_overrides; the
    effective config is handed to the search, which saves it as out_dir/config.toml."""
    config = apply_overrides(config, out_dir=out_dir, n_jobs=n_jobs, seed=seed)
    splits = load_splits(config)
    objective = MLPObjective(splits, task=splits.task, metric=config.objective.metric,
                             early_stopping_patience=config.objective.early_stopping_patience)
    search, budget, parallel = config.search, config.budget, config.parallel
    return GeneticSearch(
        config.space, objective,
        population=search.population, generations=search.generations,
        crossover_prob=search.crossover_prob, mutation_prob=search.mutation_prob,
        tournament_size=search.tournament_size, elitism=search.elitism, selection=search.selection,
        algorithm=search.algorithm, mutation_indpb=search.mutation_indpb,
        mutation_scale=search.mutation_scale, crossover_eta=search.crossover_eta,
        warm_start=[dict(genome) for genome in search.warm_start],
        max_evaluations=budget.max_evaluations, time_limit=budget.time_limit,
        patience=budget.patience, target_fitness=budget.target_fitness,
        n_jobs=parallel.n_jobs, timeout=parallel.timeout, blas_threads=parallel.blas_threads,
        seed=config.seed, out_dir=config.out_dir, quiet=quiet, config=config.to_dict(),
    )
