r"""EMA as a discrete linear system (000: Tian, Yu, Chen, Ganguli, Eqs 10-11 and App. F.3).

A weight ``w`` trained towards its own exponential moving average ``w_ema`` (000 Eq 10 / 134):

.. math::

    w(t+1) &= w(t) + \mathrm{lr}\,[-w(t) + (1 - \lambda)\, w_{ema}(t)] \\
    w_{ema}(t+1) &= \gamma\, w_{ema}(t) + (1 - \gamma)\, w(t)

with ``gamma = gamma_ema`` and ``e = 1 - gamma``. ``lam < 0`` means the target is "magnified"
more than ``w`` (the paper's BYOL-with-predictor regime). Time ``t`` here is the step index, the
variable of the z-transform (``z^t`` is the growth per step).

The state ``v = (w, w_ema)`` follows ``v(t+1) = M v(t)`` with the update matrix
:func:`update_matrix` ``M = [[1 - lr, lr (1 - lam)], [e, 1 - e]]``. Its characteristic polynomial
is the denominator of 000 Eq 138, ``(z - 1)^2 + (e + lr)(z - 1) + lr e lam``, whose roots are
(Eq 139; Eq 11 in the main text)

.. math:: z_{\min,\max} = 1 - \tfrac12\Big[(e + \mathrm{lr}) \pm \sqrt{(e + \mathrm{lr})^2 - 4\,\mathrm{lr}\, e\, \lambda}\Big].

Facts (tested): the roots are the eigenvalues of ``M``; for ``lam < 0`` they are real with
``z_max > 1 > z_min`` and ``w(t)`` grows like ``z_max^t``; ``z_max`` decreases as ``gamma_ema``
rises towards 1 (EMA slows, but does not stop, the growth: 000 Sec 5).

Closed form (the inverse of Eq 140). With ``h_t = (z_max^t - z_min^t) / (z_max - z_min)`` --
the inverse z-transform of ``z / ((z - z_1)(z - z_2))``, Eqs 141-143 -- Eq 140
``w(z) = z (z - gamma) / ((z - z_1)(z - z_2)) w(0)`` inverts to

.. math:: w(t) = w(0)\,(h_{t+1} - \gamma h_t),

i.e. ``w(t) = A z_min^t + B z_max^t`` with residues ``A = (z_min - gamma)/(z_min - z_max)``,
``B = (z_max - gamma)/(z_max - z_min)``. For a repeated root ``z_min = z_max = r`` (zero
discriminant) ``h_t = t r^(t-1)`` and ``w(t) = w(0) [r^t + (r - gamma) t r^(t-1)]``. One formula
covers both: :func:`closed_form` evaluates ``h_t = z_b^(t-1) expm1(t log1p(q)) / q`` with ``z_b``
the root of larger modulus and ``q = (z_other - z_b)/z_b`` computed from the square root of the
discriminant directly, so that nearly repeated roots lose no accuracy (the naive partial fraction
divides by ``z_max - z_min``). It also allows ``w_ema(0) != 0`` (the paper sets it to 0):
``M^t = h_t M - det(M) h_(t-1) I`` (Cayley-Hamilton).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float
import numpy as np

from .._core import NONNEGATIVE, POSITIVE, REAL, REQUIRED, Interval, Parameter, System, Trajectory, register, simulate
from .._core.arguments import arguments
from .._core.params import _describe_bad, validate

__all__ = [
    "discriminant",
    "z_roots",
    "growth_rate",
    "update_matrix",
    "EMA_DISCRETE",
    "EMAParameters",
    "ema_step",
    "simulate_discrete",
    "closed_form",
]


#: Domains of the companions' arguments (those of :data:`EMA_DISCRETE`'s parameters).
_DOMAINS = {"w0": REAL, "lr": POSITIVE, "gamma_ema": Interval(0.0, 1.0, upper_closed=False), "lam": REAL,
            "w_ema0": REAL}


def _validated(**values: Any) -> dict[str, jax.Array]:
    return arguments(**{name: (value, _DOMAINS[name]) for name, value in values.items()})


def discriminant(lr: Any, gamma_ema: Any, lam: Any) -> jax.Array:
    """``(e + lr)^2 - 4 lr e lam`` with ``e = 1 - gamma_ema``: the roots are complex where it is negative.

    >>> round(float(discriminant(lr=0.1, gamma_ema=0.9, lam=0.5)), 6)
    0.02
    """
    p = _validated(lr=lr, gamma_ema=gamma_ema, lam=lam)
    return _discriminant(p["lr"], 1.0 - p["gamma_ema"], p["lam"])


def _discriminant(lr, e, lam):
    return (e + lr) ** 2 - 4.0 * lr * e * lam


def _roots(lr, e, lam):
    """``(z_min, z_max, sqrt_disc)`` as complex arrays (Eq 139)."""
    disc = _discriminant(lr, e, lam)
    sqrt_disc = jnp.sqrt(disc.astype(jnp.result_type(disc.dtype, jnp.complex64)))
    half_trace = 1.0 - (e + lr) / 2.0
    return half_trace - sqrt_disc / 2.0, half_trace + sqrt_disc / 2.0, sqrt_disc


def z_roots(lr: Any, gamma_ema: Any, lam: Any) -> tuple[jax.Array, jax.Array]:
    r"""The two poles ``(z_min, z_max)`` of 000 Eq 139 (Eq 11), broadcasting with NumPy rules.

    .. math:: z_{\min,\max} = 1 - \tfrac12\Big[(e + \mathrm{lr}) \pm \sqrt{(e + \mathrm{lr})^2 - 4\,\mathrm{lr}\, e\, \lambda}\Big],
              \quad e = 1 - \gamma_{ema}.

    They are the eigenvalues of :func:`update_matrix`. The result is real when every
    discriminant is ``>= 0`` and complex otherwise (``z_max`` then has the positive imaginary
    part; the pair is conjugate). ``z_max`` is the root with the ``-`` sign in front of the square
    root, as in the paper.

    Example:
        >>> z_min, z_max = z_roots(lr=0.1, gamma_ema=[0.0, 0.9, 0.99], lam=-1.0)
        >>> [round(float(z), 4) for z in z_max]   # EMA lowers z_max towards 1, still > 1
        [1.0844, 1.0414, 1.0084]
        >>> z_roots(lr=0.1, gamma_ema=0.5, lam=5.0)[1].dtype.kind   # negative discriminant
        'c'
    """
    p = _validated(lr=lr, gamma_ema=gamma_ema, lam=lam)
    z_min, z_max, _ = _roots(p["lr"], 1.0 - p["gamma_ema"], p["lam"])
    if bool(jnp.all(_discriminant(p["lr"], 1.0 - p["gamma_ema"], p["lam"]) >= 0)):
        return z_min.real, z_max.real
    return z_min, z_max


def growth_rate(lr: Any, gamma_ema: Any, lam: Any) -> jax.Array:
    """Per-step growth factor of ``w(t)``: the spectral radius ``max(|z_min|, |z_max|)`` of the update matrix.

    For ``lam < 0`` (and ``lr <= 1``) it is ``z_max > 1``: ``w(t) ~ z_max^t``.

    >>> round(float(growth_rate(lr=0.1, gamma_ema=0.9, lam=-1.0)), 4)
    1.0414
    """
    p = _validated(lr=lr, gamma_ema=gamma_ema, lam=lam)
    z_min, z_max, _ = _roots(p["lr"], 1.0 - p["gamma_ema"], p["lam"])
    return jnp.maximum(jnp.abs(z_min), jnp.abs(z_max))


def update_matrix(lr: Any, gamma_ema: Any, lam: Any) -> jax.Array:
    """The 2 x 2 map ``(w, w_ema)(t+1) = M (w, w_ema)(t)`` of 000 Eq 134, shape ``[*batch, 2, 2]``.

    ``M = [[1 - lr, lr (1 - lam)], [e, 1 - e]]``, ``e = 1 - gamma_ema``.

    >>> update_matrix(lr=0.5, gamma_ema=0.75, lam=-1.0).tolist()
    [[0.5, 1.0], [0.25, 0.75]]
    """
    p = _validated(lr=lr, gamma_ema=gamma_ema, lam=lam)
    lr, gamma, lam = jnp.broadcast_arrays(p["lr"], p["gamma_ema"], p["lam"])
    e = 1.0 - gamma
    row0 = jnp.stack([1.0 - lr, lr * (1.0 - lam)], axis=-1)
    row1 = jnp.stack([e, 1.0 - e], axis=-1)
    return jnp.stack([row0, row1], axis=-2)


class EMAParameters(eqx.Module):
    """Arguments of :func:`ema_step` (000 Eq 134): learning rate, EMA decay, the paper's lambda."""

    lr: Float[Array, "*batch"]
    gamma_ema: Float[Array, "*batch"]
    lam: Float[Array, "*batch"]


