//! A parameterized circuit as output (design §5.2): where every file and folder the input circuit
//! names goes under the output root, the circuit config rewritten only where a path must change,
//! and the list of every output file with where it comes from. Pure decisions: the command copies
//! files on disk by them, the page's worker composes a zip, Python's Dask path writes a folder.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::circuit_config::ResolvedReference;
use super::js_json;
use super::paths::{folder_of, is_outside, is_within, key_path_text, normalize_path, printable, KeyStep};

/// Folder, under the output root, for files the config names outside its own folder.
pub const EXTERNAL_DIR: &str = "external";

/// Name of the provenance sidecar at the root of an output circuit; never given to an input.
pub const PROVENANCE_FILE: &str = "parameterization.json";

/// Where one input file or folder goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutEntry {
    /// The loader's name of the input.
    pub input: String,
    /// Its path under the output root (`""`: the root itself, for the circuit's own folder).
    pub output: String,
    /// `file` or `dir`.
    pub kind: String,
    /// `nodes`, `edges`, `node_types`, … or `other` (as the config's key says).
    pub role: String,
}

/// The circuit config in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOutput {
    /// The input config's name.
    pub input: String,
    /// Its path in the output (the config's own file name).
    pub output: String,
    /// Whether a path in it changed (files outside its folder moved to `external/`).
    pub rewritten: bool,
    /// Its text in the output: the input's as it was, or rewritten.
    pub text: String,
}

/// Where each file of a circuit goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Every file and folder named, once each.
    pub entries: Vec<LayoutEntry>,
    /// The config, when the circuit has one.
    pub config: Option<ConfigOutput>,
    /// Key paths of the config's empty values (`""`: "not set" in SONATA).
    pub unset: Vec<String>,
}

/// An output path that is safe to create under an output root or inside a zip: relative, POSIX,
/// no `..`, no empty, `.` or drive-like segment, no backslash or control character.
pub fn safe_output_path(output: &str) -> Result<String, String> {
    let path = normalize_path(output);
    let drive_like = path.len() >= 2 && path.as_bytes()[0].is_ascii_alphabetic() && path.as_bytes()[1] == b':';
    let unsafe_path = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|part| part == ".." || part == "." || part.is_empty())
        || path.chars().any(|c| c == '\\' || (c as u32) < 0x20 || c as u32 == 0x7f)
        || drive_like;
    if unsafe_path {
        return Err(format!("refusing the output path '{}': it is not a plain relative path", printable(output)));
    }
    Ok(path)
}

/// Longest common folder of normalized paths (`""` when none).
fn common_folder(paths: &[String]) -> String {
    let Some(first) = paths.first() else { return String::new() };
    let first_folder = folder_of(first);
    let mut common: Vec<&str> = first_folder.split('/').collect();
    for path in &paths[1..] {
        let folder = folder_of(path);
        let parts: Vec<&str> = folder.split('/').collect();
        let shared = common.iter().zip(&parts).take_while(|(a, b)| a == b).count();
        common.truncate(shared);
    }
    common.join("/")
}

/// Set `value` at `key_path` in a JSON tree (the path exists: it was read from it).
fn set_at(root: &mut Value, key_path: &[KeyStep], value: String) {
    let mut target = root;
    for step in key_path {
        target = match step {
            KeyStep::Key(key) => target.get_mut(key.as_str()).expect("a path read from the config"),
            KeyStep::Index(index) => target.get_mut(*index).expect("a path read from the config"),
        };
    }
    *target = Value::String(value);
}

struct Entries {
    entries: Vec<LayoutEntry>,
    by_output: HashMap<String, String>,
    by_input: HashMap<String, usize>,
}

impl Entries {
    /// Add `input` at `output` (once per input and kind); two inputs at one output are an error.
    fn add(&mut self, input: &str, output: String, kind: &str, role: &str) -> Result<usize, String> {
        let key = format!("{kind}:{input}");
        if let Some(&index) = self.by_input.get(&key) {
            return Ok(index);
        }
        if !output.is_empty() {
            safe_output_path(&output)?;
        }
        if let Some(other) = self.by_output.get(&output) {
            return Err(format!(
                "two inputs would both be written as {}: {} and {}",
                printable(if output.is_empty() { "." } else { &output }),
                printable(other),
                printable(input)
            ));
        }
        self.by_output.insert(output.clone(), input.to_string());
        self.by_input.insert(key, self.entries.len());
        self.entries.push(LayoutEntry {
            input: input.to_string(),
            output,
            kind: kind.to_string(),
            role: role.to_string(),
        });
        Ok(self.entries.len() - 1)
    }
}

