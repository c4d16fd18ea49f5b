// Main thread of the page: sends the circuit and model to the worker, shows progress, a summary,
// histograms and downloads; Cancel stops the worker. Built into www/dist/page.js by esbuild.
import { propertyFigure } from "./plots.js";

const $ = (id) => document.getElementById(id);
const format = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(4));
const config = await (await fetch(new URL("../presets/seed_example.json", import.meta.url))).text();
let worker = null;
let lastRun = null;

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => handlers[data.type]?.(data);
}

function setRunning(running) {
  $("run").disabled = running;
  $("cancel").disabled = !running;
}

$("run").addEventListener("click", () => {
  setRunning(true);
  $("status").textContent = "running…";
  $("status").className = "";
  $("progress").value = 0;
  const chosen = [...$("files").files];
  const seed = Number($("seed").value);
  lastRun = { seed, config };
  if (chosen.length) {
    // File objects go to the worker as they are: it mounts them with WORKERFS.
    worker.postMessage({ type: "run", files: Object.fromEntries(chosen.map((f) => [f.name, f])), config, seed });
    return;
  }
  const circuitUrl = new URL(new URLSearchParams(location.search).get("circuit") ?? "examples/synaptome/circuit_config.json", location.href).href;
  worker.postMessage({ type: "run", circuitUrl, config, seed });
});

$("cancel").addEventListener("click", () => {
  worker.terminate();
  startWorker();
  setRunning(false);
  $("status").textContent = "cancelled";
  $("status").className = "";
});

function download(name, blob) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
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

const handlers = {
  circuit(data) {
    $("circuit").textContent = data.edgePopulations.map((e) => `${e.name}: ${e.source} → ${e.target}, ${e.size} synapses`).join("; ");
    $("circuit").dataset.storage = JSON.stringify(data.storage);
  },
  progress(data) {
    $("progress").max = data.total;
    $("progress").value = data.done;
  },
  error(data) {
    setRunning(false);
    $("status").textContent = `${data.name}: ${data.message}`;
    $("status").className = "error";
  },
  result(data) {
    setRunning(false);
    const rows = data.populations.flatMap((population) => population.stats.flatMap((property) => property.pathways.map((p) =>
      `<tr><td>${property.property}</td><td>${p.source} → ${p.target}</td><td>${p.count}</td><td>${format(p.mean)}</td>` +
      `<td>${format(p.std)}</td><td>${format(p.min)}</td><td>${format(p.max)}</td><td>${format(p.theoretical_mean)}</td><td>${format(p.theoretical_std)}</td></tr>`)));
    document.querySelector("#results tbody").innerHTML = rows.join("");
    $("results").hidden = false;
    $("histograms").replaceChildren(...data.populations.flatMap((population) => population.stats.map(propertyFigure)));
    const task = { ...JSON.parse(lastRun.config), random_seed: lastRun.seed };
    $("downloads").replaceChildren(
      ...data.outputs.map((o) => download(o.fileName.split("/").pop(), new Blob([o.bytes], { type: "application/x-hdf5" }))),
      download("summary.csv", new Blob([summaryCsv(data.populations)], { type: "text/csv" })),
      download("config.json", new Blob([JSON.stringify(task, null, 2)], { type: "application/json" })),
    );
    const synapses = data.populations.reduce((sum, p) => sum + p.size, 0);
    $("status").textContent = `${synapses} synapses in ${data.seconds.toFixed(2)} s` + (data.warnings.length ? ` — ${data.warnings.join("; ")}` : "");
  },
};

startWorker();
