"""Numeric genes, searched in an encoded scale: FloatGene, IntGene and LayersGene."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..checks import MAX_LAYERS
from .base import (
    Gene,
    GeneError,
    check_flag,
    check_integer,
    check_name,
    check_number,
    describe,
    scalar_type,
    set_fields,
)


def _is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def _unit(x: float, low: float, high: float) -> float:
    if high <= low:
        return 0.0
    return min(max((x - low) / (high - low), 0.0), 1.0)


def _order_error(name: str, low: Any, high: Any) -> GeneError:
    return GeneError(
        name,
        "low",
        f"must be < high (got low {low!r}, high {high!r})",
        message=f"{name}: low ({low!r}) must be < high ({high!r})",
    )


@dataclass(frozen=True)
class FloatGene(Gene):
    """A real number in [low, high]; with ``log=True`` searched on a log10 scale.

    Attributes:
        name: the hyperparameter's name (a key of the genome and a column of trials.csv).
        low: the smallest value.
        high: the largest value (> low).
        log: search log10(value), for scales such as a learning rate (then low > 0).
    """

    name: str
    low: float
    high: float
    log: bool = False
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        check_name(self.name)
        low = check_number(self.name, "low", self.low)
        high = check_number(self.name, "high", self.high)
        check_flag(self.name, "log", self.log)
        if self.log and low <= 0:
            raise GeneError(self.name, "low", f"must be > 0 on a log scale (got {low!r})")
        if low >= high:
            raise _order_error(self.name, low, high)
        if not math.isfinite(high - low):
            # Operators scale steps by high - low; an infinite width would turn them into NaN.
            raise GeneError(self.name, "high", f"must be within a finite distance of low (got {high!r})")
        set_fields(self, low=low, high=high)

    @property
    def encoded_low(self) -> float:
        return self.encode(self.low)

    @property
    def encoded_high(self) -> float:
        return self.encode(self.high)

    def encode(self, value: float) -> float:
        return math.log10(value) if self.log else float(value)

    def decode(self, x: float) -> float:
        """Encoded position -> value, clipped into [low, high] against rounding."""
        value = 10.0**x if self.log else float(x)
        return min(max(value, self.low), self.high)

    def sample(self, rng: np.random.Generator) -> float:
        return self.decode(rng.uniform(self.encoded_low, self.encoded_high))

    def validate(self, value: Any) -> None:
        if not isinstance(value, float):
            raise self._fail(f"must be a float (got {describe(value)})")
        if not self.low <= value <= self.high:
            raise self._fail(f"{value!r} is out of bounds [{self.low!r}, {self.high!r}]")

    def to_unit(self, value: float) -> float:
        return _unit(self.encode(value), self.encoded_low, self.encoded_high)

    def format(self, value: float) -> str:
        return repr(float(value))

    def parse(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise self._parse_failed(text, "a float") from None


@dataclass(frozen=True)
class IntGene(Gene):
    """An integer on the grid low, low + step, ... <= high.

    Attributes:
        name: the hyperparameter's name.
        low: the smallest value.
        high: the largest value (>= low).
        log: search on a log10 scale (then low > 0).
        step: the grid's spacing.
        power_of_two: the values are the powers of two in [low, high] and the encoded
            scale is the exponent (``log`` and ``step`` do not apply).
    """

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    power_of_two: bool = False
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        check_name(self.name)
        low = check_integer(self.name, "low", self.low)
        high = check_integer(self.name, "high", self.high)
        check_flag(self.name, "log", self.log)
        step = check_integer(self.name, "step", self.step)
        check_flag(self.name, "power_of_two", self.power_of_two)
        if step < 1:
            raise GeneError(self.name, "step", f"must be >= 1 (got {step})")
        if self.power_of_two:
            for field, value in (("low", low), ("high", high)):
                if not _is_power_of_two(value):
                    raise GeneError(self.name, field, f"must be a power of two (got {value})")
            if step != 1:
                raise GeneError(self.name, "step", f"must be 1 with power_of_two (got {step})")
        if self.log and low <= 0:
            raise GeneError(self.name, "low", f"must be > 0 on a log scale (got {low})")
        if low >= high:
            raise _order_error(self.name, low, high)
        if step > high - low:
            # A one-value grid is a constant in disguise; ConstantGene says so explicitly.
            raise GeneError(self.name, "step", f"must be <= high - low (got {step} > {high - low})")
        set_fields(self, low=low, high=high, step=step)

    @property
    def grid_high(self) -> int:
        """The largest value on the grid (high itself only when the grid reaches it)."""
        return self.low + (self.high - self.low) // self.step * self.step

    @property
    def grid_size(self) -> int:
        if self.power_of_two:
            return self.high.bit_length() - self.low.bit_length() + 1
        return (self.high - self.low) // self.step + 1

    @property
    def encoded_low(self) -> float:
        return self.encode(self.low)

    @property
    def encoded_high(self) -> float:
        return self.encode(self.grid_high)

    def encode(self, value: int) -> float:
        if self.power_of_two:
            return math.log2(value)
        return math.log10(value) if self.log else float(value)

    def decode(self, x: float) -> int:
        """Encoded position -> nearest grid value, clipped into the grid."""
        if self.power_of_two:
            exponent = min(max(round(x), self.low.bit_length() - 1), self.high.bit_length() - 1)
            return 2**exponent
        value = 10.0**x if self.log else x
        index = min(max(round((value - self.low) / self.step), 0), self.grid_size - 1)
        return self.low + index * self.step

    def sample(self, rng: np.random.Generator) -> int:
        if self.log and not self.power_of_two:
            return self.decode(rng.uniform(self.encoded_low, self.encoded_high))
        # Uniform over grid positions; for powers of two that is log-uniform.
        index = int(rng.integers(self.grid_size))
        if self.power_of_two:
            return self.low << index
        return self.low + index * self.step

    def validate(self, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(f"must be an int (got {describe(value)})")
        if not self.low <= value <= self.high:
            raise self._fail(f"{value} is out of bounds [{self.low}, {self.high}]")
        if self.power_of_two:
            if not _is_power_of_two(value):
                raise self._fail(f"{value} is not a power of two")
        elif (value - self.low) % self.step:
            raise self._fail(
                f"{value} is off the grid {self.low}, {self.low + self.step}, ... (step {self.step})"
            )

    def to_unit(self, value: int) -> float:
        return _unit(self.encode(value), self.encoded_low, self.encoded_high)

    def format(self, value: int) -> str:
        return str(value)

    def parse(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise self._parse_failed(text, "an int") from None


@dataclass(frozen=True)
class LayersGene(Gene):
    """Hidden layer sizes: a tuple of min_layers..max_layers ints in [low, high].

    Sizes are searched on a log10 scale by default because 8 -> 16 units
    matters as much as 512 -> 1024. trials.csv writes them as 256-128, with the depth in
    its own column (n_layers).

    Attributes:
        name: the hyperparameter's name (the MLP's is "hidden_sizes").
        min_layers: the fewest layers (>= 1).
        max_layers: the most layers (>= min_layers).
        low: the fewest units in a layer.
        high: the most units in a layer.
        log: search the sizes on a log10 scale (the default).
    """

    name: str
    min_layers: int
    max_layers: int
    low: int
    high: int
    log: bool = True
    kind: ClassVar[str] = "layers"

    def __post_init__(self) -> None:
        check_name(self.name)
        min_layers = check_integer(self.name, "min_layers", self.min_layers)
        max_layers = check_integer(self.name, "max_layers", self.max_layers)
        low = check_integer(self.name, "low", self.low)
        high = check_integer(self.name, "high", self.high)
        check_flag(self.name, "log", self.log)
        if min_layers < 1:
            raise GeneError(self.name, "min_layers", f"must be >= 1 (got {min_layers})")
        if max_layers > MAX_LAYERS:  # operators and distances work on max_layers slots
            raise GeneError(self.name, "max_layers", f"must be <= {MAX_LAYERS} (got {max_layers})")
        if max_layers < min_layers:
            raise GeneError(
                self.name,
                "max_layers",
                f"must be >= min_layers (got {max_layers} < {min_layers})",
                message=f"{self.name}: min_layers ({min_layers}) must be <= max_layers ({max_layers})",
            )
        if low < 1:
            raise GeneError(self.name, "low", f"must be >= 1 (got {low})")
        if high < low:
            raise GeneError(
                self.name,
                "high",
                f"must be >= low (got {high} < {low})",
                message=f"{self.name}: low ({low}) must be <= high ({high})",
            )
        set_fields(self, min_layers=min_layers, max_layers=max_layers, low=low, high=high)

    @property
    def searchable(self) -> bool:
        return self.max_layers > self.min_layers or self.high > self.low

    @property
    def size_encoded_low(self) -> float:
        return self.encode_size(self.low)

    @property
    def size_encoded_high(self) -> float:
        return self.encode_size(self.high)

    def encode_size(self, size: int) -> float:
        return math.log10(size) if self.log else float(size)

    def decode_size(self, x: float) -> int:
        size = round(10.0**x if self.log else x)
        return min(max(size, self.low), self.high)

    def size_to_unit(self, size: int) -> float:
        return _unit(self.encode_size(size), self.size_encoded_low, self.size_encoded_high)

    def depth_to_unit(self, depth: int) -> float:
        return _unit(depth, self.min_layers, self.max_layers)

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        depth = int(rng.integers(self.min_layers, self.max_layers + 1))
        return tuple(
            self.decode_size(rng.uniform(self.size_encoded_low, self.size_encoded_high)) for _ in range(depth)
        )

    def validate(self, value: Any) -> None:
        if not isinstance(value, tuple) or not all(scalar_type(size) == "int" for size in value):
            raise self._fail(f"must be a tuple of ints (got {describe(value)})")
        if not self.min_layers <= len(value) <= self.max_layers:
            raise self._fail(f"depth {len(value)} is out of bounds [{self.min_layers}, {self.max_layers}]")
        for position, size in enumerate(value):
            if not self.low <= size <= self.high:
                raise self._fail(
                    f"size {size} of layer {position} is out of bounds [{self.low}, {self.high}]"
                )

    def to_unit(self, value: tuple[int, ...]) -> float:
        parts = []
        if self.max_layers > self.min_layers:
            parts.append(self.depth_to_unit(len(value)))
        if self.high > self.low:
            parts.append(sum(self.size_to_unit(size) for size in value) / len(value))
        return sum(parts) / len(parts) if parts else 0.0

    def format(self, value: tuple[int, ...]) -> str:
        return "-".join(str(size) for size in value)

    def parse(self, text: str) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in text.split("-"))
        except ValueError:
            raise self._parse_failed(text, "layer sizes like '256-128'") from None
