"""The contestants of the search-quality benchmark (bench_retrain.py, issue 24).

Every method has the same signature:

    METHODS[name](space, objective, budget, seed, batch) -> Choice

and trains only by calling objective(params, training_seed), at most `budget` times: every call
is a training, re-evaluations and pruned partial evaluations included (the benchmark counts the
calls itself and refuses a run that used more, or that reports a different count). `batch` is 1
(one training at a time) or the round size (8): the method proposes up to `batch` trainings
before it hears any of their results, and must fit in ceil(budget / batch) rounds; a round that
trains fewer than `batch` still counts as one.

A Choice is the genome the method hands its user, the score it reports for it (what the tool
shows as the result: Optuna's best_trial.value, SMAC's incumbent cost, hpsearch's best), and
the trainings and rounds it used. What the genome really is worth, the benchmark measures by
training it again with seeds no method used.

Training seeds. `ga`, `ga-v2`, `random` and `tpe` train a genome with trial_seed(seed,
space.key(params)), as hpsearch's search does (the same genome gets the same training in every
one of them). The averaging methods train every genome with the same list of seeds derived from
the run's seed (common random numbers, as a user who writes `for s in range(3)` does): `tpe-mean3`
3 of them, `tpe-wilcoxon` up to 5 (the pruner's paired instances), `smac` the seeds SMAC's
intensifier hands out (shared between its configurations by design).

Failures (a training that diverges or raises) score -inf where a method only ranks (GA, random,
TPE), and FAILED_SCORE where a mean or a statistical test needs a finite value (tpe-mean3 would
accept -inf, but WilcoxonPruner and SMAC's model do not). The objectives here score accuracy.
"""

import math
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

from hpsearch import GeneticSearch, trial_seed
from hpsearch.settings import GA, Budget
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene
from hpsearch.strategies import ModelAssisted, Racing
from hpsearch.trial import run_trial
from search_methods import METHODS as SEARCH_METHODS
from search_methods import _suggest

ROUND = 8  # trainings per round in the parallel mode: one round of 8 parallel trainings
FAILED_SCORE = -1.0  # accuracy lies in [0, 1]
MEAN_OF = 3  # tpe-mean3: trainings per trial
INSTANCES = 5  # tpe-wilcoxon: training seeds per trial at most
# Today's default GA (hpsearch.settings.GA and its "auto" rules with a budget of evaluations),
# spelled out so that `ga-v2` stays this search after the library's default changes.
GA_V2 = {"population": 10, "elitism": 2, "initial_size": 10, "crossover_prob": 0.7, "mutation_prob": 0.4,
         "tournament_size": 3, "selection": "generational", "mutation_indpb": 0.3, "mutation_scale": 0.15,
         "crossover_eta": 15.0}
# Its breeding (GA_V2's surrogate = "trees", initial_design = "latin_hypercube" before issue 23
# moved them out of the GA settings).
GA_V2_BREEDING = ModelAssisted(initial_design="latin_hypercube")


@dataclass(frozen=True)
class Choice:
    method: str
    params: dict  # the genome the method chose
    reported: float  # the score the method reports for it
    trainings: int  # objective calls the method says it made
    rounds: int  # rounds of up to `batch` trainings it used


def rounds_limit(budget, batch):
    return math.ceil(budget / batch)


def _finite(score):
    return score if math.isfinite(score) else FAILED_SCORE


def _seed_list(seed, n):
    """n training seeds derived from the run's seed, the same for every genome of the run."""
    return [trial_seed(seed, ("training", k)) for k in range(n)]


# ------------------------------------------------------------------ hpsearch


