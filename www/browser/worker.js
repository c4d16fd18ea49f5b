// Web Worker: loads a SONATA circuit with h5wasm (files fetched relative to the circuit config's
// URL, or local File objects mounted with WORKERFS) and parameterizes it with the wasm core, off
// the main thread. It serves requests (protocol.js: each with an id, its reply to its caller):
// load, validate, schema, preview, pathways, provenance, run, columns and zip (run, columns and zip
// one at a time, in order).
// Built into dist/worker.js by esbuild (make web).
import h5wasm from "h5wasm";
import init, { Parameterizer, PathwayTally, DatasetDigest, FileDigest, planRun, specSchema, densityPreview, specFormula, version, isRulesInput, readRules, RuleCompiler, exportRules, rulesWithAliases, rulesWithRule, presetRules, Fitter, planFit, fallbackFor, checkRulesSettings, patchBetween, reparameterize, isScanConfig, planScan, scanEdgeFiles, scanFileNames } from "../../pkg/synparam.js";
import { loadCircuit, memorySource, closeCircuit, candidatePathwayProperties, pathwayPropertyChoices, pathwayValueClasses, nodePropertyValues, prepareHdf5, openH5 } from "../sonata/loader.js";
import { CircuitError } from "../sonata/errors.js";
import { parameterizeCircuit, pathwayCounts, overridesOf, checkAgainstCircuit, checkRun, requestedPopulationProblems, existingPropertiesProblem, compileRules, DEFAULT_CHUNK_SIZE, RULES_PATHWAY } from "../run/parameterize.js";

/** The core's rules functions, for runs whose config is a BBP recipe or synparam rules. */
const RULES = { isRulesInput, readRules, RuleCompiler };
import { pinObjectTimestamps, emscriptenFileAccess, verifyDatasets } from "../sonata/writer.js";
import { outputLayout, outputFiles, scanLayout } from "../sonata/circuit_output.js";
import { provenanceDocument, readProvenance, provenanceFileName } from "../run/provenance.js";
import { serveWorker } from "../run/protocol.js";
import { scanHost, inPoint } from "../run/scan.js";
import { phaseTimer } from "../run/timings.js";
import { createDrawPool } from "../run/pool.js";
import { digestOfBlob } from "../run/draw.js";
import { storedZip } from "../run/stored_zip.js";
import { fitCircuit } from "../run/fit.js";
import { outputStores, arrowStreamJoiner } from "./outputs.js";

// The wasm sits in pkg/ beside dist/ (the package layout and the served site alike). It is compiled
// once: this worker's instance and every draw worker's share the module.
const wasmUrl = new URL("../pkg/synparam_bg.wasm", import.meta.url);
const compiled = (async () => {
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new Error(`cannot fetch the synparam core (${response.status}): ${wasmUrl}`);
  return WebAssembly.compileStreaming ? WebAssembly.compileStreaming(response).catch(async () => WebAssembly.compile(await (await fetch(wasmUrl)).arrayBuffer()))
    : WebAssembly.compile(await response.arrayBuffer());
})();
const ready = Promise.all([compiled.then((module) => init({ module_or_path: module })), h5wasm.ready.then((Module) => {
  prepareHdf5(Module);
  return Module;
})]);
const stores = ready.then(([, Module]) => outputStores(Module.FS));

/** Draw workers per run: one per core. */
const drawWorkers = () => Math.max(1, Math.min(8, globalThis.navigator?.hardwareConcurrency ?? 1));
const createPool = (count) => createDrawPool(() => new Worker(new URL("./draw_worker.js", import.meta.url), { type: "module" }), count);

let current = null; // {key, loading: Promise<{source, circuit}>}

/** What the page shows of a loaded circuit. */
function describeCircuit({ source, circuit }) {
  return {
    storage: source.storage(),
    edgePopulations: [...circuit.edgePopulations.values()].map(({ name, source: s, target, size, groups }) => ({ name, source: s, target, size, groups })),
    nodePopulations: [...circuit.nodePopulations.values()].map(({ name, type, size, properties }) => ({ name, type, size, properties })),
    // What could not be loaded, each with its error: a run that needs one of these is refused.
    unavailable: circuit.unavailable.map(({ kind, file, population, message }) => ({ kind, file, population, message })),
    ...(() => {
      const pathwayProperties = pathwayPropertyChoices(circuit);
      return { pathwayProperties, candidates: candidatePathwayProperties(circuit, pathwayProperties) };
    })(),
  };
}

/** Load (or reuse) the circuit named by a message: a config URL, or local files under the
 * `circuitKey` the main thread gave them (new files, even with the same names, get a new key).
 * Concurrent requests for the same circuit share one load. */
const keyOf = ({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey }) =>
  (circuitUrl ? `${circuitUrl} ${JSON.stringify(fetchInit ?? null)} ${JSON.stringify(allowedOrigins ?? [])}` : `files ${circuitKey ?? Object.keys(files ?? {}).sort().join("|")}`);

