// SONATA edges writer on h5wasm: writes what the core drew into a *copy* of an edges file (opened
// in "a" mode), leaving every other dataset and attribute as it was. It decides nothing: the core
// plans the datasets (storage types, rows, the overwrite rule, the group layout) and hands back
// storage-ready blocks; this module creates the planned datasets and copies the blocks into them.
// Plain ES module (Node and Web Worker).
import { objectHeaderCandidates, objectHeaderLength, pinObjectHeader } from "../../pkg/synparam.js";
import { hdf5, groupChunks } from "./loader.js";
import { CircuitError } from "./errors.js";

/** h5wasm dtype of a storage type (the core's numpy names). */
const H5_DTYPES = {
  float32: "<f", float64: "<d", int8: "<b", int16: "<h", int32: "<i", int64: "<q",
  uint8: "<B", uint16: "<H", uint32: "<I", uint64: "<Q",
};

/** Typed array of a storage type. */
export const TYPED_ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
};

/** The storage type (numpy name) of an existing dataset from h5wasm's metadata, or null when it is
 * not a one-dimensional number type the core can write. */
export function storageOf(metadata) {
  const { type, size, signed, shape } = metadata ?? {};
  if (!Array.isArray(shape) || shape.length !== 1) return null;
  if (type === 1) return size === 4 ? "float32" : size === 8 ? "float64" : null;
  if (type === 0 && [1, 2, 4, 8].includes(size)) return `${signed ? "int" : "uint"}${size * 8}`;
  return null;
}

/** Rows read per call when scanning group columns or reading a dataset back: one column at a time,
 * so larger than a draw chunk (fewer calls through h5wasm) at a few MB of memory. */
const SCAN_ROWS = 1 << 20;

/** Rows per HDF5 chunk of the datasets we create chunked (1 MB of float32). */
const CHUNK_ROWS = 262_144;

/**
 * Create a dataset of `rows` values of `storage`. When the run fills it front to back
 * (`chunked`), it is created chunked and empty, and written once, whole chunk by whole chunk:
 * HDF5 then places the chunks in the order they are written, the same for any edge chunking and
 * number of workers. Otherwise it is created contiguous (and so written with zeros first — a
 * second of writing for nine 10 M-row columns), which places it the same whatever the order of
 * the writes that follow.
 */
function createDataset(group, name, rows, storage, chunkRows) {
  const Typed = TYPED_ARRAYS[storage];
  if (!chunkRows || rows === 0) {
    group.create_dataset({ name, data: new Typed(rows), dtype: H5_DTYPES[storage] });
    return;
  }
  group.create_dataset({ name, data: new Typed(0), shape: [0], maxshape: [rows], chunks: [Math.min(rows, chunkRows)], dtype: H5_DTYPES[storage] });
  group.get(name).resize([rows]);
}

/** Set (replacing same-named ones) attributes on a dataset: strings, or bigints stored as uint64. */
function setAttributes(dataset, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (dataset.attrs[name] !== undefined) dataset.delete_attribute(name);
    if (typeof value === "bigint") dataset.create_attribute(name, new BigUint64Array([value]), [], "<Q");
    else dataset.create_attribute(name, value);
  }
}

/**
 * The core's plan of what the run `run` (a wasm Parameterizer with the population added) writes
 * into edge population `population` of `file` (its copy, or the input itself: nothing is written
 * here): the file's existing datasets and groups go to the core, which scans the group layout
 * (when the file has group columns and no `layout` of an earlier plan is given) and plans every
 * dataset — or refuses (existing properties without `overwrite`, a length or group mismatch).
 * Returns `{plan, existing, groupNames}`.
 */
