"""Parameter importance, the numbers: how much each gene decides fitness, by a random
forest's permutation importance. Two plots use them (the importance bars, importance.py, and
the 2-D landscapes of the most important genes, landscape.py); family.RunFiles computes them
once per run."""

import numpy as np
import pandas as pd

from ..results import SearchResult
from ..space import Space
from .features import encoded, gene_features, succeeded

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
