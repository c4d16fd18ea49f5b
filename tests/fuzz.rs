//! Bounded fuzzing of everything user input reaches in the core: the config parser (task form,
//! model, single specs and the density preview), a whole run on parsed configs (draws, storage
//! placement, statistics), and the Arrow IPC readers (edge chunks, group columns, pathway
//! columns). No input may panic, hang or allocate without bound; each must give a value or an
//! `Error`.
//!
//! Starts from the committed corpus in `tests/fuzz/corpus/` (configs, specs and Arrow IPC files,
//! plus every input that once broke something) and mutates it: structure-aware for JSON (numbers
//! replaced by extremes, strings by non-ASCII and long text, keys dropped, duplicated or retyped),
//! byte-level for everything. Deterministic for a given seed. `make test` runs it for a few
//! seconds per target; `make fuzz` for minutes (`SYNPARAM_FUZZ_SECONDS`, `SYNPARAM_FUZZ_SEED`). A
//! failing input is written to `tests/fuzz/failures/` and printed.
#![cfg(not(target_arch = "wasm32"))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::RngCore;
use serde_json::{Map, Value};
use synparam::arrow_io::{
    decode_edge_chunk, decode_group_columns, read_edge_chunk, read_pathway_column, write_edge_chunk,
};
use synparam::config::{parse_pathway_spec, parse_task};
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::storage::{ChunkGroups, StorageChunk};
use synparam::streams::Stream;
use synparam::Parameterizer;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus")
}

fn seconds_per_target() -> f64 {
    std::env::var("SYNPARAM_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0)
}

fn fuzz_seed() -> u64 {
    std::env::var("SYNPARAM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261130)
}

/// Files of one corpus folder, sorted (deterministic order).
fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join(kind))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().map(|f| std::fs::read(f).expect("readable corpus file")).collect()
}

/// Runs `target` on inputs with a watchdog: a panic or an input that takes longer than
/// `STALL` is reported with the input (and saved), and fails the test.
struct Harness {
    name: &'static str,
    current: Arc<Mutex<Vec<u8>>>,
    started: Arc<AtomicU64>,
    epoch: Instant,
    runs: u64,
}

const STALL: Duration = Duration::from_secs(20);

impl Harness {
    fn new(name: &'static str) -> Self {
        let current = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicU64::new(u64::MAX));
        let epoch = Instant::now();
        let (watched, clock) = (current.clone(), started.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let since = clock.load(Ordering::SeqCst);
            if since != u64::MAX && epoch.elapsed().as_millis() as u64 - since > STALL.as_millis() as u64 {
                let input = watched.lock().map(|i| i.clone()).unwrap_or_default();
                let file = save_failure(name, "stall", &input);
                eprintln!(
                    "fuzz {name}: an input ran for more than {STALL:?} (saved as {}): {:?}",
                    file.display(),
                    String::from_utf8_lossy(&input)
                );
                std::process::abort();
            }
        });
        Harness { name, current, started, epoch, runs: 0 }
    }

    fn run(&mut self, input: &[u8], target: impl FnOnce(&[u8])) {
        *self.current.lock().unwrap() = input.to_vec();
        self.started.store(self.epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
        let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
        self.started.store(u64::MAX, Ordering::SeqCst);
        self.runs += 1;
        if outcome.is_err() {
            let file = save_failure(self.name, "panic", input);
            panic!(
                "fuzz {}: panicked on an input (saved as {}): {:?}",
                self.name,
                file.display(),
                String::from_utf8_lossy(input)
            );
        }
    }
}

fn save_failure(name: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/failures");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{name}-{kind}-{:016x}", xxhash_rust::xxh3::xxh3_64(input)));
    let _ = std::fs::write(&file, input);
    file
}

/// Values that have broken number handling somewhere, and text that has broken string handling.
const EXTREME_NUMBERS: [&str; 18] = [
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-320",
    "1e39",
    "1e12",
    "18446744073709551615",
    "-9223372036854775808",
    "9007199254740993",
    "NaN",
    "Infinity",
    "-Infinity",
];
const STRANGE_TEXT: [&str; 9] = [
    "",
    "é",
    "éééééééééééééééééééééééééééééééééééééééééééééééé",
    "\u{202e}RTL",
    "漢字",
    "🧠🧠",
    "<img src=x onerror=alert(1)>",
    "\u{0}",
    "a\"b\\c",
];

