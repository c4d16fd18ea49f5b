//! Partial re-parameterization (issue #27): a patch — a partial config — merged over the config a
//! run recorded, what it changes, and what the new run's sidecar records of its parent.
//!
//! Patch forms, by the recorded config's kind:
//! - `ConnPropsModel` or task form: `{"prop_stats": {property: {source: {target: spec}}}}` (in the
//!   task form also under `pathway_param_dict`): each spec replaces the recorded one whole; a new
//!   property or pathway value is added; `src_types`/`tgt_types` in the patch add the values the
//!   recorded lists lack (a patch naming a value neither lists is refused); `prop_cov` replaces the
//!   recorded one (`null` removes it).
//! - rules JSON: `{"rules": [...], "classes": [...]}`, appended after the recorded ones (so the
//!   patch's rules win where they match).
//! - obi-one config: its own blocks, `{"distributions": {name: block}, "synaptic_models": …,
//!   "neuron_sets": …, "synapse_model_assigners": …}`, each replacing the recorded block of that
//!   name whole or added last (a new assigner wins where it matches); or rules (`{"rules": […]}`),
//!   appended to the config's export as rules JSON.
//!
//! Settings (`random_seed`, `pathway_property`, …) are not patched: they change every value, which
//! is a new run, not a change of one.

use serde::Serialize;
use serde_json::{Map, Value};

use super::axes::kind_of;
use super::changes::{changes_between, Changes};
use super::json::{parse, same, shown, to_text};
use super::ConfigKind;
use crate::error::{Error, Result};
use crate::output::sidecar::{config_sha256, read_sidecar, RecordedRun};

/// Settings a patch may not carry, with why.
const SETTINGS: [&str; 5] =
    ["random_seed", "pathway_property", "fallback_pathway_value", "overwrite_if_exists", "edge_populations"];

fn refuse_settings(patch: &Map<String, Value>) -> Result<()> {
    if let Some(key) = super::axes::SCAN_KEYS.iter().find(|k| patch.contains_key(**k)) {
        return Err(Error::config(
            format!("patch.{key}"),
            "a patch is one change of a recorded run, not a scan: to scan, give a scan config (the recorded \
             config with \"scan\" and the values to scan as lists) to --config",
        ));
    }
    if let Some(key) = SETTINGS.iter().find(|k| patch.contains_key(**k)) {
        return Err(Error::config(
            format!("patch.{key}"),
            "a patch changes specs of some properties or pathways; a setting changes every value: run again with it instead",
        ));
    }
    Ok(())
}

/// Merge `patch_text` over `recorded_text` (see the module doc for the forms) and return the
/// merged config's text (two-space indents), validated by the crate's parser. Errors name the
/// patch's key (`patch.prop_stats.conductance.GLIA: 'GLIA' is not in src_types …`), or the merged
/// config's (`prop_stats.conductance.EXC.INH.mean: … (in the patched config)`).
pub fn merge_patch(recorded_text: &str, patch_text: &str) -> Result<String> {
    let recorded = parse(recorded_text, "the recorded config")?;
    let kind = kind_of(&recorded)?;
    let patch = parse(patch_text, "the patch")?;
    let patch = patch.as_object().ok_or_else(|| Error::config("patch", "must be a JSON object (a partial config)"))?;
    if patch.is_empty() {
        return Err(Error::config("patch", "is empty: it changes nothing"));
    }
    refuse_settings(patch)?;
    let mut merged = recorded;
    let kind = match kind {
        ConfigKind::Model | ConfigKind::Task => {
            merge_matrix(&mut merged, patch, kind)?;
            kind
        }
        ConfigKind::ObiOne if !patch.contains_key("rules") && !patch.contains_key("classes") => {
            merge_obi_one(&mut merged, patch)?;
            kind
        }
        ConfigKind::ObiOne | ConfigKind::Rules => {
            if kind == ConfigKind::ObiOne {
                merged = crate::rules::parse_rules(recorded_text)?.to_rules_json();
            }
            merge_rules(&mut merged, patch)?;
            ConfigKind::Rules
        }
    };
    let text = format!("{}\n", to_text(&merged, true));
    let checked = match kind {
        ConfigKind::Model | ConfigKind::Task => crate::config::parse_task(&text).map(|_| ()),
        _ => crate::rules::parse_rules(&text).map(|_| ()),
    };
    checked.map_err(|e| match e {
        Error::Config { path, message } => Error::config(path, format!("{message} (in the patched config)")),
        other => other,
    })?;
    Ok(text)
}

