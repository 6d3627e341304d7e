"""The refill schedule: final states of a batch, with lanes refilled as trajectories finish.

A fixed number of *lanes* step in lockstep with diffrax's own ``solver.step`` and
``controller.adapt_step_size``, and every ``REFILL_PERIOD`` steps a lane whose trajectory has
finished takes the next waiting one. The loop then costs about the *mean* number of steps per
trajectory instead of the maximum; for the random mode parameters of benchmark M1 that is 128
against 276. Each lane takes exactly the steps :func:`~ssl_odes._core.solve.solve` would take.

This reuses diffrax's step interfaces (``AbstractSolver.step``, ``init``, ``error_order``,
``PIDController.init`` / ``adapt_step_size``), so ``pyproject.toml`` pins diffrax to the minor
versions it was tested against.
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .fused import final_state_solver, rms_norm_elementwise, tree_all_finite, tree_max_abs
from .layout import in_split_layout
from .options import REFILL_STEPS
from .solve import FIRST_STEP, Solution, _all_finite, _max_abs, _resolve_solver, _status

__all__ = ["REFILL_LANES", "REFILL_PERIOD", "FUSED_REFILL_LANES", "refill_batch", "lane_program"]

#: Lanes of the refill schedule per device (fewer when the batch is smaller), and how many steps
#: they take between refills. Measured on a 2-core EPYC (benchmarks/m1_modes_cpu.py).
REFILL_LANES = 1024
REFILL_PERIOD = 8

#: Lanes for the fused step (``SolveOptions(refill_step="fused")``). Its cost is per lane, not
#: per kernel; end to end on M1 (10,000) 1024 lanes beat 128 and 256 (benchmarks/refill_step_hlo.py).
FUSED_REFILL_LANES = 1024


class _Lane(eqx.Module):
    """One lane of the refill schedule: the trajectory it holds (``index == n``: none) and the
    mutable state of diffrax's step loop for it."""

    index: jax.Array
    args: Any
    tprev: jax.Array
    tnext: jax.Array
    y: Any
    solver_state: Any
    controller_state: Any
    num_steps: jax.Array
    event: jax.Array


class LaneProgram(eqx.Module):
    """The per-lane functions of the refill schedule, vmapped by :func:`refill_batch` (and timed
    alone by ``benchmarks/refill_step_hlo.py``): ``start(index)`` loads trajectory ``index``,
    ``step(lane)`` takes one step of a running lane, ``running(lane)`` says whether it still runs."""

    start: Any
    step: Any
    running: Any
    field: Any
    save: Any
    y0_split: Any
    merge: Any