function circuitOf({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey, duplicateNames = [] }) {
  if (duplicateNames.length) {
    return Promise.reject(new CircuitError(`several chosen files are named ${duplicateNames.map((n) => `'${n}'`).join(", ")}; files chosen one by one lose their folders: choose the circuit's folder with the folder input`));
  }
  const key = keyOf({ circuitUrl, files, fetchInit, allowedOrigins, circuitKey });
  if (current?.key === key) return current.loading;
  const previous = current;
  const loading = (async () => {
    const [, Module] = await ready;
    const old = await previous?.loading.catch(() => null);
    if (old) closeCircuit(old.circuit);
    if (lastRun?.circuit === old?.circuit) lastRun = null;
    if (scanRuns[0]?.circuit === old?.circuit) scanRuns = [];
    const source = memorySource(Module, circuitUrl ? { baseUrl: new URL(".", circuitUrl).href, fetchInit, allowedOrigins } : { files });
    const configName = circuitUrl ? new URL(circuitUrl).pathname.split("/").pop() : "circuit_config.json";
    return { source, circuit: await loadCircuit(h5wasm, source, { configName, fileNames: Object.keys(files ?? {}) }) };
  })();
  current = { key, loading };
  // A failed load (e.g. missing credentials) is retried on the next request.
  loading.catch(() => { if (current?.loading === loading) current = null; });
  return loading;
}

let lastRun = null; // what the zip of the parameterized circuit is made from

/**
 * SHA-256 (for the provenance sidecar) and CRC-32 (for the zip) of a run's files, started as soon
 * as the run ends, in draw workers (each its own core) on the idle cores while the user looks at
 * the results: by the time the zip is asked for, most of it is done. `files`: {key: Blob};
 * returns `{hashes: {key: Promise<{sha256, crc32, size}>}, stop()}` (a newer run stops them).
 */
function backgroundHashes(files, module) {
  const entries = Object.entries(files);
  const pool = createPool(Math.max(1, Math.min(entries.length, drawWorkers())));
  const promises = pool.spread("digest", entries.map(([, blob]) => ({ module, blob })));
  for (const promise of promises) promise.catch(() => {}); // awaited (and so reported) by the zip
  Promise.allSettled(promises).then(() => pool.terminate());
  return { hashes: Object.fromEntries(entries.map(([key], i) => [key, promises[i]])), stop: () => pool.terminate() };
}

/**
 * `validate` of rules (a BBP recipe, synparam rules): read by the core, then compiled against the
 * loaded circuit — the classes of nodes they tell apart, the rule setting each property of each
 * pathway with its synapses, shadowed rules, what is left unset — into the model a run draws.
 * Returns validate's shape (`settings`, `summary`, `base` of the compiled model) plus `rules:
 * {summary, explain}`; without a loaded circuit, the rules' own summary and `compiled: false`.
 */
let compiledRules = null; // {circuit, key, compiled}: the last rules compiled for validation

/** What a run of compiled rules does with each edge population (every synapse is covered, or
 * the compilation failed), what it refuses (populations that cannot be loaded, as a matrix
 * model's), and the properties it writes that the edges already hold — with
 * Overwrite asked for up front, as for a matrix model (a preset applied as rules keeps the offer). */
function rulesRunPlan(circuit, plan) {
  const written = plan.summary.properties.map((p) => p.name);
  const requested = plan.settings.populations.value;
  const populations = [];
  const existing = [];
  for (const edges of circuit.edgePopulations.values()) {
    const entry = { name: edges.name, source: edges.source, synapses: edges.size, status: "parameterized", reason: null, lacking: null, attributes: null };
    populations.push(entry);
    if (requested && !requested.includes(edges.name)) {
      Object.assign(entry, { status: "not asked", reason: "left out: not among the edge populations chosen (here or by the rules)" });
      continue;
    }
    const present = written.filter((name) => edges.properties?.includes(name));
    if (present.length) existing.push({ population: edges.name, properties: present });
  }
  const problems = requestedPopulationProblems(circuit, requested);
  if (existing.length && !plan.settings.overwrite.value) problems.push(existingPropertiesProblem(existing));
  return { problems, skipped: [], populations, existing };
}

async function validateRules(config, overrides) {
  const summary = readRules(config);
  const loaded = current ? await current.loading.catch(() => null) : null;
  // `matrixOnly`: settings the caller keeps for a matrix model and drops for rules (the page's
  // pathway property and fallback, their controls hidden for rules); any other is refused, as a run
  // of rules refuses it.
  const { strict = false, matrixOnly = [], ...given } = overrides;
  for (const name of matrixOnly) delete given[name];
  checkRulesSettings(given.pathwayProperty ?? undefined, given.fallback ?? null); // rules class nodes themselves
  delete given.pathwayProperty;
  if (!loaded) {
    // The rules' own seed as the config's, the page's overrides over it: the settings' notes are
    // the same before a circuit is loaded as after.
    const seed = summary.seed;
    const placeholder = `{"pathway_param_dict": {"src_types": ["all"], "tgt_types": ["all"], "prop_stats": {"rules": {"all": {"all": {"type": "zero"}}}}}, "pathway_property": "${RULES_PATHWAY}"${seed === null || seed === undefined ? "" : `, "random_seed": ${seed}`}}`;
    return { ...planRun(placeholder, overridesOf(given)), base: planRun(placeholder, {}).settings, circuit: null, rules: { summary, explain: null, compiled: false, exported: exportRules(config, RULES_PATHWAY), model: null } };
  }
  // Compiling reads every edge's ids: once per rules text, circuit, populations and strictness,
  // not per validation (the page validates as the user types, and twice per plan).
  const populations = given.populations ?? null;
  const key = JSON.stringify([config, populations, strict]);
  if (compiledRules?.circuit !== loaded.circuit || compiledRules.key !== key) {
    compiledRules = { circuit: loaded.circuit, key, compiled: compileRules({ circuit: loaded.circuit, RuleCompiler, readRules, rulesText: config, populations, strict }) };
  }
  const { compiled } = compiledRules;
  const plan = planRun(compiled.configText, overridesOf(given));
  return {
    ...plan, base: planRun(compiled.configText, {}).settings, circuit: rulesRunPlan(loaded.circuit, plan),
    rules: { summary, explain: compiled.explain, compiled: true, exported: exportRules(config, RULES_PATHWAY), model: compiled.configText },
  };
}

