"""Fuzzing the config layer: whatever a TOML file holds, load_config and build_search either
give a search (not run) or refuse it with a one-line ConfigError, never another exception.

The documents are generated as Python dicts and written with the project's own TOML writer
(hpsearch.results.write_config): known keys of every table and junk ones, at the right table
and the wrong one, with strings, integers and floats of every size (10**30, 10**400, inf,
nan), booleans, arrays and nested tables.
"""

import math
import typing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsearch.config import ConfigError, build_search, load_config
from hpsearch.config.parse import TABLE_KEYS
from hpsearch.config.schema import DATASET_KEYS, TABLES, TOP_LEVEL_KEYS, ObjectiveConfig
from hpsearch.fidelity import Fidelity
from hpsearch.genes import GENE_KINDS
from hpsearch.mlp import MLP_DEFAULTS, OPTIONAL_GENES, default_space
from hpsearch.pareto import OBJECTIVES
from hpsearch.pbt import PopulationBasedTraining
from hpsearch.results import plain_genome, write_config
from hpsearch.search import GeneticSearch
from hpsearch.settings import GA, PBT, Budget, Parallel
from hpsearch.strategies.racing import Racing

GENE_KEYS = ("kind", "low", "high", "log", "step", "power_of_two", "min_layers", "max_layers", "choices", "value")
# Strings that mean something somewhere in a config, so that documents get past the first check.
WORDS = ("digits", "xor", "regression", "synthetic", "ga", "pbt", "random", "relu", "softmax", "identity",
         "he_uniform", "glorot", "cosine", "median", "percentile", "none", "auto", "model_assisted", "cmaes",
         "latin_hypercube",
         "generational", "mu_plus_lambda", "accuracy", "neg_mse", "r2", *OBJECTIVES, "loky",
         "threading", "dask", "local", "tcp://127.0.0.1:8786", "minmax", "fixed", "standard", "true", "false",
         "", "0.1", *GENE_KINDS, *MLP_DEFAULTS)
EXTREME_NUMBERS = (0, 1, 2, 3, -1, 8, 64, 10**9, 10**30, -10**30, 2**53 + 1, 2**63, 10**400, -10**400,
                   0.0, -0.0, 0.5, 0.99, 1.5, 1e-300, 5e-324, 1e10, 1e308, -1e308, math.inf, -math.inf, math.nan)

junk_keys = st.text(min_size=0, max_size=6)
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.sampled_from(EXTREME_NUMBERS),
    st.integers(min_value=-3, max_value=200),
    st.integers(),
    st.floats(),
    st.booleans(),
)
# Anything TOML can hold.
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(GENE_KEYS), junk_keys), inner, max_size=4)),
    max_leaves=8,
)
small_ints = st.integers(min_value=-2, max_value=40)
small_floats = st.one_of(st.floats(min_value=0, max_value=1), st.floats(min_value=-1, max_value=100),
                         st.sampled_from((0.1, 0.25, 0.5, 1.0, 3.0, 15.0, 60.0)))


@st.composite
def mostly(draw, usual, rare):
    """usual nine times in ten, else rare (st.one_of would pick each half the time)."""
    return draw(usual if draw(st.randoms()).random() < 0.9 else rare)


def sample_genome(seed):
    """A genome of the default space, as a TOML table."""
    return plain_genome(default_space().sample(np.random.default_rng(seed)))


# Warm-start genomes: of the default space, now and then with one gene changed.
genomes = st.integers(0, 2**32 - 1).map(sample_genome)
genomes = mostly(genomes, st.tuples(genomes, st.sampled_from(tuple(MLP_DEFAULTS)), values).map(
    lambda changed: {**changed[0], changed[1]: changed[2]}))


def plausible(hint):
    """Values like those a user would write for a field of type `hint`: often valid, so that
    documents get past the first checks into the later ones."""
    if hint is bool:
        return st.booleans()
    if hint is str:
        return st.sampled_from(WORDS)
    if hint in (int, int | None):
        return st.one_of(small_ints, st.sampled_from(EXTREME_NUMBERS))
    if hint in (float, float | None):
        return st.one_of(small_floats, small_ints, st.sampled_from(EXTREME_NUMBERS))
    if hint is list:  # search.warm_start
        return st.lists(genomes, max_size=3)
    return st.lists(st.sampled_from(WORDS), max_size=3)


def value_for(hint):
    return mostly(plausible(hint), values)


def table(hints, junk=True):
    """A table of a few of the known keys (hints: {key: type}), now and then a junk one."""
    known = st.sampled_from(tuple(hints))
    keys = mostly(known, junk_keys) if junk else known
    return st.lists(keys, unique=True, max_size=3).flatmap(
        lambda chosen: st.fixed_dictionaries({key: value_for(hints.get(key)) for key in chosen}))


SETTINGS_HINTS = {name: typing.get_type_hints(cls) for name, cls in
                  (("search", GA), ("budget", Budget), ("parallel", Parallel), ("fidelity", Fidelity),
                   ("objective", ObjectiveConfig), ("racing", Racing))}
SETTINGS_HINTS["search"] = {**SETTINGS_HINTS["search"], **typing.get_type_hints(PBT), "mode": str,
                            "warm_start": list}
# [breeding]: a strategy's name and the fields of the built-in strategies.
SETTINGS_HINTS["breeding"] = {"strategy": str, "initial_design": str, "sigma": float}
DATASET_HINTS = {"name": str, "val_fraction": float, "test_fraction": float, "stratify": bool,
                 "split_seed": int, "scaling": str, "holdout": bool}
assert set(DATASET_HINTS) == set(DATASET_KEYS)


