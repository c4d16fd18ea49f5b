// Safe to embed (issue 12): no data reaches markup, the host's credentials go to the circuit's
// origin only, the page and a strict host work under a Content-Security-Policy without 'unsafe-eval'
// or inline script, the dev server and the zip refuse malformed paths, what ships is declared, and
// the worker protocol routes every reply to its caller.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { build } from "esbuild";
import { openBrowser, paste } from "./browser.mjs";
import { startServer, PROJECT_MOUNTS, contentSecurityPolicy } from "../../www/tools/serve.mjs";
import { safeOutputPath } from "../../www/sonata/circuit_output.js";
import { resolveConfigPath } from "../../pkg/synparam.js";
import { initialize } from "../../www/host/node.mjs";
import { main } from "../../www/host/cli.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const fixtures = path.join(repo, "tests/fixtures/out");
const example = path.join(repo, "www/examples/synaptome");
const TOKEN = "Bearer host-secret-token";
const MARKUP = ['<img src=x onerror="globalThis.__pwned=1">', "\"quoted\" 'single' & <", "\u202eRTL override", "L".repeat(300)];


/** Use the selected preset: open its class mapping and apply it as shown. */
async function confirmPreset(page) {
  await page.click("#apply-preset");
  await page.waitForSelector("#preset-mapping:not([hidden])");
  await page.click("#preset-confirm");
  await page.waitForSelector("#preset-mapping", { state: "hidden" });
}

let browser;
const requests = [];
before(async () => {
  await initialize();
  browser = await openBrowser({ protect: { prefix: "/private/", header: "Authorization", value: TOKEN }, requests,
    mounts: { "/private/": example, "/fixtures/": fixtures, ...PROJECT_MOUNTS } });
});
after(async () => { await browser?.close(); });

async function openPage(query = "") {
  const page = await browser.context.newPage();
  await page.goto(`${browser.base}${query}`);
  await page.waitForSelector("body[data-ready='true']");
  return page;
}

async function runPage(page) {
  await page.click("#run");
  await page.waitForFunction(() => /synapses in|Error/.test(document.getElementById("status").textContent));
  return page.textContent("#status");
}

/** Nothing ran, no element came from data, every marked-up string shows literally. */
async function assertLiteral(page, root = "document") {
  const state = await page.evaluate((rootExpression) => {
    const scope = rootExpression === "document" ? document : document.querySelector(rootExpression).shadowRoot;
    // Every property's rows (the results show one property at a time by default).
    const filter = scope.querySelector("#property-filter");
    filter.value = "";
    filter.dispatchEvent(new Event("change"));
    return { pwned: globalThis.__pwned ?? null, images: scope.querySelectorAll("img, i[onmouseover], b").length, text: scope.querySelector("#results").textContent };
  }, root);
  assert.equal(state.pwned, null, "no injected script ran");
  assert.equal(state.images, 0, "no element was created from data");
  return state.text;
}

