"""004 Figs 1 and 3 on digits: the identity-initialised linear head (diagonal frozen) beside the MLP head.

SimSiam (and BYOL with ``--byol``) on scikit-learn's digits (the empirical companion's default small ResNet, 500
steps, batch 256), with predictor="identity_head" (E = I + offdiag, only the off-diagonal trained,
004 Fig 1's head) and with the usual MLP predictor. Left: ||offdiag(E)||_F over training (004
Fig 3a's rise and fall). Right: ||E - E^T||_F (004 Fig 3b: E need not become symmetric). The
k-NN test accuracies of all runs are printed and written beside the figure as JSON.

    python examples/prediction_head_digits.py [--byol] [output.png]

Each run also writes its records (JSON lines) beside the figure as it trains.
"""

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ssl_odes.empirical import data, train
from ssl_odes.empirical.config import TrainConfig

STEPS, LOG_EVERY = 500, 25


def main(out: str | None = None, methods: tuple[str, ...] = ("simsiam",)) -> Path:
    path = Path(out) if out else Path(__file__).parent / "figures" / "prediction_head_digits.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    digits = data.load_digits()
    results = {}
    for method in methods:
        for predictor in ("identity_head", "mlp"):
            start = time.time()
            config = TrainConfig(method=method, predictor=predictor, steps=STEPS, log_every=LOG_EVERY, seed=0)
            records = path.with_name(f"{path.stem}_{method}_{predictor}.jsonl")
            result = train(config, dataset=digits, records_path=records)
            spectra = [r for r in result.records if r["kind"] == "spectra"]
            results[f"{method}/{predictor}"] = {
                "knn_init": result.evaluation["knn_init"], "knn": result.evaluation["knn"],
                "linear_probe": result.evaluation["linear_probe"],
                "steps": [r["step"] for r in spectra],
                "offdiag_norm": [r.get("offdiag_norm") for r in spectra],
                "head_asymmetry": [r.get("head_asymmetry") for r in spectra],
                "seconds": time.time() - start,
            }
            print(method, predictor, {k: v for k, v in results[f"{method}/{predictor}"].items()
                                      if k in ("knn_init", "knn", "linear_probe", "seconds")}, flush=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, colour in zip(methods, ("C0", "C3")):
        r = results[f"{method}/identity_head"]
        axes[0].plot(r["steps"], r["offdiag_norm"], color=colour,
                     label=f"{method} (k-NN {r['knn']:.3f}; MLP head {results[f'{method}/mlp']['knn']:.3f})")
        axes[1].plot(r["steps"], r["head_asymmetry"], color=colour, label=method)
    axes[0].set_ylabel("||offdiag(E)||_F")
    axes[1].set_ylabel("||E - E^T||_F")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.suptitle("004 Fig 3 on digits: the identity-initialised head (diagonal frozen)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    path.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(paths[0] if paths else None, ("simsiam", "byol") if "--byol" in flags else ("simsiam",))
