// SONATA edges writer on h5wasm: writes drawn property columns into a *copy* of an edges file
// (opened in "a" mode), leaving every other dataset and attribute as it was. Plain ES module
// (Node and Web Worker).
import { CircuitError } from "./loader.js";

/** SONATA-extension dtypes of the standard synapse properties (design §4). */
export const SONATA_DTYPES = {
  conductance: "<f", decay_time: "<f", depression_time: "<f", facilitation_time: "<f", u_syn: "<f",
  delay: "<f", conductance_scale_factor: "<f", u_hill_coefficient: "<f",
  n_rrp_vesicles: "<I", syn_type_id: "<I",
};

/** h5wasm dtype of a spec/column type name (numpy names as the core reports them). */
const DTYPE_OF_TYPE = {
  float32: "<f", float64: "<d", int8: "<b", int16: "<h", int32: "<i", int64: "<q",
  uint8: "<B", uint16: "<H", uint32: "<I", uint64: "<Q",
};

const INTEGER_RANGES = {
  "<b": [-(2 ** 7), 2 ** 7 - 1], "<h": [-(2 ** 15), 2 ** 15 - 1], "<i": [-(2 ** 31), 2 ** 31 - 1], "<q": [-(2 ** 63), 2 ** 63 - 1],
  "<B": [0, 2 ** 8 - 1], "<H": [0, 2 ** 16 - 1], "<I": [0, 2 ** 32 - 1], "<Q": [0, 2 ** 64 - 1],
};

const TYPED_ARRAYS = {
  "<f": Float32Array, "<d": Float64Array, "<b": Int8Array, "<h": Int16Array, "<i": Int32Array, "<q": BigInt64Array,
  "<B": Uint8Array, "<H": Uint16Array, "<I": Uint32Array, "<Q": BigUint64Array,
};

/** Normalize h5wasm's dtype of an existing dataset to the keys above ('<f4' → '<f', '<i8' → '<q'). */
function normalizeDtype(metadata) {
  const { type, size, signed } = metadata;
  if (type === 1) return size === 4 ? "<f" : size === 8 ? "<d" : null;
  if (type === 0) {
    const letter = { 1: "b", 2: "h", 4: "i", 8: "q" }[size];
    return letter ? `<${signed ? letter : letter.toUpperCase()}` : null;
  }
  return null;
}

/** The dtype of a new column: the spec's explicit dtype, else SONATA's, else the core's column type. */
export function newColumnDtype(property, columnType, explicitDtype) {
  if (explicitDtype) return explicitDtype === "int" ? "<q" : DTYPE_OF_TYPE[explicitDtype] ?? DTYPE_OF_TYPE[columnType];
  return SONATA_DTYPES[property] ?? DTYPE_OF_TYPE[columnType] ?? "<d";
}

/** Convert drawn values (numbers or bigints) to the typed array of `dtype`, refusing values that
 * do not fit an integer type (or are NaN). */
