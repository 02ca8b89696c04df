"""What a results directory gives back: typed trials (load and run agree), the best trial's
saved model, `hpsearch show` for any objective, and a short printed SearchResult."""

import dataclasses
import json
import math
import textwrap

import numpy as np
import pandas as pd
import pytest

import netcore
from hpsearch import GeneticSearch, load
from hpsearch.cli import main
from hpsearch.config import build_search, load_config
from hpsearch.results import FAILED_STATUSES
from hpsearch.space import CategoricalGene, FloatGene, IntGene, Space
from hpsearch.status import SCORED_STATUSES, Status

from .objectives import bowl, tiny_mlp_space, toy_space, troublemaker
from .test_cli import TINY


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def trouble_dir(tmp_path_factory):
    """A toy search with failed, diverged and successful trials."""
    out = tmp_path_factory.mktemp("trouble") / "run"
    result = GeneticSearch(toy_space(), troublemaker, population=12, generations=2, seed=0, quiet=True,
                           out_dir=out).run()
    return out, result


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """The command line's tiny digits search (the built-in MLP objective)."""
    root = tmp_path_factory.mktemp("digits")
    config = write(root / "tiny.toml", TINY)
    out = root / "results"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 0
    return config, out


# -- 11: trials as Python reads them ------------------------------------------------------

def test_failed_statuses_are_the_engines_unscored_ones():
    assert set(FAILED_STATUSES) == set(Status) - set(SCORED_STATUSES) == {"failed", "diverged", "timeout"}


def test_failed_trials_have_no_fitness_in_the_csv_and_in_load(trouble_dir):
    out, result = trouble_dir
    text = pd.read_csv(out / "trials.csv", dtype=str, keep_default_na=False)
    failed = text["status"].isin(FAILED_STATUSES)
    assert failed.any() and (text.loc[failed, "fitness"] == "").all()
    assert "inf" not in (out / "trials.csv").read_text()

    trials = load(out).trials
    assert trials["fitness"].dtype == float
    assert trials.loc[trials["status"].isin(FAILED_STATUSES), "fitness"].isna().all()
    assert trials.loc[trials["status"] == "ok", "fitness"].notna().all()
    described = trials["fitness"].describe()
    assert math.isfinite(described["mean"]) and described["count"] == (trials["status"] == "ok").sum()
    assert result.trials["fitness"].isna().sum() == failed.sum()  # run() gives what load() reads


def test_layers_and_parents_are_tuples_of_ints_and_reasons_text(trouble_dir):
    out, result = trouble_dir
    trials = load(out).trials
    assert all(isinstance(cell, tuple) and cell and all(type(size) is int for size in cell)
               for cell in trials["layers"])
    assert (trials["layers"].map(len) == trials["n_layers"]).all()
    assert all(isinstance(cell, tuple) and all(type(p) is int for p in cell) for cell in trials["parents"])
    assert (trials.loc[trials["generation"] == 0, "parents"] == ()).all()
    bred = trials[trials["operator"].str.contains("crossover|mutation")]
    assert len(bred) and (bred["parents"].map(len) >= 1).all()
    assert all(isinstance(reason, str) for reason in trials["reason"])
    assert (trials.loc[trials["status"] == "ok", "reason"] == "").all()
    pd.testing.assert_frame_equal(trials, result.trials, check_dtype=False)
    row = trials.iloc[-1]  # a row still reads back as its genome
    assert toy_space().parse_row(row.to_dict())["layers"] == row["layers"]


def test_only_layers_genes_become_tuples(tmp_path):
    # Text with dashes, even followed by a gene named n_layers, stays text.
    space = Space([CategoricalGene("shape", ("8-16", "4-4-4")), IntGene("n_layers", 1, 3),
                   FloatGene("x", 0.0, 1.0)])
    result = GeneticSearch(space, lambda params, seed: {"fitness": params["x"]}, population=6, generations=1,
                           seed=0, quiet=True, out_dir=tmp_path / "run").run()
    for trials in (result.trials, load(tmp_path / "run").trials):
        assert set(trials["shape"]) <= {"8-16", "4-4-4"}
    (tmp_path / "run" / "config.toml").unlink()  # without the [space] table: the same
    assert set(load(tmp_path / "run").trials["shape"]) <= {"8-16", "4-4-4"}


