"""Multi-fidelity GA against the plain GA: final validation score at a fraction of the epochs.

For each seed the plain GA runs to --evaluations trainings; the multi-fidelity GA (rungs,
reduction factor and pruner as given) then runs with a budget of --epoch-fraction of the
training epochs that the plain run used, same space, data, population and seed, and a
generation 0 of population × reduction factor genomes (screening them at rung 0 is cheap;
--control also runs the plain GA so, to tell that setting's effect from the rungs'). Reported
per data set: best validation and test score (mean ± std over seeds), the epochs and
trainings each used, and the ratios.

    python benchmarks/bench_fidelity.py                                  # digits, 5 seeds
    python benchmarks/bench_fidelity.py --datasets fashion-mnist-10k --evaluations 40
    python benchmarks/bench_fidelity.py --quick                          # smoke run

Writes benchmarks/results/fidelity_summary.csv (one row per data set, method and seed; the
rows of data sets and seeds not run this time are kept) and regenerates RESULTS.md.
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FAST, PLAIN, RESULTS, benchmark_space, make_objective, write_results_md
from common import fidelity_report as report  # the summary's tables and gaps, as in RESULTS.md
from hpsearch import Fidelity, GeneticSearch


def run_pair(dataset, seed, evaluations, fraction, population, fidelity, plain_row=None,
             initial_size=None, control=False):
    """The plain GA's and the multi-fidelity GA's summary rows for one data set and seed;
    plain_row: the plain GA's row from an earlier run (it is deterministic) to reuse;
    initial_size: the multi-fidelity GA's generation 0 (see GeneticSearch); control: also
    run the plain GA with that generation 0, to tell its effect from the rungs'."""
    objective = make_objective(dataset)
    common = dict(population=population, generations=10**6, seed=seed, quiet=True)

    def plain(method, **settings):
        start = time.perf_counter()
        result = GeneticSearch(benchmark_space(), objective, max_evaluations=evaluations,
                               **common, **settings).run()
        return _row(dataset, seed, method, result, time.perf_counter() - start)

    rows = [plain_row if plain_row is not None else plain(PLAIN)]
    budget = max(1, int(fraction * rows[0]["epochs"]))
    start = time.perf_counter()
    fast = GeneticSearch(benchmark_space(), objective, fidelity=fidelity, initial_size=initial_size,
                         max_training_epochs=budget, **common).run()
    rows.append(_row(dataset, seed, FAST, fast, time.perf_counter() - start))
    if control:
        rows.append(plain(f"{PLAIN}, initial_size {initial_size}", initial_size=initial_size))
    return rows


def _row(dataset, seed, method, result, seconds):
    trained = result.trials[~result.trials["cached"]]
    return {"dataset": dataset, "seed": seed, "method": method,
            "best_validation": result.best_score, "test": result.test_score,
            "epochs": int(trained["epochs_trained"].sum()), "trainings": len(trained),
            "full_trainings": int((trained["status"] == "ok").sum()), "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--evaluations", type=int, default=100, help="the plain GA's trainings")
    parser.add_argument("--epoch-fraction", type=float, default=0.4)
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--initial-size", type=int, default=None,
                        help="the multi-fidelity GA's generation 0 (default: population × reduction factor)")
    parser.add_argument("--control", action="store_true",
                        help="also run the plain GA with --initial-size")
    parser.add_argument("--rungs", type=int, default=3)
    parser.add_argument("--reduction-factor", type=float, default=3.0)
    parser.add_argument("--pruner", default="none")
    parser.add_argument("--n-jobs", type=int, default=2, help="seeds in parallel (one core each)")
    parser.add_argument("--reuse-plain", action="store_true",
                        help="take the plain GA's rows from the summary CSV in --out where it "
                             "ran with the same trainings (its results do not change between runs)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 evaluations, 1 seed")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.quick:
        args.evaluations, args.seeds = 20, 1
    fidelity = Fidelity(rungs=args.rungs, reduction_factor=args.reduction_factor, pruner=args.pruner)
    if args.initial_size is None:
        args.initial_size = round(args.population * args.reduction_factor)
    print(f"{fidelity}, initial_size {args.initial_size}; budget {args.epoch_fraction:.0%} of the "
          f"plain GA's epochs ({args.evaluations} trainings, population {args.population})\n")
    out = Path(args.out)
    path = out / ("fidelity_quick_summary.csv" if args.quick else "fidelity_summary.csv")
    earlier = {}
    if args.reuse_plain and path.exists():
        old = pd.read_csv(path)
        old = old[(old["method"] == PLAIN) & (old["trainings"] == args.evaluations)]
        earlier = {(row["dataset"], row["seed"]): row for row in old.to_dict("records")}
    jobs = [(d, s) for d in args.datasets for s in range(args.first_seed, args.first_seed + args.seeds)]
    runs = Parallel(n_jobs=args.n_jobs)(
        delayed(run_pair)(d, s, args.evaluations, args.epoch_fraction, args.population, fidelity,
                          earlier.get((d, s)), args.initial_size, args.control)
        for d, s in jobs)
    summary = pd.DataFrame([row for pair in runs for row in pair])
    print("\n".join(report(summary)))
    out.mkdir(parents=True, exist_ok=True)
    if path.exists():  # keep the rows of the data sets and seeds not run this time
        old = pd.read_csv(path)
        rerun = pd.MultiIndex.from_frame(old[["dataset", "seed"]]).isin(jobs)
        summary = pd.concat([old[~rerun], summary], ignore_index=True)
    summary.to_csv(path, index=False)
    if out == RESULTS and not args.quick:
        write_results_md()


if __name__ == "__main__":
    main()
