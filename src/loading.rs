//! What a circuit's loader decides from what it read (design §4): which populations of a file it
//! loads, whether an edge or node population's datasets make sense, which edge populations go
//! because their nodes did not load, and when nothing can be parameterized. Both hosts (h5wasm in
//! JavaScript, h5py in Python) read the HDF5 metadata and ask these functions, so a circuit loads
//! alike everywhere and every message is written once. A host's own read error (an unreadable
//! dataset, a size its file cannot hold: see [`crate::datasets`]) stays the host's: it is passed
//! as [`Read::Failed`] and handed back where it decides.

use serde::{Deserialize, Serialize};

use crate::config::Fallback;
use crate::output::paths::printable;

/// Node or edge population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PopulationKind {
    /// A node population (`/nodes/<name>`).
    Nodes,
    /// An edge population (`/edges/<name>`).
    Edges,
}

impl PopulationKind {
    fn singular(self) -> &'static str {
        match self {
            PopulationKind::Nodes => "node",
            PopulationKind::Edges => "edge",
        }
    }
    fn group(self) -> &'static str {
        match self {
            PopulationKind::Nodes => "nodes",
            PopulationKind::Edges => "edges",
        }
    }
}

/// A population a file's entry asks for, with why it cannot load (`problem`), if it cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wanted {
    /// The population's name.
    pub name: String,
    /// Why it cannot be loaded (a message shown after the file's name), or none.
    pub problem: Option<String>,
}

/// The populations to load from one file: those the config declares for it (`declared`), else
/// every one the file holds (`in_file`). Edge populations already loaded from another file
/// (`loaded`) cannot be named again. Err: the file holds no population of `kind` at all.
pub fn populations_to_load(
    kind: PopulationKind,
    declared: Option<&[String]>,
    in_file: &[String],
    loaded: &[String],
) -> Result<Vec<Wanted>, String> {
    if in_file.is_empty() {
        return Err(format!("no {} population under /{}", kind.singular(), kind.group()));
    }
    let wanted = declared.unwrap_or(in_file);
    Ok(wanted
        .iter()
        .map(|name| {
            let problem = if !in_file.contains(name) {
                let has: Vec<String> = in_file.iter().map(|n| printable(n)).collect();
                Some(format!(
                    "the config names {} population '{}', which the file does not have (it has: {})",
                    kind.singular(),
                    printable(name),
                    has.join(", ")
                ))
            } else if kind == PopulationKind::Edges && loaded.contains(name) {
                Some(format!("edge population '{}' is named twice in the circuit", printable(name)))
            } else {
                None
            };
            Wanted { name: name.clone(), problem }
        })
        .collect())
}

/// A fact a host read from a file: its value, or its own read error (`{"failed": key}`, the key
/// under which the host keeps that error, handed back when the check reaches it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Read<T> {
    /// The host could not read it; `failed` names its error.
    Failed {
        /// The host's key for its error.
        failed: String,
    },
    /// What the file holds.
    Value(T),
}

/// Why a population cannot be loaded: a message (after the file and population; `dataset` when
/// it is about one), or the host's own read error (`failed`: its key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The message, or none when `failed` is the error.
    pub message: Option<String>,
    /// The dataset the message is about (`/edges/<pop>/source_node_id`), if one.
    pub dataset: Option<String>,
    /// The host's key of the read error that stops the load, if that is the cause.
    pub failed: Option<String>,
}

impl Problem {
    fn says(message: impl Into<String>) -> Problem {
        Problem { message: Some(message.into()), dataset: None, failed: None }
    }
}

/// A read value, or the host's error as the problem.
fn value<T: Clone>(read: &Read<T>) -> Result<T, Problem> {
    match read {
        Read::Value(v) => Ok(v.clone()),
        Read::Failed { failed } => Err(Problem { message: None, dataset: None, failed: Some(failed.clone()) }),
    }
}

