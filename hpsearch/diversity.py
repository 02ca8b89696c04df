"""How much of each gene's range a set of genomes covers: the exploration a search keeps.

Space.diversity gives one number (mean pairwise distance); a search that has collapsed on
one gene while others still move shows little there. These columns tell per gene, for the
genomes a generation trained (generations.csv) or any other set:

    coverage_<gene>       the share of the gene's range the genomes hit: of `bins` equal
                          bins on the gene's own scale (log10 for log genes, the exponent
                          for power-of-two ints, the sizes' scale for layers), the share
                          with at least one value; of a categorical gene, the share of its
                          choices present. Bins no value of the gene can fall into (an int
                          grid coarser than the bins) are not counted.
    distinct_<gene>       distinct values
    depths_<gene>         layers genes: distinct depths
    width_spread_<gene>   layers genes: the share of the size range the layer widths span
                          (largest width's position minus the smallest's, on the size scale)
    coverage              the mean coverage over the searchable genes

Pure functions of a space and genomes, so a results directory can recompute them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .genes import CategoricalGene, FloatGene, Gene, IntGene, LayersGene
from .space import Space

BINS = 5  # bins per numeric range: a generation of a few genomes can still fill them
MAX_GRID = 4096  # grids up to this many values are checked for bins no value can reach


def bin_of(unit: float, bins: int) -> int:
    """The bin (0 .. bins - 1) of a position in [0, 1]; 1 itself is in the last one."""
    return min(max(int(math.floor(unit * bins)), 0), bins - 1)


def _numeric_units(gene: Gene, values: Iterable[Any]) -> list[float]:
    if isinstance(gene, LayersGene):
        return [gene.size_to_unit(size) for layers in values for size in layers]
    return [gene.to_unit(value) for value in values]


def _grid(gene: Gene) -> range | None:
    """The values an int gene (or a layer's size) can take, where few enough to list."""
    if isinstance(gene, IntGene) and not gene.power_of_two and gene.grid_size <= MAX_GRID:
        return range(gene.low, gene.grid_high + 1, gene.step)
    if isinstance(gene, LayersGene) and gene.high - gene.low + 1 <= MAX_GRID:
        return range(gene.low, gene.high + 1)
    return None


def reachable_bins(gene: Gene, bins: int = BINS) -> set[int]:
    """The bins some value of a numeric gene falls into (every bin, for a float)."""
    if isinstance(gene, IntGene) and gene.power_of_two:
        return {bin_of(gene.to_unit(gene.low << i), bins) for i in range(gene.grid_size)}
    grid = _grid(gene)
    if grid is None:
        return set(range(bins))
    if isinstance(gene, LayersGene):
        return {bin_of(gene.size_to_unit(size), bins) for size in grid}
    return {bin_of(gene.to_unit(value), bins) for value in grid}


def coverage(gene: Gene, values: Iterable[Any], bins: int = BINS) -> float:
    """The share of `gene`'s range that `values` hit, in [0, 1] (see the module docstring)."""
    values = list(values)
    if not values:
        return 0.0
    if isinstance(gene, CategoricalGene):
        return len({gene.index(value) for value in values}) / len(gene.choices)
    if not isinstance(gene, (FloatGene, IntGene, LayersGene)):
        return 1.0  # a constant: its one value is all there is
    reachable = reachable_bins(gene, bins)
    hit = {bin_of(unit, bins) for unit in _numeric_units(gene, values)} & reachable
    return len(hit) / len(reachable)


def width_spread(gene: LayersGene, values: Iterable[tuple[int, ...]]) -> float:
    """The share of the size range the layer widths of `values` span, in [0, 1]."""
    units = _numeric_units(gene, values)
    return max(units) - min(units) if units else 0.0


def diversity_columns(space: Space, genomes: Iterable[Mapping[str, Any]], bins: int = BINS) -> dict[str, Any]:
    """The per-gene diversity columns of `genomes` (see the module docstring), searchable
    genes only, in space order, then `coverage`; NaN where there are no genomes (the final
    race's and the confirmation's generations train none)."""
    genomes = list(genomes)
    if not genomes:
        return {name: math.nan for name in diversity_columns(space, [space.sample(np.random.default_rng(0))], bins)}
    columns: dict[str, Any] = {}
    shares = []
    for gene in space:
        if not gene.searchable:
            continue
        values = [genome[gene.name] for genome in genomes]
        share = coverage(gene, values, bins)
        shares.append(share)
        columns[f"coverage_{gene.name}"] = share
        columns[f"distinct_{gene.name}"] = len({_hashable(value) for value in values})
        if isinstance(gene, LayersGene):
            columns[f"depths_{gene.name}"] = len({len(layers) for layers in values})
            columns[f"width_spread_{gene.name}"] = width_spread(gene, values)
    columns["coverage"] = sum(shares) / len(shares) if shares else 0.0
    return columns


def _hashable(value: Any) -> Any:
    # A categorical None and a float NaN are both possible values; a (type, repr) pair keeps
    # 1, 1.0 and True apart as CategoricalGene does.
    return value if isinstance(value, tuple) else (type(value).__name__, repr(value))
