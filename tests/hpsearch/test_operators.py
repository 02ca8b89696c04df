"""Tests for hpsearch.operators: property tests over random spaces and parents,
plus targeted checks of each operator's behaviour."""

import copy
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hpsearch.diversity import coverage
from hpsearch.mlp import default_space
from hpsearch.operators import STRUCTURAL_RATIO, crossover, mutate, sbx, structural
from hpsearch.space import (
    CategoricalGene,
    ConstantGene,
    FloatGene,
    IntGene,
    LayersGene,
    Space,
)

PROPERTY = settings(max_examples=200, deadline=None)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


# ---------------------------------------------------------------- strategies


@st.composite
def float_genes(draw, name):
    if draw(st.booleans()):
        low = 10.0 ** draw(st.floats(-8, 3))
        return FloatGene(name, low, low * 10.0 ** draw(st.floats(0.01, 8)), log=True)
    low = draw(st.floats(-1e3, 1e3))
    return FloatGene(name, low, low + draw(st.floats(1e-3, 1e3)))


@st.composite
def int_genes(draw, name):
    style = draw(st.sampled_from(["linear", "log", "power_of_two"]))
    if style == "power_of_two":
        exponent = draw(st.integers(0, 12))
        return IntGene(name, 2**exponent, 2 ** (exponent + draw(st.integers(1, 8))), power_of_two=True)
    low = draw(st.integers(1, 500)) if style == "log" else draw(st.integers(-500, 500))
    span = draw(st.integers(1, 2000))
    return IntGene(name, low, low + span, log=style == "log", step=draw(st.integers(1, span)))


CHOICE_POOL = ["relu", "tanh", "x", 3, 7, -2, 0.25, 1e-05, True]  # no two equal or written alike


@st.composite
def categorical_genes(draw, name):
    choices = draw(st.lists(st.sampled_from(CHOICE_POOL), min_size=1, max_size=5, unique=True))
    return CategoricalGene(name, tuple(choices))


@st.composite
def layers_genes(draw, name):
    min_layers = draw(st.integers(1, 4))
    low = draw(st.integers(1, 100))
    return LayersGene(
        name,
        min_layers,
        min_layers + draw(st.integers(0, 4)),
        low,
        low + draw(st.integers(0, 2000)),
        log=draw(st.booleans()),
    )


@st.composite
def constant_genes(draw, name):
    return ConstantGene(name, draw(st.sampled_from([0.5, 3, "sgd", (64, 32), True])))


GENE_KINDS = [float_genes, int_genes, categorical_genes, layers_genes, constant_genes]


@st.composite
def spaces(draw):
    kinds = draw(st.lists(st.sampled_from(GENE_KINDS), min_size=1, max_size=7))
    return Space(draw(kind(f"g{i}")) for i, kind in enumerate(kinds))


def extreme(gene, side):
    """The gene's lowest or highest value, where operators meet the bounds."""
    if isinstance(gene, FloatGene):
        return gene.low if side == "low" else gene.high
    if isinstance(gene, IntGene):
        return gene.low if side == "low" else gene.grid_high
    if isinstance(gene, CategoricalGene):
        return gene.choices[0] if side == "low" else gene.choices[-1]
    if isinstance(gene, LayersGene):
        return (gene.low,) * gene.min_layers if side == "low" else (gene.high,) * gene.max_layers
    return gene.value


@st.composite
def genomes(draw, space):
    """A valid genome: mostly sampled values, with some genes pinned to a bound."""
    sampled = space.sample(np.random.default_rng(draw(SEEDS)))
    for gene in space:
        side = draw(st.sampled_from(["sample", "sample", "low", "high"]))
        if side != "sample":
            sampled[gene.name] = extreme(gene, side)
    return sampled


@st.composite
def spaces_with_parents(draw):
    space = draw(st.one_of(st.just(default_space(extra=("activation", "weight_decay"))), spaces()))
    return space, draw(genomes(space)), draw(genomes(space))


# ---------------------------------------------------------------- helpers


def assert_native_and_valid(space, genome):
    space.validate(genome)
    assert list(genome) == list(space.names)
    for gene in space:
        value = genome[gene.name]
        if isinstance(gene, FloatGene):
            assert type(value) is float
        elif isinstance(gene, IntGene):
            assert type(value) is int
        elif isinstance(gene, LayersGene):
            assert type(value) is tuple and all(type(size) is int for size in value)


