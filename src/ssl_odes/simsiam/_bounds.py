r"""The generalisation bound of non-contrastive SSL (003: Thm 1-3, Eqs 2, 4-8, 11-13).

Features ``f`` live on the sphere of radius ``r = sqrt(d)`` in ``R^d``. ``K`` latent classes have
probabilities ``p_i`` and feature means ``mu_i``. Two hypotheses (Eqs 6-7): any two views of one
class are closer than ``r eps``, and classes do not share views. Then:

* ``Lambda = E[f f^T]``, ``L_cor = ||Lambda - I_d||_F^2`` (Eq 8; :func:`l_cor`).
* Thm 1: if ``mu_i^T mu_j < r^2 (1 - 4 eps + eps^2)``, the nearest-mean classifier (Eq 4) never
  confuses classes ``i`` and ``j`` (:func:`separation_threshold`).
* Thm 3 (:func:`error_bound`):

  .. math:: \mathrm{Er}(f) \le \frac{\frac{2}{d^2} L_{cor} + 2\varepsilon^4 + \frac{K - d}{d^2}}
                                  {(1 - \sum_i p_i^2)(1 - 4\varepsilon + \varepsilon^2)^2}

  and its data-free part ``L_bound = 2 L_cor / d^2 + (K - d)/d^2`` (Eq 11; :func:`l_bound`).
  ``V(d) = (K - d)/d^2`` (:func:`dimension_term`) is smallest at ``d = 2K`` (Sec 5).
* The Barlow Twins loss ``L_BT = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2`` with
  ``C = E[f(x_1) f(x_2)^T]`` (Eq 2/12; :func:`barlow_twins_loss`), and Eq 13,
  ``L_BT >= L_cor / 2 - eps^2`` (``lambda = 1``, ``Lambda`` of the first view).

**Two slips in the paper, checked here (and in the tests).**

1. *Theorem 3 is not a bound in general.* Its proof replaces the error probability (over samples)
   by the probability that a random pair of *different classes* is badly separated (over pairs).
   These differ. Take two classes of ``K`` with nearly coincident means: half of their views are
   misclassified, so ``Er ~ 1/K``, while the pair probability is ``~ 2/K^2``. The tests build such
   features that meet Eqs 6-7; there the nearest-mean error exceeds :func:`error_bound`. A valid
   version follows from the same Thm 1-2 with a union bound over classes:
   ``Er <= sum_i p_i sum_{j != i} 1[mu_i^T mu_j >= r^2 theta] <= sum_{i != j} p_i p_j
   (mu_i^T mu_j)^2 / (p_min r^4 theta^2)``. That is :func:`error_bound_union`: the same numerator
   over ``p_min (1 - 4 eps + eps^2)^2``, i.e. Thm 3 times ``(1 - sum p_i^2) / p_min`` (about
   ``K - 1`` for balanced classes). Thm 3 as printed still holds on generic, well-separated
   features, and the tests check it there.
2. *Eq 13's proof drops ``r^4``.* ``||E[f_1 (f_2 - f_1)^T]||_F <= r * r eps``, so the proof gives
   ``L_BT >= L_cor / 2 - r^4 eps^2 = L_cor / 2 - d^2 eps^2``
   (:func:`barlow_twins_lower_bound`, ``scaled=True``). The printed ``- eps^2`` is what
   ``scaled=False`` returns. The tests assert the proven form on random features and the printed
   form on the generator's features.

Data: :func:`latent_class_features` samples views that meet Eqs 6-7 exactly. Every view of class
``k`` lies in the spherical cap of angular radius ``arcsin(eps / 2)`` around its class direction,
so any two are closer than ``r eps``. The class proportions are exact (``p_i = n_i / n``), so the
theorems apply exactly to the empirical distribution. :func:`nearest_mean_error` is Eqs 4-5 on
it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _params
from .._core.params import Array, broadcast, validate

__all__ = [
    "EPS_MAX",
    "LatentClassFeatures",
    "feature_correlation",
    "l_cor",
    "l_bound",
    "dimension_term",
    "separation_threshold",
    "error_bound",
    "error_bound_union",
    "barlow_twins_loss",
    "barlow_twins_lower_bound",
    "class_means",
    "nearest_mean_error",
    "augmentation_eps",
    "latent_class_features",
]

#: Thm 1 needs ``1 - 4 eps + eps^2 > 0``, i.e. ``eps < 2 - sqrt(3)`` (about 0.268).
EPS_MAX = 2.0 - math.sqrt(3.0)
_BOUND_EPS = _params.Interval(0.0, EPS_MAX, upper_closed=False)
_ANY_EPS = _params.NONNEGATIVE


def _features(name: str, value: Any) -> np.ndarray:
    arr = _params.check_real(name, value)
    if arr.ndim < 2 or arr.shape[-2] < 1 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must have shape [..., n, d] with n, d >= 1; got shape {arr.shape}")
    return arr


def _dimension(name: str, value: Any) -> int:
    return _params.check_integer(name, value, 1)


def feature_correlation(features: Any) -> jnp.ndarray:
    """``Lambda = E[f f^T]`` over the sample axis of ``features [..., n, d]`` (003 Sec 4.1).

    >>> feature_correlation([[1.0, 1.0], [1.0, -1.0]]).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    f = jnp.asarray(_features("features", features))
    return jnp.einsum("...ni,...nj->...ij", f, f) / f.shape[-2]


