//! A fit of a circuit's edges (issue #25) as every host runs it: the command and the Node API
//! (wasm), `synparam.fit` and Dask (PyO3). The fit itself is [`crate::fit`]'s; this module decides
//! what the hosts would otherwise each decide, so that the model is the same bits everywhere
//! (design §10):
//!
//! - which edge populations and properties a fit takes, and how each column is stored
//!   ([`plan_fit`], from the facts a host's loader read: node properties present, the datasets of
//!   every edge group with their storage types);
//! - the fit with the class (`synapse_class`) and layer of every pathway value, read from the
//!   nodes for `build`'s fallback hierarchy ([`CircuitFit`]);
//! - `build`'s options: connectome-manipulator's reference choices with the caller's merged in,
//!   every key checked ([`build_options`]), so options added to [`BuildOptions`] flow through
//!   without binding changes and unknown ones are named;
//! - pass states as JSON for processes that merge them ([`state_to_json`], [`state_from_json`]).
//!
//! The hosts read the files and feed the chunks: every chunk holds all the edges of each of its
//! target nodes, cut where the target changes after about `chunk_rows` edges (SONATA's
//! target-sorted files), or the whole population when its edges are not sorted by target. Each
//! chunk is added to a fresh [`PassState`] and the chunks' states are merged in edge order
//! (populations in the plan's order): merged moments depend on the order of merging in their
//! last bits, so the same chunks merged in the same order give the same model for any number of
//! processes or Dask workers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::attributes::DISTANCE_SOMA;
use crate::config::{Fallback, N_SYN_PER_CONN};
use crate::engine::{EdgeIds, PathwayColumn};
use crate::error::{Error, Result};
use crate::fit::{
    classes_from_nodes, BuildOptions, DelayFitSettings, FitData, FitOutput, FitProperty, FitSettings, Fitter, Law,
    PassPlan, PassState, ValueClass, ValueKind, DEFAULT_DELAY_BIN_UM,
};

/// Edges per chunk of a fit by default: hosts that cut chunks alike give the same bits (each
/// chunk's state is merged in edge order). 262,144 edges keep the command under 300 MB (a chunk's
/// columns as float64, in JS and in wasm) and sort faster than larger chunks.
pub const DEFAULT_FIT_CHUNK_ROWS: u64 = 1 << 18;

/// Why an edge dataset is not fitted unless asked for by name: identifiers, positions and
/// geometry, which are not drawn per pathway. `None`: a physiological property, fitted.
pub fn not_fitted_by_default(name: &str) -> Option<&'static str> {
    match name {
        "syn_type_id" => None,
        "delay" => Some("geometric: axonal path length over conduction velocity, computed from positions"),
        N_SYN_PER_CONN | "nsyns" => Some("a count of synapses, which n_syn_per_conn fits from the connections"),
        "syn_property_rule" => Some("an index into the recipe's rules, not a physiological value"),
        "spine_length" | "distance_soma" | "distance_to_soma" => Some("geometry of the synapse's position"),
        _ if name.starts_with("afferent_") || name.starts_with("efferent_") => {
            Some("position or geometry on the morphology (section, segment, centre, surface)")
        }
        _ if name.ends_with("_id") => Some("an identifier"),
        _ => None,
    }
}

/// How a column of storage type `storage` (numpy name: `float32`, `int16`, …) is fitted; `None`
/// for anything that is not a number.
pub fn value_kind(storage: &str) -> Option<ValueKind> {
    match storage {
        "float32" => Some(ValueKind::Float32),
        "float64" => Some(ValueKind::Float64),
        other => crate::config::ColumnType::from_name(other)
            .filter(|t| matches!(t, crate::config::ColumnType::Int(_)))
            .map(|_| ValueKind::Int),
    }
}

/// One side (source or target) of an edge population, as the host's loader found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideFacts {
    /// The node population's name.
    pub population: String,
    /// Its file as shown in messages.
    #[serde(default)]
    pub file: Option<String>,
    /// Whether its nodes have the pathway property (the h5 group or the node-types CSV).
    pub has_pathway: bool,
}

/// One dataset of an edge group: its name and storage type (numpy name), `None` when it is not a
/// one-dimensional number column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetFacts {
    /// The dataset's name in the group.
    pub name: String,
    /// Its storage type, or `None`.
    #[serde(default)]
    pub storage: Option<String>,
}

/// One edge group and its datasets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFacts {
    /// The group's name (`0`, `1`, …).
    pub group: String,
    /// Its datasets (not its sub-groups).
    pub datasets: Vec<DatasetFacts>,
}

/// A loadable edge population as the host's loader found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationFacts {
    /// The edge population's name.
    pub name: String,
    /// Its file as shown in messages.
    #[serde(default)]
    pub file: String,
    /// Its source nodes.
    pub source: SideFacts,
    /// Its target nodes.
    pub target: SideFacts,
    /// Its edge groups, in the file's order.
    pub groups: Vec<GroupFacts>,
}