def test_without_a_config_layers_genes_are_found_by_their_depth_column(trouble_dir, tmp_path):
    out, _ = trouble_dir
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("trials.csv", "best.json"):
        (copy / name).write_bytes((out / name).read_bytes())
    pd.testing.assert_frame_equal(load(copy).trials, load(out).trials)


def test_a_search_extended_by_resume_ends_as_an_uninterrupted_one(tmp_path):
    short = dict(population=12, seed=0, quiet=True, out_dir=tmp_path / "resumed")
    GeneticSearch(toy_space(), troublemaker, generations=1, **short).run()
    resumed = GeneticSearch(toy_space(), troublemaker, generations=2, **short).run()
    whole = GeneticSearch(toy_space(), troublemaker, population=12, generations=2, seed=0, quiet=True,
                          out_dir=tmp_path / "whole").run()
    columns = [c for c in whole.trials if c not in ("seconds", "worker")]
    pd.testing.assert_frame_equal(resumed.trials[columns], whole.trials[columns])
    pd.testing.assert_frame_equal(load(tmp_path / "resumed").trials[columns], whole.trials[columns])
    assert resumed.best == {**whole.best, "master_seed": 0} and resumed.trials["fitness"].isna().any()


# -- 12: the best trial's model -----------------------------------------------------------

def test_the_best_model_is_saved_and_predicts_the_test_score(digits_dir):
    config, out = digits_dir
    best = json.loads((out / "best.json").read_text())
    assert best["model"] == "best_model.npz"
    result = load(out)
    assert result.best_model_path == out / "best_model.npz"

    estimator = netcore.load(out / "best_model.npz")
    assert isinstance(estimator, netcore.MLPClassifier)
    assert estimator.get_params()["hidden_sizes"] == best["params"]["hidden_sizes"]
    data = build_search(load_config(config)).objective.data  # the same splits, scaled the same way
    labels = data["Y_test"].argmax(axis=1)
    accuracy = float(np.mean(estimator.predict(data["X_test"]) == labels))
    # The model is the first confirmation seed's retraining; test_metric the mean over all of them.
    assert accuracy == pytest.approx(best.get("model_test_metric", best["test_metric"]), abs=1e-12)
    model, _ = netcore.load_model(out / "best_model.npz")  # the bare network too
    assert model.layer_sizes[-1] == 10


def test_custom_objectives_save_no_model(trouble_dir):
    out, result = trouble_dir
    assert not (out / "best_model.npz").exists()
    assert "model" not in result.best and result.best_model_path is None


def test_without_a_test_split_the_model_is_still_saved(digits_splits, tmp_path):
    splits = dataclasses.replace(digits_splits, X_test=None, y_test=None)
    result = GeneticSearch(tiny_mlp_space(), splits, population=4, generations=0, seed=0, quiet=True,
                           out_dir=tmp_path / "run").run()
    assert result.test_score is None and result.best_model_path.exists()
    estimator = netcore.load(result.best_model_path)
    trials = result.trials  # the model: trained on the first seed its score is reported over
    first = trials.loc[trials["seed"] == result.best.get("confirmation_seeds", [result.best["seed"]])[0], "fitness"]
    assert np.mean(estimator.predict(digits_splits.X_val) == digits_splits.y_val) == \
        pytest.approx(first.iloc[-1], abs=1e-12)

    assert main(["show", str(tmp_path / "run")]) == 0


# -- 9: hpsearch show ---------------------------------------------------------------------

def test_show_of_a_custom_objective(trouble_dir, capsys):
    out, result = trouble_dir
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "finished" in shown.splitlines()[0]
    assert "not computed yet" not in shown and "not computed by this objective" in shown
    assert "validation" not in shown and "by score" in shown
    assert max(len(line) for line in shown.splitlines()) <= 100
    table = shown.split("trials by")[1].split("best config")[0].splitlines()
    first = table[2].split()
    assert int(first[0]) == result.best["trial_id"]
    header = table[1].split()
    assert header[:2] == ["trial", "fitness"] and "layers" in header and "parents" not in header


