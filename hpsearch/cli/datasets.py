"""hpsearch datasets: list the data sets and where their files are."""

from __future__ import annotations

import argparse

HELP = "list the data sets and where their files are"
DESCRIPTION = "List the data sets and where their files are."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass  # no arguments


def run(args: argparse.Namespace) -> None:
    from ..datasets import dataset_locations

    rows = dataset_locations()
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(f"{row.name:<{width}}  {'yes' if row.available else 'no ':<3}  {row.where}")
