//! Reading config JSON with the paths errors name: `prop_stats.conductance.EXC.INH.std`, Python's
//! bare `NaN`/`Infinity` read in value position so the error can name the key.

use serde_json::{Map, Value};

use crate::error::{Error, Num, Result};

/// A JSON path under construction, printed as `prop_stats.conductance.EXC.INH.std` or `…p[2]`.
#[derive(Clone)]
pub(super) struct JsonPath(pub(super) String);

impl JsonPath {
    pub(super) fn root() -> Self {
        JsonPath(String::new())
    }

    pub(super) fn key(&self, key: &str) -> Self {
        let simple = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_-@/:+".contains(c));
        let segment = if simple { key.to_string() } else { format!("[{}]", Value::from(key)) };
        if self.0.is_empty() || !simple {
            JsonPath(format!("{}{}", self.0, segment))
        } else {
            JsonPath(format!("{}.{}", self.0, segment))
        }
    }

    pub(super) fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{i}]", self.0))
    }

    pub(super) fn error(&self, message: impl Into<String>) -> Error {
        Error::config(if self.0.is_empty() { "$".to_string() } else { self.0.clone() }, message)
    }
}

/// Python's `json.dumps` writes bare `NaN`/`Infinity`; strict JSON parsers refuse them with a
/// line/column message. We turn them into marker strings so the error can name the key instead.
const NON_FINITE_MARKER: &str = "\u{1}non-finite:";

pub(super) fn parse_json(text: &str) -> Result<Value> {
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

pub(super) fn describe(value: &Value) -> String {
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

pub(super) fn optional<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

pub(super) fn required<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &JsonPath,
    what: &str,
) -> Result<&'a Value> {
    object.get(key).ok_or_else(|| path.key(key).error(format!("missing (required for {what})")))
}

pub(super) fn reject_unknown_keys(
    object: &Map<String, Value>,
    allowed: &[&str],
    path: &JsonPath,
    what: &str,
) -> Result<()> {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(path.key(key).error(format!("unknown key in {what} (allowed: {})", allowed.join(", "))));
        }
    }
    Ok(())
}

pub(super) fn finite_number(value: &Value, path: &JsonPath) -> Result<f64> {
    if let Some(x) = non_finite_marker(value) {
        return Err(path.error(format!("must be a finite number, got {}", Num(x))));
    }
    let x = value.as_f64().ok_or_else(|| path.error(format!("must be a number, got {}", describe(value))))?;
    Ok(x)
}

/// A number that may be ±Infinity (truncation windows), never NaN.
pub(super) fn extended_number(value: &Value, path: &JsonPath) -> Result<f64> {
    match non_finite_marker(value) {
        Some(x) if x.is_nan() => Err(path.error("must be a number, got NaN")),
        Some(x) => Ok(x),
        None => finite_number(value, path),
    }
}

pub(super) fn string(value: &Value, path: &JsonPath) -> Result<String> {
    value.as_str().map(str::to_string).ok_or_else(|| path.error(format!("must be a string, got {}", describe(value))))
}

pub(super) fn string_list(value: &Value, path: &JsonPath) -> Result<Vec<String>> {
    let items = value.as_array().ok_or_else(|| path.error("must be a list of strings"))?;
    items.iter().enumerate().map(|(i, v)| string(v, &path.index(i))).collect()
}

pub(super) fn boolean(value: &Value, path: &JsonPath) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        other => Err(path.error(format!("must be true/false (or 1/0), got {}", describe(other)))),
    }
}

pub(super) fn seed_value(value: &Value, path: &JsonPath) -> Result<u64> {
    value.as_u64().ok_or_else(|| path.error(format!("must be a non-negative integer, got {}", describe(value))))
}

pub(super) fn type_list(object: &Map<String, Value>, key: &str, path: &JsonPath) -> Result<Vec<String>> {
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
