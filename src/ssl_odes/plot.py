"""Plots of the papers' figures. Plots take parameters or a result object; they never simulate.

* :func:`plot_phase_portrait` -- 002 Fig 3: the ``(p, s)`` plane at fixed ``tau`` with flow lines,
  nullclines, fixed points coloured by their Jacobian stability and the invariant parabola.
* :func:`plot_p_dynamics` -- 002 Fig 4: ``dp/dt`` on the invariant parabola (Eq 16).
* :func:`plot_modes` -- ``p``, ``s``, ``tau`` of a :class:`~ssl_odes.Trajectory` against time.
* :func:`plot_training_spectra` -- 002 Fig 2 from a training run's records (the empirical companion).

Colours follow the papers: stable fixed points red, unstable green, saddles black.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import _params
from .byol._modes import (
    PhasePlaneParameters,
    classify_parabola_fixed_point,
    fixed_points,
    mode_rates,
    p_dynamics_on_parabola,
    phase_plane_fixed_points,
    phase_plane_vector_field,
)
from ._core.stability import classify_fixed_point
from ._core.trajectory import Trajectory

__all__ = ["plot_phase_portrait", "plot_p_dynamics", "plot_modes", "plot_training_spectra", "STABILITY_COLOURS"]

STABILITY_COLOURS = {"stable": "tab:red", "unstable": "tab:green", "saddle": "black", "degenerate": "grey"}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4.5))
    return ax


def _check_range(name: str, value: Sequence[float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in _params.check_real(name, value).reshape(-1)[:2])
    if np.size(value) != 2 or not lo < hi:
        raise ValueError(f"{name} must be (low, high) with low < high; got {name}={value!r}")
    return lo, hi


def plot_phase_portrait(
    ax: Any = None,
    *,
    tau: float = 1.0,
    alpha_p: float = 1.0,
    eta: float = 0.0,
    sigma2: float = 0.0,
    p_range: Sequence[float] = (-0.6, 1.6),
    s_range: Sequence[float] = (0.0, 1.6),
    trajectories: Trajectory | None = None,
    grid_size: int = 200,
    legend: bool = True,
    flow: str = "stream",
    line_points: int = 160,
):
    """Draw the ``(p, s)`` phase portrait of Eqs 11-12 at fixed ``tau`` (002 Fig 3).

    Flow lines (blue; ``flow="arrows"``: unit arrows of the flow's direction on the grid, about
    ten times faster to draw than matplotlib's streamlines, for interactive use), nullclines ``dp/dt = 0`` (orange) and ``ds/dt = 0`` (purple), the dashed
    invariant parabola ``s = p^2 / alpha_p``, and fixed points coloured by
    :func:`~ssl_odes.byol_modes.classify_mode_fixed_point`. With ``eta = 0`` the fixed points are
    the lines ``s = 0`` and ``p = tau / (1 + sigma2)``, coloured point by point by their
    transverse stability. ``trajectories`` (any result with ``p`` and ``s``) are overlaid in
    black, their starts marked. ``line_points``: points classified along the line ``s = 0`` at
    ``eta = 0`` (5/8 as many on ``p = tau / (1 + sigma2)``).

    Returns the matplotlib axes.
    """
    values = _params.check_parameters(alpha_p=alpha_p, eta=eta, sigma2=sigma2, tau=tau)
    alpha_p, eta, sigma2, tau = (float(values[k]) for k in ("alpha_p", "eta", "sigma2", "tau"))
    p_lo, p_hi = _check_range("p_range", p_range)
    s_lo, s_hi = _check_range("s_range", s_range)
    grid_size = _params.check_integer("grid_size", grid_size, 10)
    flow = _params.check_choice("flow", flow, ("stream", "arrows"))
    line_points = _params.check_integer("line_points", line_points, 2)
    ax = _axes(ax)

    p_grid, s_grid = np.meshgrid(np.linspace(p_lo, p_hi, grid_size), np.linspace(s_lo, s_hi, grid_size))
    dp, ds = (np.asarray(v) for v in mode_rates(p_grid, s_grid, tau, alpha_p, eta, sigma2))
    speed = np.hypot(dp, ds)
    if flow == "stream":
        ax.streamplot(
            p_grid, s_grid, dp, ds, color="tab:blue", density=1.1, linewidth=0.5 + 1.0 * speed / (speed.max() + 1e-300),
            arrowsize=0.8,
        )
    else:
        unit = np.where(speed > 0, speed, 1.0)
        ax.quiver(p_grid, s_grid, dp / unit, ds / unit, color="tab:blue", alpha=0.6, angles="xy", pivot="mid",
                  scale=1.6 * grid_size, width=0.003)
    ax.contour(p_grid, s_grid, dp, levels=[0.0], colors="tab:orange", linewidths=1.2)
    ax.contour(p_grid, s_grid, ds, levels=[0.0], colors="tab:purple", linewidths=1.2)
    p_line = np.linspace(p_lo, p_hi, 400)
    ax.plot(p_line, p_line**2 / alpha_p, "k--", lw=1.2, label=r"$s = p^2/\alpha_p$")

    # classify_mode_fixed_point's computation on the compiled field (the parameters are checked above).
    plane = PhasePlaneParameters(*(jnp.asarray(v, jnp.result_type(float)) for v in (alpha_p, eta, sigma2, tau)))

    def classify(p, s):
        return classify_fixed_point(_compiled_plane_field(), jnp.asarray([p, s], jnp.result_type(float)), plane).label

    if eta == 0.0:
        # Lines of fixed points: s = 0 (collapsed) and p = tau / (1 + sigma2).
        p_star = tau / (1.0 + sigma2)
        for p_val in np.linspace(p_lo, p_hi, line_points):
            label = classify(p_val, 0.0)
            if label != "degenerate":
                ax.plot(p_val, 0.0, "s", ms=3, color=STABILITY_COLOURS[label], zorder=4)
        for s_val in np.linspace(max(s_lo, 1e-3), s_hi, max(2, line_points * 5 // 8)):
            ax.plot(p_star, s_val, "s", ms=3, color=STABILITY_COLOURS[classify(p_star, s_val)], zorder=4)
    else:
        for name, (p_val, s_val) in phase_plane_fixed_points(tau, alpha_p, eta, sigma2).items():
            if np.isfinite(p_val):
                label = classify(float(p_val), float(s_val))
                ax.plot(float(p_val), float(s_val), "o", ms=9, mec="k", color=STABILITY_COLOURS[label], zorder=5)

    if trajectories is not None:
        p_traj = np.asarray(trajectories.p).reshape(-1, len(trajectories.t))
        s_traj = np.asarray(trajectories.s).reshape(-1, len(trajectories.t))
        for p_one, s_one in zip(p_traj, s_traj):
            ax.plot(p_one, s_one, color="0.15", lw=1.6, zorder=6)
            ax.plot(p_one[0], s_one[0], "o", color="0.15", ms=4, zorder=6)

    if legend:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color="tab:blue", label="flow"),
            Line2D([], [], color="tab:orange", label=r"$\dot p = 0$"),
            Line2D([], [], color="tab:purple", label=r"$\dot s = 0$"),
            Line2D([], [], color="k", ls="--", label=r"$s = p^2/\alpha_p$"),
        ] + [
            Line2D([], [], marker="o", ls="", color=colour, mec="k", label=label)
            for label, colour in STABILITY_COLOURS.items()
            if label != "degenerate"
        ]
        ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_xlim(p_lo, p_hi)
    ax.set_ylim(s_lo, s_hi)
    ax.set_xlabel(r"$p_j$")
    ax.set_ylabel(r"$s_j$")
    ax.set_title(rf"$\eta = {eta:g}$, $\tau = {tau:g}$, $\alpha_p = {alpha_p:g}$")
    return ax


@functools.lru_cache(maxsize=None)
def _compiled_plane_field():
    """Eqs 11-12 compiled once: a Jacobian through it is one cached call, not op-by-op dispatch."""
    return jax.jit(phase_plane_vector_field)


def plot_p_dynamics(
    ax: Any = None,
    *,
    tau: float = 1.0,
    eta: float = 0.0,
    sigma2: float = 0.0,
    p_range: Sequence[float] = (-0.2, 1.1),
):
    """Draw ``dp/dt = p^2 (tau - (1 + sigma2) p) - eta p`` (002 Eq 16, Fig 4) and its fixed points.

    Fixed points ``0, p*_-, p*_+`` are coloured by
    :func:`~ssl_odes.byol_modes.classify_parabola_fixed_point`. Returns the axes.
    """
    values = _params.check_parameters(eta=eta, sigma2=sigma2, tau=tau)
    eta, sigma2, tau = (float(values[k]) for k in ("eta", "sigma2", "tau"))
    p_lo, p_hi = _check_range("p_range", p_range)
    ax = _axes(ax)
    p = np.linspace(p_lo, p_hi, 600)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.plot(p, np.asarray(p_dynamics_on_parabola(p, tau, eta, sigma2)), color="tab:blue", lw=2)
    p_minus, p_plus = (float(v) for v in fixed_points(tau, eta, sigma2))
    for name, p_star in (("0", 0.0), ("-", p_minus), ("+", p_plus)):
        if np.isfinite(p_star) and (name == "0" or abs(p_star) > 1e-12):
            label = classify_parabola_fixed_point(p_star, tau, eta, sigma2)
            ax.plot(p_star, 0.0, "o", ms=10, mec="k", color=STABILITY_COLOURS[label], zorder=5)
            if name != "0":
                ax.annotate(rf"$p^*_{{{name}}}$", (p_star, 0.0), textcoords="offset points", xytext=(0, 10), ha="center")
    ax.set_xlim(p_lo, p_hi)
    ax.set_xlabel(r"$p_j$")
    ax.set_ylabel(r"$\dot p_j$")
    ax.set_title(rf"$\eta = {eta:g}$ (threshold $\tau^2/4(1+\sigma^2) = {tau**2 / (4 * (1 + sigma2)):g}$)")
    return ax


def plot_modes(result: Trajectory, axes: Any = None, variables: Sequence[str] = ("p", "s", "tau")):
    """Plot variables of a result against time, one panel per variable, one line per trajectory."""
    if not isinstance(result, Trajectory):
        raise ValueError(f"result must be a ssl_odes.Trajectory; got {type(result).__name__}")
    missing = [v for v in variables if v not in result.variables]
    if missing:
        raise ValueError(f"variables {missing} not in this result; it has {sorted(result.variables)}")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.2), squeeze=False)
        axes = axes[0]
    t = np.asarray(result.t)
    for ax, name in zip(axes, variables):
        values = np.asarray(result.variables[name]).reshape(-1, len(t))
        ax.plot(t, values.T, lw=1.2)
        ax.set_xlabel("t  (= lr x step)")
        ax.set_ylabel(name)
    return axes


def plot_training_spectra(records: Any, axes: Any = None, *, max_modes: int | None = None):
    """002 Fig 2 from a training run's records (:mod:`ssl_odes.empirical.records`; no flax needed).

    Four panels against the training step: ``log s_j`` (eigenvalues of ``F``), the predictor's
    ``p_j = u_j^T Wp u_j``, the alignment ``cos(u_j, Wp u_j)`` and the asymmetry
    ``||Wp - Wp^T|| / ||Wp||``; one line per mode, darker = larger ``s_j``. ``records`` is a
    records file, the list of records or their ``xarray.Dataset``. Returns the axes.
    """
    from .empirical.records import as_dataset

    ds = as_dataset(records)
    steps = np.asarray(ds["step"].values)
    names = [n for n in ("s", "p", "alignment", "asymmetry") if n in ds]
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
        axes = axes[0]
    import matplotlib.pyplot as plt

    for ax, name in zip(axes, names):
        values = np.asarray(ds[name].values)
        if values.ndim == 1:
            ax.plot(steps, values, color="k", lw=1.5)
        else:
            modes = values.shape[1] if max_modes is None else min(max_modes, values.shape[1])
            colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, modes))
            for j in range(modes):
                y = np.log(np.maximum(values[:, j], 1e-12)) if name == "s" else values[:, j]
                ax.plot(steps, y, color=colours[j], lw=1.0)
        ax.set_xlabel("step")
        ax.set_ylabel({"s": r"$\log s_j$", "p": r"$p_j = u_j^T W_p u_j$", "alignment": r"$\cos(u_j, W_p u_j)$",
                       "asymmetry": r"$\|W_p - W_p^T\| / \|W_p\|$"}[name])
    return axes
