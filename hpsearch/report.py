"""The report of a results directory: one self-contained HTML page, DIR/report.html.

    from hpsearch.report import write_report
    write_report("runs/digits")          # -> Path("runs/digits/report.html")

The page holds the run's summary and stop reason, the best configuration with its validation
and test scores, the best trials as a table that sorts by any column when its header is
clicked, every plot, the run's settings (config.toml), and the sections of special runs:
rung counts and the pruned share of a multi-fidelity search, the hyperparameter schedule of
population-based training, the Pareto front of a multi-objective search with its knee.

Self-contained: the plots are embedded as base64 PNG data URIs, and the page is built from
hpsearch.htmlpage's blocks (shared with hpsearch.compare): its style and sorting script are
inline and a Content-Security-Policy allows nothing else. Every value read from the
directory's files is escaped, so a hostile cell is shown as text, never run. The trials are
ranked by hpsearch.leaderboard.top_trials, as `hpsearch show` ranks them.

Like hpsearch.plots, this module reads files only and never imports the search engine: a
copied results directory reports anywhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import results
from .formatting import fmt
from .htmlpage import cards, elapsed_text, esc, html_table, key_value_table, note, page, png_img, read_png, section
from .leaderboard import top_trials
from .plots import PLOTS, PLOTS_DIR, fitness_label, plot_all

REPORT = "report.html"
TOP_TRIALS = 50  # rows of the trials table
SCHEDULE_ROWS = 200  # rows of the PBT schedule table shown
# Trial columns left out of the table: bookkeeping, or repeated by another column.
HIDDEN_COLUMNS = {"cached", "seed", "parents", "worker", "predicted", "rung0_score", "epochs_trained",
                  "train_seconds", "latency"}
# Result files whose change makes the plots stale.
PLOTTED_FILES = (results.TRIALS, results.GENERATIONS, results.CURVES, results.BEST, results.PARETO,
                 results.FRONTS, results.PBT_SCHEDULE, results.PBT_LINEAGE, results.CONFIG)


# ---------------------------------------------------------------- the report


def write_report(out_dir: str | os.PathLike[str], *, make_plots: bool = True, top: int = TOP_TRIALS) -> Path:
    """Write DIR/report.html (atomically) and return its path.

    make_plots: when plots/ is missing or older than the result files, make the plots first
    (hpsearch.plots.plot_all); False embeds the PNG files present as they are.
    top: rows of the trials table (the best trials). ValueError if out_dir is no results
    directory.
    """
    out_dir = Path(out_dir)
    results.refuse_links(out_dir, [REPORT])  # os.replace would not follow it; refused all the same
    text = report_html(out_dir, make_plots=make_plots, top=top)
    path = out_dir / REPORT
    results.write_atomic(path, lambda file: file.write(text.encode()))
    return path


def report_html(out_dir: str | os.PathLike[str], *, make_plots: bool = True, top: int = TOP_TRIALS) -> str:
    """The report page of a results directory, as text (write_report writes it)."""
    out_dir = Path(out_dir)
    result = results.load(out_dir)
    config = results.read_config(out_dir)
    label = fitness_label(config, result.trials)
    kind = run_kind(result, config)
    sections = [
        ("summary", "Summary", summary_section(result, config, kind)),
        ("best", "Best configuration", best_section(result, config, label)),
        ("fidelity", "Multi-fidelity", fidelity_section(result, config)),
        ("pbt", "Population-based training", pbt_section(result)),
        ("pareto", "Pareto front", pareto_section(result, label)),
        ("trials", "Trials", trials_section(result, label, top)),
        ("plots", "Plots", plots_section(out_dir, make_plots)),
        ("settings", "Settings", settings_section(out_dir, config)),
    ]
    shown = [(anchor, title, body) for anchor, title, body in sections if body]
    body = "\n".join(section(anchor, title, content) for anchor, title, content in shown)
    return page(f"hpsearch report: {out_dir.resolve().name}", body, subtitle=f"{kind} · {out_dir}",
                nav=[(anchor, title) for anchor, title, _ in shown])


def run_kind(result: results.SearchResult, config: Mapping[str, Any]) -> str:
    """What kind of search made the directory, in words."""
    search = results.config_table(config, "search")
    objectives = search.get("objectives") or list(result.best.get("objectives") or {})
    if not result.schedule.empty or search.get("mode") == "pbt" or result.best.get("mode") == "pbt":
        kind = "population-based training"
    elif not result.pareto.empty or objectives:
        kind = "NSGA-II" + (f" ({' vs '.join(map(str, objectives))})" if objectives else "")
    elif results.config_table(config, "breeding").get("strategy") == "random" or search.get("algorithm") == "random":
        kind = "random search"
    else:
        kind = "genetic algorithm"
    rungs = _rungs(result, config)
    if rungs > 1:
        kind += f", multi-fidelity ({rungs} rungs)"
    return kind


def _rungs(result: results.SearchResult, config: Mapping[str, Any]) -> int:
    fidelity = results.config_table(config, "fidelity")
    rungs = fidelity.get("rungs")
    if isinstance(rungs, int) and not isinstance(rungs, bool):
        return rungs
    trials = result.trials
    if "rung" in trials and trials["rung"].notna().any():
        return int(pd.to_numeric(trials["rung"], errors="coerce").max()) + 1
    return 1


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    return None


def summary_section(result: results.SearchResult, config: Mapping[str, Any], kind: str) -> str:
    best, trials, generations = result.best, result.trials, result.generations
    dataset = config.get("dataset")
    evaluations = best.get("evaluations")
    if evaluations is None and "evaluations_total" in generations and not generations.empty:
        evaluations = generations["evaluations_total"].iloc[-1]
    elapsed = generations["elapsed"].iloc[-1] if "elapsed" in generations and not generations.empty else None
    state = "finished" if result.finished else "unfinished (resume to continue)"
    facts = [("search", kind), ("dataset", dataset.get("name") if isinstance(dataset, Mapping) else None),
             ("state", state), ("stop reason", best.get("stop_reason") or "—"), ("trials", len(trials)),
             ("evaluations", evaluations), _generations_fact(generations, kind),
             ("wall time", elapsed_text(elapsed)), ("best validation", _number(best.get("fitness"))),
             ("test", _number(best.get("test_metric")))]
    parts = [cards(facts)]
    if "status" in trials and not trials.empty:
        counts = trials["status"].astype(str).value_counts()
        parts.append(note("statuses: " + ", ".join(f"{status} {count}" for status, count in counts.items())))
    elif trials.empty:
        parts.append(note("no trials yet"))
    return "\n".join(parts)


def _generations_fact(generations: pd.DataFrame, kind: str) -> tuple[str, Any]:
    if kind.startswith("population-based"):
        return "steps", len(generations)
    if "generation" in generations and not generations.empty:
        return "generations", f"0–{fmt(generations['generation'].iloc[-1])}"
    return "generations", len(generations)


def best_section(result: results.SearchResult, config: Mapping[str, Any], label: str) -> str:
    best = result.best
    if not best or best.get("params") is None:
        return note("no successful trial yet" if not best else "no successful trial")
    metric = _metric_name(config)
    scores: list[tuple[str, Any]] = [(label, best.get("fitness"))]
    if best.get("direction") == "minimize" and "value" in best:
        scores.append(("objective value (minimized)", best.get("value")))
    objectives = best.get("objectives")
    if isinstance(objectives, Mapping):
        scores += [(f"objective {name}", value) for name, value in objectives.items()
                   if not (name == "val_metric" and value == best.get("fitness"))]
    for key, name in (("test_metric", f"test {metric}" if metric else "test score"), ("test_loss", "test loss")):
        if key in best:
            scores.append((name, best[key]))
    where = [("trial", best.get("trial_id")), ("generation", best.get("generation"))]
    if "genome_id" in best:
        where += [("genome", best.get("genome_id")), ("trainings", best.get("trainings"))]
        if isinstance(best.get("optimism"), (int, float)):
            where.append(("optimism (chosen on − fresh)", best.get("optimism")))
    if "member" in best:
        where.append(("member", best.get("member")))
    if "epochs_total" in best:
        where.append(("epochs trained", best.get("epochs_total")))
    if best.get("knee"):
        where.append(("chosen as", f"the knee of a Pareto front of {fmt(best.get('front_size'))} trials"))
    if best.get("model"):
        where.append(("model file", best.get("model")))
    params = best["params"]
    param_rows = list(params.items()) if isinstance(params, Mapping) else [("params", params)]
    words = [note(best["summary"])] if isinstance(best.get("summary"), str) else []
    test = best.get("test")
    if isinstance(test, Mapping):
        half = (test["ci_high"] - test["ci_low"]) / 2
        words.append(note(f"test {test['mean']:.4f} ± {half:.4f} ({test['confidence']:.0%} CI, mean of {test['n']} "
                          f"retrainings on the seeds of the confirmation)"))
    return (cards(scores + where) + "\n" + "\n".join(words) + "\n<h3>Hyperparameters</h3>\n"
            + key_value_table((str(k), fmt(v) if isinstance(v, (list, tuple)) else v) for k, v in param_rows))


def _metric_name(config: Mapping[str, Any]) -> str | None:
    objective = config.get("objective")
    metric = objective.get("metric") if isinstance(objective, Mapping) else None
    return metric if isinstance(metric, str) else None


def trial_columns(trials: pd.DataFrame) -> list[str]:
    """The trials table's columns shown: all but bookkeeping ones, and val_metric when it only
    repeats the fitness, and the number of layers that the layer sizes already show."""
    columns = [c for c in trials.columns if c not in HIDDEN_COLUMNS]
    if "val_metric" in trials and "fitness" in trials:
        same = pd.to_numeric(trials["val_metric"], errors="coerce").fillna(math.nan)
        fitness = pd.to_numeric(trials["fitness"], errors="coerce")
        both = same.notna() & fitness.notna()
        if np.allclose(same[both], fitness[both]):
            columns.remove("val_metric")
    if "n_layers" in columns and any(trials[c].map(lambda v: isinstance(v, tuple)).any()
                                     for c in columns if trials[c].dtype == object):
        columns.remove("n_layers")
    return columns


def trials_section(result: results.SearchResult, label: str, top: int) -> str:
    trials = result.trials
    if trials.empty:
        return note("no trials yet")
    best_id = result.best.get("trial_id")
    shown = top_trials(trials, top, best_id=best_id)
    classes = ["best" if "trial_id" in shown and row == best_id else "" for row in
               (shown["trial_id"] if "trial_id" in shown else [None] * len(shown))]
    stopped = "status" in trials and trials["status"].isin(["pruned", "promoted"]).any()
    caption = (f"The best {len(shown)} of {len(trials)} trials: the best configuration first (highlighted), "
               f"then by fitness ({label})" + (", full trainings first" if stopped else "") + ". "
               "Click a column header to sort by it (failed trials, without a fitness, sort last).")
    parts = [html_table(shown[trial_columns(trials)], caption=caption, row_classes=classes,
                        sorted_by=("fitness", "descending"), tall=True)]
    if "status" in trials:
        failed = trials[trials["status"].isin(results.FAILED_STATUSES)]
        if not failed.empty:
            reasons = failed.assign(reason=failed["reason"] if "reason" in failed else "")
            counts = (reasons.groupby(["status", "reason"], dropna=False).size().rename("trials")
                      .reset_index().sort_values("trials", ascending=False, kind="stable").head(15))
            parts += ["<h3>Failures</h3>", html_table(counts, caption=f"{len(failed)} trials without a score, "
                                                                       "by status and reason")]
    return "\n".join(parts)


def fidelity_section(result: results.SearchResult, config: Mapping[str, Any]) -> str:
    trials = result.trials
    if "rung" not in trials or _rungs(result, config) <= 1 or trials.empty:
        return ""
    trained = trials[~trials["cached"].astype(bool)] if "cached" in trials else trials
    rung = pd.to_numeric(trained["rung"], errors="coerce")
    status = trained["status"].astype(str)
    rows = []
    for value in sorted(rung.dropna().unique()):
        at = rung == value
        row = {"rung": int(value), "trainings": int(at.sum()), "promoted": int((at & (status == "promoted")).sum()),
               "pruned": int((at & (status == "pruned")).sum()), "full (ok)": int((at & (status == "ok")).sum()),
               "failed": int((at & status.isin(results.FAILED_STATUSES)).sum())}
        if "epochs_run" in trained:
            row["epochs trained"] = int(pd.to_numeric(trained.loc[at, "epochs_run"], errors="coerce").fillna(0).sum())
        rows.append(row)
    table = pd.DataFrame(rows)
    pruned = int((status == "pruned").sum())
    share = pruned / len(trained) if len(trained) else math.nan
    fidelity = results.config_table(config, "fidelity")
    settings = ", ".join(f"{k} {fmt(v)}" for k, v in fidelity.items() if k in ("rungs", "reduction_factor", "pruner"))
    facts = [("trainings", len(trained)), ("pruned", pruned),
             ("pruned share", "" if math.isnan(share) else f"{share:.0%}"),
             ("promoted", int((status == "promoted").sum())), ("full trainings", int((status == "ok").sum()))]
    if "epochs_total" in result.generations and not result.generations.empty:
        facts.append(("training epochs", result.generations["epochs_total"].iloc[-1]))
    return "\n".join([cards(facts), note("Successive halving" + (f": {settings}" if settings else "")
                                         + ". Pruned: stopped at a rung below the full budget."),
                      html_table(table, sortable=False, caption="trainings per rung")])


def pbt_section(result: results.SearchResult) -> str:
    schedule = result.schedule
    if schedule.empty:
        return ""
    generations = result.generations
    facts = [("members", result.trials["member"].nunique() if "member" in result.trials else None),
             ("steps", len(generations))]
    if "exploited" in generations:
        facts.append(("exploit+explore events", int(pd.to_numeric(generations["exploited"], errors="coerce").sum())))
    if "epochs_total" in result.best:
        facts.append(("epochs of the best member", result.best["epochs_total"]))
    columns = [c for c in schedule.columns if c != "n_layers"]
    shown = schedule[columns].head(SCHEDULE_ROWS)
    caption = ("The best member's hyperparameters at every step (pbt_schedule.csv): the schedule to reuse"
               + (f"; the first {SCHEDULE_ROWS} of {len(schedule)} steps" if len(schedule) > SCHEDULE_ROWS else ""))
    return cards(facts) + "\n" + html_table(shown, caption=caption, sorted_by=("step", "ascending"))


def pareto_section(result: results.SearchResult, label: str) -> str:
    front = result.pareto
    if front.empty:
        return ""
    knee = front["knee"].astype(str).str.lower().isin(["true", "1"]) if "knee" in front else \
        pd.Series(False, index=front.index)
    table = front.drop(columns=[c for c in ("knee", "n_layers") if c in front])
    table.insert(0, "knee", np.where(knee, "★ knee", ""))
    first = next((c for c in table.columns if c not in ("knee", "trial_id", "generation")), None)
    order = table.sort_values(first, ascending=False, kind="stable").index if first else table.index
    facts: list[tuple[str, Any]] = [("trials on the front", len(front))]
    if not result.fronts.empty and "generation" in result.fronts:
        sizes = result.fronts.groupby("generation").size()
        facts.append(("front size by generation", ", ".join(str(int(n)) for n in sizes.to_numpy())))
    if knee.any():
        facts.append(("knee", f"trial {fmt(front.loc[knee, 'trial_id'].iloc[0])}" if "trial_id" in front else "marked"))
    caption = ("The Pareto front of all trials (pareto.csv); the knee, the reported best, is marked ★. "
               f"val_metric is the {label}.")
    return cards(facts) + "\n" + html_table(table.loc[order], caption=caption,
                                            row_classes=["knee" if k else "" for k in knee.loc[order]],
                                            sorted_by=(first, "descending") if first else None)


def plot_files(out_dir: Path, make_plots: bool) -> tuple[list[tuple[str, bytes]], str]:
    """(name, PNG bytes) of every plot to embed, in the plots registry's order, and a note.

    With make_plots, plots/ is (re)made when it has no plot or one older than a result file."""
    plots_dir = out_dir / PLOTS_DIR
    names = [plot.name for plot in PLOTS]
    present = {}
    if plots_dir.is_dir() and not plots_dir.is_symlink():
        present = {path.stem: path for path in plots_dir.glob("*.png") if path.stem in names}
    message = ""
    if make_plots and _stale(out_dir, list(present.values())):
        try:
            present = {path.stem: path for path in plot_all(out_dir, quiet=True)}
        except (ValueError, OSError) as error:
            message = f"the plots could not be made: {error}"
    found = [(name, read_png(present[name])) for name in names if name in present]
    return [(name, data) for name, data in found if data is not None], message


def _stale(out_dir: Path, pngs: list[Path]) -> bool:
    if not pngs:
        return True
    newest = max((path.stat().st_mtime for name in PLOTTED_FILES if (path := out_dir / name).is_file()), default=0.0)
    try:
        return min(path.stat().st_mtime for path in pngs) < newest
    except OSError:
        return True


def plots_section(out_dir: Path, make_plots: bool) -> str:
    found, message = plot_files(out_dir, make_plots)
    if not found:
        return note(message or "no plots (make them with: hpsearch plot DIR)")
    figures = "\n".join(f"<figure>{png_img(data, name)}<figcaption>{esc(name)}.png</figcaption></figure>"
                        for name, data in found)
    return (note(message) if message else "") + f'<div class="plots">\n{figures}\n</div>'


def settings_section(out_dir: Path, config: Mapping[str, Any]) -> str:
    if not config:
        return note("no config.toml (or an unreadable one)")
    run = [(key, value) for key, value in config.items() if not isinstance(value, Mapping)]
    tables = [("run", run)] if run else []
    tables += [(name, list(results.flatten(values).items())) for name, values in config.items()
               if isinstance(values, Mapping) and name != "space"]
    boxes = "".join(
        f"<div><h3>{esc(name if name == 'run' else f'[{name}]')}</h3>"
        + key_value_table((k, _setting(v)) for k, v in rows) + "</div>" for name, rows in tables)
    parts = [f'<div class="tables">{boxes}</div>']
    space = config.get("space")
    if isinstance(space, Mapping) and space:
        genes = []
        for name, gene in space.items():
            gene = gene if isinstance(gene, Mapping) else {"value": gene}
            genes.append({"gene": name, "kind": gene.get("kind", ""),
                          "range": _gene_range(gene),
                          "options": ", ".join(f"{k}={fmt(v)}" for k, v in gene.items()
                                               if k not in ("kind", "low", "high", "choices", "value", "min_layers",
                                                            "max_layers")
                                               and v not in (False, None))})
        parts += ["<h3>[space]: the search space</h3>", html_table(pd.DataFrame(genes), sortable=False)]
    try:
        raw = (out_dir / results.CONFIG).read_text(errors="replace")
        parts.append(f"<details><summary>config.toml as written</summary><pre>{esc(raw)}</pre></details>")
    except OSError:
        pass
    return "\n".join(parts)


def _setting(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and not value:
        return "[]"
    return fmt(value) if isinstance(value, (list, tuple, Mapping)) else value


def _gene_range(gene: Mapping[str, Any]) -> str:
    if "choices" in gene:
        return ", ".join(fmt(c) for c in gene["choices"]) if isinstance(gene["choices"], list) else fmt(gene["choices"])
    if "low" in gene or "high" in gene:
        text = f"{fmt(gene.get('low'))} … {fmt(gene.get('high'))}"
        if "min_layers" in gene:
            text = f"{fmt(gene.get('min_layers'))}–{fmt(gene.get('max_layers'))} layers of {text}"
        return text
    return fmt(gene.get("value", ""))
