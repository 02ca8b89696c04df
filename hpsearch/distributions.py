"""param_distributions as scikit-learn users write them, as a Space.

    {"C": loguniform(1e-3, 1e2),          # scipy.stats: FloatGene(1e-3, 1e2, log=True)
     "l1_ratio": uniform(0, 1),           # FloatGene(0, 1)  (uniform(loc, scale): [loc, loc + scale])
     "n_estimators": randint(10, 200),    # IntGene(10, 199) (randint's high is exclusive)
     "max_depth": [3, 10, None],          # CategoricalGene (one value: ConstantGene)
     "alpha": FloatGene("alpha", 0, 1)}   # a gene as it is (its name must be the key)

sklearn-genetic-opt's space (Continuous, Integer, Categorical) maps the same way, for users
of its GASearchCV. The genetic search needs bounded ranges it samples uniformly (on a log
scale for log genes), so other scipy.stats distributions are refused with a hint rather
than approximated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .genes import CategoricalGene, ConstantGene, FloatGene, Gene, IntGene
from .space import Space

__all__ = ["space_from_distributions"]

_LOG_NAMES = ("loguniform", "reciprocal")


def space_from_distributions(distributions: Any) -> Space:
    """A Space from a dict {parameter: list, scipy.stats distribution, sklearn-genetic-opt
    dimension or gene}; a Space is returned as it is."""
    if isinstance(distributions, Space):
        return distributions
    if isinstance(distributions, (list, tuple)) and all(isinstance(d, Mapping) for d in distributions):
        raise ValueError("param_distributions: a list of dicts (several grids) is not searched by one "
                         "genetic search; give one dict, or fit one GeneticSearchCV per dict")
    if not isinstance(distributions, Mapping):
        raise TypeError(f"space: expected an hpsearch.Space or a dict of parameter distributions, "
                        f"got {type(distributions).__name__}")
    if not distributions:
        raise ValueError("param_distributions: empty; give at least one parameter")
    return Space(gene(name, value) for name, value in distributions.items())


def gene(name: Any, value: Any) -> Gene:
    """The gene for one entry of param_distributions."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"param_distributions: keys must be parameter names, got {name!r}")
    path = f"param_distributions[{name!r}]"
    try:
        return _gene(name, value, path)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(path) else f"{path}: {message}") from None


def _gene(name: str, value: Any, path: str) -> Gene:
    if isinstance(value, Gene):
        if value.name != name:
            raise ValueError(f"a gene named {value.name!r} under the key {name!r}")
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("an empty list; give at least one value")
        values = [_plain(v) for v in value]
        return ConstantGene(name, values[0]) if len(values) == 1 else CategoricalGene(name, tuple(values))
    if type(value).__module__.startswith("sklearn_genetic"):
        return _sklearn_genetic(name, value)
    if hasattr(value, "dist") and hasattr(value, "support"):  # a frozen scipy.stats distribution
        return _scipy(name, value)
    if hasattr(value, "rvs"):
        raise ValueError(f"{type(value).__name__} is not a frozen scipy.stats distribution; "
                         f"give uniform, loguniform or randint with their bounds")
    raise ValueError(f"expected a list of values, a scipy.stats distribution or a gene, got "
                     f"{type(value).__name__} {value!r}")


def _plain(value: Any) -> Any:
    """numpy scalars as Python's (np.float64(0.1) -> 0.1), so that choices are written alike."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _scipy(name: str, distribution: Any) -> Gene:
    kind = distribution.dist.name
    low, high = (_plain(bound) for bound in distribution.support())
    if kind == "randint":
        return IntGene(name, int(low), int(high))
    if kind in _LOG_NAMES:
        return FloatGene(name, float(low), float(high), log=True)
    if kind == "uniform":
        return FloatGene(name, float(low), float(high))
    bounded = math.isfinite(low) and math.isfinite(high)
    raise ValueError(f"scipy.stats.{kind} is not searched: the genetic search samples a range "
                     f"uniformly, so give uniform, loguniform or randint"
                     + (f" (its range here is [{low}, {high}])" if bounded else " (this one is unbounded)")
                     + ", a list of values, or an hpsearch gene")


def _sklearn_genetic(name: str, dimension: Any) -> Gene:
    kind = type(dimension).__name__
    distribution = getattr(dimension, "distribution", None)
    if kind == "Categorical":
        if getattr(dimension, "priors", None) is not None:
            raise ValueError("Categorical priors are not searched (the choices are drawn uniformly); "
                             "leave priors out")
        choices = tuple(_plain(c) for c in dimension.choices)
        return ConstantGene(name, choices[0]) if len(choices) == 1 else CategoricalGene(name, choices)
    if kind in ("Continuous", "Integer") and distribution in ("uniform", "log-uniform"):
        log = distribution == "log-uniform"
        if kind == "Integer":
            return IntGene(name, int(dimension.lower), int(dimension.upper), log=log)
        return FloatGene(name, float(dimension.lower), float(dimension.upper), log=log)
    raise ValueError(f"sklearn_genetic {kind} with distribution {distribution!r} is not searched; "
                     f"give a uniform or log-uniform Continuous or Integer, or a Categorical")
