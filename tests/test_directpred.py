"""002 Eqs 18-19, Tables 6-8: DirectPred, as a formula and as a variant of the linear flow (float64)."""

import numpy as np
import pytest
import scipy.integrate

import ssl_odes
from ssl_odes.byol_linear import aligned_initialization, random_initialization, random_orthogonal
from ssl_odes.directpred import directpred_eigenvalues, directpred_predictor, update_correlation

N1, N2 = 6, 4


def test_eq18_eigenvalues_by_hand():
    """p_j = sqrt(s_j) + eps max_j s_j (Eq 18) and Table 7's sqrt(max(s_j - c_j, 0)), on values worked by hand."""
    np.testing.assert_allclose(directpred_eigenvalues([4.0, 1.0, 0.0], eps=0.1), [2.4, 1.4, 0.4], rtol=1e-15)
    np.testing.assert_allclose(directpred_eigenvalues([4.0, 1.0, 0.25], c_shift=0.5), [np.sqrt(3.5), np.sqrt(0.5), 0.0], rtol=1e-15)
    np.testing.assert_allclose(directpred_eigenvalues([4.0, 1.0], c_shift=-0.05), [np.sqrt(4.05), np.sqrt(1.05)], rtol=1e-15)
    # batches: the maximum is per row (last axis)
    np.testing.assert_allclose(directpred_eigenvalues([[1.0, 0.0], [9.0, 4.0]], eps=0.5), [[1.5, 0.5], [7.5, 6.5]], rtol=1e-15)


def test_eq18_predictor_shares_eigenvectors_with_f():
    """Wp = U diag(p_j) U^T: symmetric, commutes with F, and Wp u_j = p_j u_j for F's eigenvectors."""
    rng = np.random.default_rng(0)
    U = random_orthogonal(5, seed=1)
    s = rng.uniform(0.0, 3.0, 5)
    F = (U * s) @ U.T
    Wp = np.asarray(directpred_predictor(F, eps=0.1))
    expected = np.sqrt(s) + 0.1 * s.max()
    np.testing.assert_allclose(Wp @ U, U * expected, atol=1e-12)
    assert np.array_equal(Wp, Wp.T) or np.abs(Wp - Wp.T).max() < 1e-14
    assert np.abs(F @ Wp - Wp @ F).max() < 1e-12


def test_eq19_moving_average_of_the_uncentred_batch_correlation():
    rng = np.random.default_rng(2)
    features = rng.standard_normal((32, 3)) + 1.0  # not zero-mean: Eq 19 does not centre
    F_hat = np.eye(3)
    expected = 0.3 * F_hat + 0.7 * features.T @ features / 32
    np.testing.assert_allclose(update_correlation(F_hat, features, rho=0.3), expected, rtol=1e-13)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: directpred_eigenvalues([1.0], eps=-0.1), r"^eps must satisfy eps >= 0; got eps=-0.1"),
        (lambda: directpred_eigenvalues([1.0], c_shift=np.nan), r"^c_shift must be finite"),
        (lambda: directpred_eigenvalues(1.0), r"^s must be an array of eigenvalues"),
        (lambda: directpred_predictor([[1.0, 2.0], [0.0, 1.0]]), r"^F must be symmetric"),
        (lambda: directpred_predictor([[1.0, 0.0], [0.0, -1.0]]), r"^F must be positive semi-definite"),
        (lambda: update_correlation(np.eye(2), np.ones((4, 2)), rho=1.0), r"^rho must satisfy 0 <= rho < 1; got rho=1.0"),
        (lambda: update_correlation(np.eye(3), np.ones((4, 2)), rho=0.5), r"^F_hat must have shape"),
    ],
)
def test_directpred_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_directpred_flow_sets_wp_by_eq18_of_the_current_f_at_every_saved_time():
    """variant="directpred" on non-isotropic data: at every saved time the saved Wp is
    U diag(sqrt(s) + eps max s) U^T of F = W X W^T recomputed with NumPy from the saved W (1e-10)."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((N1, N1)) * np.linspace(0.3, 1.5, N1)
    X, Xp = A @ A.T / N1, 0.2 * np.eye(N1)
    W0 = random_initialization(N1, N2, init_scale=0.7, seed=4)["W0"]
    res = ssl_odes.simulate_byol_linear(W0, X=X, Xp=Xp, variant="directpred", eps=0.1, beta=0.4, eta=0.02,
                                        t1=30.0, num_points=31)
    assert res.status_counts() == {"ok": 1}
    W = np.asarray(res.W)
    s, U = np.linalg.eigh(W @ X @ np.swapaxes(W, 1, 2))
    p = np.sqrt(np.maximum(s, 0.0)) + 0.1 * s.max(axis=-1, keepdims=True)
    expected = np.einsum("tij,tj,tkj->tik", U, p, U)
    np.testing.assert_allclose(res.Wp, expected, rtol=0, atol=1e-10 * np.abs(expected).max())
    assert np.max(res.commutator) < 1e-10 * np.max(res.s) * np.max(res.p)  # aligned by construction


def test_directpred_from_an_aligned_start_follows_its_mode_equations():
    """Aligned start, isotropic data: mode j obeys dw = p (wa - (1+sigma2) p w) - eta w, dwa = beta (w - wa)
    with p_j = |w_j| + eps max_k w_k^2 (Eq 18 on s = w^2). Reference: scipy DOP853 at rtol 1e-12;
    agreement to 1e-8 (values of order 1)."""
    w, wa = np.array([0.9, 0.5, 0.3, 0.1]), np.array([0.2, 0.6, 0.1, 0.05])
    eps, beta, eta, sigma2 = 0.1, 0.4, 0.02, 0.3
    U = random_orthogonal(N2, seed=5)
    init = aligned_initialization(w, np.zeros(N2), wa, n1=N1, U=U, seed=6)
    init.pop("Wp0")
    # isotropic data given as matrices: the same compiled flow as the test above
    res = ssl_odes.simulate_byol_linear(**init, X=np.eye(N1), Xp=sigma2 * np.eye(N1), variant="directpred", eps=eps,
                                        beta=beta, eta=eta, t1=20.0, num_points=31, rtol=1e-11, atol=1e-13)

    def modes(t, y):
        w, wa = y[:N2], y[N2:]
        p = np.abs(w) + eps * np.max(w**2)
        return np.concatenate([p * (wa - (1 + sigma2) * p * w) - eta * w, beta * (w - wa)])

    ref = scipy.integrate.solve_ivp(modes, (0.0, 20.0), np.concatenate([w, wa]), method="DOP853",
                                    t_eval=np.asarray(res.t), rtol=1e-12, atol=1e-14)
    s_modes = np.einsum("ij,tik,kj->tj", U, np.asarray(res.W) @ np.swapaxes(np.asarray(res.W), 1, 2), U)
    np.testing.assert_allclose(s_modes, ref.y[:N2].T ** 2, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.tau, np.sum(ref.y[:N2] * ref.y[N2:], axis=0) / np.sum(ref.y[:N2] ** 2, axis=0), rtol=1e-7)
