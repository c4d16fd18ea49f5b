//! Fitting a `ConnPropsModel` from a circuit's edges (issue #25): connectome-manipulator's
//! `conn_props.extract` + `build`, streaming over edge chunks.
//!
//! A circuit's edges are read in chunks, in two or three passes ([`Fitter`]); each pass's partial
//! states ([`PassState`]) serialize and merge, so Dask partitions or draw workers can share the
//! work. The result of the passes is [`FitData`] (per pathway and property: counts, mean, std,
//! min, max, a 51-bin histogram, the normal fitted to it, the distinct values), which
//! [`build_cm`] turns into a model the engine runs unchanged and a [`FitReport`].
//!
//! What connectome-manipulator does, reproduced (its `model_building/conn_props.py`, 1.0.x):
//! - pathways are source value × target value of any node property (cm: mtype);
//! - a connection is a distinct (source, target) pair of one edge population; a property is
//!   *shared* when every sampled connection holds one value, except that a property constant over
//!   the whole pathway (all synapses) with more than one sampled connection is not shared; the
//!   sample is one value per connection when shared, else every synapse;
//! - mean, std (ddof 0), min, max, `np.histogram` with `hist_bins` bins (float32 arithmetic for
//!   float32 columns), `_norm_fitting` (scipy's TRF ported: [`trf`]), and `val`/`cnt`/`p` when
//!   there is one value or fewer distinct values than samples and at most 100;
//! - pathways with fewer than `min_sample_size` connections get no statistics; `build` fills them
//!   from the first level of its hierarchy with data (same source × targets of the same layer and
//!   class; same class; layer+class × layer+class; class × class; all), including its quirk of
//!   merging the properties' distinct values from the table being filled.
//!
//! Where it differs: pathways with more than `max_sample_size` connections are subsampled by
//! keyed streams (`streams.rs`: the smallest keys of (seed, edge population, connection)), so a
//! fit is reproducible bit for bit for any chunking and number of workers; connectome-manipulator
//! draws the subsample with `np.random.choice`, so its statistics differ on subsampled pathways
//! (and on the pathways filled from them) — nowhere else. Class and layer of each value are given
//! by the caller ([`ValueClass`], e.g. from [`classes_from_nodes`]); levels needing what a value
//! lacks are skipped, and the report names the level used. Laws that cannot describe the data
//! (a gamma of negative values, a discrete law of more than 100 values) are errors here, not at
//! draw time.
//!
//! Better than connectome-manipulator ([`build()`], which also runs cm mode byte for byte):
//! - **laws chosen by the data** (`BuildOptions::mode = auto`): per pathway and property, every
//!   law of the engine that applies fitted by maximum likelihood from exact sufficient
//!   statistics ([`laws`], [`sufficient`]) and chosen by AIC among those passing a KS check
//!   ([`select`]); a property's law may still be fixed in `laws`. Needs
//!   `FitSettings::law_statistics` (or `folds`);
//! - **k-fold cross-validation** (`FitSettings::folds`): connections split by their keyed
//!   stream, every statistic kept per fold, each entry's law refitted on k − 1 folds and scored
//!   on the held-out one (log-likelihood per value, KS), in either mode ([`crossval`]);
//! - **correlations into `prop_cov`** (`FitSettings::correlation_sample`,
//!   `BuildOptions::correlations`): Spearman's ρ on a keyed subsample of connections turned into
//!   the engine's Gaussian copula, repaired to a correlation matrix when needed ([`correlate`]);
//! - **empirical mode** (`BuildOptions::mode = empirical`, `FitSettings::keep_rows`): per
//!   pathway the observed vectors of a keyed subsample of connections (and of their synapses)
//!   written as `empirical` specs, which the engine draws row by row, keeping the joint
//!   structure exactly.
//!
//! Every addition is opt-in and serializes only when used: without it, pass states, `FitData`,
//! the model and the report are the first version's bytes.

pub mod accumulate;
mod auto;
pub mod build;
pub mod correlate;
pub mod crossval;
pub mod delay;
mod empirical;
pub mod extract;
pub mod fitter;
pub mod laws;
pub mod numpy;
pub mod report;
pub mod select;
pub mod sufficient;
pub mod trf;

pub use build::{build, build_cm, BuildOptions, FitMode, FitOutput, Law, ValueClass, LEVEL_NAMES};
pub use correlate::{CorrelationReport, PathwayCorrelation, RankCorrelation};
pub use crossval::{CrossValidation, FoldScore};
pub use delay::{DelayFitSettings, DelayMethod, DistanceBins, LinDelayFit, LineMoments, DEFAULT_DELAY_BIN_UM};
pub use extract::{FitProperty, FitSettings, PassPlan, PassState, DEFAULT_BINS};
pub use fitter::{FitData, Fitter, Histogram, PathwayData, PathwayStatistics, PropertyStatistics, SampleStatistics};
pub use numpy::ValueKind;
pub use report::{DataSummary, FallbackUsed, FitReport, PathwayReport, ReportEntry, TableRows};
pub use select::{Candidate, LawSelection};
pub use sufficient::{FoldSample, LawSample};

use std::collections::BTreeMap;

use crate::engine::{PathwayColumn, MISSING};

/// Class and layer of every pathway value of one side, as connectome-manipulator takes them: from
/// the node with the lowest id holding the value (in the first population that has it). `class`
/// and `layer` are node columns of the same populations (e.g. `synapse_class`, `layer`), `None`
/// where the circuit lacks them.
pub fn classes_from_nodes(
    pathway: &[&PathwayColumn],
    class: &[Option<&PathwayColumn>],
    layer: &[Option<&PathwayColumn>],
) -> BTreeMap<String, ValueClass> {
    let mut out = BTreeMap::new();
    for (i, column) in pathway.iter().enumerate() {
        let lookup = |side: Option<&PathwayColumn>, node: usize| -> Option<String> {
            let side = side?;
            let code = *side.codes.get(node)?;
            (code != MISSING).then(|| side.dictionary[code as usize].clone())
        };
        for (node, &code) in column.codes.iter().enumerate() {
            if code == MISSING {
                continue;
            }
            out.entry(column.dictionary[code as usize].clone()).or_insert_with(|| ValueClass {
                class: lookup(class.get(i).copied().flatten(), node),
                layer: lookup(layer.get(i).copied().flatten(), node),
            });
        }
    }
    out
}

/// Transcendental functions through `libm` rather than the platform's, so that a fit gives the
/// same bits natively (the command's threads, Python, Dask) and in wasm (the page, Node).
pub(crate) trait PortableMath {
    /// ln x.
    fn pln(self) -> f64;
    /// eˣ.
    fn pexp(self) -> f64;
    /// eˣ − 1.
    fn pexp_m1(self) -> f64;
    /// ln(1 + x).
    fn pln_1p(self) -> f64;
    /// sin x.
    fn psin(self) -> f64;
    /// cos x.
    fn pcos(self) -> f64;
}

impl PortableMath for f64 {
    fn pln(self) -> f64 {
        libm::log(self)
    }
    fn pexp(self) -> f64 {
        libm::exp(self)
    }
    fn pexp_m1(self) -> f64 {
        libm::expm1(self)
    }
    fn pln_1p(self) -> f64 {
        libm::log1p(self)
    }
    fn psin(self) -> f64 {
        libm::sin(self)
    }
    fn pcos(self) -> f64 {
        libm::cos(self)
    }
}
