"""Population diversity and failures per generation, and the coverage of each gene's range
by the genomes each generation trained (hpsearch.diversity's columns), from generations.csv."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .style import CMAP, FAILED_COLOR, FIGSIZE, AxesArg, single_axes

COVERAGE_PREFIX = "coverage_"  # generations.csv's per-gene coverage columns (hpsearch.diversity)


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


def coverage_data(result: SearchResult) -> pd.DataFrame:
    """Per-gene coverage by generation: a frame indexed by generation, one column per gene
    (generations.csv's coverage_<gene>, in [0, 1]); empty when the run has none (a run made
    before the columns existed)."""
    generations = result.generations
    columns = [c for c in generations.columns if c.startswith(COVERAGE_PREFIX)] if not generations.empty else []
    if not columns or "generation" not in generations:
        return pd.DataFrame(dtype=float)
    data = generations.set_index("generation")[columns].apply(pd.to_numeric, errors="coerce")
    return data.rename(columns=lambda c: c[len(COVERAGE_PREFIX):])


def draw_coverage(data: pd.DataFrame, ax: AxesArg = None) -> Figure:
    """A heat map, genes by generation, of the share of each gene's range that the
    generation's genomes covered: a row that goes dark is a gene the search stopped moving."""
    fig, ax, _ = single_axes(ax, (FIGSIZE[0], max(2.5, 0.45 * len(data.columns) + 1.6)))
    values = data.to_numpy(dtype=float).T
    image = ax.imshow(values, aspect="auto", cmap=CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_yticks(range(len(data.columns)), [str(c) for c in data.columns])
    ticks = range(0, len(data.index), max(1, len(data.index) // 12))
    ax.set_xticks(list(ticks), [str(data.index[i]) for i in ticks])
    if values.size <= 200:  # small enough to read the numbers
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize="x-small",
                        color="white" if value < 0.6 else "black")
    ax.set(title="Coverage of each gene's range by the genomes each generation trained", xlabel="generation")
    fig.colorbar(image, ax=ax, label="share of the range covered (0–1)")
    return fig


def _coverage(run: RunFiles) -> Figure | Skip:
    data = coverage_data(run.result)
    if data.empty:
        return Skip("generations.csv has no coverage columns (a run of an older hpsearch)")
    return draw_coverage(data)


PLOTS = (Plot("diversity", _diversity), Plot("coverage", _coverage))
