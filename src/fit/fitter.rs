//! The streaming fit's driver: node pathway values, the passes, and the extracted statistics.

use std::collections::BTreeSet;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::accumulate::SampleAccumulator;
use super::correlate::RankCorrelation;
use super::delay::DistanceBins;
use super::extract::*;
use super::numpy::{bin_centers, histogram_bin, histogram_edges, mean, Binner, ValueKind};
use super::sufficient::{fold_of, FoldSample, LawSample};
use super::trf::norm_fitting;
use crate::attributes::{plan_reads, AttributeSetup, SomaPositions, DISTANCE_SOMA};
use crate::engine::{EdgeIds, Ids, PathwayColumn, MISSING};
use crate::error::{Error, Result};
use crate::streams::{connection_stream, family_key};

/// `_norm_fitting`'s `max_nfev`.
pub(super) const NORM_FIT_EVALUATIONS: u32 = 30;

/// A histogram: `counts[i]` values in `[edges[i], edges[i+1])`, the last bin closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges (`np.histogram`'s, in the column's arithmetic).
    pub edges: Vec<f64>,
    /// Counts per bin.
    pub counts: Vec<u64>,
}

/// The statistics of one sample, as `extract` stores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleStatistics {
    /// Values in the sample.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (ddof 0).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// `hist_bins` bins between min and max.
    pub histogram: Histogram,
    /// Location of the normal fitted to the histogram (the mean when the fit failed).
    pub norm_loc: f64,
    /// Scale of that normal (the std when the fit failed).
    pub norm_scale: f64,
    /// Whether the normal fit was accepted.
    pub norm_fit_accepted: bool,
    /// Its function evaluations.
    pub norm_fit_evaluations: u32,
    /// Distinct values with counts (`val`/`cnt`) when connectome-manipulator keeps them: one
    /// value, or fewer distinct values than samples and at most 100.
    pub values: Option<Vec<(f64, u64)>>,
}

/// One property in one pathway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyStatistics {
    /// Every sampled connection holds one value (and the pathway is not one constant).
    pub shared_within: bool,
    /// The sample: one value per connection when shared, else every synapse.
    pub sample: SampleStatistics,
    /// The sample's law statistics per fold (one part without folds), when the settings keep
    /// them: what the automatic choice of laws and cross-validation use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<Vec<FoldSample>>,
}

impl PropertyStatistics {
    /// The whole sample's law statistics (its folds merged), when kept.
    pub fn law_sample(&self) -> Option<LawSample> {
        self.folds.as_ref().map(|f| LawSample::merged(f.iter().map(|f| &f.stats)))
    }
}

/// A pathway with enough connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathwayStatistics {
    /// Connections in the sample (all, or `max_sample_size`).
    pub connections_used: u64,
    /// Synapses per connection.
    pub n_syn_per_conn: SampleStatistics,
    /// Per property, in settings order.
    pub properties: Vec<PropertyStatistics>,
    /// Synapses per connection's law statistics per fold, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_syn_per_conn_folds: Option<Vec<FoldSample>>,
    /// Rank correlations between the properties on the correlation sample, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_correlation: Option<RankCorrelation>,
    /// The correlation sample's rows with their synapses, by key, when the settings keep them
    /// (`keep_rows`): empirical mode's tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<CorrelationRow>>,
}

/// One pathway (source value × target value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathwayData {
    /// Source value.
    pub source: String,
    /// Target value.
    pub target: String,
    /// Distinct connections.
    pub connections: u64,
    /// Synapses.
    pub synapses: u64,
    /// `None` without synapses or with fewer connections than `min_sample_size`.
    pub statistics: Option<PathwayStatistics>,
    /// Delays by distance bin, with a delay fit (every synapse, also below `min_sample_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<DistanceBins>,
}

/// What `extract` returns: every pathway's statistics (serde: the input of `build`, which can be
/// run again with other laws without reading the edges).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitData {
    /// The settings the data were extracted with.
    pub settings: FitSettings,
    /// Source values, sorted.
    pub src_types: Vec<String>,
    /// Target values, sorted.
    pub tgt_types: Vec<String>,
    /// Row-major, `src_types.len() × tgt_types.len()`.
    pub pathways: Vec<PathwayData>,
}

impl FitData {
    /// The pathway of source index `s` and target index `t`.
    pub fn pathway(&self, s: usize, t: usize) -> &PathwayData {
        &self.pathways[s * self.tgt_types.len() + t]
    }
}

/// One edge population's nodes, as the fit maps them to pathway values.
#[derive(Debug, Clone)]
struct Population {
    name: String,
    source_population: String,
    target_population: String,
    source: PathwayColumn,
    target: PathwayColumn,
    /// Per node, the index in the plan's `src_types` / `tgt_types` (after [`Fitter::begin_pass`]).
    source_index: Vec<u32>,
    target_index: Vec<u32>,
    key: u64,
    /// How `distance_soma` is computed from the chunk's extra columns (with a delay fit).
    distance: Option<AttributeSetup>,
}

/// Where a pathway stands between passes (coordinator only).
#[derive(Debug, Clone)]
enum Progress {
    /// No synapses, or fewer connections than the minimum.
    Without { connections: u64, synapses: u64 },
    /// Needs moments of a subsample.
    Moments { scan: ScanAccumulator, selection: Selection },
    /// Needs histograms.
    Histogram { scan: ScanAccumulator, moments: MomentsAccumulator, law: Option<FoldMoments>, task: HistogramTask },
    /// Finished.
    Done(PathwayData),
}

