//! Streaming `extract`: per pathway and property, the statistics connectome-manipulator's
//! `conn_props.extract` computes, accumulated over edge chunks in passes whose partial states
//! serialize and merge (design: fit). See [`Fitter`](super::Fitter) for the protocol.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::accumulate::SampleAccumulator;
use super::delay::{DelayFitSettings, DistanceBins};
use super::numpy::ValueKind;
use super::sufficient::LawSample;
use crate::config::Fallback;
use crate::error::{Error, Result};

/// connectome-manipulator's default number of histogram bins (odd, so that a constant sits in the
/// middle bin).
pub const DEFAULT_BINS: usize = 51;

/// One edge property to fit, and how its column is stored (which decides numpy's histogram
/// arithmetic, hence `norm_loc`/`norm_scale` to the bit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitProperty {
    /// The edge dataset's name.
    pub name: String,
    /// Its storage type (default float64).
    #[serde(default)]
    pub kind: ValueKind,
}

/// What to fit and how samples are taken: connectome-manipulator's `extract` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// The edge properties, in model order.
    pub properties: Vec<FitProperty>,
    /// Pathways with fewer connections get no statistics (filled in by `build`).
    #[serde(default)]
    pub min_sample_size: Option<u64>,
    /// Pathways with more connections are fitted on this many, chosen by keyed streams.
    #[serde(default)]
    pub max_sample_size: Option<u64>,
    /// Histogram bins (default 51).
    #[serde(default = "default_bins")]
    pub hist_bins: usize,
    /// Seed of the subsample choice.
    #[serde(default)]
    pub seed: u64,
    /// Pathway value(s) for nodes without one: one for every node population or one per
    /// population (else such nodes are an error).
    #[serde(default)]
    pub fallback_value: Option<Fallback>,
    /// Keep the sufficient statistics of every law (moments of x and ln x, range, distinct
    /// values), which the automatic choice of laws needs (`mode: "auto"`); implied by `folds`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub law_statistics: bool,
    /// Cross-validation folds: 0 (none) or k ≥ 2. Connections are split into k folds by their
    /// keyed stream and every statistic is kept per fold, so that `build` can fit on k − 1 folds
    /// and score the held-out one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub folds: u32,
    /// Correlations between properties: per pathway, the property vectors (first synapse) of at
    /// most this many connections — those with the smallest subsample keys, so a keyed uniform
    /// subsample inside the fitted one — ranked exactly at the end (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub correlation_sample: u64,
    /// Keep the correlation sample's rows in the data, each with every synapse's values of its
    /// connection (edge id order): the tables of empirical mode (`build.rs`, `FitMode::Empirical`).
    /// Needs `correlation_sample`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_rows: bool,
    /// A distance-dependent delay fit (connectome-manipulator's `delay.extract`): the property
    /// holding the delays, the distance bin, and per edge population the datasets each chunk
    /// carries after the properties' columns (`distance_soma`'s synapse centre).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_fit: Option<DelayFitSettings>,
}

fn default_bins() -> usize {
    DEFAULT_BINS
}

fn is_false(x: &bool) -> bool {
    !*x
}

fn is_zero<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

/// The most cross-validation folds a fit keeps.
pub const MAX_FOLDS: u32 = 100;

impl FitSettings {
    /// Settings for these properties with connectome-manipulator's defaults (no minimum or
    /// maximum, 51 bins, seed 0).
    pub fn new(properties: Vec<FitProperty>) -> Self {
        FitSettings {
            properties,
            min_sample_size: None,
            max_sample_size: None,
            hist_bins: DEFAULT_BINS,
            seed: 0,
            fallback_value: None,
            law_statistics: false,
            folds: 0,
            correlation_sample: 0,
            keep_rows: false,
            delay_fit: None,
        }
    }

