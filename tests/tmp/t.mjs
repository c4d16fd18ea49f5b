import h5wasm from "h5wasm/node";
import fs from "node:fs/promises"; import path from "node:path";
import { loadCircuit, nodeFileSource, pathwayPropertyChoices, pathwayValueClasses, closeCircuit } from "/work/main/www/sonata/loader.js";
await h5wasm.ready;
for (const dir of ["obi_one", "allen_v1", "network"]) {
  const src = nodeFileSource(`/work/main/tests/fixtures/out/${dir}`, fs, path);
  const circuit = await loadCircuit(h5wasm, src);
  const c = pathwayPropertyChoices(circuit)["*"];
  console.log(dir, c.map((x) => `${x.name}:${x.kind}:${x.distinct}:${x.shown}:${JSON.stringify(x.lacking)}`).join(" | "));
  for (const p of ["synapse_class", "mtype", "ei", "pop_name"]) console.log(" ", p, JSON.stringify(pathwayValueClasses(circuit, p, "virt")));
  closeCircuit(circuit);
}