def changed_genes(before, after):
    return [name for name in before if before[name] != after[name]]


# ---------------------------------------------------------------- crossover properties


@given(case=spaces_with_parents(), seed=SEEDS, eta=st.floats(0.0, 100.0))
@PROPERTY
def test_crossover_children_are_valid_and_parents_untouched(case, seed, eta):
    space, parent1, parent2 = case
    snapshot = copy.deepcopy((parent1, parent2))
    child1, child2 = crossover(space, parent1, parent2, np.random.default_rng(seed), eta=eta)
    assert_native_and_valid(space, child1)
    assert_native_and_valid(space, child2)
    assert (parent1, parent2) == snapshot
    assert child1 is not parent1 and child2 is not parent2
    # each child value comes from one of the parents or lies between/near them;
    # constants and categoricals can only be inherited
    for gene in space:
        if isinstance(gene, (CategoricalGene, ConstantGene)):
            assert {child1[gene.name], child2[gene.name]} <= {parent1[gene.name], parent2[gene.name]}


@given(case=spaces_with_parents(), seed=SEEDS)
@PROPERTY
def test_crossover_is_deterministic_given_the_seed(case, seed):
    space, parent1, parent2 = case
    first = crossover(space, parent1, parent2, np.random.default_rng(seed))
    second = crossover(space, parent1, parent2, np.random.default_rng(seed))
    assert first == second


@given(case=spaces_with_parents(), seed=SEEDS)
@PROPERTY
def test_crossover_of_identical_parents_returns_them(case, seed):
    space, parent, _ = case
    child1, child2 = crossover(space, parent, dict(parent), np.random.default_rng(seed), indpb=1.0)
    assert child1 == parent and child2 == parent


@given(
    bounds=st.tuples(st.floats(-1e3, 1e3), st.floats(1e-3, 1e3)),
    positions=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    eta=st.floats(0.0, 100.0),
    seed=SEEDS,
)
@PROPERTY
def test_sbx_children_stay_in_bounds_and_identical_parents_are_kept(bounds, positions, eta, seed):
    low, width = bounds
    high = low + width
    x1, x2 = (low + p * width for p in positions)
    c1, c2 = sbx(x1, x2, low, high, eta, np.random.default_rng(seed))
    assert low <= c1 <= high and low <= c2 <= high
    assert sbx(x1, x1, low, high, eta, np.random.default_rng(seed)) == (x1, x1)


# ---------------------------------------------------------------- mutation properties


@given(case=spaces_with_parents(), seed=SEEDS, indpb=st.floats(0.0, 1.0), scale=st.floats(0.0, 5.0))
@PROPERTY
def test_mutation_is_valid_changes_something_and_leaves_input(case, seed, indpb, scale):
    space, parent, _ = case
    snapshot = copy.deepcopy(parent)
    child = mutate(space, parent, np.random.default_rng(seed), indpb=indpb, scale=scale)
    assert_native_and_valid(space, child)
    assert parent == snapshot
    changed = changed_genes(parent, child)
    if any(gene.searchable for gene in space):
        assert changed, "a mutation must never return a copy"
    assert not [name for name in changed if not space[name].searchable]


@given(case=spaces_with_parents(), seed=SEEDS)
@PROPERTY
def test_mutation_is_deterministic_given_the_seed(case, seed):
    space, parent, _ = case
    assert mutate(space, parent, np.random.default_rng(seed)) == mutate(space, parent, np.random.default_rng(seed))


# ---------------------------------------------------------------- crossover behaviour


def test_crossover_probability_controls_how_many_genes_recombine():
    space = Space([FloatGene(f"x{i}", 0.0, 1.0) for i in range(50)])
    parent1 = {name: 0.25 for name in space.names}
    parent2 = {name: 0.75 for name in space.names}
    rng = np.random.default_rng(0)
    child1, child2 = crossover(space, parent1, parent2, rng, indpb=0.0)
    assert (child1, child2) == (parent1, parent2)
    child1, _ = crossover(space, parent1, parent2, rng)  # default indpb 0.5
    assert 10 <= len(changed_genes(parent1, child1)) <= 40
    child1, _ = crossover(space, parent1, parent2, rng, indpb=1.0)
    assert len(changed_genes(parent1, child1)) >= 45  # SBX may land back on a parent rarely


