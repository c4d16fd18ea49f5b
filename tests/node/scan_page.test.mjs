// A scan in the page (docs/page.md "Scans"): a scan config pasted into the model box is said to be
// one (mode, axes, points: the core's plan), every point runs in the page's worker, the scan view
// overlays the points' histograms, tables their statistics and picks points by axis values; a
// point's zip holds the same edges datasets as the command's DIR/<point>/, the zip of all points
// the command's scan layout byte for byte; bad scans are refused
// with the core's message and nothing runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ZipReader, Uint8ArrayReader, Uint8ArrayWriter } from "@zip.js/zip.js";
import h5wasm from "h5wasm/node";
import { main } from "../../www/host/cli.mjs";
import { openBrowser, artifacts, paste, clickRun, waitForText } from "./browser.mjs";

const example = new URL("../../www/examples/synaptome/circuit_config.json", import.meta.url).pathname;
const seedExample = new URL("../../www/presets/seed_example.json", import.meta.url);
const POPULATION = "synaptome_afferents";

let browser;
let work;
before(async () => {
  await h5wasm.ready;
  browser = await openBrowser();
  work = await mkdtemp(join(tmpdir(), "synparam-scan-page-"));
});
after(async () => { await browser?.close(); });

/** The bundled example's model with `edit(config, I→E conductance spec)` applied, as text. */
async function scanOf(edit) {
  const config = JSON.parse(await readFile(seedExample, "utf8"));
  edit(config, config.pathway_param_dict.prop_stats.conductance.inhibitory_neuron.excitatory_neuron);
  return JSON.stringify(config, null, 2);
}

/** A grid of 2 means × 2 stds of the I→E conductance: 4 points. */
const GRID = () => scanOf((config, spec) => {
  config.scan = "grid";
  spec.mean = [2.0, 3.0];
  spec.std = [0.5, 0.8];
});

/** Open the page and wait until it is initialised, the example circuit loaded. */
async function openPage() {
  const page = await browser.context.newPage();
  await page.goto(browser.base);
  await page.waitForSelector("body[data-ready='true']");
  await page.waitForSelector("#editor-matrix .cell-count");
  return page;
}

/** Every dataset of group 0 of an edge population in an HDF5 file (bytes), by name. */
function datasetsOf(file) {
  const h5 = new h5wasm.File(file, "r");
  try {
    const group = h5.get(`edges/${POPULATION}/0`);
    return Object.fromEntries(group.keys().map((name) => [name, Buffer.from(group.get(name).value.buffer.slice(0))]));
  } finally {
    h5.close();
  }
}

/** A zip's files (name → bytes). */
async function unzip(path) {
  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await readFile(path))));
  const files = new Map();
  for (const entry of await reader.getEntries()) if (!entry.directory) files.set(entry.filename, Buffer.from(await entry.getData(new Uint8ArrayWriter())));
  await reader.close();
  return files;
}

/** The page's zip of every point of the scan on view equals the command's `--out` of that scan:
 * the same files (scan.json, <point>/, shared/), byte for byte, each sidecar but for its time. */
async function allEqualsCommand(page, cliOut, name) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#scan-zip-all")]);
  assert.equal(download.suggestedFilename(), "scan.zip");
  await download.saveAs(join(work, `${name}.scan.zip`));
  const all = await unzip(join(work, `${name}.scan.zip`));
  const cliFiles = (await readdir(cliOut, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(cliOut, join(e.parentPath, e.name))).sort();
  assert.deepEqual([...all.keys()].sort(), cliFiles, "the same files in the same layout");
  const timeless = (buffer) => buffer.toString().replace(/"created": "[^"]*"/, "");
  for (const file of cliFiles) {
    const fromCli = await readFile(join(cliOut, file));
    if (file.endsWith("parameterization.json")) assert.equal(timeless(all.get(file)), timeless(fromCli), `${file}: the same sidecar but for its time`);
    else assert.ok(all.get(file).equals(fromCli), `${file}: byte for byte`);
  }
  return cliFiles;
}

