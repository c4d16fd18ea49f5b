// What a distance-dependent delay costs end to end: the command (`--workers 2`, as the command row
// of e2e.mjs) on the 10 M-synapse network of `make bench-e2e` generated with `--geometry`
// (benches/make_network.py: float32 somata x/y/z, float32 afferent_center_x/y/z at tens of µm to
// ~1 mm from the presynaptic soma), with four models:
//   - as is: e2e.mjs's Tsodyks–Markram preset (10 properties; its delay a truncnorm per connection);
//   - lin_delay: the same with delay = lin_delay of distance_soma (reads afferent_center_x/y/z
//     with every chunk of ids, and the somata once);
//   - truncnorm per synapse: the same with delay = the preset's truncnorm, `shared_within: false`
//     (one draw per synapse, as lin_delay makes, without reading anything);
//   - without delay: the preset without delay (9 properties: what one more written property costs).
// Runs interleaved, the order rotated each round (A B C D, B C D A, …) after one untimed warm-up;
// prints every run, best, median, spread, synapses/s, peak RSS, the phases (--timings, median per
// phase) and the ratios to "as is" (of the medians, the bests, each round's, the command's CPU
// time; and of the runs during which other processes used next to no CPU: a shared machine); then,
// in one thread, where the time goes: reading the chunks without and with the attributes, the
// coordinator's connection count over them, and the core's draws of each model on chunks held in
// memory. Writes benches/out/delay-cost-<N>m.json. `make bench-delay`.
//
//   node benches/delay_cost.mjs [--synapses 10000000] [--runs 5] [--workers 2]
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argument, best, commandRun, ensureNetwork, median, root } from "./command_runs.mjs";

const synapses = Number(argument("--synapses", 10_000_000));
const runs = Number(argument("--runs", 5));
const workers = Number(argument("--workers", 2));
const network = join(root, `benches/out/net${synapses / 1e6}m-geometry`);
const circuit = join(network, "circuit_config.json");
const LIN_DELAY = { type: "lin_delay", delay_mean_coeff_a: 0.75, delay_mean_coeff_b: 0.003, delay_std: 0.5, delay_min: 0.2 };

/** The four models: the preset, and its delay replaced by `delay(spec)` of every pathway or left out. */
function models(preset) {
  const withDelay = (delay) => {
    const model = structuredClone(preset);
    if (delay) {
      for (const row of Object.values(model.prop_stats.delay)) for (const target of Object.keys(row)) row[target] = delay(row[target]);
    } else {
      delete model.prop_stats.delay;
    }
    return model;
  };
  return [
    { name: "as is", model: preset },
    { name: "lin_delay", model: withDelay(() => LIN_DELAY), reads: true },
    { name: "truncnorm per synapse", model: withDelay((spec) => ({ ...spec, shared_within: false })) },
    { name: "without delay", model: withDelay(null) },
  ];
}

/** Writes each model's task file; times the rows interleaved. */
async function measure(rows) {
  for (const [i, row] of rows.entries()) {
    row.config = join(tmpdir(), `synparam-delay-cost-${process.pid}-${i}.json`);
    await writeFile(row.config, JSON.stringify({ random_seed: 1, pathway_param_dict: row.model }));
    row.runs = [];
  }
  try {
    console.error("warm-up run (untimed) …");
    await commandRun({ circuit, config: rows[0].config, workers });
    for (let round = 0; round < runs; round++) {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[(round + k) % rows.length];
        const result = await commandRun({ circuit, config: row.config, workers });
        // The distance-dependent row must read the attributes, and only it.
        if (/reads per synapse:/.test(result.stdout) !== Boolean(row.reads)) throw new Error(`${row.name}: unexpected attribute reads in\n${result.stdout}`);
        row.runs.push({ round, seconds: result.seconds, peakMB: result.peakKB / 1024, cpu: result.cpu, othersCPU: result.othersCPU, phases: result.phases });
        console.error(`round ${round + 1}: ${row.name.padEnd(22)} ${result.seconds.toFixed(2)} s, ${(result.peakKB / 1024).toFixed(0)} MB, CPU ${result.cpu.toFixed(2)} s; other processes ${result.othersCPU.toFixed(2)} CPU s`);
      }
    }
  } finally {
    for (const row of rows) await rm(row.config, { force: true });
  }
}

/** A run is quiet when other processes used at most this share of one core meanwhile. */
const QUIET = 0.1;

