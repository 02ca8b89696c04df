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
ALL_PLOTS = {"convergence", "landscape", "landscape_2d", "parallel", "importance", "diversity", "coverage",
             "curves", "lineage", "surrogate"}


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
    units = [sum(cell) for cell in result.trials["layers"]]  # load() reads "12-48-5" as (12, 48, 5)
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
    nodes, edges, _ = plots.lineage_data(result)
    trials = result.trials.set_index("trial_id")
    ids = set(nodes["trial_id"])
    assert result.best["trial_id"] in ids
    assert (edges["parent"] < edges["child"]).all()
    assert set(edges["parent"]) <= ids and set(edges["child"]) <= ids
    for trial_id in ids:
        parents = list(trials.at[trial_id, "parents"])  # load() reads "3;5" as (3, 5)
        assert set(parents) == set(edges.loc[edges["child"] == trial_id, "parent"])
        if not parents:  # generation 0, drawn from the good trials, or an explorer (fresh draws)
            assert (trials.at[trial_id, "generation"], trials.at[trial_id, "operator"]) == (0, "init") \
                or trials.at[trial_id, "operator"] in ("drawn", "explore")


def test_lineage_of_a_cached_row_follows_its_own_parents():
    # Trial 4 is a cached copy of trial 2's parameters, bred from trial 3.
    trials = pd.DataFrame({
        "trial_id": [0, 1, 2, 3, 4], "generation": [0, 0, 1, 1, 2], "status": ["ok"] * 5,
        "fitness": [0.1, 0.2, 0.3, 0.25, 0.3], "cached": [False, False, False, False, True],
        "parents": ["", "", "0;1", "1", "3"],
        "operator": ["init", "init", "crossover", "mutation", "mutation"],
    })
    result = SearchResult(trials, pd.DataFrame(), pd.DataFrame(), best={"trial_id": 4})
    nodes, edges, limits = plots.lineage_data(result)
    assert list(nodes["trial_id"]) == [1, 3, 4]
    assert edges[["parent", "child"]].values.tolist() == [[1, 3], [3, 4]]
    assert isinstance(plots.draw_lineage(nodes, edges, limits), Figure)

    # Without best.json the walk starts at the best successful trial (the first of a tie).
    nodes, _, _ = plots.lineage_data(SearchResult(trials, pd.DataFrame(), pd.DataFrame(), best={}))
    assert list(nodes["trial_id"]) == [0, 1, 2]


@pytest.mark.parametrize("with_space", [True, False])
def test_importance_ranks_the_gene_that_decides_fitness_first(with_space):
    result, space = synthetic_result(60)
    importance = plots.importance_data(result, space if with_space else None)
    assert list(importance.columns) == ["importance", "std", "r2_drop", "std_r2_drop", "label"]
    assert importance.index[0] == "a"
    assert importance.loc["a", "importance"] > 5 * importance["importance"].iloc[1:].max()


def test_importance_needs_enough_successful_trials():
    result, space = synthetic_result(10, n_ok=4)
    importance = plots.importance_data(result, space)
    assert importance.empty
    figure = plots.draw_importance(importance)
    assert any("not enough successful trials" in text.get_text() for text in figure.axes[0].texts)
    assert plots.pair_data(result, space, importance=importance) == []


def test_pairs_are_the_most_important_genes_categoricals_included(bowl_dir):
    result, space = load(bowl_dir), space_of(bowl_dir)
    importance = plots.importance_data(result, space)
    pairs = plots.pair_data(result, space, importance=importance)
    top = list(importance.index[:3])
    assert [(p["x"].name, p["y"].name) for p in pairs] == [(top[0], top[1]), (top[0], top[2]), (top[1], top[2])]
    ok = result.trials["status"] == "ok"
    for pair in pairs:
        values = pair["value"][np.isfinite(pair["value"])]
        assert values.size and values.min() >= result.trials.loc[ok, "fitness"].min()
        assert values.max() <= result.trials.loc[ok, "fitness"].max()
        assert pair["count"].sum() == ok.sum()  # every successful trial is in one bin
        assert (np.isfinite(pair["value"]) == (pair["count"] > 0)).all()
        if pair["x"].log:  # binned in log10 between the gene's bounds
            assert pair["x_edges"][0] == pytest.approx(np.log10(pair["x"].low))


def test_parallel_coordinates_are_the_trials_between_zero_and_one(bowl_dir):
    result, space = load(bowl_dir), space_of(bowl_dir)
    features, frame, _ = plots.parallel_data(result, space, top=10)
    assert list(frame.loc[frame["top"], "trial_id"]) == list(plots.top_trials(result.trials, 10)["trial_id"])
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


