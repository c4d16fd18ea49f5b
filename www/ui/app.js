// The synparam UI on the main thread, mounted into a container (the page's body, or the shadow
// root of <synparam-panel>): sends the circuit and model to its own worker, shows progress, a
// summary, histograms and downloads; Cancel stops the worker. Everything it touches lives in the
// container or in this closure, so several instances on one page do not interfere.
import * as Plot from "@observablehq/plot";
import { propertyFigure, axisLabel, plot } from "./plots.js";
import { PRESETS, mapPreset } from "./presets.js";
import { DISTRIBUTION_FIELDS, modelOf, specLabel, specFromForm, applySpec, addProperty, removeProperty } from "./editor.js";
import { MARKUP } from "./template.js";
import { resultsOf } from "../host/results.js";
import { connectWorker, errorData } from "../run/protocol.js";
import seedExample from "../presets/seed_example.json";
import tsodyksMarkram from "../presets/tsodyks_markram.json";

const format = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(4));
const presets = { seed_example: seedExample, tsodyks_markram: tsodyksMarkram };

/**
 * Mount the UI into `container` and return its controller. `workerUrl`: the worker module's URL;
 * `circuit`: the initial circuit (`{circuitUrl, fetchInit}` or `{files}`), or none;
 * `emit(type, detail)`: called on "ready" (circuit loaded), "progress", "result" and "error".
 */
