"""BBP recipes through synparam (issue 16): the command and the Dask path give the same circuit for
a recipe; Python's compile_rules explains as the command's --explain does (one core); and the
conformance check — per pathway, the drawn values (one per connection) against functionalizer's own
sampler re-implemented from its C++ (two-sample KS, χ² for counts, α = 0.001) — passes for the
import and catches a deliberately wrong one."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

import synparam
from synparam.dask import compile_circuit_rules, parameterize_circuit
from synparam.sonata import load_circuit, node_property_values

from test_dask import assert_same_circuit

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "tests" / "fixtures" / "recipes"
CIRCUIT = ROOT / "tests" / "fixtures" / "out" / "multi" / "circuit_config.json"
ALPHA = 1e-3


@pytest.fixture(scope="module")
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="synparam-rules-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def command(*args, check=True):
    if shutil.which("node") is None or not (ROOT / "pkg" / "synparam_bg.wasm").exists():
        pytest.skip("needs node and the wasm package (make pkg)")
    return subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), *map(str, args)], check=check, capture_output=True,
                          text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def recipe_run(scratch):
    """The command's output for functionalizer's recipe_uhill (YAML) on the multi fixture."""
    out = scratch / "command-recipe"
    command("--circuit", CIRCUIT, "--config", RECIPES / "fz_recipe_uhill.yaml", "--out", out, "--overwrite", "--workers", "1")
    return out


def test_the_dask_path_writes_the_commands_circuit_for_a_recipe(recipe_run, scratch):
    import yaml

    recipe = yaml.safe_load((RECIPES / "fz_recipe_uhill.yaml").read_text())
    out = scratch / "dask-recipe"
    parameterize_circuit(CIRCUIT, recipe, out, overwrite=True, partition_rows=500)
    assert_same_circuit(recipe_run, out)
    # The YAML file itself, as synparam-dask --config reads it.
    from_file = scratch / "dask-recipe-yaml"
    parameterize_circuit(CIRCUIT, RECIPES / "fz_recipe_uhill.yaml", from_file, overwrite=True)
    assert_same_circuit(recipe_run, from_file)
    sidecar = json.loads((out / "parameterization.json").read_text())
    assert sidecar["pathway_property"] == synparam.RULES_PATHWAY and sidecar["seed"] == 123
    assert sidecar["model_config"]["synapse_properties"]["classes"][0]["class"] == "I2", "the recipe itself is recorded"
    # A matrix model's settings are refused for rules by the core's check, as the command refuses them.
    with pytest.raises(synparam.ConfigError, match="drop the pathway property") as property_error:
        parameterize_circuit(CIRCUIT, recipe, scratch / "dask-recipe-property", overwrite=True, pathway_property="mtype")
    assert property_error.value.path == "pathway_property"
    with pytest.raises(synparam.ConfigError, match="drop the fallback value") as fallback_error:
        parameterize_circuit(CIRCUIT, recipe, scratch / "dask-recipe-fallback", overwrite=True, fallback={"VPM": "EXC"})
    assert fallback_error.value.path == "fallback_pathway_value"
    assert not (scratch / "dask-recipe-property").exists()


def test_python_explains_as_the_command_does(scratch):
    text = (RECIPES / "fz_recipe_uhill.json").read_text()
    script = (
        "import { explainRules } from './www/host/node.mjs';"
        f"const r = await explainRules({{ circuitPaths: {json.dumps(str(CIRCUIT))}, configText: {json.dumps(text)} }});"
        "process.stdout.write(JSON.stringify({explain: r.explain, model: JSON.parse(r.model)}));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT, check=True, capture_output=True, text=True)
    js = json.loads(out.stdout)
    compiled = compile_circuit_rules(load_circuit(CIRCUIT), text)
    assert compiled.explain == js["explain"]
    assert json.loads(compiled.config_text) == js["model"]


def test_explain_and_exports_from_the_command(scratch):
    model_file, rules_file = scratch / "model.json", scratch / "rules.json"
    result = command("--circuit", CIRCUIT, "--config", RECIPES / "fztd_synapse_properties_uhill_all.xml", "--explain",
                     "--export-model", model_file)
    assert "synapse_properties" not in result.stdout
    assert "SynapsesProperties/synapse[0]" in result.stdout and "left unset: delay" in result.stdout
    model = json.loads(model_file.read_text())
    assert model["pathway_param_dict"]["src_types"] == ["EXC", "INH"] and model["random_seed"] == 123
    command("--config", RECIPES / "fz_recipe_uhill.json", "--export-rules", rules_file)
    rules = json.loads(rules_file.read_text())
    assert rules["rules_version"] == 1 and [r["class"] for r in rules["rules"]] == ["E2", "I2", "E2", "I2"]
    # A matrix model exports as one rule per cell; existing files are never overwritten.
    matrix_rules = scratch / "matrix_rules.json"
    command("--config", ROOT / "www/presets/tsodyks_markram.json", "--export-rules", matrix_rules)
    assert len(json.loads(matrix_rules.read_text())["rules"]) == 4
    refused = command("--config", RECIPES / "fz_recipe_uhill.json", "--export-rules", rules_file, check=False)
    assert refused.returncode == 1 and "exists already" in refused.stderr
    # An uncovered pathway with synapses is named with its edge and nodes; nothing is written.
    network = ROOT / "tests/fixtures/out/network/circuit_config.json"
    refused = command("--circuit", network, "--config", RECIPES / "fz_recipe_uhill.json", "--out", scratch / "never", check=False)
    assert refused.returncode == 1
    assert "no rule assigns conductance to edge 0 of 'VPM__S1__chemical'" in refused.stderr
    assert "(no synapse_class)" in refused.stderr
    assert not (scratch / "never").exists()


# ---------------------------------------------------------------------------------- conformance

def functionalizer_sample(rng, cls, prop, n):
    """Functionalizer's draws for one property of a recipe class (filters/udfs/_udfs.cpp)."""
    if prop in ("conductance", "depression_time", "facilitation_time"):
        m, s = cls[f"{prop}_mu"], cls[f"{prop}_sd"]
        return rng.gamma(m * m / (s * s), s * s / m, n)
    if prop in ("u_syn", "decay_time"):
        m, s = cls[f"{prop}_mu"], cls[f"{prop}_sd"]
        out = np.empty(n)
        for i in range(n):
            while True:
                z = rng.standard_normal()
                while abs(z) > 1:
                    z = rng.standard_normal()
                x = s * z + m
                if x >= 0:
                    break
            out[i] = x
        return out
    if prop == "n_rrp_vesicles":
        k = cls["n_rrp_vesicles_mu"]
        return 1 + rng.poisson(k - 1, n) if k >= 1 else np.ones(n)
    raise KeyError(prop)


