// The mock host platform's own script (www/embed.html): passes a circuit and a model to
// <synparam-panel>, drives it, and logs its events.
import "./dist/synparam.js";

// What a host passes: a circuit URL (with the platform's auth header, if any) and a model.
const model = {
  src_types: ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"],
  tgt_types: ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"],
  prop_stats: {
    conductance: Object.fromEntries(["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"].map((s) => [s, Object.fromEntries(
      ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"].map((t) => [t, { type: "gamma", mean: s === "inhibitory_neuron" ? 2 : 1, std: 0.5, shared_within: false }]))])),
  },
};
const panel = document.getElementById("panel");
const aside = panel.parentElement;
const log = document.getElementById("log");
const write = (line) => { log.textContent += `${line}\n`; };
for (const type of ["synparam-ready", "synparam-progress", "synparam-result", "synparam-error"]) {
  document.addEventListener(type, (event) => {
    const d = event.detail;
    const summary = type === "synparam-ready" ? d.edgePopulations.map((e) => `${e.name} (${e.size})`).join(", ")
      : type === "synparam-progress" ? `${d.done}/${d.total}`
      : type === "synparam-result" ? `${Object.values(d.stats).reduce((n, s) => n + s.synapses, 0)} synapses, seed ${d.seed}, files ${d.edgeFiles.join(", ")}`
      : `${d.name}: ${d.message}`;
    write(`${type}: ${summary}`);
  });
}
document.getElementById("open").addEventListener("click", () => {
  panel.config = model;
  panel.circuitUrl = document.getElementById("circuit-url").value;
});
document.getElementById("host-run").addEventListener("click", () => panel.run().then(
  (r) => write(`run() resolved: ${Object.keys(r.results).join(", ")}`), (e) => write(`run() rejected: ${e.message}`)));
document.getElementById("host-export").addEventListener("click", () => {
  for (const [path, blob] of Object.entries(panel.exportEdges())) write(`exportEdges(): ${path} ${blob.size} bytes`);
});
document.getElementById("toggle").addEventListener("click", () => {
  if (panel.isConnected) panel.remove(); else aside.append(panel);
});
