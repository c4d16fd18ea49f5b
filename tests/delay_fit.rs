//! The delay fit (`laws: {delay: lin_delay}`): conformance with connectome-manipulator's own
//! `delay.extract` + `delay.build` per pathway (reference written by
//! `tests/conformance/delay_reference.py`), chunking, the fallback's pooled bins, the errors, and a
//! refit of drawn delays recovering the model.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use synparam::attributes::SomaPositions;
use synparam::engine::{EdgeChunk, EdgeIds, Ids, PathwayColumn};
use synparam::fit::{
    build, BuildOptions, DelayFitSettings, DistanceBins, FitData, FitProperty, FitSettings, Fitter, Law, PassState,
    ValueKind,
};
use synparam::Parameterizer;

const CIRCUIT: &str = include_str!("fixtures/fit/delay_circuit.json");
const REFERENCE: &str = include_str!("fixtures/fit/delay_reference.json");

/// The tolerance: coefficients to 1e-6 relative. numpy averages float32 delays in
/// float32 (its 7th digit), synparam in f64; the measured gap is printed by the test.
const RELATIVE: f64 = 1e-6;

const CENTRES: [&str; 3] = ["afferent_center_x", "afferent_center_y", "afferent_center_z"];

struct Circuit {
    mtype: PathwayColumn,
    positions: SomaPositions,
    source: Vec<u64>,
    target: Vec<u64>,
    /// delay, then the three centre columns.
    columns: Vec<Vec<f64>>,
}

fn floats(value: &Value) -> Vec<f64> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32 as f64).collect()
}

fn load() -> Circuit {
    let fixture: Value = serde_json::from_str(CIRCUIT).unwrap();
    let nodes = &fixture["nodes"];
    let mtypes: Vec<Option<String>> =
        nodes["mtype"].as_array().unwrap().iter().map(|v| Some(v.as_str().unwrap().to_string())).collect();
    let ids = |key: &str| -> Vec<u64> {
        fixture["edges"][key].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
    };
    let edges = &fixture["edges"]["columns"];
    Circuit {
        mtype: PathwayColumn::from_values("nodes", &mtypes),
        positions: SomaPositions { x: floats(&nodes["x"]), y: floats(&nodes["y"]), z: floats(&nodes["z"]) },
        source: ids("source"),
        target: ids("target"),
        columns: ["delay", CENTRES[0], CENTRES[1], CENTRES[2]].iter().map(|c| floats(&edges[*c])).collect(),
    }
}

fn settings(min: Option<u64>, bin: f64) -> FitSettings {
    let mut settings = FitSettings::new(vec![FitProperty { name: "delay".into(), kind: ValueKind::Float32 }]);
    settings.min_sample_size = min;
    settings.delay_fit = Some(DelayFitSettings {
        property: "delay".into(),
        bin_size_um: bin,
        reads: BTreeMap::from([("default".to_string(), CENTRES.iter().map(|c| c.to_string()).collect())]),
    });
    settings
}

impl Circuit {
    fn chunks(&self, size: usize) -> Vec<(usize, usize)> {
        common::target_chunks(&self.target, size)
    }

    fn add(&self, fitter: &Fitter, state: &mut PassState, range: (usize, usize)) -> synparam::Result<()> {
        common::add_fit_chunk(fitter, state, (&self.source, &self.target), &self.columns, range)
    }

    fn fit(&self, settings: FitSettings, chunk: usize) -> synparam::Result<FitData> {
        let mut fitter = Fitter::new(settings)?;
        fitter.add_population("default", &self.mtype, &self.mtype)?;
        fitter.set_source_positions("default", self.positions.clone())?;
        let chunks = self.chunks(chunk);
        fitter.run(|fitter, state| chunks.iter().try_for_each(|&c| self.add(fitter, state, c)))
    }

    fn distance(&self, i: usize) -> f64 {
        let s = self.source[i] as usize;
        let d = [
            self.columns[1][i] - self.positions.x[s],
            self.columns[2][i] - self.positions.y[s],
            self.columns[3][i] - self.positions.z[s],
        ];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }
}

