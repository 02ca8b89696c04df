"""Callbacks: code of the user's that a search calls after every trial and every generation,
to log (MLflow, W&B, a file), draw a live plot, or stop the search early.

    class Log(Callback):
        def on_trial(self, trial, search):
            mlflow.log_metric("fitness", trial["fitness"], step=trial["trial_id"])

    GeneticSearch(space, objective, callbacks=[Log(), DeltaThreshold(1e-3, generations=3)])
    GeneticSearchCV(estimator, space, callbacks=[LivePlot("live.png")])

A callback is a Callback (or any object with on_trial and/or on_generation methods), or a
plain callable, which is called per generation. on_trial(trial, search) gets each trials-table
row of the generation (a dict: trial_id, generation, status, fitness, the genes, the metrics,
seed, ...), in trial order; then on_generation(generation, search) gets the generations-table
row (best_so_far, mean, evaluations_total, elapsed, ...). Both are called in the search's own
process after the generation is saved, so what they see does not depend on n_jobs and a
callback that raises leaves the results up to that generation on disk. Returning True stops
the search after that generation; its stop reason is then "callback <name>", and a resumed
search that a callback stopped stays stopped while it is given callbacks.

The built-in ones read the search's tables rather than keep state of their own, so they
behave the same after a resume: DeltaThreshold (stop when the best so far stalls), LivePlot
(the convergence plot redrawn every generation) and ProgressBar (a bar over the trials).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import results

__all__ = ["Callback", "CallbackList", "DeltaThreshold", "LivePlot", "ProgressBar"]


class Callback:
    """Override on_trial and/or on_generation; return True from either to stop the search."""

    def on_trial(self, trial: Mapping[str, Any], search: Any) -> bool | None:
        return None

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> bool | None:
        return None

    def on_end(self, search: Any) -> None:
        """Called once when the search ends, by GeneticSearchCV and AskTellSearch (GeneticSearch.run
        does not: a callback that holds something open closes it when stop_reason() is set)."""


def _name(callback: Any) -> str:
    return getattr(callback, "__name__", type(callback).__name__)


class _PerGeneration(Callback):
    """A plain callable, called per generation."""

    def __init__(self, function: Callable[[Mapping[str, Any], Any], Any]) -> None:
        self.function = function
        self.__name__ = _name(function)

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> bool | None:
        return bool(self.function(generation, search))


class CallbackList:
    """The callbacks a search was given, called in the order given."""

    def __init__(self, callbacks: Iterable[Any] | None = ()) -> None:
        if callbacks is None:
            callbacks = ()
        if hasattr(callbacks, "on_trial") or hasattr(callbacks, "on_generation") or callable(callbacks):
            callbacks = [callbacks]  # one callback, not in a list
        self.callbacks: list[Any] = []
        for position, callback in enumerate(callbacks):
            if hasattr(callback, "on_trial") or hasattr(callback, "on_generation"):
                self.callbacks.append(callback)
            elif callable(callback):
                self.callbacks.append(_PerGeneration(callback))
            else:
                raise TypeError(f"callbacks[{position}]: expected a Callback (on_trial, on_generation) or a "
                                f"callable(generation, search), got {type(callback).__name__}")
        self.stop_reason: str | None = None

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def after_generation(self, search: Any, trials: Iterable[Mapping[str, Any]],
                         generation: Mapping[str, Any]) -> None:
        """Each new trial row to every on_trial, then the generation row to every on_generation."""
        for trial in trials:
            for callback in self.callbacks:
                method = getattr(callback, "on_trial", None)
                if method is not None and method(dict(trial), search):
                    self.stop_reason = self.stop_reason or f"callback {_name(callback)}"
        for callback in self.callbacks:
            method = getattr(callback, "on_generation", None)
            if method is not None and method(dict(generation), search):
                self.stop_reason = self.stop_reason or f"callback {_name(callback)}"

    def resumed(self, final: Mapping[str, Any] | None) -> None:
        """A search that a callback stopped stays stopped when resumed with callbacks."""
        reason = (final or {}).get("stop_reason")
        if self.callbacks and isinstance(reason, str) and reason.startswith("callback"):
            self.stop_reason = reason

    def end(self, search: Any) -> None:
        for callback in self.callbacks:
            method = getattr(callback, "on_end", None)
            if method is not None:
                method(search)


class DeltaThreshold(Callback):
    """Stop when the best so far has risen by less than `delta` over the last `generations`
    generations (sklearn-genetic-opt's DeltaThreshold on the best fitness): generation g stops
    the search if best_so_far(g) - best_so_far(g - generations) < delta."""

    def __init__(self, delta: float, generations: int = 2) -> None:
        if not (isinstance(delta, (int, float)) and not isinstance(delta, bool) and math.isfinite(delta)
                and delta >= 0):
            raise ValueError(f"DeltaThreshold: delta must be a finite number >= 0, got {delta!r}")
        if not isinstance(generations, int) or isinstance(generations, bool) or generations < 1:
            raise ValueError(f"DeltaThreshold: generations must be an integer >= 1, got {generations!r}")
        self.delta = float(delta)
        self.generations = generations

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> bool:
        rows = search.generations.rows
        if len(rows) <= self.generations:
            return False
        now, then = rows[-1]["best_so_far"], rows[-1 - self.generations]["best_so_far"]
        if not (math.isfinite(now) and math.isfinite(then)):
            return False  # no success yet: nothing has stalled
        return now - then < self.delta


class LivePlot(Callback):
    """The convergence plot (hpsearch.plots.convergence), redrawn after every generation:
    into `path` (a PNG, replaced atomically: open it in an image viewer that reloads), or into
    the given Axes (`ax`, one or up to three; a notebook shows the figure with `display`)."""

    def __init__(self, path: Any = None, ax: Any = None) -> None:
        if (path is None) == (ax is None):
            raise ValueError("LivePlot: give a path to write or an ax to draw on (one of them)")
        self.path = None if path is None else Path(path)
        self.ax = ax

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> None:
        from .plots.convergence import convergence_data, draw_convergence
        from .plots.style import DPI

        data = convergence_data(search.result())
        if self.path is not None:
            figure = draw_convergence(data)
            results.write_atomic(self.path, lambda file: figure.savefig(file, format="png", dpi=DPI))
            return
        axes = list(self.ax) if isinstance(self.ax, (list, tuple)) else [self.ax]
        for ax in axes:
            ax.clear()
        figure = draw_convergence(data, ax=self.ax)
        figure.canvas.draw_idle()


class ProgressBar(Callback):
    """A tqdm bar over the trials (total: max_evaluations where the budget has one), advanced
    after every generation; GeneticSearchCV shows it for verbose >= 1."""

    def __init__(self, total: int | None = None, description: str = "search", **tqdm_options: Any) -> None:
        self.total = total
        self.description = description
        self.options = tqdm_options
        self.bar: Any = None

    def on_generation(self, generation: Mapping[str, Any], search: Any) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            total = self.total if self.total is not None else getattr(search.budget, "max_evaluations", None)
            self.bar = tqdm(total=total, desc=self.description, unit="trial", **self.options)
        self.bar.update(int(generation["evaluations_total"]) - self.bar.n)
        best = generation.get("best_so_far")
        if isinstance(best, float) and math.isfinite(best):
            self.bar.set_postfix(best=f"{best:.4f}", generation=generation["generation"])
        if search.stop_reason() is not None:
            self.on_end(search)

    def on_end(self, search: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
