//! One spec (design §2.2): its distribution and parameters, bounds, dtype, sharing, `shift` and
//! `truncate` — the parser's table of laws is the one the page's editor builds its form from.

use serde_json::{Map, Value};

use super::json::*;
use super::types::*;
use crate::attributes::{check_attribute_name, AttributeLaw, ScaleBy, ScaleFunction};
use crate::distributions::{Distribution, TruncatedNormal};
use crate::error::{Num, Result};

/// Relative tolerance for `p` summing to 1 (design §2.2).
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-8;

/// Keys that fitted ConnPropsModel files carry as descriptive statistics; accepted and ignored
/// (with a notice) where the distribution does not use them.
const DESCRIPTIVE_KEYS: [&str; 5] = ["mean", "std", "std-within", "min", "max"];

/// Keys every spec may carry besides its distribution's own.
const COMMON_KEYS: [&str; 8] =
    ["type", "shared_within", "lower_bound", "upper_bound", "dtype", "shift", "truncate", "scale_by"];

/// Common keys the editor does not offer as a key of its own: left out of [`spec_schema`].
const SCHEMA_HIDDEN_KEYS: [&str; 1] = ["type"];

/// The distribution's own keys.
/// Every distribution type with its own parameters, in the order users think of them: the one
/// table the parser checks specs against and the page's editor builds its form from.
pub const DISTRIBUTIONS: [(&str, &[&str]); 16] = [
    ("constant", &["mean"]),
    ("normal", &["mean", "std"]),
    ("truncnorm", &["norm_loc", "norm_scale", "min", "max"]),
    ("gamma", &["mean", "std"]),
    ("poisson", &["mean"]),
    ("ztpoisson", &["mean"]),
    ("discrete", &["val", "p"]),
    ("zero", &[]),
    ("lognormal", &["mean", "sigma"]),
    ("exponential", &["scale"]),
    ("uniform", &["low", "high"]),
    // Functionalizer's laws, named so that imported BBP recipes say what they reproduce.
    ("fz_truncnorm", &["mean", "std"]),
    ("fz_nrrp", &["mean"]),
    // Laws of a synapse's distance from the presynaptic soma (design §2.7): connectome-manipulator's
    // LinDelayModel and functionalizer's delay formula.
    ("lin_delay", &["delay_mean_coeff_a", "delay_mean_coeff_b", "delay_std", "delay_min"]),
    ("fz_delay", &["neural_transmitter_release_delay", "axonal_conduction_velocity"]),
    // Observed values, one per row of a table the pathway's properties share (design §2.2).
    (EMPIRICAL, &["values", "table"]),
];

/// The spec type that takes a row of observed values (design §2.2).
pub const EMPIRICAL: &str = "empirical";

/// Types whose value depends on each synapse's attribute (design §2.7): drawn per synapse.
const PER_SYNAPSE_TYPES: [&str; 2] = ["lin_delay", "fz_delay"];

/// Names a spec's `dtype` may take (numpy's), in the order the editor offers them.
pub const DTYPE_NAMES: [&str; 14] = [
    "float32", "float64", "int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float",
    "double", "single",
];

fn distribution_keys(kind: &str) -> Option<&'static [&'static str]> {
    DISTRIBUTIONS.iter().find(|(name, _)| *name == kind).map(|(_, keys)| *keys)
}

/// "constant, normal, …": the accepted types, for messages.
fn distribution_types() -> String {
    DISTRIBUTIONS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// What the editor needs to build a spec form: each type's parameters, the keys every spec may
/// carry, and the accepted dtypes.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct SpecSchema {
    /// Distribution type → its parameters.
    pub distributions: Vec<(String, Vec<String>)>,
    /// Keys every spec may carry besides its type's parameters.
    pub common_keys: Vec<String>,
    /// Accepted `dtype` names.
    pub dtypes: Vec<String>,
    /// Types drawn per synapse from its attributes (design §2.7): one draw per synapse, never
    /// per connection (`shared_within` false).
    pub per_synapse: Vec<String>,
    /// Attributes the core derives (not edge datasets) that `scale_by` may name.
    pub derived_attributes: Vec<String>,
}

