//! `synparam._synparam`: the synparam core for Python. A thin conversion layer, like the wasm one:
//! Arrow data crosses through the Arrow C data interface (no copies of id columns), structured
//! results cross as JSON text that `synparam/__init__.py` parses, and every core error becomes a
//! typed exception carrying its JSON path or context. Nothing here decides anything.

use std::sync::Arc;

use arrow_array::{make_array, ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::{DataType, Schema};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyList;

use synparam::arrow_io::{chunk_result_batch, edge_chunk_from_batches, pathway_column_from_arrays};
use synparam::config::{parse_task, spec_schema, Fallback, RunOverrides};
use synparam::engine::Ids;
use synparam::storage::{ExistingDataset, GroupLayout, StorageChunk};
use synparam::Error;

create_exception!(synparam, SynparamError, PyException, "Base of every synparam error; `kind` names the variant.");
create_exception!(synparam, ConfigError, SynparamError, "The model or task config is invalid at `path`.");
create_exception!(
    synparam,
    InputError,
    SynparamError,
    "Input data is malformed; `context` names the table and column."
);
create_exception!(
    synparam,
    MissingPathwayValuesError,
    SynparamError,
    "Node pathway values the model does not list (`values`, `population`, `role`)."
);
create_exception!(
    synparam,
    MissingPathwayPropertyError,
    SynparamError,
    "Nodes without a pathway value while no fallback value is set."
);
create_exception!(
    synparam,
    ValueOutOfRangeError,
    SynparamError,
    "A drawn value cannot be stored (`property`, `edge_id`, `path`)."
);

/// The core's error as its typed Python exception, with the fields a caller needs as attributes.
fn py_error(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    let err = match &error {
        Error::Config { .. } => ConfigError::new_err(message),
        Error::Input { .. } => InputError::new_err(message),
        Error::MissingPathwayValues { .. } => MissingPathwayValuesError::new_err(message),
        Error::MissingPathwayProperty { .. } => MissingPathwayPropertyError::new_err(message),
        Error::ValueOutOfRange { .. } => ValueOutOfRangeError::new_err(message),
    };
    let value = err.value(py);
    // Setting an attribute on a fresh exception cannot fail in practice; a failure would only
    // lose the attribute, never the error.
    let _ = value.setattr("kind", error.kind());
    let _ = match &error {
        Error::Config { path, .. } => value.setattr("path", path.as_str()),
        Error::Input { context, .. } => value.setattr("context", context.as_str()),
        Error::MissingPathwayValues { role, population, property, values, .. } => value
            .setattr("role", *role)
            .and(value.setattr("population", population.as_str()))
            .and(value.setattr("property", property.as_str()))
            .and(value.setattr("values", values.clone())),
        Error::MissingPathwayProperty { role, population, property, count, first_node } => value
            .setattr("role", *role)
            .and(value.setattr("population", population.as_str()))
            .and(value.setattr("property", property.as_str()))
            .and(value.setattr("count", *count))
            .and(value.setattr("first_node", *first_node)),
        Error::ValueOutOfRange { property, source_type, target_type, edge_id, .. } => value
            .setattr("property", property.as_str())
            .and(value.setattr("path", format!("prop_stats.{property}.{source_type}.{target_type}")))
            .and(value.setattr("edge_id", *edge_id)),
    };
    err
}

fn json<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| py_error(py, Error::input("result conversion", e.to_string())))
}

fn from_json<T: serde::de::DeserializeOwned>(py: Python<'_>, what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| py_error(py, Error::input(what, e.to_string())))
}

/// A fallback as Python gives it: None, a str (every node population) or a dict
/// `{node population: value}` (`"*"`: every other population); errors name the entry.
fn fallback_argument(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Fallback>> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    // What Python gave, named by its type and repr where it is not text.
    let refused = |key: String, v: &Bound<'_, PyAny>, wanted: &str| {
        let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
        let kind = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        py_error(py, Error::config(key, format!("must be {wanted}, got {kind} {shown}")))
    };
    let json = if let Ok(text) = value.extract::<String>() {
        serde_json::Value::String(text)
    } else if let Ok(entries) = value.extract::<std::collections::BTreeMap<String, Bound<'_, PyAny>>>() {
        let mut object = serde_json::Map::new();
        for (key, entry) in &entries {
            let text = entry
                .extract::<String>()
                .map_err(|_| refused(format!("fallback.{key}"), entry, "a pathway value (str)"))?;
            object.insert(key.clone(), serde_json::Value::String(text));
        }
        serde_json::Value::Object(object)
    } else {
        return Err(refused("fallback".into(), value, "a pathway value (str) or a dict {node population: value}"));
    };
    Fallback::from_json(&json, "fallback").map(Some).map_err(|e| py_error(py, e))
}

/// The fallback a text gives (`VALUE`, or `POPULATION=VALUE, …` with `*=VALUE` for every other
/// population), as JSON text (a string or an object; `null` for blank text); errors name `key`
/// (the Dask command's `--fallback-value`).
#[pyfunction]
fn fallback_from_text(py: Python<'_>, text: &str, key: &str) -> PyResult<String> {
    if text.trim().is_empty() {
        return Ok("null".to_string());
    }
    json(py, &Fallback::from_text(text, key).map_err(|e| py_error(py, e))?)
}

/// The record batches of a pyarrow `RecordBatch`, `Table` or `RecordBatchReader`-like object.
fn record_batches(value: &Bound<'_, PyAny>) -> PyResult<(Arc<Schema>, Vec<RecordBatch>)> {
    if value.hasattr("to_batches")? {
        let schema = Arc::new(Schema::from_pyarrow_bound(&value.getattr("schema")?)?);
        let mut batches = Vec::new();
        for batch in value.call_method0("to_batches")?.cast::<PyList>()?.iter() {
            batches.push(RecordBatch::from_pyarrow_bound(&batch)?);
        }
        return Ok((schema, batches));
    }
    let batch = RecordBatch::from_pyarrow_bound(value)?;
    Ok((batch.schema(), vec![batch]))
}

/// The arrays of a pyarrow `Array` or `ChunkedArray`.
fn arrays(value: &Bound<'_, PyAny>) -> PyResult<Vec<ArrayRef>> {
    if value.hasattr("chunks")? {
        let mut out = Vec::new();
        for chunk in value.getattr("chunks")?.cast::<PyList>()?.iter() {
            out.push(make_array(ArrayData::from_pyarrow_bound(&chunk)?));
        }
        return Ok(out);
    }
    Ok(vec![make_array(ArrayData::from_pyarrow_bound(value)?)])
}

/// An id array (pyarrow `Array` or `ChunkedArray`) as u64, read as edge chunks read ids.
fn ids_of(py: Python<'_>, value: &Bound<'_, PyAny>, context: &str) -> PyResult<Vec<u64>> {
    let chunks = arrays(value)?;
    synparam::arrow_io::ids_from_arrays(chunks.iter().map(|a| a.as_ref()), context).map_err(|e| py_error(py, e))
}

/// The Arrow type of a storage type's numpy name.
fn storage_data_type(storage: &str) -> Option<DataType> {
    synparam::config::ColumnType::from_name(storage).map(synparam::arrow_io::data_type)
}

