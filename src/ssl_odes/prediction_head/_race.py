r"""Who leads the race to ``v1`` at initialisation (004 Sec 5.1), read off ``W(0)`` alone.

004's proof of Thm 4.1 begins "without loss of generality, let us assume at initialization, the
neuron ``f_1`` has larger ``v1``" (Sec 5.1), and Lemma 5.1 needs every other alignment still
``o(1)`` when the leader has learned ``v1``. The paper states no margin. The race below is our
derivation from Sec 5 (it is not printed in the paper), and it is what decides a finite run.

BatchNorm (Eq 3.1) makes Eq 3.3 invariant to the scale of ``w_j``, and the feature part of
``Cov(f_j(X^(1)), f_j(X^(2)))`` grows as ``alpha_l^6 <w_j, v_l>^6``. So, early on,
``b_hat_jl = <w_j, v_l> / ||w_j||`` obeys ``d b_hat / dt ~ alpha_l^6 b_hat^5 / ||w_j||^2`` and
blows up (learns ``v_l``) at

.. math::

    \tau_{jl} \propto \frac{\|w_j\|^2}{\alpha_l^6\, \hat b_{jl}^4} = s_{jl}^{-4},\qquad
    s_{jl} = \frac{\alpha_l^{3/2}\, |\langle w_j, v_l\rangle|}{\|w_j\|^{3/2}} .

Each neuron heads for the feature with the larger ``s_jl`` (with ``E = I`` the loss separates by
neuron, so that is where it ends: Thm 4.3's collapse when every neuron has ``s_j1 > s_j2``). The
*leader* is ``argmax_j s_j1``; its *lead* ``q = s_L1 / max_{j != L} s_j1``, so the follower
reaches ``v1`` ``q^4`` times later than the leader: the window in which the head substitutes
``E_FL f_L`` for ``f_F`` (Lemma 5.2). ``examples/prediction_head_conditioned.py`` scores runs by
this event.

The weights are those :func:`~ssl_odes.prediction_head.simulate_prediction_head` starts from:
``init_weights(jax.random.key(seed), d, m)`` in float32, with ``v1 = e_1`` and ``v2 = e_2``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from .._core.params import POSITIVE, Integer, validate
from ._network import init_weights

__all__ = ["InitialRace", "initial_race"]


class InitialRace(NamedTuple):
    """The race to the features at initialisation, per seed (leading axes: those of ``seed``).

    ``overlap`` ``[..., m, 2]``: ``<w_j(0), v_l>``; ``norm`` ``[..., m]``: ``||w_j(0)||``;
    ``s`` ``[..., m, 2]``: ``alpha_l^{3/2} |<w_j, v_l>| / ||w_j||^{3/2}``; ``leader`` ``[...]``:
    ``argmax_j s_j1``; ``lead`` ``[...]``: ``s_L1`` over the largest other ``s_j1`` (``inf`` for
    ``m = 1``); ``all_prefer_v1`` ``[...]``: ``s_j1 > s_j2`` for every neuron.
    """

    overlap: np.ndarray
    norm: np.ndarray
    s: np.ndarray
    leader: np.ndarray
    lead: np.ndarray
    all_prefer_v1: np.ndarray


def initial_race(seed: Any, *, d: int, m: int = 2, alpha_1: float, alpha_2: float) -> InitialRace:
    r"""The race variables ``s_jl`` of each seed's initial weights, the leader and its lead (module docstring).

    Args:
        seed: an integer seed or an array of them (the ``seed`` of ``simulate_prediction_head``).
        d: dimension, ``d >= m + 2``. m: neurons, ``m >= 1``.
        alpha_1, alpha_2: feature magnitudes, ``alpha_1 >= alpha_2 > 0``.

    Raises:
        ValueError: naming the argument, for a negative or non-integer seed, ``d < m + 2``, ``m < 1``,
            a non-positive ``alpha`` or ``alpha_2 > alpha_1``.
        TypeError: a seed, ``d`` or ``m`` that is not an integer (booleans included).

    >>> race = initial_race([0, 1], d=32, alpha_1=4.0, alpha_2=2.0)
    >>> race.s.shape, race.leader.shape, bool((race.lead >= 1).all())
    ((2, 2, 2), (2,), True)
    """
    m = validate("m", m, Integer(1))
    d = validate("d", d, Integer(m + 2))
    a1, a2 = validate("alpha_1", alpha_1, POSITIVE), validate("alpha_2", alpha_2, POSITIVE)
    if np.ndim(a1) or np.ndim(a2):
        raise ValueError(f"alpha_1 and alpha_2 must be single numbers; got alpha_1={alpha_1!r}, alpha_2={alpha_2!r}")
    a1, a2 = float(a1), float(a2)
    if a2 > a1:
        raise ValueError(f"alpha_2 must be at most alpha_1 (v1 is the strong feature); got alpha_2={alpha_2!r}, "
                         f"alpha_1={alpha_1!r}")
    seeds = np.asarray(seed, dtype=object)
    flat = [validate(f"seed[{i}]" if seeds.ndim else "seed", s, Integer(0)) for i, s in enumerate(seeds.reshape(-1))]
    W = np.stack([np.asarray(init_weights(jax.random.key(s), d, m)[0], np.float64) for s in flat]) if flat else \
        np.zeros((0, d, m))
    overlap = np.swapaxes(W[:, :2, :], 1, 2)  # [n, m, 2]: <w_j, e_1>, <w_j, e_2>
    norm = np.linalg.norm(W, axis=1)  # [n, m]
    s = np.array([a1, a2]) ** 1.5 * np.abs(overlap) / norm[..., None] ** 1.5
    leader = np.argmax(s[..., 0], axis=-1)
    best = np.take_along_axis(s[..., 0], leader[:, None], axis=-1)[:, 0]
    others = np.where(np.arange(m)[None, :] == leader[:, None], -np.inf, s[..., 0])
    runner_up = others.max(-1) if m > 1 else np.zeros(len(flat))
    with np.errstate(divide="ignore"):
        lead = np.where(runner_up > 0, best / np.where(runner_up > 0, runner_up, 1.0), np.inf)
    shape = seeds.shape
    return InitialRace(overlap.reshape(shape + (m, 2)), norm.reshape(shape + (m,)), s.reshape(shape + (m, 2)),
                       leader.reshape(shape), lead.reshape(shape), (s[..., 0] > s[..., 1]).all(-1).reshape(shape))
