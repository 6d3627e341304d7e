"""003 Thm 1-3, Eqs 2, 4-8, 11-13: the generalisation bound on synthetic latent-class features (float64)."""

import math
import re

import numpy as np
import pytest

from ssl_odes import bounds
from ssl_odes.bounds import (
    augmentation_eps,
    barlow_twins_loss,
    barlow_twins_lower_bound,
    class_means,
    dimension_term,
    error_bound,
    error_bound_union,
    l_bound,
    l_cor,
    latent_class_features,
    nearest_mean_error,
    separation_threshold,
)

# (n, d, K, eps, seed): generic random class directions, from d < K to d > K.
CONFIGS = [(1500, 16, 10, 0.1, 0), (1500, 8, 20, 0.1, 1), (1500, 4, 12, 0.2, 2), (1000, 2, 6, 0.2, 3),
           (1500, 3, 15, 0.12, 4), (1500, 10, 30, 0.07, 5), (1500, 2, 42, 0.17, 6), (1500, 9, 23, 0.066, 7)]


def pair_sum(mu, probs):
    """sum_{i != j} p_i p_j (mu_i^T mu_j)^2, by hand."""
    gram = mu @ mu.T
    weights = np.outer(probs, probs)
    np.fill_diagonal(weights, 0.0)
    return float(np.sum(weights * gram**2))


# ------------------------------------------------------------------------------------------------
# Hand computations of the formulas
# ------------------------------------------------------------------------------------------------


def test_theorem_3_matches_a_hand_computation():
    """Thm 3 with d = 4, K = 6 balanced, L_cor = 0.5, eps = 0.1, by hand:
    numerator 2/16 * 0.5 + 2 * 0.1^4 + (6 - 4)/16 = 0.0625 + 0.0002 + 0.125 = 0.1877;
    denominator (1 - 6/36) * (1 - 0.4 + 0.01)^2 = (5/6) * 0.3721. Unbalanced p = (0.5, 0.3, 0.2), K = 3,
    d = 2, L_cor = 1, eps = 0.05: (0.5 + 2 * 0.05^4 + 0.25) / ((1 - 0.38) * (1 - 0.2 + 0.0025)^2)."""
    assert float(error_bound(0.5, 4, 0.1, K=6)) == pytest.approx(0.1877 / ((5 / 6) * 0.3721), rel=1e-14)
    expected = (0.5 + 2 * 0.05**4 + 0.25) / (0.62 * 0.8025**2)
    assert float(error_bound(1.0, 2, 0.05, class_probs=[0.5, 0.3, 0.2])) == pytest.approx(expected, rel=1e-14)
    assert float(error_bound_union(1.0, 2, 0.05, class_probs=[0.5, 0.3, 0.2])) == pytest.approx(
        (0.5 + 2 * 0.05**4 + 0.25) / (0.2 * 0.8025**2), rel=1e-14)


def test_l_bound_and_the_dimension_term_by_hand():
    """Eq 11: L_bound(L_cor = 3, d = 5, K = 10) = 6/25 + 5/25 = 0.44; V(d) = (K - d)/d^2."""
    assert float(l_bound(3.0, 5, 10)) == pytest.approx(0.44, rel=1e-14)
    np.testing.assert_allclose(dimension_term([1, 2, 10, 40], 10), [9.0, 2.0, 0.0, -30 / 1600], rtol=1e-14)


@pytest.mark.parametrize("K", [10, 100, 7, 33])
def test_dimension_term_is_smallest_at_twice_the_number_of_classes(K):
    """003 Sec 5: V(d) = (K - d)/d^2 has its minimum -1/(4K) at d = 2K, is decreasing before and
    increasing after (dV/dd = (d - 2K)/d^3), V -> inf as d -> 0 and V -> 0 as d -> inf."""
    d = np.arange(1, 20 * K + 1)
    v = np.asarray(dimension_term(d, K))
    assert d[np.argmin(v)] == 2 * K
    assert v.min() == pytest.approx(-1 / (4 * K), rel=1e-14)
    assert np.all(np.diff(v[: 2 * K]) < 0) and np.all(np.diff(v[2 * K - 1:]) > 0)
    assert float(dimension_term(1, K)) == K - 1
    assert abs(float(dimension_term(10**9, K))) < 1e-8


