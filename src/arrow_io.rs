//! Arrow IPC (stream format) in and out: edge chunks and node pathway columns in, drawn property
//! columns out. The JS side speaks the same format through apache-arrow.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, RecordBatch,
    UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_ipc::reader::{StreamDecoder, StreamReader};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};

use crate::config::{ColumnType, IntType};
use crate::engine::{ChunkResult, EdgeChunk, EdgeIds, Ids, PathwayColumn};
use crate::error::{Error, Result};
use crate::storage::ChunkGroups;

/// Column names of an edge chunk table.
pub const SOURCE_COLUMN: &str = "source_node_id";
/// See [`SOURCE_COLUMN`].
pub const TARGET_COLUMN: &str = "target_node_id";
/// See [`SOURCE_COLUMN`].
pub const EDGE_ID_COLUMN: &str = "edge_id";

/// How a column's buffers are laid out in a record batch (after its validity bitmap).
#[derive(Clone, Copy, Debug)]
enum BufferLayout {
    /// One buffer of fixed-width values.
    Fixed(usize),
    /// Offsets of this width, then the data.
    Offsets(usize),
    /// 16-byte views, then variadic data buffers.
    Views,
}

/// A schema field's layout in record batches, and for a dictionary its id and values' layout.
type FieldLayout = (BufferLayout, Option<(i64, BufferLayout)>);

/// The buffer layout of a column type the readers accept (integers, floats, strings), or why not.
fn buffer_layout(kind: arrow_ipc::Type, field: &arrow_ipc::Field<'_>) -> std::result::Result<BufferLayout, String> {
    use arrow_ipc::Type;
    Ok(match kind {
        Type::Int => match field.type_as_int().map(|t| t.bitWidth()) {
            Some(bits @ (8 | 16 | 32 | 64)) => BufferLayout::Fixed(bits as usize / 8),
            other => return Err(format!("integer of unsupported width {other:?}")),
        },
        Type::FloatingPoint => match field.type_as_floating_point().map(|t| t.precision()) {
            Some(arrow_ipc::Precision::SINGLE) => BufferLayout::Fixed(4),
            Some(arrow_ipc::Precision::DOUBLE) => BufferLayout::Fixed(8),
            _ => return Err("half-precision floats are not supported".into()),
        },
        Type::Utf8 | Type::Binary => BufferLayout::Offsets(4),
        Type::LargeUtf8 | Type::LargeBinary => BufferLayout::Offsets(8),
        Type::Utf8View | Type::BinaryView => BufferLayout::Views,
        other => return Err(format!("column type {other:?} is not supported")),
    })
}

