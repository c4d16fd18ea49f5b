"""Generate the benchmark networks of `make bench-e2e`: a BBP-style circuit of N synapses (100 k
neurons by default, ~4 synapses per connection, edges sorted by target, edge_group_id /
edge_group_index present, the usual morphology columns in group 0), written with h5py.

    .venv/bin/python benches/make_network.py OUT_DIR --synapses 10000000 [--neurons 100000] [--geometry]

Deterministic (fixed seed). 10 M synapses give a ~590 MB edges.h5, as in issue 13.

By default the somata (x, y, z: float64) and the synapses (afferent_center_x/y/z: float32) are
independent uniform points in a 1 mm cube. `--geometry` writes, as BBP circuits hold them, float32
somata in a column (radius 250 µm, 1 mm tall) and each synapse on its target's dendrites (within
5–200 µm of the target soma), so the distance from the presynaptic soma to the synapse (what
`distance_soma`, hence `lin_delay`, reads) spans tens of µm to ~1 mm; every other dataset (ids,
groups, node properties, the other edge columns) is bit for bit the default network's.
"""

import argparse
import json
import os

import h5py
import numpy as np

STRING = h5py.string_dtype("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--synapses", type=int, default=10_000_000)
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--geometry", action="store_true", help="float32 somata in a column and synapses on their targets' dendrites (see above)")
    args = parser.parse_args()
    rng = np.random.default_rng(20261130)
    # The geometry's own stream: the default stream draws what it always drew (and the default
    # positions are drawn and discarded), so every other dataset stays the default network's.
    geometry = np.random.default_rng(20261131) if args.geometry else None
    n_nodes = args.neurons
    os.makedirs(args.out, exist_ok=True)

    # Nodes: synapse_class (80 % EXC) and mtype through unsorted @library tables, as BBP writes them.
    mtypes = np.array(["L5_TPC:A", "L23_PC", "L4_SSC", "L5_MC", "L23_LBC", "L6_BPC"], dtype=object)
    mtype_codes = rng.choice(len(mtypes), n_nodes, p=[0.3, 0.3, 0.2, 0.08, 0.07, 0.05]).astype(np.uint32)
    inhibitory = np.isin(mtypes[mtype_codes], ["L5_MC", "L23_LBC", "L6_BPC"])
    with h5py.File(f"{args.out}/nodes.h5", "w") as f:
        pop = f.create_group("nodes/cortex")
        pop.create_dataset("node_type_id", data=np.full(n_nodes, -1, dtype=np.int64))
        g0 = pop.create_group("0")
        g0.create_dataset("synapse_class", data=np.where(inhibitory, 0, 1).astype(np.uint32))
        g0.create_dataset("@library/synapse_class", data=np.array(["INH", "EXC"], dtype=object), dtype=STRING)
        g0.create_dataset("mtype", data=mtype_codes)
        g0.create_dataset("@library/mtype", data=mtypes, dtype=STRING)
        default_somata = [rng.random(n_nodes) * 1000 for _ in "xyz"]
        somata = column_somata(geometry, n_nodes) if geometry else default_somata
        for axis, values in zip("xyz", somata):
            g0.create_dataset(axis, data=values)

    # Connections: per target, a Poisson number of sources; per connection 1 + Poisson(3) synapses.
    mean_synapses = 4.0
    connections_per_target = 1.05 * args.synapses / mean_synapses / n_nodes  # a margin, trimmed below
    per_target = rng.poisson(connections_per_target, n_nodes)
    targets_c = np.repeat(np.arange(n_nodes, dtype=np.uint64), per_target)
    sources_c = rng.integers(0, n_nodes, len(targets_c)).astype(np.uint64)
    synapses_c = 1 + rng.poisson(mean_synapses - 1, len(targets_c))
    # Trim or pad the last connections so the total is exact.
    total = np.cumsum(synapses_c)
    keep = np.searchsorted(total, args.synapses, side="left") + 1
    synapses_c = synapses_c[:keep]
    synapses_c[-1] -= int(total[keep - 1] - args.synapses)
    targets_c, sources_c = targets_c[:keep], sources_c[:keep]
    source = np.repeat(sources_c, synapses_c)
    target = np.repeat(targets_c, synapses_c)
    n = len(source)
    assert n == args.synapses, (n, args.synapses)

    with h5py.File(f"{args.out}/edges.h5", "w") as f:
        pop = f.create_group("edges/cortex__cortex__chemical")
        for key, ids in (("source_node_id", source), ("target_node_id", target)):
            d = pop.create_dataset(key, data=ids)
            d.attrs.create("node_population", "cortex", dtype=STRING)
        pop.create_dataset("edge_type_id", data=np.full(n, -1, dtype=np.int64))
        pop.create_dataset("edge_group_id", data=np.zeros(n, dtype=np.uint16))
        pop.create_dataset("edge_group_index", data=np.arange(n, dtype=np.uint64))
        g0 = pop.create_group("0")
        centers = [(rng.random(n) * 1000).astype(np.float32) for _ in "xyz"]
        if geometry:
            centers = dendritic_centers(geometry, somata, target)
            distance = np.sqrt(sum((c.astype(np.float64) - s[source]) ** 2 for c, s in zip(centers, somata)))
            p = np.percentile(distance, [0, 1, 50, 99, 100])
            print(f"distance from the presynaptic soma (µm): min {p[0]:.1f}, 1 % {p[1]:.0f}, median {p[2]:.0f}, 99 % {p[3]:.0f}, max {p[4]:.0f}")
        for axis, values in zip("xyz", centers):
            g0.create_dataset(f"afferent_center_{axis}", data=values)
        g0.create_dataset("afferent_section_id", data=rng.integers(1, 500, n).astype(np.int32))
        g0.create_dataset("afferent_section_pos", data=rng.random(n).astype(np.float32))
        g0.create_dataset("afferent_segment_offset", data=(rng.random(n) * 5).astype(np.float32))
        # Indices, target_to_source: every target's edges are one contiguous range.
        starts = np.concatenate([[0], np.cumsum(np.bincount(target.astype(np.int64), minlength=n_nodes))])
        ranges = np.stack([starts[:-1], starts[1:]], axis=1).astype(np.uint64)
        nonempty = ranges[:, 1] > ranges[:, 0]
        node_to_range = np.zeros((n_nodes, 2), dtype=np.uint64)
        positions = np.cumsum(nonempty) - 1
        node_to_range[nonempty, 0] = positions[nonempty]
        node_to_range[nonempty, 1] = positions[nonempty] + 1
        index = pop.create_group("indices/target_to_source")
        index.create_dataset("node_id_to_ranges", data=node_to_range)
        index.create_dataset("range_to_edge_id", data=ranges[nonempty])

    with open(f"{args.out}/circuit_config.json", "w") as f:
        json.dump({"manifest": {"$BASE_DIR": "./"}, "networks": {
            "nodes": [{"nodes_file": "$BASE_DIR/nodes.h5", "populations": {"cortex": {"type": "biophysical"}}}],
            "edges": [{"edges_file": "$BASE_DIR/edges.h5", "populations": {"cortex__cortex__chemical": {"type": "chemical"}}}]}}, f, indent=2)
    print(f"{args.out}: {n} synapses in {len(targets_c)} connections, {n_nodes} neurons, edges.h5 {os.path.getsize(f'{args.out}/edges.h5') / 1e6:.0f} MB")


def column_somata(rng, n_nodes):
    """x, y, z (float32, µm) of somata uniform in a column of radius 250 µm, 1,000 µm along y."""
    radius = 250 * np.sqrt(rng.random(n_nodes))
    angle = rng.random(n_nodes) * 2 * np.pi
    return [(radius * np.cos(angle)).astype(np.float32), (rng.random(n_nodes) * 1000).astype(np.float32),
            (radius * np.sin(angle)).astype(np.float32)]


def dendritic_centers(rng, somata, target):
    """afferent_center_x/y/z (float32) of each synapse: its target's soma plus a random direction
    times 5–200 µm (a dendrite's reach)."""
    n = len(target)
    direction = rng.normal(size=(3, n))
    direction *= (5 + 195 * rng.random(n)) / np.linalg.norm(direction, axis=0)
    return [(s[target] + d).astype(np.float32) for s, d in zip(somata, direction)]


if __name__ == "__main__":
    main()
