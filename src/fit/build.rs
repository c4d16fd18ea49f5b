//! connectome-manipulator's `conn_props.build`: pathways without data filled from the first level
//! of a hierarchy that has data, then one law per property for every pathway, written as a
//! `ConnPropsModel` dict the engine runs unchanged, with a report of what was fitted and how.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::fitter::{FitData, SampleStatistics};
use super::numpy::{pairwise_sum, ValueKind};
use super::report::{entry_report, FallbackUsed, FitReport, PathwayReport, ReportSettings};
use crate::config::N_SYN_PER_CONN;
use crate::error::{Error, Result};

/// The laws `build` can write (`ConnPropsModel.distribution_attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Law {
    /// `mean`.
    Constant,
    /// `mean`, `std`.
    Normal,
    /// `norm_loc`, `norm_scale`, `min`, `max` (the data's range).
    Truncnorm,
    /// `mean`, `std`.
    Gamma,
    /// `mean`.
    Poisson,
    /// `mean` (the zero-truncated law's own mean).
    Ztpoisson,
    /// `val`, `p`.
    Discrete,
    /// Nothing: always 0, never shared.
    Zero,
    /// `mean`, `sigma` of ln x (not one of connectome-manipulator's laws: auto mode only).
    Lognormal,
    /// `scale` (auto mode only).
    Exponential,
    /// `low`, `high` (auto mode only).
    Uniform,
    /// connectome-manipulator's `LinDelayModel` fitted on delays by distance bin (`delay.py`):
    /// `delay_mean_coeff_a/b`, `delay_std`, `delay_min`; drawn per synapse.
    #[serde(rename = "lin_delay")]
    LinDelay,
}

impl Law {
    /// The law's `type` name.
    pub fn name(self) -> &'static str {
        match self {
            Law::Constant => "constant",
            Law::Normal => "normal",
            Law::Truncnorm => "truncnorm",
            Law::Gamma => "gamma",
            Law::Poisson => "poisson",
            Law::Ztpoisson => "ztpoisson",
            Law::Discrete => "discrete",
            Law::Zero => "zero",
            Law::Lognormal => "lognormal",
            Law::Exponential => "exponential",
            Law::Uniform => "uniform",
            Law::LinDelay => "lin_delay",
        }
    }
}

/// The class (`synapse_class`: EXC, INH) and layer of one pathway value, which the fallback
/// hierarchy groups by. Either may be unknown: the levels that need it are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ValueClass {
    /// E.g. `EXC`.
    #[serde(default)]
    pub class: Option<String>,
    /// E.g. `5` (compared as text).
    #[serde(default)]
    pub layer: Option<String>,
}

/// How laws are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FitMode {
    /// connectome-manipulator's `build`: one law per property (`laws`, else `default_law`) for
    /// every pathway, its parameters by connectome-manipulator's estimators.
    #[default]
    #[serde(alias = "connectome-manipulator")]
    Cm,
    /// The law chosen by the data per pathway and property (AIC with a KS check, `select.rs`),
    /// maximum-likelihood parameters (`laws.rs`); `laws` fixes the law of the properties it
    /// names. Needs the extraction's law statistics (`FitSettings::law_statistics` or `folds`).
    Auto,
    /// The observed vectors drawn again (`empirical.rs`): per pathway, an `empirical` spec per
    /// property over the rows of a keyed subsample of connections (shared properties) or of
    /// their synapses (the others), filled pathways taking rows from their fallback level;
    /// `laws` applies to `n_syn_per_conn` only. Needs the extraction's rows
    /// (`FitSettings::keep_rows` with `correlation_sample`).
    Empirical,
}

impl FitMode {
    /// Every mode, by its name in options and reports' `mode` ("connectome-manipulator" for cm):
    /// what hosts offer.
    pub const ALL: [FitMode; 3] = [FitMode::Cm, FitMode::Auto, FitMode::Empirical];

    /// The mode's name in options (`--fit-mode`).
    pub fn name(self) -> &'static str {
        match self {
            FitMode::Cm => "cm",
            FitMode::Auto => "auto",
            FitMode::Empirical => "empirical",
        }
    }
}

