"""Objectives for the population-based training tests (importable by worker processes)."""

import math
import time

import numpy as np

from hpsearch.datasets import Splits
from hpsearch.space import CategoricalGene, FloatGene, LayersGene, Space


def descent_space():
    """learning_rate and momentum are explored; hidden_sizes and init are fixed genes (the toy
    ignores them, the engine must still never perturb them)."""
    return Space([FloatGene("learning_rate", 0.01, 1.0, log=True), FloatGene("momentum", 0.0, 0.9),
                  LayersGene("hidden_sizes", 1, 2, 4, 64), CategoricalGene("init", ("a", "b", "c"))])


class NoisyDescent:
    """A PBT toy (as in Jaderberg et al.): the state is a point descending the quadratic bowl
    |x|^2 with noisy gradients, so a high learning rate makes fast progress and a low one
    ends nearer the bottom. The state file also keeps every seed it was trained with: the
    trail of a member's weights through continues and exploits.

    Failure injection: learning_rate above `raise_above` raises; above `diverge_above`
    returns status "diverged". `sleep` seconds per step make a run slow enough to kill.
    """

    def __init__(self, raise_above=math.inf, diverge_above=math.inf, sleep=0.0):
        self.raise_above, self.diverge_above, self.sleep = raise_above, diverge_above, sleep

    def train_step(self, params, seed, *, first_epoch, epochs, load=None, save=None):
        time.sleep(self.sleep)
        lr = params["learning_rate"]
        if lr > self.raise_above:
            raise RuntimeError(f"learning rate {lr:.3g} is too high")
        if lr > self.diverge_above:
            return {"fitness": -1.0, "status": "diverged", "reason": "loss exploded"}
        if load is None:
            x, velocity, trail = np.full(4, 3.0), np.zeros(4), np.zeros(0, dtype=np.int64)
        else:
            with np.load(load) as state:
                x, velocity, trail = state["x"], state["velocity"], state["trail"]
        rng = np.random.default_rng(seed)
        for _ in range(10 * epochs):
            velocity = params["momentum"] * velocity - lr * (x + rng.normal(size=x.shape))
            x = x + velocity
        with open(save, "wb") as f:
            np.savez(f, x=x, velocity=velocity, trail=np.append(trail, seed))
        return {"fitness": -float(x @ x), "epochs_run": epochs}


def decay_splits():
    """A noisy nonlinear regression where SGD with a high learning rate makes fast progress
    but ends far from the bottom, and a low one is too slow: a decaying rate does best."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 8)).astype(np.float32)
    y = np.sin(X @ rng.normal(size=8) / 2) + 0.5 * X[:, 0] * X[:, 1] + rng.normal(scale=0.5, size=1000)
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    return Splits(X[:600], y[:600], X[600:800], y[600:800], X[800:], y[800:], task="regression")
