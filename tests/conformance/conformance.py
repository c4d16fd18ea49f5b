"""Conformance of synparam with the peer implementation, connectome-manipulator's ConnPropsModel
driven by obi-one's original algorithm (group edges by connection, call get_model_output per
connection, write back).

For each case, both tools parameterize the same fixture; then, per property and pathway:
- constants must be exactly equal;
- continuous properties: two-sample KS on one value per connection (shared_within) or per synapse;
- discrete / integer properties: chi-square test of homogeneity of the value frequencies;
- correlated pairs: Fisher z-test of the difference of the Spearman correlations;
- shared_within structure (all synapses of a connection equal, or not), bounds and dtypes;
- every dataset we did not write is unchanged.
The family-wise significance is ALPHA; each of the m tests runs at ALPHA / m (Bonferroni).

A deliberately wrong model (conductance std doubled for synparam only) must make the check fail,
so the check is known to bite. Run with `make conformance` (part of `make test`); exit status 0
means every case agreed and the wrong model was caught.
"""

import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
from scipy import stats

from connectome_manipulator.model_building.model_types import ConnPropsModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "out")
ALPHA = 0.01


def load_preset(name):
    with open(os.path.join(ROOT, "www", "presets", name)) as f:
        return json.load(f)


def tm_with_correlation():
    model = load_preset("tsodyks_markram.json")
    matrix = [[1.0, 0.6], [0.6, 1.0]]
    model["prop_cov"] = {"props": ["conductance", "u_syn"], "cov": {s: {t: matrix for t in model["tgt_types"]} for s in model["src_types"]}}
    return model


def node_values(nodes_file, population, prop):
    with h5py.File(nodes_file, "r") as f:
        group = f[f"nodes/{population}/0"]
        raw = group[prop][:]
        if f"@library/{prop}" in group:
            library = [v.decode() if isinstance(v, bytes) else v for v in group[f"@library/{prop}"][:]]
            return np.array([library[c] for c in raw])
        return np.array([v.decode() if isinstance(v, bytes) else v for v in raw])


def peer_parameterize(edges_file, population, source_classes, target_classes, model_dict, seed):
    """obi-one's original loop: one get_model_output call per connection."""
    np.random.seed(seed)
    model = ConnPropsModel(**{k: model_dict[k] for k in ("src_types", "tgt_types", "prop_stats")}, prop_cov=model_dict.get("prop_cov", {}))
    with h5py.File(edges_file, "r") as f:
        source = f[f"edges/{population}/source_node_id"][:]
        target = f[f"edges/{population}/target_node_id"][:]
    frame = pd.DataFrame({"source": source, "target": target})
    values = {p: np.zeros(len(source)) for p in model.get_prop_names()}
    for (s, t), index in frame.groupby(["source", "target"]).indices.items():
        drawn = model.get_model_output(src_type=source_classes[s], tgt_type=target_classes[t], n_syn=len(index))
        for p in values:
            values[p][index] = drawn[p].to_numpy()
    return source, target, values


def ours_parameterize(circuit_config, population, model_dict, seed, pathway_property):
    out = tempfile.mkdtemp(prefix="synparam-conformance-")
    config_path = os.path.join(out, "model.json")
    with open(config_path, "w") as f:
        json.dump(model_dict, f)
    result_dir = os.path.join(out, "result")
    subprocess.run(["node", os.path.join(ROOT, "www", "host", "cli.mjs"), "--circuit", circuit_config, "--config", config_path,
                    "--out", result_dir, "--seed", str(seed), "--pathway-property", pathway_property,
                    "--populations", population, "--overwrite"], check=True, capture_output=True, text=True)
    return result_dir


def spearman(a, b):
    return stats.spearmanr(a, b).statistic