/// What a host read of an edge population: the rows of its id and group datasets (absent when
/// the dataset is), and its ids' `node_population` attributes (absent or empty: none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeFacts {
    /// The population's name.
    pub name: String,
    /// Rows of `source_node_id`.
    pub source_rows: Option<Read<u64>>,
    /// Rows of `target_node_id`.
    pub target_rows: Option<Read<u64>>,
    /// Rows of `edge_group_id`.
    pub group_id_rows: Option<Read<u64>>,
    /// Rows of `edge_group_index`.
    pub group_index_rows: Option<Read<u64>>,
    /// `source_node_id`'s `node_population` attribute.
    pub source_population: Option<Read<String>>,
    /// `target_node_id`'s `node_population` attribute.
    pub target_population: Option<Read<String>>,
}

/// An edge population whose datasets make sense.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeShape {
    /// Edges (rows of the id datasets).
    pub size: u64,
    /// The source node population.
    pub source: String,
    /// The target node population.
    pub target: String,
    /// Whether it has `edge_group_id` and `edge_group_index`.
    pub has_group_ids: bool,
}

/// Check an edge population's ids and group datasets: present, of one length, with their node
/// populations named.
pub fn check_edge_population(facts: &EdgeFacts) -> Result<EdgeShape, Problem> {
    let base = format!("/edges/{}", facts.name);
    let missing = |dataset: &str| Problem {
        message: Some("missing".into()),
        dataset: Some(format!("{base}/{dataset}")),
        failed: None,
    };
    let source_rows = facts.source_rows.as_ref().ok_or_else(|| missing("source_node_id"))?;
    let target_rows = facts.target_rows.as_ref().ok_or_else(|| missing("target_node_id"))?;
    let size = value(source_rows)?;
    let target = value(target_rows)?;
    if target != size {
        return Err(Problem::says(format!(
            "length mismatch: source_node_id has {size} entries, target_node_id {target}"
        )));
    }
    if facts.group_id_rows.is_some() != facts.group_index_rows.is_some() {
        return Err(Problem::says("has only one of edge_group_id and edge_group_index"));
    }
    for (rows, label) in [(&facts.group_id_rows, "edge_group_id"), (&facts.group_index_rows, "edge_group_index")] {
        let rows = rows.as_ref().map(value).transpose()?.unwrap_or(size);
        if rows != size {
            return Err(Problem::says(format!("length mismatch: {label} has {rows} entries, source_node_id {size}")));
        }
    }
    let node_population = |read: &Option<Read<String>>, role: &str| -> Result<String, Problem> {
        match read.as_ref().map(value).transpose()? {
            Some(name) if !name.is_empty() => Ok(name),
            _ => Err(Problem::says(format!("{role}_node_id has no node_population attribute"))),
        }
    };
    Ok(EdgeShape {
        size,
        source: node_population(&facts.source_population, "source")?,
        target: node_population(&facts.target_population, "target")?,
        has_group_ids: facts.group_id_rows.is_some(),
    })
}

/// The nodes of a node population: the rows of `node_type_id`, else of `node_group_id`, else of
/// its first property in group 0 (each absent when the dataset is).
pub fn node_population_size(
    type_id_rows: Option<&Read<u64>>,
    group_id_rows: Option<&Read<u64>>,
    first_property_rows: Option<&Read<u64>>,
) -> Result<u64, Problem> {
    match type_id_rows.or(group_id_rows).or(first_property_rows) {
        Some(rows) => value(rows),
        None => Err(Problem::says("cannot tell the number of nodes (no node_type_id dataset)")),
    }
}

/// An edge population loaded, by its node populations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedEdges {
    /// The edge population.
    pub name: String,
    /// Its source node population.
    pub source: String,
    /// Its target node population.
    pub target: String,
}

/// A population that could not be loaded, as the loader lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Node or edge population.
    pub kind: PopulationKind,
    /// The population, or none when its file's populations are unknown (the file is unreadable).
    pub population: Option<String>,
    /// The message (with the file's name).
    pub message: String,
    /// The host's key of the error behind it (entries of one file share it).
    pub error: String,
    /// For an edge population dropped for its nodes: the entries (indices) that caused it.
    #[serde(default)]
    pub causes: Vec<usize>,
}

