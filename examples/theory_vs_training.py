"""Theory beside practice: real training runs (Flax) against 002's decoupled flow and its Fig 2.

Top row: a linear encoder trained by gradient descent on isotropic Gaussian data (X = I,
X' = sigma2 I) with the un-normalised loss of 002 Eq 1 (lr = 0.01, batch 4096, EMA target,
weight decay, alpha_p = 2), started aligned (W0 = U diag(sqrt(s0)) V^T, Wp0 = U diag(p0) U^T).
Circles: the measured eigenvalues s_j of F = W W^T, p_j = u_j^T Wp u_j and tau_j; lines:
ssl_odes.simulate_byol_modes started from the measured (p_j(0), s_j(0), tau_j(0)) with
t = lr x step, beta = (1 - gamma_ema)/lr, eta = weight_decay. The right panel is the relative
error of s_j.

Bottom row: 002 Fig 2 on the embedded digits: BYOL with a linear predictor on a small ResNet
(cosine loss, SGD + momentum, cosine schedules): log s_j, p_j, the alignment cos(u_j, Wp u_j)
and the asymmetry of Wp over training.

    PYTHONPATH=src python examples/theory_vs_training.py [output.png]     # about 2-3 minutes on a laptop CPU
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # the ODE in float64; the networks train in float32

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.empirical import theory, training  # noqa: E402
from ssl_odes.empirical.config import TrainConfig  # noqa: E402
from ssl_odes.plot import plot_training_spectra  # noqa: E402

S0 = np.array([1.0, 0.6, 0.45, 0.3, 0.15, 0.05])
P0 = np.array([1.2, 0.5, 0.9, 0.2, 0.7, 0.35])


def linear_run():
    d = len(S0)
    config = TrainConfig(
        method="byol", predictor="linear", encoder="linear", dataset="synthetic", input_dim=d, feature_dim=d,
        projector_hidden=0, loss="l2", symmetric_loss=False, gamma_ema=0.99, ema_schedule="constant", lr=0.01,
        momentum=0.0, weight_decay=0.01, alpha_p=2.0, lr_schedule="constant", batch_size=4096, steps=1500,
        sigma2=0.2, log_every=25,
    )
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.normal(size=(d, d)))
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    params = {"encoder": {"W": U @ np.diag(np.sqrt(S0)) @ V.T}, "predictor": {"Wp": U @ np.diag(P0) @ U.T}}
    return training.train(config, params=params)


def digits_run():
    config = TrainConfig(method="byol", predictor="linear", steps=500, log_every=10)
    return training.train(config)


def main(output: Path) -> Path:
    linear = linear_run()
    digits = digits_run()
    fig = plt.figure(figsize=(17, 8), constrained_layout=True)
    grid = fig.add_gridspec(2, 4)
    top = [fig.add_subplot(grid[0, k]) for k in range(4)]
    prediction, _ = theory.overlay(linear.records, axes=top[:3])
    matched = theory.match_modes(linear.records, prediction)
    predicted_s = np.asarray(prediction.s).T
    error = np.abs(matched["s"] - predicted_s) / predicted_s
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, error.shape[1]))
    for j, colour in enumerate(colours):
        top[3].semilogy(matched["t"][1:], error[1:, j], lw=1.0, color=colour)
    top[3].set_xlabel("t = lr x step")
    top[3].set_ylabel(r"$|s_j^{train} - s_j^{ODE}| / s_j^{ODE}$")
    top[3].set_title(f"max relative error {error.max():.2%}")
    top[0].set_title("linear BYOL on isotropic data: training (o) vs 002 Eqs 11-13 (lines)", loc="left", fontsize=10)
    bottom = [fig.add_subplot(grid[1, k]) for k in range(4)]
    plot_training_spectra(digits.records, axes=bottom)
    ev = digits.evaluation
    bottom[0].set_title(
        f"digits, BYOL + linear Wp, small ResNet: k-NN {ev['knn']:.1%} (random init {ev['knn_init']:.1%})",
        loc="left", fontsize=10,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    print(f"linear run: max relative error of s_j {error.max():.3%}; digits: {ev}; wrote {output}")
    return output


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "figures" / "theory_vs_training.png"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
