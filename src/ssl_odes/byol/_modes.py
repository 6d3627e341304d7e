r"""Decoupled eigen-mode dynamics of BYOL / SimSiam (002: Tian, Chen, Ganguli 2021, Eqs 11-17).

Under proportional EMA (``W_a = tau W``), isotropic data (``X = I``, ``X' = sigma2 I``) and a
symmetric predictor whose eigenbasis is aligned with that of ``F = W X W^T`` (Theorem 3), every
eigen-mode ``j`` of the linear BYOL flow evolves on its own. With ``p`` the predictor eigenvalue,
``s`` the eigenvalue of ``F`` and ``tau = W_a / W``:

.. math::

    g &= \tau - (1 + \sigma^2) p \\
    \dot p &= \alpha_p s g - \eta p                                   && \text{(Eq 11)} \\
    \dot s &= 2 p s g - 2 \eta s                                      && \text{(Eq 12)} \\
    \dot \tau &= \beta (1 - \tau) - \tau (p g - \eta)                 && \text{(Eq 13)}

Eq 13 is the paper's ``s dtau/dt = beta (1 - tau) s - tau (ds/dt) / 2`` divided by ``s``; with
Eq 12 the division cancels, so the code never divides by ``s``. SimSiam is ``tau == 1`` (no
EMA): a 2-D system. Each mode is exactly scalar BYOL (Eqs 2-4 with ``n1 = n2 = 1``) with
``s = W^2``, ``p = W_p`` and ``tau = W_a / W``.

Singularity: that change of variables breaks where ``W`` crosses zero while ``W_a`` does not;
there ``tau -> infinity`` in finite time (e.g. ``s = 0, p < 0``: ``dtau/dt ~ -p tau^2``). Such
trajectories are reported with status ``BLOWUP`` (with a ``bound``) or ``MAX_STEPS``. The region
``p >= 0, tau >= 0`` is forward-invariant and free of it (there ``-p tau^2`` bounds ``tau``).
In the collapsed regime ``s -> 0`` with ``eta > beta``, ``tau`` grows like ``exp((eta - beta) t)``:
``W`` decays faster than its EMA ``W_a``. This is the flow, not a numerical artefact.

Analytic companions (all NumPy-broadcasting, NaN where a quantity does not exist):

* :func:`invariant` -- the integral of motion ``s - p^2 / alpha_p = exp(-2 eta t) c`` (Eq 14).
  The paper prints ``c_j = p_j(0)^2/alpha_p - s_j(0)``; differentiating Eq 14 shows the sign is
  a typo, and we use ``c = s(0) - p(0)^2 / alpha_p``.
* :func:`fixed_points` -- ``p*_(+/-)`` of the flow on the invariant parabola (Eq 16), and
  :func:`collapse_threshold` ``tau^2 / (4 (1 + sigma2))`` above which only ``p = 0`` remains.
* :func:`tau_closed_form` -- Eq 15 evaluated on a trajectory.
* :func:`delta`, :func:`k_eigenvalue`, :func:`alignment_condition` -- ``Delta_j``, the mode
  eigenvalue of ``K`` (Eq 9) and the Eq 17 condition.
* :func:`classify_mode_fixed_point` / :func:`classify_parabola_fixed_point` -- Jacobian
  stability (``jax.jacfwd``) of fixed points of the phase plane, the full 3-D flow, or Eq 16.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core import NONNEGATIVE, POSITIVE, REAL, REQUIRED, Flag, Parameter, System, Values, register, simulate
from .._core.arguments import EIGENVALUE, TIME_GRID, arguments
from .._core.params import validate
from .._core.stability import FixedPointStability, classify_fixed_point, classify_scalar_fixed_point
from .._core.trajectory import Trajectory

__all__ = [
    "BYOL_MODES",
    "ModeParameters",
    "PhasePlaneParameters",
    "mode_rates",
    "byol_modes_vector_field",
    "phase_plane_vector_field",
    "simulate_byol_modes",
    "invariant",
    "invariant_prediction",
    "collapse_threshold",
    "fixed_points",
    "phase_plane_fixed_points",
    "p_dynamics_on_parabola",
    "tau_closed_form",
    "delta",
    "k_eigenvalue",
    "alignment_condition",
    "classify_mode_fixed_point",
    "classify_parabola_fixed_point",
]

DEFAULT_T1 = 100.0
DEFAULT_NUM_POINTS = 1001


# --------------------------------------------------------------------------------------------
# Vector fields
# --------------------------------------------------------------------------------------------


class ModeParameters(eqx.Module):
    """Arguments of :func:`byol_modes_vector_field` (002 Eqs 11-13)."""

    alpha_p: jax.Array
    beta: jax.Array
    eta: jax.Array
    sigma2: jax.Array


class PhasePlaneParameters(eqx.Module):
    """Arguments of :func:`phase_plane_vector_field`: Eqs 11-12 at a fixed ``tau``."""

    alpha_p: jax.Array
    eta: jax.Array
    sigma2: jax.Array
    tau: jax.Array


def mode_rates(p, s, tau, alpha_p, eta, sigma2):
    """``(dp/dt, ds/dt)`` of one mode (002 Eqs 11-12); broadcasts over array inputs."""
    g = tau - (1.0 + sigma2) * p
    dp = alpha_p * s * g - eta * p
    ds = 2.0 * p * s * g - 2.0 * eta * s
    return dp, ds


def byol_modes_vector_field(t, y, args: ModeParameters):
    """Vector field of the 3-D mode system, state ``y = (p, s, tau)`` on its first axis (Eqs 11-13)."""
    p, s, tau = y[0], y[1], y[2]
    dp, ds = mode_rates(p, s, tau, args.alpha_p, args.eta, args.sigma2)
    g = tau - (1.0 + args.sigma2) * p
    dtau = args.beta * (1.0 - tau) - tau * (p * g - args.eta)
    return jnp.stack([dp, ds, dtau])


def phase_plane_vector_field(t, y, args: PhasePlaneParameters):
    """Vector field of ``(p, s)`` at fixed ``tau`` (Eqs 11-12); SimSiam is ``tau = 1``."""
    dp, ds = mode_rates(y[0], y[1], args.tau, args.alpha_p, args.eta, args.sigma2)
    return jnp.stack([dp, ds])


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


def _check(values: Values):
    simsiam = values.settings["simsiam"]
    tau0 = values.given.get("tau0")
    if simsiam and tau0 is not None and not np.all(np.asarray(tau0) == 1.0):
        raise ValueError(f"tau0 is fixed at 1 when simsiam=True (SimSiam's W_a = W); leave it unset or 1, got tau0={tau0!r}")
    if not simsiam and tau0 is None:
        return {"tau0": 0.0}  # the initial condition of Eq 15
    return None


def _initial_state(values: Values):
    # jnp (not np) so that traced parameters flow through: every simulator is differentiable.
    columns = [values["p0"], values["s0"]] if values["simsiam"] else [values["p0"], values["s0"], values["tau0"]]
    return jnp.stack(columns, axis=-1)


def _args(values: Values):
    if values["simsiam"]:
        return PhasePlaneParameters(alpha_p=values["alpha_p"], eta=values["eta"], sigma2=values["sigma2"],
                                    tau=np.ones(values.batch_shape))
    return ModeParameters(alpha_p=values["alpha_p"], beta=values["beta"], eta=values["eta"], sigma2=values["sigma2"])


def _outputs(ys, values: Values):
    p, s = ys[..., 0], ys[..., 1]
    tau = jnp.where(jnp.isnan(p), jnp.nan, 1.0).astype(p.dtype) if values["simsiam"] else ys[..., 2]
    return {"p": p, "s": s, "tau": tau}


#: The declaration of 002 Eqs 11-13 (and its SimSiam plane, ``simsiam=True``).
BYOL_MODES = register(System(
    name="byol_modes",
    paper="002 Eqs 11-13",
    summary="decoupled eigen-modes (p, s, tau) of linear BYOL / SimSiam with EMA, weight decay, augmentation",
    parameters=(
        Parameter("p0", REAL, REQUIRED, "initial predictor eigenvalue p_j(0)"),
        Parameter("s0", NONNEGATIVE, REQUIRED, "initial eigenvalue s_j(0) of F = W X W^T"),
        Parameter("tau0", REAL, None, "initial W_a / W ratio (default 0, Eq 15; 1 with simsiam)"),
        Parameter("alpha_p", POSITIVE, 1.0, "predictor learning-rate ratio"),
        Parameter("beta", NONNEGATIVE, 0.4, "EMA rate (1 - gamma_ema) / lr (unused with simsiam)"),
        Parameter("eta", NONNEGATIVE, 0.0, "weight decay / lr"),
        Parameter("sigma2", NONNEGATIVE, 0.0, "isotropic augmentation variance"),
        Parameter("simsiam", Flag(), False, "SimSiam: tau == 1, the 2-D (p, s) system"),
    ),
    initial_state=_initial_state,
    args=_args,
    field=lambda settings: phase_plane_vector_field if settings["simsiam"] else byol_modes_vector_field,
    outputs=_outputs,
    check=_check,
    record=lambda v: ("p0", "s0", "alpha_p", "eta", "sigma2") + (() if v["simsiam"] else ("tau0", "beta")),
    flow_name=lambda v: "simsiam_modes" if v["simsiam"] else "byol_modes",
    t1=DEFAULT_T1,
    num_points=DEFAULT_NUM_POINTS,
    example={"p0": [0.1, 0.5, 1.2], "s0": 0.3, "eta": 0.01},
))


def simulate_byol_modes(
    p0: Any,
    s0: Any,
    tau0: Any = None,
    *,
    alpha_p: Any = 1.0,
    beta: Any = 0.4,
    eta: Any = 0.0,
    sigma2: Any = 0.0,
    simsiam: bool = False,
    **run: Any,
) -> Trajectory:
    r"""Integrate the decoupled BYOL / SimSiam mode dynamics (002 Eqs 11-13).

    .. math::

        \dot p = \alpha_p s g - \eta p,\quad
        \dot s = 2 p s g - 2 \eta s,\quad
        \dot \tau = \beta (1 - \tau) - \tau (p g - \eta),\quad
        g = \tau - (1 + \sigma^2) p.

    A thin wrapper of ``ssl_odes.simulate(BYOL_MODES, ...)``. Every numeric argument may be an
    array; they broadcast together with NumPy rules and the result has that batch shape. Time is
    gradient-flow time ``t = lr * step``.

    Args:
        p0: initial predictor eigenvalue(s) ``p_j(0)`` (any real).
        s0: initial eigenvalue(s) ``s_j(0) >= 0`` of ``F = W X W^T``.
        tau0: initial ``W_a / W`` ratio. Default 0 (the initial condition of Eq 15). With
            ``simsiam=True`` it is 1 (SimSiam's ``W_a = W``): leave it unset or pass 1.
        alpha_p: predictor learning-rate ratio, ``> 0``.
        beta: EMA rate ``(1 - gamma_ema) / lr >= 0``. Default 0.4 (gamma_ema = 0.996 at
            lr = 0.01, 002 Fig 5). Validated but not recorded with ``simsiam=True``.
        eta: weight decay ``/ lr``, ``>= 0``.
        sigma2: isotropic augmentation variance, ``>= 0``.
        simsiam: integrate the 2-D SimSiam system (``tau`` fixed at 1) instead of BYOL.
        **run: how to run it, as for :func:`ssl_odes.simulate`: ``t1``, ``num_points``
            (defaults 100 and 1001) or ``ts``; ``options=SolveOptions(...)`` or its shortcuts
            ``rtol``, ``atol`` (default 1e-8/1e-10 in float64, 1e-5/1e-7 in float32),
            ``max_steps``, ``bound``, ``solver``, ``schedule``; ``dtype``.

    Solvers: ``"tsit5"`` (default), ``"dopri5"``, ``"dopri8"`` or any diffrax solver. For final
    states (``num_points=2``, sweeps) prefer ``"dopri8"``: on this 3-D flow it is as fast as
    Tsit5 at rtol 1e-6 and faster at tighter tolerances, with a 24-34x smaller global error
    (benchmark M1). Its values *between* steps come from a lower-order interpolant, so on a dense
    output grid Tsit5 is more accurate; hence the default.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``t`` ``[time]``; ``p``, ``s``, ``tau``
        ``[*batch, time]``; ``status`` ``[*batch]``; the parameters; ``dtype``;
        ``.to_xarray()``.

    Differentiable: the numeric parameters and initial conditions may be traced by ``jax.grad``
    / ``jax.jacrev`` (value checks then apply to the concrete call only), e.g.
    ``jax.grad(lambda eta: simulate_byol_modes(0.5, 0.25, eta=eta, t1=50.0).final("p"))(0.01)``.

    Example:
        >>> import numpy as np, ssl_odes
        >>> res = ssl_odes.simulate_byol_modes(p0=[0.1, 0.3], s0=0.5, eta=[[0.0], [0.01]], simsiam=True, t1=50.0)
        >>> res.p.shape, res.status.shape
        ((2, 2, 1001), (2, 2))
        >>> bool(np.allclose(res.final("p")[0], 1.0, atol=1e-3))  # eta = 0: p -> tau / (1 + sigma2)
        True
    """
    return simulate(BYOL_MODES, p0=p0, s0=s0, tau0=tau0, alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2,
                    simsiam=simsiam, **run)


simulate_byol_modes.system = BYOL_MODES


# --------------------------------------------------------------------------------------------
# Analytic companions
# --------------------------------------------------------------------------------------------


def invariant(p: Any, s: Any, alpha_p: Any = 1.0) -> jax.Array:
    """Left side of the integral of motion (002 Eq 14): ``s - p^2 / alpha_p``.

    Along any solution of Eqs 11-12 (any ``tau(t)``), ``d/dt (s - p^2/alpha_p) = -2 eta
    (s - p^2/alpha_p)``, so it equals ``exp(-2 eta t) c`` with ``c = s(0) - p(0)^2 / alpha_p``
    (the paper's printed ``c_j`` has the opposite sign, a typo). ``p`` real, ``s >= 0`` (an
    eigenvalue of the PSD ``F``; see :data:`ssl_odes._core.arguments.EIGENVALUE`), ``alpha_p > 0``; they broadcast.

    >>> float(invariant(p=1.0, s=3.0, alpha_p=2.0))
    2.5
    """
    a = arguments(p=(p, REAL), s=(s, EIGENVALUE), alpha_p=(alpha_p, POSITIVE))
    return a["s"] - a["p"] ** 2 / a["alpha_p"]


def invariant_prediction(t: Any, p0: Any, s0: Any, alpha_p: Any = 1.0, eta: Any = 0.0) -> jax.Array:
    """Right side of Eq 14: ``exp(-2 eta t) (s0 - p0^2 / alpha_p)``, for times ``t >= 0``.

    >>> float(invariant_prediction(0.0, p0=1.0, s0=3.0, alpha_p=2.0, eta=0.5))
    2.5
    """
    a = arguments(t=(t, NONNEGATIVE), p0=(p0, REAL), s0=(s0, NONNEGATIVE), alpha_p=(alpha_p, POSITIVE),
                  eta=(eta, NONNEGATIVE))
    return jnp.exp(-2.0 * a["eta"] * a["t"]) * (a["s0"] - a["p0"] ** 2 / a["alpha_p"])


def collapse_threshold(tau: Any = 1.0, sigma2: Any = 0.0) -> jax.Array:
    """Weight decay above which every mode collapses: ``eta_c = tau^2 / (4 (1 + sigma2))`` (002 Sec 4).

    >>> float(collapse_threshold(tau=1.0, sigma2=0.0))
    0.25
    """
    a = arguments(tau=(tau, REAL), sigma2=(sigma2, NONNEGATIVE))
    return a["tau"] ** 2 / (4.0 * (1.0 + a["sigma2"]))


def fixed_points(tau: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0) -> tuple[jax.Array, jax.Array]:
    r"""Non-zero fixed points ``(p*_-, p*_+)`` of the flow on the invariant parabola (002 Eq 16).

    .. math:: p^*_\pm = \frac{\tau \pm \sqrt{\tau^2 - 4 \eta (1 + \sigma^2)}}{2 (1 + \sigma^2)}

    They exist for ``eta <= tau^2 / (4 (1 + sigma2))`` and are NaN where they do not exist (above
    that threshold). For ``tau > 0`` and ``0 < eta`` below threshold, ``p*_-`` is unstable (the
    collapse basin is ``p < p*_-``) and ``p*_+`` stable. ``p*_-`` decreases with ``tau`` and
    increases with ``eta``. Also, ``p = 0`` is always a fixed point.

    >>> p_minus, p_plus = fixed_points(tau=1.0, eta=0.0, sigma2=1.0)
    >>> float(p_minus), float(p_plus)
    (0.0, 0.5)
    """
    a = arguments(tau=(tau, REAL), eta=(eta, NONNEGATIVE), sigma2=(sigma2, NONNEGATIVE))
    tau, eta, sigma2 = a["tau"], a["eta"], a["sigma2"]
    disc = tau**2 - 4.0 * eta * (1.0 + sigma2)
    root = jnp.sqrt(jnp.where(disc >= 0, disc, jnp.nan))
    return (tau - root) / (2.0 * (1.0 + sigma2)), (tau + root) / (2.0 * (1.0 + sigma2))


def phase_plane_fixed_points(
    tau: Any = 1.0, alpha_p: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0
) -> dict[str, tuple[jax.Array, jax.Array]]:
    """Fixed points ``(p, s)`` of Eqs 11-12 at fixed ``tau`` for ``eta > 0``.

    Returns ``{"collapsed": (0, 0), "p_minus": (p*_-, p*_-^2/alpha_p), "p_plus": (p*_+,
    p*_+^2/alpha_p)}`` (NaN where they do not exist): with ``eta > 0``, ``ds/dt = 0`` needs ``s = 0``
    (then ``dp/dt = -eta p`` forces ``p = 0``) or ``p g = eta`` (``p = p*_+/-``, then ``dp/dt = 0``
    gives ``s = p^2 / alpha_p``, on the invariant parabola). With ``eta = 0`` the fixed points form
    the lines ``s = 0`` and ``p = tau / (1 + sigma2)``; the points returned lie on them.

    >>> fp = phase_plane_fixed_points(tau=1.0, alpha_p=2.0, eta=0.0)
    >>> float(fp["p_plus"][0]), float(fp["p_plus"][1])
    (1.0, 0.5)
    """
    alpha_p = arguments(tau=(tau, REAL), alpha_p=(alpha_p, POSITIVE), eta=(eta, NONNEGATIVE),
                        sigma2=(sigma2, NONNEGATIVE))["alpha_p"]
    p_minus, p_plus = fixed_points(tau, eta, sigma2)
    zero = jnp.zeros_like(p_minus)
    return {
        "collapsed": (zero, zero),
        "p_minus": (p_minus, p_minus**2 / alpha_p),
        "p_plus": (p_plus, p_plus**2 / alpha_p),
    }


def p_dynamics_on_parabola(p: Any, tau: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0) -> jax.Array:
    """``dp/dt`` on the invariant parabola ``s = p^2 / alpha_p`` (002 Eq 16): ``p^2 g - eta p``.

    Equivalently ``-(1 + sigma2) p (p - p*_-)(p - p*_+)`` (002 Fig 4).

    >>> float(p_dynamics_on_parabola(0.5, tau=1.0, eta=0.0))
    0.125
    """
    a = arguments(p=(p, REAL), tau=(tau, REAL), eta=(eta, NONNEGATIVE), sigma2=(sigma2, NONNEGATIVE))
    p = a["p"]
    return p**2 * (a["tau"] - (1.0 + a["sigma2"]) * p) - a["eta"] * p


def tau_closed_form(t: Any, p: Any, beta: Any, tau0: Any = 0.0) -> jax.Array:
    r"""``tau(t)`` from Eq 15, evaluated on a sampled trajectory ``p(t)`` (time on the last axis).

    On the invariant parabola (``c = 0`` in Eq 14, so ``s = p^2/alpha_p`` for all ``t``), Eq 13
    becomes ``d(tau p)/dt = beta p (1 - tau)``, whose solution is

    .. math:: \tau(t) = \frac{e^{-\beta t}}{p(t)} \Big( \tau_0 p_0 + \beta \int_0^t p(t') e^{\beta t'} dt' \Big),

    Eq 15 being the case ``tau0 = 0``. The integral is accumulated as
    ``I_k = e^{-beta h} I_{k-1} + int_0^h p(t_k - u) e^{-beta u} du`` with ``p`` linear between
    grid points and the exponential weight integrated exactly: exact for piecewise-linear ``p``,
    second order (error ``O(h^2 p'')``) otherwise, and free of the overflow of ``e^{beta t}``.
    Valid for ``p > 0`` on the parabola, any ``eta`` and ``sigma2``: ``t`` must be a strictly
    increasing grid and ``p > 0`` (validated; a sign change of ``p`` would divide by zero).

    >>> import jax.numpy as jnp
    >>> t = jnp.linspace(0.0, 5.0, 501)
    >>> bool(jnp.allclose(tau_closed_form(t, jnp.ones_like(t), beta=0.5), 1 - jnp.exp(-0.5 * t), atol=1e-6))
    True
    """
    a = arguments(t=(t, TIME_GRID), p=(p, POSITIVE), beta=(beta, NONNEGATIVE), tau0=(tau0, REAL))
    t, p, beta = a["t"], a["p"], a["beta"]
    if p.ndim < 1 or p.shape[-1] != t.shape[0]:
        raise ValueError(f"t must be 1-D and match the last axis of p; got t{tuple(t.shape)} and p{tuple(p.shape)}")
    # beta and tau0 broadcast against p like every companion (e.g. beta[:, None]); constant in time.
    try:
        beta_batch = jnp.broadcast_to(beta, p.shape)[..., 0]
        tau0_batch = jnp.broadcast_to(a["tau0"], p.shape)[..., 0]
    except ValueError:
        raise ValueError(f"beta and tau0 must broadcast to the shape of p; got beta{tuple(jnp.shape(beta))}, "
                         f"tau0{tuple(jnp.shape(a['tau0']))} and p{tuple(p.shape)}") from None
    p_time_first = jnp.moveaxis(p, -1, 0)
    h = jnp.diff(t).reshape((-1,) + (1,) * (p.ndim - 1))
    weight_now, weight_slope = _exponential_weights(beta_batch, h)
    decay = jnp.exp(-beta_batch * h)

    def step(integral, inputs):
        p_prev, p_next, h_k, decay_k, w0_k, w1_k = inputs
        # int_0^h (p_next - (p_next - p_prev) u / h) e^{-beta u} du
        integral = decay_k * integral + p_next * w0_k - (p_next - p_prev) / h_k * w1_k
        return integral, integral

    _, integrals = jax.lax.scan(
        step,
        jnp.zeros_like(p_time_first[0]),
        (p_time_first[:-1], p_time_first[1:], h, decay, weight_now, weight_slope),
    )
    integrals = jnp.concatenate([jnp.zeros_like(p_time_first[:1]), integrals], axis=0)
    elapsed = (t - t[0]).reshape((-1,) + (1,) * (p.ndim - 1))
    tau_p = tau0_batch * p_time_first[0] * jnp.exp(-beta_batch * elapsed) + beta_batch * integrals
    return jnp.moveaxis(tau_p / p_time_first, 0, -1)


def _exponential_weights(beta, h):
    """``(int_0^h e^{-beta u} du, int_0^h u e^{-beta u} du)``, with a series where ``beta h`` is small."""
    x = beta * h
    small = x < 1e-3
    safe_beta = jnp.where(small, 1.0, beta)
    safe_x = jnp.where(small, 1.0, x)
    w0 = jnp.where(small, h * (1 - x / 2 + x**2 / 6 - x**3 / 24), -jnp.expm1(-safe_x) / safe_beta)
    w1 = jnp.where(
        small,
        h**2 * (0.5 - x / 3 + x**2 / 8 - x**3 / 30),
        (-jnp.expm1(-safe_x) - safe_x * jnp.exp(-safe_x)) / safe_beta**2,
    )
    return w0, w1


def delta(p: Any, tau: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0) -> jax.Array:
    """``Delta_j = p (tau - (1 + sigma2) p) - eta`` (002 Sec 4), so that Eq 16 reads ``dp/dt = p Delta_j``.

    >>> float(delta(0.5, tau=1.0, eta=0.1))
    0.15
    """
    a = arguments(p=(p, REAL), tau=(tau, REAL), eta=(eta, NONNEGATIVE), sigma2=(sigma2, NONNEGATIVE))
    return _delta(a["p"], a["tau"], a["eta"], a["sigma2"])


def _delta(p, tau, eta, sigma2):
    return p * (tau - (1.0 + sigma2) * p) - eta


def k_eigenvalue(p: Any, s: Any, tau: Any = 1.0, alpha_p: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0) -> jax.Array:
    """Eigenvalue of ``K`` (002 Eq 9) on mode ``j`` when ``F`` and ``W_p`` share eigenvectors:

    ``k_j = (1 + sigma2) (alpha_p s / 2 + p^2) - tau p + 3 eta / 2``.

    >>> float(k_eigenvalue(p=1.0, s=2.0, tau=1.0))
    1.0
    """
    a = arguments(p=(p, REAL), s=(s, EIGENVALUE), tau=(tau, REAL), alpha_p=(alpha_p, POSITIVE),
                  eta=(eta, NONNEGATIVE), sigma2=(sigma2, NONNEGATIVE))
    p = a["p"]
    return (1.0 + a["sigma2"]) * (a["alpha_p"] * a["s"] / 2.0 + p**2) - a["tau"] * p + 1.5 * a["eta"]


def alignment_condition(
    p: Any, s: Any, tau: Any = 1.0, alpha_p: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0
) -> jax.Array:
    """002 Eq 17: ``Delta_j < (alpha_p (1 + sigma2) s + eta) / 2``, i.e. ``k_j > 0``.

    Since ``k_j = alpha_p (1 + sigma2) s / 2 - Delta_j + eta / 2``, this is exactly positivity of
    the mode's eigenvalue of ``K``: eigenspace alignment stays stable (Theorem 3).

    >>> bool(alignment_condition(p=0.5, s=1.0))   # Delta = 0.25 < (1 * 1.0 + 0) / 2
    True
    """
    a = arguments(p=(p, REAL), s=(s, EIGENVALUE), tau=(tau, REAL), alpha_p=(alpha_p, POSITIVE),
                  eta=(eta, NONNEGATIVE), sigma2=(sigma2, NONNEGATIVE))
    left = _delta(a["p"], a["tau"], a["eta"], a["sigma2"])
    return left < (a["alpha_p"] * (1.0 + a["sigma2"]) * a["s"] + a["eta"]) / 2.0


def classify_mode_fixed_point(
    p: float,
    s: float,
    tau: float = 1.0,
    *,
    alpha_p: float = 1.0,
    eta: float = 0.0,
    sigma2: float = 0.0,
    beta: float | None = None,
    zero_tol: float | None = None,
) -> FixedPointStability:
    """Jacobian stability of a fixed point of the mode dynamics (``jax.jacfwd``).

    With ``beta=None``: the ``(p, s)`` phase plane at fixed ``tau`` (Eqs 11-12, 002 Fig 3).
    With a ``beta``: the full 3-D flow ``(p, s, tau)`` (Eqs 11-13). See
    :mod:`ssl_odes.stability` for the labels.

    >>> classify_mode_fixed_point(p=1.5, s=0.0, tau=1.0, eta=0.0).label  # on the collapsed line s = 0
    'stable'
    """
    scalar = lambda domain: dataclasses.replace(domain, scalar=True)  # noqa: E731
    a = {name: validate(name, value, scalar(domain)) for name, value, domain in (
        ("p", p, REAL), ("s", s, NONNEGATIVE), ("tau", tau, REAL), ("alpha_p", alpha_p, POSITIVE),
        ("eta", eta, NONNEGATIVE), ("sigma2", sigma2, NONNEGATIVE))}
    if beta is not None:
        beta = validate("beta", beta, scalar(NONNEGATIVE))
    if zero_tol is not None:
        zero_tol = validate("zero_tol", zero_tol, scalar(POSITIVE))
    scalars = {name: np.asarray(a[name]) for name in ("alpha_p", "eta", "sigma2")}
    state = [a["p"], a["s"], a["tau"]]
    dtype = jnp.result_type(float)
    if beta is None:
        field = phase_plane_vector_field
        args = PhasePlaneParameters(scalars["alpha_p"], scalars["eta"], scalars["sigma2"], np.asarray(a["tau"]))
        y = jnp.asarray(state[:2], dtype)
    else:
        field = byol_modes_vector_field
        args = ModeParameters(scalars["alpha_p"], np.asarray(beta), scalars["eta"], scalars["sigma2"])
        y = jnp.asarray(state, dtype)
    args = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, dtype), args)
    return classify_fixed_point(field, y, args, zero_tol=zero_tol)


def classify_parabola_fixed_point(p_star: float, tau: float = 1.0, eta: float = 0.0, sigma2: float = 0.0) -> str:
    """Stability of a fixed point of Eq 16 (``dp/dt`` on the invariant parabola, 002 Fig 4).

    >>> classify_parabola_fixed_point(0.0, tau=1.0, eta=0.0)  # the saddle of Fig 4(a)
    'saddle'
    >>> classify_parabola_fixed_point(0.0, tau=1.0, eta=0.01)
    'stable'
    """
    scalar = {name: validate(name, value, dataclasses.replace(domain, scalar=True)) for name, value, domain in (
        ("p_star", p_star, REAL), ("tau", tau, REAL), ("eta", eta, NONNEGATIVE), ("sigma2", sigma2, NONNEGATIVE))}
    tau, eta, sigma2 = scalar["tau"], scalar["eta"], scalar["sigma2"]
    return classify_scalar_fixed_point(lambda p: p_dynamics_on_parabola(p, tau, eta, sigma2), scalar["p_star"])