def ordered(bound):
    """(low, high) as a user would write them, now and then the wrong way round."""
    return mostly(st.tuples(bound, bound).map(sorted), st.tuples(bound, bound))


def with_optional(required, optional):
    """A table with every required key and some of the optional ones, now and then a junk one."""
    entries = st.fixed_dictionaries(required, optional=optional)
    return mostly(entries, st.tuples(entries, junk_keys, values).map(lambda t: {**t[0], t[1]: t[2]}))


def bounds(pair, low="low", high="high"):
    return {low: pair[0], high: pair[1]}


numbers = mostly(st.one_of(small_floats, small_ints), st.sampled_from(EXTREME_NUMBERS))
counts = mostly(st.integers(0, 2048), st.sampled_from(EXTREME_NUMBERS))
flags = mostly(st.booleans(), values)
# A gene table of each kind, its settings mostly of the right type and order.
gene_tables = st.one_of(
    st.tuples(ordered(numbers), with_optional({"kind": st.just("float")}, {"log": flags})).map(
        lambda t: {**t[1], **bounds(t[0])}),
    st.tuples(ordered(counts), with_optional({"kind": st.just("int")}, {
        "log": flags, "step": counts, "power_of_two": flags})).map(lambda t: {**t[1], **bounds(t[0])}),
    st.tuples(ordered(counts), ordered(mostly(st.integers(0, 6), counts)), with_optional(
        {"kind": st.just("layers")}, {"log": flags})).map(
        lambda t: {**t[2], **bounds(t[0]), **bounds(t[1], "min_layers", "max_layers")}),
    with_optional({"kind": st.just("categorical"), "choices": st.lists(
        mostly(st.one_of(st.sampled_from(WORDS), numbers, st.booleans()), values), max_size=4)}, {}),
    with_optional({"kind": st.just("constant"), "value": values}, {}),
)
genes = mostly(
    st.one_of(
        gene_tables,
        # A bare value or array is a constant.
        st.one_of(st.sampled_from(WORDS), numbers, st.booleans(), st.lists(counts, max_size=3)),
    ),
    # Anything: a table without its kind (a constant only with "value"), any value.
    st.one_of(gene_tables.map(lambda entry: {k: v for k, v in entry.items() if k != "kind"}), values),
)
# The genes of the MLP's standard space, and one setting of them changed: most spaces are
# usable, so that documents get on to the other tables.
TEMPLATES = {gene.name: gene.to_config() for gene in default_space(extra=OPTIONAL_GENES)}
TEMPLATES["nesterov"] = {"kind": "categorical", "choices": [True, False]}
TEMPLATES["lr_schedule"] = {"kind": "categorical", "choices": ["constant", "step", "cosine"]}
assert set(TEMPLATES) == set(MLP_DEFAULTS)


def gene_for(name):
    if name not in TEMPLATES:
        return genes
    template = TEMPLATES[name]
    changed = st.tuples(st.sampled_from(GENE_KEYS), mostly(numbers, values)).map(
        lambda change: {**template, change[0]: change[1]})
    return mostly(mostly(st.just(template), changed), genes)


gene_names = mostly(st.sampled_from(tuple(MLP_DEFAULTS)), junk_keys)
spaces = st.lists(gene_names, unique=True, min_size=1, max_size=5).flatmap(
    lambda names: st.fixed_dictionaries({name: gene_for(name) for name in names}))


@st.composite
def documents(draw):
    dataset = draw(mostly(st.just({}), mostly(table(DATASET_HINTS, junk=False), values)))
    if isinstance(dataset, dict):
        dataset["name"] = draw(mostly(st.sampled_from(("digits", "xor", "regression", "synthetic")), scalars))
    document = {"dataset": dataset}
    for name in draw(st.lists(st.sampled_from(TABLES[1:]), unique=True, max_size=4)):
        document[name] = draw(mostly(spaces if name == "space" else table(SETTINGS_HINTS[name]), values))
    if isinstance(document.get("search"), dict) and draw(st.booleans()):
        document["search"]["mode"] = draw(mostly(st.sampled_from(("ga", "pbt")), values))
    if draw(st.booleans()):
        document["seed"] = draw(mostly(st.integers(0, 10**6), values))
    if draw(st.booleans()):
        document["out_dir"] = draw(mostly(st.text(min_size=1, max_size=8), values))
    if draw(mostly(st.just(False), st.just(True))):  # a key at the wrong level: a table's or a junk one
        document[draw(st.one_of(st.sampled_from(("population", "name", "n_jobs")), junk_keys))] = draw(values)
    return document


def check_document(document, tmp_path):
    path = tmp_path / "fuzz.toml"
    write_config(path, document)
    try:
        config = load_config(path)
        search = build_search(config, out_dir=tmp_path / "out", quiet=True)
    except ConfigError as error:
        message = str(error)
        assert message.splitlines() == [message], message  # one line, as the command line prints it
        return
    assert isinstance(search, (GeneticSearch, PopulationBasedTraining))


def test_the_fuzz_knows_every_table():
    assert set(TABLE_KEYS) | {"dataset", "space", "breeding"} == set(TABLES) == set(SETTINGS_HINTS) | {"dataset", "space"}
    assert TOP_LEVEL_KEYS == ("seed", "out_dir")


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                database=None)


@settings(FUZZ, max_examples=200, derandomize=True)
@given(document=documents())
def test_config_fuzz_quick(document, tmp_path):
    check_document(document, tmp_path)


@pytest.mark.slow
@settings(FUZZ, max_examples=5000)
@given(document=documents())
def test_config_fuzz(document, tmp_path):
    check_document(document, tmp_path)
