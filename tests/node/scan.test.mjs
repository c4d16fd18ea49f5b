// Scans and changes of a recorded run in the command (docs/command.md, design §5.5): a grid and a
// coupled scan of the multi fixture (three edges files) with 1 and 2 workers — every property not
// scanned byte-identical across points, a scanned one changed only on the pathways whose spec
// changed; files no point changes stored once in shared/ and named from each point's config;
// bad scans refused with nothing written; --from-provenance --change differing from its parent
// exactly where the change says, its sidecar naming the parent, a changed input refused.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import h5wasm from "h5wasm/node";
import { initialize, writeParameterizedScan } from "../../www/host/node.mjs";
import { main } from "../../www/host/cli.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const multi = path.join(repo, "tests/fixtures/out/multi");
const circuit = path.join(multi, "circuit_config.json");
const scans = path.join(repo, "tests/fixtures/scan");
const quiet = () => {};

before(async () => { await h5wasm.ready; await initialize(); });

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), "synparam-scan-"));
const readJson = async (file) => JSON.parse(await fs.readFile(file, "utf8"));

/** Every file under a directory, relative, sorted. */
async function filesUnder(dir) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name))).sort();
}

/** A scan config written to a temp file (the fixture's, with `edit` applied). */
async function scanConfig(name, edit = (c) => c) {
  const text = (await fs.readFile(path.join(scans, name), "utf8")).replace(/-Infinity/g, "\"-Infinity-marker\"");
  const config = edit(JSON.parse(text));
  const file = path.join(await tempDir(), name);
  await fs.writeFile(file, JSON.stringify(config).replace(/"-Infinity-marker"/g, "-Infinity"));
  return file;
}

/** A node population's synapse_class per node (SONATA @library or plain strings). */
function classes(file, population) {
  const h5 = new h5wasm.File(file, "r");
  try {
    const values = h5.get(`nodes/${population}/0/synapse_class`).value;
    const library = h5.get(`nodes/${population}/0/@library/synapse_class`);
    return library ? [...values].map((code) => library.value[code]) : [...values];
  } finally {
    h5.close();
  }
}

/** A circuit's edge populations as its config names them: per population its file, every
 * dataset of group 0 (bytes), and each edge's pathway `source→target` by synapse_class. */
async function edgesOf(configPath) {
  const config = await readJson(configPath);
  const base = path.dirname(configPath);
  const resolve = (p) => path.resolve(base, p.replace("$NETWORK_DIR", config.manifest?.$NETWORK_DIR ?? "").replace("$BASE_DIR", "."));
  const nodeClasses = {};
  for (const entry of config.networks.nodes) {
    for (const population of Object.keys(entry.populations)) nodeClasses[population] = classes(resolve(entry.nodes_file), population);
  }
  const edges = {};
  for (const entry of config.networks.edges) {
    const file = resolve(entry.edges_file);
    const h5 = new h5wasm.File(file, "r");
    try {
      for (const population of Object.keys(entry.populations)) {
        const group = h5.get(`edges/${population}`);
        const sources = group.get("source_node_id");
        const targets = group.get("target_node_id");
        const [from, to] = [nodeClasses[sources.attrs.node_population.value], nodeClasses[targets.attrs.node_population.value]];
        const s = [...sources.value].map(Number);
        const t = [...targets.value].map(Number);
        const datasets = {};
        for (const name of group.get("0").keys()) datasets[name] = [...group.get(`0/${name}`).value].map(String);
        edges[population] = { file, datasets, pathways: s.map((id, i) => `${from[id]}→${to[t[i]]}`) };
      }
    } finally {
      h5.close();
    }
  }
  return edges;
}

/** Whether `changes` (the core's, relative to the base) let `property` differ on `pathway`. */
const affects = (changes, property, pathway) => changes.kind === "everything" || changes.changed.some((c) =>
  c.property === property && (c.source === null || pathway.startsWith(`${c.source}→`)) && (c.target === null || pathway.endsWith(`→${c.target}`)));

/** Every dataset of `other` equals `base`'s except values of a property `changes` names, on the
 * pathways it names; those changed somewhere when the point changes them. */
