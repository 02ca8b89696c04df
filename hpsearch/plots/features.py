"""Genes as plotted quantities (features), and the other readings every plot family shares:
config.toml's search space and fitness label, the best trials.

Genes become *features*:

- float and int genes: their value; log10 scale for log genes and power-of-two ints;
- categorical genes: the index of the choice (drawn as named categories);
- a layers gene (``hidden_sizes`` = "256-128"): two features, the number of layers
  (named like its trials column, ``n_layers``) and the total number of hidden units
  (``<gene>_units``, log scale when the gene's sizes are). Total units is one number for
  capacity that does not depend on depth the way the first layer's size would.
- constant (unsearchable) genes are left out.

The genes come from ``config.toml``'s ``[space]`` table. Without one they are inferred from
``trials.csv``: the columns between ``cached`` and the metric/trailing columns that are
never empty (objective metrics are empty for failed trials, genes never are); numbers with
positive values spanning more than two decades get a log scale; text is categorical; a
column followed by ``n_layers`` (or named by ``<gene>_n_layers``) is a layers gene.
"""

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import leaderboard, results
from ..errors import UserError
from ..results import LEADING_COLUMNS, METRIC_COLUMNS, TRAILING_COLUMNS
from ..space import CategoricalGene, FloatGene, IntGene, LayersGene, Space

FITNESS_LABELS = {"accuracy": "validation accuracy", "neg_mse": "validation −MSE",
                  "r2": "validation R²"}


@dataclass(frozen=True)
class Feature:
    """One plotted quantity derived from a gene column of trials.csv.

    ``low``/``high`` are the bounds in natural units (the space's bounds, or the data's
    range when inferred); None for categoricals, whose axis is ``categories``. ``gene`` is
    the trials column it comes from (a layers gene gives two features).
    """

    name: str
    label: str
    kind: str  # "float", "int" or "categorical"
    log: bool = False
    categories: tuple = ()
    low: float | None = None
    high: float | None = None
    gene: str = ""


# ---------------------------------------------------------------- config.toml


def read_config(out_dir: str | Path) -> dict[str, Any]:
    """The effective config (config.toml) of a results directory; {} when there is none."""
    path = Path(out_dir) / results.CONFIG
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: unreadable ({error})") from None


def space_from_config(config: dict[str, Any]) -> Space | None:
    """The search space of a config's [space] table, or None when it has none."""
    table = config.get("space")
    return Space.from_config(table) if table else None


def fitness_label(config: dict[str, Any], trials: pd.DataFrame | None = None) -> str:
    """Axis label for fitness: the validation metric when the config names one."""
    metric = _find_key(config, "metric")
    if metric is None:
        task = _find_key(config, "task")
        metric = {"classification": "accuracy", "regression": "neg_mse"}.get(task)
    if metric is not None:
        return FITNESS_LABELS.get(metric, f"validation {metric}")
    if trials is not None and "val_metric" in trials:
        return "fitness (validation metric)"
    return "fitness"


def _find_key(table, key):
    """The first string value of `key` anywhere in nested tables (the config's layout is the
    CLI's business; plots only need the metric's name)."""
    if not isinstance(table, dict):
        return None
    if isinstance(table.get(key), str):
        return table[key]
    for value in table.values():
        found = _find_key(value, key)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- genes as features


