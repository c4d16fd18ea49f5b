//! Correlations between properties fitted into `prop_cov` (issue #25): the engine's Gaussian
//! copula from rank correlations, so that a refit of a parameterized circuit recovers them.
//!
//! **Sample.** Spearman's ρ needs ranks, which do not stream. The fit keeps, per pathway, the
//! property vectors (values at the first synapse by edge id) of the `correlation_sample`
//! connections with the smallest subsample keys (`streams.rs`: a keyed uniform subsample, inside
//! the fitted one when `max_sample_size` cuts it): states merge by keeping the smallest keys, so
//! the sample — and the correlations — are the same for any chunking and number of workers. The
//! ranks are exact on that sample (ties get their average rank); the error is the sampling error
//! of Spearman's ρ on `n = min(connections, correlation_sample)` connections, reported per pair:
//! SE(ρ_s) ≈ (1 − ρ_s²)·√((1 + ρ_s²/2)/(n − 3)) (Bonett & Wright 2000, via Fisher's z).
//!
//! **Copula.** For continuous marginals a Gaussian copula with correlation ρ has Spearman's
//! ρ_s = (6/π)·asin(ρ/2), so ρ = 2·sin(π·ρ_s/6) is the correlation of the normal scores the
//! engine draws (design §2.3); the SE above goes through the derivative (π/3)·cos(π·ρ_s/6).
//! Ties (discrete properties) make ρ_s smaller than the copula's, so such properties are left
//! out of the automatic choice (they may still be named in `correlation_properties`).
//!
//! **Which properties.** The engine correlates one group of properties, which must agree on
//! `shared_within` in every pathway; a correlation drawn once per connection needs one value per
//! connection. So: the properties drawn once per connection (`shared_within` true) in every
//! pathway of the written model, not constant everywhere, not discrete in any pathway with data.
//!
//! **Matrix.** Per pathway with at least `correlation_min_samples` connections in its sample;
//! the identity elsewhere (pathways filled from others, too few connections), and 0 for a pair
//! with a property constant on the sample. The element-wise sine can leave a matrix that is not
//! positive semi-definite: it is then replaced by the nearest correlation matrix in the Frobenius
//! norm (Higham 2002, alternating projections with Dykstra's correction, eigenvalues floored at
//! 1e-8) and reported as `repaired` with its distance; one that still fails is dropped (identity)
//! with a note.

use crate::fit::PortableMath;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::build::BuildOptions;
use super::fitter::FitData;
use crate::error::{Error, Result};

/// Spearman's rank correlations between every pair of properties on one pathway's correlation
/// sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankCorrelation {
    /// Connections in the sample.
    pub samples: u64,
    /// Row-major, properties × properties in settings order; null where a property is constant
    /// on the sample (or the sample has fewer than 3 connections).
    pub spearman: Vec<Option<f64>>,
}

impl RankCorrelation {
    /// The rank correlations of rows of `properties` values each.
    pub fn of_rows<'a>(rows: impl Iterator<Item = &'a [f64]>, properties: usize) -> Self {
        let rows: Vec<&[f64]> = rows.collect();
        let ranks: Vec<Vec<f64>> = (0..properties).map(|p| average_ranks(rows.iter().map(|r| r[p]))).collect();
        let mut spearman = vec![None; properties * properties];
        for i in 0..properties {
            for j in i..properties {
                let r = if rows.len() < 3 { None } else { pearson(&ranks[i], &ranks[j]) };
                spearman[i * properties + j] = r;
                spearman[j * properties + i] = r;
            }
        }
        RankCorrelation { samples: rows.len() as u64, spearman }
    }

    /// ρ_s between properties `i` and `j` of `properties`.
    pub fn get(&self, i: usize, j: usize, properties: usize) -> Option<f64> {
        self.spearman.get(i * properties + j).copied().flatten()
    }
}

/// 1-based ranks, ties sharing their average rank.
fn average_ranks(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let values: Vec<f64> = values.collect();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = 0.5 * ((start + 1) + end) as f64;
        order[start..end].iter().for_each(|&i| ranks[i] = rank);
        start = end;
    }
    ranks
}

/// Pearson's correlation, `None` when either side is constant.
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

/// The Gaussian copula's correlation for Spearman's ρ_s: 2·sin(π·ρ_s/6).
pub fn copula_correlation(spearman: f64) -> f64 {
    2.0 * (std::f64::consts::PI * spearman / 6.0).psin()
}

