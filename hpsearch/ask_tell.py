"""Ask/tell: the genetic search for users who train in a loop of their own (PyTorch, a
gradient-boosting library), as Optuna's users keep theirs.

    with AskTellSearch(space, seed=0, max_evaluations=40, out_dir="runs/torch") as search:
        while not search.finished:
            for trial in search.ask():       # the generation's trials: params and a seed each
                search.tell(trial, train(trial.params, trial.seed))   # a number, or a dict
    search.result().best_params

It is GeneticSearch's own engine driven from outside: ask() breeds a generation and plans it
(the evaluation cache answers genomes seen before), tell() collects the scores, and the
generation is recorded, told to the GA and saved to the checkpoint when its last trial is
told, whatever order the trials were told in. So with the same seed, settings and scores it
makes exactly the trials GeneticSearch makes, trial seeds included (trial.trial_seed), and
out_dir is a results directory like any other: plots, report, hpsearch.load. Opening a
directory that holds a checkpoint resumes it from its last complete generation: the trials
of a generation that was not complete are asked again, with the same parameters and seeds.

A told value is what an objective returns: a number (the fitness, higher is better, or a loss
with direction="minimize") or a dict with "fitness" and optionally "status", "reason", other
metrics and a "curve"; an exception (or tell(trial, error="why")) makes a failed trial.
Multi-fidelity rungs are not asked (the caller may prune with a pruner of their own).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import logs
from .outcome import Trainer
from .run import SearchError
from .search import GeneticSearch
from .space import Space
from .status import SCORED_STATUSES
from .trial import WORST_FITNESS, _check_metrics, worker_name

__all__ = ["AskTellSearch", "ExternalObjective", "Trial"]


class ExternalObjective:
    """The objective of an ask/tell search: the caller trains the trials and tells the scores.
    Its name (and metric) identify it for a resume; it is never called."""

    def __init__(self, name: str = "ask-tell", metric: str | None = None) -> None:
        self.name = name
        if metric is not None:
            self.metric = metric

    def __call__(self, params: Mapping[str, Any], seed: int) -> Any:
        raise RuntimeError(f"{self.name}: an ask/tell search's trials are trained by the caller, "
                           f"who tells their scores (AskTellSearch.tell)")

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "ask-tell", "name": self.name, "metric": getattr(self, "metric", None)}


@dataclass(frozen=True)
class Trial:
    """One training to run: params (the genome, a plain dict) with its seed. number: its
    place among the generation's trials."""

    generation: int
    number: int
    params: dict[str, Any] = field(hash=False)
    seed: int


class _Told:
    """The evaluator of a generation whose outcomes the caller told."""

    def __init__(self, tasks: list[tuple[dict[str, Any], int]], outcomes: list[dict[str, Any]]) -> None:
        self.tasks, self.outcomes = tasks, outcomes
        self.environments: list[dict[str, Any]] = []  # the caller's loop trained them: not known here

    def evaluate(self, tasks, on_result=None):
        if [(dict(p), s) for p, s in tasks] != self.tasks:
            raise SearchError("ask/tell: the generation's plan changed between ask() and tell() (internal error)")
        for index, outcome in enumerate(self.outcomes):
            if on_result is not None:
                on_result(index, outcome)
        return self.outcomes


def _outcome(value: Any, error: Any, seconds: float) -> dict[str, Any]:
    """A told value as the engine's outcome dict (what trial.run_trial makes of an objective's)."""
    if error is not None or isinstance(value, BaseException):
        cause = error if error is not None else value
        text = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}".rstrip(": ")
        outcome: dict[str, Any] = {"status": "failed", "reason": text}
    else:  # a 0-d array or tensor is its number
        outcome = _check_metrics(dict(value) if isinstance(value, Mapping) else float(value))
    outcome.setdefault("seconds", seconds)
    outcome["worker"] = worker_name()
    if outcome["status"] not in SCORED_STATUSES:
        outcome["fitness"] = WORST_FITNESS
    return outcome


