"""What the commands that run a search (run, resume) share: their options, the log on the
terminal, the run itself with its handling of Ctrl-C, SIGTERM and a full disk, and the
summary printed at the end."""

from __future__ import annotations

import argparse
import errno
import sys

from ..errors import UserError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that runs a search."""
    parser.add_argument("--n-jobs", type=int, metavar="N", help="parallel trials (-1: all cores)")
    parser.add_argument("--backend", choices=("loky", "threading", "dask"),
                        help="where trials run (default: the config's [parallel] backend, loky)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, tcp://host:8786, or 'local' for a LocalCluster "
                             "of N workers (implies --backend dask)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--no-plots", action="store_true", help="do not write plots at the end")


def console(args: argparse.Namespace):
    """Where the library's log lines go: the terminal (--quiet: warnings only)."""
    import logging

    from .. import logs

    logs.console(logging.WARNING if args.quiet else logging.INFO)
    return logs.logger


def saved(search) -> str:
    """What of `search` is on disk, for the message of a run that stopped early."""
    done = getattr(search, "saved_generation", -1)
    return (f"generations 0..{done} are saved in {search.out_dir}" if done >= 0
            else f"generation 0 was not complete; it reruns from the start in {search.out_dir}")


def pin_numerics(search, args: argparse.Namespace) -> None:
    """A portable search started from the command line restarts itself with the portable
    kernels (NumPy has chosen this process's already), before anything is written."""
    if search.parallel.numerics == "portable" and args.command_line is not None:
        from ..numerics import restart_pinned

        restart_pinned(args.command_line)


def run_search(search, plots: bool):
    """Run `search`, then write its plots and report (plots) and print the summary."""
    from ..logs import logger
    from ..run import Terminated

    describe_data(search)
    try:
        result = search.run()
    except KeyboardInterrupt as stop:
        where = search.out_dir
        what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        if where is None:
            print(f"\n{what}: nothing was saved (no results directory)", file=sys.stderr)
        else:
            print(f"\n{what}: {saved(search)}; continue with: hpsearch resume {where}", file=sys.stderr)
        raise SystemExit(EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED) from None
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT) or search.out_dir is None:
            raise
        if len(search.trials.rows):
            print_summary(search.result())
        raise UserError(f"no space left on the device writing {error.filename or search.out_dir}: "
                        f"{saved(search)}; free some space, then: hpsearch resume {search.out_dir}") from None
    if plots and search.out_dir is not None:
        from ..plots import PLOTS_DIR, plot_all
        from ..report import write_report

        logger.info("writing the plots into %s and the report", search.out_dir / PLOTS_DIR)
        plot_all(search.out_dir)
        write_report(search.out_dir, make_plots=False)
    print_summary(result, plots=plots)
    return result


def describe_data(search) -> None:
    """Log what the search trains on (the silent seconds before generation 0 were spent on it)."""
    from ..logs import logger

    data = getattr(search.objective, "data", None)
    if not isinstance(data, dict) or "X_train" not in data:
        return
    sizes = ", ".join(f"{len(data[f'X_{part}'])} {name}" for part, name in
                      (("train", "training"), ("val", "validation"), ("test", "test")) if f"X_{part}" in data)
    classes = getattr(search.objective, "n_outputs", None) if getattr(search.objective, "task", "") == \
        "classification" else None
    logger.info("data: %s samples of %d features%s", sizes, data["X_train"].shape[1],
                f", {classes} classes" if classes else "")


def print_summary(result, plots: bool = False) -> None:
    """The one summary at the end of a run: why it stopped, the best, where the files are and
    what to do next."""
    from ..formatting import fmt

    best = result.best
    if not best.get("params"):
        print("no successful trial")
        return
    where = result.out_dir
    test = best.get("test_metric")
    print(f"best validation score {best['fitness']:.4f}"
          + (f", test score {test:.4f}" if test is not None else "")
          + f" (trial {best['trial_id']}, generation {best['generation']})")
    print("best params: " + ", ".join(f"{k}={fmt(v)}" for k, v in best["params"].items()))
    if best.get("knee"):
        print(f"(the knee of a Pareto front of {best['front_size']} trials, chosen on its one training: "
              + ", ".join(f"{k} {v:.4g}" for k, v in best["objectives"].items()) + "; see pareto.csv)")
    if where is not None:
        print(f"results in {where}" + (f", plots in {where / 'plots'}, report in {where / 'report.html'}"
                                       if plots else ""))
        print(f"next: hpsearch show {where}  |  hpsearch report {where}  |  "
              f"python -c \"import hpsearch; print(hpsearch.load('{where}').trials)\"")
