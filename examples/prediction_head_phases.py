"""004 Figs 2-3 in the synthetic setting: the head's substitution and acceleration, and collapse without it.

Two neurons (m = 2) of the cubic patch network trained by online SGD on Eq 3.3 (Sec 3.2), the
same seed with the head (off-diagonal of E trained, left) and with E frozen at I (right).
Top: the alignments <w_j, v_l> / ||w_j||. Middle: ||offdiag(E)||_F = ||E - I||_F rising then
falling, and ||E - E^T||_F. Bottom: |Corr(f_1, f_2)| on held-out samples, and each neuron's loss
term of Eq 3.3 against footnote 3's OPT. Dashed lines: the phase boundaries T1, T2, T3, T_end
(detect_phases). The regime (d = 32, P = 8, P0 = 3, alpha_1 = 4, alpha_2 = 2, sigma = 1,
N = 256, eta = eta_E = 0.02) is the one of tests/test_prediction_head_training.py.

    python examples/prediction_head_phases.py [seed] [output.png]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ssl_odes.prediction_head import detect_phases, optimal_loss, simulate_prediction_head

REGIME = dict(d=32, P=8, P0=3, alpha_1=4.0, alpha_2=2.0, sigma=1.0, N=256, eta=0.02, eta_E=0.02)
STEPS, SAVE_EVERY = 4000, 40


def main(seed: int = 2, out: str | None = None) -> Path:
    runs = {head: simulate_prediction_head(**REGIME, train_head=head, seed=seed, steps=STEPS, save_every=SAVE_EVERY,
                                           n_eval=2048, dtype="float32")
            for head in (True, False)}
    opt = optimal_loss(REGIME["P"], REGIME["P0"])
    fig, axes = plt.subplots(3, 2, figsize=(11, 9), sharex=True)
    phases = detect_phases(runs[True])
    for col, head in enumerate((True, False)):
        r = runs[head]
        t = np.asarray(r.t)
        al = np.asarray(r.alignment)
        ax = axes[0, col]
        for j, colour in zip(range(2), ("C0", "C3")):
            ax.plot(t, al[:, j, 0], color=colour, label=f"<w{j + 1}, v1>/|w{j + 1}|")
            ax.plot(t, al[:, j, 1], color=colour, ls=":", label=f"<w{j + 1}, v2>/|w{j + 1}|")
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(("with the head (E off-diagonal trained)" if head else "E frozen at I (no head)") + f", seed {seed}")
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        ax = axes[1, col]
        ax.plot(t, np.asarray(r.offdiag_norm), color="k", label="||offdiag(E)||_F")
        ax.plot(t, np.asarray(r.asymmetry), color="C2", ls="--", label="||E - E^T||_F")
        ax.plot(t, np.asarray(r.E_21), color="C1", lw=0.8, label="E_21")
        ax.plot(t, np.asarray(r.E_12), color="C4", lw=0.8, label="E_12")
        ax.legend(fontsize=7)
        ax = axes[2, col]
        ax.plot(t, np.abs(np.asarray(r.corr)), color="k", label="|Corr(f1, f2)| (held out)")
        loss = np.asarray(r.loss)
        ax.plot(t, loss[:, 0], color="C0", lw=0.8, label="loss term, neuron 1")
        ax.plot(t, loss[:, 1], color="C3", lw=0.8, label="loss term, neuron 2")
        ax.axhline(opt, color="grey", ls=":", label=f"OPT = {opt:.3f} (footnote 3)")
        ax.set_ylim(0, 2.2)
        ax.set_xlabel("SGD step")
        ax.legend(fontsize=7, loc="upper right")
    for i, (name, value) in enumerate((("T1", phases.T1), ("T2", phases.T2), ("T3", phases.T3),
                                       ("T_end", phases.T_end))):
        if np.isfinite(value):
            for ax in axes[:, 0]:
                ax.axvline(value, color="grey", ls="--", lw=0.8)
            axes[0, 0].text(value, 1.0 - 0.1 * i, f" {name}", fontsize=8, va="top")
    fig.suptitle("004: the prediction head's substitution and acceleration (left) vs dimensional collapse (right)")
    fig.tight_layout()
    path = Path(out) if out else Path(__file__).parent / "figures" / "prediction_head_phases.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"phases (seed {seed}): {phases}")
    print(f"final |Corr|: head {float(np.abs(runs[True].corr[-1])):.3f}, no head {float(np.abs(runs[False].corr[-1])):.3f}")
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2, sys.argv[2] if len(sys.argv) > 2 else None)
