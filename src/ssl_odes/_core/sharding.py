"""Sharding a batch across devices and hosts: :func:`use_devices`.

Inside ``with use_devices(...)``, every batch is split across the chosen devices with
``shard_map``: each device runs its own loop over its slice, so a device whose trajectories
finish early does not wait in lockstep for the others. Under ``jax.distributed`` the devices of
every process take part and results are gathered back whole on each.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Sequence

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["use_devices", "current_devices", "solve_sharded", "shard", "gather"]

@eqx.filter_jit
def solve_sharded(batch_fn, vector_field, y0, args, valid, options, mesh):
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
    >>> from ssl_odes import integrate
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



def current_devices() -> tuple | None:
    """The devices chosen by the innermost :func:`use_devices` block, or None."""
    return _DEVICES.get()

def shard(tree: Any, mesh: Mesh) -> Any:
    """Place the batch axis of every leaf across the mesh (global arrays under jax.distributed)."""
    sharding = NamedSharding(mesh, PartitionSpec("batch"))
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    # Several processes: every process holds the same full batch (the grid is deterministic).
    return jax.tree_util.tree_map(
        lambda leaf: jax.make_array_from_callback(leaf.shape, sharding, lambda index: np.asarray(leaf)[index]), tree
    )


def gather(tree: Any) -> Any:
    """Bring a batch-sharded result back whole to every process."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


