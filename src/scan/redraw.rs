//! Redrawing some properties over a copy of another run's output (design §5.5): a scan point that
//! changes only some properties relative to point 0 draws just those — keyed streams give every
//! other property the same bits it has in point 0's file, so the host copies that file instead.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{parse, to_text};
use super::Changes;
use crate::config::{parse_task, Model};
use crate::error::Result;
use crate::storage::new_dataset_type;

/// A dataset the first point wrote, as its host read it back: the property and its storage type
/// (numpy name), in the order it was written (the model's property order, then groups).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WrittenDataset {
    /// The property (dataset name).
    pub property: String,
    /// Its storage type (numpy name).
    pub storage: String,
}

/// How a run that changes some properties of a config can be drawn over a copy of the first
/// point's file, or why it cannot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redraw {
    /// The config drawing only the properties to redraw (same form and settings), or `None` when
    /// redrawing is not possible (see `reason`).
    pub config_text: Option<String>,
    /// The properties it draws, in `prop_stats` order: the ones named, and every property
    /// correlated with one of them through `prop_cov` (the copula draws the group together).
    pub properties: Vec<String>,
    /// Why the properties cannot be redrawn alone, when they cannot.
    pub reason: Option<String>,
}

/// The config `config_text` (a `ConnPropsModel` or the task form, e.g. a compiled rules config)
/// restricted to the properties `changes` names (and those correlated with them), when drawing
/// those over a copy of the first point's file (which wrote `first`) gives the file a whole run
/// writes. Not when: everything changes; no property, or one not in the model, is named; the model
/// reads per-synapse attributes (they would be read from the copy, and the run's record of what it
/// read would be the subset's); its properties are not the ones the first point wrote, in the same
/// order (a whole run would create other datasets, or the same in another order); or a redrawn
/// property was stored in another type than a whole run of this config creates (an overwritten
/// dataset keeps its type).
pub fn redraw_config(config_text: &str, changes: &Changes, first: &[WrittenDataset]) -> Result<Redraw> {
    let model = parse_task(config_text)?.model;
    let not_possible = |reason: String| Redraw { config_text: None, properties: vec![], reason: Some(reason) };
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
    let attributes = model.edge_attributes();
    if !attributes.is_empty() {
        return Ok(not_possible(format!("the model reads per-synapse attributes ({})", attributes.join(", "))));
    }
    let mut written: Vec<&str> = Vec::new();
    for dataset in first {
        if !written.contains(&dataset.property.as_str()) {
            written.push(&dataset.property);
        }
    }
    let properties: Vec<&str> = model.properties.iter().map(|p| p.name.as_str()).collect();
    if properties != written {
        return Ok(not_possible(format!(
            "its properties ({}) are not those the first point wrote ({}), in that order",
            properties.join(", "),
            written.join(", ")
        )));
    }
    let kept = with_correlated(&model, &changed);
    for property in model.properties.iter().filter(|p| kept.contains(&p.name)) {
        let storage = new_dataset_type(property).name();
        if let Some(other) = first.iter().find(|d| d.property == property.name && d.storage != storage) {
            return Ok(not_possible(format!(
                "the first point stored '{}' as {}, a whole run of this point creates {storage}",
                property.name, other.storage
            )));
        }
    }
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
    Ok(Redraw {
        config_text: Some(text),
        properties: restricted.properties.iter().map(|p| p.name.clone()).collect(),
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
