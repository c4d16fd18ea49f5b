"""Reading SONATA circuits for synparam in Python (h5py), as the command reads them.

What a circuit config names (manifest variables, lexical normalization, paths relative to the
config's folder) and where every file goes in a parameterized copy are the core's
(``src/output/``, through ``synparam._synparam``); this module opens the files with h5py: node
populations and their properties (group ``0`` with ``@library`` enumerations, the
``node_types_file`` CSV), edge populations with their ``node_population`` attributes and
``edge_group_id``/``edge_group_index``; what cannot be loaded is listed, not silently dropped.
Names are the loader's: relative to the config's folder, or absolute.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np

from . import _synparam

__all__ = [
    "CircuitError", "Circuit", "NodePopulation", "EdgePopulation", "load_circuit", "node_property_values",
    "edge_datasets", "check_edge_columns", "read_edge_columns", "node_positions", "has_node_positions", "output_layout", "output_files", "printable",
]


class CircuitError(Exception):
    """A circuit that cannot be read or written as asked: names the file and, where known, the
    population or dataset (as the command's ``CircuitError``)."""

    def __init__(self, message, *, file=None, population=None, dataset=None):
        parts = [printable(file) if file else None, f"population '{printable(population)}'" if population else None,
                 f"dataset {printable(dataset)}" if dataset else None, message]
        super().__init__(": ".join(p for p in parts if p))
        self.file, self.population, self.dataset = file, population, dataset
        self.unavailable = None


_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """A name made safe to show on a terminal: control characters escaped (paths.js)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", str(text))


# ----------------------------------------------------------------------------- loader.js

def dataset_rows(dataset, where) -> int:
    """The rows of a one-dimensional dataset, as the core checks them against its file's size (a
    damaged or hostile file can claim 10¹² rows in a few kilobytes)."""
    from . import _synparam

    plist = dataset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    try:
        # The file's size bounds the storage, as for the command (h5wasm): one bound, one message.
        return _synparam.dataset_rows(list(dataset.shape or ()), dataset.dtype.itemsize, os.path.getsize(dataset.file.filename), filters)
    except ValueError as error:
        raise CircuitError(str(error), **where, dataset=dataset.name) from None


@dataclass
class NodePopulation:
    name: str
    file_name: str  # the loader's name
    shown: str
    real: str
    size: int
    type: str | None
    properties: list
    node_types: dict | None  # {"columns": [...], "rows": {id: {col: value}}}


@dataclass
class EdgePopulation:
    name: str
    file_name: str  # the loader's name of the edges file
    shown: str
    real: str
    size: int
    source: str
    target: str
    groups: list
    has_group_ids: bool


@dataclass
class Circuit:
    config_name: str
    config_text: str
    config_json: dict
    root: str  # real folder of the config
    references: list
    node_populations: dict = field(default_factory=dict)
    edge_populations: dict = field(default_factory=dict)
    unavailable: list = field(default_factory=list)

    def real(self, name: str) -> str:
        if re.match(r"^[a-z][a-z0-9+.-]*://", name, re.I) or name.startswith("//"):
            raise CircuitError("is a URL; synparam reads circuits from disk", file=name)
        return os.path.normpath(os.path.join(self.root, name))

    describe = real


def _parse_node_types(text: str, shown: str) -> dict:
    lines = [line for line in re.split(r"\r?\n", text) if line.strip()]
    if not lines:
        raise CircuitError("empty node types file", file=shown)
    header = lines[0].split()
    if "node_type_id" not in header:
        raise CircuitError("no node_type_id column", file=shown)
    id_column = header.index("node_type_id")
    rows = {}
    for i, line in enumerate(lines[1:]):
        cells = line.split()
        raw = cells[id_column] if id_column < len(cells) else None
        try:
            type_id = int(raw)
        except (TypeError, ValueError):
            raise CircuitError(f"line {i + 2}: node_type_id '{raw}' is not an integer", file=shown) from None
        rows[type_id] = {h: (None if j >= len(cells) or cells[j] == "NULL" else cells[j]) for j, h in enumerate(header)}
    return {"columns": [h for h in header if h != "node_type_id"], "rows": rows}


def _hdf5_reason(error) -> str:
    """HDF5's innermost reason, as the command shows it: h5py's "Unable to … (reason)" → reason."""
    text = str(error).split("\n")[0]
    match = re.search(r"\(([^()]*)\)\s*$", text)
    return printable((match.group(1) if match else text)[:300])


def _members(h5: h5py.File, path: str, where: dict) -> list:
    try:
        group = h5.get(path)
        if not isinstance(group, h5py.Group):
            raise CircuitError("missing", **where, dataset=f"/{path}")
        return list(group.keys())
    except CircuitError:
        raise
    except Exception as error:  # noqa: BLE001 - an HDF5 error (a damaged file), named
        raise CircuitError(f"cannot read HDF5 ({_hdf5_reason(error)})", **where, dataset=f"/{path}") from None


def _open_h5(real: str, shown: str) -> h5py.File:
    if not os.path.exists(real):
        raise CircuitError("does not exist", file=shown)
    if os.path.isdir(real):
        raise CircuitError("is a folder, not an HDF5 file", file=shown)
    try:
        return h5py.File(real, "r")
    except OSError as error:
        raise CircuitError(f"not a readable HDF5 file ({_hdf5_reason(error)})", file=shown) from None


def load_circuit(config_path) -> Circuit:
    """Load a circuit from its ``circuit_config.json`` as the command's loader does: node and edge
    populations (what cannot be read is listed in ``circuit.unavailable``, as
    ``{kind, file, name, population, message}``), and every path the config names
    (``circuit.references``, each with its resolved ``name``; None for an empty value)."""
    config_path = os.fspath(config_path)
    if not config_path.endswith(".json"):
        raise CircuitError("synparam.dask reads a circuit from its circuit_config.json", file=config_path)
    real_config = os.path.abspath(config_path)
    if not os.path.exists(real_config):
        raise CircuitError("does not exist", file=real_config)
    root = os.path.dirname(real_config)
    config_name = os.path.basename(real_config)
    with open(real_config, encoding="utf-8") as stream:
        text = stream.read()
    # What the config names, as the core reads it (paths resolved as libsonata resolves them).
    try:
        read = json.loads(_synparam.read_circuit_config(text, config_name))
    except ValueError as error:
        raise CircuitError(str(error), file=real_config) from None
    config = json.loads(text)
    references = [{"key_path": r["key_path"], "value": r["value"], "kind": r["kind"], "role": r["role"], "name": r["name"]}
                  for r in read["references"]]
    circuit = Circuit(config_name, text, config, root, references)
    load = _Load(circuit)
    try:
        for entry in read["node_files"]:
            _load_node_file(load, entry)
        for entry in read["edge_files"]:
            _load_edge_file(load, entry)
        _drop_edges_without_their_nodes(load)
        refusal = json.loads(_synparam.nothing_loads(len(circuit.edge_populations), json.dumps(load.unavailable_for_core())))
        if refusal is not None:
            if refusal["error"] is not None:
                raise load.error_by_key(refusal["error"])
            raise CircuitError(refusal["message"])
    finally:
        load.close_all()
    return circuit


class _Load:
    """What the steps of a load share: the circuit being filled, the HDF5 files open (one per name,
    or its error) and the node-types CSVs read (or their errors)."""

    def __init__(self, circuit):
        self.circuit = circuit
        self.shown = circuit.real
        self.opened: dict[str, h5py.File] = {}
        self.errors: dict[str, CircuitError] = {}
        self.node_types: dict[str, object] = {}
        self.failures: dict[str, Exception] = {}  # key → a read error the core hands back (loading.rs)
        self.error_of: list[Exception] = []  # per unavailable entry: the error behind it
        self.causes_of: dict[int, list[int]] = {}  # unavailable edge entry → the node entries behind it

    def record(self, kind, name, populations, error):
        """List what ``error`` keeps from loading (other errors are defects: raised)."""
        if not isinstance(error, CircuitError):
            raise error
        for population in populations or [None]:
            self.circuit.unavailable.append({"kind": kind, "file": self.shown(name), "name": name, "population": population, "message": str(error)})
            self.error_of.append(error)

    def fact(self, read):
        """``read()``'s value for the core, or ``{"failed": key}`` keeping its error."""
        try:
            return read()
        except CircuitError as error:
            key = f"read-{len(self.failures)}"
            self.failures[key] = error
            return {"failed": key}

    def problem(self, problem, where):
        """The core's problem (loading.rs ``Problem``) as the error to raise."""
        if problem["failed"]:
            return self.failures[problem["failed"]]
        return CircuitError(problem["message"], **where, **({"dataset": problem["dataset"]} if problem["dataset"] else {}))

    def unavailable_for_core(self):
        """The unavailable list as the core reads it: each entry's error by key, its causes by index."""
        keys = {}
        return [{"kind": u["kind"], "population": u["population"], "message": u["message"],
                 "error": keys.setdefault(id(self.error_of[i]), f"error-{len(keys)}"), "causes": self.causes_of.get(i, [])}
                for i, u in enumerate(self.circuit.unavailable)]

    def error_by_key(self, key):
        index = next(i for i, u in enumerate(self.unavailable_for_core()) if u["error"] == key)
        return self.error_of[index]

    def open(self, name):
        if name in self.errors:
            raise self.errors[name]
        if name not in self.opened:
            try:
                self.opened[name] = _open_h5(self.circuit.real(name), self.shown(name))
            except CircuitError as error:
                self.errors[name] = error
                raise
        return self.opened[name]

    def read_node_types(self, name):
        if name not in self.node_types:
            try:
                real = self.circuit.real(name)
                if not os.path.exists(real):
                    raise CircuitError("does not exist", file=self.shown(name))
                with open(real, encoding="utf-8") as stream:
                    self.node_types[name] = _parse_node_types(stream.read(), self.shown(name))
            except CircuitError as error:
                self.node_types[name] = error
        value = self.node_types[name]
        if isinstance(value, CircuitError):
            raise value
        return value

    def close_all(self):
        for h5 in self.opened.values():
            try:
                h5.close()
            except Exception:  # noqa: BLE001
                pass


