// A draw worker's work, the same in a Web Worker (draw_worker.js) and a Node worker thread
// (host/draw_thread.mjs): its own wasm instance of the core, one edge population at a time, and
// chunks of edge ids in → storage-ready blocks (and, if asked, Arrow columns) out. It touches no
// file: the coordinator reads the ids, writes the blocks in order and merges every worker's state
// (statistics, digests) into its own run — design §6.
import { Transfer } from "./protocol.js";

/** Bytes hashed at a time. */
const HASH_SLICE = 8 << 20;

/** `{sha256, crc32, size}` of a Blob or File with the core's `FileDigest`, read once in slices. */
export async function digestOfBlob(FileDigest, blob) {
  const digest = new FileDigest();
  try {
    for (let offset = 0; offset < blob.size; offset += HASH_SLICE) digest.update(new Uint8Array(await blob.slice(offset, offset + HASH_SLICE).arrayBuffer()));
    return { sha256: digest.sha256(), crc32: digest.crc32(), size: blob.size };
  } finally {
    digest.free();
  }
}

/** The methods a draw worker serves, on the core's `initSync`, `Parameterizer` and `FileDigest`. */
export function drawMethods({ initSync, Parameterizer, FileDigest }) {
  let initialized = false;
  let run = null;
  let population = null;
  const instantiate = (module) => {
    if (!initialized) {
      initSync({ module });
      initialized = true;
    }
  };
  return {
    /**
     * Prepare one edge population: `module` (a compiled WebAssembly.Module of the core, shared by
     * the coordinator), the config and seed, the pathway columns, and — to store — the plan's
     * inputs with the coordinator's `layout`, so that this worker places values exactly as it does;
     * `attributes` (`{available, positions}`), the datasets the coordinator's plan saw and the
     * source positions, so that this worker plans the same per-synapse reads.
     */
    async init({ module, configText, seed, name, source, target, pathwayProperty, fallback, plan = null, attributes = null }) {
      instantiate(module);
      run?.free();
      run = new Parameterizer(configText, seed);
      population = name;
      run.addEdgePopulation(name, source.population, source.ipc, target.population, target.ipc, pathwayProperty, fallback);
      if (attributes) {
        run.planEdgeAttributes(name, attributes.available);
        if (attributes.positions) run.setSourcePositions(name, attributes.positions.x, attributes.positions.y, attributes.positions.z);
      }
      run.countConnections = false; // the coordinator counts connections, over every chunk in order
      if (plan) run.planOutput(name, plan.size, plan.existing, plan.groups, plan.overwrite, plan.layout);
      return true;
    },
    /** Draw one chunk (Arrow IPC of ids, with the group columns when storing): `{blocks, bytes,
     * arrow}` with the buffers transferred (copied out of wasm memory, which the next call reuses). */
    async draw({ ipc, store, withArrow }) {
      if (store) {
        const out = run.runChunkStorage(population, ipc, withArrow);
        const bytes = out.bytes.slice();
        const arrow = withArrow ? out.arrow.slice() : null;
        return new Transfer({ blocks: out.blocks, bytes, arrow }, arrow ? [bytes.buffer, arrow.buffer] : [bytes.buffer]);
      }
      if (withArrow) {
        const arrow = run.runChunk(population, ipc);
        return new Transfer({ blocks: [], bytes: null, arrow }, [arrow.buffer]);
      }
      run.runChunkView(population, ipc);
      return { blocks: [], bytes: null, arrow: null };
    },
    /** `{sha256, crc32, size}` of a Blob or File, read once in slices: the page digests a run's
     * files (for the provenance sidecar and the zip) on idle cores while the user looks at the results. */
    async digest({ module, blob }) {
      instantiate(module);
      return digestOfBlob(FileDigest, blob);
    },
    /** What this worker accumulated (statistics, digests), for the coordinator to merge. */
    async finish() {
      const state = run.exportState(population);
      run.free();
      run = null;
      return state;
    },
  };
}