/// A streaming fit of connectome-manipulator's `extract` over edge chunks, in passes.
///
/// The coordinator: [`Fitter::new`], [`Fitter::add_population`] for each edge population, then
/// while [`Fitter::next_pass`] gives a [`PassPlan`]: start a [`PassState`] ([`Fitter::new_state`]),
/// add every chunk ([`Fitter::add_chunk`]), merge workers' states ([`PassState::merge`]) and
/// [`Fitter::finish_pass`]; at the end [`Fitter::finish`] gives the [`FitData`]. A worker builds
/// the same `Fitter` (settings, populations), adopts the coordinator's plan
/// ([`Fitter::begin_pass`]) and returns its state. [`Fitter::run`] does all of it in one process.
///
/// Pass 1 counts connections, keeps the smallest subsample keys, checks values, and takes the
/// moments of every pathway; pass 2 bins the samples (their range is known now) and takes the
/// moments of subsampled pathways; pass 3, only when a pathway was subsampled, bins those.
/// Every chunk must hold all the edges of each of its target nodes (checked): connections are
/// then whole in one chunk, as `_check_shared_property` needs.
#[derive(Debug, Clone)]
pub struct Fitter {
    settings: FitSettings,
    populations: Vec<Population>,
    plan: Option<PassPlan>,
    progress: Vec<Progress>,
    /// Per pathway, the delays by distance bin after pass 1 (with a delay fit).
    distances: Vec<Option<DistanceBins>>,
}

impl Fitter {
    /// A fit with these settings (validated).
    pub fn new(settings: FitSettings) -> Result<Self> {
        settings.validate()?;
        Ok(Fitter { settings, populations: Vec::new(), plan: None, progress: Vec::new(), distances: Vec::new() })
    }

    /// The settings.
    pub fn settings(&self) -> &FitSettings {
        &self.settings
    }

    /// Add an edge population with its source and target nodes' pathway columns (node id = row).
    /// Nodes without a value take `fallback_value`, else they are an error, as in a run.
    pub fn add_population(&mut self, name: &str, source: &PathwayColumn, target: &PathwayColumn) -> Result<()> {
        if self.plan.is_some() {
            return Err(Error::input(format!("edge population '{name}'"), "added after the fit's first pass began"));
        }
        if self.populations.iter().any(|p| p.name == name) {
            return Err(Error::input(format!("edge population '{name}'"), "added twice to the fit"));
        }
        let source = self.with_fallback(source, "source")?;
        let target = self.with_fallback(target, "target")?;
        let distance = match &self.settings.delay_fit {
            None => None,
            Some(delay) => {
                let reads = delay.reads.get(name).ok_or_else(|| {
                    Error::config(
                        "delay_fit.reads",
                        format!("no distance datasets planned for edge population '{name}'"),
                    )
                })?;
                let available: Vec<&str> = reads.iter().map(String::as_str).collect();
                Some(plan_reads(name, &[DISTANCE_SOMA.to_string()], &available)?)
            }
        };
        self.populations.push(Population {
            distance,
            name: name.to_string(),
            source_population: source.population.clone(),
            target_population: target.population.clone(),
            key: family_key(self.settings.seed, name, "fit:subsample"),
            source,
            target,
            source_index: Vec::new(),
            target_index: Vec::new(),
        });
        Ok(())
    }

