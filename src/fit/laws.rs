//! Maximum-likelihood laws from sufficient statistics ([`LawSample`]), and their exact
//! log-likelihood on any sample (the whole data for the choice of law, a held-out fold for
//! cross-validation).
//!
//! Estimators: closed forms for normal (mean, ddof-0 std), lognormal (mean and std of `ln x`),
//! exponential (the mean), uniform (the range), Poisson and the zero-truncated Poisson (the
//! mean: the ML equation of the zero-truncated law is "its mean equals the sample's"), discrete
//! (the frequencies); gamma's shape by a safeguarded Newton iteration on `ln k − ψ(k) = ln x̄ −
//! mean(ln x)` (bracketed, bisection when Newton leaves the bracket; the scale is then x̄/k);
//! the truncated normal by maximum likelihood on the observed window `[min, max]` — with the
//! window fixed it is an exponential family in (x, x²), so the likelihood depends on the mean and
//! variance only and its maximum is where the truncated law's mean and variance equal the
//! sample's: a damped Newton iteration on (loc, ln scale) with the exact gradient.
//!
//! Log-likelihoods are exact: a density's from the moments of `x` and `ln x` (continuous laws);
//! a mass's from the distinct values (laws with atoms). `-∞` when a value lies outside the law's
//! support (e.g. a held-out value beyond a truncated normal's window); `None` when the sample does
//! not keep what the law needs (the distinct values of a sample with more than 101 of them).

use crate::fit::PortableMath;
use serde_json::{json, Map, Value};

use super::accumulate::MAX_UNIQUE;
use super::build::Law;
use super::numpy::ValueKind;
use super::sufficient::LawSample;
use crate::special_functions::{ln_gamma, normal_cdf, normal_sf};

/// ½ ln 2π.
const HALF_LN_TAU: f64 = 0.918_938_533_204_672_8;

/// A law with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// One value.
    Constant(f64),
    /// Always 0.
    Zero,
    /// N(mean, std).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// N(loc, scale) restricted to [min, max].
    Truncnorm {
        /// Location of the underlying normal.
        loc: f64,
        /// Its scale.
        scale: f64,
        /// Window start.
        min: f64,
        /// Window end.
        max: f64,
    },
    /// Gamma(shape, scale).
    Gamma {
        /// Shape k.
        shape: f64,
        /// Scale θ.
        scale: f64,
    },
    /// exp(N(mu, sigma)).
    Lognormal {
        /// Mean of ln x.
        mu: f64,
        /// Standard deviation of ln x.
        sigma: f64,
    },
    /// Exponential with this scale (mean).
    Exponential {
        /// Mean.
        scale: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Start.
        low: f64,
        /// End.
        high: f64,
    },
    /// Poisson with this mean.
    Poisson {
        /// Mean λ.
        mean: f64,
    },
    /// Zero-truncated Poisson whose own mean is `mean`.
    Ztpoisson {
        /// The truncated law's mean (≥ 1).
        mean: f64,
    },
    /// Values with probabilities.
    Discrete {
        /// (value, probability), values ascending.
        values: Vec<(f64, f64)>,
    },
}

impl Params {
    /// The law.
    pub fn law(&self) -> Law {
        match self {
            Params::Constant(_) => Law::Constant,
            Params::Zero => Law::Zero,
            Params::Normal { .. } => Law::Normal,
            Params::Truncnorm { .. } => Law::Truncnorm,
            Params::Gamma { .. } => Law::Gamma,
            Params::Lognormal { .. } => Law::Lognormal,
            Params::Exponential { .. } => Law::Exponential,
            Params::Uniform { .. } => Law::Uniform,
            Params::Poisson { .. } => Law::Poisson,
            Params::Ztpoisson { .. } => Law::Ztpoisson,
            Params::Discrete { .. } => Law::Discrete,
        }
    }

    /// Free parameters for AIC: (regular parameters, support bounds). Support bounds (the
    /// truncated normal's and the uniform's window) are not regular parameters, and the caller
    /// charges them differently (see `select.rs`).
    pub fn parameters(&self) -> (f64, f64) {
        match self {
            Params::Zero => (0.0, 0.0),
            Params::Constant(_) | Params::Exponential { .. } | Params::Poisson { .. } | Params::Ztpoisson { .. } => {
                (1.0, 0.0)
            }
            Params::Normal { .. } | Params::Gamma { .. } | Params::Lognormal { .. } => (2.0, 0.0),
            Params::Truncnorm { .. } => (2.0, 2.0),
            Params::Uniform { .. } => (0.0, 2.0),
            Params::Discrete { values } => (values.len().saturating_sub(1) as f64, 0.0),
        }
    }

