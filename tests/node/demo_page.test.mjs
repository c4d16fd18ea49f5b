// The demo page in headless Chromium: the wasm core runs in a module Web Worker and its results
// (and errors) appear in the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ZipReader, Uint8ArrayReader, Uint8ArrayWriter } from "@zip.js/zip.js";
import { main } from "../../www/host/cli.mjs";
import h5wasm from "h5wasm/node";
import { openBrowser, artifacts, paste, clickRun, mainThreadWork, waitForText } from "./browser.mjs";
import { startServer } from "../../www/tools/serve.mjs";


/** Use the selected preset: open its class mapping and apply it as shown. */
async function confirmPreset(page) {
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  await page.click("#preset-confirm");
  await page.waitForSelector("#preset-mapping", { state: "hidden" });
}

let browser;

/** Open the page and wait until it is initialised (config filled, Run enabled). */
async function openPage(page) {
  await page.goto(browser.base);
  await page.waitForSelector("body[data-ready='true']");
}
/** Show every edge population and property in the results (the page shows one of each by default). */
async function showAll(page) {
  if (!(await page.isDisabled("#population-filter"))) await page.selectOption("#population-filter", "");
  await page.selectOption("#property-filter", "");
  await page.waitForSelector("#histograms[data-complete='true']");
}
before(async () => { browser = await openBrowser(); });
after(async () => { await browser?.close(); });

test("the worker loads the bundled example circuit with h5wasm and the page shows per-pathway statistics", async () => {
  const page = await browser.context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await openPage(page);
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  // One page worker did the work (its draw workers, which also hash the outputs after a run, live inside it).
  assert.equal(page.workers().filter((w) => /\/worker\.js$/.test(w.url())).length, 1, "one worker did the work");
  // One property at a time by default: its rows only are built, its figure only drawn.
  assert.equal(await page.inputValue("#property-filter"), "conductance");
  assert.equal(await page.$$eval("#results tbody tr", (trs) => trs.length), 3);
  await page.waitForSelector("#histograms[data-complete='true']");
  assert.deepEqual(await page.$$eval("#histograms figure.property-figure", (fs) => fs.map((f) => f.dataset.property)), ["conductance"]);
  await showAll(page);
  const rows = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(rows.length, 6, "2 properties × 3 source classes");
  const inhibitory = rows.find((r) => r[0] === "conductance" && r[1].startsWith("inhibitory"));
  assert.ok(Math.abs(Number(inhibitory[3]) - 2.0) < 0.1, `inhibitory conductance mean ${inhibitory[3]}`);
  assert.equal(Number(inhibitory[2]) + Number(rows[0][2]) + Number(rows[2][2]), 4145, "every synapse of the example");
  assert.match(await page.textContent("#circuit"), /synaptome_afferents: afferent_neurons → synaptome, 4145 synapses/);
  // One histogram per property × pathway, each with bars and the expected-count overlay.
  const figures = await page.$$eval("#histograms figure.property-figure", (fs) => fs.map((f) => ({
    caption: f.querySelector(":scope > figcaption").textContent,
    charts: f.querySelectorAll("svg").length,
    bars: f.querySelectorAll("svg g[data-mark='rect'] rect").length,
    overlays: f.querySelectorAll("svg g[data-mark='line'] path, svg g[data-mark='dot'] circle").length,
  })));
  assert.equal(figures.length, 2);
  assert.match(figures[0].caption, /^conductance — bars: drawn; line: expected/);
  assert.equal(figures[0].charts, 3);
  assert.ok(figures[0].bars >= 3 * 20, `conductance bars: ${figures[0].bars}`);
  assert.equal(figures[0].overlays, 3, "one expected-count line per pathway");
  assert.equal(figures[1].overlays, 3, "syn_type_id: one dot per pathway (a single integer bin)");
  assert.match(await page.textContent("#histograms svg"), /conductance \(nS\)/, "axis labelled with the unit");
  assert.deepEqual(consoleErrors, []);
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: new URL("demo.png", artifacts).pathname, fullPage: true });
  await page.close();
});

test("local files chosen in the page are mounted with WORKERFS in the worker and parameterized", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const example = new URL("../../www/examples/synaptome/", import.meta.url).pathname;
  await page.setInputFiles("#files", ["circuit_config.json", "nodes.h5", "afferents.h5", "edges.h5"].map((f) => example + f));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const storage = JSON.parse(await page.getAttribute("#circuit", "data-storage"));
  assert.deepEqual(storage, { "nodes.h5": "WORKERFS", "afferents.h5": "WORKERFS", "edges.h5": "WORKERFS" });
  const rows = await page.$$eval("#results tbody tr", (trs) => trs.length);
  assert.equal(rows, 3, "conductance (shown first) over 3 pathways");
  await page.close();
});

test("circuit files dropped onto the page are loaded (WORKERFS) and parameterized", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForFunction(() => /synaptome_afferents/.test(document.getElementById("circuit").textContent));
  await page.evaluate(async () => {
    const transfer = new DataTransfer();
    for (const name of ["circuit_config.json", "nodes.h5", "afferents.h5", "edges.h5"]) {
      const response = await fetch(`examples/synaptome/${name}`);
      transfer.items.add(new File([await response.blob()], name));
    }
    document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.getElementById("circuit").dataset.storage?.includes("WORKERFS"));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  assert.equal(await page.$$eval("#results tbody tr", (trs) => trs.length), 3, "conductance (shown first) over 3 pathways");
  await page.close();
});

test("the parameterized edges.h5, the summary CSV and the config download from the page", async () => {
  await h5wasm.ready;
  const page = await browser.context.newPage();
  await openPage(page);
  await page.fill("#seed", "7");
  await clickRun(page);
  await page.waitForSelector("#downloads a");
  const fetchDownload = async (name) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.click(`#downloads a[download='${name}']`)]);
    return file.path();
  };
  const edgesPath = await fetchDownload("edges.h5");
  const edges = new h5wasm.File(edgesPath, "r");
  const input = new h5wasm.File(new URL("../../www/examples/synaptome/edges.h5", import.meta.url).pathname, "r");
  const group = "edges/synaptome_afferents/0";
  assert.equal(edges.get(`${group}/conductance`).dtype, "<f");
  assert.equal(edges.get(`${group}/syn_type_id`).dtype, "<I");
  for (const name of ["source_node_id", "target_node_id", "edge_group_index", "0/afferent_section_id", "0/afferent_section_pos", "indices/target_to_source/node_id_to_ranges"]) {
    const path = `edges/synaptome_afferents/${name}`;
    assert.deepEqual(Array.from(edges.get(path).value), Array.from(input.get(path).value), `${name} unchanged`);
  }
  edges.close();
  input.close();
  const { readFile } = await import("node:fs/promises");
  const csv = (await readFile(await fetchDownload("summary.csv"), "utf8")).trim().split("\n");
  assert.equal(csv[0], "edge_population,property,source,target,synapses,connections,mean,std,min,max,clipped_share,spec_mean,spec_std,fit_draws,fit_chi2,fit_df,fit_p,spec,before_mean,before_ratio,before_shifted");
  assert.match(csv[1], /,\d+,[\d.]+,\d+,[\d.e-]+,"gamma: mean 1, std 0\.5 \(shape k = 4, scale θ = 0\.25\); one draw per synapse",,,$/, "the core's fit and formula");
  assert.equal(csv.length, 7);
  const { tableFromIPC } = await import("apache-arrow");
  // The page's run keeps no Arrow columns: the button has the worker draw them again (keyed
  // streams: the same bits as the run wrote), then downloads them.
  const [arrowDownload] = await Promise.all([page.waitForEvent("download"), page.click("#downloads button[data-download='synaptome_afferents.arrow']")]);
  const columns = tableFromIPC(await readFile(await arrowDownload.path()));
  assert.equal(columns.numRows, 4145);
  assert.deepEqual(columns.schema.fields.map((f) => f.name), ["conductance", "syn_type_id"]);
  const written = new h5wasm.File(edgesPath, "r");
  const stored = written.get("edges/synaptome_afferents/0/conductance").value;
  written.close();
  const drawn = columns.getChild("conductance").toArray();
  assert.ok(drawn.every((x, i) => Math.fround(x) === stored[i]), "the columns drawn for the download are the values the run wrote");
  const [svgDownload] = await Promise.all([page.waitForEvent("download"), page.click(".svg-download")]);
  assert.match(await readFile(await svgDownload.path(), "utf8"), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const config = JSON.parse(await readFile(await fetchDownload("config.json"), "utf8"));
  assert.equal(config.random_seed, 7);
  assert.equal(config.pathway_property, "synapse_class");
  await page.close();
});

test("a run can be cancelled, and the page runs again afterwards — twice, and then zips", async () => {
  const page = await browser.context.newPage();
  // Hold the edges file back, so that the run is surely still in flight when Cancel is clicked.
  await page.route("**/examples/synaptome/edges.h5", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // The test may have cancelled (and unrouted) meanwhile: a route already handled is no error.
    await route.continue().catch(() => {});
  });
  await openPage(page);
  await clickRun(page);
  assert.equal(await page.textContent("#status"), "running…");
  await page.click("#cancel");
  assert.equal(await page.textContent("#status"), "cancelled");
  assert.equal(await page.isDisabled("#cancel"), true);
  assert.equal(await page.isHidden("#results"), true, "no results from the cancelled run");
  await page.waitForTimeout(500);
  assert.equal(page.workers().length, 1, "the cancelled worker is gone, a fresh one is ready");
  await page.unroute("**/examples/synaptome/edges.h5");
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  // Cancel → run → run → zip: the zip is built (it once hung at "building the zip…").
  await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#zip")]);
  assert.equal(download.suggestedFilename(), "parameterized_circuit.zip");
  assert.doesNotMatch(await page.textContent("#status"), /building the zip/);
  await page.close();
});

test("a pasted invalid config shows the core's error with its JSON path", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const config = JSON.parse(await page.inputValue("#config"));
  config.pathway_param_dict.prop_stats.conductance.inhibitory_neuron.excitatory_neuron.std = -1;
  await paste(page, "#config", JSON.stringify(config));
  await page.waitForSelector("#config-status.error");
  assert.equal(await page.getAttribute("#config-status", "data-path"), "pathway_param_dict.prop_stats.conductance.inhibitory_neuron.excitatory_neuron.std");
  assert.match(await page.textContent("#config-status"), /^ConfigError: pathway_param_dict\.prop_stats\.conductance\.inhibitory_neuron\.excitatory_neuron\.std: must be ≥ 0 for gamma, got -1$/);
  await paste(page, "#config", "{\"src_types\": [");
  await page.waitForFunction(() => /not valid JSON/.test(document.getElementById("config-status").textContent));
  await page.close();
});