/// What a host asks to fit (JSON from the bindings): the settings of the command's `--fit` options
/// and the facts of every loadable edge population, in the circuit's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRequest {
    /// The node property whose values make the pathways.
    pub pathway_property: String,
    /// Properties to fit, in model order; `None`: every physiological numeric property.
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    /// Edge populations to fit; `None`: every one whose nodes have the pathway property.
    #[serde(default)]
    pub requested: Option<Vec<String>>,
    /// The loadable edge populations.
    pub populations: Vec<PopulationFacts>,
    /// Pathways with fewer connections are filled in by `build`.
    #[serde(default)]
    pub min_sample_size: Option<u64>,
    /// Pathways with more connections are subsampled.
    #[serde(default)]
    pub max_sample_size: Option<u64>,
    /// Seed of the subsample (a number, or its decimal text).
    #[serde(default, deserialize_with = "seed_number_or_text")]
    pub seed: u64,
    /// Pathway value(s) of nodes without one (one for every node population, or per population).
    #[serde(default)]
    pub fallback_value: Option<Fallback>,
    /// Histogram bins (default 51).
    #[serde(default)]
    pub hist_bins: Option<usize>,
    /// Edges per chunk (default [`DEFAULT_FIT_CHUNK_ROWS`]).
    #[serde(default)]
    pub chunk_rows: Option<u64>,
    /// Distance bin (µm) of a `lin_delay` fit (default [`DEFAULT_DELAY_BIN_UM`],
    /// connectome-manipulator's `bin_size_um`).
    #[serde(default)]
    pub delay_bin_um: Option<f64>,
    /// More of [`FitSettings`]' keys (e.g. `folds`, `correlation_sample`), each checked.
    #[serde(default)]
    pub settings: Option<Map<String, Value>>,
    /// The options `build` will be given ([`build_options`]): checked before anything is read,
    /// and what they need extracted is set (`law_statistics` for `mode: "auto"`, a correlation
    /// sample of [`DEFAULT_CORRELATION_SAMPLE`] connections for `correlations`, `keep_rows` and
    /// [`DEFAULT_EMPIRICAL_ROWS`] for `mode: "empirical"`).
    #[serde(default)]
    pub options: Option<Value>,
}

/// Connections per pathway ranked for `correlations` when the settings do not say (the core's
/// suggestion).
pub const DEFAULT_CORRELATION_SAMPLE: u64 = 2000;

/// Connections per pathway whose vectors (and synapses) empirical mode keeps as rows when the
/// settings do not say (`correlation_sample`): every row is written into the model, once per
/// pathway it serves, so the model grows with rows × pathways × properties.
pub const DEFAULT_EMPIRICAL_ROWS: u64 = 200;

fn seed_number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seed {
        Number(u64),
        Text(String),
    }
    match Option::<Seed>::deserialize(deserializer)? {
        None => Ok(0),
        Some(Seed::Number(n)) => Ok(n),
        Some(Seed::Text(text)) => text
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("seed must be a non-negative integer, got '{text}'"))),
    }
}

/// A property of the edges that the fit leaves out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotFitted {
    /// The dataset's name.
    pub property: String,
    /// Why it is not fitted.
    pub reason: String,
}

/// What a fit takes, as [`plan_fit`] decides it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitPlan {
    /// The fit's settings (for [`CircuitFit::new`]).
    pub settings: FitSettings,
    /// The edge populations fitted, in the order they are added and their chunks merged.
    pub populations: Vec<String>,
    /// Edges per chunk.
    pub chunk_rows: u64,
    /// Edge populations left out, properties found in some populations only.
    pub warnings: Vec<String>,
    /// The edges' other properties and why each is not fitted.
    pub not_fitted: Vec<NotFitted>,
    /// Per edge population, the edge datasets each chunk carries after the properties' columns
    /// (a `lin_delay` fit's synapse centres; the source nodes' positions are then given with
    /// `set_source_positions`); empty without one.
    pub distance_reads: BTreeMap<String, Vec<String>>,
}

/// Where a property stands in one edge population.
#[derive(Debug, Clone, PartialEq)]
enum Availability {
    /// A number column in every group, fitted as this kind.
    Numeric(ValueKind),
    /// Present, but not a number column in some group.
    NotNumeric,
    /// In these groups, missing from those.
    SomeGroups { present: Vec<String>, missing: Vec<String> },
}

