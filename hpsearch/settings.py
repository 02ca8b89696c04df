"""The settings of a search: small frozen dataclasses that check themselves.

One home for every default. The Python API and the TOML config build the same objects
(config.toml's [search], [budget] and [parallel] tables are their fields), so a rule is
written once and a bad value gets the same one-line message whichever way it came in:

    GeneticSearch(space, objective, ga=GA(population=8), budget=Budget(max_evaluations=60))
    GeneticSearch(space, objective, population=8, max_evaluations=60)   # the same search

Fidelity (multi-fidelity evaluation) is the same kind of object and lives in fidelity.py,
next to the rules it parameterises.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import checks
from .numerics import MODES
from .pareto import check_objectives

SELECTIONS = ("generational", "mu_plus_lambda")
# Which way a single-objective search's fitness is better (GeneticSearch's `direction`; the
# first is the default).
DIRECTIONS = ("maximize", "minimize")
# The budget-aware default (GA's docstring): offspring trained per generation, one round of 8
# parallel trainings.
AUTO_OFFSPRING = 8
# joblib's process and thread backends, or a Dask cluster (hpsearch.evaluate, hpsearch.cluster).
BACKENDS = ("loky", "threading", "dask")
# A Dask scheduler address as `dask scheduler` prints it: tcp://10.0.0.5:8786, tls://host:8786.
SCHEDULER_ADDRESS = re.compile(r"[a-z]+://(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):\d+")


def _optional(check, name: str, value: Any, *args: Any, **options: Any) -> Any:
    return None if value is None else check(name, value, *args, **options)


@dataclass(frozen=True)
class GA:
    """The genetic algorithm's own knobs: population, operators, selection. Which genomes
    are proposed for training is the breeding strategy's choice (GeneticSearch's
    `breeding`, hpsearch.strategies), which uses these operators or not.

    A frozen dataclass: each value is checked when it is made (a ValueError names the
    field), and the [search] table of a TOML config reads into it.

    Attributes:
        population: genomes per generation. None (the default) follows the budget: with
            max_evaluations, AUTO_OFFSPRING + elitism, so that every generation trains
            AUTO_OFFSPRING trainings (one round of 8 parallel trainings: new genomes, and
            with racing its race trainings among them); otherwise 16.
        generations: breeding generations after generation 0 (DEAP's ngen); a budget too.
            None: no limit when max_evaluations, max_training_epochs or time_limit is set,
            else 10.
        crossover_prob: the chance that a pair of parents is recombined.
        mutation_prob: the chance that a child is mutated.
        tournament_size: genomes per selection tournament.
        elitism: the best genomes seen so far that go on unchanged ("generational").
        selection: "generational" (the `elitism` best plus offspring) or "mu_plus_lambda"
            (the best of parents and offspring together).
        mutation_indpb: the chance that each gene of a mutated child changes.
        mutation_scale: a numeric gene's mutation step, as a share of its (encoded) range.
        crossover_eta: the distribution index of the numeric genes' simulated binary
            crossover (larger: children closer to their parents).
        initial_size: genomes in generation 0, of which the best `population` go on (None:
            the population; with the model, a larger generation 0 only delays its first
            screening).
        objectives: () for the single-objective GA on fitness, or two or more names of
            hpsearch.pareto.OBJECTIVES for NSGA-II.
        warm_start: genomes (dicts of every gene) to put into generation 0, before the ones
            the breeding samples; at most initial_size of them.
    """

    population: int | None = None
    generations: int | None = None
    crossover_prob: float = 0.7
    mutation_prob: float = 0.4
    tournament_size: int = 3
    elitism: int = 2
    selection: str = "generational"
    mutation_indpb: float = 0.3
    mutation_scale: float = 0.15
    crossover_eta: float = 15.0
    initial_size: int | None = None
    objectives: tuple[str, ...] = ()
    warm_start: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        population = _optional(checks.integer, "population", self.population, 2, maximum=checks.MAX_POPULATION)
        _optional(checks.integer, "generations", self.generations, 0)
        checks.in_range("crossover_prob", self.crossover_prob, 0, 1)
        checks.in_range("mutation_prob", self.mutation_prob, 0, 1)
        checks.integer("tournament_size", self.tournament_size, minimum=1, maximum=checks.MAX_POPULATION)
        # An automatic population (None) is checked against these once resolved().
        if checks.integer("elitism", self.elitism, minimum=0) >= (population or math.inf):
            raise ValueError(f"elitism: must be < population ({population}), got {self.elitism}")
        checks.choice("selection", self.selection, SELECTIONS)
        checks.in_range("mutation_indpb", self.mutation_indpb, 0, 1, "(]")
        checks.positive("mutation_scale", self.mutation_scale)
        checks.positive("crossover_eta", self.crossover_eta)
        initial_size = _optional(checks.integer, "initial_size", self.initial_size, 1,
                                 maximum=checks.MAX_POPULATION)
        if initial_size is not None and initial_size < (population or 0):
            raise ValueError(f"initial_size: must be >= population ({population}), got {initial_size}")
        try:
            objectives = check_objectives(self.objectives) or ()
        except ValueError as error:
            raise ValueError(f"objectives: {error}") from None
        object.__setattr__(self, "objectives", objectives)
        genomes = self.warm_start
        if not isinstance(genomes, (list, tuple)) or not all(isinstance(g, Mapping) for g in genomes):
            raise ValueError(f"warm_start: expected a list of genome dicts, got {checks.show(genomes)}")
        object.__setattr__(self, "warm_start", tuple(dict(genome) for genome in genomes))

    def resolved(self, budget: Budget) -> GA:
        """These settings with every "auto" (and None) replaced by what it means under
        `budget` (the rules are in the class docstring)."""
        population = self.population
        if population is None:
            population = AUTO_OFFSPRING + self.elitism if budget.max_evaluations else 16
            if population > checks.MAX_POPULATION:
                raise ValueError(f"elitism: must be <= {checks.MAX_POPULATION - AUTO_OFFSPRING} with an automatic "
                                 f"population ({AUTO_OFFSPRING} + elitism), got {self.elitism}")
        initial_size = population if self.initial_size is None else self.initial_size
        generations = self.generations
        if generations is None and not (budget.max_evaluations or budget.max_training_epochs or budget.time_limit):
            generations = 10
        return dataclasses.replace(self, population=population, initial_size=initial_size,
                                   generations=generations)

    @property
    def generation_0_size(self) -> int:
        """Genomes in generation 0 (of resolved settings)."""
        return self.initial_size or self.population or 0

    def check_warm_start(self, count: int) -> None:
        if count > self.generation_0_size:
            raise ValueError(f"warm_start: {count} genomes exceed the initial population size "
                             f"({self.generation_0_size})")


@dataclass(frozen=True)
class Budget:
    """What ends a search; any budget that is set can (generations is GA.generations).

    Each training is charged its epochs up front, so neither max_evaluations nor
    max_training_epochs is ever exceeded. None: no such budget. The [budget] table of a TOML
    config reads into it.

    Attributes:
        max_evaluations: trainings in all.
        max_training_epochs: epochs trained, summed over the trainings.
        time_limit: seconds of search.
        patience: generations without improvement of the best fitness.
        target_fitness: a fitness to reach.
    """

    max_evaluations: int | None = None
    max_training_epochs: int | None = None
    time_limit: float | None = None
    patience: int | None = None
    target_fitness: float | None = None

    def __post_init__(self) -> None:
        _optional(checks.integer, "max_evaluations", self.max_evaluations, 1)
        _optional(checks.integer, "max_training_epochs", self.max_training_epochs, 1)
        _optional(checks.positive, "time_limit", self.time_limit, maximum=checks.MAX_SECONDS)
        _optional(checks.integer, "patience", self.patience, 1)
        _optional(checks.number, "target_fitness", self.target_fitness)


@dataclass(frozen=True)
class Parallel:
    """Where and how trials run; none of it changes the results (numerics only their last
    bits, and only on some CPUs), so a search may resume under other parallel settings. The
    [parallel] table of a TOML config reads into it.

    Attributes:
        n_jobs: trials at once (-1: every core).
        timeout: seconds one trial may take (None: no limit).
        blas_threads: BLAS threads per trial.
        backend: "loky" (worker processes), "threading", or "dask" with `scheduler`.
        scheduler: with backend "dask": an address like "tcp://host:8786", or "local" for an
            in-process LocalCluster of n_jobs workers (the default).
        in_process: with backend "loky" and one job (n_jobs = 1, or -1 on a one-core
            machine), run the trials in the search's own process rather than in one worker
            process: under a millisecond less per trial (and no worker to start, about a
            second once), but an objective that raises KeyboardInterrupt, calls os._exit,
            crashes (a segfault) or is killed for memory then ends the whole search. False
            (the default) isolates every trial: nothing an objective does ends the search,
            it fails that trial. No effect with several jobs (always worker processes), with
            "threading" (always this process: threads cannot be isolated, though an
            objective's exceptions, even SystemExit, still only fail its trial) or with
            "dask" (worker processes).
        numerics: "native" (the default): each process computes with its CPU's fastest
            kernels, so trainings are identical on machines whose kernels match
            (hpsearch.numerics); "portable": every worker process computes with the same
            kernels on any x86-64 CPU with AVX2 and FMA, so a laptop, a server and a mixed
            Dask cluster give the same trials, at some cost in training speed
            (benchmarks/bench_numerics.py).
    """

    n_jobs: int = -1
    timeout: float | None = None
    blas_threads: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    in_process: bool = False
    numerics: str = "native"

    def __post_init__(self) -> None:
        if checks.integer("n_jobs", self.n_jobs, minimum=-checks.MAX_WORKERS, maximum=checks.MAX_WORKERS) == 0:
            raise ValueError("n_jobs: must not be 0 (-1 = all cores), got 0")
        # signal.setitimer overflows past about 1e10 s: every trial would fail.
        _optional(checks.positive, "timeout", self.timeout, maximum=checks.MAX_SECONDS)
        checks.integer("blas_threads", self.blas_threads, minimum=1, maximum=checks.MAX_WORKERS)
        checks.choice("backend", self.backend, BACKENDS)
        checks.boolean("in_process", self.in_process)
        checks.choice("numerics", self.numerics, MODES)
        if self.backend == "dask" and importlib.util.find_spec("distributed") is None:
            raise ValueError("backend: 'dask' needs dask.distributed, which is not installed "
                             "(pip install 'hpsearch[dask]')")
        if self.backend != "dask":
            if self.scheduler is not None:
                raise ValueError(f"scheduler: only used with backend = 'dask', not {self.backend!r}")
            return
        scheduler = "local" if self.scheduler is None else checks.string("scheduler", self.scheduler)
        if scheduler != "local" and not SCHEDULER_ADDRESS.fullmatch(scheduler):
            raise ValueError(f"scheduler: expected 'local' or an address like 'tcp://host:8786', "
                             f"got {scheduler!r}")
        object.__setattr__(self, "scheduler", scheduler)


@dataclass(frozen=True)
class PBT:
    """Population-based training: `population` members train side by side for `steps`
    rounds of `epochs_per_step` epochs; after each, the bottom `quantile` copy the top
    `quantile` and explore with the GA's mutation (mutation_indpb, mutation_scale).

    Attributes:
        population: members trained side by side.
        steps: rounds of training, exploiting and exploring.
        epochs_per_step: epochs each member trains per step.
        quantile: the share of members at the bottom that copy one at the top.
        mutation_indpb: the chance that each gene of a copied member changes.
        mutation_scale: a numeric gene's mutation step, as a share of its (encoded) range.
    """

    population: int = 8
    steps: int = 10
    epochs_per_step: int = 2
    quantile: float = 0.25
    mutation_indpb: float = 0.3
    mutation_scale: float = 0.15

    def __post_init__(self) -> None:
        checks.integer("population", self.population, minimum=2, maximum=checks.MAX_POPULATION)
        checks.integer("steps", self.steps, minimum=1)
        checks.integer("epochs_per_step", self.epochs_per_step, minimum=1, maximum=checks.MAX_EPOCHS)
        if self.total_epochs > checks.MAX_EPOCHS:  # each member's training, as one run's epochs
            raise ValueError(f"steps: steps x epochs_per_step must be <= {checks.MAX_EPOCHS} epochs, "
                             f"got {self.steps} x {self.epochs_per_step}")
        checks.in_range("quantile", self.quantile, 0, 0.5, "(]")
        checks.in_range("mutation_indpb", self.mutation_indpb, 0, 1, "(]")
        checks.positive("mutation_scale", self.mutation_scale)

    @property
    def total_epochs(self) -> int:
        return self.steps * self.epochs_per_step


# Keywords that moved out of GA when breeding became a strategy of its own (issue 23), and
# where they went: refused with this hint rather than kept as silent aliases.
MOVED = {
    "surrogate": "breeding=hpsearch.strategies.ModelAssisted() (was 'trees') or GeneticBreeding() (was 'none')",
    "algorithm": "breeding=hpsearch.strategies.RandomSearch() (was 'random') or GeneticBreeding() (was 'ga')",
    "initial_design": "the breeding's own, e.g. breeding=hpsearch.strategies.ModelAssisted(initial_design='random')",
}


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def gather(groups: dict[str, tuple[type, Any]], flat: dict[str, Any]) -> dict[str, Any]:
    """Settings objects from objects given whole and fields given one by one.

    groups: {argument name: (settings class, the object given or None)}; flat: keyword
    arguments, each a field of one of those classes (GeneticSearch(population=8) means
    ga=GA(population=8)). Returns {argument name: settings object}.
    """
    owners = {name: argument for argument, (cls, _) in groups.items() for name in field_names(cls)}
    for name in flat:
        if name in MOVED:
            raise TypeError(f"{name!r} moved: use {MOVED[name]}")
        if name not in owners:
            hint = checks.did_you_mean(name, owners)
            raise TypeError(f"unknown setting {name!r}" + (f" ({hint})" if hint else ""))
    built = {}
    for argument, (cls, given) in groups.items():
        fields = {name: value for name, value in flat.items() if owners[name] == argument}
        if given is None:
            built[argument] = cls(**fields)
        elif isinstance(given, dict):
            built[argument] = cls(**{**given, **fields})
        elif isinstance(given, cls):
            built[argument] = dataclasses.replace(given, **fields) if fields else given  # type: ignore[type-var]
        else:
            raise TypeError(f"{argument}: expected hpsearch.{cls.__name__}, got {type(given).__name__}")
    return built
