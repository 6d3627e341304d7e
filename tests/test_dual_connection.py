"""000 Sec 2-4: the connection (Def 1), Theorem 1 (Eq 1), Theorem 2, Theorem 3 (Eq 3) and Eq 4.

Every comparison is against ``jax.grad`` of the loss written out here, averaged over an exact
enumeration of a small discrete generative model, in float64.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes.dual_networks import (
    augmentation_variance,
    byol_symmetric_update,
    connection,
    covariance_operator,
    dual_gradient,
    infonce_loss,
    infonce_partials,
    latent_model,
    mlp_forward,
    sample_latent_model,
    simclr_update,
    vec,
)

WIDTHS = (4, 5, 3, 2)  # n_0, n_1, n_2, n_3: a depth-3 ReLU network


def random_weights(rng, widths=WIDTHS):
    return [rng.normal(size=(widths[i + 1], widths[i])) / np.sqrt(widths[i]) for i in range(len(widths) - 1)]


def f_out(ws, x):
    """f_L(x) of the paper's ReLU network (ReLU after every layer but the top), written out."""
    h = x
    for w in ws[:-1]:
        h = jax.nn.relu(w @ h)
    return ws[-1] @ h


def r_dist(ws1, ws2, x1, x2):
    return 0.5 * jnp.sum((f_out(ws1, x1) - f_out(ws2, x2)) ** 2)


# ------------------------------------------------------------------------------------------------
# Definition 1 and Theorem 1
# ------------------------------------------------------------------------------------------------


def test_eq1_dual_gradient_equals_autodiff_for_every_layer():
    """Eq 1: K_1 [K_1^T vec W_1 - K_2^T vec W_2] = vec(dr/dW_{1,l}) for l = 1..L.

    Different weights and inputs on the two sides; the ReLU gates are a.s. not at 0, so both
    sides are the same piecewise-linear algebra: tolerance 1e-12 (rounding of a few products).
    """
    rng = np.random.default_rng(0)
    ws1, ws2 = random_weights(rng), random_weights(rng)
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    grad = jax.jit(jax.vmap(jax.grad(r_dist), in_axes=(None, None, 0, 0)))
    grads = grad([jnp.asarray(w) for w in ws1], [jnp.asarray(w) for w in ws2], x1, x2)
    for layer in range(1, len(ws1) + 1):
        expected = vec(grads[layer - 1])
        got = dual_gradient(ws1, ws2, x1, x2, layer)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_connection_transposed_times_vec_weights_is_the_output():
    """Def 1: K_l(x)^T vec(W_l) = J_l W_l f_{l-1} = f_L(x) for every l (ReLU is positively homogeneous)."""
    rng = np.random.default_rng(3)
    ws = random_weights(rng)
    x = rng.normal(size=(6, 4))
    f, _ = mlp_forward(ws, x)
    for layer in range(1, 4):
        k = connection(ws, x, layer)
        assert k.shape == (6, WIDTHS[layer] * WIDTHS[layer - 1], WIDTHS[-1])
        np.testing.assert_allclose(jnp.einsum("bpo,p->bo", k, vec(ws[layer - 1])), f[-1], rtol=1e-12, atol=1e-12)


def test_bad_network_inputs_are_rejected_naming_the_argument():
    rng = np.random.default_rng(0)
    ws = random_weights(rng)
    with pytest.raises(ValueError, match="depth >= 1"):
        connection([], np.ones(4), 1)
    with pytest.raises(ValueError, match="layer"):
        connection(ws, np.ones(4), 4)
    with pytest.raises(ValueError, match="weights\\[1\\]"):
        connection([ws[0], ws[2]], np.ones(4), 1)
    with pytest.raises(ValueError, match="x must have last axis"):
        connection(ws, np.ones(3), 1)
    with pytest.raises(TypeError, match="weights"):
        connection(np.ones((2, 2)), np.ones(2), 1)


# ------------------------------------------------------------------------------------------------
# Theorem 2
# ------------------------------------------------------------------------------------------------


