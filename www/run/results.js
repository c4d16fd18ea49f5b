// A run's results as hosts get them (the element's getResults/exportEdges and the headless APIs):
// statistics, warnings, the parameterized edges files, the drawn columns — as Files (the browser's
// worker keeps them on disk) and, for runs small enough to hold, as Arrow tables.
import { tableFromIPC } from "apache-arrow";

/** Runs up to this many synapses also come with their columns as Arrow tables; larger ones give
 * the columns as Arrow IPC files only (`columns`), which `tablesOf` reads on request. */
export const TABLES_UP_TO = 2_000_000;

/**
 * `{results: {population: arrow.Table}, columns: {population: Blob}, stats: {population: {source,
 * target, synapses, connections, properties}}, warnings, edges: {path: Blob}, seed,
 * pathwayProperty, settings}` from a run's result message (`settings`: the core's resolution,
 * each setting `{value, source}`). `tables`: true, false, or "auto" (up to
 * TABLES_UP_TO synapses).
 */
export async function resultsOf(data, { tables = "auto" } = {}) {
  const synapses = data.populations.reduce((sum, p) => sum + p.size, 0);
  const wantTables = tables === true || (tables === "auto" && synapses <= TABLES_UP_TO);
  const columns = Object.fromEntries(data.populations.filter((p) => p.columns).map((p) => [p.name,
    p.columns instanceof Uint8Array ? new Blob([p.columns], { type: "application/vnd.apache.arrow.stream" }) : p.columns]));
  return {
    results: wantTables ? await tablesOf(data.populations) : {},
    columns,
    stats: Object.fromEntries(data.populations.map((p) => [p.name, { source: p.source, target: p.target, synapses: p.size, connections: p.connections, properties: p.stats, attributes: p.attributes ?? null }])),
    warnings: data.warnings,
    edges: Object.fromEntries((data.outputs ?? []).map((o) => [o.output, o.file ?? new Blob([o.bytes], { type: "application/x-hdf5" })])),
    seed: data.seed,
    pathwayProperty: data.pathwayProperty,
    settings: data.settings,
  };
}

/** The drawn columns of populations (`{name, columns: Uint8Array | Blob}`) as Arrow tables. */
export async function tablesOf(populations) {
  const tables = {};
  for (const p of populations) {
    if (!p.columns) continue;
    tables[p.name] = tableFromIPC(p.columns instanceof Uint8Array ? p.columns : new Uint8Array(await p.columns.arrayBuffer()));
  }
  return tables;
}
