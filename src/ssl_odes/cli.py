"""The ``ssl-odes`` command line (typer).

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
    tau0: float = typer.Option(0.0, help="Initial W_a/W ratio (BYOL only)."),
    alpha_p: float = typer.Option(1.0, help="Predictor learning-rate ratio, > 0."),
    beta: float = typer.Option(0.4, help="EMA rate (1 - gamma_ema)/lr, >= 0."),
    eta: float = typer.Option(0.0, help="Weight decay / lr, >= 0."),
    sigma2: float = typer.Option(0.0, help="Augmentation variance, >= 0."),
    simsiam: bool = typer.Option(False, "--simsiam", help="SimSiam: tau fixed at 1 (no EMA)."),
    t1: float = typer.Option(100.0, help="Final gradient-flow time t = lr * step."),
    num_points: int = typer.Option(501, help="Output times."),
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

    from .byol_modes import simulate_byol_modes
    from .plot import plot_modes

    p0_arr, s0_arr = np.asarray(p0), np.asarray(s0)
    if s0_arr.size not in (1, p0_arr.size):
        _fail(ValueError(f"give one --s0 or as many as --p0 ({p0_arr.size}); got {s0_arr.size}"))
    try:
        res = simulate_byol_modes(
            p0_arr, s0_arr, None if simsiam else tau0, alpha_p=alpha_p, beta=beta, eta=eta, sigma2=sigma2,
            simsiam=simsiam, t1=t1, num_points=num_points,
        )
    except ValueError as err:
        _fail(err)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    plot_modes(res, axes=axes)
    fig.suptitle(f"{res.flow}: alpha_p={alpha_p:g}, beta={beta:g}, eta={eta:g}, sigma2={sigma2:g} ({res.dtype})")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    finals = ", ".join(f"p={p:.4g} s={s:.4g}" for p, s in zip(np.ravel(res.final("p")), np.ravel(res.final("s"))))
    typer.echo(f"status {res.status_counts()}; final {finals}; wrote {out}")


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
        from .empirical.train import train as run_training

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
