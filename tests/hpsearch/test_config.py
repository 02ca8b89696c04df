"""TOML experiment configs: one-line errors, defaults, round trips, and building a search."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hpsearch import GeneticSearch, default_space
from hpsearch.config import (
    SCALINGS,
    Config,
    ConfigError,
    apply_overrides,
    build_search,
    load_config,
    load_splits,
    parse_config,
)
from hpsearch.config.schema import SEARCH_KEYS
from hpsearch.datasets import SCALING_METHODS, available_datasets
from hpsearch.results import write_config
from hpsearch.settings import PBT, field_names
from hpsearch.strategies import ModelAssisted, RandomSearch

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((REPO / "experiments").glob("*.toml"))

DATA_SETS = ", ".join(available_datasets())
MLP_GENES = ("activation, batch_size, epochs, hidden_sizes, init, learning_rate, lr_schedule, "
             "momentum, nesterov, weight_decay")
DEFAULT_GENES = "learning_rate, momentum, hidden_sizes, batch_size, epochs, init"
# A complete genome of the default space, to vary one gene at a time.
GENOME = ("learning_rate = 0.05, momentum = 0.9, hidden_sizes = [128], batch_size = 32, "
          "epochs = 20, init = 'he_uniform'")

TINY = """
    seed = 0
    [dataset]
    name = "digits"
    [search]
    space = "replace"
    population = 4
    generations = 0
    [parallel]
    n_jobs = 1
    [space.learning_rate]
    kind = "float"
    low = 0.01
    high = 0.3
    log = true
    [space.hidden_sizes]
    kind = "layers"
    min_layers = 1
    max_layers = 1
    low = 8
    high = 16
    [space.epochs]
    kind = "int"
    low = 1
    high = 2
    [space.batch_size]
    value = 64
