r"""Discrete-time BYOL / SimSiam modes: one SGD step of size ``lr`` instead of the flow (002 Eqs 2-4, 11-13).

:func:`ssl_odes.simulate_byol_modes` integrates the gradient flow of one eigen-mode. Real
training takes finite steps. Each mode is scalar BYOL (002 Eqs 2-4 with ``n1 = n2 = 1``,
isotropic data ``X = 1``, ``X' = sigma2``) in the variables ``p = W_p``, ``s = W^2`` and
``tau = W_a / W``. So this module takes the SGD step on the weights ``(W_p, W, W_a)`` and maps
back:

.. math::

    G &= W_a - (1 + \sigma^2) W_p W \\
    W_p &\leftarrow W_p + \mathrm{lr}\,(\alpha_p G W - \eta W_p) \\
    W &\leftarrow W + \mathrm{lr}\,(W_p G - \eta W) \\
    W_a &\leftarrow \gamma W_a + (1 - \gamma) W

started from ``W = sqrt(s0)``, ``W_p = p0``, ``W_a = tau0 sqrt(s0)``, and reported as
``p = W_p``, ``s = W^2``, ``tau = W_a / W`` at ``t = lr * step``. SPEC conventions:
``beta = (1 - gamma_ema) / lr`` and ``eta = weight_decay / lr`` (the per-step decay is
``lr * eta``), so ``lr -> 0`` at fixed ``beta, eta`` recovers Eqs 11-13.

By default both updates use the weights of the current step (``W_a`` averages the old ``W``, as in
000 Eq 134). Then the map is exactly the forward-Euler map of Eqs 2-4 with step ``lr``: its local
error is ``O(lr^2)``, so at fixed flow time ``t`` the gap to the flow is ``O(lr)`` (first order;
the test fits a slope of 1 on a log-log plot). With ``ema_uses_new_weights=True`` the target
averages the freshly updated ``W`` (what BYOL code does); that changes each step by
``(1 - gamma) lr dW = O(lr^2)``, so the gap stays first order.

``s0`` must be ``> 0``: ``tau = W_a / W`` needs ``W != 0``. Where a run's ``W`` crosses zero
while ``W_a`` does not, ``tau`` jumps through infinity, as in the flow (see
:mod:`ssl_odes.byol_modes`); the weights themselves stay finite.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._modes import _check as _tau0_rule
from .._core import NONNEGATIVE, POSITIVE, REAL, REQUIRED, Flag, Interval, Parameter, System, Trajectory, Values, register, simulate

POSITIVE_SCALAR = Interval(0.0, float("inf"), lower_closed=False, scalar=True)

__all__ = ["BYOL_MODES_DISCRETE", "SGDParameters", "byol_sgd_step", "simsiam_sgd_step", "simulate_byol_modes_discrete"]


class SGDParameters(eqx.Module):
    """Arguments of :func:`byol_sgd_step` / :func:`simsiam_sgd_step`.

    ``ema_uses_new_weights`` is 0 or 1 (as a number, so one compiled map serves both).
    """

    lr: Float[Array, "*batch"]
    gamma_ema: Float[Array, "*batch"]
    alpha_p: Float[Array, "*batch"]
    eta: Float[Array, "*batch"]
    sigma2: Float[Array, "*batch"]
    ema_uses_new_weights: Float[Array, "*batch"]


def byol_sgd_step(t: Any, weights: Float[Array, "*batch 3"], args: SGDParameters) -> Float[Array, "*batch 3"]:
    """One SGD step of scalar BYOL on ``weights = (W_p, W, W_a)`` (last axis) with its EMA update."""
    w_p, w, w_a = weights[..., 0], weights[..., 1], weights[..., 2]
    g = w_a - (1.0 + args.sigma2) * w_p * w
    w_p_next = w_p + args.lr * (args.alpha_p * g * w - args.eta * w_p)
    w_next = w + args.lr * (w_p * g - args.eta * w)
    averaged = jnp.where(args.ema_uses_new_weights > 0, w_next, w)
    w_a_next = args.gamma_ema * w_a + (1.0 - args.gamma_ema) * averaged
    return jnp.stack([w_p_next, w_next, w_a_next], axis=-1)


def simsiam_sgd_step(t: Any, weights: Float[Array, "*batch 2"], args: SGDParameters) -> Float[Array, "*batch 2"]:
    """One SGD step of scalar SimSiam (``W_a == W``, stop-gradient) on ``weights = (W_p, W)``."""
    w_p, w = weights[..., 0], weights[..., 1]
    g = w - (1.0 + args.sigma2) * w_p * w
    return jnp.stack([w_p + args.lr * (args.alpha_p * g * w - args.eta * w_p),
                      w + args.lr * (w_p * g - args.eta * w)], axis=-1)


def _initial_weights(values: Values):
    w0 = jnp.sqrt(values["s0"])
    columns = [values["p0"], w0] if values["simsiam"] else [values["p0"], w0, values["tau0"] * w0]
    return jnp.stack(columns, axis=-1)


def _sgd_args(values: Values):
    shape = values.batch_shape
    gamma = np.zeros(shape) if values["simsiam"] else values["gamma_ema"]
    return SGDParameters(lr=np.full(shape, values["lr"]), gamma_ema=gamma, alpha_p=values["alpha_p"],
                         eta=values["eta"], sigma2=values["sigma2"],
                         ema_uses_new_weights=np.full(shape, float(values["ema_uses_new_weights"])))


def _outputs(ys, values: Values):
    p, w = ys[..., 0], ys[..., 1]
    if values["simsiam"]:
        tau = jnp.where(jnp.isnan(p), jnp.nan, 1.0).astype(p.dtype)
    else:
        tau = ys[..., 2] / w
        tau = jnp.where(jnp.isfinite(tau), tau, jnp.nan)  # W exactly 0: the ratio does not exist
    return {"p": p, "s": w**2, "tau": tau}


#: The declaration of one finite SGD step on a BYOL / SimSiam eigen-mode (discrete 002 Eqs 11-13).
BYOL_MODES_DISCRETE = register(System(
    name="byol_modes_discrete",
    paper="002 Eqs 2-4 / 11-13 with a finite step",
    summary="SGD with step lr (and EMA) on one BYOL / SimSiam eigen-mode, at flow time t = lr * step",
    parameters=(
        Parameter("p0", REAL, REQUIRED, "initial predictor eigenvalue W_p(0)"),
        Parameter("s0", POSITIVE, REQUIRED, "initial eigenvalue of F, W(0) = sqrt(s0) (> 0: tau = W_a / W)"),
        Parameter("tau0", REAL, None, "initial W_a / W (default 0; 1 with simsiam)"),
        Parameter("lr", POSITIVE_SCALAR, REQUIRED, "learning rate (one for the batch: it sets the time axis)"),
        Parameter("gamma_ema", Interval(0.0, 1.0, upper_closed=False), 0.996,
                  "EMA decay, beta = (1 - gamma_ema) / lr (unused with simsiam)"),
        Parameter("alpha_p", POSITIVE, 1.0, "predictor learning-rate ratio"),
        Parameter("eta", NONNEGATIVE, 0.0, "weight decay per unit flow time (weight_decay / lr)"),
        Parameter("sigma2", NONNEGATIVE, 0.0, "isotropic augmentation variance"),
        Parameter("simsiam", Flag(), False, "SimSiam (W_a == W, tau == 1) instead of BYOL"),
        Parameter("ema_uses_new_weights", Flag(), False, "average the updated W into W_a (BYOL code) instead of the current one"),
    ),
    initial_state=_initial_weights,
    args=_sgd_args,
    field=lambda settings: simsiam_sgd_step if settings["simsiam"] else byol_sgd_step,
    outputs=_outputs,
    check=_tau0_rule,  # the flow's rule: tau0 = 0 for BYOL, 1 (or unset) for SimSiam
    record=lambda v: ("lr", "p0", "s0", "alpha_p", "eta", "sigma2") + (() if v["simsiam"] else ("tau0", "gamma_ema")),
    flow_name=lambda v: "simsiam_modes_discrete" if v["simsiam"] else "byol_modes_discrete",
    discrete=True,
    time_step=lambda v: v["lr"],
    example={"p0": [0.2, 0.8], "s0": 0.5, "lr": 0.01, "gamma_ema": 0.99},
))


def simulate_byol_modes_discrete(
    p0: Any,
    s0: Any,
    tau0: Any = None,
    *,
    lr: float,
    steps: int,
    gamma_ema: Any = 0.996,
    alpha_p: Any = 1.0,
    eta: Any = 0.0,
    sigma2: Any = 0.0,
    simsiam: bool = False,
    ema_uses_new_weights: bool = False,
    save_every: int = 1,
    **run: Any,
) -> Trajectory:
    r"""Iterate SGD with step ``lr`` on one BYOL / SimSiam eigen-mode (the discrete 002 Eqs 11-13).

    The discrete counterpart of :func:`ssl_odes.simulate_byol_modes`: the same variables ``p``,
    ``s``, ``tau`` at flow time ``t = lr * step``, so the two overlay directly. Pass
    ``gamma_ema = 1 - beta * lr`` to compare with a flow at EMA rate ``beta``. The map is a
    ``jax.lax.scan`` (the recurrence is the model, not an ODE discretisation of ours).

    Every argument except ``lr``, ``steps`` and the flags broadcasts with NumPy rules into the
    batch shape. ``lr`` is a scalar because it sets the time axis.

    Args:
        p0: initial predictor eigenvalue(s).
        s0: initial eigenvalue(s) of ``F``, ``> 0`` (``W0 = sqrt(s0)``).
        tau0: initial ``W_a / W``; default 0 (``W_a(0) = 0``, the initial condition of 002 Eq 15).
            Leave unset with ``simsiam=True``.
        lr: learning rate ``> 0`` (scalar).
        steps: number of SGD steps, an integer ``>= 1`` and a multiple of ``save_every``.
        gamma_ema: EMA decay, ``0 <= gamma_ema < 1``; ``beta = (1 - gamma_ema) / lr``. Default
            0.996 (002 Fig 5). Validated but unused with ``simsiam=True``.
        alpha_p: predictor learning-rate ratio ``> 0``.
        eta: weight decay per unit flow time (``weight_decay / lr``), ``>= 0``.
        sigma2: isotropic augmentation variance ``>= 0``.
        simsiam: SimSiam (``W_a == W``, so ``tau == 1``) instead of BYOL.
        ema_uses_new_weights: average the updated ``W`` into ``W_a`` (BYOL code) instead of the
            current one (000 Eq 134). Either way the map is first order in ``lr``.
        save_every: save every ``save_every``-th step.
        **run: ``bound`` (a run with a weight beyond ``bound``, or an overflow, stops with status
            ``BLOWUP``), ``options``, ``dtype``.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``t = lr * step`` ``[time]``; ``p``, ``s``, ``tau``
        ``[*batch, time]``; ``status`` ``[*batch]``; ``flow`` ``"byol_modes_discrete"`` (or
        ``"simsiam_modes_discrete"``).

    Example:
        >>> import numpy as np, ssl_odes
        >>> lr = 0.01
        >>> disc = ssl_odes.simulate_byol_modes_discrete(0.5, 0.5, lr=lr, steps=500, gamma_ema=1 - 0.4 * lr)
        >>> flow = ssl_odes.simulate_byol_modes(0.5, 0.5, beta=0.4, ts=disc.t)
        >>> float(disc.t[-1])
        5.0
        >>> bool(np.max(np.abs(disc.p - flow.p)) < 0.01)   # O(lr) apart
        True
    """
    return simulate(BYOL_MODES_DISCRETE, p0=p0, s0=s0, tau0=tau0, lr=lr, gamma_ema=gamma_ema, alpha_p=alpha_p,
                    eta=eta, sigma2=sigma2, simsiam=simsiam, ema_uses_new_weights=ema_uses_new_weights,
                    steps=steps, save_every=save_every, **run)


simulate_byol_modes_discrete.system = BYOL_MODES_DISCRETE
