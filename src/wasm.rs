//! The `#[wasm_bindgen]` boundary. It only converts: bytes and strings in, Arrow IPC bytes and
//! plain JS objects out, core errors to JS `Error`s whose `name` is the error kind and whose
//! `path` (for config errors) is the JSON path.
//!
//! ```js
//! import init, { validateConfig, Parameterizer } from "./pkg/synparam.js";
//! await init();
//! const run = new Parameterizer(configJson, 1);
//! run.addEdgePopulation("edges", "src", srcIpc, "tgt", tgtIpc, "synapse_class");
//! const columnsIpc = run.runChunk("edges", edgeChunkIpc); // Uint8Array, Arrow IPC stream
//! const stats = run.statistics();
//! ```

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::arrow_io::{
    decode_edge_chunk, decode_edge_chunk_with_attributes, decode_group_columns, read_pathway_column,
    write_chunk_result_into, DecodedEdgeChunk,
};
use crate::config::ColumnType;
use crate::config::{parse_pathway_spec, parse_task, spec_schema, Fallback, RunOverrides};
use crate::error::Error;
use crate::pathways::PathwayTally;
use crate::storage::{Digest, ExistingDataset, GroupLayout, StorageChunk};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A JS `Error` carrying the core error's kind as `name` and its JSON path as `path`.
fn js_error(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(error.kind());
    if let Some(path) = error.path() {
        let _ = js_sys::Reflect::set(&js, &"path".into(), &path.into());
    }
    js.into()
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::input("result conversion", e.to_string())))
}

/// A seed as JS gives it: a number (exact up to 2^53 − 1) or a decimal string (any u64).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsSeed {
    Number(f64),
    Text(String),
}

/// A seed from JS: a non-negative integer number no larger than 2^53 − 1, or the decimal string
/// of any u64 (as `planRun` gives seeds above 2^53 − 1).
fn seed_from_js(seed: Option<JsSeed>) -> Result<Option<u64>, JsValue> {
    let refuse = |shown: String| {
        js_error(Error::config(
            "random_seed",
            format!("must be a non-negative integer (at most 18446744073709551615; above 2^53 − 1 as a decimal string), got {shown}"),
        ))
    };
    match seed {
        None => Ok(None),
        Some(JsSeed::Number(s)) if s >= 0.0 && s.fract() == 0.0 && s <= crate::config::MAX_EXACT_JS_INTEGER as f64 => {
            Ok(Some(s as u64))
        }
        Some(JsSeed::Number(s)) => Err(refuse(s.to_string())),
        Some(JsSeed::Text(text)) => match text.parse::<u64>() {
            Ok(value) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(value)),
            _ => Err(refuse(format!("'{text}'"))),
        },
    }
}

/// A seed argument (undefined, null, a number or a decimal string) as `seed_from_js` takes it.
fn seed_arg(seed: JsValue) -> Result<Option<u64>, JsValue> {
    if seed.is_undefined() || seed.is_null() {
        return Ok(None);
    }
    let given: JsSeed =
        serde_wasm_bindgen::from_value(seed).map_err(|e| js_error(Error::config("random_seed", e.to_string())))?;
    seed_from_js(Some(given))
}

/// The crate's version: recorded in provenance so a result names the code that drew it.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Validate a config (ConnPropsModel dict or task form); returns its summary or throws a
/// `ConfigError` whose `path` names the offending key.
#[wasm_bindgen(js_name = validateConfig)]
pub fn validate_config(config_json: &str) -> Result<JsValue, JsValue> {
    let task = parse_task(config_json).map_err(js_error)?;
    to_js(&task.summary())
}

/// The spec schema editors build forms from: `{distributions: [[type, [parameter]]], common_keys,
/// dtypes}` — the parser's own table.
#[wasm_bindgen(js_name = specSchema)]
pub fn spec_schema_js() -> Result<JsValue, JsValue> {
    to_js(&spec_schema())
}

/// A fallback as JS gives it: undefined or null (none), a string (every node population) or
/// `{node population: value}` (`"*"`: every other population).
fn fallback_from_js(value: JsValue) -> Result<Option<Fallback>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let json: serde_json::Value =
        serde_wasm_bindgen::from_value(value).map_err(|e| js_error(Error::config("fallback", e.to_string())))?;
    Fallback::from_json(&json, "fallback").map(Some).map_err(js_error)
}

/// The fallback a text gives (`VALUE`, or `POPULATION=VALUE, …` with `*=VALUE` for every other
/// population; see the Rust `Fallback::from_text`): a string or an object, `null` for blank text.
/// Errors name `key` (the command's `--fallback-value`, the page's field).
#[wasm_bindgen(js_name = fallbackFromText)]
pub fn fallback_from_text(text: &str, key: &str) -> Result<JsValue, JsValue> {
    if text.trim().is_empty() {
        return Ok(JsValue::NULL);
    }
    to_js(&Fallback::from_text(text, key).map_err(js_error)?)
}

/// Refuse a fallback entry naming no node population of `populations` (see the Rust
/// `Fallback::check_populations`): throws a `ConfigError` naming the entry.
#[wasm_bindgen(js_name = checkFallbackPopulations)]
pub fn check_fallback_populations(fallback: JsValue, populations: Vec<String>) -> Result<(), JsValue> {
    match fallback_from_js(fallback)? {
        Some(fallback) => fallback.check_populations(&populations).map_err(js_error),
        None => Ok(()),
    }
}

/// The value node population `population`'s nodes without the pathway property take, or `null`.
#[wasm_bindgen(js_name = fallbackFor)]
pub fn fallback_for(fallback: JsValue, population: &str) -> Result<Option<String>, JsValue> {
    Ok(fallback_from_js(fallback)?.and_then(|f| f.for_population(population).map(str::to_string)))
}

/// What a caller may set over a config (`planRun`'s second argument), as JS passes it.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsRunOverrides {
    seed: Option<JsSeed>,
    pathway_property: Option<String>,
    fallback: Option<Fallback>,
    overwrite: Option<bool>,
    populations: Option<Vec<String>>,
}

/// `planRun`'s overrides (`{seed, pathwayProperty, fallback, overwrite, populations}`, each
/// optional; undefined or null: none) as the core takes them.
fn run_overrides_from_js(overrides: JsValue) -> Result<RunOverrides, JsValue> {
    let given: JsRunOverrides = if overrides.is_undefined() || overrides.is_null() {
        JsRunOverrides::default()
    } else {
        serde_wasm_bindgen::from_value(overrides).map_err(|e| js_error(Error::config("overrides", e.to_string())))?
    };
    Ok(RunOverrides {
        seed: seed_from_js(given.seed)?,
        pathway_property: given.pathway_property,
        fallback: given.fallback,
        overwrite: given.overwrite,
        populations: given.populations,
    })
}

/// The settings of a run: `{settings: {seed, pathwayProperty, fallback, overwrite, populations},
/// summary, schema}`. Each setting is `{value, source}` with source `override`, `config` or
/// `default`; `overrides` (`{seed, pathwayProperty, fallback, overwrite, populations}`, each
/// optional) win over the config's task form. `summary` is `validateConfig`'s; `schema` lists the
/// distribution types with their parameters, the common spec keys and the dtypes (for editors).
/// Throws the config's error, or a `ConfigError` for a bad override.
#[wasm_bindgen(js_name = planRun)]
pub fn plan_run(config_json: &str, overrides: JsValue) -> Result<JsValue, JsValue> {
    let task = parse_task(config_json).map_err(js_error)?;
    let overrides = run_overrides_from_js(overrides)?;
    #[derive(Serialize)]
    struct Plan {
        settings: crate::config::RunSettings,
        summary: crate::config::TaskSummary,
        schema: crate::config::SpecSchema,
    }
    to_js(&Plan { settings: task.settings(&overrides), summary: task.summary(), schema: spec_schema() })
}

/// Synapses per pathway value pair before a run (see the Rust `PathwayTally`): add each edge
/// population with its nodes' pathway columns, then its edge chunks.
#[wasm_bindgen(js_name = PathwayTally)]
pub struct JsPathwayTally {
    tally: PathwayTally,
}

#[wasm_bindgen(js_class = PathwayTally)]
impl JsPathwayTally {
    /// An empty tally.
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsPathwayTally {
        JsPathwayTally { tally: PathwayTally::new() }
    }

    /// Add an edge population with its source and target nodes' pathway columns (Arrow IPC, as
    /// `Parameterizer.addEdgePopulation` takes them).
    #[wasm_bindgen(js_name = addPopulation)]
    pub fn add_population(
        &mut self,
        name: &str,
        source_population: &str,
        source_ipc: &[u8],
        target_population: &str,
        target_ipc: &[u8],
    ) -> Result<(), JsValue> {
        let source = read_pathway_column(source_ipc, source_population).map_err(js_error)?;
        let target = read_pathway_column(target_ipc, target_population).map_err(js_error)?;
        self.tally.add_population(name, source, target).map_err(js_error)
    }

