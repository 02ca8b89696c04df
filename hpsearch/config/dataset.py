"""The [dataset] table: the split and scaling keys, and the options of the named loader,
checked against the loader's own parameters (names, required ones, annotated types)."""

from __future__ import annotations

import inspect
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from .. import checks, datasets
from .schema import DATASET_KEYS, SCALINGS, ConfigError, DatasetConfig

# Loader parameters that a config cannot set: `name` is taken by the registry name.
_HIDDEN_LOADER_PARAMETERS = ("name",)


def parse_dataset(table: Mapping) -> DatasetConfig:
    if "name" not in table:
        raise ConfigError("dataset: missing required key 'name'")
    name = checks.string("dataset.name", table["name"], error=ConfigError)
    names = datasets.available_datasets()
    if name not in names:
        raise checks.unknown("dataset.name", f"unknown data set {name!r}", name, names, error=ConfigError)
    defaults = DatasetConfig(name)

    def get(key: str) -> Any:
        return table.get(key, getattr(defaults, key))

    val_fraction = checks.in_range("dataset.val_fraction", get("val_fraction"), 0, 1, "()", error=ConfigError)
    test_fraction = checks.in_range("dataset.test_fraction", get("test_fraction"), 0, 1, "()",
                                    error=ConfigError)
    if val_fraction + test_fraction >= 1:
        raise ConfigError(f"dataset.test_fraction: val_fraction + test_fraction must be < 1, "
                          f"got {val_fraction:g} + {test_fraction:g}")
    stratify = checks.boolean("dataset.stratify", get("stratify"), error=ConfigError)
    split_seed = get("split_seed")
    if split_seed is not None:
        split_seed = checks.integer("dataset.split_seed", split_seed, minimum=0, error=ConfigError)
    scaling = checks.choice("dataset.scaling", get("scaling"), SCALINGS, error=ConfigError)
    holdout = checks.boolean("dataset.holdout", get("holdout"), error=ConfigError)
    options = {key: value for key, value in table.items() if key not in DATASET_KEYS}
    _check_loader_options(name, options)
    return DatasetConfig(name=name, val_fraction=val_fraction, test_fraction=test_fraction,
                         stratify=stratify, split_seed=split_seed, scaling=scaling, holdout=holdout,
                         options=options)


def loader_parameters(name: str) -> tuple[dict[str, inspect.Parameter], bool]:
    """(named options of the loader, whether it also takes **options)."""
    parameters = inspect.signature(datasets.dataset_loader(name)).parameters
    named = {key: p for key, p in parameters.items()
             if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and key not in _HIDDEN_LOADER_PARAMETERS}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    return named, takes_any


def _check_loader_options(name: str, options: Mapping) -> None:
    named, takes_any = loader_parameters(name)
    for key in options:
        if key in named:
            continue
        hint = checks.did_you_mean(key, DATASET_KEYS + tuple(named))
        # A loader taking **options (csv: pandas.read_csv's) gets other keys as they are,
        # but a near miss of a named option is almost surely a typo.
        if takes_any and not hint:
            continue
        if hint and hint == checks.did_you_mean(key, DATASET_KEYS):
            raise ConfigError(f"dataset.{key}: unknown key ({hint})")
        if hint:
            raise ConfigError(f"dataset.{key}: unknown option of data set {name!r} ({hint})")
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
        checks.choice("dataset.task", options["task"], datasets.TASKS, error=ConfigError)


def _loader_type_hints(name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(datasets.dataset_loader(name))
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
    "integer": checks.is_integer,
    "number": checks.is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
}
_KIND_WORDS = {"boolean": "true or false", "integer": "an integer", "number": "a number",
               "string": "a string", "array": "an array"}


def _check_option_type(path: str, value: Any, hint: Any) -> None:
    kinds = _expected_kinds(hint)
    if kinds and not any(_KIND_TESTS[kind](value) for kind in kinds):
        expected = " or ".join(_KIND_WORDS[kind] for kind in kinds)
        raise ConfigError(f"{path}: expected {expected}, got {checks.show(value)}")
