"""002 Fig 2 from simulation: eigenspace alignment in linear BYOL with EMA (002 Thm 3).

Linear BYOL (002 Eqs 2-4) with EMA, from small random weights (n1 = n2 = 32), isotropic data.
Top row: a free predictor. Bottom row: a symmetric predictor (Assumption 3). Columns as in 002
Fig 2: (1) log eigenvalues s_j of F = W W^T, (2) eigenvalues of the symmetric part of W_p,
(3) for each eigenvector u_j of F the cosine between u_j and W_p u_j, (4) the predictor
asymmetry ||W_p - W_p^T|| / ||W_p|| and the commutator ||[F, W_p]||_F (Theorem 3).

What the paper reports and the simulation shows: some eigenvalues of F grow while others shrink to
zero; the negative eigenvalues of W_p shrink towards zero while the leading ones grow; the
commutator decays (the eigenspaces align, cosines -> +1 for the surviving modes); and without a
symmetry constraint W_p turns symmetric by itself.

Parameters: alpha_p = 1, beta = 0.4 and eta = 0.04 (002 Fig 5: gamma_ema = 0.996 and weight decay
4e-4 at lr = 0.01), sigma2 = 0.1, W0 and W_p0 entries N(0, 0.5^2 / 32), t up to 100 (10^4 steps at
lr = 0.01). Lines are coloured by the rank of the eigenvalue (dark = largest).

    python examples/fig2_alignment.py [output.png]
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # collapsed modes reach s ~ 1e-16: resolve them in float64

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ssl_odes  # noqa: E402
from ssl_odes import byol_linear  # noqa: E402

N = 32
PARAMETERS = dict(alpha_p=1.0, beta=0.4, eta=0.04, sigma2=0.1)
INIT_SCALE = 0.5
T1 = 100.0


def simulate(symmetric_predictor: bool) -> ssl_odes.Trajectory:
    init = byol_linear.random_initialization(
        N, N, init_scale=INIT_SCALE, symmetric_predictor=symmetric_predictor, seed=0
    )
    return ssl_odes.simulate_byol_linear(
        **init, **PARAMETERS, variant="byol", symmetric_predictor=symmetric_predictor,
        t1=T1, num_points=401, save="diagnostics",
    )


def plot_row(axes, result: ssl_odes.Trajectory, title: str) -> None:
    t = np.asarray(result.t)
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, N))
    s = np.asarray(result.s)
    floor = 1e-16 * s.max()  # rounding level of the largest eigenvalue: below it log s is noise
    for j in range(N):
        axes[0].plot(t, np.log(np.maximum(s[:, j], floor)), color=colours[j], lw=1)
        axes[1].plot(t, result.p[:, j], color=colours[j], lw=1)
        axes[2].plot(t, result.alignment[:, j], color=colours[j], lw=1)
    axes[0].set_ylabel(title + "\n" + r"$\log s_j$ (eigenvalues of $F$)")
    axes[1].set_ylabel(r"eigenvalues of $(W_p + W_p^\top)/2$")
    axes[2].set_ylabel(r"$\cos(u_j, W_p u_j)$")
    axes[2].set_ylim(-1.05, 1.05)
    asymmetry = np.asarray(result.asymmetry)
    if asymmetry.max() > 0:
        axes[3].semilogy(t, asymmetry, color="C3", label=r"$\|W_p - W_p^\top\| / \|W_p\|$")
    else:
        axes[3].semilogy([], [], color="C3", label=r"$\|W_p - W_p^\top\| / \|W_p\| = 0$ (symmetric)")
    axes[3].semilogy(t, result.commutator, color="k", label=r"$\|[F, W_p]\|_F$")
    axes[3].legend(fontsize=8, loc="lower left")
    for ax in axes:
        ax.set_xlabel(r"$t$ (= lr $\times$ step)")


def main(output: Path) -> Path:
    fig, axes = plt.subplots(2, 4, figsize=(18, 7.5), constrained_layout=True)
    for row, symmetric in enumerate((False, True)):
        result = simulate(symmetric)
        print(
            f"symmetric_predictor={symmetric}: status {result.status_counts()}, {int(result.num_steps)} steps; "
            f"commutator {float(result.commutator[0]):.3g} -> {float(result.commutator[-1]):.3g}, "
            f"asymmetry {float(result.asymmetry[0]):.3g} -> {float(result.asymmetry[-1]):.3g}, "
            f"surviving modes {int(np.sum(result.s[-1] > 1e-3 * result.s[-1].max()))}/{N}"
        )
        plot_row(axes[row], result, "free $W_p$" if not symmetric else "symmetric $W_p$")
    fig.suptitle(
        "002 Fig 2 from the linear BYOL flow (Eqs 2-4) with EMA: "
        + ", ".join(f"{k} = {v:g}" for k, v in PARAMETERS.items())
        + f", n = {N}, random init of scale {INIT_SCALE:g}"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "fig2_alignment.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
