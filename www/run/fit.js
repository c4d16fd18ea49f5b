// A fit of a ConnPropsModel from a loaded circuit (issue #25, design §10): connectome-manipulator's
// extract + build, computed by the core (the wasm `Fitter`), fed here with the circuit's columns.
// The core decides what is fitted (planFit: edge populations, properties and their kinds from the
// facts read here); this module reads the node columns (pathway property, synapse_class, layer) and
// the edge property columns in chunks that hold every edge of their target nodes, and runs the
// passes. Shared by the command, the Node API and the page's worker (plain ES module).
import { nodePropertyValues, nodePositions, pathwayColumnIpc, edgeChunks, existingEdgeColumns, targetOrder, hdf5 } from "../sonata/loader.js";
import { storageOf } from "../sonata/writer.js";
import { CircuitError } from "../sonata/errors.js";
import { neededUnavailable, unavailableError, unavailableWarnings } from "./parameterize.js";
import { yieldToEvents } from "./protocol.js";

/** The node column a pathway value's class is read from (build's fallback levels). */
export const CLASS_PROPERTY = "synapse_class";
/** The node column a pathway value's layer is read from (build's fallback levels). */
export const LAYER_PROPERTY = "layer";

/** The fit modes the command offers: connectome-manipulator's (`cm`), the law chosen by the data
 * (`auto`), observed vectors drawn again (`empirical`): the core's `FitMode::ALL` by name (tests/fit.rs checks
 * that they agree); passed to the core's options, which name a mode a core cannot build. */
export const FIT_MODES = ["cm", "auto", "empirical"];

/** The facts of one edge population the core's planFit decides from: whether its nodes have the
 * pathway property, and every dataset of each edge group with its storage type. */
function populationFacts(circuit, edges, pathwayProperty) {
  const side = (role) => {
    const nodes = circuit.nodePopulations.get(edges[role]);
    return { population: edges[role], file: nodes?.fileName ?? null, has_pathway: Boolean(nodes?.properties.includes(pathwayProperty)) };
  };
  const where = { file: edges.shownName, population: edges.name };
  const groups = edges.groups.map((group) => {
    const base = `edges/${edges.name}/${group}`;
    const names = hdf5({ ...where, dataset: `/${base}` }, () => edges.file.get(base).keys());
    const datasets = [];
    for (const name of names) {
      const item = hdf5({ ...where, dataset: `/${base}/${name}` }, () => edges.file.get(`${base}/${name}`));
      if (!item || typeof item.keys === "function") continue; // a sub-group (dynamics_params)
      datasets.push({ name, storage: storageOf(item.metadata) });
    }
    return { group, datasets };
  });
  return { name: edges.name, file: edges.shownName, source: side("source"), target: side("target"), groups };
}

/** A node population's column of `property` as Arrow IPC, or undefined when it lacks it. */
function nodeColumnIpc(nodes, property, cache) {
  const key = `${nodes.name}\u0000${property}`;
  if (!cache.has(key)) {
    const values = nodes.properties.includes(property) ? nodePropertyValues(nodes, property) : null;
    cache.set(key, values ? pathwayColumnIpc(values) : undefined);
  }
  return cache.get(key);
}

/** Add an edge population to the fit with its nodes' pathway columns and, `withClasses`, their
 * class and layer columns (a worker's fit needs only the pathways); with `distanceReads` (the
 * plan's, a lin_delay fit) the source nodes' soma positions too. */