/// `build`'s arguments (serde: JSON from the bindings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// `cm` (default), `auto` or `empirical`.
    #[serde(default)]
    pub mode: FitMode,
    /// The KS check's significance α in auto mode, which also sets the charge of a truncation
    /// window (default 0.01).
    #[serde(default = "default_significance")]
    pub significance: f64,
    /// Fit correlations between properties into `prop_cov` (needs the extraction's
    /// `correlation_sample`; `correlate.rs`).
    #[serde(default)]
    pub correlations: bool,
    /// Fewest connections in a pathway's correlation sample for its correlations to be fitted
    /// (the identity elsewhere; default 50).
    #[serde(default = "default_correlation_min_samples")]
    pub correlation_min_samples: u64,
    /// The properties to correlate (default: every one drawn once per connection in every
    /// pathway, not constant, not discrete).
    #[serde(default)]
    pub correlation_properties: Option<Vec<String>>,
    /// Law per property (`distr_types`), `n_syn_per_conn` included.
    #[serde(default)]
    pub laws: BTreeMap<String, Law>,
    /// The law of properties not in `laws` (connectome-manipulator: normal, with a warning).
    #[serde(default = "default_law")]
    pub default_law: Law,
    /// `dtype` per property (`data_types`), e.g. `int`.
    #[serde(default)]
    pub dtypes: BTreeMap<String, String>,
    /// `[lower_bound, upper_bound]` per property (`data_bounds`), either may be null.
    #[serde(default)]
    pub bounds: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// `shared_within` per property, overriding the data's (`shared_within`).
    #[serde(default)]
    pub shared_within: BTreeMap<String, bool>,
    /// Class and layer of each source value.
    #[serde(default)]
    pub source_classes: BTreeMap<String, ValueClass>,
    /// Class and layer of each target value.
    #[serde(default)]
    pub target_classes: BTreeMap<String, ValueClass>,
    /// Write `n_syn_per_conn` (default true; the engine ignores it, connectome-manipulator uses it
    /// to wire new connections).
    #[serde(default = "yes")]
    pub n_syn_per_conn: bool,
}

fn default_law() -> Law {
    Law::Normal
}

fn default_significance() -> f64 {
    0.01
}

fn default_correlation_min_samples() -> u64 {
    50
}

fn yes() -> bool {
    true
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions::reference()
    }
}

impl BuildOptions {
    /// connectome-manipulator's reference choices (its `ConnPropsPerPathway` example): gamma for
    /// conductance, depression_time and facilitation_time; truncnorm for u_syn and decay_time;
    /// discrete for n_rrp_vesicles and n_syn_per_conn; constant for syn_type_id,
    /// conductance_scale_factor and u_hill_coefficient; `int` for n_rrp_vesicles,
    /// n_syn_per_conn and syn_type_id; normal for anything else.
    pub fn reference() -> Self {
        let laws = [
            ("conductance", Law::Gamma),
            ("depression_time", Law::Gamma),
            ("facilitation_time", Law::Gamma),
            ("u_syn", Law::Truncnorm),
            ("decay_time", Law::Truncnorm),
            ("n_rrp_vesicles", Law::Discrete),
            (N_SYN_PER_CONN, Law::Discrete),
            ("syn_type_id", Law::Constant),
            ("conductance_scale_factor", Law::Constant),
            ("u_hill_coefficient", Law::Constant),
        ];
        let dtypes = ["n_rrp_vesicles", N_SYN_PER_CONN, "syn_type_id"];
        BuildOptions {
            mode: FitMode::Cm,
            significance: default_significance(),
            correlations: false,
            correlation_min_samples: default_correlation_min_samples(),
            correlation_properties: None,
            laws: laws.iter().map(|(p, l)| (p.to_string(), *l)).collect(),
            default_law: Law::Normal,
            dtypes: dtypes.iter().map(|p| (p.to_string(), "int".to_string())).collect(),
            bounds: BTreeMap::new(),
            shared_within: BTreeMap::new(),
            source_classes: BTreeMap::new(),
            target_classes: BTreeMap::new(),
            n_syn_per_conn: true,
        }
    }

