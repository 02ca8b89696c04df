"""The shared look of the figures: sizes, colours, and the axes helpers several plot
families draw with.

Figures are built with the object API (``Figure()``), never through pyplot, so plotting
changes no global matplotlib state and needs no display.
"""

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from .features import Feature

FIGSIZE = (7.0, 4.5)
DPI = 110
CMAP = "viridis"
FAILED_COLOR = "tab:red"
GRID_COLUMNS = 3
OPERATOR_COLORS = {"crossover": "tab:blue", "mutation": "tab:orange",
                   "crossover+mutation": "tab:purple", "exploit+explore": "tab:green",
                   "exploit": "tab:olive", "continue": "0.6"}


def figure(size: tuple[float, float]) -> Figure:
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def colour_norm(values) -> Normalize:
    """Colour scale over the finite values (a single value gets a unit-wide scale)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return Normalize(0.0, 1.0)
    low, high = values.min(), values.max()
    return Normalize(low, high if high > low else low + 1.0)


def grid(n: int, panel: tuple[float, float], extra: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A figure with n panels in rows of GRID_COLUMNS; unused cells are removed."""
    ncols = min(GRID_COLUMNS, max(n, 1))
    nrows = max(1, math.ceil(n / ncols))
    fig = figure((panel[0] * ncols + extra[0], panel[1] * nrows + extra[1]))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]


def feature_axis(ax: Axes, feature: Feature, which: str) -> None:
    """Log scale or category names on an axis ("x" or "y") that shows a feature's natural values."""
    if feature.kind == "categorical":
        ticks = range(len(feature.categories))
        rotation = 30 if max(len(c) for c in feature.categories) > 4 else 0
        if which == "x":
            ax.set_xticks(ticks, feature.categories, rotation=rotation, ha="right" if rotation else "center")
            ax.set_xlim(-0.5, len(feature.categories) - 0.5)
        else:
            ax.set_yticks(ticks, feature.categories)
    elif feature.log:
        log_axis(ax, which)


def log_axis(ax: Axes, which: str) -> None:
    """A log scale labelled in plain numbers (20, 0.001): the default 2×10¹ labels of minor
    ticks overlap on narrow panels."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(minor_thresholds=(1, 0.4)))
