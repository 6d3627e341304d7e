"""002 Lemma 1, Theorems 1-3, Eqs 2-10: the linear BYOL / SimSiam matrix flow against the paper (float64).

Shapes are kept to n1 = 6, n2 = 4 throughout so that each (variant, data kind, save mode) compiles
once and is shared between tests (JAX compile time dominates this file).
"""

import re

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import ssl_odes
from ssl_odes import byol_linear, byol_modes
from ssl_odes.byol_linear import (
    LinearFlowArgs,
    aligned_initialization,
    commutator_bound,
    h_matrix,
    k_matrix,
    random_initialization,
    random_orthogonal,
    reduced_flow_vector_field,
    vector_field,
)

N1, N2 = 6, 4
ETAS = np.array([0.0, 0.05])
TIGHT = dict(rtol=1e-10, atol=1e-12)  # SPEC: Theorem 1 to 1e-7 relative over t = 100 at rtol = 1e-10


def random_psd(rng, n, rank=None, spread=(0.3, 1.5)):
    """A non-isotropic PSD matrix: random eigenvectors, column scales spread over ``spread``."""
    rank = n if rank is None else rank
    A = rng.standard_normal((n, rank)) * np.linspace(*spread, rank)
    return A @ A.T / rank


@pytest.fixture(scope="module")
def data():
    """Non-isotropic data: X full rank with eigenvalues spread over three decades, X' = low rank + 0.05 I."""
    rng = np.random.default_rng(2024)
    X = random_psd(rng, N1)
    Xp = 0.4 * random_psd(rng, N1, rank=3, spread=(1.0, 1.0)) + 0.05 * np.eye(N1)
    return X, Xp


@pytest.fixture(scope="module")
def balanced_start():
    """A start with C = W0 W0^T - Wp0^T Wp0 / alpha_p positive definite (alpha_p = 1.5)."""
    init = random_initialization(N1, N2, init_scale=1.0, predictor_scale=0.3, seed=0)
    C = init["W0"] @ init["W0"].T - init["Wp0"].T @ init["Wp0"] / 1.5
    assert np.linalg.eigvalsh(C)[0] > 0.05
    return init, C


@pytest.fixture(scope="module")
def general_runs(data, balanced_start):
    """Every variant from the same start on the non-isotropic data, eta = 0 and 0.05 (batch of 2), t = 100."""
    X, Xp = data
    init, _ = balanced_start
    runs = {}
    for variant in ("byol", "simsiam", "proportional_ema", "no_stopgrad", "no_predictor"):
        kwargs = dict(init)
        if variant == "no_predictor":
            kwargs.pop("Wp0")
        runs[variant] = ssl_odes.simulate_byol_linear(
            **kwargs, X=X, Xp=Xp, alpha_p=1.5, beta=0.3, tau=0.8, eta=ETAS, variant=variant,
            t1=100.0, num_points=201, **TIGHT,
        )
        assert runs[variant].status_counts() == {"ok": 2}
    return runs


def gram(W):
    W = np.asarray(W)
    return W @ np.swapaxes(W, -1, -2)


# ------------------------------------------------------------------------------------------------
# Theorem 1 (Eq 5): the balancing invariant
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["byol", "simsiam", "proportional_ema"])
def test_theorem1_invariant_holds_to_rounding_on_non_isotropic_data(general_runs, balanced_start, variant):
    """Eq 5: W W^T - Wp^T Wp / alpha_p = exp(-2 eta t) C for every variant training Wp by Eq 2, W by Eq 3.

    Computed here from the saved matrices with NumPy, relative to ||W W^T|| + ||Wp^T Wp||/alpha_p +
    exp(-2 eta t)||C|| (the size of the cancelling terms). SPEC asks for < 1e-7 over t = 100 at
    rtol = 1e-10; the reported diagnostic must agree with the independent computation.
    """
    res = general_runs[variant]
    init, C = balanced_start
    t = np.asarray(res.t)
    Wp = np.asarray(res.Wp)
    decay = np.exp(-2.0 * ETAS[:, None, None, None] * t[None, :, None, None])
    balance, predictor = gram(res.W), np.swapaxes(Wp, -1, -2) @ Wp / 1.5
    residual = np.linalg.norm(balance - predictor - decay * C, axis=(-2, -1))
    scale = np.linalg.norm(balance, axis=(-2, -1)) + np.linalg.norm(predictor, axis=(-2, -1)) + decay[..., 0, 0] * np.linalg.norm(C)
    assert np.max(residual / scale) < 1e-7
    np.testing.assert_allclose(res.invariant_residual, residual / scale, rtol=0, atol=1e-12)
    # weight decay drives Eq 5's constant to 0: the balance W W^T = Wp^T Wp / alpha_p is reached
    assert np.linalg.norm(balance[1, -1] - predictor[1, -1]) < 1e-3 * np.linalg.norm(C)