function assertKeyedInvariance(base, other, changes, label, mustChange = true) {
  let changedValues = 0;
  for (const [population, { datasets, pathways }] of Object.entries(base)) {
    for (const [dataset, values] of Object.entries(datasets)) {
      const now = other[population].datasets[dataset];
      assert.equal(now.length, values.length);
      for (let i = 0; i < values.length; i++) {
        if (now[i] === values[i]) continue;
        assert.ok(affects(changes, dataset, pathways[i]), `${label}: ${population}/${dataset} edge ${i} (${pathways[i]}) changed though no axis changes it`);
        changedValues++;
      }
    }
  }
  if (mustChange && (changes.kind === "everything" || changes.changed.length)) assert.ok(changedValues > 0, `${label}: the scanned values changed somewhere`);
}

/** Run a scan with `workers`, check its layout and keyed invariance; returns the output folder. */
async function checkScan(configFile, workers, mustChange = () => true) {
  const out = path.join(await tempDir(), "scan");
  const lines = [];
  await main(["--circuit", circuit, "--config", configFile, "--out", out, "--workers", String(workers), "--chunk-size", "200"], (line) => lines.push(line));
  const scan = await readJson(path.join(out, "scan.json"));
  assert.match(lines[0], new RegExp(`^${scan.mode} scan of ${scan.count} point\\(s\\): .*; every point checked against the circuit$`));
  assert.deepEqual((await fs.readdir(out)).sort(), ["scan.json", "shared", ...scan.points.map((p) => p.name)].sort());
  const base = await edgesOf(path.join(out, scan.points[0].name, "circuit_config.json"));
  for (const point of scan.points) {
    const folder = path.join(out, point.name);
    const sidecar = await readJson(path.join(folder, "parameterization.json"));
    assert.equal(sidecar.model_config_sha256, point.config_sha256, "the point's sidecar records its model");
    // A point holds its config, its sidecar and the edges files it writes; every other file is in shared/.
    for (const file of await filesUnder(folder)) assert.ok(file === "circuit_config.json" || file === "parameterization.json" || file.endsWith("edges.h5"), file);
    const edges = await edgesOf(path.join(folder, "circuit_config.json"));
    assertKeyedInvariance(base, edges, point.changes, point.name, mustChange(point));
  }
  return { out, scan };
}

test("a grid scan: one circuit per point, every property not scanned the same bits, the same with 1 and 2 workers", async () => {
  const config = path.join(scans, "grid_task.json");
  const one = await checkScan(config, 1);
  assert.equal(one.scan.count, 6);
  assert.deepEqual(one.scan.points.map((p) => p.name).slice(0, 2), ["0_mean=0.5_EXC=v0", "1_mean=0.5_EXC=v1"]);
  const two = await checkScan(config, 2);
  // Every file the same bytes (the sidecars but their creation time).
  const files = await filesUnder(one.out);
  assert.deepEqual(await filesUnder(two.out), files);
  for (const file of files) {
    const [a, b] = await Promise.all([one.out, two.out].map((dir) => fs.readFile(path.join(dir, file))));
    const created = /"created": "[^"]*"/;
    if (file.endsWith("parameterization.json")) assert.equal(a.toString().replace(created, ""), b.toString().replace(created, ""), file);
    else assert.ok(a.equals(b), `${file} differs between 1 and 2 workers`);
  }
});

test("a coupled scan keeps every property not scanned, with 1 and 2 workers; the inputs are untouched", async () => {
  const config = path.join(scans, "coupled_task.json");
  const { createHash } = await import("node:crypto");
  const hashes = async () => Promise.all((await filesUnder(multi)).map(async (f) => [f, createHash("sha256").update(await fs.readFile(path.join(multi, f))).digest("hex")]));
  const before = await hashes();
  for (const workers of [1, 2]) {
    const { scan } = await checkScan(config, workers);
    assert.equal(scan.mode, "coupled");
    assert.equal(scan.count, 3);
  }
  assert.deepEqual(await hashes(), before, "the input circuit is unchanged");
});

test("a scan of rules: a changed property may change on every pathway, every other one keeps its bits", async () => {
  // Rule L5 (the conductance axis) selects by mtype, which this circuit lacks: it matches no node.
  const { scan } = await checkScan(path.join(scans, "rules_scan.json"), 2, (point) => point.changes.changed.some((c) => c.property === "u_syn"));
  assert.equal(scan.kind, "rules");
  assert.deepEqual(scan.points[1].changes, { kind: "some", changed: [{ property: "conductance", source: null, target: null }] });
});