/// The sampling standard error of the copula correlation estimated from ρ_s on `n` pairs.
pub fn copula_standard_error(spearman: f64, n: u64) -> Option<f64> {
    if n <= 3 {
        return None;
    }
    let s2 = spearman * spearman;
    let se_spearman = (1.0 - s2) * ((1.0 + s2 / 2.0) / (n as f64 - 3.0)).sqrt();
    Some(se_spearman * std::f64::consts::PI / 3.0 * (std::f64::consts::PI * spearman / 6.0).pcos())
}

/// One pathway's fitted correlations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathwayCorrelation {
    /// Source value.
    pub source: String,
    /// Target value.
    pub target: String,
    /// Connections in the correlation sample (0 without data of its own).
    pub samples: u64,
    /// `fitted`, `repaired` (made positive semi-definite) or `identity` (see `note`).
    pub status: String,
    /// Spearman's ρ_s between the correlated properties, when fitted.
    pub spearman: Option<Vec<Vec<Option<f64>>>>,
    /// The matrix written into `prop_cov`.
    pub correlation: Vec<Vec<f64>>,
    /// Sampling standard error of each copula correlation, when fitted.
    pub standard_error: Option<Vec<Vec<Option<f64>>>>,
    /// Why the identity, or how far the repair moved the matrix.
    pub note: Option<String>,
}

/// The correlations written into `prop_cov`, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationReport {
    /// The correlated properties (`prop_cov.props`); empty when none could be.
    pub properties: Vec<String>,
    /// How the correlations were estimated.
    pub method: String,
    /// Connections kept per pathway for ranking (`correlation_sample`, capped by the subsample).
    pub sample_cap: u64,
    /// Fewest connections in a pathway's sample for its correlations to be fitted.
    pub min_samples: u64,
    /// Every pathway.
    pub pathways: Vec<PathwayCorrelation>,
    /// Properties left out and why, and other things to know.
    pub notes: Vec<String>,
}

/// Fit `prop_cov` for the written `model`: the value to insert (`None` when fewer than two
/// properties can be correlated) and the report.
pub(super) fn fit_prop_cov(
    data: &FitData,
    options: &BuildOptions,
    model: &Value,
) -> Result<(Option<Value>, CorrelationReport)> {
    let Some(cap) = data.settings.correlation_keep() else {
        return Err(Error::config(
            "correlations",
            "the fit kept no correlation sample: set correlation_sample in the fit settings (e.g. 2000)",
        ));
    };
    let mut notes = Vec::new();
    let chosen = correlated_properties(data, options, model, &mut notes)?;
    let names: Vec<String> = chosen.iter().map(|&p| data.settings.properties[p].name.clone()).collect();
    let mut report = CorrelationReport {
        properties: names.clone(),
        method: "Spearman's rho on a keyed subsample of connections (exact ranks, ties averaged), \
                 turned into the Gaussian copula's correlation 2 sin(pi rho_s / 6)"
            .to_string(),
        sample_cap: cap,
        min_samples: options.correlation_min_samples,
        pathways: Vec::new(),
        notes,
    };
    if chosen.len() < 2 {
        report.notes.push("fewer than two properties can be correlated: no prop_cov written".to_string());
        report.properties.clear();
        return Ok((None, report));
    }
    let mut cov = serde_json::Map::new();
    for pathway in &data.pathways {
        let fitted = pathway_matrix(data, options, pathway, &chosen);
        let by_target = cov.entry(pathway.source.clone()).or_insert_with(|| json!({}));
        if let Some(by_target) = by_target.as_object_mut() {
            by_target.insert(pathway.target.clone(), json!(fitted.correlation));
        }
        report.pathways.push(fitted);
    }
    Ok((Some(json!({"props": names, "cov": cov})), report))
}

