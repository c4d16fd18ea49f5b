//! Parameter scans and partial re-parameterization (issue #27): change one thing, keep every other
//! bit. Pure core, for every host (command, page, Python, Dask) to call; hosts write the files.
//!
//! **Scan configs.** Any accepted JSON config — a `ConnPropsModel`, the task form, synparam rules
//! JSON, an obi-one `SynapseParameterization` config — plus `"scan": "grid" | "coupled"` (and an
//! optional `"max_points"`) at its root. A list one level deeper than the schema expects at its
//! place is a scan axis (module `axes`): `"mean": [0.5, 1, 2]`, `"random_seed": [1, 2, 3]`, a whole spec
//! `"INH": [{…}, {…}]`; `"val": [[1, 2], [1, 2, 3]]` (a list-valued field given a list of lists);
//! a `prop_cov` matrix given a list of matrices. So `val`, `p`, `src_types`, `prop_cov.props`,
//! selector value lists and obi-one's `values`/`probabilities` are values as they stand — obi-one's
//! rule (block fields typed `list` are scan dimensions, `tuple`s are list-like values), for JSON.
//! `grid` is obi-one's `GridScanGenerationTask` (the cartesian product, the last axis varying
//! fastest), `coupled` its `CoupledScanGenerationTask` (the i-th values of every axis together;
//! lists of unequal length are an error naming them). [`plan_scan`] expands a scan into its points,
//! each a plain config the existing parsers accept, validated before anything is written.
//!
//! **Reuse.** Keyed streams (design §2.5) make a property whose spec did not change on a pathway
//! draw the same bits: each point carries the [`Changes`] relative to the first point, so hosts
//! can keep unchanged outputs ([`changes_between`]).
//!
//! **Partial re-parameterization.** [`merge_patch`] merges a partial config over a recorded one;
//! [`changed_by_patch`] says what it changes; [`ParentRun`] is what the new run's sidecar records
//! of its parent.
//!
//! **Redrawing.** [`redraw_config`] restricts a point's config to the properties it changes, so a
//! host draws only those over a copy of point 0's output.

mod axes;
mod changes;
mod json;
mod overrides;
mod patch;
mod redraw;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use changes::{changes_between, Change, Changes};
pub use overrides::{
    node_sets_file_of, override_node_sets_problem, override_point_files, scaling_factor, scalings_as_overrides,
    scan_json_with_outputs, CellScaling, OverridePoint, PointOutput, OVERRIDES_FILE, OVERRIDE_NODE_SETS_FILE,
    SCALING_TOLERANCE,
};
pub use patch::{changed_by_patch, merge_patch, patch_between, reparameterize, ParentRun, Reparameterization};
pub use redraw::{redraw_config, Redraw, WrittenDataset};

use crate::error::{Error, Result};
use axes::{find_axes, kind_of, SCAN_KEYS};
use json::{is_non_finite_marker, parse, path_text, set, shown, to_text, Seg};

/// The most points a scan expands to unless the caller (or the config's `max_points`) allows more:
/// a grid of 10⁴ points is most likely a mistake (issue #27).
pub const DEFAULT_MAX_POINTS: usize = 10_000;

/// The `scan.json` format this version writes.
pub const SCAN_FORMAT: u64 = 1;

/// How the axes combine (obi-one's two scan generation tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanMode {
    /// The cartesian product of the axes (`GridScanGenerationTask`), the last axis fastest.
    Grid,
    /// The i-th values of all axes together (`CoupledScanGenerationTask`); equal lengths required.
    Coupled,
}

/// Which accepted JSON form a config is (scans and patches are defined for these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    /// connectome-manipulator's `ConnPropsModel` dict.
    Model,
    /// The task form (`pathway_param_dict` and settings).
    Task,
    /// synparam rules JSON (`rules_version`).
    Rules,
    /// obi-one's `SynapseParameterization` single config (`synapse_model_assigners`).
    ObiOne,
}

impl ConfigKind {
    /// The kind's name as `scan.json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            ConfigKind::Model => "model",
            ConfigKind::Task => "task",
            ConfigKind::Rules => "rules",
            ConfigKind::ObiOne => "obi-one",
        }
    }
}

/// One scan axis: where in the config, a short label for names, its values in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    /// The JSON path of the field, as errors name it (`pathway_param_dict.prop_stats.conductance.EXC.INH.mean`).
    pub path: String,
    /// The shortest tail of the path no other axis shares (`mean`, `conductance.EXC.INH.mean`).
    pub label: String,
    /// The values (bare non-finite numbers appear as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`).
    pub values: Vec<Value>,
}