/// Check an IPC stream before arrow-rs decodes it: every message's metadata is a valid
/// flatbuffer, its body lies inside the bytes, the columns are of the flat types the readers
/// accept, and every buffer of a record or dictionary batch lies inside its body, 8-byte aligned,
/// with a length that is a whole number of its values. arrow-rs slices and casts buffers without
/// these checks and panics on hostile input, which in wasm would trap the module instead of giving
/// an error.
fn check_ipc_framing(bytes: &[u8], context: &str) -> Result<()> {
    let broken = |what: String| Error::input(context, format!("not an Arrow IPC stream: {what}"));
    let word = |at: usize| -> Result<i32> {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| broken(format!("truncated at byte {at}")))
    };
    // Per schema field: the record batch layout (the index's for a dictionary field) and, for a
    // dictionary, its id and the values' layout.
    let mut fields: Option<Vec<FieldLayout>> = None;
    let mut at = 0usize;
    while at < bytes.len() {
        let mut length = word(at)?;
        at += 4;
        if length == -1 {
            length = word(at)?;
            at += 4;
        }
        if length == 0 {
            break;
        }
        let length = usize::try_from(length).map_err(|_| broken(format!("negative message length at byte {at}")))?;
        let metadata = at
            .checked_add(length)
            .and_then(|end| bytes.get(at..end))
            .ok_or_else(|| broken(format!("message of {length} bytes at byte {at} runs past the end")))?;
        let message =
            arrow_ipc::root_as_message(metadata).map_err(|e| broken(format!("invalid message at byte {at}: {e}")))?;
        at += length;
        let body = usize::try_from(message.bodyLength())
            .ok()
            .filter(|&body| at.checked_add(body).is_some_and(|end| end <= bytes.len()))
            .ok_or_else(|| broken(format!("message body of {} bytes runs past the end", message.bodyLength())))?;
        if let Some(schema) = message.header_as_schema() {
            let mut layouts = Vec::new();
            for field in schema.fields().iter().flatten() {
                if field.children().is_some_and(|c| !c.is_empty()) {
                    return Err(broken("nested columns are not supported".into()));
                }
                let values = buffer_layout(field.type_type(), &field).map_err(&broken)?;
                layouts.push(match field.dictionary() {
                    Some(dictionary) => {
                        let index = match dictionary.indexType().map(|t| t.bitWidth()) {
                            Some(bits @ (8 | 16 | 32 | 64)) => BufferLayout::Fixed(bits as usize / 8),
                            None => BufferLayout::Fixed(4),
                            Some(bits) => return Err(broken(format!("dictionary index of width {bits}"))),
                        };
                        (index, Some((dictionary.id(), values)))
                    }
                    None => (values, None),
                });
            }
            fields = Some(layouts);
        }
        let batch_layouts: Option<(arrow_ipc::RecordBatch<'_>, Vec<BufferLayout>)> =
            if let Some(batch) = message.header_as_record_batch() {
                let layouts = fields.as_ref().ok_or_else(|| broken("a record batch before the schema".into()))?;
                Some((batch, layouts.iter().map(|(layout, _)| *layout).collect()))
            } else if let Some(dictionary) = message.header_as_dictionary_batch() {
                let layouts = fields.as_ref().ok_or_else(|| broken("a dictionary batch before the schema".into()))?;
                let values = layouts
                    .iter()
                    .find_map(|(_, d)| d.filter(|(id, _)| *id == dictionary.id()).map(|(_, values)| values))
                    .ok_or_else(|| broken(format!("dictionary batch for unknown dictionary {}", dictionary.id())))?;
                dictionary.data().map(|batch| (batch, vec![values]))
            } else {
                None
            };
        if let Some((batch, layouts)) = batch_layouts {
            let buffers: Vec<arrow_ipc::Buffer> =
                batch.buffers().map(|b| b.iter().copied().collect()).unwrap_or_default();
            for buffer in &buffers {
                let inside = buffer.offset() >= 0
                    && buffer.offset() % 8 == 0
                    && buffer.length() >= 0
                    && buffer.offset().checked_add(buffer.length()).is_some_and(|end| end as u64 <= body as u64);
                if !inside {
                    return Err(broken(format!(
                        "a buffer (offset {}, length {}) is not 8-byte aligned inside its message body of {body} bytes",
                        buffer.offset(),
                        buffer.length()
                    )));
                }
            }
            let mut variadic =
                batch.variadicBufferCounts().map(|v| v.iter().collect::<Vec<i64>>()).unwrap_or_default().into_iter();
            let mut next = buffers.iter();
            let mut take = |width: usize| -> Result<()> {
                let buffer = next.next().ok_or_else(|| broken("fewer buffers than the schema needs".into()))?;
                if width > 1 && !(buffer.length() as usize).is_multiple_of(width) {
                    return Err(broken(format!(
                        "a buffer of {} bytes does not hold whole {width}-byte values",
                        buffer.length()
                    )));
                }
                Ok(())
            };
            for layout in layouts {
                take(1)?; // validity
                match layout {
                    BufferLayout::Fixed(width) => take(width)?,
                    BufferLayout::Offsets(width) => {
                        take(width)?;
                        take(1)?;
                    }
                    BufferLayout::Views => {
                        take(16)?;
                        let count = variadic.next().unwrap_or(0);
                        if !(0..=1 << 20).contains(&count) {
                            return Err(broken(format!("{count} variadic buffers")));
                        }
                        for _ in 0..count {
                            take(1)?;
                        }
                    }
                }
            }
        }
        at += body;
    }
    Ok(())
}

