"""The integrator's two schedules (lockstep and refill) take the same steps and give the same answers.

The refill schedule has two lane steps (``SolveOptions(refill_step=...)``): diffrax's own
``solver.step`` and the fused final-state step (``ssl_odes._core.fused.FinalStateERK``: the same
tableau unrolled, no dense output). Both are checked against lockstep here.

The refill schedule is the fast path for final-state runs (sweeps, benchmark M1). It re-implements
only the *scheduling* of diffrax's step loop, so the property that matters is exact agreement with
the lockstep schedule (``vmap`` of ``diffrax.diffeqsolve``): the same status and number of steps
per trajectory and the same final state up to floating-point rounding, including for trajectories
that blow up, run out of steps or go non-finite, and whatever the number of lanes, the refill
period and the batch padding. Float64 throughout.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ssl_odes
import ssl_odes._integrate as integrator
import ssl_odes._core.refill as refill_module  # noqa: E402
from ssl_odes import Status
from ssl_odes.byol_modes import ModeParameters, byol_modes_vector_field

#: Rounding-level agreement. Both schedules run the same arithmetic per step; XLA may fuse the
#: vectorised loops differently, which moves the last bits (measured: bitwise equal on M1 for
#: diffrax's step; the fused step sums the stages in another order: up to 2e-13 after 90 steps).
RTOL_SAME = 1e-12

#: Agreement on trajectories that stop early. Rounding differences of 1e-16 are amplified by the
#: dynamics there: a Riccati blow-up tau ~ 1/(p (t* - t)) stopped at |y| = bound = 1e6 multiplies a
#: relative perturbation by about |y| / |y0| ~ 1e6, and alpha_p = 1e4 trajectories are stiff, so
#: their step sizes (and the time reached after max_steps) follow the last bits of the error
#: estimate (measured for the fused step: 5e-9 on y, 1e-9 on t with Tsit5, 4e-7 on t with Dopri8).
RTOL_STOPPED = 1e-5

REFILL_STEPS = ("diffrax", "fused")


def mixed_batch(n_regular: int = 200, seed: int = 0):
    """Random BYOL-mode trajectories (002 Eqs 11-13) plus every kind of failure.

    - ``p0 < 0, s0 = 0``: ``dtau/dt ~ -p tau^2`` blows up in finite time (Riccati) -> BLOWUP at
      the bound 1e6;
    - ``alpha_p = 1e4``: dynamics so fast that 300 steps do not reach ``t1`` -> MAX_STEPS;
    - a NaN initial condition -> NONFINITE.
    """
    rng = np.random.default_rng(seed)
    p0 = np.concatenate([rng.uniform(0.01, 1.5, n_regular), [-0.5, -1.0, 0.5, 0.3, np.nan]])
    s0 = np.concatenate([rng.uniform(0.01, 1.0, n_regular), [0.0, 0.0, 0.5, 0.4, 0.2]])
    tau0 = np.concatenate([rng.uniform(0.0, 1.0, n_regular), [1.0, 2.0, 0.5, 0.5, 0.5]])
    alpha_p = np.concatenate([rng.uniform(0.5, 2.0, n_regular), [1.0, 1.0, 1e4, 1e4, 1.0]])
    beta = np.concatenate([rng.uniform(0.1, 1.0, n_regular), [0.4] * 5])
    eta = np.concatenate([rng.uniform(0.0, 0.1, n_regular), [0.0] * 5])
    sigma2 = np.concatenate([rng.uniform(0.0, 1.0, n_regular), [0.0] * 5])
    y0 = np.stack([p0, s0, tau0], axis=-1)
    return y0, ModeParameters(alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2)


def run(schedule, y0, args, ts, refill_step="auto", save_fn=None, dtype=np.float64, **options):
    options = dict(rtol=1e-7, atol=1e-10, bound=1e6, max_steps=300) | options
    options = ssl_odes.SolveOptions(schedule=schedule, refill_step=refill_step, **options)
    return ssl_odes.integrate(byol_modes_vector_field, y0, args, ts, dtype=dtype, options=options, save_fn=save_fn)


def assert_same_solution(refill, lockstep, rtol_same=RTOL_SAME):
    np.testing.assert_array_equal(refill.status, lockstep.status)
    np.testing.assert_array_equal(refill.num_steps, lockstep.num_steps)
    reached = np.asarray(lockstep.status) == Status.OK
    np.testing.assert_allclose(refill.t_final[reached], lockstep.t_final[reached], rtol=rtol_same)
    np.testing.assert_allclose(refill.t_final[~reached], lockstep.t_final[~reached], rtol=RTOL_STOPPED)
    finite = np.isfinite(lockstep.y_final)
    np.testing.assert_array_equal(np.isfinite(refill.y_final), finite)
    ok = reached[:, None] & finite
    stopped = ~ok & finite
    np.testing.assert_allclose(np.asarray(refill.y_final)[ok], np.asarray(lockstep.y_final)[ok], rtol=rtol_same)
    np.testing.assert_allclose(np.asarray(refill.y_final)[stopped], np.asarray(lockstep.y_final)[stopped], rtol=RTOL_STOPPED)
    np.testing.assert_array_equal(np.isnan(refill.ys), np.isnan(lockstep.ys))
    np.testing.assert_allclose(np.nan_to_num(refill.ys), np.nan_to_num(lockstep.ys), rtol=rtol_same, atol=1e-14)


@pytest.mark.parametrize("refill_step", REFILL_STEPS)
def test_refill_equals_lockstep_on_a_batch_with_every_failure(refill_step):
    y0, args = mixed_batch()
    ts = np.array([0.0, 60.0])
    lockstep, refill = run("lockstep", y0, args, ts), run("refill", y0, args, ts, refill_step=refill_step)
    assert ssl_odes.status_counts(lockstep.status) == {"ok": 200, "max_steps": 2, "nonfinite": 1, "blowup": 2}
    assert_same_solution(refill, lockstep)
    assert np.isnan(refill.ys[-5:, -1]).all() and not np.isinf(refill.ys).any()


@pytest.mark.parametrize("refill_step", REFILL_STEPS)
@pytest.mark.parametrize("lanes, period, n", [(1, 1, 9), (8, 3, 37), (16, 8, 205)])
def test_refill_equals_lockstep_whatever_the_lanes_period_and_padding(monkeypatch, lanes, period, n, refill_step):
    """Few lanes for many trajectories: every lane is refilled many times, trajectories finish in
    the middle of a period, and the batch is padded to a bucket size (37 -> 48) whose padding must
    never be run or returned."""
    y0, args = mixed_batch()
    pick = np.random.default_rng(n).permutation(len(y0))[:n]
    y0, args = y0[pick], jax.tree_util.tree_map(lambda leaf: leaf[pick], args)
    ts = np.array([0.0, 40.0])
    lockstep = run("lockstep", y0, args, ts)
    # The schedule reads its settings from ssl_odes._core.refill (ssl_odes._integrate is an alias).
    monkeypatch.setattr(refill_module, "REFILL_LANES", lanes)
    monkeypatch.setattr(refill_module, "FUSED_REFILL_LANES", lanes)
    monkeypatch.setattr(refill_module, "REFILL_PERIOD", period)
    calls = []
    original = refill_module.refill_batch
    monkeypatch.setattr(refill_module, "refill_batch", lambda *a, **k: calls.append(a[11:]) or original(*a, **k))
    refill = run("refill", y0, args, ts, refill_step=refill_step)
    assert calls == [(lanes, period, refill_step)]
    assert refill.y_final.shape == (n, 3)
    assert_same_solution(refill, lockstep)


def test_refill_final_state_obeys_the_eq14_invariant_and_eq16_fixed_point():
    """Theory check of the refill answers themselves: SimSiam modes (tau = 1) at eta = 0 conserve
    c = s - p^2/alpha_p (Eq 14). With c > 0 the parabola stays above s = 0, so p converges to the
    only fixed point on it, g = 0: p*_+ = 1/(1 + sigma2) (Eq 16 at eta = 0)."""
    rng = np.random.default_rng(3)
    n = 64
    p0, alpha_p, sigma2 = rng.uniform(0.05, 1.0, n), rng.uniform(0.5, 2.0, n), rng.uniform(0.0, 1.0, n)
    s0 = p0**2 / alpha_p + rng.uniform(0.05, 0.5, n)
    args = ssl_odes.byol_modes.PhasePlaneParameters(alpha_p=alpha_p, eta=np.zeros(n), sigma2=sigma2, tau=np.ones(n))
    sol = ssl_odes.integrate(ssl_odes.byol_modes.phase_plane_vector_field, np.stack([p0, s0], -1), args,
                             np.array([0.0, 400.0]), dtype=np.float64, rtol=1e-10, atol=1e-12, schedule="refill")
    p, s = np.asarray(sol.y_final).T
    assert np.all(sol.status == Status.OK)
    np.testing.assert_allclose(s - p**2 / alpha_p, s0 - p0**2 / alpha_p, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(p, 1.0 / (1.0 + sigma2), rtol=1e-7)


def test_refill_with_a_single_output_time_and_a_save_function():
    """``ts = [t1]`` and a ``save_fn`` (diagnostics of the state) go through the refill schedule too."""
    y0, args = mixed_batch(40)

    def energy(t, y, a):
        return {"norm2": jnp.sum(y**2), "t": t}

    ts = np.array([25.0])
    lockstep = run("lockstep", y0, args, ts, save_fn=energy)
    refill = run("refill", y0, args, ts, save_fn=energy)  # auto: the fused step on a CPU
    np.testing.assert_array_equal(refill.status, lockstep.status)
    np.testing.assert_array_equal(np.isnan(refill.ys["norm2"]), np.isnan(lockstep.ys["norm2"]))
    ok = np.asarray(lockstep.status) == Status.OK
    np.testing.assert_allclose(refill.ys["norm2"][ok, 0], lockstep.ys["norm2"][ok, 0], rtol=RTOL_SAME)
    np.testing.assert_allclose(refill.ys["norm2"][ok, 0], np.sum(np.asarray(refill.y_final)[ok] ** 2, -1), rtol=1e-14)
    np.testing.assert_allclose(refill.ys["t"][ok, 0], 25.0)


def test_auto_schedule_picks_refill_for_final_states_and_lockstep_under_grad():
    """``auto``: final-state grids run on the refill schedule; a traced argument (here jax.grad)
    falls back to the differentiable lockstep schedule, whose gradient matches finite differences."""
    calls = []
    original = integrator.refill_batch

    def spy(*a, **k):
        calls.append("refill")
        return original(*a, **k)

    y0, args = mixed_batch(10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refill_module, "refill_batch", spy)
        run("auto", y0, args, np.array([0.0, 10.0]))
        assert calls == ["refill"]
        run("auto", y0, args, np.array([0.0, 5.0, 10.0]))
        assert calls == ["refill"]

        def final_p(eta):
            return ssl_odes.simulate_byol_modes(0.5, 0.3, eta=eta, t1=20.0, num_points=2, rtol=1e-11, atol=1e-13).final("p")

        grad = float(jax.grad(final_p)(0.02))
        assert calls == ["refill"]
    h = 1e-5
    np.testing.assert_allclose(grad, (float(final_p(0.02 + h)) - float(final_p(0.02 - h))) / (2 * h), rtol=1e-6)


def test_schedule_validation():
    y0, args = mixed_batch(3)
    with pytest.raises(ValueError, match="schedule must be one of"):
        run("fastest", y0, args, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"schedule='refill' saves only the final state"):
        run("refill", y0, args, np.array([0.0, 0.5, 1.0]))


def test_auto_schedule_keeps_lockstep_off_the_cpu(monkeypatch):
    """REFILL_LANES is tuned on a CPU; until a GPU run has compared the schedules, ``auto`` keeps a
    GPU on the full-width lockstep loop. (The platform is faked: CI has no GPU.)"""
    calls = []
    original = integrator.refill_batch
    monkeypatch.setattr(refill_module, "refill_batch", lambda *a, **k: calls.append("refill") or original(*a, **k))

    class FakeGpu:
        platform = "gpu"

    y0, args = mixed_batch(4)
    real_devices = jax.devices
    monkeypatch.setattr(jax, "devices", lambda *a: [FakeGpu()] if not a else real_devices(*a))
    run("auto", y0, args, np.array([0.0, 5.0]))
    assert calls == []
    monkeypatch.setattr(jax, "devices", real_devices)
    run("auto", y0, args, np.array([0.0, 5.0]))
    assert calls == ["refill"]


@pytest.mark.parametrize("solver, rtol_same", [("dopri5", RTOL_SAME), ("dopri8", 1e-9)])
def test_fused_step_equals_lockstep_for_other_tableaus(solver, rtol_same):
    """The fused step unrolls any single explicit tableau: Dopri5 (zeros in its rows, kept as
    ``0 * k``) and Dopri8 (14 stages) take lockstep's steps too, failures included. Dopri8's error
    estimate is a 14-term sum that cancels to ~rtol of its terms, so the order of summation moves
    each step size by ~1e-16 / rtol-ish amounts: measured 2.5e-10 on the final states."""
    y0, args = mixed_batch(60, seed=1)
    ts = np.array([0.0, 30.0])
    lockstep = run("lockstep", y0, args, ts, solver=solver)
    assert_same_solution(run("refill", y0, args, ts, refill_step="fused", solver=solver), lockstep, rtol_same)


def test_fused_step_in_float32_equals_lockstep():
    """float32 (the user's dtype) runs the fused step in float32: same statuses; values agree to
    the run's own tolerance (rtol 1e-4: float32 rounding of the error estimate moves step sizes,
    measured 4e-4 relative on a component of size 0.04), so 10x it."""
    y0, args = mixed_batch(60, seed=2)
    ts = np.array([0.0, 20.0])
    options = dict(dtype=np.float32, rtol=1e-4, atol=1e-6, bound=1e4)
    lockstep = run("lockstep", y0, args, ts, **options)
    fused = run("refill", y0, args, ts, refill_step="fused", **options)
    assert fused.y_final.dtype == np.float32
    np.testing.assert_array_equal(fused.status, lockstep.status)
    ok = np.asarray(lockstep.status) == Status.OK
    np.testing.assert_allclose(np.asarray(fused.y_final)[ok], np.asarray(lockstep.y_final)[ok], rtol=1e-3, atol=1e-4)


def test_auto_refill_step_is_fused_on_the_cpu_and_diffrax_for_other_solvers(monkeypatch):
    """``refill_step="auto"`` takes the fused step on a CPU for a single explicit tableau; a solver
    without one (here a non-ERK explicit solver, diffrax's Euler) keeps diffrax's step."""
    import diffrax

    calls = []
    original = refill_module.refill_batch
    monkeypatch.setattr(refill_module, "refill_batch", lambda *a, **k: calls.append(a[-1]) or original(*a, **k))
    y0, args = mixed_batch(6)
    run("refill", y0, args, np.array([0.0, 5.0]))
    run("refill", y0, args, np.array([0.0, 5.0]), refill_step="diffrax")
    assert calls == ["fused", "diffrax"]
    options = ssl_odes.SolveOptions(solver=diffrax.Euler())
    assert options.resolve_refill_step(platform="cpu") == "diffrax"
    assert ssl_odes.SolveOptions().resolve_refill_step(platform="gpu") == "diffrax"
    assert ssl_odes.SolveOptions(refill_step="fused").resolve_refill_step(platform="gpu") == "fused"


def test_refill_step_validation():
    import diffrax

    with pytest.raises(ValueError, match=r"refill_step must be one of \('auto', 'fused', 'diffrax'\); got refill_step='simd'"):
        ssl_odes.SolveOptions(refill_step="simd")
    with pytest.raises(ValueError, match=r"refill_step='fused' unrolls one explicit Butcher tableau"):
        ssl_odes.SolveOptions(solver=diffrax.Euler(), refill_step="fused").resolve_refill_step(platform="cpu")


def test_final_state_solver_in_diffeqsolve_matches_its_tableau():
    """FinalStateERK is a diffrax solver: in ``diffeqsolve`` (SaveAt(t1=True)) it takes Tsit5's
    steps and reaches Tsit5's final state up to rounding, with or without the FSAL carry."""
    import diffrax

    from ssl_odes._core.fused import FinalStateERK

    term = diffrax.ODETerm(lambda t, y, a: jnp.stack([y[1], -a * jnp.sin(y[0])]))
    y0 = jnp.array([1.0, 0.0])

    def solve(solver):
        return diffrax.diffeqsolve(term, solver, 0.0, 10.0, 0.01, y0, args=2.0,
                                   stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-11))

    reference = solve(diffrax.Tsit5())
    for solver in (FinalStateERK(diffrax.Tsit5()), FinalStateERK(diffrax.Tsit5(), carry_first_stage=True)):
        sol = solve(solver)
        assert int(sol.stats["num_steps"]) == int(reference.stats["num_steps"])
        np.testing.assert_allclose(sol.ys[-1], reference.ys[-1], rtol=1e-12)
    with pytest.raises(ValueError, match="FinalStateERK needs a diffrax explicit Runge-Kutta solver"):
        FinalStateERK(diffrax.Kvaerno5())
