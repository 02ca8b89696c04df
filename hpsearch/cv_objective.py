"""CrossValidationObjective: GeneticSearchCV's objective, params -> an estimator's
cross-validation scores, one or several metrics, as a plain outcome dict.

It pickles (trials run in worker processes) as long as the estimator, the data and the
scorers do. Per split k and metric m the outcome holds split<k>_test_<m> (and with
return_train_score split<k>_train_<m>), split<k>_fit_time and split<k>_score_time; a single
metric is named "score", as scikit-learn names it. The fitness is the mean test score of
`fitness_metric`.

A split whose fit or scoring raises scores `error_score`: NaN (the default) fails the
candidate (status "failed", the errors as its reason); a number becomes that split's score
for every metric and the candidate keeps status "ok" with the errors as its reason;
"raise" also fails it, and GeneticSearchCV then raises the estimator's own error
(raise_first_error reproduces it in the search's process).

Under fold racing (hpsearch.cv_racing; `racing` True) the outcome also holds folds_run, and
a call given a `race` (the incumbent's fold scores and the drop rule, fixed when the batch
was dispatched) stops after the fold where cv_racing.race_verdict drops the candidate: it
returns status "pruned", the folds it ran, and as fitness its estimated full-CV mean.

The estimator's parameters named random_state (or <step>__random_state) that are None and
not searched are seeded from the trial's seed (estimator_seeds), so a candidate scores the
same on every fit and the search is as reproducible as its random_state.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from .checks import did_you_mean
from .cv_racing import race_verdict

__all__ = ["CrossValidationObjective", "estimator_seeds", "unseeded_random_states"]

SINGLE = "score"  # the name of the one metric of a single-metric search


def _describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def unseeded_random_states(estimator: Any, searched: Iterable[str] = ()) -> list[str]:
    """The estimator's random_state parameters (a pipeline step's too) left None and not searched."""
    searched = set(searched)
    return sorted(name for name, value in estimator.get_params(deep=True).items()
                  if (name == "random_state" or name.endswith("__random_state")) and value is None
                  and name not in searched)


def estimator_seeds(seed: int, names: Sequence[str]) -> dict[str, int]:
    """A 32-bit seed per random_state parameter (scikit-learn's range), derived from the
    trial's seed and the parameter's name: equal for equal trials, different per step."""
    return {name: int(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),)).generate_state(1)[0])
            for name in names}


def _sample_aligned(value: Any, n_samples: int) -> bool:
    """A fit parameter split along with X (scikit-learn's rule: array-like of len(X))."""
    if np.isscalar(value) or value is None or isinstance(value, (str, bytes, dict)):
        return False
    try:
        return _num_samples(value) == n_samples
    except TypeError:
        return False


class CrossValidationObjective:
    """The objective of GeneticSearchCV: params -> the estimator's cross-validation scores.

    scorer: callable(estimator, X, y) -> a number, or a dict {metric: number} (several
    metrics: scikit-learn's multi-metric scorer). seeded: the random_state parameters to
    seed from the trial's seed (unseeded_random_states)."""

    def __init__(self, estimator: Any, X: Any, y: Any, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                 scorer: Any, fit_params: Mapping[str, Any] | None = None, metric: str = "score", *,
                 fitness_metric: str | None = None, return_train_score: bool = False,
                 error_score: Any = np.nan, seeded: Sequence[str] = (), racing: Mapping[str, Any] | None = None
                 ) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.splits = [(np.asarray(train), np.asarray(test)) for train, test in splits]
        self.scorer = scorer
        self.fit_params = dict(fit_params or {})
        self.metric = metric  # the score's name, for config.toml and the plots' labels
        self.fitness_metric = fitness_metric  # None: the single metric, or the first of several
        self.return_train_score = return_train_score
        self.error_score = error_score
        self.seeded = list(seeded)
        self.racing = None if racing is None else dict(racing)  # FoldRace.to_config(), where it races

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
                "splits_sha": digest(self.splits), "n_splits": len(self.splits),
                "fitness_metric": self.fitness_metric, "train_scores": self.return_train_score,
                "error_score": repr(self.error_score), "seeded": self.seeded,
                **({"racing": self.racing} if self.racing is not None else {})}

    def candidate(self, params: Mapping[str, Any], seed: int) -> Any:
        """An unfitted clone with the params and the trial's seeds for the unseeded random_states."""
        return clone(self.estimator).set_params(**clone(dict(params), safe=False),
                                                **estimator_seeds(seed, self.seeded))

    def _fit_params(self, train: np.ndarray) -> dict[str, Any]:
        n = _num_samples(self.X)
        return {name: _safe_indexing(value, train) if _sample_aligned(value, n) else value
                for name, value in self.fit_params.items()}

    def _scores(self, estimator: Any, X: Any, y: Any) -> dict[str, float]:
        scores = self.scorer(estimator, X, y)
        if isinstance(scores, Mapping):
            return {str(name): float(value) for name, value in scores.items()}
        return {SINGLE: float(scores)}

    def _split(self, params: Mapping[str, Any], seed: int, train: np.ndarray, test: np.ndarray,
               times: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        """Fit on train, score on test (and train): raises what the estimator raises."""
        estimator = self.candidate(params, seed)
        X_train, X_test = _safe_indexing(self.X, train), _safe_indexing(self.X, test)
        y_train = None if self.y is None else _safe_indexing(self.y, train)
        y_test = None if self.y is None else _safe_indexing(self.y, test)
        start = time.perf_counter()
        if y_train is None:
            estimator.fit(X_train, **self._fit_params(train))
        else:
            estimator.fit(X_train, y_train, **self._fit_params(train))
        times["fit_time"] = time.perf_counter() - start
        start = time.perf_counter()
        test_scores = self._scores(estimator, X_test, y_test)
        times["score_time"] = time.perf_counter() - start
        train_scores = self._scores(estimator, X_train, y_train) if self.return_train_score else {}
        return test_scores, train_scores

    def __call__(self, params: Mapping[str, Any], seed: int,
                 race: Mapping[str, Any] | None = None) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        names: list[str] = []
        fitness: list[float] = []
        errors = []
        numeric_error = not isinstance(self.error_score, str) and not math.isnan(self.error_score)
        for k, (train, test) in enumerate(self.splits):
            times = {"fit_time": math.nan, "score_time": math.nan}
            start = time.perf_counter()
            try:
                test_scores, train_scores = self._split(params, seed, train, test, times)
            except Exception as error:
                if math.isnan(times["fit_time"]):
                    times["fit_time"] = time.perf_counter() - start
                errors.append(f"split {k}: {_describe_error(error)}")
                fill = float(self.error_score) if numeric_error else math.nan
                known = names or [self.fitness_metric or SINGLE]
                test_scores = dict.fromkeys(known, fill)
                train_scores = dict.fromkeys(known, fill) if self.return_train_score else {}
            names += [name for name in test_scores if name not in names]
            metric = self.fitness_metric or names[0]
            if metric not in test_scores:
                raise ValueError(f"refit: {metric!r} is not a metric the scorer returns "
                                 f"(it returns {', '.join(test_scores)})")
            score = test_scores[metric]
            if not math.isfinite(score) and not (errors and errors[-1].startswith(f"split {k}:")):
                errors.append(f"split {k}: non-finite score {score}")
            fitness.append(score)
            outcome.update({f"split{k}_test_{name}": value for name, value in test_scores.items()})
            outcome.update({f"split{k}_train_{name}": value for name, value in train_scores.items()})
            outcome.update({f"split{k}_{name}": value for name, value in times.items()})
            dropped, estimate = race_verdict(fitness, race) if race else ("", math.nan)
            if dropped:
                return {"status": "pruned", "fitness": estimate, "reason": "; ".join([*errors, dropped]),
                        **outcome, "failed_splits": len(errors), "folds_run": k + 1}
        reason = "; ".join(errors)
        outcome["failed_splits"] = len(errors)
        if self.racing is not None:
            outcome["folds_run"] = len(self.splits)
        if errors and not (numeric_error and all(math.isfinite(f) for f in fitness)):
            return {"status": "failed", "reason": reason, **outcome}
        return {"fitness": float(np.mean(fitness)), "reason": reason, **outcome}

    def raise_first_error(self, params: Mapping[str, Any], seed: int) -> None:
        """Cross-validate params in this process, letting the first error through (the
        estimator's own exception); returns if every split fits and scores."""
        for train, test in self.splits:
            self._split(params, seed, train, test, {})
