//! synparam: gives every synapse of a SONATA circuit its physiological parameters, drawn per
//! pathway from connectome-manipulator's `ConnPropsModel` distributions.
//!
//! The core is plain Rust and knows nothing of browsers: [`config`] parses and validates models,
//! [`distributions`] draws, [`engine`] runs keyed streams over edge chunks, [`arrow_io`] speaks
//! Arrow IPC, [`stats`] builds histograms. `wasm` (only on `wasm32`) is a thin conversion layer.
//!
//! ```
//! use synparam::{Parameterizer, engine::{EdgeChunk, PathwayColumn}};
//! let config = r#"{"src_types": ["EXC"], "tgt_types": ["EXC"],
//!   "prop_stats": {"conductance": {"EXC": {"EXC": {"type": "gamma", "mean": 1.0, "std": 0.5}}}}}"#;
//! let mut run = Parameterizer::new(config, Some(1)).unwrap();
//! let nodes = PathwayColumn::from_values("cells", &[Some("EXC"), Some("EXC")]);
//! run.add_edge_population("cells__cells", nodes.clone(), nodes, "synapse_class", None).unwrap();
//! let chunk = EdgeChunk { source: vec![0, 1], target: vec![1, 0], edge_id: vec![0, 1] };
//! let result = run.run_chunk("cells__cells", &chunk).unwrap();
//! assert_eq!(result.properties[0].values.len(), 2);
//! ```
#![warn(missing_docs)]

pub mod arrow_io;
pub mod attributes;
pub mod config;
pub mod datasets;
pub mod distributions;
pub mod engine;
pub mod error;
pub mod fit;
pub mod fit_circuit;
pub mod loading;
pub mod output;
pub mod pathways;
pub mod rules;
pub mod scan;
pub mod special_functions;
pub mod stats;
pub mod storage;
pub mod streams;
pub mod synapse_conditions;
#[cfg(target_arch = "wasm32")]
mod wasm;

use std::collections::HashMap;
use std::sync::Arc;

use attributes::{AttributeReads, SomaPositions};
use config::{parse_task, Fallback, Model, Task};
use engine::{ChunkResult, ConnectionCounter, EdgeChunk, EdgeIds, PathwayColumn, PopulationPlan};
pub use error::{Error, Result};
use stats::{PropertyStats, StatsCollector};
use storage::{ChunkGroups, DatasetPlan, Digest, ExistingDataset, GroupLayout, GroupScan, OutputPlan, StorageChunk};

/// What a run accumulated for one edge population, for merging into another run of the same model
/// (see [`Parameterizer::export_state`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// Statistics, [property][pathway].
    pub statistics: Vec<Vec<stats::AccumulatorState>>,
    /// Distinct connections per pathway.
    pub connections: Vec<u64>,
    /// The digests of the planned datasets, in plan order.
    pub digests: Vec<Digest>,
}

/// One parameterization run: a validated task, a seed, the prepared edge populations and the
/// statistics collected so far.
pub struct Parameterizer {
    model: Arc<Model>,
    task: Task,
    seed: u64,
    plans: HashMap<String, PopulationPlan>,
    connections: HashMap<String, ConnectionCounter>,
    count_connections: bool,
    stats: StatsCollector,
    /// Values the edges files held before the run, for a before-and-after view (when read).
    previous: Option<StatsCollector>,
    /// Per edge population: its group scan while it runs, then its output plan.
    scans: HashMap<String, GroupScan>,
    outputs: HashMap<String, OutputPlan>,
}

impl Parameterizer {
    /// Parse and validate `config_json` (either accepted form); `seed` overrides the config's
    /// `random_seed`, and one of them must be given.
    pub fn new(config_json: &str, seed: Option<u64>) -> Result<Self> {
        let task = parse_task(config_json)?;
        let seed = seed.or(task.seed).ok_or_else(|| {
            Error::config("random_seed", "no seed: give random_seed in the task config or pass a seed")
        })?;
        let model = Arc::new(task.model.clone());
        let stats = StatsCollector::new(&model);
        Ok(Parameterizer {
            model,
            task,
            seed,
            plans: HashMap::new(),
            connections: HashMap::new(),
            count_connections: true,
            stats,
            previous: None,
            scans: HashMap::new(),
            outputs: HashMap::new(),
        })
    }