/// An edge population that cannot load because a node population it needs did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// The edge population.
    pub name: String,
    /// Why (shown after its file and name).
    pub message: String,
    /// The unavailable entries (indices) behind it.
    pub causes: Vec<usize>,
}

/// Edge populations (of `edges`) whose source or target node population is not among `nodes`:
/// each with the reason, naming the node population and why that one failed (`unavailable`).
pub fn edges_without_their_nodes(edges: &[LoadedEdges], nodes: &[String], unavailable: &[Unavailable]) -> Vec<Dropped> {
    let failed_nodes: Vec<usize> =
        (0..unavailable.len()).filter(|&i| unavailable[i].kind == PopulationKind::Nodes).collect();
    let mut dropped = Vec::new();
    for population in edges {
        let role = [("source", &population.source), ("target", &population.target)]
            .into_iter()
            .find(|(_, needed)| !nodes.contains(needed));
        let Some((role, needed)) = role else { continue };
        let named: Vec<usize> =
            failed_nodes.iter().copied().filter(|&i| unavailable[i].population.as_ref() == Some(needed)).collect();
        let unknown: Vec<usize> =
            failed_nodes.iter().copied().filter(|&i| unavailable[i].population.is_none()).collect();
        let messages = |entries: &[usize]| -> String {
            entries.iter().map(|&i| unavailable[i].message.as_str()).collect::<Vec<_>>().join("; ")
        };
        let needs = format!("needs its {role} node population '{}'", printable(needed));
        let (message, causes) = if !named.is_empty() {
            (format!("{needs}, which cannot be loaded ({})", messages(&named)), named)
        } else if !unknown.is_empty() {
            (
                format!(
                    "{needs}, which is in none of the loaded node files; it may be in one that cannot be loaded ({})",
                    messages(&unknown)
                ),
                unknown,
            )
        } else {
            (format!("{needs}, which no node file of the circuit holds"), Vec::new())
        };
        dropped.push(Dropped { name: population.name.clone(), message, causes });
    }
    dropped
}

/// An edge population a run leaves out, with a warning (design §2.4): one side's node population
/// has no pathway property at all and the fallback gives its nodes no value. Listed in the
/// sidecar (`skipped`), so that what a run did not draw is on record, not only on a screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The edge population.
    pub population: String,
    /// `source` or `target`.
    pub role: String,
    /// The node population without the property.
    pub nodes: String,
    /// Why, as the sidecar records it.
    pub reason: String,
    /// The run's warning.
    pub warning: String,
}

/// Whether a run skips edge population `edges` for its `role` node population `nodes`, which has
/// the pathway property `property` (`has_property`) or not; `fallback` the run's fallback value(s).
pub fn pathway_skip(
    edges: &str,
    role: &str,
    nodes: &str,
    property: &str,
    has_property: bool,
    fallback: Option<&Fallback>,
) -> Option<Skipped> {
    if has_property || fallback.and_then(|f| f.for_population(nodes)).is_some() {
        return None;
    }
    let reason = format!("{role} node population '{}' has no '{}' property", printable(nodes), printable(property));
    Some(Skipped {
        population: edges.to_string(),
        role: role.to_string(),
        nodes: nodes.to_string(),
        warning: format!(
            "skipped edge population '{}': {reason} (set a fallback value for its nodes to include it)",
            printable(edges)
        ),
        reason,
    })
}

/// Why a load has nothing to parameterize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// When one error is behind everything: its host key (the host throws that error as it is).
    pub error: Option<String>,
    /// Else the message: every edge population's (or file's) reason.
    pub message: String,
}

