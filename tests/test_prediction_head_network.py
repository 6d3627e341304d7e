"""004's learner and loss (Sec 3.1-3.2, Eqs 3.1 and 3.3), against hand computations (float64)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes import prediction_head as ph
from ssl_odes.prediction_head import _projected

RNG = np.random.default_rng(0)
W = RNG.standard_normal((4, 2))
E = np.array([[1.0, 0.4], [-0.7, 1.0]])
X1 = RNG.standard_normal((3, 2, 4))  # N = 3 samples, P = 2 patches, d = 4
X2 = RNG.standard_normal((3, 2, 4))


def hand_loss_terms(W, E, X1, X2, eps):
    """Eq 3.3 written out with loops: f_j = sum_p <w_j, X_p>^3, F = E f, BN over the batch (Eq 3.1)."""
    N, P, _ = X1.shape
    m = W.shape[1]
    f1 = [[sum(float(W[:, j] @ X1[i, p]) ** 3 for p in range(P)) for j in range(m)] for i in range(N)]
    f2 = [[sum(float(W[:, j] @ X2[i, p]) ** 3 for p in range(P)) for j in range(m)] for i in range(N)]
    F = [[sum(E[j, r] * f1[i][r] for r in range(m)) for j in range(m)] for i in range(N)]

    def bn(column):
        mean = sum(column) / N
        var = sum(c * c for c in column) / N - mean**2
        return [(c - mean) / math.sqrt(var + eps) for c in column]

    terms = []
    for j in range(m):
        online = bn([F[i][j] for i in range(N)])
        target = bn([f2[i][j] for i in range(N)])
        terms.append(sum((o - t) ** 2 for o, t in zip(online, target)) / N)
    return terms


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_bn_and_loss_match_a_hand_computation_eq_3_1_eq_3_3(eps):
    """Eq 3.1 (biased batch variance, no affine) and Eq 3.3 on N = 3, P = 2, d = 4, m = 2: to 1e-12."""
    got = ph.loss_terms(jnp.asarray(W), jnp.asarray(E), jnp.asarray(X1), jnp.asarray(X2), eps)
    np.testing.assert_allclose(got, hand_loss_terms(W, E, X1, X2, eps), rtol=1e-12)
    assert float(ph.loss(jnp.asarray(W), jnp.asarray(E), jnp.asarray(X1), jnp.asarray(X2), eps)) == pytest.approx(
        sum(hand_loss_terms(W, E, X1, X2, eps)), rel=1e-12)


def test_loss_term_is_two_minus_two_batch_correlation_without_eps():
    """With eps = 0 each term of Eq 3.3 is 2 - 2 Corr_batch(F_j(X^(1)), f_j(X^(2)))."""
    f1 = np.asarray(ph.encoder(jnp.asarray(W), jnp.asarray(X1))) @ E.T
    f2 = np.asarray(ph.encoder(jnp.asarray(W), jnp.asarray(X2)))
    corr = [np.corrcoef(f1[:, j], f2[:, j])[0, 1] for j in range(2)]
    np.testing.assert_allclose(ph.loss_terms(jnp.asarray(W), jnp.asarray(E), jnp.asarray(X1), jnp.asarray(X2), 0.0),
                               2 - 2 * np.array(corr), rtol=1e-10)


def test_stop_gradient_on_the_target_branch():
    """Eq 3.3's StopGrad: grad_W equals the gradient with BN(G) frozen as a constant, and differs without it."""
    Wj, Ej, X1j, X2j = map(jnp.asarray, (W, E, X1, X2))
    target = ph.batch_norm(ph.encoder(Wj, X2j))
    frozen = jax.grad(lambda w: jnp.sum((ph.batch_norm(ph.encoder(w, X1j) @ Ej.T) - target) ** 2) / 3)(Wj)
    np.testing.assert_allclose(ph.head_gradient(Wj, Ej, X1j, X2j)[0], frozen, rtol=1e-12)
    both = jax.grad(lambda w: jnp.sum((ph.batch_norm(ph.encoder(w, X1j) @ Ej.T)
                                       - ph.batch_norm(ph.encoder(w, X2j))) ** 2) / 3)(Wj)
    assert np.max(np.abs(both - frozen)) > 1e-3