/// Where each file of a circuit goes in its output: the config (`name`, `text`, `json`) and the
/// references it names, or — for plain files without a config — their references alone (kept at
/// their paths below their common folder). Files the config names outside its folder go to
/// `external/` (keeping their path below the leading `../`), and only those config entries
/// change. A folder that is the circuit's own folder (a component `.` or `$BASE_DIR`) gets output
/// `""` (its contents are mirrored around the files placed by name). Empty values are listed in
/// `unset`. Two inputs that would land on one output path are an error naming both.
pub fn output_layout(
    config: Option<(&str, &str, &Map<String, Value>)>,
    references: &[ResolvedReference],
) -> Result<Layout, String> {
    let mut entries = Entries { entries: Vec::new(), by_output: HashMap::new(), by_input: HashMap::new() };
    let mut unset = Vec::new();
    let Some((config_name, config_text, json)) = config else {
        let names: Vec<String> = references.iter().map(|r| normalize_path(r.name.as_deref().unwrap_or(""))).collect();
        let root = common_folder(&names);
        for (reference, name) in references.iter().zip(&names) {
            let output = if root.is_empty() {
                name.trim_start_matches('/').to_string()
            } else {
                name[root.len() + 1..].to_string()
            };
            entries.add(
                reference.name.as_deref().unwrap_or(""),
                output,
                &reference.reference.kind,
                &reference.reference.role,
            )?;
        }
        return Ok(Layout { entries: entries.entries, config: None, unset });
    };
    let root = folder_of(&normalize_path(config_name));
    let mut rewritten_json = Value::Object(json.clone());
    let mut rewritten = false;
    let config_output = config_name.rsplit('/').next().unwrap_or(config_name).to_string();
    for reference in references {
        let key_path = &reference.reference.key_path;
        let Some(name) = reference.name.as_deref() else {
            unset.push(key_path_text(key_path));
            continue;
        };
        let (kind, role) = (reference.reference.kind.as_str(), reference.reference.role.as_str());
        let inside = !is_outside(name) && (root.is_empty() || is_within(name, &root));
        if inside {
            let relative = if root.is_empty() {
                name.to_string()
            } else if name == root {
                String::new()
            } else {
                name[root.len() + 1..].to_string()
            };
            if relative.is_empty() && kind != "dir" {
                return Err(format!("{}: names the circuit's folder, not a file", key_path_text(key_path)));
            }
            if relative == config_output && role != "other" {
                return Err(format!("{}: names the circuit config itself", key_path_text(key_path)));
            }
            entries.add(name, relative, kind, role)?;
            continue;
        }
        // Outside the config's folder: under external/, keeping the path below its leading
        // "../"s (or "/", or a URL's host), numbered only if two such paths meet.
        let index = match entries.by_input.get(&format!("{kind}:{name}")) {
            Some(&index) => index,
            None => {
                let mut kept = name;
                if let Some((_, rest)) = kept.split_once("://").filter(|_| super::paths::is_url(kept)) {
                    kept = rest.split_once('/').map_or("", |(_, path)| path);
                }
                while let Some(rest) = kept.strip_prefix("../") {
                    kept = rest;
                }
                let kept = normalize_path(kept.trim_start_matches('/'));
                let kept = if kept.is_empty() { "root".to_string() } else { kept };
                let mut output = format!("{EXTERNAL_DIR}/{kept}");
                let mut n = 2;
                while entries.by_output.contains_key(&output) {
                    output = format!("{EXTERNAL_DIR}/{n}/{kept}");
                    n += 1;
                }
                entries.add(name, output, kind, role)?
            }
        };
        set_at(&mut rewritten_json, key_path, format!("./{}", entries.entries[index].output));
        rewritten = true;
    }
    if let Some(other) = entries.by_output.get(&config_output) {
        return Err(format!(
            "the circuit config and {} would both be written as {}",
            printable(other),
            printable(&config_output)
        ));
    }
    let text =
        if rewritten { format!("{}\n", js_json::stringify(&rewritten_json, Some(2))) } else { config_text.to_string() };
    Ok(Layout {
        entries: entries.entries,
        unset,
        config: Some(ConfigOutput { input: config_name.to_string(), output: config_output, rewritten, text }),
    })
}

