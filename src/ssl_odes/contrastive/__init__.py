"""001 (Tian 2022, contrastive learning with nonlinearity)."""

# --- two layers (issue 13) ---
from . import _blowup
from ._blowup import *  # noqa: F401,F403

__all__ = sorted(set(_blowup.__all__))
