"""004's training run (Sec 3.2) and what Thms 4.1/4.3, Cors 4.2/4.4 and Sec 5 say about it.

The regime (stated in notes/issue-14.md and the README): d = 32, P = 8, P0 = 3, alpha_1 = 4,
alpha_2 = 2, sigma = 1, N = 256 fresh pairs per step, eta = eta_E = 0.02, 4000 steps, seeds 0-5,
float32 (training runs). It is not the paper's asymptotic regime (alpha_1 / alpha_2 = polylog d,
d -> infinity): at d = 32 some seeds collapse with the head too (both neurons start close to v1
and learn it together) and some diversify without it. So the facts are asserted on the six seeds
together, with margins from the measured values (see each test).
"""

import numpy as np
import pytest

from ssl_odes import Status
from ssl_odes.prediction_head import (PREDICTION_HEAD, detect_phases, initial_race, optimal_loss,
                                      simulate_prediction_head)

REGIME = dict(d=32, P=8, P0=3, alpha_1=4.0, alpha_2=2.0, sigma=1.0, N=256, eta=0.02, eta_E=0.02)
SEEDS = np.arange(6)
TINY = dict(d=6, P=4, P0=2, alpha_1=2.0, alpha_2=1.0, eta=0.05, eta_E=0.05, N=16, n_eval=32)


@pytest.fixture(scope="module")
def runs():
    return {head: simulate_prediction_head(**REGIME, train_head=head, seed=SEEDS, steps=4000, save_every=25,
                                           n_eval=1024, dtype="float32")
            for head in (True, False)}


def features_learned(result):
    """Per run and neuron: 1 or 2 for the feature with |<w, v>|/||w|| > 0.5 at the end, else 0."""
    a = np.abs(np.asarray(result.alignment)[:, -1])
    return np.where(a.max(-1) > 0.5, a.argmax(-1) + 1, 0)


def test_frozen_head_stays_exactly_identity_and_the_trained_head_keeps_its_unit_diagonal():
    """Sec 3.2: with train_head=False, E = I_m exactly at every step; with the head, E_jj = 1 exactly
    while the off-diagonal moves."""
    frozen = simulate_prediction_head(**TINY, m=3, train_head=False, seed=[0, 1], steps=30, save_every=10)
    np.testing.assert_array_equal(np.asarray(frozen.E), np.broadcast_to(np.eye(3), frozen.E.shape))
    trained = simulate_prediction_head(**TINY, m=3, seed=[0, 1], steps=30, save_every=10)
    E = np.asarray(trained.E)
    np.testing.assert_array_equal(np.diagonal(E, axis1=-2, axis2=-1), 1.0)
    assert np.abs(E[:, -1] - np.eye(3)).max() > 1e-4
    assert np.all(np.asarray(trained.status) == Status.OK)


def test_a_run_is_a_function_of_its_seed_alone():
    """The step's batch is drawn from fold_in(key(seed), step): a run does not depend on its place in the
    batch (float64; only the order of floating-point reductions may differ, 1e-10)."""
    ab = simulate_prediction_head(**TINY, seed=[0, 1], steps=20, save_every=10, dtype="float64")
    ba = simulate_prediction_head(**TINY, seed=[1, 0], steps=20, save_every=10, dtype="float64")
    for name in ("alignment", "E", "corr"):
        np.testing.assert_allclose(np.asarray(getattr(ab, name))[::-1], np.asarray(getattr(ba, name)), rtol=1e-10,
                                   atol=1e-12)
    assert np.abs(np.asarray(ab.alignment)[0, -1] - np.asarray(ab.alignment)[1, -1]).max() > 1e-3


@pytest.mark.parametrize("name, change", [
    ("P0", dict(P0=5)), ("P", dict(P=1, P0=1)), ("alpha_2", dict(alpha_2=3.0)), ("eta_E", dict(eta_E=-0.1)),
    ("m", dict(m=0)), ("d", dict(d=4, m=3)), ("seed", dict(seed=0.5)), ("eta", dict(eta=0.0)),
])
def test_bad_inputs_raise_value_error_naming_the_argument(name, change):
    with pytest.raises(ValueError, match=name):
        simulate_prediction_head(**{**TINY, **change}, steps=2)


