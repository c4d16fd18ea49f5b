//! Parsing and validation of connectome-manipulator's `ConnPropsModel` dict and of obi-one's task
//! form (design §2.1). Every error names the JSON path of the offending key.

use serde_json::{Map, Value};

use crate::distributions::{Distribution, TruncatedNormal};
use crate::error::{Error, Num, Result};

/// Property that ConnPropsModel uses for synapses per connection; we take counts from the data.
pub const N_SYN_PER_CONN: &str = "n_syn_per_conn";

/// Largest Poisson mean accepted: the Poisson CDF (and so the quantiles and the histogram overlays)
/// is accurate to 1e-6 up to here; beyond, a normal law is the better model anyway.
pub const POISSON_MEAN_LIMIT: f64 = 1e6;

/// Relative tolerance for `p` summing to 1 (design §2.2).
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-8;

/// Keys that fitted ConnPropsModel files carry as descriptive statistics; accepted and ignored
/// (with a notice) where the distribution does not use them.
const DESCRIPTIVE_KEYS: [&str; 5] = ["mean", "std", "std-within", "min", "max"];

/// Keys every spec may carry besides its distribution's own.
const COMMON_KEYS: [&str; 7] = ["type", "shared_within", "lower_bound", "upper_bound", "dtype", "shift", "truncate"];

/// An integer storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum IntType {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl IntType {
    /// numpy's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            IntType::I8 => "int8",
            IntType::I16 => "int16",
            IntType::I32 => "int32",
            IntType::I64 => "int64",
            IntType::U8 => "uint8",
            IntType::U16 => "uint16",
            IntType::U32 => "uint32",
            IntType::U64 => "uint64",
        }
    }

    /// Whether the type is signed.
    pub fn is_signed(self) -> bool {
        matches!(self, IntType::I8 | IntType::I16 | IntType::I32 | IntType::I64)
    }

    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            IntType::I8 | IntType::U8 => 8,
            IntType::I16 | IntType::U16 => 16,
            IntType::I32 | IntType::U32 => 32,
            IntType::I64 | IntType::U64 => 64,
        }
    }

    /// The smallest and largest values of the type, as f64 (exact for every width but 64 bits,
    /// where the bounds are the nearest doubles inside the range).
    pub fn range(self) -> (f64, f64) {
        let bits = self.bits() as i32;
        if self.is_signed() {
            (
                -libm::ldexp(1.0, bits - 1),
                if bits == 64 { 9_223_372_036_854_774_784.0 } else { libm::ldexp(1.0, bits - 1) - 1.0 },
            )
        } else {
            (0.0, if bits == 64 { 18_446_744_073_709_549_568.0 } else { libm::ldexp(1.0, bits) - 1.0 })
        }
    }

    /// Whether the integer-valued `value` can be stored in this type.
    pub fn holds(self, value: f64) -> bool {
        let bits = self.bits() as i32;
        if self.is_signed() {
            let limit = libm::ldexp(1.0, bits - 1);
            value >= -limit && value < limit
        } else {
            value >= 0.0 && value < libm::ldexp(1.0, bits)
        }
    }

    fn from_name(name: &str) -> Option<IntType> {
        Some(match name {
            "int8" => IntType::I8,
            "int16" => IntType::I16,
            "int32" => IntType::I32,
            "int64" => IntType::I64,
            "uint8" => IntType::U8,
            "uint16" => IntType::U16,
            "uint32" => IntType::U32,
            "uint64" => IntType::U64,
            _ => return None,
        })
    }
}

/// The type of a property's output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 32-bit float.
    Float32,
    /// 64-bit float (numpy's default).
    Float64,
    /// An integer type.
    Int(IntType),
}

impl ColumnType {
    /// numpy's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Float32 => "float32",
            ColumnType::Float64 => "float64",
            ColumnType::Int(t) => t.name(),
        }
    }

    /// The type of a numpy name (`float32`, `uint16`, …; `float`/`double` are float64).
    pub fn from_name(name: &str) -> Option<ColumnType> {
        Some(match name {
            "float32" | "single" => ColumnType::Float32,
            "float64" | "float" | "double" => ColumnType::Float64,
            other => ColumnType::Int(IntType::from_name(other)?),
        })
    }

    /// The smallest type that holds values of both (numpy-like promotion).
    fn promote(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Int(a), Int(b)) => {
                if a.is_signed() == b.is_signed() {
                    Int(a.max(b))
                } else {
                    let (signed, unsigned) = if a.is_signed() { (a, b) } else { (b, a) };
                    if unsigned == IntType::U64 {
                        Float64
                    } else if signed.bits() > unsigned.bits() {
                        Int(signed)
                    } else {
                        Int(match unsigned.bits() {
                            8 => IntType::I16,
                            16 => IntType::I32,
                            _ => IntType::I64,
                        })
                    }
                }
            }
            (Float32, Int(t)) | (Int(t), Float32) if t.bits() <= 16 => Float32,
            _ => Float64,
        }
    }
}

/// The `dtype` of a spec: how a drawn value becomes a stored one (numpy `astype` semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `"int"`: round half to even, then int64 (ConnPropsModel's special case).
    RoundToInt,
    /// An explicit integer type: truncate toward zero, as numpy's `astype` does.
    Integer(IntType),
    /// `float32`: round to single precision.
    Float32,
    /// `float`/`float64`/`double`: unchanged.
    Float64,
}

