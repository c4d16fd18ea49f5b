// Fitting a model from a circuit (issue #25) where users run it: the command's --fit and the Node
// API's fit(). The model and the report are the only files written, the circuit is only read, a
// later run takes the model with --config, and every bad input is a clear error naming the key or
// the file, with nothing written. (The core's conformance with connectome-manipulator is
// tests/fit.rs; the same model from Python and Dask is tests/python/test_fit.py.)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { fit, initialize } from "../../www/host/node.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const fixtures = path.join(repo, "tests/fixtures/out");
const cli = path.join(repo, "www/host/cli.mjs");
const BIO = "S1nonbarrel_neurons";
const OBI_S1 = `${BIO}__${BIO}__chemical`;
const obiOne = path.join(fixtures, "obi_one", "circuit_config.json");
const network = path.join(fixtures, "network", "circuit_config.json");
/** The physiological properties of obi-one's edges (group 0), by name. */
const OBI_FITTED = ["conductance", "conductance_scale_factor", "decay_time", "depression_time", "facilitation_time", "n_rrp_vesicles", "syn_type_id", "u_hill_coefficient", "u_syn"];

before(async () => {
  await initialize();
  await h5wasm.ready;
});

const tempDir = (name = "fit") => fs.mkdtemp(path.join(os.tmpdir(), `synparam-${name}-`));
const sha256 = async (file) => createHash("sha256").update(await fs.readFile(file)).digest("hex");

/** Every file under a folder with its SHA-256 and modification time. */
async function snapshot(dir) {
  const result = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    result[path.relative(dir, file)] = [await sha256(file), (await fs.stat(file)).mtimeMs];
  }
  return result;
}

/** The command as a child process: {code, stdout, stderr}. */
async function runCli(args) {
  return promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 64 << 20 })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }));
}

/** A copy of the obi-one circuit whose S1 → S1 edges hold `values` at `rows` of `property`. */
async function obiOneWith(property, rows, values) {
  const dir = await tempDir("fit-copy");
  await fs.cp(path.join(fixtures, "obi_one"), dir, { recursive: true });
  const file = new h5wasm.File(path.join(dir, OBI_S1, "edges.h5"), "a");
  try {
    const dataset = file.get(`edges/${OBI_S1}/0/${property}`);
    rows.forEach((row, i) => dataset.write_slice([[row, row + 1]], new Float32Array([values[i]])));
  } finally {
    file.close();
  }
  return path.join(dir, "circuit_config.json");
}

test("--fit-mode empirical writes each pathway's observed vectors, which a later --config run draws again", async () => {
  const dir = await tempDir();
  const model = path.join(dir, "empirical.json");
  const report = path.join(dir, "empirical-report.json");
  const fitted = await runCli(["--circuit", obiOne, "--fit", model, "--fit-report", report, "--pathway-property", "mtype", "--fit-mode", "empirical",
    "--fit-settings", '{"correlation_sample": 50}', "--populations", OBI_S1]);
  assert.equal(fitted.code, 0, fitted.stderr);
  const parsed = JSON.parse(await fs.readFile(model, "utf8"));
  const specs = Object.values(parsed.prop_stats.conductance).flatMap((row) => Object.values(row));
  assert.ok(specs.every((spec) => spec.type === "empirical" && ["connections", "synapses"].includes(spec.table) && spec.values.length > 0));
  const reported = JSON.parse(await fs.readFile(report, "utf8"));
  assert.equal(reported.mode, "empirical");
  assert.ok(reported.pathways.every((p) => p.rows.connections >= 1 && p.rows.connections <= 50 && p.rows.synapses >= p.rows.connections), "rows per pathway");
  // The model runs; every drawn conductance is one the circuit holds.
  const out = path.join(dir, "run");
  const ran = await runCli(["--circuit", obiOne, "--config", model, "--pathway-property", "mtype", "--seed", "1", "--populations", OBI_S1, "--overwrite", "--out", out]);
  assert.equal(ran.code, 0, ran.stderr);
  const read = (file) => {
    const h5 = new h5wasm.File(file, "r");
    try {
      return [...h5.get(`edges/${OBI_S1}/0/conductance`).value];
    } finally {
      h5.close();
    }
  };
  const observed = new Set(read(path.join(fixtures, "obi_one", OBI_S1, "edges.h5")));
  const drawn = read(path.join(out, OBI_S1, "edges.h5"));
  assert.equal(drawn.length, 872);
  assert.ok(drawn.every((x) => observed.has(x)), "every drawn conductance was observed");
  await fs.rm(dir, { recursive: true });
});

