"""Sweep the GA's settings on the search-quality benchmark's digits objective.

Each setting runs at the same budget over several seeds; reported is the mean best validation
score after 20/40/60 evaluations. Tuning seeds and checking seeds are kept apart (--seeds,
--first-seed) so that a setting is not chosen for one lucky seed.

    python benchmarks/tune_ga.py --seeds 5                      # tuning seeds 0..4
    python benchmarks/tune_ga.py --seeds 5 --first-seed 100     # check on unseen seeds
"""

import argparse
import itertools
import sys
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import benchmark_space, make_objective  # noqa: E402
from hpsearch import GeneticSearch  # noqa: E402


def best_after(population, selection, mutation_scale, seed, budget):
    result = GeneticSearch(benchmark_space(), make_objective("digits"), population=population,
                           selection=selection, mutation_scale=mutation_scale,
                           generations=10**6, max_evaluations=budget, seed=seed, quiet=True).run()
    fitness = result.trials.loc[~result.trials["cached"], "fitness"].cummax().to_numpy()
    return {"population": population, "selection": selection, "mutation_scale": mutation_scale,
            "seed": seed, **{f"best_at_{k}": fitness[min(k, len(fitness)) - 1] for k in (20, 40, 60)}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--populations", type=int, nargs="+", default=[6, 8, 10, 14])
    parser.add_argument("--selections", nargs="+", default=["generational", "mu_plus_lambda"])
    parser.add_argument("--mutation-scales", type=float, nargs="+", default=[0.15])
    args = parser.parse_args()
    grid = itertools.product(args.populations, args.selections, args.mutation_scales,
                             range(args.first_seed, args.first_seed + args.seeds))
    rows = Parallel(n_jobs=2)(delayed(best_after)(*setting, args.budget) for setting in grid)
    table = pd.DataFrame(rows).groupby(["population", "selection", "mutation_scale"])
    print(table[["best_at_20", "best_at_40", "best_at_60"]].agg(["mean", "std"]).round(4).to_string())


if __name__ == "__main__":
    main()
