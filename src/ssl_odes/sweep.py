"""Parameter sweeps: grids, chunked vmapped runs, device sharding, checkpoint and resume.

A sweep is many calls of one simulator over a grid of parameters. :func:`sweep` splits the grid
into chunks of ``chunk_size`` trajectories; each chunk is one call of the simulator, which runs
the package's one integrator as a single ``jit(vmap(solve))`` (sharded across ``devices``
when given, see :func:`ssl_odes.use_devices`). Results come back as an ``xarray.Dataset``
labelled by the swept parameters, with the per-trajectory ``status`` as a variable. A failed
trajectory is recorded, never fatal.

With ``checkpoint=<directory>``, every finished chunk is written atomically to
``chunk_<k>.nc`` (NetCDF through xarray) beside a ``manifest.json`` describing the sweep. A
sweep killed at any moment and run again with the same arguments skips the finished chunks and
returns a result identical to an uninterrupted run: chunk ``k`` always holds the same
trajectories and is computed by the same compiled program. A stored chunk is used only if it
matches its checksum in the manifest and carries this sweep's fingerprint, its index and its
grid coordinates; any other is recomputed with a warning naming the file. Several processes
may share one checkpoint directory: they split the chunks between them under a file lock, each
chunk computed once (:mod:`ssl_odes._checkpoint`).

Grid semantics (``grid`` maps names to values)::

    {"eta": [0, 0.01, 0.1], "beta": [0.1, 1.0]}          # outer product: dims (eta, beta)
    {("p0", "s0"): ([0.1, 0.5], [0.2, 0.3]), "eta": [...]}  # p0 and s0 zipped on one axis "p0+s0"

Across several hosts the sweep runs on JAX's own multi-process runtime: start one process per
host with ``jax.distributed.initialize(...)`` and call :func:`sweep` with the same arguments in
each; chunks are sharded across every host's devices and the checkpoint (on a shared
filesystem) is written by process 0 (README, "Sweeps on several hosts").
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import numpy as np

from . import _params
from ._checkpoint import Checkpoint, CheckpointBusyError, fingerprint
from ._core import System, get_system, validate
from ._core import simulate as _simulate
from ._core.solve import status_counts
from ._integrate import Status, use_devices
from ._core.trajectory import Trajectory

__all__ = ["sweep", "sensitivities", "find_boundary", "Boundary", "collapse_separatrix", "critical_weight_decay"]

DEFAULT_CHUNK_SIZE = 8192


class _Axis(NamedTuple):
    name: str  # dimension name
    values: dict[str, np.ndarray]  # parameter name -> 1-D values along this axis

    @property
    def size(self) -> int:
        return len(next(iter(self.values.values())))


#: Keywords of :func:`ssl_odes.simulate` that say how to run, not what (fixed keywords only).
RUN_KEYWORDS = ("t1", "num_points", "ts", "steps", "save_every", "options", "dtype", "rtol", "atol", "max_steps", "bound",
                "solver", "schedule")


def _parse_grid(grid: Mapping[Any, Any], system: System, fixed: Mapping[str, Any]) -> list[_Axis]:
    """The grid's axes, each parameter validated against ``system``'s declaration."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter names to 1-D values; got {grid!r}")
    accepted = set(system.parameter_names)
    axes: list[_Axis] = []
    seen: set[str] = set()
    for key, value in grid.items():
        names = (key,) if isinstance(key, str) else tuple(key)
        columns = (value,) if isinstance(key, str) else tuple(value)
        if len(names) != len(columns) or not names:
            raise ValueError(f"grid entry {key!r} must pair each name with one 1-D array; got {len(columns)} arrays")
        axis: dict[str, np.ndarray] = {}
        for name, column in zip(names, columns):
            if not isinstance(name, str):
                raise ValueError(f"grid keys must be parameter names (str) or tuples of them; got {key!r}")
            if name not in accepted:
                raise ValueError(f"grid parameter {name!r} is not a parameter of system {system.name!r}; its parameters: "
                                 f"{sorted(accepted)}")
            parameter = system.parameter(name)
            if not parameter.batched or parameter.core_ndim:
                raise ValueError(f"grid parameter {name!r} of system {system.name!r} is one setting per run "
                                 f"({parameter.domain.describe(name)}), not a number to sweep; run one sweep per value")
            if name in seen or name in fixed:
                raise ValueError(f"parameter {name!r} is given twice (in the grid and/or as a fixed keyword)")
            seen.add(name)
            values = validate(name, column, parameter.domain)
            if values.ndim != 1 or values.size == 0:
                raise ValueError(
                    f"grid values of {name!r} must be a non-empty 1-D array (constants go in as keywords); "
                    f"got shape {values.shape}"
                )
            axis[name] = values
        lengths = {n: v.size for n, v in axis.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"zipped grid parameters must have equal lengths; got {lengths}")
        axes.append(_Axis("+".join(names), axis))
    unknown = sorted(set(fixed) - accepted - set(RUN_KEYWORDS))
    if unknown:
        raise ValueError(f"{unknown} are not parameters of system {system.name!r}; its parameters: {sorted(accepted)}, "
                         f"run keywords: {list(RUN_KEYWORDS)}")
    return axes