def test_categorical_crossover_swaps_and_constants_stay():
    space = Space([CategoricalGene("init", ("a", "b")), ConstantGene("opt", "sgd")])
    parent1, parent2 = {"init": "a", "opt": "sgd"}, {"init": "b", "opt": "sgd"}
    child1, child2 = crossover(space, parent1, parent2, np.random.default_rng(0), indpb=1.0)
    assert child1 == {"init": "b", "opt": "sgd"} and child2 == {"init": "a", "opt": "sgd"}


def test_sbx_spread_depends_on_eta():
    rng = np.random.default_rng(1)
    close = [abs(sbx(0.4, 0.6, 0.0, 1.0, 1000.0, rng)[0] - 0.5) for _ in range(500)]
    wide = [abs(sbx(0.4, 0.6, 0.0, 1.0, 1.0, rng)[0] - 0.5) for _ in range(500)]
    # a large eta keeps children next to the parents (0.1 from the middle)
    assert all(abs(d - 0.1) < 0.01 for d in close)
    assert np.std(wide) > 5 * np.std(close)


def test_int_crossover_lands_on_grid_in_exponent_space():
    space = Space([IntGene("batch_size", 8, 1024, power_of_two=True), IntGene("epochs", 2, 50, step=4)])
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(300):
        parent1, parent2 = {"batch_size": 8, "epochs": 2}, {"batch_size": 1024, "epochs": 50}
        child1, child2 = crossover(space, parent1, parent2, rng, eta=1.0)
        for child in (child1, child2):
            space.validate(child)
            seen.add(child["batch_size"])
    assert len(seen - {8, 1024}) >= 3  # in-between powers of two are reachable


def test_layers_crossover_changes_depth_within_bounds():
    gene = LayersGene("hidden", 1, 4, 8, 1024)
    space = Space([gene])
    rng = np.random.default_rng(3)
    sizes1, sizes2 = {256, 128, 64}, {512, 32}
    children = set()
    for _ in range(300):
        for child in crossover(space, {"hidden": (256, 128, 64)}, {"hidden": (512, 32)}, rng, indpb=1.0):
            gene.validate(child["hidden"])
            assert set(child["hidden"]) <= sizes1 | sizes2
            children.add(child["hidden"])
    assert {len(child) for child in children} == {1, 2, 3, 4}
    # both cuts move: short children can mix the two parents, e.g. (256, 32)
    assert any(len(child) <= 3 and set(child) & sizes1 and set(child) & sizes2 for child in children)


def test_layers_crossover_pads_and_trims_to_depth_bounds():
    gene = LayersGene("hidden", 2, 2, 8, 1024)
    space = Space([gene])
    rng = np.random.default_rng(4)
    for _ in range(100):
        for child in crossover(space, {"hidden": (256, 128)}, {"hidden": (64, 32)}, rng, indpb=1.0):
            assert len(child["hidden"]) == 2


# ---------------------------------------------------------------- mutation behaviour


def test_mutation_with_zero_indpb_changes_exactly_one_gene():
    space = default_space(extra=("activation", "weight_decay"))
    rng = np.random.default_rng(5)
    for seed in range(100):
        parent = space.sample(np.random.default_rng(seed))
        child = mutate(space, parent, rng, indpb=0.0)
        assert len(changed_genes(parent, child)) == 1


