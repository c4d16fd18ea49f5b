"""Parameterize Spark DataFrames of edges with the synparam core (``synparam.spark``).

BBP's functionalizer and similar pipelines hold edges as Spark DataFrames and Parquet files before
converting them to SONATA.  :func:`parameterize_dataframe` adds one column per model property to
such a DataFrame with ``DataFrame.mapInArrow``: every Python worker builds one
:class:`synparam.Parameterizer` per model (cached for the worker's life), and every Arrow batch is
drawn by the Rust core — the same core as the page and the command, so the values are the
command's, bit for bit, for the same config, seed, pathway values and edge ids, whatever the
partitioning, the batch size, the row order or the number of executors.

The DataFrame has one row per edge with

* ``source_node_id``, ``target_node_id`` — node ids (any integer column, or ``decimal(20,0)``
  as Spark reads Parquet ``uint64``);
* ``edge_id`` — the edge's row in its SONATA edge population (it keys the random streams: the
  values of an edge depend only on the seed, the edge population's name, the property, and its
  ``edge_id`` or, for ``shared_within`` specs, its source and target ids);
* the edge population: one name for every row (``population=``) or a column
  (``population_column=``);
* and the pathway values, in one of two ways:

  - ``nodes=``: a node table per edge population — the pathway values of the source and target
    node populations, one entry per node id (pyarrow arrays; see
    e.g. from :func:`node_tables_from_circuit`).  It is shipped to
    the executors once as a Spark broadcast variable;
  - or two columns of the DataFrame with each edge's source and target pathway value
    (``source_column=`` / ``target_column=``, by default ``source_<pathway_property>`` and
    ``target_<pathway_property>``), e.g. after a join with the node table.

A model that reads per-synapse edge attributes (``lin_delay``, ``fz_delay``, ``scale_by``) takes
them from the DataFrame's columns: every numeric column is an edge dataset the core may plan (on
the driver, naming every one the DataFrame lacks before any job) — the synapse position as
``afferent_center_x/y/z`` (or ``efferent_center_x/y/z``) and any other dataset the model names
(``afferent_section_type``, …) under its own name.  For ``distance_soma`` the core also needs the
source nodes' soma positions: ``"source_positions": (x, y, z)`` in each node table (one value
per source node id; :func:`node_tables_from_circuit` with ``positions=True``), or, without
``nodes=``, the columns ``source_x``, ``source_y``, ``source_z`` holding each edge's source soma.
A precomputed ``distance_soma`` column is not read: the core derives the distance itself, so
that every host computes the same bits.

The new columns are named after the properties.  With ``dtypes="sonata"`` (the default) they hold
what the command writes into a *new* SONATA dataset (float32 for conductance, decay_time, …;
uint32 for syn_type_id and n_rrp_vesicles; a spec's explicit dtype), converted and checked by the
core exactly as the command's writer does (a value that does not fit is an error naming the JSON
path and the edge).  Spark has no unsigned types: unsigned storage types are widened to the next
signed type (uint32 → ``long``), which holds every value exactly; :func:`output_dtypes` returns
the storage dtypes for writing the SONATA file later.  With ``dtypes="model"`` the columns have the
model's own dtypes (``float64`` unless the spec names one).  A column that already exists in the
DataFrame is refused unless ``overwrite`` (or the config's ``overwrite_if_exists``) is set; it is
then replaced in place and keeps its type, as an existing SONATA dataset keeps its dtype.

Run settings (seed, pathway property, fallback value, overwrite, edge populations) are resolved by
the core from the config and the keyword overrides (:func:`synparam.plan_run`), as the command and
the page resolve them.  With ``edge_populations`` in the config, rows of other populations are
left alone (new columns null, replaced columns unchanged), as the command leaves those files alone.

Errors: problems found on the driver (bad config, missing columns, existing columns, a node table
missing values) raise at once, with synparam's typed exceptions.  Problems found while drawing (a
value that does not fit, an edge population without a node table, a node id outside its node
table) fail the Spark job; Spark wraps the Python exception, whose message starts with
``synparam.spark:`` and names the edge population, the column or property, and the edges.

Batch size: Spark hands ``mapInArrow`` batches of ``spark.sql.execution.arrow.maxRecordsPerBatch``
rows (10,000 by default); 100,000–1,000,000 amortizes the per-batch overhead better.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import synparam
from synparam import _synparam

__all__ = [
    "parameterize_dataframe",
    "output_dtypes",
    "node_tables_from_circuit",
    "circuit_edge_populations",
    "SparkParameterizationError",
    "EDGE_COLUMNS",
]

log = logging.getLogger("synparam.spark")

#: The id columns every edge DataFrame needs.
EDGE_COLUMNS = ("source_node_id", "target_node_id", "edge_id")

# An identity layout as large as any edge id (the core checks edge_id < rows).
_ANY_SIZE = 2**63 - 1


class SparkParameterizationError(RuntimeError):
    """An error while drawing in a Spark task; the message names the edge population, the column
    or property and the edges (Spark shows it inside its ``PythonException``)."""


# --------------------------------------------------------------------------------------------
# Types


def _spark_types():
    from pyspark.sql import types as T

    return T


def _storage_of_spark_type(data_type) -> str | None:
    """The numpy name of the storage type an existing Spark column stands for (None: not numeric)."""
    T = _spark_types()
    for spark_type, name in (
        (T.FloatType, "float32"),
        (T.DoubleType, "float64"),
        (T.ByteType, "int8"),
        (T.ShortType, "int16"),
        (T.IntegerType, "int32"),
        (T.LongType, "int64"),
    ):
        if isinstance(data_type, spark_type):
            return name
    return None


# Arrow type Spark can hold exactly for each storage / model type (Spark has no unsigned types).
_SPARK_ARROW = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.int16(),
    "uint16": pa.int32(),
    "uint32": pa.int64(),
    "uint64": pa.int64(),  # checked: values above 2^63 - 1 are an error
}


def _spark_type_of_arrow(arrow_type: pa.DataType):
    T = _spark_types()
    mapping = {
        pa.float32(): T.FloatType(),
        pa.float64(): T.DoubleType(),
        pa.int8(): T.ByteType(),
        pa.int16(): T.ShortType(),
        pa.int32(): T.IntegerType(),
        pa.int64(): T.LongType(),
    }
    return mapping[arrow_type]


def _arrow_type_of_spark(data_type) -> pa.DataType:
    """Arrow type of a Spark column as Spark hands it to ``mapInArrow``."""
    try:
        from pyspark.sql.pandas.types import to_arrow_type
    except ImportError:  # pragma: no cover - very old pyspark
        from pyspark.sql.types import to_arrow_type  # type: ignore
    return to_arrow_type(data_type)


def _dtype_name(arrow_type: pa.DataType) -> str:
    return np.dtype(arrow_type.to_pandas_dtype()).name


def _is_integer_spark_type(data_type) -> bool:
    T = _spark_types()
    if isinstance(data_type, T.IntegralType):
        return True
    return isinstance(data_type, T.DecimalType) and data_type.scale == 0


# --------------------------------------------------------------------------------------------
# Pathway values


def _pathway_array(values: Any, what: str) -> pa.Array:
    """A node pathway column as the core reads it: strings (or dictionary-encoded strings), nulls
    for nodes without the property.  Integers, booleans and floats become their decimal text, as
    the command turns a numeric node property into text (``String(value)`` in JavaScript)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        try:
            values = pa.array(values.tolist() if hasattr(values, "tolist") else list(values), from_pandas=True)
        except (pa.ArrowException, TypeError) as error:
            raise TypeError(f"synparam.spark: {what}: cannot read the pathway values as an Arrow array ({error})") from error
    if pa.types.is_dictionary(values.type):
        if pa.types.is_string(values.type.value_type) or pa.types.is_large_string(values.type.value_type):
            return values
        values = values.dictionary_decode()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_null(values.type):
        return values.cast(pa.string())
    if pa.types.is_integer(values.type) or pa.types.is_boolean(values.type):
        return pc.cast(values, pa.string())
    if pa.types.is_floating(values.type):
        # JavaScript's String(): whole numbers without ".0"
        from . import _synparam
        return pa.array([None if v is None else _synparam.number_text(v) for v in values.to_pylist()], pa.string())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        return pc.cast(values, pa.string())
    raise TypeError(f"synparam.spark: {what}: pathway values of type {values.type} (want strings or integers)")


