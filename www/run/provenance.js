// The provenance of a parameterized circuit: the sidecar (parameterization.json) that records what
// was run on which inputs and what came out — settings, model, the SHA-256 of every input and
// output file and the content digest of every dataset written — so that anyone can check an output
// and rerun it bit for bit; and the HDF5 attributes set on every written dataset. Pure logic
// shared by the headless command and the page's worker.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { CircuitError } from "../sonata/loader.js";
import { printable } from "../sonata/paths.js";

/** Name of the provenance sidecar at the root of an output circuit. */
export const PROVENANCE_FILE = "parameterization.json";

/** The config text whose hash identifies a model: compact JSON of the parsed config (so that a
 * rerun from the sidecar hashes the same), or the text itself when it is not strict JSON
 * (ConnPropsModel's NaN). */
export function canonicalConfigText(configText) {
  if (!parsesExactly(configText)) return configText;
  try {
    return JSON.stringify(JSON.parse(configText));
  } catch {
    return configText;
  }
}

/** Whether JSON.parse keeps every number of `text`: false when an integer literal lies beyond
 * 2^53 (a random_seed up to 2^64 − 1 is valid), which a JS number would round. */
export function parsesExactly(text) {
  for (const [literal] of text.matchAll(/-?\d{16,}(?![\d.eE])/g)) {
    const magnitude = BigInt(literal.replace("-", ""));
    if (magnitude > BigInt(Number.MAX_SAFE_INTEGER)) return false;
  }
  return true;
}

/** SHA-256 (hex) of a string's UTF-8 bytes. */
export const sha256OfText = (text) => bytesToHex(sha256(utf8ToBytes(text)));

/** HDF5 attributes set on every dataset synparam writes. */
export function datasetAttributes({ version, seed, configText }) {
  return {
    synparam_tool: "synparam",
    synparam_version: version,
    synparam_seed: BigInt(seed),
    synparam_config_sha256: sha256OfText(canonicalConfigText(configText)),
  };
}

/**
 * The provenance sidecar: everything a rerun needs (model, seed, pathway property, fallback,
 * populations, overwrite) and what identifies its inputs and outputs (SHA-256 of every file, the
 * content digest of every dataset written, as verified against the files), and what of the circuit
 * could not be loaded (`unavailable`, from loadCircuit: kind, file as the output names it,
 * population; the reasons are in the run's warnings, worded per tool), and the rules of a rules
 * config that matched no node of the circuit (`rules_matching_nothing`, the core's list). Key order is fixed so
 * that the headless command and the page write the same bytes (but for `created`).
 */
export function provenanceDocument({ version, created, circuitConfig, seed, pathwayProperty, fallback, overwrite, populations, configText, results, layout, inputs, outputs, datasets, directories, notIncluded, unavailable = [], explain = null }) {
  // The model as JSON when JS reads it exactly; else (an unreadable text, or an integer beyond
  // 2^53 such as a large random_seed) as its text, so that a rerun reads the same model.
  let model;
  try {
    model = parsesExactly(configText) ? { model_config: JSON.parse(configText) } : { model_config_text: configText };
  } catch {
    model = { model_config_text: configText };
  }
  const outputOf = new Map(layout.entries.map((e) => [e.input, e.output]));
  return {
    tool: "synparam",
    version,
    created,
    circuit_config: circuitConfig,
    seed,
    pathway_property: pathwayProperty,
    fallback_value: fallback ?? null,
    overwrite_if_exists: overwrite,
    edge_populations: populations ?? null,
    ...model,
    model_config_sha256: sha256OfText(canonicalConfigText(configText)),
    parameterized: Object.fromEntries(results.map((p) => [p.name, {
      edges_file: outputOf.get(p.fileName) ?? p.fileName,
      synapses: p.size,
      connections: Object.values(p.connections).reduce((a, b) => a + b, 0),
    }])),
    inputs,
    outputs,
    datasets,
    directories,
    unset_paths: layout.unset ?? [],
    not_included: notIncluded,
    unavailable: unavailable.map((u) => ({ kind: u.kind, file: outputOf.get(u.name) ?? u.name, population: u.population })),
    rules_matching_nothing: explain?.rules_matching_nothing ?? [],
  };
}

