//! Scan points that only scale a property as SONATA `connection_overrides` (design §5.5): a point
//! whose every changed (property, pathway) cell is point 0's spec with every scale parameter of its
//! law multiplied by one factor k > 0 draws, by the keyed streams, k times point 0's values (up to
//! rounding) — so a simulator can apply k to point 0's edges instead of reading new edges files.
//!
//! What the simulator does is neurodamus's (read from its sources, not guessed):
//! - `weight`: `nc.weight[0] = syn_params.weight * weight_factor` with `weight_factor` the entry's
//!   `weight` and `syn_params.weight` the edge's `conductance` (`connection.py`,
//!   `connection_manager.py::configure_group`, `synapse_reader.py`'s `parameter_mapping`): each
//!   matching connection's synaptic conductance times k, at instantiation. libsonata's default
//!   `weight` is 1, and each entry sets (not multiplies) it, so one entry per pathway cell says all.
//! - `synapse_configure`: hoc run on each synapse of the matching connections after it is created
//!   (`%s` is the synapse; `ConnectionUtils.hoc`). The default helpers (`AMPANMDAHelper.hoc`,
//!   `GABAABHelper.hoc`) set `Use = abs(u_syn)`, `Dep = abs(depression_time)`,
//!   `Fac = abs(facilitation_time)` on both synapse models, so `%s.Use *= k` (obi-one's
//!   `ScaleAcetylcholineUSESynapticManipulation` writes exactly this), `%s.Dep *= k`, `%s.Fac *= k`
//!   scale those. `decay_time` is `tau_d_AMPA` or `tau_d_GABAA` by the synapse's model (chosen per
//!   synapse by `syn_type_id`, not by pathway), so no one expression scales it; no other property
//!   has a confirmed mapping. Such points are written as edges, with the reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::axes::kind_of;
use super::json::{is_non_finite_marker, parse, same, to_text};
use super::{Changes, ConfigKind};
use crate::config::{parse_task, RunOverrides};
use crate::error::{Error, Result};

/// Relative tolerance of "exactly k times": |new − k·old| ≤ 1e-9 · max(|new|, |k·old|) per
/// parameter (decimal JSON numbers such as 0.3 × 3 = 0.9 are not exact in binary).
pub const SCALING_TOLERANCE: f64 = 1e-9;

/// The file a point written as overrides holds beside its circuit config: a simulation-config
/// fragment (`network`, `node_sets_file`, `connection_overrides`).
pub const OVERRIDES_FILE: &str = "simulation_overrides.json";

/// The node sets file the fragment names: the circuit's node sets and the pathway node sets.
pub const OVERRIDE_NODE_SETS_FILE: &str = "simulation_node_sets.json";

/// How the simulator scales a property: the entry's `weight`, or a `synapse_configure` hoc
/// variable of the synapse (see the module's notes for the sources).
fn simulator_scaling(property: &str) -> std::result::Result<Option<&'static str>, String> {
    match property {
        "conductance" => Ok(None),
        "u_syn" => Ok(Some("Use")),
        "depression_time" => Ok(Some("Dep")),
        "facilitation_time" => Ok(Some("Fac")),
        "decay_time" => Err("neurodamus sets decay_time as tau_d_AMPA or tau_d_GABAA by each synapse's model \
             (chosen by syn_type_id, not by pathway): no one synapse_configure expression scales it"
            .into()),
        other => Err(format!(
            "{other} has no confirmed simulator mapping (weight scales conductance; \
             synapse_configure scales u_syn, depression_time, facilitation_time)"
        )),
    }
}

/// The parameters a law's values scale with (×k each), by spec type; lognormal is apart (its
/// `mean` is the log's: ln k added).
fn scale_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "constant" => &["mean"],
        "normal" | "gamma" | "fz_truncnorm" => &["mean", "std"],
        "truncnorm" => &["norm_loc", "norm_scale", "min", "max"],
        "exponential" => &["scale"],
        "uniform" => &["low", "high"],
        "lognormal" => &[],
        _ => return None,
    })
}

/// Common spec keys that scale with the values: clipping bounds and the shift (`truncate` is apart).
const SCALED_COMMON_KEYS: [&str; 3] = ["lower_bound", "upper_bound", "shift"];

/// A number of a spec: `None` for a bare non-finite token (kept as a marker by the scan parser).
enum Number {
    Finite(f64),
    NonFinite(Value),
}

fn number(value: &Value, key: &str) -> std::result::Result<Number, String> {
    if is_non_finite_marker(value) {
        return Ok(Number::NonFinite(value.clone()));
    }
    value.as_f64().map(Number::Finite).ok_or_else(|| format!("{key} is not a number"))
}

