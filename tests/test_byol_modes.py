"""002 Eqs 11-17: the decoupled BYOL / SimSiam mode dynamics against the paper's facts (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ssl_odes
from ssl_odes import Status, byol_modes
from ssl_odes.byol_modes import (
    alignment_condition,
    classify_mode_fixed_point,
    classify_parabola_fixed_point,
    collapse_threshold,
    delta,
    fixed_points,
    invariant,
    invariant_prediction,
    k_eigenvalue,
    p_dynamics_on_parabola,
    phase_plane_fixed_points,
    tau_closed_form,
)

BATCH = 16
TIGHT = dict(rtol=1e-11, atol=1e-13)


def uniform(lo, hi, n=BATCH):
    return arrays(np.float64, n, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


# ------------------------------------------------------------------------------------------------
# Eq 14: the integral of motion
# ------------------------------------------------------------------------------------------------


@given(p0=uniform(0.0, 2.0), s0=uniform(0.0, 2.0), tau0=uniform(0.0, 1.0), alpha_p=uniform(0.1, 10.0),
       beta=uniform(0.0, 2.0), sigma2=uniform(0.0, 2.0))
def test_invariant_parabola_is_conserved_without_weight_decay(p0, s0, tau0, alpha_p, beta, sigma2):
    """Eq 14 with eta = 0: s - p^2/alpha_p is constant along every BYOL trajectory.

    Tolerance 1e-9 relative to the largest size so far of |s| + p^2/alpha_p (the two cancelling
    terms; the error gathered while they were large stays when both decay), plus an absolute
    1e-15 for the all-zero state: the solver runs at rtol = 1e-11, so 1e-9 leaves two orders of
    magnitude for accumulated error.
    """
    res = ssl_odes.simulate_byol_modes(p0, s0, tau0, alpha_p=alpha_p, beta=beta, eta=0.0, sigma2=sigma2,
                                       t1=50.0, num_points=201, **TIGHT)
    assert res.status_counts() == {"ok": BATCH}
    a = alpha_p[:, None]
    value = invariant(res.p, res.s, a)
    scale = np.maximum.accumulate(np.abs(res.s) + res.p**2 / a, axis=1)
    error = np.abs(value - (s0 - p0**2 / alpha_p)[:, None])
    assert np.all(error <= 1e-9 * scale + 1e-15)


@given(p0=uniform(0.0, 2.0), s0=uniform(0.0, 2.0), tau0=uniform(0.0, 1.0), alpha_p=uniform(0.1, 10.0),
       beta=uniform(0.0, 2.0), eta=uniform(1e-3, 0.5), sigma2=uniform(0.0, 2.0))
def test_invariant_decays_exactly_like_exp_minus_two_eta_t(p0, s0, tau0, alpha_p, beta, eta, sigma2):
    """Eq 14 with eta > 0: s - p^2/alpha_p = exp(-2 eta t) (s0 - p0^2/alpha_p), whatever tau does.

    1e-9 relative to the largest size so far of |s| + p^2/alpha_p + |c| exp(-2 eta t) (the error
    gathered while the terms were large stays as they decay), plus 1e-12 absolute: once a mode has
    decayed (s ~ 1e-13 at eta t = 15) its error is governed by the solver's atol = 1e-13, not rtol.
    """
    res = ssl_odes.simulate_byol_modes(p0, s0, tau0, alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2,
                                       t1=30.0, num_points=151, **TIGHT)
    assert res.status_counts() == {"ok": BATCH}
    t = np.asarray(res.t)
    predicted = invariant_prediction(t, p0[:, None], s0[:, None], alpha_p[:, None], eta[:, None])
    value = invariant(res.p, res.s, alpha_p[:, None])
    scale = np.maximum.accumulate(np.abs(res.s) + res.p**2 / alpha_p[:, None] + np.abs(predicted), axis=1)
    assert np.all(np.abs(value - predicted) <= 1e-9 * scale + 1e-12)


# ------------------------------------------------------------------------------------------------
# Fixed points on the invariant parabola (Eq 16) and the collapse basin
# ------------------------------------------------------------------------------------------------

CASES = [  # (eta, sigma2, alpha_p), each below its threshold 1 / (4 (1 + sigma2))
    (0.05, 0.0, 1.0),
    (0.10, 0.5, 2.0),
    (0.02, 1.0, 0.5),
]


def test_parabola_start_above_p_minus_grows_to_p_plus_below_collapses():
    """002 Sec 4 / Fig 4(b): on s = p^2/alpha_p (SimSiam, tau = 1) with 0 < eta < tau^2/(4(1+sigma2)),
    p0 = 1.05 p*_- converges to p*_+ (and s to p*_+^2/alpha_p), p0 = 0.95 p*_- to 0.

    Tolerances: 1e-7 relative at p*_+ (the approach is exponential at rate >= 0.4 for t >~ 2000);
    the collapsed side decays like exp(-eta t) with eta t >= 60, so p < 1e-10.
    """
    eta, sigma2, alpha_p = (np.array(c) for c in zip(*CASES))
    p_minus, p_plus = (np.asarray(v) for v in fixed_points(1.0, eta, sigma2))
    assert np.all((0 < p_minus) & (p_minus < p_plus))
    factor = np.array([1.05, 0.95])[:, None]
    p0 = factor * p_minus
    res = ssl_odes.simulate_byol_modes(p0, p0**2 / alpha_p, alpha_p=alpha_p, eta=eta, sigma2=sigma2, simsiam=True,
                                       t1=3000.0, num_points=301, **TIGHT)
    assert res.status_counts() == {"ok": 6}
    p_end, s_end = np.asarray(res.final("p")), np.asarray(res.final("s"))
    np.testing.assert_allclose(p_end[0], p_plus, rtol=1e-7)
    np.testing.assert_allclose(s_end[0], p_plus**2 / alpha_p, rtol=1e-7)
    assert np.all(np.abs(p_end[1]) < 1e-10) and np.all(s_end[1] < 1e-10)


def test_everything_collapses_above_the_weight_decay_threshold():
    """Obs#5: for eta > tau^2/(4(1+sigma2)) only p = 0 remains; every start on or above the parabola collapses."""
    sigma2 = np.array([0.0, 0.5, 1.0])[:, None]
    eta = 1.2 * np.asarray(collapse_threshold(1.0, sigma2))
    p0 = np.array([0.05, 0.3, 0.8, 1.5, 3.0])
    res = ssl_odes.simulate_byol_modes(p0, p0**2 + 0.5, eta=eta, sigma2=sigma2, simsiam=True, t1=2000.0,
                                       num_points=101, **TIGHT)
    assert res.status_counts() == {"ok": 15}
    assert np.all(np.isnan(np.asarray(fixed_points(1.0, eta, sigma2)[0])))
    assert np.max(np.abs(res.final("p"))) < 1e-8 and np.max(res.final("s")) < 1e-8


