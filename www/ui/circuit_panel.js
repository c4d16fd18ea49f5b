// The circuit panel: where the circuit comes from (a host's URL or files, chosen files, a chosen or
// dropped folder), its loading in the worker, the pathway property's choices and values, and the
// synapse matrix before a run. The worker owns the circuit; this keeps only what the page shows.
import { showCircuit, showPathwayMatrix } from "./circuit_view.js";
import { errorData } from "../run/protocol.js";
import { focusPopulationFallback, readFallback, shownFallbackFor } from "./fallback_field.js";

/** Names given to more than one of `files`. */
const duplicateNames = (files) => [...new Set(files.map((f) => f.name).filter((name, i, all) => all.indexOf(name) !== i))];

/** Files of a dropped folder entry, by path relative to its parent. */
async function entryFiles(entry, prefix = "") {
  if (entry.isFile) return [[prefix + entry.name, await new Promise((resolve, reject) => entry.file(resolve, reject))]];
  const reader = entry.createReader();
  const children = [];
  for (let batch; (batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject))).length;) children.push(...batch);
  const nested = await Promise.all(children.map((child) => entryFiles(child, `${prefix}${entry.name}/`)));
  return nested.flat();
}

// Long by design: the panel's closure holds its state, shared by the short functions inside it
// (each one a unit to read); splitting it would pass that state around instead.
/**
 * Mount the circuit panel. `call(method, args)`: the worker; `circuit`: the host's initial circuit
 * (`{circuitUrl, fetchInit}` or `{files}`, or null); `onUnloaded()`: the previous circuit's views
 * (counts, results) must go; `onLoaded(description)`: a circuit is shown; `onCounts(data)`: the
 * synapses per pathway before a run; `onError(error)`: a load or count failed.
 * Returns the panel's controller (see the object at the end).
 */