    /// The soma positions of edge population `name`'s source nodes (node id = row), which a
    /// delay fit's distances need.
    pub fn set_source_positions(&mut self, name: &str, positions: SomaPositions) -> Result<()> {
        let population = self
            .populations
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::input(format!("edge population '{name}'"), "not added to the fit"))?;
        let nodes = population.source.codes.len();
        match &mut population.distance {
            Some(setup) => setup.set_positions(name, nodes, positions),
            None => Err(Error::input(
                format!("edge population '{name}'"),
                "this fit reads no distance (no property has the lin_delay law): no positions to give",
            )),
        }
    }

    /// Edge datasets each chunk of `population` carries after the properties' columns.
    fn extra_columns(pop: &Population) -> usize {
        pop.distance.as_ref().map_or(0, |d| d.reads.datasets.len())
    }

    fn with_fallback(&self, column: &PathwayColumn, role: &'static str) -> Result<PathwayColumn> {
        let missing = column.codes.iter().filter(|&&c| c == MISSING).count();
        if missing == 0 {
            return Ok(column.clone());
        }
        let own = self.settings.fallback_value.as_ref().and_then(|f| f.for_population(&column.population));
        let Some(fallback) = own.map(str::to_string) else {
            return Err(Error::MissingPathwayProperty {
                role,
                population: column.population.clone(),
                property: "pathway".to_string(),
                count: missing,
                first_node: column.codes.iter().position(|&c| c == MISSING).unwrap_or(0) as u64,
            });
        };
        let mut column = column.clone();
        let code = match column.dictionary.iter().position(|v| *v == fallback) {
            Some(i) => i as u32,
            None => {
                column.dictionary.push(fallback);
                (column.dictionary.len() - 1) as u32
            }
        };
        column.codes.iter_mut().filter(|c| **c == MISSING).for_each(|c| *c = code);
        Ok(column)
    }

    /// Values present on one side over every population, sorted (`np.unique`).
    fn values(&self, source: bool) -> Vec<String> {
        let mut values = BTreeSet::new();
        for p in &self.populations {
            let column = if source { &p.source } else { &p.target };
            let mut used = vec![false; column.dictionary.len()];
            column.codes.iter().for_each(|&c| used[c as usize] = true);
            values.extend(column.dictionary.iter().zip(used).filter(|(_, u)| *u).map(|(v, _)| v.clone()));
        }
        values.into_iter().collect()
    }

    /// The coordinator's plan of the next pass, or `None` when every pathway is finished.
    pub fn next_pass(&mut self) -> Result<Option<PassPlan>> {
        let plan = match &self.plan {
            None => {
                if self.populations.is_empty() {
                    return Err(Error::input("fit", "no edge population added"));
                }
                let (src_types, tgt_types) = (self.values(true), self.values(false));
                let task = PathwayTask { scan: true, moments: Some(Selection::All), histogram: None };
                let tasks = vec![task; src_types.len() * tgt_types.len()];
                PassPlan { pass: 1, src_types, tgt_types, tasks }
            }
            Some(previous) => {
                let tasks: Vec<PathwayTask> = self.progress.iter().map(Progress::task).collect();
                if tasks.iter().all(|t| t.moments.is_none() && t.histogram.is_none()) {
                    return Ok(None);
                }
                PassPlan {
                    pass: previous.pass + 1,
                    src_types: previous.src_types.clone(),
                    tgt_types: previous.tgt_types.clone(),
                    tasks,
                }
            }
        };
        self.begin_pass(plan.clone())?;
        Ok(Some(plan))
    }

    /// Adopt a pass plan (a worker: the coordinator's). Maps every node to its pathway value.
    pub fn begin_pass(&mut self, plan: PassPlan) -> Result<()> {
        if plan.tasks.len() != plan.src_types.len() * plan.tgt_types.len() {
            return Err(Error::input("fit pass plan", "tasks do not match src_types × tgt_types"));
        }
        for p in &mut self.populations {
            p.source_index = index_nodes(&p.source, &plan.src_types, "src_types")?;
            p.target_index = index_nodes(&p.target, &plan.tgt_types, "tgt_types")?;
        }
        self.plan = Some(plan);
        Ok(())
    }

    fn current(&self) -> Result<&PassPlan> {
        self.plan.as_ref().ok_or_else(|| Error::input("fit", "no pass begun: call next_pass (or begin_pass) first"))
    }

    /// An empty state of the current pass.
    pub fn new_state(&self) -> Result<PassState> {
        let plan = self.current()?;
        Ok(PassState {
            pass: plan.pass,
            pathways: vec![None; plan.tasks.len()],
            targets: vec![TargetSet::default(); self.populations.len()],
            invalid: vec![InvalidValues::default(); self.settings.properties.len()],
            keep: self.settings.max_sample_size,
            correlation_keep: self.settings.correlation_keep(),
        })
    }

    /// Add one chunk of edge population `population`: ids and one value column per property (in
    /// settings order, as f64: float32 columns widened exactly, integers converted).
    pub fn add_chunk(
        &self,
        state: &mut PassState,
        population: &str,
        ids: EdgeIds<'_>,
        columns: &[&[f64]],
    ) -> Result<()> {
        let plan = self.current()?;
        if state.pass != plan.pass {
            return Err(Error::input("fit state", format!("state of pass {} used in pass {}", state.pass, plan.pass)));
        }
        let (index, pop) = self.population(population)?;
        self.check_chunk(pop, ids, columns)?;
        let (columns, extra) = columns.split_at(self.settings.properties.len());
        claim_targets(&mut state.targets[index], ids, &pop.name)?;
        if plan.pass == 1 {
            count_invalid(&mut state.invalid, index as u32, ids, columns);
            self.add_distances(state, pop, ids, columns, extra)?;
        }
        // The rows in (source, target, edge id) order — the order every accumulator takes its
        // values in — and the columns gathered in it, so that each connection is a range of
        // rows read in sequence (a pass reads each value once, not scattered over the chunk).
        let order = connection_order(ids);
        let sources = gather_ids(ids.source, &order);
        let targets = gather_ids(ids.target, &order);
        let columns: Vec<Vec<f64>> = columns.iter().map(|c| order.iter().map(|&i| c[i as usize]).collect()).collect();
        drop(order);
        let n_targets = plan.tgt_types.len();
        let mut start = 0;
        while start < sources.len() {
            let (s, t) = (sources[start], targets[start]);
            let mut end = start + 1;
            while end < sources.len() && sources[end] == s && targets[end] == t {
                end += 1;
            }
            let pathway = pop.source_index[s as usize] as usize * n_targets + pop.target_index[t as usize] as usize;
            let task = &plan.tasks[pathway];
            if task.scan || task.moments.is_some() || task.histogram.is_some() {
                let key = || ConnectionKey {
                    key: connection_stream(pop.key, s, t).next_u64(),
                    population: index as u32,
                    source: s,
                    target: t,
                };
                // The fold: the second number of the same keyed stream (the first orders the
                // subsample), so folds are independent of which connections are subsampled.
                let folds = self.settings.folds;
                let fold = || {
                    if folds < 2 {
                        return 0;
                    }
                    let mut stream = connection_stream(pop.key, s, t);
                    stream.next_u64();
                    fold_of(stream.next_u64(), folds)
                };
                let accumulator =
                    state.pathways[pathway].get_or_insert_with(|| PathwayAccumulator::new_for(task, &self.settings));
                let connection = Connection { rows: start..end, columns: &columns, fold };
                let keep = Keep {
                    subsample: state.keep,
                    correlation: state.correlation_keep,
                    synapses: self.settings.keep_rows,
                };
                accumulator.add_connection(task, &connection, key, keep);
            }
            start = end;
        }
        Ok(())
    }

    /// Pass 1 of a delay fit: each synapse's delay in its pathway's distance bin.
    fn add_distances(
        &self,
        state: &mut PassState,
        pop: &Population,
        ids: EdgeIds<'_>,
        columns: &[&[f64]],
        extra: &[&[f64]],
    ) -> Result<()> {
        let (Some(delay), Some(setup)) = (&self.settings.delay_fit, &pop.distance) else { return Ok(()) };
        let plan = self.current()?;
        let property = self.settings.properties.iter().position(|p| p.name == delay.property).unwrap_or(0);
        let distances = setup.evaluate(&pop.name, ids.source, ids.edge_id, extra)?;
        let (distances, delays) = (&distances[0], columns[property]);
        let n_targets = plan.tgt_types.len();
        for i in 0..ids.len() {
            let (d, value) = (distances[i], delays[i]);
            if !d.is_finite() {
                return Err(Error::input(
                    format!("edge population '{}'", pop.name),
                    format!(
                        "edge {} has no finite {DISTANCE_SOMA} ({d}): its synapse centre ({}) is not a number",
                        ids.edge_id.get(i),
                        setup.reads.datasets.join(", ")
                    ),
                ));
            }
            if !value.is_finite() {
                continue; // counted as invalid: the pass is refused at its end
            }
            let (s, t) = (ids.source.get(i) as usize, ids.target.get(i) as usize);
            let pathway = pop.source_index[s] as usize * n_targets + pop.target_index[t] as usize;
            let accumulator = state.pathways[pathway]
                .get_or_insert_with(|| PathwayAccumulator::new_for(&plan.tasks[pathway], &self.settings));
            accumulator.distance.get_or_insert_with(DistanceBins::default).add(d, value, delay.bin_size_um);
        }
        Ok(())
    }

    fn population(&self, name: &str) -> Result<(usize, &Population)> {
        self.populations
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
            .ok_or_else(|| Error::input(format!("edge population '{name}'"), "not added to the fit"))
    }

    fn check_chunk(&self, pop: &Population, ids: EdgeIds<'_>, columns: &[&[f64]]) -> Result<()> {
        let context = format!("edge chunk of '{}'", pop.name);
        let n = ids.edge_id.len();
        if ids.source.len() != n || ids.target.len() != n {
            return Err(Error::input(context, "source, target and edge id columns differ in length"));
        }
        let extra = Self::extra_columns(pop);
        if columns.len() != self.settings.properties.len() + extra {
            let datasets = pop
                .distance
                .as_ref()
                .map(|d| format!(" and {extra} distance columns ({})", d.reads.datasets.join(", ")))
                .unwrap_or_default();
            return Err(Error::input(
                context,
                format!("{} columns given for {} properties{datasets}", columns.len(), self.settings.properties.len()),
            ));
        }
        for (column, property) in columns.iter().zip(&self.settings.properties) {
            if column.len() != n {
                return Err(Error::input(
                    format!("{context} column {}", property.name),
                    format!("has {} values for {n} edges", column.len()),
                ));
            }
        }
        for (side, nodes, population) in [
            (ids.source, pop.source_index.len(), &pop.source_population),
            (ids.target, pop.target_index.len(), &pop.target_population),
        ] {
            if let Some(i) = (0..n).find(|&i| side.get(i) >= nodes as u64) {
                return Err(Error::input(
                    format!("edge population '{}'", pop.name),
                    format!(
                        "edge {} refers to node {} but node population '{population}' has {nodes} nodes",
                        ids.edge_id.get(i),
                        side.get(i)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Take a whole pass's merged state.
    pub fn finish_pass(&mut self, mut state: PassState) -> Result<()> {
        let plan = self.current()?.clone();
        if state.pass != plan.pass {
            return Err(Error::input("fit state", format!("state of pass {} finishes pass {}", state.pass, plan.pass)));
        }
        if plan.pass == 1 {
            self.check_invalid(&state.invalid)?;
            self.progress = vec![Progress::Without { connections: 0, synapses: 0 }; plan.tasks.len()];
            self.distances = state.pathways.iter_mut().map(|a| a.as_mut().and_then(|a| a.distance.take())).collect();
        }
        for (pathway, slot) in state.pathways.iter_mut().enumerate() {
            let accumulator = slot.take().unwrap_or_default();
            let previous =
                std::mem::replace(&mut self.progress[pathway], Progress::Without { connections: 0, synapses: 0 });
            self.progress[pathway] = self.advance(&plan, pathway, previous, accumulator);
        }
        Ok(())
    }

    fn check_invalid(&self, invalid: &[InvalidValues]) -> Result<()> {
        for (property, bad) in self.settings.properties.iter().zip(invalid) {
            if let (count @ 1.., Some((population, edge))) = (bad.count, bad.first) {
                return Err(Error::input(
                    format!(
                        "edge population '{}' column {}",
                        self.populations[population as usize].name, property.name
                    ),
                    format!("{count} value(s) are NaN or infinite (first: edge {edge}); a fit needs finite values"),
                ));
            }
        }
        Ok(())
    }

    /// A pathway's next step after a pass.
    fn advance(&self, plan: &PassPlan, pathway: usize, previous: Progress, acc: PathwayAccumulator) -> Progress {
        let task = &plan.tasks[pathway];
        let (source, target) = (pathway / plan.tgt_types.len(), pathway % plan.tgt_types.len());
        let scan = match (previous, acc.scan) {
            (_, Some(scan)) if task.scan => scan,
            (Progress::Moments { scan, .. }, _) => scan,
            (Progress::Histogram { scan, moments, law, task }, _) => {
                let histogram = acc.histogram.unwrap_or_else(|| HistogramAccumulator::empty(&task));
                let folds = self.settings.folds;
                let fold_histograms = acc.fold_histograms.or_else(|| (folds >= 2).then(|| empty_folds(&task, folds)));
                let finished = Finished {
                    scan: &scan,
                    moments: &moments,
                    law: law.as_ref(),
                    task: &task,
                    histogram: &histogram,
                    fold_histograms: fold_histograms.as_deref(),
                };
                return Progress::Done(self.pathway_data(plan, source, target, &finished));
            }
            (other, _) => return other,
        };
        if scan.connections == 0 || self.settings.min_sample_size.is_some_and(|min| scan.connections < min) {
            return Progress::Without { connections: scan.connections, synapses: scan.synapses };
        }
        if task.scan {
            if let Some(max) = self.settings.max_sample_size.filter(|&max| scan.connections > max) {
                let mut smallest = scan.smallest.clone();
                trim_keys(&mut smallest, max);
                let selection = Selection::UpTo(smallest[max as usize - 1]);
                return Progress::Moments { scan, selection };
            }
        }
        let selection = task.moments.unwrap_or(Selection::All);
        let moments = acc.moments.unwrap_or_else(|| MomentsAccumulator::empty(self.settings.properties.len()));
        let law = acc.law_moments.or_else(|| empty_law_moments(&self.settings));
        let task = self.histogram_task(&scan, &moments, selection);
        Progress::Histogram { scan, moments, law, task }
    }

    /// Which sample each property uses (connectome-manipulator's `_check_shared_property`), and
    /// its bins.
    fn histogram_task(
        &self,
        scan: &ScanAccumulator,
        moments: &MomentsAccumulator,
        selection: Selection,
    ) -> HistogramTask {
        let bins = self.settings.hist_bins;
        let used = moments.n_syn_per_conn.moments.n;
        let nsyn = &moments.n_syn_per_conn;
        let properties = self
            .settings
            .properties
            .iter()
            .enumerate()
            .map(|(p, property)| {
                let kind = shared_kind(used, &scan.constant[p], &moments.properties[p]);
                let sample = sample_of(&moments.properties[p], kind);
                (
                    kind,
                    Bins { edges: histogram_edges(sample.min, sample.max, bins, property.kind), kind: property.kind },
                )
            })
            .collect();
        HistogramTask {
            selection,
            n_syn_per_conn: Bins {
                edges: histogram_edges(nsyn.min, nsyn.max, bins, ValueKind::Int),
                kind: ValueKind::Int,
            },
            properties,
        }
    }

    fn pathway_data(&self, plan: &PassPlan, source: usize, target: usize, finished: &Finished) -> PathwayData {
        let Finished { scan, moments, law, task, histogram, fold_histograms } = *finished;
        let fold_counts = |p: Option<usize>| -> Vec<Vec<u64>> {
            let whole = || match p {
                Some(p) => histogram.properties[p].clone(),
                None => histogram.n_syn_per_conn.clone(),
            };
            match fold_histograms {
                Some(folds) => folds
                    .iter()
                    .map(|f| match p {
                        Some(p) => f.properties[p].clone(),
                        None => f.n_syn_per_conn.clone(),
                    })
                    .collect(),
                None => vec![whole()],
            }
        };
        let with_counts = |parts: &[LawSample], counts: Vec<Vec<u64>>| -> Vec<FoldSample> {
            parts.iter().zip(counts).map(|(stats, histogram)| FoldSample { stats: stats.clone(), histogram }).collect()
        };
        let properties = task
            .properties
            .iter()
            .enumerate()
            .map(|(p, (kind, bins))| PropertyStatistics {
                shared_within: *kind == SampleKind::PerConnection,
                sample: sample_statistics(sample_of(&moments.properties[p], *kind), bins, &histogram.properties[p]),
                folds: law.map(|f| {
                    let parts = match kind {
                        SampleKind::PerConnection => &f.properties[p].per_connection,
                        SampleKind::PerSynapse => &f.properties[p].per_synapse,
                    };
                    with_counts(parts, fold_counts(Some(p)))
                }),
            })
            .collect();
        PathwayData {
            source: plan.src_types[source].clone(),
            target: plan.tgt_types[target].clone(),
            connections: scan.connections,
            synapses: scan.synapses,
            distance: None,
            statistics: Some(PathwayStatistics {
                connections_used: moments.n_syn_per_conn.moments.n,
                n_syn_per_conn: sample_statistics(
                    &moments.n_syn_per_conn,
                    &task.n_syn_per_conn,
                    &histogram.n_syn_per_conn,
                ),
                properties,
                n_syn_per_conn_folds: law.map(|f| with_counts(&f.n_syn_per_conn, fold_counts(None))),
                rank_correlation: scan.correlation.as_ref().map(|rows| {
                    let mut rows = rows.clone();
                    trim_rows(&mut rows, self.settings.correlation_keep().unwrap_or(0));
                    RankCorrelation::of_rows(rows.iter().map(|r| &r.values[..]), self.settings.properties.len())
                }),
                rows: scan.correlation.as_ref().filter(|_| self.settings.keep_rows).map(|rows| {
                    let mut rows = rows.clone();
                    trim_rows(&mut rows, self.settings.correlation_keep().unwrap_or(0));
                    rows
                }),
            }),
        }
    }

    /// The extracted statistics, once [`Fitter::next_pass`] returned `None`. Fails when no
    /// pathway has enough connections.
    pub fn finish(&self) -> Result<FitData> {
        let plan = self.current()?;
        let mut pathways = Vec::with_capacity(self.progress.len());
        for (i, progress) in self.progress.iter().enumerate() {
            let (s, t) = (i / plan.tgt_types.len(), i % plan.tgt_types.len());
            pathways.push(match progress {
                Progress::Done(data) => data.clone(),
                Progress::Without { connections, synapses } => PathwayData {
                    source: plan.src_types[s].clone(),
                    target: plan.tgt_types[t].clone(),
                    connections: *connections,
                    synapses: *synapses,
                    statistics: None,
                    distance: None,
                },
                _ => return Err(Error::input("fit", "passes remain: call next_pass until it returns None")),
            });
        }
        for (pathway, bins) in pathways.iter_mut().zip(&self.distances) {
            pathway.distance = bins.clone();
        }
        if pathways.iter().all(|p| p.statistics.is_none()) {
            let largest = pathways.iter().max_by_key(|p| p.connections);
            let detail = match largest {
                Some(p) if p.connections > 0 => {
                    format!("the most is {} in {} → {}", p.connections, p.source, p.target)
                }
                _ => "the edges have no synapses".to_string(),
            };
            return Err(Error::config(
                "min_sample_size",
                format!(
                    "no pathway has at least {} connection(s) ({detail})",
                    self.settings.min_sample_size.unwrap_or(1)
                ),
            ));
        }
        Ok(FitData {
            settings: self.settings.clone(),
            src_types: plan.src_types.clone(),
            tgt_types: plan.tgt_types.clone(),
            pathways,
        })
    }

    /// Every pass in this process: `feed` adds every chunk of every population to the state it is
    /// given (through [`Fitter::add_chunk`]); called once per pass.
    pub fn run(&mut self, mut feed: impl FnMut(&Fitter, &mut PassState) -> Result<()>) -> Result<FitData> {
        while self.next_pass()?.is_some() {
            let mut state = self.new_state()?;
            feed(self, &mut state)?;
            self.finish_pass(state)?;
        }
        self.finish()
    }
}

impl Progress {
    fn task(&self) -> PathwayTask {
        match self {
            Progress::Moments { selection, .. } => {
                PathwayTask { scan: false, moments: Some(*selection), histogram: None }
            }
            Progress::Histogram { task, .. } => {
                PathwayTask { scan: false, moments: None, histogram: Some(task.clone()) }
            }
            _ => PathwayTask::default(),
        }
    }
}

/// Per node, its value's index in `types`.
fn index_nodes(column: &PathwayColumn, types: &[String], key: &str) -> Result<Vec<u32>> {
    let mut map = Vec::with_capacity(column.dictionary.len());
    for value in &column.dictionary {
        map.push(types.binary_search(value).map(|i| i as u32).unwrap_or(MISSING));
    }
    let mut out = Vec::with_capacity(column.codes.len());
    for (node, &code) in column.codes.iter().enumerate() {
        let index = map[code as usize];
        if index == MISSING {
            return Err(Error::input(
                format!("node population '{}'", column.population),
                format!("node {node} has value '{}', which the fit's {key} lack", column.dictionary[code as usize]),
            ));
        }
        out.push(index);
    }
    Ok(out)
}

fn claim_targets(targets: &mut TargetSet, ids: EdgeIds<'_>, population: &str) -> Result<()> {
    for i in 0..ids.len() {
        if targets.contains(ids.target.get(i)) {
            return Err(split_target_error(&format!("'{population}'"), ids.target.get(i)));
        }
    }
    for i in 0..ids.len() {
        targets.insert(ids.target.get(i));
    }
    Ok(())
}

fn count_invalid(invalid: &mut [InvalidValues], population: u32, ids: EdgeIds<'_>, columns: &[&[f64]]) {
    for (bad, column) in invalid.iter_mut().zip(columns) {
        for (i, v) in column.iter().enumerate() {
            if !v.is_finite() {
                bad.count += 1;
                let here = (population, ids.edge_id.get(i));
                bad.first = Some(bad.first.map_or(here, |f| f.min(here)));
            }
        }
    }
}

fn trim_keys(keys: &mut Vec<ConnectionKey>, keep: u64) {
    keys.sort_unstable();
    keys.dedup();
    keys.truncate(keep as usize);
}

/// connectome-manipulator's sharing rule: a pathway holding one value over more than one sampled
/// connection is "not shared"; else shared when every sampled connection holds one value.
fn shared_kind(used: u64, pathway: &ConstantCheck, moments: &PropertyMoments) -> SampleKind {
    if used > 1 && pathway.constant {
        SampleKind::PerSynapse
    } else if moments.within_constant {
        SampleKind::PerConnection
    } else {
        SampleKind::PerSynapse
    }
}

fn sample_of(moments: &PropertyMoments, kind: SampleKind) -> &SampleAccumulator {
    match kind {
        SampleKind::PerConnection => &moments.per_connection,
        SampleKind::PerSynapse => &moments.per_synapse,
    }
}

/// Final statistics of one sample: moments, histogram, the normal fit, the discrete values.
fn sample_statistics(sample: &SampleAccumulator, bins: &Bins, counts: &[u64]) -> SampleStatistics {
    let (mean_value, std) = (sample.moments.mean, sample.moments.std());
    let centers = bin_centers(&bins.edges, bins.kind);
    let start = mean(&centers, bins.kind);
    let y: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let fit = norm_fitting(&centers, &y, start, NORM_FIT_EVALUATIONS, mean_value, std);
    SampleStatistics {
        count: sample.moments.n,
        mean: mean_value,
        std,
        min: sample.min,
        max: sample.max,
        histogram: Histogram { edges: bins.edges.clone(), counts: counts.to_vec() },
        norm_loc: fit.loc,
        norm_scale: fit.scale,
        norm_fit_accepted: fit.accepted,
        norm_fit_evaluations: fit.evaluations,
        values: sample.discrete_values(),
    }
}

/// One connection: its rows (sorted by edge id) in the chunk's columns gathered in connection
/// order, and its cross-validation fold (computed when needed).
struct Connection<'a, F: Fn() -> usize> {
    rows: std::ops::Range<usize>,
    columns: &'a [Vec<f64>],
    fold: F,
}

impl<F: Fn() -> usize> Connection<'_, F> {
    /// Synapses.
    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Each property's values (edge id order).
    fn values(&self) -> impl Iterator<Item = &[f64]> + '_ {
        self.columns.iter().map(|c| &c[self.rows.clone()])
    }
}

/// The rows of a chunk in (source, target, edge id) order. Rows sorted by (target, edge id) — a
/// SONATA file's target-sorted chunks — are put in that order by sorting (source, row) packed in
/// one integer (the same order: a row's index orders its target and edge id); other chunks by
/// the three ids. Edge ids being distinct, the order is one and the same either way.
fn connection_order(ids: EdgeIds<'_>) -> Vec<u32> {
    let n = ids.len();
    assert!(n <= u32::MAX as usize, "an edge chunk holds fewer than 2^32 edges");
    let packed = (1..n)
        .all(|i| (ids.target.get(i - 1), ids.edge_id.get(i - 1)) < (ids.target.get(i), ids.edge_id.get(i)))
        && (0..n).all(|i| ids.source.get(i) <= u64::from(u32::MAX));
    if packed {
        let mut keys: Vec<u64> = match ids.source {
            Ids::U32(s) => s.iter().enumerate().map(|(i, &s)| u64::from(s) << 32 | i as u64).collect(),
            Ids::U64(s) => s.iter().enumerate().map(|(i, &s)| s << 32 | i as u64).collect(),
        };
        keys.sort_unstable();
        return keys.into_iter().map(|k| k as u32).collect();
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let i = i as usize;
        (ids.source.get(i), ids.target.get(i), ids.edge_id.get(i))
    });
    order
}

/// An id column in the given row order.
fn gather_ids(ids: Ids<'_>, order: &[u32]) -> Vec<u64> {
    match ids {
        Ids::U32(v) => order.iter().map(|&i| u64::from(v[i as usize])).collect(),
        Ids::U64(v) => order.iter().map(|&i| v[i as usize]).collect(),
    }
}

/// A pathway's accumulators once its last pass is done.
#[derive(Clone, Copy)]
struct Finished<'a> {
    scan: &'a ScanAccumulator,
    moments: &'a MomentsAccumulator,
    law: Option<&'a FoldMoments>,
    task: &'a HistogramTask,
    histogram: &'a HistogramAccumulator,
    fold_histograms: Option<&'a [FoldHistograms]>,
}

