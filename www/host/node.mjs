// synparam in Node: the headless API (`parameterize`) and the whole-circuit writer the command
// uses, with the same loader, wasm core and writer as the page, in-process.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { initSync, Parameterizer, DatasetDigest, planRun, version, isRulesInput, readRules, RuleCompiler, exportRules, Fitter, FitState, planFit } from "../../pkg/synparam.js";
import { planScan, scanEdgeFiles, scanFileNames, reparameterize, scanOverrides, overrideNodeSetsProblem } from "../../pkg/synparam.js";
import { scanLayout } from "../sonata/circuit_output.js";
import { loadCircuit, nodeFileSource, closeCircuit, prepareHdf5, openH5, hdf5, nodePropertyKind } from "../sonata/loader.js";
import { CircuitError } from "../sonata/errors.js";
import { parameterizeCircuit, overridesOf, compileRules, checkAgainstCircuit, checkRun, DEFAULT_CHUNK_SIZE, RULES_PATHWAY } from "../run/parameterize.js";
import { publishCircuit, publishScan, publishOverridePoint } from "../node/publish.mjs";
import { createDrawPool } from "../run/pool.js";
import { scanHost, inPoint } from "../run/scan.js";
import { nodeEndpoint } from "../run/protocol.js";
import { resultsOf } from "../run/results.js";
import { fitCircuit } from "../run/fit.js";
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

/**
 * What a run of a model (not rules) would do on the circuit at `circuitPaths`, without drawing or
 * writing: the core's check of every edge population (checkAgainstCircuit: `{problems, skipped,
 * populations: [{name, synapses, status, reason, attributes}], existing}`, `attributes` the
 * per-synapse datasets each would read), and the model's `summary`. `settings` as a run takes them.
 */
