//! obi-one's current `SynapseParameterization` config (distribution blocks, Tsodyks–Markram
//! synaptic models, neuron sets by property filters, assigners applied in order) as rules with
//! its **intended** meaning (design §9.4): min/max truncate instead of clamping, every property its
//! own stream, `shared_within` honoured, `overwrite_if_exists` honoured, every edge group written.
//! Each difference from what obi-one writes is listed in the rules' notes.

use serde_json::{json, Map, Value};

use super::aliases::Aliases;
use super::ruleset::{Rule, RuleSet};
use super::selectors::{Pattern, Selector, Term, EDGE_POPULATION_KEY, NODE_POPULATION_KEY};
use crate::error::{Error, Num, Result};

/// The model fields of obi-one's `TsodyksMarkramSynapticModel`: (field, its `*_shared_within`
/// flag, the SONATA dataset), in `parameter_names()` order (the field names are obi-one's own,
/// `fascilitation_time` included).
const MODEL_FIELDS: [(&str, &str, &str); 9] = [
    ("u_hill_coefficient_distribution", "u_hill_coefficient_shared_within", "u_hill_coefficient"),
    ("conductance_distribution", "conductance_distribution_shared_within", "conductance"),
    (
        "conductance_scale_factor_distribution",
        "conductance_scale_factor_distribution_shared_within",
        "conductance_scale_factor",
    ),
    ("fascilitation_time", "fascilitation_time_shared_within", "facilitation_time"),
    ("depression_time", "depression_time_shared_within", "depression_time"),
    ("n_rrp_vesicles_distribution", "n_rrp_vesicles_shared_within", "n_rrp_vesicles"),
    ("decay_time", "decay_time_shared_within", "decay_time"),
    ("u_syn", "u_syn_shared_within", "u_syn"),
    ("delay_distribution", "delay_shared_within", "delay"),
];

/// obi-one's default distribution of each dataset when a model leaves the reference empty
/// (`TsodyksMarkramSynapticModel.sample`), as distribution blocks.
fn default_block(dataset: &str) -> Value {
    match dataset {
        "u_hill_coefficient" => json!({"type": "FloatConstantDistribution", "value": 1.94}),
        "conductance" => json!({"type": "GammaDistribution", "shape": 4.0, "scale": 0.25}),
        "conductance_scale_factor" => json!({"type": "FloatConstantDistribution", "value": 0.7}),
        "facilitation_time" => json!({"type": "GammaDistribution", "shape": 11.56, "scale": 1.4706}),
        "depression_time" => json!({"type": "GammaDistribution", "shape": 1995.11, "scale": 0.3358}),
        "n_rrp_vesicles" => {
            json!({"type": "IntDiscreteDistribution", "values": [1, 2, 3, 4, 5], "probabilities": [0.3, 0.3, 0.2, 0.1, 0.1]})
        }
        "decay_time" => {
            json!({"type": "NormalDistribution", "mean": 1.7, "standard_deviation": 0.1, "min": 1.7, "max": 1.9})
        }
        "u_syn" => {
            json!({"type": "NormalDistribution", "mean": 0.5, "standard_deviation": 0.25, "min": 0.2, "max": 0.7})
        }
        "delay" => {
            json!({"type": "NormalDistribution", "mean": 2.0, "standard_deviation": 1.0, "min": 0.1, "max": 5.0})
        }
        _ => unreachable!("a model field"),
    }
}

/// `syn_type_id` of obi-one's two model classes.
fn syn_type_id(model_type: &str) -> Option<i64> {
    match model_type {
        "ExcitatoryTsodyksMarkramSynapticModel" => Some(113),
        "InhibitoryTsodyksMarkramSynapticModel" => Some(7),
        _ => None,
    }
}