/// Empty law statistics for the settings' parts (`None` when they keep none).
fn empty_law_moments(settings: &FitSettings) -> Option<FoldMoments> {
    let parts = settings.law_parts();
    (parts > 0).then(|| FoldMoments {
        n_syn_per_conn: vec![LawSample::default(); parts],
        properties: (0..settings.properties.len())
            .map(|_| PropertyFolds {
                per_connection: vec![LawSample::default(); parts],
                per_synapse: vec![LawSample::default(); parts],
            })
            .collect(),
    })
}

/// Empty per-fold counts on a histogram task's bins.
fn empty_folds(task: &HistogramTask, folds: u32) -> Vec<FoldHistograms> {
    let empty = HistogramAccumulator::empty(task);
    vec![FoldHistograms { n_syn_per_conn: empty.n_syn_per_conn, properties: empty.properties }; folds as usize]
}

/// How many keys a pass state keeps per pathway: the subsample's, the correlation sample's.
#[derive(Clone, Copy)]
struct Keep {
    subsample: Option<u64>,
    correlation: Option<u64>,
    /// Every synapse's values kept with each correlation row (`keep_rows`).
    synapses: bool,
}

impl PathwayAccumulator {
    fn new_for(task: &PathwayTask, settings: &FitSettings) -> Self {
        let properties = settings.properties.len();
        let mut accumulator = PathwayAccumulator::default();
        if task.scan {
            accumulator.scan = Some(ScanAccumulator {
                connections: 0,
                synapses: 0,
                smallest: Vec::new(),
                constant: vec![ConstantCheck { value: None, constant: true }; properties],
                correlation: settings.correlation_keep().map(|_| Vec::new()),
            });
        }
        if task.moments.is_some() {
            accumulator.moments = Some(MomentsAccumulator::empty(properties));
            accumulator.law_moments = empty_law_moments(settings);
        }
        if let Some(h) = &task.histogram {
            accumulator.histogram = Some(HistogramAccumulator::empty(h));
            if settings.folds >= 2 {
                accumulator.fold_histograms = Some(empty_folds(h, settings.folds));
            }
        }
        accumulator
    }

