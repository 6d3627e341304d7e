"""004 Fig 1's head in the empirical companion: E = I with only its off-diagonal trained."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")

from ssl_odes.empirical import data, records, train  # noqa: E402
from ssl_odes.empirical.config import TrainConfig  # noqa: E402
from ssl_odes.empirical.predictors import IdentityHeadPredictor, identity_head_matrix  # noqa: E402


def test_identity_head_starts_at_identity_and_its_diagonal_never_moves():
    """004 Sec 3.1 / Fig 1: E(0) = I; the gradient of the head parameter vanishes on the diagonal."""
    head = IdentityHeadPredictor(dtype=jnp.float64, param_dtype=jnp.float64)
    f = jax.random.normal(jax.random.key(0), (5, 3), jnp.float64)
    variables = head.init(jax.random.key(1), f)
    np.testing.assert_array_equal(head.apply(variables, f), f)
    target = jax.random.normal(jax.random.key(2), (5, 3), jnp.float64)
    grad = jax.grad(lambda v: jnp.sum((head.apply(v, f) - target) ** 2))(variables)["params"]["offdiag"]
    assert np.all(np.diag(grad) == 0) and np.all(np.abs(grad[~np.eye(3, dtype=bool)]) > 0)
    E = identity_head_matrix(jnp.full((3, 3), 0.3))
    np.testing.assert_array_equal(np.diag(E), 1.0)


def test_a_digits_run_with_the_identity_head_records_the_head_off_diagonal_and_asymmetry():
    """A few SimSiam steps on digits: E keeps a unit diagonal, ||offdiag(E)||_F starts at 0 and moves,
    both norms are recorded and read back by records_to_xarray."""
    config = TrainConfig(method="simsiam", predictor="identity_head", width=4, batch_size=32, steps=4, log_every=2)
    result = train(config, dataset=data.load_digits(), evaluate_probes=False)
    E = identity_head_matrix(result.state.params["predictor"]["offdiag"])
    np.testing.assert_array_equal(np.diag(np.asarray(E)), 1.0)
    spectra = [r for r in result.records if r["kind"] == "spectra"]
    assert spectra[0]["offdiag_norm"] == 0.0 and spectra[0]["head_asymmetry"] == 0.0
    assert spectra[-1]["offdiag_norm"] > 0.0
    ds = records.records_to_xarray(result.records)
    assert ds.offdiag_norm.shape == (3,) and ds.head_asymmetry.shape == (3,)


def test_identity_head_is_a_config_choice():
    assert TrainConfig(predictor="identity_head").predictor == "identity_head"
    with pytest.raises(ValueError, match="predictor"):
        TrainConfig(predictor="identity")
