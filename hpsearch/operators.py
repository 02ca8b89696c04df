"""Type-aware genetic operators on plain-dict genomes (no DEAP here).

Both operators return new dicts in space order, never modify their inputs,
always produce genomes that pass ``space.validate`` (given valid inputs), and
are deterministic given the state of ``rng``.

Numeric genes work in their encoded scale (see :mod:`hpsearch.genes`): log10
for log genes, the exponent for power-of-two ints. Constant genes and
categoricals with a single choice are never touched.

Structural genes (layer sizes, and ints such as epochs or a batch size whose
range spans at least a factor STRUCTURAL_RATIO) mutate on a log scale of their
range whatever their own scale, so a step moves 8 -> 16 units as readily as
512 -> 1024, and with probability STRUCTURAL_JUMP a mutation redraws the value
over the whole (log) range: small steps alone let a population that settled on
one width never see another (issue 24: every genome after generation 1 had one
layer of about 21 units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.genes import CategoricalGene, FloatGene, Gene, IntGene, LayersGene
from hpsearch.space import Space

Genome = dict[str, Any]

STRUCTURAL_RATIO = 4  # an int gene whose high / low is at least this mutates on a log scale
STRUCTURAL_JUMP = 0.2  # the chance that a structural gene's mutation redraws it over its range


def crossover(
    space: Space,
    parent1: Mapping[str, Any],
    parent2: Mapping[str, Any],
    rng: np.random.Generator,
    eta: float = 15.0,
    indpb: float = 0.5,
) -> tuple[Genome, Genome]:
    """Recombine two parents gene by gene into two children.

    Each searchable gene is recombined with probability ``indpb`` (0.5, as in
    DEAP's cxSimulatedBinaryBounded and Deb's SBX), otherwise child1 keeps
    parent1's value and child2 parent2's. Recombining every gene would turn
    each child into an average of both parents and wash out the good
    combinations that selection found; at 0.5 a child inherits about half of
    its genes intact, like uniform crossover.

    Per kind: float/int -> bounded SBX with distribution index ``eta`` (larger
    = children closer to the parents), ints rounded onto their grid;
    categorical -> the two values swap; layers -> cut-and-splice at an
    independent cut in each parent, so depth can change. Genes whose parents
    agree are copied, so identical parents give identical children.
    """
    if eta < 0:
        raise ValueError(f"crossover: eta must be >= 0 (got {eta!r})")
    if not 0.0 <= indpb <= 1.0:
        raise ValueError(f"crossover: indpb must be in [0, 1] (got {indpb!r})")
    child1: Genome = {}
    child2: Genome = {}
    for gene in space:
        value1, value2 = parent1[gene.name], parent2[gene.name]
        if gene.searchable and value1 != value2 and rng.random() < indpb:
            value1, value2 = _recombine(gene, value1, value2, rng, eta)
        child1[gene.name] = value1
        child2[gene.name] = value2
    return child1, child2


def mutate(
    space: Space,
    genome: Mapping[str, Any],
    rng: np.random.Generator,
    indpb: float = 0.3,
    scale: float = 0.1,
) -> Genome:
    """Return a mutated copy; each searchable gene mutates with probability ``indpb``.

    float/int: Gaussian step with sigma = ``scale`` x (encoded high - low),
    reflected back into bounds, ints rounded onto their grid; categorical: a
    different choice, uniformly; layers: add a layer (a perturbed copy of a
    neighbour), remove one, or resize one, whichever the depth and size bounds
    allow. Structural genes step on the log scale of their range and jump (see
    the module docstring); ``scale`` 0 turns steps and jumps off. If nothing
    changed, one random searchable gene is mutated until it does: an unchanged
    child would only repeat an evaluation. A space with no searchable gene
    returns a plain copy.
    """
    if not 0.0 <= indpb <= 1.0:
        raise ValueError(f"mutate: indpb must be in [0, 1] (got {indpb!r})")
    if scale < 0:
        raise ValueError(f"mutate: scale must be >= 0 (got {scale!r})")
    child: Genome = {gene.name: genome[gene.name] for gene in space}
    searchable = [gene for gene in space if gene.searchable]
    changed = False
    for gene in searchable:
        if rng.random() < indpb:
            value = _mutate_gene(gene, child[gene.name], rng, scale, must_change=False)
            changed = changed or value != child[gene.name]
            child[gene.name] = value
    if not changed and searchable:
        gene = searchable[int(rng.integers(len(searchable)))]
        child[gene.name] = _mutate_gene(gene, child[gene.name], rng, scale, must_change=True)
    return child


# ---------------------------------------------------------------- crossover


def _recombine(gene: Gene, value1: Any, value2: Any, rng: np.random.Generator, eta: float) -> tuple[Any, Any]:
    if isinstance(gene, (FloatGene, IntGene)):
        x1, x2 = sbx(gene.encode(value1), gene.encode(value2), gene.encoded_low, gene.encoded_high, eta, rng)
        return gene.decode(x1), gene.decode(x2)
    if isinstance(gene, CategoricalGene):
        return value2, value1
    if isinstance(gene, LayersGene):
        return _cut_and_splice(gene, value1, value2, rng)
    raise TypeError(f"{gene.name}: no crossover for {type(gene).__name__}")


def sbx(
    x1: float, x2: float, low: float, high: float, eta: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Bounded simulated binary crossover of two numbers in [low, high].

    The same formula as DEAP's cxSimulatedBinaryBounded for one variable
    (whose per-variable 0.5 gate lives in :func:`crossover`), drawing from
    ``rng``. Returns the inputs unchanged when they (nearly) coincide.
    """
    if abs(x1 - x2) <= 1e-14:
        return x1, x2
    smaller, larger = min(x1, x2), max(x1, x2)
    spread = larger - smaller
    rand = rng.random()

    def spread_factor(beta: float) -> float:
        # beta measures the room to the bound; alpha shrinks the distribution so
        # that children past the bound get no probability.
        alpha = 2.0 - beta ** -(eta + 1.0)
        if rand <= 1.0 / alpha:
            return (rand * alpha) ** (1.0 / (eta + 1.0))
        return (1.0 / (2.0 - rand * alpha)) ** (1.0 / (eta + 1.0))

    child1 = 0.5 * (smaller + larger - spread_factor(1.0 + 2.0 * (smaller - low) / spread) * spread)
    child2 = 0.5 * (smaller + larger + spread_factor(1.0 + 2.0 * (high - larger) / spread) * spread)
    child1 = min(max(child1, low), high)
    child2 = min(max(child2, low), high)
    if rng.random() <= 0.5:
        return child2, child1
    return child1, child2


