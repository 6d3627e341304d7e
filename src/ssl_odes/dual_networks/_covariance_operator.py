r"""The covariance operator of SimCLR (000 Theorem 3, Eq 3) and the BYOL update without BN (Eq 4).

Data come from a generative model ``x = x(z0, z')`` (000 App. A, Fig 2a): a *sample* latent
``z0`` drawn from ``p(z0)`` and a *nuisance* latent ``z'`` that augmentation resamples from
``p(z' | z0)``. A :class:`LatentModel` holds that model on a finite grid: ``images[z0, z']`` is
``x(z0, z')``, with probabilities ``p_z0`` and ``p_aug[z0, z']``. Discrete latents are enumerated
exactly (:func:`latent_model`); for continuous ones, :func:`sample_latent_model` draws
``num_samples`` values of ``z0`` and ``num_augmentations`` views of each, and every operator below
is then the plug-in (Monte Carlo) estimate on that empirical model.

With ``Kbar_l(z0) = E_{z'|z0}[K_l(x(z0, z'))]`` (the augmentation-averaged connection) and
``Cov[X, Y] = E[X Y^T] - E[X] E[Y]^T`` (matrices multiply along the output axis ``n_L``):

* **Theorem 3 (Eq 3).** If every ``dL/dr_k- = -beta/H``, the large-batch SimCLR update of layer
  ``l`` is ``vec(Delta W_l) = beta V_x[Kbar_l(x)] vec(W_l)`` (:func:`simclr_update`), a PSD
  operator (:func:`covariance_operator`). This is the gradient through the first branch only, as
  in Theorem 1; with tied weights and the gradient through all branches the average doubles.
* **Eq 4 / 115.** BYOL with neither predictor nor EMA (``W' = W``):
  ``vec(Delta W_l)_sym = -E_x[V_aug[K_l(x')]] vec(W_l)`` (:func:`byol_symmetric_update`), which
  only shrinks variance across views: ``d||W||^2 / dt <= 0`` (collapse).

The Monte Carlo estimate of ``V_x[Kbar]`` is biased upward by ``E_x[V_aug[K]] / num_augmentations``
(each ``Kbar`` is a mean of ``num_augmentations`` views); the plug-in form is kept because it stays
PSD, like the operator it estimates.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import POSITIVE, Array, Integer, validate
from ._connection import _check_layer, _check_linear_from, _connection, check_weights, vec

__all__ = [
    "LatentModel",
    "latent_model",
    "sample_latent_model",
    "mean_connection",
    "covariance_operator",
    "augmentation_variance",
    "cross_covariance",
    "simclr_update",
    "byol_symmetric_update",
]


class LatentModel(eqx.Module):
    """A generative model ``x(z0, z')`` on a finite grid (000 App. A).

    Attributes:
        images: ``[n_z0, n_z', n_0]``, the input ``x(z0, z')``.
        p_z0: ``[n_z0]``, ``p(z0)`` (sums to 1).
        p_aug: ``[n_z0, n_z']``, the augmentation distribution ``p(z' | z0)`` (rows sum to 1).
    """

    images: jax.Array
    p_z0: jax.Array
    p_aug: jax.Array


def _check_probabilities(name: str, p: Any, shape: tuple[int, ...]) -> np.ndarray:
    p = validate(name, p, Array(doc="probabilities (finite, >= 0, summing to 1 on the last axis)"))
    if p.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got shape {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"{name} must be >= 0 and sum to 1 on its last axis; got sums {p.sum(axis=-1)!r}")
    return p


def latent_model(images: Any, p_z0: Any = None, p_aug: Any = None) -> LatentModel:
    """A :class:`LatentModel` for exact enumeration of discrete latents (uniform by default).

    Args:
        images: ``[n_z0, n_z', n_0]``: ``images[a, b]`` is ``x(z0 = a, z' = b)``.
        p_z0: ``p(z0)``, ``[n_z0]``; default uniform.
        p_aug: ``p(z' | z0)``, ``[n_z0, n_z']``; default uniform over ``z'``.

    Example:
        >>> m = latent_model(np.zeros((2, 3, 4)))
        >>> m.p_z0.tolist(), m.p_aug.shape
        ([0.5, 0.5], (2, 3))
    """
    images = validate("images", images, Array(ndim=3, doc="a finite real array [n_z0, n_z', n_0]"))
    if 0 in images.shape:
        raise ValueError(f"images must be non-empty in every axis; got shape {images.shape}")
    n_z0, n_aug, _ = images.shape
    p_z0 = np.full(n_z0, 1.0 / n_z0) if p_z0 is None else _check_probabilities("p_z0", p_z0, (n_z0,))
    p_aug = np.full((n_z0, n_aug), 1.0 / n_aug) if p_aug is None else _check_probabilities("p_aug", p_aug, (n_z0, n_aug))
    return LatentModel(jnp.asarray(images), jnp.asarray(p_z0), jnp.asarray(p_aug))


def sample_latent_model(sampler: Callable, key: Any, num_samples: int, num_augmentations: int) -> LatentModel:
    """A Monte Carlo :class:`LatentModel`: ``num_samples`` draws of ``z0``, ``num_augmentations`` views each.

    Args:
        sampler: ``sampler(key, num_samples, num_augmentations) -> x`` of shape
            ``[num_samples, num_augmentations, n_0]``; row ``i`` holds views of one ``z0``.
        key: a ``jax.random`` key.
        num_samples, num_augmentations: integers ``>= 2`` and ``>= 1``.

    Example:
        >>> import jax
        >>> sampler = lambda key, n, a: jax.random.normal(key, (n, a, 3))
        >>> sample_latent_model(sampler, jax.random.PRNGKey(0), 10, 4).images.shape
        (10, 4, 3)
    """
    if not callable(sampler):
        raise TypeError(f"sampler must be a function (key, num_samples, num_augmentations) -> x; got {sampler!r}")
    num_samples = validate("num_samples", num_samples, Integer(2))
    num_augmentations = validate("num_augmentations", num_augmentations, Integer(1))
    x = np.asarray(jax.jit(sampler, static_argnums=(1, 2))(key, num_samples, num_augmentations))
    if x.ndim != 3 or x.shape[:2] != (num_samples, num_augmentations):
        raise ValueError(f"sampler must return [num_samples, num_augmentations, n_0] = [{num_samples}, "
                         f"{num_augmentations}, n_0]; got shape {x.shape}")
    return latent_model(x)


def _as_model(model: Any) -> LatentModel:
    if isinstance(model, LatentModel):
        return model
    return latent_model(validate("model", model, Array(ndim=3, doc="a LatentModel or a finite real array of images "
                                                                   "[n_z0, n_z', n_0]")))


# --------------------------------------------------------------------------------------------
# Traceable moments on the grid
# --------------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("layer", "linear_from"))
def _grid_connections(ws, layer: int, linear_from: int, images: jax.Array) -> jax.Array:
    """``K_l(x(z0, z'))`` on the whole grid: ``[n_z0, n_z', P, n_L]``."""
    one = lambda x: _connection(ws, x, layer, linear_from)  # noqa: E731
    return jax.vmap(jax.vmap(one))(images)


def _mean_connection(ws, layer, linear_from, model: LatentModel) -> jax.Array:
    """``Kbar_l(z0) = sum_z' p(z'|z0) K_l``: ``[n_z0, P, n_L]``."""
    k = _grid_connections(ws, layer, linear_from, model.images)
    return jnp.einsum("ab,abpo->apo", model.p_aug, k)


def _cov(p: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    """``Cov_z0[A, B] = sum p A B^T - (sum p A)(sum p B)^T`` for ``A, B`` of shape ``[n_z0, P, n_L]``."""
    mean_a, mean_b = jnp.einsum("a,apo->po", p, a), jnp.einsum("a,apo->po", p, b)
    return jnp.einsum("a,apo,aqo->pq", p, a, b) - mean_a @ mean_b.T


def _aug_variance(ws, layer, linear_from, model: LatentModel) -> jax.Array:
    """``E_z0[V_{z'|z0}[K_l]] = E[K K^T] - E_z0[Kbar Kbar^T]``: ``[P, P]``."""
    k = _grid_connections(ws, layer, linear_from, model.images)
    kbar = jnp.einsum("ab,abpo->apo", model.p_aug, k)
    second = jnp.einsum("a,ab,abpo,abqo->pq", model.p_z0, model.p_aug, k, k)
    return second - jnp.einsum("a,apo,aqo->pq", model.p_z0, kbar, kbar)


def _prepare(weights, layer, linear_from, model, name="weights"):
    weights = check_weights(weights, name)
    layer = _check_layer(layer, len(weights))
    linear_from = _check_linear_from(linear_from, len(weights))
    model = _as_model(model)
    if model.images.shape[-1] != weights[0].shape[1]:
        raise ValueError(f"model inputs have n_0 = {model.images.shape[-1]} but weights[0] expects "
                         f"{weights[0].shape[1]} inputs")
    ws = [jnp.asarray(w, model.images.dtype) for w in weights]
    return ws, layer, linear_from, model


# --------------------------------------------------------------------------------------------
# Public operators
# --------------------------------------------------------------------------------------------


def mean_connection(weights: Any, layer: int, model: Any, *, linear_from: int | None = None) -> jax.Array:
    """The augmentation-averaged connection ``Kbar_l(z0) = E_{z'|z0}[K_l(x)]`` (Thm 3): ``[n_z0, P, n_L]``.

    ``model`` is a :class:`LatentModel` or an ``images`` array (uniform probabilities).

    Example:
        >>> images = np.array([[[1.0, 0.0], [0.0, 1.0]]])   # one z0, two views
        >>> mean_connection([np.eye(1, 2)], 1, images)[0, :, 0].tolist()   # linear neuron: E[x]
        [0.5, 0.5]
    """
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    return _mean_connection(ws, layer, linear_from, model)


def covariance_operator(weights: Any, layer: int, model: Any, *, linear_from: int | None = None) -> jax.Array:
    r"""The covariance operator ``V_x[Kbar_l(x)]`` of 000 Theorem 3 (Eq 3), ``[P, P]``, ``P = n_l n_{l-1}``.

    .. math:: \mathbb{V}_{z_0}[\bar K_l] = \mathbb{E}_{z_0}[\bar K_l \bar K_l^T] - \mathbb{E}_{z_0}[\bar K_l]\,\mathbb{E}_{z_0}[\bar K_l]^T

    Args:
        weights: ``[W_1, ..., W_L]`` (see :func:`connection`).
        layer: ``l`` in ``1..L``.
        model: a :class:`LatentModel` (exact, from :func:`latent_model`; or Monte Carlo, from
            :func:`sample_latent_model`) or an ``images`` array ``[n_z0, n_z', n_0]``.
        linear_from: layers ``linear_from..L`` have no ReLU (default ``L``).

    Example:
        >>> images = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])   # two samples, no augmentation
        >>> covariance_operator([np.ones((1, 2))], 1, images).tolist()   # a linear neuron: V[x]
        [[0.25, -0.25], [-0.25, 0.25]]
    """
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    kbar = _mean_connection(ws, layer, linear_from, model)
    return _cov(model.p_z0, kbar, kbar)


def augmentation_variance(weights: Any, layer: int, model: Any, *, linear_from: int | None = None) -> jax.Array:
    """``E_x[V_{x'~aug(x)}[K_l(x')]]``, the operator of Eq 4 (PSD), ``[P, P]``.

    Example:
        >>> images = np.array([[[1.0, 0.0], [0.0, 1.0]]])   # one sample, two views
        >>> augmentation_variance([np.ones((1, 2))], 1, images).tolist()
        [[0.25, -0.25], [-0.25, 0.25]]
    """
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    return _aug_variance(ws, layer, linear_from, model)


def cross_covariance(weights: Any, weights_prime: Any, layer: int, model: Any, *,
                     linear_from: int | None = None) -> jax.Array:
    """``Cov_x[Kbar_l(x; W), Kbar_l(x; W')]`` (000 Eq 7), ``[P, P]``; ``W'`` must have ``W``'s shapes.

    Example:
        >>> images = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> cross_covariance([np.ones((1, 2))], [2 * np.ones((1, 2))], 1, images).tolist()
        [[0.25, -0.25], [-0.25, 0.25]]
    """
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    wp = check_weights(weights_prime, "weights_prime")
    if [w.shape for w in wp] != [w.shape for w in ws]:
        raise ValueError(f"weights_prime must have the shapes of weights {[w.shape for w in ws]}; got {[w.shape for w in wp]}")
    wp = [jnp.asarray(w, model.images.dtype) for w in wp]
    return _cov(model.p_z0, _mean_connection(ws, layer, linear_from, model), _mean_connection(wp, layer, linear_from, model))


def simclr_update(weights: Any, layer: int, model: Any, *, beta: Any = 1.0, linear_from: int | None = None) -> jax.Array:
    r"""Theorem 3 (Eq 3): the large-batch SimCLR update ``vec(Delta W_l) = beta V_x[Kbar_l] vec(W_l)``.

    Holds when every ``dL/dr_k- = -beta/H`` (exactly for the loss ``beta (r_+ - mean_k r_k-)``);
    the gradient is taken through the first branch (Theorem 1's convention).

    Returns:
        ``vec(Delta W_l)``, ``[n_l n_{l-1}]`` (:func:`unvec` gives the matrix).

    Example:
        >>> images = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> simclr_update([np.array([[1.0, -1.0]])], 1, images, beta=2.0).tolist()
        [1.0, -1.0]
    """
    beta = validate("beta", beta, POSITIVE)
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    kbar = _mean_connection(ws, layer, linear_from, model)
    return beta * (_cov(model.p_z0, kbar, kbar) @ vec(ws[layer - 1]))


def byol_symmetric_update(weights: Any, layer: int, model: Any, *, linear_from: int | None = None) -> jax.Array:
    r"""Eq 4 (115): BYOL without predictor and EMA, ``vec(Delta W_l)_sym = -E_x[V_aug[K_l]] vec(W_l)``.

    The operator is PSD, so ``<vec(W_l), Delta W_l> <= 0``: the weights shrink (collapse).

    Example:
        >>> images = np.array([[[1.0, 0.0], [0.0, 1.0]]])
        >>> byol_symmetric_update([np.array([[1.0, -1.0]])], 1, images).tolist()
        [-0.5, 0.5]
    """
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    return -(_aug_variance(ws, layer, linear_from, model) @ vec(ws[layer - 1]))
