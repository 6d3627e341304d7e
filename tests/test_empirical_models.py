"""Empirical companion: data readers, augmentations, model shapes, BatchNorm ablation components.

The CIFAR-10 / STL-10 readers are tested on tiny files written here in the published formats
(CIFAR: pickled dicts with ``data`` rows = 1024 R, 1024 G, 1024 B values, each image row-major;
STL-10: uint8 ``[N, 3, 96, 96]`` with each channel stored column-major, labels 1-10).
"""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")

from ssl_odes.empirical import augment, data, network, resnet  # noqa: E402
from ssl_odes.empirical.config import AugmentConfig, TrainConfig, default_augmentation  # noqa: E402


# ------------------------------------------------------------------ data


def test_digits_are_embedded_8x8_grayscale_in_unit_range():
    ds = data.load_digits()
    assert ds.train_images.shape[1:] == (8, 8, 1) and len(ds.train_images) + len(ds.test_images) == 1797
    assert ds.train_images.min() >= 0.0 and ds.train_images.max() <= 1.0
    assert set(np.unique(ds.train_labels)) == set(range(10))


def _cifar_file(path, images, labels):
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # channel-major, row-major pixels
    with open(path, "wb") as handle:
        pickle.dump({b"batch_label": b"test", b"labels": list(map(int, labels)), b"data": rows, b"filenames": []}, handle)