/// Whether `new` is `k` times `old` (within [`SCALING_TOLERANCE`]; infinities stay themselves).
fn scaled(old: &Value, new: &Value, k: f64, key: &str) -> std::result::Result<(), String> {
    match (number(old, key)?, number(new, key)?) {
        (Number::Finite(a), Number::Finite(b)) => {
            let expected = k * a;
            if (b - expected).abs() <= SCALING_TOLERANCE * b.abs().max(expected.abs()) {
                Ok(())
            } else {
                Err(format!("{key} {b} is not {k} × {a}"))
            }
        }
        (Number::NonFinite(a), Number::NonFinite(b)) if a == b => Ok(()),
        _ => Err(format!("{key} changes between a finite and an infinite value")),
    }
}

/// The factor k > 0 such that `other` is `base` with every scale parameter of its law ×k (and its
/// bounds, shift and truncation window), every other key equal; else why not, in words.
pub fn scaling_factor(base: &Value, other: &Value) -> std::result::Result<f64, String> {
    let (Some(a), Some(b)) = (base.as_object(), other.as_object()) else {
        return Err("a spec is not one law (a list of specs or a missing spec)".into());
    };
    let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
    if b.get("type").and_then(Value::as_str) != Some(kind) {
        return Err("the law's type changes".into());
    }
    let Some(keys) = scale_keys(kind) else {
        return Err(format!("a {kind} law is not a scale family: k times its values is not a {kind} law of the spec"));
    };
    if let Some(dtype) = b.get("dtype").and_then(Value::as_str).filter(|d| !d.starts_with("float")) {
        return Err(format!("dtype {dtype}: the values are rounded, so k times them is not what a draw gives"));
    }
    // The factor: from the log-mean (lognormal), else the first non-zero finite scale parameter.
    let k = if kind == "lognormal" {
        match (
            number(a.get("mean").unwrap_or(&Value::Null), "mean")?,
            number(b.get("mean").unwrap_or(&Value::Null), "mean")?,
        ) {
            (Number::Finite(x), Number::Finite(y)) => (y - x).exp(),
            _ => return Err("mean is not a finite number".into()),
        }
    } else {
        let ratio = keys.iter().find_map(|key| {
            match (a.get(*key).map(|v| number(v, key)), b.get(*key).map(|v| number(v, key))) {
                (Some(Ok(Number::Finite(x))), Some(Ok(Number::Finite(y)))) if x != 0.0 => Some(y / x),
                _ => None,
            }
        });
        ratio.ok_or_else(|| "point 0's spec has no non-zero scale parameter to take a factor from".to_string())?
    };
    if !(k > 0.0 && k.is_finite()) {
        return Err(format!("the factor {k} is not a positive number"));
    }
    let mut checked: Vec<&str> = keys.to_vec();
    if kind == "lognormal" {
        checked.clear();
        if !same(&a.get("sigma").cloned().unwrap_or(Value::Null), &b.get("sigma").cloned().unwrap_or(Value::Null)) {
            return Err("lognormal sigma changes (k times a lognormal keeps sigma)".into());
        }
    }
    for key in checked.iter().copied().chain(SCALED_COMMON_KEYS) {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => scaled(x, y, k, key)?,
            (None, None) => {}
            _ => return Err(format!("{key} is given in one spec only")),
        }
    }
    let window = |spec: &Map<String, Value>| spec.get("truncate").cloned().unwrap_or(Value::Null);
    match (window(a), window(b)) {
        (Value::Null, Value::Null) => {}
        (Value::Object(x), Value::Object(y)) => {
            for key in ["min", "max"] {
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => scaled(p, q, k, &format!("truncate.{key}"))?,
                    (None, None) => {}
                    _ => return Err(format!("truncate.{key} is given in one spec only")),
                }
            }
        }
        _ => return Err("truncate is given in one spec only".into()),
    }
    let exempt =
        |key: &str| key == "truncate" || key == "sigma" && kind == "lognormal" || key == "mean" && kind == "lognormal";
    for key in a.keys().chain(b.keys()) {
        if checked.contains(&key.as_str()) || SCALED_COMMON_KEYS.contains(&key.as_str()) || exempt(key) {
            continue;
        }
        if !same(a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null)) {
            return Err(format!("{key} changes (only the law's scale may)"));
        }
    }
    Ok(k)
}

/// One scan point as the decision needs it (the fields of the plan's `ScanPoint`).
#[derive(Debug, Clone, Deserialize)]
pub struct OverridePoint {
    /// Its folder name.
    pub name: String,
    /// Its config.
    pub model_text: String,
    /// What it changes relative to point 0.
    pub changes: Changes,
}

