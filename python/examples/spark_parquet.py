"""Parameterize Parquet edges on Spark with synparam: Parquet in, Parquet out.

Functionalizer-style pipelines hold edges as Parquet (one row per synapse, ``source_node_id``,
``target_node_id`` and more) before converting them to SONATA.  This job adds the model's columns
(conductance, u_syn, …) with ``synparam.spark.parameterize_dataframe`` — the values are the
command's (``node www/host/cli.mjs``), bit for bit, for the same circuit, config and seed.

Two sub-commands:

    # 1. (demo / tests) SONATA edges → Parquet: ids, edge_id (the row in the population) and the
    #    edge population name, for every edge population of a circuit (or --populations a,b)
    python python/examples/spark_parquet.py export --circuit circuit_config.json --out edges.parquet

    # 2. the job: node tables from the circuit's node files, broadcast to the executors
    spark-submit python/examples/spark_parquet.py run \\
        --edges edges.parquet --nodes circuit_config.json --config model.json --seed 7 --out params.parquet
    # (or: python python/examples/spark_parquet.py run … --master local[2])

``--edges`` needs ``source_node_id``, ``target_node_id``, ``edge_id`` and either an
``edge_population`` column or ``--population NAME``; a model that reads edge attributes needs
their columns too (``export --datasets afferent_center_x,afferent_center_y,afferent_center_z``),
and, for ``distance_soma``, the source somata, which ``run`` reads with the node tables.  ``--nodes`` is the SONATA circuit config
whose node files hold the pathway property (``--pathway-property``, default the config's, else
``synapse_class``).  The output has every input column plus one per property, in the SONATA dtypes
(unsigned types widened to Spark's signed ones; ``--dtypes-json`` writes the SONATA dtypes for the
conversion back).  Spark's commit protocol publishes the output only when every task succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def export_edges_parquet(edges_file: str, population: str, out: str, *, chunk: int = 1 << 20, population_column: str | None = "edge_population",
                         row_group_size: int = 1 << 20, datasets=()) -> int:
    """Write one SONATA edge population (h5py) to a Parquet file: ``source_node_id``,
    ``target_node_id`` (int64, which Spark reads as ``long``; SONATA's uint64 ids fit), ``edge_id``
    (the row in the population: it keys synparam's random streams), unless ``population_column``
    is None the population name (dictionary-encoded), and ``datasets`` — edge datasets a model
    reads per synapse (``afferent_center_x``, ``afferent_section_type``, …) as float64 columns,
    read through the group columns.  Reads ``chunk`` edges at a time.  Returns the number of edges."""
    import h5py
    from synparam.sonata import read_edge_columns

    with h5py.File(edges_file, "r") as f:
        group = f[f"edges/{population}"]
        source, target = group["source_node_id"], group["target_node_id"]
        n = source.shape[0]
        grouped = "edge_group_id" in group and "edge_group_index" in group
        fields = [
            pa.field("source_node_id", pa.int64()),
            pa.field("target_node_id", pa.int64()),
            pa.field("edge_id", pa.int64()),
        ]
        if population_column:
            fields.append(pa.field(population_column, pa.dictionary(pa.int32(), pa.string())))
        fields += [pa.field(name, pa.float64()) for name in datasets]
        schema = pa.schema(fields)
        with pq.ParquetWriter(out, schema) as writer:
            for start in range(0, max(n, 1), chunk):
                end = min(n, start + chunk)
                columns = [
                    pa.array(np.asarray(source[start:end]).astype(np.int64)),
                    pa.array(np.asarray(target[start:end]).astype(np.int64)),
                    pa.array(np.arange(start, end, dtype=np.int64)),
                ]
                if population_column:
                    columns.append(pa.DictionaryArray.from_arrays(pa.array(np.zeros(end - start, np.int32)), pa.array([population])))
                if datasets:
                    layout = (np.asarray(group["edge_group_id"][start:end]).astype(np.int64),
                              np.asarray(group["edge_group_index"][start:end]).astype(np.int64)) if grouped else (None, None)
                    columns += [pa.array(values) for values in read_edge_columns(group, list(datasets), start, end, *layout)]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=row_group_size)
    return n


def export_circuit_parquet(circuit_config: str, out_dir: str, populations=None, **options) -> dict:
    """Every edge population of a SONATA circuit (or ``populations``) to ``out_dir/<name>.parquet``
    — one Parquet dataset Spark reads as a whole.  Returns ``{population: edges}``."""
    from synparam.spark import circuit_edge_populations

    os.makedirs(out_dir, exist_ok=True)
    found = circuit_edge_populations(circuit_config)
    counts = {}
    for name in populations or found:
        if name not in found:
            raise SystemExit(f"{circuit_config}: no edge population '{name}' (it has: {', '.join(found)})")
        counts[name] = export_edges_parquet(found[name]["edges_file"], name, os.path.join(out_dir, f"{name}.parquet"), **options)
    return counts


def spark_session(master: str | None = None, batch: int = 200_000, app: str = "synparam"):
    """A SparkSession (the running one under spark-submit); local runs bind to 127.0.0.1 without UI."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app).config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch))
    if master:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    return builder.getOrCreate()


def run(args) -> None:
    from synparam.spark import node_tables_from_circuit, output_dtypes, parameterize_dataframe
    import synparam

    spark = spark_session(args.master, args.batch_size)
    with open(args.config, encoding="utf-8") as f:
        config = f.read()
    settings = synparam.plan_run(config, seed=args.seed, pathway_property=args.pathway_property)["settings"]
    prop = settings.get("pathwayProperty", settings.get("pathway_property"))
    prop = prop["value"] if isinstance(prop, dict) else prop
    edges = spark.read.parquet(args.edges)
    if args.partitions:
        edges = edges.repartition(args.partitions)
    population_column = None if args.population else args.population_column
    if population_column:
        names = [r[0] for r in edges.select(population_column).distinct().collect()]
    else:
        names = [args.population]
    # A model that reads distance_soma needs the source somata: read with the node tables.
    reads = synparam.plan_run(config)["summary"].get("edge_attributes", [])
    nodes = node_tables_from_circuit(args.nodes, prop, names, positions="distance_soma" in reads)
    started = time.perf_counter()
    out = parameterize_dataframe(
        edges,
        config,
        args.seed,
        nodes=nodes,
        population=args.population,
        population_column=population_column,
        pathway_property=args.pathway_property,
        fallback=args.fallback_value,
        overwrite=True if args.overwrite else None,
    )
    writer = out.write.mode("overwrite" if args.overwrite_output else "errorifexists")
    if not args.parquet_dictionary:  # drawn values rarely repeat: plain pages are smaller and faster
        writer = writer.option("parquet.enable.dictionary", "false")
    writer.parquet(args.out)
    seconds = time.perf_counter() - started
    rows = spark.read.parquet(args.out).count()
    print(f"wrote {rows} edges of {', '.join(names)} with {len(out.columns) - len(edges.columns)} new columns to {args.out} in {seconds:.1f} s")
    if args.dtypes_json:
        with open(args.dtypes_json, "w", encoding="utf-8") as f:
            json.dump(output_dtypes(config, args.seed), f, indent=1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="SONATA edge populations → Parquet")
    export.add_argument("--circuit", required=True, help="circuit_config.json")
    export.add_argument("--out", required=True, help="output folder (one .parquet per edge population)")
    export.add_argument("--populations", help="comma-separated edge populations (default: all)")
    export.add_argument("--datasets", help="comma-separated edge datasets to export too, e.g. afferent_center_x,afferent_center_y,afferent_center_z")
    job = sub.add_parser("run", help="parameterize Parquet edges on Spark")
    job.add_argument("--edges", required=True, help="Parquet edges (file or folder)")
    job.add_argument("--nodes", required=True, help="circuit_config.json with the node files")
    job.add_argument("--config", required=True, help="model or task JSON")
    job.add_argument("--seed", type=int, help="overrides the config's random_seed")
    job.add_argument("--out", required=True, help="output Parquet folder")
    job.add_argument("--population", help="edge population of every row (else the column)")
    job.add_argument("--population-column", default="edge_population")
    job.add_argument("--pathway-property")
    job.add_argument("--fallback-value")
    job.add_argument("--overwrite", action="store_true", help="replace property columns the edges already have")
    job.add_argument("--overwrite-output", action="store_true", help="replace --out if it exists")
    job.add_argument("--master", help="e.g. local[2] (default: spark-submit's)")
    job.add_argument("--partitions", type=int, help="repartition the edges first")
    job.add_argument("--batch-size", type=int, default=200_000, help="Arrow batch rows (spark.sql.execution.arrow.maxRecordsPerBatch)")
    job.add_argument("--dtypes-json", help="write {property: SONATA dtype} here")
    job.add_argument("--parquet-dictionary", action="store_true", help="keep Parquet dictionary encoding (off: drawn values rarely repeat)")
    args = parser.parse_args(argv)
    if args.command == "export":
        counts = export_circuit_parquet(args.circuit, args.out, args.populations.split(",") if args.populations else None,
                                        datasets=[d for d in (args.datasets or "").split(",") if d])
        for name, n in counts.items():
            print(f"{name}: {n} edges → {os.path.join(args.out, name + '.parquet')}")
    else:
        run(args)


if __name__ == "__main__":
    main()
