"""Multi-objective search side by side: our NSGA-II against Optuna's NSGAIISampler.

Both search the same space on digits for validation accuracy (maximised) against parameter
count (minimised), with the same netcore training objective (identical parameters train
identically: the training seed is derived from the parameters), for the same number of
trainings, over several seeds. Reported per method and seed: the hypervolume of the Pareto
front of all its trials against a fixed reference point, the front's size, its best
accuracy, and wall time; then the mean hypervolume of each method and their ratio.

Hypervolume: the area of the (accuracy, parameters) plane that the front dominates and the
reference point (accuracy 0.8, 20,000 parameters) bounds, divided by the area of the box
between the reference and the ideal point (accuracy 1, 0 parameters): 1.0 would be a
perfect model with no parameters. Both objectives are deterministic, so the figures do not
depend on the machine or --n-jobs (only the wall times do).

    python benchmarks/bench_multiobjective.py                  # 3 seeds, 160 trainings each
    python benchmarks/bench_multiobjective.py --seeds 5 --n-jobs 4
    python benchmarks/bench_multiobjective.py --quick          # smoke run
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import make_objective
from hpsearch import GeneticSearch, pareto, trial_seed
from hpsearch.space import FloatGene, IntGene, LayersGene, Space
from hpsearch.trial import run_trial
from search_methods import _suggest

OBJECTIVES = ["val_metric", "n_params"]
WEIGHTS = pareto.weights(OBJECTIVES)
REFERENCE = (0.8, 20_000)
IDEAL = (1.0, 0)


def benchmark_space():
    """experiments/multiobjective_digits.toml's space."""
    return Space([
        FloatGene("learning_rate", 1e-3, 0.5, log=True),
        FloatGene("momentum", 0.0, 0.95),
        LayersGene("hidden_sizes", 1, 2, 4, 256, log=True),
        IntGene("batch_size", 16, 128, power_of_two=True),
        IntGene("epochs", 5, 30),
    ])


def normalised_hypervolume(values):
    box = (IDEAL[0] - REFERENCE[0]) * (REFERENCE[1] - IDEAL[1])
    return pareto.hypervolume(values, WEIGHTS, REFERENCE) / box


def run_ours(space, objective, budget, population, seed):
    """Our NSGA-II: max_evaluations counts trainings (a repeated genome is a cache hit). The
    front is of each genome's first training: the knee's confirmation trainings (3 of the
    budget, spent on its honest estimate) are retrainings of a point already there, and a
    lucky one must not count as a new point."""
    start = time.perf_counter()
    result = GeneticSearch(space, objective, population=population, generations=10**6,
                           max_evaluations=budget, tournament_size=2, objectives=OBJECTIVES,
                           seed=seed, n_jobs=1, in_process=True, quiet=True).run()
    trained = result.trials[~result.trials["cached"].astype(bool)]
    first = trained[trained["seed_index"] == 0]
    values = [pareto.objective_values(row, OBJECTIVES) for row in first.to_dict("records")]
    return values, time.perf_counter() - start, len(trained)


def run_optuna(space, objective, budget, population, seed):
    """Optuna's NSGAIISampler, ask and tell, one training per trial; failures are told the
    worst values (-inf accuracy, +inf parameters), as our search records them."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    values = []
    for _ in range(budget):
        trial = study.ask()
        params = _suggest(trial, space)
        outcome = run_trial(objective, params, trial_seed(seed, space.key(params)))
        values.append(pareto.objective_values(outcome, OBJECTIVES))
        study.tell(trial, list(values[-1]))
    return values, time.perf_counter() - start, len(values)


METHODS = {"hpsearch nsga2": run_ours, "optuna nsga2": run_optuna}


def one_run(method, seed, budget, population):
    values, seconds, trainings = METHODS[method](benchmark_space(), make_objective("digits"), budget, population,
                                                 seed)
    values = np.array(values, dtype=float)
    front = values[pareto.nondominated(values, WEIGHTS)]
    return {"method": method, "seed": seed, "trainings": trainings,
            "hypervolume": normalised_hypervolume(front), "front_size": len(front),
            "best_accuracy": front[:, 0].max(), "smallest_params": front[:, 1].min(),
            "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=160, help="trainings per run")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--n-jobs", type=int, default=1, help="runs side by side (results do not change)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 24 trainings")
    parser.add_argument("--out", type=Path, help="also write the per-run table as CSV here")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.budget, args.population = 1, 24, 8
    try:
        import optuna  # noqa: F401
    except ImportError:
        print("skipped: optuna nsga2 (optuna not installed; pip install '.[bench]')")
        methods = ["hpsearch nsga2"]
    else:
        methods = list(METHODS)

    runs = Parallel(n_jobs=args.n_jobs)(delayed(one_run)(method, seed, args.budget, args.population)
                                        for seed in range(args.seeds) for method in methods)
    table = pd.DataFrame(runs)
    if args.out:
        table.to_csv(args.out, index=False)
    print(f"digits, accuracy vs parameters; {args.budget} trainings per run, population "
          f"{args.population}; hypervolume reference {REFERENCE}, normalised to the box up to "
          f"the ideal {IDEAL}\n")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    summary = table.groupby("method", sort=False).agg(
        hypervolume=("hypervolume", "mean"), hv_std=("hypervolume", "std"),
        front_size=("front_size", "mean"), seconds=("seconds", "mean"))
    print("\nmean over seeds:")
    with pd.option_context("display.float_format", "{:.4f}".format):
        print(summary.to_string())
    if len(methods) == 2:
        ours, theirs = summary["hypervolume"]
        wins = sum(a > b for a, b in zip(table[table["method"] == methods[0]]["hypervolume"],
                                         table[table["method"] == methods[1]]["hypervolume"]))
        print(f"\nhypervolume hpsearch / optuna = {ours / theirs:.3f} "
              f"(hpsearch larger in {wins} of {args.seeds} seeds)")


if __name__ == "__main__":
    main()