/// A circuit config as a host read it (its name relative to the host's root, its text).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigSource {
    /// The config's name.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A plain node or edges file given without a config.
#[derive(Debug, Clone, Deserialize)]
pub struct PlainFile {
    /// Its name.
    pub name: String,
    /// `nodes` or `edges`.
    pub role: String,
}

/// What a host asks a layout of: a circuit config, or plain files.
#[derive(Debug, Clone, Deserialize)]
pub struct LayoutRequest {
    /// The config, if the circuit has one.
    #[serde(default)]
    pub config: Option<ConfigSource>,
    /// Plain files, when it has none.
    #[serde(default)]
    pub files: Vec<PlainFile>,
}

/// The layout of a circuit as a host describes it ([`output_layout`]).
pub fn circuit_layout(request: &LayoutRequest) -> Result<Layout, String> {
    match &request.config {
        Some(source) => {
            let config = super::circuit_config::read_circuit_config(&source.text, &source.name)?;
            output_layout(Some((&config.name, &config.text, &config.json)), &config.references)
        }
        None => {
            let references: Vec<ResolvedReference> = request
                .files
                .iter()
                .map(|file| ResolvedReference {
                    reference: super::paths::PathReference {
                        key_path: Vec::new(),
                        value: file.name.clone(),
                        kind: "file".to_string(),
                        role: file.role.clone(),
                    },
                    name: Some(file.name.clone()),
                })
                .collect();
            output_layout(None, &references)
        }
    }
}

/// What a host found of a layout entry on its file system.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FoundEntry {
    /// Whether it exists (an entry that does not is left out, and named by the host).
    pub present: bool,
    /// `file` or `dir`, as found.
    pub kind: String,
    /// A folder's files, relative to it.
    #[serde(default)]
    pub files: Vec<String>,
}

/// Where an output file comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputFile {
    /// Its path under the output root.
    pub output: String,
    /// `config` (the layout's config text), `written` (an edges file the run wrote) or `input`.
    pub from: &'static str,
    /// The layout entry it belongs to (not for the config).
    pub entry: Option<usize>,
    /// For a folder's file: its index in that entry's `files`.
    pub file: Option<usize>,
}

