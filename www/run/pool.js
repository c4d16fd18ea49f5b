// Draw workers for a run (design §6): each its own wasm instance of the core, drawing chunks the
// coordinator reads, the results handed back in chunk order so that the coordinator writes them
// as one worker would — the output is the same, bit for bit, for any number of workers.
import { connectWorker, yieldToEvents } from "./protocol.js";

/** `count` draw workers from `spawn()` (a Web Worker, or a Node worker thread's endpoint). */
export function createDrawPool(spawn, count) {
  const clients = Array.from({ length: count }, () => connectWorker(spawn()));
  const inFlight = new Array(count).fill(0);
  return {
    size: count,
    /** Prepare every worker for one edge population (see draw.js `init`). */
    init(setup) {
      return Promise.all(clients.map((client) => client.call("init", setup)));
    },
    /**
     * Draw every chunk of `chunks` (an iterable of `{start, end, ipc}`; each `ipc` buffer is
     * transferred): at most `depth` chunks in flight per worker, and `onResult(chunk, result)`
     * called (awaited) in chunk order. `shouldStop()` is checked between chunks.
     */
    async drawAll(chunks, { store, withArrow, onResult, shouldStop = () => false, depth = 2 }) {
      const pending = [];
      const stopped = () => Object.assign(new Error("cancelled"), { name: "AbortError" });
      const flush = async () => {
        const { chunk, result } = pending.shift();
        const value = await result;
        if (shouldStop()) throw stopped();
        await onResult(chunk, value);
      };
      try {
        for (const chunk of chunks) {
          if (shouldStop()) throw stopped();
          while (pending.length >= count * depth) await flush();
          const worker = inFlight.indexOf(Math.min(...inFlight));
          inFlight[worker]++;
          const result = clients[worker].call("draw", { ipc: chunk.ipc, store, withArrow }, { transfer: [chunk.ipc.buffer] })
            .finally(() => { inFlight[worker]--; });
          result.catch(() => {}); // observed when flushed
          pending.push({ chunk, result });
          // Let replies in between chunks that are read quickly.
          await yieldToEvents();
        }
        while (pending.length) await flush();
      } catch (error) {
        this.terminate();
        throw error;
      }
    },
    /** Call `method` once per job (its arguments), one job per worker at a time, the workers
     * taking jobs in order: a promise per job, in job order. */
    spread(method, jobs) {
      let next = 0;
      const settle = jobs.map(() => ({}));
      const promises = settle.map((s) => new Promise((resolve, reject) => Object.assign(s, { resolve, reject })));
      for (const client of clients) {
        (async () => {
          for (let i; (i = next++) < jobs.length;) {
            try {
              settle[i].resolve(await client.call(method, jobs[i]));
            } catch (error) {
              settle[i].reject(error);
            }
          }
        })();
      }
      return promises;
    },
    /** Every worker's accumulated state (statistics, digests), as JSON text. */
    finish() {
      return Promise.all(clients.map((client) => client.call("finish")));
    },
    terminate() {
      for (const client of clients) client.terminate();
    },
  };
}
