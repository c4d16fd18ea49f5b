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


def _grid(**edits):
    config = json.loads((SCANS / "grid_task.json").read_text().replace("-Infinity", "-1e308"))
    for key, value in edits.items():
        config[key] = value
    return config


def test_a_run_option_setting_what_an_axis_scans_is_refused(scratch):
    parent = scratch / "overridden"
    parent.mkdir()
    with pytest.raises(synparam.ConfigError, match=r"^random_seed: a scan axis, and seed= sets random_seed for every point .*drop seed=, or the axis"):
        synparam.scan(CIRCUIT, _grid(random_seed=[1, 2]), parent / "out", seed=7)
    with pytest.raises(synparam.ConfigError, match=r"^overwrite_if_exists: a scan axis, and overwrite= sets overwrite_if_exists"):
        synparam.scan(CIRCUIT, _grid(overwrite_if_exists=[True, False]), parent / "out", overwrite=True)
    with pytest.raises(synparam.ConfigError, match=r"set max_points= \(or the config's max_points\) to allow more"):
        synparam.scan(CIRCUIT, _grid(), parent / "out", max_points=4)
    assert list(parent.iterdir()) == []


def test_every_point_is_checked_against_the_circuit_before_any_is_drawn(scratch):
    parent = scratch / "unfit"
    parent.mkdir()
    with pytest.raises(synparam.MissingPathwayValuesError, match=r"^scan point 06_pathway_property=model_type_mean=0.5_EXC=v0: .*model_type values missing from src_types"):
        synparam.scan(CIRCUIT, _grid(pathway_property=["synapse_class", "model_type"]), parent / "out")
    config = _grid()
    config["pathway_param_dict"]["prop_stats"]["conductance"]["INH"]["INH"] = [
        {"type": "constant", "mean": 1}, {"type": "constant", "mean": 1, "scale_by": {"attribute": "spine_length", "linear": [1, 0.25]}}]
    with pytest.raises(CircuitError, match=r"^scan point 02_mean=0.5_INH=v1_EXC=v0: .*lacks: spine_length"):
        synparam.scan(CIRCUIT, config, parent / "out")
    # Properties the edges file holds, overwrite scanned.
    config = _grid(edge_populations=["S1nonbarrel_neurons__S1nonbarrel_neurons__chemical"], overwrite_if_exists=[True, False])
    config["pathway_param_dict"]["prop_stats"] = {"conductance": config["pathway_param_dict"]["prop_stats"]["conductance"]}
    with pytest.raises(CircuitError, match=r"^scan point 1_mean=0.5_overwrite_if_exists=false: .*properties already exist: conductance"):
        synparam.scan(FIXTURES / "obi_one_geometry" / "circuit_config.json", config, parent / "out")
    assert list(parent.iterdir()) == []


def test_an_output_inside_the_input_circuit_is_allowed_and_never_mirrored_into_itself(scratch):
    """As the command's (docs/reliability.md): an output folder inside the circuit's folder is
    allowed, a single run's and a scan's; only one holding an input is refused."""
    copy = scratch / "inside-circuit"
    shutil.copytree(FIXTURES / "multi", copy)
    # A component naming the circuit folder itself: the folder is mirrored around the placed files.
    config = json.loads((copy / "circuit_config.json").read_text())
    config["components"]["morphologies_dir"] = "."
    (copy / "circuit_config.json").write_text(json.dumps(config))
    model = json.loads((SCANS / "coupled_task.json").read_text().replace("-Infinity", "-1e308"))
    del model["scan"]
    model["pathway_param_dict"]["prop_stats"]["conductance"]["INH"]["INH"]["std"] = 0.2
    model["pathway_param_dict"]["prop_stats"]["n_rrp_vesicles"]["EXC"]["EXC"]["val"] = [1, 2, 3]
    for out, run in [(copy / "runs" / "single", lambda out: parameterize_circuit(copy / "circuit_config.json", model, out)),
                     (copy / "runs" / "scan", lambda out: synparam.scan(copy / "circuit_config.json", SCANS / "coupled_task.json", out))]:
        run(out)
        files = _files(out)
        assert not any("runs/" in f or ".partial-" in f or "synparam-lock" in f for f in files), files
        shutil.rmtree(out)  # else the next run mirrors it, as any folder of the circuit's
    with pytest.raises(CircuitError, match="would contain the input"):
        parameterize_circuit(copy / "circuit_config.json", model, copy / "networks")


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


