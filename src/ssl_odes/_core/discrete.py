"""Iterating a discrete map that *is* the model (an SGD or EMA recurrence), with per-run status.

ODE flows go through diffrax (:mod:`~ssl_odes._core.batching`). Some systems of the papers are
recurrences in their own right: 000 Eq 134 (``w(t+1) = w(t) + lr (...)``), one SGD step of size
``lr`` on scalar BYOL, a training step of the 004 network. A discrete :class:`~ssl_odes.System`
declares its step map with the same interface as a vector field, ``step(t, y, args) -> y_next``
on one trajectory, and :func:`ssl_odes.simulate` runs it here: ``vmap`` over the batch inside a
``jax.lax.scan`` that saves every ``save_every`` steps.

Statuses, the same labels as the flows: ``OK``; ``BLOWUP`` when the state leaves
``|y| <= bound`` or overflows to ``inf`` (the flow reports the same run as ``BLOWUP``: its
adaptive steps reach the bound before overflowing); ``NONFINITE`` when a NaN appears without
overflow (or the initial state is not finite). After a failure the run is frozen and its saved
values are NaN, never ``inf``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp

from .solve import Status

__all__ = ["iterate_map"]


def _per_run(tree: Any, test: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """``all(test(leaf))`` over every non-batch axis of every leaf: one bool per run ``[n]``."""
    out = None
    for leaf in jax.tree_util.tree_leaves(tree):
        good = test(leaf).reshape(leaf.shape[0], -1).all(axis=1)
        out = good if out is None else out & good
    return out


def _identity(t, y, args):
    return y


@partial(jax.jit, static_argnames=("step", "num_saves", "save_every", "save_fn"))
def iterate_map(
    step: Callable[[Any, Any, Any], Any],
    y0: Any,
    args: Any,
    *,
    t_step: float | jax.Array,
    num_saves: int,
    save_every: int,
    bound: float | jax.Array,
    save_fn: Callable[[Any, Any, Any], Any] | None = None,
) -> tuple[Any, jax.Array]:
    """Apply ``step`` ``num_saves * save_every`` times to a batch; save the start and every ``save_every``-th state.

    ``y0`` and ``args`` have the batch on the leading axis of every leaf; ``step(t, y, args)``
    sees one run (``t = k * t_step`` at step ``k``). Returns ``(saved, status)``: ``saved`` is
    ``save_fn(t, y, args)`` (default: the state) with leaves ``[n, num_saves + 1, ...]``, and
    ``status`` ``[n]`` (int32 :class:`Status`). ``t_step`` and ``bound`` are traced (changing them
    does not recompile); ``num_saves`` and ``save_every`` are static, so the loops have static
    bounds and ``jax.grad`` differentiates through them.
    """
    save = _identity if save_fn is None else save_fn
    batched_step = jax.vmap(step, in_axes=(None, 0, 0))
    batched_save = jax.vmap(save, in_axes=(None, 0, 0))
    finite = lambda leaf: jnp.isfinite(leaf)  # noqa: E731
    not_nan = lambda leaf: ~jnp.isnan(leaf)  # noqa: E731
    bounded = lambda leaf: ~(jnp.abs(leaf) > bound)  # noqa: E731 (NaN counts as bounded here)
    status0 = jnp.where(_per_run(y0, finite), Status.OK, Status.NONFINITE).astype(jnp.int32)

    def masked(tree, status):
        def mask(leaf):
            failed = (status != Status.OK).reshape(status.shape + (1,) * (leaf.ndim - 1))
            return jnp.where(failed, jnp.nan, leaf)

        return jax.tree_util.tree_map(mask, tree)

    def one_step(k, carry):
        y, status = carry
        y_next = batched_step(k * t_step, y, args)
        good = _per_run(y_next, lambda leaf: jnp.isfinite(leaf) & (jnp.abs(leaf) <= bound))
        overflow = ~_per_run(y_next, bounded) | ~_per_run(y_next, lambda leaf: ~jnp.isinf(leaf))
        nan_only = ~_per_run(y_next, not_nan) & ~overflow
        failure = jnp.where(nan_only, Status.NONFINITE, Status.BLOWUP).astype(jnp.int32)
        status = jnp.where((status == Status.OK) & ~good, failure, status)
        # A failed run stays frozen at its last good state (so it never feeds NaN into the step).
        keep = (status == Status.OK)
        y = jax.tree_util.tree_map(
            lambda new, old: jnp.where(keep.reshape(keep.shape + (1,) * (new.ndim - 1)), new, old), y_next, y)
        return y, status

    def save_block(carry, block):
        y, status = jax.lax.fori_loop(0, save_every, lambda i, c: one_step(block * save_every + i, c), carry)
        t = (block + 1) * save_every * t_step
        return (y, status), masked(batched_save(t, y, args), status)

    first = masked(batched_save(jnp.zeros((), jnp.result_type(t_step)), y0, args), status0)
    (_, status), saved = jax.lax.scan(save_block, (y0, status0), jnp.arange(num_saves))
    saved = jax.tree_util.tree_map(lambda a, rest: jnp.concatenate([a[:, None], jnp.moveaxis(rest, 0, 1)], axis=1),
                                   first, saved)
    saved = jax.tree_util.tree_map(lambda leaf: jnp.where(jnp.isfinite(leaf), leaf, jnp.nan), saved)
    return saved, status