def _node_values_array(values) -> pa.DictionaryArray:
    """A list of strings (None for missing) as a dictionary-encoded pathway column."""
    return pc.dictionary_encode(pa.array(values, pa.string()))


def circuit_edge_populations(circuit_config: str) -> dict:
    """The edge populations of a SONATA ``circuit_config.json``, loaded as the command loads them
    (:func:`synparam.sonata.load_circuit`): ``{name: {"edges_file", "source_population",
    "target_population", "size"}}``.  Needs h5py."""
    from synparam import sonata

    circuit = sonata.load_circuit(circuit_config)
    return {
        name: {"edges_file": edges.real, "source_population": edges.source, "target_population": edges.target, "size": edges.size}
        for name, edges in circuit.edge_populations.items()
    }


def node_tables_from_circuit(circuit_config: str, pathway_property: str = "synapse_class", edge_populations: Iterable[str] | None = None,
                             positions: bool = False) -> dict:
    """The ``nodes=`` argument of :func:`parameterize_dataframe` for the edge populations of a
    SONATA circuit: ``{edge population: {"source": values, "target": values, "source_population":
    name, "target_population": name}}``, the node properties read as the command reads them
    (:func:`synparam.sonata.node_property_values`: ``@library`` tables, node-types CSV, numbers as
    text), each node population once.  A node population without the property gives nulls (the
    core then needs a fallback value).  ``positions``: also ``"source_positions"``, the source
    nodes' soma ``x``, ``y``, ``z`` (µm) for a model that reads ``distance_soma`` (None where the
    source population has none, e.g. a virtual one; a model that needs them then refuses that
    table).  Needs h5py."""
    from synparam import sonata

    circuit = sonata.load_circuit(circuit_config)
    wanted = list(edge_populations) if edge_populations is not None else list(circuit.edge_populations)
    cache: dict[str, pa.Array] = {}
    soma: dict[str, tuple | None] = {}
    tables = {}
    for name in wanted:
        edges = circuit.edge_populations.get(name)
        if edges is None:
            why = [u.get("message") for u in circuit.unavailable if u.get("population") == name]
            raise KeyError(
                f"synparam.spark: {circuit_config}: edge population '{name}' "
                + (f"cannot be loaded ({why[0]})" if why else f"does not exist (it has: {', '.join(circuit.edge_populations)})")
            )
        for node_population in (edges.source, edges.target):
            if node_population not in cache:
                population = circuit.node_populations[node_population]
                values = sonata.node_property_values(population, pathway_property)
                cache[node_population] = _node_values_array(values if values is not None else [None] * population.size)
        tables[name] = {
            "source": cache[edges.source],
            "target": cache[edges.target],
            "source_population": edges.source,
            "target_population": edges.target,
        }
        if positions:
            if edges.source not in soma:
                try:
                    soma[edges.source] = sonata.node_positions(circuit.node_populations[edges.source], name)
                except sonata.CircuitError as error:  # refused by parameterize_dataframe when a model needs them
                    soma[edges.source] = str(error)
            found = soma[edges.source]
            tables[name]["source_positions"] = None if isinstance(found, str) else found
            if isinstance(found, str):
                tables[name]["source_positions_missing"] = found
    return tables


