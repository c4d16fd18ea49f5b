//! How drawn values become the datasets of a SONATA edges file (design §4, §5): the storage type of
//! every property in every edge group, the groups' layout checked before anything is written,
//! values converted to their storage type (with range checks) and placed at their group rows, and
//! a content digest of every dataset, so that what lands in the file can be verified against what
//! the core drew before an output is published.
//!
//! The writer in JS only creates the datasets this module plans and copies the blocks it returns
//! into them: no decision about types, rows or ranges is taken outside the core.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{ColumnType, IntType, Model, PropertyModel};
use crate::engine::{ChunkResult, Ids};
use crate::error::{Error, Result};

/// The SONATA-extension storage type of a standard synapse property (design §4), if it is one.
pub fn sonata_type(property: &str) -> Option<ColumnType> {
    match property {
        "conductance"
        | "decay_time"
        | "depression_time"
        | "facilitation_time"
        | "u_syn"
        | "delay"
        | "conductance_scale_factor"
        | "u_hill_coefficient" => Some(ColumnType::Float32),
        "n_rrp_vesicles" | "syn_type_id" => Some(ColumnType::Int(IntType::U32)),
        _ => None,
    }
}

/// The storage type of a *new* dataset for `property`: the explicit storage dtype when every
/// pathway's spec names one (`"int"` is ConnPropsModel's rounding rule, not a width, and does not
/// count), else SONATA's type for the standard properties, else the property's column type.
pub fn new_dataset_type(property: &PropertyModel) -> ColumnType {
    let all_explicit =
        property.pathways.iter().all(|spec| matches!(spec.dtype, Some(d) if d != crate::config::Dtype::RoundToInt));
    if all_explicit {
        return property.column_type;
    }
    sonata_type(&property.name).unwrap_or(property.column_type)
}

/// Why `value` cannot be written into a dataset of type `storage` without changing, if it cannot:
/// it must be finite, whole and in range for integers, and within float32's range for float32.
#[cold]
fn unstorable_reason(value: f64, storage: ColumnType) -> String {
    match storable(value, storage) {
        Err(reason) => reason,
        Ok(()) => "cannot be stored".to_string(),
    }
}

/// Whether `value` fits `storage` exactly (the fast check of the write loop).
#[inline(always)]
fn fits(value: f64, storage: ColumnType) -> bool {
    match storage {
        ColumnType::Float64 => value.is_finite(),
        ColumnType::Float32 => value.is_finite() && value.abs() <= f32::MAX as f64,
        ColumnType::Int(t) => {
            let (lo, hi) = t.range();
            value >= lo && value <= hi && value == value.trunc()
        }
    }
}

/// Whether `value` (a stored value, finite) can be written into a dataset of type `storage`
/// without changing: integers must be whole and in range, float32 must not overflow.
fn storable(value: f64, storage: ColumnType) -> std::result::Result<(), String> {
    if !value.is_finite() {
        return Err("is not finite".to_string());
    }
    match storage {
        ColumnType::Float64 => Ok(()),
        ColumnType::Float32 => {
            if (value as f32).is_finite() {
                Ok(())
            } else {
                Err("is beyond the float32 range of its dataset (±3.4e38)".to_string())
            }
        }
        ColumnType::Int(t) => {
            if value.fract() != 0.0 {
                Err(format!("is not a whole number, but its dataset stores {} (give the spec a dtype)", t.name()))
            } else if !t.holds(value) {
                Err(format!("does not fit its dataset's type {}", t.name()))
            } else {
                Ok(())
            }
        }
    }
}

/// Width in bytes of one value of a storage type.
pub fn width(storage: ColumnType) -> usize {
    match storage {
        ColumnType::Float32 => 4,
        ColumnType::Float64 => 8,
        ColumnType::Int(t) => (t.bits() / 8) as usize,
    }
}

/// Domain of the row digests, so that they never collide with the streams' keys.
const DIGEST_DOMAIN: u64 = 0x6469_6765_7374_7632; // "digestv2"

/// MurmurHash3's 64-bit finalizer: a bijection that mixes every input bit into every output bit.
#[inline(always)]
fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The row half of a digest term (see [`mixed_term`]): the same for every dataset of a group, so
/// computed once per row.
#[inline(always)]
fn row_mix(row: u64) -> u64 {
    fmix64(row ^ DIGEST_DOMAIN)
}

