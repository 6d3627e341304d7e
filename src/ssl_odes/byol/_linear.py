r"""The linear BYOL / SimSiam matrix flow and its variants (002: Tian, Chen, Ganguli 2021, Sec 2-3).

Online ``W`` (n2 x n1), predictor ``W_p`` (n2 x n2), target ``W_a`` (n2 x n1). The data enter only
through two PSD n1 x n1 matrices, ``X = E[xbar xbar^T]`` and ``X' = E_x[Var(x'|x)]``; the isotropic
case (Assumption 2) is ``X = I``, ``X' = sigma2 I``. Lemma 1:

.. math::

    G &= -W_p W (X + X') + W_a X \\
    \dot W_p &= \alpha_p G W^\top - \eta W_p                 && \text{(Eq 2)} \\
    \dot W &= W_p^\top G - \eta W                            && \text{(Eq 3)} \\
    \dot W_a &= \beta (W - W_a)                              && \text{(Eq 4)}

Variants (``variant=``):

* ``"byol"``: Eqs 2-4 as written.
* ``"simsiam"``: ``W_a == W`` (Eq 4 dropped, stop-gradient kept).
* ``"proportional_ema"``: ``W_a = tau W`` with a constant ``tau`` (Assumption 1 with ``tau`` held
  fixed; ``tau = 1`` is SimSiam). This is the setting of the reduced flow, Eq 7.
* ``"no_stopgrad"`` (Thm 2): SimSiam without stop-gradient. ``W`` follows the true gradient of
  ``J = 1/2 E||W_p W x1 - W x2||^2 = 1/2 tr(W_p W S W^T W_p^T) - tr(W_p W X W^T) + 1/2 tr(W S W^T)``
  (``S = X + X'``), taken with ``jax.grad``; it equals ``d vec(W)/dt = -H vec(W)`` with
  ``H = X' (x) (W_p^T W_p + I) + X (x) (W_p - I)^T (W_p - I) + eta I`` (Eq 6, column-major
  ``vec``, :func:`h_matrix`). ``W_p`` follows Eq 2 with ``W_a = W`` (the stop-gradient does not
  touch the predictor's gradient).
* ``"no_predictor"``: ``W_p == I`` fixed, ``W_a == W``: Eq 3 becomes ``dW/dt = -W X' - eta W``,
  so ``W(t) = W0 exp(-X' t) exp(-eta t)`` collapses whenever ``X' + eta I`` is PD.
* ``"directpred"``: ``W_p = U diag(sqrt(s_j) + eps max_j s_j) U^T`` of the current
  ``F = W X W^T`` (002 Eq 18, :mod:`ssl_odes.directpred`; Table 7's ``c_shift`` too), ``W`` by
  Eq 3 and ``W_a`` by the EMA of Eq 4 (002 runs DirectPred with EMA).

``symmetric_predictor=True`` (Assumption 3): ``W_p(0)`` must be symmetric and its flow is replaced
by ``(dW_p + dW_p^T) / 2``.

Theorem 1 (Eq 5): for the variants that train ``W_p`` by Eq 2 *and* ``W`` by Eq 3 (``byol``,
``simsiam``, ``proportional_ema``; any ``W_a`` dynamics),
``W W^T - W_p^T W_p / alpha_p = exp(-2 eta t) C``, ``C = W0 W0^T - W_p0^T W_p0 / alpha_p``.
It does **not** hold for ``no_stopgrad`` (``W`` gets the extra target-branch gradient) nor, in
general, with ``symmetric_predictor=True``: symmetrising Eq 2 adds
``-(1/2)([W_p, G W^T] + [W G^T, W_p])`` to the derivative of the left side, which vanishes only
once ``F`` and ``W_p`` commute (in the reduced flow, ``d/dt (F - W_p^2/alpha_p) =
-2 eta (F - W_p^2/alpha_p) - (1 + sigma2)/2 [W_p, [W_p, F]]``). The simulator reports the relative
residual for every variant; it is a theorem only for those three.

Reduced flow (Eq 7; isotropic data, ``W_a = tau W``, symmetric ``W_p``, ``F = W W^T``):

.. math::

    \dot W_p &= -\tfrac{\alpha_p}{2}(1 + \sigma^2)\{W_p, F\} + \alpha_p \tau F - \eta W_p \\
    \dot F &= -(1 + \sigma^2)\{W_p^2, F\} + \tau \{W_p, F\} - 2 \eta F

Derivation: with ``X = I``, ``X' = sigma2 I``, ``W_a = tau W``: ``G W^T = -(1 + sigma2) W_p F +
tau F``; symmetrising Eq 2 gives the first line; ``dF/dt = dW W^T + W dW^T`` with Eq 3 and
``W_p = W_p^T`` gives the second. ``tau`` is a constant here: with a matrix ``W``, ``W_a = tau W``
and Eq 4 are compatible only when ``dW/dt`` is proportional to ``W``, so 002's time-dependent
``tau`` lives in the decoupled modes (:mod:`ssl_odes.byol_modes`), not in the matrix flow.

Theorem 3 (Eqs 8-10): ``d[F, W_p]/dt = -[F, W_p] K - K [F, W_p]`` with
``K = (1 + sigma2)(alpha_p/2 F + W_p^2 - tau/(1 + sigma2) W_p) + 3/2 eta I`` (Eq 9), hence
``||[F, W_p](t)||_F <= exp(-2 int_0^t lambda_min(K)) ||[F, W_p](0)||_F`` (Eq 10 in integral form,
:func:`commutator_bound`).

Diagnostics saved along a run (``save="diagnostics"`` saves only these; memory flat in ``n``):

* ``s`` ``[..., n2]``: eigenvalues of ``F = W X W^T``, largest first (002 Fig 2, column 1).
* ``p`` ``[..., n2]``: eigenvalues of ``(W_p + W_p^T)/2``, largest first (column 2).
* ``alignment`` ``[..., n2]``: for each eigenvector ``u_j`` of ``F`` (same order as ``s``),
  ``cos(u_j, W_p u_j) = u_j^T W_p u_j / ||W_p u_j||`` (column 3; 0 where ``W_p u_j = 0``).
* ``asymmetry``: ``||W_p - W_p^T||_F / ||W_p||_F`` (column 4; 0 for ``W_p = 0``).
* ``commutator``: ``||[F, W_p]||_F``.
* ``k_min``: ``lambda_min(K)`` of Eq 9 with ``W_p`` replaced by its symmetric part and ``tau``
  the effective ratio below. Only with isotropic data (``sigma2``), where Eq 9 is defined.
* ``invariant_residual``: ``||W W^T - W_p^T W_p/alpha_p - exp(-2 eta t) C||_F`` divided by
  ``||W W^T||_F + ||W_p^T W_p||_F/alpha_p + exp(-2 eta t) ||C||_F`` (Theorem 1).
* ``W_norm``: ``||W||_F`` (collapse: ``W -> 0``).
* ``tau`` (``byol``, ``directpred``): the effective EMA ratio ``<W_a, W>_F / ||W||_F^2`` (exactly
  ``tau`` when ``W_a = tau W``). For the variants that tie ``W_a`` to ``W``, ``K`` uses ``tau = 1``
  (``tau`` for ``proportional_ema``).

They are evaluated inside the solve at the output times only (diffrax's ``SaveAt(ts=..., fn=...)``
interpolates the state there), never at the solver's steps. Per output time: one ``eigh`` with
eigenvectors (of ``F``, for ``s`` and ``alignment``) and two eigenvalue-only decompositions
(``sym(W_p)`` for ``p``, ``K`` for ``k_min``; LAPACK ``syevd`` without eigenvectors on the CPU,
about 2x cheaper than ``eigh``), and six matrix products.

Thread pools (CPU): XLA runs the matrix products on its own thread pool, while ``eigh`` and NumPy
call LAPACK / OpenBLAS, which starts a pool of its own. On a machine with few cores the two pools
spin against each other (measured on 2 cores: a NumPy ``eigh`` of a 64 x 64 matrix took 60 ms
instead of 0.6 ms in a process where XLA had just run). Set, before Python imports NumPy or JAX::

    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

XLA keeps its own pool for the matrix products; LAPACK then runs on one thread per call.
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

# jaxlib's LAPACK targets (eigenvalues without eigenvectors, see _eigvalsh) are internal: used only
# on the jax minor versions this was tested with (0.10), otherwise eigh, whatever the jaxlib says.
_LAPACK_TESTED_JAX = ((0, 10),)
try:
    from jax._src.lib import lapack as _lapack

    if tuple(int(v) for v in jax.__version__.split(".")[:2]) not in _LAPACK_TESTED_JAX or not hasattr(jax, "ffi"):
        raise ImportError(f"jax {jax.__version__}: not tested with the LAPACK eigenvalue-only target")
    _lapack.prepare_lapack_call("syevd_ffi", np.float64)
except Exception:  # pragma: no cover - another jax/jaxlib: fall back to eigh
    _lapack = None

from .. import _params
from .._core import matrices as _matrices
from . import _directpred
from .._core import (NONNEGATIVE, POSITIVE, REAL, REQUIRED, Choice, Flag, Interval, Matrix, Parameter, System, Values,
                     register, simulate)
from .._core.arguments import MATRICES, PSD_MATRICES, SQUARE_MATRICES, TIME_GRID, arguments
from ._modes import DEFAULT_NUM_POINTS, DEFAULT_T1
from .._core.trajectory import Trajectory

__all__ = [
    "BYOL_LINEAR",
    "LinearFlowArgs",
    "BYOL_REDUCED",
    "VARIANTS",
    "vector_field",
    "reduced_flow_vector_field",
    "simulate_byol_linear",
    "simulate_reduced_flow",
    "random_orthogonal",
    "random_initialization",
    "aligned_initialization",
    "commutator",
    "k_matrix",
    "commutator_bound",
    "alignment_cosines",
    "predictor_asymmetry",
    "invariant_constant",
    "invariant_residual",
    "h_matrix",
]

VARIANTS = ("byol", "simsiam", "proportional_ema", "no_stopgrad", "no_predictor", "directpred")
SAVE_MODES = ("all", "diagnostics")

# Which variants carry which state: W_p trained by (a form of) Eq 2; W_a integrated by Eq 4.
_TRAINS_PREDICTOR = ("byol", "simsiam", "proportional_ema", "no_stopgrad")
_HAS_TARGET = ("byol", "directpred")
# Variants for which Theorem 1 (Eq 5) is a theorem (without symmetric_predictor).
THEOREM1_VARIANTS = ("byol", "simsiam", "proportional_ema")


# --------------------------------------------------------------------------------------------
# Linear algebra on [..., n, n] arrays (no validation: traced code)
# --------------------------------------------------------------------------------------------


def _t(A):
    return jnp.swapaxes(A, -1, -2)


def _transposed(A):
    """``A^T`` as a matrix in memory, for a product ``A^T @ B``.

    XLA:CPU (jax 0.10) sends a dot whose left operand is transposed to its slower Eigen kernel
    (1.25 vs 1.03 ms at n = 256, float64), a plain ``A @ B`` to YNNPACK; the barrier keeps XLA
    from folding the n^2 transpose back into the dot.
    """
    return jax.lax.optimization_barrier(_t(A))


def _sym(A):
    return 0.5 * (A + _t(A))


def _fro(A):
    """``||A||_F``, with gradient 0 (not NaN) at ``A = 0``: the invariant residual is exactly 0 at
    ``t = 0`` and a symmetric predictor's asymmetry is 0 throughout, and ``jax.grad`` goes through both."""
    squared = jnp.sum(A * A, axis=(-2, -1))
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def _safe_divide(num, den):
    """``num / den``, and 0 where ``den == 0`` (no NaN, so the integrator's status stays OK)."""
    nonzero = den > 0
    return jnp.where(nonzero, num / jnp.where(nonzero, den, 1.0), 0.0)


