"""Result objects (indexing, xarray) and the figures of 002 Fig 3 / Fig 4."""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import ssl_odes  # noqa: E402
from ssl_odes.byol_modes import fixed_points  # noqa: E402
from ssl_odes.plot import STABILITY_COLOURS, plot_modes, plot_p_dynamics, plot_phase_portrait  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_indexing_selects_batch_entries_with_their_parameters():
    res = ssl_odes.simulate_byol_modes(np.array([0.2, 0.4, 0.6])[:, None], 0.5, eta=[0.0, 0.1], t1=2.0, num_points=5)
    row = res[1]
    assert row.batch_shape == (2,) and row.p.shape == (2, 5)
    np.testing.assert_array_equal(row.p0, [0.4, 0.4])
    np.testing.assert_array_equal(row.eta, [0.0, 0.1])
    np.testing.assert_array_equal(res[:, 1].s, res.s[:, 1])
    with pytest.raises(ValueError, match="too many indices"):
        res[0, 0, 0]


def _marker_colours(ax):
    """(x, y, colour) of the single-point markers drawn on an axes."""
    out = []
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        if len(np.atleast_1d(x)) == 1 and line.get_marker() in ("o", "s"):
            out.append((float(np.atleast_1d(x)[0]), float(np.atleast_1d(y)[0]), line.get_color()))
    return out


def test_phase_portrait_colours_fixed_points_by_stability():
    """Fig 3 middle (eta = 0.01): red origin, black saddle at p*_-, red p*_+ on the parabola."""
    fig, ax = plt.subplots()
    plot_phase_portrait(ax, eta=0.01)
    p_minus, p_plus = (float(v) for v in fixed_points(1.0, 0.01, 0.0))
    markers = {(round(x, 6), round(y, 6)): c for x, y, c in _marker_colours(ax)}
    assert markers[(0.0, 0.0)] == STABILITY_COLOURS["stable"]
    assert markers[(round(p_minus, 6), round(p_minus**2, 6))] == STABILITY_COLOURS["saddle"]
    assert markers[(round(p_plus, 6), round(p_plus**2, 6))] == STABILITY_COLOURS["stable"]
    plt.close(fig)


def test_phase_portrait_lines_of_fixed_points_without_weight_decay():
    """Fig 3 left: the collapsed line s = 0 is green (unstable) exactly on 0 < p < 1 at tau = 1."""
    fig, ax = plt.subplots()
    plot_phase_portrait(ax, eta=0.0)
    on_axis = [(x, c) for x, y, c in _marker_colours(ax) if y == 0.0]
    assert on_axis
    for x, colour in on_axis:
        expected = "unstable" if 0 < x < 1 else "stable"
        assert colour == STABILITY_COLOURS[expected], x
    plt.close(fig)


def test_p_dynamics_marks_three_fixed_points_below_threshold():
    fig, ax = plt.subplots()
    plot_p_dynamics(ax, eta=0.1)
    colours = sorted(c for _, _, c in _marker_colours(ax))
    assert colours == sorted([STABILITY_COLOURS["stable"], STABILITY_COLOURS["unstable"], STABILITY_COLOURS["stable"]])
    plt.close(fig)


def test_plot_validation():
    with pytest.raises(ValueError, match="p_range must be \\(low, high\\) with low < high"):
        plot_phase_portrait(p_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="eta must satisfy eta >= 0"):
        plot_p_dynamics(eta=-1.0)
    with pytest.raises(ValueError, match="result must be a ssl_odes.Trajectory"):
        plot_modes({"p": 1})


@pytest.mark.parametrize("script", ["fig3_phase_portraits.py", "fig4_p_dynamics.py"])
def test_examples_write_their_figures(script, tmp_path):
    out = tmp_path / "figure.png"
    namespace = runpy.run_path(str(EXAMPLES / script), run_name="example")
    namespace["main"](out)
    assert out.stat().st_size > 50_000  # a three-panel figure, not an empty canvas
    plt.close("all")


def test_cli_modes_writes_a_plot_and_rejects_bad_values(tmp_path):
    from typer.testing import CliRunner

    from ssl_odes.cli import app

    runner = CliRunner()
    out = tmp_path / "modes.png"
    result = runner.invoke(app, ["modes", "--p0", "0.1", "--p0", "0.6", "--s0", "0.3", "--eta", "0.01", "--simsiam",
                                 "--t1", "20", "--num-points", "51", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "status {'ok': 2}" in result.output and out.stat().st_size > 10_000
    bad = runner.invoke(app, ["modes", "--alpha-p", "-1", "--out", str(out)])
    assert bad.exit_code == 2 and "alpha_p must satisfy alpha_p > 0; got alpha_p=-1.0" in bad.output
    assert "Simulate the decoupled" in runner.invoke(app, ["modes", "--help"]).output