def _cut_and_splice(
    gene: LayersGene, layers1: tuple[int, ...], layers2: tuple[int, ...], rng: np.random.Generator
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    # Cuts at 1..depth keep at least one layer from each head, so no child is
    # empty, and the expected child depth is the parents' mean depth.
    cut1 = int(rng.integers(1, len(layers1) + 1))
    cut2 = int(rng.integers(1, len(layers2) + 1))
    child1 = layers1[:cut1] + layers2[cut2:]
    child2 = layers2[:cut2] + layers1[cut1:]
    return _fit_depth(gene, child1), _fit_depth(gene, child2)


def _fit_depth(gene: LayersGene, layers: tuple[int, ...]) -> tuple[int, ...]:
    # Trim or repeat at the output end so the layers next to the input, which
    # came intact from one parent, are kept as they were.
    if len(layers) > gene.max_layers:
        return layers[: gene.max_layers]
    if len(layers) < gene.min_layers:
        return layers + (layers[-1],) * (gene.min_layers - len(layers))
    return layers


# ---------------------------------------------------------------- mutation


def _mutate_gene(gene: Gene, value: Any, rng: np.random.Generator, scale: float, must_change: bool) -> Any:
    if isinstance(gene, (FloatGene, IntGene)):
        return _mutate_number(gene, value, rng, scale, must_change)
    if isinstance(gene, CategoricalGene):
        return _other_choice(gene, value, rng)
    if isinstance(gene, LayersGene):
        return _mutate_layers(gene, value, rng, scale, must_change)
    raise TypeError(f"{gene.name}: no mutation for {type(gene).__name__}")


def _reflect(x: float, low: float, high: float) -> float:
    """Fold x back into [low, high] like a ball bouncing between walls; unlike
    clipping, this does not pile mutated values up on the bounds."""
    width = high - low
    if width <= 0:
        return low
    offset = (x - low) % (2.0 * width)
    return low + (2.0 * width - offset if offset > width else offset)


def _gaussian_step(
    x: float, low: float, high: float, scale: float, rng: np.random.Generator
) -> tuple[float, float]:
    """(x plus Gaussian noise of sigma scale * (high - low), reflected into bounds; the noise)."""
    noise = rng.normal(0.0, scale * (high - low))
    return _reflect(x + noise, low, high), noise


def structural(gene: Gene) -> bool:
    """Whether a gene mutates on a log scale of its range with jumps: layer sizes, and ints
    from >= 1 whose range spans a factor STRUCTURAL_RATIO (whatever their own scale)."""
    if isinstance(gene, LayersGene):
        return True
    return isinstance(gene, IntGene) and gene.low >= 1 and gene.grid_high >= STRUCTURAL_RATIO * gene.low


def _jumps(rng: np.random.Generator, scale: float) -> bool:
    return scale > 0 and rng.random() < STRUCTURAL_JUMP


def _log_step(x: float, low: float, high: float, scale: float, rng: np.random.Generator) -> tuple[float, float]:
    """A structural gene's move on its log10 scale: a jump anywhere in [low, high], or a step."""
    if _jumps(rng, scale):
        new = rng.uniform(low, high)
        return new, new - x
    return _gaussian_step(x, low, high, scale, rng)


def _int_on_log_scale(gene: IntGene, value: int, rng: np.random.Generator, scale: float) -> tuple[int, float]:
    low, high = math.log10(gene.low), math.log10(gene.grid_high)
    x, noise = _log_step(math.log10(value), low, high, scale, rng)
    index = min(max(round((10.0**x - gene.low) / gene.step), 0), gene.grid_size - 1)
    return gene.low + index * gene.step, noise


def _mutate_number(
    gene: FloatGene | IntGene, value: Any, rng: np.random.Generator, scale: float, must_change: bool
) -> Any:
    new: Any
    if isinstance(gene, IntGene) and structural(gene) and not gene.power_of_two:
        new, noise = _int_on_log_scale(gene, value, rng, scale)
    elif isinstance(gene, IntGene) and structural(gene):  # its exponent is a log scale already
        x, noise = _log_step(gene.encode(value), gene.encoded_low, gene.encoded_high, scale, rng)
        new = gene.decode(x)
    else:
        x, noise = _gaussian_step(gene.encode(value), gene.encoded_low, gene.encoded_high, scale, rng)
        new = gene.decode(x)
    if new != value or not must_change:
        return new
    if isinstance(gene, IntGene):
        # The step rounded back onto the same grid point: take the next one in
        # the direction the noise pointed, or the other way at a bound.
        up = value * 2 if gene.power_of_two else value + gene.step
        down = value // 2 if gene.power_of_two else value - gene.step
        first, second = (up, down) if noise >= 0 else (down, up)
        return first if gene.low <= first <= gene.high else second
    # Only reachable when scale is so small the step vanishes in rounding.
    while new == value:
        new = gene.sample(rng)
    return new


def _other_choice(gene: CategoricalGene, value: Any, rng: np.random.Generator) -> Any:
    index = gene.index(value)
    other = int(rng.integers(len(gene.choices) - 1))
    return gene.choices[other + 1 if other >= index else other]


def _mutate_layers(
    gene: LayersGene, layers: tuple[int, ...], rng: np.random.Generator, scale: float, must_change: bool
) -> tuple[int, ...]:
    moves = []
    if len(layers) < gene.max_layers:
        moves.append("add")
    if len(layers) > gene.min_layers:
        moves.append("remove")
    if gene.high > gene.low:
        moves.append("resize")
    move = moves[int(rng.integers(len(moves)))]
    # Sizes move on log10 whatever the gene's own scale (structural; see the module docstring).
    low, high = math.log10(gene.low), math.log10(gene.high)

    def size_of(x: float) -> int:
        return min(max(round(10.0**x), gene.low), gene.high)

    if move == "add":
        position = int(rng.integers(len(layers) + 1))
        neighbour = layers[position - 1] if position > 0 else layers[0]
        x, _ = _log_step(math.log10(neighbour), low, high, scale, rng)
        return layers[:position] + (size_of(x),) + layers[position:]

    position = int(rng.integers(len(layers)))
    if move == "remove":
        return layers[:position] + layers[position + 1 :]

    old = layers[position]
    x, noise = _log_step(math.log10(old), low, high, scale, rng)
    size = size_of(x)
    if size == old and must_change:
        size = old + 1 if (noise >= 0 and old < gene.high) or old == gene.low else old - 1
    return layers[:position] + (size,) + layers[position + 1 :]
