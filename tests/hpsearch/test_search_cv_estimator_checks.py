"""scikit-learn's check_estimator: GeneticSearchCV fails no check that GridSearchCV passes,
over a classifier and a regressor, with the default error_score and with "raise", and with
3 folds, where fold racing is on."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import check_estimator

from hpsearch import FloatGene, GeneticSearchCV, Space


def outcomes(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_estimator(estimator, on_fail=None)
    failed = {check["check_name"] for check in checks if check["status"] == "failed"}
    passed = {check["check_name"] for check in checks if check["status"] == "passed"} - failed
    return passed, failed


@pytest.mark.slow
@pytest.mark.parametrize("model, parameter, error_score, cv", [
    (LogisticRegression(), "C", np.nan, 2), (LogisticRegression(), "C", "raise", 2),
    (Ridge(), "alpha", np.nan, 2), (Ridge(), "alpha", "raise", 2), (LogisticRegression(), "C", np.nan, 3)])
def test_no_check_fails_that_grid_search_passes(model, parameter, error_score, cv):
    grid_passed, _ = outcomes(GridSearchCV(model, {parameter: [0.1, 1.0]}, cv=cv, error_score=error_score))
    ours_passed, ours_failed = outcomes(GeneticSearchCV(model, Space([FloatGene(parameter, 0.1, 1.0)]), cv=cv,
                                                        max_evaluations=4, random_state=0, error_score=error_score))
    assert not ours_failed & grid_passed
    assert len(ours_passed) >= len(grid_passed)