/// One pathway cell a point scales: the property, the pathway and the factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellScaling {
    /// The property (an edge dataset).
    pub property: String,
    /// The source pathway value.
    pub source: String,
    /// The target pathway value.
    pub target: String,
    /// The factor k > 0 of point 0's spec.
    pub factor: f64,
}

/// How a scan point is written: its own edges files (with why not as overrides; point 0: `None`),
/// or point 0's edges with `connection_overrides` entries and the node sets they name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "lowercase")]
pub enum PointOutput {
    /// Drawn and written as edges files, as a scan point is without the option.
    Edges {
        /// Why it is not a pure scaling (`None`: point 0, whose edges the others scale).
        reason: Option<String>,
    },
    /// Point 0's edges and a simulation-config fragment scaling them.
    Overrides {
        /// The cells it scales, sorted (property, source, target).
        scalings: Vec<CellScaling>,
        /// The `connection_overrides` entries, one per pathway (source, target) cell.
        entries: Vec<Value>,
        /// The node sets the entries name (one per pathway value: `{property: value}`).
        node_sets: Map<String, Value>,
    },
}

/// The node set selecting the nodes of one pathway value.
fn node_set_name(property: &str, value: &str) -> String {
    format!("synparam:{property}={value}")
}

/// The spec of a cell in a matrix config (model or task form), as the scan parser reads it.
fn cell_spec<'a>(root: &'a Value, property: &str, source: &str, target: &str) -> Option<&'a Value> {
    root.get("pathway_param_dict").unwrap_or(root).get("prop_stats")?.get(property)?.get(source)?.get(target)
}

/// A number as hoc reads it (Rust's shortest round-trip decimal, never an exponent).
fn hoc_number(k: f64) -> String {
    format!("{k}")
}

/// Per point of a scan (point 0 first), whether it is written as `connection_overrides` over point
/// 0's edges (every changed cell an exact scaling of point 0's spec, of a property with a confirmed
/// simulator mapping) or as edges files, with the reason in words. `overrides` are the run's
/// settings as the host gives them to every point. Errors: point 0's config does not parse.
pub fn scalings_as_overrides(points: &[OverridePoint], overrides: &RunOverrides) -> Result<Vec<PointOutput>> {
    let Some(first) = points.first() else { return Ok(Vec::new()) };
    let base = parse(&first.model_text, "point 0's config")?;
    let (refusal, property): (Option<String>, String) = match kind_of(&base)? {
        ConfigKind::Rules | ConfigKind::ObiOne => (
            Some("a rules config: its pathways are classes of nodes compiled per circuit, which no node set of this scan names".into()),
            String::new(),
        ),
        ConfigKind::Model | ConfigKind::Task => {
            let settings = parse_task(&first.model_text)?.settings(overrides);
            let refusal = if settings.fallback.value.is_some() {
                Some("a fallback pathway value is set: nodes given it by the fallback have no attribute a node set selects".into())
            } else {
                settings.populations.value.as_ref().map(|populations| {
                    format!(
                        "the run draws only the edge populations {}: connection_overrides would scale every population between the node sets",
                        populations.join(", ")
                    )
                })
            };
            (refusal, settings.pathway_property.value)
        }
    };
    let mut outputs = vec![PointOutput::Edges { reason: None }];
    for point in &points[1..] {
        let output = match &refusal {
            Some(reason) => PointOutput::Edges { reason: Some(reason.clone()) },
            None => point_output(&base, point, &property)?,
        };
        outputs.push(output);
    }
    Ok(outputs)
}