fn read_batches(bytes: &[u8], context: &str) -> Result<(Arc<Schema>, Vec<RecordBatch>)> {
    check_ipc_framing(bytes, context)?;
    let reader = StreamReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| Error::input(context, format!("not an Arrow IPC stream: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::input(context, format!("unreadable Arrow IPC stream: {e}")))?;
    Ok((schema, batches))
}

fn column_arrays(batches: &[RecordBatch], index: usize) -> impl Iterator<Item = &ArrayRef> {
    batches.iter().map(move |b| b.column(index))
}

/// Id arrays (the chunks of one column) as u64, with the rules of edge chunks: any integer width,
/// whole non-negative `Float64`, no nulls or negatives (`context` names the column in errors).
pub fn ids_from_arrays<'a>(arrays: impl IntoIterator<Item = &'a dyn Array>, context: &str) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for array in arrays {
        append_ids(array, &mut out, context)?;
    }
    Ok(out)
}

/// Append an integer column (any width, signed or not) as non-negative u64 ids.
fn append_ids(array: &dyn Array, out: &mut Vec<u64>, context: &str) -> Result<()> {
    if array.null_count() > 0 {
        return Err(Error::input(context, "ids must not be null"));
    }
    macro_rules! unsigned {
        ($t:ty) => {
            out.extend(array.as_primitive::<$t>().values().iter().map(|&v| v as u64))
        };
    }
    macro_rules! signed {
        ($t:ty) => {{
            for &v in array.as_primitive::<$t>().values().iter() {
                if v < 0 {
                    return Err(Error::input(context, format!("negative id {v}")));
                }
                out.push(v as u64);
            }
        }};
    }
    match array.data_type() {
        DataType::UInt8 => unsigned!(UInt8Type),
        DataType::UInt16 => unsigned!(UInt16Type),
        DataType::UInt32 => unsigned!(UInt32Type),
        DataType::UInt64 => unsigned!(UInt64Type),
        DataType::Int8 => signed!(Int8Type),
        DataType::Int16 => signed!(Int16Type),
        DataType::Int32 => signed!(Int32Type),
        DataType::Int64 => signed!(Int64Type),
        DataType::Float64 => {
            for &v in array.as_primitive::<Float64Type>().values().iter() {
                if !(v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0) {
                    return Err(Error::input(context, format!("id {v} is not a non-negative whole number")));
                }
                out.push(v as u64);
            }
        }
        other => return Err(Error::input(context, format!("ids must be integers, got {other}"))),
    }
    Ok(())
}

/// Names of the optional group columns an edge chunk may carry (SONATA's `edge_group_id` and
/// `edge_group_index`), and that a group scan reads.
pub const GROUP_ID_COLUMN: &str = "edge_group_id";
/// See [`GROUP_ID_COLUMN`].
pub const GROUP_INDEX_COLUMN: &str = "edge_group_index";

/// An edge chunk decoded from Arrow IPC bytes it owns: `UInt64` columns (SONATA's type) and
/// `UInt32` ones (what the loader sends while ids fit) are used in place, without copying; other
/// integer types are converted. It may carry the group columns too.
#[derive(Debug)]
pub struct DecodedEdgeChunk {
    columns: [IdColumn; 3],
    groups: Option<[IdColumn; 2]>,
    attributes: Vec<FloatColumn>,
}

/// A per-synapse attribute column (design §2.7): a one-array `Float64` column without nulls is
/// used in place; other numeric types (a file's float32, int16 …) are converted once, here.
#[derive(Debug)]
pub enum FloatColumn {
    /// The decoded buffer itself.
    InPlace(ScalarBuffer<f64>),
    /// Converted from another numeric type.
    Converted(Vec<f64>),
}

impl FloatColumn {
    /// The values, borrowed.
    pub fn values(&self) -> &[f64] {
        match self {
            FloatColumn::InPlace(values) => values,
            FloatColumn::Converted(values) => values,
        }
    }
}

/// The columns `names` of a table as `f64` (see [`FloatColumn`]), in that order. Errors name a
/// missing column, a null or a non-numeric type.
pub fn float_columns(
    schema: &Schema,
    batches: &[RecordBatch],
    names: &[String],
    context: &str,
) -> Result<Vec<FloatColumn>> {
    names
        .iter()
        .map(|name| {
            let column_context = format!("{context} column {name}");
            let index = schema.index_of(name).map_err(|_| {
                Error::input(&column_context, "missing from the Arrow table (an attribute the run planned)")
            })?;
            float_column(column_arrays(batches, index), &column_context)
        })
        .collect()
}

