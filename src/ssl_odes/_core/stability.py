"""Stability of fixed points from the Jacobian of a vector field (``jax.jacfwd``).

For a fixed point ``y*`` of ``dy/dt = f(t, y, args)`` the linearisation ``J = df/dy(y*)`` decides
local stability when no eigenvalue of ``J`` has zero real part (a *hyperbolic* point):

* all ``Re(lambda) < 0``: **stable**; all ``Re(lambda) > 0``: **unstable**; mixed: **saddle**.

Fixed points of the papers' flows are often not hyperbolic: 002 Fig 3 (left) has whole *lines*
of fixed points, along which ``J`` has a zero eigenvalue. For those the label is taken from the
non-zero eigenvalues only (transverse stability, which is how the paper colours the lines) and
``hyperbolic`` is False. When every eigenvalue is zero the label is ``"degenerate"``.

For a scalar flow ``dp/dt = f(p)`` (002 Eq 16, Fig 4), :func:`classify_scalar_fixed_point`
goes beyond the first derivative: if ``f'(p*) = 0`` the first non-vanishing derivative decides
(odd order: its sign; even order: semi-stable, which 002 Fig 4 calls a **saddle**).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

__all__ = ["FixedPointStability", "jacobian", "classify_fixed_point", "classify_scalar_fixed_point"]


class FixedPointStability(NamedTuple):
    """Label (``stable``/``unstable``/``saddle``/``degenerate``), Jacobian eigenvalues, and
    whether the point is hyperbolic (no eigenvalue with zero real part)."""

    label: str
    eigenvalues: np.ndarray
    hyperbolic: bool


def jacobian(vector_field: Callable, y: Any, args: Any, t: float = 0.0) -> jax.Array:
    """Jacobian ``d f / d y`` at ``y`` (pytree states are flattened), via ``jax.jacfwd``.

    >>> import jax.numpy as jnp
    >>> jacobian(lambda t, y, a: -a * y, jnp.ones(2), 3.0).tolist()
    [[-3.0, -0.0], [-0.0, -3.0]]
    """
    flat, unravel = ravel_pytree(y)

    def flat_field(z):
        return ravel_pytree(vector_field(t, unravel(z), args))[0]

    return jax.jacfwd(flat_field)(flat)


def _label(real_parts: np.ndarray) -> str:
    negative, positive = np.any(real_parts < 0), np.any(real_parts > 0)
    if negative and positive:
        return "saddle"
    if negative:
        return "stable"
    if positive:
        return "unstable"
    return "degenerate"


def classify_fixed_point(
    vector_field: Callable,
    y_star: Any,
    args: Any,
    *,
    t: float = 0.0,
    zero_tol: float | None = None,
    residual_tol: float | None = None,
) -> FixedPointStability:
    """Classify the fixed point ``y_star`` of ``vector_field`` by its Jacobian eigenvalues.

    Eigenvalues with ``|Re| <= zero_tol * max(1, max|lambda|)`` count as zero (non-hyperbolic
    directions) and do not enter the label. Raises ``ValueError`` if ``y_star`` is not a fixed
    point: ``|f(y*)| > residual_tol * (1 + |y*|)``. Defaults follow the state's dtype:
    ``zero_tol = sqrt(eps)`` and ``residual_tol = 100 eps`` (eps of float32 or float64).
    """
    flat, unravel = ravel_pytree(y_star)
    eps = float(jnp.finfo(flat.dtype).eps)
    zero_tol = eps**0.5 if zero_tol is None else zero_tol
    residual_tol = 100.0 * eps if residual_tol is None else residual_tol
    residual = float(jnp.max(jnp.abs(ravel_pytree(vector_field(t, y_star, args))[0])))
    scale = 1.0 + float(jnp.max(jnp.abs(flat)))
    if not np.isfinite(residual) or residual > residual_tol * scale:
        raise ValueError(
            f"y_star is not a fixed point: max|f(y_star)| = {residual:.3g} > residual_tol * (1 + max|y_star|) "
            f"= {residual_tol * scale:.3g}"
        )
    eigenvalues = np.linalg.eigvals(np.asarray(jacobian(vector_field, y_star, args, t)))
    cutoff = zero_tol * max(1.0, float(np.max(np.abs(eigenvalues))))
    real = eigenvalues.real
    nonzero = np.abs(real) > cutoff
    return FixedPointStability(_label(real[nonzero]), eigenvalues, bool(np.all(nonzero)))


def classify_scalar_fixed_point(
    f: Callable[[jax.Array], jax.Array], p_star: float, *, zero_tol: float = 1e-9, max_order: int = 5
) -> str:
    """Classify a fixed point of the scalar flow ``dp/dt = f(p)`` by its first non-zero derivative.

    Order 1 (hyperbolic) or any odd order: negative means ``"stable"``, positive ``"unstable"``.
    Even order: ``"saddle"`` (semi-stable: attracting on one side, repelling on the other; 002
    Fig 4's label for ``p = 0`` at ``eta = 0``). All derivatives up to ``max_order`` zero:
    ``"degenerate"``.

    >>> classify_scalar_fixed_point(lambda p: p**2 * (1.0 - p), 0.0)
    'saddle'
    >>> classify_scalar_fixed_point(lambda p: p**2 * (1.0 - p), 1.0)
    'stable'
    """
    x = jnp.asarray(p_star, dtype=jnp.result_type(float))
    derivative = f
    for order in range(1, max_order + 1):
        derivative = jax.grad(derivative)
        value = float(derivative(x))
        if abs(value) > zero_tol:
            if order % 2 == 0:
                return "saddle"
            return "stable" if value < 0 else "unstable"
    return "degenerate"