def test_starting_above_the_parabola_never_collapses_without_weight_decay():
    """002 Sec 4 (eta = 0): s0 > p0^2/alpha_p keeps s >= s0 - p0^2/alpha_p > 0, so the run ends on the
    non-collapsed branch p = tau/(1 + sigma2)."""
    p0 = np.array([-0.8, -0.2, 0.1, 0.5, 2.0])
    sigma2 = np.array([0.0, 1.0])[:, None]
    res = ssl_odes.simulate_byol_modes(p0, p0**2 + 0.2, eta=0.0, sigma2=sigma2, simsiam=True, t1=400.0, **TIGHT)
    assert res.ok.all()
    assert np.min(res.s) >= 0.2 * (1 - 1e-9)
    np.testing.assert_allclose(res.final("p"), np.broadcast_to(1.0 / (1.0 + sigma2), (2, 5)), rtol=1e-6)


def test_fixed_points_are_roots_of_eq16_and_monotone_in_tau_and_eta():
    """p*_+/- are zeros of Eq 16; p*_- decreases with tau and increases with eta (002 Sec 4, SM)."""
    rng = np.random.default_rng(0)
    tau = rng.uniform(0.3, 1.5, 64)
    sigma2 = rng.uniform(0.0, 2.0, 64)
    eta = rng.uniform(0.01, 0.95, 64) * np.asarray(collapse_threshold(tau, sigma2))
    for root in fixed_points(tau, eta, sigma2):
        assert np.max(np.abs(p_dynamics_on_parabola(root, tau, eta, sigma2))) < 1e-14
    d_tau, d_eta = jax.vmap(jax.grad(lambda t, e, s2: fixed_points(t, e, s2)[0], argnums=(0, 1)))(
        jnp.asarray(tau), jnp.asarray(eta), jnp.asarray(sigma2))
    assert np.all(d_tau < 0) and np.all(d_eta > 0)