def _anticommutator(A, B):
    """``{A, B} = AB + BA`` for symmetric ``A``, ``B``, exactly symmetric: ``M + M^T`` with ``M = AB``."""
    M = A @ B
    return M + _t(M)


def _commutator(F, Wp):
    return F @ Wp - Wp @ F


def _k_matrix(F, Wp, alpha_p, eta, sigma2, tau):
    """Eq 9 with ``W_p`` replaced by its symmetric part (``K`` symmetric, real eigenvalues)."""
    Ws = _sym(Wp)
    a = 1.0 + sigma2
    identity = jnp.eye(F.shape[-1], dtype=F.dtype)
    K = a * (0.5 * alpha_p * F + _sym(Ws @ Ws)) - tau * Ws + 1.5 * eta * identity
    return _sym(K)


def _eigvalsh_lapack(A):
    """LAPACK ``syevd`` with ``jobz = 'N'`` through jaxlib's registered CPU target (eigenvalues only)."""
    n = A.shape[-1]
    batch = A.shape[:-2]
    call = jax.ffi.ffi_call(
        _lapack.prepare_lapack_call("syevd_ffi", A.dtype),
        (jax.ShapeDtypeStruct(A.shape, A.dtype), jax.ShapeDtypeStruct(batch + (n,), A.dtype),
         jax.ShapeDtypeStruct(batch, jnp.int32)),
        input_output_aliases={0: 0},
        vmap_method="broadcast_all",
    )
    _, w, info = call(A, mode=np.uint8(ord("N")), uplo=np.uint8(ord("L")))
    return jnp.where((info == 0)[..., None], w, jnp.nan)  # as jnp.linalg.eigh reports a LAPACK failure


@jax.custom_jvp
def _eigvalsh(A):
    """Eigenvalues of symmetric ``A [..., n, n]``, ascending, without eigenvectors.

    ``jnp.linalg.eigvalsh`` is ``eigh(A)[0]``: on the CPU it runs LAPACK ``syevd`` with
    eigenvectors and drops them (jax 0.10). Asking LAPACK for the eigenvalues only is 2x faster
    (n = 64 to 512). Other backends, or a jaxlib without the target, use ``eigh``. The tangent
    is first-order perturbation theory, ``d lambda_j = u_j^T dA u_j`` (distinct eigenvalues), from
    an ``eigh`` run only when differentiating.
    """
    if _lapack is None or A.dtype not in (jnp.float32, jnp.float64):
        return jnp.linalg.eigh(A, symmetrize_input=False)[0]
    return jax.lax.platform_dependent(A, cpu=_eigvalsh_lapack,
                                      default=lambda a: jnp.linalg.eigh(a, symmetrize_input=False)[0])


