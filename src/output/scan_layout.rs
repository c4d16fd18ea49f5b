//! A scan's output on disk (design §5.5): one circuit per point, `DIR/<point>/circuit_config.json`
//! with its own sidecar, and every file no point changes stored once under `DIR/shared/`, named
//! from each point's config by a relative path (`../shared/…`). Keyed streams make this exact: an
//! edge population none of whose drawn (property, pathway) cells any point changes draws the same
//! bits in every point, so its edges file is written once. Pure decisions, for every host.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::circuit_config::read_circuit_config;
use super::js_json;
use super::layout::{output_layout, Layout, LayoutRequest};
use super::paths::printable;
use crate::scan::{Change, Changes};

/// The folder, under a scan's output root, of the files stored once for every point.
pub const SHARED_DIR: &str = "shared";

/// The scan's description at the root of its output (the core's `ScanPlan::scan_json`).
pub const SCAN_FILE: &str = "scan.json";

/// A pathway a population drew a property on.
#[derive(Debug, Clone, Deserialize)]
pub struct DrawnPathway {
    /// Source pathway value.
    pub source: String,
    /// Target pathway value.
    pub target: String,
}

/// A property a population drew, on its pathways.
#[derive(Debug, Clone, Deserialize)]
pub struct DrawnProperty {
    /// The property (an edge dataset).
    pub property: String,
    /// The pathways it was drawn on.
    pub pathways: Vec<DrawnPathway>,
}

/// What one edge population of the scan's first point drew (the run's statistics).
#[derive(Debug, Clone, Deserialize)]
pub struct DrawnPopulation {
    /// The loader's name of its edges file.
    pub file: String,
    /// The properties it drew.
    pub properties: Vec<DrawnProperty>,
}

/// The edges files each point writes itself (loader names, in first-seen order): those holding a
/// population that drew a (property, pathway) cell some point's [`Changes`] (relative to the first
/// point) may change. Every other written edges file holds the same bits in every point. A change
/// naming a pathway value no population drew (a value the first point drew under the fallback)
/// counts for every value on that side.
pub fn per_point_edge_files(changes: &[Changes], drawn: &[DrawnPopulation]) -> Vec<String> {
    let pathways = || drawn.iter().flat_map(|d| d.properties.iter().flat_map(|p| p.pathways.iter()));
    let sources: HashSet<&str> = pathways().map(|w| w.source.as_str()).collect();
    let targets: HashSet<&str> = pathways().map(|w| w.target.as_str()).collect();
    let known = |value: &Option<String>, seen: &HashSet<&str>| value.clone().filter(|v| seen.contains(v.as_str()));
    let changes: Vec<Changes> = changes
        .iter()
        .map(|c| match c {
            Changes::Everything { .. } => c.clone(),
            Changes::Some { changed } => Changes::Some {
                changed: changed
                    .iter()
                    .map(|x| Change {
                        property: x.property.clone(),
                        source: known(&x.source, &sources),
                        target: known(&x.target, &targets),
                    })
                    .collect(),
            },
        })
        .collect();
    let mut files: Vec<String> = Vec::new();
    for population in drawn {
        let changed = population
            .properties
            .iter()
            .any(|p| p.pathways.iter().any(|w| changes.iter().any(|c| c.affects(&p.property, &w.source, &w.target))));
        if changed && !files.contains(&population.file) {
            files.push(population.file.clone());
        }
    }
    files
}

/// Where a scan's files go: what each point holds itself, what is stored once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanLayout {
    /// The shared folder under the scan's root ([`SHARED_DIR`]).
    pub shared_dir: String,
    /// How a point names a shared file: this prefix, then the file's single-run output path.
    pub shared_prefix: String,
    /// The single run's layout (outputs relative to a point's folder or to the shared folder).
    pub layout: Layout,
    /// Per layout entry: whether each point holds it itself (its config; edges files it writes).
    pub per_point: Vec<bool>,
    /// Each point's layout as its sidecar records it: entries' outputs as the point names them
    /// (`../shared/nodes.h5`), the config's text with every path it names so rewritten.
    pub point: Layout,
}

