"""The quick-start notebook's explorer (issue 17), tested without a browser: each redraw simulates 002's
mode flow (Eqs 11-13) for the slider values, draws it over the phase portrait, and compiles nothing new."""

import logging
import sys

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ssl_odes.byol_modes import collapse_threshold  # noqa: E402
from ssl_odes.explorer import INITIAL_P0, INITIAL_S0, SLIDERS, phase_portrait_explorer, redraw_phase_portrait  # noqa: E402

T1 = 60.0  # long enough for the flows below to settle (rates ~ 0.5-2 near the fixed points)


def _trajectory_lines(ax):
    """The drawn trajectories: black lines with more than one point."""
    return [line for line in ax.lines if len(line.get_xdata()) > 1 and line.get_color() == "0.15"]


def test_redraw_draws_each_initial_condition_from_its_start_and_redraws_in_place():
    frame = redraw_phase_portrait(t1=T1)
    lines = _trajectory_lines(frame.ax)
    assert len(lines) == len(INITIAL_P0)
    starts = sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in lines)
    np.testing.assert_allclose(starts, sorted(zip(INITIAL_P0, INITIAL_S0)), rtol=0, atol=1e-12)
    again = redraw_phase_portrait(frame.ax, eta=0.05, t1=T1)  # a slider moved: cleared and drawn again
    assert again.ax is frame.ax and len(_trajectory_lines(frame.ax)) == len(INITIAL_P0)
    assert again.values == {name: spec[3] for name, spec in SLIDERS.items()} | {"eta": 0.05}
    assert r"\eta=0.05" in frame.ax.get_title()
    plt.close(frame.ax.figure)


def test_redraw_above_the_collapse_threshold_collapses_every_mode():
    """002 Sec 4 (Eq 16): above eta_c = tau^2 / (4 (1 + sigma2)) only p = 0 remains, so s -> 0.

    With beta > eta, tau settles where p = 0 in Eq 13: tau* = beta / (beta - eta) = 4/3 for
    beta = 2, eta = 0.5, so eta_c = tau*^2 / 4 = 0.44 < eta. Collapse is exponential with rate about
    2 eta = 1 in s: after t = 60, s < 1e-6 with a wide margin (the solver's atol is 1e-10).
    """
    frame = redraw_phase_portrait(beta=2.0, eta=0.5, t1=T1)
    tau_star = 2.0 / (2.0 - 0.5)
    assert float(collapse_threshold(tau_star, 0.0)) < 0.5
    np.testing.assert_allclose(np.asarray(frame.trajectories.tau)[:, -1], tau_star, rtol=1e-4)
    assert np.all(np.abs(np.asarray(frame.trajectories.s)[:, -1]) < 1e-6)
    plt.close(frame.ax.figure)


def test_redraw_without_weight_decay_settles_on_the_line_p_equals_tau_over_one_plus_sigma2():
    """002 Eqs 11-13 with eta = 0: a mode that does not collapse (s > 0) ends on p = tau / (1 + sigma2),
    where g = 0, and then Eq 13 gives tau -> 1. Tolerance 1e-3: the approach is exponential at rate
    ~ 2 p s (1 + sigma2) ~ 1 (and beta = 1 for tau), far below exp(-60) after t1 = 60 save for the
    slow modes with small s; the solver's own error is ~1e-8."""
    sigma2 = 0.5
    frame = redraw_phase_portrait(eta=0.0, beta=1.0, sigma2=sigma2, t1=T1)
    p_end, s_end, tau_end = (np.asarray(getattr(frame.trajectories, v))[:, -1] for v in ("p", "s", "tau"))
    alive = s_end > 1e-2
    assert alive.sum() >= 4  # most of Fig 3's starting points survive
    np.testing.assert_allclose(tau_end[alive], 1.0, atol=1e-3)
    np.testing.assert_allclose(p_end[alive], 1.0 / (1.0 + sigma2), atol=1e-3)
    plt.close(frame.ax.figure)


def test_moving_a_slider_compiles_nothing_new(caplog):
    """The simulator is compiled once per shape: a redraw with new values only feeds new inputs."""
    frame = redraw_phase_portrait(t1=T1)
    redraw_phase_portrait(frame.ax, eta=0.0, t1=T1)  # the eta = 0 branch classifies lines of fixed points
    with caplog.at_level(logging.WARNING, logger="jax"), jax.log_compiles(True):
        redraw_phase_portrait(frame.ax, alpha_p=2.5, beta=0.9, eta=0.0, sigma2=0.3, tau=0.7, t1=T1)
        redraw_phase_portrait(frame.ax, alpha_p=0.5, beta=1.5, eta=0.2, sigma2=1.0, tau=1.4, t1=T1)
    compiled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Compiling")]
    assert compiled == []
    plt.close(frame.ax.figure)


def test_redraw_rejects_bad_slider_values():
    with pytest.raises(ValueError, match="alpha_p"):
        redraw_phase_portrait(alpha_p=0.0)
    with pytest.raises(ValueError, match="eta"):
        redraw_phase_portrait(eta=-0.1)
    with pytest.raises(TypeError, match="beta"):
        redraw_phase_portrait(beta="fast")
    with pytest.raises(ValueError, match="p0 and s0"):
        redraw_phase_portrait(p0=np.ones((2, 2)), s0=0.5)


def test_explorer_sliders_redraw_the_portrait():
    pytest.importorskip("ipywidgets")
    box = phase_portrait_explorer(eta=0.02, t1=5.0)
    assert sorted(box.sliders) == sorted(SLIDERS) == ["alpha_p", "beta", "eta", "sigma2", "tau"]
    assert box.frame.values["eta"] == 0.02
    box.sliders["sigma2"].value = 0.5  # as if the slider were released at 0.5
    assert box.frame.values["sigma2"] == 0.5 and box.frame.values["eta"] == 0.02
    assert float(box.frame.trajectories.params["sigma2"]) == 0.5
    plt.close("all")


def test_explorer_without_ipywidgets_warns_and_draws_one_frame(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    with pytest.warns(UserWarning, match="pip install ipywidgets"):
        frame = phase_portrait_explorer(tau=0.8, t1=5.0)
    assert frame.values["tau"] == 0.8 and len(_trajectory_lines(frame.ax)) == len(INITIAL_P0)
    plt.close("all")
