"""One trajectory through diffrax: :func:`solve`, the :class:`Status` codes, :class:`Solution`.

:func:`solve` integrates **one** trajectory of ``dy/dt = vector_field(t, y, args)`` from
``t = 0``. It is pure JAX, so it can be ``jit``-ed, ``vmap``-ed (the lockstep schedule of
:mod:`~ssl_odes._core.batching` does exactly that) and differentiated with ``jax.grad``.

Defaults: Tsit5 (5th-order explicit Runge-Kutta) with diffrax's PID step-size controller, output
on the caller's time grid ``ts``, first step ``FIRST_STEP``. Any diffrax solver object may be
passed, implicit ones such as ``diffrax.Kvaerno5()`` included.

Every trajectory gets a :class:`Status`. A trajectory that fails never raises: its saved states
after the failure are NaN (never ``inf``) and its status says why.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .options import DEFAULT_MAX_STEPS, SOLVERS, _solver, default_bound, default_tolerances

__all__ = ["FIRST_STEP", "Status", "Solution", "solve", "status_counts", "default_tolerances", "default_bound",
           "DEFAULT_MAX_STEPS", "SOLVERS"]

#: Size of the first attempted step. ``diffrax.diffeqsolve(dt0=None)`` runs Hairer's initial-step
#: heuristic only for a bare ``ODETerm``; it wraps its terms first, so it always starts from 0.01
#: (diffrax 0.7). We pass the value explicitly so that both schedules (and future diffrax
#: versions) take identical steps; the PID controller adapts it within a few steps.
FIRST_STEP = 0.01


def _resolve_solver(solver: str | diffrax.AbstractSolver | None) -> diffrax.AbstractSolver:
    return diffrax.Tsit5() if solver is None else _solver(solver)

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


def _identity(t, y, args):
    return y


def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _max_abs(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in leaves]))


def _status(*, reached, event, out_of_steps, saved_finite, final_finite, end_finite) -> jax.Array:
    """The :class:`Status` of one trajectory, shared by both schedules.

    ``reached``: it got to the last output time; ``event``: it stopped out of bounds or non-finite;
    ``out_of_steps``: the step budget ran out (the three exclude each other; none of them is a
    solver failure). ``saved_finite`` / ``final_finite`` / ``end_finite``: the saved outputs, the
    final state, and the final state with its time derivative are finite.
    """
    return jnp.where(
        reached,
        jnp.where(saved_finite, Status.OK, Status.NONFINITE),
        jnp.where(
            event,
            jnp.where(final_finite, Status.BLOWUP, Status.NONFINITE),
            jnp.where(out_of_steps, jnp.where(end_finite, Status.MAX_STEPS, Status.NONFINITE), Status.FAILED),
        ),
    ).astype(jnp.int32)


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
    solver: str | diffrax.AbstractSolver | None = None,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
) -> Solution:
    """Integrate one trajectory of ``dy/dt = vector_field(t, y, args)`` from ``t = 0``.

    Pure JAX: safe under ``jit``, ``vmap`` and ``jax.grad`` (reverse mode goes through diffrax's
    recursive-checkpoint adjoint). ``ts`` is the output grid (``0 <= ts[0] < ... < ts[-1]``).

    ``save_fn(t, y, args) -> pytree``, when given, is what is saved at each output time instead
    of the state (diagnostics of a large state: memory stays flat in the state's size); the
    status then checks the saved values, the final state and its derivative for finiteness.

    ``solver`` is a name in :data:`SOLVERS` (default ``"tsit5"``) or any diffrax solver.
    """
    solver = _resolve_solver(solver)

    def out_of_bounds(t, y, args, **kwargs):
        return jnp.logical_or(~_all_finite(y), _max_abs(y) > bound)

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        solver,
        t0=jnp.zeros((), ts.dtype),
        t1=ts[-1],
        dt0=jnp.asarray(FIRST_STEP, ts.dtype),
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
    status = _status(
        reached=result == diffrax.RESULTS.successful,
        event=result == diffrax.RESULTS.event_occurred,
        out_of_steps=result == diffrax.RESULTS.max_steps_reached,
        saved_finite=_all_finite(ys),
        final_finite=_all_finite(y_final),
        end_finite=end_finite,
    )
    # diffrax fills the grid points it never reached with inf: report them as NaN.
    ys = jax.tree_util.tree_map(lambda leaf: jnp.where(jnp.isfinite(leaf), leaf, jnp.nan), ys)
    return Solution(ys=ys, status=status, t_final=t_final, y_final=y_final, num_steps=sol.stats["num_steps"].astype(jnp.int32))


def status_counts(status: Any) -> dict[str, int]:
    """Count trajectories per status name, e.g. ``{"ok": 98, "blowup": 2}`` (zeros omitted)."""
    values, counts = np.unique(np.asarray(status), return_counts=True)
    return {Status(int(v)).name.lower(): int(c) for v, c in zip(values, counts)}