/// The digest term of one stored value: its little-endian bits (zero-extended to 64) mixed with its
/// row's [`row_mix`]. Two finalizer rounds, no memory access: cheap enough to digest every value
/// written and every value read back (an xxh3 call per value cost a third of a Tsodyks–Markram draw).
#[inline(always)]
fn mixed_term(row_mix: u64, bits: u64) -> u64 {
    fmix64(bits ^ row_mix)
}

/// A dataset's content digest: the number of rows and the wrapping sum, over its rows, of a mix of
/// each stored value's bits with its row (see [`mixed_term`]). Order-independent, so chunks (and
/// workers) can add their rows in any order; any lost, misplaced or changed value changes it.
/// Computed by the core while it produces a dataset's values, and again from the file when it is
/// verified. Not a cryptographic hash: it guards against mistakes, the files' SHA-256 against
/// everything else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Digest {
    /// Rows added.
    pub rows: u64,
    /// Wrapping sum of the row terms.
    pub sum: u64,
}

impl Digest {
    /// Add the rows `start_row ..` whose stored bytes (type `storage`, little-endian) are `bytes`.
    pub fn add_bytes(&mut self, storage: ColumnType, start_row: u64, bytes: &[u8]) -> Result<()> {
        let w = width(storage);
        if !bytes.len().is_multiple_of(w) {
            return Err(Error::input(
                "dataset digest",
                format!("{} bytes are not a whole number of {} values", bytes.len(), storage.name()),
            ));
        }
        // Datasets of one group are read back block by block, each block of rows for every
        // dataset in turn: their row halves are mixed once and reused.
        thread_local! {
            static LAST_ROWS: std::cell::RefCell<(u64, Vec<u64>)> = const { std::cell::RefCell::new((0, Vec::new())) };
        }
        let rows = bytes.len() / w;
        LAST_ROWS.with_borrow_mut(|(first, mixes)| {
            if *first != start_row || mixes.len() != rows {
                *first = start_row;
                mixes.clear();
                mixes.extend((0..rows as u64).map(|i| row_mix(start_row + i)));
            }
            macro_rules! add_as {
                ($native:ty) => {{
                    self.sum = bytes.chunks_exact(std::mem::size_of::<$native>()).zip(mixes.iter()).fold(
                        self.sum,
                        |sum, (value, &mix)| {
                            let bits = <$native>::from_le_bytes(value.try_into().expect("exact chunk"));
                            sum.wrapping_add(mixed_term(mix, bits as u64))
                        },
                    );
                }};
            }
            match w {
                1 => add_as!(u8),
                2 => add_as!(u16),
                4 => add_as!(u32),
                _ => add_as!(u64),
            }
        });
        self.rows += (bytes.len() / w) as u64;
        Ok(())
    }

    /// Combine with another part of the same dataset (other rows).
    pub fn merge(&mut self, other: Digest) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    /// The digest as 16 hex digits (the sum), as recorded in provenance.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.sum)
    }
}

/// Which row of which edge group each edge of a population occupies (SONATA's `edge_group_id` /
/// `edge_group_index`), checked to be one-to-one before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupLayout {
    /// No `edge_group_id` / `edge_group_index`: one group `0`, the row is the edge id.
    Identity {
        /// Edges (= rows) in the population.
        rows: u64,
    },
    /// Per group id (ascending), its number of rows; every group's rows are exactly the
    /// `edge_group_index` values of its edges, each once.
    Explicit {
        /// `(group id, rows)`.
        groups: Vec<(u64, u64)>,
        /// Whether every group's rows come in increasing order along the edges (each edge's row
        /// follows the previous row of its group): then each dataset fills front to back.
        #[serde(default)]
        in_order: bool,
    },
}

impl GroupLayout {
    /// Whether each dataset's rows are written front to back as the edges go (one group, rows in
    /// edge order): the writer can then fill storage chunk by chunk, whatever the edge chunking.
    pub fn fills_in_order(&self) -> bool {
        match self {
            GroupLayout::Identity { .. } => true,
            GroupLayout::Explicit { groups, in_order } => *in_order && groups.len() == 1,
        }
    }

