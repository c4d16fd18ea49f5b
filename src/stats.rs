//! Statistics and histograms per property × pathway, accumulated chunk by chunk, with the spec's
//! expected counts on the same bins so the page only draws (design §1.5).
//!
//! Bins come from the spec (its 0.05 %–99.95 % quantile range after bounds and dtype), not from
//! the data, so they are known before the first chunk and identical however the edges are split.

use serde::{Deserialize, Serialize};

use crate::config::{Model, PathwaySpec};
use crate::engine::ChunkResult;
use crate::error::Num;

/// Bins of a continuous histogram.
const CONTINUOUS_BINS: usize = 40;
/// Integer-valued outputs get one bin per integer up to this many values.
const MAX_INTEGER_BINS: usize = 120;
/// Quantile range the bins cover.
const RANGE_PROBABILITY: f64 = 0.0005;

/// Where a value falls on an accumulator's bins.
enum Cell {
    Below,
    Above,
    Bin(usize),
}

/// Running statistics of one property in one pathway. Sums are taken around `shift` (the spec's
/// mean), which keeps the variance accurate without a division per value.
#[derive(Debug, Clone)]
struct Accumulator {
    count: u64,
    shift: f64,
    sum: f64,
    sum_squares: f64,
    min: f64,
    max: f64,
    clipped: u64,
    edges: Vec<f64>,
    /// `edges[0]` and the last edge, read for every value.
    lo: f64,
    hi: f64,
    bins_per_unit: f64,
    counts: Vec<u64>,
    underflow: u64,
    overflow: u64,
    /// Whether one draw serves a connection: then the independent draws are counted apart
    /// (`draws`, binned in `draw_counts` and the tails), once per connection, for the fit.
    shared: bool,
    draws: u64,
    draw_counts: Vec<u64>,
    draw_underflow: u64,
    draw_overflow: u64,
    /// (key, attribute, value) of the synapses with the smallest keys (see [`SCATTER_POINTS`]).
    scatter: Vec<(u64, f64, f64)>,
    /// Once [`SCATTER_POINTS`] are kept, the largest kept key: a larger one can never be kept.
    scatter_cutoff: u64,
}

/// Points of a value-against-attribute view kept per pathway (design §2.7): the synapses whose
/// key — a hash of their attribute and value — is smallest. The same points whatever the
/// chunking and the workers (merging keeps the smallest keys of both).
pub const SCATTER_POINTS: usize = 1000;

/// Where the mean line of a value-against-attribute view is evaluated.
const MEAN_LINE_POINTS: usize = 41;

/// Keep the `SCATTER_POINTS` points with the smallest keys (ties by attribute and value); returns
/// the largest kept key once that many are kept (`u64::MAX` before): no larger key can be kept.
fn prune_scatter(points: &mut Vec<(u64, f64, f64)>) -> u64 {
    points.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    points.dedup_by(|a, b| a.0 == b.0 && a.1.to_bits() == b.1.to_bits() && a.2.to_bits() == b.2.to_bits());
    points.truncate(SCATTER_POINTS);
    if points.len() == SCATTER_POINTS {
        points[SCATTER_POINTS - 1].0
    } else {
        u64::MAX
    }
}