fn options() -> BuildOptions {
    let mut options = BuildOptions::reference();
    options.laws.insert("delay".into(), Law::LinDelay);
    options.n_syn_per_conn = false;
    options
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn lin_delay_matches_connectome_manipulators_delay_fit_per_pathway() {
    let circuit = load();
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let data = circuit.fit(settings(Some(10), 50.0), 400).unwrap();
    let model = build(&data, &options()).unwrap().model;
    let mut worst: f64 = 0.0;
    let mut compared = 0;
    for (source, targets) in reference["lin_delay"].as_object().unwrap() {
        for (target, expected) in targets.as_object().unwrap() {
            let spec = &model["prop_stats"]["delay"][source][target];
            assert_eq!(spec["type"], "lin_delay", "{source} → {target}: {spec}");
            assert!(spec.get("shared_within").is_none(), "lin_delay is drawn per synapse: {spec}");
            for key in ["delay_mean_coeff_a", "delay_mean_coeff_b", "delay_std", "delay_min"] {
                let (ours, theirs) = (spec[key].as_f64().unwrap(), expected[key].as_f64().unwrap());
                let gap = relative(ours, theirs);
                assert!(gap < RELATIVE, "{source} → {target} {key}: {ours} vs connectome-manipulator's {theirs}");
                worst = worst.max(gap);
            }
            let pathway = data.pathways.iter().find(|p| &p.source == source && &p.target == target).unwrap();
            assert_eq!(pathway.distance.as_ref().unwrap().synapses(), expected["synapses"].as_u64().unwrap());
            compared += 1;
        }
    }
    assert_eq!(compared, 15);
    println!("largest relative gap to connectome-manipulator: {worst:.2e}");
}

#[test]
fn chunking_does_not_change_the_fit_beyond_rounding() {
    let circuit = load();
    let whole = build(&circuit.fit(settings(Some(10), 50.0), usize::MAX).unwrap(), &options()).unwrap().model;
    for chunk in [1, 37, 500] {
        let model = build(&circuit.fit(settings(Some(10), 50.0), chunk).unwrap(), &options()).unwrap().model;
        for (source, targets) in whole["prop_stats"]["delay"].as_object().unwrap() {
            for (target, spec) in targets.as_object().unwrap() {
                for key in ["delay_mean_coeff_a", "delay_mean_coeff_b", "delay_std", "delay_min"] {
                    let (a, b) = (
                        spec[key].as_f64().unwrap(),
                        model["prop_stats"]["delay"][source][target][key].as_f64().unwrap(),
                    );
                    assert!(relative(a, b) < 1e-12, "chunk {chunk}, {source} → {target} {key}: {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn a_pathway_without_enough_connections_takes_its_levels_pooled_bins() {
    let circuit = load();
    let data = circuit.fit(settings(Some(10), 50.0), 400).unwrap();
    let output = build(&data, &options()).unwrap();
    let spec = &output.model["prop_stats"]["delay"]["L5_LBC"]["L5_LBC"];
    // Without classes, the only level is "all pathways": every other pathway's synapses pooled.
    let mut pooled = DistanceBins::default();
    let lbc = |node: u64| circuit.mtype.dictionary[circuit.mtype.codes[node as usize] as usize] == "L5_LBC";
    for i in 0..circuit.source.len() {
        if !(lbc(circuit.source[i]) && lbc(circuit.target[i])) {
            pooled.add(circuit.distance(i), circuit.columns[0][i], 50.0);
        }
    }
    let expected = pooled.fit(50.0).unwrap();
    assert!(relative(spec["delay_mean_coeff_b"].as_f64().unwrap(), expected.delay_mean_coeff_b) < 1e-12, "{spec}");
    assert!(relative(spec["delay_mean_coeff_a"].as_f64().unwrap(), expected.delay_mean_coeff_a) < 1e-12, "{spec}");
    let entry = output.report.pathways.iter().find(|p| p.source == "L5_LBC" && p.target == "L5_LBC").unwrap();
    assert_eq!(entry.fallback.as_ref().unwrap().level, 4);
}

#[test]
fn wider_bins_change_the_fit_and_bad_bins_are_refused() {
    let circuit = load();
    let fifty = build(&circuit.fit(settings(Some(10), 50.0), 400).unwrap(), &options()).unwrap().model;
    let hundred = build(&circuit.fit(settings(Some(10), 100.0), 400).unwrap(), &options()).unwrap().model;
    assert_ne!(fifty["prop_stats"]["delay"]["L23_PC"]["L23_PC"], hundred["prop_stats"]["delay"]["L23_PC"]["L23_PC"]);
    for bad in [0.0, -5.0, f64::NAN] {
        let error = Fitter::new(settings(None, bad)).unwrap_err().to_string();
        assert!(error.contains("delay_fit.bin_size_um"), "{error}");
    }
}

#[test]
fn distances_need_positions_and_their_columns() {
    let circuit = load();
    let mut fitter = Fitter::new(settings(None, 50.0)).unwrap();
    fitter.add_population("default", &circuit.mtype, &circuit.mtype).unwrap();
    fitter.next_pass().unwrap();
    let mut state = fitter.new_state().unwrap();
    let error = circuit.add(&fitter, &mut state, (0, 10)).unwrap_err().to_string();
    assert!(error.contains("positions"), "{error}");
    // A chunk without the centre columns names them.
    let mut fitter = Fitter::new(settings(None, 50.0)).unwrap();
    fitter.add_population("default", &circuit.mtype, &circuit.mtype).unwrap();
    fitter.set_source_positions("default", circuit.positions.clone()).unwrap();
    fitter.next_pass().unwrap();
    let mut state = fitter.new_state().unwrap();
    let ids: Vec<u64> = (0..10).collect();
    let edge_ids = EdgeIds {
        source: Ids::U64(&circuit.source[..10]),
        target: Ids::U64(&circuit.target[..10]),
        edge_id: Ids::U64(&ids),
    };
    let error =
        fitter.add_chunk(&mut state, "default", edge_ids, &[&circuit.columns[0][..10]]).unwrap_err().to_string();
    assert!(error.contains("afferent_center_x"), "{error}");
    // A population the settings planned no reads for.
    let mut fitter = Fitter::new(settings(None, 50.0)).unwrap();
    let error = fitter.add_population("other", &circuit.mtype, &circuit.mtype).unwrap_err().to_string();
    assert!(error.contains("other"), "{error}");
    // lin_delay for a property the distances were not binned for.
    let mut plain = FitSettings::new(vec![FitProperty { name: "delay".into(), kind: ValueKind::Float32 }]);
    plain.min_sample_size = Some(10);
    let mut fitter = Fitter::new(plain).unwrap();
    fitter.add_population("default", &circuit.mtype, &circuit.mtype).unwrap();
    let chunks = circuit.chunks(400);
    let data = fitter
        .run(|fitter, state| {
            chunks.iter().try_for_each(|&(start, end)| {
                let ids: Vec<u64> = (start as u64..end as u64).collect();
                let edge_ids = EdgeIds {
                    source: Ids::U64(&circuit.source[start..end]),
                    target: Ids::U64(&circuit.target[start..end]),
                    edge_id: Ids::U64(&ids),
                };
                fitter.add_chunk(state, "default", edge_ids, &[&circuit.columns[0][start..end]])
            })
        })
        .unwrap();
    let error = build(&data, &options()).unwrap_err().to_string();
    assert!(error.contains("laws.delay") && error.contains("no distances"), "{error}");
}

#[test]
fn refit_of_drawn_delays_recovers_the_model() {
    // Draw delays with a known lin_delay for every pathway at the fixture's distances, then fit.
    let circuit = load();
    let (a_true, b_true, sd_true) = (0.7, 0.003, 0.05);
    let model = json!({
        "src_types": ["L23_PC", "L4_SSC", "L5_LBC", "L5_TPC"],
        "prop_stats": {"delay": {"*": {"*": {"type": "lin_delay", "delay_mean_coeff_a": a_true, "delay_mean_coeff_b": b_true, "delay_std": sd_true, "delay_min": 0.1}}}}
    });
    let mut refit = load();
    refit.columns[0] = synparam_test_draw(&circuit, &model);
    let mut settings = settings(Some(10), 50.0);
    settings.law_statistics = true;
    let data = refit.fit(settings, 400).unwrap();
    // Auto mode: least squares on every synapse. Per pathway the slope's standard error is
    // sd / √Σ(d − d̄)²; 4.9 SE bound it (α ≈ 1e-6 per pathway, 16 pathways).
    let auto = BuildOptions { mode: synparam::fit::FitMode::Auto, ..options() };
    let fitted = build(&data, &auto).unwrap().model;
    for pathway in data.pathways.iter().filter(|p| p.statistics.is_some()) {
        let spec = &fitted["prop_stats"]["delay"][&pathway.source][&pathway.target];
        let line = pathway.distance.as_ref().unwrap().line;
        let se = sd_true / line.m2_distance.sqrt();
        let b = spec["delay_mean_coeff_b"].as_f64().unwrap();
        assert!(
            (b - b_true).abs() < 4.9 * se,
            "{} → {}: slope {b} vs {b_true} (SE {se:.1e})",
            pathway.source,
            pathway.target
        );
        let at_mean = spec["delay_mean_coeff_a"].as_f64().unwrap() + b * line.mean_distance;
        let se_mean = sd_true / (line.count as f64).sqrt();
        assert!((at_mean - (a_true + b_true * line.mean_distance)).abs() < 4.9 * se_mean, "{spec}");
        assert!((spec["delay_std"].as_f64().unwrap() - sd_true).abs() < 0.01, "{spec}");
    }
    // connectome-manipulator's method regresses bin means on bin centres: where a bin is partly
    // filled its centre is not its data's mean distance, which biases the slope (here 1–8 % low)
    // and adds the within-bin spread of the mean to the std. Measured, bounded, documented.
    let cm = build(&data, &options()).unwrap().model;
    for pathway in data.pathways.iter().filter(|p| p.statistics.is_some()) {
        let spec = &cm["prop_stats"]["delay"][&pathway.source][&pathway.target];
        let b = spec["delay_mean_coeff_b"].as_f64().unwrap();
        assert!((b - b_true).abs() < 0.12 * b_true, "{} → {}: {spec}", pathway.source, pathway.target);
    }
}

/// The engine's draw of `model` (one spec for every pathway) on the fixture's edges and distances.
fn synparam_test_draw(circuit: &Circuit, model: &Value) -> Vec<f64> {
    let spec = model["prop_stats"]["delay"]["*"]["*"].clone();
    let types: Vec<String> =
        model["src_types"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let by_target: serde_json::Map<String, Value> = types.iter().map(|t| (t.clone(), spec.clone())).collect();
    let by_source: serde_json::Map<String, Value> =
        types.iter().map(|s| (s.clone(), Value::Object(by_target.clone()))).collect();
    let config = json!({"src_types": types, "tgt_types": types, "prop_stats": {"delay": by_source}});
    let mut run = Parameterizer::new(&config.to_string(), Some(5)).unwrap();
    run.add_edge_population("default", circuit.mtype.clone(), circuit.mtype.clone(), "mtype", None).unwrap();
    run.plan_edge_attributes("default", &CENTRES).unwrap();
    run.set_source_positions("default", circuit.positions.clone()).unwrap();
    let n = circuit.source.len();
    let chunk =
        EdgeChunk { source: circuit.source.clone(), target: circuit.target.clone(), edge_id: (0..n as u64).collect() };
    let attributes: Vec<&[f64]> = circuit.columns[1..].iter().map(Vec::as_slice).collect();
    let result = run.run_chunk_with_attributes("default", &chunk, &attributes).unwrap();
    result.properties.iter().find(|p| p.name == "delay").unwrap().values.clone()
}
