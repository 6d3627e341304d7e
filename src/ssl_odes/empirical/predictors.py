r"""Predictor heads: MLP (BYOL), linear ``Wp`` (002), and DirectPred (002 Eqs 18-19, Table 7).

The predictor maps the online projection ``f`` to a prediction of the target's projection.

* ``"mlp"``: :class:`~ssl_odes.empirical.resnet.MLP` (Linear-BN-ReLU-Linear), BYOL's default.
* ``"linear"``: :class:`LinearPredictor`, ``p = Wp f (+ b)``; with ``symmetric=True`` the map is
  ``(Wp + Wp^T) / 2`` (002 Assumption 3, "symmetric regularisation" of Table 3).
* ``"identity_head"``: :class:`IdentityHeadPredictor`, 004 Fig 1's head: ``p = E f`` with ``E``
  initialised to the identity and only its off-diagonal trained (the diagonal is frozen at 1).
* ``"directpred"``: a bias-free :class:`LinearPredictor` whose ``Wp`` is *set* from the statistics
  of its input instead of trained:

  .. math::

      \hat F &\leftarrow \rho \hat F + (1 - \rho) \mathbb{E}_B[f f^\top]          && \text{(Eq 19)} \\
      \hat F &= \hat U \operatorname{diag}(s_j) \hat U^\top,\quad
      p_j = \sqrt{s_j} + \epsilon \max_j s_j,\quad W_p = \hat U \operatorname{diag}(p_j) \hat U^\top
      && \text{(Eq 18)}

  with the Table 7 variant ``p_j = sqrt(max(s_j - c, 0))`` (one constant ``c`` for every ``j``,
  as in the table) and ``freq``: ``Wp`` is set every ``freq`` steps and trained by gradient
  between (002 Sec 4). ``F_hat`` is a correlation, not a covariance (``f`` is not centred, as the
  paper insists). Eigenvalues are clipped at 0 before the square root (``eigh`` returns tiny
  negative values for a PSD matrix).

Choice: Eq 18 as printed adds ``eps * max_j s_j``. The authors' released code instead normalises,
``p_j = sqrt(s_j / max_j s_j) + eps`` (clipped at 1e-4); that differs from Eq 18 by the overall
scale ``1/sqrt(max s)``, irrelevant under the normalised loss, and by the regulariser being
``eps sqrt(max s)`` instead of ``eps max s``. ``normalize=True`` gives the released code's form.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["LinearPredictor", "IdentityHeadPredictor", "identity_head_matrix", "update_correlation", "directpred_weights"]


class LinearPredictor(nn.Module):
    """``p = Wp f + b``: 002's linear predictor, ``Wp`` stored as written, ``[d, d]``.

    ``symmetric=True`` uses ``(Wp + Wp^T) / 2``. ``Wp`` is initialised like a dense layer
    (``N(0, 1/d)``); the training code may overwrite it (aligned initialisations, DirectPred).

    >>> import jax, jax.numpy as jnp
    >>> pred = LinearPredictor(use_bias=False)
    >>> variables = {"params": {"Wp": jnp.array([[1.0, 2.0], [0.0, 1.0]])}}
    >>> pred.apply(variables, jnp.array([[1.0, 1.0]])).tolist()
    [[3.0, 1.0]]
    >>> LinearPredictor(use_bias=False, symmetric=True).apply(variables, jnp.array([[1.0, 1.0]])).tolist()
    [[2.0, 2.0]]
    """

    use_bias: bool = False
    symmetric: bool = False
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, f):
        d = f.shape[-1]
        weight = self.param("Wp", nn.initializers.normal(1.0 / jnp.sqrt(d)), (d, d), self.param_dtype)
        if self.symmetric:
            weight = 0.5 * (weight + weight.T)
        out = f.astype(self.dtype) @ weight.astype(self.dtype).T
        if self.use_bias:
            out = out + self.param("b", nn.initializers.zeros_init(), (d,), self.param_dtype).astype(self.dtype)
        return out


def identity_head_matrix(offdiag: jax.Array) -> jax.Array:
    """``E = I + offdiag(O)``: the head of 004 from its trainable parameter ``O`` (its diagonal is ignored).

    >>> import jax.numpy as jnp
    >>> identity_head_matrix(jnp.array([[5.0, 0.5], [-1.0, 7.0]])).tolist()
    [[1.0, 0.5], [-1.0, 1.0]]
    """
    d = offdiag.shape[-1]
    eye = jnp.eye(d, dtype=offdiag.dtype)
    return eye + offdiag * (1.0 - eye)


class IdentityHeadPredictor(nn.Module):
    """``p = E f`` with ``E = I + offdiag(O)``, ``O = 0`` at initialisation (004 Sec 3.1, Fig 1).

    Only the off-diagonal of ``E`` can move: the diagonal of ``O`` is masked out, so its gradient
    is zero and it stays 0 (weight decay of a zero stays zero).

    >>> import jax, jax.numpy as jnp
    >>> pred = IdentityHeadPredictor()
    >>> variables = pred.init(jax.random.PRNGKey(0), jnp.ones((1, 2)))
    >>> pred.apply(variables, jnp.array([[1.0, 2.0]])).tolist()  # E = I at initialisation
    [[1.0, 2.0]]
    >>> g = jax.grad(lambda v: pred.apply(v, jnp.array([[1.0, 2.0]])).sum())(variables)["params"]["offdiag"]
    >>> g.tolist()  # d/dO_jr of sum_j (E f)_j = f_r off the diagonal, 0 on it
    [[0.0, 2.0], [1.0, 0.0]]
    """

    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, f):
        d = f.shape[-1]
        offdiag = self.param("offdiag", nn.initializers.zeros_init(), (d, d), self.param_dtype)
        return f.astype(self.dtype) @ identity_head_matrix(offdiag).astype(self.dtype).T


def update_correlation(correlation: jax.Array, f: jax.Array, rho: float) -> jax.Array:
    """002 Eq 19: ``F_hat <- rho F_hat + (1 - rho) E_B[f f^T]`` (uncentred; gradients stopped).

    >>> import jax.numpy as jnp
    >>> update_correlation(jnp.zeros((2, 2)), jnp.array([[1.0, 0.0], [1.0, 2.0]]), rho=0.5).tolist()
    [[0.5, 0.5], [0.5, 1.0]]
    """
    f = jax.lax.stop_gradient(f).astype(correlation.dtype)
    return rho * correlation + (1.0 - rho) * (f.T @ f) / f.shape[0]


def directpred_weights(
    correlation: jax.Array, eps: float = 0.0, c: float | None = None, normalize: bool = False
) -> jax.Array:
    """002 Eq 18: ``Wp = U diag(p_j) U^T`` from ``F_hat = U diag(s_j) U^T``.

    ``p_j = sqrt(s_j) + eps * max_j s_j``; with ``c`` given, Table 7's ``p_j = sqrt(max(s_j - c, 0))``
    (``eps`` then ignored, as in the table where ``eps = 0``); with ``normalize=True`` the released
    code's ``p_j = max(sqrt(s_j / max_j s_j) + eps, 1e-4)``.

    >>> import jax.numpy as jnp
    >>> w = directpred_weights(jnp.diag(jnp.array([4.0, 1.0])), eps=0.1)  # p = (2 + 0.4, 1 + 0.4)
    >>> bool(jnp.allclose(w, jnp.diag(jnp.array([2.4, 1.4]))))
    True
    """
    s, u = jnp.linalg.eigh(correlation)
    s = jnp.maximum(s, 0.0)
    s_max = jnp.max(s)
    if c is not None:
        p = jnp.sqrt(jnp.maximum(s - c, 0.0))
    elif normalize:
        p = jnp.maximum(jnp.sqrt(s / jnp.maximum(s_max, jnp.finfo(s.dtype).tiny)) + eps, 1e-4)
    else:
        p = jnp.sqrt(s) + eps * s_max
    return (u * p) @ u.T
