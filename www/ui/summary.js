// A run's statistics as the page's table, CSV and change marks need them. No DOM here: tested in Node.

/** The key of one pathway of one property of one population. */
export const pathwayKey = (population, property, pathway) => `${population.name}|${property.property}|${pathway.source}|${pathway.target}`;

/**
 * Fingerprints of every pathway's statistics (`key → text`). Keyed streams give a property whose
 * spec did not change bit-identical values, so a different fingerprint between two runs means
 * the user changed that spec.
 */
export function statisticsFingerprints(populations) {
  return new Map(populations.flatMap((population) => population.stats.flatMap((property) =>
    property.pathways.map((p) => [pathwayKey(population, property, p), JSON.stringify([p.count, p.mean, p.std, p.histogram.counts])]))));
}

/** The keys whose fingerprint differs from the previous run's (none after a first run). */
export function changedPathways(previous, current) {
  return new Set(previous ? [...current.keys()].filter((key) => previous.get(key) !== current.get(key)) : []);
}

/** One CSV row per population × property × pathway, with the spec's expected moments and the
 * mean the file held before the run (with Overwrite: its ratio, and whether it moved beyond 2×). */
export function summaryCsv(populations) {
  const rows = [["edge_population", "property", "source", "target", "synapses", "connections", "mean", "std", "min", "max", "clipped_share", "spec_mean", "spec_std",
    "fit_draws", "fit_chi2", "fit_df", "fit_p", "spec", "before_mean", "before_ratio", "before_shifted"]];
  for (const population of populations) {
    for (const property of population.stats) {
      for (const p of property.pathways) {
        rows.push([population.name, property.property, p.source, p.target, p.count, population.connections[`${p.source} → ${p.target}`] ?? 0,
          p.mean, p.std, p.min, p.max, p.clipped_share, p.theoretical_mean, p.theoretical_std,
          p.goodness_of_fit?.draws, p.goodness_of_fit?.statistic, p.goodness_of_fit?.degrees_of_freedom, p.goodness_of_fit?.p_value, p.formula,
          p.previous?.mean, p.previous?.mean_ratio, p.previous ? p.previous.shifted : undefined]);
      }
    }
  }
  const field = (v) => (v === null || v === undefined ? "" : typeof v === "string" && /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  return rows.map((r) => r.map(field).join(",")).join("\n") + "\n";
}

/** The task config of a run as it ran: the model with the settings the core used written in,
 * so that the command (or the page) reruns it from this file alone. */
export function taskOfRun(configText, { seed, pathwayProperty, fallback, overwrite, requested }) {
  const parsed = JSON.parse(configText);
  const task = parsed.pathway_param_dict ? { ...parsed } : { pathway_param_dict: parsed };
  Object.assign(task, { random_seed: seed, pathway_property: pathwayProperty, overwrite_if_exists: overwrite });
  if (fallback !== null && fallback !== undefined) task.fallback_pathway_value = fallback;
  else delete task.fallback_pathway_value;
  if (requested) task.edge_populations = requested;
  return task;
}
