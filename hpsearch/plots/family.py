"""What a plot family module declares: its ``PLOTS``, a tuple of Plot records, each making a
Figure (or a Skip) from the RunFiles of a results directory."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .. import results
from ..errors import UserError
from ..results import SearchResult
from ..space import Space
from .features import fitness_label, read_config, space_from_config
from .forest import importance_data


@dataclass
class RunFiles:
    """A results directory's files, read once for all of its plots."""

    result: SearchResult
    config: dict[str, Any]
    space: Space | None  # None without a [space] table: genes are then inferred
    fitness_label: str

    @classmethod
    def read(cls, out_dir: str | Path) -> "RunFiles":
        result = results.load(out_dir)
        if result.trials.empty:
            raise UserError(f"{out_dir}: no trials yet, nothing to plot")
        config = read_config(out_dir)
        return cls(result, config, space_from_config(config), fitness_label(config, result.trials))

    @cached_property
    def importance(self) -> pd.DataFrame:
        """importance_data of the run: a random forest, fitted once although two plots use
        it (the importance bars, and the 2-D landscapes of the most important genes)."""
        return importance_data(self.result, self.space)


@dataclass(frozen=True)
class Skip:
    """Why a plot is not drawn for a run. Notes go to stderr, except for plots that only
    belong to some kinds of run (note=False: a Pareto front for a multi-objective search)."""

    reason: str
    note: bool = True


@dataclass(frozen=True)
class Plot:
    """One PNG file, ``<name>.png``, made by ``make``."""

    name: str
    make: Callable[[RunFiles], Figure | Skip]
