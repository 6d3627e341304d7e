"""Bad inputs through every public analytic companion: one registry, a clear error each time.

:data:`REGISTRY` lists every public analytic companion function of five families, 117 in all:
``ssl_odes.byol`` (26), ``ssl_odes.simsiam`` (18), ``ssl_odes.dual_networks`` (41: the EMA system
and the rest of 000), ``ssl_odes.contrastive`` (24) and ``ssl_odes.prediction_head`` (8), with
valid keyword arguments and, for each argument, the kind of value it takes. From the kind come
the bad values: booleans, strings, ``None`` and complex numbers (a ``TypeError``), NaN,
infinities, empty arrays, non-broadcastable or wrong shapes, non-symmetric / non-PSD matrices,
reversed or NaN time grids, names outside their set of choices, weight lists that do not chain
and out-of-range values (a ``ValueError``). Each must raise the expected type with a message naming the argument.
From the valid arguments (and a few valid variants) no call may return NaN or inf, except the
documented "NaN where it does not exist" of the fixed-point functions.

That is 4501 bad inputs: 1104 for ``byol``, 751 for ``simsiam``, 1508 for ``dual_networks`` (207
of them for EMA), 888 for ``contrastive`` and 250 for ``prediction_head``. The public functions that
are not companions (pure-JAX building blocks evaluated on traced states inside a field or a training
step, readers of a finished trajectory, network-training experiments) are listed in
:data:`NOT_FUZZED` with a reason each; the coverage test fails on a public function that has
neither a ``Case`` nor a reason.

The simulators themselves (``simulate_*``) are driven by the registry-wide contract test
(``tests/test_contract.py``) through their declarations.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Callable

import numpy as np
import pytest

import jax

from ssl_odes import contrastive as _contrastive
from ssl_odes import dual_networks as _dual
from ssl_odes import prediction_head as _head
from ssl_odes.byol import _directpred, _linear, _modes
from ssl_odes.dual_networks import _ema
from ssl_odes.simsiam import _bounds, _eigen

NAN, INF = math.nan, math.inf
#: Wrong types: TypeError.
WRONG_TYPES = [True, "x", None, 1 + 1j]


@dataclasses.dataclass
class Arg:
    """How an argument is fuzzed: its kind and any extra out-of-range values (ValueError)."""

    kind: str  # "real", "scalar", "int", "flag", "matrix", "grid", "choice", "weights"
    out_of_range: tuple = ()


@dataclasses.dataclass
class Case:
    family: str
    func: Callable
    valid: dict[str, Any]
    args: dict[str, Arg]
    variants: tuple[dict[str, Any], ...] = ()  # more valid inputs for the finiteness check
    nan_where_absent: bool = False  # documented: NaN where the quantity does not exist
    extra_bad: tuple[tuple[str, Any], ...] = ()  # (argument, value) raising ValueError: shapes, PSD, ...

    @property
    def name(self) -> str:
        return f"{self.family}.{self.func.__name__}"


R, S, I, F, M, G = (Arg("real"), Arg("scalar"), Arg("int"), Arg("flag"), Arg("matrix"), Arg("grid"))
NONNEG, POS = Arg("real", (-1.0,)), Arg("real", (0.0, -1.0))
NONNEG_S, POS_S = Arg("scalar", (-1.0,)), Arg("scalar", (0.0, -1.0))
PSD2 = np.array([[2.0, 0.5], [0.5, 1.0]])
NOT_SYMMETRIC = np.array([[1.0, 0.5], [0.0, 1.0]])
NOT_PSD = np.array([[1.0, 0.0], [0.0, -0.5]])
SQ2 = np.array([[0.3, -0.2], [0.1, 0.5]])
T5 = np.linspace(0.0, 2.0, 5)
TWO = np.array([0.2, 0.7])
THREE = np.array([0.2, 0.7, 0.9])
FEATURES = np.array([[1.0, 0.5], [0.5, 1.0], [-1.0, 0.2], [0.3, -0.8]])
LABELS = np.array([0, 0, 1, 1])

REGISTRY: list[Case] = [
    # ---------------------------------------------------------------- byol: modes (002 Eqs 11-17)
    Case("byol", _modes.invariant, dict(p=TWO, s=TWO, alpha_p=1.5), dict(p=R, s=NONNEG, alpha_p=POS),
         extra_bad=(("s", THREE),)),
    Case("byol", _modes.invariant_prediction, dict(t=TWO, p0=TWO, s0=0.3, alpha_p=1.0, eta=0.1),
         dict(t=NONNEG, p0=R, s0=NONNEG, alpha_p=POS, eta=NONNEG), extra_bad=(("p0", THREE),)),
    Case("byol", _modes.collapse_threshold, dict(tau=TWO, sigma2=TWO), dict(tau=R, sigma2=NONNEG),
         extra_bad=(("sigma2", THREE),)),
    Case("byol", _modes.fixed_points, dict(tau=TWO, eta=0.01, sigma2=TWO), dict(tau=R, eta=NONNEG, sigma2=NONNEG),
         variants=(dict(tau=1.0, eta=0.3, sigma2=0.0),), nan_where_absent=True, extra_bad=(("sigma2", THREE),)),
    Case("byol", _modes.phase_plane_fixed_points, dict(tau=1.0, alpha_p=TWO, eta=0.01, sigma2=TWO),
         dict(tau=R, alpha_p=POS, eta=NONNEG, sigma2=NONNEG), nan_where_absent=True, extra_bad=(("alpha_p", THREE),)),
    Case("byol", _modes.p_dynamics_on_parabola, dict(p=TWO, tau=1.0, eta=TWO, sigma2=0.5),
         dict(p=R, tau=R, eta=NONNEG, sigma2=NONNEG), extra_bad=(("eta", THREE),)),
    Case("byol", _modes.tau_closed_form, dict(t=T5, p=np.full((2, 5), 0.7), beta=np.array([[0.5], [2.0]]), tau0=0.3),
         dict(t=G, p=Arg("real", (0.0, -0.5)), beta=NONNEG, tau0=R),
         extra_bad=(("p", np.full((2, 4), 0.7)), ("beta", np.ones((3, 1))))),
    Case("byol", _modes.delta, dict(p=TWO, tau=TWO, eta=0.1, sigma2=0.0), dict(p=R, tau=R, eta=NONNEG, sigma2=NONNEG),
         extra_bad=(("tau", THREE),)),
    Case("byol", _modes.k_eigenvalue, dict(p=TWO, s=TWO, tau=1.0, alpha_p=2.0, eta=0.1, sigma2=0.5),
         dict(p=R, s=NONNEG, tau=R, alpha_p=POS, eta=NONNEG, sigma2=NONNEG), extra_bad=(("s", THREE),)),
    Case("byol", _modes.alignment_condition, dict(p=TWO, s=TWO, tau=1.0, alpha_p=2.0, eta=0.1, sigma2=0.5),
         dict(p=R, s=NONNEG, tau=R, alpha_p=POS, eta=NONNEG, sigma2=NONNEG), extra_bad=(("s", THREE),)),
    Case("byol", _modes.classify_mode_fixed_point, dict(p=1.0, s=0.0, tau=1.0, alpha_p=1.0, eta=0.0, sigma2=0.0, beta=0.5),
         dict(p=S, s=NONNEG_S, tau=S, alpha_p=POS_S, eta=NONNEG_S, sigma2=NONNEG_S, beta=NONNEG_S, zero_tol=POS_S),
         extra_bad=(("p", TWO),)),
    Case("byol", _modes.classify_parabola_fixed_point, dict(p_star=0.0, tau=1.0, eta=0.01, sigma2=0.0),
         dict(p_star=S, tau=S, eta=NONNEG_S, sigma2=NONNEG_S), extra_bad=(("eta", TWO),)),
    # ---------------------------------------------------------------- byol: DirectPred (002 Eqs 18-19)
    Case("byol", _directpred.directpred_eigenvalues, dict(s=np.array([4.0, 1.0, 0.0]), eps=0.1, c_shift=0.5),
         dict(s=Arg("real", (np.array([-5.0, 1.0]),)), eps=NONNEG_S, c_shift=S), extra_bad=(("s", 2.0),)),
    Case("byol", _directpred.directpred_predictor, dict(F=PSD2, eps=0.1, c_shift=0.0),
         dict(F=Arg("matrix", (NOT_SYMMETRIC, NOT_PSD)), eps=NONNEG_S, c_shift=S)),
    Case("byol", _directpred.update_correlation, dict(F_hat=PSD2, features=FEATURES, rho=0.9),
         dict(F_hat=Arg("matrix", (NOT_SYMMETRIC, NOT_PSD, np.eye(3))), features=M, rho=Arg("scalar", (1.0, -0.1)))),
    # ---------------------------------------------------------------- byol: linear flow companions (Thms 1-3)
    Case("byol", _linear.commutator, dict(F=PSD2, Wp=SQ2), dict(F=Arg("matrix", (NOT_SYMMETRIC, NOT_PSD)), Wp=M),
         extra_bad=(("Wp", np.eye(3)), ("Wp", np.ones((2, 3))))),
    Case("byol", _linear.k_matrix, dict(F=PSD2, Wp=SQ2, alpha_p=1.0, eta=0.1, sigma2=0.2, tau=1.0),
         dict(F=Arg("matrix", (NOT_PSD,)), Wp=M, alpha_p=POS_S, eta=NONNEG_S, sigma2=NONNEG_S, tau=S),
         extra_bad=(("Wp", np.eye(3)),)),
    Case("byol", _linear.commutator_bound, dict(t=T5, k_min=np.full((2, 5), 0.3), commutator0=TWO),
         dict(t=G, k_min=R, commutator0=NONNEG), extra_bad=(("k_min", np.ones(4)), ("commutator0", THREE))),
    Case("byol", _linear.alignment_cosines, dict(F=PSD2, Wp=SQ2), dict(F=Arg("matrix", (NOT_PSD,)), Wp=M),
         extra_bad=(("Wp", np.eye(3)),)),
    Case("byol", _linear.predictor_asymmetry, dict(Wp=SQ2), dict(Wp=Arg("matrix", (np.ones((2, 3)),))),
         variants=(dict(Wp=np.zeros((2, 2))),)),
    Case("byol", _linear.invariant_constant, dict(W0=np.ones((2, 3)), Wp0=SQ2, alpha_p=2.0),
         dict(W0=M, Wp0=Arg("matrix", (np.eye(3),)), alpha_p=POS_S)),
    Case("byol", _linear.invariant_residual,
         dict(W=np.ones((2, 2, 3)), Wp=np.stack([SQ2, SQ2]), t=TWO, W0=np.ones((2, 3)), Wp0=SQ2, alpha_p=1.0, eta=0.1),
         dict(W=M, Wp=M, t=NONNEG, W0=M, Wp0=M, alpha_p=POS_S, eta=NONNEG_S),
         variants=(dict(W=np.zeros((1, 2, 3)), Wp=np.zeros((1, 2, 2)), t=[0.0], W0=np.zeros((2, 3)),
                        Wp0=np.zeros((2, 2))),),
         extra_bad=(("t", THREE), ("Wp0", np.eye(3)), ("W0", np.ones((3, 3))))),
    Case("byol", _linear.h_matrix, dict(Wp=SQ2, X=PSD2, Xp=0.5 * np.eye(2), eta=0.1),
         dict(Wp=Arg("matrix", (np.ones((2, 3)),)), X=Arg("matrix", (NOT_PSD, NOT_SYMMETRIC)),
              Xp=Arg("matrix", (NOT_PSD, np.eye(3))), eta=NONNEG_S)),
    Case("byol", _linear.random_orthogonal, dict(n=3, seed=1), dict(n=Arg("int", (0,)), seed=Arg("int", (-1,)))),
    Case("byol", _linear.random_initialization, dict(n1=4, n2=2, init_scale=0.1, predictor_scale=0.2,
                                                     symmetric_predictor=True, seed=0),
         dict(n1=Arg("int", (0,)), n2=Arg("int", (0,)), init_scale=POS_S, predictor_scale=NONNEG_S,
              symmetric_predictor=F, seed=Arg("int", (-1,)))),
    Case("byol", _linear.aligned_initialization, dict(w=TWO, p=TWO, wa=TWO, n1=3, seed=0),
         dict(w=R, p=R, wa=R, n1=Arg("int", (1,)), seed=Arg("int", (-1,)), U=M, V=M),
         extra_bad=(("p", THREE), ("U", 2.0 * np.eye(2)), ("V", np.ones((3, 2))))),
    # ---------------------------------------------------------------- simsiam: eigen-dynamics (003 Thm 4)
    Case("simsiam", _eigen.eigen_rates, dict(l_p=TWO, l=TWO, c=0.9, eps=0.01, eta=0.1, z_norm=1.5, p_norm=0.5, r1=1.0, r2=2.0),
         dict(l_p=R, l=NONNEG, c=Arg("real", (0.0, 1.5)), eps=R, eta=NONNEG, z_norm=POS, p_norm=POS, r1=POS, r2=POS),
         extra_bad=(("l", THREE),)),
    Case("simsiam", _eigen.phase, dict(l_p=TWO, c=0.9, z_norm=1.0, p_norm=2.0),
         dict(l_p=R, c=Arg("real", (0.0, 1.5)), z_norm=POS, p_norm=POS)),
    Case("simsiam", _eigen.invariant, dict(l_p=TWO, l=TWO, r1=1.0, r2=2.0, z_norm=1.5),
         dict(l_p=R, l=R, r1=POS, r2=POS, z_norm=POS), extra_bad=(("l", THREE),)),  # l < 0 is reachable (eps < 0)
    Case("simsiam", _eigen.fixed_points, dict(c=0.9, eta=TWO * 0.1, z_norm=1.0, p_norm=1.0),
         dict(c=Arg("real", (0.0, 1.5)), eta=NONNEG, z_norm=POS, p_norm=POS), nan_where_absent=True,
         variants=(dict(c=1.0, eta=0.0),)),
    Case("simsiam", _eigen.classify_eigen_fixed_point, dict(l_p=0.8, l=0.64, eta=0.16),
         dict(l_p=S, l=NONNEG_S, c=Arg("scalar", (0.0, 1.5)), eps=S, eta=NONNEG_S, z_norm=POS_S, p_norm=POS_S, r1=POS_S,
              r2=POS_S, zero_tol=POS_S)),
    # ---------------------------------------------------------------- simsiam: bounds (003 Thms 1-3)
    Case("simsiam", _bounds.feature_correlation, dict(features=FEATURES), dict(features=Arg("matrix", (np.ones(3),)))),
    Case("simsiam", _bounds.l_cor, dict(features=FEATURES), dict(features=Arg("matrix", (np.ones(3),)))),
    Case("simsiam", _bounds.dimension_term, dict(d=np.array([2, 4]), K=10), dict(d=Arg("real", (0.0, 1.5)),
                                                                                 K=Arg("real", (0.0, 2.5)))),
    Case("simsiam", _bounds.l_bound, dict(l_cor=TWO, d=np.array([2, 4]), K=10),
         dict(l_cor=NONNEG, d=Arg("real", (0.0, 1.5)), K=Arg("real", (0.0,))), extra_bad=(("l_cor", THREE),)),
    Case("simsiam", _bounds.separation_threshold, dict(d=4, eps=TWO * 0.1), dict(d=Arg("real", (0.0, 1.5)), eps=NONNEG)),
    Case("simsiam", _bounds.error_bound, dict(l_cor=0.5, d=4, eps=0.1, K=6),
         dict(l_cor=NONNEG, d=Arg("real", (0.0,)), eps=Arg("real", (-0.1, 0.3)), K=Arg("int", (1,)))),
    Case("simsiam", _bounds.error_bound_union, dict(l_cor=0.5, d=4, eps=0.1, class_probs=np.array([0.3, 0.7])),
         dict(l_cor=NONNEG, d=Arg("real", (0.0,)), eps=Arg("real", (-0.1, 0.3)),
              class_probs=Arg("real", (np.array([0.5, 0.6]), np.array([1.0, 0.0]), np.array([1.0])))),),
    Case("simsiam", _bounds.barlow_twins_loss, dict(features1=FEATURES, features2=FEATURES[::-1], lambda_bt=0.5),
         dict(features1=M, features2=Arg("matrix", (FEATURES[:3],)), lambda_bt=POS)),
    Case("simsiam", _bounds.barlow_twins_lower_bound, dict(l_cor=1.0, eps=0.1, d=2, scaled=True),
         dict(l_cor=NONNEG, eps=NONNEG, d=Arg("real", (0.0,)), scaled=F)),
    Case("simsiam", _bounds.class_means, dict(features=FEATURES, labels=LABELS, K=2),
         dict(features=M, labels=Arg("matrix", (np.array([0, 0, 1]), np.array([0, 0, 1, -1]), np.array([0, 0, 0, 0]))),
              K=Arg("int", (0,)))),
    Case("simsiam", _bounds.nearest_mean_error, dict(features=FEATURES, labels=LABELS),
         dict(features=M, labels=Arg("matrix", (np.array([0, 0, 1]), np.array([0.5, 0, 1, 1]))))),
    Case("simsiam", _bounds.augmentation_eps, dict(features=FEATURES, labels=LABELS),
         dict(features=Arg("matrix", (np.zeros((4, 2)),)), labels=Arg("matrix", (np.array([0, 0, 1]),)))),
    Case("simsiam", _bounds.latent_class_features, dict(n=20, d=3, K=2, eps=0.1, seed=0),
         dict(n=Arg("int", (1,)), d=Arg("int", (1,)), K=Arg("int", (1,)), eps=Arg("scalar", (0.0, 2.5)),
              seed=Arg("int", (-1,)), class_probs=Arg("real", (np.array([0.5, 0.6]),)), centers=M)),
    # ---------------------------------------------------------------- dual networks: EMA (000 Eqs 10-11, 134-143)
    Case("dual_networks", _ema.discriminant, dict(lr=TWO, gamma_ema=0.9, lam=TWO),
         dict(lr=POS, gamma_ema=Arg("real", (1.0, -0.1)), lam=R), extra_bad=(("lam", THREE),)),
    Case("dual_networks", _ema.z_roots, dict(lr=0.1, gamma_ema=TWO, lam=-1.0),
         dict(lr=POS, gamma_ema=Arg("real", (1.0, -0.1)), lam=R), extra_bad=(("lr", THREE),)),
    Case("dual_networks", _ema.growth_rate, dict(lr=0.1, gamma_ema=0.9, lam=TWO),
         dict(lr=POS, gamma_ema=Arg("real", (1.0, -0.1)), lam=R), extra_bad=(("gamma_ema", THREE * 0.5),)),
    Case("dual_networks", _ema.update_matrix, dict(lr=TWO, gamma_ema=0.75, lam=-1.0),
         dict(lr=POS, gamma_ema=Arg("real", (1.0, -0.1)), lam=R), extra_bad=(("lam", THREE),)),
    Case("dual_networks", _ema.closed_form, dict(t=np.arange(2), w0=1.0, lr=0.5, gamma_ema=0.75, lam=TWO, w_ema0=0.1),
         dict(t=Arg("real", (-1.0, 0.5)), w0=R, lr=POS, gamma_ema=Arg("real", (1.0, -0.1)), lam=R, w_ema0=R),
         variants=(dict(t=np.array([2**33]), w0=1.0, lr=0.1, gamma_ema=0.9, lam=0.0),
                   dict(t=np.arange(50), w0=1.0, lr=0.5, gamma_ema=0.5, lam=1.0),
                   dict(t=np.arange(5), w0=1.0, lr=0.5, gamma_ema=0.0, lam=1.0)),  # z_min = 0 (was NaN)
         extra_bad=(("w0", THREE),)),
]

# ======================================================================== the families of issues 12-17
C, WTS = Arg("choice"), Arg("weights")
PROB = Arg("real", (np.array([1.5, -0.5]),))  # probabilities: each >= 0, summing to 1
X3 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [0.5, 0.5, 0.2]])
XL = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
OP = _contrastive.contrastive_operator(XL, activation="linear")
ATOMS, ATOM_PROBS = np.eye(2)[None], np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
E1 = np.array([1.0, 0.0])
KEY = jax.random.PRNGKey(0)
NET = [np.array([[1.0, 0.5]]), np.array([[0.5]])]  # base + scalar predictor
TARGET = [np.array([[1.0, 0.5]]), np.array([[1.0]])]
IMAGES = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 1.0]]])  # [n_z0, n_z', n_0]
SHALLOW = [np.array([[1.0, -1.0]]), np.array([[2.0]])]
TREE = _dual.hltm(2, 2, rho=0.9, rho_0=0.2)
NOT_CHAINING = [np.ones((3, 2)), np.ones((1, 2))]
CENTRES = np.array([[1.0, 0.0], [-1.0, 0.0]])


def _sampler(key, n, a):
    return jax.random.normal(key, (n, a, 2))


REGISTRY += [
    # ---------------------------------------------------------------- contrastive: Eq 3, activations (001)
    Case("contrastive", _contrastive.pairwise_importance, dict(z=FEATURES, alpha="gaussian", tau=1.0),
         dict(z=Arg("matrix", (np.ones((1, 2)),)), alpha=C, tau=POS_S)),
    Case("contrastive", _contrastive.contrastive_weights, dict(z=FEATURES, alpha="gaussian", tau=1.0, probs=np.full(4, 0.25)),
         dict(z=M, alpha=C, tau=POS_S, probs=Arg("real", (np.array([0.5, 0.6, -0.1, 0.0]), np.full(3, 1 / 3)))),
         variants=(dict(alpha="infonce"), dict(alpha="uniform", probs=None))),
    Case("contrastive", _contrastive.contrastive_covariance,
         dict(a=FEATURES, a_aug=FEATURES[::-1], b=FEATURES[:, ::-1], b_aug=FEATURES[::-1, ::-1], alpha="gaussian", tau=1.0,
              z=FEATURES),
         dict(a=M, a_aug=M, b=M, b_aug=M, alpha=C, tau=POS_S, z=M, probs=Arg("real", (np.full(3, 1 / 3),))),
         extra_bad=(("a_aug", FEATURES[:3]), ("z", FEATURES[:3]))),
    Case("contrastive", _contrastive.contrastive_operator, dict(x=XL, activation="linear"),
         dict(x=M, x_aug=Arg("matrix", (XL[:3],)), alpha=C, tau=POS_S, probs=Arg("real", (np.full(3, 1 / 3),)),
              activation=C, alpha_source=C)),
    Case("contrastive", _contrastive.rotation_augmented_operator, dict(x0=X3),
         dict(x0=Arg("matrix", (FEATURES,)), probs=Arg("real", (np.array([0.5, 0.6, -0.1]), np.full(2, 0.5))))),
    Case("contrastive", _contrastive.random_unit_vectors, dict(num=3, d=2, seed=0),
         dict(num=Arg("int", (0,)), d=Arg("int", (0,)), seed=Arg("int", (-1,)))),
    # ---------------------------------------------------------------- contrastive: LMEs (Thms 1-3, App. B.4)
    Case("contrastive", _contrastive.power_iteration, dict(op=OP, w0=np.array([[0.6, 0.8]]), steps=5),
         dict(w0=Arg("matrix", (np.ones((1, 3)), np.array([[2.0, 0.0]]))), steps=Arg("int", (0,)), eps=NONNEG_S,
              tol=NONNEG_S)),
    Case("contrastive", _contrastive.tangent_jacobian, dict(op=OP, w=E1), dict(w=Arg("real", (THREE, 2 * E1)))),
    Case("contrastive", _contrastive.local_roughness, dict(op=OP, w=E1, num_directions=2),
         dict(w=Arg("real", (THREE, 2 * E1)), radius=POS_S, num_directions=Arg("int", (-1,)), seed=Arg("int", (-1,)))),
    Case("contrastive", _contrastive.fixed_point_report, dict(op=OP, w=E1),
         dict(w=Arg("real", (THREE, 2 * E1)), tol=POS_S, radius=POS_S, seed=Arg("int", (-1,)))),
    Case("contrastive", _contrastive.find_lmes, dict(op=OP, num_starts=2, steps=5),
         dict(num_starts=Arg("int", (0,)), seed=Arg("int", (-1,)), steps=Arg("int", (0,)), eps=NONNEG_S, tol=POS_S,
              dedup_tol=POS_S, flow=F, starts=Arg("matrix", (np.ones((1, 3)),)))),
    Case("contrastive", _contrastive.irregularity, dict(op=OP, w=E1, L=0.0, kappa=0.0),
         dict(w=Arg("real", (THREE, 2 * E1)), L=NONNEG_S, kappa=NONNEG_S, eps=NONNEG_S)),
    Case("contrastive", _contrastive.theorem3_neighbourhood,
         dict(op=OP, w0=np.array([np.cos(0.1), np.sin(0.1)]), gamma=0.5, L=0.0, kappa=0.0, num_samples=2, steps=5),
         dict(w0=Arg("real", (THREE, 2 * E1)), gamma=POS_S, L=NONNEG_S, kappa=NONNEG_S, num_samples=Arg("int", (0,)),
              seed=Arg("int", (-1,)), eps=NONNEG_S, steps=Arg("int", (0,)))),
    # ---------------------------------------------------------------- contrastive: latent models (Sec 3.1, App. B.1)
    Case("contrastive", _contrastive.latent_categorical_population, dict(U=np.eye(2), probs=[0.25, 0.75]),
         dict(U=M, probs=PROB), extra_bad=(("probs", THREE / THREE.sum()),)),
    Case("contrastive", _contrastive.latent_summation_population, dict(U=np.eye(2), q=0.2),
         dict(U=M, q=Arg("real", (0.0, 1.0))), extra_bad=(("q", THREE),)),
    Case("contrastive", _contrastive.sample_latent_categorical, dict(n=4, U=np.eye(2), probs=[0.5, 0.5]),
         dict(n=Arg("int", (0,)), U=M, probs=PROB, seed=Arg("int", (-1,)))),
    Case("contrastive", _contrastive.sample_latent_summation, dict(n=4, U=np.eye(2), q=[0.2, 0.3]),
         dict(n=Arg("int", (0,)), U=M, q=Arg("real", (0.0, 1.0)), seed=Arg("int", (-1,)))),
    Case("contrastive", _contrastive.latent_categorical_A, dict(U=np.eye(2), probs=[0.25, 0.75], m=0),
         dict(U=Arg("matrix", (2 * np.eye(2),)), probs=PROB, m=Arg("int", (-1, 2)))),
    Case("contrastive", _contrastive.latent_summation_A, dict(U=np.eye(2), q=0.2, m=0),
         dict(U=Arg("matrix", (2 * np.eye(2),)), q=Arg("real", (0.0, 1.0)), m=Arg("int", (-1, 2)))),
    # ---------------------------------------------------------------- contrastive: two layers, modulation (Lemma 4, Thm 5)
    Case("contrastive", _contrastive.latent_field_model, dict(p_z=[0.5, 0.5], atoms=ATOMS, probs=ATOM_PROBS),
         dict(p_z=PROB, atoms=Arg("matrix", (np.eye(2),)), probs=Arg("matrix", (ATOM_PROBS[:1], -ATOM_PROBS)))),
    Case("contrastive", _contrastive.global_modulation,
         dict(L=np.zeros((2, 1, 1)), Delta=np.ones((2, 1)), w=np.ones((2, 1)), p1=0.5),
         dict(L=M, Delta=Arg("matrix", (np.ones((3, 1)),)), w=Arg("matrix", (np.ones((3, 1)),)),
              p1=Arg("real", (0.0, 1.0)), batchnorm=F)),
    # ---------------------------------------------------------------- contrastive: blow-up (Thm 6, Eq 155)
    Case("contrastive", _contrastive.blowup_time, dict(y0=TWO, b=1.0), dict(y0=R, b=POS), nan_where_absent=True,
         variants=(dict(y0=np.array([-0.5, 0.0])),)),
    Case("contrastive", _contrastive.blowup_solution, dict(t=TWO, y0=0.3, b=2.0), dict(t=NONNEG, y0=R, b=POS),
         variants=(dict(y0=-0.5, t=np.array([0.0, 50.0])),)),
    Case("contrastive", _contrastive.modulation_probability, dict(e=np.array([-0.5, 0.5, 2.0]), d=10),
         dict(e=R, d=Arg("int", (0,)))),
    # ---------------------------------------------------------------- dual networks: connection, InfoNCE (000 Thms 1-2)
    Case("dual_networks", _dual.check_weights, dict(weights=SHALLOW), dict(weights=Arg("weights", (NOT_CHAINING,)))),
    Case("dual_networks", _dual.mlp_forward, dict(weights=SHALLOW, x=np.array([3.0, 1.0])),
         dict(weights=WTS, x=Arg("real", (THREE,)), linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.jacobians, dict(weights=SHALLOW, x=np.array([3.0, 1.0])),
         dict(weights=WTS, x=Arg("real", (THREE,)), linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.connection, dict(weights=SHALLOW, x=np.array([3.0, 1.0]), layer=1),
         dict(weights=WTS, x=Arg("real", (THREE,)), layer=Arg("int", (0, 3)), linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.dual_gradient,
         dict(weights_1=SHALLOW, weights_2=SHALLOW, x_1=np.array([3.0, 1.0]), x_2=np.array([1.0, 0.0]), layer=2),
         dict(weights_1=WTS, weights_2=Arg("weights", ([np.ones((1, 3)), np.ones((1, 1))],)), x_1=Arg("real", (THREE,)),
              x_2=Arg("real", (THREE,)), layer=Arg("int", (0, 3)), linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.infonce_loss, dict(r_plus=0.0, r_minus=[0.0, 1.0], tau=1.0),
         dict(r_plus=NONNEG, r_minus=NONNEG, tau=POS)),
    Case("dual_networks", _dual.infonce_partials, dict(r_plus=0.0, r_minus=[0.0, 1.0], tau=0.5),
         dict(r_plus=NONNEG, r_minus=NONNEG, tau=POS)),
    Case("dual_networks", _dual.latent_model, dict(images=IMAGES, p_z0=[0.25, 0.75], p_aug=np.full((2, 2), 0.5)),
         dict(images=Arg("matrix", (np.ones((2, 2)), np.zeros((2, 0, 2)))), p_z0=PROB,
              p_aug=Arg("matrix", (np.full((2, 2), 0.3), np.full((3, 2), 0.5))))),
    Case("dual_networks", _dual.sample_latent_model, dict(sampler=_sampler, key=KEY, num_samples=2, num_augmentations=1),
         dict(num_samples=Arg("int", (1,)), num_augmentations=Arg("int", (0,)))),
    Case("dual_networks", _dual.mean_connection, dict(weights=SHALLOW, layer=1, model=IMAGES),
         dict(weights=WTS, layer=Arg("int", (0, 3)), model=Arg("matrix", (np.ones((2, 2, 3)),)),
              linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.covariance_operator, dict(weights=SHALLOW, layer=1, model=IMAGES),
         dict(weights=WTS, layer=Arg("int", (0, 3)), model=Arg("matrix", (np.ones((2, 2, 3)),)),
              linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.augmentation_variance, dict(weights=SHALLOW, layer=1, model=IMAGES),
         dict(weights=WTS, layer=Arg("int", (0, 3)), model=M, linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.cross_covariance, dict(weights=SHALLOW, weights_prime=SHALLOW, layer=1, model=IMAGES),
         dict(weights=WTS, weights_prime=WTS, layer=Arg("int", (0, 3)), model=M, linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.simclr_update, dict(weights=SHALLOW, layer=1, model=IMAGES, beta=2.0),
         dict(weights=WTS, layer=Arg("int", (0, 3)), model=M, beta=NONNEG_S, linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.byol_symmetric_update, dict(weights=SHALLOW, layer=1, model=IMAGES),
         dict(weights=WTS, layer=Arg("int", (0, 3)), model=M, linear_from=Arg("int", (0, 3)))),
    # ---------------------------------------------------------------- dual networks: BYOL with BatchNorm (Thm 4, Eqs 5-9)
    Case("dual_networks", _dual.bn_correction, dict(weights=NET, target_weights=TARGET, layer=1, model=IMAGES, linear_from=1),
         dict(weights=WTS, target_weights=WTS, layer=Arg("int", (0, 3)), model=M, linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.byol_update, dict(weights=NET, target_weights=TARGET, layer=1, model=IMAGES, linear_from=1),
         dict(weights=WTS, target_weights=WTS, layer=Arg("int", (0, 3)), model=M, batchnorm=F,
              linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.implicit_contrastive_term,
         dict(weights=NET, target_weights=TARGET, layer=1, model=IMAGES, linear_from=1),
         dict(weights=WTS, target_weights=WTS, layer=Arg("int", (0, 3)), model=M, linear_from=Arg("int", (0, 3)))),
    Case("dual_networks", _dual.predictor_approximation, dict(base_weights=[NET[0]], layer=1, model=IMAGES, b=0.25),
         dict(base_weights=WTS, layer=Arg("int", (0, 2)), model=M, b=S, linear_from=Arg("int", (0, 2)))),
    Case("dual_networks", _dual.batchnorm_gradient,
         dict(weights=NET, target_weights=NET, x_1=np.eye(2), x_2=np.eye(2)[::-1], layer=1, linear_from=1),
         dict(weights=WTS, target_weights=WTS, x_1=Arg("matrix", (np.ones((2, 3)),)), x_2=Arg("matrix", (np.ones((3, 2)),)),
              layer=Arg("int", (0, 3)), batch_weights=Arg("real", (np.array([1.5, -0.5]), np.full(3, 1 / 3))),
              mean_subtraction=F, linear_from=Arg("int", (0, 3)))),
    # ---------------------------------------------------------------- dual networks: single neuron (App. A.1)
    Case("dual_networks", _dual.ring_objects, dict(d=5, field=(0, 1)), dict(d=Arg("int", (2,)), bias=F),
         extra_bad=(("field", (0, 7)), ("field", ()))),
    Case("dual_networks", _dual.pattern_vector, dict(pattern="01"), dict(pattern=C, bias=F)),
    Case("dual_networks", _dual.pattern_frequencies, dict(d=6), dict(d=Arg("int", (2,)))),
    Case("dual_networks", _dual.selectivity_constant, dict(pattern="01", d=5), dict(pattern=C, d=Arg("int", (2,)))),
    Case("dual_networks", _dual.single_neuron_operator, dict(w=[-2.0, 1.0], d=5, field=(0, 1), relu=True),
         dict(w=Arg("real", (THREE,)), d=Arg("int", (2,)), relu=F, bias=F)),
    Case("dual_networks", _dual.iterate_covariance_update, dict(w0=[-2.0, 1.0], d=5, steps=3, field=(0, 1)),
         dict(w0=Arg("real", (THREE,)), d=Arg("int", (2,)), steps=Arg("int", (-1,)), alpha=S, beta=S, relu=F, bias=F)),
    Case("dual_networks", _dual.semantic_subspace_model,
         dict(samples=np.eye(3), semantic_basis=[[1.0, 0.0, 0.0]], key=KEY, num_scrambles=2),
         dict(samples=M, semantic_basis=Arg("matrix", (np.ones((1, 2)),)), num_scrambles=Arg("int", (0,)))),
    # ---------------------------------------------------------------- dual networks: two-layer flow (Thm 5, Eq 16)
    Case("dual_networks", _dual.mixture_u, dict(w1=[[1.0, 0.0]], centres=[[0.0, 0.0], [3.0, 0.0]], sigma=1.0),
         dict(w1=Arg("matrix", (np.ones((1, 3)),)), centres=M, sigma=POS_S, relu=F)),
    Case("dual_networks", _dual.two_layer_A, dict(w1=[[1.0, 0.0]], centres=CENTRES, probs=[0.5, 0.5]),
         dict(w1=Arg("matrix", (np.ones((1, 3)),)), centres=M, probs=PROB, sigma=POS_S, relu=F)),
    # ---------------------------------------------------------------- dual networks: HLTM (Thms 6-7)
    Case("dual_networks", _dual.hltm, dict(depth=2, branching=2, rho=0.9, rho_0=0.2),
         dict(depth=Arg("int", (0,)), branching=Arg("int", (0,)), rho=Arg("real", (1.5, -1.5)),
              rho_0=Arg("real", (1.5, -1.5)), seed=Arg("int", (-1,)))),
    Case("dual_networks", _dual.sample, dict(tree=TREE, key=KEY, num=3), dict(num=Arg("int", (0,)), z0=Arg("real", (2.0,)))),
    Case("dual_networks", _dual.exact_expectations, dict(tree=TREE, values=np.ones((2, 64))),
         dict(values=Arg("real", (THREE,)))),
    Case("dual_networks", _dual.theorem6_covariance, dict(rho_0mu=0.5, rho_mu_nu=[1.0, 0.5], s=[0.5, 0.5], rho_0=0.0),
         dict(rho_0mu=Arg("real", (1.5,)), rho_mu_nu=Arg("real", (1.5,)), s=R, rho_0=Arg("real", (1.5,))),
         extra_bad=(("s", THREE),)),
    Case("dual_networks", _dual.lucky_node_bound, dict(s=[0.5] * 4, rho_mu_nu=1.0, sigma_w=1.0, c=9.0),
         dict(s=Arg("real", (1.5,)), rho_mu_nu=Arg("real", (1.5,)), sigma_w=POS, c=POS, sigma_l=NONNEG)),
    Case("dual_networks", _dual.lucky_nodes, dict(w=[[1.0, 1.0], [-1.0, 1.0]], u_plus=[1.0, 1.0], u_minus=[-0.5, -0.5],
                                                  sigma_w=1.0, c=1.0),
         dict(w=M, u_plus=Arg("real", (THREE,)), u_minus=Arg("real", (THREE,)), sigma_w=POS_S, c=POS_S)),
    Case("dual_networks", _dual.tree_network_init, dict(tree=TREE, key=KEY, width=3),
         dict(width=Arg("int", (0,)), sigma_w=POS_S, bias=F)),
    # ---------------------------------------------------------------- prediction head: data, optimum, initialisation (004)
    Case("prediction_head", _head.check_data_parameters, dict(d=8, P=4, P0=2, alpha_1=2.0, alpha_2=1.0, sigma=1.0),
         dict(d=Arg("int", (2,)), P=Arg("int", (1,)), P0=Arg("int", (0, 5)), alpha_1=POS, alpha_2=Arg("real", (0.0, 3.0)),
              sigma=NONNEG)),
    Case("prediction_head", _head.sample, dict(key=0, n=4, d=5, P=4, P0=2, alpha_1=2.0, alpha_2=1.0),
         dict(key=Arg("int", (-1,)), n=Arg("int", (0,)), d=Arg("int", (2,)), P=Arg("int", (1,)), P0=Arg("int", (0, 5)),
              alpha_1=POS_S, alpha_2=Arg("scalar", (0.0, 3.0)), sigma=NONNEG_S)),
    Case("prediction_head", _head.overlap_law, dict(P=4, P0=2), dict(P=Arg("int", (1,)), P0=Arg("int", (0, 5)))),
    Case("prediction_head", _head.optimal_loss, dict(P=4, P0=2), dict(P=Arg("int", (1,)), P0=Arg("int", (0, 5))),
         variants=(dict(P=5, P0=3), dict(P=8, P0=1), dict(P=8, P0=8))),
    Case("prediction_head", _head.features, dict(d=4), dict(d=Arg("int", (1,)))),
    Case("prediction_head", _head.init_weights, dict(key=KEY, d=4, m=2), dict(d=Arg("int", (0,)), m=Arg("int", (0,)))),
    Case("prediction_head", _head.offdiagonal_mask, dict(m=2), dict(m=Arg("int", (0,)))),
    Case("prediction_head", _head.initial_race, dict(seed=0, d=8, m=2, alpha_1=4.0, alpha_2=2.0),
         dict(seed=Arg("int", (-1,)), d=Arg("int", (3,)), m=Arg("int", (0,)), alpha_1=POS_S,
              alpha_2=Arg("scalar", (0.0, 5.0))), variants=(dict(seed=[0, 1, 2], d=8, m=3, alpha_1=4.0, alpha_2=4.0),)),
]

#: Public functions of the newer families that are not fuzzed here, each with its reason (the
#: coverage test accounts for every public function: a Case, this dict, or a simulator / field).
_TRAJECTORY = "reads a finished Trajectory (a simulator's result), no analytic input to fuzz"
_TRACED = "pure-JAX building block evaluated on traced states inside a registered field / training step"
_EXPERIMENT = "trains networks (flax/optax): a long experiment, imported lazily"
NOT_FUZZED = {
    # contrastive (001)
    "activation": "validates its name as 'activation' (the Choice shared by every activation= argument), "
                  "while its parameter is named act; renaming the documented message would change it for all callers",
    "gated_input": _TRACED + " (the gate of A(w), Eq 7)",
    "rotation_averaged_gate": _TRACED + " (the gate of rotation_augmented_operator)",
    "one_layer_energy": _TRACED + " (the one-layer save function)",
    "two_layer_energy": "pure JAX, meant for jax.grad (its gradient is Eq 12's flow before the projection)",
    "two_layer_update": _TRACED + " (dW/dt of Eq 12: a vector field)",
    "modulated_update": _TRACED + " (dw/dt of Eq 15: a vector field)",
    "population_statistics": _TRACED + " (the two-layer field's statistics of the state W)",
    "batch_statistics": _TRACED + " (the two-layer field's statistics of the state W)",
    "field_statistics": _TRACED + " (the global-modulation field's statistics of the state w)",
    "top_eigenvector": _TRACED + " (the fast top layer of the two-layer field)",
    "secular_root": _TRACED + " (the root of the global-modulation field's secular equation)",
    "pd_shift": _TRACED + " (App. B.4's shift inside the power-iteration scan)",
    "population_alpha": "documented 'No validation': the traced core behind contrastive_weights(probs=...), fuzzed there",
    "basin_fraction": _TRAJECTORY,
    "time_reached": _TRAJECTORY,
    "measure_blowup_time": "runs simulate_blowup repeatedly (a simulation, driven by the contract test)",
    **{name: _EXPERIMENT + " (the Sec 5 token experiment)" for name in _contrastive._TOKEN_NAMES},
    # dual networks (000)
    "vec": "traceable reshape helper (vec(A X B) = (B^T kron A) vec X) used on traced Jacobians",
    "unvec": "traceable reshape helper, the inverse of vec",
    "enumerate_latents": "takes only an HLTM built and validated by hltm() (fuzzed)",
    "path_polarity": "takes only an HLTM built and validated by hltm() (fuzzed)",
    "final_directions": _TRAJECTORY,
    "two_layer_invariant": "evaluated on whole trajectories whose states past a blow-up are NaN/inf by design "
                           "(test_dual_two_layer masks them): a finiteness check would break that use",
    "tree_network_forward": _TRACED + " (the forward pass of the Table 3 tree network)",
    **{name: _EXPERIMENT + " (Table 3)" for name in _dual._HLTM_EXPERIMENT_NAMES},
    # prediction head (004)
    "draw": "the documented unvalidated, jit-friendly sampler behind sample() (fuzzed); its inputs may be traced",
    "draw_latent": "the unvalidated latent half of draw()",
    "view_mask": _TRACED + " (Eq 3.2's random half, inside the training step)",
    "positive_pair": _TRACED + " (Eq 3.2, inside the training step)",
    "encoder": _TRACED + " (the cubic encoder)",
    "cubic_sum": _TRACED,
    "batch_norm": _TRACED + " (Eq 3.1)",
    "loss": _TRACED + " (Eq 3.3)",
    "loss_terms": _TRACED + " (Eq 3.3 per neuron)",
    "loss_terms_from_outputs": _TRACED + " (Eq 3.3 from encoder outputs)",
    "head_gradient": _TRACED + " (the gradients of one step)",
    "detect_phases": _TRAJECTORY,
}

FAMILIES = ("byol", "simsiam", "dual_networks", "contrastive", "prediction_head")


def bad_values(arg: Arg) -> list[tuple[Any, tuple[type, ...]]]:
    """(value, the error types it may raise) for one argument."""
    typed = [(v, (TypeError,)) for v in WRONG_TYPES]
    kind = arg.kind
    if kind == "flag":
        return [(None, (TypeError,)), ("yes", (TypeError,)), (1, (TypeError,))]
    if kind == "choice":  # one of a fixed set of names
        return [(True, (TypeError,)), (None, (TypeError,)), (1 + 1j, (TypeError,)), ("not-a-choice", (ValueError,))] + [(v, (ValueError,)) for v in arg.out_of_range]
    if kind == "weights":  # a list of chaining weight matrices W_1, ..., W_L
        values = typed + [(np.eye(2), (TypeError,)), ([], (ValueError,)), ([[[1.0, NAN]]], (ValueError,)),
                          ([[[INF]]], (ValueError,)), ([np.zeros((0, 2))], (ValueError,)), ([np.ones(2)], (ValueError,)),
                          ([[["a"]]], (TypeError,)), ([[[1j]]], (TypeError,))]
        return values + [(v, (ValueError,)) for v in arg.out_of_range]
    if kind == "int":
        values = typed + [(NAN, (ValueError,)), (INF, (ValueError,)), (2.5, (ValueError,))]
    elif kind == "matrix":
        values = typed + [([[1.0, NAN], [0.0, 1.0]], (ValueError,)), ([[INF]], (ValueError,)),
                          (np.zeros((0, 2)), (ValueError,)), ([["a", "b"]], (TypeError,)), ([[1j, 0.0]], (TypeError,))]
    elif kind == "grid":
        values = typed + [(T5[::-1], (ValueError,)), (np.array([0.0, NAN, 1.0, 2.0, 3.0]), (ValueError,)),
                          (np.array([0.0, 1.0, 1.0, 2.0, 3.0]), (ValueError,)), (np.array([1.0]), (ValueError,)),
                          (np.ones((5, 1)), (ValueError,)), ([], (ValueError,))]
    else:  # real (broadcasting) or scalar
        values = typed + [(NAN, (ValueError,)), (INF, (ValueError,)), (-INF, (ValueError,)), ([], (ValueError,)),
                          ([1.0, NAN], (ValueError,)), (np.array([True, False]), (TypeError,))]
    return values + [(v, (ValueError,)) for v in arg.out_of_range]


def all_bad_inputs():
    import inspect

    for case in REGISTRY:
        defaults = {name: p.default for name, p in inspect.signature(case.func).parameters.items()}
        for name, arg in case.args.items():
            for value, errors in bad_values(arg):
                if value is None and defaults.get(name, inspect.Parameter.empty) is None:
                    continue  # None is this argument's documented default ("not given")
                yield case, name, value, errors
        for name, value in case.extra_bad:
            yield case, name, value, (ValueError,)


BAD = list(all_bad_inputs())


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) is not None


@pytest.mark.parametrize("family", FAMILIES)
def test_every_bad_input_is_a_clear_error_naming_the_argument(family):
    """Each bad input raises the expected error type, and the message names the argument."""
    failures = []
    tried = 0
    for case, name, value, errors in BAD:
        if case.family != family:
            continue
        tried += 1
        try:
            case.func(**{**case.valid, name: value})
        except errors as err:
            if not _names(str(err), name):
                failures.append(f"{case.name}({name}={value!r}): {type(err).__name__} does not name {name!r}: {err}")
        except Exception as err:  # noqa: BLE001 - the wrong kind of error is a failure to report
            failures.append(f"{case.name}({name}={value!r}): {type(err).__name__} instead of "
                            f"{'/'.join(e.__name__ for e in errors)}: {err}")
        else:
            failures.append(f"{case.name}({name}={value!r}): returned without an error")
    assert tried >= 20, f"only {tried} bad inputs for {family}"
    assert not failures, f"{len(failures)} of {tried} bad inputs:\n" + "\n".join(failures)


def _leaves(result: Any):
    if isinstance(result, dict):
        for value in result.values():
            yield from _leaves(value)
    elif isinstance(result, (tuple, list)):
        for value in result:
            yield from _leaves(value)
    elif not isinstance(result, str):
        yield np.asarray(result)


@pytest.mark.parametrize("case", REGISTRY, ids=lambda case: case.name)
def test_valid_finite_inputs_give_finite_results(case):
    """From finite valid inputs a companion returns finite numbers, except the documented NaN of a
    fixed point that does not exist (never inf)."""
    for kwargs in (case.valid,) + tuple({**case.valid, **variant} for variant in case.variants):
        for leaf in _leaves(case.func(**kwargs)):
            if leaf.dtype.kind in "fc":
                if case.nan_where_absent:
                    assert not np.any(np.isinf(leaf)), (case.name, kwargs)
                else:
                    assert np.all(np.isfinite(leaf)), (case.name, kwargs, leaf)


def test_the_registry_covers_every_public_companion():
    """Every public function of the five families is in the registry or in :data:`NOT_FUZZED` (with
    its reason), except the simulators, their vector fields / step maps (driven by the contract test
    through the declarations) and the collapse boundaries (found by simulation, tested in test_sweep)."""
    import inspect

    import ssl_odes.byol
    import ssl_odes.contrastive
    import ssl_odes.dual_networks
    import ssl_odes.prediction_head
    import ssl_odes.simsiam

    covered = {case.func.__name__ for case in REGISTRY}
    by_simulation = {"collapse_separatrix", "critical_weight_decay"}
    missing = []
    modules = (ssl_odes.byol, ssl_odes.simsiam, ssl_odes.dual_networks, ssl_odes.contrastive, ssl_odes.prediction_head)
    public = set()
    for module in modules:
        for name in module.__all__:
            public.add(name)
            if name.startswith("simulate_") or name in by_simulation or name in NOT_FUZZED:
                continue  # NOT_FUZZED first: the lazy experiment names are not imported here
            value = getattr(module, name)
            if not inspect.isfunction(value):
                continue
            if name.endswith(("vector_field", "_step")) or name in ("mode_rates", "vector_field"):
                continue  # fields and step maps act on one traced trajectory
            if value.__name__ not in covered:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public functions with neither a Case nor a NOT_FUZZED reason: {missing}"
    stale = sorted(set(NOT_FUZZED) - public)
    assert not stale, f"NOT_FUZZED names that are no longer public: {stale}"
    assert not covered & set(NOT_FUZZED), covered & set(NOT_FUZZED)
