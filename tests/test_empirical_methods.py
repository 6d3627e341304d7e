"""Empirical companion: each loss against a hand computation, DirectPred (002 Eqs 18-19), one SGD step by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")

from ssl_odes.empirical import data, methods, predictors, training  # noqa: E402
from ssl_odes.empirical.config import TrainConfig  # noqa: E402


def test_byol_distance_is_two_minus_twice_the_cosine():
    # p = (3, 4), z = (4, 3): cos = 24 / 25, so 2 - 48/25 = 0.08; orthogonal rows give 2.
    out = methods.byol_distance(jnp.array([[3.0, 4.0], [1.0, 0.0]]), jnp.array([[4.0, 3.0], [0.0, 5.0]]))
    np.testing.assert_allclose(out, [0.08, 2.0], rtol=1e-6)


def test_simsiam_distance_is_the_negative_cosine():
    np.testing.assert_allclose(methods.simsiam_distance(jnp.array([[3.0, 4.0]]), jnp.array([[4.0, 3.0]])), [-0.96], rtol=1e-6)


def test_symmetric_regression_loss_by_hand_and_no_gradient_reaches_the_target():
    p1, p2 = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 2.0]])
    z1, z2 = jnp.array([[1.0, 1.0]]), jnp.array([[3.0, 0.0]])
    # d(p1, z2) = 1/2 |(1,0) - (3,0)|^2 = 2 ; d(p2, z1) = 1/2 |(-1, 1)|^2 = 1
    assert float(methods.regression_loss(methods.l2_distance, p1, p2, z1, z2)) == pytest.approx(3.0)
    assert float(methods.regression_loss(methods.l2_distance, p1, p2, z1, z2, symmetric=False)) == pytest.approx(2.0)
    grad_z = jax.grad(lambda z: methods.regression_loss(methods.l2_distance, p1, p2, z, z2))(z1)
    np.testing.assert_array_equal(grad_z, 0.0)


def test_nt_xent_matches_the_formula_written_out_for_two_pairs():
    z1 = np.array([[1.0, 0.0], [0.6, 0.8]])
    z2 = np.array([[0.0, 1.0], [1.0, 1.0]])
    temperature = 0.5
    u = np.concatenate([z1, z2])
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    total = 0.0
    for i in range(4):
        positive = (i + 2) % 4
        denominator = sum(math.exp(u[i] @ u[j] / temperature) for j in range(4) if j != i)
        total += -math.log(math.exp(u[i] @ u[positive] / temperature) / denominator)
    assert float(methods.nt_xent(jnp.asarray(z1), jnp.asarray(z2), temperature)) == pytest.approx(total / 4, rel=1e-6)


def test_ema_update_and_byol_cosine_schedule():
    """BYOL: gamma_k = 1 - (1 - gamma)(cos(pi k / K) + 1)/2: gamma at k = 0, (1 + gamma)/2 at K/2, 1 at K."""
    assert float(methods.ema_rate(50, 100, 0.9)) == pytest.approx(0.95)
    assert float(methods.ema_rate(37, 100, 0.9, "constant")) == pytest.approx(0.9)
    out = methods.ema_update({"w": jnp.array([2.0])}, {"w": jnp.array([4.0])}, 0.9)
    np.testing.assert_allclose(out["w"], [2.2])


# ------------------------------------------------------------------ DirectPred


def _random_psd(d, seed, spectrum):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q, q @ np.diag(spectrum) @ q.T


def test_directpred_sets_wp_by_eq18():
    """p_j = sqrt(s_j) + eps max_j s_j on F's eigenvectors (002 Eq 18)."""
    s = np.array([4.0, 1.0, 0.25, 0.0])
    q, F = _random_psd(4, 0, s)
    expected = q @ np.diag(np.sqrt(s) + 0.1 * 4.0) @ q.T
    np.testing.assert_allclose(predictors.directpred_weights(jnp.asarray(F), eps=0.1), expected, atol=1e-10)


def test_directpred_c_variant_and_released_code_normalisation():
    """Table 7: p_j = sqrt(max(s_j - c, 0)); released code: sqrt(s_j / max s) + eps."""
    s = np.array([4.0, 1.0, 0.04])
    q, F = _random_psd(3, 1, s)
    np.testing.assert_allclose(
        predictors.directpred_weights(jnp.asarray(F), c=0.05), q @ np.diag(np.sqrt([3.95, 0.95, 0.0])) @ q.T, atol=1e-10
    )
    np.testing.assert_allclose(
        predictors.directpred_weights(jnp.asarray(F), eps=0.1, normalize=True),
        q @ np.diag(np.sqrt(s / 4.0) + 0.1) @ q.T, atol=1e-10,
    )


def test_directpred_correlation_is_the_uncentred_moving_average_of_eq19():
    f = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]])
    previous = np.array([[2.0, 0.5], [0.5, 1.0]])
    expected = 0.3 * previous + 0.7 * (f.T @ f) / 3
    np.testing.assert_allclose(predictors.update_correlation(jnp.asarray(previous), jnp.asarray(f), 0.3), expected, atol=1e-12)


# ------------------------------------------------------------------ one training step by hand

LINEAR = dict(
    encoder="linear", dataset="synthetic", input_dim=3, feature_dim=3, projector_hidden=0, loss="l2",
    lr_schedule="constant", batch_size=16, steps=4, sigma2=0.3, dtype="float64", log_every=2,
)


