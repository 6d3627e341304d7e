"""The contrastive covariance (001 Eq 3), the pairwise importance (Lemma 1) and the activations."""

import numpy as np
import pytest

from ssl_odes.contrastive import (
    ACTIVATIONS,
    Activation,
    activation,
    contrastive_covariance,
    gated_input,
    pairwise_importance,
)


def brute_force_eq3(a, a_aug, b, b_aug, alpha):
    """001 Eq 3 written as the double loop over (i, j), one outer product at a time."""
    n = a.shape[0]
    out = np.zeros((a.shape[1], b.shape[1]))
    for i in range(n):
        for j in range(n):
            out += alpha[i, j] * (np.outer(a[i] - a[j], b[i] - b[j]) - np.outer(a[i] - a_aug[i], b[i] - b_aug[i]))
    return out / (2 * n * n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eq3_equals_the_double_loop_with_random_alpha_and_augmentation(seed):
    """Eq 3 expanded into weighted second moments equals the literal double sum (float64 round-off)."""
    rng = np.random.default_rng(seed)
    n, da, db = 7, 3, 2
    a, a_aug = rng.normal(size=(n, da)), rng.normal(size=(n, da))
    b, b_aug = rng.normal(size=(n, db)), rng.normal(size=(n, db))
    alpha = rng.uniform(0.0, 2.0, size=(n, n))  # asymmetric, non-zero diagonal
    got = np.asarray(contrastive_covariance(a, a_aug, b, b_aug, alpha=alpha))
    np.testing.assert_allclose(got, brute_force_eq3(a, a_aug, b, b_aug, alpha), rtol=1e-12, atol=1e-13)
    # b = None means b = a and b_aug = a_aug; a missing view means no augmentation.
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a, a_aug, alpha=alpha)),
                               brute_force_eq3(a, a_aug, a, a_aug, alpha), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a, None, b, alpha=alpha)),
                               brute_force_eq3(a, a, b, b, alpha), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["gaussian", "infonce"])
def test_named_alpha_in_eq3_equals_the_double_loop(kind):
    """Named alphas (Lemma 1's Gaussian, InfoNCE) enter Eq 3 like the explicit matrix."""
    rng = np.random.default_rng(3)
    z, a, a_aug = rng.normal(size=(6, 2)), rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    alpha = np.asarray(pairwise_importance(z, kind, tau=0.7))
    got = np.asarray(contrastive_covariance(a, a_aug, alpha=kind, tau=0.7, z=z))
    np.testing.assert_allclose(got, brute_force_eq3(a, a_aug, a, a_aug, alpha), rtol=1e-12, atol=1e-13)


def test_pairwise_importance_matches_lemma_1_and_infonce_definitions():
    """Gaussian: exp(-||z_i - z_j||^2 / 2 tau) (Lemma 1); InfoNCE: exp(-d_ij^2/tau) normalised over j != i."""
    rng = np.random.default_rng(4)
    z, tau = rng.normal(size=(5, 3)), 0.8
    dist2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(np.asarray(pairwise_importance(z, "gaussian", tau=tau)), np.exp(-dist2 / (2 * tau)),
                               rtol=1e-12)
    kernel = np.exp(-(dist2 / 2) / tau) * (1 - np.eye(5))
    np.testing.assert_allclose(np.asarray(pairwise_importance(z, "infonce", tau=tau)),
                               kernel / kernel.sum(1, keepdims=True), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(np.asarray(pairwise_importance(z, "uniform")), np.ones((5, 5)))


@pytest.mark.parametrize("n", [2, 3, 10, 257])
def test_uniform_alpha_without_augmentation_is_the_biased_covariance(n):
    """Uniform alpha, no augmentation: Eq 3 is exactly (1/N) sum (a_i - abar)(a_i - abar)^T at every N
    (Cor 1's limit holds already at finite N)."""
    a = np.random.default_rng(n).normal(size=(n, 4)) + 3.0
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a)), np.cov(a.T, bias=True), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind", ["uniform", "gaussian", "random-symmetric"])
def test_contrastive_covariance_is_symmetric_when_alpha_is(kind):
    rng = np.random.default_rng(5)
    a, a_aug = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    alpha = kind
    if kind == "random-symmetric":
        m = rng.uniform(size=(20, 20))
        alpha = m + m.T
    c = np.asarray(contrastive_covariance(a, a_aug, alpha=alpha))
    np.testing.assert_allclose(c, c.T, rtol=0, atol=1e-14 * np.abs(c).max())


