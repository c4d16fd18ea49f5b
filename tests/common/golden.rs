//! The fixed input whose output hash proves native == wasm to the bit: the Tsodyks–Markram preset
//! with a correlated pair plus the seed example, on a synthetic network, through Arrow IPC.

use synparam::arrow_io::{read_edge_chunk, write_chunk_result, write_edge_chunk};
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::Parameterizer;
use xxhash_rust::xxh3::xxh3_64;

/// The hash the native test computes and the browser test must reproduce. If an intended change
/// of the draws alters it, update it here (both tests read this one constant).
pub const GOLDEN_HASH: u64 = 0x8787_d077_81c6_59f9;

/// Tsodyks–Markram preset with `conductance` and `u_syn` correlated (ρ = 0.6).
pub fn tsodyks_markram_with_correlation() -> String {
    let mut config: serde_json::Value =
        serde_json::from_str(include_str!("../../www/presets/tsodyks_markram.json")).unwrap();
    let matrix = serde_json::json!([[1.0, 0.6], [0.6, 1.0]]);
    let row = serde_json::json!({"EXC": matrix, "INH": matrix});
    config["prop_cov"] = serde_json::json!({"props": ["conductance", "u_syn"], "cov": {"EXC": row, "INH": row}});
    config.to_string()
}

/// A synthetic 400-node network: ~5000 connections of 1–7 synapses, edges in connection order.
pub fn network(n_nodes: u64, n_connections: u64) -> EdgeChunk {
    let mut chunk = EdgeChunk::default();
    for c in 0..n_connections {
        let source = (c * 7919) % n_nodes;
        let target = (c * 104_729 + 13) % n_nodes;
        for _ in 0..(1 + c % 7) {
            chunk.edge_id.push(chunk.source.len() as u64);
            chunk.source.push(source);
            chunk.target.push(target);
        }
    }
    chunk
}

fn values_hash(run: &mut Parameterizer, population: &str, chunk: &EdgeChunk, bytes: &mut Vec<u8>) {
    // Through Arrow IPC both ways, as the browser does.
    let decoded = read_edge_chunk(&write_edge_chunk(chunk).unwrap(), population).unwrap();
    let result = run.run_chunk(population, &decoded).unwrap();
    bytes.extend_from_slice(&xxh3_64(&write_chunk_result(result.clone()).unwrap()).to_le_bytes());
    for property in &result.properties {
        for value in &property.values {
            bytes.extend_from_slice(&value.to_bits().to_le_bytes());
        }
    }
}

/// Run both models on the fixed network and hash every drawn value.
pub fn compute_golden_hash() -> u64 {
    let n_nodes = 400u64;
    let chunk = network(n_nodes, 5000);
    let mut bytes = Vec::new();

    let ei: Vec<Option<&str>> = (0..n_nodes).map(|i| Some(if i < 320 { "EXC" } else { "INH" })).collect();
    let nodes = PathwayColumn::from_values("network", &ei);
    let mut tm = Parameterizer::new(&tsodyks_markram_with_correlation(), Some(42)).unwrap();
    tm.add_edge_population("network__network", nodes.clone(), nodes, "synapse_class", None).unwrap();
    values_hash(&mut tm, "network__network", &chunk, &mut bytes);

    let classes = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"];
    let three: Vec<Option<&str>> = (0..n_nodes).map(|i| Some(classes[(i % 3) as usize])).collect();
    let nodes = PathwayColumn::from_values("synaptome", &three);
    let mut seed_model = Parameterizer::new(include_str!("../../www/presets/seed_example.json"), None).unwrap();
    seed_model.add_edge_population("synaptome_afferents", nodes.clone(), nodes, "synapse_class", None).unwrap();
    values_hash(&mut seed_model, "synaptome_afferents", &chunk, &mut bytes);

    xxh3_64(&bytes)
}