/// Every dataset name of a population's groups and where it stands.
fn availability(population: &PopulationFacts) -> BTreeMap<String, Availability> {
    let mut names = BTreeSet::new();
    population.groups.iter().flat_map(|g| &g.datasets).for_each(|d| {
        names.insert(d.name.clone());
    });
    let mut out = BTreeMap::new();
    for name in names {
        let mut kinds = Vec::new();
        let (mut present, mut missing) = (Vec::new(), Vec::new());
        let mut numeric = true;
        for group in &population.groups {
            match group.datasets.iter().find(|d| d.name == name) {
                Some(d) => {
                    present.push(group.group.clone());
                    match d.storage.as_deref().and_then(value_kind) {
                        Some(kind) => kinds.push(kind),
                        None => numeric = false,
                    }
                }
                None => missing.push(group.group.clone()),
            }
        }
        let state = if !missing.is_empty() {
            Availability::SomeGroups { present, missing }
        } else if !numeric {
            Availability::NotNumeric
        } else {
            Availability::Numeric(unify(&kinds))
        };
        out.insert(name, state);
    }
    out
}

/// One kind for columns stored alike, else float64 (values widen exactly; histograms in float64).
fn unify(kinds: &[ValueKind]) -> ValueKind {
    match kinds.first() {
        Some(&first) if kinds.iter().all(|&k| k == first) => first,
        _ => ValueKind::Float64,
    }
}

/// Decide what a fit takes (design §10): the edge populations (those asked for, else every one
/// whose source and target nodes have the pathway property, or all with a fallback value), the
/// properties (those asked for, each checked on every fitted population and group, else every
/// numeric property of the edges but identifiers, positions and geometry —
/// [`not_fitted_by_default`] — that every fitted population has, by name), their kinds, and the
/// settings (with what the build options need extracted). Every refusal names the key and the
/// population or file.
pub fn plan_fit(request: &FitRequest) -> Result<FitPlan> {
    let mut warnings = Vec::new();
    let chosen = choose_populations(request, &mut warnings)?;
    let available: Vec<BTreeMap<String, Availability>> = chosen.iter().map(|p| availability(p)).collect();
    let (mut properties, mut not_fitted) = match &request.properties {
        Some(names) => (requested_properties(names, &chosen, &available)?, Vec::new()),
        None => default_properties(&chosen, &available, &mut warnings)?,
    };
    let delay = delay_property(request)?;
    if let (Some(name), None) = (&delay, &request.properties) {
        if !properties.iter().any(|p| &p.name == name) {
            properties.extend(requested_properties(std::slice::from_ref(name), &chosen, &available)?);
            not_fitted.retain(|n| &n.property != name);
        }
    }
    let mut settings = settings_of(request, properties)?;
    let mut distance_reads = BTreeMap::new();
    if let Some(property) = delay {
        for (population, states) in chosen.iter().zip(&available) {
            let numeric: Vec<&str> =
                states.iter().filter(|(_, s)| matches!(s, Availability::Numeric(_))).map(|(n, _)| n.as_str()).collect();
            let setup = crate::attributes::plan_reads(&population.name, &[DISTANCE_SOMA.to_string()], &numeric)
                .map_err(|e| in_file(e, &population.file))?;
            distance_reads.insert(population.name.clone(), setup.reads.datasets);
        }
        let bin_size_um = request.delay_bin_um.unwrap_or(DEFAULT_DELAY_BIN_UM);
        settings.delay_fit = Some(DelayFitSettings { property, bin_size_um, reads: distance_reads.clone() });
    }
    Fitter::new(settings.clone())?; // validates the settings
    let chunk_rows = request.chunk_rows.unwrap_or(DEFAULT_FIT_CHUNK_ROWS);
    if chunk_rows == 0 {
        return Err(Error::config("chunk_rows", "must be at least 1"));
    }
    Ok(FitPlan {
        settings,
        populations: chosen.iter().map(|p| p.name.clone()).collect(),
        chunk_rows,
        warnings,
        not_fitted,
        distance_reads,
    })
}

/// The property whose law is `lin_delay` in the request's build options, if any (at most one:
/// the distances are binned for one property).
fn delay_property(request: &FitRequest) -> Result<Option<String>> {
    let Some(options) = &request.options else { return Ok(None) };
    let options = build_options(&options.to_string(), None)?;
    let mut delays = options.laws.iter().filter(|(_, &law)| law == Law::LinDelay).map(|(name, _)| name.clone());
    let first = delays.next();
    if let (Some(first), Some(second)) = (&first, delays.next()) {
        return Err(Error::config(
            format!("laws.{second}"),
            format!("lin_delay is fitted for one property per fit ('{first}' already has it)"),
        ));
    }
    if first.as_deref() == Some(N_SYN_PER_CONN) {
        return Err(Error::config(
            format!("laws.{N_SYN_PER_CONN}"),
            "lin_delay is a law of delays by distance, not of synapse counts",
        ));
    }
    if options.mode == crate::fit::FitMode::Empirical && first.is_some() {
        return Err(Error::config(
            "mode",
            "empirical mode draws observed rows, which cannot follow a synapse's distance: fit lin_delay in mode cm or auto",
        ));
    }
    Ok(first)
}

/// An error naming the edges file it came from.
fn in_file(error: Error, file: &str) -> Error {
    if file.is_empty() {
        return error;
    }
    match error {
        Error::Input { context, message } => Error::Input { context: format!("{file}: {context}"), message },
        other => other,
    }
}

