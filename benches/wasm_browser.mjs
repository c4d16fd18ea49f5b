// The wasm benchmark's page script in Chromium (bundled with apache-arrow by wasm_throughput.mjs):
// runs the workloads on the served pkg/ and leaves the rows in `window.benchmarkRows`.
import { runWorkloads } from "./wasm_workloads.mjs";
import init, { Parameterizer } from "/pkg/synparam.js";

try {
  const wasm = await init({ module_or_path: "/pkg/synparam_bg.wasm" });
  const spec = await (await fetch("/benches/workloads.json")).json();
  const readPreset = async (name) => (await fetch(`/presets/${name}`)).text();
  window.benchmarkRows = await runWorkloads({ Parameterizer, memory: wasm.memory, spec, readPreset });
} catch (error) {
  window.benchmarkError = String(error?.stack ?? error);
}
