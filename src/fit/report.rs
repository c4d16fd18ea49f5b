//! The fit report: per pathway and property, the data's statistics, the law and its parameters,
//! the samples used, the fallback level, and the goodness of fit (KS distance).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::correlate::CorrelationReport;
use super::crossval::CrossValidation;
use super::extract::FitSettings;
use super::fitter::{FitData, PathwayData, SampleStatistics};
use super::select::LawSelection;
use crate::error::Result;

/// The settings a fit ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSettings {
    /// Pathways with fewer connections were filled in.
    pub min_sample_size: Option<u64>,
    /// Pathways with more connections were subsampled.
    pub max_sample_size: Option<u64>,
    /// Histogram bins.
    pub hist_bins: usize,
    /// Seed of the subsample.
    pub seed: u64,
    /// Cross-validation folds (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<u32>,
    /// Connections kept per pathway for correlations (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_sample: Option<u64>,
}

impl ReportSettings {
    /// The report's view of the settings.
    pub fn of(settings: &FitSettings) -> Self {
        ReportSettings {
            min_sample_size: settings.min_sample_size,
            max_sample_size: settings.max_sample_size,
            hist_bins: settings.hist_bins,
            seed: settings.seed,
            folds: (settings.folds >= 2).then_some(settings.folds),
            correlation_sample: settings.correlation_keep(),
        }
    }
}

/// Which fallback level filled a pathway without data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackUsed {
    /// 0–4, as connectome-manipulator numbers them.
    pub level: u8,
    /// What the level merges.
    pub name: String,
    /// Pathways with data that were merged.
    pub pathways: u64,
}

/// One pathway's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathwayReport {
    /// Source value.
    pub source: String,
    /// Target value.
    pub target: String,
    /// Distinct connections in the data.
    pub connections: u64,
    /// Synapses in the data.
    pub synapses: u64,
    /// Connections the statistics used (`None`: filled in).
    pub connections_used: Option<u64>,
    /// How it was filled in, when it was.
    pub fallback: Option<FallbackUsed>,
    /// Empirical mode: the rows of the pathway's tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<TableRows>,
}

/// The rows of one pathway's tables in empirical mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    /// Rows of the `connections` table: connections of the keyed sample (its own, or its
    /// fallback level's when filled).
    pub connections: u64,
    /// Rows of the `synapses` table: every synapse of those connections.
    pub synapses: u64,
}

/// The data's statistics behind one spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Values in the sample (connections when shared, else synapses).
    pub samples: u64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (ddof 0).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Shared within connections (`None` for `n_syn_per_conn`).
    pub shared_within: Option<bool>,
    /// Normal fitted to the histogram (the mean when the fit was rejected).
    pub norm_loc: f64,
    /// Its scale (the std when rejected).
    pub norm_scale: f64,
    /// Whether the normal fit was accepted.
    pub norm_fit_accepted: bool,
    /// Distinct values kept (`val`), when kept.
    pub distinct_values: Option<usize>,
}

/// One property in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// Property name.
    pub property: String,
    /// Source value.
    pub source: String,
    /// Target value.
    pub target: String,
    /// The law written.
    pub law: String,
    /// The spec written (its parameters).
    pub spec: Value,
    /// The pathway's own data (`None` when filled in).
    pub data: Option<DataSummary>,
    /// The fallback level that filled it.
    pub fallback_level: Option<u8>,
    /// Kolmogorov–Smirnov distance between the data and the spec's law after bounds and dtype:
    /// over the distinct values when they were kept (exact for discrete data), else at the
    /// histogram's edges (a lower bound of the exact distance).
    pub ks_distance: Option<f64>,
    /// `values` or `bins`: where the distance was taken.
    pub ks_basis: Option<String>,
    /// How the law was chosen (`mode: "auto"`): every candidate with its AIC and KS, and why
    /// the winner won.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<LawSelection>,
    /// k-fold cross-validation of the fit (when the data were extracted with folds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
}

/// The report of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// `connectome-manipulator` or `auto`.
    pub mode: String,
    /// The extraction settings.
    pub settings: ReportSettings,
    /// Source values.
    pub src_types: Vec<String>,
    /// Target values.
    pub tgt_types: Vec<String>,
    /// Every pathway's counts and fallback.
    pub pathways: Vec<PathwayReport>,
    /// Every property × pathway, properties in model order.
    pub entries: Vec<ReportEntry>,
    /// How many pathways each fallback level filled.
    pub fallback_levels: BTreeMap<String, u64>,
    /// Things to know (e.g. a property without a law got the default one).
    pub notes: Vec<String>,
    /// The correlations fitted into `prop_cov` (when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlations: Option<CorrelationReport>,
}