/// The [`SpecSchema`] of this version of the parser.
pub fn spec_schema() -> SpecSchema {
    SpecSchema {
        distributions: DISTRIBUTIONS
            .iter()
            .map(|(name, keys)| (name.to_string(), keys.iter().map(|k| k.to_string()).collect()))
            .collect(),
        common_keys: COMMON_KEYS.iter().filter(|k| !SCHEMA_HIDDEN_KEYS.contains(k)).map(|k| k.to_string()).collect(),
        dtypes: DTYPE_NAMES.iter().map(|k| k.to_string()).collect(),
        per_synapse: PER_SYNAPSE_TYPES.iter().map(|k| k.to_string()).collect(),
        derived_attributes: vec![crate::attributes::DISTANCE_SOMA.to_string()],
    }
}

/// Parse one spec `{type, …}` at `path`: its law, then how its values are stored.
pub(super) fn parse_spec(value: &Value, path: &JsonPath, notices: &mut Vec<String>) -> Result<PathwaySpec> {
    let spec = value.as_object().ok_or_else(|| path.error("must be an object {\"type\": …}"))?;
    let type_path = path.key("type");
    let kind =
        spec.get("type").ok_or_else(|| type_path.error(format!("missing (one of: {})", distribution_types())))?;
    let kind = string(kind, &type_path)?;
    if kind == BY_SYNAPSE {
        return parse_by_synapse(spec, path, notices);
    }
    let own_keys = distribution_keys(&kind).ok_or_else(|| {
        type_path.error(format!("unknown distribution type '{kind}' (one of: {}, {BY_SYNAPSE})", distribution_types()))
    })?;
    check_keys(spec, own_keys, &kind, path, notices)?;
    if kind == EMPIRICAL {
        return parse_empirical(spec, path);
    }
    if let Some(law) = parse_attribute_law(spec, &kind, path)? {
        for key in ["shift", "truncate"] {
            if spec.contains_key(key) {
                return Err(path.key(key).error(format!("not supported with {kind} (use lower_bound/upper_bound)")));
            }
        }
        let (low, high) = law.reference_range();
        let mut parsed = parse_storage(spec, Distribution::Uniform { low, high }, ColumnType::Float64, path, &kind)?;
        parsed.attribute_law = Some(law);
        return Ok(parsed);
    }
    let (distribution, natural_type) = parse_law(spec, &kind, path)?;
    parse_storage(spec, distribution, natural_type, path, &kind)
}

/// The spec type whose synapses take one of several specs by their own attributes (design §2.7).
pub const BY_SYNAPSE: &str = "by_synapse";

