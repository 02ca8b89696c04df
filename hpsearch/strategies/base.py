"""The seams of the search loop: what a strategy is asked, and in which words.

GeneticSearch (search.py) runs one loop; four questions on which searches differ are
answered by objects given to it, each an abstract class here:

    Breeding   which genomes to train next: ask-style, propose(n, history, rng) returns
               plain genome dicts (Proposal) with the lineage to record. GeneticBreeding,
               ModelAssisted, RandomSearch and CMAES are the registered ones.
    Training   how new genomes become trainings: WholeTraining (one full training each)
               or fidelity.SuccessiveHalving (rungs of growing budgets)
    Ranking    what counts as the best: BestFitness (the best genome trained in full) or
               pareto.ParetoFront (NSGA-II: the knee of the Pareto front)

Where a genome's fitness comes from is the fifth question, answered by Racing
(strategies/racing.py): a genome's fitness is the mean of its trainings on shared seeds,
challengers race the incumbent, a final race and confirmation trainings end the search, and
the score reported comes from trainings that took no part in choosing the genome. It sits
between Training.train and Ranking.value: Breeding's History carries each genome once, its
record's fitness the mean of its trainings and `n` their number.

Breeding sees no DEAP: it returns dicts, and only evolve.py turns them into individuals. A
new breeding is one module with a class registered by name (@register_breeding), so that
config files can name it (`[breeding] strategy = "name"`); docs/EXTENDING.md walks through
one.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from .. import checks
from ..design import latin_hypercube

if TYPE_CHECKING:
    import pandas as pd

    from ..budget import Spending
    from ..outcome import Outcome, Trainer
    from ..results import CsvLog
    from ..space import Space

# How generation 0 is sampled (Breeding.initial_design): spread evenly over the space
# (hpsearch.design) or independent draws.
DESIGNS = ("latin_hypercube", "random")


@dataclass(frozen=True)
class Proposal:
    """A genome a breeding strategy wants trained, and the lineage to record with it.

    genome: {gene name: value}, every gene of the space. parents: trial ids it was bred
    from (trials.csv's `parents`); operator: how it was made (trials.csv's `operator`, e.g.
    "crossover+mutation", "random"); predicted: the score a model expected of it, where one
    chose it (trials.csv's `predicted`)."""

    genome: dict[str, Any]
    parents: tuple[int, ...] = ()
    operator: str = "init"
    predicted: float | None = None


class Parents(Protocol):
    """The GA's variation operators over its current population (evolve.GeneticAlgorithm):
    a breeding strategy may use them, as ModelAssisted does, or ignore them, as RandomSearch
    does. Both draw from the rng they are given."""

    def offspring(self, n: int, rng: np.random.Generator) -> list[Proposal]:
        """n children: tournament-selected parents, crossover, mutation."""

    def mutate(self, genome: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """The GA's mutation of one genome (its mutation_indpb and mutation_scale)."""


@dataclass(frozen=True)
class History:
    """What a breeding strategy may look at when it proposes.

    space: the search space. trained: (genome key, outcome) of every genome trained so far,
    in order (the evaluation cache's journal; an outcome's `fitness` is higher-is-better,
    -inf for a failure; under successive halving `rung0_score` is the score every genome
    has). trial_ids: the trial id of each of them (its trials row; under successive
    halving its last rung's), for a proposal's `parents`. parents: the GA's operators over
    its population (see Parents)."""

    space: Space
    trained: Sequence[tuple[tuple, Mapping[str, Any]]]
    trial_ids: Sequence[int]
    parents: Parents

    def __post_init__(self) -> None:
        if len(self.trial_ids) != len(self.trained):
            raise ValueError(f"history: {len(self.trial_ids)} trial ids for {len(self.trained)} trained genomes")

    def genomes(self) -> list[dict[str, Any]]:
        """The trained genomes as dicts, in order."""
        return [dict(zip(self.space.names, key)) for key, _ in self.trained]


class Breeding(ABC):
    """Which genomes to train next. Subclasses are small frozen dataclasses (their fields
    are the options a config's [breeding] table may set), registered by name.

    initial_design: how generation 0 is sampled, one of DESIGNS.
    single_objective: True where the strategy ranks candidates by one score (NSGA-II's
    several objectives are then refused)."""

    name: ClassVar[str] = ""
    single_objective: ClassVar[bool] = False
    initial_design: str = "random"

    def __post_init__(self) -> None:
        checks.choice("initial_design", self.initial_design, DESIGNS)

    @abstractmethod
    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        """n genomes for the next generation. Every random draw comes from rng (the GA's
        Generator, saved in the checkpoint), so a run is the same for any n_jobs and after
        a resume; a strategy that keeps state must rebuild it from `history`."""

    def initial(self, n: int, space: Space, rng: np.random.Generator) -> list[Proposal]:
        """Generation 0 (after the warm-start genomes): n genomes by initial_design."""
        if self.initial_design == "latin_hypercube":
            return [Proposal(genome) for genome in latin_hypercube(space, n, rng)]
        return [Proposal(space.sample(rng)) for _ in range(n)]

    def check(self, space: Space) -> None:
        """Raise ValueError where this strategy cannot search `space` (any space, by default)."""
        return None

    def to_config(self) -> dict[str, Any]:
        """The [breeding] table that builds this strategy again."""
        return {"strategy": self.name,
                **{f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}}  # type: ignore[arg-type]


BREEDINGS: dict[str, type[Breeding]] = {}


def register_breeding(name: str) -> Callable[[type[Breeding]], type[Breeding]]:
    """Class decorator: make a Breeding available as `name` in configs ([breeding]
    strategy = name) and in breeding_from_config."""

    def decorator(cls: type[Breeding]) -> type[Breeding]:
        cls.name = name
        BREEDINGS[name] = cls
        return cls

    return decorator


class Training(ABC):
    """How a generation's new genomes become trainings."""

    @abstractmethod
    def first_cost(self, genome: Mapping[str, Any]) -> int:
        """Epochs the genome's first training trains at most (charged before it runs)."""

    @abstractmethod
    def train(self, trainer: Trainer, tasks: Sequence[tuple[dict[str, Any], int]], progress: Any,
              rows: Iterable[Mapping[str, Any]], curves: Callable[[], Mapping[int, Mapping[str, Any]]],
              spending: Spending) -> list[Outcome]:
        """One Outcome per task (params, seed): its last training's, the earlier ones (a
        genome's lower rungs) in its `earlier`. progress: a tqdm bar to update per training;
        rows and curves: the trials so far; spending: the budgets."""

    @abstractmethod
    def selection(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[bool] | None, list[float] | None]:
        """(eligible, screening) for GeneticAlgorithm.tell, from the genomes' trials rows:
        which may become the best or an elite, and the scores parents are chosen on (None:
        every one, and the fitnesses)."""


class Ranking(ABC):
    """What counts as the best genome, and the tables that show it."""

    @abstractmethod
    def value(self, outcome: Outcome) -> Any:
        """The GA's fitness of a genome: its fitness, or a tuple of objective values."""

    @abstractmethod
    def check(self, outcome: Outcome) -> Outcome:
        """The outcome, failed where it succeeded but lacks what this ranking needs."""

    @abstractmethod
    def update(self, generation: int, evaluated: Iterable[Any], rows: Sequence[Mapping[str, Any]], ga: Any,
               best_fitness: float) -> tuple[float, bool]:
        """After a generation: (the best fitness so far, whether the best changed)."""

    @abstractmethod
    def best_record(self, rows: Sequence[Mapping[str, Any]], ga: Any) -> dict[str, Any]:
        """best.json's record of the best trial ({} before there is one)."""

    def appended_tables(self) -> list[CsvLog]:
        """Its tables appended to at every save (fronts.csv)."""
        return []

    def rewritten_tables(self, rows: Sequence[Mapping[str, Any]],
                         gene_cells: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, pd.DataFrame]:
        """Its small tables rewritten whole at every save: {file name: frame} (pareto.csv)."""
        return {}

    def result_tables(self, rows: Sequence[Mapping[str, Any]],
                      gene_cells: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, pd.DataFrame]:
        """Its tables as SearchResult attributes: {attribute: frame}."""
        return {}

    def logs(self) -> dict[str, list[Any]]:
        """The append-only lists the checkpoint journals for it."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        """The small part of its state, for the checkpoint."""
        return {}

    def load(self, snapshot: Mapping[str, Any], logs: Mapping[str, list[Any]]) -> None:
        """Restore the state snapshot() and logs() described (none, by default)."""
        return None