/// The fit's settings: the request's, its `settings` keys over them (each one `FitSettings` has),
/// and what its build options need extracted.
fn settings_of(request: &FitRequest, properties: Vec<FitProperty>) -> Result<FitSettings> {
    let mut settings = FitSettings::new(properties);
    settings.min_sample_size = request.min_sample_size;
    settings.max_sample_size = request.max_sample_size;
    settings.seed = request.seed;
    settings.fallback_value = request.fallback_value.clone();
    if let Some(bins) = request.hist_bins {
        settings.hist_bins = bins;
    }
    let given = request.settings.clone().unwrap_or_default();
    if !given.is_empty() {
        let Value::Object(mut merged) = json_value(&settings)? else {
            return Err(Error::input("fit settings", "the settings are not an object"));
        };
        merged.extend(given.clone());
        settings = checked::<FitSettings>(merged, "settings")?;
    }
    if let Some(options) = &request.options {
        let options = build_options(&options.to_string(), None)?;
        check_properties_named(&options, &settings)?;
        if options.mode == crate::fit::FitMode::Auto && !given.contains_key("law_statistics") {
            settings.law_statistics = true;
        }
        if options.mode == crate::fit::FitMode::Empirical {
            if !given.contains_key("keep_rows") {
                settings.keep_rows = true;
            }
            if !given.contains_key("correlation_sample") {
                settings.correlation_sample = DEFAULT_EMPIRICAL_ROWS;
            }
        } else if options.correlations && !given.contains_key("correlation_sample") {
            settings.correlation_sample = DEFAULT_CORRELATION_SAMPLE;
        }
    }
    Ok(settings)
}

/// The properties `options` name (laws, dtypes, bounds, sharing) are fitted ones (or the
/// reference laws' own), as `build` checks them — here before anything is read.
fn check_properties_named(options: &BuildOptions, settings: &FitSettings) -> Result<()> {
    let reference = BuildOptions::reference();
    let known = |name: &str| {
        name == N_SYN_PER_CONN
            || settings.properties.iter().any(|p| p.name == name)
            || reference.laws.contains_key(name)
    };
    let keys = (options.laws.keys().map(|k| ("laws", k)))
        .chain(options.dtypes.keys().map(|k| ("dtypes", k)))
        .chain(options.bounds.keys().map(|k| ("bounds", k)))
        .chain(options.shared_within.keys().map(|k| ("shared_within", k)));
    for (field, key) in keys {
        if !known(key) {
            return Err(Error::config(format!("{field}.{key}"), format!("'{key}' is not a fitted property")));
        }
    }
    Ok(())
}

/// A value of `T` from a JSON object, every key one `T` has: an unknown key is a config error
/// naming it (`what.key`).
fn checked<T: serde::de::DeserializeOwned + Serialize>(object: Map<String, Value>, what: &str) -> Result<T> {
    #[derive(Deserialize)]
    struct Known<T> {
        #[serde(flatten)]
        value: T,
        #[serde(flatten)]
        unknown: Map<String, Value>,
    }
    let known: Known<T> =
        serde_json::from_value(Value::Object(object)).map_err(|e| Error::config(what, e.to_string()))?;
    if let Some(key) = known.unknown.keys().next() {
        let Value::Object(fields) = json_value(&known.value)? else {
            return Err(Error::input(what, "not an object"));
        };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        return Err(Error::config(
            format!("{what}.{key}"),
            format!("not one of this version's fit {what} (it has: {})", names.join(", ")),
        ));
    }
    Ok(known.value)
}

