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

/**
 * Plan the writing of `properties` into one edge population of an open (copied, "a" mode) file:
 * checks the overwrite rule and existing dtypes, creates new datasets in every group. Returns a
 * writer with `write(start, columns)` for consecutive chunks and nothing written before every
 * check passed.
 */
export function planPopulationWrite(file, population, properties, { overwrite = false, shownName = population.name } = {}) {
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
