"""Space-filling designs: generation 0 spread evenly over the space instead of drawn at random.

A Latin hypercube (scipy.stats.qmc) of n points puts exactly one point in each of n equal
slices of every dimension, so even a small generation 0 covers every gene's range (n
independent draws leave gaps and clumps). Each gene takes one or more unit dimensions and
maps them the way its own sampler would: log scales, integer grids and powers of two stay
uniform on the scale they are searched on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import qmc

from .genes import CategoricalGene, ConstantGene, FloatGene, Gene, IntGene, LayersGene
from .space import Space

DESIGNS = ("random", "latin_hypercube")


def _dimensions(gene: Gene) -> int:
    if isinstance(gene, ConstantGene):
        return 0
    if isinstance(gene, LayersGene):
        return 1 + gene.max_layers  # depth, then one size per possible layer
    return 1


def _index(u: float, n: int) -> int:
    return min(int(u * n), n - 1)


def from_unit(gene: Gene, u: list[float]) -> Any:
    """The gene's value at unit coordinates u (as many as _dimensions(gene))."""
    if isinstance(gene, ConstantGene):
        return gene.value
    if isinstance(gene, FloatGene):
        return gene.decode(gene.encoded_low + u[0] * (gene.encoded_high - gene.encoded_low))
    if isinstance(gene, IntGene):
        if gene.log and not gene.power_of_two:
            return gene.decode(gene.encoded_low + u[0] * (gene.encoded_high - gene.encoded_low))
        index = _index(u[0], gene.grid_size)
        return gene.low << index if gene.power_of_two else gene.low + index * gene.step
    if isinstance(gene, CategoricalGene):
        return gene.choices[_index(u[0], len(gene.choices))]
    if isinstance(gene, LayersGene):
        depth = gene.min_layers + _index(u[0], gene.max_layers - gene.min_layers + 1)
        low, high = gene.size_encoded_low, gene.size_encoded_high
        return tuple(gene.decode_size(low + x * (high - low)) for x in u[1:1 + depth])
    raise TypeError(f"{gene.name}: no space-filling design for {type(gene).__name__}")


def latin_hypercube(space: Space, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """n genomes of a Latin hypercube over the space (scrambled, from rng)."""
    if n <= 0:
        return []
    dims = [_dimensions(gene) for gene in space]
    total = sum(dims)
    if total == 0:
        return [space.sample(rng) for _ in range(n)]
    points = qmc.LatinHypercube(d=total, rng=rng).random(n)
    genomes = []
    for point in points.tolist():  # Python floats, as the genes' own samplers give
        genome, start = {}, 0
        for gene, d in zip(space, dims):
            genome[gene.name] = from_unit(gene, point[start:start + d])
            start += d
        genomes.append(genome)
    return genomes
