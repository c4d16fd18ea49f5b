//! A SONATA `circuit_config.json` as every host reads it before it opens a file: the node and
//! edge files it names (with their populations and node-types CSVs) and every path it names,
//! resolved by [`super::paths`]. The hosts open the files; what the config says is decided here.

use serde::Serialize;
use serde_json::{Map, Value};

use super::paths::{
    expand_manifest, folder_of, key_path_text, normalize_path, path_references, resolve_config_path, KeyStep,
    PathReference,
};

/// A path the config names, with the name it resolves to (`None` for `""`, SONATA's "not set").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedReference {
    /// Where and what (`key_path`, `value`, `kind`, `role`).
    #[serde(flatten)]
    pub reference: PathReference,
    /// The file or folder name (relative to the root the config's name is relative to).
    pub name: Option<String>,
}

/// A node or edge file of `networks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkFile {
    /// Its name.
    pub name: String,
    /// A node file's `node_types_file`, if set.
    pub node_types_file: Option<String>,
    /// The populations the entry declares (`{name: {type, …}}`), if it does.
    pub populations: Option<Map<String, Value>>,
}

/// What a circuit config names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircuitConfig {
    /// The config's own name.
    pub name: String,
    /// Its text, as read.
    #[serde(skip)]
    pub text: String,
    /// Its JSON.
    #[serde(skip)]
    pub json: Map<String, Value>,
    /// Every path it names, resolved.
    pub references: Vec<ResolvedReference>,
    /// `networks.nodes`.
    pub node_files: Vec<NetworkFile>,
    /// `networks.edges`.
    pub edge_files: Vec<NetworkFile>,
}

/// Read the circuit config `text` whose name is `name` (relative names resolve from its folder).
/// Errors say what is wrong, for the host to show after the config's file name.
pub fn read_circuit_config(text: &str, name: &str) -> Result<CircuitConfig, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(json) = json else {
        return Err("the circuit config must be a JSON object".to_string());
    };
    let variables = expand_manifest(json.get("manifest"))?;
    let base = folder_of(&normalize_path(name));
    let resolve = |value: &str, key_path: &[KeyStep]| -> Result<Option<String>, String> {
        resolve_config_path(value, &variables, &base).map_err(|e| format!("{}: {e}", key_path_text(key_path)))
    };
    let mut references = Vec::new();
    for reference in path_references(&json) {
        let resolved = resolve(&reference.value, &reference.key_path)?;
        references.push(ResolvedReference { reference, name: resolved });
    }
    let mut files: [Vec<NetworkFile>; 2] = [Vec::new(), Vec::new()];
    for (slot, kind) in ["nodes", "edges"].into_iter().enumerate() {
        let entries = match json.get("networks").and_then(|n| n.get(kind)) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(format!("networks.{kind} must be a list")),
        };
        for (i, entry) in entries.iter().enumerate() {
            let key_path = |key: &str| {
                vec![
                    KeyStep::Key("networks".into()),
                    KeyStep::Key(kind.into()),
                    KeyStep::Index(i),
                    KeyStep::Key(key.into()),
                ]
            };
            let file_key = format!("{kind}_file");
            let file = match entry.get(&file_key) {
                Some(Value::String(value)) if !value.is_empty() => {
                    resolve(value, &key_path(&file_key))?.expect("not empty")
                }
                _ => return Err(format!("{}: must name a file", key_path_text(&key_path(&file_key)))),
            };
            let node_types_file = match entry.get("node_types_file") {
                Some(Value::String(value)) if kind == "nodes" && !value.is_empty() => {
                    resolve(value, &key_path("node_types_file"))?
                }
                _ => None,
            };
            let populations = match entry.get("populations") {
                Some(Value::Object(populations)) => Some(populations.clone()),
                _ => None,
            };
            files[slot].push(NetworkFile { name: file, node_types_file, populations });
        }
    }
    let [node_files, edge_files] = files;
    Ok(CircuitConfig { name: name.to_string(), text: text.to_string(), json, references, node_files, edge_files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_obi_one_config_names_its_files_from_its_own_folder() {
        let text = r#"{"manifest": {"$BASE_DIR": "./"}, "components": {"morphologies_dir": "", "mechanisms_dir": "$BASE_DIR/mod",
            "provenance": {"id_mapping": "id_mapping.json"}},
            "networks": {"nodes": [{"nodes_file": "$BASE_DIR/S1/nodes.h5", "node_types_file": "",
                "populations": {"S1": {"type": "biophysical", "alternate_morphologies": {"h5v1": "m.h5", "neurolucida-asc": "asc"}}}}],
              "edges": [{"edges_file": "../shared/edges.h5", "populations": {"S1__S1": {"type": "chemical"}}}]},
            "node_sets_file": "node_sets.json"}"#;
        let config = read_circuit_config(text, "circuit/circuit_config.json").unwrap();
        assert_eq!(config.node_files[0].name, "circuit/S1/nodes.h5");
        assert_eq!(config.node_files[0].node_types_file, None);
        assert_eq!(config.edge_files[0].name, "shared/edges.h5");
        let named: Vec<(String, Option<&str>, &str)> = config
            .references
            .iter()
            .map(|r| (key_path_text(&r.reference.key_path), r.name.as_deref(), r.reference.kind.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("node_sets_file".to_string(), Some("circuit/node_sets.json"), "file"),
                ("components.morphologies_dir".to_string(), None, "dir"),
                ("components.mechanisms_dir".to_string(), Some("circuit/mod"), "dir"),
                ("components.provenance.id_mapping".to_string(), Some("circuit/id_mapping.json"), "file"),
                ("networks.nodes.0.nodes_file".to_string(), Some("circuit/S1/nodes.h5"), "file"),
                ("networks.nodes.0.node_types_file".to_string(), None, "file"),
                (
                    "networks.nodes.0.populations.S1.alternate_morphologies.h5v1".to_string(),
                    Some("circuit/m.h5"),
                    "file"
                ),
                (
                    "networks.nodes.0.populations.S1.alternate_morphologies.neurolucida-asc".to_string(),
                    Some("circuit/asc"),
                    "dir"
                ),
                ("networks.edges.0.edges_file".to_string(), Some("shared/edges.h5"), "file"),
            ]
        );
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        assert!(read_circuit_config("{", "c.json").unwrap_err().starts_with("not valid JSON ("));
        assert_eq!(read_circuit_config("[]", "c.json").unwrap_err(), "the circuit config must be a JSON object");
        assert_eq!(
            read_circuit_config(r#"{"networks": {"edges": {}}}"#, "c.json").unwrap_err(),
            "networks.edges must be a list"
        );
        assert_eq!(
            read_circuit_config(r#"{"networks": {"edges": [{"edges_file": ""}]}}"#, "c.json").unwrap_err(),
            "networks.edges.0.edges_file: must name a file"
        );
        assert_eq!(
            read_circuit_config(r#"{"networks": {"nodes": [{"nodes_file": "$X/n.h5"}]}}"#, "c.json").unwrap_err(),
            "networks.nodes.0.nodes_file: unknown manifest variable $X in '$X/n.h5'"
        );
    }
}
