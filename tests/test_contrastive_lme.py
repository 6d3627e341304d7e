"""LMEs, power iteration, Theorems 1 and 3 and the latent models (001 Sec 3, App. B)."""

import numpy as np
import pytest

from ssl_odes.contrastive import (
    SUMMATION_LME_THRESHOLD,
    contrastive_operator,
    find_lmes,
    fixed_point_report,
    gated_input,
    irregularity,
    latent_categorical_A,
    latent_categorical_population,
    latent_summation_A,
    latent_summation_population,
    one_layer_vector_field,
    pd_shift,
    power_iteration,
    random_unit_vectors,
    rotation_augmented_operator,
    sample_latent_categorical,
    sample_latent_summation,
    tangent_jacobian,
    theorem3_neighbourhood,
    Activation,
)


def _summation_basis(d=4, seed=1):
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))[0]


# ---------------------------------------------------------------- latent models: closed forms


def _monte_carlo_A(x, w):
    """V[x~^w] from a sample, and the standard error of each entry (the tolerance comes from N)."""
    xt = np.asarray(gated_input(x, w, Activation("relu")))
    centred = xt - xt.mean(0)
    products = centred[:, :, None] * centred[:, None, :]
    return products.mean(0), products.std(0) / np.sqrt(len(x))


@pytest.mark.parametrize("M", [4, 3])
def test_eq9_latent_summation_closed_form_matches_monte_carlo(M):
    """Eq 9 (Eq 45): A(u_m) = (1 - q_m)^2 u_m u_m^T + q_m (U U^T - u_m u_m^T); M < d uses U U^T (the
    docstring's statement). 200k samples; each entry within 5 standard errors (+1e-3 for the mean's
    O(1/N) bias)."""
    U = _summation_basis(4)[:, :M]
    q = [0.15, 0.3, 0.45, 0.2][:M]
    x = sample_latent_summation(200_000, U, q, seed=M)
    for m in range(M):
        estimate, se = _monte_carlo_A(x, U[:, m])
        assert np.all(np.abs(estimate - latent_summation_A(U, q, m)) <= 5 * se + 1e-3)


def test_eq8_latent_categorical_closed_form_matches_monte_carlo():
    """Eq 8 (Eq 44): A(u_m) = P[y=m] (1 - P[y=m]) u_m u_m^T (a signed permutation basis: the other atoms
    sit exactly on the plane u_m^T x = 0, where ReLU's h'(0) = 0 gates them out)."""
    U = np.eye(4)[:, [2, 0, 3, 1]] * np.array([1.0, -1.0, 1.0, -1.0])
    probs = [0.1, 0.2, 0.3, 0.4]
    x = sample_latent_categorical(100_000, U, probs, seed=0)
    for m in range(4):
        estimate, se = _monte_carlo_A(x, U[:, m])
        assert np.all(np.abs(estimate - latent_categorical_A(U, probs, m)) <= 5 * se + 1e-3)


def test_population_atoms_give_the_closed_forms_exactly():
    """The exact populations (atoms with probabilities) reproduce Eqs 8 and 9 to round-off."""
    U = _summation_basis(4)
    q = [0.15, 0.3, 0.45, 0.2]
    pop = latent_summation_population(U, q)
    op = contrastive_operator(pop.x, probs=pop.probs, activation="relu")
    for m in range(4):
        np.testing.assert_allclose(np.asarray(op(U[:, m])), latent_summation_A(U, q, m), atol=1e-12)
    P = np.eye(3)[:, [1, 2, 0]]
    pop = latent_categorical_population(P, [0.5, 0.3, 0.2])
    op = contrastive_operator(pop.x, probs=pop.probs, activation="relu")
    for m in range(3):
        np.testing.assert_allclose(np.asarray(op(P[:, m])), latent_categorical_A(P, [0.5, 0.3, 0.2], m), atol=1e-14)


# ---------------------------------------------------------------- find_lmes on the latent models


