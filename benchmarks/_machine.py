"""Shared helpers of the benchmarks: machine description and the JSON-lines writer."""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    devices = jax.devices()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_backend": devices[0].platform,
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind,
    }


def write_result(name: str, record: dict, results_dir: Path | None = None) -> Path:
    """Append one JSON line to ``benchmarks/results/<name>.jsonl``."""
    directory = Path(results_dir) if results_dir is not None else RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), **record}
    path = directory / f"{name}.jsonl"
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    return path
