"""000 (Tian, Yu, Chen, Ganguli): understanding self-supervised learning with dual deep networks.

* ``_ema`` -- EMA as a discrete linear system (Eqs 10-11, App. F.3): z-roots, the update
  matrix, the recurrence (:func:`simulate_ema_discrete`) and its exact closed form.

``ssl_odes.ema`` is an alias of ``_ema``.
"""

from . import _ema
from ._ema import *  # noqa: F401,F403
from ._ema import simulate_discrete as simulate_ema_discrete  # noqa: F401

__all__ = sorted(set(_ema.__all__) | {"simulate_ema_discrete"})
