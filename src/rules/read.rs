//! Rules from any accepted text: a BBP recipe (XML, or JSON/YAML read as JSON), an obi-one
//! `SynapseParameterization` config, or synparam's rules JSON.

use serde_json::{Map, Value};

use super::aliases::Aliases;
use super::bbp::{from_bbp_json, from_bbp_xml};
use super::obi_one::from_obi_one;
use super::rules_json::from_rules_json;
use super::ruleset::RuleSet;
use crate::error::{Error, Result};

/// Read rules from text: a BBP recipe in XML (`<…><SynapsesProperties>…`), a BBP recipe in
/// JSON (an object with `synapse_properties`; YAML recipes are read by the host into JSON), or
/// synparam's rules JSON (an object with `rules_version`). Errors name the path in the input.
pub fn parse_rules(text: &str) -> Result<RuleSet> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return from_bbp_xml(trimmed);
    }
    let value: Value =
        serde_json::from_str(trimmed).map_err(|e| Error::config("$", format!("neither XML nor JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(Error::config("$", "rules must be a JSON object"));
    };
    if object.contains_key("synapse_properties") {
        from_bbp_json(object)
    } else if object.contains_key("synapse_model_assigners") {
        from_obi_one(object)
    } else if object.contains_key("rules_version") {
        from_rules_json(object)
    } else {
        Err(Error::config(
            "$",
            "not a rules input: expected a BBP recipe (synapse_properties), an obi-one SynapseParameterization config (synapse_model_assigners) or synparam rules (rules_version)",
        ))
    }
}

/// Whether `text` is a rules input (a BBP recipe in XML or JSON, or synparam rules) rather than
/// a `ConnPropsModel` or task config: what hosts check before compiling.
pub fn is_rules_input(text: &str) -> bool {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return true;
    }
    serde_json::from_str::<Value>(trimmed)
        .ok()
        .and_then(|v| {
            v.as_object().map(|o| {
                o.contains_key("synapse_properties")
                    || o.contains_key("rules_version")
                    || o.contains_key("synapse_model_assigners")
            })
        })
        .unwrap_or(false)
}

/// Any rules input (a BBP recipe, an obi-one config, synparam rules) as synparam rules JSON with
/// `aliases` as its alias table (replacing any it had): what the page writes when the user maps
/// a recipe's names to the circuit's. Synparam rules keep their text's other keys as written.
pub fn with_aliases(text: &str, aliases: &Value) -> Result<Value> {
    let table = Aliases::parse(aliases)?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let own: Option<Map<String, Value>> = serde_json::from_str::<Value>(trimmed)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .filter(|o| o.contains_key("rules_version"));
    let mut out = match own {
        Some(object) => Value::Object(object),
        None => parse_rules(text)?.to_rules_json(),
    };
    if table.is_empty() {
        out.as_object_mut().expect("rules JSON is an object").remove("aliases");
    } else {
        out["aliases"] = table.to_json();
    }
    // What is written reads back (the same checks as any rules input).
    parse_rules(&out.to_string())?;
    Ok(out)
}