    /// Auto mode: every law chosen by the data (no law fixed), the reference dtypes.
    pub fn auto() -> Self {
        BuildOptions { mode: FitMode::Auto, laws: BTreeMap::new(), ..BuildOptions::reference() }
    }
}

/// The fitted model and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOutput {
    /// A `ConnPropsModel` dict (`src_types`, `tgt_types`, `prop_stats`), validated by the engine's
    /// parser.
    pub model: Value,
    /// What was fitted where, and how well.
    pub report: FitReport,
}

/// One pathway's values of one property as `build` merges them (NaN: no data).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cell {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub norm_loc: f64,
    pub norm_scale: f64,
    /// 1.0 shared, 0.0 not, NaN no data.
    pub shared: f64,
    /// `val`/`cnt`: `None` no data (NaN), `Some(empty)` too many distinct values.
    pub values: Option<Vec<(f64, u64)>>,
}

impl Cell {
    fn from_sample(sample: &SampleStatistics, shared: f64) -> Self {
        Cell {
            mean: sample.mean,
            std: sample.std,
            min: sample.min,
            max: sample.max,
            norm_loc: sample.norm_loc,
            norm_scale: sample.norm_scale,
            shared,
            values: Some(sample.values.clone().unwrap_or_default()),
        }
    }
}

/// The fallback levels' names, as the report gives them.
pub const LEVEL_NAMES: [&str; 5] = [
    "same source value, targets of the same layer and class",
    "same source value, targets of the same class",
    "sources and targets of the same layer and class",
    "sources and targets of the same class",
    "all pathways",
];

/// Build the model the options ask for: connectome-manipulator's `build` (`mode: "cm"`) or the
/// laws chosen by the data (`mode: "auto"`), then, when the data were extracted with folds, the
/// cross-validation of every entry, and, when `correlations` asks for it, `prop_cov`. With the
/// defaults (cm mode, no folds, no correlations) the output is the first version's, byte for byte.
pub fn build(data: &FitData, options: &BuildOptions) -> Result<FitOutput> {
    if !(options.significance > 0.0 && options.significance < 1.0) {
        return Err(Error::config("significance", format!("must be in (0, 1), got {}", options.significance)));
    }
    let mut output = match options.mode {
        FitMode::Cm => cm_build(data, options)?,
        FitMode::Auto => super::auto::build_auto(data, options)?,
        // The tables keep the joint structure: no law to cross-validate, no copula to fit.
        FitMode::Empirical => return super::empirical::build_empirical(data, options),
    };
    if data.settings.folds >= 2 {
        super::auto::cross_validate_report(data, options, &mut output)?;
    }
    if options.correlations {
        let (prop_cov, report) = super::correlate::fit_prop_cov(data, options, &output.model)?;
        if let (Some(prop_cov), Some(model)) = (prop_cov, output.model.as_object_mut()) {
            model.insert("prop_cov".to_string(), prop_cov);
        }
        output.report.correlations = Some(report);
        let text = serde_json::to_string(&output.model).map_err(|e| Error::input("fitted model", e.to_string()))?;
        crate::config::parse_model(&text)?;
    }
    Ok(output)
}

/// Pathways without data filled from the first level of the hierarchy that has data.
pub(super) struct Filled {
    /// Synapses per connection, per pathway.
    pub nsyn: Vec<Option<Cell>>,
    /// Per property, per pathway.
    pub props: Vec<Vec<Option<Cell>>>,
    /// The level that filled each pathway, if any.
    pub fallbacks: Vec<Option<FallbackUsed>>,
    /// For each filled pathway, the pathways with data its level merged (empty otherwise).
    pub blocks: Vec<Vec<usize>>,
}

