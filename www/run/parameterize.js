// One parameterization of a loaded circuit: prepare each edge population's pathway columns, run
// every chunk through the wasm core, copy the storage-ready blocks it returns into writable copies
// of the edge files, and collect statistics, warnings and the digests of what was stored (to be
// verified against the files before anything is published). Shared by the headless command and
// the page's worker (each supplies how output copies are made and finished).
import { tableFromIPC, tableToIPC, Table } from "apache-arrow";
import { nodePropertyValues, nodeTableIpc, pathwayColumnIpc, edgeChunks, existingNumericProperties, existingEdgeColumns, nodePositions } from "../sonata/loader.js";
import { CircuitError } from "../sonata/errors.js";
import { openPopulationOutput, planPopulationOutput } from "../sonata/writer.js";
import { datasetAttributes } from "./provenance.js";
import { yieldToEvents } from "./protocol.js";
import { checkFallbackPopulations, checkRulesSettings, pathwaySkip, redrawConfig } from "../../pkg/synparam.js";

/** Edges per chunk by default: small enough that a run's memory stays bounded (under 400 MB for
 * the Tsodyks–Markram model on 10 M synapses with two draw workers), large enough that the per-chunk
 * work does not show. */
export const DEFAULT_CHUNK_SIZE = 65_536;

/** The overrides of a run as the core's `planRun` takes them: only what was given. */
export function overridesOf({ seed, pathwayProperty, fallback, overwrite, populations }) {
  const given = { seed, pathwayProperty, fallback, overwrite, populations };
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined && value !== null));
}

/**
 * What of `circuit.unavailable` (loadCircuit) a run of `requested` edge populations (null: every
 * one) needs: the edge populations (or edges files whose populations are unknown) it would take.
 * Node populations are needed only through edge populations, which the loader already lists.
 */
export function neededUnavailable(circuit, requested) {
  return (circuit.unavailable ?? []).filter((u) => u.kind === "edges" && (!requested || (u.population !== null && requested.includes(u.population))));
}

/** The refusal of a run that needs what could not be loaded: names each, with its error, and the
 * edge populations that could be. `unavailable` (the whole list) goes with it, for warnings. */
export function unavailableError(circuit, needed, requested) {
  const loadable = [...circuit.edgePopulations.keys()];
  const what = requested
    ? `edge population${needed.length === 1 ? "" : "s"} ${needed.map((u) => `'${u.population}'`).join(", ")} cannot be loaded`
    : "a run of every edge population needs edges that cannot be loaded";
  const error = new CircuitError(`${what}: ${needed.map((u) => u.message).join("; ")}${loadable.length
    ? `. To parameterize the rest, choose among the edge populations that can be loaded: ${loadable.join(", ")}`
    : ""}`);
  error.unavailable = circuit.unavailable;
  return error;
}

/** Why `name` is not an edge population of `circuit`: unknown, or possibly in a file that could not
 * be read. */
function unknownPopulation(circuit, name) {
  const unread = (circuit.unavailable ?? []).filter((u) => u.kind === "edges" && u.population === null);
  return `unknown edge population '${name}' (the circuit has: ${[...circuit.edgePopulations.keys()].join(", ")}${unread.length
    ? `; not loaded, so their populations are unknown: ${unread.map((u) => u.message).join("; ")}` : ""})`;
}

/** The circuit's node populations, loaded or not (a fallback entry may name either). */
export function nodePopulationNames(circuit) {
  const unloaded = (circuit.unavailable ?? []).filter((u) => u.kind === "nodes" && u.population).map((u) => u.population);
  return [...new Set([...circuit.nodePopulations.keys(), ...unloaded])];
}

/** A warning per part of the circuit that could not be loaded. */
export function unavailableWarnings(circuit) {
  return (circuit.unavailable ?? []).map((u) => `not loaded${u.kind === "edges" ? " (not parameterized)" : ""}: ${u.message}`);
}

/**
 * The source and target pathway columns of edge population `edges` (`{columns: {source, target}}`,
 * each `{population, ipc}`), or `{skipped: warning, skip, lacking}` when the core skips it (a side's
 * nodes lack the property and `fallback`, the core's JSON form, gives their node population no
 * value; `skip`: the core's record, kept in the sidecar): the rule runs and the pathway tally share.
 */
