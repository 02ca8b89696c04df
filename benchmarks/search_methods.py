"""Adapters that run other search tools on exactly our objective, for a side-by-side benchmark.

Every method has the same signature and return value:

    run_<method>(space, objective, n_evaluations, seed) -> MethodRun

space: an hpsearch Space; objective: an hpsearch MLPObjective (or any objective(params, seed)
-> metrics dict with "fitness"; run_gasearchcv needs the MLPObjective's data). Every method
but gasearchcv calls the objective as objective(params, shared_seed(seed, 0)), as our GA
trains a genome's first training, so identical parameters give identical fitness in every method.

Budget: n_evaluations objective calls (trainings). hpsearch's GA and random search and the
Optuna samplers make exactly that many; GASearchCV cannot be stopped inside a generation, so its
population and generations are chosen to make at most n_evaluations calls, and its cache skips
repeated individuals: it may train fewer (see run_gasearchcv). Each run reports what it did.

Failures (a training that diverges, times out or raises): fitness -inf in `evaluations`, as in
our GA. They count against the budget. Optuna is told -inf too (a COMPLETE trial, not
TrialState.FAIL): its samplers rank trials, so -inf puts a failure below every real result, and
they learn to avoid the region, where a FAIL trial would be ignored and the region proposed
again. GASearchCV is told -1.0 (accuracy lies in [0, 1]).

Timing: "elapsed" is taken at the end of each evaluation and counts from the method's start,
so it includes the tool's own overhead. Every training runs with one BLAS thread, as in our
search (its default blas_threads=1).

`available_methods()` says which methods can run here and why the others cannot.
"""

import importlib
import math
import random
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from hpsearch import GeneticSearch
from hpsearch.mlp import MLP_DEFAULTS
from hpsearch.noise import shared_seed
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from hpsearch.strategies import CMAES, GeneticBreeding, RandomSearch
from hpsearch.strategies.racing import Racing
from hpsearch.trial import run_trial
from netcore import MLPClassifier


@dataclass
class MethodRun:
    method: str
    # One per evaluation, in the order they finished: {"evaluation": 1-based, "fitness" (-inf
    # for failures), "elapsed": seconds since the method started, "params": our genome}.
    evaluations: list[dict]
    best_params: dict  # genome of the best evaluation (the first one, on ties)
    best_fitness: float
    seconds: float  # total wall time
    # Evaluations the tool asked for, repeats included: more than len(evaluations) where a
    # cache answered repeated params without training (our GA, GASearchCV).
    calls: int = 0


class _EvaluationLog:
    """Collects the evaluations of one run and turns them into a MethodRun."""

    def __init__(self, method):
        self.method = method
        self.start = time.perf_counter()
        self.evaluations = []

    def record(self, params, fitness, finished_at=None):
        finished_at = time.perf_counter() if finished_at is None else finished_at
        self.evaluations.append({"evaluation": len(self.evaluations) + 1, "fitness": float(fitness),
                                 "elapsed": finished_at - self.start, "params": dict(params)})

    def result(self, calls=None):
        seconds = time.perf_counter() - self.start
        if not self.evaluations:
            raise RuntimeError(f"{self.method}: made no evaluation")
        # max() keeps the first of equal fitnesses; if every evaluation failed, that is the first.
        best = max(self.evaluations, key=lambda e: e["fitness"])
        return MethodRun(method=self.method, evaluations=self.evaluations,
                         best_params=best["params"], best_fitness=best["fitness"], seconds=seconds,
                         calls=len(self.evaluations) if calls is None else calls)


# ------------------------------------------------------------------ hpsearch's own engine


