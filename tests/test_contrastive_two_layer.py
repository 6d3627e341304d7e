"""001 Lemma 4 (Eq 12), Lemma 6 (Eq 166), Theorem 4 (Eq 14) and the Eq 13 population model (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes.contrastive import (
    Activation,
    batch_statistics,
    contrastive_covariance,
    latent_field_model,
    pairwise_importance,
    population_statistics,
    simulate_two_layer,
    top_eigenvector,
    two_layer_energy,
    two_layer_update,
)

K, M, D, N, D_OUT = 2, 3, 4, 12, 3
ACTS = [Activation("linear"), Activation("relu"), Activation("leaky_relu"), Activation("monomial", q=2)]


def batch(seed, augment=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, K, D))
    x_aug = x + 0.3 * rng.normal(size=x.shape) if augment else None
    return rng, jnp.asarray(x), None if x_aug is None else jnp.asarray(x_aug)


def project(grad, W):
    return grad - jnp.sum(grad * W, -1, keepdims=True) / jnp.sum(W * W, -1, keepdims=True) * W


# ------------------------------------------------------------------------------------------------
# Lemma 4 and Lemma 6: the flow is the energy's gradient
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTS, ids=lambda a: a.name)
@pytest.mark.parametrize("alpha", ["uniform", "infonce"])
def test_lemma4_flow_is_the_projected_energy_gradient(act, alpha):
    """Eq 12 = the gradient of E = 1/2 tr C_alpha[V f1] with alpha held fixed (Eq 2), with augmentation.

    dV/dt = dE/dV = V C_alpha[f1] and dw/dt = P_w dE/dw (jax.grad of the energy on the batch). The two
    routes share only Eq 3's weights; agreement to 1e-10 relative (float64 rounding of a few sums).
    """
    rng, x, x_aug = batch(0)
    W = jnp.asarray(rng.normal(size=(K, M, D)))
    V = jnp.asarray(rng.normal(size=(D_OUT, K * M)))
    f2 = act.h(jnp.einsum("nkd,kmd->nkm", x, W)).reshape(N, K * M) @ V.T
    weights = pairwise_importance(f2, alpha, tau=0.7)
    grad_W, grad_V = jax.grad(two_layer_energy, argnums=(0, 1))(W, V, x, act, x_aug=x_aug, alpha_weights=weights)
    cov_xt, cov_f1 = batch_statistics(x, x_aug, W, act, alpha=alpha, tau=0.7, V=V)
    dW = two_layer_update(W, V.T @ V, cov_xt, act)
    np.testing.assert_allclose(dW, project(grad_W, W), atol=1e-10 * float(jnp.max(jnp.abs(grad_W))))
    np.testing.assert_allclose(V @ cov_f1, grad_V, atol=1e-10 * float(jnp.max(jnp.abs(grad_V))))


@pytest.mark.parametrize("act", ACTS[:3], ids=lambda a: a.name)
def test_lemma6_flow_is_the_mean_backprop_batchnorm_gradient(act):
    """Lemma 6 (Eq 166): with BatchNorm back-propagating the batch mean but not the variance (Def. 5), the
    gradient of 1/2 tr C_1[V f^bn] is [(S (x) 1 1^T) o C_1[xt / sigma]] w. Back-propagating sigma too
    (vanilla BatchNorm) gives a different field. 1e-10 relative."""
    rng, x, _ = batch(1, augment=False)
    W = jnp.asarray(rng.normal(size=(K, M, D)))
    V = jnp.asarray(rng.normal(size=(D_OUT, K * M)))

    def energy(W, var_grad):
        f1 = act.h(jnp.einsum("nkd,kmd->nkm", x, W)).reshape(N, -1)
        both = jnp.concatenate([f1, f1])  # no augmentation: the 2N views are the batch twice
        mu = jnp.mean(both, axis=0)
        sigma = jnp.sqrt(jnp.mean((both - mu) ** 2, axis=0))
        sigma = sigma if var_grad else jax.lax.stop_gradient(sigma)
        f2 = ((f1 - mu) / sigma) @ V.T
        return 0.5 * jnp.trace(contrastive_covariance(f2))

    grad = jax.grad(energy)(W, False)
    cov_xt, _ = batch_statistics(x, None, W, act, V=V, batchnorm=True)
    dW = two_layer_update(W, V.T @ V, cov_xt, act, project=False)
    scale = float(jnp.max(jnp.abs(grad)))
    np.testing.assert_allclose(dW, grad, atol=1e-10 * scale)
    assert float(jnp.max(jnp.abs(jax.grad(energy)(W, True) - grad))) > 1e-3 * scale


# ------------------------------------------------------------------------------------------------
# Theorem 4: linear activation gives co-linear filter updates
# ------------------------------------------------------------------------------------------------


def _fast_top_updates(act, seed=2):
    rng, x, x_aug = batch(seed)
    W = jnp.asarray(rng.normal(size=(K, M, D)))
    cov_xt, cov_f1 = batch_statistics(x, x_aug, W, act, alpha="infonce", tau=0.5)
    s = top_eigenvector(cov_f1)
    return x, x_aug, W, s, two_layer_update(W, jnp.outer(s, s), cov_xt, act, project=False)


def test_theorem4_linear_updates_are_s_km_times_b_k():
    """Eq 14: with linear h and S = s s^T, dw_km/dt = s_km b_k, b_k = C_alpha[x_k, sum_{k'm'} s_k'm' w_k'm'^T x_k'].

    b_k is computed directly from Eq 3 (contrastive_covariance, the same InfoNCE alpha); the M updates of
    a field are then pairwise co-linear (|cos| = 1 to 1e-12), whatever the filters."""
    act = Activation("linear")
    x, x_aug, W, s, dW = _fast_top_updates(act)
    f1 = jnp.einsum("nkd,kmd->nkm", x, W).reshape(N, -1)
    g = f1 @ s
    g_aug = jnp.einsum("nkd,kmd->nkm", x_aug, W).reshape(N, -1) @ s
    weights = pairwise_importance(f1, "infonce", tau=0.5)
    for k in range(K):
        b_k = contrastive_covariance(x[:, k], x_aug[:, k], g[:, None], g_aug[:, None], alpha=weights)[:, 0]
        expected = s.reshape(K, M)[k][:, None] * b_k[None, :]
        np.testing.assert_allclose(dW[k], expected, atol=1e-12 * float(jnp.max(jnp.abs(expected))))
        unit = dW[k] / jnp.linalg.norm(dW[k], axis=-1, keepdims=True)
        np.testing.assert_allclose(jnp.abs(unit @ unit.T), 1.0, atol=1e-12)


def test_theorem4_fails_for_relu_updates_are_not_colinear():
    """The contrast of Sec 4.1: with ReLU the gated inputs differ per filter, so the updates of one
    field are not co-linear (some pair with |cos| < 0.99)."""
    *_, dW = _fast_top_updates(Activation("relu"))
    unit = dW / jnp.linalg.norm(dW, axis=-1, keepdims=True)
    cosines = jnp.abs(jnp.einsum("kmd,knd->kmn", unit, unit))
    assert float(jnp.min(cosines)) < 0.99


# ------------------------------------------------------------------------------------------------
# The population model (Eq 13)
# ------------------------------------------------------------------------------------------------


def test_population_statistics_match_a_large_sampled_batch():
    """Cor 1: with uniform alpha and no augmentation, C_alpha of a sampled batch -> V of the population.

    200,000 samples from a 3-valued latent model; each entry's Monte Carlo s.d. is below
    sqrt(E[x^4]/N) ~ 0.01 here, so the tolerance is 0.03 (about 4 s.d. of the largest entry)."""
    rng = np.random.default_rng(4)
    C, A = 3, 4
    model = latent_field_model([0.2, 0.5, 0.3], rng.normal(size=(K, A, D)), rng.dirichlet(np.ones(A), size=(C, K)))
    W = rng.normal(size=(K, M, D))
    act = Activation("relu")
    cov_xt, cov_f1 = population_statistics(model, W, act)
    n = 200_000
    z = rng.choice(C, size=n, p=np.asarray(model.p_z))
    # x_k | z ~ Categorical(probs[z, k]) by inverse CDF, independently over the fields (Eq 13).
    cdf = np.cumsum(np.asarray(model.probs)[z], axis=-1)  # [n, K, A]
    which = np.minimum((rng.random((n, K))[..., None] > cdf).sum(-1), A - 1)
    x = np.asarray(model.atoms)[np.arange(K)[None, :], which]  # [n, K, D]
    pre = np.einsum("nkd,kmd->nkm", x, W)
    xt = ((pre > 0)[..., None] * x[:, :, None, :]).reshape(n, -1)
    f1 = np.maximum(pre, 0.0).reshape(n, -1)
    np.testing.assert_allclose(np.cov(xt.T, bias=True), cov_xt, atol=0.03)
    np.testing.assert_allclose(np.cov(f1.T, bias=True), cov_f1, atol=0.03)
    # ... and Eq 3 on a sub-batch (uniform alpha, no augmentation) is exactly that batch's covariance.
    sub_xt, sub_f1 = batch_statistics(x[:500], None, W, act)
    np.testing.assert_allclose(sub_xt, np.cov(xt[:500].T, bias=True), atol=1e-12)
    np.testing.assert_allclose(sub_f1, np.cov(f1[:500].T, bias=True), atol=1e-12)


def test_two_layer_flow_conserves_filter_norms_with_both_sources():
    """P_w in Eq 12 keeps ||w_km|| (solver tolerance, 1e-7); a batch of InfoNCE temperatures runs."""
    rng, x, x_aug = batch(5)
    W0 = rng.normal(size=(K, M, D))
    res = simulate_two_layer(W0, rng.normal(size=(D_OUT, K * M)) / 3, x=x, x_aug=x_aug, activation="linear",
                             alpha="infonce", tau=[0.5, 1.0], t1=0.5, num_points=3, rtol=1e-7, atol=1e-9)
    assert res.status_counts() == {"ok": 2}
    np.testing.assert_allclose(np.linalg.norm(res.W, axis=-1), np.broadcast_to(np.linalg.norm(W0, axis=-1), res.W.shape[:-1]),
                               rtol=1e-7)
    model = latent_field_model([0.5, 0.5], rng.normal(size=(K, 3, D)), rng.dirichlet(np.ones(3), size=(2, K)))
    res = simulate_two_layer(W0, model=model, activation="linear", fast_top=True, t1=2.0, num_points=3)
    assert res.status_counts() == {"ok": 1}
    np.testing.assert_allclose(np.linalg.norm(res.W[-1], axis=-1), np.linalg.norm(W0, axis=-1), rtol=1e-7)


def test_two_layer_rejects_bad_inputs():
    """ValueError naming the argument: K or M < 1 (empty W0), mismatched x, a population with InfoNCE,
    probabilities that do not sum to 1, a missing V0."""
    rng, x, _ = batch(6)
    W0, V0 = rng.normal(size=(K, M, D)), rng.normal(size=(D_OUT, K * M))
    with pytest.raises(ValueError, match="W0"):
        simulate_two_layer(np.zeros((0, M, D)), V0, x=x)
    with pytest.raises(ValueError, match="W0"):
        simulate_two_layer(np.zeros((K, 0, D)), V0, x=x)
    with pytest.raises(ValueError, match="x must have shape"):
        simulate_two_layer(W0, V0, x=x[:, :, :2])
    with pytest.raises(ValueError, match="V0"):
        simulate_two_layer(W0, x=x)
    model = latent_field_model([0.5, 0.5], rng.normal(size=(K, 3, D)), rng.dirichlet(np.ones(3), size=(2, K)))
    with pytest.raises(ValueError, match="alpha"):
        simulate_two_layer(W0, V0, model=model, alpha="infonce")
    with pytest.raises(ValueError, match="probs"):
        latent_field_model([0.5, 0.5], np.ones((K, 3, D)), np.full((2, K, 3), 0.5))
