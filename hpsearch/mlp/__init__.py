"""The built-in objective and its search space: the only part of the search that calls netcore.

    objective.py   MLPObjective: train a netcore MLP with given hyperparameters, score it
    space.py       the hyperparameters' names and defaults, what the objective can use of
                   each (check_space), the standard search space (default_space)
"""

from .objective import MLPObjective
from .space import (
    ACTIVATIONS,
    ARCHITECTURE_GENES,
    INIT_SCHEMES,
    MLP_DEFAULTS,
    NAMES,
    NUMBERS,
    OPTIONAL_GENES,
    UNTRAINABLE_INITS,
    check_space,
    default_space,
)

__all__ = [
    "ACTIVATIONS", "ARCHITECTURE_GENES", "INIT_SCHEMES", "MLP_DEFAULTS", "NAMES", "NUMBERS", "OPTIONAL_GENES",
    "UNTRAINABLE_INITS", "MLPObjective", "check_space", "default_space",
]
