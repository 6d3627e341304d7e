r"""An interactive explorer of 002's phase portrait: sliders for ``alpha_p``, ``beta``, ``eta``, ``sigma2``, ``tau``.

Each frame (:func:`redraw_phase_portrait`) draws the ``(p, s)`` plane of Eqs 11-12 at fixed
``tau`` (:func:`ssl_odes.plot.plot_phase_portrait`: flow direction, nullclines, the invariant
parabola ``s = p^2 / alpha_p`` and fixed points coloured by stability) and, over it, trajectories
of the full BYOL mode flow (Eqs 11-13, :func:`ssl_odes.simulate_byol_modes`) started at
``tau(0) = tau`` with EMA rate ``beta``, projected onto ``(p, s)``:

.. math::

    \dot p = \alpha_p s g - \eta p,\quad \dot s = 2 p s g - 2 \eta s,\quad
    \dot\tau = \beta (1 - \tau) - \tau (p g - \eta),\quad g = \tau - (1 + \sigma^2) p.

The background is a slice at the slider's ``tau``; the trajectories carry their own ``tau(t)``
(the title gives its range at the end), so they cross the background's flow lines where ``tau``
has moved. With ``beta = 0`` and ``tau = 1`` they stay on the slice (SimSiam's plane).

Each redraw is fast: the simulator's compiled program is cached by shape, so moving a slider
changes only the values fed to it (no recompilation), and the background uses unit arrows and
a compiled Jacobian for the fixed points (:func:`~ssl_odes.plot.plot_phase_portrait` with
``flow="arrows"``).

:func:`phase_portrait_explorer` wraps the redraw in ipywidgets sliders for a notebook. Without
ipywidgets installed it warns and draws one static frame.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> frame = redraw_phase_portrait(eta=0.01, t1=5.0)
    >>> frame.trajectories.batch_shape, sorted(frame.values)
    ((6,), ['alpha_p', 'beta', 'eta', 'sigma2', 'tau'])
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from . import _params
from ._core.trajectory import Trajectory
from .byol._modes import simulate_byol_modes
from .plot import plot_phase_portrait

__all__ = ["SLIDERS", "INITIAL_P0", "INITIAL_S0", "PortraitFrame", "redraw_phase_portrait", "phase_portrait_explorer"]

#: Slider ranges ``name: (low, high, step, default)``; the defaults are 002 Fig 3 (middle) with BYOL's EMA.
SLIDERS: dict[str, tuple[float, float, float, float]] = {
    "alpha_p": (0.1, 4.0, 0.05, 1.0),
    "beta": (0.0, 2.0, 0.05, 0.4),
    "eta": (0.0, 0.5, 0.005, 0.01),
    "sigma2": (0.0, 2.0, 0.05, 0.0),
    "tau": (0.0, 2.0, 0.05, 1.0),
}

#: Initial ``(p_j(0), s_j(0))`` of the drawn trajectories (those of ``examples/fig3_phase_portraits.py``).
INITIAL_P0 = (-0.4, 0.05, 0.3, 1.4, 0.6, -0.2)
INITIAL_S0 = (0.5, 0.9, 0.05, 0.4, 1.3, 1.2)


class PortraitFrame(NamedTuple):
    """One drawn frame: the axes, the simulated trajectories drawn on it, and the parameter values."""

    ax: Any
    trajectories: Trajectory
    values: dict[str, float]


def redraw_phase_portrait(
    ax: Any = None,
    *,
    alpha_p: float = SLIDERS["alpha_p"][3],
    beta: float = SLIDERS["beta"][3],
    eta: float = SLIDERS["eta"][3],
    sigma2: float = SLIDERS["sigma2"][3],
    tau: float = SLIDERS["tau"][3],
    p0: Any = INITIAL_P0,
    s0: Any = INITIAL_S0,
    t1: float = 30.0,
    num_points: int = 301,
    grid_size: int = 25,
    line_points: int = 40,
    p_range: tuple[float, float] = (-0.6, 1.6),
    s_range: tuple[float, float] = (0.0, 1.6),
) -> PortraitFrame:
    """Clear ``ax`` (a new figure if ``None``) and draw one frame of the explorer (see the module doc).

    Args:
        ax: matplotlib axes to draw on; cleared first, so a slider callback can redraw in place.
        alpha_p: predictor learning-rate ratio (``> 0``).
        beta: EMA rate ``(1 - gamma_ema) / lr`` of the trajectories' ``tau(t)`` (``>= 0``).
        eta: weight decay / lr (``>= 0``).
        sigma2: isotropic augmentation variance (``>= 0``).
        tau: the slice of the background and the trajectories' ``tau(0)`` (any real).
        p0, s0: initial conditions of the trajectories (1-D, broadcast together; ``s0 >= 0``).
        t1: integration time (gradient-flow time ``lr x step``).
        num_points: output points per trajectory.
        grid_size, line_points, p_range, s_range: as for :func:`ssl_odes.plot.plot_phase_portrait`.

    Returns:
        :class:`PortraitFrame` ``(ax, trajectories, values)``.
    """
    values = {name: float(_params.check_scalar(name, value)) for name, value in
              dict(alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2, tau=tau).items()}
    p0, s0 = (np.atleast_1d(_params.check_real(name, value)) for name, value in (("p0", p0), ("s0", s0)))
    if p0.ndim > 1 or s0.ndim > 1:
        raise ValueError(f"p0 and s0 must be scalars or 1-D; got shapes {p0.shape} and {s0.shape}")
    trajectories = simulate_byol_modes(
        p0, s0, tau0=values["tau"],
        alpha_p=values["alpha_p"], beta=values["beta"], eta=values["eta"], sigma2=values["sigma2"], t1=t1,
        num_points=num_points,
    )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 5))
    else:
        ax.clear()
    plot_phase_portrait(ax, tau=values["tau"], alpha_p=values["alpha_p"], eta=values["eta"], sigma2=values["sigma2"],
                        p_range=p_range, s_range=s_range, trajectories=trajectories, grid_size=grid_size,
                        flow="arrows", line_points=line_points)
    for p_end, s_end in zip(np.asarray(trajectories.p)[:, -1], np.asarray(trajectories.s)[:, -1]):
        ax.plot(p_end, s_end, marker=">", ls="", color="0.15", ms=5, zorder=7)
    tau_end = np.asarray(trajectories.tau)[:, -1]
    counts = trajectories.status_counts()
    status = "" if set(counts) == {"ok"} else f"  status {counts}"
    tau_text = f"[{np.nanmin(tau_end):.3g}, {np.nanmax(tau_end):.3g}]" if np.isfinite(tau_end).any() else "nan"
    ax.set_title(rf"$\alpha_p={values['alpha_p']:g}$, $\beta={values['beta']:g}$, $\eta={values['eta']:g}$, "
                 rf"$\sigma^2={values['sigma2']:g}$, $\tau={values['tau']:g}$" + "\n"
                 + rf"background: $\tau$ fixed; curves: BYOL flow, $\tau(t_1) \in$ {tau_text}{status}", fontsize=9)
    return PortraitFrame(ax, trajectories, values)


def phase_portrait_explorer(**values: Any):
    """Sliders for ``alpha_p``, ``beta``, ``eta``, ``sigma2``, ``tau`` that redraw the portrait (Jupyter).

    ``values`` set the sliders' starting positions (and any other keyword of
    :func:`redraw_phase_portrait`, e.g. ``p0``, ``s0``, ``t1``). A slider redraws when released.
    Returns an ``ipywidgets.VBox`` (display it, or leave it last in a cell) whose ``frame``
    attribute holds the latest :class:`PortraitFrame`. Without ipywidgets it warns and returns
    the :class:`PortraitFrame` of one static frame at ``values``.
    """
    slider_values = {name: float(values.pop(name, spec[3])) for name, spec in SLIDERS.items()}
    try:
        import ipywidgets as widgets
    except ImportError:
        warnings.warn("ipywidgets is not installed, so the explorer has no sliders: drawing one static frame. "
                      "Install it with `pip install ipywidgets` (it is in ssl_odes's [dev] extra).", stacklevel=2)
        return redraw_phase_portrait(**slider_values, **values)
    import matplotlib.pyplot as plt

    sliders = {
        name: widgets.FloatSlider(value=slider_values[name], min=low, max=high, step=step, description=name,
                                  continuous_update=False, readout_format=".3g")
        for name, (low, high, step, _) in SLIDERS.items()
    }
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox(list(sliders.values())[:3]), widgets.HBox(list(sliders.values())[3:]), output])

    def on_change(_change=None):
        if getattr(box, "frame", None) is not None:
            plt.close(box.frame.ax.figure)
        fig, ax = plt.subplots(figsize=(6.5, 5.2))
        box.frame = redraw_phase_portrait(ax, **{name: slider.value for name, slider in sliders.items()}, **values)
        # The frame goes into the Output widget as data (no ``with output:`` capture, whose routing
        # of the cell's messages has stalled headless notebook runs); outside IPython there is no
        # display and the figure stays open for the caller.
        from IPython import get_ipython

        if get_ipython() is not None:
            output.outputs = ()
            output.append_display_data(fig)
            plt.close(fig)

    for slider in sliders.values():
        slider.observe(on_change, names="value")
    box.sliders = sliders
    on_change()
    return box
