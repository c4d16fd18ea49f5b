"""Fitting a ``ConnPropsModel`` from a SONATA circuit (issue #25): connectome-manipulator's
``extract`` + ``build``, computed by the Rust core, fed here from the circuit's files with h5py.

``synparam.fit(...)`` runs it in this process; :func:`synparam.dask.fit_circuit` spreads the
edge chunks over a Dask cluster. Both give the command's model bit for bit
(``node www/host/cli.mjs --fit``): the core decides what is fitted (``plan_fit``: edge populations,
properties and their kinds, from the facts read here), every chunk holds all the edges of its
target nodes (cut where the target changes after about ``chunk_rows`` edges, as the command cuts
them; the whole population when it is not sorted by target), each chunk is added to a fresh pass
state, and the chunks' states are merged in edge order — wherever they were computed.
"""
from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pyarrow as pa

from . import _synparam
from ._publish import storage_of
from .sonata import CircuitError, check_edge_columns, load_circuit, node_positions, node_property_values

__all__ = ["fit_circuit", "FIT_MODES", "CLASS_PROPERTY", "LAYER_PROPERTY", "build_options"]

#: The fit modes: connectome-manipulator's (``cm``), the law chosen by the data (``auto``) and
#: observed vectors drawn again (``empirical``): the core's ``FitMode::ALL`` by name (tests/fit.rs
#: checks that they agree), passed to the core.
FIT_MODES = ("cm", "auto", "empirical")
#: The node column a pathway value's class is read from (build's fallback levels).
CLASS_PROPERTY = "synapse_class"
#: The node column a pathway value's layer is read from.
LAYER_PROPERTY = "layer"
#: Rows of ``target_node_id`` read at a time to find where chunks are cut.
SCAN_ROWS = 1 << 20


def build_options(laws=None, mode="cm", options=None) -> dict:
    """``build``'s options: ``options`` (any of the core's ``BuildOptions``), ``laws`` merged into
    its laws, and the mode unless it is ``cm`` (the core names a mode it cannot build yet)."""
    if mode is not None and mode not in FIT_MODES:
        raise ValueError(f"unknown fit mode {mode!r} (choose one of {', '.join(FIT_MODES)})")
    merged = dict(options or {})
    if laws:
        merged["laws"] = {**merged.get("laws", {}), **dict(laws)}
    if mode and mode != "cm":
        merged["mode"] = mode
    return merged


def _population_facts(circuit, edges, pathway_property) -> dict:
    """What the core's ``plan_fit`` decides from: whether the nodes have the pathway property, and
    every dataset of each edge group with its storage type (None: not a column of numbers)."""
    def side(role):
        nodes = circuit.node_populations.get(getattr(edges, role))
        return {"population": getattr(edges, role), "file": nodes.shown if nodes else None,
                "has_pathway": bool(nodes is not None and pathway_property in nodes.properties)}

    groups = []
    with h5py.File(edges.real, "r") as h5:
        for group in edges.groups:
            members = h5[f"edges/{edges.name}/{group}"]
            datasets = [{"name": name, "storage": storage_of(members.get(name))}
                        for name in members.keys() if isinstance(members.get(name), h5py.Dataset)]
            groups.append({"group": group, "datasets": datasets})
    return {"name": edges.name, "file": edges.shown, "source": side("source"), "target": side("target"), "groups": groups}


def _refuse_unavailable(circuit, requested):
    """A fit that needs an edge population the circuit could not load is refused, naming it."""
    needed = [u for u in circuit.unavailable
              if u["kind"] == "edges" and (requested is None or (u["population"] is not None and u["population"] in requested))]
    if needed:
        loadable = ", ".join(circuit.edge_populations)
        what = (f"edge population{'' if len(needed) == 1 else 's'} {', '.join(repr(u['population']) for u in needed)} cannot be loaded"
                if requested else "a fit of every edge population needs edges that cannot be loaded")
        error = CircuitError(f"{what}: {'; '.join(u['message'] for u in needed)}"
                             + (f". Choose among the edge populations that can be loaded: {loadable}" if loadable else ""))
        error.unavailable = circuit.unavailable
        raise error


