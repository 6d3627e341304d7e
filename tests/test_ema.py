"""000 Eqs 10-11 and App. F.3: EMA as a discrete linear system, against the paper's facts (float64)."""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ssl_odes
from ssl_odes import ema

N = 64  # points per hypothesis example: one batch, one compile
EPS64 = np.finfo(np.float64).eps


def uniform(lo, hi, n=N):
    return arrays(np.float64, n, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def sorted_pair(a, b):
    """The two roots of each column, ordered by (real, imag) so that sets can be compared."""
    pair = np.stack([np.asarray(a, complex), np.asarray(b, complex)], axis=-1)
    order = np.lexsort((pair.imag, pair.real), axis=-1)
    return np.take_along_axis(pair, order, axis=-1)


# ------------------------------------------------------------------------------------------------
# Eq 139: the poles
# ------------------------------------------------------------------------------------------------


@given(lr=uniform(1e-3, 2.0), gamma=uniform(0.0, 0.999), lam=uniform(-3.0, 3.0))
def test_z_roots_are_the_eigenvalues_of_the_update_matrix(lr, gamma, lam):
    """Eq 139's roots equal eig([[1 - lr, lr(1 - lam)], [e, 1 - e]]) (e = 1 - gamma).

    Tolerance 1e-7: an eigenvalue of a (nearly) defective 2 x 2 matrix is only determined to
    O(sqrt(eps) ||M||) ~ 1e-8 by LAPACK (a double root splits like sqrt of the perturbation), and
    random draws land arbitrarily close to a zero discriminant.
    """
    e = 1.0 - gamma
    matrices = np.stack([np.stack([1 - lr, lr * (1 - lam)], -1), np.stack([e, 1 - e], -1)], -2)
    np.testing.assert_allclose(ema.update_matrix(lr, gamma, lam), matrices, rtol=0, atol=1e-15)
    z_min, z_max = ema.z_roots(lr, gamma, lam)
    eig = np.linalg.eigvals(matrices)
    np.testing.assert_allclose(sorted_pair(z_min, z_max), sorted_pair(eig[:, 0], eig[:, 1]), rtol=0, atol=1e-7)


@given(lr=uniform(1e-3, 2.0), gamma=uniform(0.0, 0.999), lam=uniform(-3.0, 3.0))
def test_z_roots_solve_the_characteristic_polynomial_of_eq_138(lr, gamma, lam):
    """The denominator of Eq 138, P(z) = (z - 1)^2 + (e + lr)(z - 1) + lr e lam, vanishes at both
    roots, and the roots are those of numpy.roots on its coefficients (1e-7: the sqrt(eps)
    conditioning of a double root). They are complex (a conjugate pair) exactly where the
    discriminant is negative.

    Residual tolerance: 1e-13 of the size of P's terms, plus 8 eps |z| |P'(z)|, what storing z
    itself in float64 costs (z near 1 has absolute rounding eps |z|, which P' amplifies).
    """
    e = 1.0 - gamma
    z_min, z_max = ema.z_roots(lr, gamma, lam)
    for z in (np.asarray(z_min, complex), np.asarray(z_max, complex)):
        residual = (z - 1) ** 2 + (e + lr) * (z - 1) + lr * e * lam
        size = np.abs(z - 1) ** 2 + (e + lr) * np.abs(z - 1) + np.abs(lr * e * lam)
        storage = 8 * EPS64 * np.abs(z) * np.abs(2 * (z - 1) + e + lr)
        assert np.all(np.abs(residual) <= 1e-13 * size + storage)
    by_numpy = np.array([np.roots([1.0, e_i + l_i - 2.0, 1.0 - e_i - l_i + l_i * e_i * m_i])
                         for l_i, e_i, m_i in zip(lr, e, lam)])
    np.testing.assert_allclose(sorted_pair(z_min, z_max), sorted_pair(by_numpy[:, 0], by_numpy[:, 1]), atol=1e-7)
    disc = (e + lr) ** 2 - 4 * lr * e * lam
    imag = np.abs(np.imag(np.asarray(z_max, complex)))
    assert np.all((imag > 0) == (disc < 0))
    if np.any(disc < 0):
        assert np.allclose(np.asarray(z_min)[disc < 0], np.conj(np.asarray(z_max)[disc < 0]))


def test_z_roots_of_a_hand_example():
    """lr = 0.5, gamma = 0.75 (e = 0.25), lam = -1: (z-1)^2 + 0.75 (z-1) - 0.125 = 0, so
    z - 1 = (-0.75 +/- sqrt(0.5625 + 0.5)) / 2."""
    z_min, z_max = ema.z_roots(0.5, 0.75, -1.0)
    root = math.sqrt(0.5625 + 0.5)
    assert float(z_max) == pytest.approx(1 + (-0.75 + root) / 2, abs=1e-15)
    assert float(z_min) == pytest.approx(1 + (-0.75 - root) / 2, abs=1e-15)


# ------------------------------------------------------------------------------------------------
# The recurrence and the inverse z-transform of Eq 140
# ------------------------------------------------------------------------------------------------


@given(lr=uniform(1e-3, 1.0), gamma=uniform(0.0, 0.999), lam=uniform(-3.0, 3.0), w0=uniform(-2.0, 2.0),
       w_ema0=uniform(-2.0, 2.0), paper_start=st.booleans())
def test_recurrence_matches_the_closed_form_to_rounding(lr, gamma, lam, w0, w_ema0, paper_start):
    """Eq 134 iterated 200 times equals the partial-fraction inverse of Eq 140 (w_ema(0) = 0, the
    paper's case, or any w_ema(0)), real or complex or negative roots alike.

    Tolerance 1e-12 of the running envelope max_{k <= t}(|w| + |w_ema|): the recurrence gathers
    O(t eps) relative rounding over t = 200 steps (about 4e-14). Over 2000 random draws the
    worst error measured was 1.3e-13, so this leaves a 10x margin.

    Initial values below 1e-300 in magnitude are set to 0: from a start near the smallest normal
    (``w_ema0 = 2.2e-308``, ``w0 = 0``) the recurrence's iterates become subnormal and XLA:CPU
    flushes them to zero, while the closed form keeps the true (tiny) growth.
    """
    w0 = np.where(np.abs(w0) < 1e-300, 0.0, w0)
    w_ema0 = np.where(np.abs(w_ema0) < 1e-300, 0.0, w_ema0)
    if paper_start:
        w_ema0 = np.zeros_like(w_ema0)
    steps = 200
    run = ema.simulate_discrete(w0, lr, gamma, lam, steps, w_ema0=w_ema0)
    assert run.status_counts() == {"ok": N}
    t = np.arange(steps + 1)
    w, w_ema = ema.closed_form(t, w0[:, None], lr[:, None], gamma[:, None], lam[:, None], w_ema0[:, None])
    envelope = np.maximum.accumulate(np.abs(run.w) + np.abs(run.w_ema), axis=1)
    assert np.all(np.abs(run.w - w) <= 1e-12 * envelope)
    assert np.all(np.abs(run.w_ema - w_ema) <= 1e-12 * envelope)


@pytest.mark.parametrize("lam_offset", [0.0, 1e-12, -1e-9])
def test_repeated_root_closed_form_is_r_to_the_t_plus_t_r_to_the_t_minus_one(lam_offset):
    """Zero discriminant: (e + lr)^2 = 4 lr e lam. With lr = 0.5, e = 0.125, lam = 1.5625 (exact in
    binary), r = 1 - (e + lr)/2 = 0.6875 and, by hand from Eq 140 = z(z - gamma)/(z - r)^2,
    w(t) = r^t + (r - gamma) t r^(t-1) with gamma = 0.875. Nearly repeated roots (lam_offset != 0)
    must be just as accurate: 1e-13 absolute on |w| <= 1 (rounding of 60 multiplications).
    """
    lr, gamma, lam = 0.5, 0.875, 1.5625 + lam_offset
    r = 0.6875
    t = np.arange(61)
    by_hand = r**t + (r - gamma) * t * r ** (t - 1.0)
    w, _ = ema.closed_form(t, 1.0, lr, gamma, lam)
    run = ema.simulate_discrete(1.0, lr, gamma, lam, 60)
    scale = 1e-13 + abs(lam_offset) * 60  # the offset moves w(t) by O(t * offset) from the exact double root
    np.testing.assert_allclose(w, by_hand, rtol=0, atol=scale)
    np.testing.assert_allclose(run.w, w, rtol=0, atol=1e-13)


# ------------------------------------------------------------------------------------------------
# lam < 0: growth like z_max^t, slowed by EMA
# ------------------------------------------------------------------------------------------------


@given(lr=uniform(0.05, 0.5, 16), gamma=uniform(0.0, 0.9, 16), lam=uniform(-2.0, -0.1, 16))
def test_negative_lam_grows_like_z_max_to_the_t(lr, gamma, lam):
    """For lam < 0 (Sec 5): z_max > 1 > z_min, and the fitted per-step growth of the recurrence is z_max.

    The fit is a least-squares line through log|w(t)| for t in [300, 400]. There the z_min term
    is below (|z_min|/z_max)^300 <= 0.85^300 ~ 1e-21 of the z_max term (the worst ratio over these
    ranges is 0.844), so the fitted rate equals z_max to rounding. Tolerance 1e-10 relative.
    """
    z_min, z_max = ema.z_roots(lr, gamma, lam)
    assert np.isrealobj(z_max)
    assert np.all(z_max > 1.0) and np.all(z_min < 1.0)
    np.testing.assert_allclose(ema.growth_rate(lr, gamma, lam), z_max, rtol=1e-15)
    run = ema.simulate_discrete(1.0, lr, gamma, lam, 400)
    assert run.status_counts() == {"ok": 16}
    t = np.arange(300, 401)
    fitted = np.exp(np.polyfit(t, np.log(np.abs(np.asarray(run.w)[:, 300:])).T, 1)[0])
    np.testing.assert_allclose(fitted, z_max, rtol=1e-10)


@given(lr=uniform(0.01, 1.0, 16), lam=uniform(-3.0, -0.01, 16))
def test_raising_gamma_ema_lowers_z_max_towards_one(lr, lam):
    """000 Sec 5: with lam < 0, a gamma_ema closer to 1 gives a smaller z_max, still > 1.

    (dz_max/de > 0 for lam < 0: (e + lr + 2 lr |lam|)^2 > (e + lr)^2 + 4 lr e |lam|.) Checked on a
    grid of gamma_ema from 0 (no EMA) to 0.999; z_max -> 1 as gamma_ema -> 1.
    """
    gammas = np.array([0.0, 0.5, 0.9, 0.99, 0.999])
    _, z_max = ema.z_roots(lr[:, None], gammas, lam[:, None])
    assert np.all(np.diff(z_max, axis=1) < 0)
    assert np.all(z_max > 1.0)
    _, z_near_one = ema.z_roots(lr, 1.0 - 1e-9, lam)
    assert np.all(z_near_one - 1.0 < 1e-8)


def test_ema_simulation_reports_overflow_instead_of_inf():
    """Fast growth overflows float64 within 2000 steps; the run is marked and its values are NaN, never inf."""
    run = ema.simulate_discrete([1.0, 1.0], lr=1.0, gamma_ema=0.0, lam=[-3.0, 0.5], steps=2000)
    assert run.status.tolist() == [ssl_odes.Status.BLOWUP, ssl_odes.Status.OK]
    assert not np.any(np.isinf(run.w))
    assert np.isnan(run.w[0, -1])


def test_simulate_discrete_shapes_and_time_axis():
    run = ema.simulate_discrete(np.ones((3, 1)), lr=0.1, gamma_ema=[0.0, 0.9], lam=-1.0, steps=100, save_every=10)
    assert run.w.shape == (3, 2, 11) and run.status.shape == (3, 2)
    np.testing.assert_array_equal(run.t, np.arange(0, 101, 10))
    assert ssl_odes.simulate_ema_discrete is ema.simulate_discrete


# ------------------------------------------------------------------------------------------------
# Validation: one test per rule
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("lr", 0.0, "lr > 0"),
        ("lr", -0.1, "lr > 0"),
        ("gamma_ema", 1.0, "0 <= gamma_ema < 1"),
        ("gamma_ema", -0.01, "0 <= gamma_ema < 1"),
    ],
)
def test_out_of_range_ema_parameters_are_rejected(name, value, allowed):
    kwargs = dict(lr=0.1, gamma_ema=0.9, lam=-1.0)
    kwargs[name] = value
    message = rf"^{name} must satisfy {re.escape(allowed)}; got {name}={re.escape(repr(value))}"
    for call in (ema.z_roots, ema.update_matrix, ema.growth_rate, ema.discriminant):
        with pytest.raises(ValueError, match=message):
            call(**kwargs)
    with pytest.raises(ValueError, match=message):
        ema.simulate_discrete(1.0, steps=5, **kwargs)
    with pytest.raises(ValueError, match=message):
        ema.closed_form(np.arange(3), 1.0, **kwargs)


