//! `lin_delay` against connectome-manipulator's `LinDelayModel.apply` (issue #26): per parameter set
//! and distance of a fixed grid, synparam's draws against the 1,500 delays connectome-manipulator
//! 1.0.4 drew itself (`tests/fixtures/lin_delay_cm_samples.json`, written by
//! `tests/conformance/lin_delay_samples.py`): two-sample Kolmogorov–Smirnov at α = 0.001 per case;
//! and, as `apply` is `scipy.stats.truncnorm` with α = (min − mean)/std, β = ∞, synparam's draws
//! against that law's CDF (one-sample KS, α = 0.001). A deliberately wrong law (clipping at the
//! minimum instead of truncating) fails the same comparison.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use serde_json::Value;
use synparam::attributes::AttributeLaw;
use synparam::engine::EdgeChunk;
use synparam::special_functions::normal_cdf;
use synparam::Parameterizer;

const FIXTURE: &str = include_str!("fixtures/lin_delay_cm_samples.json");
const DRAWS: usize = 4000;

struct Case {
    a: f64,
    b: f64,
    std: f64,
    min: f64,
    distance: f64,
    samples: Vec<f64>,
}

fn cases() -> Vec<Case> {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    assert!(fixture["source"].as_str().unwrap().starts_with("connectome_manipulator 1.0.4"));
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let p = &case["parameters"];
            let number = |key: &str| p[key].as_f64().unwrap();
            Case {
                a: number("delay_mean_coeff_a"),
                b: number("delay_mean_coeff_b"),
                std: number("delay_std"),
                min: number("delay_min"),
                distance: case["distance"].as_f64().unwrap(),
                samples: case["samples"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect(),
            }
        })
        .collect()
}

/// `DRAWS` delays of one lin_delay pathway through the engine, every synapse at `distance` from
/// its source soma (the synapse on the x axis).
fn drawn(case: &Case, seed: u64) -> Vec<f64> {
    let spec = format!(
        r#"{{"type": "lin_delay", "delay_mean_coeff_a": {}, "delay_mean_coeff_b": {}, "delay_std": {}, "delay_min": {}}}"#,
        case.a, case.b, case.std, case.min
    );
    let mut run = Parameterizer::new(&common::single_spec_model(&spec), Some(seed)).unwrap();
    let nodes = common::uniform_nodes("n", DRAWS);
    run.add_edge_population("e", nodes.clone(), nodes, "p", None).unwrap();
    run.plan_edge_attributes("e", &synparam::attributes::AFFERENT_CENTER).unwrap();
    let zeros = vec![0.0; DRAWS];
    run.set_source_positions(
        "e",
        synparam::attributes::SomaPositions { x: zeros.clone(), y: zeros.clone(), z: zeros.clone() },
    )
    .unwrap();
    let x = vec![case.distance; DRAWS];
    let chunk: EdgeChunk = common::distinct_connections(DRAWS);
    let result = run.run_chunk_with_attributes("e", &chunk, &[&x, &zeros, &zeros]).unwrap();
    result.properties[0].values.clone()
}

/// scipy's truncnorm(α = (min − mean)/std, β = ∞, loc = mean, scale = std) CDF.
fn truncnorm_cdf(case: &Case, x: f64) -> f64 {
    let mean = case.b * case.distance + case.a;
    if x < case.min {
        return 0.0;
    }
    let alpha = normal_cdf((case.min - mean) / case.std);
    (normal_cdf((x - mean) / case.std) - alpha) / (1.0 - alpha)
}

#[test]
fn lin_delay_draws_as_connectome_manipulators_apply() {
    let cases = cases();
    assert_eq!(cases.len(), 20);
    let mut smallest = (1.0f64, 1.0f64);
    for (index, case) in cases.iter().enumerate() {
        let ours = drawn(case, 100 + index as u64);
        if case.std == 0.0 {
            // Deterministic: max(mean, min), as apply returns it (cm's values rounded to 1e-7).
            let expected = (case.b * case.distance + case.a).max(case.min);
            assert!(ours.iter().all(|&v| v == expected), "case {index}");
            assert!(case.samples.iter().all(|&v| (v - expected).abs() < 1e-6), "case {index}");
            continue;
        }
        assert!(ours.iter().all(|&v| v >= case.min), "case {index}: below delay_min");
        let two_sample = common::ks2_p_value(&ours, &case.samples);
        let law = common::ks_p_value(&ours, |x| truncnorm_cdf(case, x));
        let theirs = common::ks_p_value(&case.samples, |x| truncnorm_cdf(case, x));
        assert!(two_sample > common::ALPHA, "case {index} (d = {}): two-sample KS p = {two_sample}", case.distance);
        assert!(law > common::ALPHA, "case {index}: one-sample KS of ours p = {law}");
        assert!(theirs > common::ALPHA, "case {index}: cm's samples against the law p = {theirs}");
        smallest = (smallest.0.min(two_sample), smallest.1.min(law));
    }
    println!("smallest p: two-sample {:.4}, against the law {:.4}", smallest.0, smallest.1);
}

#[test]
fn clipping_instead_of_truncating_is_caught() {
    // Case 10: a = −0.5, b = 0.004, std 0.3, min 0.4 at d = 0: the mean lies far below the minimum,
    // where truncation and clipping differ most.
    let cases = cases();
    let case = cases.iter().find(|c| c.a == -0.5 && c.distance == 0.0).unwrap();
    let law = AttributeLaw::LinDelay { a: case.a, b: case.b, std: case.std, min: case.min };
    let mut stream = synparam::streams::Stream::new(7);
    let clipped: Vec<f64> = (0..DRAWS)
        .map(|_| {
            let mean = case.b * case.distance + case.a;
            (mean + case.std * synparam::distributions::standard_normal(&mut stream)).max(case.min)
        })
        .collect();
    assert!(common::ks2_p_value(&clipped, &case.samples) < common::ALPHA);
    let truncated: Vec<f64> = (0..DRAWS).map(|_| law.sample(case.distance, &mut stream)).collect();
    assert!(common::ks2_p_value(&truncated, &case.samples) > common::ALPHA);
}
