"""Convergence: best-so-far fitness against generations, evaluations and wall time."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles
from .style import figure


def convergence_data(result: SearchResult) -> dict[str, pd.DataFrame]:
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


def draw_convergence(data: dict[str, pd.DataFrame], fitness_label: str = "fitness") -> Figure:
    fig = figure((13.0, 4.5))
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


def _convergence(run: RunFiles) -> Figure:
    return draw_convergence(convergence_data(run.result), run.fitness_label)


PLOTS = (Plot("convergence", _convergence),)
