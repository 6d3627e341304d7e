"""``SolveOptions``: one object for solver settings, accepted by every simulator and by ``sweep``."""

from __future__ import annotations

import diffrax
import numpy as np
import pytest

import ssl_odes
from ssl_odes import SolveOptions


def test_unset_fields_take_the_dtype_defaults_in_one_place():
    assert SolveOptions().resolve(np.float64).rtol == 1e-8
    assert SolveOptions().resolve(np.float32).atol == 1e-7
    assert SolveOptions(rtol=1e-6).resolve(np.float64).rtol == 1e-6
    assert SolveOptions().resolve(np.float32).bound == pytest.approx(float(np.finfo(np.float32).max) ** 0.25)


@pytest.mark.parametrize("field,bad,error", [
    ("rtol", -1.0, ValueError), ("atol", 0.0, ValueError), ("max_steps", 0, ValueError), ("max_steps", True, TypeError),
    ("bound", float("nan"), ValueError), ("schedule", "fastest", ValueError), ("solver", "rk4", ValueError),
    ("solver", diffrax.Kvaerno5, TypeError), ("rtol", "1e-6", TypeError),
])
def test_bad_options_are_rejected_by_name(field, bad, error):
    with pytest.raises(error, match=field):
        SolveOptions(**{field: bad})


def test_a_setting_given_twice_is_an_error_never_silently_ignored():
    with pytest.raises(ValueError, match="not both"):
        ssl_odes.simulate_byol_modes(0.5, 0.3, t1=1.0, options=SolveOptions(rtol=1e-6), rtol=1e-7)


def test_options_reach_the_result_settings_and_sweep():
    res = ssl_odes.simulate_byol_modes([0.2, 0.5], 0.3, t1=2.0, num_points=3,
                                       options=SolveOptions(solver="dopri8", rtol=1e-7, schedule="lockstep"))
    settings = res.settings_dict
    assert (settings["solver"], settings["rtol"], settings["schedule"]) == ("dopri8", 1e-7, "lockstep")
    ds = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {"p0": [0.2, 0.5]}, s0=0.3, t1=2.0, progress=False,
                        options=SolveOptions(solver="dopri8", rtol=1e-7))
    np.testing.assert_allclose(ds["p"].values, np.asarray(res.final("p")), rtol=1e-6)


def test_an_implicit_solver_integrates_a_stiff_mode_in_far_fewer_steps():
    """A SimSiam mode with a fast predictor (alpha_p = 1e3, eta = 0) is stiff near its fixed line
    p = tau/(1 + sigma2) = 1, where the fast rate is alpha_p s ~ 500. With eta = 0 the invariant of
    002 Eq 14 fixes the end state exactly: p -> 1 and s -> s0 - p0^2/alpha_p + 1/alpha_p.
    diffrax.Kvaerno5 (implicit, L-stable) gets there in a small fraction of Tsit5's steps; both
    agree with the closed form to the tolerance (rtol 1e-8: 1e-7 relative)."""
    alpha_p, s0, p0 = 1e3, 0.5, np.array([0.3, 0.6])
    kw = dict(s0=s0, alpha_p=alpha_p, simsiam=True, t1=20.0, num_points=2)
    implicit = ssl_odes.simulate_byol_modes(p0, **kw, options=SolveOptions(solver=diffrax.Kvaerno5(), rtol=1e-8,
                                                                           atol=1e-10, max_steps=100_000))
    explicit = ssl_odes.simulate_byol_modes(p0, **kw, options=SolveOptions(rtol=1e-8, atol=1e-10, max_steps=100_000))
    expected_s = s0 - p0**2 / alpha_p + 1.0 / alpha_p
    for res in (implicit, explicit):
        assert res.status_counts() == {"ok": 2}
        np.testing.assert_allclose(res.final("p"), 1.0, rtol=1e-7)
        np.testing.assert_allclose(res.final("s"), expected_s, rtol=1e-7)
    assert np.all(np.asarray(implicit.num_steps) * 10 < np.asarray(explicit.num_steps))
    assert implicit.settings_dict["solver"] == "Kvaerno5"
