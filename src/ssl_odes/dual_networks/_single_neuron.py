r"""The single neuron of 000 App. A.1 (Eqs 12-14): what the covariance operator lets one neuron learn.

**Objects on a ring (Eq 12).** ``d`` pixels on a periodic ring, two objects ``z0 = 1`` ("11")
and ``z0 = 2`` ("101"), at a translation ``z'`` uniform on ``0..d-1``:

.. math:: x(1, z') = e_{z'} + e_{z'+1},\qquad x(2, z') = e_{z'} + e_{z'+2}\quad (\mathrm{mod}\ d),

with ``p(z0, z') = 1/(2d)``; augmentation re-draws ``z'``. :func:`ring_objects` builds it as a
:class:`~ssl_odes.dual_networks.LatentModel` (``z0`` index 0 is "11", index 1 is "101").

* **A linear neuron** (``K_1 = x``) sees ``Kbar_1(z0) = (2/d) 1`` for both objects: the operator is 0.
* **A linear neuron with a receptive field of width 2** sees the patterns ``00, 01, 10, 11`` with
  the frequencies of Fig 3(a2) (:func:`pattern_frequencies`): ``Kbar(1) = [x_11 + x_01 + x_10 +
  (d-3) x_00]/d``, ``Kbar(2) = [2 x_01 + 2 x_10 + (d-4) x_00]/d``, so (Eq 13)
  ``V = u u^T / (4 d^2)`` with ``u = x_11 + x_00 - x_01 - x_10 = 0``: still 0.
* **A ReLU neuron** (a ReLU unit read out by a unit linear weight, so
  ``K_1 = x psi'(w^T x)``) selective for a single pattern ``p`` has ``Kbar(z0) = (n_p(z0)/d) x_p``
  and ``V = c_p x_p x_p^T`` with ``c_p = (n_p(1) - n_p(2))^2 / (4 d^2)`` from Fig 3(a2)
  (:func:`selectivity_constant`: ``1/(4d^2)`` for ``01``, ``10`` and ``11``). Iterating Eq 3,
  ``w <- w + alpha beta V(w) w`` (:func:`iterate_covariance_update`), grows the selectivity as Eq 14:
  ``x_p^T w(t+1) = (1 + alpha beta c_p ||x_p||^2) x_p^T w(t)`` while ``w`` stays selective for ``p``.

Paper slips and choices: the text writes ``K_1(x, w) = psi'(w^T x)``; Definition 1 gives
``x psi'(w^T x)`` (the factor ``x`` is what makes ``Kbar`` proportional to ``x_p``), used here.
Without a bias no ReLU neuron is selective for ``11`` alone (``w^T x_01 < 0`` and ``w^T x_10 < 0``
force ``w^T x_11 < 0``); the paper notes the argument "also holds with bias terms", so
``bias=True`` appends a constant input 1 (a bias weight), and then ``x_p`` is ``(pattern, 1)``.

**The semantic subspace (App. A.1).** A linear neuron whose augmentation multiplies ``x`` by a
random matrix acting only on the nuisance subspace has ``Kbar = Q^s x`` and
``V = Q^s V[x] Q^s``: PCA within the preserved subspace (:func:`semantic_subspace_model`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import POSITIVE, Array, Choice, Flag, Integer, validate
from ._connection import vec
from ._covariance_operator import LatentModel, _cov, _mean_connection, covariance_operator, latent_model

__all__ = [
    "PATTERNS",
    "ring_objects",
    "pattern_vector",
    "pattern_frequencies",
    "selectivity_constant",
    "single_neuron_operator",
    "iterate_covariance_update",
    "semantic_subspace_model",
]

#: The four patterns a width-2 receptive field can see (Fig 3(a2)), pixel values left to right.
PATTERNS = ("00", "01", "10", "11")


def _check_ring(d: Any) -> int:
    # d >= 4: below that "101" is "11" translated (d = 3) and the table of Fig 3(a2) has negative counts.
    return validate("d", d, Integer(4))


def _check_field(field: Any, d: int) -> tuple[int, ...]:
    if field is None:
        return tuple(range(d))
    field = validate("field", field, Array(ndim=1, doc="pixel indices of the receptive field (a non-empty 1-D list)"))
    if np.any(field != np.round(field)) or np.any(field < 0) or np.any(field >= d) or len(set(field.tolist())) != field.size:
        raise ValueError(f"field must hold distinct pixel indices in 0..{d - 1}; got field={field.tolist()!r}")
    return tuple(int(i) for i in field)


def ring_objects(d: int, *, field: Any = None, bias: bool = False) -> LatentModel:
    """The objects "11" and "101" translated on a ring of ``d`` pixels (000 Eq 12), uniform ``p(z0, z')``.

    Args:
        d: number of pixels (translations), an integer ``>= 4``.
        field: the receptive field, pixel indices (default: all ``d`` pixels). A field of width 2
            is ``(0, 1)``. An empty field raises ``ValueError``.
        bias: append a constant input 1 (a bias weight in the neuron).

    Returns:
        A :class:`LatentModel` with ``images`` ``[2, d, len(field) (+1)]``.

    Example:
        >>> ring_objects(5).images[1, 0].tolist()     # "101" at z' = 0
        [1.0, 0.0, 1.0, 0.0, 0.0]
        >>> ring_objects(5, field=(0, 1)).images[0, :, :].tolist()   # "11" seen through pixels 0, 1
        [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    """
    d = _check_ring(d)
    field = _check_field(field, d)
    bias = validate("bias", bias, Flag())
    eye = np.eye(d)
    shifts = np.arange(d)
    images = np.stack([eye[shifts] + eye[(shifts + gap) % d] for gap in (1, 2)])[:, :, field]
    if bias:
        images = np.concatenate([images, np.ones(images.shape[:2] + (1,))], axis=-1)
    return latent_model(images)


def pattern_vector(pattern: str, *, bias: bool = False) -> np.ndarray:
    """``x_p`` for ``p`` in ``00, 01, 10, 11`` (with a trailing 1 when ``bias``).

    >>> pattern_vector("01").tolist(), pattern_vector("11", bias=True).tolist()
    ([0.0, 1.0], [1.0, 1.0, 1.0])
    """
    pattern = validate("pattern", pattern, Choice(PATTERNS))
    bias = validate("bias", bias, Flag())
    x = [float(c) for c in pattern]
    return np.asarray(x + [1.0] if bias else x)


def pattern_frequencies(d: int) -> dict[str, tuple[int, int]]:
    """The frequency table of Fig 3(a2): how many of the ``d`` translations show each pattern.

    Returns ``{p: (count for "11", count for "101")}`` for a width-2 receptive field.

    >>> pattern_frequencies(6)
    {'00': (3, 2), '01': (1, 2), '10': (1, 2), '11': (1, 0)}
    """
    d = _check_ring(d)
    return {"00": (d - 3, d - 4), "01": (1, 2), "10": (1, 2), "11": (1, 0)}


def selectivity_constant(pattern: str, d: int) -> float:
    """``c_p = (n_p("11") - n_p("101"))^2 / (4 d^2)`` from Fig 3(a2): ``V = c_p x_p x_p^T`` (App. A.1).

    ``p(z0) = 1/2`` each, so ``V_z0[(n_p(z0)/d) x_p] = (1/4) ((n_p(1) - n_p(2))/d)^2 x_p x_p^T``.

    >>> selectivity_constant("01", 5) == 1 / 100
    True
    """
    n_11, n_101 = pattern_frequencies(d)[validate("pattern", pattern, Choice(PATTERNS))]
    return (n_11 - n_101) ** 2 / (4.0 * d * d)


def _neuron_weights(w: jax.Array, relu: bool) -> list[jax.Array]:
    """A linear neuron ``[w^T]``, or a ReLU unit read out by a unit weight ``[w^T, 1]``."""
    return [w[None, :], jnp.ones((1, 1), w.dtype)] if relu else [w[None, :]]


def single_neuron_operator(w: Any, d: int, *, field: Any = None, relu: bool = False, bias: bool = False) -> jax.Array:
    r"""The covariance operator ``V_z0[Kbar_1(z0)]`` of one neuron on the ring objects (App. A.1).

    Args:
        w: the neuron's weights, one per pixel of ``field`` (plus the bias weight last when ``bias``).
        d: ring size, ``>= 4``.
        field: receptive field (pixel indices; default the whole ring).
        relu: a ReLU neuron (``K_1 = x psi'(w^T x)``, gate closed at ``w^T x = 0``); else linear.
        bias: a constant input 1 appended to the field.

    Returns:
        ``[n, n]`` with ``n = len(field) (+1)``.

    Example:
        >>> V = single_neuron_operator([-2.0, 1.0], 5, field=(0, 1), relu=True)   # selective for 01
        >>> (np.asarray(V) * 100).round(12).tolist()                              # c_01 = 1/(4 d^2)
        [[0.0, 0.0], [0.0, 1.0]]
    """
    model = ring_objects(d, field=field, bias=bias)
    relu = validate("relu", relu, Flag())
    n = model.images.shape[-1]
    w = validate("w", w, Array(ndim=1, doc=f"a 1-D weight vector of length {n} (the field{' + bias' if bias else ''})"))
    if w.shape != (n,):
        raise ValueError(f"w must have length {n} (the receptive field{' plus the bias' if bias else ''}); got shape {w.shape}")
    return covariance_operator(_neuron_weights(jnp.asarray(w), relu), 1, model)


@partial(jax.jit, static_argnames=("steps", "relu"))
def _iterate(w0, rate, images, p_z0, p_aug, steps: int, relu: bool):
    model = LatentModel(images, p_z0, p_aug)

    def step(w, _):
        ws = _neuron_weights(w, relu)
        kbar = _mean_connection(ws, 1, len(ws), model)
        w_next = w + rate * (_cov(model.p_z0, kbar, kbar) @ vec(ws[0]))
        return w_next, w_next

    _, ws = jax.lax.scan(step, w0, None, length=steps)
    return jnp.concatenate([w0[None], ws])


def iterate_covariance_update(w0: Any, d: int, steps: int, *, alpha: Any = 1.0, beta: Any = 1.0, field: Any = None,
                              relu: bool = True, bias: bool = False) -> jax.Array:
    r"""Iterate Eq 3 on one neuron: ``w(t+1) = w(t) + alpha beta V_z0[Kbar_1(z0; w(t))] w(t)`` (Eq 14).

    ``V`` is recomputed from ``w(t)`` at every step (the ReLU gates move with ``w``); a
    ``jax.lax.scan`` (the recurrence is the model). While ``w`` is selective for one pattern
    ``p``, ``x_p^T w(t+1) = (1 + alpha beta c_p ||x_p||^2) x_p^T w(t)`` (Eq 14).

    Args:
        w0: initial weights (length ``len(field)``, ``+1`` with ``bias``).
        d: ring size ``>= 4``.
        steps: number of updates ``>= 1``.
        alpha, beta: learning rate and the contrastive constant of Theorem 3, ``> 0``.
        field, relu, bias: as in :func:`single_neuron_operator`.

    Returns:
        ``[steps + 1, n]``: ``w(0), ..., w(steps)``.

    Example:
        >>> w = iterate_covariance_update([-2.0, 1.0], 5, 3, field=(0, 1))
        >>> [round(float(v), 6) for v in w[:, 1]]        # x_01^T w grows by 1 + 1/100 per step
        [1.0, 1.01, 1.0201, 1.030301]
    """
    model = ring_objects(d, field=field, bias=bias)
    n = model.images.shape[-1]
    w0 = validate("w0", w0, Array(ndim=1, doc=f"a 1-D weight vector of length {n}"))
    if w0.shape != (n,):
        raise ValueError(f"w0 must have length {n} (the receptive field{' plus the bias' if bias else ''}); got shape {w0.shape}")
    steps = validate("steps", steps, Integer(1))
    rate = validate("alpha", alpha, POSITIVE) * validate("beta", beta, POSITIVE)
    relu = validate("relu", relu, Flag())
    dtype = model.images.dtype
    return _iterate(jnp.asarray(w0, dtype), jnp.asarray(rate, dtype), model.images, model.p_z0, model.p_aug, steps, relu)


def semantic_subspace_model(samples: Any, semantic_basis: Any, key: Any, num_scrambles: int = 8) -> LatentModel:
    r"""The semantic-subspace augmentation of App. A.1 as a :class:`LatentModel`.

    Views are ``x' = Q^s x + Q^n G Q^n x`` with ``Q^s`` the projector on the span of
    ``semantic_basis``, ``Q^n = I - Q^s`` and ``G`` a standard Gaussian matrix: augmentation
    scrambles only the nuisance subspace. The ``G`` are drawn in antithetic pairs ``(G, -G)``
    (``num_scrambles`` matrices in all, shared by every sample), so ``E_aug[x'] = Q^s x``
    *exactly* on this model, and a linear neuron's operator is ``Q^s V[x] Q^s``.

    Args:
        samples: ``[n_z0, n]``, the data points (each one ``z0``, equally likely).
        semantic_basis: ``[k, n]``, rows spanning the semantic subspace.
        key: a ``jax.random`` key for the ``G``.
        num_scrambles: an even number ``>= 2`` of augmentation matrices.

    Example:
        >>> import jax
        >>> m = semantic_subspace_model(np.eye(3), [[1.0, 0.0, 0.0]], jax.random.PRNGKey(0), 4)
        >>> np.round(np.asarray(covariance_operator([np.ones((1, 3))], 1, m)), 12).tolist()
        [[0.222222222222, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    samples = validate("samples", samples, Array(ndim=2, doc="a finite real matrix [n_z0, n] of data points"))
    basis = validate("semantic_basis", semantic_basis, Array(ndim=2, doc="a matrix [k, n] whose rows span the subspace"))
    if basis.shape[1] != samples.shape[1]:
        raise ValueError(f"semantic_basis must have n = {samples.shape[1]} columns; got shape {basis.shape}")
    num_scrambles = validate("num_scrambles", num_scrambles, Integer(2))
    if num_scrambles % 2:
        raise ValueError(f"num_scrambles must be even (antithetic pairs); got num_scrambles={num_scrambles}")
    q, _ = np.linalg.qr(basis.T)
    q_s = q @ q.T
    q_n = np.eye(samples.shape[1]) - q_s
    g = np.asarray(jax.random.normal(key, (num_scrambles // 2,) + q_s.shape), dtype=np.float64)
    g = np.concatenate([g, -g])
    views = samples @ q_s.T
    nuisance = np.einsum("aij,jk,bk->bai", g, q_n, samples @ q_n.T)
    images = views[:, None, :] + np.einsum("ij,baj->bai", q_n, nuisance)
    return latent_model(images)
