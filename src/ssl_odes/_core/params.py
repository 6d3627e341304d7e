"""Parameter domains and the package's one validation function.

A system declares each of its parameters with a *domain* (:class:`Interval`, :class:`Integer`,
:class:`Flag`, :class:`Choice`, :class:`Matrix`, :class:`Array`). :func:`validate` checks a value
against its domain before anything is traced, so a bad value raises an error that names the
parameter, the offending value (with its index in an array) and the allowed range:

* a wrong *type* (a string, ``None``, a complex number, a boolean where a number is meant) raises
  :class:`TypeError`;
* a value of the right type outside the domain (NaN, out of range, wrong shape, not PSD) raises
  :class:`ValueError`.

Both name the parameter. Nothing is clipped silently.

**The traced-value rule** lives here and only here: under ``jax.grad`` / ``jit`` / ``vmap`` a
numeric value is a tracer whose numbers are unknown, so only its dtype is checked and it passes
through. Every simulator is therefore differentiable end to end, and the value checks apply to
the concrete call.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Domain",
    "Interval",
    "Integer",
    "Flag",
    "Choice",
    "Matrix",
    "Array",
    "REAL",
    "POSITIVE",
    "NONNEGATIVE",
    "UNIT_OPEN",
    "validate",
    "is_traced",
    "broadcast",
    "resolve_dtype",
    "time_grid",
]


def is_traced(value: Any) -> bool:
    """True for a value being traced by a JAX transformation (its numbers are not known yet)."""
    return isinstance(value, jax.core.Tracer)


def _is_bool(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.dtype(dtype) == np.bool_


def _fmt(x: float) -> str:
    return f"{x:g}"


def _describe_bad(name: str, arr: np.ndarray, bad: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{name}={arr.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    more = f" ({count} offending entries)" if count > 1 else ""
    return f"{name}={arr[index].item()!r} at index {index} of an array of shape {arr.shape}{more}"


def _real_array(name: str, value: Any, allowed: str) -> np.ndarray:
    """``value`` as a float64 array, or a TypeError for strings, None, bools, complex, objects."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be {allowed}; got {name}={value!r} ({type(value).__name__})")
    if _is_bool(value):
        raise TypeError(f"{name} must be {allowed}, not a boolean; got {name}={value!r}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nested lists and the like
        raise TypeError(f"{name} must be {allowed}; got {value!r} (not a rectangular array)") from err
    if arr.dtype == np.bool_:
        raise TypeError(f"{name} must be {allowed}, not booleans; got {name}={value!r}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {allowed}; got {name}={value!r} (dtype {arr.dtype})")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got an array of shape {arr.shape}")
    arr = arr.astype(np.float64)
    nonfinite = ~np.isfinite(arr)
    if nonfinite.any():
        raise ValueError(f"{name} must be finite ({allowed}); got {_describe_bad(name, arr, nonfinite)}")
    return arr


class Domain:
    """The set of allowed values of one parameter. Subclasses implement :meth:`check` and :meth:`describe`."""

    #: Whether values broadcast into the batch (numbers) or are one setting for the whole run.
    batched: bool = False

    def check(self, name: str, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self, name: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def bad_values(self) -> list[Any]:
        """Values outside the domain (used by the registry's contract test)."""
        return [None, "x"]


@dataclasses.dataclass(frozen=True)
class Interval(Domain):
    """A (possibly half-open, possibly unbounded) interval of the real line.

    Values are real numbers or arrays of them, broadcast into the batch with NumPy rules.
    ``scalar=True`` asks for a single number (one value for the whole batch).
    """

    lower: float = -math.inf
    upper: float = math.inf
    lower_closed: bool = True
    upper_closed: bool = True
    scalar: bool = False

    @property
    def batched(self) -> bool:  # type: ignore[override]
        return not self.scalar

    def contains(self, x: np.ndarray) -> np.ndarray:
        above = x >= self.lower if self.lower_closed else x > self.lower
        below = x <= self.upper if self.upper_closed else x < self.upper
        return above & below

    def describe(self, name: str) -> str:
        """The condition in words, e.g. ``"alpha_p > 0"`` or ``"0 <= gamma_ema < 1"``."""
        has_lower = self.lower != -math.inf
        has_upper = self.upper != math.inf
        lo = "<=" if self.lower_closed else "<"
        hi = "<=" if self.upper_closed else "<"
        if has_lower and has_upper:
            return f"{_fmt(self.lower)} {lo} {name} {hi} {_fmt(self.upper)}"
        if has_lower:
            return f"{name} {'>=' if self.lower_closed else '>'} {_fmt(self.lower)}"
        if has_upper:
            return f"{name} {hi} {_fmt(self.upper)}"
        return f"{name} finite"

    def check(self, name: str, value: Any) -> Any:
        if is_traced(value):
            if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
                raise TypeError(f"{name} must be real; got a traced value of dtype {value.dtype}")
            if self.scalar and value.ndim != 0:
                raise ValueError(f"{name} must be a scalar; got an array of shape {value.shape}")
            return value
        allowed = "a real number" if self.scalar else "a real number or array of real numbers"
        arr = _real_array(name, value, f"{allowed} with {self.describe(name)}")
        outside = ~self.contains(arr)
        if outside.any():
            raise ValueError(f"{name} must satisfy {self.describe(name)}; got {_describe_bad(name, arr, outside)}")
        if self.scalar and arr.ndim != 0:
            raise ValueError(f"{name} must be a scalar; got an array of shape {arr.shape} ({self.describe(name)})")
        return float(arr) if self.scalar else arr

    def bad_values(self) -> list[Any]:
        bad: list[Any] = [None, "x", True, complex(1, 1), math.nan, []]
        if self.lower != -math.inf:
            bad.append(self.lower - 1.0 if self.lower_closed else self.lower)
        if self.upper != math.inf:
            bad.append(self.upper + 1.0 if self.upper_closed else self.upper)
        return bad


REAL = Interval()
POSITIVE = Interval(0.0, math.inf, lower_closed=False)
NONNEGATIVE = Interval(0.0)
UNIT_OPEN = Interval(0.0, 1.0, lower_closed=False, upper_closed=False)


@dataclasses.dataclass(frozen=True)
class Integer(Domain):
    """An integer ``minimum <= value (<= maximum)``, one for the whole run (a size or a count)."""

    minimum: int = 0
    maximum: int | None = None

    def describe(self, name: str) -> str:
        return f"integer {self._condition(name)}"

    def _condition(self, name: str) -> str:
        if self.maximum is None:
            return f"{name} >= {self.minimum}"
        return f"{self.minimum} <= {name} <= {self.maximum}"

    def check(self, name: str, value: Any) -> int:
        if _is_bool(value) or not isinstance(value, (int, np.integer, float, np.floating)):
            raise TypeError(f"{name} must be an integer {self._condition(name).replace(name + ' ', '', 1)}; "
                            f"got {name}={value!r} ({type(value).__name__})")
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise ValueError(f"{name} must be an integer {self._condition(name).replace(name + ' ', '', 1)}; got {name}={value!r}")
        value = int(value)
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{name} must satisfy {self._condition(name)}; got {name}={value!r}")
        return value

    def bad_values(self) -> list[Any]:
        bad: list[Any] = [None, "x", True, self.minimum - 1, self.minimum + 0.5]
        if self.maximum is not None:
            bad.append(self.maximum + 1)
        return bad


@dataclasses.dataclass(frozen=True)
class Flag(Domain):
    """``True`` or ``False`` (a Python or NumPy bool; ``0``/``1`` are not flags)."""

    def describe(self, name: str) -> str:
        return f"{name} True or False"

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {name}={value!r} ({type(value).__name__})")
        return bool(value)

    def bad_values(self) -> list[Any]:
        return [None, "yes", 1, 0.0]


@dataclasses.dataclass(frozen=True)
class Choice(Domain):
    """One of a fixed set of strings."""

    choices: tuple[str, ...] = ()

    def describe(self, name: str) -> str:
        return f"{name} one of {', '.join(map(repr, self.choices))}"

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be one of {', '.join(map(repr, self.choices))}; got {name}={value!r}")
        if value not in self.choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, self.choices))}; got {name}={value!r}")
        return value

    def bad_values(self) -> list[Any]:
        return [None, 1, "not-a-choice"]


