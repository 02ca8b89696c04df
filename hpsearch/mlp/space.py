"""The MLP's hyperparameters: their names and defaults, what the objective can use of each
(check_space), and the standard search space (default_space).

The choices of the categorical settings come from netcore's registries, so the two cannot
drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import netcore

from .. import checks
from ..checks import unknown
from ..genes import CategoricalGene, ConstantGene, FloatGene, Gene, IntGene, LayersGene
from ..space import Space

# Hyperparameters the built-in objective understands, with the values used when the search
# space leaves one out.
MLP_DEFAULTS = {
    "learning_rate": 0.01,
    "momentum": 0.9,
    "nesterov": False,
    "hidden_sizes": (100,),
    "activation": "relu",
    "init": "he_uniform",
    "batch_size": 32,
    "epochs": 20,
    "weight_decay": 0.0,
    "lr_schedule": "constant",
}


# Choices of the categorical settings, in the order of the default space's genes (a gene's
# choice order decides which index each value gets, so reordering would change searches).
# netcore's weight inits but "zeros" and "normal" (std 1), which do not train these networks
# (zeros: the units of a layer stay identical; std 1: saturated or exploding activations).
# A space may still list them in an init gene of its own (NAMES accepts them); the default
# space does not search them.
UNTRAINABLE_INITS = ("zeros", "normal")
INIT_SCHEMES = tuple(name for name in netcore.INITIALIZERS if name not in UNTRAINABLE_INITS)
# netcore's hidden activations but "identity", which would make the network linear.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")

# What the objective (netcore's MLP, SGD and fit) can use for each hyperparameter, so that a
# search space is checked before any trial runs (check_space). Names: the accepted values
# (netcore's registries: init aliases and the linear "identity" work too, they are just not
# in the default space). Numbers: (integer?, low, high, closed), as checks.in_range.
NAMES = {
    "activation": (*ACTIVATIONS, *(name for name in netcore.HIDDEN_ACTIVATIONS if name not in ACTIVATIONS)),
    "init": (*netcore.INITIALIZERS, *netcore.init.ALIASES),
    "lr_schedule": tuple(netcore.SCHEDULES),
}
NUMBERS = {
    "learning_rate": (False, 0, math.inf, "()"),
    "momentum": (False, 0, 1, "[]"),
    "weight_decay": (False, 0, math.inf, "[)"),
    "batch_size": (True, 1, math.inf, "[)"),  # fit clamps it to the training set's size
    "epochs": (True, 1, checks.MAX_EPOCHS, "[]"),
}

# Genes default_space(extra=...) can add to the standard space, in the order they are added.
OPTIONAL_GENES = ("activation", "weight_decay")

# Hyperparameters that shape the weights or the run as a whole: a trained state can only be
# continued under the same values (population-based training copies them, never perturbs them).
ARCHITECTURE_GENES = ("hidden_sizes", "init", "activation", "lr_schedule", "epochs")


def check_space(space: Space) -> None:
    """Raise ValueError, "space.<gene>: ...", for a gene that is not a hyperparameter of the MLP
    or that can take a value the MLP objective cannot use (every trial with it would fail):
    a choice or constant it does not accept, a range reaching past what it accepts, or a
    gene of the wrong kind (a float gene for an integer)."""
    for gene in space:
        name = gene.name
        if name not in MLP_DEFAULTS:
            raise unknown(checks.key_path("space", name), "not a hyperparameter of the MLP", name,
                          sorted(MLP_DEFAULTS))
        need = _requirement(name)
        if isinstance(gene, (CategoricalGene, ConstantGene)):
            values = gene.choices if isinstance(gene, CategoricalGene) else (gene.value,)
            what = "choice" if isinstance(gene, CategoricalGene) else "value"
            for value in values:
                if _usable(name, value):
                    continue
                # A TOML array fixes a gene to that array; choices to search are a categorical gene's.
                hint = (f" (an array is a constant; to search choices write {name} = "
                        f"{{kind = \"categorical\", choices = [...]}})"
                        if isinstance(value, tuple) and name != "hidden_sizes" else "")
                if name in NAMES and not hint:
                    raise unknown(f"space.{name}", f"unknown {what} {_spell(value)} for the MLP objective",
                                  str(value), NAMES[name])
                got = f"the choice {_spell(value)}" if what == "choice" else f"the constant {_spell(value)}"
                raise ValueError(f"space.{name}: the MLP objective needs {need}, got {got}{hint}")
        elif isinstance(gene, LayersGene) and name == "hidden_sizes":
            if gene.max_layers > checks.MAX_LAYERS or gene.high > checks.MAX_LAYER_SIZE:
                raise ValueError(f"space.{name}: the MLP objective needs {need}, got up to {gene.max_layers} "
                                 f"layers of up to {gene.high} units")
        elif isinstance(gene, (FloatGene, IntGene)) and name in NUMBERS:
            integer = NUMBERS[name][0]
            if integer and isinstance(gene, FloatGene):
                raise ValueError(f"space.{name}: the MLP objective needs {need}, got a float gene")
            if not (_usable(name, gene.low) and _usable(name, gene.high)):  # the ranges are intervals
                raise ValueError(f"space.{name}: the MLP objective needs {need}, "
                                 f"got the range {gene.low!r}..{gene.high!r}")
        else:
            article = "an" if gene.kind[0] in "aeiou" else "a"
            raise ValueError(f"space.{name}: the MLP objective needs {need}, got {article} {gene.kind} gene")


def _requirement(name: str) -> str:
    """What the MLP objective needs of hyperparameter `name`, for messages."""
    if name in NAMES:
        return "one of: " + ", ".join(NAMES[name])
    if name == "nesterov":
        return "true or false"
    if name == "hidden_sizes":
        return f"1 to {checks.MAX_LAYERS} hidden layers of 1 to {checks.MAX_LAYER_SIZE} units"
    integer, low, high, closed = NUMBERS[name]
    if high == math.inf:
        bounds = f"{name} {'>=' if closed[0] == '[' else '>'} {low}"
    else:
        bounds = f"{low} {'<=' if closed[0] == '[' else '<'} {name} {'<=' if closed[1] == ']' else '<'} {high}"
    return ("an integer " if integer else "") + bounds


def _usable(name: str, value: Any) -> bool:
    """Whether the MLP objective can train with `value` for hyperparameter `name`."""
    if name in NAMES:
        return isinstance(value, str) and value in NAMES[name]
    if name == "nesterov":
        return isinstance(value, bool)  # not the string "false", which would be true
    if name == "hidden_sizes":
        return (isinstance(value, tuple) and 1 <= len(value) <= checks.MAX_LAYERS
                and all(checks.is_integer(size) and 1 <= size <= checks.MAX_LAYER_SIZE for size in value))
    integer, low, high, closed = NUMBERS[name]
    if not (checks.is_integer(value) if integer else checks.is_number(value)):
        return False
    try:
        checks.in_range(name, value, low, high, closed)
    except ValueError:  # also not finite
        return False
    return True


def _spell(value: Any) -> str:
    """A value as written in TOML."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_spell(item) for item in value) + "]"
    return checks.show(value)


def default_space(extra: Iterable[str] = ()) -> Space:
    """The standard MLP search space.

    Args:
        extra: names of optional genes to add, from OPTIONAL_GENES ("activation",
            "weight_decay"), appended in that order.

    Returns:
        The Space of the built-in MLP objective's genes.
    """
    extra = (extra,) if isinstance(extra, str) else tuple(extra)
    for name in extra:
        if name not in OPTIONAL_GENES:
            raise unknown("default_space", f"unknown optional gene {name!r}", name, sorted(OPTIONAL_GENES))
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
