// SONATA circuit loader on h5wasm: circuit config, node populations and their properties, edge
// populations and their edge chunks as Arrow IPC for the wasm core. Plain ES module: the same code
// runs in Node (files by path) and in a Web Worker (files mounted or written into h5wasm's file
// system). File names are resolved once, by paths.js. A node or edge file or population that
// cannot be fully read is not loaded, and listed with its error (`circuit.unavailable`): the rest of
// the circuit loads, and a run refuses only when it needs what is missing (parameterize.js).
import { tableToIPC, tableFromArrays, makeData, makeVector, Dictionary, Utf8, Int32, Table, Vector } from "apache-arrow";
import {
  datasetRows, readCircuitConfig, normalizePath, isUrl, pathReferences as coreReferences,
  populationsToLoad, checkEdgePopulation, nodePopulationSize, edgesWithoutTheirNodes, nothingLoads,
} from "../../pkg/synparam.js";
import { CircuitError, printable, inFileOf } from "./errors.js";

export { CircuitError } from "./errors.js";


let hdf5Module = null;

/** Make HDF5 errors throw (with HDF5's own message, kept off stderr) instead of printing a
 * diagnostic flood and returning empty results. Call once after `h5wasm.ready`, with its Module. */
export function prepareHdf5(Module) {
  if (hdf5Module === Module) return;
  Module.activate_throwing_error_handler();
  hdf5Module = Module;
}

/** The one line of an HDF5 error stack that says what went wrong (its innermost frame). */
export function hdf5Reason(error) {
  const text = String(error?.message ?? error);
  const frames = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): ([^\n]*)/g)].map((m) => m[1].trim());
  const reason = frames.at(-1) ?? text.split("\n")[0];
  return printable(reason.replace(/, errno = \d+, error message = '([^']*)'/, " ($1)").slice(0, 300));
}

/** Run an h5wasm call, turning an HDF5 error into a CircuitError that names `where`. */
export function hdf5(where, call) {
  try {
    return call();
  } catch (error) {
    if (error instanceof CircuitError) throw error;
    throw new CircuitError(`cannot read HDF5 (${hdf5Reason(error)})`, where);
  }
}

/** Node: circuit files on disk. Names are relative to `root` (the config's folder) or absolute;
 * every method resolves them the same way. */
export function nodeFileSource(root, fs, path) {
  const real = (name) => {
    if (isUrl(name)) throw new CircuitError("is a URL; the command reads circuits from disk", { file: name });
    return path.resolve(root, name);
  };
  return {
    describe: real,
    real,
    readText: async (name) => fs.readFile(real(name), "utf8"),
    kind: async (name) => fs.stat(real(name)).then((s) => (s.isDirectory() ? "dir" : "file"), () => null),
    exists: async (name) => fs.stat(real(name)).then(() => true, () => false),
    byteSize: async (name) => (await fs.stat(real(name))).size,
    h5path: async (name) => real(name),
  };
}

let mountCount = 0;

/** Browser: files given as {relativePath: File|Blob|ArrayBuffer|Uint8Array}, or fetched relative to
 * `baseUrl`. In a Web Worker, File/Blob entries are mounted with WORKERFS (read on demand, never
 * copied whole into memory); fetched files and buffers are written into h5wasm's MEMFS.
 * `fetchInit` (a host's credentials) goes only to the circuit's own origin; a file on another
 * origin is fetched without credentials if that origin is in `allowedOrigins`, else refused. */
