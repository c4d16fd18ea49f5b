// The preset dialog: a preset is mapped onto the circuit only after the user has seen (and may
// correct) the class of each pathway value — read from the circuit where it says, marked as a
// guess where it does not — and of each node population whose nodes lack the pathway property
// (virtual VPM, POm: extrinsic by default), so that no population is left out in silence. Apply
// writes the preset as rules (the core's presetRules, in the worker: one class per pair of the
// preset's types, a handful of rules), or, for a preset with prop_cov, as the matrix over the
// values. DOM built from text only.
import { PRESETS, mapPreset, classifyValues, hasRulesForm, presetMapping } from "./presets.js";
import { readFallback } from "./fallback_field.js";

const CLASS_NAMES = { E: "excitatory (E)", I: "inhibitory (I)", X: "extrinsic (X: takes E's values)" };

/** The classes chosen in a table's rows: `{name: class}`. */
const chosenClasses = (table) => Object.fromEntries([...table.tBodies[0].rows].map((tr) => [tr.dataset.value, tr.querySelector("select").value]));

/**
 * Mount the dialog on `$` (the UI's element lookup). `presets`: the preset models by key;
 * `circuit()`: `{shown, message, values}` — whether a circuit is loaded, the worker's message for
 * it, and the pathway values shown; `call` asks the worker; `onApplied(text)` receives the mapped
 * model's JSON text; `onError(error)` a failed request. Returns `{applied(text)}`, to say which
 * model counts as the last one applied (an edited model is then named in the confirmation).
 */
export function mountPresetDialog({ $, presets, call, circuit, onApplied, onError }) {
  let lastApplied = $("config").value;
  let opened = null; // {property, sides, asRules}: what the dialog shows
  let lastProperty = null; // the property the last preset was applied by
  /** Open (or re-open) the dialog for the values of `property`. */
  async function open(property) {
    const fallback = readFallback($) ?? undefined;
    const preset = presets[$("preset").value];
    // As rules, nodes without the property are covered by their population's rule (the fallback
    // value does not apply to rules); as a matrix, the fallback value is one of the values.
    const asRules = hasRulesForm(preset);
    const { shown, message, values } = circuit();
    let answer;
    try {
      answer = shown ? await call("classes", { ...message, property, fallback: asRules ? undefined : fallback }) : { values: [], populations: [], sides: null };
    } catch (error) {
      if (error.name !== "AbortError") onError(error);
      return;
    }
    const tallies = answer.values;
    const known = new Set(tallies.map((t) => t.value));
    const rows = classifyValues([...tallies, ...(shown && asRules ? [] : values.filter((v) => !known.has(v)).map((value) => ({ value, counts: { E: 0, I: 0, X: 0, unknown: 0 }, basis: null })))]);
    const populations = asRules ? answer.populations : [];
    opened = { property, sides: answer.sides, asRules };
    // The property is chosen here too: with rules in the model box the page's pathway property is
    // not shown (rules class the nodes themselves), and a preset may be applied by another one.
    const choices = [...$("pathway-property").options].map((o) => new Option(o.textContent, o.value, false, o.value === property));
    if (!choices.some((o) => o.value === property)) choices.unshift(new Option(property, property, false, true));
    $("preset-property").replaceChildren(...choices);
    $("preset-property").value = property;
    const { label, source } = PRESETS[$("preset").value] ?? { label: $("preset").value, source: "the preset" };
    $("preset-mapping-title").textContent = `${label} over the ${rows.length} values of ${property}${populations.length ? ` and ${populations.length} node populations without it` : ""}: check each class, then apply.`;
    $("preset-classes").tBodies[0].replaceChildren(...rows.map(classRow));
    $("preset-populations-block").hidden = !populations.length;
    $("preset-populations-title").textContent = `Nodes without ${property}: their synapses take the class of their node population (selected whole, by @population).`;
    $("preset-populations").tBodies[0].replaceChildren(...populations.map((p) => populationRow(p, property)));
    $("preset-source").textContent = `Values: ${source}.` + (asRules ? " Applied as rules: one class per pair of the preset's types, shown with their coverage."
      : ` This preset correlates properties (prop_cov), which rules cannot hold: it is written as a matrix over the values of ${property}, and nodes without ${property} need a fallback value.`);
    const edited = $("config").value !== lastApplied;
    $("preset-replaces").textContent = edited ? "This replaces the model you edited (Download config keeps a copy)." : "This replaces the current model.";
    $("preset-mapping").hidden = false;
  }
  $("apply-preset").addEventListener("click", async () => {
    // With rules in the box the page's pathway property is hidden: the one the last preset used.
    const property = $("pathway-settings").hidden && lastProperty ? lastProperty : $("pathway-property").value;
    await open(property);
    if (!$("preset-mapping").hidden) $("preset-classes").querySelector("select")?.focus();
  });
  $("preset-property").addEventListener("change", () => open($("preset-property").value));
  $("preset-cancel").addEventListener("click", () => { $("preset-mapping").hidden = true; $("apply-preset").focus(); });
  $("preset-confirm").addEventListener("click", async () => {
    const key = $("preset").value;
    const preset = presets[key];
    const classes = chosenClasses($("preset-classes"));
    const property = opened?.property ?? $("pathway-property").value;
    let text = null;
    const mapping = opened?.asRules ? presetMapping(preset, property, classes, chosenClasses($("preset-populations")), opened.sides) : null;
    if (mapping) {
      $("preset-confirm").disabled = true;
      try {
        // A preset without a seed gets seed 1, as its matrix did: the rules then carry their seed.
        const task = preset.pathway_param_dict ? { random_seed: 1, ...preset } : { random_seed: 1, pathway_param_dict: preset };
        text = await call("presetRules", { preset: JSON.stringify(task), mapping });
      } catch (error) {
        if (error.name === "AbortError") return;
        text = null; // no rules form after all (the core says why): the matrix, as before
      } finally {
        $("preset-confirm").disabled = false;
      }
    }
    if (text !== null) {
      // Rules class the nodes themselves: a pathway property or fallback value set in the page
      // would not apply to them (a run refuses a pathway property with rules), so they go, as
      // their "use config" buttons drop them.
      for (const setting of ["pathwayProperty", "fallback"]) $("pathway-settings").querySelector(`.setting-reset[data-setting="${setting}"]`)?.click();
    }
    text ??= JSON.stringify(mapPreset(preset, Object.keys(classes), property, classes), null, 2);
    lastApplied = text;
    lastProperty = property;
    $("preset-mapping").hidden = true;
    onApplied(text);
  });
  return { applied(text) { lastApplied = text; } };
}