def test_find_lmes_recovers_each_u_m_below_the_summation_threshold_and_nothing_else():
    """Latent summation (population): u_m is an LME iff q_m < (3 - sqrt 5)/2 ~ 0.382. With q = (0.1, 0.2,
    0.3, 0.5) find_lmes must return u_1, u_2, u_3 and no other LME (u_4 has q above the threshold).
    Basin shares under PI and under the flow (Eq 7 through the integrator) add up to 1 with the
    unassigned starts."""
    U = _summation_basis(4)
    q = np.array([0.1, 0.2, 0.3, 0.5])
    assert np.all((q < SUMMATION_LME_THRESHOLD) == [True, True, True, False])
    pop = latent_summation_population(U, q)
    found = find_lmes(contrastive_operator(pop.x, probs=pop.probs), num_starts=96, seed=0, flow=True)
    lmes = found.lmes
    matches = np.abs(lmes @ U) > 1 - 1e-8  # each LME equals +/- some u_m
    assert np.all(matches.sum(axis=1) == 1), "an LME that is not a u_m"
    hit = {int(np.argmax(row)) for row in matches}
    assert hit == {0, 1, 2}
    signs = np.sign((lmes @ U)[matches])
    assert np.all(signs > 0), "-u_m is not an LME (A(-u_m) = q^2 u u^T + (1-q)(I - u u^T))"
    assert found.basin_pi.sum() + found.unassigned_pi == pytest.approx(1.0)
    assert found.basin_flow.sum() + found.unassigned_flow == pytest.approx(1.0)
    for w, r in zip(found.points, found.reports):
        if r.is_lme:  # Eq 9's spectrum: lambda_1 = (1 - q_m)^2, lambda_2 = q_m
            m = int(np.argmax(U.T @ w))
            assert r.lambda_1 == pytest.approx((1 - q[m]) ** 2, rel=1e-10)
            assert r.lambda_gap == pytest.approx((1 - q[m]) ** 2 - q[m], rel=1e-10)


def test_find_lmes_recovers_every_u_m_of_the_latent_categorical_model():
    """Eq 8: each u_m is an LME; no other LME. The non-LME fixed points found are the region where every
    sample is gated out (A(w) = 0, so every w there is critical)."""
    U = np.eye(4)[:, [2, 0, 3, 1]] * np.array([1.0, -1.0, 1.0, -1.0])
    pop = latent_categorical_population(U, [0.1, 0.2, 0.3, 0.4])
    op = contrastive_operator(pop.x, probs=pop.probs)
    found = find_lmes(op, num_starts=96, seed=1)
    np.testing.assert_allclose(np.sort(np.argmax(found.lmes @ U, axis=1)), [0, 1, 2, 3])
    np.testing.assert_allclose(np.max(found.lmes @ U, axis=1), 1.0, atol=1e-10)
    for r in found.reports:
        if not r.is_lme:
            assert r.lambda_1 == 0.0 and np.all(U.T @ r.w <= 0)


# ---------------------------------------------------------------- PI fixed points, Theorem 1, PCA


@pytest.mark.parametrize("case", ["relu-summation-sample", "monomial-gaussian", "linear-gaussian-alpha"])
def test_every_power_iteration_fixed_point_is_a_zero_of_eq7(case):
    """Eq 104: P_w A^(w) w = P_w A(w) w, so a fixed point of PI (with or without the App. B.4 shift) is a
    critical point of the flow: ||(I - w w^T) A(w) w|| <= 1e-8 max|lambda(A)| at every converged start."""
    rng = np.random.default_rng(2)
    if case == "relu-summation-sample":
        op = contrastive_operator(sample_latent_summation(300, _summation_basis(3), [0.1, 0.2, 0.3], seed=2),
                                  alpha="gaussian", tau=2.0)
    elif case == "monomial-gaussian":
        op = contrastive_operator(rng.normal(size=(40, 3)), activation=Activation("monomial", q=2))
    else:
        op = contrastive_operator(rng.normal(size=(40, 3)), alpha="gaussian", activation="linear")
    pi = power_iteration(op, random_unit_vectors(16, 3, seed=3), steps=400)
    converged = np.asarray(pi.w)[np.asarray(pi.converged)]
    assert len(converged) >= 4
    for w in converged:
        scale = np.abs(np.linalg.eigvalsh(np.asarray(op(w)))).max()
        assert np.linalg.norm(np.asarray(one_layer_vector_field(0.0, w[None], op))) <= 1e-8 * scale


