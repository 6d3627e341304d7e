"""``simulate(system, ...)``: the one pipeline every declared system runs through.

1. bind the keyword arguments to the system's declared parameters (an unknown or missing name is
   a ``TypeError``, as for a Python function);
2. validate each with :func:`~ssl_odes._core.params.validate` against its declared domain;
3. broadcast the batched parameters together (NumPy rules; batch axes first);
4. build the initial state and the arguments from the declaration;
5. integrate with diffrax (a flow, :func:`~ssl_odes._core.batching.integrate`) or scan (a map,
   :func:`~ssl_odes._core.discrete.iterate_map`), one status per trajectory;
6. package a :class:`~ssl_odes.Trajectory`: batch axes, then time, then state axes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import params as _p
from .options import SolveOptions
from .system import REQUIRED, System, Values, get_system
from .trajectory import Trajectory

__all__ = ["simulate", "bind"]


def bind(system: System, values: dict[str, Any], dtype: Any = None) -> Values:
    """Validate and broadcast ``values`` against ``system``'s declarations (steps 1-3 above)."""
    unknown = sorted(set(values) - set(system.parameter_names))
    if unknown:
        raise TypeError(
            f"{system.name} got unexpected parameter(s) {unknown}; its parameters: {list(system.parameter_names)}"
        )
    dtype = _p.resolve_dtype(dtype)
    given: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for parameter in system.parameters:
        value = values.get(parameter.name, parameter.default)
        if value is REQUIRED:
            raise TypeError(f"{system.name} missing required parameter {parameter.name!r} ({parameter.describe()})")
        if value is not None or parameter.default is not None:
            # None means "unset" only for a parameter whose default is None; elsewhere it is a bad value.
            value = _p.validate(parameter.name, value, parameter.domain)
        (given if parameter.batched else settings)[parameter.name] = value
    numeric = {k: v for k, v in given.items() if v is not None}
    core = {p.name: p.core_ndim for p in system.parameters}
    full, batch_shape = _p.broadcast(numeric, core) if numeric else ({}, ())
    bound = Values(params=full, settings=settings, given=numeric, batch_shape=batch_shape, dtype=dtype)
    filled = system.check(bound)
    if filled:
        # The system fills parameters left unset (e.g. tau0 = 0 for BYOL): validate and broadcast again.
        for name, value in filled.items():
            parameter = system.parameter(name)
            if given.get(name) is not None or not parameter.batched:
                raise ValueError(f"system {system.name!r} can only fill unset batched parameters; got {name!r}")
            numeric[name] = _p.validate(name, value, parameter.domain)
        full, batch_shape = _p.broadcast(numeric, core)
        bound = Values(params=full, settings=settings, given=numeric, batch_shape=batch_shape, dtype=dtype)
    return bound


def _flatten(tree: Any, batch_ndim: int, n: int, batch_shape: tuple[int, ...] = ()) -> Any:
    def flatten(leaf):
        leaf = jnp.asarray(leaf)
        if leaf.shape[:batch_ndim] != tuple(batch_shape):
            raise ValueError(f"a declared state or argument leaf must have the batch shape {tuple(batch_shape)} first; "
                             f"got a leaf of shape {leaf.shape} (build it with values.batch(...) or the broadcast parameters)")
        return leaf.reshape((n,) + leaf.shape[batch_ndim:])

    return jax.tree_util.tree_map(flatten, tree)


