// The headless API in Node (www/host/node.mjs, the package's "node" export): in-process runs, the same
// values as the headless command, progress, abort, and writing a whole circuit.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import h5wasm from "h5wasm/node";
import { parameterize } from "../../www/host/node.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const large = path.join(repo, "tests/fixtures/out/synaptome_large/circuit_config.json");
const example = path.join(repo, "www/examples/synaptome/circuit_config.json");
const seedExample = JSON.parse(await fs.readFile(path.join(repo, "www/presets/seed_example.json"), "utf8"));

test("parameterize() runs in-process and returns Arrow tables, statistics and warnings", async () => {
  const progress = [];
  const { results, stats, warnings, seed, pathwayProperty } = await parameterize({ circuit: example, config: seedExample, seed: 4, onProgress: (p) => progress.push(p) });
  assert.equal(seed, 4);
  assert.equal(pathwayProperty, "synapse_class");
  assert.deepEqual(warnings, []);
  const table = results.synaptome_afferents;
  assert.equal(table.numRows, 4145);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ["conductance", "syn_type_id"]);
  assert.equal(stats.synaptome_afferents.synapses, 4145);
  assert.deepEqual(stats.synaptome_afferents.properties.map((p) => p.property), ["conductance", "syn_type_id"]);
  assert.deepEqual(progress.at(-1), { done: 4145, total: 4145 });
  // The same values as the written file of a whole-circuit run with the same seed.
  const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "synparam-api-")), "circuit");
  const written = await parameterize({ circuit: example, config: JSON.stringify(seedExample), seed: 4, out });
  assert.equal(written.outDir, out);
  assert.equal(written.provenance.seed, 4);
  await h5wasm.ready;
  const file = new h5wasm.File(path.join(out, "edges.h5"), "r");
  assert.deepEqual(Array.from(file.get("edges/synaptome_afferents/0/conductance").value), Array.from(table.getChild("conductance").toArray(), Math.fround), "float32 in the file");
  file.close();
});

test("parameterize() stops on abort with an AbortError, before or during a run", async () => {
  const tm = JSON.parse(await fs.readFile(path.join(repo, "www/presets/tsodyks_markram.json"), "utf8"));
  const config = { ...tm, src_types: ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"], tgt_types: ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"] };
  // Map the E/I preset onto the synaptome's three classes.
  config.prop_stats = Object.fromEntries(Object.entries(tm.prop_stats).map(([property, bySource]) => [property, Object.fromEntries(config.src_types.map((s) =>
    [s, Object.fromEntries(config.tgt_types.map((t) => [t, bySource[s.startsWith("inh") ? "INH" : "EXC"][t.startsWith("inh") ? "INH" : "EXC"]]))]))]));
  const controller = new AbortController();
  const seen = [];
  await assert.rejects(parameterize({
    circuit: large, config, seed: 1, chunkSize: 1000, signal: controller.signal,
    onProgress: (p) => { seen.push(p); if (seen.length === 2) controller.abort(); },
  }), (error) => error.name === "AbortError");
  assert.equal(seen.length, 2, "no progress after the abort");
  assert.ok(seen[1].done < seen[1].total);
  await assert.rejects(parameterize({ circuit: large, config, seed: 1, signal: AbortSignal.abort() }), (error) => error.name === "AbortError");
  // A completed run of the same inputs works afterwards (nothing left half-open).
  const { stats } = await parameterize({ circuit: large, config, seed: 1 });
  assert.equal(stats.synaptome_afferents.synapses, seen[1].total);
});
