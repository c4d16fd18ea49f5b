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

/// Any rules input as synparam rules JSON to change: synparam rules as written (every key kept),
/// anything else (a BBP recipe, an obi-one config) exported with the meaning it was read with.
fn own_rules(text: &str) -> Result<Map<String, Value>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let own = serde_json::from_str::<Value>(trimmed)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .filter(|o| o.contains_key("rules_version"));
    match own {
        Some(object) => Ok(object),
        None => match parse_rules(text)?.to_rules_json() {
            Value::Object(object) => Ok(object),
            _ => unreachable!("rules JSON is an object"),
        },
    }
}

/// What is written reads back (the same checks as any rules input).
fn checked(rules: Map<String, Value>) -> Result<Value> {
    let out = Value::Object(rules);
    parse_rules(&out.to_string())?;
    Ok(out)
}

/// Any rules input (a BBP recipe, an obi-one config, synparam rules) as synparam rules JSON with
/// `aliases` as its alias table (replacing any it had): what the page writes when the user maps
/// a recipe's names to the circuit's. Synparam rules keep their text's other keys as written.
pub fn with_aliases(text: &str, aliases: &Value) -> Result<Value> {
    let table = Aliases::parse(aliases)?;
    let mut rules = own_rules(text)?;
    if table.is_empty() {
        rules.remove("aliases");
    } else {
        rules.insert("aliases".into(), table.to_json());
    }
    checked(rules)
}

/// Any rules input as synparam rules JSON with `rule` (a rules JSON rule: `{name?, source?,
/// target?, class?, assign?, synapse?}`) added last, so that it wins where it matches: a change of
/// one pathway made over rules (the page's coverage view), the rest kept as written.
pub fn with_rule(text: &str, rule: &Value) -> Result<Value> {
    let mut rules = own_rules(text)?;
    let Some(Value::Array(list)) = rules.get_mut("rules") else {
        return Err(Error::config("rules", "required: a list"));
    };
    // Each spec it assigns checked as a run checks it, named where it lands.
    let at = format!("rules[{}].assign", list.len());
    for (property, spec) in rule.get("assign").and_then(Value::as_object).into_iter().flatten() {
        if let Err(Error::Config { path, message }) = crate::config::parse_pathway_spec(&spec.to_string()) {
            let inner = if path.is_empty() || path == "$" { String::new() } else { format!(".{path}") };
            return Err(Error::config(format!("{at}.{property}{inner}"), message));
        }
    }
    list.push(rule.clone());
    checked(rules)
}
