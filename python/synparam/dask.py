"""A SONATA circuit parameterized on a Dask cluster, with the same output as the command.

``parameterize_circuit(circuit_config, config, out, ...)`` reads the circuit (h5py), splits every
edge population into row ranges (cut where ``target_node_id`` changes, so that no connection spans
two ranges), draws the ranges in parallel on a ``dask.distributed`` cluster — each task builds its
own :class:`synparam.Parameterizer` with the run's config, seed and population, plans its output
with the coordinator's group ``layout`` and returns the storage-ready blocks and its state
(statistics, connection counts, content digests) — and writes the parameterized circuit as the
command (``node www/host/cli.mjs``) does: the same layout, config handling, datasets (dtype and
values, byte for byte), dataset attributes and provenance sidecar (``parameterization.json``),
built in ``DIR.partial-<pid>``, every written dataset read back and checked against the core's
digests, inputs checked unchanged, and renamed into place only then. Nothing is left on error.

A model that reads per-synapse edge attributes (``distance_soma``, ``afferent_section_type``, …)
gets them here: while planning, before anything is written, the core chooses each population's
datasets from those its edges file has (a missing one is refused, named) and the source nodes'
soma positions are read when ``distance_soma`` needs them (a population without them is
refused); each task reads the planned datasets in the same rows as its ids and draws with them.

One writer per file, ranges in order: HDF5 files are not written concurrently (no parallel HDF5
without MPI-IO), and ranges written in edge order make the file the same whatever the number of
workers and the partition size. The coordinator (the process that calls this function) is that
writer; workers only read the input edges files and draw.

Command line: ``synparam-dask --circuit circuit_config.json --config model.json --out DIR
[--seed N] [--pathway-property P] [--populations a,b] [--fallback-value V] [--overwrite]
[--workers N | --scheduler ADDRESS] [--partition-rows N]``.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import os
import shutil
import sys
import time

import h5py
import numpy as np
import pyarrow as pa

from . import _synparam
from ._publish import (
    Hasher, claim, copy_new, files_below, identity_of, iso_now, pin_object_timestamps, storage_of, verify_datasets,
)
from .sonata import (
    CircuitError, check_edge_columns, edge_datasets, has_node_positions, load_circuit, node_positions, node_property_kind, node_property_values, output_files,
    output_layout, printable, read_edge_columns,
)

__all__ = ["parameterize_circuit", "fit_circuit", "main", "DEFAULT_PARTITION_ROWS", "CircuitError"]

L = logging.getLogger("synparam.dask")

#: Edges per task by default: a few seconds of drawing, ~40 MB of results for nine properties.
DEFAULT_PARTITION_ROWS = 1_000_000
#: Edges per call into the core inside a task (bounds a task's transient memory).
BATCH_ROWS = 262_144
#: Rows per HDF5 chunk of the datasets created chunked (writer.js CHUNK_ROWS).
CHUNK_ROWS = 262_144
#: Rows read per call when scanning group columns or looking for target changes.
SCAN_ROWS = 1 << 20


# ----------------------------------------------------------------------------- settings

def _config_text(config) -> str:
    """The model as JSON text: a mapping (serialized as JavaScript's JSON.stringify would), JSON
    text, or the path of a JSON file (read as the command reads ``--config``)."""
    if isinstance(config, dict):
        return _synparam.js_json(json.dumps(config))
    if isinstance(config, bytes):
        return config.decode("utf-8")
    if isinstance(config, str) and config.lstrip().startswith(("{", "[", "<")):
        return config  # JSON, or a legacy XML recipe
    path = os.fspath(config)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        if path.lower().endswith((".yml", ".yaml")):
            # A YAML recipe is read into JSON as the command reads it (JSON's types only).
            import yaml

            try:
                return _synparam.js_json(json.dumps(yaml.safe_load(text)))
            except yaml.YAMLError as error:
                raise CircuitError(f"not readable YAML: {error}", file=path) from None
        return text
    except FileNotFoundError:
        raise CircuitError("does not exist", file=path) from None
    except IsADirectoryError:
        raise CircuitError("is a folder, not a file", file=path) from None


def _setting(settings: dict, *names):
    for name in names:
        if name in settings:
            value = settings[name]
            return value.get("value") if isinstance(value, dict) else value
    return None


def _arrow_values(values, size):
    if values is None:
        values = [None] * size
    return pa.array(values, type=pa.string()).dictionary_encode()


def _ids(dataset, start, end):
    return np.asarray(dataset[start:end])


def _group_column(values, name, where):
    """Group ids/indices as the core takes them: integers (whole float64 converted, checked)."""
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (np.floor(values) == values) & (values >= 0)
        if not whole.all():
            row = int(np.argmin(whole))
            raise CircuitError(f"{name} {values[row]!r} at edge {row} is not a whole non-negative number", **where)
        return values.astype(np.uint64)
    return values


def compile_circuit_rules(circuit, rules_text, populations=None, chunk_rows=SCAN_ROWS, strict=False):
    """Rules compiled by the core for ``circuit``'s edge populations (``populations``, or every
    loadable one): the node properties the rules read, then every edge's ids (synapse and
    connection counts per pathway; the first edge no rule covers is a ``ConfigError`` naming it).
    Returns :class:`synparam.CompiledRules`."""
    import synparam

    summary = synparam.read_rules(rules_text)
    wanted = summary["properties"]
    if populations is None:
        populations = summary.get("populations")  # obi-one's assigners name their edge populations
    tables, edges_of = {}, {}
    for edges in circuit.edge_populations.values():
        if populations is not None and edges.name not in populations:
            continue
        sides = {}
        for role in ("source", "target"):
            nodes = circuit.node_populations.get(getattr(edges, role))
            if nodes is None:
                raise CircuitError(f"{role} node population '{getattr(edges, role)}' is not in the circuit", file=edges.shown, population=edges.name)
            columns = {}
            for prop in wanted[role]:
                values = node_property_values(nodes, prop)
                columns[prop] = _arrow_values(values, nodes.size)
            sides[role] = {"population": nodes.name, "size": nodes.size, "columns": columns}
        sides["geometry"] = {"datasets": edge_datasets(edges),
                             "source_positions": has_node_positions(circuit.node_populations[edges.source])}
        tables[edges.name] = sides

        def chunks(edges=edges):
            with h5py.File(edges.real, "r") as h5:
                base = h5[f"edges/{edges.name}"]
                for first in range(0, edges.size, chunk_rows):
                    last = min(edges.size, first + chunk_rows)
                    yield first, _ids(base["source_node_id"], first, last), _ids(base["target_node_id"], first, last)
        edges_of[edges.name] = chunks()
    try:
        return synparam.compile_rules(rules_text, tables, edges_of, strict=strict)
    except synparam.SynparamError as error:
        shown = next((e.shown for e in circuit.edge_populations.values() if f"'{e.name}'" in str(error)), None)
        if shown:
            _name_file(error, shown)
        raise


# ----------------------------------------------------------------------------- the task

def draw_range(job: dict) -> dict:
    """One range of one edge population, drawn on a worker: a fresh Parameterizer with the run's
    config, seed and population, planned with the coordinator's layout; returns the storage
    blocks (dataset index, runs, values) in edge order and the run's exported state."""
    import synparam

    name, start, end = job["population"], job["start"], job["end"]
    where = {"file": job["shown"], "population": name}
    run = synparam.Parameterizer(job["config_text"], job["seed"])
    source_values, target_values, positions = job["values"]
    run.add_edge_population(name, source_values, target_values, pathway_property=job["pathway_property"],
                            fallback=job["fallback"], source_population=job["source"], target_population=job["target"])
    attributes = job.get("attributes")
    if attributes is not None:
        run.plan_edge_attributes(name, attributes["available"])
        if positions is not None:
            run.set_source_positions(name, *positions)
    plan = job["plan"]
    run.plan_output(name, plan["size"], plan["existing"], plan["groups"], plan["overwrite"], layout=plan["layout"])
    blocks = []
    with h5py.File(job["real"], "r") as h5:
        base = h5[f"edges/{name}"]
        targets_all = _ids(base["target_node_id"], start, end)
        ordered = bool(np.all(targets_all[1:] >= targets_all[:-1])) if len(targets_all) > 1 else True
        if ordered:
            run.assume_sorted_by_target(name)
        for first in range(start, end, BATCH_ROWS):
            last = min(end, first + BATCH_ROWS)
            columns = {
                "source_node_id": _ids(base["source_node_id"], first, last),
                "target_node_id": targets_all[first - start:last - start],
                "edge_id": np.arange(first, last, dtype=np.uint64),
            }
            if job["has_group_ids"]:
                columns["edge_group_id"] = _group_column(_ids(base["edge_group_id"], first, last), "edge_group_id", where)
                columns["edge_group_index"] = _group_column(_ids(base["edge_group_index"], first, last), "edge_group_index", where)
            values_of = None
            if attributes is not None:  # the planned datasets, read in the same rows as the ids
                values_of = read_edge_columns(base, attributes["datasets"], first, last, columns.get("edge_group_id"),
                                              columns.get("edge_group_index"), where)
            batch = pa.record_batch({k: pa.array(v) for k, v in columns.items()})
            for dataset, runs, values in run.run_storage(name, batch, values_of):
                blocks.append((dataset, [(int(r), int(n)) for r, n in runs], np.array(values, copy=True)))
    return {"blocks": blocks, "state": run.export_state(name), "sorted": ordered,
            "first_target": int(targets_all[0]) if len(targets_all) else None,
            "last_target": int(targets_all[-1]) if len(targets_all) else None}


