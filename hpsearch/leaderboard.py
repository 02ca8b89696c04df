"""The best trials of a run, in one order for every view of it: `hpsearch show`, the trials
table of report.html and the plots that pick the top trials all call top_trials.

Like hpsearch.plots, this reads a trials table only, never the search engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def top_trials(trials: pd.DataFrame, k: int | None = None, *, best_id: Any = None, full_only: bool = False,
               skip_cached: bool = False, distinct: Sequence[str] = ()) -> pd.DataFrame:
    """The `k` best trials (all of them for None), best first.

    The order: best.json's trial `best_id` first when given (the knee of a Pareto front, or
    PBT's best member, need not have the highest fitness); then the full trainings (status
    ok) by fitness, highest first; then the trainings stopped early (pruned, promoted) by
    fitness; then the trials without a fitness (failed). Equal fitness: the earlier trial_id
    first. A minimized objective's fitness is its negated value, so this is lowest value first.

    full_only: only full trainings (status ok). skip_cached: leave out cached rows, which repeat
    an earlier trial's genome and result (best_id's row is kept). distinct: columns (the
    genes) of which only the first row of each combination of values is kept.
    """
    if trials.empty:
        return trials
    index = trials.index
    fitness = pd.to_numeric(trials["fitness"], errors="coerce") if "fitness" in trials else \
        pd.Series(np.nan, index=index)
    status = trials["status"].astype(str) if "status" in trials else pd.Series("ok", index=index)
    is_best = (trials["trial_id"] == best_id) if best_id is not None and "trial_id" in trials else \
        pd.Series(False, index=index)
    keep = pd.Series(True, index=index)
    if full_only:
        keep &= status == "ok"
    if skip_cached and "cached" in trials:
        keep &= ~trials["cached"].astype(str).str.lower().isin(["true", "1"]) | is_best
    tier = np.select([is_best, fitness.isna(), status == "ok"], [0, 3, 1], 2)
    order = pd.DataFrame({"tier": tier, "fitness": -fitness.fillna(0.0),
                          "id": trials["trial_id"] if "trial_id" in trials else np.arange(len(trials))},
                         index=index)[keep].sort_values(["tier", "fitness", "id"], kind="stable")
    ranked = trials.loc[order.index]
    distinct = [c for c in distinct if c in ranked]
    if distinct:
        ranked = ranked.drop_duplicates(subset=distinct)
    return ranked if k is None else ranked.head(k)
