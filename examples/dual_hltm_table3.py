"""000 Table 3: SimCLR (InfoNCE) on binary HLTM data with a deep ReLU network (L = 5), on CPU.

For rho_low in {0.7, 0.8, 0.9} and |N_mu| in {2, 5}: the normalised correlation between each
latent and its best node, at initialisation, after 1 epoch and after the last epoch, mean and
s.d. over 3 seeds, beside the paper's values. Settings (every one the paper leaves open) are those
of HLTMExperimentConfig, printed below: temperature 0.1, plain SGD lr 0.1, batch 128, H = 1
independent negative, uniform init with biases; "topmost" = the root z_0 and the output nodes,
and the level below it (the top hidden layer) is shown too. EPOCHS and SAMPLES_PER_EPOCH are cut
from the paper's 20 x 64000 to what this CPU allows; the script prints the CPU time.

    python examples/dual_hltm_table3.py [output.png] [epochs] [samples_per_epoch]
"""

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.dual_networks import PAPER_TABLE3, HLTMExperimentConfig, hltm_experiment  # noqa: E402

EPOCHS = 5
SAMPLES_PER_EPOCH = 16_000
SEEDS = (0, 1, 2)


def main(output: Path, epochs: int = EPOCHS, samples: int = SAMPLES_PER_EPOCH) -> Path:
    start = time.process_time()
    print(HLTMExperimentConfig(epochs=epochs, samples_per_epoch=samples))
    rows = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for (rho_low, width), paper in PAPER_TABLE3.items():
        runs = np.stack([hltm_experiment(rho_low=rho_low, width=width, epochs=epochs, samples_per_epoch=samples,
                                         seed=s)["correlation"] for s in SEEDS])  # [seed, epoch, level]
        mean, sd = runs.mean(0), runs.std(0)
        for level in (0, 1):
            picked = [0, 1, epochs]
            cells = " -> ".join(f"{mean[e, level]:.2f}+/-{sd[e, level]:.2f}" for e in picked)
            rows.append(f"| {rho_low} | {width} | {'root z0' if level == 0 else 'level 1'} | {cells} | "
                        f"{' -> '.join(f'{v:.2f}' for v in paper)} |")
        ax = axes[0 if width == 2 else 1]
        ax.errorbar(np.arange(epochs + 1), mean[:, 0], sd[:, 0], label=f"rho_low={rho_low} (root)", capsize=2)
        ax.plot([0, 1, epochs], paper, "o--", color=ax.lines[-1].get_color(), alpha=0.6)
        print(rows[-2], rows[-1], sep="\n", flush=True)
    for ax, width in zip(axes, (2, 5)):
        ax.set_title(f"|N_mu| = {width}: ours (mean +/- s.d., 3 seeds), paper (dashed, at 0, 1, 20 epochs)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("correlation of z0 with its best output node")
        ax.legend(fontsize=8)
    cpu = time.process_time() - start
    fig.suptitle(f"000 Table 3 on CPU: {epochs} epochs x {samples} samples (paper: 20 x 64000); CPU {cpu:.0f} s")
    print("| rho_low | N_mu | latents | ours: init -> 1 epoch -> last | paper: init -> 1 -> 20 |")
    print("\n".join(rows))
    print(f"CPU time {cpu:.0f} s")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    return output


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "figures" / "dual_hltm_table3.png"
    args = [int(a) for a in sys.argv[2:4]]
    print(main(out, *args))