/// One column given as arrays (its chunks) as `f64`: a single `Float64` array without nulls is
/// used in place, any other numeric type converted once — what every host's attribute columns
/// and positions go through (`context` names the column in errors: a null, a non-numeric type).
pub fn float_column<'a>(arrays: impl IntoIterator<Item = &'a ArrayRef>, context: &str) -> Result<FloatColumn> {
    let arrays: Vec<&ArrayRef> = arrays.into_iter().collect();
    if let [array] = arrays[..] {
        if array.null_count() == 0 && array.data_type() == &DataType::Float64 {
            return Ok(FloatColumn::InPlace(array.as_primitive::<Float64Type>().values().clone()));
        }
    }
    let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for array in arrays {
        if array.null_count() > 0 {
            return Err(Error::input(context, "has nulls: every synapse needs a value"));
        }
        let any = array.as_ref().as_any();
        macro_rules! extend {
            ($($t:ty),*) => {{
                $(if let Some(a) = any.downcast_ref::<$t>() {
                    out.extend(a.values().iter().map(|&v| v as f64));
                    continue;
                })*
            }};
        }
        extend!(
            Float64Array,
            Float32Array,
            Int8Array,
            Int16Array,
            Int32Array,
            Int64Array,
            UInt8Array,
            UInt16Array,
            UInt32Array,
            UInt64Array
        );
        return Err(Error::input(context, format!("is {}, not numbers", array.data_type())));
    }
    Ok(FloatColumn::Converted(out))
}

#[derive(Debug)]
enum IdColumn {
    InPlace64(ScalarBuffer<u64>),
    InPlace32(ScalarBuffer<u32>),
    Converted(Vec<u64>),
}

impl IdColumn {
    fn ids(&self) -> Ids<'_> {
        match self {
            IdColumn::InPlace64(values) => Ids::U64(values),
            IdColumn::InPlace32(values) => Ids::U32(values),
            IdColumn::Converted(values) => Ids::U64(values),
        }
    }
}

impl DecodedEdgeChunk {
    /// The chunk's ids, borrowed.
    pub fn ids(&self) -> EdgeIds<'_> {
        let [source, target, edge_id] = &self.columns;
        EdgeIds { source: source.ids(), target: target.ids(), edge_id: edge_id.ids() }
    }

    /// The chunk's group columns, if it carries them.
    pub fn groups(&self) -> Option<ChunkGroups<'_>> {
        self.groups.as_ref().map(|[ids, index]| ChunkGroups { ids: ids.ids(), index: index.ids() })
    }

    /// The attribute columns decoded with the chunk (see [`decode_edge_chunk_with_attributes`]),
    /// in the order asked for.
    pub fn attribute_columns(&self) -> Vec<&[f64]> {
        self.attributes.iter().map(FloatColumn::values).collect()
    }
}

/// The record batches and schema of IPC bytes taken over without copying.
fn decode_owned(bytes: Vec<u8>, context: &str) -> Result<(Arc<Schema>, Vec<RecordBatch>)> {
    check_ipc_framing(&bytes, context)?;
    let unreadable =
        |e: arrow_schema::ArrowError| Error::input(context, format!("not a readable Arrow IPC stream: {e}"));
    let mut buffer = Buffer::from_vec(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer).map_err(unreadable)? {
            Some(batch) => batches.push(batch),
            None if buffer.is_empty() => break,
            None => {}
        }
    }
    decoder.finish().map_err(unreadable)?;
    let schema = decoder.schema().ok_or_else(|| Error::input(context, "not an Arrow IPC stream: no schema"))?;
    Ok((schema, batches))
}

