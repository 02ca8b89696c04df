"""The genetic algorithm over hyperparameter genomes: the only module that imports DEAP.

Written as ask/tell in the style of deap/algorithms.py: `initial()` and `breed()` hand out
the individuals of a generation, the caller evaluates the invalid ones as one batch and
passes fitnesses to `tell()`, then `advance()` forms the next population. Individuals are
DEAP `creator` dicts carrying a Fitness; everything leaving this module (genomes for the
workers, checkpoint state) is plain dicts and lists.

Every random draw comes from the Generator given to the constructor; DEAP's own operators,
which use the global `random` module, are not used (see hpsearch.operators).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from deap import base, creator, tools
from deap.tools import emo

from . import pareto
from .operators import crossover, mutate
from .settings import GA, Budget
from .strategies.base import Proposal

if TYPE_CHECKING:
    from .space import Space


def _individual_class(weights=(1.0,)):
    # creator.create registers classes in deap.creator's namespace; doing it once keeps a
    # second search in the same process (or a re-import) from redefining them.
    if not hasattr(creator, "HPSearchFitness"):
        creator.create("HPSearchFitness", base.Fitness, weights=(1.0,))
    if not hasattr(creator, "HPSearchIndividual"):
        creator.create("HPSearchIndividual", dict, fitness=creator.HPSearchFitness)
    if tuple(weights) == (1.0,):
        return creator.HPSearchIndividual
    # Multi-objective (NSGA-II): Fitness weights are a class attribute, so one class per
    # pattern of directions, named by it (HPSearchFitnessMaxMin for (1.0, -1.0)).
    suffix = "".join("Max" if w > 0 else "Min" for w in weights)
    if not hasattr(creator, f"HPSearchFitness{suffix}"):
        creator.create(f"HPSearchFitness{suffix}", base.Fitness, weights=tuple(float(w) for w in weights))
        creator.create(f"HPSearchIndividual{suffix}", dict, fitness=getattr(creator, f"HPSearchFitness{suffix}"))
    return getattr(creator, f"HPSearchIndividual{suffix}")


def make_individual(genome: Mapping[str, Any], trial_id: int | None = None, parents: Iterable[int | None] = (),
                    operator: str = "init", fitness: float | Sequence[float] | None = None,
                    weights: Sequence[float] = (1.0,), screening: float | None = None) -> Any:
    """A DEAP individual; fitness is a number, or a sequence of objective values when
    `weights` has several (+1.0 maximised, -1.0 minimised). screening: the score parents are
    selected on, where it differs from fitness (see GeneticAlgorithm.tell)."""
    individual = _individual_class(weights)(genome)
    individual.trial_id = trial_id
    individual.parents = tuple(parents)
    individual.operator = operator
    individual.screening = screening
    individual.predicted = None  # the surrogate's predicted score, where it chose the genome
    if fitness is not None:
        individual.fitness.values = tuple(fitness) if isinstance(fitness, (list, tuple)) else (fitness,)
    return individual


def _fitness(individual):
    return individual.fitness.values[0]


def check_searchable(space: Space) -> None:
    """Raise ValueError when no gene of the space can take more than one value: every genome
    would be the same, and a search would only train it again and again."""
    if not any(gene.searchable for gene in space):
        raise ValueError("space: nothing to search: every gene has a single value "
                         "(give at least one gene a range or several choices)")


def _tiebreak(value: Any) -> float:
    """A tie-break cell as a number to minimise: missing or not a finite number ranks last."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf


def rank_key(fitness: float, row: Mapping[str, Any] | None = None, trial_id: int | None = None) -> tuple:
    """The order in which a best is chosen, larger first: higher fitness, then fewer
    parameters (the trial row's ``n_params``, where the objective reports it), then the lower
    validation loss (``val_loss``), then the earlier trial (smaller ``trial_id``). Validation
    scores move in steps (1/269 for 269 validation samples), so equal fitnesses are common;
    the rule prefers the smaller, better-fitting model of equals. A cell that is missing or
    not a finite number ranks after every number."""
    row = row or {}
    trial = trial_id if trial_id is not None else row.get("trial_id")
    return (fitness, -_tiebreak(row.get("n_params")), -_tiebreak(row.get("val_loss")),
            -math.inf if trial is None else -trial)


