"""000 Theorem 5 (Eq 16, App. A.2): the two-layer flow on a Gaussian-mixture generative model.

Two runs are shared by the tests (each compile costs seconds): ReLU units on a mixture with a
centre at the origin, and linear units on two Gaussians. Units start small (|w1_j| = 0.01,
|w2_j| = 1), so their directions settle while w2 is still near 1 and the finite-time blow-up
(d|w1|/dt ~ |w1|^3) only comes after the norm has grown ~1000-fold: directions are then
determined to ~1e-3 degrees. float64, rtol 1e-12.
"""

import numpy as np
import pytest

from ssl_odes import Status
from ssl_odes.dual_networks import (
    final_directions,
    mixture_u,
    simulate_two_layer,
    two_layer_A,
    two_layer_invariant,
)

RUN = dict(t1=30.0, num_points=3001, rtol=1e-12, atol=1e-14, bound=1e4)
RELU_CENTRES = np.array([[0.0, 0.0], [2.0, 0.0], [-1.5, 1.5]])  # background at the origin; 135 degrees apart
TWO_CENTRES = np.array([[1.0, 0.5], [-0.5, 1.0]])
# Initial directions (degrees), away from the bisector of the two centres (67.5) and from the
# edges of the sector 225..270 where both centres are gated off.
ANGLES = np.array([10.0, 40.0, 95.0, 130.0, 160.0, 200.0, 245.0, 300.0, 340.0])


def unit(degrees):
    rad = np.radians(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=-1)


@pytest.fixture(scope="module")
def relu_run():
    w1 = 0.01 * unit(ANGLES)[:, None, :]
    return simulate_two_layer(w1, np.ones((len(ANGLES), 1)), centres=RELU_CENTRES, sigma=0.3, **RUN)


@pytest.fixture(scope="module")
def linear_run():
    w1 = 0.01 * unit(ANGLES)[:, None, :]
    w2 = np.where(np.arange(len(ANGLES)) % 2, 1.0, -1.0)[:, None]  # both signs of w2
    return simulate_two_layer(w1, w2, centres=TWO_CENTRES, relu=False, **RUN)


def finite(res):
    w1, w2 = np.asarray(res.w1), np.asarray(res.w2)
    return w1, w2, np.all(np.isfinite(w1), axis=(-1, -2))


@pytest.mark.parametrize("name", ["relu_run", "linear_run"])
def test_invariant_w2_squared_minus_w1_norm_squared_is_conserved(name, request):
    """App. A.2: d(w2_j^2)/dt = d||w1_j||^2/dt, so w2_j^2 - ||w1_j||^2 is constant. Tolerance
    1e-9 (w2^2 + ||w1||^2): rtol 1e-12 per step over ~1e3 steps, with margin."""
    res = request.getfixturevalue(name)
    w1, w2, ok = finite(res)
    inv = np.asarray(two_layer_invariant(w1, w2))
    scale = w2**2 + np.sum(w1**2, axis=-1)
    err = np.abs(inv - inv[:, :1])
    assert np.all(err[ok] <= 1e-9 * scale[ok])
    assert ok.sum(axis=1).min() > 10


@pytest.mark.parametrize("name", ["relu_run", "linear_run"])
def test_w2_never_decreases_in_magnitude(name, request):
    """Eq 16: d w2_j/dt = w2_j (w1_j^T A_j w1_j) with A_j PSD, so w2_j > 0 never decreases (and
    |w2_j| never decreases for w2_j < 0). Slack 1e-12 for rounding."""
    res = request.getfixturevalue(name)
    _, w2, ok = finite(res)
    for w, good in zip(np.abs(w2[..., 0]), ok):
        assert np.all(np.diff(w[good]) >= -1e-12)
    assert np.all(np.asarray(res.status) != Status.NONFINITE)