def ema_step(t: Any, y: Float[Array, "*batch 2"], args: EMAParameters) -> Float[Array, "*batch 2"]:
    """One step of 000 Eq 134 on ``y = (w, w_ema)`` stacked on the last axis.

    Both updates use the weights of step ``t`` (the recurrence of Eq 134 and the EMA definition
    below it), so the step is exactly ``v -> M v``. ``t`` (the step's time) is unused: the map is
    autonomous; it is there because every step map has the vector field's ``(t, y, args)`` form.

    >>> import jax.numpy as jnp
    >>> [round(float(v), 6) for v in ema_step(0, jnp.array([1.0, 0.0]), EMAParameters(lr=0.1, gamma_ema=0.9, lam=0.0))]
    [0.9, 0.1]
    """
    w, w_ema = y[..., 0], y[..., 1]
    w_next = w + args.lr * (-w + (1.0 - args.lam) * w_ema)
    w_ema_next = args.gamma_ema * w_ema + (1.0 - args.gamma_ema) * w
    return jnp.stack([w_next, w_ema_next], axis=-1)


#: The declaration of 000 Eq 134 (time = the step index, the variable of the z-transform).
EMA_DISCRETE = register(System(
    name="ema_discrete",
    paper="000 Eqs 10-11, App. F.3 Eq 134",
    summary="a weight trained towards its own EMA: the discrete linear system behind the z-roots",
    parameters=(
        Parameter("w0", REAL, REQUIRED, "initial weight w(0)"),
        Parameter("lr", POSITIVE, REQUIRED, "learning rate"),
        Parameter("gamma_ema", Interval(0.0, 1.0, upper_closed=False), REQUIRED, "EMA decay gamma"),
        Parameter("lam", REAL, REQUIRED, "the paper's lambda (lam < 0: the target is magnified, w grows)"),
        Parameter("w_ema0", REAL, 0.0, "initial EMA weight (0 in the paper's derivation, Eq 136)"),
    ),
    initial_state=lambda v: jnp.stack([v["w0"], v["w_ema0"]], axis=-1),
    args=lambda v: EMAParameters(lr=v["lr"], gamma_ema=v["gamma_ema"], lam=v["lam"]),
    field=lambda settings: ema_step,
    outputs=lambda ys, v: {"w": ys[..., 0], "w_ema": ys[..., 1]},
    discrete=True,
    time_step=lambda v: 1.0,
    flow_name=lambda v: "ema_discrete",
    extra_settings=lambda v: {"time": "step"},
    example={"w0": 1.0, "lr": 0.1, "gamma_ema": [0.0, 0.9], "lam": -0.5},
))