    /// The groups and their rows.
    pub fn groups(&self) -> Vec<(u64, u64)> {
        match self {
            GroupLayout::Identity { rows } => vec![(0, *rows)],
            GroupLayout::Explicit { groups, .. } => groups.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct GroupState {
    edges: u64,
    /// Highest `edge_group_index` + 1 seen.
    span: u64,
    /// One bit per row seen.
    taken: Vec<u64>,
    /// The last row seen, and whether every row so far followed the one before it.
    last_row: Option<u64>,
    in_order: bool,
}

/// Builds a [`GroupLayout`] from an edge population's group columns, read chunk by chunk in edge
/// order. Memory is one bit per edge at most: the rows all groups span may not exceed the edges.
#[derive(Debug, Clone)]
pub struct GroupScan {
    population: String,
    size: u64,
    scanned: u64,
    total_span: u64,
    groups: BTreeMap<u64, GroupState>,
}

impl GroupScan {
    /// A scan of edge population `population` of `size` edges.
    pub fn new(population: &str, size: u64) -> Self {
        GroupScan { population: population.to_string(), size, scanned: 0, total_span: 0, groups: BTreeMap::new() }
    }

    fn error(&self, message: String) -> Error {
        Error::input(format!("edge population '{}'", self.population), message)
    }

    /// Add the group columns of the next edges (`first_edge` is the first one's edge id; chunks
    /// come in order).
    pub fn add(&mut self, first_edge: u64, group_ids: Ids<'_>, group_index: Ids<'_>) -> Result<()> {
        if group_ids.len() != group_index.len() {
            return Err(self.error(format!(
                "edge_group_id has {} values but edge_group_index {} in one chunk",
                group_ids.len(),
                group_index.len()
            )));
        }
        if first_edge != self.scanned {
            return Err(self.error(format!(
                "group columns must be scanned in edge order: expected edge {}, got {first_edge}",
                self.scanned
            )));
        }
        // Fast path (every BBP file): one group, rows in edge order. Rows that simply continue
        // their group need no bit set: they are new by construction; the bits are filled in only
        // if the order ever breaks.
        let mut i = 0;
        if let Some(first_group) = (!group_ids.is_empty()).then(|| group_ids.get(0)) {
            let state =
                self.groups.entry(first_group).or_insert_with(|| GroupState { in_order: true, ..Default::default() });
            if state.in_order && state.taken.is_empty() {
                let mut next = state.last_row.map_or(0, |r| r + 1);
                while i < group_ids.len()
                    && group_ids.get(i) == first_group
                    && group_index.get(i) == next
                    && next < self.size
                {
                    next += 1;
                    i += 1;
                }
                if i > 0 {
                    state.edges += i as u64;
                    state.last_row = Some(next - 1);
                    if next > state.span {
                        self.total_span += next - state.span;
                        state.span = next;
                    }
                }
            }
        }
        if i < group_ids.len() {
            // The order breaks here: give every in-order group its bit set so far.
            for state in self.groups.values_mut() {
                if state.taken.is_empty() && state.span > 0 {
                    let words = state.span.div_ceil(64) as usize;
                    state.taken = vec![u64::MAX; words];
                    let tail = state.span % 64;
                    if tail != 0 {
                        state.taken[words - 1] = (1u64 << tail) - 1;
                    }
                }
            }
        }
        for i in i..group_ids.len() {
            let (group, row) = (group_ids.get(i), group_index.get(i));
            let edge = first_edge + i as u64;
            if row >= self.size {
                return Err(self.error(format!(
                    "edge {edge}: edge_group_index {row} is beyond the population's {} edges (group {group})",
                    self.size
                )));
            }
            let state = self.groups.entry(group).or_insert_with(|| GroupState { in_order: true, ..Default::default() });
            state.in_order &=
                state.last_row.is_none_or(|last| row == last + 1) && (state.last_row.is_some() || row == 0);
            state.last_row = Some(row);
            if row >= state.span {
                self.total_span += row + 1 - state.span;
                state.span = row + 1;
                if self.total_span > self.size {
                    return Err(self.error(format!(
                        "edge {edge}: edge_group_index {row} of group {group} leaves rows no edge can fill \
                         (the groups would span more rows than the population's {} edges)",
                        self.size
                    )));
                }
                let words = state.span.div_ceil(64) as usize;
                if state.taken.len() < words {
                    state.taken.resize(words, 0);
                }
            }
            let (word, bit) = ((row / 64) as usize, row % 64);
            if state.taken[word] & (1 << bit) != 0 {
                return Err(self.error(format!(
                    "edge {edge}: row {row} of group {group} is taken by another edge (duplicate edge_group_index)"
                )));
            }
            state.taken[word] |= 1 << bit;
            state.edges += 1;
        }
        self.scanned += group_ids.len() as u64;
        Ok(())
    }

    /// The layout, once every edge was scanned.
    pub fn finish(self) -> Result<GroupLayout> {
        if self.scanned != self.size {
            return Err(self.error(format!("group columns cover {} of {} edges", self.scanned, self.size)));
        }
        for (group, state) in &self.groups {
            if state.edges != state.span {
                return Err(self.error(format!(
                    "group {group}: its {} edges use edge_group_index values up to {}, leaving rows without an edge",
                    state.edges,
                    state.span - 1
                )));
            }
        }
        Ok(GroupLayout::Explicit {
            groups: self.groups.iter().map(|(&g, s)| (g, s.edges)).collect(),
            in_order: self.groups.values().all(|s| s.in_order),
        })
    }
}

/// A dataset an edges file already has in an edge group, as the writer found it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ExistingDataset {
    /// The edge group (its name is the id in decimal).
    pub group: u64,
    /// The dataset's name (a property).
    pub property: String,
    /// Its storage type (numpy name), or `None` when it is not a numeric type synparam writes.
    pub storage: Option<String>,
    /// Its length.
    pub rows: u64,
}

/// One dataset the run writes: a property in an edge group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetPlan {
    /// Index of the property in the model.
    #[serde(skip)]
    pub property_index: usize,
    /// The property (dataset name).
    pub property: String,
    /// The edge group id.
    pub group: u64,
    /// Storage type (numpy name: `float32`, `uint32`, …).
    pub storage: &'static str,
    /// Rows (the group's size).
    pub rows: u64,
    /// Whether the dataset exists (and is overwritten) or is created.
    pub exists: bool,
}

/// Everything the writer needs for one edge population: the datasets to create or overwrite (in
/// model property order, then group order), the groups to create, the layout used to place
/// values, and whether they fill each dataset front to back (`fills_in_order`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputPlan {
    /// Datasets the run writes.
    pub datasets: Vec<DatasetPlan>,
    /// Edge groups that must be created first (only group 0 of a file without groups).
    pub create_groups: Vec<u64>,
    /// Whether values fill each dataset front to back as the edges go (see
    /// [`GroupLayout::fills_in_order`]): the writer may then create datasets chunked and write them
    /// whole chunk by whole chunk; otherwise contiguous.
    pub fills_in_order: bool,
    /// The group layout the plan places values by (pass it to other runs' `plan_output`).
    pub layout: GroupLayout,
    /// Rows of each group of the layout, in layout order.
    #[serde(skip)]
    group_rows: Vec<(u64, u64)>,
    /// Per dataset, its storage type and its group's slot in `group_rows`.
    #[serde(skip)]
    storage: Vec<ColumnType>,
    #[serde(skip)]
    slots: Vec<usize>,
    #[serde(skip)]
    digests: Vec<Digest>,
}

