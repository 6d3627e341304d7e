"""Checkpoints of a sweep: a manifest, verified chunks, and a lock for processes that share them.

A checkpoint directory holds

* ``manifest.json`` -- the sweep's description, its ``fingerprint`` (a SHA-256 of that
  description) and, under ``"chunks"``, the SHA-256 of every finished chunk file with the
  trajectories it covers;
* ``chunk_<k>.nc`` -- chunk ``k`` (NetCDF through xarray). Its attributes carry its index, the
  trajectories ``[start, stop)`` it covers and the sweep's fingerprint; its ``grid_<name>``
  coordinates carry the grid values of those trajectories;
* ``result.nc`` -- the assembled result, once the sweep has finished;
* bookkeeping: ``.lock`` (a short ``fcntl.flock`` mutex), ``.owner-<token>`` (one per live process,
  held under ``flock`` for the whole sweep), ``chunk_<k>.claim`` (chunk ``k`` is being computed by
  the owner named inside), ``.<name>.tmp-<token>`` (a file being written).

**Nothing is read wrong.** A chunk is used only if its bytes match the checksum in the manifest
and its index, trajectory range, grid coordinates and fingerprint match what the sweep expects.
A chunk that fails any check (truncated, garbage, swapped with another, edited, missing from the
manifest) is ignored with a :class:`CheckpointWarning` naming the file, and recomputed. A
manifest that cannot be parsed is a :class:`ValueError` that says how to recover.

**Processes cooperate.** Every step that reads or changes shared state (the manifest, claims,
cleaning up) runs under the directory's lock. A process computes a chunk only after claiming it;
a chunk claimed by another live process is waited for and then read. So two processes started on
one directory split the chunks between them, each chunk is computed once, and both return the
whole result. A process is *live* while it holds the ``flock`` on its owner file; the kernel
releases it when the process dies (even by ``SIGKILL``), so the claims and temporary files of a
dead process are recognised as stale and removed, and those of a live process never are.
``resume=False`` (start over) refuses while another live process uses the directory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import socket
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["Checkpoint", "CheckpointWarning", "CheckpointBusyError", "MANIFEST", "RESULT", "fingerprint"]

MANIFEST = "manifest.json"
RESULT = "result.nc"
LOCK = ".lock"
#: Seconds between two looks at a chunk that another process is computing.
POLL_SECONDS = 0.05

#: ``k -> (start, stop, {grid parameter: values of trajectories start..stop-1})``
Layout = Callable[[int], "tuple[int, int, dict[str, np.ndarray]]"]


class CheckpointWarning(UserWarning):
    """A checkpoint file failed verification and is ignored (its chunk is recomputed)."""


class CheckpointBusyError(RuntimeError):
    """The checkpoint directory is in use by another live process and cannot be started over."""


def fingerprint(spec: dict[str, Any]) -> str:
    """SHA-256 of a sweep's description (every key but ``fingerprint`` and ``chunks``)."""
    described = {k: v for k, v in spec.items() if k not in ("fingerprint", "chunks")}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _os_error(directory: Path, err: OSError) -> OSError:
    """An OSError of the same kind whose message says which checkpoint and what to do."""
    if directory.exists() and not directory.is_dir():
        return NotADirectoryError(
            f"checkpoint={str(directory)!r} is a file, not a directory; give a directory path (created if missing)")
    if isinstance(err, (FileExistsError, NotADirectoryError)):
        return NotADirectoryError(f"checkpoint={str(directory)!r} cannot be a directory: a parent of it is a file; "
                                  "give a directory path (created if missing)")
    reason = err.strerror or str(err)
    return type(err)(f"cannot use the checkpoint directory {str(directory)!r}: {reason} ({err.filename or directory}); "
                     "choose a directory this process can create and write")