def _genetic(method, space, objective, budget, seed, batch, settings, breeding=None, racing=None):
    """GeneticSearch with `settings` and max_evaluations=budget; its own best is the choice.

    In rounds, each generation is a round (8 new genomes; generation 0 takes
    ceil(its size / batch) rounds), so the generations are capped to fit the rounds the budget
    allows. The rounds used are counted from the trials table, so an engine whose generations
    train more than `batch` shows up as a run over the limit, which the benchmark refuses."""
    if batch > 1:
        first = GA(**settings).resolved(Budget(max_evaluations=budget)).initial_size
        # racing's final race and confirmation are generations (rounds) of their own
        final_rounds = 0 if racing is not None and not racing.active else 2
        settings = {**settings, "generations": max(0, rounds_limit(budget, batch) - math.ceil(first / batch)
                                                   - final_rounds)}
    # GA settings as `ga=`, not as keywords: GeneticSearch's keywords also name its other seams
    result = GeneticSearch(space, objective, ga=settings or None, max_evaluations=budget, seed=seed, n_jobs=1,
                           in_process=True, quiet=True, breeding=breeding, racing=racing).run()
    trained = result.trials[~result.trials["cached"].astype(bool)]
    # a training without a generation (if an engine writes one) is a round of its own kind, not lost
    rounds = int(sum(math.ceil(n / batch) for n in trained.groupby("generation", dropna=False).size()))
    # best.json's lists back as the genome's tuples (layer sizes)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in result.best_params.items()}
    return Choice(method, params, float(result.best_score), len(trained), rounds)


def run_ga(space, objective, budget, seed, batch=1):
    """The default of the installed hpsearch: GeneticSearch(space, objective, max_evaluations)."""
    return _genetic("ga", space, objective, budget, seed, batch, {})


def run_ga_v2(space, objective, budget, seed, batch=1):
    """Today's default, fixed (GA_V2)."""
    # one training per genome, the best single one chosen: the default before racing (issue 24)
    return _genetic("ga-v2", space, objective, budget, seed, batch, GA_V2, GA_V2_BREEDING, Racing(noise="none"))


def run_random(space, objective, budget, seed, batch=1):
    """Independent draws from the space; the best single training is chosen and reported."""
    rng = np.random.default_rng(seed)
    best = (-math.inf, None)
    for _ in range(budget):
        params = space.sample(rng)
        fitness = run_trial(objective, params, trial_seed(seed, space.key(params)))["fitness"]
        if fitness > best[0] or best[1] is None:
            best = (fitness, params)
    return Choice("random", dict(best[1]), float(best[0]), budget, rounds_limit(budget, batch))


# ------------------------------------------------------------------ Optuna


def _study(sampler, pruner=None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)


def _tpe(seed, batch):
    import optuna

    # As users run it; with rounds, the running trials count as failures-in-waiting.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=batch > 1)


def _optuna_choice(method, study, space, trainings, rounds):
    best = study.best_trial
    return Choice(method, _suggest(_Fixed(best.params), space), float(best.value), trainings, rounds)


class _Fixed:
    """A finished trial's parameters, replayed through _suggest to rebuild our genome."""

    def __init__(self, values):
        self.values = values

    def __getattr__(self, name):
        if name.startswith("suggest_"):
            return lambda key, *args, **kwargs: self.values[key]
        raise AttributeError(name)


def run_tpe(space, objective, budget, seed, batch=1):
    """Optuna's TPE, one training per trial, best_trial reported (optuna#433: a lucky one)."""
    study, done, rounds = _study(_tpe(seed, batch)), 0, 0
    while done < budget:
        trials = [study.ask() for _ in range(min(batch, budget - done))]  # asked before any is told
        scored = []
        for trial in trials:
            params = _suggest(trial, space)
            scored.append(run_trial(objective, params, trial_seed(seed, space.key(params)))["fitness"])
        for trial, fitness in zip(trials, scored):
            study.tell(trial, fitness)
        done, rounds = done + len(trials), rounds + 1
    return _optuna_choice("tpe", study, space, done, rounds)