def simulate(
    system: System | str,
    /,
    *,
    t1: Any = None,
    num_points: Any = None,
    ts: Any = None,
    steps: Any = None,
    save_every: Any = 1,
    options: SolveOptions | None = None,
    dtype: Any = None,
    rtol: Any = None,
    atol: Any = None,
    max_steps: Any = None,
    bound: Any = None,
    solver: Any = None,
    schedule: Any = None,
    **values: Any,
) -> Trajectory:
    """Simulate a declared system over a batch of parameters.

    Args:
        system: a :class:`~ssl_odes.System`, or the name of a registered one (``"byol_modes"``).
        t1, num_points, ts: a flow's output grid, ``linspace(0, t1, num_points)`` (the system's
            defaults when unset) or an explicit increasing ``ts`` (integration starts at 0).
        steps, save_every: a discrete map's number of steps and saving period (``steps`` must be
            a multiple of ``save_every``); step ``k`` is at time ``k * dt`` (the system's
            ``time_step``, e.g. ``lr``).
        options: :class:`~ssl_odes.SolveOptions` (solver, tolerances, ``max_steps``, ``bound``,
            ``schedule``). A map uses only its ``bound``.
        dtype: ``float32`` or ``float64``; default JAX's default float.
        rtol, atol, max_steps, bound, solver, schedule: shortcuts for the same fields of
            ``options`` (give each setting one way only).
        **values: the system's declared parameters (``ssl-odes systems`` lists them).

    Returns:
        A :class:`~ssl_odes.Trajectory`, batch axes first, then time, then state axes, with one
        status per trajectory.

    >>> import ssl_odes
    >>> res = ssl_odes.simulate("byol_modes", p0=[0.1, 0.5], s0=0.3, t1=10.0, num_points=3)
    >>> res.p.shape, res.status_counts()
    ((2, 3), {'ok': 2})
    """
    system = get_system(system)
    options = SolveOptions.merge(options, rtol=rtol, atol=atol, max_steps=max_steps, bound=bound, solver=solver,
                                 schedule=schedule)
    bound_values = bind(system, values, dtype)
    dtype = bound_values.dtype
    resolved = options.resolve(dtype)
    settings = dict(bound_values.settings)
    field = system.field(settings)
    save_fn = system.save(settings) if system.save is not None else None
    y0 = system.initial_state(bound_values)
    args = system.args(bound_values)
    if system.save_args is not None:
        # Inputs of the diagnostics only (Theorem 1's constant, ...) travel beside the flow's args.
        args = (args, system.save_args(bound_values))
        field, save_fn = _flow_part(field), _with_save_args(save_fn)
    batch_shape = bound_values.batch_shape
    batch_ndim = len(batch_shape)
    n = math.prod(batch_shape)

    if system.discrete:
        if t1 is not None or num_points is not None or ts is not None:
            raise TypeError(f"{system.name} is a discrete map: give steps= and save_every=, not t1/num_points/ts")
        if steps is None:
            raise TypeError(f"{system.name} is a discrete map: give steps= (an integer >= 1)")
        steps = _p.validate("steps", steps, _p.Integer(1))
        save_every = _p.validate("save_every", save_every, _p.Integer(1))
        if steps % save_every:
            raise ValueError(f"steps must be a multiple of save_every; got steps={steps}, save_every={save_every}")
        dt = float(system.time_step(bound_values))
        times = dt * np.arange(0, steps + 1, save_every, dtype=np.float64)
        from .discrete import iterate_map

        flat_y0 = _flatten(_cast(y0, dtype), batch_ndim, n, batch_shape)
        flat_args = _flatten(_cast(args, dtype), batch_ndim, n, batch_shape)
        ys, status = iterate_map(field, flat_y0, flat_args, t_step=dt, num_saves=steps // save_every, save_every=save_every, bound=resolved.bound,
                                 save_fn=save_fn)
        num_steps = jnp.full((n,), steps, jnp.int32)
        run_settings = {"bound": resolved.bound, "save_every": save_every, "steps": steps}
        t = jnp.asarray(times, dtype)
    else:
        if steps is not None or save_every != 1:
            raise TypeError(f"{system.name} is a flow: give t1/num_points or ts, not steps/save_every")
        grid = _p.time_grid(t1, num_points, ts, default_t1=system.t1, default_num_points=system.num_points, dtype=dtype)
        from .batching import integrate

        flat_y0, flat_args = _flatten(y0, batch_ndim, n, batch_shape), _flatten(args, batch_ndim, n, batch_shape)
        solution = integrate(field, flat_y0, flat_args, grid, dtype=dtype, options=resolved, save_fn=save_fn)
        ys, status, num_steps = solution.ys, solution.status, solution.num_steps
        run_settings = resolved.settings()
        t = jnp.asarray(grid, dtype)

    unflatten = lambda leaf: leaf.reshape(tuple(batch_shape) + leaf.shape[1:])  # noqa: E731
    ys = jax.tree_util.tree_map(unflatten, ys)
    if system.outputs is not None:
        variables = dict(system.outputs(ys, bound_values))
    else:
        variables = dict(ys) if isinstance(ys, dict) else {"y": ys}
    recorded = system.record(bound_values) if system.record is not None else tuple(bound_values.given)
    run_settings.update({k: v for k, v in settings.items() if isinstance(v, (bool, int, float, str))})
    if system.extra_settings is not None:
        run_settings.update(system.extra_settings(bound_values))
    return Trajectory(
        t=t,
        variables=variables,
        status=unflatten(status),
        num_steps=unflatten(num_steps),
        params=_recorded(bound_values, recorded),
        flow=system.flow_name(bound_values) if system.flow_name is not None else system.name,
        dtype=np.dtype(dtype).name,
        settings=tuple(sorted(run_settings.items())),
    )


@functools.lru_cache(maxsize=None)
def _flow_part(field):
    def flow(t, y, args):
        return field(t, y, args[0])

    return flow


@functools.lru_cache(maxsize=None)
def _with_save_args(save_fn):
    def save(t, y, args):
        return save_fn(t, y, args[0], args[1])

    return save


def _recorded(values: Values, names: tuple[str, ...]) -> dict[str, Any]:
    """The parameters a result records: batched ones as given, and named scalar settings (``lr``)."""
    out = {}
    for name in names:
        if name in values.given:
            out[name] = values.given[name]
        elif isinstance(values.settings.get(name), (int, float)) and not isinstance(values.settings[name], bool):
            out[name] = np.asarray(values.settings[name])
    return out


def _cast(tree: Any, dtype: np.dtype) -> Any:
    def cast(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree_util.tree_map(cast, tree)
