"""GeneticSearchCV: the genetic search over a scikit-learn estimator's parameters, scored by
cross-validation, in scikit-learn's search conventions (GridSearchCV, RandomizedSearchCV).

    from scipy.stats import loguniform
    from hpsearch import GeneticSearchCV
    search = GeneticSearchCV(pipeline, {"clf__alpha": loguniform(1e-6, 1e-1), "clf__penalty": ["l2", None]},
                             cv=5, scoring=["accuracy", "f1_macro"], refit="f1_macro", max_evaluations=40,
                             random_state=0, n_jobs=2).fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_new), pd.DataFrame(search.cv_results_)

Each trial of the GeneticSearch is one candidate: a clone of the estimator with the genome's
parameters (the genes' names are the estimator's parameter names, `step__param` included),
fitted and scored on every cross-validation split (cv_objective.CrossValidationObjective,
which pickles: trials run in worker processes). Its fitness is the mean test score of the
metric refit names (the one metric, or the first of several). The GA's seed comes from
random_state; the estimator's random_state parameters left None are seeded from each
trial's seed. With out_dir the search keeps a results directory like any other (trials.csv
with the per-split scores and times, plots, resume by fitting again with the same arguments).
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, indexable

from .callbacks import Callback, CallbackList, ProgressBar
from .cv_objective import CrossValidationObjective, estimator_seeds, unseeded_random_states
from .cv_racing import FoldRace, FoldRacing, race_budget, race_settings
from .cv_results import cv_results, metric_names
from .distributions import space_from_distributions
from .results import FAILED_STATUSES
from .search import GeneticSearch
from .settings import GA, Budget, Parallel
from .space import Space
from .strategies.racing import Racing

__all__ = ["CrossValidationObjective", "GeneticSearchCV"]


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


def _split(cv: Any, X: Any, y: Any, groups: Any) -> list:
    """cv's splits; groups go to a splitter whose split takes them (a custom split(X, y) does not)."""
    if groups is None:
        return list(cv.split(X, y))
    parameters = inspect.signature(cv.split).parameters.values()
    if any(p.name == "groups" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return list(cv.split(X, y, groups))
    raise ValueError(f"groups: {type(cv).__name__}.split takes no groups; fit without groups, or give a "
                     f"splitter that uses them (GroupKFold, LeaveOneGroupOut)")


class _FitErrors(Callback):
    """What scikit-learn's searches do with errors: error_score="raise" raises the first
    failed candidate's error; whatever error_score, a first generation whose every fit
    failed (invalid input: NaN, empty or 1-D X, a continuous target for a classifier, ...)
    raises the estimator's own error, reproduced in this process, rather than searching on."""

    def __init__(self, objective: CrossValidationObjective, space: Space, error_score: Any) -> None:
        self.objective, self.space, self.error_score = objective, space, error_score
        self.first_generation: list[dict[str, Any]] = []

    def _raise(self, trial: Mapping[str, Any], why: str) -> None:
        try:
            self.objective.raise_first_error(self.space.parse_row(trial), int(trial["seed"]))
        except Exception as error:
            error.add_note(f"GeneticSearchCV: {why} (trial {trial['trial_id']})")
            raise
        raise ValueError(f"{why}: trial {trial['trial_id']}: {trial['reason']}")

    def on_trial(self, trial: Mapping[str, Any], search: Any) -> None:
        if trial["generation"] == 0:
            self.first_generation.append(dict(trial))
        if self.error_score == "raise" and trial["status"] in FAILED_STATUSES and not trial["cached"]:
            if not trial.get("failed_splits"):  # a timeout, a worker that died: nothing to reproduce
                raise ValueError(f"trial {trial['trial_id']} failed and error_score='raise': {trial['reason']}")
            self._raise(trial, "a fit failed and error_score='raise'")

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> None:
        rows, n_splits = self.first_generation, len(self.objective.splits)
        if rows and all(row.get("failed_splits") == n_splits for row in rows):
            self._raise(rows[0], f"all {len(rows) * n_splits} fits of the first {len(rows)} candidates failed")
        self.first_generation = []


class GeneticSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Genetic search over an estimator's parameters, scored by cross-validation.

    Args:
        estimator: a scikit-learn estimator (a Pipeline too); cloned for every fit.
        space: an hpsearch.Space whose genes are named after the estimator's parameters
            (``clf__alpha`` for a pipeline step's), or param_distributions as
            RandomizedSearchCV takes them: {name: a list of values, scipy.stats uniform /
            loguniform / randint, an sklearn-genetic-opt dimension or a gene}
            (hpsearch.distributions). Choices may be str, int, float, bool or None.
        scoring: None (the estimator's score method), a scorer name or a callable
            scorer(est, X, y); or several metrics: a list, tuple or set of names, a dict
            {name: scorer}, or a callable returning {name: score}. Higher is better (neg_*
            for losses).
        cv: as in scikit-learn (None: 5 folds, stratified for classifiers; an int; a
            splitter; an iterable of (train, test) index arrays). ``groups`` (fit) go to its
            split if it takes them.
        max_evaluations: candidates cross-validated (the GA's budget; None: budget's or none);
            under fold racing, the fits of that many full cross-validations, so that the
            folds dropped candidates skip pay for more candidates.
        population: the GA's population (None: hpsearch's default for the budget).
        generations: the GA's generations (None: likewise).
        ga: hpsearch.GA (or a dict of its fields) for the GA's other settings
            (crossover_prob, ...); the arguments above override its fields.
        breeding: an hpsearch.strategies.Breeding (None: GeneticSearch's default, the
            model-assisted GA); RandomSearch() for random search.
        budget: hpsearch.Budget (or a dict of its fields): patience, time_limit, ...
        parallel: hpsearch.Parallel (or a dict of its fields): timeout, backend, ...
        n_jobs: candidates cross-validated at once, each in a worker process (None: 1; -1:
            all cores). The results do not depend on it.
        random_state: the GA's seed (int, RandomState, or None for a fresh one). The
            estimator's random_state parameters left None are seeded from each trial's seed
            (``best_estimator_`` gets the best trial's); those set, or searched, are left
            alone.
        refit: True (fit ``best_estimator_`` on the whole data with ``best_params_``), False,
            a metric's name (several metrics: the one the GA maximises, ranks and refits on)
            or a callable(``cv_results_``) -> the index of the candidate to refit. With
            several metrics and refit False or a callable, the GA maximises the first metric.
        error_score: the score of a split whose fit or scoring raises: np.nan (the candidate
            fails and ranks last), a number, or "raise" (the error is raised). Whatever it
            is, a first generation whose every fit fails raises the estimator's own error.
        return_train_score: also score every split's training data
            (``split<k>_train_<metric>``).
        racing: race candidates on the folds (hpsearch.cv_racing): True (FoldRace()), False,
            or a FoldRace or dict of its fields (min_folds=2, confidence=0.99). A candidate
            clearly worse than the incumbent, paired on the folds both ran, is dropped after
            a few folds; only candidates that ran every fold can be the best. Active with
            more folds than min_folds (by default from 3).
        warm_start_configs: parameter dicts (every gene given) to put into generation 0
            (GeneticSearch's warm_start; named as sklearn-genetic-opt names it, since
            scikit-learn's own warm_start is a bool its checks set).
        callbacks: hpsearch.callbacks: per trial and per generation, to log, draw or stop
            early.
        out_dir: the search's results directory (trials.csv, plots, checkpoint); fitting
            again with the same arguments resumes it, or extends it under a larger budget.
            Needs an int random_state to resume.
        verbose: 0 quiet; 1 a progress bar over the candidates; 2 also a log line per
            generation.

    Attributes:
        cv_results_: one entry per candidate cross-validated, in trial order (the GA's
            re-visits of a candidate are not repeated), as scikit-learn's BaseSearchCV's,
            with ``trial_id`` and ``generation`` too; under fold racing ``folds_run`` and
            ``dropped``, a dropped candidate's skipped folds NaN, its mean over the folds it
            ran, ranked after all candidates that ran every fold.
        best_index_: the refit candidate's index in ``cv_results_``.
        best_params_: its parameters.
        best_score_: its mean cross-validated score (several metrics: refit's).
        best_estimator_: the estimator refit on the whole data (with refit).
        refit_time_: seconds the refit took.
        scorer_: the scorer used (several metrics: a dict of them).
        n_splits_: cross-validation folds.
        multimetric_: whether several metrics were scored.
        classes_: the classes, for a classifier.
        n_features_in_: features seen in fit.
        search_result_: the hpsearch.SearchResult (trials, generations, best).
    """

    def __init__(self, estimator: Any, space: Any, *, scoring: Any = None, cv: Any = None,
                 max_evaluations: int | None = 50, population: int | None = None,
                 generations: int | None = None, ga: GA | dict | None = None, breeding: Any = None,
                 budget: Budget | dict | None = None, parallel: Parallel | dict | None = None,
                 n_jobs: int | None = None, random_state: Any = None,
                 refit: Any = True, error_score: Any = np.nan, return_train_score: bool = False, racing: Any = True,
                 warm_start_configs: Any = None, callbacks: Any = None, out_dir: Any = None, verbose: int = 0) -> None:
        self.estimator = estimator
        self.space = space
        self.scoring = scoring
        self.cv = cv
        self.max_evaluations = max_evaluations
        self.population = population
        self.generations = generations
        self.ga = ga
        self.breeding = breeding
        self.budget = budget
        self.parallel = parallel
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.refit = refit
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.racing = racing
        self.warm_start_configs = warm_start_configs
        self.callbacks = callbacks
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
    def _scoring(self) -> tuple[Any, bool, list[str] | None]:
        """(scorer, several metrics, their names where known before a fit)."""
        scoring = self.scoring
        if callable(scoring):
            return scoring, False, None
        if scoring is None or isinstance(scoring, str):
            return check_scoring(self.estimator, scoring), False, ["score"]
        if isinstance(scoring, (list, tuple, set, dict)) and scoring:
            names = sorted(scoring) if isinstance(scoring, set) else list(scoring)
            if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
                raise ValueError(f"scoring: several metrics are distinct names, got {scoring!r}")
            return check_scoring(self.estimator, scoring), True, names
        raise ValueError(f"scoring: None, a scorer name, a callable, or several metrics (a list, tuple, set or "
                         f"dict of scorers), got {scoring!r}")

    def _fitness_metric(self, multimetric: bool, names: list[str] | None) -> str | None:
        refit = self.refit
        if multimetric:
            if refit is not False and not callable(refit) and not (isinstance(refit, str) and refit in (names or [])):
                raise ValueError("For multi-metric scoring, the parameter refit must be set to a scorer key or a "
                                 "callable to refit an estimator with the best parameter setting on the whole "
                                 "data and make the best_* attributes available for that metric. If this is not "
                                 f"needed, refit should be set to False explicitly. {refit!r} was passed.")
            return refit if isinstance(refit, str) else None
        return refit if isinstance(refit, str) and names is None else None  # a callable's dict

    def _seed(self) -> int:
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            if self.random_state < 0:
                raise ValueError(f"random_state: must be a non-negative integer, got {self.random_state}")
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _check_settings(self) -> None:
        error_score = self.error_score
        if not (error_score == "raise" or (isinstance(error_score, (int, float, np.number))
                                           and not isinstance(error_score, bool))):
            raise ValueError(f"error_score: must be 'raise' or a number (np.nan by default), got {error_score!r}")
        configs = self.warm_start_configs
        if configs is not None and (isinstance(configs, (bool, Mapping, str))
                                    or not all(isinstance(g, Mapping) for g in configs)):
            raise TypeError(f"warm_start_configs: a list of parameter dicts to start generation 0 with, "
                            f"got {configs!r}")

    def _search(self, objective: CrossValidationObjective, space: Space, callbacks: list[Any],
                race: FoldRace | None) -> GeneticSearch:
        flat: dict[str, Any] = {"max_evaluations": self.max_evaluations, "population": self.population,
                                "generations": self.generations, "n_jobs": 1 if self.n_jobs is None else self.n_jobs}
        n_splits = len(objective.splits)
        if race is not None:
            flat.update(race_budget(self.max_evaluations, self.budget, n_splits))
        parallel_given = self.parallel.n_jobs if isinstance(self.parallel, Parallel) else (
            (self.parallel or {}).get("n_jobs"))
        if self.n_jobs is None and parallel_given is not None:
            del flat["n_jobs"]  # the parallel settings' own
        # The folds are the instances candidates race on (cv_racing), not training seeds.
        search = GeneticSearch(space, objective, ga=self.ga, breeding=self.breeding, budget=self.budget,
                               parallel=self.parallel, racing=Racing(noise="none"),
                               seed=self._seed(), out_dir=self.out_dir, quiet=self.verbose < 2,
                               warm_start=[dict(g) for g in self.warm_start_configs or ()], callbacks=callbacks,
                               **{k: v for k, v in flat.items() if v is not None})
        if race is not None:  # the engine's Training seam, set to race the candidates' folds
            search.training = FoldRacing(  # type: ignore[assignment]  # the seam's type is Training
                race, n_splits, lambda rows: objective.fitness_metric or metric_names(rows)[0])
        if self.verbose >= 1:
            total = search.budget.max_evaluations
            search.callbacks.callbacks.append(ProgressBar(total and total // n_splits if race else total,
                                                          "GeneticSearchCV"))
        if self.out_dir is not None:  # config.toml: say what was searched
            config = search.effective_config()
            config["objective"] = {**config.get("objective", {}), "kind": "sklearn-cv",
                                   "estimator": repr(self.estimator)[:2000], "cv": repr(self.cv),
                                   "n_splits": n_splits}
            search.config = config
        return search

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> GeneticSearchCV:
        """Run the search (or resume it in out_dir); refit the best candidate when refit.

        fit_params go to the estimator's fit, sample-aligned ones split with X; groups go
        to the cross-validation splitter (if its split takes groups)."""
        space = space_from_distributions(self.space)
        self._check_settings()
        scorer, multimetric, names = self._scoring()
        fitness_metric = self._fitness_metric(multimetric, names)
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = _split(cv, X, y, groups)
        if not splits:
            raise ValueError("cv: gave no splits")
        race = race_settings(self.racing)
        race = race if race is not None and race.active(len(splits)) else None
        metric = str(fitness_metric or (names[0] if multimetric and names else None) or (
            self.scoring if isinstance(self.scoring, str) else
            "score" if self.scoring is None else getattr(self.scoring, "__name__", "score")))
        objective = CrossValidationObjective(
            self.estimator, X, y, splits, scorer, fit_params, metric=metric, fitness_metric=fitness_metric,
            return_train_score=self.return_train_score, error_score=self.error_score,
            seeded=unseeded_random_states(self.estimator, space.names), racing=race.to_config() if race else None)
        user = CallbackList(self.callbacks).callbacks
        search = self._search(objective, space, [_FitErrors(objective, space, self.error_score), *user], race)
        try:
            self.search_result_ = search.run()
        finally:
            search.callbacks.end(search)
        rows = [row for row in search.trials.rows if not row["cached"]]
        self.cv_results_ = cv_results(rows, [space.parse_row(row) for row in rows], len(splits),
                                      self.return_train_score, raced=race is not None)
        self._warn_failures(rows)
        found = metric_names(rows)
        self.multimetric_ = multimetric or found != ["score"]
        self.scorer_ = ({name: check_scoring(self.estimator, value) for name, value in self.scoring.items()}
                        if isinstance(self.scoring, dict) else
                        {name: check_scoring(self.estimator, name) for name in names or ()}
                        if multimetric else scorer)
        self.n_splits_ = len(splits)
        rank_metric = fitness_metric or found[0]
        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.cv_results_["params"]):
                raise IndexError(f"refit: returned {index!r}, not the index of a candidate")
            self.best_index_ = int(index)
        elif self.refit or not self.multimetric_:
            self.best_index_ = int(self.cv_results_[f"rank_test_{rank_metric}"].argmin())
            self.best_score_ = float(self.cv_results_[f"mean_test_{rank_metric}"][self.best_index_])
        if hasattr(self, "best_index_"):
            self.best_params_ = self.cv_results_["params"][self.best_index_]
        if self.refit:
            seed = int(rows[self.best_index_]["seed"])
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False), **estimator_seeds(seed, objective.seeded))
            start = time.time()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    @staticmethod
    def _warn_failures(rows: list[dict[str, Any]]) -> None:
        failed = [row for row in rows if row["status"] in FAILED_STATUSES or row.get("failed_splits")]
        if failed:
            first = failed[0]
            warnings.warn(f"{len(failed)} of {len(rows)} candidates had failed fits (scored NaN, ranked last, "
                          f"unless error_score is a number); the first, trial {first['trial_id']}: "
                          f"{first['reason']}", FitFailedWarning, stacklevel=3)

    # -- the best estimator's methods -----------------------------------------------------
    def score(self, X: Any, y: Any = None) -> float:
        """The scorer's score of ``best_estimator_`` on X, y (several metrics: refit's)."""
        _check_refit(self, "score")
        check_is_fitted(self)
        scorer = self.scorer_[self.refit] if isinstance(self.scorer_, dict) else self.scorer_
        score = scorer(self.best_estimator_, X, y)
        return float(score[self.refit] if isinstance(score, Mapping) else score)

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
