"""The GA against random search at an equal budget of evaluations, over several seeds.

Both run through the same engine (random search is `algorithm = "random"`: every offspring
is a fresh sample from the space), on the same data splits and the same training objective.
Writes one results directory per run (with its plots) under runs/ga_vs_random/, and a
summary CSV there.

    python experiments/ga_vs_random.py [--config experiments/digits.toml] [--evaluations 60] [--seeds 5]
"""

import argparse
import dataclasses
from pathlib import Path

import pandas as pd

from hpsearch.config import build_search, load_config
from hpsearch.plots import plot_all


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/digits.toml")
    parser.add_argument("--evaluations", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--out", default="runs/ga_vs_random")
    args = parser.parse_args()

    base = load_config(args.config)
    rows = []
    for algorithm in ("ga", "random"):
        for seed in range(args.seeds):
            config = dataclasses.replace(
                base,
                ga=dataclasses.replace(base.ga, algorithm=algorithm, generations=10**6),
                budget=dataclasses.replace(base.budget, max_evaluations=args.evaluations, time_limit=None,
                                           patience=None, target_fitness=None))
            out_dir = Path(args.out) / f"{algorithm}-seed{seed}"
            result = build_search(config, out_dir=out_dir, n_jobs=args.n_jobs, seed=seed, quiet=True).run()
            plot_all(out_dir, quiet=True)
            rows.append({"algorithm": algorithm, "seed": seed, "best_validation": result.best_score,
                         "test": result.test_score, "evaluations": result.best["evaluations"]})
            print(f"{algorithm:6s} seed {seed}: validation {result.best_score:.4f}, "
                  f"test {result.test_score:.4f}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(Path(args.out) / "summary.csv", index=False)
    summary = table.groupby("algorithm")[["best_validation", "test"]].agg(["mean", "std"])
    print(f"\n{args.evaluations} evaluations per run, {args.seeds} seeds:")
    print(summary.to_string(float_format="{:.4f}".format))


if __name__ == "__main__":
    main()