def test_infonce_covariance_is_asymmetric_in_general():
    """InfoNCE's alpha is row-normalised, not symmetric, and neither is C_alpha[a, a'] (a check that
    the symmetry above is not automatic)."""
    rng = np.random.default_rng(6)
    a, a_aug = rng.normal(size=(12, 3)), rng.normal(size=(12, 3))
    b = rng.normal(size=(12, 3))
    c = np.asarray(contrastive_covariance(a, a_aug, b, alpha="infonce"))
    assert np.abs(c - c.T).max() > 1e-3


def _lemma2_min_eigenvalue(n, seed, sigma=0.5, tau=1.0):
    """lambda_min of C_alpha[x] for Gaussian alpha on x0, views x = x0 + sigma n: x0 spans two of four
    directions, so the population limit (Eq 4) has a 2-D null space that the augmentation noise hits."""
    rng = np.random.default_rng(seed)
    x0 = np.concatenate([rng.normal(size=(n, 2)), np.zeros((n, 2))], axis=1)
    x, x_aug = x0 + sigma * rng.normal(size=x0.shape), x0 + sigma * rng.normal(size=x0.shape)
    c = np.asarray(contrastive_covariance(x, x_aug, alpha="gaussian", tau=tau, z=x0))
    return np.linalg.eigvalsh(c)[0]


def test_lemma_2_gaussian_alpha_min_eigenvalue_tends_to_nonnegative():
    """Lemma 2: with Gaussian alpha (Def 1 kernel structure) C_alpha is asymptotically PSD.

    At N = 16 the intra-sample term pushes lambda_min well below 0; in the noise-only directions
    inter and intra terms cancel in the limit, with O(1/sqrt(N)) fluctuations, so |lambda_min|
    must shrink about 8x from N = 16 to N = 1024. Averaged over 6 seeds; asking for a 4x shrink
    leaves a 2x margin for Monte-Carlo spread (a wrong 1/N normalisation of either term keeps
    lambda_min at O(sigma^2) and fails).
    """
    small = np.mean([_lemma2_min_eigenvalue(16, s) for s in range(6)])
    large = np.mean([_lemma2_min_eigenvalue(1024, s) for s in range(6)])
    assert small < -0.01
    assert large > small / 4.0
    assert large > -0.01


def test_bad_inputs_raise_naming_the_argument():
    a = np.ones((4, 2))
    with pytest.raises(ValueError, match="alpha"):
        contrastive_covariance(a, alpha=np.ones((3, 3)))
    with pytest.raises(ValueError, match="alpha"):
        contrastive_covariance(a, alpha=-np.ones((4, 4)))
    with pytest.raises(ValueError, match="alpha"):
        contrastive_covariance(a, alpha="cosine")
    with pytest.raises(ValueError, match="N >= 2"):
        contrastive_covariance(np.ones((1, 2)))
    with pytest.raises(ValueError, match="a_aug"):
        contrastive_covariance(a, np.ones((4, 3)))
    with pytest.raises(ValueError, match="b"):
        contrastive_covariance(a, None, np.ones((5, 2)))
    with pytest.raises(ValueError, match="a "):
        contrastive_covariance(np.ones(4))
    with pytest.raises(ValueError, match="tau"):
        contrastive_covariance(a, alpha="gaussian", tau=0.0)
    with pytest.raises(TypeError, match="a "):
        contrastive_covariance("data")
    with pytest.raises(ValueError, match="a "):
        contrastive_covariance(np.full((3, 2), np.nan))


