// wasm throughput benchmark (not a timed test): the workloads of benches/workloads.json run on
// pkg/ in Node exactly as a worker runs them in the browser — Arrow IPC built with apache-arrow
// in, runChunk, Arrow IPC out — reporting synapses and values per second and peak memory.
// Run with `node benches/wasm_throughput.mjs` after `make pkg` (or `make bench`).
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { tableToIPC, tableFromArrays, makeTable, vectorFromArray, Dictionary, Utf8, Int8 } from "apache-arrow";
import { initSync, Parameterizer, phaseTimes } from "/tmp/pkg-inst/synparam.js";

const root = new URL("../", import.meta.url);
const wasm = initSync({ module: await readFile("/tmp/pkg-inst/synparam_bg.wasm") });
const spec = JSON.parse(await readFile(new URL("benches/workloads.json", root), "utf8"));
const { chunk_size: chunkSize, synapses_per_connection: perConnection, nodes } = spec;

/** The same edges as benches/throughput.rs: connections sorted by target, scattered sources. */
function edgeChunk(first, len) {
  const source = new BigUint64Array(len);
  const target = new BigUint64Array(len);
  const edgeId = new BigUint64Array(len);
  const n = BigInt(nodes);
  const end = BigInt(first + len);
  const per = BigInt(perConnection);
  for (let i = 0; i < len; i++) {
    const edge = BigInt(first + i);
    const connection = edge / per;
    source[i] = BigInt.asUintN(64, connection * 0x9E3779B97F4A7C15n) % n;
    target[i] = ((connection * per * n) / end) % n;
    edgeId[i] = edge;
  }
  return tableToIPC(tableFromArrays({ source_node_id: source, target_node_id: target, edge_id: edgeId }), "stream");
}

let peakRss = 0;
const sampleMemory = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };

console.log(`wasm in Node ${process.version}, chunks of ${chunkSize} synapses through Arrow IPC`);
console.log(["workload".padEnd(18), "synapses".padStart(11), "seconds".padStart(9), "synapses/s".padStart(14),
  "values/s".padStart(14), "peak RSS MiB".padStart(13), "wasm MiB".padStart(9)].join(" "));
// Every workload runs twice, the first time unreported, so that no row pays for growing wasm
// memory (the browser's worker, too, runs warm after its first chunk).
for (const [index, workload] of spec.workloads.filter((w) => !process.env.ONLY || (w.name + w.synapses).includes(process.env.ONLY)).flatMap((w) => [w, w]).entries()) {
  const config = await readFile(new URL(`www/presets/${workload.preset}`, root), "utf8");
  const values = Array.from({ length: nodes }, (_, i) => workload.classes[i % workload.classes.length]);
  const column = tableToIPC(makeTable({ v: vectorFromArray(values, new Dictionary(new Utf8(), new Int8())) }), "stream");
  const run = new Parameterizer(config, 1);
  run.addEdgePopulation("bench", "nodes", column, "nodes", column, "synapse_class");
  const properties = run.summary.properties.length;
  // Chunks are built before timing (as the native benchmark builds its IPC bytes outside its
  // timer), so that collecting the builder's garbage is not charged to runChunk.
  const chunks = [];
  for (let first = 0; first < workload.synapses; first += chunkSize) chunks.push(edgeChunk(first, Math.min(chunkSize, workload.synapses - first)));
  let elapsed = 0;
  for (const bytes of chunks) {
    const start = performance.now();
    const out = run.runChunkView("bench", bytes);
    elapsed += (performance.now() - start) / 1000;
    if (out.length === 0) throw new Error("empty result");
    sampleMemory();
  }
  const pt = phaseTimes(); if (index % 2) console.log("phases ms per chunk: decode, engine, drop, encode", pt.map((t) => (t / chunks.length).toFixed(2)).join(" "));
  run.statistics();
  run.free();
  const rate = workload.synapses / elapsed;
  if (index % 2 === 0) continue;
  console.log([workload.name.padEnd(18), String(workload.synapses).padStart(11), elapsed.toFixed(3).padStart(9),
    rate.toFixed(0).padStart(14), (rate * properties).toFixed(0).padStart(14),
    (peakRss / 2 ** 20).toFixed(0).padStart(13), (wasm.memory.buffer.byteLength / 2 ** 20).toFixed(0).padStart(9)].join(" "));
}
