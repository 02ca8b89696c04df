"""What a search means ("the user's hour"): a partial [space] extends the default space, the
default space searches only inits that train, ties between equal fitnesses break by a rule,
and an objective may return a plain number or a loss to minimise."""

import math
import re

import numpy as np
import pytest

from hpsearch import GeneticSearch, default_space
from hpsearch.config import ConfigError, parse_config
from hpsearch.evolve import rank_key
from hpsearch.genes import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from hpsearch.mlp import INIT_SCHEMES, MLP_DEFAULTS
from hpsearch.pbt import PopulationBasedTraining
from hpsearch.run import SearchError
from hpsearch.space import Space
from hpsearch.strategies.racing import Racing
from hpsearch.trial import _check_metrics

DEFAULT_NAMES = ("learning_rate", "momentum", "hidden_sizes", "batch_size", "epochs", "init")
NOTHING_TO_SEARCH = ("space: nothing to search: every gene has a single value "
                     "(give at least one gene a range or several choices)")
# One trial at a time in this process: fast, and the objectives below need not pickle.
HERE = {"n_jobs": 1, "in_process": True, "quiet": True}


def exact(message):
    return f"^{re.escape(message)}$"


def config(genes=None, **search):
    """The config of digits with these [space] genes (None: no [space]) and [search] keys."""
    document = {"dataset": {"name": "digits"}}
    if search:
        document["search"] = search
    if genes is not None:
        document["space"] = genes
    return parse_config(document)


# ---------------------------------------------------------------- 1. [space] extends the default


def test_a_partial_space_overrides_and_adds_to_the_default_genes():
    only_epochs = config({"epochs": {"value": 3}})
    # The demo's config: every other default gene is still searched.
    assert only_epochs.space.names == ("epochs", *(n for n in DEFAULT_NAMES if n != "epochs"))
    assert only_epochs.space["epochs"] == ConstantGene("epochs", 3)
    for name in DEFAULT_NAMES[:4]:
        assert only_epochs.space[name] == default_space()[name]

    narrower = FloatGene("learning_rate", 0.01, 0.1, log=True)
    changed = config({"learning_rate": narrower.to_config(), "activation": {"kind": "categorical",
                                                                             "choices": ["relu", "tanh"]}})
    assert changed.space.names == ("learning_rate", "activation", *DEFAULT_NAMES[1:])
    assert changed.space["learning_rate"] == narrower
    assert config({}).space == config().space == default_space()


def test_replace_starts_from_an_empty_space_and_round_trips():
    replaced = config({"learning_rate": {"kind": "float", "low": 0.01, "high": 0.1}, "epochs": 3},
                      space="replace")
    assert replaced.space.names == ("learning_rate", "epochs")
    # The effective config says so (only where extending would add genes), and loads back equal.
    assert replaced.to_dict()["search"]["space"] == "replace"
    assert parse_config(replaced.to_dict()) == replaced
    extended = config({"epochs": 3})
    assert "space" not in extended.to_dict()["search"] and parse_config(extended.to_dict()) == extended
    with pytest.raises(ConfigError, match=exact("space: missing: search.space = 'replace' searches only "
                                                "the genes of [space]")):
        config(space="replace")
    with pytest.raises(ConfigError, match=exact("search.space: unknown value 'extnd' (did you mean 'extend'?; "
                                                "valid: extend, replace)")):
        config({"epochs": 3}, space="extnd")


@pytest.mark.parametrize("space, mode", [
    ({"epochs": {"value": 3}}, "replace"),
    ({"epochs": 3, "init": {"kind": "categorical", "choices": ["he_uniform"]},
      "hidden_sizes": {"kind": "layers", "min_layers": 1, "max_layers": 1, "low": 16, "high": 16}}, "replace"),
    ({name: MLP_DEFAULTS[name] for name in DEFAULT_NAMES}, "extend"),  # every default gene fixed
])
def test_a_space_where_nothing_varies_is_an_error(space, mode):
    with pytest.raises(ConfigError, match=exact(NOTHING_TO_SEARCH)):
        config({k: list(v) if isinstance(v, tuple) else v for k, v in space.items()}, space=mode)


def test_genetic_search_refuses_a_space_of_constants():
    fixed = Space([ConstantGene("x", 1.0), CategoricalGene("c", ("a",)), LayersGene("layers", 2, 2, 8, 8),
                   ConstantGene("epochs", 3)])
    with pytest.raises(ValueError, match=exact(NOTHING_TO_SEARCH)):
        GeneticSearch(fixed, lambda params, seed: 0.0, **HERE)
    GeneticSearch(default_space(), lambda params, seed: 0.0, **HERE)  # default_space() users: unchanged
    GeneticSearch(Space([*fixed, IntGene("n", 1, 2)]), lambda params, seed: 0.0, **HERE)