def values_per_connection(out: Path):
    """(source class, target class) → {property: one value per connection} from a written circuit."""
    circuit = load_circuit(out / "circuit_config.json")
    found = {}
    for edges in circuit.edge_populations.values():
        classes = {role: node_property_values(circuit.node_populations[getattr(edges, role)], "synapse_class")
                   for role in ("source", "target")}
        with h5py.File(edges.real, "r") as h5:
            base = h5[f"edges/{edges.name}"]
            sources, targets = base["source_node_id"][:], base["target_node_id"][:]
            starts = np.r_[True, (sources[1:] != sources[:-1]) | (targets[1:] != targets[:-1])]
            if "edge_group_id" in base:
                group_ids, group_index = base["edge_group_id"][:], base["edge_group_index"][:]
            else:
                group_ids, group_index = np.zeros(len(sources), int), np.arange(len(sources))
            for prop in ("conductance", "depression_time", "facilitation_time", "u_syn", "decay_time", "n_rrp_vesicles"):
                values = np.empty(len(sources))
                for group in np.unique(group_ids):
                    rows = group_ids == group
                    values[rows] = base[str(group)][prop][:][group_index[rows]]
                for edge in np.nonzero(starts)[0]:
                    key = (classes["source"][sources[edge]], classes["target"][targets[edge]])
                    found.setdefault(key, {}).setdefault(prop, []).append(values[edge])
    return found


