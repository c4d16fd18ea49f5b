// Web Worker: loads a SONATA circuit with h5wasm (files fetched relative to the circuit config's
// URL, or local File objects mounted with WORKERFS) and parameterizes it with the wasm core, off
// the main thread. It serves requests (protocol.js: each with an id, its reply to its caller):
// load, validate, preview, pathways, provenance, run and zip (run and zip one at a time, in order).
// Built into dist/worker.js by esbuild (make web).
import h5wasm from "h5wasm";
import { ZipWriter, BlobWriter, BlobReader, TextReader, Reader } from "@zip.js/zip.js";
import init, { Parameterizer, DatasetDigest, validateConfig, densityPreview, version } from "../../pkg/synparam.js";
import { loadCircuit, memorySource, closeCircuit, candidatePathwayProperties, synapsesPerPathway, prepareHdf5, openH5 } from "../sonata/loader.js";
import { parameterizeCircuit } from "./parameterize.js";
import { pinObjectTimestamps, emscriptenFileAccess, verifyDatasets } from "../sonata/writer.js";
import { outputLayout, outputFiles } from "../sonata/circuit_output.js";
import { provenanceDocument, readProvenance, sha256Stream, sha256OfText, PROVENANCE_FILE } from "./provenance.js";
import { serveWorker, Transfer } from "./protocol.js";

// The wasm sits in pkg/ beside dist/ (the package layout and the served site alike).
const ready = Promise.all([init({ module_or_path: new URL("../pkg/synparam_bg.wasm", import.meta.url) }), h5wasm.ready.then((Module) => {
  prepareHdf5(Module);
  return Module;
})]);

let current = null; // {key, loading: Promise<{source, circuit}>}

/** What the page shows of a loaded circuit. */
function describeCircuit({ source, circuit }) {
  return {
    storage: source.storage(),
    edgePopulations: [...circuit.edgePopulations.values()].map(({ name, source: s, target, size, groups }) => ({ name, source: s, target, size, groups })),
    nodePopulations: [...circuit.nodePopulations.values()].map(({ name, type, size, properties }) => ({ name, type, size, properties })),
    candidates: candidatePathwayProperties(circuit),
  };
}

/** Load (or reuse) the circuit named by a message: a config URL, or local files under the
 * `circuitKey` the main thread gave them (new files, even with the same names, get a new key).
 * Concurrent requests for the same circuit share one load. */
const keyOf = ({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey }) =>
  (circuitUrl ? `${circuitUrl} ${JSON.stringify(fetchInit ?? null)} ${JSON.stringify(allowedOrigins ?? [])}` : `files ${circuitKey ?? Object.keys(files ?? {}).sort().join("|")}`);

function circuitOf({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey }) {
  const key = keyOf({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey });
  if (current?.key === key) return current.loading;
  const previous = current;
  const loading = (async () => {
    const [, Module] = await ready;
    const old = await previous?.loading.catch(() => null);
    if (old) closeCircuit(old.circuit);
    if (lastRun?.circuit === old?.circuit) lastRun = null;
    const source = memorySource(Module, circuitUrl ? { baseUrl: new URL(".", circuitUrl).href, fetchInit, allowedOrigins } : { files });
    const configName = circuitUrl ? new URL(circuitUrl).pathname.split("/").pop() : "circuit_config.json";
    return { source, circuit: await loadCircuit(h5wasm, source, { configName, fileNames: Object.keys(files ?? {}) }) };
  })();
  current = { key, loading };
  // A failed load (e.g. missing credentials) is retried on the next request.
  loading.catch(() => { if (current?.loading === loading) current = null; });
  return loading;
}

let lastRun = null; // what the zip of the parameterized circuit is made from

/** Create every folder of an absolute path in Emscripten's file system. */
function makeDirectories(FS, path) {
  let current = "";
  for (const part of path.split("/").filter(Boolean)) {
    current += `/${part}`;
    try { FS.mkdir(current); } catch { /* exists */ }
  }
}

/** Remove a folder tree of Emscripten's file system (the previous run's outputs). */
function removeTree(FS, path) {
  let names;
  try { names = FS.readdir(path); } catch { return; }
  for (const name of names.filter((n) => n !== "." && n !== "..")) {
    const child = `${path}/${name}`;
    if (FS.isDir(FS.stat(child).mode)) removeTree(FS, child);
    else FS.unlink(child);
  }
  FS.rmdir(path);
}