def l_cor(features: Any) -> jnp.ndarray:
    """``L_cor = ||E[f f^T] - I_d||_F^2`` (003 Eq 8), over the sample axis of ``features [..., n, d]``.

    >>> float(l_cor([[1.0, 1.0], [1.0, -1.0]]))   # Lambda = I: the minimum
    0.0
    >>> round(float(l_cor([[2.0 ** 0.5, 0.0]])), 5)   # Lambda = diag(2, 0)
    2.0
    """
    lam = feature_correlation(features)
    d = lam.shape[-1]
    return jnp.sum((lam - jnp.eye(d, dtype=lam.dtype)) ** 2, axis=(-2, -1))


def _d_and_k(d: Any, K: Any) -> tuple[np.ndarray, np.ndarray]:
    d = _params.check_real("d", d, _params.Interval(1.0))
    K = _params.check_real("K", K, _params.Interval(1.0))
    for name, value in (("d", d), ("K", K)):
        if np.any(value != np.round(value)):
            raise ValueError(f"{name} must hold integers >= 1; got {name}={value!r}")
    return d, K


def dimension_term(d: Any, K: Any) -> jnp.ndarray:
    """``V(d) = (K - d) / d^2`` (003 Sec 5): decreasing for ``d < 2K``, increasing after; minimum ``-1/(4K)`` at ``d = 2K``.

    ``dV/dd = (d - 2K) / d^3``. Broadcasts over ``d`` and ``K``.

    >>> d = np.arange(1, 61)
    >>> int(d[np.argmin(dimension_term(d, K=10))])
    20
    """
    d, K = _d_and_k(d, K)
    broadcast({"d": d, "K": K})
    return jnp.asarray((K - d) / d**2)


def l_bound(l_cor: Any, d: Any, K: Any) -> jnp.ndarray:
    """``L_bound = 2 L_cor / d^2 + (K - d) / d^2`` (003 Eq 11). Broadcasts.

    >>> float(l_bound(l_cor=2.0, d=4, K=10))   # 4/16 + 6/16
    0.625
    """
    l_cor = _params.check_real("l_cor", l_cor)
    d, K = _d_and_k(d, K)
    broadcast({"l_cor": l_cor, "d": d, "K": K})
    return jnp.asarray(2.0 * l_cor / d**2 + (K - d) / d**2)


def separation_threshold(d: Any, eps: Any) -> jnp.ndarray:
    """Thm 1's threshold ``r^2 (1 - 4 eps + eps^2)`` with ``r^2 = d``.

    Classes ``i, j`` with ``mu_i^T mu_j`` below it are never confused by the nearest-mean classifier.

    >>> round(float(separation_threshold(d=4, eps=0.1)), 6)
    2.44
    """
    d, _ = _d_and_k(d, 1)
    eps = _params.check_real("eps", eps, _ANY_EPS)
    broadcast({"d": d, "eps": eps})
    return jnp.asarray(d * (1.0 - 4.0 * eps + eps**2))