export function pathwayColumnsOf(circuit, edges, pathwayProperty, fallback) {
  const columns = {};
  for (const role of ["source", "target"]) {
    const nodes = circuit.nodePopulations.get(edges[role]);
    if (!nodes) throw new CircuitError(`${role} node population '${edges[role]}' is not in the circuit`, { file: edges.shownName, population: edges.name });
    const values = nodePropertyValues(nodes, pathwayProperty);
    const skip = pathwaySkip(edges.name, role, nodes.name, pathwayProperty, Boolean(values), fallback ?? null);
    if (skip) return { skipped: skip.warning, skip, lacking: { role, nodes: nodes.name } };
    columns[role] = { population: nodes.name, ipc: pathwayColumnIpc(values ?? new Array(nodes.size).fill(null)) };
  }
  return { columns };
}

/** Whether a node population has soma positions (x, y, z in group 0), without reading them. */
function hasSomaPositions(nodes) {
  try {
    return Boolean(nodePositions(nodes, { read: false }));
  } catch {
    return false; // some axes only: not usable positions
  }
}

/** The pathway property a run of compiled rules reports: nodes are classed by the rules. */
export const RULES_PATHWAY = "rules";

/** A coverage error of rules, with the rules' values against the circuit's (`error.rulesNames`:
 * `{names: the core's explain.names, aliases: the rules' alias table}`), so that a recipe from
 * another circuit can be mapped where it is refused. */
function withNames(error, compiler, summary) {
  try {
    error.rulesNames = { names: compiler.names(), aliases: summary.aliases ?? {} };
  } catch { /* not prepared: nothing to show */ }
  return error;
}

/**
 * Rules (a BBP recipe, synparam rules: `isRulesInput`) compiled by the core for `circuit`'s edge
 * populations (`populations`, or all): node tables of the properties the rules read, then, with
 * `withEdges`, every edge chunk (synapse and connection counts; the first edge no rule covers is
 * an error). Returns `{configText: the compiled ConnPropsModel as a task config with the rules'
 * seed, columns: Map(edge population → {source, target: {population, ipc}}), explain, summary}`.
 */
export function compileRules({ circuit, RuleCompiler, readRules, rulesText, populations = null, chunkSize = DEFAULT_CHUNK_SIZE, withEdges = true, strict = false }) {
  const summary = readRules(rulesText);
  populations ??= summary.populations ?? null; // obi-one's assigners name their edge populations
  const compiler = new RuleCompiler(rulesText, strict);
  try {
    const taken = [];
    for (const edges of circuit.edgePopulations.values()) {
      if (populations && !populations.includes(edges.name)) continue;
      const side = (role) => {
        const nodes = circuit.nodePopulations.get(edges[role]);
        if (!nodes) throw new CircuitError(`${role} node population '${edges[role]}' is not in the circuit`, { file: edges.shownName, population: edges.name });
        return [nodes.name, nodeTableIpc(nodes, summary.properties[role])];
      };
      compiler.addPopulation(edges.name, ...side("source"), ...side("target"));
      // A recipe's delay parameters are drawn (functionalizer's formula) where every population
      // has synapse centres and source soma positions: the core decides from these facts.
      compiler.setGeometry(edges.name, edges.sharedProperties, hasSomaPositions(circuit.nodePopulations.get(edges.source)));
      taken.push(edges);
    }
    compiler.prepare();
    if (withEdges) {
      for (const edges of taken) {
        for (const chunk of edgeChunks(edges, chunkSize)) {
          try {
            compiler.addEdges(edges.name, chunk.start, chunk.ipc);
          } catch (error) {
            throw withNames(inFile(error, edges.shownName), compiler, summary);
          }
        }
      }
    }
    let finished;
    try {
      finished = compiler.finish(withEdges && taken.length > 0);
    } catch (error) {
      throw withNames(error, compiler, summary);
    }
    const { model, seed, overwrite, explain } = finished;
    const columns = new Map(taken.map((edges) => [edges.name, {
      source: { population: edges.source, ipc: compiler.pathwayColumn(edges.name, "source") },
      target: { population: edges.target, ipc: compiler.pathwayColumn(edges.name, "target") },
    }]));
    // The seed as the core gave it (decimal text: exact for every u64).
    const configText = `{"pathway_param_dict": ${model}, "pathway_property": "${RULES_PATHWAY}"` +
      (seed === null || seed === undefined ? "" : `, "random_seed": ${seed}`) +
      (overwrite === null || overwrite === undefined ? "" : `, "overwrite_if_exists": ${overwrite}`) +
      (summary.populations ? `, "edge_populations": ${JSON.stringify(summary.populations)}` : "") + "}";
    return { configText, columns, explain, summary };
  } finally {
    compiler.free();
  }
}

