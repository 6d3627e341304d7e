r"""The latent models of 001 Sec 3.1 / App. B.1: samplers, exact populations and closed forms.

Both use ReLU, uniform ``alpha``, no augmentation and population statistics (Cor 1), so
``A(w) = V[x~^w]``, the covariance of the gated input. ``U = [u_1, ..., u_M]`` is ``[d, M]``.

* **Latent categorical**: ``y`` categorical with ``P[y = m] = p_m`` and ``x = u_y``. Then
  (Eq 8 / Eq 44) ``A(u_m) = p_m (1 - p_m) u_m u_m^T`` for orthonormal ``U``: the other atoms
  lie on the plane ``u_m^T x = 0`` and ReLU's ``h'(0) = 0`` gates them out, so every ``u_m``
  is an LME (rank one, ``lambda_gap = p_m (1 - p_m) > 0``). Numerically this needs the other
  atoms *exactly* on that plane: with a rotated basis ``u_m^T u_m'`` is ``+/-1e-17`` and the
  ReLU gate (a step) switches whole atoms on. Use a ``U`` whose columns are exactly orthogonal in
  floating point (the standard basis, permuted, signed) when looking for these LMEs. The region
  where every ``u_m^T w <= 0`` has ``A(w) = 0``: every point of it is a (non-LME) critical point.
* **Latent summation**: ``x = U y`` with independent standardised Bernoulli ``y_m``:
  ``y_m = sqrt((1 - q_m)/q_m)`` with probability ``q_m``, else ``-sqrt(q_m/(1 - q_m))``.
  With ``z = 1[y_m > 0]``, ``Delta = y_m^+ u_m`` and ``Sigma_1 = U U^T - u_m u_m^T`` (Eq 43):

  .. math:: A(u_m) = (1 - q_m)^2 u_m u_m^\top + q_m (U U^\top - u_m u_m^\top)        \quad (9, 45)

  For a complete orthonormal basis (``M = d``) ``U U^T = I``, as printed in the paper. When ``U``
  spans fewer than ``d`` directions (``M < d``), ``I`` becomes the projection ``U U^T``: the
  ``d - M`` directions orthogonal to every ``u_m`` get eigenvalue 0 instead of ``q_m``. The
  other eigenvalue ``q_m`` (multiplicity ``M - 1``) is unchanged, so the LME condition is the
  same, ``(1 - q_m)^2 > q_m``, i.e. ``q_m < (3 - sqrt 5)/2 ~ 0.382``; but ``A(u_m)`` is then
  singular, so power iteration uses App. B.4's shift. (With ``M = 1`` there is no ``q_m``
  eigenvalue at all and ``u_1`` is an LME for every ``q_1``.)

A population is returned as atoms ``x`` ``[n_atoms, d]`` with probabilities ``probs``: pass both
to :func:`~ssl_odes.contrastive.contrastive_operator` (``probs=``) for the exact ``A(w)`` at
every ``w``, not only at ``u_m``. The summation model has ``2^M`` atoms (``M <= 16``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

import numpy as np

from .._core.params import UNIT_OPEN, Array, Integer, validate
from ._covariance import _probabilities

__all__ = [
    "LatentPopulation",
    "SUMMATION_LME_THRESHOLD",
    "latent_categorical_population",
    "latent_summation_population",
    "sample_latent_categorical",
    "sample_latent_summation",
    "latent_categorical_A",
    "latent_summation_A",
]

#: ``u_m`` is an LME of the latent summation model iff ``q_m < (3 - sqrt 5) / 2`` (001 Sec 3.1).
SUMMATION_LME_THRESHOLD = (3.0 - math.sqrt(5.0)) / 2.0

#: Tolerance of the orthonormality check ``max|U^T U - I|`` for the closed forms.
ORTHONORMAL_TOL = 1e-9


class LatentPopulation(NamedTuple):
    """A discrete population: atoms ``x`` ``[n_atoms, d]`` and their probabilities ``probs`` ``[n_atoms]``."""

    x: np.ndarray
    probs: np.ndarray


def _basis(U: Any, orthonormal: bool) -> np.ndarray:
    U = validate("U", U, Array(ndim=2, doc="a finite real [d, M] matrix whose columns are u_1..u_M"))
    if orthonormal:
        err = float(np.max(np.abs(U.T @ U - np.eye(U.shape[1]))))
        if err > ORTHONORMAL_TOL:
            raise ValueError(f"U must have orthonormal columns for the closed form (max|U^T U - I| <= {ORTHONORMAL_TOL:g}); "
                             f"got max|U^T U - I| = {err:.3g}")
    return U


def _category_probs(probs: Any, M: int) -> np.ndarray:
    return _probabilities(probs, M, "column of U (M={n})")


def _q(q: Any, M: int) -> np.ndarray:
    q = np.broadcast_to(validate("q", q, UNIT_OPEN), (M,)) if np.ndim(q) == 0 else validate("q", q, UNIT_OPEN)
    if q.shape != (M,):
        raise ValueError(f"q must hold one P[y_m > 0] per column of U (M={M}); got shape {q.shape}")
    return np.asarray(q, dtype=np.float64)


def _index(m: Any, M: int) -> int:
    return validate("m", m, Integer(0, M - 1))


def latent_categorical_population(U: Any, probs: Any) -> LatentPopulation:
    """The latent categorical model ``x = u_y``, ``P[y = m] = probs[m]``, as ``M`` atoms (any ``U``).

    >>> pop = latent_categorical_population(np.eye(3), [0.5, 0.3, 0.2])
    >>> pop.x.tolist(), pop.probs.tolist()
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [0.5, 0.3, 0.2])
    """
    U = _basis(U, orthonormal=False)
    return LatentPopulation(x=U.T.copy(), probs=_category_probs(probs, U.shape[1]))


def _bernoulli_values(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sqrt((1.0 - q) / q), -np.sqrt(q / (1.0 - q))


def latent_summation_population(U: Any, q: Any) -> LatentPopulation:
    """The latent summation model ``x = U y`` as its ``2^M`` atoms with product probabilities (any ``U``, ``M <= 16``).

    ``y_m = sqrt((1 - q_m)/q_m)`` with probability ``q_m``, else ``-sqrt(q_m/(1 - q_m))``
    (standardised: mean 0, variance 1), independent over ``m``.

    >>> pop = latent_summation_population(np.eye(2), 0.2)
    >>> pop.x.shape, round(float(pop.probs.sum()), 12), bool(np.allclose(pop.probs @ pop.x, 0.0))
    ((4, 2), 1.0, True)
    """
    U = _basis(U, orthonormal=False)
    M = U.shape[1]
    if M > 16:
        raise ValueError(f"U must have M <= 16 columns for the exact population (2^M atoms); got M={M}")
    q = _q(q, M)
    plus, minus = _bernoulli_values(q)
    signs = np.array(list(itertools.product([1, 0], repeat=M)), dtype=bool)  # True: y_m > 0
    y = np.where(signs, plus, minus)
    probs = np.prod(np.where(signs, q, 1.0 - q), axis=1)
    return LatentPopulation(x=y @ U.T, probs=probs)


def sample_latent_categorical(n: int, U: Any, probs: Any, *, seed: int = 0) -> np.ndarray:
    """``n`` samples ``x = u_y`` of the latent categorical model, ``[n, d]``.

    >>> sample_latent_categorical(4, np.eye(2), [0.5, 0.5], seed=0).shape
    (4, 2)
    """
    n = validate("n", n, Integer(2))
    U = _basis(U, orthonormal=False)
    p = _category_probs(probs, U.shape[1])
    y = np.random.default_rng(validate("seed", seed, Integer(0))).choice(U.shape[1], size=n, p=p)
    return U.T[y]


def sample_latent_summation(n: int, U: Any, q: Any, *, seed: int = 0) -> np.ndarray:
    """``n`` samples ``x = U y`` of the latent summation model, ``[n, d]``.

    >>> x = sample_latent_summation(20000, np.eye(2), [0.2, 0.3], seed=0)
    >>> bool(np.abs(x.mean(0)).max() < 0.03), bool(np.abs(x.var(0) - 1).max() < 0.05)
    (True, True)
    """
    n = validate("n", n, Integer(2))
    U = _basis(U, orthonormal=False)
    q = _q(q, U.shape[1])
    plus, minus = _bernoulli_values(q)
    positive = np.random.default_rng(validate("seed", seed, Integer(0))).random((n, U.shape[1])) < q
    return np.where(positive, plus, minus) @ U.T


def latent_categorical_A(U: Any, probs: Any, m: int) -> np.ndarray:
    """Eq 8 (Eq 44): ``A(u_m) = P[y = m] (1 - P[y = m]) u_m u_m^T`` (orthonormal ``U``, ReLU, uniform alpha).

    >>> latent_categorical_A(np.eye(2), [0.25, 0.75], 0).tolist()
    [[0.1875, 0.0], [0.0, 0.0]]
    """
    U = _basis(U, orthonormal=True)
    p = _category_probs(probs, U.shape[1])
    m = _index(m, U.shape[1])
    u = U[:, m]
    return p[m] * (1.0 - p[m]) * np.outer(u, u)


def latent_summation_A(U: Any, q: Any, m: int) -> np.ndarray:
    """Eq 9 (Eq 45): ``A(u_m) = (1 - q_m)^2 u_m u_m^T + q_m (U U^T - u_m u_m^T)`` (orthonormal ``U``).

    ``U U^T = I`` for a complete basis (the paper's form); see the module docstring for ``M < d``.

    >>> latent_summation_A(np.eye(2), 0.2, 0).round(4).tolist()
    [[0.64, 0.0], [0.0, 0.2]]
    """
    U = _basis(U, orthonormal=True)
    q = _q(q, U.shape[1])
    m = _index(m, U.shape[1])
    u = U[:, m]
    uu = np.outer(u, u)
    return (1.0 - q[m]) ** 2 * uu + q[m] * (U @ U.T - uu)