# ------------------------------------------------------------------------------------------------
# Eq 15: the EMA closed form
# ------------------------------------------------------------------------------------------------


def test_simulated_tau_equals_the_eq15_closed_form():
    """Eq 15 on the invariant parabola (c = 0, tau(0) = 0): the simulated tau equals
    beta e^{-beta t} / p(t) int_0^t p e^{beta t'} computed from the simulated p.

    The quadrature is second order in the grid step, so the discrepancy must (a) be small and
    (b) shrink 4x when the grid is refined 2x: that shows it is quadrature error and not a
    difference between the two sides.
    """
    beta = np.array([0.3, 1.0, 2.5])
    eta = np.array([0.0, 0.01, 0.05])
    sigma2 = np.array([0.0, 0.5, 0.2])
    alpha_p = np.array([1.0, 2.0, 0.7])
    p0 = np.array([0.6, 0.9, 0.8])
    errors = []
    for num_points in (1001, 2001):
        res = ssl_odes.simulate_byol_modes(p0, p0**2 / alpha_p, 0.0, alpha_p=alpha_p, beta=beta, eta=eta,
                                           sigma2=sigma2, t1=20.0, num_points=num_points, **TIGHT)
        assert res.ok.all() and np.min(res.p) > 0.05
        closed = tau_closed_form(res.t, res.p, beta[:, None])
        errors.append(float(np.max(np.abs(closed - res.tau))))
    assert errors[1] < 1e-4
    assert 3.9 < errors[0] / errors[1] < 4.1  # measured 3.9999 (beta = 2.5 dominates the max)


def test_tau_closed_form_with_nonzero_tau0_and_p_constant():
    """With p constant, Eq 15 (generalised to tau0) gives tau = 1 + (tau0 - 1) e^{-beta t}; the
    quadrature is exact for piecewise-linear p, so the match is to rounding (1e-14)."""
    t = jnp.linspace(0.0, 10.0, 101)
    tau = tau_closed_form(t, jnp.full((2, 101), 0.7), beta=jnp.array([[0.5], [2.0]]), tau0=0.3)
    expected = 1.0 + (0.3 - 1.0) * jnp.exp(-jnp.array([[0.5], [2.0]]) * t)
    np.testing.assert_allclose(tau, expected, atol=1e-14)


# ------------------------------------------------------------------------------------------------
# The 3-D system is scalar BYOL
# ------------------------------------------------------------------------------------------------


def scalar_byol_vector_field(t, y, args):
    """002 Eqs 2-4 with n1 = n2 = 1, X = 1, X' = sigma2 (reference, written out by hand)."""
    w_p, w, w_a = y
    alpha_p, beta, eta, sigma2 = args
    g = -w_p * w * (1.0 + sigma2) + w_a
    return jnp.stack([alpha_p * g * w - eta * w_p, w_p * g - eta * w, beta * (w - w_a)])


@given(w0=uniform(0.2, 1.5, 8), wp0=uniform(0.0, 1.5, 8), wa0=uniform(0.0, 1.5, 8), alpha_p=uniform(0.2, 5.0, 8),
       beta=uniform(0.0, 2.0, 8), eta=uniform(0.0, 0.2, 8), sigma2=uniform(0.0, 1.0, 8))