# --------------------------------------------------------------------------------------------
# Settings and the output plan (driver)


def _config_text(config: Any) -> str:
    if isinstance(config, Mapping):
        return json.dumps(config)
    if isinstance(config, bytes):
        config = config.decode("utf-8")
    if isinstance(config, os.PathLike) or (isinstance(config, str) and not config.lstrip().startswith("{") and os.path.isfile(config)):
        with open(config, encoding="utf-8") as f:
            return f.read()
    if isinstance(config, str):
        return config
    raise TypeError(f"synparam.spark: config must be JSON text, a dict or a path, not {type(config).__name__}")


def _settings(config_text: str, seed, pathway_property, fallback, overwrite, populations) -> dict:
    plan = synparam.plan_run(
        config_text,
        seed=seed,
        pathway_property=pathway_property,
        fallback=fallback,
        overwrite=overwrite,
        populations=list(populations) if populations is not None else None,
    )
    settings = plan["settings"]

    def value(*keys):
        for key in keys:
            if key in settings:
                entry = settings[key]
                return entry["value"] if isinstance(entry, Mapping) and "value" in entry else entry
        return None

    resolved_seed = value("seed")
    if resolved_seed is None:
        raise ValueError("synparam.spark: no seed: pass seed= or set random_seed in the config")

    return {
        "seed": int(resolved_seed),
        "pathway_property": value("pathwayProperty", "pathway_property"),
        "fallback": value("fallback"),
        "overwrite": bool(value("overwrite")),
        "populations": value("populations"),
        "summary": plan.get("summary", {}),
    }


def _probe_nodes(summary: Mapping, role: str) -> pa.Array:
    types = summary.get("src_types" if role == "source" else "tgt_types") or []
    return pa.array(list(types), pa.string())


def _add_population(run, name: str, tables: Mapping, pathway_property: str, fallback):
    run.add_edge_population(
        name,
        tables["source"],
        tables["target"],
        pathway_property,
        fallback=fallback,
        source_population=tables.get("source_population"),
        target_population=tables.get("target_population"),
    )


def _new_parameterizer(config_text: str, seed: int):
    run = synparam.Parameterizer(config_text, seed=seed)
    run.set_connection_counting(False)
    return run


#: Without ``nodes=``, the columns holding each edge's source soma position (µm), for distance_soma.
SOURCE_POSITION_COLUMNS = ("source_x", "source_y", "source_z")


def _ready_probe(run, name: str, available, sources: int, positions=None) -> list:
    """Plan the edge attributes of a driver-side run that plans storage and reads the model's
    schema but never draws: ``available`` columns (None: what the model names, with
    ``distance_soma`` read from afferent_center_x/y/z) and ``positions`` (None: zeros for the
    ``sources`` source nodes). Returns the datasets planned (empty for a model without attributes)."""
    required = run.required_edge_attributes()
    if not required:
        return []
    if available is None:
        available = [a for a in required if a != _synparam.DISTANCE_SOMA] + list(_synparam.AFFERENT_CENTER)
    reads = run.plan_edge_attributes(name, available)
    if reads["source_positions"]:
        if positions is None:
            zeros = np.zeros(sources)
            positions = (zeros, zeros, zeros)
        run.set_source_positions(name, *positions)
    return reads["datasets"]


def _empty_schema(run, name: str, datasets) -> pa.Schema:
    """The model's output schema, from a run over no edges."""
    empty = pa.record_batch([pa.array([], pa.uint64())] * 3, names=list(EDGE_COLUMNS))
    return run.run_batch(name, empty, attributes=[pa.array([], pa.float64()) for _ in datasets]).schema


def _plan_storage(run, population: str, existing: list[dict], overwrite: bool) -> list[dict]:
    plan = run.plan_output(population, _ANY_SIZE, existing, [0] if existing else [], overwrite)
    return plan["datasets"]


def output_dtypes(config: Any, seed: int | None = None, *, existing: Mapping[str, str] | None = None, overwrite: bool | None = None, dtypes: str = "sonata") -> dict[str, str]:
    """``{property: numpy dtype name}`` of the columns :func:`parameterize_dataframe` draws:
    with ``dtypes="sonata"`` the SONATA dtype the command gives a new dataset (or ``existing[p]``,
    the dtype of an existing column, kept), which a Parquet → SONATA conversion should write
    (Spark widens unsigned types); with ``"model"`` the model's column types."""
    text = _config_text(config)
    settings = _settings(text, seed if seed is not None else 0, None, None, overwrite, None)
    run = _new_parameterizer(text, settings["seed"])
    summary = settings["summary"]
    probe = {"source": _probe_nodes(summary, "source"), "target": _probe_nodes(summary, "target")}
    _add_population(run, "probe", probe, settings["pathway_property"] or "synapse_class", None)
    datasets = _ready_probe(run, "probe", None, len(probe["source"]))
    if dtypes == "model":
        return {field.name: _dtype_name(field.type) for field in _empty_schema(run, "probe", datasets)}
    rows = [{"group": 0, "property": p, "storage": s, "rows": _ANY_SIZE} for p, s in (existing or {}).items()]
    datasets = _plan_storage(run, "probe", rows, settings["overwrite"])
    return {d["property"]: d["storage"] for d in datasets}


