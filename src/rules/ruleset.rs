//! The rule layer's data (design §9.1): ordered rules, each selecting source and target nodes and
//! assigning a class of specs and/or specs of its own, from whichever input they were read.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::aliases::{Alias, Aliases};
use super::selectors::{fnmatch, Pattern, Selector};
use crate::attributes::DISTANCE_SOMA;
use crate::synapse_conditions::SynapseCondition;

/// A set of ordered rules and the classes they refer to, from any accepted input.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// What it was read from: `rules`, `bbp-recipe-json`, `bbp-recipe-xml` or `obi-one`.
    pub format: &'static str,
    /// The seed the input gives, if any (a recipe's `seed`, XML `synapseSeed`).
    pub seed: Option<u64>,
    /// Named classes of specs; a class's position is its `syn_property_rule` for recipes.
    pub classes: Vec<SpecClass>,
    /// The rules, in order: later ones win.
    pub rules: Vec<Rule>,
    /// Properties the input defines that synparam does not draw, with the reason.
    pub unset: Vec<UnsetProperty>,
    /// Things the user should know (differences from the input's own tool), in input order.
    pub notes: Vec<String>,
    /// Whether existing properties may be replaced, when the input says.
    pub overwrite: Option<bool>,
    /// The edge populations the input is about, when it says (obi-one's assigners name theirs).
    pub populations: Option<Vec<String>>,
    /// functionalizer's delay parameters per rule, when a recipe gives them (design §9.2): drawn
    /// only once a host that reads the synapses' positions calls [`RuleSet::assign_soma_delays`].
    pub soma_delays: Vec<SomaDelay>,
    /// The alias table its selectors were rewritten through (synparam rules' `aliases`), kept so
    /// that an export writes it again.
    pub aliases: Aliases,
}

/// One recipe rule's parameters of functionalizer's delay, `release_delay + distance_soma /
/// velocity` (fz-td-recipe's defaults 0.1 ms and 300 µm/ms where the rule leaves one out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SomaDelay {
    /// Index of the rule in [`RuleSet::rules`].
    pub rule: usize,
    /// `neural_transmitter_release_delay` (ms).
    pub release_delay: f64,
    /// `axonal_conduction_velocity` (µm/ms).
    pub velocity: f64,
}

/// What a host found of one edge population's geometry, for [`RuleSet::assign_soma_delays_where_possible`].
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationGeometry {
    /// The edge population.
    pub population: String,
    /// The datasets every one of its edge groups has.
    pub datasets: Vec<String>,
    /// Whether its source nodes have soma positions (x, y, z).
    pub source_positions: bool,
}

/// The names of a rule's delay parameters (release delay, conduction velocity) in JSON recipes
/// and synparam rules' `soma_delay`.
pub const JSON_DELAY_KEYS: [&str; 2] = ["neural_transmitter_release_delay", "axonal_conduction_velocity"];

/// fz-td-recipe's default `neural_transmitter_release_delay` (ms).
pub const DEFAULT_RELEASE_DELAY: f64 = 0.1;
/// fz-td-recipe's default `axonal_conduction_velocity` (µm/ms).
pub const DEFAULT_CONDUCTION_VELOCITY: f64 = 300.0;

/// What `--explain` says of the delay distance (design §9.2).
const SOMA_DELAY_NOTE: &str = "delay = neural_transmitter_release_delay + distance_soma / axonal_conduction_velocity per synapse, from the rule that wins delay (functionalizer's formula with its float32 parameters); distance_soma here is the straight line from the presynaptic soma (x, y, z) to the synapse (afferent_center_*, else efferent_center_*), where functionalizer takes TouchDetector's path length along the axon: delays come out shorter by the axon's tortuosity";

/// A named set of property specs (a recipe's synapse class).
#[derive(Debug, Clone, PartialEq)]
pub struct SpecClass {
    /// The class name (e.g. `E2`).
    pub name: String,
    /// Property → spec (a `ConnPropsModel` spec object).
    pub specs: Vec<(String, Value)>,
}

