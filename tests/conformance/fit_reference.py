"""Reference for synparam's fit (issue #25): connectome-manipulator's own `conn_props.extract` and
`conn_props.build`, run on a small BBP-like circuit, written next to that circuit as JSON for
`tests/fit.rs` to compare with.

    .venv/bin/python tests/conformance/fit_reference.py        # writes tests/fixtures/fit/*.json

The circuit (deterministic: numpy's default_rng(25)): 7 mtypes with their synapse_class and layer
(L23_PC EXC 2, L23_LBC INH 2, L4_SSC EXC 4, L5_TPC:A and L5_TPC:B EXC 5, L5_LBC INH 5, L6_BPC
INH 6), 40 nodes each, and one edge population sorted by target, then source. Per connection
(1 + Poisson(2.5) synapses) Tsodyks-Markram values as BBP circuits hold them, in float32:
conductance, u_syn, depression_time, facilitation_time (gamma / truncated normal, one value per
connection), decay_time (per connection from excitatory sources onto excitatory targets, per
synapse otherwise), conductance per synapse from L5_LBC, and in uint32 n_rrp_vesicles (1 +
Poisson(1.5) per connection; the constant 1 from inhibitory sources, which makes it "not shared")
and syn_type_id (113 / 7). Pathways are chosen so that every fallback level of `build` is used:
inhibitory → inhibitory has no connection at all (level 4), L6_BPC → excitatory none (level 3),
L5_TPC:B → inhibitory none (level 2), L23_PC → L6_BPC none (level 1), L4_SSC → L5_TPC:B only 5
connections, below the minimum of 10 (level 0); four pathways have more than 40 connections, the
maximum of the subsampled run.

What stands in for what connectome-manipulator normally imports (nothing of its code is changed):
- bluepysnap's circuit: `Circuit.edges.population_names`, `edges[name]` with `.source`/`.target`
  node populations, `.property_names` and `.pathway_edges(source_ids, target_ids, properties)`
  (rows in edge-id order, columns `@source_node`, `@target_node` and the properties, as
  bluepysnap returns them); node populations with `.ids(None | {"mtype": m})` (sorted ids),
  `.get(ids, properties=name)` (a pandas Series indexed by node id) and `.to_libsonata` (only
  `enumeration_names` and `select_all()` are read, by `get_node_ids` with no selection);
- modules imported by connectome-manipulator but not used by `extract`/`build` without
  cross-validation or plots: `bluepysnap.sonata_constants`, `bluepysnap.utils`,
  `sklearn.model_selection`, `matplotlib.pyplot` and `progressbar` (a pass-through ProgressBar).

Outputs (under tests/fixtures/fit/):
- circuit.json: nodes (mtype, synapse_class, layer per node id) and edges (source, target, and per
  property its kind and values; float32 values are written as their shortest float32 text, so a
  reader parses them as f64 and rounds to f32);
- reference.json: the settings, connectome-manipulator's model (`prop_stats`, `src_types`,
  `tgt_types`), its extracted statistics per pathway and property (mean, std, min, max, norm_loc,
  norm_scale, shared_within, val/cnt, histogram counts), and the same statistics from a second
  run with max_sample_size_per_group = 40 (np.random subsample, seed 7531), plus the versions.
"""

import json
import os
import sys
import types

import numpy as np
import pandas as pd
import scipy

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "fit")

MTYPES = [
    ("L23_PC", "EXC", 2),
    ("L23_LBC", "INH", 2),
    ("L4_SSC", "EXC", 4),
    ("L5_TPC:A", "EXC", 5),
    ("L5_TPC:B", "EXC", 5),
    ("L5_LBC", "INH", 5),
    ("L6_BPC", "INH", 6),
]
NODES_PER_MTYPE = 40
PROPERTIES = [
    ("conductance", "float32"),
    ("u_syn", "float32"),
    ("depression_time", "float32"),
    ("facilitation_time", "float32"),
    ("decay_time", "float32"),
    ("n_rrp_vesicles", "int"),
    ("syn_type_id", "int"),
]
MIN_SAMPLES = 10
MAX_SAMPLES = 40
SEED = 7531
DISTR_TYPES = {
    "conductance": "gamma",
    "u_syn": "truncnorm",
    "depression_time": "gamma",
    "facilitation_time": "gamma",
    "decay_time": "truncnorm",
    "n_rrp_vesicles": "discrete",
    "syn_type_id": "constant",
    "n_syn_per_conn": "discrete",
}
DATA_TYPES = {"n_rrp_vesicles": "int", "syn_type_id": "int", "n_syn_per_conn": "int"}


