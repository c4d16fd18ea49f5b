// A parameterized circuit as output, as the core decides it (design §5.2; src/output/layout.rs):
// where every file and folder the input circuit names goes under the output root, the circuit
// config rewritten only where a path must change, and every output file with where it comes
// from. This module only adapts the loader's circuit and a host's file listing to the core's
// request and back; the command copies files by it, the page's worker composes a zip.
import { outputLayout as coreLayout, outputFiles as coreFiles, safeOutputPath as coreSafeOutputPath, scanLayout as coreScanLayout } from "../../pkg/synparam.js";
import { inFileOf } from "./errors.js";

/** A core CircuitError as this module's CircuitError (about no one file); anything else as it is. */
const rethrown = (error) => inFileOf(error, undefined);

/** An output path that is safe to create under an output root or inside a zip (normalized):
 * relative, POSIX, no "..", no empty, "." or drive-like segment, no backslash or control character. */
export function safeOutputPath(output) {
  try {
    return coreSafeOutputPath(output);
  } catch (error) {
    throw rethrown(error);
  }
}

/**
 * Where each file of `circuit` (from loadCircuit) goes in the output circuit: `{entries: [{input,
 * output, kind, role}], config: {input, output, text, rewritten} | null, unset: [keyPath]}` (see
 * the core's `output_layout`). Two inputs that would land on one output path are an error naming both.
 */
export function outputLayout(circuit) {
  try {
    return coreLayout(layoutRequest(circuit));
  } catch (error) {
    throw rethrown(error);
  }
}

/** What the core's layouts take of a loaded circuit: its config, else its plain files. */
const layoutRequest = (circuit) => (circuit.config
  ? { config: { name: circuit.config.name, text: circuit.config.text } }
  : { files: circuit.references.map((r) => ({ name: r.name, role: r.role })) });

/**
 * A scan's layout over `circuit` (the core's `scan_layout`): `{shared_dir, shared_prefix, layout,
 * per_point: [bool per entry], point: the layout each point's sidecar records, with its config
 * text}` — the edges files `perPoint` (loader names) written in each point, everything else once.
 */
export function scanLayout(circuit, perPoint) {
  try {
    return coreScanLayout(layoutRequest(circuit), perPoint);
  } catch (error) {
    throw rethrown(error);
  }
}

/**
 * Every file of the output circuit and where it comes from, each output path once, in the core's
 * order (the config, the files named — `"written"` for the edge files the run wrote —, then the
 * files of the folders named; the sidecar's path is reserved). `layout.entries` carry what the
 * host found (`present`, `kind`); `folderFiles(entry)` lists a present folder's files (`{relative,
 * …}`). Returns `[{output, from: "config" | "written" | "input", entry?, file?}]`.
 */
export function outputFiles(layout, { written = new Set(), folderFiles }) {
  const listed = layout.entries.map((entry) => (entry.present !== false && entry.kind === "dir" ? folderFiles(entry) : []));
  const found = layout.entries.map((entry, i) => ({ present: entry.present !== false, kind: entry.kind, files: listed[i].map((f) => f.relative) }));
  let plan;
  try {
    plan = coreFiles(layout, found, [...written]);
  } catch (error) {
    throw rethrown(error);
  }
  return plan.map((item) => {
    const entry = item.entry === null || item.entry === undefined ? undefined : layout.entries[item.entry];
    const file = item.file === null || item.file === undefined ? undefined : listed[item.entry][item.file];
    return { output: item.output, from: item.from, ...(entry ? { entry } : {}), ...(file ? { file } : {}) };
  });
}