/// A point's key for the kept sample: a hash of its attribute and value (splitmix64's finalizer
/// over both bit patterns: 64-bit multiplies only, cheap in wasm, the same bits everywhere).
fn scatter_key(x: f64, y: f64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(x.to_bits() ^ mix(y.to_bits().wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

impl Accumulator {
    fn new(edges: Vec<f64>, shift: f64, shared: bool) -> Self {
        let bins = edges.len() - 1;
        let bins_per_unit = bins as f64 / (edges[bins] - edges[0]);
        Accumulator {
            count: 0,
            shift: if shift.is_finite() { shift } else { 0.0 },
            sum: 0.0,
            sum_squares: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            clipped: 0,
            lo: edges[0],
            hi: edges[bins],
            edges,
            bins_per_unit,
            counts: vec![0; bins],
            underflow: 0,
            overflow: 0,
            shared,
            draws: 0,
            draw_counts: if shared { vec![0; bins] } else { Vec::new() },
            draw_underflow: 0,
            draw_overflow: 0,
            scatter: Vec::new(),
            scatter_cutoff: u64::MAX,
        }
    }

    /// Where `value` falls on the bins.
    #[inline]
    fn cell(&self, value: f64) -> Cell {
        if value < self.lo {
            Cell::Below
        } else if value > self.hi {
            Cell::Above
        } else {
            let last = self.counts.len() - 1;
            Cell::Bin((((value - self.lo) * self.bins_per_unit) as usize).min(last))
        }
    }

    /// Record one independent draw of a pathway whose draws serve whole connections.
    #[inline]
    fn add_draw(&mut self, value: f64) {
        self.draws += 1;
        match self.cell(value) {
            Cell::Below => self.draw_underflow += 1,
            Cell::Above => self.draw_overflow += 1,
            Cell::Bin(index) => self.draw_counts[index] += 1,
        }
    }

    /// The independent draws binned: (n, [below, bins…, above]).
    fn independent_draws(&self) -> (u64, Vec<u64>) {
        if self.shared {
            let cells = std::iter::once(self.draw_underflow)
                .chain(self.draw_counts.iter().copied())
                .chain([self.draw_overflow])
                .collect();
            (self.draws, cells)
        } else {
            let cells =
                std::iter::once(self.underflow).chain(self.counts.iter().copied()).chain([self.overflow]).collect();
            (self.count, cells)
        }
    }

    /// Record `n` copies of `value` (n > 1 for pathways whose spec is deterministic).
    #[inline]
    fn add(&mut self, value: f64, n: u64) {
        self.count += n;
        let centred = value - self.shift;
        self.sum += centred * n as f64;
        self.sum_squares += centred * centred * n as f64;
        // Comparisons, not f64::min/max: those become libm calls in wasm (NaN semantics differ).
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
        match self.cell(value) {
            Cell::Below => self.underflow += n,
            Cell::Above => self.overflow += n,
            Cell::Bin(index) => self.counts[index] += n,
        }
    }

    /// Record one value: [`Accumulator::add`] for `n = 1`, without the count's conversion to
    /// float and the multiplications by it (this runs once per drawn value).
    #[inline]
    fn add_one(&mut self, value: f64) {
        self.count += 1;
        let centred = value - self.shift;
        self.sum += centred;
        self.sum_squares += centred * centred;
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
        match self.cell(value) {
            Cell::Below => self.underflow += 1,
            Cell::Above => self.overflow += 1,
            Cell::Bin(index) => self.counts[index] += 1,
        }
    }

    fn mean(&self) -> f64 {
        self.shift + self.sum / self.count as f64
    }

    fn std(&self) -> f64 {
        let n = self.count as f64;
        let mean_centred = self.sum / n;
        libm::sqrt((self.sum_squares / n - mean_centred * mean_centred).max(0.0))
    }
}

/// What one accumulator has seen, for merging runs over other edges of the same model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccumulatorState {
    count: u64,
    sum: f64,
    sum_squares: f64,
    /// None before the first value (JSON has no infinities).
    min: Option<f64>,
    max: Option<f64>,
    clipped: u64,
    counts: Vec<u64>,
    underflow: u64,
    overflow: u64,
    #[serde(default)]
    draws: u64,
    #[serde(default)]
    draw_counts: Vec<u64>,
    #[serde(default)]
    draw_underflow: u64,
    #[serde(default)]
    draw_overflow: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scatter: Vec<(u64, f64, f64)>,
}

impl Accumulator {
    fn state(&self) -> AccumulatorState {
        AccumulatorState {
            count: self.count,
            sum: self.sum,
            sum_squares: self.sum_squares,
            min: self.min.is_finite().then_some(self.min),
            max: self.max.is_finite().then_some(self.max),
            clipped: self.clipped,
            counts: self.counts.clone(),
            underflow: self.underflow,
            overflow: self.overflow,
            draws: self.draws,
            draw_counts: self.draw_counts.clone(),
            draw_underflow: self.draw_underflow,
            draw_overflow: self.draw_overflow,
            scatter: self.scatter.clone(),
        }
    }

    fn merge(&mut self, other: &AccumulatorState) -> bool {
        if other.counts.len() != self.counts.len() || (self.shared && other.draw_counts.len() != self.draw_counts.len())
        {
            return false;
        }
        self.draws += other.draws;
        for (mine, theirs) in self.draw_counts.iter_mut().zip(&other.draw_counts) {
            *mine += theirs;
        }
        self.draw_underflow += other.draw_underflow;
        self.draw_overflow += other.draw_overflow;
        self.count += other.count;
        self.sum += other.sum;
        self.sum_squares += other.sum_squares;
        if let Some(min) = other.min.filter(|&m| m < self.min) {
            self.min = min;
        }
        if let Some(max) = other.max.filter(|&m| m > self.max) {
            self.max = max;
        }
        self.clipped += other.clipped;
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.underflow += other.underflow;
        self.overflow += other.overflow;
        if !other.scatter.is_empty() {
            self.scatter.extend_from_slice(&other.scatter);
            self.scatter_cutoff = prune_scatter(&mut self.scatter);
        }
        true
    }
}

/// Histogram of one property in one pathway, with the spec's expectation on the same bins.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Histogram {
    /// Bin edges (`counts.len() + 1` of them); bins are [e_i, e_i+1), the last one closed.
    pub edges: Vec<f64>,
    /// Observed counts per bin.
    pub counts: Vec<u64>,
    /// Expected counts per bin under the spec (after bounds and dtype), for the overlay.
    pub expected: Vec<f64>,
    /// Values below the first edge.
    pub underflow: u64,
    /// Values above the last edge.
    pub overflow: u64,
    /// Whether bins are one per integer (draw as bars).
    pub integer: bool,
}

/// Summary of one property in one pathway.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathwayStats {
    /// Source pathway value.
    pub source: String,
    /// Target pathway value.
    pub target: String,
    /// Distribution type of the spec.
    pub distribution: String,
    /// The spec as one readable line (law with its parameterization, bounds, dtype, sharing).
    pub formula: String,
    /// Whether one draw serves a whole connection: then the independent draws are the
    /// pathway's connections, not its synapses.
    pub shared_within: bool,
    /// Number of synapses.
    pub count: u64,
    /// Sample mean (null when empty).
    pub mean: Option<f64>,
    /// Sample standard deviation (population form; null when empty).
    pub std: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Share of values that a bound changed.
    pub clipped_share: Option<f64>,
    /// The spec's mean before bounds and dtype.
    pub theoretical_mean: f64,
    /// The spec's standard deviation before bounds and dtype.
    pub theoretical_std: f64,
    /// Whether the drawn values follow the spec: a χ² test on the independent draws (one per
    /// connection where draws are shared); null for deterministic specs and too few draws.
    pub goodness_of_fit: Option<GoodnessOfFit>,
    /// Histogram with expected counts.
    pub histogram: Histogram,
    /// The values the edges file held for this property before the run (when it had them and
    /// they were read), on the same bins: a before-and-after view.
    pub previous: Option<PreviousValues>,
    /// For a spec that reads a per-synapse attribute: values against that attribute (design
    /// §2.7). Left out of the JSON for other specs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scatter: Option<Scatter>,
}