/// Decide what to write into an edge population: a storage type per property and group (an
/// existing dataset keeps its type; a new one gets [`new_dataset_type`]), refusing to replace
/// existing datasets without `overwrite`, datasets whose length is not their group's, and groups
/// the file does not have. `existing_groups` are the group ids present in the file.
pub fn plan_output(
    model: &Model,
    population: &str,
    layout: GroupLayout,
    existing: &[ExistingDataset],
    existing_groups: &[u64],
    overwrite: bool,
) -> Result<OutputPlan> {
    let context = format!("edge population '{population}'");
    let groups = layout.groups();
    let mut create_groups = Vec::new();
    for &(group, _) in &groups {
        if !existing_groups.contains(&group) {
            match layout {
                GroupLayout::Identity { .. } => create_groups.push(group),
                GroupLayout::Explicit { .. } => {
                    return Err(Error::input(
                        &context,
                        format!("edge_group_id refers to group {group}, which the file does not have"),
                    ))
                }
            }
        }
    }
    let lookup = |property: &str, group: u64| existing.iter().find(|d| d.property == property && d.group == group);
    let present: Vec<&str> = model
        .properties
        .iter()
        .filter(|p| groups.iter().any(|&(g, _)| lookup(&p.name, g).is_some()))
        .map(|p| p.name.as_str())
        .collect();
    if !present.is_empty() && !overwrite {
        return Err(Error::input(
            &context,
            format!(
                "properties already exist: {} (set overwrite_if_exists to replace them); nothing was written",
                present.join(", ")
            ),
        ));
    }
    let mut datasets = Vec::new();
    let mut storage = Vec::new();
    let mut slots = Vec::new();
    for (property_index, property) in model.properties.iter().enumerate() {
        for (slot, &(group, rows)) in groups.iter().enumerate() {
            let dataset = format!("/edges/{population}/{group}/{}", property.name);
            let (kind, exists) = match lookup(&property.name, group) {
                Some(found) => {
                    let kind = found.storage.as_deref().and_then(ColumnType::from_name).ok_or_else(|| {
                        Error::input(
                            format!("{context} dataset {dataset}"),
                            format!(
                                "existing dataset has a type synparam cannot write ({})",
                                found.storage.as_deref().unwrap_or("not numeric")
                            ),
                        )
                    })?;
                    if found.rows != rows {
                        return Err(Error::input(
                            format!("{context} dataset {dataset}"),
                            format!("existing dataset has {} rows, group {group} has {rows}", found.rows),
                        ));
                    }
                    (kind, true)
                }
                None => (new_dataset_type(property), false),
            };
            datasets.push(DatasetPlan {
                property_index,
                property: property.name.clone(),
                group,
                storage: kind.name(),
                rows,
                exists,
            });
            storage.push(kind);
            slots.push(slot);
        }
    }
    let digests = vec![Digest::default(); datasets.len()];
    let fills_in_order = layout.fills_in_order();
    Ok(OutputPlan { datasets, create_groups, fills_in_order, layout, group_rows: groups, storage, slots, digests })
}