class _TimedObjective:
    """The objective, noting the params and end time of every call.

    GeneticSearch with n_jobs=1 and in_process=True calls its objective in this process, one
    trial at a time and in trial order, so a plain list sees every training. Only the space
    checks are passed on: without test_score, the search skips retraining its best on the test
    split when it ends (the benchmark scores every method's best itself).
    """

    def __init__(self, objective):
        self.objective = objective
        self.calls = []  # (params, perf_counter at the end of the call)

    def __call__(self, params, seed):
        try:
            return self.objective(params, seed)
        finally:
            self.calls.append((dict(params), time.perf_counter()))

    def check_params(self, names):
        if hasattr(self.objective, "check_params"):
            self.objective.check_params(names)

    def check_space(self, space):
        if hasattr(self.objective, "check_space"):
            self.objective.check_space(space)
        else:
            self.check_params(space.names)


# The plain GA's settings tuned with benchmarks/tune_ga.py at 60 evaluations, mean over seeds
# 0-4 and 100-104, and checked on the unseen seeds 200-204 (benchmarks/README.md): a small
# population bred from the best half of an oversampled first generation, binary tournaments.
TUNED_GA = {"population": 8, "initial_size": 16, "tournament_size": 2, "breeding": GeneticBreeding()}
# The GA as it was before the model-assisted default: independent draws, no model.
PLAIN_GA = {"population": 10, "breeding": GeneticBreeding()}


def _run_hpsearch(method, space, objective, n_evaluations, seed, **settings):
    log = _EvaluationLog(method)
    timed = _TimedObjective(objective)
    # max_evaluations counts trainings only (a repeated genome is a cache hit, not a training);
    # with it, no generations limit applies unless one is given.
    # One training per genome (noise "none"): this benchmark compares the best score found at
    # equal evaluations; bench_retrain.py judges the chosen genome retrained, racing included.
    settings = {"racing": Racing(noise="none"), **settings}
    result = GeneticSearch(space, timed, max_evaluations=n_evaluations, seed=seed, n_jobs=1, in_process=True,
                           quiet=True, **settings).run()
    # The fitness comes from the trials table, which applies run_trial's rules (an exception
    # or a non-ok status has no score: NaN there, -inf here); its non-cached rows are the calls,
    # in the same order.
    trained = result.trials[~result.trials["cached"].astype(bool)]
    if len(trained) != len(timed.calls):
        raise RuntimeError(f"{method}: {len(trained)} trained trials, "
                           f"{len(timed.calls)} objective calls")
    for fitness, (params, finished_at) in zip(trained["fitness"].fillna(-math.inf), timed.calls):
        log.record(params, fitness, finished_at)
    return log.result(calls=len(result.trials))


def run_ga(space, objective, n_evaluations, seed):
    """hpsearch's default search, as a user gets it with only a budget: the model-assisted GA
    with population and generation 0 following max_evaluations."""
    return _run_hpsearch("ga", space, objective, n_evaluations, seed)


def run_ga_plain(space, objective, n_evaluations, seed):
    """The GA before the model-assisted default (PLAIN_GA: population 10, no model)."""
    return _run_hpsearch("ga-plain", space, objective, n_evaluations, seed, **PLAIN_GA)


def run_ga_tuned(space, objective, n_evaluations, seed):
    """hpsearch's genetic algorithm with TUNED_GA."""
    return _run_hpsearch("ga-tuned", space, objective, n_evaluations, seed, **TUNED_GA)


def run_random(space, objective, n_evaluations, seed, population=10):
    """Random search through the same machinery (every generation sampled afresh)."""
    return _run_hpsearch("random", space, objective, n_evaluations, seed, population=population,
                         breeding=RandomSearch())


def run_ga_cmaes(space, objective, n_evaluations, seed):
    """hpsearch with its CMA-ES breeding (strategies.CMAES: CMA-ES over the numeric genes,
    the GA's children for the others), settings following the budget as the default's."""
    return _run_hpsearch("ga-cmaes", space, objective, n_evaluations, seed, breeding=CMAES())


# ------------------------------------------------------------------ Optuna