/// The edge populations a fit takes, in the circuit's order.
fn choose_populations<'a>(request: &'a FitRequest, warnings: &mut Vec<String>) -> Result<Vec<&'a PopulationFacts>> {
    let property = &request.pathway_property;
    if property.is_empty() {
        return Err(Error::config("pathway_property", "a fit needs a pathway property (e.g. mtype)"));
    }
    let names: Vec<&str> = request.populations.iter().map(|p| p.name.as_str()).collect();
    if let Some(requested) = &request.requested {
        if let Some(unknown) = requested.iter().find(|r| !names.contains(&r.as_str())) {
            return Err(Error::config(
                "populations",
                format!("unknown edge population '{unknown}' (the circuit has: {})", names.join(", ")),
            ));
        }
    }
    if let Some(fallback) = &request.fallback_value {
        let mut nodes: Vec<String> = Vec::new();
        for side in request.populations.iter().flat_map(|p| [&p.source, &p.target]) {
            if !nodes.contains(&side.population) {
                nodes.push(side.population.clone());
            }
        }
        fallback.check_populations(&nodes)?;
    }
    let has_fallback =
        |population: &str| request.fallback_value.as_ref().and_then(|f| f.for_population(population)).is_some();
    let lacking = |p: &PopulationFacts| -> Option<String> {
        let side = [("source", &p.source), ("target", &p.target)]
            .into_iter()
            .find(|(_, s)| !s.has_pathway && !has_fallback(&s.population))?;
        let file = side.1.file.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
        Some(format!(
            "{} node population '{}'{file} of edge population '{}' has no '{property}' property",
            side.0, side.1.population, p.name
        ))
    };
    let mut chosen = Vec::new();
    let mut reasons = Vec::new();
    for population in &request.populations {
        let asked = request.requested.as_ref().is_none_or(|r| r.contains(&population.name));
        if !asked {
            continue;
        }
        match lacking(population) {
            None => chosen.push(population),
            Some(reason) if request.requested.is_some() => {
                return Err(Error::config(
                    "pathway_property",
                    format!("{reason}; set a fallback value or choose another pathway property"),
                ));
            }
            Some(reason) => {
                warnings.push(format!("not fitted: {reason}"));
                reasons.push(reason);
            }
        }
    }
    if chosen.is_empty() {
        let why = if reasons.is_empty() {
            "the circuit has no loadable edge population".to_string()
        } else {
            reasons.join("; ")
        };
        return Err(Error::config(
            "pathway_property",
            format!("no edge population has '{property}' on both its source and target nodes: {why} (set a fallback value, or choose another pathway property)"),
        ));
    }
    Ok(chosen)
}

/// The properties asked for, each a number column of every group of every fitted population.
fn requested_properties(
    names: &[String],
    chosen: &[&PopulationFacts],
    available: &[BTreeMap<String, Availability>],
) -> Result<Vec<FitProperty>> {
    if names.is_empty() {
        return Err(Error::config("properties", "no property named; leave it out to fit every physiological property"));
    }
    let mut properties = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let path = format!("properties[{i}]");
        let mut kinds = Vec::new();
        for (population, states) in chosen.iter().zip(available) {
            let file = if population.file.is_empty() { String::new() } else { format!(" ({})", population.file) };
            let numeric: Vec<&str> =
                states.iter().filter(|(_, s)| matches!(s, Availability::Numeric(_))).map(|(n, _)| n.as_str()).collect();
            let problem = match states.get(name) {
                Some(Availability::Numeric(kind)) => {
                    kinds.push(*kind);
                    continue;
                }
                None => format!("has no property '{name}' (its numeric properties: {})", numeric.join(", ")),
                Some(Availability::NotNumeric) => format!("has '{name}', but not as a column of numbers"),
                Some(Availability::SomeGroups { present, missing }) => format!(
                    "has '{name}' in edge group(s) {} but not in {}; a fit needs it on every edge",
                    present.join(", "),
                    missing.join(", ")
                ),
            };
            return Err(Error::config(path, format!("edge population '{}'{file} {problem}", population.name)));
        }
        properties.push(FitProperty { name: name.clone(), kind: unify(&kinds) });
    }
    Ok(properties)
}

/// Every numeric physiological property every fitted population has, by name; the rest with why.
fn default_properties(
    chosen: &[&PopulationFacts],
    available: &[BTreeMap<String, Availability>],
    warnings: &mut Vec<String>,
) -> Result<(Vec<FitProperty>, Vec<NotFitted>)> {
    let mut names = BTreeSet::new();
    available.iter().flat_map(|a| a.keys()).for_each(|n| {
        names.insert(n.clone());
    });
    let (mut properties, mut not_fitted) = (Vec::new(), Vec::new());
    for name in names {
        let mut kinds = Vec::new();
        let mut reason = not_fitted_by_default(&name).map(str::to_string);
        let mut without = Vec::new();
        for (population, states) in chosen.iter().zip(available) {
            match states.get(&name) {
                Some(Availability::Numeric(kind)) => kinds.push(*kind),
                Some(Availability::NotNumeric) => {
                    reason.get_or_insert_with(|| "not a column of numbers".to_string());
                }
                Some(Availability::SomeGroups { missing, .. }) => {
                    reason.get_or_insert_with(|| {
                        format!("missing from edge group(s) {} of '{}'", missing.join(", "), population.name)
                    });
                }
                None => without.push(population.name.as_str()),
            }
        }
        if reason.is_none() && !without.is_empty() {
            let message = format!(
                "'{name}' is not fitted: edge population(s) {} lack it (fit the others alone with their populations)",
                without.join(", ")
            );
            warnings.push(message);
            reason = Some(format!("missing from edge population(s) {}", without.join(", ")));
        }
        match reason {
            Some(reason) => not_fitted.push(NotFitted { property: name, reason }),
            None => properties.push(FitProperty { name, kind: unify(&kinds) }),
        }
    }
    if properties.is_empty() {
        let listed: Vec<String> = not_fitted.iter().map(|n| format!("{} ({})", n.property, n.reason)).collect();
        return Err(Error::config(
            "properties",
            format!("no property to fit: the edges have none that is physiological, numeric and in every fitted population (found: {}); name the properties to fit", if listed.is_empty() { "nothing".to_string() } else { listed.join("; ") }),
        ));
    }
    Ok((properties, not_fitted))
}