class HallOfFame:
    """The best `size` distinct genomes seen, best first by rank_key (DEAP's HallOfFame
    orders by fitness alone and puts a newcomer ahead of its equals). A genome already in it
    is not added again (a cached repeat of a trial ranks after the trial itself).

    row: trial_id -> the trial's row (for the tie-breaks); None: fitness, then earlier trial."""

    def __init__(self, size: int, row: Callable[[int], Mapping[str, Any]] | None = None) -> None:
        self.size = size
        self.row = row
        self.items: list[Any] = []

    def key(self, individual: Any) -> tuple:
        trial_id = individual.trial_id
        row = self.row(trial_id) if self.row is not None and trial_id is not None else None
        return rank_key(_fitness(individual), row, trial_id)

    def update(self, individuals: Iterable[Any]) -> None:
        for individual in individuals:
            if any(dict(individual) == dict(member) for member in self.items):
                continue
            key = self.key(individual)
            if len(self.items) >= self.size and key <= self.key(self.items[-1]):
                continue
            # After every member ranked at least as high: stable, so equal keys keep their order.
            position = next((i for i, member in enumerate(self.items) if key > self.key(member)),
                            len(self.items))
            self.items.insert(position, _copy(individual))
            del self.items[self.size:]

    def clear(self) -> None:
        self.items.clear()

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


def _copy(individual: Any) -> Any:
    """A copy that later changes to the individual do not reach (as DEAP's deepcopy)."""
    copy = make_individual(dict(individual), individual.trial_id, individual.parents, individual.operator,
                           _fitness(individual), screening=individual.screening)
    copy.predicted = individual.predicted
    return copy


def _selection_score(individual):
    return individual.screening if individual.screening is not None else _fitness(individual)


