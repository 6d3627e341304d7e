"""Checkpoints that cannot be read wrong, and sweeps that share a checkpoint directory.

A resumed sweep uses a stored chunk only if its bytes match the checksum in the manifest and its
index, trajectories, grid coordinates and fingerprint are those of the sweep; any other chunk is
recomputed with a warning naming the file. Every test compares the resumed result with an
uninterrupted run bit for bit (the same chunks run through the same compiled program), and counts
the chunks that were computed again.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import ssl_odes
import sweep_helpers
from ssl_odes._checkpoint import CheckpointBusyError, CheckpointWarning
from sweep_helpers import logged_simulate_byol_modes

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
P0 = np.linspace(0.05, 1.0, 8)
GRID = {"p0": P0}
KWARGS = dict(s0=0.3, simsiam=True, t1=5.0, num_points=3, chunk_size=2, progress=False)  # 4 chunks
NAMES = ("p", "s", "tau", "status", "num_steps")


def run(checkpoint, **extra):
    return ssl_odes.sweep(logged_simulate_byol_modes, GRID, checkpoint=checkpoint, **KWARGS, **extra)


@pytest.fixture(scope="module")
def reference():
    return ssl_odes.sweep(ssl_odes.simulate_byol_modes, GRID, **KWARGS)


@pytest.fixture
def finished(tmp_path):
    """A checkpoint directory of the finished 4-chunk sweep."""
    directory = tmp_path / "ckpt"
    run(directory)
    return directory


def resume_and_count(directory, reference, match=None):
    """Resume; check the result equals the reference exactly; return the chunks recomputed (by index)."""
    sweep_helpers.CALLS.clear()
    if match is None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error", CheckpointWarning)
            resumed = run(directory)
    else:
        with pytest.warns(CheckpointWarning, match=match):
            resumed = run(directory)
    for name in NAMES:
        np.testing.assert_array_equal(resumed[name].values, reference[name].values, err_msg=name)
    stored = xr.open_dataset(directory / "result.nc", engine="netcdf4").load()
    np.testing.assert_array_equal(stored["p"].values, reference["p"].values)
    return sorted(int(np.flatnonzero(P0 == call[0])[0]) // 2 for call in sweep_helpers.CALLS)


def chunk(directory, k):
    return directory / f"chunk_{k:06d}.nc"


def test_intact_checkpoint_resumes_without_computing_anything(finished, reference):
    assert resume_and_count(finished, reference) == []
    manifest = json.loads((finished / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1", "2", "3"]
    attrs = xr.open_dataset(chunk(finished, 2), engine="netcdf4").attrs
    assert (attrs["chunk_index"], attrs["trajectory_start"], attrs["trajectory_stop"]) == (2, 4, 6)
    assert attrs["sweep_fingerprint"] == manifest["fingerprint"]


def test_truncated_chunk_is_recomputed_with_a_warning_naming_it(finished, reference):
    data = chunk(finished, 1).read_bytes()
    chunk(finished, 1).write_bytes(data[: len(data) // 2])
    assert resume_and_count(finished, reference, match=r"chunk_000001\.nc does not match its checksum") == [1]


def test_garbage_chunk_is_recomputed(finished, reference):
    chunk(finished, 3).write_bytes(os.urandom(3000))
    assert resume_and_count(finished, reference, match=r"chunk_000003\.nc does not match its checksum") == [3]


def test_empty_chunk_is_recomputed(finished, reference):
    chunk(finished, 0).write_bytes(b"")
    assert resume_and_count(finished, reference, match=r"chunk_000000\.nc") == [0]


def test_swapped_chunks_are_both_recomputed(finished, reference):
    tmp = finished / "swap"
    os.replace(chunk(finished, 0), tmp)
    os.replace(chunk(finished, 2), chunk(finished, 0))
    os.replace(tmp, chunk(finished, 2))
    assert resume_and_count(finished, reference, match=r"chunk_00000[02]\.nc") == [0, 2]


def test_swapped_chunks_with_swapped_checksums_fail_the_identity_check(finished, reference):
    """Even when the manifest's checksums are swapped too, each file carries its own index,
    trajectories and grid coordinates: both are refused."""
    manifest = json.loads((finished / "manifest.json").read_text())
    manifest["chunks"]["0"], manifest["chunks"]["2"] = manifest["chunks"]["2"], manifest["chunks"]["0"]
    (finished / "manifest.json").write_text(json.dumps(manifest))
    tmp = finished / "swap"
    os.replace(chunk(finished, 0), tmp)
    os.replace(chunk(finished, 2), chunk(finished, 0))
    os.replace(tmp, chunk(finished, 2))
    match = r"chunk_00000[02]\.nc does not hold chunk [02] of this sweep \(wrong chunk_index, .*grid_p0\)"
    assert resume_and_count(finished, reference, match=match) == [0, 2]


def test_edited_chunk_is_recomputed(finished, reference):
    """A value changed inside a valid NetCDF file (as a user editing it with xarray would)."""
    with xr.open_dataset(chunk(finished, 2), engine="netcdf4") as stored:
        edited = stored.load()
    edited["p"].values[0] += 1e-3
    edited.to_netcdf(chunk(finished, 2), engine="netcdf4")
    assert resume_and_count(finished, reference, match=r"chunk_000002\.nc does not match its checksum") == [2]


def test_chunk_missing_from_the_manifest_is_recomputed(finished, reference):
    manifest = json.loads((finished / "manifest.json").read_text())
    del manifest["chunks"]["1"]
    (finished / "manifest.json").write_text(json.dumps(manifest))
    assert resume_and_count(finished, reference, match=r"chunk_000001\.nc has no checksum in manifest\.json") == [1]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2, 3]", b'{"grid": []}', b"\xff\xfe\x00garbage"])
def test_garbage_manifest_is_a_clear_error_saying_what_to_do(finished, reference, content):
    (finished / "manifest.json").write_bytes(content)
    with pytest.raises(ValueError, match=r"manifest .*manifest\.json' is corrupt .*resume=False to start over, "
                                         r"or delete the directory"):
        run(finished)
    sweep_helpers.CALLS.clear()
    fresh = run(finished, resume=False)
    assert len(sweep_helpers.CALLS) == 4
    np.testing.assert_array_equal(fresh["p"].values, reference["p"].values)


def test_checkpoint_path_that_is_a_file_is_a_clear_error(tmp_path):
    path = tmp_path / "results.nc"
    path.write_text("a file")
    with pytest.raises(NotADirectoryError, match=r"checkpoint='.*results\.nc' is a file, not a directory"):
        run(path)
    with pytest.raises(NotADirectoryError, match=r"a parent of it is a file"):
        run(path / "sub")
    assert path.read_text() == "a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_checkpoint_directory_that_cannot_be_written_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"cannot use the checkpoint directory .*choose a directory"):
            run(locked / "ckpt")
        with pytest.raises(PermissionError, match=r"cannot use the checkpoint directory"):
            run(locked)
    finally:
        locked.chmod(0o700)


def _hold_owner(directory: Path, token: str):
    """Pretend to be a live process using ``directory``: hold the flock on an owner file."""
    handle = open(directory / f".owner-{token}", "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def test_temporary_files_of_a_live_process_are_kept_and_stale_ones_removed(finished, reference):
    live = _hold_owner(finished, "otherhost.123.abcd")
    try:
        (finished / ".chunk_000001.nc.tmp-otherhost.123.abcd").write_bytes(b"half written by a live process")
        (finished / ".chunk_000002.nc.tmp-deadhost.456.ef01").write_bytes(b"left by a killed process")
        (finished / ".owner-deadhost.456.ef01").write_text("")  # its flock went with the process
        (finished / "chunk_000003.claim").write_text("deadhost.456.ef01")
        assert resume_and_count(finished, reference) == []
        assert (finished / ".chunk_000001.nc.tmp-otherhost.123.abcd").exists()
        assert not (finished / ".chunk_000002.nc.tmp-deadhost.456.ef01").exists()
        assert not (finished / ".owner-deadhost.456.ef01").exists()
        assert not (finished / "chunk_000003.claim").exists()
    finally:
        live.close()


def test_starting_over_refuses_while_another_process_uses_the_directory(finished):
    live = _hold_owner(finished, "otherhost.123.abcd")
    try:
        with pytest.raises(CheckpointBusyError, match=r"in use by another live process \(otherhost\.123\.abcd\)"):
            run(finished, resume=False)
        assert len(list(finished.glob("chunk_*.nc"))) == 4, "nothing was deleted"
    finally:
        live.close()
    run(finished, resume=False)  # the holder is gone: allowed


def test_chunk_claimed_by_a_live_process_is_waited_for(finished, reference, monkeypatch):
    """A claim by a live process makes the sweep wait for that chunk rather than compute it; once
    the chunk appears (here: restored by the 'other process') it is read, not recomputed."""
    saved = chunk(finished, 1).read_bytes()
    chunk(finished, 1).unlink()
    live = _hold_owner(finished, "otherhost.123.abcd")
    (finished / "chunk_000001.claim").write_text("otherhost.123.abcd")
    waits = []

    def other_process_finishes(self):
        waits.append(1)
        chunk(finished, 1).write_bytes(saved)
        (finished / "chunk_000001.claim").unlink()

    monkeypatch.setattr("ssl_odes._checkpoint.Checkpoint.wait", other_process_finishes)
    try:
        assert resume_and_count(finished, reference) == []
    finally:
        live.close()
    assert waits == [1]


# ------------------------------------------------------------------------------------------------
# Two real processes on one directory
# ------------------------------------------------------------------------------------------------

CONCURRENT_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path[:0] = [{src!r}, {tests!r}]
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np, ssl_odes
    from sweep_helpers import logged_simulate_byol_modes
    grid = {{"p0": np.linspace(0.05, 1.0, 16)}}
    kw = dict(s0=0.3, simsiam=True, t1=5.0, num_points=3)
    ssl_odes.simulate_byol_modes(p0=np.zeros(2), **kw)  # compile first: both sweeps then overlap
    for trial in {trials!r}:
        barrier = os.path.join({root!r}, f"ready-{{trial}}")
        os.makedirs(barrier, exist_ok=True)
        open(os.path.join(barrier, str(os.getpid())), "w").close()
        while len(os.listdir(barrier)) < 2:
            time.sleep(0.005)
        ds = ssl_odes.sweep(logged_simulate_byol_modes, grid, chunk_size=2, progress=False,
                            checkpoint=os.path.join({root!r}, trial), **kw)
        print(trial, repr(float(ds["p"].sum())), int((ds["status"] == 0).sum()), flush=True)
""")


