"""The contract every registered system keeps (issue "One declaration per system", item 7).

One parametrised test per property, over :data:`ssl_odes.REGISTRY`, as lineax's tests run every
solver through one registry: a system added to the registry gets all of this without new test
code. Each system runs its declared ``example`` (a small batch), on a short time window.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ssl_odes
from ssl_odes import Status
from ssl_odes._core import REQUIRED, Interval

SYSTEMS = sorted(ssl_odes.systems())
STATUS_CODES = {int(s) for s in Status}
# One xdist group per system: under ``pytest -n`` a system's tests share one worker, so the
# example's compiled program is reused by the dtype and save/load tests instead of compiled twice.
PER_SYSTEM = [pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in SYSTEMS]


def system_of(name):
    return ssl_odes.systems()[name]


def run_keywords(system, **overrides):
    """A short window: flows to t <= 5 on 5 points, maps 10 steps; the example may set its own."""
    example = dict(system.example)
    if system.discrete:
        example.setdefault("steps", 10)
    else:
        if "ts" not in example:
            example.setdefault("t1", min(system.t1, 5.0))
            example.setdefault("num_points", 5)
    example.update(overrides)
    return example


def run(system, **overrides):
    return ssl_odes.simulate(system, **run_keywords(system, **overrides))


def batched_scalar_parameters(system):
    """Declared batched numeric parameters (no core axes) present in the example or with a default."""
    out = []
    for p in system.parameters:
        if isinstance(p.domain, Interval) and p.batched and (p.name in system.example or p.default not in (None, REQUIRED)):
            out.append(p)
    return out


def test_registry_holds_every_paper_system():
    """The five papers' systems that exist so far are all declared (002, 003, 000 EMA at least)."""
    assert {"byol_modes", "byol_linear", "byol_reduced", "byol_modes_discrete", "simsiam_eigen",
            "simsiam_eigen_matrix", "ema_discrete"} <= set(SYSTEMS)


@pytest.mark.parametrize("name", PER_SYSTEM)
def test_example_runs_with_a_status_per_trajectory_and_batch_time_state_axes(name):
    system = system_of(name)
    res = run(system)
    batch = res.batch_shape
    assert np.asarray(res.status).shape == batch
    assert set(np.unique(np.asarray(res.status)).tolist()) <= STATUS_CODES
    assert res.status_counts() == {"ok": math.prod(batch)}, f"the example of {name} must run cleanly"
    n_time = np.asarray(res.t).shape[0]
    for key, value in res.variables.items():
        shape = np.shape(value)
        assert shape[: len(batch)] == batch, f"{name}.{key}: batch axes first, got {shape} for batch {batch}"
        assert shape[len(batch)] == n_time, f"{name}.{key}: time after the batch axes, got {shape}"
    assert np.all(np.diff(np.asarray(res.t)) > 0)


@pytest.mark.parametrize("name", PER_SYSTEM)
def test_a_failed_trajectory_is_nan_never_inf(name):
    """Force failures (a bound below the state, ``|y| > 1e-300`` after the first step): every
    failed trajectory says so in its status and holds NaN, never inf, after the failure.

    The bound is a traced value, so this reuses the example's compiled program; the step-budget
    failure (``max_steps``, a static setting: one more compilation per system) is the same code
    path after the loop, tested once in ``test_integrate.py::test_step_budget_exhaustion_is_reported``.
    A trajectory resting at ``y = 0`` (one in ``contrastive_blowup``'s example) cannot pass any
    bound and stays OK; at least half of each example must fail."""
    system = system_of(name)
    res = run(system, bound=1e-300)
    batch = res.batch_shape
    failed = np.asarray(res.status) != Status.OK
    assert failed.sum() >= max(1, failed.size // 2), f"{name}: expected failures, got {res.status_counts()}"
    for key, value in res.variables.items():
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.floating):
            assert not np.isinf(value).any(), f"{name}.{key} holds inf after a failure"
            last = value[(slice(None),) * len(batch) + (-1,)]
            assert np.isnan(last[failed]).all(), f"{name}.{key}: the last saved value of a failed run must be NaN"
            assert np.isfinite(last[~failed]).all(), f"{name}.{key}: a run that did not fail must stay finite"


