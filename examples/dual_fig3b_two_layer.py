"""000 Fig 3(b) / App. A.2: the Theorem 5 two-layer flow (Eq 16), w1_j trajectories over the data.

dw2_j/dt = w2_j (w1_j^T A_j w1_j), dw1_j/dt = w2_j^2 A_j w1_j, A_j = V_z0[u_j(z0)],
u_j(z0) = E_{z'|z0}[x 1(w1_j^T x >= 0)], integrated by ssl_odes (simulate_two_layer).

Left: linear units, two Gaussians (sigma = 0.3): A = Delta Delta^T / 4 is constant and every unit
heads to +/-(w1* - w2*). Right: ReLU units, a Gaussian at the origin (background) and two
non-zero centres 135 degrees apart: A_j moves with w1_j, and each unit heads to one centre,
which one depending on its start (colour); units starting where both centres are gated off stay
put (grey). Drawn: 24 starts with |w1_j| = 0.8, w2_j = 0.2 (the turn is visible), until
|w1_j| = 3. The shares and the final angles to the centres are over 200 evenly spread starts with
|w1_j| = 0.01, w2_j = 1 (the direction settles before the finite-time blow-up); printed and in
the titles.

    python examples/dual_fig3b_two_layer.py [output.png]
"""

import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.dual_networks import final_directions, simulate_two_layer  # noqa: E402

SIGMA = 0.3
TWO = np.array([[1.0, 0.5], [-0.5, 1.0]])
THREE = np.array([[0.0, 0.0], [2.0, 0.0], [-1.5, 1.5]])
RUN = dict(t1=30.0, num_points=3001, rtol=1e-10, atol=1e-12, bound=1e4)
N_STARTS = 200


def starts(n, radius=0.01, w2=1.0):
    angles = np.linspace(0.0, 2 * np.pi, n, endpoint=False) + np.pi / n
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)[:, None, :], np.full((n, 1), w2)


def draw(ax, res, centres, colours, title):
    rng = np.random.default_rng(0)
    for c in centres:
        ax.scatter(*(c + SIGMA * rng.normal(size=(150, 2))).T, s=4, color="0.75", zorder=0)
    w1 = np.asarray(res.w1)[:, :, 0, :]
    for traj, colour in zip(w1, colours):
        traj = traj[np.all(np.isfinite(traj), axis=-1)]
        traj = traj[: np.searchsorted(np.cumsum(np.linalg.norm(traj, axis=-1) > 3.0), 1) + 1]
        ax.plot(*traj.T, color=colour, lw=1.2)
        ax.plot(*traj[0], "o", color=colour, ms=2.5)
    ax.scatter(*centres.T, marker="*", s=160, color="k", zorder=3, label="centres $w_k^*$")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)


def main(output: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(12, 6), constrained_layout=True)
    t0 = time.process_time()

    w1, w2 = starts(N_STARTS)
    lin = simulate_two_layer(w1, w2, centres=TWO, sigma=SIGMA, relu=False, **RUN)
    delta = (TWO[0] - TWO[1]) / np.linalg.norm(TWO[0] - TWO[1])
    d_lin = final_directions(lin)[:, 0]
    err = np.degrees(np.arccos(np.minimum(np.abs(d_lin @ delta), 1.0)))
    sign = np.sign(d_lin @ delta)
    lin_share = {"+Delta": int(np.sum(sign > 0)), "-Delta": int(np.sum(sign < 0))}
    print(f"linear: shares {lin_share}, max angle to +/-Delta {err.max():.2e} deg")
    # Drawn: 24 starts on a circle of radius 0.8 with w2 = 0.2, so the turn of w1_j is visible.
    v1, v2 = starts(24, radius=0.8, w2=0.2)
    shown = simulate_two_layer(v1, v2, centres=TWO, sigma=SIGMA, relu=False, **RUN)
    draw(axes[0], shown, TWO, ["C0" if s > 0 else "C1" for s in np.sign(final_directions(shown)[:, 0] @ delta)],
         f"linear units, two Gaussians: w1_j -> +/-(w1* - w2*)\n{lin_share} of {N_STARTS} starts; "
         f"max angle {err.max():.1e} deg")
    axes[0].plot(*np.stack([-3 * delta, 3 * delta]).T, "k--", lw=0.8, label="+/- Delta")

    relu = simulate_two_layer(w1, w2, centres=THREE, sigma=SIGMA, relu=True, **RUN)
    hats = THREE[1:] / np.linalg.norm(THREE[1:], axis=1, keepdims=True)
    d_relu = final_directions(relu)[:, 0]
    grown = np.array([np.nanmax(np.linalg.norm(np.asarray(w)[:, 0], axis=-1)) for w in relu.w1]) > 1.0
    cosines = d_relu @ hats.T
    reached = np.where(grown, np.argmax(cosines, axis=1), -1)
    err = np.degrees(np.arccos(np.minimum(cosines.max(axis=1), 1.0)))[grown]
    shares = {"w_1*": int(np.sum(reached == 0)), "w_2*": int(np.sum(reached == 1)), "stalled": int(np.sum(reached < 0))}
    print(f"ReLU: shares {shares}, max angle to the reached centre {err.max():.2e} deg")
    colour = {0: "C2", 1: "C3", -1: "0.5"}
    shown = simulate_two_layer(v1, v2, centres=THREE, sigma=SIGMA, relu=True, **RUN)
    d_shown = final_directions(shown)[:, 0]
    moved = np.array([np.nanmax(np.linalg.norm(np.asarray(w)[:, 0], axis=-1)) for w in shown.w1]) > 2.0
    draw(axes[1], shown, THREE, [colour[r] for r in np.where(moved, np.argmax(d_shown @ hats.T, axis=1), -1)],
         f"ReLU units, background at 0 + two centres: w1_j -> a centre\n{shares} of {N_STARTS} starts; "
         f"max angle {err.max():.1e} deg")
    fig.suptitle("000 Theorem 5 (Eq 16): w1_j trajectories over the data (Fig 3(b)); drawn: |w1(0)| = 0.8, w2(0) = 0.2;\n"
                 f"shares and angles: {N_STARTS} starts with |w1(0)| = 0.01, w2(0) = 1",
                 fontsize=11)
    print(f"CPU time {time.process_time() - t0:.1f} s")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    return output


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "figures" / "dual_fig3b_two_layer.png"
    print(main(out))
