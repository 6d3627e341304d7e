"""L1: the linear BYOL matrix flow (002 Lemma 1, Eqs 2-4), diagnostics only, on the CPU, against SciPy.

ssl_odes: ``simulate_byol_linear(..., save="diagnostics")`` (Tsit5 + PID; the diagnostics are
computed inside the solve at the output times only, the matrices are never stored).

Baseline, in the same process on the same machine: SciPy ``solve_ivp`` (RK45, the same
tolerances) on the flattened state ``(W, W_p, W_a)``, the right-hand side written in NumPy, then
**the same diagnostics** as ``save="diagnostics"`` returns, computed with NumPy at the output
times (:func:`diagnostics_numpy`): ``s``, ``p``, ``alignment``, ``asymmetry``, ``commutator``,
``k_min``, ``invariant_residual``, ``W_norm``, ``tau``. Each uses the cheapest NumPy routine that
gives it (one ``eigh`` with eigenvectors for ``s`` and ``alignment``, ``eigvalsh`` for ``p`` and
``k_min``). The two answers are compared diagnostic by diagnostic.

Honest timing:
* warm: each side is called once first (ssl_odes compiles, SciPy imports ``scipy.integrate``
  and warms its caches); these first calls and the imports are reported separately;
* the warm repeats alternate between the two sides, and the median is reported;
* thread pools: XLA's thread pool and OpenBLAS/OpenMP fight over a small machine's cores, so
  ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` are set (``--blas-threads``,
  default 1) before NumPy or JAX is imported. This applies to **both** sides: NumPy's matrix
  products and LAPACK calls, and the LAPACK that JAX calls for ``eigh``. XLA's own pool (matrix
  products, concurrent kernels) keeps its default.

Modes:

    python benchmarks/l1_linear_cpu.py [--n 256] [--t1 20]   # one n -> results/l1.jsonl
    python benchmarks/l1_linear_cpu.py --scaling              # n = 16 ... 512 -> results/l1_scaling.jsonl

``--scaling`` runs n in {16, 32, 64, 128, 256, 512}, float64 for both sides plus a float32 row
for ssl_odes, and writes one JSON line whose ``rows`` hold the time per run at each n
(``ssl_odes_f64_s``, ``ssl_odes_f32_s``, ``scipy_s``, ...). Goal (issue 16): ssl_odes float64 at
least 1.5x faster than SciPy at every n, and 2x at n = 256.
"""

from __future__ import annotations

import os
import sys


def _blas_threads(argv: list[str]) -> str:
    """``--blas-threads`` read before NumPy is imported (the pools size themselves on import)."""
    for i, arg in enumerate(argv):
        if arg == "--blas-threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--blas-threads="):
            return arg.split("=", 1)[1]
    return "1"


BLAS_THREADS = _blas_threads(sys.argv)
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = BLAS_THREADS

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

_start = time.perf_counter()
import numpy as np  # noqa: E402
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402

import ssl_odes  # noqa: E402
from ssl_odes import byol_linear  # noqa: E402

IMPORT_JAX_SSL_ODES_S = time.perf_counter() - _start

PARAMS = dict(alpha_p=1.0, beta=0.4, eta=0.04, sigma2=0.1)
RTOL, ATOL = 1e-6, 1e-9
SCALING_NS = (16, 32, 64, 128, 256, 512)
DIAGNOSTICS = ("s", "p", "alignment", "asymmetry", "commutator", "k_min", "invariant_residual", "W_norm", "tau")


def rhs_numpy(t, y, n, alpha_p, beta, eta, sigma2):
    """Eqs 2-4 with X = I, X' = sigma2 I on the flattened state (what a SciPy user writes)."""
    W, Wp, Wa = (y[k * n * n:(k + 1) * n * n].reshape(n, n) for k in range(3))
    G = -(1.0 + sigma2) * Wp @ W + Wa
    dWp = alpha_p * G @ W.T - eta * Wp
    dW = Wp.T @ G - eta * W
    dWa = beta * (W - Wa)
    return np.concatenate([dW.ravel(), dWp.ravel(), dWa.ravel()])


def _fro(A):
    return float(np.sqrt(np.sum(A * A)))


def _ratio(num, den):
    return num / den if den > 0 else 0.0


