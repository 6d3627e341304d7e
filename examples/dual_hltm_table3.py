"""000 Table 3: SimCLR on binary HLTM data with a deep ReLU network (L = 5), on CPU.

For rho_low in {0.7, 0.8, 0.9} and |N_mu| in {2, 5}: the normalised correlation between each
latent and its best node, at initialisation, after 1 epoch and after the last epoch, mean and
s.d. over the seeds, beside the paper's values; and, for the root, the median and quartiles over
the seeds and the fraction of seeds whose correlation rises by more than 0.05 (with |N_mu| = 2 most
seeds start nearly collapsed, so a mean over 3 seeds says little: seeds 0 and 1 are dead at
initialisation, and over 20 seeds the width-2 column does rise). Settings (every one the paper
leaves open) are those of HLTMExperimentConfig, printed below: by default Eq 2 at temperature 0.1,
plain SGD lr 0.1, batch 128, H = 1 independent negative, uniform init with biases; "topmost" =
the root z0 and the output nodes, and the level below it (the top hidden layer) is shown too.
``--authors`` switches to what the authors' code runs: loss -sigmoid((N - P)/tau) at tau 0.01,
signed polarities, normalisation eps 1e-4 (each can also be set alone). The defaults are the
paper's 20 epochs x 64000 samples and 3 seeds; the script prints the CPU time (all six
configurations: 186 s for 3 seeds, 937-1038 s for 20, on the 2-core VM). Runs of one shape share one
compile, so many seeds are cheap.

    python examples/dual_hltm_table3.py [output.png] [epochs] [samples_per_epoch]
        [--seeds N] [--only RHO_LOW WIDTH] [--authors] [--loss {infonce,authors}] [--tau T]
        [--signed] [--norm-eps EPS] [--plot-only]

The per-seed correlations go to a JSON beside the PNG (``--plot-only`` redraws from it). The
figure shows, per configuration, the root's median over the seeds with its interquartile band
(with ``|N_mu| = 2`` the seeds are bimodal: some start dead, so a mean +/- s.d. hides the shape)
and the paper's values at 0, 1 and 20 epochs.
"""

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.dual_networks import PAPER_TABLE3, HLTMExperimentConfig, hltm_experiment  # noqa: E402

EPOCHS = 20
SAMPLES_PER_EPOCH = 64_000
SEEDS = 3
#: The root correlation must rise by more than this for a seed to count as "rising".
RISE = 0.05
#: What the authors' code runs (facebookresearch/luckmatters ssl/hltm, conf/hltm.yaml).
AUTHORS = dict(loss="authors", tau=0.01, signed_polarity=True, norm_eps=1e-4)


def root_summary(runs: np.ndarray) -> str:
    """Median [quartiles] of the root correlation at init and at the end over seeds, and the fraction rising."""
    first, last = runs[:, 0, 0], runs[:, -1, 0]
    q = lambda v: "{1:.2f} [{0:.2f}, {2:.2f}]".format(*np.percentile(v, [25, 50, 75]))  # noqa: E731
    rising = int(np.sum(last - first > RISE))
    return f"root median [q1, q3]: {q(first)} -> {q(last)}; rises by > {RISE}: {rising}/{len(runs)}"


