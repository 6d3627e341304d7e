"""Structure-of-arrays layout of a batched state (used by both batch schedules).

Small per-trajectory states (at most ``SPLIT_SIZE`` numbers per leaf, e.g. the 3-vector of a
BYOL mode) are integrated as separate scalar leaves: after ``vmap`` each becomes one contiguous
vector over the batch, which XLA vectorises about 1.6x better than strided columns of a
``[batch, 3]`` array. The vector field still sees its usual shapes.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["SPLIT_SIZE", "split_layout", "in_split_layout"]

#: Leaves with at most this many numbers per trajectory are split into scalar leaves.
SPLIT_SIZE = 16


def split_layout(y0: Any) -> tuple[Any, Callable[[Any], Any], Callable[[Any], Any]]:
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


def in_split_layout(vector_field, save_fn, y0):
    """The vector field, saving function and initial state of the split layout, and ``merge``."""
    y0_split, merge, split = split_layout(y0)

    def field(t, y, args):
        return split(vector_field(t, merge(y), args))

    def save(t, y, args):
        return merge(y) if save_fn is None else save_fn(t, merge(y), args)

    return field, save, y0_split, merge