def test_three_mode_system_equals_scalar_byol(w0, wp0, wa0, alpha_p, beta, eta, sigma2):
    """002 Sec 4: Eqs 11-13 are Eqs 2-4 at n1 = n2 = 1 with s = W^2, p = W_p, tau = W_a / W.

    With W_p, W_a >= 0 the region p, tau >= 0 is invariant and W = W0 exp(int p g - eta) stays
    positive, so W = sqrt(s) and W_a = tau sqrt(s). Both systems run at rtol 1e-11: p and s agree
    to 1e-7 relative + 1e-10 absolute. tau = W_a/W is conditioned by 1/W: where a mode has
    collapsed to s ~ 1e-8, s's absolute error ~1e-12 becomes ~1e-7 relative in tau sqrt(s), hence
    1e-6 relative + 1e-9 absolute there (measured worst case: 4e-7 relative).
    """
    ts = np.linspace(0.0, 10.0, 101)
    reference = ssl_odes.integrate(scalar_byol_vector_field, np.stack([wp0, w0, wa0], -1),
                                   (alpha_p, beta, eta, sigma2), ts, dtype=np.float64, **TIGHT)
    assert np.all(reference.status == Status.OK)
    w_p, w, w_a = (np.asarray(reference.ys)[..., i] for i in range(3))
    assert np.all(w > -1e-12)  # positive up to the solver's absolute tolerance
    res = ssl_odes.simulate_byol_modes(wp0, w0**2, wa0 / w0, alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2,
                                       ts=ts, **TIGHT)
    assert res.ok.all()
    np.testing.assert_allclose(res.p, w_p, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.s, w**2, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.tau * np.sqrt(np.maximum(res.s, 0.0)), w_a, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------------------------
# Jacobian stability (SPEC section 2)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau,eta,sigma2", [(1.0, 0.05, 0.0), (1.0, 0.1, 0.5), (0.6, 0.02, 0.2)])
def test_parabola_fixed_points_zero_and_p_plus_stable_p_minus_unstable(tau, eta, sigma2):
    """Eq 16 with 0 < eta < threshold: p = 0 stable, p*_- unstable, p*_+ stable; and f'(p*_+/-) from
    jacfwd equals the analytic -(1+sigma2) p (p - p_other)."""
    p_minus, p_plus = (float(v) for v in fixed_points(tau, eta, sigma2))
    assert classify_parabola_fixed_point(0.0, tau, eta, sigma2) == "stable"
    assert classify_parabola_fixed_point(p_minus, tau, eta, sigma2) == "unstable"
    assert classify_parabola_fixed_point(p_plus, tau, eta, sigma2) == "stable"
    slope = jax.grad(lambda p: p_dynamics_on_parabola(p, tau, eta, sigma2))
    for p, other in ((p_minus, p_plus), (p_plus, p_minus)):
        np.testing.assert_allclose(slope(p), -(1 + sigma2) * p * (p - other), rtol=1e-12)


def test_parabola_origin_is_a_saddle_without_weight_decay_and_only_fixed_point_above_threshold():
    """Fig 4(a): at eta = 0, p = 0 is semi-stable (the paper's saddle) and p*_+ = tau/(1+sigma2) stable;
    Fig 4(c): above the threshold p = 0 is the only fixed point and is stable."""
    assert classify_parabola_fixed_point(0.0, 1.0, 0.0, 0.0) == "saddle"
    assert classify_parabola_fixed_point(0.5, 1.0, 0.0, 1.0) == "stable"
    assert classify_parabola_fixed_point(0.0, 1.0, 0.3, 0.0) == "stable"
    assert np.isnan(fixed_points(1.0, 0.3, 0.0)[1])


@pytest.mark.parametrize("tau,alpha_p,eta,sigma2", [(1.0, 1.0, 0.01, 0.0), (1.0, 3.0, 0.1, 0.5), (0.7, 0.5, 0.05, 0.0)])
def test_phase_plane_fixed_points_stability(tau, alpha_p, eta, sigma2):
    """(p, s) plane at fixed tau with eta > 0 (Fig 3 middle): the origin is stable, (p*_-, p*_-^2/alpha_p)
    a saddle (unstable along the parabola, attracting across it) and (p*_+, p*_+^2/alpha_p) stable."""
    points = phase_plane_fixed_points(tau, alpha_p, eta, sigma2)
    labels = {name: classify_mode_fixed_point(float(p), float(s), tau, alpha_p=alpha_p, eta=eta, sigma2=sigma2)
              for name, (p, s) in points.items()}
    assert {k: v.label for k, v in labels.items()} == {"collapsed": "stable", "p_minus": "saddle", "p_plus": "stable"}
    assert all(v.hyperbolic for v in labels.values())
    # the transverse eigenvalue is -2 eta (the decay rate of Eq 14's constant)
    assert np.min(np.abs(labels["p_plus"].eigenvalues + 2 * eta)) < 1e-10


def test_phase_plane_fixed_point_lines_without_weight_decay():
    """Fig 3 left (eta = 0): on s = 0, stable for p < 0 or p > tau/(1+sigma2), unstable between (transverse
    eigenvalue 2 p g); the line p = tau/(1+sigma2) is stable for s > 0 (eigenvalue -alpha_p s (1+sigma2))."""
    tau, sigma2, alpha_p = 1.0, 0.5, 2.0
    p_star = tau / (1 + sigma2)
    for p, expected in ((-0.3, "stable"), (0.3, "unstable"), (p_star + 0.2, "stable")):
        result = classify_mode_fixed_point(p, 0.0, tau, alpha_p=alpha_p, sigma2=sigma2)
        assert (result.label, result.hyperbolic) == (expected, False)
    result = classify_mode_fixed_point(p_star, 0.8, tau, alpha_p=alpha_p, sigma2=sigma2)
    assert result.label == "stable"
    np.testing.assert_allclose(np.sort(result.eigenvalues.real), [-alpha_p * 0.8 * (1 + sigma2), 0.0], atol=1e-12)


def test_full_byol_fixed_points_with_ema_stability():
    """The 3-D flow (Eqs 11-13) with beta > 0 at tau = 1: (p*_+, s*_+, 1) stable, (p*_-, s*_-, 1) a saddle."""
    eta, alpha_p, beta = 0.05, 1.5, 0.4
    p_minus, p_plus = (float(v) for v in fixed_points(1.0, eta, 0.0))
    plus = classify_mode_fixed_point(p_plus, p_plus**2 / alpha_p, 1.0, alpha_p=alpha_p, eta=eta, beta=beta)
    minus = classify_mode_fixed_point(p_minus, p_minus**2 / alpha_p, 1.0, alpha_p=alpha_p, eta=eta, beta=beta)
    assert plus.label == "stable" and minus.label == "saddle"
    with pytest.raises(ValueError, match="not a fixed point"):
        classify_mode_fixed_point(0.5, 0.5, 1.0, alpha_p=alpha_p, eta=eta, beta=beta)


def test_k_eigenvalue_positive_iff_eq17():
    """Eq 17 is k_j > 0: Delta_j < (alpha_p (1 + sigma2) s + eta)/2 <=> (1+sigma2)(alpha_p s/2 + p^2) - tau p + 3 eta/2 > 0."""
    rng = np.random.default_rng(1)
    p, s, tau = rng.uniform(-1, 2, 4000), rng.uniform(0, 1, 4000), rng.uniform(0, 1.5, 4000)
    alpha_p, eta, sigma2 = rng.uniform(0.1, 3, 4000), rng.uniform(0, 0.5, 4000), rng.uniform(0, 1, 4000)
    k = np.asarray(k_eigenvalue(p, s, tau, alpha_p, eta, sigma2))
    condition = np.asarray(alignment_condition(p, s, tau, alpha_p, eta, sigma2))
    assert np.array_equal(k > 0, condition) and 0 < condition.mean() < 1
    np.testing.assert_allclose(k, alpha_p * (1 + sigma2) * s / 2 - np.asarray(delta(p, tau, eta, sigma2)) + eta / 2,
                               rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# Broadcasting, results and statuses
# ------------------------------------------------------------------------------------------------


def test_broadcasting_gives_batch_first_then_time_and_matches_single_runs():
    p0 = np.array([0.1, 0.5, 1.2, 2.0, -0.3])[:, None]
    eta = np.array([0.0, 0.01, 1.0])
    res = ssl_odes.simulate_byol_modes(p0, 0.4, alpha_p=2.0, eta=eta, t1=20.0, num_points=51)
    assert res.p.shape == res.s.shape == res.tau.shape == (5, 3, 51)
    assert res.status.shape == res.num_steps.shape == (5, 3) and res.t.shape == (51,)
    assert res.dtype == "float64" and res.p.dtype == jnp.float64
    single = ssl_odes.simulate_byol_modes(1.2, 0.4, alpha_p=2.0, eta=0.01, t1=20.0, num_points=51)
    assert single.p.shape == (51,) and single.status.shape == ()
    np.testing.assert_allclose(res.p[2, 1], single.p, rtol=1e-9)
    np.testing.assert_allclose(res[2, 1].tau, single.tau, rtol=1e-9)
    assert res.eta.shape == (5, 3) and float(res[2].eta[1]) == 0.01


def test_to_xarray_is_labelled_by_parameter():
    p0 = np.array([0.1, 0.5])[:, None]
    eta = np.array([0.0, 0.01, 1.0])
    ds = ssl_odes.simulate_byol_modes(p0, 0.4, eta=eta, t1=5.0, num_points=11).to_xarray()
    assert ds["p"].dims == ("p0", "eta", "t") and ds["status"].dims == ("p0", "eta")
    np.testing.assert_array_equal(ds["eta"].values, eta)
    np.testing.assert_array_equal(ds["p0"].values, p0[:, 0])
    assert float(ds["p"].sel(p0=0.5, eta=0.01, t=0.0)) == 0.5 and ds.attrs["dtype"] == "float64"
    # zipped parameters share an axis: it keeps a neutral name and both become coordinates
    zipped = ssl_odes.simulate_byol_modes([0.1, 0.2], [0.3, 0.4], t1=5.0, num_points=11).to_xarray()
    assert zipped["p"].dims == ("batch_0", "t") and zipped["s0"].dims == ("batch_0",)


def test_simsiam_keeps_tau_at_one_and_records_no_beta():
    res = ssl_odes.simulate_byol_modes([0.2, 0.4], 0.3, simsiam=True, t1=10.0, num_points=21)
    assert np.all(res.tau == 1.0) and "beta" not in res.params and res.flow == "simsiam_modes"
    byol_tau_one = ssl_odes.simulate_byol_modes([0.2, 0.4], 0.3, 1.0, beta=0.0, t1=10.0, num_points=21)
    # with tau0 = 1 and beta = 0, tau still moves (Eq 13 has the -tau (p g - eta) term): not SimSiam
    assert np.max(np.abs(byol_tau_one.tau - 1.0)) > 1e-3


def test_blown_up_trajectory_is_reported_and_does_not_affect_the_others():
    """At s = 0, p = -10 Eq 13 is a Riccati equation, dtau/dt ~ 10 tau^2: tau blows up near t = 0.024
    (in scalar BYOL, W crosses zero while W_a does not, so tau = W_a / W diverges). With a bound it
    stops with BLOWUP; a tiny step budget gives MAX_STEPS; the healthy neighbours match a run
    without the bad trajectory."""
    p0, s0, tau0 = np.array([0.5, -10.0, 0.8]), np.array([0.5, 0.0, 0.1]), np.array([0.2, 1.0, 0.5])
    res = ssl_odes.simulate_byol_modes(p0, s0, tau0, t1=5.0, num_points=11, bound=1e6)
    assert res.status.tolist() == [Status.OK, Status.BLOWUP, Status.OK]
    assert np.all(np.isnan(res.tau[1, 1:])) and not np.any(np.isinf(res.tau))
    healthy = ssl_odes.simulate_byol_modes(p0[[0, 2]], s0[[0, 2]], tau0[[0, 2]], t1=5.0, num_points=11, bound=1e6)
    # equal to rounding: another batch size is another XLA program, whose fusions may round differently
    np.testing.assert_allclose(res.p[np.array([0, 2])], healthy.p, rtol=1e-14)
    starved = ssl_odes.simulate_byol_modes(p0, s0, tau0, t1=5.0, num_points=11, max_steps=20)
    assert starved.status[1] == Status.MAX_STEPS and res.status_counts() == {"ok": 2, "blowup": 1}


def test_float32_runs_and_records_its_dtype():
    res = ssl_odes.simulate_byol_modes([0.3, 0.9], 0.5, eta=0.01, t1=30.0, num_points=31, dtype="float32")
    assert res.dtype == "float32" and res.p.dtype == jnp.float32 and res.ok.all()
    ref = ssl_odes.simulate_byol_modes([0.3, 0.9], 0.5, eta=0.01, t1=30.0, num_points=31)
    np.testing.assert_allclose(res.p, ref.p, rtol=1e-4, atol=1e-5)


def test_unknown_attribute_names_the_available_ones():
    res = ssl_odes.simulate_byol_modes(0.3, 0.5, t1=1.0, num_points=3)
    with pytest.raises(AttributeError, match="variables: \\['p', 's', 'tau'\\]"):
        res.q


def test_module_is_exposed_flat():
    assert ssl_odes.simulate_byol_modes is byol_modes.simulate_byol_modes
