"""000 Theorem 4 (Eqs 5-9): BYOL with a predictor and mean-only BatchNorm, exactly enumerated, float64.

Network: base W_1 (ReLU, 4 -> 3), W_2 (linear top, 3 -> 2), then a linear predictor P (2 x 2); the
target is a perturbed base (an EMA stand-in) followed by the identity. The network is linear from
layer 2 up (linear_from = 2), as Theorem 4 requires for BN at layer 2 or 3.
"""

import itertools

import numpy as np
import pytest

from ssl_odes.dual_networks import (
    batchnorm_gradient,
    bn_correction,
    byol_symmetric_update,
    byol_update,
    cross_covariance,
    implicit_contrastive_term,
    latent_model,
    predictor_approximation,
    vec,
)

LINEAR_FROM = 2


def setup(seed=0):
    rng = np.random.default_rng(seed)
    base = [rng.normal(size=(3, 4)) / 2, rng.normal(size=(2, 3)) / 2]
    predictor = rng.normal(size=(2, 2)) / 2
    target_base = [w + 0.3 * rng.normal(size=w.shape) for w in base]
    online = base + [predictor]
    target = target_base + [np.eye(2)]
    images = rng.normal(size=(3, 3, 4))
    model = latent_model(images, rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), size=3))
    return base, online, target, model


def enumerated_batch(model):
    """All (z0, z'_1, z'_2) with probability p(z0) p(z'_1|z0) p(z'_2|z0): the large-batch limit."""
    images, p_z0, p_aug = (np.asarray(a) for a in (model.images, model.p_z0, model.p_aug))
    x1, x2, p = [], [], []
    for z0, a, b in itertools.product(range(images.shape[0]), range(images.shape[1]), range(images.shape[1])):
        x1.append(images[z0, a])
        x2.append(images[z0, b])
        p.append(p_z0[z0] * p_aug[z0, a] * p_aug[z0, b])
    return np.stack(x1), np.stack(x2), np.asarray(p)


def test_bn_correction_vanishes_when_the_target_is_the_online_network():
    """Thm 4, SimCLR case: W' = W gives delta W^BN = 0 (Eq 6), so with or without BN the update is
    Eq 4's -E_x[V_aug[K_l]] vec W_l. Exact: tolerance 1e-13."""
    _, online, _, model = setup(1)
    for layer in (2, 3):
        np.testing.assert_allclose(bn_correction(online, online, layer, model, linear_from=LINEAR_FROM), 0.0, atol=1e-13)
        with_bn = byol_update(online, online, layer, model, linear_from=LINEAR_FROM)
        without = byol_update(online, online, layer, model, batchnorm=False, linear_from=LINEAR_FROM)
        eq4 = byol_symmetric_update(online, layer, model, linear_from=LINEAR_FROM)
        np.testing.assert_allclose(with_bn, eq4, atol=1e-13)
        np.testing.assert_allclose(without, eq4, atol=1e-13)


@pytest.mark.parametrize("layer", [2, 3])
def test_eq7_is_the_large_batch_average_of_the_explicit_mean_subtracted_gradient(layer):
    """Eq 7 (and Eq 6 = the difference): back-propagating g~^i = g^i - gbar (Eq 5) through an
    enumerated batch that carries each (z0, z'_1, z'_2) with its probability gives exactly
    -(Eq 7); without the subtraction it gives -(Eqs 113-114). Tolerance 1e-12 (rounding)."""
    _, online, target, model = setup(2)
    x1, x2, p = enumerated_batch(model)
    explicit_bn = batchnorm_gradient(online, target, x1, x2, layer, batch_weights=p, linear_from=LINEAR_FROM)
    explicit = batchnorm_gradient(online, target, x1, x2, layer, batch_weights=p, mean_subtraction=False,
                                  linear_from=LINEAR_FROM)
    eq7 = byol_update(online, target, layer, model, linear_from=LINEAR_FROM)
    no_bn = byol_update(online, target, layer, model, batchnorm=False, linear_from=LINEAR_FROM)
    np.testing.assert_allclose(-explicit_bn, eq7, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(-explicit, no_bn, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(eq7 - no_bn, bn_correction(online, target, layer, model, linear_from=LINEAR_FROM),
                               rtol=1e-11, atol=1e-12)
    assert np.linalg.norm(eq7 - no_bn) > 1e-3  # the correction is not trivially zero here


@pytest.mark.parametrize("b", [0.05, 0.2, 0.5])
def test_eq9_predictor_b_identity_without_ema_gives_b_one_minus_b_covariance_operator(b):
    """Eq 9: no EMA (target base = online base) and a predictor P = b I: K_l(x; W) = b K_l(x; W_base),
    so Eq 8 = (-b^2 + b) V_x[Kbar_l(x; W_base)] vec W_l exactly, at every base layer (the ReLU
    layer 1 included). Tolerance 1e-13."""
    base, _, _, model = setup(3)
    online = base + [b * np.eye(2)]
    target = base + [np.eye(2)]
    for layer in (1, 2):
        eq8 = implicit_contrastive_term(online, target, layer, model, linear_from=LINEAR_FROM)
        np.testing.assert_allclose(eq8, predictor_approximation(base, layer, model, b), atol=1e-13)


def test_eq8_first_term_is_second_order_and_the_error_shrinks_with_b():
    """Sec 4: with P = b M (all weights ~ b, M entries in [0.5, 1.5]) and no EMA, the first term of
    Eq 8 is O(b^2) and the second O(b): Eq 8 - b Cov_x[Kbar(x; W_base M), Kbar(x; W_base)] vec W
    over that leading term shrinks exactly in proportion to b (ratios 1/2 when b halves, 1e-9)."""
    base, _, _, model = setup(4)
    m = np.random.default_rng(5).uniform(0.5, 1.5, size=(2, 2))
    target = base + [np.eye(2)]
    leading = np.asarray(cross_covariance(base + [m], target, 2, model, linear_from=LINEAR_FROM)) @ np.asarray(vec(base[1]))
    errors = []
    for b in (0.1, 0.05, 0.025):
        eq8 = np.asarray(implicit_contrastive_term(base + [b * m], target, 2, model, linear_from=LINEAR_FROM))
        errors.append(np.linalg.norm(eq8 - b * leading) / np.linalg.norm(b * leading))
    np.testing.assert_allclose(np.asarray(errors[1:]) / np.asarray(errors[:-1]), 0.5, rtol=1e-9)
    assert errors[-1] < 0.1


def test_theorem4_rejects_a_network_that_is_not_linear_from_the_layer_up():
    _, online, target, model = setup(0)
    with pytest.raises(ValueError, match="linear_from"):
        bn_correction(online, target, 1, model, linear_from=LINEAR_FROM)
    with pytest.raises(ValueError, match="target_weights"):
        byol_update(online, target[:2], 2, model, linear_from=LINEAR_FROM)
    with pytest.raises(ValueError, match="b must satisfy"):
        predictor_approximation(online[:2], 1, model, 1.5)
