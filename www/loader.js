// SONATA circuit loader on h5wasm: circuit config, node populations and their properties, edge
// populations and their edge chunks as Arrow IPC for the wasm core. Plain ES module: the same code
// runs in Node (files by path) and in a Web Worker (files written into h5wasm's file system).
import { tableToIPC, tableFromArrays, makeTable, vectorFromArray, Dictionary, Utf8, Int32 } from "apache-arrow";

/** A loader error: names the file and, where known, the population or dataset. */
export class CircuitError extends Error {
  constructor(message, { file, population, dataset } = {}) {
    super([file && `${file}`, population && `population '${population}'`, dataset && `dataset ${dataset}`, message].filter(Boolean).join(": "));
    this.name = "CircuitError";
    Object.assign(this, { file, population, dataset });
  }
}

/** Node: circuit files on disk. `root` is a directory; `h5path(name)` is a real path h5wasm/node opens. */
export function nodeFileSource(root, fs, path) {
  return {
    describe: (name) => path.join(root, name),
    readText: async (name) => fs.readFile(path.join(root, name), "utf8"),
    exists: async (name) => fs.access(path.join(root, name)).then(() => true, () => false),
    h5path: async (name) => path.resolve(root, name),
  };
}

let mountCount = 0;

/** Browser: files given as {relativePath: File|Blob|ArrayBuffer|Uint8Array}, or fetched relative to
 * `baseUrl`. In a Web Worker, File/Blob entries are mounted with WORKERFS (read on demand, never
 * copied whole into memory); fetched files and buffers are written into h5wasm's MEMFS. */