    /// The spec's own keys (`type` first), in the order the parser lists them; an error names
    /// the key whose value is not finite.
    pub fn spec(&self, kind: ValueKind) -> Result<Map<String, Value>, (String, f64)> {
        let mut spec = Map::new();
        spec.insert("type".into(), json!(self.law().name()));
        let mut put = |key: &str, x: f64| -> Result<(), (String, f64)> {
            let number = serde_json::Number::from_f64(x).ok_or((key.to_string(), x))?;
            spec.insert(key.into(), Value::Number(number));
            Ok(())
        };
        match self {
            Params::Zero => {}
            Params::Constant(value) => {
                if !value.is_finite() {
                    return Err(("mean".to_string(), *value));
                }
                spec.insert("mean".into(), value_number(*value, kind));
            }
            Params::Normal { mean, std } => {
                put("mean", *mean)?;
                put("std", *std)?;
            }
            Params::Truncnorm { loc, scale, min, max } => {
                put("norm_loc", *loc)?;
                put("norm_scale", *scale)?;
                put("min", *min)?;
                put("max", *max)?;
            }
            Params::Gamma { shape, scale } => {
                put("mean", shape * scale)?;
                put("std", shape.sqrt() * scale)?;
            }
            Params::Lognormal { mu, sigma } => {
                put("mean", *mu)?;
                put("sigma", *sigma)?;
            }
            Params::Exponential { scale } => put("scale", *scale)?,
            Params::Uniform { low, high } => {
                put("low", *low)?;
                put("high", *high)?;
            }
            Params::Poisson { mean } | Params::Ztpoisson { mean } => put("mean", *mean)?,
            Params::Discrete { values } => {
                let val: Vec<Value> = values.iter().map(|&(v, _)| value_number(v, kind)).collect();
                let p: Vec<f64> = values.iter().map(|&(_, p)| p).collect();
                spec.insert("val".into(), Value::Array(val));
                spec.insert("p".into(), json!(p));
            }
        }
        Ok(spec)
    }

    /// Log-likelihood of the whole sample `s` under this law (see the module's notes).
    pub fn log_likelihood(&self, s: &LawSample) -> Option<f64> {
        let n = s.count() as f64;
        if s.count() == 0 {
            return Some(0.0);
        }
        let (min, max) = (s.sample.min, s.sample.max);
        let squares = |centre: f64| s.sample.moments.m2.max(0.0) + n * (s.mean() - centre).powi(2);
        let value = match self {
            Params::Constant(c) => mass(s, |v| if v == *c { 0.0 } else { f64::NEG_INFINITY })?,
            Params::Zero => mass(s, |v| if v == 0.0 { 0.0 } else { f64::NEG_INFINITY })?,
            Params::Normal { mean, std } => {
                if *std <= 0.0 {
                    return None;
                }
                -n * (std.pln() + HALF_LN_TAU) - squares(*mean) / (2.0 * std * std)
            }
            Params::Truncnorm { loc, scale, min: a, max: b } => {
                if *scale <= 0.0 {
                    return None;
                }
                if min < *a || max > *b {
                    return Some(f64::NEG_INFINITY);
                }
                let z = ln_window_mass((a - loc) / scale, (b - loc) / scale);
                -n * (scale.pln() + HALF_LN_TAU + z) - squares(*loc) / (2.0 * scale * scale)
            }
            Params::Gamma { shape, scale } => {
                if s.non_positive > 0 {
                    return Some(f64::NEG_INFINITY);
                }
                (shape - 1.0) * n * s.mean_log() - n * s.mean() / scale - n * shape * scale.pln() - n * ln_gamma(*shape)
            }
            Params::Lognormal { mu, sigma } => {
                if s.non_positive > 0 {
                    return Some(f64::NEG_INFINITY);
                }
                if *sigma <= 0.0 {
                    return None;
                }
                let squares_log = s.log.m2.max(0.0) + n * (s.mean_log() - mu).powi(2);
                -n * s.mean_log() - n * (sigma.pln() + HALF_LN_TAU) - squares_log / (2.0 * sigma * sigma)
            }
            Params::Exponential { scale } => {
                if min < 0.0 {
                    return Some(f64::NEG_INFINITY);
                }
                if *scale <= 0.0 {
                    return None;
                }
                -n * scale.pln() - n * s.mean() / scale
            }
            Params::Uniform { low, high } => {
                if min < *low || max > *high {
                    return Some(f64::NEG_INFINITY);
                }
                if high <= low {
                    return None;
                }
                -n * (high - low).pln()
            }
            Params::Poisson { mean } => mass(s, |v| poisson_ln_pmf(v, *mean))?,
            Params::Ztpoisson { mean } => {
                let lambda = crate::distributions::ztpoisson_lambda(*mean);
                if lambda == 0.0 {
                    mass(s, |v| if v == 1.0 { 0.0 } else { f64::NEG_INFINITY })?
                } else {
                    let norm = (-(-lambda).pexp_m1()).pln();
                    mass(s, |v| if v < 1.0 { f64::NEG_INFINITY } else { poisson_ln_pmf(v, lambda) - norm })?
                }
            }
            Params::Discrete { values } => mass(s, |v| match values.iter().find(|(x, _)| *x == v) {
                Some(&(_, p)) if p > 0.0 => p.pln(),
                _ => f64::NEG_INFINITY,
            })?,
        };
        Some(if value.is_nan() { f64::NEG_INFINITY } else { value })
    }
}

