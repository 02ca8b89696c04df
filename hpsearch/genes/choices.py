"""Genes whose values are listed rather than ranged: CategoricalGene and ConstantGene."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .base import Gene, GeneError, check_name, describe, scalar_type, set_fields


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return scalar_type(a) is not None and scalar_type(a) == scalar_type(b) and a == b


def _format_scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(float(value))  # shortest text that float() reads back exactly
    return str(value)


@dataclass(frozen=True)
class CategoricalGene(Gene):
    """One of a fixed tuple of str/int/float/bool choices.

    Attributes:
        name: the hyperparameter's name.
        choices: the values, at least one, all distinct.
    """

    name: str
    choices: tuple
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        check_name(self.name)
        if not isinstance(self.choices, (tuple, list)):
            raise GeneError(self.name, "choices", f"must be a list of values (got {describe(self.choices)})")
        choices = tuple(self.choices)
        if not choices:
            raise GeneError(self.name, "choices", "must not be empty")
        for choice in choices:
            if scalar_type(choice) is None:
                raise GeneError(
                    self.name,
                    "choices",
                    f"must hold strings, integers, floats or booleans (got {describe(choice)})",
                )
            if isinstance(choice, float) and math.isnan(choice):
                raise GeneError(self.name, "choices", "must not contain NaN")
        for i, first in enumerate(choices):
            for second in choices[i + 1 :]:
                # 1 == 1.0 == True: such pairs would also collide as cache keys.
                if first == second:
                    raise GeneError(self.name, "choices", f"must be distinct (got {first!r} and {second!r})")
                if _format_scalar(first) == _format_scalar(second):
                    raise GeneError(
                        self.name,
                        "choices",
                        f"must be written differently in CSV ({first!r} and {second!r} "
                        f"are both {_format_scalar(first)!r})",
                    )
        set_fields(self, choices=choices)

    @property
    def searchable(self) -> bool:
        return len(self.choices) > 1

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if _same_value(choice, value):
                return i
        raise self._fail(f"{value!r} is not one of the choices {self.choices!r}")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def validate(self, value: Any) -> None:
        self.index(value)

    def to_unit(self, value: Any) -> float:
        return self.index(value) / (len(self.choices) - 1) if len(self.choices) > 1 else 0.0

    def format(self, value: Any) -> str:
        return _format_scalar(value)

    def parse(self, text: str) -> Any:
        for choice in self.choices:
            if _format_scalar(choice) == text:
                return choice
        written = ", ".join(_format_scalar(choice) for choice in self.choices)
        raise self._parse_failed(text, f"one of: {written}")


@dataclass(frozen=True)
class ConstantGene(Gene):
    """A setting fixed to one value instead of searched (a list becomes a tuple).

    Attributes:
        name: the hyperparameter's name.
        value: the value every genome has.
    """

    name: str
    value: Any
    kind: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        check_name(self.name)
        value = tuple(self.value) if isinstance(self.value, list) else self.value
        for item in value if isinstance(value, tuple) else (value,):
            if scalar_type(item) is None:
                raise GeneError(
                    self.name,
                    "value",
                    f"must be a string, number, boolean or a list of those (got {describe(self.value)})",
                )
            if isinstance(item, float) and math.isnan(item):
                raise GeneError(self.name, "value", "must not be NaN")
        set_fields(self, value=value)

    @property
    def searchable(self) -> bool:
        return False

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def validate(self, value: Any) -> None:
        if not _same_value(value, self.value):
            raise self._fail(f"must be the constant {self.value!r} (got {describe(value)})")

    def to_unit(self, value: Any) -> float:
        return 0.0

    def format(self, value: Any) -> str:
        if isinstance(value, tuple):
            return "-".join(_format_scalar(item) for item in value)
        return _format_scalar(value)

    def parse(self, text: str) -> Any:
        # Only one value is possible, so comparing texts inverts format exactly.
        if text != self.format(self.value):
            raise self._parse_failed(text, f"the constant {self.format(self.value)!r}")
        return self.value