def simulate_discrete(
    w0: Any,
    lr: Any,
    gamma_ema: Any,
    lam: Any,
    steps: int,
    *,
    w_ema0: Any = 0.0,
    save_every: int = 1,
    **run: Any,
) -> Trajectory:
    r"""Iterate the recurrence of 000 Eq 134 (a ``jax.lax.scan``: the discrete map is the model).

    .. math::

        w(t+1) = w(t) + \mathrm{lr}\,[-w(t) + (1 - \lambda) w_{ema}(t)],\quad
        w_{ema}(t+1) = \gamma\, w_{ema}(t) + (1 - \gamma)\, w(t),\quad w_{ema}(0) = 0.

    A thin wrapper of ``ssl_odes.simulate(EMA_DISCRETE, ...)``. ``w0``, ``lr``, ``gamma_ema``,
    ``lam`` and ``w_ema0`` broadcast with NumPy rules into the batch shape.

    Args:
        w0: initial weight(s) ``w(0)``.
        lr: learning rate ``> 0``.
        gamma_ema: EMA decay, ``0 <= gamma_ema < 1``.
        lam: the paper's ``lambda`` (any real; ``lam < 0`` gives growth).
        steps: number of steps, an integer ``>= 1`` (a multiple of ``save_every``).
        w_ema0: initial EMA weight; 0 in the paper's derivation (Eq 136).
        save_every: save one state every ``save_every`` steps.
        **run: ``bound`` (a run with ``|w|`` or ``|w_ema| > bound``, or an overflow, stops with
            status ``BLOWUP``; default ``finfo(dtype).max ** 0.25``; saved values after a failure
            are NaN), ``options``, ``dtype``.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``t`` = the step index ``[0, save_every, ..., steps]``
        (the time of the z-transform, not ``lr * step``: ``lr`` may differ across the batch),
        ``w`` and ``w_ema`` ``[*batch, time]`` and ``status`` ``[*batch]``.

    Example:
        >>> res = simulate_discrete(w0=1.0, lr=0.1, gamma_ema=[0.0, 0.99], lam=-1.0, steps=200)
        >>> res.w.shape, res.status_counts()
        ((2, 201), {'ok': 2})
        >>> ratio = res.w[:, -1] / res.w[:, -2]          # growth per step -> z_max
        >>> [round(float(r), 4) for r in ratio]
        [1.0844, 1.0084]
    """
    return simulate(EMA_DISCRETE, w0=w0, lr=lr, gamma_ema=gamma_ema, lam=lam, w_ema0=w_ema0, steps=steps,
                    save_every=save_every, **run)