def test_mutation_with_zero_scale_still_moves_ints_one_grid_step():
    space = Space([IntGene("epochs", 2, 50, step=4), IntGene("batch_size", 8, 1024, power_of_two=True)])
    rng = np.random.default_rng(6)
    bottom = {"epochs": 2, "batch_size": 8}
    middle = {"epochs": 26, "batch_size": 64}
    top = {"epochs": 50, "batch_size": 1024}
    for parent in (bottom, middle, top):
        child = mutate(space, parent, rng, indpb=1.0, scale=0.0)
        space.validate(child)
        [name] = changed_genes(parent, child)
        if name == "epochs":
            assert abs(child["epochs"] - parent["epochs"]) == 4
        else:
            assert child["batch_size"] in (parent["batch_size"] * 2, parent["batch_size"] // 2)


def test_mutation_with_zero_scale_still_moves_floats_and_layer_sizes():
    space = Space([FloatGene("lr", 1e-4, 1.0, log=True), LayersGene("hidden", 2, 2, 8, 1024)])
    parent = {"lr": 0.01, "hidden": (64, 64)}
    rng = np.random.default_rng(7)
    for _ in range(50):
        child = mutate(space, parent, rng, scale=0.0)
        space.validate(child)
        assert changed_genes(parent, child)
        if child["hidden"] != parent["hidden"]:
            assert sorted(child["hidden"]) in ([63, 64], [64, 65])


def test_log_gene_mutation_steps_are_gaussian_in_log_space():
    space = Space([FloatGene("lr", 1e-4, 1.0, log=True)])
    rng = np.random.default_rng(8)
    steps = [math.log10(mutate(space, {"lr": 1e-2}, rng, indpb=1.0, scale=0.05)["lr"]) + 2 for _ in range(3000)]
    # sigma = 0.05 * (0 - (-4)) = 0.2 decades; bounds are 10 sigma away
    assert abs(np.mean(steps)) < 0.02
    assert np.std(steps) == pytest.approx(0.2, rel=0.1)


def test_mutation_reflects_at_bounds_instead_of_piling_up():
    space = Space([FloatGene("momentum", 0.0, 1.0)])
    rng = np.random.default_rng(9)
    children = np.array([mutate(space, {"momentum": 1.0}, rng, indpb=1.0, scale=0.2)["momentum"] for _ in range(2000)])
    assert np.all((0.0 <= children) & (children < 1.0))
    # reflected N(0, 0.2) steps from the bound: distances are half-normal,
    # mean 0.2 * sqrt(2 / pi), not a pile at the bound plus far-off resamples
    assert np.mean(1.0 - children) == pytest.approx(0.2 * math.sqrt(2 / math.pi), rel=0.08)
    assert np.mean(children < 0.4) < 0.01  # 3 sigma away


def test_categorical_mutation_picks_another_choice_uniformly():
    space = Space([CategoricalGene("init", ("a", "b", "c", "d"))])
    rng = np.random.default_rng(10)
    children = [mutate(space, {"init": "a"}, rng, indpb=1.0)["init"] for _ in range(3000)]
    counts = {choice: children.count(choice) for choice in "abcd"}
    assert counts["a"] == 0
    assert all(abs(counts[c] - 1000) < 120 for c in "bcd")


def test_layers_mutation_uses_add_remove_and_resize_within_bounds():
    gene = LayersGene("hidden", 1, 3, 8, 1024)
    space = Space([gene])
    rng = np.random.default_rng(11)
    moves = set()
    for parent in ((64,), (64, 32), (64, 32, 16)):
        for _ in range(200):
            child = mutate(space, {"hidden": parent}, rng, indpb=1.0)["hidden"]
            gene.validate(child)
            moves.add("add" if len(child) > len(parent) else "remove" if len(child) < len(parent) else "resize")
            if len(child) > len(parent):
                assert len(parent) < 3
            if len(child) < len(parent):
                assert len(parent) > 1
    assert moves == {"add", "remove", "resize"}


def test_added_layer_copies_a_neighbour_size_with_a_small_perturbation_or_jumps():
    space = Space([LayersGene("hidden", 2, 3, 8, 1024)])
    rng = np.random.default_rng(12)
    parent = (64, 512)
    near, far = 0, []
    for _ in range(600):
        child = mutate(space, {"hidden": parent}, rng, indpb=1.0, scale=0.02)["hidden"]
        if len(child) == 3:
            added = [child[i] for i in range(3) if child[:i] + child[i + 1 :] == parent]
            assert added, "the parent's layers stay, in order"
            # sigma = 0.02 * log10(1024 / 8) ~ 0.04 decades; 3.5 sigma is a factor 1.4
            if 64 / 1.4 < added[0] < 64 * 1.4 or 512 / 1.4 < added[0] < 512 * 1.4:
                near += 1
            else:
                far.append(added[0])
    # STRUCTURAL_JUMP (0.2) of them redraw the size over the whole log range, a sixth of
    # which lies near a neighbour: about 17 % far.
    share = len(far) / (near + len(far))
    assert 0.08 < share < 0.28
    assert min(far) < 24 and max(far) > 300


def test_space_without_searchable_genes_returns_a_copy():
    space = Space([ConstantGene("opt", "sgd"), CategoricalGene("init", ("he",))])
    parent = {"opt": "sgd", "init": "he"}
    child = mutate(space, parent, np.random.default_rng(0))
    assert child == parent and child is not parent


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, g, r: crossover(s, g, g, r, eta=-1.0), "crossover: eta must be >= 0"),
        (lambda s, g, r: crossover(s, g, g, r, indpb=1.5), "crossover: indpb must be in [0, 1]"),
        (lambda s, g, r: mutate(s, g, r, indpb=-0.1), "mutate: indpb must be in [0, 1]"),
        (lambda s, g, r: mutate(s, g, r, scale=-1.0), "mutate: scale must be >= 0"),
    ],
)
def test_operator_arguments_are_checked(call, message):
    space = default_space()
    genome = space.sample(np.random.default_rng(0))
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        call(space, genome, np.random.default_rng(0))