fn pick<'a, T>(rng: &mut Stream, items: &'a [T]) -> &'a T {
    &items[(rng.next_u64() % items.len() as u64) as usize]
}

/// Mutate one node of a JSON document (structure-aware), returning text that may hold bare
/// NaN/Infinity as Python writes them.
fn mutate_json(rng: &mut Stream, value: &Value) -> String {
    let mut document = value.clone();
    let mut nodes = 0;
    count_nodes(&document, &mut nodes);
    let target = rng.next_u64() % nodes.max(1);
    let mut seen = 0;
    let mut marker = None;
    mutate_node(rng, &mut document, target, &mut seen, &mut marker);
    let text = document.to_string();
    match marker {
        Some(token) => text.replace("\"__bare_number__\"", token),
        None => text,
    }
}

fn count_nodes(value: &Value, count: &mut u64) {
    *count += 1;
    match value {
        Value::Array(items) => items.iter().for_each(|v| count_nodes(v, count)),
        Value::Object(map) => map.values().for_each(|v| count_nodes(v, count)),
        _ => {}
    }
}

fn mutate_node(rng: &mut Stream, value: &mut Value, target: u64, seen: &mut u64, marker: &mut Option<&'static str>) {
    if *seen == target {
        *seen += 1;
        let replacement = match rng.next_u64() % 9 {
            0 | 1 => {
                let token = *pick(rng, &EXTREME_NUMBERS);
                match serde_json::from_str::<Value>(token) {
                    Ok(number) => number,
                    Err(_) => {
                        *marker = Some(token);
                        Value::String("__bare_number__".into())
                    }
                }
            }
            2 => Value::String(pick(rng, &STRANGE_TEXT).to_string()),
            3 => Value::Null,
            4 => Value::Bool(rng.next_u32().is_multiple_of(2)),
            5 => Value::Array(vec![value.clone(), value.clone()]),
            6 => {
                let mut map = Map::new();
                map.insert(pick(rng, &STRANGE_TEXT).to_string(), value.clone());
                Value::Object(map)
            }
            7 => match &*value {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth((rng.next_u64() % map.len() as u64) as usize).cloned().unwrap();
                    let mut map = map.clone();
                    if rng.next_u32().is_multiple_of(2) {
                        map.remove(&key);
                    } else {
                        let copied = map[&key].clone();
                        map.insert(format!("{key}{}", pick(rng, &STRANGE_TEXT)), copied);
                    }
                    Value::Object(map)
                }
                Value::Array(items) if !items.is_empty() => {
                    let mut items = items.clone();
                    let at = (rng.next_u64() % items.len() as u64) as usize;
                    if rng.next_u32().is_multiple_of(2) {
                        items.remove(at);
                    } else {
                        items.push(items[at].clone());
                    }
                    Value::Array(items)
                }
                other => other.clone(),
            },
            _ => {
                let big = (rng.next_u64() % 5000) as usize;
                Value::Array(vec![Value::from(1.0); big])
            }
        };
        *value = replacement;
        return;
    }
    *seen += 1;
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| mutate_node(rng, v, target, seen, marker)),
        Value::Object(map) => map.values_mut().for_each(|v| mutate_node(rng, v, target, seen, marker)),
        _ => {}
    }
}