class _Done:
    """A finished in-process task, shaped like a dask Future (no cluster: ``client=None``)."""

    def __init__(self, fn, arg):
        try:
            self._value, self._error = fn(arg), None
        except BaseException as error:  # noqa: BLE001 - re-raised by result()
            self._value, self._error = None, error

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self):
        pass


class _Executor:
    """Submits draw tasks to a dask client (named per population and range, so that the
    dashboard shows them), or runs them in-process when there is none."""

    def __init__(self, client):
        self.client = client
        self.keys = 0

    def width(self):
        if self.client is None:
            return 1
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001
            return 1

    def share(self, value):
        if self.client is None:
            return value
        return self.client.scatter(value, broadcast=False, hash=False)

    def submit(self, job, values):
        if self.client is None:
            return _Done(draw_range, {**job, "values": values})
        self.keys += 1
        key = f"synparam-draw-{job['population']}-rows-{job['start']}-{job['end']}-{os.getpid()}-{self.keys}"
        return self.client.submit(_draw_shared, job, values, key=key, pure=False, retries=0)


def _draw_shared(job, values):
    return draw_range({**job, "values": values})


# ----------------------------------------------------------------------------- planning

def _range_cuts(real, name, size, partition_rows):
    """Range starts of about ``partition_rows`` edges, each moved forward to where
    ``target_node_id`` changes (so that a connection never spans two ranges); and whether the
    targets are non-decreasing across every cut."""
    starts = [0]
    ordered = True
    if size == 0:
        return [0, 0], True
    with h5py.File(real, "r") as h5:
        targets = h5[f"edges/{name}/target_node_id"]
        nominal = partition_rows
        while nominal < size:
            cut = None
            at = nominal
            while at < size:
                window = np.asarray(targets[at - 1:min(size, at + 4096)])
                changes = np.nonzero(window[1:] != window[:-1])[0]
                if len(changes):
                    i = int(changes[0])
                    if window[i + 1] < window[i]:
                        ordered = False
                    cut = at + i
                    break
                at += 4096
            if cut is None:
                break
            starts.append(cut)
            nominal = cut + partition_rows
    return [*starts, size], ordered


def _existing_datasets(h5, name, properties):
    base = f"edges/{name}"
    group_names = [k for k in h5[base].keys() if k.isdigit()]
    existing = []
    for group in group_names:
        members = list(h5[f"{base}/{group}"].keys())
        for prop in (m for m in members if m in properties):
            obj = h5.get(f"{base}/{group}/{prop}")
            storage = storage_of(obj)
            rows = obj.shape[0] if isinstance(obj, h5py.Dataset) and obj.shape else 0
            existing.append({"group": int(group), "property": prop, "storage": storage, "rows": int(rows)})
    return existing, [int(g) for g in group_names]


def _set_attributes(dataset, attributes):
    for key, value in attributes.items():
        if key in dataset.attrs:
            del dataset.attrs[key]
        if isinstance(value, np.uint64):
            dataset.attrs.create(key, value, dtype="<u8")
        else:
            dataset.attrs[key] = value


def _plan_population_output(h5, edges, run, overwrite, properties, layout=None):
    """The core's plan of what ``run`` writes into ``edges`` of the open file ``h5`` (the output's
    copy, or the input itself: nothing is written here): the existing datasets and groups go to the
    core, which scans the group layout (when the file has group columns and no ``layout`` of an
    earlier plan is given) and plans every dataset, or refuses (existing properties without
    ``overwrite``, a length or group mismatch) with a :class:`CircuitError` naming the file.
    Returns ``(plan, existing, groups)``."""
    name = edges.name
    where = {"file": edges.shown, "population": name}
    existing, groups = _existing_datasets(h5, name, properties)
    try:
        if edges.has_group_ids and layout is None:
            base = h5[f"edges/{name}"]
            for first in range(0, edges.size, SCAN_ROWS):
                last = min(edges.size, first + SCAN_ROWS)
                run.scan_groups(name, edges.size, first,
                                pa.array(_group_column(np.asarray(base["edge_group_id"][first:last]), "edge_group_id", where)),
                                pa.array(_group_column(np.asarray(base["edge_group_index"][first:last]), "edge_group_index", where)))
        plan = run.plan_output(name, edges.size, existing, groups, overwrite, layout=layout)
    except CircuitError:
        raise
    except Exception as error:
        # As the command's writer: the layout and plan refusals are the file's (CircuitError).
        raise CircuitError(str(error), file=edges.shown) from error
    return plan, existing, groups


def _check_run(run, layouts):
    """The checks a run makes before it draws that :func:`_plan` leaves to the writing: each edge
    population's output planned by the core on the input file (existing properties without
    overwrite, lengths, groups). ``layouts`` (edge population → the core's group layout) keeps each
    population's layout for a later check (a scan's next point)."""
    for planned in run.plans:
        edges = planned["edges"]
        with h5py.File(edges.real, "r") as h5:
            plan, _, _ = _plan_population_output(h5, edges, planned["run"], run.overwrite, run.properties, layouts.get(edges.name))
        layouts[edges.name] = plan["layout"]


class _PopulationOutput:
    """The coordinator's side of one edge population: its run (planning, merged states), the
    output datasets, the writing of blocks in range order."""

    def __init__(self, h5, edges, run, overwrite, attributes, properties):
        import synparam  # noqa: F401

        self.edges = edges
        self.run = run
        name = edges.name
        plan, existing, groups = _plan_population_output(h5, edges, run, overwrite, properties)
        self.plan = plan
        self.plan_inputs = {"size": edges.size, "existing": existing, "groups": groups, "overwrite": overwrite, "layout": plan["layout"]}
        for group in plan.get("create_groups", []):
            h5[f"edges/{name}"].create_group(str(group))
        self.datasets = []
        for planned in plan["datasets"]:
            path = f"edges/{name}/{planned['group']}/{planned['property']}"
            if not planned["exists"]:
                group = h5[f"edges/{name}/{planned['group']}"]
                rows = int(planned["rows"])
                dtype = np.dtype(planned["storage"]).newbyteorder("<")
                if plan.get("fills_in_order") and rows > 0:
                    group.create_dataset(planned["property"], shape=(rows,), maxshape=(rows,), chunks=(min(rows, CHUNK_ROWS),), dtype=dtype)
                else:
                    group.create_dataset(planned["property"], shape=(rows,), dtype=dtype)
            dataset = h5[path]
            _set_attributes(dataset, attributes)
            self.datasets.append(dataset)
        self.sorted = True

    def write(self, result):
        for index, runs, values in result["blocks"]:
            dataset = self.datasets[index]
            at = 0
            for row, count in runs:
                dataset[row:row + count] = values[at:at + count]
                at += count


