"""The report of a results directory: one self-contained HTML page, DIR/report.html.

    from hpsearch.report import write_report
    write_report("runs/digits")          # -> Path("runs/digits/report.html")

The page holds the run's summary and stop reason, the best configuration with its validation
and test scores, the best trials as a table that sorts by any column when its header is
clicked, every plot, the run's settings (config.toml), and the sections of special runs:
rung counts and the pruned share of a multi-fidelity search, the hyperparameter schedule of
population-based training, the Pareto front of a multi-objective search with its knee.

Self-contained: the plots are embedded as base64 PNG data URIs, the CSS and the small sorting
script are inline, and a Content-Security-Policy allows nothing else (no network, no other
script: the inline script and style are allowed by their hashes). Every value read from the
directory's files is escaped, so a hostile cell is shown as text, never run.

Like hpsearch.plots, this module reads files only and never imports the search engine: a
copied results directory reports anywhere. The page's building blocks (page, html_table,
png_img) are shared with hpsearch.compare.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import results
from .plots import PLOTS, PLOTS_DIR, fitness_label, plot_all

REPORT = "report.html"
TOP_TRIALS = 50  # rows of the trials table
SCHEDULE_ROWS = 200  # rows of the PBT schedule table shown
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Trial columns left out of the table: bookkeeping, or repeated by another column.
HIDDEN_COLUMNS = {"cached", "seed", "parents", "worker", "predicted", "rung0_score", "epochs_trained",
                  "train_seconds", "latency"}
# Result files whose change makes the plots stale.
PLOTTED_FILES = (results.TRIALS, results.GENERATIONS, results.CURVES, results.BEST, results.PARETO,
                 results.FRONTS, results.PBT_SCHEDULE, results.PBT_LINEAGE, results.CONFIG)


# ---------------------------------------------------------------- the page's building blocks

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --head: #eef1f6; --accent: #2b6cb0;
        --best: #fff6d6; --knee: #e3f4e1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0; background: #fafbfc; }
header { background: #1f2a3c; color: #fff; padding: 18px 32px 14px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header p { margin: 0; color: #c9d3e3; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0;
      z-index: 2; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
main { padding: 8px 32px 40px; max-width: 1400px; }
section { margin: 22px 0 30px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-bottom: 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.note { color: var(--muted); margin: 4px 0 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 140px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 17px; font-weight: 600; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 4px 0; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top;
         white-space: nowrap; }
td.text { white-space: normal; min-width: 260px; max-width: 480px; overflow-wrap: anywhere; }
.scroll.tall { max-height: 560px; overflow-y: auto; border-bottom: 1px solid var(--line); }
.tables { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
.tables h3 { margin-top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: var(--head); position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #f8f9fb; }
tr.best, tr.best:nth-child(even) { background: var(--best); }
tr.knee, tr.knee:nth-child(even) { background: var(--knee); }
tr.group th { background: #f3f5f9; color: var(--muted); font-weight: 600; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th::after { content: " \\2195"; color: #9aa3b2; }
table.sortable thead th[aria-sort=ascending]::after { content: " \\25B2"; color: var(--fg); }
table.sortable thead th[aria-sort=descending]::after { content: " \\25BC"; color: var(--fg); }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; padding-top: 4px; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow-x: auto; font-size: 12px; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
"""

# Sorts a table.sortable by the clicked column: numerically when every non-empty cell of the
# column is a number, else as text; empty cells (a failed trial's fitness) last either way.
# A cell's data-v attribute, when present, is its value for sorting (the full number).
SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return (v === null ? cell.textContent : v).trim();
  }
  function numeric(rows, col) {
    var seen = false;
    for (var i = 0; i < rows.length; i++) {
      var v = key(rows[i].cells[col]);
      if (v === "") { continue; }
      if (isNaN(Number(v))) { return false; }
      seen = true;
    }
    return seen;
  }
  function sortTable(table, col) {
    var heads = table.tHead.rows[0].cells, th = heads[col];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var isNumber = numeric(rows, col);
    var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
    var items = rows.map(function (row, index) { return {row: row, key: key(row.cells[col]), index: index}; });
    items.sort(function (a, b) {
      var emptyA = a.key === "", emptyB = b.key === "";
      if (emptyA || emptyB) { return emptyA === emptyB ? a.index - b.index : (emptyA ? 1 : -1); }
      var c = isNumber ? Number(a.key) - Number(b.key) : collator.compare(a.key, b.key);
      c = c || 0;
      return c === 0 ? a.index - b.index : (ascending ? c : -c);
    });
    items.forEach(function (item) { body.appendChild(item.row); });
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sortTable(table, col); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortTable(table, col); }
      });
    });
  });
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def esc(value: Any) -> str:
    """Any value as escaped HTML text (quotes too: safe in attributes)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, subtitle: str = "", nav: Sequence[tuple[str, str]] = ()) -> str:
    """A whole self-contained HTML page: `body` (HTML, already escaped) under a header with the
    (unescaped) title and subtitle, with the CSS, the sorting script and a Content-Security-
    Policy that allows only them and data: images."""
    policy = (f"default-src 'none'; img-src data:; style-src {_csp_hash(CSS)}; script-src {_csp_hash(SCRIPT)}; "
              "base-uri 'none'; form-action 'none'")
    links = "".join(f'<a href="#{esc(anchor)}">{esc(name)}</a>' for anchor, name in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>{esc(title)}</h1>" + (f"<p>{esc(subtitle)}</p>" if subtitle else "") + "</header>\n"
            + (f"<nav>{links}</nav>\n" if links else "")
            + f"<main>\n{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n' + "\n".join(p for p in parts if p) + "\n</section>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def fmt(value: Any) -> str:
    """A cell's text: floats to 4 significant digits, NaN and None empty, lists joined."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "-".join(fmt(v) for v in value) if all(isinstance(v, int) for v in value) else \
            ", ".join(fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{esc(value)}</td>"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        sort_key = "" if math.isnan(number) else repr(int(value) if isinstance(value, (int, np.integer)) else number)
        return f'<td class="num" data-v="{esc(sort_key)}">{esc(fmt(value))}</td>'
    text = fmt(value)
    return f'<td class="text">{esc(text)}</td>' if len(text) > 40 else f"<td>{esc(text)}</td>"