/// A pathway's drawn values against the attribute its spec reads: up to [`SCATTER_POINTS`]
/// synapses, and the spec's mean as a function of the attribute.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scatter {
    /// The attribute (`distance_soma`, an edge dataset).
    pub attribute: String,
    /// `[attribute, value]` per kept synapse, by attribute.
    pub points: Vec<[f64; 2]>,
    /// `[attribute, mean]`: the spec's mean (before bounds and dtype) over the points' range.
    pub mean_line: Vec<[f64; 2]>,
}

/// The scatter view of a located spec's kept points, or None when there are none.
fn scatter_of(spec: &PathwaySpec, kept: &[(u64, f64, f64)]) -> Option<Scatter> {
    let attribute = match (&spec.attribute_law, &spec.scale_by) {
        (Some(law), _) => law.attribute().to_string(),
        (None, Some(scale)) => scale.attribute.clone(),
        (None, None) => return None,
    };
    if kept.is_empty() {
        return None;
    }
    let mut points: Vec<[f64; 2]> = kept.iter().map(|&(_, x, y)| [x, y]).collect();
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let (lo, hi) = (points[0][0].min(0.0), points[points.len() - 1][0]);
    let mean_at = |x: f64| {
        let base = spec.attribute_law.as_ref().map_or_else(|| spec.moments().0, |law| law.moments_at(x).0);
        match &spec.scale_by {
            Some(scale) if scale.attribute == attribute => base * scale.factor(x),
            _ => base,
        }
    };
    let mean_line = (0..MEAN_LINE_POINTS)
        .map(|k| {
            let x = lo + (hi - lo) * k as f64 / (MEAN_LINE_POINTS - 1) as f64;
            [x, mean_at(x)]
        })
        .collect();
    Some(Scatter { attribute, points, mean_line })
}