export function createApp(container, { workerUrl, circuit = null, emit = () => {} }) {
  container.innerHTML = MARKUP;
  const $ = (id) => container.querySelector(`#${id}`);
  let client = null; // the worker, through the request/reply protocol
  let lastRun = null;
  let candidates = {};
  let previousStats = null; // statistics of the last run, to mark what changed
  $("config").value = JSON.stringify(presets.seed_example, null, 2);
  $("preset").replaceChildren(...Object.entries(PRESETS).map(([key, { label }]) => new Option(label, key)));

  let droppedFiles = null; // {relativePath: File} from the last drop or chosen folder
  let hostCircuit = circuit; // the circuit a host (or the page's URL) asked for
  let circuitKey = 0; // bumped for every newly chosen circuit: the worker reloads local files by it
  let lastResult = null; // the last run's results as hosts get them (resultsOf)
  const objectUrls = new Set();
  let runPopulations = null; // edge populations a loaded provenance sidecar restricts the run to

  /** Where the circuit comes from: dropped or chosen local files, else ?circuit=, else the example. */
  function circuitMessage() {
    if (droppedFiles) return { files: droppedFiles, circuitKey };
    const chosen = [...$("files").files];
    // File objects go to the worker as they are: it mounts them with WORKERFS.
    if (chosen.length) return { files: Object.fromEntries(chosen.map((f) => [f.name, f])), circuitKey };
    return hostCircuit?.files ? { ...hostCircuit, circuitKey } : hostCircuit ?? {};
  }

  function pathwayValues() {
    const property = $("pathway-property").value;
    return [...new Set(Object.values(candidates).flatMap((byProperty) => byProperty[property] ?? []))].sort();
  }

  let validationTimer = null;
  let validationTicket = 0;
  function validateSoon() {
    clearTimeout(validationTimer);
    validationTimer = setTimeout(() => {
      const ticket = ++validationTicket;
      client.call("validate", { config: $("config").value }).then(
        (summary) => ticket === validationTicket && handlers.validation({ summary }),
        (error) => ticket === validationTicket && handlers.validation({ error: errorData(error) }));
    }, 250);
  }

  function startWorker() {
    client = connectWorker(new Worker(workerUrl, { type: "module" }), {
      onEvent: (event, data) => { if (event === "failure") handlers.error({ error: data }); },
    });
  }

  /** Load (or reload) the current circuit in the worker and show it. */
  let loadTicket = 0;
  function loadCircuit() {
    const ticket = ++loadTicket;
    return client.call("load", circuitMessage()).then(
      (description) => { if (ticket === loadTicket) handlers.circuit(description); },
      (error) => { if (ticket === loadTicket && error.name !== "AbortError") handlers.error({ error: errorData(error) }); });
  }

  function setRunning(running) {
    $("run").disabled = running;
    $("cancel").disabled = !running;
  }

  /** Run with the current circuit and model. `tables`: whether the result carries the drawn
   * columns as Arrow tables (read from the worker's files: "auto" up to 2 M synapses; the page
   * itself never needs them). */
  function run({ tables = false } = {}) {
    setRunning(true);
    $("status").textContent = "running…";
    $("status").className = "";
    $("progress").value = 0;
    const seed = Number($("seed").value);
    const config = $("config").value;
    lastRun = { seed, config };
    const request = { ...circuitMessage(), config, seed, pathwayProperty: $("pathway-property").value || undefined,
      fallback: $("fallback").value || undefined, overwrite: $("overwrite").checked, populations: runPopulations };
    return client.call("run", request, { onProgress: handlers.progress }).then(async (data) => {
      const detail = await resultsOf(data, { tables });
      lastResult = detail;
      await handlers.result(data, detail);
      return detail;
    }, (error) => {
      if (error.name !== "AbortError") handlers.error({ error: errorData(error) });
      throw error;
    });
  }
  $("run").addEventListener("click", () => run().catch(() => { /* shown in the status line */ }));

  /** Files of a chosen folder, by path relative to it (so circuit_config.json sits at the root). */
  $("folder").addEventListener("change", () => {
    const chosen = [...$("folder").files];
    if (!chosen.length) return;
    droppedFiles = Object.fromEntries(chosen.map((f) => [f.webkitRelativePath.slice(f.webkitRelativePath.indexOf("/") + 1), f]));
    circuitKey++;
    loadCircuit();
  });

  $("files").addEventListener("change", () => {
    droppedFiles = null;
    circuitKey++;
    loadCircuit();
  });

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
    droppedFiles = Object.fromEntries(files);
    circuitKey++;
    loadCircuit();
  });
  $("config").addEventListener("input", () => { validateSoon(); renderEditor(); });

  // ---- matrix editor: reads and writes the config JSON ----
  let selected = null; // {source, target}
  const form = $("cell-form");
  form.type.replaceChildren(...Object.keys(DISTRIBUTION_FIELDS).map((t) => new Option(t, t)));

  function currentConfig() {
    try { return JSON.parse($("config").value); } catch { return null; }
  }

  function renderEditor() {
    const config = currentConfig();
    const model = config && modelOf(config);
    if (!model?.prop_stats || !model.src_types || !model.tgt_types) {
      $("editor-matrix").replaceChildren(Object.assign(document.createElement("caption"), { textContent: "Fix the JSON below to use the editor." }));
      form.hidden = true;
      return;
    }
    const properties = Object.keys(model.prop_stats).filter((p) => p !== "n_syn_per_conn");
    const previous = $("editor-property").value;
    $("editor-property").replaceChildren(...properties.map((p) => new Option(p, p, false, p === previous)));
    const property = $("editor-property").value;
    const cell = (tag, content) => { const el = document.createElement(tag); el.append(content); return el; };
    const head = document.createElement("tr");
    head.append(cell("th", "source \\ target"), ...model.tgt_types.map((t) => cell("th", t)));
    const rows = model.src_types.map((s) => {
      const row = document.createElement("tr");
      row.append(cell("th", s), ...model.tgt_types.map((t) => {
        const button = Object.assign(document.createElement("button"), { type: "button", textContent: specLabel(model.prop_stats[property]?.[s]?.[t]) });
        button.dataset.source = s;
        button.dataset.target = t;
        button.setAttribute("aria-pressed", String(selected?.source === s && selected?.target === t));
        button.addEventListener("click", () => selectCell(s, t));
        return cell("td", button);
      }));
      return row;
    });
    $("editor-matrix").replaceChildren(head, ...rows);
  }

  function renderFields(spec) {
    $("cell-fields").replaceChildren(...DISTRIBUTION_FIELDS[form.type.value].map((field) => {
      const label = document.createElement("label");
      const value = spec?.[field];
      label.append(`${field} `, Object.assign(document.createElement("input"), { name: `field-${field}`, size: field === "val" || field === "p" ? 16 : 6,
        value: value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value) }));
      return label;
    }));
  }

  function selectCell(source, target) {
    selected = { source, target };
    const spec = modelOf(currentConfig()).prop_stats[$("editor-property").value]?.[source]?.[target] ?? { type: "constant", mean: 0 };
    form.hidden = false;
    $("cell-title").textContent = `${$("editor-property").value}: ${source} → ${target}`;
    form.type.value = spec.type in DISTRIBUTION_FIELDS ? spec.type : "constant";
    renderFields(spec);
    form.shared_within.checked = spec.shared_within !== false && spec.shared_within !== 0;
    form.lower_bound.value = spec.lower_bound ?? "";
    form.upper_bound.value = spec.upper_bound ?? "";
    form.dtype.value = spec.dtype ?? "";
    renderEditor();
    requestPreview();
  }

  let previewTicket = 0;
  function requestPreview() {
    const ticket = ++previewTicket;
    client.call("preview", { spec: JSON.stringify(specFromForm(form)) }).then(
      (points) => ticket === previewTicket && handlers.preview({ points }),
      (error) => ticket === previewTicket && error.name !== "AbortError" && handlers.preview({ error: errorData(error) }));
  }

  form.type.addEventListener("change", () => { renderFields(null); requestPreview(); });
  form.addEventListener("input", requestPreview);
  form.addEventListener("click", (event) => {
    const scope = event.target.dataset?.scope;
    if (!scope || !selected) return;
    const config = applySpec(currentConfig(), $("editor-property").value, selected.source, selected.target, specFromForm(form), scope);
    $("config").value = JSON.stringify(config, null, 2);
    validateSoon();
    renderEditor();
  });
  $("editor-property").addEventListener("change", () => { selected = null; form.hidden = true; renderEditor(); });
  $("add-property").addEventListener("click", () => {
    const name = $("new-property").value.trim();
    const config = currentConfig();
    if (!name || !config) return;
    $("config").value = JSON.stringify(addProperty(config, name, form.hidden ? { type: "constant", mean: 0 } : specFromForm(form)), null, 2);
    $("new-property").value = "";
    renderEditor();
    $("editor-property").value = name;
    if (selected) selectCell(selected.source, selected.target);
    else renderEditor();
    validateSoon();
  });
  $("download-config").addEventListener("click", () => {
    const link = download("config.json", new Blob([$("config").value], { type: "application/json" }));
    link.click();
    URL.revokeObjectURL(link.href);
  });
  $("remove-property").addEventListener("click", () => {
    const config = currentConfig();
    if (!config) return;
    $("config").value = JSON.stringify(removeProperty(config, $("editor-property").value), null, 2);
    selected = null;
    form.hidden = true;
    renderEditor();
    validateSoon();
  });
  $("config-file").addEventListener("change", async () => {
    const [file] = $("config-file").files;
    if (file) $("config").value = await file.text();
    runPopulations = null;
    validateSoon();
    renderEditor();
  });
  // Load config and settings from a parameterized circuit's sidecar: a rerun reproduces it bit for bit.
  $("provenance-file").addEventListener("change", async () => {
    const [file] = $("provenance-file").files;
    if (!file) return;
    client.call("provenance", { text: await file.text(), name: file.name }).then(handlers.provenance, (error) => handlers.error({ error: errorData(error) }));
  });
  let pathwaysTicket = 0;
  function requestPathways() {
    const ticket = ++pathwaysTicket;
    client.call("pathways", { ...circuitMessage(), property: $("pathway-property").value, fallback: $("fallback").value || undefined }).then(
      (data) => ticket === pathwaysTicket && handlers.pathways(data),
      (error) => ticket === pathwaysTicket && error.name !== "AbortError" && handlers.error({ error: errorData(error) }));
  }
  $("pathway-property").addEventListener("change", () => {
    $("pathway-values").textContent = pathwayValues().join(", ");
    requestPathways();
  });
  $("fallback").addEventListener("change", requestPathways);
  $("apply-preset").addEventListener("click", () => {
    const values = pathwayValues();
    $("config").value = JSON.stringify(mapPreset(presets[$("preset").value], values, $("pathway-property").value), null, 2);
    validateSoon();
    renderEditor();
  });

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

  function download(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    objectUrls.add(link.href);
    link.download = name;
    link.textContent = name;
    return link;
  }

  function summaryCsv(populations) {
    const rows = [["edge_population", "property", "source", "target", "synapses", "connections", "mean", "std", "min", "max", "clipped_share", "spec_mean", "spec_std"]];
    for (const population of populations) {
      for (const property of population.stats) {
        for (const p of property.pathways) {
          rows.push([population.name, property.property, p.source, p.target, p.count, population.connections[`${p.source} → ${p.target}`] ?? 0,
            p.mean, p.std, p.min, p.max, p.clipped_share, p.theoretical_mean, p.theoretical_std]);
        }
      }
    }
    return rows.map((r) => r.map((v) => (typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(",")).join("\n") + "\n";
  }

  /** Histograms, one figure per animation frame: the page stays responsive while dozens draw.
   * A newer run's figures replace these (the older drawing stops). */
  let histogramTicket = 0;
  const nextFrame = () => new Promise((resolve) => (globalThis.requestAnimationFrame ?? setTimeout)(resolve));
  async function drawFigures(data, changed, fingerprint) {
    $("histograms").replaceChildren();
    delete $("histograms").dataset.complete;
    const figures = data.populations.flatMap((population) => population.stats.map((property) => ({ population, property })));
    const drawing = ++histogramTicket;
    for (const { population, property } of figures) {
      await nextFrame();
      if (drawing !== histogramTicket) return;
      const figure = propertyFigure(property);
      figure.classList.toggle("changed", property.pathways.some((p) => changed(fingerprint(population, property, p))));
      figure.dataset.property = property.property;
      $("histograms").append(figure);
    }
    $("histograms").dataset.complete = "true";
  }

  const handlers = {
    preview({ points, error }) {
      $("cell-error").textContent = error ? `${error.name}: ${error.message}` : "";
      if (error) {
        $("cell-preview").replaceChildren();
        return;
      }
      const discrete = points.length < 130;
      $("cell-preview").replaceChildren(plot({
        width: 300, height: 120, marginLeft: 40, x: { label: axisLabel($("editor-property").value) },
        y: { label: discrete ? "probability" : "density", grid: true },
        marks: [discrete ? Plot.ruleX(points, { x: "0", y: "1", stroke: "#3b6fb6", strokeWidth: 3 }) : Plot.areaY(points, { x: "0", y: "1", fill: "#3b6fb6", fillOpacity: 0.3 }),
          discrete ? Plot.dot(points, { x: "0", y: "1", fill: "#3b6fb6" }) : Plot.line(points, { x: "0", y: "1", stroke: "#3b6fb6" }), Plot.ruleY([0])],
      }));
    },
    circuit(data) {
      $("circuit").textContent = "Edge populations: " + data.edgePopulations.map((e) =>
        `${e.name}: ${e.source} → ${e.target}, ${e.size} synapses, ${e.groups.length} edge group${e.groups.length === 1 ? "" : "s"}`).join("; ");
      $("circuit").dataset.storage = JSON.stringify(data.storage);
      $("nodes").textContent = "Node populations: " + data.nodePopulations.map((n) => `${n.name} (${n.type ?? "unknown type"}, ${n.size} nodes)`).join("; ");
      candidates = data.candidates;
      const properties = [...new Set(Object.values(candidates).flatMap((byProperty) => Object.keys(byProperty)))].sort();
      const previous = $("pathway-property").value || "synapse_class";
      $("pathway-property").replaceChildren(...properties.map((p) => new Option(p, p, false, p === previous)));
      $("pathway-values").textContent = pathwayValues().join(", ");
      requestPathways();
      emit("ready", { edgePopulations: data.edgePopulations, nodePopulations: data.nodePopulations, candidates });
    },
    pathways({ property, counts }) {
      const sources = Object.keys(counts).sort();
      const targets = [...new Set(sources.flatMap((s) => Object.keys(counts[s])))].sort();
      const cell = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
      const caption = cell("caption", `Synapses per pathway (${property}; rows: source, columns: target)`);
      const head = document.createElement("tr");
      head.append(cell("th", "source \\ target"), ...targets.map((t) => cell("th", t)));
      const rows = sources.map((s) => {
        const row = document.createElement("tr");
        row.append(cell("th", s), ...targets.map((t) => cell("td", String(counts[s][t] ?? 0))));
        return row;
      });
      $("pathway-matrix").replaceChildren(caption, head, ...rows);
    },
    validation(data) {
      if (data.error) {
        $("config-status").textContent = `${data.error.name}: ${data.error.message}`;
        $("config-status").className = "error";
        $("config-status").dataset.path = data.error.path ?? "";
      } else {
        const { properties, src_types: sources, notices } = data.summary;
        $("config-status").textContent = `valid: ${properties.map((p) => p.name).join(", ")} over ${sources.length} source values` +
          (notices.length ? ` (${notices.length} ignored keys: ${notices.join("; ")})` : "");
        $("config-status").className = "";
        delete $("config-status").dataset.path;
      }
    },
    provenance(data) {
      $("config").value = JSON.stringify(JSON.parse(data.configText), null, 2);
      $("seed").value = String(data.seed);
      if (![...$("pathway-property").options].some((o) => o.value === data.pathwayProperty)) $("pathway-property").add(new Option(data.pathwayProperty, data.pathwayProperty));
      $("pathway-property").value = data.pathwayProperty;
      $("fallback").value = data.fallback ?? "";
      $("overwrite").checked = data.overwrite;
      runPopulations = data.populations;
      $("status").textContent = `settings loaded from the sidecar (synparam ${data.version}, seed ${data.seed}${data.populations ? `, populations ${data.populations.join(", ")}` : ""}): Parameterize reproduces that run`;
      $("status").className = "";
      validateSoon();
      renderEditor();
    },
    zip(data) {
      const link = download("parameterized_circuit.zip", data.blob);
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      $("zip").disabled = false;
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
    result(data, detail) {
      setRunning(false);
      // Keyed streams: a property whose spec did not change keeps bit-identical values, so any
      // difference in its statistics means the user changed it. Mark those.
      const fingerprint = (population, property, p) => `${population.name}|${property.property}|${p.source}|${p.target}`;
      const current = new Map(data.populations.flatMap((population) => population.stats.flatMap((property) =>
        property.pathways.map((p) => [fingerprint(population, property, p), JSON.stringify([p.count, p.mean, p.std, p.histogram.counts])]))));
      const changedKeys = new Set([...current.keys()].filter((key) => previousStats !== null && previousStats.get(key) !== current.get(key)));
      const changed = (key) => changedKeys.has(key);
      // Data-bearing DOM is built as text nodes: names and values from configs and circuits are
      // shown literally, never parsed as markup.
      const rows = data.populations.flatMap((population) => population.stats.flatMap((property) => property.pathways.map((p) => {
        const row = document.createElement("tr");
        if (changed(fingerprint(population, property, p))) row.className = "changed";
        row.dataset.property = property.property;
        for (const text of [property.property, `${p.source} → ${p.target}`, String(p.count), format(p.mean), format(p.std), format(p.min), format(p.max),
          `${(100 * p.clipped_share).toFixed(1)} %`, format(p.theoretical_mean), format(p.theoretical_std)]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        return row;
      })));
      container.querySelector("#results tbody").replaceChildren(...rows);
      $("results").hidden = false;
      previousStats = current;
      const parsed = JSON.parse(lastRun.config);
      const task = parsed.pathway_param_dict ? { ...parsed } : { pathway_param_dict: parsed };
      Object.assign(task, { random_seed: lastRun.seed, pathway_property: data.pathwayProperty });
      if (data.fallback !== null) task.fallback_pathway_value = data.fallback;
      const zipButton = Object.assign(document.createElement("button"), { id: "zip", type: "button", textContent: "parameterized circuit (.zip)" });
      zipButton.addEventListener("click", () => {
        zipButton.disabled = true;
        $("status").textContent = "building the zip…";
        client.call("zip").then(handlers.zip, (error) => {
          zipButton.disabled = false;
          if (error.name !== "AbortError") handlers.error({ error: errorData(error) });
        });
      });
      $("downloads").replaceChildren(
        zipButton,
        ...Object.entries(detail.edges).map(([name, file]) => download(name.replaceAll("/", "__"), file)),
        ...Object.entries(detail.columns).map(([name, file]) => download(`${name}.arrow`, file)),
        download("summary.csv", new Blob([summaryCsv(data.populations)], { type: "text/csv" })),
        download("config.json", new Blob([JSON.stringify(task, null, 2)], { type: "application/json" })),
      );
      const synapses = data.populations.reduce((sum, p) => sum + p.size, 0);
      $("status").textContent = `${synapses} synapses in ${data.seconds.toFixed(2)} s` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
      // Where the worker spent the time, for benchmarks and the curious (design §6).
      $("status").dataset.timings = JSON.stringify({ ...data.timings, workers: data.workers, storage: data.storage });
      emit("result", { stats: detail.stats, warnings: detail.warnings, seconds: data.seconds, seed: data.seed, pathwayProperty: data.pathwayProperty, edgeFiles: Object.keys(detail.edges) });
      drawFigures(data, changed, fingerprint);
    },
  };


  startWorker();
  if (circuitMessage().circuitUrl || circuitMessage().files) loadCircuit();
  validateSoon();
  renderEditor();
  // Ready: config filled, worker started. Run is enabled only now.
  $("run").disabled = false;

  return {
    run,
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
      runPopulations = null;
      validateSoon();
      renderEditor();
    },
    setSeed(seed) { $("seed").value = String(seed); },
    setPathwayProperty(property) {
      if (![...$("pathway-property").options].some((o) => o.value === property)) $("pathway-property").add(new Option(property, property));
      $("pathway-property").value = property;
      requestPathways();
    },
    /** The editable state, to restore after the UI is rebuilt. */
    state: () => ({ config: $("config").value, seed: $("seed").value, pathwayProperty: $("pathway-property").value }),
    results: () => lastResult,
    /** Each parameterized edges file of the last run, by its path in the circuit. */
    edges: () => lastResult?.edges ?? {},
    /** The last run's whole parameterized circuit as a zip Blob. */
    zip() {
      return client.call("zip").then((data) => data.blob);
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
