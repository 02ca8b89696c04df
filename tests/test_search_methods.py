"""The benchmark's search-method adapters (benchmarks/search_methods.py) on a tiny real problem.

Methods whose packages are missing are skipped, with the reason available_methods() gives.
"""

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch import MLPObjective
from hpsearch.datasets import load_dataset, scale_splits, split_dataset
from hpsearch.noise import shared_seed
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import search_methods  # noqa: E402
from search_methods import METHODS, available_methods  # noqa: E402

pytestmark = pytest.mark.slow  # benchmark smoke runs

N_EVALUATIONS = 6


@pytest.fixture(scope="module")
def objective():
    return MLPObjective(scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed"))


def small_space(learning_rate_high=0.5):
    # Tiny nets and 1-3 epochs: a training takes milliseconds on digits.
    return Space([
        FloatGene("learning_rate", 1e-3, learning_rate_high, log=True),
        FloatGene("momentum", 0.0, 0.95),
        LayersGene("hidden_sizes", 1, 2, 8, 32),
        IntGene("batch_size", 32, 128, power_of_two=True),
        IntGene("epochs", 1, 3),
        CategoricalGene("init", ("he_uniform", "xavier_uniform")),
    ])


def skip_unless_available(method):
    available, skipped = available_methods()
    if method not in available:
        pytest.skip(skipped[method])


@pytest.mark.parametrize("method", list(METHODS))
def test_method_runs_the_budget_and_reports_consistently(method, objective):
    skip_unless_available(method)
    space = small_space()
    run = METHODS[method](space, objective, N_EVALUATIONS, 0)

    assert run.method == method
    assert 5 <= len(run.evaluations) <= N_EVALUATIONS <= run.calls
    if method != "gasearchcv":  # the only one whose cache may leave budget unused
        assert len(run.evaluations) == N_EVALUATIONS
    assert [e["evaluation"] for e in run.evaluations] == list(range(1, len(run.evaluations) + 1))
    fitnesses = [e["fitness"] for e in run.evaluations]
    assert all(math.isfinite(f) and 0 <= f <= 1 for f in fitnesses)
    for evaluation in run.evaluations:
        space.validate(evaluation["params"])
    space.validate(run.best_params)
    assert run.best_fitness == max(fitnesses)
    first_best = next(e for e in run.evaluations if e["fitness"] == run.best_fitness)
    assert run.best_params == first_best["params"]
    elapsed = [e["elapsed"] for e in run.evaluations]
    assert elapsed == sorted(elapsed) and 0 < elapsed[0] and elapsed[-1] <= run.seconds

    if method != "gasearchcv":
        # Trained exactly as our search would train these params: a re-run gives the same score.
        params = run.best_params
        assert objective(params, shared_seed(0, 0))["fitness"] == run.best_fitness


def test_hpsearch_and_optuna_random_startups_score_shared_params_identically(objective):
    # TPE's first trials are random, and NSGA-II's first generation too, from the same seeded
    # sampler: whenever two methods evaluate the same params they must get the same fitness.
    skip_unless_available("tpe")
    space = small_space()
    seen = {}
    for method in ("ga", "tpe", "nsga2"):
        for evaluation in METHODS[method](space, objective, N_EVALUATIONS, 1).evaluations:
            key = space.key(evaluation["params"])
            assert seen.setdefault(key, evaluation["fitness"]) == evaluation["fitness"]
    assert len(seen) < 3 * N_EVALUATIONS  # tpe and nsga2 did share params


def failing_objective(params, seed):
    """A stand-in objective: high learning rates "diverge"; no training."""
    if params["learning_rate"] > 0.05:
        return {"fitness": -math.inf, "status": "diverged", "reason": "test"}
    return {"fitness": params["momentum"]}


@pytest.mark.parametrize("method", ["ga", "random", "tpe", "cmaes", "nsga2"])
def test_failures_count_against_the_budget_as_minus_infinity(method):
    skip_unless_available(method)
    run = METHODS[method](small_space(), failing_objective, 20, 0)
    assert len(run.evaluations) == 20
    fitnesses = [e["fitness"] for e in run.evaluations]
    failed = [e["params"]["learning_rate"] > 0.05 for e in run.evaluations]
    assert any(failed) and not all(failed)
    assert all((f == -math.inf) == fail for f, fail in zip(fitnesses, failed))
    assert run.best_fitness == max(fitnesses) > -math.inf


def test_gasearchcv_evolves_scores_failures_and_restores_global_random_state(objective):
    skip_unless_available("gasearchcv")
    # Population 2 gives 1 generation for 6 calls: 2 initial + 2 * 2 offspring.
    assert search_methods._gasearch_size(N_EVALUATIONS, 2) == (2, 1)
    # Learning rates up to 500 make some trainings diverge: failures, fitness -inf.
    space = small_space(learning_rate_high=500.0)
    random.seed(123)
    np.random.seed(123)
    expected = random.random(), np.random.rand()
    random.seed(123)
    np.random.seed(123)
    run = search_methods.run_gasearchcv(space, objective, N_EVALUATIONS, 4, population=2)
    assert (random.random(), np.random.rand()) == expected

    assert run.calls == N_EVALUATIONS and len(run.evaluations) <= N_EVALUATIONS
    fitnesses = [e["fitness"] for e in run.evaluations]
    assert -math.inf in fitnesses and run.best_fitness == max(fitnesses) > 0
    again = search_methods.run_gasearchcv(space, objective, N_EVALUATIONS, 4, population=2)
    assert [e["params"] for e in again.evaluations] == [e["params"] for e in run.evaluations]
    assert [e["fitness"] for e in again.evaluations] == fitnesses


@pytest.mark.parametrize("n_evaluations, population, expected", [
    (6, 10, (6, 0)), (20, 10, (6, 1)), (40, 10, (8, 2)), (150, 10, (10, 7)), (3, 10, (3, 0)),
])
def test_gasearchcv_size_never_exceeds_the_budget(n_evaluations, population, expected):
    population_size, generations = search_methods._gasearch_size(n_evaluations, population)
    assert (population_size, generations) == expected
    assert population_size * (1 + 2 * generations) <= n_evaluations


def every_kind_space():
    return Space([
        FloatGene("learning_rate", 1e-3, 0.5, log=True),
        FloatGene("momentum", 0.0, 0.95),
        LayersGene("hidden_sizes", 1, 3, 8, 64, log=True),
        IntGene("batch_size", 8, 64, power_of_two=True),
        IntGene("epochs", 2, 20, step=3),
        # A log int with a step; no MLP setting is one, but the translations must handle it.
        IntGene("weight_decay", 1, 100, log=True, step=5),
        CategoricalGene("init", ("he_uniform", "xavier_uniform", "normal")),
        CategoricalGene("nesterov", (True,)),
        ConstantGene("activation", "tanh"),
    ])


def test_optuna_suggestions_are_valid_genomes_of_every_gene_kind():
    optuna = pytest.importorskip("optuna")
    space = every_kind_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    depths = set()
    for _ in range(30):
        params = search_methods._suggest(study.ask(), space)  # validates
        depths.add(len(params["hidden_sizes"]))
        assert params["activation"] == "tanh" and params["nesterov"] is True
    assert depths == {1, 2, 3}


def test_gasearchcv_grid_samples_are_valid_genomes_of_every_gene_kind():
    pytest.importorskip("sklearn_genetic")
    space = every_kind_space()
    grid, fixed = search_methods._gasearch_grid(space)
    assert set(grid) == {"learning_rate", "momentum", "n_layers", "width", "batch_size", "epochs",
                         "weight_decay", "init"}
    assert fixed == {"nesterov": True, "activation": "tanh"}
    for _ in range(30):
        params = {**fixed, **{name: dimension.sample() for name, dimension in grid.items()}}
        genome = search_methods._genome_from_estimator(space, params)  # validates
        assert len(set(genome["hidden_sizes"])) == 1


def test_available_methods_names_what_to_install(monkeypatch):
    monkeypatch.setitem(search_methods.REQUIREMENTS, "tpe", ["no_such_package_here"])
    available, skipped = available_methods()
    assert {"ga", "random"} <= set(available) and "tpe" not in available
    assert skipped["tpe"] == "no_such_package_here not installed; pip install '.[bench]'"
    assert set(available) | set(skipped) == set(METHODS)
