// Matrix editor of a model: property × source value × target value, one cell per pathway. The
// config JSON (the textarea) stays the single source of truth: the editor reads it, edits a cell,
// and writes it back, so validation, presets and downloads see one model.

/** Parameters of each distribution type (`{type: [parameter]}`) from the core's spec schema
 * (planRun's `schema`, the worker's `schema` request): the parser's own table, never a copy. */
export function distributionFields(schema) {
  return Object.fromEntries(schema.distributions);
}

/** The model dict inside either config form. */
export function modelOf(config) {
  return config.pathway_param_dict ?? config;
}

/** A short label of a spec, e.g. "gamma(1, 0.5)"; `fields` from distributionFields. */
export function specLabel(spec, fields = {}) {
  if (!spec || typeof spec !== "object") return "—";
  if (spec.type === "by_synapse") {
    const cases = spec.cases?.length ?? 0;
    return `by synapse: ${cases} case${cases === 1 ? "" : "s"}${spec.otherwise ? `, else ${specLabel(spec.otherwise, fields)}` : ""}`;
  }
  fields = fields[spec.type] ?? [];
  const shown = (f) => (Array.isArray(spec[f]) ? `[${spec[f].join(" ")}]` : spec[f]);
  // Named, so that gamma(2, 0.5) is not read as shape and scale; a window as [min, max]; a law of
  // one parameter (constant, poisson, …) by its value alone.
  const windowed = ["min", "max"].every((f) => fields.includes(f)) ? ["min", "max"] : ["low", "high"].every((f) => fields.includes(f)) ? ["low", "high"] : null;
  const named = fields.filter((f) => !windowed?.includes(f)).map((f) => (fields.length === 1 ? `${shown(f)}` : `${PARAMETER_NAMES[f] ?? f} ${shown(f)}`));
  if (windowed) named.push(`[${shown(windowed[0])}, ${shown(windowed[1])}]`);
  return `${spec.type}(${named.join(", ")})${spec.shared_within === false ? " per synapse" : ""}`;
}

/** Short names of the laws' parameters in cell labels. */
const PARAMETER_NAMES = { std: "sd", norm_loc: "loc", norm_scale: "scale" };

/** A field's text as a number when it is one (JSON's numbers, and ±Infinity), else the text. */
export function numberOrText(text) {
  if (/^[+-]?Infinity$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : text;
}

/** Read the editor's form into a spec; `fields` from distributionFields. */
export function specFromForm(form, fields) {
  const type = form.type.value;
  const spec = { type };
  for (const field of fields[type] ?? []) {
    const text = (form.elements[`field-${field}`]?.value ?? "").trim();
    // An empty field is a missing parameter and text that is not a number stays text: the core
    // then names the problem, instead of a silent 0 or null.
    if (text === "") continue;
    spec[field] = field === "val" || field === "p" ? text.split(/[\s,]+/).filter(Boolean).map(numberOrText) : numberOrText(text);
  }
  spec.shared_within = form.shared_within.checked;
  for (const bound of ["lower_bound", "upper_bound"]) {
    const text = form[bound].value.trim();
    if (text !== "") spec[bound] = numberOrText(text);
  }
  const shift = form.shift.value.trim();
  if (shift !== "") spec.shift = numberOrText(shift);
  const window = {};
  for (const end of ["min", "max"]) {
    const text = form[`truncate_${end}`].value.trim();
    if (text !== "") window[end] = numberOrText(text);
  }
  if (Object.keys(window).length) spec.truncate = window;
  if (form.dtype.value) spec.dtype = form.dtype.value;
  return spec;
}

/** Write `spec` into the cells `scope` selects ("cell", "row", "column", "all") around (source, target). */
export function applySpec(config, property, source, target, spec, scope) {
  const model = modelOf(config);
  const sources = scope === "cell" || scope === "row" ? [source] : model.src_types;
  const targets = scope === "cell" || scope === "column" ? [target] : model.tgt_types;
  model.prop_stats[property] ??= {};
  for (const s of sources) {
    model.prop_stats[property][s] ??= {};
    for (const t of targets) model.prop_stats[property][s][t] = structuredClone(spec);
  }
  return config;
}

/** Add a property (a copy of `template` in every pathway) or remove one. */
export function addProperty(config, name, template) {
  const model = modelOf(config);
  model.prop_stats[name] = Object.fromEntries(model.src_types.map((s) => [s, Object.fromEntries(model.tgt_types.map((t) => [t, structuredClone(template)]))]));
  return config;
}

export function removeProperty(config, name) {
  delete modelOf(config).prop_stats[name];
  return config;
}
