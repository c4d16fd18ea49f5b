// Where a run's outputs live in the browser's worker (design §6): on disk, in the origin private
// file system (OPFS), when the browser has it — the edges files HDF5 writes and the drawn columns as
// Arrow IPC, each read back as a disk-backed File (the zip of the circuit is composed of them) — so that a
// circuit of tens of millions of synapses costs disk, not memory; else in memory (MEMFS and Blobs).
// The main thread only ever receives Files (references, not bytes).

const OPFS_PREFIX = "synparam-";
const FILE_MODE = 0o100666;
const DIR_MODE = 0o40777;

/**
 * An Emscripten file system of fixed files, each backed by an OPFS FileSystemSyncAccessHandle:
 * HDF5 reads and writes them in place, synchronously, as it would a file on disk. (WORKERFS, its
 * model, is read-only and holds Blobs.)
 */
function syncHandleFS(FS) {
  const fs = {
    mount(mount) {
      const root = node(null, "/", DIR_MODE);
      for (const { name, handle } of mount.opts.files) node(root, name, FILE_MODE, handle);
      return root;
    },
  };
  function node(parent, name, mode, handle = null) {
    const created = FS.createNode(parent, name, mode);
    created.mode = mode;
    created.node_ops = nodeOps;
    created.stream_ops = streamOps;
    created.atime = created.mtime = created.ctime = Date.now();
    if (handle) created.handle = handle;
    else created.contents = {};
    if (parent) parent.contents[name] = created;
    return created;
  }
  const nodeOps = {
    getattr(target) {
      const size = target.handle ? target.handle.getSize() : 4096;
      return {
        dev: 1, ino: target.id, mode: target.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size,
        atime: new Date(target.atime), mtime: new Date(target.mtime), ctime: new Date(target.ctime), blksize: 4096, blocks: Math.ceil(size / 4096),
      };
    },
    setattr(target, attr) {
      if (attr.size !== undefined && target.handle) target.handle.truncate(attr.size);
      for (const key of ["mode", "atime", "mtime", "ctime"]) if (attr[key] != null) target[key] = attr[key];
    },
    lookup() { throw new FS.ErrnoError(44); },
    mknod() { throw new FS.ErrnoError(63); },
    rename() { throw new FS.ErrnoError(63); },
    unlink() { throw new FS.ErrnoError(63); },
    rmdir() { throw new FS.ErrnoError(63); },
    readdir(target) { return [".", "..", ...Object.keys(target.contents ?? {})]; },
    symlink() { throw new FS.ErrnoError(63); },
  };
  const streamOps = {
    read(stream, buffer, offset, length, position) {
      return stream.node.handle.read(buffer.subarray(offset, offset + length), { at: position });
    },
    write(stream, buffer, offset, length, position) {
      stream.node.mtime = Date.now();
      return stream.node.handle.write(buffer.subarray(offset, offset + length), { at: position });
    },
    llseek(stream, offset, whence) {
      let position = offset;
      if (whence === 1) position += stream.position;
      else if (whence === 2) position += stream.node.handle.getSize();
      if (position < 0) throw new FS.ErrnoError(28);
      return position;
    },
  };
  return fs;
}

/** Whether this worker can keep outputs in OPFS (sync access handles exist only in workers). */
async function opfsRoot() {
  try {
    if (typeof FileSystemFileHandle === "undefined" || !("createSyncAccessHandle" in FileSystemFileHandle.prototype)) return null;
    return await navigator.storage.getDirectory();
  } catch {
    return null;
  }
}

let mounts = 0;

/**
 * The outputs of runs in this worker: `create()` a store per run; each store holds its files and
 * is removed whole by `clear()` (the next run, or the end of the worker). Stores of workers that
 * ended without clearing (a closed tab) are removed when a new one starts.
 */
export async function outputStores(FS) {
  const root = await opfsRoot();
  if (root) {
    // Each store holds a Web Lock named after it while it lives. Stores whose lock nobody holds
    // belong to pages that ended without clearing (a closed tab): removed.
    const held = new Set(((await navigator.locks?.query())?.held ?? []).map((lock) => lock.name));
    for await (const [name] of root.entries()) {
      if (name.startsWith(OPFS_PREFIX) && !held.has(name)) await root.removeEntry(name, { recursive: true }).catch(() => {});
    }
  }
  const filesystem = root ? syncHandleFS(FS) : null;
  return {
    kind: root ? "opfs" : "memory",
    /** A new, empty store for one run. */
    async create() {
      const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      if (!root) return memoryStore(FS, id);
      let release;
      await new Promise((locked) => navigator.locks?.request(`${OPFS_PREFIX}${id}`, () => {
        locked();
        return new Promise((resolve) => { release = resolve; });
      }) ?? locked());
      const store = opfsStore(FS, filesystem, await root.getDirectoryHandle(`${OPFS_PREFIX}${id}`, { create: true }), root, id);
      const clear = store.clear;
      store.clear = async () => {
        await clear();
        release?.();
      };
      return store;
    },
  };
}

const COPY_SLICE = 32 << 20;

/** Copy a source — a Blob (a chosen File), or `{size, read(offset, length)}` (a file of the
 * worker's file system) — into `write(bytes, offset)`, in 32 MB slices. */
