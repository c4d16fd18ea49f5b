//! Statistics and histograms per property × pathway: counts, moments, clipped share, and the
//! spec's expected counts on the same bins agreeing with what was drawn.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use synparam::engine::PathwayColumn;
use synparam::stats::PathwayStats;
use synparam::Parameterizer;

fn run_seed_example(n: usize) -> Vec<synparam::stats::PropertyStats> {
    let classes = ["excitatory_neuron", "inhibitory_neuron", "extrinsic_neuron"];
    let values: Vec<Option<&str>> = (0..n).map(|i| Some(classes[i % 3])).collect();
    let nodes = PathwayColumn::from_values("nodes", &values);
    let mut run = Parameterizer::new(include_str!("../www/presets/seed_example.json"), None).unwrap();
    run.add_edge_population(
        "pop",
        nodes.clone(),
        PathwayColumn::from_values("one", &[Some("excitatory_neuron")]),
        "synapse_class",
        None,
    )
    .unwrap();
    let mut chunk = common::distinct_connections(n);
    chunk.target = vec![0; n];
    // Two chunks: statistics accumulate.
    let half = n / 2;
    for range in [0..half, half..n] {
        let piece = synparam::engine::EdgeChunk {
            source: chunk.source[range.clone()].to_vec(),
            target: chunk.target[range.clone()].to_vec(),
            edge_id: chunk.edge_id[range].to_vec(),
        };
        run.run_chunk("pop", &piece).unwrap();
    }
    run.statistics()
}

/// Chi-square of observed against expected counts over bins expecting ≥ 5, as a p-value.
fn histogram_p_value(stats: &PathwayStats) -> f64 {
    let h = &stats.histogram;
    let (mut statistic, mut cells) = (0.0, 0usize);
    for (o, e) in h.counts.iter().zip(&h.expected) {
        if *e >= 5.0 {
            statistic += (*o as f64 - e) * (*o as f64 - e) / e;
            cells += 1;
        }
    }
    synparam::special_functions::regularized_gamma((cells - 1) as f64 / 2.0, statistic / 2.0).1
}

#[test]
fn seed_example_statistics_match_the_spec() {
    let n = 30_000;
    let stats = run_seed_example(n);
    assert_eq!(stats.len(), 2);
    let conductance = &stats[0];
    assert_eq!(conductance.property, "conductance");
    assert_eq!(conductance.pathways.len(), 3, "three source classes onto one target class");
    for pathway in &conductance.pathways {
        assert_eq!(pathway.count, (n / 3) as u64);
        let expected_mean = if pathway.source == "inhibitory_neuron" { 2.0 } else { 1.0 };
        assert_eq!(pathway.theoretical_mean, expected_mean);
        assert_eq!(pathway.theoretical_std, 0.5);
        assert!((pathway.mean.unwrap() - expected_mean).abs() < 5.0 * 0.5 / (n as f64 / 3.0).sqrt());
        let h = &pathway.histogram;
        assert_eq!(h.edges.len(), h.counts.len() + 1);
        let total: u64 = h.counts.iter().sum::<u64>() + h.underflow + h.overflow;
        assert_eq!(total, pathway.count);
        let expected_total: f64 = h.expected.iter().sum();
        assert!((expected_total / pathway.count as f64 - 0.999).abs() < 0.001, "bins cover 99.9 %");
        let p = histogram_p_value(pathway);
        assert!(p > common::ALPHA, "{} histogram vs expectation: p {p}", pathway.source);
    }
    let syn_type = &stats[1];
    assert_eq!(syn_type.column_type, "int64");
    for pathway in &syn_type.pathways {
        let value = if pathway.source == "inhibitory_neuron" { 1.0 } else { 100.0 };
        assert_eq!((pathway.min, pathway.max, pathway.std), (Some(value), Some(value), Some(0.0)));
        assert!(pathway.histogram.integer);
        assert_eq!(pathway.histogram.counts.iter().sum::<u64>(), pathway.count);
        assert_eq!(pathway.histogram.expected.iter().sum::<f64>(), pathway.count as f64);
    }
}

