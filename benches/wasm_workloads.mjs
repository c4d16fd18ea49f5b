// The wasm benchmark's workloads, the same in Node and in Chromium: the workloads of
// benches/workloads.json on a pkg/ build, each chunk the browser's way — Arrow IPC built with
// apache-arrow in, `runChunkView`, Arrow IPC out (read in place, as the tool's writers do).
import { tableToIPC, tableFromArrays, makeTable, vectorFromArray, Dictionary, Utf8, Int8 } from "apache-arrow";

/** The same edges as benches/throughput.rs, in the loader's layout (32-bit ids while they fit,
 * as www/sonata/loader.js sends them): connections sorted by target, scattered sources. */
function edgeChunk({ nodes, synapses_per_connection: perConnection }, first, len) {
  const source = new Uint32Array(len);
  const target = new Uint32Array(len);
  const edgeId = new Uint32Array(len);
  const end = first + len;
  for (let i = 0; i < len; i++) {
    const edge = first + i;
    const connection = Math.floor(edge / perConnection);
    source[i] = Number(BigInt.asUintN(64, BigInt(connection) * 0x9E3779B97F4A7C15n) % BigInt(nodes));
    target[i] = Math.floor((connection * perConnection * nodes) / end) % nodes;
    edgeId[i] = edge;
  }
  return tableToIPC(tableFromArrays({ source_node_id: source, target_node_id: target, edge_id: edgeId }), "stream");
}

/**
 * Run every workload of `spec` (benches/workloads.json) with `Parameterizer` from a pkg/ build;
 * `readPreset(name)` gives a preset's text, `peakMemoryMiB()` (optional, untimed, after each
 * chunk) the process's peak memory so far. Returns one row per workload:
 * {name, synapses, seconds, rate, values, wasmMiB, peakMiB}.
 */
export async function runWorkloads({ Parameterizer, memory, spec, readPreset, peakMemoryMiB = () => null }) {
  const { chunk_size: chunkSize, nodes } = spec;
  const rows = [];
  for (const workload of spec.workloads) {
    const config = await readPreset(workload.preset);
    const values = Array.from({ length: nodes }, (_, i) => workload.classes[i % workload.classes.length]);
    const column = tableToIPC(makeTable({ v: vectorFromArray(values, new Dictionary(new Utf8(), new Int8())) }), "stream");
    // Chunks are built before timing (as the native benchmark builds its IPC bytes outside its
    // timer), so that collecting the builder's garbage is not charged to runChunkView.
    const chunks = [];
    for (let first = 0; first < workload.synapses; first += chunkSize) {
      chunks.push(edgeChunk(spec, first, Math.min(chunkSize, workload.synapses - first)));
    }
    // A warm-up run first, unreported, of at least three chunks: V8 compiles wasm functions
    // with its optimizing tier only after their first calls (and cannot switch a running call
    // over), and wasm memory grows to its working size once. The browser's worker, too, runs
    // warm after its first chunks; the native benchmark has neither cost.
    const warmUp = Array.from({ length: Math.max(3, chunks.length) }, (_, i) => chunks[i % chunks.length]);
    for (const [pass, passChunks] of [warmUp, chunks].entries()) {
      const run = new Parameterizer(config, 1);
      run.addEdgePopulation("bench", "nodes", column, "nodes", column, "synapse_class");
      run.countConnections = workload.count_connections ?? false;
      const properties = run.summary.properties.length;
      let seconds = 0;
      let peakMiB = null;
      for (const bytes of passChunks) {
        const start = performance.now();
        const out = run.runChunkView("bench", bytes);
        seconds += (performance.now() - start) / 1000;
        if (out.length === 0) throw new Error("empty result");
        peakMiB = peakMemoryMiB();
      }
      run.statistics();
      run.free();
      if (pass === 0) continue;
      const rate = workload.synapses / seconds;
      rows.push({ name: workload.name, synapses: workload.synapses, seconds, rate, values: rate * properties, wasmMiB: memory.buffer.byteLength / 2 ** 20, peakMiB });
    }
  }
  return rows;
}