export function planPopulationOutput(file, population, run, { overwrite = false, chunkSize = 1_000_000, layout = undefined } = {}) {
  const base = `edges/${population.name}`;
  const where = { file: population.shownName, population: population.name };
  const properties = new Set(run.summary.properties.map((p) => p.name));
  const groupNames = hdf5(where, () => file.get(base).keys()).filter((k) => /^\d+$/.test(k));
  const existing = [];
  for (const group of groupNames) {
    const members = hdf5(where, () => file.get(`${base}/${group}`).keys());
    for (const property of members.filter((m) => properties.has(m))) {
      const path = `${base}/${group}/${property}`;
      const metadata = hdf5({ ...where, dataset: `/${path}` }, () => file.get(path)?.metadata);
      existing.push({ group: Number(group), property, storage: storageOf(metadata), rows: metadata?.shape?.[0] ?? 0 });
    }
  }
  const fromCore = (call) => {
    try {
      return call();
    } catch (error) {
      throw new CircuitError(error.message, { file: population.shownName });
    }
  };
  if (population.hasGroupIds && layout === undefined) {
    // Two narrow columns at a time: read in larger slices than the draws' chunks (fewer calls).
    for (const chunk of groupChunks(population, Math.max(chunkSize, SCAN_ROWS), { file })) fromCore(() => run.scanGroups(population.name, population.size, chunk.start, chunk.ipc));
  }
  const plan = fromCore(() => run.planOutput(population.name, population.size, existing, groupNames.map(Number), overwrite, layout));
  return { plan, existing, groupNames };
}

/**
 * Prepare the writing of one edge population of an open (copied, "a" mode) file with the core's
 * run `run` (a wasm Parameterizer with the population added): the file's existing datasets and
 * groups go to the core, which scans the group layout (when the file has group columns) and
 * plans every dataset — or refuses, before anything is written. Then the planned datasets are
 * created where new and get `attributes` (provenance). Returns `{plan, datasets, write(output),
 * finish()}` where `write` copies one chunk's storage blocks (from `runChunkStorage`) into the
 * datasets. `storageChunkRows`: rows per HDF5 chunk of datasets created chunked.
 */
export function openPopulationOutput(file, population, run, { overwrite = false, attributes = {}, chunkSize = 1_000_000, storageChunkRows = CHUNK_ROWS } = {}) {
  const base = `edges/${population.name}`;
  const where = { file: population.shownName, population: population.name };
  const { plan, existing, groupNames } = planPopulationOutput(file, population, run, { overwrite, chunkSize });
  for (const group of plan.create_groups) hdf5(where, () => file.get(base).create_group(String(group)));
  const open = new Map();
  const spare = new Map();
  const datasets = plan.datasets.map((planned) => {
    const path = `${base}/${planned.group}/${planned.property}`;
    const at = { ...where, dataset: `/${path}` };
    const dataset = hdf5(at, () => {
      if (!planned.exists) createDataset(file.get(`${base}/${planned.group}`), planned.property, planned.rows, planned.storage, plan.fills_in_order && storageChunkRows);
      const opened = file.get(path);
      setAttributes(opened, attributes);
      return opened;
    });
    return { ...planned, path, dataset, Typed: TYPED_ARRAYS[planned.storage] };
  });
  return {
    plan,
    datasets,
    /** What a draw worker needs to plan exactly as this run did (the layout, not a scan). */
    planInputs: { size: population.size, existing, groups: groupNames.map(Number), overwrite, layout: plan.layout },
    /**
     * Copy one chunk's storage blocks (`{blocks, bytes}` from runChunkStorage, chunks in edge
     * order) into the datasets. Filling in order, values are gathered into whole storage chunks
     * and written as each completes, in (chunk, dataset) order: the file's bytes then do not
     * depend on how the edges were chunked or split between workers.
     */
    write(output) {
      const complete = [];
      for (const block of output.blocks) {
        const target = datasets[block.dataset];
        const values = new target.Typed(output.bytes.buffer, output.bytes.byteOffset + block.offset, block.length);
        let at = 0;
        for (const [row, count] of block.runs) {
          if (plan.fills_in_order) gather(block.dataset, row, values.subarray(at, at + count), complete);
          else writeRows(target, row, values.subarray(at, at + count));
          at += count;
        }
      }
      complete.sort((a, b) => a.index - b.index || a.dataset - b.dataset);
      for (const piece of complete) {
        writeRows(datasets[piece.dataset], piece.start, piece.values);
        if (piece.owned) {
          if (!spare.has(piece.dataset)) spare.set(piece.dataset, []);
          spare.get(piece.dataset).push(piece.values);
        }
      }
    },
    /** Write what is left of partly gathered chunks (none when every row was written). */
    finish() {
      for (const [dataset, pending] of open) writeRows(datasets[dataset], pending.start, pending.values.subarray(0, pending.filled));
      open.clear();
    },
  };

  function writeRows(target, row, values) {
    hdf5({ ...where, dataset: `/${target.path}` }, () => target.dataset.write_slice([[row, row + values.length]], values));
  }

  /** Per dataset, the storage chunk being gathered: {index, start, values, filled}. */
  function gather(dataset, row, values, complete) {
    const rows = datasets[dataset].rows;
    for (let at = 0; at < values.length;) {
      const index = Math.floor((row + at) / storageChunkRows);
      const start = index * storageChunkRows;
      const length = Math.min(rows, start + storageChunkRows) - start;
      const offset = row + at - start;
      const n = Math.min(values.length - at, length - offset);
      let pending = open.get(dataset);
      if (pending && pending.index !== index) {
        // Not front to back after all: write what there is, and go on.
        writeRows(datasets[dataset], pending.start, pending.values.subarray(0, pending.filled));
        open.delete(dataset);
        pending = null;
      }
      if (!pending && offset === 0 && n === length) {
        complete.push({ index, dataset, start, values: values.subarray(at, at + n) }); // a whole chunk: no copy
      } else {
        if (!pending) {
          // Gathering buffers are reused once written (write_slice copies what it is given).
          const reusable = spare.get(dataset)?.pop();
          const buffer = reusable && reusable.length >= length ? reusable.subarray(0, length) : new datasets[dataset].Typed(length);
          pending = { index, start, values: buffer, filled: 0, owned: true };
          open.set(dataset, pending);
        }
        pending.values.set(values.subarray(at, at + n), offset);
        pending.filled = offset + n;
        if (pending.filled === length) {
          complete.push({ index, dataset, start, values: pending.values, owned: true });
          open.delete(dataset);
        }
      }
      at += n;
    }
  }
}

