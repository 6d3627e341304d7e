"""ssl_odes: the analytic learning dynamics of self-supervised learning, as JAX/diffrax ODEs.

Every system of the papers is a declaration (:class:`System`) run by one pipeline,
:func:`simulate`. The public API is flat (``ssl_odes.simulate_byol_modes``,
``ssl_odes.Trajectory``, ...); each paper has its package with its analytic companions:

* :mod:`ssl_odes.byol` -- 002: BYOL / SimSiam modes, linear and reduced flows, discrete SGD,
  DirectPred, collapse boundaries;
* :mod:`ssl_odes.simsiam` -- 003: eigen-dynamics, error bounds;
* :mod:`ssl_odes.dual_networks` -- 000: EMA as a discrete linear system, the connection and the
  covariance operator, the Theorem 5 two-layer flow, BYOL + BatchNorm, HLTMs;
* :mod:`ssl_odes.contrastive` -- 001: the contrastive covariance, the one-layer flow, LMEs and
  power iteration, latent models;
* :mod:`ssl_odes.prediction_head` -- 004: the cubic patch network with an identity-initialised
  head, its training run, the optimum and the four phases.

The old module names (``ssl_odes.byol_modes``, ``ssl_odes.ema``, ...) are documented aliases.
``ssl-odes systems`` lists every registered system with its parameters.
"""

from ._core import (
    DEFAULT_MAX_STEPS,
    REGISTRY,
    Parameter,
    Solution,
    SolveOptions,
    Status,
    System,
    Trajectory,
    get_system,
    integrate,
    register,
    simulate,
    solve,
    status_counts,
    systems,
    use_devices,
)
from . import byol, contrastive, dual_networks, prediction_head, simsiam
from . import bounds, byol_discrete, byol_linear, byol_modes, directpred, ema, simsiam_eigen, stability, trajectory
from ._core.stability import classify_fixed_point, classify_scalar_fixed_point, jacobian
from .byol import simulate_byol_linear, simulate_byol_modes, simulate_byol_modes_discrete, simulate_reduced_flow
from .contrastive import contrastive_covariance, find_lmes, power_iteration, simulate_one_layer
from .dual_networks import simulate_ema_discrete
from .prediction_head import simulate_prediction_head
from ._checkpoint import CheckpointBusyError, CheckpointWarning
from .dual_networks import simulate_two_layer as simulate_dual_two_layer
from .simsiam import simulate_simsiam_eigen, simulate_simsiam_eigen_matrix
from .sweep import Boundary, collapse_separatrix, critical_weight_decay, find_boundary, sensitivities, sweep

__version__ = "0.1.0"

__all__ = [
    "CheckpointWarning",
    "CheckpointBusyError",
    "simulate_prediction_head",
    "prediction_head",
    "simulate_dual_two_layer",
    "simulate_one_layer",
    "power_iteration",
    "find_lmes",
    "contrastive_covariance",
    "contrastive",
    "Boundary",
    "DEFAULT_MAX_STEPS",
    "Parameter",
    "REGISTRY",
    "Solution",
    "SolveOptions",
    "Status",
    "System",
    "Trajectory",
    "bounds",
    "byol",
    "byol_discrete",
    "byol_linear",
    "byol_modes",
    "classify_fixed_point",
    "classify_scalar_fixed_point",
    "collapse_separatrix",
    "critical_weight_decay",
    "directpred",
    "dual_networks",
    "ema",
    "find_boundary",
    "get_system",
    "integrate",
    "jacobian",
    "register",
    "sensitivities",
    "simsiam",
    "simsiam_eigen",
    "simulate",
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
    "systems",
    "use_devices",
]
