"""Encoders and MLP heads in Flax (linen): CIFAR-style ResNet-18, a small ResNet, a linear encoder.

* :class:`ResNet` with :func:`resnet18` (CIFAR variant: 3x3 stride-1 stem, no max-pool, stages of
  2 basic blocks at widths 64-128-256-512) and :func:`small_resnet` (two stages of one block at
  widths ``w``-``2w``, for CPU runs on 8x8x1 digits). The output is the globally average-pooled
  representation ``h``.
* :class:`LinearEncoder`: ``f = W x`` without bias, 002's online network ``W`` (n2 x n1).
* :class:`MLP`: ``Linear -> norm -> ReLU -> Linear`` (BYOL's projector and predictor), whose
  ``norm`` is one of the BatchNorm ablations of 000 Tables 4-5 (:class:`HeadNorm`).

BatchNorm in the encoder keeps running statistics (``batch_stats``) for evaluation; the heads'
:class:`HeadNorm` always uses the batch's statistics (the heads are only used in training).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["BasicBlock", "ResNet", "resnet18", "small_resnet", "LinearEncoder", "HeadNorm", "MLP", "norm_components"]


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions with BatchNorm, identity or 1x1 projection shortcut."""

    features: int
    strides: int = 1
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        norm = functools.partial(
            nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype,
            param_dtype=self.param_dtype,
        )
        conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype)
        y = conv(self.features, (3, 3), strides=self.strides, padding=1)(x)
        y = nn.relu(norm()(y))
        y = conv(self.features, (3, 3), padding=1)(y)
        y = norm()(y)
        if x.shape[-1] != self.features or self.strides != 1:
            x = norm()(conv(self.features, (1, 1), strides=self.strides)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    """CIFAR-style ResNet: 3x3 stem (stride 1, no max-pool), stages of basic blocks, global average pool.

    Stage ``k`` has ``stage_sizes[k]`` blocks of width ``width * 2**k``; every stage after the first
    halves the resolution. Input ``[N, H, W, C]``, output ``[N, width * 2**(len(stage_sizes) - 1)]``.
    """

    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    width: int = 64
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Conv(self.width, (3, 3), padding=1, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype)(
            x.astype(self.dtype)
        )
        x = nn.BatchNorm(
            use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype, param_dtype=self.param_dtype
        )(x)
        x = nn.relu(x)
        for stage, blocks in enumerate(self.stage_sizes):
            for block in range(blocks):
                strides = 2 if stage > 0 and block == 0 else 1
                x = BasicBlock(self.width * 2**stage, strides, self.dtype, self.param_dtype)(x, train)
        return jnp.mean(x, axis=(1, 2))


def resnet18(width: int = 64, dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> ResNet:
    """CIFAR-style ResNet-18 (11.2M parameters at width 64; 512-d output).

    >>> import jax, jax.numpy as jnp
    >>> net = resnet18()
    >>> x = jnp.zeros((2, 32, 32, 3))
    >>> shapes = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), x, train=False))  # shapes only, no compute
    >>> jax.eval_shape(lambda v: net.apply(v, x, train=False), shapes).shape
    (2, 512)
    """
    return ResNet(stage_sizes=(2, 2, 2, 2), width=width, dtype=dtype, param_dtype=param_dtype)


def small_resnet(width: int = 16, dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> ResNet:
    """A ResNet for CPU runs: 3x3 stem, one block at ``width``, one at ``2 width`` (stride 2); handles 8x8x1.

    >>> import jax, jax.numpy as jnp
    >>> net = small_resnet(width=8)
    >>> x = jnp.zeros((2, 8, 8, 1))
    >>> shapes = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), x, train=False))
    >>> jax.eval_shape(lambda v: net.apply(v, x, train=False), shapes).shape
    (2, 16)
    """
    return ResNet(stage_sizes=(1, 1), width=width, dtype=dtype, param_dtype=param_dtype)


class LinearEncoder(nn.Module):
    """``f = W x`` without bias (002 Eq 1); ``W`` is stored as the paper writes it, ``[n2, n1]``."""

    features: int
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        n1 = x.shape[-1]
        weight = self.param("W", nn.initializers.normal(1.0 / jnp.sqrt(n1)), (self.features, n1), self.param_dtype)
        return x.astype(self.dtype) @ weight.astype(self.dtype).T


def norm_components(norm: str) -> dict[str, bool]:
    """Split a norm name of :data:`~ssl_odes.empirical.config.NORMS` into its components (000 Table 5).

    >>> norm_components("mu_detached_sigma")
    {'center': True, 'scale': True, 'detach_mean': True, 'detach_std': False, 'affine': False}
    """
    parts = norm.split("_")
    if norm == "bn":
        return {"center": True, "scale": True, "detach_mean": False, "detach_std": False, "affine": True}
    if norm == "none":
        return {"center": False, "scale": False, "detach_mean": False, "detach_std": False, "affine": False}
    names = []
    for part in parts:
        if part == "detached":
            names[-1] = names[-1] + "_detached"
        else:
            names.append(part)
    allowed = {"mu", "sigma", "mu_detached", "sigma_detached"}
    if not set(names) <= allowed or len(names) != len(set(n.split("_")[0] for n in names)):
        raise ValueError(f"unknown norm {norm!r}")
    return {
        "center": any(n.startswith("mu") for n in names),
        "scale": any(n.startswith("sigma") for n in names),
        "detach_mean": "mu_detached" in names,
        "detach_std": "sigma_detached" in names,
        "affine": False,
    }


class HeadNorm(nn.Module):
    """Batch normalisation of a head layer by components (000 Tables 4-5).

    ``y = (x - mu_B) / sqrt(var_B + eps)`` with each part optional: ``center`` subtracts the batch
    mean ``mu``, ``scale`` divides by the batch standard deviation ``sigma``; ``detach_mean`` /
    ``detach_std`` apply that part in the forward pass but stop its gradient (000's dagger:
    the normalised value is used, the batch statistic is treated as a constant); ``affine`` adds
    a learned ``gamma y + b``. Always uses the statistics of the current batch.
    """

    norm: str = "bn"
    epsilon: float = 1e-5
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        parts = norm_components(self.norm)
        stats_dtype = jnp.promote_types(self.param_dtype, jnp.float32)  # statistics at least in float32
        x32 = x.astype(stats_dtype)
        mean = jnp.mean(x32, axis=0)
        if parts["center"]:
            x32 = x32 - (jax.lax.stop_gradient(mean) if parts["detach_mean"] else mean)
        if parts["scale"]:
            var = jnp.var(x.astype(stats_dtype), axis=0)
            inv = jax.lax.rsqrt(var + self.epsilon)
            x32 = x32 * (jax.lax.stop_gradient(inv) if parts["detach_std"] else inv)
        if parts["affine"]:
            features = x.shape[-1]
            x32 = x32 * self.param("scale", nn.initializers.ones_init(), (features,), self.param_dtype) + self.param(
                "bias", nn.initializers.zeros_init(), (features,), self.param_dtype
            )
        return x32.astype(self.dtype)


class MLP(nn.Module):
    """``Linear(hidden) -> HeadNorm -> ReLU -> Linear(out)``: BYOL's projector and MLP predictor.

    >>> import jax, jax.numpy as jnp
    >>> mlp = MLP(hidden=8, out=3, norm="mu")
    >>> shapes = jax.eval_shape(lambda: mlp.init(jax.random.PRNGKey(0), jnp.ones((4, 5))))
    >>> jax.eval_shape(lambda v: mlp.apply(v, jnp.ones((4, 5))), shapes).shape
    (4, 3)
    """

    hidden: int
    out: int
    norm: str = "bn"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        x = nn.Dense(self.hidden, dtype=self.dtype, param_dtype=self.param_dtype)(x.astype(self.dtype))
        x = nn.relu(HeadNorm(self.norm, dtype=self.dtype, param_dtype=self.param_dtype)(x))
        return nn.Dense(self.out, dtype=self.dtype, param_dtype=self.param_dtype)(x)
