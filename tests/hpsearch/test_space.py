"""Tests for hpsearch.space: gene rules, sampling, CSV rows, config and diversity."""

import math
import re
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpsearch.mlp import ACTIVATIONS, INIT_SCHEMES, default_space
from hpsearch.space import (
    CategoricalGene,
    ConstantGene,
    FloatGene,
    IntGene,
    LayersGene,
    Space,
)

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def exact(message: str) -> str:
    """A pytest.raises pattern matching this text literally from the start."""
    return "^" + re.escape(message)


def samples(gene, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return [gene.sample(rng) for _ in range(n)]


# ---------------------------------------------------------------- gene construction rules


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: FloatGene("learning_rate", 0.0, 1.0, log=True),
            "learning_rate: low must be > 0 on a log scale (got 0.0)",
        ),
        (lambda: FloatGene("momentum", 0.9, 0.1), "momentum: low (0.9) must be < high (0.1)"),
        (lambda: FloatGene("momentum", 0.5, 0.5), "momentum: low (0.5) must be < high (0.5)"),
        (lambda: FloatGene("momentum", "0", 1.0), "momentum: low must be a number (got str '0')"),
        (lambda: FloatGene("momentum", 0.0, math.inf), "momentum: high must be finite (got inf)"),
        (lambda: FloatGene("momentum", 0.0, math.nan), "momentum: high must be finite (got nan)"),
        (lambda: FloatGene("momentum", True, 2.0), "momentum: low must be a number (got bool True)"),
        (lambda: FloatGene("momentum", 0.0, 1.0, log="yes"), "momentum: log must be true or false (got str 'yes')"),
        (lambda: FloatGene("wide", -1e308, 1e308), "wide: high must be within a finite distance of low"),
        (lambda: FloatGene("", 0.0, 1.0), "gene name must be a non-empty string"),
        (lambda: IntGene("epochs", 50, 2), "epochs: low (50) must be < high (2)"),
        (lambda: IntGene("epochs", 2.5, 50), "epochs: low must be an integer (got float 2.5)"),
        (lambda: IntGene("epochs", 2, 50, step=0), "epochs: step must be >= 1 (got 0)"),
        (lambda: IntGene("epochs", 2, 50, step=49), "epochs: step must be <= high - low (got 49 > 48)"),
        (lambda: IntGene("units", 0, 50, log=True), "units: low must be > 0 on a log scale (got 0)"),
        (lambda: IntGene("batch", 12, 1024, power_of_two=True), "batch: low must be a power of two (got 12)"),
        (lambda: IntGene("batch", 8, 1000, power_of_two=True), "batch: high must be a power of two (got 1000)"),
        (
            lambda: IntGene("batch", 8, 1024, step=2, power_of_two=True),
            "batch: step must be 1 with power_of_two (got 2)",
        ),
        (lambda: CategoricalGene("init", ()), "init: choices must not be empty"),
        (lambda: CategoricalGene("init", ("he", "he")), "init: choices must be distinct (got 'he' and 'he')"),
        (lambda: CategoricalGene("flag", (1, True)), "flag: choices must be distinct (got 1 and True)"),
        (lambda: CategoricalGene("flag", (1, "1")), "flag: choices must be written differently in CSV"),
        (
            lambda: CategoricalGene("init", ("he", [1])),
            "init: choices must hold strings, integers, floats, booleans or None (got list [1])",
        ),
        (lambda: CategoricalGene("init", (0.5, math.nan)), "init: choices must not contain NaN"),
        (lambda: CategoricalGene("init", "he"), "init: choices must be a list of values (got str 'he')"),
        (lambda: LayersGene("hidden", 0, 3, 8, 64), "hidden: min_layers must be >= 1 (got 0)"),
        (lambda: LayersGene("hidden", 3, 2, 8, 64), "hidden: min_layers (3) must be <= max_layers (2)"),
        (lambda: LayersGene("hidden", 1, 3, 0, 64), "hidden: low must be >= 1 (got 0)"),
        (lambda: LayersGene("hidden", 1, 3, 64, 8), "hidden: low (64) must be <= high (8)"),
        (lambda: LayersGene("hidden", 1, 3.0, 8, 64), "hidden: max_layers must be an integer (got float 3.0)"),
        (lambda: ConstantGene("opt", {"a": 1}), "opt: value must be a string, number, boolean or a list of those"),
        (lambda: ConstantGene("opt", math.nan), "opt: value must not be NaN"),
    ],
)
def test_gene_rejects_bad_settings(make, message):
    with pytest.raises(ValueError, match=exact(message)):
        make()


