"""Weights from an OOF matrix: valid (non-negative, sum to one) and sensible."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from blend.ensemble import weights as W

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def _valid(w, m):
    assert w.shape == (m,)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1.0) < 1e-9


@settings(max_examples=40, deadline=None)
@given(arrays(float, st.tuples(st.integers(3, 30), st.integers(1, 5)), elements=finite), st.data())
def test_regression_weights_are_valid(P, data):
    y = data.draw(arrays(float, P.shape[0], elements=finite))
    m = P.shape[1]
    _valid(W.caruana_weights(P, y, ensemble_size=10), m)
    _valid(W.caruana_weights(P, y, ensemble_size=10, n_bags=3, random_state=0), m)
    _valid(W.nnls_weights(P, y), m)
    _valid(W.mean_weights(m), m)


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 40), st.integers(1, 4), st.integers(2, 4), st.integers(0, 10_000))
def test_classification_weights_are_valid(n, m, k, seed):
    rng = np.random.RandomState(seed)
    P = rng.dirichlet(np.ones(k), size=(n, m))
    y = rng.randint(0, k, n)
    _valid(W.caruana_weights(P, y, metric="log_loss", ensemble_size=10), m)
    _valid(W.log_loss_weights(P, y), m)


def test_caruana_prefers_complementary_members_and_drops_bad_one():
    rng = np.random.RandomState(0)
    y = rng.normal(size=500)
    noise = rng.normal(size=500)
    P = np.column_stack([y + noise, y - noise, y + 5 * rng.normal(size=500)])
    w = W.caruana_weights(P, y)
    assert w[2] == 0
    assert w[0] == pytest.approx(0.5, abs=0.05)
    blended = W.ensemble_loss(P, y, w, "squared_error")
    assert blended < W.member_losses(P, y, "squared_error").min() / 10


def test_caruana_keeps_best_prefix_and_never_worse_than_best_member():
    rng = np.random.RandomState(1)
    y = rng.normal(size=300)
    P = y[:, None] + rng.normal(scale=[0.5, 0.6, 2.0, 3.0], size=(300, 4))
    w = W.caruana_weights(P, y, ensemble_size=30)
    assert W.ensemble_loss(P, y, w, "squared_error") <= W.member_losses(P, y, "squared_error").min()


def test_nnls_matches_unconstrained_solution_when_it_is_feasible():
    rng = np.random.RandomState(2)
    P = rng.normal(size=(200, 3))
    w_true = np.array([0.2, 0.5, 0.3])
    y = P @ w_true
    np.testing.assert_allclose(W.nnls_weights(P, y), w_true, atol=1e-6)


def test_log_loss_weights_beat_each_member():
    rng = np.random.RandomState(3)
    y = rng.randint(0, 3, 400)
    onehot = np.eye(3)[y]
    P = np.stack([0.6 * onehot + 0.4 * rng.dirichlet(np.ones(3), 400) for _ in range(3)], axis=1)
    w = W.log_loss_weights(P, y)
    assert W.ensemble_loss(P, y, w, "log_loss") <= W.member_losses(P, y, "log_loss").min()


def test_multi_output_and_callable_metric():
    rng = np.random.RandomState(4)
    y = rng.normal(size=(100, 2))
    P = y[:, None, :] + rng.normal(size=(100, 3, 2)) * np.array([0.1, 1.0, 1.0])[None, :, None]
    w = W.caruana_weights(P, y)
    assert np.argmax(w) == 0
    _valid(W.nnls_weights(P, y), 3)

    def max_error(t, p):
        return float(np.max(np.abs(t - p)))

    _valid(W.caruana_weights(P, y, metric=max_error, ensemble_size=5), 3)


def test_stacking_features_shapes():
    P = np.random.RandomState(0).dirichlet(np.ones(2), size=(10, 3))
    assert W.stacking_features(P, classification=True).shape == (10, 3)
    assert W.stacking_features(np.zeros((10, 3, 4))).shape == (10, 12)
    assert W.stacking_features(np.zeros((10, 3))).shape == (10, 3)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="metric"):
        W.caruana_weights(np.zeros((3, 2)), np.zeros(3), metric="rmsle")
    with pytest.raises(ValueError, match="n_members"):
        W.caruana_weights(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        W.mean_weights(0)
