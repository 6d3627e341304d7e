"""The package's one ODE integrator: a thin, status-reporting wrapper around diffrax.

Every flow in ``ssl_odes`` is a pure vector field ``vector_field(t, y, args) -> dy/dt`` over a
pytree state. This module is the only place that turns a vector field into a trajectory:

* :func:`solve` integrates **one** trajectory. It is pure JAX, so it can be ``jit``-ed,
  ``vmap``-ed (the sweep module does exactly that) and differentiated with ``jax.grad``.
* :func:`integrate` integrates a **batch** (leading axis of ``y0`` and ``args``): it ``vmap``-s
  :func:`solve` under one cached ``jit`` and pads the batch to a few bucket sizes so that a
  notebook calling it with 7, then 9, then 12 trajectories compiles once.

Defaults: Tsit5 (5th-order explicit Runge-Kutta) with diffrax's PID step-size controller, output
on the caller's time grid ``ts`` (integration starts at ``t = 0``).

Every trajectory gets a :class:`Status`. A trajectory that fails never raises and never takes
the others of its batch down with it: its saved states after the failure are NaN (never ``inf``)
and its status says why.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Status",
    "Solution",
    "solve",
    "integrate",
    "status_counts",
    "default_tolerances",
    "default_bound",
    "DEFAULT_MAX_STEPS",
]

#: Default step budget per trajectory (accepted plus rejected steps). Typical runs of the papers'
#: flows take a few hundred steps; a finite-time singularity (e.g. the Riccati blow-up of Eq 13
#: at ``s = 0, p < 0``) exhausts any budget, so sweeps should also pass a ``bound``.
DEFAULT_MAX_STEPS = 16_384


class Status(enum.IntEnum):
    """Outcome of one trajectory.

    ``OK``: reached the last output time. ``MAX_STEPS``: the step budget ``max_steps`` ran out
    first. ``NONFINITE``: the state or its time derivative became NaN/inf. ``BLOWUP``: some state
    entry exceeded the bound ``|y| > bound``. ``FAILED``: any other solver failure.
    """

    OK = 0
    MAX_STEPS = 1
    NONFINITE = 2
    BLOWUP = 3
    FAILED = 4

    @classmethod
    def describe(cls) -> str:
        return " ".join(f"{s.value}={s.name.lower()}" for s in cls)


class Solution(eqx.Module):
    """Raw output of :func:`solve` / :func:`integrate`.

    ``ys`` has the structure of ``y0`` with the time axis inserted after any batch axis
    (``[batch, time, ...]``); entries after a failure are NaN. ``t_final`` / ``y_final`` are the
    time and state where the solve stopped (``ts[-1]`` when the status is OK).
    """

    ys: Any
    status: jax.Array
    t_final: jax.Array
    y_final: Any
    num_steps: jax.Array


def default_tolerances(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` used when the caller gives none: tight in float64, loose in float32."""
    return (1e-8, 1e-10) if np.dtype(dtype) == np.float64 else (1e-5, 1e-7)


def default_bound(dtype: Any) -> float:
    """Default blow-up bound ``finfo(dtype).max ** (1/4)``.

    About 1.3e77 in float64 and 4.3e9 in float32: far above any physical value, yet low enough
    that a polynomial vector field of degree <= 3 cannot overflow before the bound triggers, so a
    blow-up is reported as ``BLOWUP`` instead of running out of steps among NaN evaluations.
    """
    return float(np.finfo(np.dtype(dtype)).max) ** 0.25


def _identity(t, y, args):
    return y


def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _max_abs(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in leaves]))