/// Numeric columns (pyarrow `Array`s or `ChunkedArray`s without nulls) as the core's `f64`
/// columns (`arrow_io::float_column`: a one-chunk float64 column borrowed as it is, any other
/// numeric type converted by the core, as for the JS hosts); none when `columns` is None. `what`
/// names the columns in errors, followed by the column's position (`edge chunk of 'p' attribute
/// column 0`).
fn float64_columns(
    py: Python<'_>,
    columns: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Vec<synparam::arrow_io::FloatColumn>> {
    let mut out = Vec::new();
    let Some(columns) = columns else { return Ok(out) };
    for (i, column) in columns.try_iter()?.enumerate() {
        let chunks = arrays(&column?)?;
        let context = format!("{what} {i}");
        out.push(synparam::arrow_io::float_column(&chunks, &context).map_err(|e| py_error(py, e))?);
    }
    Ok(out)
}

/// The run settings, task summary and spec schema of a config with overrides, as JSON text:
/// what the page and the command resolve with `planRun`.
#[pyfunction]
#[pyo3(signature = (config_json, seed=None, pathway_property=None, fallback=None, overwrite=None, populations=None))]
fn plan_run(
    py: Python<'_>,
    config_json: &str,
    seed: Option<u64>,
    pathway_property: Option<String>,
    fallback: Option<&Bound<'_, PyAny>>,
    overwrite: Option<bool>,
    populations: Option<Vec<String>>,
) -> PyResult<String> {
    let task = parse_task(config_json).map_err(|e| py_error(py, e))?;
    let fallback = fallback_argument(py, fallback)?;
    let overrides = RunOverrides { seed, pathway_property, fallback, overwrite, populations };
    #[derive(serde::Serialize)]
    struct Plan {
        settings: synparam::config::RunSettings,
        summary: synparam::config::TaskSummary,
        schema: synparam::config::SpecSchema,
    }
    json(py, &Plan { settings: task.settings(&overrides), summary: task.summary(), schema: spec_schema() })
}

/// The core's version (the tool version the command and the sidecar record).
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// One block of `run_storage`: (dataset index in the plan, `[(first row, rows)]`, values).
type StoredBlock<'py> = (usize, Vec<(u64, u64)>, Bound<'py, PyAny>);

/// One parameterization run (see the Rust `synparam::Parameterizer`).
#[pyclass(name = "Parameterizer", module = "synparam._synparam")]
struct PyParameterizer {
    run: synparam::Parameterizer,
    storage: StorageChunk,
}

#[pymethods]
impl PyParameterizer {
    #[new]
    #[pyo3(signature = (config_json, seed=None))]
    fn new(py: Python<'_>, config_json: &str, seed: Option<u64>) -> PyResult<Self> {
        let run = synparam::Parameterizer::new(config_json, seed).map_err(|e| py_error(py, e))?;
        Ok(PyParameterizer { run, storage: StorageChunk::default() })
    }

    /// The seed in use.
    #[getter]
    fn seed(&self) -> u64 {
        self.run.seed()
    }

    /// The task summary (properties and their column types, pathway values) as JSON text.
    fn summary(&self, py: Python<'_>) -> PyResult<String> {
        json(py, &self.run.task().summary())
    }

