// One parameterization of a loaded circuit: prepare each edge population's pathway columns, run
// every chunk through the wasm core, write the drawn columns into writable copies of the edge
// files, and collect statistics and warnings. Shared by the headless command and the page's worker
// (each supplies how output copies are made and finished).
import { tableFromIPC, tableToIPC, Table } from "apache-arrow";
import { nodePropertyValues, pathwayColumnIpc, edgeChunks, CircuitError } from "./loader.js";
import { planPopulationWrite } from "./writer.js";
import { datasetAttributes } from "./circuit_output.js";

/** The explicit storage dtype a config gives a property (one value across pathways), if any;
 * "int" is ConnPropsModel's rounding instruction, not a storage width. */
export function explicitDtype(config, property) {
  const model = config.pathway_param_dict ?? config;
  const dtypes = new Set();
  for (const bySource of Object.values(model.prop_stats?.[property] ?? {})) {
    for (const spec of Object.values(bySource)) dtypes.add(spec?.dtype ?? null);
  }
  const [only] = dtypes;
  return dtypes.size === 1 && only && only !== "int" ? only : null;
}

/**
 * Parameterize `circuit` (from loadCircuit). Without `output`, nothing is written (statistics and
 * columns only). `output.open(edgeFileName)` returns a writable h5wasm
 * File (a copy of that edges file) and `output.finish(edgeFileName, file)` closes and delivers it;
 * `output.abandon(edgeFileName, file)` is called instead on error. Returns
 * `{populations: [{name, source, target, size, fileName, stats, connections, columns}], warnings,
 * pathwayProperty, fallback, seed, overwrite, requested}` where `columns` (with `keepColumns`) is an
 * Arrow IPC stream of the drawn columns in edge order (and the settings actually used, after the
 * config's defaults). With `version`, every written dataset gets provenance attributes.
 */
export async function parameterizeCircuit({
  circuit, Parameterizer, configText, seed, pathwayProperty, fallback, overwrite = false, populations = null,
  chunkSize = 1_000_000, output, onProgress = () => {}, shouldStop = () => false, keepColumns = false, version = null,
}) {
  const config = JSON.parse(configText.replace(/\bNaN\b|-?\bInfinity\b/g, "null"));
  pathwayProperty ??= config.pathway_property ?? "synapse_class";
  fallback ??= config.fallback_pathway_value ?? undefined;
  overwrite ||= config.overwrite_if_exists === true;
  const requested = populations ?? config.edge_populations ?? null;
  for (const name of requested ?? []) {
    if (!circuit.edgePopulations.has(name)) {
      throw new CircuitError(`unknown edge population '${name}' (the circuit has: ${[...circuit.edgePopulations.keys()].join(", ")})`);
    }
  }
  // Validate the model (and seed) before touching any file.
  const check = new Parameterizer(configText, seed);
  const effectiveSeed = check.seed;
  check.free();
  const attributes = version ? datasetAttributes({ version, seed: effectiveSeed, configText }) : {};

  const warnings = [];
  const plans = [];
  try {
    for (const edges of circuit.edgePopulations.values()) {
      if (requested && !requested.includes(edges.name)) continue;
      const roles = {};
      for (const role of ["source", "target"]) {
        const nodes = circuit.nodePopulations.get(edges[role]);
        if (!nodes) throw new CircuitError(`${role} node population '${edges[role]}' is not in the circuit`, { file: edges.shownName, population: edges.name });
        let values = nodePropertyValues(nodes, pathwayProperty);
        if (!values && fallback === undefined) {
          warnings.push(`skipped edge population '${edges.name}': ${role} node population '${nodes.name}' has no '${pathwayProperty}' property (set a fallback value to include it)`);
          break;
        }
        values ??= new Array(nodes.size).fill(null);
        roles[role] = { nodes, values };
      }
      if (!roles.source || !roles.target) continue;
      const run = new Parameterizer(configText, seed);
      plans.push({ edges, run });
      run.addEdgePopulation(edges.name, roles.source.nodes.name, pathwayColumnIpc(roles.source.values),
        roles.target.nodes.name, pathwayColumnIpc(roles.target.values), pathwayProperty, fallback);
    }
    if (!plans.length) throw new CircuitError(`no edge population to parameterize${warnings.length ? ": " + warnings.join("; ") : ""}`);

    const byFile = new Map();
    for (const plan of plans) {
      if (!byFile.has(plan.edges.fileName)) byFile.set(plan.edges.fileName, []);
      byFile.get(plan.edges.fileName).push(plan);
    }
    const total = plans.reduce((sum, p) => sum + p.edges.size, 0);
    let done = 0;
    const results = [];
    for (const [fileName, filePlans] of byFile) {
      const file = output ? await output.open(fileName) : null;
      try {
        for (const { edges, run } of filePlans) {
          const properties = run.summary.properties.map((p) => ({ name: p.name, columnType: p.column_type, dtype: explicitDtype(config, p.name) }));
          const writer = file ? planPopulationWrite(file, edges, properties, { overwrite, shownName: edges.shownName, attributes }) : null;
          const batches = [];
          for (const chunk of edgeChunks(edges, chunkSize)) {
            // Let abort signals and messages through between chunks.
            await new Promise((resolve) => setTimeout(resolve, 0));
            if (shouldStop()) throw new CircuitError("cancelled");
            // Kept columns need bytes of their own; otherwise the result is read in place (a view
            // into wasm memory, valid until the next call into it) and only the file gets a copy.
            const bytes = keepColumns ? run.runChunk(edges.name, chunk.ipc) : run.runChunkView(edges.name, chunk.ipc);
            const table = tableFromIPC(bytes);
            if (keepColumns) batches.push(...table.batches);
            writer?.write(chunk.start, Object.fromEntries(table.schema.fields.map((f) => [f.name, table.getChild(f.name).toArray()])));
            done += chunk.end - chunk.start;
            onProgress(done, total);
          }
          const stats = run.statistics();
          for (const property of stats) {
            for (const p of property.pathways) {
              if (p.clipped_share > 0) warnings.push(`${edges.name}: ${property.property} ${p.source} → ${p.target}: ${(100 * p.clipped_share).toFixed(2)} % of values clipped by bounds`);
            }
          }
          const columns = keepColumns ? tableToIPC(new Table(batches), "stream") : null;
          results.push({ name: edges.name, source: edges.source, target: edges.target, size: edges.size, fileName, stats, connections: run.connections(edges.name), columns });
        }
      } catch (error) {
        if (output) await output.abandon(fileName, file);
        throw error;
      }
      if (output) await output.finish(fileName, file);
    }
    return { populations: results, warnings, pathwayProperty, fallback: fallback ?? null, seed: effectiveSeed, overwrite, requested };
  } finally {
    for (const { run } of plans) run.free();
  }
}