/// One block of a [`StorageChunk`]: the values of one planned dataset, in row order, with the row
/// runs they fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageBlock {
    /// Index into [`OutputPlan::datasets`].
    pub dataset: usize,
    /// Byte offset of the block in [`StorageChunk::bytes`] (a multiple of 8).
    pub offset: usize,
    /// Number of values.
    pub length: usize,
    /// `[first row, rows]` of each run of consecutive rows, in block order.
    pub runs: Vec<[u64; 2]>,
}

/// A chunk's values ready for storage: one block per planned dataset the chunk has rows in.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StorageChunk {
    /// The blocks.
    pub blocks: Vec<StorageBlock>,
    /// Every block's bytes, held in 8-byte words so that each block (at a multiple of 8) can be
    /// viewed as a typed array of its storage type without a copy.
    #[serde(skip)]
    words: Vec<u64>,
    #[serde(skip)]
    length: usize,
}

impl StorageChunk {
    /// The blocks' bytes (little-endian), 8-byte aligned.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: any initialized u64 memory is valid as bytes, and u8 needs no alignment.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.length) }
    }

    /// `length` bytes to fill (the words reused).
    fn reset(&mut self, length: usize) -> &mut [u8] {
        // Grown, never cleared: every byte a block covers is written before it is read.
        if self.words.len() < length.div_ceil(8) {
            self.words.resize(length.div_ceil(8), 0);
        }
        self.length = length;
        // SAFETY: as in `bytes`; the words are exclusively borrowed for the returned lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, length) }
    }
}

/// The group columns of one chunk, if the population has them.
#[derive(Clone, Copy)]
pub struct ChunkGroups<'a> {
    /// `edge_group_id` of each edge of the chunk.
    pub ids: Ids<'a>,
    /// `edge_group_index` of each edge of the chunk.
    pub index: Ids<'a>,
}

impl OutputPlan {
    /// The planned datasets' digests so far (in [`OutputPlan::datasets`] order).
    pub fn digests(&self) -> &[Digest] {
        &self.digests
    }

    /// The group layout the plan places values by.
    pub fn layout(&self) -> &GroupLayout {
        &self.layout
    }

    /// Add the digests of the same plan's other rows (another run over other edges). Returns false
    /// (and changes nothing) when they are not of this plan's shape.
    pub fn merge_digests(&mut self, digests: &[Digest]) -> bool {
        if digests.len() != self.digests.len() {
            return false;
        }
        for (mine, theirs) in self.digests.iter_mut().zip(digests) {
            mine.merge(*theirs);
        }
        true
    }

