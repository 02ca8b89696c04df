"""Checks of single values, with one-line messages that name the value's key path.

Every rule about a setting is written once, in the dataclass that owns it (settings.py,
fidelity.py, the genes); these helpers only spell the messages the same way everywhere:

    population: must be >= 2, got 1
    search.selection: unknown value 'tournament' (did you mean 'generational'?; valid: ...)

Each raises `error` (ValueError unless the caller passes a subclass such as ConfigError).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any


def show(value: Any) -> str:
    """A value as a message's 'got ...' part, spelled as in TOML where that differs."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def did_you_mean(word: str, candidates: Iterable[Any], cutoff: float = 0.6) -> str:
    """"did you mean 'x'?" for the candidate closest to word, or "" when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else ""


def unknown(path: str, what: str, word: str, candidates: Iterable[Any],
            error: type[ValueError] = ValueError) -> ValueError:
    """The error for a name that is not one of candidates: a hint and the valid names."""
    candidates = [str(c) for c in candidates]
    hint = did_you_mean(word, candidates)
    valid = ", ".join(candidates)
    return error(f"{path}: {what} ({hint}; valid: {valid})" if hint else f"{path}: {what} (valid: {valid})")


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer(path: str, value: Any, minimum: int | None = None,
            error: type[ValueError] = ValueError) -> int:
    if not is_integer(value):
        raise error(f"{path}: expected an integer, got {show(value)}")
    if minimum is not None and value < minimum:
        raise error(f"{path}: must be >= {minimum}, got {value}")
    return int(value)


def number(path: str, value: Any, error: type[ValueError] = ValueError) -> float:
    if not is_number(value):
        raise error(f"{path}: expected a number, got {show(value)}")
    if not math.isfinite(value):
        raise error(f"{path}: must be finite, got {value!r}")
    return float(value)


def positive(path: str, value: Any, error: type[ValueError] = ValueError) -> float:
    result = number(path, value, error)
    if not result > 0:
        raise error(f"{path}: must be > 0, got {value!r}")
    return result


def in_range(path: str, value: Any, low: float, high: float, closed: str = "[]",
             error: type[ValueError] = ValueError) -> float:
    """A number in an interval; closed says which ends belong to it, e.g. "(]"."""
    result = number(path, value, error)
    above = result >= low if closed[0] == "[" else result > low
    below = result <= high if closed[1] == "]" else result < high
    if not (above and below):
        raise error(f"{path}: must be in {closed[0]}{low:g}, {high:g}{closed[1]}, got {value!r}")
    return result


def boolean(path: str, value: Any, error: type[ValueError] = ValueError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{path}: expected true or false, got {show(value)}")
    return value


def string(path: str, value: Any, error: type[ValueError] = ValueError) -> str:
    if not isinstance(value, str):
        raise error(f"{path}: expected a string, got {show(value)}")
    if not value:
        raise error(f"{path}: must not be empty")
    return value


def choice(path: str, value: Any, choices: Iterable[str], error: type[ValueError] = ValueError) -> str:
    choices = tuple(choices)
    string(path, value, error)
    if value not in choices:
        raise unknown(path, f"unknown value {value!r}", value, choices, error)
    return value


def known_keys(path: str, table: Mapping[str, Any], allowed: Iterable[str],
               error: type[ValueError] = ValueError) -> None:
    """Every key of table is one of allowed (path.key names the first that is not)."""
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise unknown(f"{path}.{key}" if path else str(key), "unknown key", key, allowed, error)
