//! k-fold cross-validation of the fit (connectome-manipulator's `CV_folds`), per pathway and
//! property.
//!
//! Connections are split into k folds by their keyed stream (`FitSettings::folds`: the second
//! number of the connection's subsample stream, so the split is the same for any chunking,
//! order or number of workers, and independent of the subsample); all synapses of a connection
//! fall in one fold. For each fold the entry's law is fitted again on the other k − 1 folds by
//! the mode's own method — maximum likelihood in auto mode, connectome-manipulator's estimators
//! in cm mode (moments; the normal fitted to the training folds' histogram for `truncnorm`, whose
//! window is the training range; frequencies for `discrete`) — and scored on the held-out fold:
//! its exact log-likelihood per value (`laws.rs`; −∞, reported as null with the fold counted in
//! `folds_outside_support`, when a held-out value lies outside the fitted law's support, e.g.
//! beyond a `truncnorm` window or a value `discrete` never saw) and its KS distance to the stored
//! law (exact at the distinct values when kept, else at the whole sample's histogram edges).
//! Reported per entry: every fold's scores, their mean and standard deviation (ddof 1) over the
//! folds where finite, and the in-sample log-likelihood per value for comparison (the gap is the
//! fit's optimism). Likelihoods are those of the law before `dtype` and bounds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::build::Law;
use super::fitter::NORM_FIT_EVALUATIONS;
use super::laws::{maximum_likelihood, Params};
use super::numpy::{bin_centers, mean, ValueKind};
use super::select::ks_of_spec;
use super::sufficient::{FoldSample, LawSample};
use super::trf::norm_fitting;

/// One held-out fold's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldScore {
    /// The fold (0-based).
    pub fold: u32,
    /// Values the law was fitted on (the other folds).
    pub train: u64,
    /// Values held out.
    pub test: u64,
    /// Held-out log-likelihood per value (null: see `note`).
    pub log_likelihood: Option<f64>,
    /// Held-out KS distance.
    pub ks_distance: Option<f64>,
    /// Why a score is missing.
    pub note: Option<String>,
}

/// Cross-validation of one entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// k.
    pub folds: u32,
    /// The law refitted per fold.
    pub law: String,
    /// `maximum likelihood` or `connectome-manipulator`.
    pub method: String,
    /// Every fold.
    pub scores: Vec<FoldScore>,
    /// Mean held-out log-likelihood per value over the folds where it is finite.
    pub log_likelihood_mean: Option<f64>,
    /// Its standard deviation across those folds (ddof 1).
    pub log_likelihood_std: Option<f64>,
    /// Mean held-out KS distance.
    pub ks_mean: Option<f64>,
    /// Its standard deviation across folds (ddof 1).
    pub ks_std: Option<f64>,
    /// Folds with a held-out value outside the fitted law's support (log-likelihood −∞).
    pub folds_outside_support: u32,
    /// Log-likelihood per value of the whole sample under the law fitted on all of it.
    pub in_sample_log_likelihood: Option<f64>,
}

/// How each fold's law is refitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// `laws::maximum_likelihood`.
    MaximumLikelihood,
    /// connectome-manipulator's estimators.
    ConnectomeManipulator,
}

/// What cross-validation needs of one entry.
pub(super) struct Entry<'a> {
    /// Per fold: statistics and counts on the whole sample's bins.
    pub folds: &'a [FoldSample],
    /// The whole sample's bin edges.
    pub edges: &'a [f64],
    /// The column's kind (the histogram's arithmetic in cm's normal fit).
    pub kind: ValueKind,
    /// `dtype` and bounds of the written spec.
    pub storage: &'a Map<String, Value>,
}

/// The entry's law fitted on a training sample.
fn fit(method: Method, law: Law, train: &LawSample, counts: &[u64], entry: &Entry) -> Result<Params, String> {
    if method == Method::MaximumLikelihood {
        return maximum_likelihood(law, train);
    }
    let (mu, sd) = (train.mean(), train.variance().sqrt());
    Ok(match law {
        Law::Constant => Params::Constant(mu),
        Law::Zero => Params::Zero,
        Law::Normal => Params::Normal { mean: mu, std: sd },
        Law::Gamma => {
            if !(mu > 0.0 && sd > 0.0) {
                return Err(format!("gamma of mean {mu} and std {sd}"));
            }
            Params::Gamma { shape: (mu / sd).powi(2), scale: sd * sd / mu }
        }
        Law::Truncnorm => {
            let centers = bin_centers(entry.edges, entry.kind);
            let start = mean(&centers, entry.kind);
            let y: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
            let normal = norm_fitting(&centers, &y, start, NORM_FIT_EVALUATIONS, mu, sd);
            Params::Truncnorm { loc: normal.loc, scale: normal.scale, min: train.sample.min, max: train.sample.max }
        }
        Law::Poisson => Params::Poisson { mean: mu },
        Law::Ztpoisson => Params::Ztpoisson { mean: mu },
        Law::Discrete => maximum_likelihood(Law::Discrete, train)?,
        Law::Lognormal | Law::Exponential | Law::Uniform => {
            return Err(format!("{} is not a law of connectome-manipulator", law.name()))
        }
        Law::LinDelay => return Err("lin_delay depends on each synapse's distance: not cross-validated".into()),
    })
}

