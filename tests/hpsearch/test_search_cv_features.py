"""What scikit-learn users (and users of sklearn-genetic-opt's GASearchCV) rely on, in
GeneticSearchCV: None choices, seeded estimators, groups, the estimator's own errors,
several metrics, train scores, error_score, param_distributions, warm start, callbacks and
a progress bar."""

import numpy as np
import pytest
import scipy.stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from hpsearch import CategoricalGene, FloatGene, GeneticSearchCV, IntGene, Space
from hpsearch.callbacks import Callback, DeltaThreshold
from hpsearch.cv_objective import estimator_seeds
from hpsearch.distributions import space_from_distributions


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def tree_space():
    return Space([CategoricalGene("max_features", ("sqrt", "log2", None)), CategoricalGene("max_depth", (3, 8, None)),
                  IntGene("min_samples_leaf", 1, 10)])


def test_none_among_the_choices_reaches_the_estimator(digits):
    X, y = digits
    search = GeneticSearchCV(DecisionTreeClassifier(), tree_space(), cv=3, max_evaluations=16,
                             random_state=0).fit(X, y)
    params = search.cv_results_["params"]
    assert any(p["max_features"] is None for p in params) and any(p["max_depth"] is None for p in params)
    column = search.cv_results_["param_max_features"]
    assert column.dtype == object and None in list(column)
    assert search.best_estimator_.max_depth == search.best_params_["max_depth"]