    /// How many sets of law statistics a sample keeps: one per fold, one without folds when
    /// `law_statistics` asks for them, else none.
    pub fn law_parts(&self) -> usize {
        if self.folds >= 2 {
            self.folds as usize
        } else {
            usize::from(self.law_statistics)
        }
    }

    /// Connections kept per pathway for correlations: `correlation_sample`, at most the
    /// subsample (`max_sample_size`); `None` when correlations are off.
    pub fn correlation_keep(&self) -> Option<u64> {
        (self.correlation_sample > 0).then(|| self.correlation_sample.min(self.max_sample_size.unwrap_or(u64::MAX)))
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.hist_bins == 0 {
            return Err(Error::config("hist_bins", "must be at least 1"));
        }
        if self.max_sample_size == Some(0) {
            return Err(Error::config("max_sample_size", "must be at least 1 (or absent: no maximum)"));
        }
        if self.folds == 1 || self.folds > MAX_FOLDS {
            return Err(Error::config(
                "folds",
                format!("must be 0 (no cross-validation) or from 2 to {MAX_FOLDS}, got {}", self.folds),
            ));
        }
        if (1..3).contains(&self.correlation_sample) {
            return Err(Error::config(
                "correlation_sample",
                format!("must be 0 (no correlations) or at least 3 connections, got {}", self.correlation_sample),
            ));
        }
        if self.keep_rows && self.correlation_sample == 0 {
            return Err(Error::config(
                "keep_rows",
                "keeps the correlation sample's rows: give correlation_sample too (at least 3 connections)",
            ));
        }
        if let Some(delay) = &self.delay_fit {
            delay.validate(&self.properties)?;
        }
        let mut seen = BTreeSet::new();
        for (i, property) in self.properties.iter().enumerate() {
            let path = format!("properties[{i}].name");
            crate::config::check_property_name(&property.name, &path)?;
            if property.name == crate::config::N_SYN_PER_CONN {
                return Err(Error::config(
                    path,
                    "n_syn_per_conn is fitted from the connections, not read from the edges",
                ));
            }
            if !seen.insert(property.name.as_str()) {
                return Err(Error::config(path, format!("property '{}' is listed twice", property.name)));
            }
        }
        Ok(())
    }

    /// A clear error for properties the edges do not have: `available` are the edge
    /// population's property names.
    pub fn check_available(&self, edge_population: &str, available: &[&str]) -> Result<()> {
        for (i, property) in self.properties.iter().enumerate() {
            if !available.contains(&property.name.as_str()) {
                return Err(Error::config(
                    format!("properties[{i}].name"),
                    format!(
                        "edge population '{edge_population}' has no property '{}' (it has: {})",
                        property.name,
                        available.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The key that orders a pathway's connections for subsampling: a keyed stream's first number
/// (seed, edge population, connection), then the connection itself. The `max_sample_size`
/// smallest keys are the sample — the same whatever the chunking, order or workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectionKey {
    /// The stream's number.
    pub key: u64,
    /// Index of the edge population.
    pub population: u32,
    /// Source node id.
    pub source: u64,
    /// Target node id.
    pub target: u64,
}

/// Which connections of a pathway a pass looks at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every connection.
    All,
    /// Connections whose key is at most this one.
    UpTo(ConnectionKey),
}

impl Selection {
    pub(super) fn contains(&self, key: impl FnOnce() -> ConnectionKey) -> bool {
        match self {
            Selection::All => true,
            Selection::UpTo(last) => key() <= *last,
        }
    }
}

/// Which sample of a property is binned: one value per connection (shared within) or every
/// synapse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleKind {
    /// The first synapse's value of each connection.
    PerConnection,
    /// Every synapse's value.
    PerSynapse,
}

/// Bin edges of one histogram and the arithmetic they are compared in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    /// `hist_bins + 1` edges.
    pub edges: Vec<f64>,
    /// The column's storage kind.
    pub kind: ValueKind,
}

/// What a histogram pass bins in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramTask {
    /// The connections in the sample.
    pub selection: Selection,
    /// Bins of synapses per connection.
    pub n_syn_per_conn: Bins,
    /// Per property: which sample, on which bins.
    pub properties: Vec<(SampleKind, Bins)>,
}

/// What one pass does in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PathwayTask {
    /// Count connections and synapses, keep the smallest keys, check constancy (pass 1).
    pub scan: bool,
    /// Accumulate moments, ranges and distinct values of these connections.
    pub moments: Option<Selection>,
    /// Bin the chosen samples.
    pub histogram: Option<HistogramTask>,
}

/// One pass over the edges, as the coordinator planned it: hand it to every worker
/// ([`Fitter::begin_pass`](super::Fitter::begin_pass)); serializes with serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassPlan {
    /// 1, 2 or 3.
    pub pass: u32,
    /// Source pathway values (sorted), the pathways' first index.
    pub src_types: Vec<String>,
    /// Target pathway values (sorted).
    pub tgt_types: Vec<String>,
    /// Per pathway (source index × target count + target index).
    pub tasks: Vec<PathwayTask>,
}

