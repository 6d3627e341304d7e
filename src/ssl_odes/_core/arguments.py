"""Arguments of the analytic companions (fixed points, invariants, closed forms), validated.

A companion is a plain function, not a declared :class:`~ssl_odes.System`, but its inputs obey
the same contract: each goes through :func:`ssl_odes._core.params.validate` with its domain, so
a boolean, string, ``None``, complex number, NaN, infinity, empty array or out-of-range value
raises an error naming the argument; then the numeric arguments must broadcast together (NumPy
rules, the trailing matrix axes of an :class:`~ssl_odes._core.params.Array` excluded), or a
``ValueError`` names them with their shapes. Traced values (under ``jax.grad`` / ``jit``) pass
through the value checks, as everywhere in the package.

This file adds no checks of its own beyond the domains below, which are ``check_fn`` s of
:class:`~ssl_odes._core.params.Array` built on :mod:`ssl_odes._core.matrices`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from . import matrices
from .params import Array, Domain, Interval, broadcast, is_traced, validate

__all__ = ["arguments", "EIGENVALUE", "TIME_GRID", "SQUARE_MATRICES", "SYMMETRIC_MATRICES", "PSD_MATRICES", "MATRICES"]


def _strictly_increasing(name: str, grid: np.ndarray) -> np.ndarray:
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        bad = int(np.flatnonzero(np.diff(grid) <= 0)[0]) + 1 if grid.size >= 2 else 0
        if grid.size < 2:
            raise ValueError(f"{name} must be a strictly increasing grid of at least 2 times; got {grid.size} time")
        raise ValueError(f"{name} must be a strictly increasing grid of at least 2 times; got {name}[{bad}]="
                         f"{float(grid[bad])!r} after {name}[{bad - 1}]={float(grid[bad - 1])!r}")
    return grid


def _each_matrix(check):
    """A ``check_fn`` applying the 2-D check ``check(name, matrix)`` to every matrix of ``[*batch, n, n]``."""

    def check_fn(name: str, value: np.ndarray) -> np.ndarray:
        if value.shape[-1] != value.shape[-2]:
            raise ValueError(f"{name} must be square matrices [..., n, n]; got shape {value.shape}")
        flat = value.reshape((-1,) + value.shape[-2:])
        return np.stack([check(name, m) for m in flat]).reshape(value.shape)

    return check_fn


#: An eigenvalue of a PSD matrix read off a saved run (``s`` of 002, ``l`` of 003): ``>= 0``, with
#: down to ``-1e-6`` accepted as the integrator's rounding around a collapsed mode (``s = 0`` is
#: invariant, but a solver may step to ``-1e-15``).
EIGENVALUE = Interval(-1e-6)
#: A 1-D grid of finite, strictly increasing times (a saved run's ``t``).
TIME_GRID = Array(ndim=1, doc="a 1-D grid of finite, strictly increasing times", check_fn=_strictly_increasing)
#: Finite real matrices over the last two axes, leading axes broadcast.
MATRICES = Array(ndim=2, doc="finite real matrices [..., m, n]", batched=True)
#: Square matrices ``[..., n, n]``.
SQUARE_MATRICES = Array(ndim=2, doc="finite real square matrices [..., n, n]", batched=True,
                        check_fn=_each_matrix(lambda name, m: m))
#: Symmetric matrices (tolerance :data:`ssl_odes._core.matrices.SYMMETRY_RTOL`), symmetrised.
SYMMETRIC_MATRICES = Array(ndim=2, doc="symmetric matrices [..., n, n]", batched=True,
                           check_fn=_each_matrix(matrices.check_symmetric))
#: Symmetric positive semi-definite matrices (a correlation, ``F = W X W^T``).
PSD_MATRICES = Array(ndim=2, doc="symmetric positive semi-definite matrices [..., n, n]", batched=True,
                     check_fn=_each_matrix(matrices.check_psd))


def arguments(**named: tuple[Any, Domain]) -> dict[str, Any]:
    """Validate ``name=(value, domain)`` pairs and check the numeric ones broadcast together.

    Returns the validated values: ``jax`` arrays for :class:`Interval` and :class:`Array`
    domains (in JAX's default float dtype), the checked value for the others (integers, flags,
    choices). Traced values are returned as they are.

    >>> from ssl_odes._core.params import POSITIVE, REAL
    >>> sorted(arguments(p=([0.1, 0.2], REAL), alpha_p=(1.0, POSITIVE)))
    ['alpha_p', 'p']
    >>> arguments(p=([0.1, 0.2], REAL), s=([1.0, 2.0, 3.0], REAL))
    Traceback (most recent call last):
    ...
    ValueError: parameters do not broadcast together with NumPy rules (batch axes): p(2,), s(3,)
    """
    checked = {name: validate(name, value, domain) for name, (value, domain) in named.items()}
    numeric = {name: checked[name] for name, (_, domain) in named.items() if isinstance(domain, (Interval, Array))}
    core = {name: domain.core_ndim for name, (_, domain) in named.items() if isinstance(domain, Array)}
    batched = {name: value for name, value in numeric.items()
               if not (isinstance(named[name][1], Array) and not named[name][1].batched)}
    if len(batched) > 1:
        broadcast(batched, {n: core[n] for n in batched if n in core})
    for name, value in numeric.items():
        checked[name] = value if is_traced(value) else jnp.asarray(value)
    return checked
