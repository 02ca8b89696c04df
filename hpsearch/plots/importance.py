"""Parameter importance, the plot: each gene's share of how much fitness depends on it (the
numbers: forest.py)."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .family import Plot, RunFiles
from .style import FIGSIZE, AxesArg, single_axes


def draw_importance(importance: pd.DataFrame, ax: AxesArg = None) -> Figure:
    """Horizontal bars, most important on top: each gene's share of the total importance."""
    fig, ax, _ = single_axes(ax, FIGSIZE)
    if importance.empty:
        ax.text(0.5, 0.5, "not enough successful trials\nto estimate parameter importance",
                ha="center", va="center", transform=ax.transAxes, fontsize="large")
        ax.set_axis_off()
        ax.set_title("Parameter importance")
        return fig
    ordered = importance.iloc[::-1]  # barh draws bottom-up; most important on top
    labels = ordered["label"] if "label" in ordered else ordered.index
    ax.barh(labels, ordered["importance"], xerr=ordered["std"], color="tab:blue", capsize=3)
    for y, share in enumerate(ordered["importance"]):
        ax.annotate(f"{share:.0%}", (share, y), xytext=(4, 5), textcoords="offset points", va="bottom",
                    fontsize="x-small")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(0, max(0.05, float((ordered["importance"] + ordered["std"]).max())) * 1.1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set(title="Parameter importance (random forest, permutation):\nhow much its R² drops when the gene is shuffled",
           xlabel="share of the total importance (normalised: the genes sum to 100 %)")
    ax.title.set_fontsize("medium")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _importance(run: RunFiles) -> Figure:
    # Drawn even when empty: the figure then says there were too few successful trials.
    return draw_importance(run.importance)


PLOTS = (Plot("importance", _importance),)
