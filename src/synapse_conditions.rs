//! Conditions on a synapse's own attributes (design §2.7): which synapses of a pathway a spec's
//! case (`by_synapse`) or a rule's `synapse` selector applies to — a section type by name or
//! number, a range of `distance_soma` or `afferent_section_pos`, any edge dataset's values.
//!
//! One JSON form for both: `{attribute: test, …}` (terms ANDed), where a test is a value or a list
//! of values (`"afferent_section_type": ["basal", "apical"]`, `"spine_length": [0]`) or a range
//! `{"min": a, "max": b}` (a ≤ x < b; either end may be left out), so that consecutive ranges
//! split a pathway without overlap.

use serde_json::{Map, Value};

use crate::attributes::{check_attribute_name, section_type_code, SECTION_TYPES};
use crate::error::{Error, Num, Result};

/// What one attribute's value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeTest {
    /// One of these values (exact; section type names already turned into their numbers).
    OneOf(Vec<f64>),
    /// In `[min, max)`; an absent end is unbounded.
    Range {
        /// Lowest accepted value (inclusive).
        min: Option<f64>,
        /// First value no longer accepted (exclusive).
        max: Option<f64>,
    },
}

impl AttributeTest {
    /// Whether `x` passes (a NaN never does).
    #[inline]
    pub fn holds(&self, x: f64) -> bool {
        match self {
            AttributeTest::OneOf(values) => values.contains(&x),
            AttributeTest::Range { min, max } => min.is_none_or(|m| x >= m) && max.is_none_or(|m| x < m),
        }
    }
}

/// One attribute and its test.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeTerm {
    /// The edge attribute (an edge dataset or `distance_soma`).
    pub attribute: String,
    /// What its value must be.
    pub test: AttributeTest,
    /// Whether the test names section types (then a 0 in the data means the file numbers section
    /// types from 0, which names cannot follow: an error, not a silent mismatch).
    pub by_section_name: bool,
    /// The test as the user wrote it (for exports and messages).
    pub written: Value,
}

/// Terms over a synapse's attributes, ANDed (no term: every synapse).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynapseCondition {
    /// The terms.
    pub terms: Vec<AttributeTerm>,
}

