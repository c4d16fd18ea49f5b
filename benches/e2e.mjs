// End to end on a generated network (issue 13): the command, the page in headless Chromium, a
// vectorized numpy baseline and the floor (cp of the edges file + the engine's own time for the
// draws), on the same circuit, in one run; prints a table with ratios and writes
// benches/out/e2e.json. `make bench-e2e` (10 M synapses); `make bench-page-37m` adds the 37 M one.
//
//   node benches/e2e.mjs [--synapses 10000000] [--runs 3] [--skip-page] [--page-only]
import { mkdtemp, readFile, rm, writeFile, stat, readdir } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initSync, Parameterizer } from "../pkg/synparam.js";
import { runWorkloads } from "./wasm_workloads.mjs";
import { openBrowser } from "../tests/node/browser.mjs";
import { argument, best, commandRun, ensureNetwork, median, root, run, timed } from "./command_runs.mjs";

const synapses = Number(argument("--synapses", 10_000_000));
const runs = Number(argument("--runs", 3));
const skipPage = process.argv.includes("--skip-page");
const pageOnly = process.argv.includes("--page-only");
const circuit = join(root, `benches/out/net${synapses / 1e6}m`);
const preset = join(root, "www/presets/tsodyks_markram.json");
/** The phases of a run between creating the datasets and closing the file: reading ids, drawing
 * (or waiting for the draw workers), counting connections, writing. */
const DRAW_PHASES = ["draw and write", "read edge chunks", "count connections", "write blocks", "write columns"];

/** The engine's own time for the draws of this circuit: the Tsodyks–Markram model on its very
 * edges and pathways (synapse_class), chunks of 1,000,000 read beforehand, Arrow IPC in and out,
 * in Node (what the command runs) — best of `runs`. */
async function engineOnCircuitSeconds() {
  const { initialize, openCircuit } = await import("../www/host/node.mjs");
  const { edgeChunks, closeCircuit } = await import("../www/sonata/loader.js");
  const { pathwayColumnsOf } = await import("../www/run/parameterize.js");
  const { Parameterizer: Core } = await import("../pkg/synparam.js");
  await initialize();
  const { circuit: loaded } = await openCircuit(join(circuit, "circuit_config.json"));
  try {
    const config = JSON.stringify({ random_seed: 1, pathway_param_dict: JSON.parse(readFileSync(preset, "utf8")) });
    const times = [];
    for (const edges of loaded.edgePopulations.values()) {
      const { columns } = pathwayColumnsOf(loaded, edges, "synapse_class");
      const chunks = [...edgeChunks(edges, 1_000_000)].map((chunk) => chunk.ipc);
      for (let pass = 0; pass <= runs; pass++) {
        const core = new Core(config, 1);
        core.addEdgePopulation(edges.name, columns.source.population, columns.source.ipc, columns.target.population, columns.target.ipc, "synapse_class");
        core.countConnections = false;
        const started = performance.now();
        for (const ipc of chunks) core.runChunkView(edges.name, ipc);
        core.statistics();
        if (pass > 0) times.push((performance.now() - started) / 1000); // pass 0 warms up
        core.free();
      }
    }
    return best(times);
  } finally {
    closeCircuit(loaded);
  }
}

/** The same draws on generated edges (benches/workloads.json's layout: 4 synapses per
 * connection, half EXC): what `make bench` reports, for comparison. */
async function engineSeconds() {
  const wasm = await readFile(join(root, "pkg/synparam_bg.wasm"));
  const { memory } = initSync({ module: wasm });
  const spec = { chunk_size: 1_000_000, synapses_per_connection: 4, nodes: 100_000, workloads: [{ name: "TM", preset: "tsodyks_markram.json", synapses, classes: ["EXC", "INH"] }] };
  const [row] = await runWorkloads({ Parameterizer, memory, spec, readPreset: (name) => readFile(join(root, "www/presets", name), "utf8") });
  return row.seconds;
}