/**
 * What a run of `configText` with the core's `settings` and `summary` (planRun) would do in
 * `circuit`, found without drawing: each edge population it would take is prepared by the core
 * exactly as a run prepares it (its node values against `src_types`/`tgt_types`, the fallback).
 * Returns `{problems: ["population: Kind: message"], skipped: [warning], populations: [{name,
 * source, synapses, status: "parameterized" | "skipped" | "refused" | "not asked", reason, lacking,
 * attributes (planEdgeAttributes: what it reads per synapse, or null)}],
 * existing: [{population, properties}]}` — `existing`: the model's properties a population
 * already holds (a run refuses them unless it may overwrite).
 */
export function checkAgainstCircuit({ circuit, Parameterizer, configText, settings, summary = null }) {
  const problems = [];
  const skipped = [];
  const populations = [];
  const existing = [];
  const requested = settings.populations.value;
  problems.push(...requestedPopulationProblems(circuit, requested));
  try {
    checkFallbackPopulations(settings.fallback.value ?? null, nodePopulationNames(circuit));
  } catch (error) {
    problems.push(`${error.name}: ${error.message}`);
  }
  const written = (summary?.properties ?? []).map((p) => p.name);
  for (const edges of circuit.edgePopulations.values()) {
    const entry = { name: edges.name, source: edges.source, synapses: edges.size, status: "parameterized", reason: null, lacking: null, attributes: null };
    populations.push(entry);
    if (requested && !requested.includes(edges.name)) {
      Object.assign(entry, { status: "not asked", reason: "left out: not among the edge populations chosen (here, by the model or by a sidecar)" });
      continue;
    }
    const fallback = settings.fallback.value ?? undefined;
    try {
      const { columns, skipped: warning, lacking } = pathwayColumnsOf(circuit, edges, settings.pathwayProperty.value, fallback);
      if (warning) {
        skipped.push(warning);
        Object.assign(entry, { status: "skipped", reason: `its ${lacking.role} nodes (${lacking.nodes}) have no '${settings.pathwayProperty.value}'`, lacking });
        continue;
      }
      const run = new Parameterizer(configText, settings.seed.value ?? 0);
      try {
        run.addEdgePopulation(edges.name, columns.source.population, columns.source.ipc, columns.target.population, columns.target.ipc, settings.pathwayProperty.value, fallback);
        entry.attributes = planEdgeAttributes(circuit, edges, run, { readPositions: false });
      } finally {
        run.free();
      }
    } catch (error) {
      problems.push(`${edges.name}: ${error.name}: ${error.message}`);
      Object.assign(entry, { status: "refused", reason: `${error.name}: ${error.message}` });
      continue;
    }
    const present = written.filter((name) => edges.properties?.includes(name));
    if (present.length) existing.push({ population: edges.name, properties: present });
  }
  if (existing.length && !settings.overwrite.value) problems.push(existingPropertiesProblem(existing));
  if (!problems.length && skipped.length === circuit.edgePopulations.size) problems.push(`no edge population to parameterize: ${skipped.join("; ")}`);
  return { problems, skipped, populations, existing };
}

/** What a run of `requested` edge populations (null: every one) refuses before reading an edge:
 * those it needs that could not be loaded, and names the circuit lacks. A matrix model's check
 * and a rules model's (the page's worker) say the same. */
export function requestedPopulationProblems(circuit, requested) {
  const problems = [];
  const needed = neededUnavailable(circuit, requested);
  if (needed.length) problems.push(unavailableError(circuit, needed, requested).message);
  for (const name of requested ?? []) {
    if (!circuit.edgePopulations.has(name) && !needed.some((u) => u.population === name)) problems.push(unknownPopulation(circuit, name));
  }
  return problems;
}

