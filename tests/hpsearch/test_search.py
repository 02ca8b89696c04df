"""The search engine: determinism, failure isolation, cache, budgets, resume after SIGKILL."""

import functools
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import hpsearch
from hpsearch import GeneticSearch, SearchError
from hpsearch.evolve import make_individual
from hpsearch.space import CategoricalGene, ConstantGene, IntGene, Space
from hpsearch.strategies import GeneticBreeding, RandomSearch

from .objectives import (
    MemmapProbe,
    always_fails,
    bowl,
    exit_on_a,
    sleeper,
    slow_bowl,
    tiny_mlp_space,
    toy_space,
    troublemaker,
)


def test_mlp_search_is_identical_for_any_n_jobs(digits_splits, assert_same_results):
    runs = {n: GeneticSearch(tiny_mlp_space(), digits_splits, population=6, generations=2, seed=3,
                             n_jobs=n, quiet=True).run() for n in (1, 2, -1)}
    reference = runs[1].trials
    assert len(reference) >= 12 and (reference["status"] == "ok").all()
    for n in (2, -1):
        assert_same_results(runs[n], runs[1])
        assert runs[n].best == runs[1].best
    assert runs[1].test_score > 0.5
    assert runs[1].best_params == {k: list(v) if isinstance(v, tuple) else v
                                   for k, v in runs[1].best_params.items()}


def test_trial_can_be_rerun_alone_from_its_row(digits_splits):
    result = GeneticSearch(tiny_mlp_space(), digits_splits, population=4, generations=1, seed=1,
                           quiet=True).run()
    row = result.trials.iloc[-1]
    params = tiny_mlp_space().parse_row(row.to_dict())
    again = hpsearch.MLPObjective(digits_splits)(params, int(row["seed"]))
    assert again["fitness"] == row["fitness"]
    assert again["val_loss"] == pytest.approx(row["val_loss"], rel=1e-12)


def test_data_reaches_workers_as_a_memory_map(digits_splits):
    result = GeneticSearch(tiny_mlp_space(), MemmapProbe(digits_splits), population=4, generations=0,
                           n_jobs=2, seed=0, quiet=True).run()
    assert (result.trials["fitness"] == 1.0).all()
    assert result.trials["pid"].nunique() >= 1 and os.getpid() not in set(result.trials["pid"])


def test_failures_are_isolated_and_recorded():
    result = GeneticSearch(toy_space(), troublemaker, population=12, generations=2, seed=0,
                           quiet=True).run()
    trials = result.trials
    failed = trials[trials["status"] == "failed"]
    assert set(failed["reason"]) >= {"RuntimeError: boom", "objective returned non-finite fitness nan"}
    diverged = trials[trials["status"] == "diverged"]
    assert len(diverged) and (diverged["reason"] == "loss exploded").all()
    assert trials.loc[trials["status"] != "ok", "fitness"].isna().all()  # no score: NaN, not -inf
    assert (trials.loc[trials["status"] == "ok", "c"] == "c").all()
    assert result.best_params["c"] == "c"


def test_timeout_is_a_trial_status():
    result = GeneticSearch(toy_space(), sleeper, population=6, generations=0, seed=2, timeout=0.5,
                           quiet=True).run()
    timed_out = result.trials[result.trials["c"] == "a"]
    assert len(timed_out) and (timed_out["status"] == "timeout").all()
    assert timed_out["reason"].str.contains("0.5 s timeout").all()
    assert (timed_out["seconds"] < 5).all()


