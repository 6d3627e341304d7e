"""000 Table 3 in small: SimCLR (InfoNCE) on HLTM data with the tree ReLU network (float32 training).

A tiny version (depth 3, 2 epochs of 4096 samples) that must still show the table's two trends,
with a margin over 3 seeds: the correlation between the latents just below the root and their best
node rises with training, and is higher with more nodes per latent (|N_mu| = 5 against 1).
Then the authors' loss (-sigmoid((N - P)/tau), against a hand computation), signed polarities,
a tiny run with the authors' settings, and the checks of the settings.
"""

import math

import numpy as np
import pytest

from ssl_odes.dual_networks import HLTMExperimentConfig, hltm_experiment

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


def test_authors_loss_on_a_hand_built_batch():
    """loss="authors" is the authors' code: P, N = MSE over batch and dims of (f, f+), (f, f-), and
    loss = -exp(-P/tau) / (exp(-P/tau) + exp(-N/tau)), here computed by hand: per-row squared
    distances to f+ are 0.8 and 0 (P = 0.8 / 4 = 0.2), to f- are 2 and 2 (N = 4 / 4 = 1)."""
    from ssl_odes.dual_networks._hltm_experiment import simclr_loss

    f = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    f_pos = np.array([[0.6, 0.8], [0.0, 1.0]], np.float32)
    f_neg = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    tau = 0.5
    p, n = 0.2, 1.0
    expected = -math.exp(-p / tau) / (math.exp(-p / tau) + math.exp(-n / tau))  # = -0.8320
    got = float(simclr_loss(f, f_pos, f_neg, tau, loss="authors"))
    assert got == pytest.approx(expected, rel=1e-6)


def test_signed_polarities_flip_signs_and_keep_magnitudes():
    from ssl_odes.dual_networks._hltm_experiment import _tree

    plain = _tree(HLTMExperimentConfig(seed=3))
    signed = _tree(HLTMExperimentConfig(seed=3, signed_polarity=True))
    rho, rho_signed = np.concatenate(plain.rho), np.concatenate(signed.rho)
    np.testing.assert_array_equal(np.abs(rho_signed), rho)
    assert (rho_signed < 0).any() and (rho_signed > 0).any()


def test_tiny_run_with_the_authors_loss_is_finite():
    out = hltm_experiment(depth=3, width=2, epochs=1, samples_per_epoch=512, batch=64, eval_samples=256,
                          loss="authors", tau=0.01, signed_polarity=True, norm_eps=1e-4, seed=1)
    assert out["correlation"].shape == (2, 3)
    assert np.all(np.isfinite(out["correlation"])) and np.all(np.isfinite(out["loss"]))
    assert -1.0 <= out["loss"][0] <= 0.0  # minus a probability


@pytest.mark.parametrize("field, value, error", [
    ("loss", "nce", ValueError), ("loss", None, TypeError), ("loss", 1, TypeError),
    ("signed_polarity", 1, TypeError), ("signed_polarity", "yes", TypeError),
    ("bias", 0, TypeError),
    ("norm_eps", 0.0, ValueError), ("norm_eps", -1e-4, ValueError), ("norm_eps", math.nan, ValueError),
    ("norm_eps", True, TypeError), ("norm_eps", "1e-4", TypeError),
    ("tau", 0.0, ValueError), ("tau", True, TypeError),
])
def test_hltm_experiment_rejects_bad_new_settings(field, value, error):
    """The errors name the field and the value (and, for values, what is allowed)."""
    with pytest.raises(error, match=field) as info:
        HLTMExperimentConfig(**{field: value}).validated()
    assert repr(value) in str(info.value)
    if field == "loss" and error is ValueError:
        assert "'infonce'" in str(info.value) and "'authors'" in str(info.value)
