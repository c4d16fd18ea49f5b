// A worker's "result" message as hosts get it (the element's getResults/exportEdges and the
// headless API): Arrow tables, statistics and edge files per edge population.
import { tableFromIPC } from "apache-arrow";

/** `{results: {population: arrow.Table}, stats: {population: {source, target, synapses,
 * connections, properties}}, warnings, edges: {path: Blob}, seed, pathwayProperty}`. */
export function resultsOf(data) {
  return {
    results: Object.fromEntries(data.populations.map((p) => [p.name, tableFromIPC(p.columns)])),
    stats: Object.fromEntries(data.populations.map((p) => [p.name, { source: p.source, target: p.target, synapses: p.size, connections: p.connections, properties: p.stats }])),
    warnings: data.warnings,
    edges: Object.fromEntries((data.outputs ?? []).map((o) => [o.output, new Blob([o.bytes], { type: "application/x-hdf5" })])),
    seed: data.seed,
    pathwayProperty: data.pathwayProperty,
  };
}