/// A node population's columns for one side of an edge population: the pathway values, and the
/// class (`synapse_class`) and layer when the nodes have them.
#[derive(Debug, Clone)]
pub struct NodeColumns {
    /// The pathway property's values.
    pub pathway: PathwayColumn,
    /// `synapse_class` values, if any.
    pub class: Option<PathwayColumn>,
    /// `layer` values, if any.
    pub layer: Option<PathwayColumn>,
}

/// A fit of a circuit: [`Fitter`]'s passes over the edge populations of a [`FitPlan`], the class
/// and layer of each pathway value from the nodes, and `build` with options merged over the
/// reference ones. Hosts drive the passes as for a `Fitter`; workers build their own with the
/// same settings and populations and adopt the coordinator's plan ([`CircuitFit::begin_pass`]).
#[derive(Debug, Clone)]
pub struct CircuitFit {
    fitter: Fitter,
    pathway_property: String,
    sides: Vec<[NodeColumns; 2]>,
    data: Option<FitData>,
}

impl CircuitFit {
    /// A fit with these settings (a [`FitPlan`]'s) of pathways of `pathway_property`.
    pub fn new(settings: FitSettings, pathway_property: &str) -> Result<Self> {
        Ok(CircuitFit {
            fitter: Fitter::new(settings)?,
            pathway_property: pathway_property.to_string(),
            sides: Vec::new(),
            data: None,
        })
    }

    /// The fit's settings.
    pub fn settings(&self) -> &FitSettings {
        self.fitter.settings()
    }

    /// Add an edge population (node id = row of each column); errors name the pathway property.
    pub fn add_population(&mut self, name: &str, source: NodeColumns, target: NodeColumns) -> Result<()> {
        self.fitter.add_population(name, &source.pathway, &target.pathway).map_err(|e| match e {
            Error::MissingPathwayProperty { role, population, count, first_node, .. } => {
                Error::MissingPathwayProperty {
                    role,
                    population,
                    property: self.pathway_property.clone(),
                    count,
                    first_node,
                }
            }
            other => other,
        })?;
        self.sides.push([source, target]);
        Ok(())
    }

    /// The soma positions of `population`'s source nodes (node id = row), which a `lin_delay`
    /// fit needs for the populations [`FitPlan::distance_reads`] lists.
    pub fn set_source_positions(
        &mut self,
        population: &str,
        positions: crate::attributes::SomaPositions,
    ) -> Result<()> {
        self.fitter.set_source_positions(population, positions)
    }

    /// The coordinator's next pass ([`Fitter::next_pass`]).
    pub fn next_pass(&mut self) -> Result<Option<PassPlan>> {
        self.fitter.next_pass()
    }

    /// Adopt a coordinator's pass plan (a worker).
    pub fn begin_pass(&mut self, plan: PassPlan) -> Result<()> {
        self.fitter.begin_pass(plan)
    }

    /// An empty state of the current pass.
    pub fn new_state(&self) -> Result<PassState> {
        self.fitter.new_state()
    }

    /// Add one chunk of `population` to `state`: its ids and one column per property, in the
    /// settings' order.
    pub fn add_chunk(
        &self,
        state: &mut PassState,
        population: &str,
        ids: EdgeIds<'_>,
        columns: &[&[f64]],
    ) -> Result<()> {
        self.fitter.add_chunk(state, population, ids, columns)
    }

    /// Take the whole pass's merged state.
    pub fn finish_pass(&mut self, state: PassState) -> Result<()> {
        self.fitter.finish_pass(state)
    }

    /// The extracted data, once [`CircuitFit::next_pass`] returned `None`.
    pub fn finish(&mut self) -> Result<&FitData> {
        let data = self.fitter.finish()?;
        Ok(self.data.insert(data))
    }

    /// Class and layer of each source and each target value, from the nodes (the lowest node id
    /// holding the value, in the first population that has it).
    pub fn classes(&self) -> (BTreeMap<String, ValueClass>, BTreeMap<String, ValueClass>) {
        let side = |i: usize| {
            let pathway: Vec<&PathwayColumn> = self.sides.iter().map(|s| &s[i].pathway).collect();
            let class: Vec<Option<&PathwayColumn>> = self.sides.iter().map(|s| s[i].class.as_ref()).collect();
            let layer: Vec<Option<&PathwayColumn>> = self.sides.iter().map(|s| s[i].layer.as_ref()).collect();
            classes_from_nodes(&pathway, &class, &layer)
        };
        (side(0), side(1))
    }

