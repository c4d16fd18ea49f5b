// Per-synapse edge attributes where users run them (the command, the Node API, the draw workers):
// delays from the presynaptic-soma distance (lin_delay, fz_delay) and a conductance scaled by it,
// on a circuit with obi-one's structure and real geometry (the `obi_one_geometry` fixture). The
// distances are computed here, independently, from the file's datasets. Missing datasets and
// missing soma positions are refused before anything is written; the bytes are the same for any
// chunk size and 1, 2, 4 workers, from the command, the Node API and a rerun from the sidecar.
// (The core's semantics and connectome-manipulator conformance: tests/edge_attributes.rs,
// tests/lin_delay_conformance.rs.)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { parameterize, writeParameterizedCircuit, initialize } from "../../www/host/node.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const circuitDir = path.join(repo, "tests/fixtures/out/obi_one_geometry");
const circuit = path.join(circuitDir, "circuit_config.json");
const cli = path.join(repo, "www/host/cli.mjs");
const BIO = "S1nonbarrel_neurons";
const S1 = `${BIO}__${BIO}__chemical`;
const VPM = `VPM__${BIO}__chemical`;
const EXT = `external_${BIO}__${BIO}__chemical`;
const POM = `POm__${BIO}__chemical`;
/** Where each population's edges and source nodes are. */
const FILES = {
  [S1]: { edges: `${S1}/edges.h5`, source: BIO, nodes: `${BIO}/nodes.h5` },
  [VPM]: { edges: `${VPM}/edges.h5`, source: "VPM", nodes: "VPM/nodes.h5" },
  [EXT]: { edges: `${EXT}.h5`, source: `external_${BIO}`, nodes: `external_${BIO}/nodes.h5` },
};

before(async () => {
  await initialize();
  await h5wasm.ready;
});

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), "synparam-attributes-"));
const sha256 = async (file) => createHash("sha256").update(await fs.readFile(file)).digest("hex");

async function runCli(args) {
  return promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 64 << 20 })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }));
}

/** Every pathway of E/I sources and targets with the same spec. */
const everywhere = (spec) => ({ EXC: { EXC: spec, INH: spec }, INH: { EXC: spec, INH: spec } });

/** A task config on the fixture: pathways by synapse_class (virtual sources fall back to EXC). */
function task(propStats, populations = [S1, VPM, EXT]) {
  return {
    pathway_param_dict: { src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: propStats },
    pathway_property: "synapse_class", fallback_pathway_value: "EXC", overwrite_if_exists: true, random_seed: 7, edge_populations: populations,
  };
}

const LIN = { type: "lin_delay", delay_mean_coeff_a: 1.0, delay_mean_coeff_b: 0.0035, delay_std: 0.2, delay_min: 0.1 };
const FZ = { type: "fz_delay", neural_transmitter_release_delay: 0.1, axonal_conduction_velocity: 300 };
const SCALED = { type: "constant", mean: 1.0, scale_by: { attribute: "distance_soma", linear: [2.0, -0.0005] } };

/** Per synapse of `population`, the distance (µm) from its source soma to afferent_center_*, from
 * the file's datasets, and the delay the file held. */
function geometry(population) {
  const { edges, source, nodes } = FILES[population];
  const edgeFile = new h5wasm.File(path.join(circuitDir, edges), "r");
  const nodeFile = new h5wasm.File(path.join(circuitDir, nodes), "r");
  try {
    const group = `edges/${population}/0`;
    const center = ["x", "y", "z"].map((a) => Float64Array.from(edgeFile.get(`${group}/afferent_center_${a}`).value));
    const soma = ["x", "y", "z"].map((a) => nodeFile.get(`nodes/${source}/0/${a}`).value);
    const sources = Array.from(edgeFile.get(`edges/${population}/source_node_id`).value, Number);
    const distance = sources.map((s, i) => {
      const dx = center[0][i] - soma[0][s];
      const dy = center[1][i] - soma[1][s];
      const dz = center[2][i] - soma[2][s];
      return Math.sqrt(dx * dx + dy * dy + dz * dz);
    });
    return { distance, delay: Array.from(edgeFile.get(`${group}/delay`).value) };
  } finally {
    edgeFile.close();
    nodeFile.close();
  }
}

/** Least-squares slope of y on x with its standard error. */
function regression(x, y) {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i] - my - slope * (x[i] - mx)) ** 2;
  return { slope, se: Math.sqrt(rss / (n - 2) / sxx), r: sxy / Math.sqrt(sxx * y.reduce((a, v) => a + (v - my) ** 2, 0)) };
}

