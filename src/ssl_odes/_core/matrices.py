"""Validation of matrix inputs (weights, data correlations) for the matrix flows.

The scalar checks live in :mod:`ssl_odes._params`; these are their matrix counterparts, with the
same contract: called before anything is traced, a bad input raises ``ValueError`` naming the
argument, what was wrong and what is allowed. Nothing is silently repaired, except that a matrix
accepted as symmetric (within :data:`SYMMETRY_RTOL`) is returned exactly symmetrised, so that the
flows see a symmetric matrix to the last bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _params

__all__ = ["SYMMETRY_RTOL", "check_matrix", "check_symmetric", "check_psd"]

#: Relative tolerance of the symmetry and PSD checks: ``max|A - A^T| <= SYMMETRY_RTOL * max|A|`` and
#: ``lambda_min(A) >= -SYMMETRY_RTOL * max|lambda(A)|``. Loose enough for a correlation matrix
#: computed in float32 (asymmetry ~1e-7 relative), tight enough to reject any real asymmetry.
SYMMETRY_RTOL = 1e-6


def check_matrix(name: str, value: Any, shape: tuple[int, int] | None = None, context: str = "") -> np.ndarray:
    """A finite real 2-D float64 array, of ``shape`` when given (``context`` explains the shape).

    >>> check_matrix("W0", [[1.0, 2.0]]).shape
    (1, 2)
    >>> check_matrix("Wp0", [[1.0]], shape=(2, 2), context="(n2, n2) to match W0 of shape (2, 3)")
    Traceback (most recent call last):
    ...
    ValueError: Wp0 must have shape (n2, n2) to match W0 of shape (2, 3), i.e. (2, 2); got shape (1, 1)
    """
    matrix = _params.check_real(name, value)
    if matrix.ndim != 2 or 0 in matrix.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix; got an array of shape {matrix.shape}")
    if shape is not None and matrix.shape != tuple(shape):
        what = f"{context}, i.e. {tuple(shape)}" if context else f"{tuple(shape)}"
        raise ValueError(f"{name} must have shape {what}; got shape {matrix.shape}")
    return matrix


def check_symmetric(name: str, value: Any, size: int | None = None, context: str = "") -> np.ndarray:
    """A square matrix with ``max|A - A^T| <= SYMMETRY_RTOL * max|A|``, returned as ``(A + A^T)/2``.

    >>> check_symmetric("X", [[1.0, 0.5], [0.0, 1.0]])
    Traceback (most recent call last):
    ...
    ValueError: X must be symmetric (max|X - X^T| <= 1e-06 max|X|); got max|X - X^T| = 0.5 with max|X| = 1
    """
    shape = None if size is None else (size, size)
    matrix = check_matrix(name, value, shape, context)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {matrix.shape}")
    asymmetry = float(np.max(np.abs(matrix - matrix.T)))
    scale = float(np.max(np.abs(matrix)))
    if asymmetry > SYMMETRY_RTOL * scale:
        raise ValueError(
            f"{name} must be symmetric (max|{name} - {name}^T| <= {SYMMETRY_RTOL:g} max|{name}|); "
            f"got max|{name} - {name}^T| = {asymmetry:.3g} with max|{name}| = {scale:.3g}"
        )
    return 0.5 * (matrix + matrix.T)


def check_psd(name: str, value: Any, size: int | None = None, context: str = "") -> np.ndarray:
    """A symmetric positive semi-definite matrix: ``lambda_min >= -SYMMETRY_RTOL * max|lambda|``.

    >>> check_psd("Xp", [[1.0, 0.0], [0.0, -0.5]])
    Traceback (most recent call last):
    ...
    ValueError: Xp must be positive semi-definite (lambda_min(Xp) >= -1e-06 max|lambda(Xp)|); got lambda_min(Xp) = -0.5
    """
    matrix = check_symmetric(name, value, size, context)
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues[0] < -SYMMETRY_RTOL * float(np.max(np.abs(eigenvalues))):
        raise ValueError(
            f"{name} must be positive semi-definite (lambda_min({name}) >= -{SYMMETRY_RTOL:g} "
            f"max|lambda({name})|); got lambda_min({name}) = {eigenvalues[0]:.3g}"
        )
    return matrix
