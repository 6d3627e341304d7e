"""Image augmentations in JAX: one key per sample, ``vmap`` over the batch, ``jit`` over everything.

Each transform maps one image ``[H, W, C]`` in [0, 1] and one PRNG key to an image of the same
shape; :func:`augment_batch` splits one key into a key per sample and composes them in SimCLR's
order: random resized crop, horizontal flip, colour jitter (probability ``jitter_p``), grayscale
(probability ``grayscale_p``), Gaussian noise, then per-channel normalisation. Colour operations
are skipped for one-channel images. Differences from torchvision, chosen for a branch-free,
traceable pipeline: the crop box is clipped into the image instead of re-sampled, jitter applies
brightness, contrast, saturation and hue in a fixed order, and hue is a rotation of the YIQ
chroma plane (exact for the hue angle of an ideal colour wheel, close to HSV's hue shift).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .config import AugmentConfig

__all__ = [
    "random_resized_crop",
    "random_flip",
    "color_jitter",
    "random_grayscale",
    "gaussian_noise",
    "augment_image",
    "augment_batch",
]

_LUMA = jnp.array([0.299, 0.587, 0.114])
# RGB -> YIQ (NTSC); its inverse maps back.
_YIQ = jnp.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def random_resized_crop(key, image, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)):
    """Crop a random box of area fraction in ``scale`` and aspect ratio in ``ratio``; resize back.

    Bilinear resampling with :func:`jax.image.scale_and_translate`: output pixel centre ``i + 1/2``
    reads input coordinate ``y0 + (i + 1/2) h / H``.

    >>> out = random_resized_crop(jax.random.PRNGKey(0), jnp.ones((8, 8, 1)))
    >>> out.shape, bool(jnp.allclose(out, 1.0))
    ((8, 8, 1), True)
    """
    height, width = image.shape[0], image.shape[1]
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    area = jax.random.uniform(k_area, (), minval=scale[0], maxval=scale[1]) * height * width
    aspect = jnp.exp(jax.random.uniform(k_ratio, (), minval=jnp.log(ratio[0]), maxval=jnp.log(ratio[1])))
    crop_w = jnp.clip(jnp.sqrt(area * aspect), 1.0, width)
    crop_h = jnp.clip(jnp.sqrt(area / aspect), 1.0, height)
    y0 = jax.random.uniform(k_y, ()) * (height - crop_h)
    x0 = jax.random.uniform(k_x, ()) * (width - crop_w)
    zoom = jnp.stack([height / crop_h, width / crop_w])
    return jax.image.scale_and_translate(
        image, image.shape, (0, 1), zoom, -jnp.stack([y0, x0]) * zoom, method="linear", antialias=False
    )


def random_flip(key, image):
    """Mirror left-right with probability 1/2."""
    return jnp.where(jax.random.uniform(key) < 0.5, image[:, ::-1, :], image)


def _grayscale(image):
    return jnp.broadcast_to((image @ _LUMA.astype(image.dtype))[..., None], image.shape)


def color_jitter(key, image, strength=0.5, p=0.8):
    """SimCLR's colour jitter with probability ``p``: brightness, contrast, saturation ``0.8 s``, hue ``0.2 s``."""
    k_apply, k_b, k_c, k_s, k_h = jax.random.split(key, 5)
    spread = 0.8 * strength

    def factor(k):
        return jax.random.uniform(k, (), minval=jnp.maximum(0.0, 1.0 - spread), maxval=1.0 + spread)

    out = image * factor(k_b)
    gray_mean = jnp.mean(out @ _LUMA.astype(image.dtype))
    out = (out - gray_mean) * factor(k_c) + gray_mean
    gray = _grayscale(out)
    out = gray + (out - gray) * factor(k_s)
    angle = 2.0 * jnp.pi * jax.random.uniform(k_h, (), minval=-0.2 * strength, maxval=0.2 * strength)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    rotation = jnp.array([[1.0, 0.0, 0.0], [0.0, cos, -sin], [0.0, sin, cos]])
    yiq = _YIQ.astype(image.dtype)
    hue_map = jnp.linalg.inv(yiq) @ rotation.astype(image.dtype) @ yiq
    out = jnp.clip(out @ hue_map.T, 0.0, 1.0)
    return jnp.where(jax.random.uniform(k_apply) < p, out, image)


def random_grayscale(key, image, p=0.2):
    """Replace the image by its luminance (replicated over channels) with probability ``p``."""
    return jnp.where(jax.random.uniform(key) < p, _grayscale(image), image)


def gaussian_noise(key, image, std=0.1):
    """Add ``N(0, std^2)`` noise to every pixel."""
    return image + std * jax.random.normal(key, image.shape, image.dtype)


def augment_image(key, image, augment: AugmentConfig):
    """One augmented view of one image ``[H, W, C]`` in [0, 1] (un-normalised)."""
    k_crop, k_flip, k_jitter, k_gray, k_noise = jax.random.split(key, 5)
    out = random_resized_crop(k_crop, image, augment.crop_scale, augment.crop_ratio)
    if augment.flip:
        out = random_flip(k_flip, out)
    if image.shape[-1] == 3:
        if augment.jitter_p > 0:
            out = color_jitter(k_jitter, out, augment.jitter_strength, augment.jitter_p)
        if augment.grayscale_p > 0:
            out = random_grayscale(k_gray, out, augment.grayscale_p)
    if augment.noise_std > 0:
        out = gaussian_noise(k_noise, out, augment.noise_std)
    return out


@functools.partial(jax.jit, static_argnames=("augment",))
def augment_batch(key, images, augment: AugmentConfig, mean, std):
    """Augment a batch ``[N, H, W, C]`` (uint8 or [0, 1] floats) with one key per sample; normalise.

    Returns float32 ``(view - mean) / std``. Two views are two calls with two keys.

    >>> from ssl_odes.empirical.config import default_augmentation
    >>> views = augment_batch(jax.random.PRNGKey(0), jnp.zeros((5, 8, 8, 1)), default_augmentation("digits"), 0.0, 1.0)
    >>> views.shape, str(views.dtype)
    ((5, 8, 8, 1), 'float32')
    """
    images = images.astype(jnp.float32) / 255.0 if images.dtype == jnp.uint8 else images.astype(jnp.float32)
    keys = jax.random.split(key, images.shape[0])
    views = jax.vmap(augment_image, in_axes=(0, 0, None))(keys, images, augment)
    return (views - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)