def _chunk_parameters(axes: list[_Axis], start: int, stop: int) -> dict[str, np.ndarray]:
    index = np.unravel_index(np.arange(start, stop), tuple(a.size for a in axes))
    return {name: values[idx] for axis, idx in zip(axes, index) for name, values in axis.values.items()}


def _extract(result: Trajectory, save: Any) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """What a chunk keeps of its trajectories: ``{name: (dims after 'trajectory', values)}``."""
    if not isinstance(result, Trajectory) or len(result.batch_shape) != 1:
        raise ValueError("the swept simulator must return a Trajectory with one batch axis per chunk")
    out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    if callable(save):
        for name, value in dict(save(result)).items():
            value = np.asarray(value)
            if value.shape[:1] != result.batch_shape:
                raise ValueError(f"save() must return arrays with the batch axis first; {name!r} has shape {value.shape}")
            out[name] = (tuple(f"{name}_dim{i}" for i in range(value.ndim - 1)), value)
    else:
        for name, value in result.variables.items():
            value = np.asarray(result.final(name) if save == "final" else value)
            time_dims = ("t",) if save == "all" else ()
            extra = value.ndim - 1 - len(time_dims)
            out[name] = (time_dims + tuple(f"{name}_dim{i}" for i in range(extra)), value)
    out["status"] = ((), np.asarray(result.status))
    out["num_steps"] = ((), np.asarray(result.num_steps))
    return out


def _chunk_dataset(start: int, data: dict[str, tuple[tuple[str, ...], np.ndarray]], t: np.ndarray | None):
    import xarray as xr

    size = len(next(iter(data.values()))[1])
    coords: dict[str, Any] = {"trajectory": np.arange(start, start + size)}
    if t is not None:
        coords["t"] = t
    return xr.Dataset({k: (("trajectory",) + dims, v) for k, (dims, v) in data.items()}, coords=coords)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.asarray(value).tolist()
    if isinstance(value, np.dtype) or isinstance(value, type):
        return str(value)
    return repr(value)


