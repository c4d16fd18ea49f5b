//! BBP recipes (design §9.2) as rules: functionalizer's JSON/YAML version 1 and its legacy XML, each
//! class with functionalizer's laws, and the mistakes functionalizer passes silently as errors.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::aliases::Aliases;
use super::ruleset::{
    Rule, RuleSet, SomaDelay, SpecClass, UnsetProperty, DEFAULT_CONDUCTION_VELOCITY, DEFAULT_RELEASE_DELAY,
    JSON_DELAY_KEYS,
};
use super::selectors::{Pattern, Selector, Term};
use crate::error::{Error, Num, Result};

/// The recipe selector keys functionalizer accepts, and the node property each reads.
const RECIPE_SELECTORS: [(&str, &str); 4] =
    [("mtype", "mtype"), ("etype", "etype"), ("region", "region"), ("synapse_class", "synapse_class")];

/// Functionalizer's class fields: (recipe JSON name, XML name, required).
const RECIPE_CLASS_FIELDS: [(&str, &str, bool); 14] = [
    ("conductance_mu", "gsyn", true),
    ("conductance_sd", "gsynSD", true),
    ("decay_time_mu", "dtc", true),
    ("decay_time_sd", "dtcSD", true),
    ("u_syn_mu", "u", true),
    ("u_syn_sd", "uSD", true),
    ("depression_time_mu", "d", true),
    ("depression_time_sd", "dSD", true),
    ("facilitation_time_mu", "f", true),
    ("facilitation_time_sd", "fSD", true),
    ("n_rrp_vesicles_mu", "nrrp", true),
    ("conductance_scale_factor", "gsynSRSF", false),
    ("u_hill_coefficient", "uHillCoefficient", false),
    ("class", "id", true),
];

/// XML aliases of class attributes (fz-td-recipe: `gsynVar` etc. are read as the SD).
const XML_CLASS_ALIASES: [(&str, &str); 6] =
    [("gsynVar", "gsynSD"), ("dtcVar", "dtcSD"), ("uVar", "uSD"), ("dVar", "dSD"), ("fVar", "fSD"), ("ase", "nrrp")];

fn check_class_name(name: &str, path: &str, xml: bool) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('E' | 'I'));
    let rest: Vec<char> = chars.collect();
    let rest_ok = rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_');
    if !first_ok || !rest_ok || (!xml && rest.is_empty()) {
        return Err(Error::config(
            path,
            format!("class name '{name}' must start with E or I followed by letters, digits, - or _"),
        ));
    }
    Ok(())
}

/// Functionalizer's specs of one recipe class (design §9.2); every property is drawn once per
/// connection, as functionalizer draws it.
fn recipe_class_specs(
    name: &str,
    index: usize,
    field: &dyn Fn(&str) -> Option<f64>,
    path: &dyn Fn(&str) -> String,
) -> Result<Vec<(String, Value)>> {
    let get = |key: &str| field(key).ok_or_else(|| Error::config(path(key), "required by functionalizer's recipe"));
    let positive = |key: &str| -> Result<f64> {
        let v = get(key)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(Error::config(path(key), format!("must be > 0, got {}", Num(v))))
        }
    };
    let mut specs = Vec::new();
    for property in ["conductance", "depression_time", "facilitation_time"] {
        let std = get(&format!("{property}_sd"))?;
        if std < 0.0 {
            return Err(Error::config(path(&format!("{property}_sd")), format!("must be ≥ 0, got {}", Num(std))));
        }
        // A zero sd is the point mass at the mean (legacy XML recipes write gsyn="0" gsynSD="0").
        let spec = if std == 0.0 {
            let mean = get(&format!("{property}_mu"))?;
            if mean < 0.0 {
                return Err(Error::config(path(&format!("{property}_mu")), format!("must be ≥ 0, got {}", Num(mean))));
            }
            json!({"type": "constant", "mean": mean})
        } else {
            json!({"type": "gamma", "mean": positive(&format!("{property}_mu"))?, "std": std})
        };
        specs.push((property.to_string(), spec));
    }
    for property in ["u_syn", "decay_time"] {
        let mean = get(&format!("{property}_mu"))?;
        let std = positive(&format!("{property}_sd"))?;
        if mean + std <= 0.0 {
            return Err(Error::config(
                path(&format!("{property}_mu")),
                format!(
                    "mean + sd = {} ≤ 0: functionalizer's redraw within mean ± sd and ≥ 0 never ends",
                    Num(mean + std)
                ),
            ));
        }
        specs.push((property.to_string(), json!({"type": "fz_truncnorm", "mean": mean, "std": std})));
    }
    specs.push(("n_rrp_vesicles".to_string(), json!({"type": "fz_nrrp", "mean": get("n_rrp_vesicles_mu")?})));
    for property in ["conductance_scale_factor", "u_hill_coefficient"] {
        if let Some(value) = field(property) {
            specs.push((property.to_string(), json!({"type": "constant", "mean": value})));
        }
    }
    let syn_type_id = if name.starts_with('E') { 100 } else { 0 };
    specs.push(("syn_type_id".to_string(), json!({"type": "constant", "mean": syn_type_id})));
    specs.push(("syn_property_rule".to_string(), json!({"type": "constant", "mean": index})));
    Ok(specs)
}