test("the fixture's delays grow with the presynaptic-soma distance as obi-one's do (r ≈ 0.8)", () => {
  for (const population of [S1, VPM, EXT]) {
    const { distance, delay } = geometry(population);
    const { r } = regression(distance, delay);
    assert.ok(r > 0.75 && r < 0.85, `${population}: r = ${r}`);
  }
});

test("lin_delay keeps the distance relation: the slope of the drawn delays on distance is the model's b within 3 standard errors (p ≈ 0.003 per population)", async () => {
  const { results, stats } = await parameterize({ circuit, config: task({ delay: everywhere(LIN) }), workers: 2, chunkSize: 1000 });
  for (const population of [S1, VPM, EXT]) {
    const { distance } = geometry(population);
    const drawn = Array.from(results[population].getChild("delay").toArray());
    assert.equal(drawn.length, distance.length);
    const { slope, se } = regression(distance, drawn);
    assert.ok(Math.abs(slope - LIN.delay_mean_coeff_b) < 3 * se, `${population}: slope ${slope} ± ${se}, model ${LIN.delay_mean_coeff_b}`);
    assert.ok(drawn.every((d) => d >= LIN.delay_min), "truncated below at delay_min");
    assert.deepEqual(stats[population].attributes, {
      datasets: ["afferent_center_x", "afferent_center_y", "afferent_center_z"], source_positions: true, synapse_position: "afferent_center",
    });
  }
});

test("fz_delay is functionalizer's formula exactly, and scale_by multiplies by a + b·distance, against distances computed here from the file", async () => {
  const { results } = await parameterize({ circuit, config: task({ delay: everywhere(FZ), conductance: everywhere(SCALED) }), workers: 1, chunkSize: 700 });
  for (const population of [S1, VPM, EXT]) {
    const { distance } = geometry(population);
    const table = results[population];
    const delay = Array.from(table.getChild("delay").toArray());
    const conductance = Array.from(table.getChild("conductance").toArray());
    const release = Math.fround(0.1);
    const velocity = Math.fround(300);
    const rounding = table.getChild("delay").type.precision === 1 ? Math.fround : (x) => x;
    distance.forEach((d, i) => {
      assert.equal(delay[i], rounding(release + d / velocity), `${population} synapse ${i}`);
      assert.equal(conductance[i], rounding(1.0 * (2.0 + -0.0005 * d)), `${population} synapse ${i}`);
    });
  }
});

test("a BBP recipe's delay parameters give functionalizer's delay per synapse where the circuit has synapse centres and soma positions", async () => {
  const recipe = await fs.readFile(path.join(repo, "tests/fixtures/recipes/fz_recipe_uhill.json"), "utf8");
  const { results } = await parameterize({ circuit, config: recipe, populations: [S1], overwrite: true, workers: 1 });
  const { distance } = geometry(S1);
  const delay = Array.from(results[S1].getChild("delay").toArray());
  const rounding = results[S1].getChild("delay").type.precision === 1 ? Math.fround : (x) => x;
  // The recipe's rules: release 0.4 ms for INH → INH, fz-td-recipe's 0.1 ms elsewhere; all 0.00333 µm/ms.
  const velocity = Math.fround(0.00333);
  distance.forEach((d, i) => {
    const candidates = [0.1, 0.4].map((release) => rounding(Math.fround(release) + d / velocity));
    assert.ok(candidates.includes(delay[i]), `synapse ${i}: ${delay[i]} is not one of ${candidates}`);
  });
  assert.ok(delay.some((v, i) => v === rounding(Math.fround(0.4) + distance[i] / velocity)), "the INH → INH rule's release delay is used");
  // --explain says where delay comes from.
  const explained = await runCli(["--circuit", circuit, "--config", path.join(repo, "tests/fixtures/recipes/fz_recipe_uhill.json"), "--explain", "--populations", S1]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /delay = neural_transmitter_release_delay \+ distance_soma/);
  assert.doesNotMatch(explained.stdout, /left unset: delay/);
});

