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

/// Datasets assembled from a run's storage blocks, by property: `(storage, bytes by row)`.
fn assembled(
    run: &mut Parameterizer,
    chunks: &[EdgeChunk],
    index_of: impl Fn(u64) -> u64,
) -> Vec<(synparam::config::ColumnType, Vec<u8>)> {
    use synparam::storage::{width, ChunkGroups};
    let plan = run.dataset_digests("pop").unwrap();
    let mut datasets: Vec<_> = plan
        .iter()
        .map(|(d, _)| {
            let storage = synparam::config::ColumnType::from_name(d.storage).unwrap();
            (storage, vec![0u8; d.rows as usize * width(storage)])
        })
        .collect();
    let mut out = StorageChunk::default();
    for chunk in chunks {
        let group_ids = vec![0u64; chunk.len()];
        let index: Vec<u64> = chunk.edge_id.iter().map(|&e| index_of(e)).collect();
        let groups = ChunkGroups { ids: group_ids.as_slice().into(), index: index.as_slice().into() };
        run.run_storage("pop", chunk.ids(), Some(groups), &mut out).unwrap();
        for block in &out.blocks {
            let (storage, bytes) = &mut datasets[block.dataset];
            let w = width(*storage);
            let mut at = block.offset;
            for &[row, rows] in &block.runs {
                let len = rows as usize * w;
                bytes[row as usize * w..row as usize * w + len].copy_from_slice(&out.bytes()[at..at + len]);
                at += len;
            }
        }
    }
    datasets
}

#[test]
fn consecutive_rows_are_stored_as_rows_placed_one_by_one() {
    // The same edges stored twice: chunks whose edges fill consecutive rows in order (the fast
    // path every BBP file takes), and the same chunks with their edges shuffled (placed one by
    // one). Same bytes at every row, same digests, and the digests are those of the bytes read
    // back block by block across datasets (as the verification reads them).
    let all = edges();
    let n = all.len();
    let cuts = [0, 97, 98, 300, n];
    let chunk_of = |start: usize, end: usize, shuffle: bool| {
        let mut order: Vec<usize> = (start..end).collect();
        if shuffle {
            order.reverse();
            let third = order.len() / 3;
            order.rotate_left(third);
        }
        EdgeChunk {
            source: order.iter().map(|&i| all.source[i]).collect(),
            target: order.iter().map(|&i| all.target[i]).collect(),
            edge_id: order.iter().map(|&i| all.edge_id[i]).collect(),
        }
    };
    let make = || {
        let nodes = |n: usize| {
            PathwayColumn::from_values(
                "cells",
                &(0..n).map(|i| Some(if i % 4 == 0 { "INH" } else { "EXC" })).collect::<Vec<_>>(),
            )
        };
        let mut run = Parameterizer::new(&preset(), Some(9)).unwrap();
        run.add_edge_population("pop", nodes(150), nodes(200), "synapse_class", None).unwrap();
        let ids = vec![0u64; n];
        let index: Vec<u64> = (0..n as u64).collect();
        run.scan_groups("pop", n as u64, 0, ids.as_slice().into(), index.as_slice().into()).unwrap();
        run.plan_output("pop", n as u64, &[], &[0], false, None).unwrap();
        run
    };
    let in_order: Vec<EdgeChunk> = cuts.windows(2).map(|w| chunk_of(w[0], w[1], false)).collect();
    let shuffled: Vec<EdgeChunk> = cuts.windows(2).map(|w| chunk_of(w[0], w[1], true)).collect();
    let (mut fast, mut placed) = (make(), make());
    let a = assembled(&mut fast, &in_order, |e| e);
    let b = assembled(&mut placed, &shuffled, |e| e);
    assert_eq!(a, b);
    let (digests_a, digests_b) = (fast.dataset_digests("pop").unwrap(), placed.dataset_digests("pop").unwrap());
    assert_eq!(digests_a, digests_b);
    // Read back in blocks of 64 rows, every dataset in turn per block.
    let mut read: Vec<synparam::storage::Digest> = vec![Default::default(); a.len()];
    for start in (0..n).step_by(64) {
        for (k, (storage, bytes)) in a.iter().enumerate() {
            let w = synparam::storage::width(*storage);
            let end = (start + 64).min(n);
            read[k].add_bytes(*storage, start as u64, &bytes[start * w..end * w]).unwrap();
        }
    }
    for ((_, expected), got) in digests_a.iter().zip(&read) {
        assert_eq!(expected, got);
    }
    // A changed byte changes the digest read back.
    let (storage, mut bytes) = a[0].clone();
    bytes[5] ^= 1;
    let mut changed = synparam::storage::Digest::default();
    changed.add_bytes(storage, 0, &bytes).unwrap();
    assert_ne!(changed, digests_a[0].1);
}

#[test]
fn a_consecutive_chunk_beyond_its_group_is_refused() {
    let all = edges();
    let n = all.len();
    let nodes = |n: usize| PathwayColumn::from_values("cells", &(0..n).map(|_| Some("EXC")).collect::<Vec<_>>());
    let mut run = Parameterizer::new(&preset(), Some(9)).unwrap();
    run.add_edge_population("pop", nodes(150), nodes(200), "synapse_class", None).unwrap();
    run.plan_output("pop", n as u64 - 1, &[], &[0], false, None).unwrap();
    let error = run.run_storage("pop", all.ids(), None, &mut StorageChunk::default()).unwrap_err().to_string();
    assert!(error.contains(&format!("edge id {} beyond the population's {}", n - 1, n - 1)), "{error}");
}
