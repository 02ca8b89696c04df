"""hpsearch.compare on small results directories written by hand: bands, score table, labels,
the PNG and the HTML page."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from hpsearch import compare as comparing
from hpsearch.compare import compare, compare_data, default_label, draw_compare

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_run(out_dir, fitness, *, test=None, generations=None, cached=(), best=None, stop="max_evaluations (5)"):
    """A results directory: trials.csv from `fitness` (None: a failed trial; trial ids in order,
    those in `cached` cached), generations.csv from `generations` ([(elapsed, best_so_far)], or
    None for no file), best.json with the best fitness (or `best`) and the test score."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True)
    rows = [{"trial_id": i, "generation": 0, "status": "failed" if f is None else "ok",
             "fitness": "" if f is None else f, "cached": i in cached, "x": 0.5, "reason": ""}
            for i, f in enumerate(fitness)]
    pd.DataFrame(rows).to_csv(out_dir / "trials.csv", index=False)
    if generations is not None:
        pd.DataFrame([{"generation": g, "evaluations_total": 2 * (g + 1), "elapsed": elapsed, "best_so_far": value}
                      for g, (elapsed, value) in enumerate(generations)]).to_csv(out_dir / "generations.csv",
                                                                                index=False)
    scores = [f for f in fitness if f is not None]
    record = {"trial_id": 0, "fitness": best if best is not None else max(scores), "params": {"x": 0.5},
              "stop_reason": stop, "finished": True}
    if test is not None:
        record["test_metric"] = test
    (out_dir / "best.json").write_text(json.dumps(record))
    return out_dir


@pytest.fixture
def dirs(tmp_path):
    """Two seeds of "ga" (the second with a failed and a cached trial) and one of "random"."""
    return [make_run(tmp_path / "ga-seed0", [0.1, 0.5, 0.4, 0.7], test=0.6, generations=[(1.0, 0.5), (3.0, 0.7)]),
            make_run(tmp_path / "ga-seed1", [0.3, None, 0.2, 0.9, 0.6, 0.8], cached=(3,), test=0.8,
                     generations=[(2.0, 0.3), (2.5, 0.6), (4.0, 0.8)]),
            make_run(tmp_path / "random-seed0", [0.2, 0.4], test=0.5, generations=[(0.5, 0.4)])]


def band(data, label, axis):
    rows = data.bands[(data.bands["label"] == label) & (data.bands["axis"] == axis)]
    return rows.drop(columns=["label", "axis"]).reset_index(drop=True)


def test_bands_are_the_mean_and_min_max_over_a_groups_runs_against_evaluations(dirs):
    data = compare_data(dirs)
    # ga-seed0: best so far 0.1 0.5 0.5 0.7 over evaluations 1-4, then kept;
    # ga-seed1: trained trials 0, 1 (failed), 2, 4, 5 (3 is cached): 0.3 0.3 0.3 0.6 0.8.
    ga = band(data, "ga", "evaluations")
    runs = np.array([[0.1, 0.5, 0.5, 0.7, 0.7], [0.3, 0.3, 0.3, 0.6, 0.8]])
    assert list(ga["x"]) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(ga["mean"], runs.mean(axis=0))
    np.testing.assert_allclose(ga["std"], runs.std(axis=0, ddof=1))
    np.testing.assert_allclose(ga["min"], runs.min(axis=0))
    np.testing.assert_allclose(ga["max"], runs.max(axis=0))
    assert (ga["n"] == 2).all()
    single = band(data, "random", "evaluations")
    assert list(single["x"]) == [1, 2] and list(single["mean"]) == [0.2, 0.4] and (single["std"] == 0).all()
    assert list(single["min"]) == list(single["max"]) == [0.2, 0.4]


def test_bands_against_wall_time_start_where_every_run_has_a_score(dirs):
    data = compare_data(dirs)
    ga = band(data, "ga", "elapsed")
    # seed 0 at 1.0 and 3.0 (0.5, 0.7); seed 1 at 2.0, 2.5, 4.0 (0.3, 0.6, 0.8): from 2.0 on
    assert list(ga["x"]) == [2.0, 2.5, 3.0, 4.0]
    runs = np.array([[0.5, 0.5, 0.7, 0.7], [0.3, 0.6, 0.6, 0.8]])
    np.testing.assert_allclose(ga["mean"], runs.mean(axis=0))
    np.testing.assert_allclose(ga["min"], runs.min(axis=0))
    np.testing.assert_allclose(ga["max"], runs.max(axis=0))
    curves = data.curves[(data.curves["run"] == 1) & (data.curves["axis"] == "elapsed")]
    assert list(curves["x"]) == [2.0, 2.5, 4.0] and list(curves["best_so_far"]) == [0.3, 0.6, 0.8]


