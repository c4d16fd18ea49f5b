//! Names a recipe uses mapped to a circuit's (design §9.5): a region's recipe says `L23_PC`, the
//! circuit says `L2_TPC:A`, `L3_TPC:A`. An alias table in synparam's rules JSON, `"aliases":
//! {property: {recipe value: circuit value or [values, globs]}}`, rewrites the rules' selectors
//! before they are compiled, so the recipe itself stays as written and the table travels with the
//! model (the page, the sidecar, the command).

use serde_json::{Map, Value};

use super::selectors::Pattern;
use crate::error::{Error, Result};

/// One recipe value of a node property and the circuit values (exact or globs) it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The node property (e.g. `mtype`).
    pub property: String,
    /// The value as the rules name it.
    pub name: String,
    /// What it stands for in the circuit.
    pub patterns: Vec<Pattern>,
}

/// The alias table, in the order written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aliases {
    /// The aliases.
    pub entries: Vec<Alias>,
}

impl Aliases {
    /// Read `{property: {name: value or [values]}}`; errors name the offending key under `aliases`.
    pub fn parse(value: &Value) -> Result<Aliases> {
        let properties = value
            .as_object()
            .ok_or_else(|| Error::config("aliases", "must be an object of property: {name: values}"))?;
        let mut entries = Vec::new();
        for (property, names) in properties {
            let path = format!("aliases.{property}");
            let names = names.as_object().ok_or_else(|| Error::config(&path, "must be an object of name: values"))?;
            for (name, values) in names {
                let path = format!("{path}.{name}");
                let texts: Vec<&str> = match values {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(items) => items
                        .iter()
                        .map(|v| v.as_str().ok_or_else(|| Error::config(&path, "values must be strings")))
                        .collect::<Result<_>>()?,
                    _ => return Err(Error::config(&path, "must be a value or a list of values")),
                };
                if texts.is_empty() || texts.iter().any(|t| t.is_empty()) {
                    return Err(Error::config(&path, "must name at least one value (an empty one selects nothing)"));
                }
                entries.push(Alias {
                    property: property.clone(),
                    name: name.clone(),
                    patterns: texts.iter().map(|t| Pattern::of(t)).collect(),
                });
            }
        }
        Ok(Aliases { entries })
    }

    /// The table as rules JSON writes it.
    pub fn to_json(&self) -> Value {
        let mut properties = Map::new();
        for alias in &self.entries {
            let names = properties.entry(alias.property.clone()).or_insert_with(|| Value::Object(Map::new()));
            let values: Vec<Value> = alias.patterns.iter().map(|p| Value::from(p.text())).collect();
            names.as_object_mut().expect("an object").insert(alias.name.clone(), Value::Array(values));
        }
        Value::Object(properties)
    }

    /// Whether there is no alias.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{parse_rules, with_aliases, RuleSet};
    use serde_json::json;

    fn rules_with(aliases: Value) -> RuleSet {
        parse_rules(
            &json!({
                "rules_version": 1,
                "aliases": aliases,
                "rules": [
                    {"source": {"mtype": "L23_PC"}, "target": {"mtype": ["L4_SS", "L5_TTPC1"]}, "assign": {"u_syn": {"type": "constant", "mean": 0.5}}},
                    {"source": {"mtype": "L23_*"}, "target": {"synapse_class": "INH"}, "assign": {"u_syn": {"type": "constant", "mean": 0.2}}},
                ],
            })
            .to_string(),
        )
        .unwrap()
    }

    fn texts(rules: &RuleSet, rule: usize, target: bool) -> Vec<Vec<String>> {
        let selector = if target { &rules.rules[rule].target } else { &rules.rules[rule].source };
        selector.terms.iter().map(|t| t.patterns.iter().map(|p| p.text().to_string()).collect()).collect()
    }

    #[test]
    fn an_exact_value_is_replaced_and_a_glob_extended() {
        let rules = rules_with(json!({"mtype": {"L23_PC": ["L2_TPC:*", "L3_TPC:A"], "L4_SS": "L4_SSC"}}));
        assert_eq!(texts(&rules, 0, false), vec![vec!["L2_TPC:*", "L3_TPC:A"]]);
        assert_eq!(texts(&rules, 0, true), vec![vec!["L4_SSC", "L5_TTPC1"]]);
        // "L23_*" matches the alias name L23_PC: it keeps its own matches and takes the alias's.
        assert_eq!(texts(&rules, 1, false), vec![vec!["L23_*", "L2_TPC:*", "L3_TPC:A"]]);
        // Another property's term is untouched.
        assert_eq!(texts(&rules, 1, true), vec![vec!["INH"]]);
    }

    #[test]
    fn the_table_reads_back_from_the_export_and_applies_once() {
        let rules = rules_with(json!({"mtype": {"L23_PC": ["L2_TPC:*", "L3_TPC:A"]}}));
        let again = parse_rules(&rules.to_rules_json().to_string()).unwrap();
        let selectors =
            |set: &RuleSet| set.rules.iter().map(|r| (r.source.clone(), r.target.clone())).collect::<Vec<_>>();
        assert_eq!(selectors(&again), selectors(&rules), "applying the table to rewritten selectors changes nothing");
        assert_eq!(again.aliases, rules.aliases);
    }

    #[test]
    fn bad_tables_name_the_key() {
        for (aliases, path) in [
            (json!(["L23_PC"]), "aliases"),
            (json!({"mtype": "L2_TPC:A"}), "aliases.mtype"),
            (json!({"mtype": {"L23_PC": []}}), "aliases.mtype.L23_PC"),
            (json!({"mtype": {"L23_PC": [3]}}), "aliases.mtype.L23_PC"),
            (json!({"mtype": {"L23_PC": ""}}), "aliases.mtype.L23_PC"),
        ] {
            let error =
                parse_rules(&json!({"rules_version": 1, "aliases": aliases, "rules": []}).to_string()).unwrap_err();
            assert!(error.to_string().contains(path), "{error}");
        }
    }

    #[test]
    fn a_recipe_becomes_rules_with_the_table_and_keeps_its_delays() {
        let recipe = include_str!("../../tests/fixtures/recipes/fz_recipe_uhill.json");
        let out = with_aliases(recipe, &json!({"synapse_class": {"EXC": "excitatory_neuron"}})).unwrap();
        let rules = parse_rules(&out.to_string()).unwrap();
        assert_eq!(texts(&rules, 0, false), vec![vec!["excitatory_neuron"]]);
        assert_eq!(texts(&rules, 1, false), vec![vec!["INH"]]);
        let original = parse_rules(recipe).unwrap();
        assert_eq!(rules.soma_delays, original.soma_delays, "the recipe's delay parameters survive the rewrite");
        assert_eq!(rules.seed, Some(123));
        assert!(rules.unset.iter().any(|u| u.property == "delay"));
        // Replacing the table on synparam rules keeps every other key as written; an empty table removes it.
        let cleared = with_aliases(&out.to_string(), &json!({})).unwrap();
        assert!(cleared.get("aliases").is_none());
        assert_eq!(cleared["rules"], out["rules"]);
    }
}
