r"""Global modulation of attractive basins (001 Theorem 6, Eqs 144-155).

Under the structural assumption of Theorem 6, ``A_k(w) = sum_l g(u_l^T w) u_l u_l^T`` with
``g(x) = x + b`` (linear, increasing; the slope is set to 1 without loss of generality) and
orthonormal ``{u_l}``, the unprojected flow ``dw/dt = A_k(w) w`` decouples in the coordinates
``y_l = u_l^T w`` (Eq 145) into copies of

.. math:: \dot y = (y + b)\, y, \qquad b > 0                         \quad\text{(Eq 146)}

with the closed form ``y/(y + b) = y0/(y0 + b) e^{b t}`` (Eq 147). ``y = -b`` is stable,
``y = 0`` unstable, and from ``y0 > 0`` the solution blows up at

.. math:: t^* = \frac{1}{b} \ln\Big(1 + \frac{b}{y_0}\Big)           \quad\text{(Eq 150)}

with ``dt*/db < 0`` (Eq 151): a modulation ``A_k + c u_l u_l^T`` (``b_l = b + c``) makes
component ``l`` blow up first, i.e. win, from more initialisations.

* :data:`BLOWUP` / :func:`simulate_blowup` -- Eq 146 as a registered flow. A blow-up is
  reported as ``Status.BLOWUP`` (the state passes ``SolveOptions.bound``) and the values after it
  are NaN, never ``inf``. :func:`time_reached` reads the last finite output time and
  :func:`measure_blowup_time` refines the output grid around it (each round integrates from 0
  again) to measure ``t*`` from the integrator alone.
* :func:`blowup_time` -- Eq 150 (NaN where ``y0 <= 0``: no finite-time blow-up);
  :func:`blowup_solution` -- Eq 147.
* :data:`MODULATED_BASIN` / :func:`simulate_modulated_basin` -- the projected flow on the unit
  sphere, ``dw/dt = P_w (A(w) + c u_l u_l^T) w`` in the ``u`` basis, for a cloud of initial
  directions; :func:`basin_fraction` counts those that end at ``u_l``. The paper's proof drops
  the projection (it only compares blow-up times); the projected flow is the one a unit-norm
  filter follows, and its basin of ``u_l`` also grows with ``c``.
* :func:`modulation_probability` -- Eq 155: with ``Y_l ~ U[-1, 1]`` i.i.d. over ``d``
  directions and modulation factor ``e``, ``P[E_l] = P[Y_l > 0, Y_l + e >= max_{l' != l} Y_l']``.
  The seed prints the ``e > 1`` case garbled ("e > 1 if e > 1"): there ``Y_l + e > 1 >= Y_l'``
  always, so ``P[E_l] = P[Y_l > 0] = 1/2``. Below ``-1``, outside the printed cases, the same
  integral (Eq 154) gives ``(1 + e/2)^d / d`` for ``-2 < e <= -1`` and 0 for ``e <= -2``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax.numpy as jnp
import numpy as np

from .._core import (
    NONNEGATIVE, POSITIVE, REAL, REQUIRED, Array, Integer, Interval, Parameter, Status, System, Values, register,
    simulate, validate,
)
from .._core.trajectory import Trajectory

__all__ = [
    "BLOWUP",
    "BLOWUP_BOUND",
    "MODULATED_BASIN",
    "blowup_time",
    "blowup_solution",
    "simulate_blowup",
    "time_reached",
    "measure_blowup_time",
    "simulate_modulated_basin",
    "basin_fraction",
    "modulation_probability",
]


# --------------------------------------------------------------------------------------------
# Eq 146-151: the 1-D dynamics and its blow-up time
# --------------------------------------------------------------------------------------------


def blowup_time(y0: Any, b: Any) -> Any:
    r"""Blow-up time of ``dy/dt = (y + b) y`` from ``y(0) = y0`` (001 Eq 150).

    .. math:: t^* = \frac{1}{b} \ln\Big(1 + \frac{b}{y_0}\Big), \qquad y_0 > 0,\ b > 0.

    For ``y0 <= 0`` there is no blow-up (the solution tends to ``-b``, or stays at 0) and the
    result is NaN. Broadcasts ``y0`` and ``b`` (NumPy rules); differentiable (``jax.grad`` gives
    Eq 151, ``dt*/db < 0``).

    Args:
        y0: initial value(s) ``y_l(0) = u_l^T w(0)``, any real.
        b: offset(s) ``b_l > 0`` of ``g(x) = x + b_l`` (``b + c`` under a modulation ``c``).

    Returns:
        ``t*``, shape ``broadcast(y0, b)``; NaN where ``y0 <= 0``.

    >>> import numpy as np
    >>> float(blowup_time(1.0, 1.0)) == float(np.log(2.0))
    True
    >>> bool(np.isnan(blowup_time(-0.5, 1.0)))
    True
    """
    y0 = jnp.asarray(validate("y0", y0, REAL))
    b = jnp.asarray(validate("b", b, POSITIVE))
    positive = y0 > 0
    safe = jnp.where(positive, y0, 1.0)
    return jnp.where(positive, jnp.log1p(b / safe) / b, jnp.nan)


def blowup_solution(t: Any, y0: Any, b: Any) -> Any:
    r"""The closed form of Eq 147: ``y(t)`` solving ``y/(y + b) = y0/(y0 + b) e^{b t}``.

    .. math:: y(t) = \frac{b\, r e^{b t}}{1 - r e^{b t}}, \qquad r = \frac{y_0}{y_0 + b}.

    Valid for ``t < t*`` (NaN at and after the blow-up time, where the formula changes sign).
    Broadcasts ``t``, ``y0`` and ``b``.

    >>> float(blowup_solution(0.0, 0.3, 2.0))
    0.3
    >>> round(float(blowup_solution(50.0, -0.5, 1.0)), 12)  # tends to the stable point -b
    -1.0
    """
    t = jnp.asarray(validate("t", t, NONNEGATIVE))
    y0 = jnp.asarray(validate("y0", y0, REAL))
    b = jnp.asarray(validate("b", b, POSITIVE))
    growth = y0 / (y0 + b) * jnp.exp(b * t)
    y = b * growth / (1.0 - growth)
    past = (y0 > 0) & (growth >= 1.0)
    return jnp.where(past, jnp.nan, y)


#: Default blow-up bound of :func:`simulate_blowup` and :func:`measure_blowup_time`.
BLOWUP_BOUND = 1e8


def _blowup_field(t, y, b):
    return (y + b) * y


#: 001 Eq 146 as a registered flow (state ``y`` with no axes of its own).
BLOWUP = register(System(
    name="contrastive_blowup",
    paper="001 Thm 6, Eqs 146-150",
    summary="1-D dynamics dy/dt = (y + b) y of a projected filter component; finite-time blow-up from y0 > 0",
    parameters=(
        Parameter("y0", REAL, REQUIRED, "initial projection y_l(0) = u_l^T w(0)"),
        Parameter("b", POSITIVE, REQUIRED, "offset b_l > 0 of g(x) = x + b_l (b + c under modulation c)"),
    ),
    initial_state=lambda v: jnp.asarray(v["y0"]),
    args=lambda v: jnp.asarray(v["b"]),
    field=lambda settings: _blowup_field,
    outputs=lambda ys, v: {"y": ys},
    t1=10.0,
    num_points=101,
    example={"y0": [-1.5, -0.5, 0.0], "b": 1.0},
))


def simulate_blowup(y0: Any, b: Any, **run: Any) -> Trajectory:
    r"""Integrate ``dy/dt = (y + b) y`` (001 Eq 146) with the package integrator.

    A thin wrapper of ``ssl_odes.simulate(BLOWUP, ...)``. From ``y0 > 0`` the solution reaches
    ``+inf`` at ``t*`` (Eq 150): the run stops once ``|y| > bound`` (``SolveOptions.bound``,
    default ``finfo.max ** (1/4)``) with status ``BLOWUP``, its later output values are NaN, and
    :func:`time_reached` gives the last output time it reached. From ``y0 < 0`` it tends to
    ``-b``.

    Args:
        y0: initial value(s), any real; broadcast with ``b``.
        b: offset(s) ``b > 0``.
        **run: as for :func:`ssl_odes.simulate` (``t1``, ``num_points`` or ``ts``; default 10
            and 101; ``options`` or ``rtol``, ``atol``, ``bound``, ...; ``dtype``). The bound
            defaults to :data:`BLOWUP_BOUND` (``1e8``) rather than the package's ``finfo.max **
            (1/4)``: near ``t*`` the solution is ``y ~ 1/(t* - t)`` and an adaptive solver needs
            about ``ln(bound) / rtol**(1/5)`` steps to get there, so a bound of 1e77 would exhaust
            the step budget (``MAX_STEPS``) instead of reporting the blow-up. The stopping time
            is then ``t* - ln(1 + b/bound)/b``, within ``1/bound`` of ``t*``.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``y`` ``[*batch, time]``.

    >>> res = simulate_blowup([-0.5, 1.0], 1.0, t1=2.0, num_points=5)
    >>> res.status_counts()
    {'ok': 1, 'blowup': 1}
    >>> [round(float(v), 2) for v in time_reached(res)]  # t* = ln 2 = 0.69 for y0 = 1
    [2.0, 0.5]
    """
    if "options" not in run and "bound" not in run:
        run["bound"] = BLOWUP_BOUND
    return simulate(BLOWUP, y0=y0, b=b, **run)


simulate_blowup.system = BLOWUP


def time_reached(trajectory: Trajectory, name: str = "y") -> np.ndarray:
    """The last output time at which each trajectory's ``name`` is finite, ``[*batch]``.

    For a run stopped by ``BLOWUP`` this brackets the blow-up time to one output interval:
    ``time_reached <= t_stop < time_reached + dt``. NaN where even the first output is not finite.
    """
    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be a ssl_odes.Trajectory; got {type(trajectory).__name__}")
    values = np.asarray(trajectory.variables[name])
    ndim = len(trajectory.batch_shape)
    finite = np.isfinite(values).reshape(values.shape[: ndim + 1] + (-1,)).all(axis=-1)
    t = np.asarray(trajectory.t, dtype=np.float64)
    last = finite.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
    return np.where(finite.any(axis=-1), t[last], np.nan)


def measure_blowup_time(y0: Any, b: Any, *, t1: float, rounds: int = 3, num_points: int = 101, **run: Any) -> np.ndarray:
    """The blow-up time of Eq 146 as the integrator finds it, by refining the output grid.

    Round 1 integrates on ``linspace(0, t1, num_points)``; each later round integrates again
    from 0 with ``num_points`` outputs spread over the last interval ``[t_reached, t_reached +
    dt]`` of the round before. After ``rounds`` rounds the bracket is ``t1 / (num_points - 1)
    ** rounds`` wide (1e-6 of ``t1`` with the defaults), and the value returned is its midpoint.
    The bound (``SolveOptions.bound``) is where the run stops: ``t* - t_bound ~ 1/bound``,
    far below the bracket with the default bound. NaN where the run did not blow up by ``t1``.

    >>> t_star = measure_blowup_time([0.5, 2.0], 1.0, t1=3.0)
    >>> bool(np.allclose(t_star, blowup_time([0.5, 2.0], 1.0), rtol=1e-5))
    True
    """
    rounds = validate("rounds", rounds, Integer(1))
    num_points = validate("num_points", num_points, Integer(3))
    t1 = validate("t1", t1, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    y0 = validate("y0", y0, REAL)
    b = validate("b", b, POSITIVE)
    y0, b = np.broadcast_arrays(y0, b)
    shape = y0.shape
    y0, b = y0.ravel(), b.ravel()
    lower = np.zeros(y0.shape)
    width = np.full(y0.shape, t1)
    blew_up = np.zeros(y0.shape, bool)
    fractions = np.linspace(0.0, 1.0, num_points)
    for _ in range(rounds):
        # One batch per round: each trajectory gets its own grid through the shared run.
        reached = np.empty(y0.shape)
        status = np.empty(y0.shape, int)
        for i in range(y0.size):  # grids differ per trajectory; sizes here are small
            grid = lower[i] + width[i] * fractions
            res = simulate_blowup(y0[i], b[i], ts=grid, **run)
            reached[i] = time_reached(res)
            status[i] = int(np.asarray(res.status))
        blew_up = status == Status.BLOWUP
        step = width / (num_points - 1)
        lower = np.where(blew_up, reached, lower)
        width = np.where(blew_up, step, width)
    return np.where(blew_up, lower + 0.5 * width, np.nan).reshape(shape)


# --------------------------------------------------------------------------------------------
# Theorem 6 on the sphere: the basin of u_l grows with the modulation c
# --------------------------------------------------------------------------------------------


def _check_unit_rows(name: str, w0: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(w0, axis=-1)
    bad = np.abs(norms - 1.0) > 1e-6
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must have unit-norm rows (filters on the sphere); got ||{name}[{i}]|| = {norms[i]:.6g}")
    return w0


@functools.lru_cache(maxsize=None)
def _basin_field(direction: int):
    def field(t, w, args):
        b, c = args
        # A(w) + c u_l u_l^T in the u basis: diag(w_l + b) + c e_l e_l^T, applied to each row.
        gain = w + b
        gain = gain.at[..., direction].add(c)
        aw = gain * w
        return aw - jnp.sum(w * aw, axis=-1, keepdims=True) * w

    return field


def _basin_check(values: Values):
    w0 = values.settings["w0"]
    if values.settings["direction"] >= w0.shape[-1]:
        raise ValueError(f"direction must index one of the d = {w0.shape[-1]} directions of w0; got direction={values.settings['direction']}")


#: Theorem 6 on the unit sphere: a cloud of filters under ``P_w (A(w) + c u_l u_l^T) w``.
MODULATED_BASIN = register(System(
    name="contrastive_modulated_basin",
    paper="001 Thm 6, Eqs 144-146 (with the projection P_w)",
    summary="unit-norm filters under A(w) = sum_l (u_l^T w + b) u_l u_l^T plus a modulation c u_l u_l^T, in the u basis",
    parameters=(
        Parameter("w0", Array(ndim=2, doc="an (n, d) array of unit-norm initial filters (rows), in the u basis",
                              check_fn=_check_unit_rows), REQUIRED, "initial filters w(0), one per row"),
        Parameter("b", POSITIVE, 1.0, "offset b of g(x) = x + b (g > 0 on the sphere needs b > 1)"),
        Parameter("c", REAL, 0.0, "modulation c of A_k + c u_l u_l^T (c > 0: advantage, c < 0: disadvantage)"),
        Parameter("direction", Integer(0), 0, "index l of the modulated direction u_l"),
    ),
    initial_state=lambda v: v.batch(v["w0"]),
    args=lambda v: (jnp.asarray(v["b"]), jnp.asarray(v["c"])),
    field=lambda settings: _basin_field(settings["direction"]),
    outputs=lambda ys, v: {"w": ys},
    check=_basin_check,
    t1=50.0,
    num_points=2,
    example={"w0": np.eye(3)[:2] * 0.6 + np.array([0.0, 0.0, 0.8]), "b": 1.5, "c": [0.0, 0.5]},
))


def simulate_modulated_basin(w0: Any, *, b: Any = 1.0, c: Any = 0.0, direction: int = 0, **run: Any) -> Trajectory:
    r"""Integrate unit-norm filters under a modulated Theorem 6 operator (001 Eqs 144-146).

    In the basis ``{u_l}`` (``y = w``), with ``g(x) = x + b`` and the modulation ``c`` on
    direction ``l``:

    .. math:: \dot w = P_w^\perp \big(\mathrm{diag}(w + b) + c\, e_l e_l^\top\big) w,
              \qquad P_w^\perp = I - w w^\top.

    Every row of ``w0`` is one initial filter (a cloud of ``n`` filters is one trajectory, so the
    batch is over ``b`` and ``c``). The stable fixed points are ``+u_m`` (``-u_m`` is unstable:
    the growth rate towards ``u_m`` there is 1). :func:`basin_fraction` counts the filters that
    end at ``u_l``: it grows with ``c`` (Theorem 6).

    Args:
        w0: ``(n, d)`` unit-norm initial filters in the ``u`` basis.
        b: offset ``b > 0`` (broadcast with ``c``).
        c: modulation of direction ``direction`` (any real; Theorem 6 takes ``c > 0``).
        direction: the modulated index ``l``.
        **run: as for :func:`ssl_odes.simulate` (default ``t1=50``, ``num_points=2``).

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``w`` ``[*batch, time, n, d]``.

    >>> w0 = np.array([[0.6, 0.8, 0.0], [0.8, 0.6, 0.0]])
    >>> res = simulate_modulated_basin(w0, b=1.5, c=[0.0, 1.0], t1=40.0)
    >>> basin_fraction(res).tolist()  # the filter nearer u_1 switches to u_0 under modulation
    [0.5, 1.0]
    """
    return simulate(MODULATED_BASIN, w0=w0, b=b, c=c, direction=direction, **run)


simulate_modulated_basin.system = MODULATED_BASIN


def basin_fraction(trajectory: Trajectory, direction: int | None = None, *, cos_min: float = 0.99) -> np.ndarray:
    """Fraction of the cloud whose final filter is within ``cos_min`` of ``u_direction``, ``[*batch]``.

    ``direction`` defaults to the run's modulated index. Filters that have not converged (on a
    saddle, or ``t1`` too short) count as not in the basin.
    """
    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be a ssl_odes.Trajectory; got {type(trajectory).__name__}")
    cos_min = validate("cos_min", cos_min, Interval(0.0, 1.0, lower_closed=False, scalar=True))
    if direction is None:
        direction = trajectory.settings_dict.get("direction", 0)
    final = np.asarray(trajectory.final("w"))
    direction = validate("direction", direction, Integer(0, final.shape[-1] - 1))
    return np.mean(final[..., direction] >= cos_min, axis=-1)


# --------------------------------------------------------------------------------------------
# Eq 155: probability that the modulated direction wins
# --------------------------------------------------------------------------------------------


def modulation_probability(e: Any, d: int) -> Any:
    r"""``P[E_l] = P[Y_l > 0,\ Y_l + e >= max_{l' != l} Y_{l'}]`` for ``Y ~ U[-1, 1]^d`` i.i.d. (001 Eq 155).

    .. math::

        P[E_l] = \begin{cases}
            1/2 & e > 1 \\
            \frac{1}{d}\big[1 - (\tfrac{1+e}{2})^d\big] + \frac{e}{2} & 0 \le e \le 1 \\
            \frac{1}{d}\big[(1 + \tfrac{e}{2})^d - (\tfrac{1+e}{2})^d\big] & -1 < e < 0
        \end{cases}

    The ``e > 1`` case is printed garbled in the seed; it is ``P[Y_l > 0] = 1/2``. For ``e <= -1``
    (outside the printed cases) Eq 154 integrates to ``(1 + e/2)^d / d`` on ``(-2, -1]`` and 0
    below. At ``e = 0`` every direction is equally likely: ``P = (1 - 2^-d)/d``.

    Args:
        e: modulation factor(s) ``epsilon_l``, any real (array allowed).
        d: number of directions, an integer ``>= 1``.

    >>> float(modulation_probability(0.0, 1))
    0.5
    >>> [round(float(p), 4) for p in modulation_probability([-0.5, 0.5, 2.0], 10)]
    [0.0056, 0.3444, 0.5]
    """
    e = jnp.asarray(validate("e", e, REAL))
    d = validate("d", d, Integer(1))
    if d == 1:  # no competitor: P[E_l] = P[Y_l > 0] for every e (the cases below agree for e > -1)
        return jnp.full(e.shape, 0.5, e.dtype)
    half_plus = ((1.0 + e) / 2.0) ** d
    positive = (1.0 - half_plus) / d + e / 2.0
    negative = ((1.0 + e / 2.0) ** d - jnp.where(e > -1.0, half_plus, 0.0)) / d
    return jnp.where(e > 1.0, 0.5, jnp.where(e >= 0.0, positive, jnp.where(e > -2.0, negative, 0.0)))