test("a grid scan of the example runs in the page: every point drawn as the command draws it (each point's zip, dataset for dataset), the axes pick points, unchanged pathways are said to be the same", async () => {
  const text = await GRID();
  const scanPath = join(work, "scan.json");
  await writeFile(scanPath, text);
  const cliOut = join(work, "cli");
  await main(["--circuit", example, "--config", scanPath, "--out", cliOut], () => {});
  const scanJson = JSON.parse(await readFile(join(cliOut, "scan.json"), "utf8"));
  assert.equal(scanJson.points.length, 4);

  const page = await openPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await paste(page, "#config", text);
  // Said to be a scan (the core's plan), every point checked against the circuit.
  await waitForText(page, "#scan-plan", /^grid scan of 4 points: mean ∈ \{2, 3\}; std ∈ \{0\.5, 0\.8\} — Parameterize runs every point/);
  await waitForText(page, "#config-status", /^valid grid scan of 4 points/);
  assert.equal(await page.isHidden("#editor"), true, "no grid edits a scan's lists");
  await clickRun(page);
  await page.waitForSelector("#scan-view[data-complete='true']");
  await waitForText(page, "#status", /^scan of 4 points, 4145 synapses each/);

  // Per property and pathway: the changed one overlays 4 points; the others are drawn once, "same in every point".
  const figures = await page.$$eval("#scan-figures > figure", (fs) => fs.map((f) => ({ property: f.dataset.property, pathway: f.dataset.pathway, same: f.dataset.same, lines: f.querySelectorAll("svg g.scan-point path, svg g.scan-point line").length, text: f.textContent })));
  const changed = figures.filter((f) => f.same === "false");
  assert.deepEqual(changed.map((f) => [f.property, f.pathway]), [["conductance", "inhibitory_neuron → excitatory_neuron"]]);
  assert.equal(changed[0].lines, 4, "one outline per point");
  assert.ok(figures.length >= 4 && figures.filter((f) => f.same === "true").every((f) => /same in every point/.test(f.text) && f.lines === 1), JSON.stringify(figures));
  // The legend names the points by their axis values (the core's names).
  const legend = await page.$$eval(".scan-points li", (items) => items.map((li) => li.dataset.point));
  assert.deepEqual(legend, scanJson.points.map((p) => p.name));
  assert.match(await page.textContent(".scan-points li[data-point='2_mean=3_std=0.5']"), /mean = 3, std = 0.5/);
  // The statistics by point: 4 rows for the changed pathway (means near the specs'), one for the others.
  const rows = await page.$$eval("#scan-table tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  const changedRows = rows.filter((r) => r[1] === "conductance" && r[2] === "inhibitory_neuron → excitatory_neuron");
  assert.deepEqual(changedRows.map((r) => r[3]), scanJson.points.map((p) => p.name));
  for (const [row, point] of changedRows.map((r, i) => [r, scanJson.points[i]])) {
    const mean = Object.values(point.values)[0];
    assert.ok(Math.abs(Number(row[5]) - mean) < 0.2 * mean, `${point.name}: mean ${row[5]}`);
  }
  assert.equal(rows.filter((r) => r[3] === "every point (same values)").length, figures.length - 1, JSON.stringify(rows));

  // The axes as controls: mean = 3 and std = 0.8 pick point 3 alone; mean = 2 alone picks points 0 and 1.
  await page.selectOption("#scan-axis-0", "1");
  await page.selectOption("#scan-axis-1", "1");
  await page.waitForFunction(() => document.getElementById("scan-view").dataset.selected === "3_mean=3_std=0.8" && document.getElementById("scan-view").dataset.complete === "true");
  assert.deepEqual(await page.$$eval("#scan-table tbody tr[data-selected='true'][data-point]:not([data-point=''])", (trs) => [...new Set(trs.map((tr) => tr.dataset.point))]), ["3_mean=3_std=0.8"]);
  await page.selectOption("#scan-axis-0", "0");
  await page.selectOption("#scan-axis-1", "");
  await page.waitForFunction(() => document.getElementById("scan-view").dataset.selected === "0_mean=2_std=0.5 1_mean=2_std=0.8");
  await page.waitForSelector("#scan-view[data-complete='true']");
  await page.screenshot({ path: new URL("scan_view.png", artifacts).pathname, fullPage: true });

  // Each point's zip: its edges datasets byte for byte the command's DIR/<point>/edges.h5's, its
  // sidecar the point's config and the same dataset digests.
  for (const point of scanJson.points) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`.scan-point-zip[data-point='${point.index}']`)]);
    assert.equal(download.suggestedFilename(), `${point.name}.zip`);
    const zipPath = join(work, `${point.name}.zip`);
    await download.saveAs(zipPath);
    const files = await unzip(zipPath);
    const edgesPath = join(work, `${point.name}.edges.h5`);
    await writeFile(edgesPath, files.get("edges.h5"));
    const fromPage = datasetsOf(edgesPath);
    const fromCli = datasetsOf(join(cliOut, point.name, "edges.h5"));
    assert.deepEqual(Object.keys(fromPage).sort(), Object.keys(fromCli).sort());
    for (const name of Object.keys(fromCli)) assert.ok(fromPage[name].equals(fromCli[name]), `${point.name}: ${name} byte for byte`);
    assert.ok(files.get("edges.h5").equals(await readFile(join(cliOut, point.name, "edges.h5"))), `${point.name}: edges.h5 byte for byte`);
    const sidecar = JSON.parse(files.get("parameterization.json").toString());
    const cliSidecar = JSON.parse(await readFile(join(cliOut, point.name, "parameterization.json"), "utf8"));
    assert.equal(sidecar.model_config_sha256, point.config_sha256);
    assert.deepEqual(sidecar.datasets, cliSidecar.datasets);
    assert.equal(sidecar.outputs["edges.h5"], cliSidecar.outputs["edges.h5"]);
  }
  // All points: the command's scan layout — scan.json, <point>/, shared/ — every file byte for
  // byte, each sidecar the same but for its time.
  await allEqualsCommand(page, cliOut, "example");
  assert.deepEqual(errors, []);
  await page.close();
});

