r"""The self-supervised objectives, each a small pure function, and BYOL's EMA target.

Non-contrastive (BYOL, SimSiam; 002 Eq 1 with a normalised or un-normalised distance): the online
branch predicts ``p = Wp(f(x_1))`` and regresses it onto the stop-gradient target projection
``z_a = f_a(x_2)``; with ``symmetric=True`` the views are also swapped and the two terms summed
(BYOL's symmetrised loss):

.. math::

    L = \mathbb{E}_B\, d(p_1, \mathrm{sg}(z_{a,2})) \;[+\; \mathbb{E}_B\, d(p_2, \mathrm{sg}(z_{a,1}))]

* :func:`byol_distance` ``d = 2 - 2 cos(p, z)`` (BYOL's normalised MSE),
* :func:`simsiam_distance` ``d = -cos(p, z)`` (SimSiam's negative cosine, halved when symmetrised
  in the paper; here it is summed like BYOL's, which only rescales the learning rate by 2),
* :func:`l2_distance` ``d = 1/2 ||p - z||^2`` (002 Eq 1, un-normalised: the loss whose
  large-batch gradient flow is Lemma 1).

The target is BYOL's EMA of the online encoder and projector (:func:`ema_update`, rate
:func:`ema_rate` with BYOL's cosine schedule) or, for SimSiam, the online network itself (its
output still stop-gradient'ed). Contrastive (SimCLR): :func:`nt_xent` on the two projections.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "cosine_similarity",
    "byol_distance",
    "simsiam_distance",
    "l2_distance",
    "regression_loss",
    "nt_xent",
    "ema_rate",
    "ema_update",
]


def cosine_similarity(a: jax.Array, b: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Row-wise ``<a, b> / (||a|| ||b||)`` (norms floored at ``sqrt(eps)``)."""
    a_norm = jnp.sqrt(jnp.maximum(jnp.sum(a * a, axis=-1), eps))
    b_norm = jnp.sqrt(jnp.maximum(jnp.sum(b * b, axis=-1), eps))
    return jnp.sum(a * b, axis=-1) / (a_norm * b_norm)


def byol_distance(p: jax.Array, z: jax.Array) -> jax.Array:
    """BYOL: ``||p/||p|| - z/||z||||^2 = 2 - 2 cos(p, z)``, per row.

    >>> import jax.numpy as jnp
    >>> byol_distance(jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 3.0]])).tolist()
    [2.0]
    """
    return 2.0 - 2.0 * cosine_similarity(p, z)


def simsiam_distance(p: jax.Array, z: jax.Array) -> jax.Array:
    """SimSiam: ``-cos(p, z)``, per row."""
    return -cosine_similarity(p, z)


def l2_distance(p: jax.Array, z: jax.Array) -> jax.Array:
    """002 Eq 1: ``1/2 ||p - z||^2``, per row.

    >>> import jax.numpy as jnp
    >>> l2_distance(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, 0.0]])).tolist()
    [2.5]
    """
    return 0.5 * jnp.sum((p - z) ** 2, axis=-1)


def regression_loss(distance, p1, p2, z1, z2, symmetric: bool = True) -> jax.Array:
    """``mean d(p1, sg(z2)) [+ mean d(p2, sg(z1))]``: the BYOL / SimSiam objective.

    ``p_i`` are the online predictions of view ``i``, ``z_i`` the target projections of view
    ``i`` (EMA network for BYOL, the online network for SimSiam); gradients never reach ``z``.
    """
    loss = jnp.mean(distance(p1, jax.lax.stop_gradient(z2)))
    if symmetric:
        loss = loss + jnp.mean(distance(p2, jax.lax.stop_gradient(z1)))
    return loss


def nt_xent(z1: jax.Array, z2: jax.Array, temperature: float = 0.5) -> jax.Array:
    r"""SimCLR's NT-Xent loss over the ``2N`` views of a batch.

    With ``u`` the ``2N`` L2-normalised projections and ``sim_ij = u_i . u_j / T``,

    .. math:: L = -\frac{1}{2N} \sum_i \log \frac{e^{sim_{i,k(i)}}}{\sum_{j \ne i} e^{sim_{ij}}}

    where ``k(i)`` is the other view of the same image.

    >>> import jax.numpy as jnp
    >>> z = jnp.eye(2)
    >>> round(float(nt_xent(z, z, temperature=1.0)), 6)  # each row: -log(e / (e + 2))
    0.551445
    """
    u = jnp.concatenate([z1, z2], axis=0)
    u = u / jnp.sqrt(jnp.maximum(jnp.sum(u * u, axis=-1, keepdims=True), 1e-12))
    n = z1.shape[0]
    logits = (u @ u.T) / temperature
    logits = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, logits)
    positives = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(0, n)])
    log_prob = logits[jnp.arange(2 * n), positives] - jax.nn.logsumexp(logits, axis=-1)
    return -jnp.mean(log_prob)


def ema_rate(step, total_steps: int, gamma_ema: float, schedule: str = "cosine") -> jax.Array:
    """BYOL's target rate at ``step``: ``1 - (1 - gamma)(cos(pi k / K) + 1) / 2`` (``"cosine"``), or ``gamma``.

    >>> round(float(ema_rate(0, 100, 0.99)), 6), round(float(ema_rate(100, 100, 0.99)), 6)
    (0.99, 1.0)
    """
    if schedule == "constant":
        return jnp.asarray(gamma_ema)
    progress = jnp.asarray(step) / total_steps
    return 1.0 - (1.0 - gamma_ema) * (jnp.cos(jnp.pi * progress) + 1.0) / 2.0


def ema_update(target, online, gamma):
    """``target <- gamma target + (1 - gamma) online`` leaf by leaf (000 Eq 10's ``w_ema`` update).

    >>> import jax.numpy as jnp
    >>> ema_update({"w": jnp.array(1.0)}, {"w": jnp.array(3.0)}, 0.75)["w"].tolist()
    1.5
    """
    return jax.tree_util.tree_map(lambda t, o: (gamma * t + (1.0 - gamma) * o).astype(t.dtype), target, online)