/// Values an edges file already held for a property in one pathway, binned like the new ones.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PreviousValues {
    /// Values (finite ones; others are left out).
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation (population form).
    pub std: f64,
    /// Counts on the histogram's bins.
    pub counts: Vec<u64>,
    /// Values below the first edge.
    pub underflow: u64,
    /// Values above the last edge.
    pub overflow: u64,
    /// The new mean over this one (null when this mean is 0 or either is not finite).
    pub mean_ratio: Option<f64>,
    /// Whether the new mean moved by more than [`MEAN_SHIFT_FACTOR`] either way from this one (or
    /// away from a mean of 0): a preset's or a recipe's value replacing a calibrated one, a unit
    /// mistake — what the run's warnings and the page's table point out.
    pub shifted: bool,
}

/// How far (a factor, either way) a pathway's new mean may move from the mean its edges file held
/// before the run without a warning.
pub const MEAN_SHIFT_FACTOR: f64 = 2.0;

impl PreviousValues {
    fn compare_with(mut self, new_mean: f64) -> Self {
        let ratio = (self.mean != 0.0 && self.mean.is_finite() && new_mean.is_finite()).then(|| new_mean / self.mean);
        self.shifted = match ratio {
            Some(r) => !(1.0 / MEAN_SHIFT_FACTOR..=MEAN_SHIFT_FACTOR).contains(&r),
            None => self.mean == 0.0 && new_mean.is_finite() && new_mean != 0.0,
        };
        self.mean_ratio = ratio;
        self
    }
}

/// A χ² goodness-of-fit test of independent draws against the spec's law (after bounds and
/// dtype), over the histogram's bins and its two tails merged until each expects at least five.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GoodnessOfFit {
    /// The test: "chi2".
    pub test: &'static str,
    /// Independent draws the test rests on (connections where one draw serves a connection).
    pub draws: u64,
    /// Pearson's χ² statistic.
    pub statistic: f64,
    /// Degrees of freedom: cells − 1 (no parameter is estimated from the data).
    pub degrees_of_freedom: u32,
    /// P(χ² ≥ statistic) under the spec: small values say the draws do not follow it.
    pub p_value: f64,
}

/// Fewest independent draws a fit is computed on.
const MIN_FIT_DRAWS: u64 = 20;

/// The χ² test of `observed` counts (cells: below the first edge, the bins, above the last)
/// against the spec's probabilities of the same cells; adjacent cells are merged until each
/// expects at least five. None when fewer than two cells remain or too few draws.
pub fn chi_square_fit(spec: &PathwaySpec, edges: &[f64], draws: u64, observed: &[u64]) -> Option<GoodnessOfFit> {
    // A law of each synapse's attributes has no single law to test the draws against.
    if draws < MIN_FIT_DRAWS || spec.distribution.is_deterministic() || spec.depends_on_attributes() {
        return None;
    }
    let inside = expected_counts(spec, edges, 1);
    let below = spec.stored_cdf(edges[0].next_down()).max(0.0);
    let above = (1.0 - below - inside.iter().sum::<f64>()).max(0.0);
    let probabilities: Vec<f64> = std::iter::once(below).chain(inside).chain([above]).collect();
    let n = draws as f64;
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let (mut o, mut e) = (0.0, 0.0);
    for (&count, &p) in observed.iter().zip(&probabilities) {
        o += count as f64;
        e += p * n;
        if e >= 5.0 {
            cells.push((o, e));
            (o, e) = (0.0, 0.0);
        }
    }
    if o > 0.0 || e > 0.0 {
        match cells.last_mut() {
            Some(last) => {
                last.0 += o;
                last.1 += e;
            }
            None => cells.push((o, e)),
        }
    }
    if cells.len() < 2 {
        return None;
    }
    let statistic: f64 = cells.iter().map(|&(o, e)| if e > 0.0 { (o - e) * (o - e) / e } else { 0.0 }).sum();
    let degrees_of_freedom = (cells.len() - 1) as u32;
    let p_value = crate::special_functions::regularized_gamma(f64::from(degrees_of_freedom) / 2.0, statistic / 2.0).1;
    Some(GoodnessOfFit { test: "chi2", draws, statistic, degrees_of_freedom, p_value })
}

