//! The fit of a distance-dependent delay: connectome-manipulator's `model_building/delay.py`
//! (`extract` + `build`) per pathway, streaming over edge chunks (design §10, "Delay against distance").
//!
//! connectome-manipulator bins the distance from the presynaptic soma to each synapse
//! (`afferent_center_x/y/z`) in bins of `bin_size_um` from 0 up to the largest distance (the last
//! bin closed on the right), takes each bin's mean and std (ddof 0) of `delay`, fits an unweighted
//! least-squares line to the means of the bins with data at the bins' centres (`mean = a + b·d`),
//! and takes the std as the mean of the bins' stds and the minimum as the smallest delay: a
//! `LinDelayModel`, the engine's `lin_delay` spec.
//!
//! Here each bin keeps (count, mean, M2) in f64 (Chan et al.'s merge), so chunks and workers
//! merge exactly in a fixed order, and the bin of a value equal to the largest distance is found
//! at the end (when the largest distance is known). numpy averages float32 columns in float32:
//! connectome-manipulator's means differ from these in their 7th digit, which the conformance test
//! (`tests/delay_fit.rs`) bounds at 1e-6 relative on the coefficients. Pathways below
//! `min_sample_size` connections take the pooled bins of their fallback level's pathways (the
//! data of "these pathways share one law"), where connectome-manipulator has one model per
//! selection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// connectome-manipulator's `bin_size_um` in its delay configs (µm).
pub const DEFAULT_DELAY_BIN_UM: f64 = 50.0;

/// What a delay fit reads and how it bins (part of [`super::FitSettings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelayFitSettings {
    /// The fitted property holding the delays (a name in the settings' properties, e.g. `delay`).
    pub property: String,
    /// Distance bin width (µm).
    pub bin_size_um: f64,
    /// Per edge population, the edge datasets each chunk carries after the properties' columns,
    /// from which the core computes `distance_soma` (the synapse's centre: `afferent_center_*`,
    /// else `efferent_center_*`); the source nodes' positions are given once per population.
    pub reads: BTreeMap<String, Vec<String>>,
}

impl DelayFitSettings {
    pub(super) fn validate(&self, properties: &[super::FitProperty]) -> Result<()> {
        if !properties.iter().any(|p| p.name == self.property) {
            return Err(Error::config(
                "delay_fit.property",
                format!("'{}' is not one of the fitted properties", self.property),
            ));
        }
        if !(self.bin_size_um.is_finite() && self.bin_size_um > 0.0) {
            return Err(Error::config(
                "delay_fit.bin_size_um",
                format!("the distance bin must be a positive number of µm, got {}", self.bin_size_um),
            ));
        }
        Ok(())
    }
}

/// One distance bin's delays: count, mean and sum of squared deviations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct BinMoments {
    /// Delays in the bin.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Their sum of squared deviations from the mean.
    pub m2: f64,
}

impl BinMoments {
    fn add(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(&mut self, other: &BinMoments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n = (self.count + other.count) as f64;
        let delta = other.mean - self.mean;
        self.mean += delta * other.count as f64 / n;
        self.m2 += other.m2 + delta * delta * self.count as f64 * other.count as f64 / n;
        self.count += other.count;
    }

    /// numpy's `std` (ddof 0).
    fn std(&self) -> f64 {
        (self.m2 / self.count as f64).max(0.0).sqrt()
    }
}

/// Moments and co-moment of (distance, delay) over every synapse: the exact least-squares line
/// (auto mode), where connectome-manipulator fits the bins' means at their centres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LineMoments {
    /// Synapses.
    pub count: u64,
    /// Mean distance.
    pub mean_distance: f64,
    /// Mean delay.
    pub mean_delay: f64,
    /// Σ (distance − mean)².
    pub m2_distance: f64,
    /// Σ (delay − mean)².
    pub m2_delay: f64,
    /// Σ (distance − mean)(delay − mean).
    pub co_moment: f64,
}

impl LineMoments {
    fn add(&mut self, d: f64, v: f64) {
        self.count += 1;
        let n = self.count as f64;
        let (dd, dv) = (d - self.mean_distance, v - self.mean_delay);
        self.mean_distance += dd / n;
        self.mean_delay += dv / n;
        self.m2_distance += dd * (d - self.mean_distance);
        self.m2_delay += dv * (v - self.mean_delay);
        self.co_moment += dd * (v - self.mean_delay);
    }

    fn merge(&mut self, other: &LineMoments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let (dd, dv) = (other.mean_distance - self.mean_distance, other.mean_delay - self.mean_delay);
        self.m2_distance += other.m2_distance + dd * dd * na * nb / n;
        self.m2_delay += other.m2_delay + dv * dv * na * nb / n;
        self.co_moment += other.co_moment + dd * dv * na * nb / n;
        self.mean_distance += dd * nb / n;
        self.mean_delay += dv * nb / n;
        self.count += other.count;
    }
}

/// How the line of a `lin_delay` fit is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayMethod {
    /// connectome-manipulator's: the bins' means at their centres, std the mean of the bins'.
    BinMeans,
    /// Least squares on every synapse, std the residuals' (auto mode): unbiased where bins are
    /// partly filled, which the bin centres are not.
    Synapses,
}