test("no data reaches innerHTML: only the static template is assigned as markup (a lint over www/)", async () => {
  const offenders = [];
  for (const entry of await fs.readdir(path.join(repo, "www"), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(m?js|html)$/.test(entry.name) || entry.parentPath.includes("node_modules") || entry.parentPath.includes("examples")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = await fs.readFile(file, "utf8");
    text.split("\n").forEach((line, i) => {
      if (!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|srcdoc|createContextualFragment|DOMParser/.test(line)) return;
      if (path.relative(repo, file) === "www/ui/app.js" && line.trim() === "container.innerHTML = MARKUP;") return;
      offenders.push(`${path.relative(repo, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], "markup APIs with data");
});

test("pathway values with markup, quotes, RTL and long strings from a circuit (after Use preset) show literally", async () => {
  const page = await openPage();
  await page.setInputFiles("#folder", path.join(fixtures, "hostile/markup"));
  await page.waitForFunction(() => /edges<i onmouseover=x>/.test(document.getElementById("circuit").textContent));
  await confirmPreset(page);
  await page.waitForFunction(() => /valid/.test(document.getElementById("config-status").textContent));
  assert.match(await runPage(page), /synapses in/);
  const text = await assertLiteral(page);
  for (const value of MARKUP) assert.ok(text.includes(value), `${value.slice(0, 30)} shown as text`);
  // The preset is applied as rules: the values show in the dialog's class table and in the rules' coverage view.
  for (const where of ["#preset-classes", "#rules-coverage"]) assert.ok((await page.textContent(where)).includes(MARKUP[0]), where);
  assert.deepEqual(await browser.violations(page), []);
  await page.close();
});

/** The bundled example's model with property names that carry markup. */
async function hostileModel() {
  const model = JSON.parse(await fs.readFile(path.join(repo, "www/presets/seed_example.json"), "utf8"));
  const stats = model.pathway_param_dict.prop_stats;
  stats['<img src=x onerror="globalThis.__pwned=2">'] = stats.conductance;
  stats["\u202e\"'&<>"] = stats.syn_type_id;
  return model;
}

test("property names with markup from a pasted config and from a loaded parameterization.json show literally", async () => {
  const model = await hostileModel();
  const page = await openPage();
  await paste(page, "#config", JSON.stringify(model));
  await page.waitForFunction(() => /valid/.test(document.getElementById("config-status").textContent));
  assert.match(await runPage(page), /synapses in/);
  const text = await assertLiteral(page);
  assert.ok(text.includes('<img src=x onerror="globalThis.__pwned=2">'));
  assert.ok(text.includes("\u202e\"'&<>"));

  const work = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-hostile-"));
  await fs.writeFile(path.join(work, "model.json"), JSON.stringify(model));
  await main(["--circuit", path.join(example, "circuit_config.json"), "--config", path.join(work, "model.json"), "--out", path.join(work, "out")], () => {});
  const fresh = await openPage();
  await fresh.setInputFiles("#provenance-file", path.join(work, "out/parameterization.json"));
  await fresh.waitForFunction(() => /settings loaded from the sidecar/.test(document.getElementById("status").textContent));
  assert.match(await runPage(fresh), /synapses in/);
  assert.ok((await assertLiteral(fresh)).includes('<img src=x onerror="globalThis.__pwned=2">'));
  assert.deepEqual(await browser.violations(fresh), []);
  await page.close();
  await fresh.close();
});

test("<synparam-panel>.config with markup runs in a host page without running anything there", async () => {
  const page = await browser.context.newPage();
  await page.goto(`${browser.base}embed.html`);
  await page.waitForFunction(() => customElements.get("synparam-panel"));
  const model = await hostileModel();
  await page.evaluate(async (config) => {
    const panel = document.getElementById("panel");
    panel.fetchInit = { headers: { Authorization: "secret" } };
    panel.config = config;
    panel.circuitUrl = "examples/synaptome/circuit_config.json";
    await new Promise((resolve) => panel.addEventListener("synparam-ready", resolve, { once: true }));
    await panel.run();
  }, model);
  const text = await assertLiteral(page, "synparam-panel");
  assert.ok(text.includes('<img src=x onerror="globalThis.__pwned=2">'));
  assert.deepEqual(await browser.violations(page), [], "the host's strict CSP is not violated");
  await page.close();
});

test("the host's credentials go to the circuit's origin only; another origin is refused unless allowed, and then fetched without them", async () => {
  // A second server on another origin holding one edges file of the circuit.
  const otherRequests = [];
  const other = await startServer(0, { mounts: { "/": example }, requests: otherRequests, cors: "*" });
  const otherOrigin = `http://127.0.0.1:${other.address().port}`;
  const circuit = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-origins-"));
  for (const file of ["nodes.h5", "afferents.h5"]) await fs.copyFile(path.join(example, file), path.join(circuit, file));
  const config = JSON.parse(await fs.readFile(path.join(example, "circuit_config.json"), "utf8"));
  const absolute = structuredClone(config);
  absolute.networks.edges[0].edges_file = `${otherOrigin}/edges.h5`;
  await fs.writeFile(path.join(circuit, "absolute.json"), JSON.stringify(absolute));
  const relativeScheme = structuredClone(config);
  relativeScheme.networks.edges[0].edges_file = `//127.0.0.1:${other.address().port}/edges.h5`;
  await fs.writeFile(path.join(circuit, "scheme_relative.json"), JSON.stringify(relativeScheme));
  // The host allows the other origin for connections (its own CSP), as a platform would.
  const host = await startServer(0, { mounts: { "/platform/": circuit, ...PROJECT_MOUNTS }, protect: { prefix: "/platform/", header: "Authorization", value: TOKEN },
    csp: contentSecurityPolicy([otherOrigin]) });
  const hostBase = `http://127.0.0.1:${host.address().port}/`;
  try {
    for (const name of ["absolute.json", "scheme_relative.json"]) {
      otherRequests.length = 0;
      const page = await browser.context.newPage();
      await page.goto(`${hostBase}embed.html`);
      await page.waitForFunction(() => customElements.get("synparam-panel"));
      const refused = await page.evaluate(async ({ url, token }) => {
        const panel = document.getElementById("panel");
        panel.fetchInit = { headers: { Authorization: token } };
        const event = new Promise((resolve) => panel.addEventListener("synparam-error", (e) => resolve(e.detail.message), { once: true }));
        panel.circuitUrl = url;
        return event;
      }, { url: `/platform/${name}`, token: TOKEN });
      assert.match(refused, /edges\.h5: is on another origin than the circuit .*it is not fetched/);
      assert.deepEqual(otherRequests, [], `${name}: nothing was sent to the other origin`);
      const loaded = await page.evaluate(async ({ origin }) => {
        const panel = document.getElementById("panel");
        const ready = new Promise((resolve, reject) => {
          panel.addEventListener("synparam-ready", (e) => resolve(e.detail.edgePopulations.map((p) => p.name)), { once: true });
          panel.addEventListener("synparam-error", (e) => reject(new Error(e.detail.message)), { once: true });
        });
        panel.setAttribute("allowed-origins", origin);
        return ready;
      }, { origin: otherOrigin });
      assert.deepEqual(loaded, ["synaptome_afferents"]);
      assert.equal(otherRequests.length, 1, "the allowed origin got its one file");
      assert.equal(otherRequests[0].headers.authorization, undefined, "without the host's credentials");
      assert.equal(otherRequests[0].headers.cookie, undefined);
      assert.deepEqual(await browser.violations(page), []);
      await page.close();
    }
  } finally {
    other.close();
    host.close();
  }
});

test("the page loads, runs and downloads under its strict Content-Security-Policy without a violation", async () => {
  const page = await openPage();
  const response = await page.request.get(browser.base);
  const policy = response.headers()["content-security-policy"];
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'/);
  assert.match(await runPage(page), /synapses in/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#zip")]);
  assert.equal(download.suggestedFilename(), "parameterized_circuit.zip");
  await Promise.all([page.waitForEvent("download"), page.click("#downloads button[data-download$='.arrow']")]);
  await page.selectOption("#property-filter", "");
  await page.waitForSelector("#histograms[data-complete='true']");
  const figures = await page.$$eval("#histograms svg", (svgs) => svgs.length);
  assert.ok(figures >= 6, "every property's figures, drawn under the policy");
  assert.deepEqual(await browser.violations(page), []);
  // The static site carries the same policy in a meta element.
  const html = await fs.readFile(path.join(repo, "site/index.html"), "utf8");
  assert.match(html, /http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=/, "no inline script or style");
  await page.close();
});

test("the dev server: a malformed escape is a 400 (and it stays up), paths are whole segments, the protected mount cannot be bypassed", async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-serve-"));
  await fs.mkdir(path.join(work, "site"));
  await fs.mkdir(path.join(work, "site-secret"));
  await fs.mkdir(path.join(work, "site/private"));
  await fs.writeFile(path.join(work, "site/index.html"), "ok");
  await fs.writeFile(path.join(work, "site-secret/key.txt"), "secret");
  await fs.writeFile(path.join(work, "site/private/data.txt"), "private");
  const server = await startServer(0, { mounts: { "/": path.join(work, "site") }, protect: { prefix: "/private/", header: "Authorization", value: "yes" } });
  const base = `http://127.0.0.1:${server.address().port}`;
  const status = async (url, init) => (await fetch(`${base}${url}`, init)).status;
  try {
    assert.equal(await status("/%E0%A4%A"), 400);
    assert.equal(await status("/"), 200, "still serving after a malformed request");
    for (const url of ["/../site-secret/key.txt", "/%2e%2e/site-secret/key.txt", "/..%2fsite-secret%2fkey.txt", "/%5c..%5csite-secret%5ckey.txt"]) {
      assert.ok([400, 404].includes(await status(url)), url);
    }
    for (const url of ["/private/data.txt", "/%70rivate/data.txt", "/PRIVATE/../private/data.txt", "//private/data.txt", "/./private/data.txt"]) {
      assert.equal(await status(url), 401, url);
    }
    assert.equal(await status("/private/data.txt", { headers: { Authorization: "yes" } }), 200);
  } finally {
    server.close();
  }
});

test("output and zip entry names are plain relative POSIX paths; a backslash in a config path is refused", async () => {
  for (const bad of ["..\\..\\evil.h5", "../evil.h5", "a/../../b", "/abs/file", "C:\\x", "c:/x", "a\u0000b", "a/\u001bb", ""]) {
    assert.throws(() => safeOutputPath(bad), /not a plain relative path/, JSON.stringify(bad));
  }
  assert.equal(safeOutputPath("a/./b//c.h5"), "a/b/c.h5");
  assert.throws(() => resolveConfigPath("..\\..\\evil.h5", { $BASE_DIR: "." }), /contains a backslash; SONATA paths use \//);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-slip-"));
  await fs.cp(example, work, { recursive: true });
  const config = JSON.parse(await fs.readFile(path.join(work, "circuit_config.json"), "utf8"));
  config.networks.edges[0].edges_file = "..\\..\\edges.h5";
  await fs.writeFile(path.join(work, "circuit_config.json"), JSON.stringify(config));
  await assert.rejects(main(["--circuit", path.join(work, "circuit_config.json"), "--config", path.join(repo, "www/presets/seed_example.json"), "--out", path.join(work, "out")], () => {}),
    /networks\.edges\.0\.edges_file: '\.\.\\\.\.\\edges\.h5' contains a backslash/);
});

test("every package bundled into dist/ is a declared dependency", async () => {
  const manifest = JSON.parse(await fs.readFile(path.join(repo, "package.json"), "utf8"));
  const result = await build({
    entryPoints: ["www/browser/worker.js", "www/browser/page.js", "www/browser/synparam.js"].map((f) => path.join(repo, f)),
    bundle: true, format: "esm", write: false, metafile: true, outdir: path.join(os.tmpdir(), "synparam-deps"), logLevel: "silent",
  });
  const shipped = new Set(Object.keys(result.metafile.inputs).filter((f) => f.includes("node_modules/"))
    .map((f) => f.split("node_modules/").at(-1).split("/").slice(0, f.split("node_modules/").at(-1).startsWith("@") ? 2 : 1).join("/")));
  const declared = new Set(Object.keys(manifest.dependencies));
  const direct = [...shipped].filter((name) => !declared.has(name));
  // Transitive dependencies of declared packages are theirs to declare; our own imports must be ours.
  const { stdout } = await promisify(execFile)("npm", ["ls", "--all", "--omit=dev", "--parseable"], { cwd: repo }).catch((e) => e);
  const reachable = new Set(stdout.split("\n").filter((l) => l.includes("node_modules/")).map((l) => l.split("node_modules/").at(-1)));
  assert.deepEqual(direct.filter((name) => !reachable.has(name)), [], "shipped but not a (transitive) runtime dependency");
  for (const name of ["@zip.js/zip.js", "@observablehq/plot", "apache-arrow", "h5wasm"]) assert.ok(declared.has(name), `${name} is a dependency`);
});

test("the worker protocol: concurrent runs are serialized and each resolves, an error goes to its own caller, Cancel reloads once", async () => {
  const page = await browser.context.newPage();
  await page.goto(`${browser.base}embed.html`);
  await page.waitForFunction(() => customElements.get("synparam-panel"));
  const outcome = await page.evaluate(async () => {
    const panel = document.getElementById("panel");
    const events = [];
    for (const type of ["synparam-ready", "synparam-result", "synparam-error"]) panel.addEventListener(type, () => events.push(type));
    panel.circuitUrl = "examples/synaptome/circuit_config.json";
    await new Promise((resolve) => panel.addEventListener("synparam-ready", resolve, { once: true }));
    const first = panel.run();
    const second = panel.run();
    const zips = Promise.all([panel.exportCircuit(), panel.exportCircuit()]);
    // A request that fails while the runs are pending: a config error, answered to its caller.
    panel.shadowRoot.getElementById("config").value = "{broken";
    panel.shadowRoot.getElementById("config").dispatchEvent(new Event("input"));
    const [a, b] = await Promise.all([first, second]);
    const [zipA, zipB] = await zips;
    await new Promise((resolve) => setTimeout(resolve, 600));
    const configStatus = panel.shadowRoot.getElementById("config-status").textContent;
    const readyBefore = events.filter((e) => e === "synparam-ready").length;
    panel.shadowRoot.getElementById("cancel").disabled = false;
    panel.shadowRoot.getElementById("cancel").click();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return {
      synapses: [a, b].map((r) => Object.values(r.stats).reduce((n, s) => n + s.synapses, 0)),
      zips: [zipA.size, zipB.size], configStatus, events, readyAfterCancel: events.filter((e) => e === "synparam-ready").length - readyBefore,
    };
  });
  assert.deepEqual(outcome.synapses, [4145, 4145], "both runs resolved");
  assert.ok(outcome.zips.every((size) => size > 10_000), "both zips resolved");
  assert.match(outcome.configStatus, /ConfigError/, "the config error went to the validation, not to the runs");
  assert.equal(outcome.events.filter((e) => e === "synparam-result").length, 2);
  assert.equal(outcome.events.filter((e) => e === "synparam-error").length, 0, "no error event for the host");
  assert.equal(outcome.readyAfterCancel, 1, "Cancel loads the circuit once");
  await page.close();
});
