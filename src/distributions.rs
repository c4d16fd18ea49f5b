//! The distributions of `ConnPropsModel` (design §2.2): exact samplers, quantiles (for the
//! Gaussian copula), CDFs (for histogram overlays) and moments (for the summary table).
//!
//! Samplers take a [`rand_core::RngCore`] so that the engine can hand each value its own keyed
//! stream. All transcendental maths goes through `libm` (see `special_functions`).

use rand_core::RngCore;

use crate::error::Num;

use crate::special_functions::{
    gamma_pdf, gamma_quantile, ln_gamma, normal_cdf, normal_pdf, normal_quantile, normal_sf, poisson_cdf_sf,
    poisson_pmf, poisson_quantile, regularized_gamma,
};

/// Standardized truncation windows whose lower edge lies further out than this are sampled by
/// Robert's exponential rejection instead of the inverse survival function, whose tail
/// probabilities would underflow beyond about 37 σ.
const TAIL_REJECTION_THRESHOLD: f64 = 30.0;

/// Below this mean Poisson draws use inversion; above it, Hörmann's PTRS rejection.
const POISSON_INVERSION_LIMIT: f64 = 10.0;

/// A fully validated distribution with its derived parameters precomputed. Field names are the
/// spec keys of design §2.2 (`shape`/`scale`/`lambda`/`cumulative` are derived from them).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Always `value`.
    Constant { value: f64 },
    /// Always 0.0 (ConnPropsModel's `zero`, for unused parameters).
    Zero,
    /// N(mean, std²).
    Normal { mean: f64, std: f64 },
    /// Normal(loc, scale) restricted to [min, max]; `scale == 0` degenerates to clip(loc).
    TruncatedNormal(TruncatedNormal),
    /// Gamma with the given mean and standard deviation; `std == 0` degenerates to `mean`.
    Gamma { mean: f64, std: f64, shape: f64, scale: f64, sampler: GammaSampler },
    /// Poisson with rate `mean`, plus `shift` (0 for `poisson`; 1 for functionalizer's `fz_nrrp`,
    /// 1 + Poisson(k − 1)).
    Poisson { mean: f64, shift: f64 },
    /// Zero-truncated Poisson whose own mean is `mean` (its rate `lambda` solved from it).
    ZeroTruncatedPoisson { mean: f64, lambda: f64 },
    /// `values[i]` with probability `p[i]`.
    Discrete { values: Vec<f64>, probabilities: Vec<f64>, cumulative: Vec<f64> },
    /// exp(N(mean, sigma²)) as numpy's `lognormal(mean, sigma)`.
    LogNormal { mean: f64, sigma: f64 },
    /// Exponential with the given scale (= mean), as numpy's `exponential(scale)`.
    Exponential { scale: f64 },
    /// Uniform on [low, high), as numpy's `uniform(low, high)`.
    Uniform { low: f64, high: f64 },
    /// Another law shifted by a constant and/or truncated to a window (spec keys `shift`,
    /// `truncate`): obi-one's distributions with their intended meaning.
    Transformed(Box<Transformed>),
}

/// Truncated normal parameters, standardized once.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncatedNormal {
    /// Location of the underlying normal.
    pub loc: f64,
    /// Scale of the underlying normal (0 allowed: a point mass at clip(loc, min, max)).
    pub scale: f64,
    /// Lower edge of the window.
    pub min: f64,
    /// Upper edge of the window.
    pub max: f64,
    alpha: f64,
    beta: f64,
    /// Which inverse to use, chosen by where the window lies.
    region: TruncationRegion,
    /// Tail masses of the window edges on the side the region works in.
    mass_lo: f64,
    mass_hi: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TruncationRegion {
    /// Window straddles the mean: invert the CDF.
    Central,
    /// Window right of the mean: invert the survival function.
    Upper,
    /// Window left of the mean: mirrored upper case.
    Lower,
    /// Window beyond `TAIL_REJECTION_THRESHOLD` σ right of the mean.
    FarUpper,
    /// Mirror of `FarUpper`.
    FarLower,
    /// Zero scale or empty window: a point mass.
    Point,
}

impl TruncatedNormal {
    /// Standardize the window; `min <= max` and `scale >= 0` must already hold.
    pub fn new(loc: f64, scale: f64, min: f64, max: f64) -> Self {
        let (alpha, beta) = if scale > 0.0 { ((min - loc) / scale, (max - loc) / scale) } else { (0.0, 0.0) };
        let region = if scale == 0.0 || min == max {
            TruncationRegion::Point
        } else if alpha >= TAIL_REJECTION_THRESHOLD {
            TruncationRegion::FarUpper
        } else if beta <= -TAIL_REJECTION_THRESHOLD {
            TruncationRegion::FarLower
        } else if alpha >= 0.0 {
            TruncationRegion::Upper
        } else if beta <= 0.0 {
            TruncationRegion::Lower
        } else {
            TruncationRegion::Central
        };
        let (mass_lo, mass_hi) = match region {
            TruncationRegion::Central => (normal_cdf(alpha), normal_cdf(beta)),
            TruncationRegion::Upper => (normal_sf(alpha), normal_sf(beta)),
            TruncationRegion::Lower => (normal_cdf(alpha), normal_cdf(beta)),
            _ => (0.0, 0.0),
        };
        TruncatedNormal { loc, scale, min, max, alpha, beta, region, mass_lo, mass_hi }
    }

