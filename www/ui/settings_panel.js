// The run settings beside the model (seed, pathway property, fallback, overwrite, strict rules) and
// the model's validation: the core resolves the settings against the config (settings.js says where
// each value comes from) and checks the model, against the loaded circuit when there is one.
import { PAGE_SETTINGS, pageOverrides, settingNotes } from "./settings.js";
import { errorData } from "../run/protocol.js";
import { readFallback, writeFallback } from "./fallback_field.js";

/** The seed field's value as the core takes it: null when empty, a number when exact, else text. */
export const seedOf = (text) => {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  return /^\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed)) ? Number(trimmed) : trimmed;
};

/** The settings that do not apply to rules (kept for when the model is a matrix again). */
const RULES_IGNORE = ["pathwayProperty", "fallback"];

const CONTROL_IDS = { seed: "seed", pathwayProperty: "pathway-property", fallback: "fallback", overwrite: "overwrite" };

/**
 * Mount the settings and the validation. `call`: the worker; `circuit`: the circuit panel (its
 * message, whether one is shown, the pathway property's selection); `onValidation({plan} |
 * {error})`: the core's answer for the current model and settings; `onSetHere()`: after the
 * settings set in the page changed (they are kept with the model); `restriction()`: the edge
 * populations runs are restricted to (chosen in the run plan or by a sidecar), null for all.
 * Returns the panel's controller (see the object at the end).
 */