def conformance_failures(out: Path, recipe: dict):
    """Per pathway and property, where the drawn values differ from functionalizer's law."""
    classes = {c["class"]: c for c in recipe["synapse_properties"]["classes"]}
    rules = recipe["synapse_properties"]["rules"]
    rng = np.random.default_rng(20261130)
    failures = []
    for (source, target), by_property in sorted(values_per_connection(out).items()):
        rule = [r for r in rules if r.get("src_synapse_class", "*") in ("*", source) and r.get("dst_synapse_class", "*") in ("*", target)][-1]
        cls = classes[rule["class"]]
        for prop, drawn in by_property.items():
            drawn = np.asarray(drawn)
            reference = functionalizer_sample(rng, cls, prop, 20_000)
            if prop == "n_rrp_vesicles":
                if np.all(reference == reference[0]):
                    ok = np.all(drawn == reference[0])
                    p = 1.0 if ok else 0.0
                else:
                    support = np.arange(1, int(max(drawn.max(), reference.max())) + 1)
                    expected = np.array([np.mean(reference == k) for k in support]) * len(drawn) + 1e-9
                    observed = np.array([np.sum(drawn == k) for k in support])
                    p = stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue
            else:
                p = stats.ks_2samp(drawn, reference).pvalue
            if p <= ALPHA:
                failures.append(f"{source}→{target} {prop}: p = {p:.2g} (n = {len(drawn)})")
    return failures


def test_conformance_the_recipe_draws_functionalizers_laws_per_pathway(recipe_run):
    recipe = json.loads((RECIPES / "fz_recipe_uhill.json").read_text())
    assert conformance_failures(recipe_run, recipe) == []


def test_conformance_catches_a_deliberately_wrong_import(scratch):
    # The recipe imported wrongly: u_syn and decay_time as plain normals (no redraw within ± sd),
    # conductance with the sd read as a variance. The same check must reject it.
    recipe = json.loads((RECIPES / "fz_recipe_uhill.json").read_text())
    rules = synparam.export_rules(recipe)
    for cls in rules["classes"]:
        props = cls["props"]
        for prop in ("u_syn", "decay_time"):
            props[prop] = {"type": "normal", "mean": props[prop]["mean"], "std": props[prop]["std"], "lower_bound": 0}
        props["conductance"]["std"] = props["conductance"]["std"] ** 2
    wrong = scratch / "wrong_rules.json"
    wrong.write_text(json.dumps(rules))
    out = scratch / "command-wrong"
    command("--circuit", CIRCUIT, "--config", wrong, "--out", out, "--overwrite", "--workers", "1")
    failures = conformance_failures(out, recipe)
    assert any("conductance" in f for f in failures), failures
    assert any("u_syn" in f or "decay_time" in f for f in failures), failures


# ---------------------------------------------------------------------------------- obi-one

OBI_ONE = ROOT / "tests" / "fixtures" / "out" / "obi_one" / "circuit_config.json"
OBI_ONE_EDGES = "S1nonbarrel_neurons__S1nonbarrel_neurons__chemical"


def values_per_synapse(out: Path, population: str, properties):
    """source synapse_class → {property: values of every synapse} of one edge population."""
    circuit = load_circuit(out / "circuit_config.json")
    edges = circuit.edge_populations[population]
    classes = node_property_values(circuit.node_populations[edges.source], "synapse_class")
    found = {}
    with h5py.File(edges.real, "r") as h5:
        base = h5[f"edges/{population}"]
        sources = base["source_node_id"][:]
        if "edge_group_id" in base:
            group_ids, group_index = base["edge_group_id"][:], base["edge_group_index"][:]
        else:
            group_ids, group_index = np.zeros(len(sources), int), np.arange(len(sources))
        for prop in properties:
            values = np.empty(len(sources))
            for group in np.unique(group_ids):
                rows = group_ids == group
                values[rows] = base[str(group)][prop][:][group_index[rows]]
            for cls in ("EXC", "INH"):
                found.setdefault(cls, {})[prop] = values[np.array([classes[s] == cls for s in sources])]
    return found