/** Per row: best, median, spread, synapses/s, peak RSS, CPU, median phases; ratios to the first
 * row (of the medians, of the bests, the median of each round's ratio, of the CPU medians, and of
 * the medians of the quiet runs). */
function summarize(rows) {
  const [base] = rows;
  for (const row of rows) {
    const seconds = row.runs.map((r) => r.seconds);
    const names = [...new Set(row.runs.flatMap((r) => Object.keys(r.phases)))];
    const quiet = row.runs.filter((r) => r.othersCPU <= QUIET * r.seconds).map((r) => r.seconds);
    Object.assign(row, {
      best: best(seconds), median: median(seconds), spread: (Math.max(...seconds) - best(seconds)) / median(seconds),
      peakMB: Math.max(...row.runs.map((r) => r.peakMB)), cpu: median(row.runs.map((r) => r.cpu)), othersCPU: median(row.runs.map((r) => r.othersCPU)),
      quiet: { seconds: quiet, median: quiet.length ? median(quiet) : null },
      phases: Object.fromEntries(names.map((name) => [name, median(row.runs.map((r) => r.phases[name] ?? 0))])),
    });
    row.synapsesPerSecond = synapses / row.median;
  }
  for (const row of rows) {
    const perRound = (round) => row.runs.find((r) => r.round === round).seconds / base.runs.find((b) => b.round === round).seconds;
    row.ratio = {
      ofMedians: row.median / base.median, ofBests: row.best / base.best, roundMedian: median(row.runs.map((r) => perRound(r.round))),
      ofCPU: row.cpu / base.cpu, ofQuietMedians: row.quiet.median && base.quiet.median ? row.quiet.median / base.quiet.median : null,
    };
  }
}

/**
 * Where the time goes, in this thread (one core), best of `runs` after a warm-up: reading every
 * chunk as the command's coordinator reads it (edgeChunks with the group columns, chunks of
 * DEFAULT_CHUNK_SIZE), without and with the attributes lin_delay plans; the coordinator's
 * connection count over those chunks; and the core drawing them held in memory (runChunkView:
 * draws and statistics, connections not counted) for each model, the order rotated each pass.
 */
async function breakdown(rows) {
  const { initialize, openCircuit } = await import("../www/host/node.mjs");
  const { edgeChunks, closeCircuit } = await import("../www/sonata/loader.js");
  const { pathwayColumnsOf, planEdgeAttributes, DEFAULT_CHUNK_SIZE } = await import("../www/run/parameterize.js");
  const { Parameterizer } = await import("../pkg/synparam.js");
  await initialize();
  const { circuit: loaded } = await openCircuit(circuit);
  const made = []; // every core made here, freed at the end
  const newRun = (row) => {
    const run = new Parameterizer(JSON.stringify({ random_seed: 1, pathway_param_dict: row.model }), 1);
    made.push(run);
    run.addEdgePopulation(edges.name, columns.source.population, columns.source.ipc, columns.target.population, columns.target.ipc, "synapse_class");
    return { run, attributes: planEdgeAttributes(loaded, edges, run)?.datasets ?? [] };
  };
  const [edges] = loaded.edgePopulations.values();
  const { columns } = pathwayColumnsOf(loaded, edges, "synapse_class");
  try {
    const attributes = newRun(rows.find((row) => row.reads)).attributes;
    const passes = (work) => {
      const times = [];
      for (let pass = 0; pass <= runs; pass++) {
        const started = performance.now();
        work();
        if (pass > 0) times.push((performance.now() - started) / 1000); // pass 0 warms up
      }
      return best(times);
    };
    // Timed as the coordinator reads (each chunk dropped once used), then kept for the core.
    const read = (names) => () => {
      let bytes = 0;
      for (const chunk of edgeChunks(edges, DEFAULT_CHUNK_SIZE, { withGroups: true, attributes: names })) bytes += chunk.ipc.byteLength;
      return bytes;
    };
    const result = { chunkSize: DEFAULT_CHUNK_SIZE, attributes, read: { ids: passes(read([])), attributes: passes(read(attributes)) }, countConnections: {}, core: {} };
    const kept = (names) => [...edgeChunks(edges, DEFAULT_CHUNK_SIZE, { withGroups: true, attributes: names })].map((chunk) => chunk.ipc);
    const chunks = { ids: kept([]), attributes: kept(attributes) };
    for (const kind of ["ids", "attributes"]) {
      result.countConnections[kind] = passes(() => {
        const { run } = newRun(rows[0]);
        run.assumeSortedByTarget(edges.name);
        for (const ipc of chunks[kind]) run.countConnectionsOf(edges.name, ipc);
        made.pop().free();
      });
    }
    const times = new Map(rows.map((row) => [row.name, []]));
    for (let pass = 0; pass <= runs; pass++) {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[(pass + k) % rows.length];
        const { run, attributes: reads } = newRun(row);
        run.countConnections = false;
        const started = performance.now();
        for (const ipc of chunks[reads.length ? "attributes" : "ids"]) run.runChunkView(edges.name, ipc);
        run.statistics();
        if (pass > 0) times.get(row.name).push((performance.now() - started) / 1000);
      }
    }
    for (const [name, seconds] of times) result.core[name] = best(seconds);
    return result;
  } finally {
    for (const run of made) run.free();
    closeCircuit(loaded);
  }
}

