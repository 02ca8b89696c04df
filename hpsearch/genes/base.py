"""What every gene shares: the Gene interface, GeneError, and checks of gene settings."""

from __future__ import annotations

import math
import numbers
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from ..checks import MAX_EXACT_INTEGER


class GeneError(ValueError):
    """A gene setting breaks a rule.

    Remembers which setting (``field``) so that :meth:`Space.from_config` can
    report the key path ``space.<gene>.<field>: <problem>``.
    """

    def __init__(self, gene: str, field: str, problem: str, message: str | None = None):
        self.gene = gene
        self.field = field
        self.problem = problem
        super().__init__(message or f"{gene}: {field} {problem}")


def describe(value: Any) -> str:
    """A value as error messages show it: its type and repr."""
    return f"{type(value).__name__} {value!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def scalar_type(value: Any) -> str | None:
    """The CSV/TOML type of a scalar; bool is kept apart from int because
    ``True == 1`` would otherwise let a bool pass as an int choice."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return None


def set_fields(obj: Any, **values: Any) -> None:
    # Frozen dataclasses store normalised settings (e.g. int low of a float gene -> float).
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"gene name must be a non-empty string (got {describe(name)})")


def check_number(gene: str, field: str, value: Any) -> float:
    if not _is_number(value):
        raise GeneError(gene, field, f"must be a number (got {describe(value)})")
    try:
        result = float(value)
    except OverflowError:  # an integer past the float range
        raise GeneError(gene, field, f"out of the float range (±1.8e308) (got {value})") from None
    if not math.isfinite(result):
        raise GeneError(gene, field, f"must be finite (got {value!r})")
    return result


def check_integer(gene: str, field: str, value: Any) -> int:
    if not _is_integer(value):
        raise GeneError(gene, field, f"must be an integer (got {describe(value)})")
    if abs(value) > MAX_EXACT_INTEGER:  # searched on a float scale, which would round it
        raise GeneError(gene, field, f"must be between -2**53 and 2**53 (got {value})")
    return int(value)


def check_flag(gene: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise GeneError(gene, field, f"must be true or false (got {describe(value)})")
    return value


class Gene:
    """Base of all genes: one named entry of a genome."""

    kind: ClassVar[str]
    name: str

    @property
    def searchable(self) -> bool:
        """True when the gene can take more than one value (operators skip the rest)."""
        return True

    def sample(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def validate(self, value: Any) -> None:
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def format(self, value: Any) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """Settings as a TOML-ready table (tuples become lists)."""
        table: dict[str, Any] = {"kind": self.kind}
        for field in fields(self):  # type: ignore[arg-type]
            if field.name != "name":
                value = getattr(self, field.name)
                table[field.name] = list(value) if isinstance(value, tuple) else value
        return table

    def _fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.name}: {problem}")

    def _parse_failed(self, text: str, expected: str) -> ValueError:
        return self._fail(f"cannot parse {text!r} as {expected}")
