// Fitting a model (issue #25) against reading the columns it fits: on the benchmark network of
// `make bench-e2e` (benches/make_network.py) parameterized once with the Tsodyks–Markram preset
// (nine physiological properties beside `delay`, which the fit leaves out), times
//   - reading: every edge chunk's ids and the nine property columns, as the fit reads them (the
//     loader's edgeChunks + existingEdgeColumns, cut where the target changes), once;
//   - the core alone: each pass of the fit over those chunks held in memory (wasm, in Node);
//   - the command: `--fit` by synapse_class (4 pathways; 1 and 2 worker threads; 2 threads also
//     with SYNPARAM_FIT_KEEP_MB=0, every chunk read in every pass) and by mtype (36; 2 threads),
//     wall clock and peak RSS, with its phases (--timings);
//   - Python: synparam.fit in one process (when the wheel is installed in .venv).
// Prints a table and writes benches/out/fit-<N>m.json. `make bench-fit` (10 M synapses;
// FIT_SYNAPSES=1000000 for a quick run).
//
//   node benches/fit.mjs [--synapses 10000000] [--runs 3]
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { rm, writeFile, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { argument } from "./command_runs.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const synapses = Number(argument("--synapses", 10_000_000));
const runs = Number(argument("--runs", 3));
const label = `${synapses / 1e6}m`;
const network = join(root, `benches/out/net${label}`);
const circuit = join(root, `benches/out/fit${label}`);
const config = join(circuit, "circuit_config.json");
const cli = join(root, "www/host/cli.mjs");
const python = join(root, ".venv/bin/python");
const best = (values) => Math.min(...values);

/** Wall time and peak RSS (MB) of a command, by GNU time; its stdout. */
async function timed(command, args, env = {}) {
  const started = performance.now();
  const { stdout, stderr } = await run("/usr/bin/time", ["-f", "%M", command, ...args], { maxBuffer: 64 << 20, cwd: root, env: { ...process.env, ...env } });
  return { seconds: (performance.now() - started) / 1000, peakMB: Number(stderr.trim().split("\n").pop()) / 1024, stdout };
}

/** The network (generated once) parameterized once with the Tsodyks–Markram preset, seed 1. */
async function ensureCircuit() {
  if (!existsSync(join(network, "edges.h5"))) {
    console.error(`generating ${network} …`);
    await run(python, [join(root, "benches/make_network.py"), network, "--synapses", String(synapses)], { maxBuffer: 64 << 20 });
  }
  if (!existsSync(config)) {
    console.error(`parameterizing it into ${circuit} …`);
    const task = join(tmpdir(), `synparam-fit-bench-task-${process.pid}.json`);
    await writeFile(task, JSON.stringify({ random_seed: 1, pathway_param_dict: JSON.parse(await readFile(join(root, "www/presets/tsodyks_markram.json"), "utf8")) }));
    await run(process.execPath, [cli, "--circuit", join(network, "circuit_config.json"), "--config", task, "--out", circuit], { maxBuffer: 64 << 20 });
    await rm(task);
  }
}

/** Reading as the fit reads (one pass), and the core's passes over the chunks held in memory. */
async function readAndCore() {
  const { initialize, openCircuit } = await import("../www/host/node.mjs");
  const { edgeChunks, existingEdgeColumns, targetOrder, nodePropertyValues, pathwayColumnIpc, closeCircuit } = await import("../www/sonata/loader.js");
  const { Fitter } = await import("../pkg/synparam.js");
  await initialize();
  const { circuit: loaded } = await openCircuit(config);
  const edges = [...loaded.edgePopulations.values()][0];
  const names = ["conductance", "conductance_scale_factor", "decay_time", "depression_time", "facilitation_time", "n_rrp_vesicles", "syn_type_id", "u_hill_coefficient", "u_syn"];
  const rows = 1 << 18; // the core's DEFAULT_FIT_CHUNK_ROWS
  const reads = [];
  let chunks = null;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { starts } = targetOrder(loaded.edgePopulations.get(edges.name), rows);
    chunks = [];
    for (const chunk of edgeChunks(edges, rows, { starts })) {
      const columns = existingEdgeColumns(edges, names, chunk.start, chunk.end);
      const n = chunk.end - chunk.start;
      const values = new Float64Array(n * names.length);
      names.forEach((name, k) => values.set(columns[name], k * n));
      chunks.push({ ipc: chunk.ipc, values });
    }
    reads.push((performance.now() - started) / 1000);
  }
  const kinds = { n_rrp_vesicles: "int", syn_type_id: "int" };
  const settings = JSON.stringify({ properties: names.map((name) => ({ name, kind: kinds[name] ?? "float32" })) });
  const passes = [];
  for (let i = 0; i < runs; i++) {
    const fitter = new Fitter(settings, "synapse_class");
    const nodes = loaded.nodePopulations.get(edges.source);
    const column = pathwayColumnIpc(nodePropertyValues(nodes, "synapse_class"));
    fitter.addPopulation(edges.name, nodes.name, column, nodes.name, column);
    const times = [];
    while (fitter.nextPass() !== undefined) {
      const started = performance.now();
      const total = fitter.newState();
      for (const { ipc, values } of chunks) {
        const state = fitter.newState();
        fitter.addChunk(state, edges.name, ipc, values);
        total.merge(state);
        state.free();
      }
      fitter.finishPass(total);
      total.free();
      times.push((performance.now() - started) / 1000);
    }
    fitter.free();
    passes.push(times);
  }
  closeCircuit(loaded);
  const core = passes.reduce((a, b) => (a.reduce((x, y) => x + y) <= b.reduce((x, y) => x + y) ? a : b));
  return { read: best(reads), corePasses: core, core: core.reduce((a, b) => a + b, 0), chunks: chunks.length };
}