/// Σ count · ln mass(value) over the distinct values (`None` when they were not kept).
fn mass(s: &LawSample, ln_mass: impl Fn(f64) -> f64) -> Option<f64> {
    let values = s.values()?;
    let mut total = 0.0;
    for &(v, c) in values {
        let m = ln_mass(v);
        if m == f64::NEG_INFINITY {
            return Some(f64::NEG_INFINITY);
        }
        total += c as f64 * m;
    }
    Some(total)
}

fn poisson_ln_pmf(v: f64, lambda: f64) -> f64 {
    if v < 0.0 || v.fract() != 0.0 {
        return f64::NEG_INFINITY;
    }
    if lambda == 0.0 {
        return if v == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    v * lambda.pln() - lambda - ln_gamma(v + 1.0)
}

/// Integers as JSON integers when the column holds them.
pub(super) fn value_number(x: f64, kind: ValueKind) -> Value {
    if kind.is_int() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The maximum-likelihood parameters of `law` for the sample, or why the law cannot describe it.
pub fn maximum_likelihood(law: Law, s: &LawSample) -> Result<Params, String> {
    if s.count() == 0 {
        return Err("no data".into());
    }
    let (min, max, mean) = (s.sample.min, s.sample.max, s.mean());
    let spread = s.variance();
    let one_value = min == max;
    let integers_from = |lowest: f64, name: &str| -> Result<(), String> {
        if !s.integer_valued() {
            return Err(format!("{name} needs integer values (at most {} distinct)", MAX_UNIQUE + 1));
        }
        if min < lowest {
            return Err(format!("{name} needs values ≥ {lowest}; the smallest is {min}"));
        }
        Ok(())
    };
    let positive = |name: &str| -> Result<(), String> {
        match s.non_positive {
            0 => Ok(()),
            k => Err(format!("{name} needs positive values; {k} are ≤ 0 (min {min})")),
        }
    };
    Ok(match law {
        Law::LinDelay => return Err("lin_delay depends on each synapse's distance: fitted from distance bins".into()),
        Law::Zero => Params::Zero,
        Law::Constant => Params::Constant(if one_value { min } else { mean }),
        Law::Normal => Params::Normal { mean, std: spread.sqrt() },
        Law::Truncnorm => {
            if one_value {
                return Err("one value: no spread to fit".into());
            }
            let (loc, scale) = truncnorm_ml(mean, spread, min, max)?;
            Params::Truncnorm { loc, scale, min, max }
        }
        Law::Gamma => {
            positive("gamma")?;
            if one_value {
                return Err("one value: no spread to fit".into());
            }
            let shape = gamma_shape(mean.pln() - s.mean_log())?;
            Params::Gamma { shape, scale: mean / shape }
        }
        Law::Lognormal => {
            positive("lognormal")?;
            Params::Lognormal { mu: s.mean_log(), sigma: s.variance_log().sqrt() }
        }
        Law::Exponential => {
            if min < 0.0 {
                return Err(format!("exponential needs values ≥ 0; the smallest is {min}"));
            }
            if mean <= 0.0 {
                return Err("exponential needs a positive mean".into());
            }
            Params::Exponential { scale: mean }
        }
        Law::Uniform => {
            if one_value {
                return Err("one value: no range".into());
            }
            Params::Uniform { low: min, high: max }
        }
        Law::Poisson => {
            integers_from(0.0, "poisson")?;
            Params::Poisson { mean }
        }
        Law::Ztpoisson => {
            integers_from(1.0, "ztpoisson")?;
            Params::Ztpoisson { mean }
        }
        Law::Discrete => match s.values() {
            Some(values) if values.len() <= MAX_UNIQUE => {
                let n = s.count() as f64;
                Params::Discrete { values: values.iter().map(|&(v, c)| (v, c as f64 / n)).collect() }
            }
            _ => return Err(format!("discrete needs at most {MAX_UNIQUE} distinct values")),
        },
    })
}

/// Where the asymptotic series of ψ take over from the recurrence: their first omitted term is
/// below 3e-15 from 12 up.
const RECURRENCE_FROM: f64 = 12.0;

/// `ln k − ψ(k)` without cancellation: its asymptotic series from 12 up, the recurrence below.
fn log_minus_digamma(k: f64) -> f64 {
    let series = |x: f64| {
        let r = 1.0 / (x * x);
        0.5 / x + r * (1.0 / 12.0 - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r / 132.0))))
    };
    if k >= RECURRENCE_FROM {
        return series(k);
    }
    let m = (RECURRENCE_FROM - k).ceil();
    let sum: f64 = (0..m as u32).map(|i| 1.0 / (k + i as f64)).sum();
    k.pln() - (k + m).pln() + series(k + m) + sum
}

