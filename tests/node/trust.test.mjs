// Output you can trust (issue 11): on circuits with the exact structure of real ones (obi-one,
// Allen's two edge groups) and on hostile files, the command never loses a parameterization,
// never touches an input, publishes complete-and-verified output or nothing, and says clearly
// what went wrong. Each test here failed before the fix it guards.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import fsSync from "node:fs";
import path from "node:path";
import os from "node:os";
import { createHash } from "node:crypto";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { main } from "../../www/host/cli.mjs";
import { parameterize, openCircuit, initialize, writeParameterizedCircuit } from "../../www/host/node.mjs";
import { publishCircuit } from "../../www/node/publish.mjs";
import { closeCircuit } from "../../www/sonata/loader.js";
import { initSync, validateConfig, densityPreview, DatasetDigest, Parameterizer, planRun } from "../../pkg/synparam.js";
import { checkAgainstCircuit } from "../../www/run/parameterize.js";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const fixtures = path.join(repo, "tests/fixtures/out");
const cli = path.join(repo, "www/host/cli.mjs");
const tm = path.join(repo, "www/presets/tsodyks_markram.json");
const obiOne = path.join(fixtures, "obi_one");
const quiet = () => {};
const BIO = "S1nonbarrel_neurons";
const OBI_EDGES = [`${BIO}__${BIO}__chemical/edges.h5`, `POm__${BIO}__chemical/edges.h5`, `VPM__${BIO}__chemical/edges.h5`, `external_${BIO}__${BIO}__chemical.h5`];
const TM_PROPERTIES = ["u_hill_coefficient", "conductance", "conductance_scale_factor", "facilitation_time", "depression_time", "n_rrp_vesicles", "decay_time", "u_syn", "delay", "syn_type_id"];

before(async () => {
  await initialize();
  initSync({ module: await fs.readFile(path.join(repo, "pkg/synparam_bg.wasm")) });
  await h5wasm.ready;
});

const sha256 = async (file) => createHash("sha256").update(await fs.readFile(file)).digest("hex");
const tempDir = (name = "trust") => fs.mkdtemp(path.join(os.tmpdir(), `synparam-${name}-`));
const exists = (file) => fs.access(file).then(() => true, () => false);

/** Every file under a directory: relative path → {sha256, ino, nlink}. */
async function snapshot(dir) {
  const result = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const info = await fs.stat(file);
    result[path.relative(dir, file)] = { sha256: await sha256(file), ino: info.ino, nlink: info.nlink, mode: info.mode & 0o777 };
  }
  return result;
}

/** Run the command as a child process: {code, signal, stdout, stderr}. */
function runCli(args, { user = null, onSpawn = () => {} } = {}) {
  const [command, argv] = user ? ["setpriv", ["--reuid", String(user), "--regid", String(user), "--clear-groups", process.execPath, cli, ...args]] : [process.execPath, [cli, ...args]];
  return new Promise((resolve) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid }));
    onSpawn(child);
  });
}