/// Per property, non-finite values seen: how many and the first (population index, edge id).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct InvalidValues {
    /// How many values were NaN or infinite.
    pub count: u64,
    /// The smallest (population, edge id) among them.
    pub first: Option<(u32, u64)>,
}

/// Whether every value so far is one and the same.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConstantCheck {
    /// The value, once one was seen.
    pub value: Option<f64>,
    /// No other value was seen.
    pub constant: bool,
}

impl ConstantCheck {
    pub(super) fn add(&mut self, x: f64) {
        match self.value {
            None => self.value = Some(x),
            Some(v) if v != x => self.constant = false,
            Some(_) => {}
        }
    }

    fn merge(&mut self, other: &ConstantCheck) {
        self.constant &= other.constant;
        if let Some(x) = other.value {
            self.add(x);
        }
    }
}

/// Pass 1's counts in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanAccumulator {
    /// Distinct connections.
    pub connections: u64,
    /// Synapses.
    pub synapses: u64,
    /// The smallest connection keys (at most `max_sample_size` once trimmed).
    pub smallest: Vec<ConnectionKey>,
    /// Per property: whether the whole pathway holds one value.
    pub constant: Vec<ConstantCheck>,
    /// The correlation sample: the connections with the smallest keys and their values (at
    /// most `correlation_keep` once trimmed); `None` when correlations are off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Vec<CorrelationRow>>,
}

/// One connection of the correlation sample: its key and each property's value at its first
/// synapse (by edge id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationRow {
    /// The subsample key.
    pub key: ConnectionKey,
    /// One value per property, in settings order (JSON null read back as NaN).
    #[serde(deserialize_with = "super::accumulate::nullable_values")]
    pub values: Vec<f64>,
    /// With `keep_rows`: every synapse of the connection (edge id order), its values in settings
    /// order (JSON null read back as NaN); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "super::accumulate::nullable_rows")]
    pub synapses: Vec<Vec<f64>>,
}

/// Per fold, the law statistics of one property's two samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFolds {
    /// One value per connection (its first synapse).
    pub per_connection: Vec<LawSample>,
    /// Every synapse.
    pub per_synapse: Vec<LawSample>,
}

/// Per fold (or one part without folds), the law statistics of a pathway's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldMoments {
    /// Synapses per connection.
    pub n_syn_per_conn: Vec<LawSample>,
    /// Per property.
    pub properties: Vec<PropertyFolds>,
}

/// One fold's histogram counts in one pathway (on the pathway's bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldHistograms {
    /// Synapses per connection.
    pub n_syn_per_conn: Vec<u64>,
    /// Per property.
    pub properties: Vec<Vec<u64>>,
}

/// One property's samples in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyMoments {
    /// Every connection seen so far holds one value.
    pub within_constant: bool,
    /// First value of each connection.
    pub per_connection: SampleAccumulator,
    /// Every synapse.
    pub per_synapse: SampleAccumulator,
}

