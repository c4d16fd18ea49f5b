//! Rules compiled for a circuit's nodes (design §9.1): nodes classed by the rules they match, the
//! winning rule per pathway and property, the edges counted and checked for coverage, and the
//! `ConnPropsModel` the engine runs — with what applied where (`Explain`).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::ruleset::{Rule, RuleSet, UnsetProperty};
use super::selectors::{Pattern, Selector, EDGE_POPULATION_KEY, NODE_POPULATION_KEY};
use crate::engine::Ids;
use crate::error::{Error, Result};

/// One node population's properties, as the rules read them: property → value per node id
/// (`None` where a node has none).
#[derive(Debug, Clone, Default)]
pub struct NodeTable {
    /// Node population name (for messages and names).
    pub population: String,
    /// Property columns, one value per node id.
    pub columns: HashMap<String, Vec<Option<String>>>,
    /// Number of nodes.
    pub size: usize,
}

/// An edge population to compile the rules for: its nodes and, optionally, its edges' ids (for
/// exact coverage checks and synapse and connection counts).
#[derive(Debug, Clone, Default)]
pub struct EdgePopulationNodes {
    /// Edge population name.
    pub name: String,
    /// Source nodes.
    pub source: NodeTable,
    /// Target nodes.
    pub target: NodeTable,
    /// `(source ids, target ids)` of every edge, in edge order.
    pub edges: Option<(Vec<u64>, Vec<u64>)>,
}

/// The rules compiled for a circuit: the `ConnPropsModel` the engine runs, the pathway value of
/// every node, and what applied where.
#[derive(Debug, Clone, Serialize)]
pub struct CompiledRules {
    /// The model (`src_types`, `tgt_types`, `prop_stats`), one pathway value per class of nodes.
    pub model: Value,
    /// The seed the rules give, if any.
    pub seed: Option<u64>,
    /// Whether existing properties may be replaced, when the rules say.
    pub overwrite: Option<bool>,
    /// The edge populations the rules are about, when they say.
    pub edge_populations: Option<Vec<String>>,
    /// Per edge population, the pathway value of each source and target node.
    pub populations: Vec<PopulationPathways>,
    /// What applied where.
    pub explain: Explain,
}

/// The pathway values of one edge population's nodes under compiled rules.
#[derive(Debug, Clone, Serialize)]
pub struct PopulationPathways {
    /// Edge population name.
    pub name: String,
    /// Pathway value per source node id.
    pub source: Vec<String>,
    /// Pathway value per target node id.
    pub target: Vec<String>,
}

/// What the rules did: per rule, per pathway, what is left unset, notes.
#[derive(Debug, Clone, Serialize)]
pub struct Explain {
    /// The input's format.
    pub format: &'static str,
    /// Per rule, in order.
    pub rules: Vec<RuleReport>,
    /// Per pathway (source class × target class).
    pub pathways: Vec<PathwayReport>,
    /// Properties left unset, with the reason.
    pub unset: Vec<UnsetProperty>,
    /// Rules whose selectors match no node of the circuit, in rule order.
    pub rules_matching_nothing: Vec<RuleMatchingNothing>,
    /// Per node property the rules select on, the rules' values against the circuit's: what to
    /// map when a recipe comes from another circuit (synparam rules' `aliases`).
    pub names: Vec<NameReport>,
    /// Warnings a run shows (one line each): today the rules matching no node, counted, with
    /// the first few.
    pub warnings: Vec<String>,
    /// Notes on differences from the input's own tool and on globs.
    pub notes: Vec<String>,
}

/// One rule's reach.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// The rule's label.
    pub rule: String,
    /// The class it assigns.
    pub class: Option<String>,
    /// Pathways where it wins at least one property.
    pub pathways: usize,
    /// Synapses and connections of those pathways (with edges).
    pub synapses: Option<u64>,
    /// See `synapses`.
    pub connections: Option<u64>,
    /// It matches some pathway but a later rule wins every property there.
    pub shadowed: bool,
    /// It matches no pathway of these nodes.
    pub matches_nothing: bool,
    /// Its source or target selector matches no node of the circuit at all (a region's recipe
    /// on a subcircuit): reported, not refused, unless compiled strictly.
    pub matches_no_node: bool,
    /// Exact selector values no node of their side has (`source mtype 'L23_PC'`).
    pub absent_values: Vec<String>,
    /// Its synapse condition, as text, when it has one: then it wins only the synapses of its
    /// pathways that satisfy it, and `synapses`/`connections` count those pathways' whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// A rule that can apply to no synapse of this circuit because one of its selectors matches no