def test_gene_settings_are_normalised():
    gene = FloatGene("momentum", 0, 1)
    assert type(gene.low) is float and type(gene.high) is float
    assert ConstantGene("hidden", [64, 32]).value == (64, 32)
    assert CategoricalGene("init", ["a", "b"]).choices == ("a", "b")


# ---------------------------------------------------------------- value validation


@pytest.mark.parametrize(
    ("gene", "value", "message"),
    [
        (FloatGene("lr", 1e-4, 1.0, log=True), 2.0, "lr: 2.0 is out of bounds [0.0001, 1.0]"),
        (FloatGene("lr", 1e-4, 1.0, log=True), 1, "lr: must be a float (got int 1)"),
        (FloatGene("lr", 1e-4, 1.0, log=True), math.nan, "lr: nan is out of bounds"),
        (IntGene("epochs", 2, 50), 51, "epochs: 51 is out of bounds [2, 50]"),
        (IntGene("epochs", 2, 50), 5.0, "epochs: must be an int (got float 5.0)"),
        (IntGene("epochs", 2, 50), True, "epochs: must be an int (got bool True)"),
        (IntGene("epochs", 2, 50, step=4), 8, "epochs: 8 is off the grid 2, 6, ... (step 4)"),
        (IntGene("epochs", 2, 50, step=4), 52, "epochs: 52 is out of bounds [2, 50]"),
        (IntGene("batch_size", 8, 1024, power_of_two=True), 24, "batch_size: 24 is not a power of two"),
        (CategoricalGene("init", ("he", "xavier")), "lecun", "init: 'lecun' is not one of the choices"),
        (CategoricalGene("flag", (1, 2)), True, "flag: True is not one of the choices"),
        (CategoricalGene("flag", (True, False)), 1, "flag: 1 is not one of the choices"),
        (LayersGene("hidden", 1, 3, 8, 64), [32], "hidden: must be a tuple of ints (got list [32])"),
        (LayersGene("hidden", 1, 3, 8, 64), (32.0,), "hidden: must be a tuple of ints"),
        (LayersGene("hidden", 1, 3, 8, 64), (), "hidden: depth 0 is out of bounds [1, 3]"),
        (LayersGene("hidden", 1, 3, 8, 64), (8, 8, 8, 8), "hidden: depth 4 is out of bounds [1, 3]"),
        (LayersGene("hidden", 1, 3, 8, 64), (8, 65), "hidden: size 65 of layer 1 is out of bounds [8, 64]"),
        (ConstantGene("opt", "sgd"), "adam", "opt: must be the constant 'sgd' (got str 'adam')"),
        (ConstantGene("flag", 1), True, "flag: must be the constant 1 (got bool True)"),
    ],
)
def test_validate_rejects_bad_values(gene, value, message):
    with pytest.raises(ValueError, match=exact(message)):
        gene.validate(value)


def test_validate_accepts_bounds_and_grid_ends():
    IntGene("epochs", 2, 50, step=5).validate(47)  # last grid point, below high
    IntGene("batch_size", 8, 1024, power_of_two=True).validate(1024)
    FloatGene("lr", 1e-4, 1.0, log=True).validate(1e-4)
    LayersGene("hidden", 1, 3, 8, 64).validate((64, 8, 64))
    ConstantGene("hidden", [64, 32]).validate((64, 32))


