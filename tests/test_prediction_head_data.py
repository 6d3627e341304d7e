"""004's data (Def 3.1, Assumption 3.2) and positive pair (Eq 3.2), checked on samples (float64).

Monte Carlo tolerances are 5 standard errors of the estimate at the stated sample size.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes import prediction_head as ph

SIZES = dict(d=7, P=12, P0=3, alpha_1=3.0, alpha_2=1.5, sigma=1.3)


@pytest.fixture(scope="module")
def samples():
    s = ph.sample(0, 20000, dtype=jnp.float64, **SIZES)
    return np.asarray(s.X), np.asarray(s.feature)


def test_feature_patches_carry_one_shared_z_v_l_def_3_1(samples):
    """Def 3.1: exactly P0 patches carry z v_l with one z in {+alpha_l, -alpha_l}; the rest lie in V^perp."""
    X, feature = samples
    on_v = np.abs(X[..., :2]).sum(-1) > 0
    assert (on_v.sum(-1) == SIZES["P0"]).all()
    # feature patches have no V^perp part, noise patches no V part: the subspaces are orthogonal
    assert (X[..., 2:][on_v] == 0).all() and (X[..., :2][~on_v] == 0).all()
    z = np.where(feature[:, None] == 1, X[..., 0], X[..., 1])  # the coefficient on v_l of each patch
    z_feature = np.where(on_v, z, np.nan)
    first = np.nanmax(np.abs(z_feature), axis=-1) * np.sign(np.nansum(z_feature, axis=-1))
    assert np.allclose(z_feature[on_v], np.repeat(first, SIZES["P0"]))  # one shared z per sample
    alpha = np.where(feature == 1, SIZES["alpha_1"], SIZES["alpha_2"])
    assert np.allclose(np.abs(first), alpha)
    # the other feature's coordinate is never used
    assert (np.where(feature[:, None] == 1, X[..., 1], X[..., 0]) == 0).all()


def test_features_and_signs_are_fair_so_z_has_mean_zero(samples):
    """Def 3.1: l uniform on {1, 2} and E z_p = 0 (fair sign): frequencies 1/2 within 5 binomial s.e."""
    X, feature = samples
    n = len(feature)
    tol = 5 * 0.5 / math.sqrt(n)
    assert abs(np.mean(feature == 1) - 0.5) < tol
    z = X[..., 0].sum(-1) + X[..., 1].sum(-1)
    assert abs(np.mean(z > 0) - 0.5) < tol


def test_feature_patch_positions_are_uniform(samples):
    """S(X) is a uniform P0-subset: each position is a feature patch w.p. P0 / P (5 binomial s.e.)."""
    X, _ = samples
    on_v = np.abs(X[..., :2]).sum(-1) > 0
    q = SIZES["P0"] / SIZES["P"]
    assert np.max(np.abs(on_v.mean(0) - q)) < 5 * math.sqrt(q * (1 - q) / len(X))


def test_noise_moments_assumption_3_2a(samples):
    """Assumption 3.2(a): E<xi, u> = 0 and E<xi, u>^6 = sigma^6 for unit u in V^perp.

    The Gaussian's sixth power has relative s.e. sqrt(10395 - 225) / 15 / sqrt(n); 5 s.e. allowed.
    """
    X, _ = samples
    on_v = np.abs(X[..., :2]).sum(-1) > 0
    noise = X[~on_v]  # [n, d]
    rng = np.random.default_rng(1)
    sigma = SIZES["sigma"]
    n = len(noise)
    for _ in range(3):
        u = np.concatenate([[0.0, 0.0], rng.standard_normal(SIZES["d"] - 2)])
        u /= np.linalg.norm(u)
        proj = noise @ u
        std = sigma * ph.NOISE_STD_PER_SIGMA
        assert abs(proj.mean()) < 5 * std / math.sqrt(n)
        assert abs(np.mean(proj**6) / sigma**6 - 1) < 5 * math.sqrt(10395 - 225) / 15 / math.sqrt(n)


def test_noise_cross_moments_vanish_assumption_3_2b(samples):
    """Assumption 3.2(b) (rho = 0 for the spherical Gaussian): E<u1,xi>^3<u2,xi>^3 and E<u1,xi>^5<u2,xi> ~ 0."""
    X, _ = samples
    on_v = np.abs(X[..., :2]).sum(-1) > 0
    noise = X[~on_v] / (SIZES["sigma"] * ph.NOISE_STD_PER_SIGMA)  # standard normal coordinates
    a, b = noise[:, 2], noise[:, 3]  # orthogonal unit directions in V^perp
    n = len(a)
    assert abs(np.mean(a**3 * b**3)) < 5 * math.sqrt(15 * 15 / n)
    assert abs(np.mean(a**5 * b)) < 5 * math.sqrt(945 / n)


@pytest.mark.parametrize("P", [6, 7])
def test_positive_pair_is_a_random_half_split_eq_3_2(P):
    """Eq 3.2: the views are disjoint, add up to X, view 1 holds floor(P/2) patches (odd P: view 2 the extra one),
    and each patch goes to view 1 with probability floor(P/2) / P."""
    X = jnp.ones((4000, P, 3))
    X1, X2 = ph.positive_pair(jax.random.key(2), X)
    X1, X2 = np.asarray(X1[..., 0]), np.asarray(X2[..., 0])
    assert (X1 + X2 == 1).all()
    assert (X1.sum(-1) == P // 2).all() and (X2.sum(-1) == P - P // 2).all()
    q = (P // 2) / P
    assert np.max(np.abs(X1.mean(0) - q)) < 5 * math.sqrt(q * (1 - q) / len(X1))


@pytest.mark.parametrize(
    "name, change",
    [("P0", dict(P0=13)), ("P", dict(P=1, P0=1)), ("alpha_2", dict(alpha_2=3.5)), ("sigma", dict(sigma=-1.0)),
     ("d", dict(d=2)), ("alpha_1", dict(alpha_1=0.0)), ("P0", dict(P0=0))],
)
def test_bad_data_parameters_raise_value_error_naming_them(name, change):
    with pytest.raises(ValueError, match=name):
        ph.sample(0, 4, **{**SIZES, **change})


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="alpha_1"):
        ph.sample(0, 4, **{**SIZES, "alpha_1": "big"})
    with pytest.raises(TypeError, match="P"):
        ph.sample(0, 4, **{**SIZES, "P": True})