def diagnostics_numpy(t, y, n, C, alpha_p, beta, eta, sigma2):
    """What ``save="diagnostics"`` returns for ``variant="byol"`` with isotropic data, in NumPy.

    Written from the module docstring of :mod:`ssl_odes.byol_linear` (not from its code).
    """
    del beta
    W, Wp, Wa = (y[k * n * n:(k + 1) * n * n].reshape(n, n) for k in range(3))
    F = W @ W.T
    s, U = np.linalg.eigh(F)
    s, U = s[::-1], U[:, ::-1]
    WpU = Wp @ U
    norms = np.sqrt(np.sum(WpU * WpU, axis=0))
    alignment = np.where(norms > 0, np.sum(U * WpU, axis=0) / np.where(norms > 0, norms, 1.0), 0.0)
    Ws = (Wp + Wp.T) / 2
    tau = _ratio(float(np.sum(Wa * W)), float(np.sum(W * W)))
    K = (1.0 + sigma2) * (0.5 * alpha_p * F + Ws @ Ws) - tau * Ws + 1.5 * eta * np.eye(n)
    predictor = Wp.T @ Wp / alpha_p
    decay = np.exp(-2.0 * eta * t)
    residual = F - predictor - decay * C
    return {
        "s": s,
        "p": np.linalg.eigvalsh(Ws)[::-1],
        "alignment": alignment,
        "asymmetry": _ratio(_fro(Wp - Wp.T), _fro(Wp)),
        "commutator": _fro(F @ Wp - Wp @ F),
        "k_min": np.linalg.eigvalsh((K + K.T) / 2)[0],
        "invariant_residual": _ratio(_fro(residual), _fro(F) + _fro(predictor) + decay * _fro(C)),
        "W_norm": _fro(W),
        "tau": tau,
    }


def run_ssl_odes(init, t1, num_points, dtype="float64"):
    res = ssl_odes.simulate_byol_linear(**init, **PARAMS, variant="byol", t1=t1, num_points=num_points,
                                        save="diagnostics", rtol=RTOL, atol=ATOL, dtype=dtype)
    jax.block_until_ready(res.variables)
    return res


def run_scipy(init, t1, num_points):
    from scipy.integrate import solve_ivp

    W0, Wp0 = init["W0"], init["Wp0"]
    n = W0.shape[0]
    y0 = np.concatenate([W0.ravel(), Wp0.ravel(), W0.ravel()])
    ts = np.linspace(0.0, t1, num_points)
    sol = solve_ivp(rhs_numpy, (0.0, t1), y0, method="RK45", t_eval=ts, rtol=RTOL, atol=ATOL,
                    args=(n, *PARAMS.values()))
    C = W0 @ W0.T - Wp0.T @ Wp0 / PARAMS["alpha_p"]
    diags = [diagnostics_numpy(t, sol.y[:, k], n, C, **PARAMS) for k, t in enumerate(ts)]
    return sol, {key: np.stack([np.asarray(d[key]) for d in diags]) for key in DIAGNOSTICS}


def agreement(res, reference) -> dict[str, float]:
    """Max |ssl_odes - SciPy| per diagnostic, relative to that diagnostic's largest |value|.

    Two exceptions, both stated in the record: ``invariant_residual`` is itself a relative error
    (of order rtol on both sides), so its difference is absolute; ``alignment_top`` is the
    alignment over the modes with ``s_j >= 1e-2 max s`` only (the eigenvectors of the small,
    clustered eigenvalues of ``F`` are ill-conditioned: their cosines differ at float32's eps
    times ``||F|| / gap``, which is no defect of either solver).
    """
    out = {}
    for key in DIAGNOSTICS:
        mine = np.asarray(res.variables[key], np.float64)
        scale = 1.0 if key == "invariant_residual" else max(float(np.max(np.abs(reference[key]))), 1e-300)
        out[key] = float(np.max(np.abs(mine - reference[key]))) / scale
    top = reference["s"] >= 1e-2 * np.max(reference["s"], axis=-1, keepdims=True)
    mine = np.asarray(res.variables["alignment"], np.float64)
    out["alignment_top"] = float(np.max(np.abs(mine - reference["alignment"])[top]))
    return out


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def measure(n, t1, num_points, repeats, with_f32=True) -> dict:
    """One size: first calls, then ``repeats`` alternating warm calls of each side (medians)."""
    init = byol_linear.random_initialization(n, init_scale=0.5, seed=0)
    first = {}
    first["ssl_odes_f64"], res = _timed(run_ssl_odes, init, t1, num_points)
    if with_f32:
        first["ssl_odes_f32"], res32 = _timed(run_ssl_odes, init, t1, num_points, "float32")
    first["scipy"], (sol, reference) = _timed(run_scipy, init, t1, num_points)
    times = {key: [] for key in first}
    for _ in range(repeats):
        elapsed, res = _timed(run_ssl_odes, init, t1, num_points)
        times["ssl_odes_f64"].append(elapsed)
        if with_f32:
            elapsed, res32 = _timed(run_ssl_odes, init, t1, num_points, "float32")
            times["ssl_odes_f32"].append(elapsed)
        elapsed, (sol, reference) = _timed(run_scipy, init, t1, num_points)
        times["scipy"].append(elapsed)
    row = {"n": n}
    for key, values in times.items():
        row[f"{key}_s"] = statistics.median(values)
        row[f"{key}_min_s"] = min(values)
        row[f"{key}_first_call_s"] = first[key]
    row["ratio_f64"] = row["scipy_s"] / row["ssl_odes_f64_s"]
    row["ssl_odes_steps"] = int(res.num_steps)
    row["ssl_odes_status"] = res.status_counts()
    row["scipy_rhs_evaluations"] = int(sol.nfev)
    row["scipy_status"] = int(sol.status)
    diff = agreement(res, reference)
    row["agreement_f64"] = diff
    row["max_rel_diff_f64"] = max(v for k, v in diff.items() if k != "alignment_top")
    if with_f32:
        row["ratio_f32"] = row["scipy_s"] / row["ssl_odes_f32_s"]
        row["ssl_odes_f32_steps"] = int(res32.num_steps)
        row["ssl_odes_f32_status"] = res32.status_counts()
        diff32 = agreement(res32, reference)
        row["agreement_f32"] = diff32
        row["max_rel_diff_f32"] = max(v for k, v in diff32.items() if k != "alignment")
        row["max_rel_diff_f32_note"] = "alignment over the modes with s_j >= 1e-2 max s (alignment_top)"
    return row


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src", "benchmarks/l1_linear_cpu.py"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+" if dirty else "") if out.returncode == 0 else None
    except OSError:
        return None


