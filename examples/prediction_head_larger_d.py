"""004 at a larger d: does the head's effect hold seed by seed, and not only in aggregate?

The regime of examples/prediction_head_phases.py (d = 32, P = 8, P0 = 3, alpha_2 / alpha_1 = 0.5,
sigma = 1, N = 256, eta = eta_E = 0.02, 4000 steps) holds only over seeds. Here the same cubic
patch network (float32, n_eval = 1024 held-out samples) runs at d = 32, 64 and 128 with
steps = (d / 32)^2 * 4000 (4000, 16000, 64000), at alpha_1 = 4 and 5 (alpha_2 = alpha_1 / 2), and
at d = 64 with eta = 0.01 (32000 steps) or eta_E = 0.06, each for seeds 0-7 with the head trained
and with E frozen at I. A run is *diverse* / *collapsed* by examples/prediction_head_sweep.py's
rule (a neuron has learned a feature when its alignment exceeds 0.5). The goal was >= 7/8 diverse
with |Corr| < 0.3 with the head, and |Corr| > 0.9 frozen.

What it shows: the effect does not hold per seed at any d tried; the best configurations
(d = 32 or 64 with alpha_1 = 5, d = 32 with alpha_1 = 4) give 4/8 diverse with the head against
2/8 frozen, and d = 128 gives 1-2/8. jax.random.normal draws the first rows of W the same for
every d, so a seed's sqrt(d) <w_j, v_l> are the same at every d and its alignments differ only
through ||w_j|| (which concentrates at 1); in distribution too, the ratio of the two neurons'
overlaps does not depend on d: a larger d does not separate the leader from the follower. Seeds 0
and 3 (two neurons within a factor 1.1-1.2 of each other on v1 at d >= 64) collapse with the head
in every configuration at d >= 64, seed 1 learns nothing in any, and at d >= 64 the substituted
neuron often learns nothing in the budget (its v2 phase grows faster than d^2: seed 2's neuron 1
reaches v2 at step 400, 1600 and 20800 for d = 32, 64, 128 at alpha_1 = 5). |Corr| < 0.3
with the head is 5/8 everywhere, but it counts runs where one neuron learned nothing.
The PNG: per configuration, the final |Corr(f1, f2)| per seed, head against frozen (dotted: 0.3 and
0.9), and below it the features each run's two neurons end on (1 = v1, 2 = v2, 0 = none; green
diverse, red collapsed onto v1, yellow neither). The JSON holds the per-seed numbers, the scaled
initial overlaps, the step at which each neuron learned a feature, and the CPU time.

    python examples/prediction_head_larger_d.py [CONFIG ...]      # default: every configuration

Each call measures the named configurations (keys of CONFIGS), merges them into
examples/figures/prediction_head_larger_d.json and redraws the PNG from every entry there.
``--plot`` redraws without running anything. CPU time (head and frozen, 8 seeds, on the loaded
2-core machine; ~20 s of each variant is XLA compilation): d = 32 about 50 s, d = 64 about 2.5 min
(5 min at eta = 0.01), d = 128 about 9 min; all eight configurations about 32 min.
"""

import json
import resource
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from prediction_head_sweep import outcome  # examples/ is on sys.path when this file runs as a script
from ssl_odes.prediction_head import simulate_prediction_head

