r"""The two-layer contrastive flow (001 Lemma 4, Eq 12; Lemma 6, Eq 166; Assumption 2, Eq 13).

``K`` disjoint receptive fields (RF), ``M`` filters ``w_km`` per RF acting on ``x_k`` (``d``
entries), hidden units ``f1_km = h(w_km^T x_k)``, top layer ``V`` (``d_out x KM``) and
``S = V^T V``. With the gated input ``xt_km = x_k h'(w_km^T x_k)`` stacked into ``xt``
(``KMd`` entries), gradient ascent on the energy ``E = 1/2 tr C_alpha[V f1]`` (``alpha`` held
fixed) is

.. math::

    \dot V = V\, \mathbb{C}_\alpha[f_1], \qquad
    \dot w = P^\perp_w \big[(S \otimes 1_d 1_d^\top) \circ \mathbb{C}_\alpha[\tilde x]\big] w   \quad (12)

i.e. ``dw_km/dt = P_w_km sum_{k'm'} s_{km,k'm'} C_alpha[xt_km, xt_k'm'] w_k'm'``. ``P_w`` is the
orthogonal projector ``I - w w^T / ||w||^2`` (the paper's ``I - w w^T`` for unit-norm filters;
with it ``||w_km||`` is conserved exactly). For the monomial ``h(x) = x^q``, ``h'(x) x = q h(x)``
and the gradient carries a factor ``1/q``, which we keep so that the flow stays the energy's gradient.

**Mean-backprop BatchNorm** (Def. 5, Lemma 6, Eq 166): ``f1_km -> (f1_km - mu_km) / sigma_km``
with batch statistics, gradient through ``mu`` only. Then ``f1`` is replaced by ``f1^bn`` and
``xt_km`` by ``xt_km / sigma_km`` (the mean term drops out of ``C_alpha``; ``sigma`` is held fixed).

**Fast top layer** (Assumption 2): ``S = s s^T`` with ``s`` the unit top eigenvector of
``C_alpha[f1]`` (the stationary ``V = v s^T``); the state is then ``W`` alone.

**Two sources for the statistics.**

* A data batch: first views ``x`` ``[N, K, d]`` and optional second views ``x_aug``, any
  ``alpha`` (uniform, Gaussian, InfoNCE; :mod:`._covariance`), computed from the outputs
  ``f2 = V f1`` of the first views (or from ``f1`` with a fast top layer) and held fixed
  (``stop_gradient``) as in Eq 2.
* A population model with a latent ``z`` (:class:`LatentFieldModel`): ``P[z = c] = p_z[c]`` and,
  given ``z``, the RFs are independent (Eq 13), ``x_k | z = c`` taking the value ``atoms[k, a]``
  with probability ``probs[c, k, a]``. Assumption 2's uniform ``alpha``, no augmentation and
  ``N -> infinity`` make ``C_alpha = V`` (Cor 1), computed exactly as finite sums:
  ``V[xt] = E_z V[xt | z] + V_z E[xt | z]``, the first term block diagonal over the RFs.
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from .._core import (
    POSITIVE, REQUIRED, Array, Choice, Flag, Integer, Interval, Parameter, System, Values, register, simulate, validate,
)
from .._core.trajectory import Trajectory
from ._activations import ACTIVATIONS, Activation
from ._covariance import ALPHA_KINDS, ContrastiveWeights, contrastive_weights

__all__ = [
    "TWO_LAYER",
    "LatentFieldModel",
    "latent_field_model",
    "population_statistics",
    "batch_statistics",
    "top_eigenvector",
    "two_layer_update",
    "two_layer_energy",
    "simulate_two_layer",
]

#: Relative tolerance of the probability checks (a row of ``probs`` or ``p_z`` sums to 1).
PROBABILITY_RTOL = 1e-6


# --------------------------------------------------------------------------------------------
# The population model (Eq 13)
# --------------------------------------------------------------------------------------------


class LatentFieldModel(eqx.Module):
    """A population with a latent ``z`` and conditionally independent RFs (001 Eq 13).

    ``P[z = c] = p_z[c]``; given ``z = c`` the RFs are independent and ``x_k = atoms[k, a]`` with
    probability ``probs[c, k, a]``. Build it with :func:`latent_field_model` (validated).
    """

    p_z: Float[JaxArray, " C"]
    atoms: Float[JaxArray, "K A d"]
    probs: Float[JaxArray, "C K A"]


def _check_simplex(name: str, arr: np.ndarray) -> np.ndarray:
    if np.any(arr < 0):
        index = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(f"{name} must hold probabilities >= 0; got {name}{list(index)} = {arr[index]!r}")
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > PROBABILITY_RTOL
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0]) if sums.ndim else ()
        raise ValueError(f"{name} must sum to 1 over its last axis; got a sum of {float(sums[index]):.9g} at {list(index)}")
    return arr


def _check_model(p_z: Any, atoms: Any, probs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p_z = _check_simplex("p_z", validate("p_z", p_z, Array(ndim=1, doc="a probability vector [C]")))
    atoms = validate("atoms", atoms, Array(ndim=3, doc="a finite real [K, A, d] array (the values of each x_k)"))
    probs = _check_simplex("probs", validate("probs", probs, Array(ndim=3, doc="a [C, K, A] array of probabilities")))
    if probs.shape[0] != p_z.shape[0]:
        raise ValueError(f"probs must have C = {p_z.shape[0]} rows (one per value of z, as p_z); got shape {probs.shape}")
    if probs.shape[1:] != atoms.shape[:2]:
        raise ValueError(f"probs must have shape [C, K, A] = [C, {atoms.shape[0]}, {atoms.shape[1]}] to match atoms "
                         f"{atoms.shape}; got {probs.shape}")
    return p_z, atoms, probs


def latent_field_model(p_z: Any, atoms: Any, probs: Any) -> LatentFieldModel:
    """A validated :class:`LatentFieldModel` (001 Eq 13).

    Args:
        p_z: ``[C]`` probabilities of the latent values (sum 1).
        atoms: ``[K, A, d]``: the ``A`` values ``x_k`` can take in RF ``k``.
        probs: ``[C, K, A]``: ``P[x_k = atoms[k, a] | z = c]`` (each ``probs[c, k]`` sums to 1).

    >>> model = latent_field_model([0.5, 0.5], np.eye(2)[None], [[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> model.atoms.shape
    (1, 2, 2)
    >>> latent_field_model([0.5, 0.6], np.eye(2)[None], [[[1.0, 0.0]], [[0.0, 1.0]]])
    Traceback (most recent call last):
    ...
    ValueError: p_z must sum to 1 over its last axis; got a sum of 1.1 at []
    """
    p_z, atoms, probs = _check_model(p_z, atoms, probs)
    return LatentFieldModel(p_z=jnp.asarray(p_z), atoms=jnp.asarray(atoms), probs=jnp.asarray(probs))


def _homogeneity(act: Activation) -> float:
    """``q`` with ``h'(x) x = q h(x)`` (1 except for the monomial)."""
    return float(act.q) if act.name == "monomial" else 1.0


def _population_variance(values: jax.Array, probs: jax.Array, p_z: jax.Array) -> jax.Array:
    """``V[v]`` of ``v = [v_1; ...; v_K]`` where ``v_k = values[k, a]`` with probability ``probs[z, k, a]``.

    ``values`` ``[K, A, n]`` -> ``[K n, K n]``: ``E_z V[v | z]`` (block diagonal: the RFs are
    independent given ``z``) plus ``V_z E[v | z]``.
    """
    K, _, n = values.shape
    means = jnp.einsum("cka,kan->ckn", probs, values)  # E[v_k | z = c]
    second = jnp.einsum("c,cka,kan,kam->knm", p_z, probs, values, values)  # E_z E[v_k v_k^T | z]
    within = second - jnp.einsum("c,ckn,ckm->knm", p_z, means, means)
    flat = means.reshape(means.shape[0], K * n)
    centred = flat - p_z @ flat
    between = jnp.einsum("c,ci,cj->ij", p_z, centred, centred)
    return jax.scipy.linalg.block_diag(*[within[k] for k in range(K)]) + between


def population_statistics(model: LatentFieldModel, W: Any, act: Activation) -> tuple[jax.Array, jax.Array]:
    """``(V[xt], V[f1])`` of the population model at filters ``W`` ``[K, M, d]`` (Eq 13, Cor 1).

    ``V[xt]`` is ``[KMd, KMd]`` (index ``(k, m, i)`` flattened), ``V[f1]`` is ``[KM, KM]``. Exact
    finite sums; pure JAX (no validation).

    >>> model = latent_field_model([0.5, 0.5], np.eye(2)[None], [[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> cov_xt, cov_f1 = population_statistics(model, jnp.array([[[1.0, 1.0]]]), Activation("linear"))
    >>> cov_f1.tolist()  # f1 = x_1 + x_2 = 1 always
    [[0.0]]
    """
    W = jnp.asarray(W)
    pre = jnp.einsum("kad,kmd->kam", model.atoms, W)
    gated = act.derivative(pre)[..., None] * model.atoms[:, :, None, :]  # [K, A, M, d]
    K, A, M, d = gated.shape
    cov_xt = _population_variance(gated.reshape(K, A, M * d), model.probs, model.p_z)
    cov_f1 = _population_variance(act.h(pre), model.probs, model.p_z)
    return cov_xt, cov_f1


# --------------------------------------------------------------------------------------------
# Data-batch statistics (Eq 3)
# --------------------------------------------------------------------------------------------


def _hidden(x: jax.Array, W: jax.Array, act: Activation) -> tuple[jax.Array, jax.Array]:
    """Gated inputs ``[N, K M d]`` and hidden units ``[N, K M]`` of samples ``x`` ``[N, K, d]``."""
    pre = jnp.einsum("nkd,kmd->nkm", x, W)
    gated = act.derivative(pre)[..., None] * x[:, :, None, :]
    return gated.reshape(x.shape[0], -1), act.h(pre).reshape(x.shape[0], -1)


def batch_statistics(
    x: Any, x_aug: Any, W: Any, act: Activation, *, alpha: str = "uniform", tau: Any = 1.0, V: Any = None,
    batchnorm: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """``(C_alpha[xt], C_alpha[f1])`` on a data batch (Eq 3), ``[KMd, KMd]`` and ``[KM, KM]``.

    ``alpha`` is computed from the first views' outputs ``V f1`` (``f1`` when ``V`` is None) and
    held fixed (``stop_gradient``, Eq 2). With ``batchnorm`` the hidden units are normalised by
    their batch statistics over the ``2N`` views (Eqs 164-165) and ``xt_km`` is divided by
    ``sigma_km`` (Lemma 6). Pure JAX (no validation).

    >>> x = jnp.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> cov_xt, cov_f1 = batch_statistics(x, None, jnp.ones((1, 1, 2)), Activation("linear"))
    >>> cov_f1.tolist()
    [[0.0]]
    """
    x, W = jnp.asarray(x), jnp.asarray(W)
    xt, f1 = _hidden(x, W, act)
    if x_aug is not None:
        xt_aug, f1_aug = _hidden(jnp.asarray(x_aug), W, act)
    else:
        xt_aug, f1_aug = xt, f1
    if batchnorm:
        both = jnp.concatenate([f1, f1_aug], axis=0)
        mu = jnp.mean(both, axis=0)
        sigma = jax.lax.stop_gradient(jnp.sqrt(jnp.mean((both - mu) ** 2, axis=0)))
        f1, f1_aug = (f1 - mu) / sigma, (f1_aug - mu) / sigma
        scale = jnp.repeat(1.0 / sigma, W.shape[-1])
        xt, xt_aug = xt * scale, xt_aug * scale
    outputs = f1 if V is None else f1 @ jnp.asarray(V).T
    weights = jax.tree_util.tree_map(jax.lax.stop_gradient, contrastive_weights(outputs, alpha, tau=tau))
    delta_xt = None if x_aug is None else xt - xt_aug
    delta_f1 = None if x_aug is None else f1 - f1_aug
    return weights.covariance(xt, delta_xt, xt, delta_xt), weights.covariance(f1, delta_f1, f1, delta_f1)


# --------------------------------------------------------------------------------------------
# Lemma 4 (Eq 12)
# --------------------------------------------------------------------------------------------


def top_eigenvector(cov: jax.Array) -> jax.Array:
    """The unit eigenvector of the largest eigenvalue of a symmetric matrix (sign: largest entry > 0).

    >>> top_eigenvector(jnp.diag(jnp.array([1.0, 3.0, 2.0]))).tolist()
    [0.0, 1.0, 0.0]
    """
    _, vectors = jnp.linalg.eigh(cov)
    s = vectors[:, -1]
    return s * jnp.sign(s[jnp.argmax(jnp.abs(s))])


def two_layer_update(W: Any, S: Any, cov_xt: Any, act: Activation, *, project: bool = True) -> jax.Array:
    r"""``dW/dt`` of Eq 12: ``P_w [(S (x) 1_d 1_d^T) o C_alpha[xt]] w`` (``/ q`` for ``x^q``), ``[K, M, d]``.

    ``S`` is ``[KM, KM]`` (``V^T V``, or ``s s^T`` with a fast top layer); ``cov_xt`` is
    ``C_alpha[xt]`` ``[KMd, KMd]``. ``project=False`` gives the unprojected gradient (Theorem 4's
    Eq 14 and the energy gradient).

    >>> W = jnp.array([[[1.0, 0.0]]])
    >>> two_layer_update(W, jnp.ones((1, 1)), jnp.array([[1.0, 2.0], [2.0, 1.0]]), Activation("linear")).tolist()
    [[[0.0, 2.0]]]
    """
    W = jnp.asarray(W)
    K, M, d = W.shape
    w = W.reshape(K * M, d)
    blocks = jnp.asarray(cov_xt).reshape(K * M, d, K * M, d)
    grad = jnp.einsum("ij,iajb,jb->ia", jnp.asarray(S), blocks, w) / _homogeneity(act)
    if project:
        grad = grad - jnp.sum(grad * w, axis=-1, keepdims=True) / jnp.sum(w * w, axis=-1, keepdims=True) * w
    return grad.reshape(K, M, d)


def two_layer_energy(W: Any, V: Any, x: Any, act: Activation, *, x_aug: Any = None, alpha_weights: Any = None) -> jax.Array:
    """The energy ``E = 1/2 tr C_alpha[V f1]`` of a data batch with ``alpha`` given (001 Sec 2).

    ``alpha_weights`` ``[N, N]`` (default uniform) is a fixed array: ``jax.grad`` of this is the
    flow of Eq 12 before the projection.

    >>> x = jnp.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> float(two_layer_energy(jnp.array([[[1.0, 0.0]]]), jnp.ones((1, 1)), x, Activation("relu")))
    0.125
    """
    x, W, V = jnp.asarray(x), jnp.asarray(W), jnp.asarray(V)
    f2 = _hidden(x, W, act)[1] @ V.T
    delta = None if x_aug is None else f2 - _hidden(jnp.asarray(x_aug), W, act)[1] @ V.T
    n = x.shape[0]
    weights = ContrastiveWeights(alpha=jnp.ones((n, n), f2.dtype) if alpha_weights is None else jnp.asarray(alpha_weights),
                                 pi=None)
    return 0.5 * jnp.trace(weights.covariance(f2, delta, f2, delta))


# --------------------------------------------------------------------------------------------
# The registered flow
# --------------------------------------------------------------------------------------------


class _BatchArgs(eqx.Module):
    x: jax.Array
    x_aug: jax.Array | None
    tau: jax.Array


class _PopulationArgs(eqx.Module):
    model: LatentFieldModel


def _activation_of(settings) -> Activation:
    name = settings["activation"]
    if name == "leaky_relu":
        return Activation(name, slope=settings["slope"])
    if name == "monomial":
        return Activation(name, q=settings["q"])
    return Activation(name)


@functools.lru_cache(maxsize=None)
def _two_layer_field(source: str, activation: Activation, alpha: str, fast_top: bool, batchnorm: bool):
    def statistics(W, V, args):
        if source == "population":
            return population_statistics(args.model, W, activation)
        return batch_statistics(args.x, args.x_aug, W, activation, alpha=alpha, tau=args.tau, V=V, batchnorm=batchnorm)

    if fast_top:
        def field(t, y, args):
            cov_xt, cov_f1 = statistics(y["W"], None, args)
            s = top_eigenvector(cov_f1)
            return {"W": two_layer_update(y["W"], jnp.outer(s, s), cov_xt, activation)}
    else:
        def field(t, y, args):
            cov_xt, cov_f1 = statistics(y["W"], y["V"], args)
            return {"W": two_layer_update(y["W"], y["V"].T @ y["V"], cov_xt, activation), "V": y["V"] @ cov_f1}

    return field


def _field_from_settings(settings):
    source = "population" if settings["atoms"] is not None else "batch"
    return _two_layer_field(source, _activation_of(settings), settings["alpha"], settings["fast_top"],
                            settings["batchnorm"])


def _check_two_layer(values: Values):
    s = values.settings
    W0 = s["W0"]
    K, M, d = W0.shape
    if np.any(np.linalg.norm(W0, axis=-1) == 0):
        raise ValueError("W0 must have non-zero filters w_km (the flow keeps ||w_km|| fixed); got a zero filter")
    _activation_of(s)
    if s["activation"] != "leaky_relu" and s["slope"] != 0.05:
        raise ValueError(f"slope is LeakyReLU's negative slope; got slope={s['slope']!r} with activation={s['activation']!r}")
    if s["activation"] != "monomial" and s["q"] != 2:
        raise ValueError(f"q is the monomial's power; got q={s['q']!r} with activation={s['activation']!r}")
    population = s["atoms"] is not None or s["probs"] is not None or s["p_z"] is not None
    if population == (s["x"] is not None):
        raise ValueError("give the statistics either as a data batch (x, optionally x_aug) or as a population model "
                         "(atoms, probs, p_z), exactly one of the two")
    if population:
        if s["atoms"] is None or s["probs"] is None or s["p_z"] is None:
            raise ValueError("a population model needs atoms, probs and p_z together")
        _, atoms, _ = _check_model(s["p_z"], s["atoms"], s["probs"])
        if atoms.shape[0] != K or atoms.shape[2] != d:
            raise ValueError(f"atoms must have shape [K, A, d] = [{K}, A, {d}] to match W0 {W0.shape}; got {atoms.shape}")
        if s["alpha"] != "uniform" or s["batchnorm"]:
            raise ValueError("a population model gives C_alpha = V (Assumption 2: uniform alpha, no augmentation); "
                             f"got alpha={s['alpha']!r}, batchnorm={s['batchnorm']!r} (use a data batch for those)")
    else:
        x = s["x"]
        if x.shape[1:] != (K, d):
            raise ValueError(f"x must have shape [N, K, d] = [N, {K}, {d}] to match W0 {W0.shape}; got {x.shape}")
        if s["x_aug"] is not None and s["x_aug"].shape != x.shape:
            raise ValueError(f"x_aug must have the shape of x {x.shape}; got {s['x_aug'].shape}")
    if s["fast_top"]:
        if s["V0"] is not None:
            raise ValueError("V0 is not used with fast_top=True (S = s s^T); leave it unset")
    elif s["V0"] is None:
        raise ValueError("V0 (the top layer, [d_out, K M]) is required unless fast_top=True")
    elif s["V0"].shape[1] != K * M:
        raise ValueError(f"V0 must have shape [d_out, K M] = [d_out, {K * M}]; got {s['V0'].shape}")


def _two_layer_state(values: Values):
    state = {"W": jnp.asarray(values.batch(values["W0"]))}
    if not values["fast_top"]:
        state["V"] = jnp.asarray(values.batch(values["V0"]))
    return state


def _two_layer_args(values: Values):
    s = values.settings
    if s["atoms"] is not None:
        return _PopulationArgs(model=LatentFieldModel(p_z=jnp.asarray(values.batch(s["p_z"])),
                                                      atoms=jnp.asarray(values.batch(s["atoms"])),
                                                      probs=jnp.asarray(values.batch(s["probs"]))))
    x_aug = None if s["x_aug"] is None else jnp.asarray(values.batch(s["x_aug"]))
    return _BatchArgs(x=jnp.asarray(values.batch(s["x"])), x_aug=x_aug, tau=jnp.asarray(values["tau"]))


_rng = np.random.default_rng(13)
#: 001 Lemma 4 / Eq 12 (and Lemma 6 / Eq 166 with ``batchnorm``) as a registered flow.
TWO_LAYER = register(System(
    name="contrastive_two_layer",
    paper="001 Lemma 4 (Eq 12), Lemma 6 (Eq 166), Assumption 2 (Eq 13)",
    summary="two-layer network with K disjoint receptive fields, M filters each, under the contrastive energy",
    parameters=(
        Parameter("W0", Array(ndim=3, doc="a non-empty [K, M, d] array of initial filters"), REQUIRED,
                  "initial filters w_km of the K receptive fields"),
        Parameter("V0", Array(ndim=2, doc="a [d_out, K M] array"), None, "initial top layer V (not with fast_top)"),
        Parameter("x", Array(ndim=3, doc="an [N, K, d] array of samples"), None, "data batch: first views x[i]"),
        Parameter("x_aug", Array(ndim=3, doc="an [N, K, d] array of samples"), None, "data batch: second views x[i']"),
        Parameter("atoms", Array(ndim=3, doc="a [K, A, d] array"), None, "population model: the values of each x_k"),
        Parameter("probs", Array(ndim=3, doc="a [C, K, A] array of probabilities"), None,
                  "population model: P[x_k = atoms[k, a] | z = c]"),
        Parameter("p_z", Array(ndim=1, doc="a probability vector [C]"), None, "population model: P[z = c]"),
        Parameter("activation", Choice(ACTIVATIONS), "relu", "homogeneous activation h"),
        Parameter("slope", Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True), 0.05,
                  "LeakyReLU's negative slope"),
        Parameter("q", Integer(1), 2, "the monomial's power"),
        Parameter("alpha", Choice(ALPHA_KINDS), "uniform", "pairwise importance (data batch only)"),
        Parameter("tau", POSITIVE, 1.0, "temperature of the Gaussian / InfoNCE alpha"),
        Parameter("fast_top", Flag(), False, "fast top layer: S = s s^T, s the top eigenvector of C_alpha[f1]"),
        Parameter("batchnorm", Flag(), False, "mean-backprop BatchNorm on the hidden units (Def. 5, Lemma 6)"),
    ),
    initial_state=_two_layer_state,
    args=_two_layer_args,
    field=_field_from_settings,
    check=_check_two_layer,
    record=lambda v: ("tau",) if v["x"] is not None else (),
    t1=5.0,
    num_points=51,
    example={"W0": _rng.normal(size=(2, 2, 3)), "V0": _rng.normal(size=(2, 4)) / 2, "x": _rng.normal(size=(6, 2, 3)),
             "x_aug": _rng.normal(size=(6, 2, 3)), "alpha": "infonce", "tau": [0.5, 1.0]},
))
del _rng


def simulate_two_layer(
    W0: Any,
    V0: Any = None,
    *,
    x: Any = None,
    x_aug: Any = None,
    model: LatentFieldModel | None = None,
    activation: str = "relu",
    slope: float = 0.05,
    q: int = 2,
    alpha: str = "uniform",
    tau: Any = 1.0,
    fast_top: bool = False,
    batchnorm: bool = False,
    **run: Any,
) -> Trajectory:
    r"""Integrate the two-layer contrastive flow of 001 Lemma 4 (Eq 12) with the package integrator.

    .. math::

        \dot V = V\, \mathbb{C}_\alpha[f_1], \qquad
        \dot w = P^\perp_w \big[(S \otimes 1_d 1_d^\top) \circ \mathbb{C}_\alpha[\tilde x]\big] w,
        \qquad S = V^\top V.

    Statistics from a data batch (``x``, ``x_aug``; any ``alpha``) or from a population model
    (``model``, Eq 13; ``C_alpha = V``). ``fast_top=True`` is Assumption 2's fast top layer
    (``S = s s^T``, ``s`` the top eigenvector of ``C_alpha[f1]``; no ``V``). ``batchnorm=True``
    is the mean-backprop BatchNorm flow of Lemma 6 (data batch only).

    Args:
        W0: ``[K, M, d]`` initial filters (non-zero; their norms are conserved).
        V0: ``[d_out, K M]`` initial top layer (omit with ``fast_top``).
        x, x_aug: data batch ``[N, K, d]`` (first and second views; ``x_aug`` optional).
        model: a :class:`LatentFieldModel` (instead of ``x``).
        activation: ``"linear"``, ``"relu"``, ``"leaky_relu"`` (``slope``) or ``"monomial"``
            (``q``).
        alpha: ``"uniform"``, ``"gaussian"`` or ``"infonce"`` (from the outputs, held fixed).
        tau: temperature ``> 0`` (may be an array: a batch of runs).
        fast_top, batchnorm: see above.
        **run: as for :func:`ssl_odes.simulate` (default ``t1=5``, ``num_points=51``).

    ReLU on a finite batch or a discrete population: the field jumps where ``w_km^T x = 0``
    for a sample (or atom) ``x``, and a filter can *slide* along such a surface (both sides push
    into it). An adaptive solver at the default float64 tolerance then spends its step budget
    there (status ``MAX_STEPS``); ``rtol=1e-6`` (or LeakyReLU, whose field also jumps but
    rarely traps) gets through.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``W`` ``[*batch, time, K, M, d]`` and (unless
        ``fast_top``) ``V`` ``[*batch, time, d_out, K M]``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> res = simulate_two_layer(rng.normal(size=(2, 2, 3)), rng.normal(size=(1, 4)), x=rng.normal(size=(8, 2, 3)),
        ...                          activation="leaky_relu", t1=1.0, num_points=3)
        >>> res.W.shape, res.V.shape, res.status_counts()
        ((3, 2, 2, 3), (3, 1, 4), {'ok': 1})
    """
    population = {}
    if model is not None:
        if not isinstance(model, LatentFieldModel):
            raise TypeError(f"model must be a LatentFieldModel (see latent_field_model); got {type(model).__name__}")
        population = {"atoms": np.asarray(model.atoms), "probs": np.asarray(model.probs), "p_z": np.asarray(model.p_z)}
    return simulate(TWO_LAYER, W0=W0, V0=V0, x=x, x_aug=x_aug, activation=activation, slope=slope, q=q, alpha=alpha,
                    tau=tau, fast_top=fast_top, batchnorm=batchnorm, **population, **run)


simulate_two_layer.system = TWO_LAYER