def install_stand_ins(stub_sklearn=True):
    """Modules connectome-manipulator imports at module level but extract/build never use
    (scikit-learn too unless ``stub_sklearn`` is false: delay.build needs the real one)."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    unused = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stand-in: not used by extract/build"))
    mpl = module("matplotlib")
    mpl.pyplot = module("matplotlib.pyplot")
    module("progressbar", ProgressBar=lambda *a, **k: (lambda iterable: iterable))
    snap = module("bluepysnap")
    snap.sonata_constants = module("bluepysnap.sonata_constants", Node=object, DYNAMICS_PREFIX="@dynamics:")
    snap.utils = module("bluepysnap.utils", add_dynamic_prefix=unused, euler2mat=unused, quaternion2mat=unused)
    if stub_sklearn:
        sk = module("sklearn")
        sk.model_selection = module("sklearn.model_selection", KFold=unused)


class NodePopulation:
    """bluepysnap's NodePopulation, as far as extract reads it."""

    def __init__(self, table):
        self.table = table

    def ids(self, group=None):
        if group is None:
            return self.table.index.to_numpy()
        mask = np.ones(len(self.table), bool)
        for key, value in group.items():
            mask &= (self.table[key] == value).to_numpy()
        return self.table.index.to_numpy()[mask]

    def get(self, ids, properties):
        return self.table.loc[np.asarray(ids), properties]

    @property
    def to_libsonata(self):
        return types.SimpleNamespace(enumeration_names=[], select_all=lambda: None)


class EdgePopulation:
    """bluepysnap's EdgePopulation, as far as extract reads it."""

    def __init__(self, nodes, table):
        self.source = nodes
        self.target = nodes
        self.table = table
        self.property_names = set(table.columns) - {"@source_node", "@target_node"}

    def pathway_edges(self, source, target, properties):
        mask = self.table["@source_node"].isin(source) & self.table["@target_node"].isin(target)
        return self.table.loc[mask.to_numpy(), properties]


class EdgePopulations(dict):
    """bluepysnap's `circuit.edges`: populations by name."""

    @property
    def population_names(self):
        return list(self.keys())


def make_circuit(rng):
    """Nodes and target-sorted edges with Tsodyks-Markram values (see the module doc)."""
    rows = [(m, c, layer) for m, c, layer in MTYPES for _ in range(NODES_PER_MTYPE)]
    order = rng.permutation(len(rows))  # node ids not grouped by mtype
    nodes = pd.DataFrame([rows[i] for i in order], columns=["mtype", "synapse_class", "layer"])
    by_mtype = {m: nodes.index[nodes["mtype"] == m].to_numpy() for m, _, _ in MTYPES}
    classes = {m: c for m, c, _ in MTYPES}
    edges = []
    for s, s_class, _ in MTYPES:
        for t, t_class, _ in MTYPES:
            n_conn = connections(s, s_class, t, t_class, rng)
            pairs = set()
            while len(pairs) < n_conn:
                a, b = rng.choice(by_mtype[s]), rng.choice(by_mtype[t])
                if a != b:
                    pairs.add((int(a), int(b)))
            for a, b in sorted(pairs):
                edges.extend(connection_edges(a, b, classes[s], classes[t], s, rng))
    table = pd.DataFrame(edges, columns=["@source_node", "@target_node"] + [p for p, _ in PROPERTIES])
    table = table.sort_values(["@target_node", "@source_node"], kind="stable").reset_index(drop=True)
    for p, kind in PROPERTIES:
        table[p] = table[p].astype(np.float32 if kind == "float32" else np.uint32)
    return nodes, table


def connections(s, s_class, t, t_class, rng):
    if s_class == "INH" and t_class == "INH":
        return 0  # level 4
    if s == "L6_BPC":
        return 0  # level 3
    if s == "L5_TPC:B" and t_class == "INH":
        return 0  # level 2
    if (s, t) == ("L23_PC", "L6_BPC"):
        return 0  # level 1
    if (s, t) == ("L4_SSC", "L5_TPC:B"):
        return 5  # level 0 (below the minimum)
    if (s, t) in [("L23_PC", "L23_PC"), ("L5_TPC:A", "L5_TPC:A"), ("L4_SSC", "L23_PC"), ("L23_LBC", "L23_PC")]:
        return int(rng.integers(55, 80))  # subsampled in the second run
    return int(rng.integers(12, 36))


def gamma(rng, mean, std):
    return rng.gamma((mean / std) ** 2, std**2 / mean)


def connection_edges(a, b, s_class, t_class, s, rng):
    n = 1 + rng.poisson(2.5)
    exc = s_class == "EXC"
    g = gamma(rng, 1.0 if exc else 2.0, 0.45)
    u = float(np.clip(rng.normal(0.5 if exc else 0.25, 0.1), 0.05, 0.95))
    d = gamma(rng, 620.0 if exc else 700.0, 140.0 if exc else 250.0)
    f = gamma(rng, 18.0, 6.0)
    tau = rng.normal(1.7, 0.2) if exc else rng.normal(8.3, 1.5)
    nrrp = 1 + rng.poisson(1.5) if exc else 1
    rows = []
    for _ in range(n):
        g_k = gamma(rng, 2.0, 0.6) if s == "L5_LBC" else g
        tau_k = tau if (exc and t_class == "EXC") else (rng.normal(1.7, 0.2) if exc else rng.normal(8.3, 1.5))
        rows.append((a, b, g_k, u, d, f, tau_k, nrrp, 113 if exc else 7))
    return rows