def _load_node_file(load, entry):
    """Every node population of one node file that can be read, with its size and properties (its
    node-types CSV's columns too); what cannot is recorded."""
    shown, circuit = load.shown, load.circuit
    declared = entry["populations"]
    try:
        h5 = load.open(entry["name"])
        node_types = load.read_node_types(entry["node_types_file"]) if entry["node_types_file"] else None
        names = _members(h5, "nodes", {"file": shown(entry["name"])})
        answer = json.loads(_synparam.populations_to_load("nodes", list(declared) if declared else None, names, []))
        if "Err" in answer:
            raise CircuitError(answer["Err"], file=shown(entry["name"]))
    except CircuitError as error:
        load.record("nodes", entry["name"], list(declared) if declared else None, error)
        return
    for wanted in answer["Ok"]:
        name = wanted["name"]
        try:
            if wanted["problem"]:
                raise CircuitError(wanted["problem"], file=shown(entry["name"]))
            where = {"file": shown(entry["name"]), "population": name}
            members = _members(h5, f"nodes/{name}", where)
            group0 = _members(h5, f"nodes/{name}/0", where) if "0" in members else []
            h5_properties = [k for k in group0 if k not in ("@library", "dynamics_params")]

            def rows_of(dataset):
                obj = h5.get(f"nodes/{name}/{dataset}")
                return load.fact(lambda: dataset_rows(obj, where)) if isinstance(obj, h5py.Dataset) and obj.shape is not None else None

            rows = [rows_of("node_type_id"), rows_of("node_group_id"), rows_of(f"0/{h5_properties[0]}") if h5_properties else None]
            size = json.loads(_synparam.node_population_size(json.dumps(rows)))
            if "Err" in size:
                raise load.problem(size["Err"], where)
            properties = list(dict.fromkeys([*h5_properties, *(node_types["columns"] if node_types else [])]))
            kind = (declared or {}).get(name) or {}
            circuit.node_populations[name] = NodePopulation(
                name, entry["name"], shown(entry["name"]), circuit.real(entry["name"]), int(size["Ok"]),
                kind.get("type") if isinstance(kind, dict) else None, properties, node_types)
        except CircuitError as error:
            load.record("nodes", entry["name"], [name], error)


