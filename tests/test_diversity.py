"""Diversity decompositions hold exactly, row by row; pairwise measures on known examples."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blend.ensemble import diversity as D


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 50), st.integers(1, 6), st.integers(0, 10_000))
def test_ambiguity_identity_row_by_row(n, m, seed):
    rng = np.random.RandomState(seed)
    P = rng.normal(scale=10, size=(n, m))
    y = rng.normal(scale=10, size=n)
    w = rng.dirichlet(np.ones(m))
    d = D.ambiguity_decomposition(P, y, w)
    np.testing.assert_allclose(d.ensemble_error, d.member_error - d.ambiguity, rtol=0, atol=1e-10)
    np.testing.assert_allclose(d.ensemble_error, (P @ w - y) ** 2, rtol=0, atol=1e-10)
    assert np.all(d.ambiguity >= -1e-12)


def test_ambiguity_multi_output_and_equal_weights():
    rng = np.random.RandomState(0)
    P = rng.normal(size=(20, 3, 2))
    y = rng.normal(size=(20, 2))
    d = D.ambiguity_decomposition(P, y)
    assert d.ensemble_error.shape == (20, 2)
    np.testing.assert_allclose(d.ensemble_error, d.member_error - d.ambiguity, atol=1e-10)
    np.testing.assert_allclose(d.ensemble_error, (P.mean(axis=1) - y) ** 2, atol=1e-10)
    s = d.summary()
    assert s["ensemble_error"] == pytest.approx(s["member_error"] - s["ambiguity"])


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(2, 5), st.integers(0, 10_000))
def test_cross_entropy_identity_row_by_row(n, m, k, seed):
    rng = np.random.RandomState(seed)
    P = rng.dirichlet(np.ones(k) * 0.7, size=(n, m))
    y = rng.randint(0, k, n)
    w = rng.dirichlet(np.ones(m))
    d = D.cross_entropy_decomposition(P, y, w)
    np.testing.assert_allclose(d.ensemble_loss, d.member_loss - d.diversity, rtol=0, atol=1e-10)
    assert np.all(d.diversity >= -1e-12)
    # the diversity term is the weighted KL divergence from the geometric mean
    geo = np.exp(np.einsum("nmk,m->nk", np.log(P), w))
    geo /= geo.sum(axis=1, keepdims=True)
    kl = np.einsum("m,nm->n", w, np.sum(geo[:, None, :] * np.log(geo[:, None, :] / P), axis=2))
    np.testing.assert_allclose(d.diversity, kl, atol=1e-10)
    np.testing.assert_allclose(d.ensemble_loss, -np.log(geo[np.arange(n), y]), atol=1e-10)


def test_identical_members_have_no_diversity():
    P = np.repeat(np.array([[[0.7, 0.3]], [[0.2, 0.8]]]), 3, axis=1)
    d = D.cross_entropy_decomposition(P, np.array([0, 1]))
    np.testing.assert_allclose(d.diversity, 0.0, atol=1e-12)
    a = D.ambiguity_decomposition(np.ones((4, 3)), np.zeros(4))
    np.testing.assert_allclose(a.ambiguity, 0.0)


def test_kuncheva_whitaker_known_example():
    # Kuncheva & Whitaker (2003), Table 1 notation: N11=4, N10=2, N01=1, N00=3 over N=10 rows
    a = np.array([1] * 4 + [1] * 2 + [0] * 1 + [0] * 3, dtype=bool)
    b = np.array([1] * 4 + [0] * 2 + [1] * 1 + [0] * 3, dtype=bool)
    out = D.pairwise_measures(np.column_stack([a, b]))
    assert out["q_statistic"][0, 1] == pytest.approx((4 * 3 - 1 * 2) / (4 * 3 + 1 * 2))
    assert out["disagreement"][0, 1] == pytest.approx(0.3)
    assert out["double_fault"][0, 1] == pytest.approx(0.3)
    for value in out.values():
        np.testing.assert_allclose(value, value.T)
    assert out["q_statistic"][0, 0] == 1.0
    assert out["disagreement"][0, 0] == 0.0


def test_q_statistic_undefined_is_nan_and_signs():
    always = np.ones(6, dtype=bool)
    other = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    q = D.pairwise_measures(np.column_stack([always, other]))["q_statistic"]
    assert np.isnan(q[0, 1])
    opposite = np.column_stack([other, ~other])
    assert D.pairwise_measures(opposite)["q_statistic"][0, 1] == -1.0


def test_correct_matrix_from_probabilities_and_labels():
    P = np.array([[[0.9, 0.1], [0.3, 0.7]], [[0.4, 0.6], [0.2, 0.8]]])
    np.testing.assert_array_equal(D.correct_matrix(P, np.array([0, 1])), [[1, 0], [1, 1]])
    np.testing.assert_array_equal(D.correct_matrix(np.array([[0, 1]]), np.array([1])), [[0, 1]])


def test_error_correlation():
    rng = np.random.RandomState(0)
    y = rng.normal(size=200)
    e = rng.normal(size=200)
    P = np.column_stack([y + e, y + 2 * e, y - e, y + rng.normal(size=200), np.full(200, 1.0) + y])
    c = D.error_correlation(P, y)
    assert c[0, 1] == pytest.approx(1.0)
    assert c[0, 2] == pytest.approx(-1.0)
    assert abs(c[0, 3]) < 0.2
    assert c[4, 0] == 0.0 and c[4, 4] == 1.0
    probs = rng.dirichlet(np.ones(3), size=(50, 2))
    cp = D.error_correlation(probs, rng.randint(0, 3, 50), proba=True)
    assert cp.shape == (2, 2)


def test_bad_weights_are_rejected():
    with pytest.raises(ValueError, match="summing to one"):
        D.ambiguity_decomposition(np.zeros((3, 2)), np.zeros(3), np.array([0.5, 0.6]))