def solve(
    vector_field: Callable[[Any, Any, Any], Any],
    y0: Any,
    args: Any,
    ts: jax.Array,
    *,
    rtol: float | jax.Array,
    atol: float | jax.Array,
    bound: float | jax.Array,
    max_steps: int = DEFAULT_MAX_STEPS,
    solver: diffrax.AbstractSolver | None = None,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
) -> Solution:
    """Integrate one trajectory of ``dy/dt = vector_field(t, y, args)`` from ``t = 0``.

    Pure JAX: safe under ``jit``, ``vmap`` and ``jax.grad`` (reverse mode goes through diffrax's
    recursive-checkpoint adjoint). ``ts`` is the output grid (``0 <= ts[0] < ... < ts[-1]``).

    ``save_fn(t, y, args) -> pytree``, when given, is what is saved at each output time instead
    of the state (diagnostics of a large state: memory stays flat in the state's size); the
    status then checks the saved values, the final state and its derivative for finiteness.
    """
    solver = diffrax.Tsit5() if solver is None else solver

    def out_of_bounds(t, y, args, **kwargs):
        return jnp.logical_or(~_all_finite(y), _max_abs(y) > bound)

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        solver,
        t0=jnp.zeros((), ts.dtype),
        t1=ts[-1],
        dt0=None,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=save_fn or _identity), diffrax.SubSaveAt(t1=True)]),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        event=diffrax.Event(out_of_bounds),
        max_steps=max_steps,
        throw=False,
    )
    ys, y_last = sol.ys
    t_final = sol.ts[1][-1]
    y_final = jax.tree_util.tree_map(lambda leaf: leaf[-1], y_last)
    end_finite = _all_finite(y_final) & _all_finite(vector_field(t_final, y_final, args))

    result = sol.result
    status = jnp.where(
        result == diffrax.RESULTS.successful,
        jnp.where(_all_finite(ys), Status.OK, Status.NONFINITE),
        jnp.where(
            result == diffrax.RESULTS.event_occurred,
            jnp.where(_all_finite(y_final), Status.BLOWUP, Status.NONFINITE),
            jnp.where(
                result == diffrax.RESULTS.max_steps_reached,
                jnp.where(end_finite, Status.MAX_STEPS, Status.NONFINITE),
                Status.FAILED,
            ),
        ),
    ).astype(jnp.int32)
    # diffrax fills the grid points it never reached with inf: report them as NaN.
    ys = jax.tree_util.tree_map(lambda leaf: jnp.where(jnp.isfinite(leaf), leaf, jnp.nan), ys)
    return Solution(ys=ys, status=status, t_final=t_final, y_final=y_final, num_steps=sol.stats["num_steps"])


@eqx.filter_jit
def _solve_batch(vector_field, y0, args, ts, rtol, atol, bound, max_steps, solver, save_fn):
    def one(y0_i, args_i):
        return solve(
            vector_field, y0_i, args_i, ts, rtol=rtol, atol=atol, bound=bound, max_steps=max_steps, solver=solver,
            save_fn=save_fn,
        )

    return jax.vmap(one)(y0, args)


def _bucket(n: int) -> int:
    """Smallest size >= n of the form 2^k or 3 * 2^(k-1): padding is at most a third of it."""
    if n <= 2:
        return max(n, 1)
    size = 1 << (n - 1).bit_length()
    three_quarters = 3 * size // 4
    return three_quarters if three_quarters >= n else size


def _pad(tree: Any, n_padded: int) -> Any:
    def pad(leaf):
        n = leaf.shape[0]
        if n == n_padded:
            return leaf
        return jnp.concatenate([leaf, jnp.repeat(leaf[-1:], n_padded - n, axis=0)], axis=0)

    return jax.tree_util.tree_map(pad, tree)


def integrate(
    vector_field: Callable[[Any, Any, Any], Any],
    y0: Any,
    args: Any,
    ts: Any,
    *,
    dtype: Any,
    rtol: float | None = None,
    atol: float | None = None,
    bound: float | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    solver: diffrax.AbstractSolver | None = None,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
) -> Solution:
    """Integrate a batch of trajectories; the leading axis of every leaf of ``y0``/``args`` is the batch.

    Host-level helper used by every ``simulate_*`` function: it casts floating leaves to
    ``dtype``, pads the batch to a bucket size (the padding is dropped again), and runs the
    cached ``jit(vmap(solve))``. Parameters are assumed validated by the caller.
    """
    dtype = np.dtype(dtype)
    default_rtol, default_atol = default_tolerances(dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    bound = default_bound(dtype) if bound is None else bound

    def cast(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    y0 = jax.tree_util.tree_map(cast, y0)
    args = jax.tree_util.tree_map(cast, args)
    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    if n == 0:
        raise ValueError("integrate needs at least one trajectory; got a batch of size 0")
    n_padded = _bucket(n)
    solution = _solve_batch(
        vector_field,
        _pad(y0, n_padded),
        _pad(args, n_padded),
        jnp.asarray(ts, dtype),
        jnp.asarray(rtol, dtype),
        jnp.asarray(atol, dtype),
        jnp.asarray(min(bound, float(np.finfo(dtype).max)), dtype),
        int(max_steps),
        solver,
        save_fn,
    )
    return jax.tree_util.tree_map(lambda leaf: leaf[:n], solution)


def status_counts(status: Any) -> dict[str, int]:
    """Count trajectories per status name, e.g. ``{"ok": 98, "blowup": 2}`` (zeros omitted)."""
    values, counts = np.unique(np.asarray(status), return_counts=True)
    return {Status(int(v)).name.lower(): int(c) for v, c in zip(values, counts)}