@_eigvalsh.defjvp
def _eigvalsh_jvp(primals, tangents):
    (A,), (dA,) = primals, tangents
    w, U = jnp.linalg.eigh(A, symmetrize_input=False)
    return w, jnp.sum(U * (_sym(dA) @ U), axis=-2)


def _alignment(F, Wp):
    """Eigenvalues of ``F`` (descending) and ``cos(u_j, W_p u_j)`` for its eigenvectors."""
    s, U = jnp.linalg.eigh(_sym(F))
    s, U = s[..., ::-1], U[..., ::-1]
    WpU = Wp @ U
    cosines = _safe_divide(jnp.sum(U * WpU, axis=-2), jnp.sqrt(jnp.sum(WpU * WpU, axis=-2)))
    return s, cosines


def _asymmetry(Wp):
    return _safe_divide(_fro(Wp - _t(Wp)), _fro(Wp))


def _invariant_residual(W, Wp, t, C, alpha_p, eta):
    balance = W @ _t(W)
    predictor = _t(Wp) @ Wp / alpha_p
    decay = jnp.exp(-2.0 * eta * t)  # t: scalar or the leading (time) axes of W
    residual = balance - predictor - decay[..., None, None] * C
    return _safe_divide(_fro(residual), _fro(balance) + _fro(predictor) + decay * _fro(C))


def _spectral_diagnostics(F, Wp, args, isotropic, tau):
    """The Fig 2 / Theorem 3 quantities of ``(F, W_p)``, shared by the full and reduced flows."""
    s, cosines = _alignment(F, Wp)
    out = {
        "s": s,
        "p": _eigvalsh(_sym(Wp))[..., ::-1],
        "alignment": cosines,
        "asymmetry": _asymmetry(Wp),
        "commutator": _fro(_commutator(F, Wp)),
    }
    if isotropic:
        K = _k_matrix(F, Wp, args.alpha_p, args.eta, args.sigma2, tau)
        out["k_min"] = _eigvalsh(K)[..., 0]
    return out


# --------------------------------------------------------------------------------------------
# The full flow (Lemma 1 and variants)
# --------------------------------------------------------------------------------------------


def _times_S(M, args, isotropic):
    """``M (X + X')``; ``(1 + sigma2) M`` for isotropic data (no n1 x n1 product)."""
    return (1.0 + args.sigma2) * M if isotropic else M @ args.S


def _times_X(M, args, isotropic):
    return M if isotropic else M @ args.X


def _correlation(W, args, isotropic):
    """``F = W X W^T`` (exactly symmetric)."""
    return _sym(_times_X(W, args, isotropic) @ _t(W))


def _predictor(y, args, variant, isotropic):
    if variant == "no_predictor":
        return jnp.eye(y["W"].shape[-2], dtype=y["W"].dtype)
    if variant == "directpred":
        return _directpred._predictor(_correlation(y["W"], args, isotropic), args.eps, args.c_shift)
    return y["Wp"]


def _target(y, args, variant):
    if variant in _HAS_TARGET:
        return y["Wa"]
    if variant == "proportional_ema":
        return args.tau * y["W"]
    return y["W"]


def _loss_without_stopgrad(W, Wp, args, isotropic):
    """``J = 1/2 E||W_p W x1 - W x2||^2`` through ``X`` and ``S = X + X'`` (views independent given x)."""
    A = Wp @ W
    return (
        0.5 * jnp.sum(A * _times_S(A, args, isotropic))
        - jnp.sum(A * _times_X(W, args, isotropic))
        + 0.5 * jnp.sum(W * _times_S(W, args, isotropic))
    )


class LinearFlowArgs(eqx.Module):
    """Arguments of the linear flows (002 Eqs 2-4, 7), one trajectory's or ``[*batch]``-leading.

    Scalars ``alpha_p``, ``beta``, ``eta``, ``tau``, ``eps``, ``c_shift`` (a variant's unused ones
    are neutral placeholders), and the data: ``sigma2`` (isotropic: ``X = I``, ``X' = sigma2 I``)
    or the matrices ``X`` and ``S = X + X'``. ``args["eta"]`` works as well as ``args.eta``.
    """

    alpha_p: Float[Array, "*batch"] = 1.0
    beta: Float[Array, "*batch"] = 0.0
    eta: Float[Array, "*batch"] = 0.0
    tau: Float[Array, "*batch"] = 1.0
    eps: Float[Array, "*batch"] = 0.0
    c_shift: Float[Array, "*batch"] = 0.0
    sigma2: Float[Array, "*batch"] | None = None
    X: Float[Array, "*batch n1 n1"] | None = None
    S: Float[Array, "*batch n1 n1"] | None = None

    def __getitem__(self, name: str):
        return getattr(self, name)


@functools.lru_cache(maxsize=None)
def vector_field(variant: str = "byol", symmetric_predictor: bool = False, isotropic: bool = True):
    """The vector field ``f(t, y, args)`` of one variant (002 Eqs 2-4 and Thm 2), for :func:`ssl_odes.solve`.

    State ``y``: ``{"W"}`` plus ``"Wp"`` for the variants that train it (``byol``, ``simsiam``,
    ``proportional_ema``, ``no_stopgrad``) and ``"Wa"`` for ``byol`` / ``directpred``. ``args``:
    ``alpha_p``, ``beta``, ``eta``, ``tau``, ``eps``, ``c_shift`` (scalars) and either ``sigma2``
    (``isotropic=True``) or ``X`` and ``S = X + X'`` (n1 x n1). The same variant/flags return the
    same function object, so jit caches are shared.

    >>> import jax.numpy as jnp
    >>> f = vector_field("simsiam")
    >>> args = LinearFlowArgs(alpha_p=1.0, sigma2=0.0)
    >>> dy = f(0.0, {"W": jnp.eye(2), "Wp": 0.5 * jnp.eye(2)}, args)
    >>> [float(v) for v in jnp.diag(dy["Wp"])]  # dWp = alpha_p (-Wp W + W) W^T = 0.5 I
    [0.5, 0.5]
    """
    _params.check_choice("variant", variant, VARIANTS)

    def field(t, y, args):
        W = y["W"]
        Wp = _predictor(y, args, variant, isotropic)
        Wa = _target(y, args, variant)
        eta = args.eta
        dy = {}
        if variant == "no_stopgrad":
            grad_W, grad_Wp = jax.grad(_loss_without_stopgrad, argnums=(0, 1))(W, Wp, args, isotropic)
            dy["W"] = -grad_W - eta * W
            dWp = -args.alpha_p * grad_Wp - eta * Wp
        else:
            # (1 + sigma2) and the sign applied to the product: they fuse with the "+ W_a" pass
            G = _times_X(Wa, args, isotropic) - _times_S(Wp @ W, args, isotropic)
            dy["W"] = _transposed(Wp) @ G - eta * W
            dWp = args.alpha_p * G @ _t(W) - eta * Wp if variant in _TRAINS_PREDICTOR else None
        if variant in _TRAINS_PREDICTOR:
            dy["Wp"] = _sym(dWp) if symmetric_predictor else dWp
        if variant in _HAS_TARGET:
            dy["Wa"] = args.beta * (W - Wa)
        return dy

    return field