#[test]
fn clipped_share_and_integer_bins_are_reported() {
    let spec = r#"{"type": "normal", "mean": 0, "std": 1, "lower_bound": -1, "upper_bound": 1.5, "dtype": "int", "shared_within": false}"#;
    let n = 20_000;
    let mut run = Parameterizer::new(&common::single_spec_model(spec), Some(3)).unwrap();
    run.add_edge_population("pop", common::uniform_nodes("s", n), common::uniform_nodes("t", n), "p", None).unwrap();
    run.run_chunk("pop", &common::distinct_connections(n)).unwrap();
    let stats = run.statistics();
    let pathway = &stats[0].pathways[0];
    let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
    let expected_clipped = phi(-1.0) + (1.0 - phi(1.5));
    let clipped = pathway.clipped_share.unwrap();
    assert!((clipped - expected_clipped).abs() < 5.0 * (expected_clipped * (1.0 - expected_clipped) / n as f64).sqrt());
    let h = &pathway.histogram;
    assert!(h.integer);
    // Stored values: −1, 0, 1, 2 (1.5 rounds half to even → 2).
    let centres: Vec<f64> = h.edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    for (centre, (observed, expected)) in centres.iter().zip(h.counts.iter().zip(&h.expected)) {
        let true_p = match *centre as i64 {
            -1 => phi(-0.5),
            0 => phi(0.5) - phi(-0.5),
            1 => phi(1.5) - phi(0.5),
            2 => 1.0 - phi(1.5),
            _ => 0.0,
        };
        assert!((expected / n as f64 - true_p).abs() < 1e-9, "expected mass at {centre}");
        assert!((*observed as f64 - expected).abs() <= 5.0 * (expected.max(1.0)).sqrt(), "count at {centre}");
    }
}

#[test]
fn density_preview_integrates_to_one() {
    let spec = synparam::config::parse_pathway_spec(r#"{"type": "gamma", "mean": 2, "std": 1}"#).unwrap();
    let points = synparam::stats::density_preview(&spec, 200);
    let integral: f64 = points.windows(2).map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0)).sum();
    assert!((integral - 0.999).abs() < 0.002, "integral {integral}");
    let discrete =
        synparam::config::parse_pathway_spec(r#"{"type": "discrete", "val": [1, 2], "p": [0.25, 0.75]}"#).unwrap();
    let masses = synparam::stats::density_preview(&discrete, 200);
    assert_eq!(masses, vec![(1.0, 0.25), (2.0, 0.75)]);
}

