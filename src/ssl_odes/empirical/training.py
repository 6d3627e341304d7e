"""Training: optimiser, jitted step, the loop with spectra logging, probes and exact-resume checkpoints.

One step (:func:`make_train_step`, jitted, the config static):

1. keys ``fold_in(PRNGKey(seed), step)``: two augmented views of the batch (one key per sample),
   or two isotropic Gaussian views for ``dataset="synthetic"``;
2. online projections ``f_1, f_2`` (each view its own BatchNorm batch);
3. DirectPred: ``F_hat`` updated with this batch's ``f`` (Eq 19), ``Wp`` set from it (Eq 18)
   when ``step % freq == 0``, else the trained ``Wp`` is used;
4. loss (:mod:`.methods`): BYOL / SimSiam regression onto stop-gradient target projections (EMA
   network, or the online one), or SimCLR's NT-Xent;
5. optimiser update: the predictor's gradient scaled by ``alpha_p``, then coupled weight decay,
   then SGD with momentum (or LARS) under the learning-rate schedule;
6. BYOL target ``<- gamma_k target + (1 - gamma_k) online`` (encoder and projector).

Everything a step reads is a pure function of ``(config, state, step)``: batches come from
:func:`~ssl_odes.empirical.data.batch_indices`, keys from the step. A run stopped after a
checkpoint and resumed is therefore bit-identical on CPU to one that never stopped.

Progress: :func:`train` shows a tqdm bar (steps, the last step's loss, steps and images (or
synthetic samples) per second, ETA) when the session is interactive: a Jupyter kernel, or a terminal on ``stderr``,
and no ``CI`` environment variable. ``train(..., progress=False)`` switches it off and
``progress=True`` forces it on. The bar only reads the loss the loop already fetches, so a run's
results are the same with and without it. It is an argument of :func:`train`, not a
:class:`~ssl_odes.empirical.config.TrainConfig` field: the config holds what changes what a run
computes (it is compared on resume), and a bar does not.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _params
from . import checkpoint as ckpt
from . import data as data_lib
from . import methods, predictors, probe, records as records_lib, spectra
from .augment import augment_batch
from .config import TrainConfig
from .network import SSLNetwork, build_network

__all__ = [
    "TrainState",
    "TrainResult",
    "learning_rate_schedule",
    "make_optimizer",
    "prng_key",
    "init_state",
    "make_train_step",
    "make_update_step",
    "measure_spectra",
    "evaluate",
    "flow_times",
    "progress_enabled",
    "train",
]


@flax.struct.dataclass
class TrainState:
    """Everything that changes during training (a pytree)."""

    step: jax.Array
    params: Any
    batch_stats: Any
    target_params: Any  # BYOL: EMA of params["encoder"], params["projector"]; None otherwise
    opt_state: Any
    correlation: Any  # DirectPred's F_hat (Eq 19); None otherwise


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the final state, the records, and the probe accuracies."""

    config: TrainConfig
    state: TrainState
    records: list[dict[str, Any]]
    evaluation: dict[str, float]
    finished: bool
    seconds: float

    @property
    def spectra(self):
        """The spectra records as an ``xarray.Dataset`` (:func:`~ssl_odes.empirical.records.records_to_xarray`)."""
        return records_lib.records_to_xarray(self.records)


# --------------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------------


def learning_rate_schedule(config: TrainConfig) -> optax.Schedule:
    """Cosine decay to 0 over ``steps`` (after a linear warm-up of ``warmup_steps``), or constant.

    >>> sched = learning_rate_schedule(TrainConfig(lr=0.1, steps=100, lr_schedule="cosine"))
    >>> round(float(sched(0)), 6), round(float(sched(50)), 6), round(float(sched(100)), 6)
    (0.1, 0.05, 0.0)
    """
    if config.lr_schedule == "constant":
        if config.warmup_steps == 0:
            return optax.constant_schedule(config.lr)
        return optax.join_schedules(
            [optax.linear_schedule(0.0, config.lr, config.warmup_steps), optax.constant_schedule(config.lr)],
            [config.warmup_steps],
        )
    if config.warmup_steps == 0:
        return optax.cosine_decay_schedule(config.lr, config.steps)
    return optax.warmup_cosine_decay_schedule(0.0, config.lr, config.warmup_steps, max(config.steps, config.warmup_steps + 1))