    /// The model and report: [`crate::fit::build`] of the finished data with [`build_options`] of
    /// `options_json` and the nodes' classes (unless the options give them).
    pub fn build(&self, options_json: &str) -> Result<FitOutput> {
        let data =
            self.data.as_ref().ok_or_else(|| Error::input("fit", "not finished: run every pass, then finish"))?;
        crate::fit::build(data, &build_options(options_json, Some(self.classes()))?)
    }
}

/// The model and the report of a fit as JSON text (two-space indents, the model's keys in
/// `src_types`, `tgt_types`, `prop_stats` order, a final newline), as every host writes them.
pub fn output_texts(output: &FitOutput) -> Result<(String, String)> {
    Ok((pretty(&output.model)?, pretty(&output.report)?))
}

fn pretty<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map(|t| t + "\n").map_err(|e| Error::input("fit output", e.to_string()))
}

fn json_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::input("fit options", e.to_string()))
}

/// `build`'s options from the caller's JSON object: connectome-manipulator's reference choices
/// ([`BuildOptions::reference`]; in another mode than cm, without its laws, which the data
/// choose) with `classes` (source, target) and the caller's keys merged in — maps (`laws`,
/// `dtypes`, `bounds`, `shared_within`, the classes) key by key, anything else replaced. Every law is checked on its own (`laws.<property>` names a law the fit cannot
/// write), a mode this version cannot build is named as not available yet, and a key
/// [`BuildOptions`] does not have is refused by name (`options.<key>`).
pub fn build_options(
    options_json: &str,
    classes: Option<(BTreeMap<String, ValueClass>, BTreeMap<String, ValueClass>)>,
) -> Result<BuildOptions> {
    let text = if options_json.trim().is_empty() { "{}" } else { options_json };
    let given: Value = serde_json::from_str(text).map_err(|e| Error::config("options", format!("not JSON: {e}")))?;
    let Value::Object(given) = given else {
        return Err(Error::config("options", "must be a JSON object"));
    };
    let Value::Object(mut base) = json_value(&BuildOptions::reference())? else {
        return Err(Error::input("fit options", "the reference options are not an object"));
    };
    if let Some((source, target)) = classes {
        base.insert("source_classes".into(), json_value(&source)?);
        base.insert("target_classes".into(), json_value(&target)?);
    }
    if let Some(mode) = given.get("mode") {
        let mut alone = base.clone();
        alone.insert("mode".into(), mode.clone());
        match serde_json::from_value::<BuildOptions>(Value::Object(alone)) {
            Err(e) => return Err(Error::config("mode", format!("{mode} is not available yet in this version: {e}"))),
            // Other modes choose the laws from the data: only the caller's laws are fixed.
            Ok(options) if options.mode != BuildOptions::reference().mode => {
                base.insert("laws".into(), Value::Object(Map::new()));
            }
            Ok(_) => {}
        }
    }
    if let Some(Value::Object(laws)) = given.get("laws") {
        for (property, law) in laws {
            serde_json::from_value::<Law>(law.clone()).map_err(|e| {
                Error::config(format!("laws.{property}"), format!("{law} is not a law the fit can write: {e}"))
            })?;
        }
    }
    for (key, value) in given {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(into)), Value::Object(entries)) => into.extend(entries),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
    checked::<BuildOptions>(base, "options")
}

/// A pass state as JSON text, for another process's [`state_from_json`] (a Dask task's).
pub fn state_to_json(state: &PassState) -> Result<String> {
    serde_json::to_string(state).map_err(|e| Error::input("fit state", e.to_string()))
}