    fn point(&self) -> f64 {
        self.loc.clamp(self.min, self.max)
    }

    /// Standardized quantile for uniform `u` with `v = 1 − u` (both given for tail precision).
    fn standard_quantile(&self, u: f64, v: f64) -> f64 {
        let z = match self.region {
            TruncationRegion::Central => normal_quantile(self.mass_lo + u * (self.mass_hi - self.mass_lo)),
            // sf(z) runs from mass_lo (at alpha) down to mass_hi (at beta).
            TruncationRegion::Upper => -normal_quantile(self.mass_hi + v * (self.mass_lo - self.mass_hi)),
            TruncationRegion::Lower => normal_quantile(self.mass_lo + u * (self.mass_hi - self.mass_lo)),
            // Beyond 30 σ the window's law is the truncated exponential to within O(1/α²) of
            // the offset; only the copula (which needs a quantile) uses this approximation.
            TruncationRegion::FarUpper => {
                self.alpha + truncated_exponential_quantile(self.alpha, self.beta - self.alpha, u)
            }
            TruncationRegion::FarLower => {
                -(-self.beta + truncated_exponential_quantile(-self.beta, self.beta - self.alpha, v))
            }
            TruncationRegion::Point => return 0.0,
        };
        z.clamp(self.alpha, self.beta)
    }

    /// Draw one value from the truncated law (the sampler every `truncnorm` spec uses).
    #[inline]
    pub fn sample_law<R: RngCore>(&self, rng: &mut R) -> f64 {
        self.sample(rng)
    }

    /// Mean and standard deviation of the truncated law.
    pub fn law_moments(&self) -> (f64, f64) {
        self.moments()
    }

    fn quantile(&self, u: f64, v: f64) -> f64 {
        if self.region == TruncationRegion::Point {
            return self.point();
        }
        (self.loc + self.scale * self.standard_quantile(u, v)).clamp(self.min, self.max)
    }

    fn sample<R: RngCore>(&self, rng: &mut R) -> f64 {
        let z = match self.region {
            TruncationRegion::Point => return self.point(),
            TruncationRegion::FarUpper => robert_tail(rng, self.alpha, self.beta),
            TruncationRegion::FarLower => -robert_tail(rng, -self.beta, -self.alpha),
            _ => {
                let u = open_unit(rng);
                self.standard_quantile(u, 1.0 - u)
            }
        };
        (self.loc + self.scale * z).clamp(self.min, self.max)
    }

    fn cdf(&self, x: f64) -> f64 {
        if x < self.min {
            return 0.0;
        }
        if x >= self.max {
            return 1.0;
        }
        if self.region == TruncationRegion::Point {
            return if x >= self.point() { 1.0 } else { 0.0 };
        }
        let z = (x - self.loc) / self.scale;
        match self.region {
            TruncationRegion::Upper => (self.mass_lo - normal_sf(z)) / (self.mass_lo - self.mass_hi),
            TruncationRegion::Central | TruncationRegion::Lower => {
                (normal_cdf(z) - self.mass_lo) / (self.mass_hi - self.mass_lo)
            }
            TruncationRegion::FarUpper => {
                let width = self.beta - self.alpha;
                -libm::expm1(-self.alpha * (z - self.alpha)) / -libm::expm1(-self.alpha * width)
            }
            TruncationRegion::FarLower => {
                let width = self.beta - self.alpha;
                1.0 - (-libm::expm1(-(-self.beta) * (self.beta - z)) / -libm::expm1(self.beta * width))
            }
            TruncationRegion::Point => unreachable!("handled above"),
        }
    }

    /// Mean and standard deviation of the truncated law.
    fn moments(&self) -> (f64, f64) {
        if self.region == TruncationRegion::Point {
            return (self.point(), 0.0);
        }
        let (a, b) = (self.alpha, self.beta);
        let mass = match self.region {
            TruncationRegion::Upper => self.mass_lo - self.mass_hi,
            TruncationRegion::Central | TruncationRegion::Lower => self.mass_hi - self.mass_lo,
            _ => 0.0,
        };
        if mass <= 0.0 || !mass.is_finite() {
            // Far tails: the truncated-exponential approximation's moments.
            let edge = if self.region == TruncationRegion::FarUpper { a } else { -b };
            let m = 1.0 / edge;
            let sign = if self.region == TruncationRegion::FarUpper { 1.0 } else { -1.0 };
            return (self.loc + self.scale * sign * (edge + m), self.scale * m);
        }
        let pa = if a.is_finite() { normal_pdf(a) } else { 0.0 };
        let pb = if b.is_finite() { normal_pdf(b) } else { 0.0 };
        let a_pa = if a.is_finite() { a * pa } else { 0.0 };
        let b_pb = if b.is_finite() { b * pb } else { 0.0 };
        let mean_z = (pa - pb) / mass;
        let var_z = 1.0 + (a_pa - b_pb) / mass - mean_z * mean_z;
        (self.loc + self.scale * mean_z, self.scale * libm::sqrt(var_z.max(0.0)))
    }
}