@functools.lru_cache(maxsize=None)
def _save_function(variant: str, isotropic: bool, save_matrices: bool):
    def save(t, y, args, save_args):
        W = y["W"]
        Wp = _predictor(y, args, variant, isotropic)
        if variant in _HAS_TARGET:
            tau = _safe_divide(jnp.sum(y["Wa"] * W), jnp.sum(W * W))
        else:
            tau = args.tau
        out = _spectral_diagnostics(_correlation(W, args, isotropic), Wp, args, isotropic, tau)
        out["invariant_residual"] = _invariant_residual(W, Wp, t, save_args["C"], args.alpha_p, args.eta)
        out["W_norm"] = _fro(W)
        if variant in _HAS_TARGET:
            out["tau"] = tau
        if save_matrices:
            out["W"] = W
            out["Wp"] = Wp
            if variant in _HAS_TARGET:
                out["Wa"] = y["Wa"]
        return out

    return save


def _linear_check(values: Values):
    """Cross-parameter rules of 002 Lemma 1's variants (which state exists, which data are given)."""
    s = values.settings
    variant, W0 = s["variant"], s["W0"]
    n2, n1 = W0.shape
    if variant in _TRAINS_PREDICTOR:
        if s["Wp0"] is None:
            raise ValueError(f"Wp0 (n2 x n2 = {n2} x {n2}) is required for variant={variant!r}; got Wp0=None")
        context = f"(n2, n2) to match W0 of shape {W0.shape}"
        if s["symmetric_predictor"]:
            _matrices.check_symmetric("Wp0", s["Wp0"], n2, context + " (symmetric_predictor=True)")
        else:
            _matrices.check_matrix("Wp0", s["Wp0"], (n2, n2), context)
    elif s["Wp0"] is not None:
        raise ValueError(
            f"Wp0 must be left unset for variant={variant!r} (W_p is "
            f"{'the identity' if variant == 'no_predictor' else 'a function of F (Eq 18)'}); got an array"
        )
    if variant in _HAS_TARGET:
        if s["Wa0"] is not None:
            _matrices.check_matrix("Wa0", s["Wa0"], (n2, n1), "of W0")
    elif s["Wa0"] is not None:
        raise ValueError(f"Wa0 must be left unset for variant={variant!r}, which ties W_a to W; got an array")
    sigma2 = values.given.get("sigma2")
    isotropic = s["X"] is None and s["Xp"] is None
    if sigma2 is not None and not isotropic:
        raise ValueError(
            "give either sigma2 (isotropic data: X = I, X' = sigma2 I) or the matrices X and/or Xp, not both; "
            f"got sigma2={sigma2!r} and X/Xp"
        )
    context = f"(n1, n1) with n1 = W0.shape[1] = {n1}"
    for name in ("X", "Xp"):
        if s[name] is not None:
            _matrices.check_psd(name, s[name], n1, context)
    return {"sigma2": 0.0} if isotropic and sigma2 is None else None


def _isotropic(settings) -> bool:
    return settings["X"] is None and settings["Xp"] is None


def _data(settings) -> dict[str, np.ndarray]:
    n1 = settings["W0"].shape[1]
    X = np.eye(n1) if settings["X"] is None else _matrices.check_psd("X", settings["X"])
    Xp = np.zeros((n1, n1)) if settings["Xp"] is None else _matrices.check_psd("Xp", settings["Xp"])
    return {"X": X, "S": X + Xp}


def _linear_initial_state(values: Values):
    s = values.settings
    y0 = {"W": values.batch(s["W0"])}
    if s["variant"] in _TRAINS_PREDICTOR:
        Wp0 = s["Wp0"]
        y0["Wp"] = values.batch(0.5 * (Wp0 + Wp0.T) if s["symmetric_predictor"] else Wp0)
    if s["variant"] in _HAS_TARGET:
        y0["Wa"] = values.batch(s["W0"] if s["Wa0"] is None else s["Wa0"])
    return y0


def _linear_args(values: Values):
    shape = values.batch_shape
    scalars = {name: (values.params[name] if name in values.params else np.full(shape, placeholder))
               for name, placeholder in (("alpha_p", 1.0), ("beta", 0.0), ("eta", 0.0), ("tau", 1.0), ("eps", 0.0),
                                         ("c_shift", 0.0))}
    if _isotropic(values.settings):
        return LinearFlowArgs(**scalars, sigma2=values["sigma2"])
    data = _data(values.settings)
    return LinearFlowArgs(**scalars, X=values.batch(data["X"]), S=values.batch(data["S"]))


def _linear_save_args(values: Values):
    """Theorem 1's constant ``C = W0 W0^T - Wp0^T Wp0 / alpha_p`` with the variant's ``W_p(0)``."""
    s = values.settings
    W0, variant = s["W0"], s["variant"]
    n2 = W0.shape[0]
    if variant in _TRAINS_PREDICTOR:
        predictor0 = 0.5 * (s["Wp0"] + s["Wp0"].T) if s["symmetric_predictor"] else s["Wp0"]
    elif variant == "no_predictor":
        predictor0 = np.eye(n2)
    else:
        X = None if _isotropic(s) else _data(s)["X"]
        F0 = W0 @ (W0.T if X is None else X @ W0.T)
        eps = np.broadcast_to(values.params.get("eps", 0.0), values.batch_shape)
        c_shift = np.broadcast_to(values.params.get("c_shift", 0.0), values.batch_shape)
        predictor0 = np.asarray(_directpred._predictor(jnp.asarray(F0), eps[..., None], c_shift[..., None]))
    alpha_p = jnp.asarray(values["alpha_p"])[..., None, None]
    C = W0 @ W0.T - jnp.swapaxes(jnp.asarray(predictor0), -1, -2) @ jnp.asarray(predictor0) / alpha_p
    return {"C": jnp.broadcast_to(C, values.batch_shape + (n2, n2))}


def _linear_record(values: Values) -> tuple[str, ...]:
    variant = values["variant"]
    names = ["alpha_p", "eta"]
    names += ["beta"] if variant in _HAS_TARGET else []
    names += ["tau"] if variant == "proportional_ema" else []
    names += ["eps", "c_shift"] if variant == "directpred" else []
    names += ["sigma2"] if _isotropic(values.settings) else []
    return tuple(names)


def _linear_settings(values: Values) -> dict[str, Any]:
    n2, n1 = values["W0"].shape
    return {"data": "isotropic" if _isotropic(values.settings) else "general", "n1": n1, "n2": n2}


_W0_DOC = "a finite real n2 x n1 matrix"

