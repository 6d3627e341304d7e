r"""The patch data of 004 (Def 3.1, Assumption 3.2) and its positive pair (Eq 3.2).

A sample is ``X = (X_1, ..., X_P) in R^{d x P}``, stored here as ``[P, d]`` (patches first). The
feature ``l`` is uniform on ``{1, 2}``; a uniformly random set ``S(X)`` of ``P0`` patches carries
``X_p = z v_l`` with one shared ``z in {+alpha_l, -alpha_l}`` (each with probability 1/2, so
``E z_p = 0``); every other patch carries noise ``xi_p`` in ``V^perp``, ``V = span(v1, v2)``:

.. math::

    X_p = z_p(X) v_\ell + \xi_p 1_{z_p = 0},\qquad z_p \in \{0, \pm\alpha_\ell\}.

Choices (the paper leaves them open):

* ``v1, v2`` are the first two standard basis vectors ``e_1, e_2`` (any orthonormal pair is the
  same problem: the initialisation ``W ~ N(0, 1/d)`` is rotation invariant);
* the noise is the spherical Gaussian of Remark 3.3 on the coordinates ``3..d``, with standard
  deviation ``sigma / 15^{1/6}`` per coordinate, so that Assumption 3.2(a) holds *as written*:
  ``E <xi_p, u>^6 = 15 std^6 = sigma^6`` for every unit ``u in V^perp``. Assumption 3.2(b) holds
  with ``rho = 0`` (independent coordinates).

The positive pair (Eq 3.2): a uniformly random half ``calP`` of the patches goes to view 1 and the
rest to view 2; the other patches of each view are zeroed (masked, so shapes stay ``[P, d]``).
For an odd ``P`` view 1 gets ``floor(P / 2)`` patches and view 2 the other ``ceil(P / 2)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import NONNEGATIVE, POSITIVE, Integer, validate

__all__ = ["Samples", "Latent", "sample", "draw", "draw_latent", "view_mask", "positive_pair", "features", "check_data_parameters", "NOISE_STD_PER_SIGMA"]

#: Per-coordinate Gaussian standard deviation of the noise per unit ``sigma``: ``15^{-1/6}``
#: (``E g^6 = 15`` for a standard normal ``g``), so that ``E <xi, u>^6 = sigma^6`` (Assumption 3.2a).
NOISE_STD_PER_SIGMA = 15.0 ** (-1.0 / 6.0)


class Samples(NamedTuple):
    """``X`` ``[n, P, d]`` and the feature ``l`` ``[n]`` (1 or 2) of each sample."""

    X: jax.Array
    feature: jax.Array


def check_data_parameters(d: Any, P: Any, P0: Any, alpha_1: Any, alpha_2: Any, sigma: Any) -> dict[str, Any]:
    """Validate the constants of Def 3.1 / Assumption 3.2; a ValueError/TypeError names the argument.

    ``d >= 3`` (a noise direction besides ``v1, v2``), ``P >= 2`` (two views), ``1 <= P0 <= P``,
    ``alpha_1 >= alpha_2 > 0`` (``v1`` is the strong feature), ``sigma >= 0``.

    >>> check_data_parameters(8, 4, 5, 2.0, 1.0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: P0 must be at most P (the number of feature patches among P patches); got P0=5, P=4
    """
    out = {
        "d": validate("d", d, Integer(3)),
        "P": validate("P", P, Integer(2)),
        "P0": validate("P0", P0, Integer(1)),
        "alpha_1": validate("alpha_1", alpha_1, POSITIVE),
        "alpha_2": validate("alpha_2", alpha_2, POSITIVE),
        "sigma": validate("sigma", sigma, NONNEGATIVE),
    }
    if out["P0"] > out["P"]:
        raise ValueError(
            f"P0 must be at most P (the number of feature patches among P patches); got P0={out['P0']}, P={out['P']}"
        )
    if np.any(np.asarray(out["alpha_2"]) > np.asarray(out["alpha_1"])):
        raise ValueError(
            f"alpha_2 must be at most alpha_1 (v1 is the strong feature); got alpha_2={out['alpha_2']}, "
            f"alpha_1={out['alpha_1']}"
        )
    return out


def features(d: int, dtype: Any = jnp.float32) -> jax.Array:
    """``[v1, v2]`` as rows, ``[2, d]``: the first two standard basis vectors.

    >>> features(4).tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    """
    return jnp.eye(2, validate("d", d, Integer(2)), dtype=dtype)


def _random_subset(key: jax.Array, shape: tuple[int, ...], P: int, size: int) -> jax.Array:
    """A boolean mask ``[*shape, P]`` with a uniformly random set of ``size`` patches per row.

    The ``size`` smallest of ``P`` i.i.d. uniform scores (ties broken by index, so exactly ``size``),
    ranked by pairwise comparison (``P^2`` compares, faster than two argsorts for small ``P``).
    """
    scores = jax.random.uniform(key, shape + (P,))
    index = jnp.arange(P)
    before = (scores[..., None, :] < scores[..., :, None]) | (
        (scores[..., None, :] == scores[..., :, None]) & (index[None, :] < index[:, None]))
    return jnp.sum(before, axis=-1) < size


class Latent(NamedTuple):
    """The latent part of a batch: ``strong`` (``l = 1``) ``[n]``, the shared ``z`` ``[n]``, ``S(X)`` ``[n, P]``."""

    strong: jax.Array
    z: jax.Array
    feature_patch: jax.Array


def draw_latent(key: jax.Array, n: int, P: int, P0: int, alpha_1: Any, alpha_2: Any, dtype: Any = jnp.float32
                ) -> Latent:
    """``l`` uniform on {1, 2}, ``z = +-alpha_l`` (fair sign) and a uniform ``P0``-subset ``S(X)`` per sample."""
    k_feature, k_sign, k_subset = jax.random.split(key, 3)
    strong = jax.random.bernoulli(k_feature, 0.5, (n,))
    alpha = jnp.where(strong, jnp.asarray(alpha_1, dtype), jnp.asarray(alpha_2, dtype))
    z = alpha * jnp.where(jax.random.bernoulli(k_sign, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    return Latent(strong, z, _random_subset(k_subset, (n,), P, P0))


def draw(key: jax.Array, n: int, d: int, P: int, P0: int, alpha_1: Any, alpha_2: Any, sigma: Any,
         dtype: Any = jnp.float32) -> Samples:
    """The sampler without validation (pure, jit-friendly; ``alpha_*`` and ``sigma`` may be traced)."""
    k_latent, k_noise = jax.random.split(key)
    strong, z, feature_patch = draw_latent(k_latent, n, P, P0, alpha_1, alpha_2, dtype)
    v = jnp.where(strong[:, None], features(d, dtype)[0], features(d, dtype)[1])  # [n, d]
    noise = jax.random.normal(k_noise, (n, P, d - 2), dtype) * (jnp.asarray(sigma, dtype) * NOISE_STD_PER_SIGMA)
    noise = jnp.concatenate([jnp.zeros((n, P, 2), dtype), noise], axis=-1)
    signal = z[:, None, None] * v[:, None, :]
    X = jnp.where(feature_patch[..., None], signal, noise)
    return Samples(X, jnp.where(strong, 1, 2).astype(jnp.int32))


def view_mask(key: jax.Array, shape: tuple[int, ...], P: int) -> jax.Array:
    """Eq 3.2's ``1[p in calP]`` ``[*shape, P]``: ``floor(P / 2)`` uniformly random patches of each sample."""
    return _random_subset(key, shape, P, P // 2)


def positive_pair(key: jax.Array, X: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eq 3.2: a uniformly random half ``calP`` of each sample's patches to view 1, the rest to view 2.

    ``X`` is ``[..., P, d]``; both views keep that shape with the other patches zeroed. For an odd
    ``P`` view 1 gets ``floor(P / 2)`` patches, view 2 ``ceil(P / 2)``.

    >>> import jax, jax.numpy as jnp
    >>> X = jnp.ones((3, 5, 4))
    >>> X1, X2 = positive_pair(jax.random.key(0), X)
    >>> (X1[..., 0].sum(-1).tolist(), X2[..., 0].sum(-1).tolist())
    ([2.0, 2.0, 2.0], [3.0, 3.0, 3.0])
    """
    in_view_1 = view_mask(key, X.shape[:-2], X.shape[-2])[..., None]
    zero = jnp.zeros((), X.dtype)
    return jnp.where(in_view_1, X, zero), jnp.where(in_view_1, zero, X)


def sample(
    key: Any,
    n: int,
    *,
    d: int,
    P: int,
    P0: int,
    alpha_1: float,
    alpha_2: float,
    sigma: float = 1.0,
    dtype: Any = jnp.float32,
) -> Samples:
    r"""``n`` samples of 004's data distribution (Def 3.1, Assumption 3.2), ``X`` ``[n, P, d]``.

    Each sample picks ``l`` uniform on ``{1, 2}``; ``P0`` random patches carry ``z v_l`` with one
    shared sign, ``z = +-alpha_l``; the others carry Gaussian noise in ``span(v1, v2)^perp`` with
    ``E <xi, u>^6 = sigma^6`` (std ``sigma 15^{-1/6}`` per coordinate). ``v1 = e_1``, ``v2 = e_2``.

    Args:
        key: a ``jax.random`` key or an integer seed.
        n: number of samples, ``>= 1``.
        d: dimension, ``>= 3``.
        P: number of patches, ``>= 2``.
        P0: feature patches per sample, ``1 <= P0 <= P`` (``Theta(log d)`` in the paper).
        alpha_1, alpha_2: strong and weak feature magnitudes, ``alpha_1 >= alpha_2 > 0``.
        sigma: noise scale (Assumption 3.2a), ``>= 0``.
        dtype: floating dtype of ``X``.

    Returns:
        :class:`Samples` ``(X, feature)``.

    Example:
        >>> s = sample(0, 6, d=5, P=4, P0=2, alpha_1=2.0, alpha_2=1.0)
        >>> s.X.shape, sorted(set(s.feature.tolist())) <= [1, 2]
        ((6, 4, 5), True)
        >>> bool(((s.X[:, :, 0] != 0).sum(-1) + (s.X[:, :, 1] != 0).sum(-1) == 2).all())  # P0 feature patches
        True
    """
    n = validate("n", n, Integer(1))
    c = check_data_parameters(d, P, P0, alpha_1, alpha_2, sigma)
    for name in ("alpha_1", "alpha_2", "sigma"):
        if np.ndim(c[name]) != 0:
            raise ValueError(f"{name} must be a single number here; got an array of shape {np.shape(c[name])}")
    if key is None or isinstance(key, (int, np.integer, float, np.floating, bool, np.bool_, complex, str)):
        key = jax.random.key(validate("key", key, Integer(0)))  # a seed (booleans, None, strings: TypeError)
    return draw(key, n, c["d"], c["P"], c["P0"], float(c["alpha_1"]), float(c["alpha_2"]), float(c["sigma"]), dtype)
