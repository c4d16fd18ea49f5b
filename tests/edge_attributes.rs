//! Where a synapse sits (issue #26, design §2.7): edge attributes through the core — the reads a
//! model plans, `distance_soma`, the delay laws (connectome-manipulator's `lin_delay`,
//! functionalizer's `fz_delay`, exact), `scale_by`, the refusals — and the same bits for any
//! chunking, edge order and number of workers (1, 2, 4; states merged as the hosts merge them).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;

use serde_json::json;
use synparam::attributes::{SomaPositions, AFFERENT_CENTER, EFFERENT_CENTER};
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::storage::StorageChunk;
use synparam::Parameterizer;

const NODES: usize = 120;

fn nodes() -> PathwayColumn {
    let values: Vec<Option<&str>> = (0..NODES).map(|i| Some(if i % 5 == 4 { "INH" } else { "EXC" })).collect();
    PathwayColumn::from_values("cells", &values)
}

/// Soma positions on a 3D lattice (µm).
fn positions() -> SomaPositions {
    let coordinate = |i: usize, k: usize| ((i * (7 + 3 * k)) % 97) as f64 * 9.5;
    SomaPositions {
        x: (0..NODES).map(|i| coordinate(i, 0)).collect(),
        y: (0..NODES).map(|i| coordinate(i, 1)).collect(),
        z: (0..NODES).map(|i| coordinate(i, 2)).collect(),
    }
}

/// A target-sorted population, connections of 1–4 synapses, and per synapse its position near
/// the target soma (afferent_center_*) and a section type.
struct Edges {
    chunk: EdgeChunk,
    /// afferent_center_x/y/z, afferent_section_type.
    columns: [Vec<f64>; 4],
}

fn edges() -> Edges {
    let somata = positions();
    let mut chunk = EdgeChunk::default();
    let mut columns: [Vec<f64>; 4] = Default::default();
    let mut edge = 0u64;
    for target in 0..NODES as u64 {
        for k in 0..(target % 6 + 1) {
            let source = (target * 37 + k * 13 + 1) % NODES as u64;
            for s in 0..(k % 4 + 1) {
                chunk.source.push(source);
                chunk.target.push(target);
                chunk.edge_id.push(edge);
                let t = target as usize;
                let offset = |axis: u64| ((edge * 31 + axis * 17 + s) % 41) as f64 - 20.0;
                columns[0].push(somata.x[t] + offset(0));
                columns[1].push(somata.y[t] + offset(1));
                columns[2].push(somata.z[t] + offset(2));
                columns[3].push((edge % 4) as f64);
                edge += 1;
            }
        }
    }
    Edges { chunk, columns }
}

fn model() -> String {
    json!({
        "src_types": ["EXC", "INH"], "tgt_types": ["EXC", "INH"],
        "prop_stats": {
            "conductance": {
                "EXC": {"EXC": {"type": "gamma", "mean": 1.0, "std": 0.4, "shared_within": false,
                                "scale_by": {"attribute": "distance_soma", "table": [[0, 1.0], [300, 0.5], [800, 0.25]]}},
                        "INH": {"type": "gamma", "mean": 1.5, "std": 0.4}},
                "INH": {"EXC": {"type": "gamma", "mean": 2.0, "std": 0.5,
                                "scale_by": {"attribute": "afferent_section_type", "linear": [1.0, 0.5]}, "shared_within": false},
                        "INH": {"type": "gamma", "mean": 2.0, "std": 0.5}}},
            "delay": {
                "EXC": {"EXC": {"type": "lin_delay", "delay_mean_coeff_a": 0.75, "delay_mean_coeff_b": 0.003, "delay_std": 0.5, "delay_min": 0.2},
                        "INH": {"type": "lin_delay", "delay_mean_coeff_a": 0.3, "delay_mean_coeff_b": 0.004, "delay_std": 0.1, "delay_min": 0.1}},
                "INH": {"EXC": {"type": "fz_delay", "neural_transmitter_release_delay": 0.1, "axonal_conduction_velocity": 300},
                        "INH": {"type": "fz_delay", "neural_transmitter_release_delay": 0.1, "axonal_conduction_velocity": 300}}},
            "syn_type_id": {
                "EXC": {"EXC": {"type": "constant", "mean": 100}, "INH": {"type": "constant", "mean": 100}},
                "INH": {"EXC": {"type": "constant", "mean": 0}, "INH": {"type": "constant", "mean": 0}}}
        }
    })
    .to_string()
}

