"""Iterating a discrete map that *is* the model (an SGD or EMA recurrence), with per-run status.

ODE flows go through the package's one integrator (:mod:`ssl_odes._integrate`). Some systems of
the papers are recurrences in their own right: 000 Eq 134 (``w(t+1) = w(t) + lr (...)``) and one
SGD step of size ``lr`` on scalar BYOL. Iterating them is not an ODE integration; this module does
it with a ``jax.lax.scan`` (saving every ``save_every`` steps) and reports, like the integrator,
one :class:`~ssl_odes.Status` per run: ``OK``, ``NONFINITE`` (the state overflowed or became NaN)
or ``BLOWUP`` (``max|y| > bound``). After a failure the run is frozen and its saved states are
NaN, never ``inf``.

The map ``step(y, args) -> y`` acts on a whole batch at once (leaves ``[*batch, ...]``) and must
treat batch entries independently (the maps here are elementwise).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp

from .. import _params
from .solve import Status, default_bound

__all__ = ["check_map_options", "iterate_map"]


def check_map_options(steps: Any, save_every: Any, bound: Any, dtype: Any) -> tuple[int, int, float]:
    """Validate ``steps >= 1``, ``save_every >= 1`` dividing ``steps``, and ``bound > 0`` (default by dtype)."""
    steps = _params.check_integer("steps", steps, 1)
    save_every = _params.check_integer("save_every", save_every, 1)
    if steps % save_every:
        raise ValueError(f"steps must be a multiple of save_every; got steps={steps}, save_every={save_every}")
    bound = default_bound(dtype) if bound is None else _params.check_scalar("bound", bound)
    return steps, save_every, bound


def _finite_and_bounded(y: Any, bound: float, batch_ndim: int) -> jax.Array:
    """Per batch entry: every leaf finite and within ``bound``."""
    ok = None
    for leaf in jax.tree_util.tree_leaves(y):
        axes = tuple(range(batch_ndim, leaf.ndim))
        good = jnp.all(jnp.isfinite(leaf) & (jnp.abs(leaf) <= bound), axis=axes) if axes else (
            jnp.isfinite(leaf) & (jnp.abs(leaf) <= bound)
        )
        ok = good if ok is None else ok & good
    return ok


@partial(jax.jit, static_argnames=("step", "num_saves", "batch_ndim"))
def iterate_map(
    step: Callable[[Any, Any], Any],
    y0: Any,
    args: Any,
    *,
    num_saves: int,
    save_every: int | jax.Array,
    bound: float | jax.Array,
    batch_ndim: int,
) -> tuple[Any, jax.Array]:
    """Apply ``step`` ``num_saves * save_every`` times; save ``y0`` and every ``save_every``-th state.

    Returns ``(ys, status)``: ``ys`` with leaves ``[*batch, num_saves + 1, ...]`` (time after the
    batch axes, the package's convention) and ``status`` ``[*batch]`` (int32 :class:`Status`).
    ``save_every`` and ``bound`` are traced (changing them does not recompile); ``num_saves`` is
    static (the length of the scan). A run whose state leaves the finite, ``|y| <= bound`` region is frozen there: that state and
    every later saved state is NaN and its status is ``NONFINITE`` (NaN/inf) or ``BLOWUP``.
    """
    status0 = jnp.where(_finite_and_bounded(y0, bound, batch_ndim), Status.OK, Status.NONFINITE).astype(jnp.int32)

    def masked(y, status):
        def mask(leaf):
            failed = (status != Status.OK).reshape(status.shape + (1,) * (leaf.ndim - batch_ndim))
            return jnp.where(failed, jnp.nan, leaf)

        return jax.tree_util.tree_map(mask, y)

    def one_step(_, carry):
        y, status = carry
        y_next = step(y, args)
        good = _finite_and_bounded(y_next, bound, batch_ndim)
        finite = _finite_and_bounded(y_next, jnp.inf, batch_ndim)
        failure = jnp.where(finite, Status.BLOWUP, Status.NONFINITE).astype(jnp.int32)
        status = jnp.where((status == Status.OK) & ~good, failure, status)
        return masked(y_next, status), status

    def save_block(carry, _):
        carry = jax.lax.fori_loop(0, save_every, one_step, carry)
        return carry, carry[0]

    y0 = masked(y0, status0)
    (_, status), ys = jax.lax.scan(save_block, (y0, status0), None, length=num_saves)
    ys = jax.tree_util.tree_map(lambda first, rest: jnp.concatenate([first[None], rest], axis=0), y0, ys)
    ys = jax.tree_util.tree_map(lambda leaf: jnp.moveaxis(leaf, 0, batch_ndim), ys)
    return ys, status
