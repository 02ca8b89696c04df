"""hpsearch: evolutionary hyperparameter search for netcore's NumPy MLPs.

    from hpsearch import GeneticSearch, default_space, load_dataset, split_dataset, scale_splits
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    result = GeneticSearch(default_space(), splits, population=16, generations=8,
                           seed=0, out_dir="runs/digits").run()
    result.best_params, result.best_score, result.test_score

The names below are imported on first use, so that `import hpsearch.plots` (plots are made
from the files alone) or `hpsearch --help` does not load the engine, DEAP or joblib.
docs/ARCHITECTURE.md shows which module owns what.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it.
_EXPORTS = {
    "AskTellSearch": "ask_tell",
    "load_dataset": "datasets", "scale_splits": "datasets", "split_dataset": "datasets",
    "Fidelity": "fidelity",
    "MLPObjective": "mlp", "default_space": "mlp",
    "PopulationBasedTraining": "pbt",
    "Racing": "strategies.racing",
    "SearchResult": "results", "load": "results",
    "GeneticSearch": "search",
    "GeneticSearchCV": "search_cv",
    "SearchError": "run",
    "GA": "settings", "Budget": "settings", "Parallel": "settings", "PBT": "settings",
    "CategoricalGene": "space", "ConstantGene": "space", "FloatGene": "space", "IntGene": "space",
    "LayersGene": "space", "Space": "space",
    "trial_seed": "trial",
}

__all__ = [
    "GA", "PBT", "AskTellSearch", "Budget", "CategoricalGene", "ConstantGene", "Fidelity", "FloatGene", "GeneticSearch",
    "GeneticSearchCV", "IntGene", "LayersGene", "MLPObjective", "Parallel", "PopulationBasedTraining", "Racing",
    "SearchError",
    "SearchResult", "Space", "default_space", "load", "load_dataset", "scale_splits", "split_dataset",
    "trial_seed",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:  # a submodule, as `import hpsearch; hpsearch.plots` expects
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'hpsearch' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .ask_tell import AskTellSearch
    from .datasets import load_dataset, scale_splits, split_dataset
    from .fidelity import Fidelity
    from .mlp import MLPObjective, default_space
    from .pbt import PopulationBasedTraining
    from .results import SearchResult, load
    from .run import SearchError
    from .search import GeneticSearch
    from .search_cv import GeneticSearchCV
    from .settings import GA, PBT, Budget, Parallel
    from .space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space
    from .strategies.racing import Racing
    from .trial import trial_seed