test("edges files no point changes are stored once in shared/ and named from every point's config", async () => {
  // Only pathways from INH change: the thalamic populations (EXC sources only) draw the same bits in every point.
  const config = await scanConfig("grid_task.json", (c) => {
    c.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = 1.0;
    c.pathway_param_dict.prop_stats.conductance.INH.INH.mean = [1.5, 3.0, 4.5];
    return c;
  });
  const { out, scan } = await checkScan(config, 2);
  const shared = await filesUnder(path.join(out, "shared"));
  for (const file of ["networks/edges/VPM__S1__chemical/edges.h5", "networks/edges/POm__S1__chemical/edges.h5", "networks/nodes/S1/nodes.h5", "morphologies/sub/cell_b.swc", "node_sets.json"]) {
    assert.ok(shared.includes(file), `${file} stored once in shared/`);
  }
  assert.ok(!shared.includes("networks/edges/S1__S1__chemical/edges.h5"));
  for (const point of scan.points) {
    assert.deepEqual(await filesUnder(path.join(out, point.name)), ["circuit_config.json", "networks/edges/S1__S1__chemical/edges.h5", "parameterization.json"]);
    const pointConfig = await readJson(path.join(out, point.name, "circuit_config.json"));
    assert.equal(pointConfig.networks.edges[0].edges_file, "./networks/edges/S1__S1__chemical/edges.h5");
    assert.equal(pointConfig.networks.edges[1].edges_file, "../shared/networks/edges/VPM__S1__chemical/edges.h5");
    assert.equal(pointConfig.components.morphologies_dir, "../shared/morphologies");
    const sidecar = await readJson(path.join(out, point.name, "parameterization.json"));
    assert.ok(sidecar.outputs["../shared/networks/nodes/S1/nodes.h5"], "the sidecar hashes the shared files it names");
    assert.equal(sidecar.parameterized.VPM__S1__chemical.edges_file, "../shared/networks/edges/VPM__S1__chemical/edges.h5");
  }
  // A point's sidecar reruns it: the same edge datasets from the original circuit.
  const point = scan.points[2];
  const rerun = path.join(await tempDir(), "rerun");
  await main(["--circuit", circuit, "--from-provenance", path.join(out, point.name, "parameterization.json"), "--out", rerun], quiet);
  assertKeyedInvariance(await edgesOf(path.join(out, point.name, "circuit_config.json")), await edgesOf(path.join(rerun, "circuit_config.json")), { kind: "some", changed: [] }, "rerun");
});

test("a seed axis changes every value: each point writes every edges file, shared/ holds the rest", async () => {
  const config = await scanConfig("grid_task.json", (c) => {
    c.random_seed = [7, 8];
    c.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = 1.0;
    c.pathway_param_dict.prop_stats.u_syn.INH.EXC = { type: "normal", mean: 0.25, std: 0.05 };
    return c;
  });
  const { out, scan } = await checkScan(config, 1);
  assert.equal(scan.points[1].changes.kind, "everything");
  assert.ok(!(await filesUnder(path.join(out, "shared"))).some((f) => f.endsWith("edges.h5")));
  for (const point of scan.points) assert.equal((await filesUnder(path.join(out, point.name))).filter((f) => f.endsWith("edges.h5")).length, 3);
});