def test_an_unseeded_estimator_is_seeded_from_the_trial(digits):
    X, y = digits
    space = Space([CategoricalGene("max_features", ("sqrt", "log2")), IntGene("min_samples_leaf", 1, 10)])

    def fit():
        return GeneticSearchCV(DecisionTreeClassifier(), space, cv=3, max_evaluations=16, population=6,
                               random_state=42).fit(X, y)

    first, second = fit(), fit()
    np.testing.assert_array_equal(first.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"])
    assert first.best_score_ == second.best_score_ and first.best_params_ == second.best_params_
    # the refitted best is the candidate that was cross-validated: the best trial's seed
    trials = first.search_result_.trials
    seed = int(trials.loc[trials["trial_id"] == first.cv_results_["trial_id"][first.best_index_], "seed"].iloc[0])
    assert first.best_estimator_.random_state == estimator_seeds(seed, ["random_state"])["random_state"]
    again = cross_validate(clone(first.best_estimator_), X, y, cv=StratifiedKFold(3))
    np.testing.assert_allclose(again["test_score"].mean(), first.best_score_)
    # a seed the user set is left alone
    fixed = GeneticSearchCV(DecisionTreeClassifier(random_state=7), space, cv=2, max_evaluations=4,
                            random_state=0).fit(X, y)
    assert fixed.best_estimator_.random_state == 7


class NoGroups:
    """A splitter whose split takes no groups."""

    def split(self, X, y=None):
        n = len(X)
        yield np.arange(n // 2, n), np.arange(n // 2)
        yield np.arange(n // 2), np.arange(n // 2, n)

    def get_n_splits(self, X=None, y=None, groups=None):
        return 2


def test_groups_go_only_to_a_splitter_that_takes_them(digits):
    X, y = digits
    space = Space([FloatGene("C", 0.01, 1.0, log=True)])
    search = GeneticSearchCV(LogisticRegression(max_iter=200), space, cv=NoGroups(), max_evaluations=3,
                             random_state=0).fit(X, y)
    assert search.n_splits_ == 2
    with pytest.raises(ValueError, match=r"groups: NoGroups.split takes no groups"):
        GeneticSearchCV(LogisticRegression(), space, cv=NoGroups(), max_evaluations=3).fit(X, y, groups=y)


def _with_a_dict(X):
    X = np.array(X, dtype=object)
    X[0, 0] = {"a": 1}
    return X


@pytest.mark.parametrize("make, error, message", [
    (lambda X, y: (np.where(X == X[0, 0], np.nan, X), y), ValueError, "Input X contains NaN"),
    (lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array, got 1D array"),
    (lambda X, y: (X[:, :0], y), ValueError, r"0 feature\(s\)"),
    (lambda X, y: (X, y + np.linspace(0.1, 0.9, len(y))), ValueError, "Unknown label type"),
    (lambda X, y: (_with_a_dict(X), y), TypeError, "float.* not 'dict'"),
])
def test_invalid_input_raises_the_estimators_own_error_after_one_generation(digits, make, error, message):
    X, y = make(*digits)
    search = GeneticSearchCV(LogisticRegression(), Space([FloatGene("C", 0.1, 1.0)]), cv=2, max_evaluations=40,
                             population=4, random_state=0)
    with pytest.raises(error, match=message) as raised:
        search.fit(X, y)
    assert any("fits of the first 4 candidates failed" in note for note in raised.value.__notes__)


def test_an_unknown_fit_parameter_raises_the_estimators_type_error(digits):
    X, y = digits
    with pytest.raises(TypeError, match="unexpected keyword argument 'weights'"):
        GeneticSearchCV(LogisticRegression(), Space([FloatGene("C", 0.1, 1.0)]), cv=2, max_evaluations=8,
                        population=4, random_state=0).fit(X, y, weights=np.ones(len(y)))


class Picky(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; its fit fails for threshold > 0.5."""

    def __init__(self, threshold=0.1):
        self.threshold = threshold

    def fit(self, X, y):
        if self.threshold > 0.5:
            raise ArithmeticError(f"threshold {self.threshold} too high")
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_error_score_raise_and_a_number(digits):
    X, y = digits
    space = Space([FloatGene("threshold", 0.0, 1.0)])
    with pytest.raises(ArithmeticError, match="too high") as raised:
        GeneticSearchCV(Picky(), space, cv=2, max_evaluations=20, population=6, random_state=0,
                        error_score="raise").fit(X, y)
    assert any("error_score='raise'" in note for note in raised.value.__notes__)
    with pytest.warns(FitFailedWarning, match="had failed fits"):
        search = GeneticSearchCV(Picky(), space, cv=2, max_evaluations=10, random_state=0, error_score=-1.0).fit(X, y)
    results = search.cv_results_
    failed = np.array([p["threshold"] > 0.5 for p in results["params"]])
    assert failed.any() and (results["mean_test_score"][failed] == -1.0).all()
    assert (results["split0_test_score"][failed] == -1.0).all()
    assert set(search.search_result_.trials["status"]) == {"ok"}


def test_several_metrics_refit_by_name_with_train_scores(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    space = Space([FloatGene("logisticregression__C", 1e-3, 10.0, log=True)])
    search = GeneticSearchCV(pipe, space, cv=3, scoring=["accuracy", "f1_macro"], refit="f1_macro",
                             return_train_score=True, max_evaluations=6, random_state=0).fit(X, y)
    results = search.cv_results_
    theirs = RandomizedSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, n_iter=2, cv=3,
                                scoring=["accuracy", "f1_macro"], refit="f1_macro", return_train_score=True,
                                random_state=0).fit(X, y).cv_results_
    assert [k for k in results if k not in ("trial_id", "generation", "folds_run", "dropped")] == list(theirs)
    assert search.multimetric_ and set(search.scorer_) == {"accuracy", "f1_macro"}
    assert search.best_index_ == results["rank_test_f1_macro"].argmin()
    assert search.best_score_ == results["mean_test_f1_macro"][search.best_index_]
    again = cross_validate(clone(pipe).set_params(**search.best_params_), X, y, cv=StratifiedKFold(3),
                           scoring=["accuracy", "f1_macro"], return_train_score=True)
    for kind in ("test", "train"):
        for metric in ("accuracy", "f1_macro"):
            np.testing.assert_allclose([results[f"split{k}_{kind}_{metric}"][search.best_index_] for k in range(3)],
                                       again[f"{kind}_{metric}"])
    assert search.score(X, y) == f1_score(y, search.predict(X), average="macro")
    # the GA maximised f1_macro: the trials' fitness is its mean
    np.testing.assert_allclose(search.search_result_.trials["fitness"], results["mean_test_f1_macro"])


def test_several_metrics_as_a_dict_or_a_callable_and_refit_false(digits):
    X, y = digits
    space = Space([FloatGene("C", 1e-3, 1.0, log=True)])
    model = LogisticRegression(max_iter=200)
    dict_search = GeneticSearchCV(model, space, cv=2, max_evaluations=4, random_state=0, refit="f1",
                                  scoring={"acc": "accuracy", "f1": make_scorer(f1_score, average="micro")}).fit(X, y)
    assert {"mean_test_acc", "rank_test_f1"} <= set(dict_search.cv_results_)

    def two(estimator, X, y):
        predicted = estimator.predict(X)
        return {"hits": float((predicted == y).mean()), "misses": float((predicted != y).mean())}

    called = GeneticSearchCV(model, space, cv=2, max_evaluations=4, random_state=0, scoring=two,
                             refit="misses").fit(X, y)
    assert called.multimetric_ and called.best_index_ == called.cv_results_["rank_test_misses"].argmin()
    unfitted = GeneticSearchCV(model, space, cv=2, max_evaluations=4, random_state=0, scoring=["accuracy", "f1_macro"],
                               refit=False).fit(X, y)
    assert not hasattr(unfitted, "best_index_") and not hasattr(unfitted, "best_estimator_")
    np.testing.assert_allclose(unfitted.search_result_.trials["fitness"], unfitted.cv_results_["mean_test_accuracy"])


def test_return_train_score_single_metric(digits):
    X, y = digits
    search = GeneticSearchCV(LogisticRegression(max_iter=200), Space([FloatGene("C", 1e-3, 1.0, log=True)]), cv=2,
                             max_evaluations=3, random_state=0, return_train_score=True).fit(X, y)
    again = cross_validate(clone(search.best_estimator_), X, y, cv=StratifiedKFold(2), return_train_score=True)
    np.testing.assert_allclose([search.cv_results_[f"split{k}_train_score"][search.best_index_] for k in range(2)],
                               again["train_score"])
    assert "mean_train_score" in search.cv_results_ and "std_train_score" in search.cv_results_


def test_param_distributions_as_scikit_learn_users_write_them(digits):
    X, y = digits
    distributions = {"C": scipy.stats.loguniform(1e-3, 1e1), "tol": scipy.stats.uniform(1e-4, 1e-3),
                     "max_iter": scipy.stats.randint(100, 300), "class_weight": ["balanced", None],
                     "fit_intercept": [True]}
    space = space_from_distributions(distributions)
    assert space["C"] == FloatGene("C", 1e-3, 10.0, log=True) and space["max_iter"] == IntGene("max_iter", 100, 299)
    assert space["tol"].low == 1e-4 and space["tol"].high == pytest.approx(1.1e-3)
    assert space["class_weight"].choices == ("balanced", None) and space["fit_intercept"].value is True
    search = GeneticSearchCV(LogisticRegression(), distributions, cv=2, max_evaluations=8, random_state=0).fit(X, y)
    for params in search.cv_results_["params"]:
        assert 1e-3 <= params["C"] <= 10 and 100 <= params["max_iter"] <= 299 and params["fit_intercept"] is True
    with pytest.raises(ValueError, match=r"param_distributions\['C'\]: scipy.stats.norm is not searched.*unbounded"):
        space_from_distributions({"C": scipy.stats.norm()})
    with pytest.raises(ValueError, match="a list of dicts"):
        space_from_distributions([{"C": [1.0]}, {"tol": [1e-3]}])
    with pytest.raises(ValueError, match="empty"):
        space_from_distributions({})


def test_sklearn_genetic_opt_dimensions_map_to_genes(digits):
    sklearn_genetic = pytest.importorskip("sklearn_genetic.space")
    space = space_from_distributions({
        "alpha": sklearn_genetic.Continuous(1e-4, 1.0, distribution="log-uniform"),
        "l1_ratio": sklearn_genetic.Continuous(0.0, 1.0), "max_iter": sklearn_genetic.Integer(700, 1000),
        "average": sklearn_genetic.Categorical([True, False])})
    assert space["alpha"] == FloatGene("alpha", 1e-4, 1.0, log=True) and space["max_iter"] == IntGene("max_iter", 700, 1000)
    assert space["average"].choices == (True, False) and space["l1_ratio"] == FloatGene("l1_ratio", 0.0, 1.0)


def test_a_loss_scored_negative_on_a_regressor():
    X, y = load_diabetes(return_X_y=True)
    search = GeneticSearchCV(DecisionTreeRegressor(), {"max_depth": scipy.stats.randint(2, 10),
                                                      "ccp_alpha": scipy.stats.uniform(0, 1)},
                             scoring="neg_mean_absolute_error", cv=KFold(3), max_evaluations=10, random_state=0).fit(X, y)
    assert search.best_score_ < 0 and search.best_score_ == search.cv_results_["mean_test_score"].max()
    assert search.score(X, y) <= 0


def test_warm_start_configs_are_generation_0s_first_candidates(digits):
    X, y = digits
    warm = [{"max_features": None, "max_depth": 8, "min_samples_leaf": 2},
            {"max_features": "sqrt", "max_depth": None, "min_samples_leaf": 5}]
    search = GeneticSearchCV(DecisionTreeClassifier(), tree_space(), cv=2, max_evaluations=8, random_state=0,
                             warm_start_configs=warm).fit(X, y)
    assert search.cv_results_["params"][:2] == warm
    with pytest.raises(ValueError, match="missing genes 'min_samples_leaf'"):
        GeneticSearchCV(DecisionTreeClassifier(), tree_space(), warm_start_configs=[{"max_features": None, "max_depth": 3}]
                        ).fit(X, y)


def test_callbacks_see_every_candidate_and_can_stop_the_search(digits):
    X, y = digits

    class Seen(Callback):
        trials: list = []

        def on_trial(self, trial, search):
            self.trials.append(trial["trial_id"])

    seen = Seen()
    search = GeneticSearchCV(DecisionTreeClassifier(), tree_space(), cv=2, max_evaluations=200, population=6,
                             random_state=0, callbacks=[seen, DeltaThreshold(1.0, generations=1)]).fit(X, y)
    assert len(search.cv_results_["params"]) < 200
    assert search.search_result_.best["stop_reason"] == "callback DeltaThreshold"
    assert seen.trials == list(search.search_result_.trials["trial_id"])


def test_verbose_shows_a_progress_bar(digits, capsys):
    X, y = digits
    space = Space([FloatGene("C", 1e-3, 1.0, log=True)])
    GeneticSearchCV(LogisticRegression(max_iter=200), space, cv=2, max_evaluations=6, random_state=0).fit(X, y)
    assert "GeneticSearchCV" not in capsys.readouterr().err
    GeneticSearchCV(LogisticRegression(max_iter=200), space, cv=2, max_evaluations=6, random_state=0,
                    verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "GeneticSearchCV" in err and "6/6" in err


@pytest.mark.parametrize("budget, reason", [
    ({"target_fitness": 0.5}, "target_fitness"),        # GASearchCV's ThresholdStopping
    ({"patience": 1}, "patience"),                      # its ConsecutiveStopping
    ({"time_limit": 1e-9}, "time_limit"),               # its TimerStopping
])
def test_the_peers_stopping_callbacks_are_budgets_here(digits, budget, reason):
    X, y = digits
    search = GeneticSearchCV(DecisionTreeClassifier(), tree_space(), cv=2, max_evaluations=400, population=6,
                             random_state=0, budget=budget).fit(X, y)
    assert search.search_result_.best["stop_reason"].startswith(reason)
    assert len(search.cv_results_["params"]) < 400 and hasattr(search, "best_estimator_")


def test_several_metrics_and_seeded_estimators_do_not_depend_on_n_jobs(digits):
    X, y = digits

    def fit(n_jobs):
        return GeneticSearchCV(DecisionTreeClassifier(), tree_space(), cv=2, max_evaluations=8, population=4,
                               scoring={"acc": "accuracy", "f1": "f1_macro"}, refit="acc", return_train_score=True,
                               random_state=1, n_jobs=n_jobs).fit(X, y)

    one, two = fit(1), fit(2)
    for key in one.cv_results_:
        if "time" not in key and key != "params" and not key.startswith("param_"):
            np.testing.assert_array_equal(one.cv_results_[key], two.cv_results_[key], err_msg=key)
    assert one.cv_results_["params"] == two.cv_results_["params"]
