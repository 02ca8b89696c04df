"""hpsearch run CONFIG.toml: run (or continue) the search a TOML config describes."""

from __future__ import annotations

import argparse

from .common import add_run_options, console, pin_numerics, run_search

HELP = "run a search from a TOML config"
DESCRIPTION = "Run (or continue) the search a TOML config describes."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.toml")
    parser.add_argument("--out", metavar="DIR", help="results directory (default: the config's out_dir)")
    parser.add_argument("--seed", type=int, metavar="S", help="master seed (overrides the config)")
    add_run_options(parser)


def run(args: argparse.Namespace) -> None:
    from ..config import build_search, load_config

    console(args)
    config = load_config(args.config)
    search = build_search(config, out_dir=args.out, n_jobs=args.n_jobs, seed=args.seed,
                          backend=args.backend, scheduler=args.scheduler, quiet=args.quiet)
    pin_numerics(search, args)
    run_search(search, plots=not args.no_plots)