/** The refusal a run without overwrite meets: `existing` ([{population, properties}]) already
 * hold properties the model writes. */
export function existingPropertiesProblem(existing) {
  return `${existing.length === 1 ? existing[0].population : `${existing.length} edge populations`} already hold${existing.length === 1 ? "s" : ""} ${[...new Set(existing.flatMap((e) => e.properties))].join(", ")}: overwrite them, or a run refuses`;
}

/**
 * Every check a run of `configText` (settings as parameterizeCircuit takes them) makes before it
 * draws, made without drawing or writing: the run resolved (rules compiled, `strict`), each edge
 * population prepared (its pathway values against the model, the edge attributes it reads and the
 * source nodes' positions) and its output planned by the core on the input file (properties that
 * already exist without overwrite, lengths, groups). Throws what the run would throw. `layouts`
 * (a Map: edge population → the core's group layout) keeps each population's layout, so that a
 * later check (a scan's next point) does not scan its group columns again.
 */
export function checkRun({ circuit, Parameterizer, planRun, configText, seed, pathwayProperty, fallback, overwrite, populations, chunkSize = DEFAULT_CHUNK_SIZE, rules = null, strict = false, layouts = new Map() }) {
  const resolved = resolveRun({ circuit, Parameterizer, planRun, configText, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, rules, strict });
  const plans = planPopulations(circuit, resolved, Parameterizer, [], []);
  try {
    for (const { edges, run } of plans) {
      const { plan } = planPopulationOutput(edges.file, edges, run, { overwrite: resolved.overwrite, chunkSize, layout: layouts.get(edges.name) });
      layouts.set(edges.name, plan.layout);
    }
  } finally {
    for (const { run } of plans) run.free();
  }
}

/**
 * Synapses per pathway value pair for `pathwayProperty`, counted by the core (`PathwayTally`)
 * with the run's rules, over the edge populations a run would include: `{counts: [{source, target,
 * synapses}], skipped: [warning]}` (`source`/`target` null for nodes without a value and no fallback).
 */
export async function pathwayCounts({ circuit, PathwayTally, pathwayProperty, fallback, chunkSize = 1_000_000, shouldStop = () => false }) {
  const tally = new PathwayTally();
  const skipped = [];
  try {
    for (const edges of circuit.edgePopulations.values()) {
      const { columns, skipped: warning } = pathwayColumnsOf(circuit, edges, pathwayProperty, fallback);
      if (warning) {
        skipped.push(warning);
        continue;
      }
      try {
        tally.addPopulation(edges.name, columns.source.population, columns.source.ipc, columns.target.population, columns.target.ipc);
        for (const { ipc } of edgeChunks(edges, chunkSize)) {
          tally.add(edges.name, ipc);
          if (shouldStop()) return null;
          await yieldToEvents();
        }
      } catch (error) {
        throw inFile(error, edges.shownName);
      }
    }
    return { counts: tally.counts(fallback ?? undefined), skipped };
  } finally {
    tally.free();
  }
}

/**
 * The per-synapse attributes a run of edge population `edges` reads (design §2.7), planned by the
 * core `run` from the datasets every group of the file has, and the source nodes' positions given
 * to it when `distance_soma` needs them: `{datasets, source_positions, synapse_position, available,
 * positions}`, or null when the model reads none. Throws naming the file, the population and every
 * dataset it lacks, or the source node population without positions — before anything is written.
 * `readPositions: false` (a check before a run) only checks that the positions are there.
 */
export function planEdgeAttributes(circuit, edges, run, { readPositions = true } = {}) {
  if (!run.requiredEdgeAttributes.length) return null;
  let reads;
  try {
    reads = run.planEdgeAttributes(edges.name, edges.sharedProperties);
  } catch (error) {
    throw inFile(error, edges.shownName);
  }
  let positions = null;
  if (reads.source_positions) {
    const nodes = circuit.nodePopulations.get(edges.source);
    positions = nodes ? nodePositions(nodes, { read: readPositions }) : null;
    if (!positions) {
      throw new CircuitError(`has no soma positions (x, y, z), which distance_soma of edge population '${edges.name}' needs (the distance from the presynaptic soma to each synapse; a virtual projection has none: give its pathways laws that do not read distance_soma, or leave the population out)`,
        { file: nodes?.fileName, population: edges.source });
    }
    if (!readPositions) return { ...reads, available: edges.sharedProperties, positions: null };
    try {
      run.setSourcePositions(edges.name, positions.x, positions.y, positions.z);
    } catch (error) {
      throw inFile(error, nodes.fileName);
    }
  }
  return { ...reads, available: edges.sharedProperties, positions };
}

