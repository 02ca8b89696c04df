"""Multi-objective search (NSGA-II): fronts, knee, selection, determinism, resume, results."""

import functools
import json
import math
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import hpsearch
from hpsearch import GeneticSearch, SearchError, pareto, plots
from hpsearch.cli import main
from hpsearch.config import ConfigError, build_search, parse_config
from hpsearch.evolve import GeneticAlgorithm, make_individual
from hpsearch.settings import GA
from hpsearch.strategies import GeneticBreeding, RandomSearch

from .objectives import (
    front_space,
    slow_two_objectives,
    tiny_mlp_space,
    two_objectives,
    two_objectives_failing,
)

REPO = Path(__file__).resolve().parents[2]

OBJECTIVES = ["val_metric", "n_params"]
REFERENCE = (0.0, 1.1)  # hypervolume reference of two_objectives: fitness 0, "n_params" 1.1
TRUE_HYPERVOLUME = 0.1 + 2 / 3  # the integral of 1.1 - (1 - sqrt(1 - f)) over f in [0, 1]


def toy_search(objective=two_objectives, **settings):
    settings = {"population": 16, "generations": 12, "seed": 0, "tournament_size": 2, "quiet": True,
                "objectives": OBJECTIVES, **settings}
    return GeneticSearch(front_space(), objective, **settings)


def front_hypervolume(fronts, generation):
    front = fronts[fronts["generation"] == generation]
    return pareto.hypervolume(front[OBJECTIVES].to_numpy(), (1.0, -1.0), REFERENCE)


# ---------------------------------------------------------------- fronts, knee, hypervolume


def test_nondominated_keeps_exactly_the_undominated_rows():
    values = [(0.9, 500), (0.8, 100), (0.9, 600), (0.7, 100), (0.8, 100), (0.95, 900), (-math.inf, math.inf)]
    mask = pareto.nondominated(values, (1.0, -1.0))
    # (0.9, 600) loses to (0.9, 500); (0.7, 100) to (0.8, 100); equal rows both stay.
    assert mask.tolist() == [True, True, False, False, True, True, False]


def test_knee_of_a_two_objective_front_is_the_point_farthest_beyond_the_extremes_line():
    # Accuracy up, parameters down; the bend is at (0.95, 2000).
    front = [(0.50, 100), (0.80, 400), (0.95, 2000), (0.97, 20000), (0.98, 100000)]
    assert pareto.knee_index(front, (1.0, -1.0)) == 2
    # The same front with the rows shuffled and in minimisation form gives the same point.
    order = [4, 2, 0, 3, 1]
    flipped = [(1 - front[i][0], front[i][1]) for i in order]
    assert order[pareto.knee_index(flipped, (-1.0, -1.0))] == 2


def test_knee_on_a_concave_front_still_lies_towards_the_ideal():
    # On a concave front every inner point is behind the extremes' line: no bend, so the
    # point nearest the ideal wins, not an extreme.
    front = [(0.0, 1.0), (0.7, 0.05), (0.5, 0.3), (1.0, 0.0)]
    assert pareto.knee_index(front, (1.0, 1.0)) == 2


def test_knee_with_three_objectives_is_closest_to_the_ideal_point():
    front = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.6, 0.6, 0.5), (0.9, 0.9, 0.0)]
    assert pareto.knee_index(front, (1.0, 1.0, 1.0)) == 3
    unit = pareto.normalised_gains(front, (1.0, 1.0, 1.0))
    assert unit.min() == 0.0 and unit.max() == 1.0


def test_knee_of_degenerate_fronts():
    assert pareto.knee_index([(0.9, 10)], (1.0, -1.0)) == 0
    # Two points are both extremes, as near the ideal as each other: the first wins.
    assert pareto.knee_index([(0.9, 10), (0.95, 20)], (1.0, -1.0)) == 0
    # Equal in one objective: no line between the extremes; the nearer to the ideal wins.
    assert pareto.knee_index([(0.9, 10), (0.95, 10)], (1.0, -1.0)) == 1
    assert pareto.knee_index([(0.9, 10), (0.9, 10)], (1.0, -1.0)) == 0


