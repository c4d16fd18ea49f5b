//! SONATA path resolution (design §4), the one place where a path a circuit config names becomes
//! the name of a file: manifest variables expanded (libsonata's rules: they may refer to each
//! other; unknown ones are errors), the result normalized lexically (`./`, `//`, `..` resolved),
//! absolute paths kept, relative ones taken from the config's own folder. The loaders, the output
//! layout and the copiers of every host use these names, so what is shown, hashed and copied is
//! the same file.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// Resolve `.` and `..` segments and repeated slashes of a POSIX path. Keeps a leading `/` (`..`
/// above the root stays at the root) and leading `..`s of a relative path; `""` and `.` give `""`.
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            part => parts.push(part),
        }
    }
    format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"))
}

/// `path` below folder `base` (both normalized; `base` `""` is the root of relative names).
pub fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') || base.is_empty() {
        normalize_path(path)
    } else {
        normalize_path(&format!("{base}/{path}"))
    }
}

/// Whether a config value is a URL (`https://…`) or scheme-relative (`//host/…`).
pub fn is_url(value: &str) -> bool {
    if value.starts_with("//") {
        return true;
    }
    let Some((scheme, _)) = value.split_once("://") else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// Whether a normalized name leaves its root (`..`, `../…`, absolute, or a URL).
pub fn is_outside(name: &str) -> bool {
    name.starts_with('/') || name == ".." || name.starts_with("../") || is_url(name)
}

/// Whether normalized `inner` is `outer` or lies below it.
pub fn is_within(inner: &str, outer: &str) -> bool {
    if outer.is_empty() {
        return !is_outside(inner);
    }
    inner == outer || inner.starts_with(&if outer.ends_with('/') { outer.to_string() } else { format!("{outer}/") })
}

/// The folder of a normalized name (`""` at the top).
pub fn folder_of(name: &str) -> String {
    match name.rfind('/') {
        None => String::new(),
        Some(0) => "/".to_string(),
        Some(slash) => name[..slash].to_string(),
    }
}

/// A name made safe to show on a terminal or in a log line: control characters and
/// direction overrides escaped as `\uXXXX`.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        let hidden = code < 0x20
            || (0x7f..=0x9f).contains(&code)
            || code == 0x2028
            || code == 0x2029
            || (0x202a..=0x202e).contains(&code)
            || (0x2066..=0x2069).contains(&code);
        if hidden {
            out.push_str(&format!("\\u{code:04x}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// The variable names in `text` (`$NAME`, letters, digits and `_`), with their byte ranges.
fn variables_in(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if i > start + 1 {
                found.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    found
}

/// `text` with each variable replaced by `lookup(name)` (which may fail).
fn substitute(text: &str, lookup: &mut dyn FnMut(&str) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut last = 0;
    for (start, end) in variables_in(text) {
        out.push_str(&text[last..start]);
        out.push_str(&lookup(&text[start..end])?);
        last = end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// The manifest's variables with their values expanded (they may refer to each other); `$BASE_DIR`
/// defaults to `.` (the config's folder). Errors name the variable (an unknown reference, a cycle,
/// a value that is not text).
pub fn expand_manifest(manifest: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    let empty = Map::new();
    let manifest = match manifest {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("manifest must be an object of \"$NAME\": path entries".to_string()),
    };
    let mut values: Vec<(String, String)> = vec![("$BASE_DIR".to_string(), ".".to_string())];
    for (name, value) in manifest {
        let valid = name.starts_with('$') && name[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("manifest: '{name}' is not a variable name ($ followed by letters, digits or _)"));
        }
        let Value::String(text) = value else {
            return Err(format!("manifest: {name} must be a string, got {}", super::js_json::stringify(value, None)));
        };
        match values.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = text.clone(),
            None => values.push((name.clone(), text.clone())),
        }
    }
    fn expand(
        name: &str,
        chain: &mut Vec<String>,
        values: &[(String, String)],
        expanded: &mut BTreeMap<String, String>,
    ) -> Result<String, String> {
        if let Some(done) = expanded.get(name) {
            return Ok(done.clone());
        }
        if chain.iter().any(|n| n == name) {
            chain.push(name.to_string());
            return Err(format!("manifest: variables refer to each other in a cycle ({})", chain.join(" → ")));
        }
        let raw = &values.iter().find(|(n, _)| n == name).expect("listed").1;
        chain.push(name.to_string());
        let text = substitute(raw, &mut |inner| {
            if !values.iter().any(|(n, _)| n == inner) {
                return Err(format!("manifest: {name} refers to the unknown variable {inner}"));
            }
            expand(inner, chain, values, expanded)
        })?;
        chain.pop();
        expanded.insert(name.to_string(), text.clone());
        Ok(text)
    }
    let mut expanded = BTreeMap::new();
    for (name, _) in &values {
        expand(name, &mut Vec::new(), &values, &mut expanded)?;
    }
    Ok(expanded)
}

/// The name of the file or folder a config value names: variables replaced, normalized, relative
/// to the config's folder `base` (a normalized name, `""` at the root). `None` for `""` (SONATA's
/// "not set", as libsonata reads it). A URL is kept as it is (a browser resolves it against the
/// circuit's URL). A backslash is refused: the same text would name different files on different
/// systems.
pub fn resolve_config_path(
    value: &str,
    variables: &BTreeMap<String, String>,
    base: &str,
) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    if is_url(value) {
        return Ok(Some(value.to_string()));
    }
    if value.contains('\\') {
        return Err(format!("'{}' contains a backslash; SONATA paths use /", printable(value)));
    }
    let text = substitute(value, &mut |name| {
        variables.get(name).cloned().ok_or_else(|| format!("unknown manifest variable {name} in '{value}'"))
    })?;
    Ok(Some(join_path(base, &text)))
}

/// One step of a key path into a circuit config: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KeyStep {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

impl std::fmt::Display for KeyStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStep::Key(key) => f.write_str(key),
            KeyStep::Index(index) => write!(f, "{index}"),
        }
    }
}

/// `components.morphologies_dir`: a key path as messages show it.
pub fn key_path_text(path: &[KeyStep]) -> String {
    path.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

/// A path a circuit config names, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathReference {
    /// Where in the config (`["networks", "nodes", 0, "nodes_file"]`).
    pub key_path: Vec<KeyStep>,
    /// The value as written.
    pub value: String,
    /// `file` or `dir`, as the key says (a probe of the file system has the last word).
    pub kind: String,
    /// `nodes`, `node_types`, `edges`, `edge_types`, `node_sets` or `other`.
    pub role: String,
}

/// Every path a circuit config names: the values of keys ending in `_file`, `_dir` or `_mesh` (and
/// of `alternate_morphologies`, whose `h5v1` entry is a file) in `components`, network entries and
/// their populations, every string of `components.provenance` (BBP's provenance files), plus the
/// top-level `node_sets_file`.
pub fn path_references(config: &Map<String, Value>) -> Vec<PathReference> {
    fn role_of(key: &str) -> &'static str {
        match key {
            "nodes_file" => "nodes",
            "node_types_file" => "node_types",
            "edges_file" => "edges",
            "edge_types_file" => "edge_types",
            "node_sets_file" => "node_sets",
            _ => "other",
        }
    }
    fn visit(object: &Value, key_path: &[KeyStep], context: Option<&str>, found: &mut Vec<PathReference>) {
        let Value::Object(map) = object else { return };
        for (key, value) in map {
            let mut here = key_path.to_vec();
            here.push(KeyStep::Key(key.clone()));
            let path_key = key.ends_with("_file") || key.ends_with("_dir") || key.ends_with("_mesh");
            match value {
                Value::String(text) if context.is_some() || path_key => {
                    let is_dir = key.ends_with("_dir") || (context == Some("alternate_morphologies") && key != "h5v1");
                    found.push(PathReference {
                        key_path: here,
                        value: text.clone(),
                        kind: if is_dir { "dir" } else { "file" }.to_string(),
                        role: role_of(key).to_string(),
                    });
                }
                Value::Object(_) => {
                    let parent_is_components = matches!(key_path.last(), Some(KeyStep::Key(k)) if k == "components");
                    let inner = if key == "alternate_morphologies" || (key == "provenance" && parent_is_components) {
                        Some(key.as_str())
                    } else {
                        None
                    };
                    visit(value, &here, inner, found);
                }
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    if let Some(Value::String(value)) = config.get("node_sets_file") {
        found.push(PathReference {
            key_path: vec![KeyStep::Key("node_sets_file".into())],
            value: value.clone(),
            kind: "file".to_string(),
            role: "node_sets".to_string(),
        });
    }
    if let Some(components) = config.get("components") {
        visit(components, &[KeyStep::Key("components".into())], None, &mut found);
    }
    for kind in ["nodes", "edges"] {
        if let Some(Value::Array(entries)) = config.get("networks").and_then(|n| n.get(kind)) {
            for (i, entry) in entries.iter().enumerate() {
                let path = [KeyStep::Key("networks".into()), KeyStep::Key(kind.into()), KeyStep::Index(i)];
                visit(entry, &path, None, &mut found);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_follows_posix_lexical_rules() {
        for (path, expected) in [
            ("./a//b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("", ""),
            (".", ""),
            ("/", "/"),
        ] {
            assert_eq!(normalize_path(path), expected, "{path}");
        }
        assert_eq!(join_path("circuit", "./nodes.h5"), "circuit/nodes.h5");
        assert_eq!(join_path("circuit", "/abs/x"), "/abs/x");
        assert_eq!(folder_of("/a"), "/");
        assert!(is_within("a/b", "a") && !is_within("ab", "a") && is_within("a", "") && !is_within("../a", ""));
        assert!(is_url("https://h/x") && is_url("//h/x") && !is_url("a/b://c") && !is_url("1x://y"));
    }

    #[test]
    fn manifest_variables_refer_to_each_other_and_unknown_ones_are_errors() {
        let manifest: Value =
            serde_json::json!({"$BASE_DIR": "./", "$NETWORK_DIR": "$BASE_DIR/networks", "$X": "$NETWORK_DIR/x"});
        let variables = expand_manifest(Some(&manifest)).unwrap();
        assert_eq!(variables["$X"], ".//networks/x");
        assert_eq!(resolve_config_path("$X/nodes.h5", &variables, "c").unwrap().unwrap(), "c/networks/x/nodes.h5");
        assert_eq!(resolve_config_path("", &variables, "c").unwrap(), None);
        assert_eq!(resolve_config_path("$Y/a", &variables, "").unwrap_err(), "unknown manifest variable $Y in '$Y/a'");
        let cycle = serde_json::json!({"$A": "$B", "$B": "$A"});
        assert!(expand_manifest(Some(&cycle)).unwrap_err().contains("cycle ($A → $B → $A)"));
        assert!(resolve_config_path("a\\b", &variables, "").unwrap_err().contains("backslash"));
        assert_eq!(printable("evil\u{1b}[31m"), "evil\\u001b[31m");
    }
}