/// Summary of one property across pathways.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PropertyStats {
    /// Property name.
    pub property: String,
    /// Stored column type.
    pub column_type: String,
    /// One entry per pathway with at least one synapse.
    pub pathways: Vec<PathwayStats>,
}

/// Add one chunk's (attribute, value) pairs to the pathways' kept points (finite attributes only).
fn add_scatter(accumulators: &mut [Accumulator], pathways: &[u32], attribute: &[f64], values: &[f64]) {
    for ((&pathway, &x), &y) in pathways.iter().zip(attribute).zip(values) {
        if x.is_finite() && y.is_finite() {
            let key = scatter_key(x, y);
            let accumulator = &mut accumulators[pathway as usize];
            if key > accumulator.scatter_cutoff {
                continue;
            }
            accumulator.scatter.push((key, x, y));
            if accumulator.scatter.len() >= 2 * SCATTER_POINTS {
                accumulator.scatter_cutoff = prune_scatter(&mut accumulator.scatter);
            }
        }
    }
}

/// Collects statistics over any number of chunks (of any edge populations of one model).
#[derive(Debug, Clone)]
pub struct StatsCollector {
    /// [property][pathway]
    accumulators: Vec<Vec<Accumulator>>,
    /// [property][pathway]: the stored value when the spec is deterministic (added in bulk).
    constants: Vec<Vec<Option<f64>>>,
}

fn integer_valued(spec: &PathwaySpec) -> bool {
    let bounds_integral = [spec.lower_bound, spec.upper_bound].iter().flatten().all(|b| b.fract() == 0.0);
    spec.dtype.and_then(|d| d.int_type()).is_some() || (spec.distribution.is_integer_valued() && bounds_integral)
}

/// The stored value at probability `u` (quantile through bounds and dtype, both monotone).
fn stored_quantile(spec: &PathwaySpec, u: f64) -> f64 {
    let raw = spec.distribution.quantile(u, 1.0 - u);
    spec.finalize(raw).map(|f| f.value).unwrap_or(raw)
}

/// Bin edges for a spec.
pub fn bin_edges(spec: &PathwaySpec) -> Vec<f64> {
    let lo = stored_quantile(spec, RANGE_PROBABILITY);
    let hi = stored_quantile(spec, 1.0 - RANGE_PROBABILITY);
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    if integer_valued(spec) && hi - lo < MAX_INTEGER_BINS as f64 {
        let (first, last) = (libm::floor(lo), libm::ceil(hi));
        return (0..=(last - first) as usize + 1).map(|k| first + k as f64 - 0.5).collect();
    }
    if hi <= lo {
        let half_width = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        return vec![lo - half_width, lo + half_width];
    }
    (0..=CONTINUOUS_BINS).map(|k| lo + (hi - lo) * k as f64 / CONTINUOUS_BINS as f64).collect()
}

/// Expected counts of `n` stored values on `edges`.
pub fn expected_counts(spec: &PathwaySpec, edges: &[f64], n: u64) -> Vec<f64> {
    if spec.depends_on_attributes() {
        // The marginal is a mixture over the synapses' attributes, unknown before the run.
        return vec![0.0; edges.len().saturating_sub(1)];
    }
    let cdf_at: Vec<f64> = edges
        .iter()
        .enumerate()
        .map(|(i, &e)| if i == 0 { spec.stored_cdf(e.next_down()) } else { spec.stored_cdf(e) })
        .collect();
    cdf_at.windows(2).map(|w| (w[1] - w[0]).max(0.0) * n as f64).collect()
}

