"""synparam.dask against the command: the same parameterized circuit for any number of Dask workers
and partition sizes — every dataset of every output HDF5 file equal byte for byte (dtype, shape,
values, attributes), every other file equal, the same file list, the same provenance sidecar (but
its time and the SHA-256s of the edges files, whose HDF5 bytes h5py and h5wasm lay out
differently) — plus typed errors with nothing left behind and inputs never modified.

Needs the fixtures (``make fixtures``), the wasm package (``make pkg``) and Node for the command's
reference outputs, and the synparam wheel with dask[distributed] in the venv.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import synparam
from synparam.dask import main, parameterize_circuit
from synparam.sonata import CircuitError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "out"
TSODYKS = ROOT / "www" / "presets" / "tsodyks_markram.json"
SEED_EXAMPLE = ROOT / "www" / "presets" / "seed_example.json"

# name → (circuit, config, command flags / keyword arguments)
CASES = {
    "obi_one": ("obi_one", TSODYKS, {"seed": 3, "overwrite": True, "fallback": "EXC"}),
    # A fallback value per node population (#24): the command's VPM=EXC,POm=INH, Python's dict.
    "obi_one_per_population": ("obi_one", TSODYKS, {"seed": 3, "overwrite": True, "fallback": {"VPM": "EXC", "POm": "INH"}}),
    "network": ("network", TSODYKS, {"seed": 11, "overwrite": True}),
    "multi_group": ("multi_group", TSODYKS, {"seed": 7, "overwrite": True}),
    "multi_external": ("multi_external", TSODYKS, {"seed": 5, "overwrite": True}),
    "synaptome": ("synaptome", SEED_EXAMPLE, {}),
}


def _flags(options):
    flags = []
    if "seed" in options:
        flags += ["--seed", str(options["seed"])]
    if options.get("overwrite"):
        flags.append("--overwrite")
    if options.get("fallback"):
        value = options["fallback"]
        flags += ["--fallback-value", value if isinstance(value, str) else ",".join(f"{k}={v}" for k, v in value.items())]
    if options.get("populations"):
        flags += ["--populations", ",".join(options["populations"])]
    return flags


@pytest.fixture(scope="module")
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="synparam-dask-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(scratch):
    """The command's output per case (``node www/host/cli.mjs … --workers 1``), made once."""
    if shutil.which("node") is None or not (ROOT / "pkg" / "synparam_bg.wasm").exists():
        pytest.skip("needs node and the wasm package (make pkg)")
    made = {}

    def get(case):
        if case not in made:
            circuit, config, options = CASES[case]
            out = scratch / f"command-{case}"
            subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), "--circuit", str(FIXTURES / circuit / "circuit_config.json"),
                            "--config", str(config), "--out", str(out), "--workers", "1", *_flags(options)],
                           check=True, capture_output=True, cwd=ROOT)
            made[case] = out
        return made[case]

    return get


@pytest.fixture(scope="module")
def clients():
    """Local Dask clusters of 1, 2 and 4 workers (threads; no dashboard, loopback only)."""
    from dask.distributed import Client, LocalCluster

    made = {}

    def get(workers, processes=False):
        if (workers, processes) not in made:
            network = {"host": "127.0.0.1", "protocol": "tcp"} if processes else {}  # threads: in-process comms
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None, **network)
            made[(workers, processes)] = (cluster, Client(cluster))
        return made[(workers, processes)][1]

    yield get
    for cluster, client in made.values():
        client.close()
        cluster.close()


def _files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _h5_content(path: Path) -> dict:
    """Every group and dataset of an HDF5 file: dtype, shape, raw bytes, attributes (type, bytes)."""
    content = {}
    with h5py.File(path, "r") as h5:
        def attributes(obj):
            found = {}
            for key in obj.attrs:
                attr = obj.attrs.get_id(key)
                kind = attr.get_type()
                value = obj.attrs[key]
                found[key] = (type(kind).__name__, kind.get_size(), attr.get_space().get_simple_extent_type(),
                              value if isinstance(value, (str, bytes)) else np.asarray(value).tobytes() + np.asarray(value).dtype.str.encode())
            return found

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                content[name] = ("dataset", obj.dtype.str, obj.shape,
                                 data.tobytes() if obj.dtype.kind != "O" else [bytes(x) if isinstance(x, bytes) else x for x in np.ravel(data)],
                                 attributes(obj))
            else:
                content[name] = ("group", attributes(obj))

        content["/"] = ("group", attributes(h5))
        h5.visititems(visit)
    return content


