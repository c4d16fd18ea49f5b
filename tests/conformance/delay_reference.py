"""Reference for synparam's delay fit (`--fit-laws delay=lin_delay`): connectome-manipulator's own
`model_building/delay.py` (`extract` + `build`), run per pathway (source mtype × target mtype, all
neurons, no sampling) on a small BBP-like circuit with soma positions, synapse centres and delays,
written as JSON for `tests/delay_fit.rs` to compare with.

    .venv/bin/pip install scikit-learn      # delay.build's LinearRegression (not needed by CI)
    .venv/bin/python tests/conformance/delay_reference.py   # writes tests/fixtures/fit/delay_*.json

The circuit (numpy's default_rng(26)): 4 mtypes (L23_PC EXC 2, L4_SSC EXC 4, L5_TPC EXC 5, L5_LBC
INH 5), 50 nodes each with float32 soma positions (x, z in [0, 400] µm, y by layer), and one edge
population sorted by target then source. Per connection 1 + Poisson(3) synapses, each with a
float32 `afferent_center_x/y/z` near its target's soma, and a float32 `delay` = a + b·distance +
N(0, s) (clipped at 0.1 ms) with a, b, s per pathway — a linear law as BBP circuits show (r ≈ 0.8).
L5_LBC → L5_LBC has 4 connections only (below the fit's minimum of 10: filled from its fallback
level, which connectome-manipulator has no per-pathway counterpart of, so it has no reference).

What stands in for what connectome-manipulator imports (nothing of its code is changed):
bluepysnap's circuit (`edges[name]` with `.source`/`.target` node populations and
`.pathway_edges(source, target, properties)` in edge order; node populations with `.ids`,
`.positions(ids)` and `.to_libsonata` for `get_node_ids`' dict selection), `matplotlib`,
`progressbar`, `bluepysnap.*` and `sklearn.model_selection` (imported, not used). scikit-learn's
`LinearRegression` is the real one.
"""

import json
import os
import sys
import types

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from fit_reference import EdgePopulations, f32_text, install_stand_ins  # noqa: E402  (the stand-ins both references share)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "fit")

MTYPES = [("L23_PC", "EXC", 2), ("L4_SSC", "EXC", 4), ("L5_TPC", "EXC", 5), ("L5_LBC", "INH", 5)]
NODES_PER_MTYPE = 50
BIN_SIZE_UM = 50.0
MIN_SAMPLES = 10
SPARSE = ("L5_LBC", "L5_LBC")


class NodePopulation:
    """bluepysnap's NodePopulation, as far as delay.extract reads it."""

    def __init__(self, table):
        self.table = table

    def ids(self, group=None):
        return self.table.index.to_numpy()

    def positions(self, ids):
        return self.table.loc[np.asarray(ids), ["x", "y", "z"]]

    @property
    def to_libsonata(self):
        n = len(self.table)
        return types.SimpleNamespace(
            enumeration_names=[],
            select_all=lambda: types.SimpleNamespace(ranges=[(0, n)]),
            get_attribute=lambda key, selection: self.table[key].to_numpy(),
        )


class EdgePopulation:
    def __init__(self, nodes, table):
        self.source = nodes
        self.target = nodes
        self.table = table

    def pathway_edges(self, source, target, properties):
        mask = self.table["@source_node"].isin(source) & self.table["@target_node"].isin(target)
        return self.table.loc[mask.to_numpy(), properties]


