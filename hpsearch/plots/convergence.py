"""Convergence: every trial's fitness and the best so far, against evaluations, generations
and wall time, zoomed to where the best lives."""

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles
from .style import CLIPPED_MARKER, CLIPPED_Y, FAILED_COLOR, FAILED_Y, AxesArg, figure, mark_strip, panel_axes, zoom_ylim

TRIAL_COLOR = "tab:blue"


def convergence_data(result: SearchResult) -> dict:
    """Every trial and the best-so-far fitness against evaluations, generations and wall time.

    Returns a dict of DataFrames and the y-limits:

    - "trials": one row per trained (non-cached) trial with a finite fitness, in the order
      trained: evaluations (its position, 1-based, among trained trials), trial_id,
      generation, fitness, ok (status "ok"; False for a multi-fidelity training stopped
      early, whose fitness is the score it had reached) and clipped (fitness below
      ylim's low end, drawn on the bottom edge);
    - "failed": evaluations, trial_id and generation of the trained trials without a
      fitness (failed, diverged, timed out: fitness -inf or NaN), which are not dots;
    - "by_evaluation": evaluations, trial_id and best_so_far of every trained trial;
    - "by_generation": per generation the successful trials' best/median/mean/std/worst
      fitness, the counts ok and failed, and best_so_far;
    - "by_time": generations.csv's elapsed (s) and best_so_far;
    - "ylim": (low, high), the range worth looking at: from the best of the first generation
      with a success minus the best's rise since (the gap from the best to the median when
      it never rose) up to the best, never below the lowest trial; None without a success.

    Fitness before the first success is NaN, not -inf, so that it can be drawn.
    """
    trials = result.trials
    fitness = trials["fitness"].where(trials["status"] == "ok")
    grouped = fitness.groupby(trials["generation"])
    by_generation = pd.DataFrame({
        "best": grouped.max(), "median": grouped.median(), "mean": grouped.mean(), "std": grouped.std(ddof=0),
        "worst": grouped.min(), "ok": grouped.count(),
        # failed, diverged, timed out (pruned trainings of a multi-fidelity search are not)
        "failed": (~np.isfinite(trials["fitness"])).groupby(trials["generation"]).sum(),
    })
    # cummax leaves NaN where a generation had no success; the best so far carries on there.
    by_generation["best_so_far"] = by_generation["best"].cummax().ffill()
    by_generation = by_generation.rename_axis("generation").reset_index()

    trained = trials[~trials["cached"].astype(bool)].sort_values("trial_id")
    evaluations = np.arange(1, len(trained) + 1)
    best_so_far = trained["fitness"].where(trained["status"] == "ok").cummax().ffill().to_numpy()
    by_evaluation = pd.DataFrame({"evaluations": evaluations, "trial_id": trained["trial_id"].to_numpy(),
                                  "best_so_far": best_so_far})

    values = trained["fitness"].to_numpy(dtype=float)
    finite = np.isfinite(values)
    ok = (trained["status"] == "ok").to_numpy()
    ylim = _zoom(by_generation["best_so_far"].to_numpy(dtype=float), values[finite & ok])
    points = pd.DataFrame({
        "evaluations": evaluations[finite], "trial_id": trained["trial_id"].to_numpy()[finite],
        "generation": trained["generation"].to_numpy()[finite], "fitness": values[finite], "ok": ok[finite],
        "clipped": values[finite] < ylim[0] if ylim else np.zeros(finite.sum(), dtype=bool),
    })
    failed = pd.DataFrame({"evaluations": evaluations[~finite], "trial_id": trained["trial_id"].to_numpy()[~finite],
                           "generation": trained["generation"].to_numpy()[~finite]})

    generations = result.generations
    if {"elapsed", "best_so_far"} <= set(generations.columns):
        by_time = generations[["generation", "elapsed", "best_so_far"]].copy()
        by_time["best_so_far"] = by_time["best_so_far"].where(np.isfinite(by_time["best_so_far"]))
    else:
        by_time = pd.DataFrame(columns=["generation", "elapsed", "best_so_far"], dtype=float)
    return {"trials": points, "failed": failed, "by_evaluation": by_evaluation, "by_generation": by_generation,
            "by_time": by_time, "ylim": ylim}


def _zoom(best_so_far, ok_fitness):
    """From the best so far after the first generation (its best of the initial population,
    not a first trial that may be at chance level) minus the best's rise since, to the best."""
    best = best_so_far[np.isfinite(best_so_far)]
    if not best.size or not ok_fitness.size:
        return None
    lowest, high = float(best.min()), float(best.max())
    rise = (high - lowest) or (high - float(np.median(ok_fitness)))
    low = max(float(ok_fitness.min()), lowest - rise)
    return low, high