/// connectome-manipulator's filling of pathways without data (its `build`, before the laws).
pub(super) fn fill(data: &FitData, options: &BuildOptions) -> Result<Filled> {
    let (s_count, t_count) = (data.src_types.len(), data.tgt_types.len());
    let properties = &data.settings.properties;
    let mut nsyn: Vec<Option<Cell>> = data
        .pathways
        .iter()
        .map(|p| p.statistics.as_ref().map(|s| Cell::from_sample(&s.n_syn_per_conn, f64::NAN)))
        .collect();
    let nsyn_data = nsyn.clone();
    let prop_data: Vec<Vec<Option<Cell>>> = (0..properties.len())
        .map(|p| {
            data.pathways
                .iter()
                .map(|pw| {
                    pw.statistics.as_ref().map(|s| {
                        let property = &s.properties[p];
                        Cell::from_sample(&property.sample, if property.shared_within { 1.0 } else { 0.0 })
                    })
                })
                .collect()
        })
        .collect();
    let mut props = prop_data.clone();
    let mut fallbacks: Vec<Option<FallbackUsed>> = vec![None; s_count * t_count];
    let mut blocks = vec![Vec::new(); s_count * t_count];
    for s in 0..s_count {
        for t in 0..t_count {
            let i = s * t_count + t;
            if nsyn_data[i].is_some() {
                continue;
            }
            let (level, sources, targets) = choose_level(data, options, &nsyn_data, s, t)?;
            let block: Vec<usize> =
                sources.iter().flat_map(|&a| targets.iter().map(move |&b| a * t_count + b)).collect();
            blocks[i] = block.iter().copied().filter(|&k| nsyn_data[k].is_some()).collect();
            let merged = blocks[i].len() as u64;
            fallbacks[i] =
                Some(FallbackUsed { level, name: LEVEL_NAMES[level as usize].to_string(), pathways: merged });
            nsyn[i] = Some(merge_block(&nsyn_data, &nsyn_data, &block, false));
            for p in 0..properties.len() {
                // connectome-manipulator merges the properties' val/cnt from the table being
                // filled (CP:454), so earlier fills count again: reproduced.
                let cell = merge_block(&prop_data[p], &props[p], &block, true);
                props[p][i] = Some(cell);
            }
        }
    }
    Ok(Filled { nsyn, props, fallbacks, blocks })
}

/// The name callers of the first version use: the same as [`build`], which follows the options'
/// `mode` — with the defaults (cm, no folds, no correlations), connectome-manipulator's `build`.
pub fn build_cm(data: &FitData, options: &BuildOptions) -> Result<FitOutput> {
    build(data, options)
}

/// `build` in connectome-manipulator mode: fill, choose laws, write the model and the report.
pub(super) fn cm_build(data: &FitData, options: &BuildOptions) -> Result<FitOutput> {
    check_options(data, options)?;
    let not_cm = options
        .laws
        .iter()
        .map(|(p, l)| (format!("laws.{p}"), *l))
        .chain([("default_law".to_string(), options.default_law)]);
    for (path, law) in not_cm {
        if matches!(law, Law::Lognormal | Law::Exponential | Law::Uniform) {
            return Err(Error::config(
                path,
                format!("{} is not one of connectome-manipulator's laws; use mode auto for it", law.name()),
            ));
        }
    }
    let Filled { nsyn, props, fallbacks, blocks } = fill(data, options)?;
    let model = write_model(data, options, &props, &nsyn, &blocks)?;
    let text = serde_json::to_string(&model).map_err(|e| Error::input("fitted model", e.to_string()))?;
    crate::config::parse_model(&text)?;
    let report = report(data, options, &model, &fallbacks)?;
    Ok(FitOutput { model, report })
}

pub(super) fn check_options(data: &FitData, options: &BuildOptions) -> Result<()> {
    let known = |name: &str| name == N_SYN_PER_CONN || data.settings.properties.iter().any(|p| p.name == name);
    let keys = options
        .laws
        .keys()
        .map(|k| ("laws", k))
        .chain(options.dtypes.keys().map(|k| ("dtypes", k)))
        .chain(options.bounds.keys().map(|k| ("bounds", k)))
        .chain(options.shared_within.keys().map(|k| ("shared_within", k)));
    for (field, key) in keys {
        if !known(key) && !BuildOptions::reference().laws.contains_key(key) {
            return Err(Error::config(format!("{field}.{key}"), format!("'{key}' is not a fitted property")));
        }
    }
    Ok(())
}

