"""Fitting a model from a circuit (issue #25) in Python: ``synparam.fit`` and
``synparam.dask.fit_circuit`` give the command's model (``node www/host/cli.mjs --fit``) bit for
bit — the same JSON text — on the obi-one and network fixtures, with and without a keyed
subsample, in this process and on Dask with 1 and 2 workers (auto mode with cross-validation and
correlations: the same bits on Dask as in this process, the command's to 1e-12); bad input is a
typed error naming the key or the file.

Needs the fixtures (``make fixtures``), the wasm package (``make pkg``) and Node for the command's
models, and the synparam wheel with dask[distributed] in the venv.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import synparam
from synparam.dask import fit_circuit
from synparam.fitting import fit_circuit as fit_here
from synparam.sonata import CircuitError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "out"
BIO = "S1nonbarrel_neurons"
OBI_S1 = f"{BIO}__{BIO}__chemical"

# name → (circuit, keyword settings); chunk_rows small so that every fixture has several chunks.
CASES = {
    "obi_one": ("obi_one", {"pathway_property": "mtype", "chunk_rows": 200}),
    "obi_one_subsampled": ("obi_one", {"pathway_property": "synapse_class", "max_samples": 30, "min_samples": 3, "seed": 7,
                                       "laws": {"decay_time": "normal"}, "chunk_rows": 150}),
    "network": ("network", {"pathway_property": "mtype", "populations": ["S1__S1__chemical"], "chunk_rows": 1500}),
    "network_subsampled": ("network", {"pathway_property": "synapse_class", "populations": ["S1__S1__chemical"],
                                       "max_samples": 100, "seed": 2, "chunk_rows": 2500}),
    # Allen's two edge groups (syn_weight in both, sec_id in group 0 only) and interleaved groups
    # with permuted rows: values read through edge_group_id/edge_group_index.
    "multi_group_allen": ("multi_group", {"pathway_property": "mtype", "populations": ["l4_to_l4"], "chunk_rows": 500}),
    "multi_group_permuted": ("multi_group", {"pathway_property": "synapse_class", "populations": ["permuted"],
                                             "properties": ["delay"], "chunk_rows": 400}),
    # The law chosen by the data, 3-fold cross-validation and correlations: their per-fold and
    # ranking statistics cross processes too.
    "obi_one_auto": ("obi_one", {"pathway_property": "mtype", "mode": "auto", "min_samples": 12, "settings": {"folds": 3},
                                 "options": {"correlations": True, "correlation_min_samples": 10}, "chunk_rows": 150}),
    # Observed vectors drawn again: the rows of a keyed sample of connections and their synapses.
    "obi_one_empirical": ("obi_one", {"pathway_property": "mtype", "mode": "empirical", "min_samples": 12,
                                      "settings": {"correlation_sample": 30}, "chunk_rows": 150}),
    # connectome-manipulator's distance-dependent delay per pathway: the synapse centres and the
    # source somata read beside the properties (100 µm bins).
    "obi_one_geometry_delay": ("obi_one_geometry", {"pathway_property": "mtype", "populations": [OBI_S1],
                                                    "laws": {"delay": "lin_delay"}, "delay_bin_um": 100, "chunk_rows": 300}),
}


def _flags(settings):
    flags = ["--pathway-property", settings["pathway_property"]]
    for key, flag in (("chunk_rows", "--chunk-size"), ("max_samples", "--max-samples"), ("min_samples", "--min-samples"), ("seed", "--seed"),
                      ("delay_bin_um", "--fit-delay-bin")):
        if key in settings:
            flags += [flag, str(settings[key])]
    if "populations" in settings:
        flags += ["--populations", ",".join(settings["populations"])]
    if "properties" in settings:
        flags += ["--fit-properties", ",".join(settings["properties"])]
    if "laws" in settings:
        flags += ["--fit-laws", ",".join(f"{k}={v}" for k, v in settings["laws"].items())]
    if "mode" in settings:
        flags += ["--fit-mode", settings["mode"]]
    for key, flag in (("settings", "--fit-settings"), ("options", "--fit-options")):
        if key in settings:
            flags += [flag, json.dumps(settings[key])]
    return flags


@pytest.fixture(scope="module")
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="synparam-fit-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def command(scratch):
    """The command's model text per case, made once."""
    if shutil.which("node") is None or not (ROOT / "pkg" / "synparam_bg.wasm").exists():
        pytest.skip("needs node and the wasm package (make pkg)")
    made = {}

    def get(case):
        if case not in made:
            circuit, settings = CASES[case]
            model = scratch / f"command-{case}.json"
            subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), "--circuit", str(FIXTURES / circuit / "circuit_config.json"),
                            "--fit", str(model), *_flags(settings)], check=True, capture_output=True, cwd=ROOT)
            made[case] = model.read_text()
        return made[case]

    return get


