r"""Binary symmetric hierarchical latent tree models (000 App. A.3, Table 1, Theorems 6-7; App. E).

**The model.** A root ``z_0`` in ``{0, 1}`` with ``P(z_0 = 1) = (1 + rho_0)/2``; every latent
``z_mu`` at level ``k`` has ``branching[k]`` children at level ``k + 1``, and a child copies its
parent with probability ``(1 + rho_{mu nu})/2`` (``P(z_nu = 1 | z_mu = 1) = P(z_nu = 0 | z_mu = 0)``,
polarity ``rho_{mu nu}`` in ``[-1, 1]``). The leaves (level ``depth``) are the input ``x``.
Augmentation resamples every latent below the root given ``z_0`` (:func:`sample` with ``z0``).
:func:`hltm` builds a :class:`HLTM`; the functions below take it as their first argument, so
``dual_networks.hltm`` is the constructor and the sampler and exact quantities sit beside it:
:func:`sample`, :func:`path_polarity`, :func:`enumerate_latents`, :func:`exact_expectations`.

**The network on the tree** (Fig 2(d)). Each latent ``mu`` at level ``k < depth`` owns
``width = |N_mu|`` nodes that see only the nodes of its children (the leaves themselves at the
bottom): ``tilde f_mu = W_mu f_{N_mu^ch} (+ b_mu)``, ReLU except at the root (the output).
:func:`tree_network_init` draws ``W`` uniform in ``[-sigma_w sqrt(3/|N_mu^ch|), +...]``
(Theorem 7); :func:`tree_network_forward` returns every level's pre-activations.

**Theorem 6 (Eq 81).** For ``mu`` at level ``k`` and the children nodes ``N_mu^ch``,

.. math:: \mathbb{V}_{z_0}[\mathbb{E}_{z'}[f_{N_\mu^{ch}} \mid z_0]] = \rho_{0\mu}^2 (1 - \rho_0^2)\, a a^T,
          \qquad a_k = \rho_{\mu\nu(k)} s_k,\quad s_k = \tfrac12 (v_k(1) - v_k(0)),

with ``rho_{0 mu}`` the product of the polarities on the path from the root (Eq 76,
:func:`path_polarity`) and ``v_k(z_nu) = E[f_k | z_nu]``. **Paper slip:** the statement of
Theorem 6 prints ``rho_{0mu}^2 (1 - rho_{0mu}^2)``; its proof (Eqs 74-81: ``P_0 - P_0 1 1^T P_0 =
(1 - rho_0^2) q q^T / 4``) gives ``(1 - rho_0^2)``. :func:`theorem6_covariance` implements Eq 81;
the two differ whenever ``rho_0^2 != rho_{0mu}^2`` (e.g. ``rho_0 = 0``), and Monte Carlo agrees
with Eq 81. If every ``|rho| <= gamma < 1``, ``|rho_{0mu}| <= gamma^k -> 0`` with depth.

**Theorem 7 (Eq 17 / 109).** With uniform weights, a node ``j`` of ``N_mu`` has the pre-activation
gap ``tilde v_j(1) - tilde v_j(0) = 2 w_j^T a``; a "lucky" node (``tilde v_j(1) >= sqrt(c)
sigma_w ||u^+|| / sqrt(|N^ch|)`` and ``tilde v_j(0) < 0``, ``u^{+/-} = vbar +/- a``) satisfies

.. math:: v_j^2(1) - v_j^2(0) \ge 3\sigma_w^2\Big[\frac{1}{|N^{ch}_\mu|}\sum_k s_k^2\Big(\frac{c+6}{6}\rho_{\mu\nu(k)}^2 - 1\Big) - \sigma_l^2\Big]

(:func:`lucky_node_bound`; Eq 17 writes ``|v_k(1) - v_k(0)|^2 / 4 = s_k^2`` and one ``rho``).
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import partial
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._core.params import NONNEGATIVE, POSITIVE, Array, Flag, Integer, Interval, validate

__all__ = [
    "HLTM",
    "hltm",
    "sample",
    "path_polarity",
    "enumerate_latents",
    "exact_expectations",
    "theorem6_covariance",
    "lucky_node_bound",
    "lucky_nodes",
    "tree_network_init",
    "tree_network_forward",
]

POLARITY = Interval(-1.0, 1.0)
#: Largest number of latents below the root that :func:`enumerate_latents` enumerates (2^m configurations).
MAX_ENUMERATED = 20


@dataclasses.dataclass(frozen=True, eq=False)
class HLTM:
    """A binary symmetric HLTM (000 App. A.3).

    Attributes:
        branching: children per latent at each level, ``(b_1, ..., b_depth)``.
        rho: polarities of the edges into each level ``k = 1..depth``, ``rho[k-1]`` of shape ``[n_k]``.
        rho_0: root polarity ``P(z_0 = 1) - P(z_0 = 0)``.
    """

    branching: tuple[int, ...]
    rho: tuple[np.ndarray, ...]
    rho_0: float

    @property
    def depth(self) -> int:
        return len(self.branching)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Latents per level ``(1, n_1, ..., n_depth)``; ``n_depth`` leaves = the input width."""
        return tuple(int(np.prod(self.branching[:k])) for k in range(self.depth + 1))


