// Matrix editor of a model: property × source value × target value, one cell per pathway. The
// config JSON (the textarea) stays the single source of truth: the editor reads it, edits a cell,
// and writes it back, so validation, presets and downloads see one model.

/** Parameters of each distribution type (`{type: [parameter]}`) from the core's spec schema
 * (planRun's `schema`, the worker's `schema` request): the parser's own table, never a copy. */
export function distributionFields(schema) {
  return Object.fromEntries(schema.distributions);
}

/** Whether a spec is drawn per synapse by default: a type the core's schema lists as
 * `per_synapse` (a delay law of distance), or any spec with `scale_by`. */
export function perSynapseByDefault(spec, schema) {
  return Boolean(spec?.scale_by) || (schema?.per_synapse ?? []).includes(spec?.type);
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
  const scaled = spec.scale_by?.attribute ? ` × f(${spec.scale_by.attribute})` : "";
  return `${spec.type}(${named.join(", ")})${scaled}${spec.shared_within === false ? " per synapse" : ""}`;
}

/** Short names of the laws' parameters in cell labels. */
const PARAMETER_NAMES = {
  std: "sd", norm_loc: "loc", norm_scale: "scale", delay_mean_coeff_a: "a", delay_mean_coeff_b: "b", delay_std: "sd", delay_min: "min",
  neural_transmitter_release_delay: "release", axonal_conduction_velocity: "velocity",
};

/** `scale_by` as the form's three fields show it: `{attribute, kind, values}` ("" when none). */
export function scaleFields(scaleBy) {
  if (!scaleBy || typeof scaleBy !== "object") return { attribute: "", kind: "linear", values: "" };
  if (Array.isArray(scaleBy.table)) return { attribute: scaleBy.attribute ?? "", kind: "table", values: scaleBy.table.map((p) => (Array.isArray(p) ? p.join(" ") : String(p))).join(", ") };
  return { attribute: scaleBy.attribute ?? "", kind: "linear", values: Array.isArray(scaleBy.linear) ? scaleBy.linear.join(" ") : "" };
}

/** The form's scale fields as a spec's `scale_by` (null without an attribute): `linear` "a b",
 * `table` "x y, x y, …"; numbers as typed, the core names anything wrong. */
export function scaleByOf({ attribute, kind, values }) {
  attribute = attribute.trim();
  if (!attribute) return null;
  const numbers = (text) => text.trim().split(/\s+/).filter(Boolean).map(numberOrText);
  if (kind === "table") return { attribute, table: values.split(",").filter((p) => p.trim()).map(numbers) };
  return { attribute, linear: numbers(values) };
}

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
    spec[field] = field === "val" || field === "p" || field === "values" ? text.split(/[\s,]+/).filter(Boolean).map(numberOrText) : numberOrText(text);
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
  // A form without the scale row (an embedding's own) has no scale_by.
  const scaleBy = form.scale_attribute && scaleByOf({ attribute: form.scale_attribute.value, kind: form.scale_kind.value, values: form.scale_values.value });
  if (scaleBy) spec.scale_by = scaleBy;
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