test("bad scans are refused with the core's message before anything runs: an empty axis, coupled axes of unequal length, a page setting an axis also sets", async () => {
  const page = await openPage();
  const bad = [
    ["empty", await scanOf((config, spec) => { config.scan = "grid"; spec.mean = []; })],
    ["unequal", await scanOf((config, spec) => { config.scan = "coupled"; spec.mean = [2, 3]; spec.std = [0.5, 0.6, 0.7]; })],
  ];
  for (const [name, text] of bad) {
    const path = join(work, `${name}.json`);
    await writeFile(path, text);
    const refused = await main(["--circuit", example, "--config", path, "--out", join(work, `out-${name}`)], () => {}).then(() => null, (error) => error);
    assert.ok(refused, `${name}: the command refuses it`);
    await paste(page, "#config", text);
    await waitForText(page, "#config-status", new RegExp(`^ConfigError: .*${refused.message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").slice(-60)}`));
    assert.equal(await page.isDisabled("#run"), true, `${name}: Parameterize is disabled`);
    assert.equal(await page.isHidden("#scan-plan"), true);
  }
  assert.match(await page.textContent("#config-status"), /a coupled scan needs lists of equal length/);
  // A seed axis with the page's Seed set here: refused naming both.
  const seeds = await scanOf((config) => { config.scan = "grid"; config.random_seed = [1, 2]; });
  await page.fill("#seed", "5");
  await page.dispatchEvent("#seed", "change");
  await paste(page, "#config", seeds);
  await waitForText(page, "#config-status", /^ConfigError: .*random_seed.*a scan axis, and the page's Seed sets random_seed for every point/);
  assert.equal(await page.isDisabled("#run"), true);
  // Nothing ran.
  assert.equal(await page.isHidden("#scan-view"), true);
  assert.equal(await page.textContent("#status"), "");
  await page.close();
});

test("a scan whose points change one edges file of three: the zip of all points stores the other two once in shared/, as the command does", async () => {
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  // Only pathways from INH change: the thalamic populations (EXC sources only) draw the same bits in every point.
  const config = JSON.parse((await readFile(new URL("../fixtures/scan/grid_task.json", import.meta.url), "utf8")).replace(/-Infinity/g, "-1e300"));
  config.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = 1.0;
  config.pathway_param_dict.prop_stats.conductance.INH.INH.mean = [1.5, 3.0];
  const text = JSON.stringify(config, null, 2);
  const scanPath = join(work, "multi_scan.json");
  await writeFile(scanPath, text);
  const cliOut = join(work, "multi_cli");
  await main(["--circuit", join(multi, "circuit_config.json"), "--config", scanPath, "--out", cliOut], () => {});
  const page = await openPage();
  await page.setInputFiles("#folder", multi);
  await page.waitForFunction(() => document.getElementById("circuit").textContent.includes("POm__S1__chemical") && !/Loading/i.test(document.getElementById("circuit").textContent));
  await paste(page, "#config", text);
  await waitForText(page, "#scan-plan", /^grid scan of 4 points: mean ∈ \{1\.5, 3\}; EXC ∈ /);
  await page.waitForFunction(() => !document.getElementById("run").disabled);
  await clickRun(page);
  await page.waitForSelector("#scan-view[data-complete='true']");
  // Many pathways: the changed ones first, at most 12 figures until all are asked for.
  const figures = () => page.$$eval("#scan-figures > figure", (fs) => fs.map((f) => f.dataset.same));
  const first = await figures();
  assert.equal(first.length, 12);
  assert.equal(first[0], "false");
  await page.click("#scan-show-all");
  await page.waitForSelector("#scan-view[data-complete='true']");
  const all = await figures();
  assert.ok(all.length > 12 && all.includes("true"), `${all.length} figures`);
  const files = await allEqualsCommand(page, cliOut, "multi");
  assert.ok(files.includes("shared/networks/edges/VPM__S1__chemical/edges.h5") && !files.includes("shared/networks/edges/S1__S1__chemical/edges.h5"), files.join("\n"));
  await page.close();
});