impl Dtype {
    fn from_name(name: &str) -> Option<Dtype> {
        Some(match name {
            "int" => Dtype::RoundToInt,
            "float" | "float64" | "double" => Dtype::Float64,
            "float32" | "single" => Dtype::Float32,
            other => Dtype::Integer(IntType::from_name(other)?),
        })
    }

    /// The column type this dtype produces.
    pub fn column_type(self) -> ColumnType {
        match self {
            Dtype::RoundToInt => ColumnType::Int(IntType::I64),
            Dtype::Integer(t) => ColumnType::Int(t),
            Dtype::Float32 => ColumnType::Float32,
            Dtype::Float64 => ColumnType::Float64,
        }
    }

    /// The integer type a value must fit, if any.
    pub fn int_type(self) -> Option<IntType> {
        match self {
            Dtype::RoundToInt => Some(IntType::I64),
            Dtype::Integer(t) => Some(t),
            _ => None,
        }
    }
}

/// The full spec of one property for one pathway (source value × target value).
#[derive(Debug, Clone, PartialEq)]
pub struct PathwaySpec {
    /// The distribution to draw from.
    pub distribution: Distribution,
    /// One draw per connection (true) or per synapse (false).
    pub shared_within: bool,
    /// Clip below, after drawing.
    pub lower_bound: Option<f64>,
    /// Clip above, after drawing.
    pub upper_bound: Option<f64>,
    /// Conversion of the clipped value.
    pub dtype: Option<Dtype>,
    /// Column type the spec produces on its own (before promotion across pathways).
    pub natural_type: ColumnType,
}

/// Outcome of turning one drawn value into a stored one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finalized {
    /// The value as stored (integers are exact in f64 up to 2^53).
    pub value: f64,
    /// Whether a bound changed the value.
    pub clipped: bool,
}

impl PathwaySpec {
    /// The spec as one line: its law's formula, bounds, stored type and whether one draw serves a
    /// whole connection.
    pub fn formula(&self) -> String {
        let mut text = self.distribution.formula();
        match (self.lower_bound, self.upper_bound) {
            (Some(lo), Some(hi)) => text.push_str(&format!("; clipped to [{lo}, {hi}]")),
            (Some(lo), None) => text.push_str(&format!("; clipped below at {lo}")),
            (None, Some(hi)) => text.push_str(&format!("; clipped above at {hi}")),
            (None, None) => {}
        }
        match self.dtype {
            Some(Dtype::RoundToInt) => text.push_str("; rounded to int"),
            Some(Dtype::Integer(t)) => text.push_str(&format!("; truncated to {}", t.name())),
            Some(Dtype::Float32) => text.push_str("; float32"),
            Some(Dtype::Float64) | None => {}
        }
        text.push_str(if self.shared_within { "; one draw per connection" } else { "; one draw per synapse" });
        text
    }

    /// Apply bounds, then dtype (ConnPropsModel order). `Err` carries the offending value when
    /// it cannot be stored in the dtype's integer type.
    #[inline]
    pub fn finalize(&self, raw: f64) -> std::result::Result<Finalized, f64> {
        // Comparisons rather than f64::max/min: a NaN stays visible instead of becoming the bound,
        // and in wasm they compile to instructions instead of libm calls.
        let mut value = raw;
        if let Some(lower) = self.lower_bound {
            if value < lower {
                value = lower;
            }
        }
        if let Some(upper) = self.upper_bound {
            if value > upper {
                value = upper;
            }
        }
        let clipped = value != raw;
        let value = match self.dtype {
            None | Some(Dtype::Float64) => value,
            Some(Dtype::Float32) => value as f32 as f64,
            Some(Dtype::RoundToInt) => value.round_ties_even(),
            Some(Dtype::Integer(_)) => value.trunc(),
        };
        if let Some(int_type) = self.dtype.and_then(Dtype::int_type) {
            if !value.is_finite() || !int_type.holds(value) {
                return Err(value);
            }
        } else if !value.is_finite() {
            // Overflow of the law (or of float32): never stored silently.
            return Err(value);
        }
        Ok(Finalized { value, clipped })
    }

    /// Mean and standard deviation of the spec's distribution, before bounds and dtype.
    pub fn moments(&self) -> (f64, f64) {
        self.distribution.moments()
    }

    /// `P(stored value ≤ x)`: the distribution's CDF pushed through bounds and dtype (both
    /// monotone), for overlays that match what the histogram counts.
    pub fn stored_cdf(&self, x: f64) -> f64 {
        if let Some(lower) = self.lower_bound {
            if x < lower_after_dtype(self, lower) {
                return 0.0;
            }
        }
        if let Some(upper) = self.upper_bound {
            if x >= upper_after_dtype(self, upper) {
                return 1.0;
            }
        }
        // Largest raw value whose stored value is ≤ x.
        let threshold = match self.dtype {
            Some(Dtype::RoundToInt) => libm::floor(x) + 0.5,
            Some(Dtype::Integer(_)) => {
                let k = libm::floor(x);
                if k >= 0.0 {
                    k + 1.0 - f64::EPSILON * (k + 1.0)
                } else {
                    k
                }
            }
            _ => x,
        };
        let mut probability = self.distribution.cdf(threshold);
        if let Some(lower) = self.lower_bound {
            if threshold < lower {
                probability = 0.0;
            }
        }
        probability
    }
}