export async function explainModel({ circuitPaths, configText, settings = {} }) {
  await initialize();
  const { settings: resolved, summary } = planRun(configText, overridesOf(settings));
  const { circuit } = await openCircuit(circuitPaths);
  try {
    return { check: checkAgainstCircuit({ circuit, Parameterizer, configText, settings: resolved, summary }), summary };
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
 * refuses rules whose selectors match no node (compileRules); `parent` (the core's `reparameterize`)
 * is recorded in the sidecar as the run this one changes. Returns
 * parameterizeCircuit's result plus `{provenance, outDir, warnings}`.
 */
export async function writeParameterizedCircuit({ circuitPaths, configText, settings, out, chunkSize = DEFAULT_CHUNK_SIZE, hardlink = false, recorded = null, recordedName = undefined, onProgress, shouldStop, keepColumns = false, workers = defaultWorkers(), timings = null, storageChunkRows = undefined, strict = false, parent = null }) {
  await initialize();
  timings?.mark("start");
  // Validate the model and the settings (a seed is needed) before touching any file.
  validateConfig(configText, settings);
  const { circuit, source } = await openCircuit(circuitPaths);
  timings?.mark("load circuit");
  try {
    return await publishRun({ circuit, source, configText, settings, out, hardlink, recorded, recordedName, onProgress, shouldStop, keepColumns, workers, timings, storageChunkRows, strict, chunkSize, parent });
  } finally {
    closeCircuit(circuit);
  }
}

/** One run of `configText` on an opened circuit, published into `out` (publishCircuit; `parent`
 * and `scan` as it takes them). */
function publishRun({ circuit, source, configText, settings, out, hardlink, recorded = null, recordedName, onProgress, shouldStop, keepColumns = false, workers, timings, storageChunkRows, strict, chunkSize, parent = null, scan = null }) {
  return publishCircuit({
    circuit, source, out, hardlink, recorded, recordedName, configText, version: version(), DatasetDigest, shouldStop, timings, parent, scan,
    openWritable: (file) => hdf5({ file }, () => new h5wasm.File(file, "a")),
    openReadOnly: (file) => openH5(h5wasm, file, file),
    execute: (output, redraw) => parameterizeCircuit({
      circuit, Parameterizer, planRun, configText, ...settings, chunkSize, output, redraw, version: version(), onProgress, shouldStop, keepColumns, ...parallelOptions(workers), timings, storageChunkRows, rules: RULES, strict,
    }),
  });
}

export { isScanConfig } from "../../pkg/synparam.js";

/**
 * A change of a recorded run (`--from-provenance SIDECAR --change PATCH`, the core's
 * `reparameterize`): `{configText}` the patch merged over the recorded config, `parent` the new
 * sidecar's record of the run it changes. Errors name the patch's key or the sidecar's field.
 */
export async function changeOfRun(sidecarText, patchText) {
  await initialize();
  const { model_text: configText, parent } = reparameterize(sidecarText, patchText);
  return { configText, parent };
}

/** Override points select their pathways with node sets of text values: refused (the core's
 * overrideNodeSetsProblem), naming the node population, where the pathway property is stored as
 * numbers. */
function checkTextNodeSets(circuit, pathwayProperty, option) {
  const having = [...circuit.nodePopulations.values()].filter((p) => p.properties?.includes(pathwayProperty));
  const problem = overrideNodeSetsProblem(pathwayProperty, option, having.map((p) => nodePropertyKind(p, pathwayProperty)));
  if (problem) throw new CircuitError(problem.message, { file: having[problem.index].fileName, population: having[problem.index].name });
}

/** The Node API's names of a scan's run settings (the command passes its flags instead). */
const SCAN_OPTION_NAMES = { seed: "seed", pathwayProperty: "pathwayProperty", fallback: "fallback", overwrite: "overwrite", populations: "populations", maxPoints: "maxPoints", scalingsAsOverrides: "scalingsAsOverrides" };

/**
 * Expand the scan config `scanText` (the core's `plan_scan`: more than `maxPoints` — else the
 * config's `max_points`, else 10⁴ — refused; a run setting of `settings` that an axis also sets
 * refused, named by `optionNames`) and check every point against the circuit as a run checks it
 * before drawing (checkRun: pathway values, existing properties and overwrite, edge attributes and
 * positions) before anything is written; then publish it into `out` (new or empty):
 * `out/scan.json`, one verified circuit per point in `out/<point>/` with its sidecar, the files no
 * point changes stored once in `out/shared/` and named from each point's config (design §5.5).
 * `onPlan(plan)` hears the plan, every point checked, before any file is written. Other options as
 * writeParameterizedCircuit, for every point. Returns `{plan, results (per point, as
 * writeParameterizedCircuit's; a point drawn over the first point's files, `redrawn` not null,
 * has the first point's statistics for the properties it kept: the same values), outDir, warnings,
 * outputs}`. With `scalingsAsOverrides`, a point
 * that only scales some pathways' laws (the core's `scalings_as_overrides`) writes no edges files but
 * a circuit config naming point 0's and a SONATA `connection_overrides` fragment (publishOverridePoint);
 * `outputs` says per point how it was written, and why not as overrides.
 */
export async function writeParameterizedScan({ circuitPaths, scanText, maxPoints = null, settings, out, chunkSize = DEFAULT_CHUNK_SIZE, hardlink = false, scalingsAsOverrides = false, onPlan = () => {}, onProgress, shouldStop, workers = defaultWorkers(), timings = null, strict = false, optionNames = SCAN_OPTION_NAMES }) {
  await initialize();
  const given = overridesOf(settings);
  const host = scanHost(given, optionNames, optionNames.maxPoints);
  const { plan, scan_json: planned } = planScan(scanText, maxPoints ?? undefined, host);
  const { outputs, scan_json: scanJsonText } = scalingsAsOverrides ? scanOverrides(plan.points, given, planned) : { outputs: null, scan_json: planned };
  const drawn = (point) => !outputs || outputs[point.index].as === "edges";
  for (const point of plan.points) {
    try {
      validateConfig(point.model_text, settings);
    } catch (error) {
      throw inPoint(error, point);
    }
  }
  const { circuit, source } = await openCircuit(circuitPaths);
  timings?.mark("load circuit");
  try {
    const layouts = new Map();
    for (const point of plan.points) {
      try {
        checkRun({ circuit, Parameterizer, planRun, configText: point.model_text, ...settings, chunkSize, rules: RULES, strict, layouts });
      } catch (error) {
        throw inPoint(error, point);
      }
    }
    if (outputs?.some((o) => o.as === "overrides")) checkTextNodeSets(circuit, planRun(plan.points[0].model_text, given).settings.pathwayProperty.value, optionNames.scalingsAsOverrides ?? "scalingsAsOverrides");
  } catch (error) {
    closeCircuit(circuit);
    throw error;
  }
  timings?.mark("check points");
  onPlan(plan);
  // Which edges files each point writes, decided by the core from what the first point drew.
  const decide = (result) => scanLayout(circuit, scanEdgeFiles(plan.points.filter(drawn).map((p) => p.changes), result.populations.map((p) => ({
    file: p.fileName, properties: p.stats.map((s) => ({ property: s.property, pathways: s.pathways.map(({ source: from, target }) => ({ source: from, target })) })),
  }))));
  try {
    const published = await publishScan({
      out, points: plan.points, scanJsonText, names: scanFileNames(), shouldStop,
      runPoint: (point, pointOut, scan) => (drawn(point)
        ? publishRun({ circuit, source, configText: point.model_text, settings, out: pointOut, hardlink, onProgress, shouldStop, workers, timings, strict, chunkSize, scan: { ...scan, decide, changes: point.changes } })
        : publishOverridePoint({ pointOut, pointName: point.name, baseName: plan.points[0].name, configName: path.basename(typeof circuitPaths === "string" ? circuitPaths : circuitPaths[0]), output: outputs[point.index] })
      ).catch((error) => { throw inPoint(error, point); }),
    });
    return { plan, ...published, outputs };
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

/** A message's answer from a fit's worker thread, one call at a time: the answer, or its error
 * (name and JSON path kept, as the core's errors in this thread). */
function threadCall(worker) {
  let pending = null;
  const settle = (how, value) => {
    const waiting = pending;
    pending = null;
    waiting?.[how](value);
  };
  worker.on("message", (answer) => (answer.error
    ? settle("reject", Object.assign(new Error(answer.error.message), { name: answer.error.name, ...(answer.error.path ? { path: answer.error.path } : {}) }))
    : settle("resolve", answer)));
  worker.on("error", (error) => settle("reject", error));
  worker.on("exit", (code) => settle("reject", new Error(`a fit worker thread exited (${code})`)));
  return (message) => new Promise((resolve, reject) => {
    pending = { resolve, reject };
    worker.postMessage(message);
  });
}

/** `count` worker threads computing a fit's chunk states (./fit_thread.mjs), for fitCircuit's
 * `startWorkers`: each opens the circuit and builds the fit's Fitter; `pass(plan, work)` hands
 * the chunks out one at a time and resolves with their states as JSON, in chunk order. */
async function startFitWorkers(count, { circuit, settings, pathwayProperty, populations, distanceReads }) {
  const threads = Array.from({ length: count }, () => new Worker(new URL("./fit_thread.mjs", import.meta.url)));
  const calls = threads.map(threadCall);
  const terminate = () => threads.forEach((thread) => thread.terminate());
  try {
    await Promise.all(calls.map((call) => call({ init: { module: coreModule, circuit, settings: JSON.stringify(settings), pathwayProperty, populations, distanceReads } })));
  } catch (error) {
    terminate();
    throw error;
  }
  return {
    count,
    terminate,
    async pass(plan, work, shouldStop) {
      await Promise.all(calls.map((call) => call({ plan })));
      const states = new Array(work.length);
      let next = 0;
      await Promise.all(calls.map(async (call) => {
        while (next < work.length) {
          if (shouldStop()) throw new CircuitError("cancelled");
          const i = next++;
          states[i] = (await call({ chunk: work[i] })).json;
        }
      }));
      return states;
    },
  };
}

/** Refuse output files that exist already (a fit never writes over anything: the inputs stay
 * untouched), two outputs on one path, or a folder that is not there, before any work. */
async function refuseExisting(files) {
  const given = files.filter(Boolean).map((f) => path.resolve(f));
  if (new Set(given).size !== given.length) throw new CircuitError("the model and the report cannot be the same file", { file: files[0] });
  for (const file of given) {
    if (await fs.lstat(file).then(() => true, () => false)) throw new CircuitError("exists already; choose a new file (a fit writes only new files)", { file });
    const folder = await fs.stat(path.dirname(file)).catch(() => null);
    if (!folder?.isDirectory()) throw new CircuitError("cannot be written: its folder does not exist", { file });
  }
}

/** Write new files (`[[path, text]]`), all or none: a file written before a later one fails is
 * removed. */
async function writeAllNew(entries) {
  const written = [];
  try {
    for (const [file, text] of entries) {
      await fs.writeFile(file, text, { flag: "wx" }).catch((e) => {
        throw new CircuitError(e.code === "EEXIST" ? "exists already; choose a new file" : `cannot write (${e.code ?? e.message})`, { file });
      });
      written.push(file);
    }
  } catch (error) {
    for (const file of written) await fs.rm(file, { force: true });
    throw error;
  }
}

/**
 * Fit a ConnPropsModel from the circuit at `circuit` (a circuit_config.json path or .h5 paths):
 * connectome-manipulator's extract + build in the core (issue #25, design §10). `pathwayProperty`
 * (required) makes the pathways; `properties`, `populations`, `laws` ({property: law}), `mode`
 * ("cm", "auto" or "empirical"), `minSamples`, `maxSamples`, `seed` (of
 * the keyed subsample), `fallback`, `chunkSize`, `delayBinUm` (a lin_delay fit's distance bin, µm), `options` (more of the core's build options) and
 * `settings` (more of its extraction settings) as fitCircuit (../run/fit.js) takes them; `workers`
 * threads (default: one per core) read and fit the chunks, the model the same bits for any number. With `out` the model is written there and with
 * `reportOut` the report, both new files, written only when the fit succeeded; nothing else is
 * written and the circuit is only read. Resolves with `{model, report, modelText, reportText,
 * settings, populations, notFitted, warnings}`; rejects with an `AbortError` when `signal` aborts
 * (`shouldStop()`: a CircuitError "cancelled"), writing nothing.
 */
export async function fit({ circuit, pathwayProperty, properties = null, laws = null, mode = "cm", minSamples = null, maxSamples = null, seed = 0, populations = null, fallback = null, chunkSize = null, delayBinUm = null, options = {}, settings = null, out = null, reportOut = null, onProgress = () => {}, signal, shouldStop = () => false, timings = null, workers = defaultWorkers() } = {}) {
  await initialize();
  signal?.throwIfAborted();
  if (!pathwayProperty) throw new CircuitError("a fit needs a pathway property (e.g. mtype)");
  const stop = () => Boolean(signal?.aborted) || shouldStop();
  await refuseExisting([out, reportOut]);
  const { circuit: opened } = await openCircuit(circuit);
  timings?.mark("load circuit");
  try {
    const result = await fitCircuit({
      circuit: opened, Fitter, planFit, pathwayProperty, properties, laws, mode, minSamples, maxSamples, seed, populations, fallback,
      chunkRows: chunkSize, delayBinUm, options, settings, onProgress, shouldStop: stop, timings, FitState,
      // Worker threads when there are chunks to share (their states merged in chunk order: the same bits).
      startWorkers: (fitted) => (workers > 1 && fitted.chunks > 1 ? startFitWorkers(Math.min(workers, fitted.chunks), { circuit, ...fitted }) : null),
    });
    if (stop()) throw new CircuitError("cancelled");
    await writeAllNew([[out, result.modelText], [reportOut, result.reportText]].filter(([file]) => file));
    timings?.mark("write the model");
    return result;
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    throw error;
  } finally {
    closeCircuit(opened);
  }
}
