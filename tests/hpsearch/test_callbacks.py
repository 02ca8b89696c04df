"""Callbacks of GeneticSearch: per trial and per generation, in trial order whatever n_jobs is;
stopping early (DeltaThreshold, a plain callable), a live plot, a progress bar."""

import io
import json

import pytest
from matplotlib.figure import Figure

from hpsearch import GeneticSearch
from hpsearch.callbacks import Callback, CallbackList, DeltaThreshold, LivePlot, ProgressBar

from .objectives import bowl, toy_space


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_trial(self, trial, search):
        self.events.append(("trial", trial["trial_id"], trial["fitness"], trial["generation"]))

    def on_generation(self, generation, search):
        self.events.append(("generation", generation["generation"], generation["evaluations_total"]))


def search(**options):
    options = {"population": 6, "max_evaluations": 24, "seed": 1, "n_jobs": 1, "quiet": True, **options}
    return GeneticSearch(toy_space(), bowl, **options)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_every_trial_then_its_generation_in_trial_order(n_jobs):
    recorder = Recorder()
    result = search(n_jobs=n_jobs, callbacks=[recorder]).run()
    trials = [event for event in recorder.events if event[0] == "trial"]
    assert [t[1] for t in trials] == list(result.trials["trial_id"])
    assert [t[2] for t in trials] == list(result.trials["fitness"])
    generations = [event for event in recorder.events if event[0] == "generation"]
    assert [g[1] for g in generations] == list(result.generations["generation"])
    # each generation's row comes after its trials' rows
    for position, event in enumerate(recorder.events):
        if event[0] == "trial":
            later = [e for e in recorder.events[position:] if e[0] == "generation"]
            assert later[0][1] == event[3]


def test_delta_threshold_stops_a_stalled_search_and_a_resume_stays_stopped(tmp_path):
    stopped = search(max_evaluations=200, callbacks=[DeltaThreshold(0.5, generations=2)],
                     out_dir=tmp_path / "run").run()
    rows = stopped.generations.to_dict("records")
    assert stopped.best["stop_reason"] == "callback DeltaThreshold"
    assert len(stopped.trials) < 200
    assert rows[-1]["best_so_far"] - rows[-3]["best_so_far"] < 0.5
    assert all(later["best_so_far"] - earlier["best_so_far"] >= 0.5
               for earlier, later in zip(rows[:-3], rows[2:-1]))
    again = search(max_evaluations=200, callbacks=[DeltaThreshold(0.5, generations=2)],
                   out_dir=tmp_path / "run").run()
    assert len(again.trials) == len(stopped.trials) and again.best["stop_reason"] == "callback DeltaThreshold"
    without = search(max_evaluations=200, callbacks=[DeltaThreshold(0.0, generations=50)],
                     out_dir=tmp_path / "other").run()
    assert without.best["stop_reason"].startswith("max_evaluations")


def test_a_plain_callable_is_called_per_generation_and_stops_on_true():
    seen = []

    def after_two(generation, search):
        seen.append(generation["generation"])
        return generation["generation"] == 1

    result = search(callbacks=[after_two]).run()
    assert seen == [0, 1] and result.best["stop_reason"] == "callback after_two"
    assert set(result.trials["generation"]) == {0, 1}


def test_live_plot_redraws_a_png_or_given_axes(tmp_path):
    path = tmp_path / "live.png"
    drawn = []

    def size(generation, search):
        drawn.append(path.stat().st_mtime_ns)

    search(max_evaluations=14, callbacks=[LivePlot(path), size]).run()
    assert path.read_bytes().startswith(b"\x89PNG") and len(drawn) == 3
    figure = Figure()
    axes = figure.subplots(1, 2)
    search(max_evaluations=14, callbacks=[LivePlot(ax=list(axes))]).run()
    assert axes[0].lines or axes[0].collections
    with pytest.raises(ValueError, match="one of them"):
        LivePlot()


def test_progress_bar_counts_trials_to_the_budget():
    out = io.StringIO()
    bar = ProgressBar(file=out, ascii=True)
    search(max_evaluations=14, callbacks=[bar]).run()
    text = out.getvalue()
    assert "14/14" in text and "best=" in text and bar.bar is None  # closed when the search stopped


def test_callbacks_are_checked_and_are_not_a_setting(tmp_path):
    with pytest.raises(TypeError, match=r"callbacks\[1\]: expected a Callback"):
        CallbackList([Recorder(), 3])
    search(max_evaluations=6, out_dir=tmp_path / "run").run()
    search(max_evaluations=14, out_dir=tmp_path / "run", callbacks=[Recorder()]).run()  # resumes
    assert "callbacks" not in json.loads((tmp_path / "run" / "checkpoint.jsonl").read_text().splitlines()[0])[
        "settings"]