let olderStores = []; // the previous run's (or scan's) outputs, kept while the next run runs
let scanRuns = []; // per point of the last scan (by index): what a zip of that point is made from
let lastScan = null; // {plan, scanJsonText}: the core's plan of the last scan

let lastSidecar = null; // {text, circuit}: the sidecar of the last zip, the run a change names as its parent

/**
 * *Re-run changes only*: the model `config` as a change of the run whose zip was downloaded last —
 * the core's patch between that run's recorded config and `config`, merged over it
 * (reparameterize) and run with that run's recorded settings; the new sidecar names it as the
 * parent, with the patch. What the patch does not change draws the same bits (keyed streams). The
 * command's `--from-provenance SIDECAR --change PATCH` gives the same files.
 */
async function rerunChanges({ config, seed, pathwayProperty, fallback, overwrite, populations, strict = false, ...rest }, context) {
  if (!lastSidecar) throw new CircuitError("download the zip of a run first: a change names the run it changes by that zip's parameterization.json");
  const { circuit } = await circuitOf(rest);
  if (circuit !== lastSidecar.circuit) throw new CircuitError("the run of the last zip was made on another circuit: parameterize this one anew");
  const recorded = readProvenance(lastSidecar.text);
  // A setting set in the page that differs from the recorded run's changes every value: a new run.
  const canonical = (value) => JSON.stringify(value && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort()) : value);
  const given = { seed: seed === undefined || seed === null ? seed : String(seed), pathwayProperty, fallback, overwrite, populations };
  const was = { seed: String(recorded.seed), pathwayProperty: recorded.pathwayProperty, fallback: recorded.fallback ?? null, overwrite: recorded.overwrite, populations: recorded.populations ?? null };
  const differs = Object.keys(given).filter((name) => given[name] !== undefined && given[name] !== null && canonical(given[name]) !== canonical(was[name]));
  if (differs.length) {
    throw new CircuitError(`${differs.map((name) => `${name} ${canonical(given[name])} (the run of the last zip: ${canonical(was[name])})`).join(", ")}: a setting changes every value — a new run (Parameterize), not a change of that one`);
  }
  const patch = patchBetween(recorded.configText, config);
  const { model_text: changed, parent } = reparameterize(lastSidecar.text, patch);
  return run({
    ...rest, config: changed, seed: recorded.seed, pathwayProperty: recorded.pathwayProperty, fallback: recorded.fallback,
    overwrite: recorded.overwrite, populations: recorded.populations, strict, parent,
  }, context);
}

/** The page's names of the run settings it sets for every point of a scan, as the core's
 * `planScan` names them when an axis sets one too (the command names its flags). */
const PAGE_OPTION_NAMES = { seed: "the page's Seed", pathwayProperty: "the page's Pathway property", fallback: "the page's Fallback value", overwrite: "the page's Overwrite", populations: "the edge populations chosen in the page" };

/** The core's plan of a scan config (`planScan`: its points, each a plain config, validated; a
 * page setting an axis also sets refused, naming both) with the page's settings `given`. */
function scanPlanOf(config, given) {
  const { plan, scan_json: scanJsonText } = planScan(config, undefined, scanHost(overridesOf(given), PAGE_OPTION_NAMES));
  return { plan, scanJsonText };
}


/** What the page shows of a scan: the core's plan without the points' configs. */
const scanSummary = (plan) => ({
  mode: plan.mode, kind: plan.kind, notes: plan.notes, axes: plan.axes,
  points: plan.points.map(({ name, index, values, value_indices: valueIndices, changes }) => ({ name, index, values, valueIndices, changes })),
});

/**
 * `validate` of a scan config: the core's plan (its errors as a config's), the first point
 * validated as a model is (the editor and settings show it), every point checked against the
 * loaded circuit (what a run of it would refuse, named by the point). Returns validate's shape
 * plus `scan` (scanSummary).
 */
async function validateScan(config, overrides, where) {
  const { strict = false, matrixOnly = [], ...given } = overrides;
  const { plan } = scanPlanOf(config, given);
  const first = plan.points[0].model_text;
  if (isRulesInput(first)) return { ...await validateRules(first, overrides), scan: scanSummary(plan) };
  const settings = [];
  for (const point of plan.points) {
    try {
      settings.push(planRun(point.model_text, overridesOf(given)));
    } catch (error) {
      throw inPoint(error, point);
    }
  }
  let circuit = null;
  if (where && current?.key === keyOf(where)) {
    const loaded = await current.loading.catch(() => null);
    if (loaded) {
      plan.points.forEach((point, i) => {
        const checked = checkAgainstCircuit({ circuit: loaded.circuit, Parameterizer, configText: point.model_text, settings: settings[i].settings, summary: settings[i].summary });
        if (i === 0) circuit = { ...checked, problems: [] };
        circuit.problems.push(...checked.problems.map((problem) => `scan point ${point.name}: ${problem}`));
      });
      circuit.problems = [...new Set(circuit.problems)];
    }
  }
  return { ...settings[0], base: planRun(first, {}).settings, circuit, scan: scanSummary(plan) };
}