def _class_probs(class_probs: Any, K: Any) -> tuple[np.ndarray, int]:
    if class_probs is None:
        if K is None:
            raise ValueError("give K or class_probs")
        K = _params.check_integer("K", K, 2)
        return np.full(K, 1.0 / K), K
    probs = _params.check_real("class_probs", class_probs)
    if probs.ndim < 1 or probs.shape[-1] < 2:
        raise ValueError(f"class_probs must have shape [..., K] with K >= 2; got shape {probs.shape}")
    total = probs.sum(axis=-1)
    if np.any(np.abs(total - 1.0) > 1e-9):
        raise ValueError(f"class_probs must sum to 1 over its last axis; got sums {total!r}")
    if K is not None and _params.check_integer("K", K, 2) != probs.shape[-1]:
        raise ValueError(f"K must equal the length of class_probs; got K={K!r} and {probs.shape[-1]} probabilities")
    return probs, probs.shape[-1]


def _bound_numerator(l_cor, d, K, eps):
    return 2.0 / d**2 * l_cor + 2.0 * eps**4 + (K - d) / d**2


def error_bound(l_cor: Any, d: Any, eps: Any, *, K: Any = None, class_probs: Any = None) -> jnp.ndarray:
    r"""Theorem 3 of 003 as printed: the bound on the nearest-mean error rate.

    .. math:: \mathrm{Er}(f) \le \frac{\frac{2}{d^2} L_{cor} + 2\varepsilon^4 + \frac{K - d}{d^2}}
                                       {(1 - \sum_i p_i^2)(1 - 4\varepsilon + \varepsilon^2)^2}

    Args:
        l_cor: ``||Lambda - I_d||_F^2 >= 0``.
        d: feature dimension (integer >= 1).
        eps: the augmentation radius of Eq 6, ``0 <= eps < 2 - sqrt(3)`` (Thm 1's threshold is
            positive only there).
        K: number of latent classes (>= 2); with ``class_probs=None`` the classes are balanced.
        class_probs: ``p_i``, shape ``[..., K]``, summing to 1.

    Not a valid bound for every feature distribution (module docstring; see
    :func:`error_bound_union` for one that is). ``l_cor``, ``d``, ``eps`` and the batch axes of
    ``class_probs`` broadcast.

    >>> round(float(error_bound(l_cor=0.5, d=4, eps=0.1, K=6)), 6)
    0.605321
    """
    l_cor = _params.check_real("l_cor", l_cor)
    d, _ = _d_and_k(d, 1)
    eps = _params.check_real("eps", eps, _BOUND_EPS)
    probs, K = _class_probs(class_probs, K)
    broadcast({"l_cor": l_cor, "d": d, "eps": eps, "class_probs": probs}, {"class_probs": 1})
    collision = 1.0 - np.sum(probs**2, axis=-1)
    return jnp.asarray(_bound_numerator(l_cor, d, K, eps) / (collision * (1.0 - 4.0 * eps + eps**2) ** 2))


def error_bound_union(l_cor: Any, d: Any, eps: Any, *, K: Any = None, class_probs: Any = None) -> jnp.ndarray:
    r"""A valid form of Theorem 3: the same numerator over ``p_min (1 - 4 eps + eps^2)^2``.

    .. math:: \mathrm{Er}(f) \le \frac{\frac{2}{d^2} L_{cor} + 2\varepsilon^4 + \frac{K - d}{d^2}}
                                       {\min_i p_i\, (1 - 4\varepsilon + \varepsilon^2)^2}

    Proof, from Thm 1 and the proof of Thm 2 (003 Eqs 24-27): a view of class ``i`` is
    misclassified only if some ``j != i`` has ``mu_i^T mu_j >= r^2 theta``,
    ``theta = 1 - 4 eps + eps^2 > 0``. By the union bound and Markov,
    ``Er <= sum_{i != j} p_i (mu_i^T mu_j)^2 / (r^4 theta^2)``. Then
    ``sum_{i != j} p_i p_j (mu_i^T mu_j)^2 <= 2 L_cor + 2 r^4 eps^4 + K - d`` (Eq 27), and
    ``p_i >= p_i p_j / p_min``. Arguments as in :func:`error_bound` (every ``p_i > 0``).

    >>> round(float(error_bound_union(l_cor=0.5, d=4, eps=0.1, K=6) / error_bound(l_cor=0.5, d=4, eps=0.1, K=6)), 6)
    5.0
    """
    l_cor = _params.check_real("l_cor", l_cor)
    d, _ = _d_and_k(d, 1)
    eps = _params.check_real("eps", eps, _BOUND_EPS)
    probs, K = _class_probs(class_probs, K)
    broadcast({"l_cor": l_cor, "d": d, "eps": eps, "class_probs": probs}, {"class_probs": 1})
    p_min = np.min(probs, axis=-1)
    if np.any(p_min <= 0):
        raise ValueError(f"class_probs must all be > 0 for error_bound_union; got class_probs={class_probs!r}")
    return jnp.asarray(_bound_numerator(l_cor, d, K, eps) / (p_min * (1.0 - 4.0 * eps + eps**2) ** 2))


