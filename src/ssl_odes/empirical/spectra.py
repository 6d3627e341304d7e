r"""The theory's quantities measured on a network: spectrum of ``F``, predictor eigenvalues, alignment.

For the predictor input ``f`` (projection of a clean input), 002 follows

* ``F = E[f f^T] = U diag(s_j) U^T`` (``s_j`` descending; for the linear model on isotropic data
  ``F = W X W^T = W W^T`` exactly),
* ``p_j = u_j^T Wp u_j``: the predictor's eigenvalue on ``F``'s eigenvector (equal to an eigenvalue
  of ``Wp`` once the eigenspaces align, Thm 3); also the eigenvalues of ``(Wp + Wp^T)/2``,
* the alignment ``cos(u_j, Wp u_j) = u_j^T Wp u_j / ||Wp u_j||`` (002 Fig 2, third column) and
  its ``s``-weighted mean ``sum_j s_j cos_j / sum_j s_j`` (one number: do the modes that carry
  the representation align?),
* the asymmetry ``||Wp - Wp^T||_F / ||Wp||_F`` (Fig 2, fourth column) and the normalised
  commutator ``||[F, Wp]||_F / (||F||_F ||Wp||_F)`` (Thm 3),
* the effective EMA ratio per mode ``tau_j = u_j^T E[f_a f^T] u_j / s_j`` with ``f_a`` the target
  projection (``= tau`` when ``W_a = tau W``, Assumption 1; 1 for SimSiam).

For a nonlinear (MLP) predictor there is no ``Wp``: :func:`effective_predictor` fits the affine
map ``pred(f) ~ Wp f + b`` by (ridge) least squares on the probe batch and its linear part is used.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["correlation", "mode_spectra", "linear_model_spectra", "effective_predictor"]


def correlation(f: jax.Array, g: jax.Array | None = None) -> jax.Array:
    """Uncentred ``E[g f^T]`` over the rows (``E[f f^T]`` when ``g`` is None).

    >>> import jax.numpy as jnp
    >>> correlation(jnp.array([[1.0, 0.0], [1.0, 2.0]])).tolist()
    [[1.0, 1.0], [1.0, 2.0]]
    """
    g = f if g is None else g
    return g.T @ f / f.shape[0]


def mode_spectra(F: jax.Array, Wp: jax.Array | None = None, F_target: jax.Array | None = None) -> dict[str, jax.Array]:
    """Per-mode spectra of ``F`` (descending) with the predictor's and the target's view of each mode.

    Args:
        F: ``E[f f^T]`` (symmetric PSD) ``[d, d]``.
        Wp: linear predictor ``[d, d]`` (or ``None``).
        F_target: ``E[f_a f^T]`` (target-online cross-correlation) or ``None``.

    Returns a dict with ``s``, and, when given the matrices, ``p``, ``alignment``,
    ``alignment_weighted``, ``wp_eigenvalues``, ``asymmetry``, ``commutator``, ``tau``.

    >>> import jax.numpy as jnp
    >>> out = mode_spectra(jnp.diag(jnp.array([1.0, 3.0])), Wp=jnp.diag(jnp.array([0.5, 2.0])))
    >>> out["s"].tolist(), out["p"].tolist(), out["alignment"].tolist()
    ([3.0, 1.0], [2.0, 0.5], [1.0, 1.0])
    """
    s, u = jnp.linalg.eigh(F)
    s, u = s[::-1], u[:, ::-1]
    out = {"s": s}
    if Wp is not None:
        wp_u = Wp @ u
        p = jnp.sum(u * wp_u, axis=0)
        out["p"] = p
        out["alignment"] = p / jnp.maximum(jnp.linalg.norm(wp_u, axis=0), jnp.finfo(F.dtype).tiny)
        out["alignment_weighted"] = jnp.sum(s * out["alignment"]) / jnp.maximum(jnp.sum(s), jnp.finfo(F.dtype).tiny)
        out["wp_eigenvalues"] = jnp.linalg.eigvalsh(0.5 * (Wp + Wp.T))[::-1]
        wp_norm = jnp.maximum(jnp.linalg.norm(Wp), jnp.finfo(F.dtype).tiny)
        out["asymmetry"] = jnp.linalg.norm(Wp - Wp.T) / wp_norm
        out["commutator"] = jnp.linalg.norm(F @ Wp - Wp @ F) / (jnp.maximum(jnp.linalg.norm(F), jnp.finfo(F.dtype).tiny) * wp_norm)
    if F_target is not None:
        out["tau"] = jnp.sum(u * (F_target @ u), axis=0) / jnp.where(s > 0, s, jnp.nan)
    return out


def linear_model_spectra(W: jax.Array, Wp: jax.Array, Wa: jax.Array | None = None, X: jax.Array | None = None):
    """:func:`mode_spectra` of 002's linear model, exactly: ``F = W X W^T``, ``E[f_a f^T] = Wa X W^T``.

    ``X`` defaults to the identity (isotropic data, Assumption 2).

    >>> import jax.numpy as jnp
    >>> out = linear_model_spectra(2.0 * jnp.eye(2), jnp.eye(2), Wa=jnp.eye(2))
    >>> out["s"].tolist(), out["tau"].tolist()
    ([4.0, 4.0], [0.5, 0.5])
    """
    X = jnp.eye(W.shape[1], dtype=W.dtype) if X is None else X
    F = W @ X @ W.T
    return mode_spectra(F, Wp, None if Wa is None else Wa @ X @ W.T)


def effective_predictor(f: jax.Array, prediction: jax.Array, ridge: float = 1e-6) -> jax.Array:
    """Linear part ``Wp`` of the least-squares affine fit ``prediction ~ Wp f + b`` over the rows.

    ``Wp^T = (Fc + lambda I)^{-1} E[fc pc^T]`` with centred ``fc``, ``pc`` and ``lambda = ridge *
    tr(Fc) / d``.

    >>> import jax.numpy as jnp
    >>> f = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    >>> A = jnp.array([[2.0, 1.0], [0.0, 3.0]])
    >>> bool(jnp.allclose(effective_predictor(f, f @ A.T + 5.0), A, atol=1e-4))
    True
    """
    fc = f - f.mean(axis=0)
    pc = prediction - prediction.mean(axis=0)
    cov = fc.T @ fc / f.shape[0]
    lam = ridge * jnp.trace(cov) / f.shape[1]
    return jnp.linalg.solve(cov + lam * jnp.eye(f.shape[1], dtype=f.dtype), fc.T @ pc / f.shape[0]).T