test("the Tsodyks–Markram preset is mapped onto the circuit's pathway values as rules and runs", async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 420, height: 900 });
  await openPage(page);
  await page.waitForFunction(() => /Edge populations/.test(document.getElementById("circuit").textContent));
  assert.equal(await page.inputValue("#pathway-property"), "synapse_class");
  assert.equal(await page.textContent("#pathway-values"), "excitatory_neuron, extrinsic_neuron, inhibitory_neuron");
  await page.selectOption("#preset", "tsodyks_markram");
  await confirmPreset(page);
  // Rules: one class per pair of the preset's types, the values selected by synapse_class.
  const config = JSON.parse(await page.inputValue("#config"));
  assert.equal(config.rules_version, 1);
  const rule = (name) => config.rules.find((r) => r.name === name);
  const props = (name) => config.classes.find((c) => c.name === name).props;
  assert.deepEqual(rule("EXC → EXC").source.synapse_class, ["excitatory_neuron", "extrinsic_neuron"], "extrinsic maps to excitatory");
  assert.deepEqual(rule("INH → EXC").source.synapse_class, ["inhibitory_neuron"]);
  assert.equal(props("INH → EXC").syn_type_id.mean, 7);
  assert.equal(props("EXC → EXC").syn_type_id.mean, 113);
  await page.waitForFunction(() => /^valid: conductance, conductance_scale_factor/.test(document.getElementById("config-status").textContent));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await showAll(page);
  assert.equal(await page.$$eval("#histograms figure.property-figure", (fs) => fs.length), 10);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 420 px (overflow ${overflow}px)`);
  await page.screenshot({ path: new URL("narrow-420px.png", artifacts).pathname, fullPage: false });
  await page.close();
});

test("existing properties need the overwrite toggle (network fixture through the file input)", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const network = new URL("../fixtures/out/network/", import.meta.url).pathname;
  await page.setInputFiles("#files", ["circuit_config.json", "nodes.h5", "node_types.csv", "edges.h5", "two_groups.h5", "no_group_ids.h5"].map((f) => network + f));
  await page.waitForFunction(() => /S1__S1__chemical/.test(document.getElementById("circuit").textContent));
  assert.match(await page.textContent("#nodes"), /VPM \(virtual, 150 nodes\)/);
  // Synapses per pathway before any run: S1's EXC/INH, VPM's without synapse_class left out.
  await page.waitForFunction(() => /synapse_class/.test(document.querySelector("#pathway-matrix caption")?.textContent ?? ""));
  const matrix = await page.$$eval("#pathway-matrix tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(matrix[0], ["source \\ target", "EXC", "INH"]);
  const total = matrix.slice(1).flatMap((r) => r.slice(1).map(Number)).reduce((a, b) => a + b, 0);
  assert.equal(total, 19861 + 902 + 372, "every S1 → S1 synapse of the three files");
  // A matrix model leaves VPM (no synapse_class) out: said before the run, with its reason and a remedy.
  await paste(page, "#config", await readFile(new URL("../../www/presets/tsodyks_markram.json", import.meta.url), "utf8"));
  await page.waitForFunction(() => document.querySelector("#run-plan li[data-population='VPM__S1__chemical']")?.dataset.status === "skipped");
  const plan = await page.$$eval("#run-plan li", (items) => items.map((li) => [li.dataset.status, li.textContent]));
  assert.ok(plan.some(([status, text]) => status === "skipped" && /^VPM__S1__chemical: 3,552 synapses skipped — its source nodes \(VPM\) have no 'synapse_class'a fallback value for VPM…$/.test(text)), JSON.stringify(plan));
  // Its remedy: a value for VPM's nodes alone (#24), focused where it is typed; dropped again with ✕.
  await page.click("#run-plan li[data-population='VPM__S1__chemical'] button");
  await page.waitForFunction(() => document.activeElement?.matches("#fallback-populations input[data-population='VPM']"));
  await page.keyboard.type("INH");
  await page.keyboard.press("Tab");
  await page.waitForFunction(() => document.querySelector("#run-plan li[data-population='VPM__S1__chemical']")?.dataset.status === "parameterized");
  assert.equal(await page.inputValue("#fallback"), "", "the value for every population is untouched");
  await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='fallback']").textContent === "set here (default none)");
  await page.click("#fallback-populations button");
  await page.waitForFunction(() => document.querySelector("#run-plan li[data-population='VPM__S1__chemical']")?.dataset.status === "skipped");
  assert.equal(await page.$$eval("#fallback-populations input", (inputs) => inputs.length), 0);
  // The preset applied as rules covers VPM by its node population (the dialog lists it, extrinsic).
  await page.selectOption("#preset", "tsodyks_markram");
  await confirmPreset(page);
  // Known before any run: the properties the model writes that the edges already hold, with
  // Overwrite offered up front; Parameterize is disabled, saying why.
  await page.waitForFunction(() => document.querySelector("#run-plan li[data-population='VPM__S1__chemical']")?.dataset.status === "parameterized");
  await page.waitForFunction(() => /already hold/.test(document.getElementById("run-existing")?.textContent ?? ""));
  assert.match(await page.textContent("#run-existing"), /all 4 populations already hold conductance, delay, syn_type_id/);
  assert.equal(await page.isDisabled("#run"), true);
  assert.match(await page.textContent("#run-blocked"), /^Cannot parameterize: 4 edge populations already hold conductance, delay, syn_type_id: overwrite them, or a run refuses/);

  await page.click("#run-existing button");
  await page.waitForFunction(() => !document.getElementById("run").disabled);
  assert.equal(await page.isChecked("#overwrite"), true);
  assert.equal(await page.isHidden("#run-blocked"), true);
  // Nothing skipped: Parameterize does not ask, and VPM's synapses are drawn.
  const asked = await clickRun(page);
  assert.deepEqual(asked, []);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  assert.doesNotMatch(await page.textContent("#status"), /skipped edge population/);
  await showAll(page);
  assert.equal(await page.$$eval("#downloads a[download$='.h5']", (links) => links.length), 3, "one download per edges file (VPM's among them)");
  // Several edge populations: each under its own heading in the table, and named in its figures.
  const headings = await page.$$eval("#results tr.population-row:not([hidden])", (rows) => rows.map((r) => r.textContent));
  assert.ok(headings.length >= 2 && headings.every((h) => /^\S+ \(\S+ → \S+, \d+ synapses\)$/.test(h)), headings.join("\n"));
  assert.equal(new Set(headings).size, headings.length);
  await page.waitForSelector("#histograms[data-complete='true']");
  const captions = await page.$$eval("#histograms figcaption", (cs) => cs.map((c) => c.textContent));
  assert.equal(new Set(captions).size, captions.length, "no two figures share a caption");
  // Before vs after: the file held conductance 0.5 everywhere and random delays; both are drawn
  // as the file's values before, on the new histograms' bins.
  const conductance = "#histograms figure.property-figure[data-property='conductance'][data-population='S1__S1__chemical']";
  assert.match(await page.textContent(`${conductance} > figcaption`), /grey dashes: the file's values before/);
  const subtitles = await page.$$eval(`${conductance} .histogram-grid h3`, (hs) => hs.map((h) => h.textContent));
  assert.ok(subtitles.length > 0 && subtitles.every((t) => /; before: \d+ values, mean 0\.5$/.test(t)), subtitles.join("\n"));
  assert.ok(await page.$$eval(`${conductance} svg .before-values`, (gs) => gs.length) >= 1, "the before outline");
  // The table's before mean and ratio; a ratio beyond 2× either way highlighted, as the core flags it.
  const rows = await page.$$eval("#results tbody tr[data-property='conductance'][data-population='S1__S1__chemical']",
    (trs) => trs.map((tr) => [tr.cells[3].textContent, tr.cells[12].textContent, tr.cells[13].textContent, tr.cells[13].classList.contains("misfit")]));
  assert.ok(rows.length >= 2, JSON.stringify(rows));
  for (const [mean, before, ratio, highlighted] of rows) {
    assert.equal(before, "0.5000");
    assert.match(ratio, /^×\d+(\.\d+)?$/);
    const r = Number(ratio.slice(1));
    assert.ok(Math.abs(r - Number(mean) / 0.5) < 0.01, JSON.stringify(rows));
    assert.equal(highlighted, r > 2 || r < 0.5, JSON.stringify(rows));
  }
  await page.close();
});

test("editing one property's spec and rerunning changes only that property, and the page marks it", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await showAll(page);
  const before = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => tr.textContent));
  assert.equal(await page.$$eval("tr.changed", (trs) => trs.length), 0, "nothing marked on the first run");
  const config = JSON.parse(await page.inputValue("#config"));
  config.pathway_param_dict.prop_stats.syn_type_id.inhibitory_neuron.excitatory_neuron.mean = 2;
  await paste(page, "#config", JSON.stringify(config));
  await clickRun(page);
  await page.waitForFunction(() => document.querySelectorAll("tr.changed").length > 0);
  const changedRows = await page.$$eval("tr.changed", (trs) => trs.map((tr) => tr.cells[0].textContent + " " + tr.cells[1].textContent));
  assert.deepEqual(changedRows, ["syn_type_id inhibitory_neuron → excitatory_neuron"]);
  const after = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => tr.textContent));
  after.forEach((row, i) => { if (!row.startsWith("syn_type_idinhibitory")) assert.equal(row, before[i], "other rows identical"); });
  // The property filter (on conductance) says which property changed; its figure is marked.
  assert.deepEqual(await page.$$eval("#property-filter option", (os) => os.map((o) => o.textContent)), ["conductance", "syn_type_id — changed since the last run", "all 2 properties"]);
  await showAll(page);
  assert.deepEqual(await page.$$eval(".property-figure.changed", (fs) => fs.map((f) => f.dataset.property)), ["syn_type_id"]);
  await page.close();
});

test("matrix editor: edit a cell with a live preview, fill a row, add a property — the JSON follows", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  assert.equal(await page.inputValue("#editor-property"), "conductance");
  const cells = await page.$$eval("#editor-matrix button.cell", (bs) => bs.map((b) => `${b.dataset.source}>${b.dataset.target}: ${b.querySelector(".cell-label").textContent}`));
  assert.equal(cells.length, 9);
  assert.ok(cells.includes("inhibitory_neuron>excitatory_neuron: gamma(mean 2, sd 0.5) per synapse"), cells.join("\n"));
  await page.click("#editor-matrix button[data-source='inhibitory_neuron'][data-target='excitatory_neuron']");
  assert.equal(await page.inputValue("#cell-form select[name='type']"), "gamma");
  assert.equal(await page.inputValue("input[name='field-mean']"), "2");
  await page.fill("input[name='field-mean']", "3");
  await page.waitForSelector("#cell-preview svg g[data-mark='line'] path");
  await page.click("#cell-form button[data-scope='row']");
  const model = JSON.parse(await page.inputValue("#config")).pathway_param_dict;
  for (const target of model.tgt_types) assert.equal(model.prop_stats.conductance.inhibitory_neuron[target].mean, 3, `row filled (${target})`);
  assert.equal(model.prop_stats.conductance.excitatory_neuron.excitatory_neuron.mean, 1, "other rows untouched");
  await page.waitForFunction(() => /^valid:/.test(document.getElementById("config-status").textContent));
  // An invalid parameter shows the core's message at once, in the cell form.
  await page.fill("input[name='field-std']", "-1");
  await page.waitForFunction(() => /std: must be ≥ 0 for gamma, got -1/.test(document.getElementById("cell-error").textContent));
  // Discrete laws preview as bars; a new property takes the form's spec everywhere.
  await page.selectOption("#cell-form select[name='type']", "discrete");
  await page.fill("input[name='field-val']", "1 2 3");
  await page.fill("input[name='field-p']", "0.5 0.3 0.2");
  await page.waitForFunction(() => document.querySelectorAll("#cell-preview svg g[data-mark='dot'] circle").length === 3);
  await page.fill("#new-property", "n_rrp_vesicles");
  await page.click("#add-property");
  assert.equal(await page.inputValue("#editor-property"), "n_rrp_vesicles");
  const added = JSON.parse(await page.inputValue("#config")).pathway_param_dict.prop_stats.n_rrp_vesicles;
  assert.deepEqual(added.extrinsic_neuron.inhibitory_neuron.val, [1, 2, 3]);
  await page.waitForFunction(() => /^valid: conductance, syn_type_id, n_rrp_vesicles/.test(document.getElementById("config-status").textContent));
  await page.screenshot({ path: new URL("editor.png", artifacts).pathname, fullPage: true });
  await page.close();
});

test("editor inputs: an empty field is a missing parameter and text stays text — the core names both, and Apply waits for a valid spec", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.click("#editor-matrix button[data-source='inhibitory_neuron'][data-target='excitatory_neuron']");
  await page.selectOption("#cell-form select[name='type']", "truncnorm");
  // A blank truncnorm: not a point mass at 0, but the core's message naming what is missing.
  await page.waitForFunction(() => /norm_loc/.test(document.getElementById("cell-error").textContent));
  assert.match(await page.textContent("#cell-error"), /missing/);
  assert.equal(await page.isDisabled("#cell-form button[data-scope='cell']"), true, "Apply is disabled while the spec is refused");
  await page.selectOption("#cell-form select[name='type']", "normal");
  await page.fill("input[name='field-mean']", "abc");
  await page.fill("input[name='field-std']", "1");
  await page.waitForFunction(() => /mean: must be a number, got "abc"/.test(document.getElementById("cell-error").textContent));
  await page.fill("input[name='field-mean']", "2.5");
  await page.waitForFunction(() => document.getElementById("cell-error").textContent === "");
  assert.equal(await page.isDisabled("#cell-form button[data-scope='cell']"), false);
  // A binary file offered as a config is refused, naming it; the model stays.
  const before = await page.inputValue("#config");
  await page.setInputFiles("#config-file", { name: "edges.h5", mimeType: "application/x-hdf5", buffer: Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0xff, 0xfe]) });
  await page.waitForFunction(() => /edges\.h5 was not loaded: it is not UTF-8 text/.test(document.getElementById("config-file-note").textContent));
  assert.equal(await page.inputValue("#config"), before);
  await page.close();
});

test("a model of the wrong shape (src_types as a string) leaves the page without an uncaught error, and fixing it brings the editor back", async () => {
  const page = await browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await openPage(page);
  const good = await page.inputValue("#config");
  const bad = JSON.parse(good);
  bad.pathway_param_dict.src_types = "excitatory_neuron";
  await paste(page, "#config", JSON.stringify(bad, null, 2));
  await page.waitForFunction(() => /ConfigError: pathway_param_dict\.src_types/.test(document.getElementById("config-status").textContent));
  assert.match(await page.textContent("#editor-matrix caption"), /Fix the JSON below/);
  await paste(page, "#config", good);
  await page.waitForFunction(() => /^valid:/.test(document.getElementById("config-status").textContent));
  assert.equal(await page.$$eval("#editor-matrix button.cell", (bs) => bs.length), 9);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("files chosen one by one (without their folders) load by their names when that is unambiguous, and are refused, pointing to the folder input, when not", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const nested = new URL("../fixtures/out/nested/", import.meta.url).pathname;
  await page.setInputFiles("#files", ["circuit_config.json", "network/internal_nodes.h5", "network/afferent_nodes.h5", "network/internal_edges.h5"].map((f) => nested + f));
  await page.waitForFunction(() => /synaptome_afferents: afferent_neurons → synaptome, 4145 synapses/.test(document.getElementById("circuit").textContent));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#zip")]);
  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await readFile(await download.path()))));
  const names = (await reader.getEntries()).filter((e) => !e.directory).map((e) => e.filename).sort();
  await reader.close();
  assert.deepEqual(names, ["circuit_config.json", "network/afferent_nodes.h5", "network/internal_edges.h5", "network/internal_nodes.h5", "parameterization.json"], "the circuit's layout, not the flattened one");
  // Three files named edges.h5 from three folders: refused, never one taken for the others.
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  await page.setInputFiles("#files", ["circuit_config.json", "networks/nodes/S1/nodes.h5", "networks/nodes/thalamus/nodes.h5",
    "networks/edges/S1__S1__chemical/edges.h5", "networks/edges/VPM__S1__chemical/edges.h5", "networks/edges/POm__S1__chemical/edges.h5"].map((f) => multi + f));
  await page.waitForSelector("#circuit[data-state='error']");
  assert.match(await page.textContent("#circuit"), /several chosen files are named 'nodes\.h5', 'edges\.h5'.*folder input/);
  await page.close();
});

test("a model that lacks a pathway value of the loaded circuit is flagged as you type, with the core's message, before any run", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForFunction(() => /Edge populations/.test(document.getElementById("circuit").textContent));
  const config = JSON.parse(await page.inputValue("#config"));
  const model = config.pathway_param_dict;
  model.src_types = model.src_types.filter((t) => t !== "extrinsic_neuron");
  for (const property of Object.values(model.prop_stats)) delete property.extrinsic_neuron;
  await paste(page, "#config", JSON.stringify(config, null, 2));
  await page.waitForFunction(() => /not for this circuit/.test(document.getElementById("config-status").textContent));
  assert.match(await page.textContent("#config-status"), /^valid: .* — but not for this circuit: synaptome_afferents: MissingPathwayValuesError: .*extrinsic_neuron/);
  assert.equal(await page.getAttribute("#config-status", "class"), "error");
  // A fallback cannot stand in for a value the nodes have; the original model is valid again.
  await confirmPreset(page);
  await page.waitForFunction(() => /^valid: /.test(document.getElementById("config-status").textContent) && !/not for this circuit/.test(document.getElementById("config-status").textContent));
  await page.close();
});

test("pathway property selector on Allen's layout: class-like properties first, numeric ones on request, and nodes lacking the property prompt for a fallback", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", new URL("../fixtures/out/allen_v1/", import.meta.url).pathname);
  await page.waitForFunction(() => /v1_to_v1/.test(document.getElementById("circuit").textContent));
  const options = () => page.$$eval("#pathway-property option", (os) => os.map((o) => o.value));
  // synapse_class (the default) is absent from this circuit: kept and said so, never silently replaced.
  assert.equal(await page.inputValue("#pathway-property"), "synapse_class");
  assert.match(await page.textContent("#pathway-property option:checked"), /not in this circuit/);
  assert.deepEqual((await options()).slice(0, 4), ["ei", "pop_name", "model_type", "location"], "class-like properties, ranked, first");
  assert.ok(!(await options()).includes("x") && !(await options()).includes("tuning_angle"), "float columns hidden by default");
  await page.check("#all-properties");
  assert.ok((await options()).includes("tuning_angle"), "listed on request");
  // ei is on v1 (node_types.csv) only: the LGN's 120 virtual nodes lack it, which the page says, asking for a fallback.
  await page.selectOption("#pathway-property", "ei");
  assert.match(await page.textContent("#pathway-property option:checked"), /^ei \(2 values; 120 nodes without\)$/);
  assert.equal(await page.textContent("#pathway-lacking"), "120 nodes have no 'ei' (lgn: 120): give them a fallback value, or a run refuses their synapses.");
  assert.equal(await page.getAttribute("#fallback", "aria-invalid"), "true");
  await page.fill("#fallback", "lgn");
  await page.dispatchEvent("#fallback", "change");
  assert.match(await page.textContent("#pathway-lacking"), /take the fallback value 'lgn'/);
  assert.equal(await page.textContent("#pathway-values"), "e, i, lgn");
  await page.close();
});

test("presets classify each pathway value from the circuit's own synapse_class or ei, show the mapping, and let the user correct it before applying", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const rowsOf = () => page.$$eval("#preset-classes tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.querySelector("select").value, tr.className, tr.cells[2].textContent]));
  // Allen: pop_name PV1 and i4Pvalb are inhibitory because their nodes' ei says i; LGN's tON/tOFF are virtual: extrinsic.
  await page.setInputFiles("#folder", new URL("../fixtures/out/allen_v1/", import.meta.url).pathname);
  await page.waitForFunction(() => /v1_to_v1/.test(document.getElementById("circuit").textContent));
  await page.selectOption("#pathway-property", "pop_name");
  await page.selectOption("#preset", "tsodyks_markram_by_class");
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  const allen = Object.fromEntries((await rowsOf()).map(([value, cls, , basis]) => [value, [cls, basis]]));
  assert.deepEqual(Object.fromEntries(Object.entries(allen).map(([v, [c]]) => [v, c])), { LIFe23: "E", PV1: "I", e4Rorb: "E", i4Pvalb: "I", tOFF: "X", tON: "X" });
  assert.match(allen.PV1[1], /^ei: 55 I nodes$/);
  assert.match(allen.tON[1], /^virtual population: 60 X nodes$/);
  assert.match(await page.textContent("#preset-source"), /Gupta, Wang & Markram 2000/);
  await page.click("#preset-confirm");
  await page.waitForSelector("#preset-mapping", { state: "hidden" });
  // Applied as rules: the values of each class selected by pop_name, one class per pair of types.
  let rules = JSON.parse(await page.inputValue("#config"));
  const rule = (name) => rules.rules.find((r) => r.name === name);
  const props = (name) => rules.classes.find((c) => c.name === name).props;
  assert.ok(rule("INH → EXC").source.pop_name.includes("PV1"), "PV1 → E is inhibitory");
  assert.equal(props("INH → EXC").syn_type_id.mean, 7);
  assert.ok(rule("EXC → INH").source.pop_name.includes("tON"), "extrinsic takes the excitatory values");
  assert.equal(props("EXC → INH").syn_type_id.mean, 113);
  assert.equal(props("EXC → INH").u_syn.norm_loc, 0.09, "E → I: class E1");
  assert.equal(props("EXC → EXC").u_syn.norm_loc, 0.5, "E → E: class E2");
  assert.equal(props("INH → EXC").decay_time.norm_loc, 8.3, "I → E: GABA_A decay");
  // obi-one: L23_CHC and L6_BPC are inhibitory by their synapse_class; layer 6 mixes both (the majority, marked).
  // With rules in the model box the page's pathway property is not shown: the dialog has its own.
  await page.setInputFiles("#folder", new URL("../fixtures/out/obi_one/", import.meta.url).pathname);
  await page.waitForFunction(() => /S1nonbarrel_neurons__S1nonbarrel_neurons__chemical/.test(document.getElementById("circuit").textContent));
  await paste(page, "#config", (await page.inputValue("#config")).replace('"random_seed": 1', '"random_seed": 2'));
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  await page.selectOption("#preset-property", "mtype");
  await page.waitForFunction(() => document.querySelector("#preset-classes tr[data-value='L23_CHC']"));
  // VPM, POm and the external population have no mtype: listed, extrinsic by default.
  assert.deepEqual(await page.$$eval("#preset-populations tbody tr", (trs) => trs.map((tr) => [tr.dataset.value, tr.querySelector("select").value])),
    [["POm", "X"], ["VPM", "X"], ["external_S1nonbarrel_neurons", "X"]]);
  const obi = Object.fromEntries((await rowsOf()).map(([value, cls]) => [value, cls]));
  assert.equal(obi.L23_CHC, "I");
  assert.equal(obi.L6_BPC, "I");
  assert.equal(obi["L5_TPC:A"], "E");
  assert.match(await page.textContent("#preset-replaces"), /replaces the model you edited/, "an edited model: the confirmation says what goes");
  await page.click("#preset-cancel");
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  await page.selectOption("#preset-property", "layer");
  await page.waitForFunction(() => document.querySelector("#preset-classes tr[data-value='6']"));
  const layer = Object.fromEntries((await rowsOf()).map(([value, cls, className, basis]) => [value, { cls, className, basis }]));
  assert.equal(layer["6"].className, "mixed");
  assert.match(layer["6"].basis, /mixed: the majority is chosen/);
  // The user corrects a class before applying: the model follows the correction.
  await page.selectOption("#preset-classes tr[data-value='6'] select", "I");
  await page.click("#preset-confirm");
  await page.waitForSelector("#preset-mapping", { state: "hidden" });
  rules = JSON.parse(await page.inputValue("#config"));
  // Layer 3 (L23_CHC) is inhibitory, and 6 now too: every value is I; the populations without a layer (X) take E's.
  assert.deepEqual(rule("INH → INH").source.layer, ["3", "6"]);
  assert.equal(rule("EXC → INH"), undefined);
  assert.deepEqual(rule("POm, VPM, external_S1nonbarrel_neurons (EXC) → INH").target.layer, ["3", "6"]);
  // The bundled example names its classes by synapse_class values (excitatory_neuron, …): read, not guessed.
  await page.goto(browser.base);
  await page.waitForSelector("body[data-ready='true']");
  await page.waitForFunction(() => /Edge populations/.test(document.getElementById("circuit").textContent));
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  const example = await rowsOf();
  assert.deepEqual(example.map(([v, c, k]) => [v, c, k]), [["excitatory_neuron", "E", ""], ["extrinsic_neuron", "X", ""], ["inhibitory_neuron", "I", ""]]);
  await page.close();
});

test("matrix editor at scale: synapse counts in cells, the invalid cell marked, filter, several cells at once, keyboard inside the grid, the core's formula of a spec", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForFunction(() => /synapses/.test(document.querySelector("#editor-matrix .cell-count")?.textContent ?? ""));
  const cell = (s, t) => `#editor-matrix button.cell[data-source='${s}'][data-target='${t}']`;
  assert.equal(await page.textContent(`${cell("inhibitory_neuron", "excitatory_neuron")} .cell-count`), "964 synapses", "the core's count of that pathway");
  // An error the core names at a cell's path marks that cell.
  const model = JSON.parse(await page.inputValue("#config"));
  model.pathway_param_dict.prop_stats.conductance.extrinsic_neuron.excitatory_neuron.std = -2;
  await paste(page, "#config", JSON.stringify(model, null, 2));
  await page.waitForSelector(`${cell("extrinsic_neuron", "excitatory_neuron")}.invalid[aria-invalid='true']`);
  assert.equal(await page.$$eval("#editor-matrix button.invalid", (bs) => bs.length), 1);
  model.pathway_param_dict.prop_stats.conductance.extrinsic_neuron.excitatory_neuron.std = 0.5;
  await paste(page, "#config", JSON.stringify(model, null, 2));
  await page.waitForFunction(() => !document.querySelector("#editor-matrix button.invalid"));
  // Filter: only matching values stay (an axis without a match stays whole).
  await page.fill("#editor-filter", "inhib");
  assert.deepEqual(await page.$$eval("#editor-matrix button.cell", (bs) => bs.map((b) => `${b.dataset.source}>${b.dataset.target}`)), ["inhibitory_neuron>inhibitory_neuron"]);
  assert.match(await page.textContent("#editor-filter-note"), /1 of 3 sources, 1 of 3 targets shown/);
  await page.fill("#editor-filter", "excitatory_neuron");
  assert.equal(await page.$$eval("#editor-matrix button.cell", (bs) => bs.length), 1);
  await page.fill("#editor-filter", "_neuron");
  assert.equal(await page.$$eval("#editor-matrix button.cell", (bs) => bs.length), 9, "all match");
  await page.fill("#editor-filter", "");
  // Keyboard: Tab reaches one cell, arrows move, Enter opens the form, Escape closes it and the focus returns to the cell.
  await page.focus(cell("excitatory_neuron", "excitatory_neuron"));
  await page.keyboard.press("ArrowDown");
  assert.deepEqual(await page.evaluate(() => ({ ...document.activeElement.dataset })), { source: "inhibitory_neuron", target: "excitatory_neuron" }, "the next source in src_types order");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  assert.equal(await page.isHidden("#cell-form"), false);
  assert.match(await page.textContent("#cell-title"), /conductance: extrinsic_neuron → excitatory_neuron/);
  assert.equal(await page.evaluate(() => document.activeElement.closest("#cell-form") && document.activeElement.name), "type", "Enter puts the focus in the cell's form");
  await page.focus("input[name='field-mean']");
  await page.keyboard.press("Escape");
  assert.equal(await page.isHidden("#cell-form"), true);
  assert.deepEqual(await page.evaluate(() => ({ ...document.activeElement.dataset })), { source: "extrinsic_neuron", target: "excitatory_neuron" }, "Escape gives the focus back to the cell, not to <body>");
  // Several cells: Ctrl-click adds one; Apply to the selected cells writes both, and nothing else.
  await page.click(cell("excitatory_neuron", "excitatory_neuron"));
  await page.click(cell("inhibitory_neuron", "excitatory_neuron"), { modifiers: ["Control"] });
  assert.equal(await page.textContent("#apply-selected"), "Apply to the 2 selected cells");
  // The core's formula spells out the parameterization: lognormal's μ and σ are of the log.
  await page.selectOption("#cell-form select[name='type']", "lognormal");
  await page.fill("input[name='field-mean']", "1");
  await page.fill("input[name='field-sigma']", "0.5");
  await page.waitForFunction(() => /lognormal: μ = 1, σ = 0\.5 of log \(mean e\^\(μ\+σ²\/2\) = 3\.080217/.test(document.getElementById("cell-hint").textContent));
  await page.click("#apply-selected");
  const after = JSON.parse(await page.inputValue("#config")).pathway_param_dict.prop_stats.conductance;
  assert.equal(after.excitatory_neuron.excitatory_neuron.type, "lognormal");
  assert.equal(after.inhibitory_neuron.excitatory_neuron.type, "lognormal");
  assert.equal(after.extrinsic_neuron.excitatory_neuron.type, "gamma", "an unselected cell is untouched");
  // A pattern: the filter's cells selected at once.
  await page.fill("#editor-filter", "inhibitory");
  await page.click("#select-shown");
  assert.equal(await page.textContent("#apply-selected"), "Apply to the 1 selected cell");
  assert.equal(await page.$$eval("#editor-matrix button.cell[aria-pressed='true']", (bs) => bs.length), 1);
  await page.fill("#editor-filter", "_neuron");
  await page.click("#select-shown");
  assert.equal(await page.textContent("#apply-selected"), "Apply to the 9 selected cells");
  await page.fill("#editor-filter", "");
  // A row header selects its row.
  await page.click("#editor-matrix th button.header-select[aria-label='select the row of source inhibitory_neuron']");
  assert.equal(await page.getAttribute(cell("inhibitory_neuron", "excitatory_neuron"), "aria-pressed"), "true");
  await page.close();
});

