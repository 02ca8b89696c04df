"""The training loop on real (small) problems: tutorials, digits, divergence, determinism."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from netcore import INITIALIZERS, MLP, SGD, fit, make_schedule

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[y]
    return train_test_split(X, Y, test_size=0.25, random_state=0, stratify=y)


def train(model, X, Y, lr=0.05, momentum=0.9, **kwargs):
    optimizer = SGD(model.params, learning_rate=lr, momentum=momentum)
    kwargs.setdefault("epochs", 5)
    kwargs.setdefault("batch_size", 32)
    return fit(model, optimizer, X, Y, **kwargs)


def test_tutorial_neuron_and_two_layer_network():
    # Victor Zhou, "An introduction to neural networks": w = [0, 1], b = 4, x = [2, 3].
    neuron = MLP((2, 1), head="sigmoid_mse", dtype=np.float64)
    neuron.weights[0][:] = [[0], [1]]
    neuron.biases[0][:] = 4
    assert neuron.forward([[2, 3]])[0, 0] == pytest.approx(0.999, abs=5e-4)
    # Every neuron with weights [0, 1] and bias 0; inputs [2, 3].
    net = MLP((2, 2, 1), activation="sigmoid", head="sigmoid_mse", dtype=np.float64)
    net.weights[0][:] = [[0, 0], [1, 1]]
    net.weights[1][:] = [[0], [1]]
    assert net.forward([[2, 3]])[0, 0] == pytest.approx(0.7216, abs=5e-5)


def test_sigmoid_network_learns_xor():
    model = MLP((2, 3, 1), activation="sigmoid", head="sigmoid_mse", init="normal", rng=3)
    history = train(model, XOR_X, XOR_Y, lr=2.0, momentum=0.9, epochs=2000, batch_size=4, rng=0)
    assert history.status == "completed"
    outputs = model.forward(XOR_X)[:, 0]
    assert np.all((outputs > 0.5) == XOR_Y[:, 0].astype(bool)), outputs


def test_digits_reaches_97_percent_in_seconds(digits):
    X_train, X_test, Y_train, Y_test = digits
    model = MLP((64, 128, 10), activation="relu", init="he_uniform", rng=0)
    history = train(model, X_train, Y_train, lr=0.05, epochs=30, rng=0,
                    validation_data=(X_test, Y_test))
    assert history.status == "completed"
    assert history.val_metric[-1] >= 0.97
    assert sum(history.seconds) < 10


def test_divergence_is_a_status_not_an_error_or_warning(digits):
    X_train, _, Y_train, _ = digits
    model = MLP((64, 32, 10), rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = train(model, X_train, Y_train, lr=1e3, epochs=20, rng=0)
    assert history.status == "diverged"
    assert "training loss" in history.reason
    assert history.epochs_run == 1


def test_regression_divergence_to_infinity_is_caught():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = (X @ [[1.0], [2.0], [3.0]]).astype(np.float32)
    model = MLP((3, 8, 1), head="identity_mse", rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = train(model, X, Y, lr=10.0, epochs=50, batch_size=8, rng=0,
                        validation_data=(X, Y))
    assert history.diverged
    assert np.isnan(history.train_loss[-1])


def test_early_stopping_restores_the_best_weights(digits):
    X_train, X_val, Y_train, Y_val = digits
    model = MLP((64, 64, 10), rng=0)
    # A high learning rate makes validation loss bounce, so patience triggers.
    history = train(model, X_train, Y_train, lr=0.5, epochs=60, rng=0,
                    validation_data=(X_val, Y_val), early_stopping_patience=3)
    assert history.status == "early_stopped"
    assert history.epochs_run == history.best_epoch + 4
    best = min(history.val_loss)
    assert history.val_loss[history.best_epoch] == best
    assert model.forward_with_loss(X_val, Y_val)[1] == pytest.approx(best, rel=1e-5)


def test_callback_stops_and_time_budget(digits):
    X_train, X_val, Y_train, Y_val = digits
    history = train(MLP((64, 16, 10), rng=0), X_train, Y_train, epochs=50, rng=0,
                    callback=lambda h: h.epochs_run == 3)
    assert (history.status, history.epochs_run) == ("stopped", 3)
    history = train(MLP((64, 16, 10), rng=0), X_train, Y_train, epochs=10_000, rng=0,
                    time_budget=0.2)
    assert history.status == "time_budget"
    assert sum(history.seconds) < 2


def test_same_seed_gives_bit_identical_weights_and_history(digits):
    X_train, X_val, Y_train, Y_val = digits

    def run(init_seed, shuffle_seed):
        model = MLP((64, 32, 10), rng=init_seed)
        history = train(model, X_train, Y_train, epochs=3, rng=shuffle_seed,
                        validation_data=(X_val, Y_val))
        return model, history

    (m1, h1), (m2, h2), (m3, _) = run(0, 0), run(0, 0), run(0, 1)
    for a, b in zip(m1.params, m2.params):
        np.testing.assert_array_equal(a, b)
    assert (h1.train_loss, h1.val_loss, h1.val_metric) == (h2.train_loss, h2.val_loss, h2.val_metric)
    assert not np.array_equal(m1.weights[0], m3.weights[0])  # the shuffle seed matters


@pytest.mark.parametrize("batch_size, momentum, schedule", [
    (32, 0.9, None), (1000, 0.5, "cosine"), (1, 0.0, "step")])
def test_continuing_a_run_equals_one_longer_run(digits, batch_size, momentum, schedule):
    """2 epochs, then 3 more from the returned History: bit for bit the 5-epoch run (weights,
    velocities, curves, learning rates), for mini-batches, full batch and online updates."""
    X_train, X_val, Y_train, Y_val = digits
    X_train, Y_train = X_train[:300], Y_train[:300]

    def start(epochs):
        model = MLP((64, 16, 10), rng=0)
        sched = make_schedule(schedule, 5, step_size=2, gamma=0.5) if schedule else None
        optimizer = SGD(model.params, learning_rate=0.05, momentum=momentum, schedule=sched)
        history = fit(model, optimizer, X_train, Y_train, epochs=epochs, batch_size=batch_size,
                      rng=3, validation_data=(X_val, Y_val))
        return model, optimizer, history

    model, optimizer, history = start(5)
    resumed_model, resumed_optimizer, first = start(2)
    continued = fit(resumed_model, resumed_optimizer, X_train, Y_train, epochs=5, batch_size=batch_size,
                    rng=3, validation_data=(X_val, Y_val), history=first)
    assert continued is first and continued.epochs_run == 5
    for a, b in zip(model.params + optimizer.velocities, resumed_model.params + resumed_optimizer.velocities):
        np.testing.assert_array_equal(a, b)
    for name in ("train_loss", "val_loss", "val_metric", "learning_rate"):
        assert getattr(continued, name) == getattr(history, name)
    assert (continued.best_epoch, continued.divergence_limit) == (history.best_epoch, history.divergence_limit)


def test_only_a_completed_run_without_early_stopping_is_continued(digits):
    X_train, X_val, Y_train, Y_val = digits
    model = MLP((64, 8, 10), rng=0)
    stopped = train(model, X_train, Y_train, epochs=5, rng=0, callback=lambda h: True)
    with pytest.raises(ValueError, match="only a completed run can be continued, this one is stopped"):
        train(model, X_train, Y_train, epochs=5, rng=0, history=stopped)
    done = train(model, X_train, Y_train, epochs=2, rng=0, validation_data=(X_val, Y_val))
    with pytest.raises(ValueError, match="a run with early stopping cannot be continued"):
        train(model, X_train, Y_train, epochs=5, rng=0, history=done, validation_data=(X_val, Y_val),
              early_stopping_patience=2)
    with pytest.raises(ValueError, match=r"epochs \(1\) is below the 2 the run already trained"):
        train(model, X_train, Y_train, epochs=1, rng=0, history=done)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_end_to_end(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((20, 5))  # float64 input: converted once, never upcast inside
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    model = MLP((5, 4, 3), activation="tanh", rng=0, dtype=dtype)
    history = train(model, X, Y, epochs=2, batch_size=6, rng=0, validation_data=(X, Y))
    assert history.status == "completed"
    step = model.training_step(6)  # the one fit used, with its gather buffers
    gathered = step.gather(X.astype(dtype), Y.astype(dtype), np.arange(6))
    arrays = model.params + model.grads + step.outputs + step.deltas + list(gathered)
    assert all(a.dtype == dtype for a in arrays)
    assert model.forward(X).dtype == dtype
    xb = X[:6].astype(dtype)
    model.loss_and_grads(xb, Y[:6].astype(dtype))
    assert all(g.dtype == dtype for g in model.grads)


@pytest.mark.parametrize("batch_size", [1, 7, 150, 10_000])
def test_batch_sizes_from_online_to_full_batch(batch_size):
    rng = np.random.default_rng(0)
    X = rng.random((150, 4), dtype=np.float32)
    Y = np.eye(2, dtype=np.float32)[(X[:, 0] > 0.5).astype(int)]
    model = MLP((4, 8, 2), rng=0)
    history = train(model, X, Y, lr=0.1, momentum=0.5, epochs=40, batch_size=batch_size, rng=0,
                    validation_data=(X, Y))
    assert history.status == "completed"
    assert history.val_metric[-1] > 0.9


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_init_schemes_statistics(init):
    model = MLP((400, 300, 2), init=init, rng=0)
    W = model.weights[0]
    expected_std = {"zeros": 0, "normal": 1, "uniform": 0.05 / np.sqrt(3),
                    "xavier_normal": np.sqrt(2 / 700), "xavier_uniform": np.sqrt(2 / 700),
                    "he_normal": np.sqrt(2 / 400), "he_uniform": np.sqrt(2 / 400),
                    "lecun_normal": np.sqrt(1 / 400)}[init]
    assert W.std() == pytest.approx(expected_std, rel=0.02, abs=1e-12)
    assert abs(W.mean()) < 0.01 * max(expected_std, 1e-3)
    assert all(not b.any() for b in model.biases)
    assert W.dtype == np.float32


def test_zero_init_is_allowed_and_keeps_hidden_units_identical(digits):
    X_train, _, Y_train, _ = digits
    model = MLP((64, 8, 10), activation="tanh", init="zeros", rng=0)
    history = train(model, X_train, Y_train, epochs=2, rng=0)
    assert history.status == "completed"
    W = model.weights[0]
    assert np.all(W == W[:, :1])  # the symmetry is never broken: the classic lesson


@pytest.mark.parametrize("make, message", [
    (lambda: MLP((3,)), "at least an input and an output"),
    (lambda: MLP((3, 0, 2)), "positive integers"),
    (lambda: MLP((3, 2), activation="gelu"), r"unknown activation 'gelu'; valid: identity, leaky_relu, relu, sigmoid, tanh"),
    (lambda: MLP((3, 2), head="softmax"), r"unknown output head 'softmax'; valid: .*identity_mse"),
    (lambda: MLP((3, 2), init="orthogonal"), r"unknown init scheme 'orthogonal'; valid: .*he_normal"),
    (lambda: MLP((3, 2), dtype=np.float16), "dtype must be float32 or float64"),
])
def test_bad_model_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def _fit_with(X=None, Y=None, head="softmax_cross_entropy", **kwargs):
    rng = np.random.default_rng(0)
    X = rng.random((10, 3)) if X is None else X
    Y = np.eye(2)[rng.integers(0, 2, 10)] if Y is None else Y
    model = MLP((3, 4, 1 if head == "sigmoid_binary_cross_entropy" else 2), head=head, rng=0)
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("batch_size", 4)
    return fit(model, SGD(model.params), X, Y, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"X": np.ones(10)}, r"X must be 2-D, got shape \(10,\)"),
    ({"X": np.ones((10, 5))}, "X has 5 features but the model expects 3"),
    ({"X": np.ones((9, 3))}, "X has 9 samples but its targets have 10"),
    ({"X": np.zeros((0, 3)), "Y": np.zeros((0, 2))}, "X is empty"),
    ({"X": np.where(np.eye(10, 3) > 0, np.nan, 0.0)}, r"X contains NaN or infinity in 3 row\(s\), first at row 0"),
    ({"Y": np.full((10, 2), np.inf)}, "Y contains NaN or infinity"),
    ({"Y": np.full((10, 2), 0.5)}, "targets must be one-hot"),
    ({"Y": np.ones((10, 3))}, "targets have 3 columns but the model has 2 outputs"),
    ({"Y": np.full((10, 1), 2.0), "head": "sigmoid_binary_cross_entropy"}, "targets must be 0 or 1"),
    ({"X": np.array([["a"] * 3] * 10)}, "X must be numeric"),
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"early_stopping_patience": 2}, "early stopping needs validation_data"),
    ({"time_budget": -1}, "time_budget must be a positive number"),
    ({"monitor": "loss"}, "monitor must be 'val_loss' or 'val_metric'"),
])
def test_bad_training_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _fit_with(**kwargs)
