//! The provenance sidecar (`parameterization.json`) of a parameterized circuit (design §5.3): what
//! was run on which inputs and what came out — settings, the model as the user gave it, the
//! SHA-256 of every input and output file, the content digest of every dataset written — so that
//! anyone can check an output and rerun it bit for bit. One writer for every host: the command,
//! the page's zip, Python and Dask give the same document, field for field (but `created`).
//!
//! Format 2 adds `format` and `rules_matching_nothing` to format 1 (no `format` key, written by
//! the JavaScript hosts before the core owned the sidecar); both read, and a format-1 sidecar's
//! model hash is checked as it was written (`JSON.stringify` of the parsed model).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::js_json::{canonical_config_text, parses_exactly, sha256_hex, stringify};
use super::layout::Layout;
use super::paths::printable;
use crate::config::Fallback;
use crate::loading::Skipped;

/// The sidecar format this version writes.
pub const SIDECAR_FORMAT: u64 = 2;

/// A seed as a sidecar holds it: a number up to 2^53 − 1 (what JavaScript reads exactly), above
/// that its decimal text.
pub fn seed_value(seed: u64) -> Value {
    if seed < (1 << 53) {
        json!(seed)
    } else {
        Value::String(seed.to_string())
    }
}

/// A seed given as a number or as decimal text (hosts hand seeds above 2^53 − 1 as text).
fn seed_from_number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seed {
        Number(u64),
        Float(f64),
        Text(String),
    }
    match Seed::deserialize(deserializer)? {
        Seed::Number(n) => Ok(n),
        Seed::Float(x) if x >= 0.0 && x.fract() == 0.0 && x <= ((1u64 << 53) - 1) as f64 => Ok(x as u64),
        Seed::Text(text) => text.parse().map_err(serde::de::Error::custom),
        Seed::Float(x) => Err(serde::de::Error::custom(format!("seed {x} is not a non-negative integer"))),
    }
}

/// The SHA-256 that identifies a model text (`synparam_config_sha256`, `model_config_sha256`).
pub fn config_sha256(config_text: &str) -> String {
    sha256_hex(&canonical_config_text(config_text))
}

/// One parameterized edge population.
#[derive(Debug, Clone, Deserialize)]
pub struct ParameterizedPopulation {
    /// Edge population name.
    pub name: String,
    /// The loader's name of its edges file.
    pub file: String,
    /// Synapses.
    pub synapses: u64,
    /// Connections.
    pub connections: u64,
    /// The per-synapse attribute reads (design §2.7), when the model has any: recorded beside
    /// the population (`edge_attributes`), left out otherwise.
    #[serde(default)]
    pub attributes: Option<AttributeReadsRecord>,
}

/// What a run read per synapse for one edge population: its edges file's datasets and whether
/// the source nodes' soma positions (`x`, `y`, `z`) were read.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AttributeReadsRecord {
    /// Edge datasets read with every chunk.
    pub datasets: Vec<String>,
    /// Whether the source node population's positions were read.
    pub source_positions: bool,
}

/// A part of the circuit that could not be loaded.
#[derive(Debug, Clone, Deserialize)]
pub struct Unavailable {
    /// `nodes` or `edges`.
    pub kind: String,
    /// The loader's name of the file.
    pub name: String,
    /// The population, when known.
    pub population: Option<String>,
}