# --------------------------------------------------------------------------------------------
# The factory


def parameterize_dataframe(
    df,
    config: Any,
    seed: int | None = None,
    *,
    nodes: Mapping[str, Mapping[str, Any]] | None = None,
    population: str | None = None,
    population_column: str | None = None,
    source_column: str | None = None,
    target_column: str | None = None,
    pathway_property: str | None = None,
    fallback: str | None = None,
    overwrite: bool | None = None,
    populations: Iterable[str] | None = None,
    dtypes: str = "sonata",
    broadcast: bool = True,
):
    """Add the model's property columns to a Spark DataFrame of edges (lazily, with
    ``df.mapInArrow``); returns the new DataFrame.

    Args:
        df: the edges: ``source_node_id``, ``target_node_id``, ``edge_id`` (the edge's row in its
            SONATA edge population), the population column if any, the pathway value columns
            without ``nodes``; every other column is passed through.
        config: the model or task config — a dict, JSON text, or the path of a JSON file.
        seed: overrides the config's ``random_seed`` (one of them is required).
        nodes: node tables per edge population: ``{edge population: {"source": values,
            "target": values}}`` with the pathway value of every node id of the source and target
            node populations (pyarrow arrays, numpy arrays or lists; null / None = node without
            the property); optional ``"source_population"`` / ``"target_population"`` names
            appear in messages; ``"source_positions": (x, y, z)``, the source nodes' somata, for
            a model that reads ``distance_soma``.  :func:`node_tables_from_circuit` builds it from
            a circuit.
        population: the edge population of every row (default: the only key of ``nodes``).
        population_column: or the column holding each row's edge population.
        source_column, target_column: without ``nodes``, the columns holding each edge's source
            and target pathway value (default ``source_<pathway_property>`` /
            ``target_<pathway_property>``).  A node must have one value in every row.
        pathway_property, fallback, overwrite, populations: override the config's
            ``pathway_property``, ``fallback_pathway_value``, ``overwrite_if_exists`` and
            ``edge_populations``.
        dtypes: ``"sonata"`` (default: the storage dtypes the command writes, unsigned types
            widened for Spark) or ``"model"`` (the model's dtypes).
            A model that reads edge attributes reads them from the DataFrame's columns of those
            names, and for ``distance_soma`` the source positions from ``nodes=``'s
            ``"source_positions"`` or the ``source_x``/``source_y``/``source_z`` columns (see the
            module's documentation).
        broadcast: ship ``nodes`` as a Spark broadcast variable (default) rather than inside
            every task.

    Raises:
        synparam.ConfigError and the other synparam errors for the config and the node tables;
        ValueError for missing or clashing columns.  Errors while drawing fail the Spark job with a
        :class:`SparkParameterizationError` message.
    """
    if dtypes not in ("sonata", "model"):
        raise ValueError(f"synparam.spark: dtypes must be 'sonata' or 'model', not {dtypes!r}")
    text = _config_text(config)
    settings = _settings(text, seed, pathway_property, fallback, overwrite, populations)
    prop = settings["pathway_property"] or "synapse_class"
    schema = df.schema
    names = schema.names

    _check_edge_columns(schema)
    tables = _node_tables(nodes)
    if tables is None and isinstance(settings["fallback"], Mapping) and any(k != "*" for k in settings["fallback"]):
        # Pathway columns carry each edge's values, not the node populations a per-population
        # fallback names (nodes= tables do: there it applies per table's node populations).
        raise ValueError(
            "synparam.spark: fallback: a value per node population needs nodes= tables; pathway columns carry "
            "values per edge: give one fallback value for every node"
        )
    population = _rows_population(population, population_column, tables, names, settings["populations"])
    if tables is None:
        source_column = source_column or f"source_{prop}"
        target_column = target_column or f"target_{prop}"
        for role, column in (("source", source_column), ("target", target_column)):
            if column not in names:
                raise ValueError(
                    f"synparam.spark: no {role} pathway values: the DataFrame has no column '{column}' and nodes= is not given "
                    f"(pass nodes={{population: {{'source': …, 'target': …}}}} or {role}_column='…'; columns: {', '.join(names)})"
                )
    elif source_column or target_column:
        raise ValueError("synparam.spark: give nodes= or source_column/target_column, not both")
    properties, kinds, storage, existing, attributes = _planned_columns(text, settings, prop, tables, population, schema, dtypes)
    for name in (source_column, target_column, population_column):
        if name in properties:
            raise ValueError(f"synparam.spark: column '{name}' is also a property of the model; rename it")

    from pyspark.sql.types import StructField, StructType

    out_fields = []
    replaced = {}
    for field in schema.fields:
        if field.name in properties:
            replaced[field.name] = _arrow_type_of_spark(field.dataType)
        out_fields.append(field)
    added = [p for p in properties if p not in names]
    for name in added:
        out_fields.append(StructField(name, _spark_type_of_arrow(_SPARK_ARROW[kinds[name]]), True))
    out_schema = StructType(out_fields)

    payload = None
    if tables is not None:
        payload = _encode_tables(tables)
        if broadcast:
            try:
                payload = df.sparkSession.sparkContext.broadcast(payload)
            except Exception as error:  # Spark Connect has no SparkContext: ship it in the tasks
                log.info("synparam.spark: no broadcast (%s); the node tables go with every task", error)
    key = hashlib.sha256(
        json.dumps([text, settings["seed"], prop, settings["fallback"], settings["overwrite"], sorted(storage.items()), dtypes, attributes]).encode()
        + (hashlib.sha256(_encode_tables(tables)).digest() if tables is not None else b"")
    ).hexdigest()
    log.info(
        "synparam.spark: %d properties (%s), seed %d, pathway property %s, %s",
        len(properties),
        ", ".join(f"{p}:{kinds[p]}" for p in properties),
        settings["seed"],
        prop,
        "node tables for " + ", ".join(tables) if tables else f"pathway columns {source_column}, {target_column}",
    )
    mapper = _Mapper(
        key=key,
        config_text=text,
        seed=settings["seed"],
        pathway_property=prop,
        fallback=settings["fallback"],
        overwrite=settings["overwrite"],
        allowed=settings["populations"],
        population=population,
        population_column=population_column,
        source_column=source_column,
        target_column=target_column,
        payload=payload,
        dtypes=dtypes,
        properties=properties,
        kinds=kinds,
        existing={e["property"]: e["storage"] for e in existing},
        replaced={k: str(v) for k, v in replaced.items()},
        out_names=[f.name for f in out_fields],
        attributes=attributes,
    )
    return df.mapInArrow(mapper, out_schema)



