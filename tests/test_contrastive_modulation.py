"""001 Theorem 5 / Corollary 3 (Eqs 15, 134-143, 175-179) and Lemma 5 against the paper's facts (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssl_odes.contrastive import (
    Activation,
    field_statistics,
    global_modulation,
    latent_field_model,
    modulated_update,
    population_statistics,
    secular_root,
    simulate_global_modulation,
    top_eigenvector,
    two_layer_update,
)

K, D, A = 3, 4, 5
ACTS = ["linear", "relu", "leaky_relu"]


def random_model(seed, K=K, d=D, atoms=A, p1=None):
    """A random binary-latent population: K fields, A atoms each, z-dependent atom probabilities."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(K, atoms, d))
    probs = rng.dirichlet(np.ones(atoms), size=(2, K))
    p1 = rng.uniform(0.2, 0.8) if p1 is None else p1
    return latent_field_model([1.0 - p1, p1], values, probs), rng


def unit_filters(rng, K=K, d=D):
    w = rng.normal(size=(K, d))
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def active_filters(model, rng):
    """Unit filters near each field's first atom, so that ReLU leaves every f_k with a non-zero variance."""
    w = np.asarray(model.atoms)[:, 0, :] + 0.3 * rng.normal(size=(K, D))
    return w / np.linalg.norm(w, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------
# Lemma 5: the variance decomposition
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_lemma5_variance_is_block_diagonal_plus_rank_one(seed, act):
    """Lemma 5 (Eq 120, C = 2): V[xt] = diag_k(L_k) + p0 p1 Delta Delta^T, and A_k = L_k + p0 p1 Delta_k Delta_k^T.

    population_statistics computes V[xt] from E_z V[.|z] + V_z E[.|z] of the full vector and
    field_statistics computes L_k and Delta_k per field; the two routes agree to rounding (1e-12).
    """
    model, rng = random_model(seed)
    w = unit_filters(rng)
    stats = field_statistics(model, w, act)
    cov_xt, _ = population_statistics(model, w[:, None, :], Activation(act))
    p0p1 = float(model.p_z[0] * model.p_z[1])
    delta = np.asarray(stats.Delta).reshape(-1)
    expected = np.zeros((K * D, K * D))
    for k in range(K):
        expected[k * D:(k + 1) * D, k * D:(k + 1) * D] = stats.L[k]
    expected += p0p1 * np.outer(delta, delta)
    np.testing.assert_allclose(cov_xt, expected, atol=1e-12)
    np.testing.assert_allclose(stats.A, stats.L + p0p1 * np.einsum("kd,ke->kde", stats.Delta, stats.Delta), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# Theorem 5: lambda, s, delta
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_s_is_the_top_eigenvector_of_var_f1(seed, act):
    """Eq 138-139: s_k = b_k / (Z (d_k - lambda)) is the unit top eigenvector of V[f1] and lambda its eigenvalue.

    V[f1] is computed from the population (not from Eq 138) and diagonalised by eigh; 1e-10.
    """
    model, rng = random_model(seed)
    w = unit_filters(rng)
    stats = field_statistics(model, w, act)
    gm = global_modulation(stats.L, stats.Delta, w, stats.p1)
    _, cov_f1 = population_statistics(model, w[:, None, :], Activation(act))
    values, vectors = np.linalg.eigh(np.asarray(cov_f1))
    assert abs(float(gm.lam) - values[-1]) < 1e-10 * values[-1]
    assert abs(abs(float(np.dot(gm.s, vectors[:, -1]))) - 1.0) < 1e-10
    assert float(gm.lam) >= float(np.max(gm.d))  # Eq 139's remark: lambda >= max_k d_k


@given(seed=st.integers(0, 10_000), p1=st.floats(0.01, 0.99))
def test_modulation_delta_is_nonnegative(seed, p1):
    """Eq 143: delta_k >= 0 for every field (lambda >= max d_k), for arbitrary PSD L_k and Delta_k."""
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(6, D, D))
    L = G @ np.transpose(G, (0, 2, 1)) * rng.uniform(0.01, 3.0, size=(6, 1, 1))
    gm = global_modulation(L, rng.normal(size=(6, D)), rng.normal(size=(6, D)), p1)
    assert np.all(np.asarray(gm.delta) >= 0.0)
    assert float(gm.lam) >= float(np.max(gm.d))


@given(seed=st.integers(0, 10_000), zero_top=st.booleans())
def test_secular_root_is_the_top_eigenvalue_of_diagonal_plus_rank_one(seed, zero_top):
    """Eq 138-139: the bracketed root equals eigh's top eigenvalue of diag(d) + p0 p1 b b^T (1e-12 relative).

    ``zero_top`` sets b_k = 0 at k = argmax d (the degenerate case: lambda may equal max d).
    """
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.0, 2.0, size=5)
    b = rng.normal(size=5) * rng.choice([1e-3, 1.0, 10.0])
    if zero_top:
        b[np.argmax(d)] = 0.0
    p0p1 = rng.uniform(0.01, 0.25)
    expected = np.linalg.eigvalsh(np.diag(d) + p0p1 * np.outer(b, b))[-1]
    assert abs(float(secular_root(d, b, p0p1)) - expected) <= 1e-12 * expected