def test_l_cor_and_barlow_twins_loss_by_hand():
    """Eq 8 and Eq 2 on 2 x 2 examples. f = [[1, 1], [1, -1]]: Lambda = I, L_cor = 0.
    f1 = [[2, 0], [0, 2]] / sqrt2 * ..., here f1 = [[sqrt2, 0], [0, sqrt2]] and f2 = [[0, sqrt2], [sqrt2, 0]]:
    C = E[f1 f2^T] = [[0, 1], [1, 0]], L_BT = (1 - 0)^2 * 2 + lambda (1 + 1)."""
    assert float(l_cor([[1.0, 1.0], [1.0, -1.0]])) == pytest.approx(0.0, abs=1e-15)
    r = math.sqrt(2)
    f1, f2 = np.array([[r, 0.0], [0.0, r]]), np.array([[0.0, r], [r, 0.0]])
    assert float(l_cor(f1)) == pytest.approx(0.0, abs=1e-15)
    assert float(barlow_twins_loss(f1, f2, lambda_bt=0.3)) == pytest.approx(2.0 + 0.3 * 2.0, rel=1e-14)
    assert float(l_cor(np.array([[r, 0.0]]))) == pytest.approx(2.0, rel=1e-14)  # Lambda = diag(2, 0)


def test_nearest_mean_classifier_by_hand():
    """Eqs 4-5 on five points: means (1, 0) and (0, 1); the point (0.6, 0.5) of class 1 is nearer (1, 0)."""
    f = np.array([[1.5, 0.0], [0.5, 0.0], [0.0, 1.5], [0.0, 1.0], [0.6, 0.5]])
    labels = np.array([0, 0, 1, 1, 1])
    mu = np.asarray(class_means(f, labels))
    np.testing.assert_allclose(mu, [[1.0, 0.0], [0.2, 1.0]], atol=1e-15)
    assert nearest_mean_error(f, labels, means=[[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(0.2)


# ------------------------------------------------------------------------------------------------
# The synthetic generator meets the hypotheses
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,d,K,eps,seed", CONFIGS[:4])
def test_generator_meets_the_hypotheses_of_section_4_1(n, d, K, eps, seed):
    """||f|| = r = sqrt(d) for every view (to 1e-12), any two views of one class closer than r eps
    (Eq 6; checked by brute force), exact class proportions summing to 1."""
    data = latent_class_features(n, d, K, eps, seed=seed)
    np.testing.assert_allclose(np.linalg.norm(data.views, axis=1), math.sqrt(d), rtol=1e-12)
    assert augmentation_eps(data.views, data.view_labels) < eps
    counts = np.bincount(data.labels, minlength=K)
    np.testing.assert_allclose(data.class_probs, counts / n, rtol=0, atol=0)
    assert data.class_probs.sum() == pytest.approx(1.0, abs=1e-14)
    unbalanced = latent_class_features(1000, d, 3, eps, class_probs=[0.5, 0.3, 0.2], seed=seed)
    np.testing.assert_allclose(unbalanced.class_probs, [0.5, 0.3, 0.2], atol=1e-15)


# ------------------------------------------------------------------------------------------------
# Thm 1, Thm 2 (Eq 27), Eq 13 and Thm 3 on synthetic features
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,d,K,eps,seed", CONFIGS)
def test_theorem_1_separated_classes_are_never_confused(n, d, K, eps, seed):
    """Thm 1: mu_i^T mu_j < r^2 (1 - 4 eps + eps^2) implies no view of class i is assigned to j.
    Exact (no tolerance): a counting statement on the empirical distribution."""
    data = latent_class_features(n, d, K, eps, seed=seed)
    views, labels = data.views, data.view_labels
    mu = np.asarray(class_means(views, labels))
    assigned = np.argmin(np.sum((views[:, None] - mu[None]) ** 2, axis=-1), axis=1)
    separated = mu @ mu.T < float(separation_threshold(d, eps))
    confused = np.zeros((K, K), bool)
    confused[labels, assigned] = True
    np.fill_diagonal(confused, False)
    assert not np.any(confused & separated)


@pytest.mark.parametrize("n,d,K,eps,seed", CONFIGS)
def test_theorem_2_pair_inequality_of_eq_27(n, d, K, eps, seed):
    """Eq 27 (proof of Thm 2): sum_{i != j} p_i p_j (mu_i^T mu_j)^2 <= 2 L_cor + 2 r^4 eps^4 + K - d,
    with r^4 = d^2, on the views' empirical distribution (1e-9 relative slack for rounding)."""
    data = latent_class_features(n, d, K, eps, seed=seed)
    mu = np.asarray(class_means(data.views, data.view_labels))
    lhs = pair_sum(mu, data.class_probs)
    rhs = 2 * float(l_cor(data.views)) + 2 * d**2 * eps**4 + K - d
    assert lhs <= rhs + 1e-9 * abs(rhs)


@pytest.mark.parametrize("n,d,K,eps,seed", CONFIGS)
def test_barlow_twins_loss_bounds_l_cor_eq_13(n, d, K, eps, seed):
    """Eq 13 (lambda = 1): L_BT >= L_cor/2 - eps^2 as printed, and the form the proof actually gives,
    L_BT >= L_cor/2 - d^2 eps^2, with L_cor of the first view (the proof's Lambda). Exact comparisons."""
    data = latent_class_features(n, d, K, eps, seed=seed)
    loss = float(barlow_twins_loss(data.view1, data.view2))
    lc = float(l_cor(data.view1))
    assert loss >= float(barlow_twins_lower_bound(lc, eps, scaled=False))
    assert loss >= float(barlow_twins_lower_bound(lc, eps, d))


def test_proven_eq_13_holds_for_arbitrary_view_pairs():
    """The proof of Eq 13 only uses ||f1|| = r and ||f2 - f1|| <= r eps per sample. Random f1 on the
    sphere, f2 = f1 rotated by a random angle up to 2 arcsin(eps/2), adversarially aligned (all
    rotations towards one direction): L_BT >= L_cor/2 - d^2 eps^2 still holds."""
    rng = np.random.default_rng(0)
    for d, eps in [(3, 0.25), (8, 0.2), (20, 0.1)]:
        n = 400
        f1 = rng.standard_normal((n, d))
        f1 *= math.sqrt(d) / np.linalg.norm(f1, axis=1, keepdims=True)
        towards = np.zeros(d)
        towards[0] = 1.0
        perp = towards - (f1 @ towards)[:, None] * f1 / d
        perp /= np.linalg.norm(perp, axis=1, keepdims=True)
        angle = rng.uniform(0, 2 * math.asin(eps / 2), n)
        f2 = np.cos(angle)[:, None] * f1 + math.sqrt(d) * np.sin(angle)[:, None] * perp
        assert np.max(np.linalg.norm(f2 - f1, axis=1)) <= math.sqrt(d) * eps * (1 + 1e-12)
        assert float(barlow_twins_loss(f1, f2)) >= float(barlow_twins_lower_bound(float(l_cor(f1)), eps, d))


@pytest.mark.parametrize("n,d,K,eps,seed", CONFIGS)
def test_theorem_3_and_its_union_form_hold_on_generic_synthetic_features(n, d, K, eps, seed):
    """Er(f) of the nearest-mean classifier (Eq 5) never exceeds Thm 3's bound on features meeting
    the hypotheses, with random class directions; nor the union-bound form (>= Thm 3 when p_min <=
    1 - sum p^2). Both the generator's eps and the data's own (smaller) eps are used."""
    data = latent_class_features(n, d, K, eps, seed=seed)
    views, labels = data.views, data.view_labels
    error = nearest_mean_error(views, labels)
    lc = float(l_cor(views))
    for e in (eps, augmentation_eps(views, labels) * (1 + 1e-9)):
        assert error <= float(error_bound(lc, d, e, class_probs=data.class_probs))
        assert error <= float(error_bound_union(lc, d, e, class_probs=data.class_probs))


@pytest.mark.parametrize("K,eps", [(10, 0.02), (20, 0.05)])
def test_printed_theorem_3_fails_when_two_classes_share_a_direction(K, eps):
    """Thm 3 as printed is not a bound in general. Take d = K orthogonal class directions, except that
    classes 0 and 1 share one (allowed: Eq 7 is about inputs, not features). Then about half of
    their views are misclassified, Er ~ 1/K, while L_cor ~ 2 makes Thm 3's bound
    ~ 4/d^2 / (1 - 1/K) < 1/K. The union-bound form holds. Measured: K = 10, eps = 0.02:
    Er = 0.0895 against a Thm 3 bound of 0.052 (union form 0.47); K = 20, eps = 0.05: 0.040 vs 0.016."""
    d = K
    centers = np.eye(d)
    centers[1] = centers[0]
    data = latent_class_features(4000, d, K, eps, centers=centers, seed=0)
    views, labels = data.views, data.view_labels
    assert augmentation_eps(views, labels) < eps  # Eq 6 holds
    error = nearest_mean_error(views, labels)
    lc = float(l_cor(views))
    printed = float(error_bound(lc, d, eps, class_probs=data.class_probs))
    union = float(error_bound_union(lc, d, eps, class_probs=data.class_probs))
    assert printed < error <= union
    assert error == pytest.approx(1 / K, rel=0.25)


# ------------------------------------------------------------------------------------------------
# Validation: one test per rule
# ------------------------------------------------------------------------------------------------


def test_bound_eps_must_be_below_two_minus_sqrt_three():
    """Thm 1's threshold 1 - 4 eps + eps^2 is positive only for eps < 2 - sqrt(3)."""
    for call in (error_bound, error_bound_union):
        with pytest.raises(ValueError, match=r"^eps must satisfy 0 <= eps < 0\.267949"):
            call(0.5, 4, 0.3, K=6)
        with pytest.raises(ValueError, match=r"^eps must satisfy 0 <= eps < 0\.267949"):
            call(0.5, 4, -0.1, K=6)


def test_l_cor_must_be_nonnegative_and_d_k_positive_integers():
    with pytest.raises(ValueError, match=r"^l_cor must satisfy l_cor >= 0; got l_cor=-1.0"):
        error_bound(-1.0, 4, 0.1, K=6)
    with pytest.raises(ValueError, match=r"^d must satisfy d >= 1"):
        l_bound(1.0, 0, 10)
    with pytest.raises(ValueError, match=r"^d must hold integers >= 1"):
        dimension_term(2.5, 10)
    with pytest.raises(ValueError, match=r"^K must satisfy K >= 2"):
        error_bound(0.5, 4, 0.1, K=1)


def test_class_probs_must_be_a_distribution():
    with pytest.raises(ValueError, match=r"class_probs must sum to 1"):
        error_bound(0.5, 4, 0.1, class_probs=[0.5, 0.6])
    with pytest.raises(ValueError, match=r"^class_probs must satisfy 0 <= class_probs <= 1"):
        error_bound(0.5, 4, 0.1, class_probs=[1.5, -0.5])
    with pytest.raises(ValueError, match=r"K must equal the length of class_probs"):
        error_bound(0.5, 4, 0.1, K=3, class_probs=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"class_probs must all be > 0"):
        error_bound_union(0.5, 4, 0.1, class_probs=[1.0, 0.0])


def test_barlow_twins_inputs_are_checked():
    with pytest.raises(ValueError, match=r"^lambda_bt must satisfy lambda_bt > 0; got lambda_bt=0.0"):
        barlow_twins_loss(np.eye(2), np.eye(2), lambda_bt=0.0)
    with pytest.raises(ValueError, match=r"features1 and features2 must have the same shape"):
        barlow_twins_loss(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match=r"features must have shape \[..., n, d\]"):
        l_cor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"d is needed with scaled=True"):
        barlow_twins_lower_bound(1.0, 0.1)


def test_labels_and_generator_arguments_are_checked():
    with pytest.raises(ValueError, match=r"labels must be 3 integers"):
        nearest_mean_error(np.eye(3), [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"classes \[1\] have none"):
        class_means(np.eye(3), [0, 2, 2])
    with pytest.raises(ValueError, match=r"^eps must satisfy 0 < eps <= 2"):
        latent_class_features(100, 4, 3, 0.0)
    with pytest.raises(ValueError, match=r"^n must satisfy n >= 3"):
        latent_class_features(2, 4, 3, 0.1)
    with pytest.raises(ValueError, match=r"centers must be 3 non-zero vectors of dimension 4"):
        latent_class_features(100, 4, 3, 0.1, centers=np.eye(3))
    with pytest.raises(ValueError, match=r"^d must satisfy d >= 2"):
        latent_class_features(100, 1, 3, 0.1)
    assert bounds.EPS_MAX == pytest.approx(2 - math.sqrt(3))