/// The layout of a scan over the circuit `request` describes, where the edges files
/// `per_point_inputs` (loader names) are written in each point and every other file the config
/// names is stored once under `shared/`. Each point's `circuit_config.json` is the input's with
/// every path it names set to where that file is from the point's folder (`./e/edges.h5`,
/// `../shared/nodes.h5`, `../shared` for the circuit's own folder); empty values stay unset. A
/// scan needs a circuit config (plain files have none to name shared files from).
pub fn scan_layout(request: &LayoutRequest, per_point_inputs: &[String]) -> Result<ScanLayout, String> {
    let source = request.config.as_ref().ok_or_else(|| {
        "a scan needs a circuit_config.json (its points name the files they share by path): give --circuit the circuit's config".to_string()
    })?;
    let config = read_circuit_config(&source.text, &source.name)?;
    let layout = output_layout(Some((&config.name, &config.text, &config.json)), &config.references)?;
    let shared_prefix = format!("../{SHARED_DIR}/");
    let per_point: Vec<bool> =
        layout.entries.iter().map(|e| e.kind == "file" && per_point_inputs.contains(&e.input)).collect();
    for input in per_point_inputs {
        if !layout.entries.iter().any(|e| &e.input == input) {
            return Err(format!("{}: not a file of the circuit's layout", printable(input)));
        }
    }
    let named = |index: usize| -> String {
        let output = &layout.entries[index].output;
        match (per_point[index], output.is_empty()) {
            (true, _) => format!("./{output}"),
            (false, true) => format!("../{SHARED_DIR}"),
            (false, false) => format!("{shared_prefix}{output}"),
        }
    };
    let index_of: HashMap<(&str, &str), usize> =
        layout.entries.iter().enumerate().map(|(i, e)| ((e.kind.as_str(), e.input.as_str()), i)).collect();
    let mut json = Value::Object(config.json.clone());
    for reference in &config.references {
        let Some(name) = reference.name.as_deref() else { continue };
        let index = index_of
            .get(&(reference.reference.kind.as_str(), name))
            .ok_or_else(|| format!("{}: not in the circuit's layout", printable(name)))?;
        let mut at = &mut json;
        for step in &reference.reference.key_path {
            let next = match step {
                super::paths::KeyStep::Key(key) => at.get_mut(key.as_str()),
                super::paths::KeyStep::Index(i) => at.get_mut(*i),
            };
            at = next.ok_or_else(|| "a path the config names is not in it".to_string())?;
        }
        *at = Value::String(named(*index));
    }
    let mut point = layout.clone();
    for (index, entry) in point.entries.iter_mut().enumerate() {
        entry.output = if per_point[index] { entry.output.clone() } else { named(index) };
    }
    if let Some(config) = point.config.as_mut() {
        config.text = format!("{}\n", js_json::stringify(&json, Some(2)));
        config.rewritten = true;
    }
    Ok(ScanLayout { shared_dir: SHARED_DIR.to_string(), shared_prefix, layout, per_point, point })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::layout::ConfigSource;

    fn request(text: &str) -> LayoutRequest {
        LayoutRequest {
            config: Some(ConfigSource { name: "c/circuit_config.json".into(), text: text.into() }),
            files: Vec::new(),
        }
    }

    #[test]
    fn points_name_their_edges_locally_and_everything_else_in_the_shared_folder() {
        let text = r#"{"manifest": {"$BASE_DIR": "."}, "components": {"morphologies_dir": "$BASE_DIR/morph", "x_dir": "", "mechanisms_dir": "."},
            "networks": {"nodes": [{"nodes_file": "$BASE_DIR/n/nodes.h5"}], "edges": [{"edges_file": "e1/edges.h5"}, {"edges_file": "../out/e2.h5"}]}}"#;
        let scan = scan_layout(&request(text), &["c/e1/edges.h5".to_string()]).unwrap();
        let config: Value = serde_json::from_str(&scan.point.config.as_ref().unwrap().text).unwrap();
        assert_eq!(config["components"]["morphologies_dir"], "../shared/morph");
        assert_eq!(config["components"]["x_dir"], "", "unset stays unset");
        assert_eq!(config["components"]["mechanisms_dir"], "../shared");
        assert_eq!(config["networks"]["nodes"][0]["nodes_file"], "../shared/n/nodes.h5");
        assert_eq!(config["networks"]["edges"][0]["edges_file"], "./e1/edges.h5");
        assert_eq!(config["networks"]["edges"][1]["edges_file"], "../shared/external/out/e2.h5");
        let outputs: Vec<&str> = scan.point.entries.iter().map(|e| e.output.as_str()).collect();
        assert!(outputs.contains(&"e1/edges.h5") && outputs.contains(&"../shared/n/nodes.h5"), "{outputs:?}");
        assert!(scan_layout(&request(text), &["c/nope.h5".to_string()]).unwrap_err().contains("not a file"));
        let plain = LayoutRequest { config: None, files: Vec::new() };
        assert!(scan_layout(&plain, &[]).unwrap_err().contains("needs a circuit_config.json"));
    }

    #[test]
    fn an_edges_file_is_per_point_only_when_a_point_changes_a_cell_it_drew() {
        let drawn = |file: &str, s: &str| DrawnPopulation {
            file: file.into(),
            properties: vec![DrawnProperty {
                property: "conductance".into(),
                pathways: vec![DrawnPathway { source: s.into(), target: "EXC".into() }],
            }],
        };
        let populations = [drawn("a.h5", "EXC"), drawn("b.h5", "INH"), drawn("a.h5", "INH")];
        let change = |s: Option<&str>| Changes::Some {
            changed: vec![Change {
                property: "conductance".into(),
                source: s.map(Into::into),
                target: Some("EXC".into()),
            }],
        };
        assert_eq!(per_point_edge_files(&[change(Some("INH"))], &populations), ["b.h5", "a.h5"]);
        // GLIA: drawn by no population (its edges were drawn under the fallback): every source.
        assert_eq!(per_point_edge_files(&[change(Some("GLIA"))], &populations), ["a.h5", "b.h5"]);
        let other_property = Changes::Some {
            changed: vec![Change { property: "u_syn".into(), source: Some("INH".into()), target: None }],
        };
        assert_eq!(per_point_edge_files(&[other_property], &populations), Vec::<String>::new());
        assert_eq!(per_point_edge_files(&[change(None)], &populations), ["a.h5", "b.h5"]);
        let everything = Changes::Everything { reasons: vec!["random_seed: 1 → 2".into()] };
        assert_eq!(per_point_edge_files(&[everything], &populations), ["a.h5", "b.h5"]);
    }
}
