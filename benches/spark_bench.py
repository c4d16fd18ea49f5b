"""The Spark path (synparam.spark) on the 10 M-synapse network of `make bench-e2e`, in local[1]
and local[2]: synapses/s and synapses/s per core, against the core in one Python process and the
single-process command (benches/out/e2e-10m.json).

    .venv/bin/python benches/spark_bench.py [--circuit benches/out/net10m] [--masters local[1],local[2]]
                                            [--runs 2] [--batch 200000] [--limit N] [--json OUT]

About 3 minutes on 2 cores (10 M synapses, 2 runs); `--limit 2000000 --runs 1`: 30 s.

Steps: the edge population is exported once to Parquet (ids + edge_id, as a functionalizer job
holds edges; cached in --work, default a temp folder removed at the end); node tables come from the
circuit's nodes.h5 and are broadcast.  Per master, after a warm-up, each run times

* `read + noop`: read the Parquet edges and discard them (Spark's `noop` sink) — the floor;
* `read + mapInArrow 10 zero columns`: a Python function that adds 10 float32 columns of zeros —
  what Spark's Arrow round trip (JVM → Python worker → JVM rows) costs by itself;
* `read + draw + noop`: the 10 Tsodyks–Markram columns added by synparam.spark;
* `Parquet → Parquet` without and with the draw (snappy), what a pipeline runs; and with the
  draw, written without Parquet dictionary encoding (`parquet.enable.dictionary=false`), which
  suits drawn values (they rarely repeat: the dictionary fills, then falls back);

and reports the best run.  "per core" divides by the master's task slots; note that even
local[1] runs the JVM and the Python worker as two processes, which overlap.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "www/presets/tsodyks_markram.json"


def example():
    spec = importlib.util.spec_from_file_location("spark_parquet", ROOT / "python/examples/spark_parquet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_process(parquet: str, nodes: dict, population: str, batch: int) -> float:
    """The core alone in this process (one core): run_batch over the Parquet batches."""
    import synparam

    run = synparam.Parameterizer(MODEL.read_text(), seed=1)
    run.set_connection_counting(False)
    table = nodes[population]
    run.add_edge_population(population, table["source"], table["target"], "synapse_class")
    batches = list(pq.ParquetFile(parquet).iter_batches(batch_size=batch))
    started = time.perf_counter()
    for b in batches:
        run.run_batch(population, b)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--circuit", default=str(ROOT / "benches/out/net10m"))
    parser.add_argument("--masters", default="local[1],local[2]")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200_000, help="spark.sql.execution.arrow.maxRecordsPerBatch")
    parser.add_argument("--limit", type=int, help="only the first N edges (a quick look)")
    parser.add_argument("--work", help="folder for the Parquet files (kept); default a temp folder, removed")
    parser.add_argument("--json", help="write the results here (default benches/out/spark-<N>m.json, unless --limit)")
    parser.add_argument("--skip-write", action="store_true", help="skip the Parquet-out runs")
    args = parser.parse_args()

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from synparam import spark as sspark

    circuit = os.path.join(args.circuit, "circuit_config.json")
    if not os.path.exists(circuit):
        raise SystemExit(f"{circuit} is missing: `make bench-e2e` (or benches/make_network.py) generates it")
    (population, entry), = sspark.circuit_edge_populations(circuit).items()
    work = Path(args.work or tempfile.mkdtemp(prefix="synparam-spark-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    edges = work / f"{population}.parquet"
    try:
        if not edges.exists():
            started = time.perf_counter()
            n = example().export_edges_parquet(entry["edges_file"], population, str(edges), population_column=None)
            print(f"exported {n} edges to {edges} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        n = pq.ParquetFile(edges).metadata.num_rows
        if args.limit and args.limit < n:
            limited = work / f"{population}-{args.limit}.parquet"
            if not limited.exists():
                pq.write_table(pq.read_table(edges).slice(0, args.limit), limited, row_group_size=1 << 20)
            edges, n = limited, args.limit
        nodes = sspark.node_tables_from_circuit(circuit, "synapse_class")
        results = {"synapses": n, "batch": args.batch, "population": population, "machine_cores": os.cpu_count(), "masters": {}}

        seconds = min(in_process(str(edges), nodes, population, args.batch) for _ in range(max(1, args.runs)))
        results["in_process_1core"] = seconds
        print(f"core in one Python process: {seconds:.2f} s, {n / seconds / 1e6:.2f} M synapses/s", file=sys.stderr)

        from pyspark.sql import SparkSession

        for master in args.masters.split(","):
            cores = int(master[master.index("[") + 1 : -1]) if "[" in master and master[master.index("[") + 1 : -1].isdigit() else os.cpu_count()
            spark = (
                SparkSession.builder.master(master)
                .appName("synparam-bench")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.memory", "4g")
                .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch))
                # one input split per Parquet row group (1 M rows), so that every core has work
                .config("spark.sql.files.maxPartitionBytes", str(8 << 20))
                .getOrCreate()
            )
            spark.sparkContext.setLogLevel("ERROR")
            df = spark.read.parquet(str(edges))
            parts = df.rdd.getNumPartitions()

            def parameterized():
                return sspark.parameterize_dataframe(df, MODEL.read_text(), 1, nodes=nodes, population=population)

            from pyspark.sql.types import FloatType, StructField, StructType

            passthrough_schema = StructType(df.schema.fields + [StructField(f"zero{i}", FloatType()) for i in range(10)])

            def passthrough():
                """mapInArrow adding 10 float32 columns of zeros: what Spark's Arrow round trip costs."""

                def add(batches):
                    for b in batches:
                        zeros = pa.array(np.zeros(b.num_rows, np.float32))
                        yield pa.record_batch(b.columns + [zeros] * 10, names=passthrough_schema.names)

                return df.mapInArrow(add, passthrough_schema)

            def timed(make, sink):
                out = work / "out.parquet"
                shutil.rmtree(out, ignore_errors=True)
                started = time.perf_counter()
                if sink == "noop":
                    make().write.format("noop").mode("overwrite").save()
                elif sink == "parquet-plain":  # no dictionary encoding: random floats do not repeat
                    make().write.option("parquet.enable.dictionary", "false").mode("overwrite").parquet(str(out))
                else:
                    make().write.mode("overwrite").parquet(str(out))
                elapsed = time.perf_counter() - started
                shutil.rmtree(out, ignore_errors=True)
                return elapsed

            timed(parameterized, "noop")  # warm-up: Python workers, broadcast, JIT
            row = {"cores": cores, "partitions": parts}
            row["read_noop"] = min(timed(lambda: df, "noop") for _ in range(args.runs))
            row["passthrough_noop"] = min(timed(passthrough, "noop") for _ in range(args.runs))
            row["draw_noop"] = min(timed(parameterized, "noop") for _ in range(args.runs))
            if not args.skip_write:
                row["read_write"] = min(timed(lambda: df, "parquet") for _ in range(args.runs))
                row["draw_write"] = min(timed(parameterized, "parquet") for _ in range(args.runs))
                row["draw_write_plain"] = min(timed(parameterized, "parquet-plain") for _ in range(args.runs))
            spark.stop()
            results["masters"][master] = row
            print(f"{master}: {json.dumps(row)}", file=sys.stderr)

        command = None
        e2e = ROOT / f"benches/out/e2e-{n // 1_000_000}m.json"
        if e2e.exists() and not args.limit:
            data = json.loads(e2e.read_text())
            command = {k: data[k]["seconds"] for k in ("command1", "command2") if isinstance(data.get(k), dict)}
            results["command"] = command

        print(f"\nsynparam.spark on {n:,} synapses ({population}), Tsodyks–Markram (10 properties), Arrow batches of {args.batch:,}\n")
        print(f"| {'path':<42} | {'seconds':>8} | {'M syn/s':>8} | {'M syn/s per core':>16} |")
        print(f"|{'-' * 44}|{'-' * 10}|{'-' * 10}|{'-' * 18}|")

        def line(name, s, cores):
            print(f"| {name:<42} | {s:8.2f} | {n / s / 1e6:8.2f} | {n / s / 1e6 / cores:16.2f} |")

        line("core in one Python process", results["in_process_1core"], 1)
        for master, row in results["masters"].items():
            c = row["cores"]
            line(f"{master} read + noop (floor)", row["read_noop"], c)
            line(f"{master} read + mapInArrow 10 zero columns", row["passthrough_noop"], c)
            line(f"{master} read + draw + noop", row["draw_noop"], c)
            if "draw_write" in row:
                line(f"{master} Parquet → Parquet (no draw)", row["read_write"], c)
                line(f"{master} Parquet → draw → Parquet", row["draw_write"], c)
                line(f"{master} … Parquet without dictionary", row["draw_write_plain"], c)
        for name, s in (command or {}).items():
            line(f"command ({name[-1]} worker{'s' if name[-1] != '1' else ''}, SONATA → SONATA)", s, int(name[-1]))
        target = args.json or (None if args.limit else str(ROOT / f"benches/out/spark-{n // 1_000_000}m.json"))
        if target:
            Path(target).write_text(json.dumps(results, indent=1))
            print(f"\nwrote {target}", file=sys.stderr)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
