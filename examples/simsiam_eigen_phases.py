"""003 Sec 4.2 / Eqs 54-55: the phases of SimSiam's local eigen-dynamics, and where dimensions end.

Top left: the (lt_p, l) plane (||z|| = ||p|| = 1, so lt_p = l_p) at c = 0.9, eta = eps = 0, with
the three cases of Sec 4.2 shaded: (1) lt_p < 0: l shrinks, l_p grows; (2) 0 <= lt_p <= 1/c:
both grow; (3) lt_p > 1/c: both shrink. Flow lines and the trajectories of 10 dimensions.
Top right: those dimensions over time. lt_p of the survivors settles at 1/c; the others collapse
(l -> 0). Bottom: l_i(t). Without weight decay (left) the survivors keep different l, fixed by the
invariant l - l_p^2 (r1 = r2, ||z|| = 1). With weight decay eta = 0.05 (right) they meet at the
common fixed point l_+ = (||p|| u_+ / ||z||^2)^2, u_+ (1 - c u_+) = eta ||z||^2 (dashed).

    python examples/simsiam_eigen_phases.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import ssl_odes
from ssl_odes.simsiam_eigen import eigen_rates, fixed_points

C = 0.9
ETA = 0.05
L_P0 = np.array([-0.6, -0.2, 0.1, 0.3, 0.6, 0.9, 1.3, 1.6, 1.9, 0.05])
L0 = np.array([0.5, 0.02, 0.05, 0.6, 0.15, 0.9, 0.3, 0.8, 0.1, 0.3])
PHASE_COLOURS = {1: "#fde0dd", 2: "#e0f3db", 3: "#deebf7"}


def main(output: Path) -> Path:
    fig, axes = plt.subplots(2, 2, figsize=(13, 9), constrained_layout=True)
    plain = ssl_odes.simulate_simsiam_eigen(L_P0, L0, c=C, t1=60.0, num_points=601)
    decay = ssl_odes.simulate_simsiam_eigen(L_P0, L0, c=C, eta=ETA, t1=400.0, num_points=801)
    print(f"status {plain.status_counts()} / {decay.status_counts()}")
    colours = plt.cm.viridis(np.linspace(0, 0.95, len(L_P0)))

    ax = axes[0, 0]
    lo, hi = -1.0, 2.2
    for case, (a, b) in {1: (lo, 0.0), 2: (0.0, 1 / C), 3: (1 / C, hi)}.items():
        ax.axvspan(a, b, color=PHASE_COLOURS[case], zorder=0)
        ax.text((a + b) / 2, 1.83, f"case {case}", ha="center", fontsize=10)
    lt, l = np.meshgrid(np.linspace(lo, hi, 40), np.linspace(0.0, 1.9, 30))
    d_lt, d_l = (np.asarray(v) for v in eigen_rates(lt, l, c=C))
    ax.streamplot(lt, l, d_lt, d_l, color="0.6", density=1.0, linewidth=0.7, arrowsize=0.8)
    ax.axvline(1 / C, color="k", ls="--", lw=0.8)
    for k, colour in enumerate(colours):
        ax.plot(plain.lt_p[k], plain.l[k], color=colour, lw=1.6)
        ax.plot(L_P0[k], L0[k], "o", color=colour, ms=4)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0.0, 1.9)
    ax.set_xlabel(r"$\tilde\lambda_p = \frac{\|z\|}{\|p\|}\lambda_p$")
    ax.set_ylabel(r"$\lambda$")
    ax.set_title(rf"phase plane, $c = {C}$, $\eta = \epsilon = 0$ (dashed: $\tilde\lambda_p = 1/c$)")

    ax = axes[0, 1]
    collapsed = np.asarray(plain.final("collapsed"))
    for k, colour in enumerate(colours):
        ax.plot(plain.t, plain.lt_p[k], color=colour, ls=":" if collapsed[k] else "-")
    ax.axhline(1 / C, color="k", ls="--", lw=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\tilde\lambda_p(t)$")
    ax.set_title(rf"survivors (solid) settle at $1/c$; collapsed dimensions dotted ({collapsed.sum()} of {len(L0)})")

    fp = fixed_points(c=C, eta=ETA)
    l_plus = float(fp["plus"][1])
    for ax, run, title in ((axes[1, 0], plain, r"$\eta = 0$: survivors keep their own $\lambda$"),
                           (axes[1, 1], decay, rf"$\eta = {ETA}$: survivors meet at $\lambda_+ = {l_plus:.3f}$")):
        gone = np.asarray(run.final("collapsed"))
        for k, colour in enumerate(colours):
            ax.plot(run.t, run.l[k], color=colour, ls=":" if gone[k] else "-")
        ax.set_xlabel("t")
        ax.set_ylabel(r"$\lambda_i(t)$")
        ax.set_title(title)
    axes[1, 1].axhline(l_plus, color="k", ls="--", lw=0.8)
    fig.suptitle("003 Sec 4.2: SimSiam local eigen-dynamics (diagonal Eqs 54-55)")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "simsiam_eigen_phases.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
