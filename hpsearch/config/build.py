"""From a Config to a running search: command-line overrides, the data, the search object."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from .. import checks, datasets
from ..datasets import Splits, load_dataset, scale_splits, split_dataset, whole_data_splits
from ..logs import logger
from ..mlp import MLPObjective
from ..pbt import PopulationBasedTraining
from ..search import GeneticSearch
from ..settings import Parallel
from .dataset import loader_parameters
from .parse import check_metric, make_settings
from .schema import Config, ConfigError


def apply_overrides(config: Config, *, out_dir: str | os.PathLike | None = None,
                    n_jobs: int | None = None, seed: int | None = None, backend: str | None = None,
                    scheduler: str | None = None) -> Config:
    """The config with command-line overrides (None: keep the config's value).

    A seed override also moves the data split unless ``dataset.split_seed`` was given
    explicitly: the split follows the master seed by default. A scheduler implies backend
    "dask"; another backend drops the config's scheduler.
    """
    changes: dict[str, Any] = {}
    if out_dir is not None:
        changes["out_dir"] = Path(checks.string("out_dir", str(out_dir), error=ConfigError))
    if seed is not None:
        changes["seed"] = checks.integer("seed", seed, minimum=0, error=ConfigError)
    parallel = dataclasses.asdict(config.parallel)
    if n_jobs is not None:
        parallel["n_jobs"] = n_jobs
    if backend is not None or scheduler is not None:
        backend = backend or ("dask" if scheduler is not None else config.parallel.backend)
        if scheduler is None and backend == config.parallel.backend:
            scheduler = config.parallel.scheduler
        parallel.update(backend=backend, scheduler=scheduler)
    parallel = make_settings(Parallel, "parallel", parallel)
    if parallel != config.parallel:
        changes["parallel"] = parallel
    return dataclasses.replace(config, **changes)


def load_splits(config: Config) -> Splits:
    """Load, split and scale the config's data set (hpsearch.datasets.Splits)."""
    spec = config.dataset
    named, takes_any = loader_parameters(spec.name)
    for key, kind in (("path", "file"), ("data_dir", "directory")):
        value = spec.options.get(key)
        if isinstance(value, str) and not Path(value).exists():
            raise ConfigError(f"dataset.{key}: no such {kind}: {value}")
    logger.info("loading the data set %r, splitting and scaling it", spec.name)
    # Errors a user can cause through the data (bad files, a download that fails); a
    # TypeError only from a loader passing unknown options on (pandas.read_csv).
    data_errors = (ValueError, OSError, datasets.DownloadError) + ((TypeError,) if takes_any else ())
    try:
        dataset = load_dataset(spec.name, **spec.options)
    except data_errors as error:
        raise ConfigError(_dataset_message(error)) from None
    check_metric("objective.metric", config.objective.metric, dataset.task)
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
                 quiet: bool = False) -> GeneticSearch | PopulationBasedTraining:
    """The search the config describes (a GeneticSearch, or PopulationBasedTraining with
    search.mode = "pbt"): loads, splits and scales the data, builds the MLP objective.
    Overrides (None: keep the config's) are applied as by apply_overrides; the effective
    config is handed to the search, which saves it as out_dir/config.toml."""
    config = apply_overrides(config, out_dir=out_dir, n_jobs=n_jobs, seed=seed, backend=backend,
                             scheduler=scheduler)
    splits = load_splits(config)
    objective = MLPObjective(splits, task=splits.task, metric=config.objective.metric,
                             early_stopping_patience=config.objective.early_stopping_patience)
    if config.mode == "pbt":
        return PopulationBasedTraining(config.space, objective, pbt=config.pbt, budget=config.budget,
                                       parallel=config.parallel, seed=config.seed, out_dir=config.out_dir,
                                       quiet=quiet, config=config.to_dict())
    search = GeneticSearch(config.space, objective, ga=config.ga, budget=config.budget,
                           parallel=config.parallel, fidelity=config.fidelity, breeding=config.breeding,
                           racing=config.racing, seed=config.seed, out_dir=config.out_dir, quiet=quiet,
                           direction=config.objective.direction)
    search.config = config.to_dict()
    return search