test("--fit writes the model and the report and nothing else, reads the circuit only, and a later run takes the model with --config", async () => {
  const dir = await tempDir();
  const before = await snapshot(path.join(fixtures, "obi_one"));
  const model = path.join(dir, "model.json");
  const report = path.join(dir, "report.json");
  const fitted = await runCli(["--circuit", obiOne, "--fit", model, "--fit-report", report, "--pathway-property", "mtype"]);
  assert.equal(fitted.code, 0, fitted.stderr);
  assert.deepEqual((await fs.readdir(dir)).sort(), ["model.json", "report.json"]);
  assert.deepEqual(await snapshot(path.join(fixtures, "obi_one")), before, "the circuit is only read");
  assert.match(fitted.stdout, new RegExp(`fitted ${OBI_S1}: 872 synapses in \\d+ connections, by mtype`));
  assert.match(fitted.stdout, /not fitted: afferent_center_x, afferent_section_id \(position or geometry.*; delay \(geometric/);
  assert.match(fitted.stdout, /warning: not fitted: source node population 'POm'.* has no 'mtype' property/);
  const parsed = JSON.parse(await fs.readFile(model, "utf8"));
  assert.deepEqual(Object.keys(parsed), ["src_types", "tgt_types", "prop_stats"]);
  assert.deepEqual(Object.keys(parsed.prop_stats), [...OBI_FITTED, "n_syn_per_conn"]);
  assert.equal(parsed.prop_stats.conductance[parsed.src_types[0]][parsed.tgt_types[0]].type, "gamma");
  assert.equal(parsed.prop_stats.u_syn[parsed.src_types[0]][parsed.tgt_types[0]].type, "truncnorm");
  const reported = JSON.parse(await fs.readFile(report, "utf8"));
  assert.equal(reported.entries.length, parsed.src_types.length * parsed.tgt_types.length * (OBI_FITTED.length + 1));
  assert.ok(reported.pathways.some((p) => p.fallback === null) && reported.entries.every((e) => e.law));

  // The model runs: a parameterized copy of the circuit from it.
  const out = path.join(dir, "run");
  const ran = await runCli(["--circuit", obiOne, "--config", model, "--pathway-property", "mtype", "--seed", "1", "--populations", OBI_S1, "--overwrite", "--out", out]);
  assert.equal(ran.code, 0, ran.stderr);
  const file = new h5wasm.File(path.join(out, OBI_S1, "edges.h5"), "r");
  try {
    const conductance = file.get(`edges/${OBI_S1}/0/conductance`).value;
    assert.equal(conductance.length, 872);
    assert.ok([...conductance].every((x) => Number.isFinite(x) && x > 0), "gamma draws are positive");
    const constants = new Set(Object.values(parsed.prop_stats.syn_type_id).flatMap((row) => Object.values(row).map((spec) => spec.mean)));
    assert.ok([...file.get(`edges/${OBI_S1}/0/syn_type_id`).value].every((x) => constants.has(Number(x))));
  } finally {
    file.close();
  }
  // A fit of the parameterized copy describes the laws the model drew from.
  const refit = await fit({ circuit: path.join(out, "circuit_config.json"), pathwayProperty: "mtype", populations: [OBI_S1] });
  assert.deepEqual(Object.keys(refit.model.prop_stats), Object.keys(parsed.prop_stats));
  await fs.rm(dir, { recursive: true });
});

test("network: the properties found by default, classes and layers from the nodes, the same model for any run and through the Node API", async () => {
  const dir = await tempDir();
  const model = path.join(dir, "model.json");
  const fitted = await runCli(["--circuit", network, "--fit", model, "--pathway-property", "mtype", "--populations", "S1__S1__chemical", "--chunk-size", "997", "--workers", "2"]);
  assert.equal(fitted.code, 0, fitted.stderr);
  const text = await fs.readFile(model, "utf8");
  const parsed = JSON.parse(text);
  assert.deepEqual(Object.keys(parsed.prop_stats), ["conductance", "syn_type_id", "n_syn_per_conn"], "delay is geometric");
  assert.match(fitted.stdout, /not fitted: delay \(geometric/);
  const api = await fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"], chunkSize: 997, workers: 2 });
  assert.equal(api.modelText, text, "the Node API writes the command's bytes");
  assert.equal(api.workers, 2, "chunks read and fitted in worker threads");
  const oneThread = await fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"], chunkSize: 997, workers: 1 });
  assert.equal(oneThread.workers, 1);
  assert.equal(oneThread.modelText, text, "the same bits in one thread");
  assert.equal(oneThread.reportText, api.reportText);
  assert.deepEqual(api.settings.properties.map((p) => [p.name, p.kind]), [["conductance", "float32"], ["syn_type_id", "int"]]);
  // Other chunkings: the same model up to the last bits of the merged moments.
  const whole = await fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"] });
  const close = (a, b) => (typeof a === "number" ? Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a)) : a === b);
  const compare = (a, b) => (typeof a === "object" && a !== null ? Object.keys(a).every((k) => compare(a[k], b[k])) && Object.keys(a).length === Object.keys(b).length : close(a, b));
  assert.ok(compare(whole.model, parsed));
  // Laws, sample sizes and the keyed subsample are the core's settings; classes come from the nodes.
  const subsampled = await fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"], maxSamples: 20, minSamples: 5, seed: 3, laws: { conductance: "normal" } });
  assert.equal(subsampled.report.settings.max_sample_size, 20);
  assert.equal(Object.values(subsampled.model.prop_stats.conductance)[0][parsed.tgt_types[0]].type, "normal");
  assert.ok(subsampled.report.pathways.every((p) => p.connections_used === null || p.connections_used <= 20));
  const again = await fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"], maxSamples: 20, minSamples: 5, seed: 3, laws: { conductance: "normal" }, chunkSize: 301 });
  assert.ok(compare(again.model, subsampled.model), "the keyed subsample does not depend on the chunks");
  await fs.rm(dir, { recursive: true });
});

/** Run a failing fit: exit 1, the message matching, nothing written in its folder. */
async function refused(args, pattern) {
  const dir = await tempDir("fit-refused");
  const result = await runCli(["--fit", path.join(dir, "model.json"), "--fit-report", path.join(dir, "report.json"), ...args]);
  assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
  assert.match(result.stderr, pattern);
  assert.deepEqual(await fs.readdir(dir), [], "nothing written");
  await fs.rm(dir, { recursive: true });
}

test("bad input: a clear error naming the key or the file, and nothing written", async () => {
  const obi = ["--circuit", obiOne, "--pathway-property", "mtype"];
  await refused([...obi, "--fit-properties", "conductance,conductanse"],
    /ConfigError: properties\[1\]: edge population 'S1nonbarrel_neurons__S1nonbarrel_neurons__chemical' \(.*edges\.h5\) has no property 'conductanse' \(its numeric properties: .*conductance/);
  await refused(["--circuit", obiOne, "--pathway-property", "nosuch"], /ConfigError: pathway_property: no edge population has 'nosuch' on both its source and target nodes/);
  await refused([...obi, "--populations", "POm__S1nonbarrel_neurons__chemical"], /pathway_property: source node population 'POm' \(.*nodes\.h5\) of edge population 'POm__S1nonbarrel_neurons__chemical' has no 'mtype' property/);
  await refused([...obi, "--populations", "nope"], /ConfigError: populations: unknown edge population 'nope'/);
  await refused([...obi, "--fit-laws", "u_syn=ztpoisson"], /ConfigError: prop_stats\.u_syn\.[^.]+\.[^.]+\.type: ztpoisson cannot describe u_syn's values below 1/);
  await refused([...obi, "--fit-laws", "conductance=discrete"], /prop_stats\.conductance\..*a discrete law needs the data's distinct values/);
  await refused([...obi, "--fit-laws", "conductance=gama"], /ConfigError: laws\.conductance: "gama" is not a law the fit can write: unknown variant `gama`/);
  await refused([...obi, "--fit-laws", "conductanse=gamma"], /ConfigError: laws\.conductanse: 'conductanse' is not a fitted property/);
  await refused([...obi, "--min-samples", "100000"], /ConfigError: min_sample_size: no pathway has at least 100000 connection\(s\) \(the most is \d+ in /);
  const withNaN = await obiOneWith("u_syn", [5, 700], [NaN, Infinity]);
  await refused(["--circuit", withNaN, "--pathway-property", "mtype"], /InputError: edge population 'S1nonbarrel_neurons__S1nonbarrel_neurons__chemical' column u_syn: 2 value\(s\) are NaN or infinite \(first: edge 5\)/);
  const negative = await obiOneWith("conductance", [3], [-2]);
  await refused(["--circuit", negative, "--pathway-property", "mtype"], /prop_stats\.conductance\..*\.type: gamma cannot describe conductance's negative values \(min -2\); choose another law/);
  for (const copy of [withNaN, negative]) await fs.rm(path.dirname(copy), { recursive: true });
});

test("the model file is never written over, run options are usage errors, modes and more of the core's options pass through", async () => {
  const dir = await tempDir();
  const model = path.join(dir, "model.json");
  await fs.writeFile(model, "mine");
  const exists = await runCli(["--circuit", obiOne, "--fit", model, "--pathway-property", "mtype"]);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /model\.json: exists already; choose a new file/);
  assert.equal(await fs.readFile(model, "utf8"), "mine");
  const usage = await runCli(["--circuit", obiOne, "--fit", path.join(dir, "x.json"), "--pathway-property", "mtype", "--out", dir]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--fit writes only the model: drop --out/);
  assert.equal((await runCli(["--circuit", obiOne, "--fit", path.join(dir, "x.json")])).code, 2, "--pathway-property is required");
  assert.match((await runCli(["--circuit", obiOne, "--fit", path.join(dir, "x.json"), "--pathway-property", "mtype", "--fit-mode", "best"])).stderr, /--fit-mode must be one of cm, auto, empirical/);
  assert.match((await runCli(["--circuit", obiOne, "--min-samples", "3"])).stderr, /--min-samples needs --fit MODEL\.json/);
  // The law chosen by the data, cross-validation and correlations: the core's options, checked by it.
  const auto = path.join(dir, "auto.json");
  const report = path.join(dir, "auto-report.json");
  const chosen = await runCli(["--circuit", obiOne, "--fit", auto, "--fit-report", report, "--pathway-property", "synapse_class", "--fit-mode", "auto",
    "--fit-settings", '{"folds": 3}', "--fit-options", '{"correlations": true, "correlation_min_samples": 10}']);
  assert.equal(chosen.code, 0, chosen.stderr);
  const autoReport = JSON.parse(await fs.readFile(report, "utf8"));
  assert.equal(autoReport.settings.folds ?? 3, 3);
  assert.ok(autoReport.correlations, "correlations reported");
  assert.match((await runCli(["--circuit", obiOne, "--fit", path.join(dir, "f.json"), "--pathway-property", "mtype", "--fit-settings", '{"fold": 3}'])).stderr,
    /ConfigError: settings\.fold: not one of this version's fit settings \(it has: properties, /);
  assert.match((await runCli(["--circuit", obiOne, "--fit", path.join(dir, "f.json"), "--pathway-property", "mtype", "--fit-options", '{"correlation": true}'])).stderr,
    /ConfigError: options\.correlation: not one of this version's fit options/);
  assert.deepEqual((await fs.readdir(dir)).sort(), ["auto-report.json", "auto.json", "model.json"]);
  // A folder that is not there is refused before the fit; an aborted fit writes nothing.
  const missing = await runCli(["--circuit", obiOne, "--fit", path.join(dir, "no", "model.json"), "--pathway-property", "mtype"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no\/model\.json: cannot be written: its folder does not exist/);
  const controller = new AbortController();
  const aborted = path.join(dir, "aborted.json");
  await assert.rejects(fit({ circuit: network, pathwayProperty: "mtype", populations: ["S1__S1__chemical"], chunkSize: 500, out: aborted, signal: controller.signal, onProgress: () => controller.abort() }),
    { name: "AbortError" });
  await assert.rejects(fs.access(aborted), "nothing written");
  await fs.rm(dir, { recursive: true });
});

test("--fit-laws delay=lin_delay fits each pathway's delay against the distance to the synapse, on any number of workers; what it needs is named", async () => {
  const geometry = path.join(fixtures, "obi_one_geometry", "circuit_config.json");
  const before = await snapshot(path.join(fixtures, "obi_one_geometry"));
  const dir = await tempDir("fit-delay");
  const model = (name) => path.join(dir, name);
  const args = (out, ...more) => ["--circuit", geometry, "--fit", out, "--pathway-property", "mtype", "--populations", OBI_S1, "--fit-laws", "delay=lin_delay", "--chunk-size", "300", ...more];
  const one = await runCli(args(model("one.json"), "--workers", "1", "--fit-report", model("report.json")));
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /delay \(lin_delay\)/);
  const fitted = JSON.parse(await fs.readFile(model("one.json"), "utf8"));
  const specs = Object.values(fitted.prop_stats.delay).flatMap((byTarget) => Object.values(byTarget));
  assert.ok(specs.length >= 20);
  for (const spec of specs) {
    assert.deepEqual(Object.keys(spec), ["type", "delay_mean_coeff_a", "delay_mean_coeff_b", "delay_std", "delay_min"]);
    assert.equal(spec.type, "lin_delay");
    // The fixture's delays grow with distance (r ≈ 0.8): every pathway's slope is positive.
    assert.ok(spec.delay_mean_coeff_b > 0 && spec.delay_std > 0 && spec.delay_min >= 0, JSON.stringify(spec));
  }
  // The same bytes from two worker threads; another bin width gives another line.
  const two = await runCli(args(model("two.json"), "--workers", "2"));
  assert.equal(two.code, 0, two.stderr);
  assert.equal(await sha256(model("two.json")), await sha256(model("one.json")));
  const wide = await runCli(args(model("wide.json"), "--fit-delay-bin", "100"));
  assert.equal(wide.code, 0, wide.stderr);
  assert.notEqual(await sha256(model("wide.json")), await sha256(model("one.json")));
  // The fitted model runs: delays drawn per synapse from the distance.
  const run = await runCli(["--circuit", geometry, "--config", model("one.json"), "--out", path.join(dir, "run"), "--populations", OBI_S1, "--pathway-property", "mtype", "--overwrite", "--seed", "3"]);
  assert.equal(run.code, 0, run.stderr);
  // What the fit needs, named before anything is read; nothing written.
  const bad = [
    [["--fit-delay-bin", "0"], /--fit-delay-bin must be a positive number/],
    [["--fit-laws", "delay=lin_delay,u_syn=lin_delay"], /laws\.u_syn: lin_delay is fitted for one property per fit/],
    [["--fit-mode", "empirical"], /empirical mode .* cannot follow a synapse's distance/],
  ];
  for (const [more, message] of bad) {
    const result = await runCli(args(model("bad.json"), ...more));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, message);
  }
  // The virtual VPM and POm nodes have no positions: the node file is named.
  const vpm = await runCli(["--circuit", geometry, "--fit", model("bad.json"), "--pathway-property", "mtype", "--fallback-value", "VPM", "--fit-laws", "delay=lin_delay"]);
  assert.notEqual(vpm.code, 0);
  assert.match(vpm.stderr, /has no soma positions \(x, y, z\), which the lin_delay fit of edge population '(VPM|POm)__/);
  await assert.rejects(fs.access(model("bad.json")));
  assert.deepEqual(await snapshot(path.join(fixtures, "obi_one_geometry")), before);
});
