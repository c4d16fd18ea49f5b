//! Rules with precedence (design §9): ordered rules select source and target nodes by node
//! properties — exact values or fnmatch globs, ANDed over properties, ORed over a property's values
//! — and assign specs, or a whole class of specs, to properties. Per property, the last rule that
//! matches an edge's source and target wins. BBP recipes (JSON/YAML v1 as JSON, legacy XML) import
//! into rules with functionalizer's laws.
//!
//! Rules compile, for a circuit's nodes, into the `ConnPropsModel` the engine already runs: every
//! class of nodes the rules tell apart becomes one pathway value, so the engine, its speed and its
//! keyed streams (which never depend on the rule) are unchanged, and the compiled model is the
//! export as a `ConnPropsModel` dict.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::engine::Ids;
use crate::error::{Error, Num, Result};

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
}

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
}

/// Nodes whose properties match every term (no term: every node).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// The terms, ANDed.
    pub terms: Vec<Term>,
}

/// A node property and the values it may have (ORed).
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Node property name (e.g. `mtype`).
    pub property: String,
    /// Accepted values.
    pub patterns: Vec<Pattern>,
}

/// An accepted value: exact text, or an fnmatch glob (`*`, `?`, `[…]`, case-sensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Exactly this value.
    Exact(String),
    /// A glob.
    Glob(String),
}

/// A property the input sets that synparam leaves unset, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnsetProperty {
    /// Property name.
    pub property: String,
    /// Why it is not drawn.
    pub reason: String,
}

impl Pattern {
    fn of(value: &str) -> Pattern {
        if value.contains(['*', '?', '[']) {
            Pattern::Glob(value.to_string())
        } else {
            Pattern::Exact(value.to_string())
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(text) => text == value,
            Pattern::Glob(glob) => fnmatch(glob, value),
        }
    }

    fn text(&self) -> &str {
        match self {
            Pattern::Exact(text) | Pattern::Glob(text) => text,
        }
    }
}

/// Python's `fnmatch.fnmatchcase`: `*` any run, `?` one character, `[seq]`/`[!seq]` with ranges;
/// a `[` without its `]` is literal. Case-sensitive, as functionalizer matches on POSIX.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (greedy, linear for each star).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = bracket(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_pi, star_ti)) => {
                pi = star_pi + 1;
                ti = star_ti + 1;
                star = Some((star_pi, star_ti + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A `[…]` set at `p[start]`: whether `c` is in it and the index after it; `None` when the
/// bracket is not closed (then `[` is a literal character).
fn bracket(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < p.len() && p[i] == '!';
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    Some((matched != negate, i + 1))
}

impl Selector {
    fn properties(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.property.as_str())
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        for term in &self.terms {
            let values: Vec<Value> = term.patterns.iter().map(|p| Value::from(p.text())).collect();
            object.insert(
                term.property.clone(),
                if values.len() == 1 { values[0].clone() } else { Value::Array(values) },
            );
        }
        Value::Object(object)
    }
}

// ------------------------------------------------------------------------------------ reading

/// Read rules from text: a BBP recipe in XML (`<…><SynapsesProperties>…`), a BBP recipe in
/// JSON (an object with `synapse_properties`; YAML recipes are read by the host into JSON), or
/// synparam's rules JSON (an object with `rules_version`). Errors name the path in the input.
pub fn parse_rules(text: &str) -> Result<RuleSet> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return from_bbp_xml(trimmed);
    }
    let value: Value =
        serde_json::from_str(trimmed).map_err(|e| Error::config("$", format!("neither XML nor JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(Error::config("$", "rules must be a JSON object"));
    };
    if object.contains_key("synapse_properties") {
        from_bbp_json(object)
    } else if object.contains_key("synapse_model_assigners") {
        crate::obi_one::from_obi_one(object)
    } else if object.contains_key("rules_version") {
        from_rules_json(object)
    } else {
        Err(Error::config(
            "$",
            "not a rules input: expected a BBP recipe (synapse_properties), an obi-one SynapseParameterization config (synapse_model_assigners) or synparam rules (rules_version)",
        ))
    }
}

/// Whether `text` is a rules input (a BBP recipe in XML or JSON, or synparam rules) rather than
/// a `ConnPropsModel` or task config: what hosts check before compiling.
pub fn is_rules_input(text: &str) -> bool {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return true;
    }
    serde_json::from_str::<Value>(trimmed)
        .ok()
        .and_then(|v| {
            v.as_object().map(|o| {
                o.contains_key("synapse_properties")
                    || o.contains_key("rules_version")
                    || o.contains_key("synapse_model_assigners")
            })
        })
        .unwrap_or(false)
}

