"""hpsearch.GeneticSearchCV against sklearn-genetic-opt's GASearchCV, side by side.

Both tune the same scikit-learn pipeline on digits (a stratified 75/25 split, seed 0: the
search sees the 75 %), with the same cross-validation (StratifiedKFold(3)), the same number
of cross-validated candidates (--evaluations, 40 by default), one job each, and refit the
best on the whole search data. Printed per estimator and method, over --seeds seeds: the
mean (and spread) of the best mean cv score, the refitted best's held-out accuracy, the
candidates actually cross-validated, and the wall time of fit().

    python benchmarks/bench_search_cv.py                        # sgd and mlp, 3 seeds, 40 evaluations
    python benchmarks/bench_search_cv.py --estimators sgd --seeds 1 --evaluations 12   # a smoke run
    python benchmarks/bench_search_cv.py --racing --estimators sgd --folds 5   # fold racing on/off

--racing compares GeneticSearchCV's fold racing (hpsearch.cv_racing) with racing=False on
StratifiedKFold(--folds) instead: racing at max_evaluations=--evaluations (a budget of
evaluations x folds fits), racing off at the same budget, and racing off at the number of
candidates racing cross-validated; printed: candidates, fits, the best mean cv score (over
the candidates that ran every fold), the refitted best's held-out accuracy, and seconds.

GASearchCV's budget: population_size mu and generations g with eaMuPlusLambda (lambda = 2 mu,
every child crossed or mutated) evaluate mu + 2 mu g candidates, less its cache's repeats:
mu = evaluations / 5, g = 2 gives 40 for 40. Its randomness is seeded through Python's and
NumPy's global generators and each dimension's random_state; ours through random_state.
The estimators' own random_state is 0 in every run.
"""

import argparse
import os
import random
import sys
import time
import warnings

os.environ.setdefault("PYTHONWARNINGS", "ignore")  # SGD's ConvergenceWarnings, in the workers too

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from hpsearch import CategoricalGene, ConstantGene, FloatGene, GeneticSearchCV, IntGene, Space
from netcore import MLPClassifier

OURS, THEIRS = "hpsearch GeneticSearchCV", "sklearn-genetic-opt GASearchCV"


def sgd():
    """A linear model trained by SGD: loss, regularisation and step size."""
    estimator = Pipeline([("scale", StandardScaler()),
                          ("clf", SGDClassifier(penalty="elasticnet", max_iter=200, tol=1e-3, random_state=0))])
    genes = {"clf__alpha": ("float", 1e-6, 1e-1, True), "clf__l1_ratio": ("float", 0.0, 1.0, False),
             "clf__loss": ("choice", ("hinge", "log_loss", "modified_huber")),
             "clf__learning_rate": ("choice", ("optimal", "adaptive")), "clf__eta0": ("float", 1e-4, 1.0, True)}
    return estimator, genes


def mlp():
    """netcore's MLPClassifier, one hidden layer, 10 epochs."""
    estimator = Pipeline([("scale", MinMaxScaler()), ("clf", MLPClassifier(epochs=10, random_state=0))])
    genes = {"clf__learning_rate": ("float", 1e-3, 0.5, True), "clf__momentum": ("float", 0.0, 0.95, False),
             "clf__hidden_sizes": ("int", 16, 128), "clf__weight_decay": ("float", 1e-6, 1e-2, True),
             "clf__batch_size": ("choice", (16, 32, 64, 128))}
    return estimator, genes


ESTIMATORS = {"sgd": sgd, "mlp": mlp}


def our_space(genes):
    built = []
    for name, (kind, *spec) in genes.items():
        if kind == "float":
            built.append(FloatGene(name, spec[0], spec[1], log=spec[2]))
        elif kind == "int":
            built.append(IntGene(name, spec[0], spec[1]))
        elif kind == "choice":
            built.append(CategoricalGene(name, spec[0]))
        else:
            built.append(ConstantGene(name, spec[0]))
    return Space(built)


def their_space(genes, seed):
    from sklearn_genetic.space import Categorical, Continuous, Integer

    space = {}
    for i, (name, (kind, *spec)) in enumerate(genes.items()):
        state = 1000 * seed + i + 1  # nonzero: sklearn-genetic-opt reads 0 as "unseeded"
        if kind == "float":
            space[name] = Continuous(spec[0], spec[1], distribution="log-uniform" if spec[2] else "uniform",
                                     random_state=state)
        elif kind == "int":
            space[name] = Integer(spec[0], spec[1], random_state=state)
        else:
            space[name] = Categorical(list(spec[0]), random_state=state)
    return space


