"""Search space: an ordered set of named genes, with genome checks, CSV rows and TOML config.

The genes themselves (kinds, scales, value rules) live in :mod:`hpsearch.genes`; they are
re-exported here because a space is usually built from them in one import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .checks import did_you_mean
from .genes import (
    GENE_KINDS,
    CategoricalGene,
    ConstantGene,
    FloatGene,
    Gene,
    GeneError,
    IntGene,
    LayersGene,
    describe,
    gene_from_config,
)

__all__ = ["GENE_KINDS", "CategoricalGene", "ConstantGene", "FloatGene", "Gene", "GeneError", "IntGene",
           "LayersGene", "Space"]



class Space:
    """An ordered collection of genes with unique names: what a search searches.

    A genome is a dict {gene name: value}; the space samples, checks and compares genomes
    and writes them as rows of the trials table.

    Example::

        Space([FloatGene("learning_rate", 1e-4, 1e-1, log=True), IntGene("epochs", 5, 40),
               CategoricalGene("activation", ("relu", "tanh")), LayersGene("hidden_sizes", 1, 3, 16, 256)])

    Args:
        genes: the genes, in order (at least one; names unique).

    Raises:
        ValueError: no gene, something that is not a gene, or a name used twice.
    """

    def __init__(self, genes: Iterable[Gene]):
        genes = tuple(genes)
        if not genes:
            raise ValueError("Space: needs at least one gene")
        by_name: dict[str, Gene] = {}
        for gene in genes:
            if not isinstance(gene, Gene):
                raise ValueError(f"Space: expected genes, got {describe(gene)}")
            if gene.name in by_name:
                raise ValueError(f"Space: duplicate gene name {gene.name!r}")
            by_name[gene.name] = gene
        layers_names = [gene.name for gene in genes if isinstance(gene, LayersGene)]
        depth_columns = {
            name: "n_layers" if len(layers_names) == 1 else f"{name}_n_layers" for name in layers_names
        }
        for name, column in depth_columns.items():
            if column in by_name:
                raise ValueError(f"Space: gene name {column!r} clashes with the depth column of {name!r}")
        self._genes = genes
        self._by_name = by_name
        self._depth_columns = depth_columns

    # -- container protocol

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def columns(self) -> list[str]:
        """The results-table columns of :meth:`row`, in order."""
        columns = []
        for gene in self._genes:
            columns.append(gene.name)
            if gene.name in self._depth_columns:
                columns.append(self._depth_columns[gene.name])
        return columns

    def __iter__(self) -> Iterator[Gene]:
        return iter(self._genes)

    def __len__(self) -> int:
        return len(self._genes)

    def __getitem__(self, name: str) -> Gene:
        try:
            return self._by_name[name]
        except KeyError:
            names = sorted(self._by_name)
            hint = did_you_mean(name, names)
            valid = f"({hint}; valid: {', '.join(names)})" if hint else f"(valid: {', '.join(names)})"
            raise KeyError(f"unknown gene {name!r} {valid}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self._genes == other._genes

    def __hash__(self) -> int:
        return hash(self._genes)

    def __repr__(self) -> str:
        return f"Space({list(self._genes)!r})"

    # -- genomes

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {gene.name: gene.sample(rng) for gene in self._genes}

    def validate(self, genome: Any) -> None:
        """Raise ValueError naming unknown/missing genes or the first bad value."""
        if not isinstance(genome, Mapping):
            raise ValueError(f"genome: must be a dict (got {describe(genome)})")
        unknown = [name for name in genome if name not in self._by_name]
        missing = [name for name in self._by_name if name not in genome]
        problems = []
        if unknown:
            problems.append("unknown genes " + ", ".join(repr(name) for name in unknown))
        if missing:
            problems.append("missing genes " + ", ".join(repr(name) for name in missing))
        if problems:
            raise ValueError(f"genome: {'; '.join(problems)}")
        for gene in self._genes:
            gene.validate(genome[gene.name])

    def key(self, genome: Mapping[str, Any]) -> tuple:
        """Hashable canonical key (values in space order, floats exactly as stored)."""
        if len(genome) != len(self._genes):
            raise ValueError(f"genome: has {len(genome)} genes, the space has {len(self._genes)}")
        return tuple(genome[name] for name in self._by_name)

    # -- results table

    def row(self, genome: Mapping[str, Any]) -> dict[str, Any]:
        """Results-table columns: each gene's formatted text, plus the depth of
        each layers gene (``n_layers``, or ``<name>_n_layers`` with several)."""
        row: dict[str, Any] = {}
        for gene in self._genes:
            value = genome[gene.name]
            row[gene.name] = gene.format(value)
            if gene.name in self._depth_columns:
                row[self._depth_columns[gene.name]] = len(value)
        return row

    def parse_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Inverse of :meth:`row`; extra columns (fitness, n_layers, ...) are ignored.

        Non-string cells (e.g. numbers from pandas) are read through ``str()``;
        read CSVs with ``float_precision="round_trip"`` or ``dtype=str`` to keep
        floats exact. Tuples (layer sizes as ``hpsearch.load`` reads them) are values.
        """
        missing = [name for name in self._by_name if name not in row]
        if missing:
            raise ValueError("row: missing columns " + ", ".join(repr(name) for name in missing))
        genome = {}
        for gene in self._genes:
            cell = row[gene.name]
            if isinstance(cell, tuple):
                genome[gene.name] = cell  # checked by validate() below
            else:
                genome[gene.name] = gene.parse(cell if isinstance(cell, str) else str(cell))
        self.validate(genome)
        return genome

    # -- population statistics

    def diversity(self, genomes: Iterable[Mapping[str, Any]]) -> float:
        """Mean pairwise distance in [0, 1] over the searchable genes.

        distance(a, b) = mean over searchable genes of the gene distance:
        numeric ``|unit(a) - unit(b)|``; categorical 0 if equal else 1; layers the
        mean of ``|depth unit difference|`` and the mean ``|size unit difference|``
        over the layer positions both have (each part only if it can vary).
        """
        genomes = list(genomes)
        searched = [gene for gene in self._genes if gene.searchable]
        n = len(genomes)
        if n < 2 or not searched:
            return 0.0
        total = np.zeros((n, n))
        for gene in searched:
            total += _pairwise_distances(gene, [genome[gene.name] for genome in genomes])
        mean = total.sum() / (n * (n - 1) * len(searched))  # diagonal is zero
        return float(min(max(mean, 0.0), 1.0))

    # -- config

    @classmethod
    def from_config(cls, table: Any) -> Space:
        """Build from a TOML-like mapping ``{gene: {"kind": ..., ...}}``.

        ``{"value": X}`` or a bare scalar/list fixes a gene to a constant.
        Errors are ValueErrors starting with the key path ``space.<gene>.<key>:``.
        """
        if not isinstance(table, Mapping):
            raise ValueError(f"space: must be a table of genes (got {describe(table)})")
        if not table:
            raise ValueError("space: must define at least one gene")
        return cls(gene_from_config(name, entry) for name, entry in table.items())

    def to_config(self) -> dict[str, dict[str, Any]]:
        """Inverse of :meth:`from_config`, ready to be written as TOML."""
        return {gene.name: gene.to_config() for gene in self._genes}


