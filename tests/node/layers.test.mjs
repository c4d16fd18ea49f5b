// The layering of www/ (DEVELOP.md, Architecture): each folder imports only from itself and the
// layers below it, code that runs anywhere imports nothing of Node or of the browser, and no two
// modules import each other, directly or through others.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

const repo = resolve(new URL("../..", import.meta.url).pathname);
const www = join(repo, "www");

/** Folder → the folders it may import from (besides itself). */
const ALLOWED = {
  sonata: [],                                   // SONATA I/O on h5wasm: runs anywhere
  run: ["sonata"],                              // the run: runs anywhere
  node: ["sonata", "run"],                      // Node-only library (publication on disk)
  ui: ["run"],                                  // the page's views (browser)
  browser: ["sonata", "run", "ui"],             // browser entry points and browser-only code
  host: ["sonata", "run", "node"],              // Node entry points (the command, the Node API)
  tools: ["sonata", "run", "node", "host"],     // development tools
};
const RUNS_ANYWHERE = new Set(["sonata", "run"]);

async function modules(dir) {
  const found = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = join(entry.parentPath, entry.name);
    if (entry.isFile() && /\.(m?js)$/.test(entry.name) && !file.includes(`${join("www", "examples")}`)) found.push(file);
  }
  return found;
}

test("www/ imports follow the layers, with no import loop", async () => {
  const files = await modules(www);
  const imports = new Map();
  const problems = [];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const layer = relative(www, file).split("/")[0];
    const targets = [];
    for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
      if (spec.startsWith("node:")) {
        if (RUNS_ANYWHERE.has(layer)) problems.push(`${relative(repo, file)} runs anywhere but imports ${spec}`);
        continue;
      }
      if (!spec.startsWith(".")) continue; // packages
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(www) || !/\.m?js$/.test(target)) continue; // pkg/ (the core), presets and other data
      const targetLayer = relative(www, target).split("/")[0];
      if (targetLayer !== layer && !(ALLOWED[layer] ?? []).includes(targetLayer)) problems.push(`${relative(repo, file)} (${layer}) imports ${relative(repo, target)} (${targetLayer})`);
      if (/\.(m?js)$/.test(target)) targets.push(target);
    }
    imports.set(file, targets);
  }
  assert.deepEqual(problems, [], "imports across layers");
  // No loops: a depth-first search finds no module on its own import path.
  const state = new Map();
  const loops = [];
  const visit = (file, path) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") { loops.push([...path.slice(path.indexOf(file)), file].map((f) => relative(repo, f)).join(" → ")); return; }
    state.set(file, "open");
    for (const target of imports.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, "done");
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(loops, [], "import loops");
});
