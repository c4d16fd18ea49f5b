// A parameterized circuit as output: where every file and folder the input circuit names goes
// under the output root, and the circuit config, rewritten only where a path must change. Pure
// decisions shared by the headless command (which copies files on disk) and the page's worker
// (which streams them into a zip); names come from paths.js, as the loader resolved them.
import { CircuitError } from "./loader.js";
import { normalizePath, isOutside, isWithin, folderOf, printable } from "./paths.js";

/** Folder, under the output root, for files the config names outside its own folder. */
export const EXTERNAL_DIR = "external";

/** Longest common folder of normalized paths ("" when none). */
function commonFolder(paths) {
  if (!paths.length) return "";
  let common = folderOf(paths[0]).split("/");
  for (const path of paths.slice(1)) {
    const parts = folderOf(path).split("/");
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

/** An output path that is safe to create under an output root or inside a zip: relative, POSIX,
 * no "..", no empty, "." or drive-like segment, no backslash or control character. */
export function safeOutputPath(output) {
  const path = normalizePath(output);
  const unsafe = !path || path.startsWith("/") || path.split("/").some((part) => part === ".." || part === "." || !part)
    || /[\\\u0000-\u001f\u007f]/.test(path) || /^[a-z]:/i.test(path);
  if (unsafe) throw new CircuitError(`refusing the output path '${printable(output)}': it is not a plain relative path`);
  return path;
}

/**
 * Where each file of `circuit` (from loadCircuit) goes in the output circuit. Returns
 * `{entries: [{input, output, kind: "file"|"dir", role}], config: {input, output, text, rewritten}
 * | null, unset: [keyPath]}`: inputs are the loader's names; outputs are relative to the output root
 * and keep the input's layout relative to the circuit config (or, for plain files, to their
 * common folder). Files the config names outside its folder go to `external/` (keeping their path
 * below the leading "../") and only those config entries change. A folder that is the circuit's
 * own folder (a component "." or "$BASE_DIR") is an entry with output "" (its contents are
 * mirrored around the files placed by name). Empty values ("" is "not set" in SONATA) are listed
 * in `unset`. Two inputs that would land on one output path are an error naming both.
 */
export function outputLayout(circuit) {
  const entries = [];
  const unset = [];
  const byOutput = new Map();
  const byInput = new Map();
  const add = (input, output, kind, role) => {
    const key = `${kind}:${input}`;
    if (byInput.has(key)) return byInput.get(key);
    if (output !== "") safeOutputPath(output);
    if (byOutput.has(output)) {
      throw new CircuitError(`two inputs would both be written as ${printable(output || ".")}: ${printable(byOutput.get(output))} and ${printable(input)}`);
    }
    const entry = { input, output, kind, role };
    byOutput.set(output, input);
    byInput.set(key, entry);
    entries.push(entry);
    return entry;
  };
  if (!circuit.config) {
    const names = circuit.references.map((r) => normalizePath(r.name));
    const root = commonFolder(names);
    circuit.references.forEach((r, i) => add(r.name, root ? names[i].slice(root.length + 1) : names[i].replace(/^\//, ""), r.kind, r.role));
    return { entries, config: null, unset };
  }
  const root = folderOf(normalizePath(circuit.config.name));
  const json = structuredClone(circuit.config.json);
  let rewritten = false;
  const configOutput = circuit.config.name.slice(circuit.config.name.lastIndexOf("/") + 1);
  for (const reference of circuit.references) {
    if (reference.name === null) {
      unset.push(reference.keyPath.join("."));
      continue;
    }
    const name = reference.name;
    const inside = !isOutside(name) && (root === "" || isWithin(name, root));
    const relative = root === "" || !inside ? name : name === root ? "" : name.slice(root.length + 1);
    if (inside) {
      if (relative === "" && reference.kind !== "dir") throw new CircuitError(`${reference.keyPath.join(".")}: names the circuit's folder, not a file`);
      if (relative === configOutput && reference.role !== "other") throw new CircuitError(`${reference.keyPath.join(".")}: names the circuit config itself`);
      add(name, relative, reference.kind, reference.role);
      continue;
    }
    // Outside the config's folder: under external/, keeping the path below its leading "../"s
    // (or "/"), numbered only if two such paths meet.
    let entry = byInput.get(`${reference.kind}:${name}`);
    if (!entry) {
      const kept = normalizePath(name.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*\//i, "").replace(/^(\.\.\/)+|^\/+/, "")) || "root";
      let output = `${EXTERNAL_DIR}/${kept}`;
      for (let n = 2; byOutput.has(output); n++) output = `${EXTERNAL_DIR}/${n}/${kept}`;
      entry = add(name, output, reference.kind, reference.role);
    }
    setAt(json, reference.keyPath, `./${entry.output}`);
    rewritten = true;
  }
  if (byOutput.has(configOutput)) throw new CircuitError(`the circuit config and ${printable(byOutput.get(configOutput))} would both be written as ${printable(configOutput)}`);
  return {
    entries,
    unset,
    config: { input: circuit.config.name, output: configOutput, rewritten, text: rewritten ? `${JSON.stringify(json, null, 2)}\n` : circuit.config.text },
  };
}

/**
 * Every file of the output circuit and where it comes from, each output path once, in a fixed
 * order: the config (`from: "config"`), the files the circuit names (`"written"` for the edge
 * files the run wrote, else `"input"`), then the files of the folders it names (`"input"`),
 * skipping any path already taken — a file placed by name always wins over a folder's file at the
 * same place, so mirroring a folder can never replace a parameterized file. `reserved` paths
 * (the sidecar) are never given to an input. `folderFiles(entry)` lists a present folder entry's
 * files (`{relative, ...}`, relative to the folder). Returns `[{output, from, entry, file?}]`.
 */
export function outputFiles(layout, { written = new Set(), folderFiles, reserved = [] }) {
  const files = [];
  const taken = new Set(reserved);
  const take = (output, item) => {
    if (taken.has(output)) return false;
    taken.add(output);
    files.push({ output: safeOutputPath(output), ...item });
    return true;
  };
  if (layout.config) take(layout.config.output, { from: "config" });
  for (const entry of layout.entries) {
    if (entry.present === false || entry.kind !== "file") continue;
    if (!take(entry.output, { from: written.has(entry.input) ? "written" : "input", entry })) {
      throw new CircuitError(`${printable(entry.input)} would be written as ${printable(entry.output)}, a path synparam reserves`);
    }
  }
  for (const entry of layout.entries) {
    if (entry.present === false || entry.kind !== "dir") continue;
    for (const file of folderFiles(entry)) {
      take(entry.output ? `${entry.output}/${file.relative}` : file.relative, { from: "input", entry, file });
    }
  }
  return files;
}
