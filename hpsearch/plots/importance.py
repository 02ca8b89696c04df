"""Parameter importance: how much each gene decides fitness, by a random forest's
permutation importance."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..results import SearchResult
from ..space import Space
from .family import Plot, RunFiles
from .features import encoded, gene_features, succeeded
from .style import FIGSIZE, figure

MIN_TRIALS_FOR_IMPORTANCE = 5


def importance_data(result: SearchResult, space: Space | None = None,
                    min_trials: int = MIN_TRIALS_FOR_IMPORTANCE) -> pd.DataFrame:
    """Permutation importance of each feature for a random forest fitted to the successful
    trials' fitness: the mean drop in the forest's R² when the feature's column is shuffled
    (5 repeats; std is their spread). Features are in their own scale (log10 for log genes,
    choice index for categoricals). A DataFrame indexed by feature name with columns
    importance and std, most important first; empty with fewer than `min_trials` successful
    trials or when their fitness does not vary.

    Permutation importance rather than the forest's impurity importances: those favour
    continuous genes over categoricals with few choices. It is measured on the trials the
    forest was fitted to (there are too few for a held-out set), so values are optimistic;
    the ranking is what the plot is for.
    """
    # scikit-learn is imported here because it is slow to import and only this needs it.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    features, values = gene_features(result.trials, space)
    empty = pd.DataFrame({"importance": [], "std": []}, index=pd.Index([], name="feature"), dtype=float)
    ok = succeeded(result.trials)
    fitness = result.trials["fitness"].to_numpy(dtype=float)[ok]
    if not features or ok.sum() < min_trials or np.ptp(fitness) == 0:
        return empty
    X = np.column_stack([encoded(feature, values[feature.name])[ok] for feature in features])
    forest = RandomForestRegressor(random_state=0).fit(X, fitness)
    scores = permutation_importance(forest, X, fitness, n_repeats=5, random_state=0)
    frame = pd.DataFrame({"importance": scores.importances_mean, "std": scores.importances_std},
                         index=pd.Index([f.name for f in features], name="feature"))
    return frame.sort_values("importance", ascending=False, kind="stable")


def draw_importance(importance: pd.DataFrame) -> Figure:
    fig = figure(FIGSIZE)
    ax = fig.subplots()
    if importance.empty:
        ax.text(0.5, 0.5, "not enough successful trials\nto estimate parameter importance",
                ha="center", va="center", transform=ax.transAxes, fontsize="large")
        ax.set_axis_off()
        ax.set_title("Parameter importance")
        return fig
    ordered = importance.iloc[::-1]  # barh draws bottom-up; most important on top
    ax.barh(ordered.index, ordered["importance"], xerr=ordered["std"], color="tab:blue", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title="Parameter importance (random forest, permutation)",
           xlabel="drop in R² when the gene is shuffled")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _importance(run: RunFiles) -> Figure:
    # Drawn even when empty: the figure then says there were too few successful trials.
    return draw_importance(run.importance)


PLOTS = (Plot("importance", _importance),)
