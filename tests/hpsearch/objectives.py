"""Objectives and spaces shared by the search tests; a module of their own (not a test module)
so worker processes can import the objectives, which pickle by reference."""

import hashlib
import math
import os
import signal
import time
import uuid

import numpy as np

from hpsearch.mlp import MLPObjective
from hpsearch.space import CategoricalGene, ConstantGene, FloatGene, IntGene, LayersGene, Space


def toy_space():
    return Space([FloatGene("x", 1e-4, 1.0, log=True), FloatGene("y", 0.0, 1.0),
                  IntGene("n", 8, 256, power_of_two=True), CategoricalGene("c", ("a", "b", "c")),
                  LayersGene("layers", 1, 3, 4, 64)])


def tiny_mlp_space():
    """Small nets, 2-4 epochs: an MLP trial on digits takes milliseconds."""
    return Space([FloatGene("learning_rate", 1e-3, 0.5, log=True), FloatGene("momentum", 0.0, 0.95),
                  LayersGene("hidden_sizes", 1, 2, 8, 32), IntGene("batch_size", 32, 128, power_of_two=True),
                  IntGene("epochs", 2, 4), CategoricalGene("init", ("he_uniform", "xavier_normal")),
                  ConstantGene("activation", "relu")])


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


def kills(params):
    return params["c"] == "a" and params["y"] < 0.3


def raises_where_it_kills(params, seed):
    """KillsItsWorker(always=True)'s outcomes without killing anything: failed where it kills."""
    if kills(params):
        raise RuntimeError("would kill its worker")
    return bowl(params, seed)


