// The headless API in browsers: the same loader, core and writer as the page, without UI, in a
// worker of its own (terminated when the call settles or is aborted).
import { resultsOf } from "../run/results.js";
import { connectWorker } from "../run/protocol.js";

const BASE_URL = new URL(".", import.meta.url);

/** A circuit as the worker takes it: a config URL, a FileList/File[], or `{files}`/`{buffers}`. */
function circuitMessage(circuit, fetchInit, allowedOrigins) {
  if (typeof circuit === "string" || circuit instanceof URL) return { circuitUrl: new URL(circuit, globalThis.document?.baseURI ?? BASE_URL).href, fetchInit, allowedOrigins };
  if (circuit && (Array.isArray(circuit) || (typeof FileList !== "undefined" && circuit instanceof FileList))) {
    return { files: Object.fromEntries([...circuit].map((f) => [f.webkitRelativePath ? f.webkitRelativePath.slice(f.webkitRelativePath.indexOf("/") + 1) : f.name, f])) };
  }
  if (circuit?.files || circuit?.buffers) return { files: { ...(circuit.files ?? circuit.buffers) } };
  throw new TypeError("circuit: give a circuit_config.json URL, a FileList or File[], or {files: {path: File|ArrayBuffer}}");
}

/**
 * Parameterize a circuit. `config`: the model (JSON text or object); `seed`, `pathwayProperty`,
 * `fallback`, `overwrite`, `populations` override the config's task form (unset: the config's,
 * else the defaults); `strict` refuses rules whose selectors match no node; `onProgress({done, total})`;
 * `signal`: an AbortSignal; `fetchInit`: fetch options (credentials) for a circuit given by URL,
 * sent to that URL's origin only; `allowedOrigins`: other origins the circuit's files may come from
 * (fetched without credentials); `assetsUrl`: where worker.js lives (default: beside this module).
 * Resolves with `{results: {population: arrow.Table}, columns: {population: Blob}, stats:
 * {population: …}, warnings, edges: {path: Blob}, seed, pathwayProperty, settings}` (`settings`:
 * each setting used with its source, `override`, `config` or `default`): `results` holds tables
 * for runs up to 2 M synapses (`columns` always has the Arrow IPC files; `tablesOf` reads them).
 */
export function parameterize({ circuit, config, seed, pathwayProperty, fallback, overwrite, populations, strict, onProgress = () => {}, signal, fetchInit, allowedOrigins, assetsUrl } = {}) {
  const request = {
    ...circuitMessage(circuit, fetchInit, allowedOrigins), config: typeof config === "string" ? config : JSON.stringify(config),
    seed, pathwayProperty, fallback, overwrite, populations, strict,
  };
  if (signal?.aborted) return Promise.reject(signal.reason ?? new DOMException("aborted", "AbortError"));
  const client = connectWorker(new Worker(new URL("worker.js", assetsUrl ?? BASE_URL), { type: "module" }));
  const abort = () => client.terminate(signal.reason ?? new DOMException("aborted", "AbortError"));
  signal?.addEventListener("abort", abort, { once: true });
  return client.call("run", request, { onProgress }).then((data) => resultsOf(data)).finally(() => {
    signal?.removeEventListener("abort", abort);
    client.terminate();
  });
}
