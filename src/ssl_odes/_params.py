"""Validation and broadcasting of parameters, shared by every public function.

Every public entry point of the package calls these helpers *before* anything is traced, so a bad
value raises a :class:`ValueError` that names the parameter, the offending value and the allowed
range. Nothing is silently clipped.

The allowed range of each parameter name used across the papers lives in one table,
:data:`PARAMETER_RANGES`, so that ``alpha_p`` means the same thing (and is checked the same way)
in every flow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._integrate import SOLVERS

__all__ = [
    "Interval",
    "PARAMETER_RANGES",
    "check_real",
    "check_scalar",
    "check_integer",
    "check_flag",
    "check_choice",
    "check_parameters",
    "broadcast_parameters",
    "resolve_dtype",
    "time_grid",
    "check_solver_options",
    "is_traced",
]


@dataclasses.dataclass(frozen=True)
class Interval:
    """A (possibly half-open, possibly unbounded) interval of the real line."""

    lower: float = -math.inf
    upper: float = math.inf
    lower_closed: bool = True
    upper_closed: bool = True

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


def _fmt(x: float) -> str:
    return f"{x:g}"


REAL = Interval()
POSITIVE = Interval(0.0, math.inf, lower_closed=False)
NONNEGATIVE = Interval(0.0)

#: Allowed range of every named parameter of the package (SPEC conventions). A flow that
#: introduces a new parameter adds it here, once.
PARAMETER_RANGES: dict[str, Interval] = {
    # 002, Lemma 1 and Eqs 11-13
    "alpha_p": POSITIVE,  # predictor learning-rate ratio
    "beta": NONNEGATIVE,  # EMA rate (1 - gamma_ema) / lr
    "eta": NONNEGATIVE,  # weight decay / lr
    "sigma2": NONNEGATIVE,  # augmentation variance
    "p0": REAL,  # initial predictor eigenvalue
    "s0": NONNEGATIVE,  # initial eigenvalue of F = W X W^T (PSD)
    "tau0": REAL,  # initial W_a / W ratio
    "tau": REAL,
    "p": REAL,  # a predictor eigenvalue (state)
    "s": NONNEGATIVE,  # an eigenvalue of F (state)
    # 002 Eqs 18-19 and Table 7 (DirectPred)
    "c_shift": REAL,  # Table 7's c_j: p_j = sqrt(max(s_j - c_j, 0))
    "rho": Interval(0.0, 1.0, upper_closed=False),  # moving-average rate of F_hat (Eq 19)
    # 002 Sec 2 (linear BYOL): random initialisation scales
    "init_scale": POSITIVE,  # W0 entries ~ N(0, init_scale^2 / n1)
    "predictor_scale": NONNEGATIVE,  # Wp0 entries ~ N(0, predictor_scale^2 / n2)
    # 000 Eq 10-11 / App. F.3 (EMA as a discrete linear system) and discrete-time BYOL
    "lr": POSITIVE,  # learning rate (step size) of a discrete recurrence
    "gamma_ema": Interval(0.0, 1.0, upper_closed=False),  # EMA decay; 1 - gamma_ema = beta * lr
    "lam": REAL,  # 000 Eq 10's lambda (lam < 0: the EMA target is magnified more than w)
    "w0": REAL,  # initial weight of the 000 Eq 134 recurrence
    "w_ema0": REAL,  # initial EMA weight (the paper's z-transform assumes 0)
    # 003 Thm 4, Eqs 54-55 (SimSiam local eigen-dynamics)
    "c": Interval(0.0, 1.0, lower_closed=False),  # cosine z2^T p1, "close to 1"
    # eps: 003's augmentation term epsilon_i (either sign). DirectPred's eps (002 Eq 18, p_j =
    # sqrt(s_j) + eps max_j s_j) is validated as eps >= 0 where it is used.
    "eps": REAL,
    "z_norm": POSITIVE,  # ||z||, held constant
    "p_norm": POSITIVE,  # ||p||, held constant
    "r1": POSITIVE,  # learning rate of W_p
    "r2": POSITIVE,  # learning rate of z
    "l_p0": REAL,  # initial predictor eigenvalue lambda_p^i
    "l0": NONNEGATIVE,  # initial eigenvalue lambda^i of the correlation (PSD)
    "l_p": REAL,  # a predictor eigenvalue lambda_p^i (state)
    "l": NONNEGATIVE,  # an eigenvalue lambda^i of the correlation (state)
    "collapse_tol": Interval(0.0, 1.0, lower_closed=False, upper_closed=False),
    # 003 Thm 1-3, Eqs 8, 11-13 (the generalisation bound)
    "l_cor": NONNEGATIVE,  # ||Lambda - I_d||_F^2
    "lambda_bt": POSITIVE,  # Barlow Twins off-diagonal weight (the paper's lambda)
    "class_probs": Interval(0.0, 1.0),  # latent-class probabilities p_i
    # the empirical companion (issue 6): a training run's hyper-parameters (lr as above;
    # its gamma_ema may be 1, a frozen target, and is validated with [0, 1] there)
    "momentum": Interval(0.0, 1.0, upper_closed=False),  # heavy-ball momentum
    "weight_decay": NONNEGATIVE,  # SGD weight-decay coefficient (= the flow's eta)
    "temperature": POSITIVE,  # NT-Xent temperature
    "directpred_rho": Interval(0.0, 1.0, upper_closed=False),  # 002 Eq 19 moving-average rate
    "directpred_eps": REAL,  # 002 Eq 18 regulariser (the released code allows it negative)
    # integration
    "t1": POSITIVE,
    "rtol": POSITIVE,
    "atol": POSITIVE,
    "bound": POSITIVE,
}


def check_real(name: str, value: Any, interval: Interval | None = None) -> np.ndarray:
    """Convert ``value`` to a float64 NumPy array and check it is finite and inside ``interval``.

    ``interval`` defaults to ``PARAMETER_RANGES[name]`` (or the whole real line when the name is
    not in the table). Raises ``ValueError`` naming the parameter, the first offending value (and
    its index for arrays) and the allowed range.

    >>> check_real("alpha_p", [1.0, 2.0])
    array([1., 2.])
    >>> check_real("alpha_p", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha_p must satisfy alpha_p > 0; got alpha_p=-1.0
    """
    if interval is None:
        interval = PARAMETER_RANGES.get(name, REAL)
    if is_traced(value):
        # Under jax.grad / jit / vmap the value is unknown: check what can be checked (a real
        # dtype) and pass it through, so that every simulator is differentiable end to end.
        if not jnp.issubdtype(value.dtype, jnp.floating) and not jnp.issubdtype(value.dtype, jnp.integer):
            raise ValueError(f"{name} must be real; got a traced value of dtype {value.dtype}")
        return value
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - defensive (ragged lists and the like)
        raise ValueError(f"{name} must be a real number or array of real numbers; got {value!r}") from err
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a real number or array of real numbers; got {value!r} (dtype {arr.dtype})"
        )
    arr = arr.astype(np.float64)
    nonfinite = ~np.isfinite(arr)
    if nonfinite.any():
        raise ValueError(
            f"{name} must be finite ({interval.describe(name)}); got {_describe_bad(name, arr, nonfinite)}"
        )
    outside = ~interval.contains(arr)
    if outside.any():
        raise ValueError(f"{name} must satisfy {interval.describe(name)}; got {_describe_bad(name, arr, outside)}")
    return arr


def is_traced(value: Any) -> bool:
    """True for a value being traced by a JAX transformation (its numbers are not known yet)."""
    return isinstance(value, jax.core.Tracer)


def _describe_bad(name: str, arr: np.ndarray, bad: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{name}={arr.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    more = f" ({count} offending entries)" if count > 1 else ""
    return f"{name}={arr[index].item()!r} at index {index} of an array of shape {arr.shape}{more}"


def check_scalar(name: str, value: Any, interval: Interval | None = None) -> float:
    """Like :func:`check_real` but the value must be a single number."""
    arr = check_real(name, value, interval)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got an array of shape {arr.shape}")
    return arr if is_traced(arr) else float(arr)


def check_integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Check ``value`` is an integer with ``minimum <= value (<= maximum)``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if not (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            raise ValueError(f"{name} must be an integer >= {minimum}; got {name}={value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"{minimum} <= {name} <= {maximum}" if maximum is not None else f"{name} >= {minimum}"
        raise ValueError(f"{name} must satisfy {allowed}; got {name}={value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """Check ``value`` is a Python or NumPy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {name}={value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Check ``value`` is one of the strings in ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {name}={value!r}")
    return value


def check_parameters(**values: Any) -> dict[str, np.ndarray]:
    """Validate each keyword against :data:`PARAMETER_RANGES` and return float64 arrays."""
    return {name: check_real(name, value) for name, value in values.items()}


def broadcast_parameters(params: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Broadcast arrays together with NumPy rules; return the broadcast arrays and batch shape.

    >>> out, shape = broadcast_parameters({"p0": np.zeros(3), "eta": np.zeros((2, 1))})
    >>> shape
    (2, 3)
    """
    names = list(params)
    try:
        shape = np.broadcast_shapes(*(np.shape(params[n]) for n in names))
    except ValueError as err:
        shapes = ", ".join(f"{n}{tuple(np.shape(params[n]))}" for n in names)
        raise ValueError(f"parameters do not broadcast together with NumPy rules: {shapes}") from err
    if any(is_traced(params[n]) for n in names):
        return {n: jnp.broadcast_to(params[n], shape) for n in names}, tuple(shape)
    return {n: np.broadcast_to(params[n], shape) for n in names}, tuple(shape)


def resolve_dtype(dtype: Any) -> np.dtype:
    """The floating dtype of a run: ``None`` means JAX's default float (float64 under x64).

    Asking for float64 while ``jax_enable_x64`` is off raises instead of silently running in
    float32.
    """
    if dtype is None:
        return np.dtype(jnp.zeros(()).dtype)
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
    t1: Any, num_points: Any, ts: Any = None, *, default_t1: float | None = None, default_num_points: int | None = None
) -> np.ndarray:
    """The output time grid: ``linspace(0, t1, num_points)``, or a user grid ``ts``.

    Without ``ts``, an unset ``t1`` / ``num_points`` takes the simulator's default. A user grid
    must be 1-D, finite, start at ``t >= 0`` and be strictly increasing; the integration always
    starts at ``t = 0``.
    """
    if ts is None:
        t1 = default_t1 if t1 is None else t1
        num_points = default_num_points if num_points is None else num_points
    if ts is not None:
        if t1 is not None or num_points is not None:
            raise ValueError("give either ts or (t1, num_points), not both; got ts and t1/num_points")
        grid = check_real("ts", ts, NONNEGATIVE)
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError(f"ts must be a 1-D array of at least 2 times; got shape {grid.shape}")
        if np.any(np.diff(grid) <= 0):
            raise ValueError("ts must be strictly increasing")
        if grid[-1] <= 0:
            raise ValueError(f"ts must end at t > 0; got ts[-1]={grid[-1]!r}")
        return grid
    t1 = check_scalar("t1", t1)
    num_points = check_integer("num_points", num_points, 2)
    return np.linspace(0.0, t1, num_points)


def check_solver_options(rtol: Any, atol: Any, max_steps: Any, bound: Any, solver: Any = "tsit5") -> dict[str, Any]:
    """Validate the integrator options shared by every simulator.

    ``rtol``/``atol``/``bound`` may be ``None`` (the dtype's default); otherwise positive finite
    scalars. ``max_steps`` is an integer >= 1. ``solver`` names one of ``_integrate.SOLVERS``.
    """
    return {
        "solver": check_choice("solver", solver, tuple(SOLVERS)),
        "rtol": None if rtol is None else check_scalar("rtol", rtol),
        "atol": None if atol is None else check_scalar("atol", atol),
        "max_steps": check_integer("max_steps", max_steps, 1),
        "bound": None if bound is None else check_scalar("bound", bound),
    }
