"""002 (Tian, Chen, Ganguli 2021): BYOL / SimSiam without negative pairs, and DirectPred.

One private file per concept, a flat public API here (as ``optax.losses``):

* ``_modes`` -- the decoupled eigen-modes ``p, s, tau`` (Eqs 11-17): :func:`simulate_byol_modes`
  and its analytic companions (invariant, fixed points, Eq 15, Eq 17, stability);
* ``_linear`` -- the linear matrix flow (Lemma 1, Eqs 2-6, Theorems 1-3) and the reduced flow
  of ``F`` and ``W_p`` (Eq 7);
* ``_discrete`` -- SGD with a finite step on one mode (the discrete Eqs 11-13);
* ``_directpred`` -- DirectPred's predictor (Eqs 18-19, Table 7);
* collapse boundaries by simulation: :func:`collapse_separatrix`, :func:`critical_weight_decay`.

The old module names ``ssl_odes.byol_modes``, ``ssl_odes.byol_linear``,
``ssl_odes.byol_discrete`` and ``ssl_odes.directpred`` are aliases of these files.
"""

from . import _directpred, _discrete, _linear, _modes
from ._directpred import *  # noqa: F401,F403
from ._discrete import *  # noqa: F401,F403
from ._linear import *  # noqa: F401,F403
from ._modes import *  # noqa: F401,F403
from ._modes import invariant, fixed_points  # noqa: F401  (the mode flow's; _linear has its own names)


def __getattr__(name):
    # The collapse boundaries live with the sweep machinery; import lazily (sweep imports byol).
    if name in ("collapse_separatrix", "critical_weight_decay"):
        import importlib

        # the module, not ssl_odes.sweep (the top-level function of the same name)
        return getattr(importlib.import_module("ssl_odes.sweep"), name)
    raise AttributeError(f"module 'ssl_odes.byol' has no attribute {name!r}")


__all__ = sorted(set(_modes.__all__) | set(_linear.__all__) | set(_discrete.__all__) | set(_directpred.__all__)
                 | {"collapse_separatrix", "critical_weight_decay"})
