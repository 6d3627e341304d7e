"""M1: 10,000 decoupled-mode trajectories (002 Eqs 11-13) on the CPU, against what a user does instead.

The problem: 10,000 trajectories of the mode system (p, s, tau) with random parameters, from t = 0
to t1 = 200, rtol 1e-6, atol 1e-9, float64, final states only. Every method below is timed in the
same run on the same machine, warm: imports and first calls (JIT compilation) are excluded from the
time and reported separately (``import_s``, ``first_call_s``). Times are the median of the warm
repeats, per trajectory. Every method's final states are compared with one tight reference
(ssl_odes, ``solver="dopri8"`` at rtol 1e-12, atol 1e-14, one device): ``max_abs_err_vs_reference``, and the
older relative measure ``max_rel_err_vs_reference`` (error / max(|reference|, 1)).

Methods (``methods`` in the JSON line; ``time_ratio_to_ssl_odes`` = its time / ssl_odes' time on
one device, so > 1 is slower than ssl_odes):

- ``ssl_odes``: one call of the public ``simulate_byol_modes`` (default solver Tsit5, so the
  integrator's refill schedule for final states) on ONE XLA CPU device; ``ssl_odes_all_cores``: the
  same sharded over one device per core (``ssl_odes.use_devices``); ``ssl_odes_dopri8`` (the solver
  recommended for final states) on one device and on all; ``ssl_odes_tsit5_lockstep``: Tsit5 on the
  lockstep schedule, what ssl_odes ran before refill. ssl_odes is called through the public API only,
  so a faster step inside the package is picked up with no change here.
- ``diffrax``: what a diffrax user writes: ``jax.jit(jax.vmap(one))`` where ``one`` calls
  ``diffrax.diffeqsolve`` with ``Tsit5``, ``PIDController(rtol, atol)``, ``dt0 = 0.01`` and
  ``SaveAt(t1=True)`` on the package's vector field; one device.
- ``torchode``: ``torchode.AutoDiffAdjoint(Dopri5, IntegralController(atol, rtol))`` (safety 0.9,
  factors clipped to [0.2, 10]), float64, ``torch.set_num_threads(1)``, the solve wrapped in
  ``torch.compile(..., dynamic=True)`` when that compiles on this machine, else eager (the row's
  ``mode`` says which and why). torchode steps past t1 and interpolates back, by its design.
- ``scipy``: a ``solve_ivp`` (RK45, same tolerances) loop, timed on a random subsample of
  ``--scipy-sample`` trajectories and reported per trajectory (the loop is serial, so the
  per-trajectory time is what scales; ``n_timed`` says so). ``import scipy.integrate`` and a first
  call are excluded.
- ``numpy_rk4``: a vectorised fixed-step RK4 over all trajectories, with the step halved until it is
  as accurate as the least accurate ssl_odes solver (a reference baseline).
- ``numba_serial`` and ``numba_lanes``: hand-written Dormand-Prince 5(4) kernels
  (``benchmarks/_numba_kernels.py``) with diffrax's default PIDController step control; serial, and
  16 trajectories per SIMD pass with finished lanes refilled. ``numba_lanes`` also records which
  vector instructions LLVM emitted (``simd_instructions``). Compiled on a tiny batch first.
  Benchmark-only dependency: ``pip install '.[bench]'``; a missing numba or torchode skips its row and
  says why (``skipped``). A row whose run raises (a peer, or ssl_odes' sharded path) is kept with the
  error (``failed``); only the 1-device ssl_odes row must run.

Physical limit (``physical_limit``): arithmetic operations per trajectory over the peak floating-point
rate of one core. One Dormand-Prince step of this system costs ``FLOPS_PER_STEP`` = 310 operations,
counted on the kernel's code:
- 6 new vector-field evaluations per step (7 stages, first-same-as-last) x 19 operations (g: 3,
  dp/dt: 4, ds/dt: 6, dtau/dt: 6, as written in 002 Eqs 11-13 and in the package);
- stage inputs y + h sum_j a_ij k_j: 2m + 1 operations per component for m terms, m = 1..5 for
  stages 2-6 and 5 for y1 (b_2 = 0): 46 per component, 138 for the three;
- the error estimate h sum_j (b_j - bhat_j) k_j (6 nonzero terms): 12 per component, 36;
- the error norm (rtol * max + atol, divide, square, sum per component, then / 3 and sqrt): 17;
- the controller (e**-0.2 counted as one, x safety, h x factor, t + h, t1 - t): 5.
Times the mean number of step attempts per trajectory (accepted and rejected) of the Numba kernel
(Tsit5's count from ssl_odes if numba is missing): about 137 here, so about 42 kflop per trajectory.
The peak rate of one core is measured in the same run as the best of a few single-threaded float64
matrix products (NumPy's BLAS with OPENBLAS_NUM_THREADS=1 in a subprocess), which reach about 90%
of the FMA peak. The limit is a floor no implementation reaches: it assumes every operation is a
full-width FMA slot, while about half of these are plain adds or multiplies and there are divides,
a square root and selects.

Scaling mode (``--scaling``): µs per trajectory against batch size 10 ... 1,000,000 for ssl_odes
(public API, one device), plain diffrax, torchode, the two Numba kernels and the SciPy loop. ssl_odes
and Numba are always timed on the full batch. The slow ones are timed on a random subsample above a
cap (``--cap-diffrax``, ``--cap-torchode``, ``--scipy-sample``), and their row says so (``n_timed``,
``subsample``); a subsample of a lockstep method can only underestimate its per-trajectory time,
since the slowest trajectory of a bigger batch is slower. It writes one JSON line with the table to
``benchmarks/results/m1_scaling.jsonl`` and draws ``benchmarks/figures/scaling_m1.png`` and the
two-panel ``benchmarks/figures/scaling.png`` (``benchmarks/scaling_figure.py``).

Every line records the load average before and after (``load_average``): this machine is shared,
and a number taken under load is not a clean number.

    python benchmarks/m1_modes_cpu.py [--n 10000] [--scipy-sample 200] [--repeat 3]
    python benchmarks/m1_modes_cpu.py --scaling [--sizes 10 100 ... 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

# One XLA CPU device per core, so that the sharded run (ssl_odes.use_devices) can use them all; the
# single-device numbers use one of them. Must be set before JAX starts.
if "jax" not in sys.modules and "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={os.cpu_count()}").strip()

_IMPORT_START = time.perf_counter()
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402

import ssl_odes  # noqa: E402
from ssl_odes.byol_modes import ModeParameters, byol_modes_vector_field  # noqa: E402

IMPORT_JAX_SSL_ODES_S = time.perf_counter() - _IMPORT_START

T1, RTOL, ATOL = 200.0, 1e-6, 1e-9
FIRST_STEP = 0.01  # ssl_odes' dt0, used by every adaptive method here
DEFAULT_SOLVER = "tsit5"  # simulate_byol_modes' default
SOLVERS = ("tsit5", "dopri8")
NAMES = ("p0", "s0", "tau0", "alpha_p", "beta", "eta", "sigma2")
ARG_NAMES = ("alpha_p", "beta", "eta", "sigma2")
#: Arithmetic operations of one Dormand-Prince 5(4) step of Eqs 11-13 (derivation in the docstring).
FLOPS_PER_STEP = 6 * 19 + 3 * 46 + 3 * 12 + 17 + 5
SCALING_SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)


def random_parameters(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random parameters in the regular region p, tau >= 0 (no W-crossing singularity)."""
    rng = np.random.default_rng(seed)
    return {
        "p0": rng.uniform(0.01, 1.5, n), "s0": rng.uniform(0.01, 1.0, n), "tau0": rng.uniform(0.0, 1.0, n),
        "alpha_p": rng.uniform(0.5, 2.0, n), "beta": rng.uniform(0.1, 1.0, n), "eta": rng.uniform(0.0, 0.1, n),
        "sigma2": rng.uniform(0.0, 1.0, n),
    }


