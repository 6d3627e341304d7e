r"""The contrastive covariance ``C_alpha[a, b]`` (001 Eq 3) and the pairwise importance ``alpha``.

For a batch of ``N`` samples with two views ``i`` and ``i'`` (001 Sec 2):

.. math::

    \mathbb{C}_\alpha[a, b] = \frac{1}{2N^2} \sum_{i,j=1}^N \alpha_{ij}
        \big[(a_i - a_j)(b_i - b_j)^\top - (a_i - a_{i'})(b_i - b_{i'})^\top\big]      \quad (3)

**Never ``N^2 x d x d``.** Expanding the products, with row sums ``r_i = sum_j alpha_ij`` and
column sums ``c_j = sum_i alpha_ij``,

.. math::

    \sum_{ij} \alpha_{ij} (a_i - a_j)(b_i - b_j)^\top = a^\top \big(\mathrm{diag}(r + c) - \alpha - \alpha^\top\big) b,
    \qquad
    \sum_{ij} \alpha_{ij} (a_i - a_{i'})(b_i - b_{i'})^\top = \Delta a^\top \mathrm{diag}(r)\, \Delta b,

with ``Delta a = a - a_aug``. So ``C_alpha`` costs ``O(N^2 (d_a + d_b))`` time and
``O(N^2 + N (d_a + d_b) + d_a d_b)`` memory: the ``N x N`` weight matrix
``L = diag(r + c) - alpha - alpha^T`` (a graph Laplacian when ``alpha`` is symmetric) and the
data. (The issue's budget is ``O(N^2 + N d^2)``; this is below it.)

**Diagonal of alpha.** Eq 3 sums over all ``j``, so ``alpha_ii`` weighs the intra-sample
(augmentation) term by ``alpha_ii / (2 N^2)``; the proof of Lemma 2 (Eq 24) sums the intra term
over ``j != i`` only. We implement Eq 3 as printed; pass an ``alpha`` with a zero diagonal to get
Eq 24's split (InfoNCE's ``alpha`` has a zero diagonal by construction). Without augmentation
the two agree.

**Pairwise importance** (001 Sec 2, Lemma 1), :func:`pairwise_importance`: computed from samples
``z`` (by default the first views ``a``; for ``A(w)`` the raw data, not the gated input), with
``d_ij^2 = ||z_i - z_j||^2 / 2``:

* ``"uniform"``: ``alpha_ij = 1`` (quadratic loss);
* ``"gaussian"``: ``alpha_ij = exp(-||z_i - z_j||^2 / (2 tau)) = exp(-d_ij^2 / tau)`` (Lemma 1,
  symmetric, a kernel structure in the sense of Def 1 so ``C_alpha`` is asymptotically PSD,
  Lemma 2);
* ``"infonce"``: ``alpha_ij = exp(-d_ij^2/tau) / sum_{j' != i} exp(-d_ij'^2/tau)`` for
  ``j != i`` and ``alpha_ii = 0`` (InfoNCE with ``epsilon = 0``: row-normalised, asymmetric);
* or an explicit ``[N, N]`` array of non-negative weights.

The paper uses the un-augmented samples ``x_0`` for the Gaussian kernel and the views for
InfoNCE; here both read the samples they are given (``z``), so pass the ones you mean.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from .._core.params import Array, Choice, Interval, is_traced, validate

__all__ = ["ALPHA_KINDS", "contrastive_covariance", "pairwise_importance", "covariance_weights",
           "weighted_contrastive_covariance"]

#: The named kinds of pairwise importance ``alpha``.
ALPHA_KINDS = ("uniform", "gaussian", "infonce")

_TAU = Interval(0.0, math.inf, lower_closed=False, scalar=True)


def _samples(name: str, value: Any, n: int | None = None) -> Any:
    """``value`` as an ``[N, d]`` real matrix (``N >= 2``; ``N == n`` when given), or a ValueError naming ``name``."""
    if is_traced(value):
        arr = value
    else:
        arr = validate(name, value, Array(doc="a finite real [N, d] array of samples"))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be an [N, d] array of samples (one row per sample); got shape {tuple(arr.shape)}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} must hold N >= 2 samples (Eq 3 contrasts pairs); got N={arr.shape[0]}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have N={n} rows to match the first views; got shape {tuple(arr.shape)}")
    return arr


def _to_jnp(arr: Any) -> jax.Array:
    return arr if is_traced(arr) else jnp.asarray(arr, dtype=jnp.result_type(float))


def pairwise_importance(
    z: Any, alpha: Any = "uniform", *, tau: float = 1.0
) -> Float[JaxArray, "N N"]:
    """The ``[N, N]`` pairwise importance ``alpha`` of 001 Sec 2 / Lemma 1 from samples ``z`` ``[N, d]``.

    ``alpha`` is ``"uniform"``, ``"gaussian"``, ``"infonce"`` (see the module docstring) or an
    explicit ``[N, N]`` array of finite non-negative weights, returned as is (validated).
    ``tau > 0`` is the temperature (used by ``"gaussian"`` and ``"infonce"``).

    >>> import numpy as np
    >>> z = np.array([[0.0], [1.0], [3.0]])
    >>> np.round(np.asarray(pairwise_importance(z, "gaussian", tau=1.0)), 3).tolist()[0]
    [1.0, 0.607, 0.011]
    >>> np.asarray(pairwise_importance(z, "infonce")).sum(axis=1).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    z = _samples("z", z)
    n = z.shape[0]
    if isinstance(alpha, str):
        kind = validate("alpha", alpha, Choice(ALPHA_KINDS))
        tau = validate("tau", tau, _TAU)
        zj = _to_jnp(z)
        if kind == "uniform":
            return jnp.ones((n, n), dtype=zj.dtype)
        sq = jnp.sum(zj * zj, axis=1)
        dist2 = jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * zj @ zj.T, 0.0)  # ||z_i - z_j||^2
        logits = -dist2 / (2.0 * tau)  # -d_ij^2 / tau with d_ij^2 = ||z_i - z_j||^2 / 2
        if kind == "gaussian":
            return jnp.exp(logits)
        logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, logits)
        return jax.nn.softmax(logits, axis=1)
    return _alpha_matrix(alpha, n)