def _name_file(error, shown):
    try:
        if shown not in str(error):
            error.args = (f"{printable(shown)}: {error.args[0]}" if error.args else printable(shown), *error.args[1:])
    except Exception:  # noqa: BLE001
        pass


# ----------------------------------------------------------------------------- the run

def parameterize_circuit(circuit_config, config, out, *, seed=None, pathway_property=None, fallback=None,
                         overwrite=None, populations=None, client=None, partition_rows=DEFAULT_PARTITION_ROWS,
                         in_flight=None, strict=False, from_provenance=None, change=None):
    """Parameterize the circuit of ``circuit_config`` (a circuit_config.json path) with ``config``
    (a model or task config: a dict, JSON text or a JSON file path) into ``out`` (new or empty),
    drawing on the Dask ``client``'s cluster (None: in this process), ``partition_rows`` edges per
    task. ``seed``, ``pathway_property``, ``fallback``, ``overwrite`` and ``populations`` override
    the config's task form, resolved by the core as the command resolves them. ``strict``: for
    rules, refuse a rule naming a selector value no node has (else it is a warning and listed in
    the sidecar's ``rules_matching_nothing``). Edge attributes the model reads are read from the
    edges files and the source nodes' positions (see the module's documentation).

    ``from_provenance`` (a ``parameterization.json`` path; ``config`` None, no settings) reruns the
    run it records, as the command's ``--from-provenance``: the circuit's files must be the ones
    it records. ``change`` (a partial model: dict, JSON text or file path) with it runs the
    recorded model with the change merged over it (the core's ``merge_patch``), as ``--change``;
    the new sidecar records its ``parent``.

    Returns a dict: ``populations`` (per edge population: name, source, target, size, file, stats,
    connections), ``warnings``, ``provenance`` (the sidecar), ``out_dir``, ``rewritten_config``,
    ``timings`` (seconds per phase). Raises :class:`synparam.SynparamError` subclasses for the
    model (``ConfigError`` with its ``path``, ``ValueOutOfRangeError``, …) and
    :class:`synparam.sonata.CircuitError` for the circuit and the output; then nothing is left.
    """
    if partition_rows is None or int(partition_rows) < 1:
        raise ValueError("partition_rows must be a positive integer")
    settings = {"seed": seed, "pathway_property": pathway_property, "fallback": fallback, "overwrite": overwrite, "populations": populations}
    recorded = parent = None
    if from_provenance is not None:
        given = [k for k, v in settings.items() if v is not None] + (["config"] if config is not None else [])
        if given:
            raise ValueError(f"from_provenance sets the model and run settings: drop {', '.join(given)}")
        config, recorded, parent, settings = _from_provenance(from_provenance, change)
    elif change is not None:
        raise ValueError("change needs from_provenance (the run it changes)")
    hasher = Hasher()
    try:
        return _publish(circuit_config, _config_text(config), out, settings, client=client, partition_rows=partition_rows,
                        in_flight=in_flight, strict=strict, hasher=hasher, recorded=recorded, parent=parent)
    finally:
        hasher.close()