def test_linear_units_converge_to_plus_minus_the_centre_difference(linear_run):
    """App. A.2: linear units have A = Delta Delta^T / 4 (Delta = w1* - w2*, two equal Gaussians), so
    w1_j converges to +/- Delta, the sign of w1_j(0)^T Delta. The component of w1_j orthogonal
    to Delta is conserved (A w1 lies along Delta), while the parallel one blows up."""
    delta = TWO_CENTRES[0] - TWO_CENTRES[1]
    delta_hat = delta / np.linalg.norm(delta)
    np.testing.assert_allclose(two_layer_A(unit(ANGLES)[:, None], TWO_CENTRES, relu=False)[0, 0],
                               np.outer(delta, delta) / 4, atol=1e-15)
    w1, _, ok = finite(linear_run)
    perp = w1[..., 0, :] @ np.array([-delta_hat[1], delta_hat[0]])
    np.testing.assert_allclose(np.where(ok, perp, perp[:, :1]), np.broadcast_to(perp[:, :1], perp.shape), atol=1e-14)
    directions = final_directions(linear_run)[:, 0]
    signs = np.sign(unit(ANGLES) @ delta)
    cosines = signs * (directions @ delta_hat)
    assert np.all(np.degrees(np.arccos(np.minimum(cosines, 1.0))) < 0.1)
    assert np.all(np.asarray(linear_run.status) == Status.BLOWUP)


def test_relu_unit_converges_to_a_nonzero_centre_chosen_by_its_initialisation(relu_run):
    """App. A.2: with a Gaussian at the origin, A_j evolves into w_k* w_k*^T for a non-zero centre
    k and w1_j -> w_k* in direction (0.05 degrees), which centre depending on the start: here the
    centre best aligned with w1_j(0). Both centres are reached. A unit that starts where both
    centres are gated off (w1_j^T w_k* < 0 for all k: 245 degrees) does not move towards either."""
    hats = RELU_CENTRES[1:] / np.linalg.norm(RELU_CENTRES[1:], axis=1, keepdims=True)
    directions = final_directions(relu_run)[:, 0]
    start = unit(ANGLES)
    live = np.any(start @ RELU_CENTRES[1:].T > 0, axis=1)
    assert live.tolist() == [a != 245.0 for a in ANGLES]
    cosines = directions[live] @ hats.T
    reached = np.argmax(cosines, axis=1)
    assert np.all(np.degrees(np.arccos(np.minimum(cosines.max(axis=1), 1.0))) < 0.05)
    assert set(reached.tolist()) == {0, 1}
    np.testing.assert_array_equal(reached, np.argmax(start[live] @ hats.T, axis=1))
    w1, _, ok = finite(relu_run)
    grown = np.array([np.linalg.norm(w[good][-1, 0]) for w, good in zip(w1, ok)]) / 0.01
    assert np.all(grown[live] > 300) and grown[~live].max() < 2


def test_relu_A_closed_form_matches_monte_carlo():
    """u_j(k) = E[x 1(w^T x >= 0) | z0 = k] = w_k* Phi(m_k) + sigma phi(m_k) hat w against 50000
    Gaussian samples per centre: s.e. <= (|w_k*| + sigma) / sqrt(5e4) ~ 1e-2 per entry at most;
    tolerance 4e-2."""
    rng = np.random.default_rng(1)
    centres, sigma = rng.normal(size=(3, 4)), 0.7
    w = rng.normal(size=(2, 4))
    u = np.asarray(mixture_u(w, centres, sigma=sigma))
    for k, c in enumerate(centres):
        x = c + sigma * rng.normal(size=(50_000, 4))
        for j in range(2):
            np.testing.assert_allclose(u[j, k], np.mean(x * (x @ w[j] >= 0)[:, None], axis=0), atol=4e-2)
    a = np.asarray(two_layer_A(w, centres, sigma=sigma))
    assert np.linalg.eigvalsh(a).min() >= -1e-12


def test_two_layer_rejects_bad_inputs_naming_them():
    w1, w2 = [[0.1, 0.2]], [1.0]
    with pytest.raises(ValueError, match="A must be positive semi-definite"):
        simulate_two_layer(w1, w2, A=[[1.0, 0.0], [0.0, -1.0]], relu=False)
    with pytest.raises(ValueError, match="A is a constant operator"):
        simulate_two_layer(w1, w2, A=np.eye(2))
    with pytest.raises(ValueError, match="w2_0"):
        simulate_two_layer(w1, [1.0, 2.0], centres=TWO_CENTRES)
    with pytest.raises(ValueError, match="sigma"):
        simulate_two_layer(w1, w2, centres=TWO_CENTRES, sigma=0.0)
    with pytest.raises(ValueError, match="centres"):
        simulate_two_layer(w1, w2, centres=np.ones((2, 3)))
    with pytest.raises(ValueError, match="probs"):
        simulate_two_layer(w1, w2, centres=TWO_CENTRES, probs=[0.2, 0.2])