def _is_predictor(params):
    return {name: jax.tree_util.tree_map(lambda _: name == "predictor", sub) for name, sub in params.items()}


def _is_matrix(params):
    return jax.tree_util.tree_map(lambda leaf: jnp.ndim(leaf) > 1, params)


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """``alpha_p`` on the predictor's gradient, then weight decay and SGD-momentum (or LARS).

    SGD: ``w <- w - lr_k (g + weight_decay * w)`` with heavy-ball momentum, decay on every
    parameter (as in 002's flow, where ``eta`` acts on ``W`` and ``Wp``). LARS (You et al.): decay
    and the trust ratio (coefficient 1e-3, optax's and BYOL's) only on weight matrices / kernels,
    as in BYOL.
    """
    schedule = learning_rate_schedule(config)
    scale_predictor = optax.masked(optax.scale(config.alpha_p), _is_predictor)
    momentum = config.momentum if config.momentum > 0 else None
    if config.optimizer == "lars":
        return optax.chain(
            scale_predictor,
            optax.lars(schedule, weight_decay=config.weight_decay, weight_decay_mask=_is_matrix,
                       trust_ratio_mask=_is_matrix, momentum=config.momentum),
        )
    return optax.chain(scale_predictor, optax.add_decayed_weights(config.weight_decay), optax.sgd(schedule, momentum))


# --------------------------------------------------------------------------------------------
# State and step
# --------------------------------------------------------------------------------------------


def prng_key(seed: int) -> jax.Array:
    """The run's root key: JAX's ``"rbg"`` generator (XLA RngBitGenerator).

    Chosen over the default threefry because it compiles about 8x faster on CPU (threefry's
    unrolled hash dominated the compile time of a small network's step); it is deterministic on
    a given backend, which is what exact resume needs.
    """
    return jax.random.key(int(seed), impl="rbg")


def _input_shape(config: TrainConfig, dataset) -> tuple[int, ...]:
    if config.dataset == "synthetic":
        return (config.input_dim,)
    return tuple(dataset.image_shape)


def _float_dtype(config: TrainConfig):
    return jnp.float64 if config.dtype == "float64" else jnp.float32


@functools.lru_cache(maxsize=16)
def _initial_variables(config: TrainConfig, input_shape: tuple[int, ...]):
    network = build_network(config)
    dummy = jnp.zeros((2,) + input_shape, _float_dtype(config))
    return jax.jit(functools.partial(network.init, train=False))(prng_key(config.seed), dummy)


def init_state(config: TrainConfig, dataset=None, *, params: Any = None) -> TrainState:
    """The state at step 0: initialised network (or the given ``params``), target copy, optimiser.

    ``params`` replaces the initial parameters (same tree as the network's), e.g. the aligned
    initialisation of a linear-encoder run; the BYOL target starts as a copy of them.
    """
    variables = _initial_variables(config, _input_shape(config, dataset))
    # Fresh copies throughout: the initial variables are cached, and a donating step would free them.
    if params is None:
        params = jax.tree_util.tree_map(jnp.array, variables["params"])
    else:
        expected = jax.tree_util.tree_structure(variables["params"])
        if jax.tree_util.tree_structure(params) != expected:
            raise ValueError(f"params must have the network's tree structure {expected}")
        params = jax.tree_util.tree_map(lambda v, ref: jnp.array(v, ref.dtype), params, variables["params"])
    target = None
    if config.uses_target:
        target = {name: params[name] for name in ("encoder", "projector") if name in params}
        target = jax.tree_util.tree_map(jnp.array, target)
    correlation = None
    if config.predictor == "directpred":
        correlation = jnp.zeros((config.head_dim, config.head_dim), _float_dtype(config))
    return TrainState(
        step=jnp.asarray(0, jnp.int32),
        params=params,
        batch_stats=jax.tree_util.tree_map(jnp.array, variables.get("batch_stats", {})),
        target_params=target,
        opt_state=_optimizer_init(config)(params),
        correlation=correlation,
    )