    fn add_connection<F: Fn() -> usize>(
        &mut self,
        task: &PathwayTask,
        connection: &Connection<F>,
        key: impl Fn() -> ConnectionKey,
        keep: Keep,
    ) {
        let synapses = connection.len();
        if let Some(scan) = &mut self.scan {
            scan.connections += 1;
            scan.synapses += synapses as u64;
            let wanted = keep.subsample.is_some() || scan.correlation.is_some();
            let this = wanted.then(&key);
            if let (Some(keep), Some(this)) = (keep.subsample, this) {
                scan.smallest.push(this);
                if scan.smallest.len() as u64 > 2 * keep + 64 {
                    trim_keys(&mut scan.smallest, keep);
                }
            }
            if let (Some(rows), Some(this)) = (&mut scan.correlation, this) {
                let first = connection.rows.start;
                let values = connection.columns.iter().map(|c| c[first]).collect();
                let synapses = if keep.synapses {
                    connection.rows.clone().map(|e| connection.columns.iter().map(|c| c[e]).collect()).collect()
                } else {
                    Vec::new()
                };
                rows.push(CorrelationRow { key: this, values, synapses });
                let keep = keep.correlation.unwrap_or(0);
                if rows.len() as u64 > 2 * keep + 64 {
                    trim_rows(rows, keep);
                }
            }
            for (check, values) in scan.constant.iter_mut().zip(connection.values()) {
                values.iter().for_each(|&x| check.add(x));
            }
        }
        if let (Some(moments), Some(selection)) = (&mut self.moments, &task.moments) {
            if selection.contains(&key) {
                moments.add(connection);
                if let Some(law) = &mut self.law_moments {
                    law.add(connection);
                }
            }
        }
        if let (Some(histogram), Some(h)) = (&mut self.histogram, &task.histogram) {
            if h.selection.contains(&key) {
                let fold = self.fold_histograms.as_mut().map(|folds| &mut folds[(connection.fold)()]);
                histogram.add(h, connection, fold);
            }
        }
    }
}

