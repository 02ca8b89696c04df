"""The classic tutorial network, reproduced with netcore: 784-30-10, sigmoid hidden layer,
softmax + cross-entropy output, plain mini-batch SGD (batch 10), 30 epochs.

On MNIST the tutorial reports about 93 % test accuracy for this kind of network. MNIST is
not on this machine by default; Fashion-MNIST (Debian's dataset-fashion-mnist) is, and is
the default here. Prints the test accuracy after every epoch.

    python experiments/tutorial_mlp.py [--dataset fashion-mnist|mnist] [--epochs 30]
"""

import argparse
import time

import numpy as np

from hpsearch.datasets import load_dataset
from netcore import MLP, SGD, fit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = load_dataset(args.dataset)
    X, X_test = data.X / 255, data.X_test / 255
    Y = np.eye(10, dtype=np.float32)[data.y]
    Y_test = np.eye(10, dtype=np.float32)[data.y_test]
    model = MLP((784, args.hidden, 10), activation="sigmoid", head="softmax_cross_entropy",
                init="normal", rng=args.seed)
    optimizer = SGD(model.params, learning_rate=args.learning_rate)

    def report(history):
        epoch = history.epochs_run
        print(f"epoch {epoch:2d}: test accuracy {history.val_metric[-1]:.4f} "
              f"({sum(history.seconds):.0f} s)", flush=True)

    start = time.perf_counter()
    history = fit(model, optimizer, X, Y, epochs=args.epochs, batch_size=args.batch_size,
                  rng=args.seed, validation_data=(X_test, Y_test), callback=report)
    print(f"{args.dataset}: {history.val_metric[-1]:.4f} test accuracy after {history.epochs_run} "
          f"epochs, {time.perf_counter() - start:.0f} s ({history.status})")


if __name__ == "__main__":
    main()
