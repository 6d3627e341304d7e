"""M1: 10,000 decoupled-mode trajectories (002 Eqs 11-13) on the CPU, against what a user does instead.

ssl_odes: one call of ``simulate_byol_modes`` (vmapped Tsit5 + PID, rtol 1e-6, atol 1e-9, float64,
final states) with random parameters to t = 200.

Baselines, in the same run on the same machine:
- SciPy: a ``solve_ivp`` (RK45, same tolerances) loop, timed on a subsample and extrapolated per
  trajectory (the loop is embarrassingly serial, so the per-trajectory time is what scales).
- NumPy: a vectorised fixed-step RK4 over all trajectories, with the step halved until its answers
  agree with a tight reference (ssl_odes at rtol 1e-12) as well as ssl_odes' own do (a reference
  baseline: the only hand-rolled Runge-Kutta allowed in the project).

Goals (issue 5): >= 200x faster than the SciPy loop, >= 3x faster than the NumPy reference, answers
agreeing to 1e-5. Writes a JSON line to benchmarks/results/m1.jsonl.

Two ssl_odes numbers are recorded: on one XLA CPU device (one core, like the single-process SciPy
loop and NumPy reference) and sharded over one device per core (``ssl_odes.use_devices``), which is
how the package uses a whole machine. The ratios name which one they use.

    python benchmarks/m1_modes_cpu.py [--n 10000] [--scipy-sample 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One XLA CPU device per core, so that the sharded run (ssl_odes.use_devices) can use them all; the
# single-device numbers use one of them. Must be set before JAX starts.
if "jax" not in sys.modules and "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={os.cpu_count()}").strip()

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402

import ssl_odes  # noqa: E402

T1, RTOL, ATOL = 200.0, 1e-6, 1e-9
NAMES = ("p0", "s0", "tau0", "alpha_p", "beta", "eta", "sigma2")


def random_parameters(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random parameters in the regular region p, tau >= 0 (no W-crossing singularity)."""
    rng = np.random.default_rng(seed)
    return {
        "p0": rng.uniform(0.01, 1.5, n), "s0": rng.uniform(0.01, 1.0, n), "tau0": rng.uniform(0.0, 1.0, n),
        "alpha_p": rng.uniform(0.5, 2.0, n), "beta": rng.uniform(0.1, 1.0, n), "eta": rng.uniform(0.0, 0.1, n),
        "sigma2": rng.uniform(0.0, 1.0, n),
    }


def rhs_numpy(y, alpha_p, beta, eta, sigma2):
    """Eqs 11-13 in NumPy (what a user writes for SciPy / their own RK4)."""
    p, s, tau = y
    g = tau - (1.0 + sigma2) * p
    return np.array([alpha_p * s * g - eta * p, 2.0 * p * s * g - 2.0 * eta * s,
                     beta * (1.0 - tau) - tau * (p * g - eta)])


def run_ssl_odes(params, rtol=RTOL, atol=ATOL, devices=1):
    with ssl_odes.use_devices(devices):
        res = ssl_odes.simulate_byol_modes(params["p0"], params["s0"], params["tau0"], alpha_p=params["alpha_p"],
                                           beta=params["beta"], eta=params["eta"], sigma2=params["sigma2"], t1=T1,
                                           num_points=2, rtol=rtol, atol=atol)
    final = np.stack([np.asarray(res.final(k)) for k in ("p", "s", "tau")])
    return final, res


def run_scipy(params, indices):
    from scipy.integrate import solve_ivp

    out = np.empty((3, len(indices)))
    for j, i in enumerate(indices):
        args = tuple(params[k][i] for k in ("alpha_p", "beta", "eta", "sigma2"))
        y0 = [params["p0"][i], params["s0"][i], params["tau0"][i]]
        sol = solve_ivp(lambda t, y: rhs_numpy(y, *args), (0.0, T1), y0, method="RK45", rtol=RTOL, atol=ATOL)
        out[:, j] = sol.y[:, -1]
    return out


