//! Streaming `extract`: per pathway and property, the statistics connectome-manipulator's
//! `conn_props.extract` computes, accumulated over edge chunks in passes whose partial states
//! serialize and merge (design: fit). See [`Fitter`] for the protocol.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::accumulate::SampleAccumulator;
use super::numpy::ValueKind;
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
    /// Pathway value for nodes without one (else such nodes are an error).
    #[serde(default)]
    pub fallback_value: Option<String>,
}

fn default_bins() -> usize {
    DEFAULT_BINS
}

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
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.hist_bins == 0 {
            return Err(Error::config("hist_bins", "must be at least 1"));
        }
        if self.max_sample_size == Some(0) {
            return Err(Error::config("max_sample_size", "must be at least 1 (or absent: no maximum)"));
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
/// ([`Fitter::begin_pass`]); serializes with serde.
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
                Some(mine) => mine.merge(theirs, self.keep),
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
    fn merge(&mut self, other: &PathwayAccumulator, keep: Option<u64>) {
        if let (Some(a), Some(b)) = (&mut self.scan, &other.scan) {
            a.connections += b.connections;
            a.synapses += b.synapses;
            a.smallest.extend_from_slice(&b.smallest);
            trim(&mut a.smallest, keep);
            a.constant.iter_mut().zip(&b.constant).for_each(|(x, y)| x.merge(y));
        }
        if let (Some(a), Some(b)) = (&mut self.moments, &other.moments) {
            a.n_syn_per_conn.merge(&b.n_syn_per_conn);
            for (x, y) in a.properties.iter_mut().zip(&b.properties) {
                x.within_constant &= y.within_constant;
                x.per_connection.merge(&y.per_connection);
                x.per_synapse.merge(&y.per_synapse);
            }
        }
        if let (Some(a), Some(b)) = (&mut self.histogram, &other.histogram) {
            a.n_syn_per_conn.iter_mut().zip(&b.n_syn_per_conn).for_each(|(x, y)| *x += y);
            for (x, y) in a.properties.iter_mut().zip(&b.properties) {
                x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
            }
        }
    }
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
