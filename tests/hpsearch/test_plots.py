"""Plots: the computed data (checked against the tables) and plot_all's PNG files."""

import shutil

import numpy as np
import pandas as pd
import pytest
import tomli_w
from matplotlib.figure import Figure

from hpsearch import GeneticSearch, load, plots
from hpsearch.datasets import load_dataset, scale_splits, split_dataset
from hpsearch.results import SearchResult
from hpsearch.space import CategoricalGene, FloatGene, Space

from .objectives import bowl, tiny_mlp_space, toy_space, troublemaker

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What the default search (model-assisted) makes; pareto and the PBT plots belong to other modes.
ALL_PLOTS = {"convergence", "landscape", "landscape_2d", "parallel", "importance", "diversity", "curves",
             "lineage", "surrogate"}


def ensure_config(out_dir, space):
    """Write config.toml's [space] table unless GeneticSearch already wrote the config."""
    path = out_dir / "config.toml"
    if not path.exists():
        path.write_text(tomli_w.dumps({"space": space.to_config()}))


@pytest.fixture(scope="module")
def bowl_dir(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("bowl") / "run"
    GeneticSearch(toy_space(), bowl, population=8, generations=3, seed=0, quiet=True, out_dir=out_dir).run()
    ensure_config(out_dir, toy_space())
    return out_dir


@pytest.fixture(scope="module")
def trouble_dir(tmp_path_factory):
    """Failed, diverged and successful trials, and no config.toml: genes must be inferred."""
    out_dir = tmp_path_factory.mktemp("trouble") / "run"
    GeneticSearch(toy_space(), troublemaker, population=12, generations=3, seed=0, quiet=True,
                  out_dir=out_dir).run()
    (out_dir / "config.toml").unlink(missing_ok=True)
    return out_dir


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory):
    """A real MLP search on digits: the only kind of run with learning curves."""
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    out_dir = tmp_path_factory.mktemp("mlp") / "run"
    GeneticSearch(tiny_mlp_space(), splits, population=6, generations=1, seed=0, quiet=True,
                  out_dir=out_dir).run()
    ensure_config(out_dir, tiny_mlp_space())
    return out_dir


def space_of(out_dir):
    return plots.space_from_config(plots.read_config(out_dir))


def synthetic_result(n, seed=0, n_ok=None):
    """A trials table whose fitness depends on the gene `a` alone (peak at a = 1e-2)."""
    rng = np.random.default_rng(seed)
    a = 10.0 ** rng.uniform(-4, 0, n)
    trials = pd.DataFrame({
        "trial_id": np.arange(n), "generation": np.arange(n) // 10, "status": "ok",
        "fitness": -(np.log10(a) + 2) ** 2, "cached": False,
        "a": a, "b": rng.uniform(0, 1, n), "c": rng.choice(["x", "y", "z"], n),
        "seed": np.arange(n), "seconds": 0.1, "parents": "", "operator": "init", "reason": "",
    })
    if n_ok is not None:
        trials.loc[n_ok:, "status"] = "failed"
        trials.loc[n_ok:, "fitness"] = -np.inf
    space = Space([FloatGene("a", 1e-4, 1.0, log=True), FloatGene("b", 0.0, 1.0),
                   CategoricalGene("c", ("x", "y", "z"))])
    return SearchResult(trials=trials, generations=pd.DataFrame(), curves=pd.DataFrame(), best={}), space


# ---------------------------------------------------------------- computed data


@pytest.mark.parametrize("run", ["bowl_dir", "trouble_dir"])
def test_best_so_far_is_the_running_maximum_of_the_trials(run, request):
    result = load(request.getfixturevalue(run))
    data = plots.convergence_data(result)
    by_generation = data["by_generation"]

    ok = result.trials[result.trials["status"] == "ok"]
    expected = ok.groupby("generation")["fitness"].max().cummax()
    np.testing.assert_array_equal(by_generation["best_so_far"], expected.to_numpy())
    np.testing.assert_array_equal(by_generation["best_so_far"], result.generations["best_so_far"])
    # NaN until the first successful trial, then never decreasing.
    assert (np.diff(data["by_evaluation"]["best_so_far"].dropna()) >= 0).all()
    assert (np.diff(data["by_time"]["best_so_far"].dropna()) >= 0).all()
    assert data["by_evaluation"]["best_so_far"].iloc[-1] == ok["fitness"].max()
    assert data["by_evaluation"]["evaluations"].iloc[-1] == result.generations["evaluations_total"].iloc[-1]
    assert by_generation["failed"].sum() == (result.trials["status"] != "ok").sum()


