//! What one config changes relative to another, in the terms of the keyed streams (design §2.5):
//! a value's stream is keyed by (seed, edge population, property) and its connection or edge,
//! never by another property's spec, the pathway or the rule — so a property whose spec did not
//! change on a pathway draws the same bits there. What changes every value: the seed, the pathway
//! property, the fallback value, the edge populations or the overwrite flag (conservatively: they
//! change what is drawn or written everywhere), or a change of the config's kind.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::axes::{kind_of, SCAN_KEYS};
use super::json::{parse, same, shown};
use super::ConfigKind;
use crate::error::Result;
use crate::rules::{parse_rules, Rule, RuleSet};

/// A property on some pathways whose values may differ: `source`/`target` `None` stands for every
/// value (rules: pathways are classes of nodes, known only once compiled for a circuit).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// The property (a SONATA edge dataset).
    pub property: String,
    /// The source pathway value; `None` (JSON `null`): every source value.
    pub source: Option<String>,
    /// The target pathway value; `None` (JSON `null`): every target value.
    pub target: Option<String>,
}

/// What a config changes relative to another: everything, or the listed (property, source,
/// target) cells — so a host can reuse every output a point or a patch does not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Changes {
    /// Every value may differ (a seed, pathway property, … changed): nothing can be reused.
    Everything {
        /// What changed, e.g. `random_seed: 1 → 2`.
        reasons: Vec<String>,
    },
    /// Only these cells may differ; every other (property, source, target) draws the same bits.
    Some {
        /// The changed cells, sorted (property, source, target); empty: nothing changes.
        changed: Vec<Change>,
    },
}

impl Changes {
    /// Whether nothing changes (the two configs draw the same bits everywhere).
    pub fn is_empty(&self) -> bool {
        matches!(self, Changes::Some { changed } if changed.is_empty())
    }

    /// Whether values of `property` on pathway `source → target` may differ.
    pub fn affects(&self, property: &str, source: &str, target: &str) -> bool {
        match self {
            Changes::Everything { .. } => true,
            Changes::Some { changed } => changed.iter().any(|c| {
                c.property == property
                    && c.source.as_deref().is_none_or(|s| s == source)
                    && c.target.as_deref().is_none_or(|t| t == target)
            }),
        }
    }

    /// The properties with any change (every property: `None`).
    pub fn properties(&self) -> Option<BTreeSet<String>> {
        match self {
            Changes::Everything { .. } => None,
            Changes::Some { changed } => Some(changed.iter().map(|c| c.property.clone()).collect()),
        }
    }
}

/// What `other_text` changes relative to `base_text` (any two configs of the accepted JSON forms:
/// `ConnPropsModel`, task form, synparam rules JSON, obi-one config; a scan config's `scan` and
/// `max_points` keys are ignored). For rules the cells name every pathway (`None`); for cells,
/// compare the `ConnPropsModel`s the rules compile to for a circuit. Errors: a text that is not
/// one of these forms, or rules that do not parse.
pub fn changes_between(base_text: &str, other_text: &str) -> Result<Changes> {
    let base = parse(base_text, "the base config")?;
    let other = parse(other_text, "the other config")?;
    let (kind, other_kind) = (kind_of(&base)?, kind_of(&other)?);
    if kind != other_kind {
        return Ok(Changes::Everything {
            reasons: vec![format!("the config's kind: {} → {}", kind.name(), other_kind.name())],
        });
    }
    match kind {
        ConfigKind::Model | ConfigKind::Task => Ok(matrix_changes(&base, &other)),
        ConfigKind::Rules | ConfigKind::ObiOne => {
            Ok(rules_changes(&parse_rules(base_text)?, &parse_rules(other_text)?))
        }
    }
}

/// Settings of the task form that change every value.
const TASK_SETTINGS: [&str; 5] =
    ["random_seed", "pathway_property", "fallback_pathway_value", "edge_populations", "overwrite_if_exists"];

