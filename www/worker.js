// Web Worker: loads a SONATA circuit with h5wasm (files fetched relative to the circuit config's
// URL, or local File objects mounted with WORKERFS) and parameterizes it with the wasm core, off
// the main thread, producing the parameterized edge files.
// In: {type: "load", circuitUrl | files}; {type: "validate", config};
//     {type: "run", circuitUrl | files, config, seed, pathwayProperty, fallback, overwrite, chunkSize}.
// Out: {type: "circuit", edgePopulations, nodePopulations, candidates, storage},
// {type: "validation", summary | error}, {type: "progress", done, total},
// {type: "result", populations, warnings, outputs: [{fileName, bytes}], seconds},
// {type: "error", error: {name, message, path}}. Built into www/dist/worker.js by esbuild (make web).
import h5wasm from "h5wasm";
import init, { Parameterizer, validateConfig, densityPreview } from "../pkg/synparam.js";
import { loadCircuit, memorySource, closeCircuit, candidatePathwayProperties, synapsesPerPathway } from "./loader.js";
import { parameterizeCircuit } from "./parameterize.js";

const ready = Promise.all([init({ module_or_path: new URL("../../pkg/synparam_bg.wasm", import.meta.url) }), h5wasm.ready]);

let current = null; // {key, loading: Promise<{source, circuit}>}

/** Load (or reuse) the circuit named by a message: a config URL or local files. Concurrent
 * requests for the same circuit share one load. */
function circuitOf({ circuitUrl, files }) {
  const key = circuitUrl ?? Object.keys(files ?? {}).sort().join("|");
  if (current?.key === key) return current.loading;
  const previous = current;
  const loading = (async () => {
    const [, Module] = await ready;
    const old = await previous?.loading.catch(() => null);
    if (old) closeCircuit(old.circuit);
    const source = memorySource(Module, circuitUrl ? { baseUrl: new URL(".", circuitUrl).href } : { files });
    const configName = circuitUrl ? new URL(circuitUrl).pathname.split("/").pop() : "circuit_config.json";
    const circuit = await loadCircuit(h5wasm, source, { configName, fileNames: Object.keys(files ?? {}) });
    self.postMessage({
      type: "circuit",
      storage: source.storage(),
      edgePopulations: [...circuit.edgePopulations.values()].map(({ name, source: s, target, size, groups }) => ({ name, source: s, target, size, groups })),
      nodePopulations: [...circuit.nodePopulations.values()].map(({ name, type, size, properties }) => ({ name, type, size, properties })),
      candidates: candidatePathwayProperties(circuit),
    });
    return { source, circuit };
  })();
  current = { key, loading };
  return loading;
}

async function run({ config, seed, pathwayProperty, fallback, overwrite = false, chunkSize = 250_000, ...where }) {
  const [, Module] = await ready;
  const { FS } = Module;
  const started = performance.now();
  const { source, circuit } = await circuitOf(where);
  const outputs = [];
  const outPath = (fileName) => `/out/${outputs.length}_${fileName.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  try { FS.mkdir("/out"); } catch { /* exists */ }
  const output = {
    async open(fileName) {
      FS.writeFile(outPath(fileName), FS.readFile(await source.h5path(fileName)));
      return new h5wasm.File(outPath(fileName), "a");
    },
    async finish(fileName, file) {
      file.close();
      const path = outPath(fileName);
      outputs.push({ fileName, bytes: FS.readFile(path) });
      FS.unlink(path);
    },
    async abandon(fileName, file) {
      try { file.close(); } catch { /* already closed */ }
      try { FS.unlink(outPath(fileName)); } catch { /* not written */ }
    },
  };
  const result = await parameterizeCircuit({
    circuit, Parameterizer, configText: config, seed, pathwayProperty, fallback, overwrite, chunkSize, output, keepColumns: true,
    onProgress: (done, total) => self.postMessage({ type: "progress", done, total }),
  });
  self.postMessage({ type: "result", ...result, outputs, seconds: (performance.now() - started) / 1000 }, outputs.map((o) => o.bytes.buffer));
}

const actions = {
  run,
  /** Density (or mass) of one spec for the editor's live preview, or the spec's error. */
  async preview({ spec }) {
    await ready;
    try {
      self.postMessage({ type: "preview", points: densityPreview(spec, 160) });
    } catch (error) {
      self.postMessage({ type: "preview", error: { name: error.name, message: error.message, path: error.path } });
    }
  },
  load: circuitOf,
  /** Synapses per pathway for a property, for the matrix shown before a run. */
  async pathways({ property, fallback, ...where }) {
    const { circuit } = await circuitOf(where);
    self.postMessage({ type: "pathways", property, counts: synapsesPerPathway(circuit, property, fallback ?? null) });
  },
  /** Validate a config with the core: its summary, or the error with its JSON path. */
  async validate({ config }) {
    await ready;
    self.postMessage({ type: "validation", summary: validateConfig(config) });
  },
};

self.onmessage = async ({ data }) => {
  try {
    await actions[data.type]?.(data);
  } catch (error) {
    self.postMessage({ type: data.type === "validate" ? "validation" : "error", error: { name: error.name, message: error.message, path: error.path } });
  }
};
