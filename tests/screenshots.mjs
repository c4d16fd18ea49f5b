// The README's screenshots (`make screenshots`): the page on a BBP-like circuit with 37 mtypes and
// three edge populations (tests/fixtures/make_cortex.py), the Tsodyks–Markram by-class preset
// applied by mtype as rules (the virtual VPM and POm classed in the dialog): before a run (the
// model wide, what the run does with each population), after a run (side by side) at 1280×800 and
// 1920×1080, light and dark; the matrix editor with a cell open (the preset itself, by
// synapse_class); a recipe from another circuit with its names to map, and one pathway changed
// with a later rule; a scan of the bundled example, its points compared. Writes docs/screenshots/.
import { readFile } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { openBrowser } from "./node/browser.mjs";

const cortex = new URL("./fixtures/out/cortex/", import.meta.url).pathname;
const out = new URL("../docs/screenshots/", import.meta.url).pathname;
await mkdir(out, { recursive: true });
const browser = await openBrowser();
try {
  const page = await browser.context.newPage();
  /** An element taller than the window, shot without the sticky run bar drawn over its middle. */
  const withoutRunBar = async (shoot, on = page) => {
    // Through the CSSOM: the page's Content-Security-Policy refuses inline style sheets.
    const hide = (hidden) => on.evaluate((h) => { document.querySelector(".run-bar").style.visibility = h ? "hidden" : ""; }, hidden);
    await hide(true);
    try {
      await shoot();
    } finally {
      await hide(false);
    }
  };
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(browser.base);
  await page.waitForSelector("body[data-ready='true']");
  await page.setInputFiles("#folder", cortex);
  await page.waitForFunction(() => /POm__S1__chemical/.test(document.getElementById("circuit").textContent));
  await page.selectOption("#pathway-property", "mtype");
  await page.selectOption("#preset", "tsodyks_markram_by_class");
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  await withoutRunBar(() => page.locator("#preset-mapping").screenshot({ path: `${out}preset_mapping.png` }));
  await page.click("#preset-confirm");
  await page.waitForSelector("#preset-mapping", { state: "hidden" });
  await page.waitForFunction(() => /^valid/.test(document.getElementById("config-status").textContent));
  await page.waitForFunction(() => !document.getElementById("run-plan").hidden && !document.getElementById("run").disabled);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${out}before_run_1280.png` });
  await page.click("#run");
  if (await page.$eval("#skip-confirm", (d) => d.open)) await page.click("#skip-confirm-run");
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  await page.waitForSelector("#histograms[data-complete='true']", { timeout: 120_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${out}results.png` });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${out}results_1920.png` });
  await page.setViewportSize({ width: 1280, height: 800 });
  // The matrix editor: the preset itself, by synapse_class, a cell open.
  const preset = await readFile(new URL("../www/presets/tsodyks_markram_by_class.json", import.meta.url), "utf8");
  await page.fill("#config", JSON.stringify({ pathway_param_dict: JSON.parse(preset), pathway_property: "synapse_class", random_seed: 1 }, null, 2));
  await page.dispatchEvent("#config", "input");
  await page.waitForSelector("#editor-matrix button.cell[data-source='EXC'][data-target='INH']");
  await page.selectOption("#editor-property", "u_syn");
  await page.click("#editor-matrix button.cell[data-source='EXC'][data-target='INH']");
  await page.waitForSelector("#cell-preview svg");
  await withoutRunBar(() => page.locator("section[aria-labelledby='model-heading']").screenshot({ path: `${out}editor.png` }));
  await page.locator("#histograms figure.property-figure").first().scrollIntoViewIfNeeded();
  await page.locator("#histograms figure.property-figure").first().screenshot({ path: `${out}figures.png` });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: `${out}results_dark.png` });
  await page.emulateMedia({ colorScheme: "light" });

  // A recipe from another circuit (functionalizer's, EXC and INH) on the bundled example
  // (excitatory_neuron, …): the names to map, filled in, before Map these names.
  const names = await browser.context.newPage();
  await names.setViewportSize({ width: 1280, height: 800 });
  await names.goto(browser.base);
  await names.waitForSelector("#editor-matrix .cell-count");
  await names.setInputFiles("#config-file", new URL("./fixtures/recipes/fz_recipe_uhill.yaml", import.meta.url).pathname);
  await names.waitForSelector("#rules-names:not([hidden])");
  await names.fill("#names-table input[data-name='EXC']", "excitatory_neuron, extrinsic_*");
  await names.fill("#names-table input[data-name='INH']", "inhibitory_neuron");
  await withoutRunBar(() => names.locator("#rules-coverage").screenshot({ path: `${out}recipe_names.png` }), names);
  // Mapped, then one pathway changed with a later rule.
  await names.click("#apply-aliases");
  await names.waitForFunction(() => document.querySelectorAll("#coverage-table tbody tr").length > 0 && /^valid/.test(document.getElementById("config-status").textContent));
  await names.locator("#coverage-table button[aria-label^='change ']").first().click();
  await names.waitForSelector("#later-rule:not([hidden])");
  await withoutRunBar(() => names.locator("#rules-coverage").screenshot({ path: `${out}later_rule.png` }), names);
  await names.close();

  // A matrix model by synapse_class on the cortex circuit: thalamic VPM and POm have none; each
  // gets a fallback value of its own from the run plan's remedy (#24).
  const thalamus = await browser.context.newPage();
  await thalamus.setViewportSize({ width: 1280, height: 800 });
  await thalamus.goto(browser.base);
  await thalamus.waitForSelector("body[data-ready='true']");
  await thalamus.setInputFiles("#folder", cortex);
  await thalamus.waitForFunction(() => /POm__S1__chemical/.test(document.getElementById("circuit").textContent));
  const matrix = await readFile(new URL("../www/presets/tsodyks_markram.json", import.meta.url), "utf8");
  await thalamus.fill("#config", JSON.stringify({ pathway_param_dict: JSON.parse(matrix), pathway_property: "synapse_class", random_seed: 1 }, null, 2));
  await thalamus.dispatchEvent("#config", "input");
  for (const [population, value] of [["VPM", "EXC"], ["POm", "INH"]]) {
    const item = `#run-plan li[data-population='${population}__S1__chemical']`;
    await thalamus.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === "skipped", item);
    await thalamus.click(`${item} button:not([aria-label])`);
    await thalamus.keyboard.type(value);
    await thalamus.keyboard.press("Tab");
    await thalamus.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === "parameterized", item);
  }
  await thalamus.locator("#fallback-populations").scrollIntoViewIfNeeded();
  await thalamus.screenshot({ path: `${out}fallback_per_population.png` });
  await thalamus.close();
  // A scan of the bundled example: a grid of the I→E conductance's mean × std, every point run in
  // the page, the points compared; the axes pick mean = 3 (its points highlighted).
  const scan = await browser.context.newPage();
  await scan.setViewportSize({ width: 1280, height: 800 });
  await scan.goto(browser.base);
  await scan.waitForSelector("body[data-ready='true']");
  await scan.waitForSelector("#editor-matrix .cell-count");
  const example = JSON.parse(await readFile(new URL("../www/presets/seed_example.json", import.meta.url), "utf8"));
  Object.assign(example.pathway_param_dict.prop_stats.conductance.inhibitory_neuron.excitatory_neuron, { mean: [1.5, 2.0, 3.0], std: [0.3, 0.6] });
  await scan.fill("#config", JSON.stringify({ ...example, scan: "grid" }, null, 2));
  await scan.dispatchEvent("#config", "input");
  await scan.waitForFunction(() => !document.getElementById("scan-plan").hidden && !document.getElementById("run").disabled);
  await scan.click("#run");
  await scan.waitForSelector("#scan-view[data-complete='true']");
  await scan.click(".split-choice button[data-split='results']");
  await scan.selectOption("#scan-axis-0", "2");
  await scan.waitForFunction(() => document.getElementById("scan-view").dataset.selected.split(" ").length === 2 && document.getElementById("scan-view").dataset.complete === "true");
  await withoutRunBar(() => scan.locator("#scan-view").screenshot({ path: `${out}scan_view.png` }), scan);
  await scan.close();
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
}