const NOTES: [&str; 7] = [
    "min/max truncate (values redrawn within them); obi-one clamps, piling values on the bounds (its default decay_time puts half of them at exactly 1.7)",
    "every property and connection has its own random stream; obi-one draws every distribution from one stream seeded 1 (its default u_syn and delay come out comonotone, correlation ~0.95), restarted for each assigner; distribution and assigner random_seed fields are not used",
    "a *_shared_within flag draws one value per connection; obi-one ignores it and draws per synapse",
    "overwrite_if_exists is honoured: a property the edges file has is replaced only with it (obi-one overwrites regardless)",
    "every edge group is written, in synparam's SONATA storage types; obi-one writes group 0 only, keeping a dataset's dtype",
    "edges no assigner selects get the defaults of the first assigner's model class for every property; obi-one gives them these defaults only for properties the file lacks and keeps the file's values otherwise",
    "a neuron set that cannot be resolved is an error; obi-one selects nothing for it",
];

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| Error::config(path, "must be an object"))
}

fn type_of<'a>(block: &'a Map<String, Value>, path: &str) -> Result<&'a str> {
    block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::config(format!("{path}.type"), "required: the block's class"))
}

/// A number field of a block, its default when absent or null; a list (a scan dimension) is refused.
fn number(block: &Map<String, Value>, key: &str, default: f64, path: &str) -> Result<f64> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Array(_)) => {
            Err(Error::config(format!("{path}.{key}"), "a list is a scan: import one single config"))
        }
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| Error::config(format!("{path}.{key}"), format!("must be a number, got {v}"))),
    }
}

fn number_list(block: &Map<String, Value>, key: &str, default: &[f64], path: &str) -> Result<Vec<f64>> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(default.to_vec()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| Error::config(format!("{path}.{key}"), "must hold numbers"))
            })
            .collect(),
        Some(v) => Err(Error::config(format!("{path}.{key}"), format!("must be a list of numbers, got {v}"))),
    }
}

