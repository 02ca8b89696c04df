"""The built-in objective: train a netcore MLP with given hyperparameters and score it."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

import netcore

from ..objective import Capabilities
from ..pruning import Reporter
from ..space import Space
from ..status import SCORED_STATUSES
from ..trial import WORST_FITNESS
from .space import MLP_DEFAULTS, check_space

# Timed forward passes over the validation set per latency measurement.
LATENCY_REPEATS = 3


class MLPObjective:
    """Train a netcore MLP with given hyperparameters on the training split and score it on
    the validation split: accuracy for classification, negative MSE for regression.

    Args:
        splits: an object with X_train, y_train, X_val, y_val, X_test, y_test (float32
            features; integer class labels 0..k-1 or float targets). The test split is only
            read by test_score.
        task: "classification" or "regression".
        metric: the validation score, a name of netcore's metrics (higher is better; default
            accuracy, or neg_mse for regression).
        early_stopping_patience: stop a training after that many epochs without a better
            validation loss (None: train every epoch of the `epochs` gene).
        time_budget: seconds one training may take (None: no limit).
    """

    def __init__(self, splits: Any, task: str = "classification", metric: str | None = None,
                 early_stopping_patience: int | None = None, time_budget: float | None = None):
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.task = task
        self.metric = metric or ("accuracy" if task == "classification" else "neg_mse")
        netcore.metrics.get_metric(self.metric)
        self.early_stopping_patience = early_stopping_patience
        self.time_budget = time_budget
        if task == "classification":
            self.n_outputs = int(max(splits.y_train.max(), splits.y_val.max())) + 1
        else:
            self.n_outputs = 1 if np.ndim(splits.y_train) == 1 else splits.y_train.shape[1]
        self.data = {}
        for part in ("train", "val", "test"):
            X, y = getattr(splits, f"X_{part}"), getattr(splits, f"y_{part}")
            if X is not None:
                self.data[f"X_{part}"] = np.ascontiguousarray(X, dtype=np.float32)
                self.data[f"Y_{part}"] = self._targets(y)

    def _targets(self, y):
        if self.task == "classification":
            if self.n_outputs == 2:
                return np.asarray(y, dtype=np.float32).reshape(-1, 1)
            return np.eye(self.n_outputs, dtype=np.float32)[np.asarray(y, dtype=np.int64)]
        return np.asarray(y, dtype=np.float32).reshape(len(y), -1)

    @property
    def head(self) -> str:
        if self.task == "regression":
            return "identity_mse"
        return "sigmoid_binary_cross_entropy" if self.n_outputs == 2 else "softmax_cross_entropy"

    def check_params(self, names: Iterable[str]) -> None:
        """Raise ValueError for hyperparameter names this objective does not use."""
        unknown = sorted(set(names) - set(MLP_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)} for the MLP objective; "
                             f"valid: {', '.join(sorted(MLP_DEFAULTS))}")

    def check_space(self, space: Space) -> None:
        """Raise ValueError for a gene this objective cannot use (see check_space)."""
        check_space(space)

    def fingerprint(self) -> dict[str, Any]:
        """Identity of this objective for resume checks: settings and a hash of the data."""
        digest = hashlib.sha256()
        for name in sorted(self.data):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.data[name]).data)
        return {"kind": "mlp", "task": self.task, "metric": self.metric,
                "early_stopping_patience": self.early_stopping_patience,
                "time_budget": self.time_budget, "data_sha256": digest.hexdigest()}

    def memmap(self, directory: str) -> None:
        """Store the arrays as .npy files in `directory` and use read-only memory maps of them,
        so worker processes receive a file name instead of a pickled copy of the data."""
        for name, array in self.data.items():
            path = os.path.join(directory, f"{name}.npy")
            np.save(path, array)
            self.data[name] = np.load(path, mmap_mode="r")

    def cost(self, params: Mapping[str, Any]) -> int:
        """Relative training cost of params: multiply-adds per epoch plus per-batch overhead."""
        p = {**MLP_DEFAULTS, **params}
        sizes = (self.data["X_train"].shape[1], *p["hidden_sizes"], self.n_outputs)
        n = self.data["X_train"].shape[0]
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        batches = -(-n // p["batch_size"])
        return p["epochs"] * (n * weights + batches * 20_000)

    def _model_and_optimizer(self, p, init_seed, first_epoch=0):
        """A fresh MLP (weights drawn from init_seed) and its SGD for full params `p`; the
        learning-rate schedule runs over p["epochs"] epochs, starting at `first_epoch`."""
        sizes = (self.data["X_train"].shape[1], *p["hidden_sizes"], self.data["Y_train"].shape[1])
        model = netcore.MLP(sizes, activation=p["activation"], head=self.head, init=p["init"],
                            rng=np.random.default_rng(init_seed))
        schedule = netcore.make_schedule(p["lr_schedule"], p["epochs"])
        if first_epoch:
            schedule = _ShiftedSchedule(schedule, first_epoch)
        optimizer = netcore.SGD(model.params, learning_rate=p["learning_rate"], momentum=p["momentum"],
                                nesterov=p["nesterov"], weight_decay=p["weight_decay"],
                                decay_mask=model.param_is_weight, schedule=schedule)
        return model, optimizer

    def train(self, params: Mapping[str, Any], seed: Any, X_val: np.ndarray | None = None,
              Y_val: np.ndarray | None = None, callback: Callable | None = None,
              ) -> tuple[netcore.MLP, netcore.History]:
        """(model, history) of one training run with `params`, seeded by `seed`."""
        model, _, history = self._train(params, seed, X_val, Y_val, callback)
        return model, history

    def _train(self, params, seed, X_val=None, Y_val=None, callback=None, resume=None):
        self.check_params(params)
        p = {**MLP_DEFAULTS, **params}
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        X, Y = self.data["X_train"], self.data["Y_train"]
        model, optimizer = self._model_and_optimizer(p, init_seed)
        history = None
        if resume is not None:
            model.set_params(resume["params"])
            optimizer.load_state({"velocities": resume["velocities"],
                                  "current_learning_rate": optimizer.current_learning_rate})
            history = netcore.History(**{k: list(v) if isinstance(v, list) else v
                                         for k, v in resume["history"].items()})
        validation = (self.data["X_val"], self.data["Y_val"]) if X_val is None else (X_val, Y_val)
        history = netcore.fit(model, optimizer, X, Y, epochs=p["epochs"], batch_size=p["batch_size"],
                              rng=np.random.default_rng(shuffle_seed), validation_data=validation,
                              metric=self.metric, early_stopping_patience=self.early_stopping_patience,
                              callback=callback, time_budget=self.time_budget, history=history)
        return model, optimizer, history

    def continuable(self, params: Mapping[str, Any]) -> bool:
        """Whether a run of params can be continued to more epochs exactly as a longer run
        from scratch: not under early stopping (the kept weights are the best epoch's) nor
        with a learning-rate schedule stretched over the run's length (cosine)."""
        return self.early_stopping_patience is None and {**MLP_DEFAULTS, **params}["lr_schedule"] != "cosine"

    @property
    def capabilities(self) -> Capabilities:
        """It reports to a reporter, continues a run, has a test split where its data do,
        saves the model it retrains, and its metrics are all higher-is-better."""
        return Capabilities(reporter=True, continues=True, test_split="X_test" in self.data, saves_model=True,
                            higher_is_better_only=True, steps=True)

    def __call__(self, params: Mapping[str, Any], seed: Any, resume: Mapping[str, Any] | None = None,
                 keep_state: bool = False, reporter: Reporter | None = None) -> dict[str, Any]:
        """Train and score params. reporter: an hpsearch.pruning.Reporter, told each epoch's
        validation score; training stops with status "pruned" when it says so.

        keep_state: where the run completed and is continuable(), return its weights, momentum
            velocities and history under "state" (how multi-fidelity search continues a
            promoted genome instead of retraining it).
        resume: such a state of a shorter run with the same params but "epochs" and the same
            seed; training goes on from it to params["epochs"]. The result equals a run from
            scratch; its "epochs_trained" counts only the epochs this call trained.
        """
        if reporter is None:
            reporter = Reporter()
        callback = None
        if reporter.thresholds:
            def callback(history):
                # Every epoch not reported yet: a resumed run's earlier ones too.
                for epoch in range(reporter.epochs, len(history.val_metric)):
                    reporter.report(epoch + 1, history.val_metric[epoch])
                return reporter.should_stop()
        if resume is not None and not self.continuable(params):
            raise ValueError("this run cannot be continued (early stopping or a cosine schedule)")
        first_epoch = len(resume["history"]["train_loss"]) if resume is not None else 0
        start = time.perf_counter()
        model, optimizer, history = self._train(params, seed, callback=callback, resume=resume)
        train_seconds = time.perf_counter() - start
        statuses = {"diverged": "diverged", "time_budget": "timeout", "stopped": "pruned"}
        status = statuses.get(history.status, "ok")
        best = history.best_epoch if history.best_epoch is not None else history.epochs_run - 1
        # The restored weights are those of the best epoch under early stopping, else the last.
        epoch = best if self.early_stopping_patience is not None else history.epochs_run - 1
        reason = history.reason if status != "ok" else ""
        if status == "pruned":  # only the pruning callback stops a run
            reason = reporter.reason
        return {
            "fitness": history.val_metric[epoch] if status in SCORED_STATUSES else WORST_FITNESS,
            "status": status,
            "reason": reason,
            "val_metric": history.val_metric[epoch],
            "val_loss": history.val_loss[epoch],
            "train_loss": history.train_loss[epoch],
            "epochs_run": history.epochs_run,
            "epochs_trained": history.epochs_run - first_epoch,
            # Objectives for multi-objective search; the two times are measurements, so
            # they vary from run to run and with the machine's load.
            "n_params": model.n_params,
            "train_seconds": train_seconds,
            "latency": self.latency(model),
            "curve": {"train_loss": history.train_loss, "val_loss": history.val_loss,
                      "val_metric": history.val_metric},
            **({"state": {"params": model.params, "velocities": optimizer.velocities,
                          "history": history.as_dict()}}
               if keep_state and history.status == "completed" and self.continuable(params) else {}),
        }

    def latency(self, model: netcore.MLP) -> float:
        """Inference seconds per sample over the validation set, the best of a few passes
        (the minimum is the least disturbed by other work on the machine)."""
        X = self.data["X_val"]
        times = []
        for _ in range(LATENCY_REPEATS):
            start = time.perf_counter()
            model.forward(X)
            times.append(time.perf_counter() - start)
        return min(times) / len(X)

    def test_score(self, params: Mapping[str, Any], seed: Any,
                   save: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """Retrain exactly as in the search and score the model on the test split.

        save: also write the trained model to this file, as a netcore estimator (see
        save_model); the test score is then optional (data without a test split)."""
        if "X_test" not in self.data and save is None:
            raise ValueError("this objective's data has no test split")
        model, history = self.train(params, seed)
        if save is not None:
            self.save_model(save, model, history, params)
        if "X_test" not in self.data:
            return {"status": history.status}
        P, loss = model.forward_with_loss(self.data["X_test"], self.data["Y_test"])
        metric = netcore.metrics.get_metric(self.metric)
        return {"test_metric": metric(self.data["Y_test"], P), "test_loss": loss,
                "status": history.status}

    def save_model(self, path: str | os.PathLike[str], model: netcore.MLP, history: netcore.History,
                   params: Mapping[str, Any]) -> None:
        """Write a model this objective trained with `params` to `path` as a fitted netcore
        MLPClassifier (labels 0..k-1) or MLPRegressor: netcore.load(path).predict(X) gives
        the labels or targets of features X scaled as the search's data (netcore.load_model
        gives the bare network). Its hyperparameters are params, to fit again on other data."""
        p = {**MLP_DEFAULTS, **params}
        settings = {name: p[name] for name in ("activation", "init", "learning_rate", "momentum", "nesterov",
                                               "batch_size", "epochs", "weight_decay", "lr_schedule")}
        settings.update(hidden_sizes=tuple(int(size) for size in p["hidden_sizes"]), dtype=model.dtype.name,
                        early_stopping=self.early_stopping_patience is not None,
                        time_budget=self.time_budget)
        if self.early_stopping_patience is not None:
            settings["patience"] = self.early_stopping_patience
        estimator: netcore.MLPClassifier | netcore.MLPRegressor
        if self.task == "classification":
            estimator = netcore.MLPClassifier(**settings)
            estimator.classes_ = np.arange(max(self.n_outputs, 2))
        else:  # trained on the targets as they are: no scaling to undo
            estimator = netcore.MLPRegressor(**settings, scale_targets=False)
            estimator._y_ndim = 1 if self.n_outputs == 1 else 2
            estimator.target_mean_ = np.zeros(self.n_outputs)
            estimator.target_scale_ = np.ones(self.n_outputs)
        estimator.model_, estimator.history_, estimator.status_ = model, history, history.status
        estimator.n_iter_, estimator.loss_ = history.epochs_run, history.train_loss[-1]
        estimator.n_features_in_ = self.data["X_train"].shape[1]
        estimator.save(path)

    def train_step(self, params: Mapping[str, Any], seed: Any, *, first_epoch: int, epochs: int,
                   load: str | None = None, save: str | None = None) -> dict[str, Any]:
        """Train `epochs` more epochs from the state in file `load` (None: fresh weights from
        `seed`) and write the weights and momentum velocities reached to file `save` (unless
        training failed). For population-based training: the hyperparameters may differ from
        those the state was trained with, except the ones that shape the weights.

        params["epochs"] is the whole run's length (lr_schedule continues from `first_epoch`);
        the fitness is the last epoch's validation score (no early stopping within a step).
        """
        self.check_params(params)
        p = {**MLP_DEFAULTS, **params}
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        model, optimizer = self._model_and_optimizer(p, init_seed, first_epoch)
        if load is not None:
            netcore.load_training_state(load, model, optimizer)
        history = netcore.fit(model, optimizer, self.data["X_train"], self.data["Y_train"], epochs=epochs,
                              batch_size=p["batch_size"], rng=np.random.default_rng(shuffle_seed),
                              validation_data=(self.data["X_val"], self.data["Y_val"]),
                              metric=self.metric, time_budget=self.time_budget)
        status = {"diverged": "diverged", "time_budget": "timeout"}.get(history.status, "ok")
        if status == "ok" and save is not None:
            netcore.save_training_state(save, model, optimizer)
        return {"fitness": history.val_metric[-1] if status == "ok" else WORST_FITNESS,
                "status": status, "reason": history.reason if status != "ok" else "",
                "val_metric": history.val_metric[-1], "val_loss": history.val_loss[-1],
                "train_loss": history.train_loss[-1], "epochs_run": history.epochs_run,
                "curve": {"train_loss": history.train_loss, "val_loss": history.val_loss,
                          "val_metric": history.val_metric}}

    def save_state_model(self, params: Mapping[str, Any], state: str | os.PathLike[str],
                         path: str | os.PathLike[str], history: netcore.History) -> None:
        """Write the weights that train_step saved in file `state` to `path` as save_model does
        (population-based training's best member; history: the run that reached them)."""
        self.save_model(path, self._state_model(params, state), history, params)

    def _state_model(self, params: Mapping[str, Any], path: str | os.PathLike[str]) -> netcore.MLP:
        """The network with the weights that train_step saved in file `path`."""
        model, optimizer = self._model_and_optimizer({**MLP_DEFAULTS, **params}, 0)
        netcore.load_training_state(path, model, optimizer)
        return model

    def state_test_score(self, params: Mapping[str, Any], path: str) -> dict[str, Any]:
        """Score the weights that train_step saved in file `path` on the test split."""
        if "X_test" not in self.data:
            raise ValueError("this objective's data has no test split")
        P, loss = self._state_model(params, path).forward_with_loss(self.data["X_test"], self.data["Y_test"])
        metric = netcore.metrics.get_metric(self.metric)
        return {"test_metric": metric(self.data["Y_test"], P), "test_loss": loss}


class _ShiftedSchedule:
    """A learning-rate schedule seen from `offset` epochs into the run: fit counts the epochs
    of each call from 0, a run continued in steps does not."""

    def __init__(self, schedule, offset):
        self.schedule, self.offset = schedule, offset

    def factor(self, epoch):
        return self.schedule.factor(self.offset + epoch)