    /// Count one edge chunk (Arrow IPC with `source_node_id`, `target_node_id`, `edge_id`).
    pub fn add(&mut self, population: &str, edges_ipc: Vec<u8>) -> Result<(), JsValue> {
        let chunk = decode_edge_chunk(edges_ipc, population).map_err(js_error)?;
        let ids = chunk.ids();
        self.tally.add(population, ids.source, ids.target).map_err(js_error)
    }

    /// `[{source, target, synapses}]`, summed by value over the populations; nodes without a value
    /// count under their population's `fallback` value (a string, or `{population: value}`), else
    /// as `null`.
    pub fn counts(&self, fallback: JsValue) -> Result<JsValue, JsValue> {
        to_js(&self.tally.counts(fallback_from_js(fallback)?.as_ref()))
    }
}

impl Default for JsPathwayTally {
    fn default() -> Self {
        Self::new()
    }
}

/// A JS `Error` named `CircuitError` with `message`: what the output module says is wrong with a
/// circuit, its config or a sidecar, for the host to show after the file it read.
fn circuit_error(message: String) -> JsValue {
    let js = js_sys::Error::new(&message);
    js.set_name("CircuitError");
    js.into()
}

fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error(Error::input(what, e.to_string())))
}

/// What a `circuit_config.json` names: `{name, references: [{key_path, value, kind, role, name}],
/// node_files, edge_files: [{name, node_types_file, populations}]}` (design §4: paths resolved as
/// libsonata resolves them). Throws a `CircuitError` saying what is wrong with the config.
#[wasm_bindgen(js_name = readCircuitConfig)]
pub fn read_circuit_config(text: &str, name: &str) -> Result<JsValue, JsValue> {
    to_js(&crate::output::circuit_config::read_circuit_config(text, name).map_err(circuit_error)?)
}

/// A POSIX path with `.`, `..` and repeated slashes resolved lexically (design §4), as the core
/// resolves every name a circuit config gives.
#[wasm_bindgen(js_name = normalizePath)]
pub fn normalize_path(path: &str) -> String {
    crate::output::paths::normalize_path(path)
}

/// Whether a name is a URL (`https://…`) or scheme-relative (`//host/…`).
#[wasm_bindgen(js_name = isUrl)]
pub fn is_url(value: &str) -> bool {
    crate::output::paths::is_url(value)
}

/// The name a config value resolves to, given the manifest's expanded `variables` and the config's
/// folder `base` (`null` for `""`); throws a `CircuitError` for an unknown variable or a backslash.
#[wasm_bindgen(js_name = resolveConfigPath)]
pub fn resolve_config_path(value: &str, variables: JsValue, base: Option<String>) -> Result<Option<String>, JsValue> {
    let variables: std::collections::BTreeMap<String, String> = from_js(variables, "manifest variables")?;
    crate::output::paths::resolve_config_path(value, &variables, base.as_deref().unwrap_or("")).map_err(circuit_error)
}

/// Every path a circuit config (a parsed JSON object, as text) names: `[{key_path, value, kind, role}]`.
#[wasm_bindgen(js_name = pathReferences)]
pub fn path_references(config_json: &str) -> Result<JsValue, JsValue> {
    let config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(config_json).map_err(|e| circuit_error(format!("not a JSON object ({e})")))?;
    to_js(&crate::output::paths::path_references(&config))
}

/// An output path safe to create under an output root or in a zip (normalized), or a
/// `CircuitError` saying it is not a plain relative path.
#[wasm_bindgen(js_name = safeOutputPath)]
pub fn safe_output_path(output: &str) -> Result<String, JsValue> {
    crate::output::layout::safe_output_path(output).map_err(circuit_error)
}

/// The sidecar's name at the root of an output circuit (`parameterization.json`).
#[wasm_bindgen(js_name = sidecarName)]
pub fn sidecar_name() -> String {
    crate::output::layout::PROVENANCE_FILE.to_string()
}

/// Where each file of a circuit goes in its output (`{config: {name, text} | null, files: [{name,
/// role}]}` → `{entries, config, unset}`); throws a `CircuitError` for outputs that would collide.
#[wasm_bindgen(js_name = outputLayout)]
pub fn output_layout(request: JsValue) -> Result<JsValue, JsValue> {
    let request: crate::output::layout::LayoutRequest = from_js(request, "layout request")?;
    to_js(&crate::output::layout::circuit_layout(&request).map_err(circuit_error)?)
}

/// Every output file and where it comes from (`layout`, per entry `{present, kind, files}` as
/// found, the input names of the edges files written) → `[{output, from, entry, file}]`.
#[wasm_bindgen(js_name = outputFiles)]
pub fn output_files(layout: JsValue, found: JsValue, written: Vec<String>) -> Result<JsValue, JsValue> {
    let layout: crate::output::layout::Layout = from_js(layout, "layout")?;
    let found: Vec<crate::output::layout::FoundEntry> = from_js(found, "found entries")?;
    to_js(&crate::output::layout::output_files(&layout, &found, &written).map_err(circuit_error)?)
}

/// The sidecar's text from what a verified run knows (see the Rust `SidecarInputs`).
#[wasm_bindgen(js_name = sidecarText)]
pub fn sidecar_text(inputs: JsValue) -> Result<String, JsValue> {
    let inputs: crate::output::sidecar::SidecarInputs = from_js(inputs, "sidecar")?;
    Ok(crate::output::sidecar::sidecar_text(&inputs))
}

/// The run a sidecar records (`{format, version, config_text, seed, pathway_property, fallback,
/// overwrite, populations, inputs}`; `seed` a number up to 2^53 − 1, else its decimal text);
/// throws a `CircuitError` naming the field that is wrong.
#[wasm_bindgen(js_name = readSidecar)]
pub fn read_sidecar(text: &str) -> Result<JsValue, JsValue> {
    let run = crate::output::sidecar::read_sidecar(text).map_err(circuit_error)?;
    let mut value = serde_json::to_value(&run).map_err(|e| js_error(Error::input("sidecar", e.to_string())))?;
    value["seed"] = crate::output::sidecar::seed_value(run.seed);
    to_js(&value)
}

/// Input files whose hashes differ from a sidecar's (`{name: sha256}` both).
#[wasm_bindgen(js_name = changedInputs)]
pub fn changed_inputs(recorded: JsValue, actual: JsValue) -> Result<Vec<String>, JsValue> {
    Ok(crate::output::sidecar::changed_inputs(&from_js(recorded, "recorded inputs")?, &from_js(actual, "inputs")?))
}

/// The sidecar's `outputs` (`{output: sha256}`) from a host's hashes, each copy of an input checked
/// to equal that input (`plan`: `[{output, from, input, in_folder}]`); throws a `CircuitError`
/// naming the output that fails.
#[wasm_bindgen(js_name = recordedOutputHashes)]
pub fn recorded_output_hashes(
    config_text: Option<String>,
    plan: JsValue,
    inputs: JsValue,
    outputs: JsValue,
) -> Result<JsValue, JsValue> {
    let plan: Vec<crate::output::verify::PlannedFile> = from_js(plan, "output plan")?;
    let inputs: serde_json::Map<String, serde_json::Value> = from_js(inputs, "input hashes")?;
    let outputs: serde_json::Map<String, serde_json::Value> = from_js(outputs, "output hashes")?;
    to_js(
        &crate::output::verify::recorded_output_hashes(config_text.as_deref(), &plan, &inputs, &outputs)
            .map_err(circuit_error)?,
    )
}

/// The SHA-256 that identifies a model text (`synparam_config_sha256`).
#[wasm_bindgen(js_name = configSha256)]
pub fn config_sha256(text: &str) -> String {
    crate::output::sidecar::config_sha256(text)
}

/// SHA-256 (hex) of a text's UTF-8 bytes (a written circuit config's, for the sidecar).
#[wasm_bindgen(js_name = textSha256)]
pub fn text_sha256(text: &str) -> String {
    crate::output::js_json::sha256_hex(text)
}

/// Offsets of the HDF5 object-header signatures beginning in the first `scan` bytes of `block`
/// (which starts at file offset `start`).
#[wasm_bindgen(js_name = objectHeaderCandidates)]
pub fn object_header_candidates(block: &[u8], start: f64, scan: usize) -> Vec<f64> {
    crate::output::timestamps::header_candidates(block, start as u64, scan).into_iter().map(|o| o as f64).collect()
}