def test_genes_and_log_scales_come_from_the_config(bowl_dir):
    result = load(bowl_dir)
    features, values = plots.gene_features(result.trials, space_of(bowl_dir))
    by_name = {feature.name: feature for feature in features}
    assert list(by_name) == ["x", "y", "n", "c", "n_layers", "layers_units"]
    assert {name: feature.log for name, feature in by_name.items()} == {
        "x": True, "y": False, "n": True, "c": False, "n_layers": False, "layers_units": True}
    assert by_name["c"].categories == ("a", "b", "c")
    assert (by_name["x"].low, by_name["x"].high) == (1e-4, 1.0)

    np.testing.assert_array_equal(values["n_layers"], result.trials["n_layers"])
    units = [sum(int(size) for size in str(cell).split("-")) for cell in result.trials["layers"]]
    np.testing.assert_array_equal(values["layers_units"], units)
    codes = result.trials["c"].map({"a": 0, "b": 1, "c": 2})
    np.testing.assert_array_equal(values["c"], codes)


def test_genes_are_inferred_without_a_config(trouble_dir):
    assert plots.space_from_config(plots.read_config(trouble_dir)) is None
    result = load(trouble_dir)
    features, values = plots.gene_features(result.trials)
    by_name = {feature.name: feature for feature in features}
    # `noise` is an objective metric: empty for the failed trials, so not a gene.
    assert list(by_name) == ["x", "y", "n", "c", "n_layers", "layers_units"]
    assert by_name["x"].log and not by_name["y"].log
    assert by_name["c"].kind == "categorical" and set(by_name["c"].categories) <= {"a", "b", "c"}
    assert by_name["x"].low == result.trials["x"].min()
    np.testing.assert_array_equal(values["x"], result.trials["x"])


def test_log_genes_are_inferred_from_values_spanning_two_decades():
    result, _ = synthetic_result(40)
    by_name = {feature.name: feature for feature in plots.gene_features(result.trials)[0]}
    assert by_name["a"].log and not by_name["b"].log and by_name["c"].kind == "categorical"


def test_top_trials_are_the_best_successful_trials(trouble_dir):
    trials = load(trouble_dir).trials
    top = plots.top_trials(trials, 5)
    ok = trials[(trials["status"] == "ok") & ~trials["cached"]]
    assert len(top) == 5 and (top["status"] == "ok").all() and not top["cached"].any()
    assert sorted(top["fitness"], reverse=True) == sorted(ok["fitness"], reverse=True)[:5]
    assert list(top["fitness"]) == sorted(top["fitness"], reverse=True)


@pytest.mark.parametrize("run", ["bowl_dir", "trouble_dir"])
def test_lineage_walks_back_to_the_initial_population(run, request):
    result = load(request.getfixturevalue(run))
    nodes, edges = plots.lineage_data(result)
    trials = result.trials.set_index("trial_id")
    ids = set(nodes["trial_id"])
    assert result.best["trial_id"] in ids
    assert (edges["parent"] < edges["child"]).all()
    assert set(edges["parent"]) <= ids and set(edges["child"]) <= ids
    for trial_id in ids:
        parents = [int(p) for p in trials.at[trial_id, "parents"].split(";") if p]
        assert set(parents) == set(edges.loc[edges["child"] == trial_id, "parent"])
        if not parents:
            assert trials.at[trial_id, "generation"] == 0
            assert trials.at[trial_id, "operator"] == "init"


def test_lineage_of_a_cached_row_follows_its_own_parents():
    # Trial 4 is a cached copy of trial 2's parameters, bred from trial 3.
    trials = pd.DataFrame({
        "trial_id": [0, 1, 2, 3, 4], "generation": [0, 0, 1, 1, 2], "status": ["ok"] * 5,
        "fitness": [0.1, 0.2, 0.3, 0.25, 0.3], "cached": [False, False, False, False, True],
        "parents": ["", "", "0;1", "1", "3"],
        "operator": ["init", "init", "crossover", "mutation", "mutation"],
    })
    result = SearchResult(trials, pd.DataFrame(), pd.DataFrame(), best={"trial_id": 4})
    nodes, edges = plots.lineage_data(result)
    assert list(nodes["trial_id"]) == [1, 3, 4]
    assert edges[["parent", "child"]].values.tolist() == [[1, 3], [3, 4]]
    assert isinstance(plots.draw_lineage(nodes, edges), Figure)

    # Without best.json the walk starts at the best successful trial (the first of a tie).
    nodes, _ = plots.lineage_data(SearchResult(trials, pd.DataFrame(), pd.DataFrame(), best={}))
    assert list(nodes["trial_id"]) == [0, 1, 2]


