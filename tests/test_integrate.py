"""The package's one integrator: accuracy, statuses, batch isolation, gradients (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ssl_odes
from ssl_odes import Status
from ssl_odes._integrate import _bucket, default_bound, default_tolerances


def linear_decay(t, y, rate):
    return -rate * y


def quadratic_blowup(t, y, args):
    return y**2


TS = np.linspace(0.0, 3.0, 7)


def test_exponential_decay_is_accurate_to_the_tolerance():
    """y' = -k y: y(t) = y0 exp(-k t). At rtol 1e-10 the global error stays below 1e-8 relative."""
    rates = np.array([0.5, 1.0, 3.0])
    sol = ssl_odes.integrate(linear_decay, np.ones((3, 2)), rates[:, None], TS, dtype=np.float64, rtol=1e-10, atol=1e-12)
    assert sol.ys.shape == (3, 7, 2) and np.all(sol.status == Status.OK)
    np.testing.assert_allclose(sol.ys[..., 0], np.exp(-rates[:, None] * TS), rtol=1e-8)
    np.testing.assert_allclose(sol.t_final, 3.0)


def test_blowup_past_the_bound_is_reported_and_isolated():
    """y' = y^2, y0 = 1 blows up at t = 1. With bound 1e3 it stops with BLOWUP; saved points after the
    stop are NaN, never inf; a decaying neighbour in the same batch is untouched."""
    def field(t, y, args):
        return jnp.where(args > 0, y**2, -y)

    sol = ssl_odes.integrate(field, np.ones(2), np.array([1.0, -1.0]), TS, dtype=np.float64, bound=1e3)
    assert sol.status.tolist() == [Status.BLOWUP, Status.OK]
    assert 0.99 < float(sol.t_final[0]) < 1.0 and abs(float(sol.y_final[0])) > 1e3
    assert np.all(np.isnan(sol.ys[0, 2:])) and not np.any(np.isinf(sol.ys))
    np.testing.assert_allclose(sol.ys[1], np.exp(-TS), rtol=1e-7)


def test_step_budget_exhaustion_is_reported():
    sol = ssl_odes.integrate(linear_decay, np.ones(1), np.array([1.0]), np.linspace(0, 1000.0, 3), dtype=np.float64,
                             max_steps=5)
    assert sol.status.tolist() == [Status.MAX_STEPS] and float(sol.t_final[0]) < 1000.0
    assert np.isnan(sol.ys[0, -1])


def test_nonfinite_state_is_reported():
    """A NaN in the state (here the initial one, which only the raw integrator accepts) gives NONFINITE."""
    sol = ssl_odes.integrate(linear_decay, np.array([1.0, np.nan]), np.array([1.0, 1.0]), TS, dtype=np.float64,
                             max_steps=50)
    assert sol.status.tolist() == [Status.OK, Status.NONFINITE]


def test_default_bound_stops_growth_before_overflow():
    """y' = y from 1e76 passes the default bound finfo.max**(1/4) ~ 1.2e77 at t = ln(11.6) ~ 2.45: BLOWUP,
    long before any overflow (a squared state is still finite at the bound). The bound is checked at
    the end of each accepted step, so the stop lies within one step (< 0.25 here) after the crossing."""
    sol = ssl_odes.integrate(lambda t, y, a: y, np.array([1e76, 1.0]), np.zeros(2), np.linspace(0, 5.0, 6),
                             dtype=np.float64)
    assert sol.status.tolist() == [Status.BLOWUP, Status.OK]
    crossing = np.log(default_bound(np.float64) / 1e76)
    assert crossing <= float(sol.t_final[0]) < crossing + 0.25
    assert default_bound(np.float64) ** 2 < np.finfo(np.float64).max


def test_finite_time_singularity_without_bound_exhausts_the_step_budget():
    """Near a pole the step-size controller advances y by well under 1% per step, so y' = y^2 (pole at
    t = 1) runs out of steps before the default bound: reported honestly as MAX_STEPS, state finite."""
    sol = ssl_odes.integrate(quadratic_blowup, np.ones(1), np.zeros(1), np.linspace(0, 2.0, 3), dtype=np.float64,
                             max_steps=2000)
    assert sol.status.tolist() == [Status.MAX_STEPS]
    assert 0.999 < float(sol.t_final[0]) < 1.001 and np.isfinite(sol.y_final[0])