def test_with_the_head_neurons_decorrelate_and_without_it_they_collapse(runs):
    """Cor 4.2 vs Cor 4.4 on six seeds. Measured final |Corr(f1, f2)|: with the head median 0.14
    (three runs diversified, 0.004-0.2), with E = I median 1.00 (four runs with both neurons on v1).
    Asserted: median below 0.3 with the head, above 0.9 without; the head diversifies strictly more
    runs (measured 3 against 1); without the head at least 4 of 6 runs have both neurons on v1
    (measured exactly 4: seed 1 learns nothing in 4000 steps, seed 5 diversifies on its own)."""
    corr_head = np.abs(np.asarray(runs[True].corr)[:, -1])
    corr_frozen = np.abs(np.asarray(runs[False].corr)[:, -1])
    assert np.median(corr_head) < 0.3
    assert np.median(corr_frozen) > 0.9
    diverse = {head: sum(sorted(f) == [1, 2] for f in features_learned(runs[head]).tolist()) for head in runs}
    assert diverse[True] > diverse[False]
    collapsed_frozen = sum(list(f) == [1, 1] for f in features_learned(runs[False]).tolist())
    assert collapsed_frozen >= 4  # Thm 4.3: every neuron on v1 in most runs without the head
    # a collapsed run is collapsed: |Corr| near 1 (Cor 4.4)
    both_v1 = np.array([list(f) == [1, 1] for f in features_learned(runs[False]).tolist()])
    assert np.all(corr_frozen[both_v1] > 0.95)


def test_learned_neurons_reach_opt_with_and_without_the_head(runs):
    """Thms 4.1 and 4.3: each neuron that learned a feature (|<w, v>|/||w|| > 0.5; the learned neurons
    end at 0.73-0.91, the rest of w being noise weight whose cubic barely matters) ends with its term
    of Eq 3.3 on 1024 held-out pairs within 0.1 of footnote 3's OPT(P=8, P0=3) = 0.769. Measured:
    0.71-0.79. The held-out estimate has s.e. about 2/sqrt(1024) = 0.06."""
    opt = optimal_loss(REGIME["P"], REGIME["P0"])
    checked = 0
    for head in runs:
        a = np.abs(np.asarray(runs[head].alignment)[:, -1]).max(-1)  # [seed, m]
        loss = np.asarray(runs[head].loss)[:, -1]
        good = a > 0.5
        checked += int(good.sum())
        np.testing.assert_allclose(loss[good], opt, atol=0.1)
        assert np.all(loss[~good] > opt + 0.5)  # a neuron that learned nothing is far from OPT
    assert checked >= 16


def test_the_four_phases_come_in_order(runs):
    """Sec 5 on every run where the head substituted the leader's v1 into the other neuron (Lemma 5.2,
    |E_ba f_a| >= 3 |f_b| in RMS on held-out v1-samples; seed 2 here, and seed 5 in some builds, where
    T3 falls just before or after the 4000th step, so at least one run is asserted): T1 (Lemma 5.1, the
    leader reaches |<w_a, v1>|/||w_a|| >= 0.5) <= T2 <= T3 (Lemma 5.3, w_b reaches v2) <= T_end
    (Prop 5.4, ||E - I||_F back to half its peak), and the acceleration holds (|<w_b, v2>| grew
    more than |<w_b, v1>| from T2 to T3). Seed 3 diversifies another way (its second neuron starts
    with <w, v2> = 0.4 and never gets substituted): T2 is NaN there, as reported in the notes."""
    result = runs[True]
    substituted = 0
    for s in range(len(SEEDS)):
        p = detect_phases(result, index=(s,))
        if np.isnan(p.T2) or np.isnan(p.T3):
            continue
        substituted += 1
        assert p.T1 <= p.T2 <= p.T3 <= p.T_end, (s, p)
        assert p.accelerated, (s, p)
        assert p.peak_offdiag > 0.2 and p.T2 <= p.peak_time <= p.T_end, (s, p)  # ||E - I|| rises, then falls
    assert substituted >= 1