impl MomentsAccumulator {
    fn empty(properties: usize) -> Self {
        MomentsAccumulator {
            n_syn_per_conn: SampleAccumulator::default(),
            properties: (0..properties)
                .map(|_| PropertyMoments {
                    within_constant: true,
                    per_connection: SampleAccumulator::default(),
                    per_synapse: SampleAccumulator::default(),
                })
                .collect(),
        }
    }

    fn add<F: Fn() -> usize>(&mut self, connection: &Connection<F>) {
        self.n_syn_per_conn.add(connection.len() as f64);
        for (property, values) in self.properties.iter_mut().zip(connection.values()) {
            let first = values[0];
            property.per_connection.add(first);
            for &value in values {
                if value != first {
                    property.within_constant = false;
                }
                property.per_synapse.add(value);
            }
        }
    }
}

impl FoldMoments {
    /// Add a connection to its fold (the only part without folds).
    fn add<F: Fn() -> usize>(&mut self, connection: &Connection<F>) {
        let fold = (connection.fold)();
        self.n_syn_per_conn[fold].add(connection.len() as f64);
        for (property, values) in self.properties.iter_mut().zip(connection.values()) {
            property.per_connection[fold].add(values[0]);
            let per_synapse = &mut property.per_synapse[fold];
            values.iter().for_each(|&x| per_synapse.add(x));
        }
    }
}

