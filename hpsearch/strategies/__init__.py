"""Search strategies: the seams of the search loop (base.py) and the strategies that fill them.

    from hpsearch.strategies import ModelAssisted, RandomSearch
    GeneticSearch(space, objective, breeding=RandomSearch(), max_evaluations=60)

Breeding strategies are registered by name (@register_breeding), so that a config names one
in its [breeding] table (strategy = "random", and the strategy's own fields beside it).
docs/EXTENDING.md shows how to write one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import checks
from .base import (
    BREEDINGS,
    DESIGNS,
    Breeding,
    History,
    Parents,
    Proposal,
    Ranking,
    Training,
    register_breeding,
)
from .cma import CMAES
from .genetic import GeneticBreeding
from .model_assisted import ModelAssisted
from .racing import Racing
from .random_search import RandomSearch
from .ranking import BestFitness
from .training import WholeTraining

__all__ = [
    "BREEDINGS", "CMAES", "DESIGNS", "BestFitness", "Breeding", "GeneticBreeding", "History", "ModelAssisted",
    "Parents", "Proposal", "Racing", "RandomSearch", "Ranking", "Training", "WholeTraining", "breeding_from_config",
    "default_breeding", "register_breeding",
]

# The default: "auto", the model-assisted GA for one fitness, the plain GA for NSGA-II.
AUTO = "auto"


def default_breeding(objectives: Sequence[str] = ()) -> Breeding:
    """The breeding a search gets when it names none: ModelAssisted, or GeneticBreeding
    for NSGA-II (the model screens on one score, NSGA-II ranks by several)."""
    return GeneticBreeding() if objectives else ModelAssisted()


def breeding_from_config(table: Mapping[str, Any], objectives: Sequence[str] = ()) -> Breeding:
    """The Breeding a config's [breeding] table names: `strategy` (a registered name, or
    "auto", the default) and the strategy's own fields. Raises ValueError whose message
    starts with the key ("strategy: unknown value 'x' ...")."""
    options = dict(table)
    name = options.pop("strategy", AUTO)
    if name == AUTO:
        cls = type(default_breeding(objectives))
    else:
        checks.choice("strategy", name, (AUTO, *BREEDINGS))
        cls = BREEDINGS[name]
    fields = [f.name for f in cls.__dataclass_fields__.values() if f.init]  # type: ignore[attr-defined]
    for key in options:
        if key not in fields:
            raise checks.unknown(key, f"not an option of breeding strategy {cls.name!r}", key, fields)
    return cls(**options)


def check_breeding(breeding: Any, objectives: Sequence[str], space: Any) -> Breeding:
    """`breeding` checked against the search: a Breeding, single-objective where the search
    has one fitness, able to search the space. Raises ValueError starting with "breeding"."""
    if not isinstance(breeding, Breeding):
        raise TypeError(f"breeding: expected an hpsearch.strategies.Breeding (e.g. ModelAssisted()), "
                        f"got {type(breeding).__name__}")
    if breeding.single_objective and objectives:
        raise ValueError(f"breeding: {breeding.name!r} screens offspring on one score, and NSGA-II ranks "
                         f"them by Pareto fronts of several; use 'ga' or 'random' with objectives")
    try:
        breeding.check(space)
    except ValueError as error:
        raise ValueError(f"breeding: {error}") from None
    return breeding
