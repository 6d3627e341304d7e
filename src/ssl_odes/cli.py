"""The ``ssl-odes`` command line (typer), built from the registry of systems.

    ssl-odes systems                                                     # every system, its parameters and ranges
    ssl-odes simulate byol_modes --set p0=[0.1,0.5] --set s0=0.3 --out run.nc   # any system -> Trajectory file
    ssl-odes sweep byol_modes -p eta=0:0.1:5 -p p0=0.1:1:4 --set s0=0.3 --out sweep.nc
    ssl-odes modes --p0 0.05 --p0 0.5 --s0 0.3 --eta 0.01 --out modes.png   # one run, plot to PNG

Each sub-command is a thin shell over the Python API: parameters are validated by the same
functions, and a bad value exits with the same message the API raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    name="ssl-odes",
    help="Analytic learning dynamics of self-supervised learning (BYOL, SimSiam, DirectPred, ...).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Analytic learning dynamics of self-supervised learning: simulate, sweep, benchmark, train."""


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def modes(
    p0: List[float] = typer.Option([0.05, 0.3, 0.8], help="Initial predictor eigenvalue(s) p_j(0); repeat for several."),
    s0: List[float] = typer.Option([0.3], help="Initial eigenvalue(s) s_j(0) >= 0 of F; broadcast against p0."),
    tau0: Optional[float] = typer.Option(None, help="Initial W_a/W ratio (default: the API's, 0 for BYOL, 1 for SimSiam)."),
    alpha_p: float = typer.Option(1.0, help="Predictor learning-rate ratio, > 0."),
    beta: float = typer.Option(0.4, help="EMA rate (1 - gamma_ema)/lr, >= 0."),
    eta: float = typer.Option(0.0, help="Weight decay / lr, >= 0."),
    sigma2: float = typer.Option(0.0, help="Augmentation variance, >= 0."),
    simsiam: bool = typer.Option(False, "--simsiam", help="SimSiam: tau fixed at 1 (no EMA)."),
    t1: Optional[float] = typer.Option(None, help="Final gradient-flow time t = lr * step (default: the API's, 100)."),
    num_points: Optional[int] = typer.Option(None, help="Output times (default: the API's, 1001)."),
    out: Path = typer.Option(Path("modes.png"), help="PNG to write (p, s, tau against time)."),
    float64: bool = typer.Option(False, "--float64", help="Run in float64 (enables jax_enable_x64)."),
) -> None:
    """Simulate the decoupled BYOL/SimSiam eigen-modes (002 Eqs 11-13) and plot them to a PNG."""
    import jax
    import numpy as np

    if float64:
        jax.config.update("jax_enable_x64", True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .byol._modes import simulate_byol_modes
    from .plot import plot_modes

    p0_arr, s0_arr = np.asarray(p0), np.asarray(s0)
    if s0_arr.size not in (1, p0_arr.size):
        _fail(ValueError(f"give one --s0 or as many as --p0 ({p0_arr.size}); got {s0_arr.size}"))
    try:
        res = simulate_byol_modes(
            p0_arr, s0_arr, tau0, alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2,
            simsiam=simsiam, t1=t1, num_points=num_points,
        )
    except (ValueError, TypeError) as err:
        _fail(err)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    plot_modes(res, axes=axes)
    fig.suptitle(f"{res.flow}: alpha_p={alpha_p:g}, beta={beta:g}, eta={eta:g}, sigma2={sigma2:g} ({res.dtype})")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    finals = ", ".join(f"p={p:.4g} s={s:.4g}" for p, s in zip(np.ravel(res.final("p")), np.ravel(res.final("s"))))
    typer.echo(f"status {res.status_counts()}; final {finals}; wrote {out}")


def _registry():
    import ssl_odes

    return ssl_odes.systems()


@app.command()
def systems(
    name: Optional[str] = typer.Argument(None, help="Describe only this system."),
) -> None:
    """List every registered system with its paper, parameters, allowed ranges and defaults."""
    registry = _registry()
    if name is not None and name not in registry:
        _fail(ValueError(f"unknown system {name!r}; registered systems: {', '.join(registry)}"))
    for key, system in registry.items():
        if name is None or key == name:
            typer.echo(system.describe())
            typer.echo("")


@app.command()
def simulate(
    system: str = typer.Argument(..., help="A registered system (see `ssl-odes systems`)."),
    set_: List[str] = typer.Option([], "--set", help="NAME=VALUE: a parameter or run keyword (t1, num_points, steps, rtol, ...). VALUE is a number, true/false, a string, a JSON array ([[1,0],[0,1]]) or @file.npy."),
    out: Path = typer.Option(Path("trajectory.nc"), help="NetCDF file to write (Trajectory.save; read back with ssl_odes.Trajectory.load)."),
    float64: bool = typer.Option(False, "--float64", help="Run in float64 (enables jax_enable_x64)."),
) -> None:
    """Simulate any registered system once and write its Trajectory to a NetCDF file."""
    import jax

    if float64:
        jax.config.update("jax_enable_x64", True)
    from ._core import simulate as run_simulate

    try:
        registry = _registry()
        if system not in registry:
            raise ValueError(f"unknown system {system!r}; registered systems: {', '.join(registry)}")
        values = _parse_settings(set_)
        result = run_simulate(registry[system], **values)
        path = result.save(out)
    except (ValueError, TypeError, OSError) as err:
        _fail(err)
    typer.echo(f"{result!r}\nwrote {path}")


def _parse_settings(items: List[str]) -> dict:
    fixed = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise ValueError(f"--set must be NAME=VALUE; got {item!r}")
        fixed[name.strip()] = _parse_scalar(value.strip())
    return fixed


def _parse_values(name: str, spec: str):
    """``a:b:n`` (linspace), ``log:a:b:n`` (logspace, base 10) or ``a,b,c`` (a list)."""
    import numpy as np

    try:
        if spec.startswith("log:"):
            lo, hi, num = spec[4:].split(":")
            return np.logspace(float(lo), float(hi), int(num))
        if ":" in spec:
            lo, hi, num = spec.split(":")
            return np.linspace(float(lo), float(hi), int(num))
        return np.array([float(v) for v in spec.split(",")])
    except ValueError as err:
        raise ValueError(f"--param {name}={spec!r}: expected a:b:n, log:a:b:n or a,b,c") from err


def _parse_scalar(text: str):
    import json

    import numpy as np

    if text.startswith("@"):
        try:
            return np.load(text[1:])
        except OSError as err:
            raise ValueError(f"cannot read the array file {text[1:]!r}: {err}") from err
    if text.startswith("["):
        try:
            return np.asarray(json.loads(text), dtype=float)
        except (json.JSONDecodeError, ValueError) as err:
            raise ValueError(f"{text!r} is not a JSON array of numbers") from err
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _check_writable_file(option: str, path: Path) -> None:
    """Raise a one-line OSError unless ``path`` can be created or overwritten as a file."""
    import os

    if path.is_dir():
        raise IsADirectoryError(f"{option} {str(path)!r} is a directory; give a file name such as {str(path / 'sweep.nc')!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise type(err)(f"{option} {str(path)!r}: cannot create its folder ({err.strerror or err})") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(f"{option} {str(path)!r}: no permission to write there; choose another path")


@app.command()
def sweep(
    system: Optional[str] = typer.Argument(None, help="A registered system (see `ssl-odes systems`); default byol_modes."),
    param: List[str] = typer.Option(..., "--param", "-p", help="NAME=SPEC, SPEC is a:b:n (linspace), log:a:b:n or a,b,c. Repeat; each is an axis (outer product)."),
    zip_: List[str] = typer.Option([], "--zip", help="Comma-separated names of --param axes to zip into one axis (equal lengths), e.g. p0,s0."),
    set_: List[str] = typer.Option([], "--set", help="NAME=VALUE fixed keyword for the simulator (e.g. t1=200, simsiam=true)."),
    flow: Optional[str] = typer.Option(None, help="Older spelling of the SYSTEM argument."),
    out: Path = typer.Option(Path("sweep.nc"), help="NetCDF file to write (xarray)."),
    checkpoint: Optional[Path] = typer.Option(None, help="Directory for finished chunks; rerun to resume after a kill."),
    chunk_size: Optional[int] = typer.Option(None, help="Trajectories per chunk (default min(n, 8192))."),
    devices: Optional[int] = typer.Option(None, help="Shard each chunk across this many JAX devices."),
    save: str = typer.Option("final", help="final (last time) or all (whole trajectories)."),
    float64: bool = typer.Option(False, "--float64", help="Run in float64 (enables jax_enable_x64)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Sweep any registered system over a grid of parameters and write an xarray NetCDF file."""
    import jax

    if float64:
        jax.config.update("jax_enable_x64", True)
    from ._checkpoint import CheckpointBusyError
    from .sweep import sweep as run_sweep

    try:
        _check_writable_file("--out", out)  # before the sweep, not after hours of it
        if system is not None and flow is not None and system != flow:
            raise ValueError(f"give the system once (argument {system!r} and --flow {flow!r} differ)")
        name = system or flow or "byol_modes"
        registry = _registry()
        if name not in registry:
            raise ValueError(f"unknown system {name!r}; registered systems: {', '.join(registry)}")
        simulate = registry[name]
        axes = {}
        for item in param:
            name, _, spec = item.partition("=")
            if not spec:
                raise ValueError(f"--param must be NAME=SPEC; got {item!r}")
            axes[name.strip()] = _parse_values(name, spec.strip())
        grid = {}
        zipped = [tuple(n.strip() for n in group.split(",")) for group in zip_]
        for names in zipped:
            missing = [n for n in names if n not in axes]
            if missing:
                raise ValueError(f"--zip names {missing} have no --param")
            grid[names] = tuple(axes.pop(n) for n in names)
        grid.update(axes)
        fixed = _parse_settings(set_)
        result = run_sweep(simulate, grid, chunk_size=chunk_size, devices=devices, checkpoint=checkpoint,
                           progress=progress, save=save, **fixed)
    except (ValueError, TypeError, OSError, CheckpointBusyError) as err:
        _fail(err)
    try:
        result.to_netcdf(out, engine="netcdf4")
    except OSError as err:
        _fail(OSError(f"cannot write --out {str(out)!r}: {err.strerror or err}"))
    counts = {int(v): int((result["status"] == v).sum()) for v in set(result["status"].values.ravel().tolist())}
    typer.echo(f"{int(result['status'].size)} trajectories, status counts {counts}; wrote {out}")


BENCHMARKS = {
    "m1": "m1_modes_cpu.py",
    "m2": "m2_modes_gpu.py",
    "l1": "l1_linear_cpu.py",
}


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=f"Benchmark: {', '.join(BENCHMARKS)} (extra options go to its script; --help lists them)."),
    benchmarks_dir: Path = typer.Option(Path("benchmarks"), help="The checkout's benchmarks/ folder (benchmarks are not installed)."),
) -> None:
    """Run one of the benchmarks of benchmarks/ (from a checkout) and append its JSON line to benchmarks/results/."""
    import runpy
    import sys

    if name not in BENCHMARKS:
        _fail(ValueError(f"name must be one of {', '.join(map(repr, BENCHMARKS))}; got name={name!r}"))
    script = benchmarks_dir / BENCHMARKS[name]
    if not script.exists():
        _fail(ValueError(f"{script} not found: run from the repository root or pass --benchmarks-dir"))
    sys.argv = [str(script), *ctx.args]
    runpy.run_path(str(script), run_name="__main__")


@app.command()
def train(
    method: str = typer.Option("byol", help="byol | simsiam | simclr | directpred (BYOL with 002's DirectPred predictor)."),
    dataset: str = typer.Option("digits", help="digits (embedded) | cifar10 | stl10 (read from --data-dir)."),
    data_dir: Optional[Path] = typer.Option(None, help="Directory of the CIFAR-10 python batches / STL-10 binaries."),
    steps: Optional[int] = typer.Option(None, help="Training steps (default 500)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size (default 256)."),
    lr: Optional[float] = typer.Option(None, help="Base learning rate (default 0.05, cosine schedule)."),
    predictor: Optional[str] = typer.Option(None, help="mlp | linear | directpred | none (default: the method's)."),
    encoder: Optional[str] = typer.Option(None, help="small_resnet | resnet18 (default small_resnet)."),
    width: Optional[int] = typer.Option(None, help="Base width of the ResNet (default 16)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 0)."),
    records: Optional[Path] = typer.Option(None, help="Write the spectra/probe records here (JSON lines)."),
    checkpoint_dir: Optional[Path] = typer.Option(None, help="Checkpoint here; resume if it holds one."),
    log_every: Optional[int] = typer.Option(None, help="Spectra every N steps (default 50)."),
) -> None:
    """Self-supervised training in Flax (the empirical companion); reports k-NN accuracy against random init."""
    try:
        from .empirical.config import config_for
        from .empirical.training import train as run_training

        config = config_for(
            method, dataset=dataset, data_dir=None if data_dir is None else str(data_dir), steps=steps,
            batch_size=batch_size, lr=lr, predictor=predictor, encoder=encoder, width=width, seed=seed,
            log_every=log_every,
        )
        result = run_training(config, records_path=records, checkpoint_dir=checkpoint_dir, log=typer.echo)
    except ValueError as err:
        _fail(err)
    ev = result.evaluation
    typer.echo(
        f"{method} on {dataset}, {config.steps} steps, {result.seconds:.0f} s: "
        f"k-NN accuracy {ev.get('knn', float('nan')):.4f} (random init {ev.get('knn_init', float('nan')):.4f}); "
        f"linear probe {ev.get('linear_probe', float('nan')):.4f} (random init {ev.get('linear_probe_init', float('nan')):.4f})"
    )


def main() -> None:  # pragma: no cover - console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
