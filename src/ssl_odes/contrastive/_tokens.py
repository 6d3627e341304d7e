r"""The token-generator experiment of 001 Sec 5 and App. E.2, in JAX (flax + optax).

**Data** (001 Fig 3, Sec 5). ``d`` tokens with orthonormal embeddings ``u_a`` (a random
orthogonal matrix per seed), ``K`` receptive fields (RF). For every RF ``R_k`` a candidate set
``R_k^g`` of ``P`` distinct tokens is drawn. Each of the ``G`` generators first picks
``fixed_fields`` (5) RFs at random, then one of the ``P`` candidates of each picked RF; the other
RFs are wildcards ``*``. A sample picks a generator uniformly and fills every wildcard with a
token drawn uniformly from all ``d`` tokens; its second view is *another sequence from the same
generator* (fresh wildcards). Input ``x_k = u_a`` for the token ``a`` at RF ``k``. Non-uniform
norms (App. E.2): the first ``floor(d/2)`` tokens are scaled by ``1/zeta``, the rest by ``zeta``
(the issue's convention; the paper says "``zeta`` for ``floor(d/2)`` tokens and ``1/zeta`` for the
rest", the same split with the halves swapped).

**Network** (Sec 5). Per RF a bias-free ``d -> M`` layer with ``M = beta P`` filters ``w_km``,
the activation (linear, ReLU, LeakyReLU with slope 0.05, quadratic ``x^2``), optionally BatchNorm
over all ``K M`` units with batch statistics over the ``2N`` views (Eqs 164-165, no affine, eps
1e-5; ``bn_per_view=True`` takes them per view, as the authors' code does), then a bias-free
output layer ``KM -> output_dim`` and L2 normalisation. BatchNorm's four
gradient variants (App. E.2, Table 1) are ``bn_mean_grad`` / ``bn_var_grad``: whether the
gradient flows through the batch mean ``mu_k`` / the batch standard deviation ``sigma_k`` (the
forward pass is the same; ``stop_gradient`` on the other). Def. 5's mean-backprop BatchNorm is
``bn_mean_grad=True, bn_var_grad=False``.

**Losses.** InfoNCE with temperature 0.1: SimCLR's NT-Xent over the ``2N`` views
(:func:`ssl_odes.empirical.methods.nt_xent`, Eq 1 with ``epsilon = 1``); ``"infonce_view1"``, the
authors' one-directional InfoNCE (logits ``z1_i . z1_j`` for ``j != i`` and ``z1_i . z2_i`` on the
diagonal, cross-entropy with label ``i``: negatives from view 1 only); and the quadratic loss
(``alpha_ij`` constant): :func:`quadratic_contrastive_loss`, ``mean_i d_i^2 - mean_{i != j}
d_ij^2`` with ``d^2 = ||f - f'||^2 / 2`` on the normalised outputs (the negative of the energy
``1/2 tr C_1[f]`` up to the factor of Eq 3). The paper's text does not scale it; the authors' code
divides it by the temperature ``T = 0.1`` (``quadratic_over_temperature=True``; with SGD this is a
10x larger step on the loss, weight decay unchanged). Default: not divided.

**Training.** SGD, lr 2e-3 (the paper's text; its code used 0.01-0.02, so ``lr`` is exposed),
momentum 0.9, weight decay 5e-3 added to the gradient before momentum (PyTorch's convention:
``optax.chain(add_decayed_weights, sgd)``), 5000 steps of batch 128, PyTorch's default
initialisation of ``nn.Linear`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``). One jitted
``lax.scan`` over the steps, ``vmap``-ed over the seeds (each seed draws its own embeddings,
candidate sets, generators, initialisation and batches). float32.

**Metrics** (Eqs 16, 180-181). With ``cos(w, u) = w^T u / (||w|| ||u||)``:
``chi_+(R_k) = 1/P sum_{a in R_k^g} max_m cos(w_km, u_a)`` and ``chi_-(R_k)`` the same over the
tokens outside ``R_k^g``; ``chi_bar = mean_k chi(R_k)``. Eq 181 prints the prefactor ``1/P`` for
``chi_-`` too, over the ``d - P`` outside tokens; we take their *mean* (``1/(d - P)``), so that
``chi_-`` lies in ``[-1, 1]`` like ``chi_+`` (the printed value is ours times ``(d - P)/P``).

*Which cosine.* ``score="signed"`` (default) is Eq 16 as printed. ``score="paper"`` is what the
authors' code computes (facebookresearch/luckmatters, ``ssl/real-dataset/bn_gen.py``,
``compute_score``: ``if is_linear: energy_ratio = energy_ratio.abs()``): ``|cos|`` when the
activation is linear, the signed cosine for every other activation (the quadratic one included),
then the best filter per token and plain means as above. The two differ for linear networks only:
their loss is invariant under flipping the sign of a filter ``w_km`` together with its column of
``V`` (with or without BatchNorm, which is odd without affine), so a linear filter ends at
``+u_a`` or ``-u_a`` with equal odds; at ``-u_a`` it scores ``-1`` signed and ``+1`` in the
paper's score. ReLU breaks that symmetry.

*Fig 9's low ``chi_-`` needs BatchNorm.* Without BatchNorm a ReLU network's ``chi_-`` does not
move from its value at initialisation (``(beta, P) = (2, 3)``, 5000 steps, lr 0.01, 3 seeds:
0.281 +- 0.005 at initialisation, 0.281 +- 0.013 trained; 0.233 after 20000 steps): a wildcard
token is as likely in the other view as in another sample, so Eq 12 gives a pure-noise direction
almost no drive, weight decay shrinks each filter as a whole, and a filter's best cosine with a
noise token keeps its initial value. With Def 5's BatchNorm (``batchnorm=True``, mean
back-propagated, variance not) it falls to 0.088 +- 0.015 (0.077 with the authors' README
settings, lr 0.02 and 50 outputs), and to between -0.04 and 0.12 in each of the 11 cells measured
at ``zeta = 1``. The authors' code has BatchNorm on by default (``use_bn: true`` in ``config/bn_gen.yaml``); the paper does not say
which Fig 9 used.

*Which candidate set.* ``candidate_set="drawn"`` (default) is the paper's ``R_k^g``: the ``P``
tokens drawn for RF ``k``. With ``G = 40`` generators each RF is fixed by about 20 of them, so at
``P = 10`` about ``0.9^20 = 12%`` of the drawn candidates are never placed by any generator: they
are pure noise in the data and cannot be learned as global patterns. ``candidate_set="used"`` takes
instead the tokens that some generator actually places at RF ``k`` (and ``chi_-`` the rest).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._core.params import Choice, Flag, Integer, Interval, is_traced, validate
from ..empirical.methods import nt_xent
from ._activations import Activation

__all__ = ["TokenConfig", "TokenResult", "TokenNetwork", "token_experiment", "token_sweep", "token_data", "sample_token_views",
           "matching_scores", "quadratic_contrastive_loss", "TOKEN_ACTIVATIONS", "TOKEN_LOSSES", "TOKEN_SCORES",
           "TOKEN_CANDIDATE_SETS"]

#: Activations of the Sec 5 experiment (``"quadratic"`` is ``h(x) = x^2``).
TOKEN_ACTIVATIONS = ("linear", "relu", "leaky_relu", "quadratic")
#: Losses of the Sec 5 experiment.
TOKEN_LOSSES = ("infonce", "quadratic", "infonce_view1")
#: Matching scores: ``"signed"`` (Eq 16 as printed) or ``"paper"`` (``|cos|`` for the linear activation only,
#: as the authors' code computes them; :func:`matching_scores`).
TOKEN_SCORES = ("signed", "paper")
#: Candidate sets ``R_k``: the ``P`` drawn tokens, or the tokens some generator places.
TOKEN_CANDIDATE_SETS = ("drawn", "used")

_POSITIVE = Interval(0.0, math.inf, lower_closed=False, scalar=True)


def _activation(name: str, slope: float = 0.05) -> Activation:
    if name == "quadratic":
        return Activation("monomial", q=2)
    return Activation(name, slope=slope) if name == "leaky_relu" else Activation(name)


@dataclasses.dataclass(frozen=True)
class TokenConfig:
    """One setting of the Sec 5 experiment (hashable: one compiled step per setting).

    Defaults are the paper's (Sec 5, App. E.2): ``G = 40`` generators, ``K = 10`` RFs, ``d = 20``
    tokens, 5 fixed RFs per generator, InfoNCE at temperature 0.1, SGD lr 2e-3, momentum 0.9,
    weight decay 5e-3, 5000 steps of batch 128. ``output_dim`` (not given in the paper) is 20.
    ``score`` picks which matching score :class:`TokenResult` reports as ``chi_plus`` /
    ``chi_minus`` (both are always computed); ``quadratic_over_temperature`` divides the quadratic
    loss by ``temperature`` as the authors' code does (module docstring); ``bn_per_view`` takes
    BatchNorm's batch statistics over each view's ``N`` rows (the authors' code) instead of over the
    ``2N`` views together (the default, Eqs 164-165).
    Validated at construction: a bad value raises ValueError / TypeError naming the field.
    """

    P: int = 3
    beta: int = 2
    activation: str = "relu"
    loss: str = "infonce"
    num_generators: int = 40
    num_fields: int = 10
    num_tokens: int = 20
    fixed_fields: int = 5
    zeta: float = 1.0
    batchnorm: bool = False
    bn_mean_grad: bool = True
    bn_var_grad: bool = False
    output_dim: int = 20
    temperature: float = 0.1
    lr: float = 2e-3
    momentum: float = 0.9
    weight_decay: float = 5e-3
    steps: int = 5000
    batch_size: int = 128
    candidate_set: str = "drawn"
    score: str = "signed"
    quadratic_over_temperature: bool = False
    bn_per_view: bool = False

    def __post_init__(self):
        validate("num_fields", self.num_fields, Integer(1))
        validate("num_tokens", self.num_tokens, Integer(1))
        validate("P", self.P, Integer(1, self.num_tokens))
        validate("beta", self.beta, Integer(1))
        validate("activation", self.activation, Choice(TOKEN_ACTIVATIONS))
        validate("loss", self.loss, Choice(TOKEN_LOSSES))
        validate("num_generators", self.num_generators, Integer(1))
        validate("fixed_fields", self.fixed_fields, Integer(0, self.num_fields))
        validate("zeta", self.zeta, _POSITIVE)
        for name in ("batchnorm", "bn_mean_grad", "bn_var_grad"):
            validate(name, getattr(self, name), Flag())
        validate("output_dim", self.output_dim, Integer(1))
        validate("temperature", self.temperature, _POSITIVE)
        validate("lr", self.lr, _POSITIVE)
        validate("momentum", self.momentum, Interval(0.0, 1.0, upper_closed=False, scalar=True))
        validate("weight_decay", self.weight_decay, Interval(0.0, math.inf, scalar=True))
        validate("steps", self.steps, Integer(1))
        validate("batch_size", self.batch_size, Integer(2))
        validate("candidate_set", self.candidate_set, Choice(TOKEN_CANDIDATE_SETS))
        validate("score", self.score, Choice(TOKEN_SCORES))
        validate("quadratic_over_temperature", self.quadratic_over_temperature, Flag())
        validate("bn_per_view", self.bn_per_view, Flag())

    @property
    def filters(self) -> int:
        """``M = beta P`` filters per RF."""
        return self.beta * self.P


@dataclasses.dataclass(frozen=True)
class TokenResult:
    """Matching scores of one setting over seeds.

    ``chi_plus`` / ``chi_minus``: ``[seeds]`` overall scores (Eqs 16, 180-181) in the config's
    ``score``; ``chi_plus_fields`` / ``chi_minus_fields``: ``[seeds, K]`` per RF, same score;
    ``chi_plus_signed`` / ``chi_minus_signed`` and ``chi_plus_paper`` / ``chi_minus_paper``:
    ``[seeds]``, both scores from the same final weights (one of the pairs equals ``chi_plus`` /
    ``chi_minus``); ``final_loss``: ``[seeds]``, the loss of the last batch; ``seconds``: wall
    time of the run (compile included), for the record only. ``mean_std(name)`` summarises any of
    these over seeds (std with ``ddof=0``).
    """

    config: TokenConfig
    seeds: tuple[int, ...]
    chi_plus: np.ndarray
    chi_minus: np.ndarray
    chi_plus_fields: np.ndarray
    chi_minus_fields: np.ndarray
    final_loss: np.ndarray
    seconds: float
    chi_plus_signed: np.ndarray | None = None
    chi_minus_signed: np.ndarray | None = None
    chi_plus_paper: np.ndarray | None = None
    chi_minus_paper: np.ndarray | None = None

    def mean_std(self, name: str = "chi_plus") -> tuple[float, float]:
        values = np.asarray(getattr(self, name))
        return float(values.mean()), float(values.std())


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def token_data(seed: int, config: TokenConfig) -> dict[str, np.ndarray]:
    """The per-seed structure of the data (NumPy, outside the compiled run): embeddings, candidates, generators.

    Returns ``{"embeddings": [d, d] (row a = u_a, scaled by zeta), "candidates": [K, P],
    "fixed": [G, K] bool, "generator_tokens": [G, K], "used": [K, d] bool}``; ``used[k, a]`` says
    that some generator places token ``a`` at RF ``k``.

    >>> data = token_data(0, TokenConfig(P=2, num_generators=3, num_fields=4, num_tokens=5, fixed_fields=2))
    >>> data["fixed"].sum(axis=1).tolist(), bool(np.allclose(data["embeddings"] @ data["embeddings"].T, np.eye(5), atol=1e-6))
    ([2, 2, 2], True)
    """
    d, K, P, G = config.num_tokens, config.num_fields, config.P, config.num_generators
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    basis = q * np.sign(np.diagonal(r))[None, :]  # Haar-distributed orthogonal matrix
    scale = np.where(np.arange(d) < d // 2, 1.0 / config.zeta, config.zeta)
    embeddings = basis.T * scale[:, None]
    candidates = np.stack([rng.permutation(d)[:P] for _ in range(K)])
    fixed = np.zeros((G, K), bool)
    for g in range(G):
        fixed[g, rng.permutation(K)[: config.fixed_fields]] = True
    generator_tokens = candidates[np.arange(K)[None, :], rng.integers(0, P, size=(G, K))]
    used = np.zeros((K, d), bool)
    for g, k in zip(*np.nonzero(fixed)):
        used[k, generator_tokens[g, k]] = True
    return {"embeddings": embeddings.astype(np.float32), "candidates": candidates, "fixed": fixed,
            "generator_tokens": generator_tokens, "used": used}


def sample_token_views(key: jax.Array, data: dict[str, jax.Array], batch_size: int) -> tuple[jax.Array, jax.Array]:
    """Two views ``[N, K, d]``: per sample one generator, two sequences with independent wildcards."""
    G, K = data["fixed"].shape
    d = data["embeddings"].shape[0]
    k_gen, k_wild = jax.random.split(key)
    g = jax.random.randint(k_gen, (batch_size,), 0, G)
    wild = jax.random.randint(k_wild, (2, batch_size, K), 0, d)
    tokens = jnp.where(data["fixed"][g][None], data["generator_tokens"][g][None], wild)
    views = data["embeddings"][tokens]
    return views[0], views[1]


# --------------------------------------------------------------------------------------------
# Network and losses
# --------------------------------------------------------------------------------------------


def _torch_linear_init(fan_in: int):
    bound = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def _activate(z: jax.Array, act_id: jax.Array, slope: float) -> jax.Array:
    """``h(z)`` for the activation ``TOKEN_ACTIVATIONS[act_id]`` (a traced index: one compile serves all four)."""
    outs = jnp.stack([_activation(name, slope).h(z) for name in TOKEN_ACTIVATIONS])
    return jnp.take(outs, act_id, axis=0)


class TokenNetwork(nn.Module):
    """The Sec 5 two-layer network on ``x`` ``[B, K, d]``; returns L2-normalised outputs ``[B, output_dim]``.

    Per RF ``k``: ``f1_km = h(w_km^T x_k)`` (bias-free, ``M`` filters, parameter ``W`` ``[K, M, d]``);
    optional BatchNorm over the ``K M`` units with batch statistics; bias-free output layer ``V``.
    The variant is a call argument of traced numbers, so one compiled step serves every variant:
    ``act_id`` indexes :data:`TOKEN_ACTIVATIONS`; ``bn``, ``mean_grad``, ``var_grad`` are 0/1: with
    ``g = mean_grad`` the mean enters as ``g mu + (1 - g) stop_gradient(mu)`` (same value, gradient
    ``g dmu``), likewise the standard deviation. ``per_view`` (0/1): with 1 the statistics are
    taken over each half of the batch (the first and the second view, as the authors' code, which
    calls the network once per view), with 0 over all its rows (the ``2N`` views together); the
    rows must then be even in number, ``[x1; x2]`` (ValueError otherwise, unless ``per_view`` is
    the number 0).
    """

    num_fields: int
    filters: int
    output_dim: int
    leaky_slope: float = 0.05

    @nn.compact
    def __call__(self, x: jax.Array, act_id: jax.Array, bn: jax.Array, mean_grad: jax.Array,
                 var_grad: jax.Array, per_view: Any = 0.0) -> jax.Array:
        d = x.shape[-1]
        W = self.param("W", _torch_linear_init(d), (self.num_fields, self.filters, d))
        f1 = _activate(jnp.einsum("bkd,kmd->bkm", x, W), act_id, self.leaky_slope).reshape(x.shape[0], -1)
        mu_all = jnp.mean(f1, axis=0)
        sigma_all = jnp.sqrt(jnp.mean((f1 - mu_all) ** 2, axis=0) + 1e-5)
        if x.shape[0] % 2:
            if is_traced(per_view) or float(per_view) > 0:
                raise ValueError(f"per-view BatchNorm needs the two views stacked, an even number of rows; got "
                                 f"x.shape={x.shape}")
            mu, sigma = mu_all, sigma_all
        else:  # per-view statistics: each half of the rows on its own
            halves = f1.reshape(2, x.shape[0] // 2, -1)
            mu_half = jnp.mean(halves, axis=1, keepdims=True)
            sigma_half = jnp.sqrt(jnp.mean((halves - mu_half) ** 2, axis=1, keepdims=True) + 1e-5)
            mu_view = jnp.broadcast_to(mu_half, halves.shape).reshape(f1.shape)
            sigma_view = jnp.broadcast_to(sigma_half, halves.shape).reshape(f1.shape)
            mu = jnp.where(per_view > 0, mu_view, mu_all)
            sigma = jnp.where(per_view > 0, sigma_view, sigma_all)
        mu = mean_grad * mu + (1.0 - mean_grad) * jax.lax.stop_gradient(mu)
        sigma = var_grad * sigma + (1.0 - var_grad) * jax.lax.stop_gradient(sigma)
        f1 = jnp.where(bn > 0, (f1 - mu) / sigma, f1)
        f2 = nn.Dense(self.output_dim, use_bias=False, kernel_init=_torch_linear_init(f1.shape[-1]), name="V")(f1)
        return f2 / jnp.sqrt(jnp.maximum(jnp.sum(f2 * f2, axis=-1, keepdims=True), 1e-12))


def _one_way_infonce(z1: jax.Array, z2: jax.Array, temperature: float) -> jax.Array:
    """The authors' InfoNCE (``bn_gen.py``): logits ``z1_i . z1_j`` for ``j != i`` and ``z1_i . z2_i`` on the
    diagonal, over the temperature, cross-entropy with label ``i``; negatives from view 1 only, one direction."""
    logits = z1 @ z1.T
    logits = jnp.where(jnp.eye(z1.shape[0], dtype=bool), jnp.sum(z1 * z2, axis=-1)[:, None], logits) / temperature
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, jnp.arange(z1.shape[0])))


def quadratic_contrastive_loss(z1: jax.Array, z2: jax.Array) -> jax.Array:
    """The quadratic contrastive loss (constant ``alpha``): ``mean_i d_i^2 - mean_{i != j} d_ij^2``.

    ``d^2 = ||u - u'||^2 / 2`` on the L2-normalised outputs ``u``; ``d_i`` pairs the two views of
    sample ``i``, ``d_ij`` any two of the ``2N`` views of different samples.

    >>> import jax.numpy as jnp
    >>> float(quadratic_contrastive_loss(jnp.eye(2), jnp.eye(2)))  # views agree, samples orthogonal
    -1.0
    """
    u = jnp.concatenate([z1, z2], axis=0)
    u = u / jnp.sqrt(jnp.maximum(jnp.sum(u * u, axis=-1, keepdims=True), 1e-12))
    n = z1.shape[0]
    positive = jnp.mean(jnp.sum((u[:n] - u[n:]) ** 2, axis=-1)) / 2.0
    gram = u @ u.T
    dist2 = 1.0 - gram  # ||u_i - u_j||^2 / 2 for unit rows
    sample = jnp.concatenate([jnp.arange(n), jnp.arange(n)])
    different = sample[:, None] != sample[None, :]
    negative = jnp.sum(jnp.where(different, dist2, 0.0)) / jnp.sum(different)
    return positive - negative


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _best_cosines(W: jax.Array, embeddings: jax.Array, absolute: Any) -> jax.Array:
    """``max_m cos(w_km, u_a)`` ``[K, d]``, of ``|cos|`` where ``absolute`` (a bool or a traced 0/1)."""
    wn = W / jnp.linalg.norm(W, axis=-1, keepdims=True)
    un = embeddings / jnp.linalg.norm(embeddings, axis=-1, keepdims=True)
    cos = jnp.einsum("kmd,ad->kma", wn, un)
    return jnp.max(jnp.where(absolute, jnp.abs(cos), cos), axis=1)


def _inside(data: dict[str, jax.Array], K: int, d: int, used: Any) -> jax.Array:
    """``[K, d]`` bool, token ``a`` in ``R_k``: the drawn candidates, or the used tokens where ``used``."""
    drawn = jnp.zeros((K, d), bool).at[jnp.arange(K)[:, None], data["candidates"]].set(True)
    return jnp.where(used, jnp.asarray(data["used"], bool), drawn) if "used" in data else drawn


def _field_means(best: jax.Array, inside: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(chi_+, chi_-)`` ``[K]``: means of ``best`` over ``R_k`` and over the rest (NaN when empty)."""

    def mean(mask):
        count = jnp.sum(mask, axis=1)
        return jnp.where(count > 0, jnp.sum(jnp.where(mask, best, 0.0), axis=1) / jnp.maximum(count, 1), jnp.nan)

    return mean(inside), mean(~inside)


def matching_scores(W: jax.Array, data: dict[str, jax.Array], candidate_set: str = "drawn", *,
                    score: str = "signed", activation: str | None = None) -> tuple[jax.Array, jax.Array]:
    r"""``(chi_+(R_k), chi_-(R_k))`` per RF, ``[K]`` each (Eqs 16, 180-181; ``chi_-`` as a mean).

    ``chi_+(R_k) = mean_{a in R_k} max_m c(w_km, u_a)``, ``chi_-(R_k)`` the same over the tokens
    outside ``R_k`` (NaN for an RF whose set is empty), with

    * ``score="signed"`` (default): ``c = cos(w, u) = w^T u / (||w|| ||u||)``, Eq 16 as printed;
    * ``score="paper"``: ``c = |cos(w, u)|`` when ``activation == "linear"``, ``c = cos(w, u)``
      for every other activation. This is the authors' code (facebookresearch/luckmatters,
      ``ssl/real-dataset/bn_gen.py``, ``compute_score``: ``if is_linear: energy_ratio =
      energy_ratio.abs()``), not the printed Eq 16. It makes the linear score invariant under
      ``W -> -W``, a symmetry of the linear network's loss (flip ``V`` too; module docstring).

    Args:
        W: filters ``[K, M, d]``.
        data: the structure of :func:`token_data` (``"embeddings"`` ``[d, d]``; ``"candidates"``
            ``[K, P]``; ``"used"`` ``[K, d]`` for ``candidate_set="used"``).
        candidate_set: ``"drawn"`` (``R_k^g``) or ``"used"`` (module docstring).
        score: ``"signed"`` or ``"paper"``.
        activation: one of :data:`TOKEN_ACTIVATIONS`; required for ``score="paper"``, checked
            (and unused) otherwise.

    Raises:
        ValueError: naming the argument, for a bad ``candidate_set``, ``score`` or ``activation``,
            a missing ``activation`` with ``score="paper"``, a ``W`` that is not ``[K, M, d]``
            with ``d`` the number of embeddings, or ``data`` without the keys needed.
        TypeError: ``data`` that is not a dict.

    >>> import jax.numpy as jnp
    >>> data = {"embeddings": jnp.eye(3), "candidates": jnp.array([[0, 1]]), "used": jnp.array([[True, False, False]])}
    >>> W = jnp.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> [s.tolist() for s in matching_scores(W, data)]
    [[0.5], [1.0]]
    >>> [s.tolist() for s in matching_scores(-W, data)]  # signed: filters at -u_0, -u_2
    [[0.0], [0.0]]
    >>> [s.tolist() for s in matching_scores(-W, data, score="paper", activation="linear")]
    [[0.5], [1.0]]
    """
    validate("candidate_set", candidate_set, Choice(TOKEN_CANDIDATE_SETS))
    validate("score", score, Choice(TOKEN_SCORES))
    if activation is not None:
        validate("activation", activation, Choice(TOKEN_ACTIVATIONS))
    elif score == "paper":
        raise ValueError("activation is required with score='paper' (|cos| for 'linear' only); activation must be "
                         f"one of {', '.join(map(repr, TOKEN_ACTIVATIONS))}; got activation=None")
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict as returned by token_data; got data of type {type(data).__name__}")
    needed = ("embeddings", "candidates" if candidate_set == "drawn" else "used")
    missing = [name for name in needed if name not in data]
    if missing:
        raise ValueError(f"data must hold the keys {needed} for candidate_set={candidate_set!r}; "
                         f"got data without {missing}")
    d = jnp.shape(data["embeddings"])[0]
    if jnp.ndim(W) != 3 or jnp.shape(W)[-1] != d:
        raise ValueError(f"W must have shape [K, M, d] with d = {d} (the number of embeddings); "
                         f"got W.shape={jnp.shape(W)}")
    inside = _inside(data, jnp.shape(W)[0], d, candidate_set == "used")
    best = _best_cosines(jnp.asarray(W), data["embeddings"], score == "paper" and activation == "linear")
    return _field_means(best, inside)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


#: The fields of :class:`TokenConfig` that are traced numbers of one compiled run (the rest fix its shape).
_VARIANT_FIELDS = ("activation", "loss", "zeta", "batchnorm", "bn_mean_grad", "bn_var_grad", "candidate_set", "score",
                   "quadratic_over_temperature", "bn_per_view")


def _static_part(config: TokenConfig) -> TokenConfig:
    return dataclasses.replace(config, **{name: getattr(TokenConfig, name) for name in _VARIANT_FIELDS})


@functools.lru_cache(maxsize=64)
def _compiled_runs(config: TokenConfig):
    """One jitted function of a flat batch of runs sharing ``config``'s shapes.

    ``(keys [R], data [R, ...], variant [R, 8]) -> (chi [R, 2, 2, K], loss [R])``: ``vmap`` over
    runs of a ``lax.scan`` over the SGD steps; ``chi[r, s, 0]`` is ``chi_+`` and ``chi[r, s, 1]``
    ``chi_-`` in the score ``TOKEN_SCORES[s]`` (both from the final weights). ``variant`` columns:
    activation index, loss index (0 InfoNCE, 1 quadratic, 2 the authors' one-way InfoNCE), bn,
    bn_mean_grad, bn_var_grad, candidate set (0 drawn, 1 used), quadratic loss divided by the
    temperature (0/1), BatchNorm statistics per view (0/1). (``score`` is not a column: both are
    returned and :func:`token_sweep` picks.)
    """
    network = TokenNetwork(num_fields=config.num_fields, filters=config.filters, output_dim=config.output_dim)
    optimizer = optax.chain(optax.add_decayed_weights(config.weight_decay), optax.sgd(config.lr, config.momentum))

    def loss_fn(params, x1, x2, variant):
        out = network.apply(params, jnp.concatenate([x1, x2], axis=0), variant[0].astype(jnp.int32), *variant[2:5],
                            variant[7])
        z1, z2 = out[: x1.shape[0]], out[x1.shape[0]:]
        quadratic = quadratic_contrastive_loss(z1, z2) / jnp.where(variant[6] > 0, config.temperature, 1.0)
        one_way = _one_way_infonce(z1, z2, config.temperature)
        return jnp.where(variant[1] == 1, quadratic,
                         jnp.where(variant[1] == 2, one_way, nt_xent(z1, z2, temperature=config.temperature)))

    def one_run(key, data, variant):
        k_init, k_steps = jax.random.split(key)
        dummy = jnp.zeros((2, config.num_fields, config.num_tokens), jnp.float32)
        params = network.init(k_init, dummy, 0, 0.0, 1.0, 0.0)
        opt_state = optimizer.init(params)

        def step(carry, k):
            params, opt_state = carry
            x1, x2 = sample_token_views(k, data, config.batch_size)
            loss, grads = jax.value_and_grad(loss_fn)(params, x1, x2, variant)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, opt_state), jax.random.split(k_steps, config.steps))
        W = params["params"]["W"]
        inside = _inside(data, config.num_fields, config.num_tokens, variant[5] > 0)
        linear = variant[0] == TOKEN_ACTIVATIONS.index("linear")
        chi = jnp.stack([jnp.stack(_field_means(_best_cosines(W, data["embeddings"], absolute), inside))
                         for absolute in (False, linear)])  # in the order of TOKEN_SCORES
        return chi, losses[-1]

    return jax.jit(jax.vmap(one_run))