/// The bytes an object header spans from its first 40 (`undefined`: not a stamped header).
#[wasm_bindgen(js_name = objectHeaderLength)]
pub fn object_header_length(head: &[u8]) -> Option<usize> {
    crate::output::timestamps::header_length(head)
}

/// Zero a stamped object header's timestamps and fix its checksum, in place, unless the input's
/// bytes at the same place (`inputTimes`) show the run did not touch it; whether it changed.
#[wasm_bindgen(js_name = pinObjectHeader)]
pub fn pin_object_header(header: &mut [u8], input_times: Option<Vec<u8>>) -> bool {
    crate::output::timestamps::pin_header(header, input_times.as_deref())
}

/// The populations to load from one file (`kind`: "nodes" | "edges"; `declared`: the config's,
/// or null; `inFile`: the file's; `loaded`: edge populations already loaded) → `{Ok: [{name,
/// problem}]}` or `{Err: message}` (the file holds none): the core's `populations_to_load`.
#[wasm_bindgen(js_name = populationsToLoad)]
pub fn populations_to_load(
    kind: JsValue,
    declared: Option<Vec<String>>,
    in_file: Vec<String>,
    loaded: Vec<String>,
) -> Result<JsValue, JsValue> {
    let kind: crate::loading::PopulationKind = from_js(kind, "population kind")?;
    to_js(&crate::loading::populations_to_load(kind, declared.as_deref(), &in_file, &loaded))
}

/// An edge population's datasets as read (`EdgeFacts`) → `{Ok: {size, source, target,
/// has_group_ids}}` or `{Err: {message, dataset, failed}}`: the core's `check_edge_population`.
#[wasm_bindgen(js_name = checkEdgePopulation)]
pub fn check_edge_population(facts: JsValue) -> Result<JsValue, JsValue> {
    let facts: crate::loading::EdgeFacts = from_js(facts, "edge population facts")?;
    to_js(&crate::loading::check_edge_population(&facts))
}

/// A node population's size from the rows read (`[node_type_id, node_group_id, first property]`,
/// each a number, `{failed}` or null) → `{Ok: size}` or `{Err: problem}`.
#[wasm_bindgen(js_name = nodePopulationSize)]
pub fn node_population_size(rows: JsValue) -> Result<JsValue, JsValue> {
    let rows: [Option<crate::loading::Read<u64>>; 3] = from_js(rows, "node dataset rows")?;
    to_js(&crate::loading::node_population_size(rows[0].as_ref(), rows[1].as_ref(), rows[2].as_ref()))
}

/// Edge populations whose node populations did not load (`edges`: `[{name, source, target}]`,
/// `nodes`: loaded node populations, `unavailable`: the load's list) → `[{name, message, causes}]`.
#[wasm_bindgen(js_name = edgesWithoutTheirNodes)]
pub fn edges_without_their_nodes(edges: JsValue, nodes: Vec<String>, unavailable: JsValue) -> Result<JsValue, JsValue> {
    let edges: Vec<crate::loading::LoadedEdges> = from_js(edges, "loaded edge populations")?;
    let unavailable: Vec<crate::loading::Unavailable> = from_js(unavailable, "unavailable populations")?;
    to_js(&crate::loading::edges_without_their_nodes(&edges, &nodes, &unavailable))
}

/// Refuse a pathway property or a fallback for a rules run (see the Rust
/// `rules::check_rules_settings`): throws a `ConfigError` naming the setting.
#[wasm_bindgen(js_name = checkRulesSettings)]
pub fn check_rules_settings(pathway_property: Option<String>, fallback: JsValue) -> Result<(), JsValue> {
    let fallback = fallback_from_js(fallback)?;
    crate::rules::check_rules_settings(pathway_property.as_deref(), fallback.as_ref()).map_err(js_error)
}

/// Whether a run skips edge population `edges` for its `role` node population `nodes` (which
/// has the pathway property `property`, or not): `{population, role, nodes, reason, warning}` or
/// null; `fallback` the run's fallback (a string, `{population: value}`, or null).
#[wasm_bindgen(js_name = pathwaySkip)]
pub fn pathway_skip(
    edges: &str,
    role: &str,
    nodes: &str,
    property: &str,
    has_property: bool,
    fallback: JsValue,
) -> Result<JsValue, JsValue> {
    let fallback = fallback_from_js(fallback)?;
    to_js(&crate::loading::pathway_skip(edges, role, nodes, property, has_property, fallback.as_ref()))
}

/// Why a load has nothing to parameterize (`{error, message}`), or null.
#[wasm_bindgen(js_name = nothingLoads)]
pub fn nothing_loads(loaded_edges: usize, unavailable: JsValue) -> Result<JsValue, JsValue> {
    let unavailable: Vec<crate::loading::Unavailable> = from_js(unavailable, "unavailable populations")?;
    to_js(&crate::loading::nothing_loads(loaded_edges, &unavailable))
}

/// The rows of a one-dimensional dataset from its metadata (`shape`, bytes per element, an upper
/// bound on its storage such as its file's size, HDF5 filter ids); throws an `InputError` whose
/// message says what is wrong (not one-dimensional, or more data than its storage can hold), for
/// the host to show after the file, population and dataset.
#[wasm_bindgen(js_name = datasetRows)]
pub fn dataset_rows(
    shape: Vec<f64>,
    element_bytes: f64,
    storage_bound: f64,
    filters: Vec<i32>,
) -> Result<f64, JsValue> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let filters: Vec<i64> = filters.iter().map(|&f| f as i64).collect();
    crate::datasets::check_dataset_extent(&shape, element_bytes as u64, storage_bound as u64, &filters)
        .map(|rows| rows as f64)
        .map_err(|message| {
            let js = js_sys::Error::new(&message);
            js.set_name("InputError");
            js.into()
        })
}

/// Whether a config text is a rules input (a BBP recipe in XML or JSON, or synparam rules)
/// rather than a `ConnPropsModel` or task config.
#[wasm_bindgen(js_name = isRulesInput)]
pub fn is_rules_input(text: &str) -> bool {
    crate::rules::is_rules_input(text)
}

/// What a rules input holds: `{format, seed, rules, classes, properties: {source, target},
/// unset, notes, populations, overwrite, aliases}` (`properties`: the node properties its
/// selectors read; `aliases`: synparam rules' alias table, `{property: {name: values}}`). Throws a
/// `ConfigError` whose `path` names the place in the input.
#[wasm_bindgen(js_name = readRules)]
pub fn read_rules(text: &str) -> Result<JsValue, JsValue> {
    let rules = crate::rules::parse_rules(text).map_err(js_error)?;
    let (source, target) = crate::rules::RuleCompiler::properties_read(&rules);
    #[derive(Serialize)]
    struct Summary<'a> {
        format: &'a str,
        seed: Option<String>,
        rules: usize,
        classes: Vec<&'a str>,
        properties: Properties,
        unset: &'a [crate::rules::UnsetProperty],
        notes: &'a [String],
        populations: Option<&'a [String]>,
        overwrite: Option<bool>,
        aliases: serde_json::Value,
    }
    #[derive(Serialize)]
    struct Properties {
        source: Vec<String>,
        target: Vec<String>,
    }
    to_js(&Summary {
        format: rules.format,
        seed: rules.seed.map(|s| s.to_string()),
        rules: rules.rules.len(),
        classes: rules.classes.iter().map(|c| c.name.as_str()).collect(),
        properties: Properties { source, target },
        unset: &rules.unset,
        notes: &rules.notes,
        populations: rules.populations.as_deref(),
        overwrite: rules.overwrite,
        aliases: rules.aliases.to_json(),
    })
}

/// Any model as synparam's rules JSON (text): a rules input as it reads, or a `ConnPropsModel`
/// or task config as one rule per cell selecting nodes by `pathwayProperty`.
#[wasm_bindgen(js_name = exportRules)]
pub fn export_rules(text: &str, pathway_property: &str) -> Result<String, JsValue> {
    let rules = if crate::rules::is_rules_input(text) {
        crate::rules::parse_rules(text).map(|r| r.to_rules_json())
    } else {
        crate::rules::model_to_rules(text, pathway_property)
    };
    rules_text(rules)
}

/// Rules JSON as the text the model box holds (indented), or the core's error.
fn rules_text(rules: crate::error::Result<serde_json::Value>) -> Result<String, JsValue> {
    serde_json::to_string_pretty(&rules.map_err(js_error)?).map_err(|e| js_error(Error::input("rules", e.to_string())))
}

/// A JSON argument of a binding, its error named `what`.
fn json_argument(text: &str, what: &str) -> Result<serde_json::Value, JsValue> {
    serde_json::from_str(text).map_err(|e| js_error(Error::config(what, e.to_string())))
}