/// The first level (0–4) whose block holds a pathway with data; levels needing a class or layer
/// this pathway's values lack are skipped.
fn choose_level(
    data: &FitData,
    options: &BuildOptions,
    nsyn: &[Option<Cell>],
    s: usize,
    t: usize,
) -> Result<(u8, Vec<usize>, Vec<usize>)> {
    let src = |i: usize| options.source_classes.get(&data.src_types[i]).cloned().unwrap_or_default();
    let tgt = |i: usize| options.target_classes.get(&data.tgt_types[i]).cloned().unwrap_or_default();
    let (s_class, t_class) = (src(s), tgt(t));
    let same = |side: &dyn Fn(usize) -> ValueClass, n: usize, me: &ValueClass, layer: bool| -> Option<Vec<usize>> {
        me.class.as_ref()?;
        if layer {
            me.layer.as_ref()?;
        }
        Some((0..n).filter(|&k| side(k).class == me.class && (!layer || side(k).layer == me.layer)).collect())
    };
    let (ns, nt) = (data.src_types.len(), data.tgt_types.len());
    for level in 0..5u8 {
        let block = match level {
            0 => same(&tgt, nt, &t_class, true).map(|ts| (vec![s], ts)),
            1 => same(&tgt, nt, &t_class, false).map(|ts| (vec![s], ts)),
            2 => same(&src, ns, &s_class, true).zip(same(&tgt, nt, &t_class, true)),
            3 => same(&src, ns, &s_class, false).zip(same(&tgt, nt, &t_class, false)),
            _ => Some(((0..ns).collect(), (0..nt).collect())),
        };
        let Some((sources, targets)) = block else { continue };
        if sources.iter().any(|&a| targets.iter().any(|&b| nsyn[a * nt + b].is_some())) {
            return Ok((level, sources, targets));
        }
    }
    Err(Error::config("min_sample_size", "no pathway has enough connections to fill the others from"))
}

/// nanmean / nanmin / nanmax over the block (each pathway weighs the same), shared by majority
/// (a tie is not shared: `np.round` rounds half to even), val/cnt merged from `values_from`.
fn merge_block(data: &[Option<Cell>], values_from: &[Option<Cell>], block: &[usize], shared: bool) -> Cell {
    let field =
        |f: fn(&Cell) -> f64| -> Vec<f64> { block.iter().map(|&k| data[k].as_ref().map_or(f64::NAN, f)).collect() };
    let shared_value = if shared {
        let votes = nan_mean(&field(|c| c.shared));
        if votes.round_ties_even() >= 1.0 {
            1.0
        } else {
            0.0
        }
    } else {
        f64::NAN
    };
    Cell {
        mean: nan_mean(&field(|c| c.mean)),
        std: nan_mean(&field(|c| c.std)),
        min: field(|c| c.min).into_iter().filter(|x| !x.is_nan()).fold(f64::INFINITY, f64::min),
        max: field(|c| c.max).into_iter().filter(|x| !x.is_nan()).fold(f64::NEG_INFINITY, f64::max),
        norm_loc: nan_mean(&field(|c| c.norm_loc)),
        norm_scale: nan_mean(&field(|c| c.norm_scale)),
        shared: shared_value,
        values: Some(merge_unique(block.iter().filter_map(|&k| values_from[k].as_ref()?.values.as_ref()))),
    }
}

/// `np.nanmean`: NaNs replaced by 0 in numpy's pairwise sum, divided by the count of the rest.
fn nan_mean(values: &[f64]) -> f64 {
    let count = values.iter().filter(|x| !x.is_nan()).count();
    let zeroed: Vec<f64> = values.iter().map(|&x| if x.is_nan() { 0.0 } else { x }).collect();
    pairwise_sum(&zeroed, ValueKind::Float64) / count as f64
}