async function waitFor(predicate, what, timeout = 60_000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The columns of an edge population's group 0 (or `group`) in a file. */
function columnsOf(file, population, names, group = 0) {
  const h5 = new h5wasm.File(file, "r");
  try {
    return Object.fromEntries(names.map((n) => {
      const dataset = h5.get(`edges/${population}/${group}/${n}`);
      return [n, dataset ? { dtype: dataset.dtype, values: Array.from(dataset.value, Number) } : null];
    }));
  } finally {
    h5.close();
  }
}

/** A value as a dataset of h5wasm dtype `dtype` stores it. */
const stored = (value, dtype) => (dtype === "<f" ? Math.fround(value) : Number(value));

const obiArgs = (out, extra = []) => ["--circuit", path.join(obiOne, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "3", "--overwrite", "--fallback-value", "EXC", ...extra];

test("an obi-one circuit ($BASE_DIR \"./\", empty components, four edge files, virtual sources) comes out parameterized, every column checked against the core", async () => {
  const inputBefore = await snapshot(obiOne);
  const out = path.join(await tempDir(), "out");
  const { provenance, warnings } = await main(obiArgs(out), quiet);
  assert.deepEqual(await snapshot(obiOne), inputBefore, "the input circuit is exactly as before");
  assert.ok(warnings.some((w) => /merged-morphologies\.h5: named by the circuit but does not exist/.test(w)), warnings.join("\n"));
  assert.deepEqual(provenance.not_included, ["morphologies/merged-morphologies.h5"]);
  assert.ok(provenance.unset_paths.includes("components.morphologies_dir"), "empty components are read as not set");
  assert.deepEqual(provenance.directories, ["mod", "emodels_hoc"]);
  assert.ok(await exists(path.join(out, "id_mapping.json")), "the provenance id_mapping named in components is copied");
  // An independent path to the same values: the Node API without output.
  const { results } = await parameterize({ circuit: path.join(obiOne, "circuit_config.json"), config: JSON.parse(await fs.readFile(tm, "utf8")), seed: 3, overwrite: true, fallback: "EXC" });
  assert.equal(Object.keys(results).length, 4, "all four edge populations, virtual sources through the fallback");
  for (const file of OBI_EDGES) {
    const population = path.basename(file) === "edges.h5" ? path.dirname(file) : file.replace(/\.h5$/, "");
    assert.notEqual(await sha256(path.join(out, file)), inputBefore[file].sha256, `${file} was parameterized`);
    const before = columnsOf(path.join(obiOne, file), population, TM_PROPERTIES);
    const after = columnsOf(path.join(out, file), population, TM_PROPERTIES);
    for (const property of TM_PROPERTIES) {
      const drawn = Array.from(results[population].getChild(property).toArray(), Number);
      assert.equal(after[property].dtype, before[property].dtype, `${file} ${property}: the existing dtype is kept`);
      assert.deepEqual(after[property].values, drawn.map((v) => stored(v, after[property].dtype)), `${file} ${property}: the file holds the core's values`);
      const constant = new Set(after[property].values).size === 1 && new Set(before[property].values).size === 1;
      if (!constant || after[property].values[0] !== before[property].values[0]) assert.notDeepEqual(after[property].values, before[property].values, `${file} ${property} changed`);
    }
    assert.equal(Object.keys(provenance.datasets[file]).length, TM_PROPERTIES.length, `${file}: every written dataset's digest is in the sidecar`);
    assert.equal(provenance.outputs[file], await sha256(path.join(out, file)));
  }
  // libsonata (BBP's reader) opens the output.
  const { stdout } = await promisify(execFile)(path.join(repo, ".venv/bin/python"), [path.join(repo, "tests/fixtures/read_with_libsonata.py"), path.join(out, "circuit_config.json"), "conductance"], { maxBuffer: 64 << 20 });
  assert.equal(JSON.parse(stdout).edges[`VPM__${BIO}__chemical`].columns.conductance.dtype, "float64");
});

test("a component that is the circuit folder itself (\".\", \"$BASE_DIR\") is mirrored around the parameterized files, never over them; an earlier sidecar in the input is left alone", async () => {
  const work = await tempDir();
  const input = path.join(work, "circuit");
  await fs.cp(obiOne, input, { recursive: true });
  const config = JSON.parse(await fs.readFile(path.join(input, "circuit_config.json"), "utf8"));
  config.components.morphologies_dir = ".";
  config.components.biophysical_neuron_models_dir = "$BASE_DIR";
  config.components.templates_dir = path.join(input, "mod"); // an absolute path, as rebased configs keep
  await fs.writeFile(path.join(input, "circuit_config.json"), JSON.stringify(config));
  await fs.writeFile(path.join(input, "parameterization.json"), "{\"tool\": \"synparam\", \"earlier\": true}\n");
  const inputBefore = await snapshot(input);
  const out = path.join(work, "out");
  const { provenance } = await main(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "3", "--overwrite", "--fallback-value", "EXC"], quiet);
  assert.deepEqual(await snapshot(input), inputBefore, "inputs unchanged, the earlier sidecar included");
  assert.ok(provenance.directories.includes("."));
  assert.ok(await exists(path.join(out, "run_coordinate_instance.json")), "the circuit folder's other files are mirrored");
  assert.equal(JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8")).earlier, undefined, "our sidecar, not the input's");
  const outputs = await snapshot(out);
  for (const file of OBI_EDGES) assert.notEqual(outputs[file].sha256, inputBefore[file].sha256, `${file} parameterized, not replaced by the mirror`);
  const inodes = new Set(Object.values(inputBefore).map((f) => f.ino));
  for (const [file, info] of Object.entries(outputs)) {
    assert.ok(!inodes.has(info.ino), `${file} is a file of its own, not an input's inode`);
  }
  assert.ok(Object.keys(outputs).some((f) => f.startsWith("external/")), "the absolute path went to external/");
});

test("--hardlink links only unchanged files; edge files, the config and the sidecar are new files", async () => {
  const out = path.join(await tempDir(), "out");
  await main(obiArgs(out, ["--hardlink"]), quiet);
  const outputs = await snapshot(out);
  assert.ok(outputs[`${BIO}/nodes.h5`].nlink >= 2, "node files are links");
  for (const file of [...OBI_EDGES, "circuit_config.json", "parameterization.json"]) assert.equal(outputs[file].nlink, 1, `${file} is a file of its own`);
  for (const file of OBI_EDGES) assert.notEqual(outputs[file].sha256, await sha256(path.join(obiOne, file)));
});

test("--out inside the input circuit, with empty and with \".\" components, does not copy the output into itself", async () => {
  const work = await tempDir();
  const input = path.join(work, "circuit");
  await fs.cp(obiOne, input, { recursive: true });
  await main(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", path.join(input, "out1"), "--seed", "1", "--overwrite", "--fallback-value", "EXC"], quiet);
  const config = JSON.parse(await fs.readFile(path.join(input, "circuit_config.json"), "utf8"));
  config.components.morphologies_dir = ".";
  await fs.writeFile(path.join(input, "circuit_config.json"), JSON.stringify(config));
  await fs.rm(path.join(input, "out1"), { recursive: true });
  const out = path.join(input, "nested", "out2");
  await main(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "1", "--overwrite", "--fallback-value", "EXC"], quiet);
  const files = Object.keys(await snapshot(out));
  assert.ok(!files.some((f) => f.includes("out2") || f.includes(".partial-") || f.includes("synparam-lock")), files.join("\n"));
  assert.ok(files.length < 40, `${files.length} files`);
});

/** Let other users reach the checkout (the tool they run) for the duration of `body`: folders on
 * its path that we own and that others cannot traverse (a `mktemp -d` clone is 0700) get o+x, then
 * their modes back. */
async function checkoutReachable(body) {
  const changed = [];
  try {
    for (let dir = repo; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode, uid } = await fs.stat(dir);
      if (!(mode & 0o001) && uid === process.getuid()) {
        await fs.chmod(dir, (mode & 0o7777) | 0o001);
        changed.push([dir, mode & 0o7777]);
      }
    }
    return await body();
  } finally {
    for (const [dir, mode] of changed) await fs.chmod(dir, mode);
  }
}

test("read-only inputs (0444, as on shared cluster storage) parameterize for a user who is not their owner", { skip: process.getuid?.() !== 0 && "needs root to act as another user" }, async () => {
  const work = await tempDir("readonly");
  await fs.chmod(work, 0o777);
  const input = path.join(work, "circuit");
  await fs.cp(obiOne, input, { recursive: true });
  for (const entry of await fs.readdir(input, { recursive: true, withFileTypes: true })) {
    await fs.chmod(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
  }
  await fs.chmod(input, 0o555);
  const before = await snapshot(input);
  const out = path.join(work, "out");
  const { code, stderr } = await checkoutReachable(() => runCli(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "1", "--overwrite", "--fallback-value", "EXC"], { user: 65534 }));
  assert.equal(code, 0, stderr);
  assert.deepEqual(await snapshot(input), before);
  const outputs = await snapshot(out);
  for (const file of OBI_EDGES) assert.notEqual(outputs[file].sha256, before[file].sha256);
});

/** A run that takes seconds (one synapse per chunk), for interrupting. */
const slowArgs = (out) => ["--circuit", path.join(fixtures, "network/circuit_config.json"), "--config", tm, "--out", out, "--seed", "1", "--overwrite", "--chunk-size", "1"];

test("SIGINT and SIGTERM remove the unfinished output and the claim; kill -9 leaves them, and the next run removes them", async () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
    const out = path.join(await tempDir(), "out");
    const result = await runCli(slowArgs(out), {
      onSpawn: (child) => waitFor(() => exists(`${out}.partial-${child.pid}`), "the staging folder").then(() => child.kill(signal)),
    });
    assert.equal(result.code, code, result.stderr);
    assert.match(result.stderr, new RegExp(`${signal}: stopped; the unfinished output was removed`));
    assert.deepEqual((await fs.readdir(path.dirname(out))), [], `${signal}: nothing left beside the output`);
  }
  const out = path.join(await tempDir(), "out");
  const killed = await runCli(slowArgs(out), {
    onSpawn: (child) => waitFor(() => exists(`${out}.partial-${child.pid}`), "the staging folder").then(() => child.kill("SIGKILL")),
  });
  assert.equal(killed.signal, "SIGKILL");
  assert.ok(await exists(`${out}.partial-${killed.pid}`) && await exists(`${out}.synparam-lock`), "kill -9 cannot clean up");
  const { warnings } = await main(["--circuit", path.join(fixtures, "network/circuit_config.json"), "--config", tm, "--out", out, "--seed", "1", "--overwrite"], quiet);
  assert.ok(warnings.some((w) => w.includes(`removed the unfinished output of an earlier run that was stopped (pid ${killed.pid})`)), warnings.join("\n"));
  assert.deepEqual((await fs.readdir(path.dirname(out))), ["out"]);
});