/// A pass state from [`state_to_json`]'s text (empty samples' infinite ranges included: the
/// core reads serde's `null` back as ±∞).
pub fn state_from_json(text: &str) -> Result<PassState> {
    serde_json::from_str(text).map_err(|e| Error::input("fit state", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(datasets: &[(&str, Option<&str>)]) -> GroupFacts {
        GroupFacts {
            group: "0".into(),
            datasets: datasets
                .iter()
                .map(|(n, s)| DatasetFacts { name: n.to_string(), storage: s.map(str::to_string) })
                .collect(),
        }
    }

    fn population(name: &str, has: bool, groups: Vec<GroupFacts>) -> PopulationFacts {
        let side = |p: &str| SideFacts { population: p.into(), file: None, has_pathway: has };
        PopulationFacts { name: name.into(), file: format!("{name}.h5"), source: side("a"), target: side("b"), groups }
    }

    fn request(populations: Vec<PopulationFacts>) -> FitRequest {
        serde_json::from_value(serde_json::json!({"pathway_property": "mtype", "populations": populations})).unwrap()
    }

    #[test]
    fn default_properties_leave_out_identifiers_and_geometry() {
        let edges = group(&[
            ("afferent_center_x", Some("float32")),
            ("conductance", Some("float32")),
            ("delay", Some("float32")),
            ("n_rrp_vesicles", Some("int16")),
            ("syn_type_id", Some("int16")),
            ("synapse_id", Some("uint64")),
            ("morphology", None),
        ]);
        let plan =
            plan_fit(&request(vec![population("e", true, vec![edges]), population("f", false, vec![])])).unwrap();
        let names: Vec<(&str, ValueKind)> =
            plan.settings.properties.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            names,
            [("conductance", ValueKind::Float32), ("n_rrp_vesicles", ValueKind::Int), ("syn_type_id", ValueKind::Int)]
        );
        assert_eq!(plan.populations, ["e"]);
        let left: Vec<&str> = plan.not_fitted.iter().map(|n| n.property.as_str()).collect();
        assert_eq!(left, ["afferent_center_x", "delay", "morphology", "synapse_id"]);
        assert!(plan.warnings[0].contains("'f' has no 'mtype' property"), "{:?}", plan.warnings);
    }

    #[test]
    fn requested_properties_and_populations_are_checked_by_name() {
        let mut r = request(vec![population("e", true, vec![group(&[("conductance", Some("float64"))])])]);
        r.properties = Some(vec!["conductance".into(), "u_syn".into()]);
        let error = plan_fit(&r).unwrap_err();
        assert_eq!(error.path(), Some("properties[1]"));
        assert!(error.to_string().contains("edge population 'e' (e.h5) has no property 'u_syn'"), "{error}");
        r.properties = None;
        r.requested = Some(vec!["x".into()]);
        assert_eq!(plan_fit(&r).unwrap_err().path(), Some("populations"));
        let mut lacking = request(vec![population("e", false, vec![])]);
        let error = plan_fit(&lacking).unwrap_err();
        assert!(error.to_string().contains("no edge population has 'mtype'"), "{error}");
        lacking.requested = Some(vec!["e".into()]);
        let error = plan_fit(&lacking).unwrap_err();
        assert!(
            error.to_string().contains("source node population 'a' of edge population 'e' has no 'mtype'"),
            "{error}"
        );
    }

    #[test]
    fn options_merge_over_the_reference_and_name_unknown_keys() {
        let options =
            build_options(r#"{"laws": {"conductance": "normal"}, "dtypes": {"u_syn": "float"}}"#, None).unwrap();
        assert_eq!(options.laws["conductance"], Law::Normal);
        assert_eq!(options.laws["u_syn"], Law::Truncnorm);
        assert_eq!(options.dtypes["syn_type_id"], "int");
        let error = build_options(r#"{"laws": {"conductance": "gama"}}"#, None).unwrap_err();
        assert_eq!(error.path(), Some("laws.conductance"));
        assert!(build_options(r#"{"mode": "cm"}"#, None).is_ok());
        let error = build_options(r#"{"mode": "best"}"#, None).unwrap_err();
        assert_eq!(error.path(), Some("mode"));
        assert!(error.to_string().contains("\"best\" is not available yet in this version"), "{error}");
        let empirical = build_options(r#"{"mode": "empirical"}"#, None).unwrap();
        assert!(empirical.laws.is_empty(), "empirical mode fixes only the caller's laws");
        let auto = build_options(r#"{"mode": "auto", "laws": {"u_syn": "normal"}}"#, None).unwrap();
        assert_eq!(auto.laws.len(), 1, "auto mode fixes only the caller's laws");
        let error = build_options(r#"{"lawz": {}}"#, None).unwrap_err();
        assert_eq!(error.path(), Some("options.lawz"));
        let mut r = request(vec![population("e", true, vec![group(&[("conductance", Some("float64"))])])]);
        r.options = Some(serde_json::json!({"mode": "auto", "correlations": true}));
        r.settings = Some(serde_json::from_value(serde_json::json!({"folds": 5})).unwrap());
        let plan = plan_fit(&r).unwrap();
        assert!(plan.settings.law_statistics && plan.settings.folds == 5);
        assert_eq!(plan.settings.correlation_sample, DEFAULT_CORRELATION_SAMPLE);
        r.options = Some(serde_json::json!({"mode": "empirical"}));
        r.settings = None;
        let plan = plan_fit(&r).unwrap();
        assert!(plan.settings.keep_rows && !plan.settings.law_statistics);
        assert_eq!(plan.settings.correlation_sample, DEFAULT_EMPIRICAL_ROWS);
        r.settings = Some(serde_json::from_value(serde_json::json!({"fold": 5})).unwrap());
        assert_eq!(plan_fit(&r).unwrap_err().path(), Some("settings.fold"));
    }

    #[test]
    fn empty_ranges_survive_json() {
        let mut state: PassState = serde_json::from_value(serde_json::json!({
            "pass": 2, "pathways": [], "targets": [], "invalid": [], "keep": 3}))
        .unwrap();
        let accumulator = crate::fit::extract::PathwayAccumulator {
            moments: Some(crate::fit::extract::MomentsAccumulator {
                n_syn_per_conn: Default::default(),
                properties: vec![],
            }),
            ..Default::default()
        };
        state.pathways.push(Some(accumulator));
        let back = state_from_json(&state_to_json(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }
}