/// One rule: which edges (by their source and target nodes) and what it assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where the rule comes from, as messages name it (e.g. `synapse_properties.rules[3]`).
    pub label: String,
    /// Source node selector.
    pub source: Selector,
    /// Target node selector.
    pub target: Selector,
    /// The class it assigns (index into [`RuleSet::classes`]), if any.
    pub class: Option<usize>,
    /// Specs it assigns itself (over its class's).
    pub assign: Vec<(String, Value)>,
    /// Which of the selected edges' synapses it applies to, by their own attributes (design
    /// §2.7; empty: all). A rule with a condition wins only the synapses that satisfy it.
    pub synapse: SynapseCondition,
}

/// A property the input sets that synparam leaves unset, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnsetProperty {
    /// Property name.
    pub property: String,
    /// Why it is not drawn.
    pub reason: String,
}

impl RuleSet {
    /// Rewrite every selector through `aliases`: a value naming an alias exactly is replaced by
    /// what it stands for; a glob keeps matching as written and also selects what every alias it
    /// matches stands for. Applying the same table twice changes nothing more. The table is kept
    /// (exports write it again), replacing any before it.
    pub fn apply_aliases(&mut self, aliases: Aliases) {
        for rule in &mut self.rules {
            for selector in [&mut rule.source, &mut rule.target] {
                for term in &mut selector.terms {
                    let of_property: Vec<&Alias> =
                        aliases.entries.iter().filter(|a| a.property == term.property).collect();
                    if of_property.is_empty() {
                        continue;
                    }
                    let mut patterns: Vec<Pattern> = Vec::new();
                    let mut add = |pattern: &Pattern| {
                        if !patterns.contains(pattern) {
                            patterns.push(pattern.clone());
                        }
                    };
                    for pattern in &term.patterns {
                        match pattern {
                            Pattern::Exact(value) => match of_property.iter().find(|a| &a.name == value) {
                                Some(alias) => alias.patterns.iter().for_each(&mut add),
                                None => add(pattern),
                            },
                            Pattern::Glob(glob) => {
                                add(pattern);
                                for alias in of_property.iter().filter(|a| fnmatch(glob, &a.name)) {
                                    alias.patterns.iter().for_each(&mut add);
                                }
                            }
                        }
                    }
                    term.patterns = patterns;
                }
            }
        }
        self.aliases = aliases;
    }

    /// These rules as synparam's rules JSON (the export of any imported model).
    pub fn to_rules_json(&self) -> Value {
        let classes: Vec<Value> = self
            .classes
            .iter()
            .map(|c| json!({"name": c.name, "props": Map::from_iter(c.specs.iter().cloned())}))
            .collect();
        let rules: Vec<Value> = self
            .rules
            .iter()
            .enumerate()
            .map(|(index, r)| {
                let mut rule = Map::new();
                rule.insert("name".into(), Value::from(r.label.clone()));
                if !r.source.terms.is_empty() {
                    rule.insert("source".into(), r.source.to_json());
                }
                if !r.target.terms.is_empty() {
                    rule.insert("target".into(), r.target.to_json());
                }
                if !r.synapse.is_empty() {
                    rule.insert("synapse".into(), r.synapse.to_json());
                }
                if let Some(class) = r.class {
                    rule.insert("class".into(), Value::from(self.classes[class].name.clone()));
                }
                if !r.assign.is_empty() {
                    rule.insert("assign".into(), Value::Object(Map::from_iter(r.assign.iter().cloned())));
                }
                // A recipe's delay parameters (drawn where the circuit has the synapses' positions).
                if let Some(delay) = self.soma_delays.iter().find(|d| d.rule == index) {
                    rule.insert(
                        "soma_delay".into(),
                        json!({JSON_DELAY_KEYS[0]: delay.release_delay, JSON_DELAY_KEYS[1]: delay.velocity}),
                    );
                }
                Value::Object(rule)
            })
            .collect();
        let mut out = json!({"rules_version": 1, "classes": classes, "rules": rules});
        if let Some(seed) = self.seed {
            out["random_seed"] = Value::from(seed);
        }
        if let Some(overwrite) = self.overwrite {
            out["overwrite_if_exists"] = Value::from(overwrite);
        }
        if let Some(populations) = &self.populations {
            out["edge_populations"] = json!(populations);
        }
        if !self.aliases.is_empty() {
            out["aliases"] = self.aliases.to_json();
        }
        out
    }