/// A `ConnPropsModel` (or task config) as rules: one rule per source × target cell, selecting
/// nodes by `pathway_property`, assigning that cell's specs as written. The export of a matrix
/// model into the rules form.
pub fn model_to_rules(config_text: &str, pathway_property: &str) -> Result<Value> {
    let task = crate::config::parse_task(config_text)?;
    let value: Value = serde_json::from_str(config_text).map_err(|e| Error::config("$", e.to_string()))?;
    let model = value.get("pathway_param_dict").unwrap_or(&value);
    if model.get("prop_cov").is_some_and(|c| !c.is_null()) {
        return Err(Error::config("prop_cov", "correlated properties have no rules form: export the matrix instead"));
    }
    let mut rules = Vec::new();
    for source in &task.model.src_types {
        for target in &task.model.tgt_types {
            let mut assign = Map::new();
            if let Some(properties) = model.get("prop_stats").and_then(Value::as_object) {
                for (property, by_source) in properties {
                    if let Some(spec) = by_source.get(source).and_then(|t| t.get(target)) {
                        assign.insert(property.clone(), spec.clone());
                    }
                }
            }
            rules.push(json!({
                "name": format!("{source} → {target}"),
                "source": {pathway_property: source},
                "target": {pathway_property: target},
                "assign": assign,
            }));
        }
    }
    let mut out = json!({"rules_version": 1, "classes": [], "rules": rules});
    if let Some(seed) = task.seed {
        out["random_seed"] = Value::from(seed);
    }
    Ok(out)
}

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

fn delay_unset() -> UnsetProperty {
    UnsetProperty {
        property: "delay".to_string(),
        reason: "functionalizer computes it from each touch's soma distance (release delay + distance / conduction velocity), which a SONATA edges file does not keep".to_string(),
    }
}