def barlow_twins_loss(features1: Any, features2: Any, *, lambda_bt: Any = 1.0) -> jnp.ndarray:
    r"""``L_BT = sum_i (1 - C_ii)^2 + lambda_bt sum_{i != j} C_ij^2``, ``C = E[f(x_1) f(x_2)^T]`` (003 Eq 2 / 12).

    ``features1``, ``features2``: the two views, ``[..., n, d]`` (row ``k`` of each is one sample).
    ``C`` is the paper's un-normalised cross-correlation (its features already have
    ``||f||^2 = d``), not the batch-standardised one of the Barlow Twins code.

    >>> f = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> float(barlow_twins_loss(f, f))               # C = I
    0.0
    >>> float(barlow_twins_loss(f, -f, lambda_bt=0.5))  # C = -I: (1 + 1)^2 twice
    8.0
    """
    f1 = _features("features1", features1)
    f2 = _features("features2", features2)
    if f1.shape != f2.shape:
        raise ValueError(f"features1 and features2 must have the same shape; got {f1.shape} and {f2.shape}")
    lambda_bt = jnp.asarray(_params.check_real("lambda_bt", lambda_bt))
    f1, f2 = jnp.asarray(f1), jnp.asarray(f2)
    cross = jnp.einsum("...ni,...nj->...ij", f1, f2) / f1.shape[-2]
    diagonal = jnp.diagonal(cross, axis1=-2, axis2=-1)
    on = jnp.sum((1.0 - diagonal) ** 2, axis=-1)
    off = jnp.sum(cross**2, axis=(-2, -1)) - jnp.sum(diagonal**2, axis=-1)
    return on + lambda_bt * off


def barlow_twins_lower_bound(l_cor: Any, eps: Any, d: Any = None, *, scaled: bool = True) -> jnp.ndarray:
    """The right side of 003 Eq 13: ``L_cor / 2 - d^2 eps^2`` (``scaled=True``, what the proof gives)
    or ``L_cor / 2 - eps^2`` (``scaled=False``, as printed).

    The proof bounds ``||E[f_1 (f_2 - f_1)^T]||_F`` by ``||f_1|| ||f_2 - f_1|| < r * r eps``, so the
    subtracted term is ``r^4 eps^2 = d^2 eps^2``. ``L_cor`` here is that of the first view.

    >>> round(float(barlow_twins_lower_bound(l_cor=1.0, eps=0.1, d=2)), 6)
    0.46
    >>> round(float(barlow_twins_lower_bound(l_cor=1.0, eps=0.1, scaled=False)), 6)
    0.49
    """
    l_cor = _params.check_real("l_cor", l_cor)
    eps = _params.check_real("eps", eps, _ANY_EPS)
    scaled = _params.check_flag("scaled", scaled)
    if scaled:
        if d is None:
            raise ValueError("d is needed with scaled=True (the subtracted term is d^2 eps^2)")
        d, _ = _d_and_k(d, 1)
        broadcast({"l_cor": l_cor, "eps": eps, "d": d})
        return jnp.asarray(l_cor / 2.0 - d**2 * eps**2)
    broadcast({"l_cor": l_cor, "eps": eps})
    return jnp.asarray(l_cor / 2.0 - eps**2)


