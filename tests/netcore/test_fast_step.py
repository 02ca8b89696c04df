"""fit's fast training step (flat parameter buffers, per-batch-size plans, the fused softmax +
cross-entropy, whole-buffer optimiser passes) gives the same bits as the plain per-layer,
per-array formulas it replaces, for every activation, head and optimiser setting."""

import math

import numpy as np
import pytest

from netcore import HEADS, HIDDEN_ACTIVATIONS, MLP, SGD, fit, make_schedule
from netcore.activations import ACTIVATIONS, DERIVATIVES, SCRATCH_DTYPES
from netcore.flat import flat_view, pack, runs


def data(head, n, k, rng):
    X = rng.standard_normal((n, 5)).astype(np.float32)
    if head == "softmax_cross_entropy":
        Y = np.eye(k)[rng.integers(0, k, n)]
    elif head == "sigmoid_binary_cross_entropy":
        Y = rng.integers(0, 2, (n, k))
    elif head == "sigmoid_mse":
        Y = rng.random((n, k))
    else:
        Y = rng.standard_normal((n, k))
    return X, Y.astype(np.float32)


def reference_fit(model, X, Y, *, epochs, batch_size, seed, lr, momentum, nesterov, weight_decay,
                  schedule):
    """The training loop as plain formulas: one array at a time, fresh temporaries, the head's
    separate activate_with_loss and delta. Returns the per-epoch mean training losses."""
    weights = [W.copy() for W in model.weights]
    biases = [b.copy() for b in model.biases]
    velocities = [np.zeros_like(p) for pair in zip(weights, biases) for p in pair]
    hidden, derivative, head = ACTIVATIONS[model.activation], DERIVATIVES[model.activation], model.head
    rng = np.random.default_rng(seed)
    order = np.arange(len(X))
    losses = []
    for epoch in range(epochs):
        rate = lr * schedule.factor(epoch)
        rng.shuffle(order)
        loss_sum = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = X[idx], Y[idx]
            n = len(idx)
            activations = []
            A = xb
            for i, (W, b) in enumerate(zip(weights, biases)):
                Z = np.matmul(A, W)
                Z += b
                A = hidden(Z) if i < len(weights) - 1 else Z
                activations.append(A)
            loss = head.activate_with_loss(activations[-1], yb)
            delta = head.delta(yb, activations[-1], out=np.empty_like(activations[-1]))
            delta *= model.dtype.type(1.0 / n)
            grads = [None] * (2 * len(weights))
            for i in range(len(weights) - 1, -1, -1):
                A_prev = xb if i == 0 else activations[i - 1]
                grads[2 * i] = np.matmul(A_prev.T, delta)
                grads[2 * i + 1] = np.matmul(np.ones(n, dtype=model.dtype), delta)
                if i > 0:
                    delta = derivative(A_prev, np.matmul(delta, weights[i].T), None)
            params = [p for pair in zip(weights, biases) for p in pair]
            for p, g, v in zip(params, grads, velocities):
                if weight_decay and p.ndim > 1:
                    g += p * weight_decay
                g *= rate
                if not momentum:
                    p -= g
                    continue
                v *= momentum
                v -= g
                if nesterov:
                    p += v * momentum
                    p -= g
                else:
                    p += v
            loss_sum += loss * n
        losses.append(loss_sum / len(X))
    return weights, biases, velocities, losses


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("batch_size, momentum, nesterov, weight_decay", [
    (8, 0.9, False, 0.0), (7, 0.0, False, 1e-3), (16, 0.5, True, 1e-4), (1, 0.3, True, 0.0),
])
def test_fit_gives_the_plain_formulas(activation, head, batch_size, momentum, nesterov, weight_decay):
    # fit's update rides on the gradient products (optim.FusedSGD): lr scales the product
    # inside BLAS, often in one fused multiply-add, where the formulas round lr * g first.
    # The two agree to float32 rounding, not bit for bit.
    rng = np.random.default_rng(3)
    k = 2 if head == "sigmoid_binary_cross_entropy" else 3
    X, Y = data(head, 45, k, rng)  # 45 rows: the last batch is a partial one for most sizes
    model = MLP((5, 9, 6, k), activation=activation, head=head, rng=4)
    for b in model.biases:
        b[:] = rng.normal(0, 0.1, b.shape)
    schedule = make_schedule("step", 3, step_size=1, gamma=0.5)
    expected = reference_fit(model, X, Y, epochs=3, batch_size=batch_size, seed=5, lr=0.01, momentum=momentum,
                             nesterov=nesterov, weight_decay=weight_decay, schedule=schedule)
    optimizer = SGD(model.params, learning_rate=0.01, momentum=momentum, nesterov=nesterov,
                    weight_decay=weight_decay, decay_mask=model.param_is_weight, schedule=schedule)
    assert optimizer.fused_update(model.weights, model.biases) is not None
    history = fit(model, optimizer, X, Y, epochs=3, batch_size=batch_size, rng=5)

    weights, biases, velocities, losses = expected
    for got, want in zip(model.weights + model.biases, weights + biases):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert got.dtype == np.float32
    for got, want in zip(optimizer.velocities, velocities if momentum else []):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(history.train_loss, losses, rtol=1e-6)
    assert all(math.isfinite(loss) for loss in losses)