def test_theorem2_infonce_partials_signs_and_sum():
    """Thm 2 (Eqs 38-40): dL/dr_+ > 0, dL/dr_k- < 0, sum 0; and Eqs 38-39 equal jax.grad of Eq 2,
    on 400 random (r_+, r_1-..r_5-, tau). Tolerance 1e-12 relative to 1/tau (softmax weights / tau)."""
    rng = np.random.default_rng(0)
    r_plus, r_minus, tau = rng.uniform(0, 5, 400), rng.uniform(0, 5, (400, 5)), rng.uniform(0.05, 3.0, 400)
    d_plus, d_minus = infonce_partials(r_plus, r_minus, tau)
    loss = lambda a, b, t: jnp.sum(infonce_loss(a, b, t))  # noqa: E731
    g_plus, g_minus = jax.grad(loss, argnums=(0, 1))(jnp.asarray(r_plus), jnp.asarray(r_minus), tau)
    assert np.all(np.asarray(d_plus) > 0) and np.all(np.asarray(d_minus) < 0)
    scale = 1e-12 / tau
    assert np.all(np.abs(np.asarray(d_plus) + np.sum(d_minus, axis=-1)) <= scale)
    assert np.all(np.abs(np.asarray(d_plus - g_plus)) <= scale)
    assert np.all(np.abs(np.asarray(d_minus - g_minus)) <= scale[:, None])


def test_infonce_rejects_bad_temperature_and_negative_distances():
    with pytest.raises(ValueError, match="tau"):
        infonce_loss(0.1, [0.2], tau=0.0)
    with pytest.raises(ValueError, match="r_minus"):
        infonce_loss(0.1, [-0.2])


# ------------------------------------------------------------------------------------------------
# Theorem 3 and Eq 4 on an exactly enumerated model
# ------------------------------------------------------------------------------------------------


def small_model(seed, n_z0=3, n_aug=3, n0=4):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n_z0, n_aug, n0))
    p_z0 = rng.dirichlet(np.ones(n_z0))
    p_aug = rng.dirichlet(np.ones(n_aug), size=n_z0)
    return latent_model(images, p_z0, p_aug)


def expected_gradient(loss_of_views, ws, model, n_views_same, n_views_other):
    """E[grad_{W_1} loss] over views of one sample and of an independent sample, by enumeration:
    every combination is listed with its probability, and one vmapped gradient sums them."""
    images, p_z0, p_aug = (np.asarray(a) for a in (model.images, model.p_z0, model.p_aug))
    n_z0, n_aug, _ = images.shape
    probs, views = [], []
    for z0 in range(n_z0):
        for same in itertools.product(range(n_aug), repeat=n_views_same):
            p_same = p_z0[z0] * np.prod([p_aug[z0, b] for b in same])
            others = list(itertools.product(range(n_z0), range(n_aug))) if n_views_other else [None]
            for other in others:
                probs.append(p_same * (p_z0[other[0]] * p_aug[other] if other is not None else 1.0))
                views.append([images[z0, b] for b in same] + ([images[other]] if other is not None else []))
    views = [jnp.asarray(np.stack(v)) for v in zip(*views)]
    grads = jax.jit(jax.vmap(jax.grad(loss_of_views), in_axes=(None,) + (0,) * len(views)))(
        [jnp.asarray(w) for w in ws], *views)
    assert abs(sum(probs) - 1.0) < 1e-12
    return [jnp.tensordot(jnp.asarray(probs), g, axes=1) for g in grads]


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_theorem3_averaged_simclr_update_is_beta_times_covariance_operator(beta):
    """Thm 3 (Eq 3): with L = beta (r_+ - r_-) (dL/dr_- = -beta/H, H = 1) the exact average of
    -grad_{W_1} L over x_1, x_+ ~ aug(x) and an independent x_- is beta V_x[Kbar_l] vec(W_l).

    Gradient through the first branch (Theorem 1: W_2 is a stopped copy of W). Exact
    enumeration, so the tolerance is rounding: 1e-12.
    """
    ws = random_weights(np.random.default_rng(4))
    model = small_model(5)

    def loss(w1, x1, xp, xn):
        w2 = jax.lax.stop_gradient(w1)
        return beta * (r_dist(w1, w2, x1, xp) - r_dist(w1, w2, x1, xn))

    mean_grad = expected_gradient(loss, ws, model, n_views_same=2, n_views_other=1)
    for layer in range(1, 4):
        np.testing.assert_allclose(-vec(mean_grad[layer - 1]), simclr_update(ws, layer, model, beta=beta),
                                   rtol=1e-10, atol=1e-12)