class Checkpoint:
    """One process's handle on a checkpoint directory (see the module docstring).

    Use as ``with Checkpoint(...) as store:``; then :meth:`finished` (the chunks verified so
    far), :meth:`acquire` (claim a chunk or learn it is done or busy), :meth:`write` and
    :meth:`write_result`. Leaving the block releases this process's claims and owner file.
    """

    def __init__(self, directory: str | os.PathLike, spec: dict[str, Any], layout: Layout, *, resume: bool):
        self.directory = Path(directory)
        self.spec = dict(spec)
        self.layout = layout
        self.resume = resume
        host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
        self.token = f"{host}.{os.getpid()}.{secrets.token_hex(4)}"
        self._owner_fd: int | None = None

    # ---------------------------------------------------------------- paths
    def chunk_path(self, k: int) -> Path:
        return self.directory / f"chunk_{k:06d}.nc"

    def _claim_path(self, k: int) -> Path:
        return self.directory / f"chunk_{k:06d}.claim"

    def _owner_path(self, token: str) -> Path:
        return self.directory / f".owner-{token}"

    def _tmp_path(self, path: Path) -> Path:
        return path.with_name(f".{path.name}.tmp-{self.token}")

    # ---------------------------------------------------------------- locking
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _alive(self, token: str) -> bool:
        """Whether the process that owns ``token`` still holds its owner lock."""
        if token == self.token:
            return True
        try:
            fd = os.open(self._owner_path(token), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            raise
        finally:
            os.close(fd)
        return False

    def _live_owners(self) -> list[str]:
        tokens = [p.name[len(".owner-"):] for p in self.directory.glob(".owner-*")]
        return [t for t in tokens if t != self.token and self._alive(t)]

    def _remove_stale(self) -> None:
        """Delete the owner files, claims and temporary files of processes that are no longer alive."""
        dead = {p.name[len(".owner-"):] for p in self.directory.glob(".owner-*")}
        dead = {t for t in dead if not self._alive(t)}
        for path in self.directory.glob(".*.tmp-*"):
            token = path.name.rsplit(".tmp-", 1)[1]
            if token in dead or not self._owner_path(token).exists():
                path.unlink(missing_ok=True)
        for path in self.directory.glob("chunk_*.claim"):
            owner = path.read_text().strip()
            if owner in dead or not self._alive(owner):
                path.unlink(missing_ok=True)
        for token in dead:
            self._owner_path(token).unlink(missing_ok=True)

    # ---------------------------------------------------------------- manifest
    def _read_manifest(self) -> dict[str, Any]:
        path = self.directory / MANIFEST
        try:
            stored = json.loads(path.read_text())
            if not isinstance(stored, dict) or not isinstance(stored.get("fingerprint"), str):
                raise ValueError("it is not a sweep manifest (no fingerprint)")
            if not isinstance(stored.setdefault("chunks", {}), dict):
                raise ValueError("its 'chunks' entry is not a mapping")
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(
                f"the checkpoint manifest {str(path)!r} is corrupt ({err}); its chunks cannot be verified. "
                f"Run again with resume=False to start over, or delete the directory {str(self.directory)!r}"
            ) from None
        return stored

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        path = self.directory / MANIFEST
        tmp = self._tmp_path(path)
        tmp.write_bytes(json.dumps(manifest, indent=1, sort_keys=True).encode())
        _fsync_replace(tmp, path)

    # ---------------------------------------------------------------- life cycle
    def __enter__(self) -> "Checkpoint":
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not self.directory.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(self.directory))
            with self._locked():
                self._owner_fd = os.open(self._owner_path(self.token), os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._owner_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._remove_stale()
                self._prepare()
        except OSError as err:
            self.__exit__(None, None, None)
            raise _os_error(self.directory, err) from err
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self._owner_fd is None:
            return False
        with contextlib.suppress(OSError), self._locked():
            for path in self.directory.glob("chunk_*.claim"):
                with contextlib.suppress(OSError):
                    if path.read_text().strip() == self.token:
                        path.unlink()
            for path in self.directory.glob(f".*.tmp-{self.token}"):
                path.unlink(missing_ok=True)
            self._owner_path(self.token).unlink(missing_ok=True)
        os.close(self._owner_fd)
        self._owner_fd = None
        return False

    def _prepare(self) -> None:
        """Check the manifest against this sweep (resume), or start the directory over."""
        manifest = self.directory / MANIFEST
        if self.resume and manifest.exists():
            stored = self._read_manifest()
            if stored["fingerprint"] != self.spec["fingerprint"]:
                differing = sorted(k for k in self.spec if k != "fingerprint" and stored.get(k) != self.spec[k])
                raise ValueError(
                    f"checkpoint {self.directory} belongs to a different sweep (differs in {differing}); "
                    "use another directory or resume=False to start over"
                )
            return
        others = self._live_owners()
        if others and manifest.exists():
            raise CheckpointBusyError(
                f"checkpoint {str(self.directory)!r} is in use by another live process ({', '.join(others)}); "
                "resume=False would delete its work: wait for it to finish, or use another directory")
        old = list(self.directory.glob("chunk_*.nc")) + [self.directory / RESULT]
        if not manifest.exists() and any(p.exists() for p in old):
            warnings.warn(f"checkpoint {self.directory} has chunk files but no {MANIFEST}: they cannot be verified "
                          "and are deleted", CheckpointWarning, stacklevel=4)
        for path in old + list(self.directory.glob("chunk_*.claim")):
            path.unlink(missing_ok=True)
        self._write_manifest({**self.spec, "chunks": {}})

    # ---------------------------------------------------------------- chunks
    def _verify(self, k: int, manifest: dict[str, Any]):
        """The chunk's dataset if it passes every check, else ``None`` after a warning naming the file."""
        import xarray as xr

        path = self.chunk_path(k)
        start, stop, parameters = self.layout(k)
        entry = manifest["chunks"].get(str(k))
        problem = None
        if not isinstance(entry, dict) or "sha256" not in entry:
            problem = f"has no checksum in {MANIFEST}"
        elif _sha256(path) != entry["sha256"]:
            problem = f"does not match its checksum in {MANIFEST} (truncated, edited or replaced)"
        else:
            try:
                with xr.open_dataset(path, engine="netcdf4") as stored:
                    dataset = stored.load()
            except Exception as err:  # noqa: BLE001 - any unreadable file is recomputed
                dataset, problem = None, f"cannot be read ({type(err).__name__}: {err})"
        if problem is None:
            attrs = dataset.attrs
            expected = {"chunk_index": k, "trajectory_start": start, "trajectory_stop": stop,
                        "sweep_fingerprint": self.spec["fingerprint"]}
            wrong = sorted(name for name, value in expected.items() if _scalar(attrs.get(name)) != value)
            if "trajectory" not in dataset.coords or not np.array_equal(dataset["trajectory"].values,
                                                                        np.arange(start, stop)):
                wrong.append("trajectory")
            for name, values in parameters.items():
                coord = f"grid_{name}"
                if coord not in dataset.coords or not np.array_equal(dataset[coord].values, values):
                    wrong.append(coord)
            if wrong:
                problem = f"does not hold chunk {k} of this sweep (wrong {', '.join(wrong)})"
        if problem is not None:
            warnings.warn(f"checkpoint chunk {path} {problem}; it is ignored and recomputed", CheckpointWarning,
                          stacklevel=3)
            path.unlink(missing_ok=True)
            return None
        return self._plain(dataset, parameters)

    @staticmethod
    def _plain(dataset: Any, parameters: dict[str, np.ndarray]) -> Any:
        """The chunk as the sweep computed it: without the identity written for verification."""
        plain = dataset.drop_vars([f"grid_{name}" for name in parameters])
        plain.attrs = {}
        return plain

    def load(self, k: int) -> Any:
        """Read chunk ``k`` that another process has just verified (jax.distributed: process 0)."""
        import xarray as xr

        with xr.open_dataset(self.chunk_path(k), engine="netcdf4") as stored:
            return self._plain(stored.load(), self.layout(k)[2])

    def finished(self, n_chunks: int) -> dict[int, Any]:
        """Every chunk on disk that passes verification and is not being rewritten by a live process."""
        out: dict[int, Any] = {}
        with self._locked():
            manifest = self._read_manifest()
            for k in range(n_chunks):
                if self.chunk_path(k).exists() and not self._claimed_by_other(k):
                    dataset = self._verify(k, manifest)
                    if dataset is not None:
                        out[k] = dataset
        return out

    def _claimed_by_other(self, k: int) -> bool:
        claim = self._claim_path(k)
        try:
            owner = claim.read_text().strip()
        except FileNotFoundError:
            return False
        return owner != self.token and self._alive(owner)

    def acquire(self, k: int) -> tuple[str, Any]:
        """``("done", dataset)``: chunk ``k`` is finished and verified; ``("mine", None)``: this
        process has claimed it and must compute it; ``("busy", None)``: another live process is
        computing it."""
        with self._locked():
            if self._claimed_by_other(k):
                return "busy", None
            if self.chunk_path(k).exists():
                dataset = self._verify(k, self._read_manifest())
                if dataset is not None:
                    return "done", dataset
            self._claim_path(k).write_text(self.token)
            return "mine", None

    def write(self, k: int, dataset: Any) -> None:
        """Write chunk ``k`` atomically with its identity, record its checksum, release its claim."""
        start, stop, parameters = self.layout(k)
        tagged = dataset.assign_coords({f"grid_{n}": ("trajectory", np.asarray(v)) for n, v in parameters.items()})
        tagged = tagged.assign_attrs(chunk_index=k, trajectory_start=start, trajectory_stop=stop,
                                     sweep_fingerprint=self.spec["fingerprint"])
        path = self.chunk_path(k)
        tmp = self._tmp_path(path)
        tagged.to_netcdf(tmp, engine="netcdf4")
        digest = _sha256(tmp)
        with self._locked():
            manifest = self._read_manifest()
            manifest["chunks"][str(k)] = {"sha256": digest, "trajectories": [start, stop]}
            # the checksum is recorded before the chunk appears: a chunk on disk always has one
            self._write_manifest(manifest)
            _fsync_replace(tmp, path)
            self._claim_path(k).unlink(missing_ok=True)

    def write_result(self, dataset: Any) -> None:
        """Write the assembled result atomically (each cooperating process writes the same one)."""
        path = self.directory / RESULT
        tmp = self._tmp_path(path)
        dataset.to_netcdf(tmp, engine="netcdf4")
        _fsync_replace(tmp, path)

    def wait(self) -> None:
        """Pause before looking again at chunks other processes are computing."""
        time.sleep(POLL_SECONDS)


def _scalar(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    return value