def test_warm_start_genomes_may_leave_out_the_genes_taken_from_the_default():
    warm = config({"learning_rate": {"kind": "float", "low": 0.01, "high": 0.1}},
                  warm_start=[{"learning_rate": 0.05}])
    assert warm.ga.warm_start[0] == {"learning_rate": 0.05, **{n: MLP_DEFAULTS[n] for n in DEFAULT_NAMES[1:]}}
    with pytest.raises(ConfigError, match=exact("search.warm_start[0]: missing gene 'learning_rate'")):
        config({"learning_rate": {"kind": "float", "low": 0.01, "high": 0.1}}, warm_start=[{"epochs": 5}])


# ---------------------------------------------------------------- 2. inits that train


def test_the_default_space_leaves_out_the_inits_that_never_train():
    assert "zeros" not in INIT_SCHEMES and "normal" not in INIT_SCHEMES
    assert default_space()["init"].choices == INIT_SCHEMES
    assert {"he_uniform", "xavier_normal", "lecun_normal", "uniform"} <= set(INIT_SCHEMES)
    # Still available to a space that lists them (the classic lesson).
    lesson = config({"init": {"kind": "categorical", "choices": ["zeros", "normal", "he_uniform"]}})
    assert lesson.space["init"].choices == ("zeros", "normal", "he_uniform")


# ---------------------------------------------------------------- 3. ties


class Table:
    """An objective from a table {m: (fitness, n_params or None, val_loss)}."""

    def __init__(self, outcomes):
        self.outcomes = outcomes

    def __call__(self, params, seed):
        fitness, n_params, val_loss = self.outcomes[params["m"]]
        return {"fitness": fitness, "val_loss": val_loss, **({"n_params": n_params} if n_params is not None else {})}


@pytest.mark.parametrize("outcomes, order", [
    # higher fitness first, whatever the size
    ({"a": (0.8, 10, 0.1), "b": (0.9, 1000, 0.9)}, "ba"),
    # of equal fitness, fewer parameters (before a lower validation loss)
    ({"a": (0.9, 100, 0.5), "b": (0.9, 1000, 0.1), "c": (0.8, 10, 0.0)}, "abc"),
    # of equal fitness and size, the lower validation loss
    ({"a": (0.9, 100, 0.5), "b": (0.9, 100, 0.3), "c": (0.9, 100, 0.4)}, "bca"),
    # all equal: the earlier trial
    ({"a": (0.9, 100, 0.3), "b": (0.9, 100, 0.3), "c": (0.9, 100, 0.3)}, "abc"),
    # a trial that does not report n_params ranks after one that does
    ({"a": (0.9, None, 0.1), "b": (0.9, 100, 0.5)}, "ba"),
], ids=["fitness", "n_params", "val_loss", "earlier", "unreported"])
def test_ties_break_by_size_then_validation_loss_then_the_earlier_trial(outcomes, order):
    names = tuple(outcomes)
    space = Space([CategoricalGene("m", names)])
    # The tie rules are those of single-training selection (noise "none"): racing chooses
    # by means over several trainings.
    search = GeneticSearch(space, Table(outcomes), population=len(names), elitism=len(names) - 1,
                           generations=0, warm_start=[{"m": m} for m in names], racing=Racing(noise="none"), **HERE)
    result = search.run()
    assert list(result.trials["m"]) == list(names)  # trial ids follow the warm start
    assert result.best_params == {"m": order[0]}
    assert result.best["trial_id"] == names.index(order[0])
    # The hall of fame (elites, best.json) keeps the same order.
    assert [individual["m"] for individual in search.ga.hall_of_fame] == list(order[:len(names) - 1])


def test_rank_key_orders_by_the_rule():
    rows = [{"trial_id": 0, "n_params": 500, "val_loss": 0.2}, {"trial_id": 1, "n_params": 50, "val_loss": 0.9},
            {"trial_id": 2, "n_params": 50, "val_loss": 0.1}, {"trial_id": 3, "n_params": 50, "val_loss": 0.1},
            {"trial_id": 4, "val_loss": math.nan}]
    ranked = sorted(rows, key=lambda row: rank_key(0.5, row), reverse=True)
    assert [row["trial_id"] for row in ranked] == [2, 3, 1, 0, 4]
    assert rank_key(0.6, rows[0]) > rank_key(0.5, rows[2])


class StepOnly:
    """Enough of a PBT objective to build the search (never trained here)."""

    def train_step(self, params, seed, *, first_epoch, epochs, load=None, save=None):
        raise AssertionError("not trained")


def test_population_based_training_breaks_ties_the_same_way():
    pbt = PopulationBasedTraining(Space([FloatGene("learning_rate", 0.01, 1.0)]), StepOnly(), population=3,
                                  quiet=True)
    pbt._fresh_state()
    losses = [0.5, 0.2, 0.2]
    pbt.trials.add([{"trial_id": m, "generation": 0, "member": m, "status": "ok", "fitness": 0.9,
                     "val_loss": loss, "seed": 0} for m, loss in enumerate(losses)])
    pbt.members = [{"params": {"learning_rate": 0.1}, "fitness": 0.9, "trial_id": m, "weights": None}
                   for m in range(3)]
    assert pbt._best_member() == 1  # lower validation loss, then the earlier of members 1 and 2
    pbt.members[0]["fitness"] = 0.95
    assert pbt._best_member() == 0