def _pairwise_distances(gene: Gene, values: list[Any]) -> np.ndarray:
    """n x n matrix of one gene's distances in [0, 1] (see Space.diversity)."""
    if isinstance(gene, CategoricalGene):
        index = np.array([gene.index(value) for value in values])
        return (index[:, None] != index[None, :]).astype(float)
    if isinstance(gene, LayersGene):
        return _pairwise_layer_distances(gene, values)
    units = np.array([gene.to_unit(value) for value in values])
    return np.abs(units[:, None] - units[None, :])


def _pairwise_layer_distances(gene: LayersGene, values: list[tuple[int, ...]]) -> np.ndarray:
    parts = []
    if gene.max_layers > gene.min_layers:
        depth = np.array([gene.depth_to_unit(len(layers)) for layers in values])
        parts.append(np.abs(depth[:, None] - depth[None, :]))
    if gene.high > gene.low:
        n = len(values)
        units = np.zeros((n, gene.max_layers))
        present = np.zeros((n, gene.max_layers), dtype=bool)
        for row, layers in enumerate(values):
            units[row, : len(layers)] = [gene.size_to_unit(size) for size in layers]
            present[row, : len(layers)] = True
        shared = present[:, None, :] & present[None, :, :]  # every genome has >= 1 layer
        gaps = np.abs(units[:, None, :] - units[None, :, :]) * shared
        parts.append(gaps.sum(axis=2) / shared.sum(axis=2))
    return sum(parts) / len(parts)