test("the same bytes for any chunk size and 1, 2, 4 workers; the command equals the Node API; a rerun from the sidecar equals the run", async () => {
  const config = task({ delay: everywhere(LIN), conductance: everywhere({ type: "gamma", mean: 1, std: 0.3, scale_by: { attribute: "distance_soma", table: [[0, 1], [500, 0.5], [1500, 0.25]] } }) });
  const configText = JSON.stringify(config);
  const digests = new Set();
  for (const [chunkSize, workers] of [[65536, 1], [333, 1], [500, 2], [250, 4]]) {
    const out = path.join(await tempDir(), "out");
    await writeParameterizedCircuit({ circuitPaths: circuit, configText, settings: {}, out, chunkSize, workers });
    digests.add(JSON.stringify(await Promise.all(Object.values(FILES).map((f) => sha256(path.join(out, f.edges))))));
  }
  assert.equal(digests.size, 1, "one set of bytes");
  const dir = await tempDir();
  const configFile = path.join(dir, "model.json");
  await fs.writeFile(configFile, configText);
  const out = path.join(dir, "out");
  const run = await runCli(["--circuit", circuit, "--config", configFile, "--out", out, "--workers", "2", "--chunk-size", "400"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`${S1} .*\\n  reads per synapse: afferent_center_x, afferent_center_y, afferent_center_z; soma positions \\(x, y, z\\) of ${BIO} \\(distance_soma to afferent_center_\\*\\)`));
  assert.equal(JSON.stringify(await Promise.all(Object.values(FILES).map((f) => sha256(path.join(out, f.edges))))), [...digests][0], "the command writes the same bytes");
  const { results } = await parameterize({ circuit, config, workers: 1 });
  const written = new h5wasm.File(path.join(out, FILES[S1].edges), "r");
  try {
    for (const property of ["delay", "conductance"]) {
      assert.deepEqual(Array.from(written.get(`edges/${S1}/0/${property}`).value), Array.from(results[S1].getChild(property).toArray(), Math.fround), `${property}: the Node API's values are the command's (float32 in the file)`);
    }
  } finally {
    written.close();
  }
  const sidecar = JSON.parse(await fs.readFile(path.join(out, "parameterization.json"), "utf8"));
  assert.deepEqual(sidecar.parameterized[S1].edge_attributes, { datasets: ["afferent_center_x", "afferent_center_y", "afferent_center_z"], source_positions: true });
  const again = path.join(dir, "again");
  const rerun = await runCli(["--circuit", circuit, "--from-provenance", path.join(out, "parameterization.json"), "--out", again]);
  assert.equal(rerun.code, 0, rerun.stderr);
  for (const { edges } of Object.values(FILES)) assert.equal(await sha256(path.join(again, edges)), await sha256(path.join(out, edges)), edges);
});

test("a dataset the model reads that the file lacks, or a source without soma positions, is refused before anything is written, naming file, population and what is missing", async () => {
  const dir = await tempDir();
  const missing = path.join(dir, "missing.json");
  await fs.writeFile(missing, JSON.stringify(task({ conductance: everywhere({ ...SCALED, scale_by: { attribute: "spine_length", linear: [1, 0.1] } }) }, [S1])));
  const refused = await runCli(["--circuit", circuit, "--config", missing, "--out", path.join(dir, "out")]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^synparam: error: .*${S1}/edges\\.h5: edge population '${S1}': the model reads edge datasets this population lacks: spine_length\\n$`));
  const noPositions = path.join(dir, "no_positions.json");
  await fs.writeFile(noPositions, JSON.stringify(task({ delay: everywhere(LIN) }, [S1, POM])));
  const virtual = await runCli(["--circuit", circuit, "--config", noPositions, "--out", path.join(dir, "out")]);
  assert.equal(virtual.code, 1);
  assert.match(virtual.stderr, /^synparam: error: .*POm\/nodes\.h5: population 'POm': has no soma positions \(x, y, z\), which distance_soma of edge population 'POm__S1nonbarrel_neurons__chemical' needs/);
  assert.deepEqual(await fs.readdir(dir), ["missing.json", "no_positions.json"], "nothing written");
  // The Node API refuses the same.
  await assert.rejects(parameterize({ circuit, config: task({ delay: everywhere(LIN) }, [POM]) }), /POm\/nodes\.h5: population 'POm': has no soma positions/);
  // --explain says what a run would read, and which population it would refuse, writing nothing.
  const explained = await runCli(["--circuit", circuit, "--config", noPositions, "--explain"]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /per-synapse attributes: distance_soma/);
  assert.match(explained.stdout, new RegExp(`${S1} +\\d+ synapses  parameterized\\n    reads per synapse: afferent_center_x, afferent_center_y, afferent_center_z; soma positions`));
  assert.match(explained.stdout, /POm__S1nonbarrel_neurons__chemical +\d+ synapses  refused: CircuitError: .*has no soma positions/);
});