#: The declaration of 002 Lemma 1 (Eqs 2-4), its variants and Theorem 1-3 diagnostics.
BYOL_LINEAR = register(System(
    name="byol_linear",
    paper="002 Lemma 1, Eqs 2-6, Theorems 1-3",
    summary="linear BYOL / SimSiam gradient flow of W, W_p, W_a with its variants and eigenspace diagnostics",
    parameters=(
        Parameter("W0", Matrix(_W0_DOC), REQUIRED, "initial online weights W(0), n2 x n1"),
        Parameter("Wp0", Matrix("a finite real n2 x n2 matrix"), None, "initial predictor W_p(0) (variants that train it)"),
        Parameter("Wa0", Matrix("a finite real n2 x n1 matrix"), None, "initial target W_a(0) (byol, directpred; default W0)"),
        Parameter("X", Matrix("a symmetric PSD n1 x n1 matrix"), None, "data correlation E[xbar xbar^T] (default I)"),
        Parameter("Xp", Matrix("a symmetric PSD n1 x n1 matrix"), None, "augmentation covariance E_x[Var(x'|x)] (default 0)"),
        Parameter("sigma2", NONNEGATIVE, None, "isotropic data X = I, X' = sigma2 I (default 0 without X, Xp)"),
        Parameter("alpha_p", POSITIVE, 1.0, "predictor learning-rate ratio"),
        Parameter("beta", NONNEGATIVE, 0.4, "EMA rate (1 - gamma_ema) / lr (byol, directpred)"),
        Parameter("eta", NONNEGATIVE, 0.0, "weight decay / lr"),
        Parameter("variant", Choice(VARIANTS), "byol", "which flow of 002 Sec 2 / Thm 2"),
        Parameter("symmetric_predictor", Flag(), False, "Assumption 3: symmetric W_p(0) and symmetrised flow"),
        Parameter("tau", REAL, 1.0, "the constant ratio W_a = tau W of proportional_ema"),
        Parameter("eps", NONNEGATIVE, 0.1, "DirectPred's eps of Eq 18 (>= 0; the paper's 0.1)"),
        Parameter("c_shift", REAL, 0.0, "DirectPred's c_j of Table 7"),
        Parameter("save", Choice(SAVE_MODES), "all", "save the matrices with the diagnostics, or the diagnostics only"),
    ),
    initial_state=_linear_initial_state,
    args=_linear_args,
    field=lambda s: vector_field(s["variant"], s["symmetric_predictor"] and s["variant"] in _TRAINS_PREDICTOR,
                                 _isotropic(s)),
    save=lambda s: _save_function(s["variant"], _isotropic(s), s["save"] == "all"),
    save_args=_linear_save_args,
    check=_linear_check,
    record=_linear_record,
    extra_settings=_linear_settings,
    flow_name=lambda v: "byol_linear",
    t1=DEFAULT_T1,
    num_points=DEFAULT_NUM_POINTS,
    # distinct eigenvalues of F and sym(W_p): eigh (in the diagnostics) is differentiable there
    example={"W0": [[0.6, 0.1], [0.2, 0.5], [0.1, -0.3]], "Wp0": [[0.4, 0.05, 0.0], [0.02, 0.25, 0.01], [0.0, 0.03, 0.1]],
             "sigma2": [0.0, 0.1], "eta": 0.01},
))


def simulate_byol_linear(
    W0: Any,
    Wp0: Any = None,
    Wa0: Any = None,
    *,
    X: Any = None,
    Xp: Any = None,
    sigma2: Any = None,
    alpha_p: Any = 1.0,
    beta: Any = 0.4,
    eta: Any = 0.0,
    variant: str = "byol",
    symmetric_predictor: bool = False,
    tau: Any = 1.0,
    eps: Any = 0.1,
    c_shift: Any = 0.0,
    save: str = "all",
    **run: Any,
) -> Trajectory:
    r"""Integrate the linear BYOL / SimSiam gradient flow of 002 Lemma 1 (Eqs 2-4) or a variant.

    See the module docstring for the equations, the variants and the saved diagnostics.

    Args:
        W0: initial online weights, n2 x n1.
        Wp0: initial predictor, n2 x n2; required for the variants that train it, must be unset
            for ``no_predictor`` (``W_p = I``) and ``directpred`` (``W_p`` is a function of ``F``).
            Symmetric (within 1e-6 relative) when ``symmetric_predictor=True``.
        Wa0: initial target, n2 x n1, for ``byol`` / ``directpred`` only (default: a copy of
            ``W0``, as BYOL initialises its target network). Must be unset for the variants that
            tie ``W_a`` to ``W``.
        X, Xp: the PSD n1 x n1 data matrices ``X = E[xbar xbar^T]`` and ``X' = E_x[Var(x'|x)]``
            (validated symmetric and PSD within 1e-6 relative); a missing one defaults to
            ``X = I`` or ``X' = 0``. Exclusive with ``sigma2``.
        sigma2: isotropic data ``X = I``, ``X' = sigma2 I`` (Assumption 2); the default when no
            data are given is ``sigma2 = 0``.
        alpha_p: predictor learning-rate ratio, ``> 0``.
        beta: EMA rate ``(1 - gamma_ema) / lr >= 0`` (``byol``, ``directpred``).
        eta: weight decay ``/ lr``, ``>= 0``.
        variant: ``"byol"``, ``"simsiam"``, ``"proportional_ema"``, ``"no_stopgrad"``,
            ``"no_predictor"`` or ``"directpred"``.
        symmetric_predictor: Assumption 3 (symmetric ``W_p(0)``, symmetrised flow).
        tau: the constant ratio ``W_a = tau W`` of ``proportional_ema``.
        eps, c_shift: DirectPred's ``p_j = sqrt(max(s_j - c_shift, 0)) + eps max_j s_j``
            (Eq 18, Table 7); ``eps >= 0`` defaults to the paper's 0.1 (Table 8).
        t1, num_points, ts: output grid (defaults ``t1 = 100``, ``num_points = 1001``).
        save: ``"all"`` saves ``W``, ``Wp`` (and ``Wa`` where it is a state) with the
            diagnostics; ``"diagnostics"`` saves the diagnostics only (memory flat in n).
        **run: output grid, ``options`` (or its shortcuts) and ``dtype``, as in
            :func:`ssl_odes.simulate`.

    Scalar parameters may be arrays; they broadcast with NumPy rules into a batch of runs from
    the same initial matrices. Parameters a variant does not use are validated but not recorded.

    Returns:
        A :class:`~ssl_odes.Trajectory` (flow ``"byol_linear"``), batch axes first, then time,
        then the matrix axes: ``W`` ``[*batch, time, n2, n1]``, ``s`` ``[*batch, time, n2]``,
        ``commutator`` ``[*batch, time]``, ... (``settings`` records the variant and data kind).

    Example:
        >>> import numpy as np, ssl_odes
        >>> from ssl_odes import byol_linear
        >>> init = byol_linear.random_initialization(n1=4, n2=3, init_scale=1.0, seed=0)
        >>> res = ssl_odes.simulate_byol_linear(**init, sigma2=0.1, eta=0.01, variant="simsiam",
        ...                                     t1=5.0, num_points=11)
        >>> res.W.shape, res.s.shape, res.status_counts()
        ((11, 3, 4), (11, 3), {'ok': 1})
        >>> bool(np.all(res.invariant_residual < 1e-6))  # Theorem 1
        True
    """
    return simulate(BYOL_LINEAR, W0=W0, Wp0=Wp0, Wa0=Wa0, X=X, Xp=Xp, sigma2=sigma2, alpha_p=alpha_p, beta=beta,
                    eta=eta, variant=variant, symmetric_predictor=symmetric_predictor, tau=tau, eps=eps,
                    c_shift=c_shift, save=save, **run)


simulate_byol_linear.system = BYOL_LINEAR


# --------------------------------------------------------------------------------------------
# The reduced flow of F and W_p (Eq 7)
# --------------------------------------------------------------------------------------------


