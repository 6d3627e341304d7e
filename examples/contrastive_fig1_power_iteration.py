"""001 Fig 1 (right): power iteration (Eq PI) on latent summation models with ||U^T U - I|| small, not zero.

x = U y with M = 6 standardised Bernoulli latents (q_m from 0.1 to 0.3, all below the LME threshold
(3 - sqrt 5)/2), d = 6, ReLU, uniform alpha, the exact population (2^6 atoms). U is an orthonormal
basis plus delta * G (G Gaussian, columns renormalised) for three values of delta. From each u_m
(normalised) power iteration runs 100 steps; the curves are ||w(t+1) - w(t)|| (log scale). Theorem 3:
local optima near each u_m survive the perturbation. The legend gives ||U^T U - I||_2 and the largest
distance between a limit and its u_m; the limits are checked to be LMEs (Def 3).

    python examples/contrastive_fig1_power_iteration.py [output.png]
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.contrastive import (  # noqa: E402
    contrastive_operator,
    fixed_point_report,
    latent_summation_population,
    power_iteration,
)

D = 6
Q = np.linspace(0.1, 0.3, D)
DELTAS = (0.0, 0.05, 0.15)


def perturbed_basis(delta, seed=0):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.normal(size=(D, D)))[0] + delta * rng.normal(size=(D, D)) / np.sqrt(D)
    return U / np.linalg.norm(U, axis=0)


def main(output: Path) -> Path:
    fig, axes = plt.subplots(1, len(DELTAS), figsize=(14, 4.2), sharey=True, constrained_layout=True)
    for ax, delta in zip(axes, DELTAS):
        U = perturbed_basis(delta)
        pop = latent_summation_population(U, Q)
        op = contrastive_operator(pop.x, probs=pop.probs, activation="relu")
        pi = power_iteration(op, U.T, steps=100)
        history = np.maximum(np.asarray(pi.history), 1e-17)
        for m in range(D):
            ax.semilogy(np.arange(1, history.shape[1] + 1), history[m], label=f"$u_{m + 1}$, $q = {Q[m]:.2f}$")
        converged = np.asarray(pi.converged)
        limits = np.asarray(pi.w)[converged]
        distance = np.linalg.norm(limits - U.T[converged], axis=1).max()
        lmes = sum(fixed_point_report(op, w).is_lme for w in limits)
        off = np.linalg.norm(U.T @ U - np.eye(D), 2)
        ax.set_title(f"$\\|U^TU - I\\|_2 = {off:.2f}$: {converged.sum()}/{D} converge, {lmes} LMEs\n"
                     f"max $\\|w_* - u_m\\| = {distance:.3f}$ over the converged")
        ax.set_xlabel("iteration t")
        print(f"delta={delta}: ||U^T U - I|| = {off:.3f}, converged {converged.sum()}/{D}, LMEs {lmes}, "
              f"max ||w* - u_m|| = {distance:.4f}")
    axes[0].set_ylabel(r"$\|w(t+1) - w(t)\|_2$")
    axes[0].legend(fontsize=8)
    fig.suptitle("001 Fig 1 (right): power iteration on latent summation models (ReLU, uniform alpha, population)")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "contrastive_fig1_power_iteration.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