/**
 * *Parameterize* of a scan config: every point checked as a run checks it before drawing (before
 * any point runs), then each point run in turn, its outputs kept (a zip per point) — as the
 * command's `--config SCAN --out DIR`, in memory. Progress: `{done, total, point, points}`.
 * Returns `{scan (scanSummary), points: [run's reply, with `point` its name]}`.
 */
async function runScan({ config, strict = false, chunkSize = DEFAULT_CHUNK_SIZE, ...args }, { progress }) {
  await ready;
  const { seed, pathwayProperty, fallback, overwrite, populations } = args;
  const { plan, scanJsonText } = scanPlanOf(config, { seed, pathwayProperty, fallback, overwrite, populations });
  const { circuit } = await circuitOf(args);
  const layouts = new Map();
  for (const point of plan.points) {
    try {
      checkRun({ circuit, Parameterizer, planRun, configText: point.model_text, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, rules: RULES, strict, layouts });
    } catch (error) {
      throw inPoint(error, point);
    }
  }
  await retireRuns();
  lastScan = { plan, scanJsonText };
  const points = [];
  for (const point of plan.points) {
    const each = { progress: (p) => progress({ ...p, point: point.index, points: plan.points.length }) };
    try {
      const { reply, record } = await runOnce({ ...args, config: point.model_text, strict, chunkSize, columns: false }, each, { hash: false });
      scanRuns.push(record);
      points.push({ ...reply, point: point.name });
    } catch (error) {
      throw inPoint(error, point);
    }
  }
  return { scan: scanSummary(plan), points };
}

/** A run: its outputs in a store of their own, the zip made from it (`lastRun`). */
async function run(args, context) {
  await retireRuns();
  const { reply, record } = await runOnce(args, context);
  lastRun = record;
  return reply;
}

/** The previous run's (or scan's) outputs stay while the next one runs (a host may still read
 * their Files); the ones before go, their Files with them. */
async function retireRuns() {
  lastRun?.hashing.stop();
  for (const store of olderStores) await store.clear();
  olderStores = [lastRun?.store, ...scanRuns.map((r) => r.store)].filter(Boolean);
  lastRun = null;
  scanRuns = [];
}

/** One run into a new store: `{reply}` what the caller gets, `{record}` what a zip is made from.
 * `hash`: start the sidecar's hashes of the written files now (a scan's points: at their zip). */
async function runOnce({ config, seed, pathwayProperty, fallback, overwrite, populations, strict = false, chunkSize = DEFAULT_CHUNK_SIZE, workers = drawWorkers(), columns = true, parent = null, ...where }, { progress }, { hash = true } = {}) {
  const [, Module] = await ready;
  const { FS } = Module;
  const started = performance.now();
  const timings = phaseTimer();
  const { source, circuit } = await circuitOf(where);
  timings.mark("load circuit");
  const layout = outputLayout(circuit);
  const store = await (await stores).create();
  try {
    const pathOf = new Map();
    const output = {
      async open(fileName) {
        timings.mark("run");
        // A chosen File is read as a Blob (large slices, asynchronously); a fetched file from MEMFS.
        const blob = source.blobOf(fileName);
        const input = blob ? null : emscriptenFileAccess(FS, await source.h5path(fileName));
        try {
          pathOf.set(fileName, await store.copy(`edges:${fileName}`, blob ?? input));
        } finally {
          input?.close();
        }
        timings.mark("copy edges");
        return new h5wasm.File(pathOf.get(fileName), "a");
      },
      async finish(fileName, file) {
        file.close();
        pinObjectTimestamps(emscriptenFileAccess(FS, pathOf.get(fileName), true), emscriptenFileAccess(FS, await source.h5path(fileName)));
        timings.mark("pin timestamps");
      },
      async abandon(fileName, file) {
        try { file.close(); } catch { /* already closed */ }
      },
    };
    // With `columns`, the drawn columns go to the store as Arrow IPC, one stream per population,
    // never whole in memory; without, `columns` (the request) draws them again when asked.
    const columnStreams = columnsInto(store);
    const result = await parameterizeCircuit({
      circuit, Parameterizer, planRun, configText: config, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, output,
      onColumns: columns ? columnStreams.add : null,
      version: version(), onProgress: (done, total) => progress({ done, total }), workers, createPool, module: await compiled, timings,
      previousValues: true, // the page shows the file's values before beside the new ones
      rules: RULES, strict,
    });
    // Verify every written file against what the core drew before anyone can download it.
    const written = new Set(result.populations.map((p) => p.fileName));
    const datasets = {};
    const outputs = [];
    for (const fileName of written) {
      const outputName = layout.entries.find((e) => e.input === fileName).output;
      const file = openH5(h5wasm, pathOf.get(fileName), outputName);
      try {
        datasets[outputName] = {};
        for (const population of result.populations.filter((p) => p.fileName === fileName)) {
          for (const checked of verifyDatasets(file, population.name, population.datasets, DatasetDigest, { shownName: outputName })) {
            datasets[outputName][checked.dataset] = { storage: checked.storage, rows: checked.rows, digest: checked.digest };
          }
        }
      } finally {
        file.close();
      }
      outputs.push({ fileName, output: outputName, file: await store.file(`edges:${fileName}`) });
    }
    timings.mark("verify datasets");
    const populationsOut = [];
    for (const { datasets: _, ...population } of result.populations) {
      populationsOut.push({ ...population, columns: columns ? await columnStreams.finish(population.name) : null });
    }
    // The sidecar's hashes of the written files and of the edges files they replace begin now.
    const toHash = {};
    for (const o of outputs) toHash[`written:${o.fileName}`] = o.file;
    for (const fileName of written) if (source.blobOf(fileName)) toHash[`input:${fileName}`] = source.blobOf(fileName);
    const hashing = hash ? backgroundHashes(toHash, await compiled) : { hashes: {}, stop() {} };
    const record = { source, circuit, layout, result, configText: config, store, outputs, written, datasets, hashing, chunkSize, workers, parent, created: new Date().toISOString() };
    timings.mark("columns");
    return { record, reply: { ...result, parent, populations: populationsOut, outputs, storage: store.kind, workers, timings: timings.phases(), seconds: (performance.now() - started) / 1000 } };
  } catch (error) {
    await store.clear();
    throw error;
  }
}