@pytest.mark.parametrize("name", PER_SYSTEM)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_float64_are_honoured_and_recorded(name, dtype):
    system = system_of(name)
    res = run(system, dtype=dtype)
    assert res.dtype == dtype
    assert np.asarray(res.t).dtype == np.dtype(dtype)
    for key, value in res.variables.items():
        if jnp.issubdtype(jnp.asarray(value).dtype, jnp.floating):
            assert jnp.asarray(value).dtype == np.dtype(dtype), f"{name}.{key}"


#: Flows whose gradient runs through the real integrator (diffrax's checkpointed adaptive loop);
#: one per kind of state (a scalar-mode system and a matrix-free eigen system). Tracing that loop's
#: backward pass costs 15-70 s per system on CI's 2 cores, so every other flow differentiates
#: through :func:`euler_integrate` instead; maps always run their real ``iterate_map``.
GRADIENT_THROUGH_DIFFRAX = {"byol_modes", "simsiam_eigen"}
EULER_SUBSTEPS = 16


def euler_integrate(vector_field, y0, args, ts, *, dtype, options=None, save_fn=None, **_):
    """Stand-in for ``ssl_odes._core.batching.integrate`` in the gradient contract.

    Forward Euler, ``EULER_SUBSTEPS`` equal steps per interval of the output grid, run by the
    package's own :func:`~ssl_odes._core.discrete.iterate_map` (statuses, bound, NaN masking).
    It keeps what the contract is about -- that ``jax.grad`` passes through each system's
    parameter binding, initial state, vector field, save function and outputs -- and costs a
    fraction of the trace of diffrax's backward loop, which :data:`GRADIENT_THROUGH_DIFFRAX` and
    ``test_integrate.py::test_gradient_through_the_solver_matches_the_closed_form`` cover.
    """
    from ssl_odes._core.discrete import iterate_map
    from ssl_odes._core.options import SolveOptions
    from ssl_odes._core.solve import Solution

    dtype = np.dtype(dtype)
    options = SolveOptions.merge(options).resolve(dtype)
    cast = lambda leaf: jnp.asarray(leaf).astype(dtype) if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating) else jnp.asarray(leaf)  # noqa: E731
    y0, args = jax.tree_util.tree_map(cast, y0), jax.tree_util.tree_map(cast, args)
    grid = jnp.asarray(np.asarray(ts, dtype))
    save = save_fn if save_fn is not None else (lambda t, y, a: y)

    def time_of(k):  # step counter k (a float, t_step = 1) -> time on the grid
        i = jnp.minimum(jnp.floor(k / EULER_SUBSTEPS).astype(jnp.int32), grid.shape[0] - 2)
        h = (grid[i + 1] - grid[i]) / EULER_SUBSTEPS
        return grid[i] + (k - i * EULER_SUBSTEPS) * h, h

    def step(k, y, a):
        t, h = time_of(k)
        return jax.tree_util.tree_map(lambda y_, f_: y_ + h * f_, y, vector_field(t, y, a))

    def save_with_state(k, y, a):
        return save(time_of(k)[0], y, a), y

    (ys, states), status = iterate_map(step, y0, args, t_step=1.0, num_saves=grid.shape[0] - 1,
                                       save_every=EULER_SUBSTEPS, bound=options.bound, save_fn=save_with_state)
    n = status.shape[0]
    return Solution(ys=ys, status=status, t_final=jnp.full((n,), grid[-1]),
                    y_final=jax.tree_util.tree_map(lambda leaf: leaf[:, -1], states),
                    num_steps=jnp.full((n,), (grid.shape[0] - 1) * EULER_SUBSTEPS, jnp.int32))