    /// The validated model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The validated task (model plus pathway property, seed, overwrite flag, …).
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Prepare an edge population from its source and target nodes' pathway columns. `fallback`
    /// overrides the task's `fallback_pathway_value`.
    pub fn add_edge_population(
        &mut self,
        name: &str,
        source: PathwayColumn,
        target: PathwayColumn,
        pathway_property: &str,
        fallback: Option<&Fallback>,
    ) -> Result<()> {
        let fallback = fallback.or(self.task.fallback_pathway_value.as_ref());
        let plan =
            PopulationPlan::new(self.model.clone(), self.seed, name, &source, &target, pathway_property, fallback)?;
        self.connections.insert(name.to_string(), plan.connection_counter());
        self.plans.insert(name.to_string(), plan);
        Ok(())
    }

    /// Draw all properties for one chunk of edge population `population`, adding to the
    /// statistics.
    pub fn run_chunk(&mut self, population: &str, chunk: &EdgeChunk) -> Result<ChunkResult> {
        self.run_edges(population, chunk.ids())
    }

    /// [`Parameterizer::run_chunk`] on borrowed ids (e.g. Arrow buffers decoded without copying).
    pub fn run_edges(&mut self, population: &str, chunk: EdgeIds<'_>) -> Result<ChunkResult> {
        self.run_edges_with_attributes(population, chunk, &[])
    }

    /// The per-synapse attributes the model reads (design §2.7): `distance_soma` and edge
    /// dataset names, in the model's order; empty when it reads none (then nothing changes for
    /// a host). For each edge population, hosts then call
    /// [`Parameterizer::plan_edge_attributes`] and, when it says so,
    /// [`Parameterizer::set_source_positions`], and draw with
    /// [`Parameterizer::run_edges_with_attributes`] (or `run_storage_with_attributes`).
    pub fn required_edge_attributes(&self) -> Vec<String> {
        self.model.edge_attributes()
    }

    /// Which edge datasets a host reads for edge population `population` (in the order the
    /// `*_with_attributes` calls take their columns) and whether it gives the source nodes'
    /// positions, given the datasets its edges file has (`available`: names in its group).
    /// Errors name every dataset the file lacks — before anything is planned or written.
    /// `distance_soma` ends at `afferent_center_x/y/z` when the file has all three (as
    /// connectome-manipulator measures it), else at `efferent_center_x/y/z`.
    pub fn plan_edge_attributes(&mut self, population: &str, available: &[&str]) -> Result<AttributeReads> {
        let plan = self.plans.get_mut(population).ok_or_else(|| not_prepared(population))?;
        plan.plan_attributes(available).cloned()
    }

    /// The edge datasets planned for `population` by [`Parameterizer::plan_edge_attributes`]
    /// (empty when none were planned): the columns hosts pass with every chunk, in this order.
    pub fn planned_edge_datasets(&self, population: &str) -> Result<&[String]> {
        let plan = self.plans.get(population).ok_or_else(|| not_prepared(population))?;
        Ok(plan.attribute_reads().map_or(&[][..], |reads| &reads.datasets[..]))
    }

    /// The soma positions (µm; node id = row) of the source node population of `population`,
    /// for `distance_soma`: after [`Parameterizer::plan_edge_attributes`], when its
    /// `source_positions` is true.
    pub fn set_source_positions(&mut self, population: &str, positions: SomaPositions) -> Result<()> {
        let plan = self.plans.get_mut(population).ok_or_else(|| not_prepared(population))?;
        plan.set_source_positions(positions)
    }

    /// [`Parameterizer::run_chunk`] with the planned attribute datasets' values (`columns`, in
    /// [`AttributeReads::datasets`] order, one `f64` per edge of the chunk).
    pub fn run_chunk_with_attributes(
        &mut self,
        population: &str,
        chunk: &EdgeChunk,
        columns: &[&[f64]],
    ) -> Result<ChunkResult> {
        self.run_edges_with_attributes(population, chunk.ids(), columns)
    }