fn lower_after_dtype(spec: &PathwaySpec, lower: f64) -> f64 {
    spec.finalize(lower).map(|f| f.value).unwrap_or(lower)
}

fn upper_after_dtype(spec: &PathwaySpec, upper: f64) -> f64 {
    spec.finalize(upper).map(|f| f.value).unwrap_or(upper)
}

/// One property of the model, with a spec per pathway.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyModel {
    /// Property name (the edge dataset name).
    pub name: String,
    /// Specs indexed by `source_index * tgt_types.len() + target_index`.
    pub pathways: Vec<PathwaySpec>,
    /// The output column type, promoted over all pathways.
    pub column_type: ColumnType,
}

/// Correlated properties (`prop_cov`): a Gaussian copula per pathway.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// Indices into [`Model::properties`], in `prop_cov.props` order.
    pub properties: Vec<usize>,
    /// Per pathway, the lower Cholesky factor (k×k, row-major) of the correlation matrix.
    pub factors: Vec<Vec<f64>>,
    /// Per pathway, the correlation matrix as given (k×k, row-major).
    pub matrices: Vec<Vec<f64>>,
}

/// A validated `ConnPropsModel`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Source pathway values.
    pub src_types: Vec<String>,
    /// Target pathway values.
    pub tgt_types: Vec<String>,
    /// Properties to draw, in `prop_stats` order (without `n_syn_per_conn`).
    pub properties: Vec<PropertyModel>,
    /// Correlated properties, if any.
    pub correlation: Option<Correlation>,
    /// Things accepted but ignored (descriptive keys, `n_syn_per_conn`), for the user to see.
    pub notices: Vec<String>,
}

impl Model {
    /// Index of the pathway (source value index, target value index).
    pub fn pathway_index(&self, source: usize, target: usize) -> usize {
        source * self.tgt_types.len() + target
    }

    /// Number of pathways.
    pub fn pathway_count(&self) -> usize {
        self.src_types.len() * self.tgt_types.len()
    }

    /// (source value, target value) of a pathway index.
    pub fn pathway_names(&self, pathway: usize) -> (&str, &str) {
        let n = self.tgt_types.len();
        (&self.src_types[pathway / n], &self.tgt_types[pathway % n])
    }

    /// The error for a drawn value of property `property` in pathway `pathway` (indices) that
    /// cannot be stored, at global edge `edge_id`.
    pub fn value_error(&self, property: usize, pathway: usize, value: f64, edge_id: u64, reason: String) -> Error {
        let (source_type, target_type) = self.pathway_names(pathway);
        Error::ValueOutOfRange {
            property: self.properties[property].name.clone(),
            source_type: source_type.to_string(),
            target_type: target_type.to_string(),
            value,
            reason,
            edge_id,
        }
    }

    /// Position of `name` in [`Model::properties`].
    pub fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == name)
    }
}

/// A task: a model plus what obi-one's `SynapseParameterizationTask` (and we) add around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The model.
    pub model: Model,
    /// Node property selecting the pathway (e.g. `synapse_class`), if given.
    pub pathway_property: Option<String>,
    /// Random seed, if given.
    pub seed: Option<u64>,
    /// Whether existing edge properties may be overwritten, if given.
    pub overwrite_if_exists: Option<bool>,
    /// Edge populations to process (all when absent).
    pub edge_populations: Option<Vec<String>>,
    /// Pathway value for nodes without the pathway property.
    pub fallback_pathway_value: Option<String>,
}

/// Keys of the task form.
const TASK_KEYS: [&str; 6] = [
    "pathway_property",
    "pathway_param_dict",
    "random_seed",
    "overwrite_if_exists",
    "edge_populations",
    "fallback_pathway_value",
];

/// Parse either accepted form (design §2.1) from JSON text.
pub fn parse_task(json: &str) -> Result<Task> {
    let root = parse_json(json)?;
    let object = root.as_object().ok_or_else(|| Error::config("$", "the config must be a JSON object"))?;
    if !object.contains_key("pathway_param_dict") {
        return Ok(Task {
            model: parse_model_value(&root, &JsonPath::root())?,
            pathway_property: None,
            seed: None,
            overwrite_if_exists: None,
            edge_populations: None,
            fallback_pathway_value: None,
        });
    }
    let root_path = JsonPath::root();
    reject_unknown_keys(object, &TASK_KEYS, &root_path, "task config")?;
    let model = parse_model_value(&object["pathway_param_dict"], &root_path.key("pathway_param_dict"))?;
    let pathway_property =
        optional(object, "pathway_property").map(|v| string(v, &root_path.key("pathway_property"))).transpose()?;
    let seed = optional(object, "random_seed").map(|v| seed_value(v, &root_path.key("random_seed"))).transpose()?;
    let overwrite_if_exists = optional(object, "overwrite_if_exists")
        .map(|v| boolean(v, &root_path.key("overwrite_if_exists")))
        .transpose()?;
    let edge_populations =
        optional(object, "edge_populations").map(|v| string_list(v, &root_path.key("edge_populations"))).transpose()?;
    let fallback_pathway_value = optional(object, "fallback_pathway_value")
        .map(|v| string(v, &root_path.key("fallback_pathway_value")))
        .transpose()?;
    Ok(Task { model, pathway_property, seed, overwrite_if_exists, edge_populations, fallback_pathway_value })
}

