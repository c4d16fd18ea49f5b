//! numpy's arithmetic where connectome-manipulator's results depend on it: histogram edges and
//! bin assignment (`np.histogram` with a bin count), bin centres, and pairwise summation
//! (`np.mean` of a float32 list). A float32 column is binned in float32 by numpy, so the edges,
//! the centres and the start of the normal fit are float32 numbers: reproduced here by rounding
//! every float32 operation (an f64 operation on two f32 values, rounded to f32, is the correctly
//! rounded f32 result).

use serde::{Deserialize, Serialize};

/// How a property's column is stored, which decides the arithmetic numpy bins it in: float32
/// columns (most SONATA synapse properties) in float32, float64 and integer columns in float64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// A float32 column: values must be float32 numbers; histograms are computed in float32.
    Float32,
    /// A float64 column.
    #[default]
    Float64,
    /// An integer column (e.g. `syn_type_id`, `n_rrp_vesicles`); histograms in float64.
    Int,
}

impl ValueKind {
    /// Round `x` to this kind's histogram arithmetic (float32 or float64).
    #[inline]
    pub fn round(self, x: f64) -> f64 {
        match self {
            ValueKind::Float32 => x as f32 as f64,
            ValueKind::Float64 | ValueKind::Int => x,
        }
    }

    /// Whether values are integers (written as JSON integers in `val`).
    pub fn is_int(self) -> bool {
        self == ValueKind::Int
    }
}

/// `np.histogram(values, bins)` edges for data spanning `[min, max]`: an empty range is widened
/// by ±0.5, edges come from `np.linspace` in the data's arithmetic, the last edge is `max`.
pub fn histogram_edges(min: f64, max: f64, bins: usize, kind: ValueKind) -> Vec<f64> {
    let r = |x: f64| kind.round(x);
    let (mut first, mut last) = (min, max);
    if first == last {
        first = r(first - 0.5);
        last = r(last + 0.5);
    }
    let div = bins as f64;
    let delta = r(last - first);
    let step = r(delta / div);
    let mut edges: Vec<f64> = (0..=bins)
        .map(|i| {
            let y = if step == 0.0 { r(r(i as f64 / div) * delta) } else { r(i as f64 * step) };
            r(y + first)
        })
        .collect();
    edges[bins] = last;
    edges
}

/// The bin of `x` among `edges` as `np.histogram` finds it: an estimate from the scaled offset,
/// corrected once by comparison with the edges; the last bin is closed. `None` outside the edges.
pub fn histogram_bin(x: f64, edges: &[f64], kind: ValueKind) -> Option<usize> {
    Binner::new(edges, kind).bin(x)
}

/// [`histogram_bin`] on one set of edges, its constants taken once: the same arithmetic, for
/// binning many values.
#[derive(Debug, Clone, Copy)]
pub struct Binner<'a> {
    edges: &'a [f64],
    first: f64,
    last: f64,
    denominator: f64,
    bins: usize,
    kind: ValueKind,
}

impl<'a> Binner<'a> {
    /// Binning on `edges` (at least two) in `kind`'s arithmetic.
    pub fn new(edges: &'a [f64], kind: ValueKind) -> Self {
        let bins = edges.len() - 1;
        let (first, last) = (edges[0], edges[bins]);
        Binner { edges, first, last, denominator: kind.round(last - first), bins, kind }
    }

    /// The bin of `x` (`None` outside the edges).
    #[inline]
    pub fn bin(&self, x: f64) -> Option<usize> {
        match self.kind {
            ValueKind::Float32 => self.bin_in(x, |v| v as f32 as f64),
            ValueKind::Float64 | ValueKind::Int => self.bin_in(x, |v| v),
        }
    }

    #[inline(always)]
    fn bin_in(&self, x: f64, r: impl Fn(f64) -> f64) -> Option<usize> {
        let (first, last, bins) = (self.first, self.last, self.bins);
        let x = r(x);
        if !(x >= first && x <= last) {
            return None;
        }
        let estimate = r(r(r(x - first) / self.denominator) * bins as f64);
        let mut index = if estimate.is_finite() && estimate > 0.0 { (estimate as usize).min(bins) } else { 0 };
        if index == bins {
            index -= 1;
        }
        if x < self.edges[index] && index > 0 {
            index -= 1;
        }
        if x >= self.edges[index + 1] && index != bins - 1 {
            index += 1;
        }
        Some(index)
    }
}

