// A parameterized circuit as output: where every file the input circuit names goes under the
// output root, the circuit config rewritten only where a path must change, and the provenance
// sidecar (parameterization.json) that lets anyone rerun the same parameterization bit for bit.
// Pure logic shared by the headless command (which copies files on disk) and the page's worker
// (which streams them into a zip).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { CircuitError } from "./loader.js";

/** Name of the provenance sidecar at the root of an output circuit. */
export const PROVENANCE_FILE = "parameterization.json";

/** Folder, under the output root, for files the config names outside its own folder. */
const EXTERNAL_DIR = "external";

/** Resolve "." and ".." and repeated slashes of a POSIX path; keeps a leading "/" and leading ".."s. */
export function normalizePath(path) {
  const absolute = path.startsWith("/");
  const parts = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length && parts.at(-1) !== "..") parts.pop();
    else if (part !== ".." || !absolute) parts.push(part);
  }
  return (absolute ? "/" : "") + parts.join("/");
}

const isOutside = (relativePath) => relativePath.startsWith("/") || relativePath === ".." || relativePath.startsWith("../") || /^[a-z]+:\/\//i.test(relativePath);
const basename = (path) => path.slice(path.lastIndexOf("/") + 1);
const dirname = (path) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

/** Longest common folder of normalized paths ("" when none). */
function commonFolder(paths) {
  if (!paths.length) return "";
  let common = dirname(paths[0]).split("/");
  for (const path of paths.slice(1)) {
    const parts = dirname(path).split("/");
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join("/");
}

function setAt(object, keyPath, value) {
  let target = object;
  for (const key of keyPath.slice(0, -1)) target = target[key];
  target[keyPath.at(-1)] = value;
}

/**
 * Where each file of `circuit` (from loadCircuit) goes in the output circuit. Returns
 * `{entries: [{input, output, kind: "file"|"dir", role}], config: {input, output, text, rewritten} | null}`:
 * inputs are the loader's names; outputs are relative to the output root and keep the input's
 * layout relative to the circuit config (or, for plain files, to their common folder). Files the
 * config names outside its folder go to `external/` (keeping their path below the leading "../")
 * and only those config entries change.
 * Two inputs that would land on one output path are an error naming both.
 */
export function outputLayout(circuit) {
  const entries = [];
  const byOutput = new Map();
  const byInput = new Map();
  const add = (input, output, kind, role) => {
    if (byInput.has(input)) return byInput.get(input);
    if (byOutput.has(output)) {
      throw new CircuitError(`two input files would both be written as ${output}: ${byOutput.get(output)} and ${input}`);
    }
    const entry = { input, output, kind, role };
    byOutput.set(output, input);
    byInput.set(input, entry);
    entries.push(entry);
    return entry;
  };
  if (!circuit.config) {
    const names = circuit.references.map((r) => normalizePath(r.name));
    const root = commonFolder(names);
    circuit.references.forEach((r, i) => add(r.name, root ? names[i].slice(root.length + 1) : names[i].replace(/^\//, ""), r.kind, r.role));
    return { entries, config: null };
  }
  const root = dirname(circuit.config.name);
  const json = structuredClone(circuit.config.json);
  let rewritten = false;
  for (const reference of circuit.references) {
    const name = normalizePath(reference.name);
    const relative = root ? (name.startsWith(`${root}/`) ? name.slice(root.length + 1) : normalizePath(`${root.split("/").map(() => "..").join("/")}/${name}`)) : name;
    if (!isOutside(relative)) {
      add(reference.name, relative, reference.kind, reference.role);
      continue;
    }
    // Outside the config's folder: under external/, keeping the path below its leading "../"s
    // (or "/"), numbered only if two such paths meet.
    let entry = byInput.get(reference.name);
    if (!entry) {
      const kept = relative.replace(/^[a-z]+:\/\/[^/]*\//i, "").replace(/^(\.\.\/)+|^\/+/, "");
      let output = `${EXTERNAL_DIR}/${kept}`;
      for (let n = 2; byOutput.has(output); n++) output = `${EXTERNAL_DIR}/${n}/${kept}`;
      entry = add(reference.name, output, reference.kind, reference.role);
    }
    setAt(json, reference.keyPath, `./${entry.output}`);
    rewritten = true;
  }
  const configOutput = basename(circuit.config.name);
  if (byOutput.has(configOutput)) throw new CircuitError(`the circuit config and ${byOutput.get(configOutput)} would both be written as ${configOutput}`);
  return {
    entries,
    config: { input: circuit.config.name, output: configOutput, rewritten, text: rewritten ? `${JSON.stringify(json, null, 2)}\n` : circuit.config.text },
  };
}

/** The config text whose hash identifies a model: compact JSON of the parsed config (so that a
 * rerun from the sidecar hashes the same), or the text itself when it is not strict JSON
 * (ConnPropsModel's NaN). */
export function canonicalConfigText(configText) {
  try {
    return JSON.stringify(JSON.parse(configText));
  } catch {
    return configText;
  }
}

/** SHA-256 (hex) of a string's UTF-8 bytes. */
export const sha256OfText = (text) => bytesToHex(sha256(utf8ToBytes(text)));

/** An incremental SHA-256 for files read in chunks (browsers have no streaming digest). */
export function sha256Stream() {
  const hash = sha256.create();
  return { update: (bytes) => hash.update(bytes), hex: () => bytesToHex(hash.digest()) };
}

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
 * populations, overwrite) and what identifies its inputs and outputs (SHA-256 of every file).
 * Key order is fixed so that the headless command and the page write the same bytes (but for
 * `created`).
 */
export function provenanceDocument({ version, created, circuitConfig, seed, pathwayProperty, fallback, overwrite, populations, configText, results, layout, inputs, outputs, directories, notIncluded }) {
  let model;
  try {
    model = { model_config: JSON.parse(configText) };
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
    directories,
    not_included: notIncluded,
  };
}

/** The run a sidecar describes: `{configText, seed, pathwayProperty, fallback, overwrite, populations, inputs}`. */
export function readProvenance(text, shownName = PROVENANCE_FILE) {
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CircuitError(`not valid JSON (${error.message})`, { file: shownName });
  }
  if (document?.tool !== "synparam") throw new CircuitError("not a synparam provenance file (no \"tool\": \"synparam\")", { file: shownName });
  for (const key of ["seed", "pathway_property", "inputs"]) {
    if (document[key] === undefined) throw new CircuitError(`missing "${key}"`, { file: shownName });
  }
  const configText = document.model_config !== undefined ? JSON.stringify(document.model_config) : document.model_config_text;
  if (typeof configText !== "string") throw new CircuitError("missing \"model_config\"", { file: shownName });
  return {
    configText,
    seed: document.seed,
    pathwayProperty: document.pathway_property,
    fallback: document.fallback_value ?? undefined,
    overwrite: document.overwrite_if_exists === true,
    populations: document.edge_populations ?? null,
    inputs: document.inputs,
    version: document.version,
  };
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

/**
 * Hash the inputs of a layout in a fixed order (config, then entries), so every environment
 * writes the same sidecar. `probe(entry)` says what exists: "file", "dir", or `{missing: reason}`;
 * `hash(inputName)` returns a file's SHA-256. Marks each entry's `present`. Returns
 * `{inputs: {name: sha256}, notIncluded: [outputPath], warnings}`.
 */
export async function hashInputs(layout, { probe, hash }) {
  const inputs = {};
  const notIncluded = [];
  const warnings = [];
  if (layout.config) inputs[layout.config.input] = await hash(layout.config.input);
  for (const entry of layout.entries) {
    const found = await probe(entry);
    entry.present = typeof found === "string";
    if (!entry.present) {
      notIncluded.push(entry.output);
      warnings.push(`${entry.input}: ${found?.missing ?? "named by the circuit but does not exist"}; not included in the output`);
    } else if (found === "file") {
      inputs[entry.input] = await hash(entry.input);
    } else {
      entry.kind = "dir";
    }
  }
  return { inputs, notIncluded, warnings };
}

/**
 * Place every present entry of a layout in the output, in layout order, then the config:
 * parameterized edge files are already written (`hashWritten(entry)` hashes them), others go
 * through `copyFile(entry)` / `copyDirectory(entry)` (unchanged, so their input hash is theirs).
 * `writeConfig(output, text)` writes the config. Returns `{outputs: {path: sha256}, directories}`.
 */
export async function placeOutputs(layout, inputs, parameterized, { hashWritten, copyFile, copyDirectory, writeConfig }) {
  const outputs = {};
  const directories = [];
  for (const entry of layout.entries) {
    if (!entry.present) continue;
    if (parameterized.has(entry.input)) {
      outputs[entry.output] = await hashWritten(entry);
    } else if (entry.kind === "dir") {
      await copyDirectory(entry);
      directories.push(entry.output);
    } else {
      await copyFile(entry);
      outputs[entry.output] = inputs[entry.input];
    }
  }
  if (layout.config) {
    await writeConfig(layout.config.output, layout.config.text);
    outputs[layout.config.output] = sha256OfText(layout.config.text);
  }
  return { outputs, directories };
}
