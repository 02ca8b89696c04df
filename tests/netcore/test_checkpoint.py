"""Training state files: stopping, saving, loading and continuing equals training straight through."""

import numpy as np
import pytest

from netcore import MLP, SGD, fit, load_training_state, save_training_state


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 5)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[(X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)]
    return X, Y


def fresh(momentum=0.9, seed=0):
    model = MLP((5, 7, 3), rng=seed)
    return model, SGD(model.params, learning_rate=0.1, momentum=momentum, decay_mask=model.param_is_weight)


def test_continuing_from_a_saved_state_equals_training_straight_through(data, tmp_path):
    X, Y = data
    # Full batches: fit's shuffling order starts afresh in every call, the state does not.
    model, optimizer = fresh()
    fit(model, optimizer, X, Y, epochs=6, batch_size=len(X))

    first, first_optimizer = fresh()
    fit(first, first_optimizer, X, Y, epochs=3, batch_size=len(X))
    save_training_state(tmp_path / "state.npz", first, first_optimizer)
    second, second_optimizer = fresh(seed=99)  # other initial weights: all of them are replaced
    load_training_state(tmp_path / "state.npz", second, second_optimizer)
    fit(second, second_optimizer, X, Y, epochs=3, batch_size=len(X))

    for a, b in zip(model.params, second.params):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(optimizer.velocities, second_optimizer.velocities):
        np.testing.assert_array_equal(a, b)


def test_velocities_follow_the_new_optimizers_momentum(data, tmp_path):
    X, Y = data
    model, optimizer = fresh(momentum=0.0)
    fit(model, optimizer, X, Y, epochs=1, batch_size=8, rng=0)
    save_training_state(tmp_path / "plain.npz", model, optimizer)
    other, with_momentum = fresh(momentum=0.5)
    load_training_state(tmp_path / "plain.npz", other, with_momentum)
    assert all(not v.any() for v in with_momentum.velocities)
    for a, b in zip(model.params, other.params):
        np.testing.assert_array_equal(a, b)

    model, optimizer = fresh(momentum=0.9)
    fit(model, optimizer, X, Y, epochs=1, batch_size=8, rng=0)
    save_training_state(tmp_path / "momentum.npz", model, optimizer)
    other, without = fresh(momentum=0.0)
    load_training_state(tmp_path / "momentum.npz", other, without)  # velocities ignored
    np.testing.assert_array_equal(other.params[0], model.params[0])


def test_a_state_of_other_shapes_or_no_state_is_a_clear_error(data, tmp_path):
    model, optimizer = fresh()
    save_training_state(tmp_path / "state.npz", model, optimizer)
    wider = MLP((5, 9, 3), rng=0)
    with pytest.raises(ValueError, match="does not match"):
        load_training_state(tmp_path / "state.npz", wider, SGD(wider.params))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a netcore training state"):
        load_training_state(tmp_path / "junk.npz", model, optimizer)