/// `{"type": "by_synapse", "cases": [{"where": condition, "spec": spec}, …], "otherwise"?: spec}`:
/// each synapse takes the spec of the first case its attributes satisfy, else `otherwise`. Each
/// alternative keeps its own `shared_within` (default true, as every spec): one draw per
/// connection is shared by the connection's synapses that alternative takes, so a synapse gets
/// exactly the value the alternative alone would give it. Alternatives are plain specs (no nested
/// `by_synapse`).
fn parse_by_synapse(spec: &Map<String, Value>, path: &JsonPath, notices: &mut Vec<String>) -> Result<PathwaySpec> {
    reject_unknown_keys(spec, &["type", "cases", "otherwise"], path, BY_SYNAPSE)?;
    let cases_path = path.key("cases");
    let cases_json =
        required(spec, "cases", path, BY_SYNAPSE)?.as_array().filter(|cases| !cases.is_empty()).ok_or_else(|| {
            cases_path.error("must be a non-empty list of {\"where\": {attribute: test}, \"spec\": spec}")
        })?;
    let alternative = |value: &Value, at: &JsonPath, notices: &mut Vec<String>| -> Result<PathwaySpec> {
        let object = value.as_object().ok_or_else(|| at.error("must be an object {\"type\": …}"))?;
        if object.get("type").and_then(Value::as_str) == Some(BY_SYNAPSE) {
            return Err(at
                .key("type")
                .error("by_synapse cannot nest: give its cases' conditions together in one where"));
        }
        if object.get("type").and_then(Value::as_str) == Some(EMPIRICAL) {
            return Err(at.key("type").error(
                "an empirical table's row is drawn per connection or synapse for every property naming it, not per by_synapse case: give empirical specs outside by_synapse",
            ));
        }
        parse_spec(value, at, notices)
    };
    let mut cases = Vec::with_capacity(cases_json.len());
    for (index, case) in cases_json.iter().enumerate() {
        let case_path = cases_path.index(index);
        let object =
            case.as_object().ok_or_else(|| case_path.error("must be an object {\"where\": …, \"spec\": …}"))?;
        reject_unknown_keys(object, &["where", "spec"], &case_path, "by_synapse case")?;
        let condition = crate::synapse_conditions::SynapseCondition::parse(
            required(object, "where", &case_path, "by_synapse case")?,
            &case_path.key("where").0,
        )?;
        let spec =
            alternative(required(object, "spec", &case_path, "by_synapse case")?, &case_path.key("spec"), notices)?;
        cases.push((condition, spec));
    }
    let otherwise = optional(spec, "otherwise").map(|v| alternative(v, &path.key("otherwise"), notices)).transpose()?;
    let alternatives: Vec<&PathwaySpec> = cases.iter().map(|(_, s)| s).chain(otherwise.iter()).collect();
    // The bins cover every alternative's central range (the histogram is laid out before the run).
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for alternative in &alternatives {
        for (u, v) in [(1e-3, 1.0 - 1e-3), (1.0 - 1e-3, 1e-3)] {
            let raw = alternative.distribution.quantile(u, v);
            let stored = alternative.finalize(raw).map(|f| f.value).unwrap_or(raw);
            if stored.is_finite() {
                low = low.min(stored);
                high = high.max(stored);
            }
        }
    }
    if low > high {
        (low, high) = (0.0, 1.0);
    }
    let natural_type =
        alternatives.iter().map(|s| s.natural_type).reduce(ColumnType::promote).expect("at least one case");
    Ok(PathwaySpec {
        distribution: Distribution::Uniform { low, high },
        shared_within: false,
        lower_bound: None,
        upper_bound: None,
        dtype: None,
        natural_type,
        attribute_law: None,
        scale_by: None,
        by_synapse: Some(Box::new(SynapseCases { cases, otherwise })),
        empirical: None,
    })
}

/// The law of a spec whose value depends on a synapse attribute (`lin_delay`, `fz_delay`), or
/// `None` for the other types.
fn parse_attribute_law(spec: &Map<String, Value>, kind: &str, path: &JsonPath) -> Result<Option<AttributeLaw>> {
    let number = |key: &str| -> Result<f64> { finite_number(required(spec, key, path, kind)?, &path.key(key)) };
    let non_negative = |key: &str| -> Result<f64> {
        let x = number(key)?;
        if x < 0.0 {
            // connectome-manipulator's LinDelayModel asserts these.
            return Err(path.key(key).error(format!("must be ≥ 0 for {kind}, got {}", Num(x))));
        }
        Ok(x)
    };
    Ok(Some(match kind {
        "lin_delay" => AttributeLaw::LinDelay {
            a: number("delay_mean_coeff_a")?,
            b: number("delay_mean_coeff_b")?,
            std: non_negative("delay_std")?,
            min: non_negative("delay_min")?,
        },
        "fz_delay" => {
            let release = number("neural_transmitter_release_delay")? as f32;
            let velocity = number("axonal_conduction_velocity")? as f32;
            if !(velocity.is_finite() && velocity > 0.0) {
                return Err(path.key("axonal_conduction_velocity").error(format!(
                    "must be > 0 (and within float32, as functionalizer holds it), got {}",
                    Num(f64::from(velocity))
                )));
            }
            if !release.is_finite() {
                return Err(path.key("neural_transmitter_release_delay").error("beyond the float32 range"));
            }
            AttributeLaw::FzDelay { release_delay: f64::from(release), velocity: f64::from(velocity) }
        }
        _ => return Ok(None),
    }))
}