/** Arrow IPC streams of drawn columns in a run's store, one per population: `add(population,
 * ipc)` appends a chunk's columns, `finish(population)` gives the File. */
function columnsInto(store) {
  const joiners = new Map();
  return {
    async add(population, ipc) {
      if (!joiners.has(population)) joiners.set(population, arrowStreamJoiner(await store.appender(`arrow:${population}`)));
      joiners.get(population).add(ipc);
    },
    async finish(population) {
      joiners.get(population)?.finish();
      joiners.delete(population);
      return store.file(`arrow:${population}`);
    },
  };
}

/**
 * The drawn columns of one edge population of the last run, as an Arrow IPC File (rows in edge
 * order), for a run made without them: drawn again with the run's settings — keyed streams give
 * the same bits — without writing anything.
 */
async function columns({ population }, { progress }) {
  if (!lastRun) throw new Error("run a parameterization first");
  const { circuit, result, configText, store, chunkSize, workers } = lastRun;
  const known = result.populations.find((p) => p.name === population);
  if (!known) throw new Error(`edge population '${population}' was not parameterized by the last run`);
  const streams = columnsInto(store);
  await parameterizeCircuit({
    circuit, Parameterizer, planRun, configText, seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback ?? undefined,
    overwrite: result.overwrite, populations: [population], chunkSize, onColumns: streams.add,
    onProgress: (done, total) => progress({ done, total }), workers, createPool, module: await compiled,
  });
  return { population, file: await streams.finish(population) };
}

const HASH_CHUNK = 8 << 20;
/** Per loaded circuit (its source), the SHA-256 of each input file once computed: the zips of a
 * scan's points, and of all of them, hash each input once, not once per point. */
const inputHashes = new WeakMap();
function inputSha256(source, name, compute) {
  if (!inputHashes.has(source)) inputHashes.set(source, new Map());
  const known = inputHashes.get(source);
  if (!known.has(name)) known.set(name, compute().catch((error) => { known.delete(name); throw error; }));
  return known.get(name);
}

/** SHA-256 of a Blob or an Emscripten file, read in slices (the core's digest: faster than JS). */
async function sha256Of(FS, { blob, path }) {
  if (blob) return (await digestOfBlob(FileDigest, blob)).sha256;
  const hash = new FileDigest();
  const access = emscriptenFileAccess(FS, path);
  try {
    for (let offset = 0; offset < access.size; offset += HASH_CHUNK) hash.update(access.read(offset, Math.min(HASH_CHUNK, access.size - offset)));
    return hash.sha256();
  } finally {
    access.close();
    hash.free();
  }
}

/**
 * The last run's whole parameterized circuit as one zip, in the layout of the headless command's
 * --out (same files, same bytes, same sidecar but for its time); `point`: that point of the last
 * scan instead (the files of the command's run of that point's config); `all`: the whole last scan
 * in the command's scan layout (zipScan). Entries are stored (HDF5 barely compresses) and the zip
 * is a Blob composed of headers and the files themselves (stored_zip.js): nothing is copied; the
 * browser reads the files as the zip is downloaded.
 */
async function zip({ point = null, all = false } = {}) {
  if (all) return zipScan();
  const made = point === null ? lastRun : scanRuns[point];
  if (!made) throw new Error(point === null ? "run a parameterization first" : `scan point ${point} was not run: run the scan first`);
  const timings = phaseTimer();
  const { entries, sidecar, warnings } = await circuitEntries(made, timings);
  lastSidecar = { text: sidecar.text, circuit: made.circuit };
  const blob = storedZip([...entries, sidecar.entry], { date: new Date(made.created) });
  timings.mark("finish");
  return { blob, warnings, timings: timings.phases() };
}

/**
 * The last scan as one zip in the layout of the command's `--config SCAN --out DIR`: `scan.json`,
 * each point's circuit in `<point>/` (its config, the edges files it writes, its sidecar), the
 * files no point changes once in `shared/` — which edges files each point writes decided by the
 * core from the points' changes and what the first point drew (scanEdgeFiles, scanLayout), as
 * the command decides them.
 */