async function floor() {
  const work = await mkdtemp(join(tmpdir(), "synparam-e2e-"));
  const copies = [];
  for (let i = 0; i < runs; i++) {
    copies.push((await timed("cp", [join(circuit, "edges.h5"), join(work, `copy${i}.h5`)])).seconds);
    await rm(join(work, `copy${i}.h5`));
  }
  await rm(work, { recursive: true });
  const synthetic = [];
  for (let i = 0; i < runs; i++) synthetic.push(await engineSeconds());
  return { cp: best(copies), engine: await engineOnCircuitSeconds(), engineGenerated: best(synthetic) };
}

async function command(workers) {
  const config = join(tmpdir(), "synparam-e2e-task.json");
  await writeFile(config, JSON.stringify({ random_seed: 1, pathway_param_dict: JSON.parse(readFileSync(preset, "utf8")) }));
  const circuitConfig = join(circuit, "circuit_config.json");
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await commandRun({ circuit: circuitConfig, config, workers }));
  // One more, its phases (wall clock) for the profile.
  const { phases } = await commandRun({ circuit: circuitConfig, config, workers });
  return { seconds: best(results.map((r) => r.seconds)), median: median(results.map((r) => r.seconds)), peakMB: Math.max(...results.map((r) => r.peakKB)) / 1024, phases };
}

async function numpy() {
  const times = [];
  for (let i = 0; i < Math.min(runs, 2); i++) {
    const out = join(tmpdir(), `synparam-numpy-${process.pid}.h5`);
    times.push((await timed(join(root, ".venv/bin/python"), [join(root, "benches/numpy_baseline.py"), circuit, out, "--model", preset])).seconds);
    await rm(out, { force: true });
  }
  return best(times);
}

/** Peak RSS (MB) of Chromium's renderer processes and of all its processes, polled. */
function chromiumMemory() {
  let renderer = 0;
  let all = 0;
  const poll = async () => {
    const { stdout } = await run("ps", ["-C", "chromium", "-o", "rss=,args="], { maxBuffer: 16 << 20 }).catch(() => ({ stdout: "" }));
    let sum = 0;
    for (const line of stdout.trim().split("\n").filter(Boolean)) {
      const rss = Number(line.trim().split(/\s+/)[0]) / 1024;
      sum += rss;
      if (/--type=renderer/.test(line)) renderer = Math.max(renderer, rss);
    }
    all = Math.max(all, sum);
  };
  const timer = setInterval(poll, 100);
  return { stop: async () => { clearInterval(timer); await poll(); return { renderer, all }; } };
}

async function page() {
  const browser = await openBrowser();
  try {
    const p = await browser.context.newPage();
    await p.addInitScript(() => {
      globalThis.__longTasks = [];
      new PerformanceObserver((list) => { for (const entry of list.getEntries()) globalThis.__longTasks.push({ at: entry.startTime, ms: entry.duration }); }).observe({ type: "longtask", buffered: true });
    });
    await p.goto(browser.base);
    await p.waitForSelector("body[data-ready='true']");
    await p.setInputFiles("#folder", circuit);
    await p.waitForFunction(() => /cortex__cortex__chemical/.test(document.getElementById("circuit").textContent), null, { timeout: 120_000 });
    await p.fill("#config", JSON.stringify({ random_seed: 1, pathway_property: "synapse_class", pathway_param_dict: JSON.parse(readFileSync(preset, "utf8")) }));
    await p.fill("#seed", "1");
    await p.waitForFunction(() => /valid/.test(document.getElementById("config-status").textContent));
    await p.evaluate(() => { globalThis.__longTasks = []; });
    const memory = chromiumMemory();
    const started = performance.now();
    const pageStarted = await p.evaluate(() => performance.now());
    await p.click("#run");
    await p.waitForFunction(() => /synapses in|Error/.test(document.getElementById("status").textContent), null, { timeout: 600_000, polling: 100 });
    const results = (performance.now() - started) / 1000;
    const status = await p.textContent("#status");
    const workerTimings = JSON.parse(await p.getAttribute("#status", "data-timings") ?? "{}");
    if (/Error/.test(status)) throw new Error(status);
    await p.waitForSelector("#histograms[data-complete='true']", { timeout: 120_000 });
    const figures = (performance.now() - started) / 1000;
    const [download] = await Promise.all([p.waitForEvent("download", { timeout: 600_000 }), p.click("#zip")]);
    const zipPath = join(tmpdir(), `synparam-e2e-${process.pid}.zip`);
    await download.saveAs(zipPath);
    const zipped = (performance.now() - started) / 1000;
    const zipTimings = JSON.parse(await p.getAttribute("#status", "data-zip-timings") ?? "{}");
    const zipMB = (await stat(zipPath)).size / 1e6;
    if (process.env.KEEP_ZIP) console.error(`zip kept at ${zipPath}`); else await rm(zipPath);
    const longTasks = (await p.evaluate(() => globalThis.__longTasks)).map((t) => ({ at: (t.at - pageStarted) / 1000, ms: t.ms }));
    const peaks = await memory.stop();
    return { results, workerTimings, zipTimings, figures, zipped, zipMB, longestTaskMs: Math.max(0, ...longTasks.map((t) => t.ms)), longTasks, rendererMB: peaks.renderer, allChromiumMB: peaks.all };
  } finally {
    await browser.close();
  }
}

