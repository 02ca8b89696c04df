"""The objective contract: what the search calls, and the optional capabilities it may declare.

An objective is anything callable as ``objective(params, seed)`` returning a metrics dict
with a "fitness" (higher is better; "status", "reason", other metrics and a "curve" of
per-epoch lists optional) or a plain number, the fitness. That is all a search needs.

Beyond it an objective may declare capabilities, each a documented method or attribute of
the Objective protocol below. The engine reads them once, through Capabilities.of, and from
then on asks the Capabilities, never the objective (no hasattr scattered through the loop)::

    reporter      __call__ takes ``reporter=`` (an hpsearch.pruning.Reporter): per-epoch
                  reports, pruning under [fidelity]
    continues     __call__ takes ``keep_state=`` and ``resume=``: a promoted rung goes on
                  from the state the rung below reached instead of training from scratch
    test_split    test_score(params, seed) scores a retrained genome on held-out data
    saves_model   test_score(..., save=path) also writes the retrained model (best_model.npz)
    higher_is_better_only  its fitness is a score that direction "minimize" would make the
                  search look for the worst of (the MLP objective's metrics)
    steps         train_step(params, seed, first_epoch=, epochs=, ...) trains in steps from
                  saved weights, state_test_score and save_state_model score and keep them:
                  population-based training
    deterministic its fitness does not depend on the seed (a simulation with a fixed
                  start, a closed-form score): racing's noise "auto" then spends no
                  training on measuring the seed noise (an undeclared objective costs one)

A class declares them with a ``capabilities`` attribute (MLPObjective does); for a plain
function they are read from its parameter list, which is its declaration: a function with a
``reporter`` parameter reports; ``deterministic`` has no parameter to show it, so a function
or class declares it with an attribute, ``deterministic = True``. The other optional methods
(check_space or check_params, fingerprint, metric, cost, memmap) have documented meanings and
defaults in describe().
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Capabilities", "Objective"]


@runtime_checkable
class Objective(Protocol):
    """What GeneticSearch and PopulationBasedTraining call. Only __call__ is required; the
    methods below it are optional (see the module docstring and Capabilities)."""

    def __call__(self, params: dict[str, Any], seed: int, **options: Any) -> Mapping[str, Any] | float:
        """Train and score params with seed; options only as the capabilities declare."""
        ...

    # Optional:
    #   capabilities: Capabilities                      what it declares (else read as above)
    #   metric: str                                     the name of its score (config.toml)
    #   check_space(space) / check_params(names)        refuse a space it cannot use (ValueError)
    #   fingerprint() -> str | dict                     its identity for the resume check
    #   cost(params) -> number                          relative training cost (dispatch order)
    #   memmap(directory)                               move its data to files workers map
    #   test_score(params, seed, save=None) -> dict     test_split / saves_model


@dataclass(frozen=True)
class Capabilities:
    """What an objective can do beyond objective(params, seed) (see the module docstring)."""

    reporter: bool = False
    continues: bool = False
    test_split: bool = False
    saves_model: bool = False
    higher_is_better_only: bool = False
    steps: bool = False
    deterministic: bool = False

    @classmethod
    def of(cls, objective: Callable[..., Any]) -> Capabilities:
        """The objective's declared capabilities, or for an objective that declares none,
        those its signature and methods show."""
        declared = getattr(objective, "capabilities", None)
        if isinstance(declared, Capabilities):
            return declared
        return cls(reporter=_takes(objective, "reporter"),
                   continues=_takes(objective, "keep_state") and _takes(objective, "resume"),
                   test_split=callable(getattr(objective, "test_score", None)),
                   steps=callable(getattr(objective, "train_step", None)),
                   deterministic=getattr(objective, "deterministic", False) is True)


def identity(objective: Callable[..., Any]) -> Any:
    """What a resume checks the objective against: its fingerprint() where it has one (the
    MLP objective: its settings and a hash of its data), else its importable name."""
    if callable(getattr(objective, "fingerprint", None)):
        return objective.fingerprint()  # type: ignore[attr-defined]
    name = getattr(objective, "__qualname__", type(objective).__qualname__)
    return f"{getattr(objective, '__module__', type(objective).__module__)}.{name}"


def metric_name(objective: Callable[..., Any]) -> str | None:
    """The name of the objective's score (its `metric`), where it has one."""
    metric = getattr(objective, "metric", None)
    return metric if isinstance(metric, str) else None


def check_space(objective: Callable[..., Any], space: Any) -> None:
    """Raise the objective's ValueError for a space it cannot use: its check_space(space)
    (which may check the genes' values), else its check_params(names); nothing where it has
    neither."""
    if callable(getattr(objective, "check_space", None)):
        objective.check_space(space)  # type: ignore[attr-defined]
    elif callable(getattr(objective, "check_params", None)):
        objective.check_params(space.names)  # type: ignore[attr-defined]


def _takes(objective: Callable[..., Any], name: str) -> bool:
    """Whether the objective names a parameter `name` (a **kwargs catch-all does not count:
    it declares nothing)."""
    try:
        parameter = inspect.signature(objective).parameters.get(name)
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