def test_hypervolume_of_hand_made_fronts():
    assert pareto.hypervolume([(0.5, 0.5)], (1.0, -1.0), (0.0, 1.0)) == pytest.approx(0.25)
    # Two boxes 1x3 and 3x1 overlapping in 1x1: 5; a dominated point and one beyond the
    # reference change nothing.
    staircase = [(1.0, 3.0), (3.0, 1.0), (0.5, 0.5), (4.0, -1.0)]
    assert pareto.hypervolume(staircase, (1.0, 1.0), (0.0, 0.0)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="2 objectives"):
        pareto.hypervolume([(1, 2, 3)], (1.0, 1.0, 1.0), (0, 0, 0))


def test_objective_names_are_checked():
    assert pareto.check_objectives(None) is None and pareto.check_objectives([]) is None
    assert pareto.check_objectives(["latency", "val_metric"]) == ("latency", "val_metric")
    for bad, message in ((["val_metric"], "at least 2"), (["val_metric", "size"], "unknown objective 'size'"),
                         (["n_params", "n_params"], "listed twice"), ("val_metric", "expected a list")):
        with pytest.raises(ValueError, match=message):
            pareto.check_objectives(bad)
    with pytest.raises(ValueError, match="^objectives: unknown objective 'accuracy'"):
        toy_search(objectives=["accuracy", "n_params"])


# ---------------------------------------------------------------- NSGA-II selection


def test_nsga2_survivors_include_the_whole_first_front_when_it_fits():
    rng = np.random.default_rng(0)
    weights = (1.0, -1.0, -1.0)
    for _ in range(30):
        n, k = int(rng.integers(4, 40)), int(rng.integers(3, 20))
        # Few distinct values, so ties and duplicate points occur.
        values = rng.integers(0, 6, size=(n, 3)).astype(float)
        ga = GeneticAlgorithm(front_space(), np.random.default_rng(1), GA(population=k), weights=weights)
        pool = [make_individual({"i": i}, trial_id=i, fitness=tuple(v), weights=weights)
                for i, v in enumerate(values)]
        survivors = ga.advance(pool)
        first = {i for i, kept in enumerate(pareto.nondominated(values, weights)) if kept}
        chosen = {individual.trial_id for individual in survivors}
        assert len(survivors) == min(n, k) and len(chosen) == len(survivors)
        if len(first) <= k:
            assert first <= chosen
        else:
            assert chosen <= first  # an overfull first front is cut by crowding, not mixed
        # Tournament keys follow the fronts: a member of the first front outranks the others.
        ranks = dict(zip((i.trial_id for i in survivors), ga._ranking))
        assert all(ranks[i][0] == 0 for i in chosen & first)
        assert all(ranks[i][0] < 0 for i in chosen - first)


def test_nsga2_state_round_trips_and_breeds_the_same_offspring():
    def fresh():
        return GeneticAlgorithm(front_space(), np.random.default_rng(7), GA(population=8, tournament_size=2),
                                weights=(1.0, -1.0))

    ga = fresh()
    initial = ga.initial(GeneticBreeding().initial(ga.n_initial, front_space(), ga.rng))
    ga.tell(initial, [two_objectives_values(i) for i in initial], range(len(initial)))
    ga.advance(initial)
    state = json.loads(json.dumps(ga.state()))  # plain data, JSON-safe
    assert all(len(d["fitness"]) == 2 for d in state["population"])
    restored = fresh()
    restored.load_state(state)
    assert restored._ranking == ga._ranking
    assert restored.offspring(8, restored.rng) == ga.offspring(8, ga.rng)


def two_objectives_values(genome):
    outcome = two_objectives(genome, 0)
    return outcome["fitness"], outcome["n_params"]