/// A spec's `scale_by`: `{"attribute": name, "linear": [a, b]}` (factor a + b·x) or
/// `{"attribute": name, "table": [[x, y], …]}` (linear interpolation, constant beyond the ends).
fn parse_scale_by(value: &Value, path: &JsonPath) -> Result<ScaleBy> {
    let object = value.as_object().ok_or_else(|| {
        path.error("must be {\"attribute\": name, \"linear\": [a, b]} or {\"attribute\": name, \"table\": [[x, y], …]}")
    })?;
    reject_unknown_keys(object, &["attribute", "linear", "table"], path, "scale_by")?;
    let attribute_path = path.key("attribute");
    let attribute = string(required(object, "attribute", path, "scale_by")?, &attribute_path)?;
    check_attribute_name(&attribute, &attribute_path.0)?;
    let numbers = |value: &Value, path: &JsonPath, length: Option<usize>| -> Result<Vec<f64>> {
        let items = value.as_array().ok_or_else(|| path.error("must be a list of numbers"))?;
        if let Some(n) = length {
            if items.len() != n {
                return Err(path.error(format!("must have {n} numbers, got {}", items.len())));
            }
        }
        items.iter().enumerate().map(|(i, v)| finite_number(v, &path.index(i))).collect()
    };
    let function = match (optional(object, "linear"), optional(object, "table")) {
        (Some(linear), None) => {
            let ab = numbers(linear, &path.key("linear"), Some(2))?;
            ScaleFunction::Linear { a: ab[0], b: ab[1] }
        }
        (None, Some(table)) => {
            let table_path = path.key("table");
            let rows = table.as_array().ok_or_else(|| table_path.error("must be a list of [x, y] points"))?;
            if rows.is_empty() {
                return Err(table_path.error("must have at least one [x, y] point"));
            }
            let (mut x, mut y) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
            for (i, row) in rows.iter().enumerate() {
                let point = numbers(row, &table_path.index(i), Some(2))?;
                if let Some(&previous) = x.last() {
                    if point[0] <= previous {
                        return Err(table_path.index(i).index(0).error(format!(
                            "x must increase strictly: {} after {}",
                            Num(point[0]),
                            Num(previous)
                        )));
                    }
                }
                x.push(point[0]);
                y.push(point[1]);
            }
            ScaleFunction::Table { x, y }
        }
        _ => return Err(path.error("give exactly one of linear: [a, b] or table: [[x, y], …]")),
    };
    Ok(ScaleBy { attribute, function })
}

/// Refuse a key that is neither the law's nor common to every spec; note descriptive statistics.
fn check_keys(
    spec: &Map<String, Value>,
    own_keys: &[&str],
    kind: &str,
    path: &JsonPath,
    notices: &mut Vec<String>,
) -> Result<()> {
    for key in spec.keys() {
        let key = key.as_str();
        if own_keys.contains(&key) || COMMON_KEYS.contains(&key) {
            continue;
        }
        if DESCRIPTIVE_KEYS.contains(&key) {
            notices.push(format!("{}: ignored (descriptive statistic, not a parameter of {kind})", path.key(key).0));
            continue;
        }
        let mut allowed: Vec<&str> = own_keys.to_vec();
        // The laws of distance_soma take no shift or truncate (refused with their reason).
        let per_synapse_law = PER_SYNAPSE_TYPES.contains(&kind);
        allowed.extend(
            COMMON_KEYS.iter().filter(|k| **k != "type" && !(per_synapse_law && matches!(**k, "shift" | "truncate"))),
        );
        return Err(path.key(key).error(format!("unknown key for a {kind} spec (allowed: {})", allowed.join(", "))));
    }
    Ok(())
}

