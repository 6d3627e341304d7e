"""One frozen object describes a training run: :class:`TrainConfig` (and its :class:`AugmentConfig`).

Like the ``configs/`` of Flax's example trainers, everything that changes what a run computes is a
field here, so a run is reproduced from its config (and seed) alone, and the config is written at
the head of every records file and checkpoint.

Conventions (SPEC section 10 / 002 Lemma 1), used by :mod:`ssl_odes.empirical.theory` to map a run
onto the flows:

* gradient-flow time ``t = sum_k lr_k / (1 - momentum)``: ``lr * step`` for a constant rate and no
  momentum (heavy-ball momentum multiplies the effective step by ``1 / (1 - momentum)``);
* ``alpha_p`` is the predictor's learning-rate ratio: its *gradient* is scaled by ``alpha_p``;
* ``beta = (1 - gamma_ema) / lr``;
* ``weight_decay`` is the usual SGD coefficient (PyTorch / optax ``add_decayed_weights``): the
  update is ``-lr (grad + weight_decay * w)``, so the flow's ``eta`` equals ``weight_decay``. The
  paper's "actual" weight decay ``eta_bar = lr * eta`` (and SPEC's ``eta = weight_decay / lr``) is
  the per-step shrink factor ``lr * weight_decay``, the same thing in other units.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from .. import _params
from .._params import Interval

__all__ = [
    "AugmentConfig",
    "TrainConfig",
    "METHODS",
    "PREDICTORS",
    "DATASETS",
    "ENCODERS",
    "NORMS",
    "default_augmentation",
    "config_for",
    "config_from_dict",
    "METHOD_PRESETS",
]

METHODS = ("byol", "simsiam", "simclr")
PREDICTORS = ("mlp", "linear", "directpred", "identity_head", "none")
DATASETS = ("digits", "cifar10", "stl10", "synthetic")
ENCODERS = ("small_resnet", "resnet18", "linear")
#: Normalisation of the projector / predictor MLPs (000 Table 5). ``"bn"`` is BatchNorm with its
#: affine part; ``mu`` subtracts the batch mean, ``sigma`` divides by the batch std; a ``_detached``
#: component is applied in the forward pass but not back-propagated through (000's dagger).
NORMS = (
    "none", "bn", "mu_sigma", "mu", "sigma", "mu_detached", "sigma_detached",
    "mu_detached_sigma", "mu_sigma_detached", "mu_detached_sigma_detached",
)
LOSSES = ("cosine", "l2")
OPTIMIZERS = ("sgd", "lars")
SCHEDULES = ("cosine", "constant")
DTYPES = ("float32", "bfloat16", "float64")

UNIT = Interval(0.0, 1.0)
UNIT_OPEN_TOP = Interval(0.0, 1.0, upper_closed=False)
POSITIVE = Interval(0.0, math.inf, lower_closed=False)
NONNEGATIVE = Interval(0.0)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Parameters of the two-view augmentation (:mod:`ssl_odes.empirical.augment`).

    Args:
        crop_scale: ``(min, max)`` area fraction of the random resized crop (SimCLR: ``(0.08, 1)``).
        crop_ratio: ``(min, max)`` aspect ratio of the crop.
        flip: random horizontal flip with probability 1/2.
        jitter_p: probability of colour jitter (RGB only).
        jitter_strength: ``s`` of SimCLR's jitter: brightness, contrast, saturation ``0.8 s``,
            hue ``0.2 s``.
        grayscale_p: probability of converting to grayscale (RGB only).
        noise_std: standard deviation of additive Gaussian pixel noise (after scaling to [0, 1]).
    """

    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)
    flip: bool = True
    jitter_p: float = 0.8
    jitter_strength: float = 0.5
    grayscale_p: float = 0.2
    noise_std: float = 0.0

    def __post_init__(self):
        for name in ("crop_scale", "crop_ratio"):
            lo, hi = (float(v) for v in getattr(self, name))
            _params.check_scalar(name, lo, POSITIVE)
            if not lo <= hi or (name == "crop_scale" and hi > 1.0):
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high{' <= 1' if name == 'crop_scale' else ''}; got {name}={getattr(self, name)!r}")
            object.__setattr__(self, name, (lo, hi))
        _params.check_flag("flip", self.flip)
        _params.check_scalar("jitter_p", self.jitter_p, UNIT)
        _params.check_scalar("jitter_strength", self.jitter_strength, NONNEGATIVE)
        _params.check_scalar("grayscale_p", self.grayscale_p, UNIT)
        _params.check_scalar("noise_std", self.noise_std, NONNEGATIVE)