# ---------------------------------------------------------------- what the plots show


def accuracy_result(seed=0):
    """A classification run in miniature: 3 trials at chance level (0.1) first, 30 in the
    0.93-0.98 band, 2 failed (fitness NaN as load() reads it, and -inf as the engine has it),
    then 2 cached rows repeating earlier trials."""
    rng = np.random.default_rng(seed)
    fitness = np.concatenate([[0.1, 0.1, 0.1], rng.uniform(0.93, 0.98, 30), [np.nan, -np.inf]])
    n = len(fitness)
    trials = pd.DataFrame({
        "trial_id": np.arange(n), "generation": np.arange(n) // 10, "fitness": fitness,
        "status": np.where(np.isfinite(fitness), "ok", "diverged"), "cached": False,
        "a": 10.0 ** rng.uniform(-4, 0, n), "b": rng.uniform(0, 1, n), "c": rng.choice(["x", "y", "z"], n),
        "seed": np.arange(n), "seconds": 0.1, "parents": "", "operator": "init", "reason": "",
    })
    repeats = trials.iloc[[5, 6]].assign(trial_id=[n, n + 1], generation=3, cached=True)
    trials = pd.concat([trials, repeats], ignore_index=True)
    space = Space([FloatGene("a", 1e-4, 1.0, log=True), FloatGene("b", 0.0, 1.0),
                   CategoricalGene("c", ("x", "y", "z"))])
    return SearchResult(trials=trials, generations=pd.DataFrame(), curves=pd.DataFrame(), best={}), space


CHANCE = {0, 1, 2}
FAILED = {33, 34}
CACHED = {35, 36}


def test_zoom_limits_leave_out_chance_level_but_keep_the_top_band():
    top = np.linspace(0.93, 0.98, 30)
    low, high = plots.zoom_limits(np.concatenate([[0.1, 0.1, 0.1], top, [np.nan, -np.inf]]))
    assert 0.1 < low <= top.min() and high == top.max()
    assert plots.zoom_limits(top) == (top.min(), top.max())  # nothing far below: nothing cut
    assert plots.zoom_limits([0.5, 0.5]) == (0.5, 0.5)
    assert plots.zoom_limits([np.nan, -np.inf]) is None


def test_convergence_has_a_dot_per_trial_and_zooms_onto_the_best():
    result, _ = accuracy_result()
    data = plots.convergence_data(result)
    trials = result.trials
    points = data["trials"]
    # One dot per trained trial with a fitness, in the order trained; failed and cached ones are not dots.
    assert set(points["trial_id"]) == set(range(33))
    assert list(points["evaluations"]) == list(range(1, 34))
    assert set(data["failed"]["trial_id"]) == FAILED
    assert np.isfinite(points["fitness"]).all() and points["ok"].all()
    best = data["by_evaluation"]["best_so_far"].dropna().to_numpy()
    assert (np.diff(best) >= 0).all() and best[-1] == trials["fitness"].max()

    low, high = data["ylim"]
    assert high == trials["fitness"].max()
    assert 0.1 < low <= data["by_generation"]["best_so_far"].min()  # the chance-level start is below it
    assert set(points.loc[points["clipped"], "trial_id"]) >= CHANCE
    assert not points.loc[points["fitness"] >= low, "clipped"].any()


def test_landscape_zooms_onto_the_top_band():
    result, space = accuracy_result()
    features, frame, (low, high) = plots.landscape_data(result, space)
    top = frame["fitness"] > 0.9
    assert 0.1 < low <= frame.loc[top, "fitness"].min() and high == frame["fitness"].max()
    assert set(frame.loc[frame["clipped"], "trial_id"]) == CHANCE  # drawn on the bottom edge
    _, _, (whole_low, _) = plots.landscape_data(result, space, zoom=False)
    assert whole_low == 0.1