def subset(params, index) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v[index]) for k, v in params.items()}


def state_and_args(params) -> tuple[np.ndarray, np.ndarray]:
    """``y0 [3, n]`` and ``args [4, n]`` (alpha_p, beta, eta, sigma2)."""
    return (np.stack([params["p0"], params["s0"], params["tau0"]]), np.stack([params[k] for k in ARG_NAMES]))


def rhs_numpy(y, alpha_p, beta, eta, sigma2):
    """Eqs 11-13 in NumPy (what a user writes for SciPy / their own RK4)."""
    p, s, tau = y
    g = tau - (1.0 + sigma2) * p
    return np.array([alpha_p * s * g - eta * p, 2.0 * p * s * g - 2.0 * eta * s,
                     beta * (1.0 - tau) - tau * (p * g - eta)])


def load_average() -> dict:
    """The 1, 5 and 15 minute load averages, and ``uptime``'s line, at this moment."""
    try:
        line = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        line = None
    return {"1min": os.getloadavg()[0], "5min": os.getloadavg()[1], "15min": os.getloadavg()[2], "uptime": line}


def ssl_odes_source() -> dict:
    """Which ssl_odes ran: its file, and the checkout's commit and whether its src/ has local edits."""
    source = {"file": ssl_odes.__file__, "version": getattr(ssl_odes, "__version__", None)}
    root = Path(ssl_odes.__file__).resolve().parents[2]
    try:
        git = ["git", "-C", str(root)]
        source["git_head"] = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                            check=True).stdout.strip()
        status = subprocess.run(git + ["status", "--porcelain", "--", "src"], capture_output=True, text=True, timeout=10,
                                check=True).stdout
        source["src_modified_files"] = [line[3:] for line in status.splitlines()]
    except (OSError, subprocess.SubprocessError):
        source["git_head"] = None  # not a checkout (an exported copy, or an installed package)
    try:  # the checkout this benchmark script is in
        source["benchmark_checkout_head"] = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
                                                           capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        source["benchmark_checkout_head"] = None
    return source


