"""Multi-fidelity search: successive-halving rungs, the per-epoch pruner, and that the
engine's guarantees (n_jobs invariance, resume, failure isolation) hold with them."""

import functools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hpsearch
from hpsearch import Fidelity, GeneticSearch
from hpsearch.pruning import Reporter

from .objectives import bowl, curve_space, learning_curve, slow_learning_curve, tiny_mlp_space, toy_space


# -- the rules ------------------------------------------------------------------------------
def test_rung_budgets_grow_by_the_reduction_factor_up_to_the_epochs_gene():
    assert Fidelity(rungs=3, reduction_factor=3).rung_epochs(27) == [3, 9, 27]
    assert Fidelity(rungs=3, reduction_factor=3).rung_epochs(20) == [2, 7, 20]
    assert Fidelity(rungs=3, reduction_factor=3).rung_epochs(2) == [1, 2]  # no repeated budget
    assert Fidelity(rungs=4, reduction_factor=2).rung_epochs(1) == [1]


@given(st.integers(1, 500), st.integers(1, 6), st.floats(1.5, 5))
def test_rung_budgets_increase_and_end_at_the_full_budget(epochs, rungs, factor):
    budgets = Fidelity(rungs=rungs, reduction_factor=factor).rung_epochs(epochs)
    assert budgets[-1] == epochs and 1 <= len(budgets) <= rungs
    assert all(1 <= a < b for a, b in zip(budgets, budgets[1:]))


def test_promotions_keep_one_in_reduction_factor_and_at_least_one():
    fidelity = Fidelity(reduction_factor=3)
    assert [fidelity.n_promoted(n) for n in (0, 1, 2, 3, 8, 10, 30)] == [0, 1, 1, 1, 2, 3, 10]


def test_promotion_ranks_a_batch_among_the_earlier_trainings_at_its_rung():
    fidelity = Fidelity(reduction_factor=3)
    assert fidelity.promotions([0.5, 0.9, 0.1]) == [1]                      # best 1 of 3
    earlier = [0.8, 0.7, 0.6, 0.2, 0.1, 0.0]
    assert fidelity.promotions([0.5, 0.9, 0.85], earlier) == [1, 2]        # best 3 of 9: 0.9, 0.85, 0.8
    assert fidelity.promotions([0.5, 0.4, 0.3], earlier) == []             # a weak batch: none
    assert fidelity.promotions([0.8], [0.8, 0.9]) == []                     # the earlier wins a tie


@given(st.lists(st.floats(0, 1), max_size=12), st.lists(st.floats(0, 1), max_size=20))
def test_promoted_scores_beat_every_unpromoted_one(scores, earlier):
    fidelity = Fidelity(reduction_factor=3)
    promoted = fidelity.promotions(scores, earlier)
    k = fidelity.n_promoted(len(scores) + len(earlier))
    assert len(promoted) <= k
    left = [s for j, s in enumerate(scores) if j not in promoted]
    assert all(scores[j] >= max(left, default=0) for j in promoted)
    for j in promoted:  # fewer than k trainings did better
        assert sum(s > scores[j] for s in scores + earlier) < k
    for s in left:      # at least k did at least as well
        assert sum(t >= s for t in scores + earlier) - 1 >= k
    if scores and not earlier:
        assert len(promoted) >= 1


def test_pruning_thresholds_are_percentiles_of_earlier_runs_at_each_epoch():
    curves = [[0.1, 0.2, 0.3], [0.2, 0.4, 0.6], [0.3, 0.6], [0.4, 0.8], [0.5, math.nan]]
    median = Fidelity(pruner="median", warmup_epochs=1, min_trials=3).thresholds(curves)
    assert math.isnan(median[0])                      # warm-up epoch: nobody is judged
    assert median[1] == pytest.approx(0.5)            # median of 0.2, 0.4, 0.6, 0.8
    assert math.isnan(median[2])                      # only two runs reached epoch 3
    quartile = Fidelity(pruner="percentile", percentile=25, warmup_epochs=0, min_trials=3)
    assert quartile.thresholds(curves)[0] == pytest.approx(np.percentile([.1, .2, .3, .4, .5], 25))
    assert Fidelity(pruner="none").thresholds(curves) == []