def test_a_landscape_bin_shows_its_best_trial_not_the_mean():
    # Trials 0 and 1 share a bin: one dead (chance level), one good; trial 4 failed there too.
    trials = pd.DataFrame({
        "trial_id": range(5), "generation": 0, "status": ["ok", "ok", "ok", "ok", "failed"],
        "fitness": [0.1, 0.95, 0.9, 0.5, np.nan], "cached": False,
        "a": [1e-2, 1e-2, 1e-4, 1.0, 1e-2], "b": [0.5, 0.5, 0.0, 1.0, 0.5], "c": ["x", "x", "y", "z", "x"],
    })
    result = SearchResult(trials, pd.DataFrame(), pd.DataFrame(), best={})
    space = Space([FloatGene("a", 1e-4, 1.0, log=True), FloatGene("b", 0.0, 1.0),
                   CategoricalGene("c", ("x", "y", "z"))])
    importance = pd.DataFrame({"importance": [0.6, 0.3, 0.1]}, index=pd.Index(["a", "c", "b"], name="feature"))
    pairs = plots.pair_data(result, space, importance=importance, bins=4)
    assert [(p["x"].name, p["y"].name) for p in pairs] == [("a", "c"), ("a", "b"), ("c", "b")]
    a_c = pairs[0]
    np.testing.assert_array_equal(a_c["y_edges"], [-0.5, 0.5, 1.5, 2.5])  # a bin per choice
    i = np.searchsorted(a_c["x_edges"], np.log10(1e-2), side="right") - 1  # bins are [left, right)
    assert a_c["value"][i, 0] == 0.95 and a_c["count"][i, 0] == 2
    median = plots.pair_data(result, space, importance=importance, bins=4, statistic="median")[0]
    assert median["value"][i, 0] == pytest.approx((0.1 + 0.95) / 2)
    assert a_c["count"].sum() == 4 and a_c["limits"][1] == 0.95


def test_parallel_coordinates_leave_out_cached_rows_and_label_every_axis():
    result, space = accuracy_result()
    features, frame, ticks = plots.parallel_data(result, space, top=5)
    assert set(frame["trial_id"]) == set(range(33))  # every successful trial once: no cached repeats
    assert frame["rank"].tolist() == list(range(1, 34))
    assert frame["top"].sum() == 5 and frame["fitness"].iloc[0] == result.trials["fitness"].max()
    assert set(ticks) == {feature.name for feature in features}
    assert ticks["c"] == ([0.0, 0.5, 1.0], ["x", "y", "z"])  # categories by name
    assert ticks["a"][1] == ["0.0001", "0.001", "0.01", "0.1", "1"]  # decades on a log axis
    for positions, labels in ticks.values():
        assert len(positions) == len(labels) >= 2 and all(0 <= p <= 1 for p in positions)


def test_diversity_has_a_failures_axis_only_when_trials_failed():
    generations = pd.DataFrame({"generation": [0, 1, 2], "diversity": [0.4, 0.3, 0.2], "failures": [0, 0, 0],
                                "evaluations": [8, 8, 8]})
    result = SearchResult(pd.DataFrame(), generations, pd.DataFrame(), best={})
    data = plots.diversity_data(result)
    assert "failures" not in data
    assert len(plots.draw_diversity(data).axes) == 1
    result.generations.loc[1, "failures"] = 2
    data = plots.diversity_data(result)
    assert data["failures"].tolist() == [0, 2, 0] and len(plots.draw_diversity(data).axes) == 2


def test_importance_is_shares_that_sum_to_one_with_readable_names():
    result, space = synthetic_result(60)
    result.trials = result.trials.rename(columns={"a": "learning_rate"})
    space = Space([FloatGene("learning_rate", 1e-4, 1.0, log=True), FloatGene("b", 0.0, 1.0),
                   CategoricalGene("c", ("x", "y", "z"))])
    importance = plots.importance_data(result, space)
    assert importance["importance"].sum() == pytest.approx(1.0)
    assert (importance["importance"] >= 0).all() and importance.index[0] == "learning_rate"
    assert importance.loc["learning_rate", "label"] == "learning rate"
    # The shares are the raw drops in R² over their total.
    positive = importance["r2_drop"].clip(lower=0)
    np.testing.assert_allclose(importance["importance"], positive / positive.sum())


def test_lineage_colours_are_not_washed_out_by_a_chance_level_ancestor():
    result, _ = accuracy_result()
    trials = result.trials
    trials.loc[[0, 1], "fitness"] = [0.1, 0.95]
    trials.loc[20, ["parents", "operator"]] = ["0;1", "crossover"]
    result.best = {"trial_id": 20}
    nodes, _, (low, high) = plots.lineage_data(result)
    assert set(nodes["trial_id"]) == {0, 1, 20}
    # From the run's lower fence (not the 0.1 ancestor), so the two good nodes differ in colour.
    ok = trials.loc[trials["status"] == "ok", "fitness"]
    assert low == plots.zoom_limits(ok)[0] and 0.1 < low < min(0.95, trials.at[20, "fitness"])
    assert high == max(0.95, trials.at[20, "fitness"])


