"""The Python package is the core: the golden hash of the native and wasm builds, the settings the
page and the command resolve, typed errors with their JSON path, storage and digests as the
command's writer uses them, and a wheel that installs with pip."""

import json
import os
import pathlib
import re
import subprocess
import sys
import tomllib
import zipfile

import numpy as np
import pyarrow as pa
import pytest
import xxhash

import synparam

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRESETS = ROOT / "www" / "presets"


def golden_hash_constant():
    """GOLDEN_HASH as tests/common/golden.rs states it (one constant for every build)."""
    text = (ROOT / "tests" / "common" / "golden.rs").read_text()
    return int(re.search(r"GOLDEN_HASH: u64 = (0x[0-9a-f_]+);", text).group(1).replace("_", ""), 16)


def tsodyks_markram_with_correlation():
    config = json.loads((PRESETS / "tsodyks_markram.json").read_text())
    matrix = [[1.0, 0.6], [0.6, 1.0]]
    config["prop_cov"] = {"props": ["conductance", "u_syn"], "cov": {"EXC": {"EXC": matrix, "INH": matrix},
                                                                    "INH": {"EXC": matrix, "INH": matrix}}}
    return json.dumps(config)


def network(n_nodes, n_connections):
    """golden.rs's synthetic network: connections of 1–7 synapses, edges in connection order."""
    source, target = [], []
    for c in range(n_connections):
        s, t = (c * 7919) % n_nodes, (c * 104_729 + 13) % n_nodes
        for _ in range(1 + c % 7):
            source.append(s)
            target.append(t)
    return {"source_node_id": pa.array(source, pa.uint32()), "target_node_id": pa.array(target, pa.uint32()),
            "edge_id": pa.array(range(len(source)), pa.uint32())}