/// Moments of synapses per connection and of each property in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MomentsAccumulator {
    /// Synapses per connection.
    pub n_syn_per_conn: SampleAccumulator,
    /// Per property.
    pub properties: Vec<PropertyMoments>,
}

/// Histogram counts in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramAccumulator {
    /// Synapses per connection.
    pub n_syn_per_conn: Vec<u64>,
    /// Per property.
    pub properties: Vec<Vec<u64>>,
}

/// Everything one pass accumulated in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PathwayAccumulator {
    /// Pass 1's counts.
    pub scan: Option<ScanAccumulator>,
    /// Moments.
    pub moments: Option<MomentsAccumulator>,
    /// Histograms.
    pub histogram: Option<HistogramAccumulator>,
    /// Law statistics per fold (beside `moments`, same connections), when the settings keep them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub law_moments: Option<FoldMoments>,
    /// Histogram counts per fold (beside `histogram`), when cross-validating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold_histograms: Option<Vec<FoldHistograms>>,
    /// Delays by distance bin (pass 1, with a delay fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<DistanceBins>,
}

/// The target nodes a state has seen, per edge population: every target's edges must arrive in
/// one chunk (so each connection is whole in its chunk), which merging checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TargetSet {
    /// One bit per target node.
    pub words: Vec<u64>,
}

impl TargetSet {
    pub(super) fn contains(&self, node: u64) -> bool {
        self.words.get((node / 64) as usize).is_some_and(|w| w >> (node % 64) & 1 == 1)
    }

    pub(super) fn insert(&mut self, node: u64) {
        let word = (node / 64) as usize;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (node % 64);
    }

    /// The first node both sets hold.
    fn first_common(&self, other: &TargetSet) -> Option<u64> {
        self.words
            .iter()
            .zip(&other.words)
            .enumerate()
            .find(|(_, (a, b))| *a & *b != 0)
            .map(|(i, (a, b))| i as u64 * 64 + u64::from((a & b).trailing_zeros()))
    }
}

/// A partial state of one pass: what some chunks added. Serializes (serde) and merges
/// ([`PassState::merge`]) in any order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassState {
    /// The pass it belongs to.
    pub pass: u32,
    /// Per pathway, `None` until a chunk touched it.
    pub pathways: Vec<Option<PathwayAccumulator>>,
    /// Per edge population (in the order added), the targets seen.
    pub targets: Vec<TargetSet>,
    /// Per property, non-finite values (pass 1).
    pub invalid: Vec<InvalidValues>,
    /// `max_sample_size` (the smallest keys kept).
    pub keep: Option<u64>,
    /// Connections kept per pathway for correlations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_keep: Option<u64>,
}

