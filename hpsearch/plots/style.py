"""The shared look of the figures: sizes, colours, and the axes helpers several plot
families draw with.

Figures are built with the object API (``Figure()``), never through pyplot, so plotting
changes no global matplotlib state and needs no display.

Every ``draw_*`` function takes ``ax=``: None makes a new Figure; a matplotlib Axes (or, for
plots of several panels, a sequence of Axes) is drawn into, and the figure it belongs to is
returned, so that plots compose into a figure of one's own. A plot of several panels orders
them main panel first and draws the first ``len(ax)`` of them (a single Axes gets the main
panel); it sets no figure title then (its notes go into axis labels instead).
"""

import math
from collections.abc import Callable, Iterable, Sequence

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


# What draw_* functions take as ``ax``.
AxesArg = Axes | Sequence[Axes] | None


def figure(size: tuple[float, float]) -> Figure:
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def root_figure(ax: Axes) -> Figure:
    """The Figure an Axes belongs to (through any SubFigure): the one to save."""
    fig = ax.get_figure(root=True)
    if fig is None:
        raise ValueError("the Axes belongs to no figure")
    return fig


def single_axes(ax: AxesArg, size: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    """(figure, axes, own) to draw a one-panel plot into: `ax` itself (own=False), or a new
    figure of `size` (own=True)."""
    if ax is None:
        fig = figure(size)
        return fig, fig.subplots(), True
    if not isinstance(ax, Axes):
        raise TypeError("this plot has one panel: pass a single matplotlib Axes as ax")
    return root_figure(ax), ax, False


def panel_axes(ax: AxesArg, n: int,
               make: Callable[[], tuple[Figure, Iterable[Axes]]]) -> tuple[Figure, list[Axes], bool]:
    """(figure, axes, own) for a plot of `n` panels, main panel first: a new figure from
    `make()` (own=True), or the given Axes (one, or a sequence of at most n), which get the
    first len(ax) panels."""
    if ax is None:
        fig, made = make()
        return fig, list(made), True
    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if not axes or len(axes) > n:
        raise ValueError(f"this plot has {n} panel(s); {len(axes)} Axes given")
    return root_figure(axes[0]), axes, False


# Axes fractions of the strip under a zoomed fitness range: trials below it drawn as ▼ on
# CLIPPED_Y, failed trials (no fitness) as red × on FAILED_Y.
STRIP = 0.11
CLIPPED_Y = 0.065
FAILED_Y = 0.025
CLIPPED_MARKER = "v"


def zoom_ylim(ax: Axes, limits: tuple[float, float], strip: bool) -> None:
    """y-limits showing `limits` (low, high) with a little room, and the bottom strip for
    clipped and failed trials when `strip`."""
    low, high = limits
    span = high - low if high > low else max(abs(high) * 0.01, 1e-3)
    if high <= low:
        low, high = low - span / 2, high + span / 2
    bottom, top = (STRIP if strip else 0.05), 0.05
    height = span / (1 - bottom - top)
    ax.set_ylim(low - bottom * height, high + top * height)


def mark_strip(ax: Axes, x, y_fraction: float, **style) -> None:
    """Markers at x (data) on a row at y_fraction of the axes height (the bottom strip)."""
    x = np.asarray(x, dtype=float)
    if x.size:
        ax.plot(x, np.full(x.size, y_fraction), linestyle="none", transform=ax.get_xaxis_transform(),
                clip_on=False, **style)


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