    /// Prepare an edge population from its nodes' pathway values (pyarrow arrays, one entry per
    /// node id, null where a node lacks the property).
    #[pyo3(signature = (name, source_population, source_values, target_population, target_values, pathway_property, fallback=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_edge_population(
        &mut self,
        py: Python<'_>,
        name: &str,
        source_population: &str,
        source_values: &Bound<'_, PyAny>,
        target_population: &str,
        target_values: &Bound<'_, PyAny>,
        pathway_property: &str,
        fallback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let fallback = fallback_argument(py, fallback)?;
        let source_arrays = arrays(source_values)?;
        let target_arrays = arrays(target_values)?;
        let source = pathway_column_from_arrays(source_arrays.iter().map(|a| a.as_ref()), source_population)
            .map_err(|e| py_error(py, e))?;
        let target = pathway_column_from_arrays(target_arrays.iter().map(|a| a.as_ref()), target_population)
            .map_err(|e| py_error(py, e))?;
        self.run
            .add_edge_population(name, source, target, pathway_property, fallback.as_ref())
            .map_err(|e| py_error(py, e))
    }

    /// Draw every property for an edge batch (`source_node_id`, `target_node_id`, `edge_id`);
    /// returns a pyarrow `RecordBatch` with one column per property in its model dtype, or, with
    /// `raw`, the drawn float64 values. `attributes`: the planned edge datasets' values for these
    /// edges (float64 arrays in `plan_edge_attributes`' order), when the model reads any.
    #[pyo3(signature = (population, batch, raw=false, attributes=None))]
    fn run_batch<'py>(
        &mut self,
        py: Python<'py>,
        population: &str,
        batch: &Bound<'py, PyAny>,
        raw: bool,
        attributes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (schema, batches) = record_batches(batch)?;
        let chunk = edge_chunk_from_batches(&schema, &batches, population).map_err(|e| py_error(py, e))?;
        let columns = float64_columns(py, attributes, &format!("edge chunk of '{population}' attribute column"))?;
        let slices: Vec<&[f64]> = columns.iter().map(|c| c.values()).collect();
        let mut result = py
            .detach(|| self.run.run_edges_with_attributes(population, chunk.ids(), &slices))
            .map_err(|e| py_error(py, e))?;
        if raw {
            for property in &mut result.properties {
                property.column_type = synparam::config::ColumnType::Float64;
            }
        }
        chunk_result_batch(result).map_err(|e| py_error(py, e))?.to_pyarrow(py)
    }

    /// [`run_batch`] in Arrow IPC stream bytes, out as IPC stream bytes: the JS API's `runChunk`,
    /// for callers holding IPC (files, sockets) and for the golden hash shared with the tests of
    /// the native and wasm builds.
    fn run_ipc(&mut self, py: Python<'_>, population: &str, edges_ipc: Vec<u8>) -> PyResult<Vec<u8>> {
        let chunk = synparam::arrow_io::decode_edge_chunk(edges_ipc, population).map_err(|e| py_error(py, e))?;
        let result = py.detach(|| self.run.run_edges(population, chunk.ids())).map_err(|e| py_error(py, e))?;
        synparam::arrow_io::write_chunk_result(result).map_err(|e| py_error(py, e))
    }

    /// The per-synapse attributes the model reads (`distance_soma`, edge dataset names), in its
    /// order; empty when it reads none.
    fn required_edge_attributes(&self) -> Vec<String> {
        self.run.required_edge_attributes()
    }

    /// Which edge datasets to read for `population` and whether the source nodes' positions are
    /// needed, given the datasets its edges file has: JSON text `{datasets, source_positions,
    /// synapse_position}`. An `InputError` names every dataset the file lacks.
    fn plan_edge_attributes(&mut self, py: Python<'_>, population: &str, available: Vec<String>) -> PyResult<String> {
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        let reads = self.run.plan_edge_attributes(population, &names).map_err(|e| py_error(py, e))?;
        json(py, &reads)
    }

    /// The source nodes' soma positions (µm, float64 arrays, one value per node id) for
    /// `distance_soma`.
    fn set_source_positions(
        &mut self,
        py: Python<'_>,
        population: &str,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        z: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let positions = soma_positions(py, population, [x, y, z])?;
        self.run.set_source_positions(population, positions).map_err(|e| py_error(py, e))
    }

    /// Statistics and histograms of every batch run so far, as JSON text.
    fn statistics(&self, py: Python<'_>) -> PyResult<String> {
        json(py, &self.run.statistics())
    }

    /// The warnings the statistics so far call for, as edge population `population`'s lines.
    fn warnings(&self, population: &str) -> Vec<String> {
        synparam::stats::run_warnings(population, &self.run.statistics())
    }

    /// Distinct connections per pathway: `[(source type, target type, count)]`.
    fn connections(&self, py: Python<'_>, population: &str) -> PyResult<Vec<(String, String, u64)>> {
        self.run.connections(population).map_err(|e| py_error(py, e))
    }

    /// Whether batches also count distinct connections (on by default).
    fn set_connection_counting(&mut self, enabled: bool) {
        self.run.set_connection_counting(enabled)
    }

    /// Count connections per target block: edges come sorted by target, in order.
    fn assume_sorted_by_target(&mut self, py: Python<'_>, population: &str) -> PyResult<()> {
        self.run.assume_sorted_by_target(population).map_err(|e| py_error(py, e))
    }

    /// Count the distinct connections of an edge batch without drawing.
    fn count_connections_of(&mut self, py: Python<'_>, population: &str, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let (schema, batches) = record_batches(batch)?;
        let chunk = edge_chunk_from_batches(&schema, &batches, population).map_err(|e| py_error(py, e))?;
        self.run.count_connections_of(population, chunk.ids()).map_err(|e| py_error(py, e))
    }

    /// What this run of `population` accumulated, as JSON text for `merge_state`.
    fn export_state(&self, py: Python<'_>, population: &str) -> PyResult<String> {
        json(py, &self.run.export_state(population).map_err(|e| py_error(py, e))?)
    }

    /// Add another run's `export_state` of the same model and population.
    fn merge_state(&mut self, py: Python<'_>, population: &str, state: &str) -> PyResult<()> {
        let state: synparam::RunState = from_json(py, "run state", state)?;
        self.run.merge_state(population, &state).map_err(|e| py_error(py, e))
    }

    /// The statistics accumulated so far, as JSON text for `merge_statistics`.
    fn statistics_state(&self, py: Python<'_>) -> PyResult<String> {
        json(py, &self.run.statistics_state())
    }

    /// Add another run's `statistics_state` of the same model.
    fn merge_statistics(&mut self, py: Python<'_>, state: &str) -> PyResult<()> {
        let state: Vec<Vec<synparam::stats::AccumulatorState>> = from_json(py, "statistics", state)?;
        self.run.merge_statistics(&state).map_err(|e| py_error(py, e))
    }

    /// Add the next edges' group columns to the population's layout scan.
    fn scan_groups(
        &mut self,
        py: Python<'_>,
        population: &str,
        size: u64,
        first_edge: u64,
        group_ids: &Bound<'_, PyAny>,
        group_index: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = ids_of(py, group_ids, &format!("group columns of '{population}' column edge_group_id"))?;
        let index = ids_of(py, group_index, &format!("group columns of '{population}' column edge_group_index"))?;
        self.run
            .scan_groups(population, size, first_edge, Ids::U64(&ids), Ids::U64(&index))
            .map_err(|e| py_error(py, e))
    }

    /// Plan the datasets of `population` in its edges file (JSON text in and out; see
    /// `synparam.Parameterizer.plan_output`).
    #[pyo3(signature = (population, size, existing_json, groups, overwrite, layout_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn plan_output(
        &mut self,
        py: Python<'_>,
        population: &str,
        size: u64,
        existing_json: &str,
        groups: Vec<u64>,
        overwrite: bool,
        layout_json: Option<&str>,
    ) -> PyResult<String> {
        let existing: Vec<ExistingDataset> = from_json(py, "existing datasets", existing_json)?;
        let layout: Option<GroupLayout> = match layout_json {
            Some(text) => Some(from_json(py, "group layout", text)?),
            None => None,
        };
        let plan = self
            .run
            .plan_output(population, size, &existing, &groups, overwrite, layout)
            .map_err(|e| py_error(py, e))?;
        json(py, plan)
    }

    /// Draw an edge batch and place its values for storage as planned: per block,
    /// `(dataset index, [(first row, rows)], pyarrow array in the dataset's storage type)`.
    /// `attributes`: as for `run_batch`.
    #[pyo3(signature = (population, batch, attributes=None))]
    fn run_storage<'py>(
        &mut self,
        py: Python<'py>,
        population: &str,
        batch: &Bound<'py, PyAny>,
        attributes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<StoredBlock<'py>>> {
        let (schema, batches) = record_batches(batch)?;
        let chunk = edge_chunk_from_batches(&schema, &batches, population).map_err(|e| py_error(py, e))?;
        let columns = float64_columns(py, attributes, &format!("edge chunk of '{population}' attribute column"))?;
        let slices: Vec<&[f64]> = columns.iter().map(|c| c.values()).collect();
        let (run, storage) = (&mut self.run, &mut self.storage);
        py.detach(|| run.run_storage_with_attributes(population, chunk.ids(), chunk.groups(), &slices, storage))
            .map_err(|e| py_error(py, e))?;
        let plans = self.run.dataset_digests(population).map_err(|e| py_error(py, e))?;
        let bytes = self.storage.bytes();
        let mut out = Vec::with_capacity(self.storage.blocks.len());
        for block in &self.storage.blocks {
            let storage = plans[block.dataset].0.storage;
            let data_type = storage_data_type(storage)
                .ok_or_else(|| py_error(py, Error::input("storage", format!("unknown storage type {storage}"))))?;
            let width = data_type.primitive_width().unwrap_or(8);
            let buffer = Buffer::from(&bytes[block.offset..block.offset + block.length * width]);
            let data = ArrayData::builder(data_type)
                .len(block.length)
                .add_buffer(buffer)
                .build()
                .map_err(|e| py_error(py, Error::input("storage", e.to_string())))?;
            let runs = block.runs.iter().map(|&[row, rows]| (row, rows)).collect();
            out.push((block.dataset, runs, data.to_pyarrow(py)?));
        }
        Ok(out)
    }

    /// The planned datasets of `population` with the digests of what was stored so far, as JSON
    /// text (`[{property, group, storage, rows, exists, digest, digest_rows}]`).
    fn dataset_digests(&self, py: Python<'_>, population: &str) -> PyResult<String> {
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            #[serde(flatten)]
            dataset: &'a synparam::storage::DatasetPlan,
            digest: String,
            digest_rows: u64,
        }
        let digests = self.run.dataset_digests(population).map_err(|e| py_error(py, e))?;
        let entries: Vec<Entry<'_>> = digests
            .iter()
            .map(|(dataset, digest)| Entry { dataset, digest: digest.hex(), digest_rows: digest.rows })
            .collect();
        json(py, &entries)
    }

    /// Forget the statistics and connection counts.
    fn reset_statistics(&mut self) {
        self.run.reset_statistics()
    }
}

/// A `ValueError` carrying what the output module says is wrong (the Python host names the file).
fn output_error(message: String) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message)
}

fn parsed<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| output_error(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| output_error(e.to_string()))
}

/// What a `circuit_config.json` names, as JSON (`references`, `node_files`, `edge_files`; the
/// core's `read_circuit_config`); `ValueError` with what is wrong with the config.
#[pyfunction]
fn read_circuit_config(text: &str, name: &str) -> PyResult<String> {
    to_json(&synparam::output::circuit_config::read_circuit_config(text, name).map_err(output_error)?)
}

/// Where each file of a circuit goes in its output (request and result as JSON, the core's
/// `circuit_layout`).
#[pyfunction]
fn output_layout(request_json: &str) -> PyResult<String> {
    let request: synparam::output::layout::LayoutRequest = parsed(request_json, "layout request")?;
    to_json(&synparam::output::layout::circuit_layout(&request).map_err(output_error)?)
}

/// Every output file and where it comes from (JSON in and out, the core's `output_files`).
#[pyfunction]
fn output_files(layout_json: &str, found_json: &str, written: Vec<String>) -> PyResult<String> {
    let layout: synparam::output::layout::Layout = parsed(layout_json, "layout")?;
    let found: Vec<synparam::output::layout::FoundEntry> = parsed(found_json, "found entries")?;
    to_json(&synparam::output::layout::output_files(&layout, &found, &written).map_err(output_error)?)
}