/// node (the sidecar's `rules_matching_nothing`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleMatchingNothing {
    /// The rule's label.
    pub rule: String,
    /// The sides whose selector matches no node: `source`, `target` or both.
    pub sides: Vec<&'static str>,
    /// Exact selector values no node of their side has (`source mtype 'L23_PC'`).
    pub absent_values: Vec<String>,
}

/// One node property the rules select on: the values they name that no node has, and the
/// circuit's values that no rule names (exactly or by a glob).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NameReport {
    /// The node property (e.g. `mtype`).
    pub property: String,
    /// Exact values the rules name that no node of the circuit has, sorted.
    pub absent: Vec<String>,
    /// The circuit's values no rule's selector on this property matches, sorted.
    pub unnamed: Vec<String>,
    /// The circuit's values, sorted (the first [`NAME_REPORT_VALUES`]).
    pub circuit_values: Vec<String>,
}

/// The most circuit values a [`NameReport`] lists (a property with more is no class).
pub const NAME_REPORT_VALUES: usize = 1000;

/// One pathway: which rule set each property.
#[derive(Debug, Clone, Serialize)]
pub struct PathwayReport {
    /// Source pathway value (class of source nodes).
    pub source: String,
    /// Target pathway value.
    pub target: String,
    /// Synapses (with edges).
    pub synapses: Option<u64>,
    /// Connections (with edges).
    pub connections: Option<u64>,
    /// Property → the winning rule's label (`None`: no rule assigns it here).
    pub winners: Vec<(String, Option<String>)>,
    /// Selectors of exactly this pathway's source and target nodes (`{property: [values]}`), for
    /// a later rule that changes it alone; None where its nodes cannot be selected by their values.
    pub source_selector: Option<Value>,
    /// See `source_selector`.
    pub target_selector: Option<Value>,
}

/// Classes of nodes the rules tell apart on one side: by which rules' selectors a node matches.
struct SideClasses {
    masks: Vec<Vec<bool>>,
    /// Per class, per referenced property, the values seen (for the name).
    values: Vec<Vec<BTreeSet<String>>>,
    /// Per population (edge population order), the class of each node.
    node_class: Vec<Vec<usize>>,
    names: Vec<String>,
    /// Per class, a selector of exactly its nodes by their values, when there is one.
    selectors: Vec<Option<Value>>,
}

/// A table's values for a selector key: a column, or the same name for every node.
enum Values<'a> {
    Column(&'a Vec<Option<String>>),
    Every(&'a str),
    Missing,
}

impl<'a> Values<'a> {
    fn of(table: &'a NodeTable, edge_population: &'a str, property: &str) -> Self {
        match property {
            NODE_POPULATION_KEY => Values::Every(&table.population),
            EDGE_POPULATION_KEY => Values::Every(edge_population),
            _ => table.columns.get(property).map_or(Values::Missing, Values::Column),
        }
    }

    fn get(&self, node: usize) -> Option<&'a str> {
        match self {
            Values::Column(column) => column.get(node).and_then(|v| v.as_deref()),
            Values::Every(name) => Some(name),
            Values::Missing => None,
        }
    }

    fn has(&self, value: &str) -> bool {
        match self {
            Values::Column(column) => column.iter().any(|v| v.as_deref() == Some(value)),
            Values::Every(name) => *name == value,
            Values::Missing => false,
        }
    }
}