class GeneticAlgorithm:
    """Tournament selection, type-aware crossover and mutation, elitism.

    selection="generational": the next population is the `elitism` best individuals seen so
    far (HallOfFame, equal fitnesses ordered by rank_key) plus population_size - elitism
    offspring. "mu_plus_lambda": the best population_size of parents and offspring together
    (by fitness alone, as tournaments). Which genomes are trained is the breeding
    strategy's choice (hpsearch.strategies): this class turns its proposals into individuals
    (individuals()) and lends it the GA's operators (offspring(), mutate()).

    weights with several entries (+1.0 maximise, -1.0 minimise, one per objective): NSGA-II.
    Fitnesses are then tuples of objective values; the next population is DEAP's selNSGA2
    over parents and offspring together (non-dominated fronts, then crowding distance), and
    parents win tournaments by front rank, then crowding distance. `selection` and
    `elitism` are not used then (NSGA-II is elitist by construction), nor the hall of fame.
    """

    def __init__(self, space: Space, rng: np.random.Generator, settings: GA | None = None,
                 warm_start: Sequence[Mapping[str, Any]] = (), weights: Sequence[float] | None = None,
                 trial_row: Callable[[int], Mapping[str, Any]] | None = None) -> None:
        check_searchable(space)
        # GeneticSearch passes settings resolved under its budget; alone, "auto" means no budget.
        settings = (GA() if settings is None else settings).resolved(Budget())
        initial_size = settings.generation_0_size
        for genome in warm_start:
            space.validate(genome)
        settings.check_warm_start(len(warm_start))
        self.space = space
        self.rng = rng
        assert settings.population is not None  # resolved() sets it
        self.population_size: int = settings.population
        self.crossover_prob = settings.crossover_prob
        self.mutation_prob = settings.mutation_prob
        self.tournament_size = settings.tournament_size
        self.elitism = settings.elitism
        self.selection = settings.selection
        self.mutation_indpb = settings.mutation_indpb
        self.mutation_scale = settings.mutation_scale
        self.crossover_eta = settings.crossover_eta
        self.initial_size = initial_size
        self.warm_start = [dict(g) for g in warm_start]
        if weights is None:
            weights = pareto.weights(settings.objectives) if settings.objectives else (1.0,)
        self.weights = tuple(float(w) for w in weights)
        self.multi_objective = len(self.weights) > 1
        self.population: list[Any] = []
        self._ranking: list[tuple[int, float]] = []  # NSGA-II: (-front rank, crowding distance) per population member
        self.hall_of_fame = HallOfFame(max(self.elitism, 1), trial_row)

    @property
    def n_initial(self) -> int:
        """Genomes generation 0 samples besides the warm-start ones."""
        return self.initial_size - len(self.warm_start)

    @property
    def n_offspring(self) -> int:
        """Genomes each later generation trains (the population less its elites)."""
        elites = self.elitism if self.selection == "generational" and not self.multi_objective else 0
        return self.population_size - elites

    def initial(self, proposals: Sequence[Proposal]) -> list[Any]:
        """Generation 0: the warm-start configs, then the breeding's `proposals` (n_initial
        of them); the best population_size of them become the first population."""
        warm = [make_individual(g, operator="warm_start", weights=self.weights) for g in self.warm_start]
        return warm + self.individuals(proposals)

    def individuals(self, proposals: Iterable[Proposal]) -> list[Any]:
        """DEAP individuals of a breeding strategy's proposals, their lineage attached."""
        individuals = []
        for proposal in proposals:
            individual = make_individual(proposal.genome, parents=proposal.parents, operator=proposal.operator,
                                         weights=self.weights)
            individual.predicted = proposal.predicted
            individuals.append(individual)
        return individuals

    def _tournament(self, rng, exclude=None):
        """Best of tournament_size random members (other than index `exclude`); its index."""
        n = len(self.population) - (exclude is not None)
        aspirants = rng.integers(0, n, self.tournament_size)
        if exclude is not None:
            aspirants[aspirants >= exclude] += 1
        # max() keeps the first of equals: ties break the same way in every run.
        if self.multi_objective:
            return max(aspirants, key=lambda i: self._ranking[i])
        return max(aspirants, key=lambda i: _selection_score(self.population[i]))

    def offspring(self, n: int, rng: np.random.Generator) -> list[Proposal]:
        """n children of the population: tournaments, crossover, mutation (the GA's breeding;
        strategies.Parents). rng: the Generator to draw from (the GA's own, in a search)."""
        offspring: list[Proposal] = []
        while len(offspring) < n:
            # Two different members: crossing an individual with itself only copies it.
            m = self._tournament(rng)
            mother, father = self.population[m], self.population[self._tournament(rng, exclude=m)]
            genomes, parents, operator = [dict(mother), dict(father)], (mother.trial_id, father.trial_id), ""
            if rng.random() < self.crossover_prob:
                genomes = list(crossover(self.space, mother, father, rng, eta=self.crossover_eta))
                operator = "crossover"
            for child, parent in zip(genomes, (mother, father)):
                child_operator, child_parents = operator, parents if operator else (parent.trial_id,)
                if rng.random() < self.mutation_prob or not operator:
                    # Unchanged copies would only repeat a known result: mutate instead.
                    child = self.mutate(child, rng)
                    child_operator = f"{operator}+mutation" if operator else "mutation"
                offspring.append(Proposal(child, parents=child_parents, operator=child_operator))
        return offspring[:n]

    def mutate(self, genome: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """The GA's mutation of one genome (strategies.Parents)."""
        return mutate(self.space, genome, rng, indpb=self.mutation_indpb, scale=self.mutation_scale)

    def tell(self, individuals: Sequence[Any], fitnesses: Sequence[Any], trial_ids: Sequence[int],
             eligible: Sequence[bool] | None = None, screening: Sequence[float | None] | None = None) -> None:
        """Record the fitnesses of evaluated individuals. eligible: which of them may become
        the best or an elite (the multi-fidelity search excludes partly trained ones); all
        by default. screening: scores to select parents on instead of the fitnesses (the
        multi-fidelity search gives every genome its score at the budget all of them had,
        so that a fully trained genome does not win every tournament against partly trained
        ones only for its longer training)."""
        for k, (individual, fitness, trial_id) in enumerate(zip(individuals, fitnesses, trial_ids)):
            individual.fitness.values = tuple(fitness) if self.multi_objective else (fitness,)
            individual.trial_id = trial_id
            individual.screening = None if screening is None else screening[k]
        if not self.multi_objective:
            self.hall_of_fame.update(individuals if eligible is None
                                     else [i for i, ok in zip(individuals, eligible) if ok])

    def refresh(self, fitness_by_key: Mapping[tuple, float]) -> None:
        """Genomes trained again (racing) have a new fitness, the mean of their trainings:
        the population's and the hall of fame's members take it, and the hall of fame is
        ordered again, so that no elite is carried on one lucky score."""
        for individual in [*self.population, *self.hall_of_fame]:
            fitness = fitness_by_key.get(self.space.key(individual))
            if fitness is not None:
                individual.fitness.values = (fitness,)
        self.hall_of_fame.items.sort(key=self.hall_of_fame.key, reverse=True)

    def advance(self, offspring: Sequence[Any]) -> list[Any]:
        """Form the next population from the evaluated offspring."""
        if self.multi_objective:
            # selNSGA2 sorts (stably) and draws nothing at random: the same pool always
            # gives the same survivors, in front order.
            self.population = tools.selNSGA2(self.population + list(offspring), self.population_size)
            self._rank_population()
        elif not self.population:
            self.population = list(offspring)
            if len(offspring) > self.population_size:
                # An oversampled generation 0 (initial_size): keep its best, stable on ties.
                self.population = sorted(offspring, key=_selection_score, reverse=True)[:self.population_size]
        elif self.selection == "generational":
            elites = [make_individual(dict(e), e.trial_id, e.parents, e.operator, _fitness(e),
                                      screening=e.screening)
                      for e in self.hall_of_fame[:self.elitism]]
            population = elites + list(offspring)
            if len(population) < self.population_size:
                # a generation whose slots races took keeps the best of the last population in their place
                kept = {self.space.key(i) for i in population}
                rest = [i for i in self.population if self.space.key(i) not in kept]
                population += sorted(rest, key=_selection_score, reverse=True)[:self.population_size - len(population)]
            self.population = population
        else:
            pool = self.population + list(offspring)
            # Stable sort: among equal fitness, parents (earlier) stay ahead of offspring.
            self.population = sorted(pool, key=_selection_score, reverse=True)[:self.population_size]
        return self.population

    def _rank_population(self):
        """Tournament keys of the population: better front first, then larger crowding
        distance (the less crowded of equally ranked members)."""
        rank = {}
        for r, front in enumerate(tools.sortNondominated(self.population, len(self.population))):
            emo.assignCrowdingDist(front)
            rank.update((id(individual), r) for individual in front)
        self._ranking = [(-rank[id(i)], i.fitness.crowding_dist) for i in self.population]

    def best(self) -> Any:
        """The best individual (single objective); None for NSGA-II, whose result is a front.
        Of equal fitnesses, the hall of fame's rule chooses (rank_key: fewer parameters, then
        lower validation loss, then the earlier trial)."""
        return self.hall_of_fame[0] if len(self.hall_of_fame) else None

    def state(self) -> dict[str, Any]:
        """Plain-data state (for checkpoints): population, hall of fame, RNG."""
        def plain(individual):
            return {"genome": dict(individual), "trial_id": individual.trial_id,
                    "parents": list(individual.parents), "operator": individual.operator,
                    "fitness": None if not individual.fitness.valid
                    else list(individual.fitness.values) if self.multi_objective else _fitness(individual),
                    "screening": individual.screening}

        return {"population": [plain(i) for i in self.population],
                "hall_of_fame": [plain(i) for i in self.hall_of_fame],
                "rng": self.rng.bit_generator.state}

    def load_state(self, state: Mapping[str, Any]) -> None:
        def individual(d):
            return make_individual(d["genome"], d["trial_id"], d["parents"], d["operator"], d["fitness"],
                                   weights=self.weights, screening=d.get("screening"))

        self.population = [individual(d) for d in state["population"]]
        if self.multi_objective:
            self._rank_population()
        self.hall_of_fame.clear()
        # As saved, in its order (ties included): no re-ranking, which would need the rows.
        self.hall_of_fame.items = [individual(d) for d in state["hall_of_fame"]]
        self.rng.bit_generator.state = state["rng"]


def population_statistics(fitnesses: Iterable[float]) -> dict[str, float]:
    """min/mean/max/std of the finite fitnesses (failed trials carry -inf)."""
    finite = np.array([f for f in fitnesses if math.isfinite(f)])
    if not finite.size:
        return {"min": math.nan, "mean": math.nan, "max": math.nan, "std": math.nan}
    return {"min": float(finite.min()), "mean": float(finite.mean()), "max": float(finite.max()),
            "std": float(finite.std())}