/// The patch that turns the config a run recorded into `current_text` (the page's *Re-run changes
/// only*: the model edited after a run): for a matrix model, the specs that differ or are new
/// (with the pathway values added, and `prop_cov` when it changed); for rules, the rules and classes
/// added after the recorded ones. Checked by merging it back: the patch is returned only when
/// [`merge_patch`] gives `current_text`'s config exactly. Refused, saying why, when the change is
/// not one a patch can make — a setting, a removed property, pathway or rule, an edited rule, a
/// change of form — which is a new run, not a change of this one.
pub fn patch_between(recorded_text: &str, current_text: &str) -> Result<String> {
    let recorded = parse(recorded_text, "the recorded config")?;
    let current = parse(current_text, "the current config")?;
    let kind = kind_of(&recorded)?;
    if kind_of(&current)? != kind {
        return Err(Error::config(
            "$",
            format!("the model changed form ({} → {}): run it as a new run", kind.name(), kind_of(&current)?.name()),
        ));
    }
    let patch = match kind {
        ConfigKind::Model | ConfigKind::Task => matrix_patch(&recorded, &current, kind)?,
        ConfigKind::Rules => rules_patch(&recorded, &current)?,
        ConfigKind::ObiOne => {
            return Err(Error::config(
                "$",
                "an obi-one config changes by a patch of its blocks (the command's --change PATCH.json); here, run the edited config anew",
            ))
        }
    };
    if patch.is_empty() {
        return Err(Error::config("$", "the model is the recorded one: nothing to change"));
    }
    let text = format!("{}\n", to_text(&Value::Object(patch), true));
    let merged = parse(&merge_patch(recorded_text, &text)?, "the patched config")?;
    if !same(&merged, &current) {
        return Err(Error::config(
            "$",
            "the model differs from the recorded one in a way a patch cannot write (an order of values or keys, \
             a removed entry): run it as a new run",
        ));
    }
    Ok(text)
}

/// A setting of the task form differs: a new run.
fn refuse_changed_settings(recorded: &Value, current: &Value) -> Result<()> {
    for key in SETTINGS {
        let (a, b) = (recorded.get(key).unwrap_or(&Value::Null), current.get(key).unwrap_or(&Value::Null));
        if !same(a, b) {
            return Err(Error::config(
                key,
                format!("changed ({} → {}): a setting changes every value, which is a new run", shown(a), shown(b)),
            ));
        }
    }
    Ok(())
}

fn matrix_patch(recorded: &Value, current: &Value, kind: ConfigKind) -> Result<Map<String, Value>> {
    let model_of = |config: &Value| -> Result<Map<String, Value>> {
        let model = if kind == ConfigKind::Task { config.get("pathway_param_dict") } else { Some(config) };
        model
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| Error::config("pathway_param_dict", "the model is not an object"))
    };
    if kind == ConfigKind::Task {
        refuse_changed_settings(recorded, current)?;
    }
    let (old, new) = (model_of(recorded)?, model_of(current)?);
    let mut patch = Map::new();
    for key in ["src_types", "tgt_types"] {
        let before = string_list(old.get(key).unwrap_or(&Value::Null), key)?;
        let after = string_list(new.get(key).unwrap_or(&Value::Null), key)?;
        if let Some(gone) = before.iter().find(|v| !after.contains(v)) {
            return Err(Error::config(
                key,
                format!("'{gone}' was removed: a patch adds pathway values; run it as a new run"),
            ));
        }
        let added: Vec<&String> = after.iter().filter(|v| !before.contains(v)).collect();
        if !added.is_empty() {
            patch.insert(key.to_string(), Value::from(added.into_iter().cloned().collect::<Vec<_>>()));
        }
    }
    let empty = Map::new();
    let stats =
        |model: &Map<String, Value>| model.get("prop_stats").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_stats, new_stats) = (stats(&old), stats(&new));
    if let Some(property) = old_stats.keys().find(|p| !new_stats.contains_key(*p)) {
        return Err(Error::config(
            format!("prop_stats.{property}"),
            "was removed: a patch replaces or adds specs; run it as a new run",
        ));
    }
    let mut stats_patch = Map::new();
    for (property, by_source) in &new_stats {
        let before = old_stats.get(property).and_then(Value::as_object).unwrap_or(&empty);
        let mut property_patch = Map::new();
        for (source, by_target) in by_source.as_object().unwrap_or(&empty) {
            let before = before.get(source).and_then(Value::as_object).unwrap_or(&empty);
            let mut source_patch = Map::new();
            for (target, spec) in by_target.as_object().unwrap_or(&empty) {
                if before.get(target).is_none_or(|old| !same(old, spec)) {
                    source_patch.insert(target.clone(), spec.clone());
                }
            }
            if !source_patch.is_empty() {
                property_patch.insert(source.clone(), Value::Object(source_patch));
            }
        }
        if !property_patch.is_empty() {
            stats_patch.insert(property.clone(), Value::Object(property_patch));
        }
    }
    if !stats_patch.is_empty() {
        patch.insert("prop_stats".into(), Value::Object(stats_patch));
    }
    let (old_cov, new_cov) = (old.get("prop_cov").unwrap_or(&Value::Null), new.get("prop_cov").unwrap_or(&Value::Null));
    if !same(old_cov, new_cov) {
        patch.insert("prop_cov".into(), new_cov.clone());
    }
    Ok(patch)
}