@pytest.mark.parametrize("seed", range(2))
def test_theorem_1_never_contradicted_by_the_tangent_jacobian(seed):
    """Thm 1 (proof Eqs 59-65): u^T J_T u <= -(lambda_gap - rho) for unit tangent u. So wherever
    lambda_gap > rho the symmetric part of the tangent Jacobian is negative definite. Random cases with a
    smooth A (monomial x^2, rho > 0 from jax.jacfwd) and with ReLU on latent samples (rho ~ 0)."""
    rng = np.random.default_rng(seed)
    ops = [contrastive_operator(rng.normal(size=(30, 3)) @ rng.normal(size=(3, 3)), activation=Activation("monomial", q=2)),
           contrastive_operator(sample_latent_summation(200, _summation_basis(3, seed), [0.1, 0.25, 0.3], seed=seed))]
    checked = 0
    for op in ops:
        found = find_lmes(op, num_starts=12, seed=seed, steps=400)
        for r in found.reports:
            if not r.is_lme:
                continue
            J = tangent_jacobian(op, r.w)
            top = np.linalg.eigvalsh(0.5 * (J + J.T)).max()
            assert top <= -(r.lambda_gap - r.rho) + 1e-8 * r.lambda_1
            if r.theorem1:
                assert top < 0 and r.stable
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("seed", range(2))
def test_linear_activation_has_only_the_pca_lmes(seed):
    """Sec 3: with h(x) = x, A(w) = C_alpha[x] is constant, so the only LMEs are +/- phi_1 (PCA), whatever
    the data (here anisotropic Gaussian data with augmentation and Gaussian alpha)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 4)) @ rng.normal(size=(4, 4))
    x_aug = x + 0.3 * rng.normal(size=x.shape)
    op = contrastive_operator(x, x_aug, alpha="gaussian", tau=3.0, activation="linear")
    found = find_lmes(op, num_starts=24, seed=seed)
    lam, vec = np.linalg.eigh(np.asarray(op(np.eye(4)[0])))
    phi1 = vec[:, -1]
    assert len(found.lmes) == 2
    np.testing.assert_allclose(np.sort(found.lmes @ phi1), [-1.0, 1.0], atol=1e-8)


def test_pd_shift_keeps_eigenvectors_and_is_positive_definite():
    """App. B.4: A - lambda_min I + eps I has A's eigenvectors, is PD, and is A itself when A is PD."""
    rng = np.random.default_rng(0)
    B = rng.normal(size=(4, 4))
    A = B + B.T
    shifted = np.asarray(pd_shift(A, 1e-3))
    assert np.linalg.eigvalsh(shifted).min() > 0
    np.testing.assert_allclose(shifted - A, (shifted - A)[0, 0] * np.eye(4), atol=1e-12)
    np.testing.assert_array_equal(np.asarray(pd_shift(A @ A.T + np.eye(4), 1e-3)), A @ A.T + np.eye(4))


# ---------------------------------------------------------------- Def 4 and Theorem 3


def test_irregularity_matches_eq_10():
    """Eq 10 by hand for A = diag(2, 0.5) (linear activation) at w at angle 0.3 from phi_1."""
    x = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    op = contrastive_operator(x, activation="linear")
    w = np.array([np.cos(0.3), np.sin(0.3)])
    L, kappa = 0.2, 0.7
    c, gap, lam1 = np.cos(0.3), 1.5, 2.0
    mu = 0.5 * (1 + c) / c**2 * (1 - gap / lam1) ** 2
    omega = mu + 2 * kappa * L**2 * (1 + mu * c) + 2 * L / gap * np.sqrt(mu * (1 + mu * c))
    assert irregularity(op, w, L=L, kappa=kappa)["omega"] == pytest.approx(omega, rel=1e-12)


@pytest.mark.parametrize("angle", [0.05, 0.2])
def test_theorem_3_power_iteration_stays_in_b_gamma_when_condition_11_holds(angle):
    """Thm 3 for linear activation (A constant: L = 0 exactly, kappa irrelevant): starting at an angle from
    phi_1 small enough that condition (11) holds on the sampled B_gamma, PI converges to a critical point
    inside B_gamma. A start too far (the cap reaching c = 0) must fail the condition."""
    x = np.random.default_rng(0).normal(size=(50, 3)) * [2.0, 1.0, 0.5]
    op = contrastive_operator(x, activation="linear")
    phi1 = np.linalg.eigh(np.asarray(op(np.eye(3)[0])))[1][:, -1]
    other = np.linalg.eigh(np.asarray(op(np.eye(3)[0])))[1][:, 0]
    w0 = np.cos(angle) * phi1 + np.sin(angle) * other
    out = theorem3_neighbourhood(op, w0, gamma=0.6, L=0.0, kappa=0.0, num_samples=64)
    assert out["condition_holds"]
    assert out["w_star_in_ball"] and out["w_star_residual"] < 1e-10
    far = theorem3_neighbourhood(op, np.cos(1.2) * phi1 + np.sin(1.2) * other, gamma=0.6, L=0.0, kappa=0.0,
                                 num_samples=64)
    assert not far["condition_holds"]