/// Any rules input as synparam rules JSON (text) with `aliases` (JSON text: `{property: {name:
/// values}}`) as its alias table (see the Rust `rules::with_aliases`): the page's mapping of a
/// recipe's names to the circuit's.
#[wasm_bindgen(js_name = rulesWithAliases)]
pub fn rules_with_aliases(text: &str, aliases: &str) -> Result<String, JsValue> {
    rules_text(crate::rules::with_aliases(text, &json_argument(aliases, "aliases")?))
}

/// Any rules input as synparam rules JSON (text) with `rule` (JSON text, a rules JSON rule) added
/// last (see the Rust `rules::with_rule`): the page's change of one pathway over rules.
#[wasm_bindgen(js_name = rulesWithRule)]
pub fn rules_with_rule(text: &str, rule: &str) -> Result<String, JsValue> {
    rules_text(crate::rules::with_rule(text, &json_argument(rule, "rule")?))
}

/// A preset by class as synparam rules JSON (text) for a circuit (see the Rust
/// `rules::preset_to_rules`): `mapping` is `{pathway_property, values: {value: type}, populations:
/// {population: type}, source?: {values, populations}, target?: {values, populations}}`.
#[wasm_bindgen(js_name = presetRules)]
pub fn preset_rules(preset: &str, mapping: JsValue) -> Result<String, JsValue> {
    let mapping: crate::rules::PresetMapping = from_js(mapping, "mapping")?;
    let rules = crate::rules::preset_to_rules(preset, &mapping).map_err(js_error)?;
    serde_json::to_string_pretty(&rules).map_err(|e| js_error(Error::input("rules", e.to_string())))
}

/// Rules compiled for a circuit (see the Rust `rules::RuleCompiler`): add every edge population
/// with node tables of the properties `readRules` lists (Arrow IPC, one column per property),
/// `prepare()`, then add the edges chunk by chunk and `finish()`.
#[wasm_bindgen(js_name = RuleCompiler)]
pub struct JsRuleCompiler {
    rules: Option<crate::rules::RuleSet>,
    populations: Vec<(String, crate::rules::NodeTable, crate::rules::NodeTable)>,
    geometry: Vec<crate::rules::PopulationGeometry>,
    compiler: Option<crate::rules::RuleCompiler>,
    strict: bool,
}

fn node_table(ipc: &[u8], population: &str) -> Result<crate::rules::NodeTable, JsValue> {
    let (size, columns) = crate::arrow_io::read_string_columns(ipc, population).map_err(js_error)?;
    Ok(crate::rules::NodeTable { population: population.to_string(), columns: columns.into_iter().collect(), size })
}

#[wasm_bindgen(js_class = RuleCompiler)]
impl JsRuleCompiler {
    /// Read the rules (throws their `ConfigError`); `strict` refuses a rule naming a selector
    /// value no node has (else it is reported in `explain.rules_matching_nothing`).
    #[wasm_bindgen(constructor)]
    pub fn new(text: &str, strict: Option<bool>) -> Result<JsRuleCompiler, JsValue> {
        let rules = crate::rules::parse_rules(text).map_err(js_error)?;
        Ok(JsRuleCompiler {
            rules: Some(rules),
            populations: Vec::new(),
            geometry: Vec::new(),
            compiler: None,
            strict: strict.unwrap_or(false),
        })
    }

    /// Add an edge population with its source and target node tables.
    #[wasm_bindgen(js_name = addPopulation)]
    pub fn add_population(
        &mut self,
        name: &str,
        source_population: &str,
        source_ipc: &[u8],
        target_population: &str,
        target_ipc: &[u8],
    ) -> Result<(), JsValue> {
        let source = node_table(source_ipc, source_population)?;
        let target = node_table(target_ipc, target_population)?;
        self.populations.push((name.to_string(), source, target));
        Ok(())
    }

    /// What an added edge population has of its geometry: the datasets every group has and
    /// whether its source nodes have soma positions. Given for every population, a recipe's delay
    /// parameters draw `delay` with functionalizer's formula where all can give `distance_soma`.
    #[wasm_bindgen(js_name = setGeometry)]
    pub fn set_geometry(&mut self, population: &str, datasets: Vec<String>, source_positions: bool) {
        self.geometry.push(crate::rules::PopulationGeometry {
            population: population.to_string(),
            datasets,
            source_positions,
        });
    }

    /// Classify the nodes and decide which rule wins where (throws, when strict, for a selector
    /// value no node has).
    pub fn prepare(&mut self) -> Result<(), JsValue> {
        let mut rules = self.rules.take().ok_or_else(|| js_error(Error::input("rules", "already prepared")))?;
        let populations = std::mem::take(&mut self.populations);
        if populations.iter().all(|p| self.geometry.iter().any(|g| g.population == p.0)) {
            rules.assign_soma_delays_where_possible(&self.geometry);
        }
        self.compiler = Some(crate::rules::RuleCompiler::new(rules, populations, self.strict).map_err(js_error)?);
        Ok(())
    }

    /// The rules' values against the circuit's per node property (`explain.names`), once
    /// prepared (else `[]`): shown when the edges' coverage fails, so a recipe from another
    /// circuit can be mapped instead of only refused.
    pub fn names(&self) -> Result<JsValue, JsValue> {
        to_js(&self.compiler.as_ref().map_or(&[][..], |c| c.names()))
    }

    fn prepared(&mut self) -> Result<&mut crate::rules::RuleCompiler, JsValue> {
        self.compiler.as_mut().ok_or_else(|| js_error(Error::input("rules", "call prepare() first")))
    }

    /// Count an edge chunk (Arrow IPC with `source_node_id`, `target_node_id`) of edges
    /// `firstEdge …`; throws at the first edge of a pathway no rule covers.
    #[wasm_bindgen(js_name = addEdges)]
    pub fn add_edges(&mut self, population: &str, first_edge: f64, edges_ipc: Vec<u8>) -> Result<(), JsValue> {
        let chunk = decode_edge_chunk(edges_ipc, population).map_err(js_error)?;
        let ids = chunk.ids();
        self.prepared()?.add_edges(population, first_edge as u64, ids.source, ids.target).map_err(js_error)
    }

    /// The pathway values of `population`'s `side` (`source` or `target`) nodes as a pathway
    /// column (Arrow IPC), for `Parameterizer.addEdgePopulation`.
    #[wasm_bindgen(js_name = pathwayColumn)]
    pub fn pathway_column(&mut self, population: &str, side: &str) -> Result<Vec<u8>, JsValue> {
        let (source, target) = self.prepared()?.pathway_values(population).map_err(js_error)?;
        let values = if side == "source" { source } else { target };
        crate::arrow_io::write_pathway_column(&values).map_err(js_error)
    }

    /// `{model: ConnPropsModel text, seed, explain}` (`withEdges`: the counts of `addEdges`,
    /// coverage checked on pathways with synapses only).
    pub fn finish(&mut self, with_edges: bool) -> Result<JsValue, JsValue> {
        let compiled = self.prepared()?.finish(with_edges).map_err(js_error)?;
        #[derive(Serialize)]
        struct Out<'a> {
            model: String,
            seed: Option<String>,
            overwrite: Option<bool>,
            explain: &'a crate::rules::Explain,
        }
        to_js(&Out {
            model: compiled.model.to_string(),
            seed: compiled.seed.map(|s| s.to_string()),
            overwrite: compiled.overwrite,
            explain: &compiled.explain,
        })
    }
}

/// Density (continuous) or mass (discrete) of one spec, as `[[x, y], …]`, for live previews.
#[wasm_bindgen(js_name = densityPreview)]
pub fn density_preview(spec_json: &str, points: usize) -> Result<JsValue, JsValue> {
    let spec = parse_pathway_spec(spec_json).map_err(js_error)?;
    to_js(&crate::stats::density_preview(&spec, points))
}

/// One spec as a readable line — its law with the parameterization spelled out, bounds, dtype,
/// sharing (e.g. lognormal's μ and σ are of the log, and its mean e^(μ+σ²/2)) — for editors.
#[wasm_bindgen(js_name = specFormula)]
pub fn spec_formula(spec_json: &str) -> Result<String, JsValue> {
    Ok(parse_pathway_spec(spec_json).map_err(js_error)?.formula())
}

/// A parameterization run (see the Rust `Parameterizer`).
#[wasm_bindgen(js_name = Parameterizer)]
pub struct JsParameterizer {
    run: crate::Parameterizer,
    /// The last chunk's result (Arrow IPC), kept so that `runChunkView` can lend it to JS and the
    /// next chunk reuses its buffer.
    output: Vec<u8>,
    /// The last chunk's storage blocks, lent to JS the same way.
    storage: StorageChunk,
}

