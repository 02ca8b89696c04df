"""Multi-fidelity search of a model trained by a loop of your own: scikit-learn's SGDClassifier,
one partial_fit pass over the training split per epoch, on the 8x8 digits.

The objective reports each epoch's validation accuracy to the hpsearch.pruning.Reporter the
search hands it (its `reporter` argument) and stops when told to: the pruner stops a training
whose accuracy falls below the lowest quartile of the earlier trainings' at that epoch, and
successive-halving rungs train every genome for a ninth, then a third of its `epochs` gene
before the best ones get all of it. Prints how many trainings were pruned, the best
hyperparameters and their test accuracy. About 5-10 s on a 2-core VM.

    python experiments/sgd_pruning.py [--out-dir runs/sgd_pruning] [--n-jobs 2]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from hpsearch import CategoricalGene, Fidelity, FloatGene, GeneticSearch, IntGene, Space
from hpsearch.datasets import load_dataset, scale_splits, split_dataset
from hpsearch.pruning import Reporter

SPACE = Space([
    FloatGene("alpha", 1e-6, 1e-1, log=True),            # L2 penalty
    FloatGene("eta0", 1e-4, 1.0, log=True),              # initial learning rate
    CategoricalGene("learning_rate", ("constant", "invscaling", "optimal")),
    CategoricalGene("loss", ("hinge", "log_loss", "modified_huber")),
    IntGene("epochs", 3, 27),
])


class SGDObjective:
    """Validation accuracy of an SGDClassifier trained `epochs` passes, one partial_fit each."""

    def __init__(self, splits):
        self.splits = splits
        self.classes = np.unique(splits.y_train)

    def model(self, params, seed):
        return SGDClassifier(loss=params["loss"], alpha=params["alpha"], eta0=params["eta0"],
                             learning_rate=params["learning_rate"], random_state=seed % 2**32)

    def __call__(self, params, seed, reporter=None):
        reporter = reporter or Reporter()  # a plain search (no [fidelity]) passes none
        s = self.splits
        model, rng = self.model(params, seed), np.random.default_rng(seed)
        for epoch in range(1, params["epochs"] + 1):
            order = rng.permutation(len(s.y_train))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, RuntimeWarning))
                model.partial_fit(s.X_train[order], s.y_train[order], classes=self.classes)
            if reporter.report(epoch, model.score(s.X_val, s.y_val)):
                break  # pruned: below the earlier trainings at this epoch
        return reporter.result()

    def test_score(self, params, seed):
        """Retrain exactly as in the search (same seed, all epochs) and score on the test split
        (the search calls it for the best trial: best.json's test_metric)."""
        s = self.splits
        model, rng = self.model(params, seed), np.random.default_rng(seed)
        for _ in range(params["epochs"]):
            order = rng.permutation(len(s.y_train))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, RuntimeWarning))
                model.partial_fit(s.X_train[order], s.y_train[order], classes=self.classes)
        return {"test_metric": model.score(s.X_test, s.y_test)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=None, help="results directory (default: none written)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    objective = SGDObjective(splits)
    fidelity = Fidelity(rungs=3, reduction_factor=3, pruner="percentile", percentile=25, min_trials=4)
    start = time.perf_counter()
    result = GeneticSearch(SPACE, objective, population=16, generations=8, seed=args.seed, fidelity=fidelity,
                           n_jobs=args.n_jobs, out_dir=args.out_dir, quiet=True).run()
    seconds = time.perf_counter() - start

    trials = result.trials[~result.trials["cached"]]
    pruned = trials[trials["status"] == "pruned"]
    by_pruner = pruned["reason"].str.startswith("pruned after epoch").sum()
    print(f"{len(trials)} trainings in {seconds:.1f} s, {int(trials['epochs_trained'].sum())} epochs: "
          f"{len(pruned)} pruned ({by_pruner} by the pruner, {len(pruned) - by_pruner} not promoted "
          f"past a rung), {(trials['status'] == 'promoted').sum()} promoted, {(trials['status'] == 'ok').sum()} "
          f"trained in full")
    best = result.best
    print(f"best: validation accuracy {best['fitness']:.4f} (trial {best['trial_id']}) with {best['params']}")
    print(f"test accuracy of the best, retrained: {result.test_score:.4f}")
    return result


if __name__ == "__main__":
    main()
