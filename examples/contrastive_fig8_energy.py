"""001 Fig 8: the contrastive energy over the unit circle, ReLU versus linear activation.

Nine data points on the unit circle at angles {-4pi/5, -pi/2, -2pi/5, -pi/6, 0, pi/5, 2pi/5,
3pi/5, 4pi/5}, uniform alpha, no augmentation (App. D). E(theta) = 1/2 C_alpha[h(w^T x)] with
w = (cos theta, sin theta); each curve scaled to maximum 1; local maxima marked. The linear energy
is w^T Cov w: two maxima (+/- the PCA direction). ReLU creates many (001 Sec 3).

What this run also shows: every ReLU maximum sits on a kink, a theta where w is orthogonal to a
data point (the point enters or leaves the active half-plane). There A(w*) w* is not parallel to
w*, so none of them is an LME of Def 3: power iteration from 256 starts converges nowhere (it
cycles between cells) and the flow of Eq 7 reaches a kink in finite time and slides along it
(the integrator reports max_steps there). The printed distances compare each maximum with the
nearest kink.

    python examples/contrastive_fig8_energy.py [output.png]
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.contrastive import contrastive_operator, find_lmes, one_layer_energy  # noqa: E402

ANGLES = np.array([-4, -2.5, -2, -5 / 6, 0, 1, 2, 3, 4]) * np.pi / 5


def local_maxima(values):
    left, right = np.roll(values, 1), np.roll(values, -1)
    tol = 1e-12 * np.abs(values).max()
    return np.flatnonzero((values > left + tol) & (values >= right - tol))


def main(output: Path) -> Path:
    x = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)
    theta = np.linspace(-np.pi, np.pi, 7200, endpoint=False)
    W = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    fig, ax = plt.subplots(figsize=(10, 4.5), constrained_layout=True)
    for a in ANGLES:
        ax.axvline(a, color="0.7", ls=":", lw=1)
    counts = {}
    for name, style in (("relu", "-"), ("linear", "--")):
        op = contrastive_operator(x, activation=name)
        energy = np.asarray(jax.vmap(lambda w: one_layer_energy(w[None], op))(W))
        energy = energy / energy.max()
        peaks = local_maxima(energy)
        counts[name] = len(peaks)
        line, = ax.plot(theta, energy, style, label=f"{name}: {len(peaks)} local maxima")
        ax.plot(theta[peaks], energy[peaks], "o", color=line.get_color())
        if name == "relu":
            found = find_lmes(op, num_starts=256, seed=0)
            lme_theta = np.arctan2(found.lmes[:, 1], found.lmes[:, 0])
            scale = float(np.asarray(jax.vmap(lambda w: one_layer_energy(w[None], op))(W)).max())
            lme_energy = np.array([float(op.energy(w)) for w in found.lmes]) / scale
            ax.plot(lme_theta, lme_energy, "v", ms=10, mfc="none", color="k",
                    label=f"ReLU LMEs from power iteration ({len(found.lmes)})")
            print(found.table() if len(found.points) else "power iteration: no converged fixed point "
                  f"({found.unassigned_pi:.0%} of 256 starts unassigned)")
            kinks = np.angle(np.exp(1j * np.concatenate([ANGLES + np.pi / 2, ANGLES - np.pi / 2])))
            gaps = np.abs(np.angle(np.exp(1j * (theta[peaks][:, None] - kinks[None, :])))).min(axis=1)
            print(f"ReLU maxima: distance to the nearest kink (grid step {2 * np.pi / len(theta):.1e}): "
                  f"max {gaps.max():.1e}")
    ax.set_xlabel(r"$\theta$, $w = (\cos\theta, \sin\theta)$")
    ax.set_ylabel(r"$\mathcal{E}_\alpha(w)$ / max")
    ax.set_xlim(-np.pi, np.pi)
    ax.legend(loc="lower left", fontsize=9)
    ax.set_title("001 Fig 8: energy over the circle (uniform alpha, no augmentation); dotted: data points\n"
                 "every ReLU maximum is a kink ($w \\perp$ a data point), none an LME of Def 3")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"local maxima {counts}; wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "contrastive_fig8_energy.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