def _suggest(trial, space):
    """A genome of `space` from Optuna suggestions.

    Optuna parameter names are the gene names, except: a power-of-two int is searched over its
    exponent as "log2_<name>" (2**e is our uniform-over-exponents prior); a layers gene is
    "<name>_n_layers" and one "<name>_<i>" per layer. The layer sizes beyond the first
    min_layers are conditional parameters, present only in trials deep enough: TPE models them
    per parameter; CMA-ES and NSGA-II sample them at random (see run_cmaes, run_nsga2).
    """
    params = {}
    for gene in space:
        name = gene.name
        if isinstance(gene, FloatGene):
            params[name] = float(trial.suggest_float(name, gene.low, gene.high, log=gene.log))
        elif isinstance(gene, IntGene) and gene.power_of_two:
            exponent = trial.suggest_int(f"log2_{name}", gene.low.bit_length() - 1,
                                         gene.high.bit_length() - 1)
            params[name] = 2**exponent
        elif isinstance(gene, IntGene) and gene.log and gene.step > 1:
            # Optuna has no log-scaled int with a step; sample the log scale and round onto the
            # grid, which is how IntGene itself samples.
            value = trial.suggest_float(name, gene.low, gene.grid_high, log=True)
            params[name] = gene.decode(gene.encode(value))
        elif isinstance(gene, IntGene):
            params[name] = trial.suggest_int(name, gene.low, gene.grid_high, step=gene.step,
                                             log=gene.log)
        elif isinstance(gene, CategoricalGene):
            params[name] = trial.suggest_categorical(name, gene.choices)
        elif isinstance(gene, LayersGene):
            depth = trial.suggest_int(f"{name}_n_layers", gene.min_layers, gene.max_layers)
            params[name] = tuple(trial.suggest_int(f"{name}_{i}", gene.low, gene.high, log=gene.log)
                                 for i in range(depth))
        elif isinstance(gene, ConstantGene):
            params[name] = gene.value
        else:
            raise TypeError(f"{name}: no Optuna translation for a {type(gene).__name__}")
    space.validate(params)
    return params


def _run_optuna(method, sampler, space, objective, n_evaluations, seed):
    import optuna

    log = _EvaluationLog(method)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
    try:
        study = optuna.create_study(sampler=sampler, direction="maximize")  # in memory
        # Ask and tell, one trial per objective call: exactly n_evaluations trainings.
        for _ in range(n_evaluations):
            trial = study.ask()
            params = _suggest(trial, space)
            # run_trial is what our search runs every trial through: one BLAS thread, and an
            # exception, a non-ok status or a non-finite fitness all become fitness -inf.
            outcome = run_trial(objective, params, shared_seed(seed, 0))
            log.record(params, outcome["fitness"])
            study.tell(trial, outcome["fitness"])  # -inf for failures: see the module docstring
    finally:
        optuna.logging.set_verbosity(verbosity)
    return log.result()


def run_tpe(space, objective, n_evaluations, seed):
    """Optuna's TPE (its defaults: 10 random startup trials, then the Parzen estimators)."""
    import optuna

    return _run_optuna("tpe", optuna.samplers.TPESampler(seed=seed), space, objective,
                       n_evaluations, seed)


def run_cmaes(space, objective, n_evaluations, seed):
    """Optuna's CMA-ES (needs the `cmaes` package).

    CMA-ES only handles the numeric parameters that every trial has: categorical genes and the
    conditional layer sizes (beyond min_layers) are sampled independently, at random, with
    Optuna's warning about that switched off. A space of categoricals only is random search.
    """
    import optuna

    sampler = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return _run_optuna("cmaes", sampler, space, objective, n_evaluations, seed)


def run_nsga2(space, objective, n_evaluations, seed, population=10):
    """Optuna's NSGA-II on our single objective (non-dominated sorting is then plain ranking).

    population: its population_size, the same as our GA's by default (Optuna's own default of 50
    would make a 150-evaluation run mostly random sampling). Parameters missing from some trials
    (the conditional layer sizes) are sampled independently, at random.
    """
    import optuna

    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    return _run_optuna("nsga2", sampler, space, objective, n_evaluations, seed)


