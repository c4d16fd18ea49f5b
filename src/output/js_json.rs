//! JSON text exactly as JavaScript's `JSON.parse` then `JSON.stringify` give it: the bytes the
//! sidecar and a rewritten circuit config have always had (the page and the command wrote them
//! with `JSON.stringify`), so that a model's SHA-256 recorded by any earlier version still verifies.
//! JavaScript's number formatting (`1.0` → `1`, `1e21` → `1e+21`, shortest round trip), its key
//! order (integer-like keys first, ascending, then insertion order) and its string escapes.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Whether `JSON.parse` keeps every number of `text` exactly: false when a run of 16 or more digits
/// not followed by `.`, `e` or `E` exceeds 2^53 − 1 (a `random_seed` may be any u64, which a
/// JavaScript number would round) — the test the page and the command have always made (so a long
/// fraction's digits count too, as they did).
pub fn parses_exactly(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start >= 16 && !matches!(bytes.get(i), Some(b'.' | b'e' | b'E')) {
            let digits = &text[start..i];
            let too_big = digits.parse::<u128>().map_or(true, |n| n > u128::from(MAX_SAFE_INTEGER));
            if too_big {
                return false;
            }
        }
    }
    true
}

/// A JavaScript number as `String(x)` writes it (`JSON.stringify` writes non-finite ones `null`).
pub fn js_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_string();
    }
    if x == 0.0 {
        return "0".to_string(); // also −0
    }
    ryu_js::Buffer::new().format_finite(x).to_string()
}

/// A JavaScript number as `String(x)` writes it (`NaN`, `Infinity` included): the text a numeric
/// node property has as a pathway value in every host.
pub fn number_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        js_number(x)
    }
}

fn write_number(number: &serde_json::Number, out: &mut String) {
    if let Some(n) = number.as_u64().filter(|&n| n <= MAX_SAFE_INTEGER) {
        out.push_str(&n.to_string());
    } else if let Some(n) = number.as_i64().filter(|n| n.unsigned_abs() <= MAX_SAFE_INTEGER) {
        out.push_str(&n.to_string());
    } else {
        // As a double, the value JSON.parse gives.
        out.push_str(&js_number(number.as_f64().unwrap_or(f64::NAN)));
    }
}

/// `JSON.stringify`'s quoting: `"` and `\` escaped, \b \f \n \r \t short, other controls `\u00xx`.
fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An "array index" key (`"0"`, `"17"`, below 2^32 − 1): JavaScript objects list these first.
fn is_array_index(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'))
        && key.parse::<u64>().is_ok_and(|n| n < (1 << 32) - 1)
}

/// An object's entries in JavaScript's order: array indices ascending, then the rest as inserted.
fn js_ordered(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut indices: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| is_array_index(k)).collect();
    indices.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(0));
    indices.extend(map.iter().filter(|(k, _)| !is_array_index(k)));
    indices
}

fn write_value(value: &Value, indent: Option<usize>, level: usize, out: &mut String) {
    let pad = |level: usize, out: &mut String| {
        if let Some(width) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', width * level));
        }
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(level + 1, out);
                write_value(item, indent, level + 1, out);
            }
            pad(level, out);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in js_ordered(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(level + 1, out);
                write_string(key, out);
                out.push_str(if indent.is_some() { ": " } else { ":" });
                write_value(item, indent, level + 1, out);
            }
            pad(level, out);
            out.push('}');
        }
    }
}

/// `JSON.stringify(value, null, indent)` of a parsed value.
pub fn stringify(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_value(value, indent, 0, &mut out);
    out
}

/// The text whose SHA-256 identifies a model: `JSON.stringify(JSON.parse(text))` (so that a rerun
/// from the sidecar hashes the same), or the text itself when JavaScript would not read it exactly
/// (an integer beyond 2^53, ConnPropsModel's bare NaN, not JSON).
pub fn canonical_config_text(text: &str) -> String {
    if !parses_exactly(text) {
        return text.to_string();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => stringify(&value, None),
        Err(_) => text.to_string(),
    }
}

/// SHA-256 (hex) of a text's UTF-8 bytes.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        // Expectations from Node 20: String(x).
        let cases = [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (123456789012345680000.0, "123456789012345680000"),
            (5e-324, "5e-324"),
            (-0.0, "0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.000001, "0.000001"),
            (2.5e-6, "0.0000025"),
            (f64::NAN, "null"),
        ];
        for (x, expected) in cases {
            assert_eq!(js_number(x), expected, "{x:e}");
        }
    }

    #[test]
    fn objects_list_integer_keys_first_and_strings_escape_as_json_stringify() {
        let value: Value =
            serde_json::from_str(r#"{"b": 1.0, "10": [], "2": {}, "01": "\u001b\"é\n", "a": [1, 2.50]}"#).unwrap();
        // Node 20: JSON.stringify(JSON.parse(the same text)).
        assert_eq!(stringify(&value, None), r#"{"2":{},"10":[],"b":1,"01":"\u001b\"é\n","a":[1,2.5]}"#);
        assert_eq!(
            stringify(&value, Some(2)),
            "{\n  \"2\": {},\n  \"10\": [],\n  \"b\": 1,\n  \"01\": \"\\u001b\\\"é\\n\",\n  \"a\": [\n    1,\n    2.5\n  ]\n}"
        );
    }

    #[test]
    fn a_seed_beyond_2_53_keeps_the_text() {
        assert!(parses_exactly(r#"{"random_seed": 9007199254740991, "x": 1.5e300}"#));
        assert!(!parses_exactly(r#"{"random_seed": 18446744073709551615}"#));
        assert!(!parses_exactly(r#"{"x": 0.12345678901234567890}"#), "as the page's test always read it");
        let text = r#"{"random_seed": 18446744073709551615}"#;
        assert_eq!(canonical_config_text(text), text);
        assert_eq!(canonical_config_text(r#"{ "a" : 1.0 }"#), r#"{"a":1}"#);
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