/// A load with no edge population loaded (`loaded_edges` = 0) although something failed: the
/// one error behind it all, else every failed edge population's (or every entry's) message.
pub fn nothing_loads(loaded_edges: usize, unavailable: &[Unavailable]) -> Option<Refusal> {
    if loaded_edges > 0 || unavailable.is_empty() {
        return None;
    }
    let failed_edges: Vec<&Unavailable> = unavailable.iter().filter(|u| u.kind == PopulationKind::Edges).collect();
    let listed: Vec<&Unavailable> = if failed_edges.is_empty() { unavailable.iter().collect() } else { failed_edges };
    let mut roots: Vec<&str> = Vec::new();
    for entry in &listed {
        let behind: Vec<&Unavailable> = if entry.causes.is_empty() {
            vec![*entry]
        } else {
            entry.causes.iter().filter_map(|&i| unavailable.get(i)).collect()
        };
        for cause in behind {
            if !roots.contains(&cause.error.as_str()) {
                roots.push(&cause.error);
            }
        }
    }
    let message = format!(
        "no edge population can be loaded: {}",
        listed.iter().map(|u| u.message.as_str()).collect::<Vec<_>>().join("; ")
    );
    Some(Refusal { error: (roots.len() == 1).then(|| roots[0].to_string()), message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_edge_population_is_skipped_when_a_side_lacks_the_property_and_its_nodes_have_no_fallback() {
        let skip = |has, fallback: Option<&Fallback>| pathway_skip("VPM__S1", "source", "VPM", "mtype", has, fallback);
        assert_eq!(skip(true, None), None, "nodes with the property are not skipped");
        let skipped = skip(false, None).expect("no property, no fallback");
        assert_eq!(skipped.reason, "source node population 'VPM' has no 'mtype' property");
        assert_eq!(
            skipped.warning,
            "skipped edge population 'VPM__S1': source node population 'VPM' has no 'mtype' property (set a fallback value for its nodes to include it)"
        );
        assert_eq!(skip(false, Some(&Fallback::every("EXC"))), None);
        let own = Fallback::default().with_population("VPM", Some("VPM"));
        assert_eq!(skip(false, Some(&own)), None, "VPM's own value");
        let other = Fallback::default().with_population("POm", Some("POm"));
        assert!(skip(false, Some(&other)).is_some(), "another population's value does not class VPM");
    }

    #[test]
    fn populations_declared_or_all_and_never_twice() {
        let in_file = names(&["a", "b"]);
        let all = populations_to_load(PopulationKind::Edges, None, &in_file, &names(&["b"])).unwrap();
        assert_eq!(all[0], Wanted { name: "a".into(), problem: None });
        assert_eq!(all[1].problem.as_deref(), Some("edge population 'b' is named twice in the circuit"));
        let declared = names(&["c"]);
        let some = populations_to_load(PopulationKind::Nodes, Some(&declared), &in_file, &[]).unwrap();
        assert_eq!(
            some[0].problem.as_deref(),
            Some("the config names node population 'c', which the file does not have (it has: a, b)")
        );
        assert_eq!(
            populations_to_load(PopulationKind::Nodes, None, &[], &[]).unwrap_err(),
            "no node population under /nodes"
        );
    }

    fn facts() -> EdgeFacts {
        EdgeFacts {
            name: "e".into(),
            source_rows: Some(Read::Value(10)),
            target_rows: Some(Read::Value(10)),
            group_id_rows: None,
            group_index_rows: None,
            source_population: Some(Read::Value("s".into())),
            target_population: Some(Read::Value("t".into())),
        }
    }

    #[test]
    fn edge_population_checks_in_order() {
        assert_eq!(
            check_edge_population(&facts()).unwrap(),
            EdgeShape { size: 10, source: "s".into(), target: "t".into(), has_group_ids: false }
        );
        let missing = check_edge_population(&EdgeFacts { target_rows: None, ..facts() }).unwrap_err();
        assert_eq!(
            (missing.message.as_deref(), missing.dataset.as_deref()),
            (Some("missing"), Some("/edges/e/target_node_id"))
        );
        let mismatch = check_edge_population(&EdgeFacts { target_rows: Some(Read::Value(7)), ..facts() }).unwrap_err();
        assert_eq!(
            mismatch.message.as_deref(),
            Some("length mismatch: source_node_id has 10 entries, target_node_id 7")
        );
        // A host's read error is handed back where the check reaches it, not before.
        let failed = Read::Failed { failed: "t-rows".into() };
        let read = check_edge_population(&EdgeFacts { target_rows: Some(failed), ..facts() }).unwrap_err();
        assert_eq!(read.failed.as_deref(), Some("t-rows"));
        let one = check_edge_population(&EdgeFacts { group_id_rows: Some(Read::Value(10)), ..facts() }).unwrap_err();
        assert_eq!(one.message.as_deref(), Some("has only one of edge_group_id and edge_group_index"));
        let groups =
            EdgeFacts { group_id_rows: Some(Read::Value(10)), group_index_rows: Some(Read::Value(9)), ..facts() };
        assert_eq!(
            check_edge_population(&groups).unwrap_err().message.as_deref(),
            Some("length mismatch: edge_group_index has 9 entries, source_node_id 10")
        );
        let unnamed = EdgeFacts { source_population: Some(Read::Value(String::new())), ..facts() };
        assert_eq!(
            check_edge_population(&unnamed).unwrap_err().message.as_deref(),
            Some("source_node_id has no node_population attribute")
        );
    }

    #[test]
    fn node_size_from_the_first_dataset_present() {
        assert_eq!(node_population_size(None, Some(&Read::Value(4)), Some(&Read::Value(5))).unwrap(), 4);
        assert!(node_population_size(None, None, None).unwrap_err().message.unwrap().starts_with("cannot tell"));
    }

    fn unavailable(kind: PopulationKind, population: Option<&str>, message: &str, error: &str) -> Unavailable {
        Unavailable {
            kind,
            population: population.map(String::from),
            message: message.into(),
            error: error.into(),
            causes: vec![],
        }
    }

    #[test]
    fn edges_need_their_nodes_and_say_why() {
        let edges = vec![
            LoadedEdges { name: "vpm".into(), source: "VPM".into(), target: "S1".into() },
            LoadedEdges { name: "s1".into(), source: "S1".into(), target: "S1".into() },
            LoadedEdges { name: "x".into(), source: "X".into(), target: "S1".into() },
        ];
        let failed = vec![unavailable(PopulationKind::Nodes, Some("VPM"), "vpm.h5: does not exist", "e0")];
        let dropped = edges_without_their_nodes(&edges, &names(&["S1"]), &failed);
        assert_eq!(dropped.len(), 2);
        assert_eq!(
            dropped[0].message,
            "needs its source node population 'VPM', which cannot be loaded (vpm.h5: does not exist)"
        );
        assert_eq!(dropped[0].causes, vec![0]);
        assert_eq!(dropped[1].message, "needs its source node population 'X', which no node file of the circuit holds");
        let unknown = vec![unavailable(PopulationKind::Nodes, None, "n.h5: not HDF5", "e0")];
        assert!(edges_without_their_nodes(&edges[2..], &names(&["S1"]), &unknown)[0].message.contains(
            "which is in none of the loaded node files; it may be in one that cannot be loaded (n.h5: not HDF5)"
        ));
    }

    #[test]
    fn nothing_loads_names_the_one_error_or_all() {
        assert_eq!(nothing_loads(1, &[unavailable(PopulationKind::Edges, None, "m", "e0")]), None);
        assert_eq!(nothing_loads(0, &[]), None);
        let node = unavailable(PopulationKind::Nodes, Some("VPM"), "vpm: gone", "e0");
        let edge = Unavailable { causes: vec![0], ..unavailable(PopulationKind::Edges, Some("v"), "needs VPM", "e1") };
        let one = nothing_loads(0, &[node.clone(), edge.clone()]).unwrap();
        assert_eq!(one.error.as_deref(), Some("e0"));
        let other = unavailable(PopulationKind::Edges, Some("w"), "w: bad", "e2");
        let two = nothing_loads(0, &[node, edge, other]).unwrap();
        assert_eq!((two.error, two.message.as_str()), (None, "no edge population can be loaded: needs VPM; w: bad"));
    }
}