fn rules_patch(recorded: &Value, current: &Value) -> Result<Map<String, Value>> {
    let mut patch = Map::new();
    for (key, value) in current.as_object().into_iter().flatten() {
        if key == "rules" || key == "classes" {
            continue;
        }
        if !recorded.get(key).is_some_and(|old| same(old, value)) {
            return Err(Error::config(
                key.as_str(),
                "changed: a patch of rules appends rules and classes; run it as a new run",
            ));
        }
    }
    for key in ["classes", "rules"] {
        let list = |config: &Value| config.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let (before, after) = (list(recorded), list(current));
        let kept = before.len() <= after.len() && before.iter().zip(&after).all(|(a, b)| same(a, b));
        if !kept {
            return Err(Error::config(
                key,
                format!(
                    "the recorded {key} were edited or removed: a patch appends {key} after them; run it as a new run"
                ),
            ));
        }
        if after.len() > before.len() {
            patch.insert(key.to_string(), Value::from(after[before.len()..].to_vec()));
        }
    }
    Ok(patch)
}

/// What `patch_text` changes in the run of `recorded_text`: [`changes_between`] the recorded and
/// the merged config (cells for matrix models, every pathway of a property for rules).
pub fn changed_by_patch(recorded_text: &str, patch_text: &str) -> Result<Changes> {
    changes_between(recorded_text, &merge_patch(recorded_text, patch_text)?)
}

fn string_list(value: &Value, path: &str) -> Result<Vec<String>> {
    value
        .as_array()
        .and_then(|items| items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| Error::config(path, format!("must be a list of strings, got {}", shown(value))))
}

fn merge_matrix(merged: &mut Value, patch: &Map<String, Value>, kind: ConfigKind) -> Result<()> {
    let (patch, prefix) = match (kind, patch.get("pathway_param_dict")) {
        (ConfigKind::Task, Some(inner)) if patch.len() == 1 => (
            inner.as_object().ok_or_else(|| Error::config("patch.pathway_param_dict", "must be an object"))?,
            "patch.pathway_param_dict",
        ),
        _ => (patch, "patch"),
    };
    let model = match kind {
        ConfigKind::Task => merged.get_mut("pathway_param_dict"),
        _ => Some(&mut *merged),
    };
    let model = model
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::config("pathway_param_dict", "the recorded config has no model object"))?;
    for key in patch.keys() {
        if !["src_types", "tgt_types", "prop_stats", "prop_cov"].contains(&key.as_str()) {
            return Err(Error::config(
                format!("{prefix}.{key}"),
                "unknown key in a model patch (allowed: src_types, tgt_types, prop_stats, prop_cov)",
            ));
        }
    }
    let mut types = Vec::new();
    for key in ["src_types", "tgt_types"] {
        let mut values = string_list(model.get(key).unwrap_or(&Value::Null), key)?;
        if let Some(added) = patch.get(key) {
            for value in string_list(added, &format!("{prefix}.{key}"))? {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            model.insert(key.to_string(), Value::from(values.clone()));
        }
        types.push(values);
    }
    if let Some(stats) = patch.get("prop_stats") {
        merge_prop_stats(model, stats, &types[0], &types[1], &format!("{prefix}.prop_stats"))?;
    }
    match patch.get("prop_cov") {
        Some(Value::Null) => {
            model.shift_remove("prop_cov");
        }
        Some(cov @ Value::Object(_)) => {
            model.insert("prop_cov".into(), cov.clone());
        }
        Some(other) => {
            return Err(Error::config(
                format!("{prefix}.prop_cov"),
                format!("must be an object or null, got {}", shown(other)),
            ))
        }
        None => {}
    }
    Ok(())
}

