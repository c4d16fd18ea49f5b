//! Mergeable accumulators of one sample (one property in one pathway): moments merged exactly as
//! Chan et al.'s parallel update, min and max, the distinct values up to a cap, fixed-bin
//! histograms. Every one serializes (serde) and merges in any order with the same result up to
//! the last bits of the mean and variance.

use serde::{Deserialize, Serialize};

/// connectome-manipulator's `MAX_UNIQUE_COUNT`: a sample with more distinct values is not
/// described by a discrete law.
pub const MAX_UNIQUE: usize = 100;

/// Count, mean and sum of squared deviations (Welford within a chunk, Chan et al. across).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Moments {
    /// Number of values.
    pub n: u64,
    /// Their mean (JSON null, a non-finite mean, read back as NaN).
    #[serde(deserialize_with = "null_as_nan")]
    pub mean: f64,
    /// Sum of squared deviations from the mean (null read back as NaN).
    #[serde(deserialize_with = "null_as_nan")]
    pub m2: f64,
}

impl Moments {
    /// Add one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Merge another accumulator's values in.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (na, nb) = (self.n as f64, other.n as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += other.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
    }

    /// Standard deviation with ddof 0 (`np.std`).
    pub fn std(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            (self.m2.max(0.0) / self.n as f64).sqrt()
        }
    }
}

/// Distinct values with their counts, kept while there are at most [`MAX_UNIQUE`] + 1 of them
/// (enough to decide connectome-manipulator's rule); beyond, only "too many" is remembered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Uniques {
    /// (value, count), sorted by value; empty once `overflow`.
    pub values: Vec<(f64, u64)>,
    /// More than `MAX_UNIQUE + 1` distinct values were seen.
    pub overflow: bool,
}

impl Uniques {
    /// Count one value (−0.0 is counted as 0.0, as `np.unique` does).
    pub fn add(&mut self, x: f64, count: u64) {
        if self.overflow {
            return;
        }
        let x = if x == 0.0 { 0.0 } else { x };
        match self.values.binary_search_by(|(v, _)| v.total_cmp(&x)) {
            Ok(i) => self.values[i].1 += count,
            Err(i) => {
                self.values.insert(i, (x, count));
                if self.values.len() > MAX_UNIQUE + 1 {
                    self.values = Vec::new();
                    self.overflow = true;
                }
            }
        }
    }

    /// Merge another set in.
    pub fn merge(&mut self, other: &Uniques) {
        if other.overflow {
            self.values = Vec::new();
            self.overflow = true;
        }
        for &(x, c) in &other.values {
            self.add(x, c);
        }
    }

    /// The distinct number of values, if not overflowed.
    pub fn len(&self) -> Option<usize> {
        (!self.overflow).then_some(self.values.len())
    }

    /// Whether no value was counted.
    pub fn is_empty(&self) -> bool {
        !self.overflow && self.values.is_empty()
    }
}

/// One sample's statistics before its histogram: moments, range and distinct values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleAccumulator {
    /// Count, mean, variance.
    pub moments: Moments,
    /// Smallest value (+∞ while empty; JSON writes that as null, read back as +∞).
    #[serde(deserialize_with = "null_as_infinity")]
    pub min: f64,
    /// Largest value (−∞ while empty; null in JSON).
    #[serde(deserialize_with = "null_as_negative_infinity")]
    pub max: f64,
    /// Distinct values (up to the cap).
    pub uniques: Uniques,
}

/// serde_json writes a non-finite number as `null`; an empty accumulator's bounds are infinite, so
/// a worker's state in which no value reached a sample must read back: null is +∞ here.
fn null_as_infinity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::INFINITY))
}

/// A non-finite moment (from NaN or infinite data, which pass 1 reports) is null in JSON: read
/// back as NaN, so that a worker's state still merges and the coordinator names the values.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// A list of values whose non-finite members JSON wrote as null: read back as NaN.
pub(super) fn nullable_values<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    let values = Vec::<Option<f64>>::deserialize(deserializer)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Lists of [`nullable_values`].
pub(super) fn nullable_rows<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let rows = Vec::<Vec<Option<f64>>>::deserialize(deserializer)?;
    Ok(rows.into_iter().map(|row| row.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect())
}

/// As [`null_as_infinity`], for the maximum: null is −∞.
fn null_as_negative_infinity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NEG_INFINITY))
}

impl Default for SampleAccumulator {
    fn default() -> Self {
        SampleAccumulator {
            moments: Moments::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            uniques: Uniques::default(),
        }
    }
}

impl SampleAccumulator {
    /// Add one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.moments.add(x);
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
        self.uniques.add(x, 1);
    }

    /// Merge another accumulator in.
    pub fn merge(&mut self, other: &SampleAccumulator) {
        self.moments.merge(&other.moments);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.uniques.merge(&other.uniques);
    }

    /// connectome-manipulator's rule for keeping `val`/`cnt`/`p`: one distinct value, or fewer
    /// distinct values than samples and at most [`MAX_UNIQUE`].
    pub fn discrete_values(&self) -> Option<Vec<(f64, u64)>> {
        let distinct = self.uniques.len()?;
        let n = self.moments.n as usize;
        (distinct == 1 || (distinct < n && distinct <= MAX_UNIQUE)).then(|| self.uniques.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_moments_equal_one_pass() {
        let values: Vec<f64> = (0..1000).map(|i| ((i * 37 % 101) as f64).sqrt() * 1e3 + 7.0).collect();
        let mut whole = Moments::default();
        values.iter().for_each(|&x| whole.add(x));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        values[..313].iter().for_each(|&x| a.add(x));
        values[313..].iter().for_each(|&x| b.add(x));
        b.merge(&a);
        let mean = values.iter().sum::<f64>() / 1000.0;
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 1000.0;
        assert!((b.mean - mean).abs() <= 1e-12 * mean);
        assert!((b.std() - var.sqrt()).abs() <= 1e-12 * var.sqrt());
        assert!((whole.std() - b.std()).abs() <= 1e-12 * var.sqrt());
    }

    #[test]
    fn a_constant_has_exactly_zero_spread() {
        let mut a = Moments::default();
        (0..77).for_each(|_| a.add(0.7f32 as f64));
        let mut b = a;
        b.merge(&a);
        assert_eq!(b.std(), 0.0);
        assert_eq!(b.mean, 0.7f32 as f64);
    }

    #[test]
    fn uniques_overflow_past_the_cap_and_merge() {
        let mut u = Uniques::default();
        for i in 0..=MAX_UNIQUE {
            u.add(i as f64, 1);
        }
        assert_eq!(u.len(), Some(MAX_UNIQUE + 1));
        let mut other = Uniques::default();
        other.add(-1.0, 2);
        other.add(-0.0, 1);
        u.merge(&other);
        assert_eq!(u.len(), None);
        let mut s = SampleAccumulator::default();
        [1.0, 2.0, 2.0].iter().for_each(|&x| s.add(x));
        assert_eq!(s.discrete_values(), Some(vec![(1.0, 1), (2.0, 2)]));
        let mut all_distinct = SampleAccumulator::default();
        [1.0, 2.0, 3.0].iter().for_each(|&x| all_distinct.add(x));
        assert_eq!(all_distinct.discrete_values(), None);
    }

    #[test]
    fn an_empty_accumulator_survives_json() {
        let empty = SampleAccumulator::default();
        let text = serde_json::to_string(&empty).unwrap();
        let back: SampleAccumulator = serde_json::from_str(&text).unwrap();
        assert_eq!(back, empty);
    }
}