# ---------------------------------------------------------------- sampling


def test_float_samples_in_bounds_and_log_uniform():
    gene = FloatGene("lr", 1e-4, 1.0, log=True)
    values = samples(gene)
    assert all(type(v) is float and 1e-4 <= v <= 1.0 for v in values)
    exponents = np.log10(values)
    # log-uniform: median near 1e-2 and each decade holds about a quarter
    assert abs(np.median(exponents) - (-2.0)) < 0.15
    counts = np.histogram(exponents, bins=4, range=(-4, 0))[0]
    assert counts.min() > 0.2 * len(values)


def test_linear_float_samples_are_uniform():
    values = samples(FloatGene("momentum", 0.0, 0.99))
    assert all(0.0 <= v <= 0.99 for v in values)
    assert abs(np.median(values) - 0.495) < 0.05


def test_int_samples_on_grid_and_cover_it():
    gene = IntGene("epochs", 2, 50, step=4)
    values = samples(gene)
    assert all(type(v) is int for v in values)
    assert set(values) == set(range(2, 51, 4))


def test_power_of_two_samples_are_uniform_over_exponents():
    values = samples(IntGene("batch_size", 8, 1024, power_of_two=True), n=4000)
    counts = {v: values.count(v) for v in set(values)}
    assert sorted(counts) == [8, 16, 32, 64, 128, 256, 512, 1024]
    assert min(counts.values()) > 0.8 * 4000 / 8


def test_log_int_samples_are_log_uniform():
    gene = IntGene("units", 1, 10_000, log=True)
    values = samples(gene)
    for v in values:
        gene.validate(v)
    assert 50 < np.median(values) < 200


def test_categorical_and_layers_samples_cover_all_options():
    init = CategoricalGene("init", INIT_SCHEMES)
    assert set(samples(init)) == set(INIT_SCHEMES)
    hidden = LayersGene("hidden", 2, 4, 8, 1024)
    values = samples(hidden)
    for v in values:
        hidden.validate(v)
    assert {len(v) for v in values} == {2, 3, 4}
    sizes = [size for v in values for size in v]
    assert min(sizes) < 12 and max(sizes) > 700
    assert 60 < np.median(sizes) < 130  # log-uniform over 8..1024: median ~ 90


@given(seed=SEEDS)
@settings(max_examples=50, deadline=None)
def test_space_samples_are_valid(seed):
    space = default_space(extra=("activation", "weight_decay"))
    space.validate(space.sample(np.random.default_rng(seed)))


def test_sampling_is_deterministic_given_the_seed():
    space = default_space()
    assert space.sample(np.random.default_rng(7)) == space.sample(np.random.default_rng(7))


# ---------------------------------------------------------------- unit scale


def test_to_unit_uses_each_genes_own_scale():
    lr = FloatGene("lr", 1e-4, 1.0, log=True)
    assert lr.to_unit(1e-4) == 0.0 and lr.to_unit(1.0) == 1.0
    assert lr.to_unit(1e-2) == pytest.approx(0.5)
    assert IntGene("batch_size", 8, 1024, power_of_two=True).to_unit(32) == pytest.approx(2 / 7)
    assert IntGene("epochs", 2, 50, step=5).to_unit(47) == 1.0  # the grid's top, not high
    init = CategoricalGene("init", ("a", "b", "c"))
    assert [init.to_unit(c) for c in "abc"] == [0.0, 0.5, 1.0]
    assert CategoricalGene("only", ("a",)).to_unit("a") == 0.0
    hidden = LayersGene("hidden", 1, 3, 8, 1024)
    assert hidden.to_unit((8,)) == 0.0 and hidden.to_unit((1024, 1024, 1024)) == 1.0
    # depth unit 0.5, mean size unit 0.5 (log scale: 8 -> 0, 1024 -> 1)
    assert hidden.to_unit((8, 1024)) == pytest.approx(0.5)
    assert ConstantGene("opt", "sgd").to_unit("sgd") == 0.0