const DATASETS: [&str; 4] = ["afferent_center_x", "afferent_center_y", "afferent_center_z", "afferent_section_type"];

/// A run with its attributes planned from `available` and the positions given.
fn prepared(available: &[&str]) -> Parameterizer {
    let mut run = Parameterizer::new(&model(), Some(5)).unwrap();
    run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
    let reads = run.plan_edge_attributes("pop", available).unwrap();
    assert!(reads.source_positions);
    run.set_source_positions("pop", positions()).unwrap();
    run
}

/// The planned columns of `edges[range]`, in the plan's order.
fn columns_of<'a>(run: &mut Parameterizer, all: &'a Edges, range: std::ops::Range<usize>) -> Vec<&'a [f64]> {
    let reads = run.plan_edge_attributes("pop", &DATASETS).unwrap();
    reads.datasets.iter().map(|d| &all.columns[DATASETS.iter().position(|n| n == d).unwrap()][range.clone()]).collect()
}

fn slice(chunk: &EdgeChunk, range: std::ops::Range<usize>) -> EdgeChunk {
    EdgeChunk {
        source: chunk.source[range.clone()].to_vec(),
        target: chunk.target[range.clone()].to_vec(),
        edge_id: chunk.edge_id[range].to_vec(),
    }
}

/// Every property's stored bits by edge id, over chunks of `size`.
fn drawn_by_edge(size: usize) -> HashMap<(String, u64), u64> {
    let all = edges();
    let mut run = prepared(&DATASETS);
    let mut map = HashMap::new();
    let n = all.chunk.len();
    for start in (0..n).step_by(size) {
        let range = start..(start + size).min(n);
        let columns = columns_of(&mut run, &all, range.clone());
        let part = slice(&all.chunk, range);
        let result = run.run_chunk_with_attributes("pop", &part, &columns).unwrap();
        for property in &result.properties {
            for (i, v) in property.values.iter().enumerate() {
                map.insert((property.name.clone(), part.edge_id[i]), v.to_bits());
            }
        }
    }
    map
}