/// The law of a spec of type `kind`, with the column type its values take by nature (integers for
/// counts and integer-valued JSON, else float64), shift and truncation applied.
fn parse_law(spec: &Map<String, Value>, kind: &str, path: &JsonPath) -> Result<(Distribution, ColumnType)> {
    let number = |key: &str| -> Result<f64> { finite_number(required(spec, key, path, kind)?, &path.key(key)) };
    let non_negative = |key: &str| -> Result<f64> {
        let x = number(key)?;
        if x < 0.0 {
            return Err(path.key(key).error(format!("must be ≥ 0 for {kind}, got {}", Num(x))));
        }
        Ok(x)
    };
    let is_integer_json = |key: &str| spec.get(key).is_some_and(|v| v.is_i64() || v.is_u64());
    let mut natural_type = ColumnType::Float64;
    let distribution = match kind {
        "constant" => {
            if is_integer_json("mean") {
                natural_type = ColumnType::Int(IntType::I64);
            }
            Distribution::Constant { value: number("mean")? }
        }
        "zero" => Distribution::Zero,
        "normal" => Distribution::Normal { mean: number("mean")?, std: non_negative("std")? },
        "truncnorm" => {
            let loc = number("norm_loc")?;
            let scale = non_negative("norm_scale")?;
            let min = extended_number(required(spec, "min", path, kind)?, &path.key("min"))?;
            let max = extended_number(required(spec, "max", path, kind)?, &path.key("max"))?;
            if min > max {
                return Err(path.key("min").error(format!(
                    "truncnorm min ({}) must not exceed max ({})",
                    Num(min),
                    Num(max)
                )));
            }
            if min == f64::INFINITY || max == f64::NEG_INFINITY {
                return Err(path.key("min").error("truncnorm window [min, max] is empty"));
            }
            Distribution::TruncatedNormal(TruncatedNormal::new(loc, scale, min, max))
        }
        "gamma" => {
            let mean = number("mean")?;
            if mean <= 0.0 {
                return Err(path.key("mean").error(format!("gamma mean must be > 0, got {}", Num(mean))));
            }
            let std = non_negative("std")?;
            let gamma = Distribution::gamma(mean, std);
            if let Distribution::Gamma { shape, scale, .. } = gamma {
                if std > 0.0 && !(shape.is_finite() && scale.is_finite() && shape > 0.0 && scale > 0.0) {
                    return Err(path.key("std").error(format!(
                        "gamma mean {} and std {} give shape {} and scale {}, outside what float64 can draw",
                        Num(mean),
                        Num(std),
                        Num(shape),
                        Num(scale)
                    )));
                }
            }
            gamma
        }
        "poisson" => {
            natural_type = ColumnType::Int(IntType::I64);
            let mean = non_negative("mean")?;
            if mean > POISSON_MEAN_LIMIT {
                return Err(path.key("mean").error(format!(
                    "poisson mean must be ≤ {POISSON_MEAN_LIMIT:e} (use a normal law for larger counts), got {}",
                    Num(mean)
                )));
            }
            Distribution::Poisson { mean, shift: 0.0 }
        }
        "fz_truncnorm" => {
            // Functionalizer's u_syn and decay_time: N(mean, std) redrawn until within one std of
            // the mean and ≥ 0, i.e. restricted to [max(mean − std, 0), mean + std].
            let mean = number("mean")?;
            let std = number("std")?;
            if std <= 0.0 {
                return Err(path.key("std").error(format!("fz_truncnorm std must be > 0, got {}", Num(std))));
            }
            if mean + std <= 0.0 {
                return Err(path.key("mean").error(format!(
                    "fz_truncnorm mean + std must be > 0 (functionalizer would redraw forever), got {}",
                    Num(mean + std)
                )));
            }
            Distribution::TruncatedNormal(TruncatedNormal::new(mean, std, (mean - std).max(0.0), mean + std))
        }
        "fz_nrrp" => {
            // Functionalizer's n_rrp_vesicles: 1 + Poisson(mean − 1) for mean ≥ 1, else always 1.
            natural_type = ColumnType::Int(IntType::I64);
            let mean = number("mean")?;
            if mean - 1.0 > POISSON_MEAN_LIMIT {
                return Err(path
                    .key("mean")
                    .error(format!("fz_nrrp mean must be ≤ {POISSON_MEAN_LIMIT:e} + 1, got {}", Num(mean))));
            }
            Distribution::Poisson { mean: (mean - 1.0).max(0.0), shift: 1.0 }
        }
        "ztpoisson" => {
            natural_type = ColumnType::Int(IntType::I64);
            let mean = number("mean")?;
            if mean < 1.0 {
                return Err(path
                    .key("mean")
                    .error(format!("ztpoisson mean must be ≥ 1 (zero is excluded), got {}", Num(mean))));
            }
            if mean > POISSON_MEAN_LIMIT {
                return Err(path.key("mean").error(format!(
                    "ztpoisson mean must be ≤ {POISSON_MEAN_LIMIT:e} (use a normal law for larger counts), got {}",
                    Num(mean)
                )));
            }
            Distribution::zero_truncated_poisson(mean)
        }
        "discrete" => {
            let (values, probabilities) = parse_discrete(spec, path, kind)?;
            let all_integer_json = spec["val"].as_array().is_some_and(|a| a.iter().all(|v| v.is_i64() || v.is_u64()));
            if all_integer_json {
                natural_type = ColumnType::Int(IntType::I64);
            }
            Distribution::discrete(values, probabilities)
        }
        "lognormal" => Distribution::LogNormal { mean: number("mean")?, sigma: non_negative("sigma")? },
        "exponential" => Distribution::Exponential { scale: non_negative("scale")? },
        "uniform" => {
            let (low, high) = (number("low")?, number("high")?);
            if low > high {
                return Err(path.key("low").error(format!(
                    "uniform low ({}) must not exceed high ({})",
                    Num(low),
                    Num(high)
                )));
            }
            Distribution::Uniform { low, high }
        }
        _ => unreachable!("type checked against distribution_keys"),
    };
    let distribution = with_shift_and_truncation(distribution, spec, path, &mut natural_type)?;
    // A law whose values overflow float64 (lognormal mean 1000, uniform over ±1e308, …) would only
    // give infinities: refuse it here, naming the spec, rather than at the first draw.
    let (law_mean, law_std) = distribution.moments();
    if !law_mean.is_finite() || !law_std.is_finite() {
        return Err(path.error(format!(
            "{kind} with these parameters has values beyond the float64 range (mean {}, std {})",
            Num(law_mean),
            Num(law_std)
        )));
    }
    Ok((distribution, natural_type))
}

