//! synparam's own rules JSON (`rules_version: 1`), and any `ConnPropsModel` as rules: the form every
//! model exports to.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::aliases::Aliases;
use super::bbp::{delay_unset, rule_delay};
use super::ruleset::{Rule, RuleSet, SpecClass, JSON_DELAY_KEYS};
use super::selectors::{Pattern, Selector, Term};
use crate::error::{Error, Result};
use crate::synapse_conditions::SynapseCondition;

/// A `ConnPropsModel` (or task config) as rules: one rule per source × target cell, selecting
/// nodes by `pathway_property`, assigning that cell's specs as written. The export of a matrix
/// model into the rules form.
pub fn model_to_rules(config_text: &str, pathway_property: &str) -> Result<Value> {
    let task = crate::config::parse_task(config_text)?;
    let value: Value = serde_json::from_str(config_text).map_err(|e| Error::config("$", e.to_string()))?;
    let model = value.get("pathway_param_dict").unwrap_or(&value);
    if model.get("prop_cov").is_some_and(|c| !c.is_null()) {
        return Err(Error::config("prop_cov", "correlated properties have no rules form: export the matrix instead"));
    }
    let mut rules = Vec::new();
    for source in &task.model.src_types {
        for target in &task.model.tgt_types {
            let mut assign = Map::new();
            if let Some(properties) = model.get("prop_stats").and_then(Value::as_object) {
                for (property, by_source) in properties {
                    if let Some(spec) = by_source.get(source).and_then(|t| t.get(target)) {
                        assign.insert(property.clone(), spec.clone());
                    }
                }
            }
            rules.push(json!({
                "name": format!("{source} → {target}"),
                "source": {pathway_property: source},
                "target": {pathway_property: target},
                "assign": assign,
            }));
        }
    }
    let mut out = json!({"rules_version": 1, "classes": [], "rules": rules});
    if let Some(seed) = task.seed {
        out["random_seed"] = Value::from(seed);
    }
    Ok(out)
}