def hltm(depth: int, branching: Any = 2, *, rho: Any = None, rho_low: Any = None, rho_0: Any = 0.0, seed: int = 0) -> HLTM:
    """Build a binary symmetric HLTM: the constructor of ``dual_networks.hltm``.

    Args:
        depth: levels below the root, ``>= 1`` (the leaves are level ``depth``).
        branching: children per latent, an integer ``>= 1`` or one per level.
        rho: the polarities, one array ``[n_k]`` per level ``k = 1..depth`` (or one number for
            every edge), in ``[-1, 1]``.
        rho_low: instead of ``rho``, draw every polarity from ``U[rho_low, 1]`` (Table 3).
        rho_0: root polarity in ``[-1, 1]``.
        seed: NumPy seed for ``rho_low``.

    Example:
        >>> tree = hltm(3, 2, rho=0.9, rho_0=0.2)
        >>> tree.sizes, [r.tolist() for r in path_polarity(tree)][:2]
        ((1, 2, 4, 8), [[1.0], [0.9, 0.9]])
    """
    depth = validate("depth", depth, Integer(1))
    seed = validate("seed", seed, Integer(0))
    if isinstance(branching, (int, np.integer, float, np.floating)) and not isinstance(branching, bool):
        branching = (branching,) * depth  # each checked by Integer(1) below
    if not isinstance(branching, Sequence) or isinstance(branching, str):
        raise TypeError(f"branching must be an integer >= 1 or {depth} of them (one per level); got {branching!r}")
    if len(branching) != depth:
        raise ValueError(f"branching must be an integer >= 1 or {depth} of them (one per level); got {branching!r}")
    branching = tuple(validate(f"branching[{k}]", b, Integer(1)) for k, b in enumerate(branching))
    rho_0 = float(validate("rho_0", rho_0, Interval(-1.0, 1.0, scalar=True)))
    sizes = [int(np.prod(branching[:k])) for k in range(depth + 1)]
    if (rho is None) == (rho_low is None):
        raise ValueError("give exactly one of rho (the polarities) and rho_low (draw them from U[rho_low, 1])")
    if rho_low is not None:
        rho_low = float(validate("rho_low", rho_low, Interval(-1.0, 1.0, scalar=True)))
        rng = np.random.default_rng(seed)
        rho = [rng.uniform(rho_low, 1.0, size=n) for n in sizes[1:]]
    elif not isinstance(rho, (list, tuple)) and np.ndim(rho) == 0:
        value = float(validate("rho", rho, Interval(-1.0, 1.0, scalar=True)))
        rho = [np.full(n, value) for n in sizes[1:]]
    else:
        if len(rho) != depth:
            raise ValueError(f"rho must hold {depth} arrays (one per level); got {len(rho)}")
        rho = list(rho)  # one array per level
    checked = []
    for k, (r, n) in enumerate(zip(rho, sizes[1:])):
        r = validate(f"rho[{k}]", r, POLARITY)
        if r.shape != (n,):
            raise ValueError(f"rho[{k}] must have shape ({n},) (the latents of level {k + 1}); got shape {r.shape}")
        checked.append(r)
    return HLTM(branching, tuple(checked), rho_0)