fn classify(rules: &[&Selector], tables: &[(&str, &NodeTable)]) -> SideClasses {
    let mut properties: Vec<&str> = Vec::new();
    for selector in rules {
        for property in selector.properties() {
            if !properties.contains(&property) {
                properties.push(property);
            }
        }
    }
    let mut by_mask: HashMap<Vec<bool>, usize> = HashMap::new();
    let mut out = SideClasses {
        masks: Vec::new(),
        values: Vec::new(),
        node_class: Vec::new(),
        names: Vec::new(),
        selectors: Vec::new(),
    };
    // Every distinct tuple of values seen, with its class (for the classes' selectors).
    let mut seen: Vec<(Vec<Option<String>>, usize)> = Vec::new();
    for (edge_population, table) in tables {
        let columns: Vec<Values<'_>> = properties.iter().map(|p| Values::of(table, edge_population, p)).collect();
        let mut by_tuple: HashMap<Vec<Option<&str>>, usize> = HashMap::new();
        let mut classes = Vec::with_capacity(table.size);
        for node in 0..table.size {
            let tuple: Vec<Option<&str>> = columns.iter().map(|c| c.get(node)).collect();
            let class = match by_tuple.get(&tuple) {
                Some(&class) => class,
                None => {
                    let mask: Vec<bool> = rules
                        .iter()
                        .map(|selector| {
                            selector.terms.iter().all(|term| {
                                let position = properties.iter().position(|p| *p == term.property).expect("listed");
                                tuple[position].is_some_and(|value| term.patterns.iter().any(|p| p.matches(value)))
                            })
                        })
                        .collect();
                    let class = *by_mask.entry(mask.clone()).or_insert_with(|| {
                        out.masks.push(mask);
                        out.values.push(vec![BTreeSet::new(); properties.len()]);
                        out.masks.len() - 1
                    });
                    for (i, value) in tuple.iter().enumerate() {
                        out.values[class][i].insert(match value {
                            Some(value) => value.to_string(),
                            None => format!("(no {})", properties[i]),
                        });
                    }
                    seen.push((tuple.iter().map(|v| v.map(str::to_string)).collect(), class));
                    by_tuple.insert(tuple, class);
                    class
                }
            };
            classes.push(class);
        }
        out.node_class.push(classes);
    }
    out.selectors = (0..out.masks.len()).map(|class| class_selector(class, &properties, &seen)).collect();
    // Names from the values the rules read: "L5_TPC", "mtype=L5_TPC|L5_UPC; etype=cADpyr", "all".
    let mut taken: HashSet<String> = HashSet::new();
    for values in &out.values {
        let shown = |set: &BTreeSet<String>| -> String {
            let items: Vec<&str> = set.iter().map(String::as_str).collect();
            if items.len() > 4 {
                format!("{}|… ({} values)", items[..3].join("|"), items.len())
            } else {
                items.join("|")
            }
        };
        let named: Vec<(&str, &BTreeSet<String>)> =
            properties.iter().zip(values).filter(|(p, _)| **p != EDGE_POPULATION_KEY).map(|(p, v)| (*p, v)).collect();
        let mut name = match named.len() {
            0 => "all".to_string(),
            1 if named[0].0 != NODE_POPULATION_KEY => shown(named[0].1),
            _ => named
                .iter()
                .map(|(p, v)| format!("{}={}", if *p == NODE_POPULATION_KEY { "population" } else { p }, shown(v)))
                .collect::<Vec<_>>()
                .join("; "),
        };
        if taken.contains(&name) {
            let base = name.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base} #{n}");
                n += 1;
            }
        }
        taken.insert(name.clone());
        out.names.push(name);
    }
    out
}

/// A selector (`{property: [values]}`, ANDed) of exactly the nodes of `class`: per property the
/// values its nodes have. None when there is none: a node of the class lacks a property (no
/// selector says "has no mtype"), a value reads as a glob, or the values' combinations also
/// select nodes of another class (classes told apart by several properties).
fn class_selector(class: usize, properties: &[&str], seen: &[(Vec<Option<String>>, usize)]) -> Option<Value> {
    let mut values: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); properties.len()];
    for (tuple, _) in seen.iter().filter(|(_, c)| *c == class) {
        for (i, value) in tuple.iter().enumerate() {
            let value = value.as_deref()?;
            if value.contains(['*', '?', '[']) {
                return None;
            }
            values[i].insert(value);
        }
    }
    let selects = |tuple: &[Option<String>]| {
        tuple.iter().zip(&values).all(|(v, set)| v.as_deref().is_some_and(|v| set.contains(v)))
    };
    if seen.iter().any(|(tuple, c)| *c != class && selects(tuple)) {
        return None;
    }
    Some(Value::Object(
        properties.iter().zip(&values).map(|(p, set)| (p.to_string(), json!(set.iter().collect::<Vec<_>>()))).collect(),
    ))
}

