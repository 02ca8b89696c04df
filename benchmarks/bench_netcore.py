"""Training throughput of netcore against PyTorch CPU and scikit-learn, side by side.

Trains an MLP 784-256-128-10 (ReLU hidden layers, softmax + cross-entropy) with SGD and
momentum on Fashion-MNIST-shaped data (random float32 pixels in [0, 1], 10 classes) at
several batch sizes, with one BLAS thread for every contestant, and prints samples/s, the
ratios, and netcore's achieved GFLOP/s against the float32 GEMM rate measured here for
exactly the matrix products one training step needs.

    python benchmarks/bench_netcore.py                 # batch sizes 32 128 512
    python benchmarks/bench_netcore.py --quick         # a smoke run (CI)

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

LAYERS = (784, 256, 128, 10)


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
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return n_samples / min(times)


def netcore_rate(X, y, batch_size, epochs, repeats):
    Y = np.eye(LAYERS[-1], dtype=np.float32)[y]

    def run():
        model = MLP(LAYERS, activation="relu", head="softmax_cross_entropy", init="he_uniform", rng=0)
        optimizer = SGD(model.params, learning_rate=0.01, momentum=0.9)
        fit(model, optimizer, X, Y, epochs=epochs, batch_size=batch_size, rng=1)

    return best_rate(run, len(X) * epochs, repeats)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--samples", type=int, default=20_000, help="training samples per epoch")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.repeats, args.batch_sizes = 2_000, 1, [128]

    try:
        import torch  # noqa: F401
        contestants = {"torch": torch_rate, "torch-dl": torch_loader_rate}
    except ImportError:
        contestants = {}
        print("skipped: torch (not installed; pip install '.[bench]')")
    contestants["sklearn"] = sklearn_rate

    X, y = make_data(args.samples)
    flops = flops_per_sample()
    print(f"MLP {'-'.join(map(str, LAYERS))}, {args.samples} samples x {args.epochs} epoch(s), "
          f"1 BLAS thread, best of {args.repeats}; {flops / 1e6:.3f} MFLOP per sample")
    header = f"{'batch':>6} {'netcore/s':>10} " + " ".join(f"{name + '/s':>10}" for name in contestants)
    header += " " + " ".join(f"{'vs ' + name:>10}" for name in contestants)
    header += f" {'GFLOP/s':>8} {'GEMM GF/s':>9} {'of GEMM':>8}"
    print(header)
    with threadpool_limits(limits=1):
        for batch_size in args.batch_sizes:
            ours = netcore_rate(X, y, batch_size, args.epochs, args.repeats)
            theirs = {name: rate(X, y, batch_size, args.epochs, args.repeats)
                      for name, rate in contestants.items()}
            achieved = ours * flops / 1e9
            peak = gemm_rate(batch_size, args.repeats, steps=20 if args.quick else 200)
            row = f"{batch_size:>6} {ours:>10.0f} " + " ".join(f"{r:>10.0f}" for r in theirs.values())
            row += " " + " ".join(f"{ours / r:>9.2f}x" for r in theirs.values())
            row += f" {achieved:>8.1f} {peak:>9.1f} {achieved / peak:>7.0%}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
