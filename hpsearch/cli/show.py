"""hpsearch show DIR: print the top trials and the best config (hpsearch.summary writes them)."""

from __future__ import annotations

import argparse

HELP = "print the top trials and the best config"
DESCRIPTION = "Print the top trials and the best config of DIR."
WIDTH = 100  # characters: the trials table fits a usual terminal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR")
    parser.add_argument("--top", type=int, default=10, metavar="K", help="how many trials (default 10)")
    parser.add_argument("--wide", action="store_true",
                        help=f"every column of trials.csv, in full (default: the genes and a few more, "
                             f"within {WIDTH} characters)")


def run(args: argparse.Namespace) -> None:
    from ..summary import show_text

    print(show_text(args.dir, top=args.top, wide=args.wide, width=WIDTH))
