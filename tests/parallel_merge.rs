//! Parallel draws (design §6): runs over disjoint chunks of one population, merged with
//! `export_state`/`merge_state`, give the statistics, connection counts and dataset digests of one
//! run over all chunks (sums to the last bits; everything else exactly).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::storage::StorageChunk;
use synparam::Parameterizer;

fn preset() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/presets/tsodyks_markram.json")).unwrap()
}

/// A target-sorted population: 200 targets, each with connections of several synapses.
fn edges() -> EdgeChunk {
    let mut chunk = EdgeChunk::default();
    let mut edge = 0;
    for target in 0..200u64 {
        for k in 0..(target % 7 + 1) {
            let source = (target * 31 + k * 17) % 150;
            for _ in 0..(k % 3 + 1) {
                chunk.source.push(source);
                chunk.target.push(target);
                chunk.edge_id.push(edge);
                edge += 1;
            }
        }
    }
    chunk
}

fn run_over(parts: &[(usize, usize)], chunk: &EdgeChunk, sorted: bool) -> Parameterizer {
    let nodes = |n: usize| {
        PathwayColumn::from_values(
            "cells",
            &(0..n).map(|i| Some(if i % 4 == 0 { "INH" } else { "EXC" })).collect::<Vec<_>>(),
        )
    };
    let make = || {
        let mut run = Parameterizer::new(&preset(), Some(9)).unwrap();
        run.add_edge_population("pop", nodes(150), nodes(200), "synapse_class", None).unwrap();
        if sorted {
            run.assume_sorted_by_target("pop").unwrap();
        }
        run.plan_output("pop", chunk.len() as u64, &[], &[0], false, None).unwrap();
        run
    };
    let mut runs: Vec<Parameterizer> = parts.iter().map(|_| make()).collect();
    for (run, &(start, end)) in runs.iter_mut().zip(parts) {
        let part = EdgeChunk {
            source: chunk.source[start..end].to_vec(),
            target: chunk.target[start..end].to_vec(),
            edge_id: chunk.edge_id[start..end].to_vec(),
        };
        run.run_storage("pop", part.ids(), None, &mut StorageChunk::default()).unwrap();
    }
    let mut merged = make();
    for run in &runs {
        merged.merge_state("pop", &run.export_state("pop").unwrap()).unwrap();
    }
    merged
}

#[test]
fn merged_runs_equal_one_run() {
    let chunk = edges();
    let n = chunk.len();
    // Cut where the target changes, as the coordinator does for target-sorted edges.
    let cut = (1..n).find(|&i| i >= n / 2 && chunk.target[i] != chunk.target[i - 1]).unwrap();
    let one = run_over(&[(0, n)], &chunk, true);
    let two = run_over(&[(0, cut), (cut, n)], &chunk, true);
    assert_eq!(one.connections("pop").unwrap(), two.connections("pop").unwrap());
    assert_eq!(one.dataset_digests("pop").unwrap(), two.dataset_digests("pop").unwrap());
    let (a, b) = (one.statistics(), two.statistics());
    for (pa, pb) in a.iter().zip(&b) {
        for (x, y) in pa.pathways.iter().zip(&pb.pathways) {
            assert_eq!(
                (x.count, x.min, x.max, &x.histogram.counts),
                (y.count, y.min, y.max, &y.histogram.counts),
                "{}",
                pa.property
            );
            assert!(
                (x.mean.unwrap() - y.mean.unwrap()).abs() <= 1e-12 * x.mean.unwrap().abs().max(1.0),
                "{}",
                pa.property
            );
        }
    }
    // Counting per target block gives the same as remembering every pair.
    assert_eq!(run_over(&[(0, n)], &chunk, false).connections("pop").unwrap(), one.connections("pop").unwrap());
}

#[test]
fn a_target_out_of_order_in_sorted_mode_is_reported_not_miscounted() {
    let mut chunk = edges();
    chunk.target.swap(0, 50);
    let nodes = |n: usize| PathwayColumn::from_values("cells", &vec![Some("EXC"); n]);
    let mut run = Parameterizer::new(&preset(), Some(9)).unwrap();
    run.add_edge_population("pop", nodes(150), nodes(200), "synapse_class", None).unwrap();
    run.assume_sorted_by_target("pop").unwrap();
    run.run_chunk("pop", &chunk).unwrap();
    let error = run.connections("pop").unwrap_err().to_string();
    assert!(error.contains("not sorted by target_node_id"), "{error}");
    assert!(run.export_state("pop").is_err(), "nor handed on to a coordinator");
}

#[test]
fn a_state_of_another_model_is_refused() {
    let chunk = edges();
    let run = run_over(&[(0, chunk.len())], &chunk, true);
    let mut other = Parameterizer::new(&common::single_spec_model(r#"{"type": "zero"}"#), Some(1)).unwrap();
    other
        .add_edge_population("pop", common::uniform_nodes("a", 150), common::uniform_nodes("b", 200), "p", None)
        .unwrap();
    assert!(other.merge_state("pop", &run.export_state("pop").unwrap()).is_err());
}
