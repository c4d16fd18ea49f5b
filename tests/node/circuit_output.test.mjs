// The headless command's whole-circuit output (tests/fixtures/out/multi: three edge files all named
// edges.h5 in different folders; multi_external: a config naming files outside its folder), its
// provenance sidecar and dataset attributes, the bit-for-bit rerun from provenance, and a check
// with libsonata (a SONATA reader that is not ours).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { initialize } from "../../www/host/node.mjs";
import { loadCircuit, nodeFileSource, closeCircuit, pathReferences } from "../../www/sonata/loader.js";
import { normalizePath } from "../../pkg/synparam.js";
import { main } from "../../www/host/cli.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const fixtures = path.join(repo, "tests/fixtures/out");
const tm = path.join(repo, "www/presets/tsodyks_markram.json");
const quiet = () => {};
const run = promisify(execFile);
const DRAWN = ["conductance", "syn_type_id", "n_rrp_vesicles", "u_syn", "delay"];

before(async () => { await h5wasm.ready; await initialize(); });

const sha256 = async (file) => createHash("sha256").update(await fs.readFile(file)).digest("hex");
const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), "synparam-circuit-"));

/** Every file under a directory, relative, sorted. */
async function filesUnder(dir) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name))).sort();
}

/** Paths a circuit config names, resolved the SONATA way (manifest, relative to the config). */
async function resolvedReferences(configPath) {
  const config = JSON.parse(await fs.readFile(configPath, "utf8"));
  const manifest = { $BASE_DIR: ".", ...config.manifest };
  const expand = (p) => { for (let i = 0; i < 10; i++) p = p.replace(/\$[A-Za-z_]+/g, (v) => manifest[v]); return p; };
  return pathReferences(config).map((r) => ({ ...r, resolved: path.resolve(path.dirname(configPath), expand(r.value)) }));
}