/** A core error from a chunk, with the file it was writing. */
function inFile(error, shownName) {
  if (error instanceof CircuitError) return error;
  const wrapped = new CircuitError(error.message, { file: shownName });
  if (error.name && error.name !== "Error") wrapped.name = error.name;
  if (error.path) wrapped.path = error.path;
  return wrapped;
}

/**
 * Parameterize `circuit` (from loadCircuit). Without `output`, nothing is written (statistics and
 * columns only). `output.open(edgeFileName)` returns a writable h5wasm File (a copy of that
 * edges file) and `output.finish(edgeFileName, file)` closes and delivers it;
 * `output.abandon(edgeFileName, file)` is called instead on error. Returns
 * `{populations: [{name, source, target, size, fileName, shownName, stats, connections, columns,
 * datasets}], warnings, skipped (the core's records of the populations left out), pathwayProperty,
 * fallback, seed, overwrite, requested, settings, unavailable}`. What the circuit could not load (`circuit.unavailable`) is refused with a
 * CircuitError naming it when the run needs it (every edge population, or the requested ones),
 * else warned about, and returned as `unavailable`: `columns` (with
 * `keepColumns`) is an Arrow IPC stream of the drawn columns in edge order; `datasets` (with
 * `output`) the core's digest of every dataset it stored, to verify the files against. With
 * `version`, every written dataset gets provenance attributes. `onColumns(population, ipc)` (may be
 * async) receives each chunk's drawn columns as Arrow IPC, in edge order, instead of keeping them
 * (`keepColumns`) in memory. With `workers` > 1, `createPool(n)`
 * (pool.js) and the core's compiled `module`, chunks are drawn by that many workers while this
 * thread reads, counts connections and writes in chunk order: the same bits as one worker.
 * With `previousValues`, the values the edges files held for the model's properties are read
 * (from the inputs) and binned by the core beside the new ones (`stats[…].pathways[…].previous`).
 * With `rules` (the core's rules functions), a rules config is compiled first (`strict`: see
 * compileRules); its rules matching no node are warnings.
 * With `redraw` (`{changes, first, connections, onRedraw(redraw)}`: a scan point's changes
 * relative to point 0, the datasets point 0 wrote (`[{property, storage}]`), its connections per
 * edge population — the same edges, not counted again — and a hook told before any file is opened),
 * only the properties the changes name are drawn, when the core's redrawConfig allows it, and `output.open(fileName, true)` must give a copy of point 0's file to
 * overwrite them in: keyed streams give every other property the bits it has there. Their
 * attributes are left as the copy has them (the caller sets the config's SHA-256). The result's
 * `redrawn` is then the core's record (`{properties, storage, …}`), else null.
 */
