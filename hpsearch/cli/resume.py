"""hpsearch resume DIR: continue an interrupted search, or extend a finished one's budgets."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from ..errors import UserError
from .common import add_run_options, console, pin_numerics, run_search

HELP = "continue an interrupted search, or extend a finished one"
DESCRIPTION = ("Continue the search saved in DIR from its last complete generation. A finished search goes on "
               "when a budget option raises the budget that stopped it (the new budgets are written into "
               "DIR/config.toml).")

# Budget options that extend a search: (option, its [table] key in GA and PBT mode).
EXTENSIONS = (("generations", ("search", "generations"), ("search", "steps")),
              ("max_evaluations", ("budget", "max_evaluations"), None),
              ("max_training_epochs", ("budget", "max_training_epochs"), None),
              ("time_limit", ("budget", "time_limit"), ("budget", "time_limit")),
              ("patience", ("budget", "patience"), ("budget", "patience")))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR")
    extend = parser.add_argument_group("extend the budgets")
    extend.add_argument("--generations", type=int, metavar="N",
                        help="breeding generations after generation 0 (population-based training: steps)")
    extend.add_argument("--max-evaluations", type=int, metavar="N", help="trainings in all")
    extend.add_argument("--max-training-epochs", type=int, metavar="N", help="training epochs in all")
    extend.add_argument("--time-limit", type=float, metavar="S", help="seconds of search in all")
    extend.add_argument("--patience", type=int, metavar="N", help="generations without improvement")
    add_run_options(parser)


def run(args: argparse.Namespace) -> None:
    from ..results import BEST, CONFIG, is_results_dir

    out_dir = Path(args.dir)
    if not out_dir.is_dir() or not is_results_dir(out_dir):
        raise UserError(f"{out_dir}: not an hpsearch results directory")
    extended = {name: getattr(args, name) for name, *_ in EXTENSIONS if getattr(args, name) is not None}
    best = json.loads((out_dir / BEST).read_text()) if (out_dir / BEST).exists() else {}
    if best.get("finished") and not extended:
        print(f"{out_dir}: already finished ({best.get('stop_reason', 'its budget is spent')}); "
              f"to search on, extend a budget: hpsearch resume {out_dir} --generations N "
              f"(or --max-evaluations, --max-training-epochs, --time-limit, --patience)")
        return
    if not (out_dir / CONFIG).exists():  # stopped before writing it: the journal has it
        from ..checkpoint import Journal
        from ..results import write_config

        header = Journal(out_dir).header()
        if not header or not header.get("config"):
            raise UserError(f"{out_dir}: has no {CONFIG} to resume from")
        write_config(out_dir / CONFIG, header["config"])
    try:
        mapping = tomllib.loads((out_dir / CONFIG).read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{out_dir / CONFIG}: invalid TOML: {error}") from None
    if "dataset" not in mapping:
        raise UserError(f"{out_dir}: was started from Python with its own objective, which {CONFIG} cannot "
                        f"rebuild; resume it by running the same GeneticSearch(..., out_dir=...).run() again")
    pbt = mapping.get("search", {}).get("mode") == "pbt"
    for name, ga_key, pbt_key in EXTENSIONS:
        if name in extended:
            key = pbt_key if pbt else ga_key
            if key is None:
                raise UserError(f"--{name.replace('_', '-')}: not a budget of population-based training")
            mapping.setdefault(key[0], {})[key[1]] = extended[name]
    from ..config import build_search, parse_config

    console(args)
    config = parse_config(mapping, source=out_dir / CONFIG)
    search = build_search(config, out_dir=out_dir, n_jobs=args.n_jobs, backend=args.backend,
                          scheduler=args.scheduler, quiet=args.quiet)
    pin_numerics(search, args)
    run_search(search, plots=not args.no_plots)
