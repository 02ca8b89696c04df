"""Search space: typed genes, plain-dict genomes, CSV rows and TOML config.

A genome is a plain ``dict`` {gene name: value} of Python-native values:
``float``, ``int``, a categorical choice (``str``/``int``/``float``/``bool``)
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

import difflib
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

import numpy as np

GENE_KINDS = ("categorical", "constant", "float", "int", "layers")

# Mirrors netcore's weight-init and activation names; not imported so that the
# search space can be built and tested without netcore.
INIT_SCHEMES = (
    "zeros",
    "normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
OPTIONAL_GENES = ("activation", "weight_decay")


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


# ---------------------------------------------------------------- helpers


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def _scalar_type(value: Any) -> str | None:
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


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return _scalar_type(a) is not None and _scalar_type(a) == _scalar_type(b) and a == b


def _format_scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(float(value))  # shortest text that float() reads back exactly
    return str(value)


def _set_fields(obj: Any, **values: Any) -> None:
    # Frozen dataclasses store normalised settings (e.g. int low of a float gene -> float).
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"gene name must be a non-empty string (got {_describe(name)})")


def _check_number(gene: str, field: str, value: Any) -> float:
    if not _is_number(value):
        raise GeneError(gene, field, f"must be a number (got {_describe(value)})")
    if not math.isfinite(value):
        raise GeneError(gene, field, f"must be finite (got {value!r})")
    return float(value)


def _check_integer(gene: str, field: str, value: Any) -> int:
    if not _is_integer(value):
        raise GeneError(gene, field, f"must be an integer (got {_describe(value)})")
    return int(value)


def _check_flag(gene: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise GeneError(gene, field, f"must be true or false (got {_describe(value)})")
    return value


def _unit(x: float, low: float, high: float) -> float:
    if high <= low:
        return 0.0
    return min(max((x - low) / (high - low), 0.0), 1.0)


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    candidates = sorted(candidates)
    close = difflib.get_close_matches(word, candidates, n=1)
    hint = f"did you mean {close[0]!r}?; " if close else ""
    return f"({hint}valid: {', '.join(candidates)})"


# ---------------------------------------------------------------- genes


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


def _order_error(name: str, low: Any, high: Any) -> GeneError:
    return GeneError(
        name,
        "low",
        f"must be < high (got low {low!r}, high {high!r})",
        message=f"{name}: low ({low!r}) must be < high ({high!r})",
    )


@dataclass(frozen=True)
class FloatGene(Gene):
    """A real number in [low, high]; with ``log=True`` searched on a log10 scale."""

    name: str
    low: float
    high: float
    log: bool = False
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        _check_name(self.name)
        low = _check_number(self.name, "low", self.low)
        high = _check_number(self.name, "high", self.high)
        _check_flag(self.name, "log", self.log)
        if self.log and low <= 0:
            raise GeneError(self.name, "low", f"must be > 0 on a log scale (got {low!r})")
        if low >= high:
            raise _order_error(self.name, low, high)
        if not math.isfinite(high - low):
            # Operators scale steps by high - low; an infinite width would turn them into NaN.
            raise GeneError(self.name, "high", f"must be within a finite distance of low (got {high!r})")
        _set_fields(self, low=low, high=high)

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
            raise self._fail(f"must be a float (got {_describe(value)})")
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

    With ``power_of_two=True`` the values are the powers of two in [low, high]
    and the encoded scale is the exponent (``log`` and ``step`` do not apply).
    """

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    power_of_two: bool = False
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        _check_name(self.name)
        low = _check_integer(self.name, "low", self.low)
        high = _check_integer(self.name, "high", self.high)
        _check_flag(self.name, "log", self.log)
        step = _check_integer(self.name, "step", self.step)
        _check_flag(self.name, "power_of_two", self.power_of_two)
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
        _set_fields(self, low=low, high=high, step=step)

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
            raise self._fail(f"must be an int (got {_describe(value)})")
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
class CategoricalGene(Gene):
    """One of a fixed tuple of str/int/float/bool choices."""

    name: str
    choices: tuple
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.choices, (tuple, list)):
            raise GeneError(self.name, "choices", f"must be a list of values (got {_describe(self.choices)})")
        choices = tuple(self.choices)
        if not choices:
            raise GeneError(self.name, "choices", "must not be empty")
        for choice in choices:
            if _scalar_type(choice) is None:
                raise GeneError(
                    self.name,
                    "choices",
                    f"must hold strings, integers, floats or booleans (got {_describe(choice)})",
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
        _set_fields(self, choices=choices)

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
class LayersGene(Gene):
    """Hidden layer sizes: a tuple of min_layers..max_layers ints in [low, high].

    Sizes are searched on a log10 scale by default because 8 -> 16 units
    matters as much as 512 -> 1024.
    """

    name: str
    min_layers: int
    max_layers: int
    low: int
    high: int
    log: bool = True
    kind: ClassVar[str] = "layers"

    def __post_init__(self) -> None:
        _check_name(self.name)
        min_layers = _check_integer(self.name, "min_layers", self.min_layers)
        max_layers = _check_integer(self.name, "max_layers", self.max_layers)
        low = _check_integer(self.name, "low", self.low)
        high = _check_integer(self.name, "high", self.high)
        _check_flag(self.name, "log", self.log)
        if min_layers < 1:
            raise GeneError(self.name, "min_layers", f"must be >= 1 (got {min_layers})")
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
        _set_fields(self, min_layers=min_layers, max_layers=max_layers, low=low, high=high)

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
        if not isinstance(value, tuple) or not all(_scalar_type(size) == "int" for size in value):
            raise self._fail(f"must be a tuple of ints (got {_describe(value)})")
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


@dataclass(frozen=True)
class ConstantGene(Gene):
    """A setting fixed to one value instead of searched (a list becomes a tuple)."""

    name: str
    value: Any
    kind: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        _check_name(self.name)
        value = tuple(self.value) if isinstance(self.value, list) else self.value
        for item in value if isinstance(value, tuple) else (value,):
            if _scalar_type(item) is None:
                raise GeneError(
                    self.name,
                    "value",
                    f"must be a string, number, boolean or a list of those (got {_describe(self.value)})",
                )
            if isinstance(item, float) and math.isnan(item):
                raise GeneError(self.name, "value", "must not be NaN")
        _set_fields(self, value=value)

    @property
    def searchable(self) -> bool:
        return False

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def validate(self, value: Any) -> None:
        if not _same_value(value, self.value):
            raise self._fail(f"must be the constant {self.value!r} (got {_describe(value)})")

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


_GENE_CLASSES: dict[str, type[Gene]] = {
    "categorical": CategoricalGene,
    "constant": ConstantGene,
    "float": FloatGene,
    "int": IntGene,
    "layers": LayersGene,
}


def _config_keys(gene_class: type[Gene]) -> tuple[list[str], list[str]]:
    """(allowed keys, required keys) of a gene kind's config table."""
    settings = [field for field in fields(gene_class) if field.name != "name"]  # type: ignore[arg-type]
    allowed = ["kind"] + [field.name for field in settings]
    required = [field.name for field in settings if field.default is MISSING]
    return allowed, required


def _gene_from_config(name: Any, entry: Any) -> Gene:
    if not isinstance(name, str) or not name:
        raise ValueError(f"space: gene names must be non-empty strings (got {_describe(name)})")
    path = f"space.{name}"
    if not isinstance(entry, Mapping):
        entry = {"kind": "constant", "value": entry}  # a bare scalar or list fixes the gene
    elif "kind" not in entry:
        if "value" not in entry:
            raise ValueError(f"{path}.kind: missing (valid: {', '.join(GENE_KINDS)})")
        entry = {"kind": "constant", **entry}
    kind = entry["kind"]
    if not isinstance(kind, str):
        raise ValueError(f"{path}.kind: must be a string (got {_describe(kind)})")
    if kind not in _GENE_CLASSES:
        raise ValueError(f"{path}.kind: unknown gene kind {kind!r} {_did_you_mean(kind, GENE_KINDS)}")
    gene_class = _GENE_CLASSES[kind]
    allowed, required = _config_keys(gene_class)
    for key in entry:
        if key not in allowed:
            raise ValueError(
                f"{path}.{key}: unknown key for a {kind} gene {_did_you_mean(str(key), allowed)}"
            )
    for key in required:
        if key not in entry:
            raise ValueError(f"{path}.{key}: missing (required for a {kind} gene)")
    settings = {key: value for key, value in entry.items() if key != "kind"}
    try:
        return gene_class(name=name, **settings)
    except GeneError as error:
        raise ValueError(f"space.{error.gene}.{error.field}: {error.problem}") from None


# ---------------------------------------------------------------- space


class Space:
    """An ordered collection of genes with unique names."""

    def __init__(self, genes: Iterable[Gene]):
        genes = tuple(genes)
        if not genes:
            raise ValueError("Space: needs at least one gene")
        by_name: dict[str, Gene] = {}
        for gene in genes:
            if not isinstance(gene, Gene):
                raise ValueError(f"Space: expected genes, got {_describe(gene)}")
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

    def __iter__(self) -> Iterator[Gene]:
        return iter(self._genes)

    def __len__(self) -> int:
        return len(self._genes)

    def __getitem__(self, name: str) -> Gene:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown gene {name!r} {_did_you_mean(str(name), self._by_name)}") from None

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
            raise ValueError(f"genome: must be a dict (got {_describe(genome)})")
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
        floats exact.
        """
        missing = [name for name in self._by_name if name not in row]
        if missing:
            raise ValueError("row: missing columns " + ", ".join(repr(name) for name in missing))
        genome = {}
        for gene in self._genes:
            cell = row[gene.name]
            genome[gene.name] = gene.parse(cell if isinstance(cell, str) else str(cell))
        self.validate(genome)
        return genome

    # -- population statistics

    def diversity(self, genomes: Iterable[Mapping[str, Any]]) -> float:
        """Mean pairwise distance in [0, 1] over the searchable genes.

        distance(a, b) = mean over searchable genes of the gene distance:
        numeric |unit(a) - unit(b)|; categorical 0 if equal else 1; layers the
        mean of |depth unit difference| and the mean |size unit difference|
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
        Errors are ValueErrors starting with the key path ``space.<gene>.<key>: ``.
        """
        if not isinstance(table, Mapping):
            raise ValueError(f"space: must be a table of genes (got {_describe(table)})")
        if not table:
            raise ValueError("space: must define at least one gene")
        return cls(_gene_from_config(name, entry) for name, entry in table.items())

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


def default_space(extra: Iterable[str] = ()) -> Space:
    """The standard MLP search space; ``extra`` adds optional genes from
    OPTIONAL_GENES ("activation", "weight_decay"), appended in that order."""
    extra = (extra,) if isinstance(extra, str) else tuple(extra)
    unknown = [name for name in extra if name not in OPTIONAL_GENES]
    if unknown:
        raise ValueError(
            f"default_space: unknown optional gene {unknown[0]!r} {_did_you_mean(unknown[0], OPTIONAL_GENES)}"
        )
    genes: list[Gene] = [
        FloatGene("learning_rate", 1e-4, 1.0, log=True),
        FloatGene("momentum", 0.0, 0.99),
        LayersGene("hidden_sizes", min_layers=1, max_layers=4, low=8, high=1024, log=True),
        IntGene("batch_size", 8, 1024, power_of_two=True),
        IntGene("epochs", 2, 50),
        CategoricalGene("init", INIT_SCHEMES),
    ]
    if "activation" in extra:
        genes.append(CategoricalGene("activation", ACTIVATIONS))
    if "weight_decay" in extra:
        genes.append(FloatGene("weight_decay", 1e-6, 1e-2, log=True))
    return Space(genes)
