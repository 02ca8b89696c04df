"""The model-assisted GA: encoding, the model's ranks and acquisition, the space-filling
generation 0, and the search with the model on (deterministic, resumable, learning from
failures, with multi-fidelity and custom objectives)."""

import functools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from hpsearch import GA, Budget, Fidelity, GeneticSearch, plots
from hpsearch.design import latin_hypercube
from hpsearch.genes import CategoricalGene, FloatGene, IntGene, LayersGene
from hpsearch.mlp import default_space
from hpsearch.space import Space
from hpsearch.strategies import GeneticBreeding, ModelAssisted, RandomSearch
from hpsearch.strategies.racing import Racing
from hpsearch.surrogate import ForestModel, GenomeEncoder, expected_improvement, normal_scores

from .objectives import bowl, curve_space, learning_curve, toy_space, troublemaker


def test_genomes_encode_to_unit_features_with_one_hot_categories():
    space = toy_space()
    genomes = [space.sample(np.random.default_rng(k)) for k in range(20)]
    X = GenomeEncoder(space)(genomes)
    # x, y, n: one each; c: three one-hot columns; layers: depth, first, last, mean size.
    assert X.shape == (20, 3 + 3 + 4)
    assert ((X >= 0) & (X <= 1)).all()
    assert (X[:, 3:6].sum(axis=1) == 1).all()


def test_the_encoder_adds_sgds_interactions_when_the_space_has_their_genes():
    space = default_space()
    genome = {"learning_rate": 0.01, "momentum": 0.9, "hidden_sizes": (64,), "batch_size": 32, "epochs": 8,
              "init": "he_normal"}
    features = GenomeEncoder(space)([genome])[0]
    plain = len(features) - 3  # learning rate, momentum, batch, epochs; init one-hot; layers: 4
    assert plain == 4 + len(space["init"].choices) + 4
    np.testing.assert_allclose(features[plain:], [math.log(0.01 / 0.1), math.log(8 / 32), math.log(0.01 / 32)],
                               rtol=1e-6)
    # Without the genes (or with momentum as a category) the interactions are left out.
    assert GenomeEncoder(toy_space())([toy_space().sample(np.random.default_rng(0))]).shape[1] == 3 + 3 + 4
    categorical = Space([FloatGene("learning_rate", 1e-3, 1.0, log=True), CategoricalGene("momentum", (0.0, 0.9))])
    assert GenomeEncoder(categorical)([{"learning_rate": 0.1, "momentum": 0.9}]).shape[1] == 1 + 2


def test_the_step_momentum_amounts_to_lets_the_model_learn_a_ridge_from_few_trials():
    # Quality depends on lr / (1 - momentum) only: a diagonal ridge that trees on the genes
    # alone approximate with a staircase. The same space with other gene names has no
    # interaction features; with them, 30 trials rank 300 new genomes nearly right.
    def correlation(rate, momentum):
        space = Space([FloatGene(rate, 1e-4, 1.0, log=True), FloatGene(momentum, 0.0, 0.99),
                       IntGene("width", 8, 256)])
        rng = np.random.default_rng(0)
        train, test = [space.sample(rng) for _ in range(30)], [space.sample(rng) for _ in range(300)]

        def quality(genome):
            return -abs(math.log(genome[rate] / (1 - genome[momentum]) / 0.05))

        model = ForestModel(GenomeEncoder(space), seed=0).fit(train, np.array([quality(g) for g in train]))
        return spearmanr(model.predict(test)[0], [quality(g) for g in test]).statistic

    with_interaction, without = correlation("learning_rate", "momentum"), correlation("rate", "beta")
    assert with_interaction > 0.9 and with_interaction > without + 0.1


def test_normal_scores_keep_the_order_and_put_failures_last():
    scores = normal_scores(np.array([0.5, -math.inf, 0.9, 0.5, 0.1]))
    assert scores[1] == scores.min() and scores[2] == scores.max() and scores[0] == scores[3]
    assert np.isfinite(scores).all()