def compare(case, model_dict, ours_file, population, source, target, source_classes, target_classes, peer, input_file):
    """Return (list of (name, p-value or None for exact checks, passed)), checks run on one case."""
    checks = []
    connection_first = pd.DataFrame({"s": source, "t": target}).drop_duplicates().index.to_numpy()
    with h5py.File(ours_file, "r") as f:
        group = f[f"edges/{population}/0"]
        ours = {p: group[p][:] for p in peer}
        dtypes = {p: group[p].dtype for p in peer}
        with h5py.File(input_file, "r") as original:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and name.split("/")[-1] not in peer:
                    same = name in f and f[name].dtype == obj.dtype and np.array_equal(f[name][:], obj[:])
                    if not same:
                        checks.append((f"{case}: unchanged {name}", None, False))
            original.visititems(visit)
    correlated = model_dict.get("prop_cov", {}).get("props", [])
    pathway_of = np.array([f"{source_classes[s]}|{target_classes[t]}" for s, t in zip(source, target)])
    for prop, specs in model_dict["prop_stats"].items():
        for src_type, by_target in specs.items():
            for tgt_type, spec in by_target.items():
                in_pathway = pathway_of == f"{src_type}|{tgt_type}"
                if not in_pathway.any():
                    continue
                name = f"{case}: {prop} {src_type}→{tgt_type}"
                shared = spec.get("shared_within", True)
                rows = np.flatnonzero(in_pathway)
                sample_rows = np.intersect1d(rows, connection_first) if shared else rows
                a, b = ours[prop][sample_rows].astype(float), peer[prop][sample_rows].astype(float)
                kind = spec["type"]
                if kind in ("constant", "zero"):
                    # Compared at the storage precision: the peer's 0.7 written to a SONATA float32
                    # dataset is float32(0.7) too.
                    stored_peer = peer[prop][rows].astype(dtypes[prop])
                    checks.append((f"{name} exact", None, bool(np.array_equal(ours[prop][rows], stored_peer))))
                elif kind in ("discrete", "poisson", "ztpoisson") or spec.get("dtype") == "int":
                    levels = np.union1d(np.unique(a), np.unique(b))
                    table = np.array([[np.sum(a == v) for v in levels], [np.sum(b == v) for v in levels]])
                    p = stats.chi2_contingency(table).pvalue if len(levels) > 1 else 1.0
                    checks.append((f"{name} chi-square", p, None))
                else:
                    checks.append((f"{name} KS", stats.ks_2samp(a, b).pvalue, None))
                # shared_within structure in our output.
                frame = pd.DataFrame({"s": source[rows], "t": target[rows], "v": ours[prop][rows]})
                distinct = frame.groupby(["s", "t"])["v"].nunique()
                if shared:
                    checks.append((f"{name} shared within connections", None, bool((distinct == 1).all())))
                elif kind not in ("constant", "zero", "discrete") and (frame.groupby(["s", "t"]).size() > 1).any():
                    checks.append((f"{name} drawn per synapse", None, bool((distinct[frame.groupby(["s", "t"]).size() > 1] > 1).all())))
                lo = spec.get("lower_bound", spec.get("min") if kind == "truncnorm" else None)
                hi = spec.get("upper_bound", spec.get("max") if kind == "truncnorm" else None)
                values = ours[prop][rows].astype(float)
                tolerance = 1e-6 * max(1.0, abs(hi or 0), abs(lo or 0))  # float32 storage
                if lo is not None:
                    checks.append((f"{name} ≥ {lo}", None, bool((values >= lo - tolerance).all())))
                if hi is not None:
                    checks.append((f"{name} ≤ {hi}", None, bool((values <= hi + tolerance).all())))
    for prop in ours:
        expected = {"n_rrp_vesicles": "uint32", "syn_type_id": "uint32"}.get(prop, "float32")
        checks.append((f"{case}: {prop} stored as {expected}", None, str(dtypes[prop]) == expected))
    if len(correlated) == 2:
        for src_type in model_dict["src_types"]:
            for tgt_type in model_dict["tgt_types"]:
                rows = np.intersect1d(np.flatnonzero(pathway_of == f"{src_type}|{tgt_type}"), connection_first)
                if len(rows) < 20:
                    continue
                r_ours = spearman(ours[correlated[0]][rows], ours[correlated[1]][rows])
                r_peer = spearman(peer[correlated[0]][rows], peer[correlated[1]][rows])
                z = (np.arctanh(r_ours) - np.arctanh(r_peer)) / np.sqrt(2.0 / (len(rows) - 3))
                checks.append((f"{case}: Spearman {correlated[0]}~{correlated[1]} {src_type}→{tgt_type} ({r_ours:.3f} vs {r_peer:.3f})",
                               2 * stats.norm.sf(abs(z)), None))
    return checks