#[wasm_bindgen(js_class = Parameterizer)]
impl JsParameterizer {
    /// Validate the config; `seed` (a number, or the decimal string of a seed above 2^53 − 1)
    /// overrides its `random_seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str, seed: JsValue) -> Result<JsParameterizer, JsValue> {
        let run = crate::Parameterizer::new(config_json, seed_arg(seed)?).map_err(js_error)?;
        Ok(JsParameterizer { run, output: Vec::new(), storage: StorageChunk::default() })
    }

    /// The seed in use: a number up to 2^53 − 1, else its decimal string (exact for every u64).
    #[wasm_bindgen(getter)]
    pub fn seed(&self) -> JsValue {
        let seed = self.run.seed();
        if seed <= crate::config::MAX_EXACT_JS_INTEGER {
            JsValue::from_f64(seed as f64)
        } else {
            JsValue::from_str(&seed.to_string())
        }
    }

    /// The validated config's summary.
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.run.task().summary())
    }

    /// Prepare an edge population from its source and target node populations' pathway columns
    /// (Arrow IPC, first column: strings, dictionary strings or integers; nulls = missing).
    #[wasm_bindgen(js_name = addEdgePopulation)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_edge_population(
        &mut self,
        name: &str,
        source_population: &str,
        source_ipc: &[u8],
        target_population: &str,
        target_ipc: &[u8],
        pathway_property: &str,
        fallback: JsValue,
    ) -> Result<(), JsValue> {
        let fallback = fallback_from_js(fallback)?;
        let source = read_pathway_column(source_ipc, source_population).map_err(js_error)?;
        let target = read_pathway_column(target_ipc, target_population).map_err(js_error)?;
        self.run.add_edge_population(name, source, target, pathway_property, fallback.as_ref()).map_err(js_error)
    }

    /// Draw every property for one edge chunk (Arrow IPC with `source_node_id`,
    /// `target_node_id`, `edge_id`); returns an Arrow IPC stream with one column per property,
    /// as a copy JS owns.
    #[wasm_bindgen(js_name = runChunk)]
    pub fn run_chunk(&mut self, population: &str, edges_ipc: Vec<u8>) -> Result<Vec<u8>, JsValue> {
        self.draw_chunk(population, edges_ipc)?;
        Ok(std::mem::take(&mut self.output))
    }

    /// `runChunk` without the copy: the result is a view into wasm memory, valid only until the
    /// next call into this module (which may reuse or move that memory). Read it (e.g. write its
    /// columns to a file) or `.slice()` it before anything else; this is what the tool's own
    /// writers do, saving a result-sized allocation and copy per chunk.
    #[wasm_bindgen(js_name = runChunkView)]
    pub fn run_chunk_view(&mut self, population: &str, edges_ipc: Vec<u8>) -> Result<js_sys::Uint8Array, JsValue> {
        self.draw_chunk(population, edges_ipc)?;
        // SAFETY: the view is handed to JS, which is told above not to keep it across calls; the
        // buffer lives in `self` until the next chunk replaces it.
        Ok(unsafe { js_sys::Uint8Array::view(&self.output) })
    }

    /// Add the next edges' group columns (Arrow IPC with `edge_group_id` and `edge_group_index`,
    /// edges `firstEdge …` in order) of edge population `population` (`size` edges) to its layout
    /// scan; `planOutput` checks the whole layout.
    #[wasm_bindgen(js_name = scanGroups)]
    pub fn scan_groups(
        &mut self,
        population: &str,
        size: f64,
        first_edge: f64,
        groups_ipc: Vec<u8>,
    ) -> Result<(), JsValue> {
        let groups = decode_group_columns(groups_ipc, population).map_err(js_error)?;
        let (ids, index) = groups.ids();
        self.run.scan_groups(population, size as u64, first_edge as u64, ids, index).map_err(js_error)
    }

    /// Plan what the run writes into edge population `population` (`size` edges): `existing` is
    /// `[{group, property, storage, rows}]` (storage: numpy name, or null when not numeric) for
    /// the datasets its groups have, `groups` the group ids the file has. Returns
    /// `{datasets: [{property, group, storage, rows, exists}], create_groups}`, or throws naming
    /// the conflict (existing properties without `overwrite`, length mismatch, missing group).
    /// `layout` (optional) is a plan's `layout` from another run (a coordinator's), used instead of
    /// a scan; the returned plan has its own `layout` to pass on.
    #[wasm_bindgen(js_name = planOutput)]
    pub fn plan_output(
        &mut self,
        population: &str,
        size: f64,
        existing: JsValue,
        groups: Vec<f64>,
        overwrite: bool,
        layout: JsValue,
    ) -> Result<JsValue, JsValue> {
        let existing: Vec<ExistingDataset> = serde_wasm_bindgen::from_value(existing)
            .map_err(|e| js_error(Error::input("existing datasets", e.to_string())))?;
        let layout: Option<GroupLayout> = if layout.is_undefined() || layout.is_null() {
            None
        } else {
            Some(
                serde_wasm_bindgen::from_value(layout)
                    .map_err(|e| js_error(Error::input("group layout", e.to_string())))?,
            )
        };
        let groups: Vec<u64> = groups.iter().map(|&g| g as u64).collect();
        let plan =
            self.run.plan_output(population, size as u64, &existing, &groups, overwrite, layout).map_err(js_error)?;
        to_js(plan)
    }

    /// What this run of `population` accumulated (statistics, connection counts, digests), as
    /// JSON text for another run of the same model and population to `mergeState`.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self, population: &str) -> Result<String, JsValue> {
        let state = self.run.export_state(population).map_err(js_error)?;
        serde_json::to_string(&state).map_err(|e| js_error(Error::input("run state", e.to_string())))
    }

    /// Add another run's `exportState` of the same model and population.
    #[wasm_bindgen(js_name = mergeState)]
    pub fn merge_state(&mut self, population: &str, state: &str) -> Result<(), JsValue> {
        let state: crate::RunState =
            serde_json::from_str(state).map_err(|e| js_error(Error::input("run state", e.to_string())))?;
        self.run.merge_state(population, &state).map_err(js_error)
    }

    /// Draw one edge chunk (Arrow IPC with `source_node_id`, `target_node_id`, `edge_id`, and the
    /// group columns when the population has them) and return it ready for storage, as planned:
    /// `{blocks: [{dataset, offset, length, runs: [[row, rows], …]}], bytes, arrow}`. `bytes` is a
    /// view into wasm memory holding every block (little-endian, in its dataset's storage type,
    /// at `offset`); `arrow` (with `withArrow`) a view of the drawn columns as Arrow IPC. Both are
    /// valid only until the next call into this module: write (or copy) them first.
    #[wasm_bindgen(js_name = runChunkStorage)]
    pub fn run_chunk_storage(
        &mut self,
        population: &str,
        edges_ipc: Vec<u8>,
        with_arrow: bool,
    ) -> Result<JsValue, JsValue> {
        let chunk = self.decode_with_attributes(population, edges_ipc)?;
        let result = self
            .run
            .run_storage_with_attributes(
                population,
                chunk.ids(),
                chunk.groups(),
                &chunk.attribute_columns(),
                &mut self.storage,
            )
            .map_err(js_error)?;
        drop(chunk);
        let out = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&out, &key.into(), value).map(|_| ());
        set("blocks", &to_js(&self.storage.blocks)?)?;
        if with_arrow {
            write_chunk_result_into(result, &mut self.output).map_err(js_error)?;
        }
        // SAFETY: views handed to JS, which is told not to keep them across calls; the buffers live
        // in `self` until the next chunk replaces them.
        set("bytes", &unsafe { js_sys::Uint8Array::view(self.storage.bytes()) }.into())?;
        if with_arrow {
            set("arrow", &unsafe { js_sys::Uint8Array::view(&self.output) }.into())?;
        }
        Ok(out.into())
    }

    /// The planned datasets of `population` with the digest of what was stored so far:
    /// `[{property, group, storage, rows, exists, digest, digest_rows}]` (see `DatasetDigest`).
    #[wasm_bindgen(js_name = datasetDigests)]
    pub fn dataset_digests(&self, population: &str) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct Entry<'a> {
            #[serde(flatten)]
            dataset: &'a crate::storage::DatasetPlan,
            digest: String,
            digest_rows: u64,
        }
        let digests = self.run.dataset_digests(population).map_err(js_error)?;
        let entries: Vec<Entry<'_>> = digests
            .iter()
            .map(|(dataset, digest)| Entry { dataset, digest: digest.hex(), digest_rows: digest.rows })
            .collect();
        to_js(&entries)
    }

    /// Count the distinct connections of one edge chunk (Arrow IPC) without drawing: what a
    /// coordinator of draw workers does for every chunk.
    #[wasm_bindgen(js_name = countConnectionsOf)]
    pub fn count_connections_of(&mut self, population: &str, edges_ipc: Vec<u8>) -> Result<(), JsValue> {
        let chunk = decode_edge_chunk(edges_ipc, population).map_err(js_error)?;
        self.run.count_connections_of(population, chunk.ids()).map_err(js_error)
    }

    /// Count connections of `population` per target block: its edges come sorted by target
    /// (checked by the caller), chunks in order — or, split between runs, whole target blocks.
    #[wasm_bindgen(js_name = assumeSortedByTarget)]
    pub fn assume_sorted_by_target(&mut self, population: &str) -> Result<(), JsValue> {
        self.run.assume_sorted_by_target(population).map_err(js_error)
    }

    /// Forget `population`'s connection counts and count by remembering every pair again (after
    /// `assumeSortedByTarget` turned out wrong: `connections` said so), before a recount.
    #[wasm_bindgen(js_name = resetConnections)]
    pub fn reset_connections(&mut self, population: &str) -> Result<(), JsValue> {
        self.run.reset_connections(population).map_err(js_error)
    }

    /// Whether chunks also count distinct connections (`connections`); on by default.
    #[wasm_bindgen(setter = countConnections)]
    pub fn set_count_connections(&mut self, enabled: bool) {
        self.run.set_connection_counting(enabled)
    }

    /// Distinct connections of edge population `population` so far, per pathway:
    /// `{"EXC → INH": count, …}` (pathways without any are left out).
    pub fn connections(&self, population: &str) -> Result<JsValue, JsValue> {
        let counts: std::collections::BTreeMap<String, u64> = self
            .run
            .connections(population)
            .map_err(js_error)?
            .into_iter()
            .map(|(source, target, count)| (format!("{source} → {target}"), count))
            .collect();
        to_js(&counts)
    }

    /// Statistics and histograms (with expected counts) per property × pathway so far.
    pub fn statistics(&self) -> Result<JsValue, JsValue> {
        to_js(&self.run.statistics())
    }

    /// The warnings the statistics so far call for, as edge population `population`'s lines
    /// (values clipped by bounds, values beyond a property's physiological range).
    pub fn warnings(&self, population: &str) -> Vec<String> {
        crate::stats::run_warnings(population, &self.run.statistics())
    }

    /// The values the edges file holds for `property` at the edges of a chunk (Arrow IPC as
    /// `runChunk` takes it; `values` in its edge order, NaN where there is none), binned per
    /// pathway for the before-and-after view in `statistics()` (`previous`).
    #[wasm_bindgen(js_name = addPreviousValues)]
    pub fn add_previous_values(
        &mut self,
        population: &str,
        edges_ipc: Vec<u8>,
        property: &str,
        values: &[f64],
    ) -> Result<(), JsValue> {
        let chunk = decode_edge_chunk(edges_ipc, population).map_err(js_error)?;
        self.run.add_previous_values(population, chunk.ids(), property, values).map_err(js_error)
    }

    /// The statistics so far, as JSON text for `mergeStatistics` of another run of the same
    /// model (a combined view over several edge populations).
    #[wasm_bindgen(js_name = statisticsState)]
    pub fn statistics_state(&self) -> Result<String, JsValue> {
        serde_json::to_string(&self.run.statistics_state())
            .map_err(|e| js_error(Error::input("statistics", e.to_string())))
    }

    /// Add another run's `statisticsState` of the same model.
    #[wasm_bindgen(js_name = mergeStatistics)]
    pub fn merge_statistics(&mut self, state: &str) -> Result<(), JsValue> {
        let state: Vec<Vec<crate::stats::AccumulatorState>> =
            serde_json::from_str(state).map_err(|e| js_error(Error::input("statistics", e.to_string())))?;
        self.run.merge_statistics(&state).map_err(js_error)
    }

    /// Forget collected statistics.
    #[wasm_bindgen(js_name = resetStatistics)]
    pub fn reset_statistics(&mut self) {
        self.run.reset_statistics()
    }
}

