r"""Homogeneous activations ``h(x) = h'(x) x`` and the gated input ``x~^w = x h'(w^T x)`` (001 Sec 3).

API (stable; the two-layer flow builds on it):

* ``Activation(name, slope=None, q=2)`` -- a frozen, hashable dataclass (usable as a run
  setting and as a ``functools.lru_cache`` key). ``name`` is one of :data:`ACTIVATIONS`:
  ``"linear"``, ``"relu"``, ``"leaky_relu"`` (uses ``slope``, ``0 < slope < 1``, default
  0.05 as in the paper's Fig 4 experiments; the other activations store ``slope = 0.0``) or
  ``"monomial"`` (uses the integer ``q >= 1``). Validated at construction (ValueError /
  TypeError naming the field). Methods ``act.h(z)`` and ``act.derivative(z)`` (``h'``), both
  jnp and elementwise.
* :func:`activation` ``(act)`` -- an ``Activation`` from an ``Activation`` or a name
  (``activation("relu")``), validated; every public function of the package accepts either.
* :func:`gated_input` ``(x, w, act)`` -- ``x * h'(x @ w)[..., None]``: for samples ``x``
  ``[..., N, d]`` and one filter ``w`` ``[d]``, the gated input ``[..., N, d]``. jnp, traceable,
  no validation (call :func:`activation` first); ``vmap`` it over filters.

The four activations (001 Assumption 1, Sec 3):

* linear ``h(x) = x``, ``h' = 1``;
* ReLU ``h(x) = max(x, 0)``, ``h'(x) = 1[x > 0]`` with ``h'(0) = 0`` (App. B.1: a sample with
  ``w^T x = 0`` is not in the active region);
* LeakyReLU ``h(x) = x`` for ``x > 0`` and ``slope x`` otherwise, ``h'(0) = slope``;
* monomial ``h(x) = x^q``, ``h'(x) = q x^{q-1}``: homogeneous *up to the constant* ``q``
  (``h'(x) x = q h(x)``, the paper's "additional global constant"). We keep the true derivative,
  so ``A(w) = C_alpha[x~^w]`` is ``q^2`` times the matrix with ``C_alpha[h(w^T x)] =
  w^T A w``: the same eigenvectors, fixed points and LMEs, every eigenvalue scaled by ``q^2``.

With these, ``C_alpha[h(w^T x)] = w^T A(w) w`` (exactly, ``q^2`` times for the monomial) and
Lemma 3's gradient is ``A(w) w`` (the ``h''(w^T x) w^T x`` term vanishes for every one of them).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array as JaxArray
from jaxtyping import Float

from .._core.params import UNIT_OPEN, Choice, Integer, validate

__all__ = ["ACTIVATIONS", "DEFAULT_LEAKY_SLOPE", "Activation", "activation", "gated_input"]

#: Names of the homogeneous activations.
ACTIVATIONS = ("linear", "relu", "leaky_relu", "monomial")

#: LeakyReLU's negative slope when none is given (001 Fig 4 uses 0.05).
DEFAULT_LEAKY_SLOPE = 0.05


@dataclasses.dataclass(frozen=True)
class Activation:
    """A homogeneous activation ``h`` (001 Assumption 1): ``name`` in :data:`ACTIVATIONS`.

    ``slope`` (LeakyReLU's negative slope, ``0 < slope < 1``, default 0.05) and ``q`` (the monomial's power,
    an integer ``>= 1``) are read only by their activation; the others keep the defaults.

    >>> act = Activation("leaky_relu", slope=0.05)
    >>> act.derivative(jnp.array([-1.0, 0.0, 2.0])).tolist()
    [0.05, 0.05, 1.0]
    >>> Activation("monomial", q=3).h(jnp.array(2.0)).item()
    8.0
    >>> Activation("tanh")
    Traceback (most recent call last):
    ...
    ValueError: activation must be one of 'linear', 'relu', 'leaky_relu', 'monomial'; got activation='tanh'
    """

    name: str
    slope: float | None = None
    q: int = 2

    def __post_init__(self):
        validate("activation", self.name, Choice(ACTIVATIONS))
        if self.name == "leaky_relu":
            slope = DEFAULT_LEAKY_SLOPE if self.slope is None else self.slope
            object.__setattr__(self, "slope", float(validate("slope", slope, dataclasses.replace(UNIT_OPEN, scalar=True))))
        elif self.slope is None or self.slope == 0.0:
            object.__setattr__(self, "slope", 0.0)
        else:
            raise ValueError(f"slope is LeakyReLU's negative slope; got slope={self.slope!r} with activation={self.name!r}")
        q = validate("q", self.q, Integer(1))
        if self.name != "monomial" and q != 2:
            raise ValueError(f"q is the monomial's power; got q={self.q!r} with activation={self.name!r}")
        object.__setattr__(self, "q", q)

    @property
    def is_linear(self) -> bool:
        """``h`` linear (``"linear"``, or the monomial with ``q = 1``)."""
        return self.name == "linear" or (self.name == "monomial" and self.q == 1)

    def h(self, z: Any) -> jax.Array:
        """The activation ``h(z)``, elementwise."""
        z = jnp.asarray(z)
        if self.name == "linear":
            return z
        if self.name == "relu":
            return jnp.maximum(z, 0.0)
        if self.name == "leaky_relu":
            return jnp.where(z > 0, z, self.slope * z)
        return z**self.q

    def derivative(self, z: Any) -> jax.Array:
        """``h'(z)``, elementwise (ReLU: ``h'(0) = 0``; LeakyReLU: ``h'(0) = slope``)."""
        z = jnp.asarray(z)
        if self.name == "linear":
            return jnp.ones_like(z)
        if self.name == "relu":
            return (z > 0).astype(z.dtype)
        if self.name == "leaky_relu":
            return jnp.where(z > 0, 1.0, self.slope).astype(z.dtype)
        return self.q * z ** (self.q - 1)


def activation(act: Any) -> Activation:
    """An :class:`Activation` from an ``Activation`` or one of the names :data:`ACTIVATIONS`.

    >>> activation("relu")
    Activation(name='relu', slope=0.0, q=2)
    >>> activation("leaky_relu").slope
    0.05
    >>> activation(3)
    Traceback (most recent call last):
    ...
    TypeError: activation must be one of 'linear', 'relu', 'leaky_relu', 'monomial'; got activation=3
    """
    if isinstance(act, Activation):
        return act
    return Activation(validate("activation", act, Choice(ACTIVATIONS)))


def gated_input(x: Float[JaxArray, "*batch N d"], w: Float[JaxArray, " d"], act: Activation) -> Float[JaxArray, "*batch N d"]:
    """The gated input ``x~^w = x h'(w^T x)`` (001 Lemma 3), per sample: ``x * h'(x @ w)[..., None]``.

    >>> x = jnp.array([[1.0, 0.0], [-1.0, 1.0]])
    >>> gated_input(x, jnp.array([1.0, 0.0]), Activation("relu")).tolist()
    [[1.0, 0.0], [-0.0, 0.0]]
    """
    return x * act.derivative(x @ w)[..., None]