def default_augmentation(dataset: str) -> AugmentConfig:
    """The augmentation used when a config leaves ``augment=None``.

    CIFAR-10 / STL-10: SimCLR's recipe without blur (crop ``(0.08, 1)``, flip, jitter 0.5 with
    p = 0.8, grayscale p = 0.2). Digits (8x8 grayscale): a milder crop ``(0.5, 1)``, no flip (digits
    are not mirror-symmetric) and pixel noise 0.1. Synthetic data has its own Gaussian views.

    >>> default_augmentation("digits").crop_scale
    (0.5, 1.0)
    """
    _params.check_choice("dataset", dataset, DATASETS)
    if dataset == "digits":
        return AugmentConfig(crop_scale=(0.5, 1.0), flip=False, jitter_p=0.0, grayscale_p=0.0, noise_std=0.1)
    return AugmentConfig()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a self-supervised training run.

    Method and heads:
        method: ``"byol"`` (EMA target), ``"simsiam"`` (target = online, stop-gradient) or
            ``"simclr"`` (NT-Xent, no predictor, no target).
        predictor: ``"mlp"`` (Linear-BN-ReLU-Linear, BYOL's default), ``"linear"`` (002's ``Wp``),
            ``"directpred"`` (``Wp`` set from the input correlation, 002 Eqs 18-19),
            ``"identity_head"`` (004's ``E = I`` with only the off-diagonal trained) or ``"none"``
            (identity; 000 Table 4's "no predictor").
        predictor_bias, predictor_symmetric: options of the linear predictor (``Wp`` used as
            ``(Wp + Wp^T)/2`` when symmetric, 002 Assumption 3).
        predictor_hidden: hidden width of the MLP predictor.
        projector_hidden, projection_dim: projector MLP widths; ``projector_hidden=0`` means no
            projector (the predictor then reads the encoder output).
        projector_norm, predictor_norm: BatchNorm ablation switches of 000 Tables 4-5 (one of
            :data:`NORMS`) for the two MLP heads.
        directpred_rho, directpred_eps, directpred_freq, directpred_c, directpred_normalize:
            002 Eqs 18-19 and Table 7 (see :mod:`ssl_odes.empirical.predictors`).

    Networks:
        encoder: ``"small_resnet"`` (CPU-sized, any input size incl. 8x8x1), ``"resnet18"``
            (CIFAR-style: 3x3 stem, no max-pool) or ``"linear"`` (``W`` without bias, 002's model).
        width: base width of the ResNet (64 for ResNet-18).
        feature_dim: output dimension ``n2`` of the linear encoder.

    Data:
        dataset: ``"digits"`` (scikit-learn's, embedded), ``"cifar10"`` / ``"stl10"`` (read from
            ``data_dir``) or ``"synthetic"`` (isotropic Gaussian, ``X = I``, ``X' = sigma2 I``).
        input_dim: ``n1`` of the synthetic data; sigma2: its augmentation variance.
        augment: two-view augmentation; ``None`` = :func:`default_augmentation` of the dataset.

    Loss:
        loss: ``"cosine"`` (BYOL's normalised ``2 - 2 cos``; SimSiam's ``-cos``) or ``"l2"``
            (002 Eq 1: ``1/2 ||p - sg(z)||^2``, un-normalised: the loss whose flow is Lemma 1).
        symmetric_loss: add the loss with the views swapped (BYOL/SimSiam practice); 002 Eq 1 is
            one-sided.
        temperature: NT-Xent temperature (SimCLR).
        gamma_ema, ema_schedule: BYOL's target rate; ``"cosine"`` raises it to 1 over the run
            (BYOL: ``1 - (1 - gamma_ema)(cos(pi k/K) + 1)/2``), ``"constant"`` keeps it.

    Optimisation:
        optimizer: ``"sgd"`` (momentum, coupled weight decay) or ``"lars"``.
        lr, momentum, weight_decay, alpha_p: see the module docstring for their flow meaning.
        lr_schedule: ``"cosine"`` decay to 0 after ``warmup_steps`` of linear warm-up, or
            ``"constant"``.
        batch_size, steps, seed.
        dtype: ``"float32"``, ``"bfloat16"`` (compute in bf16, parameters float32; for GPUs) or
            ``"float64"`` (verification; needs ``jax_enable_x64``).

    Logging and evaluation:
        log_every: spectra every ``log_every`` steps (and at the first and last step).
        probe_size: number of clean training inputs the spectra are measured on.
        knn_k, knn_temperature: weighted k-NN classifier.

    Example:
        >>> cfg = TrainConfig(method="simsiam", predictor="linear", steps=10)
        >>> round(cfg.flow_time_unit, 12)  # lr / (1 - momentum) = 0.05 / 0.1
        0.5
        >>> TrainConfig(lr=-1.0)
        Traceback (most recent call last):
        ...
        ValueError: lr must satisfy lr > 0; got lr=-1.0
    """

    method: str = "byol"
    predictor: str = "mlp"
    predictor_bias: bool = False
    predictor_symmetric: bool = False
    predictor_hidden: int = 64
    projector_hidden: int = 64
    projection_dim: int = 32
    projector_norm: str = "bn"
    predictor_norm: str = "bn"
    directpred_rho: float = 0.3
    directpred_eps: float = 0.1
    directpred_freq: int = 1
    directpred_c: float | None = None
    directpred_normalize: bool = False

    encoder: str = "small_resnet"
    width: int = 16
    feature_dim: int = 16

    dataset: str = "digits"
    data_dir: str | None = None
    input_dim: int = 16
    sigma2: float = 0.1
    augment: AugmentConfig | None = None

    loss: str = "cosine"
    symmetric_loss: bool = True
    temperature: float = 0.5
    gamma_ema: float = 0.99
    ema_schedule: str = "cosine"

    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 4e-4
    alpha_p: float = 1.0
    lr_schedule: str = "cosine"
    warmup_steps: int = 0
    batch_size: int = 256
    steps: int = 500
    seed: int = 0
    dtype: str = "float32"

    log_every: int = 50
    probe_size: int = 512
    knn_k: int = 20
    knn_temperature: float = 0.1

    def __post_init__(self):
        check = _params
        check.check_choice("method", self.method, METHODS)
        check.check_choice("predictor", self.predictor, PREDICTORS)
        check.check_choice("projector_norm", self.projector_norm, NORMS)
        check.check_choice("predictor_norm", self.predictor_norm, NORMS)
        check.check_choice("encoder", self.encoder, ENCODERS)
        check.check_choice("dataset", self.dataset, DATASETS)
        check.check_choice("loss", self.loss, LOSSES)
        check.check_choice("ema_schedule", self.ema_schedule, SCHEDULES)
        check.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check.check_choice("lr_schedule", self.lr_schedule, SCHEDULES)
        check.check_choice("dtype", self.dtype, DTYPES)
        for name in ("predictor_bias", "predictor_symmetric", "directpred_normalize", "symmetric_loss"):
            check.check_flag(name, getattr(self, name))
        for name, minimum in (
            ("predictor_hidden", 1), ("projector_hidden", 0), ("projection_dim", 1), ("directpred_freq", 1),
            ("width", 1), ("feature_dim", 1), ("input_dim", 1), ("warmup_steps", 0), ("batch_size", 2),
            ("steps", 1), ("seed", 0), ("log_every", 1), ("probe_size", 2), ("knn_k", 1),
        ):
            check.check_integer(name, getattr(self, name), minimum)
        check.check_scalar("directpred_rho", self.directpred_rho)
        check.check_scalar("directpred_eps", self.directpred_eps)
        if self.directpred_c is not None:
            check.check_scalar("directpred_c", self.directpred_c, Interval())
        check.check_scalar("sigma2", self.sigma2)
        check.check_scalar("temperature", self.temperature)
        check.check_scalar("gamma_ema", self.gamma_ema, Interval(0.0, 1.0))  # 1 = frozen target (allowed here)
        check.check_scalar("lr", self.lr)
        check.check_scalar("momentum", self.momentum)
        check.check_scalar("weight_decay", self.weight_decay)
        check.check_scalar("alpha_p", self.alpha_p)
        check.check_scalar("knn_temperature", self.knn_temperature, POSITIVE)
        if self.augment is not None and not isinstance(self.augment, AugmentConfig):
            raise ValueError(f"augment must be an AugmentConfig or None; got augment={self.augment!r}")
        if self.method == "simclr" and self.predictor != "none":
            raise ValueError(f"SimCLR has no predictor: use predictor='none' with method='simclr'; got predictor={self.predictor!r}")
        if self.dataset == "synthetic" and self.encoder != "linear":
            raise ValueError(f"the synthetic isotropic data is a vector, for encoder='linear'; got encoder={self.encoder!r}")
        if self.encoder == "linear" and self.dataset != "synthetic":
            raise ValueError(f"encoder='linear' reads vectors: use dataset='synthetic'; got dataset={self.dataset!r}")
        if self.dataset in ("cifar10", "stl10") and self.data_dir is None:
            raise ValueError(f"dataset={self.dataset!r} is read from disk: give data_dir (nothing is downloaded)")
        if self.dtype == "float64":
            import jax

            if not jax.config.read("jax_enable_x64"):
                raise ValueError("dtype='float64' needs jax.config.update('jax_enable_x64', True) first")

    @property
    def _encoder_dim(self) -> int:
        if self.encoder == "linear":
            return self.feature_dim
        return self.width * (8 if self.encoder == "resnet18" else 2)

    @property
    def representation_dim(self) -> int:
        """Dimension of the encoder output ``h`` (what the probes read)."""
        return self._encoder_dim

    @property
    def head_dim(self) -> int:
        """Dimension of the predictor input ``f`` (projector output, or encoder output without one)."""
        return self.projection_dim if self.projector_hidden > 0 else self._encoder_dim

    @property
    def uses_target(self) -> bool:
        """Whether the run keeps an EMA target network (BYOL with ``gamma_ema > 0``)."""
        return self.method == "byol" and self.gamma_ema > 0.0

    @property
    def flow_time_unit(self) -> float:
        """Gradient-flow time per step at the base rate: ``lr / (1 - momentum)``."""
        return self.lr / (1.0 - self.momentum)

    @property
    def augmentation(self) -> AugmentConfig:
        """The augmentation in force (``augment``, or the dataset's default)."""
        return self.augment if self.augment is not None else default_augmentation(self.dataset)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the augmentation nested)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


#: What a method name means on the command line: ``directpred`` is BYOL with 002's DirectPred
#: predictor, ``simclr`` has no predictor.
METHOD_PRESETS = {
    "byol": {"method": "byol"},
    "simsiam": {"method": "simsiam"},
    "simclr": {"method": "simclr", "predictor": "none"},
    "directpred": {"method": "byol", "predictor": "directpred"},
}


def config_for(method: str, **changes: Any) -> TrainConfig:
    """A :class:`TrainConfig` for a method name of :data:`METHOD_PRESETS` (incl. ``"directpred"``).

    Options left ``None`` keep the config's defaults.

    >>> cfg = config_for("directpred", steps=10, lr=None)
    >>> cfg.method, cfg.predictor, cfg.steps, cfg.lr
    ('byol', 'directpred', 10, 0.05)
    """
    _params.check_choice("method", method, tuple(METHOD_PRESETS))
    values = dict(METHOD_PRESETS[method])
    values.update({k: v for k, v in changes.items() if v is not None})
    return TrainConfig(**values)


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :meth:`TrainConfig.to_dict` (e.g. a records file).

    >>> cfg = TrainConfig(method="simsiam", predictor="linear")
    >>> config_from_dict(cfg.to_dict()) == cfg
    True
    """
    values = dict(values)
    augment = values.get("augment")
    if isinstance(augment, dict):
        values["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in augment.items()})
    return TrainConfig(**values)
