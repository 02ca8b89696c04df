"""The command line: hpsearch run | resume | plot | show | datasets.

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
    from .run import Terminated

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
        from .plots import plot_all

        plot_all(search.out_dir)
    _print_summary(result)
    return result


def _print_summary(result):
    best = result.best
    if not best.get("params"):
        print("no successful trial")
        return
    test = best.get("test_metric")
    print(f"best validation score {best['fitness']:.4f}"
          + (f", test score {test:.4f}" if test is not None else "")
          + f" (trial {best['trial_id']}, generation {best['generation']})")
    print("best params: " + ", ".join(f"{k}={v}" for k, v in best["params"].items()))
    if best.get("knee"):
        print(f"(the knee of a Pareto front of {best['front_size']} trials: "
              + ", ".join(f"{k} {v:.4g}" for k, v in best["objectives"].items()) + "; see pareto.csv)")
    if result.out_dir is not None:
        print(f"{best.get('trials', len(result.trials))} trials; results in {result.out_dir}")


def cmd_run(args: argparse.Namespace) -> None:
    from .config import build_search, load_config

    config = load_config(args.config)
    search = build_search(config, out_dir=args.out, n_jobs=args.n_jobs, seed=args.seed,
                          backend=args.backend, scheduler=args.scheduler,
                          quiet=args.quiet)
    _run_search(search, plots=not args.no_plots)


def cmd_resume(args: argparse.Namespace) -> None:
    from .config import build_search, load_config
    from .results import CONFIG, is_results_dir

    out_dir = Path(args.dir)
    if not out_dir.is_dir() or not is_results_dir(out_dir):
        raise UserError(f"{out_dir}: not an hpsearch results directory")
    if not (out_dir / CONFIG).exists():  # stopped before writing it: the journal has it
        from .checkpoint import Journal
        from .results import write_config

        header = Journal(out_dir).header()
        if not header or not header.get("config"):
            raise UserError(f"{out_dir}: has no {CONFIG} to resume from")
        write_config(out_dir / CONFIG, header["config"])
    config = load_config(out_dir / CONFIG)
    search = build_search(config, out_dir=out_dir, n_jobs=args.n_jobs, backend=args.backend,
                          scheduler=args.scheduler, quiet=args.quiet)
    _run_search(search, plots=not args.no_plots)


def cmd_plot(args: argparse.Namespace) -> None:
    from .plots import plot_all

    for path in plot_all(args.dir):
        print(path)


def cmd_show(args: argparse.Namespace) -> None:
    import pandas as pd

    from .results import load

    result = load(args.dir)
    trials = result.trials
    if trials.empty:
        raise UserError(f"{args.dir}: no trials yet")
    state = "finished" if result.finished else "unfinished (resume to continue)"
    print(f"{args.dir}: {len(trials)} trials, {len(result.generations)} generations, {state}")
    if result.best.get("stop_reason"):
        print(f"stopped by {result.best['stop_reason']}")
    ok = trials[trials["status"] == "ok"]
    print("statuses: " + ", ".join(f"{s} {n}" for s, n in trials["status"].value_counts().items()))
    hidden = {"status", "cached", "seed", "parents", "reason", "operator", "worker"}
    columns = [c for c in trials.columns if c not in hidden]
    top = ok.sort_values("fitness", ascending=False, kind="stable").drop_duplicates(
        subset=[c for c in columns if c not in ("trial_id", "generation", "seconds")]).head(args.top)
    with pd.option_context("display.width", 200, "display.max_columns", 50,
                           "display.float_format", "{:.4g}".format):
        print(f"\ntop {len(top)} trials by validation score:")
        print(top[columns].to_string(index=False))
    best = result.best
    if best.get("params"):
        print("\nbest config:")
        width = max(len(k) for k in best["params"])
        for key, value in best["params"].items():
            print(f"  {key:<{width}}  {value}")
        print(f"  {'validation':<{width}}  {best['fitness']:.4f}")
        test = best.get("test_metric")
        print(f"  {'test':<{width}}  " + (f"{test:.4f}" if isinstance(test, float) and math.isfinite(test)
                                           else "not computed yet (search unfinished)"))


def cmd_datasets(args: argparse.Namespace) -> None:
    from .datasets import dataset_locations

    rows = dataset_locations()
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(f"{row.name:<{width}}  {'yes' if row.available else 'no ':<3}  {row.where}")


def _add_run_options(parser):
    parser.add_argument("--n-jobs", type=int, metavar="N", help="parallel trials (-1: all cores)")
    parser.add_argument("--backend", choices=("loky", "threading", "dask"),
                        help="where trials run (default: the config's [parallel] backend, loky)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, tcp://host:8786, or 'local' for a LocalCluster "
                             "of N workers (implies --backend dask)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--no-plots", action="store_true", help="do not write plots at the end")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpsearch", description="Evolutionary hyperparameter search for NumPy MLPs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a search from a TOML config",
                              description="Run (or continue) the search a TOML config describes.")
    run.add_argument("config", metavar="CONFIG.toml")
    run.add_argument("--out", metavar="DIR", help="results directory (default: the config's out_dir)")
    run.add_argument("--seed", type=int, metavar="S", help="master seed (overrides the config)")
    _add_run_options(run)
    run.set_defaults(handler=cmd_run)

    resume = commands.add_parser("resume", help="continue an interrupted search",
                                 description="Continue the search saved in DIR (a no-op when it finished).")
    resume.add_argument("dir", metavar="DIR")
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
    show.set_defaults(handler=cmd_show)

    datasets = commands.add_parser("datasets", help="list the data sets and where their files are",
                                   description="List the data sets and where their files are.")
    datasets.set_defaults(handler=cmd_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
