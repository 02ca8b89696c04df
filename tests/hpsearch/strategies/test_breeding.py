"""Breeding strategies through the one seam: each registered one is deterministic, resumes
as an uninterrupted run, is named from a config, and records the lineage it proposes."""

import functools
import importlib.util
import math

import numpy as np
import pytest

from hpsearch import GeneticSearch
from hpsearch.config import ConfigError, parse_config
from hpsearch.genes import CategoricalGene, FloatGene, IntGene
from hpsearch.space import Space
from hpsearch.strategies import (
    BREEDINGS,
    CMAES,
    Breeding,
    GeneticBreeding,
    History,
    ModelAssisted,
    Proposal,
    RandomSearch,
    breeding_from_config,
    register_breeding,
)

from ..objectives import bowl, toy_space

HAS_CMAES = importlib.util.find_spec("cmaes") is not None
needs_cmaes = pytest.mark.skipif(not HAS_CMAES, reason="the optional cmaes package is not installed")
NAMES = [pytest.param(name, marks=needs_cmaes) if name == "cmaes" else name for name in sorted(BREEDINGS)]


def search(name, **settings):
    settings = {"population": 8, "initial_size": 10, "generations": 3, "n_jobs": 1, "quiet": True, "seed": 2,
                **settings}
    return GeneticSearch(toy_space(), bowl, breeding=breeding_from_config({"strategy": name}), **settings)


def test_every_built_in_strategy_is_registered_by_name():
    assert {"model_assisted", "ga", "random", "cmaes"} <= set(BREEDINGS)
    assert all(issubclass(cls, Breeding) and cls.name == name for name, cls in BREEDINGS.items())
    assert breeding_from_config({}) == ModelAssisted()  # "auto": the model for one fitness
    assert breeding_from_config({}, objectives=("val_metric", "n_params")) == GeneticBreeding()


@pytest.mark.parametrize("name", NAMES)
def test_a_strategy_is_deterministic_and_resumes_as_an_uninterrupted_run(name, tmp_path, assert_same_results):
    whole = search(name, out_dir=tmp_path / "whole").run()
    assert_same_results(whole, search(name).run())
    search(name, out_dir=tmp_path / "split", generations=1).run()
    resumed = search(name, out_dir=tmp_path / "split").run()  # more generations (a budget): it goes on
    assert_same_results(resumed, whole)
    trials = whole.trials
    # 3 generations of 6 trainings: the incumbent's second training, which finds the
    # (deterministic) bowl's noise nil, takes one of generation 1's slots
    assert len(trials) == 10 + 3 * 6 and trials["fitness"].notna().all()
    assert (trials["seed_index"] > 0).sum() == 1


@pytest.mark.parametrize("name", NAMES)
def test_a_strategy_records_the_lineage_it_proposes(name):
    trials = search(name).run().trials
    later = trials[(trials["generation"] > 0) & (trials["seed_index"] == 0)]  # not the races' trainings
    expected = {"random": {"random"}, "cmaes": {"cmaes"},
                "ga": {"crossover", "crossover+mutation", "mutation", "explore"},
                "model_assisted": {"crossover", "crossover+mutation", "mutation", "drawn", "explore"}}[name]
    assert set(later["operator"]) <= expected
    has_parents = later["parents"].map(len) > 0
    assert has_parents.any() == (name != "random")


def test_the_strategy_is_part_of_the_settings_a_resume_must_match(tmp_path):
    search("ga", out_dir=tmp_path / "run", generations=0).run()
    with pytest.raises(Exception, match="breeding.strategy: 'ga' -> 'random'"):
        search("random", out_dir=tmp_path / "run").run()


def test_old_spellings_are_refused_with_the_new_one():
    with pytest.raises(TypeError, match=r"'surrogate' moved: use breeding=hpsearch.strategies.ModelAssisted\(\)"):
        GeneticSearch(toy_space(), bowl, surrogate="none")
    with pytest.raises(TypeError, match=r"'algorithm' moved: use breeding=hpsearch.strategies.RandomSearch\(\)"):
        GeneticSearch(toy_space(), bowl, algorithm="random")
    with pytest.raises(ConfigError, match=r"^search.surrogate: moved: use breeding.strategy"):
        parse_config({"dataset": {"name": "digits"}, "search": {"surrogate": "trees"}})
    with pytest.raises(TypeError, match="breeding: expected an hpsearch.strategies.Breeding"):
        GeneticSearch(toy_space(), bowl, breeding="random")