const RECIPE_NOTES: [&str; 3] = [
    "values follow functionalizer's laws (gamma; normal redrawn within mean ± sd and ≥ 0; 1 + Poisson(nrrp − 1)), drawn once per connection with synparam's keyed streams: the same laws, not functionalizer's numbers",
    "syn_type_id is 100 for classes starting with E, 0 otherwise; syn_property_rule is the class's position in the classes",
    "new datasets take synparam's SONATA storage types (functionalizer writes int16 for n_rrp_vesicles, syn_type_id and syn_property_rule)",
];

/// Why `delay` is not drawn: the recipe gives no delay parameters, or the host has not asked for
/// the delay from the synapses' positions ([`RuleSet::assign_soma_delays`]).
pub(super) fn delay_unset(delays: &[SomaDelay]) -> UnsetProperty {
    let reason = if delays.is_empty() {
        "functionalizer computes it from each touch's soma distance (release delay + distance / conduction velocity); this recipe gives neither neural_transmitter_release_delay nor axonal_conduction_velocity".to_string()
    } else {
        "functionalizer computes it per synapse (release delay + distance_soma / conduction velocity, the recipe's values): drawn when the run reads the synapses' positions (afferent_center_x/y/z or efferent_center_x/y/z, and the source nodes' x, y, z)".to_string()
    };
    UnsetProperty { property: "delay".to_string(), reason }
}

/// The same in XML recipes.
const XML_DELAY_KEYS: [&str; 2] = ["neuralTransmitterReleaseDelay", "axonalConductionVelocity"];

/// Rule `rule`'s delay parameters: `value(key)` is the number the recipe gives (`Err`: the text
/// that is not one), fz-td-recipe's defaults where it gives none; `given` is set when it gives
/// either. Errors at `path(key)`: not a number, not finite, a velocity ≤ 0.
pub(super) fn rule_delay(
    rule: usize,
    value: &dyn Fn(&str) -> Option<std::result::Result<f64, String>>,
    path: &dyn Fn(&str) -> String,
    keys: [&str; 2],
    given: &mut bool,
) -> Result<SomaDelay> {
    let mut parameter = |key: &str, default: f64, velocity: bool| -> Result<f64> {
        let number = match value(key) {
            None => return Ok(default),
            Some(Ok(number)) => number,
            Some(Err(text)) => return Err(Error::config(path(key), format!("must be a number, got {text}"))),
        };
        *given = true;
        if !number.is_finite() || (velocity && number <= 0.0) {
            let wanted = if velocity { "a number > 0" } else { "a finite number" };
            return Err(Error::config(path(key), format!("must be {wanted}, got {}", Num(number))));
        }
        Ok(number)
    };
    Ok(SomaDelay {
        rule,
        release_delay: parameter(keys[0], DEFAULT_RELEASE_DELAY, false)?,
        velocity: parameter(keys[1], DEFAULT_CONDUCTION_VELOCITY, true)?,
    })
}

