r"""BYOL with a predictor and mean-only BatchNorm (000 Sec 4, Theorem 4, Eqs 5-9; App. F.1-F.2).

The online network ``W`` is the base followed by a predictor; the target ``W'`` is its base
(an EMA, or ``W_base`` itself without EMA) followed by identity layers, so both have the same
depth (Theorem 1 applies layer by layer). With ``r = 1/2 ||f_L(x_1; W) - f_L(x_2; W')||^2`` on two
views of one ``x`` and the target not back-propagated:

* **Without BN** (Eqs 113-117): ``vec(Delta W_l) = vec(Delta W_l)_sym - E_x{Kbar_l [Kbar_l^T vec W_l
  - Kbar_l'^T vec W_l']}`` with ``vec(Delta W_l)_sym = -E_x[V_aug[K_l]] vec W_l`` (Eq 4).
* **Mean-only BN** shifts the downward gradient at layer ``l`` by its batch mean,
  ``g~_l^i = g_l^i - gbar_l`` (Eq 5; :func:`batchnorm_gradient` does it explicitly on a batch).
  If the network is linear from layer ``l`` up, the large-batch correction is (Eq 6)

  .. math:: \mathrm{vec}(\delta W_l^{BN}) = \mathbb{E}_x[\bar K_l]\{\mathbb{E}_x[\bar K_l^T]\mathrm{vec}(W_l) - \mathbb{E}_x[\bar K_l^T(W')]\mathrm{vec}(W_l')\}

  (:func:`bn_correction`), and the corrected update ``Delta W_l + delta W_l^BN`` is (Eq 7)

  .. math:: \mathrm{vec}(\widehat{\Delta W}_l) = \mathrm{vec}(\Delta W_l)_{sym} - \mathbb{V}_x[\bar K_l]\mathrm{vec}(W_l) + \mathrm{Cov}_x[\bar K_l, \bar K_l(W')]\mathrm{vec}(W_l')

  (:func:`byol_update` with ``batchnorm=True``). With ``W' = W`` (SimCLR, no predictor) the
  correction vanishes: BN does not matter.
* **Eq 8** is the last two terms of Eq 7 (:func:`implicit_contrastive_term`). With no EMA and a
  predictor ``P`` of small positive weights, ``K_l(x; W) = K_l(x; W_base) P^T``, so Eq 8 is
  ``E_x[Kt (P^T - P^T P) Kt^T] vec W_l`` (``Kt`` the centred ``Kbar_l(x; W_base)``): the first
  term is second order in ``P``, the second first order. For ``P = b I`` (or a single output and
  predictor weight ``b``) this is *exactly* ``b (1 - b) V_x[Kbar_l(x; W_base)] vec(W_l)``, Eq 9
  (:func:`predictor_approximation`). For a general ``P = b M`` with all entries ``~ b``, Eq 8 is
  ``b Cov_x[Kbar_l M^T, Kbar_l] vec W_l + O(b^2)``: the covariance-operator *form* of Eq 9 needs
  ``M = I`` (Eq 9's "approx" hides that), which is what the tests check.

``weights`` always means the online network (base + predictor) and ``target_weights`` the target
(base' + identities); ``layer`` is a base layer ``l``. Expectations are over a
:class:`~ssl_odes.dual_networks.LatentModel` (exact enumeration or Monte Carlo).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import Array, Flag, Interval, validate
from ._connection import _check_inputs, _check_layer, _check_linear_from, _forward, check_weights, vec
from ._covariance_operator import _aug_variance, _cov, _mean_connection, _prepare

__all__ = [
    "bn_correction",
    "byol_update",
    "implicit_contrastive_term",
    "predictor_approximation",
    "batchnorm_gradient",
]

_FLAG = Flag()


def _pair(weights, target_weights, layer, model, linear_from):
    ws, layer, linear_from, model = _prepare(weights, layer, linear_from, model)
    wt = check_weights(target_weights, "target_weights")
    if [w.shape for w in wt] != [w.shape for w in ws]:
        raise ValueError(f"target_weights must have the shapes of weights {[w.shape for w in ws]} (pad the target with "
                         f"identity layers for the predictor); got {[w.shape for w in wt]}")
    wt = [jnp.asarray(w, model.images.dtype) for w in wt]
    return ws, wt, layer, linear_from, model


def _require_linear_top(layer: int, linear_from: int) -> None:
    if linear_from > layer:
        raise ValueError(f"Theorem 4 needs the network linear from layer {layer} up: linear_from must be <= layer; "
                         f"got linear_from={linear_from}, layer={layer}")


def bn_correction(weights: Any, target_weights: Any, layer: int, model: Any, *, linear_from: int | None = None) -> jax.Array:
    r"""Eq 6: ``vec(delta W_l^BN) = E_x[Kbar_l] {E_x[Kbar_l^T] vec W_l - E_x[Kbar_l^T(W')] vec W_l'}``.

    Requires a network linear from layer ``l`` up (``linear_from <= layer``). Zero when ``W' = W``.

    Example:
        >>> images = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 1.0]]])
        >>> W = [np.array([[1.0, 0.5]]), np.array([[0.5]])]           # base + predictor 0.5
        >>> T = [np.array([[1.0, 0.5]]), np.array([[1.0]])]           # base + identity
        >>> bn_correction(W, W, 1, images, linear_from=1).tolist()    # W' = W: BN does not matter
        [0.0, 0.0]
        >>> np.round(np.asarray(bn_correction(W, T, 1, images, linear_from=1)), 6).tolist()
        [-0.34375, -0.257812]
    """
    ws, wt, layer, linear_from, model = _pair(weights, target_weights, layer, model, linear_from)
    _require_linear_top(layer, linear_from)
    mean = jnp.einsum("a,apo->po", model.p_z0, _mean_connection(ws, layer, linear_from, model))
    mean_t = jnp.einsum("a,apo->po", model.p_z0, _mean_connection(wt, layer, linear_from, model))
    return mean @ (mean.T @ vec(ws[layer - 1]) - mean_t.T @ vec(wt[layer - 1]))


def byol_update(weights: Any, target_weights: Any, layer: int, model: Any, *, batchnorm: bool = True,
                linear_from: int | None = None) -> jax.Array:
    r"""The large-batch BYOL update of base layer ``l``: Eq 7 with mean-only BN, Eqs 113-114 without.

    .. math::

        \text{BN:}\quad -\mathbb{E}_x[\mathbb{V}_{aug}[K_l]] w_l - \mathbb{V}_x[\bar K_l] w_l + \mathrm{Cov}_x[\bar K_l, \bar K_l'] w_l' \\
        \text{no BN:}\quad -\mathbb{E}_x[\mathbb{V}_{aug}[K_l]] w_l - \mathbb{E}_x[\bar K_l \bar K_l^T] w_l + \mathbb{E}_x[\bar K_l \bar K_l'^T] w_l'

    with ``w_l = vec(W_l)``, ``w_l' = vec(W_l')``, ``Kbar_l' = Kbar_l(x; W')``. With BN the network
    must be linear from layer ``l`` up (Theorem 4).

    Example:
        >>> images = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 1.0]]])
        >>> W = [np.array([[1.0, 0.5]]), np.array([[1.0]])]
        >>> np.round(np.asarray(byol_update(W, W, 1, images, linear_from=1)), 6).tolist()   # W' = W: Eq 4
        [-0.1875, 0.0625]
    """
    ws, wt, layer, linear_from, model = _pair(weights, target_weights, layer, model, linear_from)
    kbar = _mean_connection(ws, layer, linear_from, model)
    kbar_t = _mean_connection(wt, layer, linear_from, model)
    w, w_t = vec(ws[layer - 1]), vec(wt[layer - 1])
    sym = -(_aug_variance(ws, layer, linear_from, model) @ w)
    if validate("batchnorm", batchnorm, _FLAG):
        _require_linear_top(layer, linear_from)
        return sym - _cov(model.p_z0, kbar, kbar) @ w + _cov(model.p_z0, kbar, kbar_t) @ w_t
    second = jnp.einsum("a,apo,aqo->pq", model.p_z0, kbar, kbar)
    cross = jnp.einsum("a,apo,aqo->pq", model.p_z0, kbar, kbar_t)
    return sym - second @ w + cross @ w_t


def implicit_contrastive_term(weights: Any, target_weights: Any, layer: int, model: Any, *,
                              linear_from: int | None = None) -> jax.Array:
    r"""Eq 8: ``-V_x[Kbar_l(x; W)] vec W_l + Cov_x[Kbar_l(x; W), Kbar_l(x; W')] vec W_l'``.

    Example:
        >>> images = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> W, T = [np.array([[1.0, -1.0]]), np.array([[0.25]])], [np.array([[1.0, -1.0]]), np.array([[1.0]])]
        >>> np.asarray(implicit_contrastive_term(W, T, 1, images, linear_from=1)).tolist()   # b (1 - b) V w, b = 1/4
        [0.09375, -0.09375]
    """
    ws, wt, layer, linear_from, model = _pair(weights, target_weights, layer, model, linear_from)
    kbar = _mean_connection(ws, layer, linear_from, model)
    kbar_t = _mean_connection(wt, layer, linear_from, model)
    return -_cov(model.p_z0, kbar, kbar) @ vec(ws[layer - 1]) + _cov(model.p_z0, kbar, kbar_t) @ vec(wt[layer - 1])


def predictor_approximation(base_weights: Any, layer: int, model: Any, b: Any, *, linear_from: int | None = None) -> jax.Array:
    r"""Eq 9: ``b (1 - b) V_x[Kbar_l(x; W_base)] vec(W_l)`` for a predictor of weights ``~ b``.

    Args:
        base_weights: the base network ``[W_1, ..., W_L]`` (no predictor).
        layer: a base layer.
        model: the generative model.
        b: the predictor's (small, positive) weight scale, ``0 < b < 1``.

    Example:
        >>> images = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> np.asarray(predictor_approximation([np.array([[1.0, -1.0]])], 1, images, 0.25)).tolist()
        [0.09375, -0.09375]
    """
    b = validate("b", b, Interval(0.0, 1.0, lower_closed=False, upper_closed=False))
    ws, layer, linear_from, model = _prepare(base_weights, layer, linear_from, model, "base_weights")
    kbar = _mean_connection(ws, layer, linear_from, model)
    return b * (1.0 - b) * (_cov(model.p_z0, kbar, kbar) @ vec(ws[layer - 1]))


# --------------------------------------------------------------------------------------------
# The explicit per-sample gradient with the batch mean back-propagated (Eq 5)
# --------------------------------------------------------------------------------------------


def _top(ws, h, layer: int, linear_from: int):
    """``f_L`` from the pre-activation ``tilde f_l = h`` (layers ``l+1..L``)."""
    depth = len(ws)
    f = jax.nn.relu(h) if (layer < linear_from and layer < depth) else h
    return _forward(ws[layer:], f, max(linear_from - layer, 1) if layer < depth else 1)[0][-1]


@partial(jax.jit, static_argnames=("layer", "linear_from", "mean_subtraction"))
def _bn_gradient(ws, wt, x1, x2, p, layer, linear_from, mean_subtraction):
    def per_sample(a, b):
        f1, pre1 = _forward(ws, a, linear_from)
        target = jax.lax.stop_gradient(_forward(wt, b, linear_from)[0][-1])
        g = jax.grad(lambda h: 0.5 * jnp.sum((_top(ws, h, layer, linear_from) - target) ** 2))(pre1[layer - 1])
        return g, f1[layer - 1]

    g, f = jax.vmap(per_sample)(x1, x2)  # [B, n_l], [B, n_{l-1}]
    if mean_subtraction:
        g = g - p @ g  # Eq 5: g~^i = g^i - gbar (gbar the batch mean, weighted by p)
    return vec(jnp.einsum("i,ia,ib->ab", p, g, f))


def batchnorm_gradient(weights: Any, target_weights: Any, x_1: Any, x_2: Any, layer: int, *, batch_weights: Any = None,
                       mean_subtraction: bool = True, linear_from: int | None = None) -> jax.Array:
    r"""``vec(dr/dW_l)`` on a batch, with the downward gradient at layer ``l`` centred as in Eq 5.

    Per sample ``i``: ``g_l^i = dr^i / d tilde f_l`` (target branch stopped), ``g~_l^i = g_l^i -
    gbar_l``; the weight gradient is ``sum_i p_i g~_l^i f_{l-1}^{iT}``. ``batch_weights`` ``p_i``
    (default ``1/|B|``) let an enumerated batch stand for the large-batch limit.

    Args:
        weights, target_weights: online and target networks (same shapes).
        x_1, x_2: the two views ``[B, n_0]``.
        layer: the layer ``l`` where BN acts.
        batch_weights: ``[B]`` non-negative, summing to 1.
        mean_subtraction: ``False`` gives the plain averaged gradient (no BN).

    Example:
        >>> W = [np.array([[1.0, 0.5]]), np.array([[1.0]])]
        >>> x1, x2 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> np.asarray(batchnorm_gradient(W, W, x1, x2, 1, linear_from=1)).tolist()
        [0.25, -0.25]
    """
    ws = check_weights(weights)
    wt = check_weights(target_weights, "target_weights")
    if [w.shape for w in wt] != [w.shape for w in ws]:
        raise ValueError(f"target_weights must have the shapes of weights {[w.shape for w in ws]}; got {[w.shape for w in wt]}")
    layer = _check_layer(layer, len(ws))
    linear_from = _check_linear_from(linear_from, len(ws))
    mean_subtraction = validate("mean_subtraction", mean_subtraction, _FLAG)
    if mean_subtraction:
        _require_linear_top(layer, linear_from)
    n0 = ws[0].shape[1]
    x_1, x_2 = _check_inputs("x_1", x_1, n0), _check_inputs("x_2", x_2, n0)
    if x_1.ndim != 2 or x_1.shape != x_2.shape:
        raise ValueError(f"x_1 and x_2 must both be batches [B, n_0]; got shapes {x_1.shape} and {x_2.shape}")
    batch = x_1.shape[0]
    if batch_weights is None:
        p = np.full(batch, 1.0 / batch)
    else:
        p = validate("batch_weights", batch_weights, Array(ndim=1, doc="weights [B], >= 0, summing to 1"))
        if p.shape != (batch,) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
            raise ValueError(f"batch_weights must be {batch} numbers >= 0 summing to 1; got sum {p.sum()!r}")
    return _bn_gradient([jnp.asarray(w) for w in ws], [jnp.asarray(w) for w in wt], jnp.asarray(x_1), jnp.asarray(x_2),
                        jnp.asarray(p), layer, linear_from, mean_subtraction)

