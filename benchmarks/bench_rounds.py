"""Search quality in rounds of parallel evaluations, as a cluster user sees it.

Every method proposes 8 configurations at a time, all 8 train, then it proposes the next 8:
our default GA (8 new genomes a generation; generation 0 in whole rounds), Optuna's TPE
asking 8 trials per round with constant_liar=True (the trials still running count as
failures-in-waiting, so the 8 differ), and random search. Reported: the best validation score
after 5, 10 and 20 rounds, mean ± standard error over seeds, and the seeds won against TPE.

    python benchmarks/bench_rounds.py --datasets digits --seeds 10 --first-seed 100
    python benchmarks/bench_rounds.py --quick
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATASETS, RESULTS, benchmark_space, make_objective, rounds_markdown
from hpsearch import GeneticSearch, trial_seed
from hpsearch.settings import AUTO_OFFSPRING
from hpsearch.trial import run_trial
from search_methods import _suggest

ROUND = AUTO_OFFSPRING  # evaluations per round: 8
ROUNDS = (5, 10, 20)


def ga_rounds(space, objective, rounds, seed):
    """Best score after `rounds` rounds of a GA run sized to them (8 x rounds evaluations):
    generation 0 takes its size / 8 rounds (rounded up), every later generation one."""
    result = GeneticSearch(space, objective, max_evaluations=ROUND * rounds, seed=seed, n_jobs=1, in_process=True,
                           quiet=True).run()
    trained = result.trials[~result.trials["cached"].astype(bool)]
    firsts = trained.groupby("generation").cumcount()
    size0 = int((trained["generation"] == 0).sum())
    round_of = np.where(trained["generation"] == 0, firsts // ROUND,
                        math.ceil(size0 / ROUND) + trained["generation"] - 1)
    in_time = trained["fitness"].fillna(-math.inf).to_numpy()[round_of < rounds]  # failed: NaN
    return float(in_time.max()) if in_time.size else -math.inf


def tpe_rounds(space, objective, rounds, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True))
    best = []
    for _ in range(rounds):
        trials = [study.ask() for _ in range(ROUND)]  # all 8 asked before any is told
        for trial in trials:
            params = _suggest(trial, space)
            study.tell(trial, run_trial(objective, params, trial_seed(seed, space.key(params)))["fitness"])
        best.append(max(t.value for t in study.trials))
    return best


def random_rounds(space, objective, rounds, seed):
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(rounds * ROUND):
        params = space.sample(rng)
        scores.append(run_trial(objective, params, trial_seed(seed, space.key(params)))["fitness"])
    return list(np.maximum.accumulate(np.array(scores).reshape(rounds, ROUND).max(axis=1)))


def one(method, dataset, rounds, seed):
    space, objective = benchmark_space(dataset), make_objective(dataset)
    if method == "ga":  # its settings follow the budget: a run per number of rounds
        best = {r: ga_rounds(space, objective, r, seed) for r in rounds}
    else:
        curve = (tpe_rounds if method == "tpe" else random_rounds)(space, objective, max(rounds), seed)
        best = {r: curve[r - 1] for r in rounds}
    return {"dataset": dataset, "method": method, "seed": seed, **{f"best_after_{r}": v for r, v in best.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--rounds", type=int, nargs="+", default=list(ROUNDS))
    parser.add_argument("--methods", nargs="+", default=["ga", "tpe", "random"])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, 1 seed")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seeds = [1, 2], 1
    jobs = [(m, d, s) for d in args.datasets for s in range(args.first_seed, args.first_seed + args.seeds)
            for m in args.methods]
    summary = pd.DataFrame(Parallel(n_jobs=args.n_jobs)(delayed(one)(m, d, args.rounds, s) for m, d, s in jobs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / ("rounds_quick.csv" if args.quick else "rounds_summary.csv"), index=False)
    print(rounds_markdown(summary))


if __name__ == "__main__":
    main()