/// Everything a sidecar records, as the host knows it after a verified run.
#[derive(Debug, Clone, Deserialize)]
pub struct SidecarInputs {
    /// synparam's version.
    pub version: String,
    /// When (ISO 8601), the one field that differs between two runs.
    pub created: String,
    /// The seed used (a number, or the decimal text of one above 2^53 − 1).
    #[serde(deserialize_with = "seed_from_number_or_text")]
    pub seed: u64,
    /// The pathway property used.
    pub pathway_property: String,
    /// The fallback pathway value(s), if any.
    pub fallback: Option<Fallback>,
    /// Whether existing properties were overwritten.
    pub overwrite: bool,
    /// The edge populations asked for (null: every one).
    pub populations: Option<Vec<String>>,
    /// The model (or rules) text as the user gave it.
    pub config_text: String,
    /// Per parameterized edge population.
    pub parameterized: Vec<ParameterizedPopulation>,
    /// The layout the output follows.
    pub layout: Layout,
    /// SHA-256 of the config and every named input file, by the loader's name, in layout order.
    pub inputs: Map<String, Value>,
    /// SHA-256 of every output file, by output path, in the output plan's order.
    pub outputs: Map<String, Value>,
    /// Per written edges file (output path), per dataset: `{storage, rows, digest}`.
    pub datasets: Value,
    /// The folders copied (output paths, `.` for the root).
    pub directories: Vec<String>,
    /// Paths named but missing.
    pub not_included: Vec<String>,
    /// What could not be loaded.
    #[serde(default)]
    pub unavailable: Vec<Unavailable>,
    /// Edge populations the run left out (a side's nodes without the pathway property, no
    /// fallback for them), recorded as `"skipped": {population: reason}`.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// A rules config's rules that match no node (the rules explanation's list).
    #[serde(default)]
    pub rules_matching_nothing: Value,
    /// The run this one changes (`--from-provenance … --change`): `crate::scan::ParentRun::to_json`,
    /// recorded as `"parent"`; null (a run from a config) leaves the key out, so older readers and
    /// older sidecars are unaffected.
    #[serde(default)]
    pub parent: Value,
}

/// The sidecar document's text (`JSON.stringify(document, null, 2)` and a newline).
pub fn sidecar_text(inputs: &SidecarInputs) -> String {
    let output_of: BTreeMap<&str, &str> =
        inputs.layout.entries.iter().map(|e| (e.input.as_str(), e.output.as_str())).collect();
    let output = |name: &str| output_of.get(name).copied().unwrap_or(name).to_string();
    let mut document = Map::new();
    document.insert("tool".into(), json!("synparam"));
    document.insert("format".into(), json!(SIDECAR_FORMAT));
    document.insert("version".into(), json!(inputs.version));
    document.insert("created".into(), json!(inputs.created));
    document.insert("circuit_config".into(), json!(inputs.layout.config.as_ref().map(|c| c.output.clone())));
    document.insert("seed".into(), seed_value(inputs.seed));
    document.insert("pathway_property".into(), json!(inputs.pathway_property));
    document.insert("fallback_value".into(), json!(inputs.fallback));
    document.insert("overwrite_if_exists".into(), json!(inputs.overwrite));
    document.insert("edge_populations".into(), json!(inputs.populations));
    // The model as JSON when JavaScript reads it exactly; else (an integer beyond 2^53 such as a
    // large random_seed, or a text that is not strict JSON) as its text, so a rerun reads the same.
    let parsed = parses_exactly(&inputs.config_text)
        .then(|| serde_json::from_str::<Value>(&inputs.config_text).ok())
        .flatten()
        .filter(Value::is_object);
    match parsed {
        Some(model) => document.insert("model_config".into(), model),
        None => document.insert("model_config_text".into(), json!(inputs.config_text)),
    };
    document.insert("model_config_sha256".into(), json!(config_sha256(&inputs.config_text)));
    let parameterized: Map<String, Value> = inputs
        .parameterized
        .iter()
        .map(|p| {
            let mut entry =
                json!({"edges_file": output(&p.file), "synapses": p.synapses, "connections": p.connections});
            if let Some(reads) = &p.attributes {
                entry["edge_attributes"] = json!(reads);
            }
            (p.name.clone(), entry)
        })
        .collect();
    document.insert("parameterized".into(), Value::Object(parameterized));
    document.insert("inputs".into(), Value::Object(inputs.inputs.clone()));
    document.insert("outputs".into(), Value::Object(inputs.outputs.clone()));
    document.insert("datasets".into(), inputs.datasets.clone());
    document.insert("directories".into(), json!(inputs.directories));
    document.insert("unset_paths".into(), json!(inputs.layout.unset));
    document.insert("not_included".into(), json!(inputs.not_included));
    let unavailable: Vec<Value> = inputs
        .unavailable
        .iter()
        .map(|u| json!({"kind": u.kind, "file": output(&u.name), "population": u.population}))
        .collect();
    document.insert("unavailable".into(), Value::Array(unavailable));
    let skipped: Map<String, Value> =
        inputs.skipped.iter().map(|s| (s.population.clone(), Value::from(s.reason.as_str()))).collect();
    document.insert("skipped".into(), Value::Object(skipped));
    let rules = match &inputs.rules_matching_nothing {
        Value::Null => Value::Array(Vec::new()),
        rules => rules.clone(),
    };
    document.insert("rules_matching_nothing".into(), rules);
    if !inputs.parent.is_null() {
        document.insert("parent".into(), inputs.parent.clone());
    }
    format!("{}\n", stringify(&Value::Object(document), Some(2)))
}

