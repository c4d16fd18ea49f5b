// What every host gives the core's planScan beside a scan config, and how it names a scan point in
// an error (design §5.5): the command, the Node API and the page's worker alike.

/** The hosts' run settings (overridesOf's keys) → the core's names of them (`ScanHost.settings`). */
const CORE_SETTING = { seed: "seed", pathwayProperty: "pathway_property", fallback: "fallback", overwrite: "overwrite", populations: "populations" };

/**
 * The `host` argument of the core's planScan: the run settings the host sets for every point
 * (`given`, as overridesOf returns them: the set ones only), each under the host's own name for
 * it (`names[setting]`: the command's `--seed`, the page's "Seed"), so that the core refuses a
 * setting an axis also sets naming both; `maxPointsOption` names the host's max-points option.
 */
export function scanHost(given, names, maxPointsOption = undefined) {
  return {
    ...(maxPointsOption === undefined ? {} : { max_points_option: maxPointsOption }),
    settings: Object.fromEntries(Object.keys(given).map((key) => [CORE_SETTING[key], names[key]])),
  };
}

/** A core or run error about one scan point, named by it (its name says its axis values). */
export function inPoint(error, point) {
  error.message = `scan point ${point.name}: ${error.message}`;
  return error;
}