@pytest.mark.parametrize("settings, message", [
    ({"rungs": 0}, "rungs: must be >= 1, got 0"),
    ({"reduction_factor": 1}, "reduction_factor: must be > 1, got 1"),
    ({"pruner": "hyperband"}, "pruner: unknown value 'hyperband' (valid: none, median, percentile)"),
    ({"pruner": "percentile", "percentile": 100}, "percentile: must be in (0, 100), got 100"),
    ({"pruner": "median", "percentile": 30},
     "percentile: only used with pruner = 'percentile', not 'median'"),
    ({"min_trials": -1}, "min_trials: must be >= 0, got -1"),
])
def test_bad_fidelity_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Fidelity(**settings)


def test_multi_fidelity_needs_an_epochs_gene_and_a_pruning_objective():
    with pytest.raises(ValueError, match="needs an 'epochs' gene"):
        GeneticSearch(toy_space(), bowl, fidelity=Fidelity())
    with pytest.raises(ValueError, match="needs an objective that takes reporter="):
        GeneticSearch(curve_space(), lambda params, seed: {"fitness": 0.0}, fidelity=Fidelity(pruner="median"))
    GeneticSearch(curve_space(), lambda params, seed: {"fitness": 0.0}, fidelity=Fidelity())


# -- the search -----------------------------------------------------------------------------
def run(fidelity=None, **settings):
    settings = {"population": 9, "generations": 4, "seed": 2, "quiet": True, **settings}
    return GeneticSearch(curve_space(), learning_curve, fidelity=fidelity, **settings).run()


def test_each_rung_promotes_the_best_of_the_one_below():
    fidelity = Fidelity(rungs=3, reduction_factor=3, pruner="none")
    trials = run(fidelity, generations=6).trials
    trained = trials[~trials["cached"] & trials["rung"].notna()]  # rungs: not the races' whole trainings
    for (generation, rung), rows in trained.groupby(["generation", "rung"]):
        rung = int(rung)
        budgets = [fidelity.rung_epochs(e) for e in rows["epochs"]]
        assert list(rows["epochs_run"]) == [b[rung] for b in budgets]
        climbing = rows[[rung + 1 < len(b) for b in budgets]]
        field = trained[(trained["generation"] < generation) & (trained["rung"] == rung)
                        & (trained["status"] != "ok")]  # earlier trainings that had a higher rung
        expected = fidelity.promotions(list(climbing["fitness"]), list(field["fitness"]))
        promoted = climbing[climbing["status"] == "promoted"]
        assert list(promoted["trial_id"]) == list(climbing["trial_id"].iloc[expected])
        rest = climbing[climbing["status"] != "promoted"]
        assert (rest["status"] == "pruned").all() and rest["reason"].str.contains("not promoted").all()
        top = rows[[rung + 1 == len(b) for b in budgets]]
        assert (top["status"] == "ok").all() and (top["epochs_run"] == top["epochs"]).all()
        # the next rung retrains exactly the promoted genomes
        above = trials[(trials["generation"] == generation) & (trials["rung"] == rung + 1)
                       & ~trials["cached"]]
        assert sorted(above["x"]) == sorted(promoted["x"])


def test_the_best_is_fully_trained_and_epochs_are_counted():
    result = run(Fidelity(pruner="median", min_trials=3))
    trials, best = result.trials, result.best
    assert trials.loc[best["trial_id"], "status"] == "ok"
    full = trials[trials["status"] == "ok"]
    assert best["fitness"] == full["fitness"].max()
    assert result.generations["epochs_total"].iloc[-1] == trials.loc[~trials["cached"], "epochs_trained"].sum()
    assert (trials["epochs_trained"] == trials["epochs_run"]).all()  # learning_curve cannot continue
    assert result.generations["evaluations_total"].iloc[-1] == (~trials["cached"]).sum()


def test_pruned_runs_fell_below_the_earlier_runs_at_their_last_epoch():
    fidelity = Fidelity(rungs=1, pruner="percentile", percentile=60, warmup_epochs=2, min_trials=4)
    result = run(fidelity, generations=5)
    trials, curves = result.trials, result.curves
    by_epoch = curves.pivot(index="trial_id", columns="epoch", values="val_metric")
    pruned = trials[(trials["status"] == "pruned") & ~trials["cached"]]
    assert len(pruned) >= 5 and (pruned["epochs_run"] < pruned["epochs"]).all()
    for _, trial in pruned.iterrows():
        earlier = trials[(trials["generation"] < trial["generation"]) & ~trials["cached"]]["trial_id"]
        threshold = fidelity.thresholds([list(by_epoch.loc[t].dropna()) for t in earlier])
        epoch = trial["epochs_run"]
        assert by_epoch.loc[trial["trial_id"], epoch] < threshold[epoch - 1]
    assert (trials.loc[trials["status"] == "ok", "epochs_run"] == trials.loc[trials["status"] == "ok", "epochs"]).all()


