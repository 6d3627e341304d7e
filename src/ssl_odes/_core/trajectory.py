"""Result type shared by every simulator: :class:`Trajectory`.

Convention for every result in the package: **batch axes first, then time, then the state's own
axes**. A call ``simulate_byol_modes(p0=np.linspace(0, 1, 5)[:, None], eta=[0.0, 0.01, 1.0])``
has batch shape ``(5, 3)``; its ``p`` is ``[5, 3, num_points]`` and its ``status`` ``[5, 3]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .solve import Status, status_counts

__all__ = ["Trajectory"]


class Trajectory(eqx.Module):
    """Trajectories of one flow over a batch of parameters.

    Attributes:
        t: output times, shape ``[time]``.
        variables: state variables by name, each ``[*batch, time, *state]`` (NaN after a failure).
        status: :class:`ssl_odes.Status` code per trajectory, ``[*batch]``.
        num_steps: solver steps taken per trajectory, ``[*batch]``.
        params: the validated parameters *as given* (each broadcastable to the batch shape).
        flow: name of the simulated flow, e.g. ``"byol_modes"``.
        dtype: floating dtype of the run (``"float32"`` or ``"float64"``).
        settings: non-numeric options of the run (``simsiam``, tolerances, ...).

    Variables and parameters are also attributes: ``result.p`` is ``result.variables["p"]`` and
    ``result.alpha_p`` is ``alpha_p`` broadcast to the batch shape.
    """

    t: jax.Array
    variables: dict[str, jax.Array]
    status: jax.Array
    num_steps: jax.Array
    params: dict[str, np.ndarray]
    flow: str = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    settings: tuple[tuple[str, Any], ...] = eqx.field(static=True, default=())

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: expose variables and parameters by name.
        if name.startswith("_") or name in ("variables", "params", "status", "t"):
            raise AttributeError(name)
        variables = self.__dict__.get("variables", {})
        params = self.__dict__.get("params", {})
        if name in variables:
            return variables[name]
        if name in params:
            value = params[name]
            broadcast = np.broadcast_to if isinstance(value, np.ndarray) else jax.numpy.broadcast_to
            return broadcast(value, self.batch_shape)
        raise AttributeError(
            f"{type(self).__name__} of flow {self.__dict__.get('flow')!r} has no attribute {name!r}; "
            f"variables: {sorted(variables)}, parameters: {sorted(params)}"
        )

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.variables) | set(self.params))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.status.shape)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask ``[*batch]``: trajectories that reached the last output time."""
        return np.asarray(self.status) == Status.OK

    @property
    def settings_dict(self) -> dict[str, Any]:
        return dict(self.settings)

    def __getitem__(self, index: Any) -> "Trajectory":
        """Select along the batch axes (NumPy indexing), keeping time and state axes whole.

        ``result[0]`` is the first row of a 2-D sweep; parameters are broadcast and indexed too.
        """
        index = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis or i is None for i in index):
            raise ValueError("Trajectory indexing takes integers, slices or arrays per batch axis (no ... or None)")
        if len(index) > len(self.batch_shape):
            raise ValueError(f"too many indices ({len(index)}) for batch shape {self.batch_shape}")
        status = np.asarray(self.status)[index]
        pick = lambda value: jax.numpy.asarray(value)[index]  # noqa: E731
        return Trajectory(
            t=self.t,
            variables={k: pick(v) for k, v in self.variables.items()},
            status=jax.numpy.asarray(status),
            num_steps=pick(self.num_steps),
            params={k: np.broadcast_to(v, self.batch_shape)[index] for k, v in self.params.items()},
            flow=self.flow,
            dtype=self.dtype,
            settings=self.settings,
        )

    def final(self, name: str) -> jax.Array:
        """Value of variable ``name`` at the last output time, ``[*batch, *state]``."""
        value = self.variables[name]
        return value[(slice(None),) * len(self.batch_shape) + (-1,)]

    def status_counts(self) -> dict[str, int]:
        """Number of trajectories per status, e.g. ``{"ok": 14, "blowup": 1}``."""
        return status_counts(self.status)

    def to_xarray(self):
        """An ``xarray.Dataset`` labelled by parameter.

        A batch axis along which exactly one parameter varies is named after that parameter and
        indexed by its values (``p0``, ``eta``, ...); other batch axes are ``batch_<k>``, with
        each parameter attached as a coordinate over the axes it varies along. Time is ``t``.
        """
        import xarray as xr

        ndim = len(self.batch_shape)
        param_axes = {name: _varying_axes(value, ndim) for name, value in self.params.items()}
        dims = [f"batch_{k}" for k in range(ndim)]
        for k in range(ndim):
            owners = [name for name, axes in param_axes.items() if axes == (k,)]
            if len(owners) == 1 and owners[0] not in self.variables and owners[0] != "t":
                dims[k] = owners[0]
        coords: dict[str, Any] = {"t": ("t", np.asarray(self.t))}
        for name, value in self.params.items():
            axes = param_axes[name]
            full = np.broadcast_to(np.asarray(value), self.batch_shape)
            index = tuple(slice(None) if k in axes else 0 for k in range(ndim))
            coords[name] = (tuple(dims[k] for k in axes), full[index])
        data_vars: dict[str, Any] = {}
        for name, value in self.variables.items():
            value = np.asarray(value)
            state_dims = tuple(f"{name}_dim{i}" for i in range(value.ndim - ndim - 1))
            data_vars[name] = (tuple(dims) + ("t",) + state_dims, value)
        data_vars["status"] = (
            tuple(dims),
            np.asarray(self.status),
            {
                "flag_values": np.array([s.value for s in Status], dtype=np.int32),
                "flag_meanings": " ".join(s.name.lower() for s in Status),
            },
        )
        data_vars["num_steps"] = (tuple(dims), np.asarray(self.num_steps))
        attrs = {"flow": self.flow, "dtype": self.dtype}
        attrs.update({key: _attr_value(value) for key, value in self.settings})
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


    # ----------------------------------------------------------------------------------------
    # Files
    # ----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write this result to a NetCDF file that :meth:`load` reads back bit-identically.

        Everything round-trips exactly: variables (matrix states too, NaN patterns included),
        statuses, step counts, the parameters as given, the settings and the dtype. The file is
        written to a temporary name and renamed, so a crash never leaves half a file behind.
        A path that cannot be written raises ``OSError`` naming it.

        >>> import tempfile, os, numpy as np, ssl_odes
        >>> res = ssl_odes.simulate_byol_modes([0.1, 0.5], 0.3, t1=5.0, num_points=3)
        >>> path = res.save(os.path.join(tempfile.mkdtemp(), "run.nc"))
        >>> back = ssl_odes.Trajectory.load(path)
        >>> bool(np.array_equal(back.p, res.p)), back.flow, back.status_counts()
        (True, 'byol_modes', {'ok': 2})
        """
        import xarray as xr

        path = Path(path)
        data_vars: dict[str, Any] = {}
        kinds: dict[str, str] = {}

        def put(key: str, value: Any) -> None:
            value = np.asarray(value)
            kinds[key] = value.dtype.str
            stored = value.astype(np.int8) if value.dtype == np.bool_ else value
            data_vars[key] = (tuple(f"{key}_dim{i}" for i in range(stored.ndim)), stored)

        put("t", self.t)
        put("status", self.status)
        put("num_steps", self.num_steps)
        for name, value in self.variables.items():
            put(f"variable:{name}", value)
        for name, value in self.params.items():
            put(f"param:{name}", value)
        attrs = {
            "format": _FORMAT,
            "flow": self.flow,
            "dtype": self.dtype,
            "settings": json.dumps([[k, _jsonable(v)] for k, v in self.settings]),
            "kinds": json.dumps(kinds),
            "variables": json.dumps(list(self.variables)),
            "params": json.dumps(list(self.params)),
        }
        dataset = xr.Dataset(data_vars, attrs=attrs)
        encoding = {key: {"_FillValue": None} for key in data_vars}
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            dataset.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise OSError(f"cannot write the trajectory to {str(path)!r}: {err.strerror or err}") from err
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Trajectory":
        """Read a result written by :meth:`save` (``ssl-odes simulate --out`` writes the same format).

        A missing file raises ``FileNotFoundError``; a file that is not a saved result raises
        ``ValueError`` saying so.
        """
        import xarray as xr

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no saved trajectory at {str(path)!r}")
        try:
            with xr.open_dataset(path, engine="netcdf4", mask_and_scale=False, decode_times=False) as stored:
                dataset = stored.load()
        except Exception as err:  # the NetCDF library's errors are OSError/ValueError/RuntimeError
            raise ValueError(f"{str(path)!r} is not a readable NetCDF file written by Trajectory.save ({err})") from err
        if dataset.attrs.get("format") != _FORMAT:
            raise ValueError(f"{str(path)!r} is not a saved ssl_odes Trajectory (no format attribute {_FORMAT!r}); "
                             "write one with Trajectory.save or `ssl-odes simulate --out`")
        kinds = json.loads(dataset.attrs["kinds"])

        def get(key: str) -> np.ndarray:
            return np.asarray(dataset[key].values).astype(np.dtype(kinds[key]))

        settings = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in json.loads(dataset.attrs["settings"]))
        return cls(
            t=jax.numpy.asarray(get("t")),
            variables={name: jax.numpy.asarray(get(f"variable:{name}")) for name in json.loads(dataset.attrs["variables"])},
            status=jax.numpy.asarray(get("status")),
            num_steps=jax.numpy.asarray(get("num_steps")),
            params={name: get(f"param:{name}") for name in json.loads(dataset.attrs["params"])},
            flow=str(dataset.attrs["flow"]),
            dtype=str(dataset.attrs["dtype"]),
            settings=settings,
        )

    # ----------------------------------------------------------------------------------------
    # Display
    # ----------------------------------------------------------------------------------------

    def _summary_rows(self) -> list[tuple[str, str]]:
        t = np.asarray(self.t)
        grid = f"{t.size} points, t = {t[0]:g} .. {t[-1]:g}" if t.size else "empty"
        variables = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.variables.items())
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        settings = ", ".join(f"{k}={v}" for k, v in self.settings if k in _SHOWN_SETTINGS)
        return [("system", self.flow), ("batch shape", str(self.batch_shape)), ("time grid", grid),
                ("dtype", self.dtype), ("status", str(self.status_counts())), ("variables", variables),
                ("parameters", params), ("settings", settings)]

    def __repr__(self) -> str:
        rows = self._summary_rows()
        width = max(len(k) for k, _ in rows)
        return "Trajectory(\n" + "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows) + "\n)"

    def _repr_html_(self) -> str:
        import html

        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                        f"{html.escape(v)}</td></tr>" for k, v in self._summary_rows())
        return f"<div><b>ssl_odes.Trajectory</b><table>{cells}</table></div>"


_FORMAT = "ssl_odes.Trajectory/1"
_SHOWN_SETTINGS = ("solver", "rtol", "atol", "schedule", "variant", "simsiam", "save", "steps", "save_every")


def _short(value: Any) -> str:
    value = np.asarray(value)
    if value.size == 1:
        return f"{value.item():g}"
    if value.size <= 4:
        return "[" + ", ".join(f"{x:g}" for x in value.ravel()) + "]"
    return f"[{value.min():g} .. {value.max():g}] shape {value.shape}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _varying_axes(value: Any, ndim: int) -> tuple[int, ...]:
    """Batch axes along which a parameter (as given, NumPy-broadcastable) actually varies."""
    shape = (1,) * (ndim - np.ndim(value)) + np.shape(value)
    return tuple(k for k, size in enumerate(shape) if size > 1)


def _attr_value(value: Any) -> Any:
    # netCDF attributes cannot hold bools or None.
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return "none"
    return value