test("undo and redo of the model; the model and settings kept across a reload and shared as a link", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const original = await page.inputValue("#config");
  assert.equal(await page.isDisabled("#undo"), true);
  await page.selectOption("#preset", "tsodyks_markram_by_class");
  await confirmPreset(page);
  const preset = await page.inputValue("#config");
  assert.notEqual(preset, original);
  await page.click("#undo");
  assert.equal(await page.inputValue("#config"), original, "undo brings the previous model back");
  await page.click("#redo");
  assert.equal(await page.inputValue("#config"), preset);
  await page.focus("#run");
  await page.keyboard.press("Control+z");
  assert.equal(await page.inputValue("#config"), original, "Ctrl+Z outside text fields");
  await page.keyboard.press("Control+Shift+z");
  assert.equal(await page.inputValue("#config"), preset);
  // A seed set here and the model survive a reload. The model is kept first; the seed, set after
  // that, is kept on its own (not only when the model changes again).
  await page.waitForFunction((text) => JSON.parse(localStorage.getItem("synparam.page.v1") ?? "null")?.config === text, preset);
  await page.fill("#seed", "77");
  await page.dispatchEvent("#seed", "change");
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("synparam.page.v1") ?? "null")?.settings?.seed === 77);
  await page.evaluate(() => sessionStorage.setItem("synparam-test-keep-state", "1"));
  await page.reload();
  await page.waitForSelector("body[data-ready='true']");
  assert.equal(await page.inputValue("#config"), preset, "the model after a reload");
  await page.waitForFunction(() => document.getElementById("seed").value === "77");
  await waitForText(page, "#config-status", /^valid: /); // the rules compiled for the example circuit again
  await waitForText(page, ".setting-source[data-setting='seed']", "set here (the config says 1)");
  // A link carries model and settings to a fresh page (no kept state there).
  await page.click("#share");
  await page.waitForFunction(() => /#model=/.test(location.hash));
  const link = await page.inputValue("#share-link");
  assert.ok(link.length < 8000, `${link.length} characters`);
  const other = await browser.context.newPage();
  await other.goto(link);
  await other.waitForSelector("body[data-ready='true']");
  assert.equal(await other.inputValue("#config"), preset);
  await other.waitForFunction(() => document.getElementById("seed").value === "77");
  await other.waitForFunction(() => /the link/.test(document.querySelector(".setting-source[data-setting='seed']").textContent));
  // A damaged link says so and shows the example.
  await other.goto("about:blank");
  await other.goto(`${browser.base}#model=AAAA`);
  await other.waitForSelector("body[data-ready='true']");
  assert.match(await other.textContent("#status"), /could not be read/);
  await page.close();
  await other.close();
});