/// Byte-level mutations: flips, overwrites with interesting bytes, insertions, deletions, splices.
fn mutate_bytes(rng: &mut Stream, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..1 + rng.next_u32() % 4 {
        let at = if bytes.is_empty() { 0 } else { (rng.next_u64() % bytes.len() as u64) as usize };
        match rng.next_u32() % 7 {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << (rng.next_u32() % 8),
            1 if !bytes.is_empty() => bytes[at] = *pick(rng, &[0u8, 0xff, 0x7f, 0x80, b'"', b'{', b'[', 0xc3, 0xe2]),
            2 => bytes.insert(at, rng.next_u32() as u8),
            3 if !bytes.is_empty() => {
                let end = (at + 1 + (rng.next_u64() % 16) as usize).min(bytes.len());
                bytes.drain(at..end);
            }
            4 if !bytes.is_empty() && at + 4 <= bytes.len() => {
                let word = *pick(rng, &[0u32, u32::MAX, 0x7fff_ffff, 0x8000_0000, 1 << 20]);
                bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            5 if !other.is_empty() => {
                let from = (rng.next_u64() % other.len() as u64) as usize;
                let end = (from + 1 + (rng.next_u64() % 64) as usize).min(other.len());
                bytes.splice(at..at, other[from..end].iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Run a parsed config end to end on a small circuit: every pathway value present, some edges
/// sharing connections, the storage placement with two groups, statistics and connections.
fn run_config(text: &str) {
    let Ok(task) = parse_task(text) else { return };
    let Ok(mut run) = Parameterizer::new(text, Some(3)) else { return };
    let model = task.model;
    let sources: Vec<Option<&str>> =
        (0..12).map(|i| Some(model.src_types[i % model.src_types.len()].as_str())).collect();
    let targets: Vec<Option<&str>> =
        (0..12).map(|i| Some(model.tgt_types[i % model.tgt_types.len()].as_str())).collect();
    let source = PathwayColumn::from_values("src", &sources);
    let target = PathwayColumn::from_values("tgt", &targets);
    if run.add_edge_population("edges", source, target, "p", None).is_err() {
        return;
    }
    let n = 40u64;
    let chunk = EdgeChunk {
        source: (0..n).map(|i| i % 12).collect(),
        target: (0..n).map(|i| (i / 2) % 12).collect(),
        edge_id: (0..n).collect(),
    };
    let ids: Vec<u64> = (0..n).map(|i| i % 2).collect();
    let index: Vec<u64> = (0..n).map(|i| i / 2).collect();
    if run.scan_groups("edges", n, 0, (&ids[..]).into(), (&index[..]).into()).is_err() {
        return;
    }
    if run.plan_output("edges", n, &[], &[0, 1], false, None).is_err() {
        return;
    }
    let mut out = StorageChunk::default();
    let groups = ChunkGroups { ids: (&ids[..]).into(), index: (&index[..]).into() };
    let _ = run.run_storage("edges", chunk.ids(), Some(groups), &mut out);
    let _ = run.statistics();
    let _ = run.connections("edges");
    let _ = run.dataset_digests("edges");
}

/// Read rules (recipes, XML, synparam rules), compile them for a small circuit whose nodes have
/// every property recipes select on, and run the compiled model.
fn run_rules(text: &str) {
    use synparam::rules::{compile, parse_rules, EdgePopulationNodes, NodeTable};
    let Ok(rules) = parse_rules(text) else { return };
    let _ = rules.to_rules_json();
    let values: [(&str, &[&str]); 6] = [
        ("synapse_class", &["EXC", "INH"]),
        ("mtype", &["L5_TPC", "L6_BPC", "macron", "macaron"]),
        ("etype", &["cADpyr", "bNAC"]),
        ("region", &["foo", "bar", "spam", "ham"]),
        ("hemisphere", &["left", "right"]),
        ("layer", &["2", "3"]),
    ];
    let table = |population: &str| NodeTable {
        population: population.to_string(),
        columns: values
            .iter()
            .map(|(name, vs)| (name.to_string(), (0..12).map(|i| Some(vs[i % vs.len()].to_string())).collect()))
            .collect(),
        size: 12,
    };
    let edges = ((0..30u64).map(|i| i % 12).collect(), (0..30u64).map(|i| (i / 3) % 12).collect());
    let population =
        EdgePopulationNodes { name: "edges".into(), source: table("src"), target: table("tgt"), edges: Some(edges) };
    let Ok(compiled) = compile(&rules, std::slice::from_ref(&population), false) else { return };
    let Ok(mut run) = Parameterizer::new(&compiled.model.to_string(), Some(1)) else { return };
    let column = |values: &Vec<String>| PathwayColumn::from_values("n", &values.iter().map(Some).collect::<Vec<_>>());
    let pathways = &compiled.populations[0];
    if run.add_edge_population("edges", column(&pathways.source), column(&pathways.target), "rules", None).is_ok() {
        let (source, target) = population.edges.unwrap();
        let chunk = EdgeChunk { edge_id: (0..source.len() as u64).collect(), source, target };
        let _ = run.run_chunk("edges", &chunk);
    }
}

fn run_spec(text: &str) {
    if let Ok(spec) = parse_pathway_spec(text) {
        let _ = synparam::stats::density_preview(&spec, 64);
        let _ = spec.moments();
        for u in [0.0, 1e-300, 0.001, 0.5, 0.999, 1.0] {
            let x = spec.distribution.quantile(u, 1.0 - u);
            let _ = spec.finalize(x);
            let _ = spec.stored_cdf(x);
        }
    }
}

fn run_ipc(bytes: &[u8]) {
    let _ = read_edge_chunk(bytes, "edges");
    let _ = read_pathway_column(bytes, "nodes");
    if let Ok(chunk) = decode_edge_chunk(bytes.to_vec(), "edges") {
        let ids = chunk.ids();
        let _ = (ids.len(), chunk.groups().map(|g| g.ids.len()));
    }
    if let Ok(groups) = decode_group_columns(bytes.to_vec(), "edges") {
        let (ids, index) = groups.ids();
        let mut scan = synparam::storage::GroupScan::new("edges", ids.len() as u64);
        if scan.add(0, ids, index).is_ok() {
            let _ = scan.finish();
        }
    }
}

/// Seeds made in code, so every reader sees valid input of each shape besides the corpus.
fn generated_ipc_seeds() -> Vec<Vec<u8>> {
    let chunk = EdgeChunk { source: vec![0, 1, 2, 3], target: vec![1, 1, 0, 2], edge_id: vec![0, 1, 2, 3] };
    let wide = EdgeChunk { source: vec![u64::MAX - 1, 5], target: vec![0, 1 << 40], edge_id: vec![0, 1] };
    vec![write_edge_chunk(&chunk).unwrap(), write_edge_chunk(&wide).unwrap()]
}

fn fuzz_text(name: &'static str, kind: &str, target: fn(&str)) {
    let seeds: Vec<Value> = corpus(kind).iter().filter_map(|b| serde_json::from_slice(b).ok()).collect();
    assert!(!seeds.is_empty(), "the {kind} corpus is empty");
    let raw: Vec<Vec<u8>> = corpus(kind);
    let mut harness = Harness::new(name);
    for input in &raw {
        harness.run(input, |bytes| target(&String::from_utf8_lossy(bytes)));
    }
    let mut rng = Stream::new(fuzz_seed() ^ xxhash_rust::xxh3::xxh3_64(name.as_bytes()));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds_per_target());
    while Instant::now() < deadline {
        let seed = pick(&mut rng, &seeds);
        let mut text = mutate_json(&mut rng, seed);
        if rng.next_u32().is_multiple_of(4) {
            let other = pick(&mut rng, &raw).clone();
            text = String::from_utf8_lossy(&mutate_bytes(&mut rng, text.as_bytes(), &other)).into_owned();
        }
        harness.run(text.as_bytes(), |bytes| target(&String::from_utf8_lossy(bytes)));
    }
    eprintln!("fuzz {name}: {} inputs without a panic or a stall", harness.runs);
}

#[test]
fn fuzz_configs_through_a_whole_run() {
    fuzz_text("config", "config", run_config);
}

#[test]
fn fuzz_rules_recipes_and_xml() {
    fuzz_text("rules", "rules", run_rules);
}

#[test]
fn fuzz_single_specs_and_previews() {
    fuzz_text("spec", "spec", run_spec);
}

#[test]
fn fuzz_arrow_ipc_readers() {
    let mut seeds = corpus("ipc");
    assert!(!seeds.is_empty(), "the ipc corpus is empty");
    seeds.extend(generated_ipc_seeds());
    let mut harness = Harness::new("ipc");
    for input in &seeds {
        harness.run(input, run_ipc);
    }
    let mut rng = Stream::new(fuzz_seed() ^ 0x1bc);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds_per_target());
    while Instant::now() < deadline {
        let seed = pick(&mut rng, &seeds).clone();
        let other = pick(&mut rng, &seeds).clone();
        let input = mutate_bytes(&mut rng, &seed, &other);
        harness.run(&input, run_ipc);
    }
    eprintln!("fuzz ipc: {} inputs without a panic or a stall", harness.runs);
}