/// One later point's output (see [`scalings_as_overrides`]).
fn point_output(base: &Value, point: &OverridePoint, pathway_property: &str) -> Result<PointOutput> {
    let edges = |reason: String| Ok(PointOutput::Edges { reason: Some(reason) });
    let changed = match &point.changes {
        Changes::Everything { reasons } => return edges(format!("it changes every value ({})", reasons.join("; "))),
        Changes::Some { changed } if changed.is_empty() => return edges("it changes no value".into()),
        Changes::Some { changed } => changed,
    };
    let other = parse(&point.model_text, &format!("scan point {}", point.name))?;
    let correlation =
        |root: &Value| root.get("pathway_param_dict").unwrap_or(root).get("prop_cov").cloned().unwrap_or(Value::Null);
    if !same(&correlation(base), &correlation(&other)) {
        return edges("its correlation of properties (prop_cov) changes".into());
    }
    let mut scalings = Vec::new();
    for cell in changed {
        let (Some(source), Some(target)) = (&cell.source, &cell.target) else {
            return edges(format!("{} changes on every pathway", cell.property));
        };
        let at = format!("{} {source}→{target}", cell.property);
        if let Err(why) = simulator_scaling(&cell.property) {
            return edges(format!("{at}: {why}"));
        }
        let (Some(a), Some(b)) =
            (cell_spec(base, &cell.property, source, target), cell_spec(&other, &cell.property, source, target))
        else {
            return edges(format!("{at}: the spec is new or removed (its correlation or pathways changed)"));
        };
        match scaling_factor(a, b) {
            Ok(factor) => scalings.push(CellScaling {
                property: cell.property.clone(),
                source: source.clone(),
                target: target.clone(),
                factor,
            }),
            Err(why) => return edges(format!("{at}: not a scaling of point 0's spec: {why}")),
        }
    }
    let mut cells: BTreeMap<(&str, &str), Vec<&CellScaling>> = BTreeMap::new();
    for s in &scalings {
        cells.entry((s.source.as_str(), s.target.as_str())).or_default().push(s);
    }
    let mut node_sets = Map::new();
    let mut entries = Vec::new();
    for ((source, target), list) in cells {
        for value in [source, target] {
            node_sets.insert(node_set_name(pathway_property, value), json!({ pathway_property: value }));
        }
        // `weight` only where conductance is scaled: an entry's weight replaces the one an earlier
        // entry (the user's) set on the same connections.
        let weight = list.iter().find(|s| s.property == "conductance").map(|s| s.factor);
        let configure: Vec<String> = list
            .iter()
            .filter_map(|s| {
                simulator_scaling(&s.property).ok().flatten().map(|var| format!("%s.{var} *= {}", hoc_number(s.factor)))
            })
            .collect();
        let mut entry = json!({
            "name": format!("synparam:{source}->{target}"),
            "source": node_set_name(pathway_property, source),
            "target": node_set_name(pathway_property, target),
        });
        if let Some(weight) = weight {
            entry["weight"] = json!(weight);
        }
        if !configure.is_empty() {
            entry["synapse_configure"] = Value::String(configure.join(" "));
        }
        entries.push(entry);
    }
    Ok(PointOutput::Overrides { scalings, entries, node_sets })
}

/// Why a scan's override points cannot select their pathways on this circuit, if they cannot:
/// their node sets select nodes by the text of `pathway_property` (`{"mtype": "L5_TPC"}`), so a
/// node population storing it as numbers (`kinds[i]`: `categorical`, `integer` or `float`, as the
/// host's loader reads each node population having the property) would match nothing and the
/// simulator would scale nothing. Returns the index of the first such population and the message;
/// `option` is how the host names scalings as overrides.
pub fn override_node_sets_problem(pathway_property: &str, option: &str, kinds: &[String]) -> Option<(usize, String)> {
    let index = kinds.iter().position(|kind| kind != "categorical")?;
    Some((
        index,
        format!(
            "{option}: the overrides' node sets select nodes by the text of their '{pathway_property}', and this \
             population stores it as {} numbers; run the scan without {option}",
            kinds[index]
        ),
    ))
}

/// `scan.json` with each point's output recorded under `written_as` (`{"as": "edges", "reason"}`
/// or `{"as": "overrides", "scalings", "edges_of": point 0's name, "fragment"}`).
pub fn scan_json_with_outputs(scan_json_text: &str, outputs: &[PointOutput]) -> Result<String> {
    let mut scan = parse(scan_json_text, "scan.json")?;
    let base = scan.get("base").cloned().unwrap_or(Value::Null);
    let points = scan
        .get_mut("points")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::config("points", "scan.json has no points"))?;
    if points.len() != outputs.len() {
        return Err(Error::config("points", format!("{} points but {} outputs", points.len(), outputs.len())));
    }
    for (point, output) in points.iter_mut().zip(outputs) {
        point["written_as"] = match output {
            PointOutput::Edges { reason } => json!({"as": "edges", "reason": reason}),
            PointOutput::Overrides { scalings, .. } => {
                json!({"as": "overrides", "scalings": scalings, "edges_of": base, "fragment": OVERRIDES_FILE})
            }
        };
    }
    Ok(format!("{}\n", to_text(&scan, true)))
}

/// The node sets file a point's circuit config names (`node_sets_file`), as written (relative to
/// its folder), if any.
pub fn node_sets_file_of(config_text: &str) -> Result<Option<String>> {
    let config = parse(config_text, "point 0's circuit config")?;
    Ok(config.get("node_sets_file").and_then(Value::as_str).map(str::to_string))
}