/// Quantile of an exponential with rate `rate` truncated to [0, width].
fn truncated_exponential_quantile(rate: f64, width: f64, u: f64) -> f64 {
    let mass = -libm::expm1(-rate * width);
    -libm::log1p(-u * mass) / rate
}

/// Robert (1995): exact draw from N(0,1) restricted to [alpha, beta] with alpha > 0 large, by
/// proposing alpha + Exp(alpha) (truncated to the window) and accepting with exp(−(x−alpha)²/2).
fn robert_tail<R: RngCore>(rng: &mut R, alpha: f64, beta: f64) -> f64 {
    loop {
        let offset = truncated_exponential_quantile(alpha, beta - alpha, open_unit(rng));
        if open_unit(rng) <= libm::exp(-0.5 * offset * offset) {
            return (alpha + offset).min(beta);
        }
    }
}

/// A uniform draw on the open interval (0, 1) from 53 random bits.
#[inline(always)]
pub fn open_unit<R: RngCore>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as i64 as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw on [0, 1) from 53 random bits.
#[inline(always)]
fn half_open_unit<R: RngCore>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as i64 as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Layers of the ziggurat (Doornik 2005, "An improved ziggurat method to generate normal random
/// samples"): 128 boxes, right edge `ZIGGURAT_R`, common area `ZIGGURAT_V`.
const ZIGGURAT_LAYERS: usize = 128;
const ZIGGURAT_R: f64 = 3.442_619_855_899;

/// Box edges of the ziggurat, `x[0]` the base strip's equivalent width and `x[128] = 0`. Written
/// out rather than computed at first use, so that the draw loop reads a constant table instead of
/// calling a lazy initializer for every normal (which wasm does not inline); `ziggurat_edges`
/// below recomputes them with `libm`, and a test holds the two to the bit.
#[rustfmt::skip]
const ZIGGURAT_X: [f64; ZIGGURAT_LAYERS + 1] = [
    3.7130862467425505,
    3.442619855899,
    3.2230849845811416,
    3.0832288582168683,
    2.9786962526477803,
    2.894344007021529,
    2.8231253505489105,
    2.761169372387177,
    2.7061135731218195,
    2.6564064112613597,
    2.6109722484318474,
    2.569033625924938,
    2.5300096723888275,
    2.493454522095372,
    2.4590181774118305,
    2.42642064553375,
    2.3954342780110625,
    2.3658713701176386,
    2.3375752413392368,
    2.310413683698763,
    2.2842740596774718,
    2.2590595738691985,
    2.2346863955909795,
    2.2110814088787034,
    2.188180432076049,
    2.165926793748922,
    2.1442701823603953,
    2.1231657086739766,
    2.1025731351892385,
    2.082456237992017,
    2.0627822745083084,
    2.0435215366550676,
    2.0246469733773855,
    2.006133869963472,
    1.98795957412762,
    1.9701032608543265,
    1.9525457295535567,
    1.9352692282966228,
    1.9182573008645099,
    1.901494653105151,
    1.884967035707759,
    1.8686611409944884,
    1.852564511728091,
    1.8366654602584458,
    1.8209529965961253,
    1.8054167642192283,
    1.7900469825998584,
    1.7748343955860693,
    1.7597702248995934,
    1.7448461281138004,
    1.7300541605637305,
    1.7153867407136676,
    1.7008366185699169,
    1.6863968467791681,
    1.672060754097601,
    1.6578219209540241,
    1.6436741568628686,
    1.6296114794706347,
    1.615628095043161,
    1.6017183802213781,
    1.5878768648905761,
    1.5740982160230008,
    1.560377222366169,
    1.5467087798599104,
    1.5330878776740433,
    1.5195095847659401,
    1.5059690368632033,
    1.492461423781354,
    1.4789819769899242,
    1.4655259573427108,
    1.4520886428892246,
    1.4386653166845633,
    1.42525125451406,
    1.4118417124470577,
    1.3984319141310053,
    1.3850170377326518,
    1.3715922024273426,
    1.3581524543301435,
    1.344692751753547,
    1.3312079496656273,
    1.317692783209414,
    1.3041418501286168,
    1.2905495919261967,
    1.2769102735601556,
    1.263217961454621,
    1.2494664995730684,
    1.2356494832633627,
    1.2217602305399964,
    1.2077917504159497,
    1.1937367078331287,
    1.1795873846639882,
    1.1653356361647524,
    1.1509728421488674,
    1.1364898520131608,
    1.1218769225825422,
    1.107123647534036,
    1.0922188769072774,
    1.0771506248928957,
    1.0619059636948243,
    1.0464709007640454,
    1.0308302360681956,
    1.0149673952513303,
    0.9988642334929834,
    0.9825008035154289,
    0.9658550794011498,
    0.9489026255113062,
    0.9316161966151506,
    0.913965251023032,
    0.8959153525809375,
    0.8774274291129233,
    0.858456843193813,
    0.8389522142975772,
    0.8188539067003571,
    0.7980920606440567,
    0.7765839878947595,
    0.7542306644540553,
    0.7309119106424885,
    0.706479611335436,
    0.6807479186691542,
    0.6534786387399748,
    0.6243585973360503,
    0.5929629424714479,
    0.5586921784081847,
    0.5206560387620601,
    0.4774378372966893,
    0.4265479863554229,
    0.3628714310970313,
    0.27232086481396384,
    0.0,
];

/// Acceptance ratios `x[i+1] / x[i]` of the boxes (IEEE division, the same at compile time).
const ZIGGURAT_RATIO: [f64; ZIGGURAT_LAYERS] = {
    let mut ratio = [0.0; ZIGGURAT_LAYERS];
    let mut i = 0;
    while i < ZIGGURAT_LAYERS {
        ratio[i] = ZIGGURAT_X[i + 1] / ZIGGURAT_X[i];
        i += 1;
    }
    ratio
};

/// A standard normal draw by Doornik's exact ziggurat: one 64-bit word in the common case
/// (7 bits pick the box, 53 bits the position), exponentials only in wedges and the tail.
#[inline(always)]
pub fn standard_normal<R: RngCore>(rng: &mut R) -> f64 {
    loop {
        let bits = rng.next_u64();
        let layer = (bits & (ZIGGURAT_LAYERS as u64 - 1)) as usize;
        let u = ((bits >> 11) as i64 as f64 + 0.5) * (1.0 / (1u64 << 52) as f64) - 1.0;
        if u.abs() < ZIGGURAT_RATIO[layer] {
            return u * ZIGGURAT_X[layer];
        }
        if layer == 0 {
            // Marsaglia's tail beyond R.
            loop {
                let x = libm::log(open_unit(rng)) / ZIGGURAT_R;
                let y = libm::log(open_unit(rng));
                if -2.0 * y >= x * x {
                    return if u < 0.0 { x - ZIGGURAT_R } else { ZIGGURAT_R - x };
                }
            }
        }
        let x = u * ZIGGURAT_X[layer];
        let f0 = libm::exp(-0.5 * (ZIGGURAT_X[layer] * ZIGGURAT_X[layer] - x * x));
        let f1 = libm::exp(-0.5 * (ZIGGURAT_X[layer + 1] * ZIGGURAT_X[layer + 1] - x * x));
        if f1 + open_unit(rng) * (f0 - f1) < 1.0 {
            return x;
        }
    }
}

/// Constants of Marsaglia & Tsang's gamma sampler, computed once per spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaSampler {
    shape: f64,
    /// `max(shape, shape + 1) − 1/3`: shapes below 1 are drawn at shape + 1 and boosted.
    d: f64,
    /// `1 / √(9d)`.
    c: f64,
}