export function addFitPopulation(fitter, circuit, edges, pathwayProperty, cache = new Map(), withClasses = true, distanceReads = {}) {
  const columns = (role) => {
    const nodes = circuit.nodePopulations.get(edges[role]);
    if (!nodes) throw new CircuitError(`${role} node population '${edges[role]}' is not in the circuit`, { file: edges.shownName, population: edges.name });
    const pathway = nodeColumnIpc(nodes, pathwayProperty, cache) ?? pathwayColumnIpc(new Array(nodes.size).fill(null));
    const optional = (property) => (withClasses ? nodeColumnIpc(nodes, property, cache) : undefined);
    return { name: nodes.name, pathway, class: optional(CLASS_PROPERTY), layer: optional(LAYER_PROPERTY) };
  };
  const source = columns("source");
  const target = columns("target");
  try {
    fitter.addPopulation(edges.name, source.name, source.pathway, target.name, target.pathway, source.class, source.layer, target.class, target.layer);
  } catch (error) {
    throw inFile(error, edges.shownName);
  }
  if (!distanceReads[edges.name]) return;
  const nodes = circuit.nodePopulations.get(edges.source);
  const positions = nodePositions(nodes);
  if (!positions) {
    throw new CircuitError(`has no soma positions (x, y, z), which the lin_delay fit of edge population '${edges.name}' needs (the distance from the presynaptic soma to each synapse): leave the population out or fit delay with another law`,
      { file: nodes.fileName, population: nodes.name });
  }
  try {
    fitter.setSourcePositions(edges.name, positions.x, positions.y, positions.z);
  } catch (error) {
    throw inFile(error, nodes.fileName);
  }
}

/** The columns each chunk of a population carries: the properties (settings order), then a
 * lin_delay fit's distance datasets (the plan's `distance_reads`). */
export function chunkColumnNames(settings, distanceReads, population) {
  return [...settings.properties.map((p) => p.name), ...(distanceReads?.[population] ?? [])];
}

/** Where each chunk of a population starts: cut where the target changes after about `rows`
 * edges (targetOrder), so that every target's edges lie in one chunk; the whole population as one
 * chunk when its edges are not sorted by target (with a warning: it is then held in memory). */
function chunkStarts(edges, rows, warnings) {
  const { sorted, starts } = targetOrder(edges, rows);
  if (sorted) return starts;
  warnings.push(`edge population '${edges.name}' is not sorted by target: fitted as one chunk of ${edges.size} edges (held in memory)`);
  return [0];
}

/** A core error from a chunk, naming the file it came from (kind and JSON path kept). */
function inFile(error, shownName) {
  if (error instanceof CircuitError || !error?.name || error.name === "Error") return error;
  const wrapped = new CircuitError(error.message, { file: shownName });
  wrapped.name = error.name;
  if (error.path) wrapped.path = error.path;
  return wrapped;
}

/** `build`'s options: `options` (any of the core's BuildOptions), `laws` merged into its laws, and
 * the mode unless it is connectome-manipulator's (the core names a mode it cannot build yet). */
export function buildOptionsOf({ laws = null, mode = "cm", options = {} } = {}) {
  if (mode !== undefined && mode !== null && !FIT_MODES.includes(mode)) throw new CircuitError(`unknown fit mode '${mode}' (choose one of ${FIT_MODES.join(", ")})`);
  const merged = { ...options };
  if (laws && Object.keys(laws).length) merged.laws = { ...(options.laws ?? {}), ...laws };
  if (mode && mode !== "cm") merged.mode = mode;
  return merged;
}

/** How many megabytes of chunks a fit keeps between passes where it reads them itself (one
 * thread; worker threads keep them only when the variable is set, each this much): the
 * SYNPARAM_FIT_KEEP_MB environment variable in Node, else 512 there and 128 in a page. Kept
 * chunks are not read again in passes 2 and 3 (a fit reads each chunk once when they all fit);
 * 0 reads every chunk in every pass (the least memory). */
export function defaultKeepMB() {
  const env = globalThis.process?.env?.SYNPARAM_FIT_KEEP_MB;
  if (env !== undefined && env !== "" && Number.isFinite(Number(env)) && Number(env) >= 0) return Number(env);
  return globalThis.process?.versions?.node ? 512 : 128;
}

