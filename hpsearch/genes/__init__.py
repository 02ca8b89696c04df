"""Genes: the typed, named entries of a search space, and their TOML config tables.

A genome is a plain ``dict`` {gene name: value} of Python-native values:
``float``, ``int``, a categorical choice (``str``/``int``/``float``/``bool``/``None``;
a TOML config writes None as ``{ none = true }``)
and a ``tuple`` of ints for hidden layer sizes. Genes describe which values
are allowed; the genetic operators live in :mod:`hpsearch.operators`.

Scales. Every numeric gene has an *encoded* scale in which sampling,
crossover, mutation and distances work: ``log10(value)`` for log genes, the
exponent ``log2(value)`` for power-of-two ints, the value itself otherwise.
``to_unit`` maps the encoded range linearly onto [0, 1]; categoricals map to
``index / (k - 1)``. For a layers gene ``to_unit`` is the mean of the depth
unit ``(depth - min_layers) / (max_layers - min_layers)`` and the mean size
unit of its layers, counting only parts that can vary.

Every random draw comes from the ``np.random.Generator`` passed in as ``rng``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from ..checks import key_path, unknown
from .base import Gene, GeneError, describe
from .choices import NONE_TABLE, CategoricalGene, ConstantGene
from .numeric import FloatGene, IntGene, LayersGene

__all__ = ["GENE_KINDS", "CategoricalGene", "ConstantGene", "FloatGene", "Gene", "GeneError", "IntGene",
           "LayersGene", "describe", "gene_from_config"]

_GENE_CLASSES: dict[str, type[Gene]] = {
    gene_class.kind: gene_class
    for gene_class in (CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene)
}
GENE_KINDS = tuple(_GENE_CLASSES)  # as config errors list them: sorted


def _config_keys(gene_class: type[Gene]) -> tuple[list[str], list[str]]:
    """(allowed keys, required keys) of a gene kind's config table."""
    settings = [field for field in fields(gene_class) if field.name != "name"]  # type: ignore[arg-type]
    allowed = ["kind"] + [field.name for field in settings]
    required = [field.name for field in settings if field.default is MISSING]
    return allowed, required


def _from_toml(value: Any) -> Any:
    """TOML has no null: a config spells None as the table { none = true } (NONE_TABLE)."""
    return None if isinstance(value, Mapping) and dict(value) == NONE_TABLE else value


def gene_from_config(name: Any, entry: Any) -> Gene:
    """The gene `name` from its config table; errors start with the key path ``space.<gene>.<key>: ``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"space: gene names must be non-empty strings (got {describe(name)})")
    path = key_path("space", name)
    if not isinstance(entry, Mapping):
        entry = {"kind": "constant", "value": entry}  # a bare scalar or list fixes the gene
    elif "kind" not in entry:
        if "value" not in entry:
            raise ValueError(f"{path}.kind: missing (valid: {', '.join(GENE_KINDS)})")
        entry = {"kind": "constant", **entry}
    kind = entry["kind"]
    if not isinstance(kind, str):
        raise ValueError(f"{path}.kind: must be a string (got {describe(kind)})")
    if kind not in _GENE_CLASSES:
        raise unknown(f"{path}.kind", f"unknown gene kind {kind!r}", kind, GENE_KINDS)
    gene_class = _GENE_CLASSES[kind]
    allowed, required = _config_keys(gene_class)
    for key in entry:
        if key not in allowed:
            raise unknown(key_path(path, key), f"unknown key for a {kind} gene", key, sorted(allowed))
    for key in required:
        if key not in entry:
            raise ValueError(f"{key_path(path, key)}: missing (required for a {kind} gene)")
    settings = {key: value for key, value in entry.items() if key != "kind"}
    if kind == "categorical" and isinstance(settings["choices"], list):
        settings["choices"] = [_from_toml(choice) for choice in settings["choices"]]
    if kind == "constant":
        settings["value"] = _from_toml(settings["value"])
    try:
        return gene_class(name=name, **settings)  # type: ignore[call-arg]  # every kind is a dataclass
    except GeneError as error:
        raise ValueError(f"{path}.{error.field}: {error.problem}") from None