def run_tpe_mean3(space, objective, budget, seed, batch=1):
    """TPE whose objective is the mean of MEAN_OF trainings with the same seeds for every trial
    (the Optuna maintainers' advice in optuna#433): MEAN_OF trainings per trial."""
    seeds = _seed_list(seed, MEAN_OF)
    study, done, rounds = _study(_tpe(seed, batch)), 0, 0
    while budget - done >= MEAN_OF:
        trials = [study.ask() for _ in range(min(batch, (budget - done) // MEAN_OF))]
        means = []
        for trial in trials:
            params = _suggest(trial, space)
            means.append(float(np.mean([_finite(run_trial(objective, params, s)["fitness"]) for s in seeds])))
        for trial, mean in zip(trials, means):
            study.tell(trial, mean)
        done += MEAN_OF * len(trials)
        rounds += math.ceil(MEAN_OF * len(trials) / batch)
    return _optuna_choice("tpe-mean3", study, space, done, rounds)


def run_tpe_wilcoxon(space, objective, budget, seed, batch=1):
    """TPE with Optuna's WilcoxonPruner (its defaults) over INSTANCES training seeds per trial,
    each trial in its own seeded random order, reporting each training as the instance's step
    and returning the mean so far when pruned (the pruner's documented use). In rounds, the
    trials of a round train in lockstep, one instance each per round, so a pruned trial's slots
    stay idle. A trial is started only with 3 trainings of budget left (the pruner never prunes
    before its third); the last may be cut short by the budget."""
    import optuna

    seeds = _seed_list(seed, INSTANCES)
    order_rng = np.random.default_rng(seed)
    with warnings.catch_warnings():  # "experimental" since Optuna 3.6; its interface is what we use
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = _study(_tpe(seed, batch), optuna.pruners.WilcoxonPruner())
    limit, done, rounds = rounds_limit(budget, batch), 0, 0
    while budget - done >= 3 and rounds < limit:
        trials = [study.ask() for _ in range(min(batch, (budget - done) // 3))]
        live = [{"trial": trial, "params": _suggest(trial, space), "order": order_rng.permutation(INSTANCES),
                 "scores": [], "pruned": False} for trial in trials]
        for step in range(INSTANCES):
            running = [entry for entry in live if not entry["pruned"]][:budget - done]
            if not running or rounds >= limit:
                break
            for entry in running:
                instance = int(entry["order"][step])
                entry["scores"].append(_finite(run_trial(objective, entry["params"], seeds[instance])["fitness"]))
                entry["trial"].report(entry["scores"][-1], instance)
                entry["pruned"] = entry["trial"].should_prune()
                done += 1
            rounds += 1 if batch > 1 else len(running)
        for entry in live:
            study.tell(entry["trial"], float(np.mean(entry["scores"])))
    return _optuna_choice("tpe-wilcoxon", study, space, done, rounds)


# ------------------------------------------------------------------ SMAC3


def _configspace(space, seed):
    """space as a ConfigSpace: powers of two as their exponent, layers as n_layers plus one
    conditional size per layer beyond the first."""
    from ConfigSpace import Categorical, ConfigurationSpace, Constant, Float, GreaterThanCondition, Integer

    cs, conditions = ConfigurationSpace(seed=seed), []
    for gene in space:
        name = gene.name
        if isinstance(gene, FloatGene):
            cs.add(Float(name, (gene.low, gene.high), log=gene.log))
        elif isinstance(gene, IntGene) and gene.power_of_two:
            cs.add(Integer(f"log2_{name}", (gene.low.bit_length() - 1, gene.high.bit_length() - 1)))
        elif isinstance(gene, IntGene) and gene.step == 1:
            cs.add(Integer(name, (gene.low, gene.high), log=gene.log))
        elif isinstance(gene, CategoricalGene):
            cs.add(Categorical(name, list(gene.choices)))
        elif isinstance(gene, LayersGene):
            depth = Integer(f"{name}_n_layers", (gene.min_layers, gene.max_layers))
            cs.add(depth)
            for i in range(gene.max_layers):
                size = Integer(f"{name}_{i}", (gene.low, gene.high), log=gene.log)
                cs.add(size)
                if i >= gene.min_layers:
                    conditions.append(GreaterThanCondition(size, depth, i))
        elif isinstance(gene, ConstantGene):
            cs.add(Constant(name, str(gene.value)))
        else:
            raise TypeError(f"{name}: no ConfigSpace translation for a {type(gene).__name__}")
    cs.add(conditions)
    return cs


def _genome(space, config):
    values = dict(config)
    params = {}
    for gene in space:
        name = gene.name
        if isinstance(gene, IntGene) and gene.power_of_two:
            params[name] = 2 ** int(values[f"log2_{name}"])
        elif isinstance(gene, LayersGene):
            params[name] = tuple(int(values[f"{name}_{i}"]) for i in range(int(values[f"{name}_n_layers"])))
        elif isinstance(gene, ConstantGene):
            params[name] = gene.value
        elif isinstance(gene, IntGene):
            params[name] = int(values[name])
        elif isinstance(gene, FloatGene):
            params[name] = float(values[name])
        else:  # a category: the gene's own value (ConfigSpace hands back numpy strings)
            params[name] = gene.choices[[str(c) for c in gene.choices].index(str(values[name]))]
    space.validate(params)
    return params


def run_smac(space, objective, budget, seed, batch=1):
    """SMAC3's HyperparameterOptimizationFacade with deterministic=False (its intensifier
    re-runs challengers on up to max_config_calls=3 shared seeds), n_trials = budget, one
    training per SMAC trial. Cost: 1 - score (FAILED_SCORE for failures); reported: 1 - the
    incumbent's cost (its mean over the seeds it ran on). In rounds, `batch` trials are asked
    before any is told."""
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    with tempfile.TemporaryDirectory(prefix="smac-") as out:
        scenario = Scenario(_configspace(space, seed), deterministic=False, n_trials=budget, seed=seed,
                            output_directory=out)
        smac = HyperparameterOptimizationFacade(scenario, target_function=lambda config, seed=0: 0.0,
                                                overwrite=True, logging_level=40)
        done = rounds = 0
        while done < budget:
            infos = [smac.ask() for _ in range(min(batch, budget - done))]
            costs = []
            for info in infos:
                params = _genome(space, info.config)
                fitness = run_trial(objective, params, trial_seed(seed, ("smac", info.seed)))["fitness"]
                costs.append(1.0 - _finite(fitness))
            for info, cost in zip(infos, costs):
                smac.tell(info, TrialValue(cost=cost))
            done, rounds = done + len(infos), rounds + 1
        incumbent = smac.intensifier.get_incumbent()
        reported = 1.0 - float(smac.runhistory.get_cost(incumbent))
        return Choice("smac", _genome(space, incumbent), reported, done, rounds)


# ------------------------------------------------------------------ registry


def _from_search_methods(name):
    """A search_methods contestant (one training per evaluation, serial only) as a Choice:
    its best evaluation, as reported."""
    def run(space, objective, budget, seed, batch=1):
        if batch != 1:
            raise ValueError(f"{name}: runs one training at a time (no rounds)")
        found = SEARCH_METHODS[name](space, objective, budget, seed)
        return Choice(name, dict(found.best_params), float(found.best_fitness), len(found.evaluations),
                      len(found.evaluations))
    return run


METHODS = {"ga": run_ga, "ga-v2": run_ga_v2, "random": run_random, "tpe": run_tpe, "tpe-mean3": run_tpe_mean3,
           "tpe-wilcoxon": run_tpe_wilcoxon, "smac": run_smac}
# Other search_methods contestants that train through the objective (gasearchcv does not).
METHODS.update({name: _from_search_methods(name) for name in SEARCH_METHODS
                if name not in METHODS and name != "gasearchcv"})
DEFAULT_METHODS = ("ga", "ga-v2", "random", "tpe", "tpe-mean3", "tpe-wilcoxon", "smac")
REQUIREMENTS = {"tpe": ["optuna"], "tpe-mean3": ["optuna"], "tpe-wilcoxon": ["optuna", "scipy"],
                "smac": ["smac", "ConfigSpace"], "cmaes": ["optuna", "cmaes"], "nsga2": ["optuna"]}
SERIAL_ONLY = {name for name in METHODS if name not in DEFAULT_METHODS}


def available_methods():
    """(names of the methods that can run here, {skipped name: reason})."""
    import importlib

    available, skipped = [], {}
    for name in METHODS:
        missing = [module for module in REQUIREMENTS.get(name, []) if importlib.util.find_spec(module) is None]
        if missing:
            skipped[name] = f"{', '.join(missing)} not installed; pip install '.[bench]'"
        else:
            available.append(name)
    return available, skipped
