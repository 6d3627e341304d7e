"""Test configuration: every test runs in float64 (SPEC: verification runs in float64)."""

import gc
import os

import jax

jax.config.update("jax_enable_x64", True)

import hypothesis  # noqa: E402
import pytest  # noqa: E402

# Few, well-chosen examples: each example is a whole batch of trajectories.
hypothesis.settings.register_profile(
    "ssl_odes", max_examples=8, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.data_too_large],
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ssl_odes"))


# Every distinct compiled XLA:CPU program keeps a few memory mappings (its JIT code) for as long
# as JAX's caches hold it. The whole suite compiles thousands of programs; in one process the
# mappings passed Linux's default ``vm.max_map_count`` (65530) and XLA segfaulted inside a compile
# (CI, exit 139, during the doctests; two xdist workers held 27,600 and 29,200 mappings each at
# 70% of the suite). Dropping the compile caches once a process holds 50,000 (no single test adds
# anywhere near the remaining 15,000) frees them; dropping them earlier costs recompilations.
MAP_COUNT_LIMIT = 50_000


def _map_count() -> int | None:
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:  # not Linux: no such limit to watch
        return None


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    yield
    count = _map_count()
    if count is not None and count > MAP_COUNT_LIMIT:
        jax.clear_caches()
        gc.collect()


def has_gpu() -> bool:
    try:
        return any(d.platform == "gpu" for d in jax.devices())
    except RuntimeError:
        return False


# Under ``pytest -n`` (pyproject's addopts) each test module is one xdist group, so its tests share
# a worker: its module-scoped fixtures and the programs its tests compile are built once, not once
# per worker (run 2 of session 2 built test_byol_linear's 5-variant fixture on both workers, 146 s).
# The exceptions are files of independent, parametrised units that balance the two workers at the
# end of the run. Modules already marked with a group (the contract test: one group per system)
# keep theirs. Groups are dispatched in this file's order (``--no-loadscope-reorder``): the longest
# first, measured in worker-seconds on a 2-core machine, so that no long group starts last.
UNGROUPED = ("test_docstrings.py", "test_notebooks.py")
LONGEST_FIRST = ("test_readme.py", "test_sweep.py", "test_byol_linear.py", "test_byol_modes.py",
                 "test_contract.py", "test_schedules.py", "test_prediction_head_training.py",
                 "test_empirical_train.py", "test_simsiam_eigen.py", "test_contrastive_lme.py",
                 "test_integrate.py", "test_dual_hltm_experiment.py")


def _dispatch_rank(item) -> int:
    name = item.path.name
    if name in LONGEST_FIRST:
        return LONGEST_FIRST.index(name)
    return len(LONGEST_FIRST) + (1 if name in UNGROUPED else 0)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the group marks into node ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name not in UNGROUPED and not any(True for _ in item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=_dispatch_rank)  # stable: a module's tests keep their order
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a GPU (none visible to JAX)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