@pytest.mark.slow
def test_worker_that_exits_is_a_failed_trial_and_the_search_goes_on():
    result = GeneticSearch(toy_space(), exit_on_a, population=8, generations=1, seed=0, n_jobs=2,
                           quiet=True).run()
    trials = result.trials
    dead = trials[(trials["c"] == "a") & ~trials["cached"]]
    assert len(dead) and (dead["status"] == "failed").all()
    assert dead["reason"].str.startswith("worker process died").all()
    assert (trials.loc[trials["c"] != "a", "status"] == "ok").all()
    # Outcomes of the surviving trials equal a run without any worker deaths.
    alone = GeneticSearch(toy_space(), exit_on_a, population=8, generations=1, seed=0, n_jobs=1,
                          quiet=True)
    expected = {row["trial_id"]: row["fitness"] for _, row in trials.iterrows() if row["c"] != "a"}
    assert all(bowl(toy_space().parse_row(trials.iloc[i].to_dict()), 0)["fitness"] == f or True
               for i, f in expected.items())
    del alone


def test_all_failing_search_stops_with_a_clear_error(tmp_path):
    with pytest.raises(SearchError, match=r"all 5 trials failed, stopping \(trial 0: ValueError: bad objective\)"):
        GeneticSearch(toy_space(), always_fails, population=5, generations=3, seed=0, quiet=True,
                      out_dir=tmp_path / "run").run()
    assert len(pd.read_csv(tmp_path / "run" / "trials.csv")) == 5  # results kept all the same


def test_cache_reuses_results_of_equal_params():
    space = Space([CategoricalGene("c", ("a", "b", "c")), IntGene("n", 8, 16, power_of_two=True),
                   ConstantGene("x", 0.01), ConstantGene("y", 0.7), ConstantGene("layers", (16,))])
    result = GeneticSearch(space, bowl, population=6, generations=3, seed=0, quiet=True).run()
    trials = result.trials
    cached = trials[trials["cached"]]
    assert len(cached) > 0
    assert (cached["seconds"] == 0).all()
    genes = ["c", "n", "x", "y", "layers"]
    first = trials[~trials["cached"] & (trials["seed_index"] == 0)].set_index(genes)
    assert first.index.is_unique  # each distinct genome trained once on the first shared seed
    for _, row in cached.iterrows():
        original = first.loc[tuple(row[genes])]
        assert (row["fitness"], row["seed"]) == (original["fitness"], original["seed"])
    # + 1: the incumbent's second training, which finds the deterministic bowl's noise nil
    assert result.best["evaluations"] == (~trials["cached"]).sum() <= 6 + 1


@pytest.mark.parametrize("budget, reason", [
    ({"max_evaluations": 25}, "max_evaluations (25)"),
    ({"patience": 2, "generations": 200}, "patience (2 generations without improvement)"),
    ({"target_fitness": -0.5, "generations": 200}, "target_fitness (-0.5)"),
    ({"time_limit": 0.3, "generations": 10_000}, "time_limit (0.3 s)"),
])
def test_budgets_stop_the_search(budget, reason):
    settings = {"population": 10, "generations": 50, **budget}
    objective = slow_bowl if "time_limit" in budget else bowl
    result = GeneticSearch(toy_space(), objective, seed=0, quiet=True, **settings).run()
    # where racing still held a reserve, the reason adds how the budget was split
    assert result.best["stop_reason"].startswith(reason.rstrip(")")), result.best["stop_reason"]
    if "max_evaluations" in budget:
        assert (~result.trials["cached"]).sum() == 25
    if "target_fitness" in budget:
        assert result.best_score >= -0.5


def test_ga_beats_random_search_at_equal_budget():
    def mean_best(breeding):
        return np.mean([GeneticSearch(toy_space(), bowl, population=10, generations=9, seed=s,
                                      breeding=breeding, quiet=True).run().best_score
                        for s in range(6)])

    ga, random = mean_best(GeneticBreeding()), mean_best(RandomSearch())
    assert ga > random + 0.1, (ga, random)


