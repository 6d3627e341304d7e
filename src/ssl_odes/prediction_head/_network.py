r"""004's learner (Sec 3.1) and loss (Eq 3.3): cubic patch encoder, identity-initialised head, BN.

.. math::

    f_j(X) = \sum_{p \in [P]} \langle w_j, X_p \rangle^3,\qquad
    F_j = f_j + \sum_{r \ne j} E_{j r} f_r = (E f)_j,\qquad G_j = f_j,

    \mathrm{BN}(z_i) = \frac{z_i - \bar z}{\sqrt{\overline{z^2} - \bar z^2 + \epsilon}}\quad
    \text{(Eq 3.1, over the batch)},

    L_S(W, E) = \frac1N \sum_i \big\| \mathrm{BN}(F(X^{(i,1)})) - \mathrm{StopGrad}[\mathrm{BN}(G(X^{(i,2)}))] \big\|_2^2
    \quad\text{(Eq 3.3)}.

``E`` has a unit diagonal that is never trained (:data:`offdiagonal_mask`). BN has no affine
parameters and uses the biased (``1/N``) batch variance as in Eq 3.1; ``epsilon`` (``bn_eps``,
default ``1e-6``) is added to the variance only so that a batch of constant outputs does not divide
by zero (Eq 3.1 has none). With ``epsilon = 0`` each neuron's term of Eq 3.3 is
``2 - 2 Corr_batch(F_j(X^(1)), f_j(X^(2)))``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._core.params import Integer, validate

__all__ = ["encoder", "cubic_sum", "batch_norm", "loss_terms", "loss_terms_from_outputs", "loss", "offdiagonal_mask", "head_gradient", "init_weights",
           "DEFAULT_BN_EPS"]

#: Default ``epsilon`` added to the batch variance in BN (Eq 3.1 has none; see the module docstring).
DEFAULT_BN_EPS = 1e-6


def encoder(W: jax.Array, X: jax.Array) -> jax.Array:
    """``f_j(X) = sum_p <w_j, X_p>^3`` for ``W`` ``[d, m]`` (columns ``w_j``) and ``X`` ``[..., P, d]``: ``[..., m]``.

    >>> import jax.numpy as jnp
    >>> encoder(jnp.array([[1.0], [2.0]]), jnp.array([[1.0, 0.0], [1.0, 1.0]])).tolist()  # 1^3 + 3^3
    [28.0]
    """
    return cubic_sum(X @ W)


def cubic_sum(u: jax.Array) -> jax.Array:
    """``sum_p u_p^3`` over the patch axis ``-2`` of projections ``u_pj = <w_j, X_p>`` ``[..., P, m]``."""
    return jnp.sum(u**3, axis=-2)


def batch_norm(z: jax.Array, eps: Any = DEFAULT_BN_EPS) -> jax.Array:
    """Eq 3.1 without affine parameters, over the batch axis 0: ``(z - mean) / sqrt(var + eps)``.

    >>> import jax.numpy as jnp
    >>> batch_norm(jnp.array([[1.0], [3.0]]), eps=0.0).tolist()
    [[-1.0], [1.0]]
    """
    mean = jnp.mean(z, axis=0)
    var = jnp.mean(z**2, axis=0) - mean**2
    return (z - mean) / jnp.sqrt(jnp.maximum(var, 0.0) + eps)


def loss_terms(W: jax.Array, E: jax.Array, X1: jax.Array, X2: jax.Array, eps: Any = DEFAULT_BN_EPS) -> jax.Array:
    """Each neuron's term of Eq 3.3, ``[m]``: ``(1/N) sum_i (BN(F_j)(X^(i,1)) - StopGrad BN(f_j)(X^(i,2)))^2``.

    ``X1``, ``X2``: the two views ``[N, P, d]``. ``F = f E^T`` (``F_j = sum_r E_jr f_r``).

    >>> import jax.numpy as jnp
    >>> W, E = jnp.eye(2), jnp.eye(2)
    >>> X1 = jnp.array([[[1.0, 0.0]], [[-1.0, 0.0]]]); X2 = jnp.array([[[1.0, 0.0]], [[-1.0, 0.0]]])
    >>> loss_terms(W, E, X1, X2).tolist()  # neuron 1: views agree; neuron 2 constant, BN -> 0 (eps > 0)
    [0.0, 0.0]
    """
    return loss_terms_from_outputs(encoder(W, X1), encoder(W, X2), E, eps)


def loss_terms_from_outputs(f1: jax.Array, f2: jax.Array, E: jax.Array, eps: Any = DEFAULT_BN_EPS) -> jax.Array:
    """Eq 3.3 per neuron from the encoder outputs ``f1 = f(X^(1))``, ``f2 = f(X^(2))`` ``[N, m]`` (stop-gradient on ``f2``)."""
    online = batch_norm(f1 @ E.T, eps)
    target = jax.lax.stop_gradient(batch_norm(f2, eps))
    return jnp.mean((online - target) ** 2, axis=0)


def loss(W: jax.Array, E: jax.Array, X1: jax.Array, X2: jax.Array, eps: Any = DEFAULT_BN_EPS) -> jax.Array:
    """Eq 3.3: ``L_S(W, E)``, the sum over neurons of :func:`loss_terms`."""
    return jnp.sum(loss_terms(W, E, X1, X2, eps))


def offdiagonal_mask(m: int, dtype: Any = jnp.float32) -> jax.Array:
    """``1 - I_m``: only the off-diagonal of ``E`` is trained (Sec 3.1).

    >>> offdiagonal_mask(2).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    return 1.0 - jnp.eye(validate("m", m, Integer(1)), dtype=dtype)


def head_gradient(W: jax.Array, E: jax.Array, X1: jax.Array, X2: jax.Array, eps: Any = DEFAULT_BN_EPS
                  ) -> tuple[jax.Array, jax.Array]:
    """``(grad_W L, offdiag(grad_E L))``: the gradients used by one step of Sec 3.2 (diagonal of ``E`` frozen)."""
    gW, gE = jax.grad(loss, argnums=(0, 1))(W, E, X1, X2, eps)
    return gW, gE * offdiagonal_mask(E.shape[0], gE.dtype)


def init_weights(key: jax.Array, d: int, m: int, dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Sec 3.2's initialisation: ``W_ij ~ N(0, 1/d)`` (``[d, m]``) and ``E = I_m``.

    >>> import jax
    >>> W, E = init_weights(jax.random.key(0), d=4, m=2)
    >>> W.shape, E.tolist()
    ((4, 2), [[1.0, 0.0], [0.0, 1.0]])
    """
    d, m = validate("d", d, Integer(1)), validate("m", m, Integer(1))
    W = jax.random.normal(key, (d, m), dtype) / jnp.sqrt(jnp.asarray(d, dtype))
    return W, jnp.eye(m, dtype=dtype)
