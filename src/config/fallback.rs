//! The pathway value of nodes without the pathway property (design §6.1): one value for every node
//! population, or one per node population, so that a remedy aimed at one population (thalamic VPM
//! nodes have no `mtype`) does not class every other population's unclassed nodes with it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::json::{describe, JsonPath};
use crate::error::Result;

/// The key of a population's entry that applies to every population without one of its own.
pub const EVERY_OTHER_POPULATION: &str = "*";

/// The fallback pathway value(s) of a run. JSON: a string (every node population), or an object
/// `{node population: value}` whose `"*"` entry applies to the populations it does not name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fallback {
    /// The value of populations without an entry of their own.
    every_other: Option<String>,
    /// Each named node population's value.
    by_population: BTreeMap<String, String>,
}

impl Fallback {
    /// One value for every node population.
    pub fn every(value: impl Into<String>) -> Self {
        Fallback { every_other: Some(value.into()), by_population: BTreeMap::new() }
    }

    /// Read a fallback from JSON, errors naming `key` (`fallback_pathway_value`,
    /// `fallback_pathway_value.VPM`).
    pub fn from_json(value: &Value, key: &str) -> Result<Self> {
        Self::parse(value, &JsonPath::root().key(key))
    }

    pub(super) fn parse(value: &Value, path: &JsonPath) -> Result<Self> {
        let entry = |value: &Value, path: &JsonPath| match value.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(path.error(format!("must be a non-empty pathway value, got {}", describe(value)))),
        };
        match value {
            Value::String(_) => Ok(Fallback::every(entry(value, path)?)),
            Value::Object(entries) => Self::from_entries(entries, path, entry),
            other => Err(path.error(format!(
                "must be a pathway value, or an object {{node population: value}} (\"*\": every other population), got {}",
                describe(other)
            ))),
        }
    }

    fn from_entries(
        entries: &Map<String, Value>,
        path: &JsonPath,
        entry: impl Fn(&Value, &JsonPath) -> Result<String>,
    ) -> Result<Self> {
        if entries.is_empty() {
            return Err(path.error("an empty table: give a node population's value, or leave the key out"));
        }
        let mut fallback = Fallback::default();
        for (population, value) in entries {
            let value = entry(value, &path.key(population))?;
            if population == EVERY_OTHER_POPULATION {
                fallback.every_other = Some(value);
            } else if population.is_empty() {
                return Err(path.error("an entry with an empty node population name"));
            } else {
                fallback.by_population.insert(population.clone(), value);
            }
        }
        Ok(fallback)
    }

    /// Read the text form the command's `--fallback-value` takes: `VALUE` (every population),
    /// comma-separated `POPULATION=VALUE` entries (`*=VALUE`: every other population), or the JSON
    /// object. Errors name `key`.
    pub fn from_text(text: &str, key: &str) -> Result<Self> {
        let path = JsonPath::root().key(key);
        let text = text.trim();
        if text.starts_with('{') {
            let value = serde_json::from_str(text).map_err(|e| path.error(format!("not a JSON object ({e})")))?;
            return Self::parse(&value, &path);
        }
        if !text.contains('=') {
            return Self::parse(&Value::from(text), &path);
        }
        let mut entries = Map::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let Some((population, value)) = item.split_once('=') else {
                return Err(path.error(format!(
                    "'{item}' is not POPULATION=VALUE (a value for every population is given alone, not among entries; \
                     write it as *={item})"
                )));
            };
            let population = population.trim();
            if entries.insert(population.to_string(), Value::from(value.trim())).is_some() {
                return Err(path.key(population).error("given twice"));
            }
        }
        Self::parse(&Value::Object(entries), &path)
    }

    /// The value of node population `population`'s nodes without the pathway property, if any.
    pub fn for_population(&self, population: &str) -> Option<&str> {
        self.by_population.get(population).or(self.every_other.as_ref()).map(String::as_str)
    }

    /// The config key naming `population`'s value in errors: `fallback_pathway_value` for the
    /// value of every population, `fallback_pathway_value.VPM` for a population's own.
    pub fn key_for(&self, population: &str) -> String {
        let path = JsonPath::root().key("fallback_pathway_value");
        match (self.by_population.contains_key(population), self.by_population.is_empty()) {
            (true, _) => path.key(population).0,
            (false, true) => path.0,
            (false, false) => path.key(EVERY_OTHER_POPULATION).0,
        }
    }

    /// This fallback with `population`'s own value set (`None`: its entry dropped); `"*"` sets
    /// the value of every other population.
    pub fn with_population(&self, population: &str, value: Option<&str>) -> Self {
        let mut changed = self.clone();
        if population == EVERY_OTHER_POPULATION {
            changed.every_other = value.map(str::to_string);
            return changed;
        }
        match value {
            Some(v) => changed.by_population.insert(population.to_string(), v.to_string()),
            None => changed.by_population.remove(population),
        };
        changed
    }

    /// Refuse entries naming a node population that is not among `populations` (a misspelt
    /// `VMP` would leave VPM's nodes to `"*"`'s value without a word), naming the entry.
    pub fn check_populations(&self, populations: &[String]) -> Result<()> {
        match self.by_population.keys().find(|p| !populations.contains(p)) {
            Some(unknown) => Err(JsonPath::root().key("fallback_pathway_value").key(unknown).error(format!(
                "no node population '{unknown}' in the circuit (its node populations: {})",
                populations.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The JSON form: a string when one value applies to every population, else the object.
    pub fn to_json(&self) -> Value {
        match (&self.every_other, self.by_population.is_empty()) {
            (Some(value), true) => Value::from(value.as_str()),
            _ => {
                let mut entries: Map<String, Value> =
                    self.by_population.iter().map(|(p, v)| (p.clone(), Value::from(v.as_str()))).collect();
                if let Some(value) = &self.every_other {
                    entries.insert(EVERY_OTHER_POPULATION.to_string(), Value::from(value.as_str()));
                }
                Value::Object(entries)
            }
        }
    }

    /// The text form [`Fallback::from_text`] reads back.
    pub fn to_text(&self) -> String {
        match (&self.every_other, self.by_population.is_empty()) {
            (Some(value), true) => value.clone(),
            _ => {
                let mut items: Vec<String> = self.by_population.iter().map(|(p, v)| format!("{p}={v}")).collect();
                if let Some(value) = &self.every_other {
                    items.push(format!("{EVERY_OTHER_POPULATION}={value}"));
                }
                items.join(", ")
            }
        }
    }
}

impl serde::Serialize for Fallback {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Fallback {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Fallback::from_json(&value, "fallback").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_value_applies_to_every_population_and_reads_back_as_a_string() {
        let fallback = Fallback::from_json(&json!("EXC"), "fallback_pathway_value").unwrap();
        assert_eq!(fallback.for_population("VPM"), Some("EXC"));
        assert_eq!(fallback.to_json(), json!("EXC"));
        assert_eq!(fallback.to_text(), "EXC");
        assert_eq!(Fallback::from_text(" EXC ", "x").unwrap(), fallback);
        assert_eq!(fallback.key_for("VPM"), "fallback_pathway_value");
    }

    #[test]
    fn a_population_entry_applies_to_that_population_only_and_star_to_the_others() {
        let fallback = Fallback::from_json(&json!({"VPM": "VPM", "POm": "POm"}), "fallback_pathway_value").unwrap();
        assert_eq!(fallback.for_population("VPM"), Some("VPM"));
        assert_eq!(fallback.for_population("POm"), Some("POm"));
        assert_eq!(fallback.for_population("S1nonbarrel_neurons"), None);
        assert_eq!(fallback.key_for("VPM"), "fallback_pathway_value.VPM");
        let with_rest = fallback.with_population("*", Some("EXC"));
        assert_eq!(with_rest.for_population("elsewhere"), Some("EXC"), "\"*\" is every other population");
        assert_eq!(with_rest.with_population("*", None), fallback);
        assert!(fallback.check_populations(&["VPM".into(), "POm".into(), "S1".into()]).is_ok());
        let typo = Fallback::from_json(&json!({"VMP": "VPM"}), "fallback_pathway_value").unwrap();
        let error = typo.check_populations(&["VPM".into(), "S1".into()]).unwrap_err().to_string();
        assert_eq!(
            error,
            "fallback_pathway_value.VMP: no node population 'VMP' in the circuit (its node populations: VPM, S1)"
        );
        let text = "VPM=VPM, POm=POm, *=EXC";
        let read = Fallback::from_text(text, "--fallback-value").unwrap();
        assert_eq!(read.for_population("other"), Some("EXC"));
        assert_eq!(read.key_for("other"), "fallback_pathway_value[\"*\"]");
        assert_eq!(read.to_text(), "POm=POm, VPM=VPM, *=EXC");
        assert_eq!(Fallback::from_text(&read.to_text(), "x").unwrap(), read);
        assert_eq!(Fallback::from_text(&read.to_json().to_string(), "x").unwrap(), read);
        assert_eq!(Fallback::from_json(&read.to_json(), "x").unwrap(), read);
        assert_eq!(read.to_json(), json!({"VPM": "VPM", "POm": "POm", "*": "EXC"}));
    }

    #[test]
    fn bad_fallbacks_are_refused_naming_the_key() {
        let error = |value: Value| Fallback::from_json(&value, "fallback_pathway_value").unwrap_err().to_string();
        assert!(error(json!({})).contains("fallback_pathway_value: an empty table"), "{}", error(json!({})));
        assert!(error(json!({"VPM": 3})).contains("fallback_pathway_value.VPM: must be a non-empty pathway value"));
        assert!(error(json!({"VPM": ""})).contains("fallback_pathway_value.VPM"));
        assert!(error(json!(["EXC"])).contains("fallback_pathway_value: must be a pathway value, or an object"));
        assert!(error(json!("")).contains("non-empty"));
        let text = |t: &str| Fallback::from_text(t, "--fallback-value").unwrap_err().to_string();
        assert!(text("VPM=VPM, EXC").contains("'EXC' is not POPULATION=VALUE"), "{}", text("VPM=VPM, EXC"));
        assert!(text("VPM=a, VPM=b").contains("VPM: given twice"), "{}", text("VPM=a, VPM=b"));
        assert!(text("VPM=").contains("--fallback-value.VPM"), "{}", text("VPM="));
    }
}
