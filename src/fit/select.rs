//! The law chosen by the data (`mode: "auto"`): per pathway and property, every law of the
//! engine that applies is fitted by maximum likelihood (`laws.rs`) and scored by AIC on the exact
//! log-likelihood, with a Kolmogorov–Smirnov check.
//!
//! - **Candidates.** One distinct value: `constant`. Discrete data (at most 100 distinct values,
//!   each seen twice on average; `LawSample::is_discrete`), scored by exact masses: `discrete`,
//!   `poisson` and `ztpoisson` where the values allow them. Otherwise, scored by exact densities:
//!   `normal`, `truncnorm` (on the observed window), `gamma`, `lognormal` (positive values),
//!   `exponential` (values ≥ 0), `uniform`. A law whose ML does not exist for the data, or whose
//!   parameters the engine refuses, is listed with the reason and not chosen.
//! - **AIC** = 2·penalty − 2·ln L, where a regular parameter costs 1 (Akaike). The window of
//!   `truncnorm` and `uniform` is the sample's range: not a regular parameter. Truncating an
//!   untruncated law at the sample's range raises ln L by n·(mass outside the range), whose law
//!   tends to Gamma(2, 1); each of the two bounds is therefore charged q_α/2, where
//!   P(Gamma(2, 1) > q_α) = (1 + q_α)e^(−q_α) = α (6.64 at α = 0.01): a truncation is then chosen
//!   over the untruncated law with probability about α when the data are not truncated.
//! - **KS check** at significance α (`significance`, default 0.01): a law is rejected when its
//!   KS distance to the data exceeds c_α/(√n + 0.12 + 0.11/√n), c_α = √(−ln(α/2)/2) (Stephens
//!   1970). The distance is exact at the distinct values when they were kept (≤ 101), else taken
//!   at the histogram's edges (a lower bound). Both make the check conservative, as does fitting
//!   the parameters on the same data (Lilliefors): it rejects clear misfits only.
//! - **Choice.** The lowest AIC among the laws passing the KS check; when none passes, the lowest
//!   AIC, said in the reason. A law fixed by the user (`laws`) is fitted and written as given,
//!   with the candidates still scored for the report.

use crate::fit::PortableMath;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::build::Law;
use super::fitter::Histogram;
use super::laws::{maximum_likelihood, Params};
use super::numpy::ValueKind;
use super::report::ks_statistic;
use super::sufficient::LawSample;

/// One law considered for an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The law.
    pub law: String,
    /// Its ML parameters as spec keys (`type` included), when it could be fitted.
    pub spec: Option<Value>,
    /// Parameters (regular and support bounds).
    pub parameters: Option<f64>,
    /// The penalty AIC charges them (see the module's notes).
    pub penalty: Option<f64>,
    /// Exact log-likelihood of the data.
    pub log_likelihood: Option<f64>,
    /// Akaike's criterion (None when not comparable: a law with atoms on continuous data, or
    /// the reverse).
    pub aic: Option<f64>,
    /// AIC minus the smallest AIC of the entry.
    pub delta_aic: Option<f64>,
    /// KS distance of the stored values' law to the data.
    pub ks_distance: Option<f64>,
    /// Whether the KS distance is within the critical value.
    pub ks_passed: Option<bool>,
    /// Why the law was not fitted or not comparable.
    pub excluded: Option<String>,
}

/// How the law of one entry was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LawSelection {
    /// `density` (continuous data) or `mass` (discrete data, one value): the likelihood's basis.
    pub basis: String,
    /// Values in the sample.
    pub samples: u64,
    /// The KS check's significance α.
    pub significance: f64,
    /// The KS critical distance for `samples` at α.
    pub ks_critical: f64,
    /// Where the KS distance was taken: `values` (exact), `bins` (histogram edges), or null
    /// (a pooled sample without common bins: no check).
    pub ks_basis: Option<String>,
    /// Every law considered.
    pub candidates: Vec<Candidate>,
    /// The law written.
    pub chosen: String,
    /// Why.
    pub reason: String,
}

/// The data of one entry and how its values are stored.
pub(super) struct ChoiceInput<'a> {
    /// Sufficient statistics of the sample.
    pub sample: &'a LawSample,
    /// Its histogram (KS basis when the distinct values were not kept); `None` for pooled data.
    pub histogram: Option<&'a Histogram>,
    /// The column's kind (integers written as JSON integers).
    pub kind: ValueKind,
    /// `dtype`, `lower_bound`, `upper_bound` of the written spec, for the stored law's CDF.
    pub storage: &'a Map<String, Value>,
    /// The KS check's α.
    pub significance: f64,
    /// The law fixed by the user, if any.
    pub fixed: Option<Law>,
}

