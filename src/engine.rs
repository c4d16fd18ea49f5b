//! The engine: pathway lookup and keyed draws for chunks of edges (design §2.4, §2.5).
//!
//! A [`PopulationPlan`] is built once per edge population from the node pathway columns; then any
//! chunk of its edges, in any order and of any size, is parameterized independently.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::attributes::{AttributeReads, AttributeSetup, SomaPositions};
use crate::config::{ColumnType, Fallback, Finalized, Model, PathwaySpec, PropertyModel};
use crate::distributions::Distribution;
use crate::error::{Error, Num, Result};
use crate::special_functions::{normal_cdf, normal_sf};
use crate::streams::{connection_stream, family_key, synapse_stream, table_key, uniform_row};
use crate::synapse_conditions::AttributeTerm;

/// Marks a node without a pathway value in [`PathwayColumn::codes`].
pub const MISSING: u32 = u32::MAX;

/// One node population's pathway property, dictionary-encoded: node id = row.
#[derive(Debug, Clone, PartialEq)]
pub struct PathwayColumn {
    /// Node population name (for messages).
    pub population: String,
    /// The distinct values.
    pub dictionary: Vec<String>,
    /// Per node, an index into `dictionary`, or [`MISSING`].
    pub codes: Vec<u32>,
}

impl PathwayColumn {
    /// Encode plain optional strings.
    pub fn from_values<S: AsRef<str>>(population: &str, values: &[Option<S>]) -> Self {
        let mut dictionary: Vec<String> = Vec::new();
        let codes = values
            .iter()
            .map(|v| match v {
                None => MISSING,
                Some(v) => {
                    let v = v.as_ref();
                    match dictionary.iter().position(|d| d == v) {
                        Some(i) => i as u32,
                        None => {
                            dictionary.push(v.to_string());
                            (dictionary.len() - 1) as u32
                        }
                    }
                }
            })
            .collect();
        PathwayColumn { population: population.to_string(), dictionary, codes }
    }
}

/// One chunk of an edge population: parallel columns, `edge_id` the global edge index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EdgeChunk {
    /// Source node ids.
    pub source: Vec<u64>,
    /// Target node ids.
    pub target: Vec<u64>,
    /// Global edge ids (row in the edge population).
    pub edge_id: Vec<u64>,
}

impl EdgeChunk {
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.edge_id.len()
    }

    /// Whether the chunk has no edges.
    pub fn is_empty(&self) -> bool {
        self.edge_id.is_empty()
    }
}

/// One id column of an edge chunk as it arrived: 32-bit ids (what the loader sends while they fit,
/// a third less to copy into wasm) or 64-bit ones (SONATA's type). The engine reads either in place.
#[derive(Clone, Copy, Debug)]
pub enum Ids<'a> {
    /// 32-bit ids.
    U32(&'a [u32]),
    /// 64-bit ids.
    U64(&'a [u64]),
}

impl Ids<'_> {
    /// Number of ids.
    pub fn len(&self) -> usize {
        match self {
            Ids::U32(ids) => ids.len(),
            Ids::U64(ids) => ids.len(),
        }
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids, widened to 64 bits (a copy: for tests and messages, not the draw loops).
    pub fn to_vec(&self) -> Vec<u64> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// The id at row `i`.
    pub fn get(&self, i: usize) -> u64 {
        match self {
            Ids::U32(ids) => u64::from(ids[i]),
            Ids::U64(ids) => ids[i],
        }
    }
}

impl<'a> From<&'a [u64]> for Ids<'a> {
    fn from(ids: &'a [u64]) -> Self {
        Ids::U64(ids)
    }
}

impl<'a> From<&'a [u32]> for Ids<'a> {
    fn from(ids: &'a [u32]) -> Self {
        Ids::U32(ids)
    }
}

/// An id width the draw loops are compiled for.
pub trait Id: Copy + Into<u64> {}
impl Id for u32 {}
impl Id for u64 {}

/// The ids of one edge chunk as the engine reads them: borrowed from an [`EdgeChunk`], or from
/// Arrow buffers decoded without copying (see `arrow_io::DecodedEdgeChunk`).
#[derive(Clone, Copy, Debug)]
pub struct EdgeIds<'a> {
    /// Source node ids.
    pub source: Ids<'a>,
    /// Target node ids.
    pub target: Ids<'a>,
    /// Global edge ids (row in the edge population).
    pub edge_id: Ids<'a>,
}

impl EdgeIds<'_> {
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.edge_id.len()
    }

    /// Whether the chunk has no edges.
    pub fn is_empty(&self) -> bool {
        self.edge_id.is_empty()
    }
}

impl EdgeChunk {
    /// The chunk's ids, borrowed.
    pub fn ids(&self) -> EdgeIds<'_> {
        EdgeIds { source: Ids::U64(&self.source), target: Ids::U64(&self.target), edge_id: Ids::U64(&self.edge_id) }
    }
}

/// An edge chunk's columns at one width for node ids (`N`) and one for edge ids (`E`): what the
/// draw loops are compiled for, four times.
#[derive(Clone, Copy)]
struct Columns<'a, N, E> {
    source: &'a [N],
    target: &'a [N],
    edge_id: &'a [E],
}

impl<N: Id, E: Id> Columns<'_, N, E> {
    fn len(&self) -> usize {
        self.edge_id.len()
    }

    #[inline(always)]
    fn source(&self, i: usize) -> u64 {
        self.source[i].into()
    }

    #[inline(always)]
    fn target(&self, i: usize) -> u64 {
        self.target[i].into()
    }

    #[inline(always)]
    fn edge_id(&self, i: usize) -> u64 {
        self.edge_id[i].into()
    }
}

