"""hpsearch compare DIR...: several runs side by side (hpsearch.compare)."""

from __future__ import annotations

import argparse

from ..errors import UserError

HELP = "compare runs: best so far with bands, and a table"
DESCRIPTION = ("Compare results directories: best-so-far against evaluations and wall time, one band per label "
               "(runs with the same label are seeds of one group), and the final scores per group.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", metavar="DIR", nargs="+")
    parser.add_argument("--labels", nargs="+", metavar="LABEL", help="one label per DIR (default: the run's name)")
    parser.add_argument("--out", metavar="FILE",
                        help="the PNG to write (default comparison.png; an HTML page goes next to it)")


def run(args: argparse.Namespace) -> None:
    from ..compare import compare

    if args.labels is not None and len(args.labels) != len(args.dirs):
        raise UserError(f"--labels: {len(args.labels)} labels for {len(args.dirs)} directories")
    for path in compare(args.dirs, labels=args.labels, out=args.out):
        print(path)