async function zipScan() {
  if (!lastScan || scanRuns.length !== lastScan.plan.points.length) throw new Error("run a scan first (every point)");
  const timings = phaseTimer();
  const [first] = scanRuns;
  const drawn = first.result.populations.map((p) => ({
    file: p.fileName, properties: p.stats.map((s) => ({ property: s.property, pathways: s.pathways.map(({ source: from, target }) => ({ source: from, target })) })),
  }));
  const decided = scanLayout(first.circuit, scanEdgeFiles(lastScan.plan.points.map((p) => p.changes), drawn));
  const perPoint = new Set(decided.layout.entries.filter((_, i) => decided.per_point[i]).map((e) => e.input));
  const names = scanFileNames();
  const shared = new Map(); // a shared file's digest, once for every point
  const entries = [];
  const warnings = new Set();
  for (const [i, point] of lastScan.plan.points.entries()) {
    const made = scanRuns[i];
    const { entries: files, sidecar, warnings: said } = await circuitEntries(made, timings, { decided, perPoint, shared });
    for (const file of files) {
      if (!file.shared) entries.push({ ...file, name: `${point.name}/${file.name}` });
      else if (i === 0) entries.push({ ...file, name: `${names.shared}/${file.name}` });
    }
    entries.push({ ...sidecar.entry, name: `${point.name}/${sidecar.entry.name}` });
    for (const warning of said) warnings.add(warning);
  }
  const scanText = new TextEncoder().encode(lastScan.scanJsonText);
  entries.push({ name: names.scan, blob: new Blob([scanText]), crc32: digestOfBytes(scanText).crc32 });
  const blob = storedZip(entries, { date: new Date(scanRuns.at(-1).created) });
  timings.mark("finish");
  return { blob, warnings: [...warnings], timings: timings.phases() };
}

// Long by design: one pass over the output plan (what exists, each file's Blob and digests, the
// sidecar's inputs and outputs), its steps sharing the maps it fills.
/**
 * The files of a run's parameterized circuit (`made`: a run's record) as zip entries, with its
 * sidecar: the same `outputFiles` plan as the command's, so a folder's file never replaces a
 * parameterized one, and every entry name a plain relative path. Their SHA-256 (for the sidecar)
 * and CRC-32 (for the zip) are one pass per file, in draw workers: the run's written and input
 * edges files since the run ended, the others now. `scan` (a scan's point): `{decided (the core's
 * scanLayout), perPoint (the edges files each point writes), shared (a Map of digests kept across
 * the points)}` — every other file is marked `shared` and named `../shared/…` in the sidecar, the
 * config is the point's. Returns `{entries: [{name, blob, crc32, shared}], sidecar: {text, entry},
 * warnings}`.
 */