/// A chosen law with its parameters and the report of the choice.
pub(super) struct Choice {
    /// The law's ML parameters.
    pub params: Params,
    /// How it was chosen.
    pub selection: LawSelection,
}

const CONTINUOUS: [Law; 6] = [Law::Normal, Law::Truncnorm, Law::Gamma, Law::Lognormal, Law::Exponential, Law::Uniform];
const DISCRETE: [Law; 3] = [Law::Discrete, Law::Poisson, Law::Ztpoisson];

/// Whether a law's likelihood is a mass (atoms) rather than a density.
fn has_atoms(law: Law) -> bool {
    matches!(law, Law::Constant | Law::Zero | Law::Discrete | Law::Poisson | Law::Ztpoisson)
}

/// The log-likelihood charge of one support bound: q_α/2 with (1 + q_α)e^(−q_α) = α.
pub fn support_charge(alpha: f64) -> f64 {
    // Newton on ln(1 + q) − q − ln α = 0 from the right of its root.
    let mut q = 1.0 - alpha.pln() + (1.0 - alpha.pln()).pln();
    for _ in 0..50 {
        let f = (1.0 + q).pln() - q - alpha.pln();
        q -= f / (1.0 / (1.0 + q) - 1.0);
    }
    q / 2.0
}

/// The KS critical distance for n values at significance α (Stephens' form of Kolmogorov's).
pub fn ks_critical(n: u64, alpha: f64) -> f64 {
    let root = (n.max(1) as f64).sqrt();
    (-(alpha / 2.0).pln() / 2.0).sqrt() / (root + 0.12 + 0.11 / root)
}

/// KS distance of the law whose spec is `spec` (+ storage keys) to the sample, and its basis.
pub(super) fn ks_of_spec(
    spec: &Map<String, Value>,
    storage: &Map<String, Value>,
    sample: &LawSample,
    histogram: Option<(&[f64], &[u64])>,
) -> Result<Option<(f64, &'static str)>, String> {
    let mut full = spec.clone();
    full.extend(storage.iter().map(|(k, v)| (k.clone(), v.clone())));
    let parsed = crate::config::parse_pathway_spec(&Value::Object(full).to_string()).map_err(|e| e.to_string())?;
    Ok(ks_statistic(sample.count(), sample.values(), histogram, |x| parsed.stored_cdf(x)))
}

/// Fit and score one law on the input.
fn evaluate(law: Law, input: &ChoiceInput, charge: f64, basis_atoms: bool) -> (Candidate, Option<Params>) {
    let mut candidate = Candidate {
        law: law.name().to_string(),
        spec: None,
        parameters: None,
        penalty: None,
        log_likelihood: None,
        aic: None,
        delta_aic: None,
        ks_distance: None,
        ks_passed: None,
        excluded: None,
    };
    let params = match maximum_likelihood(law, input.sample) {
        Ok(p) => p,
        Err(why) => {
            candidate.excluded = Some(why);
            return (candidate, None);
        }
    };
    let spec = match params.spec(input.kind) {
        Ok(spec) => spec,
        Err((key, x)) => {
            candidate.excluded = Some(format!("fitted {key} is not finite ({x})"));
            return (candidate, None);
        }
    };
    let histogram = input.histogram.map(|h| (&h.edges[..], &h.counts[..]));
    match ks_of_spec(&spec, input.storage, input.sample, histogram) {
        Ok(ks) => {
            candidate.ks_distance = ks.map(|k| k.0);
            candidate.ks_passed = ks.map(|k| k.0 <= ks_critical(input.sample.count(), input.significance));
        }
        Err(why) => {
            candidate.excluded = Some(format!("the engine refuses the fitted parameters: {why}"));
            return (candidate, None);
        }
    }
    candidate.spec = Some(Value::Object(spec));
    let (regular, support) = params.parameters();
    candidate.parameters = Some(regular + support);
    candidate.penalty = Some(regular + support * charge);
    candidate.log_likelihood = params.log_likelihood(input.sample).filter(|l| l.is_finite());
    if has_atoms(law) != basis_atoms {
        candidate.excluded = Some(format!(
            "not comparable: its likelihood is a {} and the data's a {}",
            if basis_atoms { "density" } else { "mass" },
            if basis_atoms { "mass" } else { "density" }
        ));
    } else if let Some(l) = candidate.log_likelihood {
        candidate.aic = Some(2.0 * (regular + support * charge) - 2.0 * l);
    } else {
        candidate.excluded = Some("its log-likelihood could not be computed (values outside its support)".into());
    }
    (candidate, Some(params))
}