export async function parameterizeCircuit({
  circuit, Parameterizer, planRun, configText, seed, pathwayProperty, fallback, overwrite, populations,
  chunkSize = DEFAULT_CHUNK_SIZE, output, onProgress = () => {}, shouldStop = () => false, keepColumns = false, version = null,
  workers = 1, createPool = null, module = null, timings = null, storageChunkRows = undefined, onColumns = null,
  previousValues = false, rules = null, strict = false, redraw = null,
}) {
  const userConfigText = configText;
  const resolved = resolveRun({ circuit, Parameterizer, planRun, configText, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, rules, strict });
  ({ configText, pathwayProperty, fallback, overwrite } = resolved);
  const redrawn = redraw ? redrawOnly(resolved.configText, redraw) : null;
  if (redrawn) configText = redrawn.config_text;
  const { effectiveSeed, requested, settings, summary, explain } = resolved;
  // Redrawn datasets keep the copy's attributes (point 0's): the publisher rewrites their one
  // differing value, the config's SHA-256, in place, for every dataset of the copy alike.
  const attributes = version && !redrawn ? datasetAttributes({ version, seed: effectiveSeed, configText: userConfigText }) : {};
  const warnings = [...unavailableWarnings(circuit), ...(explain?.warnings ?? [])];
  const plans = [];
  try {
    const skipped = [];
    plans.push(...planPopulations(circuit, { ...resolved, configText }, Parameterizer, warnings, skipped));
    const total = plans.reduce((sum, p) => sum + p.edges.size, 0);
    const progress = { done: 0, stored: (chunk) => { progress.done += chunk.end - chunk.start; onProgress(progress.done, total); } };
    const draw = {
      // Redrawn properties are overwritten in the copy of point 0's file that holds them.
      configText, effectiveSeed, pathwayProperty, fallback, overwrite: overwrite || Boolean(redrawn), attributes, chunkSize, storageChunkRows, summary,
      keepColumns, onColumns, previousValues, workers, createPool, module, timings, shouldStop, progress, warnings,
      knownConnections: redrawn ? redraw.connections ?? null : null,
    };
    const results = [];
    const byFile = new Map();
    for (const plan of plans) byFile.set(plan.edges.fileName, [...(byFile.get(plan.edges.fileName) ?? []), plan]);
    for (const [fileName, filePlans] of byFile) {
      const file = output ? await output.open(fileName, Boolean(redrawn)) : null;
      try {
        for (const plan of filePlans) results.push(await drawPopulation(plan, file, fileName, draw));
      } catch (error) {
        if (output) await output.abandon(fileName, file);
        throw error;
      }
      if (output) await output.finish(fileName, file);
    }
    const combined = results.length > 1 ? combinedStatistics(Parameterizer, configText, effectiveSeed, plans, results) : null;
    return { populations: results, combined, warnings, skipped, pathwayProperty, fallback: fallback ?? null, seed: effectiveSeed, overwrite, requested, settings, unavailable: circuit.unavailable ?? [], explain, redrawn };
  } finally {
    for (const { run } of plans) run.free();
  }
}

/** The core's restriction of the (compiled) config to the properties `changes` names, when
 * drawing them over a copy of point 0's file gives a whole run's file; else null (a whole run). */
function redrawOnly(configText, { changes, first, onRedraw = () => {} }) {
  const redraw = redrawConfig(configText, changes, first);
  if (redraw.config_text === null) return null;
  onRedraw(redraw);
  return redraw;
}

/** The run as the core resolves it, before any file is touched: a rules config compiled into the
 * model it draws (the sidecar and the datasets' attributes keep the user's own text, so a rerun
 * compiles it again), the settings (overrides, else the config's task form, else its defaults),
 * the model validated, and the populations it needs checked. */
function resolveRun({ circuit, Parameterizer, planRun, configText, seed, pathwayProperty, fallback, overwrite, populations, chunkSize, rules, strict }) {
  let ruleColumns = null;
  let explain = null;
  if (rules?.isRulesInput(configText)) {
    checkRulesSettings(pathwayProperty ?? undefined, fallback ?? null);
    const compiled = compileRules({ circuit, RuleCompiler: rules.RuleCompiler, readRules: rules.readRules, rulesText: configText, populations, chunkSize, strict });
    configText = compiled.configText;
    ruleColumns = compiled.columns;
    explain = compiled.explain;
    pathwayProperty = RULES_PATHWAY;
  }
  const { settings, summary } = planRun(configText, overridesOf({ seed, pathwayProperty, fallback, overwrite, populations }));
  const effectiveSeed = settings.seed.value;
  new Parameterizer(configText, effectiveSeed ?? undefined).free(); // names a missing seed
  const requested = settings.populations.value;
  // What could not be loaded: refused when the run needs it (named, with its error), else warned.
  const needed = neededUnavailable(circuit, requested);
  if (needed.length) throw unavailableError(circuit, needed, requested);
  checkFallbackPopulations(settings.fallback.value ?? null, nodePopulationNames(circuit));
  for (const name of requested ?? []) {
    if (!circuit.edgePopulations.has(name)) throw new CircuitError(unknownPopulation(circuit, name));
  }
  return {
    configText, ruleColumns, explain, settings, summary, effectiveSeed, requested,
    pathwayProperty: settings.pathwayProperty.value, fallback: settings.fallback.value ?? undefined, overwrite: settings.overwrite.value,
  };
}