/**
 * Check that every dataset a run stored into edge population `population` holds, in `file` (an
 * h5wasm File of the finished output, opened read-only), exactly what the core stored: the content
 * digest of what is read back equals the core's. `expected` is the run's `datasetDigests`;
 * `DatasetDigest` the core's digest class. Returns `[{dataset, storage, rows, digest}]`; throws
 * naming the first dataset whose type or length differs, else the first whose content does.
 */
export function verifyDatasets(file, population, expected, DatasetDigest, { shownName, chunkSize = SCAN_ROWS } = {}) {
  const opened = expected.map((stored) => {
    const path = `edges/${population}/${stored.group}/${stored.property}`;
    const where = { file: shownName, population, dataset: `/${path}` };
    const dataset = hdf5(where, () => file.get(path));
    const storage = storageOf(dataset?.metadata);
    if (!dataset || storage !== stored.storage || dataset.shape[0] !== stored.rows) {
      throw new CircuitError(`verification failed: expected ${stored.rows} ${stored.storage} values, found ${dataset ? `${dataset.shape?.[0]} ${storage ?? "non-numeric"}` : "no dataset"}`, where);
    }
    if (stored.digest_rows !== stored.rows) {
      throw new CircuitError(`verification failed: the core stored ${stored.digest_rows} of its ${stored.rows} rows`, where);
    }
    return { stored, path, where, dataset, storage };
  });
  // A group's datasets are read block by block (each block of rows from every dataset in turn),
  // so the core mixes each block's rows once for all of them.
  const digests = [];
  try {
    for (const { storage } of opened) digests.push(new DatasetDigest(storage));
    const groups = [...new Set(opened.map(({ stored }) => stored.group))];
    for (const group of groups) {
      const members = opened.map((entry, k) => ({ ...entry, digest: digests[k] })).filter(({ stored }) => stored.group === group);
      const rows = Math.max(...members.map(({ stored }) => stored.rows));
      for (let start = 0; start < rows; start += chunkSize) {
        for (const { stored, where, dataset, digest } of members) {
          if (start >= stored.rows) continue;
          const end = Math.min(stored.rows, start + chunkSize);
          const values = hdf5(where, () => dataset.slice([[start, end]]));
          digest.add(start, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        }
      }
    }
    return opened.map(({ stored, path, where, storage }, k) => {
      if (digests[k].hex !== stored.digest) {
        throw new CircuitError(`verification failed: the file does not hold what the core drew (content digest ${digests[k].hex}, expected ${stored.digest})`, where);
      }
      return { dataset: `/${path}`, storage, rows: stored.rows, digest: stored.digest };
    });
  } finally {
    for (const digest of digests) digest.free();
  }
}

const SCAN_CHUNK = 16 << 20;

/**
 * Make a written HDF5 file reproducible (design §5; the core's src/output/timestamps.rs decides):
 * HDF5 stamps the object headers it creates or changes with the wall-clock time (h5wasm cannot
 * switch that off), so two identical runs would differ in those bytes. Every stamped header the
 * run created or changed gets timestamps 0 and a recomputed checksum; headers the run did not touch
 * keep theirs. `output` and `input` are `{size, read(offset, length, into?), close()}` (closed
 * here); `output.write(offset, bytes)` patches. `headers`: the object headers' offsets when known
 * (a copy of a file whose headers an earlier call found, in which no object was created since),
 * else the whole file is read; then `text` (ASCII), when given, is looked for in the same pass.
 * Returns `{headers, text}`: the offsets of every object header found, and those where `text`
 * occurs in `output` but not at the same offset of `input` (written by the run).
 */
export function pinObjectTimestamps(output, input, { headers = null, text = null } = {}) {
  try {
    const found = { headers: [], text: [] };
    const pin = (offset) => {
      const length = objectHeaderLength(output.read(offset, Math.min(40, output.size - offset)));
      if (length === undefined || offset + length > output.size) return;
      found.headers.push(offset);
      const header = output.read(offset, length);
      const before = offset + 22 <= input.size ? input.read(offset + 6, 16) : undefined;
      if (pinObjectHeader(header, before)) output.write(offset, header);
    };
    if (headers) {
      headers.forEach(pin);
      return found;
    }
    const needle = text === null ? null : new TextEncoder().encode(text);
    const overlap = Math.max(3, (needle?.length ?? 0) - 1);
    const buffer = new Uint8Array(SCAN_CHUNK + overlap);
    for (let start = 0; start < output.size; start += SCAN_CHUNK) {
      const block = output.read(start, Math.min(SCAN_CHUNK + overlap, output.size - start), buffer);
      if (needle) found.text.push(...writtenText(block, start, needle, input));
      for (const offset of objectHeaderCandidates(block, start, SCAN_CHUNK)) pin(offset);
    }
    return found;
  } finally {
    output.close();
    input.close();
  }
}

/** Offsets (from `start`) where `needle` begins in the first SCAN_CHUNK bytes of `block` and
 * `input` does not hold it at the same offset. */
function writtenText(block, start, needle, input) {
  const offsets = [];
  const end = Math.min(SCAN_CHUNK, block.length - needle.length + 1);
  for (let at = block.indexOf(needle[0]); at !== -1 && at < end; at = block.indexOf(needle[0], at + 1)) {
    let k = 1;
    while (k < needle.length && block[at + k] === needle[k]) k++;
    if (k < needle.length) continue;
    const offset = start + at;
    const before = offset + needle.length <= input.size ? input.read(offset, needle.length) : null;
    if (!before || before.some((byte, i) => byte !== needle[i])) offsets.push(offset);
  }
  return offsets;
}

/** Random access (`{size, read, write, close}`) to a file of an Emscripten file system (h5wasm's
 * `FS`: MEMFS or WORKERFS), for pinObjectTimestamps. */
export function emscriptenFileAccess(FS, path, writable = false) {
  const stream = FS.open(path, writable ? "r+" : "r");
  return {
    size: FS.stat(path).size,
    /** `length` bytes at `offset`, into `into` (reused) when given. */
    read(offset, length, into = null) {
      const bytes = into ? into.subarray(0, length) : new Uint8Array(length);
      FS.read(stream, bytes, 0, length, offset);
      return bytes;
    },
    write(offset, bytes) { FS.write(stream, bytes, 0, bytes.length, offset); },
    close() { FS.close(stream); },
  };
}