    /// [`Parameterizer::run_edges`] with the planned attribute datasets' values (see
    /// [`Parameterizer::run_chunk_with_attributes`]). The values drawn never depend on the
    /// chunking: each synapse's value is a function of its keyed stream and its own attributes.
    pub fn run_edges_with_attributes(
        &mut self,
        population: &str,
        chunk: EdgeIds<'_>,
        columns: &[&[f64]],
    ) -> Result<ChunkResult> {
        let plan = self.plans.get(population).ok_or_else(|| not_prepared(population))?;
        let result = plan.run_with_attributes(chunk, columns)?;
        if self.count_connections {
            if let Some(counter) = self.connections.get_mut(population) {
                plan.count_connections(chunk, &result.pathways, counter);
            }
        }
        self.stats.add(&result);
        Ok(result)
    }

    /// Add the next edges' group columns (`edge_group_id`, `edge_group_index`, in edge order from
    /// `first_edge`) of edge population `population` of `size` edges to its layout scan, which
    /// [`Parameterizer::plan_output`] checks before anything is written.
    pub fn scan_groups(
        &mut self,
        population: &str,
        size: u64,
        first_edge: u64,
        group_ids: engine::Ids<'_>,
        group_index: engine::Ids<'_>,
    ) -> Result<()> {
        self.prepared(population)?;
        self.scans.entry(population.to_string()).or_insert_with(|| GroupScan::new(population, size)).add(
            first_edge,
            group_ids,
            group_index,
        )
    }

    /// Plan the datasets of edge population `population` (`size` edges) in its edges file, given
    /// what the file has: its datasets in the groups and its group ids. The layout is `layout`
    /// when given (one a coordinating run scanned), else the scanned one, else one group `0`
    /// indexed by edge id when no group columns were scanned. See [`storage::plan_output`].
    pub fn plan_output(
        &mut self,
        population: &str,
        size: u64,
        existing: &[ExistingDataset],
        existing_groups: &[u64],
        overwrite: bool,
        layout: Option<GroupLayout>,
    ) -> Result<&OutputPlan> {
        self.prepared(population)?;
        // A model that reads edge attributes cannot draw without them: refuse before any writing.
        self.plans[population].check_attributes_ready()?;
        let layout = match (layout, self.scans.remove(population)) {
            (Some(layout), _) => layout,
            (None, Some(scan)) => scan.finish()?,
            (None, None) => GroupLayout::Identity { rows: size },
        };
        let plan = storage::plan_output(&self.model, population, layout, existing, existing_groups, overwrite)?;
        self.outputs.insert(population.to_string(), plan);
        Ok(&self.outputs[population])
    }

    /// Draw one chunk (as [`Parameterizer::run_edges`]) and place its values for storage as
    /// planned by [`Parameterizer::plan_output`]: one block per dataset, in the dataset's type and
    /// row order, into `out`. `groups` are the chunk's group columns (needed when the population
    /// has them). Returns the drawn result too (for Arrow output).
    pub fn run_storage(
        &mut self,
        population: &str,
        chunk: EdgeIds<'_>,
        groups: Option<ChunkGroups<'_>>,
        out: &mut StorageChunk,
    ) -> Result<ChunkResult> {
        self.run_storage_with_attributes(population, chunk, groups, &[], out)
    }

    /// [`Parameterizer::run_storage`] with the planned attribute datasets' values (see
    /// [`Parameterizer::run_chunk_with_attributes`]).
    pub fn run_storage_with_attributes(
        &mut self,
        population: &str,
        chunk: EdgeIds<'_>,
        groups: Option<ChunkGroups<'_>>,
        columns: &[&[f64]],
        out: &mut StorageChunk,
    ) -> Result<ChunkResult> {
        if !self.outputs.contains_key(population) {
            return Err(Error::input(
                format!("edge population '{population}'"),
                "no output plan: call plan_output first",
            ));
        }
        let result = self.run_edges_with_attributes(population, chunk, columns)?;
        let model = self.model.clone();
        let plan = self.outputs.get_mut(population).expect("checked above");
        plan.store_chunk(population, &result, chunk.edge_id, groups, out, |property, position, value, reason| {
            model.value_error(property, result.pathways[position] as usize, value, chunk.edge_id.get(position), reason)
        })?;
        Ok(result)
    }

