"""001 Sec 5 / App. E.2: the token-generator experiment, small versions (float32 training)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_odes.contrastive import (
    TokenConfig,
    TokenNetwork,
    matching_scores,
    quadratic_contrastive_loss,
    sample_token_views,
    token_data,
    token_experiment,
    token_sweep,
)

SMALL = dict(P=3, beta=2, steps=400, num_generators=10, num_fields=4, num_tokens=10, fixed_fields=2, batch_size=64,
             lr=0.1)


def test_relu_matches_more_candidate_tokens_than_linear_at_p_above_1():
    """Fig 4 (P > 1): ReLU's chi_+ is above linear's, seed by seed, by more than 0.05 (and by 0.1 on average).

    A small version (4 RFs, 10 tokens, 10 generators, 400 SGD steps at lr 0.1): linear filters of a
    field move together (Theorem 4), so they cannot match P = 3 distinct tokens; ReLU filters specialise.
    Measured while writing the test: linear 0.64 / 0.72 / 0.61, ReLU 0.83 / 0.83 / 0.83 (seeds 0-2)."""
    linear, relu = token_sweep([TokenConfig(activation=a, **SMALL) for a in ("linear", "relu")], seeds=[0, 1, 2])
    margin = relu.chi_plus - linear.chi_plus
    assert np.all(margin > 0.05), margin
    assert margin.mean() > 0.1
    assert np.all(np.abs(relu.chi_minus) < 1.0) and np.all(np.isfinite(relu.chi_minus))


def test_token_data_follows_the_generator_construction():
    """Sec 5: every generator fixes exactly `fixed_fields` RFs, each to a candidate of that RF; the second view
    shares the fixed tokens (another sequence of the same generator); token norms follow the zeta split."""
    config = TokenConfig(P=3, num_generators=12, num_fields=6, num_tokens=8, fixed_fields=4, zeta=3.0)
    data = token_data(5, config)
    assert np.all(data["fixed"].sum(axis=1) == 4)
    for g, k in zip(*np.nonzero(data["fixed"])):
        assert data["generator_tokens"][g, k] in data["candidates"][k]
    norms = np.linalg.norm(data["embeddings"], axis=1)
    np.testing.assert_allclose(norms, [1 / 3] * 4 + [3] * 4, rtol=1e-6)
    unit = data["embeddings"] / norms[:, None]
    np.testing.assert_allclose(unit @ unit.T, np.eye(8), atol=1e-6)
    x1, x2 = sample_token_views(jax.random.PRNGKey(0), {k: jnp.asarray(v) for k, v in data.items()}, 256)
    same = np.all(np.isclose(x1, x2), axis=-1)  # [N, K]: RFs where the two views agree
    fixed_count = same.sum(axis=1)
    assert np.all(fixed_count >= 4)  # at least the generator's fixed RFs agree


def test_matching_scores_are_one_for_filters_on_the_candidates():
    """Eq 16: filters equal to the candidate embeddings give chi_+ = 1; Eq 181 (as a mean) gives chi_- = 0
    for orthonormal embeddings."""
    config = TokenConfig(P=3, beta=1, num_fields=5, num_tokens=9, fixed_fields=2)
    data = token_data(1, config)
    W = data["embeddings"][data["candidates"]] * 2.0  # [K, M = P, d], any scale
    chi_plus, chi_minus = matching_scores(jnp.asarray(W), {k: jnp.asarray(v) for k, v in data.items()})
    np.testing.assert_allclose(chi_plus, 1.0, rtol=1e-6)
    np.testing.assert_allclose(chi_minus, 0.0, atol=1e-6)


def test_batchnorm_variants_share_the_forward_pass_and_differ_in_gradient():
    """App. E.2: the four BatchNorm variants have the same output; stop-gradient on sigma changes the gradient."""
    net = TokenNetwork(num_fields=2, filters=3, output_dim=4)
    x = jax.random.normal(jax.random.PRNGKey(0), (16, 2, 5))
    params = net.init(jax.random.PRNGKey(1), x, 1, 1.0, 1.0, 0.0)
    outs = [net.apply(params, x, 1, 1.0, m, v) for m in (0.0, 1.0) for v in (0.0, 1.0)]
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=1e-6)

    def loss(p, m, v):
        return quadratic_contrastive_loss(net.apply(p, x[:8], 1, 1.0, m, v), net.apply(p, x[8:], 1, 1.0, m, v))

    g_def5 = jax.grad(loss)(params, 1.0, 0.0)["params"]["W"]
    g_vanilla = jax.grad(loss)(params, 1.0, 1.0)["params"]["W"]
    assert float(jnp.max(jnp.abs(g_def5 - g_vanilla))) > 1e-4 * float(jnp.max(jnp.abs(g_vanilla)))


def test_token_experiment_rejects_bad_settings():
    """P > d, fixed_fields > K, M or K < 1 and unknown names raise errors naming the argument."""
    with pytest.raises(ValueError, match="P"):
        token_experiment(P=21)
    with pytest.raises(ValueError, match="fixed_fields"):
        token_experiment(P=3, num_fields=4, fixed_fields=5)
    with pytest.raises(ValueError, match="beta"):
        token_experiment(P=3, beta=0)
    with pytest.raises(ValueError, match="num_fields"):
        token_experiment(P=3, num_fields=0)
    with pytest.raises(ValueError, match="activation"):
        token_experiment(P=3, activation="tanh")
    with pytest.raises(TypeError, match="unknown setting"):
        token_experiment(P=3, gamma=1.0)