async function run({ config, seed, pathwayProperty, fallback, overwrite = false, populations = null, chunkSize = 250_000, ...where }, { progress }) {
  const [, Module] = await ready;
  const { FS } = Module;
  const started = performance.now();
  const { source, circuit } = await circuitOf(where);
  const layout = outputLayout(circuit);
  // Outputs stay in MEMFS until the next run, for the zip of the whole circuit.
  if (lastRun) removeTree(FS, lastRun.outRoot);
  lastRun = null;
  const outRoot = `/out/${Date.now()}`;
  const outputOf = new Map(layout.entries.map((e) => [e.input, `${outRoot}/${e.output}`]));
  const output = {
    async open(fileName) {
      makeDirectories(FS, outputOf.get(fileName).slice(0, outputOf.get(fileName).lastIndexOf("/")));
      FS.writeFile(outputOf.get(fileName), FS.readFile(await source.h5path(fileName)));
      return new h5wasm.File(outputOf.get(fileName), "a");
    },
    async finish(fileName, file) {
      file.close();
      pinObjectTimestamps(emscriptenFileAccess(FS, outputOf.get(fileName), true), emscriptenFileAccess(FS, await source.h5path(fileName)));
    },
    async abandon(fileName, file) {
      try { file.close(); } catch { /* already closed */ }
      try { FS.unlink(outputOf.get(fileName)); } catch { /* not written */ }
    },
  };
  const result = await parameterizeCircuit({
    circuit, Parameterizer, configText: config, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, output, keepColumns: true,
    version: version(), onProgress: (done, total) => progress({ done, total }),
  });
  // Verify every written file against what the core drew before anyone can download it.
  const written = new Set(result.populations.map((p) => p.fileName));
  const datasets = {};
  const outputs = [];
  for (const fileName of written) {
    const outputName = layout.entries.find((e) => e.input === fileName).output;
    const file = openH5(h5wasm, outputOf.get(fileName), outputName);
    try {
      datasets[outputName] = {};
      for (const population of result.populations.filter((p) => p.fileName === fileName)) {
        for (const checked of verifyDatasets(file, population.name, population.datasets, DatasetDigest, { shownName: outputName })) {
          datasets[outputName][checked.dataset] = { storage: checked.storage, rows: checked.rows, digest: checked.digest };
        }
      }
    } finally {
      file.close();
    }
    outputs.push({ fileName, output: outputName, bytes: FS.readFile(outputOf.get(fileName)) });
  }
  lastRun = { source, circuit, layout, result, configText: config, outRoot, outputOf, written, datasets, created: new Date().toISOString() };
  const message = { ...result, populations: result.populations.map(({ datasets: _, ...p }) => p) };
  return new Transfer({ ...message, outputs, seconds: (performance.now() - started) / 1000 }, outputs.map((o) => o.bytes.buffer));
}

/** zip.js reader of a file in Emscripten's file system, read in slices as the zip streams. */
class EmscriptenFileReader extends Reader {
  constructor(FS, path) {
    super(path);
    this.FS = FS;
    this.path = path;
  }

  async init() {
    await super.init?.();
    this.size = this.FS.stat(this.path).size;
  }

  async readUint8Array(index, length) {
    const access = emscriptenFileAccess(this.FS, this.path);
    try {
      return access.read(index, Math.max(0, Math.min(length, this.size - index)));
    } finally {
      access.close();
    }
  }
}

const HASH_CHUNK = 8 << 20;

/** SHA-256 of a Blob or an Emscripten file, read in slices. */
async function sha256Of(FS, { blob, path }) {
  const hash = sha256Stream();
  if (blob) {
    for (let offset = 0; offset < blob.size; offset += HASH_CHUNK) hash.update(new Uint8Array(await blob.slice(offset, offset + HASH_CHUNK).arrayBuffer()));
  } else {
    const access = emscriptenFileAccess(FS, path);
    try {
      for (let offset = 0; offset < access.size; offset += HASH_CHUNK) hash.update(access.read(offset, Math.min(HASH_CHUNK, access.size - offset)));
    } finally {
      access.close();
    }
  }
  return hash.hex();
}

/**
 * The last run's whole parameterized circuit as one zip, in the layout of the headless command's
 * --out (same files, same bytes, same sidecar but for its time): the same `outputFiles` plan, so a
 * folder's file never replaces a parameterized one, and every entry name a plain relative path.
 * Streams: inputs are read in slices from their File or the worker's file system, entries are
 * stored (HDF5 barely compresses) and the zip is assembled as a Blob, never as one buffer.
 */
