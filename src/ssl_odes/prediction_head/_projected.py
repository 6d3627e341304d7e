r"""One SGD gradient of Eq 3.3 drawn through the weights: the same law, ``O(N P m + d m)`` per step.

Eq 3.3 depends on ``W`` only through the projections ``u_{ipj} = <w_j, X_{ip}>``, and
``grad_{w_j} L = sum_{ip} X^{(1)}_{ip} c_{ipj}`` with ``c = dL/du^{(1)}`` (autodiff of Eq 3.3 in
``u``). Write ``W = [W_V; W_perp]`` (``V = span(e_1, e_2)``) and ``W_perp = B R`` (QR, ``B``
``[d-2, m]`` orthonormal). Gaussian noise ``xi ~ N(0, s^2 I)`` on ``V^perp`` splits into
independent parts ``xi = B a + r``, ``a = B^T xi ~ N(0, s^2 I_m)``, ``r ~ N(0, s^2 Pi)``,
``Pi = I - B B^T``; and ``<w_j, xi> = (R^T a)_j`` does not see ``r``. Hence, given everything
``c`` depends on (the latent features, the view split and ``a``),

.. math::

    \nabla_W L = \Big[\textstyle\sum_{ip} (\text{feature coefficients})\, c_{ip};\;
    B \sum_{ip} a_{ip} c_{ip}^\top + G\Big],\qquad
    G = \textstyle\sum_{ip \in \text{noise}} r_{ip} c_{ip}^\top \sim s\, \Pi Z R_c

with ``Z`` ``[d-2, m]`` standard normal and ``R_c`` the Cholesky factor of the noise patches' ``sum c c^T``
(``R_c^T R_c = sum c c^T``, so ``Cov(G_j, G_k) = s^2 (sum c_j c_k) Pi``, the law of the explicit
sum). The step therefore has exactly the law of a step on explicit samples
(:func:`ssl_odes.prediction_head.head_gradient` on :func:`ssl_odes.prediction_head.sample`), drawing ``N P m + (d - 2) m`` normals instead of
``N P (d - 2)``. The gradient of ``E`` is the autodiff of Eq 3.3 in ``E``, masked to the
off-diagonal.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ._data import NOISE_STD_PER_SIGMA, draw_latent, view_mask
from ._network import DEFAULT_BN_EPS, cubic_sum, loss_terms_from_outputs, offdiagonal_mask

__all__ = ["ProjectedBatch", "draw_projected", "cotangents", "projected_gradient", "complement_draw", "sgd_gradient",
           "noise_basis"]


class ProjectedBatch(NamedTuple):
    """A batch of positive pairs seen through ``W``.

    ``u1``, ``u2``: projections of the two views ``[N, P, m]`` (zero on the other view's patches);
    ``feature1``: coefficient of ``v_l`` in each view-1 patch, ``[N, P, 2]``; ``a1``: noise
    coordinates ``B^T xi`` of view-1 noise patches ``[N, P, m]`` (zero elsewhere); ``noise1``:
    the view-1 noise patches ``[N, P]``.
    """

    u1: jax.Array
    u2: jax.Array
    feature1: jax.Array
    a1: jax.Array
    noise1: jax.Array


def noise_basis(W: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(B, R)`` with ``W_perp = W[2:] = B R``, ``B`` ``[d-2, m]`` orthonormal columns (reduced QR)."""
    return jnp.linalg.qr(W[2:])


def draw_projected(key: jax.Array, W: jax.Array, n: int, P: int, P0: int, alpha_1: Any, alpha_2: Any, sigma: Any
                   ) -> tuple[ProjectedBatch, jax.Array]:
    """``n`` positive pairs of Def 3.1 / Eq 3.2 seen through ``W`` ``[d, m]``; also returns ``B``."""
    dtype = W.dtype
    m = W.shape[1]
    k_latent, k_view, k_noise = jax.random.split(key, 3)
    strong, z, feature_patch = draw_latent(k_latent, n, P, P0, alpha_1, alpha_2, dtype)
    in_view_1 = view_mask(k_view, (n,), P)
    B, R = noise_basis(W)
    a = jax.random.normal(k_noise, (n, P, m), dtype) * (jnp.asarray(sigma, dtype) * NOISE_STD_PER_SIGMA)
    a = jnp.where(feature_patch[..., None], 0.0, a)
    # feature coefficient of each patch on (v1, v2): z 1[p in S] 1[l = 1 or 2]
    onehot = jnp.stack([strong, ~strong], axis=-1).astype(dtype)  # [n, 2]
    coef = jnp.where(feature_patch[..., None], (z[:, None] * onehot)[:, None, :], 0.0)  # [n, P, 2]
    u = coef @ W[:2] + a @ R  # <w_j, z v_l> + <w_j, B a> = (R^T a)_j
    view1 = in_view_1[..., None]
    zero = jnp.zeros((), dtype)
    batch = ProjectedBatch(
        u1=jnp.where(view1, u, zero), u2=jnp.where(view1, zero, u),
        feature1=jnp.where(view1, coef, zero), a1=jnp.where(view1, a, zero),
        noise1=in_view_1 & ~feature_patch,
    )
    return batch, B


def _loss_of_projections(u1, u2, E, eps):
    terms = loss_terms_from_outputs(cubic_sum(u1), cubic_sum(u2), E, eps)
    return jnp.sum(terms), terms


def cotangents(batch: ProjectedBatch, E: jax.Array, eps: Any = DEFAULT_BN_EPS
               ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(loss terms [m], c = dL/du^(1) [N, P, m], dL/dE [m, m])`` by autodiff of Eq 3.3 in ``(u^(1), E)``."""
    (_, terms), (c, gE) = jax.value_and_grad(_loss_of_projections, argnums=(0, 2), has_aux=True)(
        batch.u1, batch.u2, E, eps)
    return terms, c, gE


def projected_gradient(batch: ProjectedBatch, B: jax.Array, c: jax.Array, gE: jax.Array, complement: jax.Array
                       ) -> tuple[jax.Array, jax.Array]:
    """``(grad_W L, offdiag(grad_E L))`` from the cotangents and ``G = sum_{noise ip} r_ip c_ip^T`` ``[d-2, m]``.

    ``complement`` is drawn by :func:`complement_draw` (or, in a test, computed from explicit ``r``).
    """
    g_features = jnp.einsum("npl,npm->lm", batch.feature1, c)
    g_noise = B @ jnp.einsum("npk,npm->km", batch.a1, c) + complement
    gW = jnp.concatenate([g_features, g_noise], axis=0)
    return gW, gE * offdiagonal_mask(gE.shape[0], gE.dtype)


def complement_draw(key: jax.Array, B: jax.Array, c: jax.Array, noise1: jax.Array, sigma: Any) -> jax.Array:
    """A draw of ``G = sum_{noise ip} r_ip c_ip^T`` given ``c``: ``s Pi Z R_c`` with ``R_c^T R_c = sum c c^T``."""
    dtype = B.dtype
    m = B.shape[1]
    c_noise = jnp.where(noise1[..., None], c, 0.0).reshape(-1, m)
    gram = c_noise.T @ c_noise
    # R_c^T R_c = gram; a relative jitter of the dtype's epsilon keeps a zero gram (sigma = 0) finite
    jitter = jnp.finfo(dtype).eps * jnp.trace(gram) + jnp.finfo(dtype).tiny
    r_c = jnp.linalg.cholesky(gram + jitter * jnp.eye(m, dtype=dtype)).T
    Z = jax.random.normal(key, B.shape, dtype)
    Z = Z - B @ (B.T @ Z)
    return (jnp.asarray(sigma, dtype) * NOISE_STD_PER_SIGMA) * (Z @ r_c)


def sgd_gradient(key: jax.Array, W: jax.Array, E: jax.Array, n: int, P: int, P0: int, alpha_1: Any, alpha_2: Any,
                 sigma: Any, eps: Any = DEFAULT_BN_EPS) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One stochastic gradient of Eq 3.3 on ``n`` fresh positive pairs: ``(grad_W, offdiag grad_E, loss terms)``.

    Same law as :func:`ssl_odes.prediction_head.head_gradient` on ``n`` pairs from
    :func:`ssl_odes.prediction_head.sample` and :func:`ssl_odes.prediction_head.positive_pair`.
    """
    k_batch, k_complement = jax.random.split(key)
    batch, B = draw_projected(k_batch, W, n, P, P0, alpha_1, alpha_2, sigma)
    terms, c, gE = cotangents(batch, E, eps)
    complement = complement_draw(k_complement, B, c, batch.noise1, sigma)
    gW, gE = projected_gradient(batch, B, c, gE, complement)
    return gW, gE, terms