    /// The planned datasets of `population` with the digests of what was stored so far.
    pub fn dataset_digests(&self, population: &str) -> Result<Vec<(DatasetPlan, Digest)>> {
        let plan = self.outputs.get(population).ok_or_else(|| {
            Error::input(format!("edge population '{population}'"), "no output plan: call plan_output first")
        })?;
        Ok(plan.datasets.iter().cloned().zip(plan.digests().iter().copied()).collect())
    }

    /// What this run of `population` has accumulated — statistics, connection counts per pathway
    /// and the digests of what it stored — for another run of the same model and population to
    /// [`Parameterizer::merge_state`] (parallel workers, each over other edges).
    pub fn export_state(&self, population: &str) -> Result<RunState> {
        self.prepared(population)?;
        Ok(RunState {
            statistics: self.stats.state(),
            connections: match self.connections.get(population) {
                Some(counter) => counter
                    .counts()
                    .map_err(|message| Error::input(format!("edge population '{population}'"), message))?,
                None => Vec::new(),
            },
            digests: self.outputs.get(population).map(|p| p.digests().to_vec()).unwrap_or_default(),
        })
    }

    /// Add another run's [`RunState`] of the same model and population. Connection counts add: exact
    /// when no connection has synapses in both runs (edges sorted by target, split at target
    /// changes). Errors when the state does not fit this run.
    pub fn merge_state(&mut self, population: &str, state: &RunState) -> Result<()> {
        self.prepared(population)?;
        let misfit = |what: &str| {
            Error::input(
                format!("edge population '{population}'"),
                format!("{what} of a merged run do not fit this run"),
            )
        };
        if !self.stats.merge(&state.statistics) {
            return Err(misfit("statistics"));
        }
        if let Some(counter) = self.connections.get_mut(population) {
            if !counter.add_counts(&state.connections) {
                return Err(misfit("connection counts"));
            }
        }
        if let Some(plan) = self.outputs.get_mut(population) {
            if !plan.merge_digests(&state.digests) {
                return Err(misfit("digests"));
            }
        }
        Ok(())
    }

    fn prepared(&self, population: &str) -> Result<()> {
        self.plans.get(population).map(|_| ()).ok_or_else(|| not_prepared(population))
    }

    /// Count connections of `population` per target block from now on: the caller checked that
    /// its edges come sorted by target, and gives chunks in edge order (or, split between runs,
    /// each run whole target blocks in order). Much cheaper than remembering every pair.
    pub fn assume_sorted_by_target(&mut self, population: &str) -> Result<()> {
        self.prepared(population)?;
        if let Some(counter) = self.connections.get_mut(population) {
            counter.assume_sorted_by_target();
        }
        Ok(())
    }

    /// Forget the connection counts of `population` and count by remembering every pair again:
    /// after [`Parameterizer::assume_sorted_by_target`] turned out wrong, before a recount.
    pub fn reset_connections(&mut self, population: &str) -> Result<()> {
        self.prepared(population)?;
        let counter = self.plans[population].connection_counter();
        self.connections.insert(population.to_string(), counter);
        Ok(())
    }

    /// Count the distinct connections of one chunk without drawing: the coordinator of parallel
    /// draw workers counts every chunk itself, so that counts stay exact whatever edges each
    /// worker draws.
    pub fn count_connections_of(&mut self, population: &str, chunk: EdgeIds<'_>) -> Result<()> {
        let plan = self.plans.get(population).ok_or_else(|| {
            Error::input(format!("edge population '{population}'"), "not prepared: call add_edge_population first")
        })?;
        let pathways = plan.pathways(chunk)?;
        if let Some(counter) = self.connections.get_mut(population) {
            plan.count_connections(chunk, &pathways, counter);
        }
        Ok(())
    }