# ---------------------------------------------------------------- format / parse


@pytest.mark.parametrize(
    ("gene", "value", "text"),
    [
        (FloatGene("lr", 1e-6, 1.0, log=True), 1e-05, "1e-05"),
        (FloatGene("lr", 0.0, 1.0), 0.1 + 0.2, "0.30000000000000004"),
        (FloatGene("lr", 0.0, 1.0), 1.0, "1.0"),
        (IntGene("epochs", 2, 50), 7, "7"),
        (LayersGene("hidden", 1, 4, 8, 1024), (256, 128), "256-128"),
        (LayersGene("hidden", 1, 4, 8, 1024), (64,), "64"),
        (CategoricalGene("init", ("he", "xavier")), "xavier", "xavier"),
        (CategoricalGene("mixed", (3, 0.5, True, "2")), 3, "3"),
        (CategoricalGene("mixed", (3, 0.5, True, "2")), 0.5, "0.5"),
        (CategoricalGene("mixed", (3, 0.5, True, "2")), True, "True"),
        (CategoricalGene("mixed", (3, 0.5, True, "2")), "2", "2"),
        (ConstantGene("hidden", (64, 32)), (64, 32), "64-32"),
        (ConstantGene("lr", 0.1), 0.1, "0.1"),
    ],
)
def test_format_and_parse_invert_each_other_exactly(gene, value, text):
    assert gene.format(value) == text
    parsed = gene.parse(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("gene", "text", "message"),
    [
        (FloatGene("lr", 0.0, 1.0), "fast", "lr: cannot parse 'fast' as a float"),
        (IntGene("epochs", 2, 50), "7.5", "epochs: cannot parse '7.5' as an int"),
        (LayersGene("hidden", 1, 4, 8, 1024), "256--128", "hidden: cannot parse '256--128' as layer sizes like"),
        (LayersGene("hidden", 1, 4, 8, 1024), "", "hidden: cannot parse '' as layer sizes"),
        (CategoricalGene("init", ("he", "xavier")), "lecun", "init: cannot parse 'lecun' as one of: he, xavier"),
        (ConstantGene("opt", "sgd"), "adam", "opt: cannot parse 'adam' as the constant 'sgd'"),
    ],
)
def test_parse_rejects_bad_text(gene, text, message):
    with pytest.raises(ValueError, match=exact(message)):
        gene.parse(text)


@given(value=st.floats(min_value=0.0, max_value=1.0))
@settings(max_examples=200, deadline=None)
def test_float_format_round_trips_every_float(value):
    gene = FloatGene("x", 0.0, 1.0)
    assert gene.parse(gene.format(value)) == value


# ---------------------------------------------------------------- Space container


def test_space_container_protocol():
    space = default_space()
    assert space.names == ("learning_rate", "momentum", "hidden_sizes", "batch_size", "epochs", "init")
    assert len(space) == 6
    assert [gene.name for gene in space] == list(space.names)
    assert space["epochs"] == IntGene("epochs", 2, 50)
    assert "init" in space and "activation" not in space
    with pytest.raises(KeyError, match="did you mean 'epochs'"):
        space["epoch"]


def test_space_rejects_duplicates_non_genes_and_depth_column_clash():
    with pytest.raises(ValueError, match=exact("Space: duplicate gene name 'lr'")):
        Space([FloatGene("lr", 0.0, 1.0), FloatGene("lr", 0.0, 2.0)])
    with pytest.raises(ValueError, match=exact("Space: expected genes, got dict")):
        Space([FloatGene("lr", 0.0, 1.0), {"name": "momentum"}])
    with pytest.raises(ValueError, match=exact("Space: needs at least one gene")):
        Space([])
    with pytest.raises(ValueError, match="'n_layers' clashes with the depth column of 'hidden'"):
        Space([LayersGene("hidden", 1, 2, 8, 64), IntGene("n_layers", 1, 3)])