def test_activations_are_homogeneous():
    """001 Assumption 1: h(x) = h'(x) x (times q for the monomial x^q); ReLU has h'(0) = 0."""
    z = np.linspace(-2.0, 2.0, 9)
    for act in [Activation("linear"), Activation("relu"), Activation("leaky_relu", slope=0.1),
                Activation("monomial", q=3)]:
        scale = act.q if act.name == "monomial" else 1
        np.testing.assert_allclose(np.asarray(act.derivative(z) * z), scale * np.asarray(act.h(z)), rtol=1e-14)
    assert float(Activation("relu").derivative(0.0)) == 0.0
    assert set(ACTIVATIONS) == {"linear", "relu", "leaky_relu", "monomial"}


def test_gated_input_and_quadratic_form_of_the_energy():
    """C_alpha[h(w^T x)] = w^T C_alpha[x~^w] w (Sec 3, from h(w^T x) = h'(w^T x) w^T x)."""
    rng = np.random.default_rng(7)
    x, x_aug = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    w = rng.normal(size=3)
    w /= np.linalg.norm(w)
    for act in [activation("relu"), activation("linear"), Activation("leaky_relu", slope=0.2)]:
        xt, xt_aug = gated_input(x, w, act), gated_input(x_aug, w, act)
        f, f_aug = np.asarray(act.h(x @ w))[:, None], np.asarray(act.h(x_aug @ w))[:, None]
        lhs = float(np.asarray(contrastive_covariance(f, f_aug, alpha="gaussian", z=x))[0, 0])
        rhs = w @ np.asarray(contrastive_covariance(xt, xt_aug, alpha="gaussian", z=x)) @ w
        assert lhs == pytest.approx(rhs, rel=1e-12)


def test_bad_activations_raise_naming_the_field():
    with pytest.raises(ValueError, match="activation"):
        Activation("tanh")
    with pytest.raises(ValueError, match="slope"):
        Activation("leaky_relu", slope=1.5)
    with pytest.raises(ValueError, match="slope"):
        Activation("relu", slope=0.1)
    with pytest.raises(ValueError, match="q"):
        Activation("monomial", q=0)
    with pytest.raises(TypeError, match="activation"):
        activation(None)


def test_population_weights_are_eq3_with_product_alpha():
    """probs (atoms of a population): Eq 3 with alpha_ij = N^2 p_i p_j (uniform) and N^2 p_i p_j K_ij
    (Gaussian): the weighted variance V_p[a] for uniform alpha without augmentation (Cor 1)."""
    from ssl_odes.contrastive import population_alpha

    rng = np.random.default_rng(8)
    n = 6
    a, a_aug, p = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rng.dirichlet(np.ones(n))
    product = n * n * np.outer(p, p)
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a, a_aug, alpha="uniform", probs=p)),
                               brute_force_eq3(a, a_aug, a, a_aug, product), rtol=1e-12, atol=1e-14)
    mean = p @ a
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a, probs=p)),
                               (a - mean).T @ (p[:, None] * (a - mean)), rtol=1e-12, atol=1e-14)
    kernel = np.asarray(pairwise_importance(a, "gaussian", tau=0.5))
    np.testing.assert_allclose(np.asarray(contrastive_covariance(a, a_aug, alpha="gaussian", tau=0.5, probs=p)),
                               brute_force_eq3(a, a_aug, a, a_aug, product * kernel), rtol=1e-12, atol=1e-14)
    dist2 = ((a[:, None] - a[None]) ** 2).sum(-1)
    infonce = np.asarray(population_alpha("infonce", dist2, 0.5, p))
    np.testing.assert_allclose(infonce.sum(1) / (n * n * p), 1.0, rtol=1e-12)  # row-normalised under p