/// d/dk (ln k − ψ(k)) = 1/k − ψ′(k) (negative), in the same two regimes.
fn log_minus_digamma_derivative(k: f64) -> f64 {
    let series = |x: f64| {
        let r = 1.0 / (x * x);
        -r * (0.5 + (1.0 / x) * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r * (1.0 / 30.0 - r * 5.0 / 66.0)))))
    };
    if k >= RECURRENCE_FROM {
        return series(k);
    }
    let m = (RECURRENCE_FROM - k).ceil();
    let sum: f64 = (0..m as u32).map(|i| 1.0 / (k + i as f64).powi(2)).sum();
    1.0 / k - 1.0 / (k + m) + series(k + m) - sum
}

/// Gamma's ML shape: the root of `ln k − ψ(k) = target` (`target = ln x̄ − mean(ln x) > 0`), by
/// Newton's method in ln k inside a bracket that bisection keeps (the left side decreases from
/// +∞ to 0, so the root is unique).
pub fn gamma_shape(target: f64) -> Result<f64, String> {
    if !target.is_finite() || target <= 0.0 {
        return Err(format!("no spread in ln x for a gamma shape (ln x̄ − mean ln x = {target})"));
    }
    let (mut lo, mut hi) = ((1e-10f64).pln(), (1e15f64).pln());
    if log_minus_digamma(hi.pexp()) >= target {
        return Err("the values are too concentrated for a gamma shape below 1e15".into());
    }
    // Minka's approximation as the start.
    let start = (3.0 - target + ((target - 3.0).powi(2) + 24.0 * target).sqrt()) / (12.0 * target);
    let mut t = start.pln().clamp(lo, hi);
    for _ in 0..200 {
        let k = t.pexp();
        let h = log_minus_digamma(k) - target;
        if h > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let slope = k * log_minus_digamma_derivative(k);
        let mut next = t - h / slope;
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - t).abs() <= 1e-15 * t.abs().max(1.0) {
            return Ok(next.pexp());
        }
        t = next;
    }
    Ok(t.pexp())
}

