"""A results directory as text, what `hpsearch show DIR` prints: the run's state, its top
trials as a table narrowed to the terminal, and the best configuration.

    from hpsearch.summary import show_text
    print(show_text("runs/digits", top=10))

Like hpsearch.report, this reads the directory's files only, never the search engine, and
ranks the trials by hpsearch.leaderboard.top_trials, as report.html does.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .errors import UserError
from .formatting import fmt
from .leaderboard import top_trials
from .results import METRIC_COLUMNS, PBT_TRAILING_COLUMNS, TRAILING_COLUMNS, SearchResult, load, read_config
from .space import Space

# Short names of the usual columns.
SHOW_NAMES = {"trial_id": "trial", "learning_rate": "lr", "momentum": "mom", "hidden_sizes": "hidden",
              "batch_size": "batch", "weight_decay": "wd", "activation": "act", "lr_schedule": "sched",
              "nesterov": "nest", "n_params": "params", "seconds": "sec"}


def show_text(out_dir: str | os.PathLike[str], top: int = 10, wide: bool = False, width: int | None = None) -> str:
    """The text of `hpsearch show`: top: rows of the trials table; wide: every column of
    trials.csv in full, else the genes and a few more, within `width` characters when given.
    UserError when the directory has no trials yet."""
    result = load(out_dir)
    trials = result.trials
    if trials.empty:
        raise UserError(f"{out_dir}: no trials yet")
    config = read_config(out_dir)
    best = result.best
    state = "finished" if result.finished else "unfinished (resume to continue)"
    lines = [f"{out_dir}: {len(trials)} trials, {len(result.generations)} generations, {state}"]
    if best.get("stop_reason"):
        lines.append(f"stopped by {best['stop_reason']}")
    lines.append("statuses: " + ", ".join(f"{s} {n}" for s, n in trials["status"].value_counts().items()))
    score, metric = score_name(config, best)
    # A minimized objective's own number is `value` (fitness is its negative, what the GA maximizes).
    minimized = best.get("direction") == "minimize" and "value" in trials
    ranked_by = f"{score} (value, lowest first)" if minimized else f"{score} (fitness)"
    genes = gene_columns(trials, config)
    shown = top_trials(trials, top, best_id=best.get("trial_id"), full_only=True, skip_cached=True,
                       distinct=genes)
    if shown.empty:
        lines.append("\nno successful trial")
    else:
        first = "the best first" if len(shown) == 1 or best.get("trial_id") == shown["trial_id"].iloc[0] else ""
        lines.append(f"\ntop {len(shown)} trials by {ranked_by}" + (f", {first}" if first else "") + ":")
        lines.append(trials_table(shown, genes, wide, "value" if minimized else "fitness", width))
    if best.get("params"):
        lines += ["", *best_lines(result, config, score, metric, minimized)]
    return "\n".join(lines)


def best_lines(result: SearchResult, config: Mapping[str, Any], score: str, metric: str, minimized: bool) -> list[str]:
    """The best configuration, one "key  value" line per hyperparameter and score."""
    best = result.best
    rows = {key: fmt(value) if isinstance(value, list) else str(value) for key, value in best["params"].items()}
    if minimized and isinstance(best.get("value"), (int, float)):
        rows[f"{score} (minimized)"] = f"{best['value']:.6g}"
    elif isinstance(best.get("fitness"), (int, float)):
        rows[score] = f"{best['fitness']:.4f}"
    rows[f"test {metric}" if metric else "test"] = held_out_text(result, config)
    if result.best_model_path is not None:
        rows["model"] = str(result.best_model_path)
    width = max(len(k) for k in rows)
    header = f"best config (trial {best.get('trial_id')}):"
    if "genome_id" in best:
        header = (f"best config (genome {best['genome_id']}, {best.get('trainings')} trainings, "
                  f"first trial {best.get('trial_id')}):")
    lines = [header] + [f"  {k:<{width}}  {v}" for k, v in rows.items()]
    if best.get("summary"):
        lines += textwrap.wrap(best["summary"], width=96, initial_indent="  ", subsequent_indent="  ")
    return lines


def score_name(config: Mapping[str, Any], best: Mapping[str, Any]) -> tuple[str, str]:
    """(what the fitness is, the metric's name or ""): config.toml's [objective] metric
    (a validation score for the built-in MLP objective of a [dataset]), else best.json's
    metric, else just "score"."""
    objective = config.get("objective")
    metric = (objective.get("metric") if isinstance(objective, dict) else None) or best.get("metric")
    if not isinstance(metric, str) or not metric:
        return "score", ""
    return (f"validation {metric}" if "dataset" in config else metric), metric


def held_out_text(result: SearchResult, config: Mapping[str, Any]) -> str:
    """The best trial's test score, or why there is none."""
    test = result.best.get("test_metric")
    interval = result.best.get("test")
    if isinstance(test, (int, float)) and math.isfinite(test) and isinstance(interval, dict):
        half = (interval["ci_high"] - interval["ci_low"]) / 2
        return (f"{test:.4f} ± {half:.4f} ({interval['confidence']:.0%} CI, mean of {interval['n']} "
                f"retrainings on fresh seeds)")
    if isinstance(test, (int, float)) and math.isfinite(test):
        return f"{test:.4f}"
    if not result.finished:
        return "not computed yet (search unfinished)"
    objective = config.get("objective")
    if "dataset" in config or (isinstance(objective, dict) and objective.get("metric")):
        return "none: the data has no test split"  # the built-in MLP objective
    return "none: not computed by this objective"


def gene_columns(trials: pd.DataFrame, config: Mapping[str, Any]) -> list[str]:
    """The searched genes' columns: config.toml's [space] (constants left out), or the
    columns between the leading ones and the metrics."""
    table = config.get("space")
    if isinstance(table, dict) and table:
        try:
            return [gene.name for gene in Space.from_config(table) if gene.searchable and gene.name in trials]
        except (ValueError, TypeError):
            pass  # a config.toml edited by hand: fall back on the columns
    names = list(trials.columns)
    start = names.index("cached") + 1 if "cached" in names else 0
    stop = set(METRIC_COLUMNS + TRAILING_COLUMNS + PBT_TRAILING_COLUMNS)
    genes = []
    for name in names[start:]:
        if name in stop:
            break
        if name != "n_layers" and not name.endswith("_n_layers"):
            genes.append(name)
    return genes


def _cell(value: Any, clip: int, digits: int = 4) -> str:
    """Numbers to `digits` significant digits, text clipped to `clip` characters."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    text = "-".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
    return text if len(text) <= clip or not isinstance(value, (str, tuple)) else text[:clip - 1] + "~"


def _header(name: str, clip: int) -> str:
    name = SHOW_NAMES.get(name, name)
    return name if len(name) <= clip else name[:clip // 2] + "~" + name[-(clip - clip // 2 - 1):]


def _render(top: pd.DataFrame, columns: Sequence[str], clip: int, score: str) -> str:
    names = [_header(name, clip) for name in columns]
    if len(set(names)) < len(names):
        names = [SHOW_NAMES.get(name, name) for name in columns]
    frame = pd.DataFrame({name: [_cell(v, clip, 6 if column == score else 4) for v in top[column]]
                          for name, column in zip(names, columns)})
    return frame.to_string(index=False)


def trials_table(top: pd.DataFrame, genes: Sequence[str], wide: bool, score: str = "fitness",
                 width: int | None = None) -> str:
    """The top trials as text: trial_id, the score column, the genes, n_params and seconds,
    under short names, narrowed to `width` characters when given (long text clipped, then the
    last genes left out, with a note); wide: every column, in full."""
    if wide:
        return pd.DataFrame({name: [_cell(v, 10**6) for v in top[name]] for name in top.columns}).to_string(index=False)
    columns = [c for c in ("trial_id", score, *genes, "n_params", "seconds") if c in top]
    left_out: list[str] = []
    text = _render(top, columns, 40, score)
    if width is None:
        return text
    for clip in (12, 8):
        if max(map(len, text.splitlines())) <= width:
            break
        text = _render(top, columns, clip, score)
    while max(map(len, text.splitlines())) > width and any(c in genes for c in columns):
        dropped = [c for c in columns if c in genes][-1]
        columns.remove(dropped)
        left_out.insert(0, dropped)
        text = _render(top, columns, 8, score)
    if left_out:
        text += f"\n({len(left_out)} more gene columns; --wide shows every column)"
    return text