/// The spec's storage keys over its law: `shared_within`, the clipping bounds and the `dtype`
/// (which decides the column type; integer laws with fractional bounds become float64).
fn parse_storage(
    spec: &Map<String, Value>,
    distribution: Distribution,
    mut natural_type: ColumnType,
    path: &JsonPath,
    kind: &str,
) -> Result<PathwaySpec> {
    let scale_by = optional(spec, "scale_by").map(|v| parse_scale_by(v, &path.key("scale_by"))).transpose()?;
    // What makes the value depend on each synapse's own attribute, if anything (design §2.7).
    let per_synapse = match (&scale_by, kind) {
        (_, kind) if PER_SYNAPSE_TYPES.contains(&kind) => {
            Some(format!("{kind} depends on each synapse's distance_soma"))
        }
        (Some(scale), _) => Some(format!("scale_by reads each synapse's {}", scale.attribute)),
        _ => None,
    };
    let shared_within = optional(spec, "shared_within")
        .map(|v| boolean(v, &path.key("shared_within")))
        .transpose()?
        .unwrap_or(per_synapse.is_none());
    if let (true, Some(reason)) = (shared_within, &per_synapse) {
        return Err(path.key("shared_within").error(format!(
            "{reason}, which differs between the synapses of one connection: one draw per connection cannot follow it (leave shared_within out or set it false)"
        )));
    }
    let bound = |key: &str| optional(spec, key).map(|v| finite_number(v, &path.key(key))).transpose();
    let lower_bound = bound("lower_bound")?;
    let upper_bound = bound("upper_bound")?;
    if let (Some(lower), Some(upper)) = (lower_bound, upper_bound) {
        if lower > upper {
            return Err(path.key("lower_bound").error(format!(
                "lower_bound ({}) must not exceed upper_bound ({})",
                Num(lower),
                Num(upper)
            )));
        }
    }
    let dtype = optional(spec, "dtype")
        .map(|v| {
            let dtype_path = path.key("dtype");
            let name = string(v, &dtype_path)?;
            Dtype::from_name(&name).ok_or_else(|| {
                dtype_path
                    .error(format!("unknown dtype '{name}' (int, float, float32, float64, int8…int64, uint8…uint64)"))
            })
        })
        .transpose()?;
    if let Some(dtype) = dtype {
        natural_type = dtype.column_type();
    } else if matches!(natural_type, ColumnType::Int(_))
        && ([lower_bound, upper_bound].iter().flatten().any(|b| b.fract() != 0.0) || scale_by.is_some())
    {
        // A factor makes any law's values fractional: stored as floats unless a dtype says otherwise.
        natural_type = ColumnType::Float64;
    }
    Ok(PathwaySpec {
        distribution,
        shared_within,
        lower_bound,
        upper_bound,
        dtype,
        natural_type,
        attribute_law: None,
        scale_by,
        by_synapse: None,
        empirical: None,
    })
}

