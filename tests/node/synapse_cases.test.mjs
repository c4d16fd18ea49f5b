// Parameters by where a synapse sits, where users run them: a `by_synapse` spec (cases over a
// synapse's own section type and position along the section) and rules that select synapses
// (`"synapse": {…}`), through the Node API and the command on a circuit with obi-one's structure
// and real per-synapse attributes (the `obi_one_geometry` fixture). The expected values are decided
// here from the file's own datasets; synapses no case selects keep the bits the plain spec gives
// them. (Semantics, refusals and precedence in the core: tests/synapse_cases.rs.)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { parameterize, initialize } from "../../www/host/node.mjs";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const circuitDir = path.join(repo, "tests/fixtures/out/obi_one_geometry");
const circuit = path.join(circuitDir, "circuit_config.json");
const cli = path.join(repo, "www/host/cli.mjs");
const BIO = "S1nonbarrel_neurons";
const S1 = `${BIO}__${BIO}__chemical`;
const SECTION = { soma: 1, axon: 2, basal: 3, apical: 4 };

before(async () => {
  await initialize();
  await h5wasm.ready;
});

/** The file's afferent_section_type and afferent_section_pos of `population`'s synapses. */
function sections(population) {
  const file = new h5wasm.File(path.join(circuitDir, `${population}/edges.h5`), "r");
  try {
    const group = `edges/${population}/0`;
    return { type: Array.from(file.get(`${group}/afferent_section_type`).value, Number), pos: Array.from(file.get(`${group}/afferent_section_pos`).value) };
  } finally {
    file.close();
  }
}

const GAMMA = { type: "gamma", mean: 1.0, std: 0.3, shared_within: false };
const everywhere = (spec) => ({ EXC: { EXC: spec, INH: spec }, INH: { EXC: spec, INH: spec } });
const task = (conductance) => ({
  pathway_param_dict: { src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: { conductance: everywhere(conductance) } },
  pathway_property: "synapse_class", overwrite_if_exists: true, random_seed: 11, edge_populations: [S1],
});

test("by_synapse: the first case the synapse's section satisfies gives its value; the others keep the plain spec's bits", async () => {
  const bySynapse = { type: "by_synapse", cases: [
    { where: { afferent_section_type: ["apical"] }, spec: { type: "constant", mean: 2.0 } },
    { where: { afferent_section_type: ["basal"], afferent_section_pos: { max: 0.25 } }, spec: { type: "constant", mean: 0.5 } },
  ], otherwise: GAMMA };
  const cased = await parameterize({ circuit, config: task(bySynapse), workers: 2, chunkSize: 300 });
  const plain = await parameterize({ circuit, config: task(GAMMA), workers: 1 });
  const drawn = Array.from(cased.results[S1].getChild("conductance").toArray());
  const reference = Array.from(plain.results[S1].getChild("conductance").toArray());
  const { type, pos } = sections(S1);
  const counts = { apical: 0, proximalBasal: 0, rest: 0 };
  drawn.forEach((value, i) => {
    if (type[i] === SECTION.apical) {
      assert.equal(value, 2.0, `synapse ${i}`);
      counts.apical++;
    } else if (type[i] === SECTION.basal && pos[i] < 0.25) {
      assert.equal(value, 0.5, `synapse ${i}`);
      counts.proximalBasal++;
    } else {
      assert.equal(value, reference[i], `synapse ${i} keeps the plain gamma's value`);
      counts.rest++;
    }
  });
  assert.ok(counts.apical > 0 && counts.proximalBasal > 0 && counts.rest > 0, JSON.stringify(counts));
  assert.deepEqual(cased.stats[S1].attributes.datasets, ["afferent_section_type", "afferent_section_pos"]);
});

test("rules select synapses by section type in the command; --explain names the conditional rule and the run writes its values", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-cases-"));
  const rules = { rules_version: 1, overwrite_if_exists: true, random_seed: 3, edge_populations: [S1], rules: [
    { name: "default", assign: { conductance: GAMMA } },
    { name: "onto the soma", synapse: { afferent_section_type: ["soma"] }, assign: { conductance: { type: "constant", mean: 3.0 } } },
  ] };
  const file = path.join(dir, "rules.json");
  await fs.writeFile(file, JSON.stringify(rules));
  const run = (args) => promisify(execFile)(process.execPath, [cli, "--circuit", circuit, "--config", file, ...args], { maxBuffer: 64 << 20 });
  const explained = await run(["--explain"]);
  assert.match(explained.stdout, /rules\[1\] \(onto the soma\) where afferent_section_type in \["soma"\]; else rules\[0\] \(default\)/);
  assert.match(explained.stdout, /rules\[1\] \(onto the soma\) +wins, where afferent_section_type in \["soma"\], among the \d+ synapses/);
  const out = path.join(dir, "out");
  await run(["--out", out]);
  const written = new h5wasm.File(path.join(out, `${S1}/edges.h5`), "r");
  try {
    const values = Array.from(written.get(`edges/${S1}/0/conductance`).value);
    const { type } = sections(S1);
    assert.ok(type.some((t) => t === SECTION.soma), "the fixture has synapses on the soma");
    values.forEach((value, i) => assert.equal(value === 3.0, type[i] === SECTION.soma, `synapse ${i} (section type ${type[i]}): ${value}`));
  } finally {
    written.close();
  }
});
