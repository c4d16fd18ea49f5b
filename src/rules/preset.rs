//! A preset by class — a `ConnPropsModel` over types such as `EXC`/`INH` — mapped onto a circuit
//! as rules (design §9.1): one class of specs per (source type, target type) of the preset, and
//! rules selecting the circuit's pathway values of each type by the pathway property, and whole
//! node populations (`@population`) for populations whose nodes lack that property (virtual VPM,
//! POm). The model stays as compact as the preset: "EXC → INH" is one class, edited once, however
//! many values the circuit has.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::selectors::NODE_POPULATION_KEY;
use crate::error::{Error, Result};

/// What a preset is mapped onto: the type of each pathway value and of each node population
/// lacking the pathway property, and optionally which of them each side of the circuit's edges has.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetMapping {
    /// The node property the values are values of (e.g. `mtype`).
    pub pathway_property: String,
    /// Pathway value → the preset's type it takes (e.g. `"L5_TPC:A": "EXC"`).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Node population lacking the pathway property → the preset's type it takes (e.g.
    /// `"VPM": "EXC"`): selected whole, by `@population`.
    #[serde(default)]
    pub populations: BTreeMap<String, String>,
    /// The values and populations found on the source side of the circuit's edges (absent: all).
    #[serde(default)]
    pub source: Option<PresetSide>,
    /// The same on the target side.
    #[serde(default)]
    pub target: Option<PresetSide>,
}

/// The values and node populations present on one side of a circuit's edges.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetSide {
    /// Pathway values.
    #[serde(default)]
    pub values: Vec<String>,
    /// Node populations (of those in `populations`).
    #[serde(default)]
    pub populations: Vec<String>,
}

/// The members of one side of the rules for one preset type: values and populations.
struct Members {
    values: Vec<String>,
    populations: Vec<String>,
}