"""


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def digits(extra=""):
    return "[dataset]\nname = 'digits'\n" + extra


MALFORMED = [
    # (config text, the exact message; {path} is the config file)
    ("", "dataset: missing required key 'name'"),
    ("seed = 1\n", "dataset: missing required key 'name'"),
    ("dataset = 'digits'\n", "dataset: expected a table, got 'digits'"),
    ("[dataset]\nname = 'digitz'\n",
     f"dataset.name: unknown data set 'digitz' (did you mean 'digits'?; valid: {DATA_SETS})"),
    ("[dataset]\nname = 7\n", "dataset.name: expected a string, got 7"),
    ("[dataset]\nname = 'fashion-mnist'\nn_trian = 100\n",
     "dataset.n_trian: unknown option of data set 'fashion-mnist' (did you mean 'n_train'?)"),
    ("[dataset]\nname = 'fashion-mnist'\nn_train = '10k'\n", "dataset.n_train: expected an integer, got '10k'"),
    ("[dataset]\nname = 'fashion-mnist'\ndata_dir = 3\n", "dataset.data_dir: expected a string, got 3"),
    (digits("foo = 1\n"), "dataset.foo: unknown option of data set 'digits' "
                          "(valid: name, val_fraction, test_fraction, stratify, split_seed, scaling, holdout)"),
    (digits("val_fractoin = 0.2\n"), "dataset.val_fractoin: unknown key (did you mean 'val_fraction'?)"),
    (digits("val_fraction = 1.5\n"), "dataset.val_fraction: must be in (0, 1), got 1.5"),
    (digits("test_fraction = 0\n"), "dataset.test_fraction: must be in (0, 1), got 0"),
    (digits("val_fraction = 0.5\ntest_fraction = 0.5\n"),
     "dataset.test_fraction: val_fraction + test_fraction must be < 1, got 0.5 + 0.5"),
    (digits("stratify = 'yes'\n"), "dataset.stratify: expected true or false, got 'yes'"),
    (digits("split_seed = -2\n"), "dataset.split_seed: must be >= 0, got -2"),
    (digits("scaling = 'minmx'\n"),
     "dataset.scaling: unknown value 'minmx' (did you mean 'minmax'?; valid: auto, fixed, minmax, standard, none)"),
    ("[dataset]\nname = 'csv'\npath = 'x.csv'\n", "dataset: missing required key 'label' for data set 'csv'"),
    ("[dataset]\nname = 'csv'\npath = 'x.csv'\nlabel = 'y'\nlable = 'y'\n",
     "dataset.lable: unknown option of data set 'csv' (did you mean 'label'?)"),
    ("[dataset]\nname = 'csv'\npath = 'x.csv'\nlabel = 'y'\ntask = 'regresion'\n",
     "dataset.task: unknown value 'regresion' (did you mean 'regression'?; valid: classification, regression)"),
    (digits("[objective]\nmetric = 'r2'\n"), "objective.metric: 'r2' is not a classification metric (valid: accuracy)"),
    (digits("[objective]\nmetric = 'accuarcy'\n"),
     "objective.metric: unknown metric 'accuarcy' (did you mean 'accuracy'?; valid: accuracy)"),
    ("[dataset]\nname = 'regression'\n[objective]\nmetric = 'accuracy'\n",
     "objective.metric: 'accuracy' is not a regression metric (valid: neg_mse, r2)"),
    (digits("[objective]\nearly_stopping_patience = 0\n"), "objective.early_stopping_patience: must be >= 1, got 0"),
    (digits("[search]\npopulaton = 16\n"),
     f"search.populaton: unknown key (did you mean 'population'?; valid: {', '.join(SEARCH_KEYS)})"),
    # Every [search] key: mode, GA's fields, warm_start, PBT's own (features keep adding keys).
    (digits("[search]\nfoo = 16\n"), f"search.foo: unknown key (valid: {', '.join(SEARCH_KEYS)})"),
    (digits("[search]\npopulation = 'ten'\n"), "search.population: expected an integer, got 'ten'"),
    (digits("[search]\npopulation = true\n"), "search.population: expected an integer, got true"),
    (digits("[search]\npopulation = 4.0\n"), "search.population: expected an integer, got 4.0"),
    (digits("[search.population]\nsize = 4\n"), "search.population: expected an integer, got a table"),
    (digits("[search]\npopulation = 1\n"), "search.population: must be >= 2, got 1"),
    (digits("[search]\nelitism = 16\n"), "search.elitism: must be < population (16), got 16"),
    (digits("[search]\npopulation = 4\nelitism = 5\n"), "search.elitism: must be < population (4), got 5"),
    (digits("[search]\npopulation = 4\nelitism = 1\ninitial_size = 3\n"),
     "search.initial_size: must be >= population (4), got 3"),
    (digits("[search]\nobjectives = ['val_metric']\n"),
     "search.objectives: NSGA-II needs at least 2 objectives, got 1 "
     "(leave objectives out for the single-objective GA)"),
    (digits("[search]\ngenerations = -1\n"), "search.generations: must be >= 0, got -1"),
    (digits("[search]\ncrossover_prob = 1.5\n"), "search.crossover_prob: must be in [0, 1], got 1.5"),
    (digits("[search]\nmutation_indpb = 0\n"), "search.mutation_indpb: must be in (0, 1], got 0"),
    (digits("[search]\nmutation_scale = 0.0\n"), "search.mutation_scale: must be > 0, got 0.0"),
    (digits("[search]\nalgorithm = 'random'\n"),
     "search.algorithm: moved: use breeding.strategy ('random' for random search, 'ga' for the plain GA)"),
    (digits("[search]\nsurrogate = 'none'\n"),
     "search.surrogate: moved: use breeding.strategy ('model_assisted' for 'trees', 'ga' for 'none')"),
    (digits("[search]\ninitial_design = 'random'\n"), "search.initial_design: moved: use breeding.initial_design"),
    (digits("[breeding]\nstrategy = 'randm'\n"),
     "breeding.strategy: unknown value 'randm' (did you mean 'random'?; valid: auto, cmaes, ga, model_assisted, random)"),
    (digits("[breeding]\nstrategy = 'random'\nsigma = 0.3\n"),
     "breeding.sigma: not an option of breeding strategy 'random' (valid: initial_design)"),
    (digits("[breeding]\ninitial_design = 'sobol'\n"),
     "breeding.initial_design: unknown value 'sobol' (valid: latin_hypercube, random)"),
    (digits("[search]\nobjectives = ['val_metric', 'n_params']\n[breeding]\nstrategy = 'model_assisted'\n"),
     "breeding: 'model_assisted' screens offspring on one score, and NSGA-II ranks them by Pareto fronts of "
     "several; use 'ga' or 'random' with objectives"),
    (digits("[search]\nmode = 'pbt'\n[breeding]\nstrategy = 'ga'\n"),
     "breeding: not used when search.mode = 'pbt' (PBT trains in steps of its own)"),
    (digits("[search]\nselection = 'generationl'\n"),
     "search.selection: unknown value 'generationl' (did you mean 'generational'?; valid: generational, mu_plus_lambda)"),
    (digits("[search]\nwarm_start = {learning_rate = 0.1}\n"),
     "search.warm_start: expected an array of tables, got a table"),
    (digits("[search]\nwarm_start = [3]\n"), "search.warm_start[0]: expected a table, got 3"),
    (digits(f"[search]\nwarm_start = [{{{GENOME.replace('momentum = 0.9', 'momentum = 1.5')}}}]\n"),
     "search.warm_start[0].momentum: 1.5 is out of bounds [0.0, 0.99]"),
    (digits(f"[search]\nwarm_start = [{{{GENOME}}}, {{{GENOME.replace('[128]', '[128, 2000]')}}}]\n"),
     "search.warm_start[1].hidden_sizes: size 2000 of layer 1 is out of bounds [8, 1024]"),
    (digits(f"[search]\nwarm_start = [{{{GENOME.replace('batch_size = 32', 'batch_size = 33')}}}]\n"),
     "search.warm_start[0].batch_size: 33 is not a power of two"),
    (digits(f"[search]\nwarm_start = [{{{GENOME.replace('momentum', 'momentm')}}}]\n"),
     f"search.warm_start[0].momentm: unknown gene (did you mean 'momentum'?; valid: {DEFAULT_GENES})"),
    # A gene [space] names must be in every warm-start genome (the default space's others get
    # the MLP's default values).
    (digits("[search]\nwarm_start = [{learning_rate = 0.1}]\n[space.momentum]\nkind = 'float'\nlow = 0.0\n"
            "high = 0.9\n[space.epochs]\nvalue = 5\n"),
     "search.warm_start[0]: missing genes 'momentum', 'epochs'"),
    (digits(f"[search]\npopulation = 2\nelitism = 1\nwarm_start = [{{{GENOME}}}, {{{GENOME}}}, {{{GENOME}}}]\n"),
     "search.warm_start: 3 genomes exceed the initial population size (2)"),
    (digits("[budget]\ntime_limit = -5\n"), "budget.time_limit: must be > 0, got -5"),
    (digits("[budget]\nmax_evaluations = 2.5\n"), "budget.max_evaluations: expected an integer, got 2.5"),
    (digits("[budget]\npatience = 0\n"), "budget.patience: must be >= 1, got 0"),
    (digits("[budget]\ntarget_fitness = nan\n"), "budget.target_fitness: must be finite, got nan"),
    (digits("[budget]\ntarget_fitness = 'high'\n"), "budget.target_fitness: expected a number, got 'high'"),
    (digits("[parallel]\nn_jobs = 0\n"), "parallel.n_jobs: must not be 0 (-1 = all cores), got 0"),
    (digits("[parallel]\ntimeout = 0\n"), "parallel.timeout: must be > 0, got 0"),
    (digits("[parallel]\nblas_threads = 0\n"), "parallel.blas_threads: must be >= 1, got 0"),
    (digits("[serach]\npopulation = 4\n"), "serach: unknown table (did you mean 'search'?; valid: dataset, "
                                            "objective, search, breeding, racing, budget, fidelity, parallel, space)"),
    ("population = 4\n" + digits(), "population: unknown top-level key (it belongs in [search])"),
    ("sed = 1\n" + digits(), "sed: unknown key (did you mean 'seed'?; valid: seed, out_dir, dataset, "
                            "objective, search, breeding, racing, budget, fidelity, parallel, space)"),
    ("seed = -1\n" + digits(), "seed: must be >= 0, got -1"),
    ("seed = 1.5\n" + digits(), "seed: expected an integer, got 1.5"),
    ("out_dir = 5\n" + digits(), "out_dir: expected a string, got 5"),
    ("search = 5\n" + digits(), "search: expected a table, got 5"),
    # Space.from_config's messages pass through unchanged.
    (digits("[space.learning_rate]\nkind = 'float'\nlow = 0.0\nhigh = 1.0\nlog = true\n"),
     "space.learning_rate.low: must be > 0 on a log scale (got 0.0)"),
    (digits("[space.momentum]\nkind = 'flaot'\nlow = 0.0\nhigh = 0.9\n"),
     "space.momentum.kind: unknown gene kind 'flaot' (did you mean 'float'?; valid: categorical, constant, float, int, layers)"),
    (digits("[space.epochs]\nkind = 'int'\nlow = 1\n"), "space.epochs.high: missing (required for a int gene)"),
    (digits("[space.lerning_rate]\nkind = 'float'\nlow = 0.01\nhigh = 0.1\n"),
     f"space.lerning_rate: not a hyperparameter of the MLP (did you mean 'learning_rate'?; valid: {MLP_GENES})"),
    ("[dataset\nname = 'digits'\n",
     "{path}: invalid TOML: Expected ']' at the end of a table declaration (at line 1, column 9)"),
    (digits("[dataset]\nname = 'xor'\n"), "{path}: invalid TOML: Cannot declare ('dataset',) twice (at line 3, column 9)"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_configs_give_one_line_errors(text, message, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == message.format(path=path)
    assert "\n" not in str(caught.value)


def test_missing_and_unreadable_config_files(tmp_path):
    with pytest.raises(ConfigError, match=f"^{re.escape(str(tmp_path / 'nope.toml'))}: no such config file$"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory, not a config file$"):
        load_config(tmp_path)
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="invalid TOML: not UTF-8 text"):
        load_config(tmp_path / "latin1.toml")


def test_a_minimal_config_gets_every_default(tmp_path):
    config = load_config(write(tmp_path / "minimal.toml", '[dataset]\nname = "digits"\n'))
    assert config.seed == 0 and config.out_dir == Path("runs/minimal")
    assert config.source == tmp_path / "minimal.toml"
    data = config.dataset
    assert (data.name, data.val_fraction, data.test_fraction, data.stratify, data.split_seed,
            data.scaling, data.options) == ("digits", 0.15, 0.15, True, None, "auto", {})
    assert config.split_seed == 0
    assert (config.objective.metric, config.objective.early_stopping_patience) == ("accuracy", None)
    ga = config.ga
    assert config.mode == "ga" and config.ga.warm_start == ()
    assert (ga.population, ga.generations, ga.crossover_prob,
            ga.mutation_prob, ga.tournament_size, ga.elitism, ga.selection,
            ga.mutation_indpb, ga.mutation_scale, ga.crossover_eta, ga.initial_size, ga.objectives) == (
        None, None, 0.7, 0.4, 3, 2, "generational", 0.3, 0.15, 15.0, None, ())
    assert config.breeding == ModelAssisted(initial_design="latin_hypercube")
    # None follows the budget: without one, 16 genomes for 10 generations.
    resolved = ga.resolved(config.budget)
    assert (resolved.population, resolved.generations, resolved.initial_size) == (16, 10, 16)
    assert not config.fidelity.active
    budget = config.budget
    assert (budget.max_evaluations, budget.time_limit, budget.patience, budget.target_fitness) == (None,) * 4
    assert (config.parallel.n_jobs, config.parallel.timeout, config.parallel.blas_threads) == (-1, None, 1)
    assert config.space == default_space()

    effective = config.to_dict()
    assert effective["dataset"] == {"name": "digits", "val_fraction": 0.15, "test_fraction": 0.15,
                                    "stratify": True, "scaling": "auto", "holdout": True}
    assert effective["budget"] == {} and effective["out_dir"] == "runs/minimal"
    assert effective["search"]["mode"] == "ga" and "steps" not in effective["search"]
    assert effective["space"] == default_space().to_config()


def test_the_search_table_builds_the_settings_of_its_mode():
    pbt = parse_config({"dataset": {"name": "digits"}, "search": {"mode": "pbt"}})
    assert pbt.mode == "pbt" and pbt.pbt == PBT()  # PBT's own defaults: population 8
    assert set(pbt.to_dict()["search"]) == {"mode", *field_names(PBT)} and "fidelity" not in pbt.to_dict()
    # A [fidelity] table starts from single fidelity: pruning alone adds no rungs.
    pruned = parse_config({"dataset": {"name": "digits"}, "fidelity": {"pruner": "median"}})
    assert (pruned.fidelity.rungs, pruned.fidelity.pruner) == (1, "median")


def test_defaults_that_depend_on_the_data_set():
    assert parse_config({"dataset": {"name": "regression"}}).objective.metric == "neg_mse"
    csv = parse_config({"dataset": {"name": "csv", "path": "a.csv", "label": "y", "task": "regression"}})
    assert csv.objective.metric == "neg_mse" and csv.dataset.options["task"] == "regression"
    assert parse_config({"dataset": {"name": "digits"}}).out_dir is None  # no file, no default results dir


def test_scaling_choices_are_the_data_modules_plus_auto():
    assert set(SCALINGS) == {"auto", *SCALING_METHODS}


RICH = """
    seed = 3
    out_dir = "somewhere/else"
    [dataset]
    name = "fashion-mnist"
    n_train = 1000
    data_dir = "/nowhere"
    val_fraction = 0.2
    split_seed = 11
    scaling = "minmax"
    stratify = false
    [objective]
    early_stopping_patience = 2
    [search]
    population = 5
    elitism = 0
    crossover_eta = 4
    [[search.warm_start]]
    learning_rate = 1
    momentum = 0
    hidden_sizes = [16, 8]
    batch_size = 64
    nesterov = true
    activation = "tanh"
    [breeding]
    strategy = "random"
    initial_design = "latin_hypercube"
    [budget]
    max_evaluations = 40
    time_limit = 60
    target_fitness = 1
    [parallel]
    n_jobs = 2
    timeout = 30.5
    [space.learning_rate]
    kind = "float"
    low = 1e-4
    high = 1
    log = true
    [space.momentum]
    kind = "float"
    low = 0
    high = 0.99
    [space.hidden_sizes]
    kind = "layers"
    min_layers = 1
    max_layers = 3
    low = 8
    high = 64
    log = false
    [space.batch_size]
    kind = "int"
    low = 16
    high = 128
    power_of_two = true
    [space.nesterov]
    value = true
    [space.activation]
    kind = "categorical"
    choices = ["relu", "tanh"]