test("a later point draws only what it changes over a copy of the first point's file: byte for byte a whole run's file, digests and provenance", async () => {
  // The coupled fixture correlates conductance with depression_time: changing one redraws both.
  const scanText = await fs.readFile(path.join(scans, "coupled_task.json"), "utf8");
  const out = path.join(await tempDir(), "scan");
  const { plan, results } = await writeParameterizedScan({ circuitPaths: [circuit], scanText, settings: {}, out, chunkSize: 200, workers: 2 });
  assert.equal(results[0].redrawn, null, "the first point draws everything");
  assert.deepEqual(results[1].redrawn.properties, ["conductance", "n_rrp_vesicles", "depression_time"]);
  assert.deepEqual(results[2].redrawn.properties, ["conductance", "depression_time"]);
  // Its statistics are whole: the first point's for what it kept (the same values), its own for what it drew.
  const conductanceOf = (population) => JSON.stringify(population.stats.find((s) => s.property === "conductance"));
  for (const [k, population] of results[2].populations.entries()) {
    const first = results[0].populations[k];
    assert.deepEqual(population.stats.map((s) => s.property), first.stats.map((s) => s.property));
    assert.deepEqual(population.stats.find((s) => s.property === "n_rrp_vesicles"), first.stats.find((s) => s.property === "n_rrp_vesicles"));
  }
  assert.ok(results[2].populations.some((population, k) => conductanceOf(population) !== conductanceOf(results[0].populations[k])), "INH → INH's conductance, drawn again, differs");
  assert.deepEqual(results[2].combined.stats.map((s) => s.property), results[0].combined.stats.map((s) => s.property));
  for (const point of plan.points.slice(1)) {
    const folder = path.join(out, point.name);
    const sidecar = await readJson(path.join(folder, "parameterization.json"));
    // A whole run of the point from the original circuit: the same datasets, the same digests.
    const rerun = path.join(await tempDir(), "rerun");
    await main(["--circuit", circuit, "--from-provenance", path.join(folder, "parameterization.json"), "--out", rerun], quiet);
    const whole = await readJson(path.join(rerun, "parameterization.json"));
    for (const [population, record] of Object.entries(whole.parameterized)) {
      assert.equal(sidecar.parameterized[population].connections, record.connections, `${point.name} ${population}: the connections of a whole run (the first point's)`);
    }
    const perPoint = (await filesUnder(folder)).filter((f) => f.endsWith("edges.h5"));
    assert.ok(perPoint.length > 0);
    for (const file of perPoint) {
      // Byte for byte a whole run's file: the kept datasets' config SHA-256 attribute set in place.
      assert.ok((await fs.readFile(path.join(folder, file))).equals(await fs.readFile(path.join(rerun, file))), `${point.name} ${file}: a whole run's bytes`);
      assert.equal(sidecar.outputs[file], whole.outputs[file]);
      assert.deepEqual(sidecar.datasets[file], whole.datasets[file], `${point.name} ${file}: the digests of a whole run`);
      const h5 = new h5wasm.File(path.join(folder, file), "r");
      try {
        for (const dataset of Object.keys(sidecar.datasets[file])) {
          assert.equal(h5.get(dataset).attrs.synparam_config_sha256.value, point.config_sha256, `${point.name} ${file} ${dataset}: the point's provenance`);
        }
      } finally {
        h5.close();
      }
    }
    assertKeyedInvariance(await edgesOf(path.join(folder, "circuit_config.json")), await edgesOf(path.join(rerun, "circuit_config.json")), { kind: "some", changed: [] }, `${point.name} rerun`);
  }
});

