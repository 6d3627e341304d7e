"""Cost of one refill step, by lane count and lane step: µs per step and the compiled HLO's kernels.

Issue 16 item 2. The refill schedule (``ssl_odes._core.refill``) advances a pool of lanes by one
step of ``lane_program(...).step`` vmapped over the lanes. This script builds that pool for
benchmark M1's problem (002 Eqs 11-13, random parameters of ``m1_modes_cpu.random_parameters``,
t1 = 200, rtol 1e-6, atol 1e-9, float64), one trajectory per lane, and for each lane step
(``--steps``: ``diffrax``, the solver's own step, and ``fused``, ``FinalStateERK``) and lane count:

- times ``fori_loop(0, K, vmap(step))`` (``--k`` steps, compile excluded, median of
  ``--repeat``) and reports µs per step and ns per lane-step (lanes that finish early keep
  being selected over, exactly as in the schedule);
- compiles each step as ``refill_batch`` does (``fused``: with ``FUSED_COMPILER_OPTIONS``);
- counts the ``fusion``, ``copy`` and ``dot`` instructions that the compiled loop body runs per
  step: those of the body itself plus those of the loops nested in it (diffrax's loop over the
  Runge-Kutta stages) times their trip count (``known_trip_count``; the stage count otherwise).

With ``--trajectories N ...`` it also times the public API end to end: ``simulate_byol_modes``
on N random M1 trajectories (``num_points=2``, one device), per lane step and per lane count of
``--api-lanes``, median of ``--repeat-api`` warm calls, in µs per trajectory.

Writes one JSON line to ``benchmarks/results/refill_step_hlo.jsonl``.

    python benchmarks/refill_step_hlo.py [--lanes 64 256 1024 4096] [--steps diffrax fused]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402
from m1_modes_cpu import ATOL, RTOL, T1, random_parameters  # noqa: E402

import ssl_odes  # noqa: E402
import ssl_odes._core.refill as refill_module  # noqa: E402
from ssl_odes._core.refill import FUSED_COMPILER_OPTIONS, REFILL_STEPS, lane_program  # noqa: E402
from ssl_odes.byol_modes import ModeParameters, byol_modes_vector_field  # noqa: E402

COUNTED = ("fusion", "copy", "dot")
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")
_OPCODE = re.compile(r"=\s.*?\s([a-z][a-z0-9\-]*)\(")


def parse_hlo(text: str) -> dict[str, list[str]]:
    """Computation name -> its instruction lines, from ``compiled.as_text()``."""
    computations, current = {}, None
    for line in text.splitlines():
        if current is None:
            match = _COMPUTATION.match(line)
            if match and "->" in line or (match and line.startswith("ENTRY")):
                current = match.group(1)
                computations[current] = []
        elif line.strip() == "}":
            current = None
        else:
            computations[current].append(line)
    return computations


def opcode(line: str) -> str | None:
    match = _OPCODE.search(line)
    return match.group(1) if match else None


def _called(line: str, key: str) -> str | None:
    match = re.search(key + r"=%?([\w.\-]+)", line)
    return match.group(1) if match else None


def count_per_run(computations: dict[str, list[str]], name: str, default_trips: int) -> dict[str, float]:
    """Counted instructions executed by one run of computation ``name``, nested loops included."""
    counts = dict.fromkeys(COUNTED, 0.0)
    for line in computations.get(name, []):
        op = opcode(line)
        if op in counts:
            counts[op] += 1
        if op == "while":
            trips = re.search(r'"known_trip_count":\{"n":"(\d+)"', line)
            trips = int(trips.group(1)) if trips else default_trips
            for key in ("body", "condition"):
                inner = count_per_run(computations, _called(line, key), default_trips)
                for k in counts:
                    counts[k] += trips * inner[k]
        elif op in ("call", "conditional"):
            for key in ("to_apply", "true_computation", "false_computation"):
                target = _called(line, key)
                if target:
                    inner = count_per_run(computations, target, default_trips)
                    for k in counts:
                        counts[k] += inner[k]
    return counts


def outer_loop_body(computations: dict[str, list[str]], entry: str) -> str:
    """The body of the first ``while`` reached from the entry computation (the fori_loop)."""
    for line in computations[entry]:
        if opcode(line) == "while":
            return _called(line, "body")
        target = _called(line, "to_apply") if opcode(line) == "call" else None
        if target:
            return outer_loop_body(computations, target)
    raise ValueError("no while loop in the compiled program")


def build(lanes: int, step: str, dtype=jnp.float64):
    params = random_parameters(lanes)
    y0 = jnp.asarray(np.stack([params["p0"], params["s0"], params["tau0"]], axis=-1), dtype)
    args = ModeParameters(*(jnp.asarray(params[k], dtype) for k in ("alpha_p", "beta", "eta", "sigma2")))
    ts = jnp.asarray([0.0, T1], dtype)

    @jax.jit
    def pool_of(y0, args):
        program = lane_program(byol_modes_vector_field, y0, args, jnp.ones(lanes, bool), ts, jnp.asarray(RTOL, dtype),
                               jnp.asarray(ATOL, dtype), jnp.asarray(float(np.finfo(dtype).max) ** 0.25, dtype),
                               16_384, None, None, step)
        return jax.vmap(program.start)(jnp.arange(lanes))

    def run_steps(pool, y0, args, k):
        program = lane_program(byol_modes_vector_field, y0, args, jnp.ones(lanes, bool), ts, jnp.asarray(RTOL, dtype),
                               jnp.asarray(ATOL, dtype), jnp.asarray(float(np.finfo(dtype).max) ** 0.25, dtype),
                               16_384, None, None, step)
        return jax.lax.fori_loop(0, k, lambda _, p: jax.vmap(program.step)(p), pool)

    return pool_of(y0, args), y0, args, run_steps


def measure(lanes: int, step: str, k: int, repeat: int) -> dict:
    pool, y0, args, run_steps = build(lanes, step)
    options = FUSED_COMPILER_OPTIONS if step == "fused" else {}  # as refill_batch compiles each step
    jitted = jax.jit(run_steps, static_argnums=3, compiler_options=options)
    compiled = jitted.lower(pool, y0, args, k).compile()
    computations = parse_hlo(compiled.as_text())
    entry = next(name for name, _ in computations.items() if name.startswith("main") or name.startswith("ENTRY"))
    counts = count_per_run(computations, outer_loop_body(computations, entry), default_trips=7)
    jax.block_until_ready(compiled(pool, y0, args))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(compiled(pool, y0, args))
        times.append(time.perf_counter() - start)
    per_step = statistics.median(times) / k
    return {"lanes": lanes, "step": step, "us_per_step": per_step * 1e6, "ns_per_lane_step": per_step / lanes * 1e9,
            "min_us_per_step": min(times) / k * 1e6, **{f"{name}_per_step": counts[name] for name in COUNTED}}


def time_api(n: int, step: str, lanes: int, repeat: int) -> dict:
    """Median µs per trajectory of ``simulate_byol_modes`` on ``n`` M1 trajectories (warm, one device)."""
    params = random_parameters(n)
    options = ssl_odes.SolveOptions(rtol=RTOL, atol=ATOL, refill_step=step)
    saved = refill_module.REFILL_LANES, refill_module.FUSED_REFILL_LANES
    refill_module.REFILL_LANES = refill_module.FUSED_REFILL_LANES = lanes
    try:
        def call():
            with ssl_odes.use_devices(1):
                res = ssl_odes.simulate_byol_modes(params["p0"], params["s0"], params["tau0"], alpha_p=params["alpha_p"],
                                                   beta=params["beta"], eta=params["eta"], sigma2=params["sigma2"], t1=T1,
                                                   num_points=2, options=options)
            return np.asarray(res.final("p"))

        first = call()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    finally:
        refill_module.REFILL_LANES, refill_module.FUSED_REFILL_LANES = saved
    return {"n": n, "step": step, "lanes": lanes, "us_per_trajectory": statistics.median(times) / n * 1e6,
            "min_us_per_trajectory": min(times) / n * 1e6, "final_p_checksum": float(np.sum(first))}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lanes", type=int, nargs="*", default=[64, 256, 1024, 4096])
    parser.add_argument("--steps", nargs="*", default=list(REFILL_STEPS[1:]), choices=REFILL_STEPS[1:])
    parser.add_argument("--k", type=int, default=64, help="steps per timed call")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--trajectories", type=int, nargs="*", default=[])
    parser.add_argument("--api-lanes", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--repeat-api", type=int, default=5)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    rows, api = [], []
    for n in args.trajectories:
        for lanes in args.api_lanes:
            for step in args.steps:
                row = time_api(n, step, lanes, args.repeat_api)
                api.append(row)
                print(f"simulate_byol_modes n {n:7d} {step:8s} lanes {lanes:5d}: {row['us_per_trajectory']:7.2f} us/trajectory")
    for lanes in args.lanes:
        for step in args.steps:
            row = measure(lanes, step, args.k, args.repeat)
            rows.append(row)
            print(f"{step:8s} lanes {lanes:5d}: {row['us_per_step']:8.2f} us/step  {row['ns_per_lane_step']:6.1f} ns/lane-step  "
                  f"fusion {row['fusion_per_step']:.0f}  copy {row['copy_per_step']:.0f}  dot {row['dot_per_step']:.0f}")
    record = {"problem": "M1: 002 Eqs 11-13, t1 = 200, rtol 1e-6, atol 1e-9, float64, Tsit5", "k_steps_per_call": args.k,
              "repeat": args.repeat, "load_average": os.getloadavg(), "rows": rows, "api": api}
    path = write_result("refill_step_hlo", record, args.results_dir)
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