def test_the_table_gives_each_groups_final_scores_as_mean_and_std(dirs):
    data = compare_data(dirs)
    table = data.table.set_index("label")
    assert list(table.index) == ["ga", "random"] and list(table["n"]) == [2, 1]
    assert table.loc["ga", "validation_mean"] == pytest.approx(0.8)  # best.json: 0.7 and 0.9
    assert table.loc["ga", "validation_std"] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    assert table.loc["ga", "test_mean"] == pytest.approx(0.7)
    assert table.loc["ga", "test_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert table.loc["random", "validation_mean"] == 0.4 and math.isnan(table.loc["random", "validation_std"])
    assert table.loc["ga", "evaluations_mean"] == pytest.approx(4.5)  # 4 and 5 trained trials
    assert table.loc["ga", "elapsed_mean"] == pytest.approx(3.5)
    runs = data.runs.set_index("dir")
    assert runs.loc[str(dirs[1]), "best_validation"] == 0.9 and runs.loc[str(dirs[1]), "test"] == 0.8
    assert (data.runs["stop_reason"] == "max_evaluations (5)").all()


def test_labels_group_runs_default_to_the_name_without_its_seed(tmp_path, dirs):
    assert [default_label(d) for d in dirs] == ["ga", "ga", "random"]
    assert default_label(tmp_path / "digits" / "seed3") == "digits"
    assert default_label(tmp_path / "ga_seed_12") == "ga"
    assert default_label(tmp_path / "mnist2") == "mnist2"  # a number that is no seed stays
    relabelled = compare_data(dirs, labels=["a", "b", "a"])
    assert list(relabelled.table["label"]) == ["a", "b"] and list(relabelled.table["n"]) == [2, 1]
    assert relabelled.table.set_index("label").loc["a", "validation_mean"] == pytest.approx((0.7 + 0.4) / 2)
    with pytest.raises(ValueError, match="2 labels for 3 directories"):
        compare_data(dirs, labels=["a", "b"])
    with pytest.raises(ValueError, match="no results directories"):
        compare_data([])
    with pytest.raises(ValueError, match="no such results directory"):
        compare_data([tmp_path / "missing"])


def test_a_run_without_generations_has_evaluations_but_no_wall_time(tmp_path, dirs):
    bare = make_run(tmp_path / "bare-seed0", [None, 0.3, 0.5], test=None)
    data = compare_data([*dirs, bare])
    curve = band(data, "bare", "evaluations")
    assert list(curve["x"]) == [2, 3] and list(curve["mean"]) == [0.3, 0.5]  # from its first score
    assert band(data, "bare", "elapsed").empty
    row = data.table.set_index("label").loc["bare"]
    assert math.isnan(row["test_mean"]) and math.isnan(row["elapsed_mean"])
    assert data.ylim["evaluations"] is not None


def test_the_zoom_shows_the_bands_after_the_first_quarter(dirs):
    data = compare_data(dirs)
    low, high = data.ylim["evaluations"]
    # from x = 1 + 0.25 * 4 = 2: the lowest min 0.3 (ga) and the highest max 0.8, padded by 5 %
    assert low == pytest.approx(0.3 - 0.025) and high == pytest.approx(0.8 + 0.025)


def test_draw_compare_takes_ax(dirs):
    data = compare_data(dirs)
    fig = draw_compare(data)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    mine = Figure()
    left, right = mine.subplots(1, 2)
    assert draw_compare(data, ax=[left, right]) is mine
    assert left.get_xlabel() == "evaluations" and right.get_xlabel() == "wall time (s)"
    assert len(left.get_legend().get_texts()) == 2
    one = Figure()
    ax = one.subplots()
    assert draw_compare(data, ax=ax) is one and ax.get_xlabel() == "evaluations"


def test_compare_writes_the_png_and_a_self_contained_html_page(tmp_path, dirs, monkeypatch):
    out = tmp_path / "out" / "ga-vs-random.png"
    paths = compare(dirs, labels=["ga", "ga", "<b>random</b>"], out=out)
    assert paths == [out, out.with_suffix(".html")]
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    text = paths[1].read_text()
    assert "data:image/png;base64," in text and "http://" not in text and "https://" not in text
    assert "<b>random</b>" not in text and "&lt;b&gt;random&lt;/b&gt;" in text
    assert f"0.8 ± {np.std([0.7, 0.9], ddof=1):.2g}" in text  # ga's validation, mean ± std
    assert text.count("<script>") == 1
    # the default: ./comparison.png and ./comparison.html
    monkeypatch.chdir(tmp_path)
    assert compare(dirs) == [Path(comparing.DEFAULT_OUT), Path("comparison.html")]
    assert (tmp_path / "comparison.png").exists() and (tmp_path / "comparison.html").exists()
