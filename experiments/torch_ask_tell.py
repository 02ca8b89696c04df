"""Ask/tell with a training loop of your own: a small PyTorch MLP on the 8x8 digits, its
learning rate, width, dropout, optimizer and learning-rate schedule searched by the genetic
algorithm, the training loop left as PyTorch users write it.

    search.ask()  -> the generation's trials (params, and a seed to train with)
    search.tell(trial, validation accuracy)

Each trial trains with its own seed (torch's generator forked and seeded inside the trial,
so the process's RNG is left as it was), so the search is reproducible and a resumed one
(run again with the same --out-dir) ends as an uninterrupted run would. Prints the best
hyperparameters and their test accuracy. About 20-40 s on a 2-core VM with the defaults.
torch is not a dependency of hpsearch: `pip install torch` to run it.

    python experiments/torch_ask_tell.py [--out-dir runs/torch_ask_tell] [--max-evaluations 24]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from hpsearch import CategoricalGene, ConstantGene, FloatGene, IntGene, Space
from hpsearch.ask_tell import AskTellSearch
from hpsearch.datasets import load_dataset, scale_splits, split_dataset

SPACE = Space([
    FloatGene("lr", 1e-4, 3e-2, log=True),
    IntGene("hidden", 16, 128, power_of_two=True),
    FloatGene("dropout", 0.0, 0.5),
    CategoricalGene("optimizer", ("adam", "sgd")),
    CategoricalGene("schedule", ("cosine", None)),    # None: a constant learning rate
    ConstantGene("epochs", 15),
    ConstantGene("batch_size", 64),
])


def tensors(splits):
    def pair(X, y):
        return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)

    return pair(splits.X_train, splits.y_train), pair(splits.X_val, splits.y_val), pair(splits.X_test, splits.y_test)


def train(params, seed, train_data, n_classes):
    """A trained model: PyTorch as usual, seeded by the trial's seed."""
    X, y = train_data
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(X.shape[1], params["hidden"]), nn.ReLU(), nn.Dropout(params["dropout"]),
                              nn.Linear(params["hidden"], n_classes))
        if params["optimizer"] == "adam":
            optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"] * 10, momentum=0.9)
        schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, params["epochs"])
                    if params["schedule"] == "cosine" else None)
        loss_function = nn.CrossEntropyLoss()
        for _ in range(params["epochs"]):
            model.train()
            for batch in torch.randperm(len(X)).split(params["batch_size"]):
                optimizer.zero_grad()
                loss = loss_function(model(X[batch]), y[batch])
                loss.backward()
                optimizer.step()
            if schedule is not None:
                schedule.step()
    return model.eval()


def accuracy(model, data) -> float:
    X, y = data
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).float().mean())


def search(out_dir=None, max_evaluations=24, population=8, seed=0, quiet=False):
    """The ask/tell loop; returns (SearchResult, test accuracy of the best)."""
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    train_data, val_data, test_data = tensors(splits)
    n_classes = int(splits.y_train.max()) + 1
    with AskTellSearch(SPACE, name="torch-mlp-digits", metric="val_accuracy", seed=seed, population=population,
                       max_evaluations=max_evaluations, out_dir=out_dir, quiet=quiet) as runner:
        while not runner.finished:
            for trial in runner.ask():
                model = train(trial.params, trial.seed, train_data, n_classes)
                runner.tell(trial, {"fitness": accuracy(model, val_data),
                                    "train_accuracy": accuracy(model, train_data)})
    result = runner.result()
    best = train(result.best_params, result.best["seed"], train_data, n_classes)
    return result, accuracy(best, test_data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=None)
    parser.add_argument("--max-evaluations", type=int, default=24)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small batches: one thread is fastest, and the same on every machine
    result, test = search(args.out_dir, args.max_evaluations, args.population, args.seed)
    print(f"best validation accuracy {result.best_score:.4f} with {result.best_params}")
    print(f"test accuracy {test:.4f} ({len(result.trials)} trials)")
    return result, test


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