def gene_features(trials: pd.DataFrame, space: Space | None = None) -> tuple[list[Feature], pd.DataFrame]:
    """(features, values): the searchable genes of `trials` as Features, and a DataFrame on
    trials' index with one float column per feature (categoricals as choice indices).
    With space=None the genes are inferred from the columns (see the module docstring)."""
    if space is None:
        return _inferred_features(trials)
    features, columns = [], {}
    layers_genes = [gene for gene in space if isinstance(gene, LayersGene)]
    for gene in space:
        if not gene.searchable:
            continue
        if gene.name not in trials:
            raise UserError(f"trials.csv has no column for gene {gene.name!r} of the [space] table")
        cells = trials[gene.name]
        label = pretty(gene.name)
        if isinstance(gene, CategoricalGene):
            categories = tuple(gene.format(choice) for choice in gene.choices)
            features.append(Feature(gene.name, label, "categorical", categories=categories, gene=gene.name))
            columns[gene.name] = _category_codes(cells, categories, gene.name)
        elif isinstance(gene, LayersGene):
            depth_name = "n_layers" if len(layers_genes) == 1 else f"{gene.name}_n_layers"
            depth, units = _layers_columns(cells, gene.name)
            if gene.max_layers > gene.min_layers:
                features.append(Feature(depth_name, f"{label}: number of layers", "int",
                                        low=gene.min_layers, high=gene.max_layers, gene=gene.name))
                columns[depth_name] = depth
            if gene.high > gene.low:
                features.append(Feature(f"{gene.name}_units", f"{label}: total units", "int", gene.log,
                                        low=gene.low * gene.min_layers, high=gene.high * gene.max_layers,
                                        gene=gene.name))
                columns[f"{gene.name}_units"] = units
        elif isinstance(gene, (FloatGene, IntGene)):
            is_int = isinstance(gene, IntGene)
            log = gene.log or (isinstance(gene, IntGene) and gene.power_of_two)
            features.append(Feature(gene.name, label, "int" if is_int else "float", log,
                                    low=gene.low, high=gene.high, gene=gene.name))
            columns[gene.name] = pd.to_numeric(cells).astype(float)
        else:
            raise TypeError(f"cannot plot gene {gene.name!r} of type {type(gene).__name__}")
    return features, pd.DataFrame(columns, index=trials.index)


def _inferred_features(trials):
    names = list(trials.columns)
    start = names.index("cached") + 1 if "cached" in names else len(LEADING_COLUMNS)
    not_genes = set(LEADING_COLUMNS + METRIC_COLUMNS + TRAILING_COLUMNS)
    stop = next((i for i in range(start, len(names)) if names[i] in not_genes), len(names))
    candidates = names[start:stop]

    # A layers gene is written as "256-128" and followed by its depth column.
    depth_columns = {}
    for i, name in enumerate(candidates):
        if name == "n_layers" and i > 0:
            owner = candidates[i - 1]
        elif name.endswith("_n_layers"):
            owner = name.removesuffix("_n_layers")
        else:
            continue
        if owner in candidates and _looks_like_layers(trials[owner]):
            depth_columns[owner] = name

    features, columns = [], {}
    for name in candidates:
        cells = trials[name]
        if name in depth_columns.values() or cells.isna().any() or cells.nunique() < 2:
            continue
        label = pretty(name)
        if name in depth_columns:
            depth, units = _layers_columns(cells, name)
            if depth.nunique() > 1:
                depth_name = depth_columns[name]
                features.append(Feature(depth_name, f"{label}: number of layers", "int",
                                        low=depth.min(), high=depth.max(), gene=name))
                columns[depth_name] = depth
            features.append(Feature(f"{name}_units", f"{label}: total units", "int", _spans_decades(units),
                                    low=units.min(), high=units.max(), gene=name))
            columns[f"{name}_units"] = units
        elif pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            values = cells.astype(float)
            kind = "int" if pd.api.types.is_integer_dtype(cells) else "float"
            features.append(Feature(name, label, kind, _spans_decades(values),
                                    low=values.min(), high=values.max(), gene=name))
            columns[name] = values
        else:
            categories = tuple(sorted(cells.astype(str).unique()))
            features.append(Feature(name, label, "categorical", categories=categories, gene=name))
            columns[name] = _category_codes(cells, categories, name)
    return features, pd.DataFrame(columns, index=trials.index)


def _looks_like_layers(cells):
    if all(isinstance(cell, (tuple, list)) for cell in cells):
        return True
    return bool(cells.astype(str).str.fullmatch(r"\d+(-\d+)*").all())


