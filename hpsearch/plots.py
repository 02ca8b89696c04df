"""Plots of a results directory, made from its files alone (a copied directory re-plots).

Every plot is two functions: ``<plot>_data`` computes plain pandas/numpy data (testable
without drawing) and ``draw_<plot>`` turns that data into a ``matplotlib.figure.Figure``.
Figures are built with the object API (``Figure()``), never through pyplot, so plotting
changes no global matplotlib state and needs no display. ``plot_all(out_dir)`` writes
every plot as PNG into ``out_dir/plots/``.

Genes become *features*, the plotted quantities:

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

import math
import sys
import tomllib
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, MaxNLocator
from scipy.stats import binned_statistic_2d

from . import results
from .results import LEADING_COLUMNS, METRIC_COLUMNS, TRAILING_COLUMNS
from .space import CategoricalGene, IntGene, LayersGene

FIGSIZE = (7.0, 4.5)
DPI = 110
CMAP = "viridis"
FAILED_COLOR = "tab:red"
PLOTS_DIR = "plots"
GRID_COLUMNS = 3
OPERATOR_COLORS = {"crossover": "tab:blue", "mutation": "tab:orange",
                   "crossover+mutation": "tab:purple", "exploit+explore": "tab:green",
                   "exploit": "tab:olive", "continue": "0.6"}
FITNESS_LABELS = {"accuracy": "validation accuracy", "neg_mse": "validation −MSE",
                  "r2": "validation R²"}


# ---------------------------------------------------------------- reading


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


def read_config(out_dir):
    """The effective config (config.toml) of a results directory; {} when there is none."""
    path = Path(out_dir) / results.CONFIG
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: unreadable ({error})") from None


def space_from_config(config):
    """The search space of a config's [space] table, or None when it has none."""
    from .space import Space

    table = config.get("space")
    return Space.from_config(table) if table else None


def fitness_label(config, trials=None):
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


def gene_features(trials, space=None):
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
            raise ValueError(f"trials.csv has no column for gene {gene.name!r} of the [space] table")
        cells = trials[gene.name]
        label = _pretty(gene.name)
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
        else:  # FloatGene or IntGene
            is_int = isinstance(gene, IntGene)
            log = gene.log or (is_int and gene.power_of_two)
            features.append(Feature(gene.name, label, "int" if is_int else "float", log,
                                    low=gene.low, high=gene.high, gene=gene.name))
            columns[gene.name] = pd.to_numeric(cells).astype(float)
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
        label = _pretty(name)
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
    return bool(cells.astype(str).str.fullmatch(r"\d+(-\d+)*").all())


def _layers_columns(cells, name):
    """(depth, total units) of layer-size cells like "256-128" (a single layer may read as int)."""
    try:
        sizes = [[int(part) for part in str(cell).split("-")] for cell in cells]
    except ValueError:
        raise ValueError(f"trials.csv: {name} holds values that are not layer sizes like 256-128") from None
    depth = pd.Series([len(s) for s in sizes], index=cells.index, dtype=float)
    units = pd.Series([sum(s) for s in sizes], index=cells.index, dtype=float)
    return depth, units


def _category_codes(cells, categories, name):
    lookup = {text: i for i, text in enumerate(categories)}

    def code(cell):
        if str(cell) in lookup:
            return lookup[str(cell)]
        for i, text in enumerate(categories):  # a float column reads the choice 1 back as 1.0
            try:
                if float(text) == float(cell):
                    return i
            except ValueError:
                pass
        raise ValueError(f"trials.csv: {name} value {cell!r} is not one of {list(categories)}")

    return pd.Series([code(cell) for cell in cells], index=cells.index, dtype=float)


def _spans_decades(values):
    values = np.asarray(values, dtype=float)
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > 100


def _pretty(name):
    return name.replace("_", " ")


def encoded(feature, values):
    """Values in the feature's own scale: log10 for log features, as they are otherwise."""
    values = np.asarray(values, dtype=float)
    return np.log10(values) if feature.log else values


def encoded_range(feature):
    """(low, high) of the feature in its own scale, widened when the two coincide."""
    if feature.kind == "categorical":
        low, high = 0.0, float(len(feature.categories) - 1)
    else:
        low, high = encoded(feature, [feature.low, feature.high])
    return (low - 0.5, high + 0.5) if high <= low else (float(low), float(high))


def to_unit(feature, values):
    """Values mapped onto [0, 1] linearly in the feature's own scale."""
    low, high = encoded_range(feature)
    return np.clip((encoded(feature, values) - low) / (high - low), 0.0, 1.0)


def axis_label(feature):
    return feature.label + (" (log scale)" if feature.log else "")


def top_trials(trials, k):
    """The k best successful trials, best first; cached rows are left out because they
    repeat an earlier trial's parameters and result."""
    ok = trials[(trials["status"] == "ok") & ~trials["cached"].astype(bool)]
    return ok.sort_values(["fitness", "trial_id"], ascending=[False, True], kind="stable").head(k)


def _ok(trials):
    return (trials["status"] == "ok").to_numpy()


# ---------------------------------------------------------------- 1. convergence


