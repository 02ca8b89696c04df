"""Population-based training: the best member's hyperparameter schedule and the
population's family tree, from pbt_schedule.csv and pbt_lineage.csv."""

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from ..space import Space
from .family import Plot, RunFiles, Skip
from .features import Feature, axis_label, gene_features
from .style import (
    CMAP,
    FAILED_COLOR,
    FIGSIZE,
    OPERATOR_COLORS,
    AxesArg,
    colour_norm,
    feature_axis,
    figure,
    panel_axes,
    single_axes,
)


def pbt_schedule_data(result: SearchResult,
                      space: Space | None = None) -> tuple[list[Feature], pd.DataFrame]:
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


def draw_pbt_schedule(features: list[Feature], frame: pd.DataFrame,
                      fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Stacked panels against the step: the best member's fitness (the main panel), then
    each hyperparameter it trained with, held over each step; dashed lines where it copied
    another member. With ax, the first len(ax) panels are drawn into the given Axes."""
    fig, axes, _ = panel_axes(ax, len(features) + 1, lambda: _schedule_figure(len(features)))
    steps = frame["step"].to_numpy(dtype=float)
    edges = np.append(steps, steps[-1] + 1) if len(steps) else steps
    axes[0].plot(steps + 1, frame["fitness"], "o-", color="black")
    axes[0].set(ylabel=fitness_label, title="Hyperparameter schedule of the best member")
    for ax, feature in zip(axes[1:], features):
        values = frame[feature.name].to_numpy(dtype=float)
        ax.stairs(values, edges, color="tab:blue", linewidth=2, baseline=None)
        feature_axis(ax, feature, "y")
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


def _schedule_figure(n_features):
    fig = figure((FIGSIZE[0], 2.0 + 1.9 * (n_features + 1)))
    return fig, np.atleast_1d(fig.subplots(n_features + 1, 1, sharex=True))


def pbt_family_data(result: SearchResult) -> dict[str, pd.DataFrame]:
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


def draw_pbt_family(data: dict[str, pd.DataFrame], fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Members top to bottom, steps left to right; grey lines continue a member, green
    arrows copy one into another (exploit and explore), the best member's history in black;
    nodes coloured by fitness, failed ones as red crosses."""
    nodes, edges = data["nodes"], data["edges"]
    n_members = int(nodes["member"].max()) + 1 if len(nodes) else 1
    fig, ax, own = single_axes(ax, (min(24.0, max(FIGSIZE[0], 0.7 * nodes["step"].nunique() + 3)),
                                    min(24.0, max(FIGSIZE[1], 0.45 * n_members + 1.5))))
    for edge in edges.itertuples():
        start, end = (edge.from_step, edge.from_member), (edge.to_step, edge.to_member)
        style: dict[str, Any]
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
    norm = colour_norm(fitness[ok])
    ax.scatter(nodes["step"][ok], nodes["member"][ok], c=fitness[ok], cmap=CMAP, norm=norm, s=40,
               edgecolors="black", linewidths=0.4, zorder=3)
    if (~ok).any():
        ax.scatter(nodes["step"][~ok], nodes["member"][~ok], marker="X", color=FAILED_COLOR, s=50, zorder=3)
    ax.invert_yaxis()
    ax.set(xlabel="step", ylabel="member")
    ax.set_title("Family tree of the population", pad=None if own else 18)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=OPERATOR_COLORS["continue"], label="continue"),
               Line2D([], [], color=OPERATOR_COLORS["exploit+explore"], label="copied (exploit + explore)"),
               Line2D([], [], color="black", linewidth=2.2, label="best member's history")]
    if own:
        fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    else:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize="small",
                  frameon=False)
    fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP), ax=ax, label=fitness_label)
    return fig



# Only population-based training writes pbt_lineage.csv: no note for the other searches.
NOT_PBT = Skip("not population-based training", note=False)


def _schedule(run: RunFiles) -> Figure | Skip:
    if run.result.lineage.empty:
        return NOT_PBT
    return draw_pbt_schedule(*pbt_schedule_data(run.result, run.space), run.fitness_label)


def _family(run: RunFiles) -> Figure | Skip:
    if run.result.lineage.empty:
        return NOT_PBT
    return draw_pbt_family(pbt_family_data(run.result), run.fitness_label)


PLOTS = (Plot("pbt_schedule", _schedule), Plot("pbt_family", _family))
