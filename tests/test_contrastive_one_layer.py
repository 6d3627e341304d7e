"""The one-layer contrastive flow (001 Lemma 3, Eq 7) and the energy landscape of 001 Fig 8."""

import numpy as np
import pytest

from ssl_odes.contrastive import (
    Activation,
    contrastive_operator,
    gated_input,
    one_layer_energy,
    one_layer_vector_field,
    pairwise_importance,
    random_unit_vectors,
    sample_latent_summation,
    simulate_one_layer,
)

FIG8_ANGLES = np.array([-4 * np.pi / 5, -np.pi / 2, -2 * np.pi / 5, -np.pi / 6, 0.0, np.pi / 5, 2 * np.pi / 5,
                        3 * np.pi / 5, 4 * np.pi / 5])


def _data():
    rng = np.random.default_rng(3)
    U = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    x = sample_latent_summation(48, U, [0.15, 0.25, 0.3], seed=1)
    return x, x + 0.1 * rng.normal(size=x.shape)


@pytest.fixture(scope="module")
def relu_run():
    """One ReLU run with Gaussian alpha and augmentation: 3 initialisations of K = 2 filters (one compile)."""
    x, x_aug = _data()
    w0 = random_unit_vectors(6, 3, seed=4).reshape(3, 2, 3)
    res = simulate_one_layer(x, w0, x_aug=x_aug, alpha="gaussian", tau=0.7, t1=30.0, num_points=41,
                             rtol=1e-11, atol=1e-12)
    return x, x_aug, w0, res


def test_unit_norm_is_conserved_along_eq7(relu_run):
    """d||w||^2/dt = 2 w^T (I - w w^T) A w = 0: ||w_k|| stays 1 (to 1e-9; the solver's rtol is 1e-11)."""
    *_, res = relu_run
    assert res.status_counts() == {"ok": 3}
    np.testing.assert_allclose(np.linalg.norm(np.asarray(res.w), axis=-1), 1.0, rtol=0, atol=1e-9)


def test_energy_never_decreases_along_eq7(relu_run):
    """dE/dt = sum_k ||P A(w_k) w_k||^2 >= 0 (App. B.2: the w^T dA w term vanishes for ReLU).
    Allowed decrease: 1e-9 relative (the solver's error), far below the energy's growth."""
    *_, res = relu_run
    energy = np.asarray(res.energy)
    assert np.all(np.diff(energy, axis=-1) >= -1e-9 * np.abs(energy).max())
    assert np.all(energy[:, -1] > energy[:, 0])


def test_energy_output_is_the_contrastive_covariance_of_the_outputs(relu_run):
    """E = 1/2 sum_k C_alpha[h(w_k^T x)] (Eq 5), through Eq 6 (h(w^T x) = w^T x~^w)."""
    from ssl_odes.contrastive import contrastive_covariance

    x, x_aug, _, res = relu_run
    W = np.asarray(res.w)[1, -1]
    relu = Activation("relu")
    f, f_aug = np.asarray(relu.h(x @ W.T)), np.asarray(relu.h(x_aug @ W.T))
    expected = 0.5 * np.trace(np.asarray(contrastive_covariance(f, f_aug, alpha="gaussian", tau=0.7, z=x)))
    assert float(res.energy[1, -1]) == pytest.approx(expected, rel=1e-12)


def test_vector_field_is_lemma_3_projected_gradient():
    """Eq 7's field equals (I - w w^T) C_alpha[x~, x~] w with C_alpha from the double loop of Eq 3."""
    rng = np.random.default_rng(0)
    x, x_aug = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    alpha = np.asarray(pairwise_importance(x, "infonce", tau=0.5))
    W = random_unit_vectors(2, 3, seed=1)
    act = Activation("leaky_relu", slope=0.1)
    op = contrastive_operator(x, x_aug, alpha=alpha, activation=act)
    got = np.asarray(one_layer_vector_field(0.0, W, op))
    for k, w in enumerate(W):
        a, a_aug = np.asarray(gated_input(x, w, act)), np.asarray(gated_input(x_aug, w, act))
        A = sum(alpha[i, j] * (np.outer(a[i] - a[j], a[i] - a[j]) - np.outer(a[i] - a_aug[i], a[i] - a_aug[i]))
                for i in range(8) for j in range(8)) / (2 * 64)
        np.testing.assert_allclose(got[k], (np.eye(3) - np.outer(w, w)) @ A @ w, rtol=1e-12, atol=1e-14)


