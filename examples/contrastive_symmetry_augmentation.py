"""001 App. B.5: a rotation-group augmentation removes the local optima that lack its symmetry.

Toy case: 7 Gaussian points x_0 in R^3, ReLU, uniform alpha. Left: no augmentation. Right: the
augmentation x = R(t) x_0 with R(t) the rotations of the (x_1, x_2) plane, t uniform (SO(2)), in the
large-batch limit of Lemma 2 (exact closed-form average, rotation_augmented_operator). The energy
E(w) = 1/2 w^T A(w) w is drawn over the sphere (azimuth of w in the rotated plane, elevation towards
e_3); the LMEs that find_lmes reports (power iteration from 128 starts, eps = 0.5) are marked.
With the augmentation the energy no longer depends on the azimuth, so every w off the e_3 axis lies
on a ring of critical points; only +/- e_3 (the invariant directions) remain isolated LMEs.

    python examples/contrastive_symmetry_augmentation.py [output.png]
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.contrastive import contrastive_operator, find_lmes, rotation_augmented_operator  # noqa: E402


def main(output: Path) -> Path:
    x0 = np.random.default_rng(2).normal(size=(7, 3))
    azimuth = np.linspace(-np.pi, np.pi, 181)
    elevation = np.linspace(-np.pi / 2, np.pi / 2, 91)
    az, el = np.meshgrid(azimuth, elevation)
    W = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1).reshape(-1, 3)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), constrained_layout=True)
    for ax, (name, op) in zip(axes, (("no augmentation", contrastive_operator(x0, activation="relu")),
                                     ("SO(2) rotation augmentation", rotation_augmented_operator(x0)))):
        energy = np.asarray(jax.vmap(op.energy)(W)).reshape(az.shape)
        mesh = ax.pcolormesh(az, el, energy, shading="auto", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=r"$\mathcal{E}(w)$")
        found = find_lmes(op, num_starts=128, seed=0, eps=0.5)
        lmes = found.lmes
        off_axis = int(np.sum(np.linalg.norm(lmes[:, :2], axis=1) > 1e-6))
        ax.plot(np.arctan2(lmes[:, 1], lmes[:, 0]), np.arcsin(np.clip(lmes[:, 2], -1, 1)), "r*", ms=14,
                mec="w", label=f"LMEs: {len(lmes)} ({off_axis} off the symmetry axis)")
        ax.set_title(name)
        ax.set_xlabel("azimuth of w in the rotated plane")
        ax.set_ylabel("elevation of w towards $e_3$")
        ax.legend(loc="lower right")
        print(f"{name}: {len(lmes)} LMEs, {off_axis} off the axis; unassigned PI starts {found.unassigned_pi:.2f}")
        print(found.table())
    fig.suptitle("001 App. B.5: the augmentation leaves only the rotation-invariant LMEs ($\\pm e_3$)")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "contrastive_symmetry_augmentation.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