def _node_population_of(ids):
    """The ``node_population`` attribute of an edge population's source or target ids (None
    when it has none)."""
    value = ids.attrs.get("node_population")
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
        value = value.decode("utf-8") if isinstance(value, bytes) else value
    return value if isinstance(value, str) else None


def _load_edge_file(load, entry):
    """Every edge population of one edge file that can be read: its ids and group datasets checked
    by the core (one dimension, sizes the file can hold, lengths that agree, node populations
    named)."""
    shown, circuit = load.shown, load.circuit
    declared = entry["populations"]
    try:
        h5 = load.open(entry["name"])
        names = _members(h5, "edges", {"file": shown(entry["name"])})
        answer = json.loads(_synparam.populations_to_load("edges", list(declared) if declared else None, names, list(circuit.edge_populations)))
        if "Err" in answer:
            raise CircuitError(answer["Err"], file=shown(entry["name"]))
    except CircuitError as error:
        load.record("edges", entry["name"], list(declared) if declared else None, error)
        return
    for wanted in answer["Ok"]:
        name = wanted["name"]
        try:
            if wanted["problem"]:
                raise CircuitError(wanted["problem"], file=shown(entry["name"]))
            where = {"file": shown(entry["name"]), "population": name}
            base_path = f"edges/{name}"
            members = _members(h5, base_path, where)

            def dataset(key):
                obj = h5.get(f"{base_path}/{key}") if key in members else None
                return obj if isinstance(obj, h5py.Dataset) else None

            def rows_of(key):
                column = dataset(key)
                return load.fact(lambda: dataset_rows(column, where)) if column is not None else None

            def node_population_of(role):
                ids = dataset(f"{role}_node_id")
                return _node_population_of(ids) if ids is not None else None

            facts = {
                "name": name,
                "source_rows": rows_of("source_node_id"), "target_rows": rows_of("target_node_id"),
                "group_id_rows": rows_of("edge_group_id"), "group_index_rows": rows_of("edge_group_index"),
                "source_population": node_population_of("source"), "target_population": node_population_of("target"),
            }
            shape = json.loads(_synparam.check_edge_population(json.dumps(facts)))
            if "Err" in shape:
                raise load.problem(shape["Err"], where)
            shape = shape["Ok"]
            circuit.edge_populations[name] = EdgePopulation(
                name, entry["name"], shown(entry["name"]), circuit.real(entry["name"]), int(shape["size"]),
                shape["source"], shape["target"], [k for k in members if k.isdigit()], shape["has_group_ids"])
        except CircuitError as error:
            load.record("edges", entry["name"], [name], error)


