"""002 Fig 3: (p, s) phase portraits of the decoupled SimSiam/BYOL modes at tau = 1, alpha_p = 1.

Three panels, weight decay eta in {0, 0.01, 1}: flow lines, nullclines, fixed points coloured by
their Jacobian stability (red stable, green unstable, black saddle), the dashed invariant parabola
s = p^2/alpha_p, and trajectories of ``ssl_odes.simulate_byol_modes(..., simsiam=True)`` (tau
fixed at 1) from a few initial conditions.

    python examples/fig3_phase_portraits.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import ssl_odes
from ssl_odes.plot import plot_phase_portrait

ETAS = (0.0, 0.01, 1.0)
P0 = np.array([-0.4, 0.05, 0.3, 1.4, 0.6, -0.2])
S0 = np.array([0.5, 0.9, 0.05, 0.4, 1.3, 1.2])


def main(output: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), constrained_layout=True)
    runs = ssl_odes.simulate_byol_modes(P0, S0, eta=np.array(ETAS)[:, None], simsiam=True, t1=40.0, num_points=801)
    print(f"simulated {runs.p.shape[:-1]} trajectories, dtype {runs.dtype}, status {runs.status_counts()}")
    for k, (ax, eta) in enumerate(zip(axes, ETAS)):
        plot_phase_portrait(ax, tau=1.0, alpha_p=1.0, eta=eta, trajectories=runs[k], legend=(k == 0))
    fig.suptitle(r"002 Fig 3: decoupled mode dynamics (Eqs 11-12) at $\tau = 1$, $\alpha_p = 1$")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "fig3_phase_portraits.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