test("figures: shared x scale, log y and CDF views, constants as one mark, PNG and SVG with title and spec inside, all figures as a zip; results filtered by edge population", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await showAll(page);
  // syn_type_id is constant per pathway: a rule at the value, no bar spanning the axis.
  const synType = "#histograms figure.property-figure[data-property='syn_type_id']";
  assert.equal(await page.$$eval(`${synType} svg g[data-mark='rect'] rect`, (rs) => rs.length), 0);
  assert.equal(await page.$$eval(`${synType} svg g[data-mark='rule'] line`, (ls) => ls.length) >= 3, true);
  assert.match(await page.textContent(synType), /all 964 = 1/);
  // Subtitles: synapses, connections, independent draws and the core's formula.
  assert.match(await page.textContent("#histograms figure.property-figure[data-property='conductance']"), /2591 synapses, 190 connections — 2591 independent draws; χ² p = [\d.e-]+ \(2591 draws, \d+ df\); gamma: mean 1, std 0\.5 \(shape k = 4, scale θ = 0\.25\); one draw per synapse/);
  // The fit's p-value in the table (the seed example's conductance follows its spec: p is not tiny).
  const fits = await page.$$eval("#results tbody tr[data-property='conductance'] td:nth-child(12)", (tds) => tds.map((td) => [Number(td.textContent), td.title]));
  assert.equal(fits.length, 3);
  for (const [p, title] of fits) assert.ok(p > 1e-3 && /^χ² p = .* \(\d+ draws, \d+ df\)$/.test(title), `${p} ${title}`);
  assert.match(await page.getAttribute("#results tbody tr[data-property='syn_type_id'] td:nth-child(12)", "title"), /no fit test \(one value\)/);
  // Shared x: every conductance chart has the same x domain (same first and last tick).
  const ticks = () => page.$$eval("#histograms figure.property-figure[data-property='conductance'] svg", (svgs) => svgs.map((svg) => {
    const labels = [...svg.querySelectorAll("g[data-mark='x-axis tick label'] text")].map((t) => t.textContent);
    return `${labels[0]}…${labels.at(-1)}`;
  }));
  assert.ok(new Set(await ticks()).size > 1, "each pathway its own range by default");
  await page.check("#figure-shared-x");
  await page.waitForSelector("#histograms[data-complete='true']");
  assert.equal(new Set(await ticks()).size, 1, (await ticks()).join(" | "));
  await page.selectOption("#figure-y-scale", "symlog");
  await page.waitForSelector("#histograms[data-complete='true']");
  await page.selectOption("#figure-view", "cdf");
  await page.waitForSelector("#histograms[data-complete='true']");
  assert.match(await page.textContent("#histograms figure.property-figure > figcaption"), /steps: drawn \(cumulative\); dashed: expected/);
  assert.match(await page.textContent("#histograms svg"), /share of synapses ≤ x/);
  await page.selectOption("#figure-view", "histogram");
  await page.waitForSelector("#histograms[data-complete='true']");
  // PNG: a real PNG; SVG: title and spec inside the file.
  const [png] = await Promise.all([page.waitForEvent("download"), page.click("#histograms .png-download")]);
  assert.match(png.suggestedFilename(), /^conductance_excitatory_neuron_excitatory_neuron\.png$/);
  const bytes = await readFile(await png.path());
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  const [all] = await Promise.all([page.waitForEvent("download"), page.click("#download-figures")]);
  assert.equal(all.suggestedFilename(), "figures.zip");
  const entries = await new ZipReader(new Uint8ArrayReader(await readFile(await all.path()))).getEntries();
  assert.equal(entries.length, 6, "2 properties × 3 pathways");
  const svg = new TextDecoder().decode(await entries[0].getData(new Uint8ArrayWriter()));
  assert.match(svg, /<text[^>]*>conductance: excitatory_neuron → excitatory_neuron<\/text>/);
  assert.match(svg, /gamma: mean 1, std 0\.5/);
  await page.close();
  // Several edge populations: the filter shows one population's rows and figures.
  const network = await browser.context.newPage();
  await openPage(network);
  await network.setInputFiles("#folder", new URL("../fixtures/out/multi/", import.meta.url).pathname);
  await network.waitForFunction(() => /POm__S1__chemical/.test(document.getElementById("circuit").textContent));
  await network.selectOption("#preset", "seed_example");
  await confirmPreset(network);
  await network.waitForFunction(() => /^valid/.test(document.getElementById("config-status").textContent));
  await clickRun(network);
  await network.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await network.waitForSelector("#histograms[data-complete='true']");
  await network.selectOption("#property-filter", "");
  await network.selectOption("#population-filter", "VPM__S1__chemical");
  await network.waitForSelector("#histograms[data-complete='true']");
  const visible = await network.$$eval("#results tbody tr:not([hidden]), #histograms > figure:not([hidden])", (els) => [...new Set(els.map((e) => e.dataset.population))]);
  assert.deepEqual(visible, ["VPM__S1__chemical"]);
  await network.selectOption("#population-filter", "");
  await network.waitForSelector("#histograms[data-complete='true']");
  assert.equal(await network.$$eval("#histograms > figure[hidden]", (fs) => fs.length), 0);
  // The combined view: the core's statistics over the three populations together, one row per pathway.
  const conductanceOf = (population) => network.$$eval(`#results tbody tr[data-property='conductance']${population}`, (rows) => rows.map((r) => [r.cells[1].textContent, Number(r.cells[2].textContent), Number(r.cells[10].textContent)]));
  const apart = await conductanceOf(":not([hidden])");
  await network.selectOption("#population-filter", { label: "all 3 edge populations combined" });
  await network.waitForSelector("#histograms[data-complete='true']");
  const combined = await conductanceOf(":not([hidden])");
  const sum = (rows, pathway, column) => rows.filter((r) => r[0] === pathway).reduce((a, r) => a + r[column], 0);
  assert.ok(combined.length > 0 && combined.length < apart.length, `${combined.length} combined rows of ${apart.length}`);
  for (const [pathway, synapses, connections] of combined) {
    assert.equal(synapses, sum(apart, pathway, 1), `${pathway}: synapses of every population`);
    assert.equal(connections, sum(apart, pathway, 2), `${pathway}: connections of every population`);
  }
  assert.match(await network.textContent("#histograms figure.property-figure > figcaption"), /in all edge populations/);
  assert.equal(await network.$$eval("#histograms figure.property-figure", (fs) => fs.length), 2, "one figure per property, not per population");
  await network.close();
});

test("a circuit of which a part cannot be loaded: the rest is loaded, the parts are listed with their errors, and a run that needs them is refused naming them", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", new URL("../fixtures/out/partial/", import.meta.url).pathname);
  await page.waitForFunction(() => /S1__S1__chemical/.test(document.getElementById("circuit").textContent));
  assert.equal(await page.isHidden("#unavailable"), false);
  const items = await page.$$eval("#unavailable li", (lis) => lis.map((li) => li.textContent));
  assert.ok(items.some((i) => /node population VPM in vpm_nodes\.h5: .*does not exist/.test(i)), items.join("\n"));
  assert.ok(items.some((i) => /edge population VPM__S1__chemical .*needs its source node population 'VPM'/.test(i)), items.join("\n"));
  assert.ok(items.some((i) => /extra_edges\.h5/.test(i)), items.join("\n"));
  await page.selectOption("#preset", "seed_example");
  await confirmPreset(page);
  // Refused before any run, naming what it needs: Parameterize disabled with the reason.
  await page.waitForFunction(() => /VPM__S1__chemical/.test(document.getElementById("run-blocked").textContent));
  assert.equal(await page.isDisabled("#run"), true);
  assert.match(await page.textContent("#run-blocked"), /^Cannot parameterize: .*VPM__S1__chemical/);
  // The message asks to choose among the loadable populations: the run plan is that chooser.
  assert.equal(await page.isChecked("#run-plan input[aria-label='include S1__S1__chemical in the run']"), true);
  await page.click("#run-plan li[data-status='choice'] button");
  await page.waitForFunction(() => !document.getElementById("run").disabled);
  await page.check("#overwrite").catch(() => {});
  await clickRun(page);
  await page.waitForFunction(() => /synapses in|Error/.test(document.getElementById("status").textContent));
  assert.match(await page.textContent("#status"), /^\d+ synapses in/, "the loadable population parameterized");
  assert.equal(await page.$$eval("#run-plan li[data-status='choice']", (items) => items.length), 0, "chosen: the offer goes");
  // Unchecking the only population leaves nothing to run, and says so.
  await page.uncheck("#run-plan input[aria-label='include S1__S1__chemical in the run']");
  await page.waitForFunction(() => document.getElementById("run").disabled);
  await page.close();
});