# ---------------------------------------------------------------- 4. numbers and minimisation


def parabola(params, seed):
    """A loss, as a plain number: least (0) at x = 0.3, y = 0.6; raises near x = 1."""
    if params["x"] > 0.95:
        raise RuntimeError("out of range")
    return (params["x"] - 0.3) ** 2 + (params["y"] - 0.6) ** 2


def plane():
    return Space([FloatGene("x", 0.0, 1.0), FloatGene("y", 0.0, 1.0)])


def test_a_plain_number_is_the_fitness():
    assert _check_metrics(3) == {"fitness": 3.0, "status": "ok", "reason": ""}
    assert _check_metrics(np.float32(0.5))["fitness"] == 0.5
    assert _check_metrics(np.int64(2))["fitness"] == 2.0
    assert _check_metrics(True) == {"status": "failed", "reason": "objective returned bool, not a dict or a number"}
    assert _check_metrics("0.5") == {"status": "failed", "reason": "objective returned str, not a dict or a number"}
    assert _check_metrics(math.nan)["reason"] == "objective returned non-finite fitness nan"

    result = GeneticSearch(plane(), lambda params, seed: -parabola(params, seed), max_evaluations=30,
                           **HERE).run()
    assert result.best_score == result.trials["fitness"].max() > -0.05
    assert "direction" not in result.best and "value" not in result.best and "value" not in result.trials


def test_minimize_finds_the_least_value_of_a_loss(tmp_path):
    search = GeneticSearch(plane(), parabola, direction="minimize", max_evaluations=60, out_dir=tmp_path / "min",
                           **HERE)
    result = search.run()
    best, trials = result.best, result.trials
    assert best["direction"] == "minimize"
    assert best["value"] < 0.01 and abs(best["params"]["x"] - 0.3) < 0.1 and abs(best["params"]["y"] - 0.6) < 0.1
    # fitness is what the search maximises (-value); value is the objective's own number.
    assert best["fitness"] == -best["value"] == result.best_score
    ok = trials["status"] == "ok"
    assert (trials.loc[ok, "value"] == -trials.loc[ok, "fitness"]).all()
    assert best["value"] == trials.loc[ok, "value"].min()
    # Failed trials stay the worst: no value, and no fitness but -inf where the search ranks them.
    failed = trials["status"] == "failed"
    assert failed.any() and trials.loc[failed, "value"].isna().all()
    assert not (trials.loc[failed, "fitness"] > -math.inf).any()
    assert all(row["fitness"] == -math.inf for row in search.trials.rows if row["status"] == "failed")
    # The same objective maximised goes elsewhere: the direction is what decided.
    worst = GeneticSearch(plane(), parabola, max_evaluations=30, **HERE).run()
    assert worst.best["fitness"] > 0.3 and "direction" not in worst.best

    # The direction is a setting: resuming the directory under the other one is refused.
    with pytest.raises(SearchError, match="direction: 'minimize' -> '<unset>'"):
        GeneticSearch(plane(), parabola, max_evaluations=60, out_dir=tmp_path / "min", **HERE).run()


def test_target_fitness_is_on_the_fitness_scale_under_minimize():
    result = GeneticSearch(plane(), parabola, direction="minimize", target_fitness=-0.05, max_evaluations=200,
                           **HERE).run()
    assert result.best["stop_reason"] == "target_fitness (-0.05)" and result.best["value"] <= 0.05


def test_direction_is_refused_where_it_cannot_apply(digits_splits):
    with pytest.raises(ValueError, match=exact("direction: unknown value 'minimise' (did you mean 'minimize'?; "
                                               "valid: maximize, minimize)")):
        GeneticSearch(plane(), parabola, direction="minimise", **HERE)
    with pytest.raises(ValueError, match=exact("direction: the objective's metric 'accuracy' is "
                                               "higher-is-better; 'minimize' is for objectives that return a loss")):
        GeneticSearch(default_space(), digits_splits, direction="minimize", **HERE)
    with pytest.raises(ValueError, match=exact("direction: 'minimize' is for the single fitness; NSGA-II's "
                                               "objectives have directions of their own")):
        GeneticSearch(plane(), parabola, direction="minimize", objectives=["val_metric", "n_params"], **HERE)


@pytest.mark.parametrize("dataset, metric", [("digits", "accuracy"), ("regression", "neg_mse")])
def test_a_config_refuses_minimize_for_the_mlp_metrics(dataset, metric):
    document = {"dataset": {"name": dataset}, "objective": {"direction": "minimize"}}
    with pytest.raises(ConfigError, match=exact(f"objective.direction: the metric '{metric}' is higher-is-better, "
                                                f"so 'minimize' would search for the worst models ('minimize' is "
                                                f"for custom objectives from Python)")):
        parse_config(document)
    document["objective"]["direction"] = "maximize"
    assert parse_config(document).objective.direction == "maximize"
