"""001 (Tian 2022, "Understanding the role of nonlinearity in training dynamics of contrastive learning").

One private file per concept, a flat public API here:

* ``_covariance`` -- the contrastive covariance ``C_alpha[a, b]`` (Eq 3) and the pairwise
  importance ``alpha`` (uniform, Gaussian of Lemma 1, InfoNCE, or explicit);
* ``_activations`` -- homogeneous activations and the gated input ``x~^w = x h'(w^T x)``;
* ``_one_layer`` -- the operator ``A(w)`` and the one-layer flow of Lemma 3 (Eq 7),
  declared as the system ``contrastive_one_layer``;
* ``_lme`` -- locally maximal eigenvectors, power iteration, Theorems 1 and 3, basins;
* ``_latent`` -- the latent categorical and summation models (Sec 3.1, App. B.1);
* ``_augmentation`` -- App. B.5's rotation-group augmentation (closed-form averaged gate).
"""

from . import _activations, _augmentation, _covariance, _latent, _lme, _one_layer
from ._activations import *  # noqa: F401,F403
from ._covariance import *  # noqa: F401,F403
from ._one_layer import *  # noqa: F401,F403
from ._lme import *  # noqa: F401,F403
from ._latent import *  # noqa: F401,F403
from ._augmentation import *  # noqa: F401,F403

__all__ = sorted(set(_covariance.__all__) | set(_activations.__all__) | set(_one_layer.__all__) | set(_lme.__all__)
                 | set(_latent.__all__) | set(_augmentation.__all__))

# --- two layers (issue 13) ---
# * ``_two_layer`` -- Lemma 4 / Lemma 6 two-layer flow (``contrastive_two_layer``), the Eq 13 population model;
# * ``_modulation`` -- Theorem 5 / Corollary 3 global modulation (``contrastive_global_modulation``);
# * ``_blowup`` -- Theorem 6 blow-up (``contrastive_blowup``), modulated basins, Eq 155;
# * ``_tokens`` -- the Sec 5 token-generator experiment.
from . import _blowup, _modulation, _two_layer  # noqa: E402
from ._two_layer import *  # noqa: F401,F403,E402
from ._modulation import *  # noqa: F401,F403,E402
from ._blowup import *  # noqa: F401,F403,E402

#: The token experiment's names (``_tokens``, flax): imported on first use.
_TOKEN_NAMES = ("TokenConfig", "TokenResult", "TokenNetwork", "token_experiment", "token_sweep", "token_data",
                "sample_token_views", "matching_scores", "quadratic_contrastive_loss", "TOKEN_ACTIVATIONS", "TOKEN_LOSSES",
                "TOKEN_SCORES", "TOKEN_CANDIDATE_SETS")

__all__ = sorted(set(__all__) | set(_two_layer.__all__) | set(_modulation.__all__) | set(_blowup.__all__)
                 | set(_TOKEN_NAMES))


from .._core.lazy import lazy_experiment  # noqa: E402


def __getattr__(name: str):
    return lazy_experiment(__name__, "_tokens", _TOKEN_NAMES, name)