impl FitReport {
    /// The entry of `property` in `source → target`.
    pub fn entry(&self, property: &str, source: &str, target: &str) -> Option<&ReportEntry> {
        self.entries.iter().find(|e| e.property == property && e.source == source && e.target == target)
    }
}

/// One entry: the spec, the data behind it, and their KS distance.
pub(super) fn entry_report(
    property: &str,
    pathway: &PathwayData,
    spec: &Value,
    sample: Option<(&SampleStatistics, Option<bool>)>,
    fallback_level: Option<u8>,
) -> Result<ReportEntry> {
    let parsed = crate::config::parse_pathway_spec(&spec.to_string())?;
    let (data, ks) = match sample {
        Some((s, shared)) => {
            let summary = DataSummary {
                samples: s.count,
                mean: s.mean,
                std: s.std,
                min: s.min,
                max: s.max,
                shared_within: shared,
                norm_loc: s.norm_loc,
                norm_scale: s.norm_scale,
                norm_fit_accepted: s.norm_fit_accepted,
                distinct_values: s.values.as_ref().map(Vec::len),
            };
            (Some(summary), Some(ks_distance(s, |x| parsed.stored_cdf(x))))
        }
        None => (None, None),
    };
    Ok(ReportEntry {
        property: property.to_string(),
        source: pathway.source.clone(),
        target: pathway.target.clone(),
        law: spec["type"].as_str().unwrap_or_default().to_string(),
        spec: spec.clone(),
        data,
        fallback_level,
        ks_distance: ks.map(|k| k.0),
        ks_basis: ks.map(|k| k.1.to_string()),
        selection: None,
        cross_validation: None,
    })
}

/// KS distance of a sample against a CDF: at the distinct values (both sides of each step) when
/// kept, else at the inner histogram edges.
pub fn ks_distance(sample: &SampleStatistics, cdf: impl Fn(f64) -> f64) -> (f64, &'static str) {
    let histogram = (&sample.histogram.edges[..], &sample.histogram.counts[..]);
    ks_statistic(sample.count, sample.values.as_deref(), Some(histogram), cdf).unwrap_or((0.0, "bins"))
}

/// KS distance of `count` values against a CDF: exact at the distinct `values` (both sides of
/// each step) when given, else at the inner edges of a histogram `(edges, counts)` (a lower
/// bound of the exact distance); `None` with neither.
pub fn ks_statistic(
    count: u64,
    values: Option<&[(f64, u64)]>,
    histogram: Option<(&[f64], &[u64])>,
    cdf: impl Fn(f64) -> f64,
) -> Option<(f64, &'static str)> {
    let n = count.max(1) as f64;
    let mut distance: f64 = 0.0;
    if let Some(values) = values {
        let mut below = 0u64;
        for &(v, c) in values {
            let model = cdf(v);
            let left = cdf(libm::nextafter(v, f64::NEG_INFINITY));
            distance = distance.max((below as f64 / n - left).abs());
            below += c;
            distance = distance.max((below as f64 / n - model).abs());
        }
        return Some((distance, "values"));
    }
    let (edges, counts) = histogram?;
    let mut below = 0u64;
    for (k, &c) in counts.iter().enumerate().take(counts.len().saturating_sub(1)) {
        below += c;
        let edge = edges[k + 1];
        distance = distance.max((below as f64 / n - cdf(libm::nextafter(edge, f64::NEG_INFINITY))).abs());
    }
    Some((distance, "bins"))
}

/// The whole data set's KS distances, for tests and summaries: the largest per property.
pub fn worst_ks(report: &FitReport) -> BTreeMap<String, f64> {
    let mut worst = BTreeMap::new();
    for e in &report.entries {
        if let Some(k) = e.ks_distance {
            let w = worst.entry(e.property.clone()).or_insert(0.0f64);
            *w = w.max(k);
        }
    }
    worst
}

/// Data without a fitted model are still described: the pathways that have statistics.
pub fn pathways_with_data(data: &FitData) -> usize {
    data.pathways.iter().filter(|p| p.statistics.is_some()).count()
}