/// The properties to correlate: the user's list (checked), or every property drawn once per
/// connection in every pathway, not constant everywhere and not discrete where it has data.
fn correlated_properties(
    data: &FitData,
    options: &BuildOptions,
    model: &Value,
    notes: &mut Vec<String>,
) -> Result<Vec<usize>> {
    let properties = &data.settings.properties;
    let specs = |name: &str| -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for p in &data.pathways {
            out.push((p.source.clone(), p.target.clone(), model["prop_stats"][name][&p.source][&p.target].clone()));
        }
        out
    };
    let not_shared = |name: &str| -> Option<(String, String)> {
        specs(name).into_iter().find(|(_, _, spec)| spec["shared_within"] != json!(true)).map(|(s, t, _)| (s, t))
    };
    let discrete = |index: usize| -> Option<(String, String)> {
        data.pathways.iter().find_map(|p| {
            let stats = p.statistics.as_ref()?;
            let sample = &stats.properties[index].sample;
            let values = sample.values.as_ref()?;
            (values.len() == 1 || 2 * values.len() as u64 <= sample.count).then(|| (p.source.clone(), p.target.clone()))
        })
    };
    if let Some(list) = &options.correlation_properties {
        let mut chosen = Vec::new();
        for (i, name) in list.iter().enumerate() {
            let path = format!("correlation_properties[{i}]");
            let index = properties
                .iter()
                .position(|p| &p.name == name)
                .ok_or_else(|| Error::config(&path, format!("'{name}' is not a fitted property")))?;
            if chosen.contains(&index) {
                return Err(Error::config(&path, format!("'{name}' is listed twice")));
            }
            if let Some((s, t)) = not_shared(name) {
                return Err(Error::config(
                    &path,
                    format!("'{name}' is not drawn once per connection in {s} → {t} (shared_within false); the engine correlates properties that agree on shared_within"),
                ));
            }
            if let Some((s, t)) = discrete(index) {
                notes.push(format!(
                    "{name} is discrete in {s} → {t}: ties make its rank correlations smaller than the copula's"
                ));
            }
            chosen.push(index);
        }
        return Ok(chosen);
    }
    let mut chosen = Vec::new();
    for (index, property) in properties.iter().enumerate() {
        let name = &property.name;
        let constant =
            specs(name).iter().all(|(_, _, spec)| matches!(spec["type"].as_str(), Some("constant" | "zero")));
        if constant {
            notes.push(format!("{name} left out: constant in every pathway"));
        } else if let Some((s, t)) = not_shared(name) {
            notes.push(format!("{name} left out: drawn per synapse in {s} → {t} (shared_within false)"));
        } else if let Some((s, t)) = discrete(index) {
            notes.push(format!(
                "{name} left out: discrete in {s} → {t} (ties make rank correlations smaller than the copula's; name it in correlation_properties to correlate it anyway)"
            ));
        } else {
            chosen.push(index);
        }
    }
    Ok(chosen)
}

/// One pathway's matrix: fitted from its rank correlations, repaired when needed, or identity.
fn pathway_matrix(
    data: &FitData,
    options: &BuildOptions,
    pathway: &super::fitter::PathwayData,
    chosen: &[usize],
) -> PathwayCorrelation {
    let k = chosen.len();
    let p = data.settings.properties.len();
    let identity: Vec<Vec<f64>> = (0..k).map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    let mut out = PathwayCorrelation {
        source: pathway.source.clone(),
        target: pathway.target.clone(),
        samples: 0,
        status: "identity".to_string(),
        spearman: None,
        correlation: identity.clone(),
        standard_error: None,
        note: None,
    };
    let Some(ranks) = pathway.statistics.as_ref().and_then(|s| s.rank_correlation.as_ref()) else {
        out.note = Some("no data of its own (filled from other pathways): uncorrelated".to_string());
        return out;
    };
    out.samples = ranks.samples;
    if ranks.samples < options.correlation_min_samples {
        out.note = Some(format!(
            "{} connections in the correlation sample, fewer than {}: uncorrelated",
            ranks.samples, options.correlation_min_samples
        ));
        return out;
    }
    let spearman: Vec<Vec<Option<f64>>> =
        chosen.iter().map(|&a| chosen.iter().map(|&b| ranks.get(a, b, p)).collect()).collect();
    let mut matrix = vec![0.0; k * k];
    let mut errors = vec![vec![None; k]; k];
    for i in 0..k {
        matrix[i * k + i] = 1.0;
        for j in 0..i {
            if let Some(rho) = spearman[i][j] {
                let r = copula_correlation(rho);
                matrix[i * k + j] = r;
                matrix[j * k + i] = r;
                errors[i][j] = copula_standard_error(rho, ranks.samples);
                errors[j][i] = errors[i][j];
            }
        }
    }
    if spearman.iter().flatten().any(Option::is_none) {
        out.note = Some("a property is constant on this pathway's sample: its correlations are 0".to_string());
    }
    out.spearman = Some(spearman);
    out.standard_error = Some(errors);
    out.status = "fitted".to_string();
    if smallest_eigenvalue(&matrix, k) < -1e-12 {
        let repaired = nearest_correlation(&matrix, k);
        let distance: f64 = matrix.iter().zip(&repaired).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        if smallest_eigenvalue(&repaired, k) < -1e-12 {
            out.status = "identity".to_string();
            out.note = Some("not positive semi-definite and not repairable: dropped (uncorrelated)".to_string());
            return out;
        }
        out.status = "repaired".to_string();
        out.note = Some(format!(
            "not positive semi-definite: replaced by the nearest correlation matrix (Frobenius distance {distance:.3e})"
        ));
        matrix = repaired;
    }
    out.correlation = (0..k).map(|i| matrix[i * k..(i + 1) * k].to_vec()).collect();
    out
}