test("a bad scan is refused, naming the axis, the point or the limit, and nothing is written", async () => {
  const grid = "grid_task.json";
  const cases = [
    ["an axis naming a field that does not exist", grid, (c) => { c.pathway_param_dict.prop_stats.conductance.EXC.INH.bogus = [1, 2]; return c; }, /bogus/],
    ["an empty list", grid, (c) => { c.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = []; return c; }, /prop_stats\.conductance\.EXC\.INH\.mean: an empty list/],
    ["an invalid point", grid, (c) => { c.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = [1.0, -2.0]; return c; }, /^pathway_param_dict\.prop_stats\.conductance\.EXC\.INH\.mean: gamma mean must be > 0, got -2 \(in scan point 2_mean=-2_EXC=v0: pathway_param_dict\.prop_stats\.conductance\.EXC\.INH\.mean = -2, /],
    ["more points than allowed", grid, (c) => { c.max_points = 4; return c; }, /6 points .* exceed the limit of 4/],
    ["unequal coupled lists", "coupled_task.json", (c) => { c.pathway_param_dict.prop_stats.conductance.INH.INH.std = [0.2, 0.4]; return c; }, /a coupled scan needs lists of equal length: .*std has 2/],
  ];
  for (const [label, name, edit, message] of cases) {
    const file = await scanConfig(name, edit);
    const parent = await tempDir();
    const out = path.join(parent, "scan");
    await assert.rejects(main(["--circuit", circuit, "--config", file, "--out", out], quiet), (error) => {
      assert.match(error.message, message, label);
      return true;
    });
    assert.deepEqual(await fs.readdir(parent), [], `${label}: nothing written`);
  }
});

test("a run option that sets what an axis scans is refused, naming both, and nothing is written", async () => {
  const cases = [
    [(c) => { c.random_seed = [1, 2]; return c; }, ["--seed", "7"], /^random_seed: a scan axis, and --seed sets random_seed for every point .*drop --seed, or the axis/],
    [(c) => { c.overwrite_if_exists = [true, false]; return c; }, ["--overwrite"], /^overwrite_if_exists: a scan axis, and --overwrite sets overwrite_if_exists/],
    [(c) => { c.pathway_property = ["synapse_class", "model_type"]; return c; }, ["--pathway-property", "synapse_class"], /^pathway_property: a scan axis, and --pathway-property sets/],
  ];
  for (const [edit, flags, message] of cases) {
    const file = await scanConfig("grid_task.json", edit);
    const parent = await tempDir();
    const lines = [];
    await assert.rejects(main(["--circuit", circuit, "--config", file, "--out", path.join(parent, "scan"), ...flags], (line) => lines.push(line)), (error) => {
      assert.match(error.message, message, flags.join(" "));
      return true;
    });
    assert.deepEqual(lines, []);
    assert.deepEqual(await fs.readdir(parent), [], `${flags[0]}: nothing written`);
  }
  // The limit names the command's option.
  const file = await scanConfig("grid_task.json");
  await assert.rejects(main(["--circuit", circuit, "--config", file, "--out", path.join(await tempDir(), "scan"), "--max-points", "4"], quiet),
    /exceed the limit of 4: set --max-points \(or the config's max_points\) to allow more/);
});

test("every point is checked against the circuit before point 0 is drawn: pathway values, edge attributes, existing properties", async () => {
  const obiOne = path.join(repo, "tests/fixtures/out/obi_one_geometry/circuit_config.json");
  const cases = [
    ["a pathway property whose values the model lacks", circuit, (c) => { c.pathway_property = ["synapse_class", "model_type"]; return c; },
      /^scan point 06_pathway_property=model_type_mean=0\.5_EXC=v0: .*model_type values missing from src_types/],
    ["an edge attribute the edges files lack", circuit, (c) => {
      c.pathway_param_dict.prop_stats.conductance.INH.INH = [{ type: "constant", mean: 1 }, { type: "constant", mean: 1, scale_by: { attribute: "spine_length", linear: [1, 0.25] } }];
      return c;
    }, /^scan point 02_mean=0\.5_INH=v1_EXC=v0: .*lacks: spine_length/],
    ["properties the edges files hold, overwrite scanned", obiOne, (c) => {
      c.pathway_param_dict.prop_stats = { conductance: c.pathway_param_dict.prop_stats.conductance };
      c.edge_populations = ["S1nonbarrel_neurons__S1nonbarrel_neurons__chemical"];
      c.overwrite_if_exists = [true, false];
      return c;
    }, /^scan point 1_mean=0\.5_overwrite_if_exists=false: .*properties already exist: conductance \(set overwrite_if_exists to replace them\)/],
  ];
  for (const [label, circuitPath, edit, message] of cases) {
    const file = await scanConfig("grid_task.json", edit);
    const parent = await tempDir();
    const lines = [];
    await assert.rejects(main(["--circuit", circuitPath, "--config", file, "--out", path.join(parent, "scan"), "--workers", "1"], (line) => lines.push(line)), (error) => {
      assert.match(error.message, message, label);
      return true;
    });
    // Refused before the plan is announced and before any point is drawn: nothing written.
    assert.deepEqual(lines, [], label);
    assert.deepEqual(await fs.readdir(parent), [], `${label}: nothing written`);
  }
});

test("a scan into a folder inside the input circuit is allowed, as a single run's: the output is never mirrored into itself", async () => {
  const input = path.join(await tempDir(), "circuit");
  await fs.cp(multi, input, { recursive: true });
  // A component naming the circuit folder itself: the folder is mirrored around the placed files.
  const config = await readJson(path.join(input, "circuit_config.json"));
  config.components.morphologies_dir = ".";
  await fs.writeFile(path.join(input, "circuit_config.json"), JSON.stringify(config));
  const out = path.join(input, "scans", "inside");
  await main(["--circuit", path.join(input, "circuit_config.json"), "--config", path.join(scans, "coupled_task.json"), "--out", out, "--workers", "1"], quiet);
  const files = await filesUnder(out);
  assert.ok(!files.some((f) => f.includes("scans/") || f.includes("inside") || f.includes(".partial-") || f.includes("synparam-lock")), files.join("\n"));
  assert.ok(files.includes("scan.json"));
});

test("--from-provenance --change differs from its parent exactly where the change says, and names its parent", async () => {
  const dir = await tempDir();
  const model = path.join(dir, "model.json");
  const scan = await readJson(path.join(scans, "coupled_task.json"));
  delete scan.scan;
  const pd = scan.pathway_param_dict.prop_stats;
  pd.conductance.INH.INH.std = 0.2;
  pd.n_rrp_vesicles.EXC.EXC.val = [1, 2, 3];
  await fs.writeFile(model, JSON.stringify(scan));
  const parent = path.join(dir, "parent");
  await main(["--circuit", circuit, "--config", model, "--out", parent], quiet);
  const patch = path.join(dir, "patch.json");
  await fs.writeFile(patch, JSON.stringify({ pathway_param_dict: { prop_stats: { conductance: { EXC: { INH: { type: "gamma", mean: 3.0, std: 0.3 } } } } } }));
  const child = path.join(dir, "child");
  await main(["--circuit", circuit, "--from-provenance", path.join(parent, "parameterization.json"), "--change", patch, "--out", child], quiet);
  const sidecar = await readJson(path.join(child, "parameterization.json"));
  const parentText = await fs.readFile(path.join(parent, "parameterization.json"), "utf8");
  const { createHash } = await import("node:crypto");
  assert.equal(sidecar.parent.sidecar_sha256, createHash("sha256").update(parentText).digest("hex"));
  assert.equal(sidecar.parent.model_config_sha256, JSON.parse(parentText).model_config_sha256);
  assert.deepEqual(sidecar.parent.patch, JSON.parse(await fs.readFile(patch, "utf8")));
  assert.deepEqual(sidecar.parent.changes, { kind: "some", changed: [{ property: "conductance", source: "EXC", target: "INH" }] });
  assert.equal(sidecar.model_config.pathway_param_dict.prop_stats.conductance.EXC.INH.mean, 3);
  assertKeyedInvariance(await edgesOf(path.join(parent, "circuit_config.json")), await edgesOf(path.join(child, "circuit_config.json")), sidecar.parent.changes, "change");
  // The child's sidecar is itself a parent: a rerun of it gives the same bytes.
  const rerun = path.join(dir, "rerun");
  await main(["--circuit", circuit, "--from-provenance", path.join(child, "parameterization.json"), "--out", rerun], quiet);
  for (const file of await filesUnder(child)) {
    if (file.endsWith(".h5")) assert.ok((await fs.readFile(path.join(child, file))).equals(await fs.readFile(path.join(rerun, file))), file);
  }

  // A change of a run whose inputs changed since is refused, naming the file; nothing written.
  const copy = path.join(dir, "circuit");
  await fs.cp(multi, copy, { recursive: true });
  const ofCopy = path.join(dir, "of_copy");
  await main(["--circuit", path.join(copy, "circuit_config.json"), "--config", model, "--out", ofCopy], quiet);
  await fs.appendFile(path.join(copy, "node_sets.json"), "\n");
  await assert.rejects(main(["--circuit", path.join(copy, "circuit_config.json"), "--from-provenance", path.join(ofCopy, "parameterization.json"), "--change", patch, "--out", path.join(dir, "refused")], quiet),
    /node_sets\.json/);
  await assert.rejects(fs.stat(path.join(dir, "refused")));
  // A patch naming a setting or a pathway value the model lacks is refused by name.
  await fs.writeFile(patch, JSON.stringify({ random_seed: 4 }));
  await assert.rejects(main(["--circuit", circuit, "--from-provenance", path.join(parent, "parameterization.json"), "--change", patch, "--out", path.join(dir, "x")], quiet), /patch\.random_seed/);
  await fs.writeFile(patch, JSON.stringify({ prop_stats: { conductance: { GLIA: { INH: { type: "constant", mean: 1 } } } } }));
  await assert.rejects(main(["--circuit", circuit, "--from-provenance", path.join(parent, "parameterization.json"), "--change", patch, "--out", path.join(dir, "x")], quiet), /'GLIA' is not in the recorded src_types/);
  await assert.rejects(fs.stat(path.join(dir, "x")));
});

test("--scalings-as-overrides: pure scalings write connection_overrides over point 0's edges; a changed std is written as edges, with the reason", async () => {
  // conductance EXC→INH: the base law, ×0.5, ×2, and its std alone changed.
  const base = { type: "gamma", mean: 1.0, std: 0.3, shared_within: false };
  const config = await scanConfig("grid_task.json", (c) => {
    c.scan = "coupled";
    c.pathway_param_dict.prop_stats.conductance.EXC.INH = [base, { ...base, mean: 0.5, std: 0.15 }, { ...base, mean: 2.0, std: 0.6 }, { ...base, std: 0.6 }];
    c.pathway_param_dict.prop_stats.u_syn.INH.EXC = { type: "normal", mean: 0.25, std: 0.05 };
    return c;
  });
  const out = path.join(await tempDir(), "scan");
  const lines = [];
  await main(["--circuit", circuit, "--config", config, "--out", out, "--scalings-as-overrides", "--chunk-size", "200"], (line) => lines.push(line));
  const scan = await readJson(path.join(out, "scan.json"));
  const [p0, half, double, std] = scan.points.map((p) => p.name);
  assert.deepEqual(scan.points.map((p) => p.written_as.as), ["edges", "overrides", "overrides", "edges"]);
  assert.match(scan.points[3].written_as.reason, /^conductance EXC→INH: not a scaling of point 0's spec: std 0\.6 is not 1 × 0\.3$/);
  assert.deepEqual(scan.points[1].written_as.scalings, [{ property: "conductance", source: "EXC", target: "INH", factor: 0.5 }]);
  assert.equal(scan.points[2].written_as.edges_of, p0);
  assert.ok(lines.some((l) => l.includes(`${half}: changes conductance EXC → INH; connection_overrides over ${p0}'s edges: conductance EXC → INH ×0.5`)), lines.join("\n"));
  assert.ok(lines.some((l) => l.includes(`${std}: changes conductance EXC → INH;`) && l.includes("written as edges: conductance EXC→INH: not a scaling")), lines.join("\n"));
  // The override points hold no edges file: a config naming point 0's, the fragment and its node sets.
  for (const [name, factor] of [[half, 0.5], [double, 2]]) {
    const folder = path.join(out, name);
    assert.deepEqual(await filesUnder(folder), ["circuit_config.json", "simulation_node_sets.json", "simulation_overrides.json"]);
    const fragment = await readJson(path.join(folder, "simulation_overrides.json"));
    assert.equal(fragment.network, "circuit_config.json");
    assert.equal(fragment.node_sets_file, "simulation_node_sets.json");
    assert.deepEqual(fragment.connection_overrides, [{ name: "synparam:EXC->INH", source: "synparam:synapse_class=EXC", target: "synparam:synapse_class=INH", weight: factor }]);
    assert.deepEqual(await readJson(path.join(folder, "simulation_node_sets.json")), {
      ...(await readJson(path.join(multi, "node_sets.json"))),
      "synparam:synapse_class=EXC": { synapse_class: "EXC" }, "synparam:synapse_class=INH": { synapse_class: "INH" },
    });
    const files = (edges) => Object.values(edges).map((e) => e.file);
    assert.deepEqual(files(await edgesOf(path.join(folder, "circuit_config.json"))), files(await edgesOf(path.join(out, p0, "circuit_config.json"))), "point 0's edges files");
  }
  for (const name of [p0, std]) assert.ok((await filesUnder(path.join(out, name))).some((f) => f.endsWith("edges.h5")), `${name} writes its edges`);
  // What the simulator applies is what drawing the point gives: the same scan drawn, point 1's
  // conductance on EXC→INH is 0.5 × point 0's (up to float32 rounding), every other value the same.
  const drawn = path.join(await tempDir(), "drawn");
  await main(["--circuit", circuit, "--config", config, "--out", drawn, "--chunk-size", "200"], quiet);
  const [a, b] = await Promise.all([p0, half].map((name) => edgesOf(path.join(drawn, name, "circuit_config.json"))));
  let scaled = 0;
  for (const [population, { datasets, pathways }] of Object.entries(a)) {
    for (const [i, value] of datasets.conductance?.entries() ?? []) {
      const now = Number(b[population].datasets.conductance[i]);
      if (pathways[i] !== "EXC→INH") assert.equal(now, Number(value));
      else {
        assert.ok(Math.abs(now - 0.5 * Number(value)) <= 1e-6 * now, `${population} edge ${i}: ${now} vs 0.5 × ${value}`);
        scaled++;
      }
    }
  }
  assert.ok(scaled > 0);
  // libsonata reads the fragment (with a run block) and the node sets select the pathway's nodes.
  const python = path.join(repo, ".venv/bin/python");
  const { spawnSync } = await import("node:child_process");
  if (spawnSync(python, ["-c", "import libsonata"]).status !== 0) return;
  const check = spawnSync(python, ["-c", `
import json, sys, libsonata
folder = sys.argv[1]
fragment = json.load(open(folder + "/simulation_overrides.json"))
sim = libsonata.SimulationConfig(json.dumps({"run": {"tstop": 1, "dt": 0.025, "random_seed": 1}, **fragment}), folder)
o = sim.connection_overrides()[0]
circuit = libsonata.CircuitConfig.from_file(folder + "/" + fragment["network"])
sets = libsonata.NodeSets.from_file(sim.node_sets_file)
nodes = circuit.node_population("S1")
exc = sets.materialize(o.source, nodes).flatten().tolist()
print(json.dumps({"name": o.name, "weight": o.weight, "source": o.source, "target": o.target, "exc": len(exc),
  "all_exc": bool(exc) and all(v == "EXC" for v in nodes.get_attribute("synapse_class", libsonata.Selection(exc))),
  "edges": sorted(circuit.edge_populations)}))
`, path.join(out, double)], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stderr);
  const read = JSON.parse(check.stdout);
  assert.deepEqual([read.name, read.weight, read.source, read.target], ["synparam:EXC->INH", 2, "synparam:synapse_class=EXC", "synparam:synapse_class=INH"]);
  assert.ok(read.exc > 0 && read.all_exc, check.stdout);
  assert.ok(read.edges.includes("S1__S1__chemical"));
});

test("--scalings-as-overrides outside a scan is a usage error, and nothing is written", async () => {
  const model = await scanConfig("grid_task.json", (c) => {
    delete c.scan;
    c.pathway_param_dict.prop_stats.conductance.EXC.INH.mean = 1.0;
    c.pathway_param_dict.prop_stats.u_syn.INH.EXC = { type: "normal", mean: 0.25, std: 0.05 };
    return c;
  });
  const parent = await tempDir();
  await assert.rejects(main(["--circuit", circuit, "--config", model, "--out", path.join(parent, "x"), "--scalings-as-overrides"], quiet),
    /--scalings-as-overrides is for a scan config/);
  assert.deepEqual(await fs.readdir(parent), []);
});

test("--scalings-as-overrides on a pathway property stored as numbers is refused, naming the population, and nothing is written", async () => {
  // The network fixture's layer_number is an integer column: a node set of its text would select nothing.
  const network = path.join(repo, "tests/fixtures/out/network/circuit_config.json");
  const h5 = new h5wasm.File(path.join(repo, "tests/fixtures/out/network/nodes.h5"), "r");
  let layers;
  try {
    layers = [...new Set([...h5.get("nodes/S1/0/layer_number").value].map(String))].sort();
  } finally {
    h5.close();
  }
  const every = (spec) => Object.fromEntries(layers.map((s) => [s, Object.fromEntries(layers.map((t) => [t, spec]))]));
  const stats = every({ type: "gamma", mean: 1.0, std: 0.5 });
  stats[layers[0]][layers[0]] = { type: "gamma", mean: [1.0, 2.0], std: [0.5, 1.0] };
  const file = path.join(await tempDir(), "layers.json");
  await fs.writeFile(file, JSON.stringify({ scan: "coupled", random_seed: 1, pathway_property: "layer_number", overwrite_if_exists: true,
    pathway_param_dict: { src_types: layers, tgt_types: layers, prop_stats: { conductance: stats } } }));
  const parent = await tempDir();
  await assert.rejects(main(["--circuit", network, "--config", file, "--out", path.join(parent, "scan"), "--scalings-as-overrides"], quiet), (error) => {
    assert.match(error.message, /--scalings-as-overrides: the overrides' node sets select nodes by the text of their 'layer_number', and this population stores it as integer numbers/);
    assert.equal(error.population, "S1");
    return true;
  });
  assert.deepEqual(await fs.readdir(parent), []);
  // Without the flag the scan runs; VPM's nodes lack layer_number, so its edge population is skipped.
  const lines = [];
  await main(["--circuit", network, "--config", file, "--out", path.join(parent, "scan")], (line) => lines.push(line));
  assert.equal((await readJson(path.join(parent, "scan", "scan.json"))).count, 2);
  assert.ok(lines.some((line) => /skipped edge population 'VPM__S1__chemical'/.test(line)), lines.join("\n"));
});