def _check_edge_columns(schema):
    """The DataFrame has the edge id columns, as integers."""
    names = schema.names
    for column in EDGE_COLUMNS:
        if column not in names:
            raise ValueError(f"synparam.spark: the DataFrame has no column '{column}' (it needs {', '.join(EDGE_COLUMNS)}; it has: {', '.join(names)})")
        if not _is_integer_spark_type(schema[column].dataType):
            raise ValueError(f"synparam.spark: column '{column}' is {schema[column].dataType.simpleString()}, not an integer column")


def _node_tables(nodes):
    """``nodes=`` as pathway arrays per edge population (None when not given)."""
    if nodes is None:
        return None
    if not isinstance(nodes, Mapping) or not nodes:
        raise ValueError("synparam.spark: nodes must map each edge population to {'source': values, 'target': values}")
    tables = {}
    for name, entry in nodes.items():
        if not isinstance(entry, Mapping) or "source" not in entry or "target" not in entry:
            raise ValueError(f"synparam.spark: nodes['{name}'] must be {{'source': values, 'target': values}}")
        positions = entry.get("source_positions")
        if positions is not None and len(positions) != 3:
            raise ValueError(f"synparam.spark: nodes['{name}']['source_positions'] must be (x, y, z), one array per axis")
        tables[name] = {
            "source": _pathway_array(entry["source"], f"nodes['{name}']['source']"),
            "target": _pathway_array(entry["target"], f"nodes['{name}']['target']"),
            "source_population": str(entry["source_population"]) if entry.get("source_population") else None,
            "target_population": str(entry["target_population"]) if entry.get("target_population") else None,
            "positions": None if positions is None else tuple(synparam._float64_array(axis) for axis in positions),
            "positions_missing": entry.get("source_positions_missing"),
        }
    return tables


def _rows_population(population, population_column, tables, names, allowed):
    """The edge population of every row (None when a column holds it), checked against the node
    tables and the populations to parameterize."""
    if population is not None and population_column is not None:
        raise ValueError("synparam.spark: give population= or population_column=, not both")
    if population_column is not None:
        if population_column not in names:
            raise ValueError(f"synparam.spark: population_column '{population_column}' is not a column (columns: {', '.join(names)})")
    elif population is None:
        if tables is not None and len(tables) == 1:
            population = next(iter(tables))
        else:
            raise ValueError("synparam.spark: name the edge population: population='…' or population_column='…'" + (f" (nodes= has {len(tables)} tables)" if tables else ""))
    if population is not None and allowed is not None and population not in allowed:
        raise ValueError(
            f"synparam.spark: edge population '{population}' is not among the edge populations to parameterize "
            f"({', '.join(allowed)}: the config's edge_populations or populations=): nothing would be drawn"
        )
    if population_column is not None and allowed is not None:
        log.info("synparam.spark: only rows of %s are parameterized; other rows keep null / their existing values", ", ".join(allowed))
    if population is not None and tables is not None and population not in tables:
        raise ValueError(f"synparam.spark: nodes= has no table for edge population '{population}' (it has: {', '.join(tables)})")
    return population


def _planned_columns(text, settings, prop, tables, population, schema, dtypes):
    """What the model writes, planned by the core on the driver (which checks every node table
    too): ``(properties, kinds, storage, existing, attributes)`` (``attributes``: see
    :func:`_attribute_plan`)."""
    names = schema.names
    probe_name = population or (next(iter(tables)) if tables else "probe")
    probe_tables = tables[probe_name] if tables and probe_name in tables else {
        "source": _probe_nodes(settings["summary"], "source"),
        "target": _probe_nodes(settings["summary"], "target"),
    }
    if tables:
        for name, entry in tables.items():  # every table is checked here, not in a task
            check = _new_parameterizer(text, settings["seed"])
            try:
                _add_population(check, name, entry, prop, settings["fallback"])
            except synparam.SynparamError as error:
                raise _in_context(error, f"synparam.spark: nodes['{name}'] (edge population '{name}')") from error
    attributes = _attribute_plan(text, settings, prop, tables, probe_name, probe_tables, schema)
    run = _new_parameterizer(text, settings["seed"])
    _add_population(run, probe_name, probe_tables, prop, settings["fallback"])
    read = _ready_probe(run, probe_name, attributes and attributes["available"], len(probe_tables["source"]), probe_tables.get("positions"))
    model_schema = _empty_schema(run, probe_name, read)
    properties = [field.name for field in model_schema]
    existing = []
    for name in properties:
        if name in names:
            existing.append({"group": 0, "property": name, "storage": _storage_of_spark_type(schema[name].dataType), "rows": _ANY_SIZE})
    try:
        datasets = _plan_storage(run, probe_name, existing, settings["overwrite"])
    except synparam.SynparamError as error:
        if existing:
            raise ValueError(
                f"synparam.spark: the DataFrame already has column(s) {', '.join(e['property'] for e in existing)}: {error} "
                "(pass overwrite=True or set overwrite_if_exists to replace them, or drop them first)"
            ) from error
        raise
    storage = {d["property"]: d["storage"] for d in datasets}
    if dtypes == "sonata":
        kinds = storage
    else:
        kinds = {field.name: _dtype_name(field.type) for field in model_schema}
        for name in properties:
            if name in names:  # an existing column keeps its type
                kinds[name] = storage[name]
    return properties, kinds, storage, existing, attributes


