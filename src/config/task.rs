//! The task form around a model (obi-one's `SynapseParameterizationTask` and our keys) and the
//! run settings the core resolves from it for every host (design §6.1).

use super::fallback::Fallback;
use super::json::*;
use super::model::parse_model_value;
use super::types::*;
use crate::error::{Error, Result};

/// A task: a model plus what obi-one's `SynapseParameterizationTask` (and we) add around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The model.
    pub model: Model,
    /// Node property selecting the pathway (e.g. `synapse_class`), if given.
    pub pathway_property: Option<String>,
    /// Random seed, if given.
    pub seed: Option<u64>,
    /// Whether existing edge properties may be overwritten, if given.
    pub overwrite_if_exists: Option<bool>,
    /// Edge populations to process (all when absent).
    pub edge_populations: Option<Vec<String>>,
    /// Pathway value(s) for nodes without the pathway property.
    pub fallback_pathway_value: Option<Fallback>,
}

/// Keys of the task form.
const TASK_KEYS: [&str; 6] = [
    "pathway_property",
    "pathway_param_dict",
    "random_seed",
    "overwrite_if_exists",
    "edge_populations",
    "fallback_pathway_value",
];

/// Parse either accepted form (design §2.1) from JSON text.
pub fn parse_task(json: &str) -> Result<Task> {
    let root = parse_json(json)?;
    let object = root.as_object().ok_or_else(|| Error::config("$", "the config must be a JSON object"))?;
    if !object.contains_key("pathway_param_dict") {
        return Ok(Task {
            model: parse_model_value(&root, &JsonPath::root())?,
            pathway_property: None,
            seed: None,
            overwrite_if_exists: None,
            edge_populations: None,
            fallback_pathway_value: None,
        });
    }
    let root_path = JsonPath::root();
    reject_unknown_keys(object, &TASK_KEYS, &root_path, "task config")?;
    let model = parse_model_value(&object["pathway_param_dict"], &root_path.key("pathway_param_dict"))?;
    let pathway_property =
        optional(object, "pathway_property").map(|v| string(v, &root_path.key("pathway_property"))).transpose()?;
    let seed = optional(object, "random_seed").map(|v| seed_value(v, &root_path.key("random_seed"))).transpose()?;
    let overwrite_if_exists = optional(object, "overwrite_if_exists")
        .map(|v| boolean(v, &root_path.key("overwrite_if_exists")))
        .transpose()?;
    let edge_populations =
        optional(object, "edge_populations").map(|v| string_list(v, &root_path.key("edge_populations"))).transpose()?;
    let fallback_pathway_value = optional(object, "fallback_pathway_value")
        .map(|v| Fallback::parse(v, &root_path.key("fallback_pathway_value")))
        .transpose()?;
    Ok(Task { model, pathway_property, seed, overwrite_if_exists, edge_populations, fallback_pathway_value })
}

/// Parse a bare `ConnPropsModel` dict from JSON text.
pub fn parse_model(json: &str) -> Result<Model> {
    parse_model_value(&parse_json(json)?, &JsonPath::root())
}

/// What a validated task contains, for the page to show.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TaskSummary {
    /// Source pathway values.
    pub src_types: Vec<String>,
    /// Target pathway values.
    pub tgt_types: Vec<String>,
    /// Properties with their output column types.
    pub properties: Vec<PropertySummary>,
    /// Correlated property names, if any.
    pub correlated: Vec<String>,
    /// `pathway_property` of the task form.
    pub pathway_property: Option<String>,
    /// `random_seed` of the task form (a decimal string above 2^53 − 1 when serialized).
    #[serde(serialize_with = "serialize_seed")]
    pub seed: Option<u64>,
    /// `overwrite_if_exists` of the task form (false when absent).
    pub overwrite_if_exists: bool,
    /// `edge_populations` of the task form.
    pub edge_populations: Option<Vec<String>>,
    /// `fallback_pathway_value` of the task form.
    pub fallback_pathway_value: Option<Fallback>,
    /// Accepted but ignored keys.
    pub notices: Vec<String>,
    /// Per-synapse attributes the model reads (design §2.7; absent from the JSON when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edge_attributes: Vec<String>,
}

/// One property in a [`TaskSummary`].
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct PropertySummary {
    /// Property name.
    pub name: String,
    /// Output column type (numpy name).
    pub column_type: String,
}

