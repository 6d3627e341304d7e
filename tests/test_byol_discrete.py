"""Discrete-time BYOL modes (one SGD step of size lr on 002 Eqs 2-4 / 11-13) against the flow (float64)."""

import math
import re

import numpy as np
import pytest

import ssl_odes
from ssl_odes.byol_modes import invariant

P0 = np.array([0.2, 0.5, 0.9, 1.3])
S0 = np.array([0.3, 0.5, 1.0, 0.2])
TAU0 = np.array([0.0, 0.3, 1.0, 0.5])
FLOW = dict(alpha_p=2.0, eta=0.05, sigma2=0.2)
BETA = 0.5
T = 4.0
SAVES = 50  # same number of saved points for every lr: one compile of the map and of the flow
TIGHT = dict(rtol=1e-12, atol=1e-14)


def gap(lr, *, simsiam=False, ema_uses_new_weights=False):
    """max over t in [0, T], modes and variables of |discrete - flow| at t = lr * step."""
    steps = int(round(T / lr))
    kwargs = dict(simsiam=True) if simsiam else dict(tau0=TAU0)
    disc = ssl_odes.simulate_byol_modes_discrete(
        P0, S0, lr=lr, steps=steps, save_every=steps // SAVES, gamma_ema=1.0 - BETA * lr,
        ema_uses_new_weights=ema_uses_new_weights, **kwargs, **FLOW,
    )
    flow = ssl_odes.simulate_byol_modes(P0, S0, beta=BETA, ts=disc.t, **kwargs, **FLOW, **TIGHT)
    assert disc.status_counts() == {"ok": 4} and flow.status_counts() == {"ok": 4}
    np.testing.assert_allclose(disc.t, flow.t, rtol=1e-15)
    return max(float(np.max(np.abs(getattr(disc, v) - getattr(flow, v)))) for v in ("p", "s", "tau"))


@pytest.mark.parametrize("variant", ["byol", "byol_ema_after_step", "simsiam"])
def test_gap_to_the_flow_shrinks_linearly_in_lr(variant):
    """The discrete modes approach simulate_byol_modes at rate O(lr): log-log slope 1 +/- 0.15.

    Why first order: with gamma_ema = 1 - beta lr the map is the forward-Euler map of scalar BYOL
    (002 Eqs 2-4) with step lr, and p, s, tau are smooth functions of (W_p, W, W_a). Euler's
    local error is O(lr^2), so at fixed flow time t <= T = 4 the global error is C(T) lr + O(lr^2).
    Averaging the *updated* W into W_a changes each step by (1 - gamma) lr dW = O(lr^2): still
    first order. The flow is integrated at rtol 1e-12, far below the smallest gap (~1e-3).
    Over lr = 0.04 ... 0.005 the O(lr^2) term bends the slope by a few percent at most (measured:
    1.02), inside the +/- 0.15 band.
    """
    lrs = np.array([0.04, 0.02, 0.01, 0.005])
    gaps = np.array([gap(lr, simsiam=variant == "simsiam", ema_uses_new_weights=variant == "byol_ema_after_step")
                     for lr in lrs])
    assert np.all(np.diff(gaps) < 0)
    slope = np.polyfit(np.log(lrs), np.log(gaps), 1)[0]
    assert abs(slope - 1.0) <= 0.15, (slope, gaps)


def test_one_step_is_sgd_on_scalar_byol_in_mode_variables():
    """One step from (p, s, tau), worked by hand with W = sqrt(s), W_p = p, W_a = tau W:
    G = W_a - (1 + sigma2) W_p W; p' = p + lr (alpha_p G W - eta p) (exactly Euler on Eq 11);
    s' = (W + lr (W_p G - eta W))^2 = s + lr ds/dt|_Eq12 + lr^2 (W_p G - eta W)^2;
    tau' = (gamma W_a + (1 - gamma) W) / W'. Rounding-level agreement (1e-14)."""
    lr, gamma, alpha_p, eta, sigma2 = 0.1, 0.9, 2.0, 0.05, 0.2
    p, s, tau = 0.7, 0.4, 0.6
    w = math.sqrt(s)
    w_a = tau * w
    g_w = w_a - (1 + sigma2) * p * w
    dw = p * g_w - eta * w
    g = tau - (1 + sigma2) * p
    expected_p = p + lr * (alpha_p * s * g - eta * p)
    expected_s = s + lr * (2 * p * s * g - 2 * eta * s) + lr**2 * dw**2
    expected_tau = (gamma * w_a + (1 - gamma) * w) / (w + lr * dw)
    run = ssl_odes.simulate_byol_modes_discrete(p, s, tau, lr=lr, steps=1, gamma_ema=gamma, alpha_p=alpha_p, eta=eta,
                                                sigma2=sigma2)
    assert float(run.p[1]) == pytest.approx(expected_p, abs=1e-14)
    assert float(run.s[1]) == pytest.approx(expected_s, abs=1e-14)
    assert float(run.tau[1]) == pytest.approx(expected_tau, abs=1e-14)
    np.testing.assert_allclose(run.t, [0.0, lr])