/// A distribution block as a spec with its intended meaning; `notes` gets what changed.
fn block_spec(block: &Map<String, Value>, path: &str, shared_within: bool, notes: &mut Vec<String>) -> Result<Value> {
    let kind = type_of(block, path)?;
    let n = |key: &str, default: f64| number(block, key, default, path);
    let integer_valued = matches!(
        kind,
        "IntConstantDistribution" | "IntDiscreteDistribution" | "PoissonDistribution" | "IntUniformDistribution"
    );
    let mut spec = match kind {
        "FloatConstantDistribution" => json!({"type": "constant", "mean": n("value", 1.0)?}),
        "IntConstantDistribution" => json!({"type": "constant", "mean": n("value", 1.0)? as i64}),
        "IntDiscreteDistribution" => {
            let values = number_list(block, "values", &[1.0], path)?;
            let probabilities = number_list(block, "probabilities", &[1.0], path)?;
            if values.len() != probabilities.len() || values.is_empty() {
                return Err(Error::config(format!("{path}.probabilities"), "one probability per value"));
            }
            let total: f64 = probabilities.iter().sum();
            if total.is_nan() || total <= 0.0 || probabilities.iter().any(|p| *p < 0.0) {
                return Err(Error::config(format!("{path}.probabilities"), "must be ≥ 0 with a positive sum"));
            }
            if (total - 1.0).abs() > 1e-9 {
                notes.push(format!(
                    "{path}: probabilities summing to {} are divided by their sum, as obi-one does",
                    Num(total)
                ));
            }
            let values: Vec<Value> =
                values.iter().map(|v| if v.fract() == 0.0 { json!(*v as i64) } else { json!(v) }).collect();
            json!({"type": "discrete", "val": values, "p": probabilities.iter().map(|p| p / total).collect::<Vec<_>>()})
        }
        "ExponentialDistribution" => {
            json!({"type": "exponential", "scale": n("scale", 50.0)?, "shift": n("shift", 0.0)?})
        }
        "GammaDistribution" => {
            let (shape, scale) = (n("shape", 2.0)?, n("scale", 25.0)?);
            if !(shape > 0.0 && scale > 0.0) {
                return Err(Error::config(path, "gamma shape and scale must be > 0"));
            }
            json!({"type": "gamma", "mean": shape * scale, "std": shape.sqrt() * scale, "shift": n("shift", 0.0)?})
        }
        "LogNormalDistribution" => json!({"type": "lognormal", "mean": n("mean", 0.0)?, "sigma": n("sigma", 1.0)?}),
        "NormalDistribution" => {
            json!({"type": "normal", "mean": n("mean", 0.0)?, "std": n("standard_deviation", 1.0)?})
        }
        "PoissonDistribution" => json!({"type": "poisson", "mean": n("rate", 1.0)?}),
        "FloatUniformDistribution" => json!({"type": "uniform", "low": n("low", 0.0)?, "high": n("high", 1.0)?}),
        "IntUniformDistribution" => {
            let (low, high) = (n("low", 0.0)? as i64, n("high", 1.0)? as i64);
            if high <= low || high - low > 100_000 {
                return Err(Error::config(path, "IntUniformDistribution needs low < high, at most 100000 values"));
            }
            let count = (high - low) as f64;
            json!({"type": "discrete", "val": (low..high).collect::<Vec<_>>(), "p": vec![1.0 / count; (high - low) as usize]})
        }
        other => return Err(Error::config(format!("{path}.type"), format!("unknown distribution block '{other}'"))),
    };
    // min/max: obi-one's documented meaning ("below which we truncate"), not its clamping.
    let bound = |key: &str| -> Result<Option<f64>> {
        match block.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                v.as_f64().map(Some).ok_or_else(|| Error::config(format!("{path}.{key}"), "must be a number or null"))
            }
        }
    };
    let flag = |key: &str, default: bool| block.get(key).and_then(Value::as_bool).unwrap_or(default);
    let (mut min, mut max) = (bound("min")?, bound("max")?);
    if integer_valued {
        // Exclusive bounds of integer laws move to the next integer (continuous laws: no difference).
        if !flag("include_min", true) {
            min = min.map(|m| m.floor() + 1.0);
        }
        if !flag("include_max", false) {
            max = max.map(|m| m.ceil() - 1.0);
        }
    }
    if min.is_some() || max.is_some() {
        let mut window = Map::new();
        if let Some(min) = min {
            window.insert("min".into(), json!(min));
        }
        if let Some(max) = max {
            window.insert("max".into(), json!(max));
        }
        spec["truncate"] = Value::Object(window);
    }
    spec["shared_within"] = json!(shared_within);
    Ok(spec)
}

/// A `{"type": "…Reference", "block_dict_name", "block_name"}` reference's block name.
fn reference<'a>(value: Option<&'a Value>, path: &str, dict: &str) -> Result<Option<&'a str>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let r = object(v, path)?;
            if let Some(named) = r.get("block_dict_name").and_then(Value::as_str) {
                if named != dict {
                    return Err(Error::config(format!("{path}.block_dict_name"), format!("must be '{dict}'")));
                }
            }
            r.get("block_name")
                .and_then(Value::as_str)
                .map(Some)
                .ok_or_else(|| Error::config(format!("{path}.block_name"), "required"))
        }
    }
}