impl PassState {
    /// Add another state of the same pass. Fails when both saw edges of one target node.
    pub fn merge(&mut self, other: &PassState) -> Result<()> {
        if other.pass != self.pass || other.pathways.len() != self.pathways.len() {
            return Err(Error::input(
                "fit state",
                format!("pass {} cannot merge a state of pass {}", self.pass, other.pass),
            ));
        }
        for (population, (mine, theirs)) in self.targets.iter_mut().zip(&other.targets).enumerate() {
            if let Some(node) = mine.first_common(theirs) {
                return Err(split_target_error(&format!("#{population}"), node));
            }
            if theirs.words.len() > mine.words.len() {
                mine.words.resize(theirs.words.len(), 0);
            }
            mine.words.iter_mut().zip(&theirs.words).for_each(|(a, b)| *a |= b);
        }
        for (mine, theirs) in self.invalid.iter_mut().zip(&other.invalid) {
            mine.count += theirs.count;
            mine.first = match (mine.first, theirs.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for (mine, theirs) in self.pathways.iter_mut().zip(&other.pathways) {
            let Some(theirs) = theirs else { continue };
            match mine {
                None => *mine = Some(theirs.clone()),
                Some(mine) => mine.merge(theirs, self.keep, self.correlation_keep),
            }
        }
        Ok(())
    }
}

/// The error for a target node whose edges came in two chunks (or two states).
pub(super) fn split_target_error(population: &str, node: u64) -> Error {
    Error::input(
        format!("edge population {population} (fit)"),
        format!(
            "target node {node} has edges in two chunks; a fit needs every target's edges in one chunk \
             (cut chunks where the target changes, as SONATA's target-sorted files allow, or pass the population whole)"
        ),
    )
}

impl PathwayAccumulator {
    fn merge(&mut self, other: &PathwayAccumulator, keep: Option<u64>, correlation_keep: Option<u64>) {
        if let (Some(a), Some(b)) = (&mut self.scan, &other.scan) {
            a.connections += b.connections;
            a.synapses += b.synapses;
            a.smallest.extend_from_slice(&b.smallest);
            trim(&mut a.smallest, keep);
            a.constant.iter_mut().zip(&b.constant).for_each(|(x, y)| x.merge(y));
            if let (Some(x), Some(y)) = (&mut a.correlation, &b.correlation) {
                x.extend_from_slice(y);
                trim_rows(x, correlation_keep.unwrap_or(0));
            }
        }
        if let (Some(a), Some(b)) = (&mut self.moments, &other.moments) {
            a.n_syn_per_conn.merge(&b.n_syn_per_conn);
            for (x, y) in a.properties.iter_mut().zip(&b.properties) {
                x.within_constant &= y.within_constant;
                x.per_connection.merge(&y.per_connection);
                x.per_synapse.merge(&y.per_synapse);
            }
        }
        if let (Some(x), Some(y)) = (&mut self.law_moments, &other.law_moments) {
            merge_parts(&mut x.n_syn_per_conn, &y.n_syn_per_conn);
            for (p, q) in x.properties.iter_mut().zip(&y.properties) {
                merge_parts(&mut p.per_connection, &q.per_connection);
                merge_parts(&mut p.per_synapse, &q.per_synapse);
            }
        }
        if let (Some(a), Some(b)) = (&mut self.histogram, &other.histogram) {
            add_counts(&mut a.n_syn_per_conn, &b.n_syn_per_conn);
            for (x, y) in a.properties.iter_mut().zip(&b.properties) {
                add_counts(x, y);
            }
        }
        match (&mut self.distance, &other.distance) {
            (Some(x), Some(y)) => x.merge(y),
            (x @ None, Some(y)) => *x = Some(y.clone()),
            _ => {}
        }
        if let (Some(x), Some(y)) = (&mut self.fold_histograms, &other.fold_histograms) {
            for (p, q) in x.iter_mut().zip(y) {
                add_counts(&mut p.n_syn_per_conn, &q.n_syn_per_conn);
                p.properties.iter_mut().zip(&q.properties).for_each(|(u, v)| add_counts(u, v));
            }
        }
    }
}

fn merge_parts(mine: &mut [LawSample], theirs: &[LawSample]) {
    mine.iter_mut().zip(theirs).for_each(|(a, b)| a.merge(b));
}

fn add_counts(mine: &mut [u64], theirs: &[u64]) {
    mine.iter_mut().zip(theirs).for_each(|(x, y)| *x += y);
}

/// Keep the `keep` rows with the smallest keys, sorted by key.
pub(super) fn trim_rows(rows: &mut Vec<CorrelationRow>, keep: u64) {
    rows.sort_unstable_by_key(|r| r.key);
    rows.dedup_by(|a, b| a.key == b.key);
    rows.truncate(keep as usize);
}

/// Keep the `keep` smallest keys.
fn trim(keys: &mut Vec<ConnectionKey>, keep: Option<u64>) {
    let Some(keep) = keep else {
        keys.clear();
        return;
    };
    keys.sort_unstable();
    keys.dedup();
    keys.truncate(keep as usize);
}
