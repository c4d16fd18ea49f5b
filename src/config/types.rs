//! What a validated model is: per property and pathway a spec (its law, bounds, dtype, sharing),
//! correlated properties, and the storage types values are written in.

use crate::attributes::{AttributeLaw, ScaleBy};
use crate::distributions::Distribution;
use crate::error::Error;
use crate::synapse_conditions::SynapseCondition;

/// Property that ConnPropsModel uses for synapses per connection; we take counts from the data.
pub const N_SYN_PER_CONN: &str = "n_syn_per_conn";

/// Largest Poisson mean accepted: the Poisson CDF (and so the quantiles and the histogram overlays)
/// is accurate to 1e-6 up to here; beyond, a normal law is the better model anyway.
pub const POISSON_MEAN_LIMIT: f64 = 1e6;

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
    pub(super) fn promote(self, other: ColumnType) -> ColumnType {
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
    pub(super) fn from_name(name: &str) -> Option<Dtype> {
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
    /// A law that depends on a per-synapse attribute (`lin_delay`, `fz_delay`): then it is drawn
    /// instead of `distribution`, which only lays out the histogram's bins (design §2.7).
    pub attribute_law: Option<AttributeLaw>,
    /// A factor of an edge attribute the drawn value is multiplied by, before bounds and dtype.
    pub scale_by: Option<ScaleBy>,
    /// Per-synapse alternatives (`by_synapse`): then each synapse is drawn from the first case
    /// its attributes satisfy, and `distribution` only lays out the histogram's bins.
    pub by_synapse: Option<Box<SynapseCases>>,
    /// The observed rows of an `empirical` spec (design §2.2): then each connection (or synapse)
    /// takes the value of a row drawn uniformly from the table's own stream, and `distribution`
    /// is the rows' discrete law (equal weights), for statistics and overlays.
    pub empirical: Option<Box<EmpiricalTable>>,
}

/// The rows of one property in an `empirical` spec: `values[r]` is the property's value in row
/// `r` of the pathway's table `name`, whose row every property naming the table shares.
#[derive(Debug, Clone, PartialEq)]
pub struct EmpiricalTable {
    /// The table's name (its stream's key, with the seed and the edge population).
    pub name: String,
    /// The property's value in each row, in row order (finite).
    pub values: Vec<f64>,
}

/// A spec's per-synapse alternatives (`by_synapse`, design §2.7): the first case whose condition
/// holds gives the synapse its spec; the other synapses take `otherwise` — none: an error naming
/// the first such synapse, never a value nobody asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseCases {
    /// The cases, in the order they are tried.
    pub cases: Vec<(SynapseCondition, PathwaySpec)>,
    /// The spec of synapses no case selects.
    pub otherwise: Option<PathwaySpec>,
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
        if let Some(cases) = &self.by_synapse {
            let mut parts: Vec<String> = cases
                .cases
                .iter()
                .map(|(condition, spec)| format!("where {}: {}", condition.text(), spec.formula()))
                .collect();
            parts.push(match &cases.otherwise {
                Some(spec) => format!("otherwise: {}", spec.formula()),
                None => "no other synapse".to_string(),
            });
            return format!("by synapse — {}", parts.join(" | "));
        }
        let mut text = match (&self.attribute_law, &self.empirical) {
            (Some(law), _) => law.formula(),
            (None, Some(table)) => format!("row of table {} ({} rows)", table.name, table.values.len()),
            (None, None) => self.distribution.formula(),
        };
        if let Some(scale) = &self.scale_by {
            text.push_str(&format!(", {}", scale.formula()));
        }
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

    /// The per-synapse attributes the spec reads (its law's, its factor's; for `by_synapse`, the
    /// cases' conditions and specs, then `otherwise`'s), in that order, each once.
    pub fn attributes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.attribute_law.iter().map(|law| law.attribute()).collect();
        if let Some(scale) = &self.scale_by {
            names.push(&scale.attribute);
        }
        if let Some(cases) = &self.by_synapse {
            for (condition, spec) in &cases.cases {
                names.extend(condition.attributes());
                names.extend(spec.attributes());
            }
            names.extend(cases.otherwise.iter().flat_map(PathwaySpec::attributes));
        }
        let mut unique: Vec<&str> = Vec::with_capacity(names.len());
        for name in names {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        unique
    }

    /// Whether the spec's values depend on where each synapse sits (an attribute law or factor):
    /// then they are drawn per synapse and have no law known before the run.
    pub fn depends_on_attributes(&self) -> bool {
        self.attribute_law.is_some() || self.scale_by.is_some() || self.by_synapse.is_some()
    }

    /// Mean and standard deviation of the spec's distribution, before bounds and dtype (for a
    /// spec that [depends on attributes](PathwaySpec::depends_on_attributes), of the law that
    /// lays out its bins).
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

    /// The per-synapse attributes the model reads (design §2.7), in the order of first use over
    /// properties and pathways: what a host must give with every chunk (empty for most models).
    pub fn edge_attributes(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for property in &self.properties {
            for spec in &property.pathways {
                for name in spec.attributes() {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names
    }
}