/// The sidecar's text from what a verified run knows (JSON, the core's `SidecarInputs`).
#[pyfunction]
fn sidecar_text(inputs_json: &str) -> PyResult<String> {
    let inputs: synparam::output::sidecar::SidecarInputs = parsed(inputs_json, "sidecar")?;
    Ok(synparam::output::sidecar::sidecar_text(&inputs))
}

/// The run a sidecar records, as JSON (the core's `read_sidecar`); `ValueError` naming the field.
#[pyfunction]
fn read_sidecar(text: &str) -> PyResult<String> {
    to_json(&synparam::output::sidecar::read_sidecar(text).map_err(output_error)?)
}

/// Input files whose hashes differ from a sidecar's (`{name: sha256}` both, as JSON).
#[pyfunction]
fn changed_inputs(recorded_json: &str, actual_json: &str) -> PyResult<Vec<String>> {
    Ok(synparam::output::sidecar::changed_inputs(
        &parsed(recorded_json, "recorded inputs")?,
        &parsed(actual_json, "inputs")?,
    ))
}

/// The sidecar's `outputs` from a host's hashes, each copy of an input checked to equal that input
/// (JSON in and out, the core's `recorded_output_hashes`); `ValueError` naming the output.
#[pyfunction]
#[pyo3(signature = (config_text, plan_json, inputs_json, outputs_json))]
fn recorded_output_hashes(
    config_text: Option<&str>,
    plan_json: &str,
    inputs_json: &str,
    outputs_json: &str,
) -> PyResult<String> {
    let plan: Vec<synparam::output::verify::PlannedFile> = parsed(plan_json, "output plan")?;
    let inputs: serde_json::Map<String, serde_json::Value> = parsed(inputs_json, "input hashes")?;
    let outputs: serde_json::Map<String, serde_json::Value> = parsed(outputs_json, "output hashes")?;
    to_json(
        &synparam::output::verify::recorded_output_hashes(config_text, &plan, &inputs, &outputs)
            .map_err(output_error)?,
    )
}

/// The SHA-256 that identifies a model text (`synparam_config_sha256`).
#[pyfunction]
fn config_sha256(text: &str) -> String {
    synparam::output::sidecar::config_sha256(text)
}

/// SHA-256 (hex) of a text's UTF-8 bytes.
#[pyfunction]
fn text_sha256(text: &str) -> String {
    synparam::output::js_json::sha256_hex(text)
}

/// The JSON text of a value as JavaScript's `JSON.stringify` writes it (a config given as a dict).
#[pyfunction]
#[pyo3(signature = (json_text, indent = None))]
fn js_json(json_text: &str, indent: Option<usize>) -> PyResult<String> {
    let value: serde_json::Value = parsed(json_text, "JSON")?;
    Ok(synparam::output::js_json::stringify(&value, indent))
}

/// A number as JavaScript's `String(x)` writes it: a numeric node property's pathway value.
#[pyfunction]
fn number_text(x: f64) -> String {
    synparam::output::js_json::number_text(x)
}

/// The sidecar's file name at the root of an output circuit.
#[pyfunction]
fn sidecar_name() -> &'static str {
    synparam::output::layout::PROVENANCE_FILE
}

/// A POSIX path with `.`, `..` and repeated slashes resolved lexically.
#[pyfunction]
fn normalize_path(path: &str) -> String {
    synparam::output::paths::normalize_path(path)
}

/// Offsets of the HDF5 object-header signatures beginning in the first `scan` bytes of `block`.
#[pyfunction]
fn object_header_candidates(block: &[u8], start: u64, scan: usize) -> Vec<u64> {
    synparam::output::timestamps::header_candidates(block, start, scan)
}

/// The bytes an object header spans from its first 40 (None: not a stamped header).
#[pyfunction]
fn object_header_length(head: &[u8]) -> Option<usize> {
    synparam::output::timestamps::header_length(head)
}

/// The object header with its timestamps zeroed and its checksum fixed, or None when it is to be
/// kept (checksum wrong, already zero, or the input's times at the same place).
#[pyfunction]
#[pyo3(signature = (header, input_times = None))]
fn pin_object_header<'py>(
    py: Python<'py>,
    header: &[u8],
    input_times: Option<&[u8]>,
) -> Option<Bound<'py, pyo3::types::PyBytes>> {
    let mut patched = header.to_vec();
    synparam::output::timestamps::pin_header(&mut patched, input_times).then(|| pyo3::types::PyBytes::new(py, &patched))
}

/// The populations to load from one file (JSON: `{"Ok": [{name, problem}]}` or `{"Err":
/// message}`), the core's `populations_to_load`.
#[pyfunction]
#[pyo3(signature = (kind, declared, in_file, loaded))]
fn populations_to_load(
    kind: &str,
    declared: Option<Vec<String>>,
    in_file: Vec<String>,
    loaded: Vec<String>,
) -> PyResult<String> {
    let kind: synparam::loading::PopulationKind = parsed(&format!("\"{kind}\""), "population kind")?;
    to_json(&synparam::loading::populations_to_load(kind, declared.as_deref(), &in_file, &loaded))
}

/// An edge population's datasets as read (JSON `EdgeFacts`) → JSON `{"Ok": shape}` or `{"Err":
/// problem}`, the core's `check_edge_population`.
#[pyfunction]
fn check_edge_population(facts_json: &str) -> PyResult<String> {
    let facts: synparam::loading::EdgeFacts = parsed(facts_json, "edge population facts")?;
    to_json(&synparam::loading::check_edge_population(&facts))
}

/// A node population's size from the rows read (JSON `[type ids, group ids, first property]`).
#[pyfunction]
fn node_population_size(rows_json: &str) -> PyResult<String> {
    let rows: [Option<synparam::loading::Read<u64>>; 3] = parsed(rows_json, "node dataset rows")?;
    to_json(&synparam::loading::node_population_size(rows[0].as_ref(), rows[1].as_ref(), rows[2].as_ref()))
}

/// Edge populations whose node populations did not load (JSON in and out).
#[pyfunction]
fn edges_without_their_nodes(edges_json: &str, nodes: Vec<String>, unavailable_json: &str) -> PyResult<String> {
    let edges: Vec<synparam::loading::LoadedEdges> = parsed(edges_json, "loaded edge populations")?;
    let unavailable: Vec<synparam::loading::Unavailable> = parsed(unavailable_json, "unavailable populations")?;
    to_json(&synparam::loading::edges_without_their_nodes(&edges, &nodes, &unavailable))
}

/// Refuse a fallback entry naming no node population of `populations` (``ConfigError`` naming it).
#[pyfunction]
#[pyo3(signature = (fallback, populations))]
fn check_fallback_populations(
    py: Python<'_>,
    fallback: Option<&Bound<'_, PyAny>>,
    populations: Vec<String>,
) -> PyResult<()> {
    match fallback_argument(py, fallback)? {
        Some(fallback) => fallback.check_populations(&populations).map_err(|e| py_error(py, e)),
        None => Ok(()),
    }
}

/// Refuse a pathway property or a fallback for a rules run (``ConfigError`` naming the setting).
#[pyfunction]
#[pyo3(signature = (pathway_property=None, fallback=None))]
fn check_rules_settings(
    py: Python<'_>,
    pathway_property: Option<&str>,
    fallback: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let fallback = fallback_argument(py, fallback)?;
    synparam::rules::check_rules_settings(pathway_property, fallback.as_ref()).map_err(|e| py_error(py, e))
}

