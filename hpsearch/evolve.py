"""The genetic algorithm over hyperparameter genomes: the only module that imports DEAP.

Written as ask/tell in the style of deap/algorithms.py: `initial()` and `breed()` hand out
the individuals of a generation, the caller evaluates the invalid ones as one batch and
passes fitnesses to `tell()`, then `advance()` forms the next population. Individuals are
DEAP `creator` dicts carrying a Fitness; everything leaving this module (genomes for the
workers, checkpoint state) is plain dicts and lists.

Every random draw comes from the Generator given to the constructor; DEAP's own operators,
which use the global `random` module, are not used (see hpsearch.operators).
"""

import math

import numpy as np
from deap import base, creator, tools

from .operators import crossover, mutate

SELECTIONS = ("generational", "mu_plus_lambda")
ALGORITHMS = ("ga", "random")


def _individual_class():
    # creator.create registers classes in deap.creator's namespace; doing it once keeps a
    # second search in the same process (or a re-import) from redefining them.
    if not hasattr(creator, "HPSearchFitness"):
        creator.create("HPSearchFitness", base.Fitness, weights=(1.0,))
    if not hasattr(creator, "HPSearchIndividual"):
        creator.create("HPSearchIndividual", dict, fitness=creator.HPSearchFitness)
    return creator.HPSearchIndividual


def make_individual(genome, trial_id=None, parents=(), operator="init", fitness=None):
    individual = _individual_class()(genome)
    individual.trial_id = trial_id
    individual.parents = tuple(parents)
    individual.operator = operator
    if fitness is not None:
        individual.fitness.values = (fitness,)
    return individual


def _fitness(individual):
    return individual.fitness.values[0]