def _drop_edges_without_their_nodes(load):
    """An edge population is loaded only with both its node populations: else it is recorded,
    naming the node population it needs and why that one failed (the core's reason)."""
    circuit = load.circuit
    loaded = [{"name": e.name, "source": e.source, "target": e.target} for e in circuit.edge_populations.values()]
    dropped = json.loads(_synparam.edges_without_their_nodes(json.dumps(loaded), list(circuit.node_populations), json.dumps(load.unavailable_for_core())))
    for entry in dropped:
        edges = circuit.edge_populations.pop(entry["name"])
        load.record("edges", edges.file_name, [edges.name], CircuitError(entry["message"], file=edges.shown, population=edges.name))
        if entry["causes"]:
            load.causes_of[len(circuit.unavailable) - 1] = entry["causes"]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def node_property_kind(population: NodePopulation, prop: str) -> str:
    """What a node property is, as the command's loader says (``nodePropertyKind``):
    ``"categorical"`` (text, an ``@library`` table, or a node_types column of words), ``"integer"``
    or ``"float"``."""
    with h5py.File(population.real, "r") as h5:
        dataset = h5.get(f"nodes/{population.name}/0/{prop}")
        if isinstance(dataset, h5py.Dataset):
            if isinstance(h5.get(f"nodes/{population.name}/0/@library/{prop}"), h5py.Dataset):
                return "categorical"
            return {"i": "integer", "u": "integer", "f": "float"}.get(dataset.dtype.kind, "categorical")
    words = [row.get(prop) for row in (population.node_types or {}).get("rows", {}).values()]
    words = [w for w in words if w is not None]
    if words and all(re.fullmatch(r"[-+]?\d+", w) for w in words):
        return "integer"
    if words and all(_is_number(w) for w in words):
        return "float"
    return "categorical"


def _is_number(word: str) -> bool:
    try:
        return word.strip() != "" and math.isfinite(float(word))
    except ValueError:
        return False