fn distribution_name(spec: &PathwaySpec) -> &'static str {
    spec_law_name(spec)
}

fn law_name(distribution: &crate::distributions::Distribution) -> &'static str {
    use crate::distributions::Distribution::*;
    match distribution {
        Constant { .. } => "constant",
        Zero => "zero",
        Normal { .. } => "normal",
        TruncatedNormal(_) => "truncnorm",
        Gamma { .. } => "gamma",
        Poisson { shift, .. } if *shift != 0.0 => "fz_nrrp",
        Poisson { .. } => "poisson",
        ZeroTruncatedPoisson { .. } => "ztpoisson",
        Discrete { .. } => "discrete",
        LogNormal { .. } => "lognormal",
        Exponential { .. } => "exponential",
        Uniform { .. } => "uniform",
        Transformed(t) => law_name(&t.inner),
    }
}

fn spec_law_name(spec: &PathwaySpec) -> &'static str {
    if spec.by_synapse.is_some() {
        return crate::config::BY_SYNAPSE;
    }
    if spec.empirical.is_some() {
        return crate::config::EMPIRICAL;
    }
    match &spec.attribute_law {
        Some(crate::attributes::AttributeLaw::LinDelay { .. }) => "lin_delay",
        Some(crate::attributes::AttributeLaw::FzDelay { .. }) => "fz_delay",
        None => law_name(&spec.distribution),
    }
}

impl StatsCollector {
    /// An empty collector for `model`.
    pub fn new(model: &Model) -> Self {
        let accumulators = model
            .properties
            .iter()
            .map(|p| {
                p.pathways
                    .iter()
                    .map(|spec| Accumulator::new(bin_edges(spec), spec.moments().0, spec.shared_within))
                    .collect()
            })
            .collect();
        let constants = model
            .properties
            .iter()
            .map(|p| {
                p.pathways
                    .iter()
                    .map(|spec| {
                        let deterministic = spec.distribution.is_deterministic() && !spec.depends_on_attributes();
                        deterministic.then(|| stored_quantile(spec, 0.5))
                    })
                    .collect()
            })
            .collect();
        StatsCollector { accumulators, constants }
    }

    /// Add one chunk's values.
    pub fn add(&mut self, result: &ChunkResult) {
        let mut per_pathway = vec![0u64; self.accumulators.first().map_or(0, Vec::len)];
        for &pathway in &result.pathways {
            per_pathway[pathway as usize] += 1;
        }
        for (property, values) in result.properties.iter().enumerate() {
            let accumulators = &mut self.accumulators[property];
            let constants = &self.constants[property];
            for (pathway, constant) in constants.iter().enumerate() {
                if let Some(value) = constant {
                    if per_pathway[pathway] > 0 {
                        accumulators[pathway].add(*value, per_pathway[pathway]);
                    }
                }
            }
            for (pathway, &clipped) in values.clipped.iter().enumerate() {
                accumulators[pathway].clipped += clipped;
            }
            if constants.iter().all(Option::is_some) {
                continue;
            }
            if let Some(attribute) = &values.attribute {
                add_scatter(accumulators, &result.pathways, attribute, &values.values);
            }
            for ((&pathway, &value), &start) in
                result.pathways.iter().zip(&values.values).zip(&result.connection_starts)
            {
                if constants[pathway as usize].is_none() {
                    let accumulator = &mut accumulators[pathway as usize];
                    accumulator.add_one(value);
                    if accumulator.shared && start {
                        accumulator.add_draw(value);
                    }
                }
            }
        }
    }

    /// What the collector has seen ([property][pathway]), for [`StatsCollector::merge`].
    pub fn state(&self) -> Vec<Vec<AccumulatorState>> {
        self.accumulators.iter().map(|pathways| pathways.iter().map(Accumulator::state).collect()).collect()
    }