/// synparam's own rules JSON: `{"rules_version": 1, "random_seed"?, "classes": [{"name", "props":
/// {property: spec}}], "rules": [{"name"?, "source"?: selector, "target"?: selector, "class"?,
/// "assign"?: {property: spec}, "soma_delay"?: {neural_transmitter_release_delay,
/// axonal_conduction_velocity}}], "aliases"?: {property: {name: values}}}`; a selector is
/// `{property: value or [values]}`.
pub(super) fn from_rules_json(object: &Map<String, Value>) -> Result<RuleSet> {
    if object.get("rules_version").and_then(Value::as_u64) != Some(1) {
        return Err(Error::config("rules_version", "must be 1"));
    }
    for key in object.keys() {
        if !["rules_version", "random_seed", "overwrite_if_exists", "edge_populations", "classes", "rules", "aliases"]
            .contains(&key.as_str())
        {
            return Err(Error::config(
                key,
                "unknown key (allowed: rules_version, random_seed, overwrite_if_exists, edge_populations, classes, rules, aliases)",
            ));
        }
    }
    let seed = object
        .get("random_seed")
        .map(|v| v.as_u64().ok_or_else(|| Error::config("random_seed", "must be a non-negative integer")))
        .transpose()?;
    let specs_of = |value: &Value, path: &str| -> Result<Vec<(String, Value)>> {
        let map = value.as_object().ok_or_else(|| Error::config(path, "must be an object of property: spec"))?;
        map.iter()
            .map(|(property, spec)| {
                crate::config::check_property_name(property, &format!("{path}.{property}"))?;
                if spec.is_object() {
                    Ok((property.clone(), spec.clone()))
                } else {
                    Err(Error::config(format!("{path}.{property}"), "must be a spec object"))
                }
            })
            .collect()
    };
    let mut classes = Vec::new();
    let mut names = HashMap::new();
    for (index, class) in
        object.get("classes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
    {
        let path = format!("classes[{index}]");
        let name = class
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config(format!("{path}.name"), "required"))?;
        if names.insert(name.to_string(), index).is_some() {
            return Err(Error::config(format!("{path}.name"), format!("class '{name}' is defined twice")));
        }
        let specs = specs_of(class.get("props").unwrap_or(&Value::Null), &format!("{path}.props"))?;
        classes.push(SpecClass { name: name.to_string(), specs });
    }
    let rules_json =
        object.get("rules").and_then(Value::as_array).ok_or_else(|| Error::config("rules", "required: a list"))?;
    let mut rules = Vec::new();
    let mut soma_delays = Vec::new();
    for (index, rule) in rules_json.iter().enumerate() {
        let path = format!("rules[{index}]");
        let label = match rule.get("name").and_then(Value::as_str) {
            Some(name) => format!("{path} ({name})"),
            None => path.clone(),
        };
        let selector = |key: &str| -> Result<Selector> {
            let Some(value) = rule.get(key) else { return Ok(Selector::default()) };
            let map = value.as_object().ok_or_else(|| Error::config(format!("{path}.{key}"), "must be an object"))?;
            let mut selector = Selector::default();
            for (property, values) in map {
                let term_path = format!("{path}.{key}.{property}");
                let texts: Vec<String> = match values {
                    Value::String(s) => vec![s.clone()],
                    Value::Number(n) => vec![n.to_string()],
                    Value::Array(items) => items
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s.clone()),
                            Value::Number(n) => Ok(n.to_string()),
                            _ => Err(Error::config(&term_path, "values must be strings or numbers")),
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(Error::config(&term_path, "must be a value or a list of values")),
                };
                if texts.is_empty() {
                    return Err(Error::config(&term_path, "an empty list selects nothing"));
                }
                selector.terms.push(Term {
                    property: property.clone(),
                    patterns: texts.iter().map(|t| Pattern::of(t)).collect(),
                });
            }
            Ok(selector)
        };
        let class = match rule.get("class") {
            None => None,
            Some(v) => {
                let name = v.as_str().ok_or_else(|| Error::config(format!("{path}.class"), "must be a class name"))?;
                Some(
                    *names
                        .get(name)
                        .ok_or_else(|| Error::config(format!("{path}.class"), format!("no class '{name}'")))?,
                )
            }
        };
        let assign = match rule.get("assign") {
            None => Vec::new(),
            Some(value) => specs_of(value, &format!("{path}.assign"))?,
        };
        if class.is_none() && assign.is_empty() {
            return Err(Error::config(path, "assigns nothing: give a class or assign"));
        }
        let synapse = match rule.get("synapse") {
            None => SynapseCondition::default(),
            Some(value) => SynapseCondition::parse(value, &format!("{path}.synapse"))?,
        };
        if let Some(delay) = rule.get("soma_delay") {
            let delay_path = format!("{path}.soma_delay");
            let parameters = delay
                .as_object()
                .ok_or_else(|| Error::config(&delay_path, "must be an object of the delay's parameters"))?;
            if let Some(key) = parameters.keys().find(|k| !JSON_DELAY_KEYS.contains(&k.as_str())) {
                return Err(Error::config(
                    format!("{delay_path}.{key}"),
                    format!("unknown key (allowed: {})", JSON_DELAY_KEYS.join(", ")),
                ));
            }
            let value = |key: &str| parameters.get(key).map(|v| v.as_f64().ok_or_else(|| v.to_string()));
            soma_delays.push(rule_delay(
                index,
                &value,
                &|key| format!("{delay_path}.{key}"),
                JSON_DELAY_KEYS,
                &mut false,
            )?);
        }
        rules.push(Rule { label, source: selector("source")?, target: selector("target")?, class, assign, synapse });
    }
    let overwrite = object
        .get("overwrite_if_exists")
        .map(|v| v.as_bool().ok_or_else(|| Error::config("overwrite_if_exists", "must be true or false")))
        .transpose()?;
    let populations = match object.get("edge_populations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| Error::config("edge_populations", "must be names"))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(Error::config("edge_populations", "must be a list of names")),
    };
    let aliases = object.get("aliases").map(Aliases::parse).transpose()?.unwrap_or_default();
    let mut set = RuleSet {
        format: "rules",
        seed,
        classes,
        rules,
        // A recipe's delay parameters, kept by its export: `delay` drawn where the circuit allows.
        unset: if soma_delays.is_empty() { Vec::new() } else { vec![delay_unset(&soma_delays)] },
        notes: Vec::new(),
        overwrite,
        populations,
        soma_delays,
        aliases: Aliases::default(),
    };
    set.apply_aliases(aliases);
    Ok(set)
}