def make_circuit(rng):
    rows = []
    for m, c, layer in MTYPES:
        for _ in range(NODES_PER_MTYPE):
            rows.append((m, c, layer, rng.uniform(0, 400), layer * 150 + rng.uniform(0, 150), rng.uniform(0, 400)))
    nodes = pd.DataFrame(rows, columns=["mtype", "synapse_class", "layer", "x", "y", "z"])
    for axis in "xyz":
        nodes[axis] = nodes[axis].astype(np.float32)
    by_mtype = {m: nodes.index[nodes["mtype"] == m].to_numpy() for m, _, _ in MTYPES}
    edges = []
    for i, (s, _, _) in enumerate(MTYPES):
        for j, (t, _, _) in enumerate(MTYPES):
            a, b, sd = 0.55 + 0.1 * i, 0.0025 + 0.0005 * j, 0.12 + 0.02 * (i + j)
            n_conn = 4 if (s, t) == SPARSE else int(rng.integers(40, 90))
            pairs = set()
            while len(pairs) < n_conn:
                pairs.add((int(rng.choice(by_mtype[s])), int(rng.choice(by_mtype[t]))))
            for src, tgt in sorted(pairs):
                for _ in range(1 + rng.poisson(3)):
                    centre = nodes.loc[tgt, ["x", "y", "z"]].to_numpy(np.float64) + rng.normal(0, 60, 3)
                    centre = centre.astype(np.float32)
                    soma = nodes.loc[src, ["x", "y", "z"]].to_numpy(np.float64)
                    distance = np.sqrt(np.sum((centre.astype(np.float64) - soma) ** 2))
                    delay = np.float32(max(0.1, a + b * distance + rng.normal(0, sd)))
                    edges.append((src, tgt, *centre, delay))
    table = pd.DataFrame(edges, columns=["@source_node", "@target_node", "afferent_center_x", "afferent_center_y", "afferent_center_z", "delay"])
    for col in ["afferent_center_x", "afferent_center_y", "afferent_center_z", "delay"]:
        table[col] = table[col].astype(np.float32)
    table = table.sort_values(["@target_node", "@source_node"], kind="stable").reset_index(drop=True)
    return nodes, table


def write_circuit(nodes, table, path):
    node_columns = {k: nodes[k].tolist() for k in ["mtype", "synapse_class"]}
    node_columns["layer"] = [str(int(x)) for x in nodes["layer"]]
    positions = ", ".join(f'"{a}": [{",".join(f32_text(v) for v in nodes[a])}]' for a in "xyz")
    columns = ", ".join(
        f'"{c}": [{",".join(f32_text(v) for v in table[c])}]'
        for c in ["afferent_center_x", "afferent_center_y", "afferent_center_z", "delay"]
    )
    with open(path, "w") as f:
        f.write('{"nodes": ' + json.dumps(node_columns)[:-1] + ", " + positions + "}, ")
        f.write('"edges": {"source": ' + json.dumps(table["@source_node"].astype(int).tolist()) + ", ")
        f.write('"target": ' + json.dumps(table["@target_node"].astype(int).tolist()) + ", ")
        f.write('"columns": {' + columns + "}}}\n")


def main():
    install_stand_ins(stub_sklearn=False)
    import sklearn
    from connectome_manipulator.model_building import delay

    rng = np.random.default_rng(26)
    nodes, table = make_circuit(rng)
    population = NodePopulation(nodes)
    circuit = types.SimpleNamespace(edges=EdgePopulations(default=EdgePopulation(population, table)))
    reference = {}
    for s, _, _ in MTYPES:
        for t, _, _ in MTYPES:
            if (s, t) == SPARSE:
                continue
            data = delay.extract(circuit, BIN_SIZE_UM, sel_src={"mtype": s}, sel_dest={"mtype": t})
            model = delay.build(**data, bin_size_um=BIN_SIZE_UM)
            params = model.get_param_dict()
            reference.setdefault(s, {})[t] = {
                "delay_mean_coeff_a": float(np.asarray(params["delay_mean_coeff_a"]).ravel()[0]),
                "delay_mean_coeff_b": float(np.asarray(params["delay_mean_coeff_b"]).ravel()[0]),
                "delay_std": float(np.asarray(params["delay_std"]).ravel()[0]),
                "delay_min": float(np.asarray(params["delay_min"]).ravel()[0]),
                "synapses": int(np.sum(data["dist_count"])),
                "bins_with_data": int(np.sum(data["dist_count"] > 0)),
            }
    os.makedirs(OUT, exist_ok=True)
    write_circuit(nodes, table, os.path.join(OUT, "delay_circuit.json"))
    out = {
        "settings": {"bin_size_um": BIN_SIZE_UM, "min_sample_size": MIN_SAMPLES, "sparse_pathway": list(SPARSE)},
        "lin_delay": reference,
        "versions": {"connectome_manipulator": "1.0.4", "numpy": np.__version__, "scikit_learn": sklearn.__version__, "pandas": pd.__version__},
    }
    with open(os.path.join(OUT, "delay_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{len(table)} synapses; wrote {OUT}/delay_circuit.json and delay_reference.json")


if __name__ == "__main__":
    main()
