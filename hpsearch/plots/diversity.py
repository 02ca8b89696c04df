"""Population diversity and failures per generation, from generations.csv."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .style import FAILED_COLOR, FIGSIZE, figure


def diversity_data(result: SearchResult) -> pd.DataFrame:
    """generation, diversity (mean pairwise distance in [0, 1]), failures and evaluations
    per generation, from generations.csv; empty when it has none."""
    columns = ["generation", "diversity", "failures", "evaluations"]
    generations = result.generations
    if generations.empty or not set(columns) <= set(generations.columns):
        return pd.DataFrame(columns=columns, dtype=float)
    return generations[columns].reset_index(drop=True)


def draw_diversity(data: pd.DataFrame) -> Figure:
    fig = figure(FIGSIZE)
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


def _diversity(run: RunFiles) -> Figure | Skip:
    data = diversity_data(run.result)
    if not len(data):
        return Skip("generations.csv has no generations")
    return draw_diversity(data)


PLOTS = (Plot("diversity", _diversity),)