class KillsItsWorker:
    """bowl, but trials with c == "a" and y < 0.3 SIGKILL their own worker process: every
    time (always=True) or only the first time each one runs (a marker file per trial in
    `marker_dir` makes "first" hold across processes), like a worker lost mid-trial."""

    def __init__(self, marker_dir, always=False):
        self.marker_dir = str(marker_dir)
        self.always = always

    def __call__(self, params, seed):
        if kills(params):
            if self.always:
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                os.close(os.open(os.path.join(self.marker_dir, str(seed)), os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return bowl(params, seed)


def front_space():
    return Space([FloatGene("x", 0.0, 1.0), FloatGene("y", 0.0, 1.0), CategoricalGene("c", ("a", "b", "c"))])


def two_objectives(params, seed):
    """ZDT1-like conflict: fitness x (maximised) against "n_params" (minimised) =
    g (1 - sqrt((1 - x) / g)), g = 1 + 9 (y - 0.3)^2 >= 1. The Pareto front is y = 0.3:
    n_params = 1 - sqrt(1 - fitness), for fitness in [0, 1]; c does not matter."""
    g = 1 + 9 * (params["y"] - 0.3) ** 2
    return {"fitness": params["x"], "n_params": g * (1 - math.sqrt((1 - params["x"]) / g))}


def two_objectives_failing(params, seed):
    """two_objectives, but raising for c = 'a' with x > 0.5 (a third of the good half)."""
    if params["c"] == "a" and params["x"] > 0.5:
        raise RuntimeError("boom")
    return two_objectives(params, seed)


def slow_two_objectives(params, seed):
    time.sleep(0.03)
    return two_objectives(params, seed)


def spinner(params, seed):
    """Loops in Python forever on c == "a": only a timeout ends it."""
    while params["c"] == "a":
        time.sleep(0.01)
    return bowl(params, seed)


def blas_probe(params, seed):
    """bowl, plus the BLAS threads this trial was allowed."""
    from threadpoolctl import threadpool_info

    threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return {**bowl(params, seed), "blas_threads": max(threads)}


# How many times this process has unpickled each ScatterProbe (by token).
UNPICKLED = {}


class ScatterProbe(MLPObjective):
    """The MLP objective, also reporting how many times the process running the trial has
    unpickled it (data included): once per worker if it was scattered, else once per trial."""

    def __init__(self, splits):
        super().__init__(splits)
        self.token = uuid.uuid4().hex

    def __setstate__(self, state):
        self.__dict__.update(state)
        UNPICKLED[self.token] = UNPICKLED.get(self.token, 0) + 1

    def __call__(self, params, seed):
        return {**super().__call__(params, seed), "unpickled": UNPICKLED.get(self.token, 0)}


def curve_space():
    return Space([FloatGene("x", 1e-4, 1.0, log=True), FloatGene("y", 0.0, 1.0),
                  IntGene("epochs", 1, 27)])


def learning_curve(params, seed, reporter=None):
    """A deterministic stand-in for training: params["epochs"] epochs of a validation score
    rising towards a ceiling set by x and y, at a speed set by y (so the early ranking is not
    always the final one); stops like MLPObjective when its reporter says so, and returns a
    dict of its own with status "pruned" (no reason)."""
    from hpsearch.pruning import Reporter

    reporter = reporter or Reporter()
    ceiling = 1 / (1 + (math.log10(params["x"]) + 2) ** 2 + 10 * (params["y"] - 0.7) ** 2)
    for epoch in range(1, params["epochs"] + 1):
        if reporter.report(epoch, ceiling * (1 - math.exp(-(0.2 + params["y"]) * epoch))):
            return {"fitness": reporter.scores[-1], "status": "pruned", "epochs_run": reporter.epochs,
                    "curve": {"val_metric": reporter.scores}}
    return {"fitness": reporter.scores[-1], "epochs_run": reporter.epochs, "curve": {"val_metric": reporter.scores}}


def slow_learning_curve(params, seed, reporter=None):
    time.sleep(0.02)
    return learning_curve(params, seed, reporter)


# -- objectives that misbehave on c == "a" (tests/hpsearch/test_isolation.py) ---------------

def exits_on_a(params, seed):
    """sys.exit(4) on c == "a"."""
    if params["c"] == "a":
        import sys

        sys.exit(4)
    return bowl(params, seed)


def interrupts_on_a(params, seed):
    if params["c"] == "a":
        raise KeyboardInterrupt("from the objective")
    return bowl(params, seed)


def hard_exits_on_a(params, seed):
    if params["c"] == "a":
        os._exit(3)
    return bowl(params, seed)


def segfaults_on_a(params, seed):
    if params["c"] == "a":
        os.kill(os.getpid(), signal.SIGSEGV)
    return bowl(params, seed)


def swallows_timeout_on_a(params, seed):
    """Catches every Exception around 30 s of short sleeps and returns a normal result."""
    if params["c"] == "a":
        try:
            for _ in range(3000):  # short sleeps: a worker thread's timeout comes between them
                time.sleep(0.01)
        except Exception:
            pass
        return {"fitness": 0.0}
    return bowl(params, seed)


def ignores_timeout_on_a(params, seed):
    """Catches even BaseException (TrialTimeout included) and returns a normal result."""
    if params["c"] == "a":
        try:
            for _ in range(3000):
                time.sleep(0.01)
        except BaseException:
            pass
        return {"fitness": 0.0}
    return bowl(params, seed)


class SlowWithData:
    """bowl, with a little data to memory-map (so the Evaluator makes a temporary copy of
    it); on c == "a" it writes its pid to marker_dir/<seed>.pid and sleeps 30 s."""

    def __init__(self, marker_dir):
        self.marker_dir = str(marker_dir)
        self.data = {"x": np.arange(16.0)}

    def memmap(self, directory):
        path = os.path.join(directory, "x.npy")
        np.save(path, self.data["x"])
        self.data["x"] = np.load(path, mmap_mode="r")

    def __call__(self, params, seed):
        if params["c"] == "a":
            with open(os.path.join(self.marker_dir, f"{seed}.pid"), "w") as file:
                file.write(str(os.getpid()))
            time.sleep(30)
        return bowl(params, seed)


def chaos(params, seed):
    """Every fault at once, chosen by the parameters (so any rerun meets the same ones): raises,
    exits, overruns a 0.5 s timeout, returns NaN, kills its worker process, or works (slowly)."""
    fault = hashlib.sha256(repr(sorted(params.items())).encode()).digest()[0] % 10
    if fault == 0:
        raise RuntimeError("chaos")
    if fault == 1:
        import sys

        sys.exit(3)
    if fault == 2:
        time.sleep(5)
    if fault == 3:
        return {"fitness": float("nan")}
    if fault == 4:
        os._exit(1)
    time.sleep(0.05)
    return bowl(params, seed)


# Arm 0 is truly best (0.80); seven arms are 0.02 below it, four far below (test_racing.py).
ARMS = [0.80] + [0.78] * 7 + [0.60] * 4


class NoisyArms:
    """A genome's true mean is its arm's; each training adds noise of s.d. 0.03 drawn from its
    seed and the genome together (as a training's noise is its own: another initialisation,
    another order). delay: seconds each training sleeps (a run slow enough to be killed)."""

    def __init__(self, delay=0.0):
        self.delay = delay

    def __call__(self, params, seed):
        if self.delay:
            time.sleep(self.delay)
        rng = np.random.default_rng([seed % 2**63, params["arm"], int(params["x"] * 1e9)])
        return ARMS[params["arm"]] + rng.normal(0, 0.03)


class NoisyFront:
    """two_objectives with seed noise on both objectives (s.d. 0.03 on the fitness, 0.01 on
    "n_params"), drawn from the seed and the genome together, and `epochs_run`: the genome's
    `epochs`, else 2 + the index of c. delay: seconds each training
    sleeps (a run slow enough to be killed)."""

    def __init__(self, delay=0.0):
        self.delay = delay

    def __call__(self, params, seed):
        if self.delay:
            time.sleep(self.delay)
        clean = two_objectives(params, seed)
        epochs = params.get("epochs", 2 + "abc".index(params["c"]))
        rng = np.random.default_rng([seed % 2**63, int(params["x"] * 1e9), int(params["y"] * 1e9)])
        return {"fitness": clean["fitness"] + rng.normal(0, 0.03), "n_params": clean["n_params"] + rng.normal(0, 0.01),
                "epochs_run": epochs}
