// synparam in Node: the headless API (`parameterize`) and the whole-circuit writer the command
// uses, with the same loader, wasm core and writer as the page, in-process.
import fs from "node:fs/promises";
import fsSync, { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { initSync, Parameterizer, version } from "../pkg/synparam.js";
import { loadCircuit, nodeFileSource, closeCircuit, CircuitError } from "./loader.js";
import { parameterizeCircuit } from "./parameterize.js";
import { pinObjectTimestamps } from "./writer.js";
import { outputLayout, provenanceDocument, changedInputs, hashInputs, placeOutputs, PROVENANCE_FILE } from "./circuit_output.js";
import { resultsOf } from "./results.js";

let initialized = null;

/** Load the wasm core and h5wasm once per process. */
export function initialize() {
  initialized ??= (async () => {
    const root = path.dirname(fileURLToPath(import.meta.url));
    initSync({ module: await fs.readFile(path.join(root, "../pkg/synparam_bg.wasm")) });
    await h5wasm.ready;
  })();
  return initialized;
}

/** Open a circuit on disk: one circuit_config.json, or plain node and edge .h5 files. */
export async function openCircuit(paths) {
  const files = typeof paths === "string" ? [paths] : paths;
  const isConfig = files.length === 1 && files[0].endsWith(".json");
  const source = nodeFileSource(isConfig ? path.dirname(path.resolve(files[0])) : "/", fs, path);
  const circuit = await loadCircuit(h5wasm, source, isConfig
    ? { configName: path.basename(files[0]) }
    : { configName: "\0no-config", fileNames: files.map((f) => path.resolve(f)) });
  return { circuit, source };
}

/** Hard-link a file where the file system allows (same bytes, no space), else copy it. */
async function linkOrCopy(from, to, copy) {
  await fs.mkdir(path.dirname(to), { recursive: true });
  if (!copy) {
    try {
      await fs.link(from, to);
      return;
    } catch { /* another device, or links not supported: copy */ }
  }
  await fs.copyFile(from, to);
}

/** Mirror a directory tree file by file (links or copies). */
async function mirrorDirectory(from, to, copy) {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) await mirrorDirectory(source, path.join(to, entry.name), copy);
    else await linkOrCopy(source, path.join(to, entry.name), copy);
  }
}

/** Random access to a file on disk, for pinObjectTimestamps. */
function nodeFileAccess(file, writable = false) {
  const fd = fsSync.openSync(file, writable ? "r+" : "r");
  return {
    size: fsSync.fstatSync(fd).size,
    read(offset, length) {
      const bytes = new Uint8Array(length);
      fsSync.readSync(fd, bytes, 0, length, offset);
      return bytes;
    },
    write(offset, bytes) { fsSync.writeSync(fd, bytes, 0, bytes.length, offset); },
    close() { fsSync.closeSync(fd); },
  };
}

async function sha256OfFile(file) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}

async function kindOf(file) {
  const info = await fs.stat(file).catch(() => null);
  return info ? (info.isDirectory() ? "dir" : "file") : null;
}

/** Refuse an output directory that exists and is not empty: the output is a whole circuit. */
async function checkOutputDirectory(outDir) {
  const entries = await fs.readdir(outDir).catch((e) => (e.code === "ENOENT" ? [] : Promise.reject(e)));
  if (entries.length) throw new CircuitError(`output directory ${outDir} is not empty; choose a new or empty --out (inputs are never modified)`);
}

/**
 * Parameterize the circuit at `circuitPaths` into `out` (new or empty), as a whole circuit with
 * the input's layout and a provenance sidecar (see the README). `settings`: {seed,
 * pathwayProperty, fallback, overwrite, populations}; `recorded` (from readProvenance) makes
 * it refuse a circuit whose files differ from the recorded ones. Returns parameterizeCircuit's
 * result plus `{provenance, outDir, warnings}`.
 */
