"""The package's one ODE integrator: a thin, status-reporting wrapper around diffrax.

Every flow in ``ssl_odes`` is a pure vector field ``vector_field(t, y, args) -> dy/dt`` over a
pytree state. This module is the only place that turns a vector field into a trajectory:

* :func:`solve` integrates **one** trajectory. It is pure JAX, so it can be ``jit``-ed,
  ``vmap``-ed (the sweep module does exactly that) and differentiated with ``jax.grad``.
* :func:`integrate` integrates a **batch** (leading axis of ``y0`` and ``args``): it ``vmap``-s
  :func:`solve` under one cached ``jit`` and pads the batch to a few bucket sizes so that a
  notebook calling it with 7, then 9, then 12 trajectories compiles once.

Defaults: Tsit5 (5th-order explicit Runge-Kutta) with diffrax's PID step-size controller, output
on the caller's time grid ``ts`` (integration starts at ``t = 0``), first step ``FIRST_STEP``.

Two schedules run a batch, both built from diffrax's own solver and controller, and both take
exactly the same steps for each trajectory:

* **lockstep** (``jit(vmap(diffrax.diffeqsolve))``): every trajectory of the batch advances in one
  vectorised while-loop, which therefore runs as many iterations as the slowest trajectory
  needs. It saves on any grid and is differentiable (``jax.grad``).
* **refill** (:func:`_refill_batch`, used by :func:`integrate` on CPUs when only the final state
  is asked for, ``ts = [t1]`` or ``[0, t1]``, and nothing is traced): a fixed number of *lanes*
  step in lockstep with diffrax's ``solver.step`` / ``controller.adapt_step_size``, and every
  ``REFILL_PERIOD`` steps a lane whose trajectory has finished takes the next waiting one. The
  loop then costs about the *mean* number of steps per trajectory instead of the maximum; for
  the random mode parameters of benchmark M1 that is 128 against 276.

Small per-trajectory states (at most ``SPLIT_SIZE`` numbers per leaf, e.g. the 3-vector of a
BYOL mode) are integrated as separate scalar leaves ("structure of arrays"): after ``vmap``
each becomes one contiguous vector over the batch, which XLA vectorises about 1.6x better
than strided columns of a ``[batch, 3]`` array. The vector field still sees its usual shapes.

Every trajectory gets a :class:`Status`. A trajectory that fails never raises and never takes
the others of its batch down with it: its saved states after the failure are NaN (never ``inf``)
and its status says why.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
from typing import Any, Callable, Iterator, Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = [
    "FIRST_STEP",
    "Status",
    "Solution",
    "solve",
    "integrate",
    "status_counts",
    "default_tolerances",
    "default_bound",
    "DEFAULT_MAX_STEPS",
    "use_devices",
]

#: Default step budget per trajectory (accepted plus rejected steps). Typical runs of the papers'
#: flows take a few hundred steps; a finite-time singularity (e.g. the Riccati blow-up of Eq 13
#: at ``s = 0, p < 0``) exhausts any budget, so sweeps should also pass a ``bound``.
DEFAULT_MAX_STEPS = 16_384

#: Size of the first attempted step. ``diffrax.diffeqsolve(dt0=None)`` runs Hairer's initial-step
#: heuristic only for a bare ``ODETerm``; it wraps its terms first, so it always starts from 0.01
#: (diffrax 0.7). We pass the value explicitly so that both schedules (and future diffrax
#: versions) take identical steps; the PID controller adapts it within a few steps.
FIRST_STEP = 0.01

#: Lanes of the refill schedule per device (fewer when the batch is smaller), and how many steps
#: they take between refills. Measured on a 2-core EPYC (benchmarks/m1_modes_cpu.py).
REFILL_LANES = 1024
REFILL_PERIOD = 8

#: Leaves with at most this many numbers per trajectory are split into scalar leaves.
SPLIT_SIZE = 16

#: The explicit Runge-Kutta methods of diffrax a simulator can name (``solver="dopri8"``).
SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}


def _resolve_solver(solver: str | diffrax.AbstractSolver | None) -> diffrax.AbstractSolver:
    if solver is None:
        return diffrax.Tsit5()
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {tuple(SOLVERS)} or a diffrax solver; got solver={solver!r}")
        return SOLVERS[solver]()
    return solver


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


def _split_layout(y0: Any) -> tuple[Any, Callable[[Any], Any], Callable[[Any], Any]]:
    """Structure-of-arrays view of a batched state (see the module docstring).

    Returns ``(y0_split, merge, split)``: ``y0_split`` has every small leaf ``[batch, *shape]``
    replaced by a tuple of ``prod(shape)`` leaves ``[batch]``; ``merge`` / ``split`` convert one
    *unbatched* state between the two forms (they are used inside ``vmap``), and ``merge`` also
    accepts extra leading axes (``[time]``) on the split leaves.
    """
    leaves, treedef = jax.tree_util.tree_flatten(y0)
    shapes = [leaf.shape[1:] for leaf in leaves]
    small = [0 < int(np.prod(shape)) <= SPLIT_SIZE for shape in shapes]

    def split(tree):
        parts = jax.tree_util.tree_leaves(tree)
        return [tuple(leaf.reshape(leaf.shape[: leaf.ndim - len(shape)] + (-1,))[..., i] for i in range(int(np.prod(shape))))
                if is_small else leaf for leaf, shape, is_small in zip(parts, shapes, small)]

    def merge(parts):
        merged = [jnp.stack(part, axis=-1).reshape(part[0].shape + shape) if is_small else part
                  for part, shape, is_small in zip(parts, shapes, small)]
        return jax.tree_util.tree_unflatten(treedef, merged)

    y0_split = [tuple(leaf.reshape(leaf.shape[0], -1)[:, i] for i in range(int(np.prod(shape)))) if is_small else leaf
                for leaf, shape, is_small in zip(leaves, shapes, small)]
    return y0_split, merge, split


def _in_split_layout(vector_field, save_fn, y0):
    """The vector field, saving function and initial state of the split layout, and ``merge``."""
    y0_split, merge, split = _split_layout(y0)

    def field(t, y, args):
        return split(vector_field(t, merge(y), args))

    def save(t, y, args):
        return merge(y) if save_fn is None else save_fn(t, merge(y), args)

    return field, save, y0_split, merge


@eqx.filter_jit
def _solve_batch(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn):
    """Lockstep schedule: ``vmap`` of :func:`solve` (``valid`` is unused: padding is integrated too)."""
    field, save, y0_split, merge = _in_split_layout(vector_field, save_fn, y0)

    def one(y0_i, args_i):
        return solve(field, y0_i, args_i, ts, rtol=rtol, atol=atol, bound=bound, max_steps=max_steps, solver=solver,
                     save_fn=save)

    solution = jax.vmap(one)(y0_split, args)
    y_final = jax.vmap(merge)(solution.y_final)
    return Solution(ys=solution.ys, status=solution.status, t_final=solution.t_final, y_final=y_final,
                    num_steps=solution.num_steps)


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


@eqx.filter_jit
def _refill_batch(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn, lanes, period):
    """Final-state integration of a batch with lanes that are refilled as trajectories finish.

    ``ts`` is ``[t1]`` or ``[0, t1]``. Each lane runs exactly the loop body of
    ``diffrax.diffeqsolve`` (``solver.step``, NaN errors counted as infinite,
    ``controller.adapt_step_size``, the step clipped to ``t1`` within 100 ulp, the state kept only
    on accepted steps) and stops, like :func:`solve`, when it reaches ``t1``, when ``max_steps``
    steps are spent, or when the state leaves ``|y| <= bound`` or is not finite. Every ``period``
    steps, finished lanes write their final state and take the next trajectories waiting. The
    saved initial point (``ts = [0, t1]``) is the initial state itself. ``valid`` marks the
    real trajectories, a prefix of the batch (the rest is bucket padding and is never run).
    """
    solver = _resolve_solver(solver)
    field, save, y0_split, merge = _in_split_layout(vector_field, save_fn, y0)
    term = diffrax.ODETerm(field)
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    error_order = solver.error_order(term)
    t0 = jnp.zeros((), ts.dtype)
    t1 = ts[-1]
    t1_floor = t1
    for _ in range(100):  # diffrax's threshold for rounding the last step onto t1
        t1_floor = jnp.nextafter(t1_floor, -jnp.inf)
    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    n_valid = jnp.sum(valid)
    take_row = lambda tree, i: jax.tree_util.tree_map(lambda leaf: leaf[i], tree)

    def start(index):
        y, a = take_row(y0_split, jnp.minimum(index, n - 1)), take_row(args, jnp.minimum(index, n - 1))
        tnext, controller_state = controller.init(term, t0, t1, y, jnp.asarray(FIRST_STEP, ts.dtype), a, solver.func,
                                                  error_order)
        tnext = jnp.minimum(tnext, t1)
        return _Lane(index=index, args=a, tprev=t0, tnext=tnext, y=y, solver_state=solver.init(term, t0, tnext, y, a),
                     controller_state=controller_state, num_steps=jnp.zeros((), jnp.int32), event=out_of_bounds(y))

    def out_of_bounds(y):  # the event of solve(), checked (as diffrax does) at t0 and after every step
        return ~_all_finite(y) | (_max_abs(y) > bound)

    def running(lane):
        return (lane.index < n_valid) & (lane.tprev < t1) & (lane.num_steps < max_steps) & ~lane.event

    def step(lane):
        y1, y_error, _, solver_state, _ = solver.step(term, lane.tprev, lane.tnext, lane.y, lane.args,
                                                      lane.solver_state, False)
        y_error = jax.tree_util.tree_map(lambda e: jnp.where(jnp.isnan(e), jnp.inf, e), y_error)
        keep, tprev, tnext, _, controller_state, _ = controller.adapt_step_size(
            lane.tprev, lane.tnext, lane.y, y1, lane.args, y_error, error_order, lane.controller_state)
        tprev = jnp.minimum(tprev, t1)
        tnext = jnp.where(tnext > t1_floor, jnp.where(keep, t1, tprev + 0.5 * (t1 - tprev)), tnext)
        keep_if = lambda new, old: jnp.where(keep, new, old)
        y = jax.tree_util.tree_map(keep_if, y1, lane.y)
        solver_state = jax.tree_util.tree_map(keep_if, solver_state, lane.solver_state)
        event = out_of_bounds(y)
        stepped = _Lane(index=lane.index, args=lane.args, tprev=tprev, tnext=tnext, y=y, solver_state=solver_state,
                        controller_state=controller_state, num_steps=lane.num_steps + 1, event=event)
        active = running(lane)
        return jax.tree_util.tree_map(lambda new, old: jnp.where(active, new, old), stepped, lane)

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


@eqx.filter_jit
def _solve_sharded(batch_fn, vector_field, y0, args, valid, options, mesh):
    # shard_map: each device runs its own loop over its slice of the batch, so a device whose
    # trajectories finish early does not wait in lockstep for the others.
    def per_device(y0_shard, args_shard, valid_shard):
        return batch_fn(vector_field, y0_shard, args_shard, valid_shard, *options)

    spec = PartitionSpec("batch")
    return jax.shard_map(per_device, mesh=mesh, in_specs=(spec, spec, spec), out_specs=spec, check_vma=False)(
        y0, args, valid)


_DEVICES: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("ssl_odes_devices", default=None)


@contextlib.contextmanager
def use_devices(devices: Sequence[Any] | int | None) -> Iterator[tuple]:
    """Shard every batch integrated inside the ``with`` block across ``devices``.

    ``devices`` is a sequence of JAX devices, a count (the first ``n`` of ``jax.devices()``), or
    ``None`` (all of ``jax.devices()``). Under ``jax.distributed`` (several processes),
    ``jax.devices()`` lists every process's devices and the batch is sharded across hosts.
    Each trajectory is integrated independently, so statuses and step counts equal the
    single-device ones and values agree up to floating-point rounding (about 1e-13 relative in
    float64: XLA vectorises a different number of trajectories per device differently).

    >>> import jax, numpy as np
    >>> with use_devices(1) as devices:
    ...     sol = integrate(lambda t, y, k: -k * y, np.ones(3), np.ones(3), np.linspace(0, 1, 2), dtype=np.float32)
    >>> len(devices), sol.ys.shape
    (1, (3, 2))
    """
    available = jax.devices()
    if devices is None:
        chosen = tuple(available)
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(f"devices must satisfy 1 <= devices <= {len(available)} (visible devices); got devices={devices}")
        chosen = tuple(available[: int(devices)])
    else:
        chosen = tuple(devices)
        if not chosen or not all(isinstance(d, jax.Device) for d in chosen):
            raise ValueError(f"devices must be a non-empty sequence of jax devices, an int or None; got devices={devices!r}")
    token = _DEVICES.set(chosen)
    try:
        yield chosen
    finally:
        _DEVICES.reset(token)


def _bucket(n: int) -> int:
    """Padded batch size: 2^k or 3 * 2^(k-1) up to 4096 (padding at most a third of it), then
    multiples of 1024 (padding under 20%). Few sizes means few compilations."""
    if n <= 2:
        return max(n, 1)
    if n > 4096:
        return -(-n // 1024) * 1024
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


SCHEDULES = ("auto", "lockstep", "refill")


def _final_only(ts: np.ndarray) -> bool:
    """Whether the output grid asks only for the final state: ``[t1]`` or ``[0, t1]``."""
    return ts.shape[0] == 1 or (ts.shape[0] == 2 and ts[0] == 0)


def _is_traced(tree: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


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
    solver: str | diffrax.AbstractSolver | None = None,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
    schedule: str = "auto",
) -> Solution:
    """Integrate a batch of trajectories; the leading axis of every leaf of ``y0``/``args`` is the batch.

    Host-level helper used by every ``simulate_*`` function: it casts floating leaves to
    ``dtype``, pads the batch to a bucket size (the padding is dropped again), and runs the
    cached, compiled batch. Parameters are assumed validated by the caller.

    ``schedule`` picks how the batch is run (see the module docstring): ``"lockstep"``
    (``vmap`` of :func:`solve`; any grid, differentiable), ``"refill"`` (final state only:
    ``ts`` must be ``[t1]`` or ``[0, t1]``; not reverse-differentiable) or ``"auto"``: refill
    when the grid asks only for the final state, the devices are CPUs and no argument is being
    traced by a JAX transformation, lockstep otherwise. (``REFILL_LANES`` is tuned on a CPU; a
    GPU wants far more lanes in flight, and no GPU run has measured the trade-off yet, so GPUs
    keep the full-width lockstep loop until ``benchmarks/m2_modes_gpu.py`` has compared them.) Both take the same steps; their answers differ only by
    floating-point rounding.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}; got schedule={schedule!r}")
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
    grid = np.asarray(ts, dtype)
    final_only = _final_only(grid)
    if schedule == "refill" and not final_only:
        raise ValueError(f"schedule='refill' saves only the final state: ts must be [t1] or [0, t1]; got ts={grid!r}")
    devices = _DEVICES.get()
    if schedule == "auto":
        platform = (devices[0] if devices else jax.devices()[0]).platform
        refill = final_only and platform == "cpu" and not _is_traced((y0, args, rtol, atol, bound))
        schedule = "refill" if refill else "lockstep"
    n_padded = _bucket(n)
    if devices is not None and len(devices) > 1:
        n_padded = -(-n_padded // len(devices)) * len(devices)
    y0, args = _pad(y0, n_padded), _pad(args, n_padded)
    valid = jnp.arange(n_padded) < n
    options = (
        jnp.asarray(grid, dtype),
        jnp.asarray(rtol, dtype),
        jnp.asarray(atol, dtype),
        jnp.asarray(min(bound, float(np.finfo(dtype).max)), dtype),
        int(max_steps),
        _resolve_solver(solver),
        save_fn,
    )
    if schedule == "refill":
        batch_fn = _refill_batch
        options = options + (REFILL_LANES, REFILL_PERIOD)
    else:
        batch_fn = _solve_batch
    if devices is None or len(devices) == 1:
        if devices is not None:
            y0, args, valid = jax.device_put((y0, args, valid), devices[0])
        solution = batch_fn(vector_field, y0, args, valid, *options)
    else:
        mesh = Mesh(np.asarray(devices), ("batch",))
        y0, args, valid = _shard((y0, args, valid), mesh)
        solution = _gather(_solve_sharded(batch_fn, vector_field, y0, args, valid, options, mesh))
    return jax.tree_util.tree_map(lambda leaf: leaf[:n], solution)


def _shard(tree: Any, mesh: Mesh) -> Any:
    """Place the batch axis of every leaf across the mesh (global arrays under jax.distributed)."""
    sharding = NamedSharding(mesh, PartitionSpec("batch"))
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    # Several processes: every process holds the same full batch (the grid is deterministic).
    return jax.tree_util.tree_map(
        lambda leaf: jax.make_array_from_callback(leaf.shape, sharding, lambda index: np.asarray(leaf)[index]), tree
    )


def _gather(tree: Any) -> Any:
    """Bring a batch-sharded result back whole to every process."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def status_counts(status: Any) -> dict[str, int]:
    """Count trajectories per status name, e.g. ``{"ok": 98, "blowup": 2}`` (zeros omitted)."""
    values, counts = np.unique(np.asarray(status), return_counts=True)
    return {Status(int(v)).name.lower(): int(c) for v, c in zip(values, counts)}

