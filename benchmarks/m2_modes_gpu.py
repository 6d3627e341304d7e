"""M2: 1,000,000 decoupled-mode trajectories (002 Eqs 11-13) on a GPU, float32 and float64.

Goal (issue 5): under 1 s of device time in float32 and under 5 s in float64 (final states,
t1 = 200, rtol 1e-6 / atol 1e-9 in float64, 1e-5 / 1e-7 in float32), with the flops and bytes per
trajectory and the fraction of the device's measured peak that this reaches.

- Device time: wall time of the jitted, vmapped solve with ``block_until_ready`` (compile
  excluded, best of ``--repeat``); inputs already on the device.
- Flops and bytes: XLA's cost analysis of the compiled (fused) program counts the body of the solver's
  while-loop once; per trajectory we multiply that per-iteration cost by the iterations executed
  (the vmapped loop runs ``max(num_steps)`` iterations for every lane) and, separately, by the
  mean ``num_steps`` (useful work).
- Schedules: the timed, cost-analysed program is the lockstep schedule (``vmap`` of
  ``ssl_odes.solve``; what ``integrate`` runs on a GPU today). The same batch is also timed through
  ``ssl_odes.integrate(..., schedule="refill")`` with ``REFILL_LANES`` lanes and with each count of
  ``--refill-lanes``, once per lane step of ``--refill-steps`` (``diffrax``: the solver's own step;
  ``fused``: ``FinalStateERK``, the tableau unrolled without dense output, issue 16), so that a
  GPU run can decide whether ``auto`` should refill on GPUs too, and with which step.
- Peak: in the same run, a large matmul (flops; precision HIGHEST, so no TF32 in float32) and a
  large elementwise ``x * 2 + 1`` (bytes) on the same device. The bytes fraction is meaningful at
  GPU scale (1e6 trajectories: the loop state, ~0.1-0.3 GB, streams through device memory every
  iteration); a small CPU smoke run sits in cache and can read "above peak".

Without a GPU it exits with a message and writes nothing (absolute GPU numbers only come from a GPU
run); ``--allow-cpu`` runs it on the CPU as a smoke test, recorded with the CPU named as machine.

    python benchmarks/m2_modes_gpu.py [--n 1000000] [--allow-cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402
from m1_modes_cpu import T1, random_parameters  # noqa: E402

import ssl_odes._core.refill as integrator  # noqa: E402  (the module the schedule reads its lanes from)
from ssl_odes import SolveOptions, integrate, solve  # noqa: E402
from ssl_odes.byol_modes import ModeParameters, byol_modes_vector_field  # noqa: E402

TOLERANCES = {"float32": (1e-5, 1e-7), "float64": (1e-6, 1e-9)}
GOALS_S = {"float32": 1.0, "float64": 5.0}


def prepare(n: int, dtype):
    params = random_parameters(n)
    cast = lambda x: jax.device_put(jnp.asarray(x, dtype))  # noqa: E731
    y0 = cast(np.stack([params["p0"], params["s0"], params["tau0"]], axis=-1))
    args = ModeParameters(*(cast(params[k]) for k in ("alpha_p", "beta", "eta", "sigma2")))
    return y0, args


def solver_inputs(dtype):
    rtol, atol = TOLERANCES[jnp.dtype(dtype).name]
    return (jnp.asarray([0.0, T1], dtype), jnp.asarray(rtol, dtype), jnp.asarray(atol, dtype),
            jnp.asarray(float(np.finfo(dtype).max) ** 0.25, dtype))


@jax.jit
def solve_all(y0, args, ts, rtol, atol, bound):
    """The package's one integrator, vmapped over the trajectories (what ssl_odes.integrate runs)."""
    return jax.vmap(lambda y, a: solve(byol_modes_vector_field, y, a, ts, rtol=rtol, atol=atol, bound=bound,
                                       max_steps=16_384))(y0, args)


def measure_peak(dtype, device_kind: str) -> dict:
    size = 8192 if "cpu" not in device_kind.lower() else 1024
    a = jnp.ones((size, size), dtype)
    matmul = jax.jit(lambda x: jnp.matmul(x, x, precision=jax.lax.Precision.HIGHEST))
    matmul(a).block_until_ready()
    best = min(_timed(lambda: matmul(a).block_until_ready()) for _ in range(5))
    flops = 2 * size**3 / best
    x = jnp.ones((1 << 27,) if "cpu" not in device_kind.lower() else (1 << 22,), dtype)
    elementwise = jax.jit(lambda v: v * 2 + 1)
    elementwise(x).block_until_ready()
    best = min(_timed(lambda: elementwise(x).block_until_ready()) for _ in range(5))
    return {"peak_flops_per_s": flops, "peak_bytes_per_s": 2 * x.size * x.dtype.itemsize / best}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_refill(y0, args, dtype, lanes: int, repeat: int, step: str = "diffrax") -> tuple[float, float]:
    """Best wall time of the refill schedule with ``lanes`` lanes and lane step ``step``, and its solution."""
    rtol, atol = TOLERANCES[jnp.dtype(dtype).name]
    default = integrator.REFILL_LANES, integrator.FUSED_REFILL_LANES
    integrator.REFILL_LANES = integrator.FUSED_REFILL_LANES = lanes
    options = SolveOptions(rtol=rtol, atol=atol, schedule="refill", refill_step=step)
    try:
        call = lambda: jax.block_until_ready(integrate(  # noqa: E731
            byol_modes_vector_field, y0, args, np.array([0.0, T1]), dtype=dtype, options=options))
        solution = call()
        return min(_timed(call) for _ in range(repeat)), solution
    finally:
        integrator.REFILL_LANES, integrator.FUSED_REFILL_LANES = default