impl JsParameterizer {
    /// Decode, draw and encode one chunk into `self.output`.
    fn draw_chunk(&mut self, population: &str, edges_ipc: Vec<u8>) -> Result<(), JsValue> {
        let chunk = self.decode_with_attributes(population, edges_ipc)?;
        let result = self
            .run
            .run_edges_with_attributes(population, chunk.ids(), &chunk.attribute_columns())
            .map_err(js_error)?;
        drop(chunk);
        write_chunk_result_into(result, &mut self.output).map_err(js_error)
    }

    /// Decode a chunk with the attribute columns planned for `population` (none when the model
    /// reads none): the datasets' values travel in the chunk's Arrow table, named as the datasets.
    fn decode_with_attributes(&self, population: &str, edges_ipc: Vec<u8>) -> Result<DecodedEdgeChunk, JsValue> {
        let datasets = self.run.planned_edge_datasets(population).map_err(js_error)?;
        decode_edge_chunk_with_attributes(edges_ipc, population, datasets).map_err(js_error)
    }
}

// Per-synapse edge attributes (design §2.7): the core plans the reads, the host reads them and
// passes them as columns of each chunk's Arrow table (see `decode_with_attributes`).
#[wasm_bindgen(js_class = Parameterizer)]
impl JsParameterizer {
    /// The per-synapse attributes the model reads (`distance_soma`, edge dataset names), in its
    /// order; empty for most models.
    #[wasm_bindgen(getter, js_name = requiredEdgeAttributes)]
    pub fn required_edge_attributes(&self) -> Vec<String> {
        self.run.required_edge_attributes()
    }

    /// Which edge datasets the host reads for `population` given those its groups all have
    /// (`available`): `{datasets, source_positions, synapse_position}`. Each chunk then carries
    /// `datasets` as columns of its Arrow table. Throws an `InputError` naming every dataset the
    /// file lacks.
    #[wasm_bindgen(js_name = planEdgeAttributes)]
    pub fn plan_edge_attributes(&mut self, population: &str, available: Vec<String>) -> Result<JsValue, JsValue> {
        let available: Vec<&str> = available.iter().map(String::as_str).collect();
        to_js(&self.run.plan_edge_attributes(population, &available).map_err(js_error)?)
    }

    /// The source nodes' soma positions (µm, node id = row; `Float64Array`s), when the plan's
    /// `source_positions` says so.
    #[wasm_bindgen(js_name = setSourcePositions)]
    pub fn set_source_positions(
        &mut self,
        population: &str,
        x: Vec<f64>,
        y: Vec<f64>,
        z: Vec<f64>,
    ) -> Result<(), JsValue> {
        self.run.set_source_positions(population, crate::attributes::SomaPositions { x, y, z }).map_err(js_error)
    }
}

/// What a fit of a circuit takes (see the Rust `fit_circuit::plan_fit`): `request` is the JSON
/// text of a `FitRequest` (the pathway property, the properties and populations asked for, the
/// facts of every loadable edge population, the sample sizes, seed, fallback and chunk rows).
/// Returns `{settings, populations, chunk_rows, warnings, not_fitted}`; throws a `ConfigError`
/// naming the key.
#[wasm_bindgen(js_name = planFit)]
pub fn plan_fit(request: &str) -> Result<JsValue, JsValue> {
    let request: crate::fit_circuit::FitRequest =
        serde_json::from_str(request).map_err(|e| js_error(Error::config("fit request", e.to_string())))?;
    to_js(&crate::fit_circuit::plan_fit(&request).map_err(js_error)?)
}

/// An optional node column (Arrow IPC, as `Parameterizer.addEdgePopulation` takes pathway
/// columns).
fn optional_column(ipc: Option<Vec<u8>>, population: &str) -> Result<Option<crate::engine::PathwayColumn>, JsValue> {
    ipc.map(|bytes| read_pathway_column(&bytes, population)).transpose().map_err(js_error)
}

/// A fit of a circuit's edges (see the Rust `fit_circuit::CircuitFit`): add every edge population
/// of the plan with its nodes' columns, then, while `nextPass()` gives a plan, add every chunk to
/// a fresh `FitState` (`newState`, `addChunk`), merge the chunks' states in edge order and
/// `finishPass`; then `finish()` and `build(options)`.
#[wasm_bindgen(js_name = Fitter)]
pub struct JsFitter {
    fit: crate::fit_circuit::CircuitFit,
}

/// One pass's partial state of a fit: merges with another (`merge`), crosses threads as JSON.
#[wasm_bindgen(js_name = FitState)]
pub struct JsFitState {
    state: crate::fit::PassState,
}

