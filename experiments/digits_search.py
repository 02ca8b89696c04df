"""The main job: a GA search over the default six-gene space on scikit-learn's digits.

Trains every genome as a netcore MLP (train split), selects on validation accuracy, and
retrains the best once to report its test accuracy. Results land in runs/digits/.

    python experiments/digits_search.py [--n-jobs N] [--seed S] [--out DIR]
"""

import argparse
import time

from hpsearch import GeneticSearch, default_space, load_dataset, scale_splits, split_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    splits = scale_splits(split_dataset(load_dataset("digits"), val_fraction=0.15,
                                        test_fraction=0.15, seed=args.seed), "fixed")
    start = time.perf_counter()
    search = GeneticSearch(default_space(), splits, population=16, generations=6, elitism=2,
                           n_jobs=args.n_jobs, seed=args.seed, out_dir=args.out, quiet=args.quiet,
                           time_limit=240)
    result = search.run()
    print(f"best validation accuracy {result.best_score:.4f}, test accuracy {result.test_score:.4f}")
    print(f"best params {result.best_params}")
    print(f"{len(result.trials)} trials in {time.perf_counter() - start:.1f} s; results in {args.out}/")


if __name__ == "__main__":
    main()
