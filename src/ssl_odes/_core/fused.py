"""A final-state Runge-Kutta step on diffrax's solver interface: :class:`FinalStateERK`.

The refill schedule (:mod:`~ssl_odes._core.refill`) keeps only the final state of each
trajectory, yet diffrax's generic ``AbstractRungeKutta.step`` does work meant for dense output
and for every kind of tableau (implicit, multi-term, SDE): it stores the stages in a
``[num_stages, *y]`` buffer written inside a ``while_loop`` over the stages, combines them with
``tensordot`` (``dot`` instructions over the stage axis), and returns all of them for the
interpolation. Vectorised over the lanes of the refill schedule, each of those becomes its own
pass over memory (15 fusions and 3 ``dot``s per stage, measured in
``benchmarks/refill_step_hlo.py``).

:class:`FinalStateERK` takes the Butcher tableau of a diffrax explicit Runge-Kutta solver
(``Tsit5``, ``Dopri5``, ``Dopri8``, ...: reused, not copied) and runs the *same* arithmetic with
the stage loop unrolled in Python. For stage ``i`` of ``s``, with ``h = t1 - t0``,

    k_j = h f(t0 + c_j h, y_j),         y_i = y0 + sum_{j<i} a_ij k_j,

(``t_i = t1`` exactly where ``c_i = 1``, as diffrax does), then

    y1 = y_s (the tableau is SSAL) or y0 + sum_j b_j k_j,    err = sum_j e_j k_j,

each sum written as scalar-times-array terms, so that XLA fuses the whole step into a few
elementwise loops. Zero coefficients are kept (``0 * k_j``) for the same reason diffrax has them:
a non-finite stage then poisons the sums with NaN exactly as in diffrax's ``tensordot``, which
the controller treats as a rejected step. For an FSAL tableau the last stage is the next step's
first, carried as the solver state (diffrax's ``(first_step, f0)`` state evaluates it lazily on
the first step; here :meth:`init` evaluates it: the same value).

What is skipped, and why it is exact for final states: the stages are not returned, so
``dense_info`` holds only ``y0`` and ``y1`` and :attr:`interpolation_cls` is linear
(``diffrax.LocalLinearInterpolation``). The accepted steps, and so the state at every step end and
at ``t1``, are those of the wrapped solver up to floating-point rounding (the order of the sums
may differ from ``tensordot``'s). Use it only with ``SaveAt(t1=True)`` or a step loop that saves
step ends: saving between step ends would interpolate linearly.

:func:`rms_norm_elementwise` is the controller's norm (``optimistix.rms_norm``,
``sqrt(sum_i x_i^2 / n)``) written as a sum over the leaves, so that for the split layout's
scalar leaves it is elementwise over lanes instead of a ``dot`` per lane.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["FinalStateERK", "final_state_solver", "rms_norm_elementwise", "tree_all_finite", "tree_max_abs"]


def _tree_reduce(op, values):
    out = values[0]
    for value in values[1:]:
        out = op(out, value)
    return out


def rms_norm_elementwise(tree: Any) -> jax.Array:
    """``sqrt(sum_i x_i^2 / n)`` over every number of ``tree`` (``optimistix.rms_norm``), as a
    running sum over the leaves: scalar leaves (the split layout) stay elementwise under ``vmap``."""
    leaves = jax.tree_util.tree_leaves(tree)
    size = sum(int(np.size(leaf)) for leaf in leaves)
    if size == 0:
        return jnp.zeros((), jnp.result_type(*leaves) if leaves else float)
    squares = [leaf * leaf if jnp.ndim(leaf) == 0 else jnp.sum(leaf * leaf) for leaf in leaves]
    if size == 1:  # optimistix: |x| itself, without the square root of a square
        return jnp.abs(jnp.reshape(next(leaf for leaf in leaves if np.size(leaf) == 1), ()))
    return jnp.sqrt(_tree_reduce(jnp.add, squares)) / math.sqrt(size)


def tree_all_finite(tree: Any) -> jax.Array:
    """Whether every number of ``tree`` is finite (elementwise over scalar leaves under ``vmap``)."""
    flags = [jnp.isfinite(leaf) if jnp.ndim(leaf) == 0 else jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]
    return _tree_reduce(jnp.logical_and, flags)


def tree_max_abs(tree: Any) -> jax.Array:
    """``max |x|`` over ``tree`` (elementwise over scalar leaves under ``vmap``)."""
    values = [jnp.abs(leaf) if jnp.ndim(leaf) == 0 else jnp.max(jnp.abs(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]
    return _tree_reduce(jnp.maximum, values)


def _combine(y0, coefficients, ks):
    """``y0 + sum_j coefficients[j] * ks[j]`` leaf by leaf (``y0 = None``: the sum alone), as
    scalar-times-array terms; ``coefficients`` are Python floats (zeros kept, see module doc)."""
    terms = [(float(c), k) for c, k in zip(coefficients, ks)]

    def leaf_sum(*leaves):
        base, stage_leaves = (leaves[0], leaves[1:]) if y0 is not None else (None, leaves)
        total = None
        for (c, _), k in zip(terms, stage_leaves):
            term = jnp.asarray(c, k.dtype) * k
            total = term if total is None else total + term
        return total if base is None else base + total

    trees = ([y0] if y0 is not None else []) + [k for _, k in terms]
    return jax.tree_util.tree_map(leaf_sum, *trees)


class FinalStateERK(diffrax.AbstractAdaptiveSolver):
    """An explicit Runge-Kutta step of a diffrax solver's tableau, for final states (module doc).

    ``FinalStateERK(diffrax.Tsit5())`` takes the steps of ``diffrax.Tsit5()`` (same tableau,
    same ``order`` and ``error_order``, so the same controller decisions) with an unrolled stage
    loop and no dense output.

    >>> import diffrax, jax.numpy as jnp
    >>> solver = FinalStateERK(diffrax.Tsit5())
    >>> sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: -y), solver, 0.0, 1.0, 0.1, jnp.array(1.0),
    ...                           stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-10))
    >>> abs(float(sol.ys[-1]) - float(jnp.exp(-1.0))) < 1e-8
    True
    """

    solver: diffrax.AbstractERK
    carry_first_stage: bool = False

    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def __check_init__(self):
        tableau = getattr(self.solver, "tableau", None)
        if not isinstance(self.solver, diffrax.AbstractERK) or not isinstance(tableau, diffrax.ButcherTableau):
            raise ValueError(f"FinalStateERK needs a diffrax explicit Runge-Kutta solver with one Butcher tableau; "
                             f"got solver={self.solver!r}")

    @property
    def tableau(self) -> diffrax.ButcherTableau:
        return self.solver.tableau

    def order(self, terms):
        return self.solver.order(terms)

    def error_order(self, terms):
        return self.solver.error_order(terms)

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)

    def init(self, terms, t0, t1, y0, args):
        """FSAL tableaus carry the vector field at the step's start: ``f(t0, y0)`` here."""
        return terms.vf(t0, y0, args) if self._carries_first_stage else None

    @property
    def _carries_first_stage(self) -> bool:
        return self.tableau.fsal and self.carry_first_stage

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        tableau = self.tableau
        dt = t1 - t0
        stage_time = lambda c: t1 if c == 1 else t0 + jnp.asarray(c, jnp.result_type(t0, t1)) * dt  # noqa: E731
        if not self._carries_first_stage or made_jump is True:
            f = terms.vf(stage_time(tableau.c1), y0, args)
        elif made_jump is False:
            f = solver_state
        else:  # a traced flag (diffeqsolve's loop): after a jump the carried f is stale
            fresh = terms.vf(stage_time(tableau.c1), y0, args)
            f = jax.tree_util.tree_map(lambda new, old: jnp.where(made_jump, new, old), fresh, solver_state)
        ks = [terms.prod(f, dt)]
        yi = y0
        for a_i, c_i in zip(tableau.a_lower, tableau.c):
            yi = _combine(y0, a_i, ks)
            f = terms.vf(stage_time(float(c_i)), yi, args)
            ks.append(terms.prod(f, dt))
        y1 = yi if tableau.ssal else _combine(y0, tableau.b_sol, ks)
        y_error = _combine(None, tableau.b_error, ks)
        new_state = f if self._carries_first_stage else None
        return y1, y_error, dict(y0=y0, y1=y1), new_state, diffrax.RESULTS.successful


def final_state_solver(solver: Any) -> FinalStateERK | None:
    """:class:`FinalStateERK` of ``solver`` when it has one explicit Butcher tableau, else ``None``."""
    if isinstance(solver, FinalStateERK):
        return solver
    if isinstance(solver, diffrax.AbstractERK) and isinstance(getattr(solver, "tableau", None), diffrax.ButcherTableau):
        return FinalStateERK(solver)
    return None