/** Checks of one field of a parsed sidecar: each returns the value or throws naming the field. */
function fields(document, shownName) {
  const fail = (key, message) => {
    throw new CircuitError(`${key}: ${message}`, { file: shownName });
  };
  const shown = (value) => printable(JSON.stringify(value) ?? String(value)).slice(0, 60);
  return {
    string(key, { optional = false } = {}) {
      const value = document[key];
      if ((value === undefined || value === null) && optional) return null;
      if (typeof value !== "string" || !value) fail(key, `must be a non-empty string, got ${shown(value)}`);
      return value;
    },
    boolean(key) {
      const value = document[key];
      if (typeof value !== "boolean") fail(key, `must be true or false, got ${shown(value)}`);
      return value;
    },
    seed(key) {
      // A number, or the decimal string of a seed above 2^53 − 1 (as the core gives those).
      const value = document[key];
      const exact = (Number.isSafeInteger(value) && value >= 0) || (typeof value === "string" && /^\d+$/.test(value) && BigInt(value) < 2n ** 64n);
      if (!exact) fail(key, `must be a non-negative integer (at most 2^64 − 1; above 2^53 − 1 as a decimal string), got ${shown(value)}`);
      return value;
    },
    strings(key) {
      const value = document[key];
      if (value === null || value === undefined) return null;
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) fail(key, `must be a list of strings or null, got ${shown(value)}`);
      return value;
    },
    hashes(key) {
      const value = document[key];
      if (!value || typeof value !== "object" || Array.isArray(value)) fail(key, `must be an object {file: sha256}, got ${shown(value)}`);
      for (const [name, hash] of Object.entries(value)) {
        if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) fail(`${key}[${JSON.stringify(name)}]`, `must be a SHA-256 (64 hex digits), got ${shown(hash)}`);
      }
      return value;
    },
  };
}

/**
 * The run a sidecar describes — `{configText, seed, pathwayProperty, fallback, overwrite,
 * populations, inputs, version}` — validated like a config: every field typed, errors naming the
 * field, and the recorded model checked against its recorded SHA-256 (an edited model is refused).
 */
export function readProvenance(text, shownName = PROVENANCE_FILE) {
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CircuitError(`not valid JSON (${error.message})`, { file: shownName });
  }
  if (!document || typeof document !== "object" || Array.isArray(document)) throw new CircuitError("must be a JSON object", { file: shownName });
  if (document.tool !== "synparam") throw new CircuitError("not a synparam provenance file (no \"tool\": \"synparam\")", { file: shownName });
  const check = fields(document, shownName);
  const version = check.string("version");
  const seed = check.seed("seed");
  const pathwayProperty = check.string("pathway_property");
  const fallback = check.string("fallback_value", { optional: true });
  const overwrite = check.boolean("overwrite_if_exists");
  const populations = check.strings("edge_populations");
  const inputs = check.hashes("inputs");
  let configText;
  if (document.model_config !== undefined) {
    if (!document.model_config || typeof document.model_config !== "object" || Array.isArray(document.model_config)) {
      throw new CircuitError("model_config: must be a JSON object (the model or task form)", { file: shownName });
    }
    configText = JSON.stringify(document.model_config);
  } else {
    configText = check.string("model_config_text");
  }
  const recordedHash = check.string("model_config_sha256");
  if (sha256OfText(canonicalConfigText(configText)) !== recordedHash) {
    throw new CircuitError("model_config: does not match model_config_sha256 (the recorded model was edited); refusing to rerun a model that is not the one recorded", { file: shownName });
  }
  return { configText, seed, pathwayProperty, fallback: fallback ?? undefined, overwrite, populations, inputs, version };
}

/** Input files whose hashes differ from a sidecar's (or that it does not list): a rerun on them
 * would not reproduce the recorded result. */
export function changedInputs(recorded, actual) {
  const changed = [];
  for (const [name, hash] of Object.entries(recorded)) {
    if (actual[name] !== hash) changed.push(actual[name] === undefined ? `${name} (missing)` : name);
  }
  for (const name of Object.keys(actual)) if (!(name in recorded)) changed.push(`${name} (not in the provenance)`);
  return changed;
}