def convergence_data(result):
    """Best-so-far fitness against generations, evaluations and wall time.

    Returns {"by_generation", "by_evaluation", "by_time"}: DataFrames. by_generation has,
    per generation, the successful trials' best/mean/std/worst fitness, the counts ok and
    failed, and best_so_far; by_evaluation has one row per trained (non-cached) trial;
    by_time is generations.csv's elapsed (s) and best_so_far. Fitness before the first
    success is NaN, not -inf, so that it can be drawn.
    """
    trials = result.trials
    fitness = trials["fitness"].where(trials["status"] == "ok")
    grouped = fitness.groupby(trials["generation"])
    by_generation = pd.DataFrame({
        "best": grouped.max(), "mean": grouped.mean(), "std": grouped.std(ddof=0),
        "worst": grouped.min(), "ok": grouped.count(),
        # failed, diverged, timed out (pruned trainings of a multi-fidelity search are not)
        "failed": (~np.isfinite(trials["fitness"])).groupby(trials["generation"]).sum(),
    })
    # cummax leaves NaN where a generation had no success; the best so far carries on there.
    by_generation["best_so_far"] = by_generation["best"].cummax().ffill()
    by_generation = by_generation.rename_axis("generation").reset_index()

    trained = trials[~trials["cached"].astype(bool)].sort_values("trial_id")
    by_evaluation = pd.DataFrame({
        "evaluations": np.arange(1, len(trained) + 1), "trial_id": trained["trial_id"].to_numpy(),
        "best_so_far": trained["fitness"].where(trained["status"] == "ok").cummax().ffill().to_numpy(),
    })

    generations = result.generations
    if {"elapsed", "best_so_far"} <= set(generations.columns):
        by_time = generations[["generation", "elapsed", "best_so_far"]].copy()
        by_time["best_so_far"] = by_time["best_so_far"].where(np.isfinite(by_time["best_so_far"]))
    else:
        by_time = pd.DataFrame(columns=["generation", "elapsed", "best_so_far"], dtype=float)
    return {"by_generation": by_generation, "by_evaluation": by_evaluation, "by_time": by_time}


