"""synparam.scan and change= against the command (tests/node/scan.test.mjs tests the command's
semantics): the same scan.json, the same files in every point and in shared/, the same datasets
and sidecars (but the time, and the SHA-256s of written edges files: h5py's and h5wasm's HDF5
bytes differ), in process and on a Dask cluster; a change of a recorded run with its parent."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import synparam
from synparam.dask import parameterize_circuit
from synparam.sonata import CircuitError
from test_dask import FIXTURES, ROOT, _files, _h5_content, assert_same_circuit, clients  # noqa: F401  (clients: a fixture)

SCANS = ROOT / "tests" / "fixtures" / "scan"
CIRCUIT = FIXTURES / "multi" / "circuit_config.json"


@pytest.fixture(scope="module")
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="synparam-scan-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def command(*arguments):
    if shutil.which("node") is None or not (ROOT / "pkg" / "synparam_bg.wasm").exists():
        pytest.skip("needs node and the wasm package (make pkg)")
    subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), *map(str, arguments)], check=True, capture_output=True, cwd=ROOT)


def assert_same_scan(command_out: Path, python_out: Path):
    assert sorted(p.name for p in command_out.iterdir()) == sorted(p.name for p in python_out.iterdir())
    assert (command_out / "scan.json").read_bytes() == (python_out / "scan.json").read_bytes()
    scan = json.loads((command_out / "scan.json").read_text())
    for point in scan["points"]:
        assert_same_circuit(command_out / point["name"], python_out / point["name"])
    base = json.loads((command_out / scan["base"] / "parameterization.json").read_text())
    written = {name[len("../shared/"):] for name in base["datasets"] if name.startswith("../shared/")}
    assert _files(command_out / "shared") == _files(python_out / "shared")
    for relative in _files(command_out / "shared"):
        a, b = command_out / "shared" / relative, python_out / "shared" / relative
        assert (_h5_content(a) == _h5_content(b)) if relative in written else (a.read_bytes() == b.read_bytes()), relative


def shared_only_from_inh(scratch):
    """The grid fixture scanning only pathways from INH: the thalamic edges files are shared."""
    config = (SCANS / "grid_task.json").read_text().replace('"mean": [0.5, 1.0, 2.0]', '"mean": 1.0')
    config = config.replace('"INH": {"type": "gamma", "mean": 1.5, "std": 0.4', '"INH": {"type": "gamma", "mean": [1.5, 3.0], "std": 0.4')
    path = scratch / "inh_scan.json"
    path.write_text(config)
    return path


@pytest.mark.parametrize("name", ["grid_task.json", "coupled_task.json", "inh"])
def test_scan_equals_the_command(name, scratch):
    config = shared_only_from_inh(scratch) if name == "inh" else SCANS / name
    command_out = scratch / f"command-{name}"
    command("--circuit", CIRCUIT, "--config", config, "--out", command_out, "--workers", "1")
    python_out = scratch / f"python-{name}"
    result = synparam.scan(CIRCUIT, config, python_out, partition_rows=300)
    assert [p["name"] for p in result["plan"]["points"]] == [p.name for p in sorted(python_out.iterdir()) if p.name not in ("scan.json", "shared")]
    assert_same_scan(command_out, python_out)
    if name == "inh":
        assert "networks/edges/VPM__S1__chemical/edges.h5" in _files(python_out / "shared")


def test_scan_on_a_dask_cluster_equals_the_command(scratch, clients):  # noqa: F811
    config = shared_only_from_inh(scratch)
    command_out = scratch / "command-cluster"
    command("--circuit", CIRCUIT, "--config", config, "--out", command_out, "--workers", "2")
    python_out = scratch / "python-cluster"
    synparam.scan(CIRCUIT, config, python_out, client=clients(2), partition_rows=250)
    assert_same_scan(command_out, python_out)


def test_a_bad_scan_writes_nothing(scratch):
    bad = json.loads((SCANS / "coupled_task.json").read_text().replace("-Infinity", "null"))
    bad["pathway_param_dict"]["prop_stats"]["conductance"]["INH"]["INH"]["std"] = [0.2, 0.4]
    parent = scratch / "bad"
    parent.mkdir()
    with pytest.raises(synparam.ConfigError, match="a coupled scan needs lists of equal length"):
        synparam.scan(CIRCUIT, bad, parent / "out")
    bad["pathway_param_dict"]["prop_stats"]["conductance"]["INH"]["INH"]["std"] = [0.2, -0.4, 0.6]
    with pytest.raises(synparam.ConfigError, match=r"scan point 1_std=-0.4_val=v1"):
        synparam.scan(CIRCUIT, bad, parent / "out")
    assert list(parent.iterdir()) == []


def test_change_of_a_recorded_run_equals_the_command(scratch):
    model = json.loads((SCANS / "coupled_task.json").read_text())
    del model["scan"]
    stats = model["pathway_param_dict"]["prop_stats"]
    stats["conductance"]["INH"]["INH"]["std"] = 0.2
    stats["n_rrp_vesicles"]["EXC"]["EXC"]["val"] = [1, 2, 3]
    model_path = scratch / "model.json"
    model_path.write_text(json.dumps(model))
    parent = scratch / "change-parent"
    command("--circuit", CIRCUIT, "--config", model_path, "--out", parent)
    patch = {"prop_stats": {"conductance": {"EXC": {"INH": {"type": "gamma", "mean": 3.0, "std": 0.3}}}}}
    patch_path = scratch / "patch.json"
    patch_path.write_text(json.dumps(patch))
    command_out = scratch / "change-command"
    command("--circuit", CIRCUIT, "--from-provenance", parent / "parameterization.json", "--change", patch_path, "--out", command_out)
    python_out = scratch / "change-python"
    result = parameterize_circuit(CIRCUIT, None, python_out, from_provenance=parent / "parameterization.json", change=patch)
    assert result["provenance"]["parent"]["changes"] == {"kind": "some", "changed": [{"property": "conductance", "source": "EXC", "target": "INH"}]}
    assert_same_circuit(command_out, python_out)
    with pytest.raises(ValueError, match="drop seed"):
        parameterize_circuit(CIRCUIT, None, scratch / "x", from_provenance=parent / "parameterization.json", seed=3)
    with pytest.raises(synparam.ConfigError, match="patch.random_seed"):
        parameterize_circuit(CIRCUIT, None, scratch / "x", from_provenance=parent / "parameterization.json", change={"random_seed": 3})
    copy = scratch / "changed-circuit"
    shutil.copytree(FIXTURES / "multi", copy)
    (copy / "node_sets.json").write_text((copy / "node_sets.json").read_text() + "\n")
    with pytest.raises(CircuitError, match="node_sets.json"):
        parameterize_circuit(copy / "circuit_config.json", None, scratch / "x", from_provenance=parent / "parameterization.json", change=patch)
    assert not (scratch / "x").exists()


def test_the_console_command_runs_a_scan(scratch):
    from synparam.dask import main

    command_out = scratch / "command-console"
    command("--circuit", CIRCUIT, "--config", SCANS / "coupled_task.json", "--out", command_out, "--workers", "1")
    python_out = scratch / "console"
    assert main(["--circuit", str(CIRCUIT), "--config", str(SCANS / "coupled_task.json"), "--out", str(python_out),
                 "--workers", "1", "--dashboard", "", "--quiet"]) == 0
    assert_same_scan(command_out, python_out)
