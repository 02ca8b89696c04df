"""hpsearch: evolutionary hyperparameter search for netcore's NumPy MLPs.

    from hpsearch import GeneticSearch, default_space, load_dataset, split_dataset, scale_splits
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    result = GeneticSearch(default_space(), splits, population=16, generations=8,
                           n_jobs=-1, seed=0, out_dir="runs/digits").run()
    result.best_params, result.best_score, result.test_score
"""

from .datasets import load_dataset, scale_splits, split_dataset
from .evaluate import MLPObjective, trial_seed
from .fidelity import Fidelity
from .pbt import PopulationBasedTraining
from .results import SearchResult, load
from .search import GeneticSearch, SearchError
from .space import (CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space,
                    default_space)

__all__ = [
    "CategoricalGene", "ConstantGene", "Fidelity", "FloatGene", "GeneticSearch", "IntGene", "LayersGene",
    "MLPObjective", "PopulationBasedTraining", "SearchError", "SearchResult", "Space", "default_space", "load",
    "load_dataset", "scale_splits", "split_dataset", "trial_seed",
]
