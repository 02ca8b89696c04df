"""The command line: hpsearch run | resume | show | plot | report | compare | export | datasets | numerics.

A user error (bad config, missing file, unknown data set, a results directory that is not
ours) prints one line naming the problem and exits with status 2, never a traceback
(set HPSEARCH_DEBUG=1 to see one).
Ctrl-C (exit 130) and SIGTERM (exit 143) stop after the last complete generation, which is
already saved: `resume` goes on. A full disk is reported in one line, after the summary.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended


class UserError(Exception):
    """A problem the user can fix; reported as one line."""


def _user_errors():
    from .config import ConfigError
    from .search import SearchError

    return (UserError, ConfigError, SearchError, ValueError, FileNotFoundError, PermissionError,
            NotADirectoryError, IsADirectoryError, ConnectionError)


def _saved(search):
    """What of `search` is on disk, for the message of a run that stopped early."""
    done = getattr(search, "saved_generation", -1)
    return (f"generations 0..{done} are saved in {search.out_dir}" if done >= 0
            else f"generation 0 was not complete; it reruns from the start in {search.out_dir}")


def _run_search(search, plots):
    from .logs import logger
    from .run import Terminated

    _describe_data(search)
    try:
        result = search.run()
    except KeyboardInterrupt as stop:
        where = search.out_dir
        what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        if where is None:
            print(f"\n{what}: nothing was saved (no results directory)", file=sys.stderr)
        else:
            print(f"\n{what}: {_saved(search)}; continue with: hpsearch resume {where}", file=sys.stderr)
        raise SystemExit(EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED) from None
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT) or search.out_dir is None:
            raise
        if len(search.trials.rows):
            _print_summary(search.result())
        raise UserError(f"no space left on the device writing {error.filename or search.out_dir}: "
                        f"{_saved(search)}; free some space, then: hpsearch resume {search.out_dir}") from None
    if plots and search.out_dir is not None:
        from .plots import PLOTS_DIR, plot_all
        from .report import write_report

        logger.info("writing the plots into %s and the report", search.out_dir / PLOTS_DIR)
        plot_all(search.out_dir)
        write_report(search.out_dir, make_plots=False)
    _print_summary(result, plots=plots)
    return result


def _describe_data(search):
    """Log what the search trains on (the silent seconds before generation 0 were spent on it)."""
    from .logs import logger

    data = getattr(search.objective, "data", None)
    if not isinstance(data, dict) or "X_train" not in data:
        return
    sizes = ", ".join(f"{len(data[f'X_{part}'])} {name}" for part, name in
                      (("train", "training"), ("val", "validation"), ("test", "test")) if f"X_{part}" in data)
    classes = getattr(search.objective, "n_outputs", None) if getattr(search.objective, "task", "") == \
        "classification" else None
    logger.info("data: %s samples of %d features%s", sizes, data["X_train"].shape[1],
                f", {classes} classes" if classes else "")


def _short(value):
    """A parameter value as a person reads it: floats to 4 significant digits, layers 256-128."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "-".join(_short(v) for v in value)
    return str(value)


def _print_summary(result, plots=False):
    """The one summary at the end of a run: why it stopped, the best, where the files are and
    what to do next."""
    best = result.best
    if not best.get("params"):
        print("no successful trial")
        return
    where = result.out_dir
    test = best.get("test_metric")
    print(f"best validation score {best['fitness']:.4f}"
          + (f", test score {test:.4f}" if test is not None else "")
          + f" (trial {best['trial_id']}, generation {best['generation']})")
    print("best params: " + ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items()))
    if best.get("knee"):
        print(f"(the knee of a Pareto front of {best['front_size']} trials: "
              + ", ".join(f"{k} {v:.4g}" for k, v in best["objectives"].items()) + "; see pareto.csv)")
    if where is not None:
        print(f"results in {where}" + (f", plots in {where / 'plots'}, report in {where / 'report.html'}"
                                       if plots else ""))
        print(f"next: hpsearch show {where}  |  hpsearch report {where}  |  "
              f"python -c \"import hpsearch; print(hpsearch.load('{where}').trials)\"")



def _console(args):
    """Where the library's log lines go: the terminal (--quiet: warnings only)."""
    import logging

    from . import logs

    logs.console(logging.WARNING if args.quiet else logging.INFO)
    return logs.logger


