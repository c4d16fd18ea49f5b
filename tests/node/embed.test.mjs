// <synparam-panel> in host pages (www/embed.html, a mock platform; and the React example built
// from the packed tarball) and the browser headless API, in headless Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, writeFile, cp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { ZipReader, Uint8ArrayReader, TextWriter } from "@zip.js/zip.js";
import { openBrowser, artifacts } from "./browser.mjs";
import { PROJECT_MOUNTS, startServer } from "../../www/tools/serve.mjs";
import { parameterize } from "../../www/host/node.mjs";

const run = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const example = join(repo, "www/examples/synaptome");
const TOKEN = "Bearer s3cret";
const requests = [];
let browser;

before(async () => {
  browser = await openBrowser({
    mounts: { "/private/": example, "/fixtures/": join(repo, "tests/fixtures/out"), ...PROJECT_MOUNTS },
    protect: { prefix: "/private/", header: "Authorization", value: TOKEN },
    requests,
  });
  await mkdir(artifacts, { recursive: true });
});
after(async () => { await browser?.close(); });

/** Open the mock platform and wait until its panel is initialised. */
async function openEmbed() {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${browser.base}embed.html`);
  await page.waitForFunction(() => document.getElementById("panel")?.shadowRoot?.querySelector("#run")?.disabled === false);
  return page;
}

/** Wait until the page has `count` dedicated workers (Playwright learns of them asynchronously). */
async function waitForWorkers(page, count) {
  for (let i = 0; i < 100 && page.workers().length !== count; i++) await new Promise((r) => setTimeout(r, 50));
  return page.workers().length;
}

const logLines = (page) => page.$eval("#log", (log) => log.textContent.trim().split("\n").filter(Boolean));

test("the panel in a mock platform loads a circuit with the host's auth header, runs, emits events in order and exports a valid edges file", async () => {
  const page = await openEmbed();
  // Without the credentials the circuit cannot be fetched: a clear error event.
  await page.fill("#circuit-url", "/private/circuit_config.json");
  await page.click("#open");
  await page.waitForFunction(() => /synparam-error: CircuitError: .*private\/circuit_config\.json: cannot fetch \(401/.test(document.getElementById("log").textContent));
  // With them (as a platform passes its token), every file of the circuit is fetched with the header.
  await page.evaluate((token) => { document.getElementById("panel").fetchInit = { headers: { Authorization: token } }; }, TOKEN);
  await page.waitForFunction(() => /synparam-ready: synaptome_afferents \(4145\)/.test(document.getElementById("log").textContent));
  const authorized = requests.filter((r) => r.url.startsWith("/private/") && r.headers.authorization === TOKEN).map((r) => r.url);
  for (const file of ["circuit_config.json", "nodes.h5", "afferents.h5", "edges.h5"]) assert.ok(authorized.includes(`/private/${file}`), `${file} fetched with the header`);

  await page.click("#host-run");
  await page.waitForFunction(() => /run\(\) resolved: synaptome_afferents/.test(document.getElementById("log").textContent));
  const lines = await logLines(page);
  const first = (prefix) => lines.findIndex((l) => l.startsWith(prefix));
  assert.ok(first("synparam-ready") > first("synparam-error"), "the error came from the first attempt");
  assert.ok(first("synparam-ready") < first("synparam-progress"), lines.join("\n"));
  assert.ok(first("synparam-progress") < first("synparam-result"), lines.join("\n"));
  assert.ok(first("synparam-result") < first("run() resolved"), lines.join("\n"));
  assert.match(lines[first("synparam-result")], /^synparam-result: 4145 synapses, seed 1, files edges\.h5$/);
  assert.equal(lines.filter((l) => l.startsWith("synparam-error")).length, 1);

  // exportEdges(): a valid SONATA edges file with the drawn columns.
  const exported = await page.evaluate(async () => {
    const [[path, blob]] = Object.entries(document.getElementById("panel").exportEdges());
    return { path, bytes: Array.from(new Uint8Array(await blob.arrayBuffer())) };
  });
  assert.equal(exported.path, "edges.h5");
  const file = join(await mkdtemp(join(tmpdir(), "synparam-embed-")), "edges.h5");
  await writeFile(file, Uint8Array.from(exported.bytes));
  await h5wasm.ready;
  const h5 = new h5wasm.File(file, "r");
  assert.equal(h5.get("edges/synaptome_afferents/0/conductance").shape[0], 4145);
  assert.equal(h5.get("edges/synaptome_afferents/0/conductance").attrs.synparam_tool.value, "synparam");
  h5.close();

  // exportCircuit(): the whole parameterized circuit as a zip, with its provenance sidecar.
  const zipped = await page.evaluate(async () => {
    const blob = await document.getElementById("panel").exportCircuit();
    return { size: blob.size, type: blob.type, bytes: Array.from(new Uint8Array(await blob.arrayBuffer())) };
  });
  const reader = new ZipReader(new Uint8ArrayReader(Uint8Array.from(zipped.bytes)));
  const names = (await reader.getEntries()).map((e) => e.filename).sort();
  await reader.close();
  assert.deepEqual(names, ["afferents.h5", "circuit_config.json", "edges.h5", "nodes.h5", "parameterization.json"]);

  // Encapsulation: the host's hostile rule does not reach into the panel; the panel's styles stay in.
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.getElementById("panel").shadowRoot.querySelector("#run")).borderTopColor), "rgb(255, 105, 180)");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("main h2")).fontFamily), "Georgia, serif");
  assert.equal(await page.evaluate(() => Object.keys(window).filter((k) => /synparam/i.test(k)).length), 0, "no globals");
  // The 420 px side panel: no horizontal overflow inside it.
  const overflow = await page.evaluate(() => { const root = document.getElementById("panel").shadowRoot.querySelector(".synparam"); return root.scrollWidth - root.clientWidth; });
  assert.ok(overflow <= 0, `overflow ${overflow}px`);
  await (await page.$("aside")).screenshot({ path: new URL("embed_panel_420px.png", artifacts).pathname });
  await page.screenshot({ path: new URL("embed_page.png", artifacts).pathname });
  await page.close();
});

test("two panels with different seeds give different, individually reproducible results; removal frees the worker, re-adding works", async () => {
  const page = await openEmbed();
  const baseline = await waitForWorkers(page, 1);
  await page.evaluate(() => {
    const first = document.getElementById("panel");
    first.setAttribute("seed", "1");
    first.setAttribute("circuit-url", "examples/synaptome/circuit_config.json");
    const second = Object.assign(document.createElement("synparam-panel"), { id: "second" });
    second.setAttribute("seed", "2");
    second.setAttribute("circuit-url", "examples/synaptome/circuit_config.json");
    document.querySelector("main").append(second);
  });
  await page.waitForFunction(() => document.getElementById("second").shadowRoot?.querySelector("#run")?.disabled === false);
  assert.equal(await waitForWorkers(page, baseline + 1), baseline + 1, "one worker per instance");
  const conductance = (id) => page.evaluate(async (id) => {
    const { results } = await document.getElementById(id).run();
    return Array.from(results.synaptome_afferents.getChild("conductance").toArray());
  }, id);
  const [a1, b1] = await Promise.all([conductance("panel"), conductance("second")]);
  assert.equal(a1.length, 4145);
  assert.notDeepEqual(a1, b1, "different seeds, different values");
  assert.deepEqual(await conductance("panel"), a1, "seed 1 reproduces");
  assert.deepEqual(await conductance("second"), b1, "seed 2 reproduces");
  // The same values as the headless API in Node (same circuit, the page's default model, seed 1).
  const model = await page.evaluate(() => document.getElementById("panel").config);
  const { results } = await parameterize({ circuit: join(example, "circuit_config.json"), config: model, seed: 1 });
  assert.deepEqual(Array.from(results.synaptome_afferents.getChild("conductance").toArray()), a1);

  // A move keeps the instance (and its results); a removal terminates its worker.
  await page.evaluate(() => document.querySelector("main").append(document.getElementById("panel")));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(page.workers().length, baseline + 1, "a move keeps the worker");
  assert.ok(await page.evaluate(() => document.getElementById("panel").getResults() !== null), "results kept across a move");
  await page.evaluate(() => { window.removed = document.getElementById("second"); window.removed.remove(); });
  assert.equal(await waitForWorkers(page, baseline), baseline, "the removed panel's worker is gone");
  // Re-added, it starts afresh with its settings and reproduces its results.
  await page.evaluate(() => { document.querySelector("aside").append(window.removed); delete window.removed; });
  await page.waitForFunction(() => document.getElementById("second").shadowRoot.querySelector("#run")?.disabled === false);
  assert.equal(await waitForWorkers(page, baseline + 1), baseline + 1);
  await page.waitForFunction(() => /synaptome_afferents/.test(document.getElementById("second").shadowRoot.querySelector("#circuit").textContent));
  assert.deepEqual(await conductance("second"), b1, "re-added panel reproduces seed 2");
  await page.close();
});

test("the browser headless API runs in a worker of its own, and aborts", async () => {
  const page = await openEmbed();
  const baseline = await waitForWorkers(page, 1);
  const model = await page.evaluate(() => document.getElementById("panel").config);
  const result = await page.evaluate(async (model) => {
    const { parameterize } = await import("/dist/synparam.js");
    const progress = [];
    const r = await parameterize({ circuit: "examples/synaptome/circuit_config.json", config: model, seed: 1, onProgress: (p) => progress.push(p) });
    return { rows: r.results.synaptome_afferents.numRows, edges: Object.keys(r.edges), progress, warnings: r.warnings };
  }, model);
  assert.equal(result.rows, 4145);
  assert.deepEqual(result.edges, ["edges.h5"]);
  assert.deepEqual(result.progress.at(-1), { done: 4145, total: 4145 });
  const aborted = await page.evaluate(async (model) => {
    const { parameterize } = await import("/dist/synparam.js");
    const controller = new AbortController();
    const running = parameterize({ circuit: "/fixtures/synaptome_large/circuit_config.json", config: model, seed: 1, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    try {
      await running;
      return "resolved";
    } catch (error) {
      return error.name;
    }
  }, model);
  assert.equal(aborted, "AbortError");
  assert.equal(await waitForWorkers(page, baseline), baseline, "the API's workers are gone after the call and after the abort");
  await page.close();
});

test("a React host installs the packed tarball and renders the panel", { timeout: 300_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), "synparam-react-"));
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", work], { cwd: repo });
  const tarball = join(work, stdout.trim().split("\n").pop());
  const app = join(work, "app");
  await cp(join(repo, "www/examples/react"), app, { recursive: true, filter: (source) => !source.includes("node_modules") });
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: app });
  const installed = await readdir(join(app, "node_modules/synparam/dist"));
  // The entry points, their shared chunks and h5wasm's wasm: all of dist/ but the demo page's entry.
  assert.deepEqual(installed.sort(), (await readdir(join(repo, "dist"))).filter((f) => f !== "page.js").sort());
  assert.ok(installed.includes("worker.js") && installed.some((f) => /^chunk-\w+\.js$/.test(f)) && installed.some((f) => /^hdf5_util-[0-9a-f]{8}\.wasm$/.test(f)), installed.join(", "));
  await run(join(repo, "node_modules/.bin/esbuild"), ["src/App.jsx", "--bundle", "--format=esm", "--jsx=automatic", "--external:synparam", "--outfile=app.js", "--log-level=warning"], { cwd: app });
  await cp(example, join(app, "circuit"), { recursive: true });
  const server = await startServer(0, { mounts: { "/": app }, csp: false }); // the React host's own policy is its business
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => [...document.querySelectorAll("#events li")].some((li) => li.textContent === "synparam-ready"));
    await page.click("#host-run");
    await page.waitForFunction(() => /4145 synapses parameterized/.test(document.getElementById("synapses")?.textContent ?? ""));
    const events = await page.$$eval("#events li", (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(events, ["synparam-ready", "synparam-result"]);
    assert.equal(await page.inputValue("synparam-panel >> #seed"), "3", "the seed attribute React passed");
    assert.deepEqual(errors, []);
    await page.screenshot({ path: new URL("react_host.png", artifacts).pathname });
    await page.close();
  } finally {
    server.close();
  }
});

test("loadBuffers() and loadFiles() give the panel a circuit without URLs", async () => {
  const page = await openEmbed();
  const loaded = await page.evaluate(async () => {
    const panel = document.getElementById("panel");
    const names = ["circuit_config.json", "nodes.h5", "afferents.h5", "edges.h5"];
    const buffers = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await (await fetch(`examples/synaptome/${n}`)).arrayBuffer()])));
    const ready = () => new Promise((resolve) => panel.addEventListener("synparam-ready", (e) => resolve(e.detail.edgePopulations.map((p) => `${p.name} ${p.size}`)), { once: true }));
    let waiting = ready();
    panel.loadBuffers(buffers);
    const fromBuffers = await waiting;
    const first = await panel.run();
    waiting = ready();
    panel.loadFiles(names.map((n) => new File([buffers[n]], n)));
    const fromFiles = await waiting;
    const second = await panel.run();
    const values = (r) => Array.from(r.results.synaptome_afferents.getChild("conductance").toArray());
    return { fromBuffers, fromFiles, same: JSON.stringify(values(first)) === JSON.stringify(values(second)), edges: Object.keys(second.edges) };
  });
  assert.deepEqual(loaded.fromBuffers, ["synaptome_afferents 4145"]);
  assert.deepEqual(loaded.fromFiles, ["synaptome_afferents 4145"]);
  assert.ok(loaded.same, "the same circuit gives the same values however it was handed over");
  assert.deepEqual(loaded.edges, ["edges.h5"]);
  await page.close();
});

test("a circuit loaded from a URL zips whole but for its directories, which the sidecar names", async () => {
  const page = await openEmbed();
  const model = await readFile(join(repo, "www/presets/tsodyks_markram.json"), "utf8");
  const zipped = await page.evaluate(async (model) => {
    const panel = document.getElementById("panel");
    const ready = new Promise((resolve) => panel.addEventListener("synparam-ready", resolve, { once: true }));
    panel.config = model;
    panel.seed = 9;
    panel.circuitUrl = "/fixtures/multi/circuit_config.json";
    await ready;
    await panel.run();
    return Array.from(new Uint8Array(await (await panel.exportCircuit()).arrayBuffer()));
  }, model);
  const reader = new ZipReader(new Uint8ArrayReader(Uint8Array.from(zipped)));
  const entries = new Map();
  for (const entry of await reader.getEntries()) entries.set(entry.filename, entry);
  assert.deepEqual([...entries.keys()].sort(), ["circuit_config.json", "networks/edges/POm__S1__chemical/edges.h5", "networks/edges/S1__S1__chemical/edges.h5",
    "networks/edges/VPM__S1__chemical/edges.h5", "networks/nodes/S1/nodes.h5", "networks/nodes/thalamus/nodes.h5", "node_sets.json", "parameterization.json"]);
  const sidecar = JSON.parse(await entries.get("parameterization.json").getData(new TextWriter()));
  await reader.close();
  assert.deepEqual(sidecar.not_included, ["morphologies", "emodels"]);
  assert.deepEqual(sidecar.directories, []);
  assert.equal(sidecar.seed, 9);
  // The edges are those of the headless command with the same settings.
  const out = join(await mkdtemp(join(tmpdir(), "synparam-url-zip-")), "out");
  const { provenance } = await parameterize({ circuit: join(repo, "tests/fixtures/out/multi/circuit_config.json"), config: model, seed: 9, out });
  for (const file of Object.keys(provenance.outputs).filter((f) => f.endsWith(".h5"))) assert.equal(sidecar.outputs[file], provenance.outputs[file], file);
  await page.close();
});

test("a circuit only partly loadable, in the browser: the worker describes what could not be loaded; the headless API refuses a run that needs it and runs the loadable populations", async () => {
  const page = await openEmbed();
  const model = await readFile(join(repo, "www/presets/tsodyks_markram.json"), "utf8");
  const outcome = await page.evaluate(async (model) => {
    const circuit = "/fixtures/partial/circuit_config.json";
    const { connectWorker } = await import("/run/protocol.js");
    const client = connectWorker(new Worker("/dist/worker.js", { type: "module" }));
    let described;
    try {
      described = await client.call("load", { circuitUrl: new URL(circuit, location.href).href });
    } finally {
      client.terminate();
    }
    const { parameterize } = await import("/dist/synparam.js");
    const refused = await parameterize({ circuit, config: model, seed: 1 }).then(() => null, (error) => ({ name: error.name, message: error.message }));
    const restricted = await parameterize({ circuit, config: model, seed: 1, populations: ["S1__S1__chemical"] });
    return {
      edges: described.edgePopulations.map((p) => p.name), nodes: described.nodePopulations.map((p) => p.name), unavailable: described.unavailable, refused,
      rows: Object.fromEntries(Object.entries(restricted.results).map(([name, table]) => [name, table.numRows])), warnings: restricted.warnings, files: Object.keys(restricted.edges),
    };
  }, model);
  assert.deepEqual(outcome.edges, ["S1__S1__chemical"]);
  assert.deepEqual(outcome.nodes, ["S1"]);
  const url = (name) => `${browser.base}fixtures/partial/${name}`;
  assert.deepEqual(outcome.unavailable, [
    { kind: "nodes", file: url("vpm_nodes.h5"), population: "VPM", message: `${url("vpm_nodes.h5")}: does not exist` },
    { kind: "edges", file: url("extra_edges.h5"), population: null, message: `${url("extra_edges.h5")}: not a readable HDF5 file (file signature not found)` },
    { kind: "edges", file: url("edges.h5"), population: "VPM__S1__chemical",
      message: `${url("edges.h5")}: population 'VPM__S1__chemical': needs its source node population 'VPM', which cannot be loaded (${url("vpm_nodes.h5")}: does not exist)` },
  ]);
  assert.equal(outcome.refused?.name, "CircuitError");
  assert.match(outcome.refused.message, /^a run of every edge population needs edges that cannot be loaded: .*extra_edges\.h5: not a readable HDF5 file.*choose among the edge populations that can be loaded: S1__S1__chemical$/);
  assert.deepEqual(outcome.rows, { S1__S1__chemical: 2457 });
  assert.deepEqual(outcome.files, ["edges.h5"]);
  assert.deepEqual(outcome.warnings.filter((w) => w.startsWith("not loaded")), outcome.unavailable.map((u) => `not loaded${u.kind === "edges" ? " (not parameterized)" : ""}: ${u.message}`));
  await page.close();
});
