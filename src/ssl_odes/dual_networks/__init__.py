"""000 (Tian, Yu, Chen, Ganguli): understanding self-supervised learning with dual deep networks.

* ``_ema`` -- EMA as a discrete linear system (Eqs 10-11, App. F.3): z-roots, the update
  matrix, the recurrence (:func:`simulate_ema_discrete`) and its exact closed form.
* ``_connection`` -- ReLU MLPs, the connection ``K_l`` (Def 1), the dual-network gradient (Thm 1,
  Eq 1) and InfoNCE's partials (Thm 2).
* ``_covariance_operator`` -- generative models ``x(z0, z')``, the covariance operator (Thm 3,
  Eq 3) and the BYOL update without predictor and EMA (Eq 4), exact or Monte Carlo.
* ``_single_neuron`` -- App. A.1: objects "11"/"101" on a ring, receptive fields, ReLU
  selectivity (Eqs 12-14), the semantic subspace.
* ``_two_layer`` -- the Theorem 5 two-layer flow (Eq 16), the registered system ``dual_two_layer``
  (:func:`simulate_two_layer`), ``A_j`` from a Gaussian mixture.
* ``_batchnorm`` -- BYOL with predictor and mean-only BatchNorm (Thm 4, Eqs 5-9).
* ``_hltm`` -- binary symmetric HLTMs: :func:`hltm` (the constructor) with :func:`sample`,
  :func:`path_polarity`, exact enumeration, Theorem 6 (Eq 81) and Theorem 7; the tree network.
* ``_hltm_experiment`` -- Table 3: SimCLR/InfoNCE on HLTM data (:func:`hltm_experiment`, flax + optax).

``ssl_odes.ema`` is an alias of ``_ema``.
"""

from . import _batchnorm, _connection, _covariance_operator, _ema, _hltm, _single_neuron, _two_layer
from ._connection import *  # noqa: F401,F403
from ._covariance_operator import *  # noqa: F401,F403
from ._ema import *  # noqa: F401,F403
from ._single_neuron import *  # noqa: F401,F403
from ._two_layer import *  # noqa: F401,F403
from ._batchnorm import *  # noqa: F401,F403
from ._hltm import *  # noqa: F401,F403
from ._ema import simulate_discrete as simulate_ema_discrete  # noqa: F401

#: Table 3's names (``_hltm_experiment``, flax): imported on first use.
_HLTM_EXPERIMENT_NAMES = ("HLTMExperimentConfig", "TreeNetwork", "hltm_experiment", "level_correlations", "PAPER_TABLE3")

__all__ = sorted(set(_ema.__all__) | {"simulate_ema_discrete"} | set(_connection.__all__)
                 | set(_covariance_operator.__all__) | set(_single_neuron.__all__)
                 | set(_two_layer.__all__) | set(_batchnorm.__all__)
                 | set(_hltm.__all__) | set(_HLTM_EXPERIMENT_NAMES))


from .._core.lazy import lazy_experiment  # noqa: E402


def __getattr__(name: str):
    return lazy_experiment(__name__, "_hltm_experiment", _HLTM_EXPERIMENT_NAMES, name)