def _alpha_matrix(alpha: Any, n: int) -> Any:
    if is_traced(alpha):
        arr = alpha
    else:
        arr = validate("alpha", alpha, Array(doc="'uniform', 'gaussian', 'infonce' or a finite [N, N] array"))
        if np.any(arr < 0):
            bad = tuple(int(i) for i in np.argwhere(arr < 0)[0])
            raise ValueError(f"alpha must be non-negative pairwise importance weights; got alpha={arr[bad]!r} at index {bad}")
    if tuple(arr.shape) != (n, n):
        raise ValueError(f"alpha must be an [N, N] array with N={n} (the number of samples); got shape {tuple(arr.shape)}")
    return _to_jnp(arr)


def covariance_weights(alpha: Float[JaxArray, "N N"]) -> tuple[Float[JaxArray, "N N"], Float[JaxArray, " N"]]:
    """``(L, r)`` with ``L = diag(r + c) - alpha - alpha^T`` and ``r`` the row sums of ``alpha``.

    The only ``N x N`` quantities Eq 3 needs (module docstring); precompute them once when
    ``C_alpha`` is evaluated for many gated inputs with the same ``alpha`` (the one-layer flow).
    No validation (a building block for traced code); :func:`contrastive_covariance` validates.

    >>> import jax.numpy as jnp
    >>> L, r = covariance_weights(jnp.ones((3, 3)))
    >>> L.tolist(), r.tolist()
    ([[4.0, -2.0, -2.0], [-2.0, 4.0, -2.0], [-2.0, -2.0, 4.0]], [3.0, 3.0, 3.0])
    """
    r = jnp.sum(alpha, axis=1)
    c = jnp.sum(alpha, axis=0)
    return jnp.diag(r + c) - alpha - alpha.T, r


def weighted_contrastive_covariance(
    a: Float[JaxArray, "N da"],
    delta_a: Float[JaxArray, "N da"] | None,
    b: Float[JaxArray, "N db"],
    delta_b: Float[JaxArray, "N db"] | None,
    L: Float[JaxArray, "N N"],
    r: Float[JaxArray, " N"],
) -> Float[JaxArray, "da db"]:
    """Eq 3 from :func:`covariance_weights`: ``(a^T L b - Delta_a^T diag(r) Delta_b) / (2 N^2)``.

    ``delta_a = a - a_aug`` (``None``: no augmentation). No validation; traced-friendly.

    >>> import jax.numpy as jnp
    >>> a = jnp.array([[1.0], [-1.0]])
    >>> float(weighted_contrastive_covariance(a, None, a, None, *covariance_weights(jnp.ones((2, 2))))[0, 0])
    1.0
    """
    n = a.shape[0]
    out = a.T @ (L @ b)
    if delta_a is not None and delta_b is not None:
        out = out - delta_a.T @ (r[:, None] * delta_b)
    return out / (2.0 * n * n)


