"""What the portable kernels cost: netcore's training throughput native against portable.

`[parallel] numerics = "portable"` (hpsearch.numerics) makes every process compute with
OpenBLAS's Haswell kernels and NumPy's loops up to AVX2, so that trainings are the same bits
on any x86-64 CPU with AVX2. On a CPU with AVX2 only that is what it runs anyway; on one with
AVX-512 it gives up the wider kernels. This measures the price: the same trainings (an MLP
784-256-128-10, ReLU, softmax + cross-entropy, SGD with momentum, one BLAS thread) in fresh
processes, native and portable taking turns, at several batch sizes; it prints samples per
CPU second and the ratio portable / native (the best of --repeats rounds each), and checks that the two modes
trained the same weights or not (they differ where the CPU's own kernels are not the portable
ones).

    python benchmarks/bench_numerics.py                  # batch sizes 8 32 128 512
    python benchmarks/bench_numerics.py --quick          # a smoke run
"""

import argparse
import json
import os
import subprocess
import sys

from hpsearch import numerics

WORKER = r"""
import hashlib, json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from netcore import MLP, SGD, fit
from hpsearch import numerics

batch_size, samples, epochs = (int(value) for value in sys.argv[1:4])
rng = np.random.default_rng(0)
X = rng.random((samples, 784), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
with threadpool_limits(1):
    model = MLP((784, 256, 128, 10), activation="relu", init="he_uniform", rng=0)
    start = time.process_time()  # CPU seconds of this one-threaded process: less hurt by a busy machine
    fit(model, SGD(model.params, learning_rate=0.01, momentum=0.9), X, Y, epochs=epochs, batch_size=batch_size, rng=1)
    seconds = time.process_time() - start
digest = hashlib.sha256(b"".join(p.tobytes() for p in model.params)).hexdigest()[:16]
print(json.dumps({"rate": samples * epochs / seconds, "weights": digest,
                  "environment": numerics.current().describe()}))
"""


def train(env, batch_size, samples, epochs):
    done = subprocess.run([sys.executable, "-c", WORKER, str(batch_size), str(samples), str(epochs)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32, 128, 512])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one small round per batch size (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.batch_sizes, args.samples, args.epochs, args.repeats = [32, 256], 1000, 1, 1
    reason = numerics.portable_unavailable()
    if reason:
        raise SystemExit(f"bench_numerics: {reason}")
    clean = {name: value for name, value in os.environ.items() if name not in numerics.KERNEL_VARIABLES}
    envs = {"native": {**clean, "OMP_NUM_THREADS": "1"},
            "portable": {**clean, "OMP_NUM_THREADS": "1", **numerics.portable_env()}}
    print("batch  native samples/s  portable samples/s  portable/native  same weights")
    described = {}
    for batch_size in args.batch_sizes:
        best = {mode: 0.0 for mode in envs}
        weights = {}
        for _ in range(args.repeats):
            for mode, env in envs.items():  # taking turns: the machine's drift hits both
                result = train(env, batch_size, args.samples, args.epochs)
                best[mode] = max(best[mode], result["rate"])
                weights[mode] = result["weights"]
                described[mode] = result["environment"]
        same = "yes" if weights["native"] == weights["portable"] else "no"
        print(f"{batch_size:>5}  {best['native']:>16,.0f}  {best['portable']:>18,.0f}  "
              f"{best['portable'] / best['native']:>15.2f}  {same}")
    for mode, line in described.items():
        print(f"{mode}: {line}")


if __name__ == "__main__":
    main()