def _views(config):
    key = jax.random.fold_in(training.prng_key(config.seed), 0)
    x1, x2 = data.isotropic_views(key, config.batch_size, config.input_dim, config.sigma2, jnp.float64)
    return np.asarray(x1), np.asarray(x2)


def test_one_byol_step_is_lemma1_gradient_descent_with_alpha_p_weight_decay_and_ema():
    """One step on J = 1/2 mean ||Wp W x1 - Wa x2||^2 (002 Eq 1), written out by hand:

    W  <- W  - lr (-Wp^T G + wd W),   Wp <- Wp - lr (alpha_p (-G W^T) + wd Wp),
    G = mean(Wa x2 x1^T) - Wp W mean(x1 x1^T)  (so that, in expectation, G = -Wp W (X + X') + Wa X),
    Wa <- gamma Wa + (1 - gamma) W_new.
    """
    config = TrainConfig(method="byol", predictor="linear", symmetric_loss=False, gamma_ema=0.9, ema_schedule="constant",
                         lr=0.05, momentum=0.0, weight_decay=0.01, alpha_p=3.0, **LINEAR)
    rng = np.random.default_rng(0)
    W, Wp, Wa = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    state = training.init_state(config, params={"encoder": {"W": W}, "predictor": {"Wp": Wp}})
    state = state.replace(target_params={"encoder": {"W": jnp.asarray(Wa)}})
    new, metrics = training.make_train_step(config)(state, None)

    x1, x2 = _views(config)
    n = len(x1)
    G = Wa @ x2.T @ x1 / n - Wp @ W @ x1.T @ x1 / n
    W_new = W - 0.05 * (-Wp.T @ G + 0.01 * W)
    Wp_new = Wp - 0.05 * (3.0 * (-G @ W.T) + 0.01 * Wp)
    np.testing.assert_allclose(new.params["encoder"]["W"], W_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new.params["predictor"]["Wp"], Wp_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new.target_params["encoder"]["W"], 0.9 * Wa + 0.1 * W_new, rtol=1e-12, atol=1e-12)
    loss = 0.5 * np.mean(np.sum((x1 @ W.T @ Wp.T - x2 @ Wa.T) ** 2, axis=1))
    assert float(metrics["loss"]) == pytest.approx(loss, rel=1e-12)


def test_directpred_step_sets_wp_from_the_batch_correlation_and_trains_it_between_with_freq_2():
    """freq = 2: step 0 sets Wp by Eq 18 from F_hat = (1 - rho) E[f f^T] of both views; step 1 trains Wp by gradient."""
    config = TrainConfig(method="simsiam", predictor="directpred", directpred_rho=0.3, directpred_eps=0.1,
                         directpred_freq=2, symmetric_loss=True, lr=0.05, momentum=0.0, weight_decay=0.0, **LINEAR)
    W = np.random.default_rng(1).normal(size=(3, 3))
    state = training.init_state(config, params={"encoder": {"W": W}, "predictor": {"Wp": np.eye(3)}})
    step = training.make_train_step(config)
    first, _ = step(state, None)
    x1, x2 = _views(config)
    f = np.concatenate([x1, x2]) @ W.T
    F_hat = 0.7 * f.T @ f / len(f)
    np.testing.assert_allclose(first.correlation, F_hat, rtol=1e-12, atol=1e-12)
    s, u = np.linalg.eigh(F_hat)
    np.testing.assert_allclose(first.params["predictor"]["Wp"], u @ np.diag(np.sqrt(s) + 0.1 * s.max()) @ u.T, atol=1e-10)
    second, _ = step(first, None)
    assert not np.allclose(second.params["predictor"]["Wp"], first.params["predictor"]["Wp"])  # a gradient step
    third, _ = step(second, None)
    s, u = np.linalg.eigh(np.asarray(third.correlation))
    np.testing.assert_allclose(third.params["predictor"]["Wp"], u @ np.diag(np.sqrt(s) + 0.1 * s.max()) @ u.T, atol=1e-10)


def test_lars_decays_and_adapts_only_weight_matrices_and_alpha_p_scales_only_the_predictor():
    """LARS (BYOL's optimiser): biases / BN parameters get neither weight decay nor the trust ratio."""
    params = {"encoder": {"kernel": jnp.full((2, 2), 2.0), "bias": jnp.ones(2)}, "predictor": {"Wp": jnp.eye(2)}}
    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    lars = training.make_optimizer(TrainConfig(optimizer="lars", lr=0.1, weight_decay=0.5, momentum=0.0, lr_schedule="constant"))
    updates, _ = lars.update(zero, lars.init(params), params)
    np.testing.assert_array_equal(updates["encoder"]["bias"], 0.0)  # no decay on a vector
    # decay only: g = 0.5 w; trust ratio 1e-3 ||w|| / ||g|| = 2e-3, so the update is -lr * 2e-3 * 0.5 w = -1e-4 w
    np.testing.assert_allclose(updates["encoder"]["kernel"], -1e-4 * 2.0 * np.ones((2, 2)), rtol=1e-5)
    sgd = training.make_optimizer(TrainConfig(lr=0.1, weight_decay=0.0, momentum=0.0, alpha_p=4.0, lr_schedule="constant"))
    ones = jax.tree_util.tree_map(jnp.ones_like, params)
    updates, _ = sgd.update(ones, sgd.init(params), params)
    np.testing.assert_allclose(updates["predictor"]["Wp"], -0.4)
    np.testing.assert_allclose(updates["encoder"]["kernel"], -0.1)