def _labels(labels: Any, n: int, K: int | None) -> tuple[np.ndarray, int]:
    arr = validate("labels", labels, Array(ndim=1, doc="integer class labels [n], one per feature row"))
    if arr.shape != (n,) or np.asarray(labels).dtype.kind not in "iu":
        raise ValueError(f"labels must be {n} integers (one per feature row); got shape {arr.shape}, "
                         f"dtype {np.asarray(labels).dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"labels must be >= 0; got a label {int(arr.min())}")
    K = int(arr.max()) + 1 if K is None else _params.check_integer("K", K, 1)
    if arr.max() >= K:
        raise ValueError(f"labels must be < K={K}; got a label {int(arr.max())}")
    missing = np.setdiff1d(np.arange(K), arr)
    if missing.size:
        raise ValueError(f"labels must give every class 0..K-1 at least one feature; classes {missing.tolist()} have none")
    return arr, K


def class_means(features: Any, labels: Any, K: int | None = None) -> jnp.ndarray:
    """``mu_k = E[f | class k]`` (003 Eq 4), shape ``[K, d]``, from ``features [n, d]`` and integer ``labels [n]``.

    >>> class_means([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]], [0, 0, 1]).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    f = _features("features", features)
    if f.ndim != 2:
        raise ValueError(f"features must have shape [n, d]; got shape {f.shape}")
    labels, K = _labels(labels, f.shape[0], K)
    counts = np.bincount(labels, minlength=K)
    sums = np.zeros((K, f.shape[1]))
    np.add.at(sums, labels, f)
    return jnp.asarray(sums / counts[:, None])


def nearest_mean_error(features: Any, labels: Any, means: Any = None) -> float:
    """``Er(f)`` of 003 Eq 5: the fraction of rows whose nearest class mean (Eq 4) is not their own class.

    ``means`` default to :func:`class_means` of the same features. Ties go to the lower class index.

    >>> nearest_mean_error([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], [0, 1, 1])
    0.3333333333333333
    """
    f = _features("features", features)
    if f.ndim != 2:
        raise ValueError(f"features must have shape [n, d]; got shape {f.shape}")
    mu = np.asarray(class_means(f, labels) if means is None else _params.check_real("means", means))
    labels, _ = _labels(labels, f.shape[0], mu.shape[0])
    distances = np.sum((f[:, None, :] - mu[None, :, :]) ** 2, axis=-1)
    return float(np.mean(np.argmin(distances, axis=1) != labels))


def augmentation_eps(features: Any, labels: Any) -> float:
    """The smallest ``eps`` for which Eq 6 holds on these views (up to the strict inequality).

    ``max over classes of max_{a, b in class} ||f_a - f_b|| / r``, with ``r`` the largest feature
    norm (``sqrt(d)`` on the sphere). Any ``eps`` above it satisfies Eq 6.

    >>> augmentation_eps([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], [0, 0, 1])   # sqrt(2) / 1
    1.4142135623730951
    """
    f = _features("features", features)
    if f.ndim != 2:
        raise ValueError(f"features must have shape [n, d]; got shape {f.shape}")
    labels, K = _labels(labels, f.shape[0], None)
    radius = float(np.max(np.linalg.norm(f, axis=1)))
    if radius == 0:
        raise ValueError("features are all zero: Eq 6 needs features on a sphere of radius r > 0")
    widest = 0.0
    for k in range(K):
        members = f[labels == k]
        gram = members @ members.T
        sq = np.diag(gram)[:, None] + np.diag(gram)[None, :] - 2.0 * gram
        widest = max(widest, float(np.sqrt(max(np.max(sq), 0.0))))
    return widest / radius


class LatentClassFeatures(NamedTuple):
    """Synthetic two-view features meeting 003 Eqs 6-7 (see :func:`latent_class_features`)."""

    view1: np.ndarray  #: [n, d], on the sphere of radius sqrt(d)
    view2: np.ndarray  #: [n, d]
    labels: np.ndarray  #: [n] latent class of each sample
    class_probs: np.ndarray  #: [K] exact class proportions n_k / n
    centers: np.ndarray  #: [K, d] unit class directions
    eps: float  #: Eq 6 holds with this eps: any two views of one class are closer than sqrt(d) eps

    @property
    def views(self) -> np.ndarray:
        """Both views stacked, ``[2n, d]``: the view distribution ``x_hat ~ A(x), x ~ D``."""
        return np.concatenate([self.view1, self.view2], axis=0)

    @property
    def view_labels(self) -> np.ndarray:
        return np.concatenate([self.labels, self.labels])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _rotate_towards(base: np.ndarray, angle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors at ``angle`` from the unit vectors ``base`` in a uniformly random direction."""
    direction = rng.standard_normal(base.shape)
    direction -= np.sum(direction * base, axis=-1, keepdims=True) * base
    direction = _unit(direction)
    return np.cos(angle)[:, None] * base + np.sin(angle)[:, None] * direction


def latent_class_features(
    n: int,
    d: int,
    K: int,
    eps: float,
    *,
    class_probs: Any = None,
    centers: Any = None,
    seed: int = 0,
) -> LatentClassFeatures:
    """Sample ``n`` samples x two views of ``K`` latent classes on the sphere of radius ``sqrt(d)`` (003 Sec 4.1).

    Class ``k`` has a unit direction ``c_k`` (random Gaussian directions unless ``centers`` is
    given). Each sample gets a base direction at angle up to ``phi / 2`` from ``c_k``, each view is
    at angle up to ``phi / 2`` from the base, and ``phi = arcsin(eps / 2)``. So every view of class
    ``k`` is within angle ``phi`` of ``c_k``, and two views of one class are at most
    ``2 r sin(phi) = r eps`` apart (Eq 6, strict almost surely). Eq 7 holds by construction: each
    view belongs to one class. Class sizes are ``n_k = round(n p_k)`` (largest remainder), and
    ``class_probs`` in the result are the exact proportions.

    Args:
        n: number of samples (>= K).
        d: feature dimension (>= 2).
        K: number of latent classes (>= 2).
        eps: augmentation radius, ``0 < eps <= 2`` (the bound needs ``eps < 2 - sqrt(3)``).
        class_probs: class probabilities ``[K]`` (default balanced).
        centers: class directions ``[K, d]`` (normalised here).
        seed: NumPy random seed.

    >>> data = latent_class_features(n=200, d=8, K=4, eps=0.1, seed=1)
    >>> data.view1.shape, data.class_probs.tolist()
    ((200, 8), [0.25, 0.25, 0.25, 0.25])
    >>> bool(np.allclose(np.linalg.norm(data.views, axis=1), np.sqrt(8)))
    True
    >>> augmentation_eps(data.views, data.view_labels) < 0.1
    True
    """
    d = _params.check_integer("d", d, 2)
    K = _params.check_integer("K", K, 2)
    n = _params.check_integer("n", n, K)
    eps = _params.check_scalar("eps", eps, _params.Interval(0.0, 2.0, lower_closed=False))
    seed = _params.check_integer("seed", seed, 0)
    probs, _ = _class_probs(class_probs, K)
    if probs.ndim != 1:
        raise ValueError(f"class_probs must be 1-D here; got shape {probs.shape}")
    rng = np.random.default_rng(seed)
    if centers is None:
        directions = _unit(rng.standard_normal((K, d)))
    else:
        directions = _params.check_real("centers", centers)
        if directions.shape != (K, d) or np.any(np.linalg.norm(directions, axis=1) == 0):
            raise ValueError(f"centers must be {K} non-zero vectors of dimension {d}; got shape {directions.shape}")
        directions = _unit(directions)
    # Largest-remainder rounding: exact class sizes summing to n.
    raw = probs * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(K), counts)
    half_angle = np.arcsin(eps / 2.0) / 2.0
    base = _rotate_towards(directions[labels], rng.uniform(0.0, half_angle, n), rng)
    radius = math.sqrt(d)
    view1 = radius * _rotate_towards(base, rng.uniform(0.0, half_angle, n), rng)
    view2 = radius * _rotate_towards(base, rng.uniform(0.0, half_angle, n), rng)
    return LatentClassFeatures(view1, view2, labels, counts / n, directions, eps)