/// `prop_stats` of a patch over the model's: specs replaced whole, properties and values added.
fn merge_prop_stats(
    model: &mut Map<String, Value>,
    stats: &Value,
    sources: &[String],
    targets: &[String],
    path: &str,
) -> Result<()> {
    let stats = stats
        .as_object()
        .ok_or_else(|| Error::config(path, "must be an object {property: {source: {target: spec}}}"))?;
    let recorded = model
        .entry("prop_stats")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::config("prop_stats", "the recorded prop_stats is not an object"))?;
    let known: Vec<String> = recorded.keys().cloned().collect();
    for (property, by_source) in stats {
        let property_path = format!("{path}.{property}");
        crate::config::check_property_name(property, &property_path)?;
        if !known.contains(property) {
            // A new property: a spec for every pathway, else most likely a misspelt one.
            let complete = sources
                .iter()
                .all(|source| targets.iter().all(|target| by_source.get(source).and_then(|t| t.get(target)).is_some()));
            if !complete {
                return Err(Error::config(
                    &property_path,
                    format!(
                        "'{property}' is not a property of the recorded model ({}): a new property needs a spec \
                         for every pathway (every source in src_types, every target in tgt_types)",
                        known.join(", ")
                    ),
                ));
            }
        }
        let by_source = by_source
            .as_object()
            .ok_or_else(|| Error::config(&property_path, "must be an object {source: {target: spec}}"))?;
        let into =
            recorded.entry(property.clone()).or_insert_with(|| Value::Object(Map::new())).as_object_mut().ok_or_else(
                || Error::config(format!("prop_stats.{property}"), "the recorded property is not an object"),
            )?;
        for (source, by_target) in by_source {
            let source_path = format!("{property_path}.{source}");
            if !sources.contains(source) {
                return Err(Error::config(
                    &source_path,
                    format!("'{source}' is not in the recorded src_types ({}): add it to src_types in the patch to add a pathway", sources.join(", ")),
                ));
            }
            let by_target =
                by_target.as_object().ok_or_else(|| Error::config(&source_path, "must be an object {target: spec}"))?;
            let into =
                into.entry(source.clone()).or_insert_with(|| Value::Object(Map::new())).as_object_mut().ok_or_else(
                    || Error::config(format!("prop_stats.{property}.{source}"), "the recorded value is not an object"),
                )?;
            for (target, spec) in by_target {
                let spec_path = format!("{source_path}.{target}");
                if !targets.contains(target) {
                    return Err(Error::config(
                        &spec_path,
                        format!("'{target}' is not in the recorded tgt_types ({}): add it to tgt_types in the patch to add a pathway", targets.join(", ")),
                    ));
                }
                if !spec.is_object() {
                    return Err(Error::config(
                        &spec_path,
                        format!("must be a spec object {{\"type\": …}}, got {}", shown(spec)),
                    ));
                }
                into.insert(target.clone(), spec.clone());
            }
        }
    }
    Ok(())
}

fn merge_rules(merged: &mut Value, patch: &Map<String, Value>) -> Result<()> {
    let object = merged.as_object_mut().ok_or_else(|| Error::config("$", "the recorded rules are not an object"))?;
    for key in patch.keys() {
        if !["rules", "classes"].contains(&key.as_str()) {
            return Err(Error::config(
                format!("patch.{key}"),
                "unknown key in a rules patch (allowed: rules and classes, appended after the recorded ones)",
            ));
        }
    }
    for key in ["classes", "rules"] {
        let Some(added) = patch.get(key) else { continue };
        let added = added.as_array().ok_or_else(|| Error::config(format!("patch.{key}"), "must be a list"))?;
        let list = object.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        let list = list.as_array_mut().ok_or_else(|| Error::config(key, "the recorded value is not a list"))?;
        list.extend(added.iter().cloned());
    }
    Ok(())
}