/// Parse a bare `ConnPropsModel` dict from JSON text.
pub fn parse_model(json: &str) -> Result<Model> {
    parse_model_value(&parse_json(json)?, &JsonPath::root())
}

/// A JSON path under construction, printed as `prop_stats.conductance.EXC.INH.std` or `…p[2]`.
#[derive(Clone)]
struct JsonPath(String);

impl JsonPath {
    fn root() -> Self {
        JsonPath(String::new())
    }

    fn key(&self, key: &str) -> Self {
        let simple = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_-@/:+".contains(c));
        let segment = if simple { key.to_string() } else { format!("[{}]", Value::from(key)) };
        if self.0.is_empty() || !simple {
            JsonPath(format!("{}{}", self.0, segment))
        } else {
            JsonPath(format!("{}.{}", self.0, segment))
        }
    }

    fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{i}]", self.0))
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::config(if self.0.is_empty() { "$".to_string() } else { self.0.clone() }, message)
    }
}

/// Python's `json.dumps` writes bare `NaN`/`Infinity`; strict JSON parsers refuse them with a
/// line/column message. We turn them into marker strings so the error can name the key instead.
const NON_FINITE_MARKER: &str = "\u{1}non-finite:";

fn parse_json(text: &str) -> Result<Value> {
    // Only bare tokens in value position are replaced: a `NaN` where a key belongs stays a syntax
    // error, so the marker never reaches a message.
    let mut cleaned = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    // Open containers (true = object) and whether the next token is a value.
    let mut containers: Vec<bool> = Vec::new();
    let mut expect_value = true;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            cleaned.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                expect_value = false;
            }
            '{' => {
                containers.push(true);
                expect_value = false;
            }
            '[' => {
                containers.push(false);
                expect_value = true;
            }
            '}' | ']' => {
                containers.pop();
                expect_value = false;
            }
            ':' => expect_value = true,
            ',' => expect_value = containers.last() == Some(&false),
            _ if c.is_whitespace() => {}
            _ => {
                if expect_value {
                    if let Some(token) = ["-Infinity", "Infinity", "NaN"].into_iter().find(|t| rest.starts_with(t)) {
                        // JSON text must escape the marker's control character.
                        cleaned.push_str(&format!("\"\\u0001non-finite:{token}\""));
                        rest = &rest[token.len()..];
                        expect_value = false;
                        continue;
                    }
                }
                expect_value = false;
            }
        }
        cleaned.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&cleaned).map_err(|e| Error::config("$", format!("not valid JSON: {e}")))
}

fn non_finite_marker(value: &Value) -> Option<f64> {
    let token = value.as_str()?.strip_prefix(NON_FINITE_MARKER)?;
    Some(match token {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => f64::NEG_INFINITY,
    })
}

fn describe(value: &Value) -> String {
    if let Some(x) = non_finite_marker(value) {
        return format!("{}", Num(x));
    }
    // Shorten by characters, never by bytes: a byte index can fall inside a multi-byte character.
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn optional<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn required<'a>(object: &'a Map<String, Value>, key: &str, path: &JsonPath, what: &str) -> Result<&'a Value> {
    object.get(key).ok_or_else(|| path.key(key).error(format!("missing (required for {what})")))
}

fn reject_unknown_keys(object: &Map<String, Value>, allowed: &[&str], path: &JsonPath, what: &str) -> Result<()> {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(path.key(key).error(format!("unknown key in {what} (allowed: {})", allowed.join(", "))));
        }
    }
    Ok(())
}

fn finite_number(value: &Value, path: &JsonPath) -> Result<f64> {
    if let Some(x) = non_finite_marker(value) {
        return Err(path.error(format!("must be a finite number, got {}", Num(x))));
    }
    let x = value.as_f64().ok_or_else(|| path.error(format!("must be a number, got {}", describe(value))))?;
    Ok(x)
}

/// A number that may be ±Infinity (truncation windows), never NaN.
fn extended_number(value: &Value, path: &JsonPath) -> Result<f64> {
    match non_finite_marker(value) {
        Some(x) if x.is_nan() => Err(path.error("must be a number, got NaN")),
        Some(x) => Ok(x),
        None => finite_number(value, path),
    }
}

fn string(value: &Value, path: &JsonPath) -> Result<String> {
    value.as_str().map(str::to_string).ok_or_else(|| path.error(format!("must be a string, got {}", describe(value))))
}

fn string_list(value: &Value, path: &JsonPath) -> Result<Vec<String>> {
    let items = value.as_array().ok_or_else(|| path.error("must be a list of strings"))?;
    items.iter().enumerate().map(|(i, v)| string(v, &path.index(i))).collect()
}