@pytest.fixture(scope="module")
def clients():
    """Dask clients: 1 worker thread in this process, 2 worker processes (states cross as JSON)."""
    from dask.distributed import Client, LocalCluster

    made = {}

    def get(workers):
        if workers not in made:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=workers > 1, dashboard_address=None,
                                   **({"host": "127.0.0.1"} if workers > 1 else {}))
            made[workers] = (cluster, Client(cluster))
        return made[workers][1]

    yield get
    for cluster, client in made.values():
        client.close()
        cluster.close()


#: Cases whose model is the command's to the bit. Auto mode's laws are computed with the
#: platform's transcendental functions in the core (src/fit/laws.rs: std's ln, exp, exp_m1), which
#: differ in their last bits between native code (Python) and wasm (the command): equal to 1e-12
#: there, and the same bits between Python and Dask (test_auto_mode_is_the_commands_to_the_bit
#: says when the core makes them equal).
EXACT = ("obi_one", "obi_one_subsampled", "network", "network_subsampled", "multi_group_allen", "multi_group_permuted",
         "obi_one_empirical", "obi_one_geometry_delay")


def _close(a, b, path=""):
    """Two models equal but for the last bits of their numbers (1e-12 relative)."""
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= 1e-12 * max(1.0, abs(a)), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.fixture(scope="module")
def here():
    """synparam.fit's result per case in this process, made once."""
    made = {}

    def get(case):
        if case not in made:
            circuit, settings = CASES[case]
            made[case] = fit_here(FIXTURES / circuit / "circuit_config.json", **settings)
        return made[case]

    return get


@pytest.mark.parametrize("case", sorted(CASES))
def test_in_process_equals_the_command(case, command, here):
    circuit, settings = CASES[case]
    config = FIXTURES / circuit / "circuit_config.json"
    result = here(case)
    if case in EXACT:
        assert result["model_text"] == command(case), "the same JSON text, bit for bit"
    else:
        _close(result["model"], json.loads(command(case)))
    model, report = synparam.fit(config, **settings)
    assert model == result["model"] and report == result["report"]
    assert result["passes"] == (3 if "max_samples" in settings else 2)


def test_auto_mode_is_the_commands_to_the_bit(command, here):
    assert here("obi_one_auto")["model_text"] == command("obi_one_auto")


@pytest.mark.parametrize("workers,partition_rows", [(1, 1), (2, 1), (2, 10_000_000)])
@pytest.mark.parametrize("case", ["obi_one", "network_subsampled", "obi_one_auto", "obi_one_geometry_delay"])
def test_dask_equals_the_command(case, workers, partition_rows, command, here, clients):
    circuit, settings = CASES[case]
    result = fit_circuit(FIXTURES / circuit / "circuit_config.json", client=clients(workers), partition_rows=partition_rows, **settings)
    assert result["model_text"] == here(case)["model_text"], "Dask gives this process's bits"
    assert result["report_text"] == here(case)["report_text"]
    if case in EXACT:
        assert result["model_text"] == command(case)


def test_lin_delay_fit_names_what_it_needs(here):
    model = here("obi_one_geometry_delay")["model"]
    specs = [spec for targets in model["prop_stats"]["delay"].values() for spec in targets.values()]
    assert specs and all(spec["type"] == "lin_delay" and spec["delay_mean_coeff_b"] > 0 for spec in specs)
    config = FIXTURES / "obi_one_geometry" / "circuit_config.json"
    # The virtual thalamic nodes have no soma positions: their node file is named.
    with pytest.raises(CircuitError, match="distance_soma, which needs the source nodes. positions"):
        fit_here(config, pathway_property="mtype", fallback="virtual", laws={"delay": "lin_delay"})
    with pytest.raises(synparam.ConfigError, match="one property per fit"):
        fit_here(config, pathway_property="mtype", populations=[OBI_S1], laws={"delay": "lin_delay", "u_syn": "lin_delay"})


