//! Where a scan config's axes are (issue #27; see the module doc of `crate::scan`): a list one
//! level deeper than the config's schema expects at its place. A scalar or object place given a
//! list is an axis (`"mean": [0.5, 1, 2]`, a whole spec `[{…}, {…}]`); a list-valued place
//! (`val`, `p`, `src_types`, obi-one's `values`) given a list of lists is an axis; a matrix place
//! (`prop_cov.cov.S.T`, `scale_by.table`) given a list of matrices is one. This is obi-one's rule
//! (a block field given a `list` is a scan dimension, `tuple`s are list-like values), written for
//! JSON, where obi-one's tuples and lists are both arrays.

use serde_json::Value;

use super::json::{list_depth, path_text, shown, Seg};
use super::ConfigKind;
use crate::error::{Error, Result};

/// Root keys of a scan config that are not part of the model.
pub(crate) const SCAN_KEYS: [&str; 2] = ["scan", "max_points"];

/// An axis found in a config: where, and its values in the order given.
pub(crate) struct FoundAxis {
    pub(crate) path: Vec<Seg>,
    pub(crate) values: Vec<Value>,
}

/// What kind of config a parsed text is, from its keys (as `rules::parse_rules` and
/// `config::parse_task` tell them apart); BBP recipes are refused with what to do instead.
pub(crate) fn kind_of(root: &Value) -> Result<ConfigKind> {
    let object = root.as_object().ok_or_else(|| Error::config("$", "the config must be a JSON object"))?;
    if object.contains_key("synapse_properties") {
        return Err(Error::config(
            "synapse_properties",
            "a BBP recipe cannot be scanned or patched: export it as rules JSON (--export-rules) and scan or patch that",
        ));
    }
    Ok(if object.contains_key("synapse_model_assigners") {
        ConfigKind::ObiOne
    } else if object.contains_key("rules_version") {
        ConfigKind::Rules
    } else if object.contains_key("pathway_param_dict") {
        ConfigKind::Task
    } else {
        ConfigKind::Model
    })
}

fn key(seg: Option<&Seg>) -> &str {
    match seg {
        Some(Seg::Key(k)) => k,
        _ => "",
    }
}

/// List levels a spec's schema expects at `rest` (below the spec object); `by_synapse`'s `cases`
/// is a list, a case's `where` tests take lists of values, its `spec` and `otherwise` are specs.
fn spec_depth(rest: &[Seg]) -> usize {
    match (key(rest.first()), rest.len()) {
        ("cases", 1) => return 1,
        ("cases", 4) if key(rest.get(2)) == "where" => return 1,
        ("cases", n) if n >= 3 && key(rest.get(2)) == "spec" => return spec_depth(&rest[3..]),
        ("otherwise", n) if n >= 1 => return spec_depth(&rest[1..]),
        _ => {}
    }
    match rest.len() {
        1 if matches!(key(rest.first()), "val" | "p") => 1,
        2 if key(rest.first()) == "scale_by" => match key(rest.get(1)) {
            "linear" => 1,
            "table" => 2,
            _ => 0,
        },
        _ => 0,
    }
}

/// List levels a `ConnPropsModel`'s schema expects at `rest` (below the model object).
fn model_depth(rest: &[Seg]) -> usize {
    match (key(rest.first()), rest.len()) {
        ("src_types" | "tgt_types", 1) => 1,
        ("prop_stats", n) if n >= 4 => spec_depth(&rest[4..]),
        ("prop_cov", 2) if key(rest.get(1)) == "props" => 1,
        ("prop_cov", 4) if key(rest.get(1)) == "cov" => 2,
        _ => 0,
    }
}

/// List levels the schema of a `kind` config expects at `path`: 0 where a scalar or an object
/// belongs, 1 for a list, 2 for a matrix. Places the schema does not know expect 0 (obi-one's
/// rule: any list in a block is a scan dimension).
pub(crate) fn expected_depth(kind: ConfigKind, path: &[Seg]) -> usize {
    let first = key(path.first());
    match kind {
        ConfigKind::Model => model_depth(path),
        ConfigKind::Task => match first {
            "pathway_param_dict" => model_depth(&path[1..]),
            "edge_populations" if path.len() == 1 => 1,
            _ => 0,
        },
        ConfigKind::Rules => match (first, path.len()) {
            ("edge_populations" | "classes" | "rules", 1) => 1,
            ("classes", n) if n >= 4 && key(path.get(2)) == "props" => spec_depth(&path[4..]),
            ("rules", 4) if matches!(key(path.get(2)), "source" | "target" | "synapse") => 1,
            ("rules", n) if n >= 4 && key(path.get(2)) == "assign" => spec_depth(&path[4..]),
            _ => 0,
        },
        ConfigKind::ObiOne => match (first, path.len()) {
            ("distributions", 3) if matches!(key(path.get(2)), "values" | "probabilities") => 1,
            ("neuron_sets", 5) if key(path.get(2)) == "property_filter" && key(path.get(3)) == "filter_dict" => 1,
            _ => 0,
        },
    }
}

/// The axes of a config, in document order (depth first, keys in the order written).
pub(crate) fn find_axes(root: &Value, kind: ConfigKind) -> Result<Vec<FoundAxis>> {
    let mut axes = Vec::new();
    if let Some(object) = root.as_object() {
        for (k, v) in object {
            if !SCAN_KEYS.contains(&k.as_str()) {
                walk(v, vec![Seg::Key(k.clone())], kind, &mut axes)?;
            }
        }
    }
    Ok(axes)
}

fn walk(value: &Value, path: Vec<Seg>, kind: ConfigKind, axes: &mut Vec<FoundAxis>) -> Result<()> {
    match value {
        Value::Array(items) => {
            let depth = expected_depth(kind, &path);
            let is_axis = depth == 0 || (!items.is_empty() && items.iter().all(|item| list_depth(item) >= depth));
            if is_axis {
                return push_axis(items, path, kind, axes);
            }
            if depth == 1 && items.iter().any(Value::is_array) {
                return Err(Error::config(
                    path_text(&path),
                    "mixes lists and single values: a list-valued field is scanned whole (give a list of lists, one per point)",
                ));
            }
            for (i, item) in items.iter().enumerate() {
                if item.is_object() {
                    let mut inner = path.clone();
                    inner.push(Seg::Index(i));
                    walk(item, inner, kind, axes)?;
                }
            }
            Ok(())
        }
        Value::Object(object) => {
            for (k, v) in object {
                let mut inner = path.clone();
                inner.push(Seg::Key(k.clone()));
                walk(v, inner, kind, axes)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn push_axis(items: &[Value], path: Vec<Seg>, kind: ConfigKind, axes: &mut Vec<FoundAxis>) -> Result<()> {
    let at = path_text(&path);
    if items.is_empty() {
        return Err(Error::config(at, "an empty list: a scan axis needs at least one value"));
    }
    for (i, item) in items.iter().enumerate() {
        let mut inner = Vec::new();
        walk(item, path.clone(), kind, &mut inner)?;
        if let Some(nested) = inner.first() {
            return Err(Error::config(
                format!("{at}[{i}]"),
                format!(
                    "holds a scan axis ({} = {}) inside a value of the axis at {at}: axes do not nest, give each its own place",
                    path_text(&nested.path),
                    shown(&Value::Array(nested.values.clone()))
                ),
            ));
        }
    }
    axes.push(FoundAxis { path, values: items.to_vec() });
    Ok(())
}
