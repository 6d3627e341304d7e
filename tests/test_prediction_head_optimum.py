"""Footnote 3 of 004: OPT = 2 - 2 E[|S cap P| |S minus P|] / E[|S cap P|^2], exact (float64)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes import prediction_head as ph


@pytest.mark.parametrize("P, P0", [(4, 2), (8, 3), (16, 4), (12, 12), (10, 1)])
def test_opt_equals_four_var_over_second_moment_of_the_hypergeometric(P, P0):
    """For even P, OPT = 4 Var K / E K^2 with K ~ Hypergeometric(P, P0, P/2): mean h P0/P,
    variance h (P0/P)(1 - P0/P)(P - h)/(P - 1) (textbook formulas, independent of the pmf sum)."""
    h = P // 2
    mean = h * P0 / P
    var = h * (P0 / P) * (1 - P0 / P) * (P - h) / (P - 1)
    assert ph.optimal_loss(P, P0) == pytest.approx(4 * var / (var + mean**2), rel=1e-12)
    assert sum(ph.overlap_law(P, P0).values()) == 1


@pytest.mark.parametrize("P, P0", [(8, 3), (7, 3)])
def test_opt_is_the_loss_of_a_feature_neuron_on_samples(P, P0):
    """A neuron w = v1 sees no noise; its term of Eq 3.3 on 100000 sampled pairs is OPT within 5 s.e.

    (Odd P: view 1 gets floor(P/2) patches; OPT then uses sqrt(E K^2 E (P0-K)^2).) The term is
    2 - 2 r for the sample correlation r, whose s.e. is below 2/sqrt(n) here (|r| <= 1 and
    bounded fourth moments); we allow 5 * 2 * 2 / sqrt(n) on the loss.
    """
    n = 100000
    d = 4
    X = ph.sample(7, n, d=d, P=P, P0=P0, alpha_1=2.0, alpha_2=1.0, sigma=1.0, dtype=jnp.float64).X
    X1, X2 = ph.positive_pair(jax.random.key(8), X)
    W = jnp.eye(d, 2, dtype=jnp.float64)  # w_1 = v1, w_2 = v2
    terms = np.asarray(ph.loss_terms(W, jnp.eye(2), X1, X2, 0.0))
    np.testing.assert_allclose(terms, ph.optimal_loss(P, P0), atol=5 * 4 / math.sqrt(n))


def test_opt_is_theta_one_over_log_d():
    """Footnote 3: with P0 = Theta(log d) (here ceil(2 ln d)) and P = 4 P0 (polylog d), OPT * P0 stays
    in [2, 4] (closed form: 4 Var K / E K^2 ~ 4 (1 - P0/P) / P0 = 3 / P0) and OPT decreases in d."""
    values = []
    for d in [1e2, 1e4, 1e8, 1e16, 1e32]:
        P0 = math.ceil(2 * math.log(d))
        values.append((ph.optimal_loss(4 * P0, P0), P0))
    assert all(2.0 <= opt * P0 <= 4.0 for opt, P0 in values)
    assert all(b[0] < a[0] for a, b in zip(values, values[1:]))
    assert values[-1][0] < 0.03


def test_opt_limits():
    """P0 = P (even P): both views always see P/2 feature patches, OPT = 0. P0 = 1: only one view, OPT = 2."""
    assert ph.optimal_loss(10, 10) == 0.0
    assert ph.optimal_loss(9, 1) == 2.0


@pytest.mark.parametrize("P, P0, name", [(1, 1, "P"), (4, 5, "P0"), (4, 0, "P0")])
def test_bad_sizes_raise_value_error(P, P0, name):
    with pytest.raises(ValueError, match=name):
        ph.optimal_loss(P, P0)