    /// Place one chunk's drawn values (`result`, in the chunk's edge order) into storage blocks,
    /// over `chunk` (its buffer's capacity reused). `edge_ids` are the chunk's global edge ids;
    /// `groups` its group columns (required for an explicit layout). Every value is checked
    /// against its dataset's storage type: `unstorable(property index, chunk position, value,
    /// reason)` builds the error for the first that does not fit. Digests advance only when the
    /// whole chunk succeeded.
    pub fn store_chunk(
        &mut self,
        population: &str,
        result: &ChunkResult,
        edge_ids: Ids<'_>,
        groups: Option<ChunkGroups<'_>>,
        chunk: &mut StorageChunk,
        unstorable: impl Fn(usize, usize, f64, String) -> Error,
    ) -> Result<()> {
        // Every BBP file: the chunk's edges fill consecutive rows of one group, in order — stored
        // straight from the drawn columns. Anything else is placed cell by cell.
        let placed = match self.consecutive_rows(edge_ids, groups) {
            Some((slot, first_row)) => Placement::Consecutive { slot, first_row, rows: edge_ids.len() },
            None => Placement::Cells(self.place(population, edge_ids, groups)?),
        };
        // The row half of every digest term, once per slot for all its datasets.
        let mut row_mixes: Vec<Option<Vec<u64>>> = vec![None; self.group_rows.len()];
        let mut gathered = Vec::new();
        let mut blocks = Vec::with_capacity(self.datasets.len());
        let total: usize =
            (0..self.datasets.len()).map(|d| placed.rows_in(self.slots[d]) * width(self.storage[d]) + 8).sum();
        let bytes_out = chunk.reset(total);
        let mut end = 0usize;
        let mut digests = self.digests.clone();
        for (d, dataset) in self.datasets.iter().enumerate() {
            let slot = self.slots[d];
            let rows = placed.rows_in(slot);
            if rows == 0 {
                continue;
            }
            let offset = end.next_multiple_of(8);
            let storage = self.storage[d];
            let bytes = rows * width(storage);
            let drawn = &result.properties[dataset.property_index].values;
            let mixes = row_mixes[slot].get_or_insert_with(|| placed.row_mixes(slot));
            let out = &mut bytes_out[offset..offset + bytes];
            let (values, runs): (&[f64], Vec<[u64; 2]>) = match &placed {
                Placement::Consecutive { first_row, .. } => (&drawn[..rows], vec![[*first_row, rows as u64]]),
                Placement::Cells(cells) => {
                    gathered.clear();
                    gathered.extend(cells[slot].iter().map(|&(_, position)| drawn[position as usize]));
                    (&gathered, runs_of(&cells[slot]))
                }
            };
            let sum = store_values(values, mixes, storage, out).map_err(|(index, value, reason)| {
                unstorable(dataset.property_index, placed.position(slot, index), value, reason)
            })?;
            digests[d].sum = digests[d].sum.wrapping_add(sum);
            digests[d].rows += rows as u64;
            blocks.push(StorageBlock { dataset: d, offset, length: rows, runs });
            end = offset + bytes;
        }
        chunk.length = end;
        chunk.blocks = blocks;
        self.digests = digests;
        Ok(())
    }

