"""Module-level simulators for the sweep tests (importable by a subprocess, stable fingerprints)."""

import time

from ssl_odes import simulate_byol_modes


def slow_simulate_byol_modes(**kwargs):
    """simulate_byol_modes plus a pause, so that a test can kill a sweep between two chunks."""
    time.sleep(0.4)
    return simulate_byol_modes(**kwargs)