def _attribute_plan(text, settings, prop, tables, probe_name, probe_tables, schema):
    """The edge attributes the model reads, planned by the core on the driver against the
    DataFrame's numeric columns (every one it lacks named before any job), and the source
    positions ``distance_soma`` needs checked: in every node table (``"source_positions"``) or
    as the :data:`SOURCE_POSITION_COLUMNS`. None for a model without attributes, else
    ``{"available", "datasets", "positions"}`` for the tasks."""
    run = _new_parameterizer(text, settings["seed"])
    if not run.required_edge_attributes():
        return None
    names = schema.names
    available = [field.name for field in schema.fields if _storage_of_spark_type(field.dataType) is not None]
    _add_population(run, probe_name, probe_tables, prop, settings["fallback"])
    try:
        reads = run.plan_edge_attributes(probe_name, available)
    except synparam.SynparamError as error:
        hint = (" (its distance_soma column is not read: the core derives distance_soma from the synapse position columns and the "
                "source positions, so that every host computes the same bits)") if _synparam.DISTANCE_SOMA in names else ""
        raise _in_context(error, f"synparam.spark: the DataFrame's columns{hint}") from error
    if reads["source_positions"] and tables is not None:
        for name, entry in tables.items():
            if entry.get("positions") is None:
                why = entry.get("positions_missing")
                raise ValueError(f"synparam.spark: the model reads distance_soma, which needs the source nodes' positions: nodes['{name}'] has no "
                                 "'source_positions' (x, y, z per source node id; node_tables_from_circuit(…, positions=True) reads them)"
                                 + (f": {why}" if why else ""))
            check = _new_parameterizer(text, settings["seed"])
            try:
                _add_population(check, name, entry, prop, settings["fallback"])
                check.plan_edge_attributes(name, available)
                check.set_source_positions(name, *entry["positions"])
            except synparam.SynparamError as error:
                raise _in_context(error, f"synparam.spark: nodes['{name}'] (edge population '{name}')") from error
    elif reads["source_positions"]:
        missing = [column for column in SOURCE_POSITION_COLUMNS if column not in names]
        if missing:
            raise ValueError(f"synparam.spark: the model reads distance_soma, which needs each edge's source soma position: the DataFrame has no "
                             f"column(s) {', '.join(missing)} and nodes= is not given (pass nodes= with 'source_positions', or join the "
                             "positions in as source_x, source_y, source_z)")
    return {"available": available, "datasets": reads["datasets"], "positions": reads["source_positions"]}

def _in_context(error: Exception, context: str) -> Exception:
    """The same synparam error (type and attributes: kind, path, …) with a message that starts
    with ``context``."""
    try:
        new = type(error)(f"{context}: {error}")
        for key, value in vars(error).items():
            setattr(new, key, value)
        return new
    except Exception:  # pragma: no cover - an exception type that cannot be rebuilt
        return error


def _encode_tables(tables: Mapping[str, Mapping]) -> bytes:
    """Node tables as one Arrow IPC stream per role and population, framed in a small header."""
    parts = []
    header = []
    for name, entry in tables.items():
        for role in ("source", "target"):
            sink = pa.BufferOutputStream()
            array = entry[role]
            batch = pa.record_batch([array], names=["pathway"])
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            data = sink.getvalue().to_pybytes()
            header.append([name, role, entry[f"{role}_population"], len(data)])
            parts.append(data)
        if entry.get("positions") is not None:
            sink = pa.BufferOutputStream()
            batch = pa.record_batch(list(entry["positions"]), names=["x", "y", "z"])
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            data = sink.getvalue().to_pybytes()
            header.append([name, "positions", entry["source_population"], len(data)])
            parts.append(data)
    head = json.dumps(header).encode()
    return len(head).to_bytes(8, "little") + head + b"".join(parts)


def _decode_tables(data: bytes) -> dict:
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    offset = 8 + size
    tables: dict[str, dict] = {}
    for name, role, node_population, length in header:
        reader = pa.ipc.open_stream(pa.py_buffer(data[offset : offset + length]))
        table = reader.read_all()
        offset += length
        entry = tables.setdefault(name, {})
        if role == "positions":
            entry["positions"] = tuple(column.combine_chunks() for column in table.columns)
            continue
        entry[role] = table.column(0).combine_chunks()
        entry[f"{role}_population"] = node_population
    return tables


# --------------------------------------------------------------------------------------------
# The worker side

_WORKER_CACHE: dict[str, dict] = {}
_WORKER_LOCK = threading.Lock()


def _worker_state(mapper: "_Mapper") -> dict:
    """Per Python worker and model: the node tables and one Parameterizer with the populations
    added (and planned) as they come."""
    with _WORKER_LOCK:
        state = _WORKER_CACHE.get(mapper.key)
        if state is None:
            if len(_WORKER_CACHE) > 8:
                _WORKER_CACHE.clear()
            tables = None
            if mapper.payload is not None:
                payload = mapper.payload.value if hasattr(mapper.payload, "value") else mapper.payload
                tables = _decode_tables(payload)
            state = {"tables": tables, "run": None, "planned": {}}
            _WORKER_CACHE[mapper.key] = state
        return state


