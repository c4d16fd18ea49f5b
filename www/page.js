// Main thread of the demo: sends the seed example to the worker, shows progress, a summary and
// histograms. Built into www/dist/demo.js by esbuild (make web).
import { propertyFigure } from "./plots.js";

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const config = await (await fetch(new URL("../presets/seed_example.json", import.meta.url))).text();
const $ = (id) => document.getElementById(id);
const format = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(4));

$("run").addEventListener("click", () => {
  $("run").disabled = true;
  $("status").textContent = "running…";
  $("status").className = "";
  const chosen = [...$("files").files];
  const seed = Number($("seed").value);
  if (chosen.length) {
    // File objects go to the worker as they are: it mounts them with WORKERFS.
    worker.postMessage({ type: "run", files: Object.fromEntries(chosen.map((f) => [f.name, f])), config, seed });
    return;
  }
  const circuitUrl = new URL(new URLSearchParams(location.search).get("circuit") ?? "examples/synaptome/circuit_config.json", location.href).href;
  worker.postMessage({ type: "run", circuitUrl, config, seed });
});

worker.onmessage = ({ data }) => {
  if (data.type === "circuit") {
    $("circuit").textContent = data.edgePopulations.map((e) => `${e.name}: ${e.source} → ${e.target}, ${e.size} synapses`).join("; ");
    $("circuit").dataset.storage = JSON.stringify(data.storage);
    return;
  }
  if (data.type === "progress") {
    $("progress").max = data.total;
    $("progress").value = data.done;
    return;
  }
  $("run").disabled = false;
  if (data.type === "error") {
    $("status").textContent = `${data.name}: ${data.message}`;
    $("status").className = "error";
    return;
  }
  const rows = data.stats.flatMap((property) => property.pathways.map((p) =>
    `<tr><td>${property.property}</td><td>${p.source} → ${p.target}</td><td>${p.count}</td><td>${format(p.mean)}</td>` +
    `<td>${format(p.std)}</td><td>${format(p.min)}</td><td>${format(p.max)}</td><td>${format(p.theoretical_mean)}</td><td>${format(p.theoretical_std)}</td></tr>`));
  document.querySelector("#results tbody").innerHTML = rows.join("");
  $("results").hidden = false;
  $("histograms").replaceChildren(...data.stats.map(propertyFigure));
  const synapses = data.stats[0].pathways.reduce((sum, p) => sum + p.count, 0);
  $("status").textContent = `${synapses} synapses in ${data.seconds.toFixed(2)} s`;
};