def test_expected_improvement_grows_with_the_mean_and_with_the_spread():
    mean, std = np.array([0.0, 0.5, 0.5, 0.5]), np.array([0.1, 0.1, 0.3, 0.0])
    ei = expected_improvement(mean, std, best=0.6)
    assert ei[1] > ei[0] and ei[2] > ei[1] and ei[3] == 0.0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_a_latin_hypercube_is_valid_and_fills_every_stratum_of_each_number_gene(n, seed):
    space = Space([FloatGene("lr", 1e-4, 1.0, log=True), IntGene("batch", 8, 512, power_of_two=True),
                   IntGene("epochs", 2, 50), CategoricalGene("init", ("a", "b", "c")),
                   LayersGene("layers", 1, 3, 8, 256, log=True)])
    genomes = latin_hypercube(space, n, np.random.default_rng(seed))
    assert len(genomes) == n
    for genome in genomes:
        space.validate(genome)
    gene = space["lr"]
    strata = sorted(int(gene.to_unit(g["lr"]) * n - 1e-9) for g in genomes)
    assert strata == list(range(n))  # one genome in each n-th of the (log) range
    assert latin_hypercube(space, n, np.random.default_rng(seed)) == genomes


def test_generation_0_is_a_latin_hypercube_with_the_model_and_plain_draws_without(tmp_path):
    def generation_0(breeding):
        result = GeneticSearch(toy_space(), bowl, breeding=breeding, population=16, generations=0,
                               n_jobs=1, quiet=True, racing=Racing(noise="none")).run()
        return result.trials
    with_model, plain = generation_0(ModelAssisted()), generation_0(GeneticBreeding())
    unit = sorted(int(toy_space()["y"].to_unit(y) * 16) for y in with_model["y"])
    assert unit == list(range(16))
    assert with_model["operator"].eq("init").all() and not plain["y"].equals(with_model["y"])


def run(objective=bowl, space=None, **settings):
    # one training per genome: these tests count the genomes the model chose
    settings = {"max_evaluations": 60, "n_jobs": 1, "quiet": True, "seed": 0, "racing": Racing(noise="none"),
                **settings}
    return GeneticSearch(space or toy_space(), objective, **settings).run()


def test_the_model_predicts_the_trials_it_chooses_and_they_beat_random_samples():
    result = run(max_evaluations=80)
    trials = result.trials
    assert trials["predicted"].isna().sum() == 10  # generation 0 (a Latin hypercube) has none
    points, by_generation = plots.surrogate_data(result)
    assert len(points) == 80 - 10 and by_generation["n"].sum() == len(points)
    # Among the chosen (the best-looking) trials the range is narrow, yet the order holds up.
    assert points[["predicted", "observed"]].corr(method="spearman").iloc[0, 1] > 0.25
    random = run(max_evaluations=80, breeding=RandomSearch())
    later = trials[trials["generation"] >= 3]["fitness"]
    assert later.median() > random.trials[random.trials["generation"] >= 3]["fitness"].median()


def test_the_model_assisted_search_is_the_same_for_any_n_jobs(assert_same_results):
    assert_same_results(run(max_evaluations=40), run(max_evaluations=40, n_jobs=2))


def test_failures_teach_the_model_to_avoid_dead_regions():
    def failing_share(trials, generations):
        chosen = trials[trials["generation"].isin(generations) & ~trials["cached"]]
        return (~np.isfinite(chosen["fitness"])).mean()

    for seed in range(3):
        with_model = run(troublemaker, max_evaluations=80, seed=seed).trials
        plain = run(troublemaker, max_evaluations=80, seed=seed,  # the GA without dead categories
                    breeding=GeneticBreeding(explore_share=0.0, dead_after=0)).trials
        # 2 of the 3 categories fail; the model stops choosing them after a few generations.
        assert failing_share(with_model, range(4, 20)) < 0.25
        assert failing_share(with_model, range(4, 20)) < failing_share(plain, range(4, 20))


def test_the_model_learns_rung_0_scores_under_multi_fidelity():
    result = run(learning_curve, space=curve_space(), max_evaluations=60,
                 fidelity=Fidelity(rungs=3, reduction_factor=3))
    trials = result.trials
    predicted = trials[trials["predicted"].notna()]
    assert len(predicted) and (predicted["rung"] == 0).all()
    assert trials.groupby("generation")["rung0_score"].count().sum() >= len(predicted)


def test_nsga2_runs_without_the_model_and_asking_for_it_is_an_error():
    with pytest.raises(ValueError, match="breeding: 'model_assisted' screens offspring on one score"):
        GeneticSearch(toy_space(), bowl, objectives=["val_metric", "n_params"], breeding=ModelAssisted())
    search = GeneticSearch(toy_space(), bowl, objectives=["val_metric", "n_params"])
    assert type(search.breeding) is GeneticBreeding