def obi_one_failures(out: Path):
    """obi-one's intended laws (its distribution blocks, min/max as truncation) per source class."""
    truncnorm = lambda m, s, a, b: stats.truncnorm((a - m) / s, (b - m) / s, loc=m, scale=s)  # noqa: E731
    laws = {
        "EXC": {"conductance": stats.gamma(4.0, scale=0.25), "decay_time": truncnorm(1.7, 0.1, 1.7, 1.9),
                "u_syn": truncnorm(0.5, 0.25, 0.2, 0.7), "delay": truncnorm(2.0, 1.0, 0.1, 5.0),
                "depression_time": stats.gamma(1995.11, scale=0.3358)},
        "INH": {"conductance": stats.gamma(8.0, scale=0.25), "decay_time": truncnorm(1.7, 0.1, 1.7, 1.9)},
    }
    drawn = values_per_synapse(out, OBI_ONE_EDGES, ["conductance", "decay_time", "u_syn", "delay", "depression_time", "syn_type_id", "n_rrp_vesicles"])
    failures = []
    for cls, by_property in laws.items():
        for prop, law in by_property.items():
            p = stats.kstest(drawn[cls][prop], law.cdf).pvalue
            if p <= ALPHA:
                failures.append(f"{cls} {prop}: p = {p:.2g} (n = {len(drawn[cls][prop])})")
    for cls, expected in (("EXC", 113), ("INH", 7)):
        if not np.all(drawn[cls]["syn_type_id"] == expected):
            failures.append(f"{cls} syn_type_id is not {expected}")
    counts = np.array([np.sum(drawn["EXC"]["n_rrp_vesicles"] == k) for k in range(1, 6)])
    expected = np.array([0.3, 0.3, 0.2, 0.1, 0.1]) * counts.sum()
    if counts.sum() != len(drawn["EXC"]["n_rrp_vesicles"]) or stats.chisquare(counts, expected).pvalue <= ALPHA:
        failures.append("EXC n_rrp_vesicles")
    return failures


def test_an_obi_one_config_draws_its_intended_laws_and_a_clamping_import_is_caught(scratch):
    out = scratch / "command-obi-one"
    command("--circuit", OBI_ONE, "--config", RECIPES / "obi_one_config_obi_one_fixture.json", "--out", out, "--overwrite", "--workers", "1")
    sidecar = json.loads((out / "parameterization.json").read_text())
    assert sidecar["edge_populations"] == [OBI_ONE_EDGES], "obi-one's assigners name the populations it parameterizes"
    assert list(sidecar["datasets"]) == [f"{OBI_ONE_EDGES}/edges.h5"]
    assert obi_one_failures(out) == []
    decay = values_per_synapse(out, OBI_ONE_EDGES, ["decay_time"])["EXC"]["decay_time"]
    assert np.mean(decay == np.float32(1.7)) < 0.01, "truncation, not obi-one's clamp (half the values at 1.7)"
    # The same config imported as obi-one codes it (min/max clamp: lower_bound/upper_bound) fails.
    rules = synparam.export_rules(json.loads((RECIPES / "obi_one_config_obi_one_fixture.json").read_text()))
    for rule in rules["rules"]:
        for spec in rule.get("assign", {}).values():
            window = spec.pop("truncate", None)
            if window:
                spec["lower_bound"], spec["upper_bound"] = window.get("min"), window.get("max")
    clamped = scratch / "obi_one_clamped_rules.json"
    clamped.write_text(json.dumps(rules))
    wrong = scratch / "command-obi-one-clamped"
    command("--circuit", OBI_ONE, "--config", clamped, "--out", wrong, "--overwrite", "--workers", "1")
    failures = obi_one_failures(wrong)
    assert any("decay_time" in f for f in failures) and any("u_syn" in f for f in failures), failures


REGION_RECIPE = RECIPES / "region_recipe_sscx.xml"
SUBCIRCUIT = ROOT / "tests" / "fixtures" / "out" / "obi_one" / "circuit_config.json"
REGION = ROOT / "tests" / "fixtures" / "out" / "region" / "circuit_config.json"
BIO = "S1nonbarrel_neurons__S1nonbarrel_neurons__chemical"