def draw_convergence(data, fitness_label="fitness"):
    fig = _figure((13.0, 4.5))
    by_generation, by_evaluation, by_time = data["by_generation"], data["by_evaluation"], data["by_time"]
    axes = fig.subplots(1, 3, sharey=True)

    ax = axes[0]
    g = by_generation
    ax.fill_between(g["generation"], g["mean"] - g["std"], g["mean"] + g["std"], color="tab:blue",
                    alpha=0.2, linewidth=0, label="generation mean ± std")
    ax.plot(g["generation"], g["mean"], color="tab:blue", label="generation mean")
    ax.plot(g["generation"], g["best"], "o", color="tab:orange", label="generation best")
    ax.step(g["generation"], g["best_so_far"], where="post", color="black", linewidth=2, label="best so far")
    ax.set(title="Fitness per generation", xlabel="generation", ylabel=fitness_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right", fontsize="small")

    ax = axes[1]
    ax.step(by_evaluation["evaluations"], by_evaluation["best_so_far"], where="post", color="black",
            linewidth=2)
    ax.set(title="Best so far by evaluations", xlabel="evaluations (trained trials)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    ax = axes[2]
    ax.step(by_time["elapsed"], by_time["best_so_far"], where="post", color="black", linewidth=2)
    ax.plot(by_time["elapsed"], by_time["best_so_far"], "o", color="black", markersize=4,
            label="end of a generation")
    ax.set(title="Best so far by wall time", xlabel="wall time (s)")
    if len(by_time):
        ax.legend(loc="lower right", fontsize="small")
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- 2. landscape per gene


def landscape_data(result, space=None):
    """(features, frame): trial_id, generation, status, fitness and one column per feature."""
    features, values = gene_features(result.trials, space)
    frame = pd.concat([result.trials[["trial_id", "generation", "status", "fitness"]], values], axis=1)
    return features, frame


def draw_landscape(features, frame, fitness_label="fitness", seed=0):
    """One panel per feature: fitness against its value, coloured by generation; failed
    trials (fitness -inf) as red crosses on the bottom edge."""
    fig, axes = _grid(len(features), panel=(3.8, 3.1), extra=(1.0, 0.7))
    ok = _ok(frame)
    norm = Normalize(0, max(1, frame["generation"].max()))
    rng = np.random.default_rng(seed)  # jitter only: spreads points stacked on a category
    for i, (ax, feature) in enumerate(zip(axes, features)):
        x = frame[feature.name].to_numpy(dtype=float)
        if _is_discrete(feature, x):
            x = x + rng.uniform(-0.15, 0.15, size=len(x))
        ax.scatter(x[ok], frame["fitness"].to_numpy()[ok], c=frame["generation"].to_numpy()[ok], cmap=CMAP,
                   norm=norm, s=16, alpha=0.8, edgecolors="none")
        if (~ok).any():
            ax.plot(x[~ok], np.full((~ok).sum(), 0.02), "x", color=FAILED_COLOR, markersize=5,
                    transform=ax.get_xaxis_transform(), clip_on=False)
        _feature_axis(ax, feature, "x")
        ax.margins(y=0.12)  # keeps the row of failure crosses clear of the lowest points
        ax.set_title(feature.label, fontsize="medium")
        ax.set_xlabel(axis_label(feature), fontsize="small")
        if i % GRID_COLUMNS == 0:
            ax.set_ylabel(fitness_label)
        ax.grid(alpha=0.3)
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=list(axes), label="generation", shrink=0.8,
                 ticks=MaxNLocator(integer=True))
    fig.suptitle("Fitness against each gene (red ×: failed, diverged or timed-out trials)")
    return fig


def _is_discrete(feature, values):
    if feature.kind == "categorical":
        return True
    return feature.kind == "int" and not feature.log and len(np.unique(values)) <= 10


def _feature_axis(ax, feature, which):
    """Log scale or category names on an axis that shows a feature's natural values."""
    if feature.kind == "categorical":
        ticks = range(len(feature.categories))
        rotation = 30 if max(len(c) for c in feature.categories) > 4 else 0
        if which == "x":
            ax.set_xticks(ticks, feature.categories, rotation=rotation, ha="right" if rotation else "center")
            ax.set_xlim(-0.5, len(feature.categories) - 0.5)
        else:
            ax.set_yticks(ticks, feature.categories)
    elif feature.log:
        _log_axis(ax, which)


def _log_axis(ax, which):
    """A log scale labelled in plain numbers (20, 0.001): the default 2×10¹ labels of minor
    ticks overlap on narrow panels."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(minor_thresholds=(1, 0.4)))


# ---------------------------------------------------------------- 3. 2-D landscapes


def pair_data(result, space=None, importance=None, top=3, bins=None):
    """Pairs of the `top` most important numeric features: for each, a dict with the two
    Features ("x", "y"), every trial's position in their own scale ("x_values",
    "y_values", log10 for log features), "ok" and "fitness", and the mean fitness of the
    successful trials per 2-D bin ("mean", shape (bins, bins), x first) with its
    "x_edges"/"y_edges". Bins span the feature's bounds; by default enough for about two
    successful trials per bin, 3 to 10 bins a side. Empty when importance is empty (too few
    successful trials) or fewer than two features are numeric."""
    features, values = gene_features(result.trials, space)
    if importance is None:
        importance = importance_data(result, space)
    by_name = {feature.name: feature for feature in features}
    ranked = [name for name in importance.index if by_name[name].kind != "categorical"][:top]
    ok = _ok(result.trials)
    fitness = result.trials["fitness"].to_numpy(dtype=float)
    if bins is None:
        bins = int(np.clip(round(math.sqrt(ok.sum() / 2)), 3, 10))
    pairs = []
    for a, b in combinations(ranked, 2):
        x_feature, y_feature = by_name[a], by_name[b]
        x = encoded(x_feature, values[a])
        y = encoded(y_feature, values[b])
        mean, x_edges, y_edges, _ = binned_statistic_2d(
            x[ok], y[ok], fitness[ok], statistic="mean", bins=bins,
            range=[encoded_range(x_feature), encoded_range(y_feature)])
        pairs.append({"x": x_feature, "y": y_feature, "x_values": x, "y_values": y, "ok": ok,
                      "fitness": fitness, "mean": mean, "x_edges": x_edges, "y_edges": y_edges})
    return pairs


def draw_pairs(pairs, fitness_label="fitness"):
    fig = _figure((4.3 * len(pairs) + 1.2, 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    norm = _norm(np.concatenate([pair["mean"].ravel() for pair in pairs]))
    for ax, pair in zip(axes, pairs):
        x_feature, y_feature = pair["x"], pair["y"]
        # Bins are computed in the feature's own scale; drawn back in natural units on log axes.
        x_edges = 10.0 ** pair["x_edges"] if x_feature.log else pair["x_edges"]
        y_edges = 10.0 ** pair["y_edges"] if y_feature.log else pair["y_edges"]
        ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(pair["mean"].T), cmap=CMAP, norm=norm)
        x = 10.0 ** pair["x_values"] if x_feature.log else pair["x_values"]
        y = 10.0 ** pair["y_values"] if y_feature.log else pair["y_values"]
        ok = pair["ok"]
        ax.scatter(x[ok], y[ok], s=12, color="white", edgecolors="black", linewidths=0.5, label="trial")
        if (~ok).any():
            ax.plot(x[~ok], y[~ok], "x", color=FAILED_COLOR, markersize=5, label="failed trial")
        for feature, which in ((x_feature, "x"), (y_feature, "y")):
            _feature_axis(ax, feature, which)
        ax.set(xlabel=axis_label(x_feature), ylabel=axis_label(y_feature),
               title=f"{x_feature.label} × {y_feature.label}")
        ax.title.set_fontsize("medium")
    axes[0].legend(loc="upper right", fontsize="small", framealpha=0.8)
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=list(axes), label=f"mean {fitness_label} in bin")
    fig.suptitle("Fitness surface of the most important gene pairs (empty bins blank)")
    return fig


# ---------------------------------------------------------------- 4. parallel coordinates


def parallel_data(result, space=None, top=15):
    """(features, frame): the `top` best successful trials (best first) with trial_id,
    fitness and each feature mapped to [0, 1] in its own scale (between the space's
    bounds, or the data's range when inferred)."""
    features, values = gene_features(result.trials, space)
    best = top_trials(result.trials, top)
    frame = pd.DataFrame({"trial_id": best["trial_id"], "fitness": best["fitness"]})
    for feature in features:
        frame[feature.name] = to_unit(feature, values.loc[best.index, feature.name])
    return features, frame.reset_index(drop=True)


def draw_parallel(features, frame, fitness_label="fitness"):
    fig = _figure((max(FIGSIZE[0], 1.3 * len(features) + 2.0), FIGSIZE[1]))
    ax = fig.subplots()
    colors = ScalarMappable(norm=_norm(frame["fitness"]), cmap=CMAP)
    positions = np.arange(len(features))
    # Worst first so that the best trials are drawn on top.
    for _, row in frame.iloc[::-1].iterrows():
        ax.plot(positions, [row[f.name] for f in features], color=colors.to_rgba(row["fitness"]),
                linewidth=1.5, alpha=0.85, marker="o", markersize=3)
    for position, feature in zip(positions, features):
        ax.axvline(position, color="0.6", linewidth=0.8, zorder=0)
        low, high = _end_labels(feature)
        ax.text(position, -0.04, low, ha="center", va="top", fontsize="x-small")
        ax.text(position, 1.04, high, ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(positions, [f.name for f in features], rotation=20, ha="right")
    ax.set_ylim(-0.12, 1.12)
    ax.set_yticks([0, 0.5, 1])
    ax.set_ylabel("position between bounds (0–1, log scale for log genes)")
    ax.set_title(f"Top {len(frame)} trials: gene values (lines coloured by fitness)")
    fig.colorbar(colors, ax=ax, label=fitness_label)
    return fig


def _end_labels(feature):
    if feature.kind == "categorical":
        return feature.categories[0], feature.categories[-1]
    return f"{feature.low:.4g}", f"{feature.high:.4g}"


# ---------------------------------------------------------------- 5. importance


MIN_TRIALS_FOR_IMPORTANCE = 5


def importance_data(result, space=None, min_trials=MIN_TRIALS_FOR_IMPORTANCE):
    """Permutation importance of each feature for a random forest fitted to the successful
    trials' fitness: the mean drop in the forest's R² when the feature's column is shuffled
    (5 repeats; std is their spread). Features are in their own scale (log10 for log genes,
    choice index for categoricals). A DataFrame indexed by feature name with columns
    importance and std, most important first; empty with fewer than `min_trials` successful
    trials or when their fitness does not vary.

    Permutation importance rather than the forest's impurity importances: those favour
    continuous genes over categoricals with few choices. It is measured on the trials the
    forest was fitted to (there are too few for a held-out set), so values are optimistic;
    the ranking is what the plot is for.
    """
    # scikit-learn is imported here because it is slow to import and only this needs it.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    features, values = gene_features(result.trials, space)
    empty = pd.DataFrame({"importance": [], "std": []}, index=pd.Index([], name="feature"), dtype=float)
    ok = _ok(result.trials)
    fitness = result.trials["fitness"].to_numpy(dtype=float)[ok]
    if not features or ok.sum() < min_trials or np.ptp(fitness) == 0:
        return empty
    X = np.column_stack([encoded(feature, values[feature.name])[ok] for feature in features])
    forest = RandomForestRegressor(random_state=0).fit(X, fitness)
    scores = permutation_importance(forest, X, fitness, n_repeats=5, random_state=0)
    frame = pd.DataFrame({"importance": scores.importances_mean, "std": scores.importances_std},
                         index=pd.Index([f.name for f in features], name="feature"))
    return frame.sort_values("importance", ascending=False, kind="stable")


def draw_importance(importance):
    fig = _figure(FIGSIZE)
    ax = fig.subplots()
    if importance.empty:
        ax.text(0.5, 0.5, "not enough successful trials\nto estimate parameter importance",
                ha="center", va="center", transform=ax.transAxes, fontsize="large")
        ax.set_axis_off()
        ax.set_title("Parameter importance")
        return fig
    ordered = importance.iloc[::-1]  # barh draws bottom-up; most important on top
    ax.barh(ordered.index, ordered["importance"], xerr=ordered["std"], color="tab:blue", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title="Parameter importance (random forest, permutation)",
           xlabel="drop in R² when the gene is shuffled")
    ax.grid(axis="x", alpha=0.3)
    return fig


# ---------------------------------------------------------------- 6. diversity


def diversity_data(result):
    """generation, diversity (mean pairwise distance in [0, 1]), failures and evaluations
    per generation, from generations.csv; empty when it has none."""
    columns = ["generation", "diversity", "failures", "evaluations"]
    generations = result.generations
    if generations.empty or not set(columns) <= set(generations.columns):
        return pd.DataFrame(columns=columns, dtype=float)
    return generations[columns].reset_index(drop=True)


def draw_diversity(data):
    fig = _figure(FIGSIZE)
    ax = fig.subplots()
    bars = ax.twinx()
    bars.bar(data["generation"], data["failures"], color=FAILED_COLOR, alpha=0.3, width=0.6,
             label="failed trials")
    bars.set_ylabel("failed trials (count)")
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_ylim(0, max(1, data["failures"].max()) * 1.15)
    # The twin axes is drawn above the first one; lift the line over the bars.
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(data["generation"], data["diversity"], "o-", color="tab:green", label="diversity")
    ax.set_ylim(0, max(0.05, data["diversity"].max()) * 1.15)
    ax.set(title="Population diversity per generation", xlabel="generation",
           ylabel="diversity (mean pairwise distance, 0–1)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    handles = ax.get_legend_handles_labels()[0] + bars.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right", fontsize="small")
    return fig


# ---------------------------------------------------------------- 7. learning curves


def curves_data(result, k=5):
    """Learning curves of the k best successful trials that have curves: curves.csv's rows
    (trial_id, epoch, train_loss, val_loss, val_metric, ...) plus fitness and rank (1 =
    best), ordered by rank and epoch; empty without curves."""
    curves = result.curves
    if curves.empty or "trial_id" not in curves:
        return pd.DataFrame(columns=["trial_id", "epoch", "fitness", "rank"])
    with_curves = result.trials[result.trials["trial_id"].isin(curves["trial_id"])]
    best = top_trials(with_curves, k)
    rank = {trial_id: r for r, trial_id in enumerate(best["trial_id"], start=1)}
    frame = curves[curves["trial_id"].isin(rank)].merge(best[["trial_id", "fitness"]], on="trial_id")
    frame["rank"] = frame["trial_id"].map(rank)
    return frame.sort_values(["rank", "epoch"], kind="stable").reset_index(drop=True)


def draw_curves(data, fitness_label="fitness"):
    metric_label = fitness_label if fitness_label.startswith("validation") else "validation metric"
    fig = _figure((11.0, 4.5))
    metric_ax, loss_ax = fig.subplots(1, 2)
    losses_positive = True
    for rank, curve in data.groupby("rank"):
        color = f"C{(rank - 1) % 10}"
        name = f"#{curve['trial_id'].iloc[0]} ({curve['fitness'].iloc[0]:.4g})"
        if "val_metric" in curve:
            metric_ax.plot(curve["epoch"], curve["val_metric"], "o-", color=color, markersize=3, label=name)
        for column, style in (("train_loss", "--"), ("val_loss", "-")):
            if column in curve:
                loss_ax.plot(curve["epoch"], curve[column], style, color=color)
                losses_positive &= bool((curve[column] > 0).all())
    metric_ax.set(title=f"Top {data['rank'].nunique()} trials: {metric_label}", xlabel="epoch",
                  ylabel=metric_label)
    metric_ax.legend(title="trial (fitness)", fontsize="small", title_fontsize="small")
    if losses_positive:
        _log_axis(loss_ax, "y")
    loss_ax.set(title="Loss (dashed: train, solid: validation)", xlabel="epoch",
                ylabel="loss" + (" (log scale)" if losses_positive else ""))
    for ax in (metric_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- 8. lineage


def lineage_data(result):
    """(nodes, edges) of the best genome's ancestry, walked through `parents` back to
    trials without parents (the initial population, warm starts or random immigrants).

    The walk starts at best.json's trial_id, or the best successful trial. nodes:
    trial_id, generation, fitness, status, operator, cached (generation, then trial_id
    order); edges: parent, child and the child's operator. A cached row is a node like any
    other: its parents are those of its own row.
    """
    trials = result.trials.set_index("trial_id", drop=False).rename_axis(None)
    start = result.best.get("trial_id")
    if start is None or start not in trials.index:
        ok = trials[trials["status"] == "ok"]
        if ok.empty:
            return _empty_lineage()
        start = ok["fitness"].idxmax()
    seen, edges, queue = set(), [], [int(start)]
    while queue:
        child = queue.pop()
        if child in seen:
            continue
        seen.add(child)
        for parent in _parents(trials.at[child, "parents"]):
            edges.append({"parent": parent, "child": child, "operator": trials.at[child, "operator"]})
            if parent in trials.index:
                queue.append(parent)
    nodes = trials.loc[sorted(seen), ["trial_id", "generation", "fitness", "status", "operator", "cached"]]
    nodes = nodes.sort_values(["generation", "trial_id"]).reset_index(drop=True)
    edges = pd.DataFrame(edges, columns=["parent", "child", "operator"]).drop_duplicates()
    return nodes, edges.sort_values(["child", "parent"]).reset_index(drop=True)


def _empty_lineage():
    return (pd.DataFrame(columns=["trial_id", "generation", "fitness", "status", "operator", "cached"]),
            pd.DataFrame(columns=["parent", "child", "operator"]))


def _parents(text):
    text = "" if pd.isna(text) else str(text)
    return [int(part) for part in text.split(";") if part.strip()]


def draw_lineage(nodes, edges, fitness_label="fitness"):
    """Generations left to right; nodes coloured by fitness and labelled "#id" and fitness;
    arrows from parent to child coloured by the child's operator; the best trial ringed."""
    counts = nodes["generation"].value_counts()
    n_generations = nodes["generation"].nunique()
    width = min(24.0, max(FIGSIZE[0], 1.4 * n_generations + 2.5))
    height = min(24.0, max(FIGSIZE[1], 0.8 * counts.max() + 1.5))
    fig = _figure((width, height))
    ax = fig.subplots()

    # Within a generation, best on top: ancestors of the best then tend to sit high too.
    position = {}
    for generation, group in nodes.groupby("generation"):
        ordered = group.sort_values(["fitness", "trial_id"], ascending=[False, True])
        for i, trial_id in enumerate(ordered["trial_id"]):
            position[trial_id] = (generation, (len(ordered) - 1) / 2 - i)

    for edge in edges.itertuples():
        if edge.parent not in position:
            continue
        ax.annotate("", xy=position[edge.child], xytext=position[edge.parent],
                    arrowprops={"arrowstyle": "-|>", "color": OPERATOR_COLORS.get(edge.operator, "0.5"),
                                "shrinkA": 7, "shrinkB": 7, "linewidth": 1.2, "alpha": 0.8})

    ok = (nodes["status"] == "ok").to_numpy()
    x = nodes["generation"].to_numpy(dtype=float)
    y = np.array([position[t][1] for t in nodes["trial_id"]])
    fitness = nodes["fitness"].to_numpy(dtype=float)
    norm = _norm(fitness[ok])
    ax.scatter(x[ok], y[ok], c=fitness[ok], cmap=CMAP, norm=norm, s=90, edgecolors="black", linewidths=0.6,
               zorder=3)
    if (~ok).any():
        ax.scatter(x[~ok], y[~ok], marker="X", color=FAILED_COLOR, s=70, zorder=3)
    # Ancestors always have smaller trial ids, so the walk's start has the largest (a fitness
    # maximum could be an ancestor tied with it).
    start = nodes["trial_id"].max()
    start_generation = nodes.loc[nodes["trial_id"] == start, "generation"].iloc[0]
    ax.scatter([start_generation], [position[start][1]], s=260, facecolors="none", edgecolors="black",
               linewidths=1.5, zorder=4)
    for trial_id, generation, value in zip(nodes["trial_id"], x, fitness):
        text = f"#{trial_id}\n{value:.4g}" if math.isfinite(value) else f"#{trial_id}\nfailed"
        ax.annotate(text, (generation, position[trial_id][1]), xytext=(0, 8), textcoords="offset points",
                    ha="center", va="bottom", fontsize="x-small")

    ax.set_xticks(sorted(nodes["generation"].unique()))
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_ylim(y.min() - 0.8, y.max() + 1.0)
    ax.set_yticks([])
    ax.set(xlabel="generation",
           title=f"Lineage of the best trial (#{start}, ringed): {len(nodes) - 1} ancestors")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    operators = [op for op in OPERATOR_COLORS if op in set(edges["operator"])]
    if operators:
        handles = [Line2D([], [], color=OPERATOR_COLORS[op], linewidth=1.5, label=op) for op in operators]
        ax.legend(handles=handles, title="operator of the child", loc="lower left", fontsize="small",
                  title_fontsize="small")
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=ax, label=fitness_label)
    return fig


# ---------------------------------------------------------------- 9. Pareto front

OBJECTIVE_LABELS = {"n_params": "parameters", "train_seconds": "training time (s)",
                    "latency": "inference latency (s per sample)"}


def pareto_data(result):
    """The multi-objective view of a results directory, from fronts.csv and pareto.csv:
    {"objectives": the first two objective names, "fronts": fronts.csv's rows (generation,
    trial_id, objective values), each generation's front sorted by the first objective,
    "final": pareto.csv's front sorted likewise, "knee": its knee row}. None when the
    directory has no fronts (a single-objective search)."""
    fronts, final = result.fronts, result.pareto
    if fronts.empty or final.empty:
        return None
    objectives = [c for c in fronts.columns if c not in ("generation", "trial_id")][:2]
    if len(objectives) < 2:
        return None
    fronts = fronts.sort_values(["generation", objectives[0], "trial_id"], kind="stable").reset_index(drop=True)
    final = final.sort_values([objectives[0], "trial_id"], kind="stable").reset_index(drop=True)
    return {"objectives": objectives, "fronts": fronts, "final": final,
            "knee": final[final["knee"].astype(bool)]}


def draw_pareto(data, fitness_label="fitness"):
    """Fronts of earlier generations faded, coloured by generation; the final front in
    black, its knee starred."""
    x, y = data["objectives"]
    fronts, final, knee = data["fronts"], data["final"], data["knee"]
    fig = _figure(FIGSIZE)
    ax = fig.subplots()
    generations = fronts["generation"].unique()
    colours = ScalarMappable(norm=Normalize(generations.min(), max(generations.max(), generations.min() + 1)),
                             cmap=CMAP)
    for generation in generations[:-1]:
        front = fronts[fronts["generation"] == generation]
        ax.plot(front[x], front[y], "o-", color=colours.to_rgba(generation), alpha=0.35, markersize=3,
                linewidth=1)
    ax.plot(final[x], final[y], "o-", color="black", markersize=6, linewidth=1.8,
            label=f"final front ({len(final)} trials)")
    if len(knee):
        ax.plot(knee[x], knee[y], "*", color="tab:red", markersize=18, markeredgecolor="black",
                label=f"knee (trial {int(knee['trial_id'].iloc[0])})")
    labels = {name: fitness_label if name == "val_metric" else OBJECTIVE_LABELS.get(name, _pretty(name))
              for name in (x, y)}
    ax.set(title="Pareto front per generation", xlabel=labels[x], ylabel=labels[y])
    # Sizes and times matter by their ratios: a log axis once they span a decade.
    for name, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        values = fronts[name].to_numpy(dtype=float)
        if name != "val_metric" and values.min() > 0 and values.max() > 10 * values.min():
            set_scale("log")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.colorbar(colours, ax=ax, label="generation (earlier fronts)")
    return fig


# ---------------------------------------------------------------- 10. population-based training


def pbt_schedule_data(result, space=None):
    """(features, frame) of the best member's history (pbt_schedule.csv): per step, its
    fitness, operator, the member it copied and one column per gene feature that changed
    along the way (natural units; categoricals as choice indices). Empty features when no
    gene changed; an empty frame for a directory that is not population-based training."""
    schedule = result.schedule
    if schedule.empty:
        return [], pd.DataFrame(columns=["step", "fitness", "operator", "copied_from"])
    genes = schedule.drop(columns=["step", "trial_id", "member", "operator", "copied_from", "fitness",
                                   "epochs_total"])
    # Inferring genes (space=None) takes the columns after "cached", as in trials.csv.
    features, values = gene_features(genes.assign(cached=False)[["cached", *genes.columns]], space)
    changed = [feature for feature in features if values[feature.name].nunique() > 1]
    frame = pd.concat([schedule[["step", "fitness", "operator", "copied_from"]],
                       values[[feature.name for feature in changed]]], axis=1)
    return changed, frame


def draw_pbt_schedule(features, frame, fitness_label="fitness"):
    """Stacked panels against the step: the best member's fitness, then each hyperparameter
    it trained with, held over each step; dashed lines where it copied another member."""
    fig = _figure((FIGSIZE[0], 2.0 + 1.9 * (len(features) + 1)))
    axes = np.atleast_1d(fig.subplots(len(features) + 1, 1, sharex=True))
    steps = frame["step"].to_numpy(dtype=float)
    edges = np.append(steps, steps[-1] + 1) if len(steps) else steps
    axes[0].plot(steps + 1, frame["fitness"], "o-", color="black")
    axes[0].set(ylabel=fitness_label, title="Hyperparameter schedule of the best member")
    for ax, feature in zip(axes[1:], features):
        values = frame[feature.name].to_numpy(dtype=float)
        ax.stairs(values, edges, color="tab:blue", linewidth=2, baseline=None)
        _feature_axis(ax, feature, "y")
        ax.set_ylabel(axis_label(feature), fontsize="small")
    copied = frame[frame["copied_from"].notna()]
    for ax in axes:
        for step in copied["step"]:
            ax.axvline(step, color=OPERATOR_COLORS["exploit+explore"], linestyle="--", linewidth=1)
        ax.grid(alpha=0.3)
    for step, member in zip(copied["step"], copied["copied_from"]):
        axes[0].annotate(f"copied member {int(member)}", (step, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(3, -3), textcoords="offset points", va="top", fontsize="x-small",
                         color=OPERATOR_COLORS["exploit+explore"])
    axes[-1].set_xlabel("step (hyperparameters hold through a step; fitness at its end)")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def pbt_family_data(result):
    """The whole population's family tree from pbt_lineage.csv: nodes (step, member,
    copied_from, trial_id, fitness, on_best_path) and edges (from_step, from_member,
    to_step, to_member, exploit), an edge from every member's previous state (its own, or
    the member it copied) to it. on_best_path marks the best member's history."""
    nodes = result.lineage.copy()
    if nodes.empty:
        return {"nodes": nodes, "edges": pd.DataFrame(columns=["from_step", "from_member", "to_step",
                                                               "to_member", "exploit"])}
    best_path = set(result.schedule["trial_id"]) if not result.schedule.empty else set()
    nodes["on_best_path"] = nodes["trial_id"].isin(best_path)
    later = nodes[nodes["step"] > 0]
    exploit = later["copied_from"].notna().to_numpy()
    edges = pd.DataFrame({"from_step": later["step"].to_numpy() - 1,
                          "from_member": np.where(exploit, later["copied_from"].fillna(-1), later["member"]),
                          "to_step": later["step"].to_numpy(), "to_member": later["member"].to_numpy(),
                          "exploit": exploit, "on_best_path": later["on_best_path"].to_numpy()})
    return {"nodes": nodes.reset_index(drop=True), "edges": edges.astype({"from_member": int})}


def draw_pbt_family(data, fitness_label="fitness"):
    """Members top to bottom, steps left to right; grey lines continue a member, green
    arrows copy one into another (exploit and explore), the best member's history in black;
    nodes coloured by fitness, failed ones as red crosses."""
    nodes, edges = data["nodes"], data["edges"]
    n_members = int(nodes["member"].max()) + 1 if len(nodes) else 1
    fig = _figure((min(24.0, max(FIGSIZE[0], 0.7 * nodes["step"].nunique() + 3)),
                   min(24.0, max(FIGSIZE[1], 0.45 * n_members + 1.5))))
    ax = fig.subplots()
    for edge in edges.itertuples():
        start, end = (edge.from_step, edge.from_member), (edge.to_step, edge.to_member)
        if edge.on_best_path:
            style = {"color": "black", "linewidth": 2.2, "zorder": 2}
        elif edge.exploit:
            style = {"color": OPERATOR_COLORS["exploit+explore"], "linewidth": 1.3, "zorder": 1}
        else:
            style = {"color": OPERATOR_COLORS["continue"], "linewidth": 0.8, "zorder": 1}
        if edge.exploit:
            ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "shrinkA": 4,
                                                              "shrinkB": 4, **style})
        else:
            ax.plot(*zip(start, end), **style)
    fitness = nodes["fitness"].to_numpy(dtype=float)
    ok = np.isfinite(fitness)
    norm = _norm(fitness[ok])
    ax.scatter(nodes["step"][ok], nodes["member"][ok], c=fitness[ok], cmap=CMAP, norm=norm, s=40,
               edgecolors="black", linewidths=0.4, zorder=3)
    if (~ok).any():
        ax.scatter(nodes["step"][~ok], nodes["member"][~ok], marker="X", color=FAILED_COLOR, s=50, zorder=3)
    ax.invert_yaxis()
    ax.set(xlabel="step", ylabel="member", title="Family tree of the population")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=OPERATOR_COLORS["continue"], label="continue"),
               Line2D([], [], color=OPERATOR_COLORS["exploit+explore"], label="copied (exploit + explore)"),
               Line2D([], [], color="black", linewidth=2.2, label="best member's history")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=ax, label=fitness_label)
    return fig


