"""004 per seed, conditioned on the initialisation: when does the head decide the outcome?

examples/prediction_head_larger_d.py found that the head's effect (Thm 4.1 vs Thm 4.3) is a count
over seeds, not a law per seed, and that the outcome is set by the initial overlaps
``b_jl = <w_j(0), v_l>``. The paper's argument (Sec 5.1: "assume at initialization, the neuron f1
has larger v1") needs a *leader*: one neuron ahead on v1 by enough that it learns v1 while the
other has not. This script states that event before training and scores the runs by it.

The race is :func:`ssl_odes.prediction_head.initial_race` (derived in ``_race.py``; not printed
in the paper): ``s_jl = alpha_l^1.5 |<w_j, v_l>| / ||w_j||^1.5``, neuron ``j`` learns feature
``l`` at ``tau_jl ~ s_jl^-4``. Per seed, from ``W(0)`` alone:

* **leader** ``L = argmax_j s_j1``, follower ``F``; the lead ``q = s_L1 / s_F1``;
* **both prefer v1**: ``s_j1 > s_j2`` for both neurons (else a neuron heads for v2 without any
  head: the run is diverse with ``E = I`` too, and says nothing about the head);
* **leader event** (``q >= Q_MIN``): the leader learns v1 ``q^4`` times sooner than the follower,
  the window in which the head substitutes ``E_FL f_L`` for ``f_F``.

The paper's argument predicts, for runs with both preferring v1: ``E = I`` collapses (Thm 4.3);
with the head the run is diverse under the leader event (Thm 4.1). Runs can also stall (a neuron
learns nothing in the budget). What 64 seeds show (README, notes/issue-14.md): the first holds
(37 of 42 collapse), the second does not per seed (with the leader event, 11 diverse, 13
collapsed, 9 stalled of 33 after 16000 steps; at ``eta_E = 0.1 eta`` 24 of 33 collapse).

Regime: that of examples/prediction_head_phases.py and tests/test_prediction_head_training.py:
d = 32, P = 8, P0 = 3, alpha_1 = 4, alpha_2 = 2, sigma = 1, N = 256, eta = eta_E = 0.02, 4000
steps, float32, n_eval = 1024; seeds 0 .. SEEDS-1, head trained and ``E = I``.

    python examples/prediction_head_conditioned.py [SEEDS] [STEPS] [ETA_E]   # default 64 seeds, 4000 steps, 0.02

Writes examples/figures/prediction_head_conditioned.{png,json}: the lead ``q`` against the
outcome with the head and frozen, and the table of outcomes per class of initialisation.
"""

import json
import resource
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from prediction_head_sweep import outcome  # noqa: E402  (examples/ is on sys.path when run as a script)
from ssl_odes.prediction_head import initial_race, simulate_prediction_head  # noqa: E402

REGIME = dict(d=32, P=8, P0=3, alpha_1=4.0, alpha_2=2.0, sigma=1.0, N=256, eta=0.02, eta_E=0.02, n_eval=1024,
              dtype="float32")
STEPS = 4000
SEEDS = 64
#: The leader event: the leader's race variable on v1 at least this many times the follower's.
Q_MIN = 1.3
OUT = Path(__file__).parent / "figures" / "prediction_head_conditioned.png"


def out_path(steps: int, eta_E: float = REGIME["eta_E"]) -> Path:
    """The PNG (and, beside it, the JSON) of a run of ``steps`` steps at head rate ``eta_E``."""
    tag = ("" if steps == STEPS else f"_{steps}") + ("" if eta_E == REGIME["eta_E"] else f"_etaE{eta_E:g}")
    return OUT.with_name(f"{OUT.stem}{tag}.png")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def label(diverse: np.ndarray, collapsed: np.ndarray) -> np.ndarray:
    return np.where(diverse, "diverse", np.where(collapsed, "collapsed", "stalled"))


