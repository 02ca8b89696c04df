"""Type aliases shared by netcore's modules (annotations only; nothing here runs at training time)."""

import os
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

# A float array of the model's dtype (float32 or float64).
Array: TypeAlias = NDArray[np.floating[Any]]
# The dtype of such an array.
FloatDType: TypeAlias = np.dtype[np.floating[Any]]
# What np.random.default_rng accepts: None, an int seed, a SeedSequence, BitGenerator or Generator.
Seed: TypeAlias = (int | np.integer[Any] | np.random.SeedSequence | np.random.BitGenerator
                   | np.random.Generator | None)
# A file path, as open() takes it.
PathLike: TypeAlias = str | os.PathLike[str]
# A metric: score (higher is better) of outputs P against targets Y.
MetricFn: TypeAlias = Callable[[Array, Array], float]
