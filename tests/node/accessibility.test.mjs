// Accessibility of the page and of <synparam-panel>, checked with axe-core (WCAG 2.1 A and AA
// rules) in Chromium: in their first state, with results shown, and with the preset mapping and
// the cell editor open, in light and dark colour schemes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { openBrowser } from "./browser.mjs";

const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
let browser;
before(async () => { browser = await openBrowser(); });
after(async () => { await browser?.close(); });

/** axe-core's violations in `page` within `include` (a selector), as "rule: target — summary". */
async function violations(page, include = "body") {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays as it is.
  const found = await page.evaluate(async ({ source, include }) => {
    if (!globalThis.axe) (0, eval)(source);
    const result = await globalThis.axe.run({ include: [[include]] }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")} — ${n.failureSummary.split("\n").slice(1).join(" ").trim()}`));
  }, { source: axeSource, include });
  return found;
}

for (const colorScheme of ["light", "dark"]) {
  test(`the page passes axe-core's WCAG 2.1 AA rules (${colorScheme}): at first, with the preset mapping and the cell editor open, and with results`, async () => {
    const page = await browser.context.newPage();
    await page.emulateMedia({ colorScheme });
    await page.goto(browser.base);
    await page.waitForSelector("body[data-ready='true']");
    await page.waitForFunction(() => /Edge populations/.test(document.getElementById("circuit").textContent));
    await page.waitForFunction(() => /^valid/.test(document.getElementById("config-status").textContent));
    assert.deepEqual(await violations(page), [], "first state");
    await page.click("#apply-preset");
    await page.waitForSelector("#preset-mapping:not([hidden])");
    await page.click("#editor-matrix button.cell");
    await page.waitForSelector("#cell-preview svg");
    assert.deepEqual(await violations(page), [], "preset mapping and cell editor open");
    await page.click("#preset-cancel");
    await page.click("#run");
    await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent));
    await page.waitForSelector("#histograms[data-complete='true']");
    assert.deepEqual(await violations(page), [], "with results");
    await page.close();
  });
}

test("<synparam-panel> in a host page passes axe-core's WCAG 2.1 AA rules (its shadow DOM), before and after a run", async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${browser.base}embed.html`);
  await page.waitForFunction(() => document.getElementById("panel")?.shadowRoot?.querySelector("#run")?.disabled === false);
  assert.deepEqual(await violations(page, "synparam-panel"), [], "first state");
  await page.evaluate(() => { document.getElementById("panel").circuitUrl = "examples/synaptome/circuit_config.json"; });
  await page.waitForFunction(() => /Edge populations/.test(document.getElementById("panel").shadowRoot.getElementById("circuit").textContent));
  await page.evaluate(() => document.getElementById("panel").shadowRoot.getElementById("run").click());
  await page.waitForFunction(() => document.getElementById("panel").shadowRoot.getElementById("histograms").dataset.complete === "true");
  assert.deepEqual(await violations(page, "synparam-panel"), [], "with results");
  await page.close();
});
