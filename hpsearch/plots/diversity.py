"""Population diversity and failures per generation, from generations.csv."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .style import FAILED_COLOR, FIGSIZE, AxesArg, single_axes


def diversity_data(result: SearchResult) -> pd.DataFrame:
    """generation, diversity (mean pairwise distance in [0, 1]) and evaluations per
    generation, from generations.csv, and failures (failed trials per generation) only when
    some trial failed; empty when it has no generations."""
    columns = ["generation", "diversity", "failures", "evaluations"]
    generations = result.generations
    if generations.empty or not set(columns) <= set(generations.columns):
        return pd.DataFrame(columns=columns, dtype=float)
    data = generations[columns].reset_index(drop=True)
    return data if data["failures"].sum() > 0 else data.drop(columns="failures")


def draw_diversity(data: pd.DataFrame, ax: AxesArg = None) -> Figure:
    """Diversity per generation; failed trials as bars on a second axis when data has them."""
    fig, ax, _ = single_axes(ax, FIGSIZE)
    if "failures" in data:
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
    if "failures" in data:
        handles = ax.get_legend_handles_labels()[0] + bars.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper right", fontsize="small")
    return fig


def _diversity(run: RunFiles) -> Figure | Skip:
    data = diversity_data(run.result)
    if not len(data):
        return Skip("generations.csv has no generations")
    return draw_diversity(data)


PLOTS = (Plot("diversity", _diversity),)
