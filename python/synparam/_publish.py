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

PROVENANCE_FILE = "parameterization.json"
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

_DIGEST_DOMAIN = np.uint64(0x6469_6765_7374_7632)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _fmix64(x):
    x = x ^ (x >> _S33)
    x = x * _M1
    x = x ^ (x >> _S33)
    x = x * _M2
    return x ^ (x >> _S33)


class NumpyDatasetDigest:
    """The core's dataset content digest (storage.rs ``Digest``) in numpy: the wrapping sum over
    rows of fmix64(bits ^ fmix64(row ^ DOMAIN)), the value's little-endian bits zero-extended."""

    _UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

    def __init__(self, storage: str):
        self.width = np.dtype(storage).itemsize
        self.sum = 0
        self.rows = 0

    def add(self, start_row: int, data: bytes):
        bits = np.frombuffer(data, dtype=np.dtype(self._UNSIGNED[self.width]).newbyteorder("<")).astype(np.uint64)
        rows = np.arange(start_row, start_row + len(bits), dtype=np.uint64)
        with np.errstate(over="ignore"):
            terms = _fmix64(bits ^ _fmix64(rows ^ _DIGEST_DOMAIN))
            self.sum = (self.sum + int(terms.sum(dtype=np.uint64))) % (1 << 64)
        self.rows += len(bits)

    @property
    def hex(self):
        return f"{self.sum:016x}"


def _digest_class():
    try:
        import synparam

        native = getattr(synparam, "DatasetDigest", None)
    except ImportError:  # pragma: no cover
        native = None
    return native


def _hex_of(digest):
    value = digest.hex
    return value() if callable(value) else value


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
    native = _digest_class()
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
        digest = native(storage) if native else NumpyDatasetDigest(storage)
        little = np.dtype(storage).newbyteorder("<")
        for start in range(0, stored["rows"], chunk_rows):
            end = min(stored["rows"], start + chunk_rows)
            values = np.ascontiguousarray(dataset[start:end], dtype=little)
            digest.add(start, values.tobytes())
        if _hex_of(digest) != stored["digest"]:
            raise CircuitError(f"verification failed: the file does not hold what the core drew (content digest {_hex_of(digest)}, expected {stored['digest']})", **where)
        checked.append({"dataset": f"/{path}", "storage": storage, "rows": stored["rows"], "digest": stored["digest"]})
    return checked


# ----------------------------------------------------------------------------- reproducible bytes

def _rot(x, k):
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Jenkins' lookup3 hashlittle, as HDF5 checksums its metadata (writer.js ``lookup3``)."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & 0xFFFFFFFF
    k = 0
    M = 0xFFFFFFFF
    while length > 12:
        a = (a + int.from_bytes(data[k:k + 4], "little")) & M
        b = (b + int.from_bytes(data[k + 4:k + 8], "little")) & M
        c = (c + int.from_bytes(data[k + 8:k + 12], "little")) & M
        a = (a - c) & M; a ^= _rot(c, 4); c = (c + b) & M
        b = (b - a) & M; b ^= _rot(a, 6); a = (a + c) & M
        c = (c - b) & M; c ^= _rot(b, 8); b = (b + a) & M
        a = (a - c) & M; a ^= _rot(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= _rot(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= _rot(b, 4); b = (b + a) & M
        length -= 12
        k += 12
    if length == 0:
        return c
    tail = data[k:k + length] + b"\0" * (12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b = (b + int.from_bytes(tail[4:8], "little")) & M
    c = (c + int.from_bytes(tail[8:12], "little")) & M
    c ^= b; c = (c - _rot(b, 14)) & M
    a ^= c; a = (a - _rot(c, 11)) & M
    b ^= a; b = (b - _rot(a, 25)) & M
    c ^= b; c = (c - _rot(b, 16)) & M
    a ^= c; a = (a - _rot(c, 4)) & M
    b ^= a; b = (b - _rot(a, 14)) & M
    c ^= b; c = (c - _rot(b, 24)) & M
    return c


def pin_object_timestamps(output_path: str, input_path: str) -> int:
    """HDF5 stamps the object headers it creates or changes with the wall-clock time: every
    version-2 object header whose checksum verifies and whose timestamps differ from the input's
    bytes at the same place gets timestamps 0 and a recomputed checksum (writer.js
    ``pinObjectTimestamps``), so that the same run gives the same file."""
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
            i = block.find(b"OHDR")
            while 0 <= i < min(scan, len(block) - 3):
                offset = start + i
                head = read(out, offset, min(40, size - offset))
                nxt = block.find(b"OHDR", i + 1)
                if len(head) >= 8 and head[4] == 2 and head[5] & 0x20:
                    size_bytes = 1 << (head[5] & 3)
                    size_at = 6 + 16 + (4 if head[5] & 0x10 else 0)
                    if len(head) >= size_at + size_bytes:
                        chunk_size = int.from_bytes(head[size_at:size_at + size_bytes], "little")
                        covered = size_at + size_bytes + chunk_size
                        if offset + covered + 4 <= size:
                            header = bytearray(read(out, offset, covered + 4))
                            if lookup3(bytes(header[:covered])) == int.from_bytes(header[covered:covered + 4], "little"):
                                times = bytes(header[6:22])
                                before = read(inp, offset + 6, 16) if offset + 22 <= in_size else None
                                if any(times) and not (before is not None and before == times):
                                    header[6:22] = b"\0" * 16
                                    header[covered:covered + 4] = lookup3(bytes(header[:covered])).to_bytes(4, "little")
                                    out.seek(offset)
                                    out.write(header)
                                    pinned += 1
                i = nxt
    return pinned