impl HistogramAccumulator {
    fn empty(task: &HistogramTask) -> Self {
        HistogramAccumulator {
            n_syn_per_conn: vec![0; task.n_syn_per_conn.edges.len() - 1],
            properties: task.properties.iter().map(|(_, bins)| vec![0; bins.edges.len() - 1]).collect(),
        }
    }

    /// Bin one connection, into its fold's counts too when given.
    fn add<F: Fn() -> usize>(
        &mut self,
        task: &HistogramTask,
        connection: &Connection<F>,
        mut fold: Option<&mut FoldHistograms>,
    ) {
        if let Some(b) = histogram_bin(connection.len() as f64, &task.n_syn_per_conn.edges, task.n_syn_per_conn.kind) {
            self.n_syn_per_conn[b] += 1;
            if let Some(fold) = &mut fold {
                fold.n_syn_per_conn[b] += 1;
            }
        }
        for (p, ((counts, (kind, bins)), values)) in
            self.properties.iter_mut().zip(&task.properties).zip(connection.values()).enumerate()
        {
            let values = match kind {
                SampleKind::PerConnection => &values[..1],
                SampleKind::PerSynapse => values,
            };
            let binner = Binner::new(&bins.edges, bins.kind);
            for &x in values {
                if let Some(b) = binner.bin(x) {
                    counts[b] += 1;
                    if let Some(fold) = &mut fold {
                        fold.properties[p][b] += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order by (source, row) of a target-sorted chunk is the order by the three ids.
    #[test]
    fn packed_order_is_the_order_by_ids() {
        let (mut state, mut rows) = (7u64, Vec::new());
        for target in 0..40u64 {
            for _ in 0..(target % 5) * 3 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                rows.push((state >> 40) % 9);
                rows.push(target);
            }
        }
        let source: Vec<u64> = rows.iter().step_by(2).copied().collect();
        let target: Vec<u64> = rows.iter().skip(1).step_by(2).copied().collect();
        let edge: Vec<u64> = (100..100 + source.len() as u64).collect();
        let by_ids = |ids: EdgeIds<'_>| {
            let mut order: Vec<u32> = (0..ids.len() as u32).collect();
            order.sort_by_key(|&i| {
                (ids.source.get(i as usize), ids.target.get(i as usize), ids.edge_id.get(i as usize))
            });
            order
        };
        let ids = EdgeIds { source: Ids::U64(&source), target: Ids::U64(&target), edge_id: Ids::U64(&edge) };
        assert_eq!(connection_order(ids), by_ids(ids));
        let narrow: Vec<u32> = source.iter().map(|&s| s as u32).collect();
        let ids = EdgeIds { source: Ids::U32(&narrow), target: Ids::U64(&target), edge_id: Ids::U64(&edge) };
        assert_eq!(connection_order(ids), by_ids(ids));
        // Not sorted by target (edge ids reversed): the general sort.
        let reversed: Vec<u64> = edge.iter().rev().copied().collect();
        let ids = EdgeIds { source: Ids::U64(&source), target: Ids::U64(&target), edge_id: Ids::U64(&reversed) };
        assert_eq!(connection_order(ids), by_ids(ids));
    }
}
