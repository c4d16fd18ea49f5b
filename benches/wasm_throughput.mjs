// wasm throughput benchmark (not a timed test): the workloads of benches/workloads.json on pkg/,
// each chunk exactly as the tool runs it — Arrow IPC in, runChunkView, Arrow IPC out — in Node and
// in headless Chromium (Debian's, the engine the page runs on), reporting synapses and values per
// second and peak memory. Run with `node benches/wasm_throughput.mjs [--node | --chromium]` after
// `make pkg` (or `make bench`).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { startServer } from "../www/tools/serve.mjs";
import { initSync, Parameterizer } from "../pkg/synparam.js";
import { runWorkloads } from "./wasm_workloads.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const spec = JSON.parse(await readFile(join(root, "benches/workloads.json"), "utf8"));
const only = process.argv.includes("--node") ? "node" : process.argv.includes("--chromium") ? "chromium" : null;

function print(title, rows, memoryColumn) {
  console.log(title);
  console.log(["workload".padEnd(19), "synapses".padStart(11), "seconds".padStart(9), "synapses/s".padStart(14),
    "values/s".padStart(14), memoryColumn.padStart(13), "wasm MiB".padStart(9)].join(" "));
  for (const row of rows) {
    console.log([row.name.padEnd(19), String(row.synapses).padStart(11), row.seconds.toFixed(3).padStart(9),
      row.rate.toFixed(0).padStart(14), row.values.toFixed(0).padStart(14), (row.peakMiB?.toFixed(0) ?? "-").padStart(13),
      row.wasmMiB.toFixed(0).padStart(9)].join(" "));
  }
}

if (only !== "chromium") {
  const wasm = initSync({ module: await readFile(join(root, "pkg/synparam_bg.wasm")) });
  let peakRss = 0;
  const rows = await runWorkloads({
    Parameterizer, memory: wasm.memory, spec,
    readPreset: (name) => readFile(join(root, "www/presets", name), "utf8"),
    peakMemoryMiB: () => (peakRss = Math.max(peakRss, process.memoryUsage().rss)) / 2 ** 20,
  });
  print(`wasm in Node ${process.version}, chunks of ${spec.chunk_size} synapses through Arrow IPC`, rows, "peak RSS MiB");
}

if (only !== "node") {
  const dir = await mkdtemp(join(tmpdir(), "synparam-bench-"));
  try {
    await build({
      entryPoints: [join(root, "benches/wasm_browser.mjs")], bundle: true, format: "esm", external: ["/pkg/synparam.js"],
      outfile: join(dir, "bench.js"), logLevel: "warning",
    });
    await writeFile(join(dir, "index.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>\n');
    const server = await startServer(0, {
      csp: false,
      mounts: { "/pkg/": join(root, "pkg"), "/presets/": join(root, "www/presets"), "/benches/": join(root, "benches"), "/": dir },
    });
    const context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    });
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
      await page.waitForFunction(() => window.benchmarkRows || window.benchmarkError, null, { timeout: 600_000 });
      const { rows, error, version } = await page.evaluate(() => ({ rows: window.benchmarkRows, error: window.benchmarkError, version: navigator.userAgent }));
      if (error) throw new Error(`benchmark page failed: ${error}`);
      const chromiumVersion = /Chrome\/([\d.]+)/.exec(version)?.[1] ?? "?";
      print(`wasm in headless Chromium ${chromiumVersion}, chunks of ${spec.chunk_size} synapses through Arrow IPC`, rows, "");
    } finally {
      await context.close();
      server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
