"""Reading SONATA circuits for synparam in Python (h5py), as the command reads them.

A port of the command's ``www/sonata/paths.js`` (manifest variables, lexical normalization, paths
relative to the config's folder), the parts of ``loader.js`` a run needs (node populations and
their properties: group ``0`` with ``@library`` enumerations, the ``node_types_file`` CSV; edge
populations with their ``node_population`` attributes and ``edge_group_id``/``edge_group_index``;
what cannot be loaded is listed, not silently dropped), and ``circuit_output.js`` (where every file
of the circuit goes in a parameterized copy, and the config rewritten only where a path must
change). Names are the loader's: relative to the config's folder, or absolute.
"""
from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np

from ._jsjson import js_number

__all__ = [
    "CircuitError", "Circuit", "NodePopulation", "EdgePopulation", "load_circuit", "normalize_path",
    "expand_manifest", "resolve_config_path", "path_references", "node_property_values",
    "output_layout", "output_files", "printable",
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


# ----------------------------------------------------------------------------- paths.js

def normalize_path(path: str) -> str:
    absolute = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        elif part != ".." or not absolute:
            parts.append(part)
    return ("/" if absolute else "") + "/".join(parts)


def join_path(base: str, path: str) -> str:
    if path.startswith("/") or not base:
        return normalize_path(path)
    return normalize_path(f"{base}/{path}")


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def is_url(value: str) -> bool:
    return bool(_URL.match(value)) or value.startswith("//")


def is_outside(name: str) -> bool:
    return name.startswith("/") or name == ".." or name.startswith("../") or is_url(name)


def is_within(inner: str, outer: str) -> bool:
    if outer == "":
        return not is_outside(inner)
    return inner == outer or inner.startswith(outer if outer.endswith("/") else outer + "/")


def folder_of(name: str) -> str:
    slash = name.rfind("/")
    return "" if slash < 0 else "/" if slash == 0 else name[:slash]


_VARIABLE = re.compile(r"\$[A-Za-z0-9_]+")


def expand_manifest(manifest=None) -> dict:
    manifest = {} if manifest is None else manifest
    if not isinstance(manifest, dict):
        raise ValueError('manifest must be an object of "$NAME": path entries')
    values = {"$BASE_DIR": ".", **manifest}
    for name, value in values.items():
        if not re.fullmatch(r"\$[A-Za-z0-9_]*", name):
            raise ValueError(f"manifest: '{name}' is not a variable name ($ followed by letters, digits or _)")
        if not isinstance(value, str):
            raise ValueError(f"manifest: {name} must be a string, got {json.dumps(value)}")
    expanded: dict[str, str] = {}

    def expand(name, chain):
        if name in expanded:
            return expanded[name]
        if name in chain:
            raise ValueError(f"manifest: variables refer to each other in a cycle ({' → '.join([*chain, name])})")

        def inner(m):
            ref = m.group(0)
            if ref not in values:
                raise ValueError(f"manifest: {name} refers to the unknown variable {ref}")
            return expand(ref, [*chain, name])

        text = _VARIABLE.sub(inner, values[name])
        expanded[name] = text
        return text

    for name in values:
        expand(name, [])
    return expanded


def resolve_config_path(value: str, variables: dict, base: str = ""):
    if value == "":
        return None
    if is_url(value):
        return value
    if "\\" in value:
        raise ValueError(f"'{printable(value)}' contains a backslash; SONATA paths use /")

    def sub(m):
        if m.group(0) not in variables:
            raise ValueError(f"unknown manifest variable {m.group(0)} in '{value}'")
        return variables[m.group(0)]

    return join_path(base, _VARIABLE.sub(sub, value))


def path_references(config: dict) -> list[dict]:
    """Every path a circuit config names (loader.js ``pathReferences``)."""
    found = []
    roles = {"nodes_file": "nodes", "node_types_file": "node_types", "edges_file": "edges",
             "edge_types_file": "edge_types", "node_sets_file": "node_sets"}

    def visit(obj, key_path, context=None):
        if not isinstance(obj, dict):
            return
        for key, value in obj.items():
            here = [*key_path, key]
            if isinstance(value, str) and (context or re.search(r"_(file|dir|mesh)$", key)):
                role = roles.get(key, "other")
                kind = "dir" if key.endswith("_dir") or (context == "alternate_morphologies" and key != "h5v1") else "file"
                found.append({"key_path": here, "value": value, "kind": kind, "role": role})
            elif isinstance(value, dict):
                sub = key if key == "alternate_morphologies" or (key == "provenance" and key_path and key_path[-1] == "components") else None
                visit(value, here, sub)

    if isinstance(config.get("node_sets_file"), str):
        found.append({"key_path": ["node_sets_file"], "value": config["node_sets_file"], "kind": "file", "role": "node_sets"})
    visit(config.get("components"), ["components"])
    for kind in ("nodes", "edges"):
        entries = (config.get("networks") or {}).get(kind) if isinstance(config.get("networks"), dict) else None
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                visit(entry, ["networks", kind, i])
    return found


# ----------------------------------------------------------------------------- loader.js

def dataset_rows(dataset, where) -> int:
    """The rows of a one-dimensional dataset, as the core checks them against the storage HDF5
    allocated to it (a damaged or hostile file can claim 10¹² rows in a few kilobytes)."""
    from . import _synparam

    plist = dataset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    try:
        return _synparam.dataset_rows(list(dataset.shape or ()), dataset.dtype.itemsize, dataset.id.get_storage_size(), filters)
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
        if is_url(name):
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


def _members(h5: h5py.File, path: str, where: dict) -> list:
    try:
        group = h5.get(path)
    except Exception as error:  # noqa: BLE001 - an HDF5 error, named
        raise CircuitError(f"cannot read HDF5 ({error})", **where, dataset=f"/{path}") from None
    if not isinstance(group, h5py.Group):
        raise CircuitError("missing", **where, dataset=f"/{path}")
    return list(group.keys())


def _open_h5(real: str, shown: str) -> h5py.File:
    if not os.path.exists(real):
        raise CircuitError("does not exist", file=shown)
    if os.path.isdir(real):
        raise CircuitError("is a folder, not an HDF5 file", file=shown)
    try:
        return h5py.File(real, "r")
    except OSError as error:
        raise CircuitError(f"not a readable HDF5 file ({error})", file=shown) from None


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
    try:
        config = json.loads(text)
    except ValueError as error:
        raise CircuitError(f"not valid JSON ({error})", file=real_config) from None
    if not isinstance(config, dict):
        raise CircuitError("the circuit config must be a JSON object", file=real_config)
    try:
        variables = expand_manifest(config.get("manifest") or {})
    except ValueError as error:
        raise CircuitError(str(error), file=real_config) from None
    base = folder_of(normalize_path(config_name))

    def resolve(value, key_path):
        try:
            return resolve_config_path(value, variables, base)
        except ValueError as error:
            raise CircuitError(f"{'.'.join(map(str, key_path))}: {error}", file=real_config) from None

    references = [{**r, "name": resolve(r["value"], r["key_path"])} for r in path_references(config)]
    circuit = Circuit(config_name, text, config, root, references)
    shown = circuit.real
    unavailable = circuit.unavailable

    def record(kind, name, populations, error):
        if not isinstance(error, CircuitError):
            raise error
        for population in populations or [None]:
            unavailable.append({"kind": kind, "file": shown(name), "name": name, "population": population, "message": str(error)})

    node_files, edge_files = [], []
    networks = config.get("networks") or {}
    for kind, out in (("nodes", node_files), ("edges", edge_files)):
        entries = networks.get(kind) or []
        if not isinstance(entries, list):
            raise CircuitError(f"networks.{kind} must be a list", file=real_config)
        for i, entry in enumerate(entries):
            key = f"{kind}_file"
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str) or entry[key] == "":
                raise CircuitError(f"networks.{kind}.{i}.{key}: must name a file", file=real_config)
            types = entry.get("node_types_file") if kind == "nodes" else None
            pops = entry.get("populations")
            out.append({
                "name": resolve(entry[key], ["networks", kind, i, key]),
                "node_types": resolve(types, ["networks", kind, i, "node_types_file"]) if isinstance(types, str) and types else None,
                "populations": pops if isinstance(pops, dict) else None,
            })

    opened: dict[str, h5py.File] = {}
    errors: dict[str, CircuitError] = {}

    def open_named(name):
        if name in errors:
            raise errors[name]
        if name not in opened:
            try:
                opened[name] = _open_h5(circuit.real(name), shown(name))
            except CircuitError as error:
                errors[name] = error
                raise
        return opened[name]

    node_types_cache: dict[str, object] = {}

    def read_node_types(name):
        if name not in node_types_cache:
            try:
                real = circuit.real(name)
                if not os.path.exists(real):
                    raise CircuitError("does not exist", file=shown(name))
                with open(real, encoding="utf-8") as stream:
                    node_types_cache[name] = _parse_node_types(stream.read(), shown(name))
            except CircuitError as error:
                node_types_cache[name] = error
        value = node_types_cache[name]
        if isinstance(value, CircuitError):
            raise value
        return value

    try:
        for entry in node_files:
            try:
                h5 = open_named(entry["name"])
                node_types = read_node_types(entry["node_types"]) if entry["node_types"] else None
                names = _members(h5, "nodes", {"file": shown(entry["name"])})
                if not names:
                    raise CircuitError("no node population under /nodes", file=shown(entry["name"]))
            except CircuitError as error:
                record("nodes", entry["name"], list(entry["populations"]) if entry["populations"] else None, error)
                continue
            wanted = list(entry["populations"]) if entry["populations"] else names
            for name in wanted:
                try:
                    if name not in names:
                        raise CircuitError(f"the config names node population '{printable(name)}', which the file does not have (it has: {', '.join(map(printable, names))})", file=shown(entry["name"]))
                    where = {"file": shown(entry["name"]), "population": name}
                    members = _members(h5, f"nodes/{name}", where)
                    group0 = _members(h5, f"nodes/{name}/0", where) if "0" in members else []

                    def size_of(dataset):
                        obj = h5.get(f"nodes/{name}/{dataset}")
                        return dataset_rows(obj, where) if isinstance(obj, h5py.Dataset) and obj.shape is not None else None

                    size = size_of("node_type_id")
                    if size is None:
                        size = size_of("node_group_id")
                    h5_properties = [k for k in group0 if k not in ("@library", "dynamics_params")]
                    if size is None and h5_properties:
                        size = size_of(f"0/{h5_properties[0]}")
                    if size is None:
                        raise CircuitError("cannot tell the number of nodes (no node_type_id dataset)", **where)
                    properties = list(dict.fromkeys([*h5_properties, *(node_types["columns"] if node_types else [])]))
                    kind = (entry["populations"] or {}).get(name) or {}
                    circuit.node_populations[name] = NodePopulation(
                        name, entry["name"], shown(entry["name"]), circuit.real(entry["name"]), int(size),
                        kind.get("type") if isinstance(kind, dict) else None, properties, node_types)
                except CircuitError as error:
                    record("nodes", entry["name"], [name], error)

        for entry in edge_files:
            try:
                h5 = open_named(entry["name"])
                names = _members(h5, "edges", {"file": shown(entry["name"])})
                if not names:
                    raise CircuitError("no edge population under /edges", file=shown(entry["name"]))
            except CircuitError as error:
                record("edges", entry["name"], list(entry["populations"]) if entry["populations"] else None, error)
                continue
            wanted = list(entry["populations"]) if entry["populations"] else names
            for name in wanted:
                try:
                    if name not in names:
                        raise CircuitError(f"the config names edge population '{printable(name)}', which the file does not have (it has: {', '.join(map(printable, names))})", file=shown(entry["name"]))
                    if name in circuit.edge_populations:
                        raise CircuitError(f"edge population '{printable(name)}' is named twice in the circuit", file=shown(entry["name"]))
                    where = {"file": shown(entry["name"]), "population": name}
                    base_path = f"edges/{name}"
                    members = _members(h5, base_path, where)

                    def dataset(key):
                        obj = h5.get(f"{base_path}/{key}") if key in members else None
                        return obj if isinstance(obj, h5py.Dataset) else None

                    source_ids, target_ids = dataset("source_node_id"), dataset("target_node_id")
                    if source_ids is None:
                        raise CircuitError("missing", **where, dataset=f"/{base_path}/source_node_id")
                    if target_ids is None:
                        raise CircuitError("missing", **where, dataset=f"/{base_path}/target_node_id")
                    size = dataset_rows(source_ids, where)
                    target_rows = dataset_rows(target_ids, where)
                    if target_rows != size:
                        raise CircuitError(f"length mismatch: source_node_id has {size} entries, target_node_id {target_rows}", **where)
                    group_ids, group_index = dataset("edge_group_id"), dataset("edge_group_index")
                    if (group_ids is None) != (group_index is None):
                        raise CircuitError("has only one of edge_group_id and edge_group_index", **where)
                    for column, label in ((group_ids, "edge_group_id"), (group_index, "edge_group_index")):
                        rows = dataset_rows(column, where) if column is not None else size
                        if rows != size:
                            raise CircuitError(f"length mismatch: {label} has {rows} entries, source_node_id {size}", **where)

                    def node_population_of(ids, role):
                        value = ids.attrs.get("node_population")
                        if isinstance(value, bytes):
                            value = value.decode("utf-8")
                        if isinstance(value, np.ndarray) and value.shape == ():
                            value = value[()]
                            value = value.decode("utf-8") if isinstance(value, bytes) else value
                        if not isinstance(value, str) or not value:
                            raise CircuitError(f"{role}_node_id has no node_population attribute", **where)
                        return value

                    circuit.edge_populations[name] = EdgePopulation(
                        name, entry["name"], shown(entry["name"]), circuit.real(entry["name"]), int(size),
                        node_population_of(source_ids, "source"), node_population_of(target_ids, "target"),
                        [k for k in members if k.isdigit()], group_ids is not None)
                except CircuitError as error:
                    record("edges", entry["name"], [name], error)

        failed_nodes = [u for u in unavailable if u["kind"] == "nodes"]
        for edges in list(circuit.edge_populations.values()):
            role = next((r for r in ("source", "target") if getattr(edges, r) not in circuit.node_populations), None)
            if role is None:
                continue
            needed = getattr(edges, role)
            named = [u for u in failed_nodes if u["population"] == needed]
            unknown = [u for u in failed_nodes if u["population"] is None]
            if named:
                reason = f"needs its {role} node population '{printable(needed)}', which cannot be loaded ({'; '.join(u['message'] for u in named)})"
            elif unknown:
                reason = f"needs its {role} node population '{printable(needed)}', which is in none of the loaded node files; it may be in one that cannot be loaded ({'; '.join(u['message'] for u in unknown)})"
            else:
                reason = f"needs its {role} node population '{printable(needed)}', which no node file of the circuit holds"
            del circuit.edge_populations[edges.name]
            record("edges", edges.file_name, [edges.name], CircuitError(reason, file=edges.shown, population=edges.name))
        if not circuit.edge_populations and unavailable:
            failed = [u for u in unavailable if u["kind"] == "edges"] or unavailable
            raise CircuitError(f"no edge population can be loaded: {'; '.join(u['message'] for u in failed)}")
    finally:
        for h5 in opened.values():
            try:
                h5.close()
            except Exception:  # noqa: BLE001
                pass
    return circuit


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


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
                return [js_number(v) for v in raw.tolist()]
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