simulate_discrete.system = EMA_DISCRETE


def _divided_power(t, z_big, q, zero_big):
    """``h_t = (z_2^t - z_1^t) / (z_2 - z_1)`` for integer ``t >= 0``, stable for nearly equal roots.

    ``z_big`` is the root of larger modulus and ``q = (z_small - z_big) / z_big`` (``|1 + q| <= 1``),
    so ``h_t = z_big^(t-1) (1 - (1+q)^t) / (-q) = z_big^(t-1) expm1(t log1p(q)) / q``; ``q = 0`` (a
    repeated root) gives the limit ``t z_big^(t-1)``.
    """
    tc = t.astype(q.dtype)
    # q = 0: a repeated root, ratio -> t. q = -1: the other root is 0, so (1 + q)^t = 0 and ratio = 1
    # (log1p(-1) = -inf would give t * (-inf + 0j) = -inf + NaN j in complex arithmetic).
    special = (q == 0) | (q == -1)
    q_safe = jnp.where(special, 0.5, q)
    ratio = jnp.where(q == 0, tc, jnp.where(q == -1, 1.0, jnp.expm1(tc * jnp.log1p(q_safe)) / q_safe))
    z_safe = jnp.where(zero_big, 1.0, z_big)
    h = jnp.where(t >= 1, z_safe ** (tc - 1.0), 0.0) * jnp.where(t >= 1, ratio, 0.0)
    # h_1 = 1 exactly (so w(0) = w0 and w_ema(0) = w_ema0 to the last bit); both roots zero (M
    # nilpotent): h_t = 0 for t != 1.
    return jnp.where(t == 1, 1.0, jnp.where(zero_big, 0.0, h))