def test_gradient_through_the_solver_matches_the_closed_form():
    """d/dk of y(T) = exp(-k T) is -T exp(-k T): reverse mode through diffrax, tolerance 1e-7."""
    ts = jnp.linspace(0.0, 2.0, 3)

    def final_value(rate):
        sol = ssl_odes.solve(linear_decay, jnp.ones(()), rate, ts, rtol=1e-10, atol=1e-12, bound=1e10)
        return sol.ys[-1]

    np.testing.assert_allclose(jax.grad(final_value)(0.7), -2.0 * np.exp(-1.4), rtol=1e-7)


def test_float32_tolerances_and_dtype():
    sol = ssl_odes.integrate(linear_decay, np.ones(2), np.array([1.0, 2.0]), TS, dtype=np.float32)
    assert sol.ys.dtype == jnp.float32 and np.all(sol.status == Status.OK)
    assert default_tolerances(np.float32)[0] > default_tolerances(np.float64)[0]
    np.testing.assert_allclose(sol.ys[1], np.exp(-2.0 * TS), rtol=2e-4)


def test_bucket_sizes_waste_at_most_a_third():
    for n in range(1, 5000):
        size = _bucket(n)
        assert n <= size <= max(2, 1.5 * n, n + 1023)  # padding: a third at most, under 1024 for big batches


def test_pytree_states_are_supported():
    def field(t, y, args):
        return {"a": -y["a"], "b": y["a"][..., None] * jnp.ones(2)}

    y0 = {"a": np.ones(3), "b": np.zeros((3, 2))}
    sol = ssl_odes.integrate(field, y0, np.zeros(3), TS, dtype=np.float64, rtol=1e-10, atol=1e-12)
    assert sol.ys["b"].shape == (3, 7, 2)
    np.testing.assert_allclose(sol.ys["b"][0, :, 1], 1 - np.exp(-TS), rtol=1e-8, atol=1e-12)


def test_empty_batch_is_an_error():
    with pytest.raises(ValueError, match="at least one trajectory"):
        ssl_odes.integrate(linear_decay, np.ones((0,)), np.ones((0,)), TS, dtype=np.float64)


def test_save_fn_saves_diagnostics_instead_of_the_state():
    """save_fn(t, y, args) is evaluated at the output times (here |y|^2 of a 2-vector decaying at rate 1)."""
    sol = ssl_odes.integrate(linear_decay, np.ones((2, 2)), np.ones((2, 1)), TS, dtype=np.float64, rtol=1e-10,
                             atol=1e-12, save_fn=lambda t, y, args: {"norm2": jnp.sum(y**2), "t": t})
    assert sol.ys["norm2"].shape == (2, 7)
    np.testing.assert_allclose(sol.ys["norm2"][0], 2 * np.exp(-2 * TS), rtol=1e-8)
    np.testing.assert_allclose(sol.ys["t"][1], TS)


@pytest.mark.parametrize("name, order", [("tsit5", 5), ("dopri5", 5), ("dopri8", 8)])
def test_named_solvers_meet_the_closed_form(name, order):
    """y' = -k y to t = 3 with each named diffrax method: global error within 100x rtol, and the
    8th-order method needs fewer steps than the 5th-order ones at the same tolerance."""
    rates = np.array([0.5, 1.0, 3.0])
    sol = ssl_odes.integrate(linear_decay, np.ones(3), rates, TS, dtype=np.float64, rtol=1e-8, atol=1e-12, solver=name)
    np.testing.assert_allclose(sol.ys, np.exp(-rates[:, None] * TS), rtol=1e-6)
    tsit5 = ssl_odes.integrate(linear_decay, np.ones(3), rates, TS, dtype=np.float64, rtol=1e-8, atol=1e-12)
    if order == 8:
        assert np.all(sol.num_steps < tsit5.num_steps)


def test_unknown_solver_is_refused_by_name():
    with pytest.raises(ValueError, match="solver must be one of"):
        ssl_odes.integrate(linear_decay, np.ones(1), np.ones(1), TS, dtype=np.float64, solver="rk4")
    with pytest.raises(ValueError, match="solver.*rk4"):
        ssl_odes.simulate_byol_modes(0.5, 0.3, t1=1.0, solver="rk4")
