"""Publishing a parameterized circuit on disk, as the command does (www/host/publish.mjs):
inputs are never modified (every output file is a new file: a copy-on-write clone or a copy;
identities and SHA-256s checked after the run), the output is assembled in ``DIR.partial-<pid>``
beside DIR, claimed by ``DIR.synparam-lock``, verified (every written dataset read back and its
content digest compared with the core's), and renamed into place only then."""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import h5py
import numpy as np

from .sonata import CircuitError, printable

_FICLONE = 0x40049409


# ----------------------------------------------------------------------------- files

def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while True:
            block = stream.read(8 << 20)
            if not block:
                return digest.hexdigest()
            digest.update(block)


class Hasher:
    """SHA-256 of files in background threads (hashlib releases the GIL on large blocks)."""

    def __init__(self, threads=4):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="synparam-hash")

    def hash(self, paths):
        return [self.pool.submit(sha256_file, p) for p in paths]

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def identity_of(path: str):
    info = os.stat(path)
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def copy_new(source: str, target: str):
    """Copy ``source`` to the new file ``target``: a copy-on-write clone where the file system can,
    else a real copy; never over an existing file; writable by its owner."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(source, "rb") as src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                fcntl.ioctl(fd, _FICLONE, src.fileno())
            except OSError:
                with os.fdopen(os.dup(fd), "wb") as dst:
                    shutil.copyfileobj(src, dst, 8 << 20)
        finally:
            os.close(fd)
    mode = os.stat(source).st_mode
    os.chmod(target, stat.S_IMODE(mode) | 0o200)


def files_below(directory: str, excluded) -> list[dict]:
    """Every file below ``directory`` (links followed, each real folder once), except below
    ``excluded`` real paths, sorted by name: ``[{relative, real}]``."""
    found, visited = [], set()

    def within(inner, outer):
        return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)

    def walk(current, relative):
        real = os.path.realpath(current)
        if real in visited or any(within(real, e) for e in excluded):
            return
        visited.add(real)
        for name in sorted(os.listdir(current)):
            full = os.path.join(current, name)
            try:
                info = os.stat(full)
            except OSError:
                continue
            child = f"{relative}/{name}" if relative else name
            if stat.S_ISDIR(info.st_mode):
                walk(full, child)
            elif stat.S_ISREG(info.st_mode) and not any(within(full, e) for e in excluded):
                found.append({"relative": child, "real": full})

    walk(directory, "")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True
    except OSError:
        return False


def claim(out_dir: str, warnings: list) -> str:
    """Claim DIR with ``DIR.synparam-lock`` (the command's lock: a run of either tool excludes the
    other); a lock of a dead process on this host is stale and removed with its staging."""
    lock = f"{out_dir}.synparam-lock"
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "staging": f"{out_dir}.partial-{os.getpid()}"})
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as stream:
                stream.write(mine)
            return lock
        except FileExistsError:
            pass
        except OSError as error:
            raise CircuitError(f"cannot claim the output ({errno.errorcode.get(error.errno, error)})", file=lock) from None
        try:
            with open(lock, encoding="utf-8") as stream:
                other = json.load(stream)
        except (OSError, ValueError):
            other = None
        stale = isinstance(other, dict) and other.get("host") == socket.gethostname() and isinstance(other.get("pid"), int) and not _alive(other["pid"])
        if not stale:
            who = f" (pid {other.get('pid')} on {printable(other.get('host'))}, started {printable(other.get('started'))})" if isinstance(other, dict) else ""
            raise CircuitError(f"another synparam run{who} is writing {printable(out_dir)}; if it is not running any more, remove {printable(lock)}")
        shutil.rmtree(f"{out_dir}.partial-{other['pid']}", ignore_errors=True)
        os.remove(lock)
        warnings.append(f"removed the unfinished output of an earlier run that was stopped (pid {other['pid']}): {out_dir}.partial-{other['pid']}")
    raise CircuitError(f"cannot claim {printable(out_dir)}")


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------- dataset digests

def storage_of(dataset) -> str | None:
    """The storage type (numpy name) of an existing dataset, or None when it is not a
    one-dimensional number type the core can write (writer.js ``storageOf``)."""
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        return None
    kind, size = dataset.dtype.kind, dataset.dtype.itemsize
    if kind == "f" and size in (4, 8):
        return f"float{size * 8}"
    if kind in "iu" and size in (1, 2, 4, 8):
        return f"{'int' if kind == 'i' else 'uint'}{size * 8}"
    return None


def verify_datasets(h5: h5py.File, population: str, expected: list, shown: str, chunk_rows=1 << 20) -> list:
    """Every dataset the core stored, read back: its content digest must equal the core's."""
    from . import _synparam

    checked = []
    for stored in expected:
        path = f"edges/{population}/{stored['group']}/{stored['property']}"
        where = {"file": shown, "population": population, "dataset": f"/{path}"}
        dataset = h5.get(path)
        storage = storage_of(dataset)
        if dataset is None or storage != stored["storage"] or dataset.shape[0] != stored["rows"]:
            found = f"{dataset.shape[0]} {storage or 'non-numeric'}" if isinstance(dataset, h5py.Dataset) else "no dataset"
            raise CircuitError(f"verification failed: expected {stored['rows']} {stored['storage']} values, found {found}", **where)
        if stored["digest_rows"] != stored["rows"]:
            raise CircuitError(f"verification failed: the core stored {stored['digest_rows']} of its {stored['rows']} rows", **where)
        digest = _synparam.DatasetDigest(storage)
        little = np.dtype(storage).newbyteorder("<")
        for start in range(0, stored["rows"], chunk_rows):
            end = min(stored["rows"], start + chunk_rows)
            values = np.ascontiguousarray(dataset[start:end], dtype=little)
            digest.add(start, values.tobytes())
        if digest.hex() != stored["digest"]:
            raise CircuitError(f"verification failed: the file does not hold what the core drew (content digest {digest.hex()}, expected {stored['digest']})", **where)
        checked.append({"dataset": f"/{path}", "storage": storage, "rows": stored["rows"], "digest": stored["digest"]})
    return checked


# ----------------------------------------------------------------------------- reproducible bytes

def pin_object_timestamps(output_path: str, input_path: str) -> int:
    """Make a written HDF5 file reproducible as the core decides (src/output/timestamps.rs): every
    stamped object header the run created or changed gets timestamps 0 and a recomputed checksum;
    headers the run did not touch keep theirs. Returns the number pinned."""
    from . import _synparam

    pinned = 0
    scan = 16 << 20
    with open(output_path, "r+b") as out, open(input_path, "rb") as inp:
        size = os.fstat(out.fileno()).st_size
        in_size = os.fstat(inp.fileno()).st_size

        def read(stream, offset, length):
            stream.seek(offset)
            return stream.read(length)

        for start in range(0, size, scan):
            block = read(out, start, min(scan + 3, size - start))
            for offset in _synparam.object_header_candidates(block, start, scan):
                length = _synparam.object_header_length(read(out, offset, min(40, size - offset)))
                if length is None or offset + length > size:
                    continue
                before = read(inp, offset + 6, 16) if offset + 22 <= in_size else None
                patched = _synparam.pin_object_header(read(out, offset, length), before)
                if patched is not None:
                    out.seek(offset)
                    out.write(patched)
                    pinned += 1
    return pinned