/// One id column of decoded batches: in place when it is one `UInt64`/`UInt32` array without
/// nulls, else converted (any integer type; whole non-negative `Float64`, the type some SONATA
/// files give group ids). `None` when the table has no such column.
fn id_column(schema: &Schema, batches: &[RecordBatch], name: &str, context: &str) -> Result<Option<IdColumn>> {
    let column_context = format!("{context} column {name}");
    let Ok(index) = schema.index_of(name) else { return Ok(None) };
    if let [batch] = batches {
        let array = batch.column(index);
        if array.null_count() == 0 {
            match array.data_type() {
                DataType::UInt64 => {
                    return Ok(Some(IdColumn::InPlace64(array.as_primitive::<UInt64Type>().values().clone())))
                }
                DataType::UInt32 => {
                    return Ok(Some(IdColumn::InPlace32(array.as_primitive::<UInt32Type>().values().clone())))
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for array in column_arrays(batches, index) {
        append_ids(array.as_ref(), &mut out, &column_context)?;
    }
    Ok(Some(IdColumn::Converted(out)))
}

fn required_column(schema: &Schema, batches: &[RecordBatch], name: &str, context: &str) -> Result<IdColumn> {
    id_column(schema, batches, name, context)?
        .ok_or_else(|| Error::input(format!("{context} column {name}"), "missing from the Arrow table"))
}

/// The optional pair of group columns: both or neither.
fn group_columns(schema: &Schema, batches: &[RecordBatch], context: &str) -> Result<Option<[IdColumn; 2]>> {
    match (
        id_column(schema, batches, GROUP_ID_COLUMN, context)?,
        id_column(schema, batches, GROUP_INDEX_COLUMN, context)?,
    ) {
        (Some(ids), Some(index)) => Ok(Some([ids, index])),
        (None, None) => Ok(None),
        _ => Err(Error::input(context, "edge_group_id and edge_group_index must come together")),
    }
}

/// Decode an edge chunk (as [`read_edge_chunk`], plus optional group columns) from bytes it takes
/// over, so that the id columns need no copy: the wasm entry point, where the bytes have just been
/// copied in from JS.
pub fn decode_edge_chunk(bytes: Vec<u8>, edge_population: &str) -> Result<DecodedEdgeChunk> {
    decode_edge_chunk_with_attributes(bytes, edge_population, &[])
}

/// [`decode_edge_chunk`] plus the per-synapse attribute columns `attributes` (the datasets a run
/// planned, `Parameterizer::plan_edge_attributes`), each named as its dataset.
pub fn decode_edge_chunk_with_attributes(
    bytes: Vec<u8>,
    edge_population: &str,
    attributes: &[String],
) -> Result<DecodedEdgeChunk> {
    let context = format!("edge chunk of '{edge_population}'");
    let (schema, batches) = decode_owned(bytes, &context)?;
    let mut chunk = edge_chunk_of(&schema, &batches, &context)?;
    chunk.attributes = float_columns(&schema, &batches, attributes, &context)?;
    Ok(chunk)
}

/// [`decode_edge_chunk`] of record batches already in memory (e.g. imported from Python through
/// the Arrow C data interface): one-array `UInt64`/`UInt32` id columns are used without copying.
pub fn edge_chunk_from_batches(
    schema: &Schema,
    batches: &[RecordBatch],
    edge_population: &str,
) -> Result<DecodedEdgeChunk> {
    edge_chunk_of(schema, batches, &format!("edge chunk of '{edge_population}'"))
}

fn edge_chunk_of(schema: &Schema, batches: &[RecordBatch], context: &str) -> Result<DecodedEdgeChunk> {
    let columns = [
        required_column(schema, batches, SOURCE_COLUMN, context)?,
        required_column(schema, batches, TARGET_COLUMN, context)?,
        required_column(schema, batches, EDGE_ID_COLUMN, context)?,
    ];
    let groups = group_columns(schema, batches, context)?;
    Ok(DecodedEdgeChunk { columns, groups, attributes: Vec::new() })
}

/// The group columns (`edge_group_id`, `edge_group_index`) of a table, decoded from bytes it
/// takes over: what a group scan reads.
pub struct DecodedGroups {
    columns: [IdColumn; 2],
}

impl DecodedGroups {
    /// `(edge_group_id, edge_group_index)`.
    pub fn ids(&self) -> (Ids<'_>, Ids<'_>) {
        (self.columns[0].ids(), self.columns[1].ids())
    }
}

/// Decode a table of group columns for a group scan.
pub fn decode_group_columns(bytes: Vec<u8>, edge_population: &str) -> Result<DecodedGroups> {
    let context = format!("group columns of '{edge_population}'");
    let (schema, batches) = decode_owned(bytes, &context)?;
    let columns = group_columns(&schema, &batches, &context)?
        .ok_or_else(|| Error::input(&context, "edge_group_id and edge_group_index are missing from the Arrow table"))?;
    Ok(DecodedGroups { columns })
}

/// Decode an edge chunk: columns `source_node_id`, `target_node_id`, `edge_id` of any integer type.
pub fn read_edge_chunk(bytes: &[u8], edge_population: &str) -> Result<EdgeChunk> {
    let context = format!("edge chunk of '{edge_population}'");
    let (schema, batches) = read_batches(bytes, &context)?;
    let mut chunk = EdgeChunk::default();
    for (name, out) in
        [(SOURCE_COLUMN, &mut chunk.source), (TARGET_COLUMN, &mut chunk.target), (EDGE_ID_COLUMN, &mut chunk.edge_id)]
    {
        let column_context = format!("{context} column {name}");
        let index = schema.index_of(name).map_err(|_| Error::input(&column_context, "missing from the Arrow table"))?;
        for array in column_arrays(&batches, index) {
            append_ids(array.as_ref(), out, &column_context)?;
        }
    }
    Ok(chunk)
}

/// Decode a node population's pathway column (the table's first column): `Utf8`, `LargeUtf8`,
/// `Utf8View`, `Dictionary<any int, string>`, or integers (compared by their decimal text).
/// Nulls mark nodes without the property.
pub fn read_pathway_column(bytes: &[u8], node_population: &str) -> Result<PathwayColumn> {
    let context = format!("pathway column of node population '{node_population}'");
    let (schema, batches) = read_batches(bytes, &context)?;
    if schema.fields().is_empty() {
        return Err(Error::input(&context, "the Arrow table has no column"));
    }
    pathway_column_from_arrays(column_arrays(&batches, 0).map(|a| a.as_ref()), node_population)
}

/// A named column of text values, one per node (`None`: no value).
pub type StringColumn = (String, Vec<Option<String>>);

/// Every column of a node table (Arrow IPC; strings, dictionary strings or integers, nulls for
/// nodes without the property) as text per node: what rules read. Returns the row count too.
pub fn read_string_columns(bytes: &[u8], node_population: &str) -> Result<(usize, Vec<StringColumn>)> {
    let context = format!("node table of node population '{node_population}'");
    let (schema, batches) = read_batches(bytes, &context)?;
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    let mut columns = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let mut values = Vec::with_capacity(rows);
        for array in column_arrays(&batches, index) {
            append_strings(array.as_ref(), &mut values, &format!("{context} column {}", field.name()))?;
        }
        columns.push((field.name().clone(), values));
    }
    Ok((rows, columns))
}

/// The values of one column (its chunks, in node order) as text per node: strings, dictionary
/// strings or integers, `None` for nulls (a node table's column, as rules read it).
pub fn string_values_from_arrays<'a>(
    arrays: impl IntoIterator<Item = &'a dyn Array>,
    context: &str,
) -> Result<Vec<Option<String>>> {
    let mut values = Vec::new();
    for array in arrays {
        append_strings(array, &mut values, context)?;
    }
    Ok(values)
}

/// [`read_pathway_column`] of arrays already in memory (the chunks of one column, in node order).
pub fn pathway_column_from_arrays<'a>(
    arrays: impl IntoIterator<Item = &'a dyn Array>,
    node_population: &str,
) -> Result<PathwayColumn> {
    let context = format!("pathway column of node population '{node_population}'");
    let mut values: Vec<Option<String>> = Vec::new();
    for array in arrays {
        append_strings(array, &mut values, &context)?;
    }
    Ok(PathwayColumn::from_values(node_population, &values))
}

fn append_strings(array: &dyn Array, out: &mut Vec<Option<String>>, context: &str) -> Result<()> {
    if let Some(dictionary) = array.as_any_dictionary_opt() {
        // An all-null column may come with an empty dictionary, on which arrow's
        // `normalized_keys` would panic.
        if dictionary.values().is_empty() {
            if array.null_count() != array.len() {
                return Err(Error::input(context, "dictionary keys refer to an empty dictionary"));
            }
            out.extend(std::iter::repeat_n(None, array.len()));
            return Ok(());
        }
        let mut words = Vec::new();
        append_strings(dictionary.values().as_ref(), &mut words, context)?;
        let keys = dictionary.normalized_keys();
        for (i, key) in keys.into_iter().enumerate() {
            if array.is_null(i) {
                out.push(None);
            } else {
                let word = words.get(key).ok_or_else(|| {
                    Error::input(context, format!("dictionary key {key} outside {} values", words.len()))
                })?;
                out.push(word.clone());
            }
        }
        return Ok(());
    }
    match array.data_type() {
        DataType::Utf8 => out.extend(array.as_string::<i32>().iter().map(|v| v.map(str::to_string))),
        DataType::LargeUtf8 => out.extend(array.as_string::<i64>().iter().map(|v| v.map(str::to_string))),
        DataType::Utf8View => out.extend(array.as_string_view().iter().map(|v| v.map(str::to_string))),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            let mut ids = Vec::new();
            let valid: Vec<bool> = (0..array.len()).map(|i| array.is_valid(i)).collect();
            append_integers_as_text(array, &mut ids, context)?;
            out.extend(ids.into_iter().zip(valid).map(|(v, ok)| ok.then_some(v)));
        }
        other => return Err(Error::input(context, format!("pathway values must be strings or integers, got {other}"))),
    }
    Ok(())
}