/// A preset (a `ConnPropsModel` or task config over class types) as synparam rules JSON
/// (`rules_version` 1) for the circuit `mapping` describes: one class per (source type, target
/// type) with the preset's specs for it, named `"EXC → INH"`; per pair, a rule selecting the values
/// of those types by the pathway property, and rules selecting the populations lacking the property
/// by `@population` (first, so a node of such a population that does have a value takes its
/// value's class: later rules win). Keeps the preset's `random_seed` and `overwrite_if_exists`. A
/// preset with `prop_cov` has no rules form (an error).
pub fn preset_to_rules(preset_text: &str, mapping: &PresetMapping) -> Result<Value> {
    let task = crate::config::parse_task(preset_text)?;
    let value: Value = serde_json::from_str(preset_text).map_err(|e| Error::config("$", e.to_string()))?;
    let model = value.get("pathway_param_dict").unwrap_or(&value);
    if model.get("prop_cov").is_some_and(|c| !c.is_null() && c.as_object().is_none_or(|o| !o.is_empty())) {
        return Err(Error::config(
            "prop_cov",
            "correlated properties have no rules form: a preset with prop_cov can only be mapped as a matrix",
        ));
    }
    if mapping.pathway_property.is_empty() {
        return Err(Error::config("pathway_property", "required"));
    }
    if mapping.values.is_empty() && mapping.populations.is_empty() {
        return Err(Error::config("values", "no pathway value or node population to map the preset onto"));
    }
    let model_types = (&task.model.src_types, &task.model.tgt_types);
    let members = |types: &[String], side: Option<&PresetSide>, side_name: &str| -> Result<Vec<Members>> {
        let on_side = |name: &str, of_side: fn(&PresetSide) -> &Vec<String>| {
            side.is_none_or(|s| of_side(s).iter().any(|n| n == name))
        };
        let mut out: Vec<Members> =
            types.iter().map(|_| Members { values: Vec::new(), populations: Vec::new() }).collect();
        for (kind, map) in [("values", &mapping.values), ("populations", &mapping.populations)] {
            for (name, preset_type) in map {
                let present =
                    if kind == "values" { on_side(name, |s| &s.values) } else { on_side(name, |s| &s.populations) };
                if !present {
                    continue;
                }
                let index = types.iter().position(|t| t == preset_type).ok_or_else(|| {
                    Error::config(
                        format!("{kind}.{name}"),
                        format!(
                            "'{preset_type}' is not a {side_name} type of the preset ({})",
                            types.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                if kind == "values" {
                    out[index].values.push(name.clone());
                } else {
                    out[index].populations.push(name.clone());
                }
            }
        }
        Ok(out)
    };
    let sources = members(model_types.0, mapping.source.as_ref(), "source")?;
    let targets = members(model_types.1, mapping.target.as_ref(), "target")?;

    let property = &mapping.pathway_property;
    let by_values = |values: &[String]| -> Value {
        json!({property.as_str(): values.iter().map(|v| escape_glob(v)).collect::<Vec<_>>()})
    };
    let by_populations = |populations: &[String]| -> Value {
        json!({NODE_POPULATION_KEY: populations.iter().map(|p| escape_glob(p)).collect::<Vec<_>>()})
    };
    let prop_stats = model.get("prop_stats").and_then(Value::as_object);
    let mut classes = Vec::new();
    // Rules selecting populations (fallbacks) come first, the rules over values after them.
    let mut population_rules = Vec::new();
    let mut value_rules = Vec::new();
    for (s, source_type) in model_types.0.iter().enumerate() {
        for (t, target_type) in model_types.1.iter().enumerate() {
            let (source, target) = (&sources[s], &targets[t]);
            let source_empty = source.values.is_empty() && source.populations.is_empty();
            let target_empty = target.values.is_empty() && target.populations.is_empty();
            if source_empty || target_empty {
                continue;
            }
            let mut props = Map::new();
            for (name, by_source) in prop_stats.into_iter().flatten() {
                if let Some(spec) = by_source.get(source_type).and_then(|by_target| by_target.get(target_type)) {
                    props.insert(name.clone(), spec.clone());
                }
            }
            if props.is_empty() {
                continue; // the preset says nothing for this pair: its synapses are left uncovered (the compiler names them)
            }
            let class = format!("{source_type} → {target_type}");
            classes.push(json!({"name": class, "props": props}));
            let label = |members: &Members, preset_type: &str, populations: bool| {
                if populations {
                    format!("{} ({preset_type})", members.populations.join(", "))
                } else {
                    preset_type.to_string()
                }
            };
            for (source_populations, target_populations) in [(true, true), (true, false), (false, true), (false, false)]
            {
                let chosen = |members: &Members, populations: bool| {
                    if populations {
                        (!members.populations.is_empty()).then(|| by_populations(&members.populations))
                    } else {
                        (!members.values.is_empty()).then(|| by_values(&members.values))
                    }
                };
                let (Some(source_selector), Some(target_selector)) =
                    (chosen(source, source_populations), chosen(target, target_populations))
                else {
                    continue;
                };
                let rule = json!({
                    "name": format!("{} → {}", label(source, source_type, source_populations), label(target, target_type, target_populations)),
                    "source": source_selector,
                    "target": target_selector,
                    "class": class,
                });
                if source_populations || target_populations {
                    population_rules.push(rule);
                } else {
                    value_rules.push(rule);
                }
            }
        }
    }
    if classes.is_empty() {
        return Err(Error::config("prop_stats", "the preset has no spec for any pair of the types mapped onto"));
    }
    let mut out = Map::new();
    out.insert("rules_version".into(), Value::from(1));
    if let Some(seed) = task.seed {
        out.insert("random_seed".into(), Value::from(seed));
    }
    if let Some(overwrite) = task.overwrite_if_exists {
        out.insert("overwrite_if_exists".into(), Value::from(overwrite));
    }
    out.insert("classes".into(), Value::Array(classes));
    population_rules.extend(value_rules);
    out.insert("rules".into(), Value::Array(population_rules));
    Ok(Value::Object(out))
}

/// A name as a selector value that matches exactly that name: the glob characters `*`, `?` and `[`
/// of a value are written as one-character sets (`[*]`), which match them literally.
fn escape_glob(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::selectors::fnmatch;

    #[test]
    fn glob_characters_in_a_name_match_only_themselves() {
        for name in ["L5_TPC:A", "a*b", "what?", "x[1]", "[", "]"] {
            let escaped = escape_glob(name);
            assert!(fnmatch(&escaped, name), "{escaped} matches {name}");
        }
        assert!(!fnmatch(&escape_glob("a*b"), "axxb"));
        assert_eq!(escape_glob("L5_TPC:A"), "L5_TPC:A", "plain names stay exact");
    }
}
