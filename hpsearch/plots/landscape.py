"""The fitness landscape over the genes: fitness against each gene, binned 2-D surfaces of
the most important gene pairs, and parallel coordinates of the trials."""

import math
import textwrap
from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
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
    zoom_limits,
)
from .forest import importance_data
from .style import (
    CLIPPED_MARKER,
    CLIPPED_Y,
    CMAP,
    FAILED_COLOR,
    FAILED_Y,
    FIGSIZE,
    GRID_COLUMNS,
    AxesArg,
    colour_norm,
    feature_axis,
    grid,
    mark_strip,
    panel_axes,
    single_axes,
    zoom_ylim,
)

# ---------------------------------------------------------------- fitness against each gene

Limits = tuple[float, float] | None


def landscape_data(result: SearchResult, space: Space | None = None,
                   zoom: bool = True) -> tuple[list[Feature], pd.DataFrame, Limits]:
    """(features, frame, ylim). frame: trial_id, generation, status, fitness, clipped and one
    column per feature. ylim is (low, high), the successful trials' fitness range worth
    looking at (features.zoom_limits: chance-level trials fall below it), or their whole
    range with zoom=False; None without a success. clipped marks the successful trials
    below ylim, which are drawn on the bottom edge."""
    features, values = gene_features(result.trials, space)
    trials = result.trials
    ok = succeeded(trials)
    fitness = trials["fitness"].to_numpy(dtype=float)
    if zoom:
        ylim = zoom_limits(fitness[ok])
    else:
        finite = fitness[ok & np.isfinite(fitness)]
        ylim = (float(finite.min()), float(finite.max())) if finite.size else None
    frame = trials[["trial_id", "generation", "status", "fitness"]].copy()
    frame["clipped"] = ok & (fitness < ylim[0]) if ylim else False
    return features, pd.concat([frame, values], axis=1), ylim


def draw_landscape(features: list[Feature], frame: pd.DataFrame, ylim: Limits = None,
                   fitness_label: str = "fitness", seed: int = 0, ax: AxesArg = None) -> Figure:
    """One panel per feature: fitness against its value, coloured by generation, y zoomed
    to ylim; successful trials below it as ▼ and failed trials (no fitness) as red × on the
    bottom edge. With ax, the first len(ax) features are drawn into the given Axes."""
    fig, axes, own = panel_axes(ax, len(features),
                                lambda: grid(len(features), panel=(3.8, 3.1), extra=(1.0, 0.7)))
    ok = succeeded(frame)
    clipped = frame["clipped"].to_numpy(dtype=bool)
    shown = ok & ~clipped
    failed = ~ok & ~np.isfinite(frame["fitness"].to_numpy(dtype=float))
    generation = frame["generation"].to_numpy()
    norm = Normalize(0, max(1, frame["generation"].max()))
    note = f"▼: {clipped.sum()} below {ylim[0]:.4g}" if clipped.any() and ylim else ""
    colours = ScalarMappable(norm=norm, cmap=CMAP).to_rgba(generation)
    rng = np.random.default_rng(seed)  # jitter only: spreads points stacked on a category
    for i, (panel, feature) in enumerate(zip(axes, features)):
        x = frame[feature.name].to_numpy(dtype=float)
        if _is_discrete(feature, x):
            x = x + rng.uniform(-0.15, 0.15, size=len(x))
        panel.scatter(x[shown], frame["fitness"].to_numpy()[shown], c=generation[shown], cmap=CMAP, norm=norm,
                      s=16, alpha=0.8, edgecolors="none")
        for j in np.flatnonzero(clipped):  # coloured by generation like the dots
            mark_strip(panel, x[j:j + 1], CLIPPED_Y, marker=CLIPPED_MARKER, color=colours[j], markersize=4,
                       alpha=0.8)
        mark_strip(panel, x[failed], FAILED_Y, marker="x", color=FAILED_COLOR, markersize=5)
        if ylim is not None:
            zoom_ylim(panel, ylim, bool(clipped.any() or failed.any()))
        feature_axis(panel, feature, "x")
        panel.set_title(feature.label, fontsize="medium")
        panel.set_xlabel(axis_label(feature), fontsize="small")
        if not own or i % GRID_COLUMNS == 0:
            panel.set_ylabel(fitness_label + (f" ({note})" if note and not own else ""))
        panel.grid(alpha=0.3)
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=list(axes), label="generation", shrink=0.8,
                 ticks=MaxNLocator(integer=True))
    if own:
        zoomed = f"y zoomed to the bulk of the successful trials, {note}; " if note else ""
        fig.suptitle(f"Fitness against each gene ({zoomed}red ×: failed, diverged or timed-out trials)")
    return fig