@pytest.mark.parametrize("variant", ["no_stopgrad", "no_predictor"])
def test_theorem1_does_not_hold_without_stop_gradient_or_predictor(general_runs, variant):
    """Negative control: the residual reported for variants outside Theorem 1 is far from rounding."""
    assert np.max(general_runs[variant].invariant_residual) > 0.1


# ------------------------------------------------------------------------------------------------
# Theorem 2 (Eq 6): stop-gradient is essential; collapse without it or without a predictor
# ------------------------------------------------------------------------------------------------


def kronecker_h(Wp, X, Xp, eta):
    """Eq 6 written out with np.kron (column-major vec: vec(A W B) = (B^T kron A) vec(W))."""
    identity = np.eye(Wp.shape[0])
    return np.kron(Xp, Wp.T @ Wp + identity) + np.kron(X, (Wp - identity).T @ (Wp - identity)) + eta * np.eye(X.shape[0] * Wp.shape[0])


@pytest.mark.parametrize("isotropic", [False, True])
def test_no_stopgrad_update_equals_the_kronecker_form_of_eq6(data, isotropic):
    """Thm 2: the jax.grad update of W is -H vec(W), H of Eq 6, to rounding (1e-12 relative)."""
    rng = np.random.default_rng(7)
    X, Xp = data if not isotropic else (np.eye(N1), 0.3 * np.eye(N1))
    W, Wp = rng.standard_normal((N2, N1)), rng.standard_normal((N2, N2))
    data_args = dict(sigma2=0.3) if isotropic else dict(X=X, S=X + Xp)
    args = LinearFlowArgs(alpha_p=1.3, beta=0.0, eta=0.07, tau=1.0, eps=0.0, c_shift=0.0, **data_args)
    dy = vector_field("no_stopgrad", False, isotropic)(0.0, {"W": jnp.asarray(W), "Wp": jnp.asarray(Wp)}, args)
    H = kronecker_h(Wp, X, Xp, 0.07)
    expected = (-H @ W.reshape(-1, order="F")).reshape((N2, N1), order="F")
    np.testing.assert_allclose(dy["W"], expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    # the predictor's gradient is untouched by the stop-gradient: Eq 2 with Wa = W
    G = -Wp @ W @ (X + Xp) + W @ X
    np.testing.assert_allclose(dy["Wp"], 1.3 * G @ W.T - 0.07 * Wp, rtol=0, atol=1e-12 * np.abs(G).max())
    # the companion builds the same H; H is PSD with lambda_min >= lambda_min(X') + eta
    np.testing.assert_allclose(h_matrix(Wp, X, Xp, 0.07), H, rtol=0, atol=1e-13 * np.abs(H).max())
    assert np.linalg.eigvalsh(H)[0] >= np.linalg.eigvalsh(Xp)[0] + 0.07 - 1e-12


def test_no_stopgrad_collapses_at_least_as_fast_as_lambda_min_h(general_runs, data, balanced_start):
    """Thm 2: d||W||^2/dt = -2 vec(W)^T H vec(W) <= -2 lambda_0 ||W||^2, lambda_0 = lambda_min(X') + eta.

    So ||W(t)|| <= exp(-lambda_0 t) ||W0||; checked on every saved time with a 1e-6 relative margin
    for the solver, and the run ends collapsed (||W|| below 1e-3 of its start).
    """
    res = general_runs["no_stopgrad"]
    _, Xp = data
    init, _ = balanced_start
    lambda_0 = np.linalg.eigvalsh(Xp)[0] + ETAS[:, None]
    bound = np.exp(-lambda_0 * np.asarray(res.t)) * np.linalg.norm(init["W0"])
    assert np.all(res.W_norm <= bound * (1 + 1e-6))
    assert np.all(res.W_norm[:, -1] < 1e-3 * res.W_norm[:, 0])


def test_no_predictor_collapses_along_its_closed_form(general_runs, data, balanced_start):
    """Wp = I, Wa = W: Eq 3 is dW/dt = -W X' - eta W, so W(t) = W0 expm(-X' t) exp(-eta t) -> 0."""
    res = general_runs["no_predictor"]
    _, Xp = data
    W0 = balanced_start[0]["W0"]
    t = np.asarray(res.t)
    for k, eta in enumerate(ETAS):
        for i in (50, 100, 200):
            expected = W0 @ scipy.linalg.expm(-Xp * t[i]) * np.exp(-eta * t[i])
            np.testing.assert_allclose(res.W[k, i], expected, rtol=0, atol=1e-8 * np.linalg.norm(W0))
    assert np.all(res.W_norm[:, -1] < 1e-2 * res.W_norm[:, 0])


@pytest.mark.parametrize("variant", ["byol", "simsiam"])
def test_byol_and_simsiam_do_not_collapse_from_the_same_start(general_runs, balanced_start, variant):
    """From the start where no_stopgrad and no_predictor collapse, BYOL and SimSiam do not.

    With eta = 0, Eq 5 gives W W^T = Wp^T Wp / alpha_p + C >= C, so lambda_min(W W^T) >= lambda_min(C)
    > 0 forever (checked at every saved time, 1e-9 margin); the final ||W|| stays of order 1.
    """
    res = general_runs[variant]
    _, C = balanced_start
    smallest = np.linalg.eigvalsh(gram(res.W[0]))[:, 0]
    assert np.all(smallest >= np.linalg.eigvalsh(C)[0] - 1e-9)
    assert np.all(res.W_norm[:, -1] > 0.5)
    for collapsing in ("no_stopgrad", "no_predictor"):
        assert np.all(res.W_norm[:, -1] > 100 * general_runs[collapsing].W_norm[:, -1])


# ------------------------------------------------------------------------------------------------
# Aligned initialisations follow the decoupled modes (Eqs 11-13) exactly
# ------------------------------------------------------------------------------------------------

U_ALIGNED = random_orthogonal(N2, seed=3)
V_ALIGNED = random_orthogonal(N1, seed=4)[:, :N2]
MODES = dict(alpha_p=1.5, eta=0.02, sigma2=0.2)


def mode_values(res, name):
    """``u_j^T M u_j`` for the aligned basis: the mode values of F (``W W^T``) or Wp."""
    M = gram(res.W) if name == "F" else np.asarray(res.Wp)
    return np.einsum("ij,tik,kj->tj", U_ALIGNED, M, U_ALIGNED)


def test_aligned_byol_follows_the_decoupled_mode_dynamics():
    """W0 = U diag(w) V^T, Wp0 = U diag(p) U^T, Wa0 = U diag(wa) V^T, isotropic data: mode j of the
    matrix flow is Eqs 11-13 with s = w^2, p, tau = wa/w (a different tau per mode).

    Both solvers run at rtol = 1e-11; the mode values and the sorted eigenvalues agree to 1e-8
    (absolute, values of order 1), and F, Wp stay commuting (commutator below 1e-10).
    """
    w, p, wa = np.array([1.0, 0.6, 0.3, 0.8]), np.array([0.5, 0.2, 0.05, -0.1]), np.array([0.2, 0.3, 0.1, 0.9])
    init = aligned_initialization(w, p, wa, n1=N1, U=U_ALIGNED, V=V_ALIGNED)
    tight = dict(rtol=1e-11, atol=1e-13)
    res = ssl_odes.simulate_byol_linear(**init, **MODES, beta=0.5, t1=30.0, num_points=61, **tight)
    modes = ssl_odes.simulate_byol_modes(p, w**2, wa / w, **MODES, beta=0.5, t1=30.0, num_points=61, **tight)
    assert res.status_counts() == {"ok": 1} and modes.status_counts() == {"ok": 4}
    np.testing.assert_allclose(mode_values(res, "F"), modes.s.T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(mode_values(res, "Wp"), modes.p.T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.s, -np.sort(-np.asarray(modes.s.T), axis=-1), rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.p, -np.sort(-np.asarray(modes.p.T), axis=-1), rtol=0, atol=1e-8)
    assert np.max(res.commutator) < 1e-10
    # Eq 9 on an aligned state: lambda_min(K) uses the effective tau <Wa, W>/||W||^2, not each mode's


def test_aligned_simsiam_follows_the_decoupled_modes_with_tau_one():
    """SimSiam (Wa = W) from an aligned start: Eqs 11-12 at tau = 1, to 1e-8 as above."""
    w, p = np.array([1.0, 0.6, 0.3, 0.8]), np.array([0.5, 0.2, 0.05, -0.1])
    init = aligned_initialization(w, p, n1=N1, U=U_ALIGNED, V=V_ALIGNED)
    tight = dict(rtol=1e-11, atol=1e-13)
    res = ssl_odes.simulate_byol_linear(**init, **MODES, variant="simsiam", t1=30.0, num_points=61, **tight)
    modes = ssl_odes.simulate_byol_modes(p, w**2, **MODES, simsiam=True, t1=30.0, num_points=61, **tight)
    np.testing.assert_allclose(mode_values(res, "F"), modes.s.T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(mode_values(res, "Wp"), modes.p.T, rtol=0, atol=1e-8)
    # with F and Wp commuting, lambda_min(K) is the smallest mode eigenvalue k_j of byol_modes
    k_modes = byol_modes.k_eigenvalue(modes.p.T, modes.s.T, tau=1.0, **MODES)
    np.testing.assert_allclose(res.k_min, np.min(k_modes, axis=-1), rtol=0, atol=1e-8)


def test_k_matrix_eigenvalues_are_the_mode_formula_when_f_and_wp_commute():
    """Eq 9 on F = U diag(s) U^T, Wp = U diag(p) U^T: eigenvalues (1+sigma2)(alpha_p s/2 + p^2) - tau p + 3 eta/2."""
    rng = np.random.default_rng(11)
    U = random_orthogonal(5, seed=12)
    s, p = rng.uniform(0.0, 2.0, 5), rng.uniform(-1.0, 1.5, 5)
    params = dict(alpha_p=0.7, eta=0.03, sigma2=0.4, tau=0.6)
    K = k_matrix((U * s) @ U.T, (U * p) @ U.T, **params)
    np.testing.assert_allclose(np.linalg.eigvalsh(K), np.sort(byol_modes.k_eigenvalue(p, s, **params)), rtol=0, atol=1e-13)


# ------------------------------------------------------------------------------------------------
# Reduced flow (Eq 7) and Theorem 3 (Eqs 8-10)
# ------------------------------------------------------------------------------------------------


def random_symmetric(rng, n, scale=1.0):
    B = rng.standard_normal((n, n))
    return scale * (B + B.T) / 2


def test_reduced_flow_equals_the_full_flow_under_its_assumptions():
    """Eq 7 vs Eqs 2-3 with isotropic data, Wa = tau W (tau = 0.7) and a symmetric predictor:
    F = W W^T and Wp agree to 1e-9 over t = 30 (values of order 1, both at rtol = 1e-11), and so do
    the diagnostics computed from them.
    """
    init = random_initialization(N1, N2, init_scale=1.0, symmetric_predictor=True, seed=3)
    # 2001 output times: the grid of the Theorem 3 test below, so the reduced flow compiles once
    kwargs = dict(alpha_p=1.5, eta=0.05, sigma2=0.3, tau=0.7, t1=30.0, num_points=2001, rtol=1e-11, atol=1e-13)
    full = ssl_odes.simulate_byol_linear(**init, variant="proportional_ema", symmetric_predictor=True, **kwargs)
    reduced = ssl_odes.simulate_reduced_flow(init["W0"] @ init["W0"].T, init["Wp0"], **kwargs)
    np.testing.assert_allclose(gram(full.W), reduced.F, rtol=0, atol=1e-9)
    np.testing.assert_allclose(full.Wp, reduced.Wp, rtol=0, atol=1e-9)
    for name in ("s", "p", "k_min", "commutator"):
        np.testing.assert_allclose(full.variables[name], reduced.variables[name], rtol=0, atol=1e-8)
    # the symmetrised predictor flow breaks Theorem 1 while F and Wp do not commute (module docstring)
    assert np.max(full.invariant_residual) > 1e-3


def test_commutator_obeys_eq8_with_k_of_eq9():
    """Thm 3, Eq 8: d[F, Wp]/dt = -[F, Wp] K - K [F, Wp] along Eq 7, on random symmetric F (PSD), Wp."""
    rng = np.random.default_rng(5)
    F = random_psd(rng, 5)
    Wp = random_symmetric(rng, 5)
    params = dict(alpha_p=1.3, eta=0.07, sigma2=0.4, tau=0.8)
    dy = reduced_flow_vector_field(0.0, {"F": jnp.asarray(F), "Wp": jnp.asarray(Wp)}, LinearFlowArgs(**params))
    dF, dWp = np.asarray(dy["F"]), np.asarray(dy["Wp"])
    d_commutator = dF @ Wp + F @ dWp - dWp @ F - Wp @ dF
    C = F @ Wp - Wp @ F
    K = np.asarray(k_matrix(F, Wp, **params))
    np.testing.assert_allclose(d_commutator, -C @ K - K @ C, rtol=0, atol=1e-12 * np.abs(d_commutator).max())


def test_symmetric_predictor_balance_defect_is_a_double_commutator():
    """Derived in the module docstring: along Eq 7,
    d/dt (F - Wp^2/alpha_p) = -2 eta (F - Wp^2/alpha_p) - (1 + sigma2)/2 [Wp, [Wp, F]],
    so Theorem 1 holds for a symmetric predictor exactly when F and Wp commute."""
    rng = np.random.default_rng(6)
    F, Wp = random_psd(rng, 5), random_symmetric(rng, 5)
    params = dict(alpha_p=1.3, eta=0.07, sigma2=0.4, tau=0.8)
    dy = reduced_flow_vector_field(0.0, {"F": jnp.asarray(F), "Wp": jnp.asarray(Wp)}, LinearFlowArgs(**params))
    dF, dWp = np.asarray(dy["F"]), np.asarray(dy["Wp"])
    lhs = dF - (dWp @ Wp + Wp @ dWp) / 1.3
    inner = Wp @ F - F @ Wp
    rhs = -2 * 0.07 * (F - Wp @ Wp / 1.3) - (1 + 0.4) / 2 * (Wp @ inner - inner @ Wp)
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-12 * np.abs(lhs).max())


def test_theorem3_commutator_stays_below_the_integral_bound_of_eq10():
    """Eq 10 in integral form: ||[F, Wp](t)|| <= exp(-2 int_0^t lambda_min(K)) ||[F, Wp](0)||.

    The integral is the cumulative trapezoid (scipy) of the reported lambda_min(K) on a grid of
    h = 0.02: its error is O(h^2 |k''| t) ~ 1e-4 in the exponent at most; the asserted margin is a
    factor 1.001. The run is chosen so that K is *not* PD early on (lambda_min < 0: the bound
    first grows), and the commutator still decays by more than 1e6.
    """
    rng = np.random.default_rng(5)
    F0 = random_psd(rng, N2)
    Wp0 = random_symmetric(rng, N2, scale=0.6)
    res = ssl_odes.simulate_reduced_flow(F0, Wp0, alpha_p=1.0, eta=0.02, sigma2=0.1, tau=1.0, t1=40.0,
                                         num_points=2001, rtol=1e-11, atol=1e-13)
    assert res.status_counts() == {"ok": 1}
    t, k_min, norm = np.asarray(res.t), np.asarray(res.k_min), np.asarray(res.commutator)
    assert k_min.min() < 0 < k_min[-1]
    bound = np.exp(-2 * scipy.integrate.cumulative_trapezoid(k_min, t, initial=0.0)) * norm[0]
    assert np.all(norm <= 1.001 * bound + 1e-14 * norm[0])
    assert norm[-1] < 1e-6 * norm[0]
    np.testing.assert_allclose(commutator_bound(t, k_min, norm[0]), bound, rtol=1e-12)
    # the reported commutator is ||F Wp - Wp F||_F of the saved matrices
    F, Wp = np.asarray(res.F), np.asarray(res.Wp)
    np.testing.assert_allclose(norm, np.linalg.norm(F @ Wp - Wp @ F, axis=(-2, -1)), rtol=1e-10, atol=1e-15)


# ------------------------------------------------------------------------------------------------
# 002 Fig 2, qualitatively, and the diagnostics themselves
# ------------------------------------------------------------------------------------------------


def test_byol_with_ema_aligns_eigenspaces_and_symmetrises_the_predictor():
    """002 Fig 2 (top row) from small random weights with EMA: the commutator decays, Wp turns
    symmetric, some eigenvalues of F grow while others shrink towards 0, and the surviving
    eigenvectors of F become eigenvectors of Wp (cosine -> 1). Also checks the saved diagnostics
    against NumPy computations on the saved matrices."""
    init = random_initialization(N1, N2, init_scale=0.5, seed=1)
    res = ssl_odes.simulate_byol_linear(**init, alpha_p=1.0, beta=0.4, eta=0.04, sigma2=0.1, t1=100.0, num_points=61)
    assert res.status_counts() == {"ok": 1}
    assert res.commutator[-1] < 1e-2 * res.commutator[0]
    assert res.asymmetry[-1] < 0.05 * res.asymmetry[0]
    s0, s1 = np.asarray(res.s[0]), np.asarray(res.s[-1])
    assert s1[0] > 2 * s0[0] and s1[-1] < 1e-3 * s0[-1]
    grown = s1 > 1e-3 * s1[0]
    assert np.all(res.alignment[-1][grown] > 0.999)
    # diagnostics against NumPy on the saved matrices (eigen-decompositions: 1e-10)
    W, Wp, Wa = np.asarray(res.W), np.asarray(res.Wp), np.asarray(res.Wa)
    F = gram(W)
    s, U = np.linalg.eigh(F)
    np.testing.assert_allclose(res.s, s[:, ::-1], atol=1e-10)
    np.testing.assert_allclose(res.p, np.linalg.eigvalsh((Wp + np.swapaxes(Wp, 1, 2)) / 2)[:, ::-1], atol=1e-10)
    np.testing.assert_allclose(res.asymmetry, np.linalg.norm(Wp - np.swapaxes(Wp, 1, 2), axis=(1, 2)) / np.linalg.norm(Wp, axis=(1, 2)), atol=1e-12)
    u = U[-1][:, ::-1][:, grown]
    cos = np.sum(u * (Wp[-1] @ u), axis=0) / np.linalg.norm(Wp[-1] @ u, axis=0)
    np.testing.assert_allclose(res.alignment[-1][grown], cos, atol=1e-8)
    np.testing.assert_allclose(res.tau, np.sum(Wa * W, axis=(1, 2)) / np.sum(W * W, axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(res.W_norm, np.linalg.norm(W, axis=(1, 2)), rtol=1e-12)


def test_diagnostics_only_saves_the_same_diagnostics_without_the_matrices():
    """save="diagnostics" keeps s, p, ... identical to save="all" and drops W, Wp, Wa."""
    init = random_initialization(N1, N2, init_scale=0.5, seed=1)
    kwargs = dict(alpha_p=1.0, beta=0.4, eta=0.04, sigma2=0.1, t1=100.0, num_points=61)
    full = ssl_odes.simulate_byol_linear(**init, **kwargs)
    light = ssl_odes.simulate_byol_linear(**init, **kwargs, save="diagnostics")
    assert set(full.variables) - set(light.variables) == {"W", "Wp", "Wa"}
    for name, value in light.variables.items():
        np.testing.assert_allclose(value, full.variables[name], rtol=1e-12, atol=1e-14)
    assert light.settings_dict["variant"] == "byol" and light.settings_dict["data"] == "isotropic"


def test_scalar_parameters_broadcast_into_a_batch(general_runs):
    """eta = [0, 0.05] gives batch shape (2,): matrices [batch, time, n2, n1], diagnostics [batch, time, ...]."""
    res = general_runs["byol"]
    assert res.W.shape == (2, 201, N2, N1) and res.s.shape == (2, 201, N2) and res.commutator.shape == (2, 201)
    assert res[1].eta == 0.05 and res[1].W.shape == (201, N2, N1)
    assert "sigma2" not in res.params  # general data: no sigma2


# ------------------------------------------------------------------------------------------------
# Initialisations
# ------------------------------------------------------------------------------------------------


def test_initialisation_helpers_build_what_they_claim():
    init = random_initialization(N1, N2, init_scale=0.3, predictor_scale=0.2, symmetric_predictor=True, seed=2)
    assert init["W0"].shape == (N2, N1) and np.array_equal(init["Wp0"], init["Wp0"].T)
    big = random_initialization(400, 300, init_scale=0.3, seed=0)["W0"]
    assert abs(np.mean(np.diag(big @ big.T)) - 0.09) < 0.01  # E[W W^T] = init_scale^2 I
    w, p, wa = np.array([1.0, 0.5, 0.2, 0.1]), np.array([0.3, -0.2, 0.1, 0.0]), np.array([0.4, 0.1, 0.2, 0.3])
    aligned = aligned_initialization(w, p, wa, n1=N1, seed=5)
    np.testing.assert_allclose(np.linalg.eigvalsh(gram(aligned["W0"])), np.sort(w**2), atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(aligned["Wp0"]), np.sort(p), atol=1e-12)
    F = gram(aligned["W0"])
    assert np.abs(F @ aligned["Wp0"] - aligned["Wp0"] @ F).max() < 1e-12
    assert np.abs(aligned["Wa0"] @ aligned["W0"].T - aligned["W0"] @ aligned["Wa0"].T).max() < 1e-12


# ------------------------------------------------------------------------------------------------
# Validation: every bad input raises ValueError before anything is traced
# ------------------------------------------------------------------------------------------------

W_OK, WP_OK = np.ones((N2, N1)) / N1, 0.1 * np.eye(N2)


def simulate(**overrides):
    kwargs = dict(W0=W_OK, Wp0=WP_OK, t1=1.0, num_points=3)
    kwargs.update(overrides)
    return ssl_odes.simulate_byol_linear(**kwargs)


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("alpha_p", 0.0, "alpha_p must satisfy alpha_p > 0; got alpha_p=0.0"),
        ("beta", -0.1, "beta must satisfy beta >= 0; got beta=-0.1"),
        ("eta", -1e-3, "eta must satisfy eta >= 0; got eta=-0.001"),
        ("sigma2", -0.5, "sigma2 must satisfy sigma2 >= 0; got sigma2=-0.5"),
        ("eps", -0.1, "eps must satisfy eps >= 0; got eps=-0.1"),
        ("tau", np.nan, "tau must be finite"),
        ("c_shift", np.inf, "c_shift must be finite"),
        ("t1", -1.0, "t1 must satisfy t1 > 0; got t1=-1.0"),
        ("num_points", 1, "num_points must satisfy num_points >= 2; got num_points=1"),
        ("rtol", 0.0, "rtol must satisfy rtol > 0; got rtol=0.0"),
        ("variant", "byol2", "variant must be one of 'byol', 'simsiam', 'proportional_ema', 'no_stopgrad', 'no_predictor', 'directpred'; got variant='byol2'"),
        ("save", "everything", "save must be one of 'all', 'diagnostics'; got save='everything'"),
        ("symmetric_predictor", 1, "symmetric_predictor must be True or False; got symmetric_predictor=1"),
    ],
)
def test_bad_scalars_name_the_parameter_value_and_range(name, value, message):
    # a wrong value is a ValueError; a wrong type (1 for a flag) a TypeError
    with pytest.raises((ValueError, TypeError), match="^" + re.escape(message)):
        simulate(**{name: value})


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(W0=np.ones(N1)), r"^W0 must be a finite real n2 x n1 matrix with 2 axes; got an array of shape \(6,\)"),
        (dict(W0=np.full((N2, N1), np.nan)), r"^W0 must be finite"),
        (dict(Wp0=np.eye(3)), r"^Wp0 must have shape \(n2, n2\) to match W0 of shape \(4, 6\), i.e. \(4, 4\); got shape \(3, 3\)"),
        (dict(Wp0=None), r"^Wp0 \(n2 x n2 = 4 x 4\) is required for variant='byol'"),
        (dict(Wa0=np.ones((N2, N2))), r"^Wa0 must have shape of W0, i.e. \(4, 6\); got shape \(4, 4\)"),
        (dict(variant="simsiam", Wa0=W_OK), r"^Wa0 must be left unset for variant='simsiam'"),
        (dict(variant="no_predictor"), r"^Wp0 must be left unset for variant='no_predictor' \(W_p is the identity\)"),
        (dict(variant="directpred"), r"^Wp0 must be left unset for variant='directpred'"),
        (dict(symmetric_predictor=True, Wp0=np.triu(np.ones((N2, N2)))), r"^Wp0 must be symmetric"),
        (dict(X=np.eye(5)), r"^X must have shape \(n1, n1\) with n1 = W0.shape\[1\] = 6, i.e. \(6, 6\); got shape \(5, 5\)"),
        (dict(X=np.triu(np.ones((N1, N1)))), r"^X must be symmetric \(max\|X - X\^T\| <= 1e-06 max\|X\|\)"),
        (dict(X=np.diag([1.0, 1, 1, 1, 1, -0.1])), r"^X must be positive semi-definite \(lambda_min\(X\) >= -1e-06 max\|lambda\(X\)\|\); got lambda_min\(X\) = -0.1"),
        (dict(Xp=-np.eye(N1)), r"^Xp must be positive semi-definite"),
        (dict(X=np.eye(N1), sigma2=0.1), r"^give either sigma2 .* or the matrices X and/or Xp, not both"),
        (dict(eta=[0.0, 0.1], alpha_p=[1.0, 2.0, 3.0]), r"^parameters do not broadcast together"),
    ],
)
def test_bad_matrices_and_combinations_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        simulate(**overrides)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ssl_odes.simulate_reduced_flow(-np.eye(3), np.eye(3)), r"^F0 must be positive semi-definite"),
        (lambda: ssl_odes.simulate_reduced_flow(np.eye(3), np.triu(np.ones((3, 3)))), r"^Wp0 must be symmetric"),
        (lambda: ssl_odes.simulate_reduced_flow(np.eye(3), np.eye(2)), r"^Wp0 must have shape \(n, n\) to match F0"),
        (lambda: ssl_odes.simulate_reduced_flow(np.eye(3), np.eye(3), alpha_p=-1.0), r"^alpha_p must satisfy alpha_p > 0"),
        (lambda: ssl_odes.simulate_reduced_flow(np.eye(3), np.eye(3), save="some"), r"^save must be one of"),
        (lambda: random_initialization(0), r"^n1 must satisfy n1 >= 1; got n1=0"),
        (lambda: random_initialization(3, init_scale=0.0), r"^init_scale must satisfy init_scale > 0; got init_scale=0.0"),
        (lambda: random_initialization(3, seed=-1), r"^seed must satisfy seed >= 0"),
        (lambda: aligned_initialization([1.0, 2.0], [1.0]), r"^p must have shape \(2,\) like w"),
        (lambda: aligned_initialization([1.0, 2.0], [1.0, 1.0], n1=1), r"^n1 must satisfy n1 >= 2"),
        (lambda: aligned_initialization([1.0, 2.0], [1.0, 1.0], U=np.ones((2, 2))), r"^U must have orthonormal columns"),
        (lambda: k_matrix(np.eye(2), np.eye(2), alpha_p=0.0), r"^alpha_p must satisfy alpha_p > 0"),
        (lambda: h_matrix(np.eye(2), np.eye(2), np.eye(2), eta=-1.0), r"^eta must satisfy eta >= 0"),
        (lambda: commutator_bound([0.0, 1.0], [0.0, 1.0, 2.0], 1.0), r"^t must be 1-D with the length of k_min's last axis"),
    ],
)
def test_companions_and_helpers_validate_their_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
