//! Shared helpers for the integration tests: drawing through the real engine, and the
//! statistical tests (one-sample KS, chi-square) with their p-values.
#![allow(dead_code)]

pub mod golden;

use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::Parameterizer;

/// Significance level of every statistical test. With fixed seeds the outcome is deterministic;
/// alpha bounds how often a correct sampler would be rejected across seeds.
pub const ALPHA: f64 = 1e-3;

/// A one-pathway model (`A` → `A`) whose `value` property has `spec`.
pub fn single_spec_model(spec: &str) -> String {
    format!(r#"{{"src_types": ["A"], "tgt_types": ["A"], "prop_stats": {{"value": {{"A": {{"A": {spec}}}}}}}}}"#)
}

/// Nodes all of pathway value `A`.
pub fn uniform_nodes(population: &str, n: usize) -> PathwayColumn {
    PathwayColumn::from_values(population, &vec![Some("A"); n])
}

/// `n` synapses, each its own connection (source i → target i), so per-synapse and
/// per-connection draws are both iid.
pub fn distinct_connections(n: usize) -> EdgeChunk {
    let ids: Vec<u64> = (0..n as u64).collect();
    EdgeChunk { source: ids.clone(), target: ids.clone(), edge_id: ids }
}

/// Draw `n` values of the single property of `single_spec_model(spec)` through the engine.
pub fn draw(spec: &str, n: usize, seed: u64) -> Vec<f64> {
    let mut run = Parameterizer::new(&single_spec_model(spec), Some(seed)).expect("valid spec");
    run.add_edge_population("edges", uniform_nodes("src", n), uniform_nodes("tgt", n), "p", None).unwrap();
    let result = run.run_chunk("edges", &distinct_connections(n)).unwrap();
    result.properties.into_iter().next().unwrap().values
}

/// Every property's value bits keyed by (property, edge id) for one chunk of `population`, so
/// results can be compared whatever the chunking and order.
pub fn by_edge(
    run: &mut Parameterizer,
    population: &str,
    chunk: &EdgeChunk,
) -> std::collections::HashMap<(String, u64), u64> {
    let result = run.run_chunk(population, chunk).unwrap();
    let mut map = std::collections::HashMap::new();
    for property in &result.properties {
        for (i, v) in property.values.iter().enumerate() {
            map.insert((property.name.clone(), chunk.edge_id[i]), v.to_bits());
        }
    }
    map
}

/// Kolmogorov distribution tail: P(K > t).
fn kolmogorov_sf(t: f64) -> f64 {
    if t < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..100 {
        let k = k as f64;
        let term = (-2.0 * k * k * t * t).exp() * if k as i64 % 2 == 1 { 1.0 } else { -1.0 };
        sum += term;
        if term.abs() < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// One-sample KS test of `sample` against the continuous `cdf`; returns the p-value
/// (asymptotic, with Stephens' small-sample correction).
pub fn ks_p_value(sample: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    let root = n.sqrt();
    kolmogorov_sf((root + 0.12 + 0.11 / root) * d)
}

/// Two-sample KS p-value (asymptotic).
pub fn ks2_p_value(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    let ne = (a.len() * b.len()) as f64 / (a.len() + b.len()) as f64;
    let root = ne.sqrt();
    kolmogorov_sf((root + 0.12 + 0.11 / root) * d)
}

/// Chi-square goodness of fit of integer-valued `sample` to `pmf` on `support`, pooling cells
/// until each expects at least 5; values and mass outside the support join the last cell.
/// Returns the p-value.
pub fn chi_square_p_value(sample: &[f64], pmf: impl Fn(i64) -> f64, support: std::ops::RangeInclusive<i64>) -> f64 {
    let n = sample.len() as f64;
    let (start, end) = (*support.start(), *support.end());
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let (mut observed, mut expected, mut listed_mass) = (0.0, 0.0, 0.0);
    for k in support {
        observed += sample.iter().filter(|&&v| v == k as f64).count() as f64;
        expected += pmf(k) * n;
        listed_mass += pmf(k);
        if expected >= 5.0 {
            cells.push((observed, expected));
            observed = 0.0;
            expected = 0.0;
        }
    }
    let outside = sample.iter().filter(|&&v| v < start as f64 || v > end as f64).count() as f64;
    let last = cells.last_mut().expect("support must expect at least 5 values");
    last.0 += observed + outside;
    last.1 += expected + (1.0 - listed_mass).max(0.0) * n;
    let statistic: f64 = cells.iter().map(|(o, e)| (o - e) * (o - e) / e).sum();
    let df = (cells.len() - 1) as f64;
    synparam::special_functions::regularized_gamma(df / 2.0, statistic / 2.0).1
}

/// Sample mean and (population) standard deviation.
pub fn mean_std(sample: &[f64]) -> (f64, f64) {
    let n = sample.len() as f64;
    let mean = sample.iter().sum::<f64>() / n;
    let var = sample.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Pearson correlation.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, sa) = mean_std(a);
    let (mb, sb) = mean_std(b);
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() as f64 * sa * sb)
}

/// Chunks of about `size` edges of a target-sorted population, cut where the target changes (as
/// the hosts cut a fit's chunks): `(start, end)` ranges.
#[allow(dead_code)]
pub fn target_chunks(target: &[u64], size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < target.len() {
        let mut end = (start + size).min(target.len());
        while end < target.len() && target[end] == target[end - 1] {
            end += 1;
        }
        out.push((start, end));
        start = end;
    }
    out
}

/// Add edges `[start, end)` of population `default` (edge id = row) with their columns to a fit's
/// pass state.
#[allow(dead_code)]
pub fn add_fit_chunk(
    fitter: &synparam::fit::Fitter,
    state: &mut synparam::fit::PassState,
    (source, target): (&[u64], &[u64]),
    columns: &[Vec<f64>],
    (start, end): (usize, usize),
) -> synparam::Result<()> {
    let edge_ids: Vec<u64> = (start as u64..end as u64).collect();
    let ids = synparam::engine::EdgeIds {
        source: synparam::engine::Ids::U64(&source[start..end]),
        target: synparam::engine::Ids::U64(&target[start..end]),
        edge_id: synparam::engine::Ids::U64(&edge_ids),
    };
    let columns: Vec<&[f64]> = columns.iter().map(|c| &c[start..end]).collect();
    fitter.add_chunk(state, "default", ids, &columns)
}