def test_multi_fidelity_trains_a_fraction_of_the_epochs_of_a_plain_search():
    # Generation 0 holds the same genomes in both: the saving per generation, measured.
    plain = run(generations=0, population=27)
    fast = run(Fidelity(rungs=3, reduction_factor=3, pruner="none"), generations=0, population=27)
    assert set(plain.trials["x"]) == set(fast.trials["x"])
    assert fast.generations["epochs_total"].iloc[0] < 0.5 * plain.generations["epochs_total"].iloc[0]
    assert fast.best_score >= 0.9 * plain.best_score


def test_parents_are_chosen_on_the_rung_0_score_that_every_genome_has():
    from hpsearch.evolve import GeneticAlgorithm, make_individual
    from hpsearch.settings import GA

    ga = GeneticAlgorithm(curve_space(), np.random.default_rng(0),
                          GA(population=2, tournament_size=20, elitism=0))  # both members in every tournament
    full = make_individual({"x": 0.01, "y": 0.7, "epochs": 27}, trial_id=0)
    partial = make_individual({"x": 0.01, "y": 0.5, "epochs": 27}, trial_id=1)
    # the fully trained genome has the higher fitness, the other the higher rung-0 score
    ga.tell([full, partial], [0.9, 0.5], [0, 1], eligible=[True, False], screening=[0.3, 0.4])
    ga.advance([full, partial])
    assert ga.best() is not None and ga.best().trial_id == 0
    assert {ga._tournament(ga.rng) for _ in range(20)} == {1}
    state = ga.state()
    again = GeneticAlgorithm(curve_space(), np.random.default_rng(0),
                             GA(population=2, tournament_size=2, elitism=0))
    again.load_state(state)
    assert [i.screening for i in again.population] == [0.3, 0.4]


@pytest.mark.parametrize("fidelity", [Fidelity(), None])
def test_the_training_epochs_budget_stops_the_search_without_exceeding_it(fidelity):
    result = run(fidelity, generations=100, max_training_epochs=150)
    assert result.best["finished"] and result.best["stop_reason"].startswith("max_training_epochs (150")
    trials = result.trials[~result.trials["cached"]]
    assert result.generations["epochs_total"].iloc[-1] == trials["epochs_trained"].sum() <= 150
    # It stopped where the next training did not fit: a genome dropped, or (multi-fidelity)
    # a promotion refused for the budget.
    last = result.generations["generation"].iloc[-1]
    if fidelity is None:
        assert 150 - trials["epochs_trained"].sum() < curve_space()["epochs"].high
    else:
        refused = trials[trials["reason"].str.contains("the max_training_epochs budget is spent")]
        dropped = len(trials[(trials["generation"] == last) & (trials["rung"] == 0)]) < 9
        assert len(refused) or dropped


def test_promotions_count_against_max_evaluations_which_is_never_exceeded():
    result = run(Fidelity(), generations=100, max_evaluations=25)
    trainings = (~result.trials["cached"]).sum()
    assert trainings == result.generations["evaluations_total"].iloc[-1] == 25
    assert result.best["stop_reason"] == "max_evaluations (25)"


def failing_curve(params, seed, reporter=None):
    if params["y"] > 0.8:
        raise RuntimeError("broken genome")
    return learning_curve(params, seed, reporter)


def test_failures_at_any_rung_are_isolated():
    result = GeneticSearch(curve_space(), failing_curve, population=9, generations=3, seed=1,
                           quiet=True, fidelity=Fidelity(pruner="median", min_trials=3)).run()
    failed = result.trials[result.trials["status"] == "failed"]
    assert len(failed) and failed["reason"].str.contains("broken genome").all()
    assert failed["fitness"].isna().all()
    assert math.isfinite(result.best_score)


def test_mlp_multi_fidelity_search_is_identical_for_any_n_jobs(digits_splits, assert_same_results):
    fidelity = Fidelity(rungs=2, reduction_factor=2, pruner="median", min_trials=3)
    runs = [GeneticSearch(tiny_mlp_space(), digits_splits, population=6, generations=2, seed=3,
                          n_jobs=n, quiet=True, fidelity=fidelity).run() for n in (1, 2)]
    assert_same_results(runs[1], runs[0])
    pd.testing.assert_frame_equal(runs[1].curves, runs[0].curves)
    assert runs[0].best == runs[1].best
    assert set(runs[0].trials["status"]) >= {"ok", "promoted"}


