"""The records file of a training run: JSON lines, read back as an ``xarray.Dataset``.

One JSON object per line, each with a ``kind``:

* ``"config"`` (first line): the run's :class:`~ssl_odes.empirical.config.TrainConfig` as a dict;
* ``"spectra"``: at ``step`` (flow time ``t``, learning rate ``lr``, EMA rate ``gamma_ema``, mean
  ``loss`` since the previous record) the per-mode lists ``s``, ``p``, ``alignment``, ``tau``,
  ``wp_eigenvalues`` and the scalars ``asymmetry``, ``commutator``, ``alignment_weighted``
  (:mod:`.spectra`); with 004's identity head also ``offdiag_norm`` (``||offdiag(E)||_F``) and
  ``head_asymmetry`` (``||E - E^T||_F``);
* ``"eval"``: probe accuracies (``knn``, ``linear_probe``) at ``step`` (0 = random initialisation).

Missing values are written as ``null``. This module needs neither flax nor optax, so records can
be plotted (:mod:`ssl_odes.empirical.theory`, :func:`ssl_odes.plot.plot_training_spectra`) where
nothing can train.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

__all__ = [
    "to_jsonable", "write_records", "append_record", "read_records", "records_to_xarray", "load_records", "as_dataset",
]

MODE_VARIABLES = ("s", "p", "alignment", "tau", "wp_eigenvalues")
STEP_VARIABLES = ("t", "lr", "gamma_ema", "loss", "asymmetry", "commutator", "alignment_weighted", "offdiag_norm",
                  "head_asymmetry")


def to_jsonable(value: Any) -> Any:
    """Arrays to lists, NumPy scalars to Python numbers, NaN/inf to ``None`` (strict JSON).

    >>> to_jsonable({"a": np.array([1.0, np.nan]), "b": np.float32(2.5)})
    {'a': [1.0, None], 'b': 2.5}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        array = np.asarray(value)
        return to_jsonable(array.tolist()) if array.ndim else to_jsonable(array.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return to_jsonable(value.item())
    return value


def write_records(path: str | Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records as JSON lines (replacing the file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(to_jsonable(r)) + "\n" for r in records))
    tmp.replace(path)
    return path


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append one record line."""
    with open(path, "a") as handle:
        handle.write(json.dumps(to_jsonable(record)) + "\n")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file as a list of dicts."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _float_array(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def records_to_xarray(records: Iterable[dict[str, Any]]):
    """Spectra records as an ``xarray.Dataset`` with dimensions ``(step, mode)``.

    Per-mode variables (``s``, ``p``, ...) are ``[step, mode]``, per-step scalars ``[step]``; the
    config (JSON) and evaluations (``knn_step<k>``, ``linear_probe_step<k>``) are attributes.

    >>> ds = records_to_xarray([{"kind": "config", "method": "byol"},
    ...                         {"kind": "spectra", "step": 0, "t": 0.0, "s": [2.0, 1.0], "p": [0.5, None]},
    ...                         {"kind": "eval", "step": 0, "knn": 0.5}])
    >>> ds.s.dims, ds.s.shape, float(ds.attrs["knn_step0"])
    (('step', 'mode'), (1, 2), 0.5)
    """
    import xarray as xr

    records = list(records)
    spectra = [r for r in records if r.get("kind") == "spectra"]
    attrs: dict[str, Any] = {}
    for r in records:
        if r.get("kind") == "config":
            attrs["config"] = json.dumps({k: v for k, v in r.items() if k != "kind"}, sort_keys=True)
        elif r.get("kind") == "eval":
            for key, value in r.items():
                if key not in ("kind", "step") and value is not None:
                    attrs[f"{key}_step{r['step']}"] = value
    steps = np.array([r["step"] for r in spectra], dtype=np.int64)
    data: dict[str, Any] = {}
    for name in MODE_VARIABLES:
        rows = [r.get(name) for r in spectra]
        if any(row is not None for row in rows):
            width = max(len(row) for row in rows if row is not None)
            data[name] = (("step", "mode"), np.stack([_float_array(row) if row is not None else np.full(width, np.nan) for row in rows]))
    for name in STEP_VARIABLES:
        if any(name in r for r in spectra):
            data[name] = (("step",), _float_array([r.get(name) for r in spectra]))
    return xr.Dataset(data, coords={"step": steps}, attrs=attrs)


def load_records(path: str | Path):
    """Read a records file into an ``xarray.Dataset`` (:func:`records_to_xarray`)."""
    return records_to_xarray(read_records(path))


def as_dataset(records: Any):
    """Records given as a path, a list of dicts or an ``xarray.Dataset`` -> ``xarray.Dataset``."""
    if isinstance(records, (str, Path)):
        return load_records(records)
    if isinstance(records, (list, tuple)):
        return records_to_xarray(records)
    if hasattr(records, "data_vars"):
        return records
    raise ValueError(f"records must be a path, a list of records or an xarray.Dataset; got {type(records).__name__}")