async function circuitEntries(made, timings, scan = null) {
  const [, Module] = await ready;
  const { FS } = Module;
  const { source, layout, result, configText, outputs: writtenFiles, written, datasets: drawnDatasets, hashing, created } = made;
  const writtenFile = new Map(writtenFiles.map((o) => [o.fileName, o.file]));
  const isShared = (file) => Boolean(scan) && file.from !== "config" && !(file.from === "written" && scan.perPoint.has(file.entry.input));
  const named = (file) => (isShared(file) ? scan.decided.shared_prefix + file.output : file.output);
  const outputConfigText = scan ? scan.decided.point.config.text : layout.config?.text;
  const names = source.names();
  const listable = names.length > 0;
  const located = async (name) => ({ blob: source.blobOf(name), path: source.blobOf(name) ? null : await source.h5path(name) });
  /** A file of the circuit as a Blob: a chosen File as it is; a fetched one read from the worker's file system. */
  const blobOf = async (name) => source.blobOf(name) ?? new Blob([FS.readFile(await source.h5path(name))]);
  // What exists: files by name; folders by their listed files (a folder cannot be listed over HTTP).
  const inputs = {};
  const notIncluded = [];
  const warnings = [];
  // Input hashes in the order the command records them.
  if (layout.config) inputs[layout.config.input] = null;
  for (const entry of layout.entries) {
    let missing = null;
    if (listable) {
      if (names.includes(entry.input)) entry.kind = "file";
      else if (entry.input === "" || names.some((n) => n.startsWith(`${entry.input}/`))) entry.kind = "dir";
      else missing = "not among the chosen files";
    } else if (entry.kind === "dir") {
      missing = "a directory cannot be listed over HTTP; copy it into the unpacked circuit";
    } else {
      try {
        await source.h5path(entry.input);
      } catch (error) {
        missing = error.message;
      }
    }
    entry.present = missing === null;
    if (!entry.present) {
      notIncluded.push(entry.output || ".");
      warnings.push(`${entry.input || "."}: ${missing}; not included in the output`);
    } else if (entry.kind === "file") {
      inputs[entry.input] = null;
    }
  }
  const folderFiles = (entry) => names.filter((n) => entry.input === "" || n.startsWith(`${entry.input}/`)).sort()
    .map((n) => ({ relative: entry.input === "" ? n : n.slice(entry.input.length + 1), name: n }));
  const plan = outputFiles(layout, { written, folderFiles });
  // Every entry's Blob; the digests not yet under way are started in draw workers, all at once.
  const entries = [];
  const toDigest = {};
  for (const file of plan) {
    if (file.from === "config") {
      entries.push({ file, blob: new Blob([outputConfigText]) });
    } else if (isShared(file) && scan.shared.has(file.output)) {
      // Stored once by the first point: its digest is the one every point records (a written
      // one holds what the first point drew, checked, as the command checks it).
      if (file.from === "written") sameAsFirstPoint(file.output, scan.shared.get(`datasets:${file.output}`), drawnDatasets[file.output]);
      entries.push({ file, blob: null, digest: scan.shared.get(file.output) });
    } else if (file.from === "written") {
      const blob = writtenFile.get(file.entry.input);
      const background = hashing.hashes[`written:${file.entry.input}`];
      const digest = background?.catch(() => null) ?? digestOfBlob(FileDigest, blob);
      if (isShared(file)) scan.shared.set(file.output, digest).set(`datasets:${file.output}`, drawnDatasets[file.output]);
      entries.push({ file, blob, digest });
    } else {
      const blob = await blobOf(file.file ? file.file.name : file.entry.input);
      toDigest[entries.length] = blob;
      entries.push({ file, blob });
    }
  }
  const others = Object.keys(toDigest).length ? backgroundHashes(toDigest, await compiled) : { hashes: {} };
  for (const [index, digest] of Object.entries(others.hashes)) {
    entries[index].digest = digest;
    if (isShared(entries[index].file)) scan.shared.set(entries[index].file.output, digest);
  }
  timings.mark("list files");
  const outputs = {};
  const zipEntries = [];
  for (const { file, blob, digest: pending } of entries) {
    let digest = (await pending) ?? null;
    if (file.from === "config") {
      digest = digestOfBytes(new TextEncoder().encode(outputConfigText));
      outputs[file.output] = digest.sha256;
      inputs[layout.config.input] = await inputSha256(made.source, layout.config.input, async () => sha256Of(FS, await located(layout.config.input)));
    } else if (file.from === "written") {
      digest ??= await digestOfBlob(FileDigest, blob);
      outputs[named(file)] = digest.sha256;
      const input = (await hashing.hashes[`input:${file.entry.input}`]?.catch(() => null))?.sha256;
      inputs[file.entry.input] = input ?? await inputSha256(made.source, file.entry.input, async () => sha256Of(FS, await located(file.entry.input)));
    } else if (!file.file) {
      outputs[named(file)] = digest.sha256;
      inputs[file.entry.input] = digest.sha256;
    }
    zipEntries.push({ name: file.output, blob, crc32: digest.crc32, shared: isShared(file) });
  }
  timings.mark("wait for hashes");
  // Files of the layout that no output takes (none today) are still recorded as inputs.
  for (const [name, hash] of Object.entries(inputs)) if (hash === null) inputs[name] = await inputSha256(made.source, name, async () => sha256Of(FS, await located(name)));
  const sidecarLayout = scan ? scan.decided.point : layout;
  const directories = sidecarLayout.entries.filter((e, i) => layout.entries[i].present && layout.entries[i].kind === "dir").map((e) => e.output || ".");
  const datasets = Object.fromEntries(plan.filter((f) => f.from === "written").map((f) => [named(f), drawnDatasets[f.output]]));
  const provenance = provenanceDocument({
    version: version(), created,
    seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback, overwrite: result.overwrite,
    populations: result.requested, configText, results: result.populations, layout: sidecarLayout, inputs, outputs, datasets, directories, notIncluded,
    unavailable: made.circuit.unavailable, skipped: result.skipped, explain: result.explain, parent: made.parent,
  });
  const sidecar = new TextEncoder().encode(provenance.text);
  return { entries: zipEntries, sidecar: { text: provenance.text, entry: { name: provenanceFileName(), blob: new Blob([sidecar]), crc32: digestOfBytes(sidecar).crc32 } }, warnings };
}

/** A scan point's edges file stored once in shared/: what the point drew (`datasets`, the
 * digests of its written datasets) must be what the first point drew and stored (keyed streams:
 * the same bits), else the zip is refused — as the command refuses to publish such a scan. */
function sameAsFirstPoint(output, first, datasets) {
  const differs = Object.keys({ ...first, ...datasets }).filter((d) => JSON.stringify(first?.[d]) !== JSON.stringify(datasets?.[d]));
  if (differs.length) throw new CircuitError(`internal error: this scan point drew ${differs.join(", ")} differently from the first point, though no point changes them; no zip was made (please report it)`, { file: output });
}

/** `{sha256, crc32, size}` of bytes in memory (a config, the sidecar). */
function digestOfBytes(bytes) {
  const digest = new FileDigest();
  try {
    digest.update(bytes);
    return { sha256: digest.sha256(), crc32: digest.crc32(), size: bytes.length };
  } finally {
    digest.free();
  }
}

