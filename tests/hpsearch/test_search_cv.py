"""GeneticSearchCV against scikit-learn's own search conventions (BaseSearchCV)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    GroupKFold,
    PredefinedSplit,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import hpsearch
from hpsearch import CategoricalGene, ConstantGene, FloatGene, GeneticSearchCV, IntGene, LayersGene, Space

TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def pipeline():
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=300))])


def pipeline_space():
    return Space([FloatGene("clf__C", 1e-3, 10.0, log=True), ConstantGene("clf__tol", 1e-3)])


def sgd_pipeline():
    return Pipeline([("scale", StandardScaler()),
                     ("clf", SGDClassifier(random_state=0, max_iter=1000, tol=1e-3))])


def sgd_space():
    return Space([FloatGene("clf__alpha", 1e-5, 1e-1, log=True),
                  CategoricalGene("clf__loss", ("hinge", "log_loss", "modified_huber"))])


def assert_same_cv_results(a, b, ignore=TIMES):
    assert list(a) == list(b)
    for key in a:
        if key in ignore:
            continue
        if key == "params":
            assert a[key] == b[key]
        elif isinstance(a[key], np.ma.MaskedArray):
            assert a[key].dtype == b[key].dtype
            assert list(a[key]) == list(b[key]) and (a[key].mask == b[key].mask).all()
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_pipeline_search_has_scikit_learns_attributes_and_cv_results_layout(digits):
    X, y = digits
    weights = np.linspace(0.5, 1.5, len(y))
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=3, scoring="accuracy", max_evaluations=8,
                             random_state=0).fit(X, y, clf__sample_weight=weights)
    results = search.cv_results_
    theirs = RandomizedSearchCV(pipeline(), {"clf__C": [0.1, 1.0], "clf__tol": [1e-3]}, n_iter=2, cv=3,
                                random_state=0).fit(X, y).cv_results_
    assert set(results) - {"trial_id", "generation", "folds_run", "dropped"} == set(theirs)  # 3 folds: raced
    ours = [k for k in results if k in theirs]
    assert [k for k in ours if not k.startswith("param_")] == [k for k in theirs if not k.startswith("param_")]
    n = len(results["params"])
    assert n == 8 and list(results["trial_id"]) == sorted(results["trial_id"])
    assert isinstance(results["param_clf__C"], np.ma.MaskedArray) and results["param_clf__C"].dtype == float
    assert [p["clf__C"] for p in results["params"]] == list(results["param_clf__C"])
    assert results["rank_test_score"].dtype == np.int32 and sorted(results["rank_test_score"])[0] == 1
    assert search.n_splits_ == 3 and search.multimetric_ is False and search.refit_time_ > 0
    assert search.best_index_ == results["rank_test_score"].argmin()
    assert search.best_score_ == results["mean_test_score"].max()
    assert search.best_params_ == results["params"][search.best_index_]
    frame = pd.DataFrame(results)
    assert len(frame) == n and frame["mean_test_score"].between(0, 1).all()

    # the split scores are scikit-learn's own cross-validation of those parameters
    best = clone(pipeline()).set_params(**search.best_params_)
    again = cross_validate(best, X, y, cv=StratifiedKFold(3), params={"clf__sample_weight": weights})
    np.testing.assert_allclose([results[f"split{k}_test_score"][search.best_index_] for k in range(3)],
                               again["test_score"])

    # the refitted best estimator and the delegated methods
    assert search.best_estimator_.get_params()["clf__C"] == search.best_params_["clf__C"]
    assert search.best_estimator_.named_steps["clf"].n_iter_ is not None
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    np.testing.assert_allclose(search.predict_proba(X), search.best_estimator_.predict_proba(X))
    np.testing.assert_allclose(search.decision_function(X), search.best_estimator_.decision_function(X))
    assert search.score(X, y) == accuracy_score(y, search.predict(X))
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.n_features_in_ == 64 and is_classifier(search)
    assert not hasattr(search, "transform") and isinstance(search.search_result_, hpsearch.SearchResult)


def test_predefined_split_scores_the_one_validation_fold(digits):
    X, y = digits
    fold = np.where(np.arange(len(y)) < 200, -1, 0)
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=PredefinedSplit(fold), max_evaluations=5,
                             random_state=1, refit=False).fit(X, y)
    results = search.cv_results_
    assert search.n_splits_ == 1 and "split1_test_score" not in results
    np.testing.assert_array_equal(results["split0_test_score"], results["mean_test_score"])
    assert (results["std_test_score"] == 0).all()
    for params, score in zip(results["params"], results["split0_test_score"]):
        model = clone(pipeline()).set_params(**params).fit(X[:200], y[:200])
        assert score == model.score(X[200:], y[200:])
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "predict")
    with pytest.raises(AttributeError, match="refit=False"):
        search.score(X, y)


def test_groups_reach_the_splitter(digits):
    X, y = digits
    groups = np.arange(len(y)) % 4
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=GroupKFold(4), max_evaluations=3,
                             random_state=0, refit=False).fit(X, y, groups=groups)
    params = search.cv_results_["params"][0]
    expected = cross_validate(clone(pipeline()).set_params(**params), X, y, groups=groups, cv=GroupKFold(4))
    np.testing.assert_allclose([search.cv_results_[f"split{k}_test_score"][0] for k in range(4)],
                               expected["test_score"])


def test_results_do_not_depend_on_n_jobs(digits):
    X, y = digits
    one, two = (GeneticSearchCV(sgd_pipeline(), sgd_space(), cv=3, max_evaluations=12, population=6,
                                random_state=3, n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2))
    assert_same_cv_results(one.cv_results_, two.cv_results_)
    assert one.best_params_ == two.best_params_ and len(one.cv_results_["params"]) == 12
    assert set(one.cv_results_["generation"]) == {0, 1, 2}
    np.testing.assert_array_equal(one.predict(X), two.predict(X))


def test_clone_and_get_set_params_round_trip():
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=3, max_evaluations=7, ga={"crossover_prob": 0.5},
                             random_state=4, n_jobs=2)
    params = search.get_params(deep=False)
    assert params["space"] is search.space and params["max_evaluations"] == 7 and params["n_jobs"] == 2
    copy = clone(search)
    assert copy is not search and copy.get_params(deep=False).keys() == params.keys()
    assert copy.space == search.space and copy.ga == {"crossover_prob": 0.5}
    deep = search.get_params(deep=True)
    assert deep["estimator__clf__C"] == 1.0 and "estimator__scale__with_mean" in deep
    search.set_params(estimator__clf__max_iter=50, max_evaluations=9, population=4)
    assert search.estimator.named_steps["clf"].max_iter == 50 and search.max_evaluations == 9
    assert copy.estimator.named_steps["clf"].max_iter == 300  # the clone's estimator is its own
    assert search.get_params(deep=False)["population"] == 4


def test_a_clone_of_a_fitted_search_is_unfitted_and_fits_alike(digits):
    X, y = digits
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=2, max_evaluations=4, random_state=5).fit(X, y)
    copy = clone(search)
    assert not hasattr(copy, "cv_results_")
    assert_same_cv_results(search.cv_results_, copy.fit(X, y).cv_results_)


def test_unfitted_delegation_follows_the_estimator():
    search = GeneticSearchCV(LogisticRegression(), Space([FloatGene("C", 0.1, 1.0)]))
    assert hasattr(search, "predict_proba") and hasattr(search, "decision_function")
    assert not hasattr(search, "transform") and not hasattr(search, "classes_")
    assert not hasattr(GeneticSearchCV(LogisticRegression(), Space([FloatGene("C", 0.1, 1.0)]), refit=False),
                       "predict")


def test_unsupervised_transformer_with_its_own_score(digits):
    X, _ = digits
    search = GeneticSearchCV(PCA(), Space([IntGene("n_components", 2, 30)]), cv=3, max_evaluations=5,
                             random_state=0).fit(X)
    assert search.transform(X).shape == (len(X), search.best_params_["n_components"])
    assert search.score(X) == search.best_estimator_.score(X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_wrong_gene_names_and_settings_are_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"gene 'clf__c' is not a parameter of Pipeline \(did you mean 'clf__C'\?\)"):
        GeneticSearchCV(pipeline(), Space([FloatGene("clf__c", 0.1, 1.0)]), max_evaluations=2).fit(X, y)
    with pytest.raises(ValueError, match="refit must be set to a scorer key"):
        GeneticSearchCV(pipeline(), pipeline_space(), scoring=["accuracy", "f1_macro"]).fit(X, y)
    with pytest.raises(ValueError, match="refit must be set to a scorer key.* 'f1' was passed"):
        GeneticSearchCV(pipeline(), pipeline_space(), scoring=["accuracy", "f1_macro"], refit="f1").fit(X, y)
    with pytest.raises(TypeError, match="hpsearch.Space or a dict"):
        GeneticSearchCV(pipeline(), 3).fit(X, y)
    with pytest.raises(ValueError, match="error_score: must be 'raise' or a number"):
        GeneticSearchCV(pipeline(), pipeline_space(), error_score="ignore").fit(X, y)
    with pytest.raises(TypeError, match="warm_start_configs: a list of parameter dicts"):
        GeneticSearchCV(pipeline(), pipeline_space(), warm_start_configs=True).fit(X, y)


class Picky(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; its fit fails for threshold > 0.5."""

    def __init__(self, threshold=0.1):
        self.threshold = threshold

    def fit(self, X, y):
        if self.threshold > 0.5:
            raise ValueError(f"threshold {self.threshold} too high")
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_failed_candidates_score_nan_and_rank_last(digits):
    X, y = digits
    search = GeneticSearchCV(Picky(), Space([FloatGene("threshold", 0.0, 1.0)]), cv=2, max_evaluations=10,
                             random_state=0, n_jobs=1)
    with pytest.warns(FitFailedWarning, match=r"candidates had failed fits .* threshold .* too high"):
        search.fit(X, y)
    results = search.cv_results_
    failed = np.array([p["threshold"] > 0.5 for p in results["params"]])
    assert failed.any() and not failed.all()
    assert np.isnan(results["mean_test_score"][failed]).all() and np.isnan(results["split1_test_score"][failed]).all()
    assert np.isfinite(results["mean_fit_time"]).all()  # the failed fits were timed too
    assert (results["rank_test_score"][failed] == results["rank_test_score"].max()).all()
    assert results["rank_test_score"][~failed].max() < results["rank_test_score"][failed].min()
    assert search.best_params_["threshold"] <= 0.5 and np.isfinite(search.best_score_)
    trials = search.search_result_.trials
    assert set(trials.loc[trials["status"] == "failed", "reason"].str.slice(0, 31)) == {"split 0: ValueError: threshold "}


