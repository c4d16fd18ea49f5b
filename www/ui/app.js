// The synparam UI on the main thread, mounted into a container (the page's body, or the shadow
// root of <synparam-panel>): it wires the views (circuit, settings, editor, results) to its own
// worker, which owns the circuit, the core and the files. Everything it touches lives in the
// container or in this closure, so several instances on one page do not interfere.
import { PRESETS } from "./presets.js";
import { mountPresetDialog } from "./preset_dialog.js";
import { mountConfigFiles } from "./config_files.js";
import { showCircuit, showPathwayMatrix } from "./circuit_view.js";
import { MARKUP } from "./template.js";
import { mountEditor } from "./editor_view.js";
import { mountResults } from "./results_view.js";
import { mountRulesView } from "./rules_view.js";
import { PAGE_SETTINGS, pageOverrides, settingNotes } from "./settings.js";
import { mountModelState } from "./model_state.js";
import { resultsOf } from "../run/results.js";
import { connectWorker, errorData } from "../run/protocol.js";
import seedExample from "../presets/seed_example.json";
import tsodyksMarkram from "../presets/tsodyks_markram.json";
import tsodyksMarkramByClass from "../presets/tsodyks_markram_by_class.json";

const presets = { seed_example: seedExample, tsodyks_markram_by_class: tsodyksMarkramByClass, tsodyks_markram: tsodyksMarkram };
/** Names given to more than one of `files`. */
const duplicateNames = (files) => [...new Set(files.map((f) => f.name).filter((name, i, all) => all.indexOf(name) !== i))];

