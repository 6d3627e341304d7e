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


@eqx.filter_jit
def _solve_sharded(vector_field, y0, args, ts, rtol, atol, bound, max_steps, solver, save_fn, mesh):
    # shard_map: each device runs its own vmapped while-loop over its slice of the batch, so a
    # device whose trajectories finish early does not wait in lockstep for the others.
    def per_device(y0_shard, args_shard):
        return _solve_batch(vector_field, y0_shard, args_shard, ts, rtol, atol, bound, max_steps, solver, save_fn)

    spec = PartitionSpec("batch")
    return jax.shard_map(per_device, mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False)(y0, args)


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
    devices = _DEVICES.get()
    n_padded = _bucket(n)
    if devices is not None and len(devices) > 1:
        n_padded = -(-n_padded // len(devices)) * len(devices)
    y0, args = _pad(y0, n_padded), _pad(args, n_padded)
    options = (
        jnp.asarray(ts, dtype),
        jnp.asarray(rtol, dtype),
        jnp.asarray(atol, dtype),
        jnp.asarray(min(bound, float(np.finfo(dtype).max)), dtype),
        int(max_steps),
        solver,
        save_fn,
    )
    if devices is None or len(devices) == 1:
        if devices is not None:
            y0, args = jax.device_put((y0, args), devices[0])
        solution = _solve_batch(vector_field, y0, args, *options)
    else:
        mesh = Mesh(np.asarray(devices), ("batch",))
        y0, args = _shard((y0, args), mesh)
        solution = _gather(_solve_sharded(vector_field, y0, args, *options, mesh))
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