@pytest.mark.parametrize("with_space", [True, False])
def test_importance_ranks_the_gene_that_decides_fitness_first(with_space):
    result, space = synthetic_result(60)
    importance = plots.importance_data(result, space if with_space else None)
    assert list(importance.columns) == ["importance", "std"]
    assert importance.index[0] == "a"
    assert importance.loc["a", "importance"] > 5 * importance["importance"].iloc[1:].max()


def test_importance_needs_enough_successful_trials():
    result, space = synthetic_result(10, n_ok=4)
    importance = plots.importance_data(result, space)
    assert importance.empty
    figure = plots.draw_importance(importance)
    assert any("not enough successful trials" in text.get_text() for text in figure.axes[0].texts)
    assert plots.pair_data(result, space, importance=importance) == []


def test_pairs_are_the_most_important_numeric_genes(bowl_dir):
    result, space = load(bowl_dir), space_of(bowl_dir)
    importance = plots.importance_data(result, space)
    pairs = plots.pair_data(result, space, importance=importance)
    numeric = [name for name in importance.index if name != "c"][:3]
    assert [(p["x"].name, p["y"].name) for p in pairs] == [(numeric[0], numeric[1]), (numeric[0], numeric[2]),
                                                           (numeric[1], numeric[2])]
    ok = result.trials["status"] == "ok"
    for pair in pairs:
        means = pair["mean"][np.isfinite(pair["mean"])]
        assert means.size and means.min() >= result.trials.loc[ok, "fitness"].min()
        assert means.max() <= result.trials.loc[ok, "fitness"].max()
        if pair["x"].log:  # binned in log10 between the gene's bounds
            assert pair["x_edges"][0] == pytest.approx(np.log10(pair["x"].low))


def test_parallel_coordinates_are_the_top_trials_between_zero_and_one(bowl_dir):
    result, space = load(bowl_dir), space_of(bowl_dir)
    features, frame = plots.parallel_data(result, space, top=10)
    assert list(frame["trial_id"]) == list(plots.top_trials(result.trials, 10)["trial_id"])
    values = frame[[feature.name for feature in features]].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    # x = 1e-2 is the middle of [1e-4, 1] on a log scale.
    x = plots.to_unit(next(f for f in features if f.name == "x"), [1e-2])
    assert x[0] == pytest.approx(0.5)


def test_learning_curves_are_those_of_the_top_k_trials(mlp_dir):
    result = load(mlp_dir)
    curves = plots.curves_data(result, k=5)
    with_curves = result.trials[result.trials["trial_id"].isin(result.curves["trial_id"])]
    expected = list(plots.top_trials(with_curves, 5)["trial_id"])
    assert list(curves.drop_duplicates("rank")["trial_id"]) == expected
    assert {"train_loss", "val_loss", "val_metric"} <= set(curves.columns)
    assert (curves.groupby("trial_id")["epoch"].min() == 1).all()


# ---------------------------------------------------------------- files


def png_files(out_dir):
    return {path.stem: path for path in (out_dir / "plots").iterdir()}


def assert_pngs(paths):
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE), path


@pytest.mark.filterwarnings("error")
def test_plot_all_writes_every_plot(mlp_dir):
    written = plots.plot_all(mlp_dir)
    assert {path.stem for path in written} == ALL_PLOTS
    assert png_files(mlp_dir) == {path.stem: path for path in written}  # no temporary files left
    assert_pngs(written)


@pytest.mark.filterwarnings("error")
def test_plot_all_without_config_or_curves_skips_only_the_curves(trouble_dir, tmp_path, capsys):
    out_dir = tmp_path / "copy"  # a results directory moved elsewhere re-plots from its files
    shutil.copytree(trouble_dir, out_dir)
    written = plots.plot_all(out_dir)
    assert {path.stem for path in written} == ALL_PLOTS - {"curves"}
    assert_pngs(written)
    assert "skipped curves.png" in capsys.readouterr().err


def test_plot_all_rejects_a_directory_that_is_not_a_results_directory(tmp_path):
    with pytest.raises(ValueError, match="not an hpsearch results directory"):
        plots.plot_all(tmp_path)
    with pytest.raises(ValueError, match="no such results directory"):
        plots.plot_all(tmp_path / "missing")