"""


def test_effective_config_round_trip(tmp_path):
    config = load_config(write(tmp_path / "rich.toml", RICH))
    # ints are accepted where floats are expected, and stored as floats
    assert config.budget.time_limit == 60.0 and isinstance(config.budget.time_limit, float)
    assert config.ga.crossover_eta == 4.0 and isinstance(config.ga.crossover_eta, float)
    assert config.budget.target_fitness == 1.0 and isinstance(config.budget.target_fitness, float)
    assert config.ga.warm_start[0]["hidden_sizes"] == (16, 8)
    assert config.ga.warm_start[0]["learning_rate"] == 1.0
    assert config.breeding == RandomSearch(initial_design="latin_hypercube")
    assert config.dataset.options == {"n_train": 1000, "data_dir": "/nowhere"}

    write_config(tmp_path / "effective.toml", config.to_dict())
    again = load_config(tmp_path / "effective.toml")
    assert again == config and again.to_dict() == config.to_dict()
    assert again.source == tmp_path / "effective.toml"
    assert parse_config(config.to_dict()) == config
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.name for p in EXPERIMENTS])
def test_experiment_configs_validate(path, tmp_path):
    config = load_config(path)
    assert isinstance(config, Config)
    write_config(tmp_path / path.name, config.to_dict())
    assert load_config(tmp_path / path.name) == config


def test_the_experiments_are_there():
    names = {p.name for p in EXPERIMENTS}
    assert {"xor.toml", "digits.toml", "fashion_mnist.toml", "fashion_mnist_quick.toml", "mnist.toml"} <= names
    digits_config = load_config(REPO / "experiments" / "digits.toml")
    # The same search as experiments/digits_search.py.
    assert (digits_config.ga.population, digits_config.ga.generations, digits_config.ga.elitism,
            digits_config.budget.time_limit, digits_config.dataset.scaling, digits_config.space) == (
        16, 6, 2, 240.0, "fixed", default_space())


def test_build_search_reflects_the_config_and_the_overrides(tmp_path):
    config = load_config(write(tmp_path / "tiny.toml", TINY + """
    [budget]
    time_limit = 100
    [objective]
    early_stopping_patience = 2
    """))
    out = tmp_path / "out"
    search = build_search(config, out_dir=out, n_jobs=1, seed=3, quiet=True)
    assert isinstance(search, GeneticSearch)
    assert (search.seed, search.parallel.n_jobs, search.out_dir, search.ga_resolved.generations,
            search.budget.time_limit) == (3, 1, out, 0, 100.0)
    # The config's settings objects reach the search whole.
    assert search.ga_requested == config.ga and search.budget == config.budget
    assert search.ga_resolved == config.ga.resolved(config.budget)
    assert search.ga_resolved.population == 4 and search.ga_resolved.elitism == 2
    assert search.space == config.space
    assert (search.objective.metric, search.objective.early_stopping_patience) == ("accuracy", 2)
    assert search.quiet

    result = search.run()
    # generation 0's 4 genomes, then the final race and the chosen one's 3 confirmation trainings
    phases = result.trials.groupby("generation").size()
    assert phases.iloc[0] == 4 and phases.iloc[-1] == 3 and (result.trials["status"] == "ok").all()
    assert 0 < result.test_score <= 1
    # The search saves the effective config, overrides applied; it loads back equal.
    assert load_config(out / "config.toml") == apply_overrides(config, out_dir=out, n_jobs=1, seed=3)

    plain = build_search(config, quiet=True)
    assert (plain.seed, plain.parallel.n_jobs, plain.out_dir) == (0, 1, Path("runs/tiny"))


def data_hash(search):
    return search.objective.fingerprint()["data_sha256"]


def test_a_seed_override_moves_the_split_unless_split_seed_is_given(tmp_path):
    follows = load_config(write(tmp_path / "a.toml", TINY))
    fixed = load_config(write(tmp_path / "b.toml", TINY.replace('name = "digits"', 'name = "digits"\nsplit_seed = 0')))
    assert data_hash(build_search(follows, seed=1)) != data_hash(build_search(follows))
    assert data_hash(build_search(fixed, seed=1)) == data_hash(build_search(fixed)) == data_hash(build_search(follows))


def test_warm_start_genomes_reach_the_search(tmp_path):
    text = TINY.replace("generations = 0", "generations = 0\nwarm_start = "
                        "[{learning_rate = 0.1, hidden_sizes = [12], epochs = 2, batch_size = 64}]")
    search = build_search(load_config(write(tmp_path / "warm.toml", text)), out_dir=tmp_path / "out", quiet=True)
    assert search.ga_requested.warm_start == ({"learning_rate": 0.1, "hidden_sizes": (12,), "epochs": 2,
                                               "batch_size": 64},)
    trials = search.run().trials
    assert trials.loc[0, "operator"] == "warm_start" and trials.loc[0, "hidden_sizes"] == (12,)


def write_csv(path, n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 100.0]
    labels = np.where(X[:, 0] + X[:, 1] / 10 > 0, "yes", "no")
    lines = ["a;b;c;answer"] + [f"{a:.4f};{b:.4f};{c:.4f};{y}" for (a, b, c), y in zip(X, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_data_through_a_config(tmp_path):
    csv = write_csv(tmp_path / "data.csv")
    text = TINY.replace('name = "digits"', f'name = "csv"\npath = "{csv}"\nlabel = "answer"\nsep = ";"')
    config = load_config(write(tmp_path / "csv.toml", text))
    assert config.dataset.options == {"path": str(csv), "label": "answer", "sep": ";"}
    splits = load_splits(config)
    assert splits.scaling.method == "standard"  # "auto" without a known value range
    assert splits.class_names == ("no", "yes") and splits.X_train.shape[1] == 3
    result = build_search(config, out_dir=tmp_path / "out", quiet=True).run()
    assert (result.trials["status"] == "ok").all() and 0 <= result.test_score <= 1

    fixed = load_config(write(tmp_path / "fixed.toml", text.replace('sep = ";"', 'sep = ";"\nscaling = "fixed"')))
    with pytest.raises(ConfigError, match=r"^dataset\.scaling: 'fixed' needs a known value range and data set "
                                          r"'csv' has none \(use 'minmax' or 'standard'\)$"):
        build_search(fixed)


@pytest.mark.parametrize("dataset, message", [
    ("name = 'csv'\npath = '{missing}'\nlabel = 'y'", r"^dataset\.path: no such file: .*missing\.csv$"),
    ("name = 'csv'\npath = '{csv}'\nlabel = 'label'\nsep = ';'",
     r"^dataset: .*data\.csv: label column 'label' not found; .*columns are: a, b, c, answer$"),
    ("name = 'csv'\npath = '{csv}'\nlabel = 'answer'\nsep = ';'\nnot_a_read_csv_option = 1",
     r"^dataset: .*unexpected keyword argument 'not_a_read_csv_option'$"),
    ("name = 'csv'\npath = '{csv}'\nlabel = 'answer'\nsep = ';'\ntask = 'regression'",
     r"^dataset: .*data\.csv: regression target column 'answer' is not numeric \(dtype \w+\)$"),
    ("name = 'fashion-mnist'\ndata_dir = '{tmp}'", r"^dataset: fashion-mnist: data_dir .* lacks train-images-idx3-ubyte"),
    ("name = 'fashion-mnist'\ndata_dir = '{tmp}/nowhere'", r"^dataset\.data_dir: no such directory: .*nowhere$"),
    ("name = 'xor'", r"^dataset: class '0' \(label 0\) has only 2 samples; each class needs at least 3"),
])
def test_data_problems_are_one_line_config_errors(dataset, message, tmp_path):
    csv = write_csv(tmp_path / "data.csv")
    text = "[dataset]\n" + dataset.format(missing=tmp_path / "missing.csv", csv=csv, tmp=tmp_path)
    config = load_config(write(tmp_path / "bad.toml", text))
    with pytest.raises(ConfigError) as caught:
        build_search(config, quiet=True)
    assert re.search(message, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_overrides_are_checked():
    config = parse_config({"dataset": {"name": "digits"}})
    with pytest.raises(ConfigError, match=r"^seed: must be >= 0, got -1$"):
        apply_overrides(config, seed=-1)
    with pytest.raises(ConfigError, match=r"^parallel\.n_jobs: must not be 0"):
        apply_overrides(config, n_jobs=0)
    changed = apply_overrides(config, out_dir="x", n_jobs=2, seed=4)
    assert (changed.out_dir, changed.parallel.n_jobs, changed.seed, changed.split_seed) == (Path("x"), 2, 4, 4)
    assert apply_overrides(config) == config


def test_a_registered_data_set_is_usable_from_a_config(tmp_path):
    """The README's recipe for adding a data set, end to end."""
    import numpy as np

    from hpsearch.datasets import Dataset, register_dataset

    @register_dataset("moons-test")
    def load_moons(n_samples: int = 1000, noise: float = 0.2, seed: int = 0) -> Dataset:
        from sklearn.datasets import make_moons
        X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
        return Dataset(name="moons-test", X=X.astype(np.float32), y=y, task="classification")

    path = tmp_path / "moons.toml"
    path.write_text("[dataset]\nname = 'moons-test'\nn_samples = 300\n[search]\npopulation = 4\n"
                    "generations = 0\n[parallel]\nn_jobs = 1\n[space.epochs]\nvalue = 2\n"
                    "[space.hidden_sizes]\nvalue = [8]\n")
    result = build_search(load_config(path), out_dir=tmp_path / "out", quiet=True).run()
    # generation 0's 4 genomes, then the final race and the chosen one's 3 confirmation trainings
    phases = result.trials.groupby("generation").size()
    assert phases.iloc[0] == 4 and phases.iloc[-1] == 3 and (result.trials["status"] == "ok").all()
    with pytest.raises(ConfigError, match=r"dataset\.n_sample: unknown option of data set 'moons-test' \(did you mean 'n_samples'\?\)"):
        parse_config({"dataset": {"name": "moons-test", "n_sample": 3}})


def test_holdout_false_uses_every_row_everywhere(tmp_path):
    from hpsearch.config import load_splits

    splits = load_splits(parse_config({"dataset": {"name": "xor", "holdout": False, "scaling": "none"}}))
    assert len(splits.X_train) == len(splits.X_val) == len(splits.X_test) == 4
    np.testing.assert_array_equal(splits.X_val, splits.X_train)
    with pytest.raises(ConfigError, match="dataset.holdout: expected true or false"):
        parse_config({"dataset": {"name": "xor", "holdout": "no"}})
    # Any data set with an official test split (as fashion-mnist has) refuses holdout = false;
    # a small npz file shows it without the Fashion-MNIST files or a network.
    official = tmp_path / "official.npz"
    np.savez(official, X=np.zeros((6, 2)), y=[0, 1] * 3, X_test=np.ones((2, 2)), y_test=[0, 1])
    with pytest.raises(ConfigError, match="official test split; keep holdout = true"):
        load_splits(parse_config({"dataset": {"name": "npz", "path": str(official), "holdout": False}}))