def _values(nodes, prop):
    """A node column as a pyarrow string array (None when the nodes lack it)."""
    values = node_property_values(nodes, prop) if prop in nodes.properties else None
    return None if values is None else pa.array(values, type=pa.string())


def _node_columns(circuit, edges, pathway_property, cache) -> dict:
    """One edge population's node columns: pathway values, synapse_class and layer per side."""
    columns = {}
    for role in ("source", "target"):
        nodes = circuit.node_populations.get(getattr(edges, role))
        if nodes is None:
            raise CircuitError(f"{role} node population '{getattr(edges, role)}' is not in the circuit", file=edges.shown, population=edges.name)
        for prop, key in ((pathway_property, "values"), (CLASS_PROPERTY, "class"), (LAYER_PROPERTY, "layer")):
            if (nodes.name, prop) not in cache:
                cache[(nodes.name, prop)] = _values(nodes, prop)
            columns[f"{role}_{key}"] = cache[(nodes.name, prop)]
        if columns[f"{role}_values"] is None:
            columns[f"{role}_values"] = pa.nulls(nodes.size, type=pa.string())
        columns[f"{role}_population"] = nodes.name
    return columns


def _add_population(fitter, name, columns, with_classes=True):
    fitter.add_population(
        name, columns["source_population"], columns["source_values"], columns["target_population"], columns["target_values"],
        columns["source_class"] if with_classes else None, columns["source_layer"] if with_classes else None,
        columns["target_class"] if with_classes else None, columns["target_layer"] if with_classes else None)
    if columns.get("positions") is not None:
        fitter.set_source_positions(name, *(pa.array(axis) for axis in columns["positions"]))


def chunk_starts(edges, rows):
    """Where the chunks of an edge population start, as the command cuts them (loader.js
    ``targetOrder``): at the first edge whose target differs from the previous edge's, once about
    ``rows`` edges were taken; ``([0], False)`` when the edges are not sorted by target."""
    if edges.size == 0:
        return [0], True
    changes = []
    previous = None
    with h5py.File(edges.real, "r") as h5:
        targets = h5[f"edges/{edges.name}/target_node_id"]
        for first in range(0, edges.size, SCAN_ROWS):
            block = np.asarray(targets[first:min(edges.size, first + SCAN_ROWS)])
            if np.any(block[1:] < block[:-1]) or (previous is not None and block[0] < previous):
                return [0], False
            changes.append(np.nonzero(block[1:] != block[:-1])[0] + first + 1)
            if previous is not None and block[0] != previous:
                changes.append(np.array([first]))
            previous = block[-1]
    changes = np.sort(np.concatenate(changes)) if changes else np.array([], dtype=np.int64)
    starts, cut = [0], rows
    while True:
        i = int(np.searchsorted(changes, cut, side="left"))
        if i >= len(changes):
            return starts, True
        starts.append(int(changes[i]))
        cut = starts[-1] + rows


def _group_column(values):
    return values.astype(np.int64) if values.dtype.kind == "f" else values


def edge_columns(h5, edges, names, start, end) -> list:
    """The values of edge properties ``names`` at edges ``[start, end)`` as float64 arrays, through
    the group columns (loader.js ``existingEdgeColumns``; NaN where an edge's group lacks one)."""
    base = h5[f"edges/{edges.name}"]
    n = end - start

    def contiguous(group, first):
        out = []
        for name in names:
            dataset = base.get(f"{group}/{name}")
            out.append(np.asarray(dataset[first:first + n], dtype=np.float64) if isinstance(dataset, h5py.Dataset) else np.full(n, np.nan))
        return out

    if not edges.has_group_ids:
        return contiguous("0", start)
    ids = _group_column(np.asarray(base["edge_group_id"][start:end]))
    index = _group_column(np.asarray(base["edge_group_index"][start:end]))
    if n > 0 and np.all(ids == ids[0]) and np.all(index == index[0] + np.arange(n)):
        return contiguous(str(int(ids[0])), int(index[0]))
    out = []
    for name in names:
        values = np.full(n, np.nan)
        for group in np.unique(ids):
            dataset = base.get(f"{int(group)}/{name}")
            if not isinstance(dataset, h5py.Dataset):
                continue
            mask = ids == group
            rows = index[mask].astype(np.int64)
            low, high = int(rows.min()), int(rows.max())
            values[mask] = np.asarray(dataset[low:high + 1], dtype=np.float64)[rows - low]
        out.append(values)
    return out


