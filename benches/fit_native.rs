//! The fit's core natively, without reading files: a generated network like `make bench-fit`'s
//! (benches/make_network.py: 100 k neurons, edges sorted by target, random sources, 1 + Poisson(3)
//! synapses per connection; the nine Tsodyks–Markram properties, seven float32 and two integer
//! columns), cut into chunks of about 262,144 edges where the target changes, each chunk added to
//! a fresh state and merged in order, as the hosts do. Prints each pass's time and a digest of
//! the fitted data's JSON (the same digest before and after a change of the core: the same bits).
//!
//!   cargo test --release --bench fit_native -- --ignored --nocapture
//!   FIT_NATIVE_SYNAPSES=10000000 FIT_NATIVE_RUNS=3 FIT_NATIVE_OUT=/tmp/fit.json cargo test …
//!
//! `perf record -g` on the test binary (target/release/deps/fit_native-*) shows where the passes
//! spend their time.

use std::time::Instant;

use synparam::engine::{EdgeIds, Ids, PathwayColumn};
use synparam::fit::{FitProperty, FitSettings, Fitter, ValueKind};

/// splitmix64: enough for a benchmark's data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn poisson(&mut self, mean: f64) -> u64 {
        let (limit, mut product, mut k) = ((-mean).exp(), self.uniform(), 0);
        while product > limit {
            product *= self.uniform();
            k += 1;
        }
        k
    }
}

struct Network {
    synapse_class: PathwayColumn,
    source: Vec<u64>,
    target: Vec<u64>,
    columns: Vec<Vec<f64>>,
    /// Chunk boundaries (cut where the target changes after `rows` edges).
    starts: Vec<usize>,
}

const NAMES: [&str; 9] = [
    "conductance",
    "conductance_scale_factor",
    "decay_time",
    "depression_time",
    "facilitation_time",
    "n_rrp_vesicles",
    "syn_type_id",
    "u_hill_coefficient",
    "u_syn",
];

fn network(synapses: usize, neurons: u64) -> Network {
    let mut rng = Rng(20261130);
    let codes: Vec<u32> = (0..neurons).map(|_| u32::from(rng.uniform() < 0.8)).collect();
    let synapse_class =
        PathwayColumn { population: "cortex".into(), dictionary: vec!["INH".into(), "EXC".into()], codes };
    let per_target = 1.05 * synapses as f64 / 4.0 / neurons as f64;
    let (mut source, mut target) = (Vec::with_capacity(synapses), Vec::with_capacity(synapses));
    'outer: for t in 0..neurons {
        for _ in 0..rng.poisson(per_target) {
            let s = rng.next() % neurons;
            for _ in 0..1 + rng.poisson(3.0) {
                if source.len() == synapses {
                    break 'outer;
                }
                source.push(s);
                target.push(t);
            }
        }
    }
    let n = source.len();
    let f32s = |rng: &mut Rng, scale: f64, offset: f64| -> Vec<f64> {
        (0..n).map(|_| (offset + scale * rng.uniform() * rng.uniform().sqrt()) as f32 as f64).collect()
    };
    let columns = vec![
        f32s(&mut rng, 2.0, 0.1),
        vec![0.7f32 as f64; n],
        f32s(&mut rng, 0.2, 1.7),
        f32s(&mut rng, 60.0, 640.0),
        f32s(&mut rng, 20.0, 7.0),
        (0..n).map(|_| (1 + rng.next() % 5) as f64).collect(),
        vec![113.0; n],
        vec![1.94f32 as f64; n],
        f32s(&mut rng, 0.5, 0.2),
    ];
    let rows = 1 << 18;
    let mut starts = vec![0];
    let mut i = rows;
    while i < n {
        while i < n && target[i] == target[i - 1] {
            i += 1;
        }
        if i < n {
            starts.push(i);
        }
        i += rows;
    }
    starts.push(n);
    Network { synapse_class, source, target, columns, starts }
}

fn settings() -> FitSettings {
    FitSettings::new(
        NAMES
            .iter()
            .map(|&name| FitProperty {
                name: name.into(),
                kind: if matches!(name, "n_rrp_vesicles" | "syn_type_id") {
                    ValueKind::Int
                } else {
                    ValueKind::Float32
                },
            })
            .collect(),
    )
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// FNV-1a of the JSON text.
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[test]
#[ignore = "a benchmark: cargo test --release --bench fit_native -- --ignored --nocapture"]
fn fit_passes() {
    let synapses = env("FIT_NATIVE_SYNAPSES", 2_000_000);
    let runs = env("FIT_NATIVE_RUNS", 3);
    let net = network(synapses, 100_000);
    let n = net.source.len();
    let edge_id: Vec<u64> = (0..n as u64).collect();
    println!("{n} synapses in {} chunks", net.starts.len() - 1);
    for run in 0..runs {
        let mut fitter = Fitter::new(settings()).unwrap();
        fitter.add_population("edges", &net.synapse_class, &net.synapse_class).unwrap();
        let mut times = Vec::new();
        while fitter.next_pass().unwrap().is_some() {
            let started = Instant::now();
            let mut total = fitter.new_state().unwrap();
            for w in net.starts.windows(2) {
                let (a, b) = (w[0], w[1]);
                let ids = EdgeIds {
                    source: Ids::U64(&net.source[a..b]),
                    target: Ids::U64(&net.target[a..b]),
                    edge_id: Ids::U64(&edge_id[a..b]),
                };
                let columns: Vec<&[f64]> = net.columns.iter().map(|c| &c[a..b]).collect();
                let mut state = fitter.new_state().unwrap();
                fitter.add_chunk(&mut state, "edges", ids, &columns).unwrap();
                total.merge(&state).unwrap();
            }
            fitter.finish_pass(total).unwrap();
            times.push(started.elapsed().as_secs_f64());
        }
        let data = serde_json::to_string(&fitter.finish().unwrap()).unwrap();
        let per_value: Vec<String> =
            times.iter().map(|t| format!("{:.1}", t * 1e9 / (n * NAMES.len()) as f64)).collect();
        println!(
            "run {run}: passes {:?} s = {:.3} s ({} ns per value per pass), data digest {:016x}",
            times.iter().map(|t| (t * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
            times.iter().sum::<f64>(),
            per_value.join(" + "),
            digest(&data)
        );
        if let (0, Ok(path)) = (run, std::env::var("FIT_NATIVE_OUT")) {
            std::fs::write(path, &data).unwrap();
        }
    }
}
