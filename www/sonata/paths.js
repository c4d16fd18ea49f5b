// SONATA path resolution, the one place where a path a circuit config names becomes the name of a
// file: manifest variables expanded (libsonata's rules: they may refer to each other; unknown ones
// are errors), the result normalized lexically ("./", "//", ".." resolved), absolute paths kept as
// given, relative ones taken from the config's own folder. The loader, the output layout and the
// copier all use these names, so what is shown, hashed and copied is the same file.
// Plain ES module (Node, Web Worker, page).

/** Resolve "." and ".." segments and repeated slashes of a POSIX path. Keeps a leading "/" (".."
 * above the root stays at the root) and leading ".."s of a relative path; "" and "." give "". */
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

/** `path` below folder `base` (both normalized; `base` "" is the root of relative names). */
export function joinPath(base, path) {
  if (path.startsWith("/") || !base) return normalizePath(path);
  return normalizePath(`${base}/${path}`);
}

/** Whether a config value is a URL ("https://…") or scheme-relative ("//host/…"). */
export function isUrl(value) {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.startsWith("//");
}

/** Whether a normalized name leaves its root ("..", "../…", absolute, or a URL). */
export function isOutside(name) {
  return name.startsWith("/") || name === ".." || name.startsWith("../") || isUrl(name);
}

/** Whether normalized `inner` is `outer` or lies below it. */
export function isWithin(inner, outer) {
  if (outer === "") return !isOutside(inner);
  return inner === outer || inner.startsWith(outer.endsWith("/") ? outer : `${outer}/`);
}

/** The folder of a normalized name ("" at the top). */
export function folderOf(name) {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? "" : slash === 0 ? "/" : name.slice(0, slash);
}

const VARIABLE = /\$[A-Za-z0-9_]+/g;

/**
 * The manifest's variables with their values expanded (they may refer to each other). `$BASE_DIR`
 * defaults to "." (the config's folder). Throws `Error` naming the variable for an unknown
 * reference or a cycle.
 */
export function expandManifest(manifest = {}) {
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    throw new Error("manifest must be an object of \"$NAME\": path entries");
  }
  const values = { $BASE_DIR: ".", ...manifest };
  for (const [name, value] of Object.entries(values)) {
    if (!/^\$[A-Za-z0-9_]*$/.test(name)) throw new Error(`manifest: '${name}' is not a variable name ($ followed by letters, digits or _)`);
    if (typeof value !== "string") throw new Error(`manifest: ${name} must be a string, got ${JSON.stringify(value)}`);
  }
  const expanded = {};
  const expand = (name, chain) => {
    if (name in expanded) return expanded[name];
    if (chain.includes(name)) throw new Error(`manifest: variables refer to each other in a cycle (${[...chain, name].join(" → ")})`);
    const text = values[name].replace(VARIABLE, (inner) => {
      if (!(inner in values)) throw new Error(`manifest: ${name} refers to the unknown variable ${inner}`);
      return expand(inner, [...chain, name]);
    });
    expanded[name] = text;
    return text;
  };
  for (const name of Object.keys(values)) expand(name, []);
  return expanded;
}

/**
 * The name of the file or folder that a config value names: variables replaced, normalized,
 * relative to the config's folder `base` (a normalized name, "" when the config sits at the
 * root of the names). Returns null for "" (SONATA's "not set", as libsonata reads it).
 */
export function resolveConfigPath(value, variables, base = "") {
  if (value === "") return null;
  // A URL (or a scheme-relative "//host/…") is kept as it is: the browser's loader resolves it
  // against the circuit's URL (and its origin rules apply); on disk it is not a file.
  if (isUrl(value)) return value;
  // SONATA paths are POSIX; a backslash would be a separator to some systems (and to URLs) and a
  // name character to others, so the same text could name two different files.
  if (value.includes("\\")) throw new Error(`'${printable(value)}' contains a backslash; SONATA paths use /`);
  const text = value.replace(VARIABLE, (name) => {
    if (!(name in variables)) throw new Error(`unknown manifest variable ${name} in '${value}'`);
    return variables[name];
  });
  return joinPath(base, text);
}

/** A name made safe to show on a terminal or in a log line: control characters escaped. */
export function printable(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
