r"""Theory beside practice: a training run's logged spectra against the decoupled-mode flow (002 Eqs 11-13).

A run's records (:mod:`.records`) hold, every ``log_every`` steps, the eigenvalues ``s_j`` of
``F``, the predictor's ``p_j = u_j^T Wp u_j`` and the EMA ratio ``tau_j`` of every mode.
:func:`predict_modes` starts :func:`ssl_odes.simulate_byol_modes` from the *measured* initial
``(p_j(0), s_j(0), tau_j(0))`` with the run's hyper-parameters mapped onto the flow
(:func:`flow_parameters`) and evaluates it at the records' flow times ``t = lr x step``;
:func:`overlay` draws both.

When the flow is exact. 002 Lemma 1 is the large-batch, small-learning-rate limit of gradient
descent on the *un-normalised* loss ``J = 1/2 E||Wp W x_1 - sg(W_a x_2)||^2`` (``loss="l2"``,
``symmetric_loss=False``) for a linear encoder; Eqs 11-13 follow when the data are isotropic
(``X = I``, ``X' = sigma2 I``: ``dataset="synthetic"``) and ``Wp`` is symmetric and aligned with
``F`` (e.g. ``W0 = U diag(sqrt(s0)) V^T``, ``Wp0 = U diag(p0) U^T``: the flow keeps that
alignment). Then the measured ``s_j(t)`` follow the flow up to ``O(lr)`` discretisation and
``O(1/sqrt(batch))`` sampling errors (the tests ask for 5%). For a ResNet trained with BYOL's
normalised loss the overlay is a qualitative comparison only.

Modes are compared as *sets*: at each time the ``k``-th largest measured ``s`` is paired with the
ODE mode whose ``s`` is the ``k``-th largest (:func:`match_modes`), so crossings of eigenvalues
need no bookkeeping. This module needs neither flax nor optax.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..byol._modes import simulate_byol_modes
from .._core.trajectory import Trajectory
from . import records as records_lib

__all__ = ["flow_parameters", "measured_modes", "predict_modes", "sort_modes", "match_modes", "overlay"]


def _config(ds) -> dict[str, Any]:
    if "config" not in ds.attrs:
        raise ValueError("these records have no 'config' record; cannot map the run onto the flow")
    return json.loads(ds.attrs["config"])


def flow_parameters(config: Any) -> dict[str, float]:
    """The flow's ``alpha_p, beta, eta, sigma2`` for a run (a :class:`TrainConfig` or its dict).

    ``alpha_p`` is the predictor learning-rate ratio; ``beta = (1 - gamma_ema) / lr_eff`` and
    ``eta = weight_decay`` (coupled SGD decay: the update ``-lr (g + weight_decay w)`` is the flow
    ``dw/dt = -g - weight_decay w`` in ``t = lr x step``; the paper's per-step ``eta_bar`` is
    ``lr * eta``), with ``lr_eff = lr / (1 - momentum)``. ``simsiam`` is true when the target is
    the online network (SimSiam, or BYOL with ``gamma_ema = 0``).

    >>> flow_parameters({"method": "byol", "lr": 0.01, "momentum": 0.0, "gamma_ema": 0.996,
    ...                  "weight_decay": 0.04, "alpha_p": 1.0, "sigma2": 0.0})["beta"]
    0.4
    """
    cfg = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    lr_eff = cfg["lr"] / (1.0 - cfg["momentum"])
    simsiam = cfg["method"] == "simsiam" or cfg["gamma_ema"] == 0.0
    return {
        "alpha_p": float(cfg["alpha_p"]),
        "beta": float(round((1.0 - cfg["gamma_ema"]) / lr_eff, 12)),
        "eta": float(cfg["weight_decay"]),
        "sigma2": float(cfg.get("sigma2", 0.0)),
        "simsiam": bool(simsiam),
    }


def measured_modes(records: Any) -> dict[str, np.ndarray]:
    """``t [time]`` and ``s, p, tau [time, mode]`` from a run's records (path, list or Dataset)."""
    ds = records_lib.as_dataset(records)
    out = {"t": np.asarray(ds["t"].values, np.float64), "step": np.asarray(ds["step"].values)}
    for name in ("s", "p", "tau"):
        if name in ds:
            out[name] = np.asarray(ds[name].values, np.float64)
    return out