@functools.lru_cache(maxsize=16)
def _optimizer_init(config: TrainConfig):
    return jax.jit(make_optimizer(config).init)


def _distance(config: TrainConfig):
    if config.loss == "l2":
        return methods.l2_distance
    return methods.simsiam_distance if config.method == "simsiam" else methods.byol_distance


def make_train_step(config: TrainConfig, dataset=None) -> Callable[[TrainState, Any], tuple[TrainState, dict]]:
    """The jitted ``step(state, images) -> (state, metrics)`` of a config.

    ``images`` is the batch ``[B, H, W, C]`` (``None`` for synthetic data, generated inside).
    Steps are cached per (config, normalisation): a resumed or repeated run does not recompile.
    """
    if dataset is None:
        return _cached_train_step(config, None, None)[0]
    return _cached_train_step(config, tuple(map(float, dataset.mean)), tuple(map(float, dataset.std)))[0]


@functools.lru_cache(maxsize=16)
def _cached_train_step(config: TrainConfig, mean, std, donate: bool = False):
    network = build_network(config)
    optimizer = make_optimizer(config)
    augment = config.augmentation
    mean = None if mean is None else jnp.asarray(mean, jnp.float32)
    std = None if std is None else jnp.asarray(std, jnp.float32)
    out_dtype = _float_dtype(config)
    distance = _distance(config)
    directpred = config.predictor == "directpred"

    def project(params, batch_stats, x):
        f, updated = network.apply(
            {"params": params, "batch_stats": batch_stats}, x, train=True, method=SSLNetwork.project, mutable=["batch_stats"]
        )
        return f.astype(out_dtype), updated.get("batch_stats", {})

    def predict(params, f):
        return network.apply({"params": params}, f, method=SSLNetwork.predict).astype(out_dtype)

    def step(state: TrainState, images):
        key = jax.random.fold_in(prng_key(config.seed), state.step)
        if config.dataset == "synthetic":
            x1, x2 = data_lib.isotropic_views(key, config.batch_size, config.input_dim, config.sigma2, out_dtype)
        else:
            k1, k2 = jax.random.split(key)
            x1 = augment_batch(k1, images, augment, mean, std)
            x2 = augment_batch(k2, images, augment, mean, std)
        return update(state, x1, x2)

    def update(state: TrainState, x1, x2):
        gamma = methods.ema_rate(state.step, config.steps, config.gamma_ema, config.ema_schedule)
        overwrite = (state.step % config.directpred_freq) == 0

        def loss_fn(params):
            f1, batch_stats = project(params, state.batch_stats, x1)
            f2, batch_stats = project(params, batch_stats, x2)
            correlation, wp_used = state.correlation, None
            if config.method == "simclr":
                return methods.nt_xent(f1, f2, config.temperature), (batch_stats, correlation, wp_used)
            if directpred:
                seen = jnp.concatenate([f1, f2]) if config.symmetric_loss else f1
                correlation = predictors.update_correlation(state.correlation, seen, config.directpred_rho)
                wp_set = predictors.directpred_weights(
                    correlation, config.directpred_eps, config.directpred_c, config.directpred_normalize
                ).astype(params["predictor"]["Wp"].dtype)
                wp_used = jnp.where(overwrite, wp_set, params["predictor"]["Wp"])
                params = {**params, "predictor": {**params["predictor"], "Wp": wp_used}}
            p1 = predict(params, f1)
            p2 = predict(params, f2) if config.symmetric_loss else None
            if config.uses_target:
                target = jax.lax.stop_gradient(state.target_params)
                # The target's BatchNorm normalises by the batch; its running averages are never used.
                z2, _ = project(target, state.batch_stats, x2)
                z1 = project(target, state.batch_stats, x1)[0] if config.symmetric_loss else None
            else:
                z1, z2 = f1, f2  # SimSiam: the target is the online projection (regression_loss stops its gradient)
            loss = methods.regression_loss(distance, p1, p2, z1, z2, config.symmetric_loss)
            return loss, (batch_stats, correlation, wp_used)

        (loss, (batch_stats, correlation, wp_used)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        if directpred:
            # Where Eq 18 set Wp this step, the step ends with that Wp (gradient steps only in between).
            wp = jnp.where(overwrite, wp_used, params["predictor"]["Wp"])
            params = {**params, "predictor": {**params["predictor"], "Wp": wp}}
        target = state.target_params
        if config.uses_target:
            target = methods.ema_update(target, {name: params[name] for name in target}, gamma)
        new_state = TrainState(
            step=state.step + 1, params=params, batch_stats=batch_stats, target_params=target,
            opt_state=opt_state, correlation=correlation,
        )
        return new_state, {"loss": loss, "gamma_ema": gamma}

    donate_argnums = (0,) if donate else ()
    return jax.jit(step, donate_argnums=donate_argnums), jax.jit(update, donate_argnums=donate_argnums)


def make_update_step(config: TrainConfig, donate: bool = False) -> Callable[[TrainState, Any, Any], tuple[TrainState, dict]]:
    """The jitted ``update(state, x1, x2) -> (state, metrics)``: a step on two given (normalised) views.

    The same computation as :func:`make_train_step` after its augmentation (used by the
    benchmarks, and to train on views prepared elsewhere). ``donate=True`` lets XLA reuse the
    input state's buffers (the caller must not touch the old state afterwards).
    """
    return _cached_train_step(config, None, None, bool(donate))[1]


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def _predictor_matrix(config: TrainConfig, params) -> jax.Array | None:
    if config.predictor in ("linear", "directpred"):
        wp = params["predictor"]["Wp"]
        return 0.5 * (wp + wp.T) if config.predictor_symmetric and config.predictor == "linear" else wp
    if config.predictor == "identity_head":
        return predictors.identity_head_matrix(params["predictor"]["offdiag"])
    if config.predictor == "none" and config.method != "simclr":
        return jnp.eye(config.head_dim, dtype=_float_dtype(config))
    return None


@functools.lru_cache(maxsize=16)
def make_spectra_fn(config: TrainConfig) -> Callable[[TrainState, Any], dict]:
    """A jitted ``(state, probe_inputs) -> spectra dict`` (:mod:`.spectra`) for a config.

    Linear encoder on synthetic data: exact ``F = W W^T`` (X = I), ``E[f_a f^T] = W_a W^T``.
    Otherwise ``F`` and the target cross-correlation are measured on the clean probe inputs
    (the theory's ``X`` is the correlation of the *average* view, i.e. of un-augmented data),
    both networks with BatchNorm normalising by the probe batch; an MLP predictor is replaced by
    its least-squares linear part.
    """
    network = build_network(config)
    out_dtype = _float_dtype(config)

    def measure(state: TrainState, inputs):
        params = state.params
        if config.encoder == "linear":
            W = params["encoder"]["W"]
            Wa = state.target_params["encoder"]["W"] if config.uses_target else W
            wp = _predictor_matrix(config, params)
            return spectra.linear_model_spectra(W, wp, Wa)

        def project(p, x):
            f, _ = network.apply(
                {"params": p, "batch_stats": state.batch_stats}, x, train=True, method=SSLNetwork.project,
                mutable=["batch_stats"],
            )
            return f.astype(out_dtype)

        f = project(params, inputs)
        F = spectra.correlation(f)
        if config.method == "simclr":
            return spectra.mode_spectra(F)
        f_target = project(state.target_params, inputs) if config.uses_target else f
        wp = _predictor_matrix(config, params)
        if wp is None:
            prediction = network.apply({"params": params}, f, method=SSLNetwork.predict).astype(out_dtype)
            wp = spectra.effective_predictor(f, prediction)
        return spectra.mode_spectra(F, wp, spectra.correlation(f, f_target))

    return jax.jit(measure)


def measure_spectra(config: TrainConfig, state: TrainState, probe_inputs=None) -> dict[str, np.ndarray]:
    """The spectra of ``state`` as NumPy arrays (see :func:`make_spectra_fn`)."""
    return {k: np.asarray(v) for k, v in make_spectra_fn(config)(state, probe_inputs).items()}


def _probe_inputs(config: TrainConfig, dataset):
    if dataset is None:
        return None
    n = min(config.probe_size, len(dataset.ssl_images))
    images = dataset.ssl_images[:n]
    scaled = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return jnp.asarray((scaled - dataset.mean) / dataset.std, _float_dtype(config))


@functools.lru_cache(maxsize=16)
def _represent_fn(config: TrainConfig):
    network = build_network(config)

    @jax.jit
    def represent(variables, x):
        return network.apply(variables, x.astype(_float_dtype(config)), train=False, method=SSLNetwork.represent)

    return represent


def evaluate(config: TrainConfig, state: TrainState, dataset) -> dict[str, float]:
    """k-NN and linear-probe test accuracy of the encoder's representation ``h`` (eval-mode BatchNorm)."""
    represent = _represent_fn(config)
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    train_h = probe.representations(represent, variables, dataset.train_images, dataset.mean, dataset.std)
    test_h = probe.representations(represent, variables, dataset.test_images, dataset.mean, dataset.std)
    return {
        "knn": probe.knn_accuracy(train_h, dataset.train_labels, test_h, dataset.test_labels, config.knn_k, config.knn_temperature),
        "linear_probe": probe.linear_probe_accuracy(train_h, dataset.train_labels, test_h, dataset.test_labels),
    }


def flow_times(config: TrainConfig, steps) -> np.ndarray:
    """Gradient-flow time after ``steps`` steps: ``sum_{k < step} lr_k / (1 - momentum)``.

    >>> flow_times(TrainConfig(lr=0.01, momentum=0.0, lr_schedule="constant"), [0, 10]).round(12).tolist()
    [0.0, 0.1]
    """
    steps = np.asarray(steps, dtype=np.int64)
    rates = _learning_rates(config)
    if steps.size and (steps.min() < 0 or steps.max() > config.steps):
        raise ValueError(f"steps must lie in [0, {config.steps}]; got {steps.min()}..{steps.max()}")
    cumulative = np.concatenate([[0.0], np.cumsum(rates[:-1])])
    return cumulative[steps] / (1.0 - config.momentum)


@functools.lru_cache(maxsize=16)
def _learning_rates(config: TrainConfig) -> np.ndarray:
    """``lr_k`` for ``k = 0..steps`` (float64, read-only)."""
    rates = np.asarray(jax.vmap(learning_rate_schedule(config))(jnp.arange(config.steps + 1)), np.float64)
    rates.setflags(write=False)
    return rates


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


def _spectra_record(config, state, spectra_fn, probe_inputs, losses, step) -> dict[str, Any]:
    measured = {k: np.asarray(v) for k, v in spectra_fn(state, probe_inputs).items()}
    record = {
        "kind": "spectra",
        "step": int(step),
        "t": float(flow_times(config, [step])[0]),
        "lr": float(_learning_rates(config)[step]),
        "gamma_ema": float(methods.ema_rate(step, config.steps, config.gamma_ema, config.ema_schedule)),
        "loss": float(np.mean(losses)) if losses else None,
    }
    record.update(measured)
    if config.predictor == "identity_head":  # 004 Fig 3: ||offdiag(E)||_F and ||E - E^T||_F
        E = np.asarray(predictors.identity_head_matrix(state.params["predictor"]["offdiag"]))
        record["offdiag_norm"] = float(np.linalg.norm(E - np.diag(np.diag(E))))
        record["head_asymmetry"] = float(np.linalg.norm(E - E.T))
    return records_lib.to_jsonable(record)


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return shell is not None and "ipykernel" in sys.modules and type(shell).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether :func:`train` shows its progress bar: ``progress`` if given, else "is this interactive?".

    ``None`` (the default of :func:`train`) means on in a Jupyter kernel or when ``stderr`` is a
    terminal, and off under CI (a non-empty ``CI`` environment variable other than ``0`` /
    ``false``, as GitHub Actions, GitLab and most CI services set) and when output is piped or
    captured.

    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    """
    if progress is not None:
        return _params.check_flag("progress", progress)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if _in_jupyter_kernel():
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def _progress_bar(config: TrainConfig, start: int, end: int):
    """A tqdm bar over the steps ``start..end`` (``tqdm.auto``: a widget in Jupyter, text elsewhere)."""
    from tqdm.auto import tqdm

    return tqdm(total=end, initial=start, unit="step", desc=f"{config.method} {config.dataset}", smoothing=0.1,
                dynamic_ncols=True)


def _show_progress(bar, loss: float, batch_size: int, unit: str) -> None:
    rate = bar.format_dict.get("rate")
    postfix = {"loss": f"{loss:.4g}"}
    if rate:
        postfix[f"{unit}/s"] = f"{rate * batch_size:.3g}"
    bar.set_postfix(postfix, refresh=False)
    bar.update(1)


def train(
    config: TrainConfig,
    *,
    dataset=None,
    params: Any = None,
    records_path: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    evaluate_probes: bool = True,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> TrainResult:
    """Train ``config`` from scratch, or resume from ``checkpoint_dir``, logging spectra and probes.

    Args:
        config: the run.
        dataset: an :class:`~ssl_odes.empirical.data.ImageDataset` (default: the config's).
        params: initial parameters replacing the network's initialisation (see :func:`init_state`).
        records_path: write the records (JSON lines, :mod:`.records`) there at every checkpoint
            and when the call returns.
        checkpoint_dir: save a checkpoint there every ``checkpoint_every`` steps and when the run
            stops; if it holds one of this config, continue from it.
        stop_after: stop (with a checkpoint) after this step, as if interrupted.
        evaluate_probes: k-NN and linear-probe accuracy at step 0 (random initialisation) and at
            the end (image datasets only).
        log: called with a line of progress per spectra record (e.g. ``print``).
        progress: show a progress bar (steps, loss, steps and images per second, ETA).
            ``None`` (default): only when interactive, see :func:`progress_enabled`. The bar does
            not change the results.

    Returns:
        :class:`TrainResult` with ``evaluation = {"knn_init", "linear_probe_init", "knn",
        "linear_probe"}`` (what was computed).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    if checkpoint_every is not None:
        checkpoint_every = _params.check_integer("checkpoint_every", checkpoint_every, 1)
    if stop_after is not None:
        stop_after = _params.check_integer("stop_after", stop_after, 1, config.steps)
    evaluate_probes = _params.check_flag("evaluate_probes", evaluate_probes)
    show_progress = progress_enabled(progress)
    if (checkpoint_every is not None or stop_after is not None) and checkpoint_dir is None:
        raise ValueError("checkpoint_every / stop_after need a checkpoint_dir to write to")
    started = time.perf_counter()
    if dataset is None:
        dataset = data_lib.load_dataset(config)
    if dataset is not None and config.batch_size > len(dataset.ssl_images):
        raise ValueError(f"batch_size={config.batch_size} exceeds the {len(dataset.ssl_images)} training images")

    state = init_state(config, dataset, params=params)
    records: list[dict[str, Any]] = [{"kind": "config", **config.to_dict()}]
    pending: list[float] = []
    if checkpoint_dir is not None:
        restored = ckpt.load_checkpoint(checkpoint_dir, state)
        if restored is not None:
            state, meta = restored
            if meta.get("config") != records_lib.to_jsonable(config.to_dict()):
                raise ValueError(f"checkpoint in {checkpoint_dir} was written by a different config; refusing to resume")
            records, pending = meta["records"], meta["pending_losses"]
    step_fn = make_train_step(config, dataset)
    spectra_fn = make_spectra_fn(config)
    probe_inputs = _probe_inputs(config, dataset)
    can_evaluate = evaluate_probes and dataset is not None

    bar = None

    def emit(record):
        records.append(record)
        if log is None:
            return
        if bar is not None:
            from tqdm.auto import tqdm

            with tqdm.external_write_mode():  # the log line above the bar, not through it
                write_log(record)
        else:
            write_log(record)

    def write_log(record):
        if record["kind"] == "spectra":
            s = record["s"]
            loss = "-" if record["loss"] is None else f"{record['loss']:.4f}"
            align = record.get("alignment_weighted")
            log(f"step {record['step']:>6}  t={record['t']:.4g}  loss={loss}  s_max={max(s):.4g}"
                + ("" if align is None else f"  alignment(s-weighted)={align:.3f}"))
        if record["kind"] == "eval":
            log(f"eval at step {record['step']}: " + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k not in ("kind", "step")))

    def save(step):
        meta = {"config": records_lib.to_jsonable(config.to_dict()), "step": int(step), "records": records, "pending_losses": pending}
        ckpt.save_checkpoint(checkpoint_dir, state, meta)
        if records_path is not None:
            records_lib.write_records(records_path, records)

    start = int(state.step)
    if start == 0:
        emit(_spectra_record(config, state, spectra_fn, probe_inputs, [], 0))
        if can_evaluate:
            emit(records_lib.to_jsonable({"kind": "eval", "step": 0, **evaluate(config, state, dataset)}))
    end = config.steps if stop_after is None else stop_after
    if show_progress and start < end:
        bar = _progress_bar(config, start, end)
    try:
        for step in range(start, end):
            images = None
            if dataset is not None:
                images = dataset.ssl_images[data_lib.batch_indices(config.seed, step, config.batch_size, len(dataset.ssl_images))]
            state, metrics = step_fn(state, images)
            pending.append(float(metrics["loss"]))
            if bar is not None:
                _show_progress(bar, pending[-1], config.batch_size, "samples" if dataset is None else "img")
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                emit(_spectra_record(config, state, spectra_fn, probe_inputs, pending, done))
                pending = []
            if checkpoint_dir is not None and ((checkpoint_every and done % checkpoint_every == 0) or done == end):
                save(done)
    finally:
        if bar is not None:
            bar.close()
    bar = None
    finished = int(state.step) == config.steps
    if finished and can_evaluate and not any(r["kind"] == "eval" and r["step"] == config.steps for r in records):
        emit(records_lib.to_jsonable({"kind": "eval", "step": config.steps, **evaluate(config, state, dataset)}))
        if checkpoint_dir is not None:
            save(config.steps)
    if records_path is not None:
        records_lib.write_records(records_path, records)
    evaluation = {}
    for r in records:
        if r["kind"] == "eval":
            suffix = "_init" if r["step"] == 0 else ""
            evaluation.update({f"{k}{suffix}": v for k, v in r.items() if k not in ("kind", "step")})
    return TrainResult(config, state, records, evaluation, finished, time.perf_counter() - started)