test("two runs to one --out: the first wins, the second fails naming it", async () => {
  const out = path.join(await tempDir(), "out");
  let second;
  const first = await runCli(slowArgs(out), {
    onSpawn: (child) => waitFor(() => exists(`${out}.synparam-lock`), "the claim").then(async () => {
      second = await runCli(["--circuit", path.join(fixtures, "synaptome/circuit_config.json"), "--config", path.join(repo, "www/presets/seed_example.json"), "--out", out]);
      child.kill("SIGTERM");
    }),
  });
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`another synparam run \\(pid ${first.pid} on .*\\) is writing .*out`));
  assert.equal(first.code, 143);
});

test("a file written into DIR during the run stops publication; DIR and that file are kept", async () => {
  const out = path.join(await tempDir(), "out");
  await fs.mkdir(out);
  const { circuit, source } = await openCircuit(path.join(fixtures, "synaptome/circuit_config.json"));
  try {
    await assert.rejects(publishCircuit({
      circuit, source, out, configText: "{}", version: "test", DatasetDigest,
      openWritable: () => { throw new Error("not reached"); }, openReadOnly: () => { throw new Error("not reached"); },
      execute: async () => {
        await fs.writeFile(path.join(out, "theirs.txt"), "someone else's\n");
        return { populations: [], warnings: [], seed: 1, pathwayProperty: "x", fallback: null, overwrite: false, requested: null };
      },
    }), /out is no longer empty \(something wrote into it during the run\); the result was not published/);
  } finally {
    closeCircuit(circuit);
  }
  assert.deepEqual(await fs.readdir(out), ["theirs.txt"]);
  assert.deepEqual((await fs.readdir(path.dirname(out))), ["out"], "staging removed");
});