def test_nsga2_approaches_the_known_front_spread_along_it():
    result = toy_search(generations=12).run()
    trials, fronts, final = result.trials, result.fronts, result.pareto
    # The final front is the non-dominated set of all successful first trainings, nothing
    # else (the knee's confirmation trainings are not new points).
    ok = trials[(trials["status"] == "ok") & ~trials["cached"] & (trials["seed_index"] == 0)]
    mask = pareto.nondominated(ok[["fitness", "n_params"]].to_numpy(), (1.0, -1.0))
    assert sorted(final["trial_id"]) == sorted(ok.loc[mask, "trial_id"])
    assert final["trial_id"].tolist() == fronts.loc[fronts["generation"] == 12, "trial_id"].tolist()
    # Close to the true front n_params = 1 - sqrt(1 - fitness), and spread along all of it.
    gap = final["n_params"] - (1 - np.sqrt(1 - final["val_metric"]))
    assert gap.min() >= -1e-12 and np.median(gap) < 0.01 and gap.max() < 0.1
    assert final["val_metric"].min() < 0.1 and final["val_metric"].max() > 0.95 and len(final) >= 20
    assert np.diff(np.sort(final["val_metric"])).max() < 0.15  # no big hole
    # Every generation's front is at least as good, and the last one much better.
    volumes = [front_hypervolume(fronts, g) for g in range(13)]
    assert all(b >= a for a, b in zip(volumes, volumes[1:]))
    assert volumes[-1] > volumes[0] + 0.08 and volumes[-1] > 0.97 * TRUE_HYPERVOLUME
    # The reported best is the knee (on this front, near fitness 0.75).
    assert result.best["knee"] is True and result.best["front_size"] == len(final)
    knee = final[final["knee"]]
    assert len(knee) == 1 and knee["trial_id"].item() == result.best["trial_id"]
    assert 0.6 < result.best_score < 0.85


def test_nsga2_beats_random_search_at_equal_budget():
    def mean_volume(breeding):
        volumes = []
        for seed in range(3):
            fronts = toy_search(seed=seed, breeding=breeding).run().fronts
            volumes.append(front_hypervolume(fronts, fronts["generation"].max()))
        return np.mean(volumes)

    nsga2, random_search = mean_volume(GeneticBreeding()), mean_volume(RandomSearch())
    assert nsga2 > random_search + 0.01, (nsga2, random_search)


def test_failed_trials_are_dominated_and_the_search_goes_on():
    result = toy_search(two_objectives_failing, generations=6).run()
    trials = result.trials
    failed = trials[trials["status"] == "failed"]
    assert len(failed) >= 5 and (failed["reason"] == "RuntimeError: boom").all()
    assert not set(failed["trial_id"]) & set(result.fronts["trial_id"])
    assert (result.pareto["val_metric"] > -math.inf).all() and len(result.pareto) >= 10
    assert result.best["finished"] and result.best["stop_reason"] == "generations (6)"


def small_choice(params, seed):
    """Six genomes; the front is c = a, b, c at n = 8."""
    rank = "abc".index(params["c"])
    return {"fitness": 0.5 + 0.2 * rank, "n_params": params["n"] * (rank + 1)}


@pytest.mark.parametrize("budget, reason", [
    ({"patience": 2}, "patience (2 generations without improvement)"),
    ({"target_fitness": 0.9}, "target_fitness (0.9)"),
])
def test_patience_counts_generations_without_a_new_front_and_target_fitness_the_score(budget, reason):
    space = hpsearch.Space([hpsearch.CategoricalGene("c", ("a", "b", "c")),
                            hpsearch.IntGene("n", 8, 16, power_of_two=True)])
    result = GeneticSearch(space, small_choice, population=4, generations=50, seed=0, quiet=True,
                           objectives=OBJECTIVES, **budget).run()
    assert result.best["stop_reason"] == reason
    fronts, generations = result.fronts, result.generations
    # The knee's confirmation follows the breeding generations that the budget ended.
    assert generations["phase"].iloc[-1] == "confirmation"
    last = generations.loc[generations["phase"] == "search", "generation"].max()
    if "patience" in budget:
        assert sorted(result.pareto["n_params"]) == [8, 16, 24]  # the whole front, then 2 idle generations
        changed = [g for g in range(1, last + 1) if fronts[fronts["generation"] == g]["trial_id"].tolist()
                   != fronts[fronts["generation"] == g - 1]["trial_id"].tolist()]
        assert last - max(changed, default=0) == 2
    else:
        assert result.trials["fitness"].max() == pytest.approx(0.9)
        assert (result.trials.loc[result.trials["generation"] < last, "fitness"] < 0.89).all()
        assert result.trials.loc[result.trials["generation"] == last, "fitness"].max() == pytest.approx(0.9)