def test_default_properties_and_classes_from_the_nodes():
    result = fit_here(FIXTURES / "obi_one" / "circuit_config.json", pathway_property="mtype")
    assert [p["name"] for p in result["settings"]["properties"]] == [
        "conductance", "conductance_scale_factor", "decay_time", "depression_time", "facilitation_time", "n_rrp_vesicles",
        "syn_type_id", "u_hill_coefficient", "u_syn"]
    not_fitted = {n["property"]: n["reason"] for n in result["not_fitted"]}
    assert "geometric" in not_fitted["delay"] and "position" in not_fitted["afferent_center_x"]
    assert result["populations"] == [OBI_S1]
    assert any("'POm'" in w and "has no 'mtype'" in w for w in result["warnings"])
    assert not any(p["fallback"] for p in result["report"]["pathways"]), "every mtype pathway has data"
    # With at least 12 connections asked for, pathways are filled in by levels that need the
    # class and layer of each mtype: read from the nodes' synapse_class and layer.
    filled = fit_here(FIXTURES / "obi_one" / "circuit_config.json", pathway_property="mtype", min_samples=12)
    levels = {p["fallback"]["level"] for p in filled["report"]["pathways"] if p["fallback"]}
    assert levels == {0, 1, 2}, filled["report"]["fallback_levels"]


def test_edges_not_sorted_by_target_are_fitted_whole_alike(scratch):
    """A population whose edges are not sorted by target is one chunk, in the command and here:
    the same model, and a warning saying so."""
    if shutil.which("node") is None:
        pytest.skip("needs node")
    folder = scratch / "unsorted"
    shutil.copytree(FIXTURES / "network", folder)
    with h5py.File(folder / "edges.h5", "r+") as h5:
        base = h5["edges/S1__S1__chemical"]
        order = np.random.default_rng(5).permutation(base["target_node_id"].shape[0])
        for name in ("source_node_id", "target_node_id", "edge_group_id", "edge_group_index"):
            base[name][...] = base[name][()][order]
    config = folder / "circuit_config.json"
    settings = {"pathway_property": "mtype", "populations": ["S1__S1__chemical"], "chunk_rows": 1000}
    result = fit_here(config, **settings)
    assert any("is not sorted by target: fitted as one chunk of 19861 edges" in w for w in result["warnings"])
    model = scratch / "unsorted-command.json"
    ran = subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), "--circuit", str(config), "--fit", str(model), *_flags(settings)],
                         check=True, capture_output=True, cwd=ROOT, text=True)
    assert "is not sorted by target: fitted as one chunk of 19861 edges" in ran.stdout
    assert model.read_text() == result["model_text"]


def _copy_with(scratch, name, prop, rows, values):
    folder = scratch / name
    shutil.copytree(FIXTURES / "obi_one", folder)
    with h5py.File(folder / OBI_S1 / "edges.h5", "r+") as h5:
        dataset = h5[f"edges/{OBI_S1}/0/{prop}"]
        for row, value in zip(rows, values):
            dataset[row] = value
    return folder / "circuit_config.json"