def test_scalings_as_overrides_equal_the_command(scratch):
    """scalings_as_overrides=True: the points that only scale a law are the command's bytes (a
    circuit config naming point 0's edges, the connection_overrides fragment, its node sets); the
    others are drawn as edges, as the command draws them."""
    config = json.loads((SCANS / "grid_task.json").read_text().replace("-Infinity", "-1e308"))
    config["scan"] = "coupled"
    stats = config["pathway_param_dict"]["prop_stats"]
    base = {"type": "gamma", "mean": 1.0, "std": 0.3, "shared_within": False}
    stats["conductance"]["EXC"]["INH"] = [base, {**base, "mean": 0.5, "std": 0.15}, {**base, "mean": 2.0, "std": 0.6}, {**base, "std": 0.6}]
    stats["u_syn"]["INH"]["EXC"] = {"type": "normal", "mean": 0.25, "std": 0.05}
    path = scratch / "overrides_scan.json"
    path.write_text(json.dumps(config))
    command_out = scratch / "command-overrides"
    command("--circuit", CIRCUIT, "--config", path, "--out", command_out, "--workers", "1", "--scalings-as-overrides")
    python_out = scratch / "python-overrides"
    result = synparam.scan(CIRCUIT, path, python_out, partition_rows=300, scalings_as_overrides=True)
    assert [o["as"] for o in result["outputs"]] == ["edges", "overrides", "overrides", "edges"]
    assert sorted(p.name for p in command_out.iterdir()) == sorted(p.name for p in python_out.iterdir())
    assert (command_out / "scan.json").read_bytes() == (python_out / "scan.json").read_bytes()
    scan = json.loads((command_out / "scan.json").read_text())
    for point in scan["points"]:
        if point["written_as"]["as"] == "overrides":
            names = ["circuit_config.json", "simulation_node_sets.json", "simulation_overrides.json"]
            assert _files(python_out / point["name"]) == _files(command_out / point["name"]) == names
            for name in names:
                assert (command_out / point["name"] / name).read_bytes() == (python_out / point["name"] / name).read_bytes(), name
        else:
            assert_same_circuit(command_out / point["name"], python_out / point["name"])


def test_scalings_as_overrides_on_a_pathway_property_stored_as_numbers_is_refused(scratch):
    """The network fixture's layer_number is an integer column: node sets of its text would match
    nothing, so the core refuses, naming the population, and nothing is written (as the command)."""
    import h5py

    with h5py.File(FIXTURES / "network" / "nodes.h5", "r") as h5:
        layers = sorted({str(v) for v in h5["nodes/S1/0/layer_number"][()].tolist()})
    stats = {s: {t: {"type": "gamma", "mean": 1.0, "std": 0.5} for t in layers} for s in layers}
    stats[layers[0]][layers[0]] = {"type": "gamma", "mean": [1.0, 2.0], "std": [0.5, 1.0]}
    config = {"scan": "coupled", "random_seed": 1, "pathway_property": "layer_number", "overwrite_if_exists": True,
              "pathway_param_dict": {"src_types": layers, "tgt_types": layers, "prop_stats": {"conductance": stats}}}
    parent = scratch / "numbers"
    parent.mkdir()
    with pytest.raises(CircuitError, match=r"scalings_as_overrides=: the overrides' node sets select nodes by the text of their 'layer_number', and this population stores it as integer numbers") as caught:
        synparam.scan(FIXTURES / "network" / "circuit_config.json", json.dumps(config), parent / "scan", scalings_as_overrides=True)
    assert caught.value.population == "S1"
    assert list(parent.iterdir()) == []
