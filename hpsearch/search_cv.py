"""GeneticSearchCV: the genetic search over a scikit-learn estimator's parameters, scored by
cross-validation, in scikit-learn's search conventions (GridSearchCV, RandomizedSearchCV).

    from hpsearch import FloatGene, GeneticSearchCV, Space
    space = Space([FloatGene("clf__alpha", 1e-6, 1e-1, log=True), FloatGene("clf__l1_ratio", 0.0, 1.0)])
    search = GeneticSearchCV(pipeline, space, cv=5, scoring="accuracy", max_evaluations=40,
                             random_state=0, n_jobs=2).fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_new), pd.DataFrame(search.cv_results_)

Each trial of the GeneticSearch is one candidate: a clone of the estimator with the genome's
parameters (the genes' names are the estimator's parameter names, `step__param` included),
fitted and scored on every cross-validation split (CrossValidationObjective, which pickles:
trials run in worker processes). Its fitness is the mean test score. The GA's seed comes from
random_state; the estimator's own random_state is left as the user set it. With out_dir the
search keeps a results directory like any other (trials.csv with the per-split scores and
times, plots, resume by fitting again with the same arguments).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted, indexable

from .checks import did_you_mean
from .results import FAILED_STATUSES
from .search import GeneticSearch
from .settings import GA, Budget, Parallel
from .space import Space

__all__ = ["CrossValidationObjective", "GeneticSearchCV"]


def _describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


class CrossValidationObjective:
    """The objective of GeneticSearchCV: params -> the estimator's cross-validation scores.

    Holds the (unfitted) estimator, the data, the splits as index arrays, the scorer and the
    fit parameters; pickles as long as they do. Returns the mean test score as the fitness
    and, per split k, split<k>_test_score, split<k>_fit_time and split<k>_score_time. A split
    whose fit or scoring raises scores NaN (scikit-learn's error_score=np.nan); a candidate
    with any NaN score fails (status "failed", the first error as its reason). The trial's
    seed is not used: the estimator's random_state stays the user's.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                 scorer: Any, fit_params: Mapping[str, Any] | None = None, metric: str = "score") -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.splits = [(np.asarray(train), np.asarray(test)) for train, test in splits]
        self.scorer = scorer
        self.fit_params = dict(fit_params or {})
        self.metric = metric  # the score's name, for config.toml and the plots' labels

    def check_params(self, names: Iterable[str]) -> None:
        """Every gene must name a parameter of the estimator (get_params(deep=True))."""
        valid = sorted(self.estimator.get_params(deep=True))
        for name in names:
            if name not in valid:
                hint = did_you_mean(name, valid)
                raise ValueError(f"space: gene {name!r} is not a parameter of {type(self.estimator).__name__}"
                                 + (f" ({hint})" if hint else "")
                                 + f"; valid: {', '.join(valid)}")

    def fingerprint(self) -> dict[str, Any]:
        """Identity for resume checks: hashes of the estimator, the scorer, the data and the splits."""
        import joblib

        def digest(value: Any) -> str:
            try:
                return str(joblib.hash(value))
            except Exception:  # not picklable: the trials could not run in workers either
                return repr(value)

        return {"kind": "sklearn-cv", "estimator": type(self.estimator).__name__,
                "estimator_sha": digest(clone(self.estimator)), "scorer": repr(self.scorer),
                "scorer_sha": digest(self.scorer), "data_sha": digest((self.X, self.y, self.fit_params)),
                "splits_sha": digest(self.splits), "n_splits": len(self.splits)}

    def _fit_params(self, train: np.ndarray) -> dict[str, Any]:
        n = _num_samples(self.X)
        return {name: _safe_indexing(value, train) if _sample_aligned(value, n) else value
                for name, value in self.fit_params.items()}

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        scores, errors = [], []
        for k, (train, test) in enumerate(self.splits):
            estimator = clone(self.estimator).set_params(**clone(dict(params), safe=False))
            X_train, X_test = _safe_indexing(self.X, train), _safe_indexing(self.X, test)
            y_train = None if self.y is None else _safe_indexing(self.y, train)
            y_test = None if self.y is None else _safe_indexing(self.y, test)
            fit_time = score_time = math.nan
            score = math.nan
            start = time.perf_counter()
            try:
                if y_train is None:
                    estimator.fit(X_train, **self._fit_params(train))
                else:
                    estimator.fit(X_train, y_train, **self._fit_params(train))
                fit_time = time.perf_counter() - start
                start = time.perf_counter()
                score = float(self.scorer(estimator, X_test, y_test))
                score_time = time.perf_counter() - start
            except Exception as error:
                if math.isnan(fit_time):
                    fit_time = time.perf_counter() - start
                errors.append(f"split {k}: {_describe_error(error)}")
            else:
                if not math.isfinite(score):
                    errors.append(f"split {k}: non-finite score {score}")
            scores.append(score)
            outcome.update({f"split{k}_test_score": score, f"split{k}_fit_time": fit_time,
                            f"split{k}_score_time": score_time})
        if errors:
            return {"status": "failed", "reason": "; ".join(errors), **outcome}
        return {"fitness": float(np.mean(scores)), **outcome}


