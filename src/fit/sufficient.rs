//! Sufficient statistics beyond connectome-manipulator's, for the laws chosen by the data and for
//! cross-validation (issue #25, "better than connectome-manipulator").
//!
//! Every law the automatic mode considers has a likelihood that depends on the data only through
//! a few sums: the count, the mean and sum of squared deviations of `x` (normal, truncated
//! normal, exponential), the same of `ln x` (lognormal; gamma with the mean of `x`), the range
//! (uniform, the truncated normal's window) and the distinct values with their counts (discrete
//! laws). A [`LawSample`] keeps exactly these; it merges in any order like the other
//! accumulators, so the likelihoods stay exact on a streamed, partitioned fit. Kept once per
//! cross-validation fold ([`FoldSample`]), folds merge into the training sets and the whole.

use serde::{Deserialize, Serialize};

use super::accumulate::{Moments, SampleAccumulator};

/// Mergeable sufficient statistics of one sample: moments, range and distinct values of `x`
/// ([`SampleAccumulator`]), the moments of `ln x` over `x > 0`, and how many values were ≤ 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LawSample {
    /// Count, mean and squared deviations of `x`; min, max; distinct values up to the cap.
    pub sample: SampleAccumulator,
    /// Count, mean and squared deviations of `ln x` for the positive values.
    pub log: Moments,
    /// Values ≤ 0 (no logarithm): the laws on (0, ∞) do not apply when there is one.
    pub non_positive: u64,
}

impl LawSample {
    /// Add one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.sample.add(x);
        if x > 0.0 {
            self.log.add(libm::log(x));
        } else {
            self.non_positive += 1;
        }
    }

    /// Merge another sample's statistics in.
    pub fn merge(&mut self, other: &LawSample) {
        self.sample.merge(&other.sample);
        self.log.merge(&other.log);
        self.non_positive += other.non_positive;
    }

    /// The merge of several samples (e.g. the training folds).
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a LawSample>) -> LawSample {
        let mut out = LawSample::default();
        parts.into_iter().for_each(|p| out.merge(p));
        out
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.sample.moments.n
    }

    /// Mean of `x`.
    pub fn mean(&self) -> f64 {
        self.sample.moments.mean
    }

    /// Variance of `x` (ddof 0: the maximum-likelihood one).
    pub fn variance(&self) -> f64 {
        let m = &self.sample.moments;
        if m.n == 0 {
            f64::NAN
        } else {
            m.m2.max(0.0) / m.n as f64
        }
    }

    /// Mean of `ln x` (meaningful when every value is positive).
    pub fn mean_log(&self) -> f64 {
        self.log.mean
    }

    /// Variance of `ln x` (ddof 0).
    pub fn variance_log(&self) -> f64 {
        if self.log.n == 0 {
            f64::NAN
        } else {
            self.log.m2.max(0.0) / self.log.n as f64
        }
    }

    /// Every distinct value with its count, when at most [`super::accumulate::MAX_UNIQUE`] + 1
    /// were seen (else `None`).
    pub fn values(&self) -> Option<&[(f64, u64)]> {
        (!self.sample.uniques.overflow).then_some(&self.sample.uniques.values[..])
    }

    /// Whether the sample is treated as discrete (a law with atoms, scored by exact masses):
    /// connectome-manipulator's rule for keeping `val`/`p` (at most 100 distinct values, fewer
    /// than the samples) and, so that a small sample of a continuous property with one tie is
    /// not taken for a discrete one, every distinct value seen at least twice on average.
    pub fn is_discrete(&self) -> bool {
        match self.sample.discrete_values() {
            Some(values) => values.len() == 1 || 2 * values.len() as u64 <= self.count(),
            None => false,
        }
    }

    /// Whether every value is an integer (Poisson laws apply).
    pub fn integer_valued(&self) -> bool {
        self.values().is_some_and(|v| v.iter().all(|(x, _)| x.fract() == 0.0))
    }
}

/// One cross-validation fold of one sample: its sufficient statistics and its counts on the
/// sample's histogram bins (the same edges in every fold, so counts add up to the whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FoldSample {
    /// The fold's sufficient statistics.
    pub stats: LawSample,
    /// The fold's counts on the whole sample's bins.
    pub histogram: Vec<u64>,
}

/// The fold of a connection from a number of its keyed stream: `⌊draw · folds / 2⁶⁴⌋`, so each
/// fold gets a 1/`folds` share of connections, the same for any chunking, order or workers.
#[inline]
pub fn fold_of(draw: u64, folds: u32) -> usize {
    ((u128::from(draw) * u128::from(folds)) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::PortableMath;

    #[test]
    fn log_moments_merge_and_count_non_positive_values() {
        let values = [0.5, 1.0, 2.0, 4.0, 0.0, -1.0, 8.0];
        let mut whole = LawSample::default();
        values.iter().for_each(|&x| whole.add(x));
        let (mut a, mut b) = (LawSample::default(), LawSample::default());
        values[..3].iter().for_each(|&x| a.add(x));
        values[3..].iter().for_each(|&x| b.add(x));
        let merged = LawSample::merged([&a, &b]);
        assert_eq!(merged.count(), 7);
        assert_eq!(merged.non_positive, 2);
        assert_eq!(merged.log.n, 5);
        let logs: Vec<f64> = [0.5f64, 1.0, 2.0, 4.0, 8.0].iter().map(|x| x.pln()).collect();
        let mean = logs.iter().sum::<f64>() / 5.0;
        assert!((merged.mean_log() - mean).abs() < 1e-15);
        assert!((whole.variance_log() - merged.variance_log()).abs() < 1e-15);
    }

    #[test]
    fn discrete_needs_repeated_values() {
        let mut s = LawSample::default();
        [1.0, 2.0, 3.0, 3.0].iter().for_each(|&x| s.add(x));
        assert!(!s.is_discrete(), "3 distinct of 4: continuous with a tie");
        [1.0, 2.0].iter().for_each(|&x| s.add(x));
        assert!(s.is_discrete() && s.integer_valued());
    }

    #[test]
    fn folds_are_balanced() {
        let mut counts = [0u32; 5];
        let mut stream = crate::streams::Stream::new(7);
        for _ in 0..50_000 {
            counts[fold_of(rand_core::RngCore::next_u64(&mut stream), 5)] += 1;
        }
        assert!(counts.iter().all(|&c| (c as i64 - 10_000).abs() < 400), "{counts:?}");
    }
}
