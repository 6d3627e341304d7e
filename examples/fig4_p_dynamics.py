"""002 Fig 4: the 1-D dynamics of p_j on the invariant parabola (Eq 16) and its fixed points.

dp/dt = p^2 (tau - (1 + sigma2) p) - eta p at tau = 1, sigma2 = 0, for eta = 0 (p = 0 is a
saddle), eta = 0.1 below the collapse threshold tau^2/4 = 0.25 (stable 0, unstable p*_-, stable
p*_+) and eta = 0.4 above it (only p = 0, stable). A second row shows trajectories of the full
SimSiam mode dynamics started on the parabola, slightly above and below p*_-.

    python examples/fig4_p_dynamics.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import ssl_odes
from ssl_odes.byol_modes import fixed_points
from ssl_odes.plot import plot_modes, plot_p_dynamics

ETAS = (0.0, 0.1, 0.4)


def main(output: Path) -> Path:
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), constrained_layout=True)
    for ax, eta in zip(axes[0], ETAS):
        plot_p_dynamics(ax, tau=1.0, eta=eta, sigma2=0.0)
    # On the parabola (s0 = p0^2), around p*_- of eta = 0.1 and at a few larger values.
    p_minus = float(fixed_points(1.0, 0.1, 0.0)[0])
    p0 = np.array([0.8 * p_minus, 1.2 * p_minus, 0.5, 0.9])
    runs = ssl_odes.simulate_byol_modes(p0, p0**2, eta=np.array(ETAS)[:, None], simsiam=True, t1=150.0, num_points=601)
    for ax, k in zip(axes[1], range(len(ETAS))):
        plot_modes(runs[k], axes=[ax], variables=["p"])
        ax.set_title(rf"$p_j(t)$ on the parabola, $\eta = {ETAS[k]:g}$")
    fig.suptitle(r"002 Fig 4: $\dot p_j = p_j^2[\tau - (1+\sigma^2)p_j] - \eta p_j$ (red stable, green unstable, black saddle)")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"status {runs.status_counts()}; wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "fig4_p_dynamics.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
