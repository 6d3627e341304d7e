r"""The Theorem 5 two-layer flow (000 App. A.2, Eq 16; proof in App. D, Eq 50).

A two-layer network with ``n1`` hidden ReLU units ``w1_j`` (rows of ``W_1``, in ``R^d``) and one
linear output ``f = sum_j w2_j psi(w1_j^T x)``, trained by the SimCLR covariance operator (Thm 3)
on data ``x(z0, z')``. With ``u_j(z0) = E_{z'|z0}[x 1(w1_j^T x >= 0)]`` and
``A_j = V_z0[u_j(z0)]``, and uncorrelated units (``Cov_z0[u_j, u_k] = 0``, the theorem's
assumption), the gradient flow is (Eq 16, with the rate ``beta`` of Eq 3; ``beta = 1`` is Eq 16
verbatim):

.. math::

    \dot w_{2,j} = \beta\, w_{2,j}\, (w_{1,j}^T A_j w_{1,j}),\qquad
    \dot w_{1,j} = \beta\, w_{2,j}^2\, A_j w_{1,j}.

Facts: ``w2_j^2 - ||w1_j||^2`` is conserved (:func:`two_layer_invariant`); ``A_j`` is PSD so
``|w2_j|`` never decreases (``w2_j`` keeps its sign and grows in magnitude); the top layer
accelerates the bottom one ("top-down modulation"). Because the rates grow with the weights,
the flow blows up in finite time (``d|w1|/dt ~ |w1|^3`` along the top eigenvector): runs end
with status ``BLOWUP`` once ``max|y| > bound``, and what matters is the *direction* of ``w1_j``
(:func:`final_directions`).

**The generative model** is a mixture of isotropic Gaussians, ``z0 = k`` with probability
``probs[k]`` and ``x ~ N(w_k^*, sigma^2 I)`` (``z'`` is the Gaussian noise that augmentation
resamples). For ReLU units ``A_j`` moves with ``w1_j`` and is recomputed at every evaluation of
the field, in closed form: with ``hat w = w/||w||`` and ``m_k = hat w^T w_k^* / sigma``,

.. math:: u_j(k) = w_k^* \Phi(m_k) + \sigma\, \phi(m_k)\, \hat w

(``Phi``, ``phi``: the standard normal c.d.f. and density). For linear units the gate is always
1, ``u_j(k) = w_k^*`` and ``A = V_z0[w^*_{z0}]`` is constant (``A = Delta Delta^T / 4`` for two
equally likely centres, ``Delta = w_1^* - w_2^*``: units converge to ``+/- Delta``); a constant
PSD ``A`` may also be given directly.

The two-Gaussian facts of App. A.2: linear units converge to the direction ``+/-(w_1^* -
w_2^*)``; with ReLU units and one centre at the origin (background), a unit converges to the
direction of a non-zero centre ``w_k^*``, and which one depends on its initialisation.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core import POSITIVE, Array, Flag, Matrix, Parameter, System, Values, register, simulate
from .._core.matrices import check_psd
from .._core.params import validate
from .._core.trajectory import Trajectory

__all__ = [
    "DUAL_TWO_LAYER",
    "mixture_u",
    "two_layer_A",
    "two_layer_vector_field",
    "two_layer_invariant",
    "simulate_two_layer",
    "final_directions",
]


# --------------------------------------------------------------------------------------------
# A_j from the Gaussian mixture (traceable)
# --------------------------------------------------------------------------------------------


def _u(w: jax.Array, centres: jax.Array, sigma: jax.Array) -> jax.Array:
    """``u(z0 = k) = E[x 1(w^T x >= 0) | z0 = k]`` for ``x ~ N(w_k^*, sigma^2 I)``: ``[K, d]``."""
    norm = jnp.sqrt(jnp.sum(w * w) + jnp.finfo(w.dtype).tiny)  # w = 0: hat w = 0, a finite field
    w_hat = w / norm
    m = centres @ w_hat / sigma
    return centres * jax.scipy.stats.norm.cdf(m)[:, None] + sigma * jax.scipy.stats.norm.pdf(m)[:, None] * w_hat[None, :]


def _variance(u: jax.Array, probs: jax.Array) -> jax.Array:
    """``V_z0[u(z0)] = sum_k p_k u_k u_k^T - ubar ubar^T``: ``[d, d]``."""
    mean = probs @ u
    return (u * probs[:, None]).T @ u - jnp.outer(mean, mean)


def _relu_A(w1: jax.Array, centres, probs, sigma) -> jax.Array:
    return jax.vmap(lambda w: _variance(_u(w, centres, sigma), probs))(w1)


def _rates(w1, w2, aw1, beta):
    return {"w1": beta * (w2 * w2)[:, None] * aw1, "w2": beta * w2 * jnp.sum(w1 * aw1, axis=-1)}


def two_layer_vector_field(t, y, args):
    """Eq 16 for ReLU units, ``A_j`` recomputed from the mixture; ``y = {"w1": [n1, d], "w2": [n1]}``.

    ``args``: ``beta``, ``sigma`` (scalars), ``centres`` ``[K, d]``, ``probs`` ``[K]``.
    """
    a = _relu_A(y["w1"], args["centres"], args["probs"], args["sigma"])
    return _rates(y["w1"], y["w2"], jnp.einsum("jab,jb->ja", a, y["w1"]), args["beta"])


def _linear_vector_field(t, y, args):
    """Eq 16 with a constant ``A`` (linear units): ``args = {"beta", "A" [d, d]}``."""
    return _rates(y["w1"], y["w2"], y["w1"] @ args["A"].T, args["beta"])


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_mixture(centres: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    centres = validate("centres", centres, Matrix("a finite real matrix [K, d] of Gaussian centres w_k^*"))
    k = centres.shape[0]
    if probs is None:
        return centres, np.full(k, 1.0 / k)
    probs = validate("probs", probs, Array(ndim=1, doc="mixture probabilities p(z0 = k), >= 0, summing to 1"))
    if probs.shape != (k,) or np.any(probs < 0) or abs(probs.sum() - 1.0) > 1e-9:
        raise ValueError(f"probs must be {k} probabilities (one per centre) >= 0 summing to 1; got probs={probs.tolist()!r}")
    return centres, probs


def mixture_u(w1: Any, centres: Any, *, sigma: Any = 1.0, relu: bool = True) -> jax.Array:
    r"""``u_j(z0 = k) = E_{z'|z0}[x 1(w1_j^T x >= 0)]`` on the Gaussian mixture: ``[..., n1, K, d]``.

    ReLU: ``w_k^* Phi(m_k) + sigma phi(m_k) hat w1_j`` with ``m_k = hat w1_j^T w_k^* / sigma``; linear:
    ``w_k^*``.

    Example:
        >>> u = mixture_u([[1.0, 0.0]], [[0.0, 0.0], [3.0, 0.0]], sigma=1.0)
        >>> np.round(np.asarray(u[0]), 4).tolist()   # the origin: sigma phi(0) hat w
        [[0.3989, 0.0], [3.0004, 0.0]]
    """
    w1 = validate("w1", w1, Array(doc="weights [..., n1, d]"))
    centres = validate("centres", centres, Matrix("a finite real matrix [K, d] of Gaussian centres w_k^*"))
    sigma = validate("sigma", sigma, POSITIVE)
    relu = validate("relu", relu, Flag())
    if w1.ndim < 1 or w1.shape[-1] != centres.shape[1]:
        raise ValueError(f"w1 must have last axis d = {centres.shape[1]} (the centres' dimension); got shape {w1.shape}")
    flat = jnp.asarray(w1.reshape(-1, w1.shape[-1]))
    if relu:
        u = jax.vmap(lambda w: _u(w, jnp.asarray(centres), jnp.asarray(sigma)))(flat)
    else:
        u = jnp.broadcast_to(jnp.asarray(centres), (flat.shape[0],) + centres.shape)
    return u.reshape(w1.shape[:-1] + centres.shape)


def two_layer_A(w1: Any, centres: Any, *, probs: Any = None, sigma: Any = 1.0, relu: bool = True) -> jax.Array:
    r"""``A_j = V_z0[u_j(z0)]`` of Eq 16 on the Gaussian mixture, ``[..., n1, d, d]`` (PSD).

    Example:
        >>> A = two_layer_A([[1.0, 0.0]], [[1.0, 0.0], [-1.0, 0.0]], relu=False)
        >>> np.asarray(A[0]).tolist()     # Delta Delta^T / 4 with Delta = (2, 0)
        [[1.0, 0.0], [0.0, 0.0]]
    """
    centres, probs = _check_mixture(centres, probs)
    u = mixture_u(w1, centres, sigma=sigma, relu=relu)
    flat = u.reshape((-1,) + u.shape[-2:])
    a = jax.vmap(lambda v: _variance(v, jnp.asarray(probs)))(flat)
    return a.reshape(u.shape[:-2] + a.shape[-2:])


def two_layer_invariant(w1: Any, w2: Any) -> jax.Array:
    """The conserved quantity of Eq 16: ``w2_j^2 - ||w1_j||^2`` (App. A.2), shape of ``w2``.

    >>> two_layer_invariant([[3.0, 4.0]], [6.0]).tolist()
    [11.0]
    """
    w1 = jnp.asarray(w1)
    w2 = jnp.asarray(w2)
    return w2 * w2 - jnp.sum(w1 * w1, axis=-1)


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------


def _weights_check(name: str, ndim_state: int):
    def check(n: str, arr: np.ndarray) -> np.ndarray:
        if arr.ndim < ndim_state or 0 in arr.shape:
            raise ValueError(f"{name} must have at least {ndim_state} non-empty axes; got shape {arr.shape}")
        return arr

    return check


def _check(values: Values):
    w1, w2 = values.settings["w1_0"], values.settings["w2_0"]
    if w2.shape[-1] != w1.shape[-2]:
        raise ValueError(f"w2_0 must have n1 = {w1.shape[-2]} entries on its last axis (one per row of w1_0); got shape {w2.shape}")
    for name, lead in (("w1_0", w1.shape[:-2]), ("w2_0", w2.shape[:-1])):
        try:
            ok = np.broadcast_shapes(lead, values.batch_shape) == tuple(values.batch_shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{name}'s batch axes {lead} must broadcast to the batch shape {values.batch_shape} of "
                             "beta and sigma (simulate_two_layer broadcasts them for you)")
    centres, a = values.settings["centres"], values.settings["A"]
    relu = values.settings["relu"]
    if relu and a is not None:
        raise ValueError("A is a constant operator for linear units; with relu=True, A_j comes from the centres")
    if a is None and centres is None:
        raise ValueError("give centres (the Gaussian mixture) or, for linear units, a constant PSD A")
    if a is not None and centres is not None:
        raise ValueError("give either centres or A, not both")
    d = w1.shape[-1]
    if a is not None and a.shape != (d, d):
        raise ValueError(f"A must be a ({d}, {d}) matrix to act on w1_0 rows of length {d}; got shape {a.shape}")
    if centres is not None:
        if centres.shape[1] != d:
            raise ValueError(f"centres must have d = {d} columns (the length of the rows of w1_0); got shape {centres.shape}")
        _check_mixture(centres, values.settings["probs"])
    elif values.settings["probs"] is not None:
        raise ValueError("probs weighs the centres; it has no meaning with a constant A")
    return None


def _initial_state(values: Values):
    shape = tuple(values.batch_shape)
    w1, w2 = values.settings["w1_0"], values.settings["w2_0"]
    return {"w1": jnp.broadcast_to(w1, shape + w1.shape[-2:]), "w2": jnp.broadcast_to(w2, shape + w2.shape[-1:])}


def _args(values: Values):
    args = {"beta": values["beta"]}
    a = values.settings["A"]
    if a is None and not values.settings["relu"]:  # linear units: the gate is 1, u_j(k) = w_k^*
        centres, probs = _check_mixture(values.settings["centres"], values.settings["probs"])
        a = np.asarray(_variance(jnp.asarray(centres), jnp.asarray(probs)))
    if a is not None:
        args["A"] = values.batch(a)
        return args
    centres, probs = _check_mixture(values.settings["centres"], values.settings["probs"])
    args.update(sigma=values["sigma"], centres=values.batch(centres), probs=values.batch(probs))
    return args


def _field(settings):
    return two_layer_vector_field if settings["A"] is None and settings["relu"] else _linear_vector_field


#: The declaration of 000 Eq 16 (Theorem 5).
DUAL_TWO_LAYER = register(System(
    name="dual_two_layer",
    paper="000 Thm 5, Eq 16 (App. A.2)",
    summary="two-layer ReLU/linear network under the SimCLR covariance operator: w2_j, w1_j with A_j = V_z0[u_j]",
    parameters=(
        Parameter("w1_0", Array(doc="initial first-layer weights w1_j(0), [..., n1, d]", check_fn=_weights_check("w1_0", 2)),
                  doc="initial hidden weights w1_j(0), one row per unit (leading axes: a batch of initialisations)"),
        Parameter("w2_0", Array(doc="initial output weights w2_j(0), [..., n1]", check_fn=_weights_check("w2_0", 1)),
                  doc="initial output weights w2_j(0)"),
        Parameter("centres", Matrix("a finite real matrix [K, d] of Gaussian centres w_k^*"), None,
                  "centres w_k^* of the Gaussian mixture generating x (z0 = k)"),
        Parameter("probs", Array(ndim=1, doc="mixture probabilities p(z0 = k) summing to 1"), None,
                  "p(z0 = k) (default uniform)"),
        Parameter("A", Matrix("a symmetric PSD matrix [d, d]", check_fn=check_psd), None,
                  "a constant PSD A_j for linear units, instead of the mixture"),
        Parameter("sigma", POSITIVE, 1.0, "standard deviation of each Gaussian (the nuisance z')"),
        Parameter("beta", POSITIVE, 1.0, "rate of the covariance-operator flow (beta of Eq 3)"),
        Parameter("relu", Flag(), True, "ReLU hidden units (A_j moves with w1_j); False: linear, A constant"),
    ),
    initial_state=_initial_state,
    args=_args,
    field=_field,
    check=_check,
    t1=10.0,
    num_points=101,
    example={"w1_0": [[0.3, 0.1], [-0.2, 0.4]], "w2_0": [0.5, 0.4], "centres": [[0.0, 0.0], [1.0, 0.2], [-0.3, 1.0]],
             "beta": [1.0, 0.5], "t1": 2.0, "num_points": 5},
))


def simulate_two_layer(
    w1_0: Any,
    w2_0: Any,
    centres: Any = None,
    *,
    probs: Any = None,
    sigma: Any = 1.0,
    beta: Any = 1.0,
    relu: bool = True,
    A: Any = None,  # noqa: N803 - the paper's name
    **run: Any,
) -> Trajectory:
    r"""Integrate the Theorem 5 two-layer flow (000 Eq 16) for a batch of initialisations.

    .. math::

        \dot w_{2,j} = \beta\, w_{2,j}\, w_{1,j}^T A_j w_{1,j},\quad
        \dot w_{1,j} = \beta\, w_{2,j}^2 A_j w_{1,j},\quad A_j = \mathbb{V}_{z_0}[u_j(z_0)].

    A thin wrapper of ``ssl_odes.simulate(DUAL_TWO_LAYER, ...)``. The leading axes of ``w1_0``
    (``[..., n1, d]``) and ``w2_0`` (``[..., n1]``) are a batch of initialisations; they broadcast
    with ``sigma`` and ``beta`` (NumPy rules) into the batch shape.

    Args:
        w1_0: initial hidden weights, ``[..., n1, d]``.
        w2_0: initial output weights, ``[..., n1]``.
        centres: the Gaussian centres ``w_k^*`` ``[K, d]`` of the generative model.
        probs: ``p(z0 = k)``, default uniform.
        sigma: each Gaussian's standard deviation ``> 0`` (matters for ReLU units only).
        beta: the flow's rate ``> 0`` (1 is Eq 16 verbatim).
        relu: ReLU units (``A_j`` recomputed along the flow) or linear (``A`` constant).
        A: a constant PSD ``[d, d]`` operator for linear units, instead of ``centres``.
        **run: ``t1``, ``num_points`` (defaults 10, 101) or ``ts``; ``rtol``, ``atol``,
            ``max_steps``, ``bound`` (the flow blows up in finite time: a run stops with status
            ``BLOWUP`` once ``max|y| > bound``), ``solver``, ``dtype``; see :func:`ssl_odes.simulate`.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``w1`` ``[*batch, time, n1, d]``, ``w2``
        ``[*batch, time, n1]`` and ``status`` ``[*batch]``.

    Example:
        >>> import numpy as np
        >>> res = simulate_two_layer([[0.3, 0.1]], [0.5], centres=[[1.0, 0.0], [-1.0, 0.0]], relu=False,
        ...                          t1=3.0, num_points=4)
        >>> res.w1.shape, res.status_counts()
        ((4, 1, 2), {'ok': 1})
        >>> bool(np.all(np.diff(res.w2[:, 0]) > 0))     # w2 grows
        True
    """
    w1 = validate("w1_0", w1_0, Array(doc="initial first-layer weights [..., n1, d]", check_fn=_weights_check("w1_0", 2)))
    w2 = validate("w2_0", w2_0, Array(doc="initial output weights [..., n1]", check_fn=_weights_check("w2_0", 1)))
    sigma_v = validate("sigma", sigma, POSITIVE)
    beta_v = validate("beta", beta, POSITIVE)
    try:
        batch = np.broadcast_shapes(w1.shape[:-2], w2.shape[:-1], np.shape(sigma_v), np.shape(beta_v))
    except ValueError as err:
        raise ValueError(f"the batch axes of w1_0 {w1.shape[:-2]}, w2_0 {w2.shape[:-1]}, sigma {np.shape(sigma_v)} and "
                         f"beta {np.shape(beta_v)} do not broadcast together") from err
    return simulate(DUAL_TWO_LAYER, w1_0=w1, w2_0=w2, centres=centres, probs=probs, A=A,
                    sigma=np.broadcast_to(sigma_v, batch) if batch else sigma, beta=np.broadcast_to(beta_v, batch),
                    relu=relu, **run)


simulate_two_layer.system = DUAL_TWO_LAYER


def final_directions(result: Trajectory) -> np.ndarray:
    """Unit vectors ``w1_j / ||w1_j||`` at each run's last finite saved time: ``[*batch, n1, d]``.

    The flow blows up in finite time (the run then stops at ``bound``): its direction is the
    meaningful limit.

    Example:
        >>> res = simulate_two_layer([[0.003, 0.001]], [1.0], centres=[[1.0, 0.0], [-1.0, 0.0]], relu=False,
        ...                          t1=20.0, bound=1e4)
        >>> np.round(final_directions(res), 3).tolist()    # +Delta / |Delta|
        [[1.0, 0.0]]
    """
    w1 = np.asarray(result.w1)
    finite = np.all(np.isfinite(w1), axis=(-1, -2))  # [*batch, time]
    last = finite.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
    picked = np.take_along_axis(w1, last[..., None, None, None], axis=-3)[..., 0, :, :]
    return picked / np.linalg.norm(picked, axis=-1, keepdims=True)
