// A page run as the command and as Python: the exact lines that redo it bit for bit elsewhere
// (the settings the core resolved for that run, the model saved beside them as a file). No DOM
// here: tested in Node, and by running the lines it gives.

/** `text` as one POSIX shell word (single-quoted when it needs to be). */
export function shellWord(text) {
  const value = String(text);
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** `text` as a Python string literal (JSON's escapes are Python's). */
const pythonString = (text) => JSON.stringify(String(text));

/** A fallback (the core's JSON form) as `--fallback-value` reads it back: a plain value, else the
 * JSON object (a value with "=" would read as POPULATION=VALUE). A dict is a Python literal too. */
function fallbackWord(fallback) {
  if (typeof fallback === "string" && !/=|^\s*\{/.test(fallback)) return fallback;
  return JSON.stringify(typeof fallback === "string" ? { "*": fallback } : fallback);
}

/**
 * The command and the Python call that redo a run: `settings` as the run resolved them (`{seed,
 * pathwayProperty, fallback, overwrite, populations}`, the core's values), `strict` (rules),
 * `model` (the file the model is saved as), `circuit` (its circuit_config.json) and `out` (a new
 * folder). Every setting is given explicitly, so the lines do not depend on the model's task form.
 * Returns `{command, python}`.
 */
export function reproduction({ settings, strict = false, model = "model.json", circuit = "circuit/circuit_config.json", out = "parameterized" }) {
  const { seed, pathwayProperty, fallback, overwrite, populations } = settings;
  const words = ["npx", "synparam", "--circuit", circuit, "--config", model, "--out", out, "--seed", String(seed)];
  if (pathwayProperty !== null && pathwayProperty !== undefined) words.push("--pathway-property", pathwayProperty);
  if (fallback !== null && fallback !== undefined) words.push("--fallback-value", fallbackWord(fallback));
  if (overwrite) words.push("--overwrite");
  if (populations?.length) words.push("--populations", populations.join(","));
  if (strict) words.push("--strict");
  const args = [
    pythonString(circuit), pythonString(model), pythonString(out), `seed=${seed}`,
    ...(pathwayProperty !== null && pathwayProperty !== undefined ? [`pathway_property=${pythonString(pathwayProperty)}`] : []),
    ...(fallback !== null && fallback !== undefined ? [`fallback=${typeof fallback === "string" ? pythonString(fallback) : JSON.stringify(fallback)}`] : []),
    `overwrite=${overwrite ? "True" : "False"}`,
    ...(populations?.length ? [`populations=[${populations.map(pythonString).join(", ")}]`] : []),
    ...(strict ? ["strict=True"] : []),
  ];
  return {
    command: words.map(shellWord).join(" "),
    python: `from synparam.dask import parameterize_circuit\n\nparameterize_circuit(${args.join(", ")})\n`,
  };
}