def html_table(frame: pd.DataFrame, *, sortable: bool = True, caption: str = "",
               row_classes: Sequence[str] | None = None, sorted_by: tuple[str, str] | None = None,
               headers: Mapping[str, str] | None = None, tall: bool = False) -> str:
    """An HTML table of a DataFrame (its columns, not its index), every cell escaped.

    sortable: clicking a header sorts the rows by it (the page's script). sorted_by: (column,
    "ascending" or "descending"), the order the rows come in, marked on that header.
    row_classes: one class per row ("best", "knee", or "" for none). headers: display names.
    tall: in a box of limited height that scrolls (its header row stays in view).
    """
    heads = []
    for column in frame.columns:
        state = f' aria-sort="{esc(sorted_by[1])}"' if sorted_by and column == sorted_by[0] else ""
        heads.append(f"<th{state}>{esc((headers or {}).get(column, column))}</th>")
    rows = []
    classes = list(row_classes) if row_classes is not None else [""] * len(frame)
    for values, css in zip(frame.itertuples(index=False, name=None), classes):
        attribute = f' class="{esc(css)}"' if css else ""
        rows.append(f"<tr{attribute}>" + "".join(_cell(v) for v in values) + "</tr>")
    kind = ' class="sortable"' if sortable else ""
    box = "scroll tall" if tall else "scroll"
    return (f'<div class="{box}"><table{kind}>' + (f"<caption>{esc(caption)}</caption>" if caption else "")
            + "<thead><tr>" + "".join(heads) + "</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody></table></div>")


def key_value_table(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in pairs)
    return f'<div class="scroll"><table>{rows}</table></div>'


def cards(pairs: Iterable[tuple[str, Any]]) -> str:
    items = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(fmt(v))}</div></div>'
                    for k, v in pairs if v is not None and fmt(v) != "")
    return f'<div class="cards">{items}</div>'


def png_img(data: bytes, alt: str) -> str:
    """An <img> of PNG bytes as a data URI."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def read_png(path: Path) -> bytes | None:
    """A PNG file's bytes, or None for anything else (a link, a non-PNG: never embedded)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


def elapsed_text(seconds: Any) -> str:
    if not isinstance(seconds, (int, float, np.integer, np.floating)) or not math.isfinite(seconds):
        return ""
    seconds = int(round(float(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


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
    return (cards(scores + where) + "\n<h3>Hyperparameters</h3>\n"
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


def top_trials(trials: pd.DataFrame, top: int) -> pd.DataFrame:
    """The best `top` trials: full trainings (status ok) by fitness first, then trainings
    stopped early (pruned, promoted) by fitness, then those without a score."""
    if trials.empty:
        return trials
    fitness = pd.to_numeric(trials["fitness"], errors="coerce") if "fitness" in trials else \
        pd.Series(math.nan, index=trials.index)
    status = trials["status"].astype(str) if "status" in trials else pd.Series("ok", index=trials.index)
    tier = np.where(fitness.isna(), 2, np.where(status == "ok", 0, 1))
    order = pd.DataFrame({"tier": tier, "fitness": -fitness.fillna(0.0),
                          "id": trials["trial_id"] if "trial_id" in trials else np.arange(len(trials))},
                         index=trials.index).sort_values(["tier", "fitness", "id"], kind="stable")
    return trials.loc[order.index[:top]]


def trials_section(result: results.SearchResult, label: str, top: int) -> str:
    trials = result.trials
    if trials.empty:
        return note("no trials yet")
    shown = top_trials(trials, top)
    best_id = result.best.get("trial_id")
    classes = ["best" if "trial_id" in shown and row == best_id else "" for row in
               (shown["trial_id"] if "trial_id" in shown else [None] * len(shown))]
    stopped = "status" in trials and trials["status"].isin(["pruned", "promoted"]).any()
    caption = (f"The best {len(shown)} of {len(trials)} trials by fitness ({label})"
               + (", full trainings first" if stopped else "") + "; the best configuration highlighted. "
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
