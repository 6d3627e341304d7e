"""000 App. A.1 (Eqs 12-14): the single neuron on the ring objects "11" and "101", in float64.

Every operator here is an exact enumeration over the 2 d latent values, so tolerances are
rounding (1e-13 on entries of size 1/(4 d^2) ~ 1e-2 or below).
"""

import jax
import numpy as np
import pytest

from ssl_odes.dual_networks import (
    covariance_operator,
    iterate_covariance_update,
    mean_connection,
    pattern_frequencies,
    pattern_vector,
    ring_objects,
    selectivity_constant,
    semantic_subspace_model,
    single_neuron_operator,
)

RINGS = (4, 5, 8)


def brute_force_counts(d):
    """Fig 3(a2) from Eq 12 directly: the patterns that pixels (0, 1) show over all translations."""
    counts = {p: [0, 0] for p in ("00", "01", "10", "11")}
    for obj, gap in enumerate((1, 2)):
        for z in range(d):
            on = {z % d, (z + gap) % d}
            counts[f"{int(0 in on)}{int(1 in on)}"][obj] += 1
    return {p: tuple(c) for p, c in counts.items()}


@pytest.mark.parametrize("d", RINGS + (9,))
def test_fig3a2_frequency_table_matches_eq12(d):
    """Fig 3(a2): 11 -> (1, 0), 01 -> (1, 2), 10 -> (1, 2), 00 -> (d - 3, d - 4), counted on Eq 12."""
    assert pattern_frequencies(d) == brute_force_counts(d)
    images = np.asarray(ring_objects(d, field=(0, 1)).images)
    for p in ("00", "01", "10", "11"):
        shown = [int(np.sum(np.all(images[obj] == pattern_vector(p), axis=-1))) for obj in (0, 1)]
        assert tuple(shown) == pattern_frequencies(d)[p]


@pytest.mark.parametrize("d", RINGS)
def test_linear_neuron_kbar_is_two_over_d_and_the_operator_vanishes(d):
    """App. A.1: a linear neuron on the whole ring has Kbar_1(z0) = (2/d) 1 for both objects, so V = 0."""
    model = ring_objects(d)
    w = np.random.default_rng(d).normal(size=d)
    kbar = np.asarray(mean_connection([w[None]], 1, model))[..., 0]
    np.testing.assert_allclose(kbar, np.full((2, d), 2.0 / d), atol=1e-15)
    np.testing.assert_allclose(single_neuron_operator(w, d), np.zeros((d, d)), atol=1e-15)


@pytest.mark.parametrize("d", RINGS)
def test_eq13_linear_neuron_with_width2_field_learns_nothing(d):
    """Eq 13: Kbar(1) = [x11 + x01 + x10 + (d-3) x00]/d, Kbar(2) = [2 x01 + 2 x10 + (d-4) x00]/d, and
    V = u u^T / (4 d^2) with u = x11 + x00 - x01 - x10 = 0."""
    x = {p: pattern_vector(p) for p in ("00", "01", "10", "11")}
    kbar = np.asarray(mean_connection([np.array([[0.3, -0.7]])], 1, ring_objects(d, field=(0, 1))))[..., 0]
    np.testing.assert_allclose(kbar[0], (x["11"] + x["01"] + x["10"] + (d - 3) * x["00"]) / d, atol=1e-15)
    np.testing.assert_allclose(kbar[1], (2 * x["01"] + 2 * x["10"] + (d - 4) * x["00"]) / d, atol=1e-15)
    u = x["11"] + x["00"] - x["01"] - x["10"]
    assert np.all(u == 0)
    np.testing.assert_allclose(single_neuron_operator([0.3, -0.7], d, field=(0, 1)), np.outer(u, u) / (4 * d * d), atol=1e-15)


# A weight vector selective for each single pattern (the bias makes 11 and 00 reachable).
SELECTIVE = {
    "01": ([-2.0, 1.0], False),
    "10": ([1.0, -2.0], False),
    "11": ([1.0, 1.0, -1.5], True),
    "00": ([-1.0, -1.0, 0.5], True),
}