/// obi-one's block dictionaries a patch may carry.
const OBI_ONE_SECTIONS: [&str; 4] = ["distributions", "synaptic_models", "neuron_sets", "synapse_model_assigners"];

fn merge_obi_one(merged: &mut Value, patch: &Map<String, Value>) -> Result<()> {
    let object = merged.as_object_mut().ok_or_else(|| Error::config("$", "the recorded config is not an object"))?;
    for (key, blocks) in patch {
        if !OBI_ONE_SECTIONS.contains(&key.as_str()) {
            return Err(Error::config(
                format!("patch.{key}"),
                format!(
                    "unknown key in an obi-one patch (allowed: {}, or rules and classes)",
                    OBI_ONE_SECTIONS.join(", ")
                ),
            ));
        }
        let blocks = blocks
            .as_object()
            .ok_or_else(|| Error::config(format!("patch.{key}"), "must be an object {name: block}"))?;
        let section = object.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        let section =
            section.as_object_mut().ok_or_else(|| Error::config(key, "the recorded section is not an object"))?;
        for (name, block) in blocks {
            if !block.is_object() {
                return Err(Error::config(
                    format!("patch.{key}.{name}"),
                    format!("must be a block object, got {}", shown(block)),
                ));
            }
            section.insert(name.clone(), block.clone());
        }
    }
    Ok(())
}

/// What a run's sidecar records of the run it changes (`"parent"`): which run, the change, and what
/// it changes — so that the output can be traced to its parent and checked against it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParentRun {
    /// The parent's `model_config_sha256` (the config it ran).
    pub model_config_sha256: String,
    /// SHA-256 of the parent's sidecar text (`parameterization.json`), naming that run exactly.
    pub sidecar_sha256: String,
    /// The patch as the user gave it.
    pub patch_text: String,
    /// What the patch changes relative to the parent.
    pub changes: Changes,
}

impl ParentRun {
    /// The record as the sidecar holds it: `{"model_config_sha256", "sidecar_sha256", "patch"
    /// (the patch as JSON when strict JSON, else "patch_text"), "changes"}`.
    pub fn to_json(&self) -> Value {
        let mut record = Map::new();
        record.insert("model_config_sha256".into(), Value::from(self.model_config_sha256.clone()));
        record.insert("sidecar_sha256".into(), Value::from(self.sidecar_sha256.clone()));
        match serde_json::from_str::<Value>(&self.patch_text) {
            Ok(patch) => record.insert("patch".into(), patch),
            Err(_) => record.insert("patch_text".into(), Value::from(self.patch_text.clone())),
        };
        record.insert("changes".into(), serde_json::to_value(&self.changes).unwrap_or(Value::Null));
        Value::Object(record)
    }
}

/// A change of a recorded run, ready to run: the recorded settings, the merged config, the parent
/// record for the new sidecar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reparameterization {
    /// The parent run as its sidecar records it: run `model_text` with its seed, pathway property,
    /// fallback, overwrite flag and edge populations (and check its inputs are unchanged:
    /// `output::sidecar::changed_inputs`).
    pub recorded: RecordedRun,
    /// The merged config.
    pub model_text: String,
    /// What the new run's sidecar records as its `parent`.
    pub parent: ParentRun,
}

/// `--from-provenance SIDECAR --change PATCH`: read the parent's sidecar (checked as for a rerun:
/// its model must match its hash), merge the patch over its config, and say what changes.
pub fn reparameterize(sidecar_text: &str, patch_text: &str) -> Result<Reparameterization> {
    let recorded = read_sidecar(sidecar_text).map_err(|m| Error::input("the parent run's parameterization.json", m))?;
    let model_text = merge_patch(&recorded.config_text, patch_text)?;
    let changes = changes_between(&recorded.config_text, &model_text)?;
    let parent = ParentRun {
        model_config_sha256: config_sha256(&recorded.config_text),
        sidecar_sha256: crate::output::js_json::sha256_hex(sidecar_text),
        patch_text: patch_text.to_string(),
        changes,
    };
    Ok(Reparameterization { recorded, model_text, parent })
}