/// Choose (or take the user's) law for one entry; `Err` names why no law, or not the fixed one,
/// can describe the data.
pub(super) fn choose(input: &ChoiceInput) -> Result<Choice, String> {
    let sample = input.sample;
    let one_value = sample.count() > 0 && sample.sample.min == sample.sample.max;
    let atoms = one_value || sample.is_discrete();
    let mut laws: Vec<Law> = if one_value {
        vec![Law::Constant]
    } else if atoms {
        DISCRETE.to_vec()
    } else {
        CONTINUOUS.to_vec()
    };
    if let Some(fixed) = input.fixed.filter(|f| !laws.contains(f)) {
        laws.push(fixed);
    }
    let charge = support_charge(input.significance);
    let mut candidates = Vec::new();
    let mut fitted = Vec::new();
    for &law in &laws {
        let (candidate, params) = evaluate(law, input, charge, atoms);
        candidates.push(candidate);
        fitted.push(params);
    }
    let best_aic = candidates.iter().filter_map(|c| c.aic).fold(f64::INFINITY, f64::min);
    for c in &mut candidates {
        c.delta_aic = c.aic.map(|a| a - best_aic);
    }
    let (index, reason) = pick(&candidates, input)?;
    let params = fitted[index]
        .clone()
        .ok_or_else(|| candidates[index].excluded.clone().unwrap_or_else(|| "could not be fitted".to_string()))?;
    let ks_basis = match (sample.values(), input.histogram) {
        (Some(_), _) => Some("values".to_string()),
        (None, Some(_)) => Some("bins".to_string()),
        _ => None,
    };
    let selection = LawSelection {
        basis: if atoms { "mass" } else { "density" }.to_string(),
        samples: sample.count(),
        significance: input.significance,
        ks_critical: ks_critical(sample.count(), input.significance),
        ks_basis,
        chosen: candidates[index].law.clone(),
        reason,
        candidates,
    };
    Ok(Choice { params, selection })
}

/// The winner's index and why it won.
fn pick(candidates: &[Candidate], input: &ChoiceInput) -> Result<(usize, String), String> {
    let aic = |i: usize| candidates[i].aic.unwrap_or(f64::INFINITY);
    let by_aic = |pool: &[usize]| pool.iter().copied().min_by(|&a, &b| aic(a).total_cmp(&aic(b)));
    let scored: Vec<usize> = (0..candidates.len()).filter(|&i| candidates[i].aic.is_some()).collect();
    let best = by_aic(&scored);
    if let Some(fixed) = input.fixed {
        let index = candidates.iter().position(|c| c.law == fixed.name()).unwrap_or(0);
        if let Some(why) = &candidates[index].excluded {
            if candidates[index].spec.is_none() {
                return Err(format!("{} cannot describe these data: {why}", fixed.name()));
            }
        }
        let reason = match best {
            Some(b) if b != index => {
                format!("fixed by the user (laws); the data's lowest AIC is {}", candidates[b].law)
            }
            _ => "fixed by the user (laws)".to_string(),
        };
        return Ok((index, reason));
    }
    let passing: Vec<usize> = scored.iter().copied().filter(|&i| candidates[i].ks_passed != Some(false)).collect();
    let alpha = input.significance;
    let runner_up = |winner: usize, pool: &[usize]| -> String {
        let others: Vec<usize> = pool.iter().copied().filter(|&i| i != winner).collect();
        match by_aic(&others) {
            Some(next) => format!(" (next: {}, ΔAIC {:.1})", candidates[next].law, aic(next) - aic(winner)),
            None => String::new(),
        }
    };
    if let Some(winner) = by_aic(&passing) {
        let what = if passing.len() == 1 { "the only law" } else { "the lowest AIC among the laws" };
        return Ok((winner, format!("{what} passing the KS check at α = {alpha}{}", runner_up(winner, &passing))));
    }
    if let Some(winner) = best {
        return Ok((
            winner,
            format!(
                "no law passes the KS check at α = {alpha}: the lowest AIC taken{} — consider fixing a law",
                runner_up(winner, &scored)
            ),
        ));
    }
    let reasons: Vec<String> =
        candidates.iter().map(|c| format!("{}: {}", c.law, c.excluded.as_deref().unwrap_or("no score"))).collect();
    Err(format!("no law of the engine describes these data ({})", reasons.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_support_charge_is_the_gamma_quantile() {
        let q = 2.0 * support_charge(0.01);
        assert!(((1.0 + q) * (-q).pexp() - 0.01).abs() < 1e-14, "{q}");
        assert!((q - 6.638).abs() < 1e-3);
        // Kolmogorov's c at α = 0.05 is 1.358.
        let n = 10_000;
        let c = ks_critical(n, 0.05) * (100.0 + 0.12 + 0.0011);
        assert!((c - 1.3581).abs() < 1e-4, "{c}");
    }
}
