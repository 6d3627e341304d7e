"""Alias of the integrator in :mod:`ssl_odes._core` (kept so that older imports keep working).

The integrator is split by concept: :mod:`~ssl_odes._core.solve` (one trajectory, statuses),
:mod:`~ssl_odes._core.batching` (padding, the lockstep schedule, :func:`integrate`),
:mod:`~ssl_odes._core.refill` (the refill schedule) and :mod:`~ssl_odes._core.sharding`.
"""

from ._core.batching import SCHEDULES, integrate  # noqa: F401
from ._core.batching import _bucket, _final_only, _pad  # noqa: F401
from ._core.options import DEFAULT_MAX_STEPS, SOLVERS, SolveOptions, default_bound, default_tolerances  # noqa: F401
from ._core.refill import REFILL_LANES, REFILL_PERIOD, refill_batch  # noqa: F401
from ._core.sharding import use_devices  # noqa: F401
from ._core.solve import FIRST_STEP, Solution, Status, solve, status_counts  # noqa: F401