/// A BBP recipe in JSON (fz-td-recipe's format version 1; YAML recipes arrive as JSON).
pub(super) fn from_bbp_json(recipe: &Map<String, Value>) -> Result<RuleSet> {
    match recipe.get("version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => return Err(Error::config("version", format!("only recipe version 1 is known, got {v}"))),
        None => return Err(Error::config("version", "required (1)")),
    }
    let seed = match recipe.get("seed") {
        None => Some(0),
        Some(v) => Some(v.as_u64().ok_or_else(|| Error::config("seed", "must be a non-negative integer"))?),
    };
    let properties = recipe["synapse_properties"]
        .as_object()
        .ok_or_else(|| Error::config("synapse_properties", "must be an object with rules and classes"))?;
    for key in properties.keys() {
        if key != "rules" && key != "classes" {
            return Err(Error::config(format!("synapse_properties.{key}"), "unknown key (allowed: rules, classes)"));
        }
    }
    let classes_json = properties
        .get("classes")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::config("synapse_properties.classes", "required: a list of classes"))?;
    let mut classes = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut optional_set: [Option<(bool, String)>; 2] = [None, None];
    for (index, class) in classes_json.iter().enumerate() {
        let path = format!("synapse_properties.classes[{index}]");
        let object = class.as_object().ok_or_else(|| Error::config(&path, "must be an object"))?;
        for key in object.keys() {
            if !RECIPE_CLASS_FIELDS.iter().any(|(name, _, _)| name == key) {
                return Err(Error::config(
                    format!("{path}.{key}"),
                    "unknown class field (functionalizer's JSON names: conductance_mu, conductance_sd, decay_time_mu, …)",
                ));
            }
        }
        let name = object
            .get("class")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config(format!("{path}.class"), "required: the class name"))?;
        check_class_name(name, &format!("{path}.class"), false)?;
        if names.insert(name.to_string(), index).is_some() {
            return Err(Error::config(
                format!("{path}.class"),
                format!("class '{name}' is defined twice (functionalizer would duplicate its synapses)"),
            ));
        }
        for (slot, key) in ["conductance_scale_factor", "u_hill_coefficient"].iter().enumerate() {
            let has = object.contains_key(*key);
            match &optional_set[slot] {
                None => optional_set[slot] = Some((has, path.clone())),
                Some((first, first_path)) if *first != has => {
                    return Err(Error::config(
                        format!("{path}.{key}"),
                        format!("{key} must be set for every class or for none (compare {first_path})"),
                    ))
                }
                _ => {}
            }
        }
        let mut numbers = HashMap::new();
        for (key, value) in object {
            if key == "class" {
                continue;
            }
            let number = value
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::config(format!("{path}.{key}"), format!("must be a number, got {value}")))?;
            numbers.insert(key.clone(), number);
        }
        let specs = recipe_class_specs(name, index, &|key| numbers.get(key).copied(), &|key| format!("{path}.{key}"))?;
        classes.push(SpecClass { name: name.to_string(), specs });
    }
    let rules_json = match properties.get("rules") {
        Some(Value::Array(rules)) => rules,
        Some(Value::String(_)) => {
            return Err(Error::config(
                "synapse_properties.rules",
                "rules as a Parquet file are not read; give the rules as a list",
            ))
        }
        _ => return Err(Error::config("synapse_properties.rules", "required: a list of rules")),
    };
    let mut rules = Vec::new();
    let mut notes: Vec<String> = RECIPE_NOTES.iter().map(|s| s.to_string()).collect();
    let mut delays = Vec::new();
    let mut delays_given = false;
    for (index, rule) in rules_json.iter().enumerate() {
        let label = format!("synapse_properties.rules[{index}]");
        let object = rule.as_object().ok_or_else(|| Error::config(&label, "must be an object"))?;
        let mut source = Selector::default();
        let mut target = Selector::default();
        let mut class = None;
        delays.push(rule_delay(
            index,
            &|key| object.get(key).filter(|v| !v.is_null()).map(|v| v.as_f64().ok_or_else(|| v.to_string())),
            &|key| format!("{label}.{key}"),
            JSON_DELAY_KEYS,
            &mut delays_given,
        )?);
        for (key, value) in object {
            let path = format!("{label}.{key}");
            if key == "class" {
                let name = value.as_str().ok_or_else(|| Error::config(&path, "must be a class name"))?;
                check_class_name(name, &path, false)?;
                let index = *names.get(name).ok_or_else(|| {
                    Error::config(
                        &path,
                        format!("no class '{name}' in synapse_properties.classes (functionalizer would drop these synapses)"),
                    )
                })?;
                class = Some(index);
                continue;
            }
            if key == "neural_transmitter_release_delay" || key == "axonal_conduction_velocity" {
                continue; // the delay's parameters, read above
            }
            let (side, attribute) = match key.split_once('_') {
                Some(("src", attribute)) => (&mut source, attribute),
                Some(("dst", attribute)) => (&mut target, attribute),
                _ => {
                    return Err(Error::config(
                        &path,
                        "unknown rule key (src_/dst_ + mtype, etype, region, synapse_class; class)",
                    ))
                }
            };
            let property = RECIPE_SELECTORS
                .iter()
                .find(|(name, _)| *name == attribute)
                .map(|(_, property)| *property)
                .ok_or_else(|| {
                    Error::config(&path, "unknown rule key (src_/dst_ + mtype, etype, region, synapse_class; class)")
                })?;
            let text = value.as_str().ok_or_else(|| Error::config(&path, "must be a string"))?;
            add_recipe_term(side, property, text, &path, &mut notes);
        }
        let class = class.ok_or_else(|| Error::config(format!("{label}.class"), "required: the class it assigns"))?;
        rules.push(Rule { label, source, target, class: Some(class), assign: Vec::new(), synapse: Default::default() });
    }
    if !delays_given {
        delays.clear();
    }
    Ok(RuleSet {
        format: "bbp-recipe-json",
        seed,
        classes,
        rules,
        unset: vec![delay_unset(&delays)],
        notes,
        overwrite: None,
        populations: None,
        soma_delays: delays,
        aliases: Aliases::default(),
    })
}