def contrastive_covariance(
    a: Any,
    a_aug: Any = None,
    b: Any = None,
    b_aug: Any = None,
    *,
    alpha: Any = "uniform",
    tau: float = 1.0,
    z: Any = None,
) -> Float[JaxArray, "da db"]:
    r"""The contrastive covariance ``C_alpha[a, b]`` of 001 Eq 3, a ``d_a x d_b`` matrix.

    .. math::

        \mathbb{C}_\alpha[a, b] = \frac{1}{2N^2} \sum_{i,j} \alpha_{ij}
            [(a_i - a_j)(b_i - b_j)^\top - (a_i - a_{i'})(b_i - b_{i'})^\top]

    computed as ``(a^T L b - (a - a')^T diag(r) (b - b')) / (2 N^2)`` with
    ``L = diag(r + c) - alpha - alpha^T`` (row / column sums ``r``, ``c``): ``O(N^2 + N d)``
    memory, never ``N^2 x d x d``.

    Args:
        a: first views ``[N, d_a]`` (``N >= 2``).
        a_aug: second views ``a[i']`` ``[N, d_a]``; ``None``: no augmentation (``a[i'] = a[i]``).
        b: first views of the second argument ``[N, d_b]``; ``None``: ``b = a`` (and
            ``b_aug = a_aug``).
        b_aug: second views of ``b``; ``None``: no augmentation of ``b``. If exactly one of
            ``a_aug`` / ``b_aug`` is given the intra-sample term is zero (only one side moves).
        alpha: ``"uniform"`` (default), ``"gaussian"`` (Lemma 1), ``"infonce"`` or an explicit
            ``[N, N]`` array of non-negative weights (used as given, also its diagonal).
        tau: temperature ``> 0`` of the Gaussian / InfoNCE ``alpha``.
        z: samples ``[N, d]`` whose distances define a named ``alpha`` (default ``a``; the paper
            uses the un-augmented samples for the Gaussian kernel).

    Returns:
        ``C_alpha[a, b]``, ``[d_a, d_b]``, in JAX's default float (float64 under x64). With
        uniform ``alpha`` and no augmentation it is exactly the biased covariance of ``a``
        (``1/N sum (a_i - mean)(a_i - mean)^T``): the Eq 3 double sum of ``||a_i - a_j||^2``
        over all pairs. It is symmetric whenever ``alpha`` is (and ``b = a``).

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).normal(size=(50, 3))
        >>> bool(np.allclose(contrastive_covariance(a), np.cov(a.T, bias=True)))
        True
        >>> contrastive_covariance(a, alpha=np.ones((4, 4)))
        Traceback (most recent call last):
        ...
        ValueError: alpha must be an [N, N] array with N=50 (the number of samples); got shape (4, 4)
    """
    a = _samples("a", a)
    n = a.shape[0]
    if a_aug is not None:
        a_aug = _samples("a_aug", a_aug, n)
        if a_aug.shape[1] != a.shape[1]:
            raise ValueError(f"a_aug must have the shape of a {tuple(a.shape)}; got {tuple(a_aug.shape)}")
    if b is None:
        if b_aug is not None:
            raise ValueError("b_aug needs b (b=None means b = a, b_aug = a_aug); got b=None with a b_aug")
        b, b_aug = a, a_aug
    else:
        b = _samples("b", b, n)
        if b_aug is not None:
            b_aug = _samples("b_aug", b_aug, n)
            if b_aug.shape[1] != b.shape[1]:
                raise ValueError(f"b_aug must have the shape of b {tuple(b.shape)}; got {tuple(b_aug.shape)}")
    weights = pairwise_importance(a if z is None else _samples("z", z, n), alpha, tau=tau)
    L, r = covariance_weights(weights)
    aj, bj = _to_jnp(a), _to_jnp(b)
    delta_a = None if a_aug is None else aj - _to_jnp(a_aug)
    delta_b = None if b_aug is None else bj - _to_jnp(b_aug)
    return weighted_contrastive_covariance(aj, delta_a, bj, delta_b, L, r)