export function memorySource(h5wasmModule, { files: given = {}, baseUrl = null, fetchInit = undefined, allowedOrigins = [] } = {}) {
  const FS = h5wasmModule.FS;
  const files = Object.fromEntries(Object.entries(given).map(([name, entry]) => [normalizePath(name), entry]));
  const written = new Map();
  const isBlob = (entry) => entry && typeof entry.arrayBuffer === "function";
  const canMount = typeof FileReaderSync !== "undefined" && Boolean(FS.filesystems?.WORKERFS);
  let mounted = false;
  const storage = {};
  const fetched = new Map();
  // Files chosen one by one lose their folders: a path the config names in a folder is then the
  // given file of the same name, when exactly one has it (the page's "Choose files" input).
  const flat = !baseUrl && Object.keys(files).length > 0 && Object.keys(files).every((n) => !n.includes("/"));
  const aliases = new Map();
  function resolve(name) {
    if (name in files || !flat || !name.includes("/")) return name;
    const base = name.slice(name.lastIndexOf("/") + 1);
    if (!(base in files)) return name;
    // Two paths of the config ending in one name cannot both be that one file: never guess.
    const other = [...aliases].find(([path, given]) => given === base && path !== name);
    if (other) {
      // Fatal for the whole load: the first path already took that file, and may have taken it
      // for the other one's; a partial load would keep that guess.
      throw Object.assign(new CircuitError(`and ${other[0]} both name a file '${base}', and files chosen one by one lose their folders: choose the circuit's folder with the folder input`, { file: name }), { fatal: true });
    }
    aliases.set(name, base);
    return base;
  }
  async function bytes(name) {
    name = resolve(name);
    const entry = files[name];
    if (entry instanceof ArrayBuffer) return new Uint8Array(entry);
    if (entry instanceof Uint8Array) return entry;
    if (isBlob(entry)) return new Uint8Array(await entry.arrayBuffer());
    if (baseUrl) {
      if (!fetched.has(name)) {
        fetched.set(name, (async () => {
          const url = new URL(name, baseUrl);
          const response = await fetchChecked(url, fetchOptions(url));
          if (response.status === 404) throw Object.assign(new CircuitError("does not exist (404 Not Found)", { file: url.href }), { notFound: true });
          if (!response.ok) throw new CircuitError(`cannot fetch (${response.status} ${response.statusText})`, { file: url.href });
          return new Uint8Array(await response.arrayBuffer());
        })());
      }
      return fetched.get(name);
    }
    throw new CircuitError(`does not exist among the given files${flat && name.includes("/") ? " (files chosen one by one lose their folders: choose the circuit's folder with the folder input)" : ""}`, { file: name });
  }
  const circuitOrigin = baseUrl ? new URL(baseUrl).origin : null;
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));
  /** The fetch options for one URL: the host's for its own origin, none elsewhere. */
  function fetchOptions(url) {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new CircuitError(`only http(s) files can be fetched, not ${url.protocol} URLs`, { file: url.href });
    }
    if (url.origin === circuitOrigin) return { ...fetchInit, credentials: fetchInit?.credentials ?? "same-origin" };
    if (allowed.has(url.origin)) return { credentials: "omit", cache: fetchInit?.cache };
    throw new CircuitError(`is on another origin than the circuit (${circuitOrigin}); it is not fetched, so that the host's credentials never leave the circuit's origin (a host can allow the origin: allowed-origins)`, { file: url.href });
  }
  async function fetchChecked(url, options) {
    try {
      return await fetch(url, options);
    } catch (error) {
      const origin = globalThis.location?.origin;
      throw new CircuitError(`cannot fetch (${error.message}): the server did not answer, or it does not let pages of other origins${origin ? ` (this one is ${origin})` : ""} read its files — ` +
        "for that it must send an Access-Control-Allow-Origin header (CORS); the page's Content-Security-Policy (connect-src) may also forbid the origin", { file: url.href });
    }
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
  const isDirectory = (name) => Object.keys(files).some((n) => n.startsWith(`${name}/`));
  const source = {
    describe: (name) => (baseUrl ? new URL(name, baseUrl).href : name),
    readText: async (name) => (isBlob(files[resolve(name)]) ? files[resolve(name)].text() : new TextDecoder().decode(await bytes(name))),
    /** "file", "dir" or null; over HTTP a name is a file when it can be fetched. */
    kind: async (name) => {
      if (resolve(name) in files) return "file";
      if (isDirectory(name)) return "dir";
      if (!baseUrl) return null;
      // Only a 404 says "does not exist"; any other failure (credentials, CORS) is the error.
      return bytes(name).then(() => "file", (error) => (error.notFound ? null : Promise.reject(error)));
    },
    exists: async (name) => (await source.kind(name)) !== null,
    byteSize: async (name) => (isBlob(files[resolve(name)]) ? files[resolve(name)].size : (await bytes(name)).byteLength),
    /** The given File/Blob of a name, if it is one (read it directly rather than through a copy). */
    blobOf: (name) => (isBlob(files[resolve(name)]) ? files[resolve(name)] : null),
    /** The given names (empty when files are fetched from `baseUrl`, which cannot be listed), with
     * the config's paths of files that were chosen without their folders. */
    names: () => [...Object.keys(files), ...aliases.keys()],
    /** How each HDF5 file was made available: "WORKERFS" or "MEMFS". */
    storage: () => ({ ...storage }),
    h5path: async (name) => {
      name = resolve(name);
      if (canMount && isBlob(files[name])) {
        if (!mounted) mountBlobs();
        storage[name] = "WORKERFS";
        return `${mountPoint}/${name}`;
      }
      if (!written.has(name)) {
        const target = `/circuit${mountCount}/${written.size}_${name.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
        try { FS.mkdir(`/circuit${mountCount}`); } catch { /* exists */ }
        FS.writeFile(target, await bytes(name));
        written.set(name, target);
        storage[name] = "MEMFS";
      }
      return written.get(name);
    },
  };
  return source;
}

/** Bytes of each open file: the most storage any of its datasets can occupy. */
const fileBytes = new WeakMap();

/** Open an HDF5 file read-only with a clear error for files that are missing or not HDF5. */
export function openH5(h5wasm, realPath, shownName) {
  let file;
  try {
    file = new h5wasm.File(realPath, "r");
  } catch (error) {
    throw new CircuitError(`not a readable HDF5 file (${hdf5Reason(error)})`, { file: shownName });
  }
  if (!file || file.file_id === undefined || file.file_id < 0n) throw new CircuitError("not a readable HDF5 file", { file: shownName });
  return file;
}

/** The rows of a one-dimensional dataset, as the core checks them against what its file can hold
 * (a damaged or hostile file can claim 10¹² rows in a few kilobytes; design §4). */
function datasetRowsOf(file, dataset, where) {
  const metadata = hdf5(where, () => dataset.metadata);
  const filters = hdf5(where, () => dataset.filters ?? []).map((f) => f.id);
  try {
    return datasetRows(metadata.shape ?? [], metadata.size, fileBytes.get(file) ?? Infinity, filters);
  } catch (error) {
    if (error?.name !== "InputError") throw error; // a defect, not the file's
    throw new CircuitError(error.message, where);
  }
}

/** Open an HDF5 file the circuit names, after checking that it exists. */
async function openNamed(h5wasm, source, name) {
  const shown = source.describe(name);
  const kind = await source.kind(name);
  if (kind === null) throw new CircuitError("does not exist", { file: shown });
  if (kind === "dir") throw new CircuitError("is a folder, not an HDF5 file", { file: shown });
  const file = openH5(h5wasm, await source.h5path(name), shown);
  const size = await source.byteSize?.(name).catch(() => undefined);
  if (size !== undefined) fileBytes.set(file, size);
  return file;
}

function parseNodeTypes(text, fileName) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  if (!lines.length) throw new CircuitError("empty node types file", { file: fileName });
  const header = lines[0].trim().split(/\s+/);
  const idColumn = header.indexOf("node_type_id");
  if (idColumn < 0) throw new CircuitError("no node_type_id column", { file: fileName });
  const rows = new Map();
  for (const [i, line] of lines.slice(1).entries()) {
    const cells = line.trim().split(/\s+/);
    const id = Number(cells[idColumn]);
    if (!Number.isInteger(id)) throw new CircuitError(`line ${i + 2}: node_type_id '${cells[idColumn]}' is not an integer`, { file: fileName });
    rows.set(id, Object.fromEntries(header.map((h, j) => [h, cells[j] === "NULL" ? null : cells[j] ?? null])));
  }
  return { columns: header.filter((h) => h !== "node_type_id"), rows };
}

/** The members of an HDF5 group, or an error naming it when the group is damaged. */
function membersOf(file, path, where) {
  return hdf5({ ...where, dataset: `/${path}` }, () => {
    const group = file.get(path);
    if (!group || typeof group.keys !== "function") throw new CircuitError("missing", { ...where, dataset: `/${path}` });
    return group.keys();
  });
}

/** What a file name says it holds, for a plain file that cannot be opened: "nodes" when its
 * name says nodes (and not edges), else "edges" (a run over every edge population then counts on
 * it, so it is never silently left out). */
function guessedKind(name) {
  const base = name.slice(name.lastIndexOf("/") + 1);
  return /node/i.test(base) && !/edge/i.test(base) ? "nodes" : "edges";
}

/**
 * Load a circuit: from its config when the source has `configName` (a name relative to the
 * source's root), else from plain `.h5` files (`fileNames`). Returns {nodePopulations,
 * edgePopulations, unavailable, config, references}: `references` are every file or folder the
 * config names (the core's readCircuitConfig), each with its resolved `name` (null for an empty value, which
 * SONATA reads as "not set").
 *
 * A node or edge file, or one of its populations, that cannot be read (missing, not HDF5, damaged,
 * its node types CSV missing, …) is not loaded: it is listed in `unavailable` as `{kind: "nodes" |
 * "edges", file (as shown), name (the loader's name), population (null when the file's populations
 * are unknown), message}` — one entry per population the config declares for a file that cannot
 * be read. An edge population whose source or target node population is not loaded is unavailable
 * too, its message saying which node population it needs and why that one failed. Everything else
 * loads. Throws when the config itself cannot be read, or when no edge population can be loaded
 * although something failed (with that one error when a single one is the cause).
 */
export async function loadCircuit(h5wasm, source, { configName = "circuit_config.json", fileNames = [] } = {}) {
  const load = loadState(h5wasm, source);
  const { configFile, nodeFiles, edgeFiles, references } = await circuitFiles(load, configName, fileNames);
  try {
    await loadNodePopulations(load, nodeFiles);
    await loadEdgePopulations(load, edgeFiles);
    dropEdgesWithoutTheirNodes(load);
    refuseWhenNothingLoads(load);
  } catch (error) {
    load.closeAll();
    throw error;
  }
  const { nodePopulations, edgePopulations, unavailable } = load;
  // Files none of whose populations loaded are not held open.
  load.closeAll(new Set([...nodePopulations.values(), ...edgePopulations.values()].map((p) => p.file)));
  return { nodePopulations, edgePopulations, unavailable, config: configFile, references };
}

/** What a load shares between its steps: the populations loaded, what could not be (with the
 * error behind each entry and, for an edge population, the node entries it depended on), and the
 * files open (one h5wasm File per name, shared by its populations, or its error). */
function loadState(h5wasm, source) {
  const load = {
    h5wasm, source,
    nodePopulations: new Map(),
    edgePopulations: new Map(),
    unavailable: [],
    errorOf: new Map(), // unavailable entry → the error that made it (entries of one file share it)
    causesOf: new Map(), // unavailable edge population → the node entries it depends on
    opened: new Map(),
    shownName(name) {
      try {
        return source.describe(name);
      } catch {
        return name;
      }
    },
    /** List what `error` keeps from loading; errors that are not a file's (defects, a fatal
     * ambiguity) stop the whole load. */
    record(kind, name, populations, error) {
      if (!(error instanceof CircuitError) || error.fatal) throw error;
      for (const population of populations?.length ? populations : [null]) {
        const entry = { kind, file: load.shownName(name), name, population, message: error.message };
        load.unavailable.push(entry);
        load.errorOf.set(entry, error);
      }
    },
    failures: new Map(), // key → a read error the core hands back where it decides (loading.rs)
    /** `read()`'s value for the core, or `{failed: key}` keeping its error; null for undefined. */
    fact(read) {
      try {
        return read() ?? null;
      } catch (error) {
        const key = `read-${load.failures.size}`;
        load.failures.set(key, error);
        return { failed: key };
      }
    },
    /** The core's problem (loading.rs `Problem`) as the error to throw: the host's own, or a
     * CircuitError at `where`. */
    problem({ message, dataset, failed }, where) {
      return failed ? load.failures.get(failed) : new CircuitError(message, dataset ? { ...where, dataset } : where);
    },
    /** The unavailable list as the core reads it: each entry's error by key, its causes by index. */
    unavailableForCore() {
      const keys = new Map();
      const keyOf = (error) => keys.get(error) ?? keys.set(error, `error-${keys.size}`).get(error);
      return load.unavailable.map((u) => ({
        kind: u.kind, population: u.population, message: u.message, error: keyOf(load.errorOf.get(u)),
        causes: (load.causesOf.get(u) ?? []).map((c) => load.unavailable.indexOf(c)),
      }));
    },
    async open(name) {
      if (!load.opened.has(name)) load.opened.set(name, await openNamed(h5wasm, source, name).then((file) => ({ file }), (error) => ({ error })));
      const { file, error } = load.opened.get(name);
      if (error) throw error;
      return file;
    },
    closeAll(keep = new Set()) {
      for (const { file } of load.opened.values()) {
        if (!file || keep.has(file)) continue;
        try { file.close(); } catch { /* already closed */ }
      }
    },
  };
  return load;
}

/** The node and edge files of a circuit, and every path it names: from its config (as the core
 * reads it), else from plain `.h5` files (each probed for /nodes and /edges). */
async function circuitFiles(load, configName, fileNames) {
  const { h5wasm, source, record } = load;
  const nodeFiles = []; // {name, nodeTypesFile, populations: {pop: {type}} | null}
  const edgeFiles = [];
  const references = [];
  let configFile = null;
  if (configName && (await source.exists(configName))) {
    const shownConfig = source.describe(configName);
    const configText = await source.readText(configName);
    // What the config names, as the core reads it (paths resolved as libsonata resolves them).
    let read;
    try {
      read = readCircuitConfig(configText, configName);
    } catch (error) {
      throw inFileOf(error, shownConfig);
    }
    configFile = { name: configName, text: configText, json: JSON.parse(configText) };
    for (const reference of read.references) references.push({ keyPath: reference.key_path, value: reference.value, kind: reference.kind, role: reference.role, name: reference.name });
    for (const [files, list] of [[read.node_files, nodeFiles], [read.edge_files, edgeFiles]]) {
      for (const file of files) list.push({ name: file.name, nodeTypesFile: file.node_types_file, populations: file.populations });
    }
  } else {
    if (!fileNames.length) throw new CircuitError(configName ? "does not exist" : "no circuit given: neither a circuit config nor .h5 files", { file: configName ? source.describe(configName) : undefined });
    for (const name of fileNames) {
      let keys;
      try {
        const file = await openNamed(h5wasm, source, name);
        try {
          keys = membersOf(file, "/", { file: source.describe(name) });
        } finally {
          file.close();
        }
        if (!keys.includes("nodes") && !keys.includes("edges")) throw new CircuitError("neither /nodes nor /edges: not a SONATA file", { file: source.describe(name) });
      } catch (error) {
        const kind = guessedKind(name);
        record(kind, name, null, error);
        references.push({ keyPath: null, value: name, name, kind: "file", role: kind });
        continue;
      }
      if (keys.includes("nodes")) nodeFiles.push({ name, nodeTypesFile: null, populations: null });
      if (keys.includes("edges")) edgeFiles.push({ name, populations: null });
      references.push({ keyPath: null, value: name, name, kind: "file", role: keys.includes("edges") ? "edges" : "nodes" });
    }
  }
  return { configFile, nodeFiles, edgeFiles, references };
}

/** Every node population of `nodeFiles` that can be read, with its size and properties (its
 * node-types CSV's columns too); what cannot is recorded. */
async function loadNodePopulations(load, nodeFiles) {
  const { source, record, nodePopulations } = load;
  const shownName = load.shownName;
  const open = load.open;
  const nodeTypesOf = new Map(); // CSV name → {nodeTypes} | {error}
  const readNodeTypes = async (name) => {
    if (!nodeTypesOf.has(name)) {
      const typesShown = source.describe(name);
      nodeTypesOf.set(name, await (async () => {
        if (!(await source.exists(name))) throw new CircuitError("does not exist", { file: typesShown });
        return parseNodeTypes(await source.readText(name), typesShown);
      })().then((nodeTypes) => ({ nodeTypes }), (error) => ({ error })));
    }
    const { nodeTypes, error } = nodeTypesOf.get(name);
    if (error) throw error;
    return nodeTypes;
  };
  for (const entry of nodeFiles) {
    const shown = shownName(entry.name);
    let file;
    let nodeTypes = null;
    let wanted;
    try {
      file = await open(entry.name);
      if (entry.nodeTypesFile) nodeTypes = await readNodeTypes(entry.nodeTypesFile);
      const names = membersOf(file, "nodes", { file: shown });
      const answer = populationsToLoad("nodes", entry.populations ? Object.keys(entry.populations) : null, names, []);
      if (answer.Err) throw new CircuitError(answer.Err, { file: shown });
      wanted = answer.Ok;
    } catch (error) {
      record("nodes", entry.name, entry.populations ? Object.keys(entry.populations) : null, error);
      continue;
    }
    for (const { name, problem } of wanted) {
      try {
        if (problem) throw new CircuitError(problem, { file: shown });
        const where = { file: shown, population: name };
        const members = membersOf(file, `nodes/${name}`, where);
        const group0 = members.includes("0") ? membersOf(file, `nodes/${name}/0`, where) : [];
        const h5Properties = group0.filter((k) => k !== "@library" && k !== "dynamics_params");
        const rowsOf = (dataset) => load.fact(() => {
          const found = hdf5({ ...where, dataset: `/nodes/${name}/${dataset}` }, () => file.get(`nodes/${name}/${dataset}`));
          return found?.shape ? datasetRowsOf(file, found, { ...where, dataset: `/nodes/${name}/${dataset}` }) : null;
        });
        const size = nodePopulationSize([rowsOf("node_type_id"), rowsOf("node_group_id"), h5Properties.length ? rowsOf(`0/${h5Properties[0]}`) : null]);
        if (size.Err) throw load.problem(size.Err, where);
        nodePopulations.set(name, {
          name, file, fileName: shown, size: size.Ok,
          type: entry.populations?.[name]?.type ?? null,
          properties: [...new Set([...h5Properties, ...(nodeTypes?.columns ?? [])])],
          nodeTypes,
        });
      } catch (error) {
        record("nodes", entry.name, [name], error);
      }
    }
  }
}

/** Every edge population of `edgeFiles` that can be read: its ids and group datasets checked
 * (one dimension, sizes the file can hold, lengths that agree), its node populations named. */
async function loadEdgePopulations(load, edgeFiles) {
  const { record, edgePopulations } = load;
  const shownName = load.shownName;
  const open = load.open;
  for (const entry of edgeFiles) {
    const shown = shownName(entry.name);
    let file;
    let wanted;
    try {
      file = await open(entry.name);
      const names = membersOf(file, "edges", { file: shown });
      const answer = populationsToLoad("edges", entry.populations ? Object.keys(entry.populations) : null, names, [...edgePopulations.keys()]);
      if (answer.Err) throw new CircuitError(answer.Err, { file: shown });
      wanted = answer.Ok;
    } catch (error) {
      record("edges", entry.name, entry.populations ? Object.keys(entry.populations) : null, error);
      continue;
    }
    for (const { name, problem } of wanted) {
      try {
        if (problem) throw new CircuitError(problem, { file: shown });
        const where = { file: shown, population: name };
        const base = `edges/${name}`;
        const members = membersOf(file, base, where);
        const dataset = (key) => (members.includes(key) ? hdf5({ ...where, dataset: `/${base}/${key}` }, () => file.get(`${base}/${key}`)) : null);
        const rowsOf = (label) => {
          const column = load.fact(() => dataset(label));
          if (column?.failed) return column;
          return column?.shape ? load.fact(() => datasetRowsOf(file, column, { ...where, dataset: `/${base}/${label}` })) : null;
        };
        const nodePopulationOf = (role) => load.fact(() => {
          const ids = dataset(`${role}_node_id`);
          const value = ids ? hdf5({ ...where, dataset: `/${base}/${role}_node_id` }, () => ids.attrs.node_population?.value) : null;
          return typeof value === "string" ? value : null;
        });
        const shape = checkEdgePopulation({
          name,
          source_rows: rowsOf("source_node_id"), target_rows: rowsOf("target_node_id"),
          group_id_rows: rowsOf("edge_group_id"), group_index_rows: rowsOf("edge_group_index"),
          source_population: nodePopulationOf("source"), target_population: nodePopulationOf("target"),
        });
        if (shape.Err) throw load.problem(shape.Err, where);
        const groups = members.filter((k) => /^\d+$/.test(k));
        const groupMembers = groups.map((g) => membersOf(file, `${base}/${g}`, where));
        edgePopulations.set(name, {
          name, file, fileName: entry.name, shownName: shown, size: shape.Ok.size,
          source: shape.Ok.source, target: shape.Ok.target,
          groups,
          hasGroupIds: shape.Ok.has_group_ids,
          properties: [...new Set(groupMembers.flat())],
          // Datasets every group has: the only ones a per-synapse attribute can be read from.
          sharedProperties: groupMembers.length ? groupMembers.reduce((shared, names) => shared.filter((n) => names.includes(n))) : [],
        });
      } catch (error) {
        record("edges", entry.name, [name], error);
      }
    }
  }
}

/** An edge population is loaded only with both its node populations: else it is recorded,
 * naming the node population it needs and why that one failed. */
function dropEdgesWithoutTheirNodes(load) {
  const { nodePopulations, edgePopulations, unavailable, causesOf, record } = load;
  const loaded = [...edgePopulations.values()].map((e) => ({ name: e.name, source: e.source, target: e.target }));
  const before = [...unavailable];
  for (const { name, message, causes } of edgesWithoutTheirNodes(loaded, [...nodePopulations.keys()], load.unavailableForCore())) {
    const edges = edgePopulations.get(name);
    edgePopulations.delete(name);
    record("edges", edges.fileName, [name], new CircuitError(message, { file: edges.shownName, population: name }));
    if (causes.length) causesOf.set(unavailable.at(-1), causes.map((i) => before[i]));
  }
}

/** Nothing to parameterize: the one error behind it all as it is, else every edge population's
 * (or file's) with its reason. */
function refuseWhenNothingLoads(load) {
  const refusal = nothingLoads(load.edgePopulations.size, load.unavailableForCore());
  if (!refusal) return;
  if (refusal.error !== null && refusal.error !== undefined) {
    const index = load.unavailableForCore().findIndex((u) => u.error === refusal.error);
    throw load.errorOf.get(load.unavailable[index]);
  }
  throw new CircuitError(refusal.message);
}

/** Every path a parsed circuit config names, with where it is: `[{keyPath, value, kind: "file" |
 * "dir", role: "nodes" | "node_types" | "edges" | "edge_types" | "node_sets" | "other"}]` — the
 * core's list (src/output/paths.rs). */
export function pathReferences(config) {
  return coreReferences(JSON.stringify(config)).map((r) => ({ keyPath: r.key_path, value: r.value, kind: r.kind, role: r.role }));
}

/** Values of a node property for every node: strings, or null where the node lacks it. */
export function nodePropertyValues(population, property) {
  const { file, name, size } = population;
  const where = { file: population.fileName, population: name, dataset: `/nodes/${name}/0/${property}` };
  const dataset = hdf5(where, () => file.get(`nodes/${name}/0/${property}`));
  if (dataset) {
    const raw = hdf5(where, () => dataset.value);
    if (raw?.length !== size) throw new CircuitError(`has ${raw?.length} values for ${size} nodes`, where);
    const library = hdf5(where, () => file.get(`nodes/${name}/0/@library/${property}`));
    if (library) {
      const words = hdf5(where, () => library.value);
      return Array.from(raw, (code) => {
        const word = words[Number(code)];
        if (word === undefined) throw new CircuitError(`@library code ${code} outside its ${words.length} values`, where);
        return word;
      });
    }
    return Array.from(raw, (v) => String(v));
  }
  if (population.nodeTypes?.columns.includes(property)) {
    const typeIds = hdf5(where, () => file.get(`nodes/${name}/node_type_id`)?.value);
    if (!typeIds) throw new CircuitError("no node_type_id dataset to look the node types up by", { file: population.fileName, population: name });
    return Array.from(typeIds, (id) => population.nodeTypes.rows.get(Number(id))?.[property] ?? null);
  }
  return null;
}

/** The soma positions of a node population, `{x, y, z}` as Float64Arrays (µm, node id = row), or
 * null when it has none of them (a virtual projection); an error when it has only some, or a
 * length that is not its size. With `read: false`, only whether they are there (`{x: true, …}`). */
export function nodePositions(population, { read = true } = {}) {
  const { file, name, size } = population;
  const axes = ["x", "y", "z"].map((axis) => {
    const where = { file: population.fileName, population: name, dataset: `/nodes/${name}/0/${axis}` };
    const dataset = hdf5(where, () => file.get(`nodes/${name}/0/${axis}`));
    if (!dataset) return null;
    if (!read) return true; // only whether they are there
    const values = new Float64Array(size);
    const raw = hdf5(where, () => dataset.value);
    if (raw?.length !== size) throw new CircuitError(`has ${raw?.length} values for ${size} nodes`, where);
    readInto(values, raw);
    return values;
  });
  if (axes.every((a) => a === null)) return null;
  if (axes.some((a) => a === null)) throw new CircuitError(`has ${["x", "y", "z"].filter((_, i) => axes[i]).join(", ")} but not ${["x", "y", "z"].filter((_, i) => !axes[i]).join(", ")}`, { file: population.fileName, population: name });
  return { x: axes[0], y: axes[1], z: axes[2] };
}

/** A Utf8 Arrow vector built from strings directly (no builders: they compile code with
 * `new Function`, which a strict Content-Security-Policy forbids). */
function utf8Vector(strings) {
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const offsets = new Int32Array(strings.length + 1);
  for (let i = 0; i < encoded.length; i++) offsets[i + 1] = offsets[i] + encoded[i].length;
  const data = new Uint8Array(offsets[strings.length]);
  encoded.forEach((bytes, i) => data.set(bytes, offsets[i]));
  return makeVector(makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets: offsets, data }));
}

/** Dictionary-string Arrow data of per-node values (nulls for missing). */
function dictionaryData(values) {
  const words = [];
  const codeOf = new Map();
  const codes = new Int32Array(values.length);
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((value, i) => {
    if (value === null || value === undefined) {
      nullCount++;
      return;
    }
    let code = codeOf.get(value);
    if (code === undefined) {
      code = words.length;
      codeOf.set(value, code);
      words.push(value);
    }
    codes[i] = code;
    valid[i >> 3] |= 1 << (i & 7);
  });
  const type = new Dictionary(new Utf8(), new Int32());
  return makeData({ type, length: values.length, nullCount, data: codes, nullBitmap: nullCount ? valid : null, dictionary: utf8Vector(words) });
}

/** Arrow IPC of a node population's pathway column (dictionary strings; nulls for missing). */
export function pathwayColumnIpc(values) {
  return tableToIPC(new Table({ pathway: new Vector([dictionaryData(values)]) }), "stream");
}

/** Arrow IPC of a node population's `properties`, one dictionary-string column each (all null
 * where the population lacks one): what rules read (`RuleCompiler.addPopulation`). */
export function nodeTableIpc(population, properties) {
  const columns = {};
  for (const property of properties) {
    columns[property] = new Vector([dictionaryData(nodePropertyValues(population, property) ?? new Array(population.size).fill(null))]);
  }
  if (!properties.length) columns["(none)"] = new Vector([dictionaryData(new Array(population.size).fill(null))]);
  return tableToIPC(new Table(columns), "stream");
}

/** Read `[start, end)` of an edge dataset as a typed array. */
function readSlice(population, dataset, start, end, file = population.file) {
  const where = { file: population.shownName, population: population.name, dataset: `/edges/${population.name}/${dataset}` };
  return hdf5(where, () => file.get(`edges/${population.name}/${dataset}`).slice([[start, end]]));
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

/** Global edge ids `[start, end)`: 32 bits while they fit, 64 beyond. */
function edgeIdRange(start, end) {
  if (end <= 2 ** 32) {
    const ids = new Uint32Array(end - start);
    for (let i = 0; i < ids.length; i++) ids[i] = start + i;
    return ids;
  }
  const ids = new BigUint64Array(end - start);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(start + i);
  return ids;
}

/** The group columns of `[start, end)` as typed arrays the core reads (any integer type, or
 * whole float64 as some files store them). */
function groupColumns(population, start, end, file) {
  return { edge_group_id: readSlice(population, "edge_group_id", start, end, file), edge_group_index: readSlice(population, "edge_group_index", start, end, file) };
}

/** Numeric edge properties of a population's groups among `names`: those whose values a run
 * can read as they were before it (the "before" of a before-and-after view). */
export function existingNumericProperties(population, names, file = population.file) {
  return names.filter((name) => population.groups.some((group) => {
    const metadata = hdf5({ file: population.shownName, population: population.name, dataset: `/edges/${population.name}/${group}/${name}` },
      () => file.get(`edges/${population.name}/${group}/${name}`)?.metadata);
    return metadata && (metadata.type === 0 || metadata.type === 1) && (metadata.shape?.length ?? 1) === 1;
  }));
}

/** The values edge properties `properties` hold at edges `[start, end)`, in edge order, through
 * the group columns (NaN where an edge's group lacks one): `{property: Float64Array}`, the data
 * as it was, read from `file`. The group columns are read once; edges that are one run of one
 * group's rows (every BBP file: group 0, identity index) are read as one slice per property —
 * with `asStored`, that slice as the file stores it (a Float32Array for float32: the core widens
 * it once, `arrow_io::float_column`, instead of a NaN fill and a copy here). */
export function existingEdgeColumns(population, properties, start, end, file = population.file, { asStored = false } = {}) {
  const n = end - start;
  const datasetOf = (group, property) => hdf5({ file: population.shownName, population: population.name, dataset: `/edges/${population.name}/${group}/${property}` },
    () => file.get(`edges/${population.name}/${group}/${property}`));
  const columns = {};
  const contiguous = (group, first) => {
    for (const property of properties) {
      const dataset = datasetOf(group, property);
      const stored = dataset && n > 0 ? dataset.slice([[first, first + n]]) : null;
      if (asStored && ArrayBuffer.isView(stored) && !(stored instanceof BigUint64Array)) {
        columns[property] = stored;
        continue;
      }
      const values = new Float64Array(n).fill(NaN);
      if (stored) readInto(values, stored);
      columns[property] = values;
    }
    return columns;
  };
  if (!population.hasGroupIds) return contiguous("0", start);
  const { edge_group_id: ids, edge_group_index: index } = groupColumns(population, start, end, file);
  const group = Number(ids[0]);
  const first = Number(index[0]);
  let run = n > 0;
  for (let i = 1; run && i < n; i++) run = Number(ids[i]) === group && Number(index[i]) === first + i;
  if (run) return contiguous(String(group), first);
  // Interleaved or permuted groups: each group's rows this chunk uses, gathered.
  const ranges = new Map(); // group → [first row, last row]
  for (let i = 0; i < n; i++) {
    const g = Number(ids[i]);
    const row = Number(index[i]);
    const range = ranges.get(g);
    if (!range) ranges.set(g, [row, row]);
    else if (row < range[0]) range[0] = row;
    else if (row > range[1]) range[1] = row;
  }
  for (const property of properties) {
    const values = new Float64Array(n).fill(NaN);
    for (const [g, [low, high]] of ranges) {
      const dataset = datasetOf(String(g), property);
      if (!dataset) continue;
      const rows = dataset.slice([[low, high + 1]]);
      for (let i = 0; i < n; i++) {
        if (Number(ids[i]) === g) values[i] = Number(rows[Number(index[i]) - low]);
      }
    }
    columns[property] = values;
  }
  return columns;
}

/** Copy numbers (any typed array, BigInt ones too) into a Float64Array. */
function readInto(target, source) {
  if (source instanceof BigInt64Array || source instanceof BigUint64Array) {
    for (let i = 0; i < target.length; i++) target[i] = Number(source[i]);
  } else {
    target.set(source); // a typed array of numbers converts in one native copy
  }
}

/** Chunks of a population's group columns as Arrow IPC, for the core's group layout scan:
 * `{start, end, ipc}`. `file`: read from this copy of the edges file (default: the input). */
export function* groupChunks(population, chunkSize = 1_000_000, { file = population.file } = {}) {
  for (let start = 0; start < population.size; start += chunkSize) {
    const end = Math.min(population.size, start + chunkSize);
    yield { start, end, ipc: tableToIPC(tableFromArrays(groupColumns(population, start, end, file)), "stream") };
  }
}

/**
 * Whether a population's edges come sorted by target (non-decreasing `target_node_id`, as SONATA
 * files are), read chunk by chunk; and, if so, chunk starts of about `chunkSize` edges that fall
 * where the target changes, so that every target's edges — and every connection — lie in one
 * chunk. Returns `{sorted, starts}` (`starts` null when not sorted).
 */
export function targetOrder(population, chunkSize = 1_000_000) {
  let previous = -1;
  let sorted = true;
  const starts = [0];
  let nextCut = chunkSize;
  for (let start = 0; start < population.size && sorted; start += chunkSize) {
    const end = Math.min(population.size, start + chunkSize);
    // 32-bit while the ids fit (a loop over numbers); 64-bit ids as numbers are exact to 2^53.
    const targets = narrowIds(readSlice(population, "target_node_id", start, end));
    for (let i = 0; i < targets.length; i++) {
      const t = Number(targets[i]);
      if (t < previous) {
        sorted = false;
        break;
      }
      if (start + i >= nextCut && t !== previous) {
        starts.push(start + i);
        nextCut = start + i + chunkSize;
      }
      previous = t;
    }
  }
  return { sorted, starts: sorted ? starts : null };
}

/** Edge chunks of a population: {start, end, ipc (source_node_id, target_node_id, edge_id, and the
 * group columns with `withGroups` when the population has them)}. `attributes`: edge datasets
 * added as columns named as the datasets, as stored where one slice reads them, else float64 (the
 * per-synapse attributes a run planned; the core converts them). `starts` (from targetOrder)
 * cuts them at those edges instead of every `chunkSize`; `narrow` sends 32-bit ids while they fit;
 * `file` reads from that copy of the edges file (the output being written: in the browser, a
 * file on disk read faster than the chosen File); `end` stops before that edge (with `starts`, the
 * chunks cover `[starts[0], end)`: one range of a population). */
export function* edgeChunks(population, chunkSize = 1_000_000, { withGroups = false, starts = null, narrow = true, file = population.file, end: stop = population.size, attributes = [] } = {}) {
  const cuts = starts ? [...starts, stop] : null;
  // Read ahead: HDF5 reads of READ_AHEAD_ROWS cost far less per row than many small ones.
  const blockRows = cuts ? 0 : Math.max(chunkSize, Math.floor(READ_AHEAD_ROWS / chunkSize) * chunkSize);
  let block = null;
  const read = (start, end) => {
    const names = ["source_node_id", "target_node_id", ...(withGroups && population.hasGroupIds ? ["edge_group_id", "edge_group_index"] : [])];
    const ids = (name, values) => (narrow && name.endsWith("node_id") ? narrowIds(values) : values);
    const columns = Object.fromEntries(names.map((name) => [name, ids(name, readSlice(population, name, start, end, file))]));
    // Per-synapse attributes the run planned, read ahead with the ids, from the input (never a
    // copy being written).
    if (attributes.length) Object.assign(columns, existingEdgeColumns(population, attributes, start, end, population.file, { asStored: true }));
    return { start, end, columns };
  };
  for (let k = 0, start = cuts ? cuts[0] : 0; start < stop; k++) {
    const end = cuts ? cuts[k + 1] : Math.min(stop, start + chunkSize);
    if (!block || end > block.end) block = read(start, cuts ? end : Math.min(stop, start + blockRows));
    const slice = (name) => block.columns[name].subarray(start - block.start, end - block.start);
    const columns = { source_node_id: slice("source_node_id"), target_node_id: slice("target_node_id"), edge_id: edgeIdRange(start, end) };
    if ("edge_group_id" in block.columns) Object.assign(columns, { edge_group_id: slice("edge_group_id"), edge_group_index: slice("edge_group_index") });
    for (const name of attributes) columns[name] = slice(name);
    yield { start, end, ipc: tableToIPC(tableFromArrays(columns), "stream") };
    start = end;
  }
}

/** Edges read from a file at a time by `edgeChunks` (ids and group columns: 8 MB at most; each
 * planned attribute 2 MB more, as float64). */
const READ_AHEAD_ROWS = 1 << 18;

/** Node properties that name cell classes, most useful first: the pathway property's usual choices. */
export const CATEGORICAL_RANKING = ["synapse_class", "mtype", "etype", "ei", "model_template", "layer", "region", "pop_name", "morph_class", "model_type"];

/** More distinct values than this, and a text property is an identifier (morphology names), not a class. */
const MANY_VALUES = 100;

/**
 * What a node property is, for choosing a pathway property: "categorical" (text, an @library
 * table, or a node_types column of words), "integer", or "float" (coordinates, rotations).
 */
export function nodePropertyKind(population, property) {
  const { file, name } = population;
  const where = { file: population.fileName, population: name, dataset: `/nodes/${name}/0/${property}` };
  const metadata = hdf5(where, () => file.get(`nodes/${name}/0/${property}`)?.metadata);
  if (metadata) {
    if (hdf5(where, () => file.get(`nodes/${name}/0/@library/${property}`))) return "categorical";
    return metadata.type === 0 ? "integer" : metadata.type === 1 ? "float" : "categorical";
  }
  const words = [...(population.nodeTypes?.rows.values() ?? [])].map((row) => row[property]).filter((v) => v != null);
  if (words.length && words.every((w) => /^[-+]?\d+$/.test(w))) return "integer";
  if (words.length && words.every((w) => w.trim() !== "" && Number.isFinite(Number(w)))) return "float";
  return "categorical";
}

/**
 * For each edge population, every node property of its source or target nodes as a pathway
 * property could use it: `{name, kind, values (distinct, sorted; none for floats), distinct,
 * lacking: {nodePopulation: nodes without a value}, shown (false for floats and identifiers:
 * offered only on request)}`, class-like properties first (rankChoices). The key "*" holds
 * the same over all edge populations: what one pathway property selector offers.
 */
export function pathwayPropertyChoices(circuit) {
  const result = {};
  const cache = new Map(); // population\0property → {kind, values, lacking}
  const describe = (population, property) => {
    const key = `${population.name}\u0000${property}`;
    if (!cache.has(key)) {
      if (!population.properties.includes(property)) {
        cache.set(key, { kind: null, values: [], lacking: population.size });
      } else {
        const kind = nodePropertyKind(population, property);
        if (kind === "float") {
          cache.set(key, { kind, values: null, lacking: 0 });
        } else {
          const all = nodePropertyValues(population, property) ?? [];
          let lacking = 0;
          const values = new Set();
          for (const v of all) {
            if (v === null || v === "") lacking++;
            else values.add(v);
          }
          cache.set(key, { kind, values: [...values], lacking });
        }
      }
    }
    return cache.get(key);
  };
  for (const edges of circuit.edgePopulations.values()) {
    const source = circuit.nodePopulations.get(edges.source);
    const target = circuit.nodePopulations.get(edges.target);
    if (!source || !target) continue;
    const names = [...new Set([...source.properties, ...target.properties])];
    const choices = names.map((name) => {
      const s = describe(source, name);
      const t = describe(target, name);
      const kind = [s.kind, t.kind].includes("float") ? "float" : [s.kind, t.kind].includes("categorical") ? "categorical" : "integer";
      const values = kind === "float" ? null : [...new Set([...(s.values ?? []), ...(t.values ?? [])])].sort();
      const lacking = Object.fromEntries([[source.name, s.lacking], [target.name, t.lacking]].filter(([, n]) => n > 0));
      return { name, kind, values, distinct: values?.length ?? null, lacking };
    });
    result[edges.name] = rankChoices(choices);
  }
  // Over all edge populations: kinds and values joined, nodes lacking a value per node population.
  const all = new Map();
  for (const choice of Object.values(result).flat()) {
    const seen = all.get(choice.name);
    if (!seen) {
      all.set(choice.name, structuredClone(choice));
      continue;
    }
    if (seen.kind !== choice.kind) seen.kind = [seen.kind, choice.kind].includes("float") ? "float" : "categorical";
    seen.values = seen.kind === "float" ? null : [...new Set([...(seen.values ?? []), ...(choice.values ?? [])])].sort();
    seen.distinct = seen.values?.length ?? null;
    Object.assign(seen.lacking, choice.lacking);
  }
  result["*"] = rankChoices([...all.values()]);
  return result;
}

/** Choices marked `shown` (class-like: some values, neither float nor identifier-like) and ordered: shown
 * first, then text before integers before floats, CATEGORICAL_RANKING, then by name. */
function rankChoices(choices) {
  const rank = (name) => {
    const i = CATEGORICAL_RANKING.indexOf(name);
    return i < 0 ? CATEGORICAL_RANKING.length : i;
  };
  const kindOrder = { categorical: 0, integer: 1, float: 2 };
  for (const c of choices) c.shown = c.kind !== "float" && c.values.length > 0 && c.values.length <= MANY_VALUES;
  return choices.sort((a, b) => (b.shown - a.shown) || (kindOrder[a.kind] - kindOrder[b.kind]) || (rank(a.name) - rank(b.name)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every node property with a class-like (not float) value on either side of each edge
 * population, with its distinct values (see pathwayPropertyChoices, which says more). */
export function candidatePathwayProperties(circuit, choices = pathwayPropertyChoices(circuit)) {
  return Object.fromEntries(Object.entries(choices).filter(([population]) => population !== "*").map(([population, list]) =>
    [population, Object.fromEntries(list.filter((c) => c.values).map((c) => [c.name, c.values]))]));
}

/** Node properties that tell a node's class, and what their values mean. */
const CLASS_COLUMNS = {
  synapse_class: (v) => (/^exc/i.test(v) ? "E" : /^inh/i.test(v) ? "I" : /^ext/i.test(v) ? "X" : undefined),
  ei: (v) => ({ e: "E", i: "I" })[v],
};

/**
 * The class (E excitatory, I inhibitory, X extrinsic) of each value of `property` on the nodes
 * of the circuit's edge populations, read from the circuit itself: the nodes' own
 * `synapse_class` or `ei`, and virtual populations as extrinsic. Nodes without the property
 * take `fallbackOf(node population)` (the run's fallback value for them, or null). Returns `[{value, counts: {E, I, X, unknown}, basis}]` (sorted by value), where
 * `basis` names the column the class was read from ("synapse_class", "ei", "virtual
 * population"), or is null when the circuit does not say — the caller must not guess silently.
 */
export function pathwayValueClasses(circuit, property, fallbackOf = () => null) {
  const tallies = new Map();
  const seen = new Set();
  const tally = (value) => {
    if (!tallies.has(value)) tallies.set(value, { value, counts: { E: 0, I: 0, X: 0, unknown: 0 }, bases: new Set() });
    return tallies.get(value);
  };
  for (const edges of circuit.edgePopulations.values()) {
    for (const name of [edges.source, edges.target]) {
      const population = circuit.nodePopulations.get(name);
      if (!population || seen.has(name)) continue;
      seen.add(name);
      const values = population.properties.includes(property) ? nodePropertyValues(population, property) : null;
      const column = Object.keys(CLASS_COLUMNS).find((c) => population.properties.includes(c));
      const classes = column ? nodePropertyValues(population, column) : null;
      const virtual = population.type === "virtual";
      const fallback = fallbackOf(name) ?? null;
      for (let i = 0; i < population.size; i++) {
        const raw = values?.[i];
        const value = raw === null || raw === undefined || raw === "" ? fallback : raw;
        if (value === null) continue;
        const entry = tally(value);
        const cls = classes?.[i] == null ? undefined : CLASS_COLUMNS[column](classes[i]);
        if (cls) {
          entry.counts[cls]++;
          entry.bases.add(column);
        } else if (virtual) {
          entry.counts.X++;
          entry.bases.add("virtual population");
        } else {
          entry.counts.unknown++;
        }
      }
    }
  }
  return [...tallies.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .map(({ value, counts, bases }) => ({ value, counts, basis: bases.size ? [...bases].sort().join(", ") : null }));
}

/** Close every HDF5 file the circuit holds open. */
export function closeCircuit(circuit) {
  const files = new Set([...circuit.nodePopulations.values(), ...circuit.edgePopulations.values()].map((p) => p.file));
  for (const file of files) {
    try { file.close(); } catch { /* already closed */ }
  }
}