/// Eigenvalues and eigenvectors (columns of `V`, row-major) of a symmetric k × k matrix by
/// cyclic Jacobi rotations.
fn symmetric_eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v: Vec<f64> = (0..k * k).map(|i| if i / k == i % k { 1.0 } else { 0.0 }).collect();
    for _ in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j].powi(2))
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..k).map(|i| a[i * k + i]).collect(), v)
}

fn smallest_eigenvalue(a: &[f64], k: usize) -> f64 {
    symmetric_eigen(a, k).0.into_iter().fold(f64::INFINITY, f64::min)
}

/// Higham's nearest correlation matrix: alternate the projection onto matrices with eigenvalues
/// ≥ 1e-8 (with Dykstra's correction) and onto unit diagonals, until they agree.
fn nearest_correlation(a: &[f64], k: usize) -> Vec<f64> {
    let mut y = a.to_vec();
    let mut correction = vec![0.0; k * k];
    for _ in 0..2000 {
        let r: Vec<f64> = y.iter().zip(&correction).map(|(y, c)| y - c).collect();
        let (values, vectors) = symmetric_eigen(&r, k);
        let mut x = vec![0.0; k * k];
        for (m, &lambda) in values.iter().enumerate() {
            let lambda = lambda.max(1e-8);
            for i in 0..k {
                for j in 0..k {
                    x[i * k + j] += lambda * vectors[i * k + m] * vectors[j * k + m];
                }
            }
        }
        correction = x.iter().zip(&r).map(|(x, r)| x - r).collect();
        let mut next = x;
        for i in 0..k {
            next[i * k + i] = 1.0;
            for j in 0..i {
                let mean = 0.5 * (next[i * k + j] + next[j * k + i]);
                next[i * k + j] = mean;
                next[j * k + i] = mean;
            }
        }
        let change: f64 = next.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        y = next;
        if change < 1e-14 {
            break;
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_with_ties_and_constants() {
        let rows: Vec<Vec<f64>> =
            vec![vec![1.0, 10.0, 5.0], vec![2.0, 20.0, 5.0], vec![2.0, 15.0, 5.0], vec![4.0, 40.0, 5.0]];
        let r = RankCorrelation::of_rows(rows.iter().map(|r| &r[..]), 3);
        assert_eq!(r.samples, 4);
        assert_eq!(r.get(0, 0, 3), Some(1.0));
        assert_eq!(r.get(0, 2, 3), None, "constant");
        // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): Pearson of ranks.
        let expected = pearson(&[1.0, 2.5, 2.5, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!((r.get(0, 1, 3).unwrap() - expected).abs() < 1e-15 && (expected - 0.948_683).abs() < 1e-6);
    }

    #[test]
    fn copula_conversion_inverts_spearman_of_a_gaussian_copula() {
        // Known pair: ρ = 0.5 ↔ ρ_s = (6/π) asin(0.25).
        let rho_s = 6.0 / std::f64::consts::PI * libm::asin(0.25);
        assert!((copula_correlation(rho_s) - 0.5).abs() < 1e-15);
        assert!((copula_correlation(1.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_matrix_that_is_not_semidefinite_is_repaired() {
        // Pairwise-plausible, jointly impossible correlations.
        let a = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!(smallest_eigenvalue(&a, 3) < -0.5);
        let fixed = nearest_correlation(&a, 3);
        assert!(smallest_eigenvalue(&fixed, 3) > -1e-12);
        for i in 0..3 {
            assert_eq!(fixed[i * 4], 1.0);
        }
        // Higham's example 1.1 matrix [[1,1,0],[1,1,1],[0,1,1]] has nearest ~ [[1, .7607, .1573], …].
        let b = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0];
        let near = nearest_correlation(&b, 3);
        assert!((near[1] - 0.7607).abs() < 1e-3 && (near[2] - 0.1573).abs() < 1e-3, "{near:?}");
        let (values, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut values = values;
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-14 && (values[1] - 3.0).abs() < 1e-14);
    }
}
