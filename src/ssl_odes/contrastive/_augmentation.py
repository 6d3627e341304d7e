r"""App. B.5: a rotation-group augmentation removes the local optima that lack its symmetry.

With augmentation ``x = R(t) x_0``, ``t`` uniform over a one-parameter rotation group, Lemma 2
(Eq 4, Eq 105) gives in the large-batch limit ``C_alpha[g(x)] -> V_{x_0}[E_t[g(R(t) x_0)]]``
(uniform ``alpha``). For ``g = h(w^T x)`` the averaged output ``b(w | x_0) = E_t h(w^T R(t) x_0)``
is invariant under ``w -> R(t') w`` (Eqs 107-108), so the energy is constant along each orbit of
``w``: a ``w`` that the group moves (``R(t') w != w``) lies on a ring of critical points and is
never an isolated (strict) local optimum. Only the invariant directions keep them.

Here the group is the rotations of the plane of the first two coordinates (``SO(2)``, the angle
uniform on ``[0, 2 pi)``), and ``h`` is ReLU. The augmentation-averaged gated input has a closed
form. Writing ``x_0 = (rho cos phi, rho sin phi, r)``, ``w = (s cos psi, s sin psi, w_r)``,
``b = w_r^T r`` and ``theta_0 = arccos(clip(-b / (s rho), -1, 1))`` (the half-width of the
active arc of angles):

.. math::

    m(x_0; w) = E_t[R(t) x_0 \, 1(w^\top R(t) x_0 > 0)]
              = \Big(\frac{\rho \sin\theta_0}{\pi} (\cos\psi, \sin\psi),\; \frac{\theta_0}{\pi} r\Big),

and ``E_t h(w^T R(t) x_0) = w^T m`` (homogeneity survives the average), so
``A_aug(w) = C_alpha[m(x_0; w)]`` without augmentation: the same operator, flow, PI and LME
machinery apply with :func:`rotation_averaged_gate` as the gate. For ``s rho = 0`` the arc is all
or nothing (``theta_0 = pi`` if ``b > 0``, else 0).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from ._activations import Activation
from ._covariance import _samples
from ._one_layer import ContrastiveOperator, contrastive_operator

__all__ = ["rotation_averaged_gate", "rotation_augmented_operator"]


def _safe_norm(a, b):
    """``sqrt(a^2 + b^2)`` with a finite derivative (zero) at the origin, for ``jax.jacfwd``."""
    sq = a**2 + b**2
    positive = sq > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def rotation_averaged_gate(x: Float[JaxArray, "*batch N d"], w: Float[JaxArray, " d"], act: Activation) -> Float[JaxArray, "*batch N d"]:
    """``m(x_0; w) = E_t[R(t) x_0 1(w^T R(t) x_0 > 0)]`` for rotations of coordinates 0 and 1 (App. B.5, ReLU).

    >>> import numpy as np
    >>> m = rotation_averaged_gate(jnp.array([[1.0, 0.0, 0.0]]), jnp.array([1.0, 0.0, 0.0]), Activation("relu"))
    >>> np.asarray(m).round(4).tolist()  # half the circle is active: (sin(pi/2)/pi, 0, 0)
    [[0.3183, 0.0, 0.0]]
    """
    if act.name != "relu":
        raise ValueError(f"rotation_averaged_gate is the closed form for ReLU; got activation={act.name!r}")
    rho = _safe_norm(x[..., 0], x[..., 1])
    s = _safe_norm(w[0], w[1])
    b = x[..., 2:] @ w[2:]
    amp = s * rho
    ratio = -b / jnp.where(amp > 0, amp, 1.0)
    inside = (amp > 0) & (jnp.abs(ratio) < 1.0)
    theta0 = jnp.where(inside, jnp.arccos(jnp.where(inside, ratio, 0.0)),
                       jnp.where((amp > 0) & (ratio <= -1.0) | (amp <= 0) & (b > 0), jnp.pi, 0.0))
    direction = jnp.where(s > 0, w[:2] / jnp.where(s > 0, s, 1.0), 0.0)
    safe_ratio = jnp.where(inside, ratio, 0.0)
    sin_theta0 = jnp.where(inside, jnp.sqrt(1.0 - safe_ratio**2), 0.0)  # exactly 0 at theta0 = 0 or pi
    plane = (rho * sin_theta0 / jnp.pi)[..., None] * direction
    rest = (theta0 / jnp.pi)[..., None] * x[..., 2:]
    return jnp.concatenate([plane, rest], axis=-1)


def rotation_augmented_operator(x0: Any, *, probs: Any = None) -> ContrastiveOperator:
    """``w -> A_aug(w) = V[m(x_0; w)]``: ReLU, uniform ``alpha``, ``SO(2)`` augmentation of coordinates 0, 1 (App. B.5).

    ``x0`` ``[N, d]`` (``d >= 3``) are the un-augmented samples (or population atoms with ``probs``).

    >>> import numpy as np
    >>> op = rotation_augmented_operator(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [0.5, 0.5, 0.2]]))
    >>> w = np.array([0.6, 0.0, 0.8]); c, s = np.cos(1.0), np.sin(1.0)
    >>> bool(np.isclose(op.energy(w), op.energy(np.array([0.6 * c, 0.6 * s, 0.8]))))  # invariant under R(t) w
    True
    """
    x0 = _samples("x0", x0)
    op = contrastive_operator(x0, alpha="uniform", probs=probs, activation="relu", gate=rotation_averaged_gate)
    if op.dim < 3:
        raise ValueError(f"x0 must have d >= 3 coordinates (two rotated, at least one fixed); got d={op.dim}")
    return op
