// What the page costs to load: every response the server sends while headless Chromium opens the
// page (up to "ready": the example circuit loaded and the editor complete), runs it once (results and
// histograms shown) and, with --zip, builds the zip; per file the bytes on disk, the bytes sent
// (precompressed when the server has a copy and the browser accepts it) and gzip -9 / brotli sizes.
//
//   node benches/page_bytes.mjs [--root site] [--zip] [--json out.json]
//
// --root serves one directory (the static site of `make site`, with its .br/.gz copies); without
// it, the project's dev mounts (www/, dist/, pkg/). `make size-page` runs it on site/.
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { openBrowser } from "../tests/node/browser.mjs";

/**
 * Open the page in `browser` (tests/node/browser.mjs's openBrowser, whose server records into
 * `requests`), run it once, optionally build the zip. Returns the records of each phase:
 * {ready, results, zip}, each an array of the server's request records (url, status, size, bytes,
 * encoding), plus `pageErrors`.
 */
export async function loadAndRun(browser, requests, { zip = false, query = "" } = {}) {
  const page = await browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  // Answered requests only: a record is complete once its response has finished.
  const settled = async () => {
    for (let i = 0; i < 100 && requests.some((r) => r.status === undefined); i++) await new Promise((r) => setTimeout(r, 20));
    return requests.splice(0);
  };
  requests.splice(0);
  const start = performance.now();
  await page.goto(`${browser.base}${query}`);
  await page.waitForSelector("body[data-ready='true']", { timeout: 60_000 });
  const readyMs = performance.now() - start;
  const ready = await settled();
  await page.click("#run");
  await page.waitForFunction(() => /synapses in/.test(document.getElementById("status").textContent), null, { timeout: 60_000 });
  await page.waitForSelector("#histograms[data-complete='true']", { timeout: 60_000 });
  const results = await settled();
  let zipped = [];
  if (zip) {
    await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.click("#zip")]);
    zipped = await settled();
  }
  await page.close();
  return { ready, results, zip: zipped, pageErrors, readyMs };
}

/** Sum of a phase's records: responses, bytes on disk of the files sent (a 304 sends none), bytes
 * sent. */
export function totals(records) {
  return records.reduce((t, r) => ({ responses: t.responses + 1, size: t.size + (r.status === 200 ? r.size ?? 0 : 0), bytes: t.bytes + (r.bytes ?? 0) }), { responses: 0, size: 0, bytes: 0 });
}

const compressedSizes = new Map();
/** gzip -9 and brotli (quality 11) sizes of a served file, from the server's own mounts. */
async function compressed(path) {
  if (!compressedSizes.has(path)) {
    const data = await readFile(path);
    compressedSizes.set(path, {
      gzip: gzipSync(data, { level: 9 }).length,
      br: brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }).length,
    });
  }
  return compressedSizes.get(path);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const option = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const root = option("--root");
  const requests = [];
  const browser = await openBrowser({ requests, ...(root ? { mounts: { "/": resolve(root) } } : {}) });
  let phases;
  try {
    phases = await loadAndRun(browser, requests, { zip: process.argv.includes("--zip") });
  } finally {
    await browser.close();
  }
  const { mounts } = root ? { mounts: { "/": resolve(root) } } : await import("../www/tools/serve.mjs").then((m) => ({ mounts: m.PROJECT_MOUNTS }));
  const fileOf = (url) => {
    const path = decodeURIComponent(url.split(/[?#]/)[0]);
    for (const [prefix, dir] of Object.entries(mounts)) if (path.startsWith(prefix)) return resolve(dir, `./${path.slice(prefix.length) || "index.html"}`);
    return null;
  };
  const report = {};
  const pad = (s, n) => String(s).padStart(n);
  console.log(`page served from ${root ?? "the dev mounts (www/, dist/, pkg/)"}; bytes: on disk / sent / gzip -9 / brotli 11`);
  for (const [phase, records] of Object.entries(phases)) {
    if (!Array.isArray(records) || !records.length) continue;
    const rows = [];
    for (const r of records) {
      const sizes = r.status === 200 ? await compressed(fileOf(r.url)) : { gzip: 0, br: 0 };
      rows.push({ url: r.url, status: r.status, encoding: r.encoding ?? null, size: r.status === 200 ? r.size ?? 0 : 0, bytes: r.bytes ?? 0, ...sizes });
    }
    const sum = rows.reduce((t, r) => ({ size: t.size + r.size, bytes: t.bytes + r.bytes, gzip: t.gzip + r.gzip, br: t.br + r.br }), { size: 0, bytes: 0, gzip: 0, br: 0 });
    report[phase] = { files: rows, total: sum };
    console.log(`\n${phase === "ready" ? "up to ready" : phase === "results" ? "first run (after ready) to results and histograms" : "zip"}:`);
    for (const r of rows) console.log(`${pad(r.status, 4)} ${pad(r.size, 9)} ${pad(r.bytes, 9)} ${pad(r.gzip, 9)} ${pad(r.br, 9)} ${(r.encoding ?? "").padEnd(4)} ${r.url}`);
    console.log(`     ${pad(sum.size, 9)} ${pad(sum.bytes, 9)} ${pad(sum.gzip, 9)} ${pad(sum.br, 9)}      total (${rows.length} responses)`);
  }
  const first = ["ready", "results"].map((p) => report[p]?.total).filter(Boolean)
    .reduce((t, s) => ({ size: t.size + s.size, bytes: t.bytes + s.bytes, gzip: t.gzip + s.gzip, br: t.br + s.br }), { size: 0, bytes: 0, gzip: 0, br: 0 });
  report.firstRun = first;
  report.readyMs = Math.round(phases.readyMs);
  console.log(`\nto the first run's results: ${first.size} bytes on disk, ${first.bytes} sent, ${first.gzip} gzip -9, ${first.br} brotli`);
  console.log(`ready ${report.readyMs} ms after navigation (this machine, local server: no network time)`);
  if (phases.pageErrors.length) console.log(`page errors: ${phases.pageErrors.join("; ")}`);
  const out = option("--json");
  if (out) await writeFile(out, JSON.stringify(report, null, 2));
}
