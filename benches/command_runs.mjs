// What the end-to-end benchmarks share (e2e.mjs, delay_cost.mjs): the generated network, one run
// of the command timed from outside (wall clock and peak RSS by GNU time) with its phases
// (--timings), best and median.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const run = promisify(execFile);
export const root = fileURLToPath(new URL("..", import.meta.url));
export const best = (values) => Math.min(...values);
/** A benchmark's command-line option (`--runs 3`), else `fallback`. */
export const argument = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** CPU seconds this machine's cores have been busy since boot (/proc/stat; USER_HZ = 100). */
function busySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Wall time, peak RSS (KB), CPU seconds (user + system) and stdout of a command, by GNU time;
 * `othersCPU`: the CPU seconds every other process of the machine used meanwhile (what a
 * comparison on a shared machine must know). */
export async function timed(command, args, options = {}) {
  const busy = busySeconds();
  const started = performance.now();
  const { stdout, stderr } = await run("/usr/bin/time", ["-f", "%M %U %S", command, ...args], { maxBuffer: 64 << 20, ...options });
  const seconds = (performance.now() - started) / 1000;
  const [peakKB, user, system] = stderr.trim().split("\n").pop().split(" ").map(Number);
  return { seconds, peakKB, cpu: user + system, othersCPU: Math.max(0, busySeconds() - busy - user - system), stdout };
}

/** The network of benches/make_network.py in `dir` (generated once, with `extra` options): the
 * size of its edges file in bytes. */
export async function ensureNetwork(dir, synapses, extra = []) {
  if (!existsSync(join(dir, "edges.h5"))) {
    console.error(`generating ${dir} …`);
    await run(join(root, ".venv/bin/python"), [join(root, "benches/make_network.py"), dir, "--synapses", String(synapses), ...extra], { maxBuffer: 64 << 20 });
  }
  return (await stat(join(dir, "edges.h5"))).size;
}

/** The phases the command's --timings printed: {name: seconds}. */
export function phasesOf(stdout) {
  return Object.fromEntries(stdout.split("timings (wall clock):")[1].trim().split("\n").map((line) => [line.slice(0, 24).trim(), Number.parseFloat(line.slice(24))]));
}

/** One run of the command (`node www/host/cli.mjs --timings`) on `circuit` (a circuit_config.json)
 * with the task or model file `config`, into a fresh folder removed afterwards: {seconds, peakKB,
 * phases, stdout}. */
export async function commandRun({ circuit, config, workers, extra = [] }) {
  const out = await mkdtemp(join(tmpdir(), "synparam-bench-out-"));
  await rm(out, { recursive: true });
  try {
    const result = await timed(process.execPath, [join(root, "www/host/cli.mjs"), "--circuit", circuit, "--config", config, "--out", out, "--workers", String(workers), "--timings", ...extra]);
    return { ...result, phases: phasesOf(result.stdout) };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
