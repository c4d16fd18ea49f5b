//! Native throughput benchmark (not a timed test): synapses and drawn values per second, and peak
//! memory, for the workloads in `benches/workloads.json` — the same ones `wasm_throughput.mjs`
//! runs on `pkg/` in Node. Each chunk goes the browser's way: Arrow IPC in, draw + statistics,
//! Arrow IPC out; and again storage-ready (*stored synapses/s*: typed, placed at rows, digested, as a
//! writer asks for them). Run with `cargo bench --bench throughput` (or `make bench`).

use std::time::Instant;

use serde_json::Value;
use synparam::arrow_io::{decode_edge_chunk, write_chunk_result_into, write_edge_chunk};
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::storage::StorageChunk;
use synparam::Parameterizer;

/// Edges of one chunk: connections of `per_connection` synapses, sorted by target as SONATA
/// files usually are; sources scattered by a multiplicative hash.
fn chunk(first_edge: u64, len: u64, per_connection: u64, nodes: u64) -> EdgeChunk {
    let mut out = EdgeChunk::default();
    for edge in first_edge..first_edge + len {
        let connection = edge / per_connection;
        out.source.push(connection.wrapping_mul(0x9E37_79B9_7F4A_7C15) % nodes);
        out.target.push((connection * per_connection * nodes) / (first_edge + len).max(1) % nodes);
        out.edge_id.push(edge);
    }
    out
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/benches/workloads.json")).unwrap()).unwrap();
    let chunk_size = spec["chunk_size"].as_u64().unwrap();
    let per_connection = spec["synapses_per_connection"].as_u64().unwrap();
    let nodes = spec["nodes"].as_u64().unwrap();
    println!("native (1 core), chunks of {chunk_size} synapses through Arrow IPC");
    println!(
        "{:<19} {:>11} {:>9} {:>14} {:>14} {:>16} {:>16} {:>10}",
        "workload",
        "synapses",
        "seconds",
        "synapses/s",
        "values/s",
        "engine synapses/s",
        "stored synapses/s",
        "peak MiB"
    );
    // Every workload runs twice, the first time unreported, so that no row pays for first-touch
    // memory (the browser's worker, too, runs warm after its first chunk).
    let workloads = spec["workloads"].as_array().unwrap();
    for (index, workload) in workloads.iter().flat_map(|w| [w, w]).enumerate() {
        let config =
            std::fs::read_to_string(format!("{root}/www/presets/{}", workload["preset"].as_str().unwrap())).unwrap();
        let classes: Vec<&str> = workload["classes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let values: Vec<Option<&str>> = (0..nodes as usize).map(|i| Some(classes[i % classes.len()])).collect();
        let column = PathwayColumn::from_values("nodes", &values);
        let mut run = Parameterizer::new(&config, Some(1)).unwrap();
        run.add_edge_population("bench", column.clone(), column.clone(), "synapse_class", None).unwrap();
        // The same draws made storage-ready (typed blocks at their rows, digests), as a writer
        // asks for them: a second run over the same chunks.
        let mut stored_run = Parameterizer::new(&config, Some(1)).unwrap();
        stored_run.add_edge_population("bench", column.clone(), column, "synapse_class", None).unwrap();
        stored_run.set_connection_counting(false);
        stored_run.plan_output("bench", workload["synapses"].as_u64().unwrap(), &[], &[], false, None).unwrap();
        let mut storage = StorageChunk::default();
        let mut stored_elapsed = 0.0;
        // The draws alone (connection counting is measured on its own, below the table).
        run.set_connection_counting(workload["count_connections"].as_bool().unwrap_or(false));
        let total = workload["synapses"].as_u64().unwrap();
        let properties = run.model().properties.len() as f64;
        let mut elapsed = 0.0;
        let mut engine_elapsed = 0.0;
        let mut first = 0;
        // One output buffer for every chunk, as the wasm entry point keeps one.
        let mut out = Vec::new();
        while first < total {
            let len = chunk_size.min(total - first);
            let bytes = write_edge_chunk(&chunk(first, len, per_connection, nodes)).unwrap();
            let start = Instant::now();
            let edges = decode_edge_chunk(bytes, "bench").unwrap();
            let engine_start = Instant::now();
            let result = run.run_edges("bench", edges.ids()).unwrap();
            engine_elapsed += engine_start.elapsed().as_secs_f64();
            write_chunk_result_into(result, &mut out).unwrap();
            elapsed += start.elapsed().as_secs_f64();
            assert!(!out.is_empty());
            let stored_start = Instant::now();
            stored_run.run_storage("bench", edges.ids(), None, &mut storage).unwrap();
            stored_elapsed += stored_start.elapsed().as_secs_f64();
            assert!(!storage.blocks.is_empty());
            first += len;
        }
        let rate = total as f64 / elapsed;
        if index % 2 == 0 {
            continue;
        }
        println!(
            "{:<19} {:>11} {:>9.3} {:>14.0} {:>14.0} {:>16.0} {:>16.0} {:>10.0}",
            workload["name"].as_str().unwrap(),
            total,
            elapsed,
            rate,
            rate * properties,
            total as f64 / engine_elapsed,
            total as f64 / stored_elapsed,
            peak_memory_mib()
        );
    }
}
