// The wasm package as host code sees it: loaded in Node from pkg/, fed Arrow IPC built with
// apache-arrow, answering with Arrow IPC and typed JS errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { tableFromIPC, tableToIPC, tableFromArrays, vectorFromArray, Dictionary, Utf8, Int8, makeTable } from "apache-arrow";
import { initSync, validateConfig, densityPreview, Parameterizer, planRun, specSchema, PathwayTally } from "../../pkg/synparam.js";

initSync({ module: await readFile(new URL("../../pkg/synparam_bg.wasm", import.meta.url)) });
const seedExample = await readFile(new URL("../../www/presets/seed_example.json", import.meta.url), "utf8");

/** Arrow IPC stream of one string column. */
function pathwayIpc(values) {
  return tableToIPC(makeTable({ synapse_class: vectorFromArray(values, new Dictionary(new Utf8(), new Int8())) }), "stream");
}

function edgesIpc(source, target, edgeId) {
  return tableToIPC(tableFromArrays({
    source_node_id: BigUint64Array.from(source, BigInt),
    target_node_id: Int32Array.from(target),
    edge_id: BigInt64Array.from(edgeId, BigInt),
  }), "stream");
}

test("validateConfig summarizes a valid task", () => {
  const summary = validateConfig(seedExample);
  assert.deepEqual(summary.properties.map((p) => p.name), ["conductance", "syn_type_id"]);
  assert.equal(summary.pathway_property, "synapse_class");
  assert.equal(summary.seed, 1);
});

test("config errors are JS Errors with a kind and the JSON path", () => {
  const bad = JSON.parse(seedExample);
  bad.pathway_param_dict.prop_stats.conductance.excitatory_neuron.inhibitory_neuron.std = -1;
  assert.throws(() => validateConfig(JSON.stringify(bad)), (error) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, "ConfigError");
    assert.equal(error.path, "pathway_param_dict.prop_stats.conductance.excitatory_neuron.inhibitory_neuron.std");
    assert.match(error.message, /must be ≥ 0/);
    return true;
  });
  assert.throws(() => new Parameterizer(seedExample, -3), /random_seed: must be a non-negative integer/);
});

test("a chunk round-trips through Arrow IPC with typed columns", () => {
  const run = new Parameterizer(seedExample, undefined);
  assert.equal(run.seed, 1);
  const classes = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron", null];
  const sources = pathwayIpc(Array.from({ length: 300 }, (_, i) => classes[i % 3]));
  const target = pathwayIpc(["excitatory_neuron"]);
  run.addEdgePopulation("synaptome_afferents", "sources", sources, "neuron", target, "synapse_class", undefined);
  const n = 3000;
  const ipc = run.runChunk("synaptome_afferents",
    edgesIpc(Array.from({ length: n }, (_, i) => i % 300), new Array(n).fill(0), Array.from({ length: n }, (_, i) => i)));
  const table = tableFromIPC(ipc);
  assert.equal(table.numRows, n);
  assert.equal(String(table.schema.fields[0].type), "Float64");
  assert.equal(String(table.schema.fields[1].type), "Int64");
  const synType = table.getChild("syn_type_id").toArray();
  assert.equal(synType[1], 1n, "inhibitory source → syn_type_id 1");
  assert.equal(synType[0], 100n);
  const stats = run.statistics();
  assert.equal(stats[0].property, "conductance");
  assert.equal(stats[0].pathways.reduce((s, p) => s + p.count, 0), n);
  assert.ok(stats[0].pathways.every((p) => p.histogram.counts.length + 1 === p.histogram.edges.length));
});

test("the same input gives the same bytes in a second instance", () => {
  const make = () => {
    const run = new Parameterizer(seedExample, 7);
    run.addEdgePopulation("e", "s", pathwayIpc(["excitatory_neuron", "inhibitory_neuron"]), "t", pathwayIpc(["excitatory_neuron"]), "synapse_class");
    return run.runChunk("e", edgesIpc([0, 1, 0], [0, 0, 0], [0, 1, 2]));
  };
  assert.deepEqual(make(), make());
});

test("runChunkView lends the same bytes runChunk returns, until the next call", () => {
  const make = () => {
    const run = new Parameterizer(seedExample, 7);
    run.addEdgePopulation("e", "s", pathwayIpc(["excitatory_neuron", "inhibitory_neuron"]), "t", pathwayIpc(["excitatory_neuron"]), "synapse_class");
    return run;
  };
  const owned = make();
  const viewed = make();
  for (const edgeIds of [[0, 1, 2], [3, 4, 5, 6, 7]]) {
    const edges = edgesIpc(edgeIds.map((i) => i % 2), edgeIds.map(() => 0), edgeIds);
    const copy = owned.runChunk("e", edges);
    const view = viewed.runChunkView("e", edges);
    assert.deepEqual(new Uint8Array(view), copy);
    assert.equal(tableFromIPC(view).numRows, edgeIds.length);
  }
  assert.deepEqual(viewed.statistics(), owned.statistics());
  owned.free();
  viewed.free();
});

test("missing pathway values are a typed error listing them", () => {
  const run = new Parameterizer(seedExample, 1);
  assert.throws(
    () => run.addEdgePopulation("e", "S1", pathwayIpc(["L5_TPC", "excitatory_neuron"]), "t", pathwayIpc(["excitatory_neuron"]), "synapse_class"),
    (error) => error.name === "MissingPathwayValuesError" && /L5_TPC/.test(error.message),
  );
  assert.throws(() => run.runChunk("e", new Uint8Array([1, 2, 3])), (error) => error.name === "InputError");
});

