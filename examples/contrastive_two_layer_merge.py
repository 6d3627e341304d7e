"""001 Theorem 4: in the two-layer flow, linear filters of one receptive field merge; ReLU filters stay distinct.

Population model (Eq 13): a latent z in {0, 1, 2, 3} with P[z] = (0.4, 0.3, 0.2, 0.1); in each of the
K = 2 receptive fields, x_k = u_z with probability 0.7 and a uniformly random u_a otherwise
({u_a} the standard basis of R^4). M = 3 filters per field, fast top layer (S = s s^T, Assumption 2),
uniform alpha (C_alpha = V), from distinct filters (filter m leaning towards u_m). With linear h the M updates of a field are co-linear (Eq 14): the
filters of a field converge to one direction (pairwise |cos| -> 1). With ReLU they can specialise to
different u_a, and the pairwise |cos| stays below 1.

    PYTHONPATH=src python examples/contrastive_two_layer_merge.py
"""

import os

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ssl_odes.contrastive import latent_field_model, simulate_two_layer  # noqa: E402

K, M, D = 2, 3, 4
FIGURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures", "contrastive_two_layer_merge.png")


def model():
    p_z = np.array([0.4, 0.3, 0.2, 0.1])
    atoms = np.broadcast_to(np.eye(D), (K, D, D))
    probs = 0.3 / D + 0.7 * np.eye(D)[:, None, :].repeat(K, axis=1)  # [C, K, A]
    return latent_field_model(p_z, atoms, probs)


def pairwise_cos(W):
    unit = W / np.linalg.norm(W, axis=-1, keepdims=True)
    cos = np.abs(np.einsum("...md,...nd->...mn", unit, unit))
    iu = np.triu_indices(W.shape[-2], 1)
    return cos[..., iu[0], iu[1]]


def main():
    rng = np.random.default_rng(1)
    # Distinct positive filters, filter m leaning towards u_m (every ReLU unit starts alive): the
    # linear flow merges them anyway (Eq 14), the ReLU flow keeps them apart.
    W0 = 0.5 * np.abs(rng.normal(size=(K, M, D))) + np.eye(M, D)[None]
    W0 /= np.linalg.norm(W0, axis=-1, keepdims=True)
    runs = {}
    for act in ("linear", "relu"):
        res = simulate_two_layer(W0, model=model(), activation=act, fast_top=True, t1=400.0, num_points=201,
                                 rtol=1e-6, atol=1e-9, max_steps=200_000)
        print(act, res.status_counts())
        runs[act] = res
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for act, colour in (("linear", "tab:blue"), ("relu", "tab:red")):
        res = runs[act]
        cos = pairwise_cos(np.asarray(res.W)[:, 0])  # field 0: [time, pairs]
        axes[0].plot(res.t, cos, color=colour, alpha=0.8, label=[f"{act}"] + [None] * (cos.shape[1] - 1))
        final = pairwise_cos(np.asarray(res.W)[-1])
        print(f"{act}: final pairwise |cos| per field: {np.round(final, 4).tolist()}")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("pairwise |cos| of the M = 3 filters (field 0)")
    axes[0].set_title("Thm 4: linear filters merge")
    axes[0].legend()
    for ax, act in zip(axes[1:], ("linear", "relu")):
        W = np.asarray(runs[act].W)[-1].reshape(K * M, D)
        ax.imshow(W / np.linalg.norm(W, axis=-1, keepdims=True), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"{act}: final filters (rows: k, m)")
        ax.set_xlabel("input coordinate (u_a)")
        ax.set_yticks(range(K * M), [f"k={k} m={m}" for k in range(K) for m in range(M)])
    fig.tight_layout()
    os.makedirs(os.path.dirname(FIGURE), exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    print("saved", FIGURE)


if __name__ == "__main__":
    main()