def test_bad_input_is_a_typed_error_naming_the_key(scratch):
    obi = FIXTURES / "obi_one" / "circuit_config.json"
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", properties=["conductance", "conductanse"])
    assert error.value.path == "properties[1]"
    assert f"edge population '{OBI_S1}'" in str(error.value) and "edges.h5) has no property 'conductanse'" in str(error.value)
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "nosuch")
    assert error.value.path == "pathway_property" and "no edge population has 'nosuch'" in str(error.value)
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", populations=["POm__S1nonbarrel_neurons__chemical"])
    assert "source node population 'POm'" in str(error.value)
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", laws={"u_syn": "ztpoisson"})
    assert error.value.path.startswith("prop_stats.u_syn.") and error.value.path.endswith(".type")
    assert "ztpoisson cannot describe u_syn's values below 1" in str(error.value)
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", laws={"conductance": "gama"})
    assert error.value.path == "laws.conductance"
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", min_samples=100_000)
    assert error.value.path == "min_sample_size" and "no pathway has at least 100000 connection(s)" in str(error.value)
    with pytest.raises(ValueError, match="unknown fit mode 'best'"):
        synparam.fit(obi, "mtype", mode="best")
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", mode="empirical", settings={"keep_rows": True, "correlation_sample": 0})
    assert error.value.path == "keep_rows"
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", settings={"fold": 3})
    assert error.value.path == "settings.fold"
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(obi, "mtype", options={"correlation": True})
    assert error.value.path == "options.correlation"
    with pytest.raises(CircuitError, match="does not exist"):
        synparam.fit(scratch / "nothing" / "circuit_config.json", "mtype")


def test_nan_values_and_a_law_that_cannot_describe_the_data(scratch):
    with_nan = _copy_with(scratch, "nan", "u_syn", [5, 700], [np.nan, np.inf])
    with pytest.raises(synparam.InputError) as error:
        synparam.fit(with_nan, "mtype")
    assert str(error.value).endswith(f"edge population '{OBI_S1}' column u_syn: 2 value(s) are NaN or infinite (first: edge 5); a fit needs finite values")
    negative = _copy_with(scratch, "negative", "conductance", [3], [-2.0])
    with pytest.raises(synparam.ConfigError) as error:
        synparam.fit(negative, "mtype")
    assert error.value.path.endswith(".type") and "gamma cannot describe conductance's negative values (min -2" in str(error.value)
    # The same data fitted with a law that can describe them.
    model, _ = synparam.fit(negative, "mtype", laws={"conductance": "normal"})
    assert {spec["type"] for row in model["prop_stats"]["conductance"].values() for spec in row.values()} == {"normal"}


def test_lin_delay_round_trip_recovers_the_fitted_line(scratch):
    """Fit the fixture's delays by synapse_class (auto mode: least squares on every synapse),
    parameterize the circuit with that model, fit the output again: each pathway's slope comes back
    within 4.9 standard errors (α ≈ 1e-6 per pathway), its line at the mean distance likewise."""
    from synparam.dask import parameterize_circuit

    config = FIXTURES / "obi_one_geometry" / "circuit_config.json"
    keywords = {"pathway_property": "synapse_class", "populations": [OBI_S1], "laws": {"delay": "lin_delay"},
                "properties": ["delay"], "mode": "auto"}
    first = fit_here(config, **keywords)["model"]
    model = {**first, "prop_stats": {"delay": first["prop_stats"]["delay"]}}
    out = scratch / "lin-delay-round-trip"
    parameterize_circuit(config, model, out, seed=11, overwrite=True, populations=[OBI_S1])
    again = fit_here(out / "circuit_config.json", **keywords)
    data = json.loads(again["report_text"])
    assert data["pathways"], "pathways fitted"
    for source, targets in first["prop_stats"]["delay"].items():
        for target, spec in targets.items():
            refit = again["model"]["prop_stats"]["delay"][source][target]
            # The slope's standard error, std / √Σ(d − d̄)², bounded with the spread of distances the
            # fixture has (an sd ≥ 150 µm per pathway over > 300 synapses).
            se = spec["delay_std"] / (150.0 * np.sqrt(300.0))
            assert abs(refit["delay_mean_coeff_b"] - spec["delay_mean_coeff_b"]) < 4.9 * se, (source, target, spec, refit)
            at = 400.0
            line = lambda s: s["delay_mean_coeff_a"] + s["delay_mean_coeff_b"] * at
            assert abs(line(refit) - line(spec)) < 4.9 * (spec["delay_std"] / np.sqrt(300.0)) + 4.9 * se * abs(at - 400.0), (source, target)
            # The draw truncates below at delay_min, which the fit (as connectome-manipulator's)
            # does not model: where the line nears the minimum the refitted std comes out lower.
            assert 0.8 * spec["delay_std"] < refit["delay_std"] < 1.1 * spec["delay_std"], (source, target, spec, refit)
