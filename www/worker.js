// Web Worker: loads a SONATA circuit with h5wasm (files fetched relative to the circuit config's
// URL, or given as File objects) and runs the wasm core on it, off the main thread.
// In: {type: "run", circuitUrl | files, config, seed, pathwayProperty, fallback, chunkSize}.
// Out: {type: "circuit", edgePopulations, nodePopulations}, {type: "progress", done, total},
// {type: "result", stats, seconds}, {type: "error", name, message, path}.
// Built into www/dist/worker.js by esbuild (make web).
import h5wasm from "h5wasm";
import init, { Parameterizer } from "../pkg/synparam.js";
import { loadCircuit, memorySource, nodePropertyValues, pathwayColumnIpc, edgeChunks, closeCircuit } from "./loader.js";

const ready = Promise.all([init({ module_or_path: new URL("../../pkg/synparam_bg.wasm", import.meta.url) }), h5wasm.ready]);

async function run({ circuitUrl, files, config, seed, pathwayProperty = "synapse_class", fallback, chunkSize = 250_000 }) {
  const [, Module] = await ready;
  const started = performance.now();
  const source = memorySource(Module, circuitUrl ? { baseUrl: new URL(".", circuitUrl).href } : { files });
  const configName = circuitUrl ? new URL(circuitUrl).pathname.split("/").pop() : "circuit_config.json";
  const circuit = await loadCircuit(h5wasm, source, { configName, fileNames: Object.keys(files ?? {}) });
  try {
    const edgePopulations = [...circuit.edgePopulations.values()];
    self.postMessage({
      type: "circuit",
      storage: source.storage(),
      edgePopulations: edgePopulations.map(({ name, source: s, target, size, groups }) => ({ name, source: s, target, size, groups })),
      nodePopulations: [...circuit.nodePopulations.values()].map(({ name, type, size, properties }) => ({ name, type, size, properties })),
    });
    const total = edgePopulations.reduce((sum, e) => sum + e.size, 0);
    const parameterizer = new Parameterizer(config, seed);
    let done = 0;
    for (const edges of edgePopulations) {
      const columns = ["source", "target"].map((role) => {
        const nodes = circuit.nodePopulations.get(edges[role]);
        return pathwayColumnIpc(nodePropertyValues(nodes, pathwayProperty) ?? new Array(nodes.size).fill(null));
      });
      parameterizer.addEdgePopulation(edges.name, edges.source, columns[0], edges.target, columns[1], pathwayProperty, fallback);
      for (const chunk of edgeChunks(edges, chunkSize)) {
        parameterizer.runChunk(edges.name, chunk.ipc);
        done += chunk.end - chunk.start;
        self.postMessage({ type: "progress", done, total });
      }
    }
    self.postMessage({ type: "result", stats: parameterizer.statistics(), seconds: (performance.now() - started) / 1000 });
    parameterizer.free();
  } finally {
    closeCircuit(circuit);
  }
}

self.onmessage = async ({ data }) => {
  if (data.type !== "run") return;
  try {
    await run(data);
  } catch (error) {
    self.postMessage({ type: "error", name: error.name, message: error.message, path: error.path });
  }
};