# ------------------------------------------------------------------------------------------------
# The methods. Each builder imports what it needs (timed: import_s) and returns a runner
# params -> (final states [3, n], step counts [n] or None), plus facts about the row. A builder
# that cannot run here raises Unavailable with the reason.
# ------------------------------------------------------------------------------------------------


class Unavailable(Exception):
    """A method's dependency is missing or does not work here: its row is skipped, with the reason."""


def run_ssl_odes(params, rtol=RTOL, atol=ATOL, devices=1, solver=DEFAULT_SOLVER):
    with ssl_odes.use_devices(devices):
        res = ssl_odes.simulate_byol_modes(params["p0"], params["s0"], params["tau0"], alpha_p=params["alpha_p"],
                                           beta=params["beta"], eta=params["eta"], sigma2=params["sigma2"], t1=T1,
                                           num_points=2, rtol=rtol, atol=atol, solver=solver)
    final = np.stack([np.asarray(res.final(k)) for k in ("p", "s", "tau")])
    return final, res


def build_ssl_odes(solver=DEFAULT_SOLVER, devices=1):
    def run(params):
        final, res = run_ssl_odes(params, devices=devices, solver=solver)
        if not res.ok.all():
            raise RuntimeError(f"ssl_odes {solver}: {res.status_counts()}")
        return final, np.asarray(res.num_steps)

    return run, {"solver": solver, "devices": devices, "api": "ssl_odes.simulate_byol_modes"}


def run_lockstep(params):
    """The same batch with Tsit5 on the lockstep schedule (what ssl_odes ran before the refill schedule)."""
    y0 = np.stack([params["p0"], params["s0"], params["tau0"]], axis=-1)
    args = ModeParameters(**{k: params[k] for k in ARG_NAMES})
    with ssl_odes.use_devices(1):
        sol = ssl_odes.integrate(byol_modes_vector_field, y0, args, np.array([0.0, T1]), dtype=np.float64, rtol=RTOL,
                                 atol=ATOL, schedule="lockstep")
    return np.asarray(sol.y_final).T, None


def build_lockstep():
    return run_lockstep, {"solver": "tsit5", "devices": 1, "schedule": "lockstep"}


def build_plain_diffrax():
    """``jax.jit(jax.vmap(diffeqsolve))``: Tsit5 + PIDController, final state only, one device."""
    import diffrax
    import jax.numpy as jnp

    term = diffrax.ODETerm(byol_modes_vector_field)
    solver, controller = diffrax.Tsit5(), diffrax.PIDController(rtol=RTOL, atol=ATOL)

    def one(y0, args):
        sol = diffrax.diffeqsolve(term, solver, 0.0, T1, FIRST_STEP, y0, args=args, stepsize_controller=controller,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=4096)
        return sol.ys[-1], sol.stats["num_steps"], sol.result == diffrax.RESULTS.successful

    solve = jax.jit(jax.vmap(one))
    device = jax.devices()[0]

    def run(params):
        y0, args = state_and_args(params)
        y0 = jax.device_put(jnp.asarray(y0.T), device)
        args = jax.device_put(ModeParameters(*(jnp.asarray(a) for a in args)), device)
        ys, steps, ok = jax.block_until_ready(solve(y0, args))
        if not np.all(np.asarray(ok)):
            raise RuntimeError("plain diffrax: some solves failed")
        return np.asarray(ys).T, np.asarray(steps)

    return run, {"solver": "Tsit5", "controller": "PIDController", "saveat": "SaveAt(t1=True)", "devices": 1,
                 "code": "jax.jit(jax.vmap(diffrax.diffeqsolve))"}


