//! Engine-only throughput inside wasm (draw + statistics, no JS boundary), to compare with the
//! native benchmark's "engine" column. A benchmark, not a test of correctness: run by `make bench`
//! as `cargo test --release --target wasm32-unknown-unknown --test wasm_engine_bench -- --nocapture`
//! (in Node; `wasm-bindgen-test-runner` without a browser).
#![cfg(target_arch = "wasm32")]

use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::Parameterizer;
use wasm_bindgen_test::*;

fn chunk(first: u64, len: u64, nodes: u64) -> EdgeChunk {
    let mut out = EdgeChunk::default();
    for edge in first..first + len {
        let connection = edge / 4;
        out.source.push(connection.wrapping_mul(0x9E37_79B9_7F4A_7C15) % nodes);
        out.target.push((connection * 4 * nodes) / (first + len) % nodes);
        out.edge_id.push(edge);
    }
    out
}

fn engine_rate(preset: &str, classes: &[&str], synapses: u64) -> f64 {
    let nodes = 100_000u64;
    let values: Vec<Option<&str>> = (0..nodes as usize).map(|i| Some(classes[i % classes.len()])).collect();
    let column = PathwayColumn::from_values("nodes", &values);
    let mut run = Parameterizer::new(preset, Some(1)).unwrap();
    run.add_edge_population("bench", column.clone(), column, "synapse_class", None).unwrap();
    let mut elapsed = 0.0;
    for pass in 0..2 {
        let mut first = 0;
        while first < synapses {
            let edges = chunk(first, 1_000_000.min(synapses - first), nodes);
            let start = js_sys::Date::now();
            let result = run.run_chunk("bench", &edges).unwrap();
            if pass == 1 {
                elapsed += js_sys::Date::now() - start;
            }
            assert!(!result.properties.is_empty());
            first += 1_000_000;
        }
    }
    synapses as f64 / (elapsed / 1000.0)
}

#[wasm_bindgen_test]
fn engine_throughput_in_wasm() {
    let seed = include_str!("../www/presets/seed_example.json");
    let tm = include_str!("../www/presets/tsodyks_markram.json");
    let classes = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"];
    let seed_rate = engine_rate(seed, &classes, 10_000_000);
    let tm_rate = engine_rate(tm, &["EXC", "INH"], 1_000_000);
    web_sys::console::log_1(&format!("wasm engine: seed example 10M {seed_rate:.0} synapses/s").into());
    web_sys::console::log_1(&format!("wasm engine: Tsodyks-Markram 1M {tm_rate:.0} synapses/s").into());
}