def test_gradient_of_e_touches_only_the_off_diagonal():
    """Sec 3.1: E_jj = 1 is not trained: the masked gradient is zero on the diagonal, the raw one is not."""
    Wj, Ej, X1j, X2j = map(jnp.asarray, (W, E, X1, X2))
    raw = jax.grad(ph.loss, argnums=1)(Wj, Ej, X1j, X2j)
    _, gE = ph.head_gradient(Wj, Ej, X1j, X2j)
    assert np.all(np.diag(gE) == 0.0) and np.all(np.abs(np.diag(raw)) > 1e-6)
    np.testing.assert_array_equal(gE[0, 1], raw[0, 1])
    np.testing.assert_array_equal(gE[1, 0], raw[1, 0])


def test_initialisation_w_normal_one_over_d_and_e_identity():
    """Sec 3.2: W_ij ~ N(0, 1/d) (variance within 5 s.e.), E = I_m."""
    d, m = 50, 400
    Wi, Ei = ph.init_weights(jax.random.key(0), d, m, jnp.float64)
    np.testing.assert_array_equal(Ei, np.eye(m))
    n = d * m
    assert abs(float(jnp.var(Wi)) * d - 1) < 5 * math.sqrt(2 / n)


@pytest.fixture(scope="module")
def explicit_and_projected():
    """An explicit batch (sample + positive_pair) and the same batch seen through W."""
    d, P, P0, N = 7, 6, 2, 5
    Wj = jax.random.normal(jax.random.key(3), (d, 2), jnp.float64) / math.sqrt(d)
    Ej = jnp.array([[1.0, 0.3], [-0.2, 1.0]])
    X = ph.sample(1, N, d=d, P=P, P0=P0, alpha_1=3.0, alpha_2=1.5, sigma=1.0, dtype=jnp.float64).X
    V1, V2 = ph.positive_pair(jax.random.key(2), X)
    B, _ = _projected.noise_basis(Wj)
    xi1 = V1[..., 2:]
    a1 = xi1 @ B
    batch = _projected.ProjectedBatch(V1 @ Wj, V2 @ Wj, V1[..., :2], a1, jnp.any(xi1 != 0, axis=-1))
    return Wj, Ej, V1, V2, B, xi1 - a1 @ B.T, batch


def test_gradient_through_the_projections_equals_the_explicit_gradient(explicit_and_projected):
    """The chain rule of the projected step: [features; B sum a c^T + sum r c^T] = grad_W L (to 1e-12)."""
    Wj, Ej, V1, V2, B, r1, batch = explicit_and_projected
    gW, gE = ph.head_gradient(Wj, Ej, V1, V2)
    _, c, gE_raw = _projected.cotangents(batch, Ej)
    gW2, gE2 = _projected.projected_gradient(batch, B, c, gE_raw, jnp.einsum("npd,npm->dm", r1, c))
    np.testing.assert_allclose(gW2, gW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gE2, gE, rtol=1e-12, atol=1e-14)


def test_drawn_complement_has_the_law_of_the_explicit_noise_sum(explicit_and_projected):
    """G = sum r_ip c_ip^T given c is N(0, s^2 (sum c c^T) x Pi): 20000 draws, covariance within 6 s.e."""
    Wj, Ej, V1, V2, B, r1, batch = explicit_and_projected
    _, c, _ = _projected.cotangents(batch, Ej)
    n = 20000
    draws = jax.vmap(lambda k: _projected.complement_draw(k, B, c, batch.noise1, 1.0))(
        jax.random.split(jax.random.key(5), n))
    s2 = ph.NOISE_STD_PER_SIGMA**2
    c_noise = np.where(np.asarray(batch.noise1)[..., None], c, 0).reshape(-1, 2)
    K = c_noise.T @ c_noise
    Pi = np.eye(B.shape[0]) - B @ B.T
    expected = s2 * np.einsum("de,jk->djek", Pi, K)
    empirical = np.einsum("sdj,sek->djek", draws, draws) / n
    # s.e. of a Gaussian product moment: sqrt(S_dd S_ee K_jj K_kk + S_de^2 K_jk^2) / sqrt(n)
    diag = s2 * np.einsum("d,j->dj", np.diag(Pi), np.diag(K))
    se = np.sqrt(np.einsum("dj,ek->djek", diag, diag) + expected**2) / math.sqrt(n)
    assert np.all(np.abs(empirical - expected) <= 6 * se + 1e-12)
    assert np.abs(np.asarray(draws).mean(0)).max() < 6 * math.sqrt(diag.max() / n)