    /// Add what another collector of the same model saw (other edges: counts and histograms add
    /// exactly; sums too, up to the last bits of the floating-point mean and std). Returns false
    /// (and changes nothing) when the state is not of this model's shape.
    pub fn merge(&mut self, state: &[Vec<AccumulatorState>]) -> bool {
        let fits = state.len() == self.accumulators.len()
            && state.iter().zip(&self.accumulators).all(|(theirs, mine)| {
                theirs.len() == mine.len() && theirs.iter().zip(mine).all(|(t, m)| t.counts.len() == m.counts.len())
            });
        if !fits {
            return false;
        }
        for (mine, theirs) in self.accumulators.iter_mut().zip(state) {
            for (accumulator, other) in mine.iter_mut().zip(theirs) {
                accumulator.merge(other);
            }
        }
        true
    }

    /// Add values of property `property` (its index in the model) in the given pathways, e.g.
    /// those an edges file held before a run (non-finite values are left out).
    pub fn add_values(&mut self, property: usize, pathways: &[u32], values: &[f64]) {
        let accumulators = &mut self.accumulators[property];
        for (&pathway, &value) in pathways.iter().zip(values) {
            if value.is_finite() {
                accumulators[pathway as usize].add_one(value);
            }
        }
    }

    fn previous_of(&self, property: usize, pathway: usize) -> Option<PreviousValues> {
        let a = &self.accumulators[property][pathway];
        (a.count > 0).then(|| PreviousValues {
            count: a.count,
            mean: a.mean(),
            std: a.std(),
            counts: a.counts.clone(),
            underflow: a.underflow,
            overflow: a.overflow,
            mean_ratio: None,
            shifted: false,
        })
    }

    /// The summary so far.
    pub fn summary(&self, model: &Model) -> Vec<PropertyStats> {
        self.summary_with(model, None)
    }