test("stale state: a new circuit clears the previous results, figures and downloads; a failed load says so in the circuit box", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForFunction(() => /Edge populations/.test(document.getElementById("circuit").textContent));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await page.waitForSelector("#histograms[data-complete='true']");
  const network = new URL("../fixtures/out/network/", import.meta.url).pathname;
  await page.setInputFiles("#files", ["circuit_config.json", "nodes.h5", "node_types.csv", "edges.h5", "two_groups.h5", "no_group_ids.h5"].map((f) => network + f));
  await page.waitForFunction(() => /S1__S1__chemical/.test(document.getElementById("circuit").textContent));
  assert.equal(await page.isHidden("#results"), true, "the example's results are gone");
  assert.equal(await page.$$eval("#downloads > *", (els) => els.length), 0, "and its downloads (its zip could no longer be made)");
  assert.equal(await page.$$eval("#histograms > *", (els) => els.length), 0, "and its figures");
  // A circuit that cannot be loaded: the circuit box says why; nothing of the previous circuit stays.
  await page.setInputFiles("#files", { name: "circuit_config.json", mimeType: "application/json", buffer: Buffer.from("{ not json") });
  await page.waitForSelector("#circuit[data-state='error']");
  assert.match(await page.textContent("#circuit"), /^The circuit could not be loaded — /);
  assert.equal(await page.textContent("#nodes"), "");
  assert.equal(await page.$$eval("#pathway-matrix tr", (rows) => rows.length), 0);
  await page.close();
});

test("?circuit= loads a circuit from a URL, and the config downloads before any run", async () => {
  const page = await browser.context.newPage();
  await page.goto(`${browser.base}?circuit=${encodeURIComponent(`${browser.base}examples/synaptome/circuit_config.json`)}`);
  await page.waitForSelector("body[data-ready='true']");
  await page.waitForFunction(() => /synaptome_afferents: afferent_neurons → synaptome, 4145 synapses, 1 edge group/.test(document.getElementById("circuit").textContent));
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#download-config")]);
  const { readFile } = await import("node:fs/promises");
  assert.equal(JSON.parse(await readFile(await file.path(), "utf8")).pathway_property, "synapse_class");
  await page.close();
});

test("a circuit on a server that does not allow this origin (no CORS header): the circuit box names the URL and explains CORS", async () => {
  const other = await startServer(0, { mounts: { "/": new URL("../../www/examples/synaptome/", import.meta.url).pathname }, csp: false });
  const url = `http://127.0.0.1:${other.address().port}/circuit_config.json`;
  const page = await browser.context.newPage();
  try {
    await page.goto(`${browser.base}?circuit=${encodeURIComponent(url)}`);
    await page.waitForSelector("#circuit[data-state='error']");
    const text = await page.textContent("#circuit");
    assert.ok(text.includes(url), text);
    assert.match(text, /does not let pages of other origins \(this one is http:\/\/127\.0\.0\.1:\d+\) read its files — for that it must send an Access-Control-Allow-Origin header \(CORS\)/);
  } finally {
    await page.close();
    other.close();
  }
});

test("the static site (make site) works from a plain static server", async () => {
  const { spawn } = await import("node:child_process");
  const site = new URL("../../site/", import.meta.url).pathname;
  const port = 18000 + Math.floor(Math.random() * 1000);
  const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", site], { stdio: "ignore" });
  try {
    const page = await browser.context.newPage();
    for (let i = 0; i < 50; i++) {
      try { await page.goto(`http://127.0.0.1:${port}/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    await page.waitForSelector("body[data-ready='true']");
    await clickRun(page);
    await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
    assert.equal(await page.$$eval("#results tbody tr", (trs) => trs.length), 3, "conductance (shown first) over 3 pathways");
    await page.close();
  } finally {
    server.kill();
  }
});

test("errors from the core appear in the page, with their kind", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.fill("#seed", "-4");
  await page.dispatchEvent("#seed", "change");
  // Known before a run: Parameterize says why it cannot go, with the core's error and its kind.
  await page.waitForFunction(() => document.getElementById("run").disabled && !document.getElementById("run-blocked").hidden);
  assert.match(await page.textContent("#run-blocked"), /^Cannot parameterize: the model is not valid — ConfigError: random_seed: must be a non-negative integer \(at most 18446744073709551615; above 2\^53 − 1 as a decimal string\), got '-4'/);
  // Its cause gone, the reason goes and the run goes.
  await page.fill("#seed", "4");
  await page.dispatchEvent("#seed", "change");
  await page.waitForFunction(() => !document.getElementById("run").disabled && document.getElementById("run-blocked").hidden);
  await page.close();
});

test("seeds: 2^64 − 1 from a pasted config shows exactly and runs; an empty seed field with a model without random_seed is no seed (the core says so), not 0", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const model = JSON.parse(await page.inputValue("#config")).pathway_param_dict;
  await paste(page, "#config", `{"random_seed": 18446744073709551615, "pathway_param_dict": ${JSON.stringify(model)}}`);
  await page.waitForFunction(() => document.getElementById("seed").value === "18446744073709551615");
  assert.equal(await page.textContent(".setting-source[data-setting='seed']"), "from the config");
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  // A model without random_seed and an emptied seed field: a run is refused, naming the seed.
  await paste(page, "#config", JSON.stringify({ pathway_param_dict: model }));
  await page.waitForFunction(() => /^valid/.test(document.getElementById("config-status").textContent));
  await page.fill("#seed", "");
  await page.dispatchEvent("#seed", "change");
  await clickRun(page);
  await page.waitForSelector("#status.error");
  assert.match(await page.textContent("#status"), /random_seed: no seed/);
  await page.close();
});

/** Load the command's sidecar into the page: its config and settings drive the page's run. */
async function fromSidecar(page, cliOut) {
  await page.setInputFiles("#provenance-file", join(cliOut, "parameterization.json"));
  await page.waitForFunction(() => /settings loaded from the sidecar/.test(document.getElementById("status").textContent));
}

/** The page's zip of `circuit` (a fixture folder), run with the command's `args` and `config` by
 * the command and as `prepare(page, cliOut)` sets the page up (default: from the command's
 * sidecar), unpacked and compared file by file with the command's output. */
async function zipEqualsCommand(circuit, args, { config = new URL("../../www/presets/tsodyks_markram.json", import.meta.url).pathname, prepare = fromSidecar, configFrom = null, loaded = "__" } = {}) {
  const work = await mkdtemp(join(tmpdir(), "synparam-zip-"));
  const cliOut = join(work, "cli");
  const command = (configPath) => main(["--circuit", join(circuit, "circuit_config.json"), "--config", configPath, "--out", cliOut, ...args], () => {});
  // `configFrom(page)`: the model the page holds after `prepare`, run by the command then.
  if (!configFrom) await command(config);
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForSelector("#editor-matrix .cell-count"); // the bundled example, before this circuit
  await page.setInputFiles("#folder", circuit);
  // `loaded`: text of the circuit box once this circuit is in (an edge population's name).
  await page.waitForFunction((text) => document.getElementById("circuit").textContent.includes(text) && !/Loading/i.test(document.getElementById("circuit").textContent), loaded);
  await prepare(page, cliOut);
  if (configFrom) {
    const configPath = join(work, "config.json");
    await writeFile(configPath, await configFrom(page));
    await command(configPath);
  }
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#zip")]);
  assert.equal(download.suggestedFilename(), "parameterized_circuit.zip");
  const zipPath = join(work, "page.zip");
  await download.saveAs(zipPath);
  const seed = await page.inputValue("#seed");
  await page.close();

  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await readFile(zipPath))));
  const unpacked = new Map();
  for (const entry of await reader.getEntries()) if (!entry.directory) unpacked.set(entry.filename, Buffer.from(await entry.getData(new Uint8ArrayWriter())));
  await reader.close();
  const cliFiles = (await readdir(cliOut, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
    .map((e) => relative(cliOut, join(e.parentPath, e.name))).sort();
  assert.deepEqual([...unpacked.keys()].sort(), cliFiles, "the same files in the same layout");
  for (const file of cliFiles.filter((f) => f !== "parameterization.json")) {
    assert.ok(unpacked.get(file).equals(await readFile(join(cliOut, file))), `${file}: byte for byte`);
  }
  const fromPage = JSON.parse(unpacked.get("parameterization.json").toString());
  const fromCli = JSON.parse(await readFile(join(cliOut, "parameterization.json"), "utf8"));
  assert.notEqual(fromPage.created, fromCli.created);
  assert.equal(unpacked.get("parameterization.json").toString().replace(/"created": "[^"]*"/, ""),
    (await readFile(join(cliOut, "parameterization.json"), "utf8")).replace(/"created": "[^"]*"/, ""), "the same sidecar but for its time");
  return { fromCli, unpacked, seed };
}

test("the page's zip of a parameterized circuit, from a sidecar's settings, equals the headless command's output byte for byte", async () => {
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  const { seed } = await zipEqualsCommand(multi, ["--seed", "7", "--populations", "VPM__S1__chemical,S1__S1__chemical,POm__S1__chemical"]);
  assert.equal(seed, "7");
});

test("a fallback per node population from a sidecar (#24): VPM and POm each take their own value in the page's rows, and the zip equals the command's", async () => {
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  const { fromCli } = await zipEqualsCommand(obiOne, ["--seed", "3", "--overwrite", "--fallback-value", "VPM=EXC,POm=INH"], {
    async prepare(page, cliOut) {
      // Before: the circuit box names the populations whose nodes lack synapse_class, a remedy each.
      await page.waitForFunction(() => document.querySelectorAll("#pathway-lacking button").length >= 2);
      const remedies = await page.$$eval("#pathway-lacking button", (bs) => bs.map((b) => b.textContent));
      assert.ok(["a value for VPM…", "a value for POm…"].every((r) => remedies.includes(r)), remedies.join());
      await fromSidecar(page, cliOut);
      // After: only the population the sidecar gives no value is left to remedy (its edges are skipped).
      await page.waitForFunction(() => /^50 nodes have no 'synapse_class' \(external_S1nonbarrel_neurons: 50\): give them a fallback value/.test(document.getElementById("pathway-lacking").textContent));
      const rows = await page.$$eval("#fallback-populations input", (inputs) => inputs.map((i) => [i.dataset.population, i.value]));
      assert.deepEqual(rows, [["POm", "INH"], ["VPM", "EXC"]]);
      assert.equal(await page.inputValue("#fallback"), "");
      await page.waitForFunction(() => ["VPM", "POm"].every((p) => document.querySelector(`#run-plan li[data-population='${p}__S1nonbarrel_neurons__chemical']`)?.dataset.status === "parameterized"));
      assert.match(await page.textContent(".setting-source[data-setting='fallback']"), /^set by the sidecar/);
    },
  });
  assert.deepEqual(fromCli.fallback_value, { VPM: "EXC", POm: "INH" });
});

/** A zip the page offers on clicking `selector`, saved in `work` and unpacked: name → bytes. */
async function downloadZip(page, selector, path) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  await download.saveAs(path);
  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await readFile(path))));
  const unpacked = new Map();
  for (const entry of await reader.getEntries()) if (!entry.directory) unpacked.set(entry.filename, Buffer.from(await entry.getData(new Uint8ArrayWriter())));
  await reader.close();
  return unpacked;
}

test("Re-run changes only (#27): after a run's zip, an edited cell runs as a change of that run — the same files as the command's --from-provenance … --change, the sidecar naming its parent", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.waitForSelector("#editor-matrix .cell-count");
  assert.equal(await page.isHidden("#rerun-changes"), true, "no run to change yet");
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const work = await mkdtemp(join(tmpdir(), "synparam-rerun-"));
  const parent = await downloadZip(page, "#zip", join(work, "first.zip"));
  await page.waitForSelector("#rerun-changes:not([hidden])");
  // The model with nothing changed: the core says so.
  await page.click("#rerun-changes");
  await waitForText(page, "#status", /nothing to change/);
  // A setting changed in the page is a new run, not a change: refused, naming it.
  await page.fill("#seed", "2");
  await page.dispatchEvent("#seed", "change");
  await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='seed']").textContent.startsWith("set here"));
  await page.click("#rerun-changes");
  await waitForText(page, "#status", /seed "2" \(the run of the last zip: "1"\): a setting changes every value/);
  await page.click(".setting-reset[data-setting='seed']");
  await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='seed']").textContent === "from the config");
  // One cell edited: only that cell is the change.
  const task = JSON.parse(await page.inputValue("#config"));
  task.pathway_param_dict.prop_stats.conductance.inhibitory_neuron.excitatory_neuron = { type: "gamma", mean: 3.0, std: 0.5, shared_within: false };
  await paste(page, "#config", JSON.stringify(task, null, 2));
  await page.waitForFunction(() => !document.getElementById("rerun-changes").disabled && /valid/.test(document.getElementById("config-status").textContent));
  await page.click("#rerun-changes");
  await waitForText(page, "#status", /synapses in .* a change of the run of the last zip \(conductance inhibitory_neuron → excitatory_neuron; its sidecar names that run\)/);
  const changed = await downloadZip(page, "#zip", join(work, "second.zip"));
  await page.close();
  const sidecar = JSON.parse(changed.get("parameterization.json").toString());
  assert.deepEqual(sidecar.parent.changes, { kind: "some", changed: [{ property: "conductance", source: "inhibitory_neuron", target: "excitatory_neuron" }] });
  assert.deepEqual(sidecar.parent.patch, { prop_stats: { conductance: { inhibitory_neuron: { excitatory_neuron: { type: "gamma", mean: 3.0, std: 0.5, shared_within: false } } } } });
  // The command, from the first zip's sidecar with the recorded patch: the same files, byte for byte.
  await writeFile(join(work, "parent.json"), parent.get("parameterization.json"));
  await writeFile(join(work, "patch.json"), JSON.stringify(sidecar.parent.patch));
  const cliOut = join(work, "cli");
  const circuit = new URL("../../www/examples/synaptome/circuit_config.json", import.meta.url).pathname;
  await main(["--circuit", circuit, "--from-provenance", join(work, "parent.json"), "--change", join(work, "patch.json"), "--out", cliOut], () => {});
  const cliFiles = (await readdir(cliOut, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(cliOut, join(e.parentPath, e.name))).sort();
  assert.deepEqual([...changed.keys()].sort(), cliFiles);
  for (const file of cliFiles.filter((f) => f !== "parameterization.json")) assert.ok(changed.get(file).equals(await readFile(join(cliOut, file))), `${file}: byte for byte`);
  assert.equal(changed.get("parameterization.json").toString().replace(/"created": "[^"]*"/, ""),
    (await readFile(join(cliOut, "parameterization.json"), "utf8")).replace(/"created": "[^"]*"/, ""), "the same sidecar but for its time");
});

