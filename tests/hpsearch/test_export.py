"""hpsearch.export.to_optuna: a results directory's trials as an Optuna study that Optuna reads
back with the same trials, states and best."""

import json
import math
from collections import Counter

import pytest

optuna = pytest.importorskip("optuna", reason="optuna is not installed (the optional 'optuna' extra)")

import hpsearch
from hpsearch import Fidelity, GeneticSearch
from hpsearch.export import distributions, optuna_params, to_optuna

from .objectives import (
    bowl,
    curve_space,
    front_space,
    learning_curve,
    tiny_mlp_space,
    toy_space,
    troublemaker,
    two_objectives,
)

STATES = {"ok": "COMPLETE", "pruned": "PRUNED", "promoted": "PRUNED", "failed": "FAIL", "diverged": "FAIL",
          "timeout": "FAIL"}


def run(out, space, objective, **settings):
    settings = {"population": 8, "generations": 3, "seed": 1, "quiet": True, "n_jobs": 1, **settings}
    return GeneticSearch(space, objective, out_dir=out, **settings).run()


def export(out, tmp_path, **options):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    name = to_optuna(out, storage, **options)
    return optuna.load_study(study_name=name, storage=storage), storage


def assert_same_trials(study, result):
    trials = result.trials
    assert len(study.trials) == len(trials)
    assert Counter(t.state.name for t in study.trials) == Counter(STATES[s] for s in trials["status"])
    for trial, (_, row) in zip(study.trials, trials.iterrows()):
        assert trial.number == row["trial_id"] == trial.user_attrs["trial_id"]
        assert trial.user_attrs["status"] == row["status"] and trial.state.name == STATES[row["status"]]


def loss(params, seed):
    return -bowl(params, seed)["fitness"]


def test_a_search_reads_back_with_its_trials_states_and_best(tmp_path):
    result = run(tmp_path / "out", toy_space(), troublemaker, generations=4)
    study, _ = export(tmp_path / "out", tmp_path)
    assert study.study_name == "out" and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert_same_trials(study, result)
    assert {"COMPLETE", "FAIL"} <= {t.state.name for t in study.trials}
    assert all(t.values is None for t in study.trials if t.state.name == "FAIL")
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    params, attrs = optuna_params(toy_space(), toy_space().parse_row(
        {**best["params"], "layers": tuple(best["params"]["layers"])}))
    assert study.best_value == best["fitness"] and study.best_trial.params == params
    assert study.best_trial.user_attrs["layers"] == best["params"]["layers"]
    assert study.user_attrs["hpsearch_best_trial_id"] == best["trial_id"]
    # The layers gene: its depth and one size per layer; a power of two as an ordered int.
    trial = study.trials[best["trial_id"]]
    assert trial.params == params and params["n_layers"] == len(best["params"]["layers"])
    assert params["layers_1"] == best["params"]["layers"][0]
    dists = distributions(toy_space())
    assert dists["n"] == optuna.distributions.IntDistribution(8, 256, log=True)
    assert dists["x"] == optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
    assert dists["c"] == optuna.distributions.CategoricalDistribution(("a", "b", "c"))
    assert set(dists) == {"x", "y", "n", "c", "n_layers", "layers_1", "layers_2", "layers_3"}
    row = result.trials.loc[best["trial_id"]]
    assert trial.user_attrs["seed"] == row["seed"] and trial.user_attrs["generation"] == row["generation"]
    assert trial.user_attrs.get("parents", []) == list(row["parents"])  # empty cells are left out


def test_a_minimize_search_exports_its_value(tmp_path):
    result = run(tmp_path / "out", toy_space(), loss, direction="minimize")
    study, _ = export(tmp_path / "out", tmp_path, study_name="losses")
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert study.study_name == "losses" and study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.best_value == best["value"] > 0
    assert study.best_trial.user_attrs["layers"] == best["params"]["layers"]
    assert [t.value for t in study.trials] == list(result.trials["value"])


def test_a_multi_fidelity_search_exports_pruned_trials_and_curves(tmp_path):
    fidelity = Fidelity(rungs=3, pruner="median", min_trials=3)
    result = run(tmp_path / "out", curve_space(), learning_curve, fidelity=fidelity, population=9)
    study, _ = export(tmp_path / "out", tmp_path)
    assert_same_trials(study, result)
    assert {"COMPLETE", "PRUNED"} <= {t.state.name for t in study.trials}
    best = result.best
    assert study.best_value == best["fitness"] and study.best_trial.params == best["params"]
    curves = result.curves
    for trial in study.trials:
        rows = curves[curves["trial_id"] == trial.number]
        assert trial.intermediate_values == dict(zip(rows["epoch"], rows["val_metric"]))
        if trial.state.name == "PRUNED":
            assert trial.value == result.trials.loc[trial.number, "fitness"]