function toTyped(values, dtype, where) {
  const Typed = TYPED_ARRAYS[dtype];
  const range = INTEGER_RANGES[dtype];
  const out = new Typed(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (range) {
      const n = Number(v);
      if (Number.isNaN(n) || n < range[0] || n > range[1] || !Number.isInteger(n)) {
        throw new CircuitError(`value ${v} does not fit the dataset's integer type ${dtype}`, where);
      }
      out[i] = Typed === BigInt64Array || Typed === BigUint64Array ? BigInt(v) : n;
    } else {
      out[i] = Number(v);
    }
  }
  return out;
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
 * Plan the writing of `properties` into one edge population of an open (copied, "a" mode) file:
 * checks the overwrite rule and existing dtypes, creates new datasets in every group and sets
 * `attributes` (provenance) on every dataset it writes. Returns a
 * writer with `write(start, columns)` for consecutive chunks and nothing written before every
 * check passed.
 */
export function planPopulationWrite(file, population, properties, { overwrite = false, shownName = population.name, attributes = {} } = {}) {
  const base = `edges/${population.name}`;
  const size = population.size;
  const groupIds = population.hasGroupIds ? file.get(`${base}/edge_group_id`).value : null;
  const groupIndex = population.hasGroupIds ? file.get(`${base}/edge_group_index`).value : null;
  const groupSizes = new Map();
  if (groupIds) {
    for (let i = 0; i < size; i++) {
      const g = String(Number(groupIds[i]));
      groupSizes.set(g, Math.max(groupSizes.get(g) ?? 0, Number(groupIndex[i]) + 1));
    }
  } else {
    groupSizes.set("0", size);
  }
  for (const g of groupSizes.keys()) {
    if (!file.get(`${base}/${g}`)) throw new CircuitError(`edge_group_id refers to group ${g}, which does not exist`, { file: shownName, population: population.name });
  }
  // Check everything before writing anything.
  const existing = properties.filter((p) => [...groupSizes.keys()].some((g) => file.get(`${base}/${g}/${p.name}`)));
  if (existing.length && !overwrite) {
    throw new CircuitError(`properties already exist: ${existing.map((p) => p.name).join(", ")} (set overwrite_if_exists to replace them); nothing was written`, { file: shownName, population: population.name });
  }
  const dtypes = new Map();
  for (const property of properties) {
    const perGroup = new Map();
    for (const g of groupSizes.keys()) {
      const dataset = file.get(`${base}/${g}/${property.name}`);
      if (dataset) {
        const dtype = normalizeDtype(dataset.metadata);
        if (!dtype) throw new CircuitError(`existing dataset has an unsupported type`, { file: shownName, population: population.name, dataset: `/${base}/${g}/${property.name}` });
        if (dataset.shape[0] !== groupSizes.get(g)) throw new CircuitError(`existing dataset has ${dataset.shape[0]} rows, group ${g} has ${groupSizes.get(g)}`, { file: shownName, population: population.name, dataset: `/${base}/${g}/${property.name}` });
        perGroup.set(g, dtype);
      } else {
        perGroup.set(g, newColumnDtype(property.name, property.columnType, property.dtype));
      }
    }
    dtypes.set(property.name, perGroup);
  }
  for (const property of properties) {
    for (const [g, dtype] of dtypes.get(property.name)) {
      if (!file.get(`${base}/${g}/${property.name}`)) {
        file.get(`${base}/${g}`).create_dataset({ name: property.name, data: new TYPED_ARRAYS[dtype](groupSizes.get(g)), dtype });
      }
      setAttributes(file.get(`${base}/${g}/${property.name}`), attributes);
    }
  }
  return {
    dtypes,
    /** Write one chunk: `columns` maps property name → values for edges [start, start + n). */
    write(start, columns) {
      for (const [name, values] of Object.entries(columns)) {
        const n = values.length;
        for (const [g, dtype] of dtypes.get(name)) {
          const where = { file: shownName, population: population.name, dataset: `/${base}/${g}/${name}` };
          const dataset = file.get(`${base}/${g}/${name}`);
          if (!groupIds) {
            dataset.write_slice([[start, start + n]], toTyped(values, dtype, where));
            continue;
          }
          // Rows of this group within the chunk; written as one slice covering them.
          let lo = Infinity, hi = -Infinity;
          for (let i = 0; i < n; i++) {
            if (String(Number(groupIds[start + i])) !== g) continue;
            const row = Number(groupIndex[start + i]);
            lo = Math.min(lo, row);
            hi = Math.max(hi, row);
          }
          if (lo > hi) continue;
          const slice = dataset.slice([[lo, hi + 1]]);
          const merged = Array.from(slice);
          for (let i = 0; i < n; i++) {
            if (String(Number(groupIds[start + i])) === g) merged[Number(groupIndex[start + i]) - lo] = values[i];
          }
          dataset.write_slice([[lo, hi + 1]], toTyped(merged, dtype, where));
        }
      }
    },
  };
}

/** Jenkins' lookup3 hash (hashlittle) as HDF5 uses it for metadata checksums. */
export function lookup3(bytes, initval = 0) {
  const rot = (x, k) => (x << k) | (x >>> (32 - k));
  let length = bytes.length;
  let a = (0xdeadbeef + length + initval) >>> 0;
  let b = a;
  let c = a;
  let k = 0;
  while (length > 12) {
    a = (a + (bytes[k] | (bytes[k + 1] << 8) | (bytes[k + 2] << 16) | (bytes[k + 3] << 24))) | 0;
    b = (b + (bytes[k + 4] | (bytes[k + 5] << 8) | (bytes[k + 6] << 16) | (bytes[k + 7] << 24))) | 0;
    c = (c + (bytes[k + 8] | (bytes[k + 9] << 8) | (bytes[k + 10] << 16) | (bytes[k + 11] << 24))) | 0;
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  const tail = [0, 0, 0];
  for (let i = 0; i < length; i++) tail[i >> 2] |= bytes[k + i] << (8 * (i & 3));
  a = (a + tail[0]) | 0;
  b = (b + tail[1]) | 0;
  c = (c + tail[2]) | 0;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

const OHDR = [0x4f, 0x48, 0x44, 0x52]; // "OHDR": a version-2 object header
const SCAN_CHUNK = 16 << 20;

/**
 * Make a written HDF5 file reproducible: HDF5 stamps the object headers it creates or changes with
 * the wall-clock time (h5wasm cannot switch that off), so two identical runs would differ in those
 * bytes. Every version-2 object header whose checksum verifies and whose timestamps differ from
 * the input file's bytes at the same place gets timestamps 0 and a recomputed checksum; headers
 * the run did not touch keep theirs. `output` and `input` are `{size, read(offset, length), close()}`
 * (closed here); `output.write(offset, bytes)` patches. Returns the number of headers pinned.
 */
export function pinObjectTimestamps(output, input) {
  try {
    return pinHeaders(output, input);
  } finally {
    output.close();
    input.close();
  }
}

function pinHeaders(output, input) {
  let pinned = 0;
  for (let start = 0; start < output.size; start += SCAN_CHUNK) {
    const block = output.read(start, Math.min(SCAN_CHUNK + 3, output.size - start));
    for (let i = block.indexOf(OHDR[0]); i >= 0 && i < Math.min(SCAN_CHUNK, block.length - 3); i = block.indexOf(OHDR[0], i + 1)) {
      if (block[i + 1] !== OHDR[1] || block[i + 2] !== OHDR[2] || block[i + 3] !== OHDR[3]) continue;
      const offset = start + i;
      const head = output.read(offset, Math.min(40, output.size - offset));
      if (head.length < 8 || head[4] !== 2 || !(head[5] & 0x20)) continue;
      const sizeBytes = 1 << (head[5] & 3);
      const sizeAt = 6 + 16 + (head[5] & 0x10 ? 4 : 0);
      if (head.length < sizeAt + sizeBytes) continue;
      let chunkSize = 0;
      for (let b = sizeBytes - 1; b >= 0; b--) chunkSize = chunkSize * 256 + head[sizeAt + b];
      const covered = sizeAt + sizeBytes + chunkSize;
      if (offset + covered + 4 > output.size) continue;
      const header = output.read(offset, covered + 4);
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      if (lookup3(header.subarray(0, covered)) !== view.getUint32(covered, true)) continue;
      const times = header.subarray(6, 22);
      const before = offset + 22 <= input.size ? input.read(offset + 6, 16) : null;
      if (times.every((t) => t === 0) || (before && before.every((t, j) => t === times[j]))) continue;
      times.fill(0);
      view.setUint32(covered, lookup3(header.subarray(0, covered)), true);
      output.write(offset, header);
      pinned++;
    }
  }
  return pinned;
}

/** Random access (`{size, read, write, close}`) to a file of an Emscripten file system (h5wasm's
 * `FS`: MEMFS or WORKERFS), for pinObjectTimestamps. */
export function emscriptenFileAccess(FS, path, writable = false) {
  const stream = FS.open(path, writable ? "r+" : "r");
  return {
    size: FS.stat(path).size,
    read(offset, length) {
      const bytes = new Uint8Array(length);
      FS.read(stream, bytes, 0, length, offset);
      return bytes;
    },
    write(offset, bytes) { FS.write(stream, bytes, 0, bytes.length, offset); },
    close() { FS.close(stream); },
  };
}
