// synparam in Node: the headless API (`parameterize`) and the whole-circuit writer the command
// uses, with the same loader, wasm core and writer as the page, in-process.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { initSync, Parameterizer, DatasetDigest, planRun, version, isRulesInput, readRules, RuleCompiler, exportRules } from "../../pkg/synparam.js";
import { loadCircuit, nodeFileSource, closeCircuit, prepareHdf5, openH5, hdf5 } from "../sonata/loader.js";
import { CircuitError } from "../sonata/errors.js";
import { parameterizeCircuit, overridesOf, compileRules, DEFAULT_CHUNK_SIZE, RULES_PATHWAY } from "../run/parameterize.js";
import { publishCircuit } from "../node/publish.mjs";
import { createDrawPool } from "../run/pool.js";
import { nodeEndpoint } from "../run/protocol.js";
import { resultsOf } from "../run/results.js";
export { phaseTimer } from "../run/timings.js";

let initialized = null;
let coreModule = null; // the compiled core, shared with draw threads

/** Load the wasm core and h5wasm once per process. */
export function initialize() {
  initialized ??= (async () => {
    const root = path.dirname(fileURLToPath(import.meta.url));
    coreModule = new WebAssembly.Module(await fs.readFile(path.join(root, "../../pkg/synparam_bg.wasm")));
    initSync({ module: coreModule });
    prepareHdf5(await h5wasm.ready);
  })();
  return initialized;
}

/** Draw workers for a run: one per core by default (`workers`), as Node worker threads. */
export const defaultWorkers = () => os.availableParallelism?.() ?? os.cpus().length;

/** parameterizeCircuit's options for `workers` draw threads. */
function parallelOptions(workers) {
  return {
    workers, module: coreModule,
    createPool: (count) => createDrawPool(() => nodeEndpoint(new Worker(new URL("./draw_thread.mjs", import.meta.url))), count),
  };
}

/** The core's rules functions, for runs whose config is a BBP recipe or synparam rules. */
const RULES = { isRulesInput, readRules, RuleCompiler };

/** Validate a config (a model, a task form, or rules) and its settings before touching files:
 * a model needs a seed from the config or the settings; rules are read (their seed, else 0). */
function validateConfig(configText, settings) {
  if (isRulesInput(configText)) {
    readRules(configText);
    return;
  }
  new Parameterizer(configText, planRun(configText, overridesOf(settings)).settings.seed.value ?? undefined).free();
}

/**
 * What rules (a BBP recipe, synparam rules) do on the circuit at `circuitPaths`, without writing:
 * `{explain, model (the compiled ConnPropsModel, text), rules (synparam's rules JSON, text),
 * summary}`. `populations` limits the edge populations; `strict` refuses rules whose selectors
 * match no node (else they are listed in `explain.rules_matching_nothing`).
 */
export async function explainRules({ circuitPaths, configText, populations = null, chunkSize = DEFAULT_CHUNK_SIZE, strict = false }) {
  await initialize();
  if (!isRulesInput(configText)) throw new CircuitError("--explain needs rules: a BBP recipe (JSON, YAML or XML) or synparam rules");
  const { circuit } = await openCircuit(circuitPaths);
  try {
    const compiled = compileRules({ circuit, RuleCompiler, readRules, rulesText: configText, populations, chunkSize, strict });
    return { explain: compiled.explain, model: compiled.configText, rules: exportRules(configText, RULES_PATHWAY), summary: compiled.summary };
  } finally {
    closeCircuit(circuit);
  }
}

/** Synparam's rules JSON (text) of any config: rules as read, or a matrix model as one rule per
 * cell selecting nodes by `pathwayProperty`. */
export async function rulesOf(configText, pathwayProperty = "synapse_class") {
  await initialize();
  return exportRules(configText, pathwayProperty);
}

/** Open a circuit on disk: one circuit_config.json, or plain node and edge .h5 files. */
export async function openCircuit(paths) {
  const files = typeof paths === "string" ? [paths] : paths;
  const isConfig = files.length === 1 && files[0].endsWith(".json");
  const source = nodeFileSource(isConfig ? path.dirname(path.resolve(files[0])) : "/", fs, path);
  const circuit = await loadCircuit(h5wasm, source, isConfig
    ? { configName: path.basename(files[0]) }
    : { configName: null, fileNames: files.map((f) => path.resolve(f)) });
  return { circuit, source };
}