def run_cm(nodes, table, max_samples):
    from connectome_manipulator.model_building import conn_props

    population = NodePopulation(nodes)
    edges = EdgePopulation(population, table)
    circuit = types.SimpleNamespace(edges=EdgePopulations(default=edges))
    np.random.seed(SEED)
    data = conn_props.extract(
        circuit,
        min_sample_size_per_group=MIN_SAMPLES,
        max_sample_size_per_group=max_samples,
        sel_props=[p for p, _ in PROPERTIES],
    )
    model = conn_props.build(**data, distr_types=DISTR_TYPES, data_types=DATA_TYPES)
    return data, model


def statistics(data):
    """Per pathway (with data) and property: what extract stored."""
    out = {}
    m_src, m_tgt = data["m_types"]
    spc, cpd = data["syns_per_conn_data"], data["conn_prop_data"]

    def sample(d, idx):
        if not np.isfinite(d["mean"][idx]):
            return None
        val = d["val"][idx]
        return {
            "mean": float(d["mean"][idx]),
            "std": float(d["std"][idx]),
            "min": float(d["min"][idx]),
            "max": float(d["max"][idx]),
            "norm_loc": float(d["norm_loc"][idx]),
            "norm_scale": float(d["norm_scale"][idx]),
            "hist": [int(c) for c in d["hist"][idx][0]],
            "val": [float(v) for v in val] if len(val) else None,
            "cnt": [int(c) for c in d["cnt"][idx]] if len(val) else None,
        }

    for si, s in enumerate(m_src):
        for ti, t in enumerate(m_tgt):
            nsyn = sample(spc, (si, ti))
            if nsyn is None:
                continue
            props = {}
            for pi, p in enumerate(data["syn_props"]):
                props[p] = sample(cpd, (si, ti, pi))
                props[p]["shared_within"] = bool(cpd["shared_within"][si, ti, pi])
            out[f"{s}|{t}"] = {"n_syn_per_conn": nsyn, "properties": props}
    return out


def f32_text(v):
    """The shortest text that reads back (through f64, then f32) as this float32."""
    text = np.format_float_positional(np.float32(v), unique=True, trim="-")
    if float(np.float32(float(text))) != float(np.float32(v)):
        text = repr(float(np.float32(v)))
    return text


def write_circuit(nodes, table, path):
    columns = []
    for p, kind in PROPERTIES:
        values = table[p].to_numpy()
        texts = [f32_text(v) for v in values] if kind == "float32" else [str(int(v)) for v in values]
        columns.append(f'"{p}": {{"kind": "{kind}", "values": [{",".join(texts)}]}}')
    nodes_json = json.dumps({k: [x if isinstance(x, str) else int(x) for x in nodes[k]] for k in nodes.columns})
    with open(path, "w") as f:
        f.write('{"nodes": ' + nodes_json + ', "edges": {')
        f.write('"source": ' + json.dumps(table["@source_node"].astype(int).tolist()) + ", ")
        f.write('"target": ' + json.dumps(table["@target_node"].astype(int).tolist()) + ", ")
        f.write('"columns": {' + ", ".join(columns) + "}}}\n")


def main():
    install_stand_ins()
    import connectome_manipulator

    rng = np.random.default_rng(25)
    nodes, table = make_circuit(rng)
    os.makedirs(OUT, exist_ok=True)
    write_circuit(nodes, table, os.path.join(OUT, "circuit.json"))

    data, model = run_cm(nodes, table, None)
    sub_data, _ = run_cm(nodes, table, MAX_SAMPLES)
    classes = {
        side: {m: {"class": c, "layer": str(layer)} for m, c, layer in MTYPES if m in data["m_types"][i]}
        for i, side in enumerate(["source", "target"])
    }
    reference = {
        "settings": {
            "min_sample_size": MIN_SAMPLES,
            "max_sample_size_subsampled": MAX_SAMPLES,
            "seed": SEED,
            "distr_types": DISTR_TYPES,
            "data_types": DATA_TYPES,
            "properties": [{"name": p, "kind": k} for p, k in PROPERTIES],
            "classes": classes,
        },
        "model": {"src_types": model.src_types, "tgt_types": model.tgt_types, "prop_stats": model.prop_stats},
        "extract": statistics(data),
        "extract_subsampled": statistics(sub_data),
        "versions": {
            "connectome_manipulator": connectome_manipulator.__version__ if hasattr(connectome_manipulator, "__version__") else "1.0.4",
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
        },
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=None, separators=(",", ":"))
        f.write("\n")
    n_edges = len(table)
    print(f"{n_edges} synapses, {len(reference['extract'])} pathways with data; wrote {OUT}")


if __name__ == "__main__":
    main()