/// Compile `rules` for the nodes (and edges) of `populations`: see [`CompiledRules`]. Errors
/// name the first pathway with synapses (or, without edges, the first pathway) that no rule
/// covers for a property some rule assigns, and, with `strict`, any exact selector value no node
/// has (else such rules are reported in [`Explain::rules_matching_nothing`]).
pub fn compile(rules: &RuleSet, populations: &[EdgePopulationNodes], strict: bool) -> Result<CompiledRules> {
    let nodes: Vec<(String, NodeTable, NodeTable)> =
        populations.iter().map(|p| (p.name.clone(), p.source.clone(), p.target.clone())).collect();
    let mut compiler = RuleCompiler::new(rules.clone(), nodes, strict)?;
    let with_edges = !populations.is_empty() && populations.iter().all(|p| p.edges.is_some());
    if with_edges {
        for population in populations {
            let (sources, targets) = population.edges.as_ref().expect("checked");
            compiler.add_edges(&population.name, 0, Ids::U64(sources), Ids::U64(targets))?;
        }
    }
    compiler.finish(with_edges)
}

/// Rules compiled for the nodes of a circuit's edge populations, then told about the edges
/// chunk by chunk (synapse and connection counts per pathway, the coverage check) before
/// [`RuleCompiler::finish`]: the form the command and the page use, with bounded memory.
pub struct RuleCompiler {
    rules: RuleSet,
    names: Vec<String>,
    populations: Vec<(String, String)>,
    source: SideClasses,
    target: SideClasses,
    specs: Vec<Vec<(String, Value)>>,
    properties: Vec<String>,
    /// Per pathway and property: the last matching rule without a synapse condition.
    winner: Vec<Option<usize>>,
    /// Per pathway and property: the matching rules with a synapse condition after `winner`, in
    /// rule order (they win the synapses that satisfy them, later ones first).
    conditional: Vec<Vec<usize>>,
    synapses: Vec<u64>,
    connections: Vec<u64>,
    /// Per population, the last edge's (source, target) seen (a new pair starts a connection).
    last_pair: Vec<Option<(u64, u64)>>,
    /// Per rule, the exact selector values no node of their side has.
    absent_values: Vec<Vec<String>>,
    /// The rules' values against the circuit's, per property.
    name_reports: Vec<NameReport>,
}

impl RuleCompiler {
    /// Classify the nodes of every `(edge population, source nodes, target nodes)` by the rules
    /// and decide, per pathway and property, which rule wins. An exact selector value no node has
    /// is an error with `strict` (functionalizer's "untranslated values"); without, normal for a
    /// region's recipe on a subcircuit: the rule is reported ([`Explain::rules_matching_nothing`]).
    pub fn new(rules: RuleSet, populations: Vec<(String, NodeTable, NodeTable)>, strict: bool) -> Result<Self> {
        let source_tables: Vec<(&str, &NodeTable)> = populations.iter().map(|p| (p.0.as_str(), &p.1)).collect();
        let target_tables: Vec<(&str, &NodeTable)> = populations.iter().map(|p| (p.0.as_str(), &p.2)).collect();
        let absent_values = absent_values(&rules, &source_tables, &target_tables);
        let name_reports = name_reports(&rules, &source_tables, &target_tables);
        if strict {
            if let Some((rule, absent)) = rules.rules.iter().zip(&absent_values).find(|(_, a)| !a.is_empty()) {
                return Err(Error::config(
                    rule.label.clone(),
                    format!(
                        "no {} (strict: a rule naming a value this circuit lacks is refused)",
                        absent[0].replacen(' ', " node has ", 1)
                    ),
                ));
            }
        }
        let source = classify(&rules.rules.iter().map(|r| &r.source).collect::<Vec<_>>(), &source_tables);
        let target = classify(&rules.rules.iter().map(|r| &r.target).collect::<Vec<_>>(), &target_tables);
        let specs: Vec<Vec<(String, Value)>> = rules.rules.iter().map(|r| rules.specs_of(r)).collect();
        let mut properties: Vec<String> = Vec::new();
        for rule_specs in &specs {
            for (property, _) in rule_specs {
                if !properties.contains(property) {
                    properties.push(property.clone());
                }
            }
        }
        let (s_count, t_count) = (source.names.len(), target.names.len());
        // winner[(s * t_count + t) * P + p] = the last rule matching both sides that assigns p to
        // every synapse; conditional[…] = the rules after it that assign p to some synapses.
        let mut winner: Vec<Option<usize>> = vec![None; s_count * t_count * properties.len()];
        let mut conditional: Vec<Vec<usize>> = vec![Vec::new(); s_count * t_count * properties.len()];
        for s in 0..s_count {
            for t in 0..t_count {
                for (p, property) in properties.iter().enumerate() {
                    let at = (s * t_count + t) * properties.len() + p;
                    for r in (0..rules.rules.len()).rev() {
                        if !(source.masks[s][r]
                            && target.masks[t][r]
                            && specs[r].iter().any(|(name, _)| name == property))
                        {
                            continue;
                        }
                        if rules.rules[r].synapse.is_empty() {
                            winner[at] = Some(r);
                            break;
                        }
                        conditional[at].insert(0, r);
                    }
                }
            }
        }
        let cells = s_count * t_count;
        Ok(RuleCompiler {
            names: populations.iter().map(|p| p.0.clone()).collect(),
            populations: populations.iter().map(|p| (p.1.population.clone(), p.2.population.clone())).collect(),
            last_pair: vec![None; populations.len()],
            rules,
            source,
            target,
            specs,
            properties,
            winner,
            conditional,
            synapses: vec![0; cells],
            connections: vec![0; cells],
            absent_values,
            name_reports,
        })
    }