fn boolean(value: &Value, path: &JsonPath) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        other => Err(path.error(format!("must be true/false (or 1/0), got {}", describe(other)))),
    }
}

fn seed_value(value: &Value, path: &JsonPath) -> Result<u64> {
    value.as_u64().ok_or_else(|| path.error(format!("must be a non-negative integer, got {}", describe(value))))
}

fn type_list(object: &Map<String, Value>, key: &str, path: &JsonPath) -> Result<Vec<String>> {
    let path = path.key(key);
    let value = object.get(key).ok_or_else(|| path.error("missing (required: the list of pathway values)"))?;
    let items = string_list(value, &path)?;
    if items.is_empty() {
        return Err(path.error("must list at least one pathway value"));
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(path.index(i).error(format!("duplicate pathway value '{item}'")));
        }
    }
    Ok(items)
}

fn parse_model_value(root: &Value, path: &JsonPath) -> Result<Model> {
    let object = root.as_object().ok_or_else(|| path.error("the model must be a JSON object"))?;
    reject_unknown_keys(
        object,
        &["src_types", "tgt_types", "prop_stats", "prop_cov", "model"],
        path,
        "ConnPropsModel",
    )?;
    if let Some(model_name) = optional(object, "model") {
        let name = string(model_name, &path.key("model"))?;
        if name != "ConnPropsModel" {
            return Err(path.key("model").error(format!("only ConnPropsModel is supported, got '{name}'")));
        }
    }
    let src_types = type_list(object, "src_types", path)?;
    let tgt_types = type_list(object, "tgt_types", path)?;
    let stats_path = path.key("prop_stats");
    let stats = required(object, "prop_stats", path, "ConnPropsModel")?
        .as_object()
        .ok_or_else(|| stats_path.error("must be an object {property: {source: {target: spec}}}"))?;
    let mut notices = Vec::new();
    let mut properties = Vec::new();
    for (name, by_source) in stats {
        let property_path = stats_path.key(name);
        if name == N_SYN_PER_CONN {
            notices.push(format!("{}: ignored (synapses per connection come from the circuit)", property_path.0));
            continue;
        }
        check_property_name(name, &property_path.0)?;
        properties.push(parse_property(name, by_source, &src_types, &tgt_types, &property_path, &mut notices)?);
    }
    if properties.is_empty() {
        return Err(stats_path.error("no property to draw"));
    }
    let mut model = Model { src_types, tgt_types, properties, correlation: None, notices };
    if let Some(cov) = optional(object, "prop_cov") {
        model.correlation = parse_correlation(cov, &model, &path.key("prop_cov"), &stats_path)?;
    }
    Ok(model)
}

/// Datasets of an edge population that SONATA reserves: a property of that name would be written
/// into the edge group beside (or, for a tool reading the group, instead of) the real one.
pub const RESERVED_EDGE_DATASETS: [&str; 5] =
    ["source_node_id", "target_node_id", "edge_type_id", "edge_group_id", "edge_group_index"];

/// A property name that can be an edge group's dataset: not one SONATA reserves, not an HDF5
/// path or attribute-like name (`@library`, `a/b`, `.`), not a group SONATA defines
/// (`dynamics_params`). Errors at `path`.
pub fn check_property_name(name: &str, path: &str) -> Result<()> {
    let problem = if RESERVED_EDGE_DATASETS.contains(&name) {
        Some("is a dataset SONATA reserves for an edge population's ids and groups, not a synapse property".to_string())
    } else if name.starts_with('@') {
        Some("starts with '@', which SONATA reserves (e.g. @library)".to_string())
    } else if name == "dynamics_params" {
        Some("is the group SONATA reserves for dynamics parameters, not a synapse property".to_string())
    } else if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        Some("is not a dataset name (empty, '.', '..', or containing '/' or a NUL character)".to_string())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::config(path, format!("property '{name}' {problem}"))),
        None => Ok(()),
    }
}

fn parse_property(
    name: &str,
    by_source: &Value,
    src_types: &[String],
    tgt_types: &[String],
    path: &JsonPath,
    notices: &mut Vec<String>,
) -> Result<PropertyModel> {
    let by_source = by_source.as_object().ok_or_else(|| path.error("must be an object {source: {target: spec}}"))?;
    for key in by_source.keys() {
        if !src_types.iter().any(|s| s == key) {
            return Err(path.key(key).error(format!("'{key}' is not in src_types")));
        }
    }
    let mut pathways = Vec::with_capacity(src_types.len() * tgt_types.len());
    for source in src_types {
        let source_path = path.key(source);
        let by_target = by_source
            .get(source)
            .ok_or_else(|| {
                source_path.error(format!("missing: every source value in src_types needs a spec (here '{source}')"))
            })?
            .as_object()
            .ok_or_else(|| source_path.error("must be an object {target: spec}"))?;
        for key in by_target.keys() {
            if !tgt_types.iter().any(|t| t == key) {
                return Err(source_path.key(key).error(format!("'{key}' is not in tgt_types")));
            }
        }
        for target in tgt_types {
            let spec_path = source_path.key(target);
            let spec = by_target.get(target).ok_or_else(|| {
                spec_path.error(format!("missing: every target value in tgt_types needs a spec (here '{target}')"))
            })?;
            pathways.push(parse_spec(spec, &spec_path, notices)?);
        }
    }
    let column_type =
        pathways.iter().map(|p| p.natural_type).reduce(ColumnType::promote).expect("at least one pathway");
    Ok(PropertyModel { name: name.to_string(), pathways, column_type })
}

