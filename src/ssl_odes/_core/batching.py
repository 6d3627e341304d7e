"""A batch of trajectories: padding to bucket sizes, the lockstep schedule, and :func:`integrate`.

:func:`integrate` integrates a **batch** (leading axis of every leaf of ``y0`` and ``args``). It
pads the batch to a few bucket sizes so that a notebook calling it with 7, then 9, then 12
trajectories compiles once, resolves the schedule (:meth:`SolveOptions.resolve_schedule`, the
one place ``"auto"`` is decided) and runs one cached compiled program:

* **lockstep** (``jit(vmap(diffrax.diffeqsolve))``): every trajectory advances in one vectorised
  while-loop, which runs as many iterations as the slowest trajectory needs. Any output grid;
  differentiable.
* **refill** (:mod:`~ssl_odes._core.refill`): final states only; finished trajectories hand
  their lane to waiting ones, so the loop pays for the mean number of steps. Each lane takes
  the ``fused`` step (:mod:`~ssl_odes._core.fused`) or diffrax's own (``refill_step``).

Both take exactly the same steps for each trajectory. Inside ``use_devices(...)`` the batch is
sharded across devices (:mod:`~ssl_odes._core.sharding`).
"""

from __future__ import annotations

from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from . import refill as _refill
from .layout import in_split_layout
from .options import SCHEDULES, SolveOptions
from .sharding import current_devices, gather, shard, solve_sharded
from .solve import Solution, solve

__all__ = ["integrate", "SCHEDULES"]


@eqx.filter_jit
def _solve_batch(vector_field, y0, args, valid, ts, rtol, atol, bound, max_steps, solver, save_fn):
    """Lockstep schedule: ``vmap`` of :func:`solve` (``valid`` is unused: padding is integrated too)."""
    field, save, y0_split, merge = in_split_layout(vector_field, save_fn, y0)

    def one(y0_i, args_i):
        return solve(field, y0_i, args_i, ts, rtol=rtol, atol=atol, bound=bound, max_steps=max_steps, solver=solver,
                     save_fn=save)

    solution = jax.vmap(one)(y0_split, args)
    y_final = jax.vmap(merge)(solution.y_final)
    return Solution(ys=solution.ys, status=solution.status, t_final=solution.t_final, y_final=y_final,
                    num_steps=solution.num_steps)


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
    options: SolveOptions | None = None,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    bound: float | None = None,
    max_steps: int | None = None,
    solver: Any = None,
    schedule: str | None = None,
) -> Solution:
    """Integrate a batch of trajectories; the leading axis of every leaf of ``y0``/``args`` is the batch.

    The low-level entry point under every flow (``simulate`` calls it). It casts floating leaves
    to ``dtype``, pads the batch to a bucket size (the padding is dropped again), and runs the
    cached, compiled batch. Solver settings come as ``options=SolveOptions(...)`` or as the
    equivalent keywords; unset ones take the dtype's defaults (:meth:`SolveOptions.resolve`).

    >>> import numpy as np
    >>> sol = integrate(lambda t, y, k: -k * y, np.ones(3), np.arange(3.0), np.linspace(0, 1, 2), dtype=np.float32)
    >>> sol.ys.shape, [int(s) for s in sol.status]
    ((3, 2), [0, 0, 0])
    """
    dtype = np.dtype(dtype)
    options = SolveOptions.merge(options, rtol=rtol, atol=atol, bound=bound, max_steps=max_steps, solver=solver,
                                 schedule=schedule).resolve(dtype)

    def cast(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    y0 = jax.tree_util.tree_map(cast, y0)
    args = jax.tree_util.tree_map(cast, args)
    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    if n == 0:
        raise ValueError("integrate needs at least one trajectory; got a batch of size 0")
    grid = np.asarray(ts, dtype)
    devices = current_devices()
    platform = (devices[0] if devices else jax.devices()[0]).platform
    traced = _is_traced((y0, args))
    schedule = options.resolve_schedule(final_only=_final_only(grid), platform=platform, traced=traced)
    n_padded = _bucket(n)
    if devices is not None and len(devices) > 1:
        n_padded = -(-n_padded // len(devices)) * len(devices)
    y0, args = _pad(y0, n_padded), _pad(args, n_padded)
    valid = jnp.arange(n_padded) < n
    settings = (
        jnp.asarray(grid, dtype),
        jnp.asarray(options.rtol, dtype),
        jnp.asarray(options.atol, dtype),
        jnp.asarray(options.bound, dtype),
        int(options.max_steps),
        options.solver_object,
        save_fn,
    )
    if schedule == "refill":
        batch_fn = _refill.refill_batch
        step = options.resolve_refill_step(platform=platform)
        lanes = _refill.REFILL_LANES if step == "diffrax" else _refill.FUSED_REFILL_LANES
        settings = settings + (lanes, _refill.REFILL_PERIOD, step)
    else:
        batch_fn = _solve_batch
    if devices is None or len(devices) == 1:
        if devices is not None:
            y0, args, valid = jax.device_put((y0, args, valid), devices[0])
        solution = batch_fn(vector_field, y0, args, valid, *settings)
    else:
        mesh = Mesh(np.asarray(devices), ("batch",))
        y0, args, valid = shard((y0, args, valid), mesh)
        solution = gather(solve_sharded(batch_fn, vector_field, y0, args, valid, settings, mesh))
    return jax.tree_util.tree_map(lambda leaf: leaf[:n], solution)
