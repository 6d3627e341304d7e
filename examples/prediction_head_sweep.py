"""004: where the head stops preventing collapse -- alpha_2 / alpha_1, m, and eta_E / eta, over seeds.

For each setting, SEEDS runs with the head and with E frozen at I, in the regime of
examples/prediction_head_phases.py (d = 32, P = 8, P0 = 3, alpha_1 = 4, sigma = 1, N = 256,
eta = 0.02, STEPS steps). A run is *diverse* when some neuron ends with |<w, v1>|/||w|| > 0.5 on v1
and another on v2 (the opposite of dimensional collapse); *collapsed* when every neuron ends on v1.
Left: the fraction of diverse runs against alpha_2 / alpha_1, for m = 2 and 3, with and without
the head (error bars: binomial standard error over the seeds). Middle: |Corr(f_1, f_2)| at the end
(m = 2; mean and standard deviation over the seeds). Right: the same two measures against
eta_E / eta at alpha_2 / alpha_1 = 0.5 (eta_E = 0 is the frozen head).

    python examples/prediction_head_sweep.py [output.png]
"""

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ssl_odes.prediction_head import simulate_prediction_head

BASE = dict(d=32, P=8, P0=3, alpha_1=4.0, sigma=1.0, N=256, eta=0.02, n_eval=512, dtype="float32")
STEPS = 4000
SEEDS = np.arange(6)
RATIOS = np.array([0.3, 0.5, 0.7, 0.9])
HEAD_RATES = np.array([0.0, 0.1, 0.3, 1.0, 3.0, 10.0])  # eta_E / eta


def outcome(alignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(diverse, collapsed) per run from the final alignments [..., m, 2]."""
    a = np.abs(alignment)
    learned = a.max(-1) > 0.5
    on_v1 = learned & (a[..., 0] >= a[..., 1])
    on_v2 = learned & (a[..., 1] > a[..., 0])
    return on_v1.any(-1) & on_v2.any(-1), on_v1.all(-1)


def run(**kw):
    r = simulate_prediction_head(**BASE, **kw, steps=STEPS, save_every=STEPS)
    diverse, collapsed = outcome(np.asarray(r.alignment)[..., -1, :, :])
    return diverse, collapsed, np.abs(np.asarray(r.corr)[..., -1])


def main(out: str | None = None) -> Path:
    start = time.time()
    results = {}
    for m in (2, 3):
        for head in (True, False):
            results[("ratio", m, head)] = run(alpha_2=BASE["alpha_1"] * RATIOS[:, None], seed=SEEDS[None, :], m=m,
                                              eta_E=BASE["eta"], train_head=head)
            print(f"m={m} head={head}: diverse {results[('ratio', m, head)][0].mean(1)} ({time.time() - start:.0f}s)",
                  flush=True)
    results["rate"] = run(alpha_2=0.5 * BASE["alpha_1"], seed=SEEDS[None, :], m=2,
                          eta_E=BASE["eta"] * HEAD_RATES[:, None], train_head=True)
    print(f"eta_E/eta sweep: diverse {results['rate'][0].mean(1)} ({time.time() - start:.0f}s)", flush=True)

    n = len(SEEDS)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    summary = {}
    for m, marker in ((2, "o"), (3, "s")):
        for head, colour in ((True, "C0"), (False, "C3")):
            diverse, collapsed, corr = results[("ratio", m, head)]
            frac = diverse.mean(1)
            axes[0].errorbar(RATIOS, frac, yerr=np.sqrt(frac * (1 - frac) / n), marker=marker, color=colour, capsize=3,
                             ls="-" if m == 2 else "--", label=f"m={m}, {'head' if head else 'E = I'}")
            summary[f"m{m}_{'head' if head else 'frozen'}"] = {
                "diverse": frac.tolist(), "collapsed": collapsed.mean(1).tolist(),
                "corr_mean": corr.mean(1).tolist(), "corr_std": corr.std(1).tolist()}
            if m == 2:
                axes[1].errorbar(RATIOS, corr.mean(1), yerr=corr.std(1), marker=marker, color=colour, capsize=3,
                                 label="head" if head else "E = I")
    axes[0].set_xlabel("alpha_2 / alpha_1")
    axes[0].set_ylabel(f"fraction of diverse runs ({n} seeds)")
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("alpha_2 / alpha_1")
    axes[1].set_ylabel("final |Corr(f1, f2)| (m = 2)")
    axes[1].set_ylim(-0.05, 1.05)
    axes[1].legend(fontsize=8)
    diverse, collapsed, corr = results["rate"]
    frac = diverse.mean(1)
    x = np.where(HEAD_RATES > 0, HEAD_RATES, 0.03)
    axes[2].errorbar(x, frac, yerr=np.sqrt(frac * (1 - frac) / n), marker="o", color="C0", capsize=3,
                     label="fraction diverse")
    axes[2].errorbar(x, corr.mean(1), yerr=corr.std(1), marker="s", color="k", capsize=3, label="|Corr(f1, f2)|")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("eta_E / eta (leftmost point: 0, frozen head)")
    axes[2].set_ylim(-0.05, 1.05)
    axes[2].legend(fontsize=8)
    summary["eta_E_over_eta"] = {"rates": HEAD_RATES.tolist(), "diverse": frac.tolist(),
                                 "collapsed": collapsed.mean(1).tolist(), "corr_mean": corr.mean(1).tolist(),
                                 "corr_std": corr.std(1).tolist()}
    fig.suptitle(f"004: diverse features vs dimensional collapse ({n} seeds, {STEPS} steps, d = {BASE['d']})")
    fig.tight_layout()
    path = Path(out) if out else Path(__file__).parent / "figures" / "prediction_head_sweep.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    path.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    print(f"saved {path} ({time.time() - start:.0f}s)")
    return path


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