/** Whether two float64 arrays hold the same bits (memcmp in Node). */
function sameBits(a, b) {
  const bytes = (x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (globalThis.Buffer) return globalThis.Buffer.compare(bytes(a), bytes(b)) === 0;
  const [x, y] = [new Int32Array(a.buffer, a.byteOffset, a.length * 2), new Int32Array(b.buffer, b.byteOffset, b.length * 2)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Chunks read in pass 1, kept for the next passes up to `megabytes`: the ids as read (Arrow IPC)
 * and each column as float32 when every value is a float32 number (float32 columns, integers
 * below 2^24: widened back exactly), else as float64. The core gets the same values either way. */
export class ChunkStore {
  constructor(megabytes = defaultKeepMB()) {
    this.budget = megabytes * 2 ** 20;
    this.used = 0;
    this.chunks = new Map();
  }

  /** The kept chunk `key` as read: `{ipc, values}` (values widened to float64), or null. */
  take(key) {
    const kept = this.chunks.get(key);
    if (!kept) return null;
    const n = kept.columns[0]?.length ?? 0;
    const values = new Float64Array(n * kept.columns.length);
    kept.columns.forEach((column, k) => values.set(column, k * n));
    return { ipc: kept.ipc, values };
  }

  /** Keep chunk `key` (`n` rows, `count` columns in `values`) if the budget allows. */
  keep(key, ipc, values, n, count) {
    if (this.used + ipc.byteLength + values.byteLength / 2 > this.budget) return;
    const columns = [];
    let bytes = ipc.byteLength;
    for (let k = 0; k < count; k++) {
      const column = values.subarray(k * n, (k + 1) * n);
      const narrow = new Float32Array(column);
      columns.push(sameBits(new Float64Array(narrow), column) ? narrow : column.slice());
      bytes += columns[k].byteLength;
    }
    if (this.used + bytes > this.budget) return;
    this.used += bytes;
    this.chunks.set(key, { ipc, columns });
  }
}

/** One chunk's state of the current pass: edges `[start, end)` of `edges` (all the edges of their
 * target nodes) read — ids, and the columns `names` (chunkColumnNames) through the group columns — and
 * added to a fresh state (the caller frees it). With a `store` (ChunkStore), a chunk kept there
 * is not read again, and one read is kept while the store's budget allows. What the fit's worker
 * threads do too. */
export function chunkState(fitter, edges, names, start, end, store = null) {
  const n = end - start;
  const key = `${edges.name}\u0000${start}`;
  let chunk = store?.take(key);
  if (!chunk) {
    const [{ ipc }] = edgeChunks(edges, n, { starts: [start], end });
    const columns = existingEdgeColumns(edges, names, start, end);
    const values = new Float64Array(n * names.length);
    names.forEach((name, k) => values.set(columns[name], k * n));
    store?.keep(key, ipc, values, n, names.length);
    chunk = { ipc, values };
  }
  const state = fitter.newState();
  try {
    fitter.addChunk(state, edges.name, chunk.ipc, chunk.values);
  } catch (error) {
    state.free();
    throw inFile(error, edges.shownName);
  }
  return state;
}

/** One pass: every chunk (in the plan's order) added to a fresh state — here, or by `workers`
 * (their states as JSON) — and the chunks' states merged in that order, the merged state handed
 * to the core. */
async function runPass(fitter, chunks, { names, plan, workers, FitState, shouldStop, progress, timings, store }) {
  const total = fitter.newState();
  try {
    if (workers) {
      if (shouldStop()) throw new CircuitError("cancelled");
      const states = await workers.pass(plan, chunks.map(({ edges, start, end }) => ({ population: edges.name, start, end })), shouldStop);
      timings?.mark("fit chunks (workers)");
      states.forEach((json, i) => {
        const state = FitState.fromJson(json);
        total.merge(state);
        state.free();
        progress(chunks[i].end - chunks[i].start);
      });
    } else {
      for (const { edges, start, end } of chunks) {
        await yieldToEvents();
        if (shouldStop()) throw new CircuitError("cancelled");
        const state = chunkState(fitter, edges, names(edges.name), start, end, store);
        try {
          total.merge(state);
        } finally {
          state.free();
        }
        timings?.mark("read and fit chunks");
        progress(end - start);
      }
    }
    fitter.finishPass(total);
  } finally {
    total.free();
  }
}

/**
 * Fit a ConnPropsModel from `circuit` (loadCircuit's), with the core's `Fitter` and `planFit`.
 * `pathwayProperty` makes the pathways; `properties` (default: every physiological numeric edge
 * property, as planFit decides), `populations` (default: every edge population whose nodes have
 * the pathway property), `laws` ({property: law}), `mode` ("cm"; "auto" and "empirical" go to the
 * core, which names what it cannot build yet), `minSamples`/`maxSamples` (connections per
 * pathway), `seed` (of the keyed subsample), `fallback` (pathway value of nodes without one),
 * `chunkRows` (default: the core's), `delayBinUm` (a lin_delay fit's distance bin, default the
 * core's 50 µm), `options` (more of the core's build options: BuildOptions'
 * keys, e.g. `correlations`, `significance`), `settings` (more of its extraction settings:
 * FitSettings' keys, e.g. `folds`); the core checks every key. `startWorkers({settings,
 * pathwayProperty, populations, chunks})` may return workers (`{pass(plan, work, shouldStop) →
 * states as JSON in chunk order, terminate()}`, with the core's `FitState` to read them) that
 * compute the chunks' states: the same bits as here. `keepMB` (default: defaultKeepMB()) bounds
 * the chunks kept between passes here (the memory a fit trades for reading once). Writes nothing.
 * Returns `{modelText, reportText, model, report, settings, populations, notFitted, warnings,
 * passes, chunkRows, workers}`; `onProgress({pass, done, total})` after each chunk.
 */
export async function fitCircuit({
  circuit, Fitter, planFit, pathwayProperty, properties = null, laws = null, mode = "cm", minSamples = null, maxSamples = null,
  seed = 0, populations = null, fallback = null, chunkRows = null, delayBinUm = null, options = {}, settings = null, onProgress = () => {}, shouldStop = () => false, timings = null,
  FitState = null, startWorkers = null, keepMB = null,
}) {
  const buildOptions = buildOptionsOf({ laws, mode, options });
  const needed = neededUnavailable(circuit, populations);
  if (needed.length) throw unavailableError(circuit, needed, populations);
  const plan = planFit(JSON.stringify({
    pathway_property: pathwayProperty, properties, requested: populations,
    populations: [...circuit.edgePopulations.values()].map((edges) => populationFacts(circuit, edges, pathwayProperty)),
    min_sample_size: minSamples ?? null, max_sample_size: maxSamples ?? null, seed: seed ?? 0, fallback_value: fallback ?? null, chunk_rows: chunkRows ?? null,
    delay_bin_um: delayBinUm ?? null,
    settings, options: buildOptions,
  }));
  timings?.mark("plan the fit");
  const fitter = new Fitter(JSON.stringify(plan.settings), pathwayProperty);
  let workers = null;
  try {
    const cache = new Map();
    const taken = plan.populations.map((name) => circuit.edgePopulations.get(name));
    for (const edges of taken) addFitPopulation(fitter, circuit, edges, pathwayProperty, cache, true, plan.distance_reads);
    const warnings = [...unavailableWarnings(circuit), ...plan.warnings];
    const chunks = taken.flatMap((edges) => {
      const starts = chunkStarts(edges, plan.chunk_rows, warnings);
      return starts.map((start, i) => ({ edges, start, end: starts[i + 1] ?? edges.size })).filter(({ start, end }) => end > start);
    });
    timings?.mark("node columns and chunks");
    workers = (await startWorkers?.({ settings: plan.settings, pathwayProperty, populations: plan.populations, distanceReads: plan.distance_reads, chunks: chunks.length })) ?? null;
    const total = chunks.reduce((sum, { start, end }) => sum + end - start, 0);
    const names = (population) => chunkColumnNames(plan.settings, plan.distance_reads, population);
    // Chunks read in pass 1 kept for the next ones (here; workers keep their own).
    const store = workers ? null : new ChunkStore(keepMB ?? defaultKeepMB());
    let passes = 0;
    for (let pass; (pass = fitter.nextPass()) !== undefined;) {
      passes++;
      let done = 0;
      const progress = (n) => onProgress({ pass: passes, done: (done += n), total });
      await runPass(fitter, chunks, { names, plan: pass, workers, FitState, shouldStop, progress, timings, store });
    }
    fitter.finish();
    const { model, report } = fitter.build(JSON.stringify(buildOptions));
    timings?.mark("build the model");
    return {
      modelText: model, reportText: report, model: JSON.parse(model), report: JSON.parse(report),
      settings: plan.settings, populations: plan.populations, notFitted: plan.not_fitted, warnings, passes, chunkRows: plan.chunk_rows,
      workers: workers?.count ?? 1,
    };
  } finally {
    workers?.terminate();
    fitter.free();
  }
}
