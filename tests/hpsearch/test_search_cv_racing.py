"""GeneticSearchCV's fold racing (hpsearch.cv_racing): candidates clearly worse than the
incumbent on the folds both ran stop after a few folds, every fit counts in the budget, and
cv_results_ says so."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GroupKFold, cross_validate

from hpsearch import Budget, FloatGene, GeneticSearchCV, Space
from hpsearch.callbacks import Callback
from hpsearch.cv_racing import FoldRace, race_verdict, start_race
from hpsearch.cv_results import ranks as cv_ranks

FOLDS = 5
RACED = ("folds_run", "dropped")


class Known(BaseEstimator):
    """A model of known quality: its score on a test fold is `quality` plus the fold's
    difficulty (column 1, from -0.2 to 0.2: much larger than the differences that matter)
    plus a small deterministic wobble. Each fit adds a line to the file `log` (trials run in
    worker processes)."""

    def __init__(self, quality=0.0, wobble=0.01, fail_below=0.0, log=None):
        self.quality = quality
        self.wobble = wobble
        self.fail_below = fail_below
        self.log = log

    def fit(self, X, y=None):
        if self.log is not None:
            with open(self.log, "a") as log:
                log.write(f"{self.quality}\n")
        if self.quality < self.fail_below:
            raise ValueError("quality too low to fit")
        self.fitted_ = True
        return self

    def score(self, X, y=None):
        fold = float(X[0, 1])
        return float(self.quality + fold + self.wobble * math.sin(997.0 * self.quality + 13.0 * fold))


def data(n=100):
    X = np.zeros((n, 3))
    X[:, 0] = np.arange(n)
    X[:, 1] = np.repeat(np.linspace(-0.2, 0.2, FOLDS), n // FOLDS)  # KFold(5)'s test blocks
    X[:, 2] = np.arange(n) % 2
    return X, None


def space():
    return Space([FloatGene("quality", 0.0, 1.0)])


def search(estimator=None, **options):
    settings = {"cv": FOLDS, "max_evaluations": 30, "random_state": 3, "refit": False, **options}
    return GeneticSearchCV(estimator or Known(), space(), **settings)


def assert_same(a, b, ignore=("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")):
    assert list(a) == list(b)
    for key in a:
        if key == "params":
            assert a[key] == b[key]
        elif key not in ignore:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def test_bad_candidates_stop_after_a_few_folds_and_the_best_is_still_found(tmp_path):
    X, _ = data()
    log = tmp_path / "fits.log"
    raced = search(Known(log=str(log))).fit(X)
    results = raced.cv_results_
    quality = np.array([p["quality"] for p in results["params"]])
    folds_run, dropped = results["folds_run"], results["dropped"]
    # every fit is one the search counts, and dropped candidates ran between min_folds and K-1 folds
    assert len(log.read_text().splitlines()) == folds_run.sum()
    assert dropped.any() and ((folds_run[dropped] >= 2) & (folds_run[dropped] < FOLDS)).all()
    assert (folds_run[~dropped] == FOLDS).all()
    # the budget is 30 full cross-validations' fits, which paid for more than 30 candidates
    assert 30 * FOLDS - FOLDS < folds_run.sum() <= 30 * FOLDS and len(quality) > 30
    assert raced.search_result_.best["stop_reason"] == f"max_training_epochs ({30 * FOLDS})"
    # racing dropped no candidate better than the one chosen: the best is still found
    assert not dropped[raced.best_index_]
    assert quality[raced.best_index_] == quality.max()
    assert raced.best_score_ == pytest.approx(quality.max(), abs=0.011)
    # the dropped were really worse (the wobble is 0.01, fold difficulty +-0.2 cancels in pairs)
    assert (quality[dropped] < quality.max() - 0.01).all()
    # cv_results_: the folds run scored, the rest NaN, the mean over the folds run
    scores = np.column_stack([results[f"split{k}_test_score"] for k in range(FOLDS)])
    assert (np.isfinite(scores) == (np.arange(FOLDS)[None, :] < folds_run[:, None])).all()
    np.testing.assert_allclose(results["mean_test_score"], np.nanmean(scores, axis=1))
    np.testing.assert_allclose(results["std_test_score"], np.nanstd(scores, axis=1))
    # every complete candidate ranks above every dropped one
    ranks = results["rank_test_score"]
    assert ranks[~dropped].max() < ranks[dropped].min()
    assert sorted(ranks[~dropped]) == list(range(1, (~dropped).sum() + 1))
    # the trials table says why
    trials = raced.search_result_.trials
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) == dropped.sum() and pruned["reason"].str.contains("dropped after").all()
    assert (trials["epochs_trained"] == trials["folds_run"]).all()


def test_fewer_fits_for_the_same_candidates_than_without_racing():
    X, _ = data()
    raced = search(max_evaluations=40).fit(X).cv_results_
    n = len(raced["params"])
    plain = search(max_evaluations=n, racing=False).fit(X).cv_results_
    assert len(plain["params"]) == n and not set(RACED) & set(plain)
    fits = raced["folds_run"].sum()
    assert fits <= 40 * FOLDS < n * FOLDS  # plain search: every candidate fits every fold
    # the same first generation: a race starts with an incumbent
    first = raced["generation"] == 0
    np.testing.assert_array_equal(raced["mean_test_score"][first], plain["mean_test_score"][first])


def test_identical_for_any_n_jobs():
    X, _ = data()
    one, two = search(n_jobs=1).fit(X).cv_results_, search(n_jobs=2).fit(X).cv_results_
    assert one["dropped"].any()
    assert_same(one, two)


class Crash(Callback):
    def on_generation(self, generation, search):
        if generation["generation"] == 1:
            raise RuntimeError("killed after generation 1")


def test_a_search_resumed_after_a_crash_races_as_an_uninterrupted_one(tmp_path):
    X, _ = data()
    with pytest.raises(RuntimeError, match="killed"):
        search(out_dir=tmp_path / "run", callbacks=[Crash()]).fit(X)
    resumed = search(out_dir=tmp_path / "run").fit(X).cv_results_
    straight = search(max_evaluations=30).fit(X).cv_results_
    assert resumed["dropped"].any()
    assert_same(resumed, straight)


def test_racing_off_is_the_plain_search():
    X, _ = data()
    off = search(racing=False, max_evaluations=12).fit(X).cv_results_
    # inactive (no more folds than min_folds) is the same search as off
    inactive = search(racing={"min_folds": FOLDS}, max_evaluations=12).fit(X).cv_results_
    assert_same(off, inactive)
    assert len(off["params"]) == 12 and np.isfinite(off["split4_test_score"]).all()
    for params, score in zip(off["params"], off["mean_test_score"]):
        again = cross_validate(Known(**params), X, cv=FOLDS)["test_score"]
        assert score == pytest.approx(again.mean())
    # three folds or more race by default; two do not
    assert set(RACED) <= set(search(cv=3, max_evaluations=4).fit(X).cv_results_)
    assert not set(RACED) & set(search(cv=2, max_evaluations=4).fit(X).cv_results_)


def test_several_metrics_race_on_the_refit_metric():
    X, _ = data()

    def scorer(estimator, X, y=None):
        score = estimator.score(X)
        return {"up": score, "down": -score}

    up = search(scoring=scorer, refit="up").fit(X)
    down = search(scoring=scorer, refit="down").fit(X)
    for fitted, pick in ((up, np.max), (down, np.min)):
        results = fitted.cv_results_
        quality = np.array([p["quality"] for p in results["params"]])
        assert results["dropped"].any() and quality[fitted.best_index_] == pick(quality)
        assert fitted.best_params_ == results["params"][fitted.best_index_]
        for metric in ("up", "down"):  # every metric's rank puts the dropped last
            ranks = results[f"rank_test_{metric}"]
            assert ranks[~results["dropped"]].max() < ranks[results["dropped"]].min()


def test_refit_train_scores_groups_and_error_score_keep_working():
    X, _ = data()
    groups = np.arange(len(X)) // (len(X) // FOLDS)
    with pytest.warns(FitFailedWarning, match="had failed fits"):
        fitted = search(Known(fail_below=0.3), cv=GroupKFold(FOLDS), refit=True, return_train_score=True,
                        error_score=-1.0, max_evaluations=30).fit(X, groups=groups)
    results = fitted.cv_results_
    dropped = results["dropped"]
    assert dropped.any() and fitted.best_estimator_.quality == fitted.best_params_["quality"]
    # a candidate whose fits fail scores error_score on them, and is dropped like any bad one
    failing = np.array([p["quality"] < 0.3 for p in results["params"]])
    assert failing.any() and (results["split0_test_score"][failing] == -1.0).all()
    assert (results["folds_run"][failing & (results["generation"] > 0)] < FOLDS).all()
    train = np.column_stack([results[f"split{k}_train_score"] for k in range(FOLDS)])
    test = np.column_stack([results[f"split{k}_test_score"] for k in range(FOLDS)])
    assert (np.isnan(train) == np.isnan(test)).all() and np.isnan(test[dropped]).any()
    np.testing.assert_allclose(results["mean_train_score"], np.nanmean(train, axis=1))


def test_the_race_is_the_pure_rule_over_the_trials_before_the_batch():
    rows = [{"trial_id": t, "cached": False, "status": "ok", "failed_splits": 0,
             **{f"split{k}_test_score": s for k, s in enumerate(scores)}}
            for t, scores in enumerate([[0.8, 0.9, 0.7], [0.82, 0.91, 0.69], [0.5, 0.62, 0.4]])]
    assert start_race(rows[:1], "score", 3, FoldRace()) is None  # no noise estimate yet
    race = start_race(rows, "score", 3, FoldRace())
    assert race["incumbent"] == 1 and race["scores"] == [0.82, 0.91, 0.69] and race["dof"] == 4
    assert race_verdict([0.1], race) == ("", race_verdict([0.1], race)[1])  # before min_folds
    assert race_verdict([0.1, 0.1, 0.1], race)[0] == ""  # after the last fold: complete
    reason, estimate = race_verdict([0.5, 0.6], race)
    assert "dropped after 2 of 3 folds" in reason and estimate == pytest.approx(race["mean"] - 0.315)
    assert race_verdict([0.81, 0.92], race)[0] == ""  # not clearly worse
    # a cached repeat, a failed fold or a pruned row is no complete candidate
    others = [{**rows[2], "trial_id": 3, "cached": True}, {**rows[2], "trial_id": 4, "failed_splits": 1},
              {**rows[2], "trial_id": 5, "status": "pruned"}]
    assert start_race(rows + others, "score", 3, FoldRace()) == race


@pytest.mark.parametrize("racing, message", [
    ("yes", "racing: True, False, a dict"),
    ({"min_folds": 0}, "racing.min_folds: must be >= 1"),
    ({"confidence": 1.5}, r"racing.confidence: must be in \(0.5, 1\)"),
    ({"min_fold": 2}, "racing.min_fold: unknown key .*did you mean 'min_folds'"),
])
def test_bad_racing_settings_are_refused_in_one_line(racing, message):
    X, _ = data()
    with pytest.raises(ValueError, match=message) as error:
        search(racing=racing).fit(X)
    assert "\n" not in str(error.value)


def test_an_epochs_budget_is_refused_under_racing():
    X, _ = data()
    for budget in ({"max_training_epochs": 10}, Budget(max_training_epochs=10)):
        with pytest.raises(ValueError, match="budget.max_training_epochs: under fold racing"):
            search(budget=budget).fit(X)
    with pytest.raises(TypeError, match="budget: expected hpsearch.Budget"):
        search(budget="10 fits").fit(X)
    search(budget={"max_training_epochs": 10}, racing=False, max_evaluations=4).fit(X)


scores = st.floats(-1.0, 1.0, allow_nan=False)


@given(st.lists(scores, min_size=3, max_size=8), st.lists(scores, min_size=1, max_size=8),
       st.floats(0.0, 0.5), st.integers(1, 4), st.floats(0.0, 0.5))
def test_a_drop_needs_min_folds_never_the_last_and_only_below_the_incumbent(incumbent, candidate, spread,
                                                                              min_folds, lower):
    race = {"incumbent": 0, "scores": incumbent, "mean": float(np.mean(incumbent)), "spread": spread,
            "min_folds": min_folds, "confidence": 0.99, "t": 2.5}
    candidate = candidate[:len(incumbent)]
    reason, estimate = race_verdict(candidate, race)
    if reason:
        assert min_folds <= len(candidate) < len(incumbent)
        assert estimate <= race["mean"]  # below it, but for rounding
        # a candidate lower still on every fold is dropped too
        assert race_verdict([s - lower for s in candidate], race)[0]
    else:
        assert math.isnan(estimate)


@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=1, max_size=30))
def test_no_dropped_candidate_ranks_above_a_complete_one(candidates):
    means = np.array([m for m, _ in candidates])
    dropped = np.array([d for _, d in candidates])
    ranks = cv_ranks(means, dropped)
    if dropped.any() and (~dropped).any():
        assert ranks[~dropped].max() < ranks[dropped].min()
    for group in (dropped, ~dropped):  # within each, the higher mean ranks first
        order = np.argsort(-means[group], kind="stable")
        assert (np.diff(ranks[group][order]) >= 0).all()