def run_numpy_rk4(params, dt):
    y = np.stack([params["p0"], params["s0"], params["tau0"]])
    args = tuple(params[k] for k in ("alpha_p", "beta", "eta", "sigma2"))
    steps = int(round(T1 / dt))
    h = T1 / steps
    for _ in range(steps):
        k1 = rhs_numpy(y, *args)
        k2 = rhs_numpy(y + 0.5 * h * k1, *args)
        k3 = rhs_numpy(y + 0.5 * h * k2, *args)
        k4 = rhs_numpy(y + h * k3, *args)
        y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def timed(fn, *args, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv=None, results_dir=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--scipy-sample", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, default=results_dir)
    args = parser.parse_args(argv)
    results_dir = args.results_dir
    params = random_parameters(args.n)

    start = time.perf_counter()
    run_ssl_odes(params)
    first_call = time.perf_counter() - start
    ssl_time, (final, res) = timed(run_ssl_odes, params, repeat=args.repeat)
    all_devices = len(jax.devices())
    run_ssl_odes(params, devices=all_devices)
    sharded_time, (sharded_final, _) = timed(run_ssl_odes, params, RTOL, ATOL, all_devices, repeat=args.repeat)
    reference, _ = run_ssl_odes(params, rtol=1e-12, atol=1e-14, devices=all_devices)
    assert res.ok.all(), res.status_counts()
    scale = np.maximum(np.abs(reference), 1.0)
    ssl_errors = np.max(np.abs(final - reference) / scale, axis=0)
    ssl_error = float(ssl_errors.max())

    sample = np.random.default_rng(1).choice(args.n, size=min(args.scipy_sample, args.n), replace=False)
    scipy_time, scipy_final = timed(run_scipy, params, sample)
    scipy_per_trajectory = scipy_time / len(sample)

    # RK4 step: halve until it is as accurate as ssl_odes (or 1e-5, the agreement goal, if tighter)
    target = max(ssl_error, 1e-7)
    dt, rk4_error = 0.4, np.inf
    while dt > 1e-3:
        with np.errstate(all="ignore"):  # too large a step overflows: that dt is rejected below
            rk4_final = run_numpy_rk4(params, dt)
        rk4_error = float(np.nanmax(np.abs(rk4_final - reference) / scale)) if np.all(np.isfinite(rk4_final)) else np.inf
        if rk4_error <= target:
            break
        dt /= 2
    rk4_time, rk4_final = timed(run_numpy_rk4, params, dt, repeat=1)

    record = {
        "system": "002 Eqs 11-13 (p, s, tau)", "dtype": "float64", "n_trajectories": args.n, "t1": T1,
        "rtol": RTOL, "atol": ATOL,
        "ssl_odes_s": ssl_time, "ssl_odes_first_call_s": first_call, "ssl_odes_max_steps": int(np.max(res.num_steps)),
        "cpu_devices": all_devices, "ssl_odes_sharded_s": sharded_time,
        "max_rel_diff_sharded_vs_single": float(np.max(np.abs(sharded_final - final) / scale)),
        "ssl_odes_mean_steps": float(np.mean(res.num_steps)),
        "scipy_sample": len(sample), "scipy_per_trajectory_s": scipy_per_trajectory,
        "scipy_loop_estimated_s": scipy_per_trajectory * args.n,
        "numpy_rk4_s": rk4_time, "numpy_rk4_dt": dt,
        "ratio_vs_scipy": scipy_per_trajectory * args.n / ssl_time,
        "ratio_vs_numpy_rk4": rk4_time / ssl_time,
        "ratio_vs_scipy_all_cores": scipy_per_trajectory * args.n / sharded_time,
        "ratio_vs_numpy_rk4_all_cores": rk4_time / sharded_time,
        "max_rel_diff_ssl_vs_reference": ssl_error,
        "p99_9_rel_diff_ssl_vs_reference": float(np.quantile(ssl_errors, 0.999)),
        "fraction_ssl_vs_reference_above_1e-5": float(np.mean(ssl_errors > 1e-5)),
        "max_rel_diff_numpy_rk4_vs_reference": rk4_error,
        "max_rel_diff_ssl_vs_scipy": float(np.max(np.abs(final[:, sample] - scipy_final) / scale[:, sample])),
        "max_rel_diff_ssl_vs_numpy_rk4": float(np.max(np.abs(final - rk4_final) / scale)),
    }
    record["goals"] = {
        "ratio_vs_scipy>=200": record["ratio_vs_scipy"] >= 200,
        "ratio_vs_numpy_rk4>=3": record["ratio_vs_numpy_rk4"] >= 3,
        "agreement<=1e-5": max(record["max_rel_diff_ssl_vs_scipy"], record["max_rel_diff_ssl_vs_numpy_rk4"]) <= 1e-5,
    }
    path = write_result("m1", record, results_dir)
    for key in ("ssl_odes_s", "ssl_odes_sharded_s", "cpu_devices", "ssl_odes_first_call_s", "scipy_loop_estimated_s",
                "numpy_rk4_s", "numpy_rk4_dt", "ratio_vs_scipy", "ratio_vs_numpy_rk4", "ratio_vs_scipy_all_cores",
                "ratio_vs_numpy_rk4_all_cores", "max_rel_diff_ssl_vs_scipy", "max_rel_diff_ssl_vs_numpy_rk4",
                "max_rel_diff_ssl_vs_reference", "p99_9_rel_diff_ssl_vs_reference", "fraction_ssl_vs_reference_above_1e-5"):
        print(f"{key:32s} {record[key]:.4g}")
    print(f"goals {record['goals']}; wrote {path}")
    return record


if __name__ == "__main__":
    main()