def cmd_run(args: argparse.Namespace) -> None:
    from .config import build_search, load_config

    _console(args)
    config = load_config(args.config)
    search = build_search(config, out_dir=args.out, n_jobs=args.n_jobs, seed=args.seed,
                          backend=args.backend, scheduler=args.scheduler,
                          quiet=args.quiet)
    _pin_numerics(search, args)
    _run_search(search, plots=not args.no_plots)


def _pin_numerics(search, args):
    """A portable search from the command line restarts itself with the portable kernels
    (NumPy has chosen this process's already), before anything is written."""
    if search.parallel.numerics == "portable" and args.command_line is not None:
        from .numerics import restart_pinned

        restart_pinned(args.command_line)


# Budget options of `resume` that extend a search: (option, its [table] key in GA and PBT mode).
EXTENSIONS = (("generations", ("search", "generations"), ("search", "steps")),
              ("max_evaluations", ("budget", "max_evaluations"), None),
              ("max_training_epochs", ("budget", "max_training_epochs"), None),
              ("time_limit", ("budget", "time_limit"), ("budget", "time_limit")),
              ("patience", ("budget", "patience"), ("budget", "patience")))


def cmd_resume(args: argparse.Namespace) -> None:
    import json
    import tomllib

    from .results import BEST, CONFIG, is_results_dir

    out_dir = Path(args.dir)
    if not out_dir.is_dir() or not is_results_dir(out_dir):
        raise UserError(f"{out_dir}: not an hpsearch results directory")
    extended = {name: getattr(args, name) for name, *_ in EXTENSIONS if getattr(args, name) is not None}
    best = json.loads((out_dir / BEST).read_text()) if (out_dir / BEST).exists() else {}
    if best.get("finished") and not extended:
        print(f"{out_dir}: already finished ({best.get('stop_reason', 'its budget is spent')}); "
              f"to search on, extend a budget: hpsearch resume {out_dir} --generations N "
              f"(or --max-evaluations, --max-training-epochs, --time-limit, --patience)")
        return
    if not (out_dir / CONFIG).exists():  # stopped before writing it: the journal has it
        from .checkpoint import Journal
        from .results import write_config

        header = Journal(out_dir).header()
        if not header or not header.get("config"):
            raise UserError(f"{out_dir}: has no {CONFIG} to resume from")
        write_config(out_dir / CONFIG, header["config"])
    try:
        mapping = tomllib.loads((out_dir / CONFIG).read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{out_dir / CONFIG}: invalid TOML: {error}") from None
    if "dataset" not in mapping:
        raise UserError(f"{out_dir}: was started from Python with its own objective, which {CONFIG} cannot "
                        f"rebuild; resume it by running the same GeneticSearch(..., out_dir=...).run() again")
    pbt = mapping.get("search", {}).get("mode") == "pbt"
    for name, ga_key, pbt_key in EXTENSIONS:
        if name in extended:
            key = pbt_key if pbt else ga_key
            if key is None:
                raise UserError(f"--{name.replace('_', '-')}: not a budget of population-based training")
            mapping.setdefault(key[0], {})[key[1]] = extended[name]
    from .config import build_search, parse_config

    _console(args)
    config = parse_config(mapping, source=out_dir / CONFIG)
    search = build_search(config, out_dir=out_dir, n_jobs=args.n_jobs, backend=args.backend,
                          scheduler=args.scheduler, quiet=args.quiet)
    _pin_numerics(search, args)
    _run_search(search, plots=not args.no_plots)


def cmd_plot(args: argparse.Namespace) -> None:
    from .plots import plot_all

    for path in plot_all(args.dir):
        print(path)


def cmd_show(args: argparse.Namespace) -> None:
    from .results import load, read_config

    result = load(args.dir)
    trials = result.trials
    if trials.empty:
        raise UserError(f"{args.dir}: no trials yet")
    config = read_config(args.dir)
    best = result.best
    state = "finished" if result.finished else "unfinished (resume to continue)"
    print(f"{args.dir}: {len(trials)} trials, {len(result.generations)} generations, {state}")
    if best.get("stop_reason"):
        print(f"stopped by {best['stop_reason']}")
    print("statuses: " + ", ".join(f"{s} {n}" for s, n in trials["status"].value_counts().items()))
    score, metric = _show_score_name(config, best)
    # A minimized objective's own number is `value` (fitness is its negative, what the GA maximizes).
    minimized = best.get("direction") == "minimize" and "value" in trials
    ranked_by = f"{score} (value, lowest first)" if minimized else f"{score} (fitness)"
    genes = _show_gene_columns(trials, config)
    top = _show_top(trials, genes, best.get("trial_id"), args.top)
    if top.empty:
        print("\nno successful trial")
    else:
        first = "the best first" if len(top) == 1 or best.get("trial_id") == top["trial_id"].iloc[0] else ""
        print(f"\ntop {len(top)} trials by {ranked_by}" + (f", {first}" if first else "") + ":")
        print(_show_table(top, genes, args.wide, "value" if minimized else "fitness"))
    if best.get("params"):
        test_name = f"test {metric}" if metric else "test"
        lines = {key: "-".join(map(str, value)) if isinstance(value, list) else str(value)
                 for key, value in best["params"].items()}
        if minimized and isinstance(best.get("value"), (int, float)):
            lines[f"{score} (minimized)"] = f"{best['value']:.6g}"
        elif isinstance(best.get("fitness"), (int, float)):
            lines[score] = f"{best['fitness']:.4f}"
        lines[test_name] = _show_test(result, config)
        if result.best_model_path is not None:
            lines["model"] = str(result.best_model_path)
        print(f"\nbest config (trial {best.get('trial_id')}):")
        width = max(len(k) for k in lines)
        for key, value in lines.items():
            print(f"  {key:<{width}}  {value}")


# `hpsearch show`: the table's default width, and short names of the usual columns.
SHOW_WIDTH = 100
SHOW_NAMES = {"trial_id": "trial", "learning_rate": "lr", "momentum": "mom", "hidden_sizes": "hidden",
              "batch_size": "batch", "weight_decay": "wd", "activation": "act", "lr_schedule": "sched",
              "nesterov": "nest", "n_params": "params", "seconds": "sec"}


def _show_score_name(config, best):
    """(what the fitness is, the metric's name or ""): config.toml's [objective] metric
    (a validation score for the built-in MLP objective of a [dataset]), else best.json's
    metric, else just "score"."""
    objective = config.get("objective")
    metric = (objective.get("metric") if isinstance(objective, dict) else None) or best.get("metric")
    if not isinstance(metric, str) or not metric:
        return "score", ""
    return (f"validation {metric}" if "dataset" in config else metric), metric


def _show_test(result, config):
    """The best trial's test score, or why there is none."""
    test = result.best.get("test_metric")
    if isinstance(test, (int, float)) and math.isfinite(test):
        return f"{test:.4f}"
    if not result.finished:
        return "not computed yet (search unfinished)"
    objective = config.get("objective")
    if "dataset" in config or (isinstance(objective, dict) and objective.get("metric")):
        return "none: the data has no test split"  # the built-in MLP objective
    return "none: not computed by this objective"


def _show_gene_columns(trials, config):
    """The searched genes' columns: config.toml's [space] (constants left out), or the
    columns between the leading ones and the metrics."""
    from .results import METRIC_COLUMNS, PBT_TRAILING_COLUMNS, TRAILING_COLUMNS
    from .space import Space

    table = config.get("space")
    if isinstance(table, dict) and table:
        try:
            return [gene.name for gene in Space.from_config(table) if gene.searchable and gene.name in trials]
        except (ValueError, TypeError):
            pass
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


def _show_top(trials, genes, best_id, k):
    """The k best successful trials, one per distinct genome: best.json's trial first (the
    knee of a Pareto front need not have the highest fitness), then the others by fitness."""
    import pandas as pd

    ok = trials[trials["status"] == "ok"]
    is_best = ok["trial_id"] == best_id
    rest = ok[~is_best]
    if "cached" in rest:
        rest = rest[~rest["cached"].astype(bool)]
    rest = rest.sort_values(["fitness", "trial_id"], ascending=[False, True], kind="stable")
    ordered = pd.concat([ok[is_best], rest])
    if genes:
        ordered = ordered.drop_duplicates(subset=genes)
    return ordered.head(k)


def _show_table(top, genes, wide, score="fitness"):
    """The top trials as text: trial_id, the score column, the genes, n_params and seconds, under short
    names, narrowed to SHOW_WIDTH columns (long text clipped, then the last genes left out,
    with a note); wide: every column, in full."""
    import pandas as pd

    def cell(value, clip, digits=4):  # numbers to 4 significant digits, text clipped to `clip` characters
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}g}"
        text = "-".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
        return text if len(text) <= clip or not isinstance(value, (str, tuple)) else text[:clip - 1] + "~"

    def header(name, clip):
        name = SHOW_NAMES.get(name, name)
        return name if len(name) <= clip else name[:clip // 2] + "~" + name[-(clip - clip // 2 - 1):]

    def render(columns, clip):
        names = [header(name, clip) for name in columns]
        if len(set(names)) < len(names):
            names = [SHOW_NAMES.get(name, name) for name in columns]
        frame = pd.DataFrame({name: [cell(v, clip, 6 if column == score else 4) for v in top[column]]
                              for name, column in zip(names, columns)})
        return frame.to_string(index=False)

    if wide:
        frame = pd.DataFrame({name: [cell(v, 10**6) for v in top[name]] for name in top.columns})
        return frame.to_string(index=False)
    columns = [c for c in ("trial_id", score, *genes, "n_params", "seconds") if c in top]
    left_out = []
    text = render(columns, 40)
    for clip in (12, 8):
        if max(map(len, text.splitlines())) <= SHOW_WIDTH:
            break
        text = render(columns, clip)
    while max(map(len, text.splitlines())) > SHOW_WIDTH and any(c in genes for c in columns):
        dropped = [c for c in columns if c in genes][-1]
        columns.remove(dropped)
        left_out.insert(0, dropped)
        text = render(columns, 8)
    if left_out:
        text += f"\n({len(left_out)} more gene columns; --wide shows every column)"
    return text


def cmd_report(args: argparse.Namespace) -> None:
    from .report import write_report

    print(write_report(args.dir))


def cmd_compare(args: argparse.Namespace) -> None:
    from .compare import compare

    if args.labels is not None and len(args.labels) != len(args.dirs):
        raise UserError(f"--labels: {len(args.labels)} labels for {len(args.dirs)} directories")
    for path in compare(args.dirs, labels=args.labels, out=args.out):
        print(path)


def cmd_export(args: argparse.Namespace) -> None:
    try:
        from .export import to_optuna
    except ImportError as error:
        raise UserError(f"export needs optuna ({error}); pip install 'hpsearch[optuna]'") from None

    study = to_optuna(args.dir, args.optuna, study_name=args.study_name, replace=args.replace)
    print(f"study {study!r} written to {args.optuna}; open it with optuna-dashboard {args.optuna}")


def cmd_datasets(args: argparse.Namespace) -> None:
    from .datasets import dataset_locations

    rows = dataset_locations()
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(f"{row.name:<{width}}  {'yes' if row.available else 'no ':<3}  {row.where}")


def cmd_numerics(args: argparse.Namespace) -> None:
    from . import numerics

    if args.export:
        print(numerics.export_lines(numerics.check_mode("portable")))
        return
    environment = numerics.current()
    print(f"this process: {environment.describe()}")
    print(f"cpu: {environment.cpu} ({environment.machine}; AVX2+FMA {'yes' if environment.avx2_fma else 'no'}, "
          f"AVX-512 {'yes' if environment.avx512 else 'no'})")
    reason = numerics.portable_unavailable()
    print(f"portable kernels: {reason}" if reason else
          f"portable kernels: available ({', '.join(f'{k}={v}' for k, v in numerics.portable_env().items())})")


def _add_run_options(parser):
    parser.add_argument("--n-jobs", type=int, metavar="N", help="parallel trials (-1: all cores)")
    parser.add_argument("--backend", choices=("loky", "threading", "dask"),
                        help="where trials run (default: the config's [parallel] backend, loky)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, tcp://host:8786, or 'local' for a LocalCluster "
                             "of N workers (implies --backend dask)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--no-plots", action="store_true", help="do not write plots at the end")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hpsearch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpsearch", description="Evolutionary hyperparameter search for NumPy MLPs.")
    parser.add_argument("--version", action="version", version=f"hpsearch {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a search from a TOML config",
                              description="Run (or continue) the search a TOML config describes.")
    run.add_argument("config", metavar="CONFIG.toml")
    run.add_argument("--out", metavar="DIR", help="results directory (default: the config's out_dir)")
    run.add_argument("--seed", type=int, metavar="S", help="master seed (overrides the config)")
    _add_run_options(run)
    run.set_defaults(handler=cmd_run)

    resume = commands.add_parser(
        "resume", help="continue an interrupted search, or extend a finished one",
        description="Continue the search saved in DIR from its last complete generation. A finished "
                    "search goes on when a budget option raises the budget that stopped it "
                    "(the new budgets are written into DIR/config.toml).")
    resume.add_argument("dir", metavar="DIR")
    extend = resume.add_argument_group("extend the budgets")
    extend.add_argument("--generations", type=int, metavar="N",
                        help="breeding generations after generation 0 (population-based training: steps)")
    extend.add_argument("--max-evaluations", type=int, metavar="N", help="trainings in all")
    extend.add_argument("--max-training-epochs", type=int, metavar="N", help="training epochs in all")
    extend.add_argument("--time-limit", type=float, metavar="S", help="seconds of search in all")
    extend.add_argument("--patience", type=int, metavar="N", help="generations without improvement")
    _add_run_options(resume)
    resume.set_defaults(handler=cmd_resume)

    plot = commands.add_parser("plot", help="write the plots of a results directory",
                               description="Write PNG plots into DIR/plots/ from DIR's CSV files.")
    plot.add_argument("dir", metavar="DIR")
    plot.set_defaults(handler=cmd_plot)

    show = commands.add_parser("show", help="print the top trials and the best config",
                               description="Print the top trials and the best config of DIR.")
    show.add_argument("dir", metavar="DIR")
    show.add_argument("--top", type=int, default=10, metavar="K", help="how many trials (default 10)")
    show.add_argument("--wide", action="store_true",
                      help=f"every column of trials.csv, in full (default: the genes and a few more, "
                           f"within {SHOW_WIDTH} characters)")
    show.set_defaults(handler=cmd_show)

    report = commands.add_parser("report", help="write DIR/report.html, one self-contained page",
                                 description="Write DIR/report.html: settings, the best, a sortable table "
                                             "of the top trials and every plot, in one file.")
    report.add_argument("dir", metavar="DIR")
    report.set_defaults(handler=cmd_report)

    compare = commands.add_parser("compare", help="compare runs: best so far with bands, and a table",
                                  description="Compare results directories: best-so-far against evaluations "
                                              "and wall time, one band per label (runs with the same label "
                                              "are seeds of one group), and the final scores per group.")
    compare.add_argument("dirs", metavar="DIR", nargs="+")
    compare.add_argument("--labels", nargs="+", metavar="LABEL", help="one label per DIR (default: the run's name)")
    compare.add_argument("--out", metavar="FILE", help="the PNG to write (default comparison.png; an HTML page "
                                                      "goes next to it)")
    compare.set_defaults(handler=cmd_compare)

    export = commands.add_parser("export", help="export a run's trials to an Optuna study",
                                 description="Write every trial of DIR into an Optuna study (needs optuna), "
                                             "for optuna-dashboard or Optuna's plots.")
    export.add_argument("dir", metavar="DIR")
    export.add_argument("--optuna", required=True, metavar="STORAGE", help="an Optuna storage URL, "
                                                                          "e.g. sqlite:///runs.db")
    export.add_argument("--study-name", metavar="NAME", help="default: the results directory's name")
    export.add_argument("--replace", action="store_true", help="replace a study of that name (default: refuse)")
    export.set_defaults(handler=cmd_export)

    datasets = commands.add_parser("datasets", help="list the data sets and where their files are",
                                   description="List the data sets and where their files are.")
    datasets.set_defaults(handler=cmd_datasets)

    numerics = commands.add_parser(
        "numerics", help="print the numeric environment: NumPy, BLAS and their kernels",
        description="Print this machine's numeric environment (what decides a training's last bits) and "
                    "whether the portable kernels ([parallel] numerics = 'portable') can run here.")
    numerics.add_argument("--export", action="store_true",
                          help="print shell lines that set the portable kernels' variables, for the "
                               "workers of a Dask cluster and for Python sessions: eval \"$(hpsearch "
                               "numerics --export)\"")
    numerics.set_defaults(handler=cmd_numerics)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The command line as typed, for a restart (hpsearch.numerics); None when called from Python.
    args.command_line = sys.argv[1:] if argv is None else None
    try:
        args.handler(args)
    except _user_errors() as error:
        if os.environ.get("HPSEARCH_DEBUG"):
            raise  # the full traceback, for reporting a bug
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"hpsearch: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as stop:
        from .run import Terminated

        print("\nterminated" if isinstance(stop, Terminated) else "\ninterrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`hpsearch show DIR | head`): not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
