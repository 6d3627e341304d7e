"""003 (the SimSiam paper): local eigen-dynamics (Thm 4, Eqs 54-55) and the error bounds (Thm 1-3).

* ``_eigen`` -- :func:`simulate_simsiam_eigen` (diagonal) and
  :func:`simulate_simsiam_eigen_matrix`, phases, invariant, fixed points;
* ``_bounds`` -- ``L_cor``, ``L_bound``, Theorem 3's error bound, Barlow Twins (Eq 13), latent
  class features and the nearest-mean error.

``ssl_odes.simsiam_eigen`` and ``ssl_odes.bounds`` are aliases of these files.
"""

from . import _bounds, _eigen
from ._bounds import *  # noqa: F401,F403
from ._eigen import *  # noqa: F401,F403
from ._eigen import fixed_points, invariant  # noqa: F401

__all__ = sorted(set(_eigen.__all__) | set(_bounds.__all__))
