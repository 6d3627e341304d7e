"""002 Fig 5: roles of weight decay eta and EMA rate beta in the decoupled BYOL modes (Eqs 11-13).

Several eigen-modes start from different small initial values (p_j(0), s_j(0)), tau(0) = 0
(Eq 15's initial condition), alpha_p = 1, sigma2 = 0, with the paper's lr = 0.01: beta = 0.4
(gamma_ema = 0.996) and eta = 0.04 (weight decay 4e-4) wherever they are not swept. Both sweeps
go through ``ssl_odes.sweep`` (modes zipped on one axis, the swept parameter on another).

Top row, eta sweep: a large eta shrinks the final p_j, s_j or kills them (no training).
Bottom row, beta sweep at eta = 0.04: a small beta converges much more slowly.

    python examples/fig5_eta_beta_sweeps.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import ssl_odes

LR = 0.01
P0 = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
S0 = np.array([0.3, 0.1, 0.05, 0.2, 0.02])
ETAS = np.array([0.0, 0.01, 0.04, 0.1, 0.2])
BETAS = np.array([0.01, 0.04, 0.1, 0.4, 2.0])
T1 = 600.0


def main(output: Path) -> Path:
    modes = {("p0", "s0"): (P0, S0)}
    times = np.concatenate([[0.0], np.geomspace(0.05, T1, 400)])  # log-spaced: the plot is in log time
    common = dict(alpha_p=1.0, sigma2=0.0, ts=times, save="all", progress=False)
    by_eta = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {**modes, "eta": ETAS}, beta=0.4, **common)
    by_beta = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {**modes, "beta": BETAS}, eta=0.04, **common)
    for ds in (by_eta, by_beta):
        assert int((ds.status != 0).sum()) == 0, "every trajectory should finish"

    fig, axes = plt.subplots(2, len(ETAS), figsize=(3.4 * len(ETAS), 6.6), sharex=True, constrained_layout=True)
    iterations = by_eta["t"].values / LR
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(P0)))
    for row, (ds, name, values) in enumerate(((by_eta, "eta", ETAS), (by_beta, "beta", BETAS))):
        for col, value in enumerate(values):
            ax = axes[row, col]
            for j, colour in enumerate(colours):
                point = ds.isel({"p0+s0": j, name: col})
                ax.plot(iterations, point["p"], color=colour, lw=1.6)
                ax.plot(iterations, point["s"], color=colour, lw=1.2, ls="--")
            ax.set_title(rf"$\{name} = {value:g}$" + (r", $\beta = 0.4$" if name == "eta" else r", $\eta = 0.04$"))
            ax.set_ylim(-0.05, 1.35)
            ax.set_xscale("log")
            ax.set_xlim(10, iterations[-1])
            if row == 1:
                ax.set_xlabel("iteration (t / lr)")
        axes[row, 0].set_ylabel(r"$p_j$ (solid), $s_j$ (dashed)")
    fig.suptitle(rf"002 Fig 5: decoupled BYOL modes, lr = {LR}, $\alpha_p = 1$; top: weight-decay sweep, bottom: EMA sweep")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    final_p = by_eta["p"].isel(t=-1)
    print("final p_j by eta (rows: eta):\n", np.round(final_p.values.T, 3))
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "fig5_eta_beta_sweeps.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