@pytest.mark.parametrize("d", RINGS)
@pytest.mark.parametrize("pattern", sorted(SELECTIVE))
def test_relu_neuron_selective_for_one_pattern_gets_c_p_x_p_x_p(pattern, d):
    """App. A.1: V_z0[Kbar_1] = c_p x_p x_p^T with c_p = 1/(4 d^2) for every pattern (Fig 3(a2):
    the two objects' counts differ by 1 for each), x_p with a trailing 1 when the neuron has a bias."""
    w, bias = SELECTIVE[pattern]
    xs = {p: pattern_vector(p, bias=bias) for p in ("00", "01", "10", "11")}
    # x_00 = 0 without a bias: its gate is closed (w^T x = 0) and it carries no signal anyway.
    assert np.dot(w, xs[pattern]) > 0 and all(np.dot(w, xs[q]) < 0 or not xs[q].any() for q in xs if q != pattern)
    c_p = 1.0 / (4 * d * d)
    assert selectivity_constant(pattern, d) == c_p
    V = single_neuron_operator(w, d, field=(0, 1), relu=True, bias=bias)
    np.testing.assert_allclose(V, c_p * np.outer(xs[pattern], xs[pattern]), atol=1e-15)


@pytest.mark.parametrize("pattern", ["01", "10", "11"])
def test_eq14_iterating_eq3_grows_the_selectivity_by_the_predicted_factor(pattern):
    """Eq 14: from a weakly selective start, x_p^T w(t+1) = (1 + alpha beta c_p ||x_p||^2) x_p^T w(t)
    at every step while w stays selective for p (checked), and the other directions do not move."""
    d, alpha, beta, steps = 5, 0.5, 2.0, 25
    w0, bias = SELECTIVE[pattern]
    w0 = 0.1 * np.asarray(w0)
    x_p = pattern_vector(pattern, bias=bias)
    w = np.asarray(iterate_covariance_update(w0, d, steps, alpha=alpha, beta=beta, field=(0, 1), bias=bias))
    for q in ("00", "01", "10", "11"):
        if q != pattern and pattern_vector(q, bias=bias).any():
            assert np.all(w @ pattern_vector(q, bias=bias) < 0)
    s = w @ x_p
    assert np.all(s > 0)
    factor = 1 + alpha * beta * selectivity_constant(pattern, d) * (x_p @ x_p)
    np.testing.assert_allclose(s[1:] / s[:-1], factor, rtol=1e-13)
    perp = w - np.outer(s / (x_p @ x_p), x_p)  # the component orthogonal to x_p is unchanged
    np.testing.assert_allclose(perp, np.broadcast_to(perp[0], perp.shape), atol=1e-14)


def test_semantic_subspace_operator_is_projected_data_covariance():
    """App. A.1: augmentation scrambling the nuisance subspace gives Kbar = Q^s x and a linear
    neuron's operator Q^s V[x] Q^s (PCA in the semantic subspace). Exact (antithetic G)."""
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(7, 4))
    basis = rng.normal(size=(2, 4))
    model = semantic_subspace_model(samples, basis, jax.random.PRNGKey(1), num_scrambles=6)
    q, _ = np.linalg.qr(basis.T)
    q_s = q @ q.T
    data_cov = np.cov(samples.T, bias=True)
    np.testing.assert_allclose(covariance_operator([np.ones((1, 4))], 1, model), q_s @ data_cov @ q_s, atol=1e-12)


def test_bad_single_neuron_inputs_are_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="field"):
        ring_objects(5, field=[])
    with pytest.raises(ValueError, match="field"):
        ring_objects(5, field=(0, 7))
    with pytest.raises(ValueError, match="d"):
        ring_objects(3)
    with pytest.raises(ValueError, match="w must have length 2"):
        single_neuron_operator([1.0, 2.0, 3.0], 5, field=(0, 1))
    with pytest.raises(ValueError, match="pattern"):
        selectivity_constant("12", 5)