/// `{"type": "empirical", "values": [v0, …], "table": name}` (design §2.2): each connection (or
/// synapse) takes row r of the pathway's table `name`, r uniform from the table's stream; the
/// rows' discrete law (equal weights) stands for the spec in statistics. Bounds, dtype and
/// `shared_within` apply as to any law; `shift`, `truncate` and `scale_by` do not (they would
/// change the observed values the table keeps).
fn parse_empirical(spec: &Map<String, Value>, path: &JsonPath) -> Result<PathwaySpec> {
    for key in ["shift", "truncate", "scale_by"] {
        if spec.contains_key(key) {
            return Err(path.key(key).error(format!(
                "not supported with {EMPIRICAL} (the table keeps the observed values; use lower_bound/upper_bound or dtype)"
            )));
        }
    }
    let table_path = path.key("table");
    let name = string(required(spec, "table", path, EMPIRICAL)?, &table_path)?;
    if name.is_empty() {
        return Err(table_path.error("must name the table (a non-empty string)"));
    }
    let values_path = path.key("values");
    let items = required(spec, "values", path, EMPIRICAL)?
        .as_array()
        .ok_or_else(|| values_path.error("must be a list of numbers, one per row of the table"))?;
    if items.is_empty() {
        return Err(values_path.error("must not be empty (one value per row of the table)"));
    }
    let values: Vec<f64> =
        items.iter().enumerate().map(|(i, v)| finite_number(v, &values_path.index(i))).collect::<Result<_>>()?;
    let natural_type = if items.iter().all(|v| v.is_i64() || v.is_u64()) {
        ColumnType::Int(IntType::I64)
    } else {
        ColumnType::Float64
    };
    let mut distinct = values.clone();
    distinct.sort_by(f64::total_cmp);
    let mut counted: Vec<(f64, f64)> = Vec::new();
    for value in distinct {
        match counted.last_mut() {
            // -0.0 and 0.0 are one value, as a stored column sees them.
            Some((last, count)) if *last == value => *count += 1.0,
            _ => counted.push((value, 1.0)),
        }
    }
    let rows = values.len() as f64;
    let distribution =
        Distribution::discrete(counted.iter().map(|c| c.0).collect(), counted.iter().map(|c| c.1 / rows).collect());
    let mut parsed = parse_storage(spec, distribution, natural_type, path, EMPIRICAL)?;
    parsed.empirical = Some(Box::new(EmpiricalTable { name, values }));
    Ok(parsed)
}