/** A core run per edge population to parameterize, with its pathway columns; populations whose
 * nodes lack the pathway property (and no fallback) are skipped with a warning, and listed in
 * `skipped` (the core's records). */
function planPopulations(circuit, { configText, ruleColumns, effectiveSeed, requested, pathwayProperty, fallback }, Parameterizer, warnings, skippedList) {
  const plans = [];
  try {
    for (const edges of circuit.edgePopulations.values()) {
      if (requested && !requested.includes(edges.name)) continue;
      const { columns, skipped, skip } = ruleColumns ? { columns: ruleColumns.get(edges.name) } : pathwayColumnsOf(circuit, edges, pathwayProperty, fallback);
      if (skipped) {
        warnings.push(skipped);
        skippedList.push(skip);
        continue;
      }
      const run = new Parameterizer(configText, effectiveSeed);
      const plan = { edges, run, columns, attributes: null };
      plans.push(plan);
      try {
        run.addEdgePopulation(edges.name, columns.source.population, columns.source.ipc, columns.target.population, columns.target.ipc, pathwayProperty, fallback);
      } catch (error) {
        throw inFile(error, edges.shownName);
      }
      plan.attributes = planEdgeAttributes(circuit, edges, run);
    }
    if (!plans.length) throw new CircuitError(`no edge population to parameterize${warnings.length ? ": " + warnings.join("; ") : ""}`);
  } catch (error) {
    for (const { run } of plans) run.free();
    throw error;
  }
  return plans;
}

/** Draw (and write, into `file` when given) one edge population: its result for the caller. */
async function drawPopulation({ edges, run, columns: pathwayColumns, attributes }, file, fileName, draw) {
  const { timings, keepColumns, onColumns, warnings } = draw;
  timings?.mark("open edges file");
  const writer = file ? openPopulationOutput(file, edges, run, draw) : null;
  timings?.mark("plan and create datasets");
  const batches = [];
  const step = {
    edges, run, writer, file, pathwayColumns, attributes,
    withArrow: keepColumns || Boolean(onColumns),
    async columnsOf(ipc) {
      if (keepColumns) batches.push(...tableFromIPC(onColumns ? ipc.slice() : ipc).batches);
      if (onColumns) await onColumns(edges.name, ipc);
    },
    readBefore: previousValuesReader(edges, run, draw),
  };
  // Connections are counted per target block, as edges sorted by target (SONATA's order)
  // allow; if they turn out not to be, they are counted again below, remembering pairs.
  run.assumeSortedByTarget(edges.name);
  const known = draw.knownConnections?.[edges.name] ?? null;
  if (known) run.countConnections = false;
  if (draw.workers >= 1 && draw.createPool && edges.size > draw.chunkSize) await drawInWorkers({ ...step, count: !known }, draw);
  else await drawHere(step, draw);
  writer?.finish();
  timings?.mark("draw and write");
  const connections = known ?? connectionsOf(edges, run, draw);
  const stats = run.statistics();
  warnings.push(...run.warnings(edges.name));
  const columns = keepColumns ? tableToIPC(new Table(batches), "stream") : null;
  return {
    name: edges.name, source: edges.source, target: edges.target, size: edges.size, fileName, shownName: edges.shownName,
    stats, connections, columns, datasets: writer ? run.datasetDigests(edges.name) : null,
    attributes: attributes && { datasets: attributes.datasets, source_positions: attributes.source_positions, synapse_position: attributes.synapse_position },
  };
}

/** Reads the values the file held for the model's properties (from the input, never the copy
 * being written) into the run, chunk by chunk; nothing when not asked. */
function previousValuesReader(edges, run, { previousValues, summary }) {
  const before = previousValues ? existingNumericProperties(edges, summary.properties.map((p) => p.name)) : [];
  return (chunk) => {
    if (!before.length) return;
    const columns = existingEdgeColumns(edges, before, chunk.start, chunk.end);
    for (const property of before) run.addPreviousValues(edges.name, chunk.ipc, property, columns[property]);
  };
}