    /// The rules' values against the circuit's, per node property ([`Explain::names`]): known
    /// before the edges are counted, so a host can show them when the coverage check fails.
    pub fn names(&self) -> &[NameReport] {
        &self.name_reports
    }

    /// Node properties the rules read: `(source side, target side)`.
    pub fn properties_read(rules: &RuleSet) -> (Vec<String>, Vec<String>) {
        let collect = |side: &dyn Fn(&Rule) -> &Selector| {
            let mut out: Vec<String> = Vec::new();
            for rule in &rules.rules {
                for property in side(rule).properties() {
                    if property.starts_with('@') {
                        continue; // names, not node properties
                    }
                    if !out.iter().any(|p| p == property) {
                        out.push(property.to_string());
                    }
                }
            }
            out
        };
        (collect(&|r| &r.source), collect(&|r| &r.target))
    }

    /// The pathway value of each source and target node of `population`.
    pub fn pathway_values(&self, population: &str) -> Result<(Vec<&str>, Vec<&str>)> {
        let index = self.index_of(population)?;
        fn names(side: &SideClasses, index: usize) -> Vec<&str> {
            side.node_class[index].iter().map(|&c| side.names[c].as_str()).collect()
        }
        Ok((names(&self.source, index), names(&self.target, index)))
    }

    fn index_of(&self, population: &str) -> Result<usize> {
        self.names.iter().position(|n| n == population).ok_or_else(|| {
            Error::input(
                format!("edge population '{population}'"),
                "not among the populations the rules were compiled for",
            )
        })
    }

    /// Count the next edges of `population` (ids of edges `first_edge …`, in edge order) per
    /// pathway; errors at the first edge of a pathway no rule covers for some property.
    pub fn add_edges(&mut self, population: &str, first_edge: u64, sources: Ids<'_>, targets: Ids<'_>) -> Result<()> {
        let index = self.index_of(population)?;
        let t_count = self.target.names.len();
        let properties = self.properties.len();
        if sources.len() != targets.len() {
            return Err(Error::input(
                format!("edges of '{population}'"),
                format!("{} source ids for {} target ids", sources.len(), targets.len()),
            ));
        }
        for i in 0..sources.len() {
            let (s_node, t_node) = (sources.get(i), targets.get(i));
            let edge = first_edge + i as u64;
            let class = |side: &SideClasses, node: u64, role: &str, nodes: &str| -> Result<usize> {
                side.node_class[index].get(node as usize).copied().ok_or_else(|| {
                    Error::input(
                        format!("edge population '{population}'"),
                        format!(
                            "edge {edge}: {role} node {node} is outside node population '{nodes}' ({} nodes)",
                            side.node_class[index].len()
                        ),
                    )
                })
            };
            let s = class(&self.source, s_node, "source", &self.populations[index].0)?;
            let t = class(&self.target, t_node, "target", &self.populations[index].1)?;
            let cell = s * t_count + t;
            if self.synapses[cell] == 0 {
                if let Some(p) = (0..properties).find(|p| !self.covered(cell * properties + p)) {
                    return Err(Error::config(
                        "rules",
                        format!(
                            "no rule assigns {} to edge {edge} of '{population}' (source node {s_node} of '{}': {}; target node {t_node} of '{}': {})",
                            self.properties[p],
                            self.populations[index].0,
                            self.source.names[s],
                            self.populations[index].1,
                            self.target.names[t]
                        ),
                    ));
                }
            }
            self.synapses[cell] += 1;
            if self.last_pair[index] != Some((s_node, t_node)) {
                self.connections[cell] += 1;
                self.last_pair[index] = Some((s_node, t_node));
            }
        }
        Ok(())
    }

