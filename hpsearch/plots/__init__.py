"""Plots of a results directory, made from its files alone (a copied directory re-plots).

Every plot is two functions: ``<plot>_data`` computes plain pandas/numpy data (testable
without drawing: zoom limits, binned values and counts, the trials kept, the shares) and
``draw_<plot>`` turns that data into a ``matplotlib.figure.Figure`` (built without pyplot:
see style.py). Every ``draw_<plot>`` takes ``ax=``, an Axes to draw into (a sequence of
Axes for plots of several panels, main panel first), and then returns that Axes' figure:

    fig = Figure(figsize=(12, 4))
    left, right = fig.subplots(1, 2)
    draw_convergence(convergence_data(result), ax=left)       # the per-trial panel only
    draw_importance(importance_data(result), ax=right)

``plot_all(out_dir)`` writes every plot as PNG into ``out_dir/plots/``. How genes become
plotted features, and the zoom onto the successful trials' bulk, are in features.py.

One module per plot family; each declares ``PLOTS``, a tuple of ``Plot(name, make)``
records whose ``make`` turns the RunFiles of a directory into a Figure, or a Skip saying
why not. Adding a plot is writing such a module and listing it in FAMILIES below.

This package reads files only: it must not import the search engine (hpsearch.search,
.evolve, .evaluate, .pbt, .config, .cluster; DEAP, joblib, netcore), so that a results
directory re-plots wherever it is copied. hpsearch.results and hpsearch.space are all it uses.
"""

import sys
from pathlib import Path

from matplotlib.figure import Figure

from .. import results
from . import convergence, curves, diversity, importance, landscape, lineage, pareto, pbt, surrogate
from .convergence import convergence_data, draw_convergence
from .curves import curves_data, draw_curves
from .diversity import coverage_data, diversity_data, draw_coverage, draw_diversity
from .family import Plot, RunFiles, Skip
from .features import (
    Feature,
    axis_label,
    encoded,
    encoded_range,
    fitness_label,
    gene_features,
    read_config,
    space_from_config,
    to_unit,
    top_trials,
    zoom_limits,
)
from .forest import MIN_TRIALS_FOR_IMPORTANCE, importance_data
from .importance import draw_importance
from .landscape import draw_landscape, draw_pairs, draw_parallel, landscape_data, pair_data, parallel_data
from .lineage import draw_lineage, lineage_data
from .pareto import OBJECTIVE_LABELS, draw_pareto, pareto_data
from .pbt import draw_pbt_family, draw_pbt_schedule, pbt_family_data, pbt_schedule_data
from .style import DPI
from .surrogate import draw_surrogate, surrogate_data

PLOTS_DIR = "plots"

# The plot families in the order plot_all writes their files.
FAMILIES = (
    convergence,
    landscape,  # landscape, landscape_2d, parallel
    importance,
    diversity,
    curves,
    lineage,
    pareto,  # multi-objective searches only
    pbt,  # population-based training only: pbt_schedule, pbt_family
    surrogate,  # model-assisted GA only: predicted against observed
)
PLOTS: tuple[Plot, ...] = tuple(plot for family in FAMILIES for plot in family.PLOTS)


def plot_all(out_dir: str | Path, *, quiet: bool = False) -> list[Path]:
    """Write every plot of a results directory as PNG into out_dir/plots/; return the paths.

    A plot whose data is missing (no learning curves, too few successful trials for gene
    pairs) is skipped with a note on stderr (unless quiet). Each file is written atomically.
    """
    out_dir = Path(out_dir)
    run = RunFiles.read(out_dir)
    plots_dir = out_dir / PLOTS_DIR
    results.refuse_links(out_dir, [PLOTS_DIR])  # never write through a planted link
    plots_dir.mkdir(exist_ok=True)
    written = []
    for plot in PLOTS:
        made = plot.make(run)
        if isinstance(made, Skip):
            if made.note and not quiet:
                print(f"plots: skipped {plot.name}.png ({made.reason})", file=sys.stderr)
            continue
        path = plots_dir / f"{plot.name}.png"
        _save(made, path)
        written.append(path)
    return written


def _save(figure: Figure, path: Path) -> None:
    results.write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=DPI))


__all__ = [
    "FAMILIES", "MIN_TRIALS_FOR_IMPORTANCE", "OBJECTIVE_LABELS", "PLOTS", "PLOTS_DIR", "Feature", "Plot",
    "RunFiles", "Skip", "axis_label", "convergence_data", "coverage_data", "curves_data", "diversity_data",
    "draw_convergence", "draw_coverage", "draw_curves", "draw_diversity", "draw_importance", "draw_landscape",
    "draw_lineage", "draw_pairs", "draw_parallel", "draw_pareto", "draw_pbt_family", "draw_pbt_schedule", "encoded",
    "encoded_range",
    "fitness_label", "gene_features", "importance_data", "landscape_data", "lineage_data", "pair_data",
    "parallel_data", "pareto_data", "pbt_family_data", "pbt_schedule_data", "plot_all", "read_config",
    "space_from_config", "surrogate_data", "draw_surrogate", "to_unit", "top_trials", "zoom_limits",
]
