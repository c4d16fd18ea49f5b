// What a scan costs (issue #27's speed target: a 3-point scan of one property on the 10 M network
// costs at most 1.5× one run plus the writes it cannot avoid). On the network of `make
// bench-delay` (benches/make_network.py --geometry), with the Tsodyks–Markram preset, interleaved
// after one untimed warm-up:
//   - one run: the command (`--workers 2`) with the preset;
//   - the scan: the preset with conductance EXC → INH's mean as [0.5, 1, 2] ("grid"): three
//     points, each writing its edges file (every point changes conductance there), the nodes
//     stored once in shared/;
//   - a copy of a run's output edges file (`cp`, the warm-up run's: 10 properties written into the
//     input's 583 MB, 992 MB): the writes a scan cannot avoid beyond one run's are two more of
//     them, one per further point (each point's own edges file).
// Prints every run and writes benches/out/scan-cost-<N>m.json with the medians and the ratios
// scan / one run and scan / (one run + 2 copies). `make bench-scan`.
//
//   node benches/scan_cost.mjs [--synapses 10000000] [--runs 3] [--workers 2]
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argument, best, ensureNetwork, median, root, timed } from "./command_runs.mjs";

const synapses = Number(argument("--synapses", 10_000_000));
const runs = Number(argument("--runs", 3));
const workers = Number(argument("--workers", 2));
const network = join(root, `benches/out/net${synapses / 1e6}m-geometry`);
const circuit = join(network, "circuit_config.json");

const edgesBytes = await ensureNetwork(network, synapses, ["--geometry"]);
const preset = JSON.parse(await readFile(join(root, "www/presets/tsodyks_markram.json"), "utf8"));
const scan = structuredClone(preset);
scan.prop_stats.conductance.EXC.INH.mean = [0.5, 1, 2];
const work = await mkdtemp(join(tmpdir(), "synparam-scan-cost-"));
const files = { run: join(work, "run.json"), scan: join(work, "scan.json") };
await writeFile(files.run, JSON.stringify({ random_seed: 1, pathway_param_dict: preset }));
await writeFile(files.scan, JSON.stringify({ random_seed: 1, pathway_param_dict: scan, scan: "grid" }));

const cli = join(root, "www/host/cli.mjs");
const rows = {
  "one run": (out) => timed(process.execPath, [cli, "--circuit", circuit, "--config", files.run, "--out", out, "--workers", String(workers)]),
  "3-point scan": (out) => timed(process.execPath, [cli, "--circuit", circuit, "--config", files.scan, "--out", out, "--workers", String(workers)]),
  "cp output edges.h5": (out) => timed("cp", [join(work, "warm-up", "edges.h5"), out]),
};
const measured = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
try {
  console.error("warm-up run (untimed) …");
  await rows["one run"](join(work, "warm-up")); // kept: its edges file is the one copied
  const names = Object.keys(rows);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const out = join(work, "out");
      const result = await rows[name](out);
      await rm(out, { recursive: true, force: true });
      measured[name].push({ round, seconds: result.seconds, peakMB: result.peakKB / 1024, cpu: result.cpu, othersCPU: result.othersCPU });
      console.error(`round ${round + 1}: ${name.padEnd(18)} ${result.seconds.toFixed(2)} s, ${(result.peakKB / 1024).toFixed(0)} MB, CPU ${result.cpu.toFixed(2)} s; other processes ${result.othersCPU.toFixed(2)} CPU s`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const seconds = (name) => measured[name].map((r) => r.seconds);
const medians = Object.fromEntries(Object.keys(measured).map((name) => [name, median(seconds(name))]));
const floor = medians["one run"] + 2 * medians["cp output edges.h5"];
const summary = {
  date: new Date().toISOString(), synapses, edgesMB: edgesBytes / 1e6, runs, workers,
  medians, bests: Object.fromEntries(Object.keys(measured).map((name) => [name, best(seconds(name))])),
  scanOverOneRun: medians["3-point scan"] / medians["one run"],
  scanOverRunPlusWrites: medians["3-point scan"] / floor,
  furtherPointSeconds: (medians["3-point scan"] - medians["one run"]) / 2,
  target: "3-point scan ≤ 1.5 × (one run + the two more output edges files it must write)",
  rows: measured,
};
console.log(`\n${synapses.toLocaleString("en")} synapses, ${workers} workers, medians of ${runs}:`);
for (const [name, value] of Object.entries(medians)) console.log(`  ${name.padEnd(18)} ${value.toFixed(2)} s`);
console.log(`  a further point: ${summary.furtherPointSeconds.toFixed(2)} s ((scan − one run) / 2)`);
console.log(`  scan / one run: ${summary.scanOverOneRun.toFixed(2)}; scan / (one run + 2 copies): ${summary.scanOverRunPlusWrites.toFixed(2)} (target ≤ 1.5)`);
await writeFile(join(root, `benches/out/scan-cost-${synapses / 1e6}m.json`), `${JSON.stringify(summary, null, 2)}\n`);
