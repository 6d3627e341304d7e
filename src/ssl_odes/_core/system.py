"""A system is a declaration: :class:`Parameter`, :class:`System`, and the registry of systems.

Like a diffrax solver that only declares its tableau while ``AbstractERK`` holds the algorithm,
a paper system only *declares* what it is, and :func:`ssl_odes.simulate` does the rest
(validation, broadcasting, batching, integration or scanning, statuses, packaging):

* its parameters: name, domain (allowed range), default, one-line meaning, all local to the
  system (``eps`` may be negative in 003 and not in DirectPred: two declarations, no clash);
* how the initial state and the arguments are built from the validated values;
* its vector field ``f(t, y, args) -> dy/dt`` (a flow) or step map ``f(t, y, args) -> y_next``
  (a discrete map, ``t`` the step's time), on *one* trajectory's state;
* its named outputs, and optionally a save function for diagnostics of a large state.

Every public ``simulate_*`` is a thin wrapper over ``simulate(SYSTEM, ...)``, and sweeps, the CLI
and the contract test read the same :data:`REGISTRY`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np

from .params import Domain, Interval

__all__ = ["REQUIRED", "Parameter", "Values", "System", "REGISTRY", "register", "get_system", "systems"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a parameter the caller must give.
REQUIRED: Any = _Required()


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One declared parameter of a system.

    ``domain`` says what is allowed (:class:`~ssl_odes._core.params.Interval` values broadcast
    into the batch; flags, choices, integers and arrays are one setting for the whole run).
    ``default`` is ``REQUIRED`` or a value (``None`` means "unset": the system decides, e.g.
    ``tau0`` with ``simsiam``). ``doc`` is the one-line meaning, in the paper's words.
    """

    name: str
    domain: Domain
    default: Any = REQUIRED
    doc: str = ""

    @property
    def batched(self) -> bool:
        return self.domain.batched

    @property
    def core_ndim(self) -> int:
        return getattr(self.domain, "core_ndim", 0) if self.batched else 0

    def describe(self) -> str:
        default = "" if self.default is REQUIRED else f" (default {self.default!r})"
        return f"{self.domain.describe(self.name)}{default}: {self.doc}"


