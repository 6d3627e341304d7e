"""ssl_odes: the analytic learning dynamics of self-supervised learning, as JAX/diffrax ODEs.

The public API is flat (``ssl_odes.simulate_byol_modes``, ``ssl_odes.Trajectory``, ...); the
analytic companions of each flow live in its module (``ssl_odes.byol_modes.fixed_points``, ...).
"""

from . import byol_modes, stability
from . import bounds, byol_discrete, ema, simsiam_eigen
from ._integrate import DEFAULT_MAX_STEPS, Solution, Status, integrate, solve, status_counts
from .byol_modes import simulate_byol_modes
from .byol_discrete import simulate_byol_modes_discrete
from .ema import simulate_discrete as simulate_ema_discrete
from .simsiam_eigen import simulate_simsiam_eigen, simulate_simsiam_eigen_matrix
from .stability import classify_fixed_point, classify_scalar_fixed_point, jacobian
from .trajectory import Trajectory

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_STEPS",
    "Solution",
    "Status",
    "Trajectory",
    "bounds",
    "byol_discrete",
    "byol_modes",
    "ema",
    "classify_fixed_point",
    "classify_scalar_fixed_point",
    "integrate",
    "jacobian",
    "simsiam_eigen",
    "simulate_byol_modes",
    "simulate_byol_modes_discrete",
    "simulate_ema_discrete",
    "simulate_simsiam_eigen",
    "simulate_simsiam_eigen_matrix",
    "solve",
    "stability",
    "status_counts",
]