    /// Whether some rule assigns the property to some synapses of the pathway (`at`: pathway ×
    /// property index); synapses no conditional rule selects then fail when drawn, named.
    fn covered(&self, at: usize) -> bool {
        self.winner[at].is_some() || !self.conditional[at].is_empty()
    }

    /// The spec a rule assigns to `property`.
    fn spec_of(&self, rule: usize, property: &str) -> &Value {
        &self.specs[rule].iter().find(|(name, _)| name == property).expect("assigned").1
    }

    /// The compiled spec of a pathway × property (`at`): the winner's, or `by_synapse` over the
    /// conditional rules (the last rule first: later rules win) with the winner's as `otherwise`.
    fn compiled_spec(&self, at: usize, property: &str) -> Value {
        let conditional = &self.conditional[at];
        if conditional.is_empty() {
            return match self.winner[at] {
                Some(r) => self.spec_of(r, property).clone(),
                None => json!({"type": "constant", "mean": 0}), // a pathway without synapses
            };
        }
        let cases: Vec<Value> = conditional
            .iter()
            .rev()
            .map(|&r| json!({"where": self.rules.rules[r].synapse.to_json(), "spec": self.spec_of(r, property)}))
            .collect();
        let mut spec = json!({"type": crate::config::BY_SYNAPSE, "cases": cases});
        if let Some(r) = self.winner[at] {
            spec["otherwise"] = self.spec_of(r, property).clone();
        }
        spec
    }

    /// Who sets a pathway × property (`at`) as `--explain` says it: a rule's label, or the
    /// conditional rules with their conditions then the rule for the rest.
    fn setter_label(&self, at: usize) -> Option<String> {
        let label = |r: usize| self.rules.rules[r].label.clone();
        let conditional = &self.conditional[at];
        if conditional.is_empty() {
            return self.winner[at].map(label);
        }
        let mut parts: Vec<String> = conditional
            .iter()
            .rev()
            .map(|&r| format!("{} where {}", label(r), self.rules.rules[r].synapse.text()))
            .collect();
        parts.push(match self.winner[at] {
            Some(r) => format!("else {}", label(r)),
            None => "else no rule".to_string(),
        });
        Some(parts.join("; "))
    }

