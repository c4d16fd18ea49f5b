//! Every distribution, drawn through the real engine (keyed per-synapse streams), against its law:
//! one-sample KS for continuous laws, chi-square for discrete ones, each at significance
//! `common::ALPHA` = 0.001 with fixed seeds; moments within 5 standard errors; exact checks for
//! constant, zero, bounds and dtype.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{chi_square_p_value, draw, ks_p_value, mean_std, ALPHA};
use synparam::special_functions::{ln_gamma, regularized_gamma};

const N: usize = 20_000;

/// Φ written independently of the crate's own helper.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

fn phi_upper(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

fn assert_ks(name: &str, sample: &[f64], cdf: impl Fn(f64) -> f64) {
    let p = ks_p_value(sample, cdf);
    assert!(p > ALPHA, "{name}: KS p-value {p} ≤ {ALPHA}");
}

fn assert_moments(name: &str, sample: &[f64], mean: f64, std: f64) {
    let (m, s) = mean_std(sample);
    let n = sample.len() as f64;
    // Standard errors: σ/√n for the mean; s·√(kurtosis − 1)/(2√n) for the standard deviation,
    // with the sample kurtosis, so heavy-tailed laws get their wider (but still 5-SE) band.
    let m4 = sample.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    let kurtosis = if s > 0.0 { m4 / s.powi(4) } else { 3.0 };
    let std_error_of_std = s * (kurtosis - 1.0).max(0.0).sqrt() / (2.0 * n.sqrt());
    assert!((m - mean).abs() <= 5.0 * std / n.sqrt() + 1e-12, "{name}: mean {m} vs {mean}");
    assert!((s - std).abs() <= 5.0 * std_error_of_std + 1e-12, "{name}: std {s} vs {std}");
}

#[test]
fn constant_and_zero_are_exact() {
    assert!(draw(r#"{"type": "constant", "mean": 3.25, "shared_within": false}"#, 1000, 1).iter().all(|&v| v == 3.25));
    assert!(draw(r#"{"type": "zero"}"#, 1000, 1).iter().all(|&v| v == 0.0));
}

#[test]
fn normal_matches_its_law() {
    let sample = draw(r#"{"type": "normal", "mean": 2.0, "std": 0.5, "shared_within": false}"#, N, 11);
    assert_ks("normal", &sample, |x| phi((x - 2.0) / 0.5));
    assert_moments("normal", &sample, 2.0, 0.5);
}

#[test]
fn gamma_matches_its_law_for_small_medium_and_large_shapes() {
    for (mean, std, seed) in
        [(1.0, 0.5, 12), (0.5, std::f64::consts::FRAC_1_SQRT_2, 13), (669.96, 15.0, 14), (2.0, 4.0, 15)]
    {
        let sample =
            draw(&format!(r#"{{"type": "gamma", "mean": {mean}, "std": {std}, "shared_within": false}}"#), N, seed);
        let shape = mean * mean / (std * std);
        let scale = std * std / mean;
        assert_ks(&format!("gamma({mean},{std})"), &sample, |x| regularized_gamma(shape, x / scale).0);
        assert_moments(&format!("gamma({mean},{std})"), &sample, mean, std);
    }
    assert!(draw(r#"{"type": "gamma", "mean": 1.5, "std": 0}"#, 100, 1).iter().all(|&v| v == 1.5));
}

/// CDF of N(0,1) truncated to [a, b], written on the side where it is accurate.
fn truncated_cdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= a {
        return 0.0;
    }
    if x >= b {
        return 1.0;
    }
    if a >= 0.0 {
        (phi_upper(a) - phi_upper(x)) / (phi_upper(a) - phi_upper(b))
    } else {
        (phi(x) - phi(a)) / (phi(b) - phi(a))
    }
}

#[test]
fn truncnorm_is_exact_in_the_center_one_sided_and_far_in_the_tails() {
    let cases = [
        // (loc, scale, min, max)
        (0.5, 0.25, 0.2, 0.7),  // u_syn of the TM preset
        (1.7, 0.1, 1.7, 1.9),   // decay_time: window starting at the mean
        (0.0, 1.0, 8.0, 9.0),   // [8σ, 9σ]
        (0.0, 1.0, -9.0, -8.0), // mirrored
        (10.0, 2.0, 14.0, 1e9), // one-sided (upper window, effectively unbounded)
        (0.0, 1.0, -1e9, -3.0), // one-sided lower
        (0.0, 1.0, 35.0, 36.0), // beyond the inverse-CDF range: exponential rejection
    ];
    for (i, (loc, scale, min, max)) in cases.into_iter().enumerate() {
        let spec = format!(
            r#"{{"type": "truncnorm", "norm_loc": {loc}, "norm_scale": {scale}, "min": {min}, "max": {max}, "shared_within": false}}"#
        );
        let sample = draw(&spec, N, 20 + i as u64);
        assert!(sample.iter().all(|&v| v >= min && v <= max), "{spec}: value outside the window");
        let (a, b) = ((min - loc) / scale, (max - loc) / scale);
        assert_ks(&spec, &sample, |x| truncated_cdf((x - loc) / scale, a, b));
    }
}

#[test]
fn truncnorm_tail_window_has_the_right_mean() {
    // E[Z | 8 ≤ Z ≤ 9] = (φ(8) − φ(9)) / (Φ(9) − Φ(8)) ≈ 8.1185.
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let expected = (pdf(8.0) - pdf(9.0)) / (phi_upper(8.0) - phi_upper(9.0));
    let sample = draw(
        r#"{"type": "truncnorm", "norm_loc": 0, "norm_scale": 1, "min": 8, "max": 9, "shared_within": false}"#,
        N,
        30,
    );
    let (mean, _) = mean_std(&sample);
    assert!((mean - expected).abs() < 0.005, "mean {mean} vs {expected}");
}

#[test]
fn truncnorm_with_zero_scale_clips_the_location() {
    let sample = draw(r#"{"type": "truncnorm", "norm_loc": 5, "norm_scale": 0, "min": 0, "max": 2}"#, 100, 1);
    assert!(sample.iter().all(|&v| v == 2.0));
}

fn poisson_pmf(k: i64, lambda: f64) -> f64 {
    if k < 0 {
        return 0.0;
    }
    (k as f64 * lambda.ln() - lambda - ln_gamma(k as f64 + 1.0)).exp()
}

#[test]
fn poisson_matches_its_law_by_inversion_and_by_rejection() {
    for (mean, seed) in [(0.4f64, 40), (3.0, 41), (50.0, 42), (1000.0, 43)] {
        let sample = draw(&format!(r#"{{"type": "poisson", "mean": {mean}, "shared_within": false}}"#), N, seed);
        let hi = (mean + 10.0 * mean.sqrt() + 10.0) as i64;
        let p = chi_square_p_value(&sample, |k| poisson_pmf(k, mean), 0..=hi);
        assert!(p > ALPHA, "poisson({mean}): chi-square p {p}");
        assert_moments(&format!("poisson({mean})"), &sample, mean, mean.sqrt());
    }
    assert!(draw(r#"{"type": "poisson", "mean": 0}"#, 100, 1).iter().all(|&v| v == 0.0));
}

#[test]
fn ztpoisson_has_the_requested_mean_and_its_law() {
    for (mean, seed) in [(1.2f64, 50), (3.0, 51), (25.0, 52)] {
        let sample = draw(&format!(r#"{{"type": "ztpoisson", "mean": {mean}, "shared_within": false}}"#), N, seed);
        assert!(sample.iter().all(|&v| v >= 1.0 && v.fract() == 0.0));
        let lambda = synparam::distributions::ztpoisson_lambda(mean);
        assert!((lambda / (1.0 - (-lambda).exp()) - mean).abs() < 1e-9, "λ solves the mean equation");
        let norm = 1.0 - (-lambda).exp();
        let pmf = |k: i64| if k < 1 { 0.0 } else { poisson_pmf(k, lambda) / norm };
        let hi = (mean + 10.0 * mean.sqrt() + 10.0) as i64;
        let p = chi_square_p_value(&sample, pmf, 1..=hi);
        assert!(p > ALPHA, "ztpoisson({mean}): chi-square p {p}");
        let variance = mean * (1.0 + lambda - mean);
        assert_moments(&format!("ztpoisson({mean})"), &sample, mean, variance.sqrt());
    }
    assert!(draw(r#"{"type": "ztpoisson", "mean": 1}"#, 100, 1).iter().all(|&v| v == 1.0));
}

#[test]
fn discrete_matches_its_probabilities() {
    let sample = draw(
        r#"{"type": "discrete", "val": [1, 2, 3, 4, 5], "p": [0.3, 0.3, 0.2, 0.1, 0.1], "shared_within": false}"#,
        N,
        60,
    );
    let p = [0.3, 0.3, 0.2, 0.1, 0.1];
    let pvalue = chi_square_p_value(&sample, |k| if (1..=5).contains(&k) { p[(k - 1) as usize] } else { 0.0 }, 1..=5);
    assert!(pvalue > ALPHA, "discrete: chi-square p {pvalue}");
    // Values that are not integers, and zero-probability entries that never appear.
    let sample = draw(
        r#"{"type": "discrete", "val": [0.5, 7.25, 9.0], "p": [0.25, 0.75, 0.0], "shared_within": false}"#,
        4000,
        61,
    );
    assert!(sample.iter().all(|&v| v == 0.5 || v == 7.25));
    let share = sample.iter().filter(|&&v| v == 0.5).count() as f64 / 4000.0;
    assert!((share - 0.25).abs() < 5.0 * (0.25f64 * 0.75 / 4000.0).sqrt());
}

#[test]
fn lognormal_exponential_and_uniform_match_their_laws() {
    let sample = draw(r#"{"type": "lognormal", "mean": 0.2, "sigma": 0.4, "shared_within": false}"#, N, 70);
    assert_ks("lognormal", &sample, |x| if x <= 0.0 { 0.0 } else { phi((x.ln() - 0.2) / 0.4) });
    let sample = draw(r#"{"type": "exponential", "scale": 2.5, "shared_within": false}"#, N, 71);
    assert_ks("exponential", &sample, |x| if x <= 0.0 { 0.0 } else { 1.0 - (-x / 2.5).exp() });
    assert_moments("exponential", &sample, 2.5, 2.5);
    let sample = draw(r#"{"type": "uniform", "low": -1.0, "high": 3.0, "shared_within": false}"#, N, 72);
    assert!(sample.iter().all(|&v| (-1.0..3.0).contains(&v)));
    assert_ks("uniform", &sample, |x| ((x + 1.0) / 4.0).clamp(0.0, 1.0));
}

#[test]
fn bounds_clip_after_drawing() {
    let sample = draw(
        r#"{"type": "normal", "mean": 0, "std": 1, "lower_bound": -0.5, "upper_bound": 1.0, "shared_within": false}"#,
        N,
        80,
    );
    assert!(sample.iter().all(|&v| (-0.5..=1.0).contains(&v)));
    let at_lower = sample.iter().filter(|&&v| v == -0.5).count() as f64 / N as f64;
    let at_upper = sample.iter().filter(|&&v| v == 1.0).count() as f64 / N as f64;
    let (expected_lower, expected_upper) = (phi(-0.5), phi_upper(1.0));
    assert!((at_lower - expected_lower).abs() < 5.0 * (expected_lower * (1.0 - expected_lower) / N as f64).sqrt());
    assert!((at_upper - expected_upper).abs() < 5.0 * (expected_upper * (1.0 - expected_upper) / N as f64).sqrt());
    // Strictly inside the bounds, the law is untouched.
    let inside: Vec<f64> = sample.iter().copied().filter(|&v| v > -0.5 && v < 1.0).collect();
    assert_ks("normal inside bounds", &inside, |x| (phi(x) - phi(-0.5)) / (phi(1.0) - phi(-0.5)));
}

#[test]
fn dtype_int_rounds_half_to_even_and_explicit_int_types_truncate() {
    for (mean, expected) in [(2.5, 2.0), (3.5, 4.0), (-2.5, -2.0), (0.5, 0.0), (2.6, 3.0)] {
        let sample = draw(&format!(r#"{{"type": "constant", "mean": {mean}, "dtype": "int"}}"#), 3, 1);
        assert_eq!(sample, vec![expected; 3], "round_half_even({mean})");
    }
    // numpy's astype("int32") truncates toward zero.
    assert_eq!(draw(r#"{"type": "constant", "mean": -2.7, "dtype": "int32"}"#, 2, 1), vec![-2.0; 2]);
    assert_eq!(draw(r#"{"type": "constant", "mean": 2.7, "dtype": "uint8"}"#, 2, 1), vec![2.0; 2]);
    // float32 rounds to single precision.
    assert_eq!(draw(r#"{"type": "constant", "mean": 0.1, "dtype": "float32"}"#, 1, 1), vec![0.1f32 as f64]);
    // Bounds apply before dtype: 7.6 clipped to 7.4, then rounded to 7.
    assert_eq!(draw(r#"{"type": "constant", "mean": 7.6, "upper_bound": 7.4, "dtype": "int"}"#, 1, 1), vec![7.0]);
}

#[test]
fn values_that_do_not_fit_the_dtype_are_errors_naming_the_pathway() {
    use synparam::Parameterizer;
    let mut run = Parameterizer::new(
        &common::single_spec_model(r#"{"type": "constant", "mean": -3, "dtype": "uint16"}"#),
        Some(1),
    )
    .unwrap();
    run.add_edge_population("edges", common::uniform_nodes("s", 2), common::uniform_nodes("t", 2), "p", None).unwrap();
    let err = run.run_chunk("edges", &common::distinct_connections(2)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("prop_stats.value.A.A") && message.contains("uint16") && message.contains("-3"),
        "{message}"
    );
}

#[test]
fn normal_sampler_tails_and_wedges_are_exact() {
    // 400 k draws: the ziggurat's tail (|z| > 3.4426) and wedge paths are hit thousands of times.
    let n = 400_000;
    let sample = draw(r#"{"type": "normal", "mean": 0, "std": 1, "shared_within": false}"#, n, 90);
    assert_ks("normal 400k", &sample, phi);
    for threshold in [2.0, 3.442_619_855_899, 4.0] {
        let expected = 2.0 * phi_upper(threshold) * n as f64;
        let observed = sample.iter().filter(|v| v.abs() > threshold).count() as f64;
        assert!((observed - expected).abs() < 5.0 * expected.sqrt(), "|z| > {threshold}: {observed} vs {expected}");
    }
}

/// Functionalizer's truncated normal written as functionalizer draws it (issue 16): z ~ N(0, 1)
/// redrawn while |z| > 1, x = mean + std·z, the whole draw repeated while x < 0. Its CDF follows
/// from that procedure: N(mean, std) conditioned on [max(mean − std, 0), mean + std].
#[test]
fn fz_truncnorm_is_functionalizers_redraw_within_one_std_and_non_negative() {
    // (mean, std): u_syn and decay_time of BBP recipes, and E2's u_syn 0 ± 0.5 (window [0, 0.5]).
    for (i, (mean, std)) in [(0.25f64, 0.13f64), (1.74, 0.18), (0.0, 0.5), (0.1, 0.3)].into_iter().enumerate() {
        let spec = format!(r#"{{"type": "fz_truncnorm", "mean": {mean}, "std": {std}, "shared_within": false}}"#);
        let sample = draw(&spec, N, 60 + i as u64);
        let low = (mean - std).max(0.0);
        assert!(sample.iter().all(|&v| v >= low && v <= mean + std), "{spec}: value outside the window");
        let (a, b) = ((low - mean) / std, 1.0);
        assert_ks(&spec, &sample, |x| ((phi((x - mean) / std) - phi(a)) / (phi(b) - phi(a))).clamp(0.0, 1.0));
    }
}

/// Functionalizer's n_rrp_vesicles: 1 + Poisson(k − 1) for k ≥ 1, always 1 below (issue 16).
#[test]
fn fz_nrrp_is_one_plus_poisson_of_mean_minus_one() {
    for (k, seed) in [(2.6f64, 70), (1.0, 71), (12.0, 72)] {
        let sample = draw(&format!(r#"{{"type": "fz_nrrp", "mean": {k}, "shared_within": false}}"#), N, seed);
        assert!(sample.iter().all(|&v| v >= 1.0 && v.fract() == 0.0));
        let lambda = k - 1.0;
        if lambda == 0.0 {
            assert!(sample.iter().all(|&v| v == 1.0));
            continue;
        }
        let hi = (k + 10.0 * lambda.sqrt() + 10.0) as i64;
        let p = chi_square_p_value(&sample, |n| poisson_pmf(n - 1, lambda), 1..=hi);
        assert!(p > ALPHA, "fz_nrrp({k}): chi-square p {p}");
        assert_moments(&format!("fz_nrrp({k})"), &sample, k, lambda.sqrt());
    }
    for below in [0.0, 0.5] {
        let spec = format!(r#"{{"type": "fz_nrrp", "mean": {below}}}"#);
        assert!(draw(&spec, 100, 1).iter().all(|&v| v == 1.0), "{spec}: always 1");
    }
}

/// `shift` adds a constant to every value of any law (obi-one's gamma and exponential `shift`).
#[test]
fn shift_moves_the_whole_law() {
    let sample = draw(r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shift": 2.0, "shared_within": false}"#, N, 80);
    // gamma(shape 4, scale 0.25) + 2.
    assert_ks("gamma + 2", &sample, |x| if x <= 2.0 { 0.0 } else { regularized_gamma(4.0, (x - 2.0) / 0.25).0 });
    assert_moments("gamma + 2", &sample, 3.0, 0.5);
    let exp = draw(r#"{"type": "exponential", "scale": 50, "shift": 10, "shared_within": false}"#, N, 81);
    assert_ks("exponential + 10", &exp, |x| if x <= 10.0 { 0.0 } else { 1.0 - (-(x - 10.0) / 50.0).exp() });
}

/// `truncate` conditions any law on a window (redrawn within it, never clipped): obi-one's min/max
/// with their intended meaning (issue 16). Written from the conditional law F(x) − F(a) / (F(b) − F(a)).
#[test]
fn truncate_conditions_any_law_on_its_window_without_piling_values_on_the_bounds() {
    // obi-one's default decay_time N(1.7, 0.1) with min 1.7, max 1.9: obi-one clamps half the
    // values to exactly 1.7; truncation keeps the normal's shape within the window.
    let sample = draw(
        r#"{"type": "normal", "mean": 1.7, "std": 0.1, "truncate": {"min": 1.7, "max": 1.9}, "shared_within": false}"#,
        N,
        82,
    );
    assert!(sample.iter().all(|&v| (1.7..=1.9).contains(&v)));
    let at_min = sample.iter().filter(|&&v| v == 1.7).count();
    assert!(at_min < 5, "{at_min} values exactly on the lower bound");
    let (a, b) = (0.0, 2.0);
    assert_ks("normal truncated", &sample, |x| ((phi((x - 1.7) / 0.1) - phi(a)) / (phi(b) - phi(a))).clamp(0.0, 1.0));
    // A gamma truncated on both sides.
    let gamma = draw(
        r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "truncate": {"min": 0.5, "max": 1.5}, "shared_within": false}"#,
        N,
        83,
    );
    let f = |x: f64| regularized_gamma(4.0, x / 0.25).0;
    assert_ks("gamma truncated", &gamma, |x| ((f(x.clamp(0.5, 1.5)) - f(0.5)) / (f(1.5) - f(0.5))).clamp(0.0, 1.0));
    // A Poisson restricted to {1, …, 5} (bounds inclusive).
    let counts =
        draw(r#"{"type": "poisson", "mean": 3, "truncate": {"min": 1, "max": 5}, "shared_within": false}"#, N, 84);
    assert!(counts.iter().all(|&v| (1.0..=5.0).contains(&v) && v.fract() == 0.0));
    let norm: f64 = (1..=5).map(|k| poisson_pmf(k, 3.0)).sum();
    let p = chi_square_p_value(&counts, |k| if (1..=5).contains(&k) { poisson_pmf(k, 3.0) / norm } else { 0.0 }, 1..=5);
    assert!(p > ALPHA, "poisson truncated: chi-square p {p}");
    // Shift then truncate: exponential + 10 within [20, 100].
    let both = draw(
        r#"{"type": "exponential", "scale": 50, "shift": 10, "truncate": {"min": 20, "max": 100}, "shared_within": false}"#,
        N,
        85,
    );
    let g = |x: f64| 1.0 - (-(x - 10.0) / 50.0).exp();
    assert_ks("exponential + 10 truncated", &both, |x| {
        ((g(x.clamp(20.0, 100.0)) - g(20.0)) / (g(100.0) - g(20.0))).clamp(0.0, 1.0)
    });
}

#[test]
fn a_truncation_window_without_probability_is_an_error_naming_the_spec() {
    let model = common::single_spec_model(r#"{"type": "constant", "mean": 5, "truncate": {"min": 0, "max": 2}}"#);
    let error = synparam::Parameterizer::new(&model, Some(1)).err().unwrap();
    assert_eq!(error.path(), Some("prop_stats.value.A.A.truncate"));
    assert!(error.to_string().contains("probability 0"), "{error}");
    let model =
        common::single_spec_model(r#"{"type": "normal", "mean": 0, "std": 1, "truncate": {"min": 2, "max": 1}}"#);
    let error = synparam::Parameterizer::new(&model, Some(1)).err().unwrap();
    assert_eq!(error.path(), Some("prop_stats.value.A.A.truncate.min"));
}
