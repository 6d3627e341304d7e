r"""Global modulation for ``C = 2`` latent values and ``M = 1`` filter per field (001 Theorem 5, Corollary 3).

Under Assumption 2 (uniform ``alpha``, no augmentation, large batch, fast top layer, Eq 13) with
a binary latent ``z`` (``p0 = P[z = 0]``, ``p1 = P[z = 1]``) and one filter ``w_k`` per
receptive field, with ``xt_k = x_k h'(w_k^T x_k)``:

.. math::

    L_k &= \mathbb{E}_z \mathbb{V}[\tilde x_k | z],  \qquad d_k = w_k^\top L_k w_k   && (134, 135) \\
    \Delta_k &= \mathbb{E}[\tilde x_k | z=1] - \mathbb{E}[\tilde x_k | z=0], \qquad b_k = w_k^\top \Delta_k && (137) \\
    \mathbb{V}[f_1] &= \mathrm{diag}(d) + p_0 p_1 b b^\top                              && (138)

``lambda`` is its top eigenvalue, the root above ``max_k d_k`` of the secular equation
``1 + p0 p1 sum_k b_k^2 / (d_k - lambda) = 0`` (Bunch-Nielsen-Sorensen), ``s`` its unit
eigenvector and

.. math::

    s_k = \frac{b_k}{Z (d_k - \lambda)}, \quad Z = \Big(\sum_k \frac{b_k^2}{(d_k - \lambda)^2}\Big)^{1/2},
    \qquad
    \delta_k = \frac{p_0 p_1}{Z^2 (\lambda - d_k)} \sum_{k' \ne k} \frac{b_{k'}^2}{\lambda - d_{k'}} \ge 0  \quad (139, 143)

and the filter flow of Theorem 5 (``A_k = V[xt_k] = L_k + p0 p1 Delta_k Delta_k^T``, Lemma 5):

.. math:: \dot w_k = P^\perp_{w_k} \big(s_k^2 A_k(w_k) + \delta_k \Delta_k \Delta_k^\top\big) w_k   \quad (15)

**A slip in the proof.** Its last line says "we can also write ``delta_k = 1 - p0 p1 b_k^2 /
(lambda - d_k)``". From the secular equation, ``sum_{k' != k} b_k'^2/(lambda - d_k') = 1/(p0 p1)
- b_k^2/(lambda - d_k)``, so Eq 143 is ``delta_k = (1 - p0 p1 b_k^2/(lambda - d_k)) / (Z^2
(lambda - d_k))``: the line drops the factor ``1/(Z^2 (lambda - d_k))``. We implement Eq 143.

**Solving the secular equation.** ``g(lambda) = 1 + p0 p1 sum b_k^2/(d_k - lambda)`` increases
from ``-inf`` (when ``b_{k*} != 0`` for ``k* = argmax d``) to 1 on ``(max d, inf)``, and
``lambda <= max d + p0 p1 ||b||^2`` (Weyl). Bisection on that bracket (``SECULAR_ITERATIONS``
halvings: the bracket shrinks below the float64 spacing), then one Newton step from the
``stop_gradient`` root, which leaves the value and gives ``jax.grad`` the implicit-function
derivative. If ``g >= 0`` just above ``max d`` (``b_{k*} = 0`` and the other fields too weak),
``lambda = max d`` with eigenvector ``e_{k*}``: then ``s = e_{k*}`` and ``delta = 0``.

**Mean-backprop BatchNorm** (Corollary 3, Eqs 175-179): with ``sigma_k^2 = V[f_k] = d_k + p0
p1 b_k^2`` (the population limit of the batch variance, Remark after Cor 3), the same formulas
hold for ``A_k^bn = A_k / sigma_k^2``, ``L_k^bn = L_k / sigma_k^2``, ``Delta_k^bn = Delta_k /
sigma_k``: ``d_k^bn = d_k / sigma_k^2``, ``b_k^bn = b_k / sigma_k``. Cor 3 prints its flow
(Eq 178) without ``P_w``; the flow here keeps the projection of Eq 15 (unit-norm filters) and
:func:`modulated_update` offers ``project=False`` for Eq 178 as printed. (Cor 3 writes ``s^bn``
with ``lambda^bn - d_k^bn`` in the denominator, the opposite sign of Eq 139: an eigenvector's
sign, irrelevant to ``s_k^2`` and ``s_k s_k'``.)
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from .._core import (
    REQUIRED, UNIT_OPEN, Array, Choice, Flag, Interval, Parameter, System, Values, register, simulate, validate,
)
from .._core.matrices import check_psd
from .._core.trajectory import Trajectory
from ._activations import Activation, activation as _as_activation
from ._blowup import _check_unit_rows
from ._two_layer import LatentFieldModel, _check_model

__all__ = [
    "GLOBAL_MODULATION",
    "SECULAR_ITERATIONS",
    "GlobalModulation",
    "FieldStatistics",
    "field_statistics",
    "secular_root",
    "global_modulation",
    "modulated_update",
    "simulate_global_modulation",
]

#: Activations with ``h'(x) x = h(x)`` exactly, as Theorem 5's derivation assumes (the monomial
#: carries a factor ``q``; use :func:`~ssl_odes.contrastive.simulate_two_layer` for it).
MODULATION_ACTIVATIONS = ("linear", "relu", "leaky_relu")

#: Bisection halvings of the secular-equation bracket (2^-200 of it: below float64 spacing).
SECULAR_ITERATIONS = 200


class FieldStatistics(eqx.Module):
    """Per-field statistics of Theorem 5 at filters ``w`` ``[K, d]`` (Eqs 134, 137; Lemma 5).

    ``L``: ``E_z V[xt_k | z]`` ``[K, d, d]``; ``Delta``: ``E[xt_k | z=1] - E[xt_k | z=0]``
    ``[K, d]``; ``A``: ``V[xt_k]`` ``[K, d, d]``; ``p1``: ``P[z = 1]``.
    """

    L: Float[JaxArray, "K d d"]
    Delta: Float[JaxArray, "K d"]
    A: Float[JaxArray, "K d d"]
    p1: Float[JaxArray, ""]


class GlobalModulation(eqx.Module):
    """Theorem 5's scalars per field: ``lam`` (the top eigenvalue ``lambda`` of ``V[f1]``), ``s``
    (its unit eigenvector, Eq 139), ``delta`` (Eq 143), and ``d``, ``b``, ``Z``, ``sigma`` (1
    without BatchNorm; ``sqrt(V[f_k])`` with it) in the convention used (``bn`` scaled or not)."""

    lam: Float[JaxArray, ""]
    s: Float[JaxArray, " K"]
    delta: Float[JaxArray, " K"]
    d: Float[JaxArray, " K"]
    b: Float[JaxArray, " K"]
    Z: Float[JaxArray, ""]
    sigma: Float[JaxArray, " K"]


def field_statistics(model: LatentFieldModel, w: Any, act: Any) -> FieldStatistics:
    """``L_k``, ``Delta_k`` and ``A_k`` of a two-valued population model at filters ``w`` ``[K, d]``.

    Computed from the definitions (conditional means and covariances, exact finite sums), not
    from Lemma 5, so that Lemma 5's ``A_k = L_k + p0 p1 Delta_k Delta_k^T`` can be tested.

    >>> from ssl_odes.contrastive import latent_field_model
    >>> model = latent_field_model([0.5, 0.5], np.eye(2)[None], [[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> stats = field_statistics(model, jnp.array([[1.0, 1.0]]), "linear")
    >>> stats.Delta.tolist(), stats.L.tolist()
    ([[-1.0, 1.0]], [[[0.0, 0.0], [0.0, 0.0]]])
    """
    act = _as_activation(act)
    if model.p_z.shape[-1] != 2:
        raise ValueError(f"Theorem 5 needs a binary latent z (C = 2); got p_z of shape {tuple(model.p_z.shape)}")
    w = jnp.asarray(w)
    gated = act.derivative(jnp.einsum("kad,kd->ka", model.atoms, w))[..., None] * model.atoms  # [K, A, d]
    means = jnp.einsum("cka,kad->ckd", model.probs, gated)
    second = jnp.einsum("cka,kad,kae->ckde", model.probs, gated, gated)
    conditional = second - jnp.einsum("ckd,cke->ckde", means, means)
    p_z = model.p_z
    L = jnp.einsum("c,ckde->kde", p_z, conditional)
    mean = jnp.einsum("c,ckd->kd", p_z, means)
    A = jnp.einsum("c,ckde->kde", p_z, second) - jnp.einsum("kd,ke->kde", mean, mean)
    return FieldStatistics(L=L, Delta=means[1] - means[0], A=A, p1=p_z[1])


def secular_root(d: Any, b: Any, p0p1: Any) -> jax.Array:
    r"""The top eigenvalue of ``diag(d) + p0p1 b b^T``: the root above ``max d`` of Eq 139's secular equation.

    ``1 + p0p1 sum_k b_k^2 / (d_k - lambda) = 0``, bracketed in ``(max d, max d + p0p1 ||b||^2]``
    and bisected; ``max d`` when the function is already ``>= 0`` there (see the module
    docstring). Differentiable (implicit-function derivative).

    >>> float(secular_root(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), 1.0))  # diag(1, 1): lambda = 1
    1.0
    >>> round(float(secular_root(jnp.array([0.0, 0.0]), jnp.array([1.0, 1.0]), 0.25)), 12)  # 0.25 * ||b||^2
    0.5
    """
    d, b = jnp.asarray(d), jnp.asarray(b)
    b2 = p0p1 * b**2
    top = jnp.max(d)
    scale = jnp.maximum(jnp.abs(top) + jnp.sum(b2), jnp.finfo(d.dtype).tiny)

    def g(lam):
        return 1.0 + jnp.sum(b2 / (d - lam))

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        below = g(mid) < 0
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo0, hi0 = jax.lax.stop_gradient(top), jax.lax.stop_gradient(top + jnp.sum(b2))
    lo, hi = jax.lax.fori_loop(0, SECULAR_ITERATIONS, bisect, (lo0, hi0))
    root = jax.lax.stop_gradient(0.5 * (lo + hi))
    touching = jax.lax.stop_gradient(g(top + 1e-13 * scale) >= 0)
    # One Newton step from the converged root: same value, implicit-function derivative for jax.grad.
    safe = jnp.where(touching, top + scale, root)
    slope = jnp.sum(b2 / (d - safe) ** 2)
    newton = safe - g(safe) / jnp.where(slope > 0, slope, 1.0)
    return jnp.where(touching, top, newton)


def _modulation(d, b, p0p1, sigma) -> GlobalModulation:
    lam = secular_root(d, b, p0p1)
    gap = lam - d
    top = jnp.argmax(d)
    touching = jnp.min(jnp.where(jnp.arange(d.shape[0]) == top, gap, jnp.inf)) <= 0.0
    safe_gap = jnp.where(gap > 0, gap, 1.0)
    ratio = jnp.where(gap > 0, b / safe_gap, 0.0)  # b_k / (lambda - d_k) = -Z s_k
    Z = jnp.sqrt(jnp.sum(ratio**2))
    touching = touching | (Z == 0)
    safe_Z = jnp.where(touching, 1.0, Z)
    s = jnp.where(touching, (jnp.arange(d.shape[0]) == top).astype(d.dtype), -ratio / safe_Z)
    weights = jnp.where(gap > 0, b**2 / safe_gap, 0.0)
    others = jnp.sum(weights) - weights
    delta = jnp.where(touching, 0.0, p0p1 / (safe_Z**2 * safe_gap) * others)
    delta = jnp.where(gap > 0, delta, 0.0)
    return GlobalModulation(lam=lam, s=s, delta=delta, d=d, b=b, Z=jnp.where(touching, 0.0, Z), sigma=sigma)


def _modulation_from(L, Delta, w, p1, batchnorm: bool) -> tuple[GlobalModulation, jax.Array]:
    """Theorem 5 (or Cor 3) scalars and the BN scale ``1/sigma_k^2`` of ``A_k`` (1 without BN)."""
    p0p1 = p1 * (1.0 - p1)
    d = jnp.einsum("kd,kde,ke->k", w, L, w)
    b = jnp.einsum("kd,kd->k", w, Delta)
    if batchnorm:
        sigma = jnp.sqrt(d + p0p1 * b**2)
        return _modulation(d / sigma**2, b / sigma, p0p1, sigma), 1.0 / sigma**2
    return _modulation(d, b, p0p1, jnp.ones_like(d)), jnp.ones_like(d)


def _check_statistics(L: Any, Delta: Any, w: Any, p1: Any):
    L = validate("L", L, Array(ndim=3, doc="a [K, d, d] array of PSD matrices L_k"))
    for k in range(L.shape[0]):
        check_psd(f"L[{k}]", L[k])
    K, d, _ = L.shape
    Delta = validate("Delta", Delta, Array(ndim=2, doc="a [K, d] array"))
    w = validate("w", w, Array(ndim=2, doc="a [K, d] array of filters"))
    if Delta.shape != (K, d):
        raise ValueError(f"Delta must have shape [K, d] = [{K}, {d}] to match L {L.shape}; got {Delta.shape}")
    if w.shape != (K, d):
        raise ValueError(f"w must have shape [K, d] = [{K}, {d}] to match L {L.shape}; got {w.shape}")
    p1 = validate("p1", p1, Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True))
    return jnp.asarray(L), jnp.asarray(Delta), jnp.asarray(w), p1


def global_modulation(L: Any, Delta: Any, w: Any, p1: Any, *, batchnorm: bool = False) -> GlobalModulation:
    r"""``lambda``, ``s`` and ``delta`` per field (001 Theorem 5, Eqs 134-143; Corollary 3 with ``batchnorm``).

    Args:
        L: ``[K, d, d]``, the PSD matrices ``L_k = E_z V[xt_k | z]`` (a non-PSD one is a
            ValueError naming ``L[k]``).
        Delta: ``[K, d]``, ``Delta_k = E[xt_k | z=1] - E[xt_k | z=0]``.
        w: ``[K, d]`` filters.
        p1: ``P[z = 1]`` in ``(0, 1)`` (``p0 = 1 - p1``).
        batchnorm: Corollary 3's mean-backprop BatchNorm (``d``, ``b`` scaled by ``sigma_k``).

    Returns:
        A :class:`GlobalModulation`: ``lam`` (``lambda``), ``s``, ``delta`` ``[K]`` (and ``d``,
        ``b``, ``Z``, ``sigma``).

    >>> gm = global_modulation(np.zeros((2, 1, 1)), [[1.0], [1.0]], [[1.0], [1.0]], 0.5)
    >>> float(gm.lam), np.round(np.abs(gm.s), 6).tolist(), np.round(gm.delta, 6).tolist()
    (0.5, [0.707107, 0.707107], [0.125, 0.125])

    (The proof's closing line, ``1 - p0 p1 b_k^2 / (lambda - d_k)``, gives 0.5 here: it lacks the
    factor ``1 / (Z^2 (lambda - d_k)) = 1/4``.)
    """
    L, Delta, w, p1 = _check_statistics(L, Delta, w, p1)
    batchnorm = validate("batchnorm", batchnorm, Flag())
    return _modulation_from(L, Delta, w, p1, batchnorm)[0]


def modulated_update(w: Any, stats: FieldStatistics, *, batchnorm: bool = False, project: bool = True) -> jax.Array:
    r"""``dw_k/dt`` of Eq 15 (Eq 178 with ``batchnorm``): ``P_w (s_k^2 A_k + delta_k Delta_k Delta_k^T) w_k``.

    With ``batchnorm`` the matrices are ``A_k^bn = A_k / sigma_k^2`` and ``Delta_k^bn = Delta_k /
    sigma_k``. ``project=False`` drops ``P_w`` (Cor 3 prints Eq 178 without it). Pure JAX.

    >>> from ssl_odes.contrastive import latent_field_model
    >>> model = latent_field_model([0.5, 0.5], np.eye(2)[None].repeat(2, 0), [[[1.0, 0.0]] * 2, [[0.0, 1.0]] * 2])
    >>> w = jnp.array([[0.8, 0.6], [0.6, 0.8]])
    >>> modulated_update(w, field_statistics(model, w, "linear")).shape
    (2, 2)
    """
    w = jnp.asarray(w)
    gm, a_scale = _modulation_from(stats.L, stats.Delta, w, stats.p1, batchnorm)
    bn = 1.0 / gm.sigma  # Delta^bn = Delta / sigma (1 without BatchNorm)
    grad = (gm.s**2 * a_scale)[:, None] * jnp.einsum("kde,ke->kd", stats.A, w) \
        + (gm.delta * gm.b * bn)[:, None] * stats.Delta
    if project:
        grad = grad - jnp.sum(grad * w, axis=-1, keepdims=True) / jnp.sum(w * w, axis=-1, keepdims=True) * w
    return grad


# --------------------------------------------------------------------------------------------
# The registered flow (Eq 15 / Eq 178)
# --------------------------------------------------------------------------------------------


class _ModulationArgs(eqx.Module):
    atoms: jax.Array
    probs: jax.Array
    p1: jax.Array


@functools.lru_cache(maxsize=None)
def _modulation_field(act: Activation, batchnorm: bool):
    def field(t, w, args):
        p_z = jnp.stack([1.0 - args.p1, args.p1])
        model = LatentFieldModel(p_z=p_z, atoms=args.atoms, probs=args.probs)
        return modulated_update(w, field_statistics(model, w, act), batchnorm=batchnorm)

    return field


def _check_modulation(values: Values):
    s = values.settings
    _, atoms, probs = _check_model(np.array([0.5, 0.5]), s["atoms"], s["probs"])
    w0 = s["w0"]
    if w0.shape != (atoms.shape[0], atoms.shape[2]):
        raise ValueError(f"w0 must have shape [K, d] = [{atoms.shape[0]}, {atoms.shape[2]}] to match atoms {atoms.shape}; "
                         f"got {w0.shape}")
    _check_unit_rows("w0", w0)


#: 001 Theorem 5 (Eq 15) / Corollary 3 (Eq 178) as a registered flow.
GLOBAL_MODULATION = register(System(
    name="contrastive_global_modulation",
    paper="001 Thm 5 (Eqs 15, 134-143), Cor 3 (Eqs 175-179)",
    summary="one unit-norm filter per receptive field under global modulation by a binary latent z (fast top layer)",
    parameters=(
        Parameter("w0", Array(ndim=2, doc="a [K, d] array of unit-norm filters"), REQUIRED, "initial filters w_k"),
        Parameter("atoms", Array(ndim=3, doc="a [K, A, d] array"), REQUIRED, "the values each x_k can take"),
        Parameter("probs", Array(ndim=3, doc="a [2, K, A] array of probabilities"), REQUIRED,
                  "P[x_k = atoms[k, a] | z = c] for c = 0, 1"),
        Parameter("p1", UNIT_OPEN, 0.5, "P[z = 1] (p0 = 1 - p1)"),
        Parameter("activation", Choice(MODULATION_ACTIVATIONS), "relu", "homogeneous activation h (h'(x) x = h(x))"),
        Parameter("batchnorm", Flag(), False, "Corollary 3's mean-backprop BatchNorm"),
    ),
    initial_state=lambda v: jnp.asarray(v.batch(v["w0"])),
    args=lambda v: _ModulationArgs(atoms=jnp.asarray(v.batch(v["atoms"])), probs=jnp.asarray(v.batch(v["probs"])),
                                   p1=jnp.asarray(v["p1"])),
    field=lambda settings: _modulation_field(Activation(settings["activation"]), settings["batchnorm"]),
    outputs=lambda ys, v: {"w": ys},
    check=_check_modulation,
    t1=20.0,
    num_points=21,
    example={"w0": np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]]),
             "atoms": np.array([np.eye(3)[[0, 1, 2]] + 0.1, np.eye(3)[[1, 2, 0]] + 0.1]),
             "probs": np.array([[[0.6, 0.3, 0.1], [0.5, 0.4, 0.1]], [[0.1, 0.3, 0.6], [0.1, 0.2, 0.7]]]),
             "p1": [0.3, 0.5], "activation": "linear"},
))


def simulate_global_modulation(
    w0: Any, model: LatentFieldModel, *, activation: str = "relu", batchnorm: bool = False, p1: Any = None, **run: Any
) -> Trajectory:
    r"""Integrate Theorem 5's filter flow (001 Eq 15; Corollary 3's Eq 178 with ``batchnorm``).

    .. math:: \dot w_k = P^\perp_{w_k} \big(s_k^2 A_k(w_k) + \delta_k \Delta_k \Delta_k^\top\big) w_k

    with ``s``, ``delta`` from :func:`global_modulation` recomputed at every ``w`` from the
    population ``model`` (a binary latent; ``p1`` defaults to the model's ``P[z = 1]`` and may be
    an array, a batch of runs).

    Args:
        w0: ``[K, d]`` unit-norm initial filters.
        model: a two-valued :class:`~ssl_odes.contrastive.LatentFieldModel`.
        activation: ``"linear"``, ``"relu"`` or ``"leaky_relu"`` (slope 0.05).
        batchnorm: Corollary 3's mean-backprop BatchNorm.
        p1: ``P[z = 1]`` in ``(0, 1)``; default ``model.p_z[1]``.
        **run: as for :func:`ssl_odes.simulate` (default ``t1=20``, ``num_points=21``).

    With ReLU on a discrete population the field jumps where ``w_k^T x = 0`` for an atom ``x``;
    a filter that slides along such a surface exhausts the step budget at the default float64
    tolerance (``MAX_STEPS``); ``rtol=1e-6`` gets through (see :func:`simulate_two_layer`).

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``w`` ``[*batch, time, K, d]``.

    >>> from ssl_odes.contrastive import latent_field_model
    >>> model = latent_field_model([0.5, 0.5], GLOBAL_MODULATION.example["atoms"], GLOBAL_MODULATION.example["probs"])
    >>> res = simulate_global_modulation(GLOBAL_MODULATION.example["w0"], model, activation="linear", t1=5.0)
    >>> res.w.shape, res.status_counts()
    ((21, 2, 3), {'ok': 1})
    """
    if not isinstance(model, LatentFieldModel):
        raise TypeError(f"model must be a LatentFieldModel (see latent_field_model); got {type(model).__name__}")
    if p1 is None:
        p1 = float(np.asarray(model.p_z)[1])
    return simulate(GLOBAL_MODULATION, w0=w0, atoms=np.asarray(model.atoms), probs=np.asarray(model.probs), p1=p1,
                    activation=activation, batchnorm=batchnorm, **run)


simulate_global_modulation.system = GLOBAL_MODULATION