CASES = [
    # (name, circuit dir, edge population, source nodes file/pop, target nodes file/pop, pathway property, model)
    ("seed example", "synaptome_large", "synaptome_afferents", ("afferents.h5", "afferent_neurons"), ("nodes.h5", "synaptome"),
     "synapse_class", lambda: load_preset("seed_example.json")["pathway_param_dict"]),
    ("Tsodyks-Markram + prop_cov", "network", "S1__S1__chemical", ("nodes.h5", "S1"), ("nodes.h5", "S1"),
     "synapse_class", tm_with_correlation),
]


def run_case(case, ours_model=None):
    name, directory, population, (sfile, spop), (tfile, tpop), pathway_property, make_model = case
    model_dict = make_model()
    base = os.path.join(FIXTURES, directory)
    source_classes = node_values(os.path.join(base, sfile), spop, pathway_property)
    target_classes = node_values(os.path.join(base, tfile), tpop, pathway_property)
    edges_file = os.path.join(base, "edges.h5")
    source, target, peer = peer_parameterize(edges_file, population, source_classes, target_classes, model_dict, seed=1)
    result = ours_parameterize(os.path.join(base, "circuit_config.json"), population, ours_model or model_dict, 1, pathway_property)
    return compare(name, model_dict, os.path.join(result, "edges.h5"), population, source, target, source_classes, target_classes, peer, edges_file)


def verdict(checks):
    tested = [c for c in checks if c[1] is not None]
    per_test_alpha = ALPHA / max(1, len(tested))
    failures = []
    for name, p, passed in checks:
        ok = passed if p is None else p > per_test_alpha
        if not ok:
            failures.append((name, p))
    return tested, per_test_alpha, failures


def main():
    all_checks = [check for case in CASES for check in run_case(case)]
    tested, per_test_alpha, failures = verdict(all_checks)
    print(f"conformance: {len(all_checks)} checks, {len(tested)} statistical tests at alpha {ALPHA} / {len(tested)} = {per_test_alpha:.2e} each")
    for name, p, _ in sorted((c for c in all_checks if c[1] is not None), key=lambda c: c[1])[:5]:
        print(f"  smallest p-values: {p:.3g}  {name}")
    for name, p in failures:
        print(f"  FAILED: {name}" + (f" (p = {p:.3g})" if p is not None else ""))

    # The check must bite: doubling conductance's std for synparam alone has to be detected.
    wrong = load_preset("seed_example.json")["pathway_param_dict"]
    for by_target in wrong["prop_stats"]["conductance"].values():
        for spec in by_target.values():
            spec["std"] *= 2
    wrong_checks = run_case(CASES[0], ours_model=wrong)
    _, _, wrong_failures = verdict(wrong_checks)
    caught = [n for n, _ in wrong_failures if "conductance" in n]
    print(f"deliberately wrong model (conductance std doubled): {len(caught)} failing checks" + (f", e.g. {caught[0]}" if caught else " — NOT DETECTED"))

    passed = not failures and bool(caught)
    print(f"{len(all_checks) - len(failures)} passed, {len(failures) + (0 if caught else 1)} failed")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