def test_the_mlp_objective_stops_under_the_pruning_threshold(digits_splits):
    objective = hpsearch.MLPObjective(digits_splits)
    params = {"learning_rate": 0.05, "momentum": 0.9, "hidden_sizes": (16,), "batch_size": 64,
              "epochs": 6, "init": "he_uniform"}
    free = objective(params, seed=0)
    assert free["status"] == "ok" and free["epochs_run"] == 6
    curve = free["curve"]["val_metric"]
    # a bar the run clears at epoch 2 and misses at epoch 3
    pruned = objective(params, seed=0, reporter=Reporter([math.nan, curve[1], curve[2] + 1e-3]))
    assert pruned["status"] == "pruned" and pruned["epochs_run"] == 3
    assert pruned["fitness"] == curve[2] and "pruned after epoch 3" in pruned["reason"]


def test_the_mlp_objective_continues_a_kept_state_exactly(digits_splits):
    objective = hpsearch.MLPObjective(digits_splits)
    params = {"learning_rate": 0.05, "momentum": 0.9, "hidden_sizes": (16,), "batch_size": 64,
              "epochs": 5, "init": "he_uniform", "lr_schedule": "step"}
    whole = objective(params, seed=4)
    short = objective({**params, "epochs": 2}, seed=4, keep_state=True)
    continued = objective(params, seed=4, resume=short["state"], keep_state=True)
    assert "state" not in whole and short["epochs_trained"] == 2
    assert (continued["epochs_run"], continued["epochs_trained"]) == (5, 3)
    assert continued["curve"] == whole["curve"] and continued["fitness"] == whole["fitness"]
    # No state where continuing would not equal a longer run, or where the run was pruned.
    assert "state" not in objective({**params, "lr_schedule": "cosine"}, seed=4, keep_state=True)
    assert "state" not in objective(params, seed=4, keep_state=True, reporter=Reporter([1.0, 1.0]))
    with pytest.raises(ValueError, match="cannot be continued"):
        objective({**params, "lr_schedule": "cosine"}, seed=4, resume=short["state"])


def mlp_fidelity_search(splits, space, **settings):
    fidelity = Fidelity(rungs=2, reduction_factor=2, pruner="none")
    return GeneticSearch(space, splits, population=6, generations=2, seed=3, quiet=True,
                         fidelity=fidelity, **settings).run()


def test_promoted_mlp_trainings_continue_and_end_as_a_run_from_scratch(digits_splits):
    result = mlp_fidelity_search(digits_splits, tiny_mlp_space())
    trials = result.trials[~result.trials["cached"]]
    objective = hpsearch.MLPObjective(digits_splits)
    continued = trials[trials["rung"] == 1]
    assert len(continued) >= 3
    for _, row in continued.iterrows():
        genes = list(tiny_mlp_space().names)
        below = trials[(trials["generation"] == row["generation"]) & (trials["rung"] == 0)
                       & (trials[genes].astype(str) == row[genes].astype(str)).all(axis=1)]
        assert row["epochs_trained"] == row["epochs_run"] - below["epochs_run"].item()
        scratch = objective(tiny_mlp_space().parse_row(row.to_dict()), int(row["seed"]))
        assert scratch["fitness"] == row["fitness"]
        assert scratch["curve"]["val_metric"] == list(result.curves.loc[
            result.curves["trial_id"] == row["trial_id"], "val_metric"])
    assert result.generations["epochs_total"].iloc[-1] == trials["epochs_trained"].sum()
    assert trials["epochs_trained"].sum() < trials["epochs_run"].sum()


def test_mlp_trainings_that_cannot_continue_are_retrained(digits_splits):
    space = hpsearch.Space([*tiny_mlp_space(), hpsearch.ConstantGene("lr_schedule", "cosine")])
    trials = mlp_fidelity_search(digits_splits, space).trials
    assert (trials["rung"] == 1).sum() >= 3
    assert (trials["epochs_trained"] == trials["epochs_run"]).all()