/// A neuron set as a selector: a population and property filters (AND of keys, OR of values,
/// values compared as text, as obi-one compares `str(value)`).
fn neuron_set_selector(sets: &Map<String, Value>, name: &str, path: &str) -> Result<Selector> {
    let set_path = format!("neuron_sets.{name}");
    let set = object(sets.get(name).ok_or_else(|| Error::config(path, format!("no neuron set '{name}'")))?, &set_path)?;
    let kind = type_of(set, &set_path)?;
    let mut selector = Selector::default();
    let population = |selector: &mut Selector| -> Result<()> {
        let population = set
            .get("population")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config(format!("{set_path}.population"), "required"))?;
        selector
            .terms
            .push(Term { property: NODE_POPULATION_KEY.into(), patterns: vec![Pattern::Exact(population.into())] });
        Ok(())
    };
    if kind.starts_with("All") {
        return Ok(selector); // every node (of the edge population's sides)
    }
    if kind.ends_with("PopulationNeuronSet") && !kind.ends_with("PropertyNeuronSet") {
        population(&mut selector)?;
    } else if kind.ends_with("PropertyNeuronSet") {
        population(&mut selector)?;
        if number(set, "sample_percentage", 100.0, &set_path)? < 100.0 {
            return Err(Error::config(
                format!("{set_path}.sample_percentage"),
                "sampling a percentage of a neuron set is not imported yet: give 100",
            ));
        }
        let filter = set
            .get("property_filter")
            .ok_or_else(|| Error::config(format!("{set_path}.property_filter"), "required"))?;
        if filter.is_array() {
            return Err(Error::config(
                format!("{set_path}.property_filter"),
                "a list of filters is not imported (obi-one selects nothing for it): give one filter",
            ));
        }
        let filter = object(filter, &format!("{set_path}.property_filter"))?;
        let dict = object(
            filter
                .get("filter_dict")
                .ok_or_else(|| Error::config(format!("{set_path}.property_filter.filter_dict"), "required"))?,
            &format!("{set_path}.property_filter.filter_dict"),
        )?;
        for (property, values) in dict {
            let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::config(format!("{set_path}.property_filter.filter_dict.{property}"), "must be a non-empty list")
            })?;
            let patterns = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => Pattern::Exact(s.clone()),
                    other => Pattern::Exact(other.to_string()),
                })
                .collect();
            selector.terms.push(Term { property: property.clone(), patterns });
        }
    } else {
        return Err(Error::config(
            format!("{set_path}.type"),
            format!("neuron set '{kind}' is not imported yet (property, population and all-neuron sets are)"),
        ));
    }
    Ok(selector)
}

/// The specs a Tsodyks–Markram model of class `model_type` assigns: each field's referenced
/// distribution block, else obi-one's default, with its `*_shared_within` flag, plus `syn_type_id`.
/// `model` (the block and its path) `None`: every default (obi-one's fill of missing properties).
fn model_specs(
    model: Option<(&Map<String, Value>, &str)>,
    model_type: &str,
    distributions: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, Value)>> {
    let id = syn_type_id(model_type).ok_or_else(|| {
        Error::config(
            model.map_or("synaptic_models".to_string(), |(_, path)| format!("{path}.type")),
            format!("unknown synaptic model '{model_type}'"),
        )
    })?;
    let mut specs = Vec::new();
    for (field, shared_field, dataset) in MODEL_FIELDS {
        let shared = model.and_then(|(m, _)| m.get(shared_field)).and_then(Value::as_bool).unwrap_or(false);
        let referenced = match model {
            Some((m, path)) => {
                reference(m.get(field), &format!("{path}.{field}"), "distributions")?.map(|name| (name, path))
            }
            None => None,
        };
        let (block, block_path) = match referenced {
            Some((name, path)) => {
                let block = distributions
                    .get(name)
                    .ok_or_else(|| Error::config(format!("{path}.{field}"), format!("no distribution '{name}'")))?;
                (object(block, &format!("distributions.{name}"))?.clone(), format!("distributions.{name}"))
            }
            None => (object(&default_block(dataset), "default")?.clone(), format!("obi-one's default {dataset}")),
        };
        specs.push((dataset.to_string(), block_spec(&block, &block_path, shared, notes)?));
    }
    specs.push(("syn_type_id".to_string(), json!({"type": "constant", "mean": id})));
    Ok(specs)
}

