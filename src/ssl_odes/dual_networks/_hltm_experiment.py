r"""The Table 3 experiment of 000 (App. A.3, G): SimCLR with InfoNCE on HLTM data, deep ReLU network.

Data: a binary symmetric HLTM (:func:`~ssl_odes.dual_networks.hltm`) of depth ``L`` (default 5)
and branching 2, polarities drawn from ``U[rho_low, 1]``, root polarity 0. A positive pair is two
samples with the same root ``z_0`` (augmentation resamples every latent below it); the negative
is an independent sample (``H = 1``). Network: the tree network of
:func:`~ssl_odes.dual_networks.tree_network_forward` with ``|N_mu| = width`` nodes per latent, as
a flax module, ReLU below the root, outputs ``l2``-normalised (Eq 2 then reduces to SimCLR's
loss). Loss: Eq 2 (:func:`~ssl_odes.dual_networks.infonce_loss`) with ``r = 1/2 ||f_1 - f_2||^2``,
averaged over the batch; optax SGD; one jitted ``lax.scan`` per epoch.

Measure (Table 3): for every latent ``z_mu`` of a level, the largest ``|Pearson correlation|``
between ``z_mu`` and the pre-activation of a node ``j`` in ``N_mu``, over ``eval_samples`` fresh
samples, averaged over the level's latents.

Settings the paper leaves open, and the defaults chosen here (the authors' public script for this
table, read for reference, uses the same depth, branching, batch, samples per epoch and learning
rate): temperature ``tau = 0.1``; optimiser plain SGD, ``lr = 0.1``; batch 128; 64000 samples per
epoch (500 steps); ``H = 1`` independent negative; initialisation ``U[-1/sqrt(fan_in),
1/sqrt(fan_in)]`` (Theorem 7 with ``sigma_w = 1/sqrt(3)``) with biases; "topmost" = the root
``z_0`` and the output nodes (reported as ``levels[0]``), with level 1 (the latents just below the
root, the top hidden layer) also reported.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._core.params import POSITIVE, Integer, Interval, validate
from ._connection import infonce_loss
from ._hltm import HLTM, _parents, _sample_below, hltm, tree_network_forward

__all__ = ["HLTMExperimentConfig", "TreeNetwork", "hltm_experiment", "level_correlations", "PAPER_TABLE3"]

#: Table 3 of 000: ``{(rho_low, |N_mu|): (initial, 1 epoch, 20 epochs)}``.
PAPER_TABLE3 = {
    (0.7, 2): (0.51, 0.69, 0.76), (0.8, 2): (0.65, 0.76, 0.79), (0.9, 2): (0.81, 0.85, 0.86),
    (0.7, 5): (0.60, 0.72, 0.88), (0.8, 5): (0.73, 0.80, 0.87), (0.9, 5): (0.87, 0.90, 0.95),
}


@dataclasses.dataclass(frozen=True)
class HLTMExperimentConfig:
    """Every setting of one Table 3 run (see the module docstring for the choices)."""

    rho_low: float = 0.7
    width: int = 2
    depth: int = 5
    branching: int = 2
    epochs: int = 20
    samples_per_epoch: int = 64_000
    batch: int = 128
    tau: float = 0.1
    lr: float = 0.1
    bias: bool = True
    eval_samples: int = 4096
    seed: int = 0

    def validated(self) -> "HLTMExperimentConfig":
        validate("rho_low", self.rho_low, Interval(-1.0, 1.0, scalar=True))
        for name, minimum in (("width", 1), ("depth", 1), ("branching", 1), ("epochs", 1), ("batch", 2),
                              ("eval_samples", 16), ("seed", 0)):
            validate(name, getattr(self, name), Integer(minimum))
        validate("samples_per_epoch", self.samples_per_epoch, Integer(self.batch))
        validate("tau", self.tau, POSITIVE)
        validate("lr", self.lr, POSITIVE)
        return self


class TreeNetwork(nn.Module):
    """The deep ReLU network on the tree (flax): ``|N_mu| = width`` nodes per latent, uniform init."""

    sizes: tuple[int, ...]
    branching: tuple[int, ...]
    width: int
    bias: bool = True

    @nn.compact
    def __call__(self, x):
        depth = len(self.branching)
        params = []
        for k in range(depth - 1, -1, -1):
            fan_in = self.branching[k] * (1 if k == depth - 1 else self.width)
            limit = 1.0 / np.sqrt(fan_in)
            init = lambda key, shape, dtype=jnp.float32, lim=limit: jax.random.uniform(key, shape, dtype, -lim, lim)  # noqa: E731
            w = self.param(f"w{k}", init, (self.sizes[k], self.width, fan_in))
            b = self.param(f"b{k}", init, (self.sizes[k], self.width)) if self.bias else jnp.zeros((self.sizes[k], self.width))
            params.append({"w": w, "b": b})
        return tree_network_forward(params, x)


def _sampler(tree: HLTM):
    parents = tuple(tuple(_parents(tree, k).tolist()) for k in range(1, tree.depth + 1))
    rho = tuple(jnp.asarray(r, jnp.float32) for r in tree.rho)

    def draw(key, root):
        return _sample_below(rho, parents, jax.random.split(key, tree.depth), root)

    return draw


def level_correlations(pre: list[jax.Array], levels: list[jax.Array]) -> jax.Array:
    """Mean over each level's latents of ``max_{j in N_mu} |corr(z_mu, tilde f_j)|``: ``[depth]``, root first.

    ``pre`` is :func:`tree_network_forward`'s output (bottom-up), ``levels`` the sampled latents
    (top-down). A constant node has correlation 0.
    """
    out = []
    for k, p in enumerate(pre[::-1]):  # level k = 0 (root) .. depth - 1
        z = levels[k].astype(p.dtype)[:, :, None]
        zc, pc = z - z.mean(0), p - p.mean(0)
        cov = (zc * pc).mean(0)
        denom = jnp.sqrt((zc**2).mean(0) * (pc**2).mean(0))
        corr = jnp.where(denom > 0, jnp.abs(cov) / jnp.where(denom > 0, denom, 1.0), 0.0)
        out.append(corr.max(axis=-1).mean())
    return jnp.stack(out)


def hltm_experiment(config: HLTMExperimentConfig | None = None, **overrides: Any) -> dict[str, Any]:
    """Run one Table 3 configuration: SimCLR (InfoNCE) on HLTM data with the tree ReLU network.

    Args:
        config: an :class:`HLTMExperimentConfig`; keyword ``overrides`` replace its fields.

    Returns:
        ``{"correlation": [epochs + 1, depth]`` (row ``e``: after ``e`` epochs; column 0 the root
        ``z_0``, column 1 the level below it), ``"loss": [epochs]`` (mean training loss per epoch),
        ``"cpu_seconds"``, ``"config"``}.

    Example:
        >>> out = hltm_experiment(depth=3, width=2, epochs=1, samples_per_epoch=256, batch=64, eval_samples=256)
        >>> out["correlation"].shape
        (2, 3)
    """
    config = dataclasses.replace(config or HLTMExperimentConfig(), **overrides).validated()
    start = time.process_time()
    tree = hltm(config.depth, config.branching, rho_low=config.rho_low, seed=config.seed)
    draw = _sampler(tree)
    net = TreeNetwork(tree.sizes, tree.branching, config.width, config.bias)
    key = jax.random.PRNGKey(config.seed)
    key, init_key, eval_key = jax.random.split(key, 3)
    params = net.init(init_key, jnp.zeros((1, tree.sizes[-1]), jnp.float32))
    optimiser = optax.sgd(config.lr)
    opt_state = optimiser.init(params)

    def embed(p, x):
        out = net.apply(p, x.astype(jnp.float32))[-1][:, 0, :]
        return out / (jnp.linalg.norm(out, axis=-1, keepdims=True) + 1e-8)

    def loss_fn(p, x, x_pos, x_neg):
        f, f_pos, f_neg = embed(p, x), embed(p, x_pos), embed(p, x_neg)
        r_plus = 0.5 * jnp.sum((f - f_pos) ** 2, axis=-1)
        r_minus = 0.5 * jnp.sum((f - f_neg) ** 2, axis=-1)
        return jnp.mean(infonce_loss(r_plus, r_minus[:, None], config.tau))

    def step(carry, key):
        p, s = carry
        k_root, k_a, k_b, k_c, k_neg = jax.random.split(key, 5)
        root = jax.random.bernoulli(k_root, 0.5, (config.batch, 1)).astype(jnp.int32)
        neg_root = jax.random.bernoulli(k_neg, 0.5, (config.batch, 1)).astype(jnp.int32)
        x, x_pos, x_neg = draw(k_a, root)[-1], draw(k_b, root)[-1], draw(k_c, neg_root)[-1]
        loss, grads = jax.value_and_grad(loss_fn)(p, x, x_pos, x_neg)
        updates, s = optimiser.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), loss

    steps = config.samples_per_epoch // config.batch

    @jax.jit
    def epoch(p, s, key):
        (p, s), losses = jax.lax.scan(step, (p, s), jax.random.split(key, steps))
        return p, s, losses.mean()

    eval_levels = draw(eval_key, jax.random.bernoulli(jax.random.fold_in(eval_key, 1), 0.5, (config.eval_samples, 1)).astype(jnp.int32))

    @jax.jit
    def evaluate(p):
        return level_correlations(net.apply(p, eval_levels[-1].astype(jnp.float32)), eval_levels)

    correlations, losses = [np.asarray(evaluate(params))], []
    for _ in range(config.epochs):
        key, sub = jax.random.split(key)
        params, opt_state, loss = epoch(params, opt_state, sub)
        losses.append(float(loss))
        correlations.append(np.asarray(evaluate(params)))
    return {"correlation": np.stack(correlations), "loss": np.asarray(losses),
            "cpu_seconds": time.process_time() - start, "config": config}