def test_loss_and_grads_is_the_training_step():
    rng = np.random.default_rng(0)
    X, Y = data("softmax_cross_entropy", 12, 3, rng)
    model = MLP((5, 7, 3), rng=1)
    loss = model.loss_and_grads(X, Y)
    grads = [g.copy() for g in model.grads]
    step = model.training_step(12)
    assert step(*step.gather(X, Y, np.arange(12))) == loss
    assert all(a.tobytes() == b.tobytes() for a, b in zip(grads, model.grads))
    with pytest.raises(ValueError, match="a batch of 13 rows does not fit this step's 12"):
        step(np.zeros((13, 5), np.float32), np.zeros((13, 3), np.float32))


def test_flat_views_tile_only_adjacent_contiguous_views():
    flat, views = pack([(3, 4), (4,), (4, 2)], np.float32)
    assert all(v.base is flat.base for v in views) and flat.size == 24
    assert flat.__array_interface__["data"][0] % 64 == 0
    whole, offsets = flat_view(views[::-1])
    assert whole.size == 24 and offsets == [16, 12, 0]
    assert flat_view([views[0], views[2]]) is None  # a gap
    assert flat_view([views[0], views[0]]) is None  # an overlap
    assert flat_view([views[0].T]) is None and flat_view([np.zeros(3)]) is None
    assert runs([0, 12, 16], [12, 4, 8], [True, False, True]) == [(0, 12), (16, 24)]
    assert runs([0, 12, 16], [12, 4, 8], [True, True, False]) == [(0, 16)]