def _from_provenance(sidecar_path, change):
    """A recorded run (and a change of it): its config text, the record, the parent record (with
    a change), its settings."""
    shown = os.fspath(sidecar_path)
    try:
        with open(shown, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        raise CircuitError(f"cannot read ({error.strerror})", file=shown) from None
    try:
        recorded = json.loads(_synparam.read_sidecar(text))
    except ValueError as error:
        raise CircuitError(str(error), file=shown) from None
    config_text, parent = recorded["config_text"], None
    if change is not None:
        try:
            changed = json.loads(_synparam.reparameterize(text, _config_text(change)))
        except ValueError as error:
            if isinstance(error, _synparam.SynparamError):
                raise
            raise CircuitError(str(error), file=shown) from None
        config_text, parent = changed["model_text"], changed["parent"]
    recorded["shown"] = shown
    settings = {"seed": recorded["seed"], "pathway_property": recorded["pathway_property"], "fallback": recorded["fallback"],
                "overwrite": recorded["overwrite"], "populations": recorded["populations"]}
    return config_text, recorded, parent, settings


def _publish(circuit_config, config_text, out, settings, *, client, partition_rows, in_flight, strict, hasher,
             recorded=None, parent=None, scan=None):
    """One run published into ``out`` (claimed, staged beside it, verified, renamed into place):
    ``recorded`` refuses a circuit whose files differ from a sidecar's; ``parent`` goes into the
    sidecar; ``scan`` (a scan's shared state, see :func:`scan_circuit`) places the point's files."""
    clock = _Clock()
    run = _plan(circuit_config, config_text, clock, strict=strict, **settings)
    out_dir = os.path.abspath(os.fspath(out))
    layout = scan["inputs"][0] if scan and scan.get("inputs") else output_layout(run.circuit)
    _refuse_output_holding_inputs(run.circuit, layout, out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    lock = claim(out_dir, run.warnings)
    staging = f"{out_dir}.partial-{os.getpid()}"
    published = False
    try:
        if os.path.lexists(out_dir):
            if not os.path.isdir(out_dir):
                raise CircuitError("exists and is not a folder", file=out_dir)
            if os.listdir(out_dir):
                raise CircuitError(f"output directory {printable(out_dir)} is not empty; choose a new or empty --out (inputs are never modified)")
        excluded = [os.path.realpath(out_dir), os.path.realpath(staging), os.path.realpath(lock)] + (scan["excluded"] if scan else [])
        if scan and scan.get("inputs"):
            inventory = scan["inputs"][1]
        else:
            inventory = _inventory(run.circuit, layout, excluded, hasher, run.warnings)
            if scan:
                scan["inputs"] = (layout, inventory)
        if recorded:
            actual = {r["name"]: f.result() for r, f in zip(inventory["named"], inventory["hashing"])}
            changed = _synparam.changed_inputs(json.dumps(recorded["inputs"]), json.dumps(actual))
            if changed:
                raise CircuitError(f"the circuit differs from the one {printable(recorded['shown'])} records, so the run would not reproduce it: {', '.join(map(printable, changed))}")
        clock.phase("inventory")
        os.mkdir(staging)
        place = _Placement(layout, staging, scan)
        results = _draw_and_write(run, layout, staging, _Executor(client), partition_rows, in_flight, clock, drawn=place.drawn)
        provenance = _verify_and_record(run, layout, staging, results, inventory, hasher, clock, place=place, parent=parent)
        # Publish: rename into place, over DIR only if it is still empty.
        try:
            os.rename(staging, out_dir)
        except OSError as error:
            if error.errno in (39, 17):  # ENOTEMPTY, EEXIST
                raise CircuitError(f"{printable(out_dir)} is no longer empty (something wrote into it during the run); the result was not published") from None
            raise CircuitError(f"cannot move the finished output into place ({error})", file=out_dir) from None
        published = True
        clock.phase("publish")
        L.info("wrote the parameterized circuit to %s, verified", out_dir)
        return {"populations": results, "warnings": run.warnings, "provenance": provenance, "out_dir": out_dir,
                "rewritten_config": bool(layout["config"]["rewritten"]), "timings": dict(clock.timings), "seed": run.seed,
                "pathway_property": run.pathway_property, "fallback": run.fallback, "overwrite": run.overwrite}
    finally:
        _release(staging, lock, published)


def _release(staging, lock, published):
    """A run's or a scan's end: its staging folder removed unless published, its lock always."""
    if not published:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        os.remove(lock)
    except OSError:
        pass


#: How :func:`scan_circuit` names its settings in errors (the console names its flags instead).
_SCAN_OPTION_NAMES = {"seed": "seed=", "pathway_property": "pathway_property=", "fallback": "fallback=",
                      "overwrite": "overwrite=", "populations": "populations=", "max_points": "max_points=",
                      "scalings_as_overrides": "scalings_as_overrides="}
_CONSOLE_OPTION_NAMES = {"seed": "--seed", "pathway_property": "--pathway-property", "fallback": "--fallback-value",
                         "overwrite": "--overwrite", "populations": "--populations", "max_points": "--max-points",
                         "scalings_as_overrides": "--scalings-as-overrides"}


def scan_circuit(circuit_config, config, out, *, max_points=None, seed=None, pathway_property=None, fallback=None,
                 overwrite=None, populations=None, client=None, partition_rows=DEFAULT_PARTITION_ROWS, in_flight=None,
                 strict=False, scalings_as_overrides=False, _option_names=_SCAN_OPTION_NAMES):
    """Run the scan config ``config`` (dict, JSON text or file path: any config with ``"scan":
    "grid" | "coupled"``, a field given as a list an axis) on the circuit of ``circuit_config``
    into ``out`` (new or empty), as the command does with a scan config: every point expanded and
    validated by the core (more than ``max_points`` — else the config's ``max_points``, else 10⁴ —
    refused; a setting given here that an axis also scans refused, naming both), then checked
    against the circuit as its run checks it before drawing (pathway values, edge attributes and
    positions, existing properties without overwrite; errors named by the point), all before
    anything is written; then ``out/scan.json``, one verified circuit per point in
    ``out/<point>/`` with its sidecar, and the files no point changes once in ``out/shared/``, named
    from each point's config (design §5.5). The same bytes as the command (but the sidecars'
    ``created``). Settings and cluster options as :func:`parameterize_circuit`, for every point.
    With ``scalings_as_overrides``, a point that only scales some pathways' laws (the core's
    ``scalings_as_overrides``) writes no edges files but a circuit config naming point 0's and a
    SONATA ``connection_overrides`` fragment, as the command's ``--scalings-as-overrides``.

    Returns ``{"plan": the core's plan (mode, axes, points with name, values, changes…),
    "points": [parameterize_circuit's result per point], "out_dir", "warnings", "outputs": per
    point how it was written (None without scalings_as_overrides)}``.
    """
    import synparam

    text = _config_text(config)
    settings = {"seed": seed, "pathway_property": pathway_property, "fallback": fallback, "overwrite": overwrite, "populations": populations}
    overrides = {k: (list(v) if k == "populations" else v) for k, v in settings.items() if v is not None}
    host = {"max_points_option": _option_names["max_points"], "settings": {k: _option_names[k] for k in overrides}}
    plan = json.loads(_synparam.plan_scan(text, max_points, json.dumps(host)))
    outputs, scan_json = None, plan["scan_json"]
    if scalings_as_overrides:
        decided = json.loads(_synparam.scan_overrides(json.dumps(plan["plan"]["points"]), plan["scan_json"], json.dumps(overrides)))
        outputs, scan_json = decided["outputs"], decided["scan_json"]

    def drawn(index):
        return outputs is None or outputs[index]["as"] == "edges"

    def in_point(error, point):
        error.args = (f"scan point {point['name']}: {error.args[0] if error.args else error}",) + error.args[1:]
        return error

    for point in plan["plan"]["points"]:
        try:
            if synparam.is_rules_input(point["model_text"]):
                synparam.read_rules(point["model_text"])
            else:
                planned = synparam.plan_run(point["model_text"], **overrides)
                synparam.Parameterizer(point["model_text"], _setting(planned["settings"], "seed"))
        except Exception as error:
            raise in_point(error, point)
    # Every point checked against the circuit as its run checks it before drawing, before
    # anything is written.
    layouts = {}
    for point in plan["plan"]["points"]:
        try:
            _check_run(_plan(circuit_config, point["model_text"], _Clock(), strict=strict, **settings), layouts)
        except Exception as error:
            raise in_point(error, point)
    if outputs is not None and any(o["as"] == "overrides" for o in outputs):
        # Override points select their pathways by node sets of text values (the core refuses numbers).
        prop = _setting(synparam.plan_run(plan["plan"]["points"][0]["model_text"], **overrides)["settings"], "pathwayProperty")
        having = [p for p in load_circuit(circuit_config).node_populations.values() if prop in p.properties]
        problem = _synparam.override_node_sets_problem(prop, _option_names["scalings_as_overrides"], [node_property_kind(p, prop) for p in having])
        if problem is not None:
            raise CircuitError(problem[1], file=having[problem[0]].shown, population=having[problem[0]].name)
    scan_file, shared = _synparam.scan_file_names()
    out_dir = os.path.abspath(os.fspath(out))
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    warnings = []
    lock = claim(out_dir, warnings)
    staging = f"{out_dir}.partial-{os.getpid()}"
    hasher = Hasher()
    published = False
    try:
        if os.path.lexists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
            raise CircuitError(f"output directory {printable(out_dir)} is not empty; choose a new or empty --out (inputs are never modified)")
        points = plan["plan"]["points"]
        state = {"shared_dir": os.path.join(staging, shared), "changes": [p["changes"] for i, p in enumerate(points) if drawn(i)],
                 "excluded": [os.path.realpath(out_dir), os.path.realpath(staging), os.path.realpath(lock)]}
        os.makedirs(state["shared_dir"])
        results = []
        for index, point in enumerate(points):
            state["first"] = index == 0
            point_out = os.path.join(staging, point["name"])
            if not drawn(index):
                results.append(_publish_override_point(point_out, point["name"], points[0]["name"], os.path.basename(os.fspath(circuit_config)), outputs[index]))
                continue
            results.append(_publish(circuit_config, point["model_text"], point_out, settings, client=client,
                                    partition_rows=partition_rows, in_flight=in_flight, strict=strict, hasher=hasher, scan=state))
        with open(os.path.join(staging, scan_file), "x", encoding="utf-8", newline="") as stream:
            stream.write(scan_json)
        try:
            os.rename(staging, out_dir)
        except OSError as error:
            raise CircuitError(f"cannot move the finished output into place ({error})", file=out_dir) from None
        published = True
        return {"plan": plan["plan"], "points": results, "out_dir": out_dir, "warnings": warnings, "outputs": outputs}
    finally:
        hasher.close()
        _release(staging, lock, published)


def _publish_override_point(point_out, point_name, base_name, config_name, output):
    """A scan point written as SONATA connection_overrides over point 0's edges (design §5.5), in
    ``point_out`` beside point 0's folder: the files the core writes (``override_point_files``)
    from point 0's circuit config and node sets. No edges file, no sidecar (scan.json records it)."""
    base_dir = os.path.join(os.path.dirname(point_out), base_name)

    def read(file):
        try:
            with open(file, encoding="utf-8", newline="") as stream:
                return stream.read()
        except OSError as error:
            raise CircuitError(f"cannot read point {printable(base_name)}'s file ({error.strerror})", file=file) from None

    config_text = read(os.path.join(base_dir, config_name))
    node_sets = _synparam.node_sets_file_of(config_text)
    node_sets_text = None if node_sets is None else read(os.path.normpath(os.path.join(base_dir, node_sets)))
    files = _synparam.override_point_files(point_name, base_name, config_name, config_text, node_sets_text, json.dumps(output))
    os.mkdir(point_out)
    for name, text in files:
        with open(os.path.join(point_out, name), "x", encoding="utf-8", newline="") as stream:
            stream.write(text)
    return {"out_dir": point_out, "files": [name for name, _ in files], "overrides": output, "populations": [], "warnings": []}


class _Clock:
    """Wall-clock seconds per phase of a run."""

    def __init__(self):
        self.timings = collections.OrderedDict()
        self.last = time.perf_counter()

    def phase(self, label):
        now = time.perf_counter()
        self.timings[label] = self.timings.get(label, 0.0) + now - self.last
        self.last = now


@dataclasses.dataclass
class _Run:
    """A run as planned before any file is touched: the circuit, the model the engine draws (rules
    compiled), the settings the core resolved, each edge population's prepared run, warnings."""
    circuit: object
    config_text: str
    user_config_text: str
    seed: int
    pathway_property: str
    fallback: object
    overwrite: bool
    requested: object
    properties: set
    attributes: dict
    plans: list
    warnings: list
    explain: object
    skipped: list


def _plan(circuit_config, config_text, clock, *, seed, pathway_property, fallback, overwrite, populations, strict) -> _Run:
    """Phase 1, plan: rules compiled (the sidecar and the attributes keep the user's text), the
    settings resolved by the core as the command resolves them, what could not be loaded refused
    when the run needs it, and every population's run prepared (pathway values against the model)."""
    import synparam

    user_config_text = config_text
    rule_values = None
    circuit = None
    explain = None
    if synparam.is_rules_input(config_text):
        _synparam.check_rules_settings(pathway_property, fallback)
        circuit = load_circuit(circuit_config)
        compiled = compile_circuit_rules(circuit, config_text, populations, strict=strict)
        config_text, rule_values, explain = compiled.config_text, compiled.pathway_values, compiled.explain
        pathway_property = synparam.RULES_PATHWAY
        clock.phase("compile rules")
    overrides = {k: v for k, v in {"seed": seed, "pathway_property": pathway_property, "fallback": fallback,
                                   "overwrite": overwrite, "populations": list(populations) if populations is not None else None}.items() if v is not None}
    planned = synparam.plan_run(config_text, **overrides)
    settings = planned["settings"]
    effective_seed = _setting(settings, "seed")
    synparam.Parameterizer(config_text, effective_seed)  # names a missing seed, validates the model
    pathway_property = _setting(settings, "pathway_property", "pathwayProperty")
    fallback = _setting(settings, "fallback", "fallback_value")
    overwrite = bool(_setting(settings, "overwrite", "overwrite_if_exists"))
    requested = _setting(settings, "populations", "edge_populations")
    attributes = {
        "synparam_tool": "synparam",
        "synparam_version": synparam.__version__,
        "synparam_seed": np.uint64(int(effective_seed)),
        "synparam_config_sha256": _synparam.config_sha256(user_config_text),
    }
    if circuit is None:
        circuit = load_circuit(circuit_config)
    clock.phase("load circuit")

    # What could not be loaded: refused when the run needs it, else warned about.
    needed = [u for u in circuit.unavailable if u["kind"] == "edges" and (requested is None or (u["population"] is not None and u["population"] in requested))]
    if needed:
        loadable = list(circuit.edge_populations)
        what = (f"edge population{'' if len(needed) == 1 else 's'} {', '.join(repr(u['population']) for u in needed)} cannot be loaded"
                if requested else "a run of every edge population needs edges that cannot be loaded")
        error = CircuitError(f"{what}: {'; '.join(u['message'] for u in needed)}"
                             + (f". To parameterize the rest, choose among the edge populations that can be loaded: {', '.join(loadable)}" if loadable else ""))
        error.unavailable = circuit.unavailable
        raise error
    for name in requested or []:
        if name not in circuit.edge_populations:
            raise CircuitError(f"unknown edge population '{name}' (the circuit has: {', '.join(circuit.edge_populations)})")
    unloaded = [u["population"] for u in circuit.unavailable if u["kind"] == "nodes" and u["population"]]
    _synparam.check_fallback_populations(fallback, list(dict.fromkeys([*circuit.node_populations, *unloaded])))
    warnings = [f"not loaded{' (not parameterized)' if u['kind'] == 'edges' else ''}: {u['message']}" for u in circuit.unavailable]
    warnings += explain["warnings"] if explain else []

    plans = []
    skipped = []  # the core's records of the edge populations left out, kept in the sidecar
    for edges in circuit.edge_populations.values():
        if requested is not None and edges.name not in requested:
            continue
        columns = {}
        skip = None
        if rule_values is not None:
            columns["source"], columns["target"] = rule_values[edges.name]
        for role in ("source", "target") if rule_values is None else ():
            nodes = circuit.node_populations.get(getattr(edges, role))
            values = node_property_values(nodes, pathway_property)
            skip = json.loads(_synparam.pathway_skip(edges.name, role, nodes.name, pathway_property, values is not None, fallback))
            if skip:
                break
            columns[role] = _arrow_values(values, nodes.size)
        if skip:
            warnings.append(skip["warning"])
            skipped.append(skip)
            continue
        run = synparam.Parameterizer(config_text, effective_seed)
        try:
            run.add_edge_population(edges.name, columns["source"], columns["target"], pathway_property=pathway_property,
                                    fallback=fallback, source_population=edges.source, target_population=edges.target)
        except Exception as error:
            _name_file(error, edges.shown)
            raise
        reads, positions = _plan_attributes(circuit, edges, run)
        plans.append({"edges": edges, "run": run, "values": (columns["source"], columns["target"]),
                      "attributes": reads, "positions": positions})
    if not plans:
        raise CircuitError(f"no edge population to parameterize{': ' + '; '.join(warnings) if warnings else ''}")
    clock.phase("prepare populations")
    return _Run(circuit, config_text, user_config_text, effective_seed, pathway_property, fallback, overwrite, requested,
                {p["name"] for p in planned["summary"]["properties"]}, attributes, plans, warnings, explain, skipped)


def _plan_attributes(circuit, edges, run):
    """The edge attributes a model reads, planned for one edge population before anything is
    written: the core chooses the datasets from those the edges file has (and names every one it
    lacks), the source nodes' positions are read when ``distance_soma`` needs them (a population
    without them is refused). Returns ``(attributes, positions)``: ``{"available", "datasets",
    …}`` for the tasks and the positions as three float64 arrays (None when not needed)."""
    import synparam

    if not run.required_edge_attributes():
        return None, None
    available = edge_datasets(edges)
    try:
        reads = run.plan_edge_attributes(edges.name, available)
    except synparam.SynparamError as error:
        raise CircuitError(str(error), file=edges.shown) from error
    check_edge_columns(edges, reads["datasets"])
    positions = None
    if reads["source_positions"]:
        positions = node_positions(circuit.node_populations[edges.source], edges.name)
        run.set_source_positions(edges.name, *positions)
    return {"available": available, **reads}, positions


def _refuse_output_holding_inputs(circuit, layout, out_dir):
    """An output folder that would be, or contain, an input is refused before anything happens."""
    out_real = os.path.realpath(out_dir)
    for item in [circuit.real(layout["config"]["input"])] + [circuit.real(e["input"]) for e in layout["entries"]]:
        real = os.path.realpath(item)
        if real == out_real or real.startswith(out_real.rstrip(os.sep) + os.sep):
            raise CircuitError(f"the output folder {printable(out_dir)} would contain the input {printable(real)}; choose a new folder outside the circuit's files")


def _inventory(circuit, layout, excluded, hasher, warnings) -> dict:
    """Phase 2, the inputs before anything else: each named file's identity (its SHA-256 in the
    background), each named folder's files, entries that do not exist named. The entries of
    ``layout`` get what was found (``present``, ``kind``, a folder's ``files``)."""
    records = []  # {name, real, identity, hashed}
    not_included = []

    def add_file(name, real, hashed):
        records.append({"name": name, "real": real, "identity": identity_of(real), "hashed": hashed})

    add_file(layout["config"]["input"], circuit.real(layout["config"]["input"]), True)
    for entry in layout["entries"]:
        real = circuit.real(entry["input"])
        if not os.path.exists(real):
            entry["present"] = False
            not_included.append(entry["output"] or ".")
            warnings.append(f"{printable(real)}: named by the circuit but does not exist; not included in the output")
            continue
        entry["present"] = True
        entry["kind"] = "dir" if os.path.isdir(real) else "file"
        if entry["kind"] == "file":
            add_file(entry["input"], real, True)
        else:
            entry["files"] = files_below(real, excluded)
            for file in entry["files"]:
                add_file(f"{entry['input']}/{file['relative']}", file["real"], False)
                file["identity"] = records[-1]["identity"]
    named = [r for r in records if r["hashed"]]
    return {"records": records, "named": named, "hashing": hasher.hash([r["real"] for r in named]), "not_included": not_included}


def _draw_and_write(run: _Run, layout, staging, executor, partition_rows, in_flight, clock, drawn=None) -> list:
    """Phase 3, draw and write: each edges file copied into the staging folder, its populations
    planned with the core, their ranges drawn on the cluster and written in range order by this one
    writer; connections counted, statistics merged, timestamps pinned. Returns each population's
    result (name, size, file, stats, connections, the core's digests of what it stored)."""
    import synparam

    staged = drawn or (lambda output: os.path.join(staging, output))  # noqa: E731
    output_of = {e["input"]: e["output"] for e in layout["entries"]}
    by_file = collections.OrderedDict()
    for plan in run.plans:
        by_file.setdefault(plan["edges"].file_name, []).append(plan)
    outputs_by_population = []
    jobs = []
    files_open = {}
    pending = collections.deque()
    try:
        for file_name, file_plans in by_file.items():
            if file_name not in output_of:
                raise CircuitError("is not an edges file of the output layout", file=file_name)
            target = staged(output_of[file_name])
            copy_new(run.circuit.real(file_name), target)
            h5 = h5py.File(target, "a", rdcc_nbytes=64 << 20, rdcc_nslots=10007)
            files_open[file_name] = h5
            for plan in file_plans:
                edges = plan["edges"]
                output = _PopulationOutput(h5, edges, plan["run"], run.overwrite, run.attributes, run.properties)
                if plan["attributes"] is not None:  # every group's datasets as long as its edges, before any draw
                    check_edge_columns(edges, plan["attributes"]["datasets"], output.plan["layout"])
                outputs_by_population.append((file_name, plan, output))
                cuts, across = _range_cuts(edges.real, edges.name, edges.size, partition_rows)
                output.sorted = across
                shared = executor.share((*plan["values"], plan["positions"]))
                for start, end in zip(cuts[:-1], cuts[1:]):
                    if end <= start:
                        continue
                    jobs.append((output, {
                        "population": edges.name, "source": edges.source, "target": edges.target, "shown": edges.shown,
                        "real": edges.real, "start": start, "end": end, "has_group_ids": edges.has_group_ids,
                        "config_text": run.config_text, "seed": run.seed, "pathway_property": run.pathway_property,
                        "fallback": run.fallback, "plan": output.plan_inputs, "attributes": plan["attributes"],
                    }, shared))
        clock.phase("copy edges files and plan")
        total = sum(job[1]["end"] - job[1]["start"] for job in jobs)
        L.info("drawing %d synapses of %d edge population(s) in %d range(s) on %s", total, len(outputs_by_population), len(jobs),
               "this process" if executor.client is None else f"{executor.width()} Dask worker thread(s)")
        window = in_flight or max(2, 2 * executor.width())
        next_job = 0
        done = 0
        last_log = time.perf_counter()
        while next_job < len(jobs) or pending:
            while next_job < len(jobs) and len(pending) < window:
                output, job, shared = jobs[next_job]
                pending.append((output, job, executor.submit(job, shared)))
                next_job += 1
            output, job, future = pending.popleft()
            try:
                result = future.result()
            except Exception as error:
                _name_file(error, output.edges.shown)
                raise
            output.write(result)
            output.run.merge_state(job["population"], result["state"])
            if not result["sorted"]:
                output.sorted = False
            done += job["end"] - job["start"]
            if time.perf_counter() - last_log > 5 or not pending:
                L.info("%s: rows %d-%d written (%d of %d synapses, %.0f %%)", job["population"], job["start"], job["end"], done, total, 100 * done / max(total, 1))
                last_log = time.perf_counter()
        clock.phase("draw and write")

        results = []
        for file_name, plan, output in outputs_by_population:
            edges, population_run = plan["edges"], plan["run"]
            if output.sorted:
                connections = population_run.connections(edges.name)
            else:
                # Not sorted by target: count again, remembering every pair (ids only), in order.
                counter = synparam.Parameterizer(run.config_text, run.seed)
                counter.add_edge_population(edges.name, *plan["values"], pathway_property=run.pathway_property, fallback=run.fallback,
                                            source_population=edges.source, target_population=edges.target)
                with h5py.File(edges.real, "r") as h5:
                    base = h5[f"edges/{edges.name}"]
                    for first in range(0, edges.size, SCAN_ROWS):
                        last = min(edges.size, first + SCAN_ROWS)
                        counter.count_connections_of(edges.name, pa.record_batch({
                            "source_node_id": pa.array(np.asarray(base["source_node_id"][first:last])),
                            "target_node_id": pa.array(np.asarray(base["target_node_id"][first:last])),
                            "edge_id": pa.array(np.arange(first, last, dtype=np.uint64))}))
                connections = counter.connections(edges.name)
            stats = population_run.statistics()
            run.warnings.extend(population_run.warnings(edges.name))
            results.append({"name": edges.name, "source": edges.source, "target": edges.target, "size": edges.size,
                            "file_name": file_name, "shown": edges.shown, "stats": stats,
                            "connections": {f"{s} → {t}": n for s, t, n in connections},
                            "datasets": population_run.dataset_digests(edges.name),
                            "attributes": None if plan["attributes"] is None else
                            {"datasets": plan["attributes"]["datasets"], "source_positions": plan["attributes"]["source_positions"]}})
        for file_name, h5 in list(files_open.items()):
            h5.close()
            del files_open[file_name]
            pin_object_timestamps(staged(output_of[file_name]), run.circuit.real(file_name))
        clock.phase("close and pin timestamps")
        return results
    finally:
        for _, _, future in pending:
            try:
                future.cancel()
            except Exception:  # noqa: BLE001
                pass
        for h5 in files_open.values():
            try:
                h5.close()
            except Exception:  # noqa: BLE001
                pass


class _Placement:
    """Where each planned output file goes and how the sidecar names it (as the command's
    ``placement``, www/node/publish.mjs). A single run: all in its staging folder. A scan's point
    (``scan``: its shared state): its config and the edges files it writes in its own folder, every
    other file in the scan's shared folder, named ``../shared/…`` — copied there by the first
    point, already there (``stored``) for the others. Edges files are drawn under ``.drawn/`` and
    moved into place by ``settle`` (a later point's copy of a shared one only compared, then removed)."""

    def __init__(self, layout, staging, scan):
        self.staging, self.scan = staging, scan
        self.config_text = None if scan else layout["config"]["text"]
        self.per_point = set()

    def drawn(self, output):
        return os.path.join(self.staging, ".drawn" if self.scan else "", output)

    def shared(self, file):
        return bool(self.scan) and file["from"] != "config" and not (file["from"] == "written" and file["entry"]["input"] in self.per_point)

    def stored(self, file):
        return self.shared(file) and not self.scan["first"]

    def where(self, file):
        return os.path.join(self.scan["shared_dir"], file["output"]) if self.shared(file) else os.path.join(self.staging, file["output"])

    def named(self, file):
        return self.scan["layout"]["shared_prefix"] + file["output"] if self.shared(file) else file["output"]

    def settle(self, plan_files, results, circuit):
        """The scan's layout decided by the core (by its first point) and the written files moved."""
        scan = self.scan
        if "layout" not in scan:
            drawn = [{"file": r["file_name"], "properties": [{"property": p["property"], "pathways": [{"source": w["source"], "target": w["target"]} for w in p["pathways"]]}
                                                             for p in r["stats"]]} for r in results]
            per_point = _synparam.scan_edge_files(json.dumps(scan["changes"]), json.dumps(drawn))
            request = {"config": {"name": circuit.config_name, "text": circuit.config_text}}
            try:
                scan["layout"] = json.loads(_synparam.scan_layout(json.dumps(request), per_point))
            except ValueError as error:
                raise CircuitError(str(error)) from None
        scanned = scan["layout"]
        self.per_point = {e["input"] for e, own in zip(scanned["layout"]["entries"], scanned["per_point"]) if own}
        self.config_text = scanned["point"]["config"]["text"]
        for file in plan_files:
            if file["from"] == "written" and not self.stored(file):
                os.makedirs(os.path.dirname(self.where(file)), exist_ok=True)
                os.rename(self.drawn(file["output"]), self.where(file))


def _verify_and_record(run: _Run, layout, staging, results, inventory, hasher, clock, place, parent=None) -> dict:
    """Phases 4 and 5: every other file copied (the config, the files named, then the named
    folders' files); every written dataset read back against the core's digest, every copy against
    its input; the sidecar written; the inputs checked unchanged. Returns the sidecar document."""
    circuit = run.circuit
    scan = place.scan
    written = {r["file_name"] for r in results}
    plan_files = output_files(layout, written=written)
    if scan:
        place.settle(plan_files, results, circuit)
    for file in plan_files:
        if file["from"] == "written" or place.stored(file):
            continue
        if file["from"] == "config":
            with open(place.where(file), "x", encoding="utf-8", newline="") as stream:
                stream.write(place.config_text)
            continue
        real = file["file"]["real"] if file.get("file") else circuit.real(file["entry"]["input"])
        copy_new(real, place.where(file))
    sidecar_layout = scan["layout"]["point"] if scan else layout
    directories = [p["output"] or "." for e, p in zip(layout["entries"], sidecar_layout["entries"]) if e.get("present") and e["kind"] == "dir"]
    clock.phase("copy other files")

    hashed_files = [f for f in plan_files if f["from"] != "config" and not f.get("file") and not place.stored(f)]
    output_hashing = hasher.hash([place.where(f) for f in hashed_files])
    datasets = {}
    for file in plan_files:
        where = place.where(file)
        if file["from"] == "config":
            with open(where, encoding="utf-8", newline="") as stream:
                if stream.read() != place.config_text:
                    raise CircuitError("verification failed: the written config differs from the one planned", file=file["output"])
        elif file["from"] == "written":
            digests = {}
            with h5py.File(place.drawn(file["output"]) if place.stored(file) else where, "r") as h5:
                for population in (r for r in results if r["file_name"] == file["entry"]["input"]):
                    for checked in verify_datasets(h5, population["name"], population["datasets"], file["output"]):
                        digests[checked["dataset"]] = {"storage": checked["storage"], "rows": checked["rows"], "digest": checked["digest"]}
            if place.stored(file):
                if scan["digests"].get(file["output"]) != digests:
                    raise CircuitError("internal error: this scan point drew differently from the first point what no point changes; nothing was published (please report it)", file=file["output"])
                os.remove(place.drawn(file["output"]))
            elif place.shared(file):
                scan.setdefault("digests", {})[file["output"]] = digests
            datasets[place.named(file)] = digests
        elif place.stored(file):
            continue
        elif file.get("file") and os.path.getsize(where) != file["file"]["identity"][2]:
            raise CircuitError(f"verification failed: the output copy differs in size from its input {printable(file['file']['real'])}", file=file["output"])
    if scan:
        shutil.rmtree(os.path.join(staging, ".drawn"), ignore_errors=True)
    clock.phase("verify datasets")
    input_hashes = {r["name"]: f.result() for r, f in zip(inventory["named"], inventory["hashing"])}
    output_hashes = {place.named(f): h.result() for f, h in zip(hashed_files, output_hashing)}
    if scan and scan["first"]:
        scan["hashes"] = dict(output_hashes)
    elif scan:
        output_hashes.update({place.named(f): scan["hashes"][place.named(f)] for f in plan_files if place.stored(f) and not f.get("file")})
    planned = [{"output": place.named(f), "from": f["from"], "input": f["entry"]["input"] if f.get("entry") else None,
                "in_folder": bool(f.get("file"))} for f in plan_files]
    try:
        outputs = json.loads(_synparam.recorded_output_hashes(place.config_text, json.dumps(planned), json.dumps(input_hashes),
                                                              json.dumps(output_hashes)))
    except ValueError as error:
        raise CircuitError(str(error)) from None
    input_inodes = {(r["identity"][0], r["identity"][1]) for r in inventory["records"]}
    ours = files_below(staging, []) + (files_below(scan["shared_dir"], []) if scan and scan["first"] else [])
    for item in ours:
        info = os.stat(item["real"])
        if (info.st_dev, info.st_ino) in input_inodes:
            raise CircuitError("verification failed: the output file shares its inode with an input (it is an input)", file=item["relative"])
    clock.phase("wait for hashes")

    import synparam

    sidecar = sidecar_text(
        version=synparam.__version__, created=iso_now(), seed=run.seed,
        pathway_property=run.pathway_property, fallback=run.fallback, overwrite=run.overwrite, populations=run.requested,
        config_text=run.user_config_text, results=results, layout=sidecar_layout, inputs=input_hashes, outputs=outputs,
        datasets=datasets, directories=directories, not_included=inventory["not_included"], unavailable=circuit.unavailable,
        explain=run.explain, parent=parent, skipped=run.skipped)
    with open(os.path.join(staging, _synparam.sidecar_name()), "x", encoding="utf-8", newline="") as stream:
        stream.write(sidecar)
    for record in inventory["records"]:
        try:
            now = identity_of(record["real"])
        except OSError:
            now = None
        if now != record["identity"]:
            raise CircuitError(f"an input changed during the run{'' if now else ' (it is gone)'}; the result was not published", file=record["real"])
    clock.phase("sidecar, inputs checked")
    return json.loads(sidecar)


def sidecar_text(*, version, created, seed, pathway_property, fallback, overwrite, populations, config_text, results,
                 layout, inputs, outputs, datasets, directories, not_included, unavailable, explain=None, parent=None,
                 skipped=()):
    """The provenance sidecar's text, as the core writes it for every host (src/output/sidecar.rs)."""
    inputs_json = {
        "version": version, "created": created, "seed": str(int(seed)), "pathway_property": pathway_property,
        "fallback": fallback, "overwrite": overwrite, "populations": populations, "config_text": config_text,
        "parameterized": [{"name": r["name"], "file": r["file_name"], "synapses": r["size"],
                           "connections": sum(r["connections"].values()), "attributes": r.get("attributes")} for r in results],
        "layout": {"entries": [{k: e[k] for k in ("input", "output", "kind", "role")} for e in layout["entries"]],
                   "config": layout["config"], "unset": layout.get("unset", [])},
        "inputs": inputs, "outputs": outputs, "datasets": datasets, "directories": directories,
        "not_included": not_included,
        "unavailable": [{"kind": u["kind"], "name": u["name"], "population": u["population"]} for u in unavailable],
        "skipped": list(skipped),
        "rules_matching_nothing": explain["rules_matching_nothing"] if explain else [], "parent": parent,
    }
    return _synparam.sidecar_text(json.dumps(inputs_json))


# ----------------------------------------------------------------------------- fitting a model

def fit_circuit(circuit_config, *, pathway_property, client=None, partition_rows=DEFAULT_PARTITION_ROWS, **keywords):
    """Fit a ``ConnPropsModel`` from the circuit of ``circuit_config`` on the Dask ``client``'s
    cluster (None: in this process), as :func:`synparam.fit` does (the same ``keywords``:
    ``properties``, ``laws``, ``mode``, ``min_samples``, ``max_samples``, ``seed``, ``populations``,
    ``fallback``, ``chunk_rows``, ``options``, ``settings``, ``delay_bin_um``). Each pass's chunks are fitted in tasks of about
    ``partition_rows`` edges (named ``synparam-fit-pass<n>-part<i>-…``), each returning one partial
    state per chunk, which this process merges in edge order: the model is the same bits as
    ``synparam.fit`` and the command's ``--fit`` for any number of workers and partition size.

    Returns ``{"model", "report", "model_text", "report_text", "settings", "populations",
    "not_fitted", "warnings", "passes", "chunk_rows"}``; writes nothing."""
    from .fitting import fit_circuit as fit_here

    if partition_rows is None or int(partition_rows) < 1:
        raise ValueError("partition_rows must be a positive integer")
    return fit_here(circuit_config, pathway_property=pathway_property, client=client, partition_rows=int(partition_rows), **keywords)


# ----------------------------------------------------------------------------- command line

def _fmt(x):
    return "-" if x is None else f"{float(x):.4g}"


def summarize(result, out=print):
    for population in result["populations"]:
        total = sum(population["connections"].values())
        out(f"\n{printable(population['name'])} ({printable(population['source'])} → {printable(population['target'])}): {population['size']} synapses in {total} connections")
        for prop in population["stats"]:
            for p in prop.get("pathways", []):
                pathway = f"{p['source']} → {p['target']}"
                out(f"  {printable(prop['property']):<26} {printable(pathway):<44} synapses={str(p.get('count')):<8} connections={str(population['connections'].get(pathway, 0)):<7} mean={_fmt(p.get('mean')):<10} std={_fmt(p.get('std'))}")


def _parser():
    parser = argparse.ArgumentParser(prog="synparam-dask", description="Parameterize the synapses of a SONATA circuit on a Dask cluster; the same output as the synparam command.")
    parser.add_argument("--circuit", required=True, help="circuit_config.json")
    parser.add_argument("--config", required=True, help="model or task config (JSON file); a scan config runs every point")
    parser.add_argument("--max-points", type=int, help="a scan config: refuse more points than this (default: the config's max_points, else 10000)")
    parser.add_argument("--scalings-as-overrides", action="store_true",
                        help="a scan config: a point that only scales some pathways' laws writes SONATA connection_overrides over point 0's edges instead of edges files")
    parser.add_argument("--out", required=True, help="output folder (new or empty)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--pathway-property")
    parser.add_argument("--populations", help="edge populations, comma-separated (default: all)")
    parser.add_argument("--fallback-value", help="pathway value of nodes without the pathway property: one for every node population, or POPULATION=VALUE,... (*=VALUE: every other population)")
    parser.add_argument("--overwrite", action="store_true", default=None)
    parser.add_argument("--strict", action="store_true", help="for rules: refuse a rule naming a selector value no node has (default: a warning)")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=int, help="start a local Dask cluster of N worker processes (default: one per core)")
    cluster.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786) or a scheduler file (.json)")
    parser.add_argument("--partition-rows", type=int, default=DEFAULT_PARTITION_ROWS, help=f"edges per task (default {DEFAULT_PARTITION_ROWS})")
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--dashboard", default=":8787", help="local cluster dashboard address (\"\" for none)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv=None):
    """``synparam-dask``: exit 0 on success, 1 on an error (one line on stderr), 2 on a usage error."""
    args = _parser().parse_args(argv)
    if args.seed is not None and args.seed < 0:
        _parser().error("--seed must be a non-negative integer")
    if args.partition_rows < 1 or (args.workers is not None and args.workers < 1):
        _parser().error("--partition-rows and --workers must be positive integers")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import synparam
    from dask.distributed import Client, LocalCluster

    cluster = client = None
    try:
        if args.scheduler:
            client = Client(scheduler_file=args.scheduler) if args.scheduler.endswith(".json") else Client(args.scheduler)
        else:
            workers = args.workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=workers, threads_per_worker=args.threads_per_worker, processes=True,
                                   dashboard_address=args.dashboard or None, host="127.0.0.1")
            client = Client(cluster)
        if client.dashboard_link and not args.quiet:
            L.info("Dask dashboard: %s", client.dashboard_link)
        # The value for every node population, or POPULATION=VALUE entries (the core reads the text).
        fallback = None if args.fallback_value is None else json.loads(_synparam.fallback_from_text(args.fallback_value, "--fallback-value"))
        settings = dict(seed=args.seed, pathway_property=args.pathway_property, fallback=fallback, overwrite=args.overwrite,
                        populations=[p for p in args.populations.split(",") if p] if args.populations else None,
                        client=client, partition_rows=args.partition_rows, strict=args.strict)
        if _synparam.is_scan_config(_config_text(args.config)):
            scanned = scan_circuit(args.circuit, args.config, args.out, max_points=args.max_points, scalings_as_overrides=args.scalings_as_overrides,
                                   _option_names=_CONSOLE_OPTION_NAMES, **settings)
            for point, output in zip(scanned["plan"]["points"], scanned["outputs"] or []):
                if output["as"] == "edges" and output["reason"]:
                    print(f"{printable(point['name'])}: written as edges: {printable(output['reason'])}")
            if not args.quiet:
                print(f"wrote the scan to {printable(scanned['out_dir'])}: scan.json, {len(scanned['points'])} circuit(s), files no point changes once in shared/; each verified")
            for warning in scanned["warnings"] + list(dict.fromkeys(w for r in scanned["points"] for w in r["warnings"])):
                print(f"warning: {printable(warning)}")
            return 0
        if args.max_points is not None:
            _parser().error("--max-points is for a scan config (one with \"scan\": \"grid\" or \"coupled\")")
        if args.scalings_as_overrides:
            _parser().error("--scalings-as-overrides is for a scan config (one with \"scan\": \"grid\" or \"coupled\")")
        result = parameterize_circuit(args.circuit, args.config, args.out, **settings)
    except (CircuitError, synparam.SynparamError) as error:
        name = type(error).__name__
        print(f"synparam-dask: error: {'' if name == 'CircuitError' else name + ': '}{printable(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("synparam-dask: interrupted; the unfinished output was removed", file=sys.stderr)
        return 130
    except OSError as error:
        print(f"synparam-dask: error: {printable(error)}", file=sys.stderr)
        return 1
    finally:
        for resource in (client, cluster):
            if resource is not None:
                try:
                    resource.close()
                except Exception:  # noqa: BLE001
                    pass
    if not args.quiet:
        summarize(result)
        print(f"\nwrote the parameterized circuit to {printable(result['out_dir'])}, verified"
              + (" (circuit_config.json rewritten: files outside the circuit folder are in external/)" if result["rewritten_config"] else ""))
    for warning in result["warnings"]:
        print(f"warning: {printable(warning)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