def test_space_validate_names_unknown_and_missing_genes():
    space = default_space()
    genome = space.sample(np.random.default_rng(0))
    extra = {**genome, "dropout": 0.1}
    with pytest.raises(ValueError, match=exact("genome: unknown genes 'dropout'")):
        space.validate(extra)
    partial = {name: value for name, value in genome.items() if name not in ("epochs", "init")}
    with pytest.raises(ValueError, match=exact("genome: missing genes 'epochs', 'init'")):
        space.validate(partial)
    with pytest.raises(ValueError, match=exact("epochs: 0 is out of bounds [2, 50]")):
        space.validate({**genome, "epochs": 0})


def test_default_space_extras():
    space = default_space(extra=("weight_decay", "activation"))
    assert space.names[-2:] == ("activation", "weight_decay")  # canonical order
    assert space["activation"].choices == ACTIVATIONS
    assert space["weight_decay"] == FloatGene("weight_decay", 1e-6, 1e-2, log=True)
    assert space["init"].choices == INIT_SCHEMES
    with pytest.raises(ValueError, match="unknown optional gene 'dropout'"):
        default_space(extra=("dropout",))


# ---------------------------------------------------------------- rows and keys


def test_row_formats_genes_and_adds_depth_column():
    space = default_space()
    genome = {
        "learning_rate": 0.001,
        "momentum": 0.9,
        "hidden_sizes": (256, 128),
        "batch_size": 64,
        "epochs": 20,
        "init": "he_normal",
    }
    assert space.row(genome) == {
        "learning_rate": "0.001",
        "momentum": "0.9",
        "hidden_sizes": "256-128",
        "n_layers": 2,
        "batch_size": "64",
        "epochs": "20",
        "init": "he_normal",
    }
    assert space.parse_row(space.row(genome)) == genome


def test_several_layers_genes_get_prefixed_depth_columns():
    space = Space([LayersGene("encoder", 1, 3, 8, 64), LayersGene("decoder", 1, 3, 8, 64)])
    row = space.row({"encoder": (8, 16), "decoder": (32,)})
    assert row == {"encoder": "8-16", "encoder_n_layers": 2, "decoder": "32", "decoder_n_layers": 1}


@given(seed=SEEDS)
@settings(max_examples=200, deadline=None)
def test_row_round_trip_is_exact(seed):
    space = Space(
        [
            *default_space(extra=("activation", "weight_decay")),
            CategoricalGene("mixed", (1, 0.25, False, "x")),
            ConstantGene("optimizer", "sgd"),
            ConstantGene("fixed_layers", [64, 32]),
        ]
    )
    genome = space.sample(np.random.default_rng(seed))
    parsed = space.parse_row({**space.row(genome), "fitness": 0.5})
    assert parsed == genome
    assert [type(v) for v in parsed.values()] == [type(v) for v in genome.values()]
    assert space.key(parsed) == space.key(genome)


def test_parse_row_reads_native_cells_like_pandas_gives():
    space = default_space()
    row = {
        "learning_rate": np.float64(1e-4),
        "momentum": 0.0,
        "hidden_sizes": 64,  # a one-layer column read back as numbers
        "batch_size": np.int64(32),
        "epochs": 2,
        "init": "uniform",
    }
    assert space.parse_row(row) == {
        "learning_rate": 1e-4,
        "momentum": 0.0,
        "hidden_sizes": (64,),
        "batch_size": 32,
        "epochs": 2,
        "init": "uniform",
    }