def _layer_sizes(cell):
    """A layers cell's sizes: a tuple as load() reads it, or text like "256-128" (a single
    layer may read as a number)."""
    if isinstance(cell, (tuple, list)):
        return [int(size) for size in cell]
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        cell = int(cell)
    return [int(part) for part in str(cell).split("-")]


def _layers_columns(cells, name):
    """(depth, total units) of layer-size cells: (256, 128) or "256-128"."""
    try:
        sizes = [_layer_sizes(cell) for cell in cells]
    except ValueError:
        raise UserError(f"trials.csv: {name} holds values that are not layer sizes like 256-128") from None
    depth = pd.Series([len(s) for s in sizes], index=cells.index, dtype=float)
    units = pd.Series([sum(s) for s in sizes], index=cells.index, dtype=float)
    return depth, units


def _category_codes(cells, categories, name):
    lookup = {text: i for i, text in enumerate(categories)}

    def code(cell):
        if str(cell) in lookup:
            return lookup[str(cell)]
        if "None" in lookup and pd.isna(cell):  # trials.csv's "None" (a None choice) read back as NaN
            return lookup["None"]
        for i, text in enumerate(categories):  # a float column reads the choice 1 back as 1.0
            try:
                if float(text) == float(cell):
                    return i
            except ValueError:
                pass
        raise UserError(f"trials.csv: {name} value {cell!r} is not one of {list(categories)}")

    return pd.Series([code(cell) for cell in cells], index=cells.index, dtype=float)


def _spans_decades(values):
    values = np.asarray(values, dtype=float)
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > 100


def pretty(name: str) -> str:
    """A column name as axis text: hidden_sizes -> "hidden sizes"."""
    return name.replace("_", " ")


# ---------------------------------------------------------------- scales


def encoded(feature: Feature, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Values in the feature's own scale: log10 for log features, as they are otherwise."""
    values = np.asarray(values, dtype=float)
    return np.log10(values) if feature.log else values


def encoded_range(feature: Feature) -> tuple[float, float]:
    """(low, high) of the feature in its own scale, widened when the two coincide."""
    if feature.kind == "categorical":
        low, high = 0.0, float(len(feature.categories) - 1)
    else:
        low, high = encoded(feature, [feature.low, feature.high])
    return (low - 0.5, high + 0.5) if high <= low else (float(low), float(high))


def to_unit(feature: Feature, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Values mapped onto [0, 1] linearly in the feature's own scale."""
    low, high = encoded_range(feature)
    return np.clip((encoded(feature, values) - low) / (high - low), 0.0, 1.0)


def axis_label(feature: Feature) -> str:
    return feature.label + (" (log scale)" if feature.log else "")


# ---------------------------------------------------------------- trials


def top_trials(trials: pd.DataFrame, k: int) -> pd.DataFrame:
    """The k best successful trials, best first, ranked as everywhere (hpsearch.leaderboard);
    cached rows are left out because they repeat an earlier trial's parameters and result."""
    return leaderboard.top_trials(trials, k, full_only=True, skip_cached=True)


ZOOM_WHISKER = 1.5


def zoom_limits(fitness, whisker: float = ZOOM_WHISKER) -> tuple[float, float] | None:
    """(low, high): the range of fitness values worth looking at, from the finite ones
    (pass the successful trials'). high is the best; low the lower Tukey fence, Q1 −
    whisker·IQR (the interquartile range, or Q1's distance to the best when it is 0), but
    never below the lowest value. Chance-level or barely trained trials far below the bulk
    fall under it and are drawn clipped; every trial of the top band is above it. None
    without finite values."""
    values = np.asarray(fitness, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    q1, q3 = np.quantile(values, [0.25, 0.75])
    high = float(values.max())
    spread = (q3 - q1) or (high - q1)
    return max(float(values.min()), float(q1 - whisker * spread)), high


def succeeded(trials: pd.DataFrame) -> np.ndarray:
    """A boolean mask of the successful trials (status "ok")."""
    return (trials["status"] == "ok").to_numpy()
