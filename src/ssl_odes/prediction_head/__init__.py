"""004 (Wen and Li, NeurIPS 2022): the mechanism of the prediction head in non-contrastive SSL.

One private file per concept, a flat public API here:

* ``_data`` -- the patch data (Def 3.1, Assumption 3.2) and the positive pair (Eq 3.2): :func:`sample`;
* ``_network`` -- the cubic encoder, the identity-initialised head ``E``, BN (Eq 3.1), Eq 3.3;
* ``_optimum`` -- footnote 3's population optimum :func:`optimal_loss`;
* ``_projected`` -- one SGD gradient drawn through the weights (the exact law, ``O(N P m + d m)``);
* ``_training`` -- the training run as the discrete system ``prediction_head``:
  :func:`simulate_prediction_head`;
* ``_phases`` -- the four phases of Sec 5 read off a run: :func:`detect_phases`;
* ``_race`` -- who leads the race to ``v1`` at initialisation (Sec 5.1): :func:`initial_race`.
"""

from . import _data, _network, _optimum, _phases, _race, _training
from ._data import *  # noqa: F401,F403
from ._network import *  # noqa: F401,F403
from ._optimum import *  # noqa: F401,F403
from ._phases import *  # noqa: F401,F403
from ._race import *  # noqa: F401,F403
from ._training import *  # noqa: F401,F403

__all__ = sorted(set(_data.__all__) | set(_network.__all__) | set(_optimum.__all__) | set(_phases.__all__) | set(_race.__all__)
                 | set(_training.__all__))
