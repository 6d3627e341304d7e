"""ssl_odes: the analytic learning dynamics of self-supervised learning, as JAX/diffrax ODEs.

The public API is flat (``ssl_odes.simulate_byol_modes``, ``ssl_odes.Trajectory``, ...); the
analytic companions of each flow live in its module (``ssl_odes.byol_modes.fixed_points``, ...).
"""

from . import bounds, byol_discrete, byol_linear, byol_modes, directpred, ema, simsiam_eigen, stability
from ._integrate import DEFAULT_MAX_STEPS, Solution, Status, integrate, solve, status_counts, use_devices
from .byol_discrete import simulate_byol_modes_discrete
from .byol_linear import simulate_byol_linear, simulate_reduced_flow
from .byol_modes import simulate_byol_modes
from .ema import simulate_discrete as simulate_ema_discrete
from .simsiam_eigen import simulate_simsiam_eigen, simulate_simsiam_eigen_matrix
from .stability import classify_fixed_point, classify_scalar_fixed_point, jacobian
from .sweep import Boundary, collapse_separatrix, critical_weight_decay, find_boundary, sensitivities, sweep
from .trajectory import Trajectory

__version__ = "0.1.0"

__all__ = [
    "Boundary",
    "DEFAULT_MAX_STEPS",
    "Solution",
    "Status",
    "Trajectory",
    "bounds",
    "byol_discrete",
    "byol_linear",
    "byol_modes",
    "classify_fixed_point",
    "classify_scalar_fixed_point",
    "collapse_separatrix",
    "critical_weight_decay",
    "directpred",
    "ema",
    "find_boundary",
    "integrate",
    "jacobian",
    "sensitivities",
    "simsiam_eigen",
    "simulate_byol_linear",
    "simulate_byol_modes",
    "simulate_byol_modes_discrete",
    "simulate_ema_discrete",
    "simulate_reduced_flow",
    "simulate_simsiam_eigen",
    "simulate_simsiam_eigen_matrix",
    "solve",
    "stability",
    "status_counts",
    "sweep",
    "use_devices",
]
