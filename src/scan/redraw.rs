//! Redrawing some properties over a copy of another run's output (design §5.5): a scan point that
//! changes only some properties relative to point 0 draws just those — keyed streams give every
//! other property the same bits it has in point 0's file, so the host copies that file instead.

use serde::Serialize;
use serde_json::Value;

use super::json::{parse, to_text};
use super::Changes;
use crate::config::{parse_task, Model};
use crate::error::Result;
use crate::storage::new_dataset_type;

/// How a run that changes `properties` of a config can be drawn over a copy of a file that holds
/// the other properties' values, or why it cannot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redraw {
    /// The config drawing only the properties to redraw (same form and settings), or `None` when
    /// redrawing is not possible (see `reason`).
    pub config_text: Option<String>,
    /// The properties it draws, in `prop_stats` order: the ones named, and every property
    /// correlated with one of them through `prop_cov` (the copula draws the group together).
    pub properties: Vec<String>,
    /// Per property drawn, the storage type a new dataset gets (numpy name): a copy holding
    /// another type for it cannot be overwritten in place to give what a whole run writes.
    pub storage: Vec<String>,
    /// Why the properties cannot be redrawn alone, when they cannot.
    pub reason: Option<String>,
}

/// The config `config_text` (a `ConnPropsModel` or the task form, e.g. a compiled rules config)
/// restricted to the properties `changes` names (and those correlated with them), with what a host
/// needs to decide whether it can draw them over a copy of point 0's output: not when everything
/// changes, no property or one not in the model is named, or the restricted model reads
/// per-synapse attributes (they would be read from the copy, and the run's record of what it read
/// would be the subset's).
pub fn redraw_config(config_text: &str, changes: &Changes) -> Result<Redraw> {
    let model = parse_task(config_text)?.model;
    let not_possible =
        |reason: String| Redraw { config_text: None, properties: vec![], storage: vec![], reason: Some(reason) };
    let changed: Vec<String> = match changes {
        Changes::Everything { reasons } => {
            return Ok(not_possible(format!("everything changes ({})", reasons.join("; "))))
        }
        Changes::Some { changed } => changed.iter().map(|c| c.property.clone()).collect(),
    };
    if changed.is_empty() {
        return Ok(not_possible("no property is changed".to_string()));
    }
    if let Some(unknown) = changed.iter().find(|name| model.property_index(name).is_none()) {
        return Ok(not_possible(format!("'{unknown}' is not a property of the model drawn")));
    }
    let kept = with_correlated(&model, &changed);
    let mut root = parse(config_text, "the config")?;
    let model_value = match root.get("pathway_param_dict") {
        Some(_) => root.get_mut("pathway_param_dict").expect("checked"),
        None => &mut root,
    };
    if let Some(Value::Object(stats)) = model_value.get_mut("prop_stats") {
        stats.retain(|name, _| kept.iter().any(|k| k == name));
    }
    if let Value::Object(object) = model_value {
        let correlated = model
            .correlation
            .as_ref()
            .is_some_and(|c| c.properties.iter().any(|&i| kept.contains(&model.properties[i].name)));
        if !correlated {
            object.remove("prop_cov");
        }
    }
    let text = to_text(&root, true);
    let restricted = parse_task(&text)?.model;
    let attributes = restricted.edge_attributes();
    if !attributes.is_empty() {
        return Ok(not_possible(format!(
            "the redrawn properties read per-synapse attributes ({})",
            attributes.join(", ")
        )));
    }
    Ok(Redraw {
        config_text: Some(text),
        properties: restricted.properties.iter().map(|p| p.name.clone()).collect(),
        storage: restricted.properties.iter().map(|p| new_dataset_type(p).name().to_string()).collect(),
        reason: None,
    })
}

/// `changed` with every property of the model's correlated group added when one of them is in it,
/// in `prop_stats` order.
fn with_correlated(model: &Model, changed: &[String]) -> Vec<String> {
    let group: Vec<&str> = model
        .correlation
        .iter()
        .flat_map(|c| c.properties.iter().map(|&i| model.properties[i].name.as_str()))
        .collect();
    let touches_group = changed.iter().any(|name| group.contains(&name.as_str()));
    model
        .properties
        .iter()
        .map(|p| p.name.as_str())
        .filter(|name| changed.iter().any(|c| c == name) || (touches_group && group.contains(name)))
        .map(str::to_string)
        .collect()
}