def reduced_flow_vector_field(t, y, args):
    """Eq 7 on the state ``{"F", "Wp"}`` (both symmetric); ``args``: ``alpha_p``, ``eta``, ``sigma2``, ``tau``.

    The anticommutators are formed as ``M + M^T``, so the rates are symmetric to the last bit.

    >>> import jax.numpy as jnp
    >>> args = LinearFlowArgs(alpha_p=1.0, eta=0.0, sigma2=0.0, tau=1.0)
    >>> dy = reduced_flow_vector_field(0.0, {"F": jnp.eye(2), "Wp": jnp.eye(2)}, args)
    >>> float(jnp.abs(dy["F"]).max()), float(jnp.abs(dy["Wp"]).max())  # p = tau/(1+sigma2): fixed point
    (0.0, 0.0)
    """
    F, Wp = y["F"], y["Wp"]
    a = 1.0 + args.sigma2
    anti = _anticommutator(Wp, F)
    dWp = -0.5 * args.alpha_p * a * anti + args.alpha_p * args.tau * F - args.eta * Wp
    dF = -a * _anticommutator(_sym(Wp @ Wp), F) + args.tau * anti - 2.0 * args.eta * F
    return {"F": dF, "Wp": dWp}


@functools.lru_cache(maxsize=None)
def _reduced_save_function(save_matrices: bool):
    def save(t, y, args):
        out = _spectral_diagnostics(y["F"], y["Wp"], args, True, args.tau)
        if save_matrices:
            out.update(F=y["F"], Wp=y["Wp"])
        return out

    return save


def _reduced_check(values: Values):
    F0 = _matrices.check_psd("F0", values["F0"])
    _matrices.check_symmetric("Wp0", values["Wp0"], F0.shape[0], f"(n, n) to match F0 of shape {F0.shape}")


#: The declaration of 002 Eq 7 (the reduced flow of F and a symmetric W_p).
BYOL_REDUCED = register(System(
    name="byol_reduced",
    paper="002 Eq 7, Theorem 3",
    summary="reduced flow of F = W W^T and a symmetric predictor W_p (isotropic data, proportional EMA)",
    parameters=(
        Parameter("F0", Matrix("a symmetric PSD n x n matrix"), REQUIRED, "initial F = W X W^T"),
        Parameter("Wp0", Matrix("a symmetric n x n matrix"), REQUIRED, "initial symmetric predictor"),
        Parameter("alpha_p", POSITIVE, 1.0, "predictor learning-rate ratio"),
        Parameter("eta", NONNEGATIVE, 0.0, "weight decay / lr"),
        Parameter("sigma2", NONNEGATIVE, 0.0, "isotropic augmentation variance"),
        Parameter("tau", REAL, 1.0, "the constant ratio W_a = tau W"),
        Parameter("save", Choice(SAVE_MODES), "all", "save the matrices with the diagnostics, or the diagnostics only"),
    ),
    initial_state=lambda v: {"F": v.batch(0.5 * (v["F0"] + v["F0"].T)), "Wp": v.batch(0.5 * (v["Wp0"] + v["Wp0"].T))},
    args=lambda v: LinearFlowArgs(alpha_p=v["alpha_p"], eta=v["eta"], sigma2=v["sigma2"], tau=v["tau"],
                                  **{name: np.zeros(v.batch_shape) for name in ("beta", "eps", "c_shift")}),
    field=lambda s: reduced_flow_vector_field,
    save=lambda s: _reduced_save_function(s["save"] == "all"),
    check=_reduced_check,
    extra_settings=lambda v: {"n": v["F0"].shape[0]},
    t1=DEFAULT_T1,
    num_points=DEFAULT_NUM_POINTS,
    example={"F0": np.diag([1.0, 0.2]), "Wp0": [[0.3, 0.1], [0.1, 0.2]], "eta": [0.0, 0.1]},
))


def simulate_reduced_flow(
    F0: Any,
    Wp0: Any,
    *,
    alpha_p: Any = 1.0,
    eta: Any = 0.0,
    sigma2: Any = 0.0,
    tau: Any = 1.0,
    save: str = "all",
    **run: Any,
) -> Trajectory:
    r"""Integrate the reduced flow of ``F = W W^T`` and a symmetric ``W_p`` (002 Eq 7).

    .. math::

        \dot W_p = -\tfrac{\alpha_p}{2}(1 + \sigma^2)\{W_p, F\} + \alpha_p \tau F - \eta W_p,\quad
        \dot F = -(1 + \sigma^2)\{W_p^2, F\} + \tau \{W_p, F\} - 2 \eta F

    Valid under isotropic data, ``W_a = tau W`` with constant ``tau`` and a symmetric predictor
    (module docstring); it then equals the full flow's ``(W W^T, W_p)`` (tested). ``F0`` must be
    symmetric PSD and ``Wp0`` symmetric, of the same size. Scalar parameters broadcast.

    Returns a :class:`~ssl_odes.Trajectory` (flow ``"byol_reduced"``) with ``F``, ``Wp``
    ``[*batch, time, n, n]`` (``save="all"``) and the diagnostics ``s``, ``p``, ``alignment``,
    ``asymmetry``, ``commutator``, ``k_min`` (Eq 9) of :func:`simulate_byol_linear`.

    Example:
        >>> import numpy as np, ssl_odes
        >>> res = ssl_odes.simulate_reduced_flow(np.diag([1.0, 0.2]), [[0.3, 0.1], [0.1, 0.2]], eta=0.1,
        ...                                      t1=20.0, num_points=5)
        >>> bool(res.commutator[-1] < 1e-2 * res.commutator[0])  # Theorem 3: eigenspaces align
        True
    """
    return simulate(BYOL_REDUCED, F0=F0, Wp0=Wp0, alpha_p=alpha_p, eta=eta, sigma2=sigma2, tau=tau, save=save, **run)


simulate_reduced_flow.system = BYOL_REDUCED


# --------------------------------------------------------------------------------------------
# Initialisations
# --------------------------------------------------------------------------------------------


def _rng(seed: Any) -> np.random.Generator:
    return np.random.default_rng(_params.check_integer("seed", seed, 0))