/// `merge_uniq`: counts summed per value over the non-empty lists, values ascending.
fn merge_unique<'a>(lists: impl Iterator<Item = &'a Vec<(f64, u64)>>) -> Vec<(f64, u64)> {
    let mut merged: BTreeMap<u64, (f64, u64)> = BTreeMap::new();
    for list in lists {
        for &(v, c) in list {
            merged.entry(ordered(v)).or_insert((v, 0)).1 += c;
        }
    }
    merged.into_values().collect()
}

/// A key that sorts f64 numerically.
fn ordered(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// A property to write: name, column kind, and its cells (`None`: `n_syn_per_conn`'s).
pub(super) type Column<'a> = (&'a str, ValueKind, Option<&'a [Option<Cell>]>);

/// The properties to write in model order (`n_syn_per_conn` last, when asked for), with their
/// cells.
pub(super) fn columns<'a>(
    data: &'a FitData,
    options: &BuildOptions,
    props: &'a [Vec<Option<Cell>>],
) -> Vec<Column<'a>> {
    let mut names: Vec<Column> = data
        .settings
        .properties
        .iter()
        .zip(props)
        .map(|(p, cells)| (p.name.as_str(), p.kind, Some(&cells[..])))
        .collect();
    if options.n_syn_per_conn {
        names.push((N_SYN_PER_CONN, ValueKind::Int, None));
    }
    names
}

/// The `prop_stats` of every property, `n_syn_per_conn` last.
fn write_model(
    data: &FitData,
    options: &BuildOptions,
    props: &[Vec<Option<Cell>>],
    nsyn: &[Option<Cell>],
    blocks: &[Vec<usize>],
) -> Result<Value> {
    let mut prop_stats = Map::new();
    for (name, kind, cells) in columns(data, options, props) {
        let law = options.laws.get(name).copied().unwrap_or(options.default_law);
        let mut by_source = Map::new();
        for (s, source) in data.src_types.iter().enumerate() {
            let mut by_target = Map::new();
            for (t, target) in data.tgt_types.iter().enumerate() {
                let i = s * data.tgt_types.len() + t;
                let cell = match cells {
                    Some(cells) => cells[i].as_ref(),
                    None => nsyn[i].as_ref(),
                };
                let path = format!("prop_stats.{name}.{source}.{target}");
                let cell = cell.ok_or_else(|| Error::config(&path, "no data and nothing to fill it from"))?;
                let spec = if law == Law::LinDelay {
                    lin_delay_spec(data, options, (name, &path), cell, &blocks[i], i)?
                } else {
                    write_spec(&path, name, law, kind, cell, options, cells.is_some())?
                };
                by_target.insert(target.clone(), spec);
            }
            by_source.insert(source.clone(), Value::Object(by_target));
        }
        prop_stats.insert(name.to_string(), Value::Object(by_source));
    }
    Ok(json!({"src_types": data.src_types, "tgt_types": data.tgt_types, "prop_stats": prop_stats}))
}