/// One pathway's delays by distance bin, as chunks add them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceBins {
    /// Bin index (`⌊distance / bin⌋`, compared as numpy compares with the bin edges) → moments.
    pub bins: BTreeMap<u64, BinMoments>,
    /// Every synapse's (distance, delay) moments.
    #[serde(default)]
    pub line: LineMoments,
    /// The smallest delay.
    pub min_delay: f64,
    /// The largest distance (µm).
    pub max_distance: f64,
}

impl Default for DistanceBins {
    fn default() -> Self {
        DistanceBins {
            bins: BTreeMap::new(),
            line: LineMoments::default(),
            min_delay: f64::INFINITY,
            max_distance: 0.0,
        }
    }
}

/// The bin `[k·w, (k+1)·w)` holding `distance`, with the edges computed as numpy's
/// `np.arange(0, n + 1) * w`.
fn bin_of(distance: f64, width: f64) -> u64 {
    let mut k = (distance / width).floor().max(0.0);
    if distance < k * width {
        k -= 1.0;
    } else if distance >= (k + 1.0) * width {
        k += 1.0;
    }
    k.max(0.0) as u64
}

impl DistanceBins {
    /// Add a synapse's delay at `distance` µm (both finite, checked by the caller).
    pub fn add(&mut self, distance: f64, delay: f64, width: f64) {
        self.bins.entry(bin_of(distance, width)).or_default().add(delay);
        self.line.add(distance, delay);
        self.min_delay = self.min_delay.min(delay);
        self.max_distance = self.max_distance.max(distance);
    }

    /// Add another state's bins.
    pub fn merge(&mut self, other: &DistanceBins) {
        for (k, moments) in &other.bins {
            self.bins.entry(*k).or_default().merge(moments);
        }
        self.line.merge(&other.line);
        self.min_delay = self.min_delay.min(other.min_delay);
        self.max_distance = self.max_distance.max(other.max_distance);
    }

    /// Synapses in the bins.
    pub fn synapses(&self) -> u64 {
        self.bins.values().map(|b| b.count).sum()
    }

    /// The bins as `extract` returns them: `num_bins = ⌈max / w⌉`, a value on the last edge in
    /// the last bin.
    fn closed(&self, width: f64) -> BTreeMap<u64, BinMoments> {
        let bins = (self.max_distance / width).ceil() as u64;
        let mut out: BTreeMap<u64, BinMoments> = BTreeMap::new();
        for (&k, moments) in &self.bins {
            out.entry(k.min(bins.saturating_sub(1))).or_default().merge(moments);
        }
        out
    }

    /// The model by `method`; `Err` says why there is none.
    pub fn fit_by(&self, width: f64, method: DelayMethod) -> std::result::Result<LinDelayFit, String> {
        let mut fit = self.fit(width)?;
        if method == DelayMethod::Synapses {
            let line = &self.line;
            let b = if line.m2_distance > 0.0 { line.co_moment / line.m2_distance } else { 0.0 };
            fit.delay_mean_coeff_b = b;
            fit.delay_mean_coeff_a = line.mean_delay - b * line.mean_distance;
            fit.delay_std = ((line.m2_delay - b * line.co_moment) / line.count as f64).max(0.0).sqrt();
        }
        Ok(fit)
    }

    /// connectome-manipulator's `build` of these bins; `Err` says why there is none.
    pub fn fit(&self, width: f64) -> std::result::Result<LinDelayFit, String> {
        if self.bins.is_empty() {
            return Err("no synapse to fit a delay on".into());
        }
        if self.max_distance <= 0.0 {
            return Err("every synapse sits at distance 0 from its presynaptic soma: no distance bin".into());
        }
        let bins = self.closed(width);
        let x: Vec<f64> = bins.keys().map(|&k| k as f64 * width + 0.5 * width).collect();
        let y: Vec<f64> = bins.values().map(|b| b.mean).collect();
        let n = x.len() as f64;
        let (x_mean, y_mean) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxx: f64 = x.iter().map(|xi| (xi - x_mean) * (xi - x_mean)).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(xi, yi)| (xi - x_mean) * (yi - y_mean)).sum();
        // One bin: sklearn's least squares on a centred zero column gives a slope of 0.
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let std = bins.values().map(BinMoments::std).sum::<f64>() / n;
        if self.min_delay < 0.0 {
            return Err(format!("a delay is negative ({}); lin_delay's minimum must be ≥ 0", self.min_delay));
        }
        Ok(LinDelayFit {
            delay_mean_coeff_a: y_mean - b * x_mean,
            delay_mean_coeff_b: b,
            delay_std: std,
            delay_min: self.min_delay,
            bins_used: bins.len() as u64,
            synapses: self.synapses(),
        })
    }
}

/// A fitted `LinDelayModel` (mean a + b·distance, constant std, a minimum).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinDelayFit {
    /// Intercept (ms).
    pub delay_mean_coeff_a: f64,
    /// Slope (ms/µm).
    pub delay_mean_coeff_b: f64,
    /// Mean of the bins' stds (ms).
    pub delay_std: f64,
    /// The smallest delay (ms).
    pub delay_min: f64,
    /// Distance bins with data.
    pub bins_used: u64,
    /// Synapses fitted.
    pub synapses: u64,
}

