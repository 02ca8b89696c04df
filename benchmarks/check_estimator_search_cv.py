"""scikit-learn's check_estimator on GeneticSearchCV and GridSearchCV side by side: the counts of
passed, failed and skipped checks and every failure, for a classifier (LogisticRegression, C)
and a regressor (Ridge, alpha), with the default error_score or with "raise".

    python benchmarks/check_estimator_search_cv.py [--error-score raise] [--cv 3]

(--cv 3: three folds, where GeneticSearchCV's fold racing is on.)

GridSearchCV skips more checks only because it has the array-API checks, which skip where
array_api_strict / cupy / dpnp are not installed. tests/hpsearch/test_search_cv_estimator_checks.py
asserts that no check fails for GeneticSearchCV that GridSearchCV passes.
"""

import argparse
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import check_estimator

from hpsearch import FloatGene, GeneticSearchCV, Space


def outcomes(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_estimator(estimator, on_fail=None)
    by_status = {status: [c for c in checks if c["status"] == status] for status in ("passed", "failed", "skipped")}
    return by_status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--error-score", choices=("nan", "raise"), default="nan")
    parser.add_argument("--cv", type=int, default=2)
    args = parser.parse_args()
    error_score, cv = (np.nan if args.error_score == "nan" else "raise"), args.cv
    for kind, model, parameter in (("classifier", LogisticRegression(), "C"), ("regressor", Ridge(), "alpha")):
        grid = outcomes(GridSearchCV(model, {parameter: [0.1, 1.0]}, cv=cv, error_score=error_score))
        ours = outcomes(GeneticSearchCV(model, Space([FloatGene(parameter, 0.1, 1.0)]), cv=cv, max_evaluations=4,
                                        random_state=0, error_score=error_score))
        print(f"== {kind}, error_score={error_score!r}")
        for name, result in (("GridSearchCV", grid), ("GeneticSearchCV", ours)):
            print(f"{name:16s} passed {len(result['passed'])}  failed {len(result['failed'])}  "
                  f"skipped {len(result['skipped'])}")
            for check in result["failed"]:
                print(f"    fails {check['check_name']}: {str(check['exception']).splitlines()[0][:120]}")


if __name__ == "__main__":
    main()
