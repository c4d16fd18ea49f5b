//! JSON as scans and patches read and write it: Python's bare `NaN`/`Infinity` kept through a
//! round trip (a fitted `truncnorm` has `"min": -Infinity`), paths printed as the config parser
//! prints them (`prop_stats.conductance.EXC.INH.mean`, `rules[2].assign`), and equality of specs
//! that does not tell `1` from `1.0` (both draw the same bits).

use serde_json::Value;

use crate::error::{Error, Result};

/// Marker a bare non-finite token becomes while the text is a [`Value`]: a string no config can
/// hold (JSON text must escape its control character), turned back into the bare token on output.
const MARKER: &str = "\u{1}synparam-scan-non-finite:";

/// The bare tokens Python's `json.dumps` writes.
const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];

/// Parse config text; bare `NaN`/`Infinity`/`-Infinity` in value position are kept as markers so
/// that [`to_text`] writes them back and the config parser names their key.
pub(crate) fn parse(text: &str, what: &str) -> Result<Value> {
    let mut cleaned = String::with_capacity(text.len());
    let (mut in_string, mut escaped, mut expect_value) = (false, false, true);
    let mut containers: Vec<bool> = Vec::new(); // true: object
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else {
            match c {
                '"' => {
                    in_string = true;
                    expect_value = false;
                }
                '{' | '[' => {
                    containers.push(c == '{');
                    expect_value = c == '[';
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
                        if let Some(token) = TOKENS.into_iter().find(|t| rest.starts_with(t)) {
                            cleaned.push_str(&format!("\"\\u0001synparam-scan-non-finite:{token}\""));
                            rest = &rest[token.len()..];
                            expect_value = false;
                            continue;
                        }
                    }
                    expect_value = false;
                }
            }
        }
        cleaned.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&cleaned).map_err(|e| Error::config("$", format!("{what}: not valid JSON: {e}")))
}

/// The text of a value, pretty (two-space indents) or compact, non-finite markers written back as
/// Python's bare tokens so that the config parser reads them as it reads the user's text.
pub(crate) fn to_text(value: &Value, pretty: bool) -> String {
    let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    // Serializing a Value cannot fail (its keys are strings); an empty text would fail to parse.
    let mut text = text.unwrap_or_default();
    for token in TOKENS {
        text = text.replace(&format!("\"\\u0001synparam-scan-non-finite:{token}\""), token);
    }
    text
}

/// Whether a value is a marker of a bare non-finite token (so: a number, not a string).
pub(crate) fn is_non_finite_marker(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(MARKER))
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// A path as the config parser prints it: `prop_stats.conductance.EXC.INH.mean`, `rules[2]`,
/// `prop_stats.conductance["L2/3 PC"]` for keys that are not simple; `$` for the root.
pub(crate) fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(key) => {
                let simple = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_-@/:+".contains(c));
                if !simple {
                    out.push_str(&format!("[{}]", Value::from(key.as_str())));
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
            }
        }
    }
    if out.is_empty() {
        "$".to_string()
    } else {
        out
    }
}

/// Replace the value at `path` (which exists: it was found by walking the same document).
pub(crate) fn set(root: &mut Value, path: &[Seg], value: Value) -> bool {
    let mut at = root;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => at.get_mut(k.as_str()),
            Seg::Index(i) => at.get_mut(*i),
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    *at = value;
    true
}

/// Equality of two config values as the parser reads them: numbers by value (`1` and `1.0` draw
/// the same bits; integers beyond 2^53 exactly), objects whatever their key order.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64(), x.as_i64(), y.as_i64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// How many list levels a value has: 0 for a scalar or an object, 1 for a list (of anything but
/// lists, or empty), 1 + the shallowest element's for a list of lists.
pub(crate) fn list_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) if !items.is_empty() => 1 + items.iter().map(list_depth).min().unwrap_or(0),
        Value::Array(_) => 1,
        _ => 0,
    }
}

/// A value as a message shows it: compact, cut (by characters) at 60.
pub(crate) fn shown(value: &Value) -> String {
    let text = to_text(value, false);
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