def run(method, make, seed, evaluations, data):
    X_train, X_test, y_train, y_test = data
    estimator, genes = make()
    cv = StratifiedKFold(3)
    start = time.perf_counter()
    if method == OURS:
        search = GeneticSearchCV(estimator, our_space(genes), cv=cv, scoring="accuracy",
                                 max_evaluations=evaluations, random_state=seed, n_jobs=1).fit(X_train, y_train)
    else:
        from sklearn_genetic import GASearchCV

        random.seed(seed)
        np.random.seed(seed)
        search = GASearchCV(estimator, cv=cv, param_grid=their_space(genes, seed), scoring="accuracy",
                            population_size=max(2, evaluations // 5), generations=2, n_jobs=1,
                            verbose=False).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    candidates = {tuple(sorted((k, repr(v)) for k, v in params.items())) for params in search.cv_results_["params"]}
    return {"method": method, "seed": seed, "best_cv": float(search.best_score_),
            "test": float(search.score(X_test, y_test)), "evaluations": len(candidates), "seconds": seconds}


RACING, PLAIN, PLAIN_SAME = "racing", "racing off, same budget", "racing off, as many candidates"


def run_racing(make, seed, evaluations, folds, data):
    """Rows for racing on, off at the same budget, off at racing's number of candidates."""
    X_train, X_test, y_train, y_test = data
    rows = []
    for method in (RACING, PLAIN, PLAIN_SAME):
        estimator, genes = make()
        budget = rows[0]["evaluations"] if method == PLAIN_SAME else evaluations
        start = time.perf_counter()
        search = GeneticSearchCV(estimator, our_space(genes), cv=StratifiedKFold(folds), scoring="accuracy",
                                 max_evaluations=budget, random_state=seed, n_jobs=1,
                                 racing=method == RACING).fit(X_train, y_train)
        results = search.cv_results_
        fits = int(results["folds_run"].sum()) if "folds_run" in results else folds * len(results["params"])
        rows.append({"method": method, "seed": seed, "best_cv": float(search.best_score_),
                     "test": float(search.score(X_test, y_test)), "evaluations": len(results["params"]),
                     "fits": fits, "dropped": int(results.get("dropped", np.zeros(1)).sum()),
                     "seconds": time.perf_counter() - start})
    return rows


def report_racing(rows):
    frame = pd.DataFrame(rows)
    lines = ["| estimator | method | candidates | dropped | fits | best cv accuracy | held-out accuracy "
             "| fit seconds |", "|---|---|---|---|---|---|---|---|"]

    def spread(values):
        return f"{values.mean():.4f} ± {values.std(ddof=0):.4f}"

    for (estimator, method), group in frame.groupby(["estimator", "method"], sort=False):
        lines.append(f"| {estimator} | {method} | {group['evaluations'].mean():.1f} | {group['dropped'].mean():.1f}"
                     f" | {group['fits'].mean():.1f} | {spread(group['best_cv'])} | {spread(group['test'])}"
                     f" | {group['seconds'].mean():.1f} |")
    tests = frame.pivot_table(index=["estimator", "seed"], columns="method", values="test")
    for other in (PLAIN, PLAIN_SAME):
        difference = tests[RACING] - tests[other]
        lines.append(f"held-out accuracy, racing - {other}: {difference.mean():+.4f} ± "
                     f"{difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else float('nan'):.4f}"
                     f" (s.e., {len(difference)} runs; won/tied/lost {(difference > 0).sum()}/"
                     f"{(difference == 0).sum()}/{(difference < 0).sum()})")
    return lines


def report(rows):
    frame = pd.DataFrame(rows)
    lines = ["| estimator | method | best cv accuracy | held-out accuracy | evaluations | fit seconds |",
             "|---|---|---|---|---|---|"]
    for (estimator, method), group in frame.groupby(["estimator", "method"], sort=False):
        lines.append(f"| {estimator} | {method} | {group['best_cv'].mean():.4f} ± {group['best_cv'].std(ddof=0):.4f}"
                     f" | {group['test'].mean():.4f} ± {group['test'].std(ddof=0):.4f}"
                     f" | {group['evaluations'].mean():.1f} | {group['seconds'].mean():.1f} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimators", nargs="+", choices=sorted(ESTIMATORS), default=["sgd", "mlp"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--evaluations", type=int, default=40)
    parser.add_argument("--out", help="also write the per-run rows to this CSV file")
    parser.add_argument("--racing", action="store_true", help="compare fold racing on and off instead")
    parser.add_argument("--folds", type=int, default=5, help="--racing's StratifiedKFold splits")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    data = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    if args.racing:
        rows = []
        for name in args.estimators:
            for seed in range(args.seeds):
                for row in run_racing(ESTIMATORS[name], seed, args.evaluations, args.folds, data):
                    rows.append({"estimator": name, **row})
                    print(f"{name:4s} {row['method']:32s} seed {seed}: {row['evaluations']} candidates "
                          f"({row['dropped']} dropped), {row['fits']} fits, best cv {row['best_cv']:.4f}  "
                          f"test {row['test']:.4f}  {row['seconds']:.1f} s", flush=True)
        print("\n".join(report_racing(rows)))
        if args.out:
            pd.DataFrame(rows).to_csv(args.out, index=False)
        return 0
    try:
        import sklearn_genetic  # noqa: F401
        methods = [OURS, THEIRS]
    except ImportError:
        print("skipped: sklearn-genetic-opt (not installed; pip install 'hpsearch[bench]')")
        methods = [OURS]
    rows = []
    for name in args.estimators:
        for method in methods:
            for seed in range(args.seeds):
                row = {"estimator": name, **run(method, ESTIMATORS[name], seed, args.evaluations, data)}
                print(f"{name:4s} {method:32s} seed {seed}: best cv {row['best_cv']:.4f}  test {row['test']:.4f}  "
                      f"{row['evaluations']} evaluations  {row['seconds']:.1f} s", flush=True)
                rows.append(row)
    print("\n".join(report(rows)))
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