    /// Draw `delay` with functionalizer's formula from the recipe's per-rule parameters: each
    /// rule then also assigns `delay` as an `fz_delay` spec, which reads `distance_soma`. For hosts
    /// that read the synapses' positions (`Parameterizer::plan_edge_attributes`); without this
    /// call, `delay` stays in [`RuleSet::unset`] and nothing else changes. Returns whether the
    /// recipe gave the parameters (false: nothing to assign).
    pub fn assign_soma_delays(&mut self) -> bool {
        if self.soma_delays.is_empty() {
            return false;
        }
        for delay in &self.soma_delays {
            let spec = json!({
                "type": "fz_delay",
                "neural_transmitter_release_delay": delay.release_delay,
                "axonal_conduction_velocity": delay.velocity,
            });
            let assign = &mut self.rules[delay.rule].assign;
            match assign.iter_mut().find(|(property, _)| property == "delay") {
                Some(entry) => entry.1 = spec,
                None => assign.push(("delay".to_string(), spec)),
            }
        }
        self.unset.retain(|u| u.property != "delay");
        if !self.notes.iter().any(|n| n == SOMA_DELAY_NOTE) {
            self.notes.push(SOMA_DELAY_NOTE.to_string());
        }
        self.soma_delays.clear();
        true
    }

    /// [`RuleSet::assign_soma_delays`] when every edge population the rules are compiled for can
    /// give `distance_soma` (a synapse centre in every group and soma positions on its source
    /// nodes), as functionalizer's circuits have them; otherwise `delay` stays unset, its reason
    /// naming the first population that lacks them. Returns whether delays are drawn.
    pub fn assign_soma_delays_where_possible(&mut self, geometry: &[PopulationGeometry]) -> bool {
        if self.soma_delays.is_empty() || geometry.is_empty() {
            return false;
        }
        let lacking = geometry.iter().find_map(|g| {
            let available: Vec<&str> = g.datasets.iter().map(String::as_str).collect();
            if crate::attributes::plan_reads(&g.population, &[DISTANCE_SOMA.to_string()], &available).is_err() {
                Some(format!(
                    "edge population '{}' has no synapse centres (afferent_center_x/y/z or efferent_center_x/y/z)",
                    g.population
                ))
            } else if !g.source_positions {
                Some(format!("the source nodes of edge population '{}' have no soma positions (x, y, z)", g.population))
            } else {
                None
            }
        });
        match lacking {
            None => self.assign_soma_delays(),
            Some(why) => {
                if let Some(unset) = self.unset.iter_mut().find(|u| u.property == "delay") {
                    unset.reason = format!(
                        "functionalizer computes it per synapse (release delay + distance_soma / conduction velocity, the recipe's values), but {why}"
                    );
                }
                false
            }
        }
    }

    /// The specs rule `rule` assigns: its class's, then its own over them.
    pub(super) fn specs_of(&self, rule: &Rule) -> Vec<(String, Value)> {
        let mut specs: Vec<(String, Value)> = rule.class.map(|c| self.classes[c].specs.clone()).unwrap_or_default();
        for (property, spec) in &rule.assign {
            match specs.iter_mut().find(|(p, _)| p == property) {
                Some(entry) => entry.1 = spec.clone(),
                None => specs.push((property.clone(), spec.clone())),
            }
        }
        specs
    }
}