/// `ln(Φ(b) − Φ(a))`, accurate in both tails (log survival functions beyond 30 σ by their
/// asymptotic series).
pub fn ln_window_mass(a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        let (la, lb) = (ln_sf(a), ln_sf(b));
        la + (-(lb - la).pexp()).pln_1p()
    } else if b <= 0.0 {
        ln_window_mass(-b, -a)
    } else {
        (1.0 - normal_cdf(a) - normal_sf(b)).pln()
    }
}

/// `ln(1 − Φ(z))`.
fn ln_sf(z: f64) -> f64 {
    if z == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    if z < 30.0 {
        return normal_sf(z).pln();
    }
    let r = 1.0 / (z * z);
    -0.5 * z * z - z.pln() - HALF_LN_TAU + (1.0 - r + 3.0 * r * r - 15.0 * r * r * r).pln()
}

fn ln_pdf(z: f64) -> f64 {
    if z.is_infinite() {
        f64::NEG_INFINITY
    } else {
        -0.5 * z * z - HALF_LN_TAU
    }
}

/// The truncated normal's ML (loc, scale) on the window [min, max] for data with this mean and
/// variance (ddof 0): on y = (x − min)/(max − min), minimize the negative log-likelihood per
/// value `ln σ + ln Z + (v + (ȳ − μ)²)/(2σ²)` over (μ, ln σ) by Newton steps (exact gradient,
/// Hessian by central differences of it, gradient steps where it is not positive definite) with
/// backtracking. The likelihood is concave in the natural parameters, so a stationary point is
/// the maximum; data flatter than any truncated normal (its scale running off to ∞) are an error.
pub fn truncnorm_ml(mean: f64, variance: f64, min: f64, max: f64) -> Result<(f64, f64), String> {
    let width = max - min;
    let (ybar, vy) = ((mean - min) / width, variance / (width * width));
    if vy.is_nan() || vy <= 0.0 || !width.is_finite() {
        return Err("no spread to fit".into());
    }
    let flat =
        || "the values are flatter than any truncated normal on their range (the ML scale is infinite)".to_string();
    if vy >= 1.0 / 12.0 {
        return Err(flat());
    }
    let objective = |x: [f64; 2]| -> f64 {
        let sigma = x[1].pexp();
        x[1] + ln_window_mass(-x[0] / sigma, (1.0 - x[0]) / sigma)
            + (vy + (ybar - x[0]).powi(2)) / (2.0 * sigma * sigma)
    };
    let gradient = |x: [f64; 2]| -> [f64; 2] {
        let sigma = x[1].pexp();
        let (a, b) = (-x[0] / sigma, (1.0 - x[0]) / sigma);
        let lz = ln_window_mass(a, b);
        let (ra, rb) = ((ln_pdf(a) - lz).pexp(), (ln_pdf(b) - lz).pexp());
        let squares = vy + (ybar - x[0]).powi(2);
        [(x[0] - ybar) / (sigma * sigma) + (ra - rb) / sigma, 1.0 - squares / (sigma * sigma) + a * ra - b * rb]
    };
    let mut x = [ybar, 0.5 * vy.pln()];
    let mut f = objective(x);
    for _ in 0..200 {
        let g = gradient(x);
        if g[0].abs().max(g[1].abs()) < 1e-11 {
            break;
        }
        let direction = newton_direction(&gradient, x, g);
        let slope = g[0] * direction[0] + g[1] * direction[1];
        let mut step = 1.0;
        let mut moved = false;
        while step > 1e-12 {
            let candidate = [x[0] + step * direction[0], x[1] + step * direction[1]];
            let fc = objective(candidate);
            if fc.is_finite() && fc <= f + 1e-4 * step * slope {
                x = candidate;
                f = fc;
                moved = true;
                break;
            }
            step *= 0.5;
        }
        if !moved {
            break;
        }
        if x[1] > 3.0f64.pln() + 3.0 * 10f64.pln() || x[0].abs() > 1e4 {
            return Err(flat());
        }
    }
    let g = gradient(x);
    if !(g[0].is_finite() && g[1].is_finite()) || g[0].abs() >= 1e-7 || g[1].abs() >= 1e-7 {
        return Err(format!("the truncated normal's ML did not converge (gradient {:.3e}, {:.3e})", g[0], g[1]));
    }
    Ok((min + width * x[0], width * x[1].pexp()))
}