fn append_integers_as_text(array: &dyn Array, out: &mut Vec<String>, context: &str) -> Result<()> {
    macro_rules! text {
        ($t:ty) => {
            out.extend(array.as_primitive::<$t>().values().iter().map(|v| v.to_string()))
        };
    }
    match array.data_type() {
        DataType::Int8 => text!(Int8Type),
        DataType::Int16 => text!(Int16Type),
        DataType::Int32 => text!(Int32Type),
        DataType::Int64 => text!(Int64Type),
        DataType::UInt8 => text!(UInt8Type),
        DataType::UInt16 => text!(UInt16Type),
        DataType::UInt32 => text!(UInt32Type),
        DataType::UInt64 => text!(UInt64Type),
        other => return Err(Error::input(context, format!("unexpected type {other}"))),
    }
    Ok(())
}

/// The Arrow type of a column type.
pub fn data_type(column_type: ColumnType) -> DataType {
    match column_type {
        ColumnType::Float32 => DataType::Float32,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Int(t) => match t {
            IntType::I8 => DataType::Int8,
            IntType::I16 => DataType::Int16,
            IntType::I32 => DataType::Int32,
            IntType::I64 => DataType::Int64,
            IntType::U8 => DataType::UInt8,
            IntType::U16 => DataType::UInt16,
            IntType::U32 => DataType::UInt32,
            IntType::U64 => DataType::UInt64,
        },
    }
}

