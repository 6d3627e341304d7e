"""Jitted ResNet-18 BYOL training step (JAX / Flax) against the same step in PyTorch with torch.compile.

What is timed, in both frameworks, on the same device in the same run: one BYOL update on two
given views of a batch of CIFAR-shaped inputs (``[B, 32, 32, 3]``): CIFAR-style ResNet-18 (3x3
stem, no max-pool; 11.2M weights), projector and predictor MLPs 512 -> 4096 -> 256 and
256 -> 4096 -> 256 with BatchNorm, online forward on both views, EMA-target forward on both
views (BatchNorm in training mode, no gradient), symmetric BYOL loss ``2 - 2 cos``, backward,
SGD with momentum 0.9 and weight decay 4e-4, EMA update of the target. Images per second count
each image once (each step sees two views of ``B`` images). The JAX step with its on-device
augmentation (random resized crop, flip, colour jitter, grayscale) is timed as well, for
information; the PyTorch step has no augmentation.

JAX: :func:`ssl_odes.empirical.training.make_update_step` (the package's own step, jitted, state
buffers donated). PyTorch: the same network written out in ``torch.nn``; ``torch.compile`` on the
forward + loss (AOTAutograd compiles the backward too), ``torch.optim.SGD`` (``foreach``; ``fused``
on CUDA), ``torch._foreach_lerp_`` for the EMA; ``channels_last`` and TF32 matmuls on CUDA (JAX's
default float32 precision on GPUs uses TF32 as well). ``--dtype bfloat16``: JAX computes in bf16
with float32 parameters; PyTorch uses ``autocast(bfloat16)``.

PyTorch is a benchmark-only dependency (not in the package's dependencies)::

    pip install torch            # e.g. torch==2.13.0; CUDA build on a GPU machine

Run (writes one JSON line to benchmarks/results/resnet_step.jsonl)::

    PYTHONPATH=src python benchmarks/bench_resnet_step.py --batch 512            # on a GPU
    PYTHONPATH=src python benchmarks/bench_resnet_step.py --batch 8 --steps 3    # CPU smoke run

CPU numbers are not GPU numbers: the JSON line records the device the run used.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "resnet_step.jsonl"
PROJ_HIDDEN, PROJ_DIM, PRED_HIDDEN = 4096, 256, 4096


# ------------------------------------------------------------------ JAX


def jax_config(batch: int, width: int, dtype: str):
    from ssl_odes.empirical.config import TrainConfig

    return TrainConfig(
        method="byol", predictor="mlp", encoder="resnet18", width=width, projector_hidden=PROJ_HIDDEN,
        projection_dim=PROJ_DIM, predictor_hidden=PRED_HIDDEN, dataset="cifar10", data_dir="(benchmark: no data read)",
        batch_size=batch, steps=10_000, lr=0.05, momentum=0.9, weight_decay=4e-4, gamma_ema=0.996, dtype=dtype,
    )


def time_jax(batch: int, width: int, dtype: str, warmup: int, steps: int, with_augmentation: bool) -> dict:
    from ssl_odes.empirical import training

    config = jax_config(batch, width, dtype)
    stats = SimpleNamespace(image_shape=(32, 32, 3), mean=np.full(3, 0.5, np.float32), std=np.full(3, 0.25, np.float32))
    state = training.init_state(config, stats)
    rng = np.random.default_rng(0)
    if with_augmentation:
        step = training.make_train_step(config, stats)
        images = jnp.asarray(rng.integers(0, 256, size=(batch, 32, 32, 3), dtype=np.uint8))
        run = lambda s: step(s, images)  # noqa: E731
    else:
        update = training.make_update_step(config, donate=True)
        x1 = jnp.asarray(rng.normal(size=(batch, 32, 32, 3)).astype(np.float32))
        x2 = jnp.asarray(rng.normal(size=(batch, 32, 32, 3)).astype(np.float32))
        run = lambda s: update(s, x1, x2)  # noqa: E731
    started = time.perf_counter()
    state, metrics = run(state)
    jax.block_until_ready(state)
    compile_seconds = time.perf_counter() - started
    for _ in range(warmup):
        state, metrics = run(state)
    jax.block_until_ready(state)
    started = time.perf_counter()
    for _ in range(steps):
        state, metrics = run(state)
    jax.block_until_ready(state)
    seconds = (time.perf_counter() - started) / steps
    return {"seconds_per_step": seconds, "images_per_second": batch / seconds, "first_step_seconds": compile_seconds,
            "loss": float(metrics["loss"])}


# ------------------------------------------------------------------ PyTorch


def torch_modules(width: int):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Identity()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.shortcut(x) + self.bn2(self.conv2(y)))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            cin = width
            for stage in range(4):
                cout = width * 2**stage
                for block in range(2):
                    layers.append(Block(cin, cout, 2 if stage > 0 and block == 0 else 1))
                    cin = cout
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x).mean(dim=(2, 3))

    def mlp(cin, hidden, out):
        return nn.Sequential(nn.Linear(cin, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))

    online = nn.ModuleDict({"encoder": ResNet18(), "projector": mlp(8 * width, PROJ_HIDDEN, PROJ_DIM),
                            "predictor": mlp(PROJ_DIM, PRED_HIDDEN, PROJ_DIM)})
    target = nn.ModuleDict({"encoder": copy.deepcopy(online["encoder"]), "projector": copy.deepcopy(online["projector"])})
    for p in target.parameters():
        p.requires_grad_(False)
    return online, target


def time_torch(batch: int, width: int, dtype: str, warmup: int, steps: int, compile_: bool) -> dict:
    import torch
    import torch.nn.functional as F

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    online, target = torch_modules(width)
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    online = online.to(device, memory_format=memory_format)
    target = target.to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(online.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-4,
                                **({"fused": True} if cuda else {"foreach": True}))
    online_ema = [p for name in ("encoder", "projector") for p in online[name].parameters()]
    target_ema = list(target.parameters())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16")

    def distance(p, z):
        return 2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1)

    def loss_fn(x1, x2):
        with autocast:
            p1 = online["predictor"](online["projector"](online["encoder"](x1)))
            p2 = online["predictor"](online["projector"](online["encoder"](x2)))
            with torch.no_grad():
                z1 = target["projector"](target["encoder"](x1))
                z2 = target["projector"](target["encoder"](x2))
            return (distance(p1.float(), z2.float()).mean() + distance(p2.float(), z1.float()).mean())

    compiled = torch.compile(loss_fn) if compile_ else loss_fn

    def step(x1, x2):
        optimizer.zero_grad(set_to_none=True)
        loss = compiled(x1, x2)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(target_ema, online_ema, 1 - 0.996)
        return loss

    generator = torch.Generator().manual_seed(0)
    x1 = torch.randn(batch, 3, 32, 32, generator=generator).to(device, memory_format=memory_format)
    x2 = torch.randn(batch, 3, 32, 32, generator=generator).to(device, memory_format=memory_format)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    started = time.perf_counter()
    loss = step(x1, x2)
    sync()
    first = time.perf_counter() - started
    for _ in range(warmup):
        loss = step(x1, x2)
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        loss = step(x1, x2)
    sync()
    seconds = (time.perf_counter() - started) / steps
    return {"seconds_per_step": seconds, "images_per_second": batch / seconds, "first_step_seconds": first,
            "loss": float(loss.detach()), "compiled": compile_, "threads": torch.get_num_threads(),
            "device_name": torch.cuda.get_device_name() if cuda else "cpu",
            "version": torch.__version__, "parameters": sum(p.numel() for p in online.parameters())}


# ------------------------------------------------------------------ main


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--width", type=int, default=64, help="ResNet base width (64 = ResNet-18)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--no-compile", action="store_true", help="PyTorch eager instead of torch.compile")
    parser.add_argument("--skip-augmentation", action="store_true", help="do not time the JAX step with augmentation")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads on CPU (OpenMP spin-waits collapse on a loaded machine; 1 helps)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)

    jax_result = time_jax(args.batch, args.width, args.dtype, args.warmup, args.steps, with_augmentation=False)
    print(f"jax   {jax_result['images_per_second']:.1f} images/s", flush=True)
    jax_aug = None
    if not args.skip_augmentation:
        jax_aug = time_jax(args.batch, args.width, args.dtype, args.warmup, args.steps, with_augmentation=True)
        print(f"jax (with augmentation) {jax_aug['images_per_second']:.1f} images/s", flush=True)
    try:
        torch_result = time_torch(args.batch, args.width, args.dtype, args.warmup, args.steps, not args.no_compile)
    except ImportError as err:
        sys.exit(f"PyTorch is needed for the comparison (pip install torch): {err}")
    print(f"torch {torch_result['images_per_second']:.1f} images/s (compiled={torch_result['compiled']})", flush=True)

    device = jax.devices()[0]
    record = {
        "benchmark": "resnet18_byol_step",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"hostname": platform.node(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                    "jax_device": f"{device.platform}:{device.device_kind}",
                    "torch_device": torch_result["device_name"]},
        "device": device.platform,
        "dtype": args.dtype,
        "sizes": {"batch": args.batch, "image": [32, 32, 3], "width": args.width, "projector": [PROJ_HIDDEN, PROJ_DIM],
                  "predictor": [PRED_HIDDEN, PROJ_DIM], "parameters_torch": torch_result["parameters"]},
        "timing": {"warmup": args.warmup, "steps": args.steps},
        "jax": jax_result,
        "jax_with_augmentation": jax_aug,
        "torch": torch_result,
        "ratio_jax_over_torch": jax_result["images_per_second"] / torch_result["images_per_second"],
        "versions": {"jax": jax.__version__, "torch": torch_result["version"], "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"ratio jax/torch = {record['ratio_jax_over_torch']:.3f}; appended to {args.out}")
    return record


if __name__ == "__main__":
    main()