async function libsonata(configPath) {
  const { stdout } = await run(path.join(repo, ".venv/bin/python"), [path.join(repo, "tests/fixtures/read_with_libsonata.py"), configPath, ...DRAWN, "afferent_section_id"], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

test("a circuit whose edge files share a base name comes out whole, mirrored, parameterized and readable by libsonata", async () => {
  const input = path.join(fixtures, "multi");
  const out = path.join(await tempDir(), "parameterized");
  const inputHashes = Object.fromEntries(await Promise.all((await filesUnder(input)).map(async (f) => [f, await sha256(path.join(input, f))])));
  const { provenance } = await main(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", out, "--seed", "11"], quiet);

  // Same layout, the three edges.h5 each in its own folder, plus the sidecar; inputs untouched.
  assert.deepEqual(await filesUnder(out), [...Object.keys(inputHashes), "parameterization.json"].sort());
  for (const [file, hash] of Object.entries(inputHashes)) assert.equal(await sha256(path.join(input, file)), hash, `input ${file} unchanged`);
  assert.equal(await fs.readFile(path.join(out, "circuit_config.json"), "utf8"), await fs.readFile(path.join(input, "circuit_config.json"), "utf8"), "config unchanged: no path had to change");
  for (const reference of await resolvedReferences(path.join(out, "circuit_config.json"))) {
    assert.ok(reference.resolved.startsWith(out + path.sep), `${reference.value} resolves inside the output`);
    const info = await fs.stat(reference.resolved);
    assert.equal(info.isDirectory(), reference.kind === "dir", `${reference.value} exists as a ${reference.kind}`);
  }
  for (const file of Object.keys(inputHashes).filter((f) => !f.startsWith("networks/edges/"))) {
    assert.equal(await sha256(path.join(out, file)), inputHashes[file], `${file} identical to the input`);
  }

  // Our loader and libsonata both read the output; libsonata sees the drawn columns in SONATA dtypes.
  const circuit = await loadCircuit(h5wasm, nodeFileSource(out, fs, path), {});
  assert.deepEqual([...circuit.edgePopulations.keys()].sort(), ["POm__S1__chemical", "S1__S1__chemical", "VPM__S1__chemical"]);
  const sonata = await libsonata(path.join(out, "circuit_config.json"));
  assert.deepEqual(Object.keys(sonata.nodes), ["POm", "S1", "VPM"]);
  for (const edges of circuit.edgePopulations.values()) {
    const seen = sonata.edges[edges.name];
    assert.equal(seen.size, edges.size);
    assert.deepEqual(Object.fromEntries(DRAWN.map((p) => [p, seen.columns[p].dtype])),
      { conductance: "float32", syn_type_id: "uint32", n_rrp_vesicles: "uint32", u_syn: "float32", delay: "float32" }, edges.name);
    for (const property of DRAWN) {
      const ours = Array.from(edges.file.get(`edges/${edges.name}/0/${property}`).value, Number);
      assert.deepEqual(seen.columns[property].values, ours, `${edges.name} ${property}: libsonata reads what we wrote`);
      const attributes = edges.file.get(`edges/${edges.name}/0/${property}`).attrs;
      assert.equal(attributes.synparam_tool.value, "synparam");
      assert.equal(attributes.synparam_seed.value, 11n);
      assert.equal(attributes.synparam_config_sha256.value, provenance.model_config_sha256);
    }
    const original = new h5wasm.File(path.join(input, edges.fileName), "r");
    assert.deepEqual(seen.columns.afferent_section_id.values, Array.from(original.get(`edges/${edges.name}/0/afferent_section_id`).value), "other columns untouched");
    assert.equal(original.get(`edges/${edges.name}/0/conductance`), null, "input edges not parameterized");
    original.close();
  }
  closeCircuit(circuit);

  // The sidecar: settings, model, counts, and a SHA-256 that matches every input and output file.
  assert.equal(provenance.tool, "synparam");
  assert.equal(provenance.seed, 11);
  assert.equal(provenance.pathway_property, "synapse_class");
  assert.deepEqual(provenance.model_config, JSON.parse(await fs.readFile(tm, "utf8")));
  assert.deepEqual(Object.keys(provenance.parameterized).sort(), ["POm__S1__chemical", "S1__S1__chemical", "VPM__S1__chemical"]);
  assert.equal(provenance.parameterized.VPM__S1__chemical.edges_file, "networks/edges/VPM__S1__chemical/edges.h5");
  assert.deepEqual(provenance.directories, ["morphologies", "emodels"]);
  for (const [file, hash] of Object.entries(provenance.outputs)) assert.equal(await sha256(path.join(out, file)), hash, `output hash of ${file}`);
  for (const [file, hash] of Object.entries(provenance.inputs)) assert.equal(inputHashes[file], hash, `input hash of ${file}`);
  assert.deepEqual(Object.keys(provenance.inputs).sort(), Object.keys(inputHashes).filter((f) => !f.startsWith("morphologies/") && !f.startsWith("emodels/")).sort());
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8")), provenance);
});

test("--from-provenance reruns bit for bit, and refuses a circuit that changed", async () => {
  const input = path.join(fixtures, "multi");
  const work = await tempDir();
  const first = path.join(work, "first");
  await main(["--circuit", path.join(input, "circuit_config.json"), "--config", tm, "--out", first, "--seed", "5", "--populations", "VPM__S1__chemical,S1__S1__chemical"], quiet);
  const second = path.join(work, "second");
  await main(["--circuit", path.join(input, "circuit_config.json"), "--from-provenance", path.join(first, "parameterization.json"), "--out", second, "--copy"], quiet);
  const files = await filesUnder(first);
  assert.deepEqual(await filesUnder(second), files);
  for (const file of files.filter((f) => f !== "parameterization.json")) {
    assert.ok((await fs.readFile(path.join(first, file))).equals(await fs.readFile(path.join(second, file))), `${file} bit-identical`);
  }
  const [a, b] = await Promise.all([first, second].map(async (d) => JSON.parse(await fs.readFile(path.join(d, "parameterization.json"), "utf8"))));
  assert.notEqual(a.created, undefined);
  assert.deepEqual({ ...a, created: null }, { ...b, created: null }, "the same sidecar but for its time");
  assert.deepEqual(a.edge_populations, ["VPM__S1__chemical", "S1__S1__chemical"]);
  assert.equal(await sha256(path.join(first, "networks/edges/POm__S1__chemical/edges.h5")), await sha256(path.join(input, "networks/edges/POm__S1__chemical/edges.h5")), "a population not asked for is copied unchanged");
  // Files are copies (the default), not links to the inputs.
  assert.equal((await fs.stat(path.join(second, "networks/nodes/S1/nodes.h5"))).nlink, 1);

  // A changed input: the rerun would not reproduce the recorded result, so it is refused.
  const changed = path.join(work, "changed");
  await fs.cp(input, changed, { recursive: true });
  await fs.writeFile(path.join(changed, "node_sets.json"), "{}\n");
  const refused = path.join(work, "refused");
  await assert.rejects(main(["--circuit", path.join(changed, "circuit_config.json"), "--from-provenance", path.join(first, "parameterization.json"), "--out", refused], quiet),
    /the circuit differs from the one .*parameterization\.json records, so the run would not reproduce it: node_sets\.json/);
  await assert.rejects(fs.access(refused), "nothing written");
  await assert.rejects(main(["--circuit", path.join(input, "circuit_config.json"), "--from-provenance", path.join(first, "parameterization.json"), "--seed", "2", "--out", refused], quiet),
    /--from-provenance sets the model and run settings; drop --seed/);
  await assert.rejects(main(["--circuit", path.join(input, "circuit_config.json"), "--from-provenance", tm, "--out", refused], quiet),
    /not a synparam provenance file/);
});

test("files outside the config's folder go to external/, and only their config entries change", async () => {
  const configPath = path.join(fixtures, "multi_external/circuit_config.json");
  const out = path.join(await tempDir(), "out");
  await main(["--circuit", configPath, "--config", tm, "--out", out, "--seed", "1"], quiet);
  const before = JSON.parse(await fs.readFile(configPath, "utf8"));
  const after = JSON.parse(await fs.readFile(path.join(out, "circuit_config.json"), "utf8"));
  assert.deepEqual(after.manifest, before.manifest, "manifest variables kept");
  const changed = pathReferences(after).filter((r, i) => r.value !== pathReferences(before)[i].value);
  assert.equal(changed.length, pathReferences(before).length, "every path left the folder, so every path changed");
  const strip = (config) => JSON.stringify(config, (key, value) => (typeof value === "string" && /_(file|dir)$/.test(key) ? "<path>" : value));
  assert.equal(strip(after), strip(before), "nothing but paths changed");
  for (const reference of await resolvedReferences(path.join(out, "circuit_config.json"))) {
    assert.ok(reference.resolved.startsWith(path.join(out, "external") + path.sep), reference.value);
    await fs.access(reference.resolved);
  }
  assert.ok((await filesUnder(out)).includes("external/multi/networks/edges/POm__S1__chemical/edges.h5"));
  const sonata = await libsonata(path.join(out, "circuit_config.json"));
  assert.equal(sonata.edges.POm__S1__chemical.columns.conductance.dtype, "float32");
});

test("plain files keep their layout under --out; a non-empty --out is refused", async () => {
  const input = path.join(fixtures, "multi/networks");
  const out = path.join(await tempDir(), "plain");
  const files = ["nodes/S1/nodes.h5", "nodes/thalamus/nodes.h5", "edges/VPM__S1__chemical/edges.h5", "edges/POm__S1__chemical/edges.h5"];
  const { provenance } = await main(["--circuit", ...files.map((f) => path.join(input, f)), "--config", tm, "--out", out, "--seed", "1"], quiet);
  assert.deepEqual(await filesUnder(out), [...files, "parameterization.json"].sort());
  assert.equal(provenance.circuit_config, null);
  assert.deepEqual(Object.keys(provenance.parameterized).sort(), ["POm__S1__chemical", "VPM__S1__chemical"]);
  const nonEmpty = await tempDir();
  await fs.writeFile(path.join(nonEmpty, "keep.txt"), "mine\n");
  await assert.rejects(main(["--circuit", path.join(fixtures, "multi/circuit_config.json"), "--config", tm, "--out", nonEmpty, "--seed", "1"], quiet), /is not empty/);
  assert.deepEqual(await fs.readdir(nonEmpty), ["keep.txt"]);
  assert.equal(normalizePath("a/./b/../c//d"), "a/c/d");
  assert.equal(normalizePath("../x/../../y"), "../../y");
});

test("two inputs that would land on one output path are an error naming both", async () => {
  const { outputLayout } = await import("../../www/sonata/circuit_output.js");
  const plain = (names) => ({ config: null, references: names.map((name) => ({ keyPath: null, value: name, name, kind: "file", role: "edges" })) });
  assert.deepEqual(outputLayout(plain(["/data/a/edges.h5", "/data/b/edges.h5"])).entries.map((e) => e.output), ["a/edges.h5", "b/edges.h5"]);
  assert.throws(() => outputLayout(plain(["/data/a/edges.h5", "/data/x/../a/edges.h5"])),
    /two inputs would both be written as edges\.h5: \/data\/a\/edges\.h5 and \/data\/x\/\.\.\/a\/edges\.h5/);
  const configured = {
    config: { name: "circuit_config.json", text: JSON.stringify({ networks: { edges: [{ edges_file: "circuit_config.json" }] } }), json: { networks: { edges: [{ edges_file: "circuit_config.json" }] } } },
    references: [{ keyPath: ["networks", "edges", 0, "edges_file"], value: "circuit_config.json", name: "circuit_config.json", kind: "file", role: "edges" }],
  };
  assert.throws(() => outputLayout(configured), /networks\.edges\.0\.edges_file: names the circuit config itself/);
});