class AskTellSearch(GeneticSearch):
    """GeneticSearch whose trials the caller trains: ask() -> trials, tell(trial, score).

    space, seed, ga, budget, warm_start, direction, out_dir, quiet, callbacks and the
    settings' fields as GeneticSearch takes them (parallel settings do not apply: the caller
    runs the trials). name and metric identify the objective for a resume and the plots.
    Use it as a context manager, or call close(): it holds out_dir's lock while open. Call
    ask and tell from one thread (trials may train anywhere)."""

    def __init__(self, space: Space, *, name: str = "ask-tell", metric: str | None = None, **options: Any) -> None:
        if options.get("fidelity") is not None:
            raise ValueError("fidelity: an ask/tell search asks for whole trainings; prune inside your loop instead")
        super().__init__(space, ExternalObjective(name, metric), **options)
        self._stack: contextlib.ExitStack | None = None
        self._pending: dict[str, Any] | None = None  # the generation asked and not yet complete
        self.finished = False

    # -- opening and closing ----------------------------------------------------------------
    def open(self) -> AskTellSearch:
        """Take out_dir (resuming its checkpoint); ask() opens the search when not yet open."""
        if self._stack is not None:
            return self
        if not self.quiet and not logs.configured():
            logs.console()
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(self._holding_directory())
            stack.enter_context(self._log_file())
            self._open()
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        self._started = time.perf_counter() - self.spending.elapsed
        return self

    def close(self) -> None:
        """Release out_dir; what complete generations found stays saved (a later search resumes it)."""
        if self._stack is not None:
            self.callbacks.end(self)
            self._stack.close()
            self._stack = None
            self._pending = None

    def __enter__(self) -> AskTellSearch:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- ask and tell ---------------------------------------------------------------------
    @property
    def pending(self) -> list[Trial]:
        """The trials asked and not yet told."""
        if self._pending is None:
            return []
        return [t for t in self._pending["trials"] if t.number not in self._pending["told"]]

    def ask(self) -> list[Trial]:
        """The next generation's trials to train, each once; [] when the search has finished.
        Raises while trials already asked await tell()."""
        self.open()
        if self.finished:
            return []
        if self._pending is not None:
            waiting = ", ".join(str(t.number) for t in self.pending)
            raise RuntimeError(f"ask: generation {self._pending['generation']}'s trials {waiting} await tell()")
        while self._pending is None:
            reason = self.stop_reason()
            if reason is not None:
                self._finish(reason)
                self.finished = True
                self.callbacks.end(self)
                return []
            self._ask_generation()
        return list(self._pending["trials"])

    def _ask_generation(self) -> None:
        generation = self.spending.generation + 1
        individuals = self._breed(generation)
        spent = self.spending.epochs_spent
        tasks = self._plan(individuals).tasks
        self.spending.epochs_spent = spent  # planned again when the generation is recorded
        trials = [Trial(generation, number, dict(params), seed) for number, (params, seed) in enumerate(tasks)]
        self._pending = {"generation": generation, "individuals": individuals, "tasks": tasks, "trials": trials,
                         "told": {}, "asked_at": time.perf_counter()}
        if not trials:  # every genome from the cache
            self._complete()

    def tell(self, trial: Trial, value: Any = None, *, error: Any = None) -> None:
        """Record a trial's score (see the module's docstring); the generation is recorded and
        saved when its last trial is told."""
        pending = self._pending
        if pending is None or trial.generation != pending["generation"] or not (
                0 <= trial.number < len(pending["trials"])) or pending["trials"][trial.number] != trial:
            raise ValueError(f"tell: trial {trial.number} of generation {trial.generation} is not one this "
                             f"search is waiting for")
        if trial.number in pending["told"]:
            raise ValueError(f"tell: trial {trial.number} of generation {trial.generation} was told already")
        if value is None and error is None:
            raise ValueError("tell: give the trial's score (a number or a dict), or error=")
        if error is None and (isinstance(value, bool) or not isinstance(value, (int, float, Mapping, BaseException))
                              and not hasattr(value, "__float__")):
            raise TypeError(f"tell: a trial's score is a number, a dict or an exception, got {type(value).__name__}")
        pending["told"][trial.number] = _outcome(value, error, time.perf_counter() - pending["asked_at"])
        if len(pending["told"]) == len(pending["trials"]):
            self._complete()

    def _complete(self) -> None:
        pending = self._pending
        assert pending is not None
        outcomes = [pending["told"][number] for number in range(len(pending["trials"]))]
        trainer = Trainer(_Told([(dict(p), s) for p, s in pending["tasks"]], outcomes), self.direction)  # type: ignore[arg-type]
        self._pending = None
        self._generation(trainer, pending["individuals"], pending["generation"], started=pending["asked_at"])

    def stop(self) -> None:
        """End the search now (a generation not yet complete is dropped): best.json is final."""
        self.open()
        if not self.finished:
            self._pending = None
            self._finish("stopped by the caller")
            self.finished = True
            self.callbacks.end(self)

    def best_so_far(self) -> float:
        """The best fitness of the complete generations (-inf before the first)."""
        return self.spending.best_fitness if math.isfinite(self.spending.best_fitness) else -math.inf