    /// The compiled model, the nodes' pathway values and the explanation. With `with_edges`,
    /// the counts of [`RuleCompiler::add_edges`] are reported and only pathways with synapses
    /// must be covered; without, every pathway must be.
    pub fn finish(&self, with_edges: bool) -> Result<CompiledRules> {
        let (s_count, t_count) = (self.source.names.len(), self.target.names.len());
        let properties = &self.properties;
        let winner = |cell: usize, p: usize| self.winner[cell * properties.len() + p];
        let sets = |cell: usize, p: usize, r: usize| {
            winner(cell, p) == Some(r) || self.conditional[cell * properties.len() + p].contains(&r)
        };
        if !with_edges {
            for cell in 0..s_count * t_count {
                if let Some(p) = (0..properties.len()).find(|&p| !self.covered(cell * properties.len() + p)) {
                    return Err(Error::config(
                        "rules",
                        format!(
                            "no rule assigns {} from {} to {} (give the edges to check only pathways with synapses)",
                            properties[p],
                            self.source.names[cell / t_count],
                            self.target.names[cell % t_count]
                        ),
                    ));
                }
            }
        }
        // The model: one spec per property and pathway (an uncovered pathway has no synapses).
        let mut prop_stats = Map::new();
        for (p, property) in properties.iter().enumerate() {
            let mut by_source = Map::new();
            for s in 0..s_count {
                let mut by_target = Map::new();
                for t in 0..t_count {
                    let spec = self.compiled_spec((s * t_count + t) * properties.len() + p, property);
                    by_target.insert(self.target.names[t].clone(), spec);
                }
                by_source.insert(self.source.names[s].clone(), Value::Object(by_target));
            }
            prop_stats.insert(property.clone(), Value::Object(by_source));
        }
        let model = json!({"src_types": self.source.names, "tgt_types": self.target.names, "prop_stats": prop_stats});
        let occupied = |cell: usize| !with_edges || self.synapses[cell] > 0;
        let mut rule_reports = Vec::new();
        for (r, rule) in self.rules.rules.iter().enumerate() {
            let (mut matched, mut won, mut synapses, mut connections) = (0, 0, 0u64, 0u64);
            for cell in 0..s_count * t_count {
                if !(self.source.masks[cell / t_count][r] && self.target.masks[cell % t_count][r] && occupied(cell)) {
                    continue;
                }
                matched += 1;
                if (0..properties.len()).any(|p| sets(cell, p, r)) {
                    won += 1;
                    synapses += self.synapses[cell];
                    connections += self.connections[cell];
                }
            }
            rule_reports.push(RuleReport {
                rule: rule.label.clone(),
                class: rule.class.map(|c| self.rules.classes[c].name.clone()),
                pathways: won,
                synapses: with_edges.then_some(synapses),
                connections: with_edges.then_some(connections),
                shadowed: matched > 0 && won == 0,
                matches_nothing: matched == 0,
                matches_no_node: self.source.masks.iter().all(|m| !m[r]) || self.target.masks.iter().all(|m| !m[r]),
                absent_values: self.absent_values[r].clone(),
                condition: (!rule.synapse.is_empty()).then(|| rule.synapse.text()),
            });
        }
        let rules_matching_nothing: Vec<RuleMatchingNothing> = rule_reports
            .iter()
            .enumerate()
            .filter(|(_, report)| report.matches_no_node)
            .map(|(r, report)| RuleMatchingNothing {
                rule: report.rule.clone(),
                sides: [("source", &self.source), ("target", &self.target)]
                    .into_iter()
                    .filter(|(_, side)| side.masks.iter().all(|m| !m[r]))
                    .map(|(name, _)| name)
                    .collect(),
                absent_values: report.absent_values.clone(),
            })
            .collect();
        let pathways = (0..s_count * t_count)
            .filter(|&cell| occupied(cell))
            .map(|cell| PathwayReport {
                source: self.source.names[cell / t_count].clone(),
                target: self.target.names[cell % t_count].clone(),
                synapses: with_edges.then(|| self.synapses[cell]),
                connections: with_edges.then(|| self.connections[cell]),
                winners: properties
                    .iter()
                    .enumerate()
                    .map(|(p, property)| (property.clone(), self.setter_label(cell * properties.len() + p)))
                    .collect(),
                source_selector: self.source.selectors[cell / t_count].clone(),
                target_selector: self.target.selectors[cell % t_count].clone(),
            })
            .collect();
        let populations = self
            .names
            .iter()
            .map(|name| {
                let (source, target) = self.pathway_values(name).expect("listed");
                PopulationPathways {
                    name: name.clone(),
                    source: source.into_iter().map(str::to_string).collect(),
                    target: target.into_iter().map(str::to_string).collect(),
                }
            })
            .collect();
        let mut notes = self.rules.notes.clone();
        for report in &rule_reports {
            if report.matches_no_node {
                notes.push(format!(
                    "{} matches no node of this circuit{}",
                    report.rule,
                    absent_suffix(&report.absent_values)
                ));
            } else if report.matches_nothing {
                notes.push(format!(
                    "{} matches no pathway{}",
                    report.rule,
                    if with_edges { " with synapses" } else { "" }
                ));
            } else if report.shadowed {
                notes.push(format!("{} is shadowed: later rules win every property where it matches", report.rule));
            }
        }
        Ok(CompiledRules {
            model,
            seed: self.rules.seed,
            overwrite: self.rules.overwrite,
            edge_populations: self.rules.populations.clone(),
            populations,
            explain: Explain {
                format: self.rules.format,
                rules: rule_reports,
                pathways,
                unset: self.rules.unset.clone(),
                warnings: matching_nothing_warning(&rules_matching_nothing, self.rules.rules.len())
                    .into_iter()
                    .collect(),
                rules_matching_nothing,
                names: self.name_reports.clone(),
                notes,
            },
        })
    }
}