/// Whether a run skips an edge population for one side's node population (JSON `{population, role,
/// nodes, reason, warning}` or `null`); `fallback`: None, a str or a dict.
#[pyfunction]
#[pyo3(signature = (edges, role, nodes, property, has_property, fallback=None))]
fn pathway_skip(
    py: Python<'_>,
    edges: &str,
    role: &str,
    nodes: &str,
    property: &str,
    has_property: bool,
    fallback: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let fallback = fallback_argument(py, fallback)?;
    to_json(&synparam::loading::pathway_skip(edges, role, nodes, property, has_property, fallback.as_ref()))
}

/// Why a load has nothing to parameterize (JSON `{error, message}` or `null`).
#[pyfunction]
fn nothing_loads(loaded_edges: usize, unavailable_json: &str) -> PyResult<String> {
    let unavailable: Vec<synparam::loading::Unavailable> = parsed(unavailable_json, "unavailable populations")?;
    to_json(&synparam::loading::nothing_loads(loaded_edges, &unavailable))
}

/// The rows of a one-dimensional dataset from its metadata (shape, bytes per element, its
/// file's size as the storage bound, HDF5 filter ids); raises `ValueError` with what is wrong (not
/// one-dimensional, or more data than its storage can hold), for the loader to show after the
/// file, population and dataset.
#[pyfunction]
fn dataset_rows(shape: Vec<u64>, element_bytes: u64, storage_bound: u64, filters: Vec<i64>) -> PyResult<u64> {
    synparam::datasets::check_dataset_extent(&shape, element_bytes, storage_bound, &filters)
        .map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Whether a config text is a rules input (a BBP recipe in XML or JSON, or synparam rules).
#[pyfunction]
fn is_rules_input(text: &str) -> bool {
    synparam::rules::is_rules_input(text)
}

/// What a rules input holds, as JSON text: `{format, seed, rules, classes, properties: {source,
/// target}, unset, notes}`.
#[pyfunction]
fn read_rules(py: Python<'_>, text: &str) -> PyResult<String> {
    let rules = synparam::rules::parse_rules(text).map_err(|e| py_error(py, e))?;
    let (source, target) = synparam::rules::RuleCompiler::properties_read(&rules);
    let value = serde_json::json!({
        "format": rules.format,
        "seed": rules.seed,
        "rules": rules.rules.len(),
        "classes": rules.classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        "properties": {"source": source, "target": target},
        "unset": rules.unset,
        "notes": rules.notes,
        "populations": rules.populations,
        "overwrite": rules.overwrite,
    });
    json(py, &value)
}

/// Any model as synparam's rules JSON text (a matrix model: one rule per cell, selecting nodes by
/// `pathway_property`).
#[pyfunction]
fn export_rules(py: Python<'_>, text: &str, pathway_property: &str) -> PyResult<String> {
    let rules = if synparam::rules::is_rules_input(text) {
        synparam::rules::parse_rules(text).map_err(|e| py_error(py, e))?.to_rules_json()
    } else {
        synparam::rules::model_to_rules(text, pathway_property).map_err(|e| py_error(py, e))?
    };
    serde_json::to_string_pretty(&rules).map_err(|e| py_error(py, Error::input("rules", e.to_string())))
}

/// Any rules input as synparam's rules JSON text with `aliases` (JSON text: `{property: {name:
/// values}}`) as its alias table (the Rust `rules::with_aliases`).
#[pyfunction]
fn rules_with_aliases(py: Python<'_>, text: &str, aliases: &str) -> PyResult<String> {
    let table: serde_json::Value =
        serde_json::from_str(aliases).map_err(|e| py_error(py, Error::config("aliases", e.to_string())))?;
    let rules = synparam::rules::with_aliases(text, &table).map_err(|e| py_error(py, e))?;
    serde_json::to_string_pretty(&rules).map_err(|e| py_error(py, Error::input("rules", e.to_string())))
}

/// Rules compiled for a circuit (the Rust `rules::RuleCompiler`): add every edge population's node
/// tables, `prepare()`, add the edges, `finish()`.
#[pyclass(name = "RuleCompiler", module = "synparam._synparam")]
struct PyRuleCompiler {
    rules: Option<synparam::rules::RuleSet>,
    populations: Vec<(String, synparam::rules::NodeTable, synparam::rules::NodeTable)>,
    geometry: Vec<synparam::rules::PopulationGeometry>,
    compiler: Option<synparam::rules::RuleCompiler>,
    strict: bool,
}

/// Soma positions (µm, one float64 array per axis, node id = row) of `population`'s source nodes.
fn soma_positions(
    py: Python<'_>,
    population: &str,
    axes: [&Bound<'_, PyAny>; 3],
) -> PyResult<synparam::attributes::SomaPositions> {
    let axes = PyList::new(py, axes)?;
    let what = format!("source positions of edge population '{population}' axis");
    let [x, y, z]: [Vec<f64>; 3] = float64_columns(py, Some(axes.as_any()), &what)?
        .into_iter()
        .map(|c| c.values().to_vec())
        .collect::<Vec<_>>()
        .try_into()
        .expect("three axes");
    Ok(synparam::attributes::SomaPositions { x, y, z })
}

fn node_table(
    py: Python<'_>,
    population: &str,
    size: usize,
    columns: &Bound<'_, pyo3::types::PyDict>,
) -> PyResult<synparam::rules::NodeTable> {
    let mut table = synparam::rules::NodeTable { population: population.to_string(), size, ..Default::default() };
    for (name, values) in columns.iter() {
        let name: String = name.extract()?;
        let context = format!("node table of node population '{population}' column {name}");
        let chunks = arrays(&values)?;
        let values = synparam::arrow_io::string_values_from_arrays(chunks.iter().map(|a| a.as_ref()), &context)
            .map_err(|e| py_error(py, e))?;
        if values.len() != size {
            return Err(py_error(py, Error::input(context, format!("{} values for {size} nodes", values.len()))));
        }
        table.columns.insert(name, values);
    }
    Ok(table)
}

impl PyRuleCompiler {
    fn prepared(&mut self, py: Python<'_>) -> PyResult<&mut synparam::rules::RuleCompiler> {
        self.compiler.as_mut().ok_or_else(|| py_error(py, Error::input("rules", "call prepare() first")))
    }
}

#[pymethods]
impl PyRuleCompiler {
    /// Read the rules; `strict` refuses a rule naming a selector value no node has (else it is
    /// reported in the explanation's `rules_matching_nothing`).
    #[new]
    #[pyo3(signature = (text, strict = false))]
    fn new(py: Python<'_>, text: &str, strict: bool) -> PyResult<Self> {
        let rules = synparam::rules::parse_rules(text).map_err(|e| py_error(py, e))?;
        Ok(PyRuleCompiler { rules: Some(rules), populations: Vec::new(), geometry: Vec::new(), compiler: None, strict })
    }

    /// Add an edge population with its nodes' property columns (`{property: pyarrow array}`).
    #[pyo3(signature = (name, source_population, source_size, source_columns, target_population, target_size, target_columns))]
    #[allow(clippy::too_many_arguments)]
    fn add_population(
        &mut self,
        py: Python<'_>,
        name: &str,
        source_population: &str,
        source_size: usize,
        source_columns: &Bound<'_, pyo3::types::PyDict>,
        target_population: &str,
        target_size: usize,
        target_columns: &Bound<'_, pyo3::types::PyDict>,
    ) -> PyResult<()> {
        let source = node_table(py, source_population, source_size, source_columns)?;
        let target = node_table(py, target_population, target_size, target_columns)?;
        self.populations.push((name.to_string(), source, target));
        Ok(())
    }

    /// What an added edge population has of its geometry: the datasets every group has and
    /// whether its source nodes have soma positions. Given for every population, a recipe's delay
    /// parameters draw `delay` with functionalizer's formula where all can give `distance_soma`.
    fn set_geometry(&mut self, population: &str, datasets: Vec<String>, source_positions: bool) {
        self.geometry.push(synparam::rules::PopulationGeometry {
            population: population.to_string(),
            datasets,
            source_positions,
        });
    }

    /// Classify the nodes and decide which rule wins where.
    fn prepare(&mut self, py: Python<'_>) -> PyResult<()> {
        let mut rules = self.rules.take().ok_or_else(|| py_error(py, Error::input("rules", "already prepared")))?;
        let populations = std::mem::take(&mut self.populations);
        if populations.iter().all(|p| self.geometry.iter().any(|g| g.population == p.0)) {
            rules.assign_soma_delays_where_possible(&self.geometry);
        }
        self.compiler =
            Some(synparam::rules::RuleCompiler::new(rules, populations, self.strict).map_err(|e| py_error(py, e))?);
        Ok(())
    }

    /// Count edges `first_edge …` of `population` (integer id arrays).
    fn add_edges(
        &mut self,
        py: Python<'_>,
        population: &str,
        first_edge: u64,
        sources: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let sources = ids_of(py, sources, &format!("edges of '{population}' column source_node_id"))?;
        let targets = ids_of(py, targets, &format!("edges of '{population}' column target_node_id"))?;
        self.prepared(py)?
            .add_edges(population, first_edge, Ids::U64(&sources), Ids::U64(&targets))
            .map_err(|e| py_error(py, e))
    }

    /// The pathway values of `population`'s `side` nodes as an Arrow IPC stream (one dictionary
    /// column).
    fn pathway_column(&mut self, py: Python<'_>, population: &str, side: &str) -> PyResult<Vec<u8>> {
        let (source, target) = self.prepared(py)?.pathway_values(population).map_err(|e| py_error(py, e))?;
        let values = if side == "source" { source } else { target };
        synparam::arrow_io::write_pathway_column(&values).map_err(|e| py_error(py, e))
    }

    /// `{model, seed, explain}` as JSON text (the model itself as an object).
    fn finish(&mut self, py: Python<'_>, with_edges: bool) -> PyResult<String> {
        let compiled = self.prepared(py)?.finish(with_edges).map_err(|e| py_error(py, e))?;
        json(
            py,
            &serde_json::json!({"model": compiled.model, "seed": compiled.seed, "overwrite": compiled.overwrite, "explain": compiled.explain}),
        )
    }
}

/// What a fit of a circuit takes (`fit_circuit::plan_fit`), from a `FitRequest` as JSON text:
/// `{settings, populations, chunk_rows, warnings, not_fitted}` as JSON text.
#[pyfunction]
fn plan_fit(py: Python<'_>, request_json: &str) -> PyResult<String> {
    let request: synparam::fit_circuit::FitRequest =
        serde_json::from_str(request_json).map_err(|e| py_error(py, Error::config("fit request", e.to_string())))?;
    json(py, &synparam::fit_circuit::plan_fit(&request).map_err(|e| py_error(py, e))?)
}

/// A node column (pyarrow array, one value per node id) for a fit, or none.
fn node_column(
    py: Python<'_>,
    values: Option<&Bound<'_, PyAny>>,
    population: &str,
) -> PyResult<Option<synparam::engine::PathwayColumn>> {
    let Some(values) = values else { return Ok(None) };
    let chunks = arrays(values)?;
    Ok(Some(pathway_column_from_arrays(chunks.iter().map(|a| a.as_ref()), population).map_err(|e| py_error(py, e))?))
}

/// One pass's partial state of a fit (`PassState`): merges with another, crosses processes as
/// JSON text.
#[pyclass(name = "FitState", module = "synparam._synparam")]
struct PyFitState {
    state: synparam::fit::PassState,
}

#[pymethods]
impl PyFitState {
    /// Add another state of the same pass (chunks merged in edge order give the same bits).
    fn merge(&mut self, py: Python<'_>, other: &PyFitState) -> PyResult<()> {
        self.state.merge(&other.state).map_err(|e| py_error(py, e))
    }

    /// The state as JSON text.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        synparam::fit_circuit::state_to_json(&self.state).map_err(|e| py_error(py, e))
    }

    /// A state from `to_json`'s text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<PyFitState> {
        Ok(PyFitState { state: synparam::fit_circuit::state_from_json(text).map_err(|e| py_error(py, e))? })
    }
}