def test_discrete_invariant_drifts_by_order_lr():
    """Eq 14 (s - p^2/alpha_p constant at eta = 0) holds for the flow only; SGD breaks it by
    O(lr) over a fixed time (each step adds lr^2 (dW^2 - dW_p^2/alpha_p)). Halving lr halves the
    drift to within 20%."""
    drifts = []
    for lr in (0.02, 0.01):
        steps = int(round(T / lr))
        run = ssl_odes.simulate_byol_modes_discrete(P0, S0, TAU0, lr=lr, steps=steps, save_every=steps // SAVES,
                                                    gamma_ema=1.0 - BETA * lr, alpha_p=2.0, sigma2=0.2)
        c0 = invariant(P0, S0, 2.0)[:, None]
        drifts.append(float(np.max(np.abs(invariant(run.p, run.s, 2.0) - c0))))
    assert drifts[0] > 0
    assert drifts[1] / drifts[0] == pytest.approx(0.5, rel=0.2)


def test_result_layout_broadcasts_and_overlays_the_flow():
    run = ssl_odes.simulate_byol_modes_discrete(np.linspace(0.1, 1, 3)[:, None], 0.5, lr=0.05, steps=20,
                                                eta=[0.0, 0.1], save_every=5)
    assert run.p.shape == (3, 2, 5) and run.status.shape == (3, 2)
    np.testing.assert_allclose(run.t, 0.05 * np.arange(0, 21, 5))
    assert run.flow == "byol_modes_discrete"
    simsiam = ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=0.05, steps=20, simsiam=True)
    assert np.all(simsiam.tau == 1.0) and simsiam.flow == "simsiam_modes_discrete"


# ------------------------------------------------------------------------------------------------
# Validation: one test per rule
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("lr", 0.0, "lr > 0"),
        ("gamma_ema", 1.0, "0 <= gamma_ema < 1"),
        ("gamma_ema", -0.5, "0 <= gamma_ema < 1"),
        ("s0", 0.0, "s0 > 0"),
        ("alpha_p", 0.0, "alpha_p > 0"),
        ("eta", -0.1, "eta >= 0"),
        ("sigma2", -0.1, "sigma2 >= 0"),
    ],
)
def test_out_of_range_parameters_are_rejected(name, value, allowed):
    kwargs = dict(p0=0.5, s0=0.5, lr=0.01, steps=3)
    kwargs[name] = value
    with pytest.raises(ValueError, match=rf"^{name} must satisfy {re.escape(allowed)}; got {name}={re.escape(repr(value))}"):
        ssl_odes.simulate_byol_modes_discrete(**kwargs)


def test_lr_must_be_a_scalar_because_it_sets_the_time_axis():
    with pytest.raises(ValueError, match=r"lr must be a scalar"):
        ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=[0.01, 0.02], steps=3)


def test_tau0_is_refused_with_simsiam():
    with pytest.raises(ValueError, match=r"tau0 is fixed at 1 when simsiam=True"):
        ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, 0.3, lr=0.01, steps=3, simsiam=True)


def test_steps_and_flags_are_checked():
    with pytest.raises(ValueError, match=r"steps must satisfy steps >= 1"):
        ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=0.01, steps=0)
    with pytest.raises(ValueError, match=r"steps must be a multiple of save_every"):
        ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=0.01, steps=10, save_every=4)
    with pytest.raises(TypeError, match=r"ema_uses_new_weights must be True or False"):
        ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=0.01, steps=3, ema_uses_new_weights=1)