/// A spec's `shift` (added to every value) and `truncate` (`{"min", "max"}`, either may be left
/// out): the law conditioned on the window — redrawn within it, nothing piles up on a bound —
/// unlike `lower_bound`/`upper_bound`, which clip (connectome-manipulator's meaning). Design §9.3.
fn with_shift_and_truncation(
    distribution: Distribution,
    spec: &Map<String, Value>,
    path: &JsonPath,
    natural_type: &mut ColumnType,
) -> Result<Distribution> {
    let shift = optional(spec, "shift").map(|v| finite_number(v, &path.key("shift"))).transpose()?.unwrap_or(0.0);
    let window = match optional(spec, "truncate") {
        None => None,
        Some(value) => {
            let truncate = path.key("truncate");
            let object = value.as_object().ok_or_else(|| truncate.error("must be {\"min\": …, \"max\": …}"))?;
            if let Some(key) = object.keys().find(|k| *k != "min" && *k != "max") {
                return Err(truncate.key(key).error("unknown key (allowed: min, max)"));
            }
            let end = |key: &str, default: f64| {
                optional(object, key)
                    .map(|v| finite_number(v, &truncate.key(key)))
                    .transpose()
                    .map(|v| v.unwrap_or(default))
            };
            let (min, max) = (end("min", f64::NEG_INFINITY)?, end("max", f64::INFINITY)?);
            if min == f64::NEG_INFINITY && max == f64::INFINITY {
                return Err(truncate.error("give min, max or both"));
            }
            if min > max {
                return Err(truncate.key("min").error(format!(
                    "min ({}) must not exceed max ({})",
                    Num(min),
                    Num(max)
                )));
            }
            Some((min, max))
        }
    };
    if shift == 0.0 && window.is_none() {
        return Ok(distribution);
    }
    if shift.fract() != 0.0 && matches!(natural_type, ColumnType::Int(_)) {
        *natural_type = ColumnType::Float64;
    }
    crate::distributions::Transformed::new(distribution, shift, window)
        .map(|t| Distribution::Transformed(Box::new(t)))
        .map_err(|message| path.key("truncate").error(message))
}

fn parse_discrete(spec: &Map<String, Value>, path: &JsonPath, kind: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let list = |key: &str| -> Result<Vec<f64>> {
        let list_path = path.key(key);
        let items =
            required(spec, key, path, kind)?.as_array().ok_or_else(|| list_path.error("must be a list of numbers"))?;
        if items.is_empty() {
            return Err(list_path.error("must not be empty"));
        }
        items.iter().enumerate().map(|(i, v)| finite_number(v, &list_path.index(i))).collect()
    };
    let values = list("val")?;
    let probabilities = list("p")?;
    if values.len() != probabilities.len() {
        return Err(path.key("p").error(format!(
            "has {} entries but val has {}; they must have the same length",
            probabilities.len(),
            values.len()
        )));
    }
    for (i, p) in probabilities.iter().enumerate() {
        if *p < 0.0 {
            return Err(path.key("p").index(i).error(format!("probability must be ≥ 0, got {}", Num(*p))));
        }
    }
    let sum: f64 = probabilities.iter().sum();
    if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
        return Err(path
            .key("p")
            .error(format!("probabilities sum to {}, not 1 (tolerance {PROBABILITY_SUM_TOLERANCE:e})", Num(sum))));
    }
    Ok((values, probabilities))
}

/// Parse a single pathway spec (`{"type": "gamma", "mean": 1, "std": 0.5, …}`), for previews.
pub fn parse_pathway_spec(json: &str) -> Result<PathwaySpec> {
    parse_spec(&parse_json(json)?, &JsonPath::root(), &mut Vec::new())
}
