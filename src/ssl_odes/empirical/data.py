"""Data for the empirical companion: embedded digits, CIFAR-10 / STL-10 from disk, isotropic Gaussians.

Nothing is downloaded. ``digits`` is scikit-learn's embedded 8x8 digits (1797 images);
CIFAR-10 (the "python version": pickled ``data_batch_1..5``, ``test_batch``) and STL-10 (the
"binary version": ``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``,
``unlabeled_X.bin``) are read from a directory the user gives. ``synthetic`` is 002's isotropic
setting (Assumption 2): a data point ``x ~ N(0, I_n1)`` and two views ``x_i = x + sqrt(sigma2)
n_i`` with independent ``n_i ~ N(0, I)``, so that ``X = E[xbar xbar^T] = I`` and
``X' = E[Var(x'|x)] = sigma2 I`` exactly.

Batches are a pure function of ``(seed, step)`` (:func:`batch_indices`), so an interrupted run
resumed from a checkpoint draws exactly the batches the uninterrupted run would have drawn.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import _params

__all__ = [
    "ImageDataset",
    "load_digits",
    "load_cifar10",
    "load_stl10",
    "load_dataset",
    "batch_indices",
    "isotropic_views",
]


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Images ``[N, H, W, C]`` (uint8, or float32 in [0, 1]) and integer labels, split in two.

    ``ssl_images`` are what self-supervised training draws from (the training images, plus
    STL-10's unlabeled split when asked); ``mean`` / ``std`` per channel (of the training images,
    in [0, 1] units) normalise network inputs.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    ssl_images: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1


def _unit_scale(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)


def _dataset(name, train_x, train_y, test_x, test_y, ssl_x=None) -> ImageDataset:
    scaled = _unit_scale(train_x)
    mean = scaled.mean(axis=(0, 1, 2))
    std = scaled.std(axis=(0, 1, 2)) + 1e-6
    return ImageDataset(
        name=name, train_images=train_x, train_labels=np.asarray(train_y, np.int32), test_images=test_x,
        test_labels=np.asarray(test_y, np.int32), ssl_images=train_x if ssl_x is None else ssl_x,
        mean=mean.astype(np.float32), std=std.astype(np.float32),
    )


def load_digits(test_fraction: float = 0.25, split_seed: int = 0) -> ImageDataset:
    """scikit-learn's embedded 8x8 digits as ``[N, 8, 8, 1]`` float32 images in [0, 1].

    A fixed random split (``split_seed``) keeps ``test_fraction`` of the 1797 images for testing.

    >>> ds = load_digits()
    >>> ds.train_images.shape, ds.test_images.shape, ds.num_classes
    ((1348, 8, 8, 1), (449, 8, 8, 1), 10)
    """
    from sklearn.datasets import load_digits as sklearn_digits

    fraction = _params.check_scalar("test_fraction", test_fraction, _params.Interval(0.0, 1.0, False, False))
    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    order = np.random.default_rng(split_seed).permutation(len(images))
    n_test = int(round(fraction * len(images)))
    test, train = order[:n_test], order[n_test:]
    return _dataset("digits", images[train], bunch.target[train], images[test], bunch.target[test])


def _find(data_dir: Path, names: tuple[str, ...], subdir: str) -> Path:
    for base in (data_dir, data_dir / subdir):
        if all((base / name).is_file() for name in names):
            return base
    raise ValueError(
        f"data_dir={str(data_dir)!r} does not hold {', '.join(names)} (nor {subdir}/ with them); "
        "nothing is downloaded: point data_dir at the extracted archive"
    )


def load_cifar10(data_dir: str | Path) -> ImageDataset:
    """CIFAR-10 from its python batches (``data_batch_1..5``, ``test_batch``): uint8 ``[N, 32, 32, 3]``.

    Each batch is a pickled dict with ``b"data"`` (``[N, 3072]`` uint8, channel-major: 1024 red,
    1024 green, 1024 blue values, each row-major 32x32) and ``b"labels"``. ``data_dir`` may be the
    directory holding the files or its parent (``cifar-10-batches-py/``).
    """
    names = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
    base = _find(Path(data_dir), names, "cifar-10-batches-py")

    def read(name):
        with open(base / name, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return data, np.asarray(batch[b"labels"], np.int32)

    parts = [read(name) for name in names[:5]]
    test_x, test_y = read("test_batch")
    return _dataset(
        "cifar10", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), test_x, test_y
    )


def load_stl10(data_dir: str | Path, include_unlabeled: bool = False) -> ImageDataset:
    """STL-10 from its binary files: uint8 ``[N, 96, 96, 3]``, labels 0-9.

    ``*_X.bin`` hold images as uint8 ``[N, 3, 96, 96]`` with each channel in column-major order
    (hence the transpose to ``[N, W, H, C]`` -> ``[N, H, W, C]``); ``*_y.bin`` hold labels 1-10.
    With ``include_unlabeled`` the 100k unlabeled images join the self-supervised training pool.
    """
    names = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
    base = _find(Path(data_dir), names, "stl10_binary")

    def images(name):
        return np.fromfile(base / name, dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)

    def labels(name):
        return np.fromfile(base / name, dtype=np.uint8).astype(np.int32) - 1

    train_x, test_x = images("train_X.bin"), images("test_X.bin")
    ssl_x = None
    if _params.check_flag("include_unlabeled", include_unlabeled):
        if not (base / "unlabeled_X.bin").is_file():
            raise ValueError(f"include_unlabeled=True but {base / 'unlabeled_X.bin'} is missing")
        ssl_x = np.concatenate([train_x, images("unlabeled_X.bin")])
    return _dataset("stl10", train_x, labels("train_y.bin"), test_x, labels("test_y.bin"), ssl_x)


def load_dataset(config) -> ImageDataset | None:
    """The image dataset of a :class:`~ssl_odes.empirical.config.TrainConfig` (``None`` for synthetic)."""
    if config.dataset == "digits":
        return load_digits()
    if config.dataset == "cifar10":
        return load_cifar10(config.data_dir)
    if config.dataset == "stl10":
        return load_stl10(config.data_dir)
    return None


def batch_indices(seed: int, step: int, batch_size: int, num_examples: int) -> np.ndarray:
    """Indices of the training batch of ``step``: epoch-wise permutations, a pure function of its inputs.

    Epoch ``e = step // (num_examples // batch_size)`` uses the permutation seeded by
    ``(seed, e)``; the last incomplete batch of an epoch is dropped.

    >>> batch_indices(0, 3, 4, 10).tolist() == batch_indices(0, 3, 4, 10).tolist()
    True
    >>> len(set(batch_indices(0, 0, 4, 10)) | set(batch_indices(0, 1, 4, 10)))
    8
    """
    batch_size = _params.check_integer("batch_size", batch_size, 1, num_examples)
    per_epoch = num_examples // batch_size
    epoch, index = divmod(int(step), per_epoch)
    order = np.random.default_rng([int(seed), epoch]).permutation(num_examples)
    return order[index * batch_size : (index + 1) * batch_size]


def isotropic_views(key: jax.Array, batch_size: int, input_dim: int, sigma2: float, dtype=jnp.float32):
    """Two views of isotropic Gaussian data: ``x ~ N(0, I)``, ``x_i = x + sqrt(sigma2) n_i`` (002 Assumption 2).

    Then ``xbar = x``, ``X = E[x x^T] = I`` and ``X' = Var(x_i | x) = sigma2 I``. Returns
    ``(x_1, x_2)``, each ``[batch_size, input_dim]``. Jit-friendly (``batch_size``, ``input_dim``
    static).

    >>> x1, x2 = isotropic_views(jax.random.PRNGKey(0), 4, 3, 0.5)
    >>> x1.shape
    (4, 3)
    """
    k_x, k_1, k_2 = jax.random.split(key, 3)
    shape = (batch_size, input_dim)
    x = jax.random.normal(k_x, shape, dtype)
    scale = jnp.sqrt(jnp.asarray(sigma2, dtype))
    return x + scale * jax.random.normal(k_1, shape, dtype), x + scale * jax.random.normal(k_2, shape, dtype)