/// Build a typed Arrow array from stored values (already range-checked by the engine); float64
/// columns take the vector without copying.
pub fn typed_array(column_type: ColumnType, values: Vec<f64>) -> ArrayRef {
    macro_rules! ints {
        ($array:ty, $native:ty) => {
            Arc::new(<$array>::from(values.iter().map(|&v| v as $native).collect::<Vec<_>>())) as ArrayRef
        };
    }
    match column_type {
        ColumnType::Float64 => Arc::new(Float64Array::from(values)),
        ColumnType::Float32 => ints!(Float32Array, f32),
        ColumnType::Int(IntType::I8) => ints!(Int8Array, i8),
        ColumnType::Int(IntType::I16) => ints!(Int16Array, i16),
        ColumnType::Int(IntType::I32) => ints!(Int32Array, i32),
        ColumnType::Int(IntType::I64) => ints!(Int64Array, i64),
        ColumnType::Int(IntType::U8) => ints!(UInt8Array, u8),
        ColumnType::Int(IntType::U16) => ints!(UInt16Array, u16),
        ColumnType::Int(IntType::U32) => ints!(UInt32Array, u32),
        ColumnType::Int(IntType::U64) => ints!(UInt64Array, u64),
    }
}

/// Encode a chunk's drawn properties as one Arrow IPC stream, one column per property (named
/// after it, typed by its column type), rows in the chunk's edge order.
pub fn write_chunk_result(result: ChunkResult) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_chunk_result_into(result, &mut bytes)?;
    Ok(bytes)
}