# ------------------------------------------------------------------ sklearn-genetic-opt

# What GASearchCV is told for a failed training; accuracy lies in [0, 1].
GASEARCH_FAILED_SCORE = -1.0


class LayersMLPClassifier(MLPClassifier):
    """netcore's MLPClassifier with its hidden layers given as n_layers layers of `width` units,
    because GASearchCV's param_grid has no variable-length parameter. `width` may be a float
    (a log-uniform Continuous) and is rounded. n_layers=None keeps hidden_sizes.

    A training that raises is recorded as status_ "failed" instead of raising: with a single
    validation split, scikit-learn's cross_validate raises when its only fit fails, which would
    end the whole search. The benchmark's scorer gives non-ok trainings GASEARCH_FAILED_SCORE.
    """

    def __init__(self, n_layers=None, width=100, hidden_sizes=(100,), activation="relu",
                 init="he_uniform", learning_rate=0.01, momentum=0.9, nesterov=False,
                 batch_size=32, epochs=50, weight_decay=0.0, lr_schedule="constant",
                 early_stopping=False, validation_fraction=0.1, patience=5, time_budget=None,
                 dtype="float32", random_state=None):
        super().__init__(hidden_sizes=hidden_sizes, activation=activation, init=init,
                         learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
                         batch_size=batch_size, epochs=epochs, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         time_budget=time_budget, dtype=dtype, random_state=random_state)
        self.n_layers = n_layers
        self.width = width

    def _hidden_sizes(self):
        if self.n_layers is None:
            return super()._hidden_sizes()
        return (int(round(self.width)),) * int(self.n_layers)

    def fit(self, X, y):
        try:
            with warnings.catch_warnings():
                # A diverged training warns; here it is an expected outcome, scored as a failure.
                warnings.simplefilter("ignore", ConvergenceWarning)
                super().fit(X, y)
        except Exception as error:  # an invalid setting or a bug: this trial fails, not the search
            self.status_, self.reason_ = "failed", f"{type(error).__name__}: {error}"
        return self


class _RecordingScorer:
    """GASearchCV's scoring: validation accuracy, GASEARCH_FAILED_SCORE for a failed training,
    and a record of each scored training (our genome, fitness, time) in the evaluation log.

    It runs once per training, right after it (a cached individual is neither trained nor
    scored), so the log sees every training in order.
    """

    def __init__(self, space, log):
        self.space = space
        self.log = log

    def __call__(self, estimator, X, y):
        # Our objective's status rule: a diverged or timed-out training is a failure.
        failed = getattr(estimator, "status_", "failed") in ("failed", "diverged", "time_budget")
        score = GASEARCH_FAILED_SCORE if failed else float(np.mean(estimator.predict(X) == y))
        self.log.record(_genome_from_estimator(self.space, estimator.get_params()),
                        -math.inf if failed else score)
        return score


def _gasearch_grid(space):
    """(param_grid, fixed estimator params) for `space`.

    Floats are Continuous (log-uniform for log genes). Ints are Integer, except power-of-two,
    stepped and log ints, which are a Categorical of their grid (GASearchCV's Integer is uniform
    only; its mutation resamples and its crossover swaps whole values, so a Categorical over the
    grid searches the same way; for power-of-two and stepped ints that is also our prior, for
    log ints the prior becomes uniform over the grid). A layers gene becomes n_layers (Integer)
    and one width for every layer (Continuous log-uniform for log genes, else Integer).
    """
    from sklearn_genetic.space import Categorical, Continuous, Integer

    grid, fixed = {}, {}
    for gene in space:
        name = gene.name
        if isinstance(gene, FloatGene):
            distribution = "log-uniform" if gene.log else "uniform"
            grid[name] = Continuous(gene.low, gene.high, distribution=distribution)
        elif isinstance(gene, IntGene) and (gene.power_of_two or gene.step > 1 or gene.log):
            values = ([gene.low << i for i in range(gene.grid_size)] if gene.power_of_two
                      else list(range(gene.low, gene.grid_high + 1, gene.step)))
            grid[name] = Categorical(values)
        elif isinstance(gene, IntGene):
            grid[name] = Integer(gene.low, gene.high)
        elif isinstance(gene, CategoricalGene):
            if len(gene.choices) > 1:
                grid[name] = Categorical(list(gene.choices))
            else:
                fixed[name] = gene.choices[0]
        elif isinstance(gene, LayersGene):
            if gene.max_layers > gene.min_layers:
                grid["n_layers"] = Integer(gene.min_layers, gene.max_layers)
            else:
                fixed["n_layers"] = gene.min_layers
            if gene.high > gene.low:
                grid["width"] = (Continuous(gene.low, gene.high, distribution="log-uniform")
                                 if gene.log else Integer(gene.low, gene.high))
            else:
                fixed["width"] = gene.low
        elif isinstance(gene, ConstantGene):
            fixed[name] = gene.value
        else:
            raise TypeError(f"{name}: no GASearchCV translation for a {type(gene).__name__}")
    return grid, fixed


