"""Several runs side by side: best-so-far curves and final scores, grouped by label.

    from hpsearch.compare import compare
    compare(["runs/ga-seed0", "runs/ga-seed1", "runs/random-seed0", "runs/random-seed1"])
    # -> [Path("comparison.png"), Path("comparison.html")]

Runs with the same label are seeds of one group. Labels default to each directory's name
without a seed suffix ("ga-seed0", "ga_seed_1" -> "ga"), or, for a directory named only by
its seed ("runs/ga/seed0"), its parent folder's name ("ga").

Each group is drawn as its mean best-so-far (the line) and the lowest and highest of its runs
(the band: min–max) against evaluations and against wall time. Against evaluations a run's
best so far is read from trials.csv, trial by trial in the order trained (cached trials left
out; the best full training, as in the convergence plot); against wall time from
generations.csv (elapsed, best_so_far: one point per generation; a run without it has no wall
time). A run that has ended keeps its final best, so a group's band runs on to its longest
run; the curves start where every run of the group has a score. The table gives each group's final best validation and
test scores (best.json) as mean ± standard deviation (over n runs, n-1 in the denominator).

Like hpsearch.plots, this module reads files only (hpsearch.results, hpsearch.plots, and
hpsearch.htmlpage's blocks, shared with the report), never the search engine. compare_data computes, draw_compare
draws (it takes ax=, a sequence of two Axes or one for the evaluations panel only).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import results
from .errors import UserError
from .formatting import fmt
from .htmlpage import elapsed_text, esc, html_table, note, page, png_img, section
from .plots import fitness_label
from .plots.style import DPI, AxesArg, figure, panel_axes

DEFAULT_OUT = "comparison.png"
AXES = {"evaluations": "evaluations", "elapsed": "wall time (s)"}
BAND = "min–max over the group's runs"
ZOOM_SKIP = 0.25  # the y-axis shows the bands after the first quarter of the x range
_SEED_SUFFIX = re.compile(r"[-_.]?seed[-_]?\d+$", re.IGNORECASE)


@dataclass
class Comparison:
    """What compare draws and tabulates.

    runs: one row per run: label, dir, best_validation (best.json's fitness), test
        (test_metric; NaN without), evaluations (trained trials), elapsed (s; NaN without
        generations.csv), stop_reason, finished.
    curves: every run's best so far: label, run (its position in `dirs`), axis
        ("evaluations" or "elapsed"), x, best_so_far (see run_curves).
    bands: per label and axis ("evaluations" or "elapsed"): the grid x, and over the group's
        runs at x the mean, std (n-1; 0 for a single run), min, max and n of best_so_far.
    table: per label (in order of first appearance): n, validation_mean, validation_std,
        test_mean, test_std (std NaN for one run), evaluations_mean, elapsed_mean.
    fitness_label: the y-axis label (the validation metric of the first run's config).
    ylim: per axis, the y-limits (low, high) worth looking at (see zoom), or None.
    """

    runs: pd.DataFrame
    curves: pd.DataFrame
    bands: pd.DataFrame
    table: pd.DataFrame
    fitness_label: str
    ylim: dict[str, tuple[float, float] | None]


def default_label(out_dir: str | os.PathLike[str]) -> str:
    """A run's group: its directory's name without a seed suffix, or its parent folder's name
    when the directory is named by its seed alone."""
    path = Path(out_dir).resolve()
    name = _SEED_SUFFIX.sub("", path.name)
    return name if name else path.parent.name


def run_curves(result: results.SearchResult) -> dict[str, pd.DataFrame]:
    """A run's best so far against each axis: {"evaluations": x, best_so_far per trained trial
    (trials.csv: cached trials left out, in the order trained, the best of the full trainings,
    status ok, as in the convergence plot), "elapsed": x, best_so_far per generation
    (generations.csv's elapsed and best_so_far; empty without)}. Rows before the first score
    are dropped."""
    trials = result.trials
    if "cached" in trials:
        trials = trials[~trials["cached"].astype(str).str.lower().isin(["true", "1"])]
    if "trial_id" in trials:
        trials = trials.sort_values("trial_id", kind="stable")
    fitness = pd.to_numeric(trials["fitness"], errors="coerce") if "fitness" in trials else \
        pd.Series(math.nan, index=trials.index)
    if "status" in trials:
        fitness = fitness.where(trials["status"] == "ok")
    by_evaluation = pd.DataFrame({"x": np.arange(1, len(trials) + 1, dtype=float),
                                  "best_so_far": fitness.cummax().ffill().to_numpy(dtype=float)})
    generations = result.generations
    if {"elapsed", "best_so_far"} <= set(generations.columns):
        by_time = pd.DataFrame({"x": pd.to_numeric(generations["elapsed"], errors="coerce"),
                                "best_so_far": pd.to_numeric(generations["best_so_far"], errors="coerce")})
    else:
        by_time = pd.DataFrame({"x": [], "best_so_far": []}, dtype=float)
    curves = {}
    for axis, curve in (("evaluations", by_evaluation), ("elapsed", by_time)):
        curve["best_so_far"] = curve["best_so_far"].where(np.isfinite(curve["best_so_far"]))
        curves[axis] = curve.dropna().reset_index(drop=True)
    return curves


def group_band(curves: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean, std (n-1; 0 for one run), min, max and n of best_so_far over runs (each a frame of
    x and best_so_far), on the union of their x values from where every run has a score; each
    run a step function of x that keeps its last value after it ends. Empty runs (no wall
    time) are left out."""
    steps = []
    for curve in curves:
        points = curve[["x", "best_so_far"]].dropna().sort_values("x", kind="stable")
        if not points.empty:
            steps.append((points["x"].to_numpy(dtype=float), points["best_so_far"].to_numpy(dtype=float)))
    if not steps:
        return pd.DataFrame(columns=["x", "mean", "std", "min", "max", "n"], dtype=float)
    start = max(x[0] for x, _ in steps)
    grid = np.unique(np.concatenate([x for x, _ in steps]))
    grid = grid[grid >= start]
    values = np.array([y[np.searchsorted(x, grid, side="right") - 1] for x, y in steps])
    n = len(steps)
    return pd.DataFrame({"x": grid, "mean": values.mean(axis=0),
                         "std": values.std(axis=0, ddof=1) if n > 1 else np.zeros(len(grid)),
                         "min": values.min(axis=0), "max": values.max(axis=0), "n": n})


def compare_data(dirs: Sequence[str | os.PathLike[str]], labels: Sequence[str] | None = None) -> Comparison:
    """Read the runs and compute their groups' bands and score table (see Comparison)."""
    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise UserError("compare: no results directories given")
    if labels is None:
        labels = [default_label(d) for d in dirs]
    labels = [str(label) for label in labels]
    if len(labels) != len(dirs):
        raise UserError(f"compare: {len(labels)} labels for {len(dirs)} directories (one label per directory)")
    runs, curves = [], []
    label_text = None
    for index, (out_dir, label) in enumerate(zip(dirs, labels)):
        result = results.load(out_dir)
        if label_text is None:
            label_text = fitness_label(results.read_config(out_dir), result.trials)
        curve = run_curves(result)
        best = result.best
        validation = results.finite_or_none(best.get("fitness"))
        if validation is None and not curve["evaluations"].empty:
            validation = float(curve["evaluations"]["best_so_far"].iloc[-1])
        last = {axis: float(frame["x"].iloc[-1]) if not frame.empty else math.nan for axis, frame in curve.items()}
        runs.append({"label": label, "dir": str(out_dir), "best_validation": _or_nan(validation),
                     "test": _or_nan(results.finite_or_none(best.get("test_metric"))),
                     "evaluations": last["evaluations"], "elapsed": last["elapsed"],
                     "stop_reason": str(best.get("stop_reason", "")), "finished": bool(best.get("finished"))})
        curves += [frame.assign(label=label, run=index, axis=axis) for axis, frame in curve.items()]
    runs_frame = pd.DataFrame(runs)
    curves_frame = pd.concat(curves, ignore_index=True)[["label", "run", "axis", "x", "best_so_far"]]
    bands, rows = [], []
    for label in dict.fromkeys(labels):
        members = runs_frame[runs_frame["label"] == label]
        for axis in AXES:
            group = [frame for frame in curves if frame["label"].eq(label).all() and frame["axis"].eq(axis).all()]
            band = group_band(group)
            if not band.empty:
                bands.append(band.assign(label=label, axis=axis))
        rows.append({"label": label, "n": len(members),
                     "validation_mean": members["best_validation"].mean(),
                     "validation_std": members["best_validation"].std(ddof=1),
                     "test_mean": members["test"].mean(), "test_std": members["test"].std(ddof=1),
                     "evaluations_mean": members["evaluations"].mean(), "elapsed_mean": members["elapsed"].mean()})
    band_columns = ["label", "axis", "x", "mean", "std", "min", "max", "n"]
    bands_frame = (pd.concat(bands, ignore_index=True)[band_columns] if bands
                   else pd.DataFrame(columns=band_columns))
    return Comparison(runs=runs_frame, curves=curves_frame, bands=bands_frame, table=pd.DataFrame(rows),
                      fitness_label=label_text or "fitness",
                      ylim={axis: zoom(bands_frame[bands_frame["axis"] == axis]) for axis in AXES})


def zoom(bands: pd.DataFrame, skip: float = ZOOM_SKIP) -> tuple[float, float] | None:
    """y-limits of the bands' last (1 - skip) of the x range (where the searches compare; the
    first scores are far lower and would flatten the rest), padded by 5 %; None without bands."""
    if bands.empty:
        return None
    start, end = bands["x"].min(), bands["x"].max()
    tail = bands[bands["x"] >= start + skip * (end - start)]
    low, high = float(tail["min"].min()), float(tail["max"].max())
    pad = (high - low) * 0.05 or max(abs(high) * 0.01, 1e-3)
    return low - pad, high + pad


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def draw_compare(data: Comparison, ax: AxesArg = None) -> Figure:
    """Best so far against evaluations (main panel) and against wall time: per group the mean
    over its runs (line) and their min–max (band)."""
    fig, axes, own = panel_axes(ax, 2, lambda: _two_panels())
    groups = list(data.table["label"])
    colours = {label: f"C{i % 10}" for i, label in enumerate(groups)}
    sizes = dict(zip(data.table["label"], data.table["n"]))
    for panel, axis in zip(axes, AXES):
        drawn = False
        for label in groups:
            band = data.bands[(data.bands["label"] == label) & (data.bands["axis"] == axis)]
            if band.empty:
                continue
            drawn = True
            n = int(band["n"].iloc[0])
            panel.step(band["x"], band["mean"], where="post", color=colours[label], lw=2,
                       label=f"{label} (n={n} run{'s' if n != 1 else ''})" if n == sizes[label]
                       else f"{label} ({n} of {sizes[label]} runs)")
            if n > 1:
                panel.fill_between(band["x"], band["min"], band["max"], step="post", color=colours[label],
                                   alpha=0.2, lw=0)
        panel.set(xlabel=AXES[axis], ylabel=f"best {data.fitness_label} so far",
                  title=f"Best so far against {AXES[axis].split(' (')[0]}")
        panel.grid(alpha=0.3)
        limits = data.ylim.get(axis)
        if limits is not None:
            panel.set_ylim(*limits)
        if drawn:
            panel.legend(fontsize="small", title=f"line: mean; band: {BAND}", title_fontsize="small")
        else:
            panel.text(0.5, 0.5, "no wall times (no generations.csv)" if axis == "elapsed" else "no scores",
                       ha="center", va="center", transform=panel.transAxes, color="0.4")
    if own:
        fig.suptitle("Runs compared: " + ", ".join(f"{label} ({sizes[label]})" for label in groups))
    return fig


def _two_panels():
    fig = figure((12.0, 4.6))
    return fig, fig.subplots(1, 2)


def compare(dirs: Sequence[str | os.PathLike[str]], labels: Sequence[str] | None = None,
            out: str | os.PathLike[str] | None = None) -> list[Path]:
    """Compare results directories: write the figure as PNG to `out` (default ./comparison.png)
    and a self-contained HTML page (the figure and the score tables) next to it, with the same
    name and .html; return both paths. labels: one per directory (default: default_label)."""
    data = compare_data(dirs, labels)
    png = Path(out if out is not None else DEFAULT_OUT)
    html_path = png.with_suffix(".html")
    if png == html_path:
        raise UserError(f"{png}: the figure's file must not end in .html")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig = draw_compare(data)
    results.write_atomic(png, lambda file: fig.savefig(file, format="png", dpi=DPI))
    text = comparison_html(data, png.read_bytes(), html_path.parent)
    results.write_atomic(html_path, lambda file: file.write(text.encode()))
    return [png, html_path]


def _mean_std(mean: Any, std: Any) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    return fmt(mean) + ("" if std is None or (isinstance(std, float) and math.isnan(std)) else f" ± {std:.2g}")


def comparison_html(data: Comparison, png: bytes, here: Path) -> str:
    """The comparison page: the figure, the groups' scores, the runs (linked to their reports)."""
    table = pd.DataFrame({
        "group": data.table["label"], "runs": data.table["n"],
        "best validation (mean ± std)": [_mean_std(m, s) for m, s in
                                         zip(data.table["validation_mean"], data.table["validation_std"])],
        "test (mean ± std)": [_mean_std(m, s) for m, s in zip(data.table["test_mean"], data.table["test_std"])],
        "evaluations (mean)": data.table["evaluations_mean"],
        "wall time (mean)": [elapsed_text(v) for v in data.table["elapsed_mean"]]})
    runs = data.runs.assign(elapsed=[elapsed_text(v) for v in data.runs["elapsed"]])
    runs = runs.rename(columns={"best_validation": "best validation", "elapsed": "wall time",
                                "stop_reason": "stop reason"})
    reports = []
    for out_dir in data.runs["dir"]:
        report = Path(out_dir) / "report.html"
        if report.is_file():
            target = Path(os.path.relpath(report.resolve(), here.resolve())).as_posix()
            reports.append(f'<li><a href="{esc(target)}">{esc(out_dir)}</a></li>')
    body = [section("figure", "Best so far", note(f"Line: the mean of a group's best so far over its runs; band: "
                                                   f"{BAND}. Validation: {data.fitness_label}."),
                    f"<figure>{png_img(png, 'best so far per group')}</figure>"),
            section("scores", "Final scores per group",
                    html_table(table, sortable=False,
                               caption="The best validation score of each run (best.json) and its test score: "
                                       "mean ± standard deviation over the group's runs")),
            section("runs", "Runs", html_table(runs, caption="Click a column header to sort by it"),
                    f"<h3>Reports</h3><ul>{''.join(reports)}</ul>" if reports else "")]
    return page("hpsearch comparison", "\n".join(body),
                subtitle=", ".join(f"{label}: {n} run{'s' if n != 1 else ''}"
                                   for label, n in zip(data.table["label"], data.table["n"])),
                nav=[("figure", "Best so far"), ("scores", "Scores"), ("runs", "Runs")])