def assert_same_circuit(command_out: Path, dask_out: Path):
    assert _files(command_out) == _files(dask_out)
    command_sidecar = json.loads((command_out / "parameterization.json").read_text())
    dask_sidecar = json.loads((dask_out / "parameterization.json").read_text())
    written = set(command_sidecar["datasets"])
    assert written, "the command wrote no dataset"
    for relative in _files(command_out):
        a, b = command_out / relative, dask_out / relative
        if relative == "parameterization.json":
            continue
        if relative in written:
            expected, found = _h5_content(a), _h5_content(b)
            assert expected.keys() == found.keys(), relative
            for name in expected:
                assert expected[name] == found[name], f"{relative}: {name} differs"
        else:
            assert a.read_bytes() == b.read_bytes(), relative
    # The sidecar: the same keys in the same order, the same values, but the time and the SHA-256s
    # of the written edges files (HDF5 bytes: h5py's and h5wasm's allocation differ).
    assert list(command_sidecar) == list(dask_sidecar)
    for sidecar in (command_sidecar, dask_sidecar):
        sidecar.pop("created")
        for relative in written:
            assert len(sidecar["outputs"].pop(relative)) == 64
    assert command_sidecar == dask_sidecar


def _tree_hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_in_process_equals_the_command(case, reference, scratch):
    circuit, config, options = CASES[case]
    before = _tree_hashes(FIXTURES / circuit)
    out = scratch / f"inprocess-{case}"
    result = parameterize_circuit(FIXTURES / circuit / "circuit_config.json", config, out, partition_rows=500, **options)
    assert result["out_dir"] == str(out)
    assert_same_circuit(reference(case), out)
    assert _tree_hashes(FIXTURES / circuit) == before, "the input circuit changed"


@pytest.mark.parametrize("workers,partition_rows", [(1, 1_000_000), (2, 1000), (4, 257), (4, 4096)])
@pytest.mark.parametrize("case", ["obi_one", "network", "multi_group"])
def test_dask_workers_and_partitions_equal_the_command(case, workers, partition_rows, reference, clients, scratch):
    circuit, config, options = CASES[case]
    before = _tree_hashes(FIXTURES / circuit)
    out = scratch / f"dask-{case}-{workers}-{partition_rows}"
    parameterize_circuit(FIXTURES / circuit / "circuit_config.json", config, out, client=clients(workers),
                         partition_rows=partition_rows, **options)
    assert_same_circuit(reference(case), out)
    assert _tree_hashes(FIXTURES / circuit) == before, "the input circuit changed"


def test_worker_processes_and_the_console_command(reference, clients, scratch, capsys):
    """Two worker processes (tasks and results pickled), through ``synparam-dask``'s main()."""
    client = clients(2, processes=True)
    out = scratch / "cli-network"
    address = client.scheduler.address
    code = main(["--circuit", str(FIXTURES / "network/circuit_config.json"), "--config", str(TSODYKS), "--out", str(out),
                 "--seed", "11", "--overwrite", "--scheduler", address, "--partition-rows", "3000"])
    assert code == 0
    assert "wrote the parameterized circuit to" in capsys.readouterr().out
    assert_same_circuit(reference("network"), out)
    # The console command reads --fallback-value's per-population entries as the command does.
    per_population = scratch / "cli-obi-one-per-population"
    code = main(["--circuit", str(FIXTURES / "obi_one/circuit_config.json"), "--config", str(TSODYKS), "--out", str(per_population),
                 "--seed", "3", "--overwrite", "--fallback-value", "VPM=EXC, POm=INH", "--scheduler", address])
    assert code == 0
    assert_same_circuit(reference("obi_one_per_population"), per_population)
    sidecar = json.loads((per_population / "parameterization.json").read_text())
    assert sidecar["fallback_value"] == {"VPM": "EXC", "POm": "INH"}


def test_populations_subset(scratch):
    out = scratch / "subset"
    result = parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, out, seed=2, overwrite=True,
                                  populations=["S1__S1__plain"], partition_rows=100)
    assert [p["name"] for p in result["populations"]] == ["S1__S1__plain"]
    sidecar = json.loads((out / "parameterization.json").read_text())
    assert sidecar["edge_populations"] == ["S1__S1__plain"]
    assert list(sidecar["parameterized"]) == ["S1__S1__plain"]


