"""The scaling figure: what a user looks at before choosing (issue 16, item 4).

Left panel, M1: µs per trajectory against batch size (log-log), one line per method, from the latest
line of ``benchmarks/results/m1_scaling.jsonl`` (``python benchmarks/m1_modes_cpu.py --scaling``),
with the physical limit (arithmetic per trajectory over one core's measured peak) as a horizontal
line. Points timed on a subsample are drawn hollow.

Right panel, L1: time against n for ssl_odes and SciPy, from the latest record with
``"benchmark": "l1_scaling"`` in ``benchmarks/results/l1.jsonl`` or ``l1_scaling.jsonl``. Expected
shape (either): one line with ``"rows": [{"method": ..., "n": ..., "median_s": ...}, ...]`` (also
read: ``"table"`` for ``"rows"``, and ``seconds``/``time_s``/``wall_s``/``s`` for ``median_s``), or
one line per (method, n) with those keys, the latest run being the lines that share the newest
``date``. Without such a record the panel says how to make one.

Draws ``benchmarks/figures/scaling.png`` (both panels) and ``benchmarks/figures/scaling_m1.png``
(the M1 panel alone).

    python benchmarks/scaling_figure.py [--results-dir benchmarks/results] [--figures-dir benchmarks/figures]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS, FIGURES = HERE / "results", HERE / "figures"

#: Method -> (label, colour, marker); methods not listed get matplotlib's defaults.
STYLE = {
    "ssl_odes": ("ssl_odes (public API, 1 device)", "C0", "o"),
    "diffrax": ("plain jit(vmap(diffeqsolve)), Tsit5", "C1", "s"),
    "torchode": ("torchode, Dopri5", "C2", "^"),
    "numba_serial": ("Numba Dopri5, serial", "C3", "v"),
    "numba_lanes": ("Numba Dopri5, 16 SIMD lanes", "C4", "D"),
    "scipy": ("SciPy solve_ivp loop", "C7", "x"),
}
TIME_KEYS = ("median_s", "seconds", "time_s", "wall_s", "s")


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def latest(records: list[dict], benchmark: str) -> list[dict]:
    """The newest run's records of one benchmark (one line, or the lines sharing the newest date)."""
    mine = [r for r in records if r.get("benchmark") == benchmark]
    if not mine:
        return []
    newest = max(r.get("date", "") for r in mine)
    return [r for r in mine if r.get("date", "") == newest]


def plot_m1(ax, record: dict) -> None:
    """M1 panel: µs/trajectory against batch size, one line per method, and the physical limit."""
    methods = []
    for row in record["rows"]:
        if row["method"] not in methods:
            methods.append(row["method"])
    for method in methods:
        rows = sorted((r for r in record["rows"] if r["method"] == method), key=lambda r: r["batch_size"])
        label, colour, marker = STYLE.get(method, (method, None, "o"))
        x = [r["batch_size"] for r in rows]
        y = [r["us_per_trajectory"] for r in rows]
        (line,) = ax.plot(x, y, marker=marker, color=colour, label=label)
        sub = [(a, b) for a, b, r in zip(x, y, rows) if "subsample" in r]
        if sub:
            ax.plot(*zip(*sub), linestyle="none", marker=marker, markersize=10, markerfacecolor="white",
                    color=line.get_color())
    limit = record.get("physical_limit", {})
    if limit.get("us_per_trajectory"):
        ax.axhline(limit["us_per_trajectory"], color="k", linestyle="--", linewidth=1,
                   label=f"physical limit: {limit['flops_per_trajectory'] / 1e3:.0f} kflop at "
                         f"{limit['peak_flops_one_core'] / 1e9:.0f} GFLOP/s (1 core)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (trajectories)")
    ax.set_ylabel("µs per trajectory (median, warm)")
    loads = [record.get("load_average", {}).get(when, {}).get("1min") for when in ("before", "after")]
    load = " -> ".join(f"{x:.1f}" for x in loads if x is not None) or "?"
    machine = record.get("machine", {})
    ax.set_title(f"M1: 002 Eqs 11-13 to t = {record.get('t1', 200):g}, rtol {record.get('rtol', 1e-6):g}, float64\n"
                 f"{machine.get('cpu', '')}, {machine.get('cpu_count', '?')} cores, load average {load}"
                 f", {record.get('date', '')[:10]}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    if any("subsample" in r for r in record["rows"]):
        ax.text(0.01, 0.01, "hollow: timed on a subsample", transform=ax.transAxes, fontsize=7, va="bottom")


#: Columns of the wide rows that ``l1_linear_cpu.py --scaling`` writes, by the label drawn.
WIDE_L1_COLUMNS = {"ssl_odes float64": "ssl_odes_f64_s", "ssl_odes float32": "ssl_odes_f32_s",
                   "SciPy RK45 + NumPy (float64)": "scipy_s"}


def l1_rows(records: list[dict]) -> list[dict]:
    rows = []
    for record in records:
        table = record.get("rows") or record.get("table")
        rows.extend(table if isinstance(table, list) else [record])
    out = []
    for row in rows:
        # The wide rows of l1_linear_cpu.py --scaling: one row per n with a time per method.
        for method, key in WIDE_L1_COLUMNS.items():
            if key in row and "n" in row:
                out.append({"method": method, "n": row["n"], "s": row[key]})
        key = next((k for k in TIME_KEYS if k in row), None)
        if key is not None and "n" in row and "method" in row:
            out.append({"method": row["method"], "n": row["n"], "s": row[key]})
    return out


def plot_l1(ax, records: list[dict]) -> bool:
    """L1 panel: time against n, one line per method. False (and a note) when there is no data."""
    rows = l1_rows(records)
    if not rows:
        ax.axis("off")
        ax.text(0.5, 0.5, "L1 panel: run benchmarks/l1_linear_cpu.py --scaling", ha="center", va="center",
                transform=ax.transAxes, fontsize=10)
        return False
    for method in sorted({r["method"] for r in rows}):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
        ax.plot([r["n"] for r in mine], [r["s"] for r in mine], marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (matrix size)")
    ax.set_ylabel("seconds per solve (warm)")
    ax.set_title("L1: linear BYOL matrix flow (002 Eqs 2-4)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return True


def main(results_dir: Path | None = None, figures_dir: Path | None = None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results_dir = Path(results_dir) if results_dir is not None else RESULTS
    figures_dir = Path(figures_dir) if figures_dir is not None else FIGURES
    m1 = latest(read_lines(results_dir / "m1_scaling.jsonl"), "m1_scaling")
    if not m1:
        raise FileNotFoundError(f"no m1_scaling record in {results_dir}: run benchmarks/m1_modes_cpu.py --scaling")
    l1 = latest(read_lines(results_dir / "l1.jsonl") + read_lines(results_dir / "l1_scaling.jsonl"), "l1_scaling")
    figures_dir.mkdir(parents=True, exist_ok=True)
    drawn = []

    fig, ax = plt.subplots(figsize=(6.5, 6))
    plot_m1(ax, m1[-1])
    fig.tight_layout()
    drawn.append(figures_dir / "scaling_m1.png")
    fig.savefig(drawn[-1], dpi=120)
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6))
    plot_m1(left, m1[-1])
    plot_l1(right, l1)
    fig.tight_layout()
    drawn.append(figures_dir / "scaling.png")
    fig.savefig(drawn[-1], dpi=120)
    plt.close(fig)
    return drawn


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--figures-dir", type=Path, default=None)
    options = parser.parse_args()
    for path in main(options.results_dir, options.figures_dir):
        print(f"drew {path}")
