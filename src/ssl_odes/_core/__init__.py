"""The system core: declarations, validation, the diffrax integrator, results.

* :mod:`.params` -- parameter domains and the one validation function;
* :mod:`.system` -- :class:`System`, :class:`Parameter`, the registry;
* :mod:`.options` -- :class:`SolveOptions`;
* :mod:`.simulate` -- :func:`simulate`, the one pipeline;
* the integrator, one concept per file: :mod:`.solve` (one trajectory, statuses),
  :mod:`.layout` (structure-of-arrays state), :mod:`.batching` (padding, lockstep,
  :func:`integrate`), :mod:`.refill` (the refill schedule), :mod:`.sharding` (devices, hosts);
* :mod:`.discrete` -- step maps by ``lax.scan``;
* :mod:`.trajectory` -- :class:`Trajectory`; :mod:`.stability` -- Jacobians of fixed points.
"""

from .options import DEFAULT_MAX_STEPS, SolveOptions
from .params import Array, Choice, Flag, Integer, Interval, Matrix, NONNEGATIVE, POSITIVE, REAL, UNIT_OPEN, validate
from .system import REGISTRY, REQUIRED, Parameter, System, Values, get_system, register, systems
from .solve import Solution, Status, solve, status_counts
from .batching import integrate
from .sharding import use_devices
from .trajectory import Trajectory
from .simulate import bind, simulate

__all__ = [
    "Array", "Choice", "DEFAULT_MAX_STEPS", "Flag", "Integer", "Interval", "Matrix", "NONNEGATIVE", "POSITIVE",
    "Parameter", "REAL", "REGISTRY", "REQUIRED", "Solution", "SolveOptions", "Status", "System", "Trajectory",
    "UNIT_OPEN", "Values", "bind", "get_system", "integrate", "register", "simulate", "solve", "status_counts",
    "systems", "use_devices", "validate",
]