def _as_id_array(column: pa.Array, name: str, population: str) -> pa.Array:
    if pa.types.is_decimal(column.type):
        try:
            return pc.cast(column, pa.uint64())
        except pa.ArrowInvalid as error:
            raise SparkParameterizationError(f"synparam.spark: edge population '{population}' column {name}: {error}") from error
    return column


class _Mapper:
    """The ``mapInArrow`` function: picklable by reference (module-level class), so that the
    worker-side cache is this module's and survives across tasks of a reused Python worker."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        state = _worker_state(self)
        for batch in batches:
            yield self._process(state, batch)

    # The Parameterizer of a population, ready for run_batch / run_storage.
    def _run_for(self, state: dict, population: str):
        tables = state["tables"]
        if state["run"] is None:
            state["run"] = _new_parameterizer(self.config_text, self.seed)
        run = state["run"]
        if population not in state["planned"]:
            if population not in tables:
                raise SparkParameterizationError(
                    f"synparam.spark: edge population '{population}'"
                    + (f" (column '{self.population_column}')" if self.population_column else "")
                    + f" has no node table; nodes= has: {', '.join(tables)}"
                )
            try:
                _add_population(run, population, tables[population], self.pathway_property, self.fallback)
                self._give_attributes(run, population, tables[population].get("positions"))
                state["planned"][population] = self._plan(run, population)
            except synparam.SynparamError as error:
                raise SparkParameterizationError(f"synparam.spark: edge population '{population}': {type(error).__name__}: {error}") from error
        return run, state["planned"][population]

    def _give_attributes(self, run, population: str, positions) -> None:
        """Plan the population's edge attributes as the driver planned them and give the source
        positions when distance_soma needs them (a model without attributes: nothing)."""
        if self.attributes is None:
            return
        run.plan_edge_attributes(population, self.attributes["available"])
        if self.attributes["positions"]:
            run.set_source_positions(population, *positions)

    def _positions_from_columns(self, population: str, batch: pa.RecordBatch, ids: np.ndarray):
        """Each source node's position from the :data:`SOURCE_POSITION_COLUMNS` (node id = row;
        one position per node, checked; nodes absent from the batch at 0, never read)."""
        size = int(ids.max()) + 1 if len(ids) else 0
        axes = []
        for column in SOURCE_POSITION_COLUMNS:
            values = np.asarray(batch.column(column).to_numpy(zero_copy_only=False), dtype=np.float64)
            axis = np.zeros(size)
            axis[ids] = values
            if not np.array_equal(axis[ids], values, equal_nan=True):
                node = int(ids[np.flatnonzero(axis[ids] != values)[0]])
                raise SparkParameterizationError(
                    f"synparam.spark: edge population '{population}': source node {node} has several values in column '{column}'")
            axes.append(axis)
        return axes

    def _plan(self, run, population: str) -> list[str] | None:
        """Plan storage (an identity layout of any size): the property of each planned dataset."""
        if self.dtypes == "sonata" or self.existing:
            existing = [{"group": 0, "property": p, "storage": s, "rows": _ANY_SIZE} for p, s in self.existing.items()]
            return [d["property"] for d in _plan_storage(run, population, existing, self.overwrite)]
        return None

    def _run_from_columns(self, population: str, batch: pa.RecordBatch):
        """A Parameterizer for one batch whose pathway values come in columns: each node's value
        placed at its id (one value per node, checked)."""
        run = _new_parameterizer(self.config_text, self.seed)
        entry = {}
        for role, column, id_column in (
            ("source", self.source_column, "source_node_id"),
            ("target", self.target_column, "target_node_id"),
        ):
            ids = np.asarray(_as_id_array(batch.column(id_column), id_column, population).to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)
            values = _pathway_array(batch.column(column), f"column '{column}'")
            encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
            codes_in = encoded.indices.to_numpy(zero_copy_only=False)
            null = np.asarray(encoded.is_null().to_numpy(zero_copy_only=False))
            codes_in = np.where(null, -1, codes_in).astype(np.int64)
            if null.any() and self.fallback is None:
                first = int(np.flatnonzero(null)[0])
                raise SparkParameterizationError(
                    f"synparam.spark: edge population '{population}': column '{column}' has {int(null.sum())} null {self.pathway_property} value(s) "
                    f"(first: {role} node {ids[first]}, edge_id {batch.column('edge_id')[first].as_py()}); set a fallback pathway value to parameterize them"
                )
            size = int(ids.max()) + 1 if len(ids) else 0
            if len(ids) and ids.min() < 0:
                raise SparkParameterizationError(f"synparam.spark: edge population '{population}': negative {id_column} {int(ids.min())}")
            codes = np.full(size, -2, dtype=np.int64)
            codes[ids] = codes_in
            if not np.array_equal(codes[ids], codes_in):
                bad = int(np.flatnonzero(codes[ids] != codes_in)[0])
                node = int(ids[bad])
                seen = {encoded.dictionary[c].as_py() if c >= 0 else None for c in codes_in[ids == node]}
                raise SparkParameterizationError(
                    f"synparam.spark: edge population '{population}': {role} node {node} has several values in column '{column}': "
                    + ", ".join(repr(v) for v in sorted(seen, key=str))
                )
            # Nodes absent from the batch: a value the batch has (never drawn for), or null with a fallback.
            filler = -1 if self.fallback is not None or len(codes_in) == 0 or (codes_in < 0).all() else int(codes_in[codes_in >= 0][0])
            codes[codes == -2] = filler
            mask = codes < 0
            indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
            entry[role] = pa.DictionaryArray.from_arrays(indices, encoded.dictionary)
            entry[f"{role}_population"] = f"{role} (column '{column}')"
            if role == "source" and self.attributes is not None and self.attributes["positions"]:
                entry["positions"] = self._positions_from_columns(population, batch, ids)
        try:
            _add_population(run, population, entry, self.pathway_property, self.fallback)
            self._give_attributes(run, population, entry.get("positions"))
            datasets = self._plan(run, population)
        except synparam.SynparamError as error:
            raise SparkParameterizationError(f"synparam.spark: edge population '{population}': {type(error).__name__}: {error}") from error
        return run, datasets

    def _draw(self, state: dict, population: str, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        """The property columns for the rows of one population, in row order."""
        ids = pa.record_batch(
            [_as_id_array(batch.column(c), c, population) for c in EDGE_COLUMNS],
            names=list(EDGE_COLUMNS),
        )
        run, datasets = self._run_for(state, population) if state["tables"] is not None else self._run_from_columns(population, batch)
        edge_id = ids.column(2)
        where = lambda: (  # noqa: E731
            f"synparam.spark: edge population '{population}', {ids.num_rows} edges (edge_id {pc.min(edge_id).as_py()}…{pc.max(edge_id).as_py()})"
        )
        attributes = None if self.attributes is None else [batch.column(name) for name in self.attributes["datasets"]]
        try:
            if self.dtypes == "sonata" or self.existing:
                blocks = run.run_storage(population, ids, attributes)
            if self.dtypes == "model":
                model = run.run_batch(population, ids, attributes=attributes)
        except synparam.SynparamError as error:
            hint = " (edge_id must be each edge's own row in its edge population: duplicates)" if "share a group row" in str(error) else ""
            raise SparkParameterizationError(f"{where()}: {type(error).__name__}: {error}{hint}") from error
        columns: dict[str, pa.Array] = {}
        if self.dtypes == "model":
            for field, column in zip(model.schema, model.columns):
                columns[field.name] = column
        if self.dtypes == "sonata" or self.existing:
            # run_storage gives each dataset's values in row (= edge_id) order: back to batch order.
            eid = np.asarray(edge_id.to_numpy(zero_copy_only=False))
            order = None if len(eid) < 2 or bool(np.all(eid[1:] > eid[:-1])) else np.argsort(eid, kind="stable")
            for dataset, _runs, values in blocks:
                name = datasets[dataset]
                if self.dtypes == "model" and name not in self.existing:
                    continue
                values = values if isinstance(values, pa.Array) else pa.array(values)
                if order is not None:
                    inverse = np.empty_like(order)
                    inverse[order] = np.arange(len(order))
                    values = values.take(pa.array(inverse))
                columns[name] = values
        return columns

    def _spark_column(self, name: str, values: pa.Array, population: str) -> pa.Array:
        """Values in the type Spark holds for the column (unsigned widened, checked)."""
        if name in self.replaced:
            target = pa.type_for_alias(self.replaced[name])
        else:
            target = _SPARK_ARROW[self.kinds[name]]
        if values.type == target:
            return values
        if pa.types.is_uint64(values.type):
            too_big = pc.greater(values, pa.scalar(2**63 - 1, pa.uint64()))
            if pc.any(too_big).as_py():
                raise SparkParameterizationError(
                    f"synparam.spark: edge population '{population}' property '{name}': a uint64 value above 2^63 - 1 cannot be held by a Spark long column"
                )
        try:
            return pc.cast(values, target)
        except pa.ArrowInvalid as error:
            raise SparkParameterizationError(f"synparam.spark: edge population '{population}' property '{name}': {error}") from error

    def _process(self, state: dict, batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        names = batch.schema.names
        if self.population_column is None:
            groups = [(self.population, None)]
        else:
            column = batch.column(self.population_column)
            if column.null_count:
                raise SparkParameterizationError(f"synparam.spark: {column.null_count} row(s) without an edge population in column '{self.population_column}'")
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            uniques = pc.unique(column).to_pylist()
            if len(uniques) == 1:
                groups = [(str(uniques[0]), None)]
            else:
                groups = [(str(p), np.flatnonzero(pc.equal(column, p).to_numpy(zero_copy_only=False))) for p in uniques]
        parts: dict[str, list] = {p: [] for p in self.properties}
        positions = []
        for population, rows in groups:
            allowed = self.allowed is None or population in self.allowed
            sub = batch if rows is None else batch.take(pa.array(rows))
            if allowed and n:
                drawn = self._draw(state, population, sub)
            else:
                drawn = {}
            for name in self.properties:
                if name in drawn:
                    parts[name].append(self._spark_column(name, drawn[name], population))
                elif name in self.replaced:  # not parameterized here: the existing values stay
                    parts[name].append(sub.column(name))
                else:
                    parts[name].append(pa.nulls(sub.num_rows, _SPARK_ARROW[self.kinds[name]]))
            positions.append(rows)
        if len(groups) == 1:
            out = {name: parts[name][0] for name in self.properties}
        else:
            order = np.concatenate(positions)
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            take = pa.array(inverse)
            out = {name: pa.concat_arrays(parts[name]).take(take) for name in self.properties}
        arrays = []
        for name in self.out_names:
            if name in out:
                arrays.append(out[name])
            else:
                arrays.append(batch.column(names.index(name)))
        return pa.record_batch(arrays, names=self.out_names)
