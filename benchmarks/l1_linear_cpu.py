"""L1: the linear BYOL matrix flow (002 Lemma 1, Eqs 2-4) at n = 256, diagnostics only, on the CPU.

ssl_odes: ``simulate_byol_linear(..., save="diagnostics")`` (Tsit5 + PID, eigen-diagnostics of
F and W_p at each output time computed inside the solve).

Baseline, in the same run on the same machine: SciPy ``solve_ivp`` (RK45, same tolerances) on the
flattened state (W, W_p, W_a), the right-hand side written in NumPy, then the same diagnostics
(eigenvalues of F and sym(W_p), ||[F, W_p]||_F) computed with NumPy at the output times. Both solve
the same problem from the same initial weights; the answers are compared.

Metric: simulated time per wall-clock second (t1 / wall time; compile excluded for ssl_odes, its
first call reported separately). Goal (issue 5): >= 10x. Writes benchmarks/results/l1.jsonl.

    python benchmarks/l1_linear_cpu.py [--n 256] [--t1 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402

import ssl_odes  # noqa: E402
from ssl_odes import byol_linear  # noqa: E402

PARAMS = dict(alpha_p=1.0, beta=0.4, eta=0.04, sigma2=0.1)
RTOL, ATOL = 1e-6, 1e-9


def rhs_numpy(t, y, n, alpha_p, beta, eta, sigma2):
    """Eqs 2-4 with X = I, X' = sigma2 I on the flattened state (what a SciPy user writes)."""
    W, Wp, Wa = (y[k * n * n:(k + 1) * n * n].reshape(n, n) for k in range(3))
    G = -(1.0 + sigma2) * Wp @ W + Wa
    dWp = alpha_p * G @ W.T - eta * Wp
    dW = Wp.T @ G - eta * W
    dWa = beta * (W - Wa)
    return np.concatenate([dW.ravel(), dWp.ravel(), dWa.ravel()])


def diagnostics_numpy(y, n):
    W, Wp = y[: n * n].reshape(n, n), y[n * n: 2 * n * n].reshape(n, n)
    F = W @ W.T
    return {"s": np.linalg.eigvalsh(F)[::-1], "p": np.linalg.eigvalsh((Wp + Wp.T) / 2)[::-1],
            "commutator": np.linalg.norm(F @ Wp - Wp @ F)}


def run_ssl_odes(init, t1, num_points):
    res = ssl_odes.simulate_byol_linear(**init, **PARAMS, variant="byol", t1=t1, num_points=num_points,
                                        save="diagnostics", rtol=RTOL, atol=ATOL)
    jax.block_until_ready(res.variables)
    return res


def run_scipy(init, t1, num_points):
    from scipy.integrate import solve_ivp

    n = init["W0"].shape[0]
    y0 = np.concatenate([init["W0"].ravel(), init["Wp0"].ravel(), init["W0"].ravel()])
    ts = np.linspace(0.0, t1, num_points)
    sol = solve_ivp(rhs_numpy, (0.0, t1), y0, method="RK45", t_eval=ts, rtol=RTOL, atol=ATOL,
                    args=(n, *PARAMS.values()))
    diags = [diagnostics_numpy(sol.y[:, k], n) for k in range(len(ts))]
    return sol, {key: np.stack([d[key] for d in diags]) for key in diags[0]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--t1", type=float, default=20.0)
    parser.add_argument("--num-points", type=int, default=21)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    init = byol_linear.random_initialization(args.n, init_scale=0.5, seed=0)

    start = time.perf_counter()
    run_ssl_odes(init, args.t1, args.num_points)
    first_call = time.perf_counter() - start
    start = time.perf_counter()
    res = run_ssl_odes(init, args.t1, args.num_points)
    ssl_time = time.perf_counter() - start

    start = time.perf_counter()
    sol, reference = run_scipy(init, args.t1, args.num_points)
    scipy_time = time.perf_counter() - start

    s_diff = float(np.max(np.abs(np.asarray(res.s) - reference["s"])) / np.max(np.abs(reference["s"])))
    p_diff = float(np.max(np.abs(np.asarray(res.p) - reference["p"])) / np.max(np.abs(reference["p"])))
    record = {
        "system": "002 Lemma 1 (byol, isotropic, EMA)", "dtype": "float64", "n1": args.n, "n2": args.n,
        "params": PARAMS, "t1": args.t1, "num_points": args.num_points, "rtol": RTOL, "atol": ATOL,
        "ssl_odes_s": ssl_time, "ssl_odes_first_call_s": first_call, "ssl_odes_steps": int(res.num_steps),
        "scipy_s": scipy_time, "scipy_rhs_evaluations": int(sol.nfev), "scipy_status": int(sol.status),
        "ssl_odes_simulated_time_per_s": args.t1 / ssl_time, "scipy_simulated_time_per_s": args.t1 / scipy_time,
        "ratio": scipy_time / ssl_time,
        "max_rel_diff_s": s_diff, "max_rel_diff_p": p_diff,
    }
    record["goals"] = {"ratio>=10": record["ratio"] >= 10}
    path = write_result("l1", record, args.results_dir)
    for key in ("ssl_odes_s", "ssl_odes_first_call_s", "ssl_odes_steps", "scipy_s", "scipy_rhs_evaluations", "ratio",
                "max_rel_diff_s", "max_rel_diff_p"):
        print(f"{key:24s} {record[key]:.4g}")
    print(f"goals {record['goals']}; wrote {path}")
    return record


if __name__ == "__main__":
    main()
