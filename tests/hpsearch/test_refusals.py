"""Every value the search cannot use is refused up front, with one line naming its key path:
the same message through the Python API (ValueError) and through a TOML config (ConfigError,
the key path starting with the table), and `hpsearch run` exits 2 before any trial runs."""

import subprocess
import sys
import textwrap

import pytest

from hpsearch import GeneticSearch, MLPObjective, default_space
from hpsearch.checks import MAX_EPOCHS, MAX_LAYER_SIZE, MAX_LAYERS, MAX_POPULATION, MAX_SECONDS, MAX_WORKERS
from hpsearch.config import ConfigError, build_search, load_config
from hpsearch.fidelity import Fidelity
from hpsearch.mlp import NAMES
from hpsearch.pbt import PopulationBasedTraining
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space

ACTIVATIONS = ", ".join(NAMES["activation"])
INITS = ", ".join(NAMES["init"])
LAYERS = f"1 to {MAX_LAYERS} hidden layers of 1 to {MAX_LAYER_SIZE} units"
ARRAY_HINT = ('(an array is a constant; to search choices write activation = '
              '{kind = "categorical", choices = [...]})')


@pytest.fixture(scope="module")
def objective(digits_splits):
    return MLPObjective(digits_splits)


def load(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text("[dataset]\nname = 'digits'\n" + textwrap.dedent(text))
    return load_config(path)


def refused_by_config(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert "\n" not in str(caught.value)
    return str(caught.value)


# ---------------------------------------------------------------- genes the MLP cannot use

# (the gene as a [space] line of TOML, the same gene built in Python, the message)
GENES = [
    ('activation = {kind = "categorical", choices = ["relu", "softmax"]}',
     lambda: CategoricalGene("activation", ("relu", "softmax")),
     f"space.activation: unknown choice 'softmax' for the MLP objective (valid: {ACTIVATIONS})"),
    ('activation = "softmax"', lambda: ConstantGene("activation", "softmax"),
     f"space.activation: unknown value 'softmax' for the MLP objective (valid: {ACTIVATIONS})"),
    ('activation = ["softmax"]', lambda: ConstantGene("activation", ["softmax"]),
     f"space.activation: the MLP objective needs one of: {ACTIVATIONS}, got the constant ['softmax'] {ARRAY_HINT}"),
    ('init = {kind = "categorical", choices = ["he_uniform", "glorot"]}',
     lambda: CategoricalGene("init", ("he_uniform", "glorot")),
     f"space.init: unknown choice 'glorot' for the MLP objective (did you mean 'glorot_normal'?; valid: {INITS})"),
    ('lr_schedule = {kind = "categorical", choices = ["constant", "linear"]}',
     lambda: CategoricalGene("lr_schedule", ("constant", "linear")),
     "space.lr_schedule: unknown choice 'linear' for the MLP objective (valid: constant, step, cosine)"),
    ('lr_schedule = 3', lambda: ConstantGene("lr_schedule", 3),
     "space.lr_schedule: unknown value 3 for the MLP objective (valid: constant, step, cosine)"),
    ('momentum = {kind = "float", low = -1, high = 3}', lambda: FloatGene("momentum", -1, 3),
     "space.momentum: the MLP objective needs 0 <= momentum <= 1, got the range -1.0..3.0"),
    ('momentum = {kind = "categorical", choices = [0.5, 1.5]}', lambda: CategoricalGene("momentum", (0.5, 1.5)),
     "space.momentum: the MLP objective needs 0 <= momentum <= 1, got the choice 1.5"),
    ('learning_rate = {kind = "float", low = -1, high = 1}', lambda: FloatGene("learning_rate", -1, 1),
     "space.learning_rate: the MLP objective needs learning_rate > 0, got the range -1.0..1.0"),
    ('learning_rate = 0', lambda: ConstantGene("learning_rate", 0),
     "space.learning_rate: the MLP objective needs learning_rate > 0, got the constant 0"),
    ('learning_rate = inf', lambda: ConstantGene("learning_rate", float("inf")),
     "space.learning_rate: the MLP objective needs learning_rate > 0, got the constant inf"),
    ('learning_rate = "0.1"', lambda: ConstantGene("learning_rate", "0.1"),
     "space.learning_rate: the MLP objective needs learning_rate > 0, got the constant '0.1'"),
    ('batch_size = 0', lambda: ConstantGene("batch_size", 0),
     "space.batch_size: the MLP objective needs an integer batch_size >= 1, got the constant 0"),
    ('batch_size = {kind = "int", low = 0, high = 64}', lambda: IntGene("batch_size", 0, 64),
     "space.batch_size: the MLP objective needs an integer batch_size >= 1, got the range 0..64"),
    ('batch_size = {kind = "float", low = 8, high = 64}', lambda: FloatGene("batch_size", 8, 64),
     "space.batch_size: the MLP objective needs an integer batch_size >= 1, got a float gene"),
    ('hidden_sizes = [64, 0]', lambda: ConstantGene("hidden_sizes", (64, 0)),
     f"space.hidden_sizes: the MLP objective needs {LAYERS}, got the constant [64, 0]"),
    ('hidden_sizes = 64', lambda: ConstantGene("hidden_sizes", 64),
     f"space.hidden_sizes: the MLP objective needs {LAYERS}, got the constant 64"),
    ('hidden_sizes = {kind = "layers", min_layers = 1, max_layers = 2, low = 8, high = 10000000}',
     lambda: LayersGene("hidden_sizes", 1, 2, 8, 10**7),
     f"space.hidden_sizes: the MLP objective needs {LAYERS}, got up to 2 layers of up to 10000000 units"),
    ('hidden_sizes = {kind = "int", low = 8, high = 64}', lambda: IntGene("hidden_sizes", 8, 64),
     f"space.hidden_sizes: the MLP objective needs {LAYERS}, got an int gene"),
    ('epochs = 0', lambda: ConstantGene("epochs", 0),
     f"space.epochs: the MLP objective needs an integer 1 <= epochs <= {MAX_EPOCHS}, got the constant 0"),
    ('epochs = 1000000000', lambda: ConstantGene("epochs", 10**9),
     f"space.epochs: the MLP objective needs an integer 1 <= epochs <= {MAX_EPOCHS}, got the constant 1000000000"),
    ('epochs = {kind = "int", low = 1, high = 1000000}', lambda: IntGene("epochs", 1, 10**6),
     f"space.epochs: the MLP objective needs an integer 1 <= epochs <= {MAX_EPOCHS}, got the range 1..1000000"),
    ('epochs = {kind = "float", low = 1, high = 5}', lambda: FloatGene("epochs", 1, 5),
     f"space.epochs: the MLP objective needs an integer 1 <= epochs <= {MAX_EPOCHS}, got a float gene"),
    ('weight_decay = {kind = "float", low = -0.1, high = 0.1}', lambda: FloatGene("weight_decay", -0.1, 0.1),
     "space.weight_decay: the MLP objective needs weight_decay >= 0, got the range -0.1..0.1"),
    ('weight_decay = -0.001', lambda: ConstantGene("weight_decay", -0.001),
     "space.weight_decay: the MLP objective needs weight_decay >= 0, got the constant -0.001"),
    ('nesterov = "false"', lambda: ConstantGene("nesterov", "false"),
     "space.nesterov: the MLP objective needs true or false, got the constant 'false'"),
    ('nesterov = {kind = "categorical", choices = [true, "false"]}',
     lambda: CategoricalGene("nesterov", (True, "false")),
     "space.nesterov: the MLP objective needs true or false, got the choice 'false'"),
    ('nesterov = {kind = "float", low = 0, high = 1}', lambda: FloatGene("nesterov", 0, 1),
     "space.nesterov: the MLP objective needs true or false, got a float gene"),
    ('momentum = {kind = "layers", min_layers = 1, max_layers = 2, low = 1, high = 8}',
     lambda: LayersGene("momentum", 1, 2, 1, 8),
     "space.momentum: the MLP objective needs 0 <= momentum <= 1, got a layers gene"),
]


@pytest.mark.parametrize("toml, gene, message", GENES, ids=[case[0] for case in GENES])
def test_genes_the_mlp_cannot_use_are_refused(toml, gene, message, tmp_path, objective, digits_splits):
    assert refused_by_config(tmp_path, f"[space]\n{toml}\n") == message
    space = Space([*(g for g in default_space() if g.name != gene().name), gene()])
    with pytest.raises(ValueError) as caught:
        GeneticSearch(space, objective)
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:  # data splits in place of an objective
        GeneticSearch(space, digits_splits)
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        PopulationBasedTraining(space, objective)
    assert str(caught.value) == message


def test_what_the_mlp_can_use_is_accepted(tmp_path, objective):
    text = """
        [space]
        activation = {kind = "categorical", choices = ["relu", "identity", "leaky_relu"]}
        init = {kind = "categorical", choices = ["glorot_uniform", "he_normal", "zeros"]}
        lr_schedule = {kind = "categorical", choices = ["constant", "step", "cosine"]}
        momentum = {kind = "float", low = 0, high = 1}
        nesterov = {kind = "categorical", choices = [true, false]}
        learning_rate = {kind = "int", low = 1, high = 2}
        batch_size = 100000000
        epochs = 100000
        weight_decay = 0
        hidden_sizes = {kind = "layers", min_layers = 1, max_layers = 1000, low = 1, high = 1000000}
    """
    config = load(tmp_path, text)
    GeneticSearch(config.space, objective)


def test_layer_counts_are_limited_for_any_objective():
    message = f"space.hidden_sizes.max_layers: must be <= {MAX_LAYERS} (got 100000)"
    with pytest.raises(ValueError, match=f"^hidden_sizes: max_layers must be <= {MAX_LAYERS} \\(got 100000\\)$"):
        LayersGene("hidden_sizes", 1, 100_000, 8, 64)
    with pytest.raises(ValueError) as caught:
        Space.from_config({"hidden_sizes": {"kind": "layers", "min_layers": 1, "max_layers": 100_000,
                                            "low": 8, "high": 64}})
    assert str(caught.value) == message


def test_integer_genes_stay_within_exact_floats(tmp_path):
    message = "space.epochs.high: must be between -2**53 and 2**53 (got 1000000000000000000000000000000)"
    text = "[space]\nepochs = {kind = 'int', low = 1, high = 1000000000000000000000000000000}\n"
    assert refused_by_config(tmp_path, text) == message
    with pytest.raises(ValueError, match=r"^epochs: high must be between -2\*\*53 and 2\*\*53"):
        IntGene("epochs", 1, 10**30)


# ---------------------------------------------------------------- sizes without bounds

# (API: "ga" keyword of GeneticSearch, "pbt" keyword of PopulationBasedTraining or
# "fidelity" field of Fidelity; the TOML table; key; value; other keys needed; the message
# without the table)
SIZES = [
    ("ga", "search", "population", 10**9, {}, f"population: must be <= {MAX_POPULATION}, got 1000000000"),
    ("ga", "search", "initial_size", 10**9, {}, f"initial_size: must be <= {MAX_POPULATION}, got 1000000000"),
    ("ga", "search", "tournament_size", 10**9, {},
     f"tournament_size: must be <= {MAX_POPULATION}, got 1000000000"),
    ("ga", "search", "elitism", 10**9, {"max_evaluations": 100},
     f"elitism: must be <= {MAX_POPULATION - 8} with an automatic population (8 + elitism), got 1000000000"),
    ("ga", "parallel", "timeout", 1e10, {}, f"timeout: must be <= {MAX_SECONDS}, got 10000000000.0"),
    ("ga", "budget", "time_limit", 1e10, {}, f"time_limit: must be <= {MAX_SECONDS}, got 10000000000.0"),
    ("ga", "budget", "time_limit", 10**400, {}, f"time_limit: out of the float range (±1.8e308), got {10**400}"),
    ("pbt", "search", "population", 10**9, {}, f"population: must be <= {MAX_POPULATION}, got 1000000000"),
    ("pbt", "search", "epochs_per_step", 10**9, {}, f"epochs_per_step: must be <= {MAX_EPOCHS}, got 1000000000"),
    ("pbt", "search", "steps", 10**9, {},
     f"steps: steps x epochs_per_step must be <= {MAX_EPOCHS} epochs, got 1000000000 x 2"),
    ("pbt", "parallel", "timeout", 1e10, {}, f"timeout: must be <= {MAX_SECONDS}, got 10000000000.0"),
    ("ga", "parallel", "n_jobs", 10**30, {}, f"n_jobs: must be <= {MAX_WORKERS}, got {10**30}"),
    ("ga", "parallel", "n_jobs", -10**30, {}, f"n_jobs: must be >= -{MAX_WORKERS}, got {-10**30}"),
    ("ga", "parallel", "blas_threads", 10**30, {}, f"blas_threads: must be <= {MAX_WORKERS}, got {10**30}"),
    ("fidelity", "fidelity", "rungs", 10**9, {}, "rungs: must be <= 100, got 1000000000"),
    ("fidelity", "fidelity", "reduction_factor", 1e6, {}, "reduction_factor: must be <= 1000, got 1000000.0"),
]


def toml_value(value):
    return repr(value) if isinstance(value, float) else str(value)


@pytest.mark.parametrize("api, table, key, value, others, message", SIZES,
                         ids=[f"{case[0]}-{case[2]}" for case in SIZES])
def test_sizes_past_the_limits_are_refused(api, table, key, value, others, message, tmp_path, objective):
    lines = [f"[{table}]", f"{key} = {toml_value(value)}"]
    if api == "pbt":
        lines = ["[search]", "mode = 'pbt'", *(lines[1:] if table == "search" else lines)]
    lines += ["[budget]", *(f"{k} = {v}" for k, v in others.items())] if others else []
    assert refused_by_config(tmp_path, "\n".join(lines) + "\n") == f"{table}.{message}"
    with pytest.raises(ValueError) as caught:
        if api == "ga":
            GeneticSearch(default_space(), objective, **{key: value}, **others)
        elif api == "pbt":
            PopulationBasedTraining(default_space(), objective, **{key: value})
        else:
            Fidelity(**{key: value})
    assert str(caught.value) == message


def test_the_limits_themselves_are_accepted(objective):
    GeneticSearch(default_space(), objective, population=MAX_POPULATION, tournament_size=MAX_POPULATION,
                  timeout=MAX_SECONDS, time_limit=MAX_SECONDS)
    PopulationBasedTraining(default_space(), objective, steps=MAX_EPOCHS // 2, epochs_per_step=2)
    Fidelity(rungs=100, reduction_factor=1000)


@pytest.mark.parametrize("name", ["synthetic", "regression"])
def test_generated_data_sets_of_sizes_that_cannot_be_meant_are_refused(name, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f"[dataset]\nname = '{name}'\nn_samples = {10**30}\n")
    with pytest.raises(ValueError, match=r"dataset: n_samples x n_features must be <= 1e\+09 values"):
        build_search(load_config(path))


# ---------------------------------------------------------------- the command line


def test_hpsearch_run_refuses_an_unusable_choice_before_any_trial(tmp_path):
    config = tmp_path / "softmax.toml"
    config.write_text(textwrap.dedent("""
        [dataset]
        name = "digits"
        [space]
        activation = {kind = "categorical", choices = ["softmax"]}
    """))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(config), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == (f"hpsearch: error: space.activation: unknown choice 'softmax' for the MLP "
                           f"objective (valid: {ACTIVATIONS})\n")
    assert not out.exists()  # refused before the results directory, let alone a trial