impl SynapseCondition {
    /// Parse `{attribute: test, …}` at `path` (errors name the key).
    pub fn parse(value: &Value, path: &str) -> Result<SynapseCondition> {
        let object = value.as_object().ok_or_else(|| {
            Error::config(path, "must be an object {attribute: value, [values] or {\"min\": a, \"max\": b}}")
        })?;
        if object.is_empty() {
            return Err(Error::config(path, "names no attribute (leave it out to select every synapse)"));
        }
        let terms = object
            .iter()
            .map(|(attribute, test)| parse_term(attribute, test, &format!("{path}.{attribute}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(SynapseCondition { terms })
    }

    /// The condition as JSON, as it was written.
    pub fn to_json(&self) -> Value {
        Value::Object(Map::from_iter(self.terms.iter().map(|t| (t.attribute.clone(), t.written.clone()))))
    }

    /// The attributes the condition reads, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.attribute.as_str())
    }

    /// Whether the condition selects every synapse.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// One line for messages and `--explain`: `afferent_section_type in [apical], distance_soma in [0, 150)`.
    pub fn text(&self) -> String {
        self.terms
            .iter()
            .map(|t| match &t.test {
                AttributeTest::OneOf(_) => format!("{} in {}", t.attribute, t.written),
                AttributeTest::Range { min, max } => format!(
                    "{} in [{}, {})",
                    t.attribute,
                    min.map_or("-inf".to_string(), |m| Num(m).to_string()),
                    max.map_or("inf".to_string(), |m| Num(m).to_string())
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_term(attribute: &str, test: &Value, path: &str) -> Result<AttributeTerm> {
    check_attribute_name(attribute, path)?;
    let section_types = attribute.ends_with("section_type");
    let mut by_section_name = false;
    let mut value_of = |v: &Value| -> Result<f64> {
        match v {
            Value::Number(n) if section_types => n
                .as_f64()
                .filter(|x| x.fract() == 0.0 && (0.0..=4.0).contains(x))
                .ok_or_else(|| Error::config(path, format!("{n} is not a section type number (0 to 4)"))),
            Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).ok_or_else(|| Error::config(path, "values must be finite numbers")),
            Value::String(s) if section_types => {
                by_section_name = true;
                section_type_code(s).map(f64::from).ok_or_else(|| {
                    let names: Vec<&str> = SECTION_TYPES.iter().map(|(name, _)| *name).collect();
                    Error::config(path, format!("unknown section type '{s}' (one of: {}, or a number)", names.join(", ")))
                })
            }
            Value::String(s) => Err(Error::config(
                path,
                format!("'{s}' is text, but {attribute} holds numbers (names are for afferent_section_type and efferent_section_type)"),
            )),
            _ => Err(Error::config(path, "values must be numbers")),
        }
    };
    let test_value = match test {
        Value::Array(items) if items.is_empty() => return Err(Error::config(path, "an empty list selects no synapse")),
        Value::Array(items) => AttributeTest::OneOf(items.iter().map(&mut value_of).collect::<Result<_>>()?),
        Value::Object(range) => {
            for key in range.keys() {
                if key != "min" && key != "max" {
                    return Err(Error::config(format!("{path}.{key}"), "unknown key (a range has min and max)"));
                }
            }
            let end = |key: &str| -> Result<Option<f64>> {
                range
                    .get(key)
                    .map(|v| {
                        v.as_f64()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| Error::config(format!("{path}.{key}"), "must be a finite number"))
                    })
                    .transpose()
            };
            let (min, max) = (end("min")?, end("max")?);
            if min.is_none() && max.is_none() {
                return Err(Error::config(path, "a range needs min, max or both"));
            }
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo >= hi {
                    return Err(Error::config(
                        path,
                        format!("min ({}) must be below max ({}): the range is [min, max)", Num(lo), Num(hi)),
                    ));
                }
            }
            AttributeTest::Range { min, max }
        }
        single => AttributeTest::OneOf(vec![value_of(single)?]),
    };
    Ok(AttributeTerm { attribute: attribute.to_string(), test: test_value, by_section_name, written: test.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_names_and_half_open_ranges() {
        let condition = SynapseCondition::parse(
            &json!({"afferent_section_type": ["basal", 4], "distance_soma": {"min": 0, "max": 150}}),
            "rules[0].synapse",
        )
        .unwrap();
        assert_eq!(condition.terms[0].test, AttributeTest::OneOf(vec![3.0, 4.0]));
        assert!(condition.terms[0].by_section_name);
        assert!(condition.terms[1].test.holds(0.0));
        assert!(condition.terms[1].test.holds(149.999));
        assert!(!condition.terms[1].test.holds(150.0));
        assert!(!condition.terms[1].test.holds(f64::NAN));
        assert_eq!(condition.text(), "afferent_section_type in [\"basal\",4], distance_soma in [0, 150)");
        assert_eq!(
            condition.to_json(),
            json!({"afferent_section_type": ["basal", 4], "distance_soma": {"min": 0, "max": 150}})
        );
        let open = SynapseCondition::parse(&json!({"afferent_section_pos": {"min": 0.5}}), "s").unwrap();
        assert!(open.terms[0].test.holds(1e300));
        assert!(!open.terms[0].by_section_name);
    }

    #[test]
    fn bad_conditions_name_their_key() {
        let error = |value: Value| SynapseCondition::parse(&value, "rules[2].synapse").unwrap_err().to_string();
        assert!(error(json!({"afferent_section_type": ["dendrite"]}))
            .contains("rules[2].synapse.afferent_section_type: unknown section type 'dendrite'"));
        assert!(error(json!({"afferent_section_type": [1.5]})).contains("1.5 is not a section type number (0 to 4)"));
        assert!(error(json!({"spine_length": ["long"]})).contains("'long' is text, but spine_length holds numbers"));
        assert!(error(json!({"distance_soma": {"min": 150, "max": 150}})).contains("min (150) must be below max (150)"));
        assert!(
            error(json!({"distance_soma": {"from": 1}})).contains("rules[2].synapse.distance_soma.from: unknown key")
        );
        assert!(error(json!({"distance_soma": []})).contains("an empty list selects no synapse"));
        assert!(error(json!({})).contains("names no attribute"));
        assert!(error(json!({"source_node_id": [1]})).contains("is not an edge attribute"));
    }
}