test("densityPreview samples a spec", () => {
  const points = densityPreview(JSON.stringify({ type: "normal", mean: 0, std: 1 }), 101);
  assert.equal(points.length, 101);
  const peak = points.reduce((best, p) => (p[1] > best[1] ? p : best));
  assert.ok(Math.abs(peak[0]) < 0.05 && Math.abs(peak[1] - 0.3989) < 1e-3);
});

test("connections() counts distinct source → target pairs per pathway across chunks; countConnections=false skips it", () => {
  const classes = ["excitatory_neuron", "inhibitory_neuron"];
  const make = () => {
    const run = new Parameterizer(seedExample, 3);
    run.addEdgePopulation("e", "s", pathwayIpc(Array.from({ length: 20 }, (_, i) => classes[i % 2])), "t", pathwayIpc(Array.from({ length: 5 }, () => "excitatory_neuron")), "synapse_class");
    return run;
  };
  const source = Array.from({ length: 200 }, (_, i) => (i * 7) % 20);
  const target = Array.from({ length: 200 }, (_, i) => Math.floor(i / 3) % 5);
  const expected = {};
  const seen = new Set();
  source.forEach((s, i) => {
    if (seen.has(`${s},${target[i]}`)) return;
    seen.add(`${s},${target[i]}`);
    const key = `${classes[s % 2]} → excitatory_neuron`;
    expected[key] = (expected[key] ?? 0) + 1;
  });
  const run = make();
  for (const [start, end] of [[0, 70], [70, 200], [0, 200]]) {
    const ids = Array.from({ length: end - start }, (_, i) => start + i);
    run.runChunk("e", edgesIpc(ids.map((i) => source[i]), ids.map((i) => target[i]), ids));
  }
  assert.deepEqual(run.connections("e"), expected);
  const off = make();
  off.countConnections = false;
  off.runChunk("e", edgesIpc(source, target, source.map((_, i) => i)));
  assert.deepEqual(off.connections("e"), {});
  run.free();
  off.free();
});

test("planRun resolves each setting with its source: override, else the config's task form, else the default", () => {
  const plan = planRun(seedExample, { seed: 9 });
  assert.deepEqual(plan.settings.seed, { value: 9, source: "override" });
  assert.deepEqual(plan.settings.pathwayProperty, { value: "synapse_class", source: "config" });
  assert.deepEqual(plan.settings.overwrite, { value: false, source: "config" });
  assert.deepEqual(plan.settings.fallback, { value: null, source: "default" });
  assert.deepEqual(planRun(seedExample, {}).settings.seed, { value: 1, source: "config" });
  const bare = JSON.stringify(JSON.parse(seedExample).pathway_param_dict);
  assert.deepEqual(planRun(bare).settings.seed, { value: null, source: "default" });
  assert.deepEqual(planRun(bare, { overwrite: false, populations: ["a"] }).settings.populations, { value: ["a"], source: "override" });
  assert.deepEqual(plan.summary.properties.map((p) => p.name), ["conductance", "syn_type_id"]);
  assert.deepEqual(Object.fromEntries(plan.schema.distributions).gamma, ["mean", "std"]);
  assert.deepEqual(plan.schema, specSchema());
  assert.throws(() => planRun(seedExample, { seed: -1 }), (e) => e.name === "ConfigError" && e.path === "random_seed");
  assert.throws(() => planRun(seedExample, { overwrite: "yes" }), (e) => e.name === "ConfigError" && e.path === "overrides");
  assert.throws(() => planRun("{", {}), (e) => e.name === "ConfigError" && e.path === "$");
});

test("every u64 seed crosses to JS exactly: planRun gives seeds above 2^53 − 1 as decimal strings and takes them back", () => {
  const max = "18446744073709551615";
  const big = seedExample.replace(/"random_seed":\s*1/, `"random_seed": ${max}`);
  assert.notEqual(big, seedExample);
  const plan = planRun(big, {});
  assert.deepEqual(plan.settings.seed, { value: max, source: "config" }, "not 18446744073709552000");
  assert.equal(plan.summary.seed, max);
  assert.deepEqual(planRun(seedExample, { seed: max }).settings.seed, { value: max, source: "override" });
  assert.deepEqual(planRun(seedExample, { seed: 2 ** 53 - 1 }).settings.seed, { value: 2 ** 53 - 1, source: "override" });
  const run = new Parameterizer(seedExample, max);
  assert.equal(run.seed, max);
  run.free();
  // Numbers beyond 2^53 − 1 are not exact in JS: refused (the string form is exact), as are text and u64 overflow.
  for (const seed of [2 ** 53, "18446744073709551616", "12a", "-1", " 1"]) {
    assert.throws(() => planRun(seedExample, { seed }), (e) => e.name === "ConfigError" && e.path === "random_seed", String(seed));
  }
});

test("PathwayTally counts synapses per value pair with the run's rules (fallback, ids checked)", () => {
  const tally = new PathwayTally();
  tally.addPopulation("e", "n", pathwayIpc(["EXC", "INH", null]), "n", pathwayIpc(["EXC", "INH", null]));
  tally.add("e", edgesIpc([0, 1, 2, 2], [1, 1, 0, 2], [0, 1, 2, 3]));
  assert.deepEqual(tally.counts(), [
    { source: null, target: null, synapses: 1 }, { source: null, target: "EXC", synapses: 1 },
    { source: "EXC", target: "INH", synapses: 1 }, { source: "INH", target: "INH", synapses: 1 }]);
  assert.deepEqual(tally.counts("INH"), [{ source: "EXC", target: "INH", synapses: 1 }, { source: "INH", target: "EXC", synapses: 1 }, { source: "INH", target: "INH", synapses: 2 }]);
  assert.throws(() => tally.add("e", edgesIpc([0], [7], [0])), /target_node_id: refers to node 7 but node population 'n' has 3 nodes/);
  tally.free();
});
