"""000 Eq 11 / App. F.3: EMA slows the growth of w(t), but does not stop it.

w(t+1) = w(t) + lr [-w(t) + (1 - lam) w_ema(t)], w_ema(t+1) = gamma w_ema(t) + (1 - gamma) w(t).
Left: z_max (Eq 139) against gamma_ema for several lam < 0 at lr = 0.1. It falls towards 1 as
gamma_ema -> 1 and stays > 1. Middle: the growth factor max|z| over (gamma_ema, lam); the
contour z = 1 is the line lam = 0, and where the roots are complex (hatched) |z| < 1. Right: the
recurrence (dots) and its closed form (lines) for lam = -0.5 and a few gamma_ema, on a log scale;
the slopes are log z_max.

    python examples/ema_z_roots.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ssl_odes import ema

LR = 0.1


def main(output: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)

    gamma = 1.0 - np.logspace(-3, 0, 300)  # from 0.999 down to 0 (no EMA)
    ax = axes[0]
    for lam in (-0.1, -0.5, -1.0, -2.0):
        _, z_max = ema.z_roots(LR, gamma, lam)
        ax.plot(1.0 - gamma, z_max, label=rf"$\lambda = {lam:g}$")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel(r"$1 - \gamma_{ema}$  (left: slow EMA, right: no EMA)")
    ax.set_ylabel(r"$z_{\max}$")
    ax.set_title(rf"$z_{{\max}}$ vs $\gamma_{{ema}}$ (lr = {LR}): $> 1$ but smaller with EMA")
    ax.legend()

    ax = axes[1]
    gamma_grid, lam_grid = np.meshgrid(np.linspace(0.0, 0.99, 200), np.linspace(-2.0, 2.0, 200))
    rate = np.asarray(ema.growth_rate(LR, gamma_grid, lam_grid))
    mesh = ax.pcolormesh(gamma_grid, lam_grid, rate, shading="auto", cmap="RdBu_r", vmin=0.9, vmax=1.1)
    fig.colorbar(mesh, ax=ax, label=r"growth per step $\max |z|$")
    ax.contour(gamma_grid, lam_grid, rate, levels=[1.0], colors="k")
    complex_region = np.asarray(ema.discriminant(LR, gamma_grid, lam_grid)) < 0
    ax.contourf(gamma_grid, lam_grid, complex_region.astype(float), levels=[0.5, 1.5], hatches=["//"], colors="none")
    ax.set_xlabel(r"$\gamma_{ema}$")
    ax.set_ylabel(r"$\lambda$")
    ax.set_title(r"$\max|z|$: growth for $\lambda < 0$; complex roots hatched")

    ax = axes[2]
    steps = 300
    t = np.arange(steps + 1)
    gammas = np.array([0.0, 0.9, 0.99])
    run = ema.simulate_discrete(1.0, LR, gammas, -0.5, steps)
    closed, _ = ema.closed_form(t, 1.0, LR, gammas[:, None], -0.5)
    _, z_max = ema.z_roots(LR, gammas, -0.5)
    for k, g in enumerate(gammas):
        line, = ax.plot(t, closed[k], label=rf"$\gamma_{{ema}} = {g:g}$, $z_{{\max}} = {float(z_max[k]):.4f}$")
        ax.plot(t[::15], np.asarray(run.w)[k, ::15], "o", ms=3, color=line.get_color())
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$w(t)$")
    ax.set_title(r"recurrence (dots) = closed form (lines), $\lambda = -0.5$")
    ax.legend()

    fig.suptitle("000 Eqs 10-11, App. F.3: EMA as a discrete linear system")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"status {run.status_counts()}; wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "ema_z_roots.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