def test_nsga2_with_rungs_keeps_only_fully_trained_genomes_on_the_front(digits_splits):
    result = mlp_fidelity_search(digits_splits, tiny_mlp_space(), objectives=["val_metric", "n_params"])
    trials = result.trials
    assert set(trials["status"]) >= {"promoted", "ok"}
    on_front = trials.loc[result.pareto["trial_id"]]
    assert (on_front["status"] == "ok").all() and (on_front["epochs_run"] == on_front["epochs"]).all()
    assert set(result.fronts["trial_id"]) <= set(trials.index[trials["status"] == "ok"])
    assert trials.loc[result.best["trial_id"], "status"] == "ok"


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, kill_and_resume, assert_same_results):
    search = functools.partial(GeneticSearch, curve_space(), slow_learning_curve, population=8, generations=6,
                               seed=5, n_jobs=2, quiet=True, fidelity=Fidelity(pruner="median", min_trials=3))
    out = tmp_path / "killed"
    # Killed with two workers, resumed with one.
    interrupted, resumed = kill_and_resume(search, out, rows=3, n_jobs=1)
    assert not interrupted.finished

    whole = search(n_jobs=1, out_dir=tmp_path / "whole").run()
    assert_same_results(resumed, whole)
    assert resumed.best == whole.best


def test_resume_with_other_fidelity_settings_is_refused(tmp_path):
    run(Fidelity(rungs=2), out_dir=tmp_path, generations=1)
    with pytest.raises(hpsearch.SearchError, match="fidelity.rungs: 2 -> 3"):
        run(Fidelity(rungs=3), out_dir=tmp_path, generations=1)


# -- config -----------------------------------------------------------------------------------
FIDELITY_CONFIG = """
seed = 3
[dataset]
name = "digits"
[search]
population = 6
generations = 1
[fidelity]
rungs = 2
reduction_factor = 2
pruner = "percentile"
percentile = 60
min_trials = 3
[budget]
max_training_epochs = 500
"""


def test_a_fidelity_table_reaches_the_search_and_round_trips(tmp_path):
    from hpsearch.config import build_search, load_config, parse_config

    path = tmp_path / "fidelity.toml"
    path.write_text(FIDELITY_CONFIG)
    config = load_config(path)
    search = build_search(config, out_dir=tmp_path / "out", quiet=True)
    assert search.fidelity == Fidelity(rungs=2, reduction_factor=2.0, pruner="percentile",
                                       percentile=60.0, warmup_epochs=1, min_trials=3)
    assert search.budget.max_training_epochs == 500
    assert parse_config(config.to_dict()) == config
    plain = parse_config({"dataset": {"name": "digits"}})
    assert build_search(plain).fidelity is None and parse_config(plain.to_dict()) == plain


@pytest.mark.parametrize("table, message", [
    ("[fidelity]\nrung = 3", "fidelity.rung: unknown key (did you mean 'rungs'?; valid: rungs, "),
    ("[fidelity]\nrungs = 0", "fidelity.rungs: must be >= 1, got 0"),
    ("[fidelity]\nreduction_factor = 1", "fidelity.reduction_factor: must be > 1, got 1"),
    ("[fidelity]\npruner = \"asha\"", "fidelity.pruner: "),
    ("[fidelity]\npruner = \"median\"\npercentile = 30",
     "fidelity.percentile: only used with pruner = 'percentile', not 'median'"),
    ("[fidelity]\npercentile = 30", "fidelity.percentile: only used with pruner = 'percentile', not 'none'"),
    ("[search]\nspace = \"replace\"\n[fidelity]\nrungs = 2\n[space.learning_rate]\nkind = \"float\"\nlow = 0.01\n"
     "high = 0.1",
     "fidelity: multi-fidelity search needs an 'epochs' gene in the space"),
    ("[search]\nmode = \"pbt\"\n[fidelity]\nrungs = 2", "fidelity: not used when search.mode = 'pbt'"),
    ("[budget]\nmax_training_epochs = 0", "budget.max_training_epochs: must be >= 1, got 0"),
])
def test_bad_fidelity_tables_are_one_line_config_errors(table, message):
    import tomllib

    from hpsearch.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as error:
        parse_config(tomllib.loads("[dataset]\nname = \"digits\"\n" + table))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_plots_of_a_multi_fidelity_search_show_full_trainings_only(tmp_path):
    from hpsearch.plots import convergence_data, plot_all

    fidelity = Fidelity(rungs=3, pruner="median", min_trials=3)
    run(fidelity, out_dir=tmp_path)
    result = hpsearch.load(tmp_path)
    assert {"promoted", "pruned"} <= set(result.trials["status"])
    data = convergence_data(result)["by_generation"]
    ok = result.trials[result.trials["status"] == "ok"]
    assert data["best_so_far"].iloc[-1] == ok["fitness"].max() == result.best_score
    assert (data["failed"] == 0).all() and data["ok"].sum() == len(ok)
    written = plot_all(tmp_path, quiet=True)
    assert tmp_path / "plots" / "convergence.png" in written