/// Bin centres as connectome-manipulator computes them: `np.mean(edges[i:i+2])` in the edges'
/// arithmetic.
pub fn bin_centers(edges: &[f64], kind: ValueKind) -> Vec<f64> {
    edges.windows(2).map(|w| kind.round(kind.round(w[0] + w[1]) / 2.0)).collect()
}

/// numpy's pairwise summation (`np.add.reduce` on a contiguous array): eight partial sums over
/// blocks of at most 128 values, halves recursively above; every addition rounded to `kind`.
pub fn pairwise_sum(values: &[f64], kind: ValueKind) -> f64 {
    let r = |x: f64| kind.round(x);
    let n = values.len();
    if n < 8 {
        let mut sum = 0.0;
        for &v in values {
            sum = r(sum + v);
        }
        // numpy starts from -0.0 in recent versions and from 0.0 before; both give the same sums
        // for nonempty input except the sign of an all-zero sum, which never matters here.
        return sum;
    }
    if n <= 128 {
        let mut partial = [0.0; 8];
        partial.copy_from_slice(&values[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, p) in partial.iter_mut().enumerate() {
                *p = r(*p + values[i + j]);
            }
            i += 8;
        }
        let mut sum = r(r(r(partial[0] + partial[1]) + r(partial[2] + partial[3]))
            + r(r(partial[4] + partial[5]) + r(partial[6] + partial[7])));
        for &v in &values[full..] {
            sum = r(sum + v);
        }
        return sum;
    }
    let half = (n / 2) - (n / 2) % 8;
    r(pairwise_sum(&values[..half], kind) + pairwise_sum(&values[half..], kind))
}

/// `np.mean` of a list in `kind`'s arithmetic (pairwise sum, then one division).
pub fn mean(values: &[f64], kind: ValueKind) -> f64 {
    kind.round(pairwise_sum(values, kind) / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_of_a_constant_are_centred_on_it() {
        let edges = histogram_edges(3.0, 3.0, 51, ValueKind::Int);
        assert_eq!(edges.len(), 52);
        assert_eq!(edges[0], 2.5);
        assert_eq!(edges[51], 3.5);
        assert_eq!(histogram_bin(3.0, &edges, ValueKind::Int), Some(25));
    }

    #[test]
    fn float32_edges_are_float32_numbers() {
        let (lo, hi) = (0.1f32 as f64, 0.7f32 as f64);
        let edges = histogram_edges(lo, hi, 51, ValueKind::Float32);
        assert!(edges.iter().all(|&e| e == e as f32 as f64));
        assert_eq!(edges[0], lo);
        assert_eq!(edges[51], hi);
        // The maximum falls in the closed last bin, the minimum in the first.
        assert_eq!(histogram_bin(hi, &edges, ValueKind::Float32), Some(50));
        assert_eq!(histogram_bin(lo, &edges, ValueKind::Float32), Some(0));
        assert_eq!(histogram_bin(0.8, &edges, ValueKind::Float32), None);
    }

    #[test]
    fn every_value_lands_between_its_edges() {
        let edges = histogram_edges(-1.3, 7.9, 51, ValueKind::Float64);
        for k in 0..=1000 {
            let x = -1.3 + 9.2 * k as f64 / 1000.0;
            let x = x.min(7.9);
            let b = histogram_bin(x, &edges, ValueKind::Float64).unwrap();
            assert!(edges[b] <= x && (x < edges[b + 1] || b == 50), "{x} in bin {b}");
        }
    }

    #[test]
    fn pairwise_sum_matches_a_plain_sum_on_exact_values() {
        let values: Vec<f64> = (0..300).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&values, ValueKind::Float64), 44850.0);
        assert_eq!(mean(&values[..51], ValueKind::Float32), 25.0);
    }
}