/// A BBP recipe in JSON (fz-td-recipe's format version 1; YAML recipes arrive as JSON).
fn from_bbp_json(recipe: &Map<String, Value>) -> Result<RuleSet> {
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
    for (index, rule) in rules_json.iter().enumerate() {
        let label = format!("synapse_properties.rules[{index}]");
        let object = rule.as_object().ok_or_else(|| Error::config(&label, "must be an object"))?;
        let mut source = Selector::default();
        let mut target = Selector::default();
        let mut class = None;
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
                continue; // used by functionalizer for delay only (see `unset`)
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
        rules.push(Rule { label, source, target, class: Some(class), assign: Vec::new() });
    }
    Ok(RuleSet {
        format: "bbp-recipe-json",
        seed,
        classes,
        rules,
        unset: vec![delay_unset()],
        notes,
        overwrite: None,
        populations: None,
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
fn from_bbp_xml(text: &str) -> Result<RuleSet> {
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
        rules.push(Rule { label, source, target, class: Some(class), assign: Vec::new() });
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
        unset: vec![delay_unset()],
        notes,
        overwrite: None,
        populations: None,
    })
}

/// synparam's own rules JSON: `{"rules_version": 1, "random_seed"?, "classes": [{"name", "props":
/// {property: spec}}], "rules": [{"name"?, "source"?: selector, "target"?: selector, "class"?,
/// "assign"?: {property: spec}}]}`; a selector is `{property: value or [values]}`.
fn from_rules_json(object: &Map<String, Value>) -> Result<RuleSet> {
    if object.get("rules_version").and_then(Value::as_u64) != Some(1) {
        return Err(Error::config("rules_version", "must be 1"));
    }
    for key in object.keys() {
        if !["rules_version", "random_seed", "overwrite_if_exists", "edge_populations", "classes", "rules"]
            .contains(&key.as_str())
        {
            return Err(Error::config(
                key,
                "unknown key (allowed: rules_version, random_seed, overwrite_if_exists, edge_populations, classes, rules)",
            ));
        }
    }
    let seed = object
        .get("random_seed")
        .map(|v| v.as_u64().ok_or_else(|| Error::config("random_seed", "must be a non-negative integer")))
        .transpose()?;
    let specs_of = |value: &Value, path: &str| -> Result<Vec<(String, Value)>> {
        let map = value.as_object().ok_or_else(|| Error::config(path, "must be an object of property: spec"))?;
        map.iter()
            .map(|(property, spec)| {
                crate::config::check_property_name(property, &format!("{path}.{property}"))?;
                if spec.is_object() {
                    Ok((property.clone(), spec.clone()))
                } else {
                    Err(Error::config(format!("{path}.{property}"), "must be a spec object"))
                }
            })
            .collect()
    };
    let mut classes = Vec::new();
    let mut names = HashMap::new();
    for (index, class) in
        object.get("classes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
    {
        let path = format!("classes[{index}]");
        let name = class
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config(format!("{path}.name"), "required"))?;
        if names.insert(name.to_string(), index).is_some() {
            return Err(Error::config(format!("{path}.name"), format!("class '{name}' is defined twice")));
        }
        let specs = specs_of(class.get("props").unwrap_or(&Value::Null), &format!("{path}.props"))?;
        classes.push(SpecClass { name: name.to_string(), specs });
    }
    let rules_json =
        object.get("rules").and_then(Value::as_array).ok_or_else(|| Error::config("rules", "required: a list"))?;
    let mut rules = Vec::new();
    for (index, rule) in rules_json.iter().enumerate() {
        let path = format!("rules[{index}]");
        let label = match rule.get("name").and_then(Value::as_str) {
            Some(name) => format!("{path} ({name})"),
            None => path.clone(),
        };
        let selector = |key: &str| -> Result<Selector> {
            let Some(value) = rule.get(key) else { return Ok(Selector::default()) };
            let map = value.as_object().ok_or_else(|| Error::config(format!("{path}.{key}"), "must be an object"))?;
            let mut selector = Selector::default();
            for (property, values) in map {
                let term_path = format!("{path}.{key}.{property}");
                let texts: Vec<String> = match values {
                    Value::String(s) => vec![s.clone()],
                    Value::Number(n) => vec![n.to_string()],
                    Value::Array(items) => items
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s.clone()),
                            Value::Number(n) => Ok(n.to_string()),
                            _ => Err(Error::config(&term_path, "values must be strings or numbers")),
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(Error::config(&term_path, "must be a value or a list of values")),
                };
                if texts.is_empty() {
                    return Err(Error::config(&term_path, "an empty list selects nothing"));
                }
                selector.terms.push(Term {
                    property: property.clone(),
                    patterns: texts.iter().map(|t| Pattern::of(t)).collect(),
                });
            }
            Ok(selector)
        };
        let class = match rule.get("class") {
            None => None,
            Some(v) => {
                let name = v.as_str().ok_or_else(|| Error::config(format!("{path}.class"), "must be a class name"))?;
                Some(
                    *names
                        .get(name)
                        .ok_or_else(|| Error::config(format!("{path}.class"), format!("no class '{name}'")))?,
                )
            }
        };
        let assign = match rule.get("assign") {
            None => Vec::new(),
            Some(value) => specs_of(value, &format!("{path}.assign"))?,
        };
        if class.is_none() && assign.is_empty() {
            return Err(Error::config(path, "assigns nothing: give a class or assign"));
        }
        rules.push(Rule { label, source: selector("source")?, target: selector("target")?, class, assign });
    }
    let overwrite = object
        .get("overwrite_if_exists")
        .map(|v| v.as_bool().ok_or_else(|| Error::config("overwrite_if_exists", "must be true or false")))
        .transpose()?;
    let populations = match object.get("edge_populations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| Error::config("edge_populations", "must be names"))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(Error::config("edge_populations", "must be a list of names")),
    };
    Ok(RuleSet { format: "rules", seed, classes, rules, unset: Vec::new(), notes: Vec::new(), overwrite, populations })
}