/** The seed field's value as the core takes it: null when empty, a number when exact, else text. */
const seedOf = (text) => {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  return /^\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed)) ? Number(trimmed) : trimmed;
};

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
  let candidates = {};
  let choices = []; // the circuit's node properties as pathway properties, ranked (loader's pathwayPropertyChoices)
  $("config").value = JSON.stringify(presets.seed_example, null, 2);
  $("preset").replaceChildren(...Object.entries(PRESETS).map(([key, { label }]) => new Option(label, key)));

  let droppedFiles = null; // {relativePath: File} from the last drop or chosen folder
  let hostCircuit = circuit; // the circuit a host (or the page's URL) asked for
  let circuitKey = 0; // bumped for every newly chosen circuit: the worker reloads local files by it
  let lastResult = null; // the last run's results as hosts get them (resultsOf)
  const objectUrls = new Set();
  let runPopulations = null; // edge populations a loaded provenance sidecar restricts the run to

  function download(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    objectUrls.add(link.href);
    link.download = name;
    link.textContent = name;
    return link;
  }

  /** Where the circuit comes from: dropped or chosen local files, else ?circuit=, else the example. */
  function circuitMessage() {
    if (droppedFiles) return { files: droppedFiles, circuitKey };
    const chosen = [...$("files").files];
    // File objects go to the worker as they are: it mounts them with WORKERFS. Two chosen files of
    // one name (from different folders) would silently become one: the worker refuses them.
    if (chosen.length) return { files: Object.fromEntries(chosen.map((f) => [f.name, f])), circuitKey, duplicateNames: duplicateNames(chosen) };
    return hostCircuit?.files ? { ...hostCircuit, circuitKey } : hostCircuit ?? {};
  }

  // ---- run settings: the core resolves them; the page remembers only what was set here ----
  const changed = {}; // setting → {value, by}: overrides of the config's task form
  const controls = {
    // Read as text: a seed above 2^53 − 1 stays exact (a decimal string for the core), text that
    // is no integer goes to the core as it is (its message names it), an empty field is no seed.
    seed: { read: () => seedOf($("seed").value), write: (v) => { if (v !== null) $("seed").value = String(v); } },
    pathwayProperty: { read: () => $("pathway-property").value, write: (v) => selectPathwayProperty(v) },
    fallback: { read: () => $("fallback").value || null, write: (v) => { $("fallback").value = v ?? ""; } },
    overwrite: { read: () => $("overwrite").checked, write: (v) => { $("overwrite").checked = v; } },
  };
  const controlIds = { seed: "seed", pathwayProperty: "pathway-property", fallback: "fallback", overwrite: "overwrite" };

  function selectPathwayProperty(property) {
    const select = $("pathway-property");
    if (select.value === property) return;
    if (![...select.options].some((o) => o.value === property)) select.add(new Option(propertyLabel(property), property));
    select.value = property;
    showPathwayValues();
    requestPathways();
  }

  /** An option's text: the property, its number of values, and the nodes without one. */
  function propertyLabel(name) {
    const choice = choices.find((c) => c.name === name);
    if (!choice) return circuitShown ? `${name} (not in this circuit)` : name;
    const lacking = Object.values(choice.lacking).reduce((a, b) => a + b, 0);
    const values = choice.kind === "float" ? "numeric" : `${choice.distinct} value${choice.distinct === 1 ? "" : "s"}`;
    return `${name} (${values}${lacking ? `; ${lacking} nodes without` : ""})`;
  }

  /** The selector's options: class-like properties (the loader ranks them), every property when
   * asked; the current choice always. */
  function showPropertyOptions(current) {
    const all = $("all-properties").checked;
    const listed = choices.filter((c) => all || c.shown).map((c) => c.name);
    if (current && !listed.includes(current)) listed.push(current);
    $("pathway-property").replaceChildren(...listed.map((p) => new Option(propertyLabel(p), p, false, p === current)));
  }
  $("all-properties").addEventListener("change", () => showPropertyOptions($("pathway-property").value));

  /** The chosen property's values, and which nodes lack it: they need the fallback. */
  function showPathwayValues() {
    $("pathway-values").textContent = pathwayValues().join(", ");
    const property = $("pathway-property").value;
    const choice = choices.find((c) => c.name === property);
    const lacking = Object.entries(choice?.lacking ?? {});
    const total = lacking.reduce((sum, [, n]) => sum + n, 0);
    const fallback = $("fallback").value;
    const note = $("pathway-lacking");
    note.hidden = !circuitShown || !(total || !choice);
    if (note.hidden) {
      $("fallback").classList.remove("needed");
      return;
    }
    const where = lacking.map(([population, n]) => `${population}: ${n}`).join(", ");
    note.textContent = !choice
      ? `No node of this circuit has '${property}': choose another pathway property${fallback ? `, or every synapse takes the fallback '${fallback}'` : ""}.`
      : fallback
        ? `${total} nodes have no '${property}' (${where}): they take the fallback value '${fallback}'.`
        : `${total} nodes have no '${property}' (${where}): give them a fallback value, or a run refuses their synapses.`;
    note.className = fallback ? "note" : "error";
    $("fallback").classList.toggle("needed", !fallback);
    $("fallback").setAttribute("aria-invalid", String(!fallback));
  }

  /** Set settings as overrides (`by`: "here", "the sidecar", "the host") and show them. */
  function override(values, by) {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue;
      changed[name] = { value, by };
      controls[name].write(value);
    }
    validateSoon();
  }

  for (const name of PAGE_SETTINGS) {
    $(controlIds[name]).addEventListener("change", () => {
      const value = controls[name].read();
      // An emptied field drops the override: the control then shows the config's value again.
      if (value === null || value === "") delete changed[name];
      else changed[name] = { value, by: "here" };
      if (name === "pathwayProperty" || name === "fallback") {
        showPathwayValues();
        requestPathways();
      }
      validateSoon();
    });
  }
  for (const button of container.querySelectorAll(".setting-reset")) {
    button.addEventListener("click", () => {
      delete changed[button.dataset.setting];
      validateSoon();
    });
  }

  /** Show the core's resolution: controls not set here follow the config; notes say where each
   * value comes from; Use config drops an override. */
  function showSettings(plan) {
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

  /** What a run asked now uses: the config text, the settings set here, the seed field. */
  const snapshot = () => ({ config: $("config").value, changed: structuredClone(changed), seedField: controls.seed.read(), strict: $("strict-rules").checked });

  /** The core's plan of a run of `asked` (`{config, overrides, plan}`): its settings with the
   * page's overrides, and the seed field when the config has no random_seed. */
  async function planOf({ config, changed: set, seedField, strict }, { againstCircuit = false } = {}) {
    const given = pageOverrides(set);
    const circuit = againstCircuit && circuitShown ? circuitMessage() : null;
    let plan = await call("validate", { config, overrides: { ...given, strict }, circuit });
    const overrides = pageOverrides(set, { configSeed: plan.base.seed.value, seedField });
    if (overrides.seed !== given.seed) plan = await call("validate", { config, overrides: { ...overrides, strict }, circuit });
    return { config, overrides, plan };
  }

  let validationTimer = null;
  let validationTicket = 0;
  function validateSoon() {
    clearTimeout(validationTimer);
    validationTimer = setTimeout(async () => {
      const ticket = ++validationTicket;
      try {
        const { plan } = await planOf(snapshot(), { againstCircuit: true });
        if (ticket === validationTicket) handlers.validation({ plan });
      } catch (error) {
        if (ticket === validationTicket && error.name !== "AbortError") handlers.validation({ error: errorData(error) });
      }
    }, 250);
  }

  // ---- the worker and the circuit ----
  function startWorker() {
    client = connectWorker(new Worker(workerUrl, { type: "module" }), {
      onEvent: (event, data) => { if (event === "failure") handlers.error({ error: data }); },
    });
    return client.call("schema", {}).then((schema) => editor.setSchema(schema), () => { /* the next validation shows why */ });
  }

  /** Load (or reload) the current circuit in the worker and show it. */
  let loadTicket = 0;
  function loadCircuit() {
    const ticket = ++loadTicket;
    circuitShown = false;
    pathwaysTicket++; // a count of the previous circuit still on its way is dropped
    // Every view shows the current circuit or nothing: the previous one's populations, matrix,
    // results, figures and downloads go (its zip could no longer be made).
    $("circuit").textContent = "loading the circuit…";
    delete $("circuit").dataset.state;
    $("nodes").textContent = "";
    $("unavailable").hidden = true;
    $("pathway-matrix").replaceChildren();
    editor.setCounts([]);
    $("pathway-lacking").hidden = true;
    $("preset-mapping").hidden = true;
    choices = [];
    results.clear();
    return call("load", circuitMessage()).then(
      (description) => { if (ticket === loadTicket) handlers.circuit(description); },
      (error) => {
        if (ticket !== loadTicket || error.name === "AbortError") return;
        // The circuit box says why, not "loading…" forever.
        $("circuit").textContent = `The circuit could not be loaded — ${error.name}: ${error.message}`;
        $("circuit").dataset.state = "error";
        handlers.error({ error: errorData(error) });
      });
  }

  /** The values a model needs for the chosen property: the circuit's, and the fallback when
   * some nodes lack the property. */
  function pathwayValues() {
    const property = $("pathway-property").value;
    const choice = choices.find((c) => c.name === property);
    const values = new Set(choice?.values ?? []);
    const fallback = $("fallback").value;
    if (fallback && (!choice || Object.keys(choice.lacking).length)) values.add(fallback);
    return [...values].sort();
  }

  let pathwaysTicket = 0;
  let circuitShown = false; // whether the worker holds a described circuit to count pathways of
  function requestPathways() {
    if (!circuitShown) return;
    const ticket = ++pathwaysTicket;
    call("pathways", { ...circuitMessage(), property: $("pathway-property").value, fallback: $("fallback").value || undefined }).then(
      (data) => ticket === pathwaysTicket && handlers.pathways(data),
      (error) => ticket === pathwaysTicket && error.name !== "AbortError" && handlers.error({ error: errorData(error) }));
  }

  function chooseFiles(files) {
    droppedFiles = files;
    circuitKey++;
    loadCircuit();
  }

  /** Files of a chosen folder, by path relative to it (so circuit_config.json sits at the root). */
  $("folder").addEventListener("change", () => {
    const chosen = [...$("folder").files];
    if (chosen.length) chooseFiles(Object.fromEntries(chosen.map((f) => [f.webkitRelativePath.slice(f.webkitRelativePath.indexOf("/") + 1), f])));
  });
  $("files").addEventListener("change", () => chooseFiles(null));

  /** Files of a dropped folder, by path relative to it (so circuit_config.json sits at the root). */
  async function entryFiles(entry, prefix = "") {
    if (entry.isFile) return [[prefix + entry.name, await new Promise((resolve, reject) => entry.file(resolve, reject))]];
    const reader = entry.createReader();
    const children = [];
    for (let batch; (batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject))).length;) children.push(...batch);
    const nested = await Promise.all(children.map((child) => entryFiles(child, `${prefix}${entry.name}/`)));
    return nested.flat();
  }

  const dropZone = $("drop-zone");
  dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("dragging"); });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", async (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    const entries = [...event.dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    let files;
    if (entries.length === 1 && entries[0].isDirectory) {
      // A dropped folder: paths relative to it.
      files = (await entryFiles(entries[0])).map(([path, file]) => [path.slice(entries[0].name.length + 1), file]);
    } else {
      files = [...event.dataTransfer.files].map((file) => [file.name, file]);
    }
    chooseFiles(Object.fromEntries(files));
  });

  // ---- the model: the config text, the editor over it, presets, files ----
  const configText = {
    get: () => $("config").value,
    set: (text) => { $("config").value = text; },
  };
  const editor = mountEditor({ $, call, config: configText, onEdited: () => { modelChanged(); validateSoon(); }, download });
  const rulesView = mountRulesView({ $, download });
  $("config").addEventListener("input", () => { modelChanged({ coalesce: true }); validateSoon(); editor.render(); });
  $("strict-rules").addEventListener("change", () => validateSoon());

  // ---- undo and redo of the model; kept across reloads and in links (the page) ----
  const modelState = mountModelState({
    $, container, persist,
    settingsSetHere: () => Object.fromEntries(Object.entries(changed).filter(([, { by }]) => by === "here").map(([name, { value }]) => [name, value])),
    onTravel: () => { validateSoon(); editor.render(); },
  });
  const modelChanged = (options) => modelState.changed(options);
  /** The state a link or the last visit left, with its settings as overrides. */
  async function restoreState() {
    const restored = await modelState.restore();
    if (!restored) return;
    const settings = Object.fromEntries(Object.entries(restored.settings).filter(([name]) => PAGE_SETTINGS.includes(name)));
    override(settings, restored.by);
  }
  mountConfigFiles({
    $, call,
    onConfig(text) {
      $("config").value = text;
      modelChanged();
      runPopulations = null;
      validateSoon();
      editor.render();
    },
    onProvenance: (data) => handlers.provenance(data),
    onError: (error) => handlers.error({ error: errorData(error) }),
  });
  mountPresetDialog({
    $, presets, call,
    circuit: () => ({ shown: circuitShown, message: circuitMessage(), values: pathwayValues() }),
    onApplied(text) {
      $("config").value = text;
      modelChanged();
      validateSoon();
      editor.render();
    },
    onError: (error) => handlers.error({ error: errorData(error) }),
  });

  // ---- runs ----
  function setRunning(running) {
    $("run").disabled = running;
    $("cancel").disabled = !running;
  }

  /** Run with the current circuit and model. `tables`: whether the result carries the drawn
   * columns as Arrow tables (read from the worker's files: "auto" up to 2 M synapses; the page
   * itself never needs them). */
  let runs = Promise.resolve(); // runs (and zips after them) in the order asked
  function run(options) {
    const asked = { ...snapshot(), circuit: circuitMessage(), populations: runPopulations };
    const turn = runs.then(() => runNow(asked, options));
    runs = turn.catch(() => {});
    return turn;
  }
  async function runNow(asked, { tables = false } = {}) {
    setRunning(true);
    $("status").textContent = "running…";
    $("status").className = "";
    $("progress").value = 0;
    try {
      const { config, overrides } = await planOf(asked);
      // The page itself draws the Arrow columns only when they are asked for (a download); a host's
      // run (tables) gets them with the run.
      const request = { ...asked.circuit, config, ...overrides, strict: asked.strict, populations: asked.populations ?? overrides.populations, columns: tables !== false };
      const data = await call("run", request, { onProgress: handlers.progress });
      const detail = await resultsOf(data, { tables });
      lastResult = detail;
      handlers.result(data, detail, config);
      return detail;
    } catch (error) {
      if (error.name !== "AbortError") handlers.error({ error: errorData(error) });
      throw error;
    }
  }
  $("run").addEventListener("click", () => run().catch(() => { /* shown in the status line */ }));

  $("cancel").addEventListener("click", () => {
    // Every pending request (the run, a zip) is rejected with an AbortError by terminate().
    client.terminate(Object.assign(new Error("cancelled"), { name: "AbortError" }));
    startWorker();
    loadCircuit();
    validateSoon();
    setRunning(false);
    if ($("zip")) $("zip").disabled = false;
    $("status").textContent = "cancelled";
    $("status").className = "";
  });

  const results = mountResults({
    $, table: container.querySelector("#results tbody"), download,
    /** The drawn columns of a population of the last run, drawn again by the worker when asked. */
    columnsOf: (population) => {
      $("status").textContent = `drawing the columns of ${population} for the download…`;
      return call("columns", { population }, { onProgress: handlers.progress }).then(({ file }) => {
        $("status").textContent = `columns of ${population} ready`;
        return file;
      }, (error) => {
        if (error.name !== "AbortError") handlers.error({ error: errorData(error) });
        throw error;
      });
    },
  });

  function zipButton() {
    const button = Object.assign(document.createElement("button"), { id: "zip", type: "button", textContent: "parameterized circuit (.zip)" });
    button.addEventListener("click", () => {
      button.disabled = true;
      $("status").textContent = "building the zip…";
      call("zip").then(handlers.zip, (error) => {
        button.disabled = false;
        if (error.name !== "AbortError") handlers.error({ error: errorData(error) });
      });
    });
    return button;
  }

  const handlers = {
    circuit(data) {
      showCircuit($, data);
      candidates = data.candidates;
      choices = data.pathwayProperties["*"];
      circuitShown = true;
      // The core's setting stays (the config's, an override, or its default): never a silent
      // switch to another property; one this circuit lacks is said so.
      showPropertyOptions($("pathway-property").value || "synapse_class");
      showPathwayValues();
      requestPathways();
      validateSoon(); // the model against this circuit
      emit("ready", { edgePopulations: data.edgePopulations, nodePopulations: data.nodePopulations, candidates, pathwayProperties: data.pathwayProperties, unavailable: data.unavailable ?? [] });
    },
    /** The synapse matrix before a run, as the core counts it (null: nodes without the property
     * and no fallback — a run would refuse them). */
    pathways(data) {
      showPathwayMatrix($, data);
      editor.setCounts(data.counts);
    },
    validation({ plan, error }) {
      if (error) {
        $("config-status").textContent = `${error.name}: ${error.message}`;
        $("config-status").className = "error";
        $("config-status").dataset.path = error.path ?? "";
        editor.markInvalid(error.path ?? null);
        return;
      }
      // Rules (a BBP recipe, synparam rules): the coverage view instead of the matrix editor.
      $("editor").hidden = Boolean(plan.rules);
      $("pathway-settings").hidden = Boolean(plan.rules);
      $("rules-classing").hidden = !plan.rules;
      if (plan.rules) {
        rulesView.show(plan.rules);
      } else {
        rulesView.hide();
      }
      if (plan.rules && !plan.rules.compiled) {
        $("config-status").textContent = `valid ${plan.rules.summary.format}: ${plan.rules.summary.rules} rules — load a circuit to compile them`;
        $("config-status").className = "";
        delete $("config-status").dataset.path;
        editor.markInvalid(null);
        return;
      }
      const { properties, src_types: sources, notices } = plan.summary;
      // Checked against the loaded circuit as well: what a run would refuse is said now.
      const problems = plan.circuit?.problems ?? [];
      $("config-status").textContent = `valid: ${properties.map((p) => p.name).join(", ")} over ${sources.length} source values` +
        (notices.length ? ` (${notices.length} ignored keys: ${notices.join("; ")})` : "") +
        (problems.length ? ` — but not for this circuit: ${problems.join("; ")}` : "");
      $("config-status").className = problems.length ? "error" : "";
      delete $("config-status").dataset.path;
      editor.markInvalid(null);
      showSettings(plan);
    },
    provenance(data) {
      let shown = data.configText; // a recipe in XML stays text
      try {
        shown = JSON.stringify(JSON.parse(data.configText), null, 2);
      } catch { /* not JSON */ }
      $("config").value = shown;
      modelChanged();
      runPopulations = data.populations;
      override({ seed: data.seed, pathwayProperty: data.pathwayProperty, fallback: data.fallback ?? null, overwrite: data.overwrite }, "the sidecar");
      $("status").textContent = `settings loaded from the sidecar (synparam ${data.version}, seed ${data.seed}${data.populations ? `, populations ${data.populations.join(", ")}` : ""}): Parameterize reproduces that run`;
      $("status").className = "";
      editor.render();
    },
    zip(data) {
      const link = download("parameterized_circuit.zip", data.blob);
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      $("zip").disabled = false;
      $("status").dataset.zipTimings = JSON.stringify(data.timings ?? {});
      $("status").textContent = `zip of the parameterized circuit ready (${(data.blob.size / 1e6).toFixed(1)} MB)` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
    },
    progress(data) {
      $("progress").max = data.total;
      $("progress").value = data.done;
      emit("progress", { done: data.done, total: data.total });
    },
    error({ error }) {
      setRunning(false);
      emit("error", error);
      if ($("zip")) $("zip").disabled = false;
      $("status").textContent = `${error.name}: ${error.message}`;
      $("status").className = "error";
    },
    result(data, detail, config) {
      setRunning(false);
      results.show(data, detail, { configText: config, zipButton: zipButton() });
      // Stacked (narrow) layout: the results are below the controls; bring them into view.
      const pane = $("results-pane");
      if (pane.getBoundingClientRect().top > (globalThis.innerHeight ?? 0)) pane.scrollIntoView({ block: "start" });
      const synapses = data.populations.reduce((sum, p) => sum + p.size, 0);
      $("status").textContent = `${synapses} synapses in ${data.seconds.toFixed(2)} s` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
      // Where the worker spent the time, for benchmarks and the curious (design §6).
      $("status").dataset.timings = JSON.stringify({ ...data.timings, workers: data.workers, storage: data.storage });
      emit("result", { stats: detail.stats, warnings: detail.warnings, seconds: data.seconds, seed: data.seed, pathwayProperty: data.pathwayProperty, settings: data.settings, edgeFiles: Object.keys(detail.edges) });
    },
  };

  const schemaShown = startWorker();
  if (circuitMessage().circuitUrl || circuitMessage().files) loadCircuit();
  const restored = persist ? restoreState().catch(() => {}) : Promise.resolve();
  restored.then(() => {
    validateSoon();
    editor.render();
  });
  // Ready: config filled, worker started. Run is enabled only now.
  $("run").disabled = false;

  return {
    run,
    /** Settles once the editor has the core's spec schema (the UI is then complete). */
    ready: Promise.all([schemaShown, restored]),
    /** Load a circuit: `{circuitUrl, fetchInit}` or `{files: {relativePath: File|Blob|ArrayBuffer}}`. */
    load(source) {
      droppedFiles = null;
      $("files").value = "";
      $("folder").value = "";
      hostCircuit = source;
      circuitKey++;
      return loadCircuit();
    },
    setConfig(text) {
      $("config").value = text;
      modelChanged();
      runPopulations = null;
      validateSoon();
      editor.render();
    },
    /** Set run settings over the config: `{name: {value, by}}` (`by`: who, e.g. "the host"). */
    restoreOverrides(overrides) {
      for (const [name, { value, by }] of Object.entries(overrides)) override({ [name]: value }, by);
    },
    /** The editable state (shown seed and pathway property; the overrides), to restore after the
     * UI is rebuilt. */
    state: () => ({ config: $("config").value, seed: $("seed").value, pathwayProperty: $("pathway-property").value, overrides: structuredClone(changed) }),
    results: () => lastResult,
    /** Each parameterized edges file of the last run, by its path in the circuit. */
    edges: () => lastResult?.edges ?? {},
    /** The last run's whole parameterized circuit as a zip Blob (after the runs asked before). */
    zip() {
      return runs.then(() => call("zip")).then((data) => data.blob);
    },
    showError(error) {
      $("status").textContent = `${error?.name ?? "Error"}: ${error?.message ?? error}`;
      $("status").className = "error";
    },
    /** Stop the worker (freeing its wasm and file-system memory) and release object URLs. */
    destroy() {
      clearTimeout(validationTimer);
      client.terminate(Object.assign(new Error("the panel was removed"), { name: "AbortError" }));
      for (const url of objectUrls) URL.revokeObjectURL(url);
      container.replaceChildren();
    },
  };
}
