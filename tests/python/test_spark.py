"""synparam.spark on Spark in local mode: the columns equal the command's values row for row.

The command (`node www/host/cli.mjs`, the wasm core) parameterizes the `network` fixture
(four edge populations: one with existing datasets, a virtual source population that needs the
fallback value, two edge groups with float64 group columns, no group columns); its edges are
exported to Parquet (`python/examples/spark_parquet.py`), parameterized on Spark in local[1] and
local[2] over several partitions and small Arrow batches, and every property column is compared,
bit for bit, with the dataset the command wrote (rows mapped through edge_group_id /
edge_group_index).  Needs `pkg/` (make pkg), the fixtures (make fixtures), a JRE, pyspark, h5py.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("pyspark")
import synparam  # noqa: E402
from synparam import spark as sspark  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

ROOT = Path(__file__).resolve().parents[2]
CIRCUIT = ROOT / "tests/fixtures/out/network/circuit_config.json"
MODEL = ROOT / "www/presets/tsodyks_markram.json"
SEED = 7
FALLBACK = "EXC"
POPULATIONS = ["S1__S1__chemical", "VPM__S1__chemical", "S1__S1__two_groups", "S1__S1__plain"]


def _example():
    spec = importlib.util.spec_from_file_location("spark_parquet", ROOT / "python/examples/spark_parquet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="synparam-spark-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def command_values(workdir):
    """{population: {property: values per edge_id, in the dataset's dtype}} as the command wrote them."""
    assert CIRCUIT.exists(), f"{CIRCUIT} is missing: run `make fixtures`"
    assert (ROOT / "pkg/synparam_bg.wasm").exists(), "pkg/ is missing: run `make pkg`"
    out = workdir / "command"
    subprocess.run(
        ["node", str(ROOT / "www/host/cli.mjs"), "--circuit", str(CIRCUIT), "--config", str(MODEL), "--seed", str(SEED),
         "--out", str(out), "--overwrite", "--fallback-value", FALLBACK],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    values = {}
    for name, entry in sspark.circuit_edge_populations(str(out / "circuit_config.json")).items():
        with h5py.File(entry["edges_file"], "r") as f:
            group = f[f"edges/{name}"]
            n = group["source_node_id"].shape[0]
            ids = group["edge_group_id"][()].astype(np.int64) if "edge_group_id" in group else np.zeros(n, np.int64)
            index = group["edge_group_index"][()].astype(np.int64) if "edge_group_index" in group else np.arange(n)
            properties = {}
            for g in np.unique(ids):
                for prop, dataset in group[str(g)].items():
                    if not isinstance(dataset, h5py.Dataset) or "synparam_tool" not in dataset.attrs:
                        continue  # only what synparam wrote
                    column = properties.setdefault(prop, np.zeros(n, dataset.dtype))
                    assert column.dtype == dataset.dtype
                    rows = ids == g
                    column[rows] = dataset[()][index[rows]]
            values[name] = properties
    assert sorted(values) == sorted(POPULATIONS)
    return values


@pytest.fixture(scope="session")
def edges_parquet(workdir):
    out = workdir / "edges.parquet"
    counts = _example().export_circuit_parquet(str(CIRCUIT), str(out))
    assert sorted(counts) == sorted(POPULATIONS)
    return str(out)


@pytest.fixture(scope="session", params=["local[1]", "local[2]"])
def spark(request):
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master(request.param)
        .appName("synparam-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        # small batches: every partition runs several batches through one cached Parameterizer
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1500")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _collect(df) -> pa.Table:
    return df.toArrow() if hasattr(df, "toArrow") else pa.Table.from_pandas(df.toPandas())


def _assert_equal_to_command(table: pa.Table, command_values, populations, *, dtypes="sonata"):
    """Every property column equals the command's dataset, bit for bit, row by row (by edge_id)."""
    seen = set()
    for name in populations:
        rows = table.filter(pa.compute.equal(table["edge_population"], name)) if "edge_population" in table.column_names else table
        expected = command_values[name]
        n = len(next(iter(expected.values())))
        edge_id = rows["edge_id"].to_numpy()
        assert len(edge_id) == n and np.array_equal(np.sort(edge_id), np.arange(n)), f"{name}: every edge exactly once"
        for prop, want in expected.items():
            got = rows[prop].to_numpy()
            if dtypes == "sonata":
                # Spark widens unsigned types: the values must convert back exactly
                assert got.dtype.kind == want.dtype.kind or (want.dtype.kind == "u" and got.dtype.kind == "i"), (name, prop, got.dtype)
                assert got.dtype.itemsize >= want.dtype.itemsize
                converted = got.astype(want.dtype)
                assert np.array_equal(converted.astype(got.dtype), got), f"{name}.{prop}: not exact in {want.dtype}"
            else:
                converted = got.astype(want.dtype)  # the command's storage conversion (round to nearest)
            ordered = np.empty_like(converted)
            ordered[edge_id] = converted
            width = want.dtype.itemsize
            bits = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[width]
            mismatch = np.flatnonzero(ordered.view(bits) != want.view(bits))
            assert mismatch.size == 0, f"{name}.{prop}: {mismatch.size} rows differ, first edge {mismatch[:1]}: {ordered[mismatch[:3]]} vs {want[mismatch[:3]]}"
            seen.add(prop)
    return seen


def test_node_tables_equal_command(spark, edges_parquet, command_values):
    """Broadcast node tables, a population column, shuffled rows over 5 partitions."""
    edges = spark.read.parquet(edges_parquet).repartition(5)
    nodes = sspark.node_tables_from_circuit(str(CIRCUIT), "synapse_class")
    out = sspark.parameterize_dataframe(edges, str(MODEL), SEED, nodes=nodes, population_column="edge_population", fallback=FALLBACK)
    assert out.rdd.getNumPartitions() == 5
    types = {f.name: f.dataType.simpleString() for f in out.schema.fields}
    assert types["conductance"] == "float" and types["syn_type_id"] == "bigint" and types["n_rrp_vesicles"] == "bigint"
    assert out.columns[:4] == edges.columns
    table = _collect(out)
    assert table.num_rows == sum(len(next(iter(v.values()))) for v in command_values.values())
    seen = _assert_equal_to_command(table, command_values, POPULATIONS)
    assert len(seen) == 10
    # what a Parquet → SONATA conversion writes back
    assert sspark.output_dtypes(str(MODEL), SEED)["syn_type_id"] == "uint32"


def test_pathway_columns_equal_command(spark, edges_parquet, command_values, workdir):
    """Pathway values joined in as columns (no node tables), written to Parquet and read back."""
    from pyspark.sql import functions as F

    nodes = sspark.node_tables_from_circuit(str(CIRCUIT), "synapse_class")
    rows = []
    for name in ("S1__S1__chemical", "VPM__S1__chemical"):
        for role in ("source", "target"):
            values = nodes[name][role].to_pylist()
            rows += [(name, role, i, v) for i, v in enumerate(values)]
    table = spark.createDataFrame(rows, "edge_population string, role string, node_id long, synapse_class string")
    edges = spark.read.parquet(edges_parquet).where(F.col("edge_population").isin("S1__S1__chemical", "VPM__S1__chemical"))
    for role in ("source", "target"):
        side = table.where(F.col("role") == role).select(
            "edge_population", F.col("node_id").alias(f"{role}_node_id"), F.col("synapse_class").alias(f"{role}_synapse_class")
        )
        edges = edges.join(side, ["edge_population", f"{role}_node_id"], "left")
    edges = edges.repartition(3)
    out = sspark.parameterize_dataframe(edges, json.loads(MODEL.read_text()), SEED, population_column="edge_population", fallback=FALLBACK)
    master = spark.sparkContext.master.replace("[", "-").replace("]", "")  # no glob characters in Hadoop paths
    path = str(workdir / f"pathway-columns-{master}.parquet")
    out.write.mode("overwrite").parquet(path)
    read = _collect(spark.read.parquet(path))
    _assert_equal_to_command(read, command_values, ["S1__S1__chemical", "VPM__S1__chemical"])


def test_model_dtypes_and_existing_column(spark, edges_parquet, command_values):
    """dtypes="model" gives float64 columns that round to the command's float32; an existing
    column is refused without overwrite, and with it keeps its type."""
    from pyspark.sql import functions as F

    nodes = sspark.node_tables_from_circuit(str(CIRCUIT), "synapse_class", ["S1__S1__two_groups"])
    edges = spark.read.parquet(edges_parquet).where(F.col("edge_population") == "S1__S1__two_groups").drop("edge_population").repartition(2)
    out = sspark.parameterize_dataframe(edges, str(MODEL), SEED, nodes=nodes, dtypes="model")
    assert dict((f.name, f.dataType.simpleString()) for f in out.schema.fields)["conductance"] == "double"
    _assert_equal_to_command(_collect(out), command_values, ["S1__S1__two_groups"], dtypes="model")

    with_delay = edges.withColumn("delay", F.lit(0.5).cast("float"))
    with pytest.raises(ValueError, match=r"delay.*overwrite"):
        sspark.parameterize_dataframe(with_delay, str(MODEL), SEED, nodes=nodes)
    out = sspark.parameterize_dataframe(with_delay, str(MODEL), SEED, nodes=nodes, overwrite=True)
    assert out.columns.index("delay") == with_delay.columns.index("delay")
    assert dict((f.name, f.dataType.simpleString()) for f in out.schema.fields)["delay"] == "float"
    _assert_equal_to_command(_collect(out), command_values, ["S1__S1__two_groups"])


def test_bad_config_raises_clear_error(spark, edges_parquet):
    """A bad config is refused on the driver with the JSON path; a drawn value that does not fit
    fails the job with a message naming the property, the pathway and the edge."""
    edges = spark.read.parquet(edges_parquet)
    nodes = sspark.node_tables_from_circuit(str(CIRCUIT), "synapse_class")
    model = json.loads(MODEL.read_text())

    bad = copy.deepcopy(model)
    bad["prop_stats"]["conductance"]["EXC"]["INH"]["std"] = -1
    with pytest.raises(synparam.ConfigError) as error:
        sspark.parameterize_dataframe(edges, bad, SEED, nodes=nodes, population_column="edge_population", fallback=FALLBACK)
    assert "prop_stats.conductance.EXC.INH" in str(error.value)

    with pytest.raises(synparam.MissingPathwayPropertyError, match=r"VPM__S1__chemical.*'VPM' has 150 node\(s\) without a synapse_class value") as error:
        sspark.parameterize_dataframe(edges, model, SEED, nodes=nodes, population_column="edge_population")  # VPM has none, no fallback
    assert error.value.population == "VPM"
    # A fallback per node population (#24) applies to the node tables' populations: VPM's own value;
    # pathway columns name no node population, so there it is refused.
    with pytest.raises(synparam.MissingPathwayPropertyError, match="'VPM' has 150 node"):
        sspark.parameterize_dataframe(edges, model, SEED, nodes=nodes, population_column="edge_population", fallback={"POm": FALLBACK})
    with pytest.raises(ValueError, match="a value per node population needs nodes= tables"):
        sspark.parameterize_dataframe(edges, model, SEED, population_column="edge_population", source_column="edge_population",
                                      target_column="edge_population", fallback={"VPM": FALLBACK})

    with pytest.raises(ValueError, match="no seed"):
        sspark.parameterize_dataframe(edges, model, None, nodes=nodes, population_column="edge_population", fallback=FALLBACK)

    with pytest.raises(ValueError, match="source_synapse_class"):
        sspark.parameterize_dataframe(edges, model, SEED, population_column="edge_population")

    # Found while drawing: a value that does not fit its dtype, and a population without a table.
    overflow = copy.deepcopy(model)
    overflow["prop_stats"]["syn_type_id"]["EXC"]["EXC"].update({"type": "constant", "mean": 300, "dtype": "uint8"})
    out = sspark.parameterize_dataframe(edges, overflow, SEED, nodes=nodes, population_column="edge_population", fallback=FALLBACK)
    with pytest.raises(Exception) as error:
        out.collect()
    message = str(error.value)
    assert "synparam.spark: edge population '" in message and "prop_stats.syn_type_id.EXC.EXC" in message, message[-2000:]

    some = {"S1__S1__chemical": nodes["S1__S1__chemical"]}
    out = sspark.parameterize_dataframe(edges, model, SEED, nodes=some, population_column="edge_population", fallback=FALLBACK)
    with pytest.raises(Exception) as error:
        out.collect()
    assert "has no node table; nodes= has: S1__S1__chemical" in str(error.value)


# Where a synapse sits: edge attributes as DataFrame columns (the obi_one_geometry fixture).

GEOMETRY = ROOT / "tests/fixtures/out/obi_one_geometry/circuit_config.json"
CENTERS = ["afferent_center_x", "afferent_center_y", "afferent_center_z"]


@pytest.fixture(scope="session")
def geometry():
    """One population's edges as Spark would read them (ids, synapse positions as float32,
    afferent_section_type as int16, each edge's source soma and pathway values joined in), and
    the values the Python API draws for them in one batch (the Dask path's core calls)."""
    import test_attributes as attributes

    data = attributes.edges_of(attributes.LOCAL)
    source = data["source"].astype(np.int64)
    frame = {"source_node_id": data["source"].astype(np.int64), "target_node_id": data["target"].astype(np.int64),
             "edge_id": np.arange(len(source), dtype=np.int64), "afferent_section_type": data["afferent_section_type"].astype(np.int16),
             **{name: data[name].astype(np.float32) for name in CENTERS},
             **{f"source_{axis}": data["somata"][i][source] for i, axis in enumerate("xyz")},
             "source_synapse_class": data["source_values"].take(pa.array(source)).to_pylist(),
             "target_synapse_class": data["target_values"].take(pa.array(data["target"].astype(np.int64))).to_pylist()}
    config = attributes.model(attributes.LIN)
    return attributes.LOCAL, pa.table(frame), config, attributes.drawn(config, data)


def _assert_drawn(table: pa.Table, expected: dict, dtype=np.float32):
    """The delay and conductance columns equal the Python API's float64 values in ``dtype``
    (float32: rounded to nearest, as stored), bit for bit, by edge_id."""
    order = np.argsort(table["edge_id"].to_numpy())
    for prop in ("delay", "conductance"):
        got = table[prop].to_numpy()[order]
        want = expected[prop].astype(dtype)
        assert got.dtype == dtype and np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}")), prop


def test_edge_attributes_as_columns_with_node_tables(spark, geometry, workdir):
    """afferent_center_x/y/z and afferent_section_type columns (exported to Parquet by the
    example), the source positions broadcast with the node tables: the Python API's values, bit
    for bit, over shuffled partitions."""
    population, _, config, expected = geometry
    folder = workdir / "geometry-parquet"
    counts = _example().export_circuit_parquet(str(GEOMETRY), str(folder), [population], datasets=[*CENTERS, "afferent_section_type"])
    assert counts == {population: len(expected["delay"])}
    edges = spark.read.parquet(str(folder)).drop("edge_population").repartition(3)
    nodes = sspark.node_tables_from_circuit(str(GEOMETRY), "synapse_class", [population], positions=True)
    out = sspark.parameterize_dataframe(edges, config, 4, nodes=nodes, fallback="EXC")
    _assert_drawn(_collect(out), expected)
    assert out.columns[:len(edges.columns)] == edges.columns  # the attribute columns pass through

    without = sspark.node_tables_from_circuit(str(GEOMETRY), "synapse_class", [population])
    with pytest.raises(ValueError, match=rf"nodes\['{population}'\] has no 'source_positions'"):
        sspark.parameterize_dataframe(edges, config, 4, nodes=without, fallback="EXC")
    pom = "POm__S1nonbarrel_neurons__chemical"  # a projection without somata
    virtual = sspark.node_tables_from_circuit(str(GEOMETRY), "synapse_class", [pom], positions=True)
    with pytest.raises(ValueError, match=rf"nodes\['{pom}'\] has no 'source_positions'.*: .*POm/nodes.h5: population 'POm': dataset /nodes/POm/0/x"):
        sspark.parameterize_dataframe(edges, config, 4, nodes=virtual, fallback="EXC")
    lacking = edges.drop("afferent_center_z").withColumn("distance_soma", edges["afferent_center_x"])
    with pytest.raises(synparam.InputError) as error:
        sspark.parameterize_dataframe(lacking, config, 4, nodes=nodes, fallback="EXC")
    assert str(error.value) == (
        "synparam.spark: the DataFrame's columns (its distance_soma column is not read: the core derives distance_soma from the synapse "
        "position columns and the source positions, so that every host computes the same bits): "
        f"edge population '{population}': the model reads edge datasets this population lacks: "
        "afferent_center_z (or efferent_center_x/y/z; for distance_soma)")


def test_edge_attributes_as_columns_with_joined_positions(spark, geometry):
    """Without node tables: the pathway values and each edge's source soma (source_x/y/z) as
    columns, as after a join."""
    population, frame, config, expected = geometry
    edges = spark.createDataFrame(frame.to_pandas()).repartition(2)
    out = sspark.parameterize_dataframe(edges, config, 4, population=population, fallback="EXC")
    _assert_drawn(_collect(out), expected)
    model_types = sspark.parameterize_dataframe(edges, config, 4, population=population, fallback="EXC", dtypes="model")
    _assert_drawn(_collect(model_types), expected, np.float64)
    assert sspark.output_dtypes(config, 4) == {"delay": "float32", "conductance": "float32"}
    with pytest.raises(ValueError, match="no column.s. source_z and nodes= is not given"):
        sspark.parameterize_dataframe(edges.drop("source_z"), config, 4, population=population, fallback="EXC")