def _leftovers(parent: Path, name: str):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(name))


def test_bad_config_is_a_typed_error_and_leaves_nothing(scratch):
    bad = json.loads(TSODYKS.read_text())
    bad["prop_stats"]["conductance"]["EXC"]["EXC"] = {"type": "gamma", "mean": -1.0, "std": 0.5}
    before = _tree_hashes(FIXTURES / "network")
    out = scratch / "bad-config"
    with pytest.raises(synparam.ConfigError) as error:
        parameterize_circuit(FIXTURES / "network/circuit_config.json", bad, out, seed=1, overwrite=True)
    assert "conductance" in str(error.value.path) + str(error.value)
    assert _leftovers(scratch, "bad-config") == []
    assert _tree_hashes(FIXTURES / "network") == before


def test_hostile_files_and_reserved_names_are_refused_before_writing(scratch):
    """2-D ids, a trillion rows claimed in a few kilobytes (the core's check against the storage
    HDF5 allocated), a property named like a SONATA reserved dataset: one clear error, nothing left."""
    cases = [
        ("ids_2d", TSODYKS, r"dataset /edges/S1__S1__hostile/source_node_id: is 2-dimensional \(shape \[20, 1\]\)"),
        ("huge_claim", TSODYKS, r"source_node_id: claims 1,000,000,000,000 rows \(8 TB of data\) but its storage holds at most [\d.]+ KB"),
    ]
    for name, config, message in cases:
        with pytest.raises(CircuitError, match=message):
            parameterize_circuit(FIXTURES / "hostile" / name / "circuit_config.json", config, scratch / name, seed=1, overwrite=True)
        assert _leftovers(scratch, name) == []
    reserved = json.loads(TSODYKS.read_text())
    reserved["prop_stats"]["edge_group_index"] = reserved["prop_stats"].pop("delay")
    with pytest.raises(synparam.ConfigError, match="prop_stats.edge_group_index: property 'edge_group_index' is a dataset SONATA reserves"):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", reserved, scratch / "reserved", seed=1, overwrite=True)
    assert _leftovers(scratch, "reserved") == []


def test_missing_seed_and_unknown_population_leave_nothing(scratch):
    with pytest.raises(synparam.SynparamError):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, scratch / "no-seed", overwrite=True)
    with pytest.raises(CircuitError, match="unknown edge population 'nope'"):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, scratch / "no-pop", seed=1, populations=["nope"])
    assert _leftovers(scratch, "no-seed") == [] and _leftovers(scratch, "no-pop") == []


def test_existing_properties_without_overwrite_refused_before_writing(scratch):
    out = scratch / "no-overwrite"
    with pytest.raises(CircuitError, match="already exist"):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, out, seed=1)
    assert _leftovers(scratch, "no-overwrite") == []


def test_value_out_of_range_on_a_worker_leaves_nothing(clients, scratch):
    """An error raised inside a Dask task: typed, and the staging folder removed."""
    model = json.loads(TSODYKS.read_text())
    for source in model["prop_stats"]["conductance"].values():
        for target in source:
            source[target] = {"type": "normal", "mean": 1e39, "std": 1.0}
    out = scratch / "out-of-range"
    with pytest.raises(synparam.SynparamError) as error:
        parameterize_circuit(FIXTURES / "obi_one/circuit_config.json", model, out, seed=1, overwrite=True, fallback="EXC",
                             client=clients(2), partition_rows=200)
    assert "conductance" in str(error.value)
    assert _leftovers(scratch, "out-of-range") == []


def test_output_not_empty_and_inside_input_refused(scratch):
    out = scratch / "not-empty"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(CircuitError, match="is not empty"):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, out, seed=1, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine" and _files(out) == ["keep.txt"]
    with pytest.raises(CircuitError, match="would contain the input"):
        parameterize_circuit(FIXTURES / "network/circuit_config.json", TSODYKS, FIXTURES, seed=1, overwrite=True)


def test_obi_one_drop_in(reference, scratch):
    from synparam.obi_one import synapse_parameterization

    model = json.loads(TSODYKS.read_text())
    out = scratch / "obi-drop-in"
    synapse_parameterization(FIXTURES / "obi_one", "synapse_class", model, random_seed=3, overwrite_if_exists=True,
                             output_path=out, fallback_value="EXC")
    assert_same_circuit(reference("obi_one"), out)
