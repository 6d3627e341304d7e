"""000 Table 3 in small: SimCLR (InfoNCE) on HLTM data with the tree ReLU network (float32 training).

A tiny version (depth 3, 2 epochs of 4096 samples) that must still show the table's two trends,
with a margin over 3 seeds: the correlation between the latents just below the root and their best
node rises with training, and is higher with more nodes per latent (|N_mu| = 5 against 1).
"""

import numpy as np
import pytest

from ssl_odes.dual_networks import hltm_experiment

SMALL = dict(depth=3, epochs=2, samples_per_epoch=4096, batch=64, eval_samples=2048, rho_low=0.8)


@pytest.fixture(scope="module")
def runs():
    return {(w, s): hltm_experiment(width=w, seed=s, **SMALL)["correlation"] for w in (1, 5) for s in (0, 1, 2)}


def test_table3_correlation_rises_with_training(runs):
    """Table 3, left to right: the mean over seeds of the level-1 correlation (the latents just
    below the root) after 2 epochs exceeds its initial value by a margin of 0.02 at |N_mu| = 5."""
    before = np.mean([runs[(5, s)][0, 1] for s in range(3)])
    after = np.mean([runs[(5, s)][-1, 1] for s in range(3)])
    assert after > before + 0.02


def test_table3_correlation_rises_with_over_parameterisation(runs):
    """Table 3, left table to right table: more nodes per latent give a higher correlation, at
    initialisation and after training (means over 3 seeds, margin 0.05), as Theorem 7's lucky
    nodes predict."""
    for row in (0, -1):
        one = np.mean([runs[(1, s)][row, 1] for s in range(3)])
        five = np.mean([runs[(5, s)][row, 1] for s in range(3)])
        assert five > one + 0.05


def test_hltm_experiment_rejects_bad_settings():
    with pytest.raises(ValueError, match="rho_low"):
        hltm_experiment(rho_low=1.5, epochs=1)
    with pytest.raises(ValueError, match="depth"):
        hltm_experiment(depth=0)