@dataclasses.dataclass(frozen=True)
class Values:
    """The validated inputs of one run, as a system's builders see them.

    ``params``: every *batched* parameter, broadcast to ``batch_shape`` (NumPy, or ``jnp`` when
    traced). ``settings``: every other parameter (flags, choices, integers, arrays), validated.
    ``given``: the batched parameters as given (validated, not broadcast), recorded in the result.
    """

    params: Mapping[str, Any]
    settings: Mapping[str, Any]
    given: Mapping[str, Any]
    batch_shape: tuple[int, ...]
    dtype: np.dtype

    def __getitem__(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        return self.settings[name]

    def batch(self, array: Any) -> np.ndarray:
        """``array`` (one trajectory's value) repeated over the batch: ``[*batch_shape, *array.shape]``."""
        array = np.asarray(array)
        return np.broadcast_to(array, self.batch_shape + array.shape)


def _none(values: Values) -> None:
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class System:
    """The declaration of one flow or discrete map.

    Attributes:
        name: registry key and CLI name (``"byol_modes"``).
        paper: seed paper and equations (``"002 Eqs 11-13"``).
        summary: one line of what it is.
        parameters: the declared :class:`Parameter` s, in the order of the simulator's signature.
        initial_state: ``values -> y0``, a pytree whose leaves are ``[*batch, *state]``.
        args: ``values -> args``, a pytree (an equinox Module, dict or array) with leaves
            ``[*batch, ...]``.
        field: ``settings -> f``. For a flow ``f(t, y, args)`` is ``dy/dt``; for a map it is the
            next state. ``y`` and ``args`` are one trajectory's (no batch axes). Must return the
            same function object for the same settings (cache it), so compiled code is shared.
        outputs: ``(saved, values) -> {name: array}``, the saved pytree (leaves
            ``[*batch, time, ...]``) to named variables. Default: the saved pytree itself if it
            is a dict, else ``{"y": saved}``.
        save: ``settings -> save_fn(t, y, args)`` or None: what is saved at each output time
            instead of the state (diagnostics of a large state). With ``save_args`` it is
            ``save_fn(t, y, args, save_args)``.
        save_args: ``values -> pytree`` (leaves ``[*batch, ...]``) of inputs only the
            diagnostics need (Theorem 1's constant): they stay out of the flow's ``args``.
        check: ``values -> None | dict``, cross-parameter checks (raise ``ValueError`` naming
            them); may return ``{name: value}`` for batched parameters left unset, which are then
            validated and broadcast like the given ones (``tau0 = 0`` unless SimSiam).
        extra_settings: ``values -> dict`` of extra run settings to record (sizes, data kind).
        record: ``values -> names`` of the batched parameters recorded in the result (default:
            all). Parameters a variant does not use are validated but not recorded.
        flow_name: ``values -> str``, the result's ``flow`` label (default ``name``).
        discrete: a step map run by ``lax.scan`` instead of a flow integrated by diffrax.
        time_step: for a map, ``values -> dt``: step ``k`` is at time ``k * dt`` (``lr``).
        t1, num_points: a flow's default output grid.
        example: small valid keyword arguments for the registry's contract test and the CLI.
    """

    name: str
    paper: str
    summary: str
    parameters: tuple[Parameter, ...]
    initial_state: Callable[[Values], Any]
    args: Callable[[Values], Any]
    field: Callable[[Mapping[str, Any]], Callable[..., Any]]
    outputs: Callable[[Any, Values], Mapping[str, Any]] | None = None
    save: Callable[[Mapping[str, Any]], Callable[..., Any] | None] | None = None
    save_args: Callable[[Values], Any] | None = None
    check: Callable[[Values], Mapping[str, Any] | None] = _none
    extra_settings: Callable[[Values], Mapping[str, Any]] | None = None
    record: Callable[[Values], tuple[str, ...]] | None = None
    flow_name: Callable[[Values], str] | None = None
    discrete: bool = False
    time_step: Callable[[Values], float] | None = None
    t1: float = 100.0
    num_points: int = 1001
    example: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"system {self.name!r} declares a parameter twice: {names}")
        reserved = {"t1", "num_points", "ts", "steps", "save_every", "options", "dtype", "rtol", "atol", "max_steps",
                    "bound", "solver", "schedule"}
        clash = reserved & set(names)
        if clash:
            raise ValueError(f"system {self.name!r} declares reserved names {sorted(clash)}")
        if self.discrete and self.time_step is None:
            raise ValueError(f"discrete system {self.name!r} must declare time_step")

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def batched_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.batched)

    def describe(self) -> str:
        """A multi-line description: name, paper, summary and each parameter with its range."""
        kind = "discrete map" if self.discrete else "flow"
        lines = [f"{self.name}  ({kind}; {self.paper})", f"  {self.summary}"]
        lines += [f"  - {p.describe()}" for p in self.parameters]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"System({self.name!r}, {self.paper!r})"


#: Every declared system, by name. Paper packages register theirs when imported.
REGISTRY: dict[str, System] = {}


def register(system: System) -> System:
    """Add ``system`` to :data:`REGISTRY` (a name can be registered once)."""
    if not isinstance(system, System):
        raise TypeError(f"register takes a System; got {system!r}")
    existing = REGISTRY.get(system.name)
    if existing is not None and existing is not system:
        raise ValueError(f"a system named {system.name!r} is already registered")
    REGISTRY[system.name] = system
    return system


def get_system(system: "System | str | Callable") -> System:
    """A :class:`System` from itself, its registry name, or a ``simulate_*`` wrapper of it."""
    if isinstance(system, System):
        return system
    if isinstance(system, str):
        if system not in REGISTRY:
            raise ValueError(f"unknown system {system!r}; registered systems: {sorted(REGISTRY)}")
        return REGISTRY[system]
    declared = getattr(system, "system", None)
    if isinstance(declared, System):
        return declared
    raise TypeError(f"expected a System, a registered system name or a simulate_* function; got {system!r}")


def systems() -> dict[str, System]:
    """A copy of the registry, sorted by name."""
    return dict(sorted(REGISTRY.items()))


