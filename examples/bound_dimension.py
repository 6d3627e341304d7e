"""003 Sec 5: the dimension term V(d) = (K - d)/d^2 of the error bound, smallest at d = 2K.

Left: V(d) for K = 10 (CIFAR-10) and K = 100 (CIFAR-100), minimum -1/(4K) at d = 2K (dots).
V > 0 for d < K: there the bound of Thm 3 exceeds (K - d)/d^2 and becomes vacuous for small d
(K = 100, d = 4: 6). Middle: K V(d) against d/K is one curve (1 - x)/x^2, minimum -1/4 at x = 2.
Right: synthetic latent-class features (K = 10, eps = 0.05, random class directions) in d
dimensions: Thm 3's bound and L_bound (Eq 11) against d. The classes are separated, so the
nearest-mean error is 0 at every d. The bound is vacuous (> 1) for d < 4 and falls with d, but
it levels off beyond d ~ K instead of following V(d). Features that sit near K directions cannot
make Lambda = E[f f^T] close to I_d once d > K: L_cor grows like d^2/K, and 2 L_cor/d^2
approaches a constant.

    python examples/bound_dimension.py [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ssl_odes import bounds


def main(output: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), constrained_layout=True)
    ax = axes[0]
    for K, colour in ((10, "C0"), (100, "C1")):
        d = np.arange(1, 20 * K + 1)
        v = np.asarray(bounds.dimension_term(d, K))
        ax.plot(d, v, color=colour, label=rf"$K = {K}$")
        ax.plot(2 * K, -1 / (4 * K), "o", color=colour)
        ax.annotate(rf"$d = 2K = {2 * K}$", (2 * K, -1 / (4 * K)), textcoords="offset points", xytext=(5, -14),
                    color=colour)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("output dimension d")
    ax.set_ylabel(r"$V(d) = (K - d)/d^2$")
    ax.set_title(r"dimension term of Thm 3 / Eq 11 (symlog)")
    ax.legend()

    ax = axes[1]
    for K, style in ((10, "-"), (100, "--")):
        d = np.arange(1, 20 * K + 1)
        ax.plot(d / K, K * np.asarray(bounds.dimension_term(d, K)), style, label=rf"$K = {K}$")
    ax.plot(2, -0.25, "ko")
    ax.set_xlim(0.5, 8)
    ax.set_ylim(-0.3, 1.0)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel(r"$d / K$")
    ax.set_ylabel(r"$K\,V(d)$")
    ax.set_title(r"$K V = (1 - x)/x^2$, $x = d/K$: minimum $-1/4$ at $x = 2$")
    ax.legend()

    ax = axes[2]
    K, eps = 10, 0.05
    dims = np.array([2, 3, 4, 5, 6, 8, 10, 14, 20, 30, 40, 60, 100])
    rows = []
    for d in dims:
        data = bounds.latent_class_features(2000, int(d), K, eps, seed=int(d))
        lc = float(bounds.l_cor(data.views))
        rows.append((
            bounds.nearest_mean_error(data.views, data.view_labels),
            float(bounds.error_bound(lc, int(d), eps, class_probs=data.class_probs)),
            float(bounds.l_bound(lc, int(d), K)),
            2.0 * lc / d**2,
        ))
    error, printed, l_bnd, cor_term = np.array(rows).T
    ax.plot(dims, printed, "s-", label="Thm 3 bound")
    ax.plot(dims, l_bnd, "v-", label=r"$L_{bound} = 2 L_{cor}/d^2 + V(d)$ (Eq 11)")
    ax.plot(dims, cor_term, "^--", label=r"$2 L_{cor}/d^2$")
    ax.plot(dims, np.asarray(bounds.dimension_term(dims, K)).clip(1e-3), ":", color="0.4",
            label=r"$V(d)$ (clipped at $10^{-3}$)")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.axvline(2 * K, color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("output dimension d")
    ax.set_title(rf"synthetic features, $K = {K}$, $\epsilon = {eps}$: Er = {error.max():g} at every d")
    ax.legend(fontsize=8)
    fig.suptitle(r"003 Sec 5: $V(d) = (K - d)/d^2$ is smallest at $d = 2K$")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"Er {np.round(error, 3)}; wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "bound_dimension.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
