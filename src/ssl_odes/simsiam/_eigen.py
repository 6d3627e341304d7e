r"""SimSiam local eigen-dynamics (003: Thm 4, Eqs 18-19, 48-49, 54-55).

In the eigenbasis ``U`` of the feature correlation, ``Lambda = U^T Cor(z) U`` is diagonal and
``Lambda_p = U^T W_p U`` is the predictor. With ``||z||`` and ``||p||`` held constant (the paper's
simplification), ``c = z_2^T p_1`` close to 1, the augmentation term ``eps`` and weight decay
``eta``, the local dynamics are (003 Eqs 54-55, the weight-decay form of Thm 4):

.. math::

    \dot\Lambda_p &= r_1 \frac{\|z\|}{\|p\|}\big[(I - c\tilde\Lambda_p)\Lambda + \epsilon\big] - r_1 \eta \Lambda_p \\
    \dot\Lambda &= \frac{r_2}{\|z\|\|p\|}\Big(\Lambda_p^T\big[(I - c\tilde\Lambda_p)\Lambda + \epsilon\big]
                   + \big[(I - c\tilde\Lambda_p)\Lambda + \epsilon\big]^T \Lambda_p\Big) - 2 r_2 \eta \Lambda,
    \qquad \tilde\Lambda_p = \frac{\|z\|}{\|p\|}\Lambda_p .

For diagonal ``Lambda_p = diag(l_p)`` and ``Lambda = diag(l)`` each dimension ``i`` evolves alone
(``lt_p = (z_norm / p_norm) l_p``, "lambda tilde"):

.. math::

    \dot l_p &= r_1 \frac{\|z\|}{\|p\|}\big[(1 - c\,\tilde l_p)\, l + \epsilon_i\big] - r_1 \eta\, l_p \\
    \dot l &= \frac{2 r_2 l_p}{\|z\|\|p\|}\big[(1 - c\,\tilde l_p)\, l + \epsilon_i\big] - 2 r_2 \eta\, l .

**Which form.** SPEC section 5: the matrix Eqs 54-55 are the definition. The element-wise
forms printed in the paper disagree with them and with each other. Eq 19 writes the ``dl`` line
first with ``||z|| ||p||`` and then with ``||z||^2``; the two agree only if the second carries
``lt_p`` (since ``l_p / (||z|| ||p||) = lt_p / ||z||^2``), so a tilde is missing. Eq 49's first
line drops the factor 2 that its second line (and Eq 55 on a diagonal) has. The diagonal of Eq 55
is ``2 r_2 l_p / (||z|| ||p||) [...]``, used here. The conditions of Eqs 56-57 follow from this
form exactly.

**Phases** (003 Sec 4.2, ``eta = eps = 0``; :func:`phase`), with ``l >= 0``:

1. ``lt_p < 0``: ``dl <= 0`` and ``dl_p >= 0``;
2. ``0 <= lt_p <= 1/c``: ``dl >= 0`` and ``dl_p >= 0``;
3. ``lt_p > 1/c``: ``dl <= 0`` and ``dl_p <= 0``.

So each dimension either collapses (``l -> 0``) or settles with ``lt_p -> 1/c``.

**What "a common value" means.** (Derived here; the paper does not state it.) With
``eta = 0`` the quantity ``l - r_2 l_p^2 / (r_1 ||z||^2)`` is conserved for any ``c`` and ``eps``
(:func:`invariant`, the analogue of 002 Eq 14). So with ``eta = eps = 0`` the surviving
dimensions share ``lt_p = 1/c``, but each keeps its own ``l``, fixed by its invariant. With
``eta > 0`` (and ``eps = 0``) the non-zero fixed points are ``lt_p = u_+/-`` with
``u (1 - c u) = eta ||z||^2`` and ``l = (||p|| u / ||z||^2)^2`` (:func:`fixed_points`). They are
the same for every dimension: the surviving ``l_i`` meet at one common value (``u_+`` is stable,
``u_-`` a saddle whose stable manifold separates collapse from survival). The example
``examples/simsiam_eigen_phases.py`` shows both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core import (NONNEGATIVE, POSITIVE, REAL, REQUIRED, Interval, Matrix, Parameter, System, Values, register, simulate,
                     validate)
from .._core.arguments import arguments
from .._core.stability import FixedPointStability, classify_fixed_point
from .._core.trajectory import Trajectory

__all__ = [
    "SIMSIAM_EIGEN",
    "SIMSIAM_EIGEN_MATRIX",
    "PHASES",
    "EigenParameters",
    "eigen_rates",
    "simsiam_eigen_vector_field",
    "simsiam_eigen_matrix_vector_field",
    "simulate_simsiam_eigen",
    "simulate_simsiam_eigen_matrix",
    "phase",
    "invariant",
    "fixed_points",
    "classify_eigen_fixed_point",
]

DEFAULT_T1 = 100.0
DEFAULT_NUM_POINTS = 1001

#: The three cases of 003 Sec 4.2 (``eta = eps = 0``), by :func:`phase` code (0: undefined/NaN).
PHASES = {
    1: "lt_p < 0: l shrinks, l_p grows",
    2: "0 <= lt_p <= 1/c: l and l_p grow",
    3: "lt_p > 1/c: l and l_p shrink",
}

_RATE_NAMES = ("c", "eps", "eta", "z_norm", "p_norm", "r1", "r2")


class EigenParameters(eqx.Module):
    """Arguments of the SimSiam eigen-dynamics vector fields (003 Eqs 54-55)."""

    c: jax.Array
    eps: jax.Array
    eta: jax.Array
    z_norm: jax.Array
    p_norm: jax.Array
    r1: jax.Array
    r2: jax.Array


def _rates(l_p, l, c, eps, eta, z_norm, p_norm, r1, r2):
    lt_p = z_norm / p_norm * l_p
    drive = (1.0 - c * lt_p) * l + eps
    dl_p = r1 * z_norm / p_norm * drive - r1 * eta * l_p
    dl = 2.0 * r2 * l_p / (z_norm * p_norm) * drive - 2.0 * r2 * eta * l
    return dl_p, dl


def eigen_rates(
    l_p: Any, l: Any, *, c: Any = 1.0, eps: Any = 0.0, eta: Any = 0.0, z_norm: Any = 1.0, p_norm: Any = 1.0,
    r1: Any = 1.0, r2: Any = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """``(dl_p/dt, dl/dt)`` of one dimension: the diagonal of 003 Eqs 54-55 (broadcasting).

    >>> dl_p, dl = eigen_rates(l_p=0.5, l=0.2, c=1.0)   # phase 2: both grow
    >>> round(float(dl_p), 6), round(float(dl), 6)
    (0.1, 0.1)
    """
    a = _companion(l_p=l_p, l=l, c=c, eps=eps, eta=eta, z_norm=z_norm, p_norm=p_norm, r1=r1, r2=r2)
    return _rates(a["l_p"], a["l"], *(a[name] for name in _RATE_NAMES))


def simsiam_eigen_vector_field(t, y, args: EigenParameters):
    """Diagonal 003 Eqs 54-55 on ``y = (l_p, l)`` (first axis)."""
    dl_p, dl = _rates(y[0], y[1], args.c, args.eps, args.eta, args.z_norm, args.p_norm, args.r1, args.r2)
    return jnp.stack([dl_p, dl])


def simsiam_eigen_matrix_vector_field(t, y, args: EigenParameters):
    """Matrix 003 Eqs 54-55 on ``y = (Lambda_p, Lambda)``; here ``args.eps`` is the ``d x d`` matrix."""
    lambda_p, lam = y
    d = lam.shape[-1]
    ratio = args.z_norm / args.p_norm
    drive = (jnp.eye(d, dtype=lam.dtype) - args.c * ratio * lambda_p) @ lam + args.eps
    d_lambda_p = args.r1 * ratio * drive - args.r1 * args.eta * lambda_p
    d_lambda = (
        args.r2 / (args.z_norm * args.p_norm) * (lambda_p.T @ drive + drive.T @ lambda_p)
        - 2.0 * args.r2 * args.eta * lam
    )
    return d_lambda_p, d_lambda


#: Domains of the companions' arguments: those of the declared parameters of 003 Eqs 54-55, and
#: ``l`` an eigenvalue of the correlation, ``>= 0`` (:func:`invariant`, an identity of the flow
#: read off saved runs, takes any real ``l``: with ``eps < 0`` the flow itself crosses ``l = 0``).
_COMPANION_DOMAINS = {
    "l_p": REAL, "l": NONNEGATIVE, "c": Interval(0.0, 1.0, lower_closed=False), "eps": REAL, "eta": NONNEGATIVE,
    "z_norm": POSITIVE, "p_norm": POSITIVE, "r1": POSITIVE, "r2": POSITIVE,
}


def _companion(**values: Any) -> dict[str, jax.Array]:
    return arguments(**{name: (value, _COMPANION_DOMAINS[name]) for name, value in values.items()})


def _phase_code(lt_p, c):
    code = jnp.where(lt_p < 0, 1, jnp.where(lt_p <= 1.0 / c, 2, 3))
    return jnp.where(jnp.isnan(lt_p), 0, code).astype(jnp.int8)


def phase(l_p: Any, *, c: Any = 1.0, z_norm: Any = 1.0, p_norm: Any = 1.0) -> jax.Array:
    """The case of 003 Sec 4.2 that ``l_p`` lies in: 1 (``lt_p < 0``), 2 (``0 <= lt_p <= 1/c``), 3 (``lt_p > 1/c``).

    ``lt_p = (z_norm / p_norm) l_p``. The boundaries ``lt_p = 0`` and ``lt_p = 1/c`` (where the
    paper's cases overlap) go to case 2. See :data:`PHASES`.

    >>> phase([-0.1, 0.0, 0.5, 1.0, 1.2], c=1.0).tolist()
    [1, 2, 2, 2, 3]
    """
    a = _companion(l_p=l_p, c=c, z_norm=z_norm, p_norm=p_norm)
    return _phase_code(a["z_norm"] / a["p_norm"] * a["l_p"], a["c"])


def _collapsed(l, collapse_tol):
    """``l(t) <= collapse_tol * max_{s <= t} l(s)`` along the last (time) axis, for ``[..., time]``."""
    running_max = jax.lax.cummax(jnp.where(jnp.isnan(l), -jnp.inf, l), axis=l.ndim - 1)
    return (l <= collapse_tol * running_max) | (running_max <= 0)


_RATE_PARAMETERS = (
    Parameter("c", Interval(0.0, 1.0, lower_closed=False), 1.0, "the cosine z_2^T p_1, close to 1"),
    Parameter("eps", REAL, 0.0, "the augmentation term epsilon_i (either sign)"),
    Parameter("eta", NONNEGATIVE, 0.0, "weight decay"),
    Parameter("z_norm", POSITIVE, 1.0, "||z||, held constant"),
    Parameter("p_norm", POSITIVE, 1.0, "||p||, held constant"),
    Parameter("r1", POSITIVE, 1.0, "learning rate of W_p"),
    Parameter("r2", POSITIVE, 1.0, "learning rate of z"),
)


def _eigen_outputs(ys, values: Values):
    l_p, l = ys[..., 0], ys[..., 1]
    ratio = jnp.asarray(values["z_norm"] / values["p_norm"])[..., None].astype(l_p.dtype)
    c = jnp.asarray(values["c"])[..., None].astype(l_p.dtype)
    lt_p = ratio * l_p
    return {"l_p": l_p, "l": l, "lt_p": lt_p, "phase": _phase_code(lt_p, c),
            "collapsed": _collapsed(l, values["collapse_tol"])}


#: The declaration of the diagonal 003 Eqs 54-55 (each dimension a batch entry).
SIMSIAM_EIGEN = register(System(
    name="simsiam_eigen",
    paper="003 Thm 4, Eqs 54-55 (diagonal)",
    summary="SimSiam local eigen-dynamics of one dimension: predictor eigenvalue l_p and correlation eigenvalue l",
    parameters=(
        Parameter("l_p0", REAL, REQUIRED, "initial predictor eigenvalue lambda_p^i"),
        Parameter("l0", NONNEGATIVE, REQUIRED, "initial correlation eigenvalue lambda^i"),
        *_RATE_PARAMETERS,
        Parameter("collapse_tol", Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True), 1e-3,
                  "collapsed when l(t) <= collapse_tol * max_{s<=t} l(s)"),
    ),
    initial_state=lambda v: jnp.stack([v["l_p0"], v["l0"]], axis=-1),
    args=lambda v: EigenParameters(**{name: v[name] for name in _RATE_NAMES}),
    field=lambda settings: simsiam_eigen_vector_field,
    outputs=_eigen_outputs,
    t1=DEFAULT_T1,
    num_points=DEFAULT_NUM_POINTS,
    example={"l_p0": [-0.5, 0.3, 1.2], "l0": [0.1, 0.2, 0.6]},
))


def simulate_simsiam_eigen(
    l_p0: Any,
    l0: Any,
    *,
    c: Any = 1.0,
    eps: Any = 0.0,
    eta: Any = 0.0,
    z_norm: Any = 1.0,
    p_norm: Any = 1.0,
    r1: Any = 1.0,
    r2: Any = 1.0,
    collapse_tol: float = 1e-3,
    **run: Any,
) -> Trajectory:
    r"""Integrate the diagonal SimSiam eigen-dynamics (003 Eqs 54-55 per dimension; see the module doc).

    .. math::

        \dot l_p = r_1 \tfrac{\|z\|}{\|p\|}[(1 - c\tilde l_p) l + \epsilon] - r_1\eta l_p,\quad
        \dot l = \tfrac{2 r_2 l_p}{\|z\|\|p\|}[(1 - c\tilde l_p) l + \epsilon] - 2 r_2\eta l,\quad
        \tilde l_p = \tfrac{\|z\|}{\|p\|} l_p.

    Dimensions are independent, so a dimension is simply a batch entry: give ``l_p0``, ``l0``
    (and a per-dimension ``eps``) as arrays whose last axis is the dimension ``i``. Every numeric
    argument broadcasts with NumPy rules.

    Args:
        l_p0: initial predictor eigenvalues ``lambda_p^i`` (any real).
        l0: initial correlation eigenvalues ``lambda^i >= 0``.
        c: the cosine ``z_2^T p_1``, ``0 < c <= 1`` (close to 1 in the paper).
        eps: the augmentation term ``epsilon_i`` (small, either sign).
        eta: weight decay ``>= 0``.
        z_norm, p_norm: ``||z||`` and ``||p||``, held constant, ``> 0``.
        r1, r2: learning rates of ``W_p`` and ``z``, ``> 0``.
        collapse_tol: a dimension counts as collapsed at time ``t`` when
            ``l(t) <= collapse_tol * max_{s <= t} l(s)`` (``0 < collapse_tol < 1``).
        **run: ``t1``, ``num_points``, ``ts``, ``options`` (or ``rtol``, ``atol``,
            ``max_steps``, ``bound``, ``solver``, ``schedule``), ``dtype``: as in
            :func:`ssl_odes.simulate`.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``l_p``, ``l``, ``lt_p`` ``[*batch, time]``, the
        phase code ``phase`` (1, 2, 3 of :data:`PHASES`; 0 after a failure) and the boolean
        ``collapsed``, both ``[*batch, time]``. The end state of each dimension is
        ``res.final("collapsed")`` (True: collapsed, False: surviving, within the window).

    Example:
        >>> import numpy as np, ssl_odes
        >>> res = ssl_odes.simulate_simsiam_eigen(l_p0=[-0.5, 0.3, 1.2], l0=[0.1, 0.2, 0.6], t1=200.0)
        >>> res.phase[:, 0].tolist()                    # the three cases of Sec 4.2
        [1, 2, 3]
        >>> res.final("collapsed").tolist()             # case 1 with l0 < l_p0^2 collapses
        [True, False, False]
        >>> np.round(res.final("lt_p")[1:], 4).tolist()  # survivors settle at lt_p = 1/c
        [1.0, 1.0]
    """
    return simulate(SIMSIAM_EIGEN, l_p0=l_p0, l0=l0, c=c, eps=eps, eta=eta, z_norm=z_norm, p_norm=p_norm, r1=r1,
                    r2=r2, collapse_tol=collapse_tol, **run)


simulate_simsiam_eigen.system = SIMSIAM_EIGEN


def _psd_batch(name: str, value: np.ndarray) -> np.ndarray:
    """``[*batch, d, d]`` symmetric PSD (a correlation matrix), within 1e-12 relative."""
    if value.shape[-1] != value.shape[-2]:
        raise ValueError(f"{name} must have shape [..., d, d]; got shape {value.shape}")
    scale = max(1.0, float(np.max(np.abs(value))))
    asymmetry = float(np.max(np.abs(value - np.swapaxes(value, -1, -2))))
    if asymmetry > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric (a correlation matrix); got max|{name} - {name}^T| = {asymmetry:g}")
    smallest = float(np.min(np.linalg.eigvalsh(value)))
    if smallest < -1e-12 * scale:
        raise ValueError(f"{name} must be positive semi-definite; got an eigenvalue {smallest:g}")
    return value


def _square_batch(name: str, value: np.ndarray) -> np.ndarray:
    if value.shape[-1] != value.shape[-2]:
        raise ValueError(f"{name} must have shape [..., d, d]; got shape {value.shape}")
    return value


def _check_matrix_sizes(values: Values):
    d = values["Lambda0"].shape[-1]
    if values["Lambda_p0"].shape[-1] != d:
        raise ValueError(f"Lambda_p0 and Lambda0 must have the same d; got shapes {values.given['Lambda_p0'].shape} "
                         f"and {values.given['Lambda0'].shape}")
    if values["eps"].shape[-1] != d:
        raise ValueError(f"eps must broadcast to [..., d, d] with d={d}; got shape {values.given['eps'].shape}")


def _matrix_outputs(ys, values: Values):
    lambda_p, lam = ys
    symmetric = (lam + jnp.swapaxes(lam, -1, -2)) / 2.0
    return {"Lambda_p": lambda_p, "Lambda": lam, "eigenvalues": jnp.linalg.eigvalsh(symmetric)}


#: The declaration of the matrix 003 Eqs 54-55 (non-diagonal Lambda_p, Lambda).
SIMSIAM_EIGEN_MATRIX = register(System(
    name="simsiam_eigen_matrix",
    paper="003 Thm 4, Eqs 54-55 (matrix)",
    summary="SimSiam local eigen-dynamics of the matrices Lambda_p and Lambda in the eigenbasis",
    parameters=(
        Parameter("Lambda_p0", Matrix("a real square matrix [..., d, d]", _square_batch, batched=True, axes="d d"), REQUIRED,
                  "initial predictor in the eigenbasis"),
        Parameter("Lambda0", Matrix("a symmetric PSD matrix [..., d, d]", _psd_batch, batched=True, axes="d d"), REQUIRED,
                  "initial correlation in the eigenbasis"),
        Parameter("eps", Matrix("a real matrix [..., d, d]", batched=True, axes="d d"), REQUIRED,
                  "the augmentation matrix E[eps alpha_z1^T] (the wrapper fills a scalar or row)"),
        *(p for p in _RATE_PARAMETERS if p.name != "eps"),
    ),
    initial_state=lambda v: (v["Lambda_p0"], v["Lambda0"]),
    args=lambda v: EigenParameters(**{name: v[name] for name in _RATE_NAMES}),
    field=lambda settings: simsiam_eigen_matrix_vector_field,
    outputs=_matrix_outputs,
    check=_check_matrix_sizes,
    record=lambda v: ("c", "eta", "z_norm", "p_norm", "r1", "r2"),
    t1=DEFAULT_T1,
    num_points=DEFAULT_NUM_POINTS,
    example={"Lambda_p0": np.diag([0.3, 0.6]), "Lambda0": np.diag([0.2, 0.4]), "eps": np.zeros((2, 2)),
             "eta": [0.0, 0.01]},
))


def simulate_simsiam_eigen_matrix(
    Lambda_p0: Any,
    Lambda0: Any,
    *,
    c: Any = 1.0,
    eps: Any = 0.0,
    eta: Any = 0.0,
    z_norm: Any = 1.0,
    p_norm: Any = 1.0,
    r1: Any = 1.0,
    r2: Any = 1.0,
    **run: Any,
) -> Trajectory:
    r"""Integrate the matrix SimSiam eigen-dynamics of 003 Eqs 54-55 (non-diagonal ``Lambda_p``, ``Lambda``).

    Args:
        Lambda_p0: initial predictor in the eigenbasis, ``[*batch, d, d]`` (any real matrix).
        Lambda0: initial correlation, ``[*batch, d, d]``, symmetric positive semi-definite.
        eps: the augmentation matrix ``epsilon = E[eps alpha_z1^T]``, broadcastable to
            ``[*batch, d, d]`` (a scalar fills every entry; use ``np.diag(v)`` for a diagonal).
        c, eta, z_norm, p_norm, r1, r2: scalars or arrays broadcastable to the batch shape, as
            in :func:`simulate_simsiam_eigen`.
        **run: output grid, ``options`` and ``dtype``, as in :func:`ssl_odes.simulate`.

    Returns:
        A :class:`~ssl_odes.Trajectory` with ``Lambda_p`` and ``Lambda`` ``[*batch, time, d, d]``
        and ``eigenvalues`` (of the symmetric part of ``Lambda``, ascending) ``[*batch, time, d]``.
        Its ``params`` record the scalar parameters (not the matrices).

    Example:
        >>> import numpy as np, ssl_odes
        >>> res = ssl_odes.simulate_simsiam_eigen_matrix(np.diag([0.3, 0.6]), np.diag([0.2, 0.4]), t1=50.0, num_points=11)
        >>> res.Lambda.shape
        (11, 2, 2)
        >>> np.round(np.diag(res.final("Lambda_p")), 4).tolist()   # diagonal start: lt_p -> 1/c per dimension
        [1.0, 1.0]
    """
    eps = validate("eps", eps, REAL)
    d = np.shape(Lambda0)[-1] if np.ndim(Lambda0) >= 2 else 1
    if eps.ndim < 2:
        eps = np.broadcast_to(eps, (d, d))  # a scalar fills every entry, a vector repeats as rows
    elif eps.shape[-2:] in ((1, d), (d, 1), (1, 1)):
        eps = np.broadcast_to(eps, eps.shape[:-2] + (d, d))
    return simulate(SIMSIAM_EIGEN_MATRIX, Lambda_p0=Lambda_p0, Lambda0=Lambda0, eps=eps, c=c, eta=eta,
                    z_norm=z_norm, p_norm=p_norm, r1=r1, r2=r2, **run)


simulate_simsiam_eigen_matrix.system = SIMSIAM_EIGEN_MATRIX


# --------------------------------------------------------------------------------------------
# Analytic companions
# --------------------------------------------------------------------------------------------


def invariant(l_p: Any, l: Any, *, r1: Any = 1.0, r2: Any = 1.0, z_norm: Any = 1.0) -> jax.Array:
    """``l - r2 l_p^2 / (r1 ||z||^2)``: constant along the diagonal flow when ``eta = 0`` (any ``c``, ``eps``).

    Derived from the diagonal Eqs 54-55: ``dl/dt = (2 r2 l_p / (r1 ||z||^2)) dl_p/dt`` when
    ``eta = 0``. With ``eta > 0`` and ``r1 = r2`` it decays as ``exp(-2 r2 eta t)``; with
    ``r1 != r2`` it obeys no closed law. (Not in 003; the analogue of 002 Eq 14.)

    >>> float(invariant(l_p=1.0, l=0.5, r1=1.0, r2=1.0, z_norm=2.0))
    0.25
    """
    # l is any real here: with eps < 0 the diagonal flow can drive l below zero (then on to a blow-up)
    a = arguments(l_p=(l_p, REAL), l=(l, REAL), r1=(r1, POSITIVE), r2=(r2, POSITIVE), z_norm=(z_norm, POSITIVE))
    return a["l"] - a["r2"] / (a["r1"] * a["z_norm"] ** 2) * a["l_p"] ** 2


def fixed_points(
    *, c: Any = 1.0, eta: Any = 0.0, z_norm: Any = 1.0, p_norm: Any = 1.0
) -> dict[str, tuple[jax.Array, jax.Array]]:
    r"""Non-collapsed fixed points ``(l_p, l)`` of the diagonal flow with ``eps = 0``.

    With ``eta > 0``: ``dl = 0`` with ``l != 0`` needs ``u (1 - c u) = eta ||z||^2`` for
    ``u = lt_p``, i.e.

    .. math:: u_\pm = \frac{1 \pm \sqrt{1 - 4 c \eta \|z\|^2}}{2c},\qquad
              l_\pm = \Big(\frac{\|p\|\, u_\pm}{\|z\|^2}\Big)^2,\qquad l_{p,\pm} = \frac{\|p\|}{\|z\|} u_\pm,

    the same for every dimension. They exist for ``4 c eta ||z||^2 <= 1`` and are NaN beyond
    that (then every dimension collapses). With ``eta = 0``: ``u_+ = 1/c`` with *any* ``l``
    (a line of fixed points; ``l_plus`` is NaN) and ``u_- = 0`` with ``l_- = 0``. The collapsed
    fixed point ``(0, 0)`` always exists (for ``eta = 0``, every ``(l_p, 0)`` is one).

    Returns ``{"minus": (l_p, l), "plus": (l_p, l)}``.

    >>> fp = fixed_points(c=1.0, eta=0.16)
    >>> [round(float(v), 4) for v in fp["plus"]], [round(float(v), 4) for v in fp["minus"]]
    ([0.8, 0.64], [0.2, 0.04])
    """
    p = _companion(c=c, eta=eta, z_norm=z_norm, p_norm=p_norm)
    c, eta, z_norm, p_norm = p["c"], p["eta"], p["z_norm"], p["p_norm"]
    disc = 1.0 - 4.0 * c * eta * z_norm**2
    root = jnp.sqrt(jnp.where(disc >= 0, disc, jnp.nan))
    out = {}
    for name, u in (("minus", (1.0 - root) / (2.0 * c)), ("plus", (1.0 + root) / (2.0 * c))):
        l_value = (p_norm * u / z_norm**2) ** 2
        if name == "plus":
            l_value = jnp.where(eta == 0, jnp.nan, l_value)
        out[name] = (p_norm / z_norm * u, l_value)
    return out


def classify_eigen_fixed_point(
    l_p: float, l: float, *, c: float = 1.0, eps: float = 0.0, eta: float = 0.0, z_norm: float = 1.0,
    p_norm: float = 1.0, r1: float = 1.0, r2: float = 1.0, zero_tol: float | None = None,
) -> FixedPointStability:
    """Jacobian stability (``jax.jacfwd``) of a fixed point ``(l_p, l)`` of the diagonal flow.

    >>> fp = fixed_points(c=1.0, eta=0.16)
    >>> classify_eigen_fixed_point(*map(float, fp["plus"]), eta=0.16).label
    'stable'
    >>> classify_eigen_fixed_point(*map(float, fp["minus"]), eta=0.16).label
    'saddle'
    """
    values = {"c": c, "eps": eps, "eta": eta, "z_norm": z_norm, "p_norm": p_norm, "r1": r1, "r2": r2}
    scalars = {name: validate(name, value, dataclasses.replace(_COMPANION_DOMAINS[name], scalar=True))
               for name, value in {**values, "l_p": l_p, "l": l}.items()}
    if zero_tol is not None:
        zero_tol = validate("zero_tol", zero_tol, Interval(0.0, lower_closed=False, scalar=True))
    state = [scalars.pop("l_p"), scalars.pop("l")]
    dtype = jnp.result_type(float)
    args = EigenParameters(**{name: jnp.asarray(value, dtype) for name, value in scalars.items()})
    return classify_fixed_point(simsiam_eigen_vector_field, jnp.asarray(state, dtype), args, zero_tol=zero_tol)
