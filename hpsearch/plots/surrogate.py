"""Does the model help? Predicted against observed scores of the trials the surrogate chose,
and their rank correlation per generation, from trials.csv's `predicted` column."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import spearmanr

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .style import CLIPPED_MARKER, CLIPPED_Y, CMAP, AxesArg, colour_norm, figure, panel_axes, zoom_ylim


def surrogate_data(result: SearchResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, by_generation). points: trial_id, generation, predicted, observed (the score
    the model predicts: fitness, or the rung-0 score with multi-fidelity) of every trained
    trial with a prediction and a finite score. by_generation: generation, n, spearman (rank
    correlation of predicted and observed; NaN with fewer than 3 trials or no spread)."""
    trials = result.trials
    empty = (pd.DataFrame(columns=["trial_id", "generation", "predicted", "observed"]),
             pd.DataFrame(columns=["generation", "n", "spearman"]))
    if trials.empty or "predicted" not in trials:
        return empty
    chosen = trials[trials["predicted"].notna() & ~trials["cached"].astype(bool)]
    observed = chosen["rung0_score"] if "rung0_score" in chosen else chosen["fitness"]
    points = pd.DataFrame({"trial_id": chosen["trial_id"], "generation": chosen["generation"],
                           "predicted": chosen["predicted"].astype(float), "observed": observed.astype(float)})
    points = points[np.isfinite(points["observed"])].reset_index(drop=True)
    rows = []
    for generation, group in points.groupby("generation"):
        spread = group["predicted"].nunique() > 1 and group["observed"].nunique() > 1
        rho = spearmanr(group["predicted"], group["observed"]).statistic if len(group) >= 3 and spread else np.nan
        rows.append({"generation": generation, "n": len(group), "spearman": float(rho)})
    return points, pd.DataFrame(rows, columns=["generation", "n", "spearman"])


def draw_surrogate(points: pd.DataFrame, by_generation: pd.DataFrame, fitness_label: str = "fitness",
                   ax: AxesArg = None) -> Figure:
    """Two panels: predicted against observed (the main panel), and the rank correlation
    per generation. With ax, the first len(ax) panels are drawn into the given Axes."""
    fig, axes, _ = panel_axes(ax, 2, lambda: _figure())
    scatter_ax = axes[0]
    low, high = zoom_limits(points)
    inside = (points["observed"] >= low) & (points["predicted"] >= low)
    norm = colour_norm(points["generation"])
    shown = scatter_ax.scatter(points.loc[inside, "predicted"], points.loc[inside, "observed"],
                               c=points.loc[inside, "generation"], cmap=CMAP, norm=norm, s=22, edgecolors="none")
    below = points[~inside]
    if len(below):
        scatter_ax.scatter(below["predicted"].clip(lower=low), np.full(len(below), CLIPPED_Y), c=below["generation"],
                           cmap=CMAP, norm=norm, marker=CLIPPED_MARKER, s=26, edgecolors="none",
                           transform=scatter_ax.get_xaxis_transform(), clip_on=False,
                           label=f"predicted or observed below {low:.3g} ({len(below)})")
    scatter_ax.plot([low, high], [low, high], color="0.5", lw=1, ls="--", label="predicted = observed")
    zoom_ylim(scatter_ax, (low, high), strip=bool(len(below)))
    span = high - low
    scatter_ax.set_xlim(low - 0.05 * span, high + 0.05 * span)
    scatter_ax.set(title="The model's predictions of the trials it chose", xlabel=f"predicted {fitness_label}",
                   ylabel=f"observed {fitness_label}")
    scatter_ax.legend(loc="upper left", fontsize="small")
    scatter_ax.grid(alpha=0.3)
    fig.colorbar(shown, ax=scatter_ax, label="generation", ticks=MaxNLocator(integer=True))
    if len(axes) > 1:
        _rank_panel(axes[1], by_generation)
    return fig


def zoom_limits(points: pd.DataFrame) -> tuple[float, float]:
    """(low, high) of both axes: from the best score (predicted or observed) down to the
    lowest tenth of the predictions, and a quarter of that span more. Trials below it (most
    often ones that failed to train where the model expected them to) go to the bottom
    strip instead of squashing the rest."""
    predicted, observed = points["predicted"].to_numpy(float), points["observed"].to_numpy(float)
    high = float(np.nanmax(np.concatenate([predicted, observed])))
    lowest = float(np.nanquantile(predicted, 0.1))
    span = (high - lowest) or max(abs(high) * 0.01, 1e-3)
    everything = float(np.nanmin(np.concatenate([predicted, observed])))
    return max(lowest - span / 4, everything), high


def _figure():
    fig = figure((11.0, 4.5))
    return fig, fig.subplots(1, 2, width_ratios=(1.3, 1))


def _rank_panel(rho_ax, by_generation):
    rho_ax.bar(by_generation["generation"], by_generation["spearman"], color="tab:blue", width=0.6)
    rho_ax.axhline(0, color="0.3", lw=0.8)
    rho_ax.set(title="Rank correlation per generation", xlabel="generation",
               ylabel="Spearman ρ (predicted, observed)", ylim=(-1, 1))
    rho_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rho_ax.grid(alpha=0.3, axis="y")


def _surrogate(run: RunFiles) -> Figure | Skip:
    points, by_generation = surrogate_data(run.result)
    if len(points) < 3:
        # Searches without the model (surrogate = "none", NSGA-II, PBT) have no predictions.
        return Skip("fewer than 3 trials with a model prediction", note="predicted" in run.result.trials)
    return draw_surrogate(points, by_generation, run.fitness_label)


PLOTS = (Plot("surrogate", _surrogate),)