def test_the_declaration_is_registered_and_discrete():
    import ssl_odes

    assert ssl_odes.systems()["prediction_head"] is PREDICTION_HEAD
    assert PREDICTION_HEAD.discrete


def test_initial_race_reads_the_runs_own_initial_weights(runs):
    """initial_race rebuilds W(0) of each seed: its <w_j, v_l> / ||w_j|| equal the alignment the run itself
    saved at step 0 (float32 weights, so 1e-6)."""
    race = initial_race(SEEDS, d=REGIME["d"], m=2, alpha_1=REGIME["alpha_1"], alpha_2=REGIME["alpha_2"])
    saved = np.asarray(runs[True].alignment)[:, 0]  # [seed, m, 2] at t = 0
    assert float(np.asarray(runs[True].t)[0]) == 0.0
    np.testing.assert_allclose(race.overlap / race.norm[..., None], saved, atol=1e-6)
    s = REGIME["alpha_1"] ** 1.5, REGIME["alpha_2"] ** 1.5
    np.testing.assert_allclose(race.s, np.array(s) * np.abs(race.overlap) / race.norm[..., None] ** 1.5, rtol=1e-12)
    leader = race.s[..., 0].argmax(-1)
    np.testing.assert_array_equal(race.leader, leader)
    np.testing.assert_allclose(race.lead, race.s[..., 0].max(-1) / race.s[..., 0].min(-1), rtol=1e-12)  # m = 2


def test_with_e_frozen_each_neuron_learns_the_feature_it_leads_the_race_to(runs):
    """With E = I the loss separates by neuron, so each neuron learns the feature with the larger
    s_jl = alpha_l^1.5 |<w_j, v_l>| / ||w_j||^1.5 (the derived race of _race.py: tau_jl ~ s_jl^-4). On the
    six seeds every neuron that learned a feature (9 or 10 of 12: seed 1 learns nothing, and seed 5's first
    neuron, whose v2 overlap wins the race although alpha_2 = alpha_1 / 2, reaches v2 just before or just after
    the 4000th step depending on the build's float32 rounding) learned that one. Over 64 seeds
    (examples/prediction_head_conditioned.py) 37 of the 42 runs in which both neurons favour v1 collapse onto v1."""
    race = initial_race(SEEDS, d=REGIME["d"], m=2, alpha_1=REGIME["alpha_1"], alpha_2=REGIME["alpha_2"])
    learned = features_learned(runs[False])  # [seed, m]: 0 none, 1 v1, 2 v2
    favoured = race.s.argmax(-1) + 1
    assert int((learned > 0).sum()) >= 9
    np.testing.assert_array_equal(learned[learned > 0], favoured[learned > 0])
    assert not race.all_prefer_v1[5] and favoured[5].tolist() == [2, 1] and learned[5, 1] == 1


@pytest.mark.parametrize("change, kind, name", [
    (dict(seed=True), TypeError, "seed"), (dict(seed=-1), ValueError, "seed"), (dict(seed=[0, 0.5]), ValueError, "seed"),
    (dict(d=3), ValueError, "d"), (dict(m=0), ValueError, "m"), (dict(alpha_2=5.0), ValueError, "alpha_2"),
    (dict(alpha_1=0.0), ValueError, "alpha_1"), (dict(alpha_1=[4.0, 5.0]), ValueError, "alpha_1"),
])
def test_initial_race_rejects_bad_inputs_naming_them(change, kind, name):
    kwargs = {"seed": 0, "d": 32, "m": 2, "alpha_1": 4.0, "alpha_2": 2.0, **change}
    with pytest.raises(kind, match=name):
        initial_race(kwargs.pop("seed"), **kwargs)
