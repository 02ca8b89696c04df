"""Lineage: the best trial's ancestry, generation by generation, and the operators that
bred it."""

import math

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .style import CMAP, FAILED_COLOR, FIGSIZE, OPERATOR_COLORS, colour_norm, figure


def lineage_data(result: SearchResult) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def draw_lineage(nodes: pd.DataFrame, edges: pd.DataFrame, fitness_label: str = "fitness") -> Figure:
    """Generations left to right; nodes coloured by fitness and labelled "#id" and fitness;
    arrows from parent to child coloured by the child's operator; the best trial ringed."""
    counts = nodes["generation"].value_counts()
    n_generations = nodes["generation"].nunique()
    width = min(24.0, max(FIGSIZE[0], 1.4 * n_generations + 2.5))
    height = min(24.0, max(FIGSIZE[1], 0.8 * counts.max() + 1.5))
    fig = figure((width, height))
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
    norm = colour_norm(fitness[ok])
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


def _lineage(run: RunFiles) -> Figure | Skip:
    nodes, edges = lineage_data(run.result)
    if not len(nodes):
        return Skip("no successful trials")
    return draw_lineage(nodes, edges, run.fitness_label)


PLOTS = (Plot("lineage", _lineage),)
