//! The `empirical` spec (design §2.2): rows of a pathway's table drawn uniformly from the table's
//! own keyed stream, shared by every property naming the table; invariance under chunking and
//! edge order; refusals with their JSON paths; statistics as the rows' discrete law.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::needless_range_loop)]

mod common;

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use synparam::engine::EdgeChunk;
use synparam::Parameterizer;

/// Rows of the joint table: (a, b) pairs, the a's distinct so a drawn a names its row.
const ROWS: usize = 20;

fn table_a() -> Vec<f64> {
    (0..ROWS).map(|r| r as f64).collect()
}

fn table_b() -> Vec<f64> {
    (0..ROWS).map(|r| 0.5 + (r * r % 7) as f64 * 0.25).collect()
}

/// A one-pathway model: `a` and `b` share table `conn` (one row per connection), `c` takes rows
/// of table `syn` per synapse, `d` is a gamma (another property's stream).
fn model() -> Value {
    let spec = |values: Vec<f64>, table: &str, shared: bool| json!({"type": "empirical", "values": values, "table": table, "shared_within": shared});
    json!({
        "src_types": ["A"], "tgt_types": ["A"],
        "prop_stats": {
            "a": {"A": {"A": spec(table_a(), "conn", true)}},
            "b": {"A": {"A": spec(table_b(), "conn", true)}},
            "c": {"A": {"A": spec(vec![1.0, 2.0, 3.0], "syn", false)}},
            "d": {"A": {"A": {"type": "gamma", "mean": 1.0, "std": 0.5}}},
        }
    })
}

/// `connections` connections of `per` synapses each, their synapses interleaved.
fn edges(connections: u64, per: u64) -> EdgeChunk {
    let mut chunk = EdgeChunk::default();
    for repeat in 0..per {
        for c in 0..connections {
            chunk.source.push(c % 97);
            chunk.target.push(c);
            chunk.edge_id.push(repeat * connections + c);
        }
    }
    chunk
}

fn run(config: &Value, seed: u64, nodes: usize) -> Parameterizer {
    let mut run = Parameterizer::new(&config.to_string(), Some(seed)).unwrap();
    run.add_edge_population("pop", common::uniform_nodes("s", nodes), common::uniform_nodes("t", nodes), "p", None)
        .unwrap();
    run
}

/// Values by property name, in the chunk's order.
fn values(run: &mut Parameterizer, chunk: &EdgeChunk) -> HashMap<String, Vec<f64>> {
    let result = run.run_chunk("pop", chunk).unwrap();
    result.properties.into_iter().map(|p| (p.name, p.values)).collect()
}

#[test]
fn every_drawn_vector_is_a_row_and_a_connection_keeps_its_row() {
    let chunk = edges(3000, 3);
    let mut run = run(&model(), 7, 3000);
    let v = values(&mut run, &chunk);
    let rows: HashSet<(u64, u64)> = table_a().iter().zip(table_b()).map(|(a, b)| (a.to_bits(), b.to_bits())).collect();
    let mut per_connection: HashMap<(u64, u64), (f64, f64)> = HashMap::new();
    let mut c_per_connection: HashMap<(u64, u64), HashSet<u64>> = HashMap::new();
    for i in 0..chunk.len() {
        let (a, b) = (v["a"][i], v["b"][i]);
        assert!(rows.contains(&(a.to_bits(), b.to_bits())), "({a}, {b}) at edge {} is no row", chunk.edge_id[i]);
        let connection = (chunk.source[i], chunk.target[i]);
        let first = *per_connection.entry(connection).or_insert((a, b));
        assert_eq!(first, (a, b), "one row per connection");
        assert!([1.0, 2.0, 3.0].contains(&v["c"][i]));
        c_per_connection.entry(connection).or_default().insert(v["c"][i].to_bits());
    }
    // Per-synapse rows differ within connections (3 synapses, 3 rows: most connections vary).
    let varying = c_per_connection.values().filter(|s| s.len() > 1).count();
    assert!(varying > 3000 / 2, "per-synapse rows vary within connections ({varying} of 3000)");
}

/// Chi-square of the row frequencies against equal weights, α = `common::ALPHA` (1e-3).
#[test]
fn rows_are_drawn_uniformly_per_connection_and_per_synapse() {
    let n = 20_000;
    let config = model();
    let mut run = run(&config, 11, n);
    let v = values(&mut run, &common::distinct_connections(n));
    let uniform = |_: i64| 1.0 / ROWS as f64;
    let p = common::chi_square_p_value(&v["a"], uniform, 0..=(ROWS as i64 - 1));
    assert!(p > common::ALPHA, "per-connection rows not uniform: p = {p}");
    let p = common::chi_square_p_value(&v["c"], |_| 1.0 / 3.0, 1..=3);
    assert!(p > common::ALPHA, "per-synapse rows not uniform: p = {p}");
    // The two tables (and the gamma) are independent streams: a and c uncorrelated.
    let r = common::correlation(&v["a"], &v["c"]);
    assert!(r.abs() < 4.0 / (n as f64).sqrt(), "tables correlated: {r}");
}