/// Drawn values of one property for one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyValues {
    /// Property name.
    pub name: String,
    /// Column type to store the values in.
    pub column_type: ColumnType,
    /// Values as stored (integers exact in f64).
    pub values: Vec<f64>,
    /// Per pathway, how many values a bound changed.
    pub clipped: Vec<u64>,
    /// For a property some pathway draws from a per-synapse attribute (design §2.7): per edge,
    /// the attribute its pathway's spec reads (the law's, else `scale_by`'s; NaN elsewhere), for
    /// the statistics' value-against-attribute view. `None` for other properties.
    pub attribute: Option<Vec<f64>>,
}

/// The result of one chunk: each edge's pathway and every property's values.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkResult {
    /// Per edge, the pathway index (see [`Model::pathway_index`]).
    pub pathways: Vec<u32>,
    /// Per edge, whether it starts a run of edges of one connection (its source or target differs
    /// from the previous edge's): where one draw serves a connection, the goodness of fit counts
    /// that draw once (SONATA files group a connection's synapses, so runs are connections).
    pub connection_starts: Vec<bool>,
    /// One entry per model property, in model order.
    pub properties: Vec<PropertyValues>,
}

/// Everything needed to parameterize chunks of one edge population.
#[derive(Debug, Clone)]
pub struct PopulationPlan {
    model: Arc<Model>,
    edge_population: String,
    source_population: String,
    target_population: String,
    /// Per source node, its index in `src_types`.
    source_types: Vec<u32>,
    /// Per target node, its index in `tgt_types`.
    target_types: Vec<u32>,
    /// Per property, its stream family key.
    property_keys: Vec<u64>,
    /// Stream family of the correlated group.
    correlation_key: u64,
    /// Per `empirical` table name, its rows' stream family (design §2.2).
    table_keys: BTreeMap<String, u64>,
    /// The per-synapse attributes the model reads (design §2.7), and how they are read here.
    edge_attributes: Vec<String>,
    attributes: Option<AttributeSetup>,
}

/// Distinct connections (source → target node pairs) per pathway of one edge population, exact
/// whatever the chunking and edge order: every pair is remembered once. Consecutive synapses of one
/// connection (the usual SONATA order) cost one comparison, not a set lookup. When the caller has
/// checked that the edges come sorted by target (as SONATA files are), nothing is remembered beyond
/// the current target's sources: every connection lies within its target's block.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounter {
    /// Pairs as `source × target nodes + target` (unique while that fits 64 bits).
    seen: hashbrown::HashSet<u64>,
    /// Pairs of node populations too large for that key.
    seen_wide: hashbrown::HashSet<(u64, u64)>,
    /// Per pathway, distinct connections so far (of closed target blocks, in sorted mode).
    per_pathway: Vec<u64>,
    /// Sorted mode: the target whose block is open, and its (source, pathway) pairs.
    sorted_by_target: bool,
    block_target: Option<u64>,
    block: Vec<(u64, u32)>,
    /// A target came out of order in sorted mode: the counts cannot be trusted.
    order_broken: bool,
}

impl ConnectionCounter {
    /// Per pathway (as [`Model::pathway_index`]), the distinct connections counted so far.
    pub fn per_pathway(&self) -> &[u64] {
        &self.per_pathway
    }

    /// Count per target block from now on, without remembering pairs: the caller guarantees that
    /// edges come sorted by target (non-decreasing `target_node_id`), in order.
    pub fn assume_sorted_by_target(&mut self) {
        self.sorted_by_target = true;
    }

    /// Distinct connections per pathway so far, the open target block included; an error when
    /// edges broke the sorted order they were promised to have.
    pub fn counts(&self) -> std::result::Result<Vec<u64>, &'static str> {
        if self.order_broken {
            return Err("edges are not sorted by target_node_id, as the run assumed; connection counts are not exact");
        }
        let mut counts = self.per_pathway.clone();
        Self::count_block(&mut self.block.clone(), &mut counts);
        Ok(counts)
    }

    /// Add the distinct sources of one target block to `counts` (the block is consumed).
    fn count_block(block: &mut Vec<(u64, u32)>, counts: &mut [u64]) {
        block.sort_unstable();
        let mut previous = None;
        for &(source, pathway) in block.iter() {
            if previous != Some(source) {
                counts[pathway as usize] += 1;
                previous = Some(source);
            }
        }
        block.clear();
    }

    /// Add counts of connections counted elsewhere (none of them seen here). False when the
    /// pathways do not match.
    pub fn add_counts(&mut self, counts: &[u64]) -> bool {
        if counts.len() != self.per_pathway.len() {
            return false;
        }
        for (mine, theirs) in self.per_pathway.iter_mut().zip(counts) {
            *mine += theirs;
        }
        true
    }
}

/// How one role (source or target) names its pieces in messages.
struct Role {
    name: &'static str,
    types_key: &'static str,
}

const SOURCE: Role = Role { name: "source", types_key: "src_types" };
const TARGET: Role = Role { name: "target", types_key: "tgt_types" };