export async function writeParameterizedCircuit({ circuitPaths, configText, settings, out, chunkSize = 1_000_000, copy = false, recorded = null, recordedName = PROVENANCE_FILE, onProgress, shouldStop, keepColumns = false }) {
  await initialize();
  // Validate the model (and seed) before touching any file.
  new Parameterizer(configText, settings.seed).free();
  const { circuit, source } = await openCircuit(circuitPaths);
  const outDir = path.resolve(out);
  const staging = `${outDir}.partial-${process.pid}`;
  try {
    const layout = outputLayout(circuit);
    await checkOutputDirectory(outDir);
    const inputPath = (name) => path.resolve(source.describe(name));
    // Hash every input first: a rerun from provenance must start from the very same circuit.
    const { inputs, notIncluded, warnings } = await hashInputs(layout, {
      probe: async (entry) => (await kindOf(inputPath(entry.input))) ?? { missing: "named by the circuit but does not exist" },
      hash: (name) => sha256OfFile(inputPath(name)),
    });
    if (recorded) {
      const changed = changedInputs(recorded.inputs, inputs);
      if (changed.length) throw new CircuitError(`the circuit differs from the one ${recordedName} records, so the run would not reproduce it: ${changed.join(", ")}`);
    }

    await fs.mkdir(staging, { recursive: true });
    const outputOf = new Map(layout.entries.map((e) => [e.input, path.join(staging, e.output)]));
    const parameterized = new Set();
    // Edge files are copied (never linked: they are modified) and written in place in the staging
    // directory, which becomes --out only when everything succeeded.
    const output = {
      async open(fileName) {
        await fs.mkdir(path.dirname(outputOf.get(fileName)), { recursive: true });
        await fs.copyFile(inputPath(fileName), outputOf.get(fileName));
        return new h5wasm.File(outputOf.get(fileName), "a");
      },
      async finish(fileName, file) {
        file.close();
        pinObjectTimestamps(nodeFileAccess(outputOf.get(fileName), true), nodeFileAccess(inputPath(fileName)));
        parameterized.add(fileName);
      },
      async abandon(fileName, file) {
        try { file.close(); } catch { /* already closed */ }
      },
    };
    const result = await parameterizeCircuit({
      circuit, Parameterizer, configText, ...settings, chunkSize, output, version: version(), onProgress, shouldStop, keepColumns,
    });
    const { outputs, directories } = await placeOutputs(layout, inputs, parameterized, {
      hashWritten: (entry) => sha256OfFile(outputOf.get(entry.input)),
      copyFile: (entry) => linkOrCopy(inputPath(entry.input), outputOf.get(entry.input), copy),
      copyDirectory: (entry) => mirrorDirectory(inputPath(entry.input), outputOf.get(entry.input), copy),
      writeConfig: (output, text) => fs.writeFile(path.join(staging, output), text),
    });
    const provenance = provenanceDocument({
      version: version(), created: new Date().toISOString(), circuitConfig: layout.config?.output ?? null,
      seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback, overwrite: result.overwrite,
      populations: result.requested, configText, results: result.populations, layout, inputs, outputs, directories, notIncluded,
    });
    await fs.writeFile(path.join(staging, PROVENANCE_FILE), `${JSON.stringify(provenance, null, 2)}\n`);
    await fs.rm(outDir, { recursive: true, force: true }); // empty (checked above)
    await fs.rename(staging, outDir);
    result.warnings.push(...warnings);
    return { ...result, provenance, outDir, rewrittenConfig: Boolean(layout.config?.rewritten) };
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    closeCircuit(circuit);
  }
}


/**
 * The headless API in Node, in-process: `circuit` is a circuit_config.json path or a list of .h5
 * paths; `config` the model (JSON text or object); `seed`, `pathwayProperty`, `fallback`,
 * `overwrite`, `populations` as in the task form; `onProgress({done, total})`; `signal` an
 * AbortSignal; with `out`, the parameterized circuit is written there (whole, with provenance).
 * Resolves with `{results: {population: arrow.Table}, stats, warnings, seed, pathwayProperty}`
 * (plus `provenance` and `outDir` with `out`).
 */
export async function parameterize({ circuit, config, seed, pathwayProperty, fallback, overwrite = false, populations = null, onProgress = () => {}, signal, out, chunkSize = 1_000_000, copy = false } = {}) {
  await initialize();
  signal?.throwIfAborted();
  const configText = typeof config === "string" ? config : JSON.stringify(config);
  const settings = { seed, pathwayProperty, fallback, overwrite, populations };
  const common = { onProgress: (done, total) => onProgress({ done, total }), shouldStop: () => Boolean(signal?.aborted), keepColumns: true, chunkSize };
  try {
    if (out) {
      const result = await writeParameterizedCircuit({ circuitPaths: circuit, configText, settings, out, copy, ...common });
      return { ...resultsOf(result), provenance: result.provenance, outDir: result.outDir };
    }
    const { circuit: opened } = await openCircuit(circuit);
    try {
      return resultsOf(await parameterizeCircuit({ circuit: opened, Parameterizer, configText, ...settings, ...common }));
    } finally {
      closeCircuit(opened);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    throw error;
  }
}
