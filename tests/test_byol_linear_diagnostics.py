"""The eigenvalue-only path of the linear flow's diagnostics (002 Fig 2 columns 2 and Eq 9's lambda_min(K)).

``p`` and ``k_min`` need eigenvalues only, so they skip the eigenvectors (LAPACK ``syevd`` with
``jobz = 'N'`` on the CPU). These tests hold that path to independent computations: NumPy's
``eigvalsh``, first-order perturbation theory for the derivative, and the diagnostics recomputed
in NumPy from the saved matrices of the same run.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ssl_odes
from ssl_odes import byol_linear
from ssl_odes.byol import _linear


def _symmetric(n, seed, dtype=np.float64):
    A = np.random.default_rng(seed).standard_normal((n, n))
    return ((A + A.T) / 2).astype(dtype)


@pytest.mark.parametrize("n", [1, 3, 17, 64])
def test_eigenvalues_only_match_numpy_eigvalsh(n):
    """Same spectrum as LAPACK through NumPy, to 1e-12 of the spectral radius (backward-stable ``syevd``)."""
    A = _symmetric(n, seed=n)
    w = np.asarray(jax.jit(_linear._eigvalsh)(jnp.asarray(A)))
    reference = np.linalg.eigvalsh(A)
    assert np.max(np.abs(w - reference)) <= 1e-12 * max(1.0, np.max(np.abs(reference)))


def test_the_fallback_without_the_lapack_target_gives_the_same_spectrum(monkeypatch):
    """On another jax (or backend) the eigenvalue-only target is not used: ``eigh``'s values, the same spectrum."""
    assert _linear._lapack is not None, "this jax (0.10) is expected to take the LAPACK eigenvalue-only path"
    A = _symmetric(9, seed=4)
    monkeypatch.setattr(_linear, "_lapack", None)
    w = np.asarray(_linear._eigvalsh(jnp.asarray(A)))  # eager: the module attribute is read at this call
    reference = np.linalg.eigvalsh(A)
    assert np.max(np.abs(w - reference)) <= 1e-12 * np.max(np.abs(reference))


def test_eigenvalues_only_float32_and_batches():
    """float32 to 1e-5 of the spectral radius (a few ulp times n); batch axes and ``vmap`` give the same values."""
    stack = np.stack([_symmetric(8, seed=1), _symmetric(8, seed=2), 3.0 * np.eye(8)])
    reference = np.linalg.eigvalsh(stack)
    scale = np.max(np.abs(reference))
    batched = np.asarray(jax.jit(_linear._eigvalsh)(jnp.asarray(stack)))
    mapped = np.asarray(jax.vmap(_linear._eigvalsh)(jnp.asarray(stack)))
    single = np.asarray(jax.jit(_linear._eigvalsh)(jnp.asarray(stack, jnp.float32)))
    assert np.max(np.abs(batched - reference)) <= 1e-12 * scale
    assert np.max(np.abs(mapped - reference)) <= 1e-12 * scale
    assert single.dtype == np.float32
    assert np.max(np.abs(single - reference)) <= 1e-5 * scale


def test_eigenvalue_derivative_is_first_order_perturbation_theory():
    """``d lambda_j(A + h B)/dh = u_j^T B u_j`` for distinct eigenvalues; checked against a central difference."""
    A, B = _symmetric(6, seed=3), _symmetric(6, seed=4)
    _, jvp = jax.jvp(_linear._eigvalsh, (jnp.asarray(A),), (jnp.asarray(B),))
    _, U = np.linalg.eigh(A)
    assert np.allclose(np.asarray(jvp), np.einsum("ij,ik,kj->j", U, B, U), atol=1e-10)
    h = 1e-6  # central difference: error O(h^2 * ||B||^2 / gap), far below the 1e-7 tolerance
    difference = (np.linalg.eigvalsh(A + h * B) - np.linalg.eigvalsh(A - h * B)) / (2 * h)
    assert np.allclose(np.asarray(jvp), difference, atol=1e-7)
    # reverse mode: d/dA sum_j c_j lambda_j = U diag(c) U^T
    c = np.arange(1.0, 7.0)
    grad = jax.grad(lambda M: jnp.sum(jnp.asarray(c) * _linear._eigvalsh(_linear._sym(M))))(jnp.asarray(A))
    assert np.allclose(np.asarray(grad), (U * c) @ U.T, atol=1e-10)


def test_saved_diagnostics_equal_numpy_recomputation_from_saved_matrices():
    """``p`` and ``k_min`` (Eq 9) of ``save="all"`` equal NumPy's eigenvalues of the saved ``sym(W_p)`` and ``K``.

    The same run saves the matrices, so the only difference is the eigen-solver: 1e-12 relative.
    ``save="diagnostics"`` returns the same diagnostics as ``save="all"`` (same solve, same steps;
    the two programs may fuse differently, so to 1e-12 rather than bit for bit).
    """
    init = byol_linear.random_initialization(5, init_scale=0.8, seed=2)
    params = dict(alpha_p=1.5, beta=0.4, eta=0.05, sigma2=0.2)
    full = ssl_odes.simulate_byol_linear(**init, **params, t1=4.0, num_points=5)
    diagnostics = ssl_odes.simulate_byol_linear(**init, **params, t1=4.0, num_points=5, save="diagnostics")
    W, Wp, Wa = (np.asarray(full.variables[k]) for k in ("W", "Wp", "Wa"))
    for k in range(W.shape[0]):
        F = W[k] @ W[k].T
        Ws = (Wp[k] + Wp[k].T) / 2
        tau = np.sum(Wa[k] * W[k]) / np.sum(W[k] * W[k])
        K = (1 + params["sigma2"]) * (params["alpha_p"] / 2 * F + Ws @ Ws) - tau * Ws + 1.5 * params["eta"] * np.eye(5)
        p = np.linalg.eigvalsh(Ws)[::-1]
        k_min = np.linalg.eigvalsh(K)[0]
        assert np.allclose(np.asarray(full.p[k]), p, rtol=0, atol=1e-12 * np.max(np.abs(p)))
        assert abs(float(full.k_min[k]) - k_min) <= 1e-12 * np.max(np.abs(np.linalg.eigvalsh(K)))
    for name in ("s", "p", "alignment", "asymmetry", "commutator", "k_min", "invariant_residual", "W_norm", "tau"):
        a, b = np.asarray(diagnostics.variables[name]), np.asarray(full.variables[name])
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(b)))), name
