// The synparam UI on the main thread, mounted into a container (the page's body, or the shadow
// root of <synparam-panel>): it starts its own worker (which owns the circuit, the core and the
// files) and wires the panels — circuit, settings, model, run — to it and to each other. Everything
// it touches lives in the container or in these closures, so several instances on one page do not
// interfere.
import { MARKUP } from "./template.js";
import { mountCircuit } from "./circuit_panel.js";
import { mountSettings } from "./settings_panel.js";
import { mountModel } from "./model_panel.js";
import { mountRun } from "./run_panel.js";
import { mountWorkspace } from "./workspace.js";
import { connectWorker } from "../run/protocol.js";

/**
 * Mount the UI into `container` and return its controller. `workerUrl`: the worker module's URL;
 * `circuit`: the initial circuit (`{circuitUrl, fetchInit}` or `{files}`), or none;
 * `emit(type, detail)`: called on "ready" (circuit loaded), "progress", "result" and "error";
 * `persist`: a localStorage key under which the model and the settings set in the UI are kept
 * across reloads, and links to the model are offered (the page; a panel's host decides itself).
 */
export function createApp(container, { workerUrl, circuit = null, emit = () => {}, persist = null }) {
  container.innerHTML = MARKUP;
  const $ = (id) => container.querySelector(`#${id}`);
  let client = null; // the worker, through the request/reply protocol
  const call = (method, args, options) => client.call(method, args, options);

  const objectUrls = new Set();
  function download(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    objectUrls.add(link.href);
    link.download = name;
    link.textContent = name;
    return link;
  }

  const workspace = mountWorkspace({ $, container });

  // The panels call each other only through these controllers, created in this order; the later
  // ones are reached through `panels` once they exist.
  const panels = {};
  const circuitPanel = mountCircuit({
    $, call, circuit,
    onUnloaded() {
      panels.settings.forgetCircuitChoices();
      panels.run.forgetChosenPopulations();
      panels.model.setCounts([]);
      panels.run.clear();
    },
    onLoaded(data) {
      panels.settings.validateSoon(); // the model against this circuit
      emit("ready", { edgePopulations: data.edgePopulations, nodePopulations: data.nodePopulations, candidates: data.candidates, pathwayProperties: data.pathwayProperties, unavailable: data.unavailable ?? [] });
    },
    onCounts: (data) => panels.model.setCounts(data.counts),
    onError: (error) => panels.run.showError(error),
  });
  const settings = panels.settings = mountSettings({
    $, container, call, circuit: circuitPanel,
    onValidation(answer) {
      panels.model.showValidation(answer);
      panels.run.showPlan(answer);
    },
    onSetHere: () => panels.model?.keep(),
    restriction: () => panels.run?.restriction() ?? null,
  });
  const run = panels.run = mountRun({
    $, container, call, settings, circuit: circuitPanel, download, emit, onResult: workspace.showResults,
    onCancel() {
      client.terminate(Object.assign(new Error("cancelled"), { name: "AbortError" }));
      startWorker();
      circuitPanel.load();
      settings.validateSoon();
    },
  });
  const model = panels.model = mountModel({ $, container, call, settings, circuit: circuitPanel, run, download, persist });

  function startWorker() {
    client = connectWorker(new Worker(workerUrl, { type: "module" }), {
      onEvent: (event, data) => { if (event === "failure") run.showError(data); },
    });
    return client.call("schema", {}).then((schema) => model.setSchema(schema), () => { /* the next validation shows why */ });
  }

  const schemaShown = startWorker();
  if (circuitPanel.given()) circuitPanel.load();
  const restored = persist ? model.restore().catch(() => {}) : Promise.resolve();
  restored.then(() => {
    settings.validateSoon();
    model.render();
  });
  // Ready: config filled, worker started. Run is enabled only now.
  run.enable();

  return {
    run: run.run,
    /** Settles once the editor has the core's spec schema (the UI is then complete). */
    ready: Promise.all([schemaShown, restored]),
    /** Load a circuit: `{circuitUrl, fetchInit}` or `{files: {relativePath: File|Blob|ArrayBuffer}}`. */
    load: (source) => circuitPanel.loadHostCircuit(source),
    setConfig: (text) => model.setText(text),
    /** Set run settings over the config: `{name: {value, by}}` (`by`: who, e.g. "the host"). */
    restoreOverrides(overrides) {
      for (const [name, { value, by }] of Object.entries(overrides)) settings.override({ [name]: value }, by);
    },
    /** The editable state (shown seed and pathway property; the overrides), to restore after the
     * UI is rebuilt. */
    state: () => ({ config: $("config").value, seed: $("seed").value, pathwayProperty: $("pathway-property").value, overrides: settings.overrides() }),
    results: run.results,
    /** Each parameterized edges file of the last run, by its path in the circuit. */
    edges: () => run.results()?.edges ?? {},
    /** The last run's whole parameterized circuit as a zip Blob (after the runs asked before). */
    zip: run.zip,
    showError(error) {
      run.status(`${error?.name ?? "Error"}: ${error?.message ?? error}`, { error: true });
    },
    /** Stop the worker (freeing its wasm and file-system memory) and release object URLs. */
    destroy() {
      settings.stop();
      client.terminate(Object.assign(new Error("the panel was removed"), { name: "AbortError" }));
      for (const url of objectUrls) URL.revokeObjectURL(url);
      container.replaceChildren();
    },
  };
}
