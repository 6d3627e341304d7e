"""000 App. A.3: binary symmetric HLTMs, Theorem 6 (Eq 81, with the statement's slip) and Theorem 7.

Exact quantities come from enumerating every latent configuration (2^14 here) in float64; the
sampler is checked against them by Monte Carlo with tolerances of 5 standard errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes.dual_networks import (
    enumerate_latents,
    exact_expectations,
    hltm,
    lucky_node_bound,
    lucky_nodes,
    path_polarity,
    sample,
    theorem6_covariance,
    tree_network_forward,
    tree_network_init,
)


def random_tree(seed, rho_0):
    rng = np.random.default_rng(seed)
    sizes = (2, 4, 8)
    return hltm(3, 2, rho=[rng.uniform(0.3, 1.0, n) * rng.choice([-1, 1], n) for n in sizes], rho_0=rho_0)


def test_sampler_matches_the_transition_probabilities():
    """P(z_0 = 1) = (1 + rho_0)/2 and P(z_mu = 1 | z_0) = (1 +/- rho_0mu)/2 (Eqs 67-68, 76): 40000
    samples, s.e. <= 0.0025; tolerance 0.0125 (5 s.e.). Augmentation keeps z_0."""
    tree = random_tree(0, rho_0=0.4)
    levels = sample(tree, jax.random.PRNGKey(0), 40_000)
    z0 = np.asarray(levels[0][:, 0])
    assert abs(z0.mean() - 0.7) < 0.0125
    for k, rho in enumerate(path_polarity(tree)[1:], start=1):
        z = np.asarray(levels[k])
        np.testing.assert_allclose(z[z0 == 1].mean(axis=0), (1 + rho) / 2, atol=0.0125)
        np.testing.assert_allclose(z[z0 == 0].mean(axis=0), (1 - rho) / 2, atol=0.0125)
    views = sample(tree, jax.random.PRNGKey(1), 5, z0=z0[:5])
    np.testing.assert_array_equal(np.asarray(views[0][:, 0]), z0[:5])


def test_path_polarity_eq76_matches_enumeration_and_vanishes_with_depth():
    """Eq 76: rho_0mu = 2 P(z_mu = 1 | z_0 = 1) - 1 (exact, 1e-12); with every |rho| <= gamma < 1,
    |rho_0mu| <= gamma^k -> 0 (Theorem 6's limit), here on a chain of depth 12."""
    tree = random_tree(1, rho_0=0.0)
    levels, p = enumerate_latents(tree)
    for k, rho in enumerate(path_polarity(tree)[1:], start=1):
        np.testing.assert_allclose(2 * np.einsum("c,cn->n", p[1], levels[k][1]) - 1, rho, atol=1e-12)
    gamma = 0.7
    chain = hltm(12, 1, rho=list(np.random.default_rng(2).uniform(-gamma, gamma, (12, 1))))
    rho = np.abs(np.concatenate(path_polarity(chain)))
    assert np.all(rho <= gamma ** np.arange(13) + 1e-15) and rho[-1] < gamma**12 + 1e-15 < 0.014


@pytest.mark.parametrize("rho_0", [0.0, 0.6])
@pytest.mark.parametrize("level", [1, 2])
def test_theorem6_eq81_holds_exactly_and_by_monte_carlo(rho_0, level):
    """Eq 81 for a random tree and a random ReLU network of width 3 with biases: exactly (1e-12) and
    by Monte Carlo; the statement's (1 - rho_0mu^2) differs from it by more than 10% here.

    mu is latent 0 of ``level``; its children nodes are the nodes of its children latents (the
    leaves themselves at level 2). Monte Carlo: E[f | z_0] from 20000 samples per value of z_0;
    the difference m_1 - m_0 = 2 rho_0mu a (Eqs 75-80) within 5 s.e. per entry.
    """
    tree = random_tree(3 + level, rho_0=rho_0)
    params = tree_network_init(tree, jax.random.PRNGKey(level), 3, bias=True)

    def child_activations(x):
        if level == 2:  # children of mu are leaves 0, 1: the nodes are the pixels
            return jnp.asarray(x[..., :2], float)
        pre = tree_network_forward(params, x.reshape(-1, x.shape[-1]))[0]  # level-2 pre-activations
        return jax.nn.relu(pre[:, :2, :]).reshape(x.shape[:-1] + (6,))

    levels, _ = enumerate_latents(tree)
    f = np.asarray(child_activations(jnp.asarray(levels[-1])))  # [2, C, K]
    exact = exact_expectations(tree, f)
    m0, m1 = exact["given_z0"]
    p1 = (1 + rho_0) / 2
    lhs = p1 * (1 - p1) * np.outer(m1 - m0, m1 - m0)
    # v_k(z_nu) = E[f_k | z_nu] for child node k of latent nu(k) (level + 1; a leaf's own value).
    v = exact[f"given_level_{level + 1}"]  # [2, n_(level+1), K]
    nu = np.repeat([0, 1], f.shape[-1] // 2)
    s = 0.5 * (v[1, nu, np.arange(f.shape[-1])] - v[0, nu, np.arange(f.shape[-1])])
    rho_0mu = path_polarity(tree)[level][0]
    rho_mu_nu = tree.rho[level][:2][nu]  # the edges from mu = latent 0 of `level` to its children
    eq81 = theorem6_covariance(rho_0mu, rho_mu_nu, s, rho_0)
    np.testing.assert_allclose(lhs, eq81, atol=1e-12)
    a = rho_mu_nu * s
    printed = rho_0mu**2 * (1 - rho_0mu**2) * np.outer(a, a)
    assert np.linalg.norm(printed - eq81) > 0.1 * np.linalg.norm(eq81)

    n = 20_000
    means, errs = [], []
    for z in (0, 1):
        x = sample(tree, jax.random.PRNGKey(10 + z), n, z0=np.full(n, z))[-1]
        fx = np.asarray(child_activations(x))
        means.append(fx.mean(axis=0))
        errs.append(fx.std(axis=0) / np.sqrt(n))
    se = np.sqrt(errs[0] ** 2 + errs[1] ** 2)
    assert np.all(np.abs((means[1] - means[0]) - 2 * rho_0mu * a) <= 5 * se + 1e-12)


def test_theorem7_lucky_nodes_and_inequality_17():
    """Thm 7 with leaf children (v_k = z_nu: s_k = 1/2, sigma_l = 0), K = 8, rho ~ U[0.9, 1],
    w ~ U[-sqrt(3/K), sqrt(3/K)] (sigma_w = 1):

    * the gap tilde v(1) - tilde v(0) = 2 w^T a > 0 with probability 1/2 per node (w is symmetric),
      so some node of N_mu has one with probability 1 - 2^-|N_mu| (|N_mu| = 1, 2, 5; 3000 groups,
      5 s.e.): over-parameterisation makes a selective node likely;
    * every lucky node (Eq 96, c = 1 and 1.5, where the bound (17) is positive) of 20000 sampled
      ones satisfies inequality (17), with v_j(z_mu) exact (enumerating the 2^8 children).
    """
    rng = np.random.default_rng(0)
    k = 8
    rho = rng.uniform(0.9, 1.0, k)
    tree = hltm(1, k, rho=[rho])
    s = np.full(k, 0.5)
    a = rho * s
    u_plus, u_minus = 0.5 + a, 0.5 - a
    limit = np.sqrt(3.0 / k)
    for width in (1, 2, 5):
        w = rng.uniform(-limit, limit, size=(3000, width, k))
        hit = np.any(w @ a > 0, axis=1).mean()
        expected = 1 - 2.0**-width
        assert abs(hit - expected) <= 5 * np.sqrt(expected * (1 - expected) / 3000) + 1e-12
    w = rng.uniform(-limit, limit, size=(20_000, k))
    levels, _ = enumerate_latents(tree)
    f = np.maximum(levels[-1].astype(float) @ w.T, 0.0)  # [2, C, nodes]
    v = exact_expectations(tree, f)["given_z0"]  # [2 (z_mu), nodes]
    np.testing.assert_allclose(w @ u_plus - w @ u_minus, 2 * w @ a, atol=1e-12)
    for c in (1.0, 1.5):
        lucky = lucky_nodes(w, u_plus, u_minus, sigma_w=1.0, c=c)
        assert lucky.sum() > 5 and lucky_node_bound(s, rho, sigma_w=1.0, c=c) > 0
        gap = v[1, lucky] ** 2 - v[0, lucky] ** 2
        assert np.all(gap >= lucky_node_bound(s, rho, sigma_w=1.0, c=c) - 1e-12)


def test_bad_hltm_inputs_are_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="depth"):
        hltm(0, 2, rho=0.5)
    with pytest.raises(ValueError, match="rho"):
        hltm(2, 2, rho=1.5)
    with pytest.raises(ValueError, match=r"rho\[1\]"):
        hltm(2, 2, rho=[[0.5, 0.5], [0.5, 2.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="rho_0"):
        hltm(2, 2, rho=0.5, rho_0=-1.2)
    with pytest.raises(ValueError, match="rho_mu_nu"):
        theorem6_covariance(0.5, [1.5], [0.1], 0.0)