def _genome_from_estimator(space, params):
    """Our genome from the estimator's parameters (numpy scalars become Python ones)."""
    genome = {}
    for gene in space:
        value = params.get(gene.name)
        if isinstance(gene, FloatGene):
            genome[gene.name] = min(max(float(value), gene.low), gene.high)
        elif isinstance(gene, IntGene):
            genome[gene.name] = int(value)
        elif isinstance(gene, CategoricalGene):
            genome[gene.name] = gene.choices[gene.index(value)]
        elif isinstance(gene, LayersGene):
            genome[gene.name] = (int(round(params["width"])),) * int(params["n_layers"])
        else:
            genome[gene.name] = gene.value
    space.validate(genome)
    return genome


def _labels(Y):
    """Class labels from the objective's targets: one-hot rows, or one 0/1 column (binary)."""
    return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)


def _gasearch_size(n_evaluations, population):
    """(population_size, generations) for about n_evaluations calls, never more.

    GASearchCV's default algorithm, eaMuPlusLambda, evaluates the population_size initial
    individuals, then lambda = 2 * population_size offspring per generation; with its default
    crossover (0.2) and mutation (0.8) probabilities adding up to 1 every offspring is new, so it
    makes exactly population_size * (1 + 2 * generations) calls (its cache then skips repeated
    individuals: fewer trainings). Crossover needs at least 2 individuals.
    """
    generations = max(0, math.floor((n_evaluations / population - 1) / 2 + 0.5))
    population_size = n_evaluations // (1 + 2 * generations)
    if generations > 0 and population_size < 2:
        generations, population_size = 0, n_evaluations
    return population_size, generations


