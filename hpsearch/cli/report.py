"""hpsearch report DIR: write DIR/report.html (hpsearch.report)."""

from __future__ import annotations

import argparse

HELP = "write DIR/report.html, one self-contained page"
DESCRIPTION = ("Write DIR/report.html: settings, the best, a sortable table of the top trials and every plot, "
               "in one file.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR")


def run(args: argparse.Namespace) -> None:
    from ..report import write_report

    print(write_report(args.dir))