/// One spec: the law's attributes from the cell, `shared_within`, dtype and bounds; a law that
/// cannot describe the data is an error naming the spec.
fn write_spec(
    path: &str,
    name: &str,
    law: Law,
    kind: ValueKind,
    cell: &Cell,
    options: &BuildOptions,
    with_shared: bool,
) -> Result<Value> {
    let mut spec = Map::new();
    spec.insert("type".into(), json!(law.name()));
    let number = |key: &str, x: f64| -> Result<Value> {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| Error::config(format!("{path}.{key}"), format!("fitted value is not finite ({x})")))
    };
    match law {
        Law::Constant | Law::Poisson | Law::Ztpoisson => {
            spec.insert("mean".into(), number("mean", cell.mean)?);
        }
        Law::Normal | Law::Gamma => {
            spec.insert("mean".into(), number("mean", cell.mean)?);
            spec.insert("std".into(), number("std", cell.std)?);
        }
        Law::Truncnorm => {
            for (key, x) in
                [("norm_loc", cell.norm_loc), ("norm_scale", cell.norm_scale), ("min", cell.min), ("max", cell.max)]
            {
                spec.insert(key.into(), number(key, x)?);
            }
        }
        Law::Discrete => {
            let values = cell.values.as_deref().unwrap_or(&[]);
            if values.is_empty() {
                return Err(Error::config(
                    format!("{path}.val"),
                    format!("a discrete law needs the data's distinct values, but {name} has more than 100 (or as many as samples) here; choose another law"),
                ));
            }
            let total: u64 = values.iter().map(|v| v.1).sum();
            let val: Vec<Value> = values.iter().map(|&(v, _)| value_number(v, kind)).collect();
            let p: Vec<f64> = values.iter().map(|&(_, c)| c as f64 / total as f64).collect();
            spec.insert("val".into(), Value::Array(val));
            spec.insert("p".into(), json!(p));
        }
        Law::Zero => {}
        Law::Lognormal | Law::Exponential | Law::Uniform => {
            return Err(Error::config(
                format!("{path}.type"),
                format!("{} is not one of connectome-manipulator's laws", law.name()),
            ));
        }
        Law::LinDelay => {
            return Err(Error::config(
                format!("{path}.type"),
                format!("lin_delay is fitted from delays by distance, not for {name}"),
            ));
        }
    }
    check_law(path, name, law, cell)?;
    storage_keys(&mut spec, path, name, law, cell, options, with_shared)?;
    Ok(Value::Object(spec))
}

/// A `lin_delay` spec fitted on the pathway's delays by distance (its fallback level's pooled
/// bins when it has no data of its own), with the user's `dtype` and bounds: drawn per synapse.
pub(super) fn lin_delay_spec(
    data: &FitData,
    options: &BuildOptions,
    (name, path): (&str, &str),
    cell: &Cell,
    block: &[usize],
    pathway: usize,
) -> Result<Value> {
    let fitted = data.settings.delay_fit.as_ref().map(|d| d.property.as_str());
    if fitted != Some(name) {
        let why = match fitted {
            Some(other) => format!("the distances were binned for '{other}' only"),
            None => "the fit read no distances (ask for lin_delay before the edges are read)".to_string(),
        };
        return Err(Error::config(format!("laws.{name}"), format!("lin_delay cannot be fitted for '{name}': {why}")));
    }
    let method = match options.mode {
        FitMode::Auto => super::delay::DelayMethod::Synapses,
        _ => super::delay::DelayMethod::BinMeans,
    };
    let mut spec = super::delay::pathway_fit(data, block, pathway, path, method)?.spec(path)?;
    storage_keys(&mut spec, path, name, Law::LinDelay, cell, options, false)?;
    Ok(Value::Object(spec))
}

/// The keys of how values are stored: `shared_within` (the data's, or the user's), `dtype` and
/// the bounds.
pub(super) fn storage_keys(
    spec: &mut Map<String, Value>,
    path: &str,
    name: &str,
    law: Law,
    cell: &Cell,
    options: &BuildOptions,
    with_shared: bool,
) -> Result<()> {
    let number = |key: &str, x: f64| -> Result<Value> {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| Error::config(format!("{path}.{key}"), format!("fitted value is not finite ({x})")))
    };
    if with_shared {
        let shared = match (options.shared_within.get(name), law) {
            (Some(&forced), _) => forced,
            (None, Law::Zero) => false,
            (None, _) => cell.shared == 1.0,
        };
        spec.insert("shared_within".into(), json!(shared));
    }
    if let Some(dtype) = options.dtypes.get(name) {
        spec.insert("dtype".into(), json!(dtype));
    }
    if let Some(&(lower, upper)) = options.bounds.get(name) {
        if let Some(lower) = lower {
            spec.insert("lower_bound".into(), number("lower_bound", lower)?);
        }
        if let Some(upper) = upper {
            spec.insert("upper_bound".into(), number("upper_bound", upper)?);
        }
    }
    Ok(())
}