def run_gasearchcv(space, objective, n_evaluations, seed, population=10):
    """sklearn-genetic-opt's GASearchCV tuning netcore's MLPClassifier (LayersMLPClassifier).

    Restrictions, all from what GASearchCV can express:
    - one width for every hidden layer (n_layers x width), not one size per layer;
    - no cross-validation: a PredefinedSplit trains on the objective's training split and scores
      accuracy on its validation split, as our objective does (classification with the accuracy
      metric only; the objective's time budget is passed on, its early stopping is not);
    - trainings are seeded with random_state=seed, the same for every setting, not with
      trial_seed: the same parameters train differently here than in the other methods;
    - the budget is population_size * (1 + 2 * generations) <= n_evaluations calls, fewer
      trainings when its cache hits (see _gasearch_size); `evaluations` holds the trainings;
    - it draws from the global `random` and `numpy.random` states (DEAP's operators, scipy's
      samplers): they are seeded with `seed` for the run and restored afterwards.
    population: the target population size (our GA's by default); see _gasearch_size.
    """
    from deap import creator
    from sklearn.model_selection import PredefinedSplit
    from sklearn_genetic import GASearchCV
    from threadpoolctl import threadpool_limits

    task, metric = getattr(objective, "task", None), getattr(objective, "metric", None)
    if (task, metric) != ("classification", "accuracy"):
        raise ValueError("run_gasearchcv needs a classification MLPObjective scored by accuracy")
    log = _EvaluationLog("gasearchcv")
    data = objective.data
    X = np.concatenate([data["X_train"], data["X_val"]])
    y = np.concatenate([_labels(data["Y_train"]), _labels(data["Y_val"])])
    # -1: always in the training part; 0: the one validation fold.
    test_fold = np.concatenate([np.full(len(data["X_train"]), -1),
                                np.zeros(len(data["X_val"]), dtype=int)])
    population_size, generations = _gasearch_size(n_evaluations, population)

    saved_states = random.getstate(), np.random.get_state()
    try:
        grid, fixed = _gasearch_grid(space)
        # Hyperparameters outside the space take our objective's defaults, not the estimator's.
        estimator = LayersMLPClassifier(**{**MLP_DEFAULTS, **fixed, "random_state": seed,
                                           "time_budget": objective.time_budget})
        search = GASearchCV(estimator, cv=PredefinedSplit(test_fold), param_grid=grid,
                            scoring=_RecordingScorer(space, log), population_size=population_size,
                            generations=generations, refit=False, n_jobs=1, verbose=False,
                            error_score="raise", return_train_score=False)
        # GASearchCV hands everything but return_train_score to BaseSearchCV.__init__, which
        # then sets it to its own default, True: every evaluation would also score (predict)
        # the whole training split, work the other methods do not do.
        search.return_train_score = False
        # Seeded only now: building the grid reseeds `random` from the OS (Categorical()).
        random.seed(seed)
        np.random.seed(seed)
        with threadpool_limits(limits=1, user_api="blas"):
            search.fit(X, y)
    except BaseException:
        # fit deletes its DEAP classes only when it finishes; left behind, the next run's
        # creator.create would warn that it overwrites them.
        for name in ("FitnessMax", "Individual"):
            if hasattr(creator, name):
                delattr(creator, name)
        raise
    finally:
        random.setstate(saved_states[0])
        np.random.set_state(saved_states[1])

    # Its logbook has one entry per call; a cached individual's entry repeats the index of the
    # entry it was first evaluated under, so the trainings are the entries whose index is their
    # position.
    entries = search.logbook.chapters["parameters"]
    fresh = [entry for position, entry in enumerate(entries) if entry["index"] == position]
    if len(fresh) != len(log.evaluations):
        raise RuntimeError(f"gasearchcv: {len(fresh)} trainings in its logbook, "
                           f"{len(log.evaluations)} scored")
    return log.result(calls=len(entries))


# ------------------------------------------------------------------ registry

METHODS = {"ga": run_ga, "ga-plain": run_ga_plain, "ga-tuned": run_ga_tuned, "random": run_random,
           "ga-cmaes": run_ga_cmaes, "tpe": run_tpe, "cmaes": run_cmaes, "nsga2": run_nsga2,
           "gasearchcv": run_gasearchcv}
# Methods whose settings follow the budget: each budget is a run of its own (for the others,
# the best after k evaluations is read off one longer run).
BUDGET_AWARE = {"ga", "ga-cmaes"}

# The modules each method imports; all come with the `bench` extra.
REQUIREMENTS = {"ga": [], "ga-plain": [], "ga-tuned": [], "random": [], "ga-cmaes": ["cmaes"], "tpe": ["optuna"],
                "cmaes": ["optuna", "cmaes"], "nsga2": ["optuna"], "gasearchcv": ["sklearn_genetic"]}


def available_methods():
    """(names of the methods that can run here, {skipped name: reason})."""
    available, skipped = [], {}
    for name in METHODS:
        for module in REQUIREMENTS[name]:
            try:
                importlib.import_module(module)
            except ImportError:
                skipped[name] = f"{module} not installed; pip install '.[bench]'"
                break
        else:
            available.append(name)
    return available, skipped