def test_sgd_on_separate_arrays_and_on_a_flat_buffer_agree():
    rng = np.random.default_rng(0)
    shapes = [(6, 4), (4,), (4, 2), (2,)]
    _, tiled = pack(shapes, np.float32)
    _, tiled_grads = pack(shapes, np.float32)
    separate = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    for p, value in zip(tiled, separate):
        p[:] = value
    settings = dict(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    flat_sgd, plain_sgd = SGD(tiled, **settings), SGD(separate, **settings)
    for _ in range(3):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        for g, value in zip(tiled_grads, grads):
            g[:] = value
        flat_sgd.step(tiled_grads)
        plain_sgd.step(grads)
    assert len(flat_sgd._groups) == 1 and len(plain_sgd._groups) == 4
    assert all(a.tobytes() == b.tobytes() for a, b in zip(tiled, separate))


def test_pickled_model_trains_on_flat_buffers_again():
    import pickle

    model = pickle.loads(pickle.dumps(MLP((5, 4, 3), rng=0)))
    assert flat_view(model.params) is not None and flat_view(model.grads) is not None


def test_flushing_subnormal_velocities_leaves_the_weights_bit_for_bit():
    # Feature 0 is non-zero in 3 of 900 rows: its weights' velocities decay (x 0.9 per step)
    # into the subnormal range, where fit rounds them to zero every FLUSH_EVERY batches.
    rng = np.random.default_rng(0)
    X, Y = data("softmax_cross_entropy", 900, 3, rng)
    X[3:, 0] = 0
    unflushed, flushed = MLP((5, 9, 6, 3), rng=4), MLP((5, 9, 6, 3), rng=4)
    kept = SGD(unflushed.params, learning_rate=0.01, momentum=0.9)
    # Settling the velocities' scale (optim.FusedSGD) where fit flushes, but no flush.
    kept.flush_subnormal_velocities = kept.settle_velocities  # type: ignore[method-assign]
    unflushed_history = fit(unflushed, kept, X, Y, epochs=1, batch_size=1, rng=5)
    velocities = kept.velocities
    smallest_normal = np.finfo(np.float32).smallest_normal
    assert np.any((velocities[0] != 0) & (np.abs(velocities[0]) < smallest_normal))  # it happens
    optimizer = SGD(flushed.params, learning_rate=0.01, momentum=0.9)
    history = fit(flushed, optimizer, X, Y, epochs=1, batch_size=1, rng=5)

    for got, want in zip(flushed.params, unflushed.params):
        assert got.tobytes() == want.tobytes()
    assert history.train_loss == unflushed_history.train_loss
    for got, want in zip(optimizer.velocities, velocities):
        normal = np.abs(want) >= smallest_normal
        assert np.array_equal(got[normal], want[normal])
        assert np.all(np.abs(got[~normal]) < smallest_normal)
    assert ((velocities[0] != 0) & (optimizer.velocities[0] == 0)).any()


def test_flush_rounds_subnormal_velocities_to_zeros_of_their_sign():
    W = np.zeros((1, 6), np.float32)
    optimizer = SGD([W], learning_rate=0.1, momentum=0.9)
    tiny = np.finfo(np.float32).smallest_normal
    optimizer.velocities[0][:] = [tiny / 4, -tiny / 4, tiny, -2 * tiny, -0.0, np.nan]
    optimizer.flush_subnormal_velocities()
    v = optimizer.velocities[0][0]
    assert v[0] == 0 and not np.signbit(v[0]) and v[1] == 0 and np.signbit(v[1])
    assert v[2] == tiny and v[3] == -2 * tiny and np.signbit(v[4]) and np.isnan(v[5])
    SGD([W], learning_rate=0.1).flush_subnormal_velocities()  # no momentum: nothing to flush


def test_fused_update_matches_a_hand_worked_momentum_step():
    # One weight, one bias, squared error: P = 2 W + b, delta = P - 0, grads (2 delta, delta).
    model = MLP((1, 1), head="identity_mse", rng=0)
    model.set_params([np.array([[1.0]]), np.array([0.5])])
    optimizer = SGD(model.params, learning_rate=0.1, momentum=0.9)
    X, Y = np.array([[2.0]], np.float32), np.array([[0.0]], np.float32)
    history = fit(model, optimizer, X, Y, epochs=1, batch_size=1)
    # P = 2.5: v = -0.1 * (5, 2.5) = (-0.5, -0.25); (W, b) = (0.5, 0.25)
    np.testing.assert_allclose([model.weights[0][0, 0], model.biases[0][0]], [0.5, 0.25], rtol=1e-6)
    fit(model, optimizer, X, Y, epochs=2, batch_size=1, history=history)  # one step more
    # P = 1.25: v = 0.9 * (-0.5, -0.25) - 0.1 * (2.5, 1.25) = (-0.7, -0.35); (W, b) = (-0.2, -0.1)
    np.testing.assert_allclose([model.weights[0][0, 0], model.biases[0][0]], [-0.2, -0.1], rtol=1e-6)
    np.testing.assert_allclose([optimizer.velocities[0][0, 0], optimizer.velocities[1][0]], [-0.7, -0.35],
                               rtol=1e-6)


@pytest.mark.parametrize("momentum, nesterov, weight_decay, decay_biases", [
    (0.9, False, 0.0, False), (0.9, False, 1e-2, True), (0.5, True, 1e-2, False), (0.0, False, 1e-2, True),
    (0.0, False, 0.0, False), (0.01, False, 1e-2, False),  # 0.01: the scale settles every 3 steps
])
def test_fit_agrees_with_gradients_then_sgd_step(momentum, nesterov, weight_decay, decay_biases):
    rng = np.random.default_rng(1)
    X, Y = data("softmax_cross_entropy", 40, 3, rng)
    fused, stepped = MLP((5, 8, 3), rng=2), MLP((5, 8, 3), rng=2)
    settings = dict(learning_rate=0.05, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                    decay_mask=[True, decay_biases] * 2)
    fused_sgd, stepped_sgd = SGD(fused.params, **settings), SGD(stepped.params, **settings)
    fit(fused, fused_sgd, X, Y, epochs=2, batch_size=8, rng=3)
    order = np.arange(40)
    shuffle = np.random.default_rng(3)
    for epoch in range(2):
        stepped_sgd.start_epoch(epoch)
        shuffle.shuffle(order)
        for start in range(0, 40, 8):
            stepped.loss_and_grads(X[order[start:start + 8]], Y[order[start:start + 8]])
            stepped_sgd.step(stepped.grads)
    for got, want in zip(fused.params, stepped.params):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(fused_sgd.velocities, stepped_sgd.velocities):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)


