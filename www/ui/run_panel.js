// The run bar and the results: Parameterize and Cancel, the progress and the status line, the
// run queue (runs and zips in the order asked), the results view and the zip of the parameterized
// circuit. The worker runs; this shows.
import { mountResults } from "./results_view.js";
import { resultsOf } from "../run/results.js";
import { errorData } from "../run/protocol.js";

/**
 * Mount the run bar and the results. `call(method, args, options)`: the worker; `settings`: the
 * settings panel (snapshot, planOf); `circuit`: the circuit panel (its message); `download(name,
 * blob)`: a download link; `emit(type, detail)`: the host's events; `onCancel()`: the worker was
 * stopped and must be started again. Returns the panel's controller (see the object at the end).
 */
export function mountRun({ $, container, call, settings, circuit, download, emit, onCancel }) {
  let lastResult = null; // the last run's results as hosts get them (resultsOf)
  let populations = null; // edge populations a loaded provenance sidecar restricts the run to
  let runs = Promise.resolve(); // runs (and zips after them) in the order asked

  function setRunning(running) {
    $("run").disabled = running;
    $("cancel").disabled = !running;
  }

  /** Say `text` in the status line (`error`: as an error). */
  function status(text, { error = false } = {}) {
    $("status").textContent = text;
    $("status").className = error ? "error" : "";
  }

  function showError(error) {
    setRunning(false);
    emit("error", error);
    if ($("zip")) $("zip").disabled = false;
    status(`${error.name}: ${error.message}`, { error: true });
  }

  function showProgress(data) {
    $("progress").max = data.total;
    $("progress").value = data.done;
    emit("progress", { done: data.done, total: data.total });
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

  function showResult(data, detail, config) {
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
  }

  async function runNow(asked, { tables = false } = {}) {
    setRunning(true);
    status("running…");
    $("progress").value = 0;
    try {
      const { config, overrides } = await settings.planOf(asked);
      // The page itself draws the Arrow columns only when they are asked for (a download); a host's
      // run (tables) gets them with the run.
      const request = { ...asked.circuit, config, ...overrides, strict: asked.strict, populations: asked.populations ?? overrides.populations, columns: tables !== false };
      const data = await call("run", request, { onProgress: showProgress });
      const detail = await resultsOf(data, { tables });
      lastResult = detail;
      showResult(data, detail, config);
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
    const asked = { ...settings.snapshot(), circuit: circuit.message(), populations };
    const turn = runs.then(() => runNow(asked, options));
    runs = turn.catch(() => {});
    return turn;
  }
  $("run").addEventListener("click", () => run().catch(() => { /* shown in the status line */ }));

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
    restrictTo: (names) => { populations = names ?? null; },
    /** The previous circuit's results go. */
    clear: () => results.clear(),
    /** Runs may start (the worker is up). */
    enable: () => { $("run").disabled = false; },
    results: () => lastResult,
    /** The last run's whole parameterized circuit as a zip Blob (after the runs asked before). */
    zip: () => runs.then(() => call("zip")).then((data) => data.blob),
  };
}
