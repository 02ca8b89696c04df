"""The GA against random search at an equal budget of evaluations, over several seeds.

Both run through the same engine (random search is `algorithm = "random"`: every offspring
is a fresh sample from the space), on the same data splits and the same training objective.
Writes one results directory per run (with its plots and report.html) under
runs/ga_vs_random/, a summary CSV there, and the comparison (hpsearch.compare): the best so
far of each algorithm's seeds against evaluations and wall time, as comparison.png and
comparison.html. The same comparison of any runs: hpsearch compare DIR... --labels ...

    python experiments/ga_vs_random.py [--config experiments/digits.toml] [--evaluations 60] [--seeds 5]
"""

import argparse
import dataclasses
from pathlib import Path

from hpsearch.compare import compare, compare_data
from hpsearch.config import build_search, load_config
from hpsearch.report import write_report
from hpsearch.strategies import RandomSearch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/digits.toml")
    parser.add_argument("--evaluations", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--out", default="runs/ga_vs_random")
    args = parser.parse_args()

    base = load_config(args.config)
    dirs, labels = [], []
    for algorithm in ("ga", "random"):
        for seed in range(args.seeds):
            config = dataclasses.replace(
                base,
                ga=dataclasses.replace(base.ga, generations=10**6),
                breeding=base.breeding if algorithm == "ga" else RandomSearch(),
                budget=dataclasses.replace(base.budget, max_evaluations=args.evaluations, time_limit=None,
                                           patience=None, target_fitness=None))
            out_dir = Path(args.out) / f"{algorithm}-seed{seed}"
            result = build_search(config, out_dir=out_dir, n_jobs=args.n_jobs, seed=seed, quiet=True).run()
            write_report(out_dir)  # its plots, and report.html
            dirs.append(out_dir)
            labels.append(algorithm)
            print(f"{algorithm:6s} seed {seed}: validation {result.best_score:.4f}, "
                  f"test {result.test_score:.4f}", flush=True)

    data = compare_data(dirs, labels)
    runs = data.runs.assign(seed=[seed for _ in ("ga", "random") for seed in range(args.seeds)])
    runs = runs.rename(columns={"label": "algorithm"}).astype({"evaluations": "Int64"})
    runs[["algorithm", "seed", "best_validation", "test", "evaluations", "elapsed"]].to_csv(
        Path(args.out) / "summary.csv", index=False)
    print(f"\n{args.evaluations} evaluations per run, {args.seeds} seeds (mean and standard deviation):")
    print(data.table.set_index("label")[["n", "validation_mean", "validation_std", "test_mean", "test_std"]]
          .to_string(float_format="{:.4f}".format))
    for path in compare(dirs, labels, out=Path(args.out) / "comparison.png"):
        print(path)


if __name__ == "__main__":
    main()