async function copyBytes(source, write) {
  const blob = typeof source.arrayBuffer === "function";
  for (let offset = 0; offset < source.size; offset += COPY_SLICE) {
    const length = Math.min(COPY_SLICE, source.size - offset);
    write(blob ? new Uint8Array(await source.slice(offset, offset + length).arrayBuffer()) : source.read(offset, length), offset);
  }
}

function opfsStore(FS, filesystem, directory, root, id) {
  const files = new Map(); // name → {fileHandle, handle, mountPoint}
  let count = 0;
  /** A new file of the store, open for HDF5; with `blob`, holding a copy of it (true) or empty
   * (false: this browser cannot copy it without this thread, see `copy`). */
  const open = async (name, blob = null) => {
    const fileHandle = await directory.getFileHandle(`f${count++}`, { create: true });
    const copied = Boolean(blob && typeof fileHandle.createWritable === "function");
    if (copied) {
      // The browser copies the Blob into the file itself, not through this thread (12 % faster
      // for a 583 MB edges file in Chromium than slices read and written here).
      const writable = await fileHandle.createWritable();
      try {
        await writable.write(blob);
        await writable.close();
      } catch (error) {
        await writable.abort().catch(() => {}); // else the file stays locked and its store cannot be removed
        throw error;
      }
    }
    const handle = await fileHandle.createSyncAccessHandle();
    if (!copied) handle.truncate(0);
    const entry = { fileHandle, handle, mountPoint: null, copied };
    files.set(name, entry);
    return entry;
  };
  const close = (entry) => {
    if (entry.mountPoint) {
      FS.unmount(entry.mountPoint);
      FS.rmdir(entry.mountPoint);
      entry.mountPoint = null;
    }
    if (entry.handle) {
      entry.handle.flush();
      entry.handle.close();
      entry.handle = null;
    }
  };
  return {
    kind: "opfs",
    /** A writable copy of `source` (a Blob, or `{size, read}`), as a path of Emscripten's file
     * system (for h5wasm). */
    async copy(name, source) {
      const entry = await open(name, typeof source.arrayBuffer === "function" ? source : null);
      if (!entry.copied) await copyBytes(source, (bytes, at) => entry.handle.write(bytes, { at }));
      entry.mountPoint = `/opfs-${id}-${mounts++}`;
      FS.mkdir(entry.mountPoint);
      FS.mount(filesystem, { files: [{ name: "data", handle: entry.handle }] }, entry.mountPoint);
      return `${entry.mountPoint}/data`;
    },
    /** An output written by appending bytes (Arrow columns): `{append(bytes), size}`. */
    async appender(name) {
      const entry = await open(name);
      let size = 0;
      return {
        append(bytes) {
          entry.handle.write(bytes, { at: size });
          size += bytes.length;
        },
        get size() { return size; },
      };
    },
    /** The finished output as a disk-backed File (its writing ends here). */
    async file(name) {
      const entry = files.get(name);
      if (!entry) return null;
      close(entry);
      return entry.fileHandle.getFile();
    },
    async clear() {
      for (const entry of files.values()) close(entry);
      files.clear();
      await root.removeEntry(directory.name, { recursive: true }).catch(() => {});
    },
  };
}

function memoryStore(FS, id) {
  const paths = new Map();
  const chunks = new Map();
  let count = 0;
  const directory = `/out-${id}`;
  FS.mkdir(directory);
  return {
    kind: "memory",
    async copy(name, source) {
      const path = `${directory}/f${count++}`;
      const bytes = new Uint8Array(source.size);
      await copyBytes(source, (slice, at) => bytes.set(slice, at));
      FS.writeFile(path, bytes);
      paths.set(name, path);
      return path;
    },
    async appender(name) {
      const parts = [];
      chunks.set(name, parts);
      let size = 0;
      return {
        append(bytes) {
          parts.push(bytes.slice());
          size += bytes.length;
        },
        get size() { return size; },
      };
    },
    async file(name) {
      if (paths.has(name)) return new Blob([FS.readFile(paths.get(name))]);
      if (chunks.has(name)) return new Blob(chunks.get(name));
      return null;
    },
    async clear() {
      for (const path of paths.values()) FS.unlink(path);
      FS.rmdir(directory);
      paths.clear();
      chunks.clear();
    },
  };
}

/**
 * Arrow IPC stream chunks (one per drawn edge chunk, each a whole stream: schema, batch, end)
 * joined into one stream as they come: the first chunk's schema once, every chunk's batches, one
 * end-of-stream marker. The columns of a run go to disk this way, never whole into memory.
 */
export function arrowStreamJoiner(appender) {
  let started = false;
  return {
    add(stream) {
      // The schema message: 0xFFFFFFFF, its metadata length, the metadata (no body).
      const length = new DataView(stream.buffer, stream.byteOffset + 4, 4).getInt32(0, true);
      const schemaEnd = 8 + length;
      if (!started) {
        appender.append(stream.subarray(0, schemaEnd));
        started = true;
      }
      appender.append(stream.subarray(schemaEnd, stream.length - 8));
    },
    finish() {
      if (started) appender.append(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    },
  };
}