def ipc(columns):
    batch = pa.record_batch(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def values_hash(run, population, edges, out):
    result = run.run_ipc(population, ipc(edges))
    out += xxhash.xxh3_64_intdigest(result).to_bytes(8, "little")
    table = pa.ipc.open_stream(result).read_all()
    for column in table.columns:
        out += np.asarray(column.to_numpy(), dtype=np.float64).astype("<f8").tobytes()


def test_python_reproduces_the_golden_hash_of_the_native_and_wasm_builds():
    n_nodes = 400
    edges = network(n_nodes, 5000)
    out = bytearray()
    ei = pa.array(["EXC" if i < 320 else "INH" for i in range(n_nodes)])
    tm = synparam.Parameterizer(tsodyks_markram_with_correlation(), seed=42)
    tm.add_edge_population("network__network", ei, ei, "synapse_class", source_population="network",
                           target_population="network")
    values_hash(tm, "network__network", edges, out)
    classes = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"]
    three = pa.array([classes[i % 3] for i in range(n_nodes)])
    seed_model = synparam.Parameterizer((PRESETS / "seed_example.json").read_text())
    seed_model.add_edge_population("synaptome_afferents", three, three, "synapse_class")
    values_hash(seed_model, "synaptome_afferents", edges, out)
    assert xxhash.xxh3_64_intdigest(bytes(out)) == golden_hash_constant()


def tm_run(seed=5):
    run = synparam.Parameterizer((PRESETS / "tsodyks_markram.json").read_text(), seed=seed)
    nodes = pa.array(["EXC"] * 300 + ["INH"] * 100).dictionary_encode()
    run.add_edge_population("net", nodes, nodes)
    return run


def test_batches_in_any_split_and_order_give_the_same_values_in_the_model_dtypes():
    edges = pa.record_batch(network(400, 2000))
    whole = tm_run().run_batch("net", edges)
    assert [(f.name, f.type.to_pandas_dtype().__name__) for f in whole.schema] == tm_run().properties
    # Batches of 777 edges, drawn last batch first, then put back in edge order.
    split = tm_run()
    starts = list(range(0, edges.num_rows, 777))
    parts = {start: split.run_batch("net", edges.slice(start, 777)) for start in reversed(starts)}
    table = pa.Table.from_batches([parts[start] for start in starts])
    assert table.equals(pa.Table.from_batches([whole]))
    # A Table and a mapping of numpy columns are accepted too, ids of any integer type.
    as_table = tm_run().run_batch("net", pa.Table.from_batches([edges]))
    assert as_table.equals(whole)
    numpy_columns = {name: np.asarray(edges.column(name), dtype=np.int64) for name in edges.schema.names}
    assert tm_run().run_batch("net", numpy_columns).equals(whole)


def assert_same_numbers(a, b, where="statistics"):
    """Equal structure, text and integers; floats equal to rounding (sums merged in another order)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_numbers(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_numbers(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def test_statistics_connections_and_merged_states_cover_every_batch():
    edges = pa.record_batch(network(400, 2000))
    one = tm_run()
    one.run_batch("net", edges)
    # Split between two connections (connection c has 1 + c % 7 synapses), as parallel runs are.
    split_at = sum(1 + c % 7 for c in range(750))
    a, b = tm_run(), tm_run()
    a.run_batch("net", edges.slice(0, split_at))
    b.run_batch("net", edges.slice(split_at))
    a.merge_statistics(b.statistics_state())
    stats_one, stats_merged = one.statistics(), a.statistics()
    assert [s["property"] for s in stats_one] == [p for p, _ in one.properties]
    assert_same_numbers(stats_one, stats_merged)
    pairs = set(zip(edges.column("source_node_id").to_pylist(), edges.column("target_node_id").to_pylist()))
    assert sum(count for _, _, count in one.connections("net")) == len(pairs)


def node_plan_run(config_text, overrides):
    """planRun of the wasm core in pkg/, as the page and the command call it."""
    script = (
        "import fs from 'node:fs';"
        "import { initSync, planRun } from './pkg/synparam.js';"
        "initSync({ module: fs.readFileSync('./pkg/synparam_bg.wasm') });"
        "const [config, overrides] = JSON.parse(fs.readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(planRun(config, overrides)));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT, check=True, capture_output=True,
                         input=json.dumps([config_text, overrides]), text=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("overrides", [{}, {"seed": 7, "pathway_property": "mtype", "overwrite": True},
                                       {"fallback": "EXC", "populations": ["a", "b"]}])
def test_plan_run_resolves_as_the_page_and_the_command_do(overrides):
    task = json.loads((PRESETS / "tsodyks_markram.json").read_text())
    config = json.dumps({"pathway_param_dict": task, "random_seed": 12, "pathway_property": "synapse_class",
                         "overwrite_if_exists": False})
    python = synparam.plan_run(config, **overrides)
    js_names = {"seed": "seed", "pathway_property": "pathwayProperty", "fallback": "fallback",
                "overwrite": "overwrite", "populations": "populations"}
    js = node_plan_run(config, {js_names[k]: v for k, v in overrides.items()})
    assert python == js
    assert python["settings"]["seed"] == {"value": overrides.get("seed", 12),
                                         "source": "override" if "seed" in overrides else "config"}


def test_seeds_cover_every_u64_exactly():
    top = 2**64 - 1
    assert synparam.Parameterizer((PRESETS / "tsodyks_markram.json").read_text(), seed=top).seed == top
    config = json.dumps({"pathway_param_dict": json.loads((PRESETS / "tsodyks_markram.json").read_text()),
                         "random_seed": top})
    assert synparam.plan_run(config)["settings"]["seed"]["value"] == top
    with pytest.raises(OverflowError):
        synparam.Parameterizer(config, seed=2**64)


def test_errors_are_typed_and_carry_their_json_path_or_context():
    with pytest.raises(synparam.ConfigError) as bad_std:
        synparam.Parameterizer({"src_types": ["E"], "tgt_types": ["E"], "prop_stats": {
            "conductance": {"E": {"E": {"type": "normal", "mean": 1, "std": -1}}}}}, seed=1)
    assert bad_std.value.path == "prop_stats.conductance.E.E.std"
    assert bad_std.value.kind == "ConfigError"
    assert isinstance(bad_std.value, synparam.SynparamError)
    with pytest.raises(synparam.ConfigError, match="random_seed"):
        synparam.Parameterizer((PRESETS / "tsodyks_markram.json").read_text())
    run = synparam.Parameterizer((PRESETS / "tsodyks_markram.json").read_text(), seed=1)
    with pytest.raises(synparam.MissingPathwayValuesError) as unknown:
        run.add_edge_population("p", pa.array(["EXC", "L5_TPC"]), pa.array(["EXC"]), source_population="cortex")
    assert (unknown.value.values, unknown.value.population, unknown.value.role) == (["L5_TPC"], "cortex", "source")
    with pytest.raises(synparam.MissingPathwayPropertyError) as missing:
        run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]))
    assert (missing.value.count, missing.value.first_node) == (1, 1)
    run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback="INH")
    # A fallback per node population (#24): another population's entry leaves these nodes refused;
    # their own is used; a bad entry is named by its key.
    named = {"source_population": "cortex", "target_population": "cortex"}
    with pytest.raises(synparam.MissingPathwayPropertyError):
        run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback={"VPM": "INH"}, **named)
    run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback={"cortex": "INH"}, **named)
    with pytest.raises(synparam.ConfigError) as bad_entry:
        run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback={"cortex": 3}, **named)
    assert bad_entry.value.path == "fallback.cortex" and "got int 3" in str(bad_entry.value)
    with pytest.raises(synparam.ConfigError, match="fallback: must be a pathway value .* got list"):
        run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback=["EXC"])
    # Without node population names, a per-population fallback could only fall to "*": refused.
    with pytest.raises(ValueError, match="needs the node populations named"):
        run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback={"VPM": "INH", "*": "EXC"})
    run.add_edge_population("p", pa.array(["EXC", None]), pa.array(["EXC"]), fallback={"*": "INH"})
    assert synparam.plan_run((PRESETS / "tsodyks_markram.json").read_text(), fallback={"VPM": "INH", "*": "EXC"})["settings"]["fallback"] == {
        "value": {"VPM": "INH", "*": "EXC"}, "source": "override"}
    with pytest.raises(synparam.InputError) as no_column:
        run.run_batch("p", {"source_node_id": [0], "target_node_id": [0]})
    assert no_column.value.context == "edge chunk of 'p' column edge_id"
    with pytest.raises(synparam.InputError, match="not prepared"):
        run.run_batch("nope", {"source_node_id": [0], "target_node_id": [0], "edge_id": [0]})
    narrow = synparam.Parameterizer({"src_types": ["E"], "tgt_types": ["E"], "prop_stats": {"n": {"E": {"E": {
        "type": "constant", "mean": 300, "dtype": "uint8"}}}}}, seed=1)
    narrow.add_edge_population("p", pa.array(["E"]), pa.array(["E"]))
    with pytest.raises(synparam.ValueOutOfRangeError) as out_of_range:
        narrow.run_batch("p", {"source_node_id": [0], "target_node_id": [0], "edge_id": [9]})
    assert (out_of_range.value.path, out_of_range.value.edge_id) == ("prop_stats.n.E.E", 9)


def test_storage_blocks_follow_the_group_layout_and_their_digests_match_the_core():
    run = tm_run()
    edges = network(400, 300)
    rows = len(edges["edge_id"])
    # Two groups, interleaved: even edges in group 0, odd ones in group 1.
    group_id = np.arange(rows) % 2
    group_index = np.arange(rows) // 2
    run.scan_groups("net", rows, 0, group_id, group_index)
    sizes = {0: int((group_id == 0).sum()), 1: int((group_id == 1).sum())}
    plan = run.plan_output("net", rows, [{"group": g, "property": "syn_weight", "storage": "float32", "rows": n}
                                         for g, n in sizes.items()], [0, 1], overwrite=False)
    assert [(d["property"], d["group"]) for d in plan["datasets"]][:2] == [("conductance", 0), ("conductance", 1)]
    stored = {i: np.zeros(d["rows"], dtype=d["storage"]) for i, d in enumerate(plan["datasets"])}
    batch = dict(edges, edge_group_id=pa.array(group_id, pa.uint32()), edge_group_index=pa.array(group_index))
    for dataset, runs, values in run.run_storage("net", batch):
        assert values.dtype == np.dtype(plan["datasets"][dataset]["storage"])
        at = 0
        for first, count in runs:
            stored[dataset][first:first + count] = values[at:at + count]
            at += count
    drawn = tm_run().run_batch("net", edges)
    conductance_group1 = stored[1]
    # A new conductance dataset is float32 (SONATA's type), drawn as float64.
    assert conductance_group1.dtype == np.float32
    assert np.array_equal(conductance_group1, drawn.column("conductance").to_numpy()[1::2].astype(np.float32))
    for i, entry in enumerate(run.dataset_digests("net")):
        digest = synparam.DatasetDigest(entry["storage"])
        digest.add(0, stored[i].astype(stored[i].dtype.newbyteorder("<")).tobytes())
        assert (digest.hex(), digest.rows) == (entry["digest"], entry["digest_rows"])


def test_the_version_is_the_core_crates_and_the_wheel_is_abi3_for_cpython_310_and_later(tmp_path):
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    assert synparam.__version__ == cargo["package"]["version"]
    wheels = sorted((ROOT / "target" / "wheels").glob("synparam-*.whl"))
    assert len(wheels) == 1, wheels
    assert re.search(r"-cp310-abi3-", wheels[0].name)
    with zipfile.ZipFile(wheels[0]) as wheel:
        metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    assert f"Version: {synparam.__version__}" in metadata
    assert "Requires-Python: >=3.10" in metadata


@pytest.mark.skipif(os.environ.get("SYNPARAM_SKIP_VENV_TEST") == "1", reason="asked to skip")
def test_the_wheel_installs_with_pip_into_a_fresh_environment(tmp_path):
    wheel = next((ROOT / "target" / "wheels").glob("synparam-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True)
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import synparam, pyarrow as pa; r = synparam.Parameterizer("
                          "{'src_types': ['E'], 'tgt_types': ['E'], 'prop_stats': {'g': {'E': {'E': "
                          "{'type': 'constant', 'mean': 2}}}}}, seed=1); r.add_edge_population('p', ['E'], ['E']);"
                          "print(r.run_batch('p', {'source_node_id': [0], 'target_node_id': [0], 'edge_id': [0]})"
                          ".column('g').to_pylist())"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() in ("[2]", "[2.0]")


def test_errors_keep_their_type_and_fields_through_pickling_as_between_dask_processes():
    import pickle
    with pytest.raises(synparam.ConfigError) as caught:
        synparam.Parameterizer({"src_types": ["E"], "tgt_types": ["E"], "prop_stats": {
            "g": {"E": {"E": {"type": "gamma", "mean": 1}}}}}, seed=1)
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is synparam.ConfigError
    assert (again.path, again.kind, str(again)) == (caught.value.path, "ConfigError", str(caught.value))
    narrow = synparam.Parameterizer({"src_types": ["E"], "tgt_types": ["E"], "prop_stats": {"n": {"E": {"E": {
        "type": "constant", "mean": -1, "dtype": "uint8"}}}}}, seed=1)
    narrow.add_edge_population("p", ["E"], ["E"])
    with pytest.raises(synparam.ValueOutOfRangeError) as out_of_range:
        narrow.run_batch("p", {"source_node_id": [0], "target_node_id": [0], "edge_id": [3]})
    again = pickle.loads(pickle.dumps(out_of_range.value))
    assert type(again) is synparam.ValueOutOfRangeError and again.edge_id == 3 and again.path == "prop_stats.n.E.E"
