"""None as a categorical choice (scikit-learn's max_depth=None): searched, written to trials.csv,
the checkpoint, best.json and config.toml, and read back as None everywhere."""

import json
import tomllib

import pandas as pd
import pytest

import hpsearch
from hpsearch import CategoricalGene, ConstantGene, FloatGene, GeneticSearch, Space
from hpsearch.results import read_config
from hpsearch.strategies.racing import Racing


def space():
    return Space([CategoricalGene("max_depth", (None, 2, 8)), CategoricalGene("max_features", ("sqrt", None)),
                  FloatGene("x", 0.0, 1.0), ConstantGene("class_weight", None)])


def unlimited_is_best(params, seed):
    assert params["class_weight"] is None
    depth = 30 if params["max_depth"] is None else params["max_depth"]
    return depth / 10 + (params["max_features"] is None) - (params["x"] - 0.3) ** 2


def test_a_none_choice_is_searched_and_round_trips_through_every_file(tmp_path):
    out = tmp_path / "run"
    result = GeneticSearch(space(), unlimited_is_best, population=6, max_evaluations=20, seed=0, n_jobs=1,
                           quiet=True, out_dir=out).run()
    assert result.best_params["max_depth"] is None and result.best_params["max_features"] is None
    assert result.best_params["class_weight"] is None
    assert json.loads((out / "best.json").read_text())["params"]["max_depth"] is None
    # trials.csv writes None as "None"; pandas reads it back as missing, the space as None again
    assert "None" in (out / "trials.csv").read_text()
    loaded = hpsearch.load(out)
    genomes = [space().parse_row(row) for row in loaded.trials.to_dict("records")]
    assert [g["max_depth"] for g in genomes] == [None if v == "None" else v for v in result.trials["max_depth"]]
    assert any(g["max_depth"] is None for g in genomes) and any(g["max_depth"] == 8 for g in genomes)
    # config.toml: TOML has no null, the config spells None as { none = true }
    text = (out / "config.toml").read_text()
    assert "none = true" in text
    assert Space.from_config(read_config(out)["space"]) == space()
    # the plots and the report read the None cells back too
    from hpsearch.plots import plot_all
    from hpsearch.report import write_report

    assert {"landscape.png", "importance.png"} <= {path.name for path in plot_all(out, quiet=True)}
    assert write_report(out).exists()


def test_resume_with_none_choices_ends_as_an_uninterrupted_run(tmp_path):
    def search(evaluations, out):
        # Without racing: with it, the reserve of the final race is a share of the budget, so
        # a search extended from 10 to 20 evaluations is not the 20-evaluation one.
        return GeneticSearch(space(), unlimited_is_best, population=6, max_evaluations=evaluations, seed=3,
                             n_jobs=1, quiet=True, out_dir=out, racing=Racing(noise="none"))

    whole = search(20, tmp_path / "whole").run()
    search(10, tmp_path / "parts").run()
    resumed = search(20, tmp_path / "parts").run()  # from the checkpoint, its genomes holding None
    columns = ["trial_id", "max_depth", "max_features", "x", "fitness", "seed"]
    pd.testing.assert_frame_equal(whole.trials[columns], resumed.trials[columns])
    assert whole.best_params == resumed.best_params and whole.best["trial_id"] == resumed.best["trial_id"]
    assert None in set(resumed.best_params.values())


def test_a_toml_config_spells_none_as_a_table():
    table = tomllib.loads('max_depth = { kind = "categorical", choices = [3, 10, { none = true }] }\n'
                          'class_weight = { kind = "constant", value = { none = true } }\n')
    built = Space.from_config(table)
    assert built["max_depth"].choices == (3, 10, None) and built["class_weight"].value is None
    assert built.to_config()["max_depth"]["choices"] == [3, 10, {"none": True}]


def test_none_beside_a_string_read_back_as_missing_is_refused():
    with pytest.raises(ValueError, match="must not hold both None and 'NA'"):
        CategoricalGene("c", (None, "NA"))
    with pytest.raises(ValueError, match="must be distinct"):
        CategoricalGene("c", (None, None))
    with pytest.raises(ValueError, match="written differently in CSV"):
        CategoricalGene("c", (None, "None"))
    with pytest.raises(ValueError, match=r"space.c.choices: must hold strings, .* or None \(got dict"):
        Space.from_config({"c": {"kind": "categorical", "choices": [1, {"null": True}]}})
