"""Solver settings in one object: :class:`SolveOptions`.

Every simulator and :func:`ssl_odes.sweep` take ``options=SolveOptions(...)``. Unset fields take
their defaults in one place, :meth:`SolveOptions.resolve`, from the run's dtype: tolerances
``1e-8 / 1e-10`` in float64 and ``1e-5 / 1e-7`` in float32, a blow-up bound
``finfo(dtype).max ** (1/4)``.
"""

from __future__ import annotations

import math
from typing import Any

import diffrax
import equinox as eqx
import numpy as np

from .fused import final_state_solver
from .params import Integer, Interval, validate

__all__ = ["SolveOptions", "SOLVERS", "SCHEDULES", "REFILL_STEPS", "DEFAULT_MAX_STEPS", "default_tolerances", "default_bound"]

#: Default step budget per trajectory (accepted plus rejected steps). Typical runs of the papers'
#: flows take a few hundred steps; a finite-time singularity exhausts any budget, so sweeps
#: should also pass a ``bound``.
DEFAULT_MAX_STEPS = 16_384

#: The explicit Runge-Kutta methods of diffrax a simulator can name (``solver="dopri8"``).
SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}

#: How a batch is run (see :mod:`ssl_odes._core.batching`).
SCHEDULES = ("auto", "lockstep", "refill")

#: The lane step of the refill schedule (see :mod:`ssl_odes._core.refill`).
REFILL_STEPS = ("auto", "fused", "diffrax")

_POSITIVE_SCALAR = Interval(0.0, math.inf, lower_closed=False, scalar=True)