def test_show_puts_best_json_trial_first_and_wide_shows_every_column(trouble_dir, tmp_path, capsys):
    out, _ = trouble_dir
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("trials.csv", "generations.csv", "config.toml"):
        (copy / name).write_bytes((out / name).read_bytes())
    best = json.loads((out / "best.json").read_text())
    trials = load(out).trials
    worst_ok = trials[trials["status"] == "ok"].sort_values("fitness").iloc[0]
    best["trial_id"] = int(worst_ok["trial_id"])  # e.g. the knee of a Pareto front
    (copy / "best.json").write_text(json.dumps(best))
    assert main(["show", str(copy), "--top", "3"]) == 0
    table = capsys.readouterr().out.split("trials by")[1].splitlines()
    assert int(table[2].split()[0]) == best["trial_id"]
    others = [float(line.split()[1]) for line in table[3:5]]
    assert others == sorted(others, reverse=True) and min(others) > worst_ok["fitness"]

    assert main(["show", str(copy), "--wide"]) == 0
    header = capsys.readouterr().out.split("trials by")[1].splitlines()[1].split()
    assert {"trial_id", "status", "parents", "worker", "n_layers", "noise"} <= set(header)


def test_show_fits_100_columns_with_many_genes(tmp_path, capsys):
    space = Space([FloatGene(f"a_long_gene_name_{i}", 1e-3, 1.0, log=True) for i in range(12)])
    GeneticSearch(space, lambda params, seed: {"fitness": sum(params.values())}, population=4, generations=0,
                  seed=0, quiet=True, out_dir=tmp_path / "run").run()
    assert main(["show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    table = shown.split("trials by")[1].split("best config")[0].splitlines()[1:]
    assert max(len(line) for line in table) <= 100 and "a_lo~e_0" in table[0]
    assert "--wide" in shown


def test_show_of_the_mlp_objective_names_its_metric(digits_dir, capsys):
    _, out = digits_dir
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    best = json.loads((out / "best.json").read_text())
    assert "by validation accuracy" in shown
    assert f"test accuracy        {best['test_metric']:.4f}" in shown
    assert "best_model.npz" in shown
    assert max(len(line) for line in shown.splitlines()) <= 100


def test_show_of_a_minimized_objective_gives_its_own_numbers_lowest_first(tmp_path, capsys):
    def loss(params, seed):
        return (params["x"] - 0.3) ** 2 + 1.0

    out = tmp_path / "run"
    result = GeneticSearch(Space([FloatGene("x", 0.0, 1.0)]), loss, direction="minimize", population=6,
                           generations=2, seed=1, quiet=True, out_dir=out).run()
    assert main(["show", str(out), "--top", "4"]) == 0
    shown = capsys.readouterr().out
    assert "by score (value, lowest first)" in shown
    table = shown.split("trials by")[1].split("best config")[0].splitlines()
    assert table[1].split()[:2] == ["trial", "value"]
    values = [float(line.split()[1]) for line in table[2:6]]
    assert values == sorted(values) and all(v >= 1.0 for v in values)  # the losses, not -loss
    assert f"score (minimized)  {result.best['value']:.6g}" in shown


# -- 10: printing a SearchResult ----------------------------------------------------------

def test_a_search_result_prints_as_a_short_summary(tmp_path):
    result = GeneticSearch(toy_space(), bowl, population=6, generations=1, seed=0, quiet=True,
                           out_dir=tmp_path / "run").run()
    for text in (repr(result), str(result), repr(load(tmp_path / "run"))):
        assert text.startswith("SearchResult(") and len(text) < 400 and "\n" not in text
        assert f"{len(result.trials)} trials" in text and f"best fitness {result.best_score:.4g}" in text
        assert "layers=" in text and str(tmp_path / "run") in text
        assert "trial_id" not in text  # no table
    empty = GeneticSearch(toy_space(), bowl, population=4, generations=0, seed=0, quiet=True).run()
    assert "out_dir" not in repr(empty)