impl GammaSampler {
    fn new(shape: f64) -> Self {
        let d = if shape < 1.0 { shape + 1.0 } else { shape } - 1.0 / 3.0;
        GammaSampler { shape, d, c: 1.0 / libm::sqrt(9.0 * d) }
    }
}

/// Marsaglia & Tsang (2000) for shape ≥ 1, with the `U^(1/shape)` boost below 1.
#[inline(always)]
fn standard_gamma<R: RngCore>(rng: &mut R, sampler: &GammaSampler) -> f64 {
    let GammaSampler { shape, d, c } = *sampler;
    let value = loop {
        let x = standard_normal(rng);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = open_unit(rng);
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 {
            break d * v;
        }
        if libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v)) {
            break d * v;
        }
    };
    if shape < 1.0 {
        value * libm::pow(open_unit(rng), 1.0 / shape)
    } else {
        value
    }
}

/// Poisson draw: inversion for small means, PTRS (Hörmann 1993, as in numpy) for large ones.
fn poisson_draw<R: RngCore>(rng: &mut R, mean: f64) -> f64 {
    if mean == 0.0 {
        return 0.0;
    }
    if mean < POISSON_INVERSION_LIMIT {
        let u = open_unit(rng);
        let mut k = 0.0;
        let mut pmf = libm::exp(-mean);
        let mut cdf = pmf;
        while u > cdf && pmf > 0.0 {
            k += 1.0;
            pmf *= mean / k;
            cdf += pmf;
        }
        return k;
    }
    let slam = libm::sqrt(mean);
    let loglam = libm::log(mean);
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = open_unit(rng) - 0.5;
        let v = open_unit(rng);
        let us = 0.5 - u.abs();
        let k = libm::floor((2.0 * a / us + b) * u + mean + 0.43);
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if libm::log(v) + libm::log(inv_alpha) - libm::log(a / (us * us) + b) <= -mean + k * loglam - ln_gamma(k + 1.0)
        {
            return k;
        }
    }
}

