"""hpsearch plot DIR: write the plots of a results directory into DIR/plots/."""

from __future__ import annotations

import argparse

HELP = "write the plots of a results directory"
DESCRIPTION = "Write PNG plots into DIR/plots/ from DIR's CSV files."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR")


def run(args: argparse.Namespace) -> None:
    from ..plots import plot_all

    for path in plot_all(args.dir):
        print(path)