fn matrix_changes(base: &Value, other: &Value) -> Changes {
    let null = Value::Null;
    let setting = |root: &Value, key: &str| root.get(key).cloned().unwrap_or(Value::Null);
    let reasons: Vec<String> = TASK_SETTINGS
        .iter()
        .filter(|key| !same(&setting(base, key), &setting(other, key)))
        .map(|key| format!("{key}: {} → {}", shown(&setting(base, key)), shown(&setting(other, key))))
        .collect();
    if !reasons.is_empty() {
        return Changes::Everything { reasons };
    }
    let model = |root: &Value| -> Value {
        let mut m = root.get("pathway_param_dict").unwrap_or(root).clone();
        if let Some(object) = m.as_object_mut() {
            for key in SCAN_KEYS {
                object.shift_remove(key);
            }
        }
        m
    };
    let (a, b) = (model(base), model(other));
    let union = |key: &str| -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        for m in [&a, &b] {
            for v in m.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(v) = v.as_str().filter(|v| !values.iter().any(|w| w == v)) {
                    values.push(v.to_string());
                }
            }
        }
        values
    };
    let (sources, targets) = (union("src_types"), union("tgt_types"));
    let mut changed = BTreeSet::new();
    let mut mark = |property: &str, s: &str, t: &str| {
        changed.insert(Change { property: property.into(), source: Some(s.into()), target: Some(t.into()) });
    };
    let stats = |m: &Value| m.get("prop_stats").and_then(Value::as_object).cloned().unwrap_or_default();
    let (stats_a, stats_b) = (stats(&a), stats(&b));
    let properties: BTreeSet<&String> =
        stats_a.keys().chain(stats_b.keys()).filter(|p| *p != crate::config::N_SYN_PER_CONN).collect();
    for property in &properties {
        for s in &sources {
            for t in &targets {
                let cell = |stats: &Map<String, Value>| stats.get(*property).and_then(|p| p.get(s)?.get(t)).cloned();
                match (cell(&stats_a), cell(&stats_b)) {
                    (Some(x), Some(y)) if same(&x, &y) => {}
                    (None, None) => {}
                    _ => mark(property, s, t),
                }
            }
        }
    }
    // prop_cov: the copula's stream is keyed by the correlated names (in order), so another list
    // changes them all everywhere; another matrix changes them on its pathway.
    let cov = |m: &Value| m.get("prop_cov").filter(|c| c.as_object().is_some_and(|o| !o.is_empty())).cloned();
    let (cov_a, cov_b) = (cov(&a), cov(&b));
    let props = |c: &Option<Value>| -> Vec<String> {
        c.as_ref()
            .and_then(|c| c.get("props")?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let (props_a, props_b) = (props(&cov_a), props(&cov_b));
    for s in &sources {
        for t in &targets {
            let matrix =
                |c: &Option<Value>| c.as_ref().and_then(|c| c.get("cov")?.get(s)?.get(t)).unwrap_or(&null).clone();
            if props_a != props_b || !same(&matrix(&cov_a), &matrix(&cov_b)) {
                for property in props_a.iter().chain(&props_b) {
                    mark(property, s, t);
                }
            }
        }
    }
    Changes::Some { changed: changed.into_iter().collect() }
}

/// A rule's specs: its class's, then its own over them (what it assigns).
fn effective_specs(rules: &RuleSet, rule: &Rule) -> Map<String, Value> {
    let mut specs = Map::new();
    if let Some(class) = rule.class.and_then(|c| rules.classes.get(c)) {
        specs.extend(class.specs.iter().cloned());
    }
    specs.extend(rule.assign.iter().cloned());
    specs
}

/// Per property, the last matching rule that assigns it wins: a property can change only where a
/// rule assigning it (in either version) changed its spec, its selectors (nodes or synapse
/// condition) or its position.
fn rules_changes(base: &RuleSet, other: &RuleSet) -> Changes {
    let mut reasons = Vec::new();
    if base.seed != other.seed {
        reasons.push(format!("random_seed: {:?} → {:?}", base.seed, other.seed));
    }
    if base.overwrite != other.overwrite {
        reasons.push(format!("overwrite_if_exists: {:?} → {:?}", base.overwrite, other.overwrite));
    }
    if base.populations != other.populations {
        reasons.push(format!("edge_populations: {:?} → {:?}", base.populations, other.populations));
    }
    if !reasons.is_empty() {
        return Changes::Everything { reasons };
    }
    let mut properties = BTreeSet::new();
    for i in 0..base.rules.len().max(other.rules.len()) {
        let a = base.rules.get(i).map(|r| (r, effective_specs(base, r)));
        let b = other.rules.get(i).map(|r| (r, effective_specs(other, r)));
        match (a, b) {
            (Some((ra, sa)), Some((rb, sb)))
                if ra.source == rb.source && ra.target == rb.target && ra.synapse == rb.synapse =>
            {
                for (property, spec) in sa.iter() {
                    if !sb.get(property).is_some_and(|other| same(spec, other)) {
                        properties.insert(property.clone());
                    }
                }
                properties.extend(sb.keys().filter(|p| !sa.contains_key(*p)).cloned());
            }
            (a, b) => {
                for (_, specs) in a.iter().chain(b.iter()) {
                    properties.extend(specs.keys().cloned());
                }
            }
        }
    }
    let changed = properties.into_iter().map(|property| Change { property, source: None, target: None }).collect();
    Changes::Some { changed }
}