@dataclasses.dataclass(frozen=True)
class Array(Domain):
    """A finite real array, one for the whole run (data, an initial matrix).

    ``ndim`` fixes the number of axes when given. ``check_fn(name, array) -> array``, when given,
    adds the domain's own checks (symmetric, PSD, unit norm, a shape that matches another input);
    it raises ``ValueError`` naming ``name``. ``doc`` says what is allowed, in words.
    """

    ndim: int | None = None
    doc: str = "a finite real array"
    check_fn: Callable[[str, np.ndarray], np.ndarray] | None = None
    batched: bool = False
    axes: str = ""

    @property
    def core_ndim(self) -> int:
        """Trailing axes that belong to one trajectory; a batched array's leading axes broadcast."""
        return self.ndim or 0

    def describe(self, name: str) -> str:
        batch = " (leading axes broadcast into the batch)" if self.batched else ""
        return f"{name} {self.doc}{batch}"

    def check(self, name: str, value: Any) -> np.ndarray:
        if is_traced(value):
            return value
        arr = _real_array(name, value, self.doc)
        if self.ndim is not None:
            if self.batched and arr.ndim < self.ndim:
                names = self.axes.split() if self.axes else [f"n{i + 1}" for i in range(self.ndim)]
                raise ValueError(f"{name} must have shape [..., {', '.join(names)}] ({self.doc}); got an array of shape {arr.shape}")
            if not self.batched and arr.ndim != self.ndim:
                raise ValueError(f"{name} must be {self.doc} with {self.ndim} axes; got an array of shape {arr.shape}")
        return arr if self.check_fn is None else self.check_fn(name, arr)

    def bad_values(self) -> list[Any]:
        return [None, "x", True, [math.nan] * 2]