export function mountCircuit({ $, call, circuit, onUnloaded, onLoaded, onCounts, onError }) {
  let droppedFiles = null; // {relativePath: File} from the last drop or chosen folder
  let hostCircuit = circuit; // the circuit a host (or the page's URL) asked for
  let circuitKey = 0; // bumped for every newly chosen circuit: the worker reloads local files by it
  let choices = []; // the circuit's node properties as pathway properties, ranked (loader's pathwayPropertyChoices)
  let shown = false; // whether the worker holds a described circuit to count pathways of
  let loadTicket = 0;
  let pathwaysTicket = 0;

  /** Where the circuit comes from: dropped or chosen local files, else ?circuit=, else the example. */
  function message() {
    if (droppedFiles) return { files: droppedFiles, circuitKey };
    const chosen = [...$("files").files];
    // File objects go to the worker as they are: it mounts them with WORKERFS. Two chosen files of
    // one name (from different folders) would silently become one: the worker refuses them.
    if (chosen.length) return { files: Object.fromEntries(chosen.map((f) => [f.name, f])), circuitKey, duplicateNames: duplicateNames(chosen) };
    return hostCircuit?.files ? { ...hostCircuit, circuitKey } : hostCircuit ?? {};
  }

  /** An option's text: the property, its number of values, and the nodes without one. */
  function propertyLabel(name) {
    const choice = choices.find((c) => c.name === name);
    if (!choice) return shown ? `${name} (not in this circuit)` : name;
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

  /** The values a model needs for the chosen property: the circuit's, and the fallback values of
   * the populations whose nodes lack it. */
  function pathwayValues() {
    const property = $("pathway-property").value;
    const choice = choices.find((c) => c.name === property);
    const values = new Set(choice?.values ?? []);
    const fallback = readFallback($);
    const populations = choice ? Object.keys(choice.lacking) : [...new Set([...(typeof fallback === "object" && fallback ? Object.keys(fallback) : []), "*"])];
    for (const population of populations) {
      const value = shownFallbackFor(fallback, population);
      if (value) values.add(value);
    }
    return [...values].sort();
  }

  /** The chosen property's values, and which nodes lack it: they need a fallback value (one for
   * every population, or their population's own). */
  function showPathwayValues() {
    $("pathway-values").textContent = pathwayValues().join(", ");
    const property = $("pathway-property").value;
    const choice = choices.find((c) => c.name === property);
    $("fallback-values").replaceChildren(...(choice?.values ?? []).map((v) => new Option(v)));
    const lacking = Object.entries(choice?.lacking ?? {});
    const total = lacking.reduce((sum, [, n]) => sum + n, 0);
    const fallback = readFallback($);
    const note = $("pathway-lacking");
    note.hidden = !shown || !(total || !choice);
    if (note.hidden) {
      $("fallback").classList.remove("needed");
      return;
    }
    const uncovered = lacking.filter(([population]) => !shownFallbackFor(fallback, population));
    const every = shownFallbackFor(fallback, "*");
    const where = (entries) => entries.map(([population, n]) => `${population}: ${n}`).join(", ");
    const taken = [...new Set(lacking.map(([population]) => shownFallbackFor(fallback, population)))];
    note.textContent = !choice
      ? `No node of this circuit has '${property}': choose another pathway property${every ? `, or every synapse takes the fallback '${every}'` : ""}.`
      : !uncovered.length
        ? `${total} nodes have no '${property}' (${where(lacking)}): they take the fallback value ${taken.length === 1 ? `'${taken[0]}'` : `of their population (${lacking.map(([population]) => `${population}: '${shownFallbackFor(fallback, population)}'`).join(", ")})`}.`
        : `${uncovered.reduce((sum, [, n]) => sum + n, 0)} nodes have no '${property}' (${where(uncovered)}): give them a fallback value, or a run refuses their synapses.`;
    if (choice && lacking.length > 1) {
      for (const [population] of uncovered) {
        const remedy = Object.assign(document.createElement("button"), { type: "button", textContent: `a value for ${population}…`, title: `a fallback value for ${population}'s nodes only` });
        remedy.addEventListener("click", () => focusPopulationFallback($, population));
        note.append(" ", remedy);
      }
    }
    const needed = Boolean(uncovered.length) || (!choice && !every);
    note.className = needed ? "error" : "note";
    $("fallback").classList.toggle("needed", needed);
    $("fallback").setAttribute("aria-invalid", String(needed));
  }

  /** Count the synapses per pathway of the shown circuit with the chosen property and fallback. */
  function requestPathways() {
    if (!shown) return;
    const ticket = ++pathwaysTicket;
    call("pathways", { ...message(), property: $("pathway-property").value, fallback: readFallback($) ?? undefined }).then(
      (data) => {
        if (ticket !== pathwaysTicket) return;
        showPathwayMatrix($, data);
        onCounts(data);
      },
      (error) => ticket === pathwaysTicket && error.name !== "AbortError" && onError(errorData(error)));
  }

  /** The pathway property or the fallback changed: show its values and count again. */
  function pathwayChoiceChanged() {
    showPathwayValues();
    requestPathways();
  }

  function selectPathwayProperty(property) {
    const select = $("pathway-property");
    if (select.value === property) return;
    if (![...select.options].some((o) => o.value === property)) select.add(new Option(propertyLabel(property), property));
    select.value = property;
    pathwayChoiceChanged();
  }

  /** A described circuit from the worker: show it and its pathway properties. */
  function show(data) {
    showCircuit($, data);
    choices = data.pathwayProperties["*"];
    shown = true;
    // The core's setting stays (the config's, an override, or its default): never a silent
    // switch to another property; one this circuit lacks is said so.
    showPropertyOptions($("pathway-property").value || "synapse_class");
    pathwayChoiceChanged();
    onLoaded(data);
  }

  /** Load (or reload) the current circuit in the worker and show it. */
  function load() {
    const ticket = ++loadTicket;
    shown = false;
    pathwaysTicket++; // a count of the previous circuit still on its way is dropped
    // Every view shows the current circuit or nothing: the previous one's populations, matrix,
    // results, figures and downloads go (its zip could no longer be made).
    $("circuit").textContent = "loading the circuit…";
    delete $("circuit").dataset.state;
    $("nodes").textContent = "";
    $("unavailable").hidden = true;
    $("pathway-matrix").replaceChildren();
    $("pathway-lacking").hidden = true;
    $("preset-mapping").hidden = true;
    choices = [];
    onUnloaded();
    return call("load", message()).then(
      (description) => { if (ticket === loadTicket) show(description); },
      (error) => {
        if (ticket !== loadTicket || error.name === "AbortError") return;
        // The circuit box says why, not "loading…" forever.
        $("circuit").textContent = `The circuit could not be loaded — ${error.name}: ${error.message}`;
        $("circuit").dataset.state = "error";
        onError(errorData(error));
      });
  }

  function chooseFiles(files) {
    droppedFiles = files;
    circuitKey++;
    load();
  }

  /** Files of a chosen folder, by path relative to it (so circuit_config.json sits at the root). */
  $("folder").addEventListener("change", () => {
    const chosen = [...$("folder").files];
    if (chosen.length) chooseFiles(Object.fromEntries(chosen.map((f) => [f.webkitRelativePath.slice(f.webkitRelativePath.indexOf("/") + 1), f])));
  });
  $("files").addEventListener("change", () => chooseFiles(null));

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

  return {
    message,
    load,
    /** Whether a circuit is loaded and described. */
    shown: () => shown,
    /** Whether the page starts with a circuit to load (a host's or the URL's). */
    given: () => Boolean(message().circuitUrl || message().files),
    pathwayValues,
    /** Whether some node of the circuit has `name`. */
    hasProperty: (name) => choices.some((c) => c.name === name),
    pathwayChoiceChanged,
    selectPathwayProperty,
    /** A host's circuit replaces whatever was chosen: `{circuitUrl, fetchInit}` or `{files}`. */
    loadHostCircuit(source) {
      droppedFiles = null;
      $("files").value = "";
      $("folder").value = "";
      hostCircuit = source;
      circuitKey++;
      return load();
    },
  };
}