#[wasm_bindgen(js_class = FitState)]
impl JsFitState {
    /// Add another state of the same pass (chunks merged in edge order give the same bits).
    pub fn merge(&mut self, other: &JsFitState) -> Result<(), JsValue> {
        self.state.merge(&other.state).map_err(js_error)
    }

    /// The state as JSON text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> Result<String, JsValue> {
        crate::fit_circuit::state_to_json(&self.state).map_err(js_error)
    }

    /// A state from `toJson`'s text.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<JsFitState, JsValue> {
        Ok(JsFitState { state: crate::fit_circuit::state_from_json(text).map_err(js_error)? })
    }
}

#[wasm_bindgen(js_class = Fitter)]
impl JsFitter {
    /// A fit with `settings` (JSON text: a plan's `settings`) of pathways of `pathwayProperty`.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: &str, pathway_property: &str) -> Result<JsFitter, JsValue> {
        let settings: crate::fit::FitSettings =
            serde_json::from_str(settings).map_err(|e| js_error(Error::config("fit settings", e.to_string())))?;
        Ok(JsFitter { fit: crate::fit_circuit::CircuitFit::new(settings, pathway_property).map_err(js_error)? })
    }

    /// Add an edge population with its source and target nodes' pathway columns and, when the
    /// nodes have them, their `synapse_class` and `layer` columns (Arrow IPC; `undefined` when
    /// absent).
    #[wasm_bindgen(js_name = addPopulation)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_population(
        &mut self,
        name: &str,
        source_population: &str,
        source_ipc: &[u8],
        target_population: &str,
        target_ipc: &[u8],
        source_class_ipc: Option<Vec<u8>>,
        source_layer_ipc: Option<Vec<u8>>,
        target_class_ipc: Option<Vec<u8>>,
        target_layer_ipc: Option<Vec<u8>>,
    ) -> Result<(), JsValue> {
        use crate::fit_circuit::NodeColumns;
        let source = NodeColumns {
            pathway: read_pathway_column(source_ipc, source_population).map_err(js_error)?,
            class: optional_column(source_class_ipc, source_population)?,
            layer: optional_column(source_layer_ipc, source_population)?,
        };
        let target = NodeColumns {
            pathway: read_pathway_column(target_ipc, target_population).map_err(js_error)?,
            class: optional_column(target_class_ipc, target_population)?,
            layer: optional_column(target_layer_ipc, target_population)?,
        };
        self.fit.add_population(name, source, target).map_err(js_error)
    }

    /// The source nodes' soma positions (µm, node id = row; `Float64Array`s) of an edge
    /// population the plan's `distance_reads` lists (a `lin_delay` fit).
    #[wasm_bindgen(js_name = setSourcePositions)]
    pub fn set_source_positions(
        &mut self,
        population: &str,
        x: Vec<f64>,
        y: Vec<f64>,
        z: Vec<f64>,
    ) -> Result<(), JsValue> {
        self.fit.set_source_positions(population, crate::attributes::SomaPositions { x, y, z }).map_err(js_error)
    }

    /// The next pass's plan as JSON text (hand it to workers' `beginPass`), or `undefined` when
    /// the passes are done.
    #[wasm_bindgen(js_name = nextPass)]
    pub fn next_pass(&mut self) -> Result<Option<String>, JsValue> {
        let plan = self.fit.next_pass().map_err(js_error)?;
        plan.map(|p| serde_json::to_string(&p).map_err(|e| js_error(Error::input("fit pass plan", e.to_string()))))
            .transpose()
    }

    /// Adopt a coordinator's pass plan (a worker).
    #[wasm_bindgen(js_name = beginPass)]
    pub fn begin_pass(&mut self, plan: &str) -> Result<(), JsValue> {
        let plan = serde_json::from_str(plan).map_err(|e| js_error(Error::input("fit pass plan", e.to_string())))?;
        self.fit.begin_pass(plan).map_err(js_error)
    }

    /// An empty state of the current pass.
    #[wasm_bindgen(js_name = newState)]
    pub fn new_state(&self) -> Result<JsFitState, JsValue> {
        Ok(JsFitState { state: self.fit.new_state().map_err(js_error)? })
    }

    /// Add one edge chunk of `population` to `state`: `edgesIpc` as `Parameterizer.runChunk`
    /// takes it (every edge of each of its target nodes), `values` every property's column (in
    /// the settings' order, as float64) one after the other, then the plan's `distance_reads`
    /// datasets of the population (a `lin_delay` fit).
    #[wasm_bindgen(js_name = addChunk)]
    pub fn add_chunk(
        &self,
        state: &mut JsFitState,
        population: &str,
        edges_ipc: Vec<u8>,
        values: &[f64],
    ) -> Result<(), JsValue> {
        let chunk = decode_edge_chunk(edges_ipc, population).map_err(js_error)?;
        let ids = chunk.ids();
        let settings = self.fit.settings();
        let extra = settings.delay_fit.as_ref().and_then(|d| d.reads.get(population)).map_or(0, Vec::len);
        let (n, p) = (ids.len(), settings.properties.len() + extra);
        if values.len() != n * p {
            return Err(js_error(Error::input(
                format!("fit chunk of '{population}'"),
                format!("{} values for {p} columns (properties, then distance datasets) of {n} edges", values.len()),
            )));
        }
        let columns: Vec<&[f64]> = (0..p).map(|k| &values[k * n..(k + 1) * n]).collect();
        self.fit.add_chunk(&mut state.state, population, ids, &columns).map_err(js_error)
    }

    /// Take the whole pass's merged state.
    #[wasm_bindgen(js_name = finishPass)]
    pub fn finish_pass(&mut self, state: &JsFitState) -> Result<(), JsValue> {
        self.fit.finish_pass(state.state.clone()).map_err(js_error)
    }

    /// The extracted data (`FitData`) as JSON text, once `nextPass()` gave `undefined`.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        let data = self.fit.finish().map_err(js_error)?;
        serde_json::to_string(data).map_err(|e| js_error(Error::input("fit data", e.to_string())))
    }

    /// `{source, target}`: the class and layer of each pathway value, from the nodes.
    pub fn classes(&self) -> Result<JsValue, JsValue> {
        let (source, target) = self.fit.classes();
        to_js(&serde_json::json!({"source": source, "target": target}))
    }

    /// The model and report as JSON text (`{model, report}`), built with `options` (JSON text of
    /// `build`'s options, merged over connectome-manipulator's reference choices).
    pub fn build(&self, options: &str) -> Result<JsValue, JsValue> {
        let output = self.fit.build(options).map_err(js_error)?;
        let (model, report) = crate::fit_circuit::output_texts(&output).map_err(js_error)?;
        to_js(&serde_json::json!({"model": model, "report": report}))
    }
}

/// The content digest of a stored dataset, computed from its bytes as read back from a file, to
/// compare with `Parameterizer.datasetDigests` (see `storage::Digest`).
#[wasm_bindgen(js_name = DatasetDigest)]
pub struct JsDatasetDigest {
    storage: ColumnType,
    digest: Digest,
}

#[wasm_bindgen(js_class = DatasetDigest)]
impl JsDatasetDigest {
    /// A digest of a dataset of storage type `storage` (numpy name: `float32`, `uint32`, …).
    #[wasm_bindgen(constructor)]
    pub fn new(storage: &str) -> Result<JsDatasetDigest, JsValue> {
        let storage = ColumnType::from_name(storage)
            .ok_or_else(|| js_error(Error::input("dataset digest", format!("unknown storage type '{storage}'"))))?;
        Ok(JsDatasetDigest { storage, digest: Digest::default() })
    }

    /// Add rows `startRow …` from their little-endian bytes (e.g. a typed array's bytes).
    pub fn add(&mut self, start_row: f64, bytes: &[u8]) -> Result<(), JsValue> {
        self.digest.add_bytes(self.storage, start_row as u64, bytes).map_err(js_error)
    }

    /// The digest (16 hex digits).
    #[wasm_bindgen(getter)]
    pub fn hex(&self) -> String {
        self.digest.hex()
    }

    /// Rows added.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> f64 {
        self.digest.rows as f64
    }
}

/// SHA-256 (for the provenance sidecar) and CRC-32 (for zip entries) of a file, fed in slices as
/// it streams — one pass for both. Browsers have no streaming digest, and these are faster than
/// ones written in JS.
#[wasm_bindgen(js_name = FileDigest)]
pub struct JsFileDigest {
    sha256: sha2::Sha256,
    crc32: crc32fast::Hasher,
}

#[wasm_bindgen(js_class = FileDigest)]
impl JsFileDigest {
    /// A new digest.
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsFileDigest {
        use sha2::Digest;
        JsFileDigest { sha256: sha2::Sha256::new(), crc32: crc32fast::Hasher::new() }
    }