test("a pasted task config runs in the page as in the command: its random_seed, pathway_property, fallback and overwrite_if_exists are used, shown as the config's, and an override is shown as one", async () => {
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  const model = JSON.parse(await readFile(new URL("../../www/presets/tsodyks_markram.json", import.meta.url), "utf8"));
  const taskText = JSON.stringify({ pathway_property: "synapse_class", random_seed: 11, overwrite_if_exists: true, fallback_pathway_value: "EXC", pathway_param_dict: model }, null, 2);
  const work = await mkdtemp(join(tmpdir(), "synparam-task-"));
  await writeFile(join(work, "task.json"), taskText);
  const note = (page, setting) => page.$eval(`.setting-source[data-setting='${setting}']`, (el) => [el.dataset.source, el.textContent]);
  const { seed } = await zipEqualsCommand(obiOne, [], {
    config: join(work, "task.json"),
    async prepare(page) {
      // The seed field first set here, then the config pasted: the override stays, visibly, until dropped.
      await page.fill("#seed", "5");
      await page.dispatchEvent("#seed", "change");
      await paste(page, "#config", taskText);
      await page.waitForFunction(() => /valid/.test(document.getElementById("config-status").textContent) && document.querySelector(".setting-source[data-setting='fallback']").dataset.source === "config");
      assert.deepEqual(await note(page, "seed"), ["override", "set here (the config says 11)"]);
      assert.equal(await page.isVisible(".setting-reset[data-setting='seed']"), true);
      await page.click(".setting-reset[data-setting='seed']");
      await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='seed']").dataset.source === "config");
      assert.equal(await page.inputValue("#seed"), "11");
      assert.deepEqual(await note(page, "pathwayProperty"), ["config", "from the config"]);
      assert.equal(await page.inputValue("#fallback"), "EXC");
      assert.equal(await page.isChecked("#overwrite"), true, "overwrite_if_exists: true, as the command reads it");
      assert.equal(await page.isVisible(".setting-reset[data-setting='seed']"), false);
      // The synapse matrix before the run is the core's count with the run's rules: with the
      // config's fallback, nodes without synapse_class count as EXC.
      await page.waitForFunction(() => document.querySelectorAll("#pathway-matrix td").length > 0);
      const heads = await page.$$eval("#pathway-matrix tr:nth-child(2) th, #pathway-matrix tr:first-of-type th", (ths) => ths.map((th) => th.textContent));
      assert.ok(!heads.includes("(no value)"), heads.join(", "));
    },
  });
  assert.equal(seed, "11");
});

test("the synapse matrix before a run is counted by the core with the run's rules and agrees with the run", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  await page.setInputFiles("#folder", obiOne);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  // Without a fallback, the thalamic (virtual) nodes lack synapse_class: their populations are
  // left out, as a run leaves them out, and the caption says so.
  await page.waitForFunction(() => /skipped edge population/.test(document.querySelector("#pathway-matrix caption")?.textContent ?? ""));
  const matrixTotal = () => page.$$eval("#pathway-matrix td", (tds) => tds.reduce((sum, td) => sum + Number(td.textContent), 0));
  const before = await matrixTotal();
  await page.fill("#fallback", "EXC");
  await page.dispatchEvent("#fallback", "change");
  await page.waitForFunction(() => !/skipped/.test(document.querySelector("#pathway-matrix caption")?.textContent ?? "x"));
  const withFallback = await matrixTotal();
  assert.ok(withFallback > before, `${withFallback} > ${before}`);
  await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='fallback']").dataset.source === "override");
  assert.equal(await page.textContent(".setting-source[data-setting='fallback']"), "set here (default none)");
  await page.selectOption("#preset", "tsodyks_markram");
  await confirmPreset(page);
  await page.check("#overwrite");
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  const synapses = Number((await page.textContent("#status")).match(/^(\d+) synapses/)[1]);
  assert.equal(withFallback, synapses, "the matrix counts every synapse the run draws");
  await page.close();
});

test("an obi-one circuit through the page's zip: every edges file parameterized and verified, as the command writes it", async () => {
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  const { fromCli, unpacked } = await zipEqualsCommand(obiOne, ["--seed", "3", "--overwrite", "--fallback-value", "EXC"]);
  assert.equal(Object.keys(fromCli.datasets).length, 4, "four edges files, each verified");
  for (const [file, datasets] of Object.entries(fromCli.datasets)) {
    assert.equal(Object.keys(datasets).length, 10, `${file}: ten Tsodyks–Markram datasets`);
    const original = await readFile(join(obiOne, file));
    assert.ok(!unpacked.get(file).equals(original), `${file}: the zip holds the parameterized file, not the input`);
  }
});

