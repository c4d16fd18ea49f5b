//! Engine semantics: shared_within, invariance under chunking and edge order (property tests),
//! independence of properties, the Gaussian copula, pathway lookup errors and Arrow inputs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::needless_range_loop)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, DictionaryArray, Int16Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;
use serde_json::json;
use synparam::arrow_io::{decode_edge_chunk, read_edge_chunk, read_pathway_column};
use synparam::config::Fallback;
use synparam::engine::{EdgeChunk, EdgeIds, Ids, PathwayColumn};
use synparam::{Error, Parameterizer};

const TM: &str = include_str!("../www/presets/tsodyks_markram.json");

fn ei_nodes(population: &str, n: usize) -> PathwayColumn {
    let values: Vec<Option<&str>> = (0..n).map(|i| Some(if i % 5 == 4 { "INH" } else { "EXC" })).collect();
    PathwayColumn::from_values(population, &values)
}

fn tm_run(config: &str, seed: u64, n_nodes: usize) -> Parameterizer {
    let mut run = Parameterizer::new(config, Some(seed)).unwrap();
    run.add_edge_population("pop", ei_nodes("nodes", n_nodes), ei_nodes("nodes", n_nodes), "synapse_class", None)
        .unwrap();
    run
}

/// Values of every property keyed by edge id, so results can be compared whatever the order.
fn by_edge(run: &mut Parameterizer, chunk: &EdgeChunk) -> HashMap<(String, u64), u64> {
    common::by_edge(run, "pop", chunk)
}

fn slice(chunk: &EdgeChunk, range: std::ops::Range<usize>) -> EdgeChunk {
    EdgeChunk {
        source: chunk.source[range.clone()].to_vec(),
        target: chunk.target[range.clone()].to_vec(),
        edge_id: chunk.edge_id[range].to_vec(),
    }
}

#[test]
fn shared_within_true_gives_one_value_per_connection_and_false_one_per_synapse() {
    let config = |shared: bool| {
        common::single_spec_model(&format!(
            r#"{{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": {shared}}}"#
        ))
    };
    // 300 connections of 4 synapses each, interleaved so that a connection's synapses are not adjacent.
    let mut chunk = EdgeChunk::default();
    for repeat in 0..4u64 {
        for c in 0..300u64 {
            chunk.source.push(c);
            chunk.target.push(c * 7 % 300);
            chunk.edge_id.push(repeat * 300 + c);
        }
    }
    for shared in [true, false] {
        let mut run = Parameterizer::new(&config(shared), Some(5)).unwrap();
        run.add_edge_population("pop", common::uniform_nodes("s", 300), common::uniform_nodes("t", 300), "p", None)
            .unwrap();
        let values = run.run_chunk("pop", &chunk).unwrap().properties.remove(0).values;
        let mut per_connection: HashMap<(u64, u64), Vec<f64>> = HashMap::new();
        for i in 0..chunk.len() {
            per_connection.entry((chunk.source[i], chunk.target[i])).or_default().push(values[i]);
        }
        let all_equal = per_connection.values().all(|v| v.iter().all(|&x| x == v[0]));
        let distinct: std::collections::HashSet<u64> = values.iter().map(|v| v.to_bits()).collect();
        if shared {
            assert!(all_equal, "shared_within: synapses of a connection must share the value");
            assert_eq!(distinct.len(), 300, "one draw per connection");
        } else {
            assert!(!all_equal);
            assert_eq!(distinct.len(), 1200, "one draw per synapse");
        }
    }
}