/// Solve λ / (1 − e^−λ) = mean for the zero-truncated Poisson rate (mean ≥ 1).
pub fn ztpoisson_lambda(mean: f64) -> f64 {
    if mean <= 1.0 {
        return 0.0;
    }
    // g(λ) = λ + mean·expm1(−λ) is negative just above 0 and positive at λ = mean.
    let (mut lo, mut hi) = (0.0_f64, mean);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if mid + mean * libm::expm1(-mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn ztpoisson_quantile(lambda: f64, u: f64) -> f64 {
    if lambda == 0.0 {
        return 1.0;
    }
    // Invert (cdf(k) − e^−λ) / (1 − e^−λ) by sequential search from k = 1.
    let norm = -libm::expm1(-lambda);
    let target = u * norm;
    let mut k = 1.0;
    let mut pmf = lambda * libm::exp(-lambda);
    let mut cum = pmf;
    while cum < target && pmf > 0.0 {
        k += 1.0;
        pmf *= lambda / k;
        cum += pmf;
    }
    if pmf == 0.0 && cum < target {
        // The running sum lost precision far past the mode: finish with the exact quantile.
        return poisson_quantile(lambda, 1.0 - (1.0 - u) * norm, (1.0 - u) * norm).max(1.0);
    }
    k
}

/// A law shifted by a constant and/or truncated to a window: conditioned on the window (drawn by
/// inverse CDF within it), never clipped to it, so no value piles up on a bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    /// The law before the shift.
    pub inner: Distribution,
    /// Added to every value of `inner`.
    pub shift: f64,
    /// The window the shifted law is restricted to, if any.
    pub window: Option<Window>,
}

/// A truncation window `[min, max]` with the shifted law's probability below, within and above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Smallest value kept.
    pub min: f64,
    /// Largest value kept.
    pub max: f64,
    below: f64,
    mass: f64,
    above: f64,
}

impl Transformed {
    /// `inner + shift`, restricted to `[min, max]` when `window` is given. Errors (as text) when
    /// the window has no probability under the law.
    pub fn new(inner: Distribution, shift: f64, window: Option<(f64, f64)>) -> std::result::Result<Self, String> {
        let mut out = Transformed { inner, shift, window: None };
        if let Some((min, max)) = window {
            let below = if min == f64::NEG_INFINITY { 0.0 } else { out.shifted_cdf(min.next_down()) };
            let at_max = if max == f64::INFINITY { 1.0 } else { out.shifted_cdf(max) };
            let mass = at_max - below;
            if mass.is_nan() || mass <= 0.0 {
                return Err(format!("the window [{}, {}] has probability 0 under this law", Num(min), Num(max)));
            }
            out.window = Some(Window { min, max, below, mass, above: (1.0 - at_max).max(0.0) });
        }
        Ok(out)
    }

    fn shifted_cdf(&self, x: f64) -> f64 {
        self.inner.cdf(x - self.shift)
    }

    fn quantile(&self, u: f64, v: f64) -> f64 {
        match self.window {
            None => self.inner.quantile(u, v) + self.shift,
            Some(w) => {
                let (uu, vv) = (w.below + w.mass * u, w.above + w.mass * v);
                (self.inner.quantile(uu, vv) + self.shift).clamp(w.min, w.max)
            }
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        match self.window {
            None => self.shifted_cdf(x),
            Some(w) if x < w.min => 0.0,
            Some(w) if x >= w.max => 1.0,
            Some(w) => ((self.shifted_cdf(x) - w.below) / w.mass).clamp(0.0, 1.0),
        }
    }

    fn density(&self, x: f64) -> f64 {
        match self.window {
            None => self.inner.density(x - self.shift),
            Some(w) if x < w.min || x > w.max => 0.0,
            Some(w) => self.inner.density(x - self.shift) / w.mass,
        }
    }

    fn moments(&self) -> (f64, f64) {
        match self.window {
            None => {
                let (mean, std) = self.inner.moments();
                (mean + self.shift, std)
            }
            Some(_) => {
                // By quadrature over the truncated quantile function (midpoints of 4096 slices).
                const SLICES: usize = 4096;
                let values: Vec<f64> = (0..SLICES)
                    .map(|i| {
                        let u = (i as f64 + 0.5) / SLICES as f64;
                        self.quantile(u, 1.0 - u)
                    })
                    .collect();
                let mean = values.iter().sum::<f64>() / SLICES as f64;
                let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / SLICES as f64;
                (mean, libm::sqrt(var))
            }
        }
    }

    fn formula(&self) -> String {
        let mut text = self.inner.formula();
        if self.shift != 0.0 {
            text.push_str(&format!(", shifted by {}", Num(self.shift)));
        }
        if let Some(w) = self.window {
            text.push_str(&format!(
                ", truncated to [{}, {}] (redrawn within, not clipped; keeps {:.3} of the law)",
                Num(w.min),
                Num(w.max),
                w.mass
            ));
        }
        text
    }
}

impl Distribution {
    /// The law as a modeller reads it, with its parameterization spelled out (e.g. lognormal's
    /// μ and σ are of the log, and its mean is e^(μ+σ²/2)); shown beside histograms and in
    /// exported figures.
    pub fn formula(&self) -> String {
        use Distribution::*;
        let g = |x: f64| format!("{}", (x * 1e6).round() / 1e6);
        match self {
            Constant { value } => format!("constant {}", g(*value)),
            Zero => "zero (always 0)".to_string(),
            Normal { mean, std } => format!("normal N(μ = {}, σ = {})", g(*mean), g(*std)),
            TruncatedNormal(t) => {
                format!("truncnorm: N(μ = {}, σ = {}) restricted to [{}, {}]", g(t.loc), g(t.scale), g(t.min), g(t.max))
            }
            Gamma { mean, std, shape, scale, .. } => {
                format!("gamma: mean {}, std {} (shape k = {}, scale θ = {})", g(*mean), g(*std), g(*shape), g(*scale))
            }
            Poisson { mean, shift } if *shift != 0.0 => format!("{} + poisson(λ = {})", g(*shift), g(*mean)),
            Poisson { mean, .. } => format!("poisson: λ = {}", g(*mean)),
            ZeroTruncatedPoisson { mean, lambda } => {
                format!("ztpoisson: mean {} (Poisson λ = {} without 0)", g(*mean), g(*lambda))
            }
            Discrete { values, probabilities, .. } => {
                let shown: Vec<String> =
                    values.iter().zip(probabilities).take(6).map(|(v, p)| format!("{} (p {})", g(*v), g(*p))).collect();
                let more = if values.len() > 6 { format!(", … {} values", values.len()) } else { String::new() };
                format!("discrete: {}{more}", shown.join(", "))
            }
            LogNormal { mean, sigma } => format!(
                "lognormal: μ = {}, σ = {} of log (mean e^(μ+σ²/2) = {}, median e^μ = {})",
                g(*mean),
                g(*sigma),
                g((mean + sigma * sigma / 2.0).exp()),
                g(mean.exp())
            ),
            Exponential { scale } => format!("exponential: mean (scale) {}", g(*scale)),
            Transformed(t) => t.formula(),
            Uniform { low, high } => format!("uniform on [{}, {})", g(*low), g(*high)),
        }
    }