def build_torchode():
    try:
        import torch
        import torchode as to
    except ImportError as error:
        raise Unavailable(f"torchode not importable ({error}): pip install torch (CPU build) torchode, or '.[bench]'")
    torch.set_num_threads(1)
    f64 = torch.float64

    def rhs(t, y, a):
        p, s, tau = y[:, 0], y[:, 1], y[:, 2]
        alpha_p, beta, eta, sigma2 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        g = tau - (1.0 + sigma2) * p
        return torch.stack([alpha_p * s * g - eta * p, 2.0 * p * s * g - 2.0 * eta * s,
                            beta * (1.0 - tau) - tau * (p * g - eta)], dim=1)

    term = to.ODETerm(rhs, with_args=True)
    adjoint = to.AutoDiffAdjoint(to.Dopri5(term=term), to.IntegralController(atol=ATOL, rtol=RTOL, term=term))

    def solve(y0, args):
        n = y0.shape[0]
        problem = to.InitialValueProblem(y0=y0, t_start=torch.zeros(n, dtype=f64), t_end=torch.full((n,), T1, dtype=f64))
        sol = adjoint.solve(problem, args=args, dt0=torch.full((n,), FIRST_STEP, dtype=f64))
        return sol.ys[:, -1], sol.stats["n_steps"], sol.status

    def runner(fn):
        def run(params):
            y0, args = state_and_args(params)
            ys, steps, status = fn(torch.from_numpy(np.ascontiguousarray(y0.T)), torch.from_numpy(np.ascontiguousarray(args.T)))
            if bool((status != 0).any()):
                raise RuntimeError("torchode: some solves failed")
            return ys.numpy().T.copy(), steps.numpy().copy()
        return run

    info = {"step_method": "Dopri5", "controller": "IntegralController", "threads": torch.get_num_threads(),
            "torch": torch.__version__, "torchode": getattr(to, "__version__", None), "mode": "torch.compile(dynamic=True)"}
    # Compiled lazily by the first call (counted in first_call_s); if compilation fails here, eager.
    state = {"solve": torch.compile(solve, dynamic=True)}

    def run(params):
        try:
            return runner(state["solve"])(params)
        except Exception as error:  # noqa: BLE001 - any compiler failure means: run it eagerly, and say why
            if state["solve"] is solve:
                raise
            info.update(mode="eager", compile_error=f"{type(error).__name__}: {str(error)[:300]}")
            print(f"torchode: torch.compile failed ({info['compile_error']}); running eagerly")
            state["solve"] = solve
            return runner(solve)(params)

    return run, info


def build_numba(kernel):
    try:
        import _numba_kernels as nk
    except ImportError as error:
        raise Unavailable(f"numba not importable ({error}): pip install numba, or '.[bench]'")
    start = time.perf_counter()
    nk.warm_up(T1, RTOL, ATOL, kernels=(kernel,))
    info = {"kernel": f"_numba_kernels.dopri5_{kernel}", "compile_s": time.perf_counter() - start,
            "lanes": nk.LANES if kernel == "lanes" else 1}
    if kernel == "lanes":
        info["fastmath"] = sorted(nk.LANES_FASTMATH)
        info["simd_instructions"] = nk.vector_report()

    def run(params):
        y0, args = state_and_args(params)
        return nk.solve(kernel, y0, args, T1, RTOL, ATOL, FIRST_STEP)

    return run, info


def run_scipy(params, indices=None):
    from scipy.integrate import solve_ivp

    indices = range(len(params["p0"])) if indices is None else indices
    out = np.empty((3, len(indices)))
    steps = np.empty(len(indices), np.int64)
    for j, i in enumerate(indices):
        args = tuple(params[k][i] for k in ARG_NAMES)
        y0 = [params["p0"][i], params["s0"][i], params["tau0"][i]]
        sol = solve_ivp(lambda t, y: rhs_numpy(y, *args), (0.0, T1), y0, method="RK45", rtol=RTOL, atol=ATOL)
        out[:, j] = sol.y[:, -1]
        steps[j] = sol.nfev // 6  # 6 evaluations per RK45 step (FSAL), accepted or rejected
    return out, steps


def build_scipy():
    try:
        import scipy.integrate  # noqa: F401 - imported here so its import time is not in the loop's
    except ImportError as error:
        raise Unavailable(f"scipy not importable ({error})")
    return run_scipy, {"method": "solve_ivp RK45", "loop": "one trajectory at a time"}


