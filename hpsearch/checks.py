"""Checks of single values, with one-line messages that name the value's key path.

Every rule about a setting is written once, in the dataclass that owns it (settings.py,
fidelity.py, the genes); these helpers only spell the messages the same way everywhere:

    population: must be >= 2, got 1
    search.selection: unknown value 'tournament' (did you mean 'generational'?; valid: ...)

Each raises `error` (ValueError unless the caller passes a subclass such as ConfigError).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Limits on sizes and durations, far beyond any real search: a value past one can only be a
# slip (10**9 genomes fill memory, 10**9 epochs never end, a 1e10 s timeout overflows the
# trial's timer), so it is refused up front with the limit in the message.
MAX_POPULATION = 100_000  # GA population, initial_size and tournament_size; PBT population
MAX_EPOCHS = 100_000  # one training's epochs: the epochs gene, PBT's steps x epochs_per_step
MAX_LAYERS = 1_000  # hidden layers of a layers gene (and of the MLP)
MAX_LAYER_SIZE = 1_000_000  # units in one hidden layer of the MLP
MAX_SECONDS = 1_000_000_000  # timeout and time_limit (about 31 years)
MAX_WORKERS = 100_000  # n_jobs (either sign) and blas_threads
MAX_RUNGS = 100  # fidelity.rungs
MAX_REDUCTION_FACTOR = 1_000  # fidelity.reduction_factor (its power rungs - 1 must stay a float)
# Not a size limit but float precision: integer genes are searched on a float scale, which
# holds every integer up to 2**53 exactly.
MAX_EXACT_INTEGER = 2**53


# A TOML bare key; any other key is written quoted, as in `objective."my key"`.
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(path: str, key: Any) -> str:
    """path.key, the key spelled as in TOML: quoted (with escapes, so the message stays one
    line) where it is not a bare key."""
    key = str(key)
    spelled = key if BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{path}.{spelled}" if path else spelled


def one_line(message: str) -> str:
    """message with line breaks and other unprintable characters escaped."""
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in message)


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
            error: type[ValueError] = ValueError, *, maximum: int | None = None) -> int:
    if not is_integer(value):
        raise error(f"{path}: expected an integer, got {show(value)}")
    if minimum is not None and value < minimum:
        raise error(f"{path}: must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise error(f"{path}: must be <= {maximum}, got {value}")
    return int(value)


def number(path: str, value: Any, error: type[ValueError] = ValueError) -> float:
    if not is_number(value):
        raise error(f"{path}: expected a number, got {show(value)}")
    try:
        result = float(value)
    except OverflowError:  # an integer past the float range (1.8e308)
        raise error(f"{path}: out of the float range (±1.8e308), got {value}") from None
    if not math.isfinite(result):
        raise error(f"{path}: must be finite, got {value!r}")
    return result


def positive(path: str, value: Any, error: type[ValueError] = ValueError, *,
             maximum: float | None = None) -> float:
    result = number(path, value, error)
    if not result > 0:
        raise error(f"{path}: must be > 0, got {value!r}")
    if maximum is not None and result > maximum:
        raise error(f"{path}: must be <= {maximum}, got {value!r}")
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
            raise unknown(key_path(path, key), "unknown key", key, allowed, error)