def node_property_values(population: NodePopulation, prop: str):
    """Values of a node property for every node, as the command reads them: a list of strings
    (None where a node lacks it), or None when the population does not have the property.
    ``@library`` codes are mapped through their table; numbers are written as JS writes them."""
    where = {"file": population.shown, "population": population.name, "dataset": f"/nodes/{population.name}/0/{prop}"}
    with h5py.File(population.real, "r") as h5:
        dataset = h5.get(f"nodes/{population.name}/0/{prop}")
        if isinstance(dataset, h5py.Dataset):
            raw = dataset[()]
            if getattr(raw, "shape", None) is None or len(raw) != population.size:
                raise CircuitError(f"has {len(raw) if hasattr(raw, '__len__') else None} values for {population.size} nodes", **where)
            library = h5.get(f"nodes/{population.name}/0/@library/{prop}")
            if isinstance(library, h5py.Dataset):
                words = [_text(w) for w in library[()]]
                codes = np.asarray(raw).astype(np.int64)
                if len(codes) and (codes.min() < 0 or codes.max() >= len(words)):
                    bad = codes[(codes < 0) | (codes >= len(words))][0]
                    raise CircuitError(f"@library code {bad} outside its {len(words)} values", **where)
                return [words[c] for c in codes.tolist()]
            if raw.dtype.kind in "fc":
                return [_synparam.number_text(v) for v in raw.tolist()]
            if raw.dtype.kind == "b":
                return ["true" if v else "false" for v in raw.tolist()]
            return [_text(v) for v in raw.tolist()]
        if population.node_types and prop in population.node_types["columns"]:
            type_ids = h5.get(f"nodes/{population.name}/node_type_id")
            if not isinstance(type_ids, h5py.Dataset):
                raise CircuitError("no node_type_id dataset to look the node types up by", file=population.shown, population=population.name)
            rows = population.node_types["rows"]
            return [(rows.get(int(i)) or {}).get(prop) for i in type_ids[()].tolist()]
    return None


# ----------------------------------------------------------------------------- edge attributes

def edge_datasets(edges: EdgePopulation) -> list[str]:
    """The datasets every group of an edge population has (``afferent_center_x``, …): what a
    model's edge attributes can read, as the core's ``plan_edge_attributes`` takes it."""
    where = {"file": edges.shown, "population": edges.name}
    with h5py.File(edges.real, "r") as h5:
        common = None
        for group in edges.groups:
            members = _members(h5, f"edges/{edges.name}/{group}", where)
            names = [m for m in members if isinstance(h5.get(f"edges/{edges.name}/{group}/{m}"), h5py.Dataset)]
            common = names if common is None else [n for n in common if n in names]
    return common or []


def check_edge_columns(edges: EdgePopulation, datasets, layout=None) -> None:
    """Refuse, before anything is drawn, planned attribute datasets that cannot be read as numbers
    for every edge: not one-dimensional, not numeric, or of another length than their group has
    edges — the rows per group of ``layout`` (the core's checked group layout, as a plan returns
    it), or, without one, the population's size when it has no group columns (row = edge id)."""
    where = {"file": edges.shown, "population": edges.name}
    if layout is not None:
        rows_of = dict((g, r) for g, r in layout["explicit"]["groups"]) if "explicit" in layout else {0: layout["identity"]["rows"]}
    else:
        rows_of = {} if edges.has_group_ids else {0: edges.size}
    with h5py.File(edges.real, "r") as h5:
        for group in edges.groups:
            for name in datasets:
                dataset = h5[f"edges/{edges.name}/{group}/{name}"]
                rows = dataset_rows(dataset, where)
                if dataset.dtype.kind not in "iufb":
                    raise CircuitError(f"holds {dataset.dtype} values, not numbers: it cannot be an edge attribute", **where, dataset=dataset.name)
                wanted = rows_of.get(int(group))
                if wanted is not None and rows != wanted:
                    raise CircuitError(f"has {rows} values for the {wanted} edges of group {group}", **where, dataset=dataset.name)


def read_edge_columns(base, datasets, first, last, group_ids=None, group_index=None, where=None) -> list:
    """The values of ``datasets`` (names in the edge groups of ``base``, an open
    ``/edges/<population>`` group) for edges ``first … last - 1``, as float64 numpy arrays in edge
    order: h5py slices of group ``0`` at the edges' rows, or, with the chunk's group columns, each
    group's rows gathered (one slice per group, from its first to its last row)."""
    columns = []
    for name in datasets:
        if group_ids is None:
            columns.append(np.asarray(base[f"0/{name}"][first:last], dtype=np.float64))
            continue
        values = np.empty(last - first, dtype=np.float64)
        for group in np.unique(group_ids):
            mask = group_ids == group
            rows = np.asarray(group_index[mask], dtype=np.int64)
            dataset = base[f"{int(group)}/{name}"]
            low, high = int(rows.min()), int(rows.max()) + 1
            if high > dataset.shape[0]:
                raise CircuitError(f"has {dataset.shape[0]} rows; edge_group_index reaches row {high - 1}", **(where or {}), dataset=dataset.name)
            values[mask] = np.asarray(dataset[low:high], dtype=np.float64)[rows - low]
        columns.append(values)
    return columns


