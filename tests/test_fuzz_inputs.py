"""Bad inputs through every public analytic companion: one registry, a clear error each time.

:data:`REGISTRY` lists every public companion function of ``ssl_odes.byol``, ``ssl_odes.simsiam``
and ``ssl_odes.dual_networks`` (the EMA system) with valid keyword arguments and, for each
argument, the kind of value it takes. From the kind come the bad values: booleans, strings,
``None`` and complex numbers (a ``TypeError``), NaN, infinities, empty arrays, non-broadcastable
or wrong shapes, non-symmetric / non-PSD matrices, reversed or NaN time grids and out-of-range
values (a ``ValueError``). Each must raise the expected type with a message naming the argument.
From the valid arguments (and a few valid variants) no call may return NaN or inf, except the
documented "NaN where it does not exist" of the fixed-point functions.

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

from ssl_odes.byol import _directpred, _linear, _modes
from ssl_odes.dual_networks import _ema
from ssl_odes.simsiam import _bounds, _eigen

NAN, INF = math.nan, math.inf
#: Wrong types: TypeError.
WRONG_TYPES = [True, "x", None, 1 + 1j]


@dataclasses.dataclass
class Arg:
    """How an argument is fuzzed: its kind and any extra out-of-range values (ValueError)."""

    kind: str  # "real", "scalar", "int", "flag", "matrix", "grid"
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

FAMILIES = ("byol", "simsiam", "dual_networks")


def bad_values(arg: Arg) -> list[tuple[Any, tuple[type, ...]]]:
    """(value, the error types it may raise) for one argument."""
    typed = [(v, (TypeError,)) for v in WRONG_TYPES]
    kind = arg.kind
    if kind == "flag":
        return [(None, (TypeError,)), ("yes", (TypeError,)), (1, (TypeError,))]
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
    elif isinstance(result, tuple):
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
    """Every public function of the three families is in the registry, except the simulators,
    their vector fields / step maps (driven by the contract test through the declarations) and
    the collapse boundaries (found by simulation, tested in test_sweep)."""
    import inspect

    import ssl_odes.byol
    import ssl_odes.dual_networks
    import ssl_odes.simsiam

    covered = {case.func.__name__ for case in REGISTRY}
    by_simulation = {"collapse_separatrix", "critical_weight_decay"}
    missing = []
    from ssl_odes.dual_networks import _ema

    # dual_networks: the EMA system of 000 (its other concepts came with issue 12, after this registry)
    for module in (ssl_odes.byol, ssl_odes.simsiam, _ema):
        for name in module.__all__:
            if name.startswith("simulate_") or name in by_simulation:
                continue
            value = getattr(module, name)
            if not inspect.isfunction(value):
                continue
            if name.endswith(("vector_field", "_step")) or name in ("mode_rates", "vector_field"):
                continue  # fields and step maps act on one traced trajectory
            if value.__name__ not in covered:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, missing
