"""Population-based training against a fixed-hyperparameter GA at equal compute, side by side.

Both search the same genes on the same data splits with the same netcore objective, over
several seeds. PBT trains `population` members for `steps` x `epochs_per_step` epochs each,
copying and perturbing hyperparameters between steps; the GA trains as many genomes
(population/2 in each of 2 generations) for the same number of epochs each, every genome
with one learning rate, momentum and batch size for its whole training. So both train the
same number of networks for the same number of epochs (the GA fewer when its cache repeats
a genome or a training diverges; the table counts the epochs each really trained).

Reported per task and seed: best validation score, its test score, epochs trained and wall
time of each method; then means and the ratios PBT / GA.

    python benchmarks/bench_pbt.py                 # digits and the decaying-rate task, 5 seeds
    python benchmarks/bench_pbt.py --seeds 10 --tasks digits
    python benchmarks/bench_pbt.py --quick         # smoke run
"""

import argparse
import time

import numpy as np
import pandas as pd

from hpsearch import GeneticSearch, MLPObjective, PopulationBasedTraining
from hpsearch.datasets import Splits, load_dataset, scale_splits, split_dataset
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space


def digits_task():
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    genes = [FloatGene("learning_rate", 1e-3, 1.0, log=True), FloatGene("momentum", 0.0, 0.95),
             IntGene("batch_size", 16, 128, power_of_two=True),
             LayersGene("hidden_sizes", 1, 2, 16, 128, log=True),
             CategoricalGene("init", ("he_uniform", "xavier_uniform"))]
    return MLPObjective(splits), genes


def decay_task():
    """Noisy nonlinear regression (tests/hpsearch/pbt_objectives.py's): SGD at a high rate
    progresses fast but ends far from the bottom, at a low rate it is too slow."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 8)).astype(np.float32)
    y = np.sin(X @ rng.normal(size=8) / 2) + 0.5 * X[:, 0] * X[:, 1] + rng.normal(scale=0.5, size=1000)
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    splits = Splits(X[:600], y[:600], X[600:800], y[600:800], X[800:], y[800:], task="regression")
    genes = [FloatGene("learning_rate", 1e-4, 1.0, log=True), ConstantGene("momentum", 0.9),
             ConstantGene("hidden_sizes", (32,)), ConstantGene("batch_size", 8)]
    return MLPObjective(splits, task="regression"), genes


TASKS = {"digits": digits_task, "decay": decay_task}


def compare(task, seed, population, steps, epochs_per_step):
    objective, genes = TASKS[task]()
    rows = []
    start = time.perf_counter()
    pbt = PopulationBasedTraining(Space(genes), objective, population=population, steps=steps,
                                  epochs_per_step=epochs_per_step, quantile=0.25, mutation_indpb=0.5,
                                  mutation_scale=0.1, seed=seed, quiet=True).run()
    rows.append({"task": task, "seed": seed, "method": "pbt", "validation": pbt.best_score,
                 "test": pbt.test_score, "epochs": int(pbt.trials["epochs_run"].sum()),
                 "seconds": time.perf_counter() - start})
    start = time.perf_counter()
    epochs = ConstantGene("epochs", steps * epochs_per_step)
    ga = GeneticSearch(Space([*genes, epochs]), objective, population=population // 2, generations=1,
                       elitism=0, seed=seed, quiet=True).run()
    trained = ga.trials[~ga.trials["cached"].astype(bool)]
    rows.append({"task": task, "seed": seed, "method": "ga", "validation": ga.best_score,
                 "test": ga.test_score, "epochs": int(trained["epochs_run"].sum()),
                 "seconds": time.perf_counter() - start})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epochs-per-step", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 4 members, 3 steps")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.population, args.steps = 2, 4, 3

    rows = []
    for task in args.tasks:
        for seed in range(args.seeds):
            rows += compare(task, seed, args.population, args.steps, args.epochs_per_step)
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print(frame.to_string(index=False))
        wide = frame.pivot_table(index=["task", "seed"], columns="method",
                                 values=["validation", "test", "epochs", "seconds"])
        summary = []
        for task, per_seed in wide.groupby(level="task"):
            wins = (per_seed["validation"]["pbt"] > per_seed["validation"]["ga"]).sum()
            means = per_seed.mean()
            summary.append({
                "task": task, "seeds": len(per_seed),
                "pbt validation": means["validation"]["pbt"], "ga validation": means["validation"]["ga"],
                "pbt test": means["test"]["pbt"], "ga test": means["test"]["ga"],
                "pbt wins (validation)": f"{wins}/{len(per_seed)}",
                "epochs pbt/ga": means["epochs"]["pbt"] / means["epochs"]["ga"],
                "time pbt/ga": means["seconds"]["pbt"] / means["seconds"]["ga"],
            })
        print(f"\nmeans over seeds ({args.population} members x {args.steps} steps x "
              f"{args.epochs_per_step} epochs against a GA of {args.population} trainings of "
              f"{args.steps * args.epochs_per_step} epochs):")
        print(pd.DataFrame(summary).to_string(index=False))


if __name__ == "__main__":
    main()