def run_numpy_rk4(params, dt):
    y = np.stack([params["p0"], params["s0"], params["tau0"]])
    args = tuple(params[k] for k in ARG_NAMES)
    steps = int(round(T1 / dt))
    h = T1 / steps
    for _ in range(steps):
        k1 = rhs_numpy(y, *args)
        k2 = rhs_numpy(y + 0.5 * h * k1, *args)
        k3 = rhs_numpy(y + 0.5 * h * k2, *args)
        k4 = rhs_numpy(y + h * k3, *args)
        y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def build(name, builder, *args) -> tuple:
    """Run a builder, timing its imports/compilation: (runner or None, info)."""
    start = time.perf_counter()
    try:
        run, info = builder(*args)
    except Unavailable as why:
        print(f"{name}: skipped: {why}")
        return None, {"skipped": str(why)}
    info["import_s"] = time.perf_counter() - start - info.get("compile_s", 0.0)
    return run, info


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------


def measure(run, params, repeat, first_call=True, min_total_s=0.5, max_repeat=15) -> tuple[dict, tuple]:
    """First call (compilation for this shape) timed apart; then warm calls, at least ``repeat`` and
    more while they add up to less than ``min_total_s``. Median and best wall time, the process'
    CPU time over wall time (above 1: it used more than one core; well below 1: other processes took
    the core), and the 1-minute load average when it finished."""
    row = {}
    if first_call:
        start = time.perf_counter()
        run(params)
        row["first_call_s"] = time.perf_counter() - start
    walls, cpus, out = [], [], None
    while len(walls) < repeat or (sum(walls) < min_total_s and len(walls) < max_repeat):
        cpu, start = time.process_time(), time.perf_counter()
        out = run(params)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    n = len(params["p0"])
    row.update(median_s=float(np.median(walls)), best_s=float(np.min(walls)), repeats=len(walls),
               us_per_trajectory=float(np.median(walls)) / n * 1e6, cpu_over_wall=float(np.sum(cpus) / np.sum(walls)),
               n_timed=n, load_1min=os.getloadavg()[0])
    return row, out


def peak_flops_one_core(size=1536, repeat=10) -> dict:
    """Best single-threaded float64 GEMM rate (2 size**3 flop per product), in a subprocess so
    that the BLAS thread count can be set before NumPy loads it."""
    code = (f"import time, numpy as np\nrng = np.random.default_rng(0)\na, b = rng.random(({size}, {size})), rng.random(({size}, {size}))\n"
            "a @ b\nbest = min((lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(%d))\n"
            f"print(2 * {size} ** 3 / best)\n") % repeat
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
        return {"peak_flops_one_core": float(out.stdout.strip()), "how": f"best of {repeat} single-threaded {size}x{size} float64 numpy matmuls"}
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        return {"peak_flops_one_core": None, "how": f"failed: {error}"}


def physical_limit(mean_steps: float, steps_from: str) -> dict:
    peak = peak_flops_one_core()
    flops = FLOPS_PER_STEP * mean_steps
    limit = {"flops_per_step": FLOPS_PER_STEP, "mean_steps_per_trajectory": mean_steps, "steps_from": steps_from,
             "flops_per_trajectory": flops, **peak}
    limit["us_per_trajectory"] = flops / peak["peak_flops_one_core"] * 1e6 if peak["peak_flops_one_core"] else None
    return limit


# ------------------------------------------------------------------------------------------------
# M1: 10,000 trajectories, every method, agreement with the reference
# ------------------------------------------------------------------------------------------------