/** The command's --fit by `property` with `workers` threads (`keepMB`: SYNPARAM_FIT_KEEP_MB, the
 * chunks kept between passes; default the command's): best wall time, peak RSS, phases of the
 * best run. */
async function command(property, workers, keepMB = null) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const model = join(tmpdir(), `synparam-fit-bench-${process.pid}-${i}.json`);
    results.push(await timed(process.execPath, [cli, "--circuit", config, "--fit", model, "--pathway-property", property, "--workers", String(workers), "--timings"], keepMB === null ? {} : { SYNPARAM_FIT_KEEP_MB: String(keepMB) }));
    await rm(model);
  }
  const fastest = results.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const phases = Object.fromEntries(fastest.stdout.split("timings (wall clock):")[1].trim().split("\n").map((line) => [line.slice(0, 24).trim(), Number.parseFloat(line.slice(24))]));
  return { seconds: fastest.seconds, peakMB: Math.max(...results.map((r) => r.peakMB)), phases };
}

/** synparam.fit in one Python process (null without the wheel). */
async function pythonFit() {
  const script = `import time, synparam\nt = time.perf_counter()\nsynparam.fit(${JSON.stringify(config)}, "synapse_class")\nprint(time.perf_counter() - t)`;
  const times = [];
  for (let i = 0; i < runs; i++) {
    try {
      const { stdout } = await run(python, ["-c", script], { maxBuffer: 64 << 20 });
      times.push(Number(stdout.trim()));
    } catch {
      return null;
    }
  }
  return best(times);
}

await ensureCircuit();
const measured = { synapses, runs, ...(await readAndCore()) };
measured.commandByClassOneWorker = await command("synapse_class", 1);
measured.commandByClass = await command("synapse_class", 2);
measured.commandByClassReadTwice = await command("synapse_class", 2, 0);
measured.commandByMtype = await command("mtype", 2);
measured.python = await pythonFit();
const ratio = (x) => `${(x / measured.read).toFixed(1)}×`;
const fitPhases = (p) => (p["read and fit chunks"] ?? 0) + (p["fit chunks (workers)"] ?? 0);
const row = (name, seconds, more = "") => console.log(`  ${name.padEnd(46)} ${seconds.toFixed(2).padStart(6)} s  ${ratio(seconds).padStart(6)}${more}`);
console.log(`\nfitting ${synapses.toLocaleString("en")} synapses, 9 properties (best of ${runs}; ratios to reading the columns once)`);
row("reading ids + 9 columns, once", measured.read);
row(`the core's ${measured.corePasses.length} passes, chunks in memory`, measured.core, `   (${measured.corePasses.map((t) => t.toFixed(2)).join(" + ")} s)`);
for (const [name, result] of [["command --fit, by synapse_class, 1 thread", measured.commandByClassOneWorker], ["command --fit, by synapse_class, 2 threads", measured.commandByClass], ["… reading every pass (SYNPARAM_FIT_KEEP_MB=0)", measured.commandByClassReadTwice], ["command --fit, by mtype, 2 threads", measured.commandByMtype]]) {
  row(name, result.seconds, `   (passes ${fitPhases(result.phases).toFixed(2)} s, ${ratio(fitPhases(result.phases))}; ${result.peakMB.toFixed(0)} MB RSS)`);
}
if (measured.python !== null) row("synparam.fit (Python, one process)", measured.python);
await writeFile(join(root, `benches/out/fit-${label}.json`), `${JSON.stringify(measured, null, 2)}\n`);