def closed_form(t: Any, w0: Any, lr: Any, gamma_ema: Any, lam: Any, w_ema0: Any = 0.0) -> tuple[jax.Array, jax.Array]:
    r"""Exact ``(w(t), w_ema(t))`` of 000 Eq 134: the partial-fraction inverse of Eq 140.

    .. math::

        w(t) = w(0)\,(h_{t+1} - \gamma h_t) + \mathrm{lr}(1 - \lambda)\, w_{ema}(0)\, h_t,\qquad
        w_{ema}(t) = e\, w(0)\, h_t + w_{ema}(0)\,(h_{t+1} - (1 - \mathrm{lr}) h_t),

    with ``h_t = (z_max^t - z_min^t)/(z_max - z_min)`` (Eq 143; ``t r^(t-1)`` for a repeated root
    ``r``). With ``w_ema(0) = 0`` this is ``w(t) = A z_min^t + B z_max^t``, the residues of Eq 140.
    All arguments broadcast with NumPy rules; ``t`` holds integer step indices ``>= 0``, computed
    in floating point (no integer overflow: ``t = 2**33`` is exact in either dtype; beyond ``2^24``
    in float32, ``t + 1`` rounds to ``t``).

    Example:
        >>> import numpy as np
        >>> w, w_ema = closed_form(np.arange(4), w0=1.0, lr=0.5, gamma_ema=0.75, lam=-1.0)
        >>> np.round(w, 5).tolist()     # the recurrence gives 1, 0.5, 0.5, 0.5625
        [1.0, 0.5, 0.5, 0.5625]
        >>> lr, gamma = 0.5, 0.5                      # repeated root r = 1/2: discriminant 0 at lam = 1
        >>> w, _ = closed_form(np.arange(4), 1.0, lr, gamma, 1.0)
        >>> np.round(w, 5).tolist()     # r^t + (r - gamma) t r^(t-1) = r^t
        [1.0, 0.5, 0.25, 0.125]
    """
    p = _validated(w0=w0, lr=lr, gamma_ema=gamma_ema, lam=lam, w_ema0=w_ema0)
    t_arr = np.asarray(validate("t", t, NONNEGATIVE))
    if np.any(t_arr != np.round(t_arr)):
        raise ValueError(f"t must hold integer step indices >= 0; got {_describe_bad('t', t_arr, t_arr != np.round(t_arr))}")
    arguments(t=(t_arr, NONNEGATIVE), **{name: (value, REAL) for name, value in p.items()})  # they broadcast
    lr, gamma, lam = p["lr"], p["gamma_ema"], p["lam"]
    e = 1.0 - gamma
    z_min, z_max, sqrt_disc = _roots(lr, e, lam)
    min_is_big = jnp.abs(z_min) > jnp.abs(z_max)
    z_big = jnp.where(min_is_big, z_min, z_max)
    # q = (z_other - z_big) / z_big, with z_max - z_min = sqrt_disc exactly (no cancellation).
    difference = jnp.where(min_is_big, sqrt_disc, -sqrt_disc)
    zero_big = z_big == 0
    q = difference / jnp.where(zero_big, 1.0, z_big)
    # t stays a float (exact up to 2^53 in float64, 2^24 in float32): an integer dtype overflows at 2^31
    t_float = jnp.asarray(t_arr, dtype=z_big.real.dtype)
    h_t = _divided_power(t_float, z_big, q, zero_big).real
    h_next = _divided_power(t_float + 1.0, z_big, q, zero_big).real
    w = p["w0"] * (h_next - gamma * h_t) + lr * (1.0 - lam) * p["w_ema0"] * h_t
    w_ema = e * p["w0"] * h_t + p["w_ema0"] * (h_next - (1.0 - lr) * h_t)
    return w, w_ema