BASE = dict(P=8, P0=3, sigma=1.0, N=256, n_eval=1024, dtype="float32")
SEEDS = np.arange(8)
CONFIGS = {  # alpha_2 = alpha_1 / 2 throughout
    "d32": dict(d=32, alpha_1=4.0, eta=0.02, eta_E=0.02, steps=4000),
    "d64": dict(d=64, alpha_1=4.0, eta=0.02, eta_E=0.02, steps=16000),
    "d128": dict(d=128, alpha_1=4.0, eta=0.02, eta_E=0.02, steps=64000),
    "d64_eta0.01": dict(d=64, alpha_1=4.0, eta=0.01, eta_E=0.02, steps=32000),
    "d32_alpha5": dict(d=32, alpha_1=5.0, eta=0.02, eta_E=0.02, steps=4000),
    "d64_alpha5": dict(d=64, alpha_1=5.0, eta=0.02, eta_E=0.02, steps=16000),
    "d128_alpha5": dict(d=128, alpha_1=5.0, eta=0.02, eta_E=0.02, steps=64000),
    "d64_alpha5_etaE0.06": dict(d=64, alpha_1=5.0, eta=0.02, eta_E=0.06, steps=16000),
}
OUT = Path(__file__).parent / "figures" / "prediction_head_larger_d.png"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(cfg: dict) -> dict:
    """Head and frozen runs of one configuration over SEEDS: per-seed outcomes, |Corr|, features, CPU time."""
    cfg = dict(cfg)
    steps = cfg.pop("steps")
    result = {"config": {**cfg, "alpha_2": cfg["alpha_1"] / 2, "steps": steps, **BASE}, "seeds": SEEDS.tolist()}
    for head in (True, False):
        cpu, wall = _cpu_seconds(), time.time()
        r = simulate_prediction_head(**BASE, **{**cfg, "alpha_2": cfg["alpha_1"] / 2}, seed=SEEDS, steps=steps,
                                     save_every=steps // 40, train_head=head)
        t = np.asarray(r.t)
        al = np.abs(np.asarray(r.alignment))  # [seed, time, m, 2]
        diverse, collapsed = outcome(al[:, -1])
        learned = al.max(-1) > 0.5  # [seed, time, m]
        result["head" if head else "frozen"] = {
            "diverse": diverse.tolist(), "collapsed": collapsed.tolist(),
            "corr": np.abs(np.asarray(r.corr)[:, -1]).round(4).tolist(),
            "features": ["".join("0" if a.max() <= 0.5 else "1" if a[0] >= a[1] else "2" for a in run)
                         for run in al[:, -1]],
            "learned_by_step": [[int(t[k.argmax()]) if k.any() else None for k in run.T] for run in learned],
            "offdiag_peak": np.asarray(r.offdiag_norm).max(1).round(3).tolist(),
            "cpu_s": round(_cpu_seconds() - cpu, 1), "wall_s": round(time.time() - wall, 1)}
        # sqrt(d) <w_j, v_l> / ||w_j|| at step 0: the same for every d at a given seed (see the docstring)
        result["initial_overlap"] = (np.asarray(r.alignment)[:, 0] * np.sqrt(cfg["d"])).round(2).tolist()
        print(f"{cfg} head={head}: {result['head' if head else 'frozen']}", flush=True)
    return result


def plot(results: dict, path: Path) -> None:
    names = list(results)
    ncol = min(len(names), 4)
    blocks = -(-len(names) // ncol)
    fig, axes = plt.subplots(2 * blocks, ncol, figsize=(3.6 * ncol, 6.2 * blocks), squeeze=False,
                             gridspec_kw={"height_ratios": [2.2, 1] * blocks})
    for ax in axes[:, len(names) % ncol or ncol:][-2:].ravel():
        ax.axis("off")
    for i, name in enumerate(names):
        res = results[name]
        cfg, seeds = res["config"], np.asarray(res["seeds"])
        row, col = 2 * (i // ncol), i % ncol
        ax = axes[row, col]
        for key, marker, colour in (("head", "o", "C0"), ("frozen", "x", "C3")):
            ax.plot(seeds, res[key]["corr"], marker, color=colour, ms=8, label="head" if key == "head" else "E = I")
        for level in (0.3, 0.9):
            ax.axhline(level, color="grey", ls=":", lw=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks(seeds)
        ax.set_xlabel("seed")
        if col == 0:
            ax.set_ylabel("final |Corr(f1, f2)|")
            ax.legend(fontsize=8)
        counts = {k: (sum(res[k]["diverse"]), sum(res[k]["collapsed"])) for k in ("head", "frozen")}
        ax.set_title(f"d={cfg['d']}, a1={cfg['alpha_1']:g}, eta={cfg['eta']:g}, eta_E={cfg['eta_E']:g}\n"
                     f"{cfg['steps']} steps; diverse/collapsed: head {counts['head'][0]}/{counts['head'][1]}, "
                     f"E=I {counts['frozen'][0]}/{counts['frozen'][1]}", fontsize=8)
        ax = axes[row + 1, col]
        grid = np.array([[1.0 if dv else 0.0 if co else 0.5 for dv, co in zip(res[k]["diverse"], res[k]["collapsed"])]
                         for k in ("head", "frozen")])
        ax.imshow(grid, cmap="RdYlGn", vmin=-0.2, vmax=1.2, aspect="auto")
        for k, key in enumerate(("head", "frozen")):
            for s, code in enumerate(res[key]["features"]):
                ax.text(s, k, code, ha="center", va="center", fontsize=9)
        ax.set_yticks([0, 1], ["head", "E = I"])
        ax.set_xticks(range(len(seeds)), seeds)
        ax.set_xlabel("seed: features of neurons 1, 2")
    fig.suptitle("004 per seed: the two neurons' features with the head and with E = I (8 seeds each)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> Path:
    json_path = OUT.with_suffix(".json")
    if "--plot" not in argv:
        for name in [a for a in argv if not a.startswith("--")] or list(CONFIGS):
            entry = measure(CONFIGS[name])
            # re-read just before writing, so that calls running side by side keep each other's entries
            results = json.loads(json_path.read_text()) if json_path.exists() else {}
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps({**results, name: entry}, indent=1))
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results = {name: results[name] for name in CONFIGS if name in results}
    plot(results, OUT)
    print(f"saved {OUT} and {json_path}")
    return OUT


if __name__ == "__main__":
    main(sys.argv[1:])