/// The distribution's own keys.
/// Every distribution type with its own parameters, in the order users think of them: the one
/// table the parser checks specs against and the page's editor builds its form from.
pub const DISTRIBUTIONS: [(&str, &[&str]); 13] = [
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
];

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
}

/// The [`SpecSchema`] of this version of the parser.
pub fn spec_schema() -> SpecSchema {
    SpecSchema {
        distributions: DISTRIBUTIONS
            .iter()
            .map(|(name, keys)| (name.to_string(), keys.iter().map(|k| k.to_string()).collect()))
            .collect(),
        common_keys: COMMON_KEYS.iter().filter(|k| **k != "type").map(|k| k.to_string()).collect(),
        dtypes: DTYPE_NAMES.iter().map(|k| k.to_string()).collect(),
    }
}

/// Parse one spec `{type, …}` at `path`.
fn parse_spec(value: &Value, path: &JsonPath, notices: &mut Vec<String>) -> Result<PathwaySpec> {
    let spec = value.as_object().ok_or_else(|| path.error("must be an object {\"type\": …}"))?;
    let type_path = path.key("type");
    let kind =
        spec.get("type").ok_or_else(|| type_path.error(format!("missing (one of: {})", distribution_types())))?;
    let kind = string(kind, &type_path)?;
    let own_keys = distribution_keys(&kind).ok_or_else(|| {
        type_path.error(format!("unknown distribution type '{kind}' (one of: {})", distribution_types()))
    })?;
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
        allowed.extend(COMMON_KEYS.iter().filter(|k| **k != "type"));
        return Err(path.key(key).error(format!("unknown key for a {kind} spec (allowed: {})", allowed.join(", "))));
    }
    let number = |key: &str| -> Result<f64> { finite_number(required(spec, key, path, &kind)?, &path.key(key)) };
    let non_negative = |key: &str| -> Result<f64> {
        let x = number(key)?;
        if x < 0.0 {
            return Err(path.key(key).error(format!("must be ≥ 0 for {kind}, got {}", Num(x))));
        }
        Ok(x)
    };
    let is_integer_json = |key: &str| spec.get(key).is_some_and(|v| v.is_i64() || v.is_u64());
    let mut natural_type = ColumnType::Float64;
    let distribution = match kind.as_str() {
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
            let min = extended_number(required(spec, "min", path, &kind)?, &path.key("min"))?;
            let max = extended_number(required(spec, "max", path, &kind)?, &path.key("max"))?;
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
            let (values, probabilities) = parse_discrete(spec, path, &kind)?;
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
    let shared_within =
        optional(spec, "shared_within").map(|v| boolean(v, &path.key("shared_within"))).transpose()?.unwrap_or(true);
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
        && [lower_bound, upper_bound].iter().flatten().any(|b| b.fract() != 0.0)
    {
        natural_type = ColumnType::Float64;
    }
    Ok(PathwaySpec { distribution, shared_within, lower_bound, upper_bound, dtype, natural_type })
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

/// Tolerance for symmetry and for semi-definite pivots in correlation matrices.
const MATRIX_TOLERANCE: f64 = 1e-12;

fn parse_correlation(
    value: &Value,
    model: &Model,
    path: &JsonPath,
    stats_path: &JsonPath,
) -> Result<Option<Correlation>> {
    let object = value.as_object().ok_or_else(|| path.error("must be an object {props: [...], cov: {...}}"))?;
    if object.is_empty() {
        return Ok(None);
    }
    reject_unknown_keys(object, &["props", "cov"], path, "prop_cov")?;
    let props_path = path.key("props");
    let names = string_list(required(object, "props", path, "prop_cov")?, &props_path)?;
    if names.is_empty() {
        return Err(props_path.error("must name at least one property"));
    }
    let mut properties = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if name == N_SYN_PER_CONN {
            return Err(props_path.index(i).error(format!("{N_SYN_PER_CONN} cannot be correlated")));
        }
        if names[..i].contains(name) {
            return Err(props_path.index(i).error(format!("'{name}' is listed twice")));
        }
        let index = model
            .property_index(name)
            .ok_or_else(|| props_path.index(i).error(format!("'{name}' is not a property in prop_stats")))?;
        properties.push(index);
    }
    let k = names.len();
    let cov_path = path.key("cov");
    let cov = required(object, "cov", path, "prop_cov")?
        .as_object()
        .ok_or_else(|| cov_path.error("must be an object {source: {target: matrix}}"))?;
    let mut factors = Vec::with_capacity(model.pathway_count());
    let mut matrices = Vec::with_capacity(model.pathway_count());
    for (s, source) in model.src_types.iter().enumerate() {
        let source_path = cov_path.key(source);
        let by_target = cov
            .get(source)
            .ok_or_else(|| source_path.error("missing: every source value needs a correlation matrix"))?
            .as_object()
            .ok_or_else(|| source_path.error("must be an object {target: matrix}"))?;
        for (t, target) in model.tgt_types.iter().enumerate() {
            let matrix_path = source_path.key(target);
            let matrix_value = by_target
                .get(target)
                .ok_or_else(|| matrix_path.error("missing: every target value needs a correlation matrix"))?;
            let matrix = parse_matrix(matrix_value, k, &matrix_path)?;
            factors.push(cholesky(&matrix, k).ok_or_else(|| matrix_path.error("must be positive semi-definite"))?);
            matrices.push(matrix);
            let pathway = model.pathway_index(s, t);
            let first = model.properties[properties[0]].pathways[pathway].shared_within;
            for (i, &p) in properties.iter().enumerate().skip(1) {
                if model.properties[p].pathways[pathway].shared_within != first {
                    return Err(stats_path.key(&names[i]).key(source).key(target).key("shared_within").error(format!(
                        "inconsistent shared_within among correlated properties ({} has {first})",
                        names[0]
                    )));
                }
            }
        }
    }
    Ok(Some(Correlation { properties, factors, matrices }))
}