def test_a_trial_missing_an_objective_metric_fails():
    search = GeneticSearch(front_space(), lambda params, seed: {"fitness": params["x"]}, population=4,
                           generations=0, seed=0, quiet=True, objectives=["val_metric", "latency"])
    with pytest.raises(SearchError, match=r"all 4 trials failed.*objective returned no finite latency"):
        search.run()


def test_results_ignore_the_global_random_state(assert_same_results):
    random.seed(1)
    np.random.seed(1)
    first = toy_search(generations=3).run()
    random.seed(2)
    np.random.seed(2)
    second = toy_search(generations=3).run()
    assert_same_results(first, second)
    pd.testing.assert_frame_equal(first.fronts, second.fronts)


# ---------------------------------------------------------------- the MLP objective


def test_mlp_objectives_are_reported_and_results_are_identical_for_any_n_jobs(digits_splits,
                                                                             assert_same_results):
    runs = {n: GeneticSearch(tiny_mlp_space(), digits_splits, population=6, generations=2, seed=3, n_jobs=n,
                             tournament_size=2, objectives=OBJECTIVES, quiet=True).run() for n in (1, 2)}
    trials = runs[1].trials
    assert (trials["status"] == "ok").all() and len(trials) >= 12
    assert (trials["train_seconds"] > 0).all() and (trials["latency"] > 0).all()
    for _, row in trials.iterrows():
        sizes = [64, *row["hidden_sizes"], 10]
        assert row["n_params"] == sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert_same_results(runs[2], runs[1])
    pd.testing.assert_frame_equal(runs[2].pareto, runs[1].pareto)
    pd.testing.assert_frame_equal(runs[2].fronts, runs[1].fronts)
    assert runs[2].best == runs[1].best
    # The test score at the end is the knee's.
    best = runs[1].best
    assert best["knee"] and runs[1].pareto.set_index("trial_id").loc[best["trial_id"], "knee"]
    assert 0.3 < runs[1].test_score <= 1.0


# ---------------------------------------------------------------- results, resume, plots


def test_results_directory_holds_the_front_and_plots_from_csv_alone(tmp_path):
    out = tmp_path / "run"
    result = toy_search(generations=4, out_dir=out).run()
    loaded = hpsearch.load(out)
    pd.testing.assert_frame_equal(loaded.pareto, result.pareto, check_dtype=False)
    pd.testing.assert_frame_equal(loaded.fronts, result.fronts, check_dtype=False)
    assert list(loaded.pareto.columns[:5]) == ["trial_id", "generation", "knee", "val_metric", "n_params"]
    assert {"x", "y", "c"} <= set(loaded.pareto.columns)
    best = json.loads((out / "best.json").read_text())
    assert best["knee"] is True and best["front_size"] == len(result.pareto)
    assert best["objectives"] == {"val_metric": best["fitness"], "n_params": pytest.approx(
        loaded.trials.set_index("trial_id").loc[best["trial_id"], "n_params"])}
    # A copy without the checkpoint re-plots from its files.
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("checkpoint.jsonl"))
    written = {path.name for path in plots.plot_all(copy, quiet=True)}
    assert "pareto.png" in written
    data = plots.pareto_data(hpsearch.load(copy))
    assert data["objectives"] == OBJECTIVES and data["knee"]["trial_id"].item() == best["trial_id"]
    assert data["final"]["val_metric"].is_monotonic_increasing
    # Generations 0-4 bred; 5 confirmed the knee, its front that of generation 4.
    assert sorted(data["fronts"]["generation"].unique()) == list(range(6))
    assert isinstance(plots.draw_pareto(data, "validation accuracy"), Figure)
    # A single-objective directory has no front and no pareto plot.
    GeneticSearch(front_space(), two_objectives, population=4, generations=1, quiet=True, out_dir=tmp_path / "one").run()
    assert plots.pareto_data(hpsearch.load(tmp_path / "one")) is None
    assert not (tmp_path / "one" / "pareto.csv").exists()


