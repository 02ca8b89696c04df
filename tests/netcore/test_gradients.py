"""Backpropagation against central differences, for every hidden activation x output head."""

import numpy as np
import pytest

from netcore import HEADS, HIDDEN_ACTIVATIONS, MLP


def targets_for(head, n, k, rng):
    if head == "softmax_cross_entropy":
        return np.eye(k)[rng.integers(0, k, n)]
    if head == "sigmoid_binary_cross_entropy":
        return rng.integers(0, 2, (n, 1)).astype(float)
    if head == "sigmoid_mse":
        return rng.random((n, k))
    return rng.standard_normal((n, k))


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_backprop_matches_central_differences(activation, head):
    rng = np.random.default_rng(42)
    k = 1 if head == "sigmoid_binary_cross_entropy" else 3
    model = MLP((4, 6, 5, k), activation=activation, head=head, init="xavier_normal", rng=1,
                dtype=np.float64)
    for b in model.biases:  # non-zero biases so that their gradients are exercised
        b[:] = rng.normal(0, 0.3, b.shape)
    X = rng.standard_normal((7, 4))
    Y = targets_for(head, 7, k, rng)

    model.loss_and_grads(X, Y)
    analytic = [g.copy() for g in model.grads]
    h = 1e-6
    for param, grad in zip(model.params, analytic):
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            plus = model.forward_with_loss(X, Y)[1]
            param[index] = saved - h
            minus = model.forward_with_loss(X, Y)[1]
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_training_loss_equals_loss_on_probabilities():
    """The exact from-logits loss used in training equals the textbook formula on outputs."""
    rng = np.random.default_rng(0)
    for head, k in [("softmax_cross_entropy", 4), ("sigmoid_binary_cross_entropy", 1)]:
        model = MLP((3, 5, k), head=head, rng=0, dtype=np.float64)
        X = rng.standard_normal((9, 3))
        Y = targets_for(head, 9, k, rng)
        P, loss = model.forward_with_loss(X, Y)
        assert loss == pytest.approx(model.head.value(Y, P), rel=1e-12)
        np.testing.assert_allclose(P, model.forward(X))


def test_outputs_are_stable_for_huge_logits():
    import warnings

    model = MLP((2, 3), head="softmax_cross_entropy", rng=0, dtype=np.float32)
    model.weights[0][:] = [[1e4, -1e4, 0], [800, 0, -800]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P, loss = model.forward_with_loss(np.array([[1.0, 1.0]]), np.array([[0.0, 1.0, 0.0]]))
    assert np.all(np.isfinite(P)) and np.isfinite(loss)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    assert loss == pytest.approx(20800.0, rel=1e-6)  # the true loss, not a clipped one

    binary = MLP((1, 1), head="sigmoid_binary_cross_entropy", rng=0, dtype=np.float32)
    binary.weights[0][:] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = binary.forward(np.array([[-800.0], [800.0]], dtype=np.float32))
    np.testing.assert_array_equal(P[:, 0], [0.0, 1.0])
