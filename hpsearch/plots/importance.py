"""Parameter importance: how much each gene decides fitness, by a random forest's
permutation importance."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..results import SearchResult
from ..space import Space
from .family import Plot, RunFiles
from .features import encoded, gene_features, succeeded
from .style import FIGSIZE, AxesArg, single_axes

MIN_TRIALS_FOR_IMPORTANCE = 5


def importance_data(result: SearchResult, space: Space | None = None,
                    min_trials: int = MIN_TRIALS_FOR_IMPORTANCE) -> pd.DataFrame:
    """Permutation importance of each feature for a random forest fitted to the successful
    trials' fitness, normalised to shares that sum to 1.

    The raw measure is the mean drop in the forest's R² when the feature's column is
    shuffled (5 repeats): column r2_drop, with std_r2_drop their spread. importance is that
    drop as a share of the features' total (negative drops, noise, count as 0), std the
    spread on the same scale; label is the feature's readable name. Features are in their
    own scale (log10 for log genes, choice index for categoricals). A DataFrame indexed by
    feature name, most important first; empty with fewer than `min_trials` successful
    trials or when their fitness does not vary. All shares are 0 when no shuffle hurt.

    Permutation importance rather than the forest's impurity importances: those favour
    continuous genes over categoricals with few choices. It is measured on the trials the
    forest was fitted to (there are too few for a held-out set), so values are optimistic;
    the ranking and the shares are what the plot is for.
    """
    # scikit-learn is imported here because it is slow to import and only this needs it.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    features, values = gene_features(result.trials, space)
    columns = ["importance", "std", "r2_drop", "std_r2_drop"]
    empty = pd.DataFrame({**{c: [] for c in columns}, "label": []}, index=pd.Index([], name="feature"))
    empty = empty.astype({c: float for c in columns} | {"label": str})
    ok = succeeded(result.trials)
    fitness = result.trials["fitness"].to_numpy(dtype=float)[ok]
    if not features or ok.sum() < min_trials or np.ptp(fitness) == 0:
        return empty
    X = np.column_stack([encoded(feature, values[feature.name])[ok] for feature in features])
    forest = RandomForestRegressor(random_state=0).fit(X, fitness)
    scores = permutation_importance(forest, X, fitness, n_repeats=5, random_state=0)
    drop = np.asarray(scores.importances_mean, dtype=float)
    total = np.clip(drop, 0.0, None).sum()
    scale = 1.0 / total if total > 0 else 0.0
    frame = pd.DataFrame({"importance": np.clip(drop, 0.0, None) * scale, "std": scores.importances_std * scale,
                          "r2_drop": drop, "std_r2_drop": scores.importances_std,
                          "label": [feature.label for feature in features]},
                         index=pd.Index([f.name for f in features], name="feature"))
    return frame.sort_values("importance", ascending=False, kind="stable")


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
