"""hpsearch export DIR --optuna STORAGE: a run's trials as an Optuna study (hpsearch.export)."""

from __future__ import annotations

import argparse

from ..errors import UserError

HELP = "export a run's trials to an Optuna study"
DESCRIPTION = ("Write every trial of DIR into an Optuna study (needs optuna), for optuna-dashboard or "
               "Optuna's plots.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR")
    parser.add_argument("--optuna", required=True, metavar="STORAGE",
                        help="an Optuna storage URL, e.g. sqlite:///runs.db")
    parser.add_argument("--study-name", metavar="NAME", help="default: the results directory's name")
    parser.add_argument("--replace", action="store_true", help="replace a study of that name (default: refuse)")


def run(args: argparse.Namespace) -> None:
    try:
        from ..export import to_optuna
    except ImportError as error:
        raise UserError(f"export needs optuna ({error}); pip install 'hpsearch[optuna]'") from None

    study = to_optuna(args.dir, args.optuna, study_name=args.study_name, replace=args.replace)
    print(f"study {study!r} written to {args.optuna}; open it with optuna-dashboard {args.optuna}")