def plot(all_runs: dict, output: Path, title: str) -> None:
    """Root correlation per epoch: median over seeds, interquartile band, the paper's values dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for (rho_low, width), runs in all_runs.items():
        runs = np.asarray(runs)
        ax = axes[0 if width == 2 else 1]
        epochs = np.arange(runs.shape[1])
        q1, med, q3 = np.percentile(runs[:, :, 0], [25, 50, 75], axis=0)
        line, = ax.plot(epochs, med, label=f"rho_low = {rho_low}: median, quartiles")
        ax.fill_between(epochs, q1, q3, color=line.get_color(), alpha=0.15)
        ax.plot([0, 1, epochs[-1]], PAPER_TABLE3[(rho_low, width)], "o--", color=line.get_color(), alpha=0.7,
                label=f"rho_low = {rho_low}: paper")
    for ax, width in zip(axes, (2, 5)):
        n = len(next(iter(all_runs.values()))) if all_runs else 0
        ax.set_title(f"|N_mu| = {width}: root z0, {n} seeds (paper dashed, at 0, 1, 20 epochs)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("correlation of z0 with its best output node")
        ax.set_ylim(-0.02, 1.02)
        if ax.lines:
            ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(title, fontsize=10)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)


def main(output: Path, epochs: int = EPOCHS, samples: int = SAMPLES_PER_EPOCH, seeds: int = SEEDS,
         only: tuple[float, int] | None = None, plot_only: bool = False, **settings) -> Path:
    data = output.with_suffix(".json")
    if plot_only:
        saved = json.loads(data.read_text())
        plot({(r["rho_low"], r["width"]): r["runs"] for r in saved["results"]}, output, saved["title"])
        return output
    start = time.process_time()
    base = HLTMExperimentConfig(epochs=epochs, samples_per_epoch=samples, **settings)
    print(base)
    table = {key: paper for key, paper in PAPER_TABLE3.items() if only is None or key == only}
    rows, summaries, all_runs = [], [], {}
    for (rho_low, width), paper in table.items():
        runs = np.stack([hltm_experiment(base, rho_low=rho_low, width=width, seed=s)["correlation"]
                         for s in range(seeds)])  # [seed, epoch, level]
        all_runs[(rho_low, width)] = runs
        mean, sd = runs.mean(0), runs.std(0)
        for level in (0, 1):
            picked = [0, 1, epochs]
            cells = " -> ".join(f"{mean[e, level]:.2f}+/-{sd[e, level]:.2f}" for e in picked)
            rows.append(f"| {rho_low} | {width} | {'root z0' if level == 0 else 'level 1'} | {cells} | "
                        f"{' -> '.join(f'{v:.2f}' for v in paper)} |")
        summaries.append(f"rho_low {rho_low}, |N_mu| {width}, {seeds} seeds: {root_summary(runs)}")
        print(rows[-2], rows[-1], summaries[-1], sep="\n", flush=True)
    cpu = time.process_time() - start
    title = (f"000 Table 3 on CPU (depth 5, loss {base.loss}, tau {base.tau}, SGD lr {base.lr}, batch {base.batch}): "
             f"{epochs} epochs x {samples} samples (paper: 20 x 64000); CPU {cpu:.0f} s")
    print("| rho_low | N_mu | latents | ours: init -> 1 epoch -> last | paper: init -> 1 -> 20 |")
    print("\n".join(rows))
    print("\n".join(summaries))
    print(f"CPU time {cpu:.0f} s")
    output.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(json.dumps({"title": title, "config": str(base), "cpu_s": round(cpu, 1), "results": [
        {"rho_low": k[0], "width": k[1], "runs": np.round(v, 4).tolist()} for k, v in all_runs.items()]}))
    plot(all_runs, output, title)
    return output


def parse(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=Path(__file__).parent / "figures" / "dual_hltm_table3.png")
    parser.add_argument("epochs", nargs="?", type=int, default=EPOCHS)
    parser.add_argument("samples", nargs="?", type=int, default=SAMPLES_PER_EPOCH)
    parser.add_argument("--seeds", type=int, default=SEEDS, help="seeds 0 .. N-1 per configuration")
    parser.add_argument("--only", nargs=2, metavar=("RHO_LOW", "WIDTH"), help="one configuration of the table")
    parser.add_argument("--authors", action="store_true", help="loss, tau, signed polarities and eps of the authors' code")
    parser.add_argument("--loss", choices=("infonce", "authors"))
    parser.add_argument("--tau", type=float)
    parser.add_argument("--signed", action="store_true", help="polarities +/- U[rho_low, 1]")
    parser.add_argument("--norm-eps", type=float)
    parser.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON beside it")
    args = parser.parse_args(argv)
    settings = dict(AUTHORS) if args.authors else {}
    settings.update({k: v for k, v in (("loss", args.loss), ("tau", args.tau), ("norm_eps", args.norm_eps)) if v is not None})
    if args.signed:
        settings["signed_polarity"] = True
    only = (float(args.only[0]), int(args.only[1])) if args.only else None
    if only is not None and only not in PAPER_TABLE3:
        parser.error(f"--only must be one of the table's configurations {sorted(PAPER_TABLE3)}; got {only}")
    return dict(output=args.output, epochs=args.epochs, samples=args.samples, seeds=args.seeds, only=only,
                plot_only=args.plot_only, **settings)


if __name__ == "__main__":
    print(main(**parse()))