/// A fit of a circuit's edges (`fit_circuit::CircuitFit`): add the plan's edge populations with
/// their nodes' columns, then per pass add every chunk to a fresh state, merge the chunks' states
/// in edge order, `finish_pass`; then `finish()` and `build(options)`.
#[pyclass(name = "Fitter", module = "synparam._synparam")]
struct PyFitter {
    fit: synparam::fit_circuit::CircuitFit,
}

#[pymethods]
impl PyFitter {
    /// A fit with `settings_json` (a plan's `settings`) of pathways of `pathway_property`.
    #[new]
    fn new(py: Python<'_>, settings_json: &str, pathway_property: &str) -> PyResult<Self> {
        let settings: synparam::fit::FitSettings = from_json(py, "fit settings", settings_json)?;
        let fit = synparam::fit_circuit::CircuitFit::new(settings, pathway_property).map_err(|e| py_error(py, e))?;
        Ok(PyFitter { fit })
    }

    /// Add an edge population with its nodes' pathway values and, when the nodes have them,
    /// their `synapse_class` and `layer` values (pyarrow arrays, one value per node id).
    #[pyo3(signature = (name, source_population, source_values, target_population, target_values,
                        source_class=None, source_layer=None, target_class=None, target_layer=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_population(
        &mut self,
        py: Python<'_>,
        name: &str,
        source_population: &str,
        source_values: &Bound<'_, PyAny>,
        target_population: &str,
        target_values: &Bound<'_, PyAny>,
        source_class: Option<&Bound<'_, PyAny>>,
        source_layer: Option<&Bound<'_, PyAny>>,
        target_class: Option<&Bound<'_, PyAny>>,
        target_layer: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        use synparam::fit_circuit::NodeColumns;
        let required = |values: &Bound<'_, PyAny>, population: &str| -> PyResult<synparam::engine::PathwayColumn> {
            Ok(node_column(py, Some(values), population)?.expect("a column was given"))
        };
        let source = NodeColumns {
            pathway: required(source_values, source_population)?,
            class: node_column(py, source_class, source_population)?,
            layer: node_column(py, source_layer, source_population)?,
        };
        let target = NodeColumns {
            pathway: required(target_values, target_population)?,
            class: node_column(py, target_class, target_population)?,
            layer: node_column(py, target_layer, target_population)?,
        };
        self.fit.add_population(name, source, target).map_err(|e| py_error(py, e))
    }

    /// The source nodes' soma positions (µm, float64 arrays, one value per node id) of an edge
    /// population the plan's `distance_reads` lists (a `lin_delay` fit).
    fn set_source_positions(
        &mut self,
        py: Python<'_>,
        population: &str,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        z: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let positions = soma_positions(py, population, [x, y, z])?;
        self.fit.set_source_positions(population, positions).map_err(|e| py_error(py, e))
    }

    /// The next pass's plan as JSON text (for workers' `begin_pass`), or None when done.
    fn next_pass(&mut self, py: Python<'_>) -> PyResult<Option<String>> {
        let plan = self.fit.next_pass().map_err(|e| py_error(py, e))?;
        plan.map(|p| json(py, &p)).transpose()
    }

    /// Adopt a coordinator's pass plan (a worker).
    fn begin_pass(&mut self, py: Python<'_>, plan_json: &str) -> PyResult<()> {
        let plan = from_json(py, "fit pass plan", plan_json)?;
        self.fit.begin_pass(plan).map_err(|e| py_error(py, e))
    }

    /// An empty state of the current pass.
    fn new_state(&self, py: Python<'_>) -> PyResult<PyFitState> {
        Ok(PyFitState { state: self.fit.new_state().map_err(|e| py_error(py, e))? })
    }

    /// Add edges `first_edge …` of `population` to `state`: their source and target ids (integer
    /// arrays) and one float64 pyarrow array per property, in the settings' order, then one per
    /// dataset of the plan's `distance_reads` (a `lin_delay` fit). The edges must hold every edge
    /// of each of their target nodes.
    #[allow(clippy::too_many_arguments)]
    fn add_chunk(
        &self,
        py: Python<'_>,
        state: &mut PyFitState,
        population: &str,
        sources: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        first_edge: u64,
        columns: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        let sources = ids_of(py, sources, &format!("fit chunk of '{population}' column source_node_id"))?;
        let targets = ids_of(py, targets, &format!("fit chunk of '{population}' column target_node_id"))?;
        let edge_ids: Vec<u64> = (first_edge..first_edge + sources.len() as u64).collect();
        let mut arrays_of = Vec::new();
        for column in columns.iter() {
            let array = make_array(ArrayData::from_pyarrow_bound(&column)?);
            if array.data_type() != &DataType::Float64 || array.null_count() > 0 {
                let context = format!("fit chunk of '{population}'");
                return Err(py_error(
                    py,
                    Error::input(context, "property columns must be float64 arrays without nulls"),
                ));
            }
            arrays_of.push(array);
        }
        let values: Vec<&[f64]> = arrays_of
            .iter()
            .map(|a| a.as_any().downcast_ref::<arrow_array::Float64Array>().expect("checked float64").values().as_ref())
            .collect();
        let ids = synparam::engine::EdgeIds {
            source: Ids::U64(&sources),
            target: Ids::U64(&targets),
            edge_id: Ids::U64(&edge_ids),
        };
        let (fit, state) = (&self.fit, &mut state.state);
        py.detach(|| fit.add_chunk(state, population, ids, &values)).map_err(|e| py_error(py, e))
    }

    /// Take the whole pass's merged state.
    fn finish_pass(&mut self, py: Python<'_>, state: &PyFitState) -> PyResult<()> {
        self.fit.finish_pass(state.state.clone()).map_err(|e| py_error(py, e))
    }

    /// The extracted data (`FitData`) as JSON text, once `next_pass()` gave None.
    fn finish(&mut self, py: Python<'_>) -> PyResult<String> {
        let data = self.fit.finish().map_err(|e| py_error(py, e))?.clone();
        json(py, &data)
    }

    /// `{"source": {value: {class, layer}}, "target": …}` as JSON text, from the nodes.
    fn classes(&self, py: Python<'_>) -> PyResult<String> {
        let (source, target) = self.fit.classes();
        json(py, &serde_json::json!({"source": source, "target": target}))
    }

    /// `(model, report)` as JSON text, built with `options_json` (`build`'s options, merged over
    /// connectome-manipulator's reference choices).
    fn build(&self, py: Python<'_>, options_json: &str) -> PyResult<(String, String)> {
        let output = self.fit.build(options_json).map_err(|e| py_error(py, e))?;
        synparam::fit_circuit::output_texts(&output).map_err(|e| py_error(py, e))
    }
}

