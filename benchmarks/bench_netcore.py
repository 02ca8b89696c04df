"""Training throughput of netcore against PyTorch CPU and scikit-learn, side by side.

Trains an MLP 784-256-128-10 (ReLU hidden layers, softmax + cross-entropy) with SGD and
momentum on Fashion-MNIST-shaped data (random float32 pixels in [0, 1], 10 classes) at
several batch sizes, with one BLAS thread for every contestant, and prints samples/s, the
ratios, and netcore's achieved GFLOP/s against the float32 GEMM rate measured here for
exactly the matrix products one training step needs.

    python benchmarks/bench_netcore.py                 # batch sizes 32 128 512
    python benchmarks/bench_netcore.py --quick         # a smoke run (CI)
    python benchmarks/bench_netcore.py --netcore-only --runs 3 --batch-sizes 8 16 32 64 128 512
                                                       # netcore's share of the GEMM rate, median of 3
    python benchmarks/bench_netcore.py --profile       # where a training step's time goes
    python benchmarks/bench_netcore.py --ceiling --runs 3 --batch-sizes 8 16 32 64 128 512
                                                       # the best share any step could reach
    python benchmarks/bench_netcore.py --netcore-only --baseline DIR   # against DIR/netcore, side by side

"torch" loops over index batches of preloaded tensors; "torch-dl" is the tutorial-style
DataLoader(TensorDataset, shuffle=True). Contestants that are not installed are reported as
skipped.
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before NumPy / torch start their pools

import numpy as np
from threadpoolctl import threadpool_limits

from netcore import MLP, SGD, fit
from netcore.train import FLUSH_EVERY

LAYERS = (784, 256, 128, 10)
# What the rates are timed on: wall time, or (--clock cpu) this thread's CPU time, which
# leaves out the moments other processes on a shared machine hold the core.
CLOCK = time.perf_counter


def flops_per_sample(layers=LAYERS):
    """Multiply-adds x 2 of one training step per sample: forward, weight gradients, and
    the deltas of every layer but the input one."""
    pairs = list(zip(layers[:-1], layers[1:]))
    forward = sum(2 * a * b for a, b in pairs)
    backward_deltas = sum(2 * a * b for a, b in pairs[1:])
    return 2 * forward + backward_deltas


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], n_samples)
    return X, y


def best_rate(run, n_samples, repeats):
    """Highest samples/s over `repeats` runs (the least disturbed by the machine's noise)."""
    times = []
    for _ in range(repeats):
        start = CLOCK()
        run()
        times.append(CLOCK() - start)
    return n_samples / min(times)


def netcore_rate(X, y, batch_size, epochs, repeats, package=None):
    """package: another copy of netcore (load_baseline) instead of this one."""
    Y = np.eye(LAYERS[-1], dtype=np.float32)[y]
    mlp, sgd, train = (MLP, SGD, fit) if package is None else (package.MLP, package.SGD, package.fit)

    def run():
        model = mlp(LAYERS, activation="relu", head="softmax_cross_entropy", init="he_uniform", rng=0)
        optimizer = sgd(model.params, learning_rate=0.01, momentum=0.9)
        train(model, optimizer, X, Y, epochs=epochs, batch_size=batch_size, rng=1)

    return best_rate(run, len(X) * epochs, repeats)


def load_baseline(checkout):
    """The netcore package under `checkout` (another commit's files, e.g. from
    `git archive COMMIT netcore | tar -x -C DIR`), imported as netcore_baseline so that it
    trains side by side with this one."""
    import importlib.util
    import sys

    package = os.path.join(checkout, "netcore")
    spec = importlib.util.spec_from_file_location("netcore_baseline", os.path.join(package, "__init__.py"),
                                                  submodule_search_locations=[package])
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: no netcore package in {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["netcore_baseline"] = module
    spec.loader.exec_module(module)
    return module


def sklearn_rate(X, y, batch_size, epochs, repeats):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run():
        clf = MLPClassifier(hidden_layer_sizes=LAYERS[1:-1], solver="sgd", learning_rate_init=0.01,
                            momentum=0.9, nesterovs_momentum=False, batch_size=batch_size,
                            max_iter=epochs, tol=0, n_iter_no_change=10**9, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return best_rate(run, len(X) * epochs, repeats)


def torch_rate(X, y, batch_size, epochs, repeats, data_loader=False):
    """PyTorch CPU: a loop over index batches of preloaded tensors, or (data_loader=True)
    the tutorial-style DataLoader(TensorDataset, shuffle=True)."""
    import torch

    torch.set_num_threads(1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def batches(generator):
        if data_loader:
            yield from torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xt, yt),
                                                   batch_size=batch_size, shuffle=True,
                                                   generator=generator)
            return
        order = torch.randperm(len(Xt), generator=generator)
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            yield Xt[idx], yt[idx]

    def run():
        torch.manual_seed(0)
        layers = []
        for a, b in zip(LAYERS[:-2], LAYERS[1:-1]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers, torch.nn.Linear(LAYERS[-2], LAYERS[-1]))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(1)
        for _ in range(epochs):
            for xb, yb in batches(generator):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()

    return best_rate(run, len(X) * epochs, repeats)


def torch_loader_rate(X, y, batch_size, epochs, repeats):
    return torch_rate(X, y, batch_size, epochs, repeats, data_loader=True)


def gemm_rate(batch_size, repeats, steps=200):
    """float32 GFLOP/s of exactly the products of one training step, buffers preallocated."""
    rng = np.random.default_rng(0)
    pairs = list(zip(LAYERS[:-1], LAYERS[1:]))
    acts = [rng.random((batch_size, a), dtype=np.float32) for a in LAYERS]
    weights = [rng.random((a, b), dtype=np.float32) for a, b in pairs]
    grads = [np.empty_like(W) for W in weights]
    deltas = [np.empty((batch_size, a), dtype=np.float32) for a in LAYERS]

    def run():
        for _ in range(steps):
            for i, W in enumerate(weights):
                np.matmul(acts[i], W, out=acts[i + 1])
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(acts[i].T, acts[i + 1], out=grads[i])
                if i > 0:
                    np.matmul(acts[i + 1], weights[i].T, out=deltas[i])

    samples_per_s = best_rate(run, steps * batch_size, repeats)
    return samples_per_s * flops_per_sample() / 1e9


class Laps:
    """Nanoseconds per phase of each step: lap(phase) charges the time since the previous lap
    to `phase`, end_step() closes the step. Medians over steps shrug off the moments another
    process had the core."""

    def __init__(self):
        self.steps = {phase: [] for phase in PHASES}
        self.current = dict.fromkeys(PHASES, 0)
        self.last = time.perf_counter_ns()

    def __call__(self, phase):
        now = time.perf_counter_ns()
        self.current[phase] += now - self.last
        self.last = now

    def end_step(self):
        for phase, ns in self.current.items():
            self.steps[phase].append(ns)
        self.current = dict.fromkeys(PHASES, 0)


def replay_epoch(X, Y, batch_size, lap):
    """One epoch of fit() with netcore's own objects, call for call as netcore.train._train_epoch
    and netcore.backprop.TrainingStep run it (with the optimiser's update fused into the
    gradient products, optim.FusedSGD), with laps between phases."""
    import math

    from netcore.train import _all_finite

    model = MLP(LAYERS, activation="relu", head="softmax_cross_entropy", init="he_uniform", rng=0)
    optimizer = SGD(model.params, learning_rate=0.01, momentum=0.9)
    n = len(X)
    rng = np.random.default_rng(1)
    order = np.arange(n)
    lap.last = time.perf_counter_ns()
    optimizer.start_epoch(0)
    step = model.training_step(batch_size)
    sink = optimizer.fused_update(model.weights, model.biases)
    gather = step.gather
    rng.shuffle(order)
    loss_sum, seen = 0.0, 0
    lap("per-epoch bookkeeping")
    for start in range(0, n, batch_size):
        xb, yb = gather(X, Y, order[start:start + batch_size])
        lap("batch gather")
        plan = step._plans.get(xb.shape[0]) or step._plan(xb.shape[0])
        matmul, hidden = np.matmul, step._hidden
        A = xb
        for W, b, Z in (*plan.hidden, plan.output):
            lap("Python glue")
            matmul(A, W, out=Z)
            lap("GEMM forward")
            Z += b
            if Z is not plan.output[2]:
                A = hidden(Z)
            lap("bias add + activation")
        step._forwarded = plan, xb
        loss = step._head.loss_and_delta(plan.output[2], yb, plan.output_delta, plan.scale, plan.head_work)
        lap("softmax + CE loss and delta")
        ok = math.isfinite(loss) and loss <= math.inf
        lap("step bookkeeping")
        gemm, gemv, derivative, ones = step._gemm, step._gemv, step._derivative, plan.ones
        step._forwarded = None
        sink.begin()
        lap("optimizer begin (scale, decay)")
        alpha, targets = sink.alpha, sink.layers
        delta = plan.output_delta
        delta_T = delta.T
        for i, A_prev_T, W_T, delta_below, A_prev, delta_below_T, scratch in plan.backward:
            lap("Python glue")
            matmul(delta, W_T, out=delta_below)
            lap("GEMM backward deltas")
            weight_target, bias_target, weight_beta, bias_beta = targets[i]
            gemm(alpha, delta_T, A_prev_T, weight_beta, weight_target.T, trans_b=1, overwrite_c=1)
            lap("GEMM weight grads (into v)")
            gemv(alpha, delta_T, ones, bias_beta, bias_target, overwrite_y=1)
            lap("bias grads (GEMV into v)")
            delta = derivative(A_prev, delta_below, scratch)
            delta_T = delta_below_T
            lap("activation derivative")
        weight_target, bias_target, weight_beta, bias_beta = targets[0]
        gemm(alpha, delta_T, xb.T, weight_beta, weight_target.T, trans_b=1, overwrite_c=1)
        lap("GEMM weight grads (into v)")
        gemv(alpha, delta_T, ones, bias_beta, bias_target, overwrite_y=1)
        lap("bias grads (GEMV into v)")
        sink.end()
        lap("optimizer: p += v / scale")
        rows = xb.shape[0]
        loss_sum += loss * rows
        seen += rows
        assert ok
        if (start + batch_size) % (FLUSH_EVERY * batch_size) == 0:
            optimizer.flush_subnormal_velocities()
        lap("step bookkeeping")
        lap.end_step()
    optimizer.flush_subnormal_velocities()
    _all_finite(model.weights)
    lap("per-epoch bookkeeping")
    lap.end_step()


def profile_phases(X, y, batch_size, repeats):
    """Microseconds per training step in each phase of netcore's step, and the whole step.

    replay_epoch() runs fit()'s calls with a lap timer between phases (~0.1 us a lap, charged
    to the phases): each phase is its median over the steps of `repeats` replays (per-epoch
    bookkeeping: its total over the steps). "whole step (fit)" is fit() itself, untimed inside,
    best of `repeats`, on CLOCK."""
    Y = np.eye(LAYERS[-1], dtype=np.float32)[y]
    steps = -(-len(X) // batch_size)
    lap = Laps()
    for _ in range(repeats):
        replay_epoch(X, Y, batch_size, lap)
    profile = {phase: float(np.median(ns)) / 1e3 for phase, ns in lap.steps.items()}
    profile["per-epoch bookkeeping"] = sum(lap.steps["per-epoch bookkeeping"]) / repeats / steps / 1e3
    profile["whole step (fit)"] = len(X) / netcore_rate(X, y, batch_size, 1, repeats) / steps * 1e6
    return profile


PHASES = ("batch gather", "GEMM forward", "GEMM weight grads (into v)", "GEMM backward deltas",
          "bias grads (GEMV into v)", "bias add + activation", "softmax + CE loss and delta",
          "activation derivative", "optimizer begin (scale, decay)", "optimizer: p += v / scale", "step bookkeeping",
          "per-epoch bookkeeping", "Python glue")


def print_profile(X, y, batch_sizes, repeats):
    kernels = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    print(f"us per training step, MLP {'-'.join(map(str, LAYERS))}, {len(X)} samples, 1 BLAS thread, "
          f"phases: median over steps of {repeats} epochs; fit: best of {repeats} on {CLOCK.__name__}; "
          f"OPENBLAS_CORETYPE={kernels}")
    with threadpool_limits(limits=1):
        columns = {b: profile_phases(X, y, b, repeats) for b in batch_sizes}
    print("| phase | " + " | ".join(f"batch {b}" for b in batch_sizes) + " |")
    print("| --- | " + " | ".join("---:" for _ in batch_sizes) + " |")
    gemm = [p for p in PHASES if p.startswith("GEMM")]
    for phase in (*PHASES, "whole step (fit)"):
        print(f"| {phase} | " + " | ".join(f"{columns[b][phase]:.1f}" for b in batch_sizes) + " |")
    print("| GEMM share of the step | " + " | ".join(
        f"{sum(columns[b][p] for p in gemm) / columns[b]['whole step (fit)']:.0%}" for b in batch_sizes) + " |")


def floor_epoch(X, Y, batch_size, gather=True, update=True):
    """One epoch of only what every training step must do however it fuses its elementwise
    work: gather the shuffled batch, the step's own matrix products (its layouts, the weight
    gradients into the velocities) and the momentum update p <- p + v. No bias, activation,
    loss, derivative, bias gradient or bookkeeping: its time bounds a step's time from below.
    gather=False reuses the first batch; update=False leaves out the update's passes.

    The products run on the step's real buffers; without the activations' and the loss's
    work the deltas are whatever the products leave, so they start as small random values
    and the learning rate is tiny (the values stay finite and normal; the time of a float
    product does not depend on them otherwise)."""
    model = MLP(LAYERS, activation="relu", head="softmax_cross_entropy", init="he_uniform", rng=0)
    optimizer = SGD(model.params, learning_rate=1e-6, momentum=0.9)
    step = model.training_step(batch_size)
    rng = np.random.default_rng(2)
    for delta in step.deltas:
        delta[...] = rng.normal(0.0, 0.01, delta.shape)
    sink = optimizer.fused_update(model.weights, model.biases)
    optimizer.start_epoch(0)
    sink.begin()
    order = np.random.default_rng(1).permutation(len(X))
    first = step.gather(X, Y, order[:batch_size])[0]
    matmul, gemm = np.matmul, step._gemm

    def run():
        for start in range(0, len(X), batch_size):
            xb = step.gather(X, Y, order[start:start + batch_size])[0] if gather else first
            plan = step._plans.get(xb.shape[0]) or step._plan(xb.shape[0])
            A = xb
            for W, _b, Z in (*plan.hidden, plan.output):
                matmul(A, W, out=Z)
                A = Z
            if update:
                sink.begin()
            alpha, targets, delta = sink.alpha, sink.layers, plan.output_delta
            for i, A_prev_T, W_T, delta_below, _A_prev, _delta_below_T, _scratch in plan.backward:
                matmul(delta, W_T, out=delta_below)
                gemm(alpha, delta.T, A_prev_T, targets[i][2], targets[i][0].T, trans_b=1, overwrite_c=1)
                delta = delta_below
            gemm(alpha, delta.T, xb.T, targets[0][2], targets[0][0].T, trans_b=1, overwrite_c=1)
            if update:
                sink.end()
        optimizer.flush_subnormal_velocities()

    return run, model


FLOORS = {"products": dict(gather=False, update=False), "+ gather": dict(gather=True, update=False),
          "+ gather + update": dict(gather=True, update=True)}


def print_ceiling(X, y, batch_sizes, repeats, runs):
    """netcore's share of the GEMM rate beside the shares of floor_epoch()'s loops: the most
    any step that gathers its batch, calls BLAS for its products and updates with momentum
    could reach."""
    Y = np.eye(LAYERS[-1], dtype=np.float32)[y]
    flops = flops_per_sample()
    print(f"MLP {'-'.join(map(str, LAYERS))}, {len(X)} samples, 1 BLAS thread, best of {repeats} on "
          f"{CLOCK.__name__}, median of {runs} side-by-side runs; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("Share of the GEMM rate (the same products, buffers hot, bench's gemm_rate) of netcore's step "
          "and of loops doing only part of a step:")
    print("| batch | GEMM GF/s | netcore | " + " | ".join(FLOORS) + " |")
    print("| ---: | ---: | ---: | " + " | ".join("---:" for _ in FLOORS) + " |")
    with threadpool_limits(limits=1):
        for batch_size in batch_sizes:
            peaks, shares = [], {name: [] for name in ("netcore", *FLOORS)}
            steps = -(-len(X) // batch_size)
            for _ in range(runs):
                peak = gemm_rate(batch_size, repeats, steps=max(200, steps))
                peaks.append(peak)
                shares["netcore"].append(netcore_rate(X, y, batch_size, 1, repeats) * flops / 1e9 / peak)
                for name, parts in FLOORS.items():
                    run, model = floor_epoch(X, Y, batch_size, **parts)
                    rate = best_rate(run, len(X), repeats)
                    if not all(np.isfinite(p).all() for p in model.params):
                        raise RuntimeError("the floor loop's parameters left the finite range")
                    shares[name].append(rate * flops / 1e9 / peak)
            print(f"| {batch_size} | {np.median(peaks):.1f} | "
                  + " | ".join(f"{np.median(values):.0%}" for values in shares.values()) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--samples", type=int, default=20_000, help="training samples per epoch")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--profile", action="store_true", help="per-phase time of netcore's step")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time on the wall clock or on this thread's CPU time (shared machines)")
    parser.add_argument("--ceiling", action="store_true",
                        help="the share of the GEMM rate of a step that does only what none can avoid")
    parser.add_argument("--netcore-only", action="store_true", help="no PyTorch or scikit-learn")
    parser.add_argument("--baseline", metavar="CHECKOUT",
                        help="also train the netcore of this checkout of another commit, side by side")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure netcore and the GEMM rate side by side this many times; "
                             "report the median share")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.repeats, args.batch_sizes = 2_000, 1, [128]
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    if args.profile:
        print_profile(*make_data(args.samples), args.batch_sizes, args.repeats)
        return
    if args.ceiling:
        print_ceiling(*make_data(args.samples), args.batch_sizes, args.repeats, args.runs)
        return

    contestants = {}
    if not args.netcore_only:
        try:
            import torch  # noqa: F401
            contestants = {"torch": torch_rate, "torch-dl": torch_loader_rate}
        except ImportError:
            print("skipped: torch (not installed; pip install '.[bench]')")
        contestants["sklearn"] = sklearn_rate
    if args.baseline:
        baseline = load_baseline(args.baseline)
        contestants["baseline"] = lambda *rate_args: netcore_rate(*rate_args, package=baseline)

    X, y = make_data(args.samples)
    flops = flops_per_sample()
    print(f"MLP {'-'.join(map(str, LAYERS))}, {args.samples} samples x {args.epochs} epoch(s), "
          f"1 BLAS thread, best of {args.repeats} on {CLOCK.__name__}; {flops / 1e6:.3f} MFLOP per sample; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    if args.runs > 1:
        print(f"median of {args.runs} side-by-side runs")
    header = f"{'batch':>6} {'netcore/s':>10} " + " ".join(f"{name + '/s':>10}" for name in contestants)
    header += " " + " ".join(f"{'vs ' + name:>10}" for name in contestants)
    header += f" {'GFLOP/s':>8} {'GEMM GF/s':>9} {'of GEMM':>8}"
    header += f" {'baseline':>8}" if args.baseline else ""
    print(header)
    with threadpool_limits(limits=1):
        for batch_size in args.batch_sizes:
            runs = []
            for _ in range(args.runs):
                ours = netcore_rate(X, y, batch_size, args.epochs, args.repeats)
                theirs = {name: rate(X, y, batch_size, args.epochs, args.repeats)
                          for name, rate in contestants.items()}
                # As many steps as netcore's epoch: windows long enough for a coarse CPU clock.
                steps = 20 if args.quick else max(200, args.samples * args.epochs // batch_size)
                peak = gemm_rate(batch_size, args.repeats, steps=steps)
                runs.append((ours, theirs, peak))
            share = float(np.median([ours * flops / 1e9 / peak for ours, _, peak in runs]))
            ours = float(np.median([r[0] for r in runs]))
            ratios = {name: float(np.median([r[0] / r[1][name] for r in runs])) for name in contestants}
            theirs = {name: float(np.median([r[1][name] for r in runs])) for name in contestants}
            peak = float(np.median([r[2] for r in runs]))
            row = f"{batch_size:>6} {ours:>10.0f} " + " ".join(f"{r:>10.0f}" for r in theirs.values())
            row += " " + " ".join(f"{r:>9.2f}x" for r in ratios.values())
            row += f" {ours * flops / 1e9:>8.1f} {peak:>9.1f} {share:>7.0%}"
            if args.baseline:  # the baseline's own share of the GEMM rate
                row += f" {np.median([r[1]['baseline'] * flops / 1e9 / r[2] for r in runs]):>7.0%}"
            print(row, flush=True)

if __name__ == "__main__":
    main()
