"""The empirical companion: real BYOL / SimSiam / SimCLR / DirectPred training in Flax (SPEC section 10).

It trains self-supervised networks and records the quantities the theory talks about (spectrum of
``F``, predictor eigenvalues, eigenspace alignment, asymmetry, EMA ratio), so that a run can be laid
beside the flows of :mod:`ssl_odes` (:mod:`ssl_odes.empirical.theory`).

Layout (after Flax's example trainers): :mod:`.config` (one frozen object per run), :mod:`.data`,
:mod:`.augment`, :mod:`.resnet` (encoders, MLP heads), :mod:`.predictors` (incl. DirectPred),
:mod:`.network`, :mod:`.methods` (losses, EMA), :mod:`.training` (optimiser, jitted step, loop,
progress bar, checkpoints), :mod:`.spectra`, :mod:`.probe` (k-NN, linear probe), :mod:`.records` (the records
file), :mod:`.theory` (the runs against the ODEs).

Submodules load lazily: ``from ssl_odes import empirical`` costs nothing, and
:mod:`.records` / :mod:`.theory` work without flax and optax installed.

``empirical.train`` is the *function* :func:`ssl_odes.empirical.training.train` (the loop lives
in the module :mod:`.training`; no submodule is named ``train``, so importing one can never
replace the function by a module: it stays callable however often it is called or imported).

    >>> from ssl_odes import empirical
    >>> cfg = empirical.TrainConfig(method="byol", dataset="digits", steps=20)  # doctest: +SKIP
    >>> result = empirical.train(cfg)                                           # doctest: +SKIP
    >>> result.evaluation                                                       # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_SUBMODULES = (
    "augment", "config", "data", "methods", "network", "predictors", "probe", "records", "resnet", "spectra",
    "theory", "training", "checkpoint",
)
_EXPORTS = {
    "TrainConfig": "config",
    "AugmentConfig": "config",
    "train": "training",
    "TrainResult": "training",
    "load_records": "records",
    "overlay": "theory",
    "predict_modes": "theory",
}

__all__ = list(_SUBMODULES) + list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