def m1(args) -> dict:
    load_before = load_average()
    params = random_parameters(args.n)
    all_devices = len(jax.devices())

    reference, _ = run_ssl_odes(params, rtol=1e-12, atol=1e-14, devices=1, solver="dopri8")
    scale = np.maximum(np.abs(reference), 1.0)

    def errors(final, columns=slice(None)):
        diff = np.abs(final - reference[:, columns])
        return {"max_abs_err_vs_reference": float(diff.max()),
                "max_rel_err_vs_reference": float(np.max(diff / scale[:, columns]))}

    methods, finals = {}, {}

    def add(name, builder, *builder_args, sample=None, first_call=True, repeat=args.repeat):
        if name in args.skip:
            methods[name] = {"skipped": "--skip"}
            return None
        run, info = build(name, builder, *builder_args)
        if run is None:
            methods[name] = info
            return None
        batch = params if sample is None else subset(params, sample)
        if sample is not None:
            run(subset(params, sample[:1]))  # warm (first call on one trajectory)
        try:
            row, (final, steps) = measure(run, batch, repeat, first_call=first_call and sample is None)
        except Exception as error:  # noqa: BLE001 - a failing peer (or sharded path) is a row that says why
            if name == "ssl_odes":
                raise
            methods[name] = {"failed": f"{type(error).__name__}: {str(error)[:400]}", **info}
            print(f"{name}: failed: {methods[name]['failed']}", flush=True)
            return None
        columns = slice(None) if sample is None else sample
        row.update(errors(final, columns), **info)
        if steps is not None:
            row["mean_steps"] = float(np.mean(steps))
            row["max_steps"] = int(np.max(steps))
        if sample is not None:
            row["subsample"] = f"timed on a random subsample of {len(sample)} of the {args.n} trajectories, per trajectory"
        methods[name] = row
        finals[name] = final
        print(f"{name:24s} {row['us_per_trajectory']:10.2f} us/trajectory  max abs err {row['max_abs_err_vs_reference']:.2e}"
              f"  (first call {row.get('first_call_s', float('nan')):.2f} s, import {row['import_s']:.2f} s)", flush=True)
        return row

    for solver in SOLVERS:
        suffix = "" if solver == DEFAULT_SOLVER else f"_{solver}"
        add(f"ssl_odes{suffix}", build_ssl_odes, solver, 1)
        add(f"ssl_odes{suffix}_all_cores", build_ssl_odes, solver, all_devices)
    add("ssl_odes_tsit5_lockstep", build_lockstep)
    add("diffrax", build_plain_diffrax)
    add("torchode", build_torchode)
    add("numba_serial", build_numba, "serial", first_call=False)
    add("numba_lanes", build_numba, "lanes", first_call=False)
    sample = np.random.default_rng(1).choice(args.n, size=min(args.scipy_sample, args.n), replace=False)
    add("scipy", build_scipy, sample=sample, repeat=1)

    # RK4 step: halve until it is as accurate as the least accurate ssl_odes solver (or 1e-7, if looser)
    target = max(max(methods[name]["max_rel_err_vs_reference"] for name in ("ssl_odes", "ssl_odes_dopri8") if name in finals), 1e-7)
    dt, rk4_error = 0.4, np.inf
    while dt > 1e-3:
        with np.errstate(all="ignore"):  # too large a step overflows: that dt is rejected below
            rk4_final = run_numpy_rk4(params, dt)
        rk4_error = errors(rk4_final)["max_rel_err_vs_reference"] if np.all(np.isfinite(rk4_final)) else np.inf
        if rk4_error <= target:
            break
        dt /= 2
    row, rk4_final = measure(lambda p: run_numpy_rk4(p, dt), params, 1, first_call=False, min_total_s=0.0)
    row.update(errors(rk4_final), dt=dt, import_s=0.0, note="the step search's calls warmed it up")
    methods["numpy_rk4"], finals["numpy_rk4"] = row, rk4_final

    head = methods["ssl_odes"]
    for row in methods.values():
        if "us_per_trajectory" in row:
            row["time_ratio_to_ssl_odes"] = row["us_per_trajectory"] / head["us_per_trajectory"]

    lanes = methods.get("numba_lanes", {})
    steps, steps_from = (lanes["mean_steps"], "numba_lanes (Dopri5)") if "mean_steps" in lanes else (head["mean_steps"], "ssl_odes (Tsit5)")
    limit = physical_limit(steps, steps_from)
    if limit["us_per_trajectory"]:
        limit["time_ratio_to_ssl_odes"] = limit["us_per_trajectory"] / head["us_per_trajectory"]

    # The older keys of this line (issue 5), kept so the history in m1.jsonl stays comparable.
    scipy = methods.get("scipy", {})
    worst = np.unique(np.concatenate([np.argsort(np.max(np.abs(finals[s] - reference) / scale, axis=0))[-min(5, args.n):]
                                      for s in ("ssl_odes", "ssl_odes_dopri8") if s in finals]))
    scipy_worst, _ = run_scipy(params, worst) if "us_per_trajectory" in scipy else (None, None)

    def rel(a, b, columns=slice(None)):
        return float(np.max(np.abs(a - b) / scale[:, columns]))

    solvers = {}
    for solver in SOLVERS:
        name = "ssl_odes" if solver == DEFAULT_SOLVER else f"ssl_odes_{solver}"
        if name not in finals:
            continue
        one, sharded, final = methods[name], methods[f"{name}_all_cores"], finals[name]
        sharded_ok = f"{name}_all_cores" in finals
        entry = {"single_device_s": one["median_s"], "sharded_s": sharded.get("median_s"), "first_call_s": one["first_call_s"],
                 "max_steps": one["max_steps"], "mean_steps": one["mean_steps"],
                 "max_rel_diff_sharded_vs_single": rel(finals[f"{name}_all_cores"], final) if sharded_ok else None,
                 "max_rel_diff_vs_reference": one["max_rel_err_vs_reference"],
                 "ratio_vs_numpy_rk4": methods["numpy_rk4"]["median_s"] / one["median_s"],
                 "max_rel_diff_vs_numpy_rk4": rel(final, finals["numpy_rk4"])}
        if scipy_worst is not None:
            entry.update(ratio_vs_scipy=scipy["us_per_trajectory"] * args.n / 1e6 / one["median_s"],
                         ratio_vs_scipy_all_cores=scipy["us_per_trajectory"] * args.n / 1e6 / sharded["median_s"] if sharded_ok else None,
                         max_rel_diff_vs_scipy=rel(final[:, sample], finals["scipy"], sample),
                         max_rel_diff_vs_scipy_on_worst=rel(final[:, worst], scipy_worst, worst))
        solvers[solver] = entry

    record = {
        "system": "002 Eqs 11-13 (p, s, tau)", "dtype": "float64", "n_trajectories": args.n, "t1": T1,
        "rtol": RTOL, "atol": ATOL, "cpu_devices": all_devices, "schedule": "refill", "solver": DEFAULT_SOLVER,
        "reference": "ssl_odes dopri8 at rtol 1e-12, atol 1e-14",
        "timing": "median of warm repeats; imports and first calls excluded (import_s, first_call_s)",
        "load_average": {"before": load_before, "after": load_average()},
        "import_jax_ssl_odes_s": IMPORT_JAX_SSL_ODES_S, "ssl_odes_source": ssl_odes_source(),
        "methods": methods, "physical_limit": limit,
        # older keys
        "ssl_odes_s": head["median_s"], "ssl_odes_sharded_s": methods["ssl_odes_all_cores"].get("median_s"),
        "ssl_odes_first_call_s": head["first_call_s"], "ssl_odes_tsit5_lockstep_s": methods["ssl_odes_tsit5_lockstep"].get("median_s"),
        "max_rel_diff_tsit5_lockstep_vs_refill": (rel(finals["ssl_odes_tsit5_lockstep"], finals["ssl_odes"])
                                                  if "ssl_odes_tsit5_lockstep" in finals else None),
        "solvers": solvers, "numpy_rk4_s": methods["numpy_rk4"]["median_s"], "numpy_rk4_dt": dt,
        "max_rel_diff_numpy_rk4_vs_reference": rk4_error,
    }
    if scipy_worst is not None:
        record.update(scipy_sample=len(sample), scipy_per_trajectory_s=scipy["us_per_trajectory"] / 1e6,
                      scipy_loop_estimated_s=scipy["us_per_trajectory"] * args.n / 1e6,
                      scipy_max_rel_diff_vs_reference_on_worst=rel(scipy_worst, reference[:, worst], worst))
    path = write_result("m1", record, args.results_dir)

    print(f"\n{'method':26s} {'us/traj':>10s} {'x ssl_odes':>10s} {'max abs err':>12s} {'first call s':>12s} {'import s':>9s}")
    for name, row in methods.items():
        if "skipped" in row or "failed" in row:
            print(f"{name:26s} {'skipped' if 'skipped' in row else 'failed'}: {row.get('skipped', row.get('failed'))[:200]}")
            continue
        print(f"{name:26s} {row['us_per_trajectory']:10.2f} {row['time_ratio_to_ssl_odes']:10.2f} "
              f"{row['max_abs_err_vs_reference']:12.2e} {row.get('first_call_s', row.get('compile_s', float('nan'))):12.2f} {row['import_s']:9.2f}")
    if limit["us_per_trajectory"]:
        print(f"{'physical limit':26s} {limit['us_per_trajectory']:10.2f} {limit['time_ratio_to_ssl_odes']:10.2f}"
              f"   ({limit['flops_per_trajectory'] / 1e3:.1f} kflop at {limit['peak_flops_one_core'] / 1e9:.1f} GFLOP/s)")
    print(f"load average before {load_before['1min']:.2f}, after {record['load_average']['after']['1min']:.2f}; wrote {path}")
    return record