def _check_tree(tree: Any) -> HLTM:
    if not isinstance(tree, HLTM):
        raise TypeError(f"tree must be an HLTM (from dual_networks.hltm); got {type(tree).__name__}")
    return tree


def _parents(tree: HLTM, k: int) -> np.ndarray:
    """Index of the parent (level ``k - 1``) of each latent of level ``k``."""
    return np.repeat(np.arange(tree.sizes[k - 1]), tree.branching[k - 1])


def sample(tree: HLTM, key: Any, num: int, *, z0: Any = None) -> list[jax.Array]:
    """Sample the HLTM top-down: ``[z_0 [num, 1], z_1 [num, n_1], ..., x = z_depth [num, n_depth]]`` (0/1).

    With ``z0`` (``[num]`` of 0/1) the root is fixed and only the latents below it are drawn: the
    augmentation of App. A.3 (two calls with the same ``z0`` give a positive pair).

    Example:
        >>> import jax
        >>> levels = sample(hltm(2, 2, rho=1.0), jax.random.PRNGKey(0), 3, z0=np.array([1, 0, 1]))
        >>> np.asarray(levels[-1]).tolist()        # rho = 1: the leaves copy the root
        [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
    """
    tree = _check_tree(tree)
    num = validate("num", num, Integer(1))
    keys = jax.random.split(key, tree.depth + 1)
    if z0 is None:
        root = jax.random.bernoulli(keys[0], (1.0 + tree.rho_0) / 2.0, (num, 1)).astype(jnp.int32)
    else:
        z0 = validate("z0", z0, Array(doc="root values in {0, 1}, one per sample"))
        if z0.shape != (num,) or not np.all((z0 == 0) | (z0 == 1)):
            raise ValueError(f"z0 must be {num} values in {{0, 1}}; got {z0!r}")
        root = jnp.asarray(z0, jnp.int32)[:, None]
    parents = tuple(tuple(_parents(tree, k).tolist()) for k in range(1, tree.depth + 1))
    return _sample_below(tuple(jnp.asarray(r) for r in tree.rho), parents, keys[1:], root)


@partial(jax.jit, static_argnums=(1,))
def _sample_below(rho, parents, keys, root):
    levels = [root]
    for r, parent, k in zip(rho, parents, keys):
        flip = jax.random.bernoulli(k, (1.0 - jnp.asarray(r)) / 2.0, (root.shape[0], len(parent)))
        levels.append(jnp.where(flip, 1 - levels[-1][:, np.asarray(parent)], levels[-1][:, np.asarray(parent)]))
    return levels


def path_polarity(tree: HLTM) -> list[np.ndarray]:
    """``rho_{0 mu}`` for every latent (Eq 76): the product of the polarities from the root, per level.

    >>> [r.tolist() for r in path_polarity(hltm(2, 1, rho=[[0.5], [0.4]]))]
    [[1.0], [0.5], [0.2]]
    """
    tree = _check_tree(tree)
    out = [np.ones(1)]
    for k in range(1, tree.depth + 1):
        out.append(out[-1][_parents(tree, k)] * tree.rho[k - 1])
    return out