def test_an_mlp_search_keeps_constants_as_user_attributes(tmp_path, digits_splits):
    result = run(tmp_path / "out", tiny_mlp_space(), digits_splits, population=4, generations=1)
    study, _ = export(tmp_path / "out", tmp_path)
    assert_same_trials(study, result)
    best = result.best
    trial = study.trials[study.user_attrs["hpsearch_best_trial_id"]]  # the chosen genome's first training
    # Every training is a trial; hpsearch's score is the mean of the chosen genome's fresh
    # trainings, Optuna's best_value the best single one.
    assert trial.value == result.trials.loc[best["trial_id"], "fitness"]
    assert study.best_value == result.trials["fitness"].max() >= best["fitness"]
    assert trial.user_attrs["activation"] == "relu" and "activation" not in trial.params
    assert trial.user_attrs["hidden_sizes"] == best["params"]["hidden_sizes"]
    assert trial.params["n_layers"] == len(best["params"]["hidden_sizes"])
    assert {k: v for k, v in trial.params.items() if not k.startswith(("n_layers", "hidden_sizes"))} == {
        k: v for k, v in best["params"].items() if k not in ("hidden_sizes", "activation")}
    assert trial.user_attrs["n_params"] == result.trials.loc[trial.number, "n_params"]


def test_a_multi_objective_search_exports_each_objective_with_its_direction(tmp_path):
    result = run(tmp_path / "out", front_space(), two_objectives, objectives=["val_metric", "n_params"])
    study, _ = export(tmp_path / "out", tmp_path)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for trial, (_, row) in zip(study.trials, result.trials.iterrows()):
        assert trial.values == [row["fitness"], row["n_params"]]
    assert study.best_trials


def test_an_existing_study_is_refused_unless_replaced(tmp_path):
    run(tmp_path / "out", toy_space(), bowl, generations=1)
    study, storage = export(tmp_path / "out", tmp_path)
    n_trials = len(study.trials)
    with pytest.raises(ValueError) as error:
        to_optuna(tmp_path / "out", storage)
    assert str(error.value) == f"study 'out' already exists in {storage} (choose another study name)"
    assert to_optuna(tmp_path / "out", storage, study_name="again") == "again"
    assert to_optuna(tmp_path / "out", storage, replace=True) == "out"
    # generation 0's 8, then generation 1's 6 trainings (the incumbent's probe among them)
    assert len(optuna.load_study(study_name="out", storage=storage).trials) == n_trials == 14
    assert sorted(optuna.get_all_study_names(storage)) == ["again", "out"]


def test_user_errors_are_one_line_value_errors(tmp_path):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    cases = [(tmp_path / "missing", storage, "no such results directory")]
    run(tmp_path / "out", toy_space(), bowl, generations=0)
    cases += [(tmp_path / "out", "not a url", "storage 'not a url': cannot open it"),
              (tmp_path / "out", f"sqlite:///{tmp_path / 'no' / 'dir.db'}", "cannot open it")]
    for out_dir, url, message in cases:
        with pytest.raises(ValueError) as error:
            to_optuna(out_dir, url)
        assert message in str(error.value) and "\n" not in str(error.value)
    (tmp_path / "out" / "config.toml").write_text("seed = 1\n")
    with pytest.raises(ValueError, match="config.toml has no \\[space\\] table"):
        to_optuna(tmp_path / "out", storage)


def test_population_based_training_results_are_refused(tmp_path):
    (tmp_path / "trials.csv").write_text("trial_id,generation,member,status,fitness,cached\n")
    (tmp_path / "config.toml").write_text('[search]\nmode = "pbt"\n[space.x]\nkind = "float"\nlow = 0\nhigh = 1\n')
    with pytest.raises(ValueError, match="population-based training results"):
        to_optuna(tmp_path, f"sqlite:///{tmp_path / 'studies.db'}")


def test_int_genes_with_a_step_and_a_log_scale_map_to_optuna_ranges():
    space = hpsearch.Space([hpsearch.IntGene("a", 1, 100, log=True), hpsearch.IntGene("b", 0, 10, step=3),
                            hpsearch.IntGene("c", 2, 20, log=True, step=2), hpsearch.ConstantGene("k", [1, 2])])
    dists = distributions(space)
    assert dists == {"a": optuna.distributions.IntDistribution(1, 100, log=True),
                     "b": optuna.distributions.IntDistribution(0, 9, step=3),
                     "c": optuna.distributions.IntDistribution(2, 20, step=2)}
    params, attrs = optuna_params(space, {"a": 5, "b": 9, "c": 4, "k": (1, 2)})
    assert params == {"a": 5, "b": 9, "c": 4} and attrs == {"k": [1, 2]}
    assert not math.isnan(dists["b"].to_internal_repr(params["b"]))