def test_cifar10_reader_recovers_images_and_labels_from_python_batches(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    images = rng.integers(0, 256, size=(6, 4, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(6, 4))
    for i in range(5):
        _cifar_file(folder / f"data_batch_{i + 1}", images[i], labels[i])
    _cifar_file(folder / "test_batch", images[5], labels[5])
    ds = data.load_cifar10(tmp_path)  # the parent directory also works
    np.testing.assert_array_equal(ds.train_images, images[:5].reshape(20, 32, 32, 3))
    np.testing.assert_array_equal(ds.train_labels, labels[:5].reshape(-1))
    np.testing.assert_array_equal(ds.test_images, images[5])
    # one pixel by hand: green channel of image 0, row 1, column 2 sits at 1024 + 32 * 1 + 2
    raw = pickle.load(open(folder / "data_batch_1", "rb"), encoding="bytes")[b"data"]
    assert ds.train_images[0, 1, 2, 1] == raw[0, 1024 + 32 * 1 + 2]


def test_stl10_reader_handles_column_major_channels_and_one_based_labels(tmp_path):
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, size=(3, 96, 96, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(2, 96, 96, 3), dtype=np.uint8)
    for name, images, labels in (("train", train, [1, 10, 5]), ("test", test, [2, 3])):
        images.transpose(0, 3, 2, 1).tofile(tmp_path / f"{name}_X.bin")  # [N, C, W, H] = column-major channels
        np.asarray(labels, np.uint8).tofile(tmp_path / f"{name}_y.bin")
    ds = data.load_stl10(tmp_path)
    np.testing.assert_array_equal(ds.train_images, train)
    np.testing.assert_array_equal(ds.test_images, test)
    assert ds.train_labels.tolist() == [0, 9, 4]
    raw = np.fromfile(tmp_path / "train_X.bin", np.uint8)
    assert ds.train_images[0, 5, 7, 2] == raw[2 * 96 * 96 + 7 * 96 + 5]  # channel 2, column 7, row 5


def test_missing_files_raise_a_message_that_nothing_is_downloaded(tmp_path):
    with pytest.raises(ValueError, match="nothing is downloaded"):
        data.load_cifar10(tmp_path)


def test_isotropic_views_have_X_identity_and_X_prime_sigma2():
    """002 Assumption 2: E[x1 x2^T] = X = I and E[x1 x1^T] = X + X' = (1 + sigma2) I (sampling error ~ 4/sqrt(n))."""
    n, d, sigma2 = 40000, 3, 0.5
    x1, x2 = data.isotropic_views(jax.random.PRNGKey(0), n, d, sigma2)
    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    np.testing.assert_allclose(x1.T @ x2 / n, np.eye(d), atol=4 * 1.5 / np.sqrt(n))
    np.testing.assert_allclose(x1.T @ x1 / n, (1 + sigma2) * np.eye(d), atol=4 * 1.5 * np.sqrt(2) / np.sqrt(n))


def test_batches_are_a_pure_function_of_seed_and_step_and_cover_an_epoch_without_repeats():
    n, batch = 50, 8
    epoch = np.concatenate([data.batch_indices(3, k, batch, n) for k in range(n // batch)])
    assert len(set(epoch.tolist())) == len(epoch)
    np.testing.assert_array_equal(data.batch_indices(3, 4, batch, n), data.batch_indices(3, 4, batch, n))
    assert not np.array_equal(data.batch_indices(3, 0, batch, n), data.batch_indices(3, n // batch, batch, n))


# ------------------------------------------------------------------ augmentations


def test_full_crop_is_the_identity_and_a_quarter_crop_zooms_a_ramp_by_two():
    ramp = jnp.broadcast_to(jnp.arange(16.0)[None, :, None], (16, 16, 1))
    same = augment.random_resized_crop(jax.random.PRNGKey(0), ramp, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_allclose(same, ramp, atol=1e-5)
    zoomed = augment.random_resized_crop(jax.random.PRNGKey(1), ramp, scale=(0.25, 0.25), ratio=(1.0, 1.0))
    slopes = np.diff(np.asarray(zoomed)[8, 1:-1, 0])  # interior: bilinear interpolation of a linear ramp is exact
    np.testing.assert_allclose(slopes, 0.5, atol=1e-4)


def test_each_sample_gets_its_own_key_and_a_key_reproduces_its_view():
    images = jnp.broadcast_to(jnp.asarray(np.random.default_rng(0).random((1, 8, 8, 3)), jnp.float32), (4, 8, 8, 3))
    cfg = AugmentConfig()
    views = augment.augment_batch(jax.random.PRNGKey(0), images, cfg, 0.0, 1.0)
    assert not np.allclose(views[0], views[1])  # identical images, different per-sample keys
    np.testing.assert_array_equal(views, augment.augment_batch(jax.random.PRNGKey(0), images, cfg, 0.0, 1.0))


def test_grayscale_gives_equal_channels_with_luminance_and_noise_has_its_std():
    image = jnp.asarray(np.random.default_rng(0).random((8, 8, 3)), jnp.float32)
    gray = augment.random_grayscale(jax.random.PRNGKey(0), image, p=1.0)
    np.testing.assert_allclose(gray[..., 0], image @ jnp.array([0.299, 0.587, 0.114]), rtol=1e-6)
    np.testing.assert_allclose(gray[..., 0], gray[..., 2])
    noise = augment.gaussian_noise(jax.random.PRNGKey(0), jnp.zeros((64, 64, 1)), std=0.3)
    assert abs(float(jnp.std(noise)) - 0.3) < 0.02  # 4096 samples: relative sd ~ 1.1%


def test_color_jitter_with_zero_strength_is_the_identity():
    image = jnp.asarray(np.random.default_rng(0).random((8, 8, 3)), jnp.float32)
    np.testing.assert_allclose(augment.color_jitter(jax.random.PRNGKey(0), image, strength=0.0, p=1.0), image, atol=1e-5)


# ------------------------------------------------------------------ models


def test_resnet18_is_cifar_style_with_11_2M_parameters_and_512d_output():
    """3x3 stem, no max-pool, [2, 2, 2, 2] basic blocks: 11,168,832 weights (torchvision's count minus the fc)."""
    net = resnet.resnet18()
    shapes = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 3)), train=False))
    assert sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(shapes["params"])) == 11_168_832
    stem = shapes["params"]["Conv_0"]["kernel"]
    assert stem.shape == (3, 3, 3, 64)
    out = jax.eval_shape(lambda v: net.apply(v, jnp.zeros((2, 32, 32, 3)), train=False), shapes)
    assert out.shape == (2, 512)


def test_small_resnet_handles_8x8x1_digits_and_the_network_shapes_follow_the_config():
    cfg = TrainConfig(width=4, projector_hidden=12, projection_dim=6, predictor_hidden=10, predictor="mlp")
    net = network.build_network(cfg)
    x = jnp.zeros((5, 8, 8, 1))
    variables = jax.jit(lambda key: net.init(key, x, train=False))(jax.random.key(0, impl="rbg"))  # rbg: fast compile
    h = jax.jit(lambda v: net.apply(v, x, train=False, method=network.SSLNetwork.represent))(variables)
    (f, p), _ = jax.jit(lambda v: net.apply(v, x, mutable=["batch_stats"]))(variables)
    assert h.shape == (5, cfg.representation_dim) == (5, 8)
    assert f.shape == p.shape == (5, 6)
    assert variables["params"]["predictor"]["Dense_0"]["kernel"].shape == (6, 10)


def test_linear_encoder_and_linear_predictor_use_the_papers_matrix_convention():
    """002 Eq 1: f = W x with W [n2, n1]; p = Wp f."""
    cfg = TrainConfig(encoder="linear", dataset="synthetic", input_dim=3, feature_dim=2, projector_hidden=0, predictor="linear")
    net = network.build_network(cfg)
    W = jnp.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    Wp = jnp.array([[2.0, 1.0], [0.0, 3.0]])
    x = jnp.array([[1.0, 1.0, 1.0]])
    f, p = net.apply({"params": {"encoder": {"W": W}, "predictor": {"Wp": Wp}}}, x)
    np.testing.assert_allclose(f, [[3.0, 0.0]])
    np.testing.assert_allclose(p, [[6.0, 0.0]])


@pytest.mark.parametrize(
    "norm, mean_zero, unit_var",
    [("bn", True, True), ("mu", True, False), ("sigma", False, True), ("mu_sigma", True, True), ("mu_detached", True, False)],
)
def test_head_norm_components_normalise_as_named(norm, mean_zero, unit_var):
    """000 Table 5: mu subtracts the batch mean, sigma divides by the batch std, a dagger only stops gradients."""
    x = jnp.asarray(np.random.default_rng(0).normal(2.0, 3.0, size=(64, 4)), jnp.float32)
    layer = resnet.HeadNorm(norm)
    variables = layer.init(jax.random.PRNGKey(0), x)
    y = np.asarray(layer.apply(variables, x))
    assert np.allclose(y.mean(0), 0.0, atol=1e-5) == mean_zero
    assert np.allclose(y.var(0), 1.0, atol=1e-3) == unit_var
    if norm == "sigma":
        np.testing.assert_allclose(y, x / np.sqrt(np.var(np.asarray(x), 0) + 1e-5), rtol=1e-5)


def test_detached_mean_passes_the_gradient_through_uncentred():
    """mu: d/dx sum(g * (x - mean)) = g - mean(g); mu_detached (000's dagger): g itself."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=(8, 3)), jnp.float32)
    g = jnp.asarray(np.random.default_rng(1).normal(size=(8, 3)), jnp.float32)

    def grad(norm):
        layer = resnet.HeadNorm(norm)
        return jax.grad(lambda v: jnp.sum(g * layer.apply({}, v)))(x)

    np.testing.assert_allclose(grad("mu"), g - g.mean(0), atol=1e-6)
    np.testing.assert_allclose(grad("mu_detached"), g, atol=1e-6)


def test_config_validation_names_the_parameter_and_range():
    with pytest.raises(ValueError, match="gamma_ema must satisfy 0 <= gamma_ema <= 1"):
        TrainConfig(gamma_ema=1.5)
    with pytest.raises(ValueError, match="method must be one of"):
        TrainConfig(method="moco")
    with pytest.raises(ValueError, match="SimCLR has no predictor"):
        TrainConfig(method="simclr", predictor="mlp")
    with pytest.raises(ValueError, match="give data_dir"):
        TrainConfig(dataset="cifar10")
    assert default_augmentation("cifar10").flip and not default_augmentation("digits").flip


def test_bfloat16_option_computes_in_bf16_and_keeps_float32_parameters():
    cfg = TrainConfig(width=4, dtype="bfloat16")
    net = network.build_network(cfg)
    x = jnp.zeros((5, 8, 8, 1))
    variables = jax.jit(lambda key: net.init(key, x, train=False))(jax.random.key(0, impl="rbg"))
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(variables["params"])} == {jnp.dtype(jnp.float32)}
    (f, p), _ = jax.jit(lambda v: net.apply(v, x, mutable=["batch_stats"]))(variables)
    assert f.dtype == p.dtype == jnp.bfloat16