/**
 * Parameterize the circuit at `circuitPaths` into `out` (new or empty), as a whole circuit with
 * the input's layout and a provenance sidecar, published only complete and verified (see
 * ../node/publish.mjs and docs/reliability.md). `settings`: {seed, pathwayProperty, fallback, overwrite,
 * populations}; `hardlink` links unchanged files instead of copying them; `recorded` (from
 * readProvenance) makes it refuse a circuit whose files differ from the recorded ones; `strict`
 * refuses rules whose selectors match no node (compileRules). Returns
 * parameterizeCircuit's result plus `{provenance, outDir, warnings}`.
 */
export async function writeParameterizedCircuit({ circuitPaths, configText, settings, out, chunkSize = DEFAULT_CHUNK_SIZE, hardlink = false, recorded = null, recordedName = undefined, onProgress, shouldStop, keepColumns = false, workers = defaultWorkers(), timings = null, storageChunkRows = undefined, strict = false }) {
  await initialize();
  timings?.mark("start");
  // Validate the model and the settings (a seed is needed) before touching any file.
  validateConfig(configText, settings);
  const { circuit, source } = await openCircuit(circuitPaths);
  timings?.mark("load circuit");
  try {
    return await publishCircuit({
      circuit, source, out, hardlink, recorded, recordedName, configText, version: version(), DatasetDigest, shouldStop, timings,
      openWritable: (file) => hdf5({ file }, () => new h5wasm.File(file, "a")),
      openReadOnly: (file) => openH5(h5wasm, file, file),
      execute: (output) => parameterizeCircuit({
        circuit, Parameterizer, planRun, configText, ...settings, chunkSize, output, version: version(), onProgress, shouldStop, keepColumns, ...parallelOptions(workers), timings, storageChunkRows, rules: RULES, strict,
      }),
    });
  } finally {
    closeCircuit(circuit);
  }
}

/**
 * The headless API in Node, in-process: `circuit` is a circuit_config.json path or a list of .h5
 * paths; `config` the model (JSON text or object); `seed`, `pathwayProperty`, `fallback`,
 * `overwrite`, `populations` override the config's task form (unset: the config's, else the
 * defaults: `synapse_class`, no fallback, no overwrite, every population); `strict` refuses rules
 * whose selectors match no node; `onProgress({done, total})`; `signal` an
 * AbortSignal; with `out`, the parameterized circuit is written there (whole, with provenance).
 * Resolves with `{results: {population: arrow.Table}, stats, warnings, seed, pathwayProperty}`
 * (plus `provenance` and `outDir` with `out`).
 */
export async function parameterize({ circuit, config, seed, pathwayProperty, fallback, overwrite, populations, strict = false, onProgress = () => {}, signal, out, chunkSize = DEFAULT_CHUNK_SIZE, hardlink = false, workers = defaultWorkers() } = {}) {
  await initialize();
  signal?.throwIfAborted();
  const configText = typeof config === "string" ? config : JSON.stringify(config);
  const settings = { seed, pathwayProperty, fallback, overwrite, populations };
  const common = { onProgress: (done, total) => onProgress({ done, total }), shouldStop: () => Boolean(signal?.aborted), keepColumns: true, chunkSize, strict };
  try {
    if (out) {
      const result = await writeParameterizedCircuit({ circuitPaths: circuit, configText, settings, out, hardlink, workers, ...common });
      return { ...(await resultsOf(result, { tables: true })), provenance: result.provenance, outDir: result.outDir };
    }
    const { circuit: opened } = await openCircuit(circuit);
    try {
      return await resultsOf(await parameterizeCircuit({ circuit: opened, Parameterizer, planRun, configText, ...settings, ...common, ...parallelOptions(workers), rules: RULES }), { tables: true });
    } finally {
      closeCircuit(opened);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    throw error;
  }
}