def Matrix(doc: str = "a finite real matrix", check_fn: Callable | None = None, batched: bool = False,  # noqa: N802
           axes: str = "") -> Array:
    """A 2-D :class:`Array` (``batched=True``: ``[*batch, m, n]``, the leading axes broadcast; ``axes``
    names the two axes in messages, e.g. ``"d d"``)."""
    return Array(ndim=2, doc=doc, check_fn=check_fn, batched=batched, axes=axes)


def validate(name: str, value: Any, domain: Domain) -> Any:
    """The package's one validation function: ``domain.check(name, value)``.

    >>> validate("alpha_p", [1.0, 2.0], POSITIVE)
    array([1., 2.])
    >>> validate("alpha_p", -1.0, POSITIVE)
    Traceback (most recent call last):
    ...
    ValueError: alpha_p must satisfy alpha_p > 0; got alpha_p=-1.0
    >>> validate("eta", True, NONNEGATIVE)
    Traceback (most recent call last):
    ...
    TypeError: eta must be a real number or array of real numbers with eta >= 0, not a boolean; got eta=True
    """
    if not isinstance(domain, Domain):
        raise TypeError(f"the domain of {name} must be a Domain; got {domain!r}")
    return domain.check(name, value)


def broadcast(params: dict[str, Any], core_ndim: dict[str, int] | None = None) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Broadcast arrays together with NumPy rules; return the broadcast arrays and batch shape.

    ``core_ndim[name]`` trailing axes of a parameter belong to one trajectory (a matrix state):
    only its leading axes take part in the broadcast.

    >>> out, shape = broadcast({"p0": np.zeros(3), "eta": np.zeros((2, 1))})
    >>> shape
    (2, 3)
    >>> out, shape = broadcast({"A0": np.zeros((4, 2, 2)), "eta": np.zeros(1)}, {"A0": 2})
    >>> shape, out["A0"].shape
    ((4,), (4, 2, 2))
    """
    core_ndim = core_ndim or {}
    names = list(params)
    batch_of = {n: np.shape(params[n])[: np.ndim(params[n]) - core_ndim.get(n, 0)] for n in names}
    try:
        shape = tuple(np.broadcast_shapes(*batch_of.values()))
    except ValueError as err:
        shapes = ", ".join(f"{n}{batch_of[n]}" for n in names)
        raise ValueError(f"parameters do not broadcast together with NumPy rules (batch axes): {shapes}") from err
    xp = jnp if any(is_traced(params[n]) for n in names) else np
    return {n: xp.broadcast_to(params[n], shape + np.shape(params[n])[len(batch_of[n]):]) for n in names}, shape


def resolve_dtype(dtype: Any) -> np.dtype:
    """The floating dtype of a run: ``None`` means JAX's default float (float64 under x64).

    Asking for float64 while ``jax_enable_x64`` is off raises instead of silently running in
    float32.
    """
    if dtype is None:
        return np.dtype(jnp.zeros(()).dtype)
    if isinstance(dtype, bool):
        raise TypeError(f"dtype must be float32 or float64; got dtype={dtype!r}")
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be float32 or float64; got dtype={dtype!r}") from err
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got dtype={dtype!r}")
    if resolved == np.float64 and not jax.config.read("jax_enable_x64"):
        raise ValueError(
            "dtype=float64 needs 64-bit JAX: call jax.config.update('jax_enable_x64', True) "
            "(or set JAX_ENABLE_X64=1) before creating arrays"
        )
    return resolved


def time_grid(
    t1: Any, num_points: Any, ts: Any = None, *, default_t1: float, default_num_points: int,
    dtype: Any = np.float64,
) -> np.ndarray:
    """The output time grid: ``linspace(0, t1, num_points)``, or a user grid ``ts``.

    Without ``ts``, an unset ``t1`` / ``num_points`` takes the system's default. A user grid must
    be 1-D, finite, start at ``t >= 0``, be strictly increasing and end at ``t > 0``. The grid must
    stay strictly increasing once rounded to the run's ``dtype`` (a grid whose points collapse in
    float32 is an error, not a silent repeat).
    """
    if ts is None:
        t1 = default_t1 if t1 is None else t1
        num_points = default_num_points if num_points is None else num_points
    if ts is not None:
        if t1 is not None or num_points is not None:
            raise ValueError("give either ts or (t1, num_points), not both; got ts and t1/num_points")
        grid = validate("ts", ts, NONNEGATIVE)
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError(f"ts must be a 1-D array of at least 2 times; got shape {grid.shape}")
        steps = np.diff(grid)
        if np.any(steps <= 0):
            raise ValueError(f"ts must be strictly increasing; got {_describe_bad('ts', grid[1:], steps <= 0)}")
    else:
        t1 = validate("t1", t1, Interval(0.0, math.inf, lower_closed=False, scalar=True))
        num_points = validate("num_points", num_points, Integer(2))
        grid = np.linspace(0.0, t1, num_points)
    rounded = grid.astype(dtype)
    if rounded[-1] <= 0 or np.any(np.diff(rounded) <= 0):
        raise ValueError(
            f"the output times must be strictly increasing and end at t > 0 in {np.dtype(dtype).name}; "
            f"got a grid from {grid[0]!r} to {grid[-1]!r} whose points collapse when rounded "
            "(space them further apart, or use float64)"
        )
    return grid