    /// Build a gamma from mean and std (mean > 0, std ≥ 0 already validated).
    pub fn gamma(mean: f64, std: f64) -> Self {
        let (shape, scale) =
            if std > 0.0 { (mean * mean / (std * std), std * std / mean) } else { (f64::INFINITY, 0.0) };
        Distribution::Gamma { mean, std, shape, scale, sampler: GammaSampler::new(shape) }
    }

    /// Build a discrete law (values and probabilities already validated).
    pub fn discrete(values: Vec<f64>, probabilities: Vec<f64>) -> Self {
        let mut cumulative = Vec::with_capacity(probabilities.len());
        let mut running = 0.0;
        for p in &probabilities {
            running += p;
            cumulative.push(running);
        }
        // Normalize like numpy's choice does (cdf /= cdf[-1]).
        let total = running;
        for c in cumulative.iter_mut() {
            *c /= total;
        }
        Distribution::Discrete { values, probabilities, cumulative }
    }

    /// Build a zero-truncated Poisson from its mean (≥ 1).
    pub fn zero_truncated_poisson(mean: f64) -> Self {
        Distribution::ZeroTruncatedPoisson { mean, lambda: ztpoisson_lambda(mean) }
    }

    /// Whether a draw needs random numbers at all (constants skip the stream entirely).
    pub fn is_deterministic(&self) -> bool {
        match self {
            Distribution::Constant { .. } | Distribution::Zero => true,
            Distribution::Normal { std, .. } => *std == 0.0,
            Distribution::Gamma { std, .. } => *std == 0.0,
            Distribution::TruncatedNormal(t) => t.region == TruncationRegion::Point,
            Distribution::Poisson { mean, .. } => *mean == 0.0,
            Distribution::ZeroTruncatedPoisson { lambda, .. } => *lambda == 0.0,
            Distribution::Discrete { values, .. } => values.len() == 1,
            Distribution::LogNormal { sigma, .. } => *sigma == 0.0,
            Distribution::Exponential { scale } => *scale == 0.0,
            Distribution::Transformed(t) => t.inner.is_deterministic() || t.window.is_some_and(|w| w.min == w.max),
            Distribution::Uniform { low, high } => low == high,
        }
    }

    /// Whether every value of the law is an integer (poisson family), which decides histogram bins.
    pub fn is_integer_valued(&self) -> bool {
        match self {
            Distribution::Poisson { .. } | Distribution::ZeroTruncatedPoisson { .. } | Distribution::Zero => true,
            Distribution::Constant { value } => value.fract() == 0.0,
            Distribution::Discrete { values, .. } => values.iter().all(|v| v.fract() == 0.0),
            Distribution::Transformed(t) => t.inner.is_integer_valued() && t.shift.fract() == 0.0,
            _ => false,
        }
    }

    /// Whether the law has atoms only (no density).
    pub fn is_discrete(&self) -> bool {
        self.is_deterministic()
            || matches!(
                self,
                Distribution::Poisson { .. }
                    | Distribution::ZeroTruncatedPoisson { .. }
                    | Distribution::Discrete { .. }
            )
            || matches!(self, Distribution::Transformed(t) if t.inner.is_discrete())
    }