def random_orthogonal(n: int, seed: int = 0) -> np.ndarray:
    """A Haar-random orthogonal n x n matrix (QR of a Gaussian matrix with the signs fixed).

    >>> Q = random_orthogonal(3, seed=1)
    >>> bool(np.allclose(Q.T @ Q, np.eye(3)))
    True
    """
    n = _params.check_integer("n", n, 1)
    Q, R = np.linalg.qr(_rng(seed).standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def random_initialization(
    n1: int,
    n2: int | None = None,
    *,
    init_scale: float = 0.1,
    predictor_scale: float | None = None,
    symmetric_predictor: bool = False,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Small random weights: ``{"W0", "Wp0"}`` for ``simulate_byol_linear(**init, ...)``.

    ``W0`` has i.i.d. ``N(0, init_scale^2 / n1)`` entries (so ``E[W0 W0^T] = init_scale^2 I``),
    ``Wp0`` i.i.d. ``N(0, predictor_scale^2 / n2)`` entries (default ``predictor_scale =
    init_scale``); with ``symmetric_predictor=True`` it is ``(A + A^T)/sqrt(2)``, symmetric with
    the same off-diagonal variance. No ``Wa0``: BYOL's default target is a copy of ``W0``.

    >>> init = random_initialization(5, 3, init_scale=0.1, symmetric_predictor=True, seed=0)
    >>> init["W0"].shape, init["Wp0"].shape, bool(np.array_equal(init["Wp0"], init["Wp0"].T))
    ((3, 5), (3, 3), True)
    """
    n1 = _params.check_integer("n1", n1, 1)
    n2 = n1 if n2 is None else _params.check_integer("n2", n2, 1)
    init_scale = _params.check_scalar("init_scale", init_scale)
    predictor_scale = init_scale if predictor_scale is None else _params.check_scalar("predictor_scale", predictor_scale)
    symmetric_predictor = _params.check_flag("symmetric_predictor", symmetric_predictor)
    rng = _rng(seed)
    W0 = rng.standard_normal((n2, n1)) * init_scale / np.sqrt(n1)
    A = rng.standard_normal((n2, n2)) * predictor_scale / np.sqrt(n2)
    Wp0 = (A + A.T) / np.sqrt(2.0) if symmetric_predictor else A
    return {"W0": W0, "Wp0": Wp0}


def _check_orthonormal_columns(name: str, Q: Any, shape: tuple[int, int]) -> np.ndarray:
    Q = _matrices.check_matrix(name, Q, shape)
    defect = float(np.max(np.abs(Q.T @ Q - np.eye(shape[1]))))
    if defect > 1e-8:
        raise ValueError(f"{name} must have orthonormal columns (max|{name}^T {name} - I| <= 1e-08); got {defect:.3g}")
    return Q


def aligned_initialization(
    w: Any, p: Any, wa: Any = None, *, n1: int | None = None, U: Any = None, V: Any = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """An initialisation whose ``F`` and ``W_p`` share eigenvectors, built from mode values.

    ``W0 = U diag(w) V^T``, ``Wp0 = U diag(p) U^T`` and, when ``wa`` is given,
    ``Wa0 = U diag(wa) V^T``, with ``U`` orthogonal n2 x n2 and ``V`` n1 x n2 with orthonormal
    columns (random from ``seed`` unless given; ``n1 >= n2 = len(w)``, default ``n1 = n2``). With
    isotropic data, mode ``j`` of the flow is then the scalar system of 002 Eqs 11-13 with
    ``s_j = w_j^2``, ``p_j`` and ``tau_j = wa_j / w_j``.

    >>> init = aligned_initialization([1.0, 0.5], [0.2, 0.1], n1=3, seed=0)
    >>> np.round(np.linalg.eigvalsh(init["W0"] @ init["W0"].T), 6).tolist()
    [0.25, 1.0]
    """
    w = _params.check_real("w", w)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"w must be a non-empty 1-D array of mode values; got shape {w.shape}")
    n2 = w.size
    p = _params.check_real("p", p)
    if p.shape != (n2,):
        raise ValueError(f"p must have shape {(n2,)} like w; got shape {p.shape}")
    if wa is not None:
        wa = _params.check_real("wa", wa)
        if wa.shape != (n2,):
            raise ValueError(f"wa must have shape {(n2,)} like w; got shape {wa.shape}")
    n1 = n2 if n1 is None else _params.check_integer("n1", n1, n2)
    rng = _rng(seed)
    U = random_orthogonal(n2, int(rng.integers(2**31))) if U is None else _check_orthonormal_columns("U", U, (n2, n2))
    if V is None:
        V = random_orthogonal(n1, int(rng.integers(2**31)))[:, :n2]
    else:
        V = _check_orthonormal_columns("V", V, (n1, n2))
    init = {"W0": (U * w) @ V.T, "Wp0": (U * p) @ U.T}
    if wa is not None:
        init["Wa0"] = (U * wa) @ V.T
    return init


# --------------------------------------------------------------------------------------------
# Analytic companions (Theorems 1-3)
# --------------------------------------------------------------------------------------------


_SCALAR_REAL = Interval(scalar=True)
_SCALAR_POSITIVE = Interval(0.0, lower_closed=False, scalar=True)
_SCALAR_NONNEGATIVE = Interval(0.0, scalar=True)


def _same_size(**matrices: jax.Array) -> int:
    """The common ``n`` of square matrices ``[..., n, n]``; a ValueError names them otherwise."""
    sizes = {name: value.shape[-1] for name, value in matrices.items()}
    if len(set(sizes.values())) > 1:
        shapes = ", ".join(f"{name}{tuple(value.shape)}" for name, value in matrices.items())
        raise ValueError(f"{' and '.join(sizes)} must be n x n matrices of the same n; got {shapes}")
    return next(iter(sizes.values()))


def commutator(F: Any, Wp: Any) -> jax.Array:
    """``[F, W_p] = F W_p - W_p F`` over the last two axes (002 Thm 3).

    ``F`` (``= W X W^T``) must be symmetric PSD and ``W_p`` square of the same size; leading axes
    broadcast.

    >>> commutator([[1.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0]]).tolist()
    [[0.0, -1.0], [1.0, 0.0]]
    """
    a = arguments(F=(F, PSD_MATRICES), Wp=(Wp, SQUARE_MATRICES))
    _same_size(F=a["F"], Wp=a["Wp"])
    return _commutator(a["F"], a["Wp"])


def k_matrix(F: Any, Wp: Any, *, alpha_p: Any = 1.0, eta: Any = 0.0, sigma2: Any = 0.0, tau: Any = 1.0) -> jax.Array:
    """``K = (1 + sigma2)(alpha_p/2 F + W_p^2 - tau/(1+sigma2) W_p) + 3/2 eta I`` (002 Eq 9).

    ``W_p`` is replaced by its symmetric part (Eq 9 assumes a symmetric predictor). When ``F`` and
    ``W_p`` share eigenvectors, the eigenvalue on mode j is
    :func:`ssl_odes.byol_modes.k_eigenvalue` of ``(p_j, s_j)``. ``F`` symmetric PSD, ``W_p``
    square of the same size; the scalars are single numbers.

    >>> np.round(np.asarray(k_matrix(np.eye(2), np.eye(2), alpha_p=2.0, tau=1.0)), 6).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    a = arguments(F=(F, PSD_MATRICES), Wp=(Wp, SQUARE_MATRICES), alpha_p=(alpha_p, _SCALAR_POSITIVE),
                  eta=(eta, _SCALAR_NONNEGATIVE), sigma2=(sigma2, _SCALAR_NONNEGATIVE), tau=(tau, _SCALAR_REAL))
    _same_size(F=a["F"], Wp=a["Wp"])
    return _k_matrix(a["F"], a["Wp"], a["alpha_p"], a["eta"], a["sigma2"], a["tau"])


def commutator_bound(t: Any, k_min: Any, commutator0: Any) -> jax.Array:
    """Right side of Eq 10 in integral form: ``exp(-2 int_0^t lambda_min(K)) ||[F, W_p](0)||_F``.

    ``t`` is the output grid ``[time]`` (strictly increasing, from the time of ``commutator0``)
    and ``k_min`` the sampled ``lambda_min(K)`` (time on the last axis); the integral is the
    cumulative trapezoid rule (error ``O(h^2)`` where ``k_min`` is smooth; ``k_min`` has kinks where
    eigenvalues of ``K`` cross). ``commutator0 >= 0`` is a norm.

    >>> np.asarray(commutator_bound([0.0, 1.0, 2.0], [0.5, 0.5, 0.5], 1.0)).round(6).tolist()
    [1.0, 0.367879, 0.135335]
    """
    a = arguments(t=(t, TIME_GRID), k_min=(k_min, REAL))
    t, k_min = a["t"], a["k_min"]
    if k_min.ndim < 1 or t.shape[0] != k_min.shape[-1]:
        raise ValueError(f"t must be 1-D with the length of k_min's last axis; got shapes {t.shape} and {k_min.shape}")
    commutator0 = arguments(commutator0=(commutator0, NONNEGATIVE))["commutator0"]
    try:
        commutator0 = jnp.broadcast_to(commutator0, k_min.shape[:-1])
    except ValueError:
        raise ValueError(f"commutator0 must broadcast to the batch axes of k_min {k_min.shape[:-1]}; got shape "
                         f"{commutator0.shape}") from None
    steps = 0.5 * (k_min[..., 1:] + k_min[..., :-1]) * jnp.diff(t)
    integral = jnp.concatenate([jnp.zeros(k_min.shape[:-1] + (1,), k_min.dtype), jnp.cumsum(steps, axis=-1)], axis=-1)
    return jnp.exp(-2.0 * integral) * commutator0[..., None]


def alignment_cosines(F: Any, Wp: Any) -> tuple[jax.Array, jax.Array]:
    """``(s, cos)``: eigenvalues of ``F`` (largest first) and ``cos(u_j, W_p u_j)`` (002 Fig 2, col 3).

    ``F`` symmetric PSD, ``W_p`` square of the same size. A cosine is 0 where ``W_p u_j = 0``.

    >>> s, cos = alignment_cosines(np.diag([2.0, 1.0]), np.diag([1.0, -1.0]))
    >>> np.asarray(s).tolist(), np.asarray(cos).tolist()
    ([2.0, 1.0], [1.0, -1.0])
    """
    a = arguments(F=(F, PSD_MATRICES), Wp=(Wp, SQUARE_MATRICES))
    _same_size(F=a["F"], Wp=a["Wp"])
    return _alignment(a["F"], a["Wp"])


def predictor_asymmetry(Wp: Any) -> jax.Array:
    """``||W_p - W_p^T||_F / ||W_p||_F`` (002 Fig 2, col 4; 0 for ``W_p = 0``).

    >>> float(predictor_asymmetry([[0.0, 1.0], [0.0, 0.0]]))
    1.4142135623730951
    """
    return _asymmetry(arguments(Wp=(Wp, SQUARE_MATRICES))["Wp"])


def _weights(W: Any, Wp: Any, names: tuple[str, str]) -> tuple[jax.Array, jax.Array]:
    """``W [..., n2, n1]`` and ``W_p [..., n2, n2]`` validated, with matching ``n2``."""
    a = arguments(**{names[0]: (W, MATRICES), names[1]: (Wp, SQUARE_MATRICES)})
    W, Wp = a[names[0]], a[names[1]]
    if Wp.shape[-1] != W.shape[-2]:
        raise ValueError(f"{names[1]} must be n2 x n2 with n2 = {names[0]}.shape[-2] = {W.shape[-2]}; got shapes "
                         f"{names[0]}{tuple(W.shape)} and {names[1]}{tuple(Wp.shape)}")
    return W, Wp


def invariant_constant(W0: Any, Wp0: Any, alpha_p: Any = 1.0) -> jax.Array:
    """``C = W0 W0^T - W_p0^T W_p0 / alpha_p`` of Theorem 1 (002 Eq 5).

    >>> invariant_constant([[2.0]], [[1.0]], alpha_p=0.5).tolist()
    [[2.0]]
    """
    W0, Wp0 = _weights(W0, Wp0, ("W0", "Wp0"))
    alpha_p = arguments(alpha_p=(alpha_p, _SCALAR_POSITIVE))["alpha_p"]
    return W0 @ _t(W0) - _t(Wp0) @ Wp0 / alpha_p


def invariant_residual(W: Any, Wp: Any, t: Any, *, W0: Any, Wp0: Any, alpha_p: Any = 1.0, eta: Any = 0.0) -> jax.Array:
    """Relative residual of Theorem 1 (002 Eq 5) along a saved run.

    ``||W W^T - W_p^T W_p/alpha_p - exp(-2 eta t) C||_F / (||W W^T||_F + ||W_p^T W_p||_F/alpha_p
    + exp(-2 eta t) ||C||_F)`` with ``W`` ``[time, n2, n1]``, ``W_p`` ``[time, n2, n2]``, ``t``
    ``[time]`` (times ``>= 0``; 0 where every term is 0).

    >>> W0, Wp0 = np.eye(2), 0.5 * np.eye(2)
    >>> float(invariant_residual(W0[None], Wp0[None], [0.0], W0=W0, Wp0=Wp0)[0])
    0.0
    """
    W, Wp = _weights(W, Wp, ("W", "Wp"))
    a = arguments(t=(t, NONNEGATIVE), alpha_p=(alpha_p, _SCALAR_POSITIVE), eta=(eta, _SCALAR_NONNEGATIVE))
    C = invariant_constant(W0, Wp0, a["alpha_p"])
    if C.shape[-1] != W.shape[-2]:
        raise ValueError(f"W0 and W must have the same n2; got W0 giving C of shape {tuple(C.shape)} and W{tuple(W.shape)}")
    if a["t"].shape != W.shape[:-2]:
        raise ValueError(f"t must have the leading (time) shape of W {tuple(W.shape[:-2])}; got shape {tuple(a['t'].shape)}")
    return _invariant_residual(W, Wp, a["t"], C, a["alpha_p"], a["eta"])


def h_matrix(Wp: Any, X: Any, Xp: Any, eta: Any = 0.0) -> jax.Array:
    """``H = X' (x) (W_p^T W_p + I) + X (x) (W_p - I)^T (W_p - I) + eta I`` (002 Thm 2, Eq 6).

    Without stop-gradient, ``d vec(W)/dt = -H vec(W)`` with the column-major ``vec`` (stacked
    columns), for which ``vec(A W B) = (B^T (x) A) vec(W)``. ``H`` is PSD, and
    ``lambda_min(H) >= lambda_min(X') + eta`` (the other terms are PSD). ``W_p`` is one square
    matrix; ``X`` and ``X'`` symmetric PSD matrices of the same size.

    >>> H = h_matrix(np.eye(1), np.eye(2), 0.5 * np.eye(2), eta=0.1)
    >>> np.round(np.asarray(H), 6).tolist()
    [[1.1, 0.0], [0.0, 1.1]]
    """
    psd = Matrix("a symmetric positive semi-definite matrix", _matrices.check_psd)
    a = arguments(Wp=(Wp, Matrix("a square matrix", lambda name, m: _matrices.check_matrix(name, m, (len(m), len(m))))),
                  X=(X, psd), Xp=(Xp, psd), eta=(eta, _SCALAR_NONNEGATIVE))
    Wp, X, Xp = a["Wp"], a["X"], a["Xp"]
    _same_size(X=X, Xp=Xp)
    identity = jnp.eye(Wp.shape[-1], dtype=Wp.dtype)
    shifted = Wp - identity
    size = X.shape[-1] * Wp.shape[-1]
    return jnp.kron(Xp, _t(Wp) @ Wp + identity) + jnp.kron(X, _t(shifted) @ shifted) + a["eta"] * jnp.eye(size, dtype=Wp.dtype)