def _is_discrete(feature, values):
    if feature.kind == "categorical":
        return True
    return feature.kind == "int" and not feature.log and len(np.unique(values)) <= 10


# ---------------------------------------------------------------- 2-D landscapes

STATISTICS = ("max", "median")


def pair_data(result: SearchResult, space: Space | None = None, importance: pd.DataFrame | None = None,
              top: int = 3, bins: int | None = None, statistic: str = "max") -> list[dict]:
    """Pairs of the `top` most important features (categoricals included), most important
    pair first. For each, a dict with the two Features ("x", "y"), every trial's position
    in their own scale ("x_values", "y_values": log10 for log features, choice index for
    categoricals), "ok" and "fitness"; per 2-D bin (shape (x bins, y bins)) the best
    ("max", or "median") fitness of the successful trials in "value" (NaN when empty) and
    their number in "count", with the "x_edges"/"y_edges"; "statistic"; and "limits", the
    colour range shared by all pairs (features.zoom_limits of the successful trials).

    The best rather than the mean: one dead trial in a bin would darken a region where
    good trials are. Bins span the feature's bounds: one per choice of a categorical and
    per value of a small int range; otherwise by default enough for about two successful
    trials per bin, 3 to 10 a side. Empty when importance is empty (too few successful
    trials) or there are fewer than two features."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, not {statistic!r}")
    features, values = gene_features(result.trials, space)
    if importance is None:
        importance = importance_data(result, space)
    by_name = {feature.name: feature for feature in features}
    ranked = [name for name in importance.index if name in by_name][:top]
    ok = succeeded(result.trials)
    fitness = result.trials["fitness"].to_numpy(dtype=float)
    if bins is None:
        bins = int(np.clip(round(math.sqrt(ok.sum() / 2)), 3, 10))
    limits = zoom_limits(fitness[ok])
    pairs = []
    for a, b in combinations(ranked, 2):
        x_feature, y_feature = by_name[a], by_name[b]
        x = encoded(x_feature, values[a])
        y = encoded(y_feature, values[b])
        edges = [_bin_edges(x_feature, bins), _bin_edges(y_feature, bins)]
        value = binned_statistic_2d(x[ok], y[ok], fitness[ok], statistic=statistic, bins=edges).statistic
        count = binned_statistic_2d(x[ok], y[ok], fitness[ok], statistic="count", bins=edges).statistic
        pairs.append({"x": x_feature, "y": y_feature, "x_values": x, "y_values": y, "ok": ok,
                      "fitness": fitness, "value": value, "count": count.astype(int), "statistic": statistic,
                      "x_edges": edges[0], "y_edges": edges[1], "limits": limits})
    return pairs


def _bin_edges(feature: Feature, bins: int) -> np.ndarray:
    """Bin edges in the feature's own scale: one bin per choice, or per integer value of a
    linear int feature with at most `bins` values, else `bins` equal bins over its range."""
    low, high = encoded_range(feature)
    if feature.kind == "categorical" or (feature.kind == "int" and not feature.log and high - low < bins):
        return np.arange(round(low), round(high) + 2) - 0.5
    return np.linspace(low, high, bins + 1)


def draw_pairs(pairs: list[dict], fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """One panel per pair: bins coloured by their best (or median) fitness, the number of
    successful trials in each written in it, the trials as dots, failed ones as red ×.
    With ax, the first len(ax) pairs (the most important first) go into the given Axes."""
    fig, axes, own = panel_axes(ax, len(pairs), lambda: _pairs_figure(len(pairs)))
    statistic = pairs[0]["statistic"]
    limits = pairs[0]["limits"]
    norm = Normalize(*limits) if limits and limits[1] > limits[0] else colour_norm(
        np.concatenate([pair["value"].ravel() for pair in pairs]))
    cmap = _cmap()
    rng = np.random.default_rng(0)  # jitter of the dots on categorical axes only
    for panel, pair in zip(axes, pairs):
        x_feature, y_feature = pair["x"], pair["y"]
        # Bins are computed in the feature's own scale; drawn back in natural units on log axes.
        x_edges = _natural(x_feature, pair["x_edges"])
        y_edges = _natural(y_feature, pair["y_edges"])
        panel.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(pair["value"].T), cmap=cmap, norm=norm)
        x = _natural(x_feature, _jitter(x_feature, pair["x_values"], rng))
        y = _natural(y_feature, _jitter(y_feature, pair["y_values"], rng))
        ok = pair["ok"]
        panel.scatter(x[ok], y[ok], s=6, color="white", edgecolors="black", linewidths=0.3, alpha=0.7)
        if (~ok).any():
            panel.plot(x[~ok], y[~ok], "x", color=FAILED_COLOR, markersize=5)
        _write_counts(panel, pair, x_edges, y_edges, norm, cmap)
        for feature, which in ((x_feature, "x"), (y_feature, "y")):
            feature_axis(panel, feature, which)
        if y_feature.kind == "categorical":
            panel.set_ylim(-0.5, len(y_feature.categories) - 0.5)
        panel.set(xlabel=axis_label(x_feature), ylabel=axis_label(y_feature))
        panel.set_title(textwrap.fill(f"{x_feature.label} × {y_feature.label}", 34), fontsize="medium")
    word = "best" if statistic == "max" else "median"
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), extend="min" if limits else "neither",
                 label=f"{word} {fitness_label} in bin" + ("" if own else " (number: trials in it)"))
    if own:
        handles = [Line2D([], [], marker="o", linestyle="none", markersize=4, markerfacecolor="white",
                          markeredgecolor="black", label="successful trial"),
                   Line2D([], [], marker="x", linestyle="none", color=FAILED_COLOR, label="failed trial")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
        fig.suptitle(f"Fitness surface of the most important gene pairs: {word} per bin, the number in a bin "
                     "counts its successful trials (empty bins blank)", fontsize="medium")
    return fig


def _pairs_figure(n):
    fig, axes = grid(n, panel=(4.4, 4.2), extra=(1.2, 0.9))
    return fig, axes


def _cmap():
    from matplotlib import colormaps

    # Bins whose best is below the colour range (chance level) are dark grey.
    return colormaps[CMAP].with_extremes(under="0.25")


def _natural(feature: Feature, values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return 10.0 ** values if feature.log else values


def _jitter(feature, values, rng):
    if feature.kind != "categorical":
        return values
    return values + rng.uniform(-0.3, 0.3, size=len(values))


def _write_counts(ax: Axes, pair: dict, x_edges, y_edges, norm, cmap) -> None:
    """The count of a non-empty bin at its top left corner, dark or light against the bin."""
    value, count = pair["value"], pair["count"]
    for i, j in zip(*np.nonzero(count)):
        rgba = cmap(norm(value[i, j]))
        luminance = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
        ax.annotate(str(count[i, j]), (x_edges[i], y_edges[j + 1]), xytext=(2, -2), textcoords="offset points",
                    ha="left", va="top", fontsize=7, color="black" if luminance > 0.5 else "white")


# ---------------------------------------------------------------- parallel coordinates


def parallel_data(result: SearchResult, space: Space | None = None,
                  top: int = 10) -> tuple[list[Feature], pd.DataFrame, dict[str, tuple[list[float], list[str]]]]:
    """(features, frame, ticks). frame: every successful trial once (cached rows, which
    repeat an earlier trial's parameters and result, are left out), best first, with
    trial_id, fitness, rank (1 = best), top (rank <= `top`: drawn in colour, the others
    faintly) and each feature mapped to [0, 1] in its own scale (between the space's bounds,
    or the data's range when inferred). ticks: for each feature name, the positions in
    [0, 1] and labels of its axis ticks (every choice of a categorical by name; round
    numbers in natural units otherwise, decades on log axes)."""
    features, values = gene_features(result.trials, space)
    trials = result.trials
    ok = trials[(trials["status"] == "ok") & ~trials["cached"].astype(bool)]
    ok = ok.sort_values(["fitness", "trial_id"], ascending=[False, True], kind="stable")
    frame = pd.DataFrame({"trial_id": ok["trial_id"], "fitness": ok["fitness"],
                          "rank": np.arange(1, len(ok) + 1)})
    frame["top"] = frame["rank"] <= top
    for feature in features:
        frame[feature.name] = to_unit(feature, values.loc[ok.index, feature.name])
    return features, frame.reset_index(drop=True), {feature.name: _ticks(feature) for feature in features}


def _ticks(feature: Feature) -> tuple[list[float], list[str]]:
    if feature.kind == "categorical":
        return [float(p) for p in to_unit(feature, range(len(feature.categories)))], list(feature.categories)
    low, high = float(feature.low), float(feature.high)  # type: ignore[arg-type]
    if feature.log:
        values = [10.0 ** k for k in range(math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9) + 1)]
    else:
        locator = MaxNLocator(nbins=5, integer=feature.kind == "int")
        values = [v for v in locator.tick_values(low, high) if low - 1e-9 <= v <= high + 1e-9]
    if len(values) < 2:
        values = [low, high]
    return [float(p) for p in to_unit(feature, values)], [f"{v:.4g}" for v in values]


def draw_parallel(features: list[Feature], frame: pd.DataFrame, ticks: dict[str, tuple[list[float], list[str]]],
                  fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """One vertical axis per feature with its own ticks; every successful trial as a faint
    grey line, the other top ones coloured by fitness, the best in red, thick."""
    fig, ax, own = single_axes(ax, (max(FIGSIZE[0], 1.5 * len(features) + 2.5), FIGSIZE[1] + 0.4))
    positions = np.arange(len(features))
    names = [feature.name for feature in features]
    rest, top = frame[~frame["top"]], frame[frame["top"]]
    if len(rest):
        ax.plot(positions, rest[names].to_numpy().T, color="0.55", linewidth=0.7, alpha=0.3)
    # The colours tell the runners-up apart; the best has its own colour.
    colors = ScalarMappable(norm=colour_norm(top["fitness"].iloc[1:]), cmap=CMAP)
    for _, row in top.iloc[:0:-1].iterrows():  # worst first so that better trials are drawn on top
        ax.plot(positions, row[names].to_numpy(dtype=float), color=colors.to_rgba(row["fitness"]), linewidth=1.4,
                alpha=0.9)
    handles = []
    if len(top):
        best = top.iloc[0]
        ax.plot(positions, best[names].to_numpy(dtype=float), "o-", color="tab:red", linewidth=2.8, markersize=5,
                zorder=5)
        handles.append(Line2D([], [], color="tab:red", linewidth=2.8,
                              label=f"best: #{int(best['trial_id'])} ({best['fitness']:.4g})"))
    if len(top) > 1:
        handles.append(Line2D([], [], color=tuple(colors.to_rgba(top["fitness"].iloc[1])), linewidth=1.4,
                              label=f"the next {len(top) - 1}, coloured by fitness"))
    if len(rest):
        handles.append(Line2D([], [], color="0.55", alpha=0.5, label=f"the other {len(rest)}"))
    for position, feature in zip(positions.tolist(), features):
        ax.axvline(position, color="0.3", linewidth=0.8, zorder=0)
        for y, text in zip(*ticks[feature.name]):
            ax.plot([position - 0.03, position], [y, y], color="0.3", linewidth=0.8, zorder=0)
            ax.text(position - 0.05, y, text, ha="right", va="center", fontsize="x-small",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.5}, zorder=6)
    ax.set_xticks(positions, [textwrap.fill(feature.label, 14) for feature in features], fontsize="small")
    ax.set_xlim(-0.45, len(features) - 0.7)
    ax.set_ylim(-0.04, 1.04)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Gene values of the {len(frame)} successful trials (one axis per gene, log genes on log axes)",
                 fontsize="medium", pad=18 if not own else None)
    if own:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small")
    else:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles),
                  fontsize="small", frameon=False, borderaxespad=0.2)
    if len(top) > 1:
        fig.colorbar(colors, ax=ax, label=f"{fitness_label} (top {len(top)} but the best)")
    return fig


# ---------------------------------------------------------------- plots


def _landscape(run: RunFiles) -> Figure | Skip:
    features, frame, ylim = landscape_data(run.result, run.space)
    if not features:
        return Skip("no searchable genes")
    return draw_landscape(features, frame, ylim, run.fitness_label)


def _pairs(run: RunFiles) -> Figure | Skip:
    pairs = pair_data(run.result, run.space, importance=run.importance)
    if not pairs:
        return Skip("needs parameter importance and two genes")
    return draw_pairs(pairs, run.fitness_label)


def _parallel(run: RunFiles) -> Figure | Skip:
    features, frame, ticks = parallel_data(run.result, run.space)
    if not (features and len(frame)):
        return Skip("no successful trials or no searchable genes")
    return draw_parallel(features, frame, ticks, run.fitness_label)


PLOTS = (Plot("landscape", _landscape), Plot("landscape_2d", _pairs), Plot("parallel", _parallel))
