"""Weight initialisation schemes: name -> initializer(fan_in, fan_out, rng, dtype) -> W.

Biases always start at zero; these functions only make weight matrices of shape
(fan_in, fan_out), drawn directly in the requested dtype from the caller's Generator.
"""

import math
from collections.abc import Callable
from typing import TypeAlias

import numpy as np

from ._types import Array, FloatDType

SMALL_UNIFORM_LIMIT = 0.05

# initializer(fan_in, fan_out, rng, dtype) -> W of shape (fan_in, fan_out).
Initializer: TypeAlias = Callable[[int, int, np.random.Generator, FloatDType], Array]
# scale(fan_in, fan_out) -> the standard deviation or the uniform limit.
_Scale: TypeAlias = Callable[[int, int], float]


def _normal(std: _Scale) -> Initializer:
    def init(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: FloatDType) -> Array:
        W = rng.standard_normal((fan_in, fan_out), dtype=dtype)
        W *= std(fan_in, fan_out)
        return W

    return init


def _uniform(limit: _Scale) -> Initializer:
    def init(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: FloatDType) -> Array:
        a = limit(fan_in, fan_out)
        W = rng.random((fan_in, fan_out), dtype=dtype)
        W *= 2 * a
        W -= a
        return W

    return init


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: FloatDType) -> Array:
    # Allowed on purpose: every hidden unit then gets the same gradient (the symmetry lesson).
    return np.zeros((fan_in, fan_out), dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": _normal(lambda fan_in, fan_out: 1.0),
    "uniform": _uniform(lambda fan_in, fan_out: SMALL_UNIFORM_LIMIT),
    "xavier_normal": _normal(lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    "xavier_uniform": _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out))),
    "he_normal": _normal(lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
    "he_uniform": _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
    "lecun_normal": _normal(lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
}

ALIASES: dict[str, str] = {
    "random": "normal",
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
}


def get_initializer(name: str) -> Initializer:
    try:
        return INITIALIZERS[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(INITIALIZERS) + sorted(ALIASES))
        raise ValueError(f"unknown init scheme {name!r}; valid: {valid}") from None