#[test]
fn connections_are_per_edge_population() {
    // Same node ids in two edge populations get independent draws.
    let config = common::single_spec_model(r#"{"type": "normal", "mean": 0, "std": 1}"#);
    let mut run = Parameterizer::new(&config, Some(1)).unwrap();
    for name in ["a", "b"] {
        run.add_edge_population(name, common::uniform_nodes("s", 10), common::uniform_nodes("t", 10), "p", None)
            .unwrap();
    }
    let chunk = common::distinct_connections(10);
    let a = run.run_chunk("a", &chunk).unwrap().properties.remove(0).values;
    let b = run.run_chunk("b", &chunk).unwrap().properties.remove(0).values;
    assert!(a.iter().zip(&b).all(|(x, y)| x != y));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Any split into chunks and any permutation of edges gives each edge the same values.
    #[test]
    fn results_do_not_depend_on_chunking_or_edge_order(
        chunk_sizes in proptest::collection::vec(1usize..700, 1..8),
        permutation_seed in any::<u64>(),
    ) {
        let chunk = common::golden::network(200, 600);
        let mut run = tm_run(&common::golden::tsodyks_markram_with_correlation(), 9, 200);
        let whole = by_edge(&mut run, &chunk);

        // Shuffle deterministically from the generated seed (Fisher–Yates with an LCG).
        let mut order: Vec<usize> = (0..chunk.len()).collect();
        let mut state = permutation_seed | 1;
        for i in (1..order.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        let shuffled = EdgeChunk {
            source: order.iter().map(|&i| chunk.source[i]).collect(),
            target: order.iter().map(|&i| chunk.target[i]).collect(),
            edge_id: order.iter().map(|&i| chunk.edge_id[i]).collect(),
        };
        let mut pieces = HashMap::new();
        let mut start = 0;
        let mut sizes = chunk_sizes.iter().cycle();
        while start < shuffled.len() {
            let end = (start + sizes.next().unwrap()).min(shuffled.len());
            pieces.extend(by_edge(&mut run, &slice(&shuffled, start..end)));
            start = end;
        }
        prop_assert_eq!(pieces, whole);
    }
}

#[test]
fn changing_one_property_leaves_the_others_bit_identical() {
    let chunk = common::golden::network(200, 800);
    let mut original = tm_run(TM, 3, 200);
    let before = by_edge(&mut original, &chunk);
    let mut edited: serde_json::Value = serde_json::from_str(TM).unwrap();
    edited["prop_stats"]["u_syn"]["EXC"]["EXC"] = json!({"type": "normal", "mean": 0.3, "std": 0.05});
    edited["prop_stats"].as_object_mut().unwrap().remove("delay");
    edited["prop_stats"]["new_property"] = edited["prop_stats"]["conductance"].clone();
    let mut changed = tm_run(&edited.to_string(), 3, 200);
    let after = by_edge(&mut changed, &chunk);
    for ((property, edge), bits) in &before {
        match property.as_str() {
            "delay" => assert!(!after.contains_key(&(property.clone(), *edge))),
            "u_syn" => {}
            _ => assert_eq!(after[&(property.clone(), *edge)], *bits, "{property} changed at edge {edge}"),
        }
    }
    let u_syn_changed = before.iter().filter(|((p, e), b)| p == "u_syn" && after[&(p.clone(), *e)] != **b).count();
    assert!(u_syn_changed > 0, "the edited property must change");
    // Another seed changes everything random.
    let mut reseeded = tm_run(TM, 4, 200);
    let other = by_edge(&mut reseeded, &chunk);
    assert_ne!(other[&("conductance".to_string(), 0)], before[&("conductance".to_string(), 0)]);
}

#[test]
fn copula_gives_the_requested_rank_correlation_and_keeps_the_marginals() {
    let rho = 0.7;
    let config = json!({"src_types": ["A"], "tgt_types": ["A"], "prop_stats": {
        "x": {"A": {"A": {"type": "gamma", "mean": 2.0, "std": 1.0, "shared_within": false}}},
        "y": {"A": {"A": {"type": "truncnorm", "norm_loc": 0.5, "norm_scale": 0.25, "min": 0.2, "max": 0.7, "shared_within": false}}},
        "z": {"A": {"A": {"type": "normal", "mean": 0.0, "std": 1.0, "shared_within": false}}}},
        "prop_cov": {"props": ["x", "y"], "cov": {"A": {"A": [[1.0, rho], [rho, 1.0]]}}}});
    let n = 20_000;
    let mut run = Parameterizer::new(&config.to_string(), Some(8)).unwrap();
    run.add_edge_population("pop", common::uniform_nodes("s", n), common::uniform_nodes("t", n), "p", None).unwrap();
    let result = run.run_chunk("pop", &common::distinct_connections(n)).unwrap();
    let (x, y, z) = (&result.properties[0].values, &result.properties[1].values, &result.properties[2].values);
    // Spearman correlation of a Gaussian copula: (6/π) asin(ρ/2).
    let expected = 6.0 / std::f64::consts::PI * (rho / 2.0f64).asin();
    let spearman = common::correlation(&ranks(x), &ranks(y));
    // Standard error of Spearman's rho is about 1/√(n−1) ≈ 0.007; allow 5 SE.
    assert!((spearman - expected).abs() < 0.035, "spearman {spearman} vs {expected}");
    assert!(common::correlation(x, z).abs() < 0.035, "uncorrelated property stays independent");
    // Marginals are unchanged by the copula.
    let shape = 4.0;
    let p = common::ks_p_value(x, |v| synparam::special_functions::regularized_gamma(shape, v / 0.5).0);
    assert!(p > common::ALPHA, "gamma marginal KS p {p}");
    assert!(y.iter().all(|&v| (0.2..=0.7).contains(&v)));
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    for (rank, &i) in order.iter().enumerate() {
        ranks[i] = rank as f64;
    }
    ranks
}

#[test]
fn copula_with_shared_within_shares_all_correlated_values_per_connection() {
    let config = common::golden::tsodyks_markram_with_correlation();
    let mut run = tm_run(&config, 2, 200);
    let chunk = common::golden::network(200, 300);
    let result = run.run_chunk("pop", &chunk).unwrap();
    for name in ["conductance", "u_syn"] {
        let values = &result.properties.iter().find(|p| p.name == name).unwrap().values;
        let mut per_connection: HashMap<(u64, u64), f64> = HashMap::new();
        for i in 0..chunk.len() {
            let v = *per_connection.entry((chunk.source[i], chunk.target[i])).or_insert(values[i]);
            assert_eq!(v, values[i], "{name} differs within a connection");
        }
    }
}

#[test]
fn pathway_values_missing_from_the_config_are_listed() {
    let mut run = Parameterizer::new(TM, Some(1)).unwrap();
    let values = [Some("EXC"), Some("L5_TPC"), Some("INH"), Some("L4_SS"), Some("L5_TPC")];
    let nodes = PathwayColumn::from_values("S1", &values);
    let err = run.add_edge_population("pop", nodes, ei_nodes("T", 3), "mtype", None).unwrap_err();
    match &err {
        Error::MissingPathwayValues { role, values, types_key, .. } => {
            assert_eq!(*role, "source");
            assert_eq!(*types_key, "src_types");
            assert_eq!(values, &vec!["L4_SS".to_string(), "L5_TPC".to_string()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err
        .to_string()
        .contains("source node population 'S1' has mtype values missing from src_types: L4_SS, L5_TPC"));
}

#[test]
fn nodes_without_the_property_need_a_fallback() {
    let mut run = Parameterizer::new(TM, Some(1)).unwrap();
    let virtual_nodes = PathwayColumn::from_values("thalamus", &[None::<&str>, None, None]);
    let err =
        run.add_edge_population("pop", virtual_nodes.clone(), ei_nodes("T", 3), "synapse_class", None).unwrap_err();
    assert!(err.to_string().contains("3 node(s) without a synapse_class value"), "{err}");
    run.add_edge_population(
        "pop",
        virtual_nodes.clone(),
        ei_nodes("T", 3),
        "synapse_class",
        Some(&Fallback::every("EXC")),
    )
    .unwrap();
    let result = run.run_chunk("pop", &common::distinct_connections(3)).unwrap();
    let syn_type = result.properties.iter().find(|p| p.name == "syn_type_id").unwrap();
    assert_eq!(syn_type.values, vec![113.0; 3], "fallback EXC gives the excitatory syn_type_id");
    let glia = Fallback::every("GLIA");
    let err =
        run.add_edge_population("pop", virtual_nodes, ei_nodes("T", 3), "synapse_class", Some(&glia)).unwrap_err();
    assert_eq!(err.path(), Some("fallback_pathway_value"));
}

/// A fallback per node population (#24): thalamic VPM nodes take their own value, another
/// population's unclassed nodes are not classed with them (still refused), and a population's bad
/// value is named by its own key.
#[test]
fn a_fallback_per_node_population_classes_only_that_population() {
    let mut run = Parameterizer::new(TM, Some(1)).unwrap();
    let vpm = PathwayColumn::from_values("VPM", &[None::<&str>, None, None]);
    let pom = PathwayColumn::from_values("POm", &[None::<&str>, None, None]);
    let per_population = Fallback::from_json(&json!({"VPM": "EXC"}), "fallback_pathway_value").unwrap();
    run.add_edge_population("vpm", vpm.clone(), ei_nodes("T", 3), "synapse_class", Some(&per_population)).unwrap();
    let result = run.run_chunk("vpm", &common::distinct_connections(3)).unwrap();
    let syn_type = result.properties.iter().find(|p| p.name == "syn_type_id").unwrap();
    assert_eq!(syn_type.values, vec![113.0; 3], "VPM's fallback EXC gives the excitatory syn_type_id");
    let err = run
        .add_edge_population("pom", pom.clone(), ei_nodes("T", 3), "synapse_class", Some(&per_population))
        .unwrap_err();
    assert!(
        err.to_string().contains("source node population 'POm' has 3 node(s) without a synapse_class value"),
        "{err}"
    );
    let both = Fallback::from_json(&json!({"VPM": "EXC", "*": "INH"}), "fallback_pathway_value").unwrap();
    run.add_edge_population("pom", pom.clone(), ei_nodes("T", 3), "synapse_class", Some(&both)).unwrap();
    let result = run.run_chunk("pom", &common::distinct_connections(3)).unwrap();
    let syn_type = result.properties.iter().find(|p| p.name == "syn_type_id").unwrap();
    assert_eq!(syn_type.values, vec![7.0; 3], "\"*\" classes every other population: INH");
    let bad = Fallback::from_json(&json!({"VPM": "GLIA", "*": "EXC"}), "fallback_pathway_value").unwrap();
    let err = run.add_edge_population("vpm", vpm, ei_nodes("T", 3), "synapse_class", Some(&bad)).unwrap_err();
    assert_eq!(err.path(), Some("fallback_pathway_value.VPM"));
    run.add_edge_population("pom", pom, ei_nodes("T", 3), "synapse_class", Some(&bad)).unwrap();
}

#[test]
fn node_ids_out_of_range_and_ragged_chunks_are_errors() {
    let mut run = tm_run(TM, 1, 10);
    let chunk = EdgeChunk { source: vec![0, 12], target: vec![1, 2], edge_id: vec![100, 101] };
    let err = run.run_chunk("pop", &chunk).unwrap_err().to_string();
    assert!(err.contains("edge 101 refers to node 12 but node population 'nodes' has 10 nodes"), "{err}");
    let ragged = EdgeChunk { source: vec![0], target: vec![1, 2], edge_id: vec![0, 1] };
    assert!(run.run_chunk("pop", &ragged).unwrap_err().to_string().contains("differ in length"));
    assert!(run.run_chunk("nope", &chunk).unwrap_err().to_string().contains("'nope'"));
}

fn ipc(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
    let schema = Arc::new(Schema::new(
        columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut bytes = Vec::new();
    let mut writer = StreamWriter::try_new(&mut bytes, &schema).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    bytes
}

#[test]
fn arrow_inputs_accept_any_integer_width_and_dictionary_strings() {
    let bytes = ipc(vec![
        ("source_node_id", Arc::new(Int16Array::from(vec![0, 1, 2]))),
        ("target_node_id", Arc::new(UInt32Array::from(vec![2, 1, 0]))),
        ("edge_id", Arc::new(Int64Array::from(vec![10, 11, 12]))),
    ]);
    let chunk = read_edge_chunk(&bytes, "pop").unwrap();
    assert_eq!(chunk, EdgeChunk { source: vec![0, 1, 2], target: vec![2, 1, 0], edge_id: vec![10, 11, 12] });

    let negative = ipc(vec![
        ("source_node_id", Arc::new(Int64Array::from(vec![-1]))),
        ("target_node_id", Arc::new(Int64Array::from(vec![0]))),
        ("edge_id", Arc::new(Int64Array::from(vec![0]))),
    ]);
    assert!(read_edge_chunk(&negative, "pop").unwrap_err().to_string().contains("source_node_id: negative id -1"));
    let missing = ipc(vec![("source_node_id", Arc::new(Int64Array::from(vec![0])) as ArrayRef)]);
    assert!(read_edge_chunk(&missing, "pop").unwrap_err().to_string().contains("target_node_id: missing"));
    assert!(read_edge_chunk(b"not arrow", "pop").unwrap_err().to_string().contains("not an Arrow IPC stream"));

    // The wasm entry point decodes the same bytes in place: same ids, same errors.
    let decoded = decode_edge_chunk(bytes.clone(), "pop").unwrap();
    assert_eq!(decoded.ids().source.to_vec(), chunk.source);
    assert_eq!(decoded.ids().target.to_vec(), chunk.target);
    assert_eq!(decoded.ids().edge_id.to_vec(), chunk.edge_id);
    assert!(matches!(decoded.ids().target, Ids::U32(_)), "UInt32 ids are read in place");
    assert!(decode_edge_chunk(negative, "pop").unwrap_err().to_string().contains("source_node_id: negative id -1"));
    assert!(decode_edge_chunk(missing, "pop").unwrap_err().to_string().contains("target_node_id: missing"));
    assert!(decode_edge_chunk(b"not arrow".to_vec(), "pop").unwrap_err().to_string().contains("Arrow IPC stream"));
    // The loader's layout: 32-bit columns while the ids fit, 64-bit beyond; both read in place.
    let native = EdgeChunk { source: vec![3, 1, 2], target: vec![0, 0, 1], edge_id: vec![7, 8, 1 << 40] };
    let in_place = decode_edge_chunk(synparam::arrow_io::write_edge_chunk(&native).unwrap(), "pop").unwrap();
    assert!(matches!(in_place.ids().source, Ids::U32(_)), "UInt32 ids are read in place");
    assert!(matches!(in_place.ids().edge_id, Ids::U64(_)), "UInt64 ids are read in place");
    assert_eq!(
        (in_place.ids().source.to_vec(), in_place.ids().target.to_vec(), in_place.ids().edge_id.to_vec()),
        (native.source.clone(), native.target.clone(), native.edge_id.clone())
    );

    // @library-style dictionary column with a null (node without the property).
    let dictionary: DictionaryArray<Int8Type> = vec![Some("INH"), None, Some("EXC"), Some("INH")].into_iter().collect();
    let column = read_pathway_column(&ipc(vec![("synapse_class", Arc::new(dictionary))]), "S1").unwrap();
    let decoded: Vec<Option<&str>> =
        column.codes.iter().map(|&c| column.dictionary.get(c as usize).map(String::as_str)).collect();
    assert_eq!(decoded, vec![Some("INH"), None, Some("EXC"), Some("INH")]);
    // All-null (a virtual population without the property): an empty dictionary, no panic.
    let nulls: DictionaryArray<Int8Type> = vec![None::<&str>, None].into_iter().collect();
    let column = read_pathway_column(&ipc(vec![("synapse_class", Arc::new(nulls))]), "VPM").unwrap();
    assert_eq!(column.codes, vec![synparam::engine::MISSING; 2]);
    let plain =
        read_pathway_column(&ipc(vec![("mtype", Arc::new(StringArray::from(vec!["L5_TPC", "L4_SS"])))]), "S1").unwrap();
    assert_eq!(plain.dictionary, vec!["L5_TPC", "L4_SS"]);
    let integers =
        read_pathway_column(&ipc(vec![("layer", Arc::new(Int64Array::from(vec![Some(5), None])))]), "S1").unwrap();
    assert_eq!(integers.dictionary, vec!["5"]);
    assert_eq!(integers.codes[1], synparam::engine::MISSING);
    let floats = ipc(vec![("x", Arc::new(arrow_array::Float64Array::from(vec![1.0])) as ArrayRef)]);
    assert!(read_pathway_column(&floats, "S1").unwrap_err().to_string().contains("strings or integers"));
}

/// The same edges as 32-bit and as 64-bit ids, and as every mix of the two, draw the very same
/// values (the widths only change what is copied, never what is drawn).
#[test]
fn id_widths_do_not_change_the_results() {
    let chunk = EdgeChunk {
        source: (0..400).map(|i| (i * 7 % 50) as u64).collect(),
        target: (0..400).map(|i| (i / 8 % 50) as u64).collect(),
        edge_id: (0..400).map(|i| 5_000 + i as u64).collect(),
    };
    let narrow = |ids: &[u64]| ids.iter().map(|&id| id as u32).collect::<Vec<u32>>();
    let (source, target, edge_id) = (narrow(&chunk.source), narrow(&chunk.target), narrow(&chunk.edge_id));
    let expected = tm_run(TM, 3, 50).run_chunk("pop", &chunk).unwrap();
    fn ids<'a>(narrow: bool, wide: &'a [u64], narrowed: &'a [u32]) -> Ids<'a> {
        if narrow {
            Ids::U32(narrowed)
        } else {
            Ids::U64(wide)
        }
    }
    for mask in 0..8 {
        let edges = EdgeIds {
            source: ids(mask & 1 != 0, &chunk.source, &source),
            target: ids(mask & 2 != 0, &chunk.target, &target),
            edge_id: ids(mask & 4 != 0, &chunk.edge_id, &edge_id),
        };
        let result = tm_run(TM, 3, 50).run_edges("pop", edges).unwrap();
        assert_eq!(result, expected, "widths mask {mask:03b}");
    }
    // Out-of-range ids are reported alike at either width.
    let mut run = tm_run(TM, 3, 10);
    let wide_error = run.run_chunk("pop", &chunk).unwrap_err().to_string();
    let narrow_edges = EdgeIds { source: Ids::U32(&source), target: Ids::U32(&target), edge_id: Ids::U32(&edge_id) };
    assert_eq!(run.run_edges("pop", narrow_edges).unwrap_err().to_string(), wide_error);
}

#[test]
fn result_columns_have_the_property_types() {
    let mut run = tm_run(TM, 1, 10);
    let result = run.run_chunk("pop", &common::distinct_connections(10)).unwrap();
    let bytes = synparam::arrow_io::write_chunk_result(result).unwrap();
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    let schema = reader.schema();
    assert_eq!(schema.field_with_name("syn_type_id").unwrap().data_type(), &DataType::Int64);
    assert_eq!(schema.field_with_name("n_rrp_vesicles").unwrap().data_type(), &DataType::Int64);
    assert_eq!(schema.field_with_name("conductance").unwrap().data_type(), &DataType::Float64);
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches[0].num_rows(), 10);
}

/// Distinct connections per pathway are exact however the edges are chunked and ordered: a pair
/// split across chunks, or repeated out of order, counts once.
#[test]
fn connections_are_counted_once_per_pair_whatever_the_chunking_and_order() {
    let n_nodes = 30;
    let chunk = EdgeChunk {
        source: (0..600).map(|i| (i * 7 % n_nodes) as u64).collect(),
        target: (0..600).map(|i| (i / 20 % n_nodes) as u64).collect(),
        edge_id: (0..600).collect(),
    };
    let nodes = ei_nodes("nodes", n_nodes);
    let mut expected: HashMap<(String, String), std::collections::HashSet<(u64, u64)>> = HashMap::new();
    for (&s, &t) in chunk.source.iter().zip(&chunk.target) {
        let name = |id: u64| nodes.dictionary[nodes.codes[id as usize] as usize].clone();
        expected.entry((name(s), name(t))).or_default().insert((s, t));
    }
    let mut expected: Vec<(String, String, u64)> =
        expected.into_iter().map(|((s, t), pairs)| (s, t, pairs.len() as u64)).collect();
    expected.sort();
    let counted = |pieces: Vec<EdgeChunk>| {
        let mut run = tm_run(TM, 1, n_nodes);
        for piece in &pieces {
            run.run_chunk("pop", piece).unwrap();
        }
        let mut counts = run.connections("pop").unwrap();
        counts.sort();
        counts
    };
    assert_eq!(counted(vec![chunk.clone()]), expected);
    assert_eq!(counted(vec![slice(&chunk, 0..13), slice(&chunk, 13..400), slice(&chunk, 400..600)]), expected);
    let mut reversed = chunk.clone();
    reversed.source.reverse();
    reversed.target.reverse();
    reversed.edge_id.reverse();
    assert_eq!(counted(vec![reversed, chunk.clone()]), expected, "the same edges twice count once");
    let mut run = tm_run(TM, 1, n_nodes);
    run.run_chunk("pop", &chunk).unwrap();
    run.reset_statistics();
    assert!(run.connections("pop").unwrap().is_empty(), "a reset forgets the connections");
    assert!(run.connections("other").is_err());
}

#[test]
fn a_run_warns_of_clipped_values_and_of_values_beyond_a_propertys_physiological_range() {
    let spec = |mean: f64| json!({"type": "normal", "mean": mean, "std": 0.5, "shared_within": false});
    let config = json!({"src_types": ["EXC", "INH"], "tgt_types": ["EXC", "INH"], "prop_stats": {
        "conductance": {"EXC": {"EXC": spec(-1.0), "INH": spec(5.0)}, "INH": {"EXC": spec(5.0), "INH": spec(5.0)}},
        "u_syn": {"EXC": {"EXC": spec(0.5), "INH": {"type": "normal", "mean": 0.5, "std": 0.5, "upper_bound": 0.6, "shared_within": false}},
                  "INH": {"EXC": spec(0.5), "INH": spec(0.5)}}}});
    let mut run = tm_run(&config.to_string(), 3, 40);
    let chunk = EdgeChunk {
        source: (0..400).map(|i| i % 40).collect(),
        target: (0..400).map(|i| (i * 7) % 40).collect(),
        edge_id: (0..400).collect(),
    };
    run.run_chunk("pop", &chunk).unwrap();
    let warnings = synparam::stats::run_warnings("pop", &run.statistics());
    let has = |pattern: &str| warnings.iter().any(|w| w.contains(pattern));
    assert!(has("pop: conductance EXC → EXC: values down to -"), "{warnings:#?}");
    assert!(has("conductance is ≥ 0 in nature"), "{warnings:#?}");
    assert!(!has("conductance EXC → INH"), "{warnings:#?}");
    assert!(
        has("pop: u_syn EXC → EXC: values up to 1.") || has("pop: u_syn EXC → EXC: values up to 2"),
        "{warnings:#?}"
    );
    assert!(has("u_syn is [0, 1] in nature"), "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("pop: u_syn EXC → INH: ") && w.ends_with("% of values clipped by bounds")),
        "{warnings:#?}"
    );
}