const preset = JSON.parse(await readFile(join(root, "www/presets/tsodyks_markram.json"), "utf8"));
const size = await ensureNetwork(network, synapses, ["--geometry"]);
const rows = models(preset);
await measure(rows);
summarize(rows);
const where = await breakdown(rows);
for (const row of rows) {
  delete row.model;
  delete row.config;
}
const machine = `${(await readFile("/proc/cpuinfo", "utf8")).match(/model name\s*:\s*(.*)/)?.[1]} × ${(await readdir("/sys/devices/system/cpu")).filter((d) => /^cpu\d+$/.test(d)).length}`;
const report = { date: new Date().toISOString(), synapses, edgesMB: size / 1e6, runs, workers, machine, linDelay: LIN_DELAY, rows, breakdown: where };
await writeFile(join(root, `benches/out/delay-cost-${synapses / 1e6}m.json`), `${JSON.stringify(report, null, 2)}\n`);

const f = (x) => x.toFixed(2);
console.log(`\n${synapses.toLocaleString("en")} synapses (${network}, edges.h5 ${report.edgesMB.toFixed(0)} MB), the command with ${workers} workers; ${machine}; ${runs} interleaved runs`);
console.log("| model | runs (s) | best | median | spread | M synapses/s (median) | peak RSS | CPU (median) | others' CPU (median) | × as is: medians / bests / per round / CPU |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  const r = row.ratio;
  console.log(`| ${row.name} | ${row.runs.map((run) => f(run.seconds)).join(", ")} | ${f(row.best)} s | ${f(row.median)} s | ${(100 * row.spread).toFixed(0)} % | ${(row.synapsesPerSecond / 1e6).toFixed(2)} | ${row.peakMB.toFixed(0)} MB | ${f(row.cpu)} s | ${f(row.othersCPU)} s | ${f(r.ofMedians)} / ${f(r.ofBests)} / ${f(r.roundMedian)} / ${f(r.ofCPU)} |`);
}
console.log(`\nquiet runs (other processes under ${100 * QUIET} % of a core meanwhile):`);
for (const row of rows) console.log(`  ${row.name.padEnd(22)} ${row.quiet.seconds.length ? `${row.quiet.seconds.map(f).join(", ")} s, median ${f(row.quiet.median)} s${row.ratio.ofQuietMedians ? ` (× as is ${f(row.ratio.ofQuietMedians)})` : ""}` : "none"}`);
const phaseNames = [...new Set(rows.flatMap((row) => Object.keys(row.phases)))];
console.log(`\nphases, median of the runs (s):\n${"".padEnd(24)}${rows.map((row) => row.name.padStart(24)).join("")}`);
for (const name of phaseNames) console.log(`${name.padEnd(24)}${rows.map((row) => (row.phases[name] === undefined ? "-" : f(row.phases[name])).padStart(24)).join("")}`);
console.log(`\nwhere the time goes, in one thread (best of ${runs}; chunks of ${where.chunkSize.toLocaleString("en")}, as the command):`);
console.log(`  reading the chunks: ids and groups ${f(where.read.ids)} s; with ${where.attributes.join(", ")} ${f(where.read.attributes)} s (+${f(where.read.attributes - where.read.ids)} s)`);
console.log(`  counting connections over them: ${f(where.countConnections.ids)} s; with the attributes in the chunks ${f(where.countConnections.attributes)} s`);
console.log(`  the core, draws and statistics: ${rows.map((row) => `${row.name} ${f(where.core[row.name])} s`).join(", ")}`);