def main(num_seeds: int = SEEDS, steps: int = STEPS, eta_E: float = REGIME["eta_E"]) -> Path:
    seeds = np.arange(num_seeds)
    race = initial_race(seeds, d=REGIME["d"], m=2, alpha_1=REGIME["alpha_1"], alpha_2=REGIME["alpha_2"])
    start = _cpu()
    runs = {}
    for head in (True, False):
        r = simulate_prediction_head(**{**REGIME, "eta_E": eta_E}, seed=seeds, steps=steps, save_every=steps,
                                     train_head=head)
        al = np.abs(np.asarray(r.alignment)[:, -1])
        runs[head] = (label(*outcome(al)), np.abs(np.asarray(r.corr)[:, -1]))
    cpu = _cpu() - start
    both_v1, lead = race.all_prefer_v1, race.lead
    classes = {
        f"both prefer v1, q >= {Q_MIN} (leader event)": both_v1 & (lead >= Q_MIN),
        f"both prefer v1, q < {Q_MIN}": both_v1 & (lead < Q_MIN),
        "a neuron prefers v2 at init": ~both_v1,
    }
    table = {}
    for name, mask in classes.items():
        row = {"seeds": int(mask.sum())}
        for head, key in ((True, "head"), (False, "frozen")):
            outs = runs[head][0][mask]
            row[key] = {k: int(np.sum(outs == k)) for k in ("diverse", "collapsed", "stalled")}
            row[key]["corr_median"] = float(np.median(runs[head][1][mask])) if mask.any() else None
        table[name] = row
        print(f"{name}: {row}")
    print(f"CPU {cpu:.0f} s for {2 * num_seeds} runs of {steps} steps")
    result = {"regime": {**REGIME, "eta_E": eta_E, "steps": steps}, "q_min": Q_MIN, "cpu_s": round(cpu, 1), "table": table,
              "per_seed": [{"seed": int(s), "lead": round(float(lead[i]), 3), "both_prefer_v1": bool(both_v1[i]),
                            "head": str(runs[True][0][i]), "frozen": str(runs[False][0][i]),
                            "corr_head": round(float(runs[True][1][i]), 4),
                            "corr_frozen": round(float(runs[False][1][i]), 4)} for i, s in enumerate(seeds)]}
    out = out_path(steps, eta_E)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True, constrained_layout=True)
    colours = {"diverse": "C2", "collapsed": "C3", "stalled": "C1"}
    rng = np.random.default_rng(0)
    for ax, head in zip(axes, (True, False)):
        outs, corr = runs[head]
        for kind, colour in colours.items():
            for pref, marker in ((True, "o"), (False, "^")):
                sel = (outs == kind) & (both_v1 == pref)
                ax.scatter(np.log10(lead[sel]), corr[sel] + rng.uniform(-0.015, 0.015, sel.sum()), c=colour,
                           marker=marker, s=36, edgecolors="k", linewidths=0.4,
                           label=f"{kind}{'' if pref else ' (a neuron prefers v2)'}")
        ax.axvline(np.log10(Q_MIN), color="grey", ls="--", lw=1)
        ax.set_xlabel("log10 lead q = s_L1 / s_F1 at init (s_jl = alpha_l^1.5 |<w_j, v_l>| / ||w_j||^1.5)")
        ax.set_title(("head trained" if head else "E frozen at I") + f": final |Corr(f1, f2)|, {num_seeds} seeds")
    axes[0].set_ylabel("final |Corr(f1, f2)|")
    axes[1].legend(fontsize=7, loc="center right")
    fig.suptitle(f"004, d = 32, alpha_2/alpha_1 = 0.5, {steps} steps, eta_E/eta = {eta_E / REGIME['eta']:g}: "
                 f"outcome against the initial lead (dashed: q = {Q_MIN})")
    fig.savefig(out, dpi=110)
    print(f"saved {out}")
    return out


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]), *(float(a) for a in sys.argv[3:4]))