def test_two_processes_on_one_checkpoint_compute_each_chunk_once(tmp_path):
    """Two processes start the same 8-chunk sweep on one directory at the same instant (a file
    barrier, after compiling), four times over on four directories. In each trial,
    every chunk is computed by exactly one of the two processes, both return the full result
    (equal to a single-process run), and nothing is warned about or crashes."""
    reference = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {"p0": np.linspace(0.05, 1.0, 16)}, s0=0.3,
                               simsiam=True, t1=5.0, num_points=3, chunk_size=2, progress=False)
    expected = f"{float(reference['p'].sum())!r} 16"
    cooperative = 0
    for pair in range(1):
        root = tmp_path / f"pair{pair}"
        root.mkdir()
        trials = [f"trial{pair}-{i}" for i in range(4)]
        script = root / "run.py"
        script.write_text(CONCURRENT_SCRIPT.format(src=str(SRC), tests=str(TESTS), root=str(root), trials=trials))
        log = root / "computed.log"
        env = {**os.environ, "SSL_ODES_SWEEP_LOG": str(log)}
        procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        for proc, (out, err) in zip(procs, outputs):
            assert proc.returncode == 0, out + err
            assert "Warning" not in err and "Traceback" not in err, err
            assert [line.split(" ", 1)[1] for line in out.splitlines()] == [expected] * len(trials), out
        # the log interleaves both processes' trials in order: split it at each trial's 16 values
        lines = [line.split() for line in log.read_text().splitlines()]
        assert sum(len(line) - 1 for line in lines) == 16 * len(trials), "a chunk was computed twice"
        for i in range(len(trials)):
            trial_lines = lines[8 * i: 8 * (i + 1)]
            values = sorted(float(v) for line in trial_lines for v in line[1:])
            np.testing.assert_array_equal(values, np.linspace(0.05, 1.0, 16))
            cooperative += len({line[0] for line in trial_lines}) == 2
        for trial in trials:
            assert not list((root / trial).glob("*.claim")) and not list((root / trial).glob(".*tmp*"))
            assert not list((root / trial).glob(".owner-*"))
    assert cooperative >= 1, "the two processes never shared a sweep"


# ------------------------------------------------------------------------------------------------
# The command line: one-line errors
# ------------------------------------------------------------------------------------------------


def test_cli_sweep_reports_unwritable_paths_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from ssl_odes.cli import app

    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory")
    base = ["sweep", "--param", "p0=0.1,0.5", "--set", "s0=0.2", "--set", "t1=2", "--set", "simsiam=true",
            "--no-progress", "--float64"]
    cases = {
        "checkpoint is a file": (["--checkpoint", str(a_file), "--out", str(tmp_path / "a.nc")],
                                 "is a file, not a directory"),
        "out under a file": (["--out", str(a_file / "sweep.nc")], "cannot create its folder"),
        "out is a directory": (["--out", str(tmp_path)], "is a directory; give a file name"),
    }
    for label, (extra, message) in cases.items():
        result = CliRunner().invoke(app, base + extra)
        assert result.exit_code == 2, (label, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (label, result.output)
    assert a_file.read_text() == "not a directory"