/// The digest of a dataset's stored values, computed as the core computes it for what it drew:
/// the writer's read-back check (`DatasetDigest` of the JS API).
#[pyclass(name = "DatasetDigest", module = "synparam._synparam")]
struct PyDatasetDigest {
    storage: synparam::config::ColumnType,
    digest: synparam::storage::Digest,
}

#[pymethods]
impl PyDatasetDigest {
    #[new]
    fn new(py: Python<'_>, storage: &str) -> PyResult<Self> {
        let column_type = synparam::config::ColumnType::from_name(storage)
            .ok_or_else(|| py_error(py, Error::input("storage", format!("unknown storage type {storage}"))))?;
        Ok(PyDatasetDigest { storage: column_type, digest: synparam::storage::Digest::default() })
    }

    /// Add stored bytes (little-endian, in the storage type) starting at `start_row`.
    fn add(&mut self, py: Python<'_>, start_row: u64, bytes: &[u8]) -> PyResult<()> {
        self.digest.add_bytes(self.storage, start_row, bytes).map_err(|e| py_error(py, e))
    }

    /// The digest as the core prints it.
    fn hex(&self) -> String {
        self.digest.hex()
    }

    /// Rows added so far.
    #[getter]
    fn rows(&self) -> u64 {
        self.digest.rows
    }
}

// ---- Scans and changes of a recorded run (the core's src/scan and src/output/scan_layout.rs) ----

/// Whether a config text is a scan config (a JSON object with `"scan"` at its root).
#[pyfunction]
fn is_scan_config(text: &str) -> bool {
    synparam::scan::is_scan_config(text)
}

/// A scan config expanded into its points, every point validated, as JSON: `{plan: {mode, kind,
/// axes, points: [{name, index, values, model_text, config_sha256, changes}], notes}, scan_json:
/// the text of scan.json}`; `host` (JSON, optional): `{max_points_option, settings: {seed:
/// "seed=", …}}`, the run settings the caller sets for every point, refused where an axis sets them;
/// errors as the core's (`ConfigError` naming the JSON path).
#[pyfunction]
#[pyo3(signature = (text, max_points=None, host=None))]
fn plan_scan(py: Python<'_>, text: &str, max_points: Option<usize>, host: Option<&str>) -> PyResult<String> {
    let host: synparam::scan::ScanHost = match host {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| py_error(py, synparam::Error::config("host", format!("not valid: {e}"))))?,
        None => Default::default(),
    };
    let plan = synparam::scan::plan_scan_for(text, max_points, &host).map_err(|e| py_error(py, e))?;
    to_json(&serde_json::json!({"plan": plan, "scan_json": plan.scan_json_text()}))
}

/// The edges files each point of a scan writes itself (JSON: the points' changes, what each edge
/// population of the first point drew), as the core decides them.
#[pyfunction]
fn scan_edge_files(changes_json: &str, drawn_json: &str) -> PyResult<Vec<String>> {
    let changes: Vec<synparam::scan::Changes> = parsed(changes_json, "scan point changes")?;
    let drawn: Vec<synparam::output::scan_layout::DrawnPopulation> = parsed(drawn_json, "drawn populations")?;
    Ok(synparam::output::scan_layout::per_point_edge_files(&changes, &drawn))
}

/// A scan's layout (the layout request as JSON, the edges files written per point) as JSON.
#[pyfunction]
fn scan_layout(request_json: &str, per_point: Vec<String>) -> PyResult<String> {
    let request: synparam::output::layout::LayoutRequest = parsed(request_json, "layout request")?;
    to_json(&synparam::output::scan_layout::scan_layout(&request, &per_point).map_err(output_error)?)
}

/// The names of a scan's root files: `(scan.json, shared)`.
#[pyfunction]
fn scan_file_names() -> (&'static str, &'static str) {
    (synparam::output::scan_layout::SCAN_FILE, synparam::output::scan_layout::SHARED_DIR)
}