def enumerate_latents(tree: HLTM) -> tuple[list[np.ndarray], np.ndarray]:
    """Every configuration of the latents below the root and its probability given ``z_0``.

    Returns ``(levels, p)``: ``levels[k]`` is ``[2, C, n_k]`` (configurations for ``z_0 = 0, 1``;
    ``levels[0]`` holds ``z_0``) and ``p`` is ``[2, C]``, ``P(config | z_0)``, ``C = 2^m`` with ``m``
    the number of latents below the root (at most :data:`MAX_ENUMERATED`).

    >>> levels, p = enumerate_latents(hltm(1, 2, rho=0.5))
    >>> p[1].round(4).tolist()      # P(x | z0 = 1) for x = 00, 01, 10, 11
    [0.0625, 0.1875, 0.1875, 0.5625]
    """
    tree = _check_tree(tree)
    m = sum(tree.sizes[1:])
    if m > MAX_ENUMERATED:
        raise ValueError(f"tree has {m} latents below the root; exact enumeration is limited to {MAX_ENUMERATED}")
    bits = np.array(list(itertools.product((0, 1), repeat=m)), dtype=np.int64)  # [C, m]
    splits = np.cumsum(tree.sizes[1:])[:-1]
    below = np.split(bits, splits, axis=1)
    levels, probs = [], []
    for z0 in (0, 1):
        current = [np.full((bits.shape[0], 1), z0)] + below
        p = np.ones(bits.shape[0])
        for k in range(1, tree.depth + 1):
            same = current[k] == current[k - 1][:, _parents(tree, k)]
            p = p * np.prod(np.where(same, (1 + tree.rho[k - 1]) / 2, (1 - tree.rho[k - 1]) / 2), axis=1)
        levels.append(current)
        probs.append(p)
    return [np.stack([levels[0][k], levels[1][k]]) for k in range(tree.depth + 1)], np.stack(probs)


def exact_expectations(tree: HLTM, values: Any) -> dict[str, np.ndarray]:
    """Exact conditional means of a function of the latents, by enumeration.

    Args:
        tree: the HLTM.
        values: ``[2, C, ...]``, the function evaluated on :func:`enumerate_latents`'s
            configurations (e.g. a network's activations on ``levels[-1]``).

    Returns:
        ``{"given_z0": [2, ...]}``: ``E[values | z_0]``, and per level ``k >= 1``
        ``{"given_level_k": [2 (value of z_mu), n_k, ...]}``: ``E[values | z_mu]`` for every latent
        ``mu`` of that level (root prior ``P(z_0 = 1) = (1 + rho_0)/2``).

    Example:
        >>> tree = hltm(1, 2, rho=0.5)
        >>> levels, _ = enumerate_latents(tree)
        >>> exact_expectations(tree, levels[1][..., 0].astype(float))["given_z0"].tolist()   # E[x_0 | z0]
        [0.25, 0.75]
    """
    tree = _check_tree(tree)
    levels, p = enumerate_latents(tree)
    values = validate("values", values, Array(doc="a finite real array [2, C, ...] on the enumeration"))
    if values.shape[:2] != p.shape:
        raise ValueError(f"values must start with the axes [2, {p.shape[1]}] of the enumeration; got shape {values.shape}")
    out = {"given_z0": np.einsum("ac,ac...->a...", p, values)}
    prior = np.array([(1 - tree.rho_0) / 2, (1 + tree.rho_0) / 2])
    joint = prior[:, None] * p  # P(z0, config)
    for k in range(1, tree.depth + 1):
        res = []
        for v in (0, 1):
            mask = (levels[k] == v).astype(np.float64)  # [2, C, n_k]
            weight = np.einsum("ac,acn->n", joint, mask)
            res.append(np.einsum("ac,acn,ac...->n...", joint, mask, values) / weight.reshape((-1,) + (1,) * (values.ndim - 2)))
        out[f"given_level_{k}"] = np.stack(res)
    return out