async function zip() {
  if (!lastRun) throw new Error("run a parameterization first");
  const [, Module] = await ready;
  const { FS } = Module;
  const { source, layout, result, configText, outputOf, written, datasets, created } = lastRun;
  const names = source.names();
  const listable = names.length > 0;
  const located = async (name) => ({ blob: source.blobOf(name), path: source.blobOf(name) ? null : await source.h5path(name) });
  const readerOf = async (name) => {
    const where = await located(name);
    return where.blob ? new BlobReader(where.blob) : new EmscriptenFileReader(FS, where.path);
  };
  // What exists: files by name; folders by their listed files (a folder cannot be listed over HTTP).
  const inputs = {};
  const notIncluded = [];
  const warnings = [];
  if (layout.config) inputs[layout.config.input] = await sha256Of(FS, await located(layout.config.input));
  for (const entry of layout.entries) {
    let missing = null;
    if (listable) {
      if (names.includes(entry.input)) entry.kind = "file";
      else if (entry.input === "" || names.some((n) => n.startsWith(`${entry.input}/`))) entry.kind = "dir";
      else missing = "not among the chosen files";
    } else if (entry.kind === "dir") {
      missing = "a directory cannot be listed over HTTP; copy it into the unpacked circuit";
    } else {
      try {
        await source.h5path(entry.input);
      } catch (error) {
        missing = error.message;
      }
    }
    entry.present = missing === null;
    if (!entry.present) {
      notIncluded.push(entry.output || ".");
      warnings.push(`${entry.input || "."}: ${missing}; not included in the output`);
    } else if (entry.kind === "file") {
      inputs[entry.input] = await sha256Of(FS, await located(entry.input));
    }
  }
  const folderFiles = (entry) => names.filter((n) => entry.input === "" || n.startsWith(`${entry.input}/`)).sort()
    .map((n) => ({ relative: entry.input === "" ? n : n.slice(entry.input.length + 1), name: n }));
  const plan = outputFiles(layout, { written, folderFiles, reserved: [PROVENANCE_FILE] });
  const writer = new ZipWriter(new BlobWriter("application/zip"), { level: 0, useWebWorkers: false });
  const outputs = {};
  for (const file of plan) {
    if (file.from === "config") {
      await writer.add(file.output, new TextReader(layout.config.text));
      outputs[file.output] = sha256OfText(layout.config.text);
    } else if (file.from === "written") {
      await writer.add(file.output, new EmscriptenFileReader(FS, outputOf.get(file.entry.input)));
      outputs[file.output] = await sha256Of(FS, { path: outputOf.get(file.entry.input) });
    } else if (file.file) {
      await writer.add(file.output, await readerOf(file.file.name));
    } else {
      await writer.add(file.output, await readerOf(file.entry.input));
      outputs[file.output] = inputs[file.entry.input];
    }
  }
  const directories = layout.entries.filter((e) => e.present && e.kind === "dir").map((e) => e.output || ".");
  const provenance = provenanceDocument({
    version: version(), created, circuitConfig: layout.config?.output ?? null,
    seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback, overwrite: result.overwrite,
    populations: result.requested, configText, results: result.populations, layout, inputs, outputs, datasets, directories, notIncluded,
  });
  await writer.add(PROVENANCE_FILE, new TextReader(`${JSON.stringify(provenance, null, 2)}\n`));
  return { blob: await writer.close(), warnings };
}

serveWorker({
  run,
  zip,
  /** The settings a provenance sidecar records, for "load from a parameterized circuit". */
  async provenance({ text, name }) {
    return readProvenance(text, name);
  },
  /** Density (or mass) of one spec for the editor's live preview: [[x, y], …]. */
  async preview({ spec }) {
    await ready;
    return densityPreview(spec, 160);
  },
  /** Load a circuit (or reuse the loaded one) and describe it. */
  async load(where) {
    return describeCircuit(await circuitOf(where));
  },
  /** Synapses per pathway for a property, for the matrix shown before a run. */
  async pathways({ property, fallback, ...where }) {
    const { circuit } = await circuitOf(where);
    return { property, counts: synapsesPerPathway(circuit, property, fallback ?? null) };
  },
  /** Validate a config with the core: its summary, or its error with the JSON path. */
  async validate({ config }) {
    await ready;
    return validateConfig(config);
  },
}, { exclusive: ["run", "zip"] });