# ---------------------------------------------------------------- structural genes


@st.composite
def structural_genes(draw):
    low = draw(st.integers(1, 64))
    high = low * draw(st.integers(STRUCTURAL_RATIO, 200)) + draw(st.integers(0, 10))
    if draw(st.booleans()):
        return LayersGene("g", 1, draw(st.integers(1, 3)), low, high, log=draw(st.booleans()))
    if draw(st.booleans()):
        exponent = draw(st.integers(0, 6))
        return IntGene("g", 2**exponent, 2 ** (exponent + draw(st.integers(2, 8))), power_of_two=True)
    return IntGene("g", low, high, step=draw(st.integers(1, max(1, (high - low) // 8))), log=draw(st.booleans()))


@given(structural_genes(), st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
@settings(max_examples=100, deadline=None)
def test_structural_mutation_stays_in_range_and_reaches_the_whole_range(gene, seed, scale):
    assume(structural(gene))  # a coarse step can end the grid below STRUCTURAL_RATIO x low
    space, rng = Space([gene]), np.random.default_rng(seed)
    start = gene.sample(rng)
    children = [mutate(space, {"g": start}, rng, indpb=1.0, scale=scale)["g"] for _ in range(300)]
    for child in children:
        gene.validate(child)
        assert child != start
    if scale > 0.01:
        # Jumps redraw over the whole log range: from any start, every fifth of it is reached
        # (the start's own, on a grid too coarse for other values there, by the start).
        assert coverage(gene, [start, *children], bins=5) == 1.0


def test_structural_ints_step_on_a_log_scale_of_their_range():
    gene = IntGene("epochs", 2, 1024)
    space, rng = Space([gene]), np.random.default_rng(13)

    def median_octaves(parent):
        return np.median([abs(math.log2(mutate(space, {"epochs": parent}, rng, indpb=1.0, scale=0.1)["epochs"] / parent))
                          for _ in range(2000)])

    # sigma = 0.1 x 9 octaves: the median of |N(0, 0.9)| is 0.61 octaves, ~0.75 with a fifth
    # of jumps, from 16 as from 128 (a step of 0.1 x the linear range would be ~100 epochs:
    # 2.7 octaves from 16, 0.6 from 128)
    low, high = median_octaves(16), median_octaves(128)
    assert low == pytest.approx(0.75, rel=0.15) and high == pytest.approx(0.75, rel=0.15)
    assert structural(gene) and not structural(IntGene("small", 2, 7)) and not structural(IntGene("neg", -5, 50))
    assert structural(IntGene("p", 8, 1024, power_of_two=True)) and structural(LayersGene("h", 1, 2, 8, 16))


def test_layer_sizes_step_on_a_log_scale_even_when_the_gene_searches_them_linearly():
    gene = LayersGene("hidden", 1, 1, 8, 8192, log=False)
    space, rng = Space([gene]), np.random.default_rng(14)
    for parent in (32, 1024):
        ratios = [math.log2(mutate(space, {"hidden": (parent,)}, rng, indpb=1.0, scale=0.1)["hidden"][0] / parent)
                  for _ in range(2000)]
        # sigma = 0.1 x 10 octaves: a median step of 0.67 octaves from either width (~0.8
        # with a fifth of jumps)
        assert np.median(np.abs(ratios)) == pytest.approx(0.8, rel=0.15)