/// The run a sidecar records, for a rerun.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRun {
    /// The sidecar's format (1 for those without the key).
    pub format: u64,
    /// synparam's version that wrote it.
    pub version: String,
    /// The model (or rules) text: the recorded JSON as `JSON.stringify` writes it, or the text.
    pub config_text: String,
    /// The seed.
    pub seed: u64,
    /// The pathway property.
    pub pathway_property: String,
    /// The fallback value(s).
    pub fallback: Option<Fallback>,
    /// Whether existing properties were overwritten.
    pub overwrite: bool,
    /// The edge populations asked for.
    pub populations: Option<Vec<String>>,
    /// SHA-256 of each input, by name.
    pub inputs: BTreeMap<String, String>,
}

fn shown(value: &Value) -> String {
    printable(&stringify(value, None)).chars().take(60).collect()
}

/// Read a sidecar for a rerun, validated like a config: every field typed, errors naming the
/// field, and the recorded model checked against its recorded SHA-256 (an edited model is refused).
pub fn read_sidecar(text: &str) -> Result<RecordedRun, String> {
    let document: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(document) = document else { return Err("must be a JSON object".to_string()) };
    if document.get("tool") != Some(&json!("synparam")) {
        return Err("not a synparam provenance file (no \"tool\": \"synparam\")".to_string());
    }
    let get = |key: &str| document.get(key).unwrap_or(&Value::Null);
    let fail = |key: &str, message: String| format!("{key}: {message}");
    let string = |key: &str, optional: bool| -> Result<Option<String>, String> {
        match get(key) {
            Value::Null if optional => Ok(None),
            Value::String(s) if !s.is_empty() => Ok(Some(s.clone())),
            other => Err(fail(key, format!("must be a non-empty string, got {}", shown(other)))),
        }
    };
    let format = match get("format") {
        Value::Null => 1,
        Value::Number(n) if n.as_u64().is_some_and(|f| (1..=SIDECAR_FORMAT).contains(&f)) => {
            n.as_u64().expect("checked")
        }
        other => {
            return Err(fail(
                "format",
                format!("must be 1 or 2 (this version reads up to {SIDECAR_FORMAT}), got {}", shown(other)),
            ))
        }
    };
    let version = string("version", false)?.expect("required");
    let seed = match get("seed") {
        Value::Number(n) if n.as_u64().is_some_and(|s| s < (1 << 53)) => n.as_u64().expect("checked"),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok() => {
            s.parse().expect("checked")
        }
        other => {
            return Err(fail(
                "seed",
                format!(
                    "must be a non-negative integer (at most 2^64 − 1; above 2^53 − 1 as a decimal string), got {}",
                    shown(other)
                ),
            ))
        }
    };
    let pathway_property = string("pathway_property", false)?.expect("required");
    let fallback = match get("fallback_value") {
        Value::Null => None,
        value => Some(Fallback::from_json(value, "fallback_value").map_err(|e| e.to_string())?),
    };
    let overwrite = match get("overwrite_if_exists") {
        Value::Bool(b) => *b,
        other => return Err(fail("overwrite_if_exists", format!("must be true or false, got {}", shown(other)))),
    };
    let populations = match get("edge_populations") {
        Value::Null => None,
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Some(items.iter().map(|v| v.as_str().expect("checked").to_string()).collect())
        }
        other => {
            return Err(fail("edge_populations", format!("must be a list of strings or null, got {}", shown(other))))
        }
    };
    let inputs = match get("inputs") {
        Value::Object(map) => {
            let mut inputs = BTreeMap::new();
            for (name, hash) in map {
                let valid = hash
                    .as_str()
                    .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
                if !valid {
                    return Err(fail(
                        &format!("inputs[{}]", stringify(&json!(name), None)),
                        format!("must be a SHA-256 (64 hex digits), got {}", shown(hash)),
                    ));
                }
                inputs.insert(name.clone(), hash.as_str().expect("checked").to_string());
            }
            inputs
        }
        other => return Err(fail("inputs", format!("must be an object {{file: sha256}}, got {}", shown(other)))),
    };
    let config_text = match document.get("model_config") {
        Some(Value::Object(model)) => stringify(&Value::Object(model.clone()), None),
        Some(_) => return Err("model_config: must be a JSON object (the model or task form)".to_string()),
        None => string("model_config_text", false)?.expect("required"),
    };
    let recorded_hash = string("model_config_sha256", false)?.expect("required");
    if config_sha256(&config_text) != recorded_hash {
        return Err("model_config: does not match model_config_sha256 (the recorded model was edited); refusing to rerun a model that is not the one recorded".to_string());
    }
    Ok(RecordedRun { format, version, config_text, seed, pathway_property, fallback, overwrite, populations, inputs })
}