/// One point of a scan: a plain config and what it changes relative to the first point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanPoint {
    /// Its folder name (`DIR/<name>/`): filesystem- and zip-safe (`[A-Za-z0-9._+=-]`, at most
    /// 120 characters), unique (it starts with the point's zero-padded index), stable (the same
    /// scan config gives the same names).
    pub name: String,
    /// Its position (0 is the base point).
    pub index: usize,
    /// Per axis, the index of its value.
    pub value_indices: Vec<usize>,
    /// Per axis, its value.
    pub values: Vec<Value>,
    /// The point's config: the scan config with every axis at its value, `scan` and `max_points`
    /// removed (two-space indents) — what the host runs and the point's sidecar records.
    pub model_text: String,
    /// Its `model_config_sha256` as the point's sidecar will record it.
    pub config_sha256: String,
    /// What it changes relative to point 0.
    pub changes: Changes,
}

/// A scan expanded and validated: its axes, its points, and the `scan.json` hosts write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanPlan {
    /// How the axes combine.
    pub mode: ScanMode,
    /// The config's form.
    pub kind: ConfigKind,
    /// The axes, in document order.
    pub axes: Vec<Axis>,
    /// The points, in order (grid: the last axis fastest).
    pub points: Vec<ScanPoint>,
    /// Things the user should know (points that change nothing synparam draws).
    pub notes: Vec<String>,
}

/// What a host gives beside a scan config, for the core to check against the config's axes and to
/// name in its errors (the command: `--max-points`, `--seed`; Python: `max_points=`, `seed=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanHost {
    /// How the host names its max-points option (`--max-points`); unset: `max_points`.
    #[serde(default)]
    pub max_points_option: Option<String>,
    /// The run settings the host sets for every point, each with the host's name of its option:
    /// `seed`, `pathway_property`, `fallback`, `overwrite`, `populations` → `"--seed"`, ….
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// Each run setting a host may set for every point, and the key of a config (the task form, rules
/// JSON, obi-one's assigners for `overwrite_if_exists`) that sets it.
const SETTING_KEYS: [(&str, &str); 5] = [
    ("seed", "random_seed"),
    ("pathway_property", "pathway_property"),
    ("fallback", "fallback_pathway_value"),
    ("overwrite", "overwrite_if_exists"),
    ("populations", "edge_populations"),
];