# ---------------------------------------------------------------- all plots


def plot_all(out_dir, *, quiet=False):
    """Write every plot of a results directory as PNG into out_dir/plots/; return the paths.

    A plot whose data is missing (no learning curves, too few successful trials for gene
    pairs) is skipped with a note on stderr (unless quiet). Each file is written atomically.
    """
    out_dir = Path(out_dir)
    result = results.load(out_dir)
    if result.trials.empty:
        raise ValueError(f"{out_dir}: no trials yet, nothing to plot")
    config = read_config(out_dir)
    space = space_from_config(config)
    label = fitness_label(config, result.trials)
    plots_dir = out_dir / PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = []

    def save(name, figure):
        path = plots_dir / f"{name}.png"
        results.write_atomic(path, lambda f: figure.savefig(f, format="png", dpi=DPI))
        written.append(path)

    def skip(name, why):
        if not quiet:
            print(f"plots: skipped {name}.png ({why})", file=sys.stderr)

    save("convergence", draw_convergence(convergence_data(result), label))

    features, frame = landscape_data(result, space)
    if features:
        save("landscape", draw_landscape(features, frame, label))
    else:
        skip("landscape", "no searchable genes")

    importance = importance_data(result, space)
    pairs = pair_data(result, space, importance=importance)
    if pairs:
        save("landscape_2d", draw_pairs(pairs, label))
    else:
        skip("landscape_2d", "needs parameter importance and two numeric genes")

    features, frame = parallel_data(result, space)
    if features and len(frame):
        save("parallel", draw_parallel(features, frame, label))
    else:
        skip("parallel", "no successful trials or no searchable genes")

    save("importance", draw_importance(importance))

    diversity = diversity_data(result)
    if len(diversity):
        save("diversity", draw_diversity(diversity))
    else:
        skip("diversity", "generations.csv has no generations")

    curves = curves_data(result)
    if len(curves):
        save("curves", draw_curves(curves, label))
    else:
        skip("curves", "curves.csv has no learning curves")

    nodes, edges = lineage_data(result)
    if len(nodes):
        save("lineage", draw_lineage(nodes, edges, label))
    else:
        skip("lineage", "no successful trials")

    front = pareto_data(result)
    if front is not None:  # multi-objective searches only: no note for the others
        save("pareto", draw_pareto(front, label))

    if not result.lineage.empty:  # population-based training only: no note for the others
        save("pbt_schedule", draw_pbt_schedule(*pbt_schedule_data(result, space), label))
        save("pbt_family", draw_pbt_family(pbt_family_data(result), label))
    return written


# ---------------------------------------------------------------- helpers


def _figure(size):
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def _norm(values):
    """Colour scale over the finite values (a single value gets a unit-wide scale)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return Normalize(0.0, 1.0)
    low, high = values.min(), values.max()
    return Normalize(low, high if high > low else low + 1.0)


def _grid(n, panel, extra):
    """A figure with n panels in rows of GRID_COLUMNS; unused cells are removed."""
    ncols = min(GRID_COLUMNS, max(n, 1))
    nrows = max(1, math.ceil(n / ncols))
    fig = _figure((panel[0] * ncols + extra[0], panel[1] * nrows + extra[1]))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]
