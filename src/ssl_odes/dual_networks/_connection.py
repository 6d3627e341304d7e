r"""The connection of a ReLU network and the dual-network gradient (000 Sec 2-3, Def 1, Thms 1-2).

An ``L``-layer network with weights ``W_l`` of shape ``(n_l, n_{l-1})``:

.. math::

    \tilde f_l = W_l f_{l-1},\qquad f_l = \psi(\tilde f_l)\ (l < L),\qquad f_L = \tilde f_L,
    \qquad f_0 = x,

with ``psi(u) = max(u, 0)``. ``linear_from = l`` drops the ReLU after layers ``l, ..., L`` (a
network "linear from layer ``l`` to the topmost", Theorem 4); the default ``L`` is the paper's
network. The Jacobian ``J_l = d f_L / d tilde f_l`` (shape ``(n_L, n_l)``) obeys ``J_L = I`` and
``J_{l-1} = J_l W_l D_{l-1}`` with the gating ``D_l = diag(1(tilde f_l > 0))`` (``I`` for a linear
layer). The gate at exactly 0 is closed, as in ``jax.grad`` of ``jax.nn.relu``.

**Definition 1 (the connection).** ``K_l(x) = f_{l-1}(x) (x) J_l(x)^T``, of shape
``(n_l n_{l-1}, n_L)``. ``vec`` stacks columns (``vec(A X B) = (B^T (x) A) vec(X)``), so
``K_l^T vec(W_l) = J_l W_l f_{l-1} = f_L`` for every ``l`` (a bias-free ReLU network is
positively homogeneous).

**Theorem 1 (Eq 1).** For ``r = 1/2 ||f_L(x_1; W_1) - f_L(x_2; W_2)||^2``,

.. math:: \mathrm{vec}(\partial r / \partial W_{1,l}) = K_{1,l}\,[K_{1,l}^T \mathrm{vec}(W_{1,l}) - K_{2,l}^T \mathrm{vec}(W_{2,l})].

**Theorem 2 (Eqs 2, 38-40).** For InfoNCE ``L = -log(e^{-r_+/tau} / (e^{-r_+/tau} + sum_k
e^{-r_k-/tau}))``: ``dL/dr_+ = (1 - p_+) / tau > 0``, ``dL/dr_k- = -p_k / tau < 0`` with ``p``
the softmax of ``(-r_+, -r_1-, ...)/tau``, and they sum to 0.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._core.params import POSITIVE, Array, Integer, NONNEGATIVE, validate

__all__ = [
    "check_weights",
    "vec",
    "unvec",
    "mlp_forward",
    "jacobians",
    "connection",
    "dual_gradient",
    "infonce_loss",
    "infonce_partials",
]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def check_weights(weights: Any, name: str = "weights") -> tuple[np.ndarray, ...]:
    """A non-empty sequence of finite matrices ``W_l`` of shape ``(n_l, n_{l-1})`` that chain.

    >>> [w.shape for w in check_weights([np.ones((3, 2)), np.ones((1, 3))])]
    [(3, 2), (1, 3)]
    >>> check_weights([np.ones((3, 2)), np.ones((1, 2))])
    Traceback (most recent call last):
    ...
    ValueError: weights[1] must have shape (n_2, 3) to chain with weights[0] of shape (3, 2); got shape (1, 2)
    """
    if isinstance(weights, (np.ndarray, jax.Array)) or not isinstance(weights, Sequence) or isinstance(weights, str):
        raise TypeError(f"{name} must be a list of weight matrices W_1, ..., W_L; got {type(weights).__name__}")
    if len(weights) == 0:
        raise ValueError(f"{name} must hold at least one layer (depth >= 1); got an empty list")
    checked = []
    for l, w in enumerate(weights):
        w = validate(f"{name}[{l}]", w, Array(ndim=2, doc="a finite real matrix (n_l, n_{l-1})"))
        if 0 in w.shape:
            raise ValueError(f"{name}[{l}] must be a non-empty matrix; got shape {w.shape}")
        if checked and w.shape[1] != checked[-1].shape[0]:
            raise ValueError(
                f"{name}[{l}] must have shape (n_{l + 1}, {checked[-1].shape[0]}) to chain with {name}[{l - 1}] "
                f"of shape {checked[-1].shape}; got shape {w.shape}"
            )
        checked.append(w)
    return tuple(checked)


def _check_layer(layer: Any, depth: int) -> int:
    return validate("layer", layer, Integer(1, depth))


def _check_linear_from(linear_from: Any, depth: int) -> int:
    return depth if linear_from is None else validate("linear_from", linear_from, Integer(1, depth))


def _check_inputs(name: str, x: Any, n0: int) -> np.ndarray:
    x = validate(name, x, Array(doc=f"a finite real array of inputs with last axis n_0 = {n0}"))
    if x.ndim == 0 or x.shape[-1] != n0:
        raise ValueError(f"{name} must have last axis n_0 = {n0} (the input width of W_1); got shape {x.shape}")
    return x


# --------------------------------------------------------------------------------------------
# vec, forward pass, Jacobians (traceable, one input)
# --------------------------------------------------------------------------------------------


def vec(matrix: Any) -> jax.Array:
    """Column-stacking ``vec`` (``vec(A X B) = (B^T (x) A) vec(X)``), on the last two axes.

    >>> vec(jnp.array([[1, 2], [3, 4]])).tolist()
    [1, 3, 2, 4]
    """
    matrix = jnp.asarray(matrix)
    return jnp.swapaxes(matrix, -1, -2).reshape(matrix.shape[:-2] + (-1,))


def unvec(vector: Any, shape: tuple[int, int]) -> jax.Array:
    """Inverse of :func:`vec`: the ``(n_l, n_{l-1})`` matrix whose columns were stacked.

    >>> unvec(jnp.array([1, 3, 2, 4]), (2, 2)).tolist()
    [[1, 2], [3, 4]]
    """
    vector = jnp.asarray(vector)
    rows, cols = shape
    return jnp.swapaxes(vector.reshape(vector.shape[:-1] + (cols, rows)), -1, -2)


def _forward(weights: Sequence[jax.Array], x: jax.Array, linear_from: int):
    """``([f_0, ..., f_L], [tilde f_1, ..., tilde f_L])`` for one input ``x``."""
    depth = len(weights)
    f = [x]
    pre = []
    for l, w in enumerate(weights, start=1):
        h = w @ f[-1]
        pre.append(h)
        f.append(jax.nn.relu(h) if (l < linear_from and l < depth) else h)
    return f, pre


def _jacobians(weights: Sequence[jax.Array], pre: Sequence[jax.Array], linear_from: int):
    """``[J_1, ..., J_L]``, ``J_l = d f_L / d tilde f_l`` of shape ``(n_L, n_l)``."""
    depth = len(weights)
    js = [jnp.eye(weights[-1].shape[0], dtype=pre[-1].dtype)]
    for l in range(depth, 1, -1):  # J_{l-1} = J_l W_l D_{l-1}
        below = l - 1
        gate = (pre[below - 1] > 0).astype(pre[below - 1].dtype) if below < linear_from else jnp.ones_like(pre[below - 1])
        js.insert(0, (js[0] @ weights[l - 1]) * gate[None, :])
    return js


def _connection(weights: Sequence[jax.Array], x: jax.Array, layer: int, linear_from: int) -> jax.Array:
    """``K_l(x) = f_{l-1} (x) J_l^T`` for one input (Def 1), shape ``(n_l n_{l-1}, n_L)``."""
    f, pre = _forward(weights, x, linear_from)
    j = _jacobians(weights, pre, linear_from)[layer - 1]
    return jnp.kron(f[layer - 1][:, None], j.T)


@partial(jax.jit, static_argnames=("linear_from",))
def _forward_batch(ws, x, linear_from):
    return jax.vmap(lambda xi: _forward(ws, xi, linear_from))(x)


@partial(jax.jit, static_argnames=("linear_from",))
def _jacobians_batch(ws, x, linear_from):
    return jax.vmap(lambda xi: _jacobians(ws, _forward(ws, xi, linear_from)[1], linear_from))(x)


@partial(jax.jit, static_argnames=("layer", "linear_from"))
def _connection_batch(ws, x, layer, linear_from):
    return jax.vmap(lambda xi: _connection(ws, xi, layer, linear_from))(x)


@partial(jax.jit, static_argnames=("layer", "linear_from"))
def _dual_gradient_batch(w1, w2, x1, x2, layer, linear_from):
    def one(a, b):
        k1 = _connection(w1, a, layer, linear_from)
        k2 = _connection(w2, b, layer, linear_from)
        return k1 @ (k1.T @ vec(w1[layer - 1]) - k2.T @ vec(w2[layer - 1]))

    return jax.vmap(one)(x1, x2)


def mlp_forward(weights: Any, x: Any, *, linear_from: int | None = None) -> tuple[list[jax.Array], list[jax.Array]]:
    """Activations ``[f_0, ..., f_L]`` and pre-activations ``[tilde f_1, ..., tilde f_L]`` (000 Sec 2).

    ``x`` is ``[..., n_0]``; every returned array has the same leading axes.

    >>> f, pre = mlp_forward([np.array([[1.0, -1.0]]), np.array([[2.0]])], np.array([3.0, 1.0]))
    >>> [float(v[0]) for v in f], [float(v[0]) for v in pre]
    ([3.0, 2.0, 4.0], [2.0, 4.0])
    """
    weights = check_weights(weights)
    linear_from = _check_linear_from(linear_from, len(weights))
    x = _check_inputs("x", x, weights[0].shape[1])
    flat = jnp.asarray(x).reshape(-1, x.shape[-1])
    f, pre = _forward_batch([jnp.asarray(w) for w in weights], flat, linear_from)
    lead = x.shape[:-1]
    return [v.reshape(lead + v.shape[1:]) for v in f], [v.reshape(lead + v.shape[1:]) for v in pre]


def jacobians(weights: Any, x: Any, *, linear_from: int | None = None) -> list[jax.Array]:
    """The top-down Jacobians ``J_l(x) = d f_L / d tilde f_l``, each ``[..., n_L, n_l]`` (000 Sec 2).

    >>> js = jacobians([np.array([[1.0, -1.0]]), np.array([[2.0]])], np.array([3.0, 1.0]))
    >>> [j.tolist() for j in js]   # J_2 = I, J_1 = J_2 W_2 D_1 (gate open)
    [[[2.0]], [[1.0]]]
    """
    weights = check_weights(weights)
    linear_from = _check_linear_from(linear_from, len(weights))
    x = _check_inputs("x", x, weights[0].shape[1])
    flat = jnp.asarray(x).reshape(-1, x.shape[-1])
    js = _jacobians_batch([jnp.asarray(w) for w in weights], flat, linear_from)
    return [j.reshape(x.shape[:-1] + j.shape[1:]) for j in js]


def connection(weights: Any, x: Any, layer: int, *, linear_from: int | None = None) -> jax.Array:
    r"""The connection ``K_l(x; W) = f_{l-1}(x) (x) J_l(x)^T`` of 000 Definition 1.

    Args:
        weights: ``[W_1, ..., W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})`` (depth ``L >= 1``).
        x: inputs ``[..., n_0]``.
        layer: ``l`` in ``1..L`` (the paper's 1-based index).
        linear_from: layers ``linear_from..L`` have no ReLU (default ``L``: only the top).

    Returns:
        ``[..., n_l n_{l-1}, n_L]``. Rows follow the column-stacking :func:`vec` of ``W_l``, so
        ``K_l(x)^T vec(W_l) = f_L(x)``.

    Example:
        >>> W = [np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([[1.0, 1.0]])]
        >>> connection(W, np.array([2.0, 1.0]), layer=1)[:, 0].tolist()   # x (x) J_1^T, unit 2 gated off
        [2.0, 0.0, 1.0, 0.0]
    """
    weights = check_weights(weights)
    layer = _check_layer(layer, len(weights))
    linear_from = _check_linear_from(linear_from, len(weights))
    x = _check_inputs("x", x, weights[0].shape[1])
    flat = jnp.asarray(x).reshape(-1, x.shape[-1])
    k = _connection_batch([jnp.asarray(w) for w in weights], flat, layer, linear_from)
    return k.reshape(x.shape[:-1] + k.shape[1:])


def dual_gradient(weights_1: Any, weights_2: Any, x_1: Any, x_2: Any, layer: int, *,
                  linear_from: int | None = None) -> jax.Array:
    r"""Theorem 1 (Eq 1): ``vec(dr/dW_{1,l}) = K_{1,l} [K_{1,l}^T vec(W_{1,l}) - K_{2,l}^T vec(W_{2,l})]``.

    ``r = 1/2 ||f_L(x_1; W_1) - f_L(x_2; W_2)||^2`` for dual networks of the same shapes (the
    gradient is with respect to the first network only, as in the theorem).

    Returns:
        ``[..., n_l n_{l-1}]`` for inputs ``x_1, x_2`` of shape ``[..., n_0]``.

    Example:
        >>> W = [np.array([[1.0, -1.0]]), np.array([[2.0]])]
        >>> dual_gradient(W, W, np.array([3.0, 1.0]), np.array([1.0, 0.0]), layer=2).tolist()
        [4.0]
    """
    weights_1 = check_weights(weights_1, "weights_1")
    weights_2 = check_weights(weights_2, "weights_2")
    if [w.shape for w in weights_1] != [w.shape for w in weights_2]:
        raise ValueError(f"weights_2 must have the shapes of weights_1 {[w.shape for w in weights_1]}; "
                         f"got {[w.shape for w in weights_2]}")
    layer = _check_layer(layer, len(weights_1))
    linear_from = _check_linear_from(linear_from, len(weights_1))
    n0 = weights_1[0].shape[1]
    x_1, x_2 = _check_inputs("x_1", x_1, n0), _check_inputs("x_2", x_2, n0)
    w1, w2 = [jnp.asarray(w) for w in weights_1], [jnp.asarray(w) for w in weights_2]
    shape = np.broadcast_shapes(x_1.shape, x_2.shape)
    a = jnp.broadcast_to(x_1, shape).reshape(-1, n0)
    b = jnp.broadcast_to(x_2, shape).reshape(-1, n0)
    g = _dual_gradient_batch(w1, w2, a, b, layer, linear_from)
    return g.reshape(shape[:-1] + g.shape[1:])


# --------------------------------------------------------------------------------------------
# InfoNCE (Eq 2) and Theorem 2
# --------------------------------------------------------------------------------------------


def _check_distances(r_plus: Any, r_minus: Any, tau: Any):
    r_plus = validate("r_plus", r_plus, NONNEGATIVE)
    r_minus = validate("r_minus", r_minus, NONNEGATIVE)
    tau = validate("tau", tau, POSITIVE)
    if r_minus.ndim == 0:
        raise ValueError(f"r_minus must have a last axis of H >= 1 negative distances; got a scalar {r_minus!r}")
    return r_plus, r_minus, tau


@jax.jit
def _partials(r_plus, r_minus, tau):
    logits = _logits(r_plus, r_minus, tau)
    p = jax.nn.softmax(logits, axis=-1)
    tau = jnp.broadcast_to(jnp.asarray(tau), logits.shape[:-1])
    return (1.0 - p[..., 0]) / tau, -p[..., 1:] / tau[..., None]


@jax.jit
def _infonce(r_plus, r_minus, tau):
    logits = _logits(r_plus, r_minus, tau)
    return optax.softmax_cross_entropy_with_integer_labels(logits, jnp.zeros(logits.shape[:-1], jnp.int32))


def _logits(r_plus, r_minus, tau):
    """``-(r_+, r_1-, ..., r_H-)/tau`` on the last axis, with the batch axes broadcast."""
    r_plus, r_minus, tau = jnp.asarray(r_plus), jnp.asarray(r_minus), jnp.asarray(tau)
    shape = jnp.broadcast_shapes(r_plus.shape, r_minus.shape[:-1], tau.shape)
    r = jnp.concatenate([jnp.broadcast_to(r_plus, shape)[..., None],
                         jnp.broadcast_to(r_minus, shape + r_minus.shape[-1:])], axis=-1)
    return -r / jnp.broadcast_to(tau, shape)[..., None]


def infonce_loss(r_plus: Any, r_minus: Any, tau: Any = 1.0) -> jax.Array:
    r"""InfoNCE of Eq 2: ``-log(e^{-r_+/tau} / (e^{-r_+/tau} + sum_k e^{-r_k-/tau}))``.

    The softmax cross-entropy of the logits ``-(r_+, r_1-, ..., r_H-)/tau`` with label 0
    (``optax.softmax_cross_entropy_with_integer_labels``).

    Args:
        r_plus: positive-pair distances ``r_+ = 1/2 ||f_1 - f_+||^2 >= 0``, shape ``[...]``.
        r_minus: negative-pair distances, shape ``[..., H]``.
        tau: temperature ``> 0``.

    Example:
        >>> round(float(infonce_loss(0.0, [0.0], tau=1.0)), 6)   # log 2
        0.693147
    """
    r_plus, r_minus, tau = _check_distances(r_plus, r_minus, tau)
    return _infonce(r_plus, r_minus, tau)


def infonce_partials(r_plus: Any, r_minus: Any, tau: Any = 1.0) -> tuple[jax.Array, jax.Array]:
    r"""Theorem 2 (Eqs 38-39): ``(dL/dr_+, dL/dr_k-)`` of InfoNCE in closed form.

    .. math::

        \frac{\partial L}{\partial r_+} = \frac{1 - p_+}{\tau} > 0,\qquad
        \frac{\partial L}{\partial r_{k-}} = -\frac{p_k}{\tau} < 0,

    with ``(p_+, p_1, ..., p_H) = softmax(-(r_+, r_1-, ..., r_H-)/tau)``; they sum to 0 (Eq 40).

    Returns:
        ``dL/dr_+`` of shape ``[...]`` and ``dL/dr_-`` of shape ``[..., H]``.

    Example:
        >>> d_plus, d_minus = infonce_partials(0.0, [0.0, 0.0], tau=0.5)
        >>> round(float(d_plus), 6), [round(float(v), 6) for v in d_minus]
        (1.333333, [-0.666667, -0.666667])
    """
    r_plus, r_minus, tau = _check_distances(r_plus, r_minus, tau)
    return _partials(r_plus, r_minus, tau)