def _energy_over_circle(activation, num=7200):
    x = np.stack([np.cos(FIG8_ANGLES), np.sin(FIG8_ANGLES)], axis=1)
    theta = np.linspace(-np.pi, np.pi, num, endpoint=False)
    W = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    op = contrastive_operator(x, activation=activation)
    import jax

    energy = np.asarray(jax.vmap(lambda w: one_layer_energy(w[None], op))(W))
    return theta, energy


def _count_local_maxima(values):
    """Strict local maxima of a periodic sampled curve (plateaus count once)."""
    left, right = np.roll(values, 1), np.roll(values, -1)
    tol = 1e-12 * np.abs(values).max()
    return int(np.sum((values > left + tol) & (values >= right - tol)))


def test_fig8_relu_energy_has_many_local_maxima_and_linear_two():
    """001 Fig 8 / App. D: nine points on the unit circle, uniform alpha, no augmentation. The ReLU energy
    over theta has >= 8 local maxima (one pattern each); the linear energy is w^T Cov w, whose only maxima on
    the circle are +/- the top eigenvector: exactly 2 (a 0.05-degree grid resolves both curves)."""
    _, relu = _energy_over_circle("relu")
    _, linear = _energy_over_circle("linear")
    assert _count_local_maxima(relu) >= 8
    assert _count_local_maxima(linear) == 2


def test_bad_inputs_raise_naming_the_argument():
    x = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="w0"):
        simulate_one_layer(x, [[[1.0, 1.0]]], t1=1.0, num_points=2)  # not unit norm
    with pytest.raises(ValueError, match="w0"):
        simulate_one_layer(x, [[[1.0, 0.0, 0.0]]], t1=1.0, num_points=2)  # wrong d
    with pytest.raises(ValueError, match="alpha"):
        simulate_one_layer(x, [[[1.0, 0.0]]], alpha=np.ones((4, 4)), t1=1.0, num_points=2)
    with pytest.raises(ValueError, match="x"):
        simulate_one_layer(x[:1], [[[1.0, 0.0]]], t1=1.0, num_points=2)
    with pytest.raises(ValueError, match="x_aug"):
        simulate_one_layer(x, [[[1.0, 0.0]]], x_aug=x[:3], t1=1.0, num_points=2)
    with pytest.raises(ValueError, match="tau"):
        simulate_one_layer(x, [[[1.0, 0.0]]], alpha="gaussian", tau=-1.0, t1=1.0, num_points=2)
    with pytest.raises(ValueError, match="activation"):
        simulate_one_layer(x, [[[1.0, 0.0]]], activation="tanh", t1=1.0, num_points=2)
    with pytest.raises(ValueError, match="probs"):
        contrastive_operator(x, probs=[0.5, 0.5])


@pytest.mark.parametrize("kind", ["gaussian", "infonce"])
def test_alpha_from_the_output_is_recomputed_at_each_w(kind):
    """alpha_source='output' (Cor 2's 1-D Gaussian, InfoNCE): A(w) = C_alpha(w)[x~^w] with
    alpha(w) = pairwise importance of the outputs h(w^T x), as computed by pairwise_importance."""
    from ssl_odes.contrastive import contrastive_covariance

    rng = np.random.default_rng(5)
    x, x_aug = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    op = contrastive_operator(x, x_aug, alpha=kind, tau=0.4, alpha_source="output")
    relu = Activation("relu")
    for w in random_unit_vectors(3, 3, seed=6):
        alpha = np.asarray(pairwise_importance(np.asarray(relu.h(x @ w))[:, None], kind, tau=0.4))
        expected = contrastive_covariance(gated_input(x, w, relu), gated_input(x_aug, w, relu), alpha=alpha)
        np.testing.assert_allclose(np.asarray(op(w)), np.asarray(expected), rtol=1e-12, atol=1e-15)