def lane_program(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, step="diffrax"):
    """The lane functions of :func:`refill_batch` (traced inside its ``jit``).

    ``step="diffrax"``: the solver's own ``step`` and ``PIDController.adapt_step_size`` with
    diffrax's defaults, the state kept by one select per accepted step and the whole lane by one
    select per running lane. ``step="fused"``: the same steps through
    :class:`~ssl_odes._core.fused.FinalStateERK` (the solver's tableau, unrolled, no dense
    output) and a ``PIDController`` whose norm is :func:`~ssl_odes._core.fused.rms_norm_elementwise`
    (the same RMS norm, elementwise over the split layout); a lane that is not running keeps its
    state through one select per field, and the event is recomputed from the state (it is always
    ``out_of_bounds(y)``, so nothing else is carried for it).
    """
    if step not in REFILL_STEPS[1:]:
        raise ValueError(f"step must be one of {REFILL_STEPS[1:]}; got step={step!r}")
    solver = _resolve_solver(solver)
    field, save, y0_split, merge = in_split_layout(vector_field, save_fn, y0)
    term = diffrax.ODETerm(field)
    if step == "fused":
        fused = final_state_solver(solver)
        if fused is None:
            raise ValueError(f"step='fused' needs an explicit Runge-Kutta solver with one Butcher tableau; got {solver!r}")
        solver = fused
        controller = diffrax.PIDController(rtol=rtol, atol=atol, norm=rms_norm_elementwise)
        all_finite, max_abs = tree_all_finite, tree_max_abs
    else:
        controller = diffrax.PIDController(rtol=rtol, atol=atol)
        all_finite, max_abs = _all_finite, _max_abs
    error_order = solver.error_order(term)
    t0 = jnp.zeros((), ts.dtype)
    t1 = ts[-1]
    t1_floor = t1
    for _ in range(100):  # diffrax's threshold for rounding the last step onto t1
        t1_floor = jnp.nextafter(t1_floor, -jnp.inf)
    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    n_valid = jnp.sum(valid)
    take_row = lambda tree, i: jax.tree_util.tree_map(lambda leaf: leaf[i], tree)

    def out_of_bounds(y):  # the event of solve(), checked (as diffrax does) at t0 and after every step
        return ~all_finite(y) | (max_abs(y) > bound)

    def start(index):
        y, a = take_row(y0_split, jnp.minimum(index, n - 1)), take_row(args, jnp.minimum(index, n - 1))
        tnext, controller_state = controller.init(term, t0, t1, y, jnp.asarray(FIRST_STEP, ts.dtype), a, solver.func,
                                                  error_order)
        tnext = jnp.minimum(tnext, t1)
        return _Lane(index=index, args=a, tprev=t0, tnext=tnext, y=y, solver_state=solver.init(term, t0, tnext, y, a),
                     controller_state=controller_state, num_steps=jnp.zeros((), jnp.int32), event=out_of_bounds(y))

    def running(lane):
        return (lane.index < n_valid) & (lane.tprev < t1) & (lane.num_steps < max_steps) & ~lane.event

    def attempt(lane):
        """One step of diffrax's loop body: the step, NaN errors as inf, the controller, the clip onto t1."""
        y1, y_error, _, solver_state, _ = solver.step(term, lane.tprev, lane.tnext, lane.y, lane.args,
                                                      lane.solver_state, False)
        y_error = jax.tree_util.tree_map(lambda e: jnp.where(jnp.isnan(e), jnp.inf, e), y_error)
        keep, tprev, tnext, _, controller_state, _ = controller.adapt_step_size(
            lane.tprev, lane.tnext, lane.y, y1, lane.args, y_error, error_order, lane.controller_state)
        tprev = jnp.minimum(tprev, t1)
        tnext = jnp.where(tnext > t1_floor, jnp.where(keep, t1, tprev + 0.5 * (t1 - tprev)), tnext)
        return keep, y1, solver_state, tprev, tnext, controller_state

    def step_diffrax(lane):
        keep, y1, solver_state, tprev, tnext, controller_state = attempt(lane)
        keep_if = lambda new, old: jnp.where(keep, new, old)
        y = jax.tree_util.tree_map(keep_if, y1, lane.y)
        solver_state = jax.tree_util.tree_map(keep_if, solver_state, lane.solver_state)
        event = out_of_bounds(y)
        stepped = _Lane(index=lane.index, args=lane.args, tprev=tprev, tnext=tnext, y=y, solver_state=solver_state,
                        controller_state=controller_state, num_steps=lane.num_steps + 1, event=event)
        active = running(lane)
        return jax.tree_util.tree_map(lambda new, old: jnp.where(active, new, old), stepped, lane)

    def step_fused(lane):
        active = running(lane)
        keep, y1, solver_state, tprev, tnext, controller_state = attempt(lane)
        accept = active & keep
        if_accepted = lambda new, old: jnp.where(accept, new, old)  # noqa: E731
        if_active = lambda new, old: jnp.where(active, new, old)  # noqa: E731
        y = jax.tree_util.tree_map(if_accepted, y1, lane.y)
        return _Lane(index=lane.index, args=lane.args, tprev=if_active(tprev, lane.tprev),
                     tnext=if_active(tnext, lane.tnext), y=y,
                     solver_state=jax.tree_util.tree_map(if_accepted, solver_state, lane.solver_state),
                     controller_state=jax.tree_util.tree_map(if_active, controller_state, lane.controller_state),
                     num_steps=lane.num_steps + active.astype(jnp.int32), event=out_of_bounds(y))

    return LaneProgram(start=start, step=step_fused if step == "fused" else step_diffrax, running=running, field=field,
                       save=save, y0_split=y0_split, merge=merge)


#: XLA options of the fused step's program. Its stage chain compiles to a few long elementwise
#: loops over the lanes, which run 1.5x faster with 512-bit vectors where the CPU has them
#: (XLA's default prefers 256; a CPU without AVX-512 uses what it has).
FUSED_COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


def refill_batch(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, lanes, period,
                 step="diffrax"):
    """:func:`_refill_batch`, compiled with :data:`FUSED_COMPILER_OPTIONS` for ``step="fused"``.

    Called inside another trace (the ``shard_map`` of :func:`~ssl_odes._core.sharding.solve_sharded`)
    it is inlined into the caller's program, and JAX accepts compiler options only on a top-level
    ``jit``: there the options are the caller's (the values and steps are the same either way)."""
    traced = any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves((y0, args, valid, ts)))
    run = _refill_batch_fused if step == "fused" and not traced else _refill_batch_diffrax
    return run(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, lanes, period, step)


