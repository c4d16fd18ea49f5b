// The page with per-synapse edge attributes (Playwright, Debian's Chromium): the cell editor
// offers the delay laws of distance (their parameters from the core's schema, one draw per
// synapse by default) and `scale_by`, validated by the core as typed; a run on a circuit with
// obi-one's structure and geometry shows each delay pathway's drawn delays against the distance
// from the presynaptic soma, with the model's mean line.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { openBrowser, artifacts, paste, clickRun } from "./browser.mjs";

const BIO = "S1nonbarrel_neurons";
const S1 = `${BIO}__${BIO}__chemical`;
const LIN = { type: "lin_delay", delay_mean_coeff_a: 1.0, delay_mean_coeff_b: 0.0035, delay_std: 0.2, delay_min: 0.1 };
const everywhere = (spec) => ({ EXC: { EXC: spec, INH: spec }, INH: { EXC: spec, INH: spec } });
const CONFIG = {
  pathway_param_dict: { src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: { delay: everywhere(LIN), conductance: everywhere({ type: "gamma", mean: 1, std: 0.3, shared_within: false }) } },
  pathway_property: "synapse_class", random_seed: 3, overwrite_if_exists: true, edge_populations: [S1],
};

let browser;
before(async () => { browser = await openBrowser(); });
after(async () => { await browser?.close(); });

test("the cell editor knows the delay laws and scale_by, the core validating them; a run shows delay against distance with the model's mean", async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(browser.base);
  await page.waitForSelector("body[data-ready='true']");
  await page.setInputFiles("#folder", new URL("../fixtures/out/obi_one_geometry/", import.meta.url).pathname);
  await page.waitForFunction(() => /__/.test(document.getElementById("circuit").textContent));
  await paste(page, "#config", JSON.stringify(CONFIG, null, 2));
  await page.waitForFunction(() => /^valid:/.test(document.getElementById("config-status").textContent));
  // The delay cells: the law with its short parameter names, drawn per synapse.
  await page.selectOption("#editor-property", "delay");
  const label = await page.textContent("#editor-matrix button[data-source='EXC'][data-target='INH'] .cell-label");
  assert.equal(label, "lin_delay(a 1, b 0.0035, sd 0.2, min 0.1)");
  await page.click("#editor-matrix button[data-source='EXC'][data-target='INH']");
  assert.equal(await page.inputValue("#cell-form select[name='type']"), "lin_delay");
  assert.equal(await page.inputValue("input[name='field-delay_mean_coeff_b']"), "0.0035");
  assert.equal(await page.isChecked("#cell-form input[name='shared_within']"), false, "a law of distance is drawn per synapse");
  await page.waitForFunction(() => /lin_delay: N\(μ = 1 \+ 0\.0035·distance_soma/.test(document.getElementById("cell-hint").textContent));
  // The core's checks, as typed: a negative std, and a shared draw of a per-synapse law.
  await page.fill("input[name='field-delay_std']", "-1");
  await page.waitForFunction(() => /delay_std: must be ≥ 0 for lin_delay, got -1/.test(document.getElementById("cell-error").textContent));
  await page.fill("input[name='field-delay_std']", "0.2");
  await page.check("#cell-form input[name='shared_within']");
  await page.waitForFunction(() => /shared_within: lin_delay depends on each synapse's distance_soma/.test(document.getElementById("cell-error").textContent));
  assert.equal(await page.isDisabled("#cell-form button[data-scope='cell']"), true);
  await page.uncheck("#cell-form input[name='shared_within']");
  // functionalizer's law: its parameters from the schema, one draw per synapse when chosen.
  await page.selectOption("#cell-form select[name='type']", "fz_delay");
  assert.deepEqual(await page.$$eval("#cell-fields input", (inputs) => inputs.map((i) => i.name)), ["field-neural_transmitter_release_delay", "field-axonal_conduction_velocity"]);
  // scale_by on conductance: a table of distance, the core naming a malformed one.
  await page.selectOption("#editor-property", "conductance");
  await page.click("#editor-matrix button[data-source='EXC'][data-target='EXC']");
  await page.fill("#cell-form input[name='scale_attribute']", "distance_soma");
  await page.selectOption("#cell-form select[name='scale_kind']", "table");
  await page.fill("#cell-form input[name='scale_values']", "0 1, 500");
  await page.waitForFunction(() => /scale_by\.table\[1\]: must have 2 numbers, got 1/.test(document.getElementById("cell-error").textContent));
  await page.fill("#cell-form input[name='scale_values']", "0 1, 500 0.5");
  await page.waitForFunction(() => document.getElementById("cell-error").textContent === "");
  await page.click("#cell-form button[data-scope='cell']");
  const edited = JSON.parse(await page.inputValue("#config")).pathway_param_dict.prop_stats.conductance.EXC.EXC;
  assert.deepEqual(edited.scale_by, { attribute: "distance_soma", table: [[0, 1], [500, 0.5]] });
  assert.equal(edited.shared_within, false);
  assert.match(await page.textContent("#editor-matrix button[data-source='EXC'][data-target='EXC'] .cell-label"), /× f\(distance_soma\) per synapse$/);
  await page.waitForFunction(() => /^valid:/.test(document.getElementById("config-status").textContent));
  // The run: per delay pathway, the drawn delays against distance with the model's mean line.
  await clickRun(page);
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
  await page.selectOption("#property-filter", "delay");
  await page.waitForSelector("#histograms[data-complete='true']");
  const scatters = await page.$$eval("#histograms .attribute-scatter", (charts) => charts.map((c) => ({
    attribute: c.dataset.attribute,
    dots: c.querySelectorAll("g[data-mark='dot'] circle").length,
    lines: c.querySelectorAll("g[data-mark='line'] path").length,
    text: c.textContent,
  })));
  assert.ok(scatters.length >= 2, `${scatters.length} delay pathways with a scatter`);
  for (const chart of scatters) {
    assert.equal(chart.attribute, "distance_soma");
    assert.ok(chart.dots > 100, `${chart.dots} synapses drawn`);
    assert.equal(chart.lines, 1, "the model's mean line");
    assert.match(chart.text, /distance from the presynaptic soma \(µm\)/);
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(await browser.violations(page), []);
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: new URL("edge_attributes.png", artifacts).pathname, fullPage: true });
  await page.close();
});