def fit_chunks(fitter, chunks, names, as_json=False):
    """Add each chunk ``(edge population, start, end)`` to a fresh state of the current pass, with
    the columns ``names[population]`` (the properties, then a lin_delay fit's distance datasets);
    returns the states in order (as JSON text with ``as_json``)."""
    states = []
    opened = {}
    try:
        for edges, start, end in chunks:
            if edges.real not in opened:
                opened[edges.real] = h5py.File(edges.real, "r")
            h5 = opened[edges.real]
            base = h5[f"edges/{edges.name}"]
            columns = [pa.array(c) for c in edge_columns(h5, edges, names[edges.name], start, end)]
            state = fitter.new_state()
            try:
                fitter.add_chunk(state, edges.name, pa.array(np.asarray(base["source_node_id"][start:end])),
                                 pa.array(np.asarray(base["target_node_id"][start:end])), start, columns)
            except _synparam.SynparamError as error:
                _name_file(error, edges.shown)
                raise
            states.append(state.to_json() if as_json else state)
    finally:
        for h5 in opened.values():
            h5.close()
    return states


def _name_file(error, shown):
    """A core error from a chunk, with the file it came from before its message."""
    if error.args and shown not in str(error.args[0]):
        error.args = (f"{shown}: {error.args[0]}", *error.args[1:])


def fit_partition(job, shared):
    """A Dask task: the chunks of one partition, each added to a fresh state of the pass the
    coordinator planned; returns their states as JSON text, in order."""
    fitter = _synparam.Fitter(job["settings"], job["pathway_property"])
    for name, columns in shared:
        _add_population(fitter, name, columns, with_classes=False)
    fitter.begin_pass(job["plan"])
    return fit_chunks(fitter, job["chunks"], job["names"], as_json=True)


class _Tasks:
    """The passes' chunk work: in this process (no client), or as Dask tasks, one per partition
    of consecutive chunks, their states merged by the caller in edge order."""

    def __init__(self, client, partition_rows):
        self.client = client
        self.partition_rows = partition_rows
        self.shared = None
        self.passes = 0

    def states(self, fitter, chunks, names, job, node_columns):
        """Every chunk's state of this pass, in edge order."""
        if self.client is None:
            yield from fit_chunks(fitter, chunks, names)
            return
        if self.shared is None:
            self.shared = self.client.scatter(node_columns, broadcast=False, hash=False)
        self.passes += 1
        partitions, current, rows = [], [], 0
        for chunk in chunks:
            current.append(chunk)
            rows += chunk[2] - chunk[1]
            if rows >= self.partition_rows:
                partitions.append(current)
                current, rows = [], 0
        if current:
            partitions.append(current)
        futures = [self.client.submit(fit_partition, {**job, "chunks": part}, self.shared, pure=False, retries=0,
                                      key=f"synparam-fit-pass{self.passes}-part{i}-{os.getpid()}-{id(self)}")
                   for i, part in enumerate(partitions)]
        try:
            for future in futures:
                for text in future.result():
                    yield _synparam.FitState.from_json(text)
        finally:
            for future in futures:
                future.cancel()