#[test]
fn draws_do_not_depend_on_chunking_edge_order_or_other_properties() {
    let chunk = edges(400, 3);
    let by_edge = |run: &mut Parameterizer, chunk: &EdgeChunk| common::by_edge(run, "pop", chunk);
    let whole = by_edge(&mut run(&model(), 3, 400), &chunk);
    let mut pieces = HashMap::new();
    let mut runner = run(&model(), 3, 400);
    let mut order: Vec<usize> = (0..chunk.len()).rev().collect();
    order.rotate_left(17);
    let reordered = EdgeChunk {
        source: order.iter().map(|&i| chunk.source[i]).collect(),
        target: order.iter().map(|&i| chunk.target[i]).collect(),
        edge_id: order.iter().map(|&i| chunk.edge_id[i]).collect(),
    };
    for start in (0..reordered.len()).step_by(101) {
        let end = (start + 101).min(reordered.len());
        let piece = EdgeChunk {
            source: reordered.source[start..end].to_vec(),
            target: reordered.target[start..end].to_vec(),
            edge_id: reordered.edge_id[start..end].to_vec(),
        };
        pieces.extend(by_edge(&mut runner, &piece));
    }
    assert_eq!(whole, pieces);
    // Another law for d, or b dropped, leaves a's rows unchanged.
    let mut other = model();
    other["prop_stats"]["d"]["A"]["A"] = json!({"type": "normal", "mean": 0.0, "std": 1.0});
    other["prop_stats"].as_object_mut().unwrap().remove("b");
    let changed = by_edge(&mut run(&other, 3, 400), &chunk);
    for (key, bits) in &whole {
        if key.0 == "a" || key.0 == "c" {
            assert_eq!(changed[key], *bits, "{key:?}");
        }
    }
}

#[test]
fn refusals_name_the_json_path() {
    let refused = |config: Value| Parameterizer::new(&config.to_string(), Some(1)).err().expect("refused");
    let mut lengths = model();
    lengths["prop_stats"]["b"]["A"]["A"]["values"] = json!([1.0, 2.0]);
    let err = refused(lengths);
    assert_eq!(err.path(), Some("prop_stats.b.A.A.values"), "{err}");
    assert!(err.to_string().contains("table 'conn'"), "{err}");

    let mut sharing = model();
    sharing["prop_stats"]["b"]["A"]["A"]["shared_within"] = json!(false);
    assert_eq!(refused(sharing).path(), Some("prop_stats.b.A.A.shared_within"));

    let text = model().to_string().replacen("[0.0,", "[NaN,", 1);
    let err = Parameterizer::new(&text, Some(1)).err().expect("refused");
    assert_eq!(err.path(), Some("prop_stats.a.A.A.values[0]"), "{err}");

    let mut empty = model();
    empty["prop_stats"]["c"]["A"]["A"]["values"] = json!([]);
    assert_eq!(refused(empty).path(), Some("prop_stats.c.A.A.values"));

    let mut unnamed = model();
    unnamed["prop_stats"]["c"]["A"]["A"].as_object_mut().unwrap().remove("table");
    assert_eq!(refused(unnamed).path(), Some("prop_stats.c.A.A.table"));

    let mut shifted = model();
    shifted["prop_stats"]["c"]["A"]["A"]["shift"] = json!(1.0);
    assert_eq!(refused(shifted).path(), Some("prop_stats.c.A.A.shift"));

    let mut correlated = model();
    correlated["prop_cov"] = json!({"props": ["d", "a"], "cov": {"A": {"A": [[1.0, 0.5], [0.5, 1.0]]}}});
    let err = refused(correlated);
    assert_eq!(err.path(), Some("prop_stats.a.A.A.type"), "{err}");

    let mut nested = model();
    nested["prop_stats"]["c"]["A"]["A"] = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": "apical"}, "spec": {"type": "empirical", "values": [1.0], "table": "x"}}]});
    assert_eq!(refused(nested).path(), Some("prop_stats.c.A.A.cases[0].spec.type"));
}

#[test]
fn statistics_overlay_the_rows_discrete_law() {
    let n = 5000;
    let mut config = model();
    // Repeated values weigh by their rows: 1 in two rows of four.
    config["prop_stats"]["c"]["A"]["A"]["values"] = json!([1, 1, 2, 3]);
    let mut run = run(&config, 5, n);
    run.run_chunk("pop", &common::distinct_connections(n)).unwrap();
    let statistics = run.statistics();
    let c = statistics.iter().find(|p| p.property == "c").unwrap();
    assert_eq!(c.column_type, "int64");
    let pathway = &c.pathways[0];
    assert_eq!(pathway.distribution, "empirical");
    assert!(!pathway.shared_within);
    assert!((pathway.theoretical_mean - 7.0 / 4.0).abs() < 1e-12);
    let expected: f64 = pathway.histogram.expected.iter().sum();
    assert!((expected - n as f64).abs() < 1e-6, "expected counts sum to {expected}");
    let nonzero: Vec<f64> = pathway.histogram.expected.iter().copied().filter(|&e| e > 0.0).collect();
    assert_eq!(nonzero.len(), 3);
    assert!((nonzero[0] - n as f64 / 2.0).abs() < 1e-6, "{nonzero:?}");
}