/// A change of a recorded run, as JSON: `{recorded (read_sidecar's), model_text, parent}`.
#[pyfunction]
fn reparameterize(py: Python<'_>, sidecar_text: &str, patch_text: &str) -> PyResult<String> {
    synparam::output::sidecar::read_sidecar(sidecar_text).map_err(output_error)?;
    let change = synparam::scan::reparameterize(sidecar_text, patch_text).map_err(|e| py_error(py, e))?;
    to_json(
        &serde_json::json!({"recorded": change.recorded, "model_text": change.model_text, "parent": change.parent.to_json()}),
    )
}

/// The run settings a caller gives every point of a scan, as `scan_overrides` reads them (JSON).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ScanRunOverrides {
    seed: Option<u64>,
    pathway_property: Option<String>,
    fallback: Option<Fallback>,
    overwrite: Option<bool>,
    populations: Option<Vec<String>>,
}

/// `scalings_as_overrides=True`: per point (the plan's points as JSON) how it is written and the
/// text of scan.json recording it, as JSON `{outputs, scan_json}` (the core's
/// `scan::scalings_as_overrides`); `overrides_json`: `{seed, pathway_property, fallback, overwrite,
/// populations}`, each optional, as `plan_run` takes them.
#[pyfunction]
fn scan_overrides(py: Python<'_>, points_json: &str, scan_json_text: &str, overrides_json: &str) -> PyResult<String> {
    let points: Vec<synparam::scan::OverridePoint> = parsed(points_json, "scan points")?;
    let given: ScanRunOverrides = parsed(overrides_json, "run settings")?;
    let overrides = RunOverrides {
        seed: given.seed,
        pathway_property: given.pathway_property,
        fallback: given.fallback,
        overwrite: given.overwrite,
        populations: given.populations,
    };
    let outputs = synparam::scan::scalings_as_overrides(&points, &overrides).map_err(|e| py_error(py, e))?;
    let scan_json = synparam::scan::scan_json_with_outputs(scan_json_text, &outputs).map_err(|e| py_error(py, e))?;
    to_json(&serde_json::json!({"outputs": outputs, "scan_json": scan_json}))
}

/// Why a scan's override points cannot select their pathways on this circuit (the core's
/// `scan::override_node_sets_problem`): `(index, message)` for the first of `kinds` storing the
/// pathway property as numbers, or None.
#[pyfunction]
fn override_node_sets_problem(pathway_property: &str, option: &str, kinds: Vec<String>) -> Option<(usize, String)> {
    synparam::scan::override_node_sets_problem(pathway_property, option, &kinds)
}

/// The node sets file a circuit config names (`node_sets_file`, as written), or None.
#[pyfunction]
fn node_sets_file_of(py: Python<'_>, config_text: &str) -> PyResult<Option<String>> {
    synparam::scan::node_sets_file_of(config_text).map_err(|e| py_error(py, e))
}

/// The files `[(name, text)]` of a scan point written as overrides (the core's
/// `scan::override_point_files`; `output_json` the point's output as `scan_overrides` gives it).
#[pyfunction]
#[pyo3(signature = (point_name, base_name, config_name, base_config_text, circuit_node_sets_text, output_json))]
fn override_point_files(
    py: Python<'_>,
    point_name: &str,
    base_name: &str,
    config_name: &str,
    base_config_text: &str,
    circuit_node_sets_text: Option<&str>,
    output_json: &str,
) -> PyResult<Vec<(String, String)>> {
    let output: synparam::scan::PointOutput = parsed(output_json, "the point's output")?;
    synparam::scan::override_point_files(
        point_name,
        base_name,
        config_name,
        base_config_text,
        circuit_node_sets_text,
        &output,
    )
    .map_err(|e| py_error(py, e))
}

fn add_scan_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(is_scan_config, m)?)?;
    m.add_function(wrap_pyfunction!(plan_scan, m)?)?;
    m.add_function(wrap_pyfunction!(scan_edge_files, m)?)?;
    m.add_function(wrap_pyfunction!(scan_layout, m)?)?;
    m.add_function(wrap_pyfunction!(scan_file_names, m)?)?;
    m.add_function(wrap_pyfunction!(reparameterize, m)?)?;
    m.add_function(wrap_pyfunction!(scan_overrides, m)?)?;
    m.add_function(wrap_pyfunction!(node_sets_file_of, m)?)?;
    m.add_function(wrap_pyfunction!(override_node_sets_problem, m)?)?;
    m.add_function(wrap_pyfunction!(override_point_files, m)?)?;
    Ok(())
}

#[pymodule]
fn _synparam(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(plan_run, m)?)?;
    m.add_function(wrap_pyfunction!(fallback_from_text, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_class::<PyParameterizer>()?;
    m.add_class::<PyDatasetDigest>()?;
    m.add_class::<PyRuleCompiler>()?;
    m.add_class::<PyFitter>()?;
    m.add_class::<PyFitState>()?;
    m.add_function(wrap_pyfunction!(plan_fit, m)?)?;
    m.add_function(wrap_pyfunction!(is_rules_input, m)?)?;
    m.add_function(wrap_pyfunction!(dataset_rows, m)?)?;
    m.add_function(wrap_pyfunction!(populations_to_load, m)?)?;
    m.add_function(wrap_pyfunction!(check_edge_population, m)?)?;
    m.add_function(wrap_pyfunction!(node_population_size, m)?)?;
    m.add_function(wrap_pyfunction!(edges_without_their_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(nothing_loads, m)?)?;
    m.add_function(wrap_pyfunction!(pathway_skip, m)?)?;
    m.add_function(wrap_pyfunction!(check_rules_settings, m)?)?;
    m.add_function(wrap_pyfunction!(check_fallback_populations, m)?)?;
    m.add_function(wrap_pyfunction!(read_circuit_config, m)?)?;
    m.add_function(wrap_pyfunction!(output_layout, m)?)?;
    m.add_function(wrap_pyfunction!(output_files, m)?)?;
    m.add_function(wrap_pyfunction!(sidecar_text, m)?)?;
    m.add_function(wrap_pyfunction!(read_sidecar, m)?)?;
    m.add_function(wrap_pyfunction!(changed_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(config_sha256, m)?)?;
    m.add_function(wrap_pyfunction!(recorded_output_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(text_sha256, m)?)?;
    m.add_function(wrap_pyfunction!(js_json, m)?)?;
    m.add_function(wrap_pyfunction!(number_text, m)?)?;
    m.add_function(wrap_pyfunction!(sidecar_name, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_path, m)?)?;
    m.add_function(wrap_pyfunction!(object_header_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(object_header_length, m)?)?;
    m.add_function(wrap_pyfunction!(pin_object_header, m)?)?;
    m.add_function(wrap_pyfunction!(read_rules, m)?)?;
    m.add_function(wrap_pyfunction!(export_rules, m)?)?;
    m.add_function(wrap_pyfunction!(rules_with_aliases, m)?)?;
    // The core's names for where a synapse sits: the derived attribute and the datasets it reads.
    m.add("DISTANCE_SOMA", synparam::attributes::DISTANCE_SOMA)?;
    m.add("AFFERENT_CENTER", synparam::attributes::AFFERENT_CENTER.to_vec())?;
    m.add("EFFERENT_CENTER", synparam::attributes::EFFERENT_CENTER.to_vec())?;
    add_scan_functions(m)?;
    m.add("SynparamError", py.get_type::<SynparamError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("MissingPathwayValuesError", py.get_type::<MissingPathwayValuesError>())?;
    m.add("MissingPathwayPropertyError", py.get_type::<MissingPathwayPropertyError>())?;
    m.add("ValueOutOfRangeError", py.get_type::<ValueOutOfRangeError>())?;
    Ok(())
}