def test_resume_with_other_objectives_is_refused(tmp_path):
    toy_search(generations=1, out_dir=tmp_path).run()
    with pytest.raises(SearchError, match=r"ga.objectives: \('val_metric', 'n_params'\) -> \('val_metric', 'latency'\)"):
        toy_search(generations=1, out_dir=tmp_path, objectives=["val_metric", "latency"]).run()
    with pytest.raises(SearchError, match=r"ga.objectives: \('val_metric', 'n_params'\) -> \(\)"):
        toy_search(generations=1, out_dir=tmp_path, objectives=None).run()


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, kill_and_resume, assert_same_results):
    search = functools.partial(GeneticSearch, front_space(), slow_two_objectives, population=8, generations=6,
                               seed=5, n_jobs=2, tournament_size=2, objectives=OBJECTIVES, quiet=True)
    out = tmp_path / "killed"
    # Killed with two workers, resumed with one: n_jobs is free to change.
    interrupted, resumed = kill_and_resume(search, out, rows=3, n_jobs=1)
    assert not interrupted.finished and 3 <= len(interrupted.generations) < 7

    whole = search(n_jobs=1, out_dir=tmp_path / "whole").run()
    assert_same_results(resumed, whole)
    for name in ("pareto.csv", "fronts.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert resumed.best == whole.best


# ---------------------------------------------------------------- config and command line


def test_config_objectives_are_validated_with_their_key_path():
    def search_config(objectives):
        return parse_config({"dataset": {"name": "digits"}, "search": {"objectives": objectives}}).ga

    objectives = ("val_metric", "latency", "n_params")
    assert search_config(list(objectives)).objectives == objectives
    assert parse_config({"dataset": {"name": "digits"}}).ga.objectives == ()
    for bad, message in (
        (["val_metric"], r"^search\.objectives: NSGA-II needs at least 2 objectives, got 1"),
        (["val_metrc", "n_params"], r"^search\.objectives: unknown objective 'val_metrc' \(did you mean 'val_metric'\?"),
        (["n_params", "n_params"], r"^search\.objectives: objective 'n_params' is listed twice$"),
        ("n_params", r"^search\.objectives: expected a list of objective names, got 'n_params'$"),
        (["n_params", 3], r"^search\.objectives: unknown objective 3 \(valid: "),
    ):
        with pytest.raises(ConfigError, match=message):
            search_config(bad)


def test_config_builds_a_multi_objective_search_and_the_cli_reports_bad_ones(tmp_path, capsys):
    config = parse_config({"dataset": {"name": "digits"}, "search": {"objectives": ["val_metric", "n_params"]},
                           "out_dir": str(tmp_path / "run")})
    search = build_search(config, quiet=True)
    assert search.ga_requested == config.ga and search._new_ga().multi_objective
    assert type(search.breeding) is GeneticBreeding  # NSGA-II ranks by fronts: no one score to screen on
    assert search.ga_resolved.objectives == ("val_metric", "n_params")
    assert search.resume_settings()["ga"]["objectives"] == ("val_metric", "n_params")
    assert config.to_dict()["search"]["objectives"] == ["val_metric", "n_params"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[dataset]\nname = "digits"\n[search]\nobjectives = ["val_metric", "size"]\n')
    assert main(["run", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == (
        "hpsearch: error: search.objectives: unknown objective 'size' "
        "(valid: val_metric, train_seconds, n_params, latency)")


def test_multiobjective_experiment_config_is_valid():
    from hpsearch.config import load_config

    config = load_config(REPO / "experiments" / "multiobjective_digits.toml")
    assert config.ga.objectives == ("val_metric", "n_params")


def test_the_pareto_table_holds_layer_sizes_as_tuples_in_memory_and_loaded(tmp_path):
    def width_against_size(params, seed):
        return {"fitness": params["x"], "n_params": float(sum(params["layers"])) + params["x"]}

    space = hpsearch.Space([hpsearch.FloatGene("x", 0.0, 1.0), hpsearch.LayersGene("layers", 1, 2, 4, 16)])
    result = GeneticSearch(space, width_against_size, objectives=OBJECTIVES, population=8, generations=2, seed=0,
                           quiet=True, out_dir=tmp_path / "run").run()
    loaded = hpsearch.load(tmp_path / "run")
    for front in (result.pareto, loaded.pareto):
        assert all(isinstance(cell, tuple) and all(isinstance(size, int) for size in cell)
                   for cell in front["layers"])
        assert (front["layers"].map(len) == front["n_layers"]).all()
    pd.testing.assert_frame_equal(loaded.pareto, result.pareto, check_dtype=False)