impl RuleSet {
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
            .map(|r| {
                let mut rule = Map::new();
                rule.insert("name".into(), Value::from(r.label.clone()));
                if !r.source.terms.is_empty() {
                    rule.insert("source".into(), r.source.to_json());
                }
                if !r.target.terms.is_empty() {
                    rule.insert("target".into(), r.target.to_json());
                }
                if let Some(class) = r.class {
                    rule.insert("class".into(), Value::from(self.classes[class].name.clone()));
                }
                if !r.assign.is_empty() {
                    rule.insert("assign".into(), Value::Object(Map::from_iter(r.assign.iter().cloned())));
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
        out
    }

    /// The specs rule `rule` assigns: its class's, then its own over them.
    fn specs_of(&self, rule: &Rule) -> Vec<(String, Value)> {
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

// ------------------------------------------------------------------------------------ compiling

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
}

/// Classes of nodes the rules tell apart on one side: by which rules' selectors a node matches.
struct SideClasses {
    masks: Vec<Vec<bool>>,
    /// Per class, per referenced property, the values seen (for the name).
    values: Vec<Vec<BTreeSet<String>>>,
    /// Per population (edge population order), the class of each node.
    node_class: Vec<Vec<usize>>,
    names: Vec<String>,
}

/// Selector keys that are not node properties: the node population's name, and the edge
/// population's (rules restricted to some edge populations).
pub const NODE_POPULATION_KEY: &str = "@population";
/// See [`NODE_POPULATION_KEY`].
pub const EDGE_POPULATION_KEY: &str = "@edges";

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
    let mut out = SideClasses { masks: Vec::new(), values: Vec::new(), node_class: Vec::new(), names: Vec::new() };
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
                    by_tuple.insert(tuple, class);
                    class
                }
            };
            classes.push(class);
        }
        out.node_class.push(classes);
    }
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
    winner: Vec<Option<usize>>,
    synapses: Vec<u64>,
    connections: Vec<u64>,
    /// Per population, the last edge's (source, target) seen (a new pair starts a connection).
    last_pair: Vec<Option<(u64, u64)>>,
    /// Per rule, the exact selector values no node of their side has.
    absent_values: Vec<Vec<String>>,
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
        // winner[(s * t_count + t) * P + p] = the last rule matching both sides that assigns p.
        let mut winner: Vec<Option<usize>> = vec![None; s_count * t_count * properties.len()];
        for s in 0..s_count {
            for t in 0..t_count {
                for (p, property) in properties.iter().enumerate() {
                    winner[(s * t_count + t) * properties.len() + p] = (0..rules.rules.len()).rev().find(|&r| {
                        source.masks[s][r] && target.masks[t][r] && specs[r].iter().any(|(name, _)| name == property)
                    });
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
            synapses: vec![0; cells],
            connections: vec![0; cells],
            absent_values,
        })
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
                if let Some(p) = (0..properties).find(|p| self.winner[cell * properties + p].is_none()) {
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

    /// The compiled model, the nodes' pathway values and the explanation. With `with_edges`,
    /// the counts of [`RuleCompiler::add_edges`] are reported and only pathways with synapses
    /// must be covered; without, every pathway must be.
    pub fn finish(&self, with_edges: bool) -> Result<CompiledRules> {
        let (s_count, t_count) = (self.source.names.len(), self.target.names.len());
        let properties = &self.properties;
        let winner = |cell: usize, p: usize| self.winner[cell * properties.len() + p];
        if !with_edges {
            for cell in 0..s_count * t_count {
                if let Some(p) = (0..properties.len()).find(|&p| winner(cell, p).is_none()) {
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
                    let spec = match winner(s * t_count + t, p) {
                        Some(r) => self.specs[r].iter().find(|(name, _)| name == property).expect("assigned").1.clone(),
                        None => json!({"type": "constant", "mean": 0}),
                    };
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
                if (0..properties.len()).any(|p| winner(cell, p) == Some(r)) {
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
                    .map(|(p, property)| (property.clone(), winner(cell, p).map(|r| self.rules.rules[r].label.clone())))
                    .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_pythons_fnmatchcase() {
        // Expectations from Python's fnmatch.fnmatchcase.
        let cases = [
            ("mac*on", "macron", true),
            ("mac*on", "macaroon", true),
            ("MAC*", "macron", false),
            ("[fb]*", "foo", true),
            ("[fb]*", "spam", false),
            ("[!fb]*", "spam", true),
            ("L?_*", "L5_TPC", true),
            ("L?_*", "L23_PC", false),
            ("*", "", true),
            ("a[", "a[", true),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[]]", "]", true),
            ("*_PC", "L23_PC", true),
            ("*_PC", "L23_PCX", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(fnmatch(pattern, text), expected, "fnmatch({pattern:?}, {text:?})");
        }
    }
}