def drawings():
    """(name, draw(ax) -> Figure, number of panels) for every draw function, from small tables."""
    result, space = accuracy_result()
    importance = plots.importance_data(*synthetic_result(60))
    pair_importance = pd.DataFrame({"importance": [0.5, 0.3, 0.2]}, index=pd.Index(["a", "c", "b"], name="feature"))
    pairs = plots.pair_data(result, space, importance=pair_importance)
    generations = pd.DataFrame({"generation": [0, 1], "diversity": [0.4, 0.3], "failures": [1, 0],
                                "evaluations": [8, 8]})
    coverage = pd.DataFrame({"x": [1.0, 0.4], "layers": [0.8, 0.2]}, index=pd.Index([0, 1], name="generation"))
    curves = pd.DataFrame({"trial_id": [3, 3, 4, 4], "epoch": [1, 2, 1, 2], "train_loss": [1.0, 0.5, 1.0, 0.6],
                           "val_loss": [1.1, 0.7, 1.2, 0.8], "val_metric": [0.8, 0.9, 0.7, 0.85],
                           "fitness": [0.9, 0.9, 0.85, 0.85], "rank": [1, 1, 2, 2]})
    fronts = pd.DataFrame({"generation": [0, 0, 1, 1], "trial_id": [1, 2, 3, 4], "val_metric": [0.9, 0.8, 0.95, 0.85],
                           "n_params": [1000, 100, 2000, 150]})
    final = fronts[fronts["generation"] == 1].assign(knee=[True, False])
    pareto = {"objectives": ["val_metric", "n_params"], "fronts": fronts, "final": final,
              "knee": final[final["knee"]]}
    schedule = pd.DataFrame({"step": [0, 1, 2], "fitness": [0.5, 0.7, 0.8], "operator": ["init", "continue", "exploit"],
                             "copied_from": [np.nan, np.nan, 1.0]})
    family = {"nodes": pd.DataFrame({"step": [0, 0, 1, 1], "member": [0, 1, 0, 1], "fitness": [0.5, 0.6, 0.7, np.nan]}),
              "edges": pd.DataFrame({"from_step": [0, 0], "from_member": [0, 1], "to_step": [1, 1], "to_member": [1, 1],
                                     "exploit": [True, False], "on_best_path": [False, True]})}
    points = pd.DataFrame({"trial_id": [1, 2, 3], "generation": [1, 1, 2], "predicted": [0.8, 0.9, 0.85],
                           "observed": [0.82, 0.88, 0.9]})
    by_generation = pd.DataFrame({"generation": [1, 2], "n": [2, 1], "spearman": [1.0, np.nan]})
    return [
        ("convergence", lambda ax: plots.draw_convergence(plots.convergence_data(result), ax=ax), 3),
        ("landscape", lambda ax: plots.draw_landscape(*plots.landscape_data(result, space), ax=ax), 3),
        ("landscape_2d", lambda ax: plots.draw_pairs(pairs, ax=ax), 3),
        ("parallel", lambda ax: plots.draw_parallel(*plots.parallel_data(result, space), ax=ax), 1),
        ("importance", lambda ax: plots.draw_importance(importance, ax=ax), 1),
        ("diversity", lambda ax: plots.draw_diversity(generations, ax=ax), 1),
        ("coverage", lambda ax: plots.draw_coverage(coverage, ax=ax), 1),
        ("lineage", lambda ax: plots.draw_lineage(*plots.lineage_data(result), ax=ax), 1),
        ("curves", lambda ax: plots.draw_curves(curves, ax=ax), 2),
        ("pareto", lambda ax: plots.draw_pareto(pareto, ax=ax), 1),
        ("pbt_schedule", lambda ax: plots.draw_pbt_schedule([], schedule, ax=ax), 1),
        ("pbt_family", lambda ax: plots.draw_pbt_family(family, ax=ax), 1),
        ("surrogate", lambda ax: plots.draw_surrogate(points, by_generation, ax=ax), 2),
    ]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name, draw, n_panels", drawings(), ids=[d[0] for d in drawings()])
def test_every_draw_function_draws_into_given_axes(name, draw, n_panels):
    # A single Axes gets the main panel.
    figure = Figure()
    ax = figure.subplots()
    assert draw(ax) is figure and ax.figure is figure
    assert ax.has_data(), name
    # A sequence gets one panel each; more Axes than panels is refused.
    figure = Figure()
    axes = figure.subplots(1, n_panels, squeeze=False).ravel()
    assert draw(list(axes) if n_panels > 1 else axes[0]) is figure
    assert all(panel.has_data() for panel in axes), name
    if n_panels > 1:
        with pytest.raises(ValueError, match="panel"):
            draw(list(Figure().subplots(1, n_panels + 1)))
    # Without ax, a figure of its own.
    made = draw(None)
    assert isinstance(made, Figure) and made is not figure and made.axes


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
