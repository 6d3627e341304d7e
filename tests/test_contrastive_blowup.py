"""001 Theorem 6 (Eqs 146-151) and Eq 155 against the paper's facts (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssl_odes import Status
from ssl_odes.contrastive import (
    basin_fraction,
    blowup_solution,
    blowup_time,
    measure_blowup_time,
    modulation_probability,
    simulate_blowup,
    simulate_modulated_basin,
    time_reached,
)

# ------------------------------------------------------------------------------------------------
# Eqs 146-151: the 1-D dynamics
# ------------------------------------------------------------------------------------------------


def test_blowup_time_matches_the_integrator_to_1e6():
    """Eq 150: t* = ln(1 + b/y0)/b is where the integrator reports BLOWUP.

    measure_blowup_time brackets the stop time by refining the output grid (5 rounds of 101 points over
    t1 = 30: a bracket of 3e-9), the stop is within ln(1 + b/bound)/b ~ 1e-8 of t*, and the solver
    runs at rtol 1e-11: 1e-6 relative leaves two orders of magnitude."""
    y0 = np.array([0.05, 0.3, 1.0, 4.0])
    b = np.array([1.0, 2.5, 0.4, 3.0])
    measured = measure_blowup_time(y0, b, t1=30.0, rounds=5, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(measured, blowup_time(y0, b), rtol=1e-6)


def test_blowup_is_reported_with_nan_after_it_and_the_stable_point_is_reached():
    """From y0 > 0 the run stops with BLOWUP at the time reached (NaN afterwards, never inf); from
    y0 < 0 it follows Eq 147 to the stable point -b (1e-7 relative at rtol 1e-10)."""
    res = simulate_blowup([-2.0, -0.5, 0.5], 1.5, t1=10.0, num_points=1001, rtol=1e-10, atol=1e-12)
    assert res.status.tolist() == [Status.OK, Status.OK, Status.BLOWUP]
    y = np.asarray(res.y)
    assert not np.any(np.isinf(y))
    t_star = float(blowup_time(0.5, 1.5))
    reached = time_reached(res)
    assert reached[2] <= t_star < reached[2] + 0.01 + 1e-12
    assert np.all(np.isnan(y[2, res.t > reached[2]]))
    closed = blowup_solution(np.asarray(res.t), np.array([-2.0, -0.5])[:, None], 1.5)
    np.testing.assert_allclose(y[:2], closed, rtol=1e-7)
    np.testing.assert_allclose(y[:2, -1], -1.5, rtol=1e-6)


@given(y0=st.floats(1e-3, 1e3), b=st.floats(1e-3, 1e2))
def test_blowup_time_decreases_with_b(y0, b):
    """Eq 151: dt*/db = (1/b^2)[(b/y0)/(1 + b/y0) - ln(1 + b/y0)] < 0; jax.grad of Eq 150 agrees (1e-9)."""
    grad = float(jax.grad(lambda bb: blowup_time(y0, bb))(b))
    x = b / y0
    eq151 = (x / (1.0 + x) - np.log1p(x)) / b**2
    assert grad < 0
    assert abs(grad - eq151) <= 1e-9 * abs(eq151) + 1e-300


def test_blowup_time_is_nan_without_blowup_and_rejects_bad_b():
    assert np.isnan(blowup_time(0.0, 1.0)) and np.isnan(blowup_time(-3.0, 1.0))
    with pytest.raises(ValueError, match="b"):
        blowup_time(1.0, 0.0)
    with pytest.raises(TypeError, match="y0"):
        blowup_time("1", 1.0)


# ------------------------------------------------------------------------------------------------
# Theorem 6: the basin of u_l grows with the modulation c
# ------------------------------------------------------------------------------------------------


def test_basin_of_modulated_direction_grows_with_c():
    """Theorem 6: under A + c u_l u_l^T the basin of u_l grows with c (projected flow on the sphere).

    400 filters uniform on the sphere in d = 4 (one cloud, common to every c), b = 1.5. At c = 0 every
    direction is equally likely: 1/4 within 4 s.d. (sqrt(3/16/400) = 0.022). The basins are nested (a
    filter won at c stays won at c' > c), so each increase is the fraction q of filters that switch,
    whose Monte Carlo s.d. is sqrt(q(1 - q)/400) <= 0.018 for q <= 0.15: each increase exceeds 0.07."""
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(400, 4))
    w0 /= np.linalg.norm(w0, axis=1, keepdims=True)
    res = simulate_modulated_basin(w0, b=1.5, c=[0.0, 0.3, 1.0], t1=60.0, rtol=1e-7, atol=1e-9)
    assert res.status_counts() == {"ok": 3}
    fractions = basin_fraction(res)
    assert abs(fractions[0] - 0.25) < 4 * 0.022
    assert np.all(np.diff(fractions) > 0.07)
    won = np.asarray(res.final("w"))[..., 0] > 0.99
    assert np.all(won[1] >= won[0]) and np.all(won[2] >= won[1])
    # every filter converged to some +u_m (the only stable points)
    assert np.all(np.max(np.asarray(res.final("w")), axis=-1) > 0.99)


# ------------------------------------------------------------------------------------------------
# Eq 155
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 3, 10])
@pytest.mark.parametrize("e", [-1.5, -0.6, -0.1, 0.0, 0.3, 0.9, 1.0, 1.7])
def test_modulation_probability_matches_monte_carlo(e, d):
    """Eq 155 (all three cases; e > 1 is 1/2) and its extension below -1 against 10^6 samples of
    Y ~ U[-1, 1]^d: P[Y_l > 0, Y_l + e >= max_{l' != l} Y_l']. Binomial s.d. <= 5e-4; tolerance 5 s.d."""
    rng = np.random.default_rng(abs(hash((e, d))) % 2**32)
    n = 1_000_000
    y = rng.uniform(-1.0, 1.0, size=(n, d)).astype(np.float32)
    others = y[:, 1:].max(axis=1) if d > 1 else np.full(n, -np.inf, np.float32)
    estimate = np.mean((y[:, 0] > 0) & (y[:, 0] + e >= others))
    assert abs(float(modulation_probability(e, d)) - estimate) < 5 * 5e-4


def test_modulation_probability_limits():
    """No modulation: (1 - 2^-d)/d (the printed ~1/d); e > 1: exactly 1/2; e <= -2: 0; d < 1 rejected."""
    assert float(modulation_probability(0.0, 8)) == pytest.approx((1 - 2.0**-8) / 8, rel=1e-12)
    assert np.all(np.asarray(modulation_probability([1.0, 1.5, 10.0], 5)) == 0.5)
    assert float(modulation_probability(-2.5, 4)) == 0.0
    with pytest.raises(ValueError, match="d"):
        modulation_probability(0.1, 0)