def test_a_strategy_of_ones_own_plugs_in_by_registering_it():
    @register_breeding("test_first_gene_up")
    class FirstGeneUp(RandomSearch):
        """Random draws whose x is the best so far's doubled (clipped): a toy with a trace."""

        def propose(self, n, history, rng):
            scored = [(o["fitness"], key) for key, o in history.trained if math.isfinite(o["fitness"])]
            best = dict(zip(history.space.names, max(scored)[1]))
            return [Proposal({**history.space.sample(rng), "x": min(best["x"] * 2, 1.0)}, operator="up")
                    for _ in range(n)]

    try:
        config = parse_config({"dataset": {"name": "digits"}, "breeding": {"strategy": "test_first_gene_up"}})
        assert type(config.breeding) is FirstGeneUp
        trials = GeneticSearch(toy_space(), bowl, breeding=FirstGeneUp(), max_evaluations=20, n_jobs=1,
                               quiet=True).run().trials
        assert set(trials[(trials["generation"] > 0) & (trials["seed_index"] == 0)]["operator"]) == {"up"}
    finally:
        del BREEDINGS["test_first_gene_up"]


def test_history_gives_the_trained_genomes_in_order():
    space = toy_space()
    genomes = [space.sample(np.random.default_rng(k)) for k in range(3)]
    history = History(space, [(space.key(g), {"fitness": 0.0}) for g in genomes], [0, 1, 3], parents=None)
    assert history.genomes() == genomes
    with pytest.raises(ValueError, match="history: 2 trial ids for 3 trained genomes"):
        History(space, history.trained, [0, 1], parents=None)


# ---------------------------------------------------------------- CMA-ES


def ridge(params, seed):
    """Best along the diagonal a = b (both unit scale): an interaction CMA-ES learns."""
    return -((params["a"] - params["b"]) ** 2) * 20 - (params["a"] - 0.3) ** 2 - (params["k"] != "p") * 0.1


def ridge_space():
    return Space([FloatGene("a", 0.0, 1.0), FloatGene("b", 0.0, 1.0), IntGene("w", 1, 64, log=True),
                  CategoricalGene("k", ("p", "q", "r"))])


@needs_cmaes
def test_cmaes_beats_random_search_on_a_ridge():
    def mean_best(breeding):
        return np.mean([GeneticSearch(ridge_space(), ridge, breeding=breeding, max_evaluations=60, n_jobs=1,
                                      seed=seed, quiet=True).run().best_score for seed in range(4)])

    assert mean_best(CMAES()) > mean_best(RandomSearch())


@needs_cmaes
def test_cmaes_is_refused_where_it_cannot_work(monkeypatch):
    with pytest.raises(ValueError, match="breeding: 'cmaes' adapts numeric genes and the space has none"):
        GeneticSearch(Space([CategoricalGene("k", ("p", "q"))]), ridge, breeding=CMAES())
    with pytest.raises(ValueError, match="breeding: 'cmaes' screens offspring on one score"):
        GeneticSearch(ridge_space(), ridge, breeding=CMAES(), objectives=["val_metric", "n_params"])
    with pytest.raises(ConfigError, match=r"^breeding.sigma: must be in \(0, 1\], got 0"):
        parse_config({"dataset": {"name": "digits"}, "breeding": {"strategy": "cmaes", "sigma": 0}})


def test_cmaes_without_its_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cmaes" else real(name, *a))
    with pytest.raises(ConfigError, match=r"^breeding.strategy: 'cmaes' needs the cmaes package, which is not "
                                          r"installed \(pip install 'hpsearch\[cmaes\]'\)"):
        parse_config({"dataset": {"name": "digits"}, "breeding": {"strategy": "cmaes"}})


@needs_cmaes
@pytest.mark.slow
def test_cmaes_resumes_after_sigkill_as_an_uninterrupted_run(tmp_path, kill_and_resume, assert_same_results):
    from ..objectives import slow_bowl

    run = functools.partial(GeneticSearch, toy_space(), slow_bowl, breeding=CMAES(), max_evaluations=40,
                            n_jobs=1, seed=3, quiet=True)
    interrupted, resumed = kill_and_resume(run, tmp_path / "run", rows=3)
    assert 0 < len(interrupted.trials) < len(resumed.trials)
    assert_same_results(resumed, run(out_dir=tmp_path / "again").run())