def sort_modes(s: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort modes (last axis) by decreasing ``s`` at every time; ``others`` follow the same order.

    >>> sort_modes(np.array([[1.0, 3.0, 2.0]]), np.array([[10.0, 30.0, 20.0]]))[1].tolist()
    [[30.0, 20.0, 10.0]]
    """
    order = np.argsort(-s, axis=-1, kind="stable")
    return tuple(np.take_along_axis(x, order, axis=-1) for x in (s,) + others)


def match_modes(records: Any, prediction: Trajectory, *, modes: Any = None) -> dict[str, np.ndarray]:
    """The measured ``s, p, tau`` re-labelled by the ODE mode they correspond to, ``[time, mode]``.

    At each time the ``k``-th largest measured ``s`` is matched with the ODE mode whose ``s`` is
    the ``k``-th largest: the spectra agree as sets, and a crossing of two eigenvalues swaps the
    labels of the measurements, not the continuity of the ODE modes. Column ``j`` of the result
    is comparable with ``prediction.s[j]`` (and ``p``, ``tau``).
    """
    measured = measured_modes(records)
    index = slice(None) if modes is None else np.asarray(modes)
    predicted_s = np.asarray(prediction.s, np.float64).T  # [time, mode]
    rank_to_mode = np.argsort(-predicted_s, axis=-1, kind="stable")
    names = [v for v in ("s", "p", "tau") if v in measured]
    ordered = sort_modes(*(measured[v][:, index] for v in names))
    out = {"t": measured["t"]}
    rows = np.arange(len(measured["t"]))[:, None]
    for name, values in zip(names, ordered):
        relabelled = np.empty_like(values)
        relabelled[rows, rank_to_mode] = values
        out[name] = relabelled
    return out


def predict_modes(records: Any, *, modes: Any = None, **overrides: Any) -> Trajectory:
    """Integrate 002 Eqs 11-13 from a run's measured initial modes, at the run's flow times.

    Args:
        records: a records file path, the list of records, or their ``xarray.Dataset``.
        modes: indices of the modes (in the initial, decreasing-``s`` order) to predict; default all.
        overrides: replace a mapped flow parameter (``alpha_p``, ``beta``, ``eta``, ``sigma2``).

    Returns:
        a :class:`~ssl_odes.Trajectory` with batch axis ``mode`` and time ``t`` = the records'.
        Compare it with the measurements via :func:`sort_modes` (modes may cross).
    """
    ds = records_lib.as_dataset(records)
    params = flow_parameters(_config(ds))
    unknown = set(overrides) - {"alpha_p", "beta", "eta", "sigma2"}
    if unknown:
        raise ValueError(f"unknown flow parameter(s) {sorted(unknown)}; allowed: alpha_p, beta, eta, sigma2")
    params.update(overrides)
    measured = measured_modes(ds)
    if "p" not in measured:
        raise ValueError("these records have no predictor eigenvalues p (a run without predictor?)")
    index = slice(None) if modes is None else np.asarray(modes)
    p0, s0 = measured["p"][0][index], measured["s"][0][index]
    t = measured["t"]
    if t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise ValueError("the records' flow times must start at 0 and increase (a run logged from step 0)")
    simsiam = params.pop("simsiam")
    kwargs = dict(alpha_p=params["alpha_p"], eta=params["eta"], sigma2=params["sigma2"], ts=t, dtype=np.float64 if _x64() else None)
    if simsiam:
        return simulate_byol_modes(p0, s0, simsiam=True, **kwargs)
    tau0 = measured["tau"][0][index] if "tau" in measured else 1.0
    return simulate_byol_modes(p0, s0, tau0, beta=params["beta"], **kwargs)


def _x64() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def overlay(records: Any, axes: Any = None, *, modes: Any = None, variables=("s", "p", "tau"), **overrides: Any):
    """Plot a run's measured ``s_j, p_j, tau_j`` (markers) against the flow from the same start (lines).

    Returns ``(prediction, axes)``: the :class:`~ssl_odes.Trajectory` of :func:`predict_modes`
    and one matplotlib axes per variable, time ``t = lr x step`` on the x-axis.
    """
    import matplotlib.pyplot as plt

    ds = records_lib.as_dataset(records)
    prediction = predict_modes(ds, modes=modes, **overrides)
    matched = match_modes(ds, prediction, modes=modes)
    variables = [v for v in variables if v in matched and (v != "tau" or not prediction.settings_dict.get("simsiam"))]
    if axes is None:
        _, axes = plt.subplots(1, len(variables), figsize=(4.2 * len(variables), 3.4), squeeze=False)
        axes = axes[0]
    t = matched["t"]
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, matched["s"].shape[1]))
    every = max(1, len(t) // 25)
    for ax, name in zip(axes, variables):
        predicted = np.asarray(getattr(prediction, name)).T  # [time, mode]
        for j, colour in enumerate(colours):
            ax.plot(t, predicted[:, j], color=colour, lw=1.6)
            ax.plot(t[::every], matched[name][::every, j], "o", color=colour, ms=3.5, mfc="none")
        ax.set_xlabel("t = lr x step")
        ax.set_ylabel({"s": r"$s_j$ (eigenvalues of F)", "p": r"$p_j = u_j^T W_p u_j$", "tau": r"$\tau_j$"}[name])
    axes[0].plot([], [], "k-", label="ODE (002 Eqs 11-13)")
    axes[0].plot([], [], "ko", mfc="none", ms=3.5, label="training")
    axes[0].legend(fontsize=8)
    return prediction, axes