/// Input files whose hashes differ from a sidecar's (or that it does not list, or that are gone):
/// a rerun on them would not reproduce the recorded result.
pub fn changed_inputs(recorded: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> Vec<String> {
    let mut changed: Vec<String> = recorded
        .iter()
        .filter(|(name, hash)| actual.get(*name) != Some(hash))
        .map(|(name, _)| if actual.contains_key(name) { name.clone() } else { format!("{name} (missing)") })
        .collect();
    changed.extend(
        actual
            .keys()
            .filter(|name| !recorded.contains_key(*name))
            .map(|name| format!("{name} (not in the provenance)")),
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_model_is_refused_and_fields_are_typed() {
        let model = r#"{"pathway_param_dict": {"x": 1.0}, "random_seed": 3}"#;
        let sidecar = json!({
            "tool": "synparam", "version": "0.1.0", "seed": 3, "pathway_property": "synapse_class", "fallback_value": null,
            "overwrite_if_exists": false, "edge_populations": null, "model_config": serde_json::from_str::<Value>(model).unwrap(),
            "model_config_sha256": config_sha256(model), "inputs": {"circuit_config.json": "a".repeat(64)}
        });
        let run = read_sidecar(&sidecar.to_string()).unwrap();
        assert_eq!(run.format, 1);
        assert_eq!(run.config_text, r#"{"pathway_param_dict":{"x":1},"random_seed":3}"#);
        let mut edited = sidecar.clone();
        edited["model_config"]["random_seed"] = json!(4);
        assert!(read_sidecar(&edited.to_string()).unwrap_err().contains("the recorded model was edited"));
        let mut bad = sidecar.clone();
        bad["seed"] = Value::Null;
        assert!(read_sidecar(&bad.to_string()).unwrap_err().starts_with("seed: must be a non-negative integer"));
        bad = sidecar.clone();
        bad["inputs"]["x"] = json!("zz");
        assert_eq!(
            read_sidecar(&bad.to_string()).unwrap_err(),
            "inputs[\"x\"]: must be a SHA-256 (64 hex digits), got \"zz\""
        );
        bad = sidecar;
        bad["seed"] = json!("18446744073709551615");
        assert_eq!(read_sidecar(&bad.to_string()).unwrap().seed, u64::MAX);
    }

    #[test]
    fn changed_inputs_name_what_differs() {
        let recorded = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())]);
        let actual = BTreeMap::from([("a".to_string(), "1".to_string()), ("c".to_string(), "3".to_string())]);
        assert_eq!(changed_inputs(&recorded, &actual), ["b (missing)", "c (not in the provenance)"]);
    }
}
