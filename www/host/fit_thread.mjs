// A worker thread of a fit (the command's --fit and the Node API's fit() with workers): its own
// wasm instance and h5wasm, the circuit opened read-only, a Fitter with the coordinator's settings
// and edge populations. Per pass it adopts the coordinator's plan, and for each chunk it is given
// reads the chunk and returns the chunk's state as JSON; the coordinator merges the states in
// chunk order (../run/fit.js), so the model is the same bits for any number of threads.
import { parentPort } from "node:worker_threads";
import h5wasm from "h5wasm/node";
import { initSync, Fitter } from "../../pkg/synparam.js";
import { prepareHdf5, closeCircuit } from "../sonata/loader.js";
import { addFitPopulation, chunkColumnNames, chunkState, ChunkStore, defaultKeepMB } from "../run/fit.js";
import { openCircuit } from "./node.mjs";

let fit = null;

/** `{init: {module, circuit, settings, pathwayProperty, populations, distanceReads}}`, `{plan}` or `{chunk:
 * {population, start, end}}`; answers `{}`, `{json}` or `{error: {name, message, path}}`. */
async function handle(message) {
  if (message.init) {
    const { module, circuit, settings, pathwayProperty, populations, distanceReads = {} } = message.init;
    initSync({ module });
    prepareHdf5(await h5wasm.ready);
    const { circuit: opened } = await openCircuit(circuit);
    const fitter = new Fitter(settings, pathwayProperty);
    const cache = new Map();
    for (const name of populations) addFitPopulation(fitter, opened, opened.edgePopulations.get(name), pathwayProperty, cache, false, distanceReads);
    // Chunks this thread read in pass 1, kept for the next passes only when SYNPARAM_FIT_KEEP_MB
    // asks (per thread): chunks go to whichever thread is free, so a thread is handed about one
    // in `threads` of its kept chunks again — measured, no faster than reading them again, for
    // twice the memory (docs/performance.md).
    const keepMB = process.env.SYNPARAM_FIT_KEEP_MB ? defaultKeepMB() : 0;
    fit = { circuit: opened, fitter, names: (population) => chunkColumnNames(JSON.parse(settings), distanceReads, population), store: new ChunkStore(keepMB) };
    return {};
  }
  if (message.plan) {
    fit.fitter.beginPass(message.plan);
    return {};
  }
  const { population, start, end } = message.chunk;
  const state = chunkState(fit.fitter, fit.circuit.edgePopulations.get(population), fit.names(population), start, end, fit.store);
  try {
    return { json: state.toJson() };
  } finally {
    state.free();
  }
}

parentPort.on("message", (message) => {
  if (message.close) {
    if (fit) closeCircuit(fit.circuit);
    parentPort.close();
    return;
  }
  handle(message).then((answer) => parentPort.postMessage(answer), (error) => {
    parentPort.postMessage({ error: { name: error?.name ?? "Error", message: String(error?.message ?? error), path: error?.path ?? null } });
  });
});