/// Every file of the output circuit and where it comes from, each output path once, in a fixed
/// order: the config, the files the circuit names (`written` for the edges files the run wrote),
/// then the files of the folders it names — skipping any path already taken, so a file placed by
/// name always wins over a folder's file at the same place and mirroring a folder can never
/// replace a parameterized file. The sidecar's path is never given to an input.
pub fn output_files(layout: &Layout, found: &[FoundEntry], written: &[String]) -> Result<Vec<OutputFile>, String> {
    if found.len() != layout.entries.len() {
        return Err(format!("{} entries found for a layout of {}", found.len(), layout.entries.len()));
    }
    let written: HashSet<&str> = written.iter().map(String::as_str).collect();
    let mut files = Vec::new();
    let mut taken: HashSet<String> = HashSet::from([PROVENANCE_FILE.to_string()]);
    let mut take =
        |output: String, from: &'static str, entry: Option<usize>, file: Option<usize>| -> Result<bool, String> {
            if taken.contains(&output) {
                return Ok(false);
            }
            taken.insert(output.clone());
            files.push(OutputFile { output: safe_output_path(&output)?, from, entry, file });
            Ok(true)
        };
    if let Some(config) = &layout.config {
        take(config.output.clone(), "config", None, None)?;
    }
    for (index, (entry, found)) in layout.entries.iter().zip(found).enumerate() {
        if !found.present || found.kind != "file" {
            continue;
        }
        let from = if written.contains(entry.input.as_str()) { "written" } else { "input" };
        if !take(entry.output.clone(), from, Some(index), None)? {
            return Err(format!(
                "{} would be written as {}, a path synparam reserves",
                printable(&entry.input),
                printable(&entry.output)
            ));
        }
    }
    for (index, (entry, found)) in layout.entries.iter().zip(found).enumerate() {
        if !found.present || found.kind != "dir" {
            continue;
        }
        for (file, relative) in found.files.iter().enumerate() {
            let output =
                if entry.output.is_empty() { relative.clone() } else { format!("{}/{relative}", entry.output) };
            take(output, "input", Some(index), Some(file))?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::super::circuit_config::read_circuit_config;
    use super::*;

    fn layout_of(text: &str, name: &str) -> Result<Layout, String> {
        let config = read_circuit_config(text, name).unwrap();
        output_layout(Some((&config.name, &config.text, &config.json)), &config.references)
    }

    #[test]
    fn files_outside_the_config_folder_go_to_external_and_only_their_entries_change() {
        let text = r#"{"version": 2.3, "components": {"morphologies_dir": "", "x_dir": "."},
            "networks": {"nodes": [{"nodes_file": "/abs/nodes.h5"}], "edges": [{"edges_file": "../shared/edges.h5"}, {"edges_file": "e/edges.h5"}]}}"#;
        let layout = layout_of(text, "c/circuit_config.json").unwrap();
        let placed: Vec<(&str, &str)> = layout.entries.iter().map(|e| (e.input.as_str(), e.output.as_str())).collect();
        assert_eq!(
            placed,
            [
                ("c", ""),
                ("/abs/nodes.h5", "external/abs/nodes.h5"),
                ("shared/edges.h5", "external/shared/edges.h5"),
                ("c/e/edges.h5", "e/edges.h5")
            ]
        );
        assert_eq!(layout.unset, ["components.morphologies_dir"]);
        let config = layout.config.unwrap();
        assert!(config.rewritten);
        // JSON.stringify(json, null, 2) + "\n": 2.3 stays 2.3, the rest as it was.
        assert!(
            config.text.starts_with("{\n  \"version\": 2.3,\n  \"components\": {\n    \"morphologies_dir\": \"\",\n"),
            "{}",
            config.text
        );
        assert!(config.text.contains("\"nodes_file\": \"./external/abs/nodes.h5\""));
        assert!(config.text.ends_with("}\n"));
        // A config without outside paths is kept byte for byte.
        let kept = layout_of(r#"{"networks": {"edges": [{"edges_file": "e.h5"}]}}"#, "circuit_config.json").unwrap();
        assert_eq!(kept.config.unwrap().text, r#"{"networks": {"edges": [{"edges_file": "e.h5"}]}}"#);
    }

    #[test]
    fn unsafe_and_colliding_outputs_are_refused() {
        assert!(safe_output_path("a/../../b").unwrap_err().contains("not a plain relative path"));
        assert!(
            safe_output_path("c:/x").is_err()
                && safe_output_path("a\\b").is_err()
                && safe_output_path("a/\u{7}").is_err()
        );
        assert_eq!(safe_output_path("./a//b").unwrap(), "a/b");
        let error =
            layout_of(r#"{"networks": {"edges": [{"edges_file": "circuit_config.json"}]}}"#, "circuit_config.json")
                .unwrap_err();
        assert_eq!(error, "networks.edges.0.edges_file: names the circuit config itself");
        let error = layout_of(r#"{"components": {"a_file": "../x/f", "b_file": "../y/../x/f"}}"#, "c/c.json").unwrap();
        assert_eq!(error.entries.len(), 1, "one input, one entry");
    }

    #[test]
    fn a_named_file_wins_over_a_folders_file_and_the_sidecar_path_is_reserved() {
        let layout = layout_of(
            r#"{"components": {"here_dir": "."}, "networks": {"edges": [{"edges_file": "edges.h5"}]}}"#,
            "circuit_config.json",
        )
        .unwrap();
        let found = [
            FoundEntry {
                present: true,
                kind: "dir".into(),
                files: vec![
                    "edges.h5".into(),
                    "parameterization.json".into(),
                    "other.txt".into(),
                    "circuit_config.json".into(),
                ],
            },
            FoundEntry { present: true, kind: "file".into(), files: vec![] },
        ];
        let files = output_files(&layout, &found, &["edges.h5".to_string()]).unwrap();
        let listed: Vec<(&str, &str)> = files.iter().map(|f| (f.output.as_str(), f.from)).collect();
        assert_eq!(listed, [("circuit_config.json", "config"), ("edges.h5", "written"), ("other.txt", "input")]);
    }
}