def _import_scipy_integrate() -> float:
    start = time.perf_counter()
    import scipy.integrate  # noqa: F401

    return time.perf_counter() - start


def common_record(args) -> dict:
    return {
        "system": "002 Lemma 1 (byol, isotropic, EMA), save='diagnostics'", "diagnostics": list(DIAGNOSTICS),
        "params": PARAMS, "t1": args.t1, "num_points": args.num_points, "rtol": RTOL, "atol": ATOL,
        "solvers": {"ssl_odes": "Tsit5 + PID (default)", "scipy": "solve_ivp RK45"},
        "blas_threads": BLAS_THREADS, "repeats": args.repeats, "timing": "median of warm, alternating calls",
        "import_jax_ssl_odes_s": IMPORT_JAX_SSL_ODES_S, "commit": _commit(),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--scaling", action="store_true", help=f"run n in {SCALING_NS}; writes l1_scaling.jsonl")
    parser.add_argument("--t1", type=float, default=20.0)
    parser.add_argument("--num-points", type=int, default=21)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", default="1", help="OMP/OPENBLAS/MKL threads, set before import (default 1)")
    parser.add_argument("--no-f32", action="store_true", help="skip the float32 row")
    parser.add_argument("--label", default=None)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    load_before = _load_average()
    scipy_import = _import_scipy_integrate()
    ns = SCALING_NS if args.scaling else (args.n,)
    rows = []
    for n in ns:
        row = measure(n, args.t1, args.num_points, args.repeats, with_f32=not args.no_f32)
        row["load_average"] = _load_average()  # as uptime prints it: 1, 5, 15 minutes
        rows.append(row)
        print(f"n={n:4d}  ssl_odes f64 {row['ssl_odes_f64_s']:.4f} s  f32 "
              f"{row.get('ssl_odes_f32_s', float('nan')):.4f} s  scipy {row['scipy_s']:.4f} s  "
              f"ratio {row['ratio_f64']:.2f}  diff f64 {row['max_rel_diff_f64']:.1e} "
              f"f32 {row.get('max_rel_diff_f32', float('nan')):.1e}  load {_load_average()}", flush=True)
    record = {**common_record(args), "scipy_import_s": scipy_import, "load_average_before": load_before,
              "load_average_after": _load_average()}
    if args.label:
        record["label"] = args.label
    goals = {f"ratio>=1.5 at n={row['n']}": row["ratio_f64"] >= 1.5 for row in rows}
    goals.update({f"ratio>=2 at n={row['n']}": row["ratio_f64"] >= 2.0 for row in rows if row["n"] == 256})
    if args.scaling:
        record.update(rows=rows, goals=goals)
        path = write_result("l1_scaling", record, args.results_dir)
    else:
        record.update(rows[0], goals=goals)
        path = write_result("l1", record, args.results_dir)
    print(f"scipy import {scipy_import:.3f} s; goals {goals}; wrote {path}")
    return record


if __name__ == "__main__":
    main()