    /// Whether chunks also count distinct connections (on by default). Exact counts remember every
    /// (source, target) pair, which costs about a third of a seed-example draw; benchmarks of the
    /// draws alone turn it off.
    pub fn set_connection_counting(&mut self, enabled: bool) {
        self.count_connections = enabled;
    }

    /// Distinct connections (source → target node pairs) of edge population `population` in the
    /// chunks run so far, per pathway with at least one: `(source type, target type, count)`.
    pub fn connections(&self, population: &str) -> Result<Vec<(String, String, u64)>> {
        let counter = self.connections.get(population).ok_or_else(|| {
            Error::input(format!("edge population '{population}'"), "not prepared: call add_edge_population first")
        })?;
        let counts =
            counter.counts().map_err(|message| Error::input(format!("edge population '{population}'"), message))?;
        Ok(counts
            .iter()
            .enumerate()
            .filter(|(_, &count)| count > 0)
            .map(|(pathway, &count)| {
                let (source, target) = self.model.pathway_names(pathway);
                (source.to_string(), target.to_string(), count)
            })
            .collect())
    }

    /// Statistics and histograms over every chunk run so far (with the values held before, where
    /// [`Parameterizer::add_previous_values`] gave them).
    pub fn statistics(&self) -> Vec<PropertyStats> {
        self.stats.summary_with(&self.model, self.previous.as_ref())
    }

    /// The values an edges file holds for `property` at the edges of `chunk` (in its order; NaN
    /// where a group lacks the dataset), binned per pathway like the drawn ones: the "before"
    /// of a before-and-after view. Changes nothing that is drawn or written.
    pub fn add_previous_values(
        &mut self,
        population: &str,
        chunk: EdgeIds<'_>,
        property: &str,
        values: &[f64],
    ) -> Result<()> {
        let plan = self.plans.get(population).ok_or_else(|| {
            Error::input(format!("edge population '{population}'"), "not prepared: call add_edge_population first")
        })?;
        let index = self.model.properties.iter().position(|p| p.name == property).ok_or_else(|| {
            Error::input(
                format!("edge population '{population}'"),
                format!("'{property}' is not a property of the model"),
            )
        })?;
        if values.len() != chunk.edge_id.len() {
            return Err(Error::input(
                format!("edge population '{population}'"),
                format!("{} previous values of '{property}' for {} edges", values.len(), chunk.edge_id.len()),
            ));
        }
        let pathways = plan.pathways(chunk)?;
        let model = &self.model;
        self.previous.get_or_insert_with(|| StatsCollector::new(model)).add_values(index, &pathways, values);
        Ok(())
    }

    /// The statistics accumulated so far (of whatever populations), for
    /// [`Parameterizer::merge_statistics`] of another run of the same model: a combined view of
    /// one pathway over several edge populations.
    pub fn statistics_state(&self) -> Vec<Vec<stats::AccumulatorState>> {
        self.stats.state()
    }

    /// Add another run's [`Parameterizer::statistics_state`] of the same model (other edges, of
    /// any population); counts, histograms and fits then cover both. Errors when it does not fit.
    pub fn merge_statistics(&mut self, state: &[Vec<stats::AccumulatorState>]) -> Result<()> {
        if self.stats.merge(state) {
            Ok(())
        } else {
            Err(Error::input("statistics", "the merged statistics are not of this model"))
        }
    }

    /// Forget the statistics and connection counts (e.g. before a rerun with the same prepared
    /// populations).
    pub fn reset_statistics(&mut self) {
        self.stats = StatsCollector::new(&self.model);
        self.previous = None;
        for (name, plan) in &self.plans {
            self.connections.insert(name.clone(), plan.connection_counter());
        }
    }
}

/// The error for an edge population no `add_edge_population` prepared.
fn not_prepared(population: &str) -> Error {
    Error::input(format!("edge population '{population}'"), "not prepared: call add_edge_population first")
}
