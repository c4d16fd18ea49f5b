// A recipe from another circuit in the command: refused for coverage with the names to map (the
// core's explain.names), and run once an alias table maps them. (The alias semantics: tests/rules.rs;
// the page's Names section: demo_page.test.mjs; Python and Dask: tests/python/test_rules.py.)
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const repo = path.resolve(new URL("../..", import.meta.url).pathname);
const cli = path.join(repo, "www/host/cli.mjs");
const circuit = path.join(repo, "www/examples/synaptome/circuit_config.json");
const recipe = path.join(repo, "tests/fixtures/recipes/fz_recipe_uhill.json");

const command = (args) => promisify(execFile)(process.execPath, [cli, "--circuit", circuit, ...args], { maxBuffer: 64 << 20 })
  .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }));

test("the command refuses a recipe written in another circuit's names, saying what to map, and runs it with an alias table", async () => {
  const refused = await command(["--config", recipe, "--explain"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /no rule assigns conductance/);
  assert.match(refused.stderr, /synparam: names: synapse_class: the rules name 2 values no node has \('EXC', 'INH'\); 3 of the circuit's values no rule names \('excitatory_neuron', 'extrinsic_neuron', 'inhibitory_neuron'\)/);
  assert.match(refused.stderr, /alias table/);

  const work = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-names-"));
  const rules = JSON.parse(await fs.readFile(recipe, "utf8"));
  // The recipe as synparam rules, then the table (as the page's Names section writes it).
  const exported = path.join(work, "rules.json");
  await command(["--config", recipe, "--export-rules", exported]);
  const mapped = JSON.parse(await fs.readFile(exported, "utf8"));
  assert.equal(mapped.rules.length, rules.synapse_properties.rules.length);
  mapped.aliases = { synapse_class: { EXC: ["excitatory_neuron", "extrinsic_*"], INH: ["inhibitory_neuron"] } };
  const config = path.join(work, "mapped.json");
  await fs.writeFile(config, JSON.stringify(mapped));
  const explained = await command(["--config", config, "--explain"]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.doesNotMatch(explained.stdout, /names:/, "nothing left to map");
  assert.match(explained.stdout, /EXC → EXC|excitatory_neuron/);
  const ran = await command(["--config", config, "--out", path.join(work, "out"), "--overwrite"]);
  assert.equal(ran.code, 0, ran.stderr);
  const sidecar = JSON.parse(await fs.readFile(path.join(work, "out", "parameterization.json"), "utf8"));
  assert.deepEqual(sidecar.model_config.aliases, mapped.aliases);
  // A table naming an empty list is refused, naming its key.
  mapped.aliases = { synapse_class: { EXC: [] } };
  await fs.writeFile(config, JSON.stringify(mapped));
  const bad = await command(["--config", config, "--explain"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /aliases\.synapse_class\.EXC/);
});

test("a rules run refuses a matrix model's pathway property or fallback value, naming the setting (the core's check, as Python's)", async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "synparam-rules-settings-"));
  const recipeOnThisCircuit = path.join(repo, "tests/fixtures/recipes/fz_recipe_uhill.json");
  const rules = path.join(work, "rules.json");
  await command(["--config", recipeOnThisCircuit, "--export-rules", rules]);
  const mapped = JSON.parse(await fs.readFile(rules, "utf8"));
  mapped.aliases = { synapse_class: { EXC: ["excitatory_neuron", "extrinsic_*"], INH: ["inhibitory_neuron"] } };
  await fs.writeFile(rules, JSON.stringify(mapped));
  const property = await command(["--config", rules, "--out", path.join(work, "a"), "--overwrite", "--pathway-property", "mtype"]);
  assert.equal(property.code, 1);
  assert.match(property.stderr, /pathway_property: rules select nodes by their own properties: drop the pathway property \('mtype'\)/);
  const fallback = await command(["--config", rules, "--out", path.join(work, "b"), "--overwrite", "--fallback-value", "EXC"]);
  assert.equal(fallback.code, 1);
  assert.match(fallback.stderr, /fallback_pathway_value: rules class nodes without a property with their own selectors/);
  await assert.rejects(fs.stat(path.join(work, "a")), "nothing written");
});