# ------------------------------------------------------------------------------------------------
# Scaling: µs per trajectory against batch size
# ------------------------------------------------------------------------------------------------


def scaling(args) -> dict:
    load_before = load_average()
    sizes = sorted(args.sizes)
    params = random_parameters(max(sizes))
    rng = np.random.default_rng(3)
    caps = {"ssl_odes": None, "diffrax": args.cap_diffrax, "torchode": args.cap_torchode, "numba_serial": None,
            "numba_lanes": None, "scipy": args.scipy_sample}
    builders = {"ssl_odes": (build_ssl_odes, DEFAULT_SOLVER, 1), "diffrax": (build_plain_diffrax,),
                "torchode": (build_torchode,), "numba_serial": (build_numba, "serial"),
                "numba_lanes": (build_numba, "lanes"), "scipy": (build_scipy,)}
    rows, infos = [], {}
    for name, (builder, *builder_args) in builders.items():
        run, info = build(name, builder, *builder_args)
        infos[name] = info
        if run is None:
            continue
        compiled_shapes = set()
        for n in sizes:
            cap = caps[name]
            index = np.arange(n)
            if cap is not None and n > cap:
                index = np.sort(rng.choice(n, size=cap, replace=False))
            batch = subset(params, index)
            # JAX and torch.compile compile per input shape: that first call is timed apart
            first_call = name in ("ssl_odes", "diffrax", "torchode") and len(index) not in compiled_shapes
            compiled_shapes.add(len(index))
            if name == "scipy":
                run(subset(params, index[:1]))
            # one timed repeat when a call takes seconds; more for the small, noisy ones
            row, (_, steps) = measure(run, batch, repeat=1, first_call=first_call, min_total_s=1.0,
                                      max_repeat=1 if len(index) >= 100_000 else 15)
            row.update(method=name, batch_size=n)
            if len(index) < n:
                row["subsample"] = f"timed on a random subsample of {len(index)} of the {n} trajectories, per trajectory"
            if steps is not None:
                row["mean_steps"] = float(np.mean(steps))
            rows.append(row)
            print(f"{name:14s} n={n:>9,d} {row['us_per_trajectory']:10.2f} us/trajectory"
                  f"{'  (subsample ' + str(len(index)) + ')' if len(index) < n else ''}", flush=True)
    # mean steps for the physical limit: on the largest batch, of the Numba kernel (else of ssl_odes)
    counted = [r for r in rows if r["method"] in ("numba_lanes", "ssl_odes") and "mean_steps" in r]
    counted.sort(key=lambda r: (r["method"] == "numba_lanes", r["batch_size"]))
    steps, steps_from = ((counted[-1]["mean_steps"], f"{counted[-1]['method']}, batch {counted[-1]['batch_size']}")
                         if counted else (float("nan"), "no step counts"))
    record = {"system": "002 Eqs 11-13 (p, s, tau)", "dtype": "float64", "t1": T1, "rtol": RTOL, "atol": ATOL,
              "sizes": sizes, "caps": caps, "timing": "median of warm repeats (1 at >= 100,000); first calls excluded",
              "load_average": {"before": load_before, "after": load_average()}, "methods": infos,
              "ssl_odes_source": ssl_odes_source(),
              "physical_limit": physical_limit(steps, steps_from), "rows": rows}
    path = write_result("m1_scaling", record, args.results_dir)
    print(f"load average before {load_before['1min']:.2f}, after {record['load_average']['after']['1min']:.2f}; wrote {path}")
    try:
        import scaling_figure

        for figure in scaling_figure.main(results_dir=args.results_dir, figures_dir=args.figures_dir):
            print(f"drew {figure}")
    except Exception as error:  # noqa: BLE001 - the numbers are written; a plotting failure must not lose them
        print(f"figure not drawn: {type(error).__name__}: {error}")
    return record


def main(argv=None, results_dir=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--scipy-sample", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, default=results_dir)
    parser.add_argument("--figures-dir", type=Path, default=None, help="scaling: where the PNGs go (benchmarks/figures)")
    parser.add_argument("--skip", nargs="+", default=[], metavar="METHOD",
                        help="M1 rows not to run (e.g. the test suite's smoke run skips the peers): "
                             "ssl_odes_all_cores ssl_odes_dopri8 ssl_odes_dopri8_all_cores ssl_odes_tsit5_lockstep "
                             "diffrax torchode numba_serial numba_lanes")
    parser.add_argument("--scaling", action="store_true", help="time µs/trajectory against batch size instead")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SCALING_SIZES))
    parser.add_argument("--cap-diffrax", type=int, default=100_000, help="scaling: largest batch timed in full")
    parser.add_argument("--cap-torchode", type=int, default=100_000, help="scaling: largest batch timed in full")
    args = parser.parse_args(argv)
    return scaling(args) if args.scaling else m1(args)


if __name__ == "__main__":
    main()
