"""What a careful numpy user writes to parameterize a circuit with the Tsodyks–Markram model: the
baseline `make bench-e2e` compares synparam with (issue 13).

    .venv/bin/python benches/numpy_baseline.py CIRCUIT_DIR OUT_EDGES_H5 [--model www/presets/tsodyks_markram.json]

Copies the edges file, reads the node classes and the edge ids with h5py, finds the connections
(one np.unique over source × target), draws every property per pathway vectorized with numpy's
Generator (one value per connection, as `shared_within` says; truncnorm by scipy's vectorized
sampler), gathers them onto the synapses and writes each column into the copy. Same model, same
semantics, not the same random numbers. Prints the wall time.
"""

import argparse
import json
import shutil
import time

import h5py
import numpy as np
from scipy import stats

STORAGE = {"n_rrp_vesicles": np.uint32, "syn_type_id": np.uint32}


def draw(rng, spec, n):
    kind = spec["type"]
    if kind == "constant":
        return np.full(n, float(spec["mean"]))
    if kind == "gamma":
        shape = (spec["mean"] / spec["std"]) ** 2
        return rng.gamma(shape, spec["std"] ** 2 / spec["mean"], n)
    if kind == "truncnorm":
        loc, scale = spec["norm_loc"], spec["norm_scale"]
        a, b = (spec["min"] - loc) / scale, (spec["max"] - loc) / scale
        return stats.truncnorm.rvs(a, b, loc=loc, scale=scale, size=n, random_state=rng)
    if kind == "discrete":
        return rng.choice(np.asarray(spec["val"], dtype=float), size=n, p=spec["p"])
    if kind == "normal":
        return rng.normal(spec["mean"], spec["std"], n)
    raise ValueError(f"not in the baseline: {kind}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("circuit")
    parser.add_argument("out")
    parser.add_argument("--model", default="www/presets/tsodyks_markram.json")
    args = parser.parse_args()
    started = time.perf_counter()
    model = json.load(open(args.model))
    model = model.get("pathway_param_dict", model)
    rng = np.random.default_rng(1)
    shutil.copyfile(f"{args.circuit}/edges.h5", args.out)
    with h5py.File(f"{args.circuit}/nodes.h5", "r") as nodes:
        codes = nodes["nodes/cortex/0/synapse_class"][:]
        library = [v.decode() if isinstance(v, bytes) else v for v in nodes["nodes/cortex/0/@library/synapse_class"][:]]
    node_class = np.array([model["src_types"].index(library[c]) for c in range(len(library))])[codes]
    with h5py.File(args.out, "r+") as f:
        pop = f["edges/cortex__cortex__chemical"]
        source = pop["source_node_id"][:]
        target = pop["target_node_id"][:]
        n_targets = len(model["tgt_types"])
        pathway = node_class[source] * n_targets + node_class[target]
        # One draw per connection: the synapses of a connection share their values.
        keys = source.astype(np.uint64) * np.uint64(len(node_class)) + target.astype(np.uint64)
        unique_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        connection_pathway = pathway[first]
        group = pop["0"]
        for prop, by_source in model["prop_stats"].items():
            values = np.empty(len(unique_keys))
            for s, source_type in enumerate(model["src_types"]):
                for t, target_type in enumerate(model["tgt_types"]):
                    spec = by_source[source_type][target_type]
                    members = np.flatnonzero(connection_pathway == s * n_targets + t)
                    values[members] = draw(rng, spec, len(members))
            column = values[inverse]
            if by_source[model["src_types"][0]][model["tgt_types"][0]].get("dtype") == "int":
                column = np.rint(column)
            group.create_dataset(prop, data=column.astype(STORAGE.get(prop, np.float32)))
    print(f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
