"""Compare GA settings on the search-quality benchmark's digits objective.

Each setting runs at the same budget over several seeds; reported is the mean best validation
score after 20/40/60 evaluations, and the per-seed scores at the end. Tuning seeds and
checking seeds are kept apart (--seeds, --first-seed) so that a setting is not chosen for one
lucky seed. A setting is GeneticSearch keywords, comma-separated:

    python benchmarks/tune_ga.py --seeds 10 --settings population=10 \\
        population=8,initial_size=16,tournament_size=2 algorithm=random,population=10
    python benchmarks/tune_ga.py --seeds 5 --first-seed 200 --settings ...   # unseen seeds

The GA's tuned settings (search_methods.TUNED_GA) were chosen so over seeds 0-4 and 100-104
from 13 settings (population 6-10, initial_size, tournament_size, mutation_scale).
"""

import argparse
import ast
import sys
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import benchmark_space, make_objective
from hpsearch import GeneticSearch

CHECKPOINTS = (20, 40, 60)


def parse_setting(text):
    """'population=8,initial_size=16' -> {"population": 8, "initial_size": 16}."""
    setting = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        try:
            setting[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            setting[key.strip()] = value.strip()  # a bare word: a string setting
    return setting


def best_after(setting, seed, budget):
    result = GeneticSearch(benchmark_space(), make_objective("digits"), generations=10**6,
                           max_evaluations=budget, seed=seed, quiet=True, **parse_setting(setting)).run()
    fitness = result.trials.loc[~result.trials["cached"], "fitness"].cummax().to_numpy()
    return {"setting": setting, "seed": seed,
            **{f"best_at_{k}": fitness[min(k, len(fitness)) - 1] for k in CHECKPOINTS if k <= budget}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    for setting in args.settings:
        GeneticSearch(benchmark_space(), lambda params, seed: {"fitness": 0.0}, **parse_setting(setting))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = Parallel(n_jobs=args.n_jobs)(delayed(best_after)(setting, seed, args.budget)
                                        for setting in args.settings for seed in seeds)
    table = pd.DataFrame(rows)
    columns = [c for c in table.columns if c.startswith("best_at_")]
    print(table.groupby("setting", sort=False)[columns].agg(["mean", "std"]).round(4).to_string())
    print()
    print(table.pivot(index="seed", columns="setting", values=columns[-1]).round(4).to_string())


if __name__ == "__main__":
    main()
