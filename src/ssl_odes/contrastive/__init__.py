"""001 (Tian 2022, "Understanding the role of nonlinearity in training dynamics of contrastive learning").

One private file per concept, a flat public API here:

* ``_covariance`` -- the contrastive covariance ``C_alpha[a, b]`` (Eq 3) and the pairwise
  importance ``alpha`` (uniform, Gaussian of Lemma 1, InfoNCE, or explicit);
* ``_activations`` -- homogeneous activations and the gated input ``x~^w = x h'(w^T x)``.
"""

from . import _activations, _covariance
from ._activations import *  # noqa: F401,F403
from ._covariance import *  # noqa: F401,F403

__all__ = sorted(set(_covariance.__all__) | set(_activations.__all__))

# --- two layers (issue 13) ---
from . import _blowup  # noqa: E402
from ._blowup import *  # noqa: F401,F403,E402

__all__ = sorted(set(__all__) | set(_blowup.__all__))
from . import _tokens  # noqa: E402
from ._tokens import *  # noqa: F401,F403,E402

__all__ = sorted(set(__all__) | set(_tokens.__all__))
from . import _two_layer  # noqa: E402
from ._two_layer import *  # noqa: F401,F403,E402

__all__ = sorted(set(__all__) | set(_two_layer.__all__))
from . import _modulation  # noqa: E402
from ._modulation import *  # noqa: F401,F403,E402

__all__ = sorted(set(__all__) | set(_modulation.__all__))