def test_fused_update_only_for_the_models_own_parameters():
    model = MLP((4, 3, 2), rng=0)
    assert SGD(model.params).fused_update(model.weights, model.biases) is not None
    assert SGD(model.get_params()).fused_update(model.weights, model.biases) is None  # copies
    assert SGD(model.params[::-1]).fused_update(model.weights, model.biases) is None  # another order
    assert SGD(model.params[:2]).fused_update(model.weights, model.biases) is None


def test_fit_leaves_the_velocities_settled_on_every_way_out():
    # FusedSGD keeps v * scale in the buffers between flushes; what fit hands back is v.
    rng = np.random.default_rng(0)
    X, Y = data("softmax_cross_entropy", 40, 3, rng)
    model, reference = MLP((5, 8, 3), rng=1), MLP((5, 8, 3), rng=1)
    optimizer = SGD(model.params, learning_rate=0.1, momentum=0.9)
    history = fit(model, optimizer, X, Y, epochs=3, batch_size=4, rng=2, time_budget=1e-9)
    assert history.status == "time_budget" and optimizer._velocity_scale == 1.0
    first = np.random.default_rng(2).permutation(40)[:4]  # the one batch it trained
    reference.loss_and_grads(X[first], Y[first])
    for v, g in zip(optimizer.velocities, reference.grads):
        np.testing.assert_allclose(v, -0.1 * g, rtol=1e-5, atol=1e-8)
    state = optimizer.state()
    optimizer._velocity_scale = 4.0  # as mid-epoch: settle divides it out
    optimizer.velocities[0] *= 4
    optimizer.settle_velocities()
    np.testing.assert_allclose(optimizer.velocities[0], state["velocities"][0], rtol=1e-6)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_derivatives_with_scratch_are_the_plain_formulas_bit_for_bit(activation):
    rng = np.random.default_rng(0)
    A = ACTIVATIONS[activation](rng.standard_normal((6, 5)).astype(np.float32))
    A[0, :2] = 0  # relu's kink
    delta = rng.standard_normal((6, 5)).astype(np.float32)
    plain = {"identity": delta, "sigmoid": delta * A * (1 - A), "tanh": delta * (1 - A**2),
             "relu": delta * (A > 0),
             "leaky_relu": delta * np.where(A > 0, np.float32(1), np.float32(0.01))}[activation]
    scratch = np.empty(A.shape, dtype=SCRATCH_DTYPES.get(activation, np.float32))
    with_scratch = DERIVATIVES[activation](A, delta.copy(), scratch)
    without = DERIVATIVES[activation](A, delta.copy(), None)
    assert with_scratch.tobytes() == plain.tobytes() == without.tobytes()
    assert with_scratch.dtype == np.float32


@pytest.mark.parametrize("logit_scale", [1.0, 1e4])
def test_softmax_loss_and_delta_is_the_separate_formulas(logit_scale):
    # The fused form finds each row's max by argmax and sums rows by a BLAS product.
    rng = np.random.default_rng(0)
    head = HEADS["softmax_cross_entropy"]
    Z = (rng.standard_normal((9, 4)) * logit_scale).astype(np.float32)
    Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 9)]
    P = Z.copy()
    expected_loss = head.activate_with_loss(P, Y)
    expected_delta = head.delta(Y, P, out=np.empty_like(P)) * np.float32(1 / 9)
    out = np.empty_like(Z)
    for work in (None, head.workspace(9, 4, np.dtype(np.float32))):
        got = Z.copy()
        loss = head.loss_and_delta(got, Y, out, np.float32(1 / 9), work)
        assert math.isfinite(loss) and loss == pytest.approx(expected_loss, rel=1e-6)
        np.testing.assert_allclose(got, P, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out, expected_delta, rtol=1e-6, atol=1e-8)