def test_secular_root_derivative_is_the_eigenvalue_derivative():
    """The Newton step gives jax.grad the implicit derivative: d lambda / d b_k = 2 p0 p1 s_k (s^T b) (Hellmann-Feynman)."""
    rng = np.random.default_rng(3)
    d, b, p0p1 = rng.uniform(0, 1, 4), rng.normal(size=4), 0.21
    grad = jax.grad(lambda bb: secular_root(jnp.asarray(d), bb, p0p1))(jnp.asarray(b))
    _, vectors = np.linalg.eigh(np.diag(d) + p0p1 * np.outer(b, b))
    s = vectors[:, -1]
    np.testing.assert_allclose(grad, 2 * p0p1 * s * (s @ b), rtol=1e-9)


def test_all_zero_b_gives_the_top_field_and_no_modulation():
    """b = 0: V[f1] = diag(d), lambda = max d, s = e_{argmax d}, delta = 0 (module docstring's degenerate case)."""
    L = np.stack([np.eye(2) * c for c in (0.5, 2.0, 1.0)])
    gm = global_modulation(L, np.zeros((3, 2)), np.tile([1.0, 0.0], (3, 1)), 0.5)
    assert float(gm.lam) == 2.0
    np.testing.assert_array_equal(gm.s, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(gm.delta, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_proof_slip_delta_needs_the_factor_one_over_z2_gap(seed):
    """The proof's closing line writes delta_k = 1 - p0 p1 b_k^2/(lambda - d_k); with the secular equation,
    Eq 143 equals that expression times 1/(Z^2 (lambda - d_k)), and differs from it without the factor."""
    model, rng = random_model(seed)
    w = unit_filters(rng)
    stats = field_statistics(model, w, "relu")
    gm = global_modulation(stats.L, stats.Delta, w, stats.p1)
    p0p1 = float(stats.p1 * (1 - stats.p1))
    gap = np.asarray(gm.lam - gm.d)
    printed = 1.0 - p0p1 * np.asarray(gm.b) ** 2 / gap
    np.testing.assert_allclose(gm.delta, printed / (float(gm.Z) ** 2 * gap), rtol=1e-9)
    assert np.max(np.abs(np.asarray(gm.delta) - printed)) > 1e-3


# ------------------------------------------------------------------------------------------------
# Eq 15 = Lemma 4 with S = s s^T; Corollary 3 = mean-backprop BatchNorm
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eq15_equals_lemma4_with_a_fast_top_layer(seed, act):
    """Theorem 5: P_w (s_k^2 A_k + delta_k Delta_k Delta_k^T) w_k equals Lemma 4's Eq 12 with S = s s^T,
    s the top eigenvector of V[f1] (eigh) and C_alpha = V[xt] of the population; 1e-10 relative."""
    model, rng = random_model(seed)
    w = unit_filters(rng)
    eq15 = modulated_update(w, field_statistics(model, w, act))
    cov_xt, cov_f1 = population_statistics(model, w[:, None, :], Activation(act))
    s = top_eigenvector(cov_f1)
    lemma4 = two_layer_update(w[:, None, :], jnp.outer(s, s), cov_xt, Activation(act))[:, 0]
    scale = float(np.max(np.abs(lemma4)))
    np.testing.assert_allclose(eq15, lemma4, atol=1e-10 * scale)


def _bn_energy(W, model, act, s, var_grad):
    """1/2 s^T V[f^bn] s on the population, f^bn_k = (f_k - mu_k)/sigma_k, with sigma held fixed unless var_grad."""
    _, cov_f1 = population_statistics(model, W[:, None, :], act)
    sigma = jnp.sqrt(jnp.diagonal(cov_f1))
    sigma = sigma if var_grad else jax.lax.stop_gradient(sigma)
    return 0.5 * s @ (cov_f1 / jnp.outer(sigma, sigma)) @ s


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_corollary3_equals_the_mean_backprop_batchnorm_gradient(seed, act):
    """Cor 3 (Eq 178, printed without P_w) is the gradient of the energy of a network with BatchNorm whose
    mean is back-propagated (it drops out of the variance) and whose variance is not (Def. 5), with the
    fast top layer s^bn (the top eigenvector of V[f1^bn], held fixed). Back-propagating the variance
    too gives another vector field. 1e-9 relative."""
    model, rng = random_model(seed)
    w = jnp.asarray(active_filters(model, rng))
    act_ = Activation(act)
    stats = field_statistics(model, w, act)
    gm = global_modulation(stats.L, stats.Delta, w, stats.p1, batchnorm=True)
    _, cov_f1 = population_statistics(model, w[:, None, :], act_)
    sigma = np.sqrt(np.diagonal(np.asarray(cov_f1)))
    s_bn = top_eigenvector(jnp.asarray(np.asarray(cov_f1) / np.outer(sigma, sigma)))
    assert abs(abs(float(s_bn @ gm.s)) - 1.0) < 1e-10
    np.testing.assert_allclose(gm.sigma, sigma, rtol=1e-10)
    grad = jax.grad(_bn_energy)(w, model, act_, s_bn, False)
    eq178 = modulated_update(w, stats, batchnorm=True, project=False)
    scale = float(np.max(np.abs(grad)))
    np.testing.assert_allclose(eq178, grad, atol=1e-9 * scale)
    vanilla = jax.grad(_bn_energy)(w, model, act_, s_bn, True)
    assert float(np.max(np.abs(vanilla - grad))) > 1e-3 * scale


def test_batchnorm_makes_d_bn_uniform():
    """Remark after Cor 3: d_k^bn = 1 / (1 + p0 p1 b_k^2 / d_k), whatever the scale of field k's input."""
    model, rng = random_model(5)
    scaled = latent_field_model(model.p_z, np.asarray(model.atoms) * np.array([1.0, 10.0, 0.1])[:, None, None],
                                model.probs)
    w = active_filters(scaled, rng)
    stats = field_statistics(scaled, w, "relu")
    plain = global_modulation(stats.L, stats.Delta, w, stats.p1)
    bn = global_modulation(stats.L, stats.Delta, w, stats.p1, batchnorm=True)
    p0p1 = float(stats.p1 * (1 - stats.p1))
    np.testing.assert_allclose(bn.d, 1.0 / (1.0 + p0p1 * plain.b**2 / plain.d), rtol=1e-10)
    assert np.ptp(np.asarray(plain.d)) > 10 * np.ptp(np.asarray(bn.d))


# ------------------------------------------------------------------------------------------------
# The registered flow and validation
# ------------------------------------------------------------------------------------------------


def test_global_modulation_flow_keeps_unit_filters_and_batches_p1():
    """Eq 15's P_w keeps ||w_k|| = 1 (to the solver's tolerance, 1e-8); p1 is a batch axis."""
    model, rng = random_model(7)
    w0 = unit_filters(rng)
    res = simulate_global_modulation(w0, model, activation="linear", p1=[0.3, 0.6], t1=5.0, num_points=6)
    assert res.status_counts() == {"ok": 2}
    np.testing.assert_allclose(np.linalg.norm(res.w, axis=-1), 1.0, atol=1e-8)


def test_global_modulation_rejects_bad_statistics():
    """A non-PSD L_k, a p1 outside (0, 1) or mismatched shapes raise ValueError naming the argument."""
    L = np.stack([np.eye(2), np.diag([1.0, -1.0])])
    with pytest.raises(ValueError, match=r"L\[1\]"):
        global_modulation(L, np.ones((2, 2)), np.ones((2, 2)), 0.5)
    with pytest.raises(ValueError, match="p1"):
        global_modulation(np.stack([np.eye(2)] * 2), np.ones((2, 2)), np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="Delta"):
        global_modulation(np.stack([np.eye(2)] * 2), np.ones((3, 2)), np.ones((2, 2)), 0.5)
    model, rng = random_model(0)
    with pytest.raises(ValueError, match="w0"):
        simulate_global_modulation(np.ones((K, D)), model)