/// Map each node's pathway value to its index in `types`, with errors naming what is missing.
fn map_types(
    column: &PathwayColumn,
    types: &[String],
    role: &Role,
    pathway_property: &str,
    fallback: Option<&Fallback>,
) -> Result<Vec<u32>> {
    let used: BTreeSet<u32> = column.codes.iter().copied().filter(|&c| c != MISSING).collect();
    let mut dictionary_types = vec![MISSING; column.dictionary.len()];
    let mut missing = Vec::new();
    for &code in &used {
        let value = column.dictionary.get(code as usize).ok_or_else(|| {
            Error::input(
                format!("{} node population '{}'", role.name, column.population),
                format!("pathway code {code} outside its dictionary of {} values", column.dictionary.len()),
            )
        })?;
        match types.iter().position(|t| t == value) {
            Some(i) => dictionary_types[code as usize] = i as u32,
            None => missing.push(value.clone()),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(Error::MissingPathwayValues {
            role: role.name,
            population: column.population.clone(),
            property: pathway_property.to_string(),
            types_key: role.types_key,
            values: missing,
        });
    }
    let fallback_type = match fallback.and_then(|f| f.for_population(&column.population)) {
        Some(value) => Some(types.iter().position(|t| t == value).ok_or_else(|| {
            Error::config(
                fallback.expect("a value").key_for(&column.population),
                format!("'{value}' is not in {} ({})", role.types_key, types.join(", ")),
            )
        })? as u32),
        None => None,
    };
    let mut first_missing = None;
    let mut missing_count = 0usize;
    let mapped = column
        .codes
        .iter()
        .enumerate()
        .map(|(node, &code)| {
            if code != MISSING {
                return dictionary_types[code as usize];
            }
            missing_count += 1;
            first_missing.get_or_insert(node as u64);
            fallback_type.unwrap_or(MISSING)
        })
        .collect();
    if let (Some(first_node), None) = (first_missing, fallback_type) {
        return Err(Error::MissingPathwayProperty {
            role: role.name,
            population: column.population.clone(),
            property: pathway_property.to_string(),
            count: missing_count,
            first_node,
        });
    }
    Ok(mapped)
}

/// One-entry memo of the last connection's raw draw: edge files are sorted by target (and often
/// source), so consecutive synapses of a connection reuse the value instead of re-deriving it.
struct ConnectionMemo {
    source: u64,
    target: u64,
    raw: f64,
}

/// How one pathway's values of one property are drawn.
enum PathwayDraw<'a> {
    /// A deterministic law: the same stored value for every synapse.
    Fixed(Finalized),
    /// A deterministic law whose value its dtype cannot hold (an error if the pathway occurs).
    OutOfRange(f64),
    /// One draw per synapse, from its edge id's stream.
    PerSynapse(&'a PathwaySpec),
    /// One draw per connection, shared by its synapses.
    PerConnection(&'a PathwaySpec),
    /// A row of an `empirical` table, from the table's stream family (design §2.2).
    Row(&'a PathwaySpec, &'a [f64], u64),
    /// One value per synapse that depends on its attributes (design §2.7): the values of the
    /// law's attribute and of the factor's, when the spec has them.
    Located(LocatedDraw<'a>),
    /// Per-synapse alternatives (`by_synapse`): the cases in order, then `otherwise`.
    Cases(Vec<CaseDraw<'a>>, Option<LocatedDraw<'a>>),
}

/// One `by_synapse` case: its terms with the columns they test, and its spec's draw.
type CaseDraw<'a> = (Vec<(&'a [f64], &'a AttributeTerm)>, LocatedDraw<'a>);

/// A spec drawn per synapse with the attribute columns its law and factor read.
#[derive(Clone, Copy)]
struct LocatedDraw<'a> {
    spec: &'a PathwaySpec,
    law_values: Option<&'a [f64]>,
    scale_values: Option<&'a [f64]>,
}

/// Why a synapse could not take a `by_synapse` case.
enum CaseFailure<'a> {
    /// An attribute a condition reads is not finite.
    NotFinite(&'a str, f64),
    /// A section type 0 where the condition names section types (the file numbers them from 0).
    SectionZero(&'a str),
}

/// Per synapse of a chunk, the attribute its pathway's law or factor reads (NaN where none): the
/// value-against-attribute view's x; `None` when no pathway of the property reads one.
fn attribute_values(draws: &[PathwayDraw<'_>], pathways: &[u32]) -> Option<Vec<f64>> {
    if !draws.iter().any(|draw| matches!(draw, PathwayDraw::Located(..))) {
        return None;
    }
    Some(
        pathways
            .iter()
            .enumerate()
            .map(|(i, &pathway)| match &draws[pathway as usize] {
                PathwayDraw::Located(draw) => {
                    draw.law_values.or(draw.scale_values).map_or(f64::NAN, |values| values[i])
                }
                _ => f64::NAN,
            })
            .collect(),
    )
}

/// The alternative of `by_synapse` that row `i` takes: the first case whose terms all hold, else
/// `otherwise`; `Ok(None)` when neither.
#[inline]
fn choose_case<'d, 'a>(
    cases: &'d [CaseDraw<'a>],
    otherwise: Option<&'d LocatedDraw<'a>>,
    i: usize,
) -> std::result::Result<Option<&'d LocatedDraw<'a>>, CaseFailure<'a>> {
    'cases: for (terms, draw) in cases {
        for (values, term) in terms {
            let x = values[i];
            if !x.is_finite() {
                return Err(CaseFailure::NotFinite(&term.attribute, x));
            }
            if term.by_section_name && x == 0.0 {
                return Err(CaseFailure::SectionZero(&term.attribute));
            }
            if !term.test.holds(x) {
                continue 'cases;
            }
        }
        return Ok(Some(draw));
    }
    Ok(otherwise)
}