/// The `dtype` and bounds keys alone (what turns a law into the stored values' law).
pub(super) fn storage_only(path: &str, name: &str, options: &BuildOptions) -> Result<Map<String, Value>> {
    let mut spec = Map::new();
    let cell = Cell {
        mean: f64::NAN,
        std: f64::NAN,
        min: f64::NAN,
        max: f64::NAN,
        norm_loc: f64::NAN,
        norm_scale: f64::NAN,
        shared: f64::NAN,
        values: None,
    };
    storage_keys(&mut spec, path, name, Law::Zero, &cell, options, false)?;
    Ok(spec)
}

/// Integers as JSON integers when the column holds them.
pub(super) fn value_number(x: f64, kind: ValueKind) -> Value {
    if kind.is_int() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// Laws that cannot describe the data: a gamma of values below 0 (or mean 0), a Poisson of
/// negative values, a zero-truncated Poisson of values below 1.
fn check_law(path: &str, name: &str, law: Law, cell: &Cell) -> Result<()> {
    let problem = match law {
        Law::Gamma if cell.min < 0.0 => {
            Some(format!("gamma cannot describe {name}'s negative values (min {})", cell.min))
        }
        Law::Gamma if cell.mean <= 0.0 => Some(format!("gamma needs a positive mean; {name}'s is {}", cell.mean)),
        Law::Poisson if cell.min < 0.0 => {
            Some(format!("poisson cannot describe {name}'s negative values (min {})", cell.min))
        }
        Law::Ztpoisson if cell.min < 1.0 => {
            Some(format!("ztpoisson cannot describe {name}'s values below 1 (min {})", cell.min))
        }
        _ => None,
    };
    match problem {
        Some(message) => Err(Error::config(format!("{path}.type"), format!("{message}; choose another law"))),
        None => Ok(()),
    }
}

pub(super) fn report(
    data: &FitData,
    options: &BuildOptions,
    model: &Value,
    fallbacks: &[Option<FallbackUsed>],
) -> Result<FitReport> {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    let mut names: Vec<(usize, &str)> =
        data.settings.properties.iter().enumerate().map(|(i, p)| (i, p.name.as_str())).collect();
    if options.n_syn_per_conn {
        names.push((usize::MAX, N_SYN_PER_CONN));
    }
    for &(index, name) in &names {
        if !options.laws.contains_key(name) && options.mode == FitMode::Cm {
            notes.push(format!("no law given for {name}: {} used", options.default_law.name()));
        }
        for (i, pathway) in data.pathways.iter().enumerate() {
            let spec = &model["prop_stats"][name][&pathway.source][&pathway.target];
            let sample = pathway.statistics.as_ref().map(|s| match index {
                usize::MAX => (&s.n_syn_per_conn, None),
                p => (&s.properties[p].sample, Some(s.properties[p].shared_within)),
            });
            entries.push(entry_report(name, pathway, spec, sample, fallbacks[i].as_ref().map(|f| f.level))?);
        }
    }
    let pathways = data
        .pathways
        .iter()
        .zip(fallbacks)
        .map(|(p, fallback)| PathwayReport {
            source: p.source.clone(),
            target: p.target.clone(),
            connections: p.connections,
            synapses: p.synapses,
            connections_used: p.statistics.as_ref().map(|s| s.connections_used),
            fallback: fallback.clone(),
            rows: None,
        })
        .collect();
    let mut levels = BTreeMap::new();
    for f in fallbacks.iter().flatten() {
        *levels.entry(f.name.clone()).or_insert(0u64) += 1;
    }
    Ok(FitReport {
        mode: match options.mode {
            FitMode::Cm => "connectome-manipulator",
            mode => mode.name(),
        }
        .to_string(),
        settings: ReportSettings::of(&data.settings),
        src_types: data.src_types.clone(),
        tgt_types: data.tgt_types.clone(),
        pathways,
        entries,
        fallback_levels: levels,
        notes,
        correlations: None,
    })
}