# ---------------------------------------------------------------- App. B.5


@pytest.mark.parametrize("seed", [0, 2])
def test_rotation_augmentation_removes_the_lmes_that_lack_the_symmetry(seed):
    """App. B.5: with x = R(t) x_0 (rotations of coordinates 0, 1) the energy is invariant under w -> R w,
    so only rotation-invariant w (= +/- e_3) can be isolated optima. Without augmentation the same data have
    LMEs off the axis; with it, every LME found is on the axis. PI uses eps = 0.5: with the paper's small
    shift it 2-cycles near the pole on seed 0 (a property of the discrete map, not of the flow)."""
    x0 = np.random.default_rng(seed).normal(size=(7, 3))
    plain = find_lmes(contrastive_operator(x0, activation="relu"), num_starts=48, seed=seed, eps=0.5)
    augmented = find_lmes(rotation_augmented_operator(x0), num_starts=48, seed=seed, eps=0.5)
    off_axis = lambda pts: int(np.sum(np.linalg.norm(pts[:, :2], axis=1) > 1e-6))  # noqa: E731
    assert off_axis(plain.lmes) >= 1
    assert off_axis(augmented.lmes) == 0 and len(augmented.lmes) >= 1
    assert all(r.stable for r in augmented.reports if r.is_lme)


def test_bad_inputs_raise_naming_the_argument():
    op = contrastive_operator(np.random.default_rng(0).normal(size=(6, 3)))
    with pytest.raises(ValueError, match="w0"):
        power_iteration(op, [[1.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="w0"):
        power_iteration(op, [[1.0, 0.0]])
    with pytest.raises(ValueError, match="eps"):
        power_iteration(op, [[1.0, 0.0, 0.0]], eps=0.0)
    with pytest.raises(TypeError, match="op"):
        find_lmes(np.eye(3))
    with pytest.raises(ValueError, match="q"):
        latent_summation_A(np.eye(3), [0.2, 1.0, 0.3], 0)
    with pytest.raises(ValueError, match="q"):
        sample_latent_summation(10, np.eye(2), 0.0)
    with pytest.raises(ValueError, match="U"):
        latent_summation_A(np.ones((3, 3)), 0.2, 0)
    with pytest.raises(ValueError, match="m"):
        latent_categorical_A(np.eye(3), [0.2, 0.3, 0.5], 3)
    with pytest.raises(ValueError, match="probs"):
        latent_categorical_population(np.eye(3), [0.2, 0.3, 0.6])
    with pytest.raises(ValueError, match="gamma"):
        theorem3_neighbourhood(op, [1.0, 0.0, 0.0], gamma=1.0, L=0.0, kappa=0.0)
    with pytest.raises(ValueError, match="w"):
        fixed_point_report(op, [0.5, 0.0, 0.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fig1_each_u_m_keeps_a_nearby_lme_when_u_is_slightly_non_orthogonal(seed):
    """001 Fig 1 (right) / Thm 3: latent summation with ``U`` = orthonormal basis + a perturbation of
    size ``||U^T U - I||_2`` about 0.07 (d = 6, q_m from 0.1 to 0.3, all below the LME threshold).
    Power iteration started at each ``u_m`` converges (last step < 1e-12) to an LME within 0.15 of
    ``u_m``: the local optima survive a small non-orthogonality. (Measured: at most 0.06 for seed 0;
    at ``||U^T U - I|| = 0`` the distance is 0.)"""
    d, delta = 6, 0.05
    q = np.linspace(0.1, 0.3, d)
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.normal(size=(d, d)))[0] + delta * rng.normal(size=(d, d)) / np.sqrt(d)
    U = U / np.linalg.norm(U, axis=0)
    off = np.linalg.norm(U.T @ U - np.eye(d), 2)
    assert 0.02 < off < 0.15, f"the perturbation is not small-but-non-zero: {off}"
    pop = latent_summation_population(U, q)
    op = contrastive_operator(pop.x, probs=pop.probs, activation="relu")
    pi = power_iteration(op, U.T, steps=150)
    assert np.all(np.asarray(pi.history)[:, -1] < 1e-12), np.asarray(pi.history)[:, -1]
    limits = np.asarray(pi.w)
    assert np.linalg.norm(limits - U.T, axis=1).max() < 0.15
    assert all(fixed_point_report(op, w).is_lme for w in limits)