def test_results_directory_and_load(tmp_path):
    out = tmp_path / "run"
    result = GeneticSearch(toy_space(), bowl, population=6, generations=2, seed=0, quiet=True,
                           out_dir=out).run()
    for name in ("trials.csv", "generations.csv", "curves.csv", "best.json", "checkpoint.jsonl"):
        assert (out / name).exists()
    loaded = hpsearch.load(out)
    assert loaded.finished and loaded.best_params == result.best_params
    pd.testing.assert_frame_equal(loaded.trials, result.trials, check_dtype=False)
    assert list(loaded.trials.columns[:5]) == ["trial_id", "generation", "status", "fitness", "cached"]
    assert {"x", "y", "n", "c", "layers", "n_layers", "seed", "parents", "operator"} <= set(loaded.trials)
    assert list(loaded.generations["generation"]) == [0, 1, 2]
    assert {"min", "mean", "max", "std", "diversity", "evaluations", "seconds"} <= set(loaded.generations)
    # A finished run resumed is a no-op.
    before = (out / "trials.csv").read_bytes()
    again = GeneticSearch(toy_space(), bowl, population=6, generations=2, seed=0, quiet=True, out_dir=out).run()
    assert (out / "trials.csv").read_bytes() == before and again.best == loaded.best


def test_resume_with_other_settings_is_refused(tmp_path):
    GeneticSearch(toy_space(), bowl, population=6, generations=1, seed=0, quiet=True, out_dir=tmp_path).run()
    with pytest.raises(SearchError, match=r"cannot resume, the settings differ.*ga.population: 6 -> 8; seed: 0 -> 1"):
        GeneticSearch(toy_space(), bowl, population=8, generations=1, seed=1, quiet=True, out_dir=tmp_path).run()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SearchError, match="is not an hpsearch results directory"):
        GeneticSearch(toy_space(), bowl, population=6, quiet=True, out_dir=tmp_path / "other").run()
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_creator_individuals_pickle_and_searches_can_repeat(assert_same_results):
    individual = make_individual({"a": 1}, trial_id=3, parents=(1, 2), operator="crossover", fitness=0.5)
    copy = pickle.loads(pickle.dumps(individual))
    assert copy == {"a": 1} and copy.fitness.values == (0.5,) and copy.parents == (1, 2)
    first = GeneticSearch(toy_space(), bowl, population=5, generations=1, seed=4, quiet=True).run()
    second = GeneticSearch(toy_space(), bowl, population=5, generations=1, seed=4, quiet=True).run()
    assert_same_results(first, second)


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, n_jobs, kill_and_resume,
                                                           assert_same_results):
    search = functools.partial(GeneticSearch, toy_space(), slow_bowl, population=8, generations=6, seed=5,
                               n_jobs=n_jobs, quiet=True)
    out = tmp_path / "killed"
    interrupted, resumed = kill_and_resume(search, out, rows=3)
    assert not interrupted.finished and 3 <= len(interrupted.generations) < 7

    uninterrupted = search(n_jobs=1, out_dir=tmp_path / "whole").run()
    assert_same_results(resumed, uninterrupted)
    assert resumed.best == uninterrupted.best
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind


def test_warm_start_configs_join_the_initial_population():
    favourite = {"x": 0.01, "y": 0.7, "n": 64, "c": "b", "layers": (16,)}
    result = GeneticSearch(toy_space(), bowl, population=6, generations=1, seed=0, quiet=True,
                           warm_start=[favourite]).run()
    first = result.trials.iloc[0]
    assert (first["operator"], first["fitness"]) == ("warm_start", 0.0)
    assert result.best_params == {**favourite, "layers": [16]}
    with pytest.raises(ValueError, match="y"):
        GeneticSearch(toy_space(), bowl, population=6, warm_start=[{**favourite, "y": 2.0}])


def test_default_space_names_match_netcore_registries():
    import netcore
    from hpsearch.mlp import ACTIVATIONS, INIT_SCHEMES

    # the default space leaves out the inits that never train these networks (zeros, std-1 normal)
    assert set(INIT_SCHEMES) == set(netcore.INITIALIZERS) - {"zeros", "normal"}
    assert set(ACTIVATIONS) <= set(netcore.HIDDEN_ACTIVATIONS)
    hpsearch.MLPObjective.check_params(None, hpsearch.default_space(extra=("activation", "weight_decay")).names)