# ----------------------------------------------------------------------------- circuit_output.js

EXTERNAL_DIR = "external"


def safe_output_path(output: str) -> str:
    path = normalize_path(output)
    unsafe = (not path or path.startswith("/") or any(p in ("..", ".", "") for p in path.split("/"))
              or re.search(r"[\\\u0000-\u001f\u007f]", path) or re.match(r"^[a-z]:", path, re.I))
    if unsafe:
        raise CircuitError(f"refusing the output path '{printable(output)}': it is not a plain relative path")
    return path


def _set_at(obj, key_path, value):
    target = obj
    for key in key_path[:-1]:
        target = target[key]
    target[key_path[-1]] = value


def output_layout(circuit: Circuit) -> dict:
    """Where each file of ``circuit`` goes in the output (circuit_output.js ``outputLayout``):
    ``{"entries": [{input, output, kind, role}], "config": {input, output, text, rewritten},
    "unset": [keyPath]}``."""
    entries, unset = [], []
    by_output: dict[str, str] = {}
    by_input: dict[str, dict] = {}

    def add(input_name, output, kind, role):
        key = f"{kind}:{input_name}"
        if key in by_input:
            return by_input[key]
        if output != "":
            safe_output_path(output)
        if output in by_output:
            raise CircuitError(f"two inputs would both be written as {printable(output or '.')}: {printable(by_output[output])} and {printable(input_name)}")
        entry = {"input": input_name, "output": output, "kind": kind, "role": role}
        by_output[output] = input_name
        by_input[key] = entry
        entries.append(entry)
        return entry

    root = folder_of(normalize_path(circuit.config_name))
    data = copy.deepcopy(circuit.config_json)
    rewritten = False
    config_output = circuit.config_name[circuit.config_name.rfind("/") + 1:]
    for reference in circuit.references:
        name = reference["name"]
        if name is None:
            unset.append(".".join(map(str, reference["key_path"])))
            continue
        inside = not is_outside(name) and (root == "" or is_within(name, root))
        relative = name if root == "" or not inside else "" if name == root else name[len(root) + 1:]
        if inside:
            if relative == "" and reference["kind"] != "dir":
                raise CircuitError(f"{'.'.join(map(str, reference['key_path']))}: names the circuit's folder, not a file")
            if relative == config_output and reference["role"] != "other":
                raise CircuitError(f"{'.'.join(map(str, reference['key_path']))}: names the circuit config itself")
            add(name, relative, reference["kind"], reference["role"])
            continue
        entry = by_input.get(f"{reference['kind']}:{name}")
        if entry is None:
            kept = normalize_path(re.sub(r"^(\.\./)+|^/+", "", re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*/", "", name, flags=re.I))) or "root"
            output = f"{EXTERNAL_DIR}/{kept}"
            n = 2
            while output in by_output:
                output = f"{EXTERNAL_DIR}/{n}/{kept}"
                n += 1
            entry = add(name, output, reference["kind"], reference["role"])
        _set_at(data, reference["key_path"], f"./{entry['output']}")
        rewritten = True
    if config_output in by_output:
        raise CircuitError(f"the circuit config and {printable(by_output[config_output])} would both be written as {printable(config_output)}")
    from ._jsjson import stringify
    text = stringify(data, 2) + "\n" if rewritten else circuit.config_text
    return {"entries": entries, "unset": unset,
            "config": {"input": circuit.config_name, "output": config_output, "rewritten": rewritten, "text": text}}


def output_files(layout: dict, *, written=frozenset(), reserved=()) -> list[dict]:
    """Every file of the output circuit and where it comes from (``outputFiles``)."""
    files, taken = [], set(reserved)

    def take(output, item):
        if output in taken:
            return False
        taken.add(output)
        files.append({"output": safe_output_path(output), **item})
        return True

    if layout["config"]:
        take(layout["config"]["output"], {"from": "config"})
    for entry in layout["entries"]:
        if entry.get("present") is False or entry["kind"] != "file":
            continue
        if not take(entry["output"], {"from": "written" if entry["input"] in written else "input", "entry": entry}):
            raise CircuitError(f"{printable(entry['input'])} would be written as {printable(entry['output'])}, a path synparam reserves")
    for entry in layout["entries"]:
        if entry.get("present") is False or entry["kind"] != "dir":
            continue
        for file in entry.get("files", []):
            take(f"{entry['output']}/{file['relative']}" if entry["output"] else file["relative"], {"from": "input", "entry": entry, "file": file})
    return files