    /// `(slot, first row)` when the chunk's edges fill consecutive rows of one group in chunk
    /// order, inside that group (no other check is then needed); `None` to place them one by one.
    fn consecutive_rows(&self, edge_ids: Ids<'_>, groups: Option<ChunkGroups<'_>>) -> Option<(usize, u64)> {
        let n = edge_ids.len();
        if n == 0 {
            return None;
        }
        let consecutive = |ids: Ids<'_>| {
            let first = ids.get(0);
            (1..n).all(|i| ids.get(i) == first.wrapping_add(i as u64)).then_some(first)
        };
        let (slot, first_row) = match (&self.layout, groups) {
            (GroupLayout::Identity { .. }, _) => (0, consecutive(edge_ids)?),
            (GroupLayout::Explicit { groups: sizes, .. }, Some(columns)) => {
                if columns.ids.len() != n || columns.index.len() != n {
                    return None;
                }
                let group = columns.ids.get(0);
                if !(1..n).all(|i| columns.ids.get(i) == group) {
                    return None;
                }
                (sizes.binary_search_by_key(&group, |&(g, _)| g).ok()?, consecutive(columns.index)?)
            }
            (GroupLayout::Explicit { .. }, None) => return None,
        };
        let rows = self.group_rows.get(slot)?.1;
        (first_row.checked_add(n as u64)? <= rows).then_some((slot, first_row))
    }

    /// Per group slot of the layout, `(row, chunk position)` of the chunk's edges in row order.
    fn place(
        &self,
        population: &str,
        edge_ids: Ids<'_>,
        groups: Option<ChunkGroups<'_>>,
    ) -> Result<Vec<Vec<(u64, u32)>>> {
        let context = || format!("edge chunk of '{population}'");
        let n = edge_ids.len();
        let mut placed: Vec<Vec<(u64, u32)>> = vec![Vec::new(); self.group_rows.len()];
        match (&self.layout, groups) {
            (GroupLayout::Identity { rows }, _) => {
                let cells = &mut placed[0];
                cells.reserve_exact(n);
                for i in 0..n {
                    let row = edge_ids.get(i);
                    if row >= *rows {
                        return Err(Error::input(context(), format!("edge id {row} beyond the population's {rows}")));
                    }
                    cells.push((row, i as u32));
                }
            }
            (GroupLayout::Explicit { groups: sizes, .. }, Some(columns)) => {
                if columns.ids.len() != n || columns.index.len() != n {
                    return Err(Error::input(context(), "group columns differ in length from the chunk"));
                }
                for i in 0..n {
                    let (group, row) = (columns.ids.get(i), columns.index.get(i));
                    let slot = sizes.binary_search_by_key(&group, |&(g, _)| g).map_err(|_| {
                        Error::input(
                            context(),
                            format!("edge {}: group {group} is not in the scanned layout", edge_ids.get(i)),
                        )
                    })?;
                    if row >= sizes[slot].1 {
                        return Err(Error::input(
                            context(),
                            format!(
                                "edge {}: edge_group_index {row} beyond group {group}'s {} rows",
                                edge_ids.get(i),
                                sizes[slot].1
                            ),
                        ));
                    }
                    placed[slot].push((row, i as u32));
                }
            }
            (GroupLayout::Explicit { .. }, None) => {
                return Err(Error::input(context(), "the chunk lacks edge_group_id / edge_group_index"))
            }
        }
        for cells in placed.iter_mut() {
            if !cells.windows(2).all(|w| w[0].0 < w[1].0) {
                cells.sort_unstable();
                if let Some(w) = cells.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(Error::input(
                        context(),
                        format!(
                            "edges {} and {} share a group row",
                            edge_ids.get(w[0].1 as usize),
                            edge_ids.get(w[1].1 as usize)
                        ),
                    ));
                }
            }
        }
        Ok(placed)
    }
}

/// Convert `values` (in row order; `mixes` their rows' digest halves) to `storage` bytes in `out`,
/// returning the sum of their digest terms, or the first value that does not fit (its index in
/// `values`, the value, why).
fn store_values(
    values: &[f64],
    mixes: &[u64],
    storage: ColumnType,
    out: &mut [u8],
) -> std::result::Result<u64, (usize, f64, String)> {
    // Three simple passes (check, convert, digest) that the compiler vectorizes, rather than one
    // branchy loop: storing costs a fraction of drawing.
    if !values.iter().all(|&value| fits(value, storage)) {
        let index = values.iter().position(|&value| !fits(value, storage)).expect("a value does not fit");
        return Err((index, values[index], unstorable_reason(values[index], storage)));
    }
    macro_rules! store_as {
        ($native:ty, $bits:ty) => {{
            const W: usize = std::mem::size_of::<$native>();
            for (slot, &value) in out.chunks_exact_mut(W).zip(values) {
                slot.copy_from_slice(&(value as $native).to_le_bytes());
            }
            Ok(out.chunks_exact(W).zip(mixes).fold(0u64, |sum, (bytes, &mix)| {
                let bits = <$bits>::from_le_bytes(bytes.try_into().expect("exact chunk")) as u64;
                sum.wrapping_add(mixed_term(mix, bits))
            }))
        }};
    }
    match storage {
        ColumnType::Float32 => store_as!(f32, u32),
        ColumnType::Float64 => store_as!(f64, u64),
        ColumnType::Int(IntType::I8) => store_as!(i8, u8),
        ColumnType::Int(IntType::U8) => store_as!(u8, u8),
        ColumnType::Int(IntType::I16) => store_as!(i16, u16),
        ColumnType::Int(IntType::U16) => store_as!(u16, u16),
        ColumnType::Int(IntType::I32) => store_as!(i32, u32),
        ColumnType::Int(IntType::U32) => store_as!(u32, u32),
        ColumnType::Int(IntType::I64) => store_as!(i64, u64),
        ColumnType::Int(IntType::U64) => store_as!(u64, u64),
    }
}

/// `[first row, rows]` of each run of consecutive rows of `cells` (row order).
fn runs_of(cells: &[(u64, u32)]) -> Vec<[u64; 2]> {
    let mut runs: Vec<[u64; 2]> = Vec::new();
    for &(row, _) in cells {
        match runs.last_mut() {
            Some(run) if run[0] + run[1] == row => run[1] += 1,
            _ => runs.push([row, 1]),
        }
    }
    runs
}