    /// Draw one value from the stream.
    #[inline(always)]
    pub fn sample<R: RngCore>(&self, rng: &mut R) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Zero => 0.0,
            Distribution::Normal { mean, std } => mean + std * standard_normal(rng),
            Distribution::TruncatedNormal(t) => t.sample(rng),
            Distribution::Gamma { mean, std, scale, sampler, .. } => {
                if *std == 0.0 {
                    *mean
                } else {
                    scale * standard_gamma(rng, sampler)
                }
            }
            Distribution::Poisson { mean, shift } => poisson_draw(rng, *mean) + shift,
            Distribution::ZeroTruncatedPoisson { lambda, .. } => {
                if *lambda < POISSON_INVERSION_LIMIT {
                    ztpoisson_quantile(*lambda, open_unit(rng))
                } else {
                    loop {
                        let k = poisson_draw(rng, *lambda);
                        if k > 0.0 {
                            return k;
                        }
                    }
                }
            }
            Distribution::Discrete { values, cumulative, .. } => {
                let u = half_open_unit(rng);
                let index = cumulative.partition_point(|&c| c <= u).min(values.len() - 1);
                values[index]
            }
            Distribution::LogNormal { mean, sigma } => libm::exp(mean + sigma * standard_normal(rng)),
            Distribution::Exponential { scale } => -scale * libm::log(open_unit(rng)),
            Distribution::Transformed(t) => match t.window {
                None => t.inner.sample(rng) + t.shift,
                Some(_) => {
                    let u = open_unit(rng);
                    t.quantile(u, 1.0 - u)
                }
            },
            Distribution::Uniform { low, high } => low + (high - low) * half_open_unit(rng),
        }
    }

    /// Quantile at probability `u`, with `v = 1 − u` given separately so that upper-tail
    /// quantiles keep their precision (the copula passes Φ(z) and Φ(−z)).
    pub fn quantile(&self, u: f64, v: f64) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Zero => 0.0,
            Distribution::Normal { mean, std } => {
                let z = if u < 0.5 { normal_quantile(u) } else { -normal_quantile(v) };
                mean + std * z
            }
            Distribution::TruncatedNormal(t) => t.quantile(u, v),
            Distribution::Gamma { mean, std, shape, scale, .. } => {
                if *std == 0.0 {
                    *mean
                } else {
                    scale * gamma_quantile(*shape, u, v)
                }
            }
            Distribution::Poisson { mean, shift } => poisson_quantile(*mean, u, v) + shift,
            Distribution::ZeroTruncatedPoisson { lambda, .. } => ztpoisson_quantile(*lambda, u),
            Distribution::Discrete { values, cumulative, .. } => {
                let index = cumulative.partition_point(|&c| c < u).min(values.len() - 1);
                values[index]
            }
            Distribution::LogNormal { mean, sigma } => {
                let z = if u < 0.5 { normal_quantile(u) } else { -normal_quantile(v) };
                libm::exp(mean + sigma * z)
            }
            Distribution::Exponential { scale } => -scale * libm::log(v),
            Distribution::Transformed(t) => t.quantile(u, v),
            Distribution::Uniform { low, high } => low + (high - low) * u,
        }
    }

    /// Cumulative distribution `P(X ≤ x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        let step = |at: f64| if x >= at { 1.0 } else { 0.0 };
        match self {
            Distribution::Constant { value } => step(*value),
            Distribution::Zero => step(0.0),
            Distribution::Normal { mean, std } => {
                if *std == 0.0 {
                    step(*mean)
                } else {
                    normal_cdf((x - mean) / std)
                }
            }
            Distribution::TruncatedNormal(t) => t.cdf(x),
            Distribution::Gamma { mean, std, shape, scale, .. } => {
                if *std == 0.0 {
                    step(*mean)
                } else {
                    regularized_gamma(*shape, x / scale).0
                }
            }
            Distribution::Poisson { mean, shift } => {
                if x < *shift {
                    0.0
                } else {
                    poisson_cdf_sf(libm::floor(x - shift), *mean).0
                }
            }
            Distribution::ZeroTruncatedPoisson { lambda, .. } => {
                if *lambda == 0.0 {
                    return step(1.0);
                }
                if x < 1.0 {
                    return 0.0;
                }
                let (cdf, _) = poisson_cdf_sf(libm::floor(x), *lambda);
                ((cdf - libm::exp(-lambda)) / -libm::expm1(-lambda)).clamp(0.0, 1.0)
            }
            Distribution::Discrete { values, probabilities, .. } => {
                values.iter().zip(probabilities).filter(|(v, _)| **v <= x).map(|(_, p)| p).sum::<f64>()
                    / probabilities.iter().sum::<f64>()
            }
            Distribution::LogNormal { mean, sigma } => {
                if x <= 0.0 {
                    0.0
                } else if *sigma == 0.0 {
                    step(libm::exp(*mean))
                } else {
                    normal_cdf((libm::log(x) - mean) / sigma)
                }
            }
            Distribution::Exponential { scale } => {
                if x < 0.0 {
                    0.0
                } else if *scale == 0.0 {
                    1.0
                } else {
                    -libm::expm1(-x / scale)
                }
            }
            Distribution::Transformed(t) => t.cdf(x),
            Distribution::Uniform { low, high } => {
                if x < *low {
                    0.0
                } else if x >= *high {
                    1.0
                } else {
                    (x - low) / (high - low)
                }
            }
        }
    }

    /// Density (continuous laws) or mass (discrete laws) at `x`, for previews.
    pub fn density(&self, x: f64) -> f64 {
        match self {
            Distribution::Transformed(t) => t.density(x),
            Distribution::Normal { mean, std } if *std > 0.0 => normal_pdf((x - mean) / std) / std,
            Distribution::TruncatedNormal(t) if t.region != TruncationRegion::Point => {
                if x < t.min || x > t.max {
                    0.0
                } else {
                    let h = 1e-6 * t.scale;
                    (t.cdf(x + h) - t.cdf(x - h)) / (2.0 * h)
                }
            }
            Distribution::Gamma { std, shape, scale, .. } if *std > 0.0 => gamma_pdf(x / scale, *shape) / scale,
            Distribution::Poisson { mean, shift } => poisson_pmf(x - shift, *mean),
            Distribution::ZeroTruncatedPoisson { lambda, .. } if *lambda > 0.0 => {
                if x < 1.0 {
                    0.0
                } else {
                    poisson_pmf(x, *lambda) / -libm::expm1(-lambda)
                }
            }
            Distribution::Discrete { values, probabilities, .. } => {
                values.iter().zip(probabilities).filter(|(v, _)| **v == x).map(|(_, p)| p).sum()
            }
            Distribution::LogNormal { mean, sigma } if *sigma > 0.0 => {
                if x <= 0.0 {
                    0.0
                } else {
                    normal_pdf((libm::log(x) - mean) / sigma) / (sigma * x)
                }
            }
            Distribution::Exponential { scale } if *scale > 0.0 => {
                if x < 0.0 {
                    0.0
                } else {
                    libm::exp(-x / scale) / scale
                }
            }
            Distribution::Uniform { low, high } if high > low => {
                if x >= *low && x < *high {
                    1.0 / (high - low)
                } else {
                    0.0
                }
            }
            // Point masses.
            _ => {
                if x == self.quantile(0.5, 0.5) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Mean and standard deviation of the law (before bounds and dtype).
    pub fn moments(&self) -> (f64, f64) {
        match self {
            Distribution::Constant { value } => (*value, 0.0),
            Distribution::Zero => (0.0, 0.0),
            Distribution::Normal { mean, std } => (*mean, *std),
            Distribution::TruncatedNormal(t) => t.moments(),
            Distribution::Gamma { mean, std, .. } => (*mean, *std),
            Distribution::Poisson { mean, shift } => (mean + shift, libm::sqrt(*mean)),
            Distribution::ZeroTruncatedPoisson { mean, lambda } => {
                // Var = m(1 + λ − m) for the zero-truncated Poisson with mean m.
                (*mean, libm::sqrt((mean * (1.0 + lambda - mean)).max(0.0)))
            }
            Distribution::Discrete { values, probabilities, .. } => {
                let total: f64 = probabilities.iter().sum();
                let mean = values.iter().zip(probabilities).map(|(v, p)| v * p).sum::<f64>() / total;
                let var =
                    values.iter().zip(probabilities).map(|(v, p)| (v - mean) * (v - mean) * p).sum::<f64>() / total;
                (mean, libm::sqrt(var))
            }
            Distribution::LogNormal { mean, sigma } => {
                let s2 = sigma * sigma;
                let m = libm::exp(mean + 0.5 * s2);
                (m, m * libm::sqrt(libm::expm1(s2)))
            }
            Distribution::Exponential { scale } => (*scale, *scale),
            Distribution::Transformed(t) => t.moments(),
            Distribution::Uniform { low, high } => (0.5 * (low + high), (high - low) / libm::sqrt(12.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The common area of the ziggurat's boxes.
    const ZIGGURAT_V: f64 = 9.912_563_035_262_17e-3;

    /// The box edges from their definition (Doornik 2005), for the test that pins `ZIGGURAT_X`.
    fn ziggurat_edges() -> [f64; ZIGGURAT_LAYERS + 1] {
        let mut x = [0.0; ZIGGURAT_LAYERS + 1];
        let mut f = libm::exp(-0.5 * ZIGGURAT_R * ZIGGURAT_R);
        x[0] = ZIGGURAT_V / f;
        x[1] = ZIGGURAT_R;
        for i in 2..ZIGGURAT_LAYERS {
            x[i] = libm::sqrt(-2.0 * libm::log(ZIGGURAT_V / x[i - 1] + f));
            f = libm::exp(-0.5 * x[i] * x[i]);
        }
        x[ZIGGURAT_LAYERS] = 0.0;
        x
    }

    #[test]
    fn formulas_spell_out_the_parameterization() {
        let lognormal = Distribution::LogNormal { mean: 0.0, sigma: 1.0 };
        assert_eq!(lognormal.formula(), "lognormal: μ = 0, σ = 1 of log (mean e^(μ+σ²/2) = 1.648721, median e^μ = 1)");
        assert_eq!(Distribution::Constant { value: 113.0 }.formula(), "constant 113");
        assert_eq!(Distribution::Uniform { low: 0.5, high: 2.0 }.formula(), "uniform on [0.5, 2)");
        let discrete = Distribution::Discrete {
            values: (1..=8).map(f64::from).collect(),
            probabilities: vec![0.125; 8],
            cumulative: vec![],
        };
        assert_eq!(
            discrete.formula(),
            "discrete: 1 (p 0.125), 2 (p 0.125), 3 (p 0.125), 4 (p 0.125), 5 (p 0.125), 6 (p 0.125), … 8 values"
        );
    }

    #[test]
    fn the_written_out_ziggurat_table_is_its_definition_to_the_bit() {
        let computed = ziggurat_edges();
        for (i, (&written, &defined)) in ZIGGURAT_X.iter().zip(&computed).enumerate() {
            assert_eq!(written.to_bits(), defined.to_bits(), "x[{i}]: {written} vs {defined}");
        }
    }
}
