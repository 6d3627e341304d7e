r"""The Table 3 experiment of 000 (App. A.3, G): SimCLR on HLTM data, deep ReLU network.

Data: a binary symmetric HLTM (:func:`~ssl_odes.dual_networks.hltm`) of depth ``L`` (default 5)
and branching 2, polarities drawn from ``U[rho_low, 1]`` (with ``signed_polarity``, each with a
random sign, ``+/- U[rho_low, 1]``, as the authors' code draws them; a negative polarity flips
the child: ``P(child = parent) = (1 + rho)/2``), root polarity 0. A positive pair is two samples
with the same root ``z_0`` (augmentation resamples every latent below it); the negative is an
independent sample (``H = 1``). Network: the tree network of
:func:`~ssl_odes.dual_networks.tree_network_forward` with ``|N_mu| = width`` nodes per latent, as
a flax module, ReLU below the root, outputs ``f = out / (||out|| + norm_eps)``; optax SGD; one
jitted ``lax.scan`` per epoch, compiled once per (tree shape, training settings) and shared by
every seed and polarity draw of that shape (:func:`_trainer`).

Losses (:func:`simclr_loss`, on a batch of ``B`` triples ``(f_i, f_i^+, f_i^-)`` of outputs of
dimension ``d = width``):

* ``loss="infonce"`` (the paper's Eq 2, :func:`~ssl_odes.dual_networks.infonce_loss`, ``H = 1``):
  ``r_i^{+/-} = 1/2 ||f_i - f_i^{+/-}||^2`` and
  ``L = (1/B) sum_i -log( exp(-r_i^+/tau) / (exp(-r_i^+/tau) + exp(-r_i^-/tau)) )``
  (with unit-norm outputs Eq 2 is SimCLR's loss).
* ``loss="authors"``: what the authors' script for this table computes (facebookresearch/luckmatters
  ``ssl/hltm/simCLR_hltm.py``, ``loss: nce``), *not* what the paper's text says: two batch-level
  mean squared errors, ``P = (1/(B d)) sum_i ||f_i - f_i^+||^2`` and
  ``N = (1/(B d)) sum_i ||f_i - f_i^-||^2`` (PyTorch's ``MSELoss`` of ``(f, f^+)`` and of
  ``(f, f^-)``; ``f_i^-`` is the output of the ``i``-th of a batch of independent samples, paired
  row by row with ``f_i``), and
  ``L = -exp(-P/tau) / (exp(-P/tau) + exp(-N/tau)) = -sigmoid((N - P)/tau)``: minus a two-way
  softmax probability of the whole batch, no log, so it saturates. Their config uses
  ``tau = 0.01``, ``norm_eps = 1e-4`` and signed polarities.

Measure (Table 3): for every latent ``z_mu`` of a level, the largest ``|Pearson correlation|``
between ``z_mu`` and the pre-activation of a node ``j`` in ``N_mu``, over ``eval_samples`` fresh
samples, averaged over the level's latents.

Settings the paper leaves open, and the defaults chosen here (the authors' public script for this
table, read for reference, uses the same depth, branching, batch, samples per epoch and learning
rate): loss Eq 2 with temperature ``tau = 0.1``; positive polarities; ``norm_eps = 1e-8``;
optimiser plain SGD, ``lr = 0.1``; batch 128; 64000 samples per epoch (500 steps); ``H = 1``
independent negative; initialisation ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (Theorem 7 with
``sigma_w = 1/sqrt(3)``) with biases; "topmost" = the root ``z_0`` and the output nodes (reported
as ``levels[0]``), with level 1 (the latents just below the root, the top hidden layer) also
reported.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._core.params import Choice, Flag, Integer, Interval, validate
from ._connection import infonce_loss
from ._hltm import HLTM, _sample_below, hltm, tree_network_forward

__all__ = ["HLTMExperimentConfig", "TreeNetwork", "hltm_experiment", "level_correlations", "simclr_loss", "PAPER_TABLE3"]

#: Table 3 of 000: ``{(rho_low, |N_mu|): (initial, 1 epoch, 20 epochs)}``.
PAPER_TABLE3 = {
    (0.7, 2): (0.51, 0.69, 0.76), (0.8, 2): (0.65, 0.76, 0.79), (0.9, 2): (0.81, 0.85, 0.86),
    (0.7, 5): (0.60, 0.72, 0.88), (0.8, 5): (0.73, 0.80, 0.87), (0.9, 5): (0.87, 0.90, 0.95),
}

#: The losses of :func:`simclr_loss` (see the module docstring).
LOSSES = ("infonce", "authors")


@dataclasses.dataclass(frozen=True)
class HLTMExperimentConfig:
    """Every setting of one Table 3 run (see the module docstring for the choices).

    ``loss``: ``"infonce"`` (Eq 2) or ``"authors"`` (``-sigmoid((N - P)/tau)``, the authors' code);
    ``signed_polarity``: draw each polarity's sign at random (``+/- U[rho_low, 1]``);
    ``norm_eps``: the ``eps`` of the output normalisation ``out / (||out|| + eps)``.
    """

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
    loss: str = "infonce"
    signed_polarity: bool = False
    norm_eps: float = 1e-8

    def validated(self) -> "HLTMExperimentConfig":
        validate("rho_low", self.rho_low, Interval(-1.0, 1.0, scalar=True))
        for name, minimum in (("width", 1), ("depth", 1), ("branching", 1), ("epochs", 1), ("batch", 2),
                              ("eval_samples", 16), ("seed", 0)):
            validate(name, getattr(self, name), Integer(minimum))
        validate("samples_per_epoch", self.samples_per_epoch, Integer(self.batch))
        for name in ("tau", "lr", "norm_eps"):
            validate(name, getattr(self, name), Interval(0.0, np.inf, lower_closed=False, scalar=True))
        for name in ("bias", "signed_polarity"):
            validate(name, getattr(self, name), Flag())
        validate("loss", self.loss, Choice(LOSSES))
        return self


def simclr_loss(f: jax.Array, f_pos: jax.Array, f_neg: jax.Array, tau: float, loss: str = "infonce") -> jax.Array:
    """The batch loss on outputs ``[B, d]`` of the two views and of independent samples (module docstring).

    ``"infonce"``: ``mean_i -log softmax`` of Eq 2 with ``r = 1/2 ||f - f'||^2``; ``"authors"``:
    ``-sigmoid((N - P)/tau)`` with ``P``, ``N`` the mean squared errors of ``(f, f_pos)`` and
    ``(f, f_neg)`` over batch and dimensions. Traceable.

    Example:
        >>> f = jnp.array([[1.0, 0.0]]); f_neg = jnp.array([[0.0, 1.0]])   # P = 0, N = 1
        >>> round(float(simclr_loss(f, f, f_neg, tau=1.0, loss="authors")), 4)   # -sigmoid(1)
        -0.7311
    """
    loss = validate("loss", loss, Choice(LOSSES))
    if loss == "authors":
        p = jnp.mean((f - f_pos) ** 2)
        n = jnp.mean((f - f_neg) ** 2)
        return -jax.nn.sigmoid((n - p) / tau)
    r_plus = 0.5 * jnp.sum((f - f_pos) ** 2, axis=-1)
    r_minus = 0.5 * jnp.sum((f - f_neg) ** 2, axis=-1)
    return jnp.mean(infonce_loss(r_plus, r_minus[:, None], tau))


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


def _tree(config: HLTMExperimentConfig) -> HLTM:
    """The config's HLTM: magnitudes ``U[rho_low, 1]`` from ``seed``, signs (if asked) from a second stream."""
    tree = hltm(config.depth, config.branching, rho_low=config.rho_low, seed=config.seed)
    if not config.signed_polarity:
        return tree
    rng = np.random.default_rng([config.seed, 1])
    return hltm(config.depth, tree.branching, rho=[r * rng.choice((-1.0, 1.0), size=r.shape) for r in tree.rho])


@functools.lru_cache(maxsize=16)
def _trainer(branching: tuple[int, ...], width: int, bias: bool, batch: int, steps: int, tau: float, lr: float,
             loss: str, norm_eps: float):
    """The network, optimiser, sampler and the jitted epoch / evaluation for one tree shape and training setup.

    Cached, so that runs differing only in seed, ``rho_low`` or polarity signs (the polarities are
    an argument, not a constant) share one compile.
    """
    sizes = tuple(int(np.prod(branching[:k])) for k in range(len(branching) + 1))
    parents = tuple(tuple(np.repeat(np.arange(sizes[k - 1]), branching[k - 1]).tolist()) for k in range(1, len(sizes)))
    net = TreeNetwork(sizes, branching, width, bias)
    optimiser = optax.sgd(lr)

    def draw(rho, key, root):
        return _sample_below(rho, parents, jax.random.split(key, len(branching)), root)

    def embed(p, x):
        out = net.apply(p, x.astype(jnp.float32))[-1][:, 0, :]
        return out / (jnp.linalg.norm(out, axis=-1, keepdims=True) + norm_eps)

    def loss_fn(p, x, x_pos, x_neg):
        return simclr_loss(embed(p, x), embed(p, x_pos), embed(p, x_neg), tau, loss)

    def step(rho, carry, key):
        p, s = carry
        k_root, k_a, k_b, k_c, k_neg = jax.random.split(key, 5)
        root = jax.random.bernoulli(k_root, 0.5, (batch, 1)).astype(jnp.int32)
        neg_root = jax.random.bernoulli(k_neg, 0.5, (batch, 1)).astype(jnp.int32)
        x, x_pos, x_neg = draw(rho, k_a, root)[-1], draw(rho, k_b, root)[-1], draw(rho, k_c, neg_root)[-1]
        value, grads = jax.value_and_grad(loss_fn)(p, x, x_pos, x_neg)
        updates, s = optimiser.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    @jax.jit
    def epoch(p, s, key, rho):
        (p, s), losses = jax.lax.scan(functools.partial(step, rho), (p, s), jax.random.split(key, steps))
        return p, s, losses.mean()

    @jax.jit
    def evaluate(p, levels):
        return level_correlations(net.apply(p, levels[-1].astype(jnp.float32)), levels)

    return net, optimiser, draw, epoch, evaluate


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
    """Run one Table 3 configuration: SimCLR (``config.loss``) on HLTM data with the tree ReLU network.

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
    tree = _tree(config)
    rho = tuple(jnp.asarray(r, jnp.float32) for r in tree.rho)
    net, optimiser, draw, epoch, evaluate = _trainer(
        tree.branching, config.width, bool(config.bias), config.batch, config.samples_per_epoch // config.batch,
        float(config.tau), float(config.lr), config.loss, float(config.norm_eps))
    key = jax.random.PRNGKey(config.seed)
    key, init_key, eval_key = jax.random.split(key, 3)
    params = net.init(init_key, jnp.zeros((1, tree.sizes[-1]), jnp.float32))
    opt_state = optimiser.init(params)
    eval_root = jax.random.bernoulli(jax.random.fold_in(eval_key, 1), 0.5, (config.eval_samples, 1)).astype(jnp.int32)
    eval_levels = draw(rho, eval_key, eval_root)

    correlations, losses = [np.asarray(evaluate(params, eval_levels))], []
    for _ in range(config.epochs):
        key, sub = jax.random.split(key)
        params, opt_state, loss = epoch(params, opt_state, sub, rho)
        losses.append(float(loss))
        correlations.append(np.asarray(evaluate(params, eval_levels)))
    return {"correlation": np.stack(correlations), "loss": np.asarray(losses),
            "cpu_seconds": time.process_time() - start, "config": config}