def test_warm_start_genomes_join_the_latin_hypercube():
    space = toy_space()
    start = {"x": 0.01, "y": 0.7, "n": 64, "c": "b", "layers": (16,)}
    trials = run(max_evaluations=20, warm_start=[start]).trials
    assert trials.iloc[0]["operator"] == "warm_start" and trials.iloc[0]["fitness"] == pytest.approx(0.0)
    assert (trials["generation"] == 0).sum() == GA().resolved(Budget(max_evaluations=20)).initial_size
    assert space.key(start) in {space.key(space.parse_row(row)) for row in trials.to_dict("records")}


def test_budget_aware_defaults_follow_the_number_of_evaluations():
    sizes = {n: (GA().resolved(Budget(max_evaluations=n)).population,
                 GA().resolved(Budget(max_evaluations=n)).initial_size) for n in (30, 60, 150, 400)}
    assert sizes == {30: (10, 10), 60: (10, 10), 150: (10, 10), 400: (10, 10)}
    trials = run(max_evaluations=60).trials
    new_per_generation = trials[~trials["cached"]].groupby("generation").size()
    assert new_per_generation.iloc[0] == 10 and (new_per_generation.iloc[1:-1] == 8).all()
    assert GA(population=12).resolved(Budget(max_evaluations=60)).initial_size == 12  # given: kept
    assert GA().resolved(Budget()).generations == 10 and GA().resolved(Budget(max_evaluations=9)).generations is None


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, kill_and_resume, assert_same_results):
    from .objectives import slow_bowl

    search = functools.partial(GeneticSearch, toy_space(), slow_bowl, max_evaluations=48, n_jobs=1,
                               seed=3, quiet=True)
    interrupted, resumed = kill_and_resume(search, tmp_path / "run", rows=3)
    assert 0 < len(interrupted.trials) < len(resumed.trials)
    assert_same_results(resumed, search(out_dir=tmp_path / "again").run())


def test_an_mlp_search_with_the_model_on_real_data(digits_splits):
    result = GeneticSearch(default_space(), digits_splits, max_evaluations=24, n_jobs=1, quiet=True,
                           seed=1, racing=Racing(noise="none")).run()
    assert result.trials["predicted"].notna().sum() == 24 - 10
    assert result.best_score > 0.5
    assert isinstance(plots.draw_surrogate(*plots.surrogate_data(result)), object)
    assert isinstance(plots.surrogate_data(result)[1], pd.DataFrame)


def test_the_surrogate_plot_zooms_to_the_predictions_and_strips_what_falls_below():
    rng = np.random.default_rng(0)
    predicted = rng.uniform(0.90, 0.97, 40)
    observed = predicted + rng.normal(0, 0.01, 40)
    observed[:6] = 0.1  # trials that failed to train where the model expected a good score
    predicted[6] = 0.3  # one prediction far below the rest
    points = pd.DataFrame({"trial_id": range(40), "generation": np.repeat(np.arange(1, 5), 10),
                           "predicted": predicted, "observed": observed})
    low, high = plots.surrogate.zoom_limits(points)
    assert 0.85 < low < 0.9 and high == pytest.approx(max(predicted.max(), observed.max()))
    fig = plots.draw_surrogate(points, pd.DataFrame(columns=["generation", "n", "spearman"]))
    scatter_ax = fig.axes[0]
    assert scatter_ax.get_ylim()[0] > 0.8 and scatter_ax.get_xlim()[0] > 0.8
    outside = ((points["observed"] < low) | (points["predicted"] < low)).sum()
    assert outside == 7
    assert f"below {low:.3g} (7)" in [t.get_text() for t in scatter_ax.get_legend().get_texts()][0]


def test_drawn_candidates_take_the_good_trials_values_and_never_a_dead_category():
    # With troublemaker only c = "c" ever trains ("a" raises, "b" fails or diverges).
    trials = run(troublemaker, max_evaluations=60, seed=1).trials
    drawn = trials[trials["operator"] == "drawn"]
    assert len(drawn) >= 10 and (drawn["c"] == "c").all()
    assert (drawn["parents"].map(len) == 0).all() and drawn["predicted"].notna().all()
    bred = trials[trials["operator"].str.contains("mutation|crossover")]
    assert len(bred) >= 5  # the other half of the candidates still comes from the GA's operators