impl Task {
    /// The summary shown after validation.
    pub fn summary(&self) -> TaskSummary {
        let model = &self.model;
        TaskSummary {
            src_types: model.src_types.clone(),
            tgt_types: model.tgt_types.clone(),
            properties: model
                .properties
                .iter()
                .map(|p| PropertySummary { name: p.name.clone(), column_type: p.column_type.name().to_string() })
                .collect(),
            correlated: model
                .correlation
                .iter()
                .flat_map(|c| c.properties.iter().map(|&i| model.properties[i].name.clone()))
                .collect(),
            pathway_property: self.pathway_property.clone(),
            seed: self.seed,
            overwrite_if_exists: self.overwrite_if_exists.unwrap_or(false),
            edge_populations: self.edge_populations.clone(),
            fallback_pathway_value: self.fallback_pathway_value.clone(),
            notices: model.notices.clone(),
            edge_attributes: model.edge_attributes(),
        }
    }
}

/// The node property that picks pathways when neither the config nor the caller names one.
pub const DEFAULT_PATHWAY_PROPERTY: &str = "synapse_class";

/// Where a run setting's value comes from.
#[derive(Debug, Clone, Copy, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SettingSource {
    /// Given by the caller (a command-line flag, a page control the user changed, an API argument).
    Override,
    /// The config's task form.
    Config,
    /// Neither: the tool's default.
    Default,
}

/// A run setting's value and where it comes from, so that a page can show an override as one.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Setting<T> {
    /// The value the run uses.
    pub value: T,
    /// Where it comes from.
    pub source: SettingSource,
}

impl<T> Setting<T> {
    /// The override if given, else the config's value, else `default`.
    fn resolve(given: Option<T>, config: Option<T>, default: T) -> Self {
        match (given, config) {
            (Some(value), _) => Setting { value, source: SettingSource::Override },
            (None, Some(value)) => Setting { value, source: SettingSource::Config },
            (None, None) => Setting { value: default, source: SettingSource::Default },
        }
    }
}

/// What a caller sets over the config's task form; `None` leaves the config's value (or the
/// default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOverrides {
    /// Random seed.
    pub seed: Option<u64>,
    /// Node property picking the pathway.
    pub pathway_property: Option<String>,
    /// Pathway value(s) of nodes without the property.
    pub fallback: Option<Fallback>,
    /// Whether existing properties may be replaced.
    pub overwrite: Option<bool>,
    /// Edge populations to parameterize.
    pub populations: Option<Vec<String>>,
}

/// The settings a run actually uses, each with its source: one resolution shared by the command,
/// the page and the APIs, so that the same config and overrides give the same bits everywhere.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunSettings {
    /// Random seed; `None` (source default) when neither the config nor the caller gives one,
    /// which a run refuses. Serialized as a number up to 2^53 − 1 and as its decimal string
    /// above, so that JavaScript keeps every u64 seed exactly.
    #[serde(serialize_with = "serialize_seed_setting")]
    pub seed: Setting<Option<u64>>,
    /// Node property picking the pathway (default [`DEFAULT_PATHWAY_PROPERTY`]).
    pub pathway_property: Setting<String>,
    /// Pathway value(s) of nodes without the property (default none: such nodes are an error).
    pub fallback: Setting<Option<Fallback>>,
    /// Whether existing properties may be replaced (default false).
    pub overwrite: Setting<bool>,
    /// Edge populations to parameterize (default all).
    pub populations: Setting<Option<Vec<String>>>,
}

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
pub const MAX_EXACT_JS_INTEGER: u64 = (1 << 53) - 1;

/// A seed as JavaScript keeps it exactly: a number up to 2^53 − 1, else its decimal string.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum ExactSeed {
    Number(u64),
    Text(String),
}

fn exact_seed(seed: Option<u64>) -> Option<ExactSeed> {
    seed.map(|v| if v <= MAX_EXACT_JS_INTEGER { ExactSeed::Number(v) } else { ExactSeed::Text(v.to_string()) })
}

/// A seed, serialized with [`ExactSeed`].
fn serialize_seed<S: serde::Serializer>(seed: &Option<u64>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&exact_seed(*seed), serializer)
}

/// A seed setting, its value serialized with [`ExactSeed`].
fn serialize_seed_setting<S: serde::Serializer>(
    seed: &Setting<Option<u64>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Setting { value: exact_seed(seed.value), source: seed.source }, serializer)
}

impl Task {
    /// The settings of a run of this task with `overrides`.
    pub fn settings(&self, overrides: &RunOverrides) -> RunSettings {
        RunSettings {
            seed: Setting::resolve(overrides.seed.map(Some), self.seed.map(Some), None),
            pathway_property: Setting::resolve(
                overrides.pathway_property.clone(),
                self.pathway_property.clone(),
                DEFAULT_PATHWAY_PROPERTY.to_string(),
            ),
            fallback: Setting::resolve(
                overrides.fallback.clone().map(Some),
                self.fallback_pathway_value.clone().map(Some),
                None,
            ),
            overwrite: Setting::resolve(overrides.overwrite, self.overwrite_if_exists, false),
            populations: Setting::resolve(
                overrides.populations.clone().map(Some),
                self.edge_populations.clone().map(Some),
                None,
            ),
        }
    }
}
