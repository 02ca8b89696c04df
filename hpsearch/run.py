"""The life of a run, shared by every search strategy (GeneticSearch, PopulationBasedTraining).

    open the results directory -> resume its checkpoint (same settings) or start afresh
    -> step until a stop reason -> finish (the best, its test score) -> result

A strategy subclasses Run and supplies its steps and its state; Run owns the directory,
the tables every run writes (trials, generations, curves), the checkpoint journal,
best.json and the SearchResult.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import logs, numerics, results
from .budget import Spending
from .checkpoint import Journal
from .lock import DirectoryInUse, DirectoryLock
from .logs import logger
from .objective import Capabilities, metric_name


class SearchError(RuntimeError):
    """The search cannot go on (every trial failed, or a results directory conflicts)."""


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM (a cluster's time limit, `kill`): stop as on Ctrl-C."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread, so the run unwinds as
    on Ctrl-C: workers stopped, temporary data removed, the last generation saved. A second
    SIGTERM ends the process at once. Does nothing off the main thread, or where the
    application installed its own SIGTERM handler.

    Ctrl-C stays Python's KeyboardInterrupt, but is remembered: a library that turns the
    KeyboardInterrupt into another error where it lands (numpy's buffer-format parser
    raises ValueError) would otherwise end the run as a failure instead of an interruption."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted: list[int] = []

    def interrupt(signum, frame):
        interrupted.append(signum)
        signal.default_int_handler(signum, frame)

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated("SIGTERM")

    own_sigint = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    own_sigterm = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if own_sigint:
        signal.signal(signal.SIGINT, interrupt)
    if own_sigterm:
        signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except Exception as error:
        if interrupted:
            raise KeyboardInterrupt("SIGINT") from error
        raise
    finally:
        if own_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if own_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def settings_difference(old: Any, new: Any) -> list[str]:
    """'key: old -> new' for every setting that differs (nested keys joined by dots)."""
    old, new = results.flatten(old), results.flatten(new)
    return [f"{key}: {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}"
            for key in sorted(set(old) | set(new)) if old.get(key, "<unset>") != new.get(key, "<unset>")]


class Run(ABC):
    """A search's results directory, tables, checkpoint and best trial.

    Subclasses set self.spending (a budget.Spending) and implement the abstract methods (a
    missing one fails at construction): resume_settings() (what must not change on resume),
    effective_config(), _fresh_state(), _snapshot() and
    _load_snapshot() (the small part of the state), _logs() (the append-only lists the
    checkpoint journals, besides the tables), _session() (a context manager giving the
    evaluator), _step(evaluator), stop_reason(), _best_record() and _test_scores(record);
    optionally _appended_tables() (its tables appended to at every save, beyond trials,
    generations and curves), _rewritten_tables() (small tables rewritten whole at every
    save) and result_tables() (SearchResult's tables beyond those three).
    """

    leading_columns: list[str] = results.LEADING_COLUMNS
    trailing_columns: list[str] = results.TRAILING_COLUMNS
    best_json_extra: dict[str, Any] = {}

    spending: Spending

    def __init__(self, objective: Any, *, seed: int, out_dir: Any, quiet: bool, config: Any = None) -> None:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.objective = objective
        self.capabilities = Capabilities.of(objective)  # read once: the loop asks these, not the objective
        self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.quiet = quiet
        self.config = config
        self.saved_generation = -1  # the last generation in the checkpoint (PBT: step)
        # Where the trainings ran (hpsearch.numerics): in earlier sessions (from the journal),
        # and in this one (the evaluator's list).
        self._earlier_environments: list[dict[str, Any]] = []
        self._session_environments: list[dict[str, Any]] = []

    @property
    def generation(self) -> int:
        """The last complete generation (PBT: step); -1 before the first."""
        return self.spending.generation if hasattr(self, "spending") else -1

    def _objective_config(self) -> dict[str, Any]:
        """The [objective] table of the effective config: the metric, where the objective has one."""
        metric = metric_name(self.objective)
        return {"metric": metric} if metric is not None else {}

    # -- the tables ---------------------------------------------------------------------
    def _new_tables(self, gene_columns: list[str]) -> None:
        path = (lambda name: self.out_dir / name) if self.out_dir is not None else (lambda name: None)
        self.trials = results.TrialsTable(path(results.TRIALS), self.leading_columns,
                                          self.trailing_columns, gene_columns)
        self.generations = results.CsvLog(path(results.GENERATIONS))
        self.curves = results.CsvLog(path(results.CURVES), columns=["trial_id", "epoch"])
        self.final: dict[str, Any] | None = None

    def _appended_tables(self) -> list[results.CsvLog]:
        """The tables appended to at every save (subclasses add theirs)."""
        return [self.trials, self.generations, self.curves]

    def _rewritten_tables(self) -> dict[str, pd.DataFrame]:
        """Small tables rewritten whole at every save: {file name: frame}."""
        return {}

    def add_curve(self, trial_id: int, curve: Mapping[str, Sequence[Any]] | None) -> None:
        if curve:
            self.curves.add(results.curve_rows(trial_id, curve))

    def curves_by_trial(self) -> dict[int, dict[str, list]]:
        """{trial_id: {metric: per-epoch values}} from the curve rows."""
        curves: dict[int, dict[str, list]] = {}
        for row in self.curves.rows:
            curve = curves.setdefault(row["trial_id"], {})
            for name, value in row.items():
                if name not in ("trial_id", "epoch"):
                    curve.setdefault(name, []).append(value)
        return curves

    # -- directory and checkpoint -------------------------------------------------------
    @contextlib.contextmanager
    def _holding_directory(self) -> Iterator[None]:
        """Check out_dir is ours (or new), create it and hold its lock for the block."""
        out_dir = self.out_dir
        if out_dir is None:
            yield
            return
        if out_dir.exists() and not out_dir.is_dir():
            raise SearchError(f"{out_dir}: exists and is not a directory")
        if (out_dir.is_dir() and any(p.name != results.LOCK for p in out_dir.iterdir())
                and not results.is_results_dir(out_dir)):
            raise SearchError(f"{out_dir}: exists, is not empty and is not an hpsearch results directory")
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = DirectoryLock(out_dir)
        try:
            results.refuse_links(out_dir)
            lock.acquire()
        except (DirectoryInUse, ValueError) as error:
            raise SearchError(str(error)) from None
        try:
            yield
        finally:
            lock.release()

    def _open(self) -> None:
        """Resume the checkpoint in out_dir, or start afresh (writing config.toml there)."""
        self._fresh_state()
        if self.out_dir is None:
            return
        out_dir = self.out_dir
        results.remove_stale_temporaries(out_dir)  # safe: the lock says no one else writes here
        self.journal = Journal(out_dir)
        try:
            saved = self.journal.read()
        except ValueError as error:
            raise SearchError(str(error)) from None
        if saved is None:
            found = [name for name in (results.TRIALS, results.BEST, results.GENERATIONS)
                     if (out_dir / name).exists()]
            if found:
                raise SearchError(f"{out_dir}: has results ({', '.join(found)}) but no {results.CHECKPOINT} "
                                  f"to continue them from; not overwriting them (use another directory)")
            # The header first: from then on the directory resumes, even before config.toml.
            self.journal.start(self.resume_settings(), config=self.effective_config(),
                               numerics=numerics.current().record())
            results.write_config(out_dir / results.CONFIG, self.effective_config())
            logger.info("starting a new search in %s", out_dir)
            return
        settings, snapshot, logs = saved
        self._warn_numerics_differ(self.journal.header() or {})
        differences = settings_difference(settings, self.resume_settings())
        if differences:
            raise SearchError(f"{out_dir}: cannot resume, the settings differ from the "
                              f"checkpoint's: {'; '.join(differences)}")
        try:
            self._replay(snapshot, logs)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise SearchError(f"{self.journal.path}: does not hold the state this search saves "
                              f"({type(error).__name__}: {error}); cannot resume") from None
        for table in self._appended_tables():  # the files may be ahead of the journal: rewrite them
            table.flush(rewrite=True)
        self.saved_generation = self.generation
        # Missing if stopped between the journal's header and it; else it may name other
        # budgets (a resume that extends the search) or parallel settings: it says how the
        # run goes on.
        if results.write_config(out_dir / results.CONFIG, self.effective_config()) and self.generation >= 0:
            logger.info("%s: updated with this run's budgets and parallel settings", results.CONFIG)
        unit = self.spending.unit[:-1]
        if self.generation < 0:
            logger.info("resuming the search in %s: %s 0 was not complete, it starts again", out_dir, unit)
        else:
            logger.info("resuming the search in %s from %s %d (%d trials saved)", out_dir, unit,
                        self.generation + 1, len(self.trials.rows))

    def _warn_numerics_differ(self, header: dict[str, Any]) -> None:
        """One line when this process or the trainings' mode differ from those the checkpoint
        was started with: the trainings of this session may then round otherwise."""
        recorded, now = header.get("numerics"), numerics.current()
        old_mode = (header.get("config") or {}).get("parallel", {}).get("numerics", "native")
        new_mode = self.effective_config().get("parallel", {}).get("numerics", "native")
        if old_mode != new_mode:
            logger.warning("numerics: this run started with %r and resumes with %r: the trainings from "
                           "now on may differ in the last bits from an uninterrupted run", old_mode, new_mode)
        elif isinstance(recorded, dict) and recorded.get("fingerprint") != list(now.fingerprint()):
            old = recorded.get("description", "an unrecorded environment")
            logger.warning("numerics: this run started with %s and resumes with %s: the trainings from now "
                           "on may differ in the last bits from an uninterrupted run%s", old, now.describe(),
                           "" if new_mode == "portable" else " (numerics = 'portable' avoids that)")

    def _replay(self, snapshot: dict[str, Any], logs: dict[str, list]) -> None:
        """Restore the state a journal's snapshot and logs describe."""
        for name, rows in (("rows", self.trials), ("generation_rows", self.generations),
                           ("curve_rows", self.curves)):
            items = logs.get(name, [])
            if not all(isinstance(item, dict) for item in items):
                raise TypeError(f"log {name!r} holds something other than rows")
            rows.add(items)
        if snapshot:
            self.spending.load_state(snapshot["spending"])
            self.final = snapshot["final"]
            self._earlier_environments = list(snapshot.get("numerics", []))
            self._load_snapshot(snapshot, logs)

    def _environments(self) -> list[dict[str, Any]]:
        return self._earlier_environments + [record for record in self._session_environments
                                             if record not in self._earlier_environments]

    def _journal_logs(self) -> dict[str, list]:
        return {"rows": self.trials.rows, "generation_rows": self.generations.rows,
                "curve_rows": self.curves.rows, **self._logs()}

    def _save(self, finished: bool = False) -> None:
        if self.out_dir is None:
            return
        for table in self._appended_tables():
            table.flush()
        for name, frame in self._rewritten_tables().items():
            results.write_csv(self.out_dir / name, frame)
        results.write_json(self.out_dir / results.BEST, self._best_json(finished))
        self.journal.save({"spending": self.spending.state(), "final": self.final,
                           "numerics": self._environments(), **self._snapshot()},
                          self._journal_logs())
        self.saved_generation = self.generation

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> results.SearchResult:
        """Run (or resume) to the end of the budgets; return a SearchResult.

        SIGTERM stops it as Ctrl-C does (raising Terminated, a KeyboardInterrupt), with
        every complete generation saved, when this runs in the main thread and SIGTERM has
        its default handler."""
        if not self.quiet and not logs.configured():
            logs.console()  # a search from Python is not silent (see logs.py)
        with self._holding_directory(), self._log_file():
            self._open()
            logger.info("numerics: %s", numerics.current().describe())
            self._started = time.perf_counter() - self.spending.elapsed
            with sigterm_as_interrupt(), self._session() as evaluator:
                self._session_environments = evaluator.environments
                while (reason := self.stop_reason()) is None:
                    self._step(evaluator)
                self._finish(reason)  # inside: PBT scores the weights its session keeps
        return self.result()

    def _log_file(self) -> contextlib.AbstractContextManager:
        return logs.to_file(self.out_dir / results.LOG) if self.out_dir is not None else contextlib.nullcontext()

    def log_progress(self, summary: str) -> None:
        """One line of progress after a generation (step): where the budgets stand, elapsed
        time and, where a budget bounds the run, the most time it still takes."""
        where, fraction = self.spending.progress()
        elapsed = self.spending.elapsed
        timing = f"elapsed {logs.duration(elapsed)}"
        if fraction:
            timing += f", eta {logs.duration(elapsed * (1 - fraction) / fraction)}"
        logger.info("%s  %s  %s", where, summary, timing)

    def stop_reason(self) -> str | None:
        return self.spending.stop_reason()

    def _check_not_all_failed(self, rows: list[dict[str, Any]], what: str, where: str = "") -> None:
        if not any(math.isfinite(row["fitness"]) for row in rows):
            first = rows[0] if rows else {"trial_id": None, "reason": "no trials"}
            raise SearchError(f"all {len(rows)} {what} failed{where}, stopping "
                              f"(trial {first['trial_id']}: {first['reason']})")

    # -- the result ---------------------------------------------------------------------
    def _finish(self, reason: str) -> None:
        record = self._best_record()
        logger.info("stopped by %s after %d trials in %s", reason, len(self.trials.rows),
                    logs.duration(self.spending.elapsed))
        if self.final is None or self.final.get("trial_id") != record.get("trial_id"):
            if record and self.capabilities.test_split:
                logger.info("the best is trial %d (validation %.4f); scoring it on the test split",
                            record["trial_id"], record["fitness"])
            self.final = {**record, **(self._test_scores(record) if record else {})}
        self.final["stop_reason"] = reason
        if self.final.get("summary"):
            logger.info("chosen: %s", self.final["summary"])
        self._save(finished=True)

    def _best_json(self, finished: bool) -> dict[str, Any]:
        best = dict(self.final) if finished and self.final else self._best_record()
        return {**best, "finished": finished, **self.best_json_extra,
                "generations": self.spending.generation + 1, "evaluations": self.spending.evaluations,
                "trials": len(self.trials.rows), "seed": best.get("seed"), "master_seed": self.seed,
                "numerics": {"search": numerics.current().describe(),
                             "trainings": numerics.describe_all(self._environments())}}

    def result_tables(self) -> dict[str, pd.DataFrame]:
        """SearchResult's tables beyond trials, generations and curves."""
        return {}

    def result(self) -> results.SearchResult:
        """The search's SearchResult as it stands (run() returns it at the end)."""
        return results.SearchResult(trials=self.trials.frame(), generations=self.generations.frame(),
                                    curves=self.curves.frame(),
                                    best=self._best_json(finished=self.final is not None),
                                    out_dir=self.out_dir, **self.result_tables())

    # -- for subclasses -----------------------------------------------------------------
    @abstractmethod
    def resume_settings(self) -> dict[str, Any]:
        """What must match the checkpoint's for a resume (budgets may differ)."""

    @abstractmethod
    def effective_config(self) -> dict[str, Any]:
        """The config.toml written into a new results directory."""

    @abstractmethod
    def _fresh_state(self) -> None:
        """The state of a search that has not started (set self.spending and the tables)."""

    @abstractmethod
    def _snapshot(self) -> dict[str, Any]:
        """The small part of the state, for the checkpoint."""

    @abstractmethod
    def _load_snapshot(self, snapshot: dict[str, Any], logs: dict[str, list]) -> None:
        """Restore the state _snapshot() and _logs() described."""

    def _logs(self) -> dict[str, list]:
        """The append-only lists the checkpoint journals, besides the tables."""
        return {}

    @abstractmethod
    def _session(self) -> Any:
        """A context manager giving the evaluator the steps run trainings with."""

    @abstractmethod
    def _step(self, evaluator: Any) -> None:
        """One generation (PBT: one step), saved at its end."""

    @abstractmethod
    def _best_record(self) -> dict[str, Any]:
        """best.json's record of the best trial so far ({} before there is one)."""

    def _test_scores(self, record: dict[str, Any]) -> dict[str, Any]:
        """The best trial's test scores, where there is a test split."""
        return {}