def draw_convergence(data: dict, fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Three panels sharing the zoomed fitness axis: every trial (dots) and the best so far
    against evaluations (the main panel); each generation's best and median; the best so far
    against wall time. Trials below the zoomed range are ▼ on the bottom edge, failed
    trials red ×. With ax, the first len(ax) panels are drawn into the given Axes."""
    fig, axes, own = panel_axes(ax, 3, lambda: _figure())
    trials, failed, ylim = data["trials"], data["failed"], data["ylim"]
    strip = bool(trials["clipped"].any() or len(failed))
    handles = _main_panel(axes[0], data, fitness_label)
    if len(axes) > 1:
        handles += _generation_panel(axes[1], data["by_generation"], ylim)
    if len(axes) > 2:
        _time_panel(axes[2], data["by_time"])
    for panel in axes:
        if ylim is not None:
            zoom_ylim(panel, ylim, strip)
        panel.grid(alpha=0.3)
    if own:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small")
    else:
        axes[0].legend(handles=handles, loc="best", fontsize="small")
    return fig


def _figure():
    fig = figure((13.0, 4.9))
    return fig, fig.subplots(1, 3, sharey=True, width_ratios=(1.5, 1, 1))


def _main_panel(ax: Axes, data: dict, label: str) -> list:
    trials, failed, by_evaluation = data["trials"], data["failed"], data["by_evaluation"]
    shown, below = trials[~trials["clipped"]], trials[trials["clipped"]]
    handles = []
    ok = shown[shown["ok"]]
    ax.scatter(ok["evaluations"], ok["fitness"], s=14, color=TRIAL_COLOR, alpha=0.6, edgecolors="none")
    handles.append(Line2D([], [], marker="o", linestyle="none", color=TRIAL_COLOR, alpha=0.6, label="trial"))
    early = shown[~shown["ok"]]
    if len(early):
        ax.scatter(early["evaluations"], early["fitness"], s=14, facecolors="none", edgecolors="0.5")
        handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="none", color="0.5",
                              label="stopped early (score reached)"))
    ax.step(by_evaluation["evaluations"], by_evaluation["best_so_far"], where="post", color="black", linewidth=2)
    handles.append(Line2D([], [], color="black", linewidth=2, label="best so far"))
    if len(below):
        mark_strip(ax, below["evaluations"], CLIPPED_Y, marker=CLIPPED_MARKER, color=TRIAL_COLOR, alpha=0.6,
                   markersize=4)
        handles.append(Line2D([], [], marker=CLIPPED_MARKER, linestyle="none", color=TRIAL_COLOR, alpha=0.6,
                              label=f"{len(below)} trials below {data['ylim'][0]:.4g}"))
    if len(failed):
        mark_strip(ax, failed["evaluations"], FAILED_Y, marker="x", color=FAILED_COLOR, markersize=5)
        handles.append(Line2D([], [], marker="x", linestyle="none", color=FAILED_COLOR, label="failed trial"))
    ax.set(title="Every trial and the best so far", xlabel="evaluations (trained trials, in order)", ylabel=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return handles


def _generation_panel(ax: Axes, by_generation: pd.DataFrame, ylim) -> list:
    g = by_generation
    ax.plot(g["generation"], g["median"], "-", color=TRIAL_COLOR, linewidth=1.2)
    if ylim is not None:  # medians under the range shown: ▼ on the bottom edge, like the trials
        mark_strip(ax, g.loc[g["median"] < ylim[0], "generation"], CLIPPED_Y, marker=CLIPPED_MARKER,
                   color=TRIAL_COLOR, markersize=5)
    ax.plot(g["generation"], g["best"], "o", color="tab:orange")
    ax.step(g["generation"], g["best_so_far"], where="post", color="black", linewidth=2)
    ax.set(title="Per generation", xlabel="generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return [Line2D([], [], color=TRIAL_COLOR, linewidth=1.2, label="generation median"),
            Line2D([], [], marker="o", linestyle="none", color="tab:orange", label="generation best")]


def _time_panel(ax: Axes, by_time: pd.DataFrame) -> None:
    ax.step(by_time["elapsed"], by_time["best_so_far"], where="post", color="black", linewidth=2)
    ax.plot(by_time["elapsed"], by_time["best_so_far"], "o", color="black", markersize=4)
    ax.set(title="Best so far by wall time", xlabel="wall time (s; dots: ends of generations)")


def _convergence(run: RunFiles) -> Figure:
    return draw_convergence(convergence_data(run.result), run.fitness_label)


PLOTS = (Plot("convergence", _convergence),)
