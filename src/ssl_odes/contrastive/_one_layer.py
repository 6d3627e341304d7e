r"""The one-layer contrastive flow (001 Lemma 3, Eq 7) and its operator ``A(w) = C_alpha[x~^w]``.

A one-layer network ``f_k = h(w_k^T x)`` with ``K`` unit-norm filters (per-filter BatchNorm, 001
Sec 3) maximises ``E = 1/2 sum_k C_alpha[h(w_k^T x)]`` (Eq 5). With a homogeneous activation
(``h(x) = h'(x) x``) and ``alpha`` held fixed (stop-gradient, Eq 2), each filter follows

.. math::

    \dot{w}_k = P^\perp_{w_k} A(w_k) w_k, \qquad A(w) = \mathbb{C}_\alpha[\tilde{x}^w],
    \quad \tilde{x}^w = x \, h'(w^\top x), \quad P^\perp_w = I - w w^\top          \quad (7)

so ``||w_k|| = 1`` is conserved and the energy ``E = 1/2 sum_k w_k^T A(w_k) w_k`` never decreases
(``dE/dt = sum_k ||P A(w_k) w_k||^2 >= 0``; App. B.2 shows the ``w^T dA w`` term vanishes).
For the monomial ``x^q`` the code keeps the true ``h'``, so ``A`` and ``E`` carry a factor
``q^2`` (see :mod:`._activations`); the flow's direction and fixed points are unchanged.

:class:`ContrastiveOperator` is ``w -> A(w)`` for one dataset: first views ``x``, optional second
views ``x_aug`` (each gated with the *same* ``w``: ``x~' = x' h'(w^T x')``), any ``alpha``
(uniform, Gaussian, InfoNCE or explicit, computed once from the raw data ``x``, as the
stop-gradient of Eq 2 prescribes), or a population given as atoms with probabilities ``probs``
(the latent models of :mod:`._latent`). The same object drives the flow, power iteration and
the LME analysis (:mod:`._lme`), so there is one ``A(w)``.

:data:`CONTRASTIVE_ONE_LAYER` declares the flow on the system core; :func:`simulate_one_layer`
runs a batch of initialisations through the package integrator.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from .._core import REQUIRED, Array, Choice, Integer, Interval, Parameter, System, Values, register, simulate
from .._core.params import is_traced, validate
from ._activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE, Activation, activation as _activation, gated_input
from ._covariance import (
    AlphaDomain,
    ContrastiveWeights,
    _probabilities,
    _samples,
    _squared_distances,
    _to_jnp,
    contrastive_weights,
    named_alpha,
    population_alpha,
)

__all__ = [
    "ALPHA_SOURCES",
    "CONTRASTIVE_ONE_LAYER",
    "ContrastiveOperator",
    "contrastive_operator",
    "one_layer_vector_field",
    "one_layer_energy",
    "random_unit_vectors",
    "simulate_one_layer",
]

#: Relative tolerance on ``||w|| = 1`` for filters given by the caller (then normalised exactly).
UNIT_NORM_RTOL = 1e-6

#: Where a named ``alpha`` is computed from: the raw samples (fixed) or the filter's output ``h(w^T x)``.
ALPHA_SOURCES = ("data", "output")

_TAU_SCALAR = Interval(0.0, math.inf, lower_closed=False, scalar=True)


class ContrastiveOperator(eqx.Module):
    """``w -> A(w) = C_alpha[x~^w]`` (001 Lemma 3) for one dataset; call it on a unit vector ``w`` ``[d]``.

    Build it with :func:`contrastive_operator` (validated). ``gate`` is the gated-input map
    ``(x, w, act) -> x~`` (default :func:`gated_input`; App. B.5's rotation-averaged gate is
    another). Leaves may carry leading batch axes when the operator is a flow's argument.

    ``output_alpha`` (static; ``None``, ``"gaussian"`` or ``"infonce"``): recompute ``alpha`` at
    every ``w`` from the filter's own output ``f = h(w^T x)`` (first views), with temperature
    ``tau``, as Cor 2's 1-D Gaussian ``alpha_ij = exp(-|f_i - f_j|^2 / 2 tau)`` and InfoNCE do
    (``alpha`` still stop-gradient: it enters ``A(w)``, never its derivative's chain). ``weights``
    then only carries the population probabilities ``pi`` (``population`` True) or ``1/N``.
    """

    x: Float[JaxArray, "*batch N d"]
    x_aug: Float[JaxArray, "*batch N d"] | None
    weights: ContrastiveWeights
    activation: Activation = eqx.field(static=True)
    gate: Callable = eqx.field(static=True, default=gated_input)
    tau: Float[JaxArray, "*batch"] | None = None
    output_alpha: str | None = eqx.field(static=True, default=None)
    population: bool = eqx.field(static=True, default=False)

    @property
    def dim(self) -> int:
        return self.x.shape[-1]

    def weights_at(self, w: Float[JaxArray, " d"]) -> ContrastiveWeights:
        """The pairwise weights used at ``w`` (``weights`` unless ``alpha`` follows the output)."""
        if self.output_alpha is None:
            return self.weights
        f = self.activation.h(self.x @ w)
        dist2 = (f[:, None] - f[None, :]) ** 2
        alpha = jax.lax.stop_gradient(
            population_alpha(self.output_alpha, dist2, self.tau, self.weights.pi) if self.population
            else named_alpha(self.output_alpha, dist2, self.tau))
        return ContrastiveWeights(alpha=alpha, pi=None)

    def __call__(self, w: Float[JaxArray, " d"]) -> Float[JaxArray, "d d"]:
        xt = self.gate(self.x, w, self.activation)
        delta = None if self.x_aug is None else xt - self.gate(self.x_aug, w, self.activation)
        A = self.weights_at(w).covariance(xt, delta, xt, delta)
        return 0.5 * (A + A.T)  # C_alpha[a, a] is symmetric for any alpha; remove round-off

    def energy(self, w: Float[JaxArray, " d"]) -> Float[JaxArray, ""]:
        """``1/2 w^T A(w) w = 1/2 C_alpha[h(w^T x)]`` (``q^2`` times it for the monomial)."""
        return 0.5 * w @ self(w) @ w


def _unit_rows(name: str, w: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(w, axis=-1)
    bad = np.abs(norms - 1.0) > UNIT_NORM_RTOL
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must hold unit vectors (||w|| = 1, the per-filter normalisation of 001 Eq 5); "
                         f"got ||{name}[{', '.join(map(str, index))}]|| = {norms[index]:.9g}")
    return w / norms[..., None]


def contrastive_operator(
    x: Any,
    x_aug: Any = None,
    *,
    alpha: Any = "uniform",
    tau: float = 1.0,
    probs: Any = None,
    activation: Any = "relu",
    gate: Callable | None = None,
    alpha_source: str = "data",
) -> ContrastiveOperator:
    """The operator ``w -> A(w) = C_alpha[x~^w]`` of 001 Lemma 3 for data ``x`` ``[N, d]`` (validated).

    Args:
        x: first views ``[N, d]`` (``N >= 2``), or the atoms of a population (with ``probs``).
        x_aug: second views ``[N, d]``; ``None``: no augmentation.
        alpha: ``"uniform"``, ``"gaussian"``, ``"infonce"`` (computed from ``x``, fixed: the
            stop-gradient of Eq 2) or an explicit non-negative ``[N, N]`` array.
        tau: temperature ``> 0`` of a named ``alpha``.
        probs: population weights ``[N]`` of the rows (summing to 1), see
            :func:`~ssl_odes.contrastive.contrastive_weights`.
        activation: an :class:`Activation` or one of ``"linear"``, ``"relu"``, ``"leaky_relu"``,
            ``"monomial"``.
        gate: the gated-input map ``(x, w, act) -> x~`` (default ``x h'(w^T x)``).
        alpha_source: ``"data"`` (default: a named ``alpha`` from the distances of the raw
            samples ``x``, fixed) or ``"output"`` (recomputed at every ``w`` from the filter's
            output ``h(w^T x)``, as in Cor 2 and InfoNCE; ``alpha`` "gaussian" or "infonce").

    >>> import numpy as np
    >>> op = contrastive_operator(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), activation="relu")
    >>> np.asarray(op(np.array([1.0, 0.0]))).round(4).tolist()  # only the first sample is active
    [[0.2222, 0.0], [0.0, 0.0]]
    """
    x = _samples("x", x)
    if x_aug is not None:
        x_aug = _samples("x_aug", x_aug, x.shape[0])
        if x_aug.shape != x.shape:
            raise ValueError(f"x_aug must have the shape of x {x.shape}; got {x_aug.shape}")
    act = _activation(activation)
    source = validate("alpha_source", alpha_source, Choice(ALPHA_SOURCES))
    output_alpha = _output_alpha(alpha, source)
    weights = contrastive_weights(x, "uniform" if output_alpha else alpha, tau=tau, probs=probs)
    return ContrastiveOperator(x=_to_jnp(x), x_aug=None if x_aug is None else _to_jnp(x_aug), weights=weights,
                               activation=act, gate=gated_input if gate is None else gate,
                               tau=_to_jnp(validate("tau", tau, _TAU_SCALAR)) if output_alpha else None,
                               output_alpha=output_alpha, population=probs is not None)


def _output_alpha(alpha: Any, source: str) -> str | None:
    """The kind of ``alpha`` recomputed from the output, or None (``alpha`` fixed from the data)."""
    if source == "data" or (isinstance(alpha, str) and alpha == "uniform"):
        return None
    if not isinstance(alpha, str):
        raise ValueError("alpha_source='output' recomputes a named alpha ('gaussian' or 'infonce') from h(w^T x); "
                         "got an explicit alpha array")
    return alpha


def _projected(op: ContrastiveOperator, w: jax.Array) -> jax.Array:
    Aw = op(w) @ w
    return Aw - (w @ Aw) * w


def one_layer_vector_field(t, W: Float[JaxArray, "K d"], op: ContrastiveOperator) -> Float[JaxArray, "K d"]:
    """Eq 7 for ``K`` filters (rows of ``W``): ``dw_k/dt = (I - w_k w_k^T) A(w_k) w_k``."""
    return jax.vmap(lambda w: _projected(op, w))(W)


def one_layer_energy(W: Float[JaxArray, "K d"], op: ContrastiveOperator) -> Float[JaxArray, ""]:
    """``E = 1/2 sum_k w_k^T A(w_k) w_k`` (001 Eq 5 through Eq 6), for the rows of ``W``."""
    return jnp.sum(jax.vmap(op.energy)(W))


def random_unit_vectors(num: int, d: int, seed: int = 0) -> np.ndarray:
    """``num`` independent uniform points on the unit sphere of ``R^d`` (``[num, d]``, float64).

    >>> np.linalg.norm(random_unit_vectors(3, 4, seed=1), axis=1).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    num = validate("num", num, Integer(1))
    d = validate("d", d, Integer(1))
    g = np.random.default_rng(validate("seed", seed, Integer(0))).normal(size=(num, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------


def _w0_check(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.ndim < 2:
        raise ValueError(f"{name} must be [*batch, K, d] (K filters of dimension d per run); got shape {arr.shape}")
    return _unit_rows(name, arr)


def _settings_activation(settings) -> Activation:
    name = settings["activation"]
    return Activation(name, slope=settings["slope"] if name == "leaky_relu" else None,
                      q=settings["q"] if name == "monomial" else 2)


def _check(v: Values):
    for name, what in (("x", "an [N, d] data matrix"), ("w0", "a [*batch, K, d] array of unit filters")):
        if v.settings[name] is None:
            raise TypeError(f"{name} is required: {what}; got {name}=None")
    for name in ("activation", "alpha", "alpha_source", "slope", "q"):
        if v.settings[name] is None:
            raise TypeError(f"{name} must be given (None is not a value here); got {name}=None")
    x, w0 = v.settings["x"], v.settings["w0"]
    n, d = x.shape
    if n < 2:
        raise ValueError(f"x must hold N >= 2 samples (Eq 3 contrasts pairs); got N={n}")
    if w0.shape[-1] != d:
        raise ValueError(f"w0 must have d={d} columns to match x {x.shape}; got shape {w0.shape}")
    if v.settings["x_aug"] is not None and v.settings["x_aug"].shape != x.shape:
        raise ValueError(f"x_aug must have the shape of x {x.shape}; got {v.settings['x_aug'].shape}")
    if v.settings["probs"] is not None:
        _probabilities(v.settings["probs"], n)
    alpha = v.settings["alpha"]
    _output_alpha(alpha, v.settings["alpha_source"])
    if not isinstance(alpha, str) and alpha.shape != (n, n):
        raise ValueError(f"alpha must be an [N, N] array with N={n} (the number of samples); got shape {alpha.shape}")
    starts = w0.shape[:-2]
    if v.given.get("tau") is None:
        return {"tau": np.ones(starts)}
    if np.broadcast_shapes(starts, v.batch_shape) != tuple(v.batch_shape):
        raise ValueError(f"w0's batch axes {starts} must broadcast into tau's shape {tuple(v.batch_shape)} "
                         "(simulate_one_layer broadcasts them for you)")
    return None


def _initial_state(v: Values):
    w0 = v.settings["w0"]
    return np.broadcast_to(w0, tuple(v.batch_shape) + w0.shape[-2:])


def _args(v: Values) -> ContrastiveOperator:
    s = v.settings
    x = np.asarray(s["x"])
    n = x.shape[0]
    alpha, probs = s["alpha"], s["probs"]
    pi = None if probs is None else _probabilities(probs, n)
    batch = tuple(v.batch_shape)
    output_alpha = _output_alpha(alpha, s["alpha_source"])
    if output_alpha is not None:
        tau = v["tau"] if is_traced(v["tau"]) else jnp.asarray(v["tau"])
        weights = ContrastiveWeights(alpha=None, pi=v.batch(np.full(n, 1.0 / n) if pi is None else pi))
        x_aug = s["x_aug"]
        return ContrastiveOperator(x=v.batch(x), x_aug=None if x_aug is None else v.batch(x_aug), weights=weights,
                                   activation=_settings_activation(s), tau=tau, output_alpha=output_alpha,
                                   population=pi is not None)
    if isinstance(alpha, str) and alpha == "uniform":
        weights = ContrastiveWeights(alpha=None, pi=v.batch(np.full(n, 1.0 / n) if pi is None else pi))
    else:
        tau = v["tau"] if is_traced(v["tau"]) else jnp.asarray(v["tau"])
        kind = alpha if isinstance(alpha, str) else jnp.asarray(alpha)
        dist2 = _squared_distances(jnp.asarray(x)) if isinstance(alpha, str) else None
        if pi is not None:
            matrix = population_alpha(kind, jnp.zeros((n, n)) if dist2 is None else dist2, tau, jnp.asarray(pi))
        elif dist2 is not None:
            matrix = named_alpha(alpha, dist2, tau)
        else:
            matrix = kind
        weights = ContrastiveWeights(alpha=jnp.broadcast_to(matrix, batch + (n, n)), pi=None)
    x_aug = s["x_aug"]
    return ContrastiveOperator(x=v.batch(x), x_aug=None if x_aug is None else v.batch(x_aug), weights=weights,
                               activation=_settings_activation(s))


def _field(settings):
    return one_layer_vector_field


def _save_fn(t, W, op):
    return {"w": W, "energy": one_layer_energy(W, op)}


def _record(v: Values):
    alpha = v.settings["alpha"]
    return ("tau",) if isinstance(alpha, str) and alpha in ("gaussian", "infonce") else ()


def _extra(v: Values):
    x = v.settings["x"]
    w0 = v.settings["w0"]
    alpha = v.settings["alpha"]
    return {"N": int(x.shape[0]), "d": int(x.shape[1]), "K": int(w0.shape[-2]),
            "alpha": alpha if isinstance(alpha, str) else "explicit",
            "augmented": v.settings["x_aug"] is not None, "population": v.settings["probs"] is not None}


_EXAMPLE_X = np.array([[1.0, 0.2], [-0.5, 1.0], [0.3, -1.0], [-1.0, -0.4], [0.8, 0.9]])
_EXAMPLE_W0 = np.array([[0.6, 0.8]])  # one start of K = 1 filter; the batch is the three temperatures

CONTRASTIVE_ONE_LAYER = register(System(
    name="contrastive_one_layer",
    paper="001 Lemma 3, Eq 7",
    summary="K unit-norm filters of a one-layer network under contrastive learning: dw/dt = (I - w w^T) A(w) w",
    parameters=(
        Parameter("x", Array(ndim=2, doc="a finite real [N, d] data matrix (first views, N >= 2)"), REQUIRED,
                  "samples x[i], one row each (or the atoms of a population with probs)"),
        Parameter("w0", Array(doc="a finite real [*batch, K, d] array of unit rows", check_fn=_w0_check), REQUIRED,
                  "initial filters w_k(0), unit norm; leading axes are a batch of initialisations"),
        Parameter("x_aug", Array(ndim=2, doc="a finite real [N, d] array (second views)"), None,
                  "second views x[i'] (None: no augmentation)"),
        Parameter("alpha", AlphaDomain(), "uniform",
                  "pairwise importance: 'uniform' (quadratic loss), 'gaussian' (Lemma 1), 'infonce', or [N, N]"),
        Parameter("tau", Interval(0.0, math.inf, lower_closed=False), None,
                  "temperature of the Gaussian / InfoNCE alpha (batched; unused by other alphas)"),
        Parameter("probs", Array(ndim=1, doc="a 1-D array of probabilities (>= 0, summing to 1)"), None,
                  "population weights of the rows of x (None: an empirical sample)"),
        Parameter("alpha_source", Choice(ALPHA_SOURCES), "data",
                  "named alpha from the raw samples (fixed) or from the filter's output h(w^T x) (Cor 2, InfoNCE)"),
        Parameter("activation", Choice(ACTIVATIONS), "relu", "homogeneous activation h (Assumption 1)"),
        Parameter("slope", Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True), DEFAULT_LEAKY_SLOPE,
                  "LeakyReLU's negative slope (used by activation='leaky_relu')"),
        Parameter("q", Integer(1), 2, "power of the monomial activation x^q (used by activation='monomial')"),
    ),
    initial_state=_initial_state,
    args=_args,
    field=_field,
    save=lambda settings: _save_fn,
    check=_check,
    record=_record,
    extra_settings=_extra,
    t1=20.0,
    num_points=201,
    example={"x": _EXAMPLE_X, "w0": _EXAMPLE_W0, "alpha": "gaussian", "tau": [0.5, 1.0, 2.0], "t1": 2.0,
             "num_points": 5},
))


def simulate_one_layer(
    x: Any,
    w0: Any,
    *,
    x_aug: Any = None,
    alpha: Any = "uniform",
    tau: Any = None,
    probs: Any = None,
    activation: Any = "relu",
    alpha_source: str = "data",
    **run: Any,
):
    r"""Integrate 001 Eq 7, ``dw_k/dt = (I - w_k w_k^T) A(w_k) w_k``, for a batch of initialisations.

    ``A(w) = C_alpha[x~^w]`` with ``x~^w = x h'(w^T x)`` (Lemma 3); ``alpha`` is computed once
    from the raw data ``x`` and held fixed (the stop-gradient of Eq 2). The ``K`` filters evolve
    independently (Eq 5 decouples them); ``||w_k|| = 1`` is conserved and the energy
    ``E = 1/2 sum_k w_k^T A(w_k) w_k`` is non-decreasing. Fixed points are the critical points of
    Eq 7, among them the locally maximal eigenvectors (Def 3) that :func:`find_lmes` lists.

    Args:
        x: data ``[N, d]`` (first views), or population atoms with ``probs``.
        w0: initial filters ``[*batch, K, d]`` with unit rows (``[K, d]``: one run). Random starts:
            ``random_unit_vectors(B, d)[:, None, :]``.
        x_aug: second views ``[N, d]`` (None: no augmentation).
        alpha: ``"uniform"`` (default), ``"gaussian"``, ``"infonce"`` or an ``[N, N]`` array.
        tau: temperature(s) ``> 0`` of a named ``alpha``; an array broadcasts with ``w0``'s batch
            axes (a sweep over temperatures). Default 1.
        probs: population weights ``[N]`` of the rows of ``x``.
        alpha_source: ``"data"`` (named ``alpha`` fixed from the raw ``x``) or ``"output"``
            (recomputed from each filter's output ``h(w_k^T x)`` along the flow: Eq 2 with
            ``sg(alpha(theta_t))``, as in Cor 2 / InfoNCE).
        activation: an :class:`Activation` or a name (``"relu"``, ``"linear"``, ``"leaky_relu"``,
            ``"monomial"``).
        **run: ``t1`` (default 20), ``num_points`` (201), ``ts``, ``dtype``, ``rtol``, ``atol``,
            ``max_steps``, ``solver``, ``options`` as for :func:`ssl_odes.simulate`.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``w`` ``[*batch, time, K, d]``, ``energy``
        ``[*batch, time]`` and ``status`` ``[*batch]``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 0.2], [-0.5, 1.0], [0.3, -1.0], [-1.0, -0.4]])
        >>> res = simulate_one_layer(x, [[[1.0, 0.0]], [[0.0, 1.0]]], t1=5.0, num_points=3)
        >>> res.w.shape, res.energy.shape, res.status_counts()
        ((2, 3, 1, 2), (2, 3), {'ok': 2})
        >>> bool(np.allclose(np.linalg.norm(res.w, axis=-1), 1.0, atol=1e-6))
        True
    """
    act = _activation(activation)
    w0 = validate("w0", w0, CONTRASTIVE_ONE_LAYER.parameter("w0").domain)
    if tau is not None and not is_traced(tau):
        tau = validate("tau", tau, CONTRASTIVE_ONE_LAYER.parameter("tau").domain)
        tau = np.broadcast_to(tau, np.broadcast_shapes(np.shape(tau), w0.shape[:-2]))
    return simulate(CONTRASTIVE_ONE_LAYER, x=x, w0=w0, x_aug=x_aug, alpha=alpha, tau=tau, probs=probs,
                    alpha_source=alpha_source, activation=act.name, slope=act.slope if act.name == "leaky_relu" else DEFAULT_LEAKY_SLOPE,
                    q=act.q, **run)


simulate_one_layer.system = CONTRASTIVE_ONE_LAYER