export function mountSettings({ $, container, call, circuit, onValidation, onSetHere = () => {}, restriction = () => null }) {
  const changed = {}; // setting → {value, by}: overrides of the config's task form
  const controls = {
    // Read as text: a seed above 2^53 − 1 stays exact (a decimal string for the core), text that
    // is no integer goes to the core as it is (its message names it), an empty field is no seed.
    seed: { read: () => seedOf($("seed").value), write: (v) => { if (v !== null) $("seed").value = String(v); } },
    pathwayProperty: { read: () => $("pathway-property").value, write: (v) => circuit.selectPathwayProperty(v) },
    // What nodes without the pathway property take is shown by the circuit panel: told of a change.
    fallback: {
      read: () => readFallback($),
      write: (v) => {
        const before = JSON.stringify(readFallback($));
        writeFallback($, v);
        if (JSON.stringify(readFallback($)) !== before) circuit.pathwayChoiceChanged();
      },
    },
    overwrite: { read: () => $("overwrite").checked, write: (v) => { $("overwrite").checked = v; } },
  };

  /** Set settings as overrides (`by`: "here", "the sidecar", "the host") and show them. */
  function override(values, by) {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue;
      changed[name] = { value, by };
      controls[name].write(value);
    }
    if (by === "here") onSetHere();
    validateSoon();
  }

  for (const name of PAGE_SETTINGS) {
    $(CONTROL_IDS[name]).addEventListener("change", () => {
      const value = controls[name].read();
      // An emptied field drops the override: the control then shows the config's value again.
      if (value === null || value === "") delete changed[name];
      else changed[name] = { value, by: "here" };
      if (name === "pathwayProperty" || name === "fallback") circuit.pathwayChoiceChanged();
      onSetHere();
      validateSoon();
    });
  }
  for (const button of container.querySelectorAll(".setting-reset")) {
    button.addEventListener("click", () => {
      delete changed[button.dataset.setting];
      onSetHere();
      validateSoon();
    });
  }
  $("strict-rules").addEventListener("change", () => validateSoon());

  /** Show the core's resolution: controls not set here follow the config; notes say where each
   * value comes from; Use config drops an override. */
  function show(plan) {
    if (choosePathwayProperty(plan)) return; // validated again with the choice
    const notes = settingNotes(plan.settings, plan.base, changed);
    for (const name of PAGE_SETTINGS) {
      const { value } = plan.settings[name];
      if (!(name in changed)) controls[name].write(value);
      const note = container.querySelector(`.setting-source[data-setting="${name}"]`);
      note.textContent = notes[name].text;
      note.dataset.source = notes[name].source;
      container.querySelector(`.setting-reset[data-setting="${name}"]`).hidden = !(name in changed);
    }
  }

  /** A circuit lacking the default pathway property gets the first of mtype, synapse_class, ei
   * it has (set "by the circuit", said so in the note; the config's or the user's choice stays). */
  function choosePathwayProperty(plan) {
    const { source, value } = plan.settings.pathwayProperty;
    if (plan.rules || source !== "default" || "pathwayProperty" in changed || !circuit.shown() || circuit.hasProperty(value)) return false;
    const chosen = ["mtype", "synapse_class", "ei"].find((name) => circuit.hasProperty(name));
    if (!chosen) return false;
    override({ pathwayProperty: chosen }, "the circuit");
    return true;
  }

  /** What a run asked now uses: the config text, the settings set here, the seed field. */
  const snapshot = () => ({ config: $("config").value, changed: structuredClone(changed), seedField: controls.seed.read(), strict: $("strict-rules").checked, populations: restriction() });

  /** The core's plan of a run of `asked` (`{config, overrides, plan}`): its settings with the
   * page's overrides, and the seed field when the config has no random_seed. */
  async function planOf({ config, changed: set, seedField, strict, populations = null }, { againstCircuit = false } = {}) {
    const restricted = populations ? { populations } : {};
    const given = { ...pageOverrides(set), ...restricted };
    const circuitMessage = againstCircuit && circuit.shown() ? circuit.message() : null;
    let plan = await call("validate", { config, overrides: { ...given, strict, matrixOnly: RULES_IGNORE }, circuit: circuitMessage });
    const overrides = { ...pageOverrides(set, { configSeed: plan.base.seed.value, seedField }), ...restricted };
    // Rules class the nodes themselves: the pathway property and fallback chosen here for a matrix
    // model (their controls hidden now) do not go to a run of rules, which refuses them.
    if (plan.rules) for (const name of RULES_IGNORE) { delete overrides[name]; delete given[name]; }
    if (overrides.seed !== given.seed) plan = await call("validate", { config, overrides: { ...overrides, strict }, circuit: circuitMessage });
    return { config, overrides, plan };
  }

  let validationTimer = null;
  let validationTicket = 0;
  let pending = null; // {promise, resolve} while a validation is scheduled or on its way
  /** Validate the current model and settings shortly (edits in a row validate once). */
  function validateSoon() {
    clearTimeout(validationTimer);
    if (!pending) {
      let resolve;
      pending = { promise: new Promise((r) => { resolve = r; }), resolve: () => resolve() };
    }
    validationTimer = setTimeout(async () => {
      const ticket = ++validationTicket;
      try {
        const { plan } = await planOf(snapshot(), { againstCircuit: true });
        if (ticket === validationTicket) onValidation({ plan });
      } catch (error) {
        if (ticket === validationTicket && error.name !== "AbortError") onValidation({ error: errorData(error) });
      }
      if (ticket === validationTicket && pending) {
        pending.resolve();
        pending = null;
      }
    }, 250);
  }

  return {
    override,
    show,
    snapshot,
    planOf,
    validateSoon,
    /** Settles when the shown validation is the current model's (none scheduled or on its way). */
    settled: () => pending?.promise ?? Promise.resolve(),
    /** The settings the user set in the page (kept with the model across reloads). */
    setHere: () => Object.fromEntries(Object.entries(changed).filter(([, { by }]) => by === "here").map(([name, { value }]) => [name, value])),
    /** Every override with who set it, to restore after the UI is rebuilt. */
    overrides: () => structuredClone(changed),
    stop: () => clearTimeout(validationTimer),
    /** A new circuit: the choices the previous one made go. */
    forgetCircuitChoices() {
      for (const [name, { by }] of Object.entries(changed)) if (by === "the circuit") delete changed[name];
    },
  };
}