/// Per rule, its exact selector values that no node of their side has, as `source mtype
/// 'L23_PC'` (a glob matching nothing is not listed: `explain` reports where it matches nothing).
fn absent_values(rules: &RuleSet, sources: &[(&str, &NodeTable)], targets: &[(&str, &NodeTable)]) -> Vec<Vec<String>> {
    rules
        .rules
        .iter()
        .map(|rule| {
            let mut absent = Vec::new();
            for (side_name, selector, tables) in [("source", &rule.source, sources), ("target", &rule.target, targets)]
            {
                for term in &selector.terms {
                    for pattern in &term.patterns {
                        let Pattern::Exact(value) = pattern else { continue };
                        if !tables.iter().any(|(edges, table)| Values::of(table, edges, &term.property).has(value)) {
                            absent.push(format!("{side_name} {} '{value}'", term.property));
                        }
                    }
                }
            }
            absent
        })
        .collect()
}

/// Per node property the rules select on (not the `@population` names), the rules' exact values no
/// node has and the circuit's values no selector matches, over both sides of every population.
fn name_reports(rules: &RuleSet, sources: &[(&str, &NodeTable)], targets: &[(&str, &NodeTable)]) -> Vec<NameReport> {
    let mut properties: Vec<&str> = Vec::new();
    for rule in &rules.rules {
        for property in rule.source.properties().chain(rule.target.properties()) {
            if !property.starts_with('@') && !properties.contains(&property) {
                properties.push(property);
            }
        }
    }
    properties
        .into_iter()
        .map(|property| {
            let mut circuit: BTreeSet<&str> = BTreeSet::new();
            for (edges, table) in sources.iter().chain(targets) {
                if let Values::Column(column) = Values::of(table, edges, property) {
                    circuit.extend(column.iter().flatten().map(String::as_str));
                }
            }
            let patterns: Vec<&Pattern> = rules
                .rules
                .iter()
                .flat_map(|r| r.source.terms.iter().chain(&r.target.terms))
                .filter(|t| t.property == property)
                .flat_map(|t| &t.patterns)
                .collect();
            let absent: BTreeSet<String> = patterns
                .iter()
                .filter_map(|p| match p {
                    Pattern::Exact(value) if !circuit.contains(value.as_str()) => Some(value.clone()),
                    _ => None,
                })
                .collect();
            NameReport {
                property: property.to_string(),
                absent: absent.into_iter().collect(),
                unnamed: circuit
                    .iter()
                    .filter(|v| !patterns.iter().any(|p| p.matches(v)))
                    .map(|v| v.to_string())
                    .collect(),
                circuit_values: circuit.iter().take(NAME_REPORT_VALUES).map(|v| v.to_string()).collect(),
            }
        })
        .collect()
}

/// One line for the rules that match no node: how many, and the first few with their values.
fn matching_nothing_warning(rules: &[RuleMatchingNothing], total: usize) -> Option<String> {
    const SHOWN: usize = 3;
    if rules.is_empty() {
        return None;
    }
    let first: Vec<String> =
        rules.iter().take(SHOWN).map(|r| format!("{}{}", r.rule, absent_suffix(&r.absent_values))).collect();
    let more = if rules.len() > SHOWN { format!("; and {} more", rules.len() - SHOWN) } else { String::new() };
    Some(format!(
        "{} of {total} rules match no node of this circuit and apply to no synapse (normal for a region's recipe on part of the region; strict mode refuses them): {}{more}",
        rules.len(),
        first.join("; "),
    ))
}

/// ` (source mtype 'L23_PC', …)`: the first few absent values of a rule, for one line.
fn absent_suffix(absent: &[String]) -> String {
    match absent.len() {
        0 => String::new(),
        1..=3 => format!(" ({})", absent.join(", ")),
        n => format!(" ({}, … {n} values)", absent[..3].join(", ")),
    }
}