/** A class select for `name`, `chosen` selected. */
function classSelect(name, chosen) {
  const select = document.createElement("select");
  select.setAttribute("aria-label", `class of ${name}`);
  select.replaceChildren(...Object.entries(CLASS_NAMES).map(([cls, text]) => new Option(text, cls, false, cls === chosen)));
  return select;
}

/** A row of cells holding `contents` (text or nodes). */
function row(value, className, contents) {
  const tr = document.createElement("tr");
  tr.dataset.value = value;
  tr.className = className;
  tr.append(...contents.map((content) => {
    const td = document.createElement("td");
    td.append(content);
    return td;
  }));
  return tr;
}

/** One value's row: its name, its class (a select, the circuit's or the guessed one), the basis. */
function classRow(value) {
  const { E, I, X, unknown } = value.counts;
  const basis = value.guessed ? "not said by the circuit — guessed from the name: check it"
    : `${value.basis}: ${[["E", E], ["I", I], ["X", X], ["unknown", unknown]].filter(([, n]) => n).map(([c, n]) => `${n} ${c}`).join(", ")} nodes${value.mixed ? " — mixed: the majority is chosen" : ""}`;
  return row(value.value, value.guessed ? "guessed" : value.mixed ? "mixed" : "", [value.value, classSelect(value.value, value.cls), basis]);
}

/** One node population without the property: its name, its class (extrinsic by default), what lacks it. */
function populationRow({ name, type, size, lacking }, property) {
  const nodes = lacking === size ? `${size} nodes, none with ${property}` : `${lacking} of ${size} nodes without ${property}`;
  return row(name, "", [name, classSelect(name, "X"), `${nodes}${type ? ` (${type})` : ""}`]);
}