fn parse_matrix(value: &Value, k: usize, path: &JsonPath) -> Result<Vec<f64>> {
    let rows = value.as_array().ok_or_else(|| path.error(format!("must be a {k}×{k} matrix (list of lists)")))?;
    if rows.len() != k {
        return Err(path.error(format!("must be {k}×{k} (one row per correlated property), got {} rows", rows.len())));
    }
    let mut matrix = Vec::with_capacity(k * k);
    for (i, row) in rows.iter().enumerate() {
        let row_path = path.index(i);
        let row = row.as_array().ok_or_else(|| row_path.error("must be a list of numbers"))?;
        if row.len() != k {
            return Err(row_path.error(format!("must have {k} entries, got {}", row.len())));
        }
        for (j, entry) in row.iter().enumerate() {
            matrix.push(finite_number(entry, &row_path.index(j))?);
        }
    }
    for i in 0..k {
        if matrix[i * k + i] != 1.0 {
            return Err(path
                .index(i)
                .index(i)
                .error(format!("diagonal must be 1 (a correlation matrix), got {}", matrix[i * k + i])));
        }
        for j in 0..i {
            let (a, b) = (matrix[i * k + j], matrix[j * k + i]);
            if (a - b).abs() > MATRIX_TOLERANCE {
                return Err(path.index(i).index(j).error(format!(
                    "matrix must be symmetric: [{i}][{j}] = {} but [{j}][{i}] = {}",
                    Num(a),
                    Num(b)
                )));
            }
            if a.abs() > 1.0 {
                return Err(path.index(i).index(j).error(format!("correlation must lie in [-1, 1], got {}", Num(a))));
            }
        }
    }
    Ok(matrix)
}

/// Lower Cholesky factor of a positive semi-definite matrix (zero columns for zero pivots), or
/// `None` when the matrix is not semi-definite.
fn cholesky(matrix: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut factor = vec![0.0; k * k];
    for j in 0..k {
        let mut pivot = matrix[j * k + j];
        for m in 0..j {
            pivot -= factor[j * k + m] * factor[j * k + m];
        }
        if pivot < -MATRIX_TOLERANCE {
            return None;
        }
        let diagonal = if pivot <= MATRIX_TOLERANCE { 0.0 } else { libm::sqrt(pivot) };
        factor[j * k + j] = diagonal;
        for i in j + 1..k {
            let mut sum = matrix[i * k + j];
            for m in 0..j {
                sum -= factor[i * k + m] * factor[j * k + m];
            }
            if diagonal == 0.0 {
                if sum.abs() > 1e-9 {
                    return None;
                }
            } else {
                factor[i * k + j] = sum / diagonal;
            }
        }
    }
    Some(factor)
}

/// Parse a single pathway spec (`{"type": "gamma", "mean": 1, "std": 0.5, …}`), for previews.
pub fn parse_pathway_spec(json: &str) -> Result<PathwaySpec> {
    parse_spec(&parse_json(json)?, &JsonPath::root(), &mut Vec::new())
}

/// What a validated task contains, for the page to show.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TaskSummary {
    /// Source pathway values.
    pub src_types: Vec<String>,
    /// Target pathway values.
    pub tgt_types: Vec<String>,
    /// Properties with their output column types.
    pub properties: Vec<PropertySummary>,
    /// Correlated property names, if any.
    pub correlated: Vec<String>,
    /// `pathway_property` of the task form.
    pub pathway_property: Option<String>,
    /// `random_seed` of the task form (a decimal string above 2^53 − 1 when serialized).
    #[serde(serialize_with = "serialize_seed")]
    pub seed: Option<u64>,
    /// `overwrite_if_exists` of the task form (false when absent).
    pub overwrite_if_exists: bool,
    /// `edge_populations` of the task form.
    pub edge_populations: Option<Vec<String>>,
    /// `fallback_pathway_value` of the task form.
    pub fallback_pathway_value: Option<String>,
    /// Accepted but ignored keys.
    pub notices: Vec<String>,
}

/// One property in a [`TaskSummary`].
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct PropertySummary {
    /// Property name.
    pub name: String,
    /// Output column type (numpy name).
    pub column_type: String,
}