export function memorySource(h5wasmModule, { files = {}, baseUrl = null, fetchInit = undefined } = {}) {
  const FS = h5wasmModule.FS;
  const written = new Map();
  const isBlob = (entry) => entry && typeof entry.arrayBuffer === "function";
  const canMount = typeof FileReaderSync !== "undefined" && Boolean(FS.filesystems?.WORKERFS);
  let mounted = false;
  const storage = {};
  async function bytes(name) {
    const entry = files[name];
    if (entry instanceof ArrayBuffer) return new Uint8Array(entry);
    if (entry instanceof Uint8Array) return entry;
    if (isBlob(entry)) return new Uint8Array(await entry.arrayBuffer());
    if (baseUrl) {
      const url = new URL(name, baseUrl);
      const response = await fetch(url, fetchInit);
      if (!response.ok) throw new CircuitError(`cannot fetch (${response.status} ${response.statusText})`, { file: url.href });
      return new Uint8Array(await response.arrayBuffer());
    }
    throw new CircuitError("not among the given files", { file: name });
  }
  // Each source mounts its files at its own point, so a newly chosen circuit never collides with
  // the previous one.
  const mountPoint = `/local${++mountCount}`;
  function mountBlobs() {
    const blobs = Object.entries(files).filter(([, entry]) => isBlob(entry)).map(([name, data]) => ({ name, data }));
    FS.mkdir(mountPoint);
    FS.mount(FS.filesystems.WORKERFS, { blobs }, mountPoint);
    mounted = true;
  }
  return {
    describe: (name) => (baseUrl ? new URL(name, baseUrl).href : name),
    readText: async (name) => (isBlob(files[name]) ? files[name].text() : new TextDecoder().decode(await bytes(name))),
    exists: async (name) => name in files || Boolean(baseUrl),
    /** The given File/Blob of a name, if it is one (read it directly rather than through a copy). */
    blobOf: (name) => (isBlob(files[name]) ? files[name] : null),
    /** The given names (empty when files are fetched from `baseUrl`, which cannot be listed). */
    names: () => Object.keys(files),
    /** How each HDF5 file was made available: "WORKERFS" or "MEMFS". */
    storage: () => ({ ...storage }),
    h5path: async (name) => {
      if (canMount && isBlob(files[name])) {
        if (!mounted) mountBlobs();
        storage[name] = "WORKERFS";
        return `${mountPoint}/${name}`;
      }
      if (!written.has(name)) {
        const target = `/circuit/${written.size}_${name.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
        try { FS.mkdir("/circuit"); } catch { /* exists */ }
        FS.writeFile(target, await bytes(name));
        written.set(name, target);
        storage[name] = "MEMFS";
      }
      return written.get(name);
    },
  };
}

/** Open an HDF5 file read-only with a clear error for files that are not HDF5. */
export function openH5(h5wasm, realPath, shownName) {
  let file;
  try {
    file = new h5wasm.File(realPath, "r");
  } catch (error) {
    throw new CircuitError(`not a readable HDF5 file (${error.message ?? error})`, { file: shownName });
  }
  if (!file || file.file_id === undefined || file.file_id < 0n) throw new CircuitError("not a readable HDF5 file", { file: shownName });
  return file;
}

/** Resolve `$VARIABLE` manifest entries (which may refer to each other) in a path. */
function expand(path, manifest, configName) {
  let result = path;
  for (let round = 0; round < 10 && result.includes("$"); round++) {
    result = result.replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, (name) => {
      if (!(name in manifest)) throw new CircuitError(`unknown manifest variable ${name} in '${path}'`, { file: configName });
      return manifest[name];
    });
  }
  return result.replace(/^\.\//, "").replace(/\/\.\//g, "/");
}

function parseNodeTypes(text, fileName) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const header = lines[0].trim().split(/\s+/);
  const idColumn = header.indexOf("node_type_id");
  if (idColumn < 0) throw new CircuitError("no node_type_id column", { file: fileName });
  const rows = new Map();
  for (const line of lines.slice(1)) {
    const cells = line.trim().split(/\s+/);
    rows.set(Number(cells[idColumn]), Object.fromEntries(header.map((h, i) => [h, cells[i] ?? null])));
  }
  return { columns: header.filter((h) => h !== "node_type_id"), rows };
}

function datasetValue(file, path, shownName) {
  const dataset = file.get(path);
  if (!dataset || dataset.shape === undefined) throw new CircuitError("missing", { file: shownName, dataset: path });
  return dataset.value;
}

/**
 * Load a circuit: from `circuit_config.json` when the source has one, else from plain `.h5` files
 * (`fileNames`). Returns {nodePopulations, edgePopulations} with lazily read properties.
 */
export async function loadCircuit(h5wasm, source, { configName = "circuit_config.json", fileNames = [] } = {}) {
  const nodeFiles = []; // {name, nodeTypesFile, populations: {pop: {type}}}
  const edgeFiles = [];
  const references = []; // every file or directory the circuit names (see pathReferences)
  let configFile = null;
  if (await source.exists(configName)) {
    let config;
    let configText;
    configText = await source.readText(configName);
    try {
      config = JSON.parse(configText);
    } catch (error) {
      throw new CircuitError(`not valid JSON (${error.message})`, { file: source.describe(configName) });
    }
    const manifest = { $BASE_DIR: ".", ...(config.manifest ?? {}) };
    const base = configName.includes("/") ? configName.slice(0, configName.lastIndexOf("/") + 1) : "";
    const relative = (p) => {
      const expanded = expand(p, manifest, configName);
      return expanded.startsWith("/") ? expanded : base + expanded;
    };
    configFile = { name: configName, text: configText, json: config };
    references.push(...pathReferences(config).map((r) => ({ ...r, name: relative(r.value) })));
    for (const entry of config.networks?.nodes ?? []) {
      nodeFiles.push({ name: relative(entry.nodes_file), nodeTypesFile: entry.node_types_file ? relative(entry.node_types_file) : null, populations: entry.populations ?? null });
    }
    for (const entry of config.networks?.edges ?? []) {
      edgeFiles.push({ name: relative(entry.edges_file), populations: entry.populations ?? null });
    }
  } else {
    for (const name of fileNames) {
      const file = openH5(h5wasm, await source.h5path(name), source.describe(name));
      const keys = file.keys();
      if (keys.includes("nodes")) nodeFiles.push({ name, nodeTypesFile: null, populations: null });
      if (keys.includes("edges")) edgeFiles.push({ name, populations: null });
      file.close();
      references.push({ keyPath: null, value: name, name, kind: "file", role: keys.includes("edges") ? "edges" : "nodes" });
    }
  }

  const nodePopulations = new Map();
  for (const entry of nodeFiles) {
    const shown = source.describe(entry.name);
    const file = openH5(h5wasm, await source.h5path(entry.name), shown);
    const nodeTypes = entry.nodeTypesFile ? parseNodeTypes(await source.readText(entry.nodeTypesFile), source.describe(entry.nodeTypesFile)) : null;
    const root = file.get("nodes");
    if (!root) throw new CircuitError("no /nodes group", { file: shown });
    for (const name of root.keys()) {
      const group0 = file.get(`nodes/${name}/0`);
      const size = file.get(`nodes/${name}/node_type_id`)?.shape?.[0] ?? 0;
      const h5Properties = group0 ? group0.keys().filter((k) => k !== "@library" && k !== "dynamics_params") : [];
      nodePopulations.set(name, {
        name, file, fileName: shown, size,
        type: entry.populations?.[name]?.type ?? null,
        properties: [...new Set([...h5Properties, ...(nodeTypes?.columns ?? [])])],
        nodeTypes,
      });
    }
  }

  const edgePopulations = new Map();
  for (const entry of edgeFiles) {
    const shown = source.describe(entry.name);
    const realPath = await source.h5path(entry.name);
    const file = openH5(h5wasm, realPath, shown);
    const root = file.get("edges");
    if (!root) throw new CircuitError("no /edges group", { file: shown });
    for (const name of root.keys()) {
      const base = `edges/${name}`;
      const sourceIds = file.get(`${base}/source_node_id`);
      const targetIds = file.get(`${base}/target_node_id`);
      if (!sourceIds) throw new CircuitError("missing", { file: shown, population: name, dataset: `/${base}/source_node_id` });
      if (!targetIds) throw new CircuitError("missing", { file: shown, population: name, dataset: `/${base}/target_node_id` });
      const size = sourceIds.shape[0];
      if (targetIds.shape[0] !== size) {
        throw new CircuitError(`length mismatch: source_node_id has ${size} entries, target_node_id ${targetIds.shape[0]}`, { file: shown, population: name });
      }
      const groupIds = file.get(`${base}/edge_group_id`);
      const groupIndex = file.get(`${base}/edge_group_index`);
      for (const [dataset, label] of [[groupIds, "edge_group_id"], [groupIndex, "edge_group_index"]]) {
        if (dataset && dataset.shape[0] !== size) {
          throw new CircuitError(`length mismatch: ${label} has ${dataset.shape[0]} entries, source_node_id ${size}`, { file: shown, population: name });
        }
      }
      const groups = file.get(base).keys().filter((k) => /^\d+$/.test(k));
      edgePopulations.set(name, {
        name, file, fileName: entry.name, shownName: shown, size,
        source: sourceIds.attrs.node_population?.value ?? null,
        target: targetIds.attrs.node_population?.value ?? null,
        groups,
        hasGroupIds: Boolean(groupIds && groupIndex),
        properties: [...new Set(groups.flatMap((g) => file.get(`${base}/${g}`).keys()))],
      });
    }
  }
  for (const population of edgePopulations.values()) {
    for (const role of ["source", "target"]) {
      if (!population[role]) throw new CircuitError(`${role}_node_id has no node_population attribute`, { file: population.shownName, population: population.name });
    }
  }
  return { nodePopulations, edgePopulations, config: configFile, references };
}

/** Every path a circuit config names, with where it is: `{keyPath, value, kind: "file"|"dir",
 * role: "nodes"|"node_types"|"edges"|"node_sets"|"other"}`. SONATA paths are the values of keys
 * ending in `_file`, `_dir` or `_mesh` (and of `alternate_morphologies`) in `components`,
 * network entries and their populations, plus the top-level `node_sets_file`. */
export function pathReferences(config) {
  const found = [];
  const visit = (object, keyPath, inAlternates = false) => {
    if (!object || typeof object !== "object" || Array.isArray(object)) return;
    for (const [key, value] of Object.entries(object)) {
      const here = [...keyPath, key];
      if (typeof value === "string" && (inAlternates || /_(file|dir|mesh)$/.test(key))) {
        const role = { nodes_file: "nodes", node_types_file: "node_types", edges_file: "edges", edge_types_file: "edge_types", node_sets_file: "node_sets" }[key] ?? "other";
        found.push({ keyPath: here, value, kind: inAlternates || key.endsWith("_dir") ? "dir" : "file", role });
      } else if (value && typeof value === "object" && !Array.isArray(value)) {
        visit(value, here, key === "alternate_morphologies");
      }
    }
  };
  if (typeof config.node_sets_file === "string") found.push({ keyPath: ["node_sets_file"], value: config.node_sets_file, kind: "file", role: "node_sets" });
  visit(config.components, ["components"]);
  for (const kind of ["nodes", "edges"]) {
    (config.networks?.[kind] ?? []).forEach((entry, i) => visit(entry, ["networks", kind, i]));
  }
  return found;
}

/** Values of a node property for every node: strings, or null where the node lacks it. */
export function nodePropertyValues(population, property) {
  const { file, name, size } = population;
  const dataset = file.get(`nodes/${name}/0/${property}`);
  if (dataset) {
    const library = file.get(`nodes/${name}/0/@library/${property}`);
    const raw = dataset.value;
    if (library) {
      const words = library.value;
      return Array.from(raw, (code) => {
        const word = words[Number(code)];
        if (word === undefined) throw new CircuitError(`@library code ${code} outside its ${words.length} values`, { file: population.fileName, population: name, dataset: `/nodes/${name}/0/${property}` });
        return word;
      });
    }
    return Array.from(raw, (v) => String(v));
  }
  if (population.nodeTypes?.columns.includes(property)) {
    const typeIds = file.get(`nodes/${name}/node_type_id`).value;
    return Array.from(typeIds, (id) => population.nodeTypes.rows.get(Number(id))?.[property] ?? null);
  }
  return null;
}

/** Arrow IPC of a node population's pathway column (dictionary strings; nulls for missing). */
export function pathwayColumnIpc(values) {
  return tableToIPC(makeTable({ pathway: vectorFromArray(values, new Dictionary(new Utf8(), new Int32())) }), "stream");
}

/** Read `[start, end)` of an edge dataset as a typed array. */
function readSlice(file, path, start, end) {
  return file.get(path).slice([[start, end]]);
}

/**
 * 64-bit ids (SONATA's node id type) as 32-bit ones when every one fits, else unchanged: the
 * engine reads either width in place, and 32-bit ids are a third less to build and copy into
 * wasm. Reads the low and high words of each id (little-endian, as every browser and Node is).
 */
export function narrowIds(ids) {
  if (!(ids instanceof BigUint64Array)) return ids;
  const words = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const narrow = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    if (words[2 * i + 1] !== 0) return ids;
    narrow[i] = words[2 * i];
  }
  return narrow;
}

/** Edge chunks of a population: {start, end, ipc (source_node_id, target_node_id, edge_id), and
 * the source and target id arrays themselves}. */
export function* edgeChunks(population, chunkSize = 1_000_000) {
  const base = `edges/${population.name}`;
  for (let start = 0; start < population.size; start += chunkSize) {
    const end = Math.min(population.size, start + chunkSize);
    // Global edge ids: 32 bits while they fit, 64 beyond.
    const edgeId = end <= 2 ** 32 ? new Uint32Array(end - start) : new BigUint64Array(end - start);
    for (let i = 0; i < edgeId.length; i++) edgeId[i] = edgeId instanceof BigUint64Array ? BigInt(start + i) : start + i;
    const source = narrowIds(readSlice(population.file, `${base}/source_node_id`, start, end));
    const target = narrowIds(readSlice(population.file, `${base}/target_node_id`, start, end));
    const ipc = tableToIPC(tableFromArrays({ source_node_id: source, target_node_id: target, edge_id: edgeId }), "stream");
    yield { start, end, ipc, source, target };
  }
}

/** Every node property present in both the source and the target population of each edge
 * population, with its distinct values: what the user can choose as the pathway property. */
export function candidatePathwayProperties(circuit) {
  const result = {};
  for (const edges of circuit.edgePopulations.values()) {
    const source = circuit.nodePopulations.get(edges.source);
    const target = circuit.nodePopulations.get(edges.target);
    if (!source || !target) continue;
    const shared = source.properties.filter((p) => target.properties.includes(p));
    result[edges.name] = Object.fromEntries(shared.map((p) => {
      const values = new Set([...(nodePropertyValues(source, p) ?? []), ...(nodePropertyValues(target, p) ?? [])]);
      values.delete(null);
      return [p, [...values].sort()];
    }));
  }
  return result;
}

/** Synapses per pathway (source value → target value) for `property`, summed over the edge
 * populations whose source and target nodes have it: {source: {target: count}}. Nodes without the
 * property count under `fallback` (or "(none)"). */
export function synapsesPerPathway(circuit, property, fallback = null, chunkSize = 1_000_000) {
  const counts = {};
  for (const edges of circuit.edgePopulations.values()) {
    const sourceValues = nodePropertyValues(circuit.nodePopulations.get(edges.source), property);
    const targetValues = nodePropertyValues(circuit.nodePopulations.get(edges.target), property);
    if ((!sourceValues || !targetValues) && fallback === null) continue;
    const base = `edges/${edges.name}`;
    for (let start = 0; start < edges.size; start += chunkSize) {
      const end = Math.min(edges.size, start + chunkSize);
      const sources = readSlice(edges.file, `${base}/source_node_id`, start, end);
      const targets = readSlice(edges.file, `${base}/target_node_id`, start, end);
      for (let i = 0; i < sources.length; i++) {
        const s = sourceValues?.[Number(sources[i])] ?? fallback ?? "(none)";
        const t = targetValues?.[Number(targets[i])] ?? fallback ?? "(none)";
        counts[s] ??= {};
        counts[s][t] = (counts[s][t] ?? 0) + 1;
      }
    }
  }
  return counts;
}

/** Close every HDF5 file the circuit holds open. */
export function closeCircuit(circuit) {
  const files = new Set([...circuit.nodePopulations.values(), ...circuit.edgePopulations.values()].map((p) => p.file));
  for (const file of files) file.close();
}
