"""The Python loader and the command's loader load every fixture circuit alike: the same node and
edge populations (sizes, node populations, group ids), the same list of what cannot be loaded
(kind, population, message), and the same refusal when nothing can be — both ask the core
(src/loading.rs) what to decide. Node is required (as for the command's tests): no skip."""

import glob
import json
import os
import subprocess

import pytest

from synparam.sonata import CircuitError, load_circuit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "out")
CONFIGS = sorted(glob.glob(os.path.join(FIXTURES, "**", "circuit_config.json"), recursive=True))

NODE_SCRIPT = """
import { initialize, openCircuit } from "./www/host/node.mjs";
await initialize();
const out = {};
for (const config of process.argv.slice(1)) {
  try {
    const { circuit } = await openCircuit(config);
    out[config] = {
      nodes: Object.fromEntries([...circuit.nodePopulations.values()].map((n) => [n.name, n.size])),
      edges: Object.fromEntries([...circuit.edgePopulations.values()].map((e) => [e.name, [e.size, e.source, e.target, e.hasGroupIds]])),
      unavailable: circuit.unavailable.map((u) => [u.kind, u.population, u.message]),
    };
  } catch (error) {
    out[config] = { error: `${error.name}: ${error.message}` };
  }
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def command_loads():
    result = subprocess.run(["node", "--input-type=module", "-e", NODE_SCRIPT, *CONFIGS], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def python_load(config):
    try:
        circuit = load_circuit(config)
    except CircuitError as error:
        return {"error": f"CircuitError: {error}"}
    return {
        "nodes": {n.name: n.size for n in circuit.node_populations.values()},
        "edges": {e.name: [e.size, e.source, e.target, e.has_group_ids] for e in circuit.edge_populations.values()},
        "unavailable": [[u["kind"], u["population"], u["message"]] for u in circuit.unavailable],
    }


def test_fixtures_include_circuits_that_do_not_fully_load(command_loads):
    """The comparison covers failures, not only clean circuits."""
    assert len(CONFIGS) >= 15
    assert sum(bool(c.get("unavailable")) for c in command_loads.values()) >= 1
    assert sum("error" in c for c in command_loads.values()) >= 1


@pytest.mark.parametrize("config", CONFIGS, ids=[os.path.relpath(os.path.dirname(c), FIXTURES) for c in CONFIGS])
def test_python_loads_as_the_command(config, command_loads):
    assert python_load(config) == command_loads[config]