/// A run option set for every point would replace the value an axis gives the same setting (every
/// point would draw the same, under names that say otherwise): refused, naming the option and the
/// axis. An axis sets a setting when it is the setting's key at the config's root, or, in an obi-one
/// config, an assigner's `overwrite_if_exists`.
fn refuse_overridden_axes(kind: ConfigKind, axes: &[axes::FoundAxis], host: &ScanHost) -> Result<()> {
    for (setting, option) in &host.settings {
        let Some(&(_, key)) = SETTING_KEYS.iter().find(|(s, _)| s == setting) else {
            return Err(Error::config(
                "$",
                format!("internal error: unknown run setting '{setting}' (please report it)"),
            ));
        };
        let sets = |path: &[Seg]| match path {
            // The setting's key at the root, or inside its value (a per-population fallback's entry).
            [Seg::Key(k), ..] if k == key => true,
            [.., Seg::Key(k)] => kind == ConfigKind::ObiOne && key == "overwrite_if_exists" && k == key,
            _ => false,
        };
        if let Some(axis) = axes.iter().find(|a| sets(&a.path)) {
            return Err(Error::config(
                path_text(&axis.path),
                format!(
                    "a scan axis, and {option} sets {key} for every point (each point would draw with {option}'s value, \
                     not the axis's): drop {option}, or the axis"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether a text is a scan config (a JSON object with a `scan` key at its root): what hosts check
/// before running a config as one model.
pub fn is_scan_config(text: &str) -> bool {
    parse(text, "config").ok().and_then(|v| v.as_object().map(|o| o.contains_key("scan"))).unwrap_or(false)
}

/// Expand a scan config into its points, each validated by the crate's parser, refusing more than
/// `max_points` (else the config's `max_points`, else [`DEFAULT_MAX_POINTS`]) before building any.
/// Errors name the key: `scan` (missing or not grid/coupled), an axis (empty, nested, coupled
/// lengths differing), `max_points`, or an invalid point (its JSON path, its name and axis values).
pub fn plan_scan(text: &str, max_points: Option<usize>) -> Result<ScanPlan> {
    plan_scan_for(text, max_points, &ScanHost::default())
}

/// [`plan_scan`] for a host that sets run settings for every point (`host.settings`): one that
/// an axis also sets is refused, naming the host's option and the axis, before any point is built;
/// the max-points error names `host.max_points_option`.
pub fn plan_scan_for(text: &str, max_points: Option<usize>, host: &ScanHost) -> Result<ScanPlan> {
    let root = parse(text, "the scan config")?;
    let kind = kind_of(&root)?;
    let object = root.as_object().ok_or_else(|| Error::config("$", "the config must be a JSON object"))?;
    let mode = match object.get("scan") {
        Some(Value::String(s)) if s == "grid" => ScanMode::Grid,
        Some(Value::String(s)) if s == "coupled" => ScanMode::Coupled,
        Some(other) => {
            return Err(Error::config("scan", format!("must be \"grid\" or \"coupled\", got {}", shown(other))))
        }
        None => return Err(Error::config("scan", "missing: a scan config says \"scan\": \"grid\" or \"coupled\"")),
    };
    let limit = match (max_points, object.get("max_points")) {
        (Some(n), _) => n,
        (None, None | Some(Value::Null)) => DEFAULT_MAX_POINTS,
        (None, Some(v)) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| n as usize)
            .ok_or_else(|| Error::config("max_points", format!("must be a positive integer, got {}", shown(v))))?,
    };
    let found = find_axes(&root, kind)?;
    refuse_overridden_axes(kind, &found, host)?;
    let count = point_count(mode, &found)?;
    if count > limit {
        return Err(Error::config(
            "scan",
            format!(
                "{count} points ({}) exceed the limit of {limit}: set {} to allow more",
                found
                    .iter()
                    .map(|a| format!("{} × {}", path_text(&a.path), a.values.len()))
                    .collect::<Vec<_>>()
                    .join(", "),
                match &host.max_points_option {
                    Some(option) => format!("{option} (or the config's max_points)"),
                    None => "max_points".to_string(),
                }
            ),
        ));
    }
    let labels = labels(&found.iter().map(|a| a.path.clone()).collect::<Vec<_>>());
    let axes: Vec<Axis> = found
        .iter()
        .zip(&labels)
        .map(|(a, label)| Axis {
            path: path_text(&a.path),
            label: label.clone(),
            values: a.values.iter().map(plain).collect(),
        })
        .collect();
    let mut template = root.clone();
    if let Some(object) = template.as_object_mut() {
        for key in SCAN_KEYS {
            object.shift_remove(key);
        }
    }
    let combinations = combinations(mode, &found, count);
    check_distinct(&found, &combinations)?;
    let width = count.saturating_sub(1).to_string().len();
    let mut points: Vec<ScanPoint> = Vec::with_capacity(count);
    for (index, indices) in combinations.into_iter().enumerate() {
        let values: Vec<Value> = found.iter().zip(&indices).map(|(a, &i)| a.values[i].clone()).collect();
        let mut config = template.clone();
        for (axis, value) in found.iter().zip(&values) {
            set(&mut config, &axis.path, value.clone());
        }
        let name = point_name(index, width, &labels, &indices, &values);
        let model_text = format!("{}\n", to_text(&config, true));
        validate_point(kind, &model_text).map_err(|e| point_error(e, &name, &axes, &values))?;
        let changes = match points.first() {
            None => Changes::Some { changed: Vec::new() },
            Some(base) => changes_between(&base.model_text, &model_text)?,
        };
        let config_sha256 = crate::output::sidecar::config_sha256(&model_text);
        let values = values.iter().map(plain).collect();
        points.push(ScanPoint { name, index, value_indices: indices, values, model_text, config_sha256, changes });
    }
    let same_as_base: Vec<&str> =
        points.iter().skip(1).filter(|p| p.changes.is_empty()).map(|p| p.name.as_str()).collect();
    let mut notes = Vec::new();
    if !same_as_base.is_empty() {
        notes.push(format!(
            "{} point(s) draw exactly what point {} draws: their axis values change nothing synparam uses (first: {})",
            same_as_base.len(),
            points[0].name,
            same_as_base[0]
        ));
    }
    Ok(ScanPlan { mode, kind, axes, points, notes })
}

impl ScanPlan {
    /// How many points.
    pub fn count(&self) -> usize {
        self.points.len()
    }

    /// The `scan.json` document hosts write as `DIR/scan.json`: `{tool, scan_format, version, mode,
    /// kind, count, base, axes: [{path, label, values}], points: [{name, index, values: {path:
    /// value}, value_indices, config_sha256, changes}], notes}` — `changes` relative to `base`
    /// (point 0's name): `{"kind": "everything", "reasons": […]}` or `{"kind": "some", "changed":
    /// [{property, source, target}]}`.
    pub fn scan_json(&self) -> Value {
        let points: Vec<Value> = self
            .points
            .iter()
            .map(|p| {
                let values: Map<String, Value> =
                    self.axes.iter().zip(&p.values).map(|(a, v)| (a.path.clone(), v.clone())).collect();
                json!({
                    "name": p.name, "index": p.index, "values": values, "value_indices": p.value_indices,
                    "config_sha256": p.config_sha256, "changes": p.changes,
                })
            })
            .collect();
        json!({
            "tool": "synparam",
            "scan_format": SCAN_FORMAT,
            "version": env!("CARGO_PKG_VERSION"),
            "mode": self.mode,
            "kind": self.kind.name(),
            "count": self.points.len(),
            "base": self.points.first().map(|p| p.name.clone()),
            "axes": self.axes,
            "points": points,
            "notes": self.notes,
        })
    }

    /// [`ScanPlan::scan_json`] as text (two-space indents, a final newline): the bytes of `scan.json`.
    pub fn scan_json_text(&self) -> String {
        format!("{}\n", to_text(&self.scan_json(), true))
    }
}

/// A value as `scan.json` shows it: bare non-finite numbers as their tokens in strings.
fn plain(value: &Value) -> Value {
    match value {
        v if is_non_finite_marker(v) => Value::String(to_text(v, false)),
        Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
        Value::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

/// The number of points, checked before any is built (a grid's product saturates, never wraps).
fn point_count(mode: ScanMode, axes: &[axes::FoundAxis]) -> Result<usize> {
    match mode {
        ScanMode::Grid => Ok(axes.iter().fold(1usize, |n, a| n.saturating_mul(a.values.len()))),
        ScanMode::Coupled => {
            let Some(first) = axes.first() else { return Ok(1) };
            if let Some(other) = axes.iter().find(|a| a.values.len() != first.values.len()) {
                let lengths: Vec<String> =
                    axes.iter().map(|a| format!("{} has {}", path_text(&a.path), a.values.len())).collect();
                return Err(Error::config(
                    path_text(&other.path),
                    format!("a coupled scan needs lists of equal length: {}", lengths.join(", ")),
                ));
            }
            Ok(first.values.len())
        }
    }
}

/// Per point, the index of each axis's value.
fn combinations(mode: ScanMode, axes: &[axes::FoundAxis], count: usize) -> Vec<Vec<usize>> {
    (0..count)
        .map(|point| match mode {
            ScanMode::Coupled => vec![point; axes.len()],
            ScanMode::Grid => {
                let mut rest = point;
                let mut indices = vec![0; axes.len()];
                for (slot, axis) in indices.iter_mut().zip(axes).rev() {
                    *slot = rest % axis.values.len();
                    rest /= axis.values.len();
                }
                indices
            }
        })
        .collect()
}

/// Two points with the same values (a value listed twice on a grid axis, a repeated coupled tuple)
/// would be the same run twice: refused, naming them.
fn check_distinct(axes: &[axes::FoundAxis], combinations: &[Vec<usize>]) -> Result<()> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (point, indices) in combinations.iter().enumerate() {
        let key = to_text(&Value::Array(axes.iter().zip(indices).map(|(a, &i)| a.values[i].clone()).collect()), false);
        if let Some(first) = seen.insert(key.clone(), point) {
            return Err(Error::config(
                "scan",
                format!("points {first} and {point} have the same values ({key}): a value is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Per axis, the shortest tail of its path that no other axis's path has as its tail of that length.
fn labels(paths: &[Vec<Seg>]) -> Vec<String> {
    let tail = |path: &[Seg], k: usize| path[path.len() - k.min(path.len())..].to_vec();
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let k = (1..=path.len())
                .find(|&k| paths.iter().enumerate().all(|(j, other)| j == i || tail(other, k) != tail(path, k)))
                .unwrap_or(path.len());
            path_text(&tail(path, k))
        })
        .collect()
}

/// `0003_mean=0.5_random_seed=2`: the index, then `label=value` per axis (a non-scalar value as
/// `v<its index>`), characters outside `[A-Za-z0-9._+=-]` as `_`, cut at 120 characters.
fn point_name(index: usize, width: usize, labels: &[String], indices: &[usize], values: &[Value]) -> String {
    let mut name = format!("{index:0width$}");
    for ((label, &i), value) in labels.iter().zip(indices).zip(values) {
        let text = match value {
            v if is_non_finite_marker(v) => to_text(v, false),
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) | Value::Null => value.to_string(),
            Value::Array(_) | Value::Object(_) => format!("v{i}"),
        };
        name.push_str(&format!("_{label}={text}"));
    }
    let mut safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._+=-".contains(c) { c } else { '_' })
        .take(120)
        .collect();
    if safe.ends_with('.') {
        safe.pop();
        safe.push('_');
    }
    safe
}

/// A point's config through the parser of its kind; rules' specs each through the spec parser
/// (rules are otherwise checked only when compiled for a circuit).
fn validate_point(kind: ConfigKind, text: &str) -> Result<()> {
    match kind {
        ConfigKind::Model | ConfigKind::Task => crate::config::parse_task(text).map(|_| ()),
        ConfigKind::Rules | ConfigKind::ObiOne => {
            let rules = crate::rules::parse_rules(text)?;
            let specs = rules
                .classes
                .iter()
                .flat_map(|c| c.specs.iter().map(move |s| (format!("class '{}'", c.name), s)))
                .chain(rules.rules.iter().flat_map(|r| r.assign.iter().map(move |s| (r.label.clone(), s))));
            for (owner, (property, spec)) in specs {
                crate::config::parse_pathway_spec(&to_text(spec, false)).map_err(|e| match e {
                    Error::Config { path, message } => {
                        let inner = if path == "$" { String::new() } else { format!(".{path}") };
                        Error::config(format!("{owner}.{property}{inner}"), message)
                    }
                    other => other,
                })?;
            }
            Ok(())
        }
    }
}

/// An invalid point's error: its JSON path, then the message with the point's name and axis values.
fn point_error(error: Error, name: &str, axes: &[Axis], values: &[Value]) -> Error {
    let described: Vec<String> = axes.iter().zip(values).map(|(a, v)| format!("{} = {}", a.path, shown(v))).collect();
    let point = format!("scan point {name}: {}", described.join(", "));
    match error {
        Error::Config { path, message } => Error::config(path, format!("{message} (in {point})")),
        other => Error::config("$", format!("{other} (in {point})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_non_finite_numbers_survive_a_round_trip_and_strings_stay_strings() {
        let value = parse(r#"{"a": -Infinity, "b": [NaN, Infinity], "c": "NaN", "d": "x, -Infinity"}"#, "t").unwrap();
        assert_eq!(to_text(&value, false), r#"{"a":-Infinity,"b":[NaN,Infinity],"c":"NaN","d":"x, -Infinity"}"#);
        assert!(parse("{NaN: 1}", "t").unwrap_err().to_string().starts_with("$: t: not valid JSON"));
    }

    #[test]
    fn names_are_safe_unique_and_labels_the_shortest_distinct_tails() {
        let key = |k: &str| Seg::Key(k.to_string());
        let paths = vec![
            vec![key("prop_stats"), key("conductance"), key("EXC"), key("INH"), key("mean")],
            vec![key("prop_stats"), key("u_syn"), key("EXC"), key("INH"), key("mean")],
            vec![key("random_seed")],
            vec![key("rules"), Seg::Index(2), key("source"), key("mtype")],
        ];
        assert_eq!(labels(&paths), ["conductance.EXC.INH.mean", "u_syn.EXC.INH.mean", "random_seed", "mtype"]);
        let values = [json!(0.5), json!("L2/3 PC: a*"), json!({"type": "zero"}), json!(["x"])];
        let name =
            point_name(7, 3, &["mean".into(), "mtype".into(), "spec".into(), "v".into()], &[0, 1, 4, 0], &values);
        assert_eq!(name, "007_mean=0.5_mtype=L2_3_PC__a__spec=v4_v=v0");
        assert_eq!(point_name(0, 1, &["s".into()], &[0], &[json!("end.")]), "0_s=end_");
        assert_eq!(point_name(0, 1, &["s".into()], &[0], &[json!("x".repeat(300))]).len(), 120);
    }
}
