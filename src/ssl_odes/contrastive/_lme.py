r"""Locally maximal eigenvectors (LMEs) and power iteration (001 Def 3, Eq PI, Thms 1 and 3, Def 4).

For the operator ``A(w) = C_alpha[x~^w]`` of :mod:`._one_layer`:

* **LME** (Def 3): ``A(w*) w* = lambda* w*`` with ``lambda*`` the *distinct* largest eigenvalue
  of ``A(w*)``. Every LME is a zero of the flow (Eq 7).
* **Power iteration** (Eq PI): ``w <- A(w) w / ||A(w) w||``. When ``A(w)`` is not positive
  definite it runs on ``A^(w) = A(w) - lambda_min(w) I + eps I`` (App. B.4), whose eigenvectors
  are those of ``A(w)`` and whose fixed points are the same (Eq 104:
  ``P_w A^(w) w = P_w A(w) w``). Here ``eps`` is relative: ``eps * max|lambda(A(w))|``.
* **Notation of Sec 3.2**: ``lambda_i(w)`` the i-th largest eigenvalue, ``phi_i(w)`` its unit
  eigenvector, ``lambda_gap = lambda_1 - lambda_2``, ``c(w) = w^T phi_1(w)`` (``phi_1``'s sign
  chosen so that ``c >= 0``, as the proof of Thm 3 allows).
* **Local roughness** ``rho(w)``: the smallest ``rho`` with
  ``||(A(v) - A(w)) w|| <= rho ||v - w|| + O(||v - w||^2)`` near ``w``. Estimated numerically as
  the larger of (i) the operator norm of ``d/dv [A(v) w]`` on the tangent space (``jax.jacfwd``;
  exact for a smooth ``A``; zero for ReLU on a finite sample, where ``A`` is locally constant
  unless a sample lies on the plane ``w^T x = 0``) and (ii) finite differences along sampled
  tangent directions at a small radius (which sees kinks within that radius).
* **Theorem 1**: ``lambda_gap(w*) > rho(w*)`` at an LME implies it is stable. The check here
  compares this with the eigenvalues of the flow's Jacobian on the tangent space at ``w*``
  (``J_T = B^T dF/dw B``, ``B`` an orthonormal basis of ``w*^perp``); the proof gives
  ``u^T J_T u <= -(lambda_gap - rho) ||u||^2``.
* **Irregularity** ``omega(w)`` (Def 4, Eq 10) given the Lipschitz constant ``L`` of ``A`` and
  the eigenvector bound ``kappa`` (Lemma 9), and the neighbourhood ``B_gamma`` of Theorem 3 with
  condition (11) checked on sampled points.

**Basins.** :func:`find_lmes` runs PI (and optionally the flow, through the package integrator)
from many uniform random starts, deduplicates the limits (``w`` and ``-w`` are different points:
under ReLU they gate different samples) and reports, per fixed point, the fraction of starts
that reach it under each dynamics.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import Array, Flag, Integer, Interval, validate
from .._core.stability import jacobian
from ._activations import gated_input
from ._one_layer import ContrastiveOperator, _projected, random_unit_vectors, simulate_one_layer

__all__ = [
    "PowerIteration",
    "FixedPointReport",
    "LMESearch",
    "power_iteration",
    "pd_shift",
    "fixed_point_report",
    "find_lmes",
    "local_roughness",
    "tangent_jacobian",
    "irregularity",
    "theorem3_neighbourhood",
]

_EPS = Interval(0.0, 1.0, lower_closed=False, scalar=True)
_POSITIVE_SCALAR = Interval(0.0, math.inf, lower_closed=False, scalar=True)


def _operator(op: Any) -> ContrastiveOperator:
    if not isinstance(op, ContrastiveOperator):
        raise TypeError(f"op must be a ContrastiveOperator (from contrastive_operator(...)); got {type(op).__name__}")
    if op.x.ndim != 2:
        raise ValueError(f"op must be one dataset's operator (x of shape [N, d]); got x of shape {op.x.shape}")
    return op


def _unit(name: str, w: Any, d: int, ndim: int | None = None) -> np.ndarray:
    from ._one_layer import _unit_rows

    arr = validate(name, w, Array(doc="a finite real array of unit vectors"))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes (its last axis of size d={d}); got shape {arr.shape}")
    if arr.ndim == 0 or arr.shape[-1] != d:
        raise ValueError(f"{name} must have last axis d={d} (the data dimension); got shape {arr.shape}")
    return _unit_rows(name, arr)


def pd_shift(A: jax.Array, eps: float) -> jax.Array:
    """App. B.4's ``A - lambda_min I + eps' I`` (``eps' = eps max|lambda|``) when ``A`` is not PD, else ``A``.

    Where ``A = 0`` (ReLU with every sample gated out) ``eps' = eps``: every ``w`` is then a fixed
    point of Eq 7 and of PI.

    >>> pd_shift(jnp.diag(jnp.array([1.0, -1.0])), 0.5).tolist()
    [[2.5, 0.0], [0.0, 0.5]]
    """
    lam = jnp.linalg.eigvalsh(A)
    radius = jnp.max(jnp.abs(lam))
    scale = jnp.where(radius > 0, radius, 1.0)  # A = 0 (every sample gated out): A^ = eps I, w stays put
    shift = jnp.where(lam[0] > 0, 0.0, -lam[0] + eps * scale)
    return A + shift * jnp.eye(A.shape[0], dtype=A.dtype)


class PowerIteration(eqx.Module):
    """Result of :func:`power_iteration`: final iterates ``w`` ``[B, d]``, the history of
    ``||w(t+1) - w(t)||`` ``[B, steps]`` (001 Fig 1 right) and whether the last step moved less
    than ``tol``."""

    w: jax.Array
    history: jax.Array
    converged: jax.Array


@eqx.filter_jit
def _pi_run(op, w0, steps, eps):
    def one(w):
        def step(w, _):
            v = pd_shift(op(w), eps) @ w
            w_next = v / jnp.linalg.norm(v)
            return w_next, jnp.linalg.norm(w_next - w)

        return jax.lax.scan(step, w, None, length=steps)

    return jax.vmap(one)(w0)


def power_iteration(op: ContrastiveOperator, w0: Any, *, steps: int = 300, eps: float = 1e-3,
                    tol: float = 1e-10) -> PowerIteration:
    """Eq PI, ``w(t+1) = A^(w(t)) w(t) / ||A^(w(t)) w(t)||``, vmapped over a batch of starts ``w0`` ``[B, d]``.

    ``A^`` is ``A`` itself where ``A(w)`` is positive definite and App. B.4's shift
    ``A - lambda_min I + eps max|lambda| I`` elsewhere (same eigenvectors, same fixed points).

    Args:
        op: the operator ``A(w)`` (:func:`contrastive_operator`).
        w0: unit starts ``[B, d]`` (or one ``[d]``).
        steps: number of iterations (integer >= 1).
        eps: the shift's margin, relative to the spectral radius, ``0 < eps < 1``.
        tol: a run has converged when its last step moved less than ``tol``.

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> x = np.random.default_rng(0).normal(size=(40, 2)) * [3.0, 1.0]
    >>> pi = power_iteration(contrastive_operator(x, activation="linear"), [[0.6, 0.8], [-0.6, 0.8]], steps=200)
    >>> np.abs(np.asarray(pi.w)[:, 0]).round(2).tolist(), pi.history.shape  # PCA direction, up to sign
    ([1.0, 1.0], (2, 200))
    """
    op = _operator(op)
    steps = validate("steps", steps, Integer(1))
    eps = validate("eps", eps, _EPS)
    tol = validate("tol", tol, _POSITIVE_SCALAR)
    w0 = _unit("w0", w0, op.dim)
    single = w0.ndim == 1
    w0 = jnp.asarray(w0.reshape(-1, op.dim), dtype=op.x.dtype)
    w, history = _pi_run(op, w0, steps, eps)
    if single:
        w, history = w[0], history[0]
    return PowerIteration(w=w, history=history, converged=history[..., -1] < tol)


@eqx.filter_jit
def _flow_jacobian(op, w):
    return jacobian(lambda t, v, a: _projected(a, v), w, op)


@eqx.filter_jit
def _roughness_kernels(op, w, v):
    """``d/dv [A(v) w]`` at ``v = w``, ``A(w) w`` and ``A(v_j) w`` for the rows ``v_j`` of ``v``."""
    D = jax.jacfwd(lambda u: op(u) @ w)(w)
    return D, op(w) @ w, jax.vmap(lambda u: op(u) @ w)(v)


def _tangent_basis(w: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``[d, d-1]`` of ``w^perp``."""
    u, _, _ = np.linalg.svd(np.asarray(w)[:, None], full_matrices=True)
    return u[:, 1:]


def tangent_jacobian(op: ContrastiveOperator, w: Any) -> np.ndarray:
    """``B^T (dF/dw) B`` at ``w``, ``F(w) = (I - w w^T) A(w) w`` (Eq 7), ``B`` a basis of ``w^perp`` (``jax.jacfwd``).

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> op = contrastive_operator(np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), activation="linear")
    >>> tangent_jacobian(op, [1.0, 0.0]).round(6).tolist()  # lambda_2 - lambda_1 = 0.5 - 2
    [[-1.5]]
    """
    op = _operator(op)
    w = _unit("w", w, op.dim, ndim=1)
    J = np.asarray(_flow_jacobian(op, jnp.asarray(w, op.x.dtype)))
    B = _tangent_basis(w)
    return B.T @ J @ B


def local_roughness(op: ContrastiveOperator, w: Any, *, radius: float = 1e-5, num_directions: int = 16,
                    seed: int = 0) -> float:
    """Numerical local roughness ``rho(w)`` (001 Sec 3.2): see the module docstring.

    ``max(||D B||_2, max_u ||(A(v_u) - A(w)) w|| / ||v_u - w||)`` with ``D = d/dv [A(v) w]`` at
    ``v = w`` (``jax.jacfwd``), ``B`` a basis of ``w^perp`` and ``v_u = cos(r) w + sin(r) u`` for
    the ``2 (d - 1)`` directions ``+/-B`` and ``num_directions`` random unit tangent ``u``.

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> op = contrastive_operator(np.random.default_rng(0).normal(size=(30, 3)), activation="linear")
    >>> local_roughness(op, [1.0, 0.0, 0.0])  # A(w) does not depend on w
    0.0
    """
    op = _operator(op)
    w = _unit("w", w, op.dim, ndim=1)
    radius = validate("radius", radius, Interval(0.0, 0.5, lower_closed=False, scalar=True))
    num_directions = validate("num_directions", num_directions, Integer(0))
    B = _tangent_basis(w)
    rng = np.random.default_rng(validate("seed", seed, Integer(0)))
    random_dirs = rng.normal(size=(num_directions, B.shape[1])) @ B.T if B.shape[1] else np.zeros((0, op.dim))
    dirs = np.concatenate([B.T, -B.T, random_dirs], axis=0)
    dirs = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    v = np.cos(radius) * w[None, :] + np.sin(radius) * dirs
    D, Aw, Av = _roughness_kernels(op, jnp.asarray(w, op.x.dtype), jnp.asarray(v, op.x.dtype))
    D = np.asarray(D)
    rho_linear = float(np.linalg.norm(D @ B, 2)) if B.shape[1] else 0.0
    ratios = np.linalg.norm(np.asarray(Av - Aw), axis=1) / np.linalg.norm(v - w[None, :], axis=1)
    return float(max(rho_linear, float(np.max(ratios)) if ratios.size else 0.0))


@dataclasses.dataclass(frozen=True)
class FixedPointReport:
    """What :func:`fixed_point_report` measures at a point ``w`` (001 Sec 3.2 notation)."""

    w: np.ndarray
    lambda_1: float
    lambda_2: float
    lambda_gap: float
    c: float  # w^T phi_1(w), phi_1 oriented so that c >= 0
    residual: float  # ||(I - w w^T) A(w) w||, zero at a fixed point of Eq 7
    is_fixed_point: bool
    is_lme: bool  # Def 3: fixed point, w = phi_1(w), lambda_1 distinct
    rho: float
    theorem1: bool  # lambda_gap > rho (and an LME): Theorem 1 predicts stability
    tangent_eigenvalues: np.ndarray  # of the flow's Jacobian on w^perp
    stable: bool  # every tangent eigenvalue has a negative real part


def fixed_point_report(op: ContrastiveOperator, w: Any, *, tol: float = 1e-7, radius: float = 1e-5,
                       seed: int = 0) -> FixedPointReport:
    """Def 3, Thm 1 and the tangent Jacobian at ``w``.

    ``tol`` is relative to the spectral radius of ``A(w)``: ``w`` is a fixed point when
    ``||P A(w) w|| <= tol max|lambda|``, and an LME when moreover ``c(w) >= 1 - tol`` and
    ``lambda_gap > tol max|lambda|``. Tangent eigenvalues within ``tol max|lambda|`` of zero do not
    count as negative.

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> op = contrastive_operator(np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), activation="linear")
    >>> r = fixed_point_report(op, [1.0, 0.0])
    >>> r.is_lme, r.lambda_gap, r.theorem1, r.stable
    (True, 1.5, True, True)
    """
    op = _operator(op)
    w = _unit("w", w, op.dim, ndim=1)
    tol = validate("tol", tol, _POSITIVE_SCALAR)
    seed = validate("seed", seed, Integer(0))
    A = np.asarray(op(jnp.asarray(w, op.x.dtype)))
    lam, vec = np.linalg.eigh(A)
    lam, vec = lam[::-1], vec[:, ::-1]
    scale = max(float(np.max(np.abs(lam))), np.finfo(float).tiny)
    lambda_2 = float(lam[1]) if lam.size > 1 else -math.inf
    gap = float(lam[0] - lambda_2)
    c = abs(float(w @ vec[:, 0]))
    Aw = A @ w
    residual = float(np.linalg.norm(Aw - (w @ Aw) * w))
    is_fp = residual <= tol * scale
    is_lme = bool(is_fp and c >= 1 - tol and gap > tol * scale)
    rho = local_roughness(op, w, radius=radius, seed=seed)
    tangent = np.linalg.eigvals(tangent_jacobian(op, w)) if op.dim > 1 else np.zeros(0)
    stable = bool(np.all(tangent.real < -tol * scale))
    return FixedPointReport(w=w, lambda_1=float(lam[0]), lambda_2=lambda_2, lambda_gap=gap, c=c, residual=residual,
                            is_fixed_point=bool(is_fp), is_lme=is_lme, rho=rho, theorem1=bool(is_lme and gap > rho),
                            tangent_eigenvalues=tangent, stable=stable)


@dataclasses.dataclass(frozen=True)
class LMESearch:
    """Result of :func:`find_lmes`: the distinct fixed points reached from random starts.

    ``reports[i]`` describes ``points[i]``; ``basin_pi[i]`` / ``basin_flow[i]`` are the fractions
    of the ``num_starts`` starts whose PI / flow limit is ``points[i]`` (``basin_flow`` is None
    without ``flow=True``); ``unassigned_pi`` / ``unassigned_flow`` the fractions that converged
    nowhere within the budget (or, for the flow, to no point that PI found).
    """

    points: np.ndarray
    reports: tuple[FixedPointReport, ...]
    basin_pi: np.ndarray
    basin_flow: np.ndarray | None
    unassigned_pi: float
    unassigned_flow: float | None
    num_starts: int

    @property
    def is_lme(self) -> np.ndarray:
        return np.array([r.is_lme for r in self.reports], dtype=bool)

    @property
    def lmes(self) -> np.ndarray:
        """The points that are LMEs (Def 3), ``[num_lmes, d]``."""
        return self.points[self.is_lme] if len(self.points) else self.points

    def table(self) -> str:
        """One line per point: basin shares, ``lambda_1``, ``lambda_gap``, ``c``, ``rho``, LME, Thm 1, stable."""
        lines = ["  #  basin_pi  basin_flow  lambda_1  lambda_gap       c       rho  LME  Thm1  stable"]
        for i, r in enumerate(self.reports):
            flow = "-" if self.basin_flow is None else f"{self.basin_flow[i]:.3f}"
            lines.append(f"{i:3d}  {self.basin_pi[i]:8.3f}  {flow:>10}  {r.lambda_1:8.4f}  {r.lambda_gap:10.4f}  "
                         f"{r.c:6.4f}  {r.rho:8.2e}  {r.is_lme!s:>4} {r.theorem1!s:>5}  {r.stable!s:>6}")
        return "\n".join(lines)


def _assign(points: np.ndarray, finals: np.ndarray, ok: np.ndarray, tol: float) -> np.ndarray:
    """Index of the point within ``tol`` of each final state, -1 if none (or not ``ok``)."""
    if len(points) == 0:
        return np.full(len(finals), -1)
    dist = np.linalg.norm(finals[:, None, :] - points[None, :, :], axis=-1)
    idx = np.argmin(dist, axis=1)
    return np.where(ok & (dist[np.arange(len(finals)), idx] <= tol), idx, -1)


def find_lmes(
    op: ContrastiveOperator,
    *,
    num_starts: int = 256,
    seed: int = 0,
    steps: int = 500,
    eps: float = 1e-3,
    tol: float = 1e-9,
    dedup_tol: float = 1e-5,
    flow: bool = False,
    flow_t1: float | None = None,
    flow_tol: float = 1e-3,
    flow_max_steps: int = 4096,
    starts: Any = None,
) -> LMESearch:
    """Fixed points of Eq PI from random starts, deduplicated, with Def 3 / Thm 1 reports and basin shares.

    Args:
        op: the operator ``A(w)``.
        num_starts: number of uniform random unit starts (ignored when ``starts`` is given).
        seed: seed of the starts (and of :func:`local_roughness`'s random directions).
        steps, eps, tol: :func:`power_iteration`'s settings; starts whose last PI step moved more
            than ``tol`` are counted as unassigned.
        dedup_tol: limits closer than this are one point (``w`` and ``-w`` never merge).
        flow: also integrate Eq 7 (:func:`simulate_one_layer`) from the same starts to ``flow_t1``
            (default ``200 / max lambda_1`` over the points found) and assign each final state to
            the nearest PI point within ``flow_tol``. ``flow_max_steps`` caps the solver's steps per
            start: a ReLU flow that reaches a kink chatters there and would burn any budget.
        starts: explicit unit starts ``[B, d]``.

    Returns:
        :class:`LMESearch` (``.lmes``, ``.reports``, ``.basin_pi``, ``.basin_flow``, ``.table()``).

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> x = np.random.default_rng(0).normal(size=(50, 3)) * [3.0, 1.0, 0.5]
    >>> found = find_lmes(contrastive_operator(x, activation="linear"), num_starts=16)
    >>> len(found.lmes), np.abs(found.lmes[:, 0]).round(2).tolist()  # +/- the PCA direction
    (2, [1.0, 1.0])
    """
    op = _operator(op)
    d = op.dim
    flow = validate("flow", flow, Flag())
    seed = validate("seed", seed, Integer(0))
    if starts is None:
        starts = random_unit_vectors(validate("num_starts", num_starts, Integer(1)), d, seed)
    else:
        starts = _unit("starts", starts, d, ndim=2)
    dedup_tol = validate("dedup_tol", dedup_tol, _POSITIVE_SCALAR)
    pi = power_iteration(op, starts, steps=steps, eps=eps, tol=tol)
    finals = np.asarray(pi.w)
    ok = np.asarray(pi.converged)
    points: list[np.ndarray] = []
    for w in finals[ok]:
        if not any(np.linalg.norm(w - p) <= dedup_tol for p in points):
            points.append(w)
    points_arr = np.array(points).reshape(-1, d)
    reports = tuple(fixed_point_report(op, p, seed=seed) for p in points_arr)
    owner = _assign(points_arr, finals, ok, dedup_tol)
    n = len(starts)
    basin_pi = np.array([np.mean(owner == i) for i in range(len(points_arr))])
    basin_flow = unassigned_flow = None
    if flow:
        if op.gate is not gated_input:
            raise ValueError("flow=True needs the standard gated input x h'(w^T x); this operator has a custom gate")
        if flow_t1 is None:
            top = max([r.lambda_1 for r in reports] + [np.finfo(float).tiny])
            flow_t1 = 200.0 / top
        flow_t1 = validate("flow_t1", flow_t1, _POSITIVE_SCALAR)
        flow_tol = validate("flow_tol", flow_tol, _POSITIVE_SCALAR)
        res = simulate_one_layer(np.asarray(op.x), starts[:, None, :], t1=flow_t1, num_points=2,
                                 max_steps=validate("flow_max_steps", flow_max_steps, Integer(1)),
                                 **_flow_arguments(op))
        final = np.asarray(res.final("w"))[:, 0, :]
        flow_owner = _assign(points_arr, final, np.asarray(res.status) == 0, flow_tol)
        basin_flow = np.array([np.mean(flow_owner == i) for i in range(len(points_arr))])
        unassigned_flow = float(np.mean(flow_owner < 0))
    return LMESearch(points=points_arr, reports=reports, basin_pi=basin_pi, basin_flow=basin_flow,
                     unassigned_pi=float(np.mean(owner < 0)), unassigned_flow=unassigned_flow, num_starts=n)


def _flow_arguments(op: ContrastiveOperator) -> dict[str, Any]:
    """Keyword arguments of :func:`simulate_one_layer` that rebuild ``op`` (its effective alpha)."""
    pi = None if op.weights.pi is None else np.asarray(op.weights.pi)
    kwargs: dict[str, Any] = {"x_aug": None if op.x_aug is None else np.asarray(op.x_aug), "activation": op.activation}
    if op.output_alpha is not None:
        return {**kwargs, "alpha": op.output_alpha, "tau": float(op.tau), "alpha_source": "output",
                "probs": pi if op.population else None}
    if pi is None:
        return {**kwargs, "alpha": np.asarray(op.weights.alpha)}  # dense: the effective alpha itself
    uniform = np.allclose(pi, 1.0 / pi.shape[0], rtol=0, atol=1e-15)
    return {**kwargs, "alpha": "uniform", "probs": None if uniform else pi}


def irregularity(op: ContrastiveOperator, w: Any, *, L: float, kappa: float, eps: float = 1e-3) -> dict[str, float]:
    r"""The irregularity ``omega(w)`` of 001 Def 4 (Eq 10), with its parts.

    .. math::

        \mu = \tfrac12 (1 + c) c^{-2} (1 - \lambda_{gap}/\lambda_1)^2, \qquad
        \omega = \mu + 2 \kappa L^2 (1 + \mu c) + 2 L \lambda_{gap}^{-1} \sqrt{\mu (1 + \mu c)}

    computed for ``A^(w)`` (the PD shift that :func:`power_iteration` uses, App. B.4: same
    ``c`` and ``lambda_gap``, ``lambda_1`` shifted), with ``c = |w^T phi_1(w)|``. ``L`` is the
    Lipschitz constant of ``A^`` on the sphere and ``kappa`` Lemma 9's eigenvector bound: the
    caller supplies both (``omega`` is infinite where ``c = 0`` or ``lambda_gap = 0``).

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> op = contrastive_operator(np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), activation="linear")
    >>> round(irregularity(op, [1.0, 0.0], L=0.0, kappa=0.0)["omega"], 6)  # mu = (0.5/2)^2 at c = 1
    0.0625
    """
    op = _operator(op)
    w = _unit("w", w, op.dim, ndim=1)
    L = validate("L", L, Interval(0.0, math.inf, scalar=True))
    kappa = validate("kappa", kappa, Interval(0.0, math.inf, scalar=True))
    eps = validate("eps", eps, _EPS)
    A = np.asarray(pd_shift(op(jnp.asarray(w, op.x.dtype)), eps))
    lam, vec = np.linalg.eigh(A)
    lambda_1 = float(lam[-1])
    gap = float(lam[-1] - lam[-2]) if lam.size > 1 else math.inf
    c = abs(float(w @ vec[:, -1]))
    if c == 0.0 or gap == 0.0:
        return {"omega": math.inf, "mu": math.inf, "c": c, "lambda_gap": gap, "lambda_1": lambda_1}
    mu = 0.5 * (1.0 + c) / c**2 * (1.0 - gap / lambda_1) ** 2
    omega = mu + 2.0 * kappa * L**2 * (1.0 + mu * c) + 2.0 * L / gap * math.sqrt(mu * (1.0 + mu * c))
    return {"omega": omega, "mu": mu, "c": c, "lambda_gap": gap, "lambda_1": lambda_1}


def theorem3_neighbourhood(
    op: ContrastiveOperator,
    w0: Any,
    *,
    gamma: float,
    L: float,
    kappa: float,
    num_samples: int = 128,
    seed: int = 0,
    eps: float = 1e-3,
    steps: int = 500,
) -> dict[str, Any]:
    r"""Theorem 3's neighbourhood ``B_gamma`` of ``w(0)`` and condition (11), checked on sampled points.

    ``c_0 = c(w(0))``, ``c_gamma = 2 sqrt(gamma) / (1 + gamma)`` and
    ``B_gamma = {w : w^T w(0) >= (c_0 - c_gamma) / (1 - c_gamma)}``. Condition (11),
    ``sup_{B_gamma} omega <= gamma``, is evaluated on ``num_samples`` unit vectors of the cap
    (random tangent directions, angles uniform up to the cap's edge, the edge itself included):
    a sampled supremum, a necessary check rather than a proof. Theorem 3 then predicts that PI
    from ``w(0)`` converges to a critical point inside ``B_gamma``; the PI limit is returned so a
    caller can compare.

    Returns:
        a dict with ``c0``, ``c_gamma``, ``cos_radius`` (the cap's bound on ``w^T w(0)``; below -1
        the cap is the whole sphere), ``samples`` ``[S, d]``, ``omega`` ``[S]``, ``sup_omega``,
        ``condition_holds`` (``sup_omega <= gamma``), ``w_star`` (PI limit), ``w_star_in_ball``,
        ``w_star_residual`` (``||P A w* || / max|lambda|``).

    >>> import numpy as np
    >>> from ssl_odes.contrastive import contrastive_operator
    >>> op = contrastive_operator(np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), activation="linear")
    >>> out = theorem3_neighbourhood(op, [np.cos(0.1), np.sin(0.1)], gamma=0.5, L=0.0, kappa=0.0, num_samples=8)
    >>> bool(out["condition_holds"]), bool(out["w_star_in_ball"])
    (True, True)
    """
    op = _operator(op)
    w0 = _unit("w0", w0, op.dim, ndim=1)
    gamma = validate("gamma", gamma, Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True))
    num_samples = validate("num_samples", num_samples, Integer(1))
    c0 = irregularity(op, w0, L=L, kappa=kappa, eps=eps)["c"]
    if c0 == 0.0:
        raise ValueError("w0 is orthogonal to phi_1(A(w0)) (c_0 = 0): Theorem 3 needs c_0 != 0")
    c_gamma = 2.0 * math.sqrt(gamma) / (1.0 + gamma)
    cos_radius = (c0 - c_gamma) / (1.0 - c_gamma)
    max_angle = math.pi if cos_radius <= -1.0 else math.acos(min(1.0, cos_radius))
    rng = np.random.default_rng(validate("seed", seed, Integer(0)))
    B = _tangent_basis(w0)
    dirs = rng.normal(size=(num_samples, B.shape[1])) @ B.T
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    angles = rng.uniform(0.0, max_angle, size=num_samples)
    angles[: max(1, num_samples // 8)] = max_angle  # the cap's edge
    samples = np.cos(angles)[:, None] * w0[None, :] + np.sin(angles)[:, None] * dirs
    samples /= np.linalg.norm(samples, axis=1, keepdims=True)
    omega = np.array([irregularity(op, s, L=L, kappa=kappa, eps=eps)["omega"] for s in samples])
    pi = power_iteration(op, w0, steps=steps, eps=eps)
    w_star = np.asarray(pi.w)
    A = np.asarray(op(jnp.asarray(w_star, op.x.dtype)))
    scale = max(float(np.max(np.abs(np.linalg.eigvalsh(A)))), np.finfo(float).tiny)
    Aw = A @ w_star
    return {
        "c0": c0, "c_gamma": c_gamma, "cos_radius": cos_radius, "samples": samples, "omega": omega,
        "sup_omega": float(np.max(omega)), "condition_holds": bool(np.max(omega) <= gamma), "w_star": w_star,
        "w_star_in_ball": bool(w_star @ w0 >= cos_radius - 1e-12),
        "w_star_residual": float(np.linalg.norm(Aw - (w_star @ Aw) * w_star) / scale),
    }