def test_a_region_recipe_on_a_subcircuit_is_reported_not_refused_and_dask_writes_the_commands_circuit(scratch):
    """A BBP region recipe (60 mtypes, globs, regions) on obi-one's tiny circuit (5 of its mtypes):
    the rules for mtypes the circuit lacks are warnings and the sidecar's rules_matching_nothing;
    Dask writes the command's circuit; strict refuses, naming the first such rule."""
    out = scratch / "region-command"
    result = command("--circuit", SUBCIRCUIT, "--config", REGION_RECIPE, "--populations", BIO, "--out", out,
                     "--overwrite", "--workers", "1")
    warnings = [line for line in result.stdout.splitlines() if "match no node of this circuit" in line]
    assert len(warnings) == 1, result.stdout
    sidecar = json.loads((out / "parameterization.json").read_text())
    unmatched = sidecar["rules_matching_nothing"]
    assert unmatched and all(r["sides"] for r in unmatched)
    assert any(r["absent_values"] == ["source mtype 'L2_TPC:A'", "target mtype 'L2_TPC:A'"] for r in unmatched)
    assert warnings[0].startswith(f"warning: {len(unmatched)} of ")

    dask_out = scratch / "region-dask"
    ran = parameterize_circuit(SUBCIRCUIT, REGION_RECIPE.read_text(), dask_out, populations=[BIO], overwrite=True,
                               partition_rows=100)
    assert_same_circuit(out, dask_out)
    assert [w for w in ran["warnings"] if "match no node" in w] == [w.removeprefix("warning: ") for w in warnings]
    compiled = compile_circuit_rules(load_circuit(SUBCIRCUIT), REGION_RECIPE.read_text(), [BIO])
    assert compiled.explain["rules_matching_nothing"] == unmatched

    # Strict: refused as before, nothing written, in the command and in Python.
    strict = command("--circuit", SUBCIRCUIT, "--config", REGION_RECIPE, "--populations", BIO, "--out",
                     scratch / "region-strict", "--overwrite", "--strict", check=False)
    assert strict.returncode == 1 and "no source node has mtype 'L1_DAC'" in strict.stderr, strict.stderr
    assert not (scratch / "region-strict").exists()
    with pytest.raises(synparam.ConfigError, match="no source node has mtype 'L1_DAC'"):
        parameterize_circuit(SUBCIRCUIT, REGION_RECIPE.read_text(), scratch / "region-strict-dask", populations=[BIO],
                             overwrite=True, strict=True)
    assert not (scratch / "region-strict-dask").exists()


def test_a_region_recipe_on_its_whole_region_matches_every_rule_even_strictly(scratch):
    out = scratch / "region-full"
    result = command("--circuit", REGION, "--config", REGION_RECIPE, "--out", out, "--strict", "--workers", "1")
    assert "match no node" not in result.stdout
    assert json.loads((out / "parameterization.json").read_text())["rules_matching_nothing"] == []
    dask_out = scratch / "region-full-dask"
    parameterize_circuit(REGION, REGION_RECIPE, dask_out, strict=True)
    assert_same_circuit(out, dask_out)


def test_a_recipe_from_another_circuit_mapped_by_aliases_runs_as_the_command_runs_it(scratch):
    """functionalizer's recipe names EXC and INH; the bundled example says excitatory_neuron,
    inhibitory_neuron, extrinsic_neuron. As written it is refused, the names report saying what to
    map; with an alias table the command and Dask write the same circuit, its sidecar holding the table."""
    example = ROOT / "www" / "examples" / "synaptome" / "circuit_config.json"
    recipe = (RECIPES / "fz_recipe_uhill.json").read_text()
    with pytest.raises(synparam.ConfigError, match="no rule assigns conductance"):
        compile_circuit_rules(load_circuit(example), recipe)
    mapped = synparam.rules_with_aliases(recipe, {"synapse_class": {"EXC": ["excitatory_neuron", "extrinsic_*"],
                                                                     "INH": "inhibitory_neuron"}})
    assert mapped["aliases"]["synapse_class"]["INH"] == ["inhibitory_neuron"]
    assert mapped["rules"][0]["soma_delay"]["axonal_conduction_velocity"] == 0.00333, "the recipe's delays kept"
    compiled = compile_circuit_rules(load_circuit(example), json.dumps(mapped))
    assert compiled.explain["names"] == [{"property": "synapse_class", "absent": [], "unnamed": [],
                                          "circuit_values": ["excitatory_neuron", "extrinsic_neuron", "inhibitory_neuron"]}]
    config = scratch / "mapped.json"
    config.write_text(json.dumps(mapped))
    out = scratch / "mapped-command"
    command("--circuit", example, "--config", config, "--out", out, "--overwrite", "--workers", "1")
    dask_out = scratch / "mapped-dask"
    parameterize_circuit(example, config, dask_out, overwrite=True, partition_rows=200)
    assert_same_circuit(out, dask_out)
    sidecar = json.loads((out / "parameterization.json").read_text())
    assert sidecar["model_config"]["aliases"] == mapped["aliases"]
    with pytest.raises(synparam.ConfigError, match=r"aliases\.synapse_class\.EXC"):
        synparam.rules_with_aliases(recipe, {"synapse_class": {"EXC": []}})