def default_tolerances(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` used when the caller gives none: tight in float64, loose in float32."""
    return (1e-8, 1e-10) if np.dtype(dtype) == np.float64 else (1e-5, 1e-7)


def default_bound(dtype: Any) -> float:
    """Default blow-up bound ``finfo(dtype).max ** (1/4)``.

    About 1.3e77 in float64 and 4.3e9 in float32: far above any physical value, yet low enough
    that a polynomial vector field of degree <= 3 cannot overflow before the bound triggers, so a
    blow-up is reported as ``BLOWUP`` instead of running out of steps among NaN evaluations.
    """
    return float(np.finfo(np.dtype(dtype)).max) ** 0.25


def _solver(value: Any) -> diffrax.AbstractSolver:
    if isinstance(value, diffrax.AbstractSolver):
        return value
    if isinstance(value, type) and issubclass(value, diffrax.AbstractSolver):
        raise TypeError(f"solver must be a diffrax solver *instance*; got the class {value.__name__} (write {value.__name__}())")
    if not isinstance(value, str):
        raise TypeError(f"solver must be one of {tuple(SOLVERS)} or a diffrax solver object; got solver={value!r}")
    if value not in SOLVERS:
        raise ValueError(f"solver must be one of {tuple(SOLVERS)} or a diffrax solver object; got solver={value!r}")
    return SOLVERS[value]()


class SolveOptions(eqx.Module):
    """How a flow is integrated: solver, tolerances, step budget, blow-up bound, batch schedule.

    Attributes:
        solver: ``"tsit5"`` (default), ``"dopri5"``, ``"dopri8"``, or any diffrax solver object,
            implicit ones included (``diffrax.Kvaerno5()`` for stiff runs).
        rtol, atol: tolerances of diffrax's PID step-size controller; ``None``: the dtype's
            default (1e-8 / 1e-10 in float64, 1e-5 / 1e-7 in float32).
        max_steps: step budget per trajectory (accepted plus rejected steps).
        bound: a trajectory with ``max|y| > bound`` stops with status ``BLOWUP``; ``None``:
            ``finfo(dtype).max ** (1/4)``.
        schedule: ``"lockstep"`` (``vmap`` of one diffeqsolve: any grid, differentiable),
            ``"refill"`` (final states only: finished trajectories hand their lane to waiting
            ones) or ``"auto"`` (refill for final-state batches on CPUs when nothing is traced,
            lockstep otherwise). Resolved in one place, :meth:`resolve_schedule`.
        refill_step: the step each lane of the refill schedule takes: ``"fused"`` (the solver's
            tableau unrolled, no dense output: :class:`~ssl_odes._core.fused.FinalStateERK`),
            ``"diffrax"`` (the solver's own ``step``) or ``"auto"`` (``fused`` on CPUs for a
            solver with one explicit Butcher tableau, ``diffrax`` otherwise). Both take the same
            steps; only their speed differs. Resolved by :meth:`resolve_refill_step`.

    >>> SolveOptions(rtol=1e-6).resolve("float64").atol
    1e-10
    >>> SolveOptions(max_steps=0)
    Traceback (most recent call last):
    ...
    ValueError: max_steps must satisfy max_steps >= 1; got max_steps=0
    """

    solver: Any = "tsit5"
    rtol: float | None = None
    atol: float | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    bound: float | None = None
    schedule: str = "auto"
    refill_step: str = "auto"

    def __check_init__(self):
        _solver(self.solver)
        for name in ("rtol", "atol", "bound"):
            value = getattr(self, name)
            if value is not None:
                validate(name, value, _POSITIVE_SCALAR)
        validate("max_steps", self.max_steps, Integer(1))
        if not isinstance(self.schedule, str) or self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got schedule={self.schedule!r}")
        if not isinstance(self.refill_step, str) or self.refill_step not in REFILL_STEPS:
            raise ValueError(f"refill_step must be one of {REFILL_STEPS}; got refill_step={self.refill_step!r}")

    @property
    def solver_object(self) -> diffrax.AbstractSolver:
        """The diffrax solver (a name turned into its class's instance)."""
        return _solver(self.solver)

    @property
    def solver_name(self) -> str:
        return self.solver if isinstance(self.solver, str) else type(self.solver).__name__

    def resolve(self, dtype: Any) -> "SolveOptions":
        """A copy with every unset field filled from ``dtype``'s defaults (the one place they are set)."""
        rtol, atol = default_tolerances(dtype)
        bound = default_bound(dtype) if self.bound is None else min(float(self.bound), float(np.finfo(dtype).max))
        return SolveOptions(
            solver=self.solver,
            rtol=rtol if self.rtol is None else float(self.rtol),
            atol=atol if self.atol is None else float(self.atol),
            max_steps=int(self.max_steps),
            bound=bound,
            schedule=self.schedule,
            refill_step=self.refill_step,
        )

    def resolve_schedule(self, *, final_only: bool, platform: str, traced: bool) -> str:
        """``"lockstep"`` or ``"refill"`` for one batch: the only place ``"auto"`` is decided.

        Refill needs a final-state grid (``[t1]`` or ``[0, t1]``), concrete values (it is not
        reverse-differentiable) and an explicit Runge-Kutta solver (an implicit one, such as
        ``diffrax.Kvaerno5()``, runs lockstep). ``auto`` picks it on CPUs, where ``REFILL_LANES`` was tuned; a GPU
        keeps the full-width lockstep loop until ``benchmarks/m2_modes_gpu.py`` has compared them.
        """
        explicit = isinstance(self.solver_object, diffrax.AbstractERK)
        if self.schedule == "refill":
            if not final_only:
                raise ValueError("schedule='refill' saves only the final state: the output grid must be [t1] or [0, t1]")
            if not explicit:
                raise ValueError(f"schedule='refill' runs diffrax's explicit Runge-Kutta steps; use schedule='lockstep' "
                                 f"with solver={self.solver_name}")
            return "refill"
        if self.schedule == "lockstep":
            return "lockstep"
        return "refill" if final_only and platform == "cpu" and not traced and explicit else "lockstep"

    def resolve_refill_step(self, *, platform: str) -> str:
        """``"fused"`` or ``"diffrax"``: the lane step of a refill batch (the one place ``"auto"`` is
        decided). ``auto`` picks ``fused`` on CPUs, where it was measured faster
        (``benchmarks/refill_step_hlo.py``), for solvers with one explicit Butcher tableau; a GPU keeps
        ``diffrax`` until ``benchmarks/m2_modes_gpu.py`` has compared them."""
        fusable = final_state_solver(self.solver_object) is not None  # the one test of "one explicit tableau"
        if self.refill_step == "fused":
            if not fusable:
                raise ValueError(f"refill_step='fused' unrolls one explicit Butcher tableau; got solver={self.solver_name}: "
                                 f"use refill_step='diffrax'")
            return "fused"
        if self.refill_step == "diffrax":
            return "diffrax"
        return "fused" if fusable and platform == "cpu" else "diffrax"

    def settings(self) -> dict[str, Any]:
        """The options as recorded in a :class:`~ssl_odes.Trajectory`'s settings."""
        return {"solver": self.solver_name, "rtol": self.rtol, "atol": self.atol, "max_steps": self.max_steps,
                "bound": self.bound, "schedule": self.schedule,
                "refill_step": self.refill_step}

    @classmethod
    def merge(cls, options: "SolveOptions | None", **keywords: Any) -> "SolveOptions":
        """``options`` with the legacy keywords (``rtol=``, ``solver=``, ...) of a simulator applied.

        A keyword left at ``None`` is not given. Giving a field both in ``options`` and as a
        keyword is an error, so a setting can never be silently ignored.
        """
        given = {k: v for k, v in keywords.items() if v is not None}
        if options is None:
            return cls(**given)
        if not isinstance(options, cls):
            raise TypeError(f"options must be a ssl_odes.SolveOptions; got options={options!r}")
        if given:
            raise ValueError(
                f"give the solver settings either in options=SolveOptions(...) or as keywords, not both; got options and {sorted(given)}"
            )
        return options