@pytest.mark.parametrize("name", PER_SYSTEM)
def test_gradient_through_simulate_is_finite(name, monkeypatch):
    """``jax.grad`` of the final state with respect to a declared batched parameter is finite.

    Flows outside :data:`GRADIENT_THROUGH_DIFFRAX` integrate with :func:`euler_integrate`."""
    system = system_of(name)
    calls = []
    if not system.discrete and name not in GRADIENT_THROUGH_DIFFRAX:
        def counted(*a, **k):
            calls.append(1)
            return euler_integrate(*a, **k)

        monkeypatch.setattr("ssl_odes._core.batching.integrate", counted)
    candidates = batched_scalar_parameters(system)
    assert candidates, f"{name} declares no batched numeric parameter to differentiate"
    parameter = candidates[0]
    value = float(np.mean(system.example.get(parameter.name, parameter.default)))
    keywords = run_keywords(system)
    keywords.pop(parameter.name, None)

    def final_sum(x):
        res = ssl_odes.simulate(system, **{parameter.name: x}, **keywords)
        total = 0.0
        for leaf in res.variables.values():
            leaf = jnp.asarray(leaf)
            if jnp.issubdtype(leaf.dtype, jnp.floating):
                total = total + jnp.sum(jnp.where(jnp.isfinite(leaf), leaf, 0.0)[(slice(None),) * len(res.batch_shape) + (-1,)])
        return total

    grad = jax.grad(final_sum)(value)
    assert np.isfinite(float(grad)), f"d/d{parameter.name} of {name} is not finite: {grad}"
    if not system.discrete and name not in GRADIENT_THROUGH_DIFFRAX:
        assert calls, f"{name}: simulate did not go through ssl_odes._core.batching.integrate"


def bad_cases():
    for name in SYSTEMS:
        system = system_of(name)
        for parameter in system.parameters:
            for bad in parameter.domain.bad_values():
                if bad is None and parameter.default is None:
                    continue  # None means "unset" for an optional parameter
                yield pytest.param(name, parameter.name, bad, id=f"{name}-{parameter.name}-{bad!r}")


@pytest.mark.parametrize("name,parameter,bad", list(bad_cases()))
def test_every_declared_parameter_rejects_its_bad_values_by_name(name, parameter, bad):
    system = system_of(name)
    keywords = run_keywords(system)
    keywords[parameter] = bad
    with pytest.raises((ValueError, TypeError)) as info:
        ssl_odes.simulate(system, **keywords)
    assert parameter in str(info.value), f"the message must name {parameter!r}: {info.value}"


@pytest.mark.parametrize("name", PER_SYSTEM)
def test_sweep_round_trip_equals_direct_simulation(name):
    """``sweep`` over two values of a declared parameter gives the direct simulation's final values."""
    system = system_of(name)
    parameter = batched_scalar_parameters(system)[0]
    keywords = run_keywords(system)
    for p in batched_scalar_parameters(system):  # scalars for the fixed keywords: one batch axis per chunk
        if p.name in keywords:
            keywords[p.name] = float(np.ravel(keywords[p.name])[0])
    first = float(keywords.pop(parameter.name, parameter.default))
    second = first * 0.9 if first != 0 else 0.01
    values = np.array([first, second])
    ds = ssl_odes.sweep(system, {parameter.name: values}, progress=False, save="final", **keywords)
    direct = ssl_odes.simulate(system, **{parameter.name: values}, **keywords)
    assert ds.sizes[parameter.name] == 2
    np.testing.assert_array_equal(ds["status"].values, np.asarray(direct.status))
    for key in direct.variables:
        np.testing.assert_allclose(ds[key].values, np.asarray(direct.final(key)), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}.{key}")


@pytest.mark.parametrize("name", PER_SYSTEM)
def test_save_load_round_trips_bit_identically_and_to_xarray_labels_the_batch(name, tmp_path):
    system = system_of(name)
    res = run(system)
    back = ssl_odes.Trajectory.load(res.save(tmp_path / f"{name}.nc"))
    assert back.flow == res.flow and back.dtype == res.dtype and back.settings == res.settings
    np.testing.assert_array_equal(np.asarray(back.status), np.asarray(res.status))
    np.testing.assert_array_equal(np.asarray(back.t), np.asarray(res.t))
    assert set(back.variables) == set(res.variables) and set(back.params) == set(res.params)
    for key in res.variables:
        a, b = np.asarray(res.variables[key]), np.asarray(back.variables[key])
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    for key in res.params:
        np.testing.assert_array_equal(np.asarray(res.params[key]), back.params[key])
    ds = res.to_xarray()
    assert "status" in ds and ds.sizes["t"] == np.asarray(res.t).shape[0]
