"""Objectives for the search tests; a module of their own so worker processes can import them."""

import math
import os
import time

import numpy as np

from hpsearch.evaluate import MLPObjective
from hpsearch.space import CategoricalGene, FloatGene, IntGene, LayersGene, Space


def toy_space():
    return Space([FloatGene("x", 1e-4, 1.0, log=True), FloatGene("y", 0.0, 1.0),
                  IntGene("n", 8, 256, power_of_two=True), CategoricalGene("c", ("a", "b", "c")),
                  LayersGene("layers", 1, 3, 4, 64)])


def bowl(params, seed):
    """Known optimum 0 at x = 1e-2, y = 0.7, n = 64, c = 'b', layers = (16,)."""
    x = (math.log10(params["x"]) + 2) ** 2
    y = (params["y"] - 0.7) ** 2 * 10
    n = (math.log2(params["n"]) - 6) ** 2 / 4
    c = 0.0 if params["c"] == "b" else 0.5
    layers = params["layers"]
    depth = (len(layers) - 1) * 0.5 + abs(math.log2(layers[0] / 16)) / 4
    return {"fitness": -(x + y + n + c + depth), "noise": float(np.random.default_rng(seed).random())}


def slow_bowl(params, seed):
    time.sleep(0.05)
    return bowl(params, seed)


def troublemaker(params, seed):
    """Fails in every way the engine must survive, chosen by the categorical gene."""
    kind = params["c"]
    if kind == "a":
        raise RuntimeError("boom")
    if kind == "b" and params["y"] < 0.5:
        return {"fitness": float("nan")}
    if kind == "b":
        return {"fitness": -1.0, "status": "diverged", "reason": "loss exploded"}
    return bowl(params, seed)


def sleeper(params, seed):
    if params["c"] == "a":
        time.sleep(30)
    return bowl(params, seed)


def exit_on_a(params, seed):
    if params["c"] == "a":
        os._exit(3)
    return bowl(params, seed)


def always_fails(params, seed):
    raise ValueError("bad objective")


class MemmapProbe(MLPObjective):
    """Reports whether the training data reached this process as a memory map."""

    def __call__(self, params, seed):
        return {"fitness": float(isinstance(self.data["X_train"], np.memmap)),
                "pid": os.getpid()}
