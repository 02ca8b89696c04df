"""The winner's curse: each method's best genome, retrained with new training seeds.

A search reports the best validation score it saw, which is partly the luck of one training.
Here every method runs `--budget` evaluations as in bench_search.py, then its best genome is
trained again `--retrains` times with training seeds no search used, and scored on the
validation and the test split. Reported per method: the score the search found, the
retrained mean (what a user who deploys that genome can expect) and the training noise (the
standard deviation over the retrainings); then paired differences against TPE and random.

    python benchmarks/bench_retrain.py --datasets fashion-mnist-5k --seeds 10 --first-seed 10
    python benchmarks/bench_retrain.py --quick
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_methods
from common import DATASETS, RESULTS, benchmark_space, make_objective

RETRAIN_SEED = 777_000  # small training seeds: a search's come from trial_seed's 63-bit hashes


def best_genome(dataset, method, budget, seed):
    """(method, seed, best validation score found, best params) of one search."""
    run = getattr(search_methods, f"run_{method.replace('-', '_')}")(
        benchmark_space(dataset), make_objective(dataset), budget, seed)
    return method, seed, run.best_fitness, run.best_params


def retrain(dataset, method, seed, params, k):
    objective, training_seed = make_objective(dataset), RETRAIN_SEED + 100 * seed + k
    return {"method": method, "seed": seed, "retrain": k,
            "validation": objective(params, training_seed)["fitness"],
            "test": objective.test_score(params, training_seed)["test_metric"]}


def summarise(found, retrained):
    """One row per method and seed: found, the retrained means and the training noise."""
    per_seed = retrained.groupby(["method", "seed"]).agg(
        validation=("validation", "mean"), noise=("validation", "std"), test=("test", "mean"))
    return found.set_index(["method", "seed"]).join(per_seed).reset_index()


def paired_lines(table, references=("tpe", "random")):
    lines = []
    for reference in references:
        if reference not in set(table["method"]):
            continue
        ref = table[table["method"] == reference].set_index("seed")
        for method in sorted(set(table["method"]) - set(references)):
            rows = table[table["method"] == method].set_index("seed")
            for column in ("found", "validation", "test"):
                d = (rows[column] - ref[column]).dropna()
                se = d.std() / len(d) ** 0.5 if len(d) > 1 else float("nan")
                lines.append(f"{method} - {reference} {column}: {d.mean():+.4f} ± {se:.4f} "
                             f"({(d > 0).sum()}/{(d == 0).sum()}/{(d < 0).sum()})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["fashion-mnist-5k"], choices=sorted(DATASETS))
    parser.add_argument("--methods", nargs="+", default=["ga", "tpe", "random"])
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--retrains", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: digits, 6 evaluations, 1 seed, 2 retrains")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.budget, args.seeds, args.retrains = ["digits"], 6, 1, 2
    unknown = sorted(set(args.methods) - set(search_methods.METHODS))
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(search_methods.METHODS)})")
    available, skipped = search_methods.available_methods()
    for name, why in skipped.items():
        if name in args.methods:
            print(f"skipped: {name} ({why})")
    methods = [m for m in args.methods if m in available]
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for dataset in args.datasets:
        runs = Parallel(n_jobs=args.n_jobs)(delayed(best_genome)(dataset, m, args.budget, s)
                                            for m in methods for s in seeds)
        retrained = pd.DataFrame(Parallel(n_jobs=args.n_jobs)(
            delayed(retrain)(dataset, m, s, params, k) for m, s, _, params in runs for k in range(args.retrains)))
        found = pd.DataFrame([(m, s, f) for m, s, f, _ in runs], columns=["method", "seed", "found"])
        table = summarise(found, retrained)
        name = "quick" if args.quick else f"{dataset}_{args.budget}"
        table.to_csv(args.out / f"retrained_{name}.csv", index=False)
        print(f"{dataset}: {args.budget} evaluations x {args.seeds} seeds, best genome retrained {args.retrains} times")
        print(table.groupby("method")[["found", "validation", "noise", "test"]].mean().to_string())
        print("\n".join(paired_lines(table)))


if __name__ == "__main__":
    main()
