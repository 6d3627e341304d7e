r"""The population optimum of Eq 3.3 per neuron (004 footnote 3), exact from the hypergeometric law.

With the random half ``calP`` of Eq 3.2 (view 1 gets ``h = floor(P / 2)`` patches) and the
``P0`` feature patches ``S = S(X)``, ``K = |S cap calP|`` is hypergeometric: ``K`` of the ``h``
patches of view 1 are drawn from ``P`` patches of which ``P0`` are feature patches,

.. math:: \Pr[K = k] = \binom{P_0}{k}\binom{P - P_0}{h - k} \Big/ \binom{P}{h}.

A neuron ``w`` in ``span(v1, v2)`` sees no noise, so ``f(X^{(1)}) = K c(X)`` and
``f(X^{(2)}) = (P_0 - K) c(X)`` with ``c(X) = z^3 <w, v_l>^3`` of zero mean, independent of
``K``; after BN its term of Eq 3.3 is ``2 - 2 Corr``, which is footnote 3's

.. math::

    \mathrm{OPT} = 2 - 2\,\frac{\mathbb E[|S \cap \mathcal P|\,|S \setminus \mathcal P|]}{\mathbb E[|S \cap \mathcal P|^2]}
    = 2 - 2\,\frac{\mathbb E[K (P_0 - K)]}{\mathbb E[K^2]} = \frac{4 \operatorname{Var} K}{\mathbb E[K^2]}
    \quad (P \text{ even}).

Noise in a neuron only adds variance uncorrelated across the two disjoint views, so OPT is the
minimum of each neuron's term, and Eq 3.3 (a sum over ``m`` neurons) has minimum ``m OPT``; the
footnote's "global minimum" is this per-neuron value. For an odd ``P`` the views have different
sizes and ``K``, ``P0 - K`` different laws; the correlation is then
``E[K (P0 - K)] / sqrt(E[K^2] E[(P0 - K)^2])``, used here (it equals the footnote for even ``P``).
With ``P0 ~ log d``, ``Var K ~ P0 / 4`` and ``E K^2 ~ P0^2 / 4``, so ``OPT = Theta(1 / P0) =
Theta(1 / log d)``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .._core.params import Integer, validate

__all__ = ["overlap_law", "optimal_loss"]


def overlap_law(P: Any, P0: Any) -> dict[int, Fraction]:
    """The exact law of ``K = |S(X) cap calP|`` (view 1 holds ``floor(P / 2)`` patches): ``{k: Pr[K = k]}``.

    >>> {k: str(p) for k, p in overlap_law(4, 2).items()}
    {0: '1/6', 1: '2/3', 2: '1/6'}
    """
    P = validate("P", P, Integer(2))
    P0 = validate("P0", P0, Integer(1))
    if P0 > P:
        raise ValueError(f"P0 must be at most P; got P0={P0}, P={P}")
    h = P // 2
    total = math.comb(P, h)
    return {k: Fraction(math.comb(P0, k) * math.comb(P - P0, h - k), total)
            for k in range(max(0, h - (P - P0)), min(P0, h) + 1)}


def optimal_loss(P: Any, P0: Any) -> float:
    r"""Footnote 3's ``OPT``: the minimum of one neuron's term of Eq 3.3 in population.

    ``OPT = 2 - 2 E[K (P0 - K)] / E[K^2]`` with ``K = |S(X) cap calP|`` hypergeometric (exact
    rational arithmetic, then a float). For an odd ``P`` the denominator is
    ``sqrt(E[K^2] E[(P0 - K)^2])`` (see the module docstring). ``OPT = Theta(1 / P0)``.

    Args:
        P: number of patches, ``>= 2``.
        P0: number of feature patches, ``1 <= P0 <= P``.

    Returns:
        ``OPT`` in ``[0, 2]``: 0 when ``P0 = P`` (even ``P``: both views see the same number of
        feature patches), 2 when ``P0 = 1`` (never both views).

    Example:
        >>> optimal_loss(4, 2)  # K in {0, 1, 2} w.p. 1/6, 2/3, 1/6: 2 - 2 (2/3) / (4/3)
        1.0
        >>> optimal_loss(8, 8), optimal_loss(8, 1)
        (0.0, 2.0)
    """
    law = overlap_law(P, P0)
    P0 = int(P0)
    cross = sum(p * k * (P0 - k) for k, p in law.items())
    view_1 = sum(p * k * k for k, p in law.items())
    view_2 = sum(p * (P0 - k) ** 2 for k, p in law.items())
    if int(P) % 2 == 0:
        return float(2 - 2 * cross / view_1)
    return float(2 - 2 * cross / math.sqrt(view_1 * view_2))