def _variant_row(config: TokenConfig) -> list[float]:
    return [TOKEN_ACTIVATIONS.index(config.activation), TOKEN_LOSSES.index(config.loss), float(config.batchnorm),
            float(config.bn_mean_grad), float(config.bn_var_grad), float(config.candidate_set == "used"),
            float(config.quadratic_over_temperature), float(config.bn_per_view)]


def _seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of integers; got seeds={seeds!r}")
    seeds = tuple(validate("seeds", s, Integer(0)) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed; got seeds=()")
    return seeds


def token_sweep(configs: Any, seeds: Any = (0, 1, 2)) -> list[TokenResult]:
    """Run many settings of the Sec 5 experiment, one compiled ``vmap``-ed run per shape.

    Settings that share their shapes (``P``, ``beta``, sizes, optimiser, steps) differ only in
    traced numbers (activation, loss, ``zeta``, the BatchNorm variant, the candidate set, the score,
    the quadratic loss's scaling), so they train together in one ``vmap`` with the seeds. Returns
    one :class:`TokenResult` per config, in order; ``seconds`` is the wall time of its group
    (compile included).

    >>> a, b = token_sweep([TokenConfig(P=2, beta=1, activation=act, steps=3, num_generators=4, num_fields=2,
    ...                                 num_tokens=4, fixed_fields=1, batch_size=8) for act in ("linear", "relu")],
    ...                    seeds=[0])
    >>> a.config.activation, b.config.activation, a.chi_plus.shape
    ('linear', 'relu', (1,))
    """
    configs = list(configs)
    for i, config in enumerate(configs):
        if not isinstance(config, TokenConfig):
            raise TypeError(f"configs[{i}] must be a TokenConfig; got {type(config).__name__}")
    seeds = _seeds(seeds)
    groups: dict[TokenConfig, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(_static_part(config), []).append(i)
    results: list[TokenResult | None] = [None] * len(configs)
    for static, members in groups.items():
        start = time.perf_counter()
        runs = [(configs[i], s) for i in members for s in seeds]
        structures = [token_data(s, config) for config, s in runs]
        data = {name: jnp.asarray(np.stack([st[name] for st in structures])) for name in structures[0]}
        keys = jnp.stack([jax.random.PRNGKey(s) for _, s in runs])
        variants = jnp.asarray([_variant_row(config) for config, _ in runs], jnp.float32)
        chi, final_loss = jax.device_get(_compiled_runs(static)(keys, data, variants))
        seconds = time.perf_counter() - start
        n = len(seeds)
        for j, i in enumerate(members):
            rows = slice(j * n, (j + 1) * n)
            fields = np.asarray(chi[rows])  # [seeds, score, plus/minus, K]
            overall = np.nanmean(fields, axis=-1)
            s = TOKEN_SCORES.index(configs[i].score)
            results[i] = TokenResult(config=configs[i], seeds=seeds, chi_plus=overall[:, s, 0],
                                     chi_minus=overall[:, s, 1], chi_plus_fields=fields[:, s, 0],
                                     chi_minus_fields=fields[:, s, 1], final_loss=np.asarray(final_loss[rows]),
                                     seconds=seconds, chi_plus_signed=overall[:, 0, 0],
                                     chi_minus_signed=overall[:, 0, 1], chi_plus_paper=overall[:, 1, 0],
                                     chi_minus_paper=overall[:, 1, 1])
    return results  # type: ignore[return-value]


def token_experiment(
    P: int = 3,
    beta: int = 2,
    *,
    activation: str = "relu",
    loss: str = "infonce",
    seeds: Any = (0, 1, 2),
    **settings: Any,
) -> TokenResult:
    r"""Train the Sec 5 two-layer network on token-generator data and score the learned filters.

    Every seed draws its own data structure (embeddings, candidate sets, generators; NumPy
    ``default_rng(seed)``), its own initialisation and batches (``PRNGKey(seed)``); the seeds run
    together in one jitted, ``vmap``-ed ``lax.scan`` over the SGD steps (float32). For many
    settings use :func:`token_sweep`, which shares one compiled run per shape. See the module docstring for the data, the network, the losses,
    the optimiser and the candidate set.

    Args:
        P: candidate tokens per RF, ``1 <= P <= num_tokens``.
        beta: over-parameterisation, ``M = beta P`` filters per RF (integer ``>= 1``).
        activation: ``"linear"``, ``"relu"``, ``"leaky_relu"`` (slope 0.05) or ``"quadratic"``.
        loss: ``"infonce"`` (temperature 0.1), ``"quadratic"``, or ``"infonce_view1"`` (the authors'
            InfoNCE: negatives from the first view only, one direction).
        seeds: integer seeds (one run each).
        **settings: any other field of :class:`TokenConfig`: ``num_generators`` (40),
            ``num_fields`` (10), ``num_tokens`` (20), ``fixed_fields`` (5), ``zeta`` (1),
            ``batchnorm`` (False), ``bn_mean_grad`` (True), ``bn_var_grad`` (False),
            ``output_dim`` (20), ``temperature`` (0.1), ``lr`` (2e-3), ``momentum`` (0.9),
            ``weight_decay`` (5e-3), ``steps`` (5000), ``batch_size`` (128),
            ``candidate_set`` (``"drawn"``), ``score`` (``"signed"``: Eq 16 as printed, or
            ``"paper"``: ``|cos|`` for the linear activation as in the authors' code; see
            :func:`matching_scores`), ``quadratic_over_temperature`` (False; True divides the
            quadratic loss by ``temperature`` as the authors' code does).

    Returns:
        A :class:`TokenResult` with ``chi_plus`` and ``chi_minus`` ``[seeds]`` (and per RF) in the
        chosen ``score``, and both scores as ``chi_plus_signed`` / ``chi_plus_paper`` (and
        ``chi_minus_*``).

    Example (a tiny run; the full setting takes seconds to a minute per setting on a CPU):
        >>> res = token_experiment(P=2, beta=1, seeds=[0], steps=5, num_generators=4, num_fields=2, num_tokens=4,
        ...                        fixed_fields=1, batch_size=8)
        >>> res.chi_plus.shape, bool(np.all(np.abs(res.chi_plus) <= 1.0))
        ((1,), True)
    """
    try:
        config = TokenConfig(P=P, beta=beta, activation=activation, loss=loss, **settings)
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise TypeError(f"token_experiment got an unknown setting: {err}") from None
        raise
    return token_sweep([config], seeds)[0]