def _sample_aligned(value: Any, n_samples: int) -> bool:
    """A fit parameter split along with X (scikit-learn's rule: array-like of len(X))."""
    if np.isscalar(value) or value is None or isinstance(value, (str, bytes, dict)):
        return False
    try:
        return _num_samples(value) == n_samples
    except TypeError:
        return False


def _check_refit(search: GeneticSearchCV, attr: str) -> None:
    if not search.refit:
        raise AttributeError(f"This {type(search).__name__} instance was initialized with `refit=False`. "
                             f"{attr} is available only after refitting on the best parameters. You can "
                             f"refit an estimator manually using the `best_params_` attribute")


def _estimator_has(attr: str):
    """As scikit-learn's search: the method exists if the best (else the given) estimator has it."""

    def check(self: GeneticSearchCV) -> bool:
        _check_refit(self, attr)
        getattr(self.best_estimator_ if hasattr(self, "best_estimator_") else self.estimator, attr)
        return True

    return check


def _param_arrays(candidates: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """param_<name> masked arrays, as scikit-learn lays them out (object dtype for strings
    and sequences)."""
    values: dict[str, dict[int, Any]] = defaultdict(dict)
    for index, params in enumerate(candidates):
        for name, value in params.items():
            values[f"param_{name}"][index] = value
    arrays = {}
    for key, by_index in values.items():
        listed = list(by_index.values())
        try:
            probe = np.array(listed)
        except ValueError:
            dtype = np.dtype(object)
        else:
            dtype = probe.dtype if probe.dtype.kind != "U" and probe.ndim == 1 else np.dtype(object)
        array = MaskedArray(np.empty(len(candidates), dtype=dtype), mask=True)
        for index, value in by_index.items():
            array[index] = value
        arrays[key] = array
    return arrays


def _ranks(means: np.ndarray) -> np.ndarray:
    """rank_test_score: 1 is the best; NaN means tie with the worst (scikit-learn's rule)."""
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


class GeneticSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Genetic search over an estimator's parameters, scored by cross-validation.

    Args:
        estimator: a scikit-learn estimator (a Pipeline too); cloned for every fit.
        space: an hpsearch.Space whose genes are named after the estimator's parameters
            (``clf__alpha`` for a pipeline step's). Categorical choices are str, int, float
            or bool.
        scoring: None (the estimator's score method), a scorer name or a callable scorer(est, X, y);
            higher is better, as in scikit-learn (neg_* for losses). One metric only.
        cv: as in scikit-learn (None: 5 folds, stratified for classifiers; an int; a splitter
            such as PredefinedSplit; an iterable of (train, test) index arrays).
        max_evaluations: candidates cross-validated (the GA's budget; None: budget's or none).
        population: the GA's population (None: hpsearch's default for the budget).
        generations: the GA's generations (None: likewise).
        ga: hpsearch.GA (or a dict of its fields) for the GA's other settings
            (crossover_prob, algorithm="random", ...); the arguments above override its
            fields.
        budget: hpsearch.Budget (or a dict of its fields): patience, time_limit, ...
        parallel: hpsearch.Parallel (or a dict of its fields): timeout, backend, ...
        n_jobs: candidates cross-validated at once, each in a worker process (None: 1; -1:
            all cores). The results do not depend on it.
        random_state: the GA's seed (int, RandomState, or None for a fresh one). The
            estimator's own random_state is not touched.
        refit: fit ``best_estimator_`` on the whole data with ``best_params_`` (True), or not
            (False), or a callable(``cv_results_``) -> the index of the candidate to refit.
        out_dir: the search's results directory (trials.csv, plots, checkpoint); fitting
            again with the same arguments resumes it, or extends it under a larger budget.
            Needs an int random_state to resume.
        verbose: 0 quiet; more logs the search's progress.

    Attributes:
        cv_results_: one entry per candidate cross-validated, in trial order (the GA's
            re-visits of a candidate are not repeated), as scikit-learn's BaseSearchCV's,
            with ``trial_id`` and ``generation`` too.
        best_index_: the refit candidate's index in ``cv_results_``.
        best_params_: its parameters.
        best_score_: its mean cross-validated score.
        best_estimator_: the estimator refit on the whole data (with refit).
        refit_time_: seconds the refit took.
        scorer_: the scorer used.
        n_splits_: cross-validation folds.
        multimetric_: False (one metric only).
        classes_: the classes, for a classifier.
        n_features_in_: features seen in fit.
        search_result_: the hpsearch.SearchResult (trials, generations, best).
    """

    def __init__(self, estimator: Any, space: Space, *, scoring: Any = None, cv: Any = None,
                 max_evaluations: int | None = 50, population: int | None = None,
                 generations: int | None = None, ga: GA | dict | None = None, budget: Budget | dict | None = None,
                 parallel: Parallel | dict | None = None, n_jobs: int | None = None, random_state: Any = None,
                 refit: Any = True, out_dir: Any = None, verbose: int = 0) -> None:
        self.estimator = estimator
        self.space = space
        self.scoring = scoring
        self.cv = cv
        self.max_evaluations = max_evaluations
        self.population = population
        self.generations = generations
        self.ga = ga
        self.budget = budget
        self.parallel = parallel
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.refit = refit
        self.out_dir = out_dir
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        from copy import deepcopy

        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    # -- fitting ------------------------------------------------------------------------
    def _scorer(self) -> Any:
        if callable(self.scoring):
            return self.scoring
        if self.scoring is None or isinstance(self.scoring, str):
            return check_scoring(self.estimator, self.scoring)
        raise ValueError(f"scoring: one metric (None, a scorer name or a callable), got {self.scoring!r}; "
                         f"GeneticSearchCV does not search on several metrics")

    def _seed(self) -> int:
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            if self.random_state < 0:
                raise ValueError(f"random_state: must be a non-negative integer, got {self.random_state}")
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _search(self, objective: CrossValidationObjective) -> GeneticSearch:
        if not isinstance(self.space, Space):
            raise TypeError(f"space: expected an hpsearch.Space, got {type(self.space).__name__}")
        flat: dict[str, Any] = {"max_evaluations": self.max_evaluations, "population": self.population,
                "generations": self.generations, "n_jobs": 1 if self.n_jobs is None else self.n_jobs}
        parallel_given = self.parallel.n_jobs if isinstance(self.parallel, Parallel) else (
            (self.parallel or {}).get("n_jobs"))
        if self.n_jobs is None and parallel_given is not None:
            del flat["n_jobs"]  # the parallel settings' own
        search = GeneticSearch(self.space, objective, ga=self.ga, budget=self.budget, parallel=self.parallel,
                               seed=self._seed(), out_dir=self.out_dir, quiet=not self.verbose,
                               **{k: v for k, v in flat.items() if v is not None})
        if self.out_dir is not None:  # config.toml: say what was searched
            config = search.effective_config()
            config["objective"] = {**config.get("objective", {}), "kind": "sklearn-cv",
                                   "estimator": repr(self.estimator)[:2000], "cv": repr(self.cv),
                                   "n_splits": len(objective.splits)}
            search.config = config
        return search

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> GeneticSearchCV:
        """Run the search (or resume it in out_dir); refit the best candidate when refit.

        fit_params go to the estimator's fit, sample-aligned ones split with X; groups go
        to the cross-validation splitter."""
        scorer = self._scorer()
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        if not splits:
            raise ValueError("cv: gave no splits")
        metric = self.scoring if isinstance(self.scoring, str) else (
            "score" if self.scoring is None else getattr(self.scoring, "__name__", "score"))
        objective = CrossValidationObjective(self.estimator, X, y, splits, scorer, fit_params, metric=metric)
        search = self._search(objective)
        self.search_result_ = search.run()
        self.n_splits_ = len(splits)
        self.scorer_ = scorer
        self.multimetric_ = False
        self.cv_results_ = self._cv_results(search, len(splits))

        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.cv_results_["params"]):
                raise IndexError(f"refit: returned {index!r}, not the index of a candidate")
            self.best_index_ = int(index)
        else:
            self.best_index_ = int(self.cv_results_["rank_test_score"].argmin())
            self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.best_params_ = self.cv_results_["params"][self.best_index_]

        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    def _cv_results(self, search: GeneticSearch, n_splits: int) -> dict[str, Any]:
        """cv_results_ from the search's trials table (so a resumed search has them too)."""
        rows = [row for row in search.trials.rows if not row["cached"]]
        candidates = [self.space.parse_row(row) for row in rows]

        def column(name: str) -> np.ndarray:
            cells = [[row.get(f"split{k}_{name}") for k in range(n_splits)] for row in rows]
            return np.array([[math.nan if cell is None else cell for cell in line] for line in cells],
                            dtype=np.float64).reshape(len(rows), n_splits)

        scores = column("test_score")
        failed = np.array([row["status"] in FAILED_STATUSES for row in rows], dtype=bool)
        results: dict[str, Any] = {}
        for name in ("fit_time", "score_time"):
            times = column(name)
            results[f"mean_{name}"] = times.mean(axis=1)
            results[f"std_{name}"] = times.std(axis=1)
        results.update(_param_arrays(candidates))
        results["params"] = candidates
        for k in range(n_splits):
            results[f"split{k}_test_score"] = scores[:, k]
        means = scores.mean(axis=1)
        results["mean_test_score"] = means
        results["std_test_score"] = scores.std(axis=1)
        results["rank_test_score"] = _ranks(means)
        results["trial_id"] = np.array([row["trial_id"] for row in rows], dtype=np.int64)
        results["generation"] = np.array([row["generation"] for row in rows], dtype=np.int64)
        if failed.any():
            first = rows[int(np.argmax(failed))]
            warnings.warn(f"{int(failed.sum())} of {len(rows)} candidates failed and score NaN (ranked last); "
                          f"the first, trial {first['trial_id']}: {first['reason']}", FitFailedWarning, stacklevel=3)
        return results

    # -- the best estimator's methods -----------------------------------------------------
    def score(self, X: Any, y: Any = None) -> float:
        """The scorer's score of ``best_estimator_`` on X, y."""
        _check_refit(self, "score")
        check_is_fitted(self)
        return float(self.scorer_(self.best_estimator_, X, y))

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.score_samples(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @available_if(_estimator_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.best_estimator_.inverse_transform(X)

    @property
    def classes_(self) -> Any:
        """The class labels (refit=True and a classifier)."""
        _estimator_has("classes_")(self)
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        try:
            check_is_fitted(self)
        except Exception as error:
            raise AttributeError(f"{type(self).__name__} object has no n_features_in_ attribute.") from error
        return self.best_estimator_.n_features_in_

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "cv_results_")
