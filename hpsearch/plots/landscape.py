"""The fitness landscape over the genes: fitness against each gene, binned 2-D surfaces of
the most important gene pairs, and parallel coordinates of the top trials."""

import math
from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import binned_statistic_2d

from ..results import SearchResult
from ..space import Space
from .family import Plot, RunFiles, Skip
from .features import (
    Feature,
    axis_label,
    encoded,
    encoded_range,
    gene_features,
    succeeded,
    to_unit,
    top_trials,
)
from .importance import importance_data
from .style import CMAP, FAILED_COLOR, FIGSIZE, GRID_COLUMNS, colour_norm, feature_axis, figure, grid

# ---------------------------------------------------------------- fitness against each gene


def landscape_data(result: SearchResult, space: Space | None = None) -> tuple[list[Feature], pd.DataFrame]:
    """(features, frame): trial_id, generation, status, fitness and one column per feature."""
    features, values = gene_features(result.trials, space)
    frame = pd.concat([result.trials[["trial_id", "generation", "status", "fitness"]], values], axis=1)
    return features, frame


def draw_landscape(features: list[Feature], frame: pd.DataFrame, fitness_label: str = "fitness",
                   seed: int = 0) -> Figure:
    """One panel per feature: fitness against its value, coloured by generation; failed
    trials (fitness -inf) as red crosses on the bottom edge."""
    fig, axes = grid(len(features), panel=(3.8, 3.1), extra=(1.0, 0.7))
    ok = succeeded(frame)
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
        feature_axis(ax, feature, "x")
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


# ---------------------------------------------------------------- 2-D landscapes


def pair_data(result: SearchResult, space: Space | None = None, importance: pd.DataFrame | None = None,
              top: int = 3, bins: int | None = None) -> list[dict]:
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
    ok = succeeded(result.trials)
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


def draw_pairs(pairs: list[dict], fitness_label: str = "fitness") -> Figure:
    fig = figure((4.3 * len(pairs) + 1.2, 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    norm = colour_norm(np.concatenate([pair["mean"].ravel() for pair in pairs]))
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
            feature_axis(ax, feature, which)
        ax.set(xlabel=axis_label(x_feature), ylabel=axis_label(y_feature),
               title=f"{x_feature.label} × {y_feature.label}")
        ax.title.set_fontsize("medium")
    axes[0].legend(loc="upper right", fontsize="small", framealpha=0.8)
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=list(axes), label=f"mean {fitness_label} in bin")
    fig.suptitle("Fitness surface of the most important gene pairs (empty bins blank)")
    return fig


# ---------------------------------------------------------------- parallel coordinates


def parallel_data(result: SearchResult, space: Space | None = None,
                  top: int = 15) -> tuple[list[Feature], pd.DataFrame]:
    """(features, frame): the `top` best successful trials (best first) with trial_id,
    fitness and each feature mapped to [0, 1] in its own scale (between the space's
    bounds, or the data's range when inferred)."""
    features, values = gene_features(result.trials, space)
    best = top_trials(result.trials, top)
    frame = pd.DataFrame({"trial_id": best["trial_id"], "fitness": best["fitness"]})
    for feature in features:
        frame[feature.name] = to_unit(feature, values.loc[best.index, feature.name])
    return features, frame.reset_index(drop=True)


def draw_parallel(features: list[Feature], frame: pd.DataFrame, fitness_label: str = "fitness") -> Figure:
    fig = figure((max(FIGSIZE[0], 1.3 * len(features) + 2.0), FIGSIZE[1]))
    ax = fig.subplots()
    colors = ScalarMappable(norm=colour_norm(frame["fitness"]), cmap=CMAP)
    positions = np.arange(len(features))
    # Worst first so that the best trials are drawn on top.
    for _, row in frame.iloc[::-1].iterrows():
        ax.plot(positions, [row[f.name] for f in features], color=colors.to_rgba(row["fitness"]),
                linewidth=1.5, alpha=0.85, marker="o", markersize=3)
    for position, feature in enumerate(features):
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


# ---------------------------------------------------------------- plots


def _landscape(run: RunFiles) -> Figure | Skip:
    features, frame = landscape_data(run.result, run.space)
    if not features:
        return Skip("no searchable genes")
    return draw_landscape(features, frame, run.fitness_label)


def _pairs(run: RunFiles) -> Figure | Skip:
    pairs = pair_data(run.result, run.space, importance=run.importance)
    if not pairs:
        return Skip("needs parameter importance and two numeric genes")
    return draw_pairs(pairs, run.fitness_label)


def _parallel(run: RunFiles) -> Figure | Skip:
    features, frame = parallel_data(run.result, run.space)
    if not (features and len(frame)):
        return Skip("no successful trials or no searchable genes")
    return draw_parallel(features, frame, run.fitness_label)


PLOTS = (Plot("landscape", _landscape), Plot("landscape_2d", _pairs), Plot("parallel", _parallel))