    /// Add the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        self.sha256.update(bytes);
        self.crc32.update(bytes);
    }

    /// SHA-256 of everything added, as lowercase hex.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        self.sha256.clone().finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// CRC-32 (the zip format's) of everything added.
    pub fn crc32(&self) -> u32 {
        self.crc32.clone().finalize()
    }
}

impl Default for JsFileDigest {
    fn default() -> Self {
        Self::new()
    }
}

// ---- Scans and changes of a recorded run (src/scan, src/output/scan_layout.rs) ----

/// Whether a config text is a scan config (a JSON object with `"scan"` at its root).
#[wasm_bindgen(js_name = isScanConfig)]
pub fn is_scan_config(text: &str) -> bool {
    crate::scan::is_scan_config(text)
}

/// A scan config expanded into its points, every point validated before anything is written:
/// `{plan: {mode, kind, axes, points: [{name, index, values, model_text, config_sha256, changes}],
/// notes}, scan_json: the text of scan.json}`; `max_points` (null: the config's, else 10⁴); `host`
/// (optional) `{max_points_option, settings: {seed: "--seed", …}}`: the run settings the host sets
/// for every point, refused where an axis sets them (`ScanHost`). Throws a `ConfigError` naming the
/// JSON path (and, for a bad point, its name and axis values).
#[wasm_bindgen(js_name = planScan)]
pub fn plan_scan(text: &str, max_points: Option<usize>, host: JsValue) -> Result<JsValue, JsValue> {
    let host: crate::scan::ScanHost =
        if host.is_undefined() || host.is_null() { Default::default() } else { from_js(host, "host")? };
    let plan = crate::scan::plan_scan_for(text, max_points, &host).map_err(js_error)?;
    to_js(&serde_json::json!({"plan": plan, "scan_json": plan.scan_json_text()}))
}

/// The edges files each point of a scan writes itself (the points' `changes`, what each edge
/// population of the first point drew: `[{file, properties: [{property, pathways: [{source,
/// target}]}]}]`); every other file is stored once.
#[wasm_bindgen(js_name = scanEdgeFiles)]
pub fn scan_edge_files(changes: JsValue, drawn: JsValue) -> Result<Vec<String>, JsValue> {
    let changes: Vec<crate::scan::Changes> = from_js(changes, "scan point changes")?;
    let drawn: Vec<crate::output::scan_layout::DrawnPopulation> = from_js(drawn, "drawn populations")?;
    Ok(crate::output::scan_layout::per_point_edge_files(&changes, &drawn))
}

/// A scan's layout (`request` as `outputLayout` takes it, the edges files written per point) →
/// `{shared_dir, shared_prefix, layout, per_point, point}`; throws a `CircuitError`.
#[wasm_bindgen(js_name = scanLayout)]
pub fn scan_layout(request: JsValue, per_point: Vec<String>) -> Result<JsValue, JsValue> {
    let request: crate::output::layout::LayoutRequest = from_js(request, "layout request")?;
    to_js(&crate::output::scan_layout::scan_layout(&request, &per_point).map_err(circuit_error)?)
}

/// The names of a scan's root files: `{scan: "scan.json", shared: "shared"}`.
#[wasm_bindgen(js_name = scanFileNames)]
pub fn scan_file_names() -> Result<JsValue, JsValue> {
    use crate::output::scan_layout::{SCAN_FILE, SHARED_DIR};
    to_js(&serde_json::json!({"scan": SCAN_FILE, "shared": SHARED_DIR}))
}

/// A run whose `changes` (a scan point's, as `planScan` gives them) touch some properties, drawn
/// over a copy of the first point's file, which wrote `first` (`[{property, storage}]` in the
/// order written): `{config_text (null when not possible), properties, reason}` (see the Rust
/// `scan::redraw_config`). Throws a `ConfigError` for a config that does not parse.
#[wasm_bindgen(js_name = redrawConfig)]
pub fn redraw_config(config_text: &str, changes: JsValue, first: JsValue) -> Result<JsValue, JsValue> {
    let changes: crate::scan::Changes = from_js(changes, "scan point changes")?;
    let first: Vec<crate::scan::WrittenDataset> = from_js(first, "the first point's datasets")?;
    to_js(&crate::scan::redraw_config(config_text, &changes, &first).map_err(js_error)?)
}

/// The patch that turns a recorded config into `current_text` (see the Rust `scan::patch_between`):
/// the page's *Re-run changes only*. Throws a `ConfigError` saying why a change is not a patch.
#[wasm_bindgen(js_name = patchBetween)]
pub fn patch_between(recorded_text: &str, current_text: &str) -> Result<String, JsValue> {
    crate::scan::patch_between(recorded_text, current_text).map_err(js_error)
}

/// `--from-provenance SIDECAR --change PATCH`: `{recorded (as readSidecar gives it), model_text
/// (the patch merged over the recorded config), parent (the new sidecar's "parent" record)}`.
/// Throws a `CircuitError` for a bad sidecar, a `ConfigError` naming the patch's key.
#[wasm_bindgen(js_name = reparameterize)]
pub fn reparameterize(sidecar_text: &str, patch_text: &str) -> Result<JsValue, JsValue> {
    crate::output::sidecar::read_sidecar(sidecar_text).map_err(circuit_error)?;
    let change = crate::scan::reparameterize(sidecar_text, patch_text).map_err(js_error)?;
    let mut recorded =
        serde_json::to_value(&change.recorded).map_err(|e| js_error(Error::input("sidecar", e.to_string())))?;
    recorded["seed"] = crate::output::sidecar::seed_value(change.recorded.seed);
    to_js(
        &serde_json::json!({"recorded": recorded, "model_text": change.model_text, "parent": change.parent.to_json()}),
    )
}

/// `--scalings-as-overrides`: per point of a scan (`points` as `planScan` gives them; `overrides`
/// as `planRun` takes them), how it is written — `{as: "edges", reason}` or `{as: "overrides",
/// scalings, entries, node_sets}` (see the Rust `scan::scalings_as_overrides`) — and `scan_json`,
/// the text of scan.json (`scanJsonText`) with each point's output recorded.
#[wasm_bindgen(js_name = scanOverrides)]
pub fn scan_overrides(points: JsValue, overrides: JsValue, scan_json_text: &str) -> Result<JsValue, JsValue> {
    let points: Vec<crate::scan::OverridePoint> = from_js(points, "scan points")?;
    let outputs = crate::scan::scalings_as_overrides(&points, &run_overrides_from_js(overrides)?).map_err(js_error)?;
    let scan_json = crate::scan::scan_json_with_outputs(scan_json_text, &outputs).map_err(js_error)?;
    to_js(&serde_json::json!({"outputs": outputs, "scan_json": scan_json}))
}

/// Why a scan's override points cannot select their pathways on this circuit (see the Rust
/// `scan::override_node_sets_problem`): `{index, message}` naming the first of `kinds` (per node
/// population having the pathway property, as the loader reads it) that stores it as numbers, or
/// undefined.
#[wasm_bindgen(js_name = overrideNodeSetsProblem)]
pub fn override_node_sets_problem(
    pathway_property: &str,
    option: &str,
    kinds: Vec<String>,
) -> Result<JsValue, JsValue> {
    match crate::scan::override_node_sets_problem(pathway_property, option, &kinds) {
        Some((index, message)) => to_js(&serde_json::json!({"index": index, "message": message})),
        None => Ok(JsValue::UNDEFINED),
    }
}

/// The node sets file a circuit config names (`node_sets_file`, as written), or undefined.
#[wasm_bindgen(js_name = nodeSetsFileOf)]
pub fn node_sets_file_of(config_text: &str) -> Result<Option<String>, JsValue> {
    crate::scan::node_sets_file_of(config_text).map_err(js_error)
}

/// The files `[{name, text}]` of a scan point written as overrides (see the Rust
/// `scan::override_point_files`): its circuit config pointing into point 0's folder, the
/// simulation-config fragment and its node sets file.
#[wasm_bindgen(js_name = overridePointFiles)]
pub fn override_point_files(
    point_name: &str,
    base_name: &str,
    config_name: &str,
    base_config_text: &str,
    circuit_node_sets_text: Option<String>,
    output: JsValue,
) -> Result<JsValue, JsValue> {
    let output: crate::scan::PointOutput = from_js(output, "the point's output")?;
    let files = crate::scan::override_point_files(
        point_name,
        base_name,
        config_name,
        base_config_text,
        circuit_node_sets_text.as_deref(),
        &output,
    )
    .map_err(js_error)?;
    to_js(&files.into_iter().map(|(name, text)| serde_json::json!({"name": name, "text": text})).collect::<Vec<_>>())
}
