"""Checkpoints that resume exactly: the train state as ``.npz`` arrays plus a JSON side-car.

The state (parameters, BatchNorm statistics, target, optimiser state, DirectPred's ``F_hat``, step)
is turned into a nested dict by :func:`flax.serialization.to_state_dict`; its array leaves are
stored under their ``/``-joined paths in ``checkpoint.npz`` with their exact dtypes, and everything
else a run needs to continue (config, records so far, pending losses) goes to ``checkpoint.json``.
Restoring walks the *template* state of the same config, so the tree structure comes from code, and
the file only has to supply arrays of the right shapes. Files are written to a temporary name
and renamed, so an interrupted save never leaves a half checkpoint behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import flax.serialization
import jax
import numpy as np

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_ARRAYS", "CHECKPOINT_METADATA"]

CHECKPOINT_ARRAYS = "checkpoint.npz"
CHECKPOINT_METADATA = "checkpoint.json"


def _walk(tree: Any, visit: Callable[[str, Any], Any], prefix: str = "") -> Any:
    if isinstance(tree, dict):
        return {key: _walk(value, visit, f"{prefix}/{key}" if prefix else str(key)) for key, value in tree.items()}
    if tree is None:
        return None
    return visit(prefix, tree)


def save_checkpoint(directory: str | Path, state: Any, metadata: dict[str, Any]) -> Path:
    """Write ``state`` (any flax-serialisable pytree) and JSON ``metadata`` into ``directory``.

    >>> import tempfile, jax.numpy as jnp
    >>> d = tempfile.mkdtemp()
    >>> _ = save_checkpoint(d, {"w": jnp.arange(3.0)}, {"step": 7})
    >>> state, meta = load_checkpoint(d, {"w": jnp.zeros(3)})
    >>> state["w"].tolist(), meta["step"]
    ([0.0, 1.0, 2.0], 7)
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}

    def keep(path, leaf):
        arrays[path] = np.asarray(jax.device_get(leaf))
        return None

    _walk(flax.serialization.to_state_dict(state), keep)
    tmp_arrays = directory / (CHECKPOINT_ARRAYS + ".tmp.npz")
    np.savez(tmp_arrays, **arrays)
    tmp_meta = directory / (CHECKPOINT_METADATA + ".tmp")
    tmp_meta.write_text(json.dumps(metadata))
    os.replace(tmp_arrays, directory / CHECKPOINT_ARRAYS)
    os.replace(tmp_meta, directory / CHECKPOINT_METADATA)
    return directory


def load_checkpoint(directory: str | Path, template: Any) -> tuple[Any, dict[str, Any]] | None:
    """The state saved in ``directory`` (structured like ``template``) and its metadata; ``None`` if absent.

    Raises ``ValueError`` when an array is missing or its shape differs from the template's
    (a checkpoint of another config).
    """
    directory = Path(directory)
    if not (directory / CHECKPOINT_ARRAYS).is_file() or not (directory / CHECKPOINT_METADATA).is_file():
        return None
    metadata = json.loads((directory / CHECKPOINT_METADATA).read_text())
    with np.load(directory / CHECKPOINT_ARRAYS) as stored:
        def restore(path, leaf):
            if path not in stored:
                raise ValueError(f"checkpoint in {directory} has no array {path!r}: it belongs to another configuration")
            value = stored[path]
            if value.shape != np.shape(leaf):
                raise ValueError(
                    f"checkpoint array {path!r} has shape {value.shape}, the run expects {np.shape(leaf)}: "
                    "it belongs to another configuration"
                )
            return jax.numpy.asarray(value, dtype=value.dtype)

        state_dict = _walk(flax.serialization.to_state_dict(template), restore)
    return flax.serialization.from_state_dict(template, state_dict), metadata