/// A property constant in every pathway (looked up per synapse) and one constant in some pathways
/// only (drawn per synapse) store the same values and count the same clipped share.
#[test]
fn constants_are_stored_and_counted_alike_whether_or_not_every_pathway_is_constant() {
    let model = |b_to_a: &str| {
        format!(
            r#"{{"src_types": ["A", "B"], "tgt_types": ["A"], "prop_stats": {{"value": {{
                "A": {{"A": {{"type": "constant", "mean": 5, "upper_bound": 3}}}},
                "B": {{"A": {b_to_a}}}}}}}}}"#
        )
    };
    let run = |config: &str| {
        let mut run = Parameterizer::new(config, Some(1)).unwrap();
        let sources = PathwayColumn::from_values("s", &[Some("A"), Some("B"), Some("A")]);
        run.add_edge_population("pop", sources, common::uniform_nodes("t", 1), "p", None).unwrap();
        let chunk =
            synparam::engine::EdgeChunk { source: vec![0, 1, 2, 0, 1], target: vec![0; 5], edge_id: (0..5).collect() };
        let values = run.run_chunk("pop", &chunk).unwrap().properties.remove(0).values;
        (values, run.statistics().remove(0).pathways)
    };
    let (all_fixed, all_fixed_stats) = run(&model(r#"{"type": "constant", "mean": 2}"#));
    assert_eq!(all_fixed, vec![3.0, 2.0, 3.0, 3.0, 2.0]);
    let (mixed, mixed_stats) = run(&model(r#"{"type": "normal", "mean": 2, "std": 0.1}"#));
    assert_eq!([mixed[0], mixed[2], mixed[3]], [3.0, 3.0, 3.0]);
    assert!(mixed[1] != 2.0 && (mixed[1] - 2.0).abs() < 1.0);
    assert_eq!(all_fixed_stats[0].clipped_share, Some(1.0));
    assert_eq!(mixed_stats[0].clipped_share, Some(1.0));
    assert_eq!(all_fixed_stats[1].clipped_share, Some(0.0));
    assert_eq!((all_fixed_stats[0].count, mixed_stats[0].count), (3, 3));
}

/// Statistics of `single_spec_model(spec)` on `connections` connections of `per_connection`
/// synapses each (sources 0.., one target per connection, edges grouped by connection).
fn fitted(spec: &str, connections: usize, per_connection: usize, seed: u64) -> PathwayStats {
    let n = connections * per_connection;
    let mut run = Parameterizer::new(&common::single_spec_model(spec), Some(seed)).unwrap();
    run.add_edge_population(
        "edges",
        common::uniform_nodes("src", connections),
        common::uniform_nodes("tgt", connections),
        "p",
        None,
    )
    .unwrap();
    let ids: Vec<u64> = (0..n as u64).map(|i| i / per_connection as u64).collect();
    let chunk = synparam::engine::EdgeChunk { source: ids.clone(), target: ids, edge_id: (0..n as u64).collect() };
    run.run_chunk("edges", &chunk).unwrap();
    run.statistics().remove(0).pathways.remove(0)
}

/// The goodness of fit the page shows per pathway: p-values of a correct sampler are uniform, so
/// at α = 0.01 about 1 % of 300 seeds reject; more than 12 (P ≈ 1e-4 under the null) is a
/// defect. With one draw per connection the test rests on the connections: counting each of 5
/// synapses as a draw would reject almost always.
#[test]
fn goodness_of_fit_rests_on_the_independent_draws() {
    let per_synapse = r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": false}"#;
    let per_connection = r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": true}"#;
    let mut rejected = [0usize; 2];
    let mut naive_rejected = 0usize;
    for seed in 0..300u64 {
        let a = fitted(per_synapse, 1000, 1, seed);
        let fit = a.goodness_of_fit.as_ref().expect("a fit");
        assert_eq!((fit.test, fit.draws), ("chi2", 1000));
        rejected[0] += (fit.p_value < 0.01) as usize;
        let b = fitted(per_connection, 400, 5, seed);
        let fit = b.goodness_of_fit.as_ref().expect("a fit");
        assert_eq!(fit.draws, 400, "one draw per connection, not 2000 synapses");
        assert_eq!(b.count, 2000);
        rejected[1] += (fit.p_value < 0.01) as usize;
        // The same histogram taken as 2000 independent values: inflated χ².
        let spec = synparam::config::parse_pathway_spec(per_connection).unwrap();
        let h = &b.histogram;
        let cells: Vec<u64> =
            std::iter::once(h.underflow).chain(h.counts.iter().copied()).chain([h.overflow]).collect();
        let naive = synparam::stats::chi_square_fit(&spec, &h.edges, b.count, &cells).unwrap();
        naive_rejected += (naive.p_value < 0.01) as usize;
    }
    assert!(rejected[0] <= 12 && rejected[1] <= 12, "correct samplers rejected {rejected:?} of 300 at α = 0.01");
    assert!(naive_rejected > 200, "synapses counted as draws would reject a correct sampler ({naive_rejected} of 300)");
}

#[test]
fn goodness_of_fit_catches_a_wrong_law_and_skips_what_cannot_be_tested() {
    // Draws from gamma(1, 0.5) tested against gamma(1.1, 0.5): rejected.
    let drawn = fitted(r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": false}"#, 3000, 1, 7);
    let other = synparam::config::parse_pathway_spec(r#"{"type": "gamma", "mean": 1.1, "std": 0.5}"#).unwrap();
    let h = &drawn.histogram;
    let cells: Vec<u64> = std::iter::once(h.underflow).chain(h.counts.iter().copied()).chain([h.overflow]).collect();
    let fit = synparam::stats::chi_square_fit(&other, &h.edges, drawn.count, &cells).unwrap();
    assert!(fit.p_value < 1e-6, "wrong law: p {}", fit.p_value);
    // Discrete laws are tested on their integer bins; constants and too few draws are not tested.
    let discrete =
        fitted(r#"{"type": "discrete", "val": [1, 2, 3], "p": [0.5, 0.3, 0.2], "shared_within": false}"#, 2000, 1, 3);
    let fit = discrete.goodness_of_fit.expect("a discrete fit");
    assert!(fit.p_value > common::ALPHA && fit.degrees_of_freedom == 2, "{fit:?}");
    assert!(fitted(r#"{"type": "constant", "mean": 3}"#, 100, 1, 1).goodness_of_fit.is_none());
    assert!(
        fitted(r#"{"type": "gamma", "mean": 1.0, "std": 0.5}"#, 10, 4, 1).goodness_of_fit.is_none(),
        "10 connections: too few"
    );
}

/// The values a file held before a run, binned per pathway beside the new ones; NaN (a group
/// without the dataset) left out; wrong lengths and unknown properties are errors.
#[test]
fn previous_values_are_binned_beside_the_new_ones() {
    let spec = r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": false}"#;
    let n = 1000;
    let mut run = Parameterizer::new(&common::single_spec_model(spec), Some(1)).unwrap();
    run.add_edge_population("edges", common::uniform_nodes("src", n), common::uniform_nodes("tgt", n), "p", None)
        .unwrap();
    let chunk = common::distinct_connections(n);
    run.run_chunk("edges", &chunk).unwrap();
    assert!(run.statistics()[0].pathways[0].previous.is_none(), "none given: none shown");
    let mut before: Vec<f64> = (0..n).map(|i| 0.5 + (i % 2) as f64).collect(); // half 0.5, half 1.5
    before[0] = f64::NAN;
    run.add_previous_values("edges", chunk.ids(), "value", &before).unwrap();
    let stats = run.statistics().remove(0).pathways.remove(0);
    let previous = stats.previous.expect("the values before");
    assert_eq!(previous.count, (n - 1) as u64, "NaN left out");
    assert!((previous.mean - (0.5 * 499.0 + 1.5 * 500.0) / 999.0).abs() < 1e-12);
    assert_eq!(previous.counts.len(), stats.histogram.counts.len(), "the same bins");
    assert_eq!(previous.counts.iter().sum::<u64>() + previous.underflow + previous.overflow, previous.count);
    assert_eq!(stats.count, n as u64, "the new values are untouched");
    assert!(run.add_previous_values("edges", chunk.ids(), "value", &before[1..]).is_err(), "one value per edge");
    assert!(run.add_previous_values("edges", chunk.ids(), "nope", &before).is_err(), "a property of the model");
}

/// A pathway whose new mean moved more than 2× from the values the file held is flagged, and the
/// run's warnings say it once per property with the largest shift; a small change is not.
#[test]
fn a_large_shift_from_the_values_before_is_flagged_and_warned() {
    let spec = r#"{"type": "gamma", "mean": 1.0, "std": 0.2, "shared_within": false}"#;
    let n = 2000;
    let shifted = |before: f64| {
        let mut run = Parameterizer::new(&common::single_spec_model(spec), Some(1)).unwrap();
        run.add_edge_population("edges", common::uniform_nodes("src", n), common::uniform_nodes("tgt", n), "p", None)
            .unwrap();
        let chunk = common::distinct_connections(n);
        run.run_chunk("edges", &chunk).unwrap();
        run.add_previous_values("edges", chunk.ids(), "value", &vec![before; n]).unwrap();
        let stats = run.statistics();
        (stats[0].pathways[0].previous.clone().unwrap(), synparam::stats::run_warnings("edges", &stats))
    };
    // A calibrated 0.16 replaced by a mean of 1: 6.25×.
    let (previous, warnings) = shifted(0.16);
    assert!(previous.shifted);
    assert!((previous.mean_ratio.unwrap() - 6.25).abs() < 0.1, "{previous:?}");
    let line = warnings.iter().find(|w| w.contains("moved more than 2×")).expect("a shift warning");
    assert!(
        line.starts_with(
            "edges: value — the mean of 1 of 1 pathways moved more than 2× from the values the file held (most: "
        ),
        "{line}"
    );
    assert!(line.contains("A → A, 0.16 → 0.99"), "{line}");
    // 0.8 → 1: not a shift; 0 → 1: a shift without a ratio.
    let (previous, warnings) = shifted(0.8);
    assert!(!previous.shifted && warnings.iter().all(|w| !w.contains("moved")));
    let (previous, _) = shifted(0.0);
    assert!(previous.shifted && previous.mean_ratio.is_none());
}