test("a BBP recipe uploaded as YAML: the rules coverage view replaces the matrix editor, and the page's zip equals the command's output byte for byte", async () => {
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  const recipe = new URL("../fixtures/recipes/fz_recipe_uhill.yaml", import.meta.url).pathname;
  const { seed, fromCli } = await zipEqualsCommand(multi, ["--overwrite"], {
    config: recipe,
    async prepare(page) {
      await page.setInputFiles("#config-file", recipe);
      await page.waitForSelector("#rules-coverage:not([hidden])");
      await page.waitForFunction(() => document.querySelectorAll("#coverage-table tbody tr").length > 0);
      assert.equal(await page.isVisible("#editor"), false, "the matrix editor makes way for the rules");
      assert.equal(await page.isVisible("#pathway-property"), false, "rules class the nodes themselves");
      assert.equal(await page.isVisible("#rules-classing"), true);
      assert.match(await page.textContent("#rules-summary"), /bbp-recipe-json: 4 rules, 2 classes .*source synapse_class, target synapse_class/);
      const rules = await page.$$eval("#rules-table tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      assert.deepEqual(rules.map((r) => [r[0], r[1], r[5]]), [0, 1, 2, 3].map((i) => [`synapse_properties.rules[${i}]`, i % 2 ? "I2" : "E2", "applies"]));
      const coverage = await page.$$eval("#coverage-table tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      assert.deepEqual(coverage[0], ["source → target", "synapses", "connections", "set by (later rules win)", "change"]);
      assert.deepEqual(coverage.slice(1).map((r) => [r[0], r[1], r[3]]).sort(), [
        ["EXC → EXC", "1,479", "synapse_properties.rules[0]: every property"], ["EXC → INH", "1,546", "synapse_properties.rules[2]: every property"],
        ["INH → EXC", "276", "synapse_properties.rules[3]: every property"], ["INH → INH", "335", "synapse_properties.rules[1]: every property"]]);
      assert.match(await page.textContent("#rules-notes"), /left unset: delay/);
      // Exports: the rules as synparam rules JSON, and the compiled ConnPropsModel for this circuit.
      const [rulesDownload] = await Promise.all([page.waitForEvent("download"), page.click("#download-rules")]);
      const exported = JSON.parse(await readFile(await rulesDownload.path(), "utf8"));
      assert.equal(exported.rules_version, 1);
      assert.deepEqual(exported.rules.map((r) => r.class), ["E2", "I2", "E2", "I2"]);
      const [modelDownload] = await Promise.all([page.waitForEvent("download"), page.click("#download-compiled")]);
      const compiledModel = JSON.parse(await readFile(await modelDownload.path(), "utf8"));
      assert.deepEqual(compiledModel.pathway_param_dict.src_types, ["EXC", "INH"]);
      assert.equal(compiledModel.random_seed, 123);
      assert.match(await page.textContent("#config-status"), /^valid: conductance, depression_time/);
      await mkdir(artifacts, { recursive: true });
      await page.locator("#rules-coverage").screenshot({ path: new URL("rules_coverage.png", artifacts).pathname });
      await page.check("#overwrite");
    },
  });
  assert.equal(seed, "123", "the recipe's seed");
  assert.equal(fromCli.pathway_property, "rules");
});

test("a recipe from another circuit: the names this circuit lacks are listed beside its own, mapped in the page into an alias table kept in the model (undoable), and the page's zip equals the command's on that model", async () => {
  const example = new URL("../../www/examples/synaptome/", import.meta.url).pathname;
  const recipe = new URL("../fixtures/recipes/fz_recipe_uhill.yaml", import.meta.url).pathname;
  const { fromCli } = await zipEqualsCommand(example, ["--overwrite"], {
    async prepare(page) {
      await page.setInputFiles("#config-file", recipe);
      // Refused (no rule covers this circuit's synapse_class values), and not a dead end: the names.
      await page.waitForSelector("#rules-names:not([hidden])");
      assert.match(await page.textContent("#config-status"), /^ConfigError: .*no rule assigns conductance/);
      assert.equal(await page.isDisabled("#run"), true);
      const names = await page.$$eval("#names-table tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
      assert.deepEqual(names, [["synapse_class", "EXC"], ["synapse_class", "INH"]]);
      assert.match(await page.textContent("#names-unnamed"), /synapse_class: excitatory_neuron, extrinsic_neuron, inhibitory_neuron\./);
      const recipeText = await page.inputValue("#config");
      await page.fill("#names-table input[data-name='EXC']", "excitatory_neuron, extrinsic_*");
      await page.fill("#names-table input[data-name='INH']", "inhibitory_neuron");
      await page.click("#apply-aliases");
      await page.waitForFunction(() => /^valid: /.test(document.getElementById("config-status").textContent));
      assert.match(await page.textContent("#aliases-note"), /^2 names mapped/);
      const model = JSON.parse(await page.inputValue("#config"));
      assert.deepEqual(model.aliases, { synapse_class: { EXC: ["excitatory_neuron", "extrinsic_*"], INH: ["inhibitory_neuron"] } });
      assert.equal(model.rules[0].source.synapse_class, "EXC", "the rules keep the recipe's names; the table maps them");
      assert.ok(model.rules.every((r) => r.soma_delay), "the recipe's delay parameters are kept");
      // The coverage view of the mapped rules: every pathway set, the mapped names kept editable.
      await page.waitForFunction(() => document.querySelectorAll("#coverage-table tbody tr").length > 0);
      assert.equal(await page.$$eval("#coverage-table tbody tr[data-state='uncovered']", (trs) => trs.length), 0);
      assert.equal(await page.inputValue("#names-table input[data-name='EXC']"), "excitatory_neuron, extrinsic_*");
      assert.equal(await page.textContent("#names-unnamed"), "");
      // Undo brings the recipe back as uploaded; redo the mapped rules.
      await page.click("#undo");
      assert.equal(await page.inputValue("#config"), recipeText);
      await page.click("#redo");
      await page.waitForFunction(() => /^valid: /.test(document.getElementById("config-status").textContent));
      await page.check("#overwrite");
    },
    configFrom: (page) => page.inputValue("#config"),
    loaded: "synaptome_afferents",
  });
  assert.equal(fromCli.pathway_property, "rules");
  assert.deepEqual(fromCli.model_config.aliases.synapse_class.INH, ["inhibitory_neuron"], "the table in the sidecar");
});

test("one pathway of a recipe changed in the coverage view: a later rule selecting exactly its nodes, every other pathway keeping its rules, undoable, and the page's zip equals the command's", async () => {
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  const recipe = new URL("../fixtures/recipes/fz_recipe_uhill.yaml", import.meta.url).pathname;
  await zipEqualsCommand(multi, ["--overwrite"], {
    async prepare(page) {
      await page.setInputFiles("#config-file", recipe);
      await page.waitForFunction(() => document.querySelectorAll("#coverage-table tbody tr").length === 4);
      const recipeText = await page.inputValue("#config");
      await page.click("#coverage-table button[aria-label='change EXC → INH with a later rule']");
      await page.waitForSelector("#later-rule:not([hidden])");
      assert.equal(await page.evaluate(() => document.activeElement.name), "spec", "the focus in the spec");
      await page.selectOption("#later-rule select[name=property]", "conductance");
      // The spec the pathway has now (the compiled model's), to edit.
      assert.deepEqual(JSON.parse(await page.inputValue("#later-rule input[name=spec]")), { type: "gamma", mean: 0.3, std: 0.2 });
      await page.fill("#later-rule input[name=spec]", "{\"type\": \"gamma\", \"mean\": 0.3, \"std\": -1}");
      await page.click("#later-rule-add");
      await page.waitForFunction(() => document.getElementById("later-rule-hint").textContent !== "");
      assert.match(await page.textContent("#later-rule-hint"), /^ConfigError: .*std/, "the core's error");
      assert.equal(JSON.parse(await page.inputValue("#config")).rules, undefined, "nothing written: the model is still the recipe");
      await page.fill("#later-rule input[name=spec]", "{\"type\": \"constant\", \"mean\": 2}");
      await page.click("#later-rule-add");
      await page.waitForFunction(() => /EXC → INH: conductance, changed here/.test(document.getElementById("coverage-table").textContent));
      assert.match(await page.textContent("#later-rule-note"), /^added as the last rule/);
      const model = JSON.parse(await page.inputValue("#config"));
      assert.equal(model.rules.length, 5);
      assert.deepEqual(model.rules[4], { name: "EXC → INH: conductance, changed here", source: { synapse_class: ["EXC"] }, target: { synapse_class: ["INH"] }, assign: { conductance: { type: "constant", mean: 2 } } });
      const setBy = await page.$$eval("#coverage-table tbody tr", (trs) => Object.fromEntries(trs.map((tr) => [tr.cells[0].textContent, tr.cells[3].textContent])));
      assert.match(setBy["EXC → INH"], /^rules\[4\] \(EXC → INH: conductance, changed here\): conductance; synapse_properties.rules\[2\]|rules\[2\]/);
      for (const other of ["EXC → EXC", "INH → EXC", "INH → INH"]) assert.doesNotMatch(setBy[other], /changed here/, other);
      await page.click("#undo");
      assert.equal(await page.inputValue("#config"), recipeText, "undo: the recipe as uploaded");
      await page.click("#redo");
      await page.waitForFunction(() => /changed here/.test(document.getElementById("coverage-table").textContent));
      await page.check("#overwrite");
    },
    configFrom: (page) => page.inputValue("#config"),
  });
});

test("a recipe uploaded after choosing a pathway property runs: rules class the nodes themselves, and the choice comes back with a matrix model", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", new URL("../fixtures/out/multi/", import.meta.url).pathname);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  await page.selectOption("#pathway-property", "model_type");
  await page.waitForFunction(() => document.querySelector(".setting-source[data-setting='pathwayProperty']").textContent.startsWith("set here"));
  await page.setInputFiles("#config-file", new URL("../fixtures/recipes/fz_recipe_uhill.yaml", import.meta.url).pathname);
  await page.waitForSelector("#rules-coverage:not([hidden])");
  await page.waitForFunction(() => /^valid: /.test(document.getElementById("config-status").textContent));
  assert.equal(await page.isVisible("#rules-classing"), true);
  await page.check("#overwrite");
  await page.waitForFunction(() => !document.getElementById("run").disabled);
  await clickRun(page);
  await page.waitForFunction(() => /synapses in|Error/.test(document.getElementById("status").textContent));
  assert.match(await page.textContent("#status"), /synapses in/, "the run of the rules, not a refusal of the hidden pathway property");
  // Back to a matrix model: the pathway property chosen here applies again.
  await paste(page, "#config", await readFile(new URL("../../www/presets/tsodyks_markram.json", import.meta.url), "utf8"));
  await page.waitForSelector("#pathway-settings:not([hidden])");
  assert.equal(await page.inputValue("#pathway-property"), "model_type");
  await page.close();
});

test("a region's recipe on a subcircuit: the rules for mtypes it lacks are reported in the coverage view, strict refuses them, and the page's zip equals the command's", async () => {
  // The region recipe (60 mtypes, globs, regions) as synparam rules restricted to the biophysical
  // population of obi-one's tiny circuit (five of the region's mtypes; the page has no population
  // chooser, the rules name it).
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  const work = await mkdtemp(join(tmpdir(), "synparam-region-"));
  const exported = join(work, "exported.json");
  await main(["--config", new URL("../fixtures/recipes/region_recipe_sscx.xml", import.meta.url).pathname, "--export-rules", exported], () => {});
  const rules = { ...JSON.parse(await readFile(exported, "utf8")), edge_populations: ["S1nonbarrel_neurons__S1nonbarrel_neurons__chemical"] };
  const rulesFile = join(work, "region_rules.json");
  await writeFile(rulesFile, JSON.stringify(rules, null, 2));
  const { fromCli } = await zipEqualsCommand(obiOne, ["--overwrite"], {
    config: rulesFile,
    async prepare(page) {
      await page.setInputFiles("#config-file", rulesFile);
      await page.waitForSelector("#rules-coverage:not([hidden])");
      await page.waitForSelector("#rules-unmatched:not([hidden])");
      assert.match(await page.textContent("#rules-unmatched"), /^\d+ of 166 rules match no node of this circuit and apply to no synapse .*strict mode refuses them/);
      const states = await page.$$eval("#rules-table tbody tr", (trs) => trs.map((tr) => tr.cells[5].textContent));
      assert.ok(states.some((s) => s === "matches no node of this circuit (source mtype 'L2_TPC:A', target mtype 'L2_TPC:A')"), states.join("\n"));
      assert.ok(states.includes("applies"));
      // Strict: the rule is refused as the command's --strict refuses it; off again, valid again.
      await page.check("#strict-rules");
      await page.waitForFunction(() => /no source node has mtype 'L1_DAC'/.test(document.getElementById("config-status").textContent));
      await page.uncheck("#strict-rules");
      await page.waitForFunction(() => /^valid/.test(document.getElementById("config-status").textContent));
      await page.check("#overwrite");
    },
  });
  assert.ok(fromCli.rules_matching_nothing.length > 100, "the sidecar lists them");
  assert.deepEqual(fromCli.rules_matching_nothing.find((r) => r.absent_values.join() === "source mtype 'L2_TPC:A',target mtype 'L2_TPC:A'").sides, ["source", "target"]);
});

/** The BBP-like circuit of tests/fixtures/make_cortex.py (37 mtypes in S1, virtual VPM and POm
 * without mtype, three edge populations), generated once per test run. */
let cortexDir = null;
async function cortex() {
  if (!cortexDir) {
    const dir = join(await mkdtemp(join(tmpdir(), "synparam-cortex-")), "cortex");
    const { execFileSync } = await import("node:child_process");
    execFileSync(new URL("../../.venv/bin/python", import.meta.url).pathname, [new URL("../fixtures/make_cortex.py", import.meta.url).pathname, dir], { stdio: "pipe" });
    cortexDir = `${dir}/`;
  }
  return cortexDir;
}

/** Apply the Tsodyks–Markram by-class preset by mtype to the loaded cortex as a user does: the
 * dialog lists VPM and POm (no mtype) as populations, extrinsic by default. Returns the main
 * thread's work from the click on Apply until the coverage view shows the rules and the model is
 * valid, from a DevTools trace of the page's renderer: the tasks of its main thread (`RunTask`,
 * summed: `work`; the longest: `longest`), and their style, layout and paint (ms). The page is
 * watched by a MutationObserver, not polled, so that the test adds no task but the click. */
async function applyPresetAsRules(page) {
  await page.selectOption("#pathway-property", "mtype");
  // The synapses per mtype pathway shown first (that count is the property's, not Apply's work).
  await page.waitForFunction(() => [...document.querySelectorAll("#pathway-matrix th")].some((th) => th.textContent === "L6_TPC:A"));
  await page.selectOption("#preset", "tsodyks_markram_by_class");
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  assert.equal(await page.$$eval("#preset-classes tbody tr", (trs) => trs.length), 37);
  const populations = await page.$$eval("#preset-populations tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.querySelector("select").value, tr.cells[2].textContent]));
  assert.deepEqual(populations, [["POm", "X", "300 nodes, none with mtype (virtual)"], ["VPM", "X", "400 nodes, none with mtype (virtual)"]]);
  assert.equal(await page.isVisible("#preset-populations-block"), true);
  await page.evaluate(() => {
    const done = () => document.getElementById("preset-mapping").hidden && !document.getElementById("rules-coverage").hidden
      && /^valid/.test(document.getElementById("config-status").textContent) && document.querySelectorAll("#coverage-table tbody tr").length > 0;
    globalThis.__applied = new Promise((resolve) => {
      const observer = new MutationObserver(() => { if (done()) { observer.disconnect(); resolve(); } });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  });
  return mainThreadWork(page, () => page.click("#preset-confirm"), () => page.evaluate(() => globalThis.__applied));
}

test("a preset by class on 37 mtypes is applied as rules: compact, the classes in the coverage view, VPM and POm covered, Apply under 100 ms of main-thread work, and the page's zip equals the command's on the same rules", async () => {
  const circuit = await cortex();
  // What Apply writes, read from the page first (the command then runs those rules).
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", circuit);
  await page.waitForFunction(() => /POm__S1__chemical/.test(document.getElementById("circuit").textContent));
  const { work, rendering, longest } = await applyPresetAsRules(page);
  const text = await page.inputValue("#config");
  const rules = JSON.parse(text);
  // The matrix the page wrote before (every mtype and the thalamic fallback as a value, × 10 properties).
  const { mapPreset } = await import("../../www/ui/presets.js");
  const preset = JSON.parse(await readFile(new URL("../../www/presets/tsodyks_markram_by_class.json", import.meta.url), "utf8"));
  const values = rules.rules.filter((r) => r.source.mtype).flatMap((r) => r.source.mtype);
  const matrix = JSON.stringify(mapPreset(preset, [...new Set(values), "thalamus"], "mtype", {}), null, 2);
  console.log(`preset as rules: ${text.length} bytes (as the matrix: ${matrix.length} bytes); Apply: ${work.toFixed(1)} ms of main-thread tasks (style, layout and paint ${rendering.toFixed(1)} ms), the longest ${longest.toFixed(1)} ms`);
  assert.equal(new Set(values).size, 37);
  assert.ok(text.length < 16_000 && matrix.length > 1_000_000, `${text.length} bytes against ${matrix.length}`);
  // The target is 100 ms (measured 57–92 ms on this 2-core machine, printed above); a test on a
  // shared CI machine guards against the matrix's 2.4 s with room for load, not the target itself.
  assert.ok(work < 400, `Apply took ${work.toFixed(1)} ms of main-thread work`);
  assert.equal(rules.rules_version, 1);
  assert.equal(rules.random_seed, 1);
  assert.deepEqual(rules.classes.map((c) => c.name), ["EXC → EXC", "EXC → INH", "INH → EXC", "INH → INH"]);
  assert.equal(rules.classes[1].props.u_syn.norm_loc, 0.09, "E → I: class E1");
  // The coverage view: the rules by name with their class, every one applying; VPM and POm's synapses covered.
  const shown = await page.$$eval("#rules-table tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent, tr.cells[5].textContent]));
  assert.deepEqual(shown.map(([rule, cls]) => [rule.replace(/^rules\[\d+\] \((.*)\)$/, "$1"), cls]), [
    ["POm, VPM (EXC) → EXC", "EXC → EXC"], ["POm, VPM (EXC) → INH", "EXC → INH"],
    ["EXC → EXC", "EXC → EXC"], ["EXC → INH", "EXC → INH"], ["INH → EXC", "INH → EXC"], ["INH → INH", "INH → INH"]]);
  assert.ok(shown.every(([, , state]) => state === "applies"), shown.map((s) => s[2]).join(", "));
  const coverage = await page.$$eval("#coverage-table tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, Number(tr.cells[1].textContent.replace(/,/g, "")), tr.dataset.state ?? ""]));
  assert.ok(coverage.some(([pathway]) => /POm/.test(pathway) && /VPM/.test(pathway)), coverage.map((c) => c[0]).join("\n"));
  assert.ok(coverage.every(([, , state]) => state !== "uncovered"));
  const covered = coverage.reduce((sum, [, synapses]) => sum + synapses, 0);
  const inCircuit = [...(await page.textContent("#circuit")).matchAll(/__chemical: \S+ → S1, ([\d,]+) synapses/g)].reduce((sum, m) => sum + Number(m[1].replace(/,/g, "")), 0);
  assert.equal(covered, inCircuit, "the coverage counts every synapse of the circuit");
  await page.close();

  const work2 = await mkdtemp(join(tmpdir(), "synparam-preset-rules-"));
  const rulesFile = join(work2, "preset_rules.json");
  await writeFile(rulesFile, text);
  const { fromCli, seed } = await zipEqualsCommand(circuit, [], {
    config: rulesFile,
    async prepare(page) {
      await applyPresetAsRules(page);
      assert.equal(await page.inputValue("#config"), text, "the same rules from the same circuit");
    },
  });
  assert.equal(seed, "1");
  assert.deepEqual(Object.keys(fromCli.parameterized).sort(), ["POm__S1__chemical", "S1__S1__chemical", "VPM__S1__chemical"], "VPM and POm parameterized");
  const synapses = Object.values(fromCli.parameterized).reduce((sum, p) => sum + p.synapses, 0);
  assert.equal(synapses, covered, "every synapse the coverage counted, the thalamic ones too");
  assert.equal(fromCli.pathway_property, "rules");
});

test("an obi-one SynapseParameterization config pasted in the page: assigners as rules, the shadowed ones marked, the differences from obi-one listed, and it runs", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  await page.setInputFiles("#folder", obiOne);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  await paste(page, "#config", await readFile(new URL("../fixtures/recipes/obi_one_config_obi_one_fixture.json", import.meta.url), "utf8"));
  await page.waitForFunction(() => document.querySelectorAll("#rules-table tbody tr").length === 4);
  const rules = await page.$$eval("#rules-table tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[5].textContent, tr.dataset.state ?? ""]));
  assert.deepEqual(rules.map((r) => r[2]), ["unused", "unused", "", ""], "the defaults and all_pairs are shadowed by the neuron-set assigners");
  assert.deepEqual(rules.slice(2).map((r) => r[0]), ["synapse_model_assigners.inhibitory_pathways", "synapse_model_assigners.excitatory_pathways"]);
  const pathways = await page.$$eval("#coverage-table tbody tr", (trs) => trs.map((tr) => tr.cells[0].textContent).sort());
  assert.deepEqual(pathways, ["population=S1nonbarrel_neurons; synapse_class=EXC → all", "population=S1nonbarrel_neurons; synapse_class=INH → all"]);
  assert.match(await page.textContent("#rules-notes"), /obi-one clamps/);
  assert.match(await page.textContent("#config-status"), /^valid: u_hill_coefficient, conductance/);
  await page.check("#overwrite");
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  // Only the assigners' edge population is parameterized: its synapses, as the coverage counted them.
  const counted = await page.$$eval("#coverage-table tbody tr", (trs) => trs.reduce((sum, tr) => sum + Number(tr.cells[1].textContent.replace(/,/g, "")), 0));
  assert.match(await page.textContent("#status"), new RegExp(`^${counted} synapses in`));
  assert.equal(await page.$$eval("#downloads a[download$='.h5']", (links) => links.length), 1, "one edges file written");
  await page.close();
});

/** Shell words of a command line as reproduce.js quotes them (plain words, '…' with '\'' inside). */
function shellWords(line) {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]));
}

test("Copy as command and Copy as Python give lines that redo the page's run bit for bit, with the model saved beside them", async () => {
  const multi = new URL("../fixtures/out/multi/", import.meta.url).pathname;
  const work = await mkdtemp(join(tmpdir(), "synparam-redo-"));
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", multi);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  // A matrix model (a preset applied in the page is rules, to which the pathway property and the
  // fallback value do not apply): every setting of the page then shows in the lines.
  await paste(page, "#config", await readFile(new URL("../../www/presets/tsodyks_markram.json", import.meta.url), "utf8"));
  await page.fill("#seed", "23");
  await page.dispatchEvent("#seed", "change");
  await page.fill("#fallback", "INH");
  await page.dispatchEvent("#fallback", "change");
  await page.waitForFunction(() => !document.getElementById("run").disabled && /INH/.test(document.querySelector(".setting-source[data-setting='fallback']").textContent + document.getElementById("fallback").value));
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await page.click("#reproduce summary");
  const [modelDownload] = await Promise.all([page.waitForEvent("download"), page.click("#copy-command")]);
  const command = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(command, await page.textContent("#reproduce-command"));
  assert.match(command, /^npx synparam --circuit circuit\/circuit_config\.json --config model\.json --out parameterized --seed 23 --pathway-property synapse_class --fallback-value INH$/);
  assert.equal(modelDownload.suggestedFilename(), "model.json");
  await modelDownload.saveAs(join(work, "model.json"));
  const python = await page.textContent("#reproduce-python");
  const [zip] = await Promise.all([page.waitForEvent("download"), page.click("#zip")]);
  await zip.saveAs(join(work, "page.zip"));
  await page.close();

  // The command, as copied (the circuit and output folder put in), writes the page's files.
  const words = shellWords(command).slice(2).map((w) => (w === "circuit/circuit_config.json" ? join(multi, "circuit_config.json") : w === "model.json" ? join(work, "model.json") : w === "parameterized" ? join(work, "cli") : w));
  await main(words, () => {});
  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(await readFile(join(work, "page.zip")))));
  for (const entry of await reader.getEntries()) {
    if (entry.directory || entry.filename === "parameterization.json") continue;
    assert.ok(Buffer.from(await entry.getData(new Uint8ArrayWriter())).equals(await readFile(join(work, "cli", entry.filename))), `${entry.filename}: byte for byte`);
  }
  await reader.close();
  // Python, as copied: the same datasets (h5py lays bytes out apart: their content digests agree).
  const script = python.replace('"circuit/circuit_config.json"', JSON.stringify(join(multi, "circuit_config.json")))
    .replace('"model.json"', JSON.stringify(join(work, "model.json"))).replace('"parameterized"', JSON.stringify(join(work, "python")));
  const { execFileSync } = await import("node:child_process");
  execFileSync(new URL("../../.venv/bin/python", import.meta.url).pathname, ["-c", script], { stdio: "pipe" });
  const digests = async (dir) => JSON.parse(await readFile(join(dir, "parameterization.json"), "utf8")).datasets;
  assert.deepEqual(await digests(join(work, "python")), await digests(join(work, "cli")));
});

test("keyboard: skip links reach the model's grid, Parameterize and the results; Enter on a cell puts the focus in its form, Escape brings it back", async () => {
  const page = await browser.context.newPage();
  await openPage(page);
  // The example circuit loaded and the run plan shown: the layout the form is measured in is final.
  await page.waitForSelector("#editor-matrix button.cell[tabindex='0'] .cell-count");
  await page.waitForSelector("#run-plan:not([hidden])");
  const active = () => page.evaluate(() => ({ id: document.activeElement.id, text: document.activeElement.textContent.trim(), cell: document.activeElement.matches("button.cell"), name: document.activeElement.name ?? null }));
  await page.keyboard.press("Tab");
  assert.equal((await active()).text, "Skip to the model", "the first tab stop");
  await page.keyboard.press("Enter");
  assert.equal((await active()).cell, true, "two key presses to the first matrix cell");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  assert.equal(await page.isHidden("#cell-form"), false);
  assert.deepEqual(await active(), { id: "", text: (await active()).text, cell: false, name: "type" }, "Enter: the focus is in the cell's form");
  const formBox = await page.$eval("#cell-form", (f) => f.getBoundingClientRect().toJSON());
  assert.ok(formBox.top < (await page.evaluate(() => innerHeight)), "the form is in view");
  // Clicked at the bottom of the window, the form opens whole above the sticky run bar.
  await page.keyboard.press("Escape");
  await page.evaluate(() => {
    const cell = document.querySelector("#editor-matrix button.cell[tabindex='0']");
    const bar = document.querySelector(".run-bar").getBoundingClientRect();
    scrollBy(0, cell.getBoundingClientRect().bottom - bar.top + 4);
  });
  const hiddenBefore = await page.evaluate(() => {
    const form = document.getElementById("cell-form");
    return form.hidden;
  });
  assert.equal(hiddenBefore, true);
  await page.click("#editor-matrix button.cell[tabindex='0']", { position: { x: 5, y: 5 } });
  await page.waitForFunction(() => !document.getElementById("cell-form").hidden);
  const [form, bar, view] = await page.evaluate(() => [document.getElementById("cell-form").getBoundingClientRect().toJSON(), document.querySelector(".run-bar").getBoundingClientRect().toJSON(),
    { scrollY, innerHeight, scrollHeight: document.documentElement.scrollHeight }]);
  assert.ok(form.bottom <= bar.top || form.top <= 8, `the form (${form.top}–${form.bottom}) is above the run bar (${bar.top}); the window ${JSON.stringify(view)}`);
  // The bar grows under the open form (as when the run plan appears): the form is kept above it.
  await page.evaluate(() => { document.querySelector(".run-bar").style.paddingTop = "100px"; });
  await page.waitForFunction(() => {
    const [form, bar] = [document.getElementById("cell-form"), document.querySelector(".run-bar")].map((e) => e.getBoundingClientRect());
    return form.bottom <= bar.top || form.top <= 8;
  });
  await page.evaluate(() => { document.querySelector(".run-bar").style.paddingTop = ""; });
  await page.keyboard.press("Escape");
  assert.equal((await active()).cell, true, "Escape: back on its cell");
  assert.equal(await page.isHidden("#cell-form"), true);
  await page.focus("[data-skip='run']");
  await page.keyboard.press("Enter");
  assert.equal((await active()).id, "run");
  await page.focus("[data-skip='results']");
  await page.keyboard.press("Enter");
  assert.equal((await active()).id, "results-heading");
  await page.close();
});

test("Fit from this circuit with delay=lin_delay: each pathway's delay against the distance to the synapse, the command's model byte for byte", async () => {
  const geometry = new URL("../fixtures/out/obi_one_geometry/", import.meta.url).pathname;
  const work = await mkdtemp(join(tmpdir(), "synparam-fit-delay-"));
  await main(["--circuit", join(geometry, "circuit_config.json"), "--fit", join(work, "model.json"), "--pathway-property", "mtype", "--fit-laws", "delay=lin_delay"], () => {});
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", geometry);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  await page.selectOption("#pathway-property", "mtype");
  await page.click("#fit-open");
  await page.fill("#fit-laws", "delay=lin_delay");
  await page.click("#fit-run");
  await page.waitForFunction(() => /^fitted /.test(document.getElementById("fit-status").textContent) || document.getElementById("fit-status").className === "error");
  assert.match(await page.textContent("#fit-status"), /^fitted /);
  const fitted = JSON.parse(await page.inputValue("#config"));
  assert.equal(JSON.stringify(fitted), JSON.stringify(JSON.parse(await readFile(join(work, "model.json"), "utf8"))));
  assert.ok(Object.values(fitted.prop_stats.delay).every((byTarget) => Object.values(byTarget).every((spec) => spec.type === "lin_delay")));
  // Empirical mode from the dialog: lin_delay cannot follow rows (refused, named), without it the
  // command's --fit-mode empirical model; the table names each pathway's rows, not their values.
  await page.selectOption("#fit-mode", "empirical");
  await page.click("#fit-run");
  await page.waitForFunction(() => document.getElementById("fit-status").className === "error");
  assert.match(await page.textContent("#fit-status"), /ConfigError: .*empirical mode draws observed rows/);
  await main(["--circuit", join(geometry, "circuit_config.json"), "--fit", join(work, "empirical.json"), "--pathway-property", "mtype", "--fit-mode", "empirical"], () => {});
  await page.fill("#fit-laws", "");
  await page.click("#fit-run");
  await page.waitForFunction(() => /^fitted /.test(document.getElementById("fit-status").textContent));
  assert.equal(JSON.stringify(JSON.parse(await page.inputValue("#config"))), JSON.stringify(JSON.parse(await readFile(join(work, "empirical.json"), "utf8"))));
  assert.match(await page.textContent("#fit-table"), /empirical: \d+ rows of table '(connections|synapses)'/);
  await page.close();
});

test("Fit from this circuit: the model fitted from an obi-one circuit's edges lands in the editor (undoable), equals the command's --fit, with a data-vs-model view and downloads", async () => {
  const obiOne = new URL("../fixtures/out/obi_one/", import.meta.url).pathname;
  const work = await mkdtemp(join(tmpdir(), "synparam-fit-"));
  await main(["--circuit", join(obiOne, "circuit_config.json"), "--fit", join(work, "model.json"), "--pathway-property", "mtype"], () => {});
  const page = await browser.context.newPage();
  await openPage(page);
  await page.setInputFiles("#folder", obiOne);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  await page.selectOption("#pathway-property", "mtype");
  const before = await page.inputValue("#config");
  await page.click("#fit-open");
  assert.equal(await page.textContent("#fit-property"), "mtype");
  await page.click("#fit-run");
  await page.waitForFunction(() => /^fitted /.test(document.getElementById("fit-status").textContent) || document.getElementById("fit-status").className === "error");
  assert.match(await page.textContent("#fit-status"), /^fitted conductance, .* over 25 pathways of S1nonbarrel_neurons__S1nonbarrel_neurons__chemical \(\d+ from their own data/);
  // The same model as the command's, byte for byte (one core decides).
  assert.equal(JSON.stringify(JSON.parse(await page.inputValue("#config"))), JSON.stringify(JSON.parse(await readFile(join(work, "model.json"), "utf8"))));
  await page.waitForFunction(() => /^valid: conductance/.test(document.getElementById("config-status").textContent));
  // Data vs model: the data's means as a heat map, a row per pathway with its law and fallback.
  assert.ok(await page.$("#fit-view svg[role='img']"));
  assert.equal(await page.$$eval("#fit-table tr", (rows) => rows.length), 26);
  assert.deepEqual(await page.$$eval("#fit-downloads a", (links) => links.map((a) => a.download)), ["fitted_model.json", "fit_report.json"]);
  // Undo takes it back.
  await page.click("#undo");
  assert.equal(await page.inputValue("#config"), before);
  await page.click("#redo");
  assert.match(await page.inputValue("#config"), /"L5_TPC:A"/);
  await page.close();
});
