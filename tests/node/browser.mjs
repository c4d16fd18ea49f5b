// Shared Playwright setup: Debian's Chromium (no browser download), root-safe flags, a fresh
// profile, and the project's static server on a free port.
import { chromium } from "playwright-core";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../www/tools/serve.mjs";

export const artifacts = new URL("../artifacts/", import.meta.url);

/** Chromium and a static server (`serverOptions` as startServer's: mounts, protect, requests). */
export async function openBrowser(serverOptions = {}) {
  const server = await startServer(0, serverOptions);
  const userDataDir = await mkdtemp(join(tmpdir(), "synparam-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const base = `http://127.0.0.1:${server.address().port}/`;
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  // A wait that never gets there fails naming itself (selector, function, line) instead of
  // hanging until node --test's per-test timeout, which names nothing. Generous: a loaded 2-core
  // machine runs the slowest step watched here in well under a minute.
  context.setDefaultTimeout(Number(process.env.SYNPARAM_TEST_WAIT_MS ?? 180_000));
  // Every Content-Security-Policy violation, in pages and their workers: reported by the browser
  // as a "securitypolicyviolation" event and as a console message ("Refused to …").
  const violations = new WeakMap();
  const watch = (page) => {
    const found = [];
    violations.set(page, found);
    const record = (message) => { if (/Content Security Policy|Refused to/.test(message.text())) found.push(message.text()); };
    page.on("console", record);
    page.on("worker", (worker) => worker.on?.("console", record));
  };
  context.on("page", watch);
  for (const page of context.pages()) watch(page);
  // Every page starts without the page's kept state (tests are independent), unless a test keeps it
  // on purpose for a reload (sessionStorage "synparam-test-keep-state").
  await context.addInitScript(() => {
    try {
      if (!sessionStorage.getItem("synparam-test-keep-state")) localStorage.removeItem("synparam.page.v1");
    } catch { /* opaque origins */ }
  });
  await context.addInitScript(() => {
    globalThis.__cspViolations = [];
    globalThis.addEventListener?.("securitypolicyviolation", (e) => globalThis.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  return {
    context, base, server,
    /** The CSP violations seen in `page` (console and events) so far. */
    async violations(page) {
      const events = await page.evaluate(() => globalThis.__cspViolations ?? []).catch(() => []);
      return [...(violations.get(page) ?? []), ...events];
    },
    async close() { await context.close(); server.close(); },
  };
}

/** Paste `text` into the field `selector` as a user does (select all, Ctrl+V), and wait until the
 * field holds it. Not Playwright's fill: its execCommand("insertText") inserts line by line and
 * takes tens of seconds for a 55 KB model in Chromium 156 (a real paste takes milliseconds). */
export async function paste(page, selector, text) {
  await page.evaluate((value) => navigator.clipboard.writeText(value), text);
  await page.focus(selector);
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("ControlOrMeta+V");
  await page.waitForFunction(([field, value]) => document.querySelector(field).value === value, [selector, text]);
}

/**
 * Click Parameterize as a user does. A run that would leave edge populations out asks first
 * (nothing skipped in silence): with `skip` (default) the dialog's "Skip them" is chosen, and the
 * list it showed is returned; else the dialog is left open for the test. Resolves once the run
 * started (or the dialog is open), never on a fixed delay.
 */
export async function clickRun(page, { skip = true } = {}) {
  const before = await page.$eval("#status", (s) => s.textContent);
  await page.click("#run");
  await page.waitForFunction((previous) => document.getElementById("skip-confirm").open
    || document.getElementById("status").textContent !== previous, before);
  if (!(await page.$eval("#skip-confirm", (d) => d.open))) return [];
  const listed = await page.$$eval("#skip-confirm-list li", (items) => items.map((li) => li.textContent));
  if (skip) await page.click("#skip-confirm-run");
  return listed;
}

/**
 * The page's main-thread work while `act()` runs and until `settled()` resolves, from Chromium's
 * trace: `{work, longest, longestParts, longTasks, rendering}` in ms (tasks summed, the longest
 * task and its longest inner events as text, the durations of tasks over 50 ms, style + layout +
 * paint). The main thread is the renderer's that
 * dispatched `event` (a click by default).
 */
export async function mainThreadWork(page, act, settled, { event = "click" } = {}) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on("Tracing.dataCollected", ({ value }) => events.push(...value));
  const complete = new Promise((resolve) => cdp.once("Tracing.tracingComplete", resolve));
  await cdp.send("Tracing.start", { categories: "devtools.timeline,disabled-by-default-devtools.timeline", transferMode: "ReportEvents" });
  await act();
  await settled();
  await cdp.send("Tracing.end");
  await complete;
  await cdp.detach();
  const sum = (list) => list.reduce((total, e) => total + e.dur, 0) / 1000;
  const mains = events.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  const eventsOf = (thread) => events.filter((e) => e.pid === thread.pid && e.tid === thread.tid && e.ph === "X" && e.dur);
  const main = mains.find((thread) => eventsOf(thread).some((e) => e.name === "EventDispatch" && e.args?.data?.type === event));
  if (!main) throw new Error(`the page's main thread was not traced (no ${event} dispatched)`);
  const onMain = eventsOf(main);
  const tasks = onMain.filter((e) => e.name === "RunTask");
  // What the longest task spent its time on: its longest inner events, with the script's function.
  const longestTask = tasks.reduce((a, b) => (b.dur > (a?.dur ?? 0) ? b : a), null);
  const inside = longestTask ? onMain.filter((e) => e !== longestTask && e.ts >= longestTask.ts && e.ts + e.dur <= longestTask.ts + longestTask.dur) : [];
  return {
    work: sum(tasks), longest: (longestTask?.dur ?? 0) / 1000,
    longestParts: inside.sort((a, b) => b.dur - a.dur).slice(0, 8).map((e) => `${e.name}${e.args?.data?.functionName ? ` ${e.args.data.functionName}` : ""}${e.args?.data?.url ? ` ${e.args.data.url.split("/").pop()}:${e.args.data.lineNumber ?? ""}` : ""} ${(e.dur / 1000).toFixed(1)} ms`),
    longTasks: tasks.filter((e) => e.dur > 50_000).map((e) => e.dur / 1000),
    rendering: sum(onMain.filter((e) => ["UpdateLayoutTree", "Layout", "PrePaint", "Paint"].includes(e.name))),
  };
}

/** Wait until the text of `selector` is `expected` (a string) or matches it (a RegExp); on
 * timeout, fail saying what the text was, and what the status lines said. */
export async function waitForText(page, selector, expected) {
  const matcher = typeof expected === "string" ? { text: expected } : { source: expected.source, flags: expected.flags };
  try {
    await page.waitForFunction(([sel, m]) => {
      const text = document.querySelector(sel)?.textContent ?? null;
      return text !== null && (m.text !== undefined ? text === m.text : new RegExp(m.source, m.flags).test(text));
    }, [selector, matcher]);
  } catch (error) {
    const seen = await page.evaluate((sel) => [sel, "#config-status", "#status", "#circuit"].map((s) => `${s}: ${JSON.stringify(document.querySelector(s)?.textContent?.slice(0, 300) ?? null)}`).join("; "), selector).catch(() => "(the page is gone)");
    throw new Error(`waited for ${selector} to read ${expected}: ${seen} (${error.message.split("\n")[0]})`);
  }
}