def _describe(system, axes, fixed, chunk_size, n_total, save) -> dict[str, Any]:
    spec = {
        "version": 2,
        "simulate": f"system:{system.name}",
        "grid": [{"dim": a.name, "values": {k: v.tolist() for k, v in a.values.items()}} for a in axes],
        "fixed": {k: _jsonable(v) for k, v in sorted(fixed.items())},
        "chunk_size": chunk_size,
        "n_trajectories": n_total,
        "n_chunks": -(-n_total // chunk_size),
        "save": save if isinstance(save, str) else f"callable:{getattr(save, '__qualname__', repr(save))}",
        "dtype_default": str(_params.resolve_dtype(fixed.get("dtype"))),
    }
    spec["fingerprint"] = fingerprint(spec)
    return spec


def _assemble(chunks: list, axes: list[_Axis], attrs: dict[str, Any]):
    """Concatenate chunks along 'trajectory' and reshape it into the grid's dimensions."""
    import xarray as xr

    flat = xr.concat(chunks, dim="trajectory") if len(chunks) > 1 else chunks[0]
    shape = tuple(a.size for a in axes)
    dims = tuple(a.name for a in axes)
    data_vars = {}
    for name, var in flat.data_vars.items():
        values = var.values.reshape(shape + var.shape[1:])
        data_vars[name] = (dims + var.dims[1:], values, dict(var.attrs))
    coords: dict[str, Any] = {}
    for axis in axes:
        for name, values in axis.values.items():
            coords[name] = (axis.name, values)
    if "t" in flat.coords:
        coords["t"] = flat["t"].values
    result = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    result["status"].attrs.update(
        flag_values=np.array([s.value for s in Status], dtype=np.int32),
        flag_meanings=" ".join(s.name.lower() for s in Status),
    )
    # Readable at a glance in the Dataset's repr (text and HTML), e.g. '{"ok": 98, "blowup": 2}'.
    result.attrs["status_counts"] = json.dumps(status_counts(result["status"].values))
    return result


def sweep(
    simulate: System | str | Callable[..., Trajectory],
    grid: Mapping[Any, Any],
    *,
    chunk_size: int | None = None,
    devices: Sequence[Any] | int | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    save: str | Callable[[Trajectory], Mapping[str, Any]] = "final",
    **fixed: Any,
):
    """Run ``simulate`` over a grid of parameters; return an ``xarray.Dataset``.

    Args:
        simulate: a declared system: a ``simulate_*`` function such as
            :func:`ssl_odes.simulate_byol_modes`, a :class:`ssl_odes.System`, or a registered
            name (``"byol_modes"``; ``ssl-odes systems`` lists them). Its declaration says which
            parameters exist and which can be swept (the numeric, batched ones).
        grid: parameter name -> 1-D values (each its own axis, outer product), or a tuple of names
            -> tuple of equal-length 1-D arrays (zipped on one axis named ``"a+b"``).
        chunk_size: trajectories per simulator call (default ``min(n, 8192)``). Each chunk is one
            compiled, vmapped (and, with ``devices``, sharded) run, and the unit of checkpointing.
        devices: shard each chunk across these JAX devices (a count or a list); ``None``: no
            sharding in a single process, every process's devices under ``jax.distributed``.
            See :func:`ssl_odes.use_devices`.
        checkpoint: directory for the manifest and finished chunks (``None``: keep in memory).
        resume: with an existing checkpoint of the same sweep, skip its finished chunks.
            ``False`` deletes them and starts over.
        progress: show a progress bar (chunks done, trajectories per second, ETA).
        save: ``"final"`` (each variable at the last output time), ``"all"`` (whole
            trajectories, with a ``t`` dimension) or ``f(trajectory) -> {name: [batch, ...]}``.
            With ``"final"`` and no ``ts`` / ``num_points`` given, a flow is asked for the grid
            ``[0, t1]`` only, so that ``schedule="auto"`` runs it on the refill schedule (finished
            trajectories hand their lane to waiting ones); a map saves only its last step.
        **fixed: every other keyword is passed unchanged to the simulator: declared parameters
            (``simsiam``, ``s0``, ...) and run keywords (``t1``, ``options``, ``dtype``, ...).

    Returns:
        Dataset with dims = the grid's axes (then ``t`` / state dims), the saved variables,
        ``status`` (flag meanings in its attributes) and ``num_steps``; the grid's parameters are
        coordinates and the fixed keywords are attributes, beside ``status_counts`` (JSON, e.g.
        ``'{"ok": 6}'``: trajectories per status, shown in the Dataset's repr).

    Example:
        >>> import ssl_odes
        >>> ds = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {"eta": [0.0, 0.01], "p0": [0.1, 0.5, 1.0]},
        ...                     s0=0.3, simsiam=True, t1=20.0, num_points=3, progress=False)
        >>> dict(ds.sizes), int((ds.status == 0).sum())
        ({'eta': 2, 'p0': 3}, 6)
    """
    system = get_system(simulate)
    run = simulate if callable(simulate) and not isinstance(simulate, System) else functools.partial(_simulate, system)
    axes = _parse_grid(grid, system, fixed)
    n_total = math.prod(a.size for a in axes)
    chunk_size = min(n_total, DEFAULT_CHUNK_SIZE) if chunk_size is None else _params.check_integer("chunk_size", chunk_size, 1)
    if not (save in ("final", "all") or callable(save)):
        raise ValueError(f"save must be 'final', 'all' or a function of the Trajectory; got save={save!r}")
    resume = _params.check_flag("resume", resume)
    progress = _params.check_flag("progress", progress)
    spec = _describe(system, axes, fixed, chunk_size, n_total, save)
    n_chunks = spec["n_chunks"]
    is_writer = jax.process_index() == 0

    distributed = jax.process_count() > 1

    def layout(k: int) -> tuple[int, int, dict[str, np.ndarray]]:
        start, stop = k * chunk_size, min((k + 1) * chunk_size, n_total)
        return start, stop, _chunk_parameters(axes, start, stop)

    call_fixed = dict(fixed)
    if save == "final" and not system.discrete and not {"ts", "num_points"} & set(fixed):
        call_fixed["num_points"] = 2  # only the final state is kept: the refill schedule's grid [0, t1]
    if save == "final" and system.discrete and "steps" in fixed and "save_every" not in fixed:
        call_fixed["save_every"] = fixed["steps"]
    with contextlib.ExitStack() as stack:
        reader = None if checkpoint is None else Checkpoint(checkpoint, spec, layout, resume=resume)
        store = stack.enter_context(reader) if reader is not None and is_writer else None
        chunks: dict[int, Any] = {} if store is None else store.finished(n_chunks)
        if distributed and reader is not None:
            chunks = _claim_across_processes(reader, store, chunks, n_chunks)

        bar = _progress_bar(n_total, sum(chunks[k].sizes["trajectory"] for k in chunks), n_chunks, len(chunks),
                            system.name, progress and is_writer)
        if devices is None and distributed:
            devices = jax.devices()  # under jax.distributed a sweep is sharded across every host by default
        context = use_devices(devices) if devices is not None else _null_context()
        failed = sum(int((chunks[k]["status"] != Status.OK).sum()) for k in chunks)
        with context:
            pending = [k for k in range(n_chunks) if k not in chunks]
            while pending:
                busy = []
                for k in pending:
                    # one process: claim each chunk (another process on the directory may hold it);
                    # jax.distributed: process 0 claimed every pending chunk for all processes above
                    state, dataset = ("mine", None) if store is None or distributed else store.acquire(k)
                    if state == "busy":
                        busy.append(k)
                        continue
                    start, stop, parameters = layout(k)
                    if state == "mine":
                        result = run(**parameters, **call_fixed)
                        dataset = _chunk_dataset(start, _extract(result, save),
                                                 np.asarray(result.t) if save == "all" else None)
                        if store is not None:
                            store.write(k, dataset)
                    chunks[k] = dataset
                    failed += int((dataset["status"] != Status.OK).sum())
                    if bar is not None:
                        bar.update(stop - start)
                        bar.set_postfix(chunks=f"{len(chunks)}/{n_chunks}", failed=failed)
                pending = busy
                if pending:
                    store.wait()  # another process is computing these chunks
        if bar is not None:
            bar.close()

        attrs = {"simulate": spec["simulate"], "chunk_size": chunk_size, "save": spec["save"]}
        attrs.update({f"fixed_{k}": _attr(v) for k, v in spec["fixed"].items()})
        result = _assemble([chunks[k] for k in range(n_chunks)], axes, attrs)
        if store is not None:
            store.write_result(result)
    return result


def _attr(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return "none"
    if isinstance(value, list):
        return json.dumps(value)
    return value


class _null_context:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _claim_across_processes(reader: Checkpoint, store: Checkpoint | None, chunks: dict[int, Any],
                            n_chunks: int) -> dict[int, Any]:
    """Under jax.distributed every process must run the same chunks: process 0 (``store``) claims
    every unfinished chunk for all of them and tells them which are finished; they read those."""
    from jax.experimental import multihost_utils

    mask = np.zeros(n_chunks, dtype=np.int32)  # 1: finished, 2: held by a process outside this run
    if store is not None:
        mask[list(chunks)] = 1
        for k in range(n_chunks):
            if k not in chunks:
                state, dataset = store.acquire(k)
                if state == "done":
                    chunks[k] = dataset
                mask[k] = {"done": 1, "busy": 2, "mine": 0}[state]
    mask = np.asarray(multihost_utils.broadcast_one_to_all(mask))
    if np.any(mask == 2):
        raise CheckpointBusyError("the checkpoint directory is in use by a process outside this jax.distributed run; "
                                  "wait for it to finish, or use another directory")
    return {int(k): chunks[k] if k in chunks else reader.load(int(k)) for k in np.flatnonzero(mask == 1)}


def _progress_bar(total: int, initial: int, n_chunks: int, chunks_done: int, name: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, unit="traj", desc=f"sweep {name}", smoothing=0.1)
    bar.set_postfix(chunks=f"{chunks_done}/{n_chunks}")
    return bar


# ------------------------------------------------------------------------------------------------
# Sensitivities through the solver
# ------------------------------------------------------------------------------------------------


def sensitivities(
    simulate: Callable[..., Trajectory],
    quantity: str | Callable[[Trajectory], Any],
    wrt: str | Sequence[str],
    **params: Any,
) -> dict[str, jax.Array]:
    """Derivatives of a quantity of a run with respect to parameters, through the solver.

    ``quantity`` is a variable name (its value at the last output time) or a function of the
    :class:`Trajectory`. Returns ``{name: jax.jacrev(...)}`` for each name in ``wrt``, with shape
    ``quantity.shape + param.shape`` (for independent trajectories and elementwise parameters the
    Jacobian is diagonal). Reverse mode runs through diffrax's checkpointed adjoint.

    >>> import ssl_odes
    >>> d = ssl_odes.sensitivities(ssl_odes.simulate_byol_modes, "p", "eta", p0=0.9, s0=0.81, eta=0.01,
    ...                            simsiam=True, t1=400.0)
    >>> bool(d["eta"] < 0)   # more weight decay, smaller final predictor eigenvalue
    True
    """
    names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"wrt names {missing} must be given as keyword parameters with their values")
    if isinstance(quantity, str):
        variable = quantity
        quantity = lambda result: result.final(variable)  # noqa: E731
    # Validate once on the concrete values (the traced call cannot check ranges).
    concrete = {n: _params.check_real(n, params[n]) for n in names}
    dtype = _params.resolve_dtype(params.get("dtype"))
    primal = {n: jax.numpy.asarray(v, dtype) for n, v in concrete.items()}
    others = {k: v for k, v in params.items() if k not in names}

    def value(values):
        return quantity(simulate(**values, **others))

    return jax.jacrev(value)(primal)


# ------------------------------------------------------------------------------------------------
# Boundaries between collapse and survival
# ------------------------------------------------------------------------------------------------


class Boundary(NamedTuple):
    """Result of :func:`find_boundary`: the bracket ``[lo, hi]`` and its midpoint ``value``."""

    value: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    rounds: int
    evaluations: int


def find_boundary(
    run: Callable[[np.ndarray], Trajectory],
    lo: Any,
    hi: Any,
    *,
    collapsed: Callable[[Trajectory], Any],
    points: int = 15,
    rtol: float = 1e-6,
    atol: float = 0.0,
    max_rounds: int = 60,
) -> Boundary:
    """Locate where ``collapsed(run(x))`` switches, by vectorised multi-section.

    ``run(x)`` receives candidate values of shape ``[*problems, points]`` and returns a
    :class:`Trajectory` of that batch shape (one vmapped call per round); ``collapsed`` maps it
    to a boolean array of the same shape. Each round evaluates ``points`` interior points of
    every bracket and keeps the sub-interval where the label switches, shrinking it by
    ``points + 1``. A trajectory whose status is not OK raises (it cannot be labelled).
    Stops when ``hi - lo <= rtol * |value| + atol`` for every problem.

    The label must switch exactly once on ``[lo, hi]``: checked at the endpoints.
    """
    lo = np.array(_params.check_real("lo", lo), dtype=float)
    hi = np.array(_params.check_real("hi", hi), dtype=float)
    lo, hi = np.broadcast_arrays(lo, hi)
    lo, hi = lo.copy(), hi.copy()
    if np.any(hi <= lo):
        raise ValueError("hi must be greater than lo for every problem")
    points = _params.check_integer("points", points, 1)
    rtol = _params.check_scalar("rtol", rtol)
    atol = _params.check_scalar("atol", atol, _params.NONNEGATIVE)
    max_rounds = _params.check_integer("max_rounds", max_rounds, 1)

    def labels(x: np.ndarray) -> np.ndarray:
        result = run(x)
        if not np.all(result.ok):
            raise ValueError(f"find_boundary: some runs did not finish (status {result.status_counts()}); "
                             "increase max_steps or t1, or narrow [lo, hi]")
        return np.asarray(collapsed(result), dtype=bool)

    ends = labels(np.stack([lo, hi], axis=-1))
    if np.any(ends[..., 0] == ends[..., 1]):
        raise ValueError("collapsed() has the same value at lo and hi for some problems: no boundary to bracket")
    label_lo = ends[..., 0]
    evaluations = 2 * lo.size
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        fractions = np.arange(1, points + 1) / (points + 1)
        x = lo[..., None] + (hi - lo)[..., None] * fractions
        inner = labels(x)
        evaluations += x.size
        flipped = inner != label_lo[..., None]
        # first interior point whose label differs from lo's: the switch is just before it
        first = np.where(flipped.any(-1), flipped.argmax(-1), points)
        grid = np.concatenate([lo[..., None], x, hi[..., None]], axis=-1)
        lo = np.take_along_axis(grid, first[..., None], -1)[..., 0]
        hi = np.take_along_axis(grid, first[..., None] + 1, -1)[..., 0]
        if np.all(hi - lo <= rtol * np.abs(0.5 * (lo + hi)) + atol):
            break
    return Boundary(0.5 * (lo + hi), lo, hi, rounds, evaluations)


def _collapsed_by_s(threshold: float) -> Callable[[Trajectory], np.ndarray]:
    return lambda result: np.asarray(result.final("s")) < threshold


def collapse_separatrix(
    *,
    eta: Any,
    sigma2: Any = 0.0,
    alpha_p: Any = 1.0,
    t1: float = 3000.0,
    rtol: float = 1e-7,
    collapse_threshold_s: float = 1e-8,
    **options: Any,
) -> Boundary:
    """Separatrix of SimSiam modes (``tau = 1``) on the invariant parabola ``s = p^2/alpha_p``, found
    by simulation: the initial ``p0`` below which the mode collapses (``s(t1) < collapse_threshold_s``).

    Theory (002 Eq 16): it is ``p*_-`` of :func:`ssl_odes.byol_modes.fixed_points`. ``eta``,
    ``sigma2``, ``alpha_p`` broadcast (one bisection per combination, all in the same runs).
    """
    from .byol._modes import fixed_points, simulate_byol_modes

    values = _params.check_parameters(eta=eta, sigma2=sigma2, alpha_p=alpha_p)
    _params.check_scalar("collapse_threshold_s", collapse_threshold_s, _params.POSITIVE)
    if np.any(values["eta"] <= 0):
        raise ValueError("eta must be > 0 here: without weight decay the parabola has no separatrix")
    eta_b, sigma2_b, alpha_b = np.broadcast_arrays(values["eta"], values["sigma2"], values["alpha_p"])
    p_plus = np.asarray(fixed_points(1.0, eta_b, sigma2_b)[1])
    if np.any(np.isnan(p_plus)):
        raise ValueError("eta is above the collapse threshold 1/(4(1+sigma2)) for some entries: everything collapses")

    def run(p0):
        return simulate_byol_modes(p0, p0**2 / alpha_b[..., None], eta=eta_b[..., None], sigma2=sigma2_b[..., None],
                                   alpha_p=alpha_b[..., None], simsiam=True, t1=t1, num_points=2, **options)

    # the bracket [0.001 p_+, p_+] needs no knowledge of p_-: it only uses that p_+ attracts
    return find_boundary(run, 1e-3 * p_plus, p_plus, collapsed=_collapsed_by_s(collapse_threshold_s), rtol=rtol)


def critical_weight_decay(
    *,
    sigma2: Any = 0.0,
    alpha_p: Any = 1.0,
    eta_max: float = 1.0,
    t1: float = 5000.0,
    rtol: float = 1e-4,
    collapse_threshold_s: float = 1e-6,
    **options: Any,
) -> Boundary:
    """Weight decay above which a SimSiam mode collapses from every start, found by simulation.

    Each mode starts on the invariant parabola at ``p0 = 1/(1 + sigma2)`` (the largest ``p*_+`` over
    all ``eta``, so it lies in the survival basin whenever one exists). Theory (002 Sec 4, Obs#5):
    ``eta_c = tau^2 / (4 (1 + sigma2))`` with ``tau = 1``. Just above ``eta_c`` the passage past
    the ghost of the saddle-node at ``p = 1/(2(1+sigma2))`` takes ``T ~ 2 pi / sqrt(eta - eta_c)``
    (for ``sigma2 = 0``), so ``t1`` limits the resolution: ``t1 = 5000`` resolves
    ``eta - eta_c ~ 2e-6``, about 1e-5 relative. ``eta_max`` must exceed ``eta_c``; a larger one
    makes the collapsed runs stiffer (decay rate ``2 eta``) for the explicit solver.
    """
    from .byol._modes import simulate_byol_modes

    values = _params.check_parameters(sigma2=sigma2, alpha_p=alpha_p)
    eta_max = _params.check_scalar("eta_max", eta_max, _params.POSITIVE)
    _params.check_scalar("collapse_threshold_s", collapse_threshold_s, _params.POSITIVE)
    sigma2_b, alpha_b = np.broadcast_arrays(values["sigma2"], values["alpha_p"])
    p0 = 1.0 / (1.0 + sigma2_b)

    def run(eta):
        return simulate_byol_modes(p0[..., None], (p0**2 / alpha_b)[..., None], eta=eta, sigma2=sigma2_b[..., None],
                                   alpha_p=alpha_b[..., None], simsiam=True, t1=t1, num_points=2, **options)

    lo = np.full(sigma2_b.shape, 1e-6)
    return find_boundary(run, lo, np.full(sigma2_b.shape, eta_max), collapsed=_collapsed_by_s(collapse_threshold_s),
                         rtol=rtol)