POSITION_AXES = ("x", "y", "z")


def has_node_positions(population: NodePopulation) -> bool:
    """Whether ``population`` has soma positions (``x``, ``y``, ``z`` of group ``0``), without
    reading them (loader.js ``nodePositions`` with ``read: false``)."""
    with h5py.File(population.real, "r") as h5:
        return all(isinstance(h5.get(f"nodes/{population.name}/0/{axis}"), h5py.Dataset) for axis in POSITION_AXES)


def node_positions(population: NodePopulation, needed_by: str):
    """The soma positions (``x``, ``y``, ``z`` of group ``0``, µm) of every node of ``population``
    as float64 numpy arrays: what ``distance_soma`` of edge population ``needed_by`` is measured
    from. A population without them (a virtual one) is refused, naming the file, the population
    and the datasets it lacks."""
    where = {"file": population.shown, "population": population.name}
    with h5py.File(population.real, "r") as h5:
        found = {axis: h5.get(f"nodes/{population.name}/0/{axis}") for axis in POSITION_AXES}
        missing = [f"/nodes/{population.name}/0/{axis}" for axis, d in found.items() if not isinstance(d, h5py.Dataset)]
        if missing:
            raise CircuitError(f"missing: edge population '{printable(needed_by)}' reads distance_soma, which needs the source nodes' "
                               "positions (x, y, z); run it without distance_soma or leave this edge population out",
                               **where, dataset=", ".join(missing))
        axes = []
        for axis in POSITION_AXES:
            dataset = found[axis]
            rows = dataset_rows(dataset, where)
            if rows != population.size or dataset.dtype.kind not in "iuf":
                raise CircuitError(f"has {rows} {dataset.dtype} values for {population.size} nodes (positions must be numbers, one per node)",
                                   **where, dataset=dataset.name)
            axes.append(np.asarray(dataset[()], dtype=np.float64))
    return tuple(axes)


# ----------------------------------------------------------------------------- circuit_output.js

EXTERNAL_DIR = "external"


def output_layout(circuit: Circuit) -> dict:
    """Where each file of ``circuit`` goes in the output, as the core decides it:
    ``{"entries": [{input, output, kind, role}], "config": {input, output, text, rewritten},
    "unset": [keyPath]}``."""
    request = {"config": {"name": circuit.config_name, "text": circuit.config_text}}
    try:
        return json.loads(_synparam.output_layout(json.dumps(request)))
    except ValueError as error:
        raise CircuitError(str(error)) from None


def output_files(layout: dict, *, written=frozenset()) -> list[dict]:
    """Every file of the output circuit and where it comes from, as the core lists it:
    ``[{"output", "from": "config" | "written" | "input", "entry"?, "file"?}]``; the entries carry
    what was found (``present``, ``kind``, a folder's ``files`` as ``{"relative", …}``)."""
    entries = layout["entries"]
    listed = [e.get("files", []) if e.get("present", True) and e["kind"] == "dir" else [] for e in entries]
    found = [{"present": e.get("present", True) is not False, "kind": e["kind"], "files": [f["relative"] for f in listed[i]]}
             for i, e in enumerate(entries)]
    core_layout = {"entries": [{k: e[k] for k in ("input", "output", "kind", "role")} for e in entries],
                   "config": layout["config"], "unset": layout.get("unset", [])}
    try:
        plan = json.loads(_synparam.output_files(json.dumps(core_layout), json.dumps(found), sorted(written)))
    except ValueError as error:
        raise CircuitError(str(error)) from None
    files = []
    for item in plan:
        file = {"output": item["output"], "from": item["from"]}
        if item["entry"] is not None:
            file["entry"] = entries[item["entry"]]
        if item["file"] is not None:
            file["file"] = listed[item["entry"]][item["file"]]
        files.append(file)
    return files