    /// The summary so far, with the values held before the run (`previous`, a collector of the
    /// same model fed by [`StatsCollector::add_values`]) beside each pathway's new ones.
    pub fn summary_with(&self, model: &Model, previous: Option<&StatsCollector>) -> Vec<PropertyStats> {
        model
            .properties
            .iter()
            .zip(&self.accumulators)
            .enumerate()
            .map(|(index, (property, accumulators))| PropertyStats {
                property: property.name.clone(),
                column_type: property.column_type.name().to_string(),
                pathways: accumulators
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.count > 0)
                    .map(|(pathway, a)| {
                        let spec = &property.pathways[pathway];
                        let (source, target) = model.pathway_names(pathway);
                        // NaN (null in JSON) where the law depends on each synapse's attributes.
                        let (theoretical_mean, theoretical_std) =
                            if spec.depends_on_attributes() { (f64::NAN, f64::NAN) } else { spec.moments() };
                        PathwayStats {
                            source: source.to_string(),
                            target: target.to_string(),
                            distribution: distribution_name(spec).to_string(),
                            formula: spec.formula(),
                            shared_within: spec.shared_within,
                            count: a.count,
                            mean: Some(a.mean()),
                            std: Some(a.std()),
                            min: Some(a.min),
                            max: Some(a.max),
                            clipped_share: Some(a.clipped as f64 / a.count as f64),
                            theoretical_mean,
                            theoretical_std,
                            goodness_of_fit: {
                                let (draws, observed) = a.independent_draws();
                                chi_square_fit(spec, &a.edges, draws, &observed)
                            },
                            histogram: Histogram {
                                expected: expected_counts(spec, &a.edges, a.count),
                                edges: a.edges.clone(),
                                counts: a.counts.clone(),
                                underflow: a.underflow,
                                overflow: a.overflow,
                                integer: integer_valued(spec) && a.edges[1] - a.edges[0] == 1.0,
                            },
                            previous: previous
                                .and_then(|p| p.previous_of(index, pathway))
                                .map(|before| before.compare_with(a.mean())),
                            scatter: {
                                let mut kept = a.scatter.clone();
                                prune_scatter(&mut kept);
                                scatter_of(spec, &kept)
                            },
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A spec's density (or mass) sampled at `points` between its quantile range, for the editor's
/// live preview: `(x, density)` pairs.
pub fn density_preview(spec: &PathwaySpec, points: usize) -> Vec<(f64, f64)> {
    let edges = bin_edges(spec);
    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    if spec.distribution.is_discrete() || integer_valued(spec) {
        let expected = expected_counts(spec, &edges, 1);
        return edges.windows(2).zip(expected).map(|(w, p)| (0.5 * (w[0] + w[1]), p)).collect();
    }
    let points = points.max(2);
    (0..points)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / (points - 1) as f64;
            (x, spec.distribution.density(x))
        })
        .collect()
}

/// Properties of BBP's synapse models (ProbAMPANMDA_EMS, ProbGABAAB_EMS) with the range their
/// values have in nature: outside it a value can be drawn (a law's tail, a `scale_by`, a shift)
/// but is almost surely a mistake, so a run says so. `(property, lowest, highest)`.
pub const PHYSIOLOGICAL_RANGES: [(&str, f64, f64); 9] = [
    ("conductance", 0.0, f64::INFINITY),
    ("delay", 0.0, f64::INFINITY),
    ("u_syn", 0.0, 1.0),
    ("depression_time", 0.0, f64::INFINITY),
    ("facilitation_time", 0.0, f64::INFINITY),
    ("decay_time", 0.0, f64::INFINITY),
    ("n_rrp_vesicles", 1.0, f64::INFINITY),
    ("conductance_scale_factor", 0.0, f64::INFINITY),
    ("u_hill_coefficient", 0.0, f64::INFINITY),
];

/// `x` to 4 significant digits, trailing zeros dropped (a mean in a message).
fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{}", Num(x));
    }
    let decimals = (3 - libm::floor(libm::log10(x.abs())) as i32).clamp(0, 17) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// How far a shifted pathway's mean moved (|ln ratio|; infinite away from 0).
fn shift_size(p: &PathwayStats) -> f64 {
    p.previous.as_ref().and_then(|b| b.mean_ratio).map_or(f64::INFINITY, |r| r.abs().ln().abs())
}

/// What a run's statistics of edge population `population` call for, one line per pathway: the
/// share of values clipped by bounds, and values beyond a property's physiological range (with
/// the range); one line per property whose means moved far from the values the file held. The
/// one text every host prints.
pub fn run_warnings(population: &str, statistics: &[PropertyStats]) -> Vec<String> {
    let mut warnings = Vec::new();
    for property in statistics {
        let compared: Vec<&PathwayStats> = property.pathways.iter().filter(|p| p.previous.is_some()).collect();
        let shifted: Vec<&PathwayStats> =
            compared.iter().copied().filter(|p| p.previous.as_ref().is_some_and(|b| b.shifted)).collect();
        if let Some(example) = shifted.iter().max_by(|a, b| shift_size(a).total_cmp(&shift_size(b))) {
            let before = example.previous.as_ref().expect("compared");
            warnings.push(format!(
                "{population}: {} — the mean of {} of {} pathways moved more than {MEAN_SHIFT_FACTOR}× from the values the file held (most: {} → {}, {} → {}); check the model's units or calibration",
                property.property,
                shifted.len(),
                compared.len(),
                example.source,
                example.target,
                significant(before.mean),
                significant(example.mean.unwrap_or(f64::NAN)),
            ));
        }
        let range = PHYSIOLOGICAL_RANGES.iter().find(|(name, _, _)| *name == property.property);
        for p in &property.pathways {
            let at = format!("{population}: {} {} → {}", property.property, p.source, p.target);
            if let Some(share) = p.clipped_share.filter(|share| *share > 0.0) {
                warnings.push(format!("{at}: {:.2} % of values clipped by bounds", 100.0 * share));
            }
            if let (Some(&(_, low, high)), Some(min), Some(max)) = (range, p.min, p.max) {
                let range_text = if high.is_finite() { format!("[{low}, {high}]") } else { format!("≥ {low}") };
                if min < low {
                    warnings.push(format!(
                        "{at}: values down to {} — {} is {range_text} in nature; check the law or its bounds",
                        Num(min),
                        property.property
                    ));
                }
                if max > high {
                    warnings.push(format!(
                        "{at}: values up to {} — {} is {range_text} in nature; check the law or its bounds",
                        Num(max),
                        property.property
                    ));
                }
            }
        }
    }
    warnings
}
