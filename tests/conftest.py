"""Test configuration: every test runs in float64 (SPEC: verification runs in float64)."""

import gc
import os

# The suite is compile-bound: on a 2-core machine most of its time is spent tracing and compiling
# XLA programs, not running them. LLVM's optimisation level 0 compiles XLA:CPU programs faster
# (measured: test_byol_modes.py 130 s -> 107 s) and computes the same values up to rounding, which
# every test's tolerance covers. It is set for the test processes only (and their subprocesses:
# notebooks, README blocks), before JAX starts its backend; a user's runs keep XLA's default.
# Set SSL_ODES_TEST_XLA_DEFAULT=1 to test at the default level.
if not os.environ.get("SSL_ODES_TEST_XLA_DEFAULT"):
    os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]))

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


def _group(item) -> str | None:
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")})
    if names:
        return "_".join(names)
    return None if item.path.name in UNGROUPED else item.path.stem


def _set_nodeid(item, nodeid: str) -> None:
    if isinstance(getattr(item, "_id", None), str) or not hasattr(item, "_id"):
        item._nodeid = nodeid  # pytest < 9.2
        return
    from _pytest.nodeid import NodeId  # pytest >= 9.2: a structured id, whose text is cached as given

    item._id = NodeId.parse(nodeid)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_dispatch_rank)  # stable: a module's tests keep their order
    # ``--dist loadgroup`` schedules by an ``@group`` suffix of the node id, which pytest-xdist
    # (3.8) adds on the workers by assigning ``item._nodeid``. pytest 9.2 reads node ids from a
    # structured ``item._id`` instead, so that assignment is lost and every test was scheduled on
    # its own: found in session 3, when a module's tests, and the contract test's per-system
    # groups, ran on both workers. The suffix is set here for either pytest.
    if getattr(config, "workerinput", None) is not None and config.getvalue("loadgroup"):
        for item in items:
            group = _group(item)
            if group is not None and "@" not in item.nodeid:
                _set_nodeid(item, f"{item.nodeid}@{group}")
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a GPU (none visible to JAX)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
