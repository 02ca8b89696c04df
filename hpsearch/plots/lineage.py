"""Lineage: the best trial's ancestry, generation by generation, and the operators that
bred it."""

import math

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .features import zoom_limits
from .style import CMAP, FAILED_COLOR, FIGSIZE, OPERATOR_COLORS, AxesArg, colour_norm, single_axes


def lineage_data(result: SearchResult) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, float] | None]:
    """(nodes, edges, colour_limits) of the best genome's ancestry, walked through `parents`
    back to trials without parents (the initial population, warm starts, random immigrants or
    the model-assisted GA's candidates drawn from the good trials).

    The walk starts at best.json's trial_id, or the best successful trial. nodes:
    trial_id, generation, fitness, status, operator, cached (generation, then trial_id
    order); edges: parent, child and the child's operator. A cached row is a node like any
    other: its parents are those of its own row. colour_limits: the fitness range of the
    colour scale, from the lowest successful node (but not below the run's lower Tukey
    fence, features.zoom_limits: a chance-level ancestor is not allowed to wash out the
    differences between good ones) to the best; None without a successful node.
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
    return nodes, edges.sort_values(["child", "parent"]).reset_index(drop=True), _colour_limits(trials, nodes)


def _colour_limits(trials, nodes):
    fitness = nodes.loc[nodes["status"] == "ok", "fitness"].to_numpy(dtype=float)
    fitness = fitness[np.isfinite(fitness)]
    if not fitness.size:
        return None
    run = zoom_limits(trials.loc[trials["status"] == "ok", "fitness"])
    low = max(float(fitness.min()), run[0]) if run else float(fitness.min())
    return low, float(fitness.max())


def _empty_lineage():
    return (pd.DataFrame(columns=["trial_id", "generation", "fitness", "status", "operator", "cached"]),
            pd.DataFrame(columns=["parent", "child", "operator"]), None)


def _parents(cell):
    """The parent ids of a parents cell: a tuple as load() reads it, or text like "3;5"."""
    if isinstance(cell, (tuple, list)):
        return [int(parent) for parent in cell]
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        cell = int(cell)
    return [int(part) for part in str(cell).split(";") if part.strip()]


def draw_lineage(nodes: pd.DataFrame, edges: pd.DataFrame, colour_limits: tuple[float, float] | None = None,
                 fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Generations left to right; nodes coloured by fitness (between colour_limits; lower
    ones get the lowest colour) and labelled "#id" and fitness; arrows from parent to child
    coloured by the child's operator; the best trial ringed. The legend sits outside."""
    counts = nodes["generation"].value_counts()
    n_generations = nodes["generation"].nunique()
    width = min(24.0, max(FIGSIZE[0], 1.4 * n_generations + 2.5))
    height = min(24.0, max(FIGSIZE[1], 0.8 * counts.max() + 1.5))
    fig, ax, own = single_axes(ax, (width, height))

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
    norm = Normalize(*colour_limits) if colour_limits and colour_limits[1] > colour_limits[0] else colour_norm(
        fitness[ok])
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
    ax.set(xlabel="generation")
    ax.set_title(f"Lineage of the best trial (#{start}, ringed): {len(nodes) - 1} ancestors",
                 pad=None if own else 18)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    operators = [op for op in OPERATOR_COLORS if op in set(edges["operator"])]
    if operators:  # outside the axes, where it covers no node
        if own:
            handles = [Line2D([], [], color=OPERATOR_COLORS[op], linewidth=1.5, label=op) for op in operators]
            fig.legend(handles=handles, title="operator of the child:", loc="outside lower center",
                       ncols=len(handles), fontsize="small", title_fontsize="small", alignment="left")
        else:  # above the axes, under its title
            handles = [Line2D([], [], color=OPERATOR_COLORS[op], linewidth=1.5, label=f"child by {op}")
                       for op in operators]
            ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles),
                      fontsize="small", frameon=False, borderaxespad=0.2)
    below = colour_limits is not None and bool((fitness[ok] < norm.vmin).any())
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=ax, label=fitness_label, extend="min" if below else "neither")
    return fig


def _lineage(run: RunFiles) -> Figure | Skip:
    nodes, edges, colour_limits = lineage_data(run.result)
    if not len(nodes):
        return Skip("no successful trials")
    return draw_lineage(nodes, edges, colour_limits, run.fitness_label)


PLOTS = (Plot("lineage", _lineage),)
