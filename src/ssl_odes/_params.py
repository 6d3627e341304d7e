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

from ._core.params import Choice, Flag, Integer, Interval, broadcast, is_traced, resolve_dtype, validate
from ._core.params import _describe_bad  # noqa: F401
from ._core.params import time_grid as _time_grid

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
    "is_traced",
]


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
    return validate(name, value, dataclasses.replace(interval, scalar=False))


def check_scalar(name: str, value: Any, interval: Interval | None = None) -> float:
    """Like :func:`check_real` but the value must be a single number."""
    arr = check_real(name, value, interval)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got an array of shape {arr.shape}")
    return arr if is_traced(arr) else float(arr)


def check_integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Check ``value`` is an integer with ``minimum <= value (<= maximum)`` (booleans are not)."""
    return validate(name, value, Integer(minimum, maximum))


def check_flag(name: str, value: Any) -> bool:
    """Check ``value`` is a Python or NumPy bool."""
    return validate(name, value, Flag())


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Check ``value`` is one of the strings in ``choices``."""
    return validate(name, value, Choice(tuple(choices)))


def check_parameters(**values: Any) -> dict[str, np.ndarray]:
    """Validate each keyword against :data:`PARAMETER_RANGES` and return float64 arrays."""
    return {name: check_real(name, value) for name, value in values.items()}


def broadcast_parameters(params: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Broadcast arrays together with NumPy rules (:func:`ssl_odes._core.params.broadcast`)."""
    return broadcast(dict(params))


def time_grid(
    t1: Any, num_points: Any, ts: Any = None, *, default_t1: float | None = None, default_num_points: int | None = None
) -> np.ndarray:
    """The output time grid (:func:`ssl_odes._core.params.time_grid`)."""
    return _time_grid(t1, num_points, ts, default_t1=default_t1, default_num_points=default_num_points)
