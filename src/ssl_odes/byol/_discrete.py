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

import jax.numpy as jnp
import numpy as np

from .. import _params
from .._core.discrete import check_map_options, iterate_map
from .._core.trajectory import Trajectory

__all__ = ["byol_sgd_step", "simsiam_sgd_step", "simulate_byol_modes_discrete"]


def byol_sgd_step(weights: jnp.ndarray, args: tuple) -> jnp.ndarray:
    """One SGD step of scalar BYOL on ``weights = (W_p, W, W_a)`` (last axis) with its EMA update.

    ``args = (lr, gamma_ema, alpha_p, eta, sigma2, ema_uses_new_weights)``, the last a 0/1 array.
    """
    lr, gamma, alpha_p, eta, sigma2, new_weights = args
    w_p, w, w_a = weights[..., 0], weights[..., 1], weights[..., 2]
    g = w_a - (1.0 + sigma2) * w_p * w
    w_p_next = w_p + lr * (alpha_p * g * w - eta * w_p)
    w_next = w + lr * (w_p * g - eta * w)
    averaged = jnp.where(new_weights, w_next, w)
    w_a_next = gamma * w_a + (1.0 - gamma) * averaged
    return jnp.stack([w_p_next, w_next, w_a_next], axis=-1)


def simsiam_sgd_step(weights: jnp.ndarray, args: tuple) -> jnp.ndarray:
    """One SGD step of scalar SimSiam (``W_a == W``, stop-gradient) on ``weights = (W_p, W)``."""
    lr, _, alpha_p, eta, sigma2, _ = args
    w_p, w = weights[..., 0], weights[..., 1]
    g = w - (1.0 + sigma2) * w_p * w
    return jnp.stack([w_p + lr * (alpha_p * g * w - eta * w_p), w + lr * (w_p * g - eta * w)], axis=-1)


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
    bound: float | None = None,
    dtype: Any = None,
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
        bound: a run with a weight beyond ``bound`` stops with status ``BLOWUP``.
        dtype: ``float32`` or ``float64``; default JAX's default float.

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
    simsiam = _params.check_flag("simsiam", simsiam)
    ema_uses_new_weights = _params.check_flag("ema_uses_new_weights", ema_uses_new_weights)
    if simsiam and tau0 is not None:
        raise ValueError(f"tau0 is fixed at 1 when simsiam=True; leave tau0 unset (got tau0={tau0!r})")
    tau0 = 0.0 if tau0 is None else tau0
    dtype = _params.resolve_dtype(dtype)
    lr = _params.check_scalar("lr", lr)
    steps, save_every, bound = check_map_options(steps, save_every, bound, dtype)
    given = {"p0": p0, "alpha_p": alpha_p, "eta": eta, "sigma2": sigma2}
    if simsiam:
        _params.check_real("gamma_ema", gamma_ema)
    else:
        given.update(tau0=tau0, gamma_ema=gamma_ema)
    params = _params.check_parameters(**given)
    params["s0"] = _params.check_real("s0", s0, _params.POSITIVE)
    full, batch_shape = _params.broadcast_parameters(params)

    w0 = np.sqrt(full["s0"])
    columns = [full["p0"], w0] if simsiam else [full["p0"], w0, full["tau0"] * w0]
    weights0 = jnp.asarray(np.stack(columns, axis=-1), dtype)
    gamma = np.zeros(batch_shape) if simsiam else full["gamma_ema"]
    args = tuple(
        jnp.asarray(value, dtype)
        for value in (lr, gamma, full["alpha_p"], full["eta"], full["sigma2"], float(ema_uses_new_weights))
    )
    ys, status = iterate_map(
        simsiam_sgd_step if simsiam else byol_sgd_step, weights0, args,
        num_saves=steps // save_every, save_every=save_every, bound=bound, batch_ndim=len(batch_shape),
    )
    p, w = ys[..., 0], ys[..., 1]
    if simsiam:
        tau = jnp.where(jnp.isnan(p), jnp.nan, 1.0).astype(p.dtype)
    else:
        tau = ys[..., 2] / w
        tau = jnp.where(jnp.isfinite(tau), tau, jnp.nan)  # W exactly 0: the ratio does not exist
    steps_saved = np.arange(0, steps + 1, save_every)
    return Trajectory(
        t=jnp.asarray(lr * steps_saved, dtype),
        variables={"p": p, "s": w**2, "tau": tau},
        status=status,
        num_steps=jnp.full(batch_shape, steps, jnp.int32),
        params={"lr": np.asarray(lr), **params},
        flow="simsiam_modes_discrete" if simsiam else "byol_modes_discrete",
        dtype=np.dtype(dtype).name,
        settings=(
            ("bound", bound), ("ema_uses_new_weights", ema_uses_new_weights), ("save_every", save_every),
            ("simsiam", simsiam),
        ),
    )
