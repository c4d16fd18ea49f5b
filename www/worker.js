// Web Worker: runs the wasm core off the main thread. Messages in: {type: "run", config, seed,
// synapses}; out: {type: "progress", done, total}, {type: "result", stats, summary, seconds},
// {type: "error", name, message, path}. Built into www/dist/worker.js by esbuild (make web).
import { tableToIPC, tableFromArrays, makeTable, vectorFromArray, Dictionary, Utf8, Int8 } from "apache-arrow";
import init, { Parameterizer } from "../pkg/synparam.js";

const ready = init({ module_or_path: new URL("../../pkg/synparam_bg.wasm", import.meta.url) });
const CHUNK = 250_000;
const CLASSES = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"];

/** Pathway column of a synthetic synaptome's source nodes (a stand-in until the SONATA loader). */
function pathwayColumn(values) {
  return tableToIPC(makeTable({ synapse_class: vectorFromArray(values, new Dictionary(new Utf8(), new Int8())) }), "stream");
}

self.onmessage = async ({ data }) => {
  if (data.type !== "run") return;
  try {
    await ready;
    const started = performance.now();
    const run = new Parameterizer(data.config, data.seed);
    const sources = 600;
    run.addEdgePopulation("synaptome_afferents", "sources", pathwayColumn(Array.from({ length: sources }, (_, i) => CLASSES[i % 3])),
      "neuron", pathwayColumn(["excitatory_neuron"]), "synapse_class");
    for (let first = 0; first < data.synapses; first += CHUNK) {
      const n = Math.min(CHUNK, data.synapses - first);
      const edgeId = Float64Array.from({ length: n }, (_, i) => first + i);
      const chunk = tableToIPC(tableFromArrays({
        source_node_id: Int32Array.from(edgeId, (e) => Math.floor(e / 4) % sources),
        target_node_id: new Int32Array(n),
        edge_id: Int32Array.from(edgeId),
      }), "stream");
      run.runChunk("synaptome_afferents", chunk);
      self.postMessage({ type: "progress", done: first + n, total: data.synapses });
    }
    self.postMessage({ type: "result", stats: run.statistics(), summary: run.summary, seconds: (performance.now() - started) / 1000 });
    run.free();
  } catch (error) {
    self.postMessage({ type: "error", name: error.name, message: error.message, path: error.path });
  }
};