fn add_recipe_term(side: &mut Selector, property: &str, text: &str, path: &str, notes: &mut Vec<String>) {
    if text == "*" {
        return;
    }
    if !text.contains('*') && text.contains(['?', '[']) {
        notes.push(format!("{path}: '{text}' is read as a glob; functionalizer reads a value without * literally"));
    }
    side.terms.push(Term { property: property.to_string(), patterns: vec![Pattern::of(text)] });
}

/// A BBP recipe in the legacy XML (`SynapsesProperties`, `SynapsesClassification`), read as
/// fz-td-recipe's `XMLRecipe` reads it (a rule's own attributes over its group's defaults).
pub(super) fn from_bbp_xml(text: &str) -> Result<RuleSet> {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let document = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| Error::config("$", format!("not readable XML: {e}")))?;
    let root = document.root_element();
    let section = |tag: &str| -> Result<roxmltree::Node<'_, '_>> {
        let mut found = root.children().filter(|n| n.is_element() && n.has_tag_name(tag));
        let first = found.next().ok_or_else(|| Error::config(tag, "required in a recipe"))?;
        if found.next().is_some() {
            return Err(Error::config(tag, "appears more than once"));
        }
        Ok(first)
    };
    let seed = root
        .children()
        .find(|n| n.is_element() && n.has_tag_name("Seeds"))
        .and_then(|n| n.attribute("synapseSeed"))
        .map(|s| s.trim().parse::<u64>().map_err(|_| Error::config("Seeds@synapseSeed", "must be an integer")))
        .transpose()?
        .or(Some(0));
    let classification = section("SynapsesClassification")?;
    let mut classes = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut optional_set: [Option<bool>; 2] = [None, None];
    for (index, node) in classification.children().filter(|n| n.is_element() && n.has_tag_name("class")).enumerate() {
        let path = format!("SynapsesClassification/class[{index}]");
        let mut numbers: HashMap<String, f64> = HashMap::new();
        let mut name = None;
        for attribute in node.attributes() {
            let key = XML_CLASS_ALIASES
                .iter()
                .find(|(alias, _)| *alias == attribute.name())
                .map_or(attribute.name(), |(_, k)| *k);
            if key == "id" {
                name = Some(attribute.value().to_string());
                continue;
            }
            let json_key = RECIPE_CLASS_FIELDS
                .iter()
                .find(|(_, xml, _)| *xml == key)
                .map(|(json, _, _)| *json)
                .ok_or_else(|| Error::config(format!("{path}@{key}"), "unknown class attribute"))?;
            let value = attribute.value().trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                Error::config(format!("{path}@{key}"), format!("must be a number, got '{}'", attribute.value()))
            })?;
            numbers.insert(json_key.to_string(), value);
        }
        let name = name.ok_or_else(|| Error::config(format!("{path}@id"), "required: the class name"))?;
        check_class_name(&name, &format!("{path}@id"), true)?;
        if names.insert(name.clone(), index).is_some() {
            return Err(Error::config(format!("{path}@id"), format!("class '{name}' is defined twice")));
        }
        for (slot, key) in ["conductance_scale_factor", "u_hill_coefficient"].iter().enumerate() {
            let has = numbers.contains_key(*key);
            match optional_set[slot] {
                None => optional_set[slot] = Some(has),
                Some(first) if first != has => {
                    return Err(Error::config(
                        path.clone(),
                        format!(
                            "{} must be set on every class or on none",
                            if slot == 0 { "gsynSRSF" } else { "uHillCoefficient" }
                        ),
                    ))
                }
                _ => {}
            }
        }
        numbers.entry("n_rrp_vesicles_mu".to_string()).or_insert(0.0); // fz-td-recipe's default
        let xml_name = |json_key: &str| {
            let xml =
                RECIPE_CLASS_FIELDS.iter().find(|(json, _, _)| *json == json_key).map_or(json_key, |(_, x, _)| *x);
            format!("{path}@{xml}")
        };
        let specs = recipe_class_specs(&name, index, &|key| numbers.get(key).copied(), &xml_name)?;
        classes.push(SpecClass { name, specs });
    }
    let properties = section("SynapsesProperties")?;
    const XML_SELECTORS: [(&str, &str); 6] = [
        ("MType", "mtype"),
        ("EType", "etype"),
        ("Region", "region"),
        ("SClass", "synapse_class"),
        ("Hemisphere", "hemisphere"),
        ("Layer", "layer"),
    ];
    let attribute_of = |node: roxmltree::Node<'_, '_>, name: &str| -> Option<String> {
        node.attribute(name).or_else(|| properties.attribute(name)).map(str::to_string)
    };
    let mut notes: Vec<String> = RECIPE_NOTES.iter().map(|s| s.to_string()).collect();
    notes.push("a rule's own neuralTransmitterReleaseDelay/axonalConductionVelocity win over its group's, as fz-td-recipe's XMLRecipe reads them (its `convert` replaces them with the group's)".to_string());
    let mut rules = Vec::new();
    let mut delays = Vec::new();
    let mut delays_given = false;
    let mut used = vec![false; classes.len()];
    for (index, node) in properties.descendants().filter(|n| n.is_element() && n.has_tag_name("synapse")).enumerate() {
        let label = format!("SynapsesProperties/synapse[{index}]");
        for attribute in node.attributes() {
            let name = attribute.name();
            let known = name == "type"
                || name == "neuralTransmitterReleaseDelay"
                || name == "axonalConductionVelocity"
                || XML_SELECTORS
                    .iter()
                    .any(|(suffix, _)| name == format!("from{suffix}") || name == format!("to{suffix}"));
            if !known {
                return Err(Error::config(format!("{label}@{name}"), "unknown rule attribute"));
            }
        }
        let class_name =
            attribute_of(node, "type").ok_or_else(|| Error::config(format!("{label}@type"), "required: the class"))?;
        let class = *names.get(&class_name).ok_or_else(|| {
            Error::config(format!("{label}@type"), format!("no class '{class_name}' in SynapsesClassification"))
        })?;
        used[class] = true;
        let mut source = Selector::default();
        let mut target = Selector::default();
        for (suffix, property) in XML_SELECTORS {
            for (prefix, side) in [("from", &mut source), ("to", &mut target)] {
                let key = format!("{prefix}{suffix}");
                if let Some(value) = attribute_of(node, &key) {
                    add_recipe_term(side, property, &value, &format!("{label}@{key}"), &mut notes);
                }
            }
        }
        let text_of =
            |key: &str| attribute_of(node, key).map(|t| t.trim().parse::<f64>().map_err(|_| format!("'{t}'")));
        delays.push(rule_delay(index, &text_of, &|key| format!("{label}@{key}"), XML_DELAY_KEYS, &mut delays_given)?);
        rules.push(Rule { label, source, target, class: Some(class), assign: Vec::new(), synapse: Default::default() });
    }
    if !delays_given {
        delays.clear();
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(Error::config(
            format!("SynapsesClassification/class[{unused}]@id"),
            format!("class '{}' is used by no rule (fz-td-recipe refuses it)", classes[unused].name),
        ));
    }
    Ok(RuleSet {
        format: "bbp-recipe-xml",
        seed,
        classes,
        rules,
        unset: vec![delay_unset(&delays)],
        notes,
        overwrite: None,
        populations: None,
        soma_delays: delays,
        aliases: Aliases::default(),
    })
}