/// The files of a point written as overrides (name, text), in its folder beside point 0's
/// (`base_name`): its circuit config (`config_name`: point 0's `base_config_text` with every `./`
/// path pointing into point 0's folder), the fragment [`OVERRIDES_FILE`] and [`OVERRIDE_NODE_SETS_FILE`]
/// (the circuit's node sets, `circuit_node_sets_text`, with the pathway node sets added). Errors: a
/// pathway node set whose name the circuit already defines otherwise; not an overrides output.
pub fn override_point_files(
    point_name: &str,
    base_name: &str,
    config_name: &str,
    base_config_text: &str,
    circuit_node_sets_text: Option<&str>,
    output: &PointOutput,
) -> Result<Vec<(String, String)>> {
    let PointOutput::Overrides { entries, node_sets, scalings } = output else {
        return Err(Error::config(point_name, "this scan point is written as edges, not as overrides"));
    };
    let mut config = parse(base_config_text, "point 0's circuit config")?;
    repoint(&mut config, &format!("../{base_name}/"));
    let mut sets = match circuit_node_sets_text {
        Some(text) => parse(text, "the circuit's node sets file")?,
        None => Value::Object(Map::new()),
    };
    let object =
        sets.as_object_mut().ok_or_else(|| Error::config("$", "the circuit's node sets file is not a JSON object"))?;
    for (name, set) in node_sets {
        match object.get(name) {
            Some(existing) if !same(existing, set) => {
                return Err(Error::config(
                    name.clone(),
                    format!("the circuit's node sets file defines this node set as {existing}, not {set}"),
                ))
            }
            _ => {
                object.insert(name.clone(), set.clone());
            }
        }
    }
    // The weights as float64 numbers, however the host's round trip wrote them (`2` or `2.0`).
    let entries: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut entry = entry.clone();
            if let Some(weight) = entry.get("weight").and_then(Value::as_f64) {
                entry["weight"] = json!(weight);
            }
            entry
        })
        .collect();
    let shown: Vec<String> =
        scalings.iter().map(|s| format!("{} {}→{} ×{}", s.property, s.source, s.target, s.factor)).collect();
    let fragment = json!({
        "network": config_name,
        "node_sets_file": OVERRIDE_NODE_SETS_FILE,
        "connection_overrides": entries,
        "metadata": {
            "synparam_note": format!(
                "scan point {point_name}: the edges are point {base_name}'s; these connection_overrides scale {} \
                 (merge them after your simulation config's own connection_overrides)",
                shown.join(", ")
            ),
        },
    });
    Ok(vec![
        (config_name.to_string(), format!("{}\n", to_text(&config, true))),
        (OVERRIDES_FILE.to_string(), format!("{}\n", to_text(&fragment, true))),
        (OVERRIDE_NODE_SETS_FILE.to_string(), format!("{}\n", to_text(&sets, true))),
    ])
}