class GeneticAlgorithm:
    """Tournament selection, type-aware crossover and mutation, elitism.

    selection="generational": the next population is the `elitism` best individuals seen so
    far (DEAP HallOfFame) plus population_size - elitism offspring. "mu_plus_lambda": the
    best population_size of parents and offspring together. algorithm="random" replaces
    breeding by fresh samples from the space (random search through the same machinery).
    """

    def __init__(self, space, rng, population_size=20, crossover_prob=0.7, mutation_prob=0.4,
                 tournament_size=3, elitism=2, selection="generational", mutation_indpb=0.3,
                 mutation_scale=0.15, crossover_eta=15.0, algorithm="ga", warm_start=()):
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 0 <= elitism < population_size:
            raise ValueError(f"elitism must be in [0, population_size), got {elitism}")
        if tournament_size < 1:
            raise ValueError(f"tournament_size must be >= 1, got {tournament_size}")
        for name, p in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        for genome in warm_start:
            space.validate(genome)
        if len(warm_start) > population_size:
            raise ValueError(f"{len(warm_start)} warm-start configs exceed the population size {population_size}")
        self.space = space
        self.rng = rng
        self.population_size = population_size
        self.crossover_prob = crossover_prob
        self.mutation_prob = mutation_prob
        self.tournament_size = tournament_size
        self.elitism = elitism
        self.selection = selection
        self.mutation_indpb = mutation_indpb
        self.mutation_scale = mutation_scale
        self.crossover_eta = crossover_eta
        self.algorithm = algorithm
        self.warm_start = [dict(g) for g in warm_start]
        self.population = []
        self.hall_of_fame = tools.HallOfFame(max(elitism, 1))

    def initial(self):
        """Generation 0: the warm-start configs, then samples from the space."""
        individuals = [make_individual(g, operator="warm_start") for g in self.warm_start]
        while len(individuals) < self.population_size:
            individuals.append(make_individual(self.space.sample(self.rng)))
        return individuals

    def _tournament(self, exclude=None):
        """Best of tournament_size random members (other than index `exclude`); its index."""
        n = len(self.population) - (exclude is not None)
        aspirants = self.rng.integers(0, n, self.tournament_size)
        if exclude is not None:
            aspirants[aspirants >= exclude] += 1
        # max() keeps the first of equals: ties break the same way in every run.
        return max(aspirants, key=lambda i: _fitness(self.population[i]))

    def breed(self):
        """Offspring for the next generation; those with invalid fitness need evaluation."""
        n_offspring = self.population_size - (self.elitism if self.selection == "generational" else 0)
        if self.algorithm == "random":
            return [make_individual(self.space.sample(self.rng), operator="random")
                    for _ in range(n_offspring)]
        offspring = []
        while len(offspring) < n_offspring:
            # Two different members: crossing an individual with itself only copies it.
            m = self._tournament()
            mother, father = self.population[m], self.population[self._tournament(exclude=m)]
            genomes, parents, operator = [dict(mother), dict(father)], (mother.trial_id, father.trial_id), ""
            if self.rng.random() < self.crossover_prob:
                genomes = list(crossover(self.space, mother, father, self.rng, eta=self.crossover_eta))
                operator = "crossover"
            for child, parent in zip(genomes, (mother, father)):
                child_operator, child_parents = operator, parents if operator else (parent.trial_id,)
                if self.rng.random() < self.mutation_prob or not operator:
                    # Unchanged copies would only repeat a known result: mutate instead.
                    child = mutate(self.space, child, self.rng, indpb=self.mutation_indpb,
                                   scale=self.mutation_scale)
                    child_operator = f"{operator}+mutation" if operator else "mutation"
                offspring.append(make_individual(child, parents=child_parents, operator=child_operator))
        return offspring[:n_offspring]

    def tell(self, individuals, fitnesses, trial_ids):
        for individual, fitness, trial_id in zip(individuals, fitnesses, trial_ids):
            individual.fitness.values = (fitness,)
            individual.trial_id = trial_id
        self.hall_of_fame.update(individuals)

    def advance(self, offspring):
        """Form the next population from the evaluated offspring."""
        if not self.population:
            self.population = list(offspring)
        elif self.selection == "generational":
            elites = [make_individual(dict(e), e.trial_id, e.parents, e.operator, _fitness(e))
                      for e in self.hall_of_fame[:self.elitism]]
            self.population = elites + list(offspring)
        else:
            pool = self.population + list(offspring)
            # Stable sort: among equal fitness, parents (earlier) stay ahead of offspring.
            self.population = sorted(pool, key=_fitness, reverse=True)[:self.population_size]
        return self.population

    def best(self):
        return self.hall_of_fame[0] if len(self.hall_of_fame) else None

    def state(self):
        """Plain-data state (for checkpoints): population, hall of fame, RNG."""
        def plain(individual):
            return {"genome": dict(individual), "trial_id": individual.trial_id,
                    "parents": list(individual.parents), "operator": individual.operator,
                    "fitness": _fitness(individual) if individual.fitness.valid else None}

        return {"population": [plain(i) for i in self.population],
                "hall_of_fame": [plain(i) for i in self.hall_of_fame],
                "rng": self.rng.bit_generator.state}

    def load_state(self, state):
        def individual(d):
            return make_individual(d["genome"], d["trial_id"], d["parents"], d["operator"], d["fitness"])

        self.population = [individual(d) for d in state["population"]]
        self.hall_of_fame.clear()
        # HallOfFame puts a newcomer ahead of its equals: re-inserting worst-first rebuilds
        # the saved order, ties included.
        self.hall_of_fame.update([individual(d) for d in reversed(state["hall_of_fame"])])
        self.rng.bit_generator.state = state["rng"]


def population_statistics(fitnesses):
    """min/mean/max/std of the finite fitnesses (failed trials carry -inf)."""
    finite = np.array([f for f in fitnesses if math.isfinite(f)])
    if not finite.size:
        return {"min": math.nan, "mean": math.nan, "max": math.nan, "std": math.nan}
    return {"min": float(finite.min()), "mean": float(finite.mean()), "max": float(finite.max()),
            "std": float(finite.std())}