def theorem6_covariance(rho_0mu: Any, rho_mu_nu: Any, s: Any, rho_0: Any) -> np.ndarray:
    r"""Eq 81: ``V_z0[E_z'[f_{N_mu^ch} | z_0]] = rho_{0mu}^2 (1 - rho_0^2) a a^T``, ``a = rho_{mu nu(k)} s_k``.

    (Theorem 6's statement prints ``1 - rho_{0mu}^2``; the proof's Eq 74 gives ``1 - rho_0^2``.)

    Args:
        rho_0mu: path polarity of ``mu`` (Eq 76), in ``[-1, 1]``.
        rho_mu_nu: polarity of the edge to each child's latent ``nu(k)``, ``[K]``.
        s: discrepancies ``s_k = (v_k(1) - v_k(0))/2``, ``[K]``.
        rho_0: root polarity.

    Example:
        >>> theorem6_covariance(0.5, [1.0, 0.5], [0.5, 0.5], rho_0=0.0).tolist()
        [[0.0625, 0.03125], [0.03125, 0.015625]]
    """
    rho_0mu = validate("rho_0mu", rho_0mu, Interval(-1.0, 1.0, scalar=True))
    rho_mu_nu = validate("rho_mu_nu", rho_mu_nu, POLARITY)
    s = validate("s", s, Array(doc="discrepancies s_k"))
    rho_0 = validate("rho_0", rho_0, Interval(-1.0, 1.0, scalar=True))
    try:
        shape = np.broadcast_shapes(rho_mu_nu.shape, s.shape)
    except ValueError:
        raise ValueError(f"s and rho_mu_nu must hold one value per child (broadcasting); got s of shape {s.shape} "
                         f"and rho_mu_nu of shape {rho_mu_nu.shape}") from None
    a = np.broadcast_to(rho_mu_nu, shape) * s
    return rho_0mu**2 * (1.0 - rho_0**2) * np.outer(a, a)