/// Every string `./…` of a circuit config made `prefix…` (a point's own files, as point 0 wrote them).
fn repoint(value: &mut Value, prefix: &str) {
    match value {
        Value::String(s) if s.starts_with("./") => *s = format!("{prefix}{}", &s[2..]),
        Value::Array(items) => items.iter_mut().for_each(|v| repoint(v, prefix)),
        Value::Object(map) => map.values_mut().for_each(|v| repoint(v, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(a: Value, b: Value) -> std::result::Result<f64, String> {
        scaling_factor(&a, &b)
    }

    #[test]
    fn each_scale_family_is_a_scaling_when_every_scale_parameter_is_multiplied() {
        let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
        let minus_infinity = "\u{1}synparam-scan-non-finite:-Infinity";
        let cases = [
            (json!({"type": "normal", "mean": 1.0, "std": 0.3}), json!({"type": "normal", "mean": 2, "std": 0.6}), 2.0),
            (json!({"type": "gamma", "mean": 0.3, "std": 0.1}), json!({"type": "gamma", "mean": 0.9, "std": 0.3}), 3.0),
            (
                json!({"type": "truncnorm", "norm_loc": 0.5, "norm_scale": 0.2, "min": minus_infinity, "max": 1.0}),
                json!({"type": "truncnorm", "norm_loc": 0.25, "norm_scale": 0.1, "min": minus_infinity, "max": 0.5}),
                0.5,
            ),
            (json!({"type": "constant", "mean": 2.0}), json!({"type": "constant", "mean": 5.0}), 2.5),
            (json!({"type": "exponential", "scale": 2.0}), json!({"type": "exponential", "scale": 1.0}), 0.5),
            (
                json!({"type": "uniform", "low": 0.0, "high": 1.0}),
                json!({"type": "uniform", "low": 0.0, "high": 4.0}),
                4.0,
            ),
            (
                json!({"type": "fz_truncnorm", "mean": 0.5, "std": 0.1}),
                json!({"type": "fz_truncnorm", "mean": 1.5, "std": 0.3}),
                3.0,
            ),
            (
                json!({"type": "lognormal", "mean": 0.1, "sigma": 0.5}),
                json!({"type": "lognormal", "mean": 0.1 + 2f64.ln(), "sigma": 0.5}),
                2.0,
            ),
        ];
        for (a, b, k) in cases {
            let label = format!("{a} → {b}");
            assert!(close(factor(a, b).unwrap(), k), "{label}");
        }
        // Bounds, shift and the truncation window scale too; other common keys stay.
        let a = json!({"type": "normal", "mean": 1.0, "std": 0.5, "lower_bound": 0.0, "upper_bound": 3.0, "shift": 0.1, "truncate": {"min": 0.2}, "shared_within": false});
        let b = json!({"type": "normal", "mean": 2.0, "std": 1.0, "lower_bound": 0.0, "upper_bound": 6.0, "shift": 0.2, "truncate": {"min": 0.4}, "shared_within": false});
        assert!(close(factor(a, b).unwrap(), 2.0));
        // Within the stated relative tolerance: 0.3 × 3 is not 0.9 in binary.
        assert!(close(
            factor(
                json!({"type": "normal", "mean": 0.3, "std": 0.1}),
                json!({"type": "normal", "mean": 0.9, "std": 0.3})
            )
            .unwrap(),
            3.0
        ));
    }

    #[test]
    fn anything_else_is_not_a_scaling_and_says_why() {
        let why = |a: Value, b: Value| factor(a, b).unwrap_err();
        assert!(why(
            json!({"type": "normal", "mean": 1.0, "std": 0.3}),
            json!({"type": "normal", "mean": 1.0, "std": 0.6})
        )
        .contains("std 0.6 is not 1 × 0.3"));
        assert!(why(
            json!({"type": "normal", "mean": 1.0, "std": 0.3}),
            json!({"type": "gamma", "mean": 2.0, "std": 0.6})
        )
        .contains("type changes"));
        assert!(why(json!({"type": "poisson", "mean": 1.0}), json!({"type": "poisson", "mean": 2.0}))
            .contains("not a scale family"));
        assert!(why(
            json!({"type": "discrete", "val": [1, 2], "p": [0.5, 0.5]}),
            json!({"type": "discrete", "val": [2, 4], "p": [0.5, 0.5]})
        )
        .contains("not a scale family"));
        assert!(why(
            json!({"type": "normal", "mean": 1, "std": 1, "dtype": "int"}),
            json!({"type": "normal", "mean": 2, "std": 2, "dtype": "int"})
        )
        .contains("rounded"));
        assert!(why(
            json!({"type": "normal", "mean": 1.0, "std": 0.3, "shared_within": false}),
            json!({"type": "normal", "mean": 2.0, "std": 0.6, "shared_within": true})
        )
        .contains("shared_within changes"));
        assert!(why(
            json!({"type": "normal", "mean": 1.0, "std": 0.3}),
            json!({"type": "normal", "mean": -1.0, "std": 0.3})
        )
        .contains("not a positive"));
        assert!(why(json!({"type": "constant", "mean": 0.0}), json!({"type": "constant", "mean": 1.0}))
            .contains("no non-zero"));
        assert!(why(
            json!({"type": "lognormal", "mean": 0.0, "sigma": 0.5}),
            json!({"type": "lognormal", "mean": 1.0, "sigma": 0.6})
        )
        .contains("sigma"));
        assert!(why(
            json!({"type": "normal", "mean": 1.0, "std": 0.3, "upper_bound": 2.0}),
            json!({"type": "normal", "mean": 2.0, "std": 0.6})
        )
        .contains("upper_bound"));
        assert!(why(
            json!([{"type": "normal", "mean": 1.0, "std": 0.3}]),
            json!({"type": "normal", "mean": 2.0, "std": 0.6})
        )
        .contains("not one law"));
    }

    /// A task config on EXC/INH whose EXC→INH cell has the given conductance and u_syn specs,
    /// every other cell fixed; `extra` a `key=value` setting.
    fn task(mean: f64, std: f64, u_loc: f64, extra: &str) -> String {
        let every = |spec: Value, scanned: Value| json!({"EXC": {"EXC": spec, "INH": scanned}, "INH": {"EXC": spec, "INH": spec}});
        let mut root = json!({"random_seed": 7, "pathway_param_dict": {"src_types": ["EXC", "INH"], "tgt_types": ["EXC", "INH"], "prop_stats": {
            "conductance": every(json!({"type": "gamma", "mean": 1.0, "std": 0.1}), json!({"type": "gamma", "mean": mean, "std": std})),
            "u_syn": every(json!({"type": "normal", "mean": 0.5, "std": 0.1}),
                json!({"type": "truncnorm", "norm_loc": u_loc, "norm_scale": u_loc * 0.4, "min": 0.0, "max": u_loc * 2.0})),
            "decay_time": every(json!({"type": "normal", "mean": 8.0, "std": 1.0}), json!({"type": "normal", "mean": 8.0, "std": 1.0}))}}});
        if !extra.is_empty() {
            let (key, value) = extra.split_once('=').unwrap();
            root[key] = json!(value);
        }
        serde_json::to_string_pretty(&root).unwrap()
    }

    fn points(texts: &[String]) -> Vec<OverridePoint> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| OverridePoint {
                name: format!("{i}_p"),
                model_text: t.clone(),
                changes: super::super::changes_between(&texts[0], t).unwrap(),
            })
            .collect()
    }

    #[test]
    fn a_pure_scaling_point_becomes_one_entry_per_pathway_cell_with_its_node_sets() {
        let texts =
            [task(1.0, 0.5, 0.5, ""), task(2.0, 1.0, 0.5, ""), task(0.5, 0.25, 0.25, ""), task(1.0, 0.5, 0.25, "")];
        let outputs = scalings_as_overrides(&points(&texts), &RunOverrides::default()).unwrap();
        assert_eq!(outputs[0], PointOutput::Edges { reason: None });
        let PointOutput::Overrides { entries, node_sets, scalings } = &outputs[1] else { panic!("{:?}", outputs[1]) };
        assert_eq!(scalings.len(), 1);
        assert_eq!(
            entries,
            &vec![
                json!({"name": "synparam:EXC->INH", "source": "synparam:synapse_class=EXC", "target": "synparam:synapse_class=INH", "weight": 2.0})
            ]
        );
        assert_eq!(node_sets["synparam:synapse_class=EXC"], json!({"synapse_class": "EXC"}));
        assert_eq!(node_sets["synparam:synapse_class=INH"], json!({"synapse_class": "INH"}));
        // conductance ×0.5 and u_syn ×0.5 on one cell: one entry with both.
        let PointOutput::Overrides { entries, .. } = &outputs[2] else { panic!("{:?}", outputs[2]) };
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["weight"], json!(0.5));
        assert_eq!(entries[0]["synapse_configure"], json!("%s.Use *= 0.5"));
        // u_syn alone: no weight (it would replace one the user's own entries set).
        let PointOutput::Overrides { entries, .. } = &outputs[3] else { panic!("{:?}", outputs[3]) };
        assert_eq!(
            entries,
            &vec![
                json!({"name": "synparam:EXC->INH", "source": "synparam:synapse_class=EXC", "target": "synparam:synapse_class=INH", "synapse_configure": "%s.Use *= 0.5"})
            ]
        );
    }

    #[test]
    fn points_that_are_not_pure_scalings_are_written_as_edges_with_the_reason() {
        let base = task(1.0, 0.5, 0.5, "");
        let mut decay: Value = serde_json::from_str(&base).unwrap();
        decay["pathway_param_dict"]["prop_stats"]["decay_time"]["INH"]["EXC"] =
            json!({"type": "normal", "mean": 16.0, "std": 2.0});
        let decay = decay.to_string();
        let texts =
            [base.clone(), task(1.0, 0.7, 0.5, ""), decay, base.replace("\"random_seed\": 7", "\"random_seed\": 8")];
        let outputs = scalings_as_overrides(&points(&texts), &RunOverrides::default()).unwrap();
        let reason = |i: usize| match &outputs[i] {
            PointOutput::Edges { reason } => reason.clone().unwrap(),
            other => panic!("{other:?}"),
        };
        assert!(
            reason(1).contains("conductance EXC→INH: not a scaling of point 0's spec: std 0.7 is not 1 × 0.5"),
            "{}",
            reason(1)
        );
        assert!(
            reason(2).contains("decay_time INH→EXC: neurodamus sets decay_time as tau_d_AMPA or tau_d_GABAA"),
            "{}",
            reason(2)
        );
        assert!(reason(3).contains("it changes every value (random_seed: 7 → 8)"), "{}", reason(3));
        // A fallback or a subset of edge populations: every later point as edges.
        let texts =
            [task(1.0, 0.5, 0.5, "fallback_pathway_value=EXC"), task(2.0, 1.0, 0.5, "fallback_pathway_value=EXC")];
        let outputs = scalings_as_overrides(&points(&texts), &RunOverrides::default()).unwrap();
        assert!(matches!(&outputs[1], PointOutput::Edges { reason: Some(r) } if r.contains("fallback")));
        let texts = [task(1.0, 0.5, 0.5, ""), task(2.0, 1.0, 0.5, "")];
        let only = RunOverrides { populations: Some(vec!["S1".into()]), ..Default::default() };
        let outputs = scalings_as_overrides(&points(&texts), &only).unwrap();
        assert!(
            matches!(&outputs[1], PointOutput::Edges { reason: Some(r) } if r.contains("only the edge populations S1"))
        );
        // A scaled spec whose correlation changes too.
        let mut cov: Value = serde_json::from_str(&task(2.0, 1.0, 0.5, "")).unwrap();
        cov["pathway_param_dict"]["prop_cov"] =
            json!({"props": ["conductance", "u_syn"], "cov": {"EXC": {"INH": [[1.0, 0.5], [0.5, 1.0]]}}});
        let texts = [task(1.0, 0.5, 0.5, ""), cov.to_string()];
        let outputs = scalings_as_overrides(&points(&texts), &RunOverrides::default()).unwrap();
        assert!(
            matches!(&outputs[1], PointOutput::Edges { reason: Some(r) } if r.contains("prop_cov")),
            "{:?}",
            outputs[1]
        );
    }

    #[test]
    fn node_sets_of_a_property_stored_as_numbers_are_refused() {
        let kinds = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(override_node_sets_problem("mtype", "--x", &kinds(&["categorical", "categorical"])), None);
        let (index, message) = override_node_sets_problem("layer", "--x", &kinds(&["categorical", "integer"])).unwrap();
        assert_eq!(index, 1);
        assert_eq!(
            message,
            "--x: the overrides' node sets select nodes by the text of their 'layer', and this population stores it as integer numbers; run the scan without --x"
        );
    }

    #[test]
    fn a_rules_scan_is_written_as_edges_saying_why() {
        let plan = super::super::plan_scan(include_str!("../../tests/fixtures/scan/rules_scan.json"), None).unwrap();
        let points: Vec<OverridePoint> = plan
            .points
            .iter()
            .map(|p| OverridePoint {
                name: p.name.clone(),
                model_text: p.model_text.clone(),
                changes: p.changes.clone(),
            })
            .collect();
        let outputs = scalings_as_overrides(&points, &RunOverrides::default()).unwrap();
        assert_eq!(outputs.len(), 4);
        for output in &outputs[1..] {
            assert!(
                matches!(output, PointOutput::Edges { reason: Some(r) } if r.starts_with("a rules config")),
                "{output:?}"
            );
        }
    }

    #[test]
    fn the_files_repoint_the_config_merge_the_node_sets_and_record_the_outputs() {
        let texts = [task(1.0, 0.5, 0.5, ""), task(2.0, 1.0, 0.5, "")];
        let outputs = scalings_as_overrides(&points(&texts), &RunOverrides::default()).unwrap();
        let config = r#"{"node_sets_file": "../shared/node_sets.json", "networks": {"edges": [{"edges_file": "./networks/e.h5"}]}}"#;
        assert_eq!(node_sets_file_of(config).unwrap().as_deref(), Some("../shared/node_sets.json"));
        let files = override_point_files(
            "1_p",
            "0_p",
            "circuit_config.json",
            config,
            Some(r#"{"All": {"population": "S1"}}"#),
            &outputs[1],
        )
        .unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["circuit_config.json", OVERRIDES_FILE, OVERRIDE_NODE_SETS_FILE]);
        let written: Value = serde_json::from_str(&files[0].1).unwrap();
        assert_eq!(written["networks"]["edges"][0]["edges_file"], json!("../0_p/networks/e.h5"));
        assert_eq!(written["node_sets_file"], json!("../shared/node_sets.json"));
        let fragment: Value = serde_json::from_str(&files[1].1).unwrap();
        assert_eq!(fragment["node_sets_file"], json!(OVERRIDE_NODE_SETS_FILE));
        assert_eq!(fragment["connection_overrides"][0]["weight"], json!(2.0));
        let sets: Value = serde_json::from_str(&files[2].1).unwrap();
        assert_eq!(sets["All"], json!({"population": "S1"}));
        assert_eq!(sets["synparam:synapse_class=INH"], json!({"synapse_class": "INH"}));
        // A node set of that name defined otherwise by the circuit: refused, naming it.
        let clash = override_point_files(
            "1_p",
            "0_p",
            "circuit_config.json",
            config,
            Some(r#"{"synparam:synapse_class=EXC": {"x": 1}}"#),
            &outputs[1],
        );
        assert!(clash.unwrap_err().to_string().contains("synparam:synapse_class=EXC"));
        assert!(override_point_files("0_p", "0_p", "c.json", config, None, &outputs[0]).is_err());
        let scan = scan_json_with_outputs(r#"{"base": "0_p", "points": [{"name": "0_p"}, {"name": "1_p"}]}"#, &outputs)
            .unwrap();
        let scan: Value = serde_json::from_str(&scan).unwrap();
        assert_eq!(scan["points"][0]["written_as"], json!({"as": "edges", "reason": null}));
        assert_eq!(scan["points"][1]["written_as"]["as"], json!("overrides"));
        assert_eq!(scan["points"][1]["written_as"]["edges_of"], json!("0_p"));
    }
}