/// The raw value (before bounds and dtype) of a spec that depends on attributes, at row `i`: the
/// attribute law at its attribute's value or the law drawn from the synapse's stream, times the
/// `scale_by` factor. `Err` names an attribute whose value is not finite.
#[inline]
fn located_value<'s>(
    spec: &'s PathwaySpec,
    law_values: Option<&[f64]>,
    scale_values: Option<&[f64]>,
    i: usize,
    key: u64,
    edge_id: u64,
) -> std::result::Result<f64, (&'s str, f64)> {
    let mut stream = synapse_stream(key, edge_id);
    let mut raw = match (&spec.attribute_law, law_values) {
        (Some(law), Some(values)) => {
            let x = values[i];
            if !x.is_finite() {
                return Err((law.attribute(), x));
            }
            law.sample(x, &mut stream)
        }
        _ => spec.distribution.sample(&mut stream),
    };
    if let (Some(scale), Some(values)) = (&spec.scale_by, scale_values) {
        let x = values[i];
        if !x.is_finite() {
            return Err((&scale.attribute, x));
        }
        raw *= scale.factor(x);
    }
    Ok(raw)
}

/// Bounds and dtype for one drawn value: counts a clip, records the first value the dtype cannot
/// hold (returning NaN in its place; the chunk then fails).
#[inline(always)]
fn finalize_into(
    spec: &PathwaySpec,
    raw: f64,
    pathway: u32,
    edge_id: u64,
    clipped: &mut [u64],
    failure: &mut Option<(u32, f64, u64)>,
) -> f64 {
    match spec.finalize(raw) {
        Ok(stored) => {
            clipped[pathway as usize] += stored.clipped as u64;
            stored.value
        }
        Err(value) => {
            failure.get_or_insert((pathway, value, edge_id));
            f64::NAN
        }
    }
}

impl PopulationPlan {
    /// Prepare an edge population: validate and map node pathway values, derive stream keys.
    pub fn new(
        model: Arc<Model>,
        seed: u64,
        edge_population: &str,
        source: &PathwayColumn,
        target: &PathwayColumn,
        pathway_property: &str,
        fallback: Option<&Fallback>,
    ) -> Result<Self> {
        let source_types = map_types(source, &model.src_types, &SOURCE, pathway_property, fallback)?;
        let target_types = map_types(target, &model.tgt_types, &TARGET, pathway_property, fallback)?;
        let property_keys = model.properties.iter().map(|p| family_key(seed, edge_population, &p.name)).collect();
        let correlation_key = match &model.correlation {
            Some(c) => {
                let names: Vec<&str> = c.properties.iter().map(|&i| model.properties[i].name.as_str()).collect();
                family_key(seed, edge_population, &format!("prop_cov:{}", names.join(",")))
            }
            None => 0,
        };
        let table_keys = model
            .properties
            .iter()
            .flat_map(|p| p.pathways.iter().filter_map(|spec| spec.empirical.as_ref()))
            .map(|table| (table.name.clone(), table_key(seed, edge_population, &table.name)))
            .collect();
        Ok(PopulationPlan {
            table_keys,
            edge_population: edge_population.to_string(),
            source_population: source.population.clone(),
            target_population: target.population.clone(),
            source_types,
            target_types,
            property_keys,
            correlation_key,
            edge_attributes: model.edge_attributes(),
            attributes: None,
            model,
        })
    }

    /// The per-synapse attributes the model reads, in its order (empty for most models).
    pub fn edge_attributes(&self) -> &[String] {
        &self.edge_attributes
    }

    /// Plan which edge datasets a host reads for the model's attributes, given the datasets the
    /// population's edges file has; errors name every one it lacks (design §2.7).
    pub fn plan_attributes(&mut self, available: &[&str]) -> Result<&AttributeReads> {
        let mut setup = crate::attributes::plan_reads(&self.edge_population, &self.edge_attributes, available)?;
        if let Some(previous) = self.attributes.take() {
            setup.keep_positions_of(previous); // planning again keeps the positions given
        }
        Ok(&self.attributes.insert(setup).reads)
    }

    /// The reads planned by [`PopulationPlan::plan_attributes`], if any.
    pub fn attribute_reads(&self) -> Option<&AttributeReads> {
        self.attributes.as_ref().map(|setup| &setup.reads)
    }

    /// Give the source nodes' soma positions (node id = row), for `distance_soma`.
    pub fn set_source_positions(&mut self, positions: SomaPositions) -> Result<()> {
        let nodes = self.source_types.len();
        let population = self.edge_population.clone();
        match &mut self.attributes {
            Some(setup) => setup.set_positions(&population, nodes, positions),
            None => Err(Error::input(
                format!("edge population '{population}'"),
                "plan the edge attributes before giving source positions",
            )),
        }
    }

    /// Whether chunks can be drawn: the model reads no attribute, or they are planned (and the
    /// positions given where distances are read). Errors name what is missing.
    pub fn check_attributes_ready(&self) -> Result<()> {
        if self.edge_attributes.is_empty() {
            return Ok(());
        }
        match &self.attributes {
            Some(setup) => setup.ready(&self.edge_population),
            None => Err(Error::input(
                format!("edge population '{}'", self.edge_population),
                format!(
                    "the model reads per-synapse attributes ({}): plan them from the edges file's datasets and give them with every chunk",
                    self.edge_attributes.join(", ")
                ),
            )),
        }
    }