/// Newton's direction with a central-difference Hessian of `gradient`, or the steepest descent
/// where that Hessian is not positive definite.
fn newton_direction(gradient: &impl Fn([f64; 2]) -> [f64; 2], x: [f64; 2], g: [f64; 2]) -> [f64; 2] {
    let h = 1e-6;
    let column = |i: usize| {
        let (mut up, mut down) = (x, x);
        up[i] += h;
        down[i] -= h;
        let (gu, gd) = (gradient(up), gradient(down));
        [(gu[0] - gd[0]) / (2.0 * h), (gu[1] - gd[1]) / (2.0 * h)]
    };
    let (c0, c1) = (column(0), column(1));
    let (a, b, d) = (c0[0], 0.5 * (c0[1] + c1[0]), c1[1]);
    let det = a * d - b * b;
    if a > 0.0 && det > 0.0 && det.is_finite() {
        [-(d * g[0] - b * g[1]) / det, -(a * g[1] - b * g[0]) / det]
    } else {
        [-g[0], -g[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::{Distribution, TruncatedNormal};
    use crate::streams::Stream;

    fn sample_of(distribution: &Distribution, n: usize, seed: u64) -> LawSample {
        let mut rng = Stream::new(seed);
        let mut s = LawSample::default();
        (0..n).for_each(|_| s.add(distribution.sample(&mut rng)));
        s
    }

    #[test]
    fn digamma_pieces_match_known_values() {
        // ψ(1) = −γ, ψ(0.5) = −γ − 2 ln 2, ψ′(1) = π²/6.
        let euler = 0.577_215_664_901_532_9;
        assert!((log_minus_digamma(1.0) - euler).abs() < 1e-14);
        assert!((log_minus_digamma(0.5) - (0.5f64.pln() + euler + 2.0 * 2f64.pln())).abs() < 1e-14);
        let pi2_6 = std::f64::consts::PI.powi(2) / 6.0;
        assert!((log_minus_digamma_derivative(1.0) - (1.0 - pi2_6)).abs() < 1e-13);
        for k in [0.01, 0.7, 3.0, 11.99, 12.0, 50.0, 1e6] {
            let h = 1e-6 * k;
            let numeric = (log_minus_digamma(k + h) - log_minus_digamma(k - h)) / (2.0 * h);
            let exact = log_minus_digamma_derivative(k);
            assert!((numeric - exact).abs() < 1e-6 * exact.abs(), "{k}: {numeric} vs {exact}");
        }
    }

    #[test]
    fn gamma_shape_inverts_its_equation() {
        for k in [0.05, 0.5, 1.0, 4.0, 37.0, 1e4, 1e9] {
            let found = gamma_shape(log_minus_digamma(k)).unwrap();
            assert!((found - k).abs() < 1e-9 * k, "{k}: {found}");
        }
        assert!(gamma_shape(0.0).is_err() && gamma_shape(f64::NAN).is_err());
    }

    #[test]
    fn ml_recovers_gamma_lognormal_and_truncnorm() {
        let n = 200_000;
        let s = sample_of(&Distribution::gamma(2.0, 1.0), n, 1);
        let Params::Gamma { shape, scale } = maximum_likelihood(Law::Gamma, &s).unwrap() else { panic!() };
        assert!((shape - 4.0).abs() < 0.05 && (shape * scale - 2.0).abs() < 0.01, "{shape} {scale}");
        let s = sample_of(&Distribution::LogNormal { mean: 0.3, sigma: 0.5 }, n, 2);
        let Params::Lognormal { mu, sigma } = maximum_likelihood(Law::Lognormal, &s).unwrap() else { panic!() };
        assert!((mu - 0.3).abs() < 0.005 && (sigma - 0.5).abs() < 0.005);
        // A window cutting the normal on both sides, and one far in the upper tail.
        for (loc, scale, lo, hi) in [(0.5, 0.3, 0.2, 1.0), (0.0, 1.0, 1.5, 4.0)] {
            let law = Distribution::TruncatedNormal(TruncatedNormal::new(loc, scale, lo, hi));
            let s = sample_of(&law, n, 3);
            let Params::Truncnorm { loc: l, scale: sc, .. } = maximum_likelihood(Law::Truncnorm, &s).unwrap() else {
                panic!()
            };
            assert!((l - loc).abs() < 0.05 * scale.max(1.0) && (sc - scale).abs() < 0.05 * scale, "{l} {sc}");
        }
        // Uniform data are flatter than any truncated normal.
        let s = sample_of(&Distribution::Uniform { low: 0.0, high: 1.0 }, n, 4);
        assert!(maximum_likelihood(Law::Truncnorm, &s).unwrap_err().contains("flatter"));
    }

    #[test]
    fn log_likelihoods_are_exact() {
        let values = [0.5, 1.5, 2.0, 3.5];
        let mut s = LawSample::default();
        values.iter().for_each(|&x| s.add(x));
        let check = |params: Params, density: &dyn Fn(f64) -> f64| {
            let direct: f64 = values.iter().map(|&x| density(x).pln()).sum();
            let ours = params.log_likelihood(&s).unwrap();
            assert!((ours - direct).abs() < 1e-12 * direct.abs().max(1.0), "{params:?}: {ours} vs {direct}");
        };
        let laws = [
            Params::Normal { mean: 1.7, std: 0.9 },
            Params::Gamma { shape: 2.5, scale: 0.7 },
            Params::Lognormal { mu: 0.4, sigma: 0.8 },
            Params::Exponential { scale: 1.9 },
            Params::Truncnorm { loc: 1.0, scale: 2.0, min: 0.1, max: 4.0 },
        ];
        for params in laws {
            let d = match &params {
                Params::Normal { mean, std } => Distribution::Normal { mean: *mean, std: *std },
                Params::Gamma { shape, scale } => Distribution::gamma(shape * scale, shape.sqrt() * scale),
                Params::Lognormal { mu, sigma } => Distribution::LogNormal { mean: *mu, sigma: *sigma },
                Params::Exponential { scale } => Distribution::Exponential { scale: *scale },
                Params::Truncnorm { loc, scale, min, max } => {
                    Distribution::TruncatedNormal(TruncatedNormal::new(*loc, *scale, *min, *max))
                }
                _ => unreachable!(),
            };
            // The truncated normal's density is a finite difference of its CDF in the engine.
            let tolerance_density = move |x: f64| {
                if let Distribution::TruncatedNormal(t) = &d {
                    let z = (x - t.loc) / t.scale;
                    let mass = (ln_window_mass((t.min - t.loc) / t.scale, (t.max - t.loc) / t.scale)).pexp();
                    (-0.5 * z * z - HALF_LN_TAU).pexp() / t.scale / mass
                } else {
                    d.density(x)
                }
            };
            check(params, &tolerance_density);
        }
        let mut counts = LawSample::default();
        [1.0, 1.0, 2.0, 4.0].iter().for_each(|&x| counts.add(x));
        let direct = 2.0 * (0.5f64).pln() + (0.25f64).pln() + (0.25f64).pln();
        let discrete = maximum_likelihood(Law::Discrete, &counts).unwrap();
        assert!((discrete.log_likelihood(&counts).unwrap() - direct).abs() < 1e-12);
        let poisson = Params::Poisson { mean: 2.0 };
        let direct: f64 = [1.0, 1.0, 2.0, 4.0].iter().map(|&k: &f64| k * 2f64.pln() - 2.0 - ln_gamma(k + 1.0)).sum();
        assert!((poisson.log_likelihood(&counts).unwrap() - direct).abs() < 1e-12);
        // Outside the support.
        let narrow = Params::Uniform { low: 1.0, high: 3.0 };
        assert_eq!(narrow.log_likelihood(&counts), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn window_mass_in_the_tails() {
        assert!((ln_window_mass(-1.0, 1.0) - (0.682_689_492_137_085_9f64).pln()).abs() < 1e-14);
        // Far upper tail: P(40 < Z < 41) ≈ sf(40).
        let far = ln_window_mass(40.0, 41.0);
        // ln sf(40) by its asymptotic series to the 1/z⁸ term (the code stops at 1/z⁶: 2e-11 off).
        let r: f64 = 1.0 / 1600.0;
        let expected =
            -800.0 - 40f64.pln() - HALF_LN_TAU + (1.0 - r + 3.0 * r * r - 15.0 * r.powi(3) + 105.0 * r.powi(4)).pln();
        assert!((far - expected).abs() < 1e-10, "{far} vs {expected}");
        assert!((ln_window_mass(-41.0, -40.0) - far).abs() < 1e-12);
    }
}