def test_parse_row_rejects_missing_columns_and_invalid_values():
    space = default_space()
    row = space.row(space.sample(np.random.default_rng(0)))
    del row["init"]
    with pytest.raises(ValueError, match=exact("row: missing columns 'init'")):
        space.parse_row(row)
    row = space.row(space.sample(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=exact("batch_size: 48 is not a power of two")):
        space.parse_row({**row, "batch_size": "48"})


def test_key_is_hashable_and_canonical():
    space = default_space()
    genome = space.sample(np.random.default_rng(3))
    reordered = dict(reversed(list(genome.items())))
    assert space.key(reordered) == space.key(genome)
    cache = {space.key(genome): 0.9}
    assert cache[space.key(dict(genome))] == 0.9
    nudged = {**genome, "learning_rate": math.nextafter(genome["learning_rate"], 0.0)}
    assert space.key(nudged) != space.key(genome)  # floats exactly as stored
    with pytest.raises(ValueError, match="has 7 genes, the space has 6"):
        space.key({**genome, "extra": 1})


# ---------------------------------------------------------------- diversity


def test_diversity_extremes():
    space = Space([FloatGene("x", 0.0, 1.0), CategoricalGene("c", ("a", "b")), ConstantGene("k", 1)])
    low = {"x": 0.0, "c": "a", "k": 1}
    high = {"x": 1.0, "c": "b", "k": 1}
    assert space.diversity([]) == 0.0
    assert space.diversity([low]) == 0.0
    assert space.diversity([low, low, low]) == 0.0
    assert space.diversity([low, high]) == 1.0  # constant gene excluded
    # pairs: (low, high) 1.0, (low, mid) 0.5 * (0.5 + 0), (high, mid) 0.5 * (0.5 + 1)
    mid = {"x": 0.5, "c": "a", "k": 1}
    assert space.diversity([low, high, mid]) == pytest.approx((1.0 + 0.25 + 0.75) / 3)


def test_diversity_of_layers_combines_depth_and_shared_sizes():
    space = Space([LayersGene("hidden", 1, 3, 8, 1024, log=True)])
    assert space.diversity([{"hidden": (8,)}, {"hidden": (8,)}]) == 0.0
    # same depth, sizes at opposite ends: depth part 0, size part 1
    assert space.diversity([{"hidden": (8, 8)}, {"hidden": (1024, 1024)}]) == pytest.approx(0.5)
    # depth 1 vs 3, shared first layer equal: depth part 1, size part 0
    assert space.diversity([{"hidden": (64,)}, {"hidden": (64, 8, 8)}]) == pytest.approx(0.5)
    assert space.diversity([{"hidden": (8,)}, {"hidden": (1024, 8, 8)}]) == pytest.approx(1.0)


@given(seeds=st.lists(SEEDS, min_size=2, max_size=8))
@settings(max_examples=200, deadline=None)
def test_diversity_is_in_unit_range_and_zero_only_for_identical(seeds):
    space = default_space(extra=("activation",))
    genomes = [space.sample(np.random.default_rng(seed)) for seed in seeds]
    value = space.diversity(genomes)
    assert 0.0 <= value <= 1.0
    distinct = len({space.key(genome) for genome in genomes})
    assert (value == 0.0) == (distinct == 1)
    assert space.diversity([genomes[0]] * len(genomes)) == 0.0


# ---------------------------------------------------------------- config


def test_default_space_config_round_trip():
    space = default_space(extra=("activation", "weight_decay"))
    config = space.to_config()
    assert config["learning_rate"] == {"kind": "float", "low": 1e-4, "high": 1.0, "log": True}
    assert config["init"]["choices"] == list(INIT_SCHEMES)
    assert Space.from_config(config) == space
    assert list(Space.from_config(config).names) == list(space.names)


def test_from_config_reads_toml_with_constants():
    text = """
    [space.learning_rate]
    kind = "float"
    low = 1e-4
    high = 1
    log = true

    [space.batch_size]
    kind = "int"
    low = 8
    high = 256
    power_of_two = true

    [space.init]
    kind = "categorical"
    choices = ["he_normal", "xavier_uniform"]

    [space.momentum]
    value = 0.9

    [space]
    epochs = 10
    hidden_sizes = [64, 32]
    """
    space = Space.from_config(tomllib.loads(text)["space"])
    assert space["learning_rate"] == FloatGene("learning_rate", 1e-4, 1.0, log=True)
    assert space["batch_size"] == IntGene("batch_size", 8, 256, power_of_two=True)
    assert space["momentum"] == ConstantGene("momentum", 0.9)
    assert space["epochs"] == ConstantGene("epochs", 10)
    assert space["hidden_sizes"] == ConstantGene("hidden_sizes", (64, 32))
    assert Space.from_config(space.to_config()) == space
    assert space.to_config()["hidden_sizes"] == {"kind": "constant", "value": [64, 32]}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"foo": {"kind": "flaot", "low": 0, "high": 1}},
            "space.foo.kind: unknown gene kind 'flaot' "
            "(did you mean 'float'?; valid: categorical, constant, float, int, layers)",
        ),
        (
            {"foo": {"kind": "banana"}},
            "space.foo.kind: unknown gene kind 'banana' (valid: categorical, constant, float, int, layers)",
        ),
        ({"foo": {"kind": 3}}, "space.foo.kind: must be a string (got int 3)"),
        ({"foo": {"low": 0, "high": 1}}, "space.foo.kind: missing (valid: categorical, constant"),
        (
            {"lr": {"kind": "float", "low": 0.1, "hihg": 1.0}},
            "space.lr.hihg: unknown key for a float gene (did you mean 'high'?; valid: high, kind, log, low)",
        ),
        ({"lr": {"kind": "float", "low": 0.1}}, "space.lr.high: missing (required for a float gene)"),
        (
            {"learning_rate": {"kind": "float", "low": 0.0, "high": 1.0, "log": True}},
            "space.learning_rate.low: must be > 0 on a log scale (got 0.0)",
        ),
        ({"lr": {"kind": "float", "low": "1e-4", "high": 1.0}}, "space.lr.low: must be a number (got str '1e-4')"),
        ({"lr": {"kind": "float", "low": 0.0, "high": 1.0, "log": "yes"}}, "space.lr.log: must be true or false"),
        ({"momentum": {"kind": "float", "low": 0.9, "high": 0.1}}, "space.momentum.low: must be < high"),
        ({"epochs": {"kind": "int", "low": 2, "high": 50.5}}, "space.epochs.high: must be an integer (got float 50.5)"),
        (
            {"batch_size": {"kind": "int", "low": 8, "high": 1000, "power_of_two": True}},
            "space.batch_size.high: must be a power of two (got 1000)",
        ),
        ({"init": {"kind": "categorical", "choices": []}}, "space.init.choices: must not be empty"),
        ({"init": {"kind": "categorical", "choices": ["a", "a"]}}, "space.init.choices: must be distinct"),
        (
            {"hidden": {"kind": "layers", "min_layers": 0, "max_layers": 2, "low": 8, "high": 64}},
            "space.hidden.min_layers: must be >= 1 (got 0)",
        ),
        (
            {"hidden": {"kind": "layers", "min_layers": 1, "max_layer": 2, "low": 8, "high": 64}},
            "space.hidden.max_layer: unknown key for a layers gene (did you mean 'max_layers'?",
        ),
        (
            {"opt": {"value": "sgd", "vlaue": 1}},
            "space.opt.vlaue: unknown key for a constant gene (did you mean 'value'?; valid: kind, value)",
        ),
        ({"opt": {"kind": "constant"}}, "space.opt.value: missing (required for a constant gene)"),
        ({"opt": {"value": {"nested": 1}}}, "space.opt.value: must be a string, number, boolean or a list of those"),
        ({"opt": [1, [2]]}, "space.opt.value: must be a string, number, boolean or a list of those"),
        ({}, "space: must define at least one gene"),
    ],
)
def test_from_config_errors_name_the_key_path(table, message):
    with pytest.raises(ValueError, match=exact(message)):
        Space.from_config(table)


def test_from_config_rejects_a_non_table():
    with pytest.raises(ValueError, match=exact("space: must be a table of genes (got list")):
        Space.from_config([{"kind": "float"}])