impl Task {
    /// The summary shown after validation.
    pub fn summary(&self) -> TaskSummary {
        let model = &self.model;
        TaskSummary {
            src_types: model.src_types.clone(),
            tgt_types: model.tgt_types.clone(),
            properties: model
                .properties
                .iter()
                .map(|p| PropertySummary { name: p.name.clone(), column_type: p.column_type.name().to_string() })
                .collect(),
            correlated: model
                .correlation
                .iter()
                .flat_map(|c| c.properties.iter().map(|&i| model.properties[i].name.clone()))
                .collect(),
            pathway_property: self.pathway_property.clone(),
            seed: self.seed,
            overwrite_if_exists: self.overwrite_if_exists.unwrap_or(false),
            edge_populations: self.edge_populations.clone(),
            fallback_pathway_value: self.fallback_pathway_value.clone(),
            notices: model.notices.clone(),
        }
    }
}

/// The node property that picks pathways when neither the config nor the caller names one.
pub const DEFAULT_PATHWAY_PROPERTY: &str = "synapse_class";

/// Where a run setting's value comes from.
#[derive(Debug, Clone, Copy, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SettingSource {
    /// Given by the caller (a command-line flag, a page control the user changed, an API argument).
    Override,
    /// The config's task form.
    Config,
    /// Neither: the tool's default.
    Default,
}

/// A run setting's value and where it comes from, so that a page can show an override as one.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Setting<T> {
    /// The value the run uses.
    pub value: T,
    /// Where it comes from.
    pub source: SettingSource,
}

impl<T> Setting<T> {
    /// The override if given, else the config's value, else `default`.
    fn resolve(given: Option<T>, config: Option<T>, default: T) -> Self {
        match (given, config) {
            (Some(value), _) => Setting { value, source: SettingSource::Override },
            (None, Some(value)) => Setting { value, source: SettingSource::Config },
            (None, None) => Setting { value: default, source: SettingSource::Default },
        }
    }
}

/// What a caller sets over the config's task form; `None` leaves the config's value (or the
/// default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOverrides {
    /// Random seed.
    pub seed: Option<u64>,
    /// Node property picking the pathway.
    pub pathway_property: Option<String>,
    /// Pathway value of nodes without the property.
    pub fallback: Option<String>,
    /// Whether existing properties may be replaced.
    pub overwrite: Option<bool>,
    /// Edge populations to parameterize.
    pub populations: Option<Vec<String>>,
}

/// The settings a run actually uses, each with its source: one resolution shared by the command,
/// the page and the APIs, so that the same config and overrides give the same bits everywhere.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunSettings {
    /// Random seed; `None` (source default) when neither the config nor the caller gives one,
    /// which a run refuses. Serialized as a number up to 2^53 − 1 and as its decimal string
    /// above, so that JavaScript keeps every u64 seed exactly.
    #[serde(serialize_with = "serialize_seed_setting")]
    pub seed: Setting<Option<u64>>,
    /// Node property picking the pathway (default [`DEFAULT_PATHWAY_PROPERTY`]).
    pub pathway_property: Setting<String>,
    /// Pathway value of nodes without the property (default none: such nodes are an error).
    pub fallback: Setting<Option<String>>,
    /// Whether existing properties may be replaced (default false).
    pub overwrite: Setting<bool>,
    /// Edge populations to parameterize (default all).
    pub populations: Setting<Option<Vec<String>>>,
}

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
pub const MAX_EXACT_JS_INTEGER: u64 = (1 << 53) - 1;

/// A seed as JavaScript keeps it exactly: a number up to 2^53 − 1, else its decimal string.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum ExactSeed {
    Number(u64),
    Text(String),
}

fn exact_seed(seed: Option<u64>) -> Option<ExactSeed> {
    seed.map(|v| if v <= MAX_EXACT_JS_INTEGER { ExactSeed::Number(v) } else { ExactSeed::Text(v.to_string()) })
}

/// A seed, serialized with [`ExactSeed`].
fn serialize_seed<S: serde::Serializer>(seed: &Option<u64>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&exact_seed(*seed), serializer)
}

/// A seed setting, its value serialized with [`ExactSeed`].
fn serialize_seed_setting<S: serde::Serializer>(
    seed: &Setting<Option<u64>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Setting { value: exact_seed(seed.value), source: seed.source }, serializer)
}

impl Task {
    /// The settings of a run of this task with `overrides`.
    pub fn settings(&self, overrides: &RunOverrides) -> RunSettings {
        RunSettings {
            seed: Setting::resolve(overrides.seed.map(Some), self.seed.map(Some), None),
            pathway_property: Setting::resolve(
                overrides.pathway_property.clone(),
                self.pathway_property.clone(),
                DEFAULT_PATHWAY_PROPERTY.to_string(),
            ),
            fallback: Setting::resolve(
                overrides.fallback.clone().map(Some),
                self.fallback_pathway_value.clone().map(Some),
                None,
            ),
            overwrite: Setting::resolve(overrides.overwrite, self.overwrite_if_exists, false),
            populations: Setting::resolve(
                overrides.populations.clone().map(Some),
                self.edge_populations.clone().map(Some),
                None,
            ),
        }
    }
}
