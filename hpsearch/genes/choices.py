"""Genes whose values are listed rather than ranged: CategoricalGene and ConstantGene.

Their values are str, int, float, bool or None (scikit-learn's "no limit", `max_depth=None`).
None is written "None" in trials.csv; pandas reads that cell back as NaN, which parse()
reads as None again, so a None choice must not sit beside a string pandas also reads as
missing ("", "nan", "NA", ...). TOML has no null: a config spells None as the table
`{ none = true }` (NONE_TABLE; genes/__init__.py reads it, to_config writes it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .base import Gene, GeneError, check_name, describe, scalar_type, set_fields

# pandas.read_csv's default na_values: a cell holding one of these reads back as NaN.
PANDAS_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
NONE_TABLE = {"none": True}  # how a TOML config spells None


def to_toml(value: Any) -> Any:
    """A value as a config holds it: None as NONE_TABLE."""
    return dict(NONE_TABLE) if value is None else value


def _same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return scalar_type(a) is not None and scalar_type(a) == scalar_type(b) and a == b


def _format_scalar(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, float):
        return repr(float(value))  # shortest text that float() reads back exactly
    return str(value)


@dataclass(frozen=True)
class CategoricalGene(Gene):
    """One of a fixed tuple of str/int/float/bool/None choices.

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
            if choice is not None and scalar_type(choice) is None:
                raise GeneError(
                    self.name,
                    "choices",
                    f"must hold strings, integers, floats, booleans or None (got {describe(choice)})",
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
        if None in choices:
            for choice in choices:
                if isinstance(choice, str) and choice in PANDAS_MISSING:
                    raise GeneError(self.name, "choices", f"must not hold both None and {choice!r} (trials.csv "
                                    f"cells of both read back as missing)")
        set_fields(self, choices=choices)

    @property
    def searchable(self) -> bool:
        return len(self.choices) > 1

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "choices": [to_toml(choice) for choice in self.choices]}

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
        if None in self.choices:
            if text in PANDAS_MISSING:  # "None" as pandas read it back: NaN
                return None
            # The NaN made pandas read the column's integers as floats ("2.0").
            for choice in self.choices:
                if scalar_type(choice) == "int" and text == repr(float(choice)):
                    return choice
        written = ", ".join(_format_scalar(choice) for choice in self.choices)
        raise self._parse_failed(text, f"one of: {written}")


@dataclass(frozen=True)
class ConstantGene(Gene):
    """A setting fixed to one value instead of searched (a list becomes a tuple; None too).

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
            if scalar_type(item) is None and not (item is None and value is None):
                raise GeneError(
                    self.name,
                    "value",
                    f"must be a string, number, boolean or a list of those, or None (got {describe(self.value)})",
                )
            if isinstance(item, float) and math.isnan(item):
                raise GeneError(self.name, "value", "must not be NaN")
        set_fields(self, value=value)

    @property
    def searchable(self) -> bool:
        return False

    def to_config(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else to_toml(self.value)
        return {"kind": self.kind, "value": value}

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
        if self.value is None and text in PANDAS_MISSING:
            return None
        if text != self.format(self.value):
            raise self._parse_failed(text, f"the constant {self.format(self.value)!r}")
        return self.value
