"""Module-level simulators for the sweep tests (importable by a subprocess, stable fingerprints)."""

import time

from ssl_odes import simulate_byol_modes


def slow_simulate_byol_modes(**kwargs):
    """simulate_byol_modes plus a pause, so that a test can kill a sweep between two chunks."""
    time.sleep(0.4)
    return simulate_byol_modes(**kwargs)


#: p0 values of every call of :func:`logged_simulate_byol_modes` in this process.
CALLS: list = []


def logged_simulate_byol_modes(**kwargs):
    """simulate_byol_modes that records the chunks it computes: in :data:`CALLS`, and as one line
    ``<pid> <p0 values>`` appended to the file named by $SSL_ODES_SWEEP_LOG (for subprocesses)."""
    import os

    import numpy as np

    p0 = np.atleast_1d(np.asarray(kwargs["p0"], dtype=float))
    CALLS.append(p0.copy())
    log = os.environ.get("SSL_ODES_SWEEP_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()} {' '.join(repr(float(v)) for v in p0)}\n")
    time.sleep(0.05)  # long enough for two processes to overlap
    return simulate_byol_modes(**kwargs)


# sweep() reads the declaration a simulate_* function carries
slow_simulate_byol_modes.system = simulate_byol_modes.system
logged_simulate_byol_modes.system = simulate_byol_modes.system
