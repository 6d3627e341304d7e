r"""DirectPred: the predictor set from the eigen-decomposition of its input correlation (002 Sec 4).

Instead of training ``W_p`` by gradient descent, DirectPred estimates the correlation matrix of
the predictor's input, ``F_hat = U diag(s) U^T``, and sets

.. math::

    p_j = \sqrt{s_j} + \epsilon \max_j s_j, \qquad W_p = U \operatorname{diag}(p_j) U^\top
    \qquad \text{(Eq 18)}

    \hat F \leftarrow \rho \hat F + (1 - \rho)\, \mathbb{E}_B[f f^\top]            \qquad \text{(Eq 19)}

Table 7 studies the shifted variant ``p_j = sqrt(max(s_j - c_j, 0))`` (with ``eps = 0``);
:func:`directpred_eigenvalues` implements both as ``sqrt(max(s_j - c_shift, 0)) + eps max_j s_j``
(``c_shift = 0`` is Eq 18, ``eps = 0`` is Table 7). The parameter is called ``c_shift`` rather than
the paper's ``c_j`` because 002 also uses ``c_j`` for the integral of motion of Eq 14.

Choices:

* ``max_j s_j`` is the largest eigenvalue of ``F_hat`` as printed in Eq 18 (``eps`` times an
  eigenvalue, not times its square root), so ``eps`` is dimensionless only for normalised features.
* Eigenvalues of ``F_hat`` that rounding makes slightly negative (down to ``-1e-6`` times the
  largest) are treated as 0 under the square root (``F_hat`` is PSD by construction); a more
  negative eigenvalue is an error, not clipped.
* In the flow (:func:`ssl_odes.simulate_byol_linear` with ``variant="directpred"``) ``W_p`` is this
  function of the *current* ``F = W X W^T`` at every instant: the limit in which the moving
  average of Eq 19 is fast compared with the learning dynamics. Eq 19 itself is the discrete map
  :func:`update_correlation`, for the empirical companion.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._core import matrices as _matrices
from .._core.arguments import PSD_MATRICES, arguments
from .._core.params import REAL, Interval, Matrix, validate

__all__ = ["directpred_eigenvalues", "directpred_predictor", "update_correlation"]


# DirectPred's eps (Eq 18) is >= 0; c_shift is Table 7's c_j (either sign); rho is Eq 19's rate.
_EPS = Interval(0.0, scalar=True)
_C_SHIFT = Interval(scalar=True)
_RHO = Interval(0.0, 1.0, upper_closed=False, scalar=True)
#: Relative rounding allowed below 0 in the eigenvalues of ``F_hat`` (PSD by construction), as in
#: :data:`ssl_odes._core.matrices.SYMMETRY_RTOL`.
_ROUNDING = _matrices.SYMMETRY_RTOL


def _eigenvalues(s: jax.Array, eps: Any, c_shift: Any) -> jax.Array:
    """Eq 18 / Table 7 on eigenvalues ``s`` (last axis), no validation (traced code)."""
    return jnp.sqrt(jnp.maximum(s - c_shift, 0.0)) + eps * jnp.max(s, axis=-1, keepdims=True)


def _predictor(F: jax.Array, eps: Any, c_shift: Any) -> jax.Array:
    """``U diag(p(s)) U^T`` for a symmetric ``F`` (last two axes), no validation (traced code)."""
    s, U = jnp.linalg.eigh(0.5 * (F + jnp.swapaxes(F, -1, -2)))
    p = _eigenvalues(s, eps, c_shift)
    return (U * p[..., None, :]) @ jnp.swapaxes(U, -1, -2)


def directpred_eigenvalues(s: Any, eps: Any = 0.0, c_shift: Any = 0.0) -> jax.Array:
    """Predictor eigenvalues from the eigenvalues ``s`` of ``F_hat`` (002 Eq 18, Table 7).

    ``p_j = sqrt(max(s_j - c_shift, 0)) + eps * max_j s_j``, the maximum over the last axis.

    >>> import numpy as np
    >>> np.round(np.asarray(directpred_eigenvalues([4.0, 1.0, 0.0], eps=0.1)), 6).tolist()
    [2.4, 1.4, 0.4]
    >>> np.round(np.asarray(directpred_eigenvalues([4.0, 1.0, 0.0], c_shift=1.0)), 6).tolist()  # Table 7
    [1.732051, 0.0, 0.0]
    """
    a = arguments(eps=(eps, _EPS), c_shift=(c_shift, _C_SHIFT), s=(s, REAL))
    s = a["s"]
    if s.ndim == 0:
        raise ValueError(f"s must be an array of eigenvalues (at least 1-D); got a scalar s={float(s)!r}")
    if not isinstance(s, jax.core.Tracer):
        # eigenvalues of a PSD matrix: >= 0 up to rounding relative to the largest, never clipped silently
        floor = -_ROUNDING * float(jnp.max(jnp.abs(s)))
        validate("s", s, Interval(floor))
    return _eigenvalues(s, a["eps"], a["c_shift"])


def directpred_predictor(F: Any, eps: Any = 0.0, c_shift: Any = 0.0) -> jax.Array:
    """DirectPred's predictor ``W_p = U diag(p_j) U^T`` of a PSD correlation ``F = U diag(s) U^T`` (Eq 18).

    ``F`` must be symmetric PSD (validated when concrete; see :mod:`ssl_odes._matrices` for the
    tolerance). The result is symmetric and commutes with ``F`` (eigenspace alignment by
    construction).

    >>> import numpy as np
    >>> Wp = directpred_predictor(np.diag([4.0, 1.0]), eps=0.0)
    >>> np.round(np.asarray(Wp), 6).tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """
    a = arguments(F=(F, PSD_MATRICES), eps=(eps, _EPS), c_shift=(c_shift, _C_SHIFT))
    return _predictor(a["F"], a["eps"], a["c_shift"])


def update_correlation(F_hat: Any, features: Any, rho: Any) -> jax.Array:
    """One step of the moving-average estimate of Eq 19: ``rho F_hat + (1 - rho) E_B[f f^T]``.

    ``features`` is a batch ``[batch, n]`` of predictor inputs ``f``; they are not centred (002
    Sec 4: a correlation, not a covariance). A discrete map, not an ODE.

    >>> import numpy as np
    >>> update_correlation(np.zeros((2, 2)), np.array([[1.0, 0.0], [1.0, 0.0]]), rho=0.5).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    a = arguments(features=(features, Matrix("a batch of features [batch, n]")), rho=(rho, _RHO),
                  F_hat=(F_hat, Matrix("a symmetric PSD correlation estimate [n, n]", _matrices.check_psd)))
    features, F_hat = a["features"], a["F_hat"]
    n = features.shape[-1]
    if F_hat.shape != (n, n):
        raise ValueError(f"F_hat must have shape (n, n) with n = features.shape[1] = {n}; got shape {tuple(F_hat.shape)}")
    batch_correlation = features.T @ features / features.shape[0]
    return a["rho"] * F_hat + (1.0 - a["rho"]) * batch_correlation