const size = await ensureNetwork(circuit, synapses);
const report = { synapses, edgesMB: size / 1e6, runs, machine: `${(await readFile("/proc/cpuinfo", "utf8")).match(/model name\s*:\s*(.*)/)?.[1]} × ${(await readdir("/sys/devices/system/cpu")).filter((d) => /^cpu\d+$/.test(d)).length}` };
if (!pageOnly) {
  report.floor = await floor();
  report.floor.total = report.floor.cp + report.floor.engine;
  report.command1 = await command(1);
  report.command2 = await command(2);
  report.numpy = await numpy();
}
if (!skipPage) report.page = await page();
await writeFile(join(root, `benches/out/e2e-${synapses / 1e6}m.json`), `${JSON.stringify(report, null, 2)}\n`);

const f = (x) => (x === undefined ? "-" : x.toFixed(2));
console.log(`\n${synapses.toLocaleString("en")} synapses, edges.h5 ${report.edgesMB.toFixed(0)} MB, Tsodyks–Markram (10 properties); ${report.machine}; best of ${runs}`);
if (report.floor) {
  console.log(`floor: cp ${f(report.floor.cp)} s + engine ${f(report.floor.engine)} s = ${f(report.floor.total)} s (the engine on generated edges, as make bench: ${f(report.floor.engineGenerated)} s)`);
  for (const [label, c] of [["command, 1 worker", report.command1], ["command, 2 workers", report.command2]]) {
    console.log(`${label}: ${f(c.seconds)} s (median ${f(c.median)}), peak RSS ${c.peakMB.toFixed(0)} MB — ${f(c.seconds / report.floor.total)}× the floor, ${f(report.numpy / c.seconds)}× faster than numpy`);
  }
  const drawPhase = (phases) => DRAW_PHASES.reduce((sum, name) => sum + (phases[name] ?? 0), 0);
  const [draw1, draw2] = [drawPhase(report.command1.phases), drawPhase(report.command2.phases)];
  console.log(`draw phase (${DRAW_PHASES.join(" + ")}): ${f(draw1)} s → ${f(draw2)} s with 2 workers (${f(draw1 / draw2)}×)`);
  console.log(`numpy baseline: ${f(report.numpy)} s`);
}
if (report.page) {
  const p = report.page;
  console.log(`page worker phases: ${JSON.stringify(p.workerTimings)}`);
  console.log(`page zip phases: ${JSON.stringify(p.zipTimings)}`);
  console.log(`main-thread tasks over 50 ms (s after the click: ms): ${p.longTasks.map((t) => `${t.at.toFixed(1)}: ${t.ms.toFixed(0)}`).join(", ") || "none"}`);
  console.log(`page: results ${f(p.results)} s, histograms ${f(p.figures)} s, zip (${p.zipMB.toFixed(0)} MB) ${f(p.zipped)} s${report.command2 ? ` — results ${f(p.results / report.command2.seconds)}× the command` : ""}; longest main-thread task ${p.longestTaskMs.toFixed(0)} ms; renderer peak ${p.rendererMB.toFixed(0)} MB, all Chromium ${p.allChromiumMB.toFixed(0)} MB`);
}