impl LinDelayFit {
    /// The `lin_delay` spec (drawn per synapse).
    pub fn spec(&self, path: &str) -> Result<Map<String, Value>> {
        let mut spec = Map::new();
        spec.insert("type".into(), json!("lin_delay"));
        for (key, x) in [
            ("delay_mean_coeff_a", self.delay_mean_coeff_a),
            ("delay_mean_coeff_b", self.delay_mean_coeff_b),
            ("delay_std", self.delay_std),
            ("delay_min", self.delay_min),
        ] {
            let number = serde_json::Number::from_f64(x)
                .ok_or_else(|| Error::config(format!("{path}.{key}"), format!("fitted value is not finite ({x})")))?;
            spec.insert(key.into(), Value::Number(number));
        }
        Ok(spec)
    }
}

/// The `lin_delay` spec of pathway `pathway`: from its own bins when it has statistics, else from
/// the pooled bins of `block` (its fallback level's pathways with data).
pub(super) fn pathway_fit(
    data: &super::FitData,
    block: &[usize],
    pathway: usize,
    path: &str,
    method: DelayMethod,
) -> Result<LinDelayFit> {
    let settings = data.settings.delay_fit.as_ref().ok_or_else(|| {
        Error::config(path, "lin_delay needs the distances: fit with a delay fit (--fit-laws delay=lin_delay)")
    })?;
    let own = data.pathways[pathway].statistics.is_some();
    let mut pooled = DistanceBins::default();
    let sources: Vec<usize> = if own { vec![pathway] } else { block.to_vec() };
    for k in sources {
        if let Some(bins) = &data.pathways[k].distance {
            pooled.merge(bins);
        }
    }
    pooled
        .fit_by(settings.bin_size_um, method)
        .map_err(|why| Error::config(format!("{path}.type"), format!("lin_delay: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_numpy_edges_and_close_the_last() {
        assert_eq!(bin_of(0.0, 50.0), 0);
        assert_eq!(bin_of(49.999, 50.0), 0);
        assert_eq!(bin_of(50.0, 50.0), 1);
        assert_eq!(bin_of(0.3, 0.1), 2); // 0.3 < 3 · 0.1 = 0.30000000000000004
        let mut bins = DistanceBins::default();
        for (d, v) in [(10.0, 1.0), (60.0, 2.0), (100.0, 3.0)] {
            bins.add(d, v, 50.0);
        }
        // 100 is the largest distance and the last edge: in the bin [50, 100].
        let closed = bins.closed(50.0);
        assert_eq!(closed.len(), 2);
        assert_eq!(closed[&1].count, 2);
        assert_eq!(closed[&1].mean, 2.5);
    }

    #[test]
    fn fits_a_line_through_bin_means() {
        let mut bins = DistanceBins::default();
        for i in 0..400 {
            let d = i as f64 * 2.5;
            bins.add(d, 0.5 + 0.004 * (d / 50.0).floor() * 50.0 + 0.1, 50.0);
        }
        let fit = bins.fit(50.0).unwrap();
        // Means are 0.6 + 0.004 · 50k at centres 50k + 25: slope 0.004, intercept 0.6 − 0.1.
        assert!((fit.delay_mean_coeff_b - 0.004).abs() < 1e-12);
        assert!((fit.delay_mean_coeff_a - 0.5).abs() < 1e-9);
        assert_eq!(fit.delay_std, 0.0);
        assert!((fit.delay_min - 0.6).abs() < 1e-12);
    }

    #[test]
    fn merging_equals_adding() {
        let (mut all, mut a, mut b) = (DistanceBins::default(), DistanceBins::default(), DistanceBins::default());
        for i in 0..100 {
            let (d, v) = (i as f64 * 7.3, 1.0 + (i * i % 17) as f64 / 10.0);
            all.add(d, v, 50.0);
            if i % 3 == 0 {
                a.add(d, v, 50.0)
            } else {
                b.add(d, v, 50.0)
            }
        }
        a.merge(&b);
        let (x, y) = (all.fit(50.0).unwrap(), a.fit(50.0).unwrap());
        assert!((x.delay_mean_coeff_b - y.delay_mean_coeff_b).abs() < 1e-12);
        assert!((x.delay_std - y.delay_std).abs() < 1e-12);
    }

    #[test]
    fn refuses_what_has_no_line() {
        assert!(DistanceBins::default().fit(50.0).is_err());
        let mut zero = DistanceBins::default();
        zero.add(0.0, 1.0, 50.0);
        assert!(zero.fit(50.0).unwrap_err().contains("distance 0"));
        let mut one = DistanceBins::default();
        one.add(10.0, 1.0, 50.0);
        one.add(20.0, 3.0, 50.0);
        let fit = one.fit(50.0).unwrap();
        assert_eq!((fit.delay_mean_coeff_a, fit.delay_mean_coeff_b), (2.0, 0.0));
    }
}
