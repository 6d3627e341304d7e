r"""The four phases of a run with the head (004 Sec 5), read off a saved trajectory.

For two neurons, the *leader* ``a`` is the first neuron whose ``|<w_a, v1>| / ||w_a||`` reaches
``learned`` and ``b`` is the other one. The boundaries (first saved time at which each holds):

* ``T1`` (Lemma 5.1, end of phase I): ``|<w_a, v1>| / ||w_a|| >= learned``;
* ``T2`` (Lemma 5.2, substitution): ``|E_ba f_a(X^(1))| >= substitution * |f_b(X^(1))|`` in RMS
  over the held-out v1-samples (``head_terms[b, a] / head_terms[b, b]``), at or after ``T1``;
* ``T3`` (Lemma 5.3, acceleration): ``|<w_b, v2>| / ||w_b|| >= learned``, at or after ``T1``
  (the end of phase III); ``accelerated`` says whether, from ``T2`` to ``T3``,
  ``|<w_b, v2>|`` grew faster than ``|<w_b, v1>|``;
* ``T_end`` (Prop 5.4): after the peak of ``||E - I||_F``, the first time it has fallen to
  ``fall * peak``.

A boundary that is never reached is NaN. Lemma 5.1's side conditions at ``T1`` are returned too:
the largest other alignment and ``||E - I||_F`` there.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._core.params import Interval, validate

__all__ = ["Phases", "detect_phases"]


class Phases(NamedTuple):
    """Phase boundaries of one run (times in steps; NaN when not reached)."""

    T1: float
    T2: float
    T3: float
    T_end: float
    leader: int
    other: int
    accelerated: bool
    other_alignment_at_T1: float
    offdiag_at_T1: float
    peak_offdiag: float
    peak_time: float


def _first(t: np.ndarray, mask: np.ndarray, start: int = 0) -> tuple[float, int]:
    hits = np.flatnonzero(mask[start:])
    if hits.size == 0:
        return float("nan"), -1
    k = start + int(hits[0])
    return float(t[k]), k


def detect_phases(result: Any, *, index: tuple[int, ...] = (), learned: float = 0.5, substitution: float = 3.0,
                  fall: float = 0.5) -> Phases:
    """The four phases of run ``index`` of a :func:`~ssl_odes.prediction_head.simulate_prediction_head` result.

    Args:
        result: the :class:`~ssl_odes.Trajectory` (``m = 2``).
        index: the run's batch index (``()`` for an unbatched result).
        learned: alignment ``|<w, v>| / ||w||`` counted as "learned", in ``(0, 1)``.
        substitution: the factor of Lemma 5.2's ``>>``, ``> 0``.
        fall: fraction of its peak that ``||E - I||_F`` must fall to, in ``(0, 1)``.

    Example:
        >>> import numpy as np, types
        >>> t = np.arange(5.0)
        >>> al = np.zeros((5, 2, 2)); al[1:, 0, 0] = 0.9; al[3:, 1, 1] = 0.8
        >>> ht = np.ones((5, 2, 2)); ht[2:, 1, 0] = 5.0
        >>> off = np.array([0.0, 0.1, 0.5, 0.4, 0.1])
        >>> run = types.SimpleNamespace(t=t, alignment=al, head_terms=ht, offdiag_norm=off)
        >>> p = detect_phases(run)
        >>> (p.T1, p.T2, p.T3, p.T_end, p.leader)
        (1.0, 2.0, 3.0, 4.0, 0)
    """
    learned = validate("learned", learned, Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True))
    substitution = validate("substitution", substitution, Interval(0.0, np.inf, lower_closed=False, scalar=True))
    fall = validate("fall", fall, Interval(0.0, 1.0, lower_closed=False, upper_closed=False, scalar=True))
    t = np.asarray(result.t, np.float64)
    alignment = np.abs(np.asarray(result.alignment)[index])  # [time, m, 2]
    if alignment.shape[-2] != 2:
        raise ValueError(f"detect_phases reads two neurons (m = 2); got m={alignment.shape[-2]}")
    head_terms = np.asarray(result.head_terms)[index]
    offdiag = np.asarray(result.offdiag_norm)[index]

    reached = alignment[:, :, 0] >= learned  # [time, m]
    T1, k1 = _first(t, reached.any(axis=1))
    leader = int(np.argmax(alignment[k1, :, 0])) if k1 >= 0 else int(np.argmax(alignment[-1, :, 0]))
    other = 1 - leader
    if k1 >= 0:
        others = np.delete(alignment[k1].reshape(-1), leader * 2)
        other_at_T1, off_at_T1 = float(others.max()), float(offdiag[k1])
        ratio = head_terms[:, other, leader] / np.maximum(head_terms[:, other, other], np.finfo(np.float64).tiny)
        T2, k2 = _first(t, ratio >= substitution, k1)
        T3, k3 = _first(t, alignment[:, other, 1] >= learned, k1)
    else:
        other_at_T1 = off_at_T1 = T2 = T3 = float("nan")
        k2 = k3 = -1
    accelerated = False
    if k2 >= 0 and k3 > k2:
        grow_v2 = alignment[k3, other, 1] - alignment[k2, other, 1]
        grow_v1 = alignment[k3, other, 0] - alignment[k2, other, 0]
        accelerated = bool(grow_v2 > grow_v1)
    k_peak = int(np.nanargmax(offdiag))
    peak = float(offdiag[k_peak])
    T_end, _ = _first(t, offdiag <= fall * peak, k_peak) if peak > 0 else (float("nan"), -1)
    return Phases(T1, T2, T3, T_end, leader, other, accelerated, other_at_T1, off_at_T1, peak, float(t[k_peak]))
