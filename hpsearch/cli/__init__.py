"""The command line: hpsearch run | resume | show | plot | report | compare | export | datasets | numerics.

Each command is a module of this package with its arguments next to its action:
`add_arguments(parser)`, `run(args)`, and HELP and DESCRIPTION for the help pages.

A user error (a UserError: a bad config, a missing file, an unknown data set, a results
directory that is not ours) prints one line naming the problem and exits with status 2, never
a traceback (set HPSEARCH_DEBUG=1 to see one). Any other exception is a bug and shows its
traceback. Ctrl-C (exit 130) and SIGTERM (exit 143) stop after the last complete generation,
which is already saved: `resume` goes on. A full disk is reported in one line, after the summary.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import UserError
from . import compare, datasets, export, numerics, plot, report, resume, run, show
from .common import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USER_ERROR, print_summary

__all__ = ["COMMANDS", "EXIT_INTERRUPTED", "EXIT_TERMINATED", "EXIT_USER_ERROR", "UserError", "build_parser",
           "main", "print_summary"]

# Each command's name and module, in the order of the help page.
COMMANDS = {"run": run, "resume": resume, "plot": plot, "show": show, "report": report, "compare": compare,
            "export": export, "datasets": datasets, "numerics": numerics}


def _user_errors() -> tuple[type[BaseException], ...]:
    """What the command line reports in one line: UserError (ConfigError is one), a search
    that refuses to resume or run (SearchError), and the file and network problems a person
    fixes (a missing or unreadable file, an unreachable Dask scheduler)."""
    from ..run import SearchError

    return (UserError, SearchError, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError,
            ConnectionError)


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
    for name, module in COMMANDS.items():
        command = commands.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); return the exit status."""
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
        from ..run import Terminated

        print("\nterminated" if isinstance(stop, Terminated) else "\ninterrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`hpsearch show DIR | head`): not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