def _refill_batch(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, lanes, period,
                  step="diffrax"):
    """Final-state integration of a batch with lanes that are refilled as trajectories finish.

    ``ts`` is ``[t1]`` or ``[0, t1]``. Each lane runs exactly the loop body of
    ``diffrax.diffeqsolve`` (``solver.step``, NaN errors counted as infinite,
    ``controller.adapt_step_size``, the step clipped to ``t1`` within 100 ulp, the state kept only
    on accepted steps) and stops, like :func:`solve`, when it reaches ``t1``, when ``max_steps``
    steps are spent, or when the state leaves ``|y| <= bound`` or is not finite. Every ``period``
    steps, finished lanes write their final state and take the next trajectories waiting. The
    saved initial point (``ts = [0, t1]``) is the initial state itself. ``valid`` marks the
    real trajectories, a prefix of the batch (the rest is bucket padding and is never run).
    ``step`` picks the lane step (:func:`lane_program`): ``"diffrax"`` or ``"fused"``.
    """
    program = lane_program(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, step)
    start, step, running = program.start, program.step, program.running
    field, save, y0_split, merge = program.field, program.save, program.y0_split, program.merge
    t0 = jnp.zeros((), ts.dtype)
    t1 = ts[-1]
    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    n_valid = jnp.sum(valid)

    def select(mask, new, old):
        return jax.tree_util.tree_map(lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b), new, old)

    def body(carry):
        pool, waiting, out = carry
        pool = jax.lax.fori_loop(0, period, lambda _, p: jax.vmap(step)(p), pool)
        finished = (pool.index < n) & ~jax.vmap(running)(pool)
        slot = jnp.where(finished, pool.index, n)  # n: out of range, dropped by the scatter
        out = jax.tree_util.tree_map(lambda o, v: o.at[slot].set(v, mode="drop"), out,
                                     (pool.y, pool.tprev, pool.num_steps, pool.event))
        free = finished | (pool.index >= n)
        candidate = waiting + jnp.cumsum(free) - 1
        refill = free & (candidate < n_valid)
        index = jnp.where(refill, candidate, jnp.where(finished, n, pool.index))
        pool = select(refill, jax.vmap(start)(index), eqx.tree_at(lambda p: p.index, pool, index))
        return pool, waiting + jnp.sum(refill), out

    width = min(int(lanes), n)
    first = jnp.where(jnp.arange(width) < n_valid, jnp.arange(width), n)
    out = (
        jax.tree_util.tree_map(lambda leaf: jnp.full_like(leaf, jnp.nan), y0_split),
        jnp.zeros((n,), ts.dtype),
        jnp.zeros((n,), jnp.int32),
        jnp.zeros((n,), bool),
    )
    carry = (jax.vmap(start)(first), jnp.minimum(width, n_valid), out)
    _, _, (y_final, t_final, num_steps, event) = jax.lax.while_loop(lambda c: jnp.any(c[0].index < n), body, carry)

    def finish(y0_i, args_i, y_i, t_i, event_i):
        # Saved points as diffeqsolve records them: t = 0 once a step has been accepted (t_i > 0),
        # t1 when it was reached without an event; NaN otherwise.
        reached = ~event_i & (t_i >= t1)
        final_finite = _all_finite(y_i)
        nan_unless = lambda flag, tree: jax.tree_util.tree_map(lambda leaf: jnp.where(flag, leaf, jnp.nan), tree)
        points = [nan_unless(reached, save(t1, y_i, args_i))]
        if ts.shape[0] == 2:
            points.insert(0, nan_unless(t_i > t0, save(t0, y0_i, args_i)))
        saved = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *points)
        status = _status(reached=reached, event=event_i, out_of_steps=~reached & ~event_i,
                         saved_finite=_all_finite(saved), final_finite=final_finite,
                         end_finite=final_finite & _all_finite(field(t_i, y_i, args_i)))
        saved = jax.tree_util.tree_map(lambda leaf: jnp.where(jnp.isfinite(leaf), leaf, jnp.nan), saved)
        return saved, status

    ys, status = jax.vmap(finish)(y0_split, args, y_final, t_final, event)
    return Solution(ys=ys, status=status, t_final=t_final, y_final=jax.vmap(merge)(y_final), num_steps=num_steps)




_refill_batch_diffrax = eqx.filter_jit(_refill_batch)
_refill_batch_fused = eqx.filter_jit(_refill_batch, compiler_options=FUSED_COMPILER_OPTIONS)
