//! The crate's one error type. Every variant carries the context a modeller needs to find the
//! problem (JSON path, population, property) and its message is shown to users unchanged.

use thiserror::Error;

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// The model or task config is invalid at `path` (e.g. `prop_stats.conductance.EXC.INH.std`).
    #[error("{path}: {message}")]
    Config {
        /// JSON path of the offending key.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// Node pathway values that the model does not list.
    #[error(
        "{role} node population '{population}' has {property} values missing from {types_key}: {}",
        values.join(", ")
    )]
    MissingPathwayValues {
        /// `source` or `target`.
        role: &'static str,
        /// Node population name.
        population: String,
        /// The pathway property.
        property: String,
        /// `src_types` or `tgt_types`.
        types_key: &'static str,
        /// The values not listed, sorted.
        values: Vec<String>,
    },
    /// Nodes without a pathway value while no fallback value is set.
    #[error(
        "{role} node population '{population}' has {count} node(s) without a {property} value (first: node {first_node}); set a fallback pathway value to parameterize them"
    )]
    MissingPathwayProperty {
        /// `source` or `target`.
        role: &'static str,
        /// Node population name.
        population: String,
        /// The pathway property.
        property: String,
        /// How many nodes lack it.
        count: usize,
        /// The first such node id.
        first_node: u64,
    },
    /// Input data (Arrow, edge chunk) is malformed; `context` names the table and column.
    #[error("{context}: {message}")]
    Input {
        /// Which input: e.g. `edge chunk of 'default' column source_node_id`.
        context: String,
        /// What is wrong with it.
        message: String,
    },
    /// A drawn value cannot be stored: not finite, or outside its dtype or its dataset's type.
    #[error(
        "prop_stats.{property}.{source_type}.{target_type}: drawn value {} {reason} (edge {edge_id}); adjust the distribution, bounds or dtype",
        Num(*.value)
    )]
    ValueOutOfRange {
        /// Property name.
        property: String,
        /// Source pathway value.
        source_type: String,
        /// Target pathway value.
        target_type: String,
        /// The value after bounds.
        value: f64,
        /// What is wrong with it, e.g. `does not fit dtype uint16` or `is not finite`.
        reason: String,
        /// Global edge id of the synapse.
        edge_id: u64,
    },
}

impl Error {
    /// A config error at `path`.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { path: path.into(), message: message.into() }
    }

    /// An input error in `context`.
    pub fn input(context: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input { context: context.into(), message: message.into() }
    }

    /// A short machine-readable kind, used as the JS error's `name`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "ConfigError",
            Error::MissingPathwayValues { .. } => "MissingPathwayValuesError",
            Error::MissingPathwayProperty { .. } => "MissingPathwayPropertyError",
            Error::Input { .. } => "InputError",
            Error::ValueOutOfRange { .. } => "ValueOutOfRangeError",
        }
    }

    /// The JSON path for config errors, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Config { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// A number as messages show it: the shortest text that reads back as the same number, with an
/// exponent (`1e+39`, `5e-324`) when plain digits would run long, as JavaScript prints numbers.
#[derive(Debug, Clone, Copy)]
pub struct Num(pub f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        if x.is_nan() {
            return f.write_str("NaN");
        }
        if x.is_infinite() {
            return f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        }
        let magnitude = x.abs();
        if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
            let text = format!("{x:e}");
            return match text.split_once('e') {
                Some((mantissa, exponent)) if !exponent.starts_with('-') => write!(f, "{mantissa}e+{exponent}"),
                _ => f.write_str(&text),
            };
        }
        write!(f, "{x}")
    }
}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;