def _plan(circuit, pathway_property, properties, populations, min_samples, max_samples, seed, fallback, chunk_rows,
          settings, options, delay_bin_um=None) -> dict:
    """The core's plan of the fit from the circuit's facts (plan_fit), with the extra extraction
    ``settings`` and the build ``options`` checked."""
    if not pathway_property:
        raise ValueError("a fit needs a pathway property (e.g. mtype)")
    requested = list(populations) if populations is not None else None
    _refuse_unavailable(circuit, requested)
    request = {
        "pathway_property": pathway_property, "properties": list(properties) if properties is not None else None,
        "requested": requested,
        "populations": [_population_facts(circuit, edges, pathway_property) for edges in circuit.edge_populations.values()],
        "min_sample_size": min_samples, "max_sample_size": max_samples, "seed": int(seed or 0), "fallback_value": fallback,
        "chunk_rows": chunk_rows, "settings": dict(settings) if settings else None, "options": options,
        "delay_bin_um": delay_bin_um,
    }
    return json.loads(_synparam.plan_fit(json.dumps(request)))


def fit_circuit(circuit_config, *, pathway_property, properties=None, laws=None, mode="cm", min_samples=None,
                max_samples=None, seed=0, populations=None, fallback=None, chunk_rows=None, options=None, settings=None,
                client=None, partition_rows=None, delay_bin_um=None) -> dict:
    """Fit a model from the circuit of ``circuit_config``; see :func:`synparam.fit`. With a Dask
    ``client``, the chunks of each pass are fitted in tasks of about ``partition_rows`` edges
    (default: one task per chunk) and merged here in edge order: the same model, bit for bit.

    Returns ``{"model", "report", "model_text", "report_text", "settings", "populations",
    "not_fitted", "warnings", "passes", "chunk_rows"}``."""
    options = build_options(laws, mode, options)
    options_json = json.dumps(options)
    circuit = load_circuit(circuit_config)
    plan = _plan(circuit, pathway_property, properties, populations, min_samples, max_samples, seed, fallback, chunk_rows,
                 settings, options, delay_bin_um)
    settings_json = json.dumps(plan["settings"])
    fitter = _synparam.Fitter(settings_json, pathway_property)
    cache, node_columns = {}, []
    taken = [circuit.edge_populations[name] for name in plan["populations"]]
    for edges in taken:
        columns = _node_columns(circuit, edges, pathway_property, cache)
        if edges.name in plan["distance_reads"]:
            check_edge_columns(edges, plan["distance_reads"][edges.name])
            columns["positions"] = node_positions(circuit.node_populations[edges.source], edges.name)
        try:
            _add_population(fitter, edges.name, columns)
        except _synparam.SynparamError as error:
            _name_file(error, edges.shown)
            raise
        node_columns.append((edges.name, columns))
    warnings = [f"not loaded: {u['message']}" for u in circuit.unavailable] + plan["warnings"]
    chunks = []
    for edges in taken:
        starts, ordered = chunk_starts(edges, plan["chunk_rows"])
        if not ordered:
            warnings.append(f"edge population '{edges.name}' is not sorted by target: fitted as one chunk of {edges.size} edges (held in memory)")
        chunks += [(edges, start, end) for start, end in zip(starts, [*starts[1:], edges.size]) if end > start]
    properties = [p["name"] for p in plan["settings"]["properties"]]
    names = {edges.name: properties + plan["distance_reads"].get(edges.name, []) for edges in taken}
    tasks = _Tasks(client, partition_rows if partition_rows else 1)
    passes = 0
    while (pass_plan := fitter.next_pass()) is not None:
        passes += 1
        total = fitter.new_state()
        job = {"settings": settings_json, "pathway_property": pathway_property, "plan": pass_plan, "names": names}
        for state in tasks.states(fitter, chunks, names, job, node_columns):
            total.merge(state)
        fitter.finish_pass(total)
    fitter.finish()
    model_text, report_text = fitter.build(options_json)
    return {"model": json.loads(model_text), "report": json.loads(report_text), "model_text": model_text, "report_text": report_text,
            "settings": plan["settings"], "populations": plan["populations"], "not_fitted": plan["not_fitted"], "warnings": warnings,
            "passes": passes, "chunk_rows": plan["chunk_rows"]}
