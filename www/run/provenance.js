// The provenance of a parameterized circuit, as the core writes and reads it (design §5.3;
// src/output/sidecar.rs): the sidecar (parameterization.json) that records what was run on which
// inputs and what came out, and the HDF5 attributes set on every written dataset. This module
// only adapts the hosts' run results to the core's sidecar and its reading back to their settings.
import { sidecarText, readSidecar, changedInputs as coreChangedInputs, configSha256, sidecarName } from "../../pkg/synparam.js";
import { inFileOf } from "../sonata/errors.js";

/** Name of the provenance sidecar at the root of an output circuit. */
export const provenanceFileName = () => sidecarName();

/** HDF5 attributes set on every dataset synparam writes. */
export function datasetAttributes({ version, seed, configText }) {
  return {
    synparam_tool: "synparam",
    synparam_version: version,
    synparam_seed: BigInt(seed),
    synparam_config_sha256: configSha256(configText),
  };
}

/**
 * The sidecar of a verified run: `{text, document}` (the core's bytes, and them parsed). `results`
 * are the run's populations; `layout` the output layout; `inputs` and `outputs` SHA-256s by name;
 * `datasets` the verified digests per written file; `unavailable` what the loader could not load; `skipped` the
 * edge populations the run left out (the core's records);
 * `explain` a rules config's explanation (its rules matching no node are recorded); `parent` the
 * run this one changes (the core's record, from `reparameterize`), or null.
 */
export function provenanceDocument({ version, created, seed, pathwayProperty, fallback, overwrite, populations, configText, results, layout, inputs, outputs, datasets, directories, notIncluded, unavailable = [], skipped = [], explain = null, parent = null }) {
  const text = sidecarText({
    version, created, seed: typeof seed === "bigint" ? String(seed) : seed, pathway_property: pathwayProperty, fallback: fallback ?? null,
    overwrite, populations: populations ?? null, config_text: configText,
    parameterized: results.map((p) => ({
      name: p.name, file: p.fileName, synapses: p.size, connections: Object.values(p.connections).reduce((a, b) => a + b, 0),
      attributes: p.attributes ? { datasets: p.attributes.datasets, source_positions: p.attributes.source_positions } : null,
    })),
    layout: { entries: layout.entries.map(({ input, output, kind, role }) => ({ input, output, kind, role })), config: layout.config, unset: layout.unset ?? [] },
    inputs, outputs, datasets, directories, not_included: notIncluded,
    unavailable: unavailable.map((u) => ({ kind: u.kind, name: u.name, population: u.population ?? null })),
    skipped,
    rules_matching_nothing: explain?.rules_matching_nothing ?? [], parent,
  });
  return { text, document: JSON.parse(text) };
}

/**
 * The run a sidecar describes — `{configText, seed, pathwayProperty, fallback, overwrite,
 * populations, inputs, version}` — validated by the core: every field typed, errors naming the
 * field, and the recorded model checked against its recorded SHA-256 (an edited model is refused).
 */
export function readProvenance(text, shownName = provenanceFileName()) {
  let run;
  try {
    run = readSidecar(text);
  } catch (error) {
    throw inFileOf(error, shownName);
  }
  return {
    configText: run.config_text, seed: run.seed, pathwayProperty: run.pathway_property, fallback: run.fallback ?? undefined,
    overwrite: run.overwrite, populations: run.populations ?? null, inputs: run.inputs, version: run.version,
  };
}

/** Input files whose hashes differ from a sidecar's (or that it does not list): a rerun on them
 * would not reproduce the recorded result. */
export const changedInputs = (recorded, actual) => coreChangedInputs(recorded, actual);