/** Parallel: workers draw; this thread reads, counts connections (every chunk, in order), writes
 * in chunk order, and merges the workers' states into its run. */
async function drawInWorkers({ edges, run, writer, file, pathwayColumns, attributes, withArrow, columnsOf, readBefore, count = true }, draw) {
  const { timings, chunkSize, createPool, workers, module, configText, effectiveSeed, pathwayProperty, fallback, shouldStop, progress } = draw;
  const chunks = edgeChunks(edges, chunkSize, { withGroups: Boolean(writer), file: file ?? edges.file, attributes: attributes?.datasets });
  const pool = createPool(Math.min(workers, Math.ceil(edges.size / chunkSize)));
  try {
    await pool.init({
      module, configText, seed: effectiveSeed, name: edges.name, ...pathwayColumns, pathwayProperty, fallback, plan: writer?.planInputs ?? null,
      attributes: attributes && { available: attributes.available, positions: attributes.positions },
    });
    const counted = function* () {
      for (;;) {
        timings?.mark("draw and write");
        const { value: chunk, done: end } = chunks.next();
        timings?.mark("read edge chunks");
        if (end) return;
        try {
          if (count) run.countConnectionsOf(edges.name, chunk.ipc);
          readBefore(chunk);
        } catch (error) {
          throw inFile(error, edges.shownName);
        }
        timings?.mark("count connections");
        yield chunk;
      }
    };
    await pool.drawAll(counted(), {
      store: Boolean(writer), withArrow, shouldStop,
      onResult: async (chunk, result) => {
        timings?.mark("draw and write");
        if (writer) writer.write(result);
        timings?.mark("write blocks");
        if (withArrow) await columnsOf(result.arrow);
        timings?.mark("write columns");
        progress.stored(chunk);
      },
    }).catch((error) => {
      throw error.name === "AbortError" ? new CircuitError("cancelled") : inFile(error, edges.shownName);
    });
    for (const state of await pool.finish()) run.mergeState(edges.name, state);
  } finally {
    pool.terminate();
  }
}

/** On this thread, chunk by chunk, letting abort signals and messages through between chunks. */
async function drawHere({ edges, run, writer, file, attributes, withArrow, columnsOf, readBefore }, { chunkSize, shouldStop, progress }) {
  for (const chunk of edgeChunks(edges, chunkSize, { withGroups: Boolean(writer), file: file ?? edges.file, attributes: attributes?.datasets })) {
    await yieldToEvents();
    if (shouldStop()) throw new CircuitError("cancelled");
    try {
      readBefore(chunk);
      if (writer) {
        // Views into wasm memory, valid until the next call into it: written (or copied) at once.
        const result = run.runChunkStorage(edges.name, chunk.ipc, withArrow);
        writer.write(result);
        if (withArrow) await columnsOf(result.arrow.slice());
      } else if (withArrow) {
        await columnsOf(run.runChunk(edges.name, chunk.ipc));
      } else {
        run.runChunkView(edges.name, chunk.ipc);
      }
    } catch (error) {
      throw inFile(error, edges.shownName);
    }
    progress.stored(chunk);
  }
}

/** Distinct connections per pathway; counted again remembering every pair (ids only) when the
 * edges turned out not to be sorted by target. */
function connectionsOf(edges, run, { chunkSize, timings }) {
  try {
    return run.connections(edges.name);
  } catch {
    run.resetConnections(edges.name);
    for (const chunk of edgeChunks(edges, chunkSize)) run.countConnectionsOf(edges.name, chunk.ipc);
    timings?.mark("count connections again (edges not sorted by target)");
    return run.connections(edges.name);
  }
}

/** Several edge populations of one model: the core's statistics over all of them (each
 * pathway's synapses, histogram and fit over every population), and their connections. */
function combinedStatistics(Parameterizer, configText, seed, plans, results) {
  const all = new Parameterizer(configText, seed);
  try {
    for (const { run } of plans) all.mergeStatistics(run.statisticsState());
    const connections = {};
    for (const population of results) {
      for (const [pathway, count] of Object.entries(population.connections)) connections[pathway] = (connections[pathway] ?? 0) + count;
    }
    return { stats: all.statistics(), connections, size: results.reduce((sum, p) => sum + p.size, 0) };
  } finally {
    all.free();
  }
}