serveWorker({
  run,
  runScan,
  rerunChanges,
  columns,
  zip,
  /** A model fitted from the loaded circuit's edges (connectome-manipulator's extract + build, or
   * the law chosen by the data): `{modelText, reportText, report, populations, notFitted,
   * warnings}`; writes nothing. */
  async fit({ property, mode = "cm", laws = null, minSamples = null, fallback = null, options = {}, ...where }, { progress }) {
    await ready;
    const { circuit } = await circuitOf(where);
    const result = await fitCircuit({
      circuit, Fitter, planFit, pathwayProperty: property, mode, laws, minSamples, fallback, options,
      onProgress: ({ pass, done, total }) => progress({ done, total, pass }),
    });
    return { modelText: result.modelText, reportText: result.reportText, report: result.report, populations: result.populations, notFitted: result.notFitted, warnings: result.warnings };
  },
  /** The settings a provenance sidecar records, for "load from a parameterized circuit". */
  async provenance({ text, name }) {
    return readProvenance(text, name);
  },
  /** One spec for the editor: `{points}` its density (or mass) `[[x, y], …]` for the live
   * preview, and `formula` the core's words for it. */
  async preview({ spec }) {
    await ready;
    return { points: densityPreview(spec, 160), formula: specFormula(spec) };
  },
  /** Load a circuit (or reuse the loaded one) and describe it. */
  async load(where) {
    return describeCircuit(await circuitOf(where));
  },
  /** Synapses per pathway for a property, counted by the core with the run's rules, for the
   * matrix shown before a run: `{property, fallback, counts: [{source, target, synapses}], skipped}`. */
  async pathways({ property, fallback, ...where }) {
    await ready;
    const { circuit } = await circuitOf(where);
    return { property, fallback: fallback ?? null, ...await pathwayCounts({ circuit, PathwayTally, pathwayProperty: property, fallback }) };
  },
  /** For the preset dialog: the class (E, I, X) of each value of a pathway property, read from
   * the circuit's own synapse_class / ei columns and virtual populations (`values: [{value,
   * counts, basis}]`); the node populations whose nodes (some or all) lack the property
   * (`populations: [{name, type, size, lacking}]`); and the values and those populations found
   * on each side of the edges (`sides: {source, target}: {values, populations}`), so that a preset's
   * rules name on each side only what is there. */
  async classes({ property, fallback, ...where }) {
    const { circuit } = await circuitOf(where);
    const sides = { source: { values: new Set(), populations: new Set() }, target: { values: new Set(), populations: new Set() } };
    const lacking = new Map();
    const valuesOf = new Map();
    for (const edges of circuit.edgePopulations.values()) {
      for (const [side, name] of [["source", edges.source], ["target", edges.target]]) {
        const population = circuit.nodePopulations.get(name);
        if (!population) continue;
        if (!valuesOf.has(name)) {
          const values = population.properties.includes(property) ? nodePropertyValues(population, property) : null;
          const without = values ? values.filter((v) => v === null || v === undefined || v === "").length : population.size;
          if (without) lacking.set(name, { name, type: population.type, size: population.size, lacking: without });
          valuesOf.set(name, new Set((values ?? []).filter((v) => v !== null && v !== undefined && v !== "").map(String)));
        }
        for (const value of valuesOf.get(name)) sides[side].values.add(value);
        if (lacking.has(name)) sides[side].populations.add(name);
      }
    }
    const list = ({ values, populations }) => ({ values: [...values].sort(), populations: [...populations].sort() });
    return {
      values: pathwayValueClasses(circuit, property, (population) => (fallback == null ? null : fallbackFor(fallback, population))),
      populations: [...lacking.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      sides: { source: list(sides.source), target: list(sides.target) },
    };
  },
  /** A preset by class as synparam rules JSON (text) for the mapping the dialog made (the core's
   * presetRules: `{pathway_property, values: {value: type}, populations: {population: type},
   * source, target}`); a preset without a rules form (prop_cov) throws the core's error. */
  async presetRules({ preset, mapping }) {
    await ready;
    return presetRules(preset, mapping);
  },
  /** Rules (any rules input) as synparam rules JSON (text) with `aliases` (`{property: {name:
   * [values]}}`) as their alias table: the core's rulesWithAliases. */
  async withAliases({ config, aliases }) {
    await ready;
    return rulesWithAliases(config, JSON.stringify(aliases));
  },
  /** Rules as synparam rules JSON (text) with `rule` (a rules JSON rule) added last: the core's
   * rulesWithRule. */
  async withRule({ config, rule }) {
    await ready;
    return rulesWithRule(config, JSON.stringify(rule));
  },
  /** The core's plan of a run of a config with the given overrides: `{settings, summary,
   * schema}` (planRun) plus `base` (the settings without overrides: the config's and the
   * defaults) and, given the loaded circuit's source, `circuit: {problems, skipped}` (what a run
   * would refuse in it), or the config's error with its JSON path. */
  async validate({ config, overrides = {}, circuit: where = null }) {
    await ready;
    if (isScanConfig(config)) return validateScan(config, overrides, where);
    if (isRulesInput(config)) return validateRules(config, overrides);
    const plan = planRun(config, overridesOf(overrides));
    // Against the loaded circuit too (never loading one for this): what a run would refuse.
    let circuit = null;
    if (where && current?.key === keyOf(where)) {
      const loaded = await current.loading.catch(() => null);
      if (loaded) circuit = checkAgainstCircuit({ circuit: loaded.circuit, Parameterizer, configText: config, settings: plan.settings, summary: plan.summary });
    }
    return { ...plan, base: planRun(config, {}).settings, circuit };
  },
  /** The core's spec schema: distribution types with their parameters, common keys, dtypes. */
  async schema() {
    await ready;
    return specSchema();
  },
}, { exclusive: ["run", "runScan", "rerunChanges", "zip", "columns", "fit"] });
