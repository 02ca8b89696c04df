"""The Config dataclass and the layout of the TOML file: its tables, their keys, to_dict.

A config holds the engine's own settings objects (hpsearch.settings.GA, PBT, Budget,
Parallel and hpsearch.Fidelity), so the defaults and the rules about their values live
there, once; this module only says which TOML table each field is written in.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import checks, datasets
from ..errors import UserError
from ..fidelity import Fidelity
from ..mlp import default_space
from ..results import plain_genome, without_none
from ..settings import DIRECTIONS, GA, PBT, Budget, Parallel, field_names
from ..space import Space
from ..strategies import Breeding, default_breeding
from ..strategies.racing import Racing, check_racing

# hpsearch.datasets.SCALING_METHODS plus "auto": "fixed" for data with a known value range
# (pixels), else "standard". Which one is only known once the data set is loaded, so the
# config keeps the rule, not its result.
SCALINGS = ("auto", "fixed", "minmax", "standard", "none")
TASK_METRICS = {"classification": ("accuracy",), "regression": ("neg_mse", "r2")}
# Built-in loaders without a `task` option whose data are regression targets; listed so that
# the metric can be checked before the data are loaded.
REGRESSION_DATASETS = ("regression",)

DATASET_KEYS = ("name", "val_fraction", "test_fraction", "stratify", "split_seed", "scaling", "holdout")
TOP_LEVEL_KEYS = ("seed", "out_dir")
TABLES = ("dataset", "objective", "search", "breeding", "racing", "budget", "fidelity", "parallel", "space")

MODES = ("ga", "pbt")  # the first is the default
# search.space: how [space] makes the search space. "extend" (the default): its genes
# override the default space's of the same name or are added to them; "replace": [space] is
# the whole space.
SPACE_MODES = ("extend", "replace")
# [search] holds the fields of GA or of PBT (by mode), plus mode and space; keys of one mode
# only would do nothing in the other, so they are an error there.
PBT_ONLY_KEYS = tuple(name for name in field_names(PBT) if name not in field_names(GA))
GA_ONLY_KEYS = tuple(name for name in field_names(GA) if name not in field_names(PBT))
SEARCH_KEYS = ("mode", *field_names(GA), "space", *PBT_ONLY_KEYS)
# Population-based training's only budgets are search.steps and budget.time_limit.
GA_ONLY_BUDGETS = tuple(name for name in field_names(Budget) if name != "time_limit")

# Keys that moved out of [search] when breeding became a strategy of its own (issue 23), and
# where they went: refused with this hint rather than kept as silent aliases.
MOVED_SEARCH_KEYS = {
    "surrogate": "breeding.strategy ('model_assisted' for 'trees', 'ga' for 'none')",
    "algorithm": "breeding.strategy ('random' for random search, 'ga' for the plain GA)",
    "initial_design": "breeding.initial_design",
}

# Multi-fidelity evaluation is off unless a [fidelity] table turns it on; a table starts
# from this too, so that `pruner = "median"` alone prunes without adding rungs.
SINGLE_FIDELITY = Fidelity(rungs=1, pruner="none")


class ConfigError(UserError):
    """A config (or the data it names) is unusable; the message is one line starting with
    the key path, e.g. ``budget.time_limit: must be > 0, got -5``."""

    def __init__(self, message: str) -> None:
        # A TOML key or string may hold line breaks; the message stays one line whatever it quotes.
        super().__init__(checks.one_line(str(message)))


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
        return dataset_task(self.name, self.options)


def dataset_task(name: str, options: Mapping[str, Any]) -> str:
    parameters = inspect.signature(datasets.dataset_loader(name)).parameters
    if "task" in parameters:
        return options.get("task", parameters["task"].default)
    return "regression" if name in REGRESSION_DATASETS else "classification"


@dataclass(frozen=True)
class ObjectiveConfig:
    metric: str = "accuracy"
    early_stopping_patience: int | None = None
    # The MLP's metrics are all higher-is-better: only DIRECTIONS[0] ("maximize") is accepted
    # here; "minimize" is for custom objectives (GeneticSearch(..., direction="minimize")).
    direction: str = DIRECTIONS[0]


def extend_default(space: Space) -> Space:
    """search.space = "extend": the genes of `space` in their order (each overriding the
    default gene of its name), then the default space's genes it does not name."""
    return Space([*space, *(gene for gene in default_space() if gene.name not in space)])


@dataclass(frozen=True)
class Config:
    """One experiment. `mode` says which of `ga` (with `breeding` and `fidelity`) and `pbt`
    the search uses; the other keeps its defaults and is not written out."""

    dataset: DatasetConfig
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    mode: str = MODES[0]  # "pbt": population-based training (hpsearch.pbt)
    ga: GA = field(default_factory=GA)
    breeding: Breeding = field(default_factory=default_breeding)  # the search's; PBT has none
    racing: Racing | None = None  # None: Racing() (NSGA-II: its knee confirmed; check_racing)
    pbt: PBT = field(default_factory=PBT)
    budget: Budget = field(default_factory=Budget)
    parallel: Parallel = field(default_factory=Parallel)
    fidelity: Fidelity = SINGLE_FIDELITY
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
        # The space is written whole; "replace" only where extending the default would add to it.
        mode = {"space": "replace"} if extend_default(self.space) != self.space else {}
        if self.mode == "pbt":
            search = {"mode": self.mode, **mode, **dataclasses.asdict(self.pbt)}
        else:
            search = {"mode": self.mode, **mode, **dataclasses.asdict(self.ga)}
            search["objectives"] = list(self.ga.objectives)
            search["warm_start"] = [plain_genome(genome) for genome in self.ga.warm_start]
            breeding = self.breeding.to_config()
            racing = check_racing(self.racing).to_config()
        table = {
            "seed": self.seed,
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "dataset": {**dataset, **self.dataset.options},
            "objective": dataclasses.asdict(self.objective),
            "search": search,
            **({"breeding": breeding, "racing": racing} if self.mode != "pbt" else {}),
            "budget": dataclasses.asdict(self.budget),
            **({"fidelity": dataclasses.asdict(self.fidelity)} if self.mode != "pbt" else {}),
            "parallel": dataclasses.asdict(self.parallel),
            "space": self.space.to_config(),
        }
        return without_none(table)