def run(n: int, dtype, repeat: int, refill_lanes: list[int], refill_steps=("diffrax", "fused")) -> dict:
    y0, args = prepare(n, dtype)
    inputs = solver_inputs(dtype)
    lowered = solve_all.lower(y0, args, *inputs)
    start = time.perf_counter()
    solution = solve_all(y0, args, *inputs)
    jax.block_until_ready(solution)
    first = time.perf_counter() - start
    best = min(_timed(lambda: jax.block_until_ready(solve_all(y0, args, *inputs))) for _ in range(repeat))
    steps = np.asarray(solution.num_steps)
    cost = lowered.compile().cost_analysis()  # after fusion: what the device actually moves
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops_iter = float(cost.get("flops", np.nan)) / n
    bytes_iter = float(cost.get("bytes accessed", np.nan)) / n
    executed = int(steps.max())
    refill, refill_by_step = {}, {}
    for step in refill_steps:
        default_lanes = integrator.REFILL_LANES if step == "diffrax" else integrator.FUSED_REFILL_LANES
        rows = refill_by_step[step] = {}
        for lanes in dict.fromkeys([default_lanes, *refill_lanes]):
            seconds, refilled = time_refill(y0, args, dtype, lanes, repeat, step)
            rows[str(lanes)] = {"device_time_s": seconds, "same_statuses": bool(np.array_equal(refilled.status, solution.status)),
                                "max_abs_diff_vs_lockstep": float(np.nanmax(np.abs(np.asarray(refilled.y_final) - np.asarray(solution.y_final))))}
    refill = refill_by_step.get("diffrax", {})
    fastest = min(best, *(r["device_time_s"] for rows in refill_by_step.values() for r in rows.values()))
    return {
        "dtype": jnp.dtype(dtype).name, "n_trajectories": n, "t1": T1,
        "rtol": float(inputs[1]), "atol": float(inputs[2]),
        "device_time_s": best, "first_call_s": first, "status_ok": int((np.asarray(solution.status) == 0).sum()),
        "mean_steps": float(steps.mean()), "max_steps_executed": executed,
        "xla_flops_per_iteration_per_trajectory": flops_iter, "xla_bytes_per_iteration_per_trajectory": bytes_iter,
        "flops_per_trajectory_executed": flops_iter * executed, "bytes_per_trajectory_executed": bytes_iter * executed,
        "flops_per_trajectory_useful": flops_iter * float(steps.mean()),
        "bytes_per_trajectory_useful": bytes_iter * float(steps.mean()),
        "refill_by_lanes": refill, "refill_by_step_and_lanes": refill_by_step, "fastest_schedule_s": fastest,
        "goal_s": GOALS_S[jnp.dtype(dtype).name], "goal_met": fastest < GOALS_S[jnp.dtype(dtype).name],
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--allow-cpu", action="store_true", help="smoke-test on the CPU (never quote as GPU numbers)")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--refill-lanes", type=int, nargs="*", default=[16_384, 131_072],
                        help="lane counts of the refill schedule to time besides REFILL_LANES / FUSED_REFILL_LANES")
    parser.add_argument("--refill-steps", nargs="*", default=["diffrax", "fused"], choices=["diffrax", "fused"],
                        help="lane steps of the refill schedule to time (SolveOptions(refill_step=...))")
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    if device.platform != "gpu" and not args.allow_cpu:
        print(f"M2 skipped: no GPU visible to JAX (devices: {jax.devices()}). Run on a GPU machine; "
              "absolute GPU numbers are only quoted from a GPU run.")
        return []
    records = []
    for dtype in (jnp.float32, jnp.float64):
        record = run(args.n, dtype, args.repeat, [k for k in args.refill_lanes if k < args.n], args.refill_steps)
        peak = measure_peak(dtype, device.device_kind)
        record.update(peak)
        record["fraction_of_peak_flops"] = record["flops_per_trajectory_executed"] * args.n / record["device_time_s"] / peak["peak_flops_per_s"]
        record["fraction_of_peak_bytes"] = record["bytes_per_trajectory_executed"] * args.n / record["device_time_s"] / peak["peak_bytes_per_s"]
        record["smoke_test_on_cpu"] = device.platform != "gpu"
        write_result("m2", record, args.results_dir)
        records.append(record)
        print({k: record[k] for k in ("dtype", "device_time_s", "fastest_schedule_s", "refill_by_step_and_lanes", "mean_steps", "max_steps_executed",
                                        "flops_per_trajectory_executed", "bytes_per_trajectory_executed",
                                        "fraction_of_peak_flops", "fraction_of_peak_bytes", "goal_met")})
    return records


if __name__ == "__main__":
    main()