/// [`write_chunk_result`] into `bytes` (cleared first), reusing its capacity: a caller that runs
/// chunk after chunk allocates its output buffer once (in wasm, once per linear memory).
pub fn write_chunk_result_into(result: ChunkResult, bytes: &mut Vec<u8>) -> Result<()> {
    let (schema, columns) = chunk_result_columns(result);
    encode_into(schema, columns, "result table", bytes)
}

/// A chunk's drawn properties as one record batch (as [`write_chunk_result`] encodes it): one
/// column per property, named after it, in its column type.
pub fn chunk_result_batch(result: ChunkResult) -> Result<RecordBatch> {
    let (schema, columns) = chunk_result_columns(result);
    record_batch(schema, columns, "result table")
}

fn chunk_result_columns(result: ChunkResult) -> (Arc<Schema>, Vec<ArrayRef>) {
    let fields: Vec<Field> =
        result.properties.iter().map(|p| Field::new(&p.name, data_type(p.column_type), false)).collect();
    let columns = result.properties.into_iter().map(|p| typed_array(p.column_type, p.values)).collect();
    (Arc::new(Schema::new(fields)), columns)
}

fn record_batch(schema: Arc<Schema>, columns: Vec<ArrayRef>, context: &str) -> Result<RecordBatch> {
    if columns.is_empty() {
        Ok(RecordBatch::new_empty(schema))
    } else {
        RecordBatch::try_new(schema, columns).map_err(|e| Error::input(context, e.to_string()))
    }
}

/// One record batch as an IPC stream.
fn encode(schema: Arc<Schema>, columns: Vec<ArrayRef>, context: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    encode_into(schema, columns, context, &mut bytes)?;
    Ok(bytes)
}

/// One record batch as an IPC stream, written over `bytes`.
fn encode_into(schema: Arc<Schema>, columns: Vec<ArrayRef>, context: &str, bytes: &mut Vec<u8>) -> Result<()> {
    let fail = |e: arrow_schema::ArrowError| Error::input(context, e.to_string());
    // Sized up front: a growing Vec would reallocate and copy, which in wasm also grows linear
    // memory for good.
    let body: usize = columns.iter().map(|c| c.get_buffer_memory_size()).sum();
    bytes.clear();
    bytes.reserve(body + 1024 + 64 * columns.len());
    let batch = record_batch(schema.clone(), columns, context)?;
    let mut writer = StreamWriter::try_new(bytes, &schema).map_err(fail)?;
    writer.write(&batch).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(())
}

/// One dictionary-encoded string column as an Arrow IPC stream: a node population's pathway
/// values as `read_pathway_column` reads them back (compiled rules hand them to hosts this way).
pub fn write_pathway_column(values: &[&str]) -> Result<Vec<u8>> {
    let array: arrow_array::DictionaryArray<arrow_array::types::Int32Type> = values.iter().copied().collect();
    let column: ArrayRef = Arc::new(array);
    let schema = Arc::new(Schema::new(vec![Field::new("pathway", column.data_type().clone(), false)]));
    encode(schema, vec![column], "pathway column")
}

/// Encode an edge chunk as the loader does (used by tests, benchmarks and the Node tools to feed
/// the same path the browser uses): each id column as `UInt32` while all its ids fit, else
/// `UInt64`.
pub fn write_edge_chunk(chunk: &EdgeChunk) -> Result<Vec<u8>> {
    let column = |ids: &[u64]| -> ArrayRef {
        if ids.iter().all(|&id| id <= u64::from(u32::MAX)) {
            Arc::new(UInt32Array::from(ids.iter().map(|&id| id as u32).collect::<Vec<u32>>()))
        } else {
            Arc::new(UInt64Array::from(ids.to_vec()))
        }
    };
    let columns = vec![column(&chunk.source), column(&chunk.target), column(&chunk.edge_id)];
    let schema = Arc::new(Schema::new(
        [SOURCE_COLUMN, TARGET_COLUMN, EDGE_ID_COLUMN]
            .iter()
            .zip(&columns)
            .map(|(name, column)| Field::new(*name, column.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    encode(schema, columns, "edge chunk")
}
