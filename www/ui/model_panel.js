// The model panel: the config text and the editor over it (the matrix editor, or the coverage view
// for rules and recipes), its validity as the core says, presets, models from files, and the
// model's history (undo, redo, kept across reloads, links).
import { PRESETS } from "./presets.js";
import { mountPresetDialog } from "./preset_dialog.js";
import { mountConfigFiles } from "./config_files.js";
import { mountFit } from "./fit_panel.js";
import { mountEditor } from "./editor_view.js";
import { scanLine } from "./scan_view.js";
import { mountRulesView } from "./rules_view.js";
import { PAGE_SETTINGS } from "./settings.js";
import { mountModelState } from "./model_state.js";
import { errorData } from "../run/protocol.js";
import seedExample from "../presets/seed_example.json";
import tsodyksMarkram from "../presets/tsodyks_markram.json";
import tsodyksMarkramByClass from "../presets/tsodyks_markram_by_class.json";

const presets = { seed_example: seedExample, tsodyks_markram_by_class: tsodyksMarkramByClass, tsodyks_markram: tsodyksMarkram };

/**
 * Mount the model panel. `call`: the worker; `settings`: the settings panel; `circuit`: the circuit
 * panel; `run`: the run panel (its status line, the populations a sidecar restricts runs to);
 * `download(name, blob)`: a download link; `persist`: the localStorage key of the model (see
 * model_state.js). Returns the panel's controller (see the object at the end).
 */
export function mountModel({ $, container, call, settings, circuit, run, download, persist }) {
  $("config").value = JSON.stringify(presets.seed_example, null, 2);
  $("preset").replaceChildren(...Object.entries(PRESETS).map(([key, { label }]) => new Option(label, key)));

  const configText = {
    get: () => $("config").value,
    set: (text) => { $("config").value = text; },
  };
  const editor = mountEditor({ $, call, config: configText, onEdited: () => { modelState.changed(); settings.validateSoon(); }, download });
  const rulesView = mountRulesView({
    $, download,
    // The rules' names mapped to the circuit's: the model becomes synparam rules with that alias
    // table (a step to undo), validated again.
    async onAliases(table) {
      setText(await call("withAliases", { config: $("config").value, aliases: table }));
      const count = Object.values(table).reduce((n, names) => n + Object.keys(names).length, 0);
      return count ? `${count} name${count === 1 ? "" : "s"} mapped: the model is now synparam rules with that alias table` : "no name mapped: the alias table is empty";
    },
    // One pathway changed over rules: a later rule (a step to undo), validated again.
    async onRule(rule) {
      setText(await call("withRule", { config: $("config").value, rule }));
      return `added as the last rule: ${rule.name}`;
    },
  });
  $("config").addEventListener("input", () => { modelState.changed({ coalesce: true }); settings.validateSoon(); editor.render(); });

  const modelState = mountModelState({
    $, container, persist,
    settingsSetHere: () => settings.setHere(),
    onTravel: () => { settings.validateSoon(); editor.render(); },
  });

  /** Put `text` in as the model (a step to undo); `populations`: the edge populations runs are
   * restricted to from now on (a sidecar's), null for all. */
  function setText(text, { populations = null } = {}) {
    $("config").value = text;
    modelState.changed();
    run.restrictTo(populations);
    settings.validateSoon();
    editor.render();
  }

  /** A provenance sidecar: its model, its settings as overrides, its populations. */
  function showProvenance(data) {
    let shown = data.configText; // a recipe in XML stays text
    try {
      shown = JSON.stringify(JSON.parse(data.configText), null, 2);
    } catch { /* not JSON */ }
    setText(shown, { populations: data.populations });
    settings.override({ seed: data.seed, pathwayProperty: data.pathwayProperty, fallback: data.fallback ?? null, overwrite: data.overwrite }, "the sidecar");
    run.status(`settings loaded from the sidecar (synparam ${data.version}, seed ${data.seed}${data.populations ? `, populations ${data.populations.join(", ")}` : ""}): Parameterize reproduces that run`);
  }

  mountConfigFiles({
    $, call,
    onConfig: (text) => setText(text),
    onProvenance: showProvenance,
    onError: (error) => run.showError(errorData(error)),
  });
  mountPresetDialog({
    $, presets, call,
    circuit: () => ({ shown: circuit.shown(), message: circuit.message(), values: circuit.pathwayValues() }),
    onApplied(text) {
      $("config").value = text;
      modelState.changed();
      settings.validateSoon();
      editor.render();
    },
    onError: (error) => run.showError(errorData(error)),
  });

  mountFit({ $, call, circuit, download, onFitted: (text) => setText(text) });

  function showInvalid(error) {
    // Rules that do not cover this circuit: their names against the circuit's, to map.
    if (error.rulesNames) {
      $("editor").hidden = true;
      $("pathway-settings").hidden = true;
      $("rules-classing").hidden = false;
      rulesView.showRefused(error.rulesNames);
    }
    $("config-status").textContent = `${error.name}: ${error.message}`;
    $("config-status").className = "error";
    $("config-status").dataset.path = error.path ?? "";
    editor.markInvalid(error.path ?? null);
  }

  /** The core's validation of the model and settings (`{plan}` or `{error}`). */
  function showValidation({ plan, error }) {
    if (error) return showInvalid(error);
    // Rules (a BBP recipe, synparam rules): the coverage view instead of the matrix editor.
    // A scan: its points are plain models, the text holds their lists (no grid edits them).
    $("editor").hidden = Boolean(plan.rules || plan.scan);
    $("pathway-settings").hidden = Boolean(plan.rules);
    $("rules-classing").hidden = !plan.rules;
    if (plan.rules) rulesView.show(plan.rules);
    else rulesView.hide();
    if (plan.rules && !plan.rules.compiled) {
      $("config-status").textContent = `valid ${plan.rules.summary.format}: ${plan.rules.summary.rules} rules — load a circuit to compile them`;
      $("config-status").className = "";
      delete $("config-status").dataset.path;
      editor.markInvalid(null);
      settings.show(plan); // where each setting comes from, as after compiling
      return;
    }
    const { properties, src_types: sources, notices } = plan.summary;
    // Checked against the loaded circuit as well: what a run would refuse is said now.
    const problems = plan.circuit?.problems ?? [];
    $("config-status").textContent = `valid${plan.scan ? ` ${scanLine(plan.scan)}; each point` : ""}: ${properties.map((p) => p.name).join(", ")} over ${sources.length} source values` +
      (notices.length ? ` (${notices.length} ignored keys: ${notices.join("; ")})` : "") +
      (problems.length ? ` — but not for this circuit: ${problems.join("; ")}` : "");
    $("config-status").className = problems.length ? "error" : "";
    delete $("config-status").dataset.path;
    editor.markInvalid(null);
    settings.show(plan);
  }

  return {
    setText,
    showValidation,
    /** The editor gets the core's spec schema (its forms are then complete). */
    setSchema: (schema) => editor.setSchema(schema),
    /** Synapses per pathway of the loaded circuit (null: none loaded). */
    setCounts: (counts) => editor.setCounts(counts),
    render: () => editor.render(),
    /** Keep the model and the settings set here (the settings changed; the model did not). */
    keep: () => modelState.keep(),
    /** The state a link or the last visit left, with its settings as overrides. */
    async restore() {
      const restored = await modelState.restore();
      if (!restored) return;
      const kept = Object.fromEntries(Object.entries(restored.settings).filter(([name]) => PAGE_SETTINGS.includes(name)));
      settings.override(kept, restored.by);
    },
  };
}