def lucky_node_bound(s: Any, rho_mu_nu: Any, sigma_w: Any, c: Any, sigma_l: Any = 0.0) -> float:
    r"""The right side of Theorem 7's inequality (Eq 17; Eq 109 with one polarity per child).

    ``3 sigma_w^2 [ (1/K) sum_k s_k^2 ((c + 6)/6 rho_k^2 - 1) - sigma_l^2 ]``.

    Example:
        >>> round(lucky_node_bound([0.5] * 4, 1.0, sigma_w=1.0, c=9.0), 6)   # 3 (1/4)(1.5) = 1.125
        1.125
    """
    s = validate("s", s, Array(ndim=1, doc="discrepancies s_k [K]"))
    rho = np.broadcast_to(validate("rho_mu_nu", rho_mu_nu, POLARITY), s.shape)
    sigma_w = validate("sigma_w", sigma_w, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    c = validate("c", c, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    sigma_l = validate("sigma_l", sigma_l, Interval(0.0, np.inf, scalar=True))
    return float(3.0 * sigma_w**2 * (np.mean(s**2 * ((c + 6.0) / 6.0 * rho**2 - 1.0)) - sigma_l**2))


def lucky_nodes(w: Any, u_plus: Any, u_minus: Any, sigma_w: Any, c: Any) -> np.ndarray:
    r"""Which nodes meet the lucky conditions of Theorem 7's proof (Eq 96).

    ``tilde v^+ = w^T u^+ >= sqrt(c) sigma_w ||u^+|| / sqrt(K)`` and ``tilde v^- = w^T u^- < 0``, for
    weights ``w`` ``[..., K]`` and the children's conditional means ``u^{+/-}`` ``[K]``.

    Example:
        >>> lucky_nodes([[1.0, 1.0], [-1.0, 1.0]], [1.0, 1.0], [-0.5, -0.5], sigma_w=1.0, c=1.0).tolist()
        [True, False]
    """
    w = validate("w", w, Array(doc="weights [..., K]"))
    u_plus = validate("u_plus", u_plus, Array(ndim=1, doc="E[f_k | z_mu = 1], [K]"))
    u_minus = validate("u_minus", u_minus, Array(ndim=1, doc="E[f_k | z_mu = 0], [K]"))
    sigma_w = validate("sigma_w", sigma_w, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    c = validate("c", c, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    k = u_plus.size
    if w.ndim < 1 or w.shape[-1] != k:
        raise ValueError(f"u_plus must have one entry per weight (K = w.shape[-1]); got u_plus of shape {u_plus.shape} "
                         f"and w of shape {w.shape}")
    if u_minus.shape != u_plus.shape:
        raise ValueError(f"u_minus must have the shape of u_plus {u_plus.shape}; got {u_minus.shape}")
    return (w @ u_plus >= np.sqrt(c) * sigma_w * np.linalg.norm(u_plus) / np.sqrt(k)) & (w @ u_minus < 0)


# --------------------------------------------------------------------------------------------
# The deep ReLU network on the tree
# --------------------------------------------------------------------------------------------


def tree_network_init(tree: HLTM, key: Any, width: int, *, sigma_w: Any = 1.0 / np.sqrt(3.0), bias: bool = False) -> list[dict]:
    r"""Weights of the network on the tree, bottom-up: one dict per level ``k = depth-1, ..., 0``.

    ``{"w": [n_k, width, fan_in], "b": [n_k, width]}`` with ``fan_in = b_{k+1} * (1 if the children
    are leaves else width)``; ``w`` uniform in ``[-sigma_w sqrt(3/fan_in), sigma_w sqrt(3/fan_in)]``
    (Theorem 7; the default ``sigma_w = 1/sqrt(3)`` is PyTorch's ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``),
    ``b`` the same law when ``bias`` else 0.

    Example:
        >>> import jax
        >>> [p["w"].shape for p in tree_network_init(hltm(2, 2, rho=0.9), jax.random.PRNGKey(0), 3)]
        [(2, 3, 2), (1, 3, 6)]
    """
    tree = _check_tree(tree)
    width = validate("width", width, Integer(1))
    sigma_w = float(validate("sigma_w", sigma_w, Interval(0.0, np.inf, lower_closed=False, scalar=True)))
    bias = validate("bias", bias, Flag())
    params = []
    keys = jax.random.split(key, tree.depth)
    for i, k in enumerate(range(tree.depth - 1, -1, -1)):
        fan_in = tree.branching[k] * (1 if k == tree.depth - 1 else width)
        limit = sigma_w * np.sqrt(3.0 / fan_in)
        kw, kb = jax.random.split(keys[i])
        w = jax.random.uniform(kw, (tree.sizes[k], width, fan_in), minval=-limit, maxval=limit)
        b = jax.random.uniform(kb, (tree.sizes[k], width), minval=-limit, maxval=limit) if bias else jnp.zeros((tree.sizes[k], width))
        params.append({"w": w, "b": b})
    return params


def tree_network_forward(params: Sequence[dict], x: jax.Array) -> list[jax.Array]:
    """Pre-activations of every level, bottom-up: ``[tilde f of level depth-1 [B, n, width], ..., root [B, 1, width]]``.

    ``x`` is ``[B, n_leaves]`` (0/1 leaves). Every level but the root goes through a ReLU before
    feeding its parent; children of a latent are contiguous, so a level's input is its children's
    activations reshaped to ``[B, n_k, fan_in]``. Traceable (used inside jitted training).

    Example:
        >>> import jax
        >>> tree = hltm(2, 2, rho=0.9)
        >>> pre = tree_network_forward(tree_network_init(tree, jax.random.PRNGKey(0), 3), jnp.ones((5, 4)))
        >>> [p.shape for p in pre]
        [(5, 2, 3), (5, 1, 3)]
    """
    h = jnp.asarray(x, jnp.result_type(float))[:, :, None]  # leaves: one node each
    out = []
    for level in params:
        n = level["w"].shape[0]
        inputs = h.reshape(h.shape[0], n, -1)
        pre = jnp.einsum("bnc,nhc->bnh", inputs, level["w"]) + level["b"]
        out.append(pre)
        h = jax.nn.relu(pre)
    return out