    /// The model the plan draws from.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The edge population's name.
    pub fn edge_population(&self) -> &str {
        &self.edge_population
    }

    /// Pathway index of every edge, checking node ids against the node populations.
    pub fn pathways(&self, chunk: EdgeIds<'_>) -> Result<Vec<u32>> {
        self.check_ids(chunk)?;
        let mut widened = Vec::new();
        match node_ids_of_one_width(chunk, &mut widened) {
            (Ids::U32(source), Ids::U32(target)) => Ok(self.pathways_of(source, target)),
            (Ids::U64(source), Ids::U64(target)) => Ok(self.pathways_of(source, target)),
            _ => unreachable!("node_ids_of_one_width gives one width"),
        }
    }

    /// Column lengths agree, and every node id is inside its node population.
    fn check_ids(&self, chunk: EdgeIds<'_>) -> Result<()> {
        if chunk.source.len() != chunk.edge_id.len() || chunk.target.len() != chunk.edge_id.len() {
            return Err(Error::input(
                format!("edge chunk of '{}'", self.edge_population),
                format!(
                    "columns differ in length: source_node_id {}, target_node_id {}, edge_id {}",
                    chunk.source.len(),
                    chunk.target.len(),
                    chunk.edge_id.len()
                ),
            ));
        }
        let check = |ids: Ids<'_>, types: &[u32], population: &str, column: &str| -> Result<()> {
            let nodes = types.len() as u64;
            let outside = match ids {
                Ids::U32(ids) => ids.iter().position(|&id| u64::from(id) >= nodes),
                Ids::U64(ids) => ids.iter().position(|&id| id >= nodes),
            };
            match outside {
                None => Ok(()),
                Some(i) => Err(Error::input(
                    format!("edge population '{}' column {column}", self.edge_population),
                    format!(
                        "edge {} refers to node {} but node population '{population}' has {} nodes",
                        chunk.edge_id.get(i),
                        ids.get(i),
                        types.len()
                    ),
                )),
            }
        };
        check(chunk.source, &self.source_types, &self.source_population, "source_node_id")?;
        check(chunk.target, &self.target_types, &self.target_population, "target_node_id")
    }

    /// Pathway indices of checked node ids.
    fn pathways_of<N: Id>(&self, source: &[N], target: &[N]) -> Vec<u32> {
        let n_targets = self.model.tgt_types.len() as u32;
        source
            .iter()
            .zip(target)
            .map(|(&s, &t)| {
                let (s, t): (u64, u64) = (s.into(), t.into());
                self.source_types[s as usize] * n_targets + self.target_types[t as usize]
            })
            .collect()
    }

    /// A counter of this population's distinct connections, for [`PopulationPlan::count_connections`].
    pub fn connection_counter(&self) -> ConnectionCounter {
        ConnectionCounter { per_pathway: vec![0; self.model.pathway_count()], ..Default::default() }
    }

    /// Add the connections of a chunk this plan ran (`pathways` from its result) to `counter`.
    pub fn count_connections(&self, chunk: EdgeIds<'_>, pathways: &[u32], counter: &mut ConnectionCounter) {
        let mut widened = Vec::new();
        match node_ids_of_one_width(chunk, &mut widened) {
            (Ids::U32(source), Ids::U32(target)) => self.count_connections_of(source, target, pathways, counter),
            (Ids::U64(source), Ids::U64(target)) => self.count_connections_of(source, target, pathways, counter),
            _ => unreachable!("node_ids_of_one_width gives one width"),
        }
    }

    fn count_connections_of<N: Id>(
        &self,
        source: &[N],
        target: &[N],
        pathways: &[u32],
        counter: &mut ConnectionCounter,
    ) {
        if counter.sorted_by_target {
            let mut previous = None;
            for ((&s, &t), &pathway) in source.iter().zip(target).zip(pathways) {
                let (s, t): (u64, u64) = (s.into(), t.into());
                if previous == Some((s, t)) {
                    continue;
                }
                previous = Some((s, t));
                match counter.block_target {
                    Some(open) if open == t => {}
                    Some(open) if open > t => counter.order_broken = true,
                    _ => {
                        let ConnectionCounter { block, per_pathway, .. } = counter;
                        ConnectionCounter::count_block(block, per_pathway);
                        counter.block_target = Some(t);
                    }
                }
                counter.block.push((s, pathway));
            }
            return;
        }
        let target_nodes = self.target_types.len() as u64;
        let narrow = (self.source_types.len() as u64).checked_mul(target_nodes).is_some();
        let mut previous = None;
        for ((&s, &t), &pathway) in source.iter().zip(target).zip(pathways) {
            let (s, t): (u64, u64) = (s.into(), t.into());
            if previous == Some((s, t)) {
                continue;
            }
            previous = Some((s, t));
            let new = if narrow { counter.seen.insert(s * target_nodes + t) } else { counter.seen_wide.insert((s, t)) };
            if new {
                counter.per_pathway[pathway as usize] += 1;
            }
        }
    }

    /// Draw every property for every edge of the chunk (a model that reads no edge attribute).
    pub fn run(&self, chunk: EdgeIds<'_>) -> Result<ChunkResult> {
        self.run_with_attributes(chunk, &[])
    }

    /// Draw every property for every edge of the chunk, with the planned attribute datasets'
    /// values (`columns`, in [`AttributeReads::datasets`] order, one value per edge).
    pub fn run_with_attributes(&self, chunk: EdgeIds<'_>, columns: &[&[f64]]) -> Result<ChunkResult> {
        self.check_ids(chunk)?;
        let attributes: Vec<Cow<'_, [f64]>> = if self.edge_attributes.is_empty() {
            if !columns.is_empty() {
                return Err(Error::input(
                    format!("edge chunk of '{}'", self.edge_population),
                    format!("{} attribute columns given, but the model reads no edge attribute", columns.len()),
                ));
            }
            Vec::new()
        } else {
            self.check_attributes_ready()?;
            let setup = self.attributes.as_ref().expect("checked by check_attributes_ready");
            setup.evaluate(&self.edge_population, chunk.source, chunk.edge_id, columns)?
        };
        let mut widened = Vec::new();
        match (node_ids_of_one_width(chunk, &mut widened), chunk.edge_id) {
            ((Ids::U32(source), Ids::U32(target)), Ids::U32(edge_id)) => {
                self.run_columns(Columns { source, target, edge_id }, &attributes)
            }
            ((Ids::U32(source), Ids::U32(target)), Ids::U64(edge_id)) => {
                self.run_columns(Columns { source, target, edge_id }, &attributes)
            }
            ((Ids::U64(source), Ids::U64(target)), Ids::U32(edge_id)) => {
                self.run_columns(Columns { source, target, edge_id }, &attributes)
            }
            ((Ids::U64(source), Ids::U64(target)), Ids::U64(edge_id)) => {
                self.run_columns(Columns { source, target, edge_id }, &attributes)
            }
            _ => unreachable!("node_ids_of_one_width gives one width"),
        }
    }

    /// [`PopulationPlan::run`] on checked columns of known widths, with the model's attributes.
    fn run_columns<N: Id, E: Id>(
        &self,
        chunk: Columns<'_, N, E>,
        attributes: &[Cow<'_, [f64]>],
    ) -> Result<ChunkResult> {
        let pathways = self.pathways_of(chunk.source, chunk.target);
        let mut properties: Vec<PropertyValues> = self
            .model
            .properties
            .iter()
            .map(|p| PropertyValues {
                name: p.name.clone(),
                column_type: p.column_type,
                values: Vec::new(),
                clipped: vec![0; self.model.pathway_count()],
                attribute: None,
            })
            .collect();
        let correlated: Vec<usize> = self.model.correlation.as_ref().map(|c| c.properties.clone()).unwrap_or_default();
        for (index, out) in properties.iter_mut().enumerate() {
            if !correlated.contains(&index) {
                self.draw_independent(index, chunk, &pathways, attributes, out)?;
            }
        }
        if !correlated.is_empty() {
            self.draw_correlated(chunk, &pathways, &mut properties)?;
        }
        let connection_starts = (0..chunk.len())
            .map(|i| i == 0 || chunk.source(i) != chunk.source(i - 1) || chunk.target(i) != chunk.target(i - 1))
            .collect();
        Ok(ChunkResult { pathways, connection_starts, properties })
    }

    /// The error for a synapse no `by_synapse` case of `property` selects and no `otherwise` takes,
    /// with the attribute values its cases read.
    fn uncovered_synapse(
        &self,
        property: &PropertyModel,
        pathway: u32,
        draw: &PathwayDraw<'_>,
        i: usize,
        edge_id: u64,
    ) -> Error {
        let (source, target) = self.model.pathway_names(pathway as usize);
        let mut values: Vec<String> = Vec::new();
        if let PathwayDraw::Cases(cases, _) = draw {
            for (values_of, term) in cases.iter().flat_map(|(terms, _)| terms) {
                let text = format!("{} = {}", term.attribute, Num(values_of[i]));
                if !values.contains(&text) {
                    values.push(text);
                }
            }
        }
        Error::input(
            format!("edge population '{}'", self.edge_population),
            format!(
                "edge {edge_id} ({source} → {target}, {}) matches no case of property '{}' and there is no otherwise: nothing covers it (for rules: no rule without a synapse condition)",
                values.join(", "),
                property.name
            ),
        )
    }

    fn value_error(&self, property: usize, pathway: u32, value: f64, edge_id: u64) -> Error {
        let spec = &self.model.properties[property].pathways[pathway as usize];
        let reason = if value.is_finite() {
            format!("does not fit dtype {}", spec.dtype.and_then(|d| d.int_type()).map(|t| t.name()).unwrap_or("int"))
        } else {
            "is not finite".to_string()
        };
        self.model.value_error(property, pathway as usize, value, edge_id, reason)
    }

    /// Per pathway of `property`, how its values are drawn (deterministic laws finalized once),
    /// with the attribute columns (the model's, in its order) the laws, factors and cases read.
    fn pathway_draws<'a>(
        &'a self,
        property: &'a PropertyModel,
        attributes: &'a [Cow<'a, [f64]>],
    ) -> Vec<PathwayDraw<'a>> {
        let column = |name: &str| -> &'a [f64] {
            let position = self.edge_attributes.iter().position(|a| a == name).expect("the model's attributes");
            &attributes[position]
        };
        property
            .pathways
            .iter()
            .map(|spec| {
                let located = |spec: &'a PathwaySpec| LocatedDraw {
                    spec,
                    law_values: spec.attribute_law.as_ref().map(|law| column(law.attribute())),
                    scale_values: spec.scale_by.as_ref().map(|scale| column(&scale.attribute)),
                };
                if let Some(by_synapse) = &spec.by_synapse {
                    PathwayDraw::Cases(
                        by_synapse
                            .cases
                            .iter()
                            .map(|(condition, case)| {
                                (
                                    condition.terms.iter().map(|term| (column(&term.attribute), term)).collect(),
                                    located(case),
                                )
                            })
                            .collect(),
                        by_synapse.otherwise.as_ref().map(located),
                    )
                } else if spec.depends_on_attributes() {
                    PathwayDraw::Located(located(spec))
                } else if let Some(table) = spec.empirical.as_ref().filter(|_| !spec.distribution.is_deterministic()) {
                    PathwayDraw::Row(spec, &table.values, self.table_keys[&table.name])
                } else if spec.distribution.is_deterministic() {
                    match spec.finalize(spec.distribution.quantile(0.5, 0.5)) {
                        Ok(stored) => PathwayDraw::Fixed(stored),
                        Err(value) => PathwayDraw::OutOfRange(value),
                    }
                } else if spec.shared_within {
                    PathwayDraw::PerConnection(spec)
                } else {
                    PathwayDraw::PerSynapse(spec)
                }
            })
            .collect()
    }

    /// Draw one property that is not in the correlated group. The values are collected by
    /// `extend` over the edge range (the vector's length stays in a register; no per-value
    /// capacity check), and the first out-of-range value ends the chunk with its error.
    fn draw_independent<'a, N: Id, E: Id>(
        &'a self,
        index: usize,
        chunk: Columns<'_, N, E>,
        pathways: &[u32],
        attributes: &'a [Cow<'a, [f64]>],
        out: &mut PropertyValues,
    ) -> Result<()> {
        let property = &self.model.properties[index];
        let key = self.property_keys[index];
        let draws = self.pathway_draws(property, attributes);
        out.attribute = attribute_values(&draws, pathways);
        // A property fixed in every pathway (a syn_type_id, say) is a table lookup per synapse.
        if let Some(fixed) = draws
            .iter()
            .map(|draw| match draw {
                PathwayDraw::Fixed(stored) => Some(*stored),
                _ => None,
            })
            .collect::<Option<Vec<Finalized>>>()
        {
            let values: Vec<f64> = fixed.iter().map(|stored| stored.value).collect();
            out.values.reserve_exact(chunk.len());
            out.values.extend(pathways.iter().map(|&pathway| values[pathway as usize]));
            for &pathway in pathways {
                out.clipped[pathway as usize] += fixed[pathway as usize].clipped as u64;
            }
            return Ok(());
        }
        let mut memo: Option<ConnectionMemo> = None;
        // (source, target, alternative, raw) of the last by_synapse alternative drawn per connection.
        let mut case_memo: Option<(u64, u64, usize, f64)> = None;
        let mut failure: Option<(u32, f64, u64)> = None;
        let mut attribute_failure: Option<(&str, f64, u64)> = None;
        let mut uncovered: Option<(u32, usize, u64)> = None;
        let mut section_zero: Option<(&str, u64)> = None;
        let clipped = &mut out.clipped;
        out.values.reserve_exact(chunk.len());
        out.values.extend((0..chunk.len()).map(|i| {
            let pathway = pathways[i];
            let draw = match &draws[pathway as usize] {
                PathwayDraw::Fixed(stored) => {
                    clipped[pathway as usize] += stored.clipped as u64;
                    return stored.value;
                }
                PathwayDraw::OutOfRange(value) => {
                    failure.get_or_insert((pathway, *value, chunk.edge_id(i)));
                    return f64::NAN;
                }
                PathwayDraw::PerSynapse(spec) => {
                    let edge_id = chunk.edge_id(i);
                    let raw = spec.distribution.sample(&mut synapse_stream(key, edge_id));
                    return finalize_into(spec, raw, pathway, edge_id, clipped, &mut failure);
                }
                PathwayDraw::Row(spec, values, table) => {
                    let (source, target, edge_id) = (chunk.source(i), chunk.target(i), chunk.edge_id(i));
                    let raw = if !spec.shared_within {
                        values[uniform_row(&mut synapse_stream(*table, edge_id), values.len())]
                    } else {
                        match &memo {
                            Some(m) if m.source == source && m.target == target => m.raw,
                            _ => {
                                let row = uniform_row(&mut connection_stream(*table, source, target), values.len());
                                memo = Some(ConnectionMemo { source, target, raw: values[row] });
                                values[row]
                            }
                        }
                    };
                    return finalize_into(spec, raw, pathway, edge_id, clipped, &mut failure);
                }
                PathwayDraw::Located(draw) => draw,
                PathwayDraw::Cases(cases, otherwise) => match choose_case(cases, otherwise.as_ref(), i) {
                    Ok(Some(draw)) if draw.spec.shared_within => {
                        // One draw per connection, shared by the connection's synapses this
                        // alternative takes: the value the alternative alone would give them.
                        let (source, target) = (chunk.source(i), chunk.target(i));
                        let alternative = std::ptr::from_ref(draw) as usize;
                        let raw = match case_memo {
                            Some((s, t, a, raw)) if s == source && t == target && a == alternative => raw,
                            _ => {
                                let raw = draw.spec.distribution.sample(&mut connection_stream(key, source, target));
                                case_memo = Some((source, target, alternative, raw));
                                raw
                            }
                        };
                        return finalize_into(draw.spec, raw, pathway, chunk.edge_id(i), clipped, &mut failure);
                    }
                    Ok(Some(draw)) => draw,
                    Ok(None) => {
                        uncovered.get_or_insert((pathway, i, chunk.edge_id(i)));
                        return f64::NAN;
                    }
                    Err(CaseFailure::NotFinite(attribute, x)) => {
                        attribute_failure.get_or_insert((attribute, x, chunk.edge_id(i)));
                        return f64::NAN;
                    }
                    Err(CaseFailure::SectionZero(attribute)) => {
                        section_zero.get_or_insert((attribute, chunk.edge_id(i)));
                        return f64::NAN;
                    }
                },
                PathwayDraw::PerConnection(spec) => {
                    let (source, target) = (chunk.source(i), chunk.target(i));
                    let raw = match &memo {
                        Some(m) if m.source == source && m.target == target => m.raw,
                        _ => {
                            let raw = spec.distribution.sample(&mut connection_stream(key, source, target));
                            memo = Some(ConnectionMemo { source, target, raw });
                            raw
                        }
                    };
                    return finalize_into(spec, raw, pathway, chunk.edge_id(i), clipped, &mut failure);
                }
            };
            // A value that depends on the synapse's attributes (its law's, its factor's).
            let edge_id = chunk.edge_id(i);
            match located_value(draw.spec, draw.law_values, draw.scale_values, i, key, edge_id) {
                Ok(raw) => finalize_into(draw.spec, raw, pathway, edge_id, clipped, &mut failure),
                Err(bad) => {
                    attribute_failure.get_or_insert((bad.0, bad.1, edge_id));
                    f64::NAN
                }
            }
        }));
        if let Some((attribute, value, edge_id)) = attribute_failure {
            return Err(Error::input(
                format!("edge population '{}' attribute {attribute}", self.edge_population),
                format!("edge {edge_id} has {} where property '{}' needs a finite value", Num(value), property.name),
            ));
        }
        if let Some((attribute, edge_id)) = section_zero {
            return Err(Error::input(
                format!("edge population '{}' attribute {attribute}", self.edge_population),
                format!(
                    "edge {edge_id} has section type 0: this file numbers section types from 0 (written before SONATA's 1 soma, 2 axon, 3 basal, 4 apical), so the names in property '{}''s conditions would select the wrong sections; give numbers in this file's numbering instead",
                    property.name
                ),
            ));
        }
        if let Some((pathway, i, edge_id)) = uncovered {
            return Err(self.uncovered_synapse(property, pathway, &draws[pathway as usize], i, edge_id));
        }
        match failure {
            Some((pathway, value, edge_id)) => Err(self.value_error(index, pathway, value, edge_id)),
            None => Ok(()),
        }
    }

    /// Gaussian copula (design §2.3): z = L·n from the group's stream, each marginal by its
    /// quantile at Φ(z_i).
    #[allow(clippy::needless_range_loop)]
    fn draw_correlated<N: Id, E: Id>(
        &self,
        chunk: Columns<'_, N, E>,
        pathways: &[u32],
        properties: &mut [PropertyValues],
    ) -> Result<()> {
        let correlation = self.model.correlation.as_ref().expect("called only with a correlation");
        let k = correlation.properties.len();
        let mut normals = vec![0.0; k];
        let mut z = vec![0.0; k];
        for &p in &correlation.properties {
            properties[p].values.reserve_exact(chunk.len());
        }
        for i in 0..chunk.len() {
            let pathway = pathways[i] as usize;
            let first_spec = &self.model.properties[correlation.properties[0]].pathways[pathway];
            let mut stream = if first_spec.shared_within {
                connection_stream(self.correlation_key, chunk.source(i), chunk.target(i))
            } else {
                synapse_stream(self.correlation_key, chunk.edge_id(i))
            };
            for n in normals.iter_mut() {
                *n = crate::distributions::standard_normal(&mut stream);
            }
            let factor = &correlation.factors[pathway];
            for (row, zi) in z.iter_mut().enumerate() {
                *zi = (0..=row).map(|col| factor[row * k + col] * normals[col]).sum();
            }
            for (slot, &p) in correlation.properties.iter().enumerate() {
                let spec = &self.model.properties[p].pathways[pathway];
                let raw = marginal(&spec.distribution, z[slot]);
                let stored =
                    spec.finalize(raw).map_err(|v| self.value_error(p, pathway as u32, v, chunk.edge_id(i)))?;
                properties[p].clipped[pathway] += stored.clipped as u64;
                properties[p].values.push(stored.value);
            }
        }
        Ok(())
    }
}

/// The chunk's source and target ids at one width: as they are when they agree, else both 64-bit
/// (the 32-bit column widened into `widened`; no loader sends mixed widths).
fn node_ids_of_one_width<'a>(chunk: EdgeIds<'a>, widened: &'a mut Vec<u64>) -> (Ids<'a>, Ids<'a>) {
    match (chunk.source, chunk.target) {
        (Ids::U32(narrow), wide @ Ids::U64(_)) => {
            widened.extend(narrow.iter().map(|&id| u64::from(id)));
            (Ids::U64(widened), wide)
        }
        (wide @ Ids::U64(_), Ids::U32(narrow)) => {
            widened.extend(narrow.iter().map(|&id| u64::from(id)));
            (wide, Ids::U64(widened))
        }
        same => same,
    }
}

/// Map a standard normal `z` to the marginal law: its quantile at Φ(z), with Φ(−z) for the upper
/// tail (so z = 9 is not rounded to probability 1).
fn marginal(distribution: &Distribution, z: f64) -> f64 {
    match distribution {
        Distribution::Normal { mean, std } => mean + std * z,
        other => other.quantile(normal_cdf(z), normal_sf(z)),
    }
}