#[test]
fn the_model_names_its_attributes_and_the_plan_its_datasets() {
    let run = Parameterizer::new(&model(), Some(5)).unwrap();
    assert_eq!(run.required_edge_attributes(), ["distance_soma", "afferent_section_type"]);
    assert_eq!(run.task().summary().edge_attributes, ["distance_soma", "afferent_section_type"]);
    let mut run = prepared(&DATASETS);
    let reads = run.plan_edge_attributes("pop", &DATASETS).unwrap();
    assert_eq!(reads.datasets, DATASETS);
    assert_eq!(reads.synapse_position, Some("afferent_center"));
    // Only the efferent side in the file: distance_soma ends there.
    let efferent: Vec<&str> = EFFERENT_CENTER.iter().copied().chain(["afferent_section_type"]).collect();
    let reads = run.plan_edge_attributes("pop", &efferent).unwrap();
    assert_eq!(reads.synapse_position, Some("efferent_center"));
    assert_eq!(&reads.datasets[..3], EFFERENT_CENTER);
    // A model without attributes: nothing to read, and its JSON summary has no new key.
    let plain =
        Parameterizer::new(&common::single_spec_model(r#"{"type": "gamma", "mean": 1, "std": 0.5}"#), Some(1)).unwrap();
    assert!(plain.required_edge_attributes().is_empty());
    assert!(!serde_json::to_string(&plain.task().summary()).unwrap().contains("edge_attributes"));
}

#[test]
fn missing_datasets_are_named_before_anything_is_written() {
    let mut run = Parameterizer::new(&model(), Some(5)).unwrap();
    run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
    // Nothing planned: the output plan (what hosts call before writing) is refused.
    let error = run.plan_output("pop", 10, &[], &[0], false, None).unwrap_err().to_string();
    assert!(error.contains("reads per-synapse attributes (distance_soma, afferent_section_type)"), "{error}");
    let error = run.plan_edge_attributes("pop", &["afferent_center_x", "spine_length"]).unwrap_err().to_string();
    assert_eq!(
        error,
        "edge population 'pop': the model reads edge datasets this population lacks: afferent_center_y, afferent_center_z (or efferent_center_x/y/z; for distance_soma); afferent_section_type"
    );
    // Planned, but the positions not given yet.
    run.plan_edge_attributes("pop", &DATASETS).unwrap();
    let error = run.plan_output("pop", 10, &[], &[0], false, None).unwrap_err().to_string();
    assert!(error.contains("needs the source nodes' positions"), "{error}");
    let error = run.set_source_positions("pop", SomaPositions::default()).unwrap_err().to_string();
    assert!(error.contains("0 values of x for 120 source nodes"), "{error}");
    run.set_source_positions("pop", positions()).unwrap();
    run.plan_output("pop", 10, &[], &[0], false, None).unwrap();
    // The chunk must bring the planned columns.
    let chunk = EdgeChunk { source: vec![0], target: vec![1], edge_id: vec![0] };
    let error = run.run_chunk("pop", &chunk).unwrap_err().to_string();
    assert!(error.contains("0 attribute columns given, the plan reads 4"), "{error}");
    let short = [0.0; 2];
    let error = run.run_chunk_with_attributes("pop", &chunk, &[&short, &[0.0], &[0.0], &[0.0]]).unwrap_err();
    assert!(error.to_string().contains("column afferent_center_x has 2 values for 1 edges"), "{error}");
    let error = run.run_chunk_with_attributes("pop", &chunk, &[&[f64::NAN], &[0.0], &[0.0], &[0.0]]).unwrap_err();
    assert!(error.to_string().contains("attribute distance_soma: edge 0 has NaN"), "{error}");
}

#[test]
fn a_model_without_attributes_refuses_attribute_columns_and_keeps_its_bits() {
    let config = common::single_spec_model(r#"{"type": "gamma", "mean": 1, "std": 0.5}"#);
    let mut run = Parameterizer::new(&config, Some(1)).unwrap();
    run.add_edge_population("e", common::uniform_nodes("a", 4), common::uniform_nodes("b", 4), "p", None).unwrap();
    let chunk = common::distinct_connections(4);
    assert!(run.run_chunk_with_attributes("e", &chunk, &[&[0.0; 4]]).is_err());
    let with = run.run_chunk_with_attributes("e", &chunk, &[]).unwrap();
    let without = run.run_chunk("e", &chunk).unwrap();
    assert_eq!(with, without);
}

#[test]
fn the_same_bits_for_any_chunking_and_edge_order() {
    let whole = drawn_by_edge(usize::MAX >> 1);
    for size in [1, 7, 64, 1000] {
        assert_eq!(drawn_by_edge(size), whole, "chunks of {size}");
    }
    // Reversed edge order, one chunk.
    let all = edges();
    let mut run = prepared(&DATASETS);
    let order: Vec<usize> = (0..all.chunk.len()).rev().collect();
    let reversed = EdgeChunk {
        source: order.iter().map(|&i| all.chunk.source[i]).collect(),
        target: order.iter().map(|&i| all.chunk.target[i]).collect(),
        edge_id: order.iter().map(|&i| all.chunk.edge_id[i]).collect(),
    };
    let columns: Vec<Vec<f64>> = all.columns.iter().map(|c| order.iter().map(|&i| c[i]).collect()).collect();
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let result = run.run_chunk_with_attributes("pop", &reversed, &refs).unwrap();
    for property in &result.properties {
        for (i, v) in property.values.iter().enumerate() {
            assert_eq!(whole[&(property.name.clone(), reversed.edge_id[i])], v.to_bits(), "{}", property.name);
        }
    }
}

/// Values drawn by `workers` runs over target-aligned parts, stored, merged into one state:
/// (stored delays by edge, digests, statistics of the merged run).
fn parallel(workers: usize) -> (Vec<u64>, Vec<synparam::storage::Digest>, String) {
    let all = edges();
    let n = all.chunk.len();
    // Cut where the target changes, as the coordinators do.
    let mut cuts = vec![0];
    for w in 1..workers {
        let mut at = n * w / workers;
        while at < n && all.chunk.target[at] == all.chunk.target[at - 1] {
            at += 1;
        }
        cuts.push(at);
    }
    cuts.push(n);
    let make = || {
        let mut run = prepared(&DATASETS);
        run.assume_sorted_by_target("pop").unwrap();
        run.plan_output("pop", n as u64, &[], &[0], false, None).unwrap();
        run
    };
    let parts: Vec<(Parameterizer, Vec<(u64, u64)>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let all = &all;
                let range = w[0]..w[1];
                scope.spawn(move || {
                    let mut run = make();
                    let columns = columns_of(&mut run, all, range.clone());
                    let part = slice(&all.chunk, range);
                    let mut out = StorageChunk::default();
                    let result = run.run_storage_with_attributes("pop", part.ids(), None, &columns, &mut out).unwrap();
                    let delay = result.properties.iter().find(|p| p.name == "delay").unwrap();
                    let values = part.edge_id.iter().zip(&delay.values).map(|(&e, v)| (e, v.to_bits())).collect();
                    (run, values)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut merged = make();
    let mut delays = vec![0u64; n];
    for (run, values) in &parts {
        merged.merge_state("pop", &run.export_state("pop").unwrap()).unwrap();
        for &(edge, bits) in values {
            delays[edge as usize] = bits;
        }
    }
    let digests = merged.dataset_digests("pop").unwrap().into_iter().map(|(_, d)| d).collect();
    let counts: Vec<(String, String, String, u64, Vec<u64>, String)> = merged
        .statistics()
        .into_iter()
        .flat_map(|p| {
            let name = p.property.clone();
            p.pathways.into_iter().map(move |s| {
                (name.clone(), s.source, s.target, s.count, s.histogram.counts, format!("{:?}", s.scatter))
            })
        })
        .collect();
    (delays, digests, format!("{counts:?}"))
}

#[test]
fn one_two_and_four_workers_store_the_same_bits() {
    let one = parallel(1);
    for workers in [2, 4] {
        let other = parallel(workers);
        assert_eq!(other.0, one.0, "delays with {workers} workers");
        assert_eq!(other.1, one.1, "digests with {workers} workers");
        assert_eq!(other.2, one.2, "statistics counts with {workers} workers");
    }
}

#[test]
fn fz_delay_is_functionalizers_formula_to_the_bit() {
    let all = edges();
    let mut run = prepared(&DATASETS);
    let columns = columns_of(&mut run, &all, 0..all.chunk.len());
    let result = run.run_chunk_with_attributes("pop", &all.chunk, &columns).unwrap();
    let delay = result.properties.iter().find(|p| p.name == "delay").unwrap();
    let somata = positions();
    let mut checked = 0;
    for i in 0..all.chunk.len() {
        let source = all.chunk.source[i] as usize;
        if source % 5 != 4 {
            continue; // EXC sources draw lin_delay
        }
        let d = ((all.columns[0][i] - somata.x[source]).powi(2)
            + (all.columns[1][i] - somata.y[source]).powi(2)
            + (all.columns[2][i] - somata.z[source]).powi(2))
        .sqrt();
        // functionalizer: float32 parameters, Spark's float64 arithmetic, then cast to float.
        let expected = f64::from(0.1f32) + d / f64::from(300f32);
        assert_eq!(delay.values[i].to_bits(), expected.to_bits(), "edge {i}");
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
    // A new delay dataset is float32 (SONATA's type): the cast functionalizer's `.cast(FloatType)`
    // makes, round to nearest.
    let plan = run.plan_output("pop", all.chunk.len() as u64, &[], &[0], false, None).unwrap();
    let stored = plan.datasets.iter().find(|d| d.property == "delay").unwrap();
    assert_eq!(stored.storage, "float32");
}

#[test]
fn scale_by_multiplies_the_drawn_value_before_bounds() {
    let config = |scale: &str, bound: &str| {
        common::single_spec_model(&format!(
            r#"{{"type": "gamma", "mean": 1, "std": 0.5, "shared_within": false, "scale_by": {scale}{bound}}}"#
        ))
    };
    let draw = |config: &str, attribute: &[f64]| -> Vec<f64> {
        let mut run = Parameterizer::new(config, Some(3)).unwrap();
        let n = attribute.len();
        run.add_edge_population("e", common::uniform_nodes("a", n), common::uniform_nodes("b", n), "p", None).unwrap();
        let reads = run.plan_edge_attributes("e", &["spine_length"]).unwrap();
        assert_eq!(reads.datasets, ["spine_length"]);
        assert!(!reads.source_positions);
        run.run_chunk_with_attributes("e", &common::distinct_connections(n), &[attribute]).unwrap().properties[0]
            .values
            .clone()
    };
    let x = [0.0, 0.5, 1.0, 2.0, 10.0];
    let one = draw(&config(r#"{"attribute": "spine_length", "linear": [1, 0]}"#, ""), &x);
    let linear = draw(&config(r#"{"attribute": "spine_length", "linear": [2, 0.5]}"#, ""), &x);
    let table = draw(&config(r#"{"attribute": "spine_length", "table": [[0, 1], [1, 3]]}"#, ""), &x);
    let bounded = draw(&config(r#"{"attribute": "spine_length", "linear": [2, 0.5]}"#, r#", "upper_bound": 2.5"#), &x);
    for i in 0..x.len() {
        assert_eq!(linear[i], one[i] * (2.0 + 0.5 * x[i]));
        assert_eq!(table[i], one[i] * (1.0 + 2.0 * x[i].min(1.0)));
        assert_eq!(bounded[i], linear[i].min(2.5));
    }
}

#[test]
fn per_synapse_attributes_refuse_one_draw_per_connection() {
    let spec = |text: &str| match synparam::config::parse_pathway_spec(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(error) => error.to_string(),
    };
    let error = spec(
        r#"{"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0.003, "delay_std": 0.5, "delay_min": 0.2, "shared_within": true}"#,
    );
    assert_eq!(
        error,
        "shared_within: lin_delay depends on each synapse's distance_soma, which differs between the synapses of one connection: one draw per connection cannot follow it (leave shared_within out or set it false)"
    );
    let error = spec(
        r#"{"type": "gamma", "mean": 1, "std": 0.5, "shared_within": 1, "scale_by": {"attribute": "distance_soma", "linear": [1, 0.001]}}"#,
    );
    assert!(error.starts_with("shared_within: scale_by reads each synapse's distance_soma"), "{error}");
    let scaled = synparam::config::parse_pathway_spec(
        r#"{"type": "gamma", "mean": 1, "std": 0.5, "scale_by": {"attribute": "distance_soma", "linear": [1, 0.001]}}"#,
    )
    .unwrap();
    assert!(!scaled.shared_within, "a scaled spec is drawn per synapse by default");
    // Per synapse by default.
    let delay = synparam::config::parse_pathway_spec(
        r#"{"type": "fz_delay", "neural_transmitter_release_delay": 0.1, "axonal_conduction_velocity": 300}"#,
    )
    .unwrap();
    assert!(!delay.shared_within);
    for (text, expected) in [
        (
            r#"{"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0, "delay_std": -1, "delay_min": 0}"#,
            "delay_std: must be ≥ 0 for lin_delay, got -1",
        ),
        (
            r#"{"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0, "delay_std": 1, "delay_min": -0.1}"#,
            "delay_min: must be ≥ 0 for lin_delay, got -0.1",
        ),
        (
            r#"{"type": "fz_delay", "neural_transmitter_release_delay": 0.1, "axonal_conduction_velocity": 0}"#,
            "axonal_conduction_velocity: must be > 0",
        ),
        (
            r#"{"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0, "delay_std": 1, "delay_min": 0, "truncate": {"min": 1}}"#,
            "truncate: not supported with lin_delay",
        ),
        (
            r#"{"type": "gamma", "mean": 1, "std": 1, "shared_within": false, "scale_by": {"attribute": "x", "table": [[1, 1], [1, 2]]}}"#,
            "scale_by.table[1][0]: x must increase strictly: 1 after 1",
        ),
        (
            r#"{"type": "gamma", "mean": 1, "std": 1, "shared_within": false, "scale_by": {"attribute": "edge_group_id", "linear": [1, 0]}}"#,
            "scale_by.attribute: 'edge_group_id' is not an edge attribute",
        ),
        (
            r#"{"type": "gamma", "mean": 1, "std": 1, "shared_within": false, "scale_by": {"attribute": "x"}}"#,
            "scale_by: give exactly one of linear",
        ),
    ] {
        let error = spec(text);
        assert!(error.starts_with(expected), "{text}: {error}");
    }
    // Not in prop_cov.
    let config = json!({"src_types": ["A"], "tgt_types": ["A"], "prop_stats": {
        "u": {"A": {"A": {"type": "normal", "mean": 1, "std": 1, "shared_within": false}}},
        "delay": {"A": {"A": {"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0, "delay_std": 1, "delay_min": 0}}}},
        "prop_cov": {"props": ["u", "delay"], "cov": {"A": {"A": [[1, 0.5], [0.5, 1]]}}}});
    let error = Parameterizer::new(&config.to_string(), Some(1)).err().unwrap().to_string();
    assert!(error.starts_with("prop_stats.delay.A.A: depends on an edge attribute"), "{error}");
}

#[test]
fn attribute_laws_report_no_expectation_and_their_formula() {
    let all = edges();
    let mut run = prepared(&AFFERENT_CENTER.iter().copied().chain(["afferent_section_type"]).collect::<Vec<_>>());
    let columns = columns_of(&mut run, &all, 0..all.chunk.len());
    run.run_chunk_with_attributes("pop", &all.chunk, &columns).unwrap();
    let stats = run.statistics();
    let delay = stats.iter().find(|p| p.property == "delay").unwrap();
    let exc = delay.pathways.iter().find(|p| p.source == "EXC" && p.target == "EXC").unwrap();
    assert_eq!(exc.distribution, "lin_delay");
    assert!(
        exc.formula.starts_with("lin_delay: N(μ = 0.75 + 0.003·distance_soma, σ = 0.5) truncated below at 0.2"),
        "{}",
        exc.formula
    );
    assert!(exc.formula.ends_with("one draw per synapse"), "{}", exc.formula);
    assert!(exc.goodness_of_fit.is_none() && exc.theoretical_mean.is_nan());
    assert!(exc.histogram.expected.iter().all(|&e| e == 0.0));
    assert!(exc.min.unwrap() >= 0.2);
    let inh = delay.pathways.iter().find(|p| p.source == "INH").unwrap();
    assert_eq!(inh.distribution, "fz_delay");
    let conductance = stats.iter().find(|p| p.property == "conductance").unwrap();
    let scaled = conductance.pathways.iter().find(|p| p.source == "EXC" && p.target == "EXC").unwrap();
    assert!(scaled.formula.contains("× f(distance_soma), f linear between 3 points (0 … 800)"), "{}", scaled.formula);
}

#[test]
fn recipes_draw_functionalizers_delay_when_asked() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recipes/fz_recipe_uhill.json"))
            .unwrap();
    let mut rules = synparam::rules::parse_rules(&text).unwrap();
    // Unchanged unless a host asks: delay is left unset, as before.
    assert_eq!(rules.unset.len(), 1);
    assert!(
        rules.unset[0].reason.contains("drawn when the run reads the synapses' positions"),
        "{}",
        rules.unset[0].reason
    );
    assert!(rules.rules.iter().all(|r| r.assign.is_empty()));
    let delays = rules.soma_delays.clone();
    assert_eq!(delays.len(), rules.rules.len());
    assert!(rules.assign_soma_delays());
    assert!(rules.unset.is_empty());
    assert!(rules.notes.iter().any(|n| n.starts_with("delay = neural_transmitter_release_delay + distance_soma")));
    for (rule, delay) in rules.rules.iter().zip(&delays) {
        let (_, spec) = rule.assign.iter().find(|(p, _)| p == "delay").unwrap();
        assert_eq!(spec["type"], "fz_delay");
        assert_eq!(spec["neural_transmitter_release_delay"], json!(delay.release_delay));
        assert_eq!(spec["axonal_conduction_velocity"], json!(delay.velocity));
    }
    // A recipe without the parameters has nothing to assign.
    let bare = json!({"version": 1, "synapse_properties": {
        "rules": [{"src_mtype": "*", "dst_mtype": "*", "class": "E1"}],
        "classes": [{"class": "E1", "conductance_mu": 1, "conductance_sd": 0.5, "decay_time_mu": 1, "decay_time_sd": 0.1,
                      "u_syn_mu": 0.5, "u_syn_sd": 0.1, "depression_time_mu": 100, "depression_time_sd": 10,
                      "facilitation_time_mu": 10, "facilitation_time_sd": 1, "n_rrp_vesicles_mu": 2}]}});
    let mut bare = synparam::rules::parse_rules(&bare.to_string()).unwrap();
    assert!(!bare.assign_soma_delays());
    assert_eq!(bare.unset[0].property, "delay");
    // Given on one rule only: the others take fz-td-recipe's defaults; bad values are named.
    let one = json!({"version": 1, "synapse_properties": {
        "rules": [{"src_mtype": "*", "dst_mtype": "*", "class": "E1"},
                  {"src_mtype": "L5*", "dst_mtype": "*", "class": "E1", "axonal_conduction_velocity": 500}],
        "classes": bare.classes.iter().map(|_| json!({"class": "E1", "conductance_mu": 1, "conductance_sd": 0.5, "decay_time_mu": 1, "decay_time_sd": 0.1,
                      "u_syn_mu": 0.5, "u_syn_sd": 0.1, "depression_time_mu": 100, "depression_time_sd": 10,
                      "facilitation_time_mu": 10, "facilitation_time_sd": 1, "n_rrp_vesicles_mu": 2})).collect::<Vec<_>>()}});
    let rules = synparam::rules::parse_rules(&one.to_string()).unwrap();
    assert_eq!((rules.soma_delays[0].release_delay, rules.soma_delays[0].velocity), (0.1, 300.0));
    assert_eq!((rules.soma_delays[1].release_delay, rules.soma_delays[1].velocity), (0.1, 500.0));
    let bad = one.to_string().replace("\"axonal_conduction_velocity\":500", "\"axonal_conduction_velocity\":0");
    let error = synparam::rules::parse_rules(&bad).unwrap_err().to_string();
    assert_eq!(error, "synapse_properties.rules[1].axonal_conduction_velocity: must be a number > 0, got 0");
}

#[test]
fn recipes_draw_the_delay_where_every_population_has_centres_and_somata() {
    use synparam::rules::PopulationGeometry;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recipes/fz_recipe_uhill.json"))
            .unwrap();
    let geometry = |population: &str, datasets: &[&str], source_positions: bool| PopulationGeometry {
        population: population.into(),
        datasets: datasets.iter().map(|d| d.to_string()).collect(),
        source_positions,
    };
    let full = geometry("a", &AFFERENT_CENTER, true);
    // Every population can give distance_soma (the efferent side counts): drawn.
    let mut rules = synparam::rules::parse_rules(&text).unwrap();
    assert!(rules.assign_soma_delays_where_possible(&[full.clone(), geometry("b", &EFFERENT_CENTER, true)]));
    assert!(rules.unset.is_empty());
    // One population without centres, or without somata: unset, the reason naming it.
    for (lacking, why) in [
        (geometry("b", &["conductance"], true), "edge population 'b' has no synapse centres"),
        (geometry("b", &AFFERENT_CENTER, false), "the source nodes of edge population 'b' have no soma positions"),
    ] {
        let mut rules = synparam::rules::parse_rules(&text).unwrap();
        assert!(!rules.assign_soma_delays_where_possible(&[full.clone(), lacking]));
        assert!(rules.rules.iter().all(|r| r.assign.is_empty()));
        assert!(rules.unset[0].reason.contains(why), "{}", rules.unset[0].reason);
    }
    // Nothing known of the circuit: nothing assigned.
    let mut rules = synparam::rules::parse_rules(&text).unwrap();
    assert!(!rules.assign_soma_delays_where_possible(&[]));
}

#[test]
fn xml_recipes_read_the_delay_of_the_rule_over_its_group() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recipes/fztd_synapse_properties_uhill_all.xml"
    ))
    .unwrap();
    let mut rules = synparam::rules::parse_rules(&text).unwrap();
    assert_eq!(rules.soma_delays.len(), rules.rules.len());
    assert!(rules.soma_delays.iter().all(|d| d.velocity > 0.0 && d.release_delay >= 0.0));
    assert!(rules.assign_soma_delays());
    assert!(rules.rules.iter().all(|r| r.assign.iter().any(|(p, _)| p == "delay")));
}

/// The statistics' value-against-distance view of one lin_delay pathway over 6000 synapses fed
/// in chunks of `size`: `(points, mean line)`.
fn delay_scatter(size: usize) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let config = common::single_spec_model(
        r#"{"type": "lin_delay", "delay_mean_coeff_a": 0.5, "delay_mean_coeff_b": 0.004, "delay_std": 0.2, "delay_min": 0.1}"#,
    );
    let n = 6000;
    let mut run = Parameterizer::new(&config, Some(3)).unwrap();
    run.add_edge_population("e", common::uniform_nodes("a", n), common::uniform_nodes("b", n), "p", None).unwrap();
    run.plan_edge_attributes("e", &AFFERENT_CENTER).unwrap();
    let zeros = vec![0.0; n];
    run.set_source_positions("e", SomaPositions { x: zeros.clone(), y: zeros.clone(), z: zeros.clone() }).unwrap();
    let all = common::distinct_connections(n);
    let x: Vec<f64> = (0..n).map(|i| (i % 900) as f64).collect();
    for start in (0..n).step_by(size) {
        let range = start..(start + size).min(n);
        let part = slice(&all, range.clone());
        run.run_chunk_with_attributes("e", &part, &[&x[range.clone()], &zeros[range.clone()], &zeros[range]]).unwrap();
    }
    let stats = run.statistics();
    let scatter = stats[0].pathways[0].scatter.clone().expect("a located spec has a scatter view");
    assert_eq!(scatter.attribute, "distance_soma");
    (scatter.points, scatter.mean_line)
}

#[test]
fn the_value_against_distance_view_keeps_the_same_points_for_any_chunking_with_the_models_mean_line() {
    let (points, line) = delay_scatter(6000);
    assert_eq!(points.len(), synparam::stats::SCATTER_POINTS);
    for size in [1, 333] {
        assert_eq!(delay_scatter(size), (points.clone(), line.clone()), "chunks of {size}");
    }
    // Spread over the distances (a hash, not the first synapses), sorted by distance.
    assert!(points[0][0] < 50.0 && points[points.len() - 1][0] > 850.0);
    assert!(points.windows(2).all(|w| w[0][0] <= w[1][0]));
    let law = synparam::attributes::AttributeLaw::LinDelay { a: 0.5, b: 0.004, std: 0.2, min: 0.1 };
    for [x, mean] in &line {
        assert_eq!(*mean, law.moments_at(*x).0);
    }
    // A model without attributes has no such view (and none in its JSON).
    let plain = common::single_spec_model(r#"{"type": "gamma", "mean": 1, "std": 0.5}"#);
    let mut run = Parameterizer::new(&plain, Some(1)).unwrap();
    run.add_edge_population("e", common::uniform_nodes("a", 4), common::uniform_nodes("b", 4), "p", None).unwrap();
    run.run_chunk("e", &common::distinct_connections(4)).unwrap();
    assert!(run.statistics()[0].pathways[0].scatter.is_none());
    assert!(!serde_json::to_string(&run.statistics()).unwrap().contains("scatter"));
}

#[test]
fn a_whole_constant_scaled_by_an_attribute_is_stored_as_a_float() {
    let config = common::single_spec_model(
        r#"{"type": "constant", "mean": 1, "scale_by": {"attribute": "afferent_section_pos", "linear": [1, 0.5]}}"#,
    );
    let mut run = Parameterizer::new(&config, Some(1)).unwrap();
    run.add_edge_population("e", common::uniform_nodes("a", 2), common::uniform_nodes("b", 2), "p", None).unwrap();
    run.plan_edge_attributes("e", &["afferent_section_pos"]).unwrap();
    let result = run.run_chunk_with_attributes("e", &common::distinct_connections(2), &[&[0.25, 1.0]]).unwrap();
    assert_eq!(result.properties[0].values, [1.125, 1.5]);
    assert_eq!(result.properties[0].column_type.name(), "float64");
}
