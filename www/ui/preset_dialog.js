// The preset dialog: a preset is mapped onto the circuit's pathway values only after the user has
// seen (and may correct) the class of each value — read from the circuit where it says, marked as
// a guess where it does not. DOM built from text only.
import { PRESETS, mapPreset, classifyValues } from "./presets.js";

const CLASS_NAMES = { E: "excitatory (E)", I: "inhibitory (I)", X: "extrinsic (X: takes E's values)" };

/**
 * Mount the dialog on `$` (the UI's element lookup). `presets`: the preset models by key;
 * `circuit()`: `{shown, message, values}` — whether a circuit is loaded, the worker's message for
 * it, and the pathway values shown; `call` asks the worker; `onApplied(text)` receives the mapped
 * model's JSON text; `onError(error)` a failed request. Returns `{applied(text)}`, to say which
 * model counts as the last one applied (an edited model is then named in the confirmation).
 */
export function mountPresetDialog({ $, presets, call, circuit, onApplied, onError }) {
  let lastApplied = $("config").value;
  $("apply-preset").addEventListener("click", async () => {
    const property = $("pathway-property").value;
    const fallback = $("fallback").value || undefined;
    const { shown, message, values } = circuit();
    let tallies;
    try {
      tallies = shown ? await call("classes", { ...message, property, fallback }) : [];
    } catch (error) {
      if (error.name !== "AbortError") onError(error);
      return;
    }
    const known = new Set(tallies.map((t) => t.value));
    const rows = classifyValues([...tallies, ...values.filter((v) => !known.has(v)).map((value) => ({ value, counts: { E: 0, I: 0, X: 0, unknown: 0 }, basis: null }))]);
    const { label, source } = PRESETS[$("preset").value];
    $("preset-mapping-title").textContent = `${label} over the ${rows.length} values of ${property}: check each value's class, then apply.`;
    $("preset-classes").tBodies[0].replaceChildren(...rows.map(classRow));
    $("preset-source").textContent = `Values: ${source}.`;
    const edited = $("config").value !== lastApplied;
    $("preset-replaces").textContent = edited ? "This replaces the model you edited (Download config keeps a copy)." : "This replaces the current model.";
    $("preset-mapping").hidden = false;
    $("preset-classes").querySelector("select")?.focus();
  });
  $("preset-cancel").addEventListener("click", () => { $("preset-mapping").hidden = true; $("apply-preset").focus(); });
  $("preset-confirm").addEventListener("click", () => {
    const classes = Object.fromEntries([...$("preset-classes").tBodies[0].rows].map((tr) => [tr.dataset.value, tr.querySelector("select").value]));
    const text = JSON.stringify(mapPreset(presets[$("preset").value], Object.keys(classes), $("pathway-property").value, classes), null, 2);
    lastApplied = text;
    $("preset-mapping").hidden = true;
    onApplied(text);
  });
  return { applied(text) { lastApplied = text; } };
}

/** One value's row: its name, its class (a select, the circuit's or the guessed one), the basis. */
function classRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.value = row.value;
  tr.className = row.guessed ? "guessed" : row.mixed ? "mixed" : "";
  const select = document.createElement("select");
  select.setAttribute("aria-label", `class of ${row.value}`);
  select.replaceChildren(...Object.entries(CLASS_NAMES).map(([cls, text]) => new Option(text, cls, false, cls === row.cls)));
  const { E, I, X, unknown } = row.counts;
  const basis = row.guessed ? "not said by the circuit — guessed from the name: check it"
    : `${row.basis}: ${[["E", E], ["I", I], ["X", X], ["unknown", unknown]].filter(([, n]) => n).map(([c, n]) => `${n} ${c}`).join(", ")} nodes${row.mixed ? " — mixed: the majority is chosen" : ""}`;
  const cells = [document.createElement("td"), document.createElement("td"), document.createElement("td")];
  cells[0].textContent = row.value;
  cells[1].append(select);
  cells[2].textContent = basis;
  tr.append(...cells);
  return tr;
}
