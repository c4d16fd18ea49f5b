//! Rules with precedence (design §9): ordered rules select source and target nodes by node
//! properties — exact values or fnmatch globs, ANDed over properties, ORed over a property's values
//! — and assign specs, or a whole class of specs, to properties. Per property, the last rule that
//! matches an edge's source and target wins. BBP recipes (JSON/YAML v1 as JSON, legacy XML) and
//! obi-one's configs import into rules with their tools' meanings.
//!
//! Rules compile, for a circuit's nodes, into the `ConnPropsModel` the engine already runs: every
//! class of nodes the rules tell apart becomes one pathway value, so the engine, its speed and its
//! keyed streams (which never depend on the rule) are unchanged, and the compiled model is the
//! export as a `ConnPropsModel` dict.
//!
//! The layers, each using only those before it: `selectors` (which nodes), `aliases` (a recipe's
//! names for a circuit's), `ruleset` (the rules),
//! the readers `bbp`, `obi_one` and `rules_json`, `read` (any input), `compile` (for a circuit);
//! `preset` writes a preset by class as rules for a circuit's values and populations; `aliases`
//! maps the names a recipe uses to a circuit's.

mod aliases;
mod bbp;
mod compile;
mod obi_one;
mod preset;
mod read;
mod rules_json;
mod ruleset;
mod selectors;

pub use aliases::{Alias, Aliases};
pub use compile::{
    compile, CompiledRules, EdgePopulationNodes, Explain, NameReport, NodeTable, PathwayReport, PopulationPathways,
    RuleCompiler, RuleMatchingNothing, RuleReport,
};
pub use preset::{preset_to_rules, PresetMapping, PresetSide};
pub use read::{is_rules_input, parse_rules, with_aliases, with_rule};
pub use rules_json::model_to_rules;
pub use ruleset::{
    PopulationGeometry, Rule, RuleSet, SomaDelay, SpecClass, UnsetProperty, DEFAULT_CONDUCTION_VELOCITY,
    DEFAULT_RELEASE_DELAY,
};
pub use selectors::{fnmatch, Pattern, Selector, Term, EDGE_POPULATION_KEY, NODE_POPULATION_KEY};

use crate::config::Fallback;
use crate::error::{Error, Result};

/// The pathway property a run of compiled rules reports: the rules class the nodes themselves.
pub const RULES_PATHWAY: &str = "rules";

/// Refuse the settings of a matrix model that a run of rules cannot take, for every host alike: a
/// pathway property (rules select nodes by their own properties) or a fallback value (rules class
/// nodes without a property with their own selectors, e.g. a rule for `{"population": "VPM"}`).
/// [`RULES_PATHWAY`] itself is accepted (a sidecar of a rules run records it).
pub fn check_rules_settings(pathway_property: Option<&str>, fallback: Option<&Fallback>) -> Result<()> {
    if let Some(property) = pathway_property.filter(|p| *p != RULES_PATHWAY) {
        return Err(Error::config(
            "pathway_property",
            format!("rules select nodes by their own properties: drop the pathway property ('{property}')"),
        ));
    }
    if fallback.is_some() {
        return Err(Error::config(
            "fallback_pathway_value",
            "rules class nodes without a property with their own selectors (e.g. a rule for {\"population\": \"VPM\"}): drop the fallback value",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_models_pathway_property_or_fallback_is_refused_for_rules_naming_the_setting() {
        assert!(check_rules_settings(None, None).is_ok());
        assert!(check_rules_settings(Some(RULES_PATHWAY), None).is_ok(), "a rules run's own record");
        let property = check_rules_settings(Some("mtype"), None).unwrap_err();
        assert_eq!(property.path(), Some("pathway_property"));
        assert!(property.to_string().contains("drop the pathway property ('mtype')"), "{property}");
        let fallback = check_rules_settings(None, Some(&Fallback::every("EXC"))).unwrap_err();
        assert_eq!(fallback.path(), Some("fallback_pathway_value"));
        assert!(fallback.to_string().contains("drop the fallback value"), "{fallback}");
    }
}