test("hostile files: a damaged symbol table, group indices beyond the group or duplicated, are errors before anything is written", async () => {
  const cases = [
    ["damaged_symbol_table", /POm__S1__chemical\/edges\.h5: dataset \/edges: cannot read HDF5 \(bad symbol table node signature\)/],
    ["index_beyond_group", /edge 3: edge_group_index 100000000 is beyond the population's 1200 edges/],
    ["duplicate_index", /edge 5: row 4 of group 0 is taken by another edge \(duplicate edge_group_index\)/],
  ];
  for (const [name, message] of cases) {
    const out = path.join(await tempDir(), "out");
    const result = await runCli(["--circuit", path.join(fixtures, "hostile", name, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "1"]);
    assert.equal(result.code, 1, name);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, `${name}: one line, no HDF5 diagnostics: ${result.stderr}`);
    assert.deepEqual(await fs.readdir(path.dirname(out)), [], `${name}: nothing written`);
  }
});

test("hostile inputs refused before anything is written (issue 22): a model property named like a SONATA reserved dataset, 2-D ids, a population claiming 10¹² edges in a few kilobytes", async () => {
  const network = path.join(fixtures, "network/circuit_config.json");
  const refused = async (circuit, config, message) => {
    const work = await tempDir("hostile");
    const out = path.join(work, "out");
    const configFile = path.join(work, "model.json");
    await fs.writeFile(configFile, typeof config === "string" ? config : JSON.stringify(config));
    const inputBefore = await snapshot(path.dirname(circuit));
    const started = Date.now();
    const result = await runCli(["--circuit", circuit, "--config", configFile, "--out", out, "--seed", "1", "--overwrite"]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, `one line: ${result.stderr}`);
    assert.ok(Date.now() - started < 20_000, "refused at once, not after reading");
    assert.deepEqual(await fs.readdir(work), ["model.json"], "nothing written, nothing left behind");
    assert.deepEqual(await snapshot(path.dirname(circuit)), inputBefore, "the input untouched");
  };
  const model = (property) => ({ src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: { [property]: Object.fromEntries(["EXC", "INH"].map((s) => [s, { EXC: { type: "constant", mean: 1 }, INH: { type: "constant", mean: 1 } }])) } });
  for (const reserved of ["source_node_id", "target_node_id", "edge_type_id", "edge_group_id", "edge_group_index", "@library", "dynamics_params", "a/b"]) {
    await refused(network, model(reserved), new RegExp(`ConfigError: prop_stats\\.${reserved.replace(/[/@]/g, (c) => `\\${c}`)}: property '${reserved.replace(/[/@]/g, (c) => `\\${c}`)}' (is a dataset SONATA reserves|starts with '@'|is the group SONATA reserves|is not a dataset name)`));
  }
  // The same in rules: the rule's JSON path is named.
  await refused(network, { rules_version: 1, rules: [{ source: {}, target: {}, assign: { edge_type_id: { type: "constant", mean: 1 } } }] }, /ConfigError: rules\[0\]\.assign\.edge_type_id: property 'edge_type_id' is a dataset SONATA reserves/);
  const hostile = (name) => path.join(fixtures, "hostile", name, "circuit_config.json");
  const tmModel = await fs.readFile(tm, "utf8");
  await refused(hostile("ids_2d"), tmModel, /edges\.h5: population 'S1__S1__hostile': dataset \/edges\/S1__S1__hostile\/source_node_id: is 2-dimensional \(shape \[20, 1\]\); SONATA stores it as one value per row/);
  await refused(hostile("huge_claim"), tmModel, /edges\.h5: population 'S1__S1__hostile': dataset \/edges\/S1__S1__hostile\/source_node_id: claims 1,000,000,000,000 rows \(8 TB of data\) but its storage holds at most [\d.]+ KB \(unfiltered\): the file is damaged or not what it says/);
});

test("a circuit only partly loadable (a node file missing, an edges file not HDF5): a run that needs the rest is refused naming it, nothing written; restricted to the loadable populations it runs, complete and verified", async () => {
  const partial = path.join(fixtures, "partial");
  const config = path.join(partial, "circuit_config.json");
  const inputBefore = await snapshot(partial);
  const warned = (stdout) => stdout.split("\n").filter((l) => l.startsWith("warning: not loaded"));
  const expectedWarnings = [
    `warning: not loaded: ${path.join(partial, "vpm_nodes.h5")}: does not exist`,
    `warning: not loaded (not parameterized): ${path.join(partial, "extra_edges.h5")}: not a readable HDF5 file (file signature not found)`,
    `warning: not loaded (not parameterized): ${path.join(partial, "edges.h5")}: population 'VPM__S1__chemical': needs its source node population 'VPM', which cannot be loaded (${path.join(partial, "vpm_nodes.h5")}: does not exist)`,
  ];
  // Every edge population (the default), or one that cannot be loaded: refused, naming what it needs.
  for (const [extra, message] of [
    [[], /^synparam: error: a run of every edge population needs edges that cannot be loaded: .*extra_edges\.h5: not a readable HDF5 file \(file signature not found\); .*edges\.h5: population 'VPM__S1__chemical': needs its source node population 'VPM', which cannot be loaded \(.*vpm_nodes\.h5: does not exist\)\. To parameterize the rest, choose among the edge populations that can be loaded: S1__S1__chemical\n$/],
    [["--populations", "S1__S1__chemical,VPM__S1__chemical"], /^synparam: error: edge population 'VPM__S1__chemical' cannot be loaded: .*vpm_nodes\.h5: does not exist\)\. To parameterize the rest, choose among the edge populations that can be loaded: S1__S1__chemical\n$/],
  ]) {
    const out = path.join(await tempDir(), "out");
    const result = await runCli(["--circuit", config, "--config", tm, "--out", out, "--seed", "1", ...extra]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, message);
    assert.deepEqual(warned(result.stdout), expectedWarnings, "everything not loaded, as warnings");
    assert.deepEqual(await fs.readdir(path.dirname(out)), [], "nothing written: no output, staging or lock");
  }
  // The Node API refuses the same, and the page's check of a model against the loaded circuit says so before a run.
  const model = JSON.parse(await fs.readFile(tm, "utf8"));
  const { circuit: opened } = await openCircuit(config);
  try {
    const configText = JSON.stringify(model);
    const check = (populations) => checkAgainstCircuit({ circuit: opened, Parameterizer, configText, settings: planRun(configText, { seed: 1, ...(populations ? { populations } : {}) }).settings });
    assert.match(check().problems.join("\n"), /^a run of every edge population needs edges that cannot be loaded: .*extra_edges\.h5/);
    assert.deepEqual(check(["S1__S1__chemical"]).problems, []);
    assert.match(check(["VPM__S1__chemical"]).problems.join("\n"), /^edge population 'VPM__S1__chemical' cannot be loaded/);
  } finally {
    closeCircuit(opened);
  }
  await assert.rejects(parameterize({ circuit: config, config: model, seed: 1 }), (e) => e.name === "CircuitError" && /a run of every edge population needs edges that cannot be loaded/.test(e.message));
  // Restricted to the loadable population: it runs, says what was not loaded, and the output is
  // the whole circuit (what is missing is named), verified, the unloadable parts copied unchanged.
  const out = path.join(await tempDir(), "out");
  const result = await runCli(["--circuit", config, "--config", tm, "--out", out, "--seed", "1", "--populations", "S1__S1__chemical"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(warned(result.stdout), expectedWarnings);
  assert.match(result.stdout, /S1__S1__chemical \(S1 → S1\): 2457 synapses/);
  assert.deepEqual((await fs.readdir(out)).sort(), ["circuit_config.json", "edges.h5", "extra_edges.h5", "nodes.h5", "parameterization.json"]);
  assert.deepEqual(await fs.readdir(path.dirname(out)), ["out"], "no staging or lock left");
  assert.deepEqual(await snapshot(partial), inputBefore, "the input circuit is exactly as before");
  assert.equal(await sha256(path.join(out, "extra_edges.h5")), inputBefore["extra_edges.h5"].sha256, "the unreadable file copied as it is");
  const sidecar = JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8"));
  assert.deepEqual(sidecar.edge_populations, ["S1__S1__chemical"]);
  assert.deepEqual(Object.keys(sidecar.parameterized), ["S1__S1__chemical"]);
  assert.deepEqual(sidecar.not_included, ["vpm_nodes.h5"]);
  assert.deepEqual(sidecar.unavailable, [
    { kind: "nodes", file: "vpm_nodes.h5", population: "VPM" },
    { kind: "edges", file: "extra_edges.h5", population: null },
    { kind: "edges", file: "edges.h5", population: "VPM__S1__chemical" },
  ]);
  // The loadable population holds the core's values; the other one in its file is untouched.
  const { results, warnings } = await parameterize({ circuit: config, config: model, seed: 1, populations: ["S1__S1__chemical"] });
  assert.deepEqual(Object.keys(results), ["S1__S1__chemical"]);
  assert.equal(warnings.filter((w) => w.startsWith("not loaded")).length, 3);
  const written = columnsOf(path.join(out, "edges.h5"), "S1__S1__chemical", ["u_syn", "syn_weight"]);
  assert.deepEqual(written.u_syn.values, Array.from(results.S1__S1__chemical.getChild("u_syn").toArray(), (v) => stored(v, written.u_syn.dtype)));
  assert.deepEqual(written.syn_weight, columnsOf(path.join(partial, "edges.h5"), "S1__S1__chemical", ["syn_weight"]).syn_weight);
  assert.deepEqual(columnsOf(path.join(out, "edges.h5"), "VPM__S1__chemical", ["u_syn", "syn_weight"]), columnsOf(path.join(partial, "edges.h5"), "VPM__S1__chemical", ["u_syn", "syn_weight"]));
  assert.equal(columnsOf(path.join(out, "edges.h5"), "VPM__S1__chemical", ["u_syn"]).u_syn, null, "nothing written into the population that could not be loaded");
});

test("two edge groups (Allen's layout) and interleaved groups with permuted rows: each edge's value lands at its group row", async () => {
  const out = path.join(await tempDir(), "out");
  await main(["--circuit", path.join(fixtures, "multi_group/circuit_config.json"), "--config", tm, "--out", out, "--seed", "4", "--overwrite"], quiet);
  const { results } = await parameterize({ circuit: path.join(fixtures, "multi_group/circuit_config.json"), config: JSON.parse(await fs.readFile(tm, "utf8")), seed: 4 });
  for (const [file, population] of [["allen_like.h5", "l4_to_l4"], ["permuted.h5", "permuted"]]) {
    const h5 = new h5wasm.File(path.join(out, file), "r");
    const ids = Array.from(h5.get(`edges/${population}/edge_group_id`).value, Number);
    const rows = Array.from(h5.get(`edges/${population}/edge_group_index`).value, Number);
    for (const property of ["conductance", "syn_type_id"]) {
      const drawn = Array.from(results[population].getChild(property).toArray(), Number);
      const groups = [0, 1].map((g) => Array.from(h5.get(`edges/${population}/${g}/${property}`).value, Number));
      const dtype = h5.get(`edges/${population}/0/${property}`).dtype;
      drawn.forEach((value, edge) => assert.equal(groups[ids[edge]][rows[edge]], stored(value, dtype), `${population} ${property} edge ${edge}`));
      assert.equal(groups[0].length + groups[1].length, drawn.length);
    }
    h5.close();
  }
});

test("values that overflow or do not fit are errors naming the JSON path and the edge; nothing is written", async () => {
  const work = await tempDir();
  const model = (spec) => ({ src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: { conductance: Object.fromEntries(["EXC", "INH"].map((s) => [s, { EXC: spec, INH: spec }])) } });
  const cases = [
    [{ type: "gamma", mean: 1e300, std: 1e-200 }, /ConfigError: prop_stats\.conductance\.EXC\.EXC\.std: gamma mean 1e\+300 and std 1e-200 give shape/],
    [{ type: "lognormal", mean: 1000, sigma: 1 }, /ConfigError: prop_stats\.conductance\.EXC\.EXC: lognormal with these parameters has values beyond the float64 range/],
    [{ type: "uniform", low: -1e308, high: 1e308 }, /ConfigError: prop_stats\.conductance\.EXC\.EXC: uniform with these parameters has values beyond the float64 range/],
    [{ type: "normal", mean: 1e39, std: 1 }, /ValueOutOfRangeError: .*prop_stats\.conductance\.(EXC|INH)\.(EXC|INH): drawn value 1e\+39 is beyond the float32 range of its dataset .*\(edge \d+\)/],
    [{ type: "poisson", mean: 1e12 }, /ConfigError: prop_stats\.conductance\.EXC\.EXC\.mean: poisson mean must be ≤ 1e6/],
  ];
  for (const [spec, message] of cases) {
    const config = path.join(work, "model.json");
    await fs.writeFile(config, JSON.stringify(model(spec)));
    const out = path.join(await tempDir(), "out");
    const started = Date.now();
    const result = await runCli(["--circuit", path.join(fixtures, "network/circuit_config.json"), "--config", config, "--out", out, "--seed", "1", "--populations", "S1__S1__plain"]);
    assert.equal(result.code, 1, JSON.stringify(spec));
    assert.match(result.stderr, message);
    assert.ok(Date.now() - started < 20_000, "no hang");
    assert.deepEqual(await fs.readdir(path.dirname(out)), []);
  }
  // The core itself, as the page calls it: errors at once, never a hang or a trap.
  assert.throws(() => densityPreview(JSON.stringify({ type: "poisson", mean: 1e12 }), 200), (e) => e.name === "ConfigError" && /poisson mean must be ≤/.test(e.message));
  assert.throws(() => densityPreview(JSON.stringify({ type: "ztpoisson", mean: 1e13 }), 200), (e) => e.name === "ConfigError");
});

test("non-ASCII text where a number belongs is a ConfigError with its path, not a trap of the wasm module", () => {
  const config = { src_types: ["É"], tgt_types: ["É"], prop_stats: { "κ": { "É": { "É": { type: "normal", mean: "éééééééééééééééééééééééééééééé", std: 1 } } } } };
  assert.throws(() => validateConfig(JSON.stringify(config)), (e) => e.name === "ConfigError" && e.path === "prop_stats.κ.É.É.mean" && /must be a number, got "ééé/.test(e.message));
  assert.throws(() => validateConfig("{\"src_types\": [\"a\"], NaN: 1}"), (e) => e.name === "ConfigError" && e.path === "$");
  // The module still works afterwards (a trap would have poisoned it).
  assert.ok(validateConfig(JSON.stringify({ ...config, prop_stats: { "κ": { "É": { "É": { type: "zero" } } } } })));
});

test("sidecars written before the core owned them (format 1) still read, and --from-provenance reruns them bit for bit", async () => {
  const example = path.join(repo, "www/examples/synaptome/circuit_config.json");
  for (const name of ["format1_seed_example.json", "format1_big_seed.json"]) {
    const old = path.join(repo, "tests/fixtures/sidecars", name);
    const recorded = JSON.parse(await fs.readFile(old, "utf8"));
    assert.equal(recorded.format, undefined, `${name}: a format-1 sidecar`);
    const out = path.join(await tempDir("old-sidecar"), "out");
    await main(["--circuit", example, "--from-provenance", old, "--out", out], quiet);
    const rerun = JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8"));
    assert.equal(rerun.format, 2);
    for (const key of ["seed", "pathway_property", "model_config_sha256", "inputs", "outputs", "datasets", "parameterized"]) {
      assert.deepEqual(rerun[key], recorded[key], `${name}: ${key} as recorded`);
    }
    assert.equal(await sha256(path.join(out, "edges.h5")), recorded.outputs["edges.h5"], `${name}: the same edges file, byte for byte`);
  }
});

test("provenance reruns validate the sidecar: an edited model, a null seed or a fallback neither a value nor a table of values are refused naming the field", async () => {
  const out = path.join(await tempDir(), "first");
  await main(["--circuit", path.join(fixtures, "synaptome/circuit_config.json"), "--config", path.join(repo, "www/presets/seed_example.json"), "--out", out, "--seed", "9"], quiet);
  const sidecar = JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8"));
  const work = await tempDir();
  const cases = [
    [(d) => { d.model_config.pathway_param_dict.prop_stats.conductance.excitatory_neuron.excitatory_neuron.mean = 9; }, /model_config: does not match model_config_sha256 \(the recorded model was edited\)/],
    [(d) => { d.seed = null; }, /parameterization\.json: seed: must be a non-negative integer \(at most 2\^64 − 1; .*\), got null/],
    [(d) => { d.fallback_value = 5; }, /fallback_value: must be a pathway value, or an object \{node population: value\} .*, got 5/],
    [(d) => { d.fallback_value = { VPM: 3 }; }, /fallback_value\.VPM: must be a non-empty pathway value, got 3/],
    [(d) => { d.overwrite_if_exists = "yes"; }, /overwrite_if_exists: must be true or false, got "yes"/],
    [(d) => { d.inputs["edges.h5"] = "abc"; }, /inputs\["edges\.h5"\]: must be a SHA-256/],
  ];
  for (const [edit, message] of cases) {
    const document = structuredClone(sidecar);
    edit(document);
    const file = path.join(work, "parameterization.json");
    await fs.writeFile(file, JSON.stringify(document));
    const result = await runCli(["--circuit", path.join(fixtures, "synaptome/circuit_config.json"), "--from-provenance", file, "--out", path.join(work, "rerun")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /RuntimeError|TypeError|memory access/);
  }
});

test("a seed of 2^64 − 1 (in the config or on the command line) is used exactly, recorded exactly, and reruns from the sidecar bit for bit", async () => {
  const work = await tempDir("bigseed");
  const max = "18446744073709551615";
  const model = JSON.parse(await fs.readFile(path.join(repo, "www/presets/seed_example.json"), "utf8")).pathway_param_dict;
  const configFile = path.join(work, "config.json");
  await fs.writeFile(configFile, `{"random_seed": ${max}, "pathway_param_dict": ${JSON.stringify(model)}}`);
  const circuit = path.join(fixtures, "synaptome/circuit_config.json");
  await main(["--circuit", circuit, "--config", configFile, "--out", path.join(work, "a")], quiet);
  const sidecar = JSON.parse(await fs.readFile(path.join(work, "a/parameterization.json"), "utf8"));
  assert.equal(sidecar.seed, max, "the decimal string, not 18446744073709552000");
  assert.match(sidecar.model_config_text, new RegExp(`"random_seed": ${max}`), "the model kept as text: JSON.parse would round its seed");
  await main(["--circuit", circuit, "--config", path.join(repo, "www/presets/seed_example.json"), "--seed", max, "--out", path.join(work, "b")], quiet);
  await main(["--circuit", circuit, "--from-provenance", path.join(work, "a/parameterization.json"), "--out", path.join(work, "c")], quiet);
  const conductance = (dir) => columnsOf(path.join(work, dir, "edges.h5"), "synaptome_afferents", ["conductance"]).conductance;
  assert.deepEqual(conductance("b"), conductance("a"), "--seed 2^64 − 1 draws what the config's random_seed does");
  assert.deepEqual(conductance("c"), conductance("a"), "the sidecar reruns it");
  await main(["--circuit", circuit, "--config", path.join(repo, "www/presets/seed_example.json"), "--seed", "18446744073709551614", "--out", path.join(work, "d")], quiet);
  assert.notDeepEqual(conductance("d"), conductance("a"), "2^64 − 2 is another seed (not rounded to the same number)");
  const over = await runCli(["--circuit", circuit, "--config", path.join(repo, "www/presets/seed_example.json"), "--seed", "18446744073709551616", "--out", path.join(work, "e")]);
  assert.equal(over.code, 1);
  assert.match(over.stderr, /random_seed: must be a non-negative integer \(at most 18446744073709551615/);
});

test("messages: one line per error, \"does not exist\" for missing files, no raw JS errors, control characters escaped", async () => {
  const work = await tempDir();
  const missing = await runCli(["--circuit", path.join(work, "nope/circuit_config.json"), "--config", tm, "--out", path.join(work, "o"), "--seed", "1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^synparam: error: .*nope\/circuit_config\.json: does not exist\n$/);
  const circuit = path.join(work, "circuit");
  await fs.cp(path.join(fixtures, "synaptome"), circuit, { recursive: true });
  await fs.rm(path.join(circuit, "afferents.h5"));
  const missingNodes = await runCli(["--circuit", path.join(circuit, "circuit_config.json"), "--config", tm, "--out", path.join(work, "o"), "--seed", "1"]);
  assert.match(missingNodes.stderr, /^synparam: error: .*circuit\/afferents\.h5: does not exist\n$/);
  const noConfig = await runCli(["--circuit", path.join(fixtures, "synaptome/circuit_config.json"), "--config", path.join(work, "model.json"), "--out", path.join(work, "o"), "--seed", "1"]);
  assert.match(noConfig.stderr, /^synparam: error: .*model\.json: does not exist\n$/);
  const bad = await runCli(["--circuit", path.join(fixtures, "bad/not_hdf5.h5"), "--config", tm, "--out", path.join(work, "o"), "--seed", "1"]);
  assert.match(bad.stderr, /^synparam: error: .*not_hdf5\.h5: not a readable HDF5 file \(file signature not found\)\n$/);
  const evil = await runCli(["--circuit", path.join(fixtures, "hostile/control_characters/circuit_config.json"), "--config", tm, "--out", path.join(work, "o"), "--seed", "1", "--overwrite"]);
  assert.equal(evil.code, 0, evil.stderr);
  assert.doesNotMatch(evil.stdout + evil.stderr, /[\u001b\u0007]/, "no terminal control character printed");
  assert.match(evil.stdout, /evil\\u001b\[31m\\u0007name/);
  for (const result of [missing, missingNodes, noConfig, bad]) assert.doesNotMatch(result.stderr, /HDF5-DIAG|TypeError|RangeError|at .*\.js:\d+/);
});

test("the written files are the same, byte for byte, for any chunk size and number of workers (and the writer's gathering is checked by the verification)", async () => {
  const settings = { seed: 5, overwrite: true };
  const configText = await fs.readFile(tm, "utf8");
  for (const circuit of ["network", "multi_group"]) {
    const digests = new Set();
    for (const [chunkSize, workers] of [[65536, 1], [333, 1], [5000, 2], [777, 4]]) {
      const out = path.join(await tempDir(), "out");
      // Storage chunks of 1000 rows: every write call completes several, gathers across calls.
      await writeParameterizedCircuit({ circuitPaths: path.join(fixtures, circuit, "circuit_config.json"), configText, settings, out, chunkSize, workers, storageChunkRows: 1000 });
      const files = (await fs.readdir(out)).filter((f) => f.endsWith(".h5") && f !== "nodes.h5").sort();
      digests.add(JSON.stringify(await Promise.all(files.map((f) => sha256(path.join(out, f))))));
    }
    assert.equal(digests.size, 1, `${circuit}: one set of bytes`);
  }
});
