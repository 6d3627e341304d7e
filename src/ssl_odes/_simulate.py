"""The thin view every ``simulate_*`` function ends with: flatten the batch, integrate, label.

A simulator validates its parameters (``_params``), broadcasts them to a batch shape, builds
``y0`` and ``args`` as pytrees whose leaves are ``[*batch, *state]``, and hands them here with its
vector field. This module reshapes to one flat batch axis, calls the package's one integrator
(:func:`ssl_odes._integrate.integrate`) and returns a :class:`~ssl_odes.Trajectory` with batch
axes first, then time, then state axes.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ._integrate import default_bound, default_tolerances, integrate
from ._core.trajectory import Trajectory

__all__ = ["run_flow"]


def run_flow(
    vector_field: Callable[[Any, Any, Any], Any],
    y0: Any,
    args: Any,
    *,
    batch_shape: tuple[int, ...],
    ts: np.ndarray,
    dtype: np.dtype,
    outputs: Callable[[Any], Mapping[str, jax.Array]],
    params: Mapping[str, np.ndarray],
    flow: str,
    solver_options: Mapping[str, Any],
    settings: Mapping[str, Any] = (),
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
) -> Trajectory:
    """Integrate a batch of one flow and package it as a :class:`Trajectory`.

    ``y0`` and ``args`` are pytrees whose leaves have shape ``batch_shape + state_shape``;
    ``outputs`` maps the saved pytree (leaves ``[*batch, time, ...]``) to named variables. The
    saved pytree is the state, or ``save_fn(t, y, args)`` when given (e.g. eigenvalue diagnostics
    of a large matrix state, so that memory does not grow with the state).
    """
    batch_ndim = len(batch_shape)
    n = math.prod(batch_shape)

    def flatten(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.reshape((n,) + leaf.shape[batch_ndim:])

    def unflatten(leaf):
        return leaf.reshape(tuple(batch_shape) + leaf.shape[1:])

    default_rtol, default_atol = default_tolerances(dtype)
    options = dict(solver_options)
    options["rtol"] = default_rtol if options.get("rtol") is None else options["rtol"]
    options["atol"] = default_atol if options.get("atol") is None else options["atol"]
    options["bound"] = default_bound(dtype) if options.get("bound") is None else options["bound"]
    solution = integrate(
        vector_field,
        jax.tree_util.tree_map(flatten, y0),
        jax.tree_util.tree_map(flatten, args),
        ts,
        dtype=dtype,
        save_fn=save_fn,
        **options,
    )
    ys = jax.tree_util.tree_map(unflatten, solution.ys)
    settings = dict(settings)
    settings.update(options)
    return Trajectory(
        t=jnp.asarray(ts, dtype),
        variables=dict(outputs(ys)),
        status=unflatten(solution.status),
        num_steps=unflatten(solution.num_steps),
        params=dict(params),
        flow=flow,
        dtype=np.dtype(dtype).name,
        settings=tuple(sorted(settings.items())),
    )