@pytest.mark.parametrize("name", ["lam", "w0", "lr", "gamma_ema"])
def test_non_finite_ema_parameters_are_rejected(name):
    kwargs = dict(w0=1.0, lr=0.1, gamma_ema=0.9, lam=-1.0)
    kwargs[name] = math.nan
    with pytest.raises(ValueError, match=rf"^{name} must be finite"):
        ema.simulate_discrete(steps=5, **kwargs)


def test_steps_must_be_a_positive_integer_and_a_multiple_of_save_every():
    with pytest.raises(ValueError, match=r"steps must satisfy steps >= 1; got steps=0"):
        ema.simulate_discrete(1.0, 0.1, 0.9, -1.0, 0)
    with pytest.raises(ValueError, match=r"steps must be an integer >= 1; got steps=2.5"):
        ema.simulate_discrete(1.0, 0.1, 0.9, -1.0, 2.5)
    with pytest.raises(ValueError, match=r"steps must be a multiple of save_every"):
        ema.simulate_discrete(1.0, 0.1, 0.9, -1.0, 10, save_every=3)


def test_closed_form_needs_integer_steps():
    with pytest.raises(ValueError, match=r"t must hold integer step indices >= 0"):
        ema.closed_form([0.5], 1.0, 0.1, 0.9, -1.0)
    with pytest.raises(ValueError, match=r"t must satisfy t >= 0"):
        ema.closed_form([-1], 1.0, 0.1, 0.9, -1.0)