def test_theorem3_tied_weights_through_both_branches_double_the_update():
    """With the gradient through every branch (tied SimCLR weights) the average is 2 beta V vec(W):
    each branch contributes the same expectation (x_1, x_+ exchangeable; x_- a fresh sample)."""
    ws = random_weights(np.random.default_rng(6))
    model = small_model(7)

    def loss(w, x1, xp, xn):
        return r_dist(w, w, x1, xp) - r_dist(w, w, x1, xn)

    mean_grad = expected_gradient(loss, ws, model, n_views_same=2, n_views_other=1)
    for layer in (1, 3):
        np.testing.assert_allclose(-vec(mean_grad[layer - 1]), 2.0 * simclr_update(ws, layer, model), rtol=1e-10, atol=1e-12)


def test_covariance_operator_is_psd():
    """Thm 3: V_x[Kbar_l] is a covariance, PSD (eigenvalues >= -1e-12 |max|)."""
    ws = random_weights(np.random.default_rng(8))
    model = small_model(9)
    for layer in (1, 2, 3):
        eig = np.linalg.eigvalsh(np.asarray(covariance_operator(ws, layer, model)))
        assert eig[0] >= -1e-12 * max(1.0, abs(eig[-1]))


def test_eq4_byol_without_predictor_is_minus_expected_augmentation_variance():
    """Eq 4 (115): W' = W, no predictor: E[-grad_{W} r(x_1, x_2)] over two views of one x equals
    -E_x[V_aug[K_l]] vec(W_l). Exact enumeration: tolerance 1e-12."""
    ws = random_weights(np.random.default_rng(10))
    model = small_model(11)

    def loss(w1, x1, x2):
        return r_dist(w1, jax.lax.stop_gradient(w1), x1, x2)

    mean_grad = expected_gradient(loss, ws, model, n_views_same=2, n_views_other=0)
    for layer in range(1, 4):
        np.testing.assert_allclose(-vec(mean_grad[layer - 1]), byol_symmetric_update(ws, layer, model), rtol=1e-10, atol=1e-12)


def test_eq4_byol_without_predictor_shrinks_the_weights():
    """Eq 4: the operator is PSD, so <vec W_l, Delta W_l> <= 0 at every layer, and iterating the
    update of a linear network drives ||W|| down monotonically towards collapse."""
    rng = np.random.default_rng(12)
    ws = random_weights(rng)
    model = small_model(13)
    for layer in range(1, 4):
        assert float(vec(ws[layer - 1]) @ byol_symmetric_update(ws, layer, model)) <= 1e-15
        eig = np.linalg.eigvalsh(np.asarray(augmentation_variance(ws, layer, model)))
        assert eig[0] >= -1e-12 * eig[-1]
    w = [rng.normal(size=(2, 4))]  # a linear layer: the operator does not depend on W
    norms = []
    for _ in range(200):
        w = [w[0] + 0.5 * np.asarray(byol_symmetric_update(w, 1, model)).reshape(4, 2).T]
        norms.append(np.linalg.norm(w[0]))
    assert np.all(np.diff(norms) <= 0) and norms[-1] < 0.5 * norms[0]


def test_monte_carlo_operator_matches_the_gaussian_model():
    """A continuous model: z0 ~ N(0, I_3), views x = z0 + sigma eps. A linear neuron has
    Kbar = z0, so V[Kbar] = I; the plug-in Monte Carlo estimate has mean (1 - 1/N)(1 + sigma^2/A) I
    (the documented 1/A bias). N = 4000: entry s.d. <= sqrt(2/N) ~ 0.022; tolerance 0.1 (4.5 s.d.)."""
    sigma, n, a = 0.5, 4000, 4

    def sampler(key, num, aug):
        k1, k2 = jax.random.split(key)
        z0 = jax.random.normal(k1, (num, 1, 3))
        return z0 + sigma * jax.random.normal(k2, (num, aug, 3))

    for seed in (0, 1):
        model = sample_latent_model(sampler, jax.random.PRNGKey(seed), n, a)
        v = np.asarray(covariance_operator([np.ones((1, 3))], 1, model))
        np.testing.assert_allclose(v, (1 - 1 / n) * (1 + sigma**2 / a) * np.eye(3), atol=0.1)


def test_latent_model_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="p_z0"):
        latent_model(np.zeros((2, 2, 1)), p_z0=[0.7, 0.7])
    with pytest.raises(ValueError, match="p_aug"):
        latent_model(np.zeros((2, 2, 1)), p_aug=[[1.0, 0.0]])
