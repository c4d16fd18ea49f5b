// The run bar and the results: Parameterize and Cancel, the progress and the status line, the
// run queue (runs and zips in the order asked), the results view and the zip of the parameterized
// circuit. The worker runs; this shows.
import { mountResults } from "./results_view.js";
import { mountScanView, scanLine } from "./scan_view.js";
import { reproduction } from "./reproduce.js";
import { resultsOf } from "../run/results.js";
import { errorData } from "../run/protocol.js";
import { focusPopulationFallback } from "./fallback_field.js";

// Long by design: the panel's closure holds its state, shared by the short functions inside it
// (each one a unit to read); splitting it would pass that state around instead.
/**
 * Mount the run bar and the results. `call(method, args, options)`: the worker; `settings`: the
 * settings panel (snapshot, planOf); `circuit`: the circuit panel (its message); `download(name,
 * blob)`: a download link; `emit(type, detail)`: the host's events; `onCancel()`: the worker was
 * stopped and must be started again; `onResult()`: a run's results are about to be shown. Returns
 * the panel's controller (see the object at the end).
 */
export function mountRun({ $, container, call, settings, circuit, download, emit, onCancel, onResult = () => {} }) {
  let lastResult = null; // the last run's results as hosts get them (resultsOf)
  let restriction = null; // edge populations runs are restricted to: a sidecar's, or chosen here
  let populationsChosenHere = false;
  let runs = Promise.resolve(); // runs (and zips after them) in the order asked

  let running = false;
  let blocked = null; // why a run would be refused now (the model, the circuit), or null
  let plan = null; // the last validation's check against the circuit: {populations, existing, problems}
  function setRunning(now) {
    running = now;
    $("run").disabled = running || Boolean(blocked);
    $("rerun-changes").disabled = running || Boolean(blocked);
    $("cancel").disabled = !running;
  }

  /** Show what a run would do with each edge population, and why it would be refused, from the
   * core's validation (`{plan}` or `{error}`); Parameterize is enabled only when a run can go. */
  function showPlan({ plan: validated, error }) {
    plan = validated?.circuit ?? null;
    // A scan config: Parameterize runs every point (the core's plan, said here).
    const scan = error ? null : validated?.scan ?? null;
    $("scan-plan").hidden = !scan;
    $("scan-plan").textContent = scan ? `${scanLine(scan)} — Parameterize runs every point; each is checked before any is drawn` : "";
    const problems = plan?.problems ?? [];
    blocked = error ? `the model is not valid — ${error.name}: ${error.message}` : problems.length ? problems.join("; ") : null;
    $("run-blocked").hidden = !blocked;
    $("run-blocked").textContent = blocked ? `Cannot parameterize: ${blocked}` : "";
    setRunning(running);
    if (!blocked && $("status").dataset.kind === "error") status(""); // its cause is gone
    showPopulations(validated?.settings?.overwrite?.value ?? false);
  }

  /** One line per edge population: parameterized, skipped (why, and a remedy), refused; and the
   * properties the populations already hold, with Overwrite offered when a run would refuse. */
  function showPopulations(overwrite) {
    const list = $("run-plan");
    const populations = plan?.populations ?? [];
    const existing = plan?.existing ?? [];
    list.hidden = !populations.length;
    const button = (text, title, action) => {
      const b = Object.assign(document.createElement("button"), { type: "button", textContent: text, title });
      b.addEventListener("click", action);
      return b;
    };
    // The chooser: which edge populations a run takes (several, or some that cannot be loaded).
    const loadable = populations.map((p) => p.name);
    const unloadable = (plan?.problems ?? []).some((problem) => /cannot be loaded/.test(problem));
    const choosing = populations.length > 1 || unloadable || restriction !== null;
    const choose = (names) => {
      restriction = names;
      populationsChosenHere = true;
      settings.validateSoon();
    };
    const items = populations.map((p) => {
      const item = Object.assign(document.createElement("li"), { textContent: `${p.name}: ${p.synapses.toLocaleString("en")} synapses ${p.status}${p.reason ? ` — ${p.reason}` : ""}` });
      item.dataset.status = p.status;
      item.dataset.population = p.name;
      if (choosing) {
        const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: p.status !== "not asked" });
        box.setAttribute("aria-label", `include ${p.name} in the run`);
        box.addEventListener("change", () => {
          const kept = [...list.querySelectorAll("input[type=checkbox][data-population]")].filter((b) => b.checked).map((b) => b.dataset.population);
          choose(kept.length === loadable.length && !unloadable ? null : kept);
        });
        box.dataset.population = p.name;
        item.prepend(box);
      }
      if (p.status === "skipped") {
        const nodes = p.lacking?.nodes;
        item.append(button(nodes ? `a fallback value for ${nodes}…` : "set a fallback value…", `give ${nodes ? `${nodes}'s` : "these"} nodes, which lack the pathway property, a value of their own (their synapses are then parameterized; other populations are not changed)`, () => {
          if (nodes) focusPopulationFallback($, nodes);
          else {
            $("fallback").scrollIntoView({ block: "center" });
            $("fallback").focus();
          }
        }));
      }
      return item;
    });
    if (existing.length) {
      const names = [...new Set(existing.flatMap((e) => e.properties))];
      const all = existing.length === populations.filter((p) => p.status === "parameterized").length;
      const item = Object.assign(document.createElement("li"), {
        textContent: `${all && existing.length > 1 ? `all ${existing.length} populations` : existing.map((e) => e.population).join(", ")} already hold${existing.length === 1 ? "s" : ""} ${names.join(", ")}` +
          (overwrite ? ": the run overwrites them" : ""),
      });
      item.dataset.status = overwrite ? "overwritten" : "refused";
      item.id = "run-existing";
      if (!overwrite) item.append(button("overwrite them", "replace the values these edges files hold (the inputs are never modified: the output is a copy)", () => settings.override({ overwrite: true }, "here")));
      items.push(item);
    }
    if (unloadable && restriction === null && loadable.length) {
      const item = document.createElement("li");
      item.append(button(`run only the populations that can be loaded (${loadable.join(", ")})`, "leave out the edge populations that cannot be loaded (listed in the circuit box)", () => choose(loadable)));
      item.dataset.status = "choice";
      items.push(item);
    }
    list.replaceChildren(...items);
  }

  /** The run's skipped populations the user has not yet agreed to leave: asks, then runs. */
  async function runAsked() {
    await settings.settled();
    if (blocked || running) return;
    const skipped = (plan?.populations ?? []).filter((p) => p.status === "skipped");
    if (!skipped.length) return run().catch(() => { /* shown in the status line */ });
    $("skip-confirm-list").replaceChildren(...skipped.map((p) => Object.assign(document.createElement("li"), { textContent: `${p.name}: ${p.synapses.toLocaleString("en")} synapses — ${p.reason}` })));
    $("skip-confirm").showModal();
    $("skip-confirm-run").focus();
  }
  $("skip-confirm-run").addEventListener("click", () => {
    $("skip-confirm").close();
    run().catch(() => { /* shown in the status line */ });
  });
  $("skip-confirm-cancel").addEventListener("click", () => $("skip-confirm").close());

  /** Say `text` in the status line (`error`: as an error). */
  function status(text, { error = false } = {}) {
    $("status").textContent = text;
    $("status").className = error ? "error" : "";
    $("status").dataset.kind = error ? "error" : "";
  }

  function showError(error) {
    setRunning(false);
    emit("error", error);
    if ($("zip")) $("zip").disabled = false;
    status(`${error.name}: ${error.message}`, { error: true });
  }

  function showProgress(data) {
    // A scan's point (`point` of `points`): the bar spans every point, the status names it.
    const points = data.points ?? 1;
    const point = data.point ?? 0;
    $("progress").max = data.total * points;
    $("progress").value = point * data.total + data.done;
    if (data.points) status(`running scan point ${point + 1} of ${points}…`);
    emit("progress", { done: data.done, total: data.total, ...(data.points ? { point, points } : {}) });
  }

  const scanView = mountScanView({
    $, download,
    zipOf: (point) => {
      const what = point === null ? "every scan point" : `scan point ${point}`;
      status(`building the zip of ${what}…`);
      return call("zip", point === null ? { all: true } : { point }).then((data) => {
        status(`zip of ${what} ready (${(data.blob.size / 1e6).toFixed(1)} MB)` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : ""));
        return data.blob;
      }, (error) => {
        if (error.name !== "AbortError") showError(errorData(error));
        throw error;
      });
    },
  });

  /** A scan's points on view (the normal results hidden). */
  function showScan(data) {
    setRunning(false);
    onResult();
    results.clear();
    $("results-none").hidden = true;
    const synapses = data.points[0]?.populations.reduce((sum, p) => sum + p.size, 0) ?? 0;
    const seconds = data.points.reduce((sum, p) => sum + p.seconds, 0);
    const warnings = [...new Set(data.points.flatMap((p) => p.warnings))];
    status(`scan of ${data.points.length} points, ${synapses} synapses each, in ${seconds.toFixed(2)} s` + (warnings.length ? ` — ${warnings.join("; ")}` : ""));
    emit("result", { scan: data.scan, points: data.points.map((p) => ({ point: p.point, stats: p.populations.map(({ name, stats }) => ({ name, stats })) })) });
    return scanView.show(data.scan, data.points);
  }

  const results = mountResults({
    $, table: container.querySelector("#results tbody"), download,
    /** The drawn columns of a population of the last run, drawn again by the worker when asked. */
    columnsOf: (population) => {
      $("status").textContent = `drawing the columns of ${population} for the download…`;
      return call("columns", { population }, { onProgress: showProgress }).then(({ file }) => {
        $("status").textContent = `columns of ${population} ready`;
        return file;
      }, (error) => {
        if (error.name !== "AbortError") showError(errorData(error));
        throw error;
      });
    },
  });

  function showZip(data) {
    const link = download("parameterized_circuit.zip", data.blob);
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    $("zip").disabled = false;
    $("status").dataset.zipTimings = JSON.stringify(data.timings ?? {});
    $("status").textContent = `zip of the parameterized circuit ready (${(data.blob.size / 1e6).toFixed(1)} MB)` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
    // This zip's sidecar names its run: edits of the model can now run as a change of it.
    $("rerun-changes").hidden = false;
  }

  function zipButton() {
    const button = Object.assign(document.createElement("button"), { id: "zip", type: "button", textContent: "parameterized circuit (.zip)" });
    button.addEventListener("click", () => {
      button.disabled = true;
      $("status").textContent = "building the zip…";
      call("zip").then(showZip, (error) => {
        button.disabled = false;
        if (error.name !== "AbortError") showError(errorData(error));
      });
    });
    return button;
  }

  /** The run as the command and as Python, with the model to save beside them. */
  function reproduceBlock(data, config, strict) {
    const rules = data.pathwayProperty === "rules"; // compiled rules: they class the nodes themselves
    let model = config;
    try { model = JSON.stringify(JSON.parse(config), null, 2); } catch { /* a recipe in XML stays text */ }
    const name = model.trimStart().startsWith("<") ? "model.xml" : "model.json";
    const lines = reproduction({
      settings: { seed: data.seed, pathwayProperty: rules ? null : data.pathwayProperty, fallback: rules ? null : data.fallback, overwrite: data.overwrite, populations: data.requested },
      strict, model: name,
    });
    const block = Object.assign(document.createElement("details"), { id: "reproduce" });
    block.append(Object.assign(document.createElement("summary"), { textContent: "Redo this run elsewhere (command, Python)" }));
    const modelLink = download(name, new Blob([model], { type: name.endsWith(".xml") ? "application/xml" : "application/json" }));
    const note = Object.assign(document.createElement("p"), { className: "note", textContent: `Save the model as ${name} beside them (it downloads with a copy); replace circuit/circuit_config.json with your circuit's. The same bits come out.` });
    block.append(note);
    for (const [kind, label, text] of [["command", "Copy as command", lines.command], ["python", "Copy as Python", lines.python]]) {
      const pre = Object.assign(document.createElement("pre"), { id: `reproduce-${kind}`, textContent: text });
      const copy = Object.assign(document.createElement("button"), { type: "button", id: `copy-${kind}`, textContent: label });
      copy.addEventListener("click", async () => {
        modelLink.click();
        try {
          await navigator.clipboard.writeText(text);
          status(`${label.replace("Copy as", "copied as")}; ${name} downloaded to save beside it`);
        } catch {
          status(`the clipboard is not available here: select the text under "${label}" and copy it`);
        }
      });
      block.append(copy, pre);
    }
    block.append(modelLink);
    return block;
  }

  function showResult(data, detail, config, strict) {
    setRunning(false);
    onResult();
    results.show(data, detail, { configText: config, zipButton: zipButton(), extras: [reproduceBlock(data, config, strict)] });
    // Stacked (narrow) layout: the results are below the controls; bring them into view.
    // (At the next frame: its layout is needed then anyway, not forced in this task.)
    const pane = $("results-pane");
    (globalThis.requestAnimationFrame ?? setTimeout)(() => {
      if (pane.getBoundingClientRect().top > (globalThis.innerHeight ?? 0)) pane.scrollIntoView({ block: "start" });
    });
    const synapses = data.populations.reduce((sum, p) => sum + p.size, 0);
    const change = data.parent ? ` — a change of the run of the last zip (${changeWords(data.parent.changes)}; its sidecar names that run)` : "";
    $("status").textContent = `${synapses} synapses in ${data.seconds.toFixed(2)} s${change}` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
    // Where the worker spent the time, for benchmarks and the curious (design §6).
    $("status").dataset.timings = JSON.stringify({ ...data.timings, workers: data.workers, storage: data.storage });
    emit("result", { stats: detail.stats, warnings: detail.warnings, seconds: data.seconds, seed: data.seed, pathwayProperty: data.pathwayProperty, settings: data.settings, edgeFiles: Object.keys(detail.edges) });
  }

  /** What a change changes, in words (the core's `changes`). */
  function changeWords(changes) {
    if (changes.kind === "everything") return `everything: ${changes.reasons.join(", ")}`;
    const cells = changes.changed.map((c) => `${c.property} ${c.source ?? "*"} → ${c.target ?? "*"}`);
    if (!cells.length) return "nothing drawn differently";
    return cells.length > 4 ? `${cells.slice(0, 4).join(", ")} and ${cells.length - 4} more` : cells.join(", ");
  }

  async function runNow(asked, { tables = false, method = "run" } = {}) {
    setRunning(true);
    status("running…");
    $("progress").value = 0;
    try {
      const { config, overrides, plan: validated } = await settings.planOf(asked);
      if (validated.scan && method === "run") {
        // The last scan's view (its zip buttons name its points) goes before the worker's points change.
        scanView.clear();
        const request = { ...asked.circuit, config, ...overrides, strict: asked.strict, populations: asked.populations ?? overrides.populations };
        showScan(await call("runScan", request, { onProgress: showProgress }));
        lastResult = null;
        return null;
      }
      scanView.clear();
      // The page itself draws the Arrow columns only when they are asked for (a download); a host's
      // run (tables) gets them with the run.
      const request = { ...asked.circuit, config, ...overrides, strict: asked.strict, populations: asked.populations ?? overrides.populations, columns: tables !== false };
      const data = await call(method, request, { onProgress: showProgress });
      const detail = await resultsOf(data, { tables });
      lastResult = detail;
      showResult(data, detail, config, asked.strict);
      return detail;
    } catch (error) {
      if (error.name !== "AbortError") showError(errorData(error));
      throw error;
    }
  }

  /** Run with the current circuit and model. `tables`: whether the result carries the drawn
   * columns as Arrow tables (read from the worker's files: "auto" up to 2 M synapses; the page
   * itself never needs them). */
  function run(options) {
    const asked = { ...settings.snapshot(), circuit: circuit.message(), populations: restriction };
    const turn = runs.then(() => runNow(asked, options));
    runs = turn.catch(() => {});
    return turn;
  }
  $("run").addEventListener("click", () => runAsked());
  $("rerun-changes").addEventListener("click", async () => {
    await settings.settled();
    if (blocked || running) return;
    const asked = { ...settings.snapshot(), circuit: circuit.message(), populations: restriction };
    const turn = runs.then(() => runNow(asked, { method: "rerunChanges" }));
    runs = turn.catch(() => {});
    turn.catch(() => { /* shown in the status line */ });
  });

  $("cancel").addEventListener("click", () => {
    // Every pending request (the run, a zip) is rejected with an AbortError when the worker stops.
    onCancel();
    setRunning(false);
    if ($("zip")) $("zip").disabled = false;
    status("cancelled");
  });

  return {
    run,
    status,
    showError,
    /** The edge populations the next runs are restricted to (a sidecar's), or null for all. */
    restrictTo: (names) => { restriction = names ?? null; populationsChosenHere = false; },
    /** The edge populations runs are restricted to now (a sidecar's or chosen here), or null. */
    restriction: () => restriction,
    /** A new circuit: the populations chosen here for the previous one go (a sidecar's stay). */
    forgetChosenPopulations: () => { if (populationsChosenHere) { restriction = null; populationsChosenHere = false; } },
    /** The previous circuit's results go. */
    clear: () => { results.clear(); scanView.clear(); },
    /** Runs may start (the worker is up). */
    enable: () => setRunning(false),
    showPlan,
    results: () => lastResult,
    /** The last run's whole parameterized circuit as a zip Blob (after the runs asked before). */
    zip: () => runs.then(() => call("zip")).then((data) => data.blob),
  };
}