/// obi-one's `SynapseParameterizationSingleConfig` as rules (see the module doc).
pub fn from_obi_one(config: &Map<String, Value>) -> Result<RuleSet> {
    let section = |key: &str| -> Result<Map<String, Value>> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(v) => Ok(object(v, key)?.clone()),
        }
    };
    let distributions = section("distributions")?;
    let models = section("synaptic_models")?;
    let sets = section("neuron_sets")?;
    let assigners = section("synapse_model_assigners")?;
    if assigners.is_empty() {
        return Err(Error::config("synapse_model_assigners", "no assigner: nothing would be parameterized"));
    }
    let mut notes: Vec<String> = NOTES.iter().map(|s| s.to_string()).collect();
    let mut rules = Vec::new();
    let mut first_model_of: Vec<(String, String)> = Vec::new(); // edge population → first model type
    let mut overwrite: Option<bool> = None;
    let mut assigner_rules = Vec::new();
    for (name, assigner) in &assigners {
        let path = format!("synapse_model_assigners.{name}");
        let assigner = object(assigner, &path)?;
        let kind = type_of(assigner, &path)?;
        let edges = assigner
            .get("edge_population_name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config(format!("{path}.edge_population_name"), "required"))?;
        let flag = assigner.get("overwrite_if_exists").and_then(Value::as_bool).unwrap_or(false);
        match overwrite {
            None => overwrite = Some(flag),
            Some(previous) if previous != flag => {
                return Err(Error::config(
                    format!("{path}.overwrite_if_exists"),
                    "assigners disagree on overwrite_if_exists; synparam writes whole datasets: set the same value everywhere",
                ))
            }
            _ => {}
        }
        let model_name =
            reference(assigner.get("synaptic_model"), &format!("{path}.synaptic_model"), "synaptic_models")?
                .ok_or_else(|| {
                    Error::config(format!("{path}.synaptic_model"), "required: the synaptic model it assigns")
                })?;
        let model_path = format!("synaptic_models.{model_name}");
        let model = object(
            models.get(model_name).ok_or_else(|| {
                Error::config(format!("{path}.synaptic_model"), format!("no synaptic model '{model_name}'"))
            })?,
            &model_path,
        )?;
        let model_type = type_of(model, &model_path)?.to_string();
        let specs = model_specs(Some((model, &model_path)), &model_type, &distributions, &mut notes)?;
        if !first_model_of.iter().any(|(e, _)| e == edges) {
            first_model_of.push((edges.to_string(), model_type));
        }
        let set = |key: &str| -> Result<Selector> {
            match reference(assigner.get(key), &format!("{path}.{key}"), "neuron_sets")? {
                Some(set) => neuron_set_selector(&sets, set, &format!("{path}.{key}")),
                None => Ok(Selector::default()),
            }
        };
        let (mut source, target) = match kind {
            "AllPairsSynapticModelAssigner" => (Selector::default(), Selector::default()),
            "InterNeuronSetSynapticModelAssigner" => (set("source_neuron_set")?, set("targeted_neuron_set")?),
            "PresynapticNeuronSetSynapticModelAssigner" => (set("source_neuron_set")?, Selector::default()),
            other => return Err(Error::config(format!("{path}.type"), format!("unknown assigner '{other}'"))),
        };
        source.terms.push(Term { property: EDGE_POPULATION_KEY.into(), patterns: vec![Pattern::Exact(edges.into())] });
        assigner_rules.push(Rule {
            label: path,
            source,
            target,
            class: None,
            assign: specs,
            synapse: Default::default(),
        });
    }
    // First, per edge population, the defaults of its first assigner's model class for every edge.
    for (edges, model_type) in &first_model_of {
        let defaults = model_specs(None, model_type, &distributions, &mut notes)?;
        let mut source = Selector::default();
        source.terms.push(Term { property: EDGE_POPULATION_KEY.into(), patterns: vec![Pattern::Exact(edges.clone())] });
        rules.push(Rule {
            label: format!("defaults of {model_type} for '{edges}'"),
            source,
            target: Selector::default(),
            class: None,
            assign: defaults,
            synapse: Default::default(),
        });
    }
    rules.extend(assigner_rules);
    let populations = Some(first_model_of.iter().map(|(edges, _)| edges.clone()).collect());
    Ok(RuleSet {
        format: "obi-one",
        seed: Some(1),
        classes: Vec::new(),
        rules,
        unset: Vec::new(),
        notes,
        overwrite,
        populations,
        soma_delays: Vec::new(),
        aliases: Aliases::default(),
    })
}