/// Cross-validate one entry's `law` over its folds.
pub(super) fn cross_validate(entry: &Entry, law: Law, method: Method) -> CrossValidation {
    let k = entry.folds.len();
    let whole = LawSample::merged(entry.folds.iter().map(|f| &f.stats));
    let whole_counts = sum_counts(entry.folds.iter().map(|f| &f.histogram[..]));
    let mut scores = Vec::with_capacity(k);
    let mut outside = 0;
    for (f, held_out) in entry.folds.iter().enumerate() {
        let train = LawSample::merged(entry.folds.iter().enumerate().filter(|(g, _)| *g != f).map(|(_, x)| &x.stats));
        let counts: Vec<u64> =
            whole_counts.iter().zip(&held_out.histogram).map(|(a, b)| a.saturating_sub(*b)).collect();
        let mut score = FoldScore {
            fold: f as u32,
            train: train.count(),
            test: held_out.stats.count(),
            log_likelihood: None,
            ks_distance: None,
            note: None,
        };
        if score.test == 0 || score.train == 0 {
            score.note = Some(if score.test == 0 { "empty fold" } else { "nothing to train on" }.to_string());
            scores.push(score);
            continue;
        }
        match fit(method, law, &train, &counts, entry) {
            Err(why) => score.note = Some(format!("not fitted on the other folds: {why}")),
            Ok(params) => {
                match params.log_likelihood(&held_out.stats) {
                    Some(l) if l.is_finite() => score.log_likelihood = Some(l / score.test as f64),
                    Some(_) => {
                        outside += 1;
                        score.note = Some("a held-out value lies outside the fitted law's support".to_string());
                    }
                    None => score.note = Some("the held-out fold's distinct values were not kept".to_string()),
                }
                score.ks_distance = held_out_ks(&params, held_out, entry);
            }
        }
        scores.push(score);
    }
    let in_sample = fit(method, law, &whole, &whole_counts, entry)
        .ok()
        .and_then(|p| p.log_likelihood(&whole))
        .filter(|l| l.is_finite())
        .map(|l| l / whole.count().max(1) as f64);
    let (log_likelihood_mean, log_likelihood_std) = mean_and_spread(scores.iter().filter_map(|s| s.log_likelihood));
    let (ks_mean, ks_std) = mean_and_spread(scores.iter().filter_map(|s| s.ks_distance));
    CrossValidation {
        folds: k as u32,
        law: law.name().to_string(),
        method: match method {
            Method::MaximumLikelihood => "maximum likelihood",
            Method::ConnectomeManipulator => "connectome-manipulator",
        }
        .to_string(),
        scores,
        log_likelihood_mean,
        log_likelihood_std,
        ks_mean,
        ks_std,
        folds_outside_support: outside,
        in_sample_log_likelihood: in_sample,
    }
}

fn held_out_ks(params: &Params, held_out: &FoldSample, entry: &Entry) -> Option<f64> {
    let spec = params.spec(entry.kind).ok()?;
    let histogram = Some((entry.edges, &held_out.histogram[..]));
    ks_of_spec(&spec, entry.storage, &held_out.stats, histogram).ok().flatten().map(|k| k.0)
}

fn sum_counts<'a>(parts: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
    let mut total: Vec<u64> = Vec::new();
    for part in parts {
        if total.is_empty() {
            total = vec![0; part.len()];
        }
        total.iter_mut().zip(part).for_each(|(t, c)| *t += c);
    }
    total
}

/// Mean and standard deviation (ddof 1; `None` below two values).
fn mean_and_spread(values: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    let values: Vec<f64> = values.collect();
    if values.is_empty() {
        return (None, None);
    }
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    let spread = (values.len() > 1).then(|| (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (Some(m), spread)
}
