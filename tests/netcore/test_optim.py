"""SGD with momentum checked against hand-worked steps, and the learning-rate schedules."""

import math

import numpy as np
import pytest

from netcore import SGD, make_schedule


def test_momentum_steps_match_the_formula():
    W = np.array([[1.0, -2.0]], dtype=np.float32)
    b = np.array([0.5], dtype=np.float32)
    opt = SGD([W, b], learning_rate=0.1, momentum=0.9)
    opt.start_epoch(0)
    opt.step([np.array([[2.0, 4.0]], np.float32), np.array([1.0], np.float32)])
    # v1 = -0.1 * g1 = [-0.2, -0.4]; W1 = W0 + v1
    np.testing.assert_allclose(W, [[0.8, -2.4]], rtol=1e-6)
    np.testing.assert_allclose(b, [0.4], rtol=1e-6)
    opt.step([np.array([[1.0, -1.0]], np.float32), np.array([0.0], np.float32)])
    # v2 = 0.9 * v1 - 0.1 * g2 = [-0.28, -0.26]; W2 = W1 + v2
    np.testing.assert_allclose(W, [[0.52, -2.66]], rtol=1e-6)
    np.testing.assert_allclose(b, [0.31], rtol=1e-6)  # v2 = 0.9 * -0.1
    assert W.dtype == np.float32 and opt.velocities[0].dtype == np.float32


def test_nesterov_step_matches_the_formula():
    W = np.array([[1.0]])
    opt = SGD([W], learning_rate=0.1, momentum=0.5, nesterov=True)
    opt.start_epoch(0)
    opt.step([np.array([[2.0]])])
    # v1 = -0.2; W1 = W0 + 0.5 * v1 - 0.1 * g = 1 - 0.1 - 0.2
    assert W[0, 0] == pytest.approx(0.7)
    opt.step([np.array([[1.0]])])
    # v2 = 0.5 * -0.2 - 0.1 = -0.2; W2 = 0.7 + 0.5 * -0.2 - 0.1
    assert W[0, 0] == pytest.approx(0.5)


def test_plain_sgd_and_weight_decay_on_weights_only():
    W, b = np.array([[2.0]]), np.array([3.0])
    opt = SGD([W, b], learning_rate=0.5, weight_decay=0.1, decay_mask=[True, False])
    opt.start_epoch(0)
    opt.step([np.array([[1.0]]), np.array([1.0])])
    assert W[0, 0] == pytest.approx(2.0 - 0.5 * (1.0 + 0.1 * 2.0))
    assert b[0] == pytest.approx(3.0 - 0.5 * 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"learning_rate": 0}, "learning_rate must be a finite number > 0"),
    ({"learning_rate": -1}, "learning_rate"),
    ({"learning_rate": math.nan}, "learning_rate"),
    ({"momentum": 1.5}, "momentum must be a finite number >= 0 and <= 1"),
    ({"weight_decay": -0.1}, "weight_decay"),
])
def test_bad_hyperparameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([np.zeros((1, 1))], **kwargs)


def test_schedules():
    opt = SGD([np.zeros(1)], learning_rate=1.0, schedule=make_schedule("step", 30, step_size=10, gamma=0.5))
    assert [opt.start_epoch(e) for e in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cosine = make_schedule("cosine", 11, min_factor=0.1)
    assert cosine.factor(0) == pytest.approx(1.0)
    assert cosine.factor(5) == pytest.approx(0.55)
    assert cosine.factor(10) == pytest.approx(0.1)
    assert make_schedule("constant", 5).factor(4) == 1.0
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'; valid: constant, step, cosine"):
        make_schedule("linear", 5)