def test_refit_callable_picks_the_candidate(digits):
    X, y = digits
    search = GeneticSearchCV(pipeline(), pipeline_space(), cv=2, max_evaluations=4, random_state=0,
                             refit=lambda results: 2).fit(X, y)
    assert search.best_index_ == 2 and search.best_params_ == search.cv_results_["params"][2]
    assert not hasattr(search, "best_score_") and search.predict(X).shape == (len(X),)


def test_out_dir_keeps_a_results_directory_that_resumes(digits, tmp_path):
    X, y = digits
    out = tmp_path / "run"

    def search(evaluations, estimator=None):
        return GeneticSearchCV(estimator or sgd_pipeline(), sgd_space(), cv=3, max_evaluations=evaluations,
                               population=4, random_state=2, out_dir=out)

    first = search(6).fit(X, y)
    loaded = hpsearch.load(out)
    assert loaded.finished and len(loaded.trials) >= 6
    assert {"split0_test_score", "split2_fit_time"} <= set(loaded.trials.columns)
    assert loaded.best["params"] == first.best_params_
    from hpsearch.plots import plot_all

    assert {"convergence.png", "landscape.png"} <= {path.name for path in plot_all(out, quiet=True)}
    config = hpsearch.results.read_config(out)
    assert config["objective"]["kind"] == "sklearn-cv" and config["objective"]["n_splits"] == 3
    # fitting again resumes the finished search: the same results, times included
    assert_same_cv_results(first.cv_results_, search(6).fit(X, y).cv_results_, ignore=())
    # a larger budget goes on from there
    longer = search(10).fit(X, y)
    assert len(longer.cv_results_["params"]) == 10
    assert longer.cv_results_["params"][:6] == first.cv_results_["params"]
    # other data, or another estimator, is another search
    with pytest.raises(hpsearch.SearchError, match="cannot resume, the settings differ"):
        search(10).fit(X[:-1], y[:-1])
    with pytest.raises(hpsearch.SearchError, match="cannot resume, the settings differ"):
        search(10, estimator=sgd_pipeline().set_params(clf__max_iter=5)).fit(X, y)


def test_netcore_mlp_classifier_tuned_by_it(digits):
    from netcore import MLPClassifier

    X, y = digits
    space = Space([FloatGene("learning_rate", 1e-3, 0.3, log=True), LayersGene("hidden_sizes", 1, 1, 8, 32),
                   ConstantGene("epochs", 5)])
    search = GeneticSearchCV(MLPClassifier(random_state=0), space, cv=2, max_evaluations=5, random_state=0).fit(
        X / 16.0, y)
    assert isinstance(search.cv_results_["param_hidden_sizes"][0], tuple)
    assert search.cv_results_["param_hidden_sizes"].dtype == object
    assert search.best_estimator_.hidden_sizes == search.best_params_["hidden_sizes"]
    assert search.best_score_ > 0.3 and search.score(X / 16.0, y) > 0.3
    np.testing.assert_array_equal(search.classes_, np.arange(10))