/// Where a chunk's edges go: consecutive rows of one group slot, in chunk order, or per slot the
/// `(row, chunk position)` of its edges in row order.
enum Placement {
    Consecutive { slot: usize, first_row: u64, rows: usize },
    Cells(Vec<Vec<(u64, u32)>>),
}

impl Placement {
    /// The chunk's edges stored in `slot`.
    fn rows_in(&self, slot: usize) -> usize {
        match self {
            Placement::Consecutive { slot: s, rows, .. } => {
                if *s == slot {
                    *rows
                } else {
                    0
                }
            }
            Placement::Cells(cells) => cells[slot].len(),
        }
    }

    /// The chunk position of the `index`-th value stored in `slot`.
    fn position(&self, slot: usize, index: usize) -> usize {
        match self {
            Placement::Consecutive { .. } => index,
            Placement::Cells(cells) => cells[slot][index].1 as usize,
        }
    }

    /// The row halves of the digest terms of the rows stored in `slot`, in storage order.
    fn row_mixes(&self, slot: usize) -> Vec<u64> {
        match self {
            Placement::Consecutive { first_row, rows, .. } => {
                (0..*rows as u64).map(|i| row_mix(first_row + i)).collect()
            }
            Placement::Cells(cells) => cells[slot].iter().map(|&(row, _)| row_mix(row)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(size: u64, ids: &[u64], index: &[u64]) -> Result<GroupLayout> {
        let mut scan = GroupScan::new("pop", size);
        scan.add(0, Ids::U64(ids), Ids::U64(index))?;
        scan.finish()
    }

    #[test]
    fn a_one_to_one_layout_is_accepted() {
        let layout = scan(5, &[0, 1, 0, 1, 0], &[0, 0, 2, 1, 1]).unwrap();
        assert_eq!(layout, GroupLayout::Explicit { groups: vec![(0, 3), (1, 2)], in_order: false });
        let identity = scan(3, &[5, 5, 5], &[0, 1, 2]).unwrap();
        assert_eq!(identity, GroupLayout::Explicit { groups: vec![(5, 3)], in_order: true });
        assert!(identity.fills_in_order());
    }

    #[test]
    fn an_index_beyond_the_population_is_refused_before_any_memory_is_taken() {
        let error = scan(3, &[0, 0, 0], &[0, 100_000_000, 1]).unwrap_err().to_string();
        assert!(error.contains("edge 1: edge_group_index 100000000 is beyond the population's 3 edges"), "{error}");
    }

    #[test]
    fn duplicate_rows_and_gaps_are_refused() {
        let error = scan(3, &[0, 0, 0], &[0, 1, 1]).unwrap_err().to_string();
        assert!(error.contains("row 1 of group 0 is taken by another edge"), "{error}");
        let error = scan(3, &[0, 0, 1], &[0, 2, 0]).unwrap_err().to_string();
        assert!(error.contains("leaves rows no edge can fill") || error.contains("leaving rows"), "{error}");
    }

    #[test]
    fn the_digest_does_not_depend_on_the_order_rows_are_added() {
        let bytes: Vec<u8> = [1.5f32, 2.5, -3.0, 7.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut whole = Digest::default();
        whole.add_bytes(ColumnType::Float32, 10, &bytes).unwrap();
        let (mut a, mut b) = (Digest::default(), Digest::default());
        b.add_bytes(ColumnType::Float32, 12, &bytes[8..]).unwrap();
        a.add_bytes(ColumnType::Float32, 10, &bytes[..8]).unwrap();
        a.merge(b);
        assert_eq!(a, whole);
        let mut moved = Digest::default();
        moved.add_bytes(ColumnType::Float32, 11, &bytes).unwrap();
        assert_ne!(moved, whole, "the same values one row further are different content");
    }

    #[test]
    fn storable_values_fit_their_dataset() {
        assert!(storable(1e39, ColumnType::Float32).is_err());
        assert!(storable(3.4e38, ColumnType::Float32).is_ok());
        assert!(storable(f64::NAN, ColumnType::Float64).is_err());
        assert!(storable(1.5, ColumnType::Int(IntType::U32)).is_err());
        assert!(storable(-1.0, ColumnType::Int(IntType::U32)).is_err());
        assert!(storable(255.0, ColumnType::Int(IntType::U8)).is_ok());
    }
}
